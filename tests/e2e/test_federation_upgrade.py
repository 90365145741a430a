"""A room upgraded on another server (two myelin stacks, A and B): when
B's user joins the replacement over federation, B carries what it keeps
of the old room, as Synapse does: the user's tags, B's aliases of the old
room, and B's directory listing (SyTest 42tags "remote user has tags
copied to the new room", 60version_upgrade "/upgrade moves remote aliases
to the new room" and "... remove a room from their public directory")."""
import os

from conftest import q
from test_federation_edu import C, Waiter, call, pair  # noqa: F401 (fixtures)
from test_federation_keys import ca  # noqa: F401 (fixtures)


def test_joining_a_replacement_room_held_elsewhere_carries_tags_aliases_directory(pair):  # noqa: F811
    a, b = pair
    n = os.getpid()
    alice, bob = a.register("upa%d" % n), b.register("upb%d" % n)
    ta, tb = alice["access_token"], bob["access_token"]
    old = call(a, ta, "POST", C + "/createRoom", {
        "preset": "public_chat", "room_version": "10",
        "power_level_content_override": {"users": {alice["user_id"]: 100,
                                                   bob["user_id"]: 100}}})["room_id"]
    call(b, tb, "POST", C + "/join/%s?server_name=%s" % (q(old), q(a.server_name)), {})
    # B keeps of the old room: bob's tag, an alias of B's, B's directory entry.
    call(b, tb, "PUT", C + "/user/%s/rooms/%s/tags/work" % (q(bob["user_id"]), q(old)),
         {"order": 0.5})
    alias = "#upg%d:%s" % (n, b.server_name)
    call(b, tb, "PUT", C + "/directory/room/" + q(alias), {"room_id": old})
    call(b, tb, "PUT", C + "/directory/list/room/" + q(old), {"visibility": "public"})
    w = Waiter(b, tb)
    new = call(a, ta, "POST", C + "/rooms/%s/upgrade" % q(old),
               {"new_version": "10"})["replacement_room"]
    # As a client does: it learns of the replacement from the tombstone in
    # its own server's copy of the old room, then joins it.
    w.until(lambda body: any(
        e["type"] == "m.room.tombstone" and e["content"].get("replacement_room") == new
        for e in body.get("rooms", {}).get("join", {}).get(old, {}).get(
            "timeline", {}).get("events", [])), "the tombstone on B")
    call(b, tb, "POST", C + "/join/%s?server_name=%s" % (q(new), q(a.server_name)), {})
    tags = call(b, tb, "GET", C + "/user/%s/rooms/%s/tags" % (q(bob["user_id"]), q(new)))
    assert tags == {"tags": {"work": {"order": 0.5}}}
    got = call(b, tb, "GET", C + "/directory/room/" + q(alias))
    assert got["room_id"] == new
    listed = [r["room_id"] for r in call(b, tb, "GET", C + "/publicRooms")["chunk"]]
    assert new in listed and old not in listed
