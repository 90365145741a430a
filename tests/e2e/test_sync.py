"""/sync end to end (issue 4): initial and incremental syncs through
matrix-nio, invites with stripped state, joins, leaves, kicks and bans,
long-polls woken by another user's send, limited timelines backfilled with
/messages, filters (stored and inline), lazy-loaded members, full_state,
and tokens that outlive a restart.  Raw HTTP for the edges a client
library does not reach.

The users are registered once for the module (password hashing is the
slow part); every test makes rooms of its own."""
import asyncio
import json
import os
import subprocess
import time

import nio
import pytest

from conftest import C, STACK, User, nio_run, q, start_stack, stop_stack

class SyncUser(User):
    """A user whose rooms are public by default, with raw syncs and nio
    clients."""

    def create_room(self, **body):
        body.setdefault("preset", "public_chat")
        return super().create_room(**body)

    def sync(self, since=None, filter=None, full_state=None, timeout=0):
        """Raw GET /sync: (status, body).  filter: an ID or a dict."""
        if filter is not None and not isinstance(filter, str):
            filter = json.dumps(filter)
        if full_state is not None:
            full_state = "true" if full_state else "false"
        return super().sync(since=since, filter=filter, full_state=full_state,
                            timeout=str(timeout))

    def sync_ok(self, **kw):
        status, body = self.sync(**kw)
        assert status == 200, (status, body)
        return body

    def nio(self, fn):
        """Runs fn(client) with a nio client logged in as this user's device."""
        async def go(client):
            client.restore_login(self.user_id, self.device_id, self.token)
            return await fn(client)
        return nio_run(self.stack, go, user=self.user_id, device_id=self.device_id)


@pytest.fixture(scope="module")
def people(stack):
    out = {}
    for who in ("alice", "bob", "carol", "dave"):
        out[who] = SyncUser.register(stack, "sy%s%d" % (who, os.getpid()))
    return out


def bodies(events):
    """The bodies of the m.room.message events among nio events."""
    return [e.body for e in events if isinstance(e, nio.RoomMessageText)]


def types_of(events):
    """Event types of nio events (a v11+ create event, without "creator",
    is a BadEvent to nio 0.20)."""
    return {e.source["type"] for e in events}


def raw_bodies(events):
    return [e["content"].get("body") for e in events if e["type"] == "m.room.message"]


def members_of(events):
    """{state_key: membership} of the m.room.member events of raw events."""
    return {e["state_key"]: e["content"]["membership"] for e in events
            if e["type"] == "m.room.member"}


def room_of(body, section, room_id):
    return body["rooms"][section].get(room_id)


# -- initial and incremental ---------------------------------------------------

def test_initial_sync_shows_joined_rooms_with_state_and_timeline(people):
    alice = people["alice"]
    room = alice.create_room(name="Initial sync room", topic="about things")
    for i in range(3):
        alice.send_text(room, "hello %d" % i)

    async def go(client):
        resp = await client.sync(timeout=0, full_state=False)
        assert isinstance(resp, nio.SyncResponse), resp
        info = resp.rooms.join[room]
        assert bodies(info.timeline.events) == ["hello 0", "hello 1", "hello 2"]
        types = types_of(info.state + info.timeline.events)
        assert "m.room.create" in types and "m.room.name" in types
        assert info.timeline.prev_batch
        assert info.summary.joined_member_count == 1
        # nio built the room from state and timeline.
        assert client.rooms[room].name == "Initial sync room"
        assert client.rooms[room].topic == "about things"
        return resp.next_batch
    assert alice.nio(go)


def test_incremental_sync_delivers_new_messages_once(people):
    alice, bob = people["alice"], people["bob"]
    room = alice.create_room()
    bob.room_post(room, "join")

    async def go(client):
        first = await client.sync(timeout=0)
        assert room in first.rooms.join
        alice.send_text(room, "news for bob")
        second = await client.sync(timeout=0)
        info = second.rooms.join[room]
        assert bodies(info.timeline.events) == ["news for bob"]
        assert not info.timeline.limited
        # Nothing new: the room does not come again.
        third = await client.sync(timeout=0)
        assert room not in third.rooms.join
        assert third.next_batch
    bob.nio(go)


def test_invite_join_and_leave_through_incremental_sync(people):
    alice, carol = people["alice"], people["carol"]

    async def go(client):
        await client.sync(timeout=0)
        room = alice.create_room(name="Invitation", preset="private_chat")
        alice.room_post(room, "invite", carol.user_id)

        resp = await client.sync(timeout=0)
        assert room in resp.rooms.invite
        state = resp.rooms.invite[room].invite_state
        names = [e.name for e in state if isinstance(e, nio.InviteNameEvent)]
        assert names == ["Invitation"]
        mine = [e for e in state if isinstance(e, nio.InviteMemberEvent) and
                e.state_key == carol.user_id]
        assert mine and mine[0].membership == "invite"
        assert any(isinstance(e, nio.InviteMemberEvent) for e in state)
        assert room in client.invited_rooms

        carol.room_post(room, "join")
        resp = await client.sync(timeout=0)
        assert room in resp.rooms.join and room not in resp.rooms.invite
        info = resp.rooms.join[room]
        # A new join carries the room's state: its name, its creator.
        everything = info.state + info.timeline.events
        assert any(isinstance(e, nio.RoomNameEvent) and e.name == "Invitation"
                   for e in everything)
        assert client.rooms[room].name == "Invitation"

        carol.room_post(room, "leave")
        resp = await client.sync(timeout=0)
        assert room in resp.rooms.leave and room not in resp.rooms.join
        last = resp.rooms.leave[room].timeline.events[-1]
        assert isinstance(last, nio.RoomMemberEvent)
        assert last.state_key == carol.user_id and last.membership == "leave"

        # What happens after the leave is not carol's to see.
        alice.send_text(room, "said after carol left")
        resp = await client.sync(timeout=0)
        assert room not in resp.rooms.join and room not in resp.rooms.leave
    carol.nio(go)


def test_kick_and_ban_appear_in_leave_section(people):
    alice, dave = people["alice"], people["dave"]
    room = alice.create_room()
    dave.room_post(room, "join")
    tok = dave.sync_ok()["next_batch"]

    alice.send_text(room, "before the kick")
    alice.room_post(room, "kick", dave.user_id)
    body = dave.sync_ok(since=tok)
    left = room_of(body, "leave", room)
    assert left is not None and room not in body["rooms"]["join"]
    events = left["timeline"]["events"]
    assert raw_bodies(events) == ["before the kick"]
    assert events[-1]["type"] == "m.room.member"
    assert events[-1]["state_key"] == dave.user_id
    assert events[-1]["content"]["membership"] == "leave"
    assert events[-1]["sender"] == alice.user_id

    dave.room_post(room, "join")
    tok = dave.sync_ok(since=body["next_batch"])["next_batch"]
    alice.room_post(room, "ban", dave.user_id)
    body = dave.sync_ok(since=tok)
    events = room_of(body, "leave", room)["timeline"]["events"]
    assert events[-1]["content"]["membership"] == "ban"

    # A room the user was banned from stays in initial syncs (as Synapse).
    assert room_of(dave.sync_ok(), "leave", room) is not None


def test_include_leave_on_initial_sync(people):
    alice, bob = people["alice"], people["bob"]
    room = alice.create_room()
    bob.room_post(room, "join")
    bob.send_text(room, "bye")
    bob.room_post(room, "leave")

    assert room_of(bob.sync_ok(), "leave", room) is None
    body = bob.sync_ok(filter={"room": {"include_leave": True}})
    left = room_of(body, "leave", room)
    assert left is not None
    events = left["timeline"]["events"]
    assert raw_bodies(events) == ["bye"]
    assert members_of(events[-1:]) == {bob.user_id: "leave"}


def test_rejected_invite_shows_only_the_leave(people):
    alice, bob = people["alice"], people["bob"]
    room = alice.create_room(preset="private_chat")
    tok = bob.sync_ok()["next_batch"]
    alice.send_text(room, "secret before the invite")
    alice.room_post(room, "invite", bob.user_id)
    bob.room_post(room, "leave")
    left = room_of(bob.sync_ok(since=tok), "leave", room)
    assert left is not None
    assert raw_bodies(left["timeline"]["events"]) == []
    assert members_of(left["timeline"]["events"]) == {bob.user_id: "leave"}
    assert left["state"]["events"] == []


# -- long-polls ----------------------------------------------------------------

def test_waiting_long_poll_returns_soon_after_a_send(people):
    alice, bob = people["alice"], people["bob"]
    room = alice.create_room()
    bob.room_post(room, "join")

    async def go(client):
        await client.sync(timeout=0)
        start = time.monotonic()
        poll = asyncio.ensure_future(client.sync(timeout=20000))
        await asyncio.sleep(1.0)
        # Still waiting: nothing has happened yet.
        assert not poll.done()
        sent = time.monotonic()
        await asyncio.get_running_loop().run_in_executor(
            None, alice.send_text, room, "wake up")
        resp = await asyncio.wait_for(poll, 30)
        returned = time.monotonic()
        assert bodies(resp.rooms.join[room].timeline.events) == ["wake up"]
        # Correctness, not speed: well before the 20 s timeout.
        assert returned - sent < 5.0, returned - sent
        assert returned - start < 15.0
    bob.nio(go)


# -- limited timelines ---------------------------------------------------------

def test_limited_timeline_backfills_with_messages(people):
    alice, bob = people["alice"], people["bob"]
    room = alice.create_room()
    bob.room_post(room, "join")
    sent = ["m%02d" % i for i in range(15)]

    async def go(client):
        await client.sync(timeout=0)
        for b in sent:
            alice.send_text(room, b)
        resp = await client.sync(timeout=0, sync_filter={"room": {"timeline": {"limit": 5}}})
        tl = resp.rooms.join[room].timeline
        assert bodies(tl.events) == sent[-5:]
        assert tl.limited and tl.prev_batch
        page = await client.room_messages(room, tl.prev_batch, limit=10)
        assert isinstance(page, nio.RoomMessagesResponse), page
        assert bodies(page.chunk) == list(reversed(sent[:10]))
        more = await client.room_messages(room, page.end, limit=50)
        assert "m00" not in bodies(more.chunk)
    bob.nio(go)


def test_unlimited_timeline_is_not_limited(people):
    alice = people["alice"]
    room = alice.create_room()
    tok = alice.sync_ok()["next_batch"]
    alice.send_text(room, "one")
    sec = room_of(alice.sync_ok(since=tok), "join", room)
    assert sec["timeline"]["limited"] is False
    assert raw_bodies(sec["timeline"]["events"]) == ["one"]
    assert sec["state"]["events"] == []


# -- filters -------------------------------------------------------------------

def test_filter_upload_and_download(people):
    alice, bob = people["alice"], people["bob"]
    definition = {"room": {"timeline": {"limit": 3, "types": ["m.room.message"]},
                           "state": {"lazy_load_members": True}},
                  "presence": {"not_types": ["*"]}}

    async def go(client):
        resp = await client.upload_filter(room=definition["room"],
                                          presence=definition["presence"])
        assert isinstance(resp, nio.UploadFilterResponse), resp
        return resp.filter_id
    fid = alice.nio(go)
    assert isinstance(fid, str) and not fid.startswith("{")

    got = alice.ok("GET", "/user/%s/filter/%s" % (q(alice.user_id), q(fid)))
    assert got["room"] == definition["room"]
    assert got["presence"] == definition["presence"]
    # The same definition again: the same ID.
    again = alice.ok("POST", "/user/%s/filter" % q(alice.user_id), got)
    assert again["filter_id"] == fid
    other = alice.ok("POST", "/user/%s/filter" % q(alice.user_id), {"room": {}})
    assert other["filter_id"] != fid

    status, err = bob.call("GET", "/user/%s/filter/%s" % (q(alice.user_id), q(fid)))
    assert status == 403 and err["errcode"] == "M_FORBIDDEN"
    status, err = bob.call("POST", "/user/%s/filter" % q(alice.user_id), {})
    assert status == 403 and err["errcode"] == "M_FORBIDDEN"
    for unknown in ("999999", "nope", "01"):
        status, err = alice.call("GET", "/user/%s/filter/%s" % (q(alice.user_id), unknown))
        assert status == 404 and err["errcode"] == "M_NOT_FOUND", unknown


@pytest.mark.parametrize("bad", [
    {"room": {"timeline": {"limit": "ten"}}},
    {"room": {"rooms": "!notalist:x"}},
    {"room": {"not_rooms": ["#alias:x"]}},
    {"room": {"state": {"lazy_load_members": "yes"}}},
    {"room": {"include_leave": 1}},
    {"presence": {"senders": ["not-a-user-id"]}},
    {"account_data": {"types": [1, 2]}},
    {"event_format": "xml"},
    {"event_fields": "content.body"},
    {"room": []},
])
def test_filter_of_the_wrong_shape_is_refused(people, bad):
    alice = people["alice"]
    status, err = alice.call("POST", "/user/%s/filter" % q(alice.user_id), bad)
    assert status == 400 and err["errcode"] == "M_BAD_JSON", (bad, err)
    status, err = alice.sync(filter=bad)
    assert status == 400 and err["errcode"] == "M_BAD_JSON", (bad, err)


def test_filter_bodies_that_are_not_json_objects(people):
    alice = people["alice"]
    status, err = alice.stack.request("POST", C + "/user/%s/filter" % q(alice.user_id),
                                  raw=b"{not json", token=alice.token)
    assert status == 400 and err["errcode"] == "M_NOT_JSON"
    status, err = alice.call("POST", "/user/%s/filter" % q(alice.user_id), [1])
    assert status == 400 and err["errcode"] == "M_BAD_JSON"
    status, err = alice.sync(filter="{not json")
    assert status == 400 and err["errcode"] == "M_NOT_JSON"
    # An ID nobody stored (Synapse: M_INVALID_PARAM, not M_NOT_FOUND).
    status, err = alice.sync(filter="424242")
    assert status == 400 and err["errcode"] == "M_INVALID_PARAM"


def filtered_rooms(people):
    """Two rooms with messages from alice and carol and a custom event."""
    alice, carol = people["alice"], people["carol"]
    keep, other = alice.create_room(), alice.create_room()
    for r in (keep, other):
        carol.room_post(r, "join")
        alice.send_text(r, "from alice")
        carol.send_text(r, "from carol")
        alice.send_ok(r, {"x": 1}, "org.example.custom")
    return keep, other


def check_filtered(body, people, keep, other):
    assert other not in body["rooms"]["join"]
    tl = body["rooms"]["join"][keep]["timeline"]["events"]
    assert [e["type"] for e in tl] == ["m.room.message"]
    assert raw_bodies(tl) == ["from alice"]


FILTER = {"room": {"timeline": {"types": ["m.room.message"], "limit": 5}}}


def test_sync_with_a_stored_filter(people):
    alice, carol = people["alice"], people["carol"]
    keep, other = filtered_rooms(people)
    definition = dict(FILTER, room=dict(FILTER["room"], rooms=[keep]))
    definition["room"]["timeline"] = dict(definition["room"]["timeline"],
                                          not_senders=[carol.user_id])

    async def go(client):
        up = await client.upload_filter(room=definition["room"])
        resp = await client.sync(timeout=0, sync_filter=up.filter_id)
        assert isinstance(resp, nio.SyncResponse), resp
        assert other not in resp.rooms.join
        assert bodies(resp.rooms.join[keep].timeline.events) == ["from alice"]
        assert all(isinstance(e, nio.RoomMessageText)
                   for e in resp.rooms.join[keep].timeline.events)
        return up.filter_id
    fid = alice.nio(go)
    check_filtered(alice.sync_ok(filter=fid), people, keep, other)


def test_sync_with_an_inline_filter(people):
    alice, carol = people["alice"], people["carol"]
    keep, other = filtered_rooms(people)
    inline = {"room": {"not_rooms": [other],
                       "timeline": {"types": ["m.room.mess*"], "senders": [alice.user_id],
                                    "limit": 5}}}

    async def go(client):
        resp = await client.sync(timeout=0, sync_filter=inline)
        assert other not in resp.rooms.join
        assert bodies(resp.rooms.join[keep].timeline.events) == ["from alice"]
    alice.nio(go)
    check_filtered(alice.sync_ok(filter=inline), people, keep, other)


def test_timeline_filter_reaches_past_filtered_events(people):
    """A full page of filtered events does not hide the older matches."""
    alice = people["alice"]
    room = alice.create_room()
    tok = alice.sync_ok()["next_batch"]
    alice.send_text(room, "wanted")
    for i in range(30):
        alice.send_ok(room, {"i": i}, "org.example.noise")
    body = alice.sync_ok(since=tok, filter={"room": {"timeline": {
        "limit": 3, "types": ["m.room.message"]}}})
    tl = room_of(body, "join", room)["timeline"]
    assert raw_bodies(tl["events"]) == ["wanted"]
    assert tl["limited"] is False


def test_state_hidden_by_the_timeline_filter_comes_as_state(people):
    alice, bob = people["alice"], people["bob"]
    room = alice.create_room(name="Old name")
    bob.room_post(room, "join")
    only_messages = {"room": {"timeline": {"types": ["m.room.message"]}}}
    tok = bob.sync_ok(filter=only_messages)["next_batch"]
    assert alice.put_state(room, "m.room.name", {"name": "New name"})[0] == 200
    alice.send_text(room, "after the rename")
    sec = room_of(bob.sync_ok(since=tok, filter=only_messages), "join", room)
    assert raw_bodies(sec["timeline"]["events"]) == ["after the rename"]
    names = [e["content"]["name"] for e in sec["state"]["events"]
             if e["type"] == "m.room.name"]
    assert names == ["New name"]


def test_initial_sync_state_has_what_the_filter_hid_inside_the_timeline(people):
    # The timeline keeps the messages either side of a rename and drops
    # the rename: the state section must bring the name the timeline
    # ends with, not the one it starts with (an initial sync reads the
    # end's state only where the window does not run straight from its
    # start, handlers/sync/rooms.c window_straight).
    alice, bob = people["alice"], people["bob"]
    room = alice.create_room(name="Old name")
    bob.room_post(room, "join")
    alice.send_text(room, "before the rename")
    assert alice.put_state(room, "m.room.name", {"name": "New name"})[0] == 200
    alice.send_text(room, "after the rename")
    only_messages = {"room": {"timeline": {"types": ["m.room.message"], "limit": 2}}}
    sec = room_of(bob.sync_ok(filter=only_messages), "join", room)
    assert raw_bodies(sec["timeline"]["events"]) == ["before the rename", "after the rename"]
    names = [e["content"]["name"] for e in sec["state"]["events"]
             if e["type"] == "m.room.name"]
    assert names == ["New name"]


def test_state_filter(people):
    alice = people["alice"]
    room = alice.create_room(name="Filtered state", topic="t")
    alice.send_text(room, "x")
    body = alice.sync_ok(filter={"room": {"rooms": [room], "timeline": {"limit": 1},
                                          "state": {"types": ["m.room.name"]}}})
    sec = room_of(body, "join", room)
    assert [e["type"] for e in sec["state"]["events"]] == ["m.room.name"]
    body = alice.sync_ok(filter={"room": {"rooms": [room], "timeline": {"limit": 1},
                                          "state": {"not_types": ["m.room.member"]}}})
    types = {e["type"] for e in room_of(body, "join", room)["state"]["events"]}
    assert "m.room.member" not in types and "m.room.create" in types


# -- lazy-loaded members -------------------------------------------------------

LAZY = {"room": {"state": {"lazy_load_members": True}, "timeline": {"limit": 2}}}
LAZY_REDUNDANT = {"room": {"state": {"lazy_load_members": True,
                                     "include_redundant_members": True},
                           "timeline": {"limit": 2}}}


def lazy_room(people):
    alice, bob, carol, dave = (people[w] for w in ("alice", "bob", "carol", "dave"))
    room = alice.create_room()
    for u in (bob, carol, dave):
        u.room_post(room, "join")
    bob.send_text(room, "bob speaks")
    carol.send_text(room, "carol speaks")
    return room


def state_members(body, room):
    return members_of(room_of(body, "join", room)["state"]["events"])


def test_lazy_loaded_members(people):
    alice, bob, dave = people["alice"], people["bob"], people["dave"]
    room = lazy_room(people)

    async def go(client):
        up = await client.upload_filter(room=LAZY["room"])
        resp = await client.sync(timeout=0, sync_filter=up.filter_id)
        info = resp.rooms.join[room]
        senders = {e.sender for e in info.timeline.events}
        assert senders == {people["bob"].user_id, people["carol"].user_id}
        members = {e.state_key for e in info.state if isinstance(e, nio.RoomMemberEvent)}
        # The timeline's senders and the user, not dave, who said nothing.
        assert members == senders | {alice.user_id}
        # Other state still comes whole.
        assert "m.room.create" in types_of(info.state)
        assert info.summary.joined_member_count == 4
    alice.nio(go)

    # Incremental: bob's membership was sent to this device already.
    tok = alice.sync_ok(filter=LAZY)["next_batch"]
    bob.send_text(room, "bob again")
    body = alice.sync_ok(since=tok, filter=LAZY)
    assert state_members(body, room) == {}
    # dave speaks for the first time: his membership comes along.
    dave.send_text(room, "dave at last")
    body2 = alice.sync_ok(since=body["next_batch"], filter=LAZY)
    assert state_members(body2, room) == {dave.user_id: "join"}
    # A response that was lost: syncing again from the older token repeats it.
    again = alice.sync_ok(since=body["next_batch"], filter=LAZY)
    assert state_members(again, room) == {dave.user_id: "join"}


def test_lazy_loading_with_redundant_members(people):
    alice, bob = people["alice"], people["bob"]
    room = lazy_room(people)
    tok = alice.sync_ok(filter=LAZY_REDUNDANT)["next_batch"]
    bob.send_text(room, "bob again")
    body = alice.sync_ok(since=tok, filter=LAZY_REDUNDANT)
    assert state_members(body, room) == {bob.user_id: "join"}


def test_lazy_loading_sends_changed_members_again(people):
    alice, bob = people["alice"], people["bob"]
    room = lazy_room(people)
    tok = alice.sync_ok(filter=LAZY)["next_batch"]
    assert bob.put_state(room, "m.room.member", {"membership": "join", "displayname": "Bobby"},
                         key=bob.user_id)[0] == 200
    for i in range(3):
        people["carol"].send_text(room, "filler %d" % i)
    bob.send_text(room, "renamed")
    body = alice.sync_ok(since=tok, filter=LAZY)
    sec = room_of(body, "join", room)
    assert sec["timeline"]["limited"] is True
    bobs = [e for e in sec["state"]["events"]
            if e["type"] == "m.room.member" and e["state_key"] == bob.user_id]
    assert [e["content"].get("displayname") for e in bobs] == ["Bobby"]


# -- full_state and tokens -----------------------------------------------------

def test_full_state(people):
    alice, bob = people["alice"], people["bob"]
    room = alice.create_room(name="Full state")
    bob.room_post(room, "join")

    async def go(client):
        await client.sync(timeout=0)
        quiet = await client.sync(timeout=0)
        assert room not in quiet.rooms.join
        full = await client.sync(timeout=0, since=quiet.next_batch, full_state=True)
        info = full.rooms.join[room]
        assert info.timeline.events == []
        assert {"m.room.create", "m.room.name", "m.room.member"} <= types_of(info.state)
        members = {e.state_key for e in info.state if isinstance(e, nio.RoomMemberEvent)}
        assert members == {alice.user_id, bob.user_id}
    bob.nio(go)


@pytest.mark.parametrize("token", ["garbage", "s12_abc", "s", "12", "s-1", "s1__2"])
def test_malformed_since_token(people, token):
    status, err = people["alice"].sync(since=token)
    assert status == 400 and err["errcode"] == "M_INVALID_PARAM", (token, err)


def test_tokens_survive_a_restart():
    stack = start_stack()
    try:
        alice = SyncUser.register(stack, "syrestart%d" % os.getpid())
        room = alice.create_room()
        alice.send_text(room, "before")
        tok = alice.sync_ok()["next_batch"]
        subprocess.run([STACK, "down", stack.dir], check=True, timeout=60)
        subprocess.run([STACK, "up", stack.dir], check=True, timeout=120)
        alice.send_text(room, "after")

        async def go(client):
            resp = await client.sync(timeout=0, since=tok)
            assert isinstance(resp, nio.SyncResponse), resp
            tl = resp.rooms.join[room].timeline
            assert bodies(tl.events) == ["after"] and not tl.limited
        alice.nio(go)
    finally:
        stop_stack(stack)
