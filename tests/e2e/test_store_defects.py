"""Store defects end to end: events sent at once in several rooms reach a
syncing reader exactly once (the events stream's positions on
PostgreSQL), push rules past their limits are refused, and the
fully-read marker only moves forwards under concurrent requests.

Runs on SQLite and, with MYELIN_TEST_PG, on PostgreSQL, where writers of
different rooms really run at once."""
import threading
import urllib.parse

import pytest

C = "/_matrix/client/v3"


def q(s):
    return urllib.parse.quote(s, safe="")


class User:
    def __init__(self, stack, name):
        resp = stack.register(name, "pw-" + name)
        self.s = stack
        self.user_id = resp["user_id"]
        self.token = resp["access_token"]

    def call(self, method, path, body=None):
        return self.s.request(method, C + path, body, token=self.token)

    def ok(self, method, path, body=None):
        status, resp = self.call(method, path, body)
        assert status == 200, (method, path, status, resp)
        return resp


@pytest.fixture
def user(stack, uniq):
    return lambda: User(stack, uniq("st"))


# -- the events stream ---------------------------------------------------------

WRITERS = 4
SENDS = 100


def test_concurrent_writers_reach_a_syncing_reader_exactly_once(user):
    """Writers in several rooms send as fast as they can while a reader
    loops /sync with since=next_batch: every event arrives, once."""
    reader = user()
    writers = [user() for _ in range(WRITERS)]
    rooms = []
    for w in writers:
        room = reader.ok("POST", "/createRoom", {"preset": "public_chat"})["room_id"]
        w.ok("POST", "/rooms/%s/join" % q(room), {})
        rooms.append(room)
    # Big enough that no incremental timeline is ever limited.
    flt = urllib.parse.quote('{"room":{"timeline":{"limit":500}}}')
    status, body = reader.s.request("GET", C + "/sync?timeout=0&filter=" + flt,
                                    token=reader.token)
    assert status == 200, body
    since = body["next_batch"]

    sent = {room: [] for room in rooms}
    errors = []

    def write(w, room):
        try:
            for i in range(SENDS):
                status, resp = w.call("PUT", "/rooms/%s/send/m.room.message/t%d" % (
                    q(room), i), {"msgtype": "m.text", "body": "m%d" % i})
                assert status == 200, (status, resp)
                sent[room].append(resp["event_id"])
        except Exception as e:  # pylint: disable=broad-except
            errors.append(e)

    got = {room: [] for room in rooms}

    def collect(body):
        for room, sec in body.get("rooms", {}).get("join", {}).items():
            if room not in got:
                continue
            assert not sec["timeline"].get("limited"), room
            got[room] += [e["event_id"] for e in sec["timeline"]["events"]
                          if e["type"] == "m.room.message"]

    threads = [threading.Thread(target=write, args=(w, r)) for w, r in zip(writers, rooms)]
    for t in threads:
        t.start()
    try:
        while any(t.is_alive() for t in threads):
            status, body = reader.s.request(
                "GET", C + "/sync?timeout=1000&filter=%s&since=%s" % (flt, q(since)),
                token=reader.token)
            assert status == 200, body
            collect(body)
            since = body["next_batch"]
    finally:
        for t in threads:
            t.join()
    assert not errors, errors
    # Whatever was committed by the end shows in one more sync.
    status, body = reader.s.request(
        "GET", C + "/sync?timeout=0&filter=%s&since=%s" % (flt, q(since)), token=reader.token)
    assert status == 200, body
    collect(body)
    for room in rooms:
        assert len(sent[room]) == SENDS
        missing = set(sent[room]) - set(got[room])
        assert not missing, "%d of %d events never delivered" % (len(missing), SENDS)
        assert sorted(got[room]) == sorted(sent[room]), "an event arrived twice"


# -- the fully-read marker -----------------------------------------------------

ROUNDS = 6
MARKERS = 8


def test_concurrent_read_markers_end_at_the_newest(user):
    """Spec: C-S API, "Fully read markers".  Requests moving m.fully_read
    to increasing events, sent at once in any order, leave it on the
    newest: the marker never moves back."""
    u = user()
    room = u.ok("POST", "/createRoom", {"preset": "private_chat"})["room_id"]
    path = "/user/%s/rooms/%s/account_data/m.fully_read" % (q(u.user_id), q(room))
    for rnd in range(ROUNDS):
        events = [u.ok("PUT", "/rooms/%s/send/m.room.message/r%d.%d" % (q(room), rnd, i),
                       {"msgtype": "m.text", "body": "x"})["event_id"]
                  for i in range(MARKERS)]
        statuses = []
        barrier = threading.Barrier(MARKERS)

        def mark(event_id):
            barrier.wait()
            status, _ = u.call("POST", "/rooms/%s/read_markers" % q(room),
                               {"m.fully_read": event_id})
            statuses.append(status)

        # The newest first: every older one that overtakes it must lose.
        threads = [threading.Thread(target=mark, args=(e,)) for e in reversed(events)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert statuses == [200] * MARKERS
        assert u.ok("GET", path)["event_id"] == events[-1], "round %d" % rnd
