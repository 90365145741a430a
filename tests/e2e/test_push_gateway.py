"""Push gateways (issue 15): myelin-pusher POSTs /_matrix/push/v1/notify
for what the push rules say notifies, through the outbound queue
(lib/outbox), to a stand-in gateway on loopback (allowed by
push_allow_ips, as conftest gives every stack).  The stack runs on a
FakeClock, so backoff moves only when the test moves time."""
import http.server
import json
import os
import signal
import subprocess
import threading
import time

import pytest

from conftest import FakeClock, User, own_pg_database, q, start_stack, stop_stack, stop_supervised

PATH = "/_matrix/push/v1/notify"
# On PostgreSQL every stack of the run shares the queue, and pushers on
# the real clock may make attempts of their own: only what the gateway
# accepted is then exact.
# Waits bound a test that would otherwise hang; no assertion is on speed.
WAIT_S = 30


class Gateway:
    """A push gateway on loopback.  mode: "ok" answers 200 {}, "down" 500,
    "reject" 200 with the pushkey in "rejected", "hold" keeps the next
    request until release(status).  accepted: bodies answered 2xx, in
    order; attempts: every body received."""

    def __init__(self):
        self.mode = "ok"
        self.accepted, self.attempts, self.types = [], [], []
        self.cond = threading.Condition()
        self.held = None
        gw = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with gw.cond:
                    gw.types.append(self.headers.get_all("Content-Type"))
                    gw.attempts.append((self.path, body))
                    gw.cond.notify_all()
                    mode = gw.mode
                    if mode == "hold":
                        gw.held = "waiting"
                        gw.cond.notify_all()
                        while gw.held == "waiting":
                            gw.cond.wait()
                        status, gw.held = gw.held, None
                    else:
                        status = 500 if mode == "down" else 200
                    answer = {}
                    if mode == "reject":
                        answer = {"rejected": [d["pushkey"] for d in
                                               body["notification"]["devices"]]}
                    if 200 <= status < 300:
                        gw.accepted.append(body)
                    gw.cond.notify_all()
                data = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d%s" % (self.server.server_port, PATH)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, pred, what):
        """Waits until pred() holds (under the lock); returns its value."""
        deadline = time.monotonic() + WAIT_S
        with self.cond:
            while True:
                v = pred()
                if v:
                    return v
                left = deadline - time.monotonic()
                assert left > 0, "gave up waiting for " + what
                self.cond.wait(left)

    def wait_accepted(self, n):
        return self.wait(lambda: self.accepted if len(self.accepted) >= n else None,
                         "%d accepted notifications" % n)

    def release(self, status):
        with self.cond:
            self.held = status
            self.cond.notify_all()

    def close(self):
        self.release(500)
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def pstack():
    # On PostgreSQL a database of its own: no other stack's pusher
    # delivers (or attempts) its rows, so every attempt is counted here.
    clock = FakeClock()
    s = start_stack(env={"MYELIN_FAKE_CLOCK": clock.path}, pg=own_pg_database("push"))
    s.clock = clock
    yield s
    stop_stack(s)
    os.unlink(clock.path)


@pytest.fixture
def gw():
    g = Gateway()
    yield g
    g.close()


_n = [0]


def user(stack, who):
    _n[0] += 1
    return User.register(stack, "pg%s%d%d" % (who, os.getpid(), _n[0]))


def set_pusher(u, url, pushkey=None, **data):
    body = {"kind": "http", "app_id": "org.example.push", "pushkey": pushkey or u.user_id,
            "app_display_name": "Push", "device_display_name": "phone", "lang": "en",
            "data": dict({"url": url}, **data)}
    u.ok("POST", "/pushers/set", body)
    return body


def room_of(owner, *others, **create):
    room = owner.create_room(**dict({"preset": "private_chat"}, **create))
    for u in others:
        owner.room_post(room, "invite", u.user_id)
        u.join(room)
    return room


def event_ids(bodies):
    return [b["notification"].get("event_id") for b in bodies]


def test_mention_is_pushed_with_counts_and_device(pstack, gw):
    alice, bob, carol = user(pstack, "a"), user(pstack, "b"), user(pstack, "c")
    alice.ok("PUT", "/profile/%s/displayname" % q(alice.user_id), {"displayname": "Alice"})
    room = room_of(bob, alice, carol, name="Pushed room")
    pusher = set_pusher(alice, gw.url, extra="kept")
    # Three members: a plain message notifies quietly, a mention loudly.
    plain = bob.send_text(room, "for everyone")
    mention = bob.send_text(room, "hello Alice", **{"m.mentions": {"user_ids": [alice.user_id]}})
    first, body = gw.wait_accepted(2)
    path, _ = gw.attempts[0]
    assert path == PATH
    # Once: SyTest's gateway refuses a body typed twice.
    assert gw.types[0] == ["application/json"]
    assert first["notification"]["event_id"] == plain
    assert first["notification"]["prio"] == "low"
    assert first["notification"]["devices"][0]["tweaks"] == {}
    n = body["notification"]
    assert n["event_id"] == mention and n["room_id"] == room
    assert n["type"] == "m.room.message" and n["sender"] == bob.user_id
    assert n["content"]["body"] == "hello Alice"
    assert n["room_name"] == "Pushed room"
    assert n["counts"] == {"unread": 1}
    assert n["prio"] == "high"
    [dev] = n["devices"]
    assert dev["app_id"] == pusher["app_id"] and dev["pushkey"] == pusher["pushkey"]
    assert isinstance(dev["pushkey_ts"], int) and dev["pushkey_ts"] > 1e9
    assert dev["pushkey_ts"] < 1e11, "seconds, not milliseconds"
    # The pusher's data without its url, as Synapse sends it.
    assert dev["data"] == {"extra": "kept"}
    assert dev["tweaks"] == {"sound": "default", "highlight": True}
    # Reading it sends the badge down to 0.
    alice.ok("POST", "/rooms/%s/receipt/m.read/%s" % (q(room), q(mention)), {})
    badge = gw.wait_accepted(3)[2]["notification"]
    assert badge["counts"] == {"unread": 0}
    assert [d["pushkey"] for d in badge["devices"]] == [pusher["pushkey"]]
    assert "event_id" not in badge


def pusher_metric(stack, name, **labels):
    from test_metrics import value
    try:
        with open(os.path.join(stack.dir, "run", "pusher.prom")) as f:
            return value(f.read(), name, **labels)
    except FileNotFoundError:
        return None


def test_pusher_metrics_count_deliveries_per_kind(pstack, gw):
    # Issue 17: myelin-pusher's run/pusher.prom (every 2 s) has each kind's
    # queue depth, and its deliveries by result.  Before the test that
    # kills the pusher: the second one started there writes the file too.
    def done():
        return pusher_metric(pstack, "myelin_outbox_requests_total", kind="push",
                             result="done") or 0
    for _ in range(200):    # the first file (not a speed assertion)
        if pusher_metric(pstack, "myelin_outbox_queue_rows", kind="push") is not None:
            break
        time.sleep(0.05)
    before = done()
    alice, bob = user(pstack, "a"), user(pstack, "b")
    room = room_of(bob, alice)
    set_pusher(alice, gw.url)
    bob.send_text(room, "counted")
    gw.wait_accepted(1)
    for _ in range(200):    # polls for the file to be rewritten
        if done() > before:
            break
        time.sleep(0.05)
    assert done() >= before + 1
    assert pusher_metric(pstack, "myelin_outbox_rows_delivered_total", kind="push") >= 1
    assert pusher_metric(pstack, "myelin_outbox_requests_total", kind="push",
                         result="retry") is not None
    assert pusher_metric(pstack, "myelin_db_statements_total", daemon="pusher") > 0


def test_badge_only_when_it_changes(pstack, gw):
    """As Synapse: a receipt sends the badge (rooms with unread
    notifications) when that number changed, not on every receipt."""
    alice, bob = user(pstack, "a"), user(pstack, "b")
    one, two = room_of(bob, alice), room_of(bob, alice)
    set_pusher(alice, gw.url)
    first = bob.send_text(one, "first")
    bob.send_text(one, "second")
    gw.wait_accepted(2)
    # Still an unread notification in the room: the badge stays 1.
    alice.ok("POST", "/rooms/%s/receipt/m.read/%s" % (q(one), q(first)), {})
    other = bob.send_text(two, "elsewhere")
    got = gw.wait_accepted(3)
    assert event_ids(got[2:]) == [other]
    assert got[2]["notification"]["counts"] == {"unread": 2}
    # Room two read: 1 room left.
    alice.ok("POST", "/rooms/%s/receipt/m.read/%s" % (q(two), q(other)), {})
    badge = gw.wait_accepted(4)[3]["notification"]
    assert "event_id" not in badge and badge["counts"] == {"unread": 1}


def test_event_id_only_format(pstack, gw):
    alice, bob = user(pstack, "a"), user(pstack, "b")
    room = room_of(bob, alice)
    set_pusher(alice, gw.url, format="event_id_only")
    ev = bob.send_text(room, "secret body")
    n = gw.wait_accepted(1)[0]["notification"]
    assert n["event_id"] == ev and n["room_id"] == room
    assert n["counts"] == {"unread": 1}
    assert "content" not in n and "type" not in n and "sender" not in n
    assert n["devices"][0]["data"] == {"format": "event_id_only"}


def test_muted_room_sends_nothing(pstack, gw):
    alice, bob = user(pstack, "a"), user(pstack, "b")
    muted, other = room_of(bob, alice), room_of(bob, alice)
    alice.ok("PUT", "/pushrules/global/room/%s" % q(muted), {"actions": []})
    set_pusher(alice, gw.url)
    bob.send_text(muted, "muted")
    loud = bob.send_text(other, "loud")
    # One queue per pusher, in order: once the later event arrived, the
    # muted one would have arrived before it.
    gw.wait_accepted(1)
    assert event_ids(gw.accepted) == [loud]
    assert [b["notification"].get("event_id") for _, b in gw.attempts] == [loud]


def test_rejected_pushkey_is_removed(pstack, gw):
    alice, bob = user(pstack, "a"), user(pstack, "b")
    room = room_of(bob, alice)
    set_pusher(alice, gw.url)
    gw.mode = "reject"
    bob.send_text(room, "to a dead phone")
    gw.wait_accepted(1)
    deadline = time.monotonic() + WAIT_S
    while alice.ok("GET", "/pushers")["pushers"]:
        assert time.monotonic() < deadline, "pusher not removed"
        time.sleep(0.05)
    # Nothing more goes to it.
    gw.mode = "ok"
    bob.send_text(room, "after removal")
    set_pusher(alice, gw.url, pushkey="new-key")
    third = bob.send_text(room, "to the new key")
    gw.wait_accepted(2)
    assert event_ids(gw.accepted[1:]) == [third]
    assert gw.accepted[1]["notification"]["devices"][0]["pushkey"] == "new-key"


def pusher_pidfile(stack):
    return os.path.join(stack.dir, "run", "pusher.pid")


def restart_pusher(stack):
    """Runs the test's own myelin-pusher (its pid in run/pusher.pid) in
    place of the supervised one, whose supervisor is stopped first."""
    stop_supervised(stack.dir, "pusher")
    binary = os.path.join(os.environ["MYELIN_BIN"], "myelin-pusher")
    log = open(os.path.join(stack.dir, "log", "pusher.log"), "a")
    p = subprocess.Popen([binary, "-c", stack.conf], stdout=log, stderr=subprocess.STDOUT,
                         env=dict(os.environ, MYELIN_FAKE_CLOCK=stack.clock.path))
    log.close()
    with open(pusher_pidfile(stack), "w") as f:
        f.write("%d\n" % p.pid)
    return p


def advance_until(stack, gw, pred, what):
    """Moves the clock a second at a time until pred() holds: the pusher
    reads the time when it records a failure, which may be after a move."""
    for _ in range(WAIT_S * 4):
        stack.clock.advance(1000)
        deadline = time.monotonic() + 0.25
        with gw.cond:
            while not pred() and time.monotonic() < deadline:
                gw.cond.wait(0.05)
            if pred():
                return
    raise AssertionError("gave up waiting for " + what)


def test_gateway_down_then_back_and_pusher_killed(pstack, gw):
    """A gateway down for a while gets everything once back, in order,
    exactly once, though the pusher is killed in the middle of a request
    and started again."""
    alice, bob = user(pstack, "a"), user(pstack, "b")
    room = room_of(bob, alice)
    set_pusher(alice, gw.url)
    sent = [bob.send_text(room, "m1")]
    gw.wait_accepted(1)
    gw.mode = "down"
    sent.append(bob.send_text(room, "m2"))
    gw.wait(lambda: len(gw.attempts) >= 2, "a failed attempt")
    sent += [bob.send_text(room, "m3"), bob.send_text(room, "m4")]
    # Backing off: the next attempt waits for the clock.
    advance_until(pstack, gw, lambda: len(gw.attempts) >= 3, "a retry")
    assert [b["notification"]["event_id"] for _, b in gw.attempts[1:]] == sent[1:2] * 2
    # The next retry is held at the gateway while the pusher is killed.
    gw.mode = "hold"
    advance_until(pstack, gw, lambda: gw.held == "waiting", "a held request")
    with open(pusher_pidfile(pstack)) as f:
        os.kill(int(f.read()), signal.SIGKILL)
    gw.release(500)
    sent.append(bob.send_text(room, "m5"))
    gw.mode = "ok"
    # myelin-stack down stops the new one through the pid file.
    restart_pusher(pstack)
    # The dead pusher's lease ends, then the backoff.
    pstack.clock.advance(6 * 60 * 1000)
    got = gw.wait_accepted(len(sent))
    assert event_ids(got) == sent
    # Once more, and nothing is sent again.
    last = bob.send_text(room, "m6")
    got = gw.wait_accepted(len(sent) + 1)
    assert event_ids(got) == sent + [last]


def test_loopback_gateway_refused_without_allowlist(gw):
    """Without push_allow_ips, a pusher on loopback is never reached (the
    row waits, backing off): the address policy of lib/http.  On
    PostgreSQL the stack has a database of its own: the other stacks'
    pushers, which allow loopback, must not deliver its rows."""
    clock = FakeClock()
    s = start_stack(env={"MYELIN_FAKE_CLOCK": clock.path}, pg=own_pg_database("pushlo"))
    try:
        with open(s.conf) as f:
            text = f.read()
        assert "push_allow_ips" in text
        # Take the allowlist out and restart the pusher alone.
        with open(s.conf, "w") as f:
            f.write(text.replace("push_allow_ips = 127.0.0.1\n", ""))
        with open(pusher_pidfile(s)) as f:
            os.kill(int(f.read()), signal.SIGTERM)
        s.clock = clock
        restart_pusher(s)
        alice, bob = user(s, "a"), user(s, "b")
        room = room_of(bob, alice)
        set_pusher(alice, gw.url)
        bob.send_text(room, "never delivered")
        # The attempt is refused before connecting, and logged.
        log = os.path.join(s.dir, "log", "pusher.log")
        deadline = time.monotonic() + WAIT_S
        while "is not allowed" not in open(log).read():
            assert time.monotonic() < deadline, "no refusal logged"
            time.sleep(0.05)
        assert gw.attempts == []
    finally:
        stop_stack(s)
        os.unlink(clock.path)

