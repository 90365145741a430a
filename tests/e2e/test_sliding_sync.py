"""Simplified sliding sync (MSC4186), driven the way Element X drives it:
a room list with a range and required_state, then incremental requests
with pos that long-poll; room subscriptions; extensions (issue 14)."""
import concurrent.futures
import os
import re
import time

import pytest

from conftest import C, User, q, start_stack, stop_stack

SS = "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync"
OTK = "signed_curve25519"

# What Element X's room list asks for (matrix-rust-sdk's RoomListService, trimmed).
RSTATE = [["m.room.name", ""], ["m.room.avatar", ""], ["m.room.encryption", ""],
          ["m.room.create", ""], ["m.room.member", "$LAZY"], ["m.room.member", "$ME"]]


def body(limit=1, rng=(0, 19), rstate=None, **extra):
    b = {"conn_id": "room-list",
         "lists": {"all_rooms": {"ranges": [list(rng)], "timeline_limit": limit,
                                 "required_state": RSTATE if rstate is None else rstate}}}
    b.update(extra)
    return b


def ss(u, b, pos=None, timeout=0):
    """One sliding sync request: (status, answer)."""
    path = SS + "?timeout=%d" % timeout
    if pos is not None:
        path += "&pos=" + q(pos)
    return u.call("POST", path, b)


def ss_ok(u, b, pos=None, timeout=0):
    status, r = ss(u, b, pos, timeout)
    assert status == 200, r
    return r


def bodies(room):
    return [e["content"].get("body") for e in room.get("timeline", [])]


def state_keys(room, etype):
    return sorted(e["state_key"] for e in room.get("required_state", []) if e["type"] == etype)


def test_versions_advertise_simplified_sliding_sync(stack):
    status, r = stack.request("GET", "/_matrix/client/versions")
    assert status == 200
    assert r["unstable_features"].get("org.matrix.simplified_msc3575") is True


def test_first_request_range_and_required_state(stack, uniq):
    a = User.register(stack, uniq("ssa"))
    b = User.register(stack, uniq("ssb"))
    named = a.create_room(name="Named room", topic="not asked for")
    unnamed = a.create_room(invite=[b.user_id])
    b.join(unnamed)
    a.send_text(named, "first")
    b.send_text(unnamed, "second")
    r = ss_ok(a, body(limit=3))
    assert r["lists"] == {"all_rooms": {"count": 2}}
    assert set(r["rooms"]) == {named, unnamed}
    n, u = r["rooms"][named], r["rooms"][unnamed]
    assert n["initial"] is True and n["name"] == "Named room"
    assert "heroes" not in n
    # Only what required_state names: the name and create, not the topic.
    types = {e["type"] for e in n["required_state"]}
    assert {"m.room.name", "m.room.create", "m.room.member"} <= types
    assert "m.room.topic" not in types and "m.room.power_levels" not in types
    assert bodies(n)[-1] == "first" and len(n["timeline"]) == 3 and n["limited"] is True
    assert n["joined_count"] == 1 and n["invited_count"] == 0
    # An unnamed room names itself from its heroes.
    assert [h["user_id"] for h in u["heroes"]] == [b.user_id]
    assert u["joined_count"] == 2
    # Recency: the newest message's room has the larger bump_stamp.
    assert u["bump_stamp"] > n["bump_stamp"]
    assert u["notification_count"] == 1
    assert re.match(r"^\d+\.\d+\.s[\d_]+$", r["pos"])


def test_range_picks_the_most_recent_rooms_and_a_message_bumps(stack, uniq):
    a = User.register(stack, uniq("ssr"))
    rooms = [a.create_room(name="r%d" % i) for i in range(3)]
    for rid in rooms:
        a.send_text(rid, "in " + rid)
    # The range [0, 0]: only the most recent room.
    r = ss_ok(a, body(rng=(0, 0)))
    assert r["lists"]["all_rooms"]["count"] == 3
    assert list(r["rooms"]) == [rooms[2]]
    old = r["rooms"][rooms[2]]["bump_stamp"]
    # A message moves the oldest room to the top: it comes with its new bump_stamp.
    a.send_text(rooms[0], "bump")
    r = ss_ok(a, body(rng=(0, 0)), pos=r["pos"])
    assert list(r["rooms"]) == [rooms[0]]
    assert r["rooms"][rooms[0]]["bump_stamp"] > old
    assert r["rooms"][rooms[0]]["initial"] is True
    # A state event that is not a bump type does not move a room.
    a.put_state(rooms[1], "m.room.topic", {"topic": "quiet"})
    r = ss_ok(a, body(rng=(0, 0), rstate=[]), pos=r["pos"])
    assert list(r["rooms"]) == [rooms[0]] or r["rooms"] == {}


def test_incremental_long_poll_wakes_on_a_message(stack, uniq):
    a = User.register(stack, uniq("ssl"))
    b = User.register(stack, uniq("ssl"))
    room = a.create_room(invite=[b.user_id])
    b.join(room)
    r = ss_ok(a, body(limit=5))
    assert r["rooms"][room]["initial"] is True
    # Nothing new: the request waits; the message wakes it and is all it carries.
    with concurrent.futures.ThreadPoolExecutor(1) as ex:
        fut = ex.submit(ss_ok, a, body(limit=5), r["pos"], 20000)
        time.sleep(0.5)
        b.send_text(room, "wake up")
        r2 = fut.result(timeout=25)
    sec = r2["rooms"][room]
    assert bodies(sec) == ["wake up"]
    assert "initial" not in sec
    assert sec["num_live"] == 1 and sec["limited"] is False
    # An incremental answer sends only the rooms that changed.
    other = a.create_room(name="other")
    r3 = ss_ok(a, body(limit=5), pos=r2["pos"])
    assert list(r3["rooms"]) == [other]
    # With nothing new, timeout 0 answers at once, with no rooms.
    r4 = ss_ok(a, body(limit=5), pos=r3["pos"])
    assert r4["rooms"] == {} and r4["pos"] != r3["pos"]


def test_room_subscription(stack, uniq):
    a = User.register(stack, uniq("sss"))
    far = a.create_room(name="far", topic="subscribed topic")
    a.send_text(far, "old")
    a.send_text(far, "new")
    near = a.create_room(name="near")
    b = body(rng=(0, 0), rstate=[])
    b["room_subscriptions"] = {far: {"timeline_limit": 1,
                                     "required_state": [["m.room.topic", ""]]},
                               "!not-mine:localhost": {"timeline_limit": 1}}
    r = ss_ok(a, b)
    assert set(r["rooms"]) == {near, far}
    sec = r["rooms"][far]
    assert bodies(sec) == ["new"] and sec["limited"] is True
    assert [e["content"]["topic"] for e in sec["required_state"]] == ["subscribed topic"]
    # A subscription asked again with more timeline expands it.
    b["room_subscriptions"] = {far: {"timeline_limit": 2,
                                     "required_state": [["m.room.topic", ""]]}}
    r = ss_ok(a, b, pos=r["pos"])
    assert bodies(r["rooms"][far]) == ["old", "new"]
    assert r["rooms"][far]["expanded_timeline"] is True


def test_subscription_to_a_v12_room(stack, uniq):
    """Room version 12's IDs carry no server name; they are room IDs all the same."""
    a = User.register(stack, uniq("ssv"))
    room = a.create_room(room_version="12", name="twelve")
    assert ":" not in room
    r = ss_ok(a, {"room_subscriptions": {room: {"timeline_limit": 1,
                                                "required_state": [["m.room.name", ""]]}}})
    assert r["rooms"][room]["name"] == "twelve"
    assert r["rooms"][room]["required_state"][0]["content"] == {"name": "twelve"}


def test_lazy_members_are_the_timeline_senders(stack, uniq):
    a = User.register(stack, uniq("ssz"))
    b = User.register(stack, uniq("ssz"))
    c = User.register(stack, uniq("ssz"))
    room = a.create_room(invite=[b.user_id, c.user_id])
    b.join(room)
    c.join(room)
    c.send_text(room, "from c")
    b.send_text(room, "from b")
    r = ss_ok(a, body(limit=1, rstate=[["m.room.member", "$LAZY"]]))
    assert state_keys(r["rooms"][room], "m.room.member") == [b.user_id]
    r = ss_ok(a, body(limit=1, rstate=[["m.room.member", "$ME"]]))
    assert state_keys(r["rooms"][room], "m.room.member") == [a.user_id]
    r = ss_ok(a, body(limit=1, rstate=[["m.room.member", "*"]]))
    assert state_keys(r["rooms"][room], "m.room.member") == sorted(
        [a.user_id, b.user_id, c.user_id])


def test_invite_shows_invite_state_then_leave_drops_the_room(stack, uniq):
    a = User.register(stack, uniq("ssi"))
    b = User.register(stack, uniq("ssi"))
    room = a.create_room(name="Invited to")
    a.send_text(room, "before the invite")
    r = ss_ok(b, body())
    assert room not in r["rooms"]
    a.room_post(room, "invite", b.user_id)
    r = ss_ok(b, body(), pos=r["pos"])
    sec = r["rooms"][room]
    assert "timeline" not in sec
    names = [e["content"]["name"] for e in sec["invite_state"]
             if e["type"] == "m.room.name"]
    assert names == ["Invited to"]
    assert sec["invite_state"][-1]["content"]["membership"] == "invite"
    # is_invite filters.
    f = body(conn_id="filters", lists={"inv": {"ranges": [[0, 9]],
                                               "filters": {"is_invite": True}}})
    assert ss_ok(b, f)["lists"]["inv"]["count"] == 1
    b.join(room)
    r = ss_ok(b, body(limit=2), pos=r["pos"])
    # Joined: the room is new to the client, which had only the invite's stripped state.
    sec = r["rooms"][room]
    assert sec["timeline"][-1]["content"]["membership"] == "join"
    assert sec["initial"] is True and "invite_state" not in sec
    assert "m.room.create" in [e["type"] for e in sec["required_state"]]
    b.room_post(room, "leave")
    r = ss_ok(b, body(limit=2), pos=r["pos"])
    # The leave comes once...
    assert r["rooms"][room]["timeline"][-1]["content"]["membership"] == "leave"
    assert r["rooms"][room]["membership"] == "leave"
    # ... and then the room is gone from the list.
    a.send_text(room, "after the leave")
    r = ss_ok(b, body(limit=2), pos=r["pos"])
    assert room not in r["rooms"] and r["lists"]["all_rooms"]["count"] == 0
    assert ss_ok(b, body(conn_id="fresh"))["lists"]["all_rooms"]["count"] == 0


def test_ignored_users_events_and_invites_are_not_sent(stack, uniq):
    a = User.register(stack, uniq("ssg"))
    b = User.register(stack, uniq("ssg"))
    room = a.create_room(invite=[b.user_id])
    b.join(room)
    a.ok("PUT", "/user/%s/account_data/m.ignored_user_list" % q(a.user_id),
         {"ignored_users": {b.user_id: {}}})
    a.send_text(room, "mine")
    b.send_text(room, "ignored")
    other = b.create_room(invite=[a.user_id])
    r = ss_ok(a, body(limit=5))
    assert "ignored" not in bodies(r["rooms"][room]) and "mine" in bodies(r["rooms"][room])
    assert other not in r["rooms"]


def test_filters(stack, uniq):
    a = User.register(stack, uniq("ssf"))
    b = User.register(stack, uniq("ssf"))
    dm = a.create_room(invite=[b.user_id], is_direct=True)
    enc = a.create_room(initial_state=[{"type": "m.room.encryption", "state_key": "",
                                        "content": {"algorithm": "m.megolm.v1.aes-sha2"}}])
    space = a.create_room(creation_content={"type": "m.space"})
    child = a.create_room(name="child")
    a.put_state(space, "m.space.child", {"via": ["localhost"]}, key=child)
    a.ok("PUT", "/user/%s/account_data/m.direct" % q(a.user_id), {b.user_id: [dm]})

    def ids(filters):
        r = ss_ok(a, {"lists": {"l": {"ranges": [[0, 9]], "filters": filters}}})
        return r["lists"]["l"]["count"], set(r["rooms"])

    assert ids({"is_dm": True}) == (1, {dm})
    assert ids({"is_dm": False})[0] == 3
    assert ids({"is_encrypted": True}) == (1, {enc})
    assert ids({"room_types": ["m.space"]}) == (1, {space})
    assert ids({"not_room_types": ["m.space"]})[0] == 3
    assert ids({"room_types": [None]})[0] == 3
    assert ids({"spaces": [space]}) == (1, {child})
    r = ss_ok(a, {"lists": {"l": {"ranges": [[0, 9]], "filters": {"is_dm": True}}}})
    assert r["rooms"][dm]["is_dm"] is True


def test_extensions_to_device_and_e2ee(stack, uniq):
    a = User.register(stack, uniq("sse"))
    b = User.register(stack, uniq("sse"))
    room = a.create_room(invite=[b.user_id])
    b.join(room)
    ext = {"to_device": {"enabled": True}, "e2ee": {"enabled": True}}
    a.ok("POST", "/keys/upload", {"one_time_keys": {
        "%s:k%d" % (OTK, i): {"key": "k%d" % i, "signatures": {}} for i in range(3)}})
    r = ss_ok(a, body(extensions=ext))
    e2ee = r["extensions"]["e2ee"]
    assert e2ee["device_one_time_keys_count"][OTK] == 3
    assert e2ee["device_unused_fallback_key_types"] == []
    td = r["extensions"]["to_device"]
    assert td["events"] == []
    b.ok("PUT", "/sendToDevice/m.test/t1", {"messages": {a.user_id: {a.device_id: {"n": 1}}}})
    # The message wakes the long-poll; since acknowledges it.
    r = ss_ok(a, body(extensions=dict(ext, to_device={"enabled": True,
                                                      "since": td["next_batch"]})),
              pos=r["pos"], timeout=10000)
    td = r["extensions"]["to_device"]
    assert [(e["type"], e["sender"], e["content"]) for e in td["events"]] == [
        ("m.test", b.user_id, {"n": 1})]
    r = ss_ok(a, body(extensions=dict(ext, to_device={"enabled": True,
                                                      "since": td["next_batch"]})),
              pos=r["pos"])
    assert r["extensions"]["to_device"]["events"] == []
    # b's new device keys: b is in device_lists.changed.
    b.ok("POST", "/keys/upload", {"device_keys": {
        "user_id": b.user_id, "device_id": b.device_id,
        "algorithms": ["m.olm.v1.curve25519-aes-sha2"],
        "keys": {"ed25519:" + b.device_id: "e"}, "signatures": {}}})
    r = ss_ok(a, body(extensions=ext), pos=r["pos"], timeout=10000)
    assert b.user_id in r["extensions"]["e2ee"]["device_lists"]["changed"]
    status, err = ss(a, body(extensions={"to_device": {"enabled": True, "since": "x"}}))
    assert (status, err["errcode"]) == (400, "M_INVALID_PARAM")


def test_extensions_account_data_receipts_typing(stack, uniq):
    a = User.register(stack, uniq("ssd"))
    b = User.register(stack, uniq("ssd"))
    room = a.create_room(invite=[b.user_id])
    b.join(room)
    outside = a.create_room(name="outside the range")
    a.ok("PUT", "/user/%s/account_data/org.example.global" % q(a.user_id), {"g": 1})
    a.ok("PUT", "/user/%s/rooms/%s/account_data/org.example.room" % (q(a.user_id), q(room)),
         {"r": 1})
    a.ok("PUT", "/user/%s/rooms/%s/account_data/org.example.room" % (
        q(a.user_id), q(outside)), {"r": 2})
    ext = {"account_data": {"enabled": True}, "receipts": {"enabled": True},
           "typing": {"enabled": True}}
    b.send_text(room, "newest")
    r = ss_ok(a, body(rng=(0, 0), extensions=ext))
    assert list(r["rooms"]) == [room]
    ad = r["extensions"]["account_data"]
    assert {"type": "org.example.global", "content": {"g": 1}} in ad["global"]
    # Room account data only for the rooms the lists and subscriptions cover.
    assert list(ad["rooms"]) == [room]
    assert ad["rooms"][room] == [{"type": "org.example.room", "content": {"r": 1}}]
    # The room outside the range enters it: all its account data comes, not
    # only what changed since pos.
    r2 = ss_ok(a, body(rng=(0, 1), extensions=ext), pos=r["pos"])
    assert r2["rooms"][outside]["initial"] is True
    assert r2["extensions"]["account_data"]["rooms"][outside] == [
        {"type": "org.example.room", "content": {"r": 2}}]
    assert room not in r2["extensions"]["account_data"]["rooms"]
    eid = b.send_text(room, "read me")
    r = ss_ok(a, body(rng=(0, 0), extensions=ext), pos=r["pos"])
    b.ok("POST", "/rooms/%s/receipt/m.read/%s" % (q(room), q(eid)), {})
    b.ok("PUT", "/rooms/%s/typing/%s" % (q(room), q(b.user_id)),
         {"typing": True, "timeout": 30000})
    got = {}
    for _ in range(5):
        r = ss_ok(a, body(rng=(0, 0), extensions=ext), pos=r["pos"], timeout=10000)
        for k in ("receipts", "typing"):
            if r["extensions"][k]["rooms"]:
                got[k] = r["extensions"][k]["rooms"]
        if "receipts" in got and "typing" in got:
            break
    assert got["receipts"][room]["type"] == "m.receipt"
    assert b.user_id in got["receipts"][room]["content"][eid]["m.read"]
    assert got["typing"][room] == {"type": "m.typing", "content": {"user_ids": [b.user_id]}}


def test_unknown_pos_and_bad_requests(stack, uniq):
    a = User.register(stack, uniq("ssu"))
    b = User.register(stack, uniq("ssu"))
    r = ss_ok(a, body())
    # Another user's position, a made-up connection, a replaced connection.
    status, err = ss(b, body(), pos=r["pos"])
    assert (status, err["errcode"]) == (400, "M_UNKNOWN_POS")
    conn = r["pos"].split(".")[0]
    status, err = ss(a, body(), pos="%d.1.s1" % (int(conn) + 100000))
    assert (status, err["errcode"]) == (400, "M_UNKNOWN_POS")
    status, err = ss(a, dict(body(), conn_id="other"), pos=r["pos"])
    assert (status, err["errcode"]) == (400, "M_UNKNOWN_POS")
    # A retry of the previous position is fine; a position before one acknowledged is not.
    r2 = ss_ok(a, body(), pos=r["pos"])
    r3 = ss_ok(a, body(), pos=r2["pos"])
    assert ss(a, body(), pos=r2["pos"])[0] == 200
    status, err = ss(a, body(), pos=r["pos"])
    assert (status, err["errcode"]) == (400, "M_UNKNOWN_POS")
    assert r3["pos"]
    # Starting over without pos replaces the connection.
    ss_ok(a, body())
    status, err = ss(a, body(), pos=r3["pos"])
    assert (status, err["errcode"]) == (400, "M_UNKNOWN_POS")
    for bad in ({"lists": []}, {"lists": {"l": {"ranges": [[5, 1]]}}},
                {"lists": {"l": {"ranges": [[0, 1]], "timeline_limit": -1}}},
                {"lists": {"l": {"required_state": [["m.room.name"]]}}},
                {"lists": {"l": {"filters": {"is_dm": "yes"}}}},
                {"extensions": {"e2ee": {"enabled": "yes"}}}, {"conn_id": 5}):
        status, err = ss(a, bad)
        assert (status, err["errcode"]) == (400, "M_BAD_JSON"), bad
    status, err = ss(a, {"room_subscriptions": {"not-a-room": {}}})
    assert (status, err["errcode"]) == (400, "M_INVALID_PARAM")
    status, err = ss(a, body(), pos="garbage")
    assert (status, err["errcode"]) == (400, "M_INVALID_PARAM")
    status, err = stack.request("POST", SS, body())
    assert status == 401


def test_pos_continues_on_another_sync_process(stack, uniq):
    """A second stack on the same database: its myelin-sync continues a
    connection the first one's answered."""
    with open(stack.conf) as f:
        conf = f.read()
    db = re.search(r"^database = (.*)$", conf, re.M).group(1)
    if not os.environ.get("MYELIN_TEST_PG"):
        db = os.path.join(stack.dir, db)
    other = start_stack(extra_conf="database = %s\n" % db)
    try:
        a = User.register(stack, uniq("ssp"))
        room = a.create_room(name="shared")
        r = ss_ok(a, body(limit=3))
        assert r["rooms"][room]["initial"] is True
        a.send_text(room, "seen by the other process")
        a2 = User(other, a.resp)
        r2 = ss_ok(a2, body(limit=3), pos=r["pos"])
        assert bodies(r2["rooms"][room]) == ["seen by the other process"]
        assert "initial" not in r2["rooms"][room]
        r3 = ss_ok(a, body(limit=3), pos=r2["pos"])
        assert r3["rooms"] == {}
    finally:
        stop_stack(other)


def test_stale_connections_expire(clock_stack, uniq):
    a = User.register(clock_stack, uniq("ssx"))
    r = ss_ok(a, body())
    assert ss(a, body(), pos=r["pos"])[0] == 200
    clock_stack.clock.advance(8 * 24 * 3600 * 1000)
    status, err = ss(a, body(), pos=r["pos"])
    assert (status, err["errcode"]) == (400, "M_UNKNOWN_POS")
