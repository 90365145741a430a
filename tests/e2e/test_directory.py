"""The published room directory, knocking, forgetting rooms, reporting events,
space hierarchies and the room versions capability, through matrix-nio where a
client would use it and raw HTTP for the rest."""
from urllib.parse import urlencode

import nio

from conftest import C, User, nio_run, q, shared_secret_body

ADMIN_REGISTER = "/_synapse/admin/v1/register"


def user(stack, uniq, prefix="d"):
    return stack.register(uniq(prefix), "pw-dir-1")


def admin_user(stack, uniq):
    status, body = stack.request("GET", ADMIN_REGISTER)
    assert status == 200
    status, body = stack.request("POST", ADMIN_REGISTER, shared_secret_body(
        stack, body["nonce"], uniq("dadm"), "pw-dadm-1", admin=True))
    assert status == 200, body
    return body


def as_user(stack, acct, fn):
    """Runs fn(client) with a nio client logged in as acct."""
    async def go(client):
        client.access_token = acct["access_token"]
        client.user_id = acct["user_id"]
        return await fn(client)
    return nio_run(stack, go, acct["user_id"], acct["device_id"])


def create(stack, acct, **body):
    return User(stack, acct).create_room(**body)


def join(stack, acct, room_id):
    User(stack, acct).join(room_id)


def put_state(stack, acct, room_id, etype, content, state_key=""):
    status, resp = User(stack, acct).put_state(room_id, etype, content, state_key)
    assert status == 200, resp
    return resp["event_id"]


def get_state(stack, acct, room_id, etype, state_key=""):
    return User(stack, acct).state(room_id, etype, state_key)


def search(stack, acct, term, **extra):
    body = {"filter": {"generic_search_term": term}}
    body.update(extra)
    status, resp = stack.request("POST", C + "/publicRooms", body, token=acct["access_token"])
    assert status == 200, resp
    return resp


# Capabilities

def test_capabilities_lists_room_versions(stack, account):
    status, body = stack.request("GET", C + "/capabilities", token=account["access_token"])
    assert status == 200
    versions = body["capabilities"]["m.room_versions"]
    assert versions["default"] == "10"      # default_room_version
    assert versions["available"][versions["default"]] == "stable"
    for v in map(str, range(1, 13)):
        assert versions["available"][v] == "stable"


# Publishing

def test_publish_unpublish_with_nio(stack, uniq):
    alice = user(stack, uniq)
    tag = uniq("pub")

    async def go(client):
        created = await client.room_create(
            visibility=nio.RoomVisibility.public, name="Room " + tag,
            topic="About " + tag, alias=tag)
        assert isinstance(created, nio.RoomCreateResponse), created
        return created.room_id, await client.room_get_visibility(created.room_id)

    room_id, vis = as_user(stack, alice, go)
    assert isinstance(vis, nio.RoomGetVisibilityResponse), vis
    assert vis.visibility == "public"
    # Listed without a token (the spec's GET has no security), with its summary.
    status, body = stack.request("GET", C + "/publicRooms")
    assert status == 200
    entry = [r for r in body["chunk"] if r["room_id"] == room_id]
    assert len(entry) == 1
    entry = entry[0]
    assert entry["name"] == "Room " + tag
    assert entry["topic"] == "About " + tag
    assert entry["canonical_alias"] == "#%s:%s" % (tag, stack.server_name)
    assert entry["num_joined_members"] == 1
    assert entry["join_rule"] == "public"
    assert entry["world_readable"] is False
    assert entry["guest_can_join"] is False
    assert "room_type" not in entry
    assert isinstance(body["total_room_count_estimate"], int)
    # Unpublished: private, and gone from the list.
    path = C + "/directory/list/room/" + q(room_id)
    status, _ = stack.request("PUT", path, {"visibility": "private"}, token=alice["access_token"])
    assert status == 200
    status, body = stack.request("GET", path)
    assert (status, body["visibility"]) == (200, "private")
    assert search(stack, alice, tag)["chunk"] == []
    # The visibility defaults to public.
    status, _ = stack.request("PUT", path, {}, token=alice["access_token"])
    assert status == 200
    assert [r["room_id"] for r in search(stack, alice, tag)["chunk"]] == [room_id]


def test_who_may_publish(stack, uniq):
    alice, bob, admin = user(stack, uniq), user(stack, uniq), admin_user(stack, uniq)
    room_id = create(stack, alice, preset="public_chat")
    path = C + "/directory/list/room/" + q(room_id)
    # Not a member: refused.  A member below the canonical alias level: refused.
    status, body = stack.request("PUT", path, {"visibility": "public"}, token=bob["access_token"])
    assert (status, body["errcode"]) == (403, "M_FORBIDDEN")
    join(stack, bob, room_id)
    status, body = stack.request("PUT", path, {"visibility": "public"}, token=bob["access_token"])
    assert (status, body["errcode"]) == (403, "M_FORBIDDEN")
    assert stack.request("GET", path)[1]["visibility"] == "private"
    # A server admin may, member or not.
    status, _ = stack.request("PUT", path, {"visibility": "public"}, token=admin["access_token"])
    assert status == 200
    assert stack.request("GET", path)[1]["visibility"] == "public"
    # Bad input and unknown rooms.
    status, body = stack.request("PUT", path, {"visibility": "hidden"},
                                 token=alice["access_token"])
    assert (status, body["errcode"]) == (400, "M_INVALID_PARAM")
    unknown = C + "/directory/list/room/" + q("!nosuchroom:" + stack.server_name)
    status, body = stack.request("GET", unknown)
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    status, body = stack.request("PUT", unknown, {"visibility": "public"},
                                 token=alice["access_token"])
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")


def test_public_rooms_search_types_and_paging(stack, uniq):
    alice, bob = user(stack, uniq), user(stack, uniq)
    tag = uniq("page")
    rooms = [create(stack, alice, visibility="public", preset="public_chat",
                    name="%s room %d" % (tag, i)) for i in range(5)]
    # Two rooms get a second member: the largest rooms come first.
    for r in rooms[:2]:
        join(stack, bob, r)
    space = create(stack, alice, visibility="public", preset="public_chat",
                   topic="Topic mentioning " + tag.upper(),
                   creation_content={"type": "m.space"})
    # Published but invite-only: not listed.
    hidden = create(stack, alice, visibility="public", preset="private_chat", name=tag)
    # Synapse's order: joined members, most first, then room IDs descending.
    expect = sorted(rooms[:2], reverse=True) + sorted(rooms[2:] + [space], reverse=True)

    everything = search(stack, alice, tag)
    assert [r["room_id"] for r in everything["chunk"]] == expect
    assert everything["total_room_count_estimate"] == 6
    assert "next_batch" not in everything and "prev_batch" not in everything
    assert hidden not in [r["room_id"] for r in everything["chunk"]]
    assert [r["num_joined_members"] for r in everything["chunk"]] == [2, 2, 1, 1, 1, 1]

    # Forward in pages of 4, 2... then back.
    p1 = search(stack, alice, tag, limit=4)
    assert [r["room_id"] for r in p1["chunk"]] == expect[:4]
    assert "prev_batch" not in p1 and p1["next_batch"]
    p2 = search(stack, alice, tag, limit=4, since=p1["next_batch"])
    assert [r["room_id"] for r in p2["chunk"]] == expect[4:]
    assert "next_batch" not in p2 and p2["prev_batch"]
    back = search(stack, alice, tag, limit=4, since=p2["prev_batch"])
    assert [r["room_id"] for r in back["chunk"]] == expect[:4]
    assert "prev_batch" not in back and back["next_batch"]
    # GET pages too, with the same tokens.
    status, g1 = stack.request("GET", C + "/publicRooms?" + urlencode({"limit": 1}))
    assert status == 200 and len(g1["chunk"]) == 1 and g1["next_batch"]
    status, g2 = stack.request("GET", C + "/publicRooms?" + urlencode(
        {"limit": 1, "since": g1["next_batch"], "server": stack.server_name}))
    assert status == 200 and len(g2["chunk"]) == 1
    assert g2["chunk"][0]["room_id"] != g1["chunk"][0]["room_id"]
    assert g2["prev_batch"]

    # The search ignores case and looks at the topic; room_types filters.
    spaces = search(stack, alice, tag.upper(), filter={"generic_search_term": tag.upper(),
                                                       "room_types": ["m.space"]})
    assert [(r["room_id"], r["room_type"]) for r in spaces["chunk"]] == [(space, "m.space")]
    plain = search(stack, alice, tag, filter={"generic_search_term": tag,
                                              "room_types": [None]})
    assert [r["room_id"] for r in plain["chunk"]] == [r for r in expect if r != space]
    # No application service networks here.
    assert search(stack, alice, tag, third_party_instance_id="irc")["chunk"] == []
    assert len(search(stack, alice, tag, include_all_networks=True)["chunk"]) == 6

    # Bad tokens and other servers.
    status, body = stack.request("GET", C + "/publicRooms?since=garbage")
    assert (status, body["errcode"]) == (400, "M_INVALID_PARAM")
    status, body = stack.request("POST", C + "/publicRooms", {"limit": "ten"},
                                 token=alice["access_token"])
    assert (status, body["errcode"]) == (400, "M_BAD_JSON")
    # Another server's directory is asked of it: one that cannot be
    # reached is 502, as Synapse answers; a server that is no name, 400.
    status, body = stack.request("GET", C + "/publicRooms?server=elsewhere.example")
    assert (status, body["errcode"]) == (502, "M_UNKNOWN")
    status, body = stack.request("GET", C + "/publicRooms?server=bad%20name")
    assert (status, body["errcode"]) == (400, "M_INVALID_PARAM")
    status, body = stack.request("POST", C + "/publicRooms", {})
    assert (status, body["errcode"]) == (401, "M_MISSING_TOKEN")


# Knocking

def test_knock_then_invite(stack, uniq):
    alice, bob, carol = user(stack, uniq), user(stack, uniq), user(stack, uniq)
    tag = uniq("knock")
    room_id = create(stack, alice, room_alias_name=tag,
                     initial_state=[{"type": "m.room.join_rules",
                                     "content": {"join_rule": "knock"}}])
    status, body = stack.request("POST", C + "/knock/" + q(room_id),
                                 {"reason": "Let me in"}, token=bob["access_token"])
    assert (status, body) == (200, {"room_id": room_id})
    status, member = get_state(stack, alice, room_id, "m.room.member", bob["user_id"])
    assert status == 200
    assert (member["membership"], member["reason"]) == ("knock", "Let me in")
    # Through the alias, with no reason.
    status, body = stack.request("POST", C + "/knock/" + q("#%s:%s" % (tag, stack.server_name)),
                                 {}, token=carol["access_token"])
    assert (status, body) == (200, {"room_id": room_id})
    # The knock is answered with an invite, which bob accepts (with nio).
    status, _ = stack.request("POST", C + "/rooms/%s/invite" % q(room_id),
                              {"user_id": bob["user_id"]}, token=alice["access_token"])
    assert status == 200

    async def accept(client):
        return await client.join(room_id)

    joined = as_user(stack, bob, accept)
    assert isinstance(joined, nio.JoinResponse), joined
    assert get_state(stack, alice, room_id, "m.room.member", bob["user_id"])[1]["membership"] \
        == "join"
    # A joined user cannot knock.
    status, body = stack.request("POST", C + "/knock/" + q(room_id), {},
                                 token=bob["access_token"])
    assert (status, body["errcode"]) == (403, "M_FORBIDDEN")


def test_knock_refused(stack, uniq):
    alice, bob = user(stack, uniq), user(stack, uniq)
    invite_only = create(stack, alice, preset="private_chat")
    status, body = stack.request("POST", C + "/knock/" + q(invite_only), {},
                                 token=bob["access_token"])
    assert (status, body["errcode"]) == (403, "M_FORBIDDEN")
    # Room version 6 predates knocking.
    old = create(stack, alice, room_version="6",
                 initial_state=[{"type": "m.room.join_rules",
                                 "content": {"join_rule": "knock"}}])
    status, body = stack.request("POST", C + "/knock/" + q(old), {}, token=bob["access_token"])
    assert (status, body["errcode"]) == (403, "M_FORBIDDEN")
    status, body = stack.request("POST", C + "/knock/" + q("!nosuch:" + stack.server_name), {},
                                 token=bob["access_token"])
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    status, body = stack.request("POST", C + "/knock/" + q("#nosuch-%s:%s" % (
        uniq("a"), stack.server_name)), {}, token=bob["access_token"])
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")


# Forgetting

def test_forget(stack, uniq):
    alice, bob = user(stack, uniq), user(stack, uniq)
    room_id = create(stack, alice, preset="public_chat")

    async def cycle(client):
        joined = await client.join(room_id)
        early = await client.room_forget(room_id)
        left = await client.room_leave(room_id)
        first = await client.room_forget(room_id)
        again = await client.room_forget(room_id)
        return joined, early, left, first, again

    joined, early, left, first, again = as_user(stack, bob, cycle)
    assert isinstance(joined, nio.JoinResponse), joined
    # Spec: the user must leave first; Synapse answers 400 M_UNKNOWN.
    assert isinstance(early, nio.RoomForgetError), early
    assert early.status_code == "M_UNKNOWN"
    assert isinstance(left, nio.RoomLeaveResponse), left
    assert isinstance(first, nio.RoomForgetResponse), first
    assert isinstance(again, nio.RoomForgetResponse), again
    # The history is closed to bob now.
    status, body = stack.request("GET", C + "/rooms/%s/messages?dir=b" % q(room_id),
                                 token=bob["access_token"])
    assert (status, body["errcode"]) == (403, "M_FORBIDDEN")
    # Joining again ends the forgetting, and forgetting needs a leave again.
    join(stack, bob, room_id)
    status, body = stack.request("POST", C + "/rooms/%s/forget" % q(room_id), {},
                                 token=bob["access_token"])
    assert (status, body["errcode"]) == (400, "M_UNKNOWN")
    # A room one never was in: nothing to forget, as Synapse.
    status, body = stack.request("POST", C + "/rooms/%s/forget" % q(
        "!nosuch:" + stack.server_name), {}, token=bob["access_token"])
    assert (status, body) == (200, {})


def test_forget_after_ban(stack, uniq):
    alice, bob = user(stack, uniq), user(stack, uniq)
    room_id = create(stack, alice, preset="public_chat")
    join(stack, bob, room_id)
    status, _ = stack.request("POST", C + "/rooms/%s/ban" % q(room_id),
                              {"user_id": bob["user_id"]}, token=alice["access_token"])
    assert status == 200
    status, body = stack.request("POST", C + "/rooms/%s/forget" % q(room_id), {},
                                 token=bob["access_token"])
    assert (status, body) == (200, {})


# Reporting

def test_report_event(stack, uniq):
    alice, bob, carol = user(stack, uniq), user(stack, uniq), user(stack, uniq)
    room_id = create(stack, alice, preset="public_chat")
    join(stack, bob, room_id)

    async def send(client):
        return await client.room_send(room_id, "m.room.message",
                                      {"msgtype": "m.text", "body": "something rude"})

    sent = as_user(stack, alice, send)
    assert isinstance(sent, nio.RoomSendResponse), sent
    path = C + "/rooms/%s/report/%s" % (q(room_id), q(sent.event_id))
    status, body = stack.request("POST", path, {"reason": "rude", "score": -100},
                                 token=bob["access_token"])
    assert (status, body) == (200, {})
    # Spec v1.18 dropped score: a reason alone, or nothing at all, is fine.
    status, body = stack.request("POST", path, {"reason": "rude"}, token=bob["access_token"])
    assert (status, body) == (200, {})
    status, body = stack.request("POST", path, {}, token=bob["access_token"])
    assert (status, body) == (200, {})
    status, body = stack.request("POST", path, {"score": "high"}, token=bob["access_token"])
    assert (status, body["errcode"]) == (400, "M_BAD_JSON")
    # Unknown events, and reporters who are not in the room: 404.
    status, body = stack.request("POST", C + "/rooms/%s/report/%s" % (
        q(room_id), q("$nosuchevent")), {"reason": "x"}, token=bob["access_token"])
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    status, body = stack.request("POST", path, {"reason": "x"}, token=carol["access_token"])
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    # A redacted event has nothing left to report.
    status, _ = stack.request("PUT", C + "/rooms/%s/redact/%s/t1" % (q(room_id), q(sent.event_id)),
                              {}, token=alice["access_token"])
    assert status == 200
    status, body = stack.request("POST", path, {"reason": "x"}, token=bob["access_token"])
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")


# Spaces

def hierarchy(stack, acct, room_id, **params):
    path = "/_matrix/client/v1/rooms/%s/hierarchy" % q(room_id)
    if params:
        path += "?" + urlencode(params)
    return stack.request("GET", path, token=acct["access_token"])


def add_child(stack, acct, space, child, **content):
    content.setdefault("via", [stack.server_name])
    put_state(stack, acct, space, "m.space.child", content, state_key=child)


def make_tree(stack, uniq, alice):
    """space: a (order "a", suggested), nested (order "b"), b (order "c"),
    a remote room and a private room; nested: c."""
    tag = uniq("sp")

    async def go(client):
        made = {}
        for key, kw in (("space", {"space": True}), ("nested", {"space": True}),
                        ("a", {}), ("b", {}), ("c", {})):
            r = await client.room_create(name="%s %s" % (tag, key),
                                         preset=nio.RoomPreset.public_chat, **kw)
            assert isinstance(r, nio.RoomCreateResponse), r
            made[key] = r.room_id
        return made

    rooms = as_user(stack, alice, go)
    rooms["private"] = create(stack, alice, preset="private_chat", name=tag + " private")
    add_child(stack, alice, rooms["space"], rooms["a"], order="a", suggested=True)
    add_child(stack, alice, rooms["space"], rooms["nested"], order="b")
    add_child(stack, alice, rooms["space"], rooms["b"], order="c")
    add_child(stack, alice, rooms["space"], "!remote:elsewhere.example", order="d")
    add_child(stack, alice, rooms["space"], rooms["private"], order="e")
    # Without via a child does not count.
    put_state(stack, alice, rooms["space"], "m.space.child", {}, state_key=rooms["c"])
    add_child(stack, alice, rooms["nested"], rooms["c"])
    # A loop back to the top is walked once.
    add_child(stack, alice, rooms["nested"], rooms["space"])
    return rooms


def test_hierarchy(stack, uniq):
    alice, bob = user(stack, uniq), user(stack, uniq)
    r = make_tree(stack, uniq, alice)
    status, body = hierarchy(stack, alice, r["space"])
    assert status == 200, body
    ids = [e["room_id"] for e in body["rooms"]]
    # Depth first in the children's order; remote rooms are left out.
    assert ids == [r["space"], r["a"], r["nested"], r["c"], r["b"], r["private"]]
    assert "next_batch" not in body
    top = body["rooms"][0]
    assert top["room_type"] == "m.space"
    assert top["num_joined_members"] == 1 and top["join_rule"] == "public"
    assert top["world_readable"] is False and top["guest_can_join"] is False
    assert top["room_version"] == "10"      # default_room_version
    children = top["children_state"]
    assert [c["state_key"] for c in children] == [
        r["a"], r["nested"], r["b"], "!remote:elsewhere.example", r["private"]]
    for c in children:
        assert c["type"] == "m.space.child"
        assert c["content"]["via"] == [stack.server_name]
        assert c["sender"] == alice["user_id"]
        assert isinstance(c["origin_server_ts"], int)
    assert body["rooms"][1]["children_state"] == []
    # Someone who is not in the private room does not see it.
    status, body = hierarchy(stack, bob, r["space"])
    assert status == 200
    assert [e["room_id"] for e in body["rooms"]] == [
        r["space"], r["a"], r["nested"], r["c"], r["b"]]

    # max_depth and suggested_only.
    status, body = hierarchy(stack, alice, r["space"], max_depth=1)
    assert [e["room_id"] for e in body["rooms"]] == [
        r["space"], r["a"], r["nested"], r["b"], r["private"]]
    status, body = hierarchy(stack, alice, r["space"], max_depth=0)
    assert [e["room_id"] for e in body["rooms"]] == [r["space"]]
    status, body = hierarchy(stack, alice, r["space"], suggested_only="true")
    assert [e["room_id"] for e in body["rooms"]] == [r["space"], r["a"]]
    assert [c["state_key"] for c in body["rooms"][0]["children_state"]] == [r["a"]]


def test_hierarchy_pages(stack, uniq):
    alice = user(stack, uniq)
    r = make_tree(stack, uniq, alice)
    order = [r["space"], r["a"], r["nested"], r["c"], r["b"], r["private"]]
    seen, params = [], {"limit": 4}
    while True:
        status, body = hierarchy(stack, alice, r["space"], **params)
        assert status == 200, body
        assert len(body["rooms"]) <= 4
        seen += [e["room_id"] for e in body["rooms"]]
        if "next_batch" not in body:
            break
        params = {"limit": 4, "from": body["next_batch"]}
    assert seen == order
    status, body = hierarchy(stack, alice, r["space"], limit=2, max_depth=1)
    assert [e["room_id"] for e in body["rooms"]] == [r["space"], r["a"]]
    status, body2 = hierarchy(stack, alice, r["space"], limit=2, max_depth=1,
                              **{"from": body["next_batch"]})
    assert [e["room_id"] for e in body2["rooms"]] == [r["nested"], r["b"]]
    # The parameters may not change while paging; tokens must be ours.
    status, err = hierarchy(stack, alice, r["space"], limit=2, max_depth=2,
                            **{"from": body["next_batch"]})
    assert (status, err["errcode"]) == (400, "M_INVALID_PARAM")
    status, err = hierarchy(stack, alice, r["space"], **{"from": "nonsense"})
    assert (status, err["errcode"]) == (400, "M_INVALID_PARAM")
    status, err = hierarchy(stack, alice, r["space"], limit=0)
    assert (status, err["errcode"]) == (400, "M_INVALID_PARAM")


def test_hierarchy_forbidden(stack, uniq):
    alice, bob = user(stack, uniq), user(stack, uniq)
    private = create(stack, alice, preset="private_chat", creation_content={"type": "m.space"})
    status, body = hierarchy(stack, bob, private)
    assert (status, body["errcode"]) == (403, "M_FORBIDDEN")
    status, body = hierarchy(stack, bob, "!nosuch:" + stack.server_name)
    assert (status, body["errcode"]) == (403, "M_FORBIDDEN")
    # An invite is enough to look.
    status, _ = stack.request("POST", C + "/rooms/%s/invite" % q(private),
                              {"user_id": bob["user_id"]}, token=alice["access_token"])
    assert status == 200
    status, body = hierarchy(stack, bob, private)
    assert status == 200 and [e["room_id"] for e in body["rooms"]] == [private]
