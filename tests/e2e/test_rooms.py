"""Rooms end to end (issue 3, "Must show"): two users create a room, invite,
join and send through matrix-nio; /messages paged both ways; topic, kick,
ban, aliases, redaction; errors (M_FORBIDDEN, M_NOT_FOUND, M_ROOM_IN_USE);
idempotent transaction IDs; room versions, presets and the event format.
Raw HTTP for the edges a client library does not reach.

The users are registered once for the module (password hashing is the
slow part); every test makes rooms of its own."""
import os
import re

import nio
import pytest

from conftest import C, User, nio_clients, q

@pytest.fixture(scope="module")
def people(stack):
    """alice, bob and carol: registered users (login responses plus names)."""
    out = {}
    for who in ("alice", "bob", "carol"):
        name = "rm%s%d" % (who, os.getpid())
        out[who] = dict(stack.register(name, "pw-" + name), username=name,
                        password="pw-" + name)
    return out


class Api(User):
    """Raw client-server calls as one user (user: the login response)."""

    def __init__(self, stack, user):
        super().__init__(stack, user)
        self.user = user

    def join(self, room):
        """POST /join/{room}: (status, body)."""
        return self.call("POST", "/join/" + q(room), {})

    def event(self, room, event_id):
        return self.call("GET", "/rooms/%s/event/%s" % (q(room), q(event_id)))

    def messages(self, room, **params):
        return self.get("/rooms/%s/messages" % q(room), **params)


@pytest.fixture(scope="module")
def api(stack, people):
    return {who: Api(stack, u) for who, u in people.items()}


def create_event_id(client, room):
    """The ID of the room's m.room.create event: the first of the timeline."""
    status, resp = client.messages(room, dir="f", limit=1)
    assert status == 200 and resp["chunk"][0]["type"] == "m.room.create", resp
    return resp["chunk"][0]["event_id"]


def assert_error(status_resp, status, errcode):
    got_status, resp = status_resp
    assert (got_status, (resp or {}).get("errcode")) == (status, errcode), resp


def test_two_users_create_invite_join_send(stack, people):
    """The basic conversation, as a client does it: create, invite, join,
    send from both sides, list members and rooms, read back, leave."""
    alice, bob = people["alice"], people["bob"]

    async def go(a, b):
        created = await a.room_create(name="Chat", topic="first topic")
        assert isinstance(created, nio.RoomCreateResponse), created
        room = created.room_id
        invited = await a.room_invite(room, bob["user_id"])
        joined = await b.join(room)
        sent_a = await a.room_send(room, "m.room.message", {"msgtype": "m.text", "body": "hi bob"})
        sent_b = await b.room_send(room, "m.room.message",
                                   {"msgtype": "m.text", "body": "hi alice"})
        members = await a.joined_members(room)
        rooms = await b.joined_rooms()
        # from="" is how nio asks for "from the end": no sync token yet.
        msgs = await b.room_messages(room, "", limit=2)
        got = await b.room_get_event(room, sent_a.event_id)
        left = await b.room_leave(room)
        rooms_after = await b.joined_rooms()
        return (room, invited, joined, sent_a, sent_b, members, rooms, msgs, got, left,
                rooms_after)

    (room, invited, joined, sent_a, sent_b, members, rooms, msgs, got, left,
     rooms_after) = nio_clients(stack, [alice, bob], go)
    assert isinstance(invited, nio.RoomInviteResponse), invited
    assert isinstance(joined, nio.JoinResponse) and joined.room_id == room, joined
    assert isinstance(sent_a, nio.RoomSendResponse), sent_a
    assert isinstance(sent_b, nio.RoomSendResponse), sent_b
    assert sent_a.event_id != sent_b.event_id
    assert isinstance(members, nio.JoinedMembersResponse), members
    assert {m.user_id for m in members.members} == {alice["user_id"], bob["user_id"]}
    assert isinstance(rooms, nio.JoinedRoomsResponse) and room in rooms.rooms, rooms
    assert isinstance(msgs, nio.RoomMessagesResponse), msgs
    assert [(type(e), e.sender, e.body) for e in msgs.chunk] == [
        (nio.RoomMessageText, bob["user_id"], "hi alice"),
        (nio.RoomMessageText, alice["user_id"], "hi bob")]
    assert [e.event_id for e in msgs.chunk] == [sent_b.event_id, sent_a.event_id]
    assert msgs.end
    assert isinstance(got, nio.RoomGetEventResponse), got
    assert (got.event.event_id, got.event.body) == (sent_a.event_id, "hi bob")
    assert isinstance(left, nio.RoomLeaveResponse), left
    assert isinstance(rooms_after, nio.JoinedRoomsResponse) and room not in rooms_after.rooms


def test_messages_pages_backwards_and_forwards(stack, people, api):
    """25 messages read back 10 at a time in both directions: order kept,
    nothing twice, nothing missing, and no `end` at either end."""
    bob = people["bob"]
    room = api["alice"].create_room(preset="public_chat")
    assert api["bob"].join(room)[0] == 200
    sent = []
    for i in range(25):
        status, resp = api["alice" if i % 2 == 0 else "bob"].send(room, "m%02d" % i)
        assert status == 200, resp
        sent.append(resp["event_id"])

    # Backwards from the end: the first page carries no token, the rest
    # follow `end` through nio as a client would.
    status, page = api["bob"].messages(room, dir="b", limit=10)
    assert status == 200, page

    async def more(b):
        out = []
        token = page.get("end")
        while token:
            resp = await b.room_messages(room, token, limit=10)
            assert isinstance(resp, nio.RoomMessagesResponse), resp
            assert resp.start == token
            out.append(resp)
            token = resp.end
        return out

    nio_pages = nio_clients(stack, [bob], more)
    back = [e["event_id"] for e in page["chunk"]]
    for p in nio_pages:
        assert len(p.chunk) <= 10
        back += [e.event_id for e in p.chunk]
    assert len(page["chunk"]) == 10 and len(nio_pages[0].chunk) == 10
    assert len(back) == len(set(back)), "an event came twice"
    # The newest 25 are the messages, newest first; the room's creation is
    # last; together, the whole timeline as one big page gives it.
    assert back[:25] == sent[::-1]
    assert back[::-1] == [e["event_id"] for e in api["alice"].timeline(room)]
    assert len(back) == 25 + 6      # createRoom's 5 events (public_chat: no guest_access) and bob's join
    assert nio_pages[-1].end is None
    assert back[-1] == create_event_id(api["alice"], room)

    # Forwards from the start of the timeline.
    fwd, token = [], None
    while True:
        params = {"dir": "f", "limit": 10}
        if token:
            params["from"] = token
        status, resp = api["alice"].messages(room, **params)
        assert status == 200, resp
        assert len(resp["chunk"]) <= 10
        if token:
            assert resp["start"] == token
        fwd += [e["event_id"] for e in resp["chunk"]]
        token = resp.get("end")
        if not token:
            break
        assert len(fwd) < 100, "forward pagination does not end"
    assert fwd == back[::-1], "forward and backward timelines differ"

    # A page between two tokens: from the end of the first backward page
    # back to the start of the next gives the second page exactly.
    status, resp = api["alice"].messages(room, dir="b", limit=10, **{"from": page["end"]})
    assert [e["event_id"] for e in resp["chunk"]] == back[10:20]
    # `to` bounds a page: back from the end to the first page's `end` is
    # the first page, forwards from there to the start token of it as well.
    status, resp = api["alice"].messages(room, dir="b", limit=100, to=page["end"])
    assert [e["event_id"] for e in resp["chunk"]] == back[:10]
    status, resp = api["alice"].messages(room, dir="f", limit=100, to=page["start"],
                                         **{"from": page["end"]})
    assert [e["event_id"] for e in resp["chunk"]] == back[:10][::-1]
    # A filter counts only what it lets through: 25 messages in 10, 10, 5.
    token, sizes, filtered = None, [], []
    while True:
        params = {"dir": "b", "limit": 10, "filter": '{"types": ["m.room.message"]}'}
        if token:
            params["from"] = token
        status, resp = api["bob"].messages(room, **params)
        assert status == 200, resp
        sizes.append(len(resp["chunk"]))
        filtered += [e["event_id"] for e in resp["chunk"]]
        token = resp.get("end")
        if not token:
            break
        assert len(sizes) < 10, "filtered pagination does not end"
    assert sizes[:3] == [10, 10, 5] and sum(sizes) == 25
    assert filtered == sent[::-1]
    # A message sent now is after every token handed out: paging back from
    # an old token does not show it; a fresh first page does.
    status, late = api["alice"].send(room, "late")
    status, resp = api["alice"].messages(room, dir="b", limit=10, **{"from": page["end"]})
    assert late["event_id"] not in [e["event_id"] for e in resp["chunk"]]
    status, resp = api["alice"].messages(room, dir="b", limit=1)
    assert [e["event_id"] for e in resp["chunk"]] == [late["event_id"]]


def test_messages_bad_parameters(stack, api):
    room = api["alice"].create_room()
    assert_error(api["alice"].messages(room, dir="x"), 400, "M_INVALID_PARAM")
    assert_error(api["alice"].messages(room, dir="b", **{"from": "nonsense"}), 400,
                 "M_INVALID_PARAM")
    assert_error(api["alice"].messages(room, dir="b", limit="ten"), 400, "M_INVALID_PARAM")


def test_topic_change_is_seen(stack, people, api):
    """A new topic shows in GET state, in the state event and in /messages
    as a state event carrying the old content in unsigned.prev_content;
    a member without the power cannot change it."""
    alice, bob = people["alice"], people["bob"]
    room = api["alice"].create_room(preset="public_chat", topic="old topic")
    assert api["bob"].join(room)[0] == 200

    async def go(a, b):
        put = await a.room_put_state(room, "m.room.topic", {"topic": "new topic"})
        one = await b.room_get_state_event(room, "m.room.topic")
        everything = await b.room_get_state(room)
        refused = await b.room_put_state(room, "m.room.topic", {"topic": "bob's topic"})
        return put, one, everything, refused

    put, one, everything, refused = nio_clients(stack, [alice, bob], go)
    assert isinstance(put, nio.RoomPutStateResponse), put
    assert isinstance(one, nio.RoomGetStateEventResponse), one
    assert one.content == {"topic": "new topic"}
    assert isinstance(everything, nio.RoomGetStateResponse), everything
    topics = [e for e in everything.events if e["type"] == "m.room.topic"]
    assert len(topics) == 1
    assert (topics[0]["content"], topics[0]["state_key"], topics[0]["event_id"]) == \
        ({"topic": "new topic"}, "", put.event_id)
    assert isinstance(refused, nio.RoomPutStateError), refused
    assert refused.status_code == "M_FORBIDDEN"
    assert_error(api["bob"].put_state(room, "m.room.name", {"name": "x"}), 403, "M_FORBIDDEN")

    status, resp = api["bob"].messages(room, dir="b", limit=1)
    assert status == 200
    [ev] = resp["chunk"]
    assert (ev["event_id"], ev["type"], ev["state_key"], ev["sender"], ev["content"]) == \
        (put.event_id, "m.room.topic", "", alice["user_id"], {"topic": "new topic"})
    assert ev["unsigned"]["prev_content"] == {"topic": "old topic"}
    status, still = api["alice"].state(room, "m.room.topic")
    assert (status, still) == (200, {"topic": "new topic"})


def test_kick_and_ban(stack, people, api):
    """Kicked: out, but may come back to a public room. Banned: out and
    kept out (403) until unbanned. Kicking needs the power to."""
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    room = api["alice"].create_room(preset="public_chat")
    assert api["bob"].join(room)[0] == 200
    assert api["carol"].join(room)[0] == 200

    async def go(a, b, c):
        weak = await c.room_kick(room, bob["user_id"], reason="carol says")
        kicked = await a.room_kick(room, bob["user_id"], reason="calm down")
        rooms_kicked = await b.joined_rooms()
        send_kicked = await b.room_send(room, "m.room.message", {"msgtype": "m.text", "body": "x"})
        rejoin = await b.join(room)
        weak_ban = await c.room_ban(room, bob["user_id"])
        banned = await a.room_ban(room, bob["user_id"], reason="enough")
        rejoin_banned = await b.join(room)
        unbanned = await a.room_unban(room, bob["user_id"])
        rejoin_unbanned = await b.join(room)
        return (weak, kicked, rooms_kicked, send_kicked, rejoin, weak_ban, banned, rejoin_banned,
                unbanned, rejoin_unbanned)

    (weak, kicked, rooms_kicked, send_kicked, rejoin, weak_ban, banned, rejoin_banned,
     unbanned, rejoin_unbanned) = nio_clients(stack, [alice, bob, carol], go)
    assert isinstance(weak, nio.RoomKickError) and weak.status_code == "M_FORBIDDEN", weak
    assert isinstance(kicked, nio.RoomKickResponse), kicked
    assert isinstance(rooms_kicked, nio.JoinedRoomsResponse) and room not in rooms_kicked.rooms
    assert isinstance(send_kicked, nio.RoomSendError), send_kicked
    assert send_kicked.status_code == "M_FORBIDDEN"
    assert isinstance(rejoin, nio.JoinResponse), rejoin
    assert isinstance(weak_ban, nio.RoomBanError) and weak_ban.status_code == "M_FORBIDDEN"
    assert isinstance(banned, nio.RoomBanResponse), banned
    assert isinstance(rejoin_banned, nio.JoinError), rejoin_banned
    assert rejoin_banned.status_code == "M_FORBIDDEN"
    assert isinstance(unbanned, nio.RoomUnbanResponse), unbanned
    assert isinstance(rejoin_unbanned, nio.JoinResponse), rejoin_unbanned

    # The membership history, as the timeline records it.
    members = [(e["content"]["membership"], e["sender"], e["content"].get("reason"))
               for e in api["alice"].timeline(room)
               if e["type"] == "m.room.member" and e["state_key"] == bob["user_id"]]
    assert members == [
        ("join", bob["user_id"], None), ("leave", alice["user_id"], "calm down"),
        ("join", bob["user_id"], None), ("ban", alice["user_id"], "enough"),
        ("leave", alice["user_id"], None), ("join", bob["user_id"], None)]

    # Raw: a banned user's join is 403 M_FORBIDDEN on both join routes.
    assert api["alice"].call("POST", "/rooms/%s/ban" % q(room),
                             {"user_id": bob["user_id"]})[0] == 200
    assert api["bob"].membership(room, bob["user_id"]) is None     # banned: state reads refused
    assert api["alice"].membership(room, bob["user_id"]) == "ban"
    assert_error(api["bob"].join(room), 403, "M_FORBIDDEN")
    assert_error(api["bob"].call("POST", "/rooms/%s/join" % q(room), {}), 403, "M_FORBIDDEN")
    # Unbanning someone not banned fails.
    assert_error(api["alice"].call("POST", "/rooms/%s/unban" % q(room),
                                   {"user_id": carol["user_id"]}), 403, "M_FORBIDDEN")
    assert_error(api["alice"].call("POST", "/rooms/%s/kick" % q(room), {}), 400,
                 "M_MISSING_PARAM")


def test_aliases(stack, people, api):
    """room_alias_name at creation and PUT /directory/room both resolve; a
    taken alias is refused (400 M_ROOM_IN_USE on createRoom, 409 on PUT)."""
    alice, bob = people["alice"], people["bob"]
    local = "rmalias%d" % os.getpid()
    alias = "#%s:%s" % (local, stack.server_name)
    other = "#%sb:%s" % (local, stack.server_name)

    async def go(a, b):
        created = await a.room_create(alias=local, visibility=nio.RoomVisibility.public)
        again = await a.room_create(alias=local)
        resolved = await b.room_resolve_alias(alias)
        put = await a.room_put_alias(other, created.room_id)
        resolved2 = await b.room_resolve_alias(other)
        joined = await b.join(alias)
        missing = await b.room_resolve_alias("#nosuch%d:%s" % (os.getpid(), stack.server_name))
        return created, again, resolved, put, resolved2, joined, missing

    created, again, resolved, put, resolved2, joined, missing = nio_clients(stack, [alice, bob], go)
    assert isinstance(created, nio.RoomCreateResponse), created
    room = created.room_id
    assert isinstance(again, nio.RoomCreateError) and again.status_code == "M_ROOM_IN_USE", again
    assert isinstance(resolved, nio.RoomResolveAliasResponse), resolved
    assert (resolved.room_id, resolved.servers) == (room, [stack.server_name])
    assert isinstance(put, nio.RoomPutAliasResponse), put
    assert isinstance(resolved2, nio.RoomResolveAliasResponse) and resolved2.room_id == room
    assert isinstance(joined, nio.JoinResponse) and joined.room_id == room, joined
    assert isinstance(missing, nio.RoomResolveAliasError), missing
    assert missing.status_code == "M_NOT_FOUND"

    # The canonical alias was set at creation; the room lists both aliases.
    assert api["bob"].state(room, "m.room.canonical_alias") == (200, {"alias": alias})
    listed = api["bob"].ok("GET", "/rooms/%s/aliases" % q(room))
    assert listed == {"aliases": sorted([alias, other])}
    # Raw: the status codes nio hides.
    assert_error(api["bob"].call("POST", "/createRoom", {"room_alias_name": local}), 400,
                 "M_ROOM_IN_USE")
    room2 = api["bob"].create_room()
    status, _ = api["bob"].call("PUT", "/directory/room/" + q(other), {"room_id": room2})
    assert status == 409
    assert api["bob"].ok("GET", "/directory/room/" + q(other))["room_id"] == room
    third = "#%sc:%s" % (local, stack.server_name)
    assert_error(api["bob"].call("PUT", "/directory/room/" + q(third),
                                 {"room_id": "!nosuchroom:" + stack.server_name}),
                 404, "M_NOT_FOUND")
    # GET needs no token.
    status, resp = stack.request("GET", C + "/directory/room/" + q(alias))
    assert (status, resp["room_id"], resp["servers"]) == (200, room, [stack.server_name])
    # Only the alias's creator removes it (or an admin).
    assert_error(api["bob"].call("DELETE", "/directory/room/" + q(other)), 403, "M_FORBIDDEN")
    assert api["alice"].ok("DELETE", "/directory/room/" + q(other)) == {}
    assert_error(api["bob"].call("GET", "/directory/room/" + q(other)), 404, "M_NOT_FOUND")


def test_redaction(stack, people, api):
    """A redacted message loses its content in /event and /messages and
    says what redacted it; only the sender or a user with the power may."""
    alice, bob = people["alice"], people["bob"]
    room = api["alice"].create_room(preset="public_chat")
    assert api["bob"].join(room)[0] == 200
    _, mine = api["alice"].send(room, "alice's secret")
    _, theirs = api["bob"].send(room, "bob's secret")
    _, own = api["bob"].send(room, "bob's typo")

    # bob has power 0 < redact 50: not alice's message.
    assert_error(api["bob"].call("PUT", "/rooms/%s/redact/%s/r1" % (q(room), q(mine["event_id"])),
                                 {"reason": "mine now"}), 403, "M_FORBIDDEN")
    # Nor by sending the redaction event itself (v11 and later name the
    # target in content).
    assert_error(api["bob"].call("PUT", "/rooms/%s/send/m.room.redaction/r2" % q(room),
                                 {"redacts": mine["event_id"]}), 403, "M_FORBIDDEN")
    assert api["bob"].event(room, mine["event_id"])[1]["content"]["body"] == "alice's secret"

    async def go(a, b):
        red = await a.room_redact(room, theirs["event_id"], reason="spoiler")
        red_own = await b.room_redact(room, own["event_id"])
        got = await b.room_get_event(room, theirs["event_id"])
        return red, red_own, got

    red, red_own, got = nio_clients(stack, [alice, bob], go)
    assert isinstance(red, nio.RoomRedactResponse), red
    assert isinstance(red_own, nio.RoomRedactResponse), red_own
    # nio reads unsigned.redacted_because into who redacted and why.
    assert isinstance(got, nio.RoomGetEventResponse), got
    assert isinstance(got.event, nio.RedactedEvent), got.event
    assert (got.event.redacter, got.event.reason) == (alice["user_id"], "spoiler")

    status, ev = api["bob"].event(room, theirs["event_id"])
    assert status == 200
    assert (ev["event_id"], ev["type"], ev["sender"], ev["content"]) == \
        (theirs["event_id"], "m.room.message", bob["user_id"], {})
    because = ev["unsigned"]["redacted_because"]
    assert (because["event_id"], because["type"], because["sender"], because["redacts"],
            because["content"]["reason"]) == \
        (red.event_id, "m.room.redaction", alice["user_id"], theirs["event_id"], "spoiler")

    chunk = {e["event_id"]: e for e in api["bob"].messages(room, dir="b", limit=5)[1]["chunk"]}
    assert chunk[theirs["event_id"]]["content"] == {}
    assert chunk[theirs["event_id"]]["unsigned"]["redacted_because"]["event_id"] == red.event_id
    assert chunk[own["event_id"]]["content"] == {}
    assert chunk[mine["event_id"]]["content"]["body"] == "alice's secret"
    assert "redacted_because" not in chunk[mine["event_id"]]["unsigned"]
    assert (chunk[red.event_id]["type"], chunk[red.event_id]["redacts"]) == \
        ("m.room.redaction", theirs["event_id"])
    # Unknown events cannot be redacted.
    assert_error(api["alice"].call("PUT", "/rooms/%s/redact/%s/r2" % (
        q(room), q("$nosuchevent")), {}), 404, "M_NOT_FOUND")


def test_forbidden(stack, people, api):
    """M_FORBIDDEN for what the room's rules refuse."""
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    room = api["alice"].create_room(preset="private_chat")
    # Not a member: cannot send, read or invite.
    assert_error(api["carol"].send(room, "let me in"), 403, "M_FORBIDDEN")
    assert_error(api["carol"].messages(room, dir="b"), 403, "M_FORBIDDEN")
    assert_error(api["carol"].state(room, "m.room.create"), 403, "M_FORBIDDEN")
    assert_error(api["carol"].call("POST", "/rooms/%s/invite" % q(room),
                                   {"user_id": bob["user_id"]}), 403, "M_FORBIDDEN")
    # Invite-only without an invite.
    assert_error(api["carol"].join(room), 403, "M_FORBIDDEN")
    assert api["alice"].call("POST", "/rooms/%s/invite" % q(room),
                             {"user_id": bob["user_id"]})[0] == 200
    # Invited is not joined: no sending yet.
    assert_error(api["bob"].send(room, "early"), 403, "M_FORBIDDEN")
    # Members cannot be invited: alice herself, bob once he has joined.
    assert_error(api["alice"].call("POST", "/rooms/%s/invite" % q(room),
                                   {"user_id": alice["user_id"]}), 403, "M_FORBIDDEN")
    assert api["bob"].join(room)[0] == 200
    assert_error(api["alice"].call("POST", "/rooms/%s/invite" % q(room),
                                   {"user_id": bob["user_id"]}), 403, "M_FORBIDDEN")
    # Power 0: no state at 50, no power levels, no kick, no ban.
    assert_error(api["bob"].put_state(room, "m.room.name", {"name": "mine"}), 403, "M_FORBIDDEN")
    assert_error(api["bob"].put_state(room, "m.room.power_levels", {"users": {
        bob["user_id"]: 100}}), 403, "M_FORBIDDEN")
    assert_error(api["bob"].call("POST", "/rooms/%s/kick" % q(room),
                                 {"user_id": alice["user_id"]}), 403, "M_FORBIDDEN")
    assert_error(api["bob"].call("POST", "/rooms/%s/ban" % q(room),
                                 {"user_id": alice["user_id"]}), 403, "M_FORBIDDEN")
    # Another user's state key of a member event is not bob's to set.
    assert_error(api["bob"].put_state(room, "m.room.member", {"membership": "join"},
                                      key=carol["user_id"]), 403, "M_FORBIDDEN")
    # A left user loses access.
    assert api["bob"].call("POST", "/rooms/%s/leave" % q(room), {})[0] == 200
    assert_error(api["bob"].send(room, "after"), 403, "M_FORBIDDEN")
    assert_error(api["bob"].join(room), 403, "M_FORBIDDEN")
    # None of the refusals reached the timeline.
    types = [(e["type"], e.get("state_key")) for e in api["alice"].timeline(room)]
    assert ("m.room.name", "") not in types
    assert [t for t in types if t == ("m.room.message", None)] == []


def test_not_found(stack, people, api):
    """M_NOT_FOUND for unknown rooms, events, state and aliases."""
    nowhere = "!nosuchroom%d:%s" % (os.getpid(), stack.server_name)
    a = api["alice"]
    for result in (
            a.send(nowhere, "hello"),
            a.messages(nowhere, dir="b"),
            a.state(nowhere, "m.room.create"),
            a.call("GET", "/rooms/%s/state" % q(nowhere)),
            a.event(nowhere, "$nosuchevent"),
            a.join(nowhere),
            a.call("POST", "/rooms/%s/join" % q(nowhere), {}),
            a.call("POST", "/rooms/%s/invite" % q(nowhere), {"user_id": people["bob"]["user_id"]}),
            a.call("POST", "/rooms/%s/kick" % q(nowhere), {"user_id": people["bob"]["user_id"]}),
            a.put_state(nowhere, "m.room.topic", {"topic": "x"}),
            a.call("GET", "/rooms/%s/joined_members" % q(nowhere)),
            a.join("#nosuchalias%d:%s" % (os.getpid(), stack.server_name)),
            a.call("GET", "/directory/room/" + q("#nosuchalias:" + stack.server_name))):
        assert_error(result, 404, "M_NOT_FOUND")
    room = a.create_room()
    _, sent = a.send(room, "here")
    other = a.create_room()
    assert_error(a.event(room, "$nosuchevent"), 404, "M_NOT_FOUND")
    # An event of another room is not found through this one.
    assert_error(a.event(other, sent["event_id"]), 404, "M_NOT_FOUND")
    assert_error(a.state(room, "m.room.topic"), 404, "M_NOT_FOUND")
    assert_error(a.state(room, "m.room.member", "@nobody:" + stack.server_name), 404,
                 "M_NOT_FOUND")

    async def go(c):
        return (await c.room_get_event(room, "$nosuchevent"),
                await c.room_send(nowhere, "m.room.message", {"msgtype": "m.text", "body": "x"}))

    got, sent_nowhere = nio_clients(stack, [people["alice"]], go)
    assert isinstance(got, nio.RoomGetEventError) and got.status_code == "M_NOT_FOUND", got
    assert isinstance(sent_nowhere, nio.RoomSendError), sent_nowhere
    assert sent_nowhere.status_code == "M_NOT_FOUND"


def test_transaction_ids(stack, people, api):
    """A replayed txnId gives the same event_id and no second event; the
    same txnId from another device is a new event; unsigned.transaction_id
    is shown to the sending device only."""
    alice = people["alice"]
    room = api["alice"].create_room(preset="public_chat")
    assert api["bob"].join(room)[0] == 200
    a = api["alice"]
    first = a.send(room, "once", txn="dup-1")
    again = a.send(room, "once", txn="dup-1")
    assert first[0] == again[0] == 200
    assert first[1]["event_id"] == again[1]["event_id"]
    # Even with a different body, the retry is the first event.
    changed = a.send(room, "twice?", txn="dup-1")
    assert changed[1]["event_id"] == first[1]["event_id"]

    async def go(c):
        one = await c.room_send(room, "m.room.message", {"msgtype": "m.text", "body": "nio"},
                                tx_id="nio-1")
        two = await c.room_send(room, "m.room.message", {"msgtype": "m.text", "body": "nio"},
                                tx_id="nio-1")
        return one, two

    one, two = nio_clients(stack, [alice], go)
    assert isinstance(one, nio.RoomSendResponse) and isinstance(two, nio.RoomSendResponse)
    assert one.event_id == two.event_id

    # The same ID in another room is another request.
    room2 = a.create_room()
    elsewhere = a.send(room2, "once", txn="dup-1")
    assert elsewhere[0] == 200 and elsewhere[1]["event_id"] != first[1]["event_id"]
    # Another device of alice, and bob, may reuse the ID: new events.
    status, second = stack.login(alice["username"], alice["password"])
    assert status == 200
    other_device = Api(stack, second)
    other = other_device.send(room, "once", txn="dup-1")
    bobs = api["bob"].send(room, "once", txn="dup-1")
    assert other[0] == bobs[0] == 200
    ids = {first[1]["event_id"], other[1]["event_id"], bobs[1]["event_id"]}
    assert len(ids) == 3

    bodies = [e["content"].get("body") for e in a.timeline(room) if e["type"] == "m.room.message"]
    assert bodies == ["once", "nio", "once", "once"]

    # The redaction endpoint is idempotent too.
    target = first[1]["event_id"]
    r1 = a.call("PUT", "/rooms/%s/redact/%s/red-1" % (q(room), q(target)), {})
    r2 = a.call("PUT", "/rooms/%s/redact/%s/red-1" % (q(room), q(target)), {})
    assert r1[0] == r2[0] == 200 and r1[1]["event_id"] == r2[1]["event_id"]
    assert [e["type"] for e in a.timeline(room)].count("m.room.redaction") == 1

    # transaction_id: to the sending device only, in /event and /messages.
    eid = other[1]["event_id"]
    assert other_device.event(room, eid)[1]["unsigned"]["transaction_id"] == "dup-1"
    assert "transaction_id" not in a.event(room, eid)[1]["unsigned"]
    assert "transaction_id" not in api["bob"].event(room, eid)[1]["unsigned"]
    chunks = {}
    for who, client in (("device2", other_device), ("alice", a), ("bob", api["bob"])):
        chunk = client.messages(room, dir="b", limit=20)[1]["chunk"]
        chunks[who] = {e["event_id"]: e for e in chunk}
    assert chunks["device2"][eid]["unsigned"]["transaction_id"] == "dup-1"
    assert "transaction_id" not in chunks["alice"][eid]["unsigned"]
    assert "transaction_id" not in chunks["bob"][eid]["unsigned"]
    assert chunks["bob"][bobs[1]["event_id"]]["unsigned"]["transaction_id"] == "dup-1"
    other_device.call("POST", "/logout")


def test_event_format(stack, people, api):
    """Client events carry event_id, room_id, sender, origin_server_ts,
    type, content and unsigned.age; state events a state_key."""
    alice = people["alice"]
    a = api["alice"]
    room = a.create_room(name="Formats")
    _, sent = a.send(room, "format")
    for ev in (a.event(room, sent["event_id"])[1],
               a.messages(room, dir="b", limit=1)[1]["chunk"][0]):
        assert ev["event_id"] == sent["event_id"]
        assert (ev["room_id"], ev["sender"], ev["type"]) == (room, alice["user_id"],
                                                             "m.room.message")
        assert ev["content"] == {"msgtype": "m.text", "body": "format"}
        assert isinstance(ev["origin_server_ts"], int) and ev["origin_server_ts"] > 0
        assert isinstance(ev["unsigned"]["age"], int) and ev["unsigned"]["age"] >= 0
        assert "state_key" not in ev
        # Federation fields stay out of the client format.
        for key in ("auth_events", "prev_events", "hashes", "signatures", "depth"):
            assert key not in ev
    state = a.ok("GET", "/rooms/%s/state" % q(room))
    for ev in state:
        assert {"event_id", "room_id", "sender", "origin_server_ts", "type", "content",
                "state_key", "unsigned"} <= set(ev), ev
        assert ev["event_id"].startswith("$")
    status, name = a.state(room, "m.room.name")
    assert (status, name) == (200, {"name": "Formats"})


def test_create_room_event_order(stack, people, api):
    """createRoom sends its events in the spec's order."""
    alice, bob = people["alice"], people["bob"]
    room = api["alice"].create_room(
        preset="private_chat", name="N", topic="T", invite=[bob["user_id"]],
        room_alias_name="rmorder%d" % os.getpid(),
        initial_state=[{"type": "org.example.one", "state_key": "k", "content": {"n": 1}}])
    got = [(e["type"], e["state_key"]) for e in api["alice"].timeline(room)]
    assert got == [
        ("m.room.create", ""), ("m.room.member", alice["user_id"]),
        ("m.room.power_levels", ""), ("m.room.canonical_alias", ""),
        ("m.room.join_rules", ""), ("m.room.history_visibility", ""),
        ("m.room.guest_access", ""), ("org.example.one", "k"),
        ("m.room.name", ""), ("m.room.topic", ""), ("m.room.member", bob["user_id"])]


V12_ROOM_ID = re.compile(r"^![A-Za-z0-9_-]{43}$")


@pytest.mark.parametrize("version", ["10", "11", "12"])
def test_room_versions(stack, people, api, version):
    """Each version makes a working room; v12 names it by its create event."""
    alice, bob = people["alice"], people["bob"]
    room = api["alice"].create_room(room_version=version, preset="public_chat")
    if version == "12":
        assert V12_ROOM_ID.match(room), room
    else:
        assert room.startswith("!") and room.endswith(":" + stack.server_name), room
    status, create = api["alice"].state(room, "m.room.create")
    assert status == 200 and create["room_version"] == version
    # Before v11 the creator is named in the content.
    assert create.get("creator") == (alice["user_id"] if version == "10" else None)
    assert api["bob"].join(room)[0] == 200
    status, sent = api["bob"].send(room, "v" + version)
    assert status == 200
    status, resp = api["alice"].messages(room, dir="b", limit=1)
    assert resp["chunk"][0]["content"]["body"] == "v" + version
    # Redaction, whose algorithm and "redacts" field move between versions.
    status, red = api["alice"].call("PUT", "/rooms/%s/redact/%s/v%s" % (
        q(room), q(sent["event_id"]), version), {"reason": "v" + version})
    assert status == 200, red
    status, ev = api["bob"].event(room, sent["event_id"])
    assert (ev["content"], ev["unsigned"]["redacted_because"]["event_id"]) == \
        ({}, red["event_id"])
    status, resp = api["bob"].messages(room, dir="b", limit=1)
    [shown] = resp["chunk"]
    assert (shown["event_id"], shown["type"], shown["redacts"]) == \
        (red["event_id"], "m.room.redaction", sent["event_id"])
    # The creator can still moderate (v12: above every power level).
    assert api["alice"].call("POST", "/rooms/%s/kick" % q(room),
                             {"user_id": bob["user_id"]})[0] == 200
    status, pl = api["alice"].state(room, "m.room.power_levels")
    assert (alice["user_id"] in pl["users"]) == (version != "12")


def test_room_version_default_and_unknown(stack, api):
    a = api["alice"]
    caps = a.ok("GET", "/capabilities")["capabilities"]["m.room_versions"]
    assert {"10", "11", "12"} <= set(caps["available"])
    # default_room_version: 10, which clients before version 12 handle
    # (the spec's recommended default is 12).
    assert caps["default"] == "10"
    room = a.create_room()
    assert a.state(room, "m.room.create")[1]["room_version"] == "10"
    assert_error(a.call("POST", "/createRoom", {"room_version": "9999"}), 400,
                 "M_UNSUPPORTED_ROOM_VERSION")


def test_presets(stack, people, api):
    """The presets' join rules, history visibility and guest access; visibility
    picks the preset when none is given; trusted_private_chat invitees get
    the creator's power (v11) or become additional creators (v12)."""
    alice, bob = people["alice"], people["bob"]
    a = api["alice"]

    def rules(room):
        status, ga = a.state(room, "m.room.guest_access")
        return (a.state(room, "m.room.join_rules")[1]["join_rule"],
                a.state(room, "m.room.history_visibility")[1]["history_visibility"],
                ga["guest_access"] if status == 200 else status)

    # public_chat: guest access forbidden, which no m.room.guest_access
    # event means; Synapse sends none, and neither does myelin.
    assert rules(a.create_room(preset="public_chat")) == ("public", "shared", 404)
    assert rules(a.create_room(preset="private_chat")) == ("invite", "shared", "can_join")
    assert rules(a.create_room(preset="trusted_private_chat")) == ("invite", "shared", "can_join")
    assert rules(a.create_room(visibility="public")) == ("public", "shared", 404)
    assert rules(a.create_room(visibility="private")) == ("invite", "shared", "can_join")
    assert rules(a.create_room()) == ("invite", "shared", "can_join")
    assert_error(a.call("POST", "/createRoom", {"preset": "nonsense"}), 400, "M_BAD_JSON")

    v11 = a.create_room(preset="trusted_private_chat", room_version="11", invite=[bob["user_id"]])
    users = a.state(v11, "m.room.power_levels")[1]["users"]
    assert users == {alice["user_id"]: 100, bob["user_id"]: 100}
    v12 = a.create_room(preset="trusted_private_chat", room_version="12", invite=[bob["user_id"]])
    assert a.state(v12, "m.room.create")[1]["additional_creators"] == [bob["user_id"]]
    assert a.state(v12, "m.room.power_levels")[1]["users"] == {}
    # As an additional creator, bob has unlimited power once joined.
    assert api["bob"].join(v12)[0] == 200
    assert api["bob"].put_state(v12, "m.room.power_levels",
                                {"users": {people["carol"]["user_id"]: 100}})[0] == 200


def test_initial_state_and_power_level_override(stack, people, api):
    alice, bob = people["alice"], people["bob"]
    a = api["alice"]

    async def go(c):
        return await c.room_create(
            room_version="11", preset=nio.RoomPreset.public_chat,
            initial_state=[
                {"type": "m.room.history_visibility", "content": {
                    "history_visibility": "world_readable"}},
                {"type": "org.example.setting", "state_key": "colour",
                 "content": {"value": "green"}}],
            power_level_override={"events_default": 10, "state_default": 20,
                                  "users": {alice["user_id"]: 100, bob["user_id"]: 20}})

    created = nio_clients(stack, [alice], go)
    assert isinstance(created, nio.RoomCreateResponse), created
    room = created.room_id
    # initial_state comes after the preset, so it wins.
    assert a.state(room, "m.room.history_visibility") == \
        (200, {"history_visibility": "world_readable"})
    assert a.state(room, "org.example.setting", "colour") == (200, {"value": "green"})
    pl = a.state(room, "m.room.power_levels")[1]
    assert (pl["events_default"], pl["state_default"], pl["users"]) == \
        (10, 20, {alice["user_id"]: 100, bob["user_id"]: 20})
    # The rest of the defaults stay.
    assert (pl["ban"], pl["kick"], pl["redact"], pl["events"]["m.room.power_levels"]) == \
        (50, 50, 50, 100)
    # The override has effect: bob (20) may set a plain state event, carol
    # (0) may not even talk.
    assert api["bob"].join(room)[0] == 200
    assert api["carol"].join(room)[0] == 200
    assert api["bob"].put_state(room, "m.room.topic", {"topic": "bob's"})[0] == 200
    assert_error(api["carol"].send(room, "hello?"), 403, "M_FORBIDDEN")
    # A malformed initial_state is refused as a whole.
    assert_error(a.call("POST", "/createRoom", {"initial_state": [{"content": {}}]}), 400,
                 "M_BAD_JSON")
    assert_error(a.call("POST", "/createRoom", {"power_level_content_override": []}), 400,
                 "M_BAD_JSON")


def test_is_direct_invites(stack, people, api):
    """is_direct marks the createRoom invites, and only those."""
    alice, bob, carol = people["alice"], people["bob"], people["carol"]

    async def go(c):
        return await c.room_create(is_direct=True, invite=[bob["user_id"]],
                                   preset=nio.RoomPreset.trusted_private_chat)

    created = nio_clients(stack, [alice], go)
    assert isinstance(created, nio.RoomCreateResponse), created
    room = created.room_id
    status, member = api["alice"].state(room, "m.room.member", bob["user_id"])
    assert (status, member["membership"], member.get("is_direct")) == (200, "invite", True)
    assert "is_direct" not in api["alice"].state(room, "m.room.member", alice["user_id"])[1]
    plain = api["alice"].create_room(invite=[carol["user_id"]])
    status, member = api["alice"].state(plain, "m.room.member", carol["user_id"])
    assert (status, member["membership"], "is_direct" in member) == (200, "invite", False)
    # The invitee accepts.
    assert api["bob"].join(room)[0] == 200
    assert api["alice"].membership(room, bob["user_id"]) == "join"


def test_transaction_id_scope_is_the_endpoint(stack, api):
    """Spec: C-S API, "Transaction identifiers": a retransmission has the
    same txnId *and* path; /send and /redact with one txnId are two requests."""
    a = api["alice"]
    room = a.create_room()
    status, sent = a.send(room, "to be redacted", txn="shared-1")
    assert status == 200
    status, red = a.call("PUT", "/rooms/%s/redact/%s/shared-1" % (q(room), q(sent["event_id"])),
                         {})
    assert status == 200 and red["event_id"] != sent["event_id"]
    assert a.event(room, sent["event_id"])[1]["content"] == {}


def test_restricted_join(api):
    """Spec: "Restricted rooms": members of an allowed room join without an
    invite (a resident member vouches through join_authorised_via_users_server);
    others are refused."""
    a, b, c = api["alice"], api["bob"], api["carol"]
    space = a.create_room(preset="public_chat")
    assert b.join(space)[0] == 200
    room = a.create_room(preset="private_chat", initial_state=[{
        "type": "m.room.join_rules", "state_key": "",
        "content": {"join_rule": "restricted",
                    "allow": [{"type": "m.room_membership", "room_id": space}]}}])
    # Carol is in no allowed room: refused.
    assert_error(c.join(room), 403, "M_FORBIDDEN")
    status, resp = b.join(room)
    assert status == 200, resp
    assert b.membership(room, b.user_id) == "join"
    member = b.state(room, "m.room.member", b.user["user_id"])[1]
    assert member["join_authorised_via_users_server"] == a.user["user_id"]
    # After joining the allowed room, Carol may join too.
    assert c.join(space)[0] == 200
    assert c.join(room)[0] == 200


def test_members_at_a_point_in_time(api):
    """GET /members?at=: the members as of a pagination token."""
    a, b = api["alice"], api["bob"]
    room = a.create_room(preset="public_chat")
    a.send(room, "before bob")
    status, page = a.messages(room, dir="b", limit=1)
    assert status == 200
    token = page["start"]
    assert b.join(room)[0] == 200
    status, now = a.call("GET", "/rooms/%s/members" % q(room))
    assert status == 200
    assert {e["state_key"] for e in now["chunk"]} == {a.user["user_id"], b.user["user_id"]}
    status, then = a.call("GET", "/rooms/%s/members?at=%s" % (q(room), q(token)))
    assert status == 200, then
    assert {e["state_key"] for e in then["chunk"]} == {a.user["user_id"]}
    assert_error(a.call("GET", "/rooms/%s/members?at=bogus" % q(room)), 400, "M_INVALID_PARAM")
