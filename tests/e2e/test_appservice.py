"""Application services (issue 15): a small service written here (stdlib
HTTP server on loopback) with a registration file as bridges write it,
named by app_service_config_files.  myelin-pusher PUTs it the
transactions of its namespace (lib/appsvc, the outbound queue); the
client API queries it for unknown users and aliases of its namespace and
lets its as_token register, log in and masquerade as its users.  The
stack runs on a FakeClock, so backoff moves only when the test moves
time."""
import http.server
import json
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.parse

import pytest

from conftest import C, FakeClock, User, own_pg_database, q, start_stack, stop_stack

WAIT_S = 30
AS_ID = "test-bridge-%d" % os.getpid()
AS_TOKEN = "as-token-%d-\\`|^{x}" % os.getpid()
HS_TOKEN = "hs-token-%d" % os.getpid()


class Service:
    """The application service.  down: transactions answer 500.  txns:
    (txnId, events) of every transaction answered 200, in order;
    attempts: every txnId received; queries: the query paths."""

    def __init__(self):
        self.down = False
        self.txns, self.attempts, self.queries, self.pings = [], [], [], []
        self.eph, self.todev = [], []
        self.auth_ok = True
        self.cond = threading.Condition()
        self.stack = None
        svc = self

        class H(http.server.BaseHTTPRequestHandler):
            def answer(self, status, body):
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass

            def authorised(self):
                u = urllib.parse.urlsplit(self.path)
                qs = urllib.parse.parse_qs(u.query)
                # The legacy ?access_token= too, but on third-party lookups,
                # whose query is the client's.
                tp = u.path.startswith("/_matrix/app/v1/thirdparty/")
                ok = (self.headers.get("Authorization") == "Bearer " + HS_TOKEN and
                      qs.get("access_token") == (None if tp else [HS_TOKEN]))
                if not ok:
                    with svc.cond:
                        svc.auth_ok = False
                return ok, urllib.parse.unquote(u.path)

            def body(self):
                n = int(self.headers.get("Content-Length") or 0)
                return json.loads(self.rfile.read(n)) if n else None

            def do_PUT(self):
                ok, path = self.authorised()
                body = self.body()
                prefix = "/_matrix/app/v1/transactions/"
                if not ok or not path.startswith(prefix):
                    return self.answer(403, {"errcode": "M_FORBIDDEN"})
                txn = path[len(prefix):]
                with svc.cond:
                    svc.attempts.append(txn)
                    down = svc.down
                    # Spec: a transaction seen before is answered, not applied again.
                    if not down and txn not in [t for t, _ in svc.txns]:
                        svc.txns.append((txn, body["events"]))
                        svc.eph += body.get("de.sorunome.msc2409.ephemeral", [])
                        td = body.get("de.sorunome.msc2409.to_device", [])
                        assert body.get("to_device", []) == td
                        svc.todev += td
                    svc.cond.notify_all()
                self.answer(500 if down else 200, {})

            def do_POST(self):
                ok, path = self.authorised()
                body = self.body()
                if ok and path == "/_matrix/app/v1/ping":
                    with svc.cond:
                        svc.pings.append(body)
                    return self.answer(200, {})
                self.answer(404, {"errcode": "M_UNRECOGNIZED"})

            def do_GET(self):
                ok, path = self.authorised()
                if not ok:
                    return self.answer(403, {"errcode": "M_FORBIDDEN"})
                with svc.cond:
                    svc.queries.append(path)
                if path.startswith("/_matrix/app/v1/users/"):
                    uid = path[len("/_matrix/app/v1/users/"):]
                    if "known" not in uid:
                        return self.answer(404, {})
                    # The service creates its user, then says it exists.
                    s, r = svc.stack.request("POST", C + "/register", {
                        "type": "m.login.application_service",
                        "username": uid[1:].split(":")[0]}, token=AS_TOKEN)
                    return self.answer(200 if s == 200 else 500, {})
                if path.startswith("/_matrix/app/v1/rooms/"):
                    alias = path[len("/_matrix/app/v1/rooms/"):]
                    s, r = svc.stack.request("POST", C + "/createRoom", {}, token=AS_TOKEN)
                    s2, _ = svc.stack.request("PUT", C + "/directory/room/" + q(alias),
                                              {"room_id": r["room_id"]}, token=AS_TOKEN)
                    return self.answer(200 if s == s2 == 200 else 500, {})
                if path == "/_matrix/app/v1/thirdparty/protocol/gopher":
                    return self.answer(200, {"user_fields": ["name"], "location_fields": [],
                                             "icon": "mxc://x/y", "field_types": {},
                                             "instances": [{"desc": "one"}]})
                if path.startswith("/_matrix/app/v1/thirdparty/user/gopher"):
                    if urllib.parse.urlsplit(self.path).query != "name=x":
                        return self.answer(400, {})
                    return self.answer(200, [{"userid": "@bridge_g:localhost",
                                              "protocol": "gopher", "fields": {}}])
                self.answer(404, {})

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, pred, what):
        deadline = time.monotonic() + WAIT_S
        with self.cond:
            while True:
                v = pred()
                if v:
                    return v
                left = deadline - time.monotonic()
                assert left > 0, "gave up waiting for " + what
                self.cond.wait(min(left, 0.2))

    def events(self):
        with self.cond:
            return [e for _, evs in self.txns for e in evs]

    def wait_event(self, pred, what):
        return self.wait(lambda: [e for e in self.events() if pred(e)], what)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


REGISTRATION = """\
# As bridges write them (Synapse's format).
id: %(id)s
url: %(url)s
as_token: '%(as_token)s'
hs_token: "%(hs_token)s"
sender_localpart: bridgebot
rate_limited: false
namespaces:
  users:
    - exclusive: true
      regex: '@bridge_.*:localhost'
  aliases:
    - exclusive: true
      regex: '#bridge_.*:localhost'
  rooms: []
protocols: [gopher]
de.sorunome.msc2409.push_ephemeral: true
"""


@pytest.fixture(scope="module")
def svc():
    s = Service()
    yield s
    s.close()


@pytest.fixture(scope="module")
def astack(svc):
    # Where the stack's programs, which drop to their user when the tests
    # run as root, may read it (pytest's own tmp_path is root's alone).
    d = tempfile.mkdtemp(prefix="myelin-e2e-as-")
    os.chmod(d, 0o755)
    reg = pathlib.Path(d) / "bridge.yaml"
    reg.write_text(REGISTRATION % {"id": AS_ID, "url": svc.url, "as_token": AS_TOKEN,
                                   "hs_token": HS_TOKEN})
    os.chmod(reg, 0o644)
    clock = FakeClock()
    st = start_stack(extra_conf="app_service_config_files = %s\n" % reg,
                     env={"MYELIN_FAKE_CLOCK": clock.path}, pg=own_pg_database("appsvc"))
    st.clock = clock
    st.reg = str(reg)
    svc.stack = st
    yield st
    stop_stack(st)
    shutil.rmtree(d, ignore_errors=True)
    os.unlink(clock.path)


_n = [0]


def name(prefix):
    _n[0] += 1
    return "%s%d_%d" % (prefix, os.getpid(), _n[0])


def as_call(st, method, path, body=None, user_id=None):
    if user_id is not None:
        path += ("&" if "?" in path else "?") + "user_id=" + q(user_id)
    return st.request(method, path if path.startswith("/_") else C + path, body,
                      token=AS_TOKEN)


def as_register(st, localpart, **extra):
    return as_call(st, "POST", "/register", dict({"type": "m.login.application_service",
                                                  "username": localpart}, **extra))


def test_bad_registration_is_refused_at_start(tmp_path):
    """The config check names the file and the key at fault."""
    reg = tmp_path / "bad.yaml"
    reg.write_text("id: x\nas_token: a\nhs_token: b\nsender_localpart: bot\n"
                   "namespaces:\n  users:\n    - regex: 7\n")
    conf = tmp_path / "myelin.conf"
    conf.write_text("server_name = localhost\ndatabase = %s/db\n"
                    "app_service_config_files = %s\n" % (tmp_path, reg))
    binary = os.path.join(os.environ.get("MYELIN_BIN", "build/bin"), "myelin-admin")
    r = subprocess.run([binary, "-c", str(conf), "appservice", "list"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode != 0
    assert str(reg) in r.stderr and "namespaces.users[0].regex" in r.stderr, r.stderr


def test_register_login_and_masquerade(astack):
    lp = name("bridge_a")
    s, r = as_register(astack, lp)
    assert s == 200, r
    assert r["user_id"] == "@%s:localhost" % lp and r["access_token"] and r["device_id"]
    s, r = as_register(astack, name("bridge_b"), inhibit_login=True)
    assert s == 200 and "access_token" not in r, r
    # Outside its namespace, or without its token: refused.
    s, r = as_register(astack, name("other"))
    assert (s, r["errcode"]) == (400, "M_EXCLUSIVE"), r
    s, r = astack.request("POST", C + "/register", {
        "type": "m.login.application_service", "username": name("bridge_c")})
    assert s == 401, r
    # A regular user cannot take a name of the exclusive namespace.
    s, r = astack.request("POST", C + "/register", {
        "username": name("bridge_d"), "password": "pw-123456",
        "auth": {"type": "m.login.dummy"}})
    assert (s, r["errcode"]) == (400, "M_EXCLUSIVE"), r
    # The as_token is the sender, or a user of its namespace with user_id.
    s, r = as_call(astack, "GET", "/account/whoami")
    assert (s, r["user_id"]) == (200, "@bridgebot:localhost"), r
    s, r = as_call(astack, "GET", "/account/whoami", user_id="@%s:localhost" % lp)
    assert (s, r["user_id"]) == (200, "@%s:localhost" % lp), r
    outsider = User.register(astack, name("plain"))
    s, r = as_call(astack, "GET", "/account/whoami", user_id=outsider.user_id)
    assert (s, r["errcode"]) == (403, "M_FORBIDDEN"), r
    s, r = as_call(astack, "GET", "/account/whoami", user_id="@bridge_never:localhost")
    assert (s, r["errcode"]) == (403, "M_FORBIDDEN"), r
    # Its users' locks hold for it too.
    locked = name("bridge_l")
    assert as_register(astack, locked)[0] == 200
    assert astack.admin("user", "lock", locked, "on").returncode == 0
    s, r = as_call(astack, "GET", "/account/whoami", user_id="@%s:localhost" % locked)
    assert (s, r["errcode"]) == (401, "M_USER_LOCKED"), r
    # m.login.application_service: a device of its user.
    s, r = astack.request("POST", C + "/login", {
        "type": "m.login.application_service",
        "identifier": {"type": "m.id.user", "user": lp}}, token=AS_TOKEN)
    assert s == 200 and r["user_id"] == "@%s:localhost" % lp, r
    s, r = astack.request("POST", C + "/login", {
        "type": "m.login.application_service",
        "identifier": {"type": "m.id.user", "user": outsider.user_id}}, token=AS_TOKEN)
    assert (s, r["errcode"]) == (403, "M_FORBIDDEN"), r


def test_events_of_namespace_in_order_and_only_those(astack, svc):
    owner = User.register(astack, name("owner"))
    ghost = "@%s:localhost" % name("bridge_g")
    assert as_register(astack, ghost[1:].split(":")[0])[0] == 200
    bridged = owner.create_room()
    owner.room_post(bridged, "invite", ghost)
    s, r = as_call(astack, "POST", "/rooms/%s/join" % q(bridged), {}, user_id=ghost)
    assert s == 200, r
    # The ghost sends through masquerading, with a transaction ID.
    s, r = as_call(astack, "PUT", "/rooms/%s/send/m.room.message/t1" % q(bridged),
                   {"msgtype": "m.text", "body": "from the bridge"}, user_id=ghost)
    assert s == 200, r
    ghost_ev = r["event_id"]
    s, r2 = as_call(astack, "PUT", "/rooms/%s/send/m.room.message/t1" % q(bridged),
                    {"msgtype": "m.text", "body": "from the bridge"}, user_id=ghost)
    assert (s, r2["event_id"]) == (200, ghost_ev)
    private = owner.create_room()
    ids = [owner.send_text(bridged, "m%d" % i) for i in range(5)]
    owner.send_text(private, "not for the bridge")
    last = owner.send_text(bridged, "last")
    svc.wait_event(lambda e: e["event_id"] == last, "the last event")
    evs = svc.events()
    got = [e["event_id"] for e in evs if e["room_id"] == bridged]
    assert all(e["room_id"] != private for e in evs), "an event outside its namespace"
    assert ghost_ev in got
    order = [got.index(i) for i in ids + [last]]
    assert order == sorted(order)
    joined = [e for e in evs if e["type"] == "m.room.member" and e.get("state_key") == ghost
              and e["content"]["membership"] == "join"]
    assert joined and joined[0]["room_id"] == bridged
    assert svc.auth_ok


def test_unknown_alias_and_user_are_asked(astack, svc):
    alias = "#%s:localhost" % name("bridge_room")
    s, r = astack.request("GET", C + "/directory/room/" + q(alias))
    assert s == 200 and r["room_id"].startswith("!"), r
    assert "/_matrix/app/v1/rooms/" + alias in svc.queries
    # Outside every namespace nobody is asked.
    s, r = astack.request("GET", C + "/directory/room/" + q("#plain_none:localhost"))
    assert s == 404 and not any("plain_none" in p for p in svc.queries)
    owner = User.register(astack, name("inviter"))
    room = owner.create_room()
    known = "@%s:localhost" % name("bridge_known")
    owner.room_post(room, "invite", known)
    assert "/_matrix/app/v1/users/" + known in svc.queries
    s, r = owner.call("POST", "/rooms/%s/invite" % q(room),
                      {"user_id": "@bridge_nobody:localhost"})
    assert s == 404, r
    # Its exclusive aliases are refused to others.
    s, r = owner.call("PUT", "/directory/room/" + q("#%s:localhost" % name("bridge_x")),
                      {"room_id": room})
    assert (s, r["errcode"]) == (400, "M_EXCLUSIVE"), r


def test_ping_and_thirdparty(astack, svc):
    s, r = as_call(astack, "POST", "/_matrix/client/v1/appservice/%s/ping" % q(AS_ID),
                   {"transaction_id": "ping-1"})
    assert s == 200 and isinstance(r["duration_ms"], int), r
    assert {"transaction_id": "ping-1"} in svc.pings
    s, r = as_call(astack, "POST", "/_matrix/client/v1/appservice/other/ping", {})
    assert (s, r["errcode"]) == (403, "M_FORBIDDEN"), r
    u = User.register(astack, name("tp"))
    s, r = u.call("POST", "/_matrix/client/v1/appservice/%s/ping" % q(AS_ID), {})
    assert (s, r["errcode"]) == (403, "M_FORBIDDEN"), r
    r = u.ok("GET", "/thirdparty/protocols")
    assert r["gopher"]["instances"] == [{"desc": "one"}], r
    assert u.ok("GET", "/thirdparty/protocol/gopher")["user_fields"] == ["name"]
    assert u.call("GET", "/thirdparty/protocol/nope")[0] == 404
    assert u.ok("GET", "/thirdparty/user/gopher?name=x")[0]["protocol"] == "gopher"


def retry(st, svc):
    """Moves the fake clock past the backoff until the service is tried
    again (a move while the daemon records the failure only sets its
    next retry later)."""
    k = len(svc.attempts)
    deadline = time.monotonic() + WAIT_S
    while len(svc.attempts) == k:
        assert time.monotonic() < deadline, "gave up waiting for a retry"
        st.clock.advance(10 * 60 * 1000)
        with svc.cond:
            svc.cond.wait_for(lambda: len(svc.attempts) > k, timeout=0.5)


def test_down_service_gets_everything_once_back(astack, svc):
    """Down for a while, and its daemon killed meanwhile: once back it gets
    every event once, in order, the first under the ID it was refused."""
    owner = User.register(astack, name("owner2"))
    ghost = "@%s:localhost" % name("bridge_h")
    assert as_register(astack, ghost[1:].split(":")[0])[0] == 200
    room = owner.create_room()
    owner.room_post(room, "invite", ghost)
    assert as_call(astack, "POST", "/rooms/%s/join" % q(room), {}, user_id=ghost)[0] == 200
    first = owner.send_text(room, "before")
    svc.wait_event(lambda e: e["event_id"] == first, "the first event")
    with svc.cond:
        svc.down = True
        n_attempts = len(svc.attempts)
    ids = [owner.send_text(room, "while down %d" % i) for i in range(6)]
    svc.wait(lambda: len(svc.attempts) > n_attempts, "an attempt while down")
    failed = svc.attempts[n_attempts]
    # Retries back off on the fake clock; a few more attempts, all refused.
    for _ in range(3):
        retry(astack, svc)
    assert set(svc.attempts[n_attempts:]) == {failed}, "a retry is the same transaction"
    # The daemon dies and starts again: the queue and the transaction are in the database.
    pidfile = os.path.join(astack.dir, "run", "pusher.pid")
    with open(pidfile) as f:
        dead = f.read()
        os.kill(int(dead), signal.SIGKILL)
    # myelin-stack's supervisor starts it again.
    deadline = time.monotonic() + WAIT_S
    while open(pidfile).read() in ("", dead):
        assert time.monotonic() < deadline, "myelin-pusher was not started again"
        time.sleep(0.05)
    retry(astack, svc)
    assert set(svc.attempts[n_attempts:]) == {failed}
    with svc.cond:
        svc.down = False
    retry(astack, svc)
    svc.wait_event(lambda e: e["event_id"] == ids[-1], "the events once back")
    got = [e["event_id"] for e in svc.events()]
    assert [got.count(i) for i in ids] == [1] * len(ids), "each event once"
    assert [got.index(i) for i in ids] == sorted(got.index(i) for i in ids)
    assert failed in [t for t, _ in svc.txns]


def test_ephemeral_events_when_asked(astack, svc):
    """MSC2409: the service asked for ephemeral events: read receipts and
    typing in its rooms come in its transactions."""
    owner = User.register(astack, name("owner3"))
    ghost = "@%s:localhost" % name("bridge_e")
    assert as_register(astack, ghost[1:].split(":")[0])[0] == 200
    room = owner.create_room()
    owner.room_post(room, "invite", ghost)
    assert as_call(astack, "POST", "/rooms/%s/join" % q(room), {}, user_id=ghost)[0] == 200
    ev = owner.send_text(room, "read me")
    owner.ok("POST", "/rooms/%s/receipt/m.read/%s" % (q(room), q(ev)), {})
    owner.ok("PUT", "/rooms/%s/typing/%s" % (q(room), q(owner.user_id)),
             {"typing": True, "timeout": 30000})
    def got(t):
        with svc.cond:
            return [e for e in svc.eph if e["type"] == t and e["room_id"] == room]
    r = svc.wait(lambda: got("m.receipt"), "the receipt")
    assert owner.user_id in r[0]["content"][ev]["m.read"]
    t = svc.wait(lambda: got("m.typing"), "typing")
    assert t[0]["content"]["user_ids"] == [owner.user_id]


def test_to_device_and_presence_when_asked(astack, svc):
    """MSC4203 (to-device, Synapse 1.67's de.sorunome.msc2409.to_device)
    and MSC2409's presence, for a service that asked for ephemeral
    events: a to-device message to one of its users comes with
    to_user_id and to_device_id, once per device for "*", and the device
    still gets it by /sync; a message to someone else does not come.  The
    presence of a user in one of its rooms comes; of a user in none, not."""
    owner = User.register(astack, name("owner4"))
    stranger = User.register(astack, name("stranger4"))
    other = User.register(astack, name("other4"))
    lp = name("bridge_td")
    s, r = as_register(astack, lp)
    assert s == 200, r
    ghost = User(astack, r)
    room = owner.create_room()
    owner.room_post(room, "invite", ghost.user_id)
    assert as_call(astack, "POST", "/rooms/%s/join" % q(room), {},
                   user_id=ghost.user_id)[0] == 200
    owner.ok("PUT", "/sendToDevice/m.test/%s" % owner.next_txn(), {"messages": {
        other.user_id: {other.device_id: {"n": 0}},
        ghost.user_id: {ghost.device_id: {"n": 1}, "NOSUCHDEVICE": {"n": 2}}}})
    owner.ok("PUT", "/sendToDevice/m.test/%s" % owner.next_txn(), {"messages": {
        ghost.user_id: {"*": {"n": 3}}}})

    def todev():
        with svc.cond:
            return [m for m in svc.todev if m["sender"] == owner.user_id]
    got = svc.wait(lambda: len(todev()) >= 2 and todev(), "the to-device messages")
    assert got == [{"to_user_id": ghost.user_id, "to_device_id": ghost.device_id,
                    "type": "m.test", "sender": owner.user_id, "content": {"n": n}}
                   for n in (1, 3)]
    _, sync = ghost.sync()
    assert [e["content"]["n"] for e in sync["to_device"]["events"]] == [1, 3]
    # Presence: the stranger's first, then the owner's; the queue keeps order.
    stranger.ok("PUT", "/presence/%s/status" % q(stranger.user_id), {"presence": "online"})
    owner.ok("PUT", "/presence/%s/status" % q(owner.user_id),
             {"presence": "unavailable", "status_msg": "away"})

    def presence(uid):
        with svc.cond:
            return [e for e in svc.eph if e["type"] == "m.presence" and e["sender"] == uid]
    p = svc.wait(lambda: presence(owner.user_id), "the owner's presence")
    assert p[0]["content"]["presence"] == "unavailable"
    assert p[0]["content"]["status_msg"] == "away"
    assert presence(stranger.user_id) == []


def test_admin_appservice_commands(astack):
    r = astack.admin("appservice", "list")
    assert r.returncode == 0 and AS_ID in r.stdout and "@bridgebot:localhost" in r.stdout
    r = astack.admin("appservice", "show", AS_ID, json_out=True)
    shown = json.loads(r.stdout)
    assert shown["users"] == [{"regex": "@bridge_.*:localhost", "exclusive": True}]
    assert AS_TOKEN not in r.stdout and HS_TOKEN not in r.stdout
    assert astack.admin("appservice", "check", astack.reg).returncode == 0
    assert astack.admin("appservice", "show", "nope").returncode != 0


def test_admin_appservice_check_of_a_new_file(astack, tmp_path):
    """appservice check FILE says what the start would refuse: a key at
    fault, or an id, as_token or sender another configured service has;
    the configured file itself is no clash."""
    def reg(fname, **kw):
        v = dict({"id": "other-bridge", "url": "http://127.0.0.1:9", "as_token": "o-as",
                  "hs_token": "o-hs"}, **kw)
        f = tmp_path / fname
        f.write_text((REGISTRATION % v).replace("bridgebot", kw.get("sender", "otherbot")))
        return str(f)
    r = astack.admin("appservice", "check", reg("new.yaml"))
    assert r.returncode == 0 and "other-bridge OK" in r.stdout, (r.stdout, r.stderr)
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nas_token: a\nhs_token: b\nsender_localpart: bot\n"
                   "namespaces:\n  users:\n    - regex: 7\n")
    r = astack.admin("appservice", "check", str(bad))
    assert r.returncode != 0 and str(bad) in r.stderr
    assert "namespaces.users[0].regex" in r.stderr, r.stderr
    for clash in (reg("a.yaml", as_token=AS_TOKEN), reg("b.yaml", id=AS_ID),
                  reg("c.yaml", sender="bridgebot")):
        r = astack.admin("appservice", "check", clash)
        assert r.returncode != 0 and "shares an id, an as_token or a sender_localpart" \
            in r.stderr and astack.reg in r.stderr, (clash, r.stderr)
    assert astack.admin("appservice", "check", astack.reg).returncode == 0
