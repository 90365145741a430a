"""/sync that costs what changed (issue 14): an incremental sync reads the
rooms that changed since its token, an initial sync reads each room's
timeline window on its own.  What a client depends on either way: a room
whose only news is a receipt, a tag or typing still appears; so do
invites and leaves; a room with nothing new does not; the summary of a
room whose members, name or alias moved counts its members now, and one
where only messages came is empty (spec: fields that have not changed
"may be omitted"; Synapse sends {} too); an initial sync's timelines are each
room's newest events, a left room's ending at the leave."""
import json
import os
import subprocess
import time

import pytest

from conftest import C, User, own_pg_database, q, start_stack, stop_stack

NROOMS = 30


@pytest.fixture(scope="module")
def world(stack):
    """alice in NROOMS rooms, bob in the first 5 of them."""
    tag = os.getpid()
    alice = User.register(stack, "scalea%d" % tag)
    bob = User.register(stack, "scaleb%d" % tag)
    rooms = []
    for i in range(NROOMS):
        room = alice.create_room(preset="public_chat")
        alice.send_text(room, "hello %d" % i)
        if i < 5:
            bob.join(room)
        rooms.append(room)
    return alice, bob, rooms


def sync(user, since=None, **params):
    if "filter" in params:
        params["filter"] = json.dumps(params["filter"])
    status, body = user.sync(since=since, timeout="0", **params)
    assert status == 200, (status, body)
    return body


def joined(body):
    return body["rooms"]["join"]


def test_incremental_holds_the_changed_room_alone(world):
    alice, bob, rooms = world
    since = sync(alice)["next_batch"]
    bob.send_text(rooms[3], "only here")
    body = sync(alice, since)
    assert list(joined(body)) == [rooms[3]]
    sec = joined(body)[rooms[3]]
    assert [e["content"]["body"] for e in sec["timeline"]["events"]] == ["only here"]
    # Only a message: no member, name or alias moved, so no summary to send.
    assert sec["summary"] == {}
    assert sec["unread_notifications"]["notification_count"] >= 0
    # Nothing since: no room at all.
    assert joined(sync(alice, body["next_batch"])) == {}


def test_summary_counts_a_member_who_joined(world, stack):
    alice, _, rooms = world
    carol = User.register(stack, "scalec%d" % os.getpid())
    since = sync(alice)["next_batch"]
    carol.join(rooms[20])
    sec = joined(sync(alice, since))[rooms[20]]
    assert sec["summary"]["m.joined_member_count"] == 2
    assert carol.user_id in sec["summary"].get("m.heroes", [])
    assert any(e["type"] == "m.room.member" and e["state_key"] == carol.user_id
               for e in sec["timeline"]["events"])


def test_summary_follows_a_name_taken_away_and_a_redaction(world):
    """An incremental sync whose news is a room's name emptied, or its
    name event redacted, brings the summary again: the room lost its
    name, so m.heroes names it now (the members did not move)."""
    alice, bob, rooms = world
    for i, how in ((2, "emptied"), (4, "redacted")):
        room = rooms[i]
        ev = alice.ok("PUT", "/rooms/%s/state/m.room.name" % q(room), {"name": "n%d" % i})
        since = sync(alice)["next_batch"]
        if how == "emptied":
            alice.ok("PUT", "/rooms/%s/state/m.room.name" % q(room), {"name": ""})
        else:
            alice.ok("PUT", "/rooms/%s/redact/%s/r%d" % (q(room), q(ev["event_id"]),
                                                        os.getpid()), {})
        summary = joined(sync(alice, since))[room]["summary"]
        assert summary["m.joined_member_count"] == 2, how
        assert summary["m.heroes"] == [bob.user_id], how
        # A message after it: the summary has not moved again.
        since = sync(alice)["next_batch"]
        alice.send_text(room, "after")
        assert joined(sync(alice, since))[room]["summary"] == {}, how


def test_receipt_only_room_appears(world):
    alice, bob, rooms = world
    eid = alice.send_text(rooms[1], "read me")
    since = sync(alice)["next_batch"]
    bob.ok("POST", "/rooms/%s/receipt/m.read/%s" % (q(rooms[1]), q(eid)), {})
    body = sync(alice, since)
    assert list(joined(body)) == [rooms[1]]
    eph = joined(body)[rooms[1]]["ephemeral"]["events"]
    assert eph and eph[0]["type"] == "m.receipt"
    assert bob.user_id in eph[0]["content"][eid]["m.read"]
    assert joined(body)[rooms[1]]["timeline"]["events"] == []


def test_tag_only_room_appears(world):
    alice, _, rooms = world
    since = sync(alice)["next_batch"]
    alice.ok("PUT", "/user/%s/rooms/%s/tags/m.favourite" % (q(alice.user_id), q(rooms[25])),
             {"order": 0.5})
    body = sync(alice, since)
    assert list(joined(body)) == [rooms[25]]
    ad = joined(body)[rooms[25]]["account_data"]["events"]
    assert [e["type"] for e in ad] == ["m.tag"]
    assert "m.favourite" in ad[0]["content"]["tags"]


def test_typing_only_room_appears(world):
    alice, bob, rooms = world
    since = sync(alice)["next_batch"]
    bob.ok("PUT", "/rooms/%s/typing/%s" % (q(rooms[2]), q(bob.user_id)),
           {"typing": True, "timeout": 30000})
    body = sync(alice, since)
    assert list(joined(body)) == [rooms[2]]
    eph = joined(body)[rooms[2]]["ephemeral"]["events"]
    assert {"type": "m.typing", "content": {"user_ids": [bob.user_id]}} in eph
    bob.ok("PUT", "/rooms/%s/typing/%s" % (q(rooms[2]), q(bob.user_id)), {"typing": False})


def test_invite_and_leave_appear(world):
    alice, bob, rooms = world
    since = sync(alice)["next_batch"]
    other = bob.create_room(preset="private_chat")
    bob.ok("POST", "/rooms/%s/invite" % q(other), {"user_id": alice.user_id})
    alice.ok("POST", "/rooms/%s/leave" % q(rooms[10]), {})
    body = sync(alice, since)
    assert list(body["rooms"]["invite"]) == [other]
    assert list(body["rooms"]["leave"]) == [rooms[10]]
    assert rooms[10] not in joined(body)
    tl = body["rooms"]["leave"][rooms[10]]["timeline"]["events"]
    assert tl[-1]["type"] == "m.room.member" and tl[-1]["content"]["membership"] == "leave"
    # The invite and the leave are news once.
    later = sync(alice, body["next_batch"])
    assert later["rooms"]["invite"] == {} and later["rooms"]["leave"] == {}
    alice.ok("POST", "/rooms/%s/leave" % q(other), {})


def test_initial_timelines_are_each_rooms_newest(world):
    alice, bob, rooms = world
    for i in range(15):
        bob.send_text(rooms[4], "m%d" % i)
    body = sync(alice)
    assert len(joined(body)) >= NROOMS - 1
    tl = joined(body)[rooms[4]]["timeline"]
    assert tl["limited"] is True
    assert [e["content"]["body"] for e in tl["events"]] == ["m%d" % i for i in range(5, 15)]
    # A room with fewer events than the limit: all of them, from its create.
    small = joined(body)[rooms[29]]["timeline"]
    assert small["events"][0]["type"] == "m.room.create"
    assert small["events"][-1]["content"]["body"] == "hello 29"
    # A filter's limit bounds each window.
    body = sync(alice, filter={"room": {"timeline": {"limit": 2}}})
    for room in (rooms[4], rooms[29]):
        assert len(joined(body)[room]["timeline"]["events"]) == 2
    assert [e["content"]["body"] for e in joined(body)[rooms[4]]["timeline"]["events"]] == \
        ["m13", "m14"]


def test_initial_left_room_ends_at_the_leave(world):
    alice, bob, rooms = world
    room = rooms[0]
    # Enough that bob's join is before the window: the section's state holds it.
    for i in range(12):
        alice.send_text(room, "filler %d" % i)
    alice.send_text(room, "before leaving")
    alice.ok("POST", "/rooms/%s/leave" % q(room), {})
    for i in range(3):
        bob.send_text(room, "after %d" % i)
    # State changed after the leave: the room's current state is not the
    # state at the leave, which is what the section ends with.
    bob.ok("PUT", "/rooms/%s/state/m.room.member/%s" % (q(room), q(bob.user_id)),
           {"membership": "join", "displayname": "after the leave"})
    body = sync(alice, filter={"room": {"include_leave": True}})
    sec = body["rooms"]["leave"][room]
    tl = sec["timeline"]["events"]
    assert tl[-1]["type"] == "m.room.member" and tl[-1]["state_key"] == alice.user_id
    assert "before leaving" in [e["content"].get("body") for e in tl]
    assert not any(e["content"].get("body", "").startswith("after") for e in tl)
    members = {e["state_key"]: e["content"] for e in sec["state"]["events"] + tl
               if e["type"] == "m.room.member"}
    assert members[alice.user_id]["membership"] == "leave"
    assert members[bob.user_id]["membership"] == "join"
    assert members[bob.user_id].get("displayname") != "after the leave"


def test_initial_state_sections_and_names(world):
    """An initial sync reads every room's state and name ahead in one
    query each: each room still gets the state at its timeline's start,
    and heroes only when it has neither a name nor an alias."""
    alice, bob, _ = world
    # State all before the window: the whole current state in "state".
    quiet = alice.create_room(preset="public_chat", name="quiet")
    bob.join(quiet)
    for i in range(12):
        alice.send_text(quiet, "q%d" % i)
    # A topic changed inside the window: the old one in "state", the new in the timeline.
    moved = alice.create_room(preset="public_chat")
    alice.ok("PUT", "/rooms/%s/state/m.room.topic" % q(moved), {"topic": "old"})
    for i in range(10):
        alice.send_text(moved, "a%d" % i)
    alice.ok("PUT", "/rooms/%s/state/m.room.topic" % q(moved), {"topic": "new"})
    alice.send_text(moved, "after")
    # A name emptied, and a name redacted: no name, so heroes.
    emptied = alice.create_room(preset="public_chat", name="x")
    alice.ok("PUT", "/rooms/%s/state/m.room.name" % q(emptied), {"name": ""})
    redacted = alice.create_room(preset="public_chat", name="y")
    ev = alice.ok("PUT", "/rooms/%s/state/m.room.name" % q(redacted), {"name": "z"})
    alice.ok("PUT", "/rooms/%s/redact/%s/t%d" % (q(redacted), q(ev["event_id"]),
                                                  os.getpid()), {})
    for room in (emptied, redacted):
        bob.join(room)
    body = sync(alice)
    sec = joined(body)[quiet]
    current = alice.ok("GET", "/rooms/%s/state" % q(quiet))
    assert sorted(e["event_id"] for e in sec["state"]["events"]) == \
        sorted(e["event_id"] for e in current)
    assert "m.heroes" not in sec["summary"]
    sec = joined(body)[moved]
    topics = [e["content"]["topic"] for e in sec["state"]["events"]
              if e["type"] == "m.room.topic"]
    assert topics == ["old"]
    assert [e["content"]["topic"] for e in sec["timeline"]["events"]
            if e["type"] == "m.room.topic"] == ["new"]
    for room in (emptied, redacted):
        assert joined(body)[room]["summary"]["m.heroes"] == [bob.user_id]


def test_a_forgotten_room_stays_out_of_sync(world):
    """A room the user left and forgot appears in no section, however
    much happens in it after (spec: POST /forget), on an incremental
    sync and on an initial one with include_leave."""
    alice, bob, rooms = world
    room = rooms[1]
    # Forgotten twice, at two leaves: each forgetting is kept.
    for _ in range(2):
        bob.ok("POST", "/rooms/%s/leave" % q(room), {})
        bob.ok("POST", "/rooms/%s/forget" % q(room), {})
        if _ == 0:
            bob.join(room)
    leave = {"room": {"include_leave": True}}
    since = sync(bob, filter=leave)["next_batch"]
    alice.send_text(room, "after the forgetting")
    alice.ok("PUT", "/rooms/%s/state/m.room.topic" % q(room), {"topic": "moved on"})
    for body in (sync(bob, since, filter=leave), sync(bob, filter=leave),
                 sync(bob, since, filter=leave, full_state="true")):
        assert room not in body["rooms"].get("join", {})
        assert room not in body["rooms"].get("leave", {})
    # Still in the other rooms alice shares with bob.
    assert rooms[2] in joined(sync(bob))


# The planner's view of a database whose tables have never been
# analysed: what a new server, or one that has just made many rooms, has
# until autovacuum comes round.
FORGET_STATISTICS = """
DO $$ DECLARE t text; BEGIN
FOR t IN SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace
    AND relkind = 'r' LOOP
  EXECUTE format('ALTER TABLE %I SET (autovacuum_enabled = false)', t);
END LOOP; END $$;
UPDATE pg_class SET reltuples = -1, relpages = 0
    WHERE relnamespace = 'public'::regnamespace AND relkind = 'r';
UPDATE pg_class SET reltuples = 0, relpages = 1
    WHERE relnamespace = 'public'::regnamespace AND relkind = 'i';
DELETE FROM pg_statistic WHERE starelid IN
    (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace);
"""


def events_rows_read(conninfo):
    """Rows of events read so far (index fetches and scans), once the
    backends' counters have settled: an idle backend flushes its counts
    within ten seconds (PostgreSQL's PGSTAT_IDLE_INTERVAL), so the same
    figure twelve seconds apart is final."""
    def read():
        out = subprocess.run(
            ["psql", "-qtAX", conninfo, "-c",
             "SELECT COALESCE(idx_tup_fetch, 0) + seq_tup_read FROM pg_stat_user_tables"
             " WHERE relname = 'events'"],
            capture_output=True, text=True, timeout=60, check=True)
        return int(out.stdout.strip())
    last, deadline = read(), time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(12)
        now = read()
        if now == last:
            return now
        last = now
    raise AssertionError("events' row counters did not settle")


@pytest.mark.backend("postgres")
def test_initial_sync_reads_each_rooms_window_without_statistics():
    """On tables never analysed, an initial /sync reads each room's
    window from the index, not every room's events for each room: the
    plan that did took 5.3-5.9 s at 1,000 rooms.  Counted in rows of
    events read, which grow with rooms x events on that plan."""
    conninfo = own_pg_database("nostats")
    s = start_stack(pg=conninfo)
    try:
        alice = User.register(s, "nostats%d" % os.getpid())
        rooms = []
        for i in range(40):
            room = alice.create_room(preset="private_chat")
            alice.send_text(room, "hello %d" % i)
            rooms.append(room)
        subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", conninfo],
                       input=FORGET_STATISTICS, text=True, capture_output=True,
                       timeout=60, check=True)
        before = events_rows_read(conninfo)
        body = sync(alice)
        read = events_rows_read(conninfo) - before
        got = joined(body)
        assert sorted(got) == sorted(rooms)
        for room in rooms:
            texts = [e["content"].get("body") for e in got[room]["timeline"]["events"]]
            assert texts[-1] == "hello %d" % rooms.index(room)
        # 40 rooms of 7 events: each room's window (8 rows) and a few
        # lookups a room come to some hundreds; every room's events for
        # each room, to 40 x 280.
        assert read < 3000, read
    finally:
        stop_stack(s)


def test_a_room_left_and_forgotten_since_the_token_stays_out(world):
    """A room with news since the token that the user then left and
    forgot appears in no section of the incremental sync (spec: POST
    /forget), neither as a join nor as a leave."""
    alice, bob, rooms = world
    room = rooms[3]
    leave = {"room": {"include_leave": True}}
    since = sync(bob, filter=leave)["next_batch"]
    alice.send_text(room, "before bob goes")
    bob.ok("POST", "/rooms/%s/leave" % q(room), {})
    bob.ok("POST", "/rooms/%s/forget" % q(room), {})
    for body in (sync(bob, since), sync(bob, since, filter=leave)):
        assert room not in body["rooms"].get("join", {})
        assert room not in body["rooms"].get("leave", {})
