"""Server-side search (POST /search, room_events) and the user directory
(POST /user_directory/search), on the shared stack.

Messages go in through matrix-nio where a client would send them; the
search API itself is not in matrix-nio 0.20, so it is called raw.  Every
test searches for words of its own, since the stack is shared."""
import asyncio
import os

import nio
import pytest

from conftest import C, User, nio_run, q

_n = [0]


def word(prefix="w"):
    """A fresh lowercase word of letters only, so no engine splits it."""
    _n[0] += 1
    n, out = os.getpid() * 1000 + _n[0], ""
    while n:
        n, d = divmod(n, 26)
        out += chr(ord("a") + d)
    return prefix + out


class SearchUser(User):
    """A fresh user (with a display name when given), searching."""

    def __init__(self, stack, name, displayname=None):
        super().__init__(stack, stack.register(name))
        self.name = name
        if displayname:
            self.ok("PUT", "/profile/%s/displayname" % q(self.user_id),
                    {"displayname": displayname})

    def invite_join(self, room, other):
        self.ok("POST", "/rooms/%s/invite" % q(room), {"user_id": other.user_id})
        other.join(room)

    def search(self, term, next_batch=None, expect=200, **crit):
        crit["search_term"] = term
        path = "/search"
        if next_batch is not None:
            path += "?next_batch=" + q(next_batch)
        status, resp = self.call("POST", path, {"search_categories": {"room_events": crit}})
        assert status == expect, resp
        return resp["search_categories"]["room_events"] if status == 200 else resp

    def directory(self, term, **extra):
        status, resp = self.call("POST", "/user_directory/search",
                                 dict(search_term=term, **extra))
        assert status == 200, resp
        return resp


@pytest.fixture
def users(stack, uniq):
    """Three fresh users with display names: alice, bob and carol."""
    return {who: SearchUser(stack, uniq("se" + who[0]), who.capitalize() + " " + word("n"))
            for who in ("alice", "bob", "carol")}


def nio_send(stack, user, room, bodies):
    """Sends bodies in order with a matrix-nio client; returns the event IDs."""
    async def go(client):
        client.restore_login(user.user_id, user.device_id, user.token)
        out = []
        for b in bodies:
            resp = await client.room_send(room, "m.room.message",
                                          {"msgtype": "m.text", "body": b})
            assert isinstance(resp, nio.RoomSendResponse), resp
            out.append(resp.event_id)
        return out
    return nio_run(stack, go, user=user.user_id)


def ids(res):
    return [r["result"]["event_id"] for r in res["results"]]


def test_search_finds_a_sent_message(stack, users):
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    room = alice.create_room(name="search basics")
    alice.invite_join(room, bob)
    w = word("martian")
    [eid] = nio_send(stack, alice, room, ["The %s landed near the river" % w])

    res = bob.search(w)
    assert ids(res) == [eid]
    assert res["count"] == 1
    hit = res["results"][0]
    assert hit["rank"] > 0
    ev = hit["result"]
    assert ev["room_id"] == room and ev["sender"] == alice.user_id
    assert ev["type"] == "m.room.message" and w in ev["content"]["body"]
    assert w in res["highlights"]
    assert "next_batch" not in res
    # Whole words, any case.
    assert ids(bob.search(w.upper() + " river")) == [eid]
    assert ids(bob.search(w + " ocean")) == []
    # Not in rooms the searcher is not joined to.
    assert carol.search(w)["results"] == [] and carol.search(w)["count"] == 0
    # Nor after leaving.
    bob.ok("POST", "/rooms/%s/leave" % q(room), {})
    assert bob.search(w)["results"] == []
    # No category asked: nothing found.
    assert alice.ok("POST", "/search", {"search_categories": {}}) == {"search_categories": {}}


def test_search_syntax(stack, users):
    alice = users["alice"]
    room = alice.create_room()
    w = word("apple")
    e1 = alice.send_text(room, "%s pie is warm" % w)
    e2 = alice.send_text(room, "%s cake is cold" % w)
    e3 = alice.send_text(room, "warm %s in a pie" % w)
    assert set(ids(alice.search(w))) == {e1, e2, e3}
    # A quoted phrase, a word left out, alternatives.
    assert ids(alice.search('"%s pie"' % w)) == [e1]
    assert set(ids(alice.search("%s -cake" % w))) == {e1, e3}
    assert set(ids(alice.search("%s cake or %s warm" % (w, w)))) == {e1, e2, e3}
    # Punctuation alone finds nothing, and is no error.
    assert alice.search('!!! " -')["results"] == []
    assert alice.search("")["results"] == []


def test_order_recent_and_rank(stack, users):
    alice = users["alice"]
    room = alice.create_room()
    w = word("zebra")
    once = alice.send_text(room, "a %s once, among many other words of a long message" % w)
    many = alice.send_text(room, "%s %s %s" % (w, w, w))
    last = alice.send_text(room, "%s and a few words" % w)

    recent = alice.search(w, order_by="recent")
    assert ids(recent) == [last, many, once]
    ranked = alice.search(w, order_by="rank")
    assert ids(ranked)[0] == many
    ranks = [r["rank"] for r in ranked["results"]]
    assert ranks == sorted(ranks, reverse=True)
    # rank is the default.
    assert ids(alice.search(w)) == ids(ranked)
    alice.search(w, order_by="oldest", expect=400)


@pytest.mark.parametrize("order", ["recent", "rank"])
def test_pagination(stack, users, order):
    alice = users["alice"]
    room = alice.create_room()
    w = word("page")
    sent = [alice.send_text(room, "%s number %d %s" % (w, i, "x " * i)) for i in range(5)]

    seen, batch, pages = [], None, 0
    while True:
        res = alice.search(w, next_batch=batch, order_by=order, filter={"limit": 2})
        assert res["count"] == 5
        pages += 1
        seen += ids(res)
        batch = res.get("next_batch")
        if batch is None:
            break
    assert pages == 3 and len(seen) == 5 and set(seen) == set(sent)
    if order == "recent":
        assert seen == sent[::-1]
    # A token is for the order it came from.
    first = alice.search(w, order_by=order, filter={"limit": 2})
    other = "rank" if order == "recent" else "recent"
    err = alice.search(w, next_batch=first["next_batch"], order_by=other, expect=400)
    assert err["errcode"] == "M_INVALID_PARAM"
    err = alice.search(w, next_batch="not a token", expect=400)
    assert err["errcode"] == "M_INVALID_PARAM"


def test_event_context_and_profile(stack, users):
    alice, bob = users["alice"], users["bob"]
    room = alice.create_room()
    alice.invite_join(room, bob)
    w = word("ctx")
    before = alice.send_text(room, "just before")
    hit = bob.send_text(room, "the %s itself" % w)
    after = alice.send_text(room, "just after")
    alice.send_text(room, "later still")

    res = alice.search(w, event_context={"before_limit": 1, "after_limit": 1,
                                         "include_profile": True})
    [r] = res["results"]
    ctx = r["context"]
    assert [e["event_id"] for e in ctx["events_before"]] == [before]
    assert [e["event_id"] for e in ctx["events_after"]] == [after]
    assert isinstance(ctx["start"], str) and isinstance(ctx["end"], str)
    prof = ctx["profile_info"]
    assert prof[bob.user_id]["displayname"].startswith("Bob ")
    assert prof[alice.user_id]["displayname"].startswith("Alice ")
    # The context's end token pages on from there with /messages.
    status, page = alice.call("GET", "/rooms/%s/messages?dir=f&limit=1&from=%s" % (
        q(room), q(ctx["end"])))
    assert status == 200 and page["chunk"][0]["content"]["body"] == "later still"
    # Defaults: five each way, no profiles; none without event_context.
    res = alice.search(w, event_context={})
    ctx = res["results"][0]["context"]
    assert len(ctx["events_before"]) == 5 and "profile_info" not in ctx
    assert "context" not in alice.search(w)["results"][0]


def test_groupings(stack, users):
    alice, bob = users["alice"], users["bob"]
    r1, r2 = alice.create_room(), alice.create_room()
    alice.invite_join(r1, bob)
    alice.invite_join(r2, bob)
    w = word("grp")
    a1 = [alice.send_text(r1, "%s from alice %d" % (w, i)) for i in range(3)]
    b1 = bob.send_text(r1, "%s from bob" % w)
    a2 = alice.send_text(r2, "%s in the second room" % w)

    res = bob.search(w, order_by="recent", groupings={"group_by": [
        {"key": "room_id"}, {"key": "sender"}]})
    assert res["count"] == 5
    rooms = res["groups"]["room_id"]
    assert set(rooms) == {r1, r2}
    assert rooms[r1]["count"] == 4 and rooms[r2]["count"] == 1
    assert set(rooms[r1]["results"]) == set(a1 + [b1]) and rooms[r2]["results"] == [a2]
    assert sorted(g["order"] for g in rooms.values()) == [1, 2]
    senders = res["groups"]["sender"]
    assert senders[alice.user_id]["count"] == 4 and senders[bob.user_id]["count"] == 1
    assert senders[bob.user_id]["results"] == [b1]
    assert all("next_batch" not in g for g in rooms.values())

    # A page too small for a group: its next_batch pages that group only.
    res = bob.search(w, order_by="recent", filter={"limit": 2},
                     groupings={"group_by": [{"key": "room_id"}]})
    assert ids(res) == [a2, b1]
    g1 = res["groups"]["room_id"][r1]
    assert g1["results"] == [b1] and g1["count"] == 4 and "next_batch" in g1
    assert "next_batch" not in res["groups"]["room_id"][r2]
    more = bob.search(w, next_batch=g1["next_batch"], order_by="recent",
                      filter={"limit": 2})
    assert ids(more) == a1[::-1][:2]
    assert all(r["result"]["room_id"] == r1 for r in more["results"])
    assert more["count"] == 4
    rest = bob.search(w, next_batch=more["next_batch"], order_by="recent",
                      filter={"limit": 2})
    assert ids(rest) == a1[:1] and "next_batch" not in rest
    # The same inside a sender's group.
    res = bob.search(w, order_by="recent", filter={"limit": 2},
                     groupings={"group_by": [{"key": "sender"}]})
    ga = res["groups"]["sender"][alice.user_id]
    assert ga["results"] == [a2] and ga["count"] == 4
    more = bob.search(w, next_batch=ga["next_batch"], order_by="recent",
                      filter={"limit": 2})
    assert ids(more) == a1[::-1][:2] and more["count"] == 4
    bad = bob.search(w, groupings={"group_by": [{"key": "colour"}]}, expect=400)
    assert bad["errcode"] == "M_INVALID_PARAM"


def test_filter_and_state(stack, users):
    alice, bob = users["alice"], users["bob"]
    r1, r2 = alice.create_room(name="first"), alice.create_room()
    alice.invite_join(r1, bob)
    alice.invite_join(r2, bob)
    w = word("flt")
    e1 = alice.send_text(r1, w + " one")
    e2 = bob.send_text(r2, w + " two")
    assert ids(bob.search(w, filter={"rooms": [r1]})) == [e1]
    assert ids(bob.search(w, filter={"not_rooms": [r1]})) == [e2]
    assert ids(bob.search(w, filter={"senders": [bob.user_id]})) == [e2]
    assert ids(bob.search(w, filter={"not_senders": [bob.user_id]})) == [e1]
    assert ids(bob.search(w, filter={"types": ["m.room.name"]})) == []
    assert set(ids(bob.search(w, filter={"types": ["m.room.*"]}))) == {e1, e2}
    res = bob.search(w, filter={"rooms": [r1]}, include_state=True)
    state = res["state"][r1]
    assert {e["type"] for e in state} >= {"m.room.create", "m.room.member", "m.room.name"}
    assert list(res["state"]) == [r1]
    bad = bob.search(w, filter={"rooms": "nope"}, expect=400)
    assert bad["errcode"] == "M_BAD_JSON"


def test_redacted_message_disappears(stack, users):
    alice, bob = users["alice"], users["bob"]
    room = alice.create_room()
    alice.invite_join(room, bob)
    w = word("secret")
    keep = alice.send_text(room, "%s that stays" % w)
    gone = alice.send_text(room, "%s that goes" % w)
    assert set(ids(bob.search(w))) == {keep, gone}

    async def redact(client):
        client.restore_login(alice.user_id, alice.device_id, alice.token)
        resp = await client.room_redact(room, gone, reason="oops")
        assert isinstance(resp, nio.RoomRedactResponse), resp
    nio_run(stack, redact, user=alice.user_id)
    res = bob.search(w)
    assert ids(res) == [keep] and res["count"] == 1
    assert ids(bob.search(w + " goes")) == []


def test_name_and_topic(stack, users):
    alice, bob = users["alice"], users["bob"]
    n, t = word("orchard"), word("harvest")
    room = alice.create_room(name="The %s room" % n, topic="All about the %s season" % t)
    alice.invite_join(room, bob)
    res = bob.search(n)
    assert [r["result"]["type"] for r in res["results"]] == ["m.room.name"]
    assert res["results"][0]["result"]["content"]["name"] == "The %s room" % n
    assert bob.search(n, keys=["content.body"])["results"] == []
    assert len(bob.search(n, keys=["content.name"])["results"]) == 1
    res = bob.search(t, keys=["content.topic"])
    assert [r["result"]["type"] for r in res["results"]] == ["m.room.topic"]
    # A later topic is found too, with its m.topic text.
    t2 = word("winter")
    alice.ok("PUT", "/rooms/%s/state/m.room.topic/" % q(room), {
        "topic": "Now %s" % t2,
        "m.topic": {"m.text": [{"mimetype": "text/html", "body": "<b>%s</b>" % t2},
                               {"body": "Now %s" % t2}]}})
    assert [r["result"]["content"]["topic"] for r in bob.search(t2)["results"]] == [
        "Now %s" % t2]
    bad = bob.search(n, keys=["content.colour"], expect=400)
    assert bad["errcode"] == "M_INVALID_PARAM"


def test_search_bad_requests(stack, users):
    alice = users["alice"]
    status, resp = alice.call("POST", "/search", {})
    assert (status, resp["errcode"]) == (400, "M_MISSING_PARAM")
    status, resp = alice.call("POST", "/search", {"search_categories": {"room_events": {}}})
    assert (status, resp["errcode"]) == (400, "M_MISSING_PARAM")
    status, resp = alice.call("POST", "/search", {"search_categories": {
        "room_events": {"search_term": 5}}})
    assert (status, resp["errcode"]) == (400, "M_BAD_JSON")
    status, resp = stack.request("POST", C + "/search", {"search_categories": {}})
    assert (status, resp["errcode"]) == (401, "M_MISSING_TOKEN")


def test_user_directory(stack, uniq):
    tag = word("dir")
    alice = SearchUser(stack, uniq("uda"), "Alice %s Smith" % tag)
    bob = SearchUser(stack, uniq("udb"), "Bob %s Jones" % tag)
    carol = SearchUser(stack, uniq("udc"), "Carol %s Brown" % tag)
    dave = SearchUser(stack, uniq("udd"), "Dave %s Green" % tag)
    room = alice.create_room(preset="private_chat")
    alice.invite_join(room, bob)

    def found(who, term, **extra):
        return [r["user_id"] for r in who.directory(term, **extra)["results"]]

    # By display name (any word of it, any case) and by user ID localpart.
    assert found(bob, "alice " + tag) == [alice.user_id]
    # As Synapse: a private room lists the others, not the searcher.
    assert found(bob, tag.upper()) == [alice.user_id]
    assert found(bob, alice.name) == [alice.user_id]
    assert found(bob, "@" + alice.name) == [alice.user_id]
    assert found(bob, alice.user_id) == [alice.user_id]
    r = bob.directory(alice.name)["results"][0]
    assert r["display_name"] == "Alice %s Smith" % tag and "avatar_url" not in r
    # Words match from their start only.
    assert found(bob, tag[3:]) == []
    # Nobody shares a room with carol, and she is in no public room.
    assert found(carol, tag) == []
    assert found(dave, alice.name) == []
    # A public room puts its members in everyone's directory.
    pub = carol.create_room(preset="public_chat")
    dave.join(pub)
    assert found(alice, "dave " + tag) == [dave.user_id]
    assert set(found(alice, tag)) == {bob.user_id, carol.user_id, dave.user_id}
    # People sharing a room come first; limit and limited.
    assert found(bob, tag)[0] == alice.user_id
    res = bob.directory(tag, limit=1)
    assert len(res["results"]) == 1 and res["limited"] is True
    assert bob.directory(tag)["limited"] is False
    # LIKE's wildcards are plain characters.
    assert found(bob, "%") == [] and found(bob, "_") == []
    status, resp = bob.call("POST", "/user_directory/search", {})
    assert (status, resp["errcode"]) == (400, "M_MISSING_PARAM")
