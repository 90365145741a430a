"""Store defects end to end: events sent at once in several rooms reach a
syncing reader exactly once (the events stream's positions on
PostgreSQL), push rules past their limits are refused, and the
fully-read marker only moves forwards under concurrent requests.

Runs on SQLite and, with MYELIN_TEST_PG, on PostgreSQL, where writers of
different rooms really run at once."""
import threading

import pytest

from conftest import C, User, q


@pytest.fixture
def user(stack, uniq):
    return lambda: User.register(stack, uniq("st"))


# -- the events stream ---------------------------------------------------------

WRITERS = 4
SENDS = 100


def writing(user):
    """A reader, WRITERS rooms it shares with one writer each, and a
    function that starts the writers sending SENDS messages each as fast
    as they can: it returns their threads and {room: [event IDs sent]}."""
    reader = user()
    writers = [user() for _ in range(WRITERS)]
    rooms = []
    for w in writers:
        room = reader.ok("POST", "/createRoom", {"preset": "public_chat"})["room_id"]
        w.ok("POST", "/rooms/%s/join" % q(room), {})
        rooms.append(room)
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

    def start():
        threads = [threading.Thread(target=write, args=(w, r)) for w, r in zip(writers, rooms)]
        for t in threads:
            t.start()
        return threads

    return reader, rooms, start, sent, errors


def check_delivered(rooms, sent, got, errors):
    assert not errors, errors
    for room in rooms:
        assert len(sent[room]) == SENDS
        missing = set(sent[room]) - set(got[room])
        assert not missing, "%d of %d events never delivered" % (len(missing), SENDS)
        assert sorted(got[room]) == sorted(sent[room]), "an event arrived twice"


def test_concurrent_writers_reach_a_syncing_reader_exactly_once(user):
    """Writers in several rooms send as fast as they can while a reader
    loops /sync with since=next_batch: every event arrives, once."""
    reader, rooms, start, sent, errors = writing(user)
    # Big enough that no incremental timeline is ever limited.
    flt = q('{"room":{"timeline":{"limit":500}}}')

    def sync(since, timeout):
        status, body = reader.stack.request(
            "GET", C + "/sync?timeout=%d&filter=%s%s" % (
                timeout, flt, "&since=" + q(since) if since else ""), token=reader.token)
        assert status == 200, body
        return body

    got = {room: [] for room in rooms}

    def collect(body):
        for room, sec in body.get("rooms", {}).get("join", {}).items():
            if room not in got:
                continue
            assert not sec["timeline"].get("limited"), room
            got[room] += [e["event_id"] for e in sec["timeline"]["events"]
                          if e["type"] == "m.room.message"]

    since = sync(None, 0)["next_batch"]
    threads = start()
    try:
        while any(t.is_alive() for t in threads):
            body = sync(since, 1000)
            collect(body)
            since = body["next_batch"]
    finally:
        for t in threads:
            t.join()
    # Whatever was committed by the end shows in one more sync.
    collect(sync(since, 0))
    check_delivered(rooms, sent, got, errors)


def test_concurrent_writers_reach_a_paging_reader_exactly_once(user):
    """The same through /messages: a page backwards from the present
    down to the previous page's start token holds every event between
    them, so consecutive pages miss nothing."""
    reader, rooms, start, sent, errors = writing(user)
    got = {room: [] for room in rooms}
    tokens = {}

    def page(room):
        path = "/rooms/%s/messages?dir=b&limit=1000" % q(room)
        if room in tokens:
            path += "&to=" + q(tokens[room])
        body = reader.ok("GET", path)
        got[room] += [e["event_id"] for e in body["chunk"] if e["type"] == "m.room.message"]
        tokens[room] = body["start"]

    for room in rooms:
        page(room)
    threads = start()
    try:
        while any(t.is_alive() for t in threads):
            for room in rooms:
                page(room)
    finally:
        for t in threads:
            t.join()
    for room in rooms:
        page(room)
    check_delivered(rooms, sent, got, errors)


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


# -- push rule limits ------------------------------------------------------------

# lib/push/push.h: MPUSH_PATTERN_MAX, MPUSH_RULES_MAX, MPUSH_CONDITIONS_MAX.
PATTERN_MAX = 256
RULES_MAX = 500
CONDITIONS_MAX = 16
NOTIFY = ["notify"]


def user_rules(u, kind):
    return [r["rule_id"] for r in u.ok("GET", "/pushrules/global/")[kind]
            if not r["rule_id"].startswith(".")]


def refused(status_body):
    status, body = status_body
    assert status == 400, (status, body)
    assert body["errcode"] == "M_UNKNOWN", body


def test_push_rule_pattern_past_the_limit_is_refused(user):
    u = user()
    # At the limit, in characters: stored.
    u.ok("PUT", "/pushrules/global/content/edge", {"pattern": "\u00e9" * PATTERN_MAX,
                                                     "actions": NOTIFY})
    # One character more; a 120 KB pattern; a condition's pattern.
    refused(u.call("PUT", "/pushrules/global/content/long",
                   {"pattern": "a" * (PATTERN_MAX + 1), "actions": NOTIFY}))
    refused(u.call("PUT", "/pushrules/global/content/huge",
                   {"pattern": "*a" * 60000, "actions": NOTIFY}))
    refused(u.call("PUT", "/pushrules/global/override/cond", {
        "conditions": [{"kind": "event_match", "key": "content.body",
                        "pattern": "x" * (PATTERN_MAX + 1)}], "actions": NOTIFY}))
    assert user_rules(u, "content") == ["edge"]
    assert user_rules(u, "override") == []
    status, _ = u.call("GET", "/pushrules/global/content/long")
    assert status == 404


def test_push_rule_with_too_many_conditions_is_refused(user):
    u = user()
    cond = {"kind": "event_match", "key": "type", "pattern": "m.room.message"}
    u.ok("PUT", "/pushrules/global/underride/ok",
         {"conditions": [cond] * CONDITIONS_MAX, "actions": NOTIFY})
    refused(u.call("PUT", "/pushrules/global/underride/many",
                   {"conditions": [cond] * (CONDITIONS_MAX + 1), "actions": NOTIFY}))
    # Replacing a stored rule is refused alike, and leaves it as it was.
    refused(u.call("PUT", "/pushrules/global/underride/ok",
                   {"conditions": [cond] * (CONDITIONS_MAX + 1), "actions": NOTIFY}))
    assert user_rules(u, "underride") == ["ok"]
    rule = u.ok("GET", "/pushrules/global/underride/ok")
    assert len(rule["conditions"]) == CONDITIONS_MAX


def test_push_rules_past_the_count_are_refused(user):
    u = user()
    for i in range(RULES_MAX):
        kind = ("room", "sender", "content", "override")[i % 4]
        body = {"actions": NOTIFY}
        if kind == "content":
            body["pattern"] = "w%d" % i
        rid = "!r%d:localhost" % i if kind == "room" else "@s%d:localhost" % i \
            if kind == "sender" else "r%d" % i
        u.ok("PUT", "/pushrules/global/%s/%s" % (kind, q(rid)), body)
    refused(u.call("PUT", "/pushrules/global/content/onemore",
                   {"pattern": "x", "actions": NOTIFY}))
    rules = u.ok("GET", "/pushrules/global/")
    assert sum(1 for k in ("override", "content", "room", "sender", "underride")
               for r in rules[k] if not r["rule_id"].startswith(".")) == RULES_MAX
    assert "onemore" not in user_rules(u, "content")
    # A stored rule may still change, and server-default rules too.
    u.ok("PUT", "/pushrules/global/content/r2", {"pattern": "changed", "actions": NOTIFY})
    u.ok("PUT", "/pushrules/global/override/.m.rule.master/enabled", {"enabled": True})
    # One gone makes room for one.
    u.ok("DELETE", "/pushrules/global/content/r2")
    u.ok("PUT", "/pushrules/global/content/onemore", {"pattern": "x", "actions": NOTIFY})


def test_push_rule_id_past_255_bytes_is_refused(user):
    """Rule IDs are capped at 255 bytes (400 M_INVALID_PARAM, as other bad
    IDs): each is stored, in the ruleset every sync's account data
    carries, and read for every event."""
    u = user()
    at = "a" * 255
    u.ok("PUT", "/pushrules/global/override/" + at, {"actions": NOTIFY})
    for kind, rid in (("override", "a" * 256), ("underride", "b" * 5000),
                      ("content", "\u00e9" * 128), ("room", "!" + "r" * 255),
                      ("sender", "@" + "s" * 300 + ":localhost")):
        body = {"actions": NOTIFY, "pattern": "x"} if kind == "content" else {"actions": NOTIFY}
        status, resp = u.call("PUT", "/pushrules/global/%s/%s" % (kind, q(rid)), body)
        assert (status, resp["errcode"]) == (400, "M_INVALID_PARAM"), (kind, resp)
        assert user_rules(u, kind) == ([at] if kind == "override" else [])
        status, _ = u.call("GET", "/pushrules/global/%s/%s" % (kind, q(rid)))
        assert status == 404
