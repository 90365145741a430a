"""Typing, account data, tags and presence end to end (issue 4): what a
client does through matrix-nio (room_typing, set_presence, get_presence,
sync), raw HTTP for what nio 0.20 cannot call (account data, tags) and
for the edges.  Incremental syncs deliver each stream; a waiting long-poll
returns promptly when another user starts typing; on a stack with a fake
clock, typing expires through myelin-timerd and wakes a waiting sync with
the empty list."""
import asyncio
import json
import os
import time

import nio
import pytest

from conftest import User, nio_clients, q

def register_people(stack, tag, names=("alice", "bob", "carol")):
    out = {}
    for who in names:
        name = "%s%s%d" % (tag, who, os.getpid())
        out[who] = User.register(stack, name)
    return out


@pytest.fixture(scope="module")
def people(stack):
    """alice, bob and carol: registered once for the module."""
    return register_people(stack, "ep")


def assert_error(status_resp, status, errcode):
    got_status, resp = status_resp
    assert (got_status, (resp or {}).get("errcode")) == (status, errcode), resp


def shared_room(owner, *others):
    """A new room of owner that every one of others has joined."""
    room = owner.create_room(preset="private_chat")
    for u in others:
        owner.room_post(room, "invite", u.user_id)
        u.join(room)
    return room


async def synced(client, **kw):
    resp = await client.sync(**kw)
    assert isinstance(resp, nio.SyncResponse), resp
    return resp


async def sync_until(client, pick, seconds=15, poll_ms=2000):
    """Syncs from the client's token until pick(response) is not None;
    returns that value.  Other streams may answer a sync first."""
    end = time.monotonic() + seconds
    while True:
        v = pick(await synced(client, timeout=poll_ms))
        if v is not None:
            return v
        assert time.monotonic() < end, "the sync never delivered it"


def typing_in(room):
    """pick(): the user IDs of the m.typing of room, or None without one."""
    def pick(resp):
        info = resp.rooms.join.get(room)
        for ev in info.ephemeral if info else []:
            if isinstance(ev, nio.TypingNoticeEvent):
                return sorted(ev.users)
        return None
    return pick


def presence_of(user_id):
    def pick(resp):
        for ev in resp.presence_events:
            if ev.user_id == user_id:
                return ev
        return None
    return pick


# -- typing -----------------------------------------------------------------

def test_incremental_sync_delivers_typing(stack, people):
    alice, bob = people["alice"], people["bob"]
    room = shared_room(alice, bob)

    async def go(a, b):
        await synced(b)
        typed = await a.room_typing(room, True, 30000)
        started = await sync_until(b, typing_in(room))
        await a.room_typing(room, False)
        stopped = await sync_until(b, typing_in(room))
        return typed, started, stopped, b.rooms[room].typing_users
    typed, started, stopped, nio_view = nio_clients(stack, [alice, bob], go)
    assert isinstance(typed, nio.RoomTypingResponse), typed
    assert started == [alice.user_id]
    # Spec: m.typing carries the whole list: empty once everyone stopped.
    assert stopped == [] and nio_view == []


def test_waiting_sync_returns_promptly_on_typing(stack, people):
    alice, bob = people["alice"], people["bob"]
    room = shared_room(alice, bob)

    async def go(a, b):
        # Both online first (a sync sets presence), then nothing is news to bob.
        await synced(a)
        await synced(b)
        poll = asyncio.create_task(b.sync(timeout=25000))
        await asyncio.sleep(0.5)
        assert not poll.done(), "the sync did not wait"
        began = time.monotonic()
        await a.room_typing(room, True, 30000)
        resp = await asyncio.wait_for(poll, 20)
        return resp, time.monotonic() - began
    resp, took = nio_clients(stack, [alice, bob], go)
    assert isinstance(resp, nio.SyncResponse), resp
    assert typing_in(room)(resp) == [alice.user_id]
    assert took < 5, "a 25 s long-poll took %.1f s to see the typing" % took


def test_initial_sync_shows_typing(stack, people):
    alice, bob = people["alice"], people["bob"]
    room = shared_room(alice, bob)
    alice.ok("PUT", "/rooms/%s/typing/%s" % (q(room), q(alice.user_id)),
             {"typing": True, "timeout": 60000})
    status, resp = bob.call("GET", "/sync")
    assert status == 200, resp
    events = resp["rooms"]["join"][room]["ephemeral"]["events"]
    assert {"type": "m.typing", "content": {"user_ids": [alice.user_id]}} in events


def test_initial_sync_shows_typing_stopped(stack, people):
    """Synapse 1.67: once someone typed, an initial sync has the room's
    m.typing, empty when everyone stopped (SyTest waits for it so)."""
    alice, bob = people["alice"], people["bob"]
    room = shared_room(alice, bob)
    path = "/rooms/%s/typing/%s" % (q(room), q(alice.user_id))
    alice.ok("PUT", path, {"typing": True, "timeout": 60000})
    alice.ok("PUT", path, {"typing": False})
    for who in (alice, bob):
        status, resp = who.call("GET", "/sync")
        assert status == 200, resp
        events = resp["rooms"]["join"][room]["ephemeral"]["events"]
        assert {"type": "m.typing", "content": {"user_ids": []}} in events


def test_typing_errors(stack, people):
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    room = shared_room(alice, bob)
    path = "/rooms/%s/typing/%s" % (q(room), q(alice.user_id))
    # Only for oneself, only where joined.
    assert_error(bob.call("PUT", path, {"typing": True}), 403, "M_FORBIDDEN")
    assert_error(carol.call("PUT", "/rooms/%s/typing/%s" % (q(room), q(carol.user_id)),
                            {"typing": True}), 403, "M_FORBIDDEN")
    assert_error(alice.call("PUT", "/rooms/%s/typing/%s" % (
        q("!nosuchroom:localhost"), q(alice.user_id)), {"typing": True}), 403, "M_FORBIDDEN")
    assert_error(alice.call("PUT", path, {"typing": "yes"}), 400, "M_BAD_JSON")
    assert_error(alice.call("PUT", path, {}), 400, "M_MISSING_PARAM")
    assert_error(alice.call("PUT", path, {"typing": True, "timeout": "long"}),
                 400, "M_INVALID_PARAM")
    # A timeout past the cap is accepted and capped.
    assert alice.call("PUT", path, {"typing": True, "timeout": 10 ** 9})[0] == 200
    assert alice.call("PUT", path, {"typing": False})[0] == 200


# -- account data and tags ----------------------------------------------------

def test_account_data_roundtrip_and_sync(stack, people):
    alice, bob = people["alice"], people["bob"]
    room = shared_room(alice, bob)
    uid = q(alice.user_id)

    async def go(a):
        await synced(a)
        alice.ok("PUT", "/user/%s/account_data/org.example.cfg" % uid, {"theme": "dark"})
        alice.ok("PUT", "/user/%s/rooms/%s/account_data/org.example.room" % (uid, q(room)),
                 {"pinned": True})
        alice.ok("PUT", "/user/%s/rooms/%s/tags/u.work" % (uid, q(room)), {"order": 0.25})

        def pick(resp):
            glob = [e for e in resp.account_data_events
                    if getattr(e, "type", None) == "org.example.cfg"]
            info = resp.rooms.join.get(room)
            per_room = info.account_data if info else []
            tags = [e.tags for e in per_room if isinstance(e, nio.TagEvent)]
            other = [e.content for e in per_room if getattr(e, "type", "") == "org.example.room"]
            if glob and tags and other:
                return glob[0].content, tags[0], other[0]
            return None
        got = await sync_until(a, pick)
        alice.ok("DELETE", "/user/%s/rooms/%s/tags/u.work" % (uid, q(room)))
        untagged = await sync_until(a, lambda r: next(
            (e.tags for e in (r.rooms.join[room].account_data if room in r.rooms.join else [])
             if isinstance(e, nio.TagEvent)), None))
        return got, untagged
    got, untagged = nio_clients(stack, [alice], go)
    assert got == ({"theme": "dark"}, {"u.work": {"order": 0.25}}, {"pinned": True})
    assert untagged == {}

    assert alice.ok("GET", "/user/%s/account_data/org.example.cfg" % uid) == \
        {"theme": "dark"}
    assert alice.ok("GET", "/user/%s/rooms/%s/account_data/org.example.room" % (
        uid, q(room))) == {"pinned": True}
    assert alice.ok("GET", "/user/%s/rooms/%s/tags" % (uid, q(room))) == {"tags": {}}
    assert_error(alice.call("GET", "/user/%s/account_data/org.example.none" % uid),
                 404, "M_NOT_FOUND")
    assert_error(alice.call("GET", "/user/%s/rooms/%s/account_data/org.example.cfg" % (
        uid, q(room))), 404, "M_NOT_FOUND")

    # An initial sync carries all of it; tags arrive as m.tag.
    alice.ok("PUT", "/user/%s/rooms/%s/tags/m.favourite" % (uid, q(room)), {})
    status, resp = alice.call("GET", "/sync")
    assert status == 200
    assert {"type": "org.example.cfg", "content": {"theme": "dark"}} in \
        resp["account_data"]["events"]
    room_data = resp["rooms"]["join"][room]["account_data"]["events"]
    assert {"type": "m.tag", "content": {"tags": {"m.favourite": {}}}} in room_data
    assert {"type": "org.example.room", "content": {"pinned": True}} in room_data
    # Nobody else sees it.
    status, resp = bob.call("GET", "/sync")
    assert all(e["type"] != "org.example.cfg" for e in resp["account_data"]["events"])
    assert resp["rooms"]["join"][room]["account_data"]["events"] == []


def test_account_data_errors(stack, people):
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    room = shared_room(alice, bob)
    uid, rid = q(alice.user_id), q(room)
    glob = "/user/%s/account_data/org.example.x" % uid
    per_room = "/user/%s/rooms/%s/account_data/org.example.x" % (uid, rid)
    # Someone else's account data: 403 both ways.
    for path in (glob, per_room, "/user/%s/rooms/%s/tags" % (uid, rid)):
        assert_error(bob.call("GET", path), 403, "M_FORBIDDEN")
    for path in (glob, per_room, "/user/%s/rooms/%s/tags/u.x" % (uid, rid)):
        assert_error(bob.call("PUT", path, {"a": 1}), 403, "M_FORBIDDEN")
    assert_error(bob.call("DELETE", "/user/%s/rooms/%s/tags/u.x" % (uid, rid)),
                 403, "M_FORBIDDEN")
    # Content must be a JSON object.
    assert_error(alice.call("PUT", glob, [1, 2]), 400, "M_BAD_JSON")
    assert_error(alice.call("PUT", glob, raw=b"{nope"), 400, "M_NOT_JSON")
    assert_error(alice.call("PUT", per_room, "text"), 400, "M_BAD_JSON")
    # Spec: types the server controls are 405 M_BAD_JSON.
    assert_error(alice.call("PUT", "/user/%s/rooms/%s/account_data/m.fully_read" % (
        uid, rid), {"event_id": "$x"}), 405, "M_BAD_JSON")
    assert_error(alice.call("PUT", "/user/%s/account_data/m.push_rules" % uid,
                            {"global": {}}), 405, "M_BAD_JSON")
    # Spec: a malformed room ID is 400 M_INVALID_PARAM.
    assert_error(alice.call("PUT", "/user/%s/rooms/%s/account_data/org.example.x" % (
        uid, q("@notaroom:localhost")), {}), 400, "M_INVALID_PARAM")
    assert_error(alice.call("GET", "/user/%s/rooms/%s/account_data/org.example.x" % (
        uid, q("@notaroom:localhost"))), 400, "M_INVALID_PARAM")
    # Tags: order a number from 0 to 1, names up to 255 bytes, rooms one is in.
    tag = "/user/%s/rooms/%s/tags/" % (uid, rid)
    assert_error(alice.call("PUT", tag + "u.a", {"order": "first"}), 400, "M_INVALID_PARAM")
    assert_error(alice.call("PUT", tag + "u.a", {"order": 2}), 400, "M_INVALID_PARAM")
    assert_error(alice.call("PUT", tag + "u." + "x" * 300, {}), 400, "M_INVALID_PARAM")
    assert_error(carol.call("PUT", "/user/%s/rooms/%s/tags/u.a" % (
        q(carol.user_id), rid), {}), 403, "M_FORBIDDEN")
    assert alice.call("PUT", tag + "u.a", {"order": 1})[0] == 200
    assert alice.call("PUT", tag + "u.b", {"order": 0})[0] == 200
    # Removing an absent tag is fine.
    assert alice.call("DELETE", tag + "u.none")[0] == 200
    assert alice.ok("GET", "/user/%s/rooms/%s/tags" % (uid, rid)) == \
        {"tags": {"u.a": {"order": 1}, "u.b": {"order": 0}}}


# -- presence -----------------------------------------------------------------

def test_presence_set_get_and_sync(stack, people):
    alice, bob = people["alice"], people["bob"]
    shared_room(alice, bob)

    async def go(a, b):
        await synced(a)
        await synced(b)
        put = await a.set_presence("unavailable", "in a meeting")
        seen = await sync_until(b, presence_of(alice.user_id))
        got = await b.get_presence(alice.user_id)
        own = await a.get_presence(alice.user_id)
        await a.set_presence("online")
        back = await sync_until(b, lambda r: (lambda e: e if e and e.presence == "online"
                                              else None)(presence_of(alice.user_id)(r)))
        return put, seen, got, own, back
    put, seen, got, own, back = nio_clients(stack, [alice, bob], go)
    assert isinstance(put, nio.PresenceSetResponse), put
    assert (seen.presence, seen.status_msg) == ("unavailable", "in a meeting")
    assert isinstance(got, nio.PresenceGetResponse), got
    assert (got.presence, got.status_msg) == ("unavailable", "in a meeting")
    assert own.presence == "unavailable"
    # PUT without status_msg clears it; online is currently active.
    assert (back.presence, back.status_msg, back.currently_active) == ("online", None, True)
    assert back.last_active_ago is not None and back.last_active_ago >= 0


def test_sync_set_presence(stack):
    """set_presence on /sync: unavailable marks the user so; offline leaves
    presence alone; a sync without it marks them online."""
    p = register_people(stack, "sp", ("dave", "erin"))
    dave, erin = p["dave"], p["erin"]
    shared_room(dave, erin)
    presence = "/presence/%s/status" % q(dave.user_id)
    # Never seen: offline.
    assert erin.ok("GET", presence)["presence"] == "offline"
    assert dave.call("GET", "/sync?set_presence=unavailable")[0] == 200
    assert erin.ok("GET", presence)["presence"] == "unavailable"
    assert dave.call("GET", "/sync?set_presence=offline")[0] == 200
    assert erin.ok("GET", presence)["presence"] == "unavailable"
    status, resp = dave.call("GET", "/sync")
    assert status == 200
    # The user's own presence is in their sync.
    assert any(e["sender"] == dave.user_id and e["content"]["presence"] == "online"
               for e in resp["presence"]["events"])
    got = erin.ok("GET", presence)
    assert got["presence"] == "online" and got["currently_active"] is True
    assert_error(dave.call("GET", "/sync?set_presence=busy"), 400, "M_INVALID_PARAM")


def test_presence_errors(stack, people):
    alice, carol = people["alice"], people["carol"]
    path = "/presence/%s/status" % q(alice.user_id)
    # Synapse: no shared room, no presence (403).
    assert_error(carol.call("GET", path), 403, "M_FORBIDDEN")
    assert_error(carol.call("GET", "/presence/%s/status" % q("@nobody:localhost")),
                 403, "M_FORBIDDEN")
    assert_error(carol.call("PUT", path, {"presence": "online"}), 403, "M_FORBIDDEN")
    own = "/presence/%s/status" % q(carol.user_id)
    assert_error(carol.call("PUT", own, {"presence": "busy"}), 400, "M_INVALID_PARAM")
    assert_error(carol.call("PUT", own, {}), 400, "M_MISSING_PARAM")
    assert_error(carol.call("PUT", own, {"presence": "online", "status_msg": 5}),
                 400, "M_INVALID_PARAM")
    assert carol.ok("PUT", own, {"presence": "offline", "status_msg": "away"}) == {}
    assert carol.ok("GET", own) == {"presence": "offline", "status_msg": "away"}


# -- filters ------------------------------------------------------------------

def test_sync_filter_applies_to_the_streams(stack):
    """Spec: Filter: account_data, presence and room.ephemeral /
    room.account_data are EventFilters over these streams."""
    p = register_people(stack, "fl", ("fran", "gus"))
    fran, gus = p["fran"], p["gus"]
    room = shared_room(fran, gus)
    uid = q(fran.user_id)
    for t in ("org.example.keep", "org.example.drop"):
        fran.ok("PUT", "/user/%s/account_data/%s" % (uid, t), {"t": t})
    fran.ok("PUT", "/user/%s/rooms/%s/tags/u.x" % (uid, q(room)), {})
    gus.ok("PUT", "/rooms/%s/typing/%s" % (q(room), q(gus.user_id)),
           {"typing": True, "timeout": 60000})
    gus.ok("PUT", "/presence/%s/status" % q(gus.user_id), {"presence": "online"})

    def sync(flt):
        status, resp = fran.call("GET", "/sync?set_presence=offline&filter=" +
                                 q(json.dumps(flt)))
        assert status == 200, resp
        return resp
    full = sync({})
    assert {e["type"] for e in full["account_data"]["events"]} >= \
        {"org.example.keep", "org.example.drop"}
    assert [e["type"] for e in full["rooms"]["join"][room]["ephemeral"]["events"]
            if e["type"] == "m.typing"] == ["m.typing"]
    assert any(e["sender"] == gus.user_id for e in full["presence"]["events"])
    some = sync({"account_data": {"types": ["org.example.keep"]},
                 "presence": {"not_senders": [gus.user_id]},
                 "room": {"ephemeral": {"not_types": ["m.typing"]},
                          "account_data": {"not_types": ["m.tag"]}}})
    assert [e["type"] for e in some["account_data"]["events"]] == ["org.example.keep"]
    assert all(e["sender"] != gus.user_id for e in some["presence"]["events"])
    section = some["rooms"]["join"].get(room, {})
    assert all(e["type"] != "m.typing" for e in section.get("ephemeral", {}).get("events", []))
    assert section.get("account_data", {}).get("events", []) == []
    # A room left out by the room filter gets nothing from these streams.
    none = sync({"room": {"not_rooms": [room]}})
    assert room not in none["rooms"]["join"]


# -- typing expiry on the fake clock --------------------------------------------

def test_typing_expires_and_wakes_waiting_sync(clock_stack):
    s = clock_stack
    p = register_people(s, "ck", ("alice", "bob"))
    alice, bob = p["alice"], p["bob"]
    room = shared_room(alice, bob)

    async def go(a, b):
        await synced(a)
        await synced(b)
        # The longest timeout, so no other stack's timer daemon on a shared
        # PostgreSQL database, on the real clock, ends it first.
        await a.room_typing(room, True, 120000)
        started = await sync_until(b, typing_in(room))
        # The time is frozen: this waits until something moves.
        poll = asyncio.create_task(b.sync(timeout=300000))
        await asyncio.sleep(1)
        assert not poll.done(), "the sync did not wait"
        s.clock.advance(121 * 1000)
        resp = await asyncio.wait_for(poll, 20)
        return started, resp
    started, resp = nio_clients(s, [alice, bob], go)
    assert started == [alice.user_id]
    assert isinstance(resp, nio.SyncResponse), resp
    assert typing_in(room)(resp) == []


def test_presence_lapses_when_idle(clock_stack):
    """As in Synapse: online turns unavailable after 5 idle minutes and
    offline after 30; myelin-timerd does it and wakes the syncs."""
    s = clock_stack
    p = register_people(s, "pl", ("alice", "bob"))
    alice, bob = p["alice"], p["bob"]
    shared_room(alice, bob)

    def alice_is(want):
        def pick(resp):
            ev = presence_of(alice.user_id)(resp)
            return ev if ev is not None and ev.presence == want else None
        return pick

    async def go(a, b):
        # alice never syncs: only this PUT marks her active.
        await a.set_presence("online")
        online = await sync_until(b, alice_is("online"))
        # The time is frozen: each sync waits until something moves.
        s.clock.advance(6 * 60 * 1000)
        idle = await asyncio.wait_for(sync_until(b, alice_is("unavailable")), 20)
        s.clock.advance(31 * 60 * 1000)
        gone = await asyncio.wait_for(sync_until(b, alice_is("offline")), 20)
        return online, idle, gone
    online, idle, gone = nio_clients(s, [alice, bob], go)
    assert online.currently_active is True
    assert idle.last_active_ago >= 6 * 60 * 1000 and not idle.currently_active
    assert gone.last_active_ago >= 37 * 60 * 1000 and not gone.currently_active
