"""Room upgrades (spec: "Room Upgrades"): the replacement room, its
predecessor and carried state, the tombstone, the old room gone quiet,
aliases and the directory moved, bans kept; refusals."""
import nio

from conftest import C, nio_run, q


def user(stack, uniq):
    return stack.register(uniq("up"), "pw-up-1")


def as_user(stack, acct, fn):
    async def go(client):
        client.access_token = acct["access_token"]
        client.user_id = acct["user_id"]
        return await fn(client)
    return nio_run(stack, go, acct["user_id"], acct["device_id"])


def state(stack, acct, room_id, etype, state_key=""):
    return stack.request("GET", "%s/rooms/%s/state/%s/%s" % (
        C, q(room_id), etype, q(state_key)), token=acct["access_token"])


def upgrade(stack, acct, room_id, body):
    return stack.request("POST", "%s/rooms/%s/upgrade" % (C, q(room_id)), body,
                         token=acct["access_token"])


def test_upgrade(stack, uniq):
    alice, bob, carol = user(stack, uniq), user(stack, uniq), user(stack, uniq)
    tag = uniq("upg")
    alias = "#%s:%s" % (tag, stack.server_name)

    async def setup(client):
        created = await client.room_create(
            visibility=nio.RoomVisibility.public, alias=tag, name="Old " + tag,
            topic="Topic " + tag, room_version="11", preset=nio.RoomPreset.public_chat)
        assert isinstance(created, nio.RoomCreateResponse), created
        rid = created.room_id
        for etype, content in (
                ("m.room.avatar", {"url": "mxc://localhost/avatar"}),
                ("m.room.history_visibility", {"history_visibility": "world_readable"}),
                ("m.room.encryption", {"algorithm": "m.megolm.v1.aes-sha2"}),
                ("m.room.guest_access", {"guest_access": "forbidden"}),
                ("org.example.custom", {"kept": False})):
            r = await client.room_put_state(rid, etype, content)
            assert isinstance(r, nio.RoomPutStateResponse), r
        return rid

    old = as_user(stack, alice, setup)

    async def join(client):
        return await client.join(old)

    for who in (bob, carol):
        assert isinstance(as_user(stack, who, join), nio.JoinResponse)
    status, _ = stack.request("POST", C + "/rooms/%s/ban" % q(old),
                              {"user_id": carol["user_id"], "reason": "spam"},
                              token=alice["access_token"])
    assert status == 200

    # Refusals first: bob lacks the power, versions and rooms must exist.
    status, body = upgrade(stack, bob, old, {"new_version": "12"})
    assert (status, body["errcode"]) == (403, "M_FORBIDDEN")
    status, body = upgrade(stack, alice, old, {"new_version": "999"})
    assert (status, body["errcode"]) == (400, "M_UNSUPPORTED_ROOM_VERSION")
    status, body = upgrade(stack, alice, old, {})
    assert (status, body["errcode"]) == (400, "M_MISSING_PARAM")
    status, body = upgrade(stack, alice, "!nosuch:" + stack.server_name, {"new_version": "12"})
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    # Nothing of the refused attempts was written.
    assert state(stack, alice, old, "m.room.tombstone")[0] == 404

    status, body = upgrade(stack, alice, old, {"new_version": "12"})
    assert status == 200, body
    new = body["replacement_room"]
    assert new != old and new.startswith("!")

    # The tombstone points to the new room; the new room's create event back.
    status, tomb = state(stack, bob, old, "m.room.tombstone")
    assert status == 200
    assert tomb["replacement_room"] == new and tomb["body"]
    status, create = state(stack, alice, new, "m.room.create")
    assert status == 200
    assert create["room_version"] == "12"
    assert create["predecessor"]["room_id"] == old
    assert create["predecessor"]["event_id"].startswith("$")
    assert "type" not in create

    # Carried state.
    for etype, key, value in (
            ("m.room.name", "name", "Old " + tag),
            ("m.room.topic", "topic", "Topic " + tag),
            ("m.room.avatar", "url", "mxc://localhost/avatar"),
            ("m.room.join_rules", "join_rule", "public"),
            ("m.room.history_visibility", "history_visibility", "world_readable"),
            ("m.room.guest_access", "guest_access", "forbidden"),
            ("m.room.encryption", "algorithm", "m.megolm.v1.aes-sha2")):
        status, content = state(stack, alice, new, etype)
        assert (status, content.get(key)) == (200, value), etype
    assert state(stack, alice, new, "org.example.custom")[0] == 404
    status, pl = state(stack, alice, new, "m.room.power_levels")
    assert status == 200
    # Room version 12: the creator stands above power levels, unlisted.
    assert alice["user_id"] not in pl.get("users", {})
    status, member = state(stack, alice, new, "m.room.member", alice["user_id"])
    assert (status, member["membership"]) == (200, "join")
    status, ban = state(stack, alice, new, "m.room.member", carol["user_id"])
    assert (status, ban["membership"], ban.get("reason")) == (200, "ban", "spam")
    # Bob is not carried over, but may join: the join rule came along.
    assert isinstance(as_user(stack, bob, lambda c: c.join(new)), nio.JoinResponse)

    # The alias moved, with the canonical alias.
    status, body = stack.request("GET", C + "/directory/room/" + q(alias))
    assert (status, body["room_id"]) == (200, new)
    assert state(stack, alice, new, "m.room.canonical_alias")[1]["alias"] == alias
    status, old_alias = state(stack, alice, old, "m.room.canonical_alias")
    assert status == 200 and "alias" not in old_alias

    # The directory lists the new room in place of the old.
    vis = lambda r: stack.request("GET", C + "/directory/list/room/" + q(r))[1]["visibility"]
    assert (vis(old), vis(new)) == ("private", "public")

    # The old room went quiet: bob can no longer talk or invite there.
    status, pl = state(stack, alice, old, "m.room.power_levels")
    assert pl["events_default"] >= 50 and pl["invite"] >= 50
    status, body = stack.request("PUT", C + "/rooms/%s/send/m.room.message/t1" % q(old),
                                 {"msgtype": "m.text", "body": "hello?"},
                                 token=bob["access_token"])
    assert (status, body["errcode"]) == (403, "M_FORBIDDEN")
    # Alice, still powerful there, can speak; bob's reads still work.
    status, _ = stack.request("PUT", C + "/rooms/%s/send/m.room.message/t2" % q(old),
                              {"msgtype": "m.text", "body": "moved"},
                              token=alice["access_token"])
    assert status == 200


def test_upgrade_space_to_older_version(stack, uniq):
    """A v12 space upgraded to v10 keeps its type and children, and its
    creator keeps the power v12 gave them implicitly."""
    alice, bob = user(stack, uniq), user(stack, uniq)
    status, body = stack.request("POST", C + "/createRoom", {
        "preset": "public_chat", "creation_content": {"type": "m.space"},
        "name": "Space"}, token=alice["access_token"])
    assert status == 200
    space = body["room_id"]
    status, body = stack.request("POST", C + "/createRoom", {"preset": "public_chat"},
                                 token=alice["access_token"])
    child = body["room_id"]
    status, _ = stack.request("PUT", C + "/rooms/%s/state/m.space.child/%s" % (q(space), q(child)),
                              {"via": [stack.server_name]}, token=alice["access_token"])
    assert status == 200
    assert isinstance(as_user(stack, bob, lambda c: c.join(space)), nio.JoinResponse)

    status, body = upgrade(stack, alice, space, {"new_version": "10"})
    assert status == 200, body
    new = body["replacement_room"]
    status, create = state(stack, alice, new, "m.room.create")
    assert (create["room_version"], create["type"]) == ("10", "m.space")
    assert create["predecessor"]["room_id"] == space
    status, c = state(stack, alice, new, "m.space.child", child)
    assert (status, c["via"]) == (200, [stack.server_name])
    status, pl = state(stack, alice, new, "m.room.power_levels")
    assert pl["users"][alice["user_id"]] >= 100
    # ... enough to change anything there, and to upgrade again.
    status, body = upgrade(stack, alice, new, {"new_version": "12"})
    assert status == 200, body
    status, hier = stack.request("GET", "/_matrix/client/v1/rooms/%s/hierarchy" % q(
        body["replacement_room"]), token=alice["access_token"])
    assert status == 200
    assert [r["room_id"] for r in hier["rooms"]] == [body["replacement_room"], child]


def test_upgrade_keeps_raised_user_levels(stack, uniq):
    """From v11 to v11, a moderator who may tombstone upgrades: they get
    the levels needed to copy the state, then their own level back."""
    alice, mod = user(stack, uniq), user(stack, uniq)
    status, body = stack.request("POST", C + "/createRoom", {
        "preset": "public_chat", "room_version": "11",
        "power_level_content_override": {
            "users": {alice["user_id"]: 100, mod["user_id"]: 60},
            "events": {"m.room.tombstone": 60}}}, token=alice["access_token"])
    assert status == 200, body
    old = body["room_id"]
    assert isinstance(as_user(stack, mod, lambda c: c.join(old)), nio.JoinResponse)
    status, body = upgrade(stack, mod, old, {"new_version": "11"})
    assert status == 200, body
    new = body["replacement_room"]
    status, pl = state(stack, mod, new, "m.room.power_levels")
    assert pl["users"][mod["user_id"]] == 60
    assert pl["users"][alice["user_id"]] == 100
    # Room version 11: the creator is the create event's sender.
    status, full = stack.request("GET", C + "/rooms/%s/state" % q(new), token=mod["access_token"])
    assert status == 200
    create = [e for e in full if e["type"] == "m.room.create"][0]
    assert create["sender"] == mod["user_id"] and "creator" not in create["content"]


def test_upgrade_of_a_room_without_guest_access(stack, uniq):
    """As Synapse (its private_chat preset under the carried state): a room
    that has no m.room.guest_access (public_chat sends none) gets can_join
    in its replacement, and one that has it keeps its own."""
    alice = user(stack, uniq)
    for preset, want in (("public_chat", "can_join"), ("private_chat", "can_join")):
        status, body = stack.request("POST", C + "/createRoom", {"preset": preset},
                                     token=alice["access_token"])
        old = body["room_id"]
        had = state(stack, alice, old, "m.room.guest_access")[0]
        assert had == (404 if preset == "public_chat" else 200)
        status, body = upgrade(stack, alice, old, {"new_version": "10"})
        assert status == 200, body
        status, ga = state(stack, alice, body["replacement_room"], "m.room.guest_access")
        assert (status, ga.get("guest_access")) == (200, want)
    status, body = stack.request("POST", C + "/createRoom", {"preset": "public_chat"},
                                 token=alice["access_token"])
    old = body["room_id"]
    st, _ = stack.request("PUT", C + "/rooms/%s/state/m.room.guest_access/" % q(old),
                          {"guest_access": "forbidden"}, token=alice["access_token"])
    assert st == 200
    status, body = upgrade(stack, alice, old, {"new_version": "10"})
    status, ga = state(stack, alice, body["replacement_room"], "m.room.guest_access")
    assert (status, ga.get("guest_access")) == (200, "forbidden")


def test_a_create_naming_a_predecessor_carries_nothing(stack, uniq):
    """A room whose create event names another room as its predecessor,
    without that room's tombstone pointing back, moves none of its
    aliases, directory entry or members' tags on a join (anyone may write
    a predecessor; only the old room's powers may write its tombstone)."""
    alice, bob, mallory = user(stack, uniq), user(stack, uniq), user(stack, uniq)
    ta, tb, tm = alice["access_token"], bob["access_token"], mallory["access_token"]
    status, body = stack.request("POST", C + "/createRoom", {"preset": "public_chat"}, token=ta)
    victim = body["room_id"]
    alias = "#victim%s:%s" % (uniq("v")[-6:], stack.server_name)
    assert stack.request("PUT", C + "/directory/room/" + q(alias), {"room_id": victim},
                         token=ta)[0] == 200
    assert stack.request("PUT", C + "/directory/list/room/" + q(victim),
                         {"visibility": "public"}, token=ta)[0] == 200
    assert stack.request("POST", C + "/join/" + q(victim), {}, token=tb)[0] == 200
    assert stack.request("PUT", C + "/user/%s/rooms/%s/tags/fav" % (q(bob["user_id"]),
                         q(victim)), {}, token=tb)[0] == 200
    status, body = stack.request("POST", C + "/createRoom", {
        "preset": "public_chat", "creation_content": {
            "predecessor": {"room_id": victim, "event_id": "$nothing"}}}, token=tm)
    if status != 200:
        # Refused outright is as safe: nothing to carry.
        assert status == 400, body
        return
    fake = body["room_id"]
    assert stack.request("POST", C + "/join/" + q(fake), {}, token=tb)[0] == 200
    status, got = stack.request("GET", C + "/directory/room/" + q(alias), token=tb)
    assert (status, got["room_id"]) == (200, victim)
    status, tags = stack.request("GET", C + "/user/%s/rooms/%s/tags" % (q(bob["user_id"]),
                                 q(fake)), token=tb)
    assert (status, tags) == (200, {"tags": {}})
    status, pr = stack.request("GET", C + "/publicRooms")
    listed = [r["room_id"] for r in pr["chunk"]]
    assert victim in listed
