"""/sync as SyTest and Synapse 1.67's clients expect it (issue 10): rooms
new to the client, gapped state deltas, current state in timelines,
presence of the users a sync introduces, lazy members of a gap, room
summaries, the federation event format, ignored users, and /messages
from an initial sync's prev_batch.  One test per behaviour, raw HTTP."""
import json
import os

import pytest

from conftest import q
from test_sync import SyncUser


@pytest.fixture(scope="module")
def people(stack):
    out = {}
    for who in ("alice", "bob", "carol", "dave"):
        out[who] = SyncUser.register(stack, "sc%s%d" % (who, os.getpid()))
    return out


def section(body, room, kind="join"):
    return body["rooms"][kind].get(room)


def members(events):
    return {e["state_key"]: e["content"]["membership"] for e in events
            if e["type"] == "m.room.member"}


def quiet(user, since, filter=None):
    """An incremental sync that leaves the user's presence alone."""
    if filter is not None and not isinstance(filter, str):
        filter = json.dumps(filter)
    status, body = user.get("/sync", since=since, filter=filter, timeout=0,
                            set_presence="offline")
    assert status == 200, body
    return body


def test_new_join_timeline_reaches_back_past_since_and_is_limited(people):
    alice, bob = people["alice"], people["bob"]
    room = alice.create_room()
    alice.send_text(room, "before bob's sync")
    since = bob.sync_ok()["next_batch"]
    alice.send_text(room, "after bob's sync")
    bob.join(room)
    sec = section(bob.sync_ok(since=since, filter={"room": {"timeline": {"limit": 50}}}),
                  room)
    bodies = [e["content"].get("body") for e in sec["timeline"]["events"]]
    # The whole room fits: the history before the token is there, no state
    # is left for the state section, and (as Synapse) a new join is limited.
    assert "before bob's sync" in bodies and "after bob's sync" in bodies
    assert sec["timeline"]["events"][0]["type"] == "m.room.create"
    assert sec["state"]["events"] == []
    assert sec["timeline"]["limited"] is True


def test_presence_of_members_a_join_introduces(people):
    alice, bob = people["alice"], people["bob"]
    room = alice.create_room()
    alice.sync_ok()
    bob_since = bob.sync_ok()["next_batch"]
    alice_since = quiet(alice, None)["next_batch"]
    bob.join(room)
    # Bob learns Alice's presence, and Alice Bob's, though neither moved.
    senders = {e["sender"] for e in quiet(bob, bob_since)["presence"]["events"]}
    assert alice.user_id in senders
    body = quiet(alice, alice_since)
    assert bob.user_id in {e["sender"] for e in body["presence"]["events"]}
    again = quiet(alice, body["next_batch"])
    assert bob.user_id not in {e["sender"] for e in again["presence"]["events"]}


def test_gapped_sync_sends_only_state_that_changed(people):
    alice = people["alice"]
    room = alice.create_room()
    flt = {"room": {"timeline": {"types": ["x.filler"], "limit": 1},
                    "state": {"types": ["x.state"]}}}
    alice.put_state(room, "x.state", {"v": 1}, key="changes")
    alice.put_state(room, "x.state", {"v": 1}, key="stays")
    body = alice.sync_ok(filter=flt)
    assert len(section(body, room)["state"]["events"]) == 2
    alice.put_state(room, "x.state", {"v": 2}, key="changes")
    for i in range(5):
        alice.send_ok(room, {"i": i}, etype="x.filler")
    sec = section(alice.sync_ok(since=body["next_batch"], filter=flt), room)
    assert sec["timeline"]["limited"] is True
    assert [(e["state_key"], e["content"]["v"]) for e in sec["state"]["events"]] == \
        [("changes", 2)]


def test_join_and_leave_in_one_batch_brings_the_full_state(people):
    alice, bob = people["alice"], people["bob"]
    room = alice.create_room()
    alice.put_state(room, "x.state", {"v": 1})
    flt = {"room": {"timeline": {"types": []}, "state": {"types": ["x.state"]},
                    "include_leave": True}}
    since = bob.sync_ok(filter=flt)["next_batch"]
    bob.join(room)
    bob.room_post(room, "leave")
    sec = section(bob.sync_ok(since=since, filter=flt), room, "leave")
    assert [e["content"] for e in sec["state"]["events"]] == [{"v": 1}]


def test_current_state_shows_in_timeline_when_history_hid_it(people):
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    room = alice.create_room()
    bob.join(room)
    alice.put_state(room, "m.room.history_visibility", {"history_visibility": "joined"})
    since = bob.sync_ok()["next_batch"]
    bob.room_post(room, "leave")
    carol.join(room)
    bob.join(room)
    sec = section(bob.sync_ok(since=since), room)
    assert members(sec["timeline"]["events"]).get(carol.user_id) == "join"


def test_gapped_lazy_sync_brings_members_of_the_gap(people):
    alice, bob, carol, dave = (people[w] for w in ("alice", "bob", "carol", "dave"))
    room = alice.create_room(name="lazy gap")
    flt = {"room": {"state": {"lazy_load_members": True}, "timeline": {"limit": 3}}}
    bob.join(room)
    carol.join(room)
    for i in range(3):
        bob.send_text(room, "bob %d" % i)
    body = alice.sync_ok(filter=flt)
    assert set(members(section(body, room)["state"]["events"])) == \
        {alice.user_id, bob.user_id}
    dave.join(room)
    for i in range(3):
        carol.send_text(room, "carol %d" % i)
    sec = section(alice.sync_ok(since=body["next_batch"], filter=flt), room)
    # Carol for her messages, Dave for his join in the gap; nobody else.
    assert members(sec["state"]["events"]) == {carol.user_id: "join", dave.user_id: "join"}


def test_heroes_only_for_rooms_without_a_name(people):
    alice, bob = people["alice"], people["bob"]
    named = alice.create_room(name="has a name")
    unnamed = alice.create_room()
    bob.join(named)
    bob.join(unnamed)
    body = alice.sync_ok()
    assert section(body, named)["summary"] == {
        "m.joined_member_count": 2, "m.invited_member_count": 0}
    assert section(body, unnamed)["summary"]["m.heroes"] == [bob.user_id]


def test_event_format_federation_sends_pdus(people):
    alice = people["alice"]
    room = alice.create_room()
    eid = alice.send_text(room, "as a PDU")
    flt = {"event_format": "federation", "room": {"timeline": {"limit": 1}}}
    ev = section(alice.sync_ok(filter=flt), room)["timeline"]["events"][0]
    for k in ("event_id", "room_id", "sender", "origin_server_ts", "type",
              "prev_events", "auth_events", "depth", "hashes", "signatures"):
        assert k in ev, k
    assert ev["event_id"] == eid and ev["content"]["body"] == "as a PDU"


def test_ignored_users_messages_and_invites_stay_out_of_sync(people):
    alice, bob = people["alice"], people["bob"]
    room = alice.create_room()
    bob.join(room)
    invite_room = bob.create_room()
    since = alice.sync_ok()["next_batch"]
    bob.room_post(invite_room, "invite", alice.user_id)
    alice.ok("PUT", "/user/%s/account_data/m.ignored_user_list" % q(alice.user_id),
             {"ignored_users": {bob.user_id: {}}})
    bob.send_text(room, "from bob")
    alice.send_text(room, "from alice")
    for body in (alice.sync_ok(since=since), alice.sync_ok()):
        assert invite_room not in body["rooms"]["invite"]
        texts = [e["content"].get("body") for e in section(body, room)["timeline"]["events"]
                 if e["type"] == "m.room.message"]
        assert "from alice" in texts and "from bob" not in texts
    # And /messages as well (spec: "Ignoring Users").
    chunk = alice.timeline(room)
    texts = [e["content"].get("body") for e in chunk if e["type"] == "m.room.message"]
    assert "from alice" in texts and "from bob" not in texts
    assert bob.user_id in members(chunk)


def test_messages_from_an_initial_syncs_prev_batch(people):
    alice = people["alice"]
    room = alice.create_room()
    alice.send_text(room, "page me")
    sec = section(alice.sync_ok(filter={"room": {"timeline": {"limit": 50}}}), room)
    assert sec["timeline"]["limited"] is False
    status, page = alice.get("/rooms/%s/messages" % q(room), dir="b",
                             **{"from": sec["timeline"]["prev_batch"]})
    assert status == 200, page
    # As Synapse: a timeline holding the whole room pages from the end.
    assert "end" in page and page["chunk"]
    status, last = alice.get("/rooms/%s/messages" % q(room), dir="b",
                             **{"from": page["end"]})
    assert status == 200 and "end" not in last
