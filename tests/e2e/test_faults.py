"""Faults (issue 17): programs killed with SIGKILL in the middle of a send
load, the database's connection cut, the disk full, the SQLite write lock
held by another connection.  Afterwards every event a client saw
acknowledged is stored exactly once, nothing half-written is visible, and
waiting /sync requests recover once they retry.

Clients retry as the spec tells them: the same transaction ID until they
get an answer, so a send whose answer was lost in a crash is not stored
twice.  The figures of docs/reliability.md come from these tests (run
with -s: each prints a FAULTS line)."""
import os
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
import urllib.parse

import pytest

from conftest import STACK, SERVER_NAME, Stack, User, free_port, own_pg_database, \
    start_stack, stop_stack
from test_federation_keys import ca  # noqa: F401 (fixture)

PG = os.environ.get("MYELIN_TEST_PG")


def pid_of(stack, name):
    with open(os.path.join(stack.dir, "run", name + ".pid")) as f:
        return int(f.read())


def wait_for(pred, what):
    # Polls for a state change (not a speed assertion): up to 30 s.
    for _ in range(600):
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("never happened: " + what)


def call(user, method, path, body=None):
    """One request; a connection that breaks is a status 0."""
    try:
        return user.call(method, path, body)
    except OSError as e:
        return 0, {"error": str(e)}


class Load:
    """Threads sending numbered messages, each retried with its txnId
    until it is acknowledged with 200, and a /sync long-poller that
    collects the event IDs it is given, retrying its since token."""

    def __init__(self, user, room, senders=2):
        self.user, self.room = user, room
        self.stop = threading.Event()
        self.acked = {}          # body -> event_id
        self.retries = 0
        self.errors = set()
        self.synced = set()
        self.sync_errors = 0
        self.gaps = 0
        self.lock = threading.Lock()
        self.sent = threading.Event()    # every sender has stopped
        self.senders = [threading.Thread(target=self.send, args=(i,)) for i in range(senders)]
        self.threads = self.senders + [threading.Thread(target=self.poll)]
        status, body = call(user, "GET", "/sync?timeout=0")
        assert status == 200
        self.since = body["next_batch"]

    def start(self):
        for t in self.threads:
            t.start()

    def send(self, n):
        i = 0
        while not self.stop.is_set():
            i += 1
            text = "load-%d-%d" % (n, i)
            txn = "t%d-%d-%d" % (os.getpid(), n, i)
            path = "/rooms/%s/send/m.room.message/%s" % (urllib.parse.quote(self.room), txn)
            while True:
                status, body = call(self.user, "PUT", path, {"msgtype": "m.text", "body": text})
                if status == 200:
                    with self.lock:
                        self.acked[text] = body["event_id"]
                    break
                with self.lock:
                    self.retries += 1
                    self.errors.add(status)
                time.sleep(0.05)

    def poll(self):
        since, after = self.since, 0
        while not self.sent.is_set() or not set(self.acked.values()) <= self.synced:
            if self.sent.is_set():
                after += 1
                if after > 20:
                    break
            # A timeline long enough that no gap (limited) hides an event.
            status, body = call(self.user, "GET", "/sync?timeout=2000&since=" + since +
                                "&filter=" + urllib.parse.quote(
                                    '{"room":{"timeline":{"limit":1000}}}'))
            if status != 200:
                self.sync_errors += 1
                time.sleep(0.05)
                continue
            old, since = since, body["next_batch"]
            room = body.get("rooms", {}).get("join", {}).get(self.room, {})
            for ev in room.get("timeline", {}).get("events", []):
                self.synced.add(ev["event_id"])
            if room.get("timeline", {}).get("limited"):
                # More than the timeline holds (at most 100) came in while
                # the poller was away: a gap, which the client fills as the
                # spec says, with /messages from prev_batch back to since.
                self.gaps += 1
                self.fill(room["timeline"]["prev_batch"], old)

    def fill(self, frm, to):
        while True:
            status, body = call(self.user, "GET", "/rooms/%s/messages?dir=b&limit=100&from=%s"
                                "&to=%s" % (urllib.parse.quote(self.room),
                                            urllib.parse.quote(frm), urllib.parse.quote(to)))
            if status != 200:
                time.sleep(0.05)
                continue
            for ev in body["chunk"]:
                self.synced.add(ev["event_id"])
            if not body["chunk"] or "end" not in body:
                return
            frm = body["end"]

    def finish(self):
        self.stop.set()
        for t in self.senders:
            t.join(timeout=120)
        self.sent.set()
        for t in self.threads:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in self.threads), "a client never got an answer"


def stored_bodies(user, room):
    """Every m.room.message body in the room, by /messages backwards."""
    bodies, token = [], None
    while True:
        q = "/rooms/%s/messages?dir=b&limit=500" % urllib.parse.quote(room)
        if token:
            q += "&from=" + urllib.parse.quote(token)
        status, body = call(user, "GET", q)
        assert status == 200, body
        for ev in body["chunk"]:
            if ev["type"] == "m.room.message":
                bodies.append((ev["content"].get("body"), ev["event_id"]))
        if not body["chunk"] or "end" not in body:
            return bodies
        token = body["end"]


def check_exactly_once(user, room, load, what):
    stored = stored_bodies(user, room)
    texts = [b for b, _ in stored if b and b.startswith("load-")]
    dupes = sorted({t for t in texts if texts.count(t) > 1})
    assert not dupes, "stored twice: %s" % dupes[:5]
    by_text = dict(stored)
    for text, event_id in load.acked.items():
        assert by_text.get(text) == event_id, "acknowledged %s (%s) not stored" % (text, event_id)
    # The long-poller saw every acknowledged event, across the faults.
    missing = set(load.acked.values()) - load.synced
    assert not missing, "never given to the waiting /sync: %s" % sorted(missing)[:5]
    print("FAULTS %s: acknowledged %d, stored %d (unacknowledged but stored %d), "
          "retried sends %d, sync retries %d, gaps filled %d, answers seen %s" % (
              what, len(load.acked), len(texts), len(texts) - len(load.acked),
              load.retries, load.sync_errors, load.gaps, sorted(load.errors)))


@pytest.fixture(scope="module")
def fstack():
    s = start_stack()
    yield s
    stop_stack(s)


PROGRAMS = ["client", "sync", "timerd", "federation", "admin-api", "media", "pusher",
            "sender"]


@pytest.mark.parametrize("program", PROGRAMS)
def test_sigkill_mid_send_load(fstack, uniq, program):
    user = User.register(fstack, uniq("fault"))
    room = user.create_room()
    load = Load(user, room)
    load.start()
    wait_for(lambda: len(load.acked) >= 20, "sends under way")
    old = pid_of(fstack, program)
    os.kill(old, signal.SIGKILL)
    wait_for(lambda: pid_of(fstack, program) != old and
             os.path.exists("/proc/%d" % pid_of(fstack, program)), program + " restarted")
    at_restart = len(load.acked)
    wait_for(lambda: len(load.acked) >= at_restart + 20, "sends go on after the restart")
    load.finish()
    check_exactly_once(user, room, load, "SIGKILL " + program)


@pytest.mark.backend("sqlite")
def test_sqlite_write_lock_held_elsewhere_is_waited_for(fstack, uniq):
    # Another connection holds SQLite's write lock for a second: sends
    # in the meantime wait for it (busy timeout) and succeed, no 500.
    user = User.register(fstack, uniq("busy"))
    room = user.create_room()
    db = sqlite3.connect(os.path.join(fstack.dir, "myelin.db"), timeout=30,
                         isolation_level=None)
    results = []
    try:
        db.execute("BEGIN IMMEDIATE")
        db.execute("CREATE TEMP TABLE IF NOT EXISTS hold (x)")

        def one(i):
            results.append(call(user, "PUT", "/rooms/%s/send/m.room.message/busy%d" % (
                urllib.parse.quote(room), i), {"msgtype": "m.text", "body": "b%d" % i})[0])
        ts = [threading.Thread(target=one, args=(i,)) for i in range(4)]
        for t in ts:
            t.start()
        time.sleep(1)   # the lock is held while the sends wait (not an assertion)
        db.execute("COMMIT")
        for t in ts:
            t.join(timeout=60)
    finally:
        db.close()
    assert results == [200] * 4


@pytest.mark.backend("postgres")
def test_postgres_backends_terminated_mid_send_load(uniq):
    conninfo = own_pg_database("faults")
    s = start_stack(pg=conninfo)
    try:
        user = User.register(s, uniq("pgkill"))
        room = user.create_room()
        load = Load(user, room)
        load.start()
        wait_for(lambda: len(load.acked) >= 20, "sends under way")
        dbname = [w.split("=", 1)[1] for w in conninfo.split() if w.startswith("dbname=")][0]
        for _ in range(3):
            out = subprocess.run(
                ["psql", "-qtA", PG, "-c",
                 "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                 " WHERE datname = '%s' AND pid <> pg_backend_pid()" % dbname],
                capture_output=True, text=True, timeout=60)
            assert out.returncode == 0, out.stderr
            n = len(load.acked)
            wait_for(lambda: len(load.acked) >= n + 10, "sends go on after the cut")
        load.finish()
        check_exactly_once(user, room, load, "pg_terminate_backend x3")
    finally:
        subprocess.run([STACK, "down", s.dir], timeout=60)
        if os.environ.get("MYELIN_TEST_KEEP") != "1":
            subprocess.run(["rm", "-rf", s.dir])


def can_mount_tmpfs():
    if os.getuid() != 0:
        return False
    d = tempfile.mkdtemp(prefix="myelin-tmpfs-")
    ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", d],
                        capture_output=True).returncode == 0
    if ok:
        subprocess.run(["umount", d])
    os.rmdir(d)
    return ok


@pytest.mark.backend("sqlite")     # the SQLite database on a full disk
@pytest.mark.skipif(not can_mount_tmpfs(), reason="needs root and mount -t tmpfs")
def test_full_disk_is_an_error_then_the_server_carries_on(uniq):
    mnt = tempfile.mkdtemp(prefix="myelin-full-")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m,mode=0755", "tmpfs", mnt], check=True)
    d = os.path.join(mnt, "stack")
    port = free_port()
    try:
        subprocess.run([STACK, "init", d, "--server-name", SERVER_NAME, "--port", str(port),
                        "--open-registration"], check=True, capture_output=True, timeout=60)
        with open(os.path.join(d, "myelin.conf"), "a") as f:
            f.write("access_log = no\n")
        subprocess.run([STACK, "up", d], check=True, capture_output=True, timeout=120)
        s = Stack(d, port)
        user = User.register(s, uniq("full"))
        room = user.create_room()
        before = [user.send_ok(room, {"msgtype": "m.text", "body": "before %d" % i})
                  for i in range(5)]
        # Fill the disk, and keep sending until a send fails.
        filler = os.path.join(mnt, "filler")
        subprocess.run(["dd", "if=/dev/zero", "of=" + filler, "bs=64k"], capture_output=True)
        failed = None
        for i in range(2000):
            status, body = call(user, "PUT", "/rooms/%s/send/m.room.message/full%d" % (
                urllib.parse.quote(room), i), {"msgtype": "m.text", "body": "x" * 4000})
            if status != 200:
                failed = (status, body)
                break
        assert failed is not None, "the disk never filled"
        assert failed[0] == 500 and failed[1]["errcode"] == "M_UNKNOWN", failed
        # Space is back: the server carries on, and nothing was lost.
        os.unlink(filler)
        after = user.send_ok(room, {"msgtype": "m.text", "body": "after"})
        bodies = dict(stored_bodies(user, room))
        assert all(bodies.get("before %d" % i) == e for i, e in enumerate(before))
        assert bodies.get("after") == after
        db = sqlite3.connect(os.path.join(d, "myelin.db"))
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        db.close()
        print("FAULTS full disk: send %d failed with %d %s, integrity ok, next send stored" % (
            i, failed[0], failed[1]["errcode"]))
    finally:
        subprocess.run([STACK, "down", d], capture_output=True, timeout=60)
        subprocess.run(["umount", "-l", mnt])
        os.rmdir(mnt)


# -- Long transactions cut into bounded ones ----------------------------------

A1 = "/_synapse/admin/v1"
A2 = "/_synapse/admin/v2"


def watch_while(work, observe, write):
    """Runs work() in a thread, and until it returns observe() (a read)
    in this one and write() (another user's send) in a third: the values
    observe gave meanwhile, and work's result."""
    out, seen = {}, []
    t = threading.Thread(target=lambda: out.setdefault("r", work()))
    t.start()

    def writer():
        write()
        while t.is_alive():
            write()
    w = threading.Thread(target=writer)
    w.start()
    while t.is_alive():
        seen.append(observe())
    t.join()
    w.join()
    return seen, out["r"]


def test_deactivating_a_user_in_many_rooms_leaves_other_writers_answered(fstack, uniq):
    # The leaves of a deactivation commit 20 rooms at a time: while the
    # request runs, other users' sends are answered and some of its
    # rooms are already left (one transaction would show none, then all).
    from conftest import admin_login
    admin = User(fstack, admin_login(fstack, uniq("fadm"), "pw-admin"))
    victim = User.register(fstack, uniq("many"))
    other = User.register(fstack, uniq("other"))
    rooms = [victim.create_room() for _ in range(160)]
    busy = other.create_room()
    sends = []

    def write():
        status, body = call(other, "PUT", "/rooms/%s/send/m.room.message/%s" % (
            urllib.parse.quote(busy), "d%d" % len(sends)), {"msgtype": "m.text", "body": "x"})
        sends.append(status)

    def observe():
        status, body = call(admin, "GET", A1 + "/users/%s/joined_rooms" %
                            urllib.parse.quote(victim.user_id))
        return body.get("total") if status == 200 else None
    seen, (status, body) = watch_while(
        lambda: call(admin, "POST", A1 + "/deactivate/" + urllib.parse.quote(victim.user_id),
                     {}), observe, write)
    assert status == 200, body
    assert sends and all(s == 200 for s in sends), sends
    assert any(n is not None and 0 < n < len(rooms) for n in seen), seen
    status, body = call(admin, "GET", A1 + "/users/%s/joined_rooms" %
                        urllib.parse.quote(victim.user_id))
    assert (status, body["total"]) == (200, 0)
    print("FAULTS deactivation in %d rooms: %d sends answered meanwhile, joined counts seen %s" % (
        len(rooms), len(sends), sorted(set(n for n in seen if n is not None))))


def test_shutting_down_a_big_room_leaves_other_writers_answered(fstack, uniq):
    from conftest import admin_login
    admin = User(fstack, admin_login(fstack, uniq("fadm"), "pw-admin"))
    room = admin.create_room(preset="public_chat")
    members = [User.register(fstack, uniq("member")) for _ in range(80)]
    for m in members:
        m.join(room)
    other = User.register(fstack, uniq("other"))
    busy = other.create_room()
    sends = []

    def write():
        status, _ = call(other, "PUT", "/rooms/%s/send/m.room.message/%s" % (
            urllib.parse.quote(busy), "s%d" % len(sends)), {"msgtype": "m.text", "body": "x"})
        sends.append(status)

    def observe():
        status, body = call(admin, "GET", A1 + "/rooms/%s/members" % urllib.parse.quote(room))
        return body.get("total") if status == 200 else None
    seen, (status, body) = watch_while(
        lambda: call(admin, "DELETE", A2 + "/rooms/" + urllib.parse.quote(room), {}), observe,
        write)
    assert status == 200, body
    status, st = call(admin, "GET", A2 + "/rooms/delete_status/" +
                      urllib.parse.quote(body["delete_id"]))
    assert st["status"] == "complete", st
    assert len(st["shutdown_room"]["kicked_users"]) == len(members) + 1
    assert sends and all(s == 200 for s in sends), sends
    assert any(n is not None and 0 < n < len(members) + 1 for n in seen), seen
    print("FAULTS shutdown of a room of %d: %d sends answered meanwhile, member counts seen %s" % (
        len(members) + 1, len(sends), sorted(set(n for n in seen if n is not None))))


def test_a_large_create_room_leaves_other_writers_answered(fstack, uniq):
    # A large createRoom (150 state events of initial_state and 40
    # invites: about 200 events, a 25 kB body) is one request of
    # bounded work, as the body limit bounds it: another user's sends meanwhile are answered 200
    # (on SQLite they wait for the write lock, never past the busy
    # timeout), and the room holds everything asked for.
    creator = User.register(fstack, uniq("big"))
    invitees = [User.register(fstack, uniq("inv")) for _ in range(40)]
    other = User.register(fstack, uniq("other"))
    busy = other.create_room()
    sends = []
    initial = [{"type": "org.example.setting", "state_key": "k%d" % i,
                "content": {"value": "v" * 100}} for i in range(150)]

    def write():
        status, _ = call(other, "PUT", "/rooms/%s/send/m.room.message/%s" % (
            urllib.parse.quote(busy), "c%d" % len(sends)), {"msgtype": "m.text", "body": "x"})
        sends.append(status)
    seen, (status, body) = watch_while(
        lambda: call(creator, "POST", "/createRoom", {
            "preset": "private_chat", "initial_state": initial,
            "invite": [u.user_id for u in invitees]}), lambda: None, write)
    assert status == 200, body
    assert sends and all(s == 200 for s in sends), sends
    status, state = call(creator, "GET", "/rooms/%s/state" % urllib.parse.quote(body["room_id"]))
    assert status == 200
    assert len([e for e in state if e["type"] == "org.example.setting"]) == 150
    assert len([e for e in state if e["type"] == "m.room.member"
                and e["content"]["membership"] == "invite"]) == 40
    print("FAULTS createRoom of 150 state events and 40 invites: %d sends answered meanwhile" %
          len(sends))


def test_sigkill_of_the_sender_mid_federation_load(ca):  # noqa: F811
    """myelin-sender killed with SIGKILL while a send load goes to a
    remote server's member: once the supervisor restarts it, the remote
    has every event stored here exactly once.  A transaction is recorded
    before it is sent and forgotten with its rows, so the one in flight
    at the kill comes again under the same txnId, which a server takes
    once (S-S API, "Transactions"): no event is in two transactions."""
    from test_federation_in import FedRemote, Joined
    from test_federation_keys import fed_stack
    from test_federation_sender import Receiver
    stack = fed_stack(ca, "faultsend")
    remote = FedRemote(ca)
    try:
        rec = Receiver(remote)
        joined = Joined(stack, remote)
        load = Load(joined.alice, joined.room)
        load.start()
        wait_for(lambda: len(rec.bodies()) >= 20, "events reach the remote")
        old = pid_of(stack, "sender")
        os.kill(old, signal.SIGKILL)
        wait_for(lambda: pid_of(stack, "sender") != old and
                 os.path.exists("/proc/%d" % pid_of(stack, "sender")), "sender restarted")
        at_restart = len(load.acked)
        wait_for(lambda: len(load.acked) >= at_restart + 20, "sends go on after the restart")
        load.finish()
        check_exactly_once(joined.alice, joined.room, load, "SIGKILL sender (local)")
        stored = {eid for b, eid in stored_bodies(joined.alice, joined.room)
                  if b and b.startswith("load-")}

        def by_event():
            """event ID -> the txnIds that carried it."""
            out = {}
            with rec.lock:
                for txn, ids, bs in rec.txns:
                    for eid, b in zip(ids, bs):
                        if b and b.startswith("load-"):
                            out.setdefault(eid, set()).add(txn)
            return out
        wait_for(lambda: stored <= set(by_event()), "every event at the remote")
        got = by_event()
        assert set(got) == stored
        twice = {e: t for e, t in got.items() if len(t) > 1}
        assert not twice, "in two transactions: %s" % sorted(twice.items())[:3]
        with rec.lock:
            ids = [t for t, _, _ in rec.txns]
        print("FAULTS SIGKILL sender: stored %d, at the remote %d, transactions %d,"
              " sent again under the same txnId %d" % (
                  len(stored), len(got), len(set(ids)), len(ids) - len(set(ids))))
    finally:
        remote.stop()
        stop_stack(stack)
