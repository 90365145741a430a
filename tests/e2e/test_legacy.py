"""The deprecated client-server endpoints old clients and SyTest still call
(issue 10): the GET /events long-poll (waking on a send, peeking a
world_readable room, tokens shared with /sync, typing, receipts, tags
and presence in its chunk), GET /initialSync, GET /rooms/{id}/initialSync
(members, former members up to the leave, world_readable peekers, 403 for
others), GET /events/{eventId} and POST /rooms/{id}/send/{type}."""
import os
import threading
import time

import pytest

from conftest import User, q, start_stack, stop_stack


@pytest.fixture(scope="module")
def people(stack):
    """alice, bob and carol: registered once for the module."""
    return {who: User.register(stack, "lg%s%d" % (who, os.getpid()))
            for who in ("alice", "bob", "carol")}


def status_code(resp):
    status, body = resp
    return status, (body or {}).get("errcode")


def events(user, **params):
    """GET /events, timeout=0 unless given; the body (must be 200)."""
    params.setdefault("timeout", 0)
    status, body = user.get("/events", **params)
    assert status == 200, body
    return body


def now_token(user):
    return events(user)["end"]


def in_thread(fn, *args, **kwargs):
    """Runs fn(*args, **kwargs) in a thread; returns a function that waits
    for and gives its result."""
    out = {}

    def run():
        out["r"] = fn(*args, **kwargs)
    t = threading.Thread(target=run, daemon=True)
    t.start()

    def result():
        """The result, once the request answered."""
        t.join(90)
        assert not t.is_alive(), "the request never answered"
        return out["r"]
    return result, t.is_alive


def post_send(user, room, content, etype="m.room.message"):
    return user.call("POST", "/rooms/%s/send/%s" % (q(room), q(etype)), content)


def world_readable(owner, **create):
    room = owner.create_room(**create)
    status, _ = owner.put_state(room, "m.room.history_visibility",
                                {"history_visibility": "world_readable"})
    assert status == 200
    return room


# POST /rooms/{roomId}/send/{eventType}

def test_post_send_sends_each_time(people):
    alice = people["alice"]
    room = alice.create_room()
    content = {"msgtype": "m.text", "body": "no txn"}
    s1, b1 = post_send(alice, room, content)
    s2, b2 = post_send(alice, room, content)
    assert s1 == s2 == 200
    assert b1["event_id"] != b2["event_id"]
    bodies = [e["content"].get("body") for e in alice.timeline(room)
              if e["type"] == "m.room.message"]
    assert bodies == ["no txn", "no txn"]


def test_post_send_refusals(people):
    alice, carol = people["alice"], people["carol"]
    room = alice.create_room()
    assert status_code(post_send(carol, room, {"body": "x"})) == (403, "M_FORBIDDEN")
    status, body = alice.call("POST", "/rooms/%s/send/m.room.message" % q(room),
                              raw=b"not json")
    assert status == 400 and body["errcode"] == "M_NOT_JSON"


# GET /events

def test_events_initially_and_tokens(people):
    alice = people["alice"]
    body = events(alice)
    assert isinstance(body["chunk"], list)
    assert body["start"].startswith("s") and body["end"].startswith("s")


def test_events_long_poll_wakes_on_send(people):
    alice, bob = people["alice"], people["bob"]
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    tok = now_token(bob)
    result, waiting = in_thread(events, bob, **{"from": tok, "timeout": 60000})
    time.sleep(0.5)
    assert waiting(), "the long-poll did not wait"
    s, b = post_send(alice, room, {"msgtype": "m.text", "body": "wake up"})
    assert s == 200
    body = result()
    assert body["start"] == tok
    got = [e for e in body["chunk"] if e.get("event_id") == b["event_id"]]
    assert len(got) == 1, body
    ev = got[0]
    assert ev["room_id"] == room and ev["sender"] == alice.user_id
    assert ev["user_id"] == alice.user_id and ev["content"]["body"] == "wake up"
    # The next call from end does not repeat it.
    again = events(bob, **{"from": body["end"]})
    assert b["event_id"] not in [e.get("event_id") for e in again["chunk"]]


def test_events_times_out_empty(people):
    alice = people["alice"]
    tok = now_token(alice)
    body = events(alice, **{"from": tok, "timeout": 300})
    assert body["chunk"] == [] and body["start"] == tok


def test_events_and_sync_tokens_interchange(people):
    alice = people["alice"]
    room = alice.create_room()
    status, sync = alice.sync()
    assert status == 200
    eid = alice.send_text(room, "after next_batch")
    body = events(alice, **{"from": sync["next_batch"]})
    assert eid in [e.get("event_id") for e in body["chunk"]]
    status, sync2 = alice.sync(since=body["end"])
    assert status == 200
    tl = sync2["rooms"]["join"].get(room, {}).get("timeline", {}).get("events", [])
    assert eid not in [e["event_id"] for e in tl]


def test_events_catch_up_in_pages(people):
    alice = people["alice"]
    room = alice.create_room()
    tok = now_token(alice)
    sent = [alice.send_text(room, "n%d" % i) for i in range(12)]
    seen = []
    for _ in range(10):
        body = events(alice, **{"from": tok, "limit": 5})
        assert len([e for e in body["chunk"] if "event_id" in e]) <= 5
        seen += [e["event_id"] for e in body["chunk"] if e.get("type") == "m.room.message"]
        tok = body["end"]
        if len(seen) >= len(sent):
            break
    assert seen == sent


def test_events_typing_receipts_tags_presence(people):
    alice, bob = people["alice"], people["bob"]
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    eid = alice.send_text(room, "read me")
    tok = now_token(alice)
    assert bob.call("PUT", "/rooms/%s/typing/%s" % (q(room), q(bob.user_id)),
                    {"typing": True, "timeout": 30000})[0] == 200
    assert bob.call("POST", "/rooms/%s/receipt/m.read/%s" % (q(room), q(eid)), {})[0] == 200
    assert alice.call("PUT", "/user/%s/rooms/%s/tags/work" % (q(alice.user_id), q(room)),
                      {"order": 0.5})[0] == 200
    assert bob.call("PUT", "/presence/%s/status" % q(bob.user_id),
                    {"presence": "online", "status_msg": "here"})[0] == 200
    chunk = events(alice, **{"from": tok})["chunk"]
    by_type = {}
    for e in chunk:
        by_type.setdefault(e["type"], []).append(e)
    typing = [e for e in by_type.get("m.typing", []) if e["room_id"] == room]
    assert typing and bob.user_id in typing[-1]["content"]["user_ids"]
    receipts = [e for e in by_type.get("m.receipt", []) if e["room_id"] == room]
    assert receipts and bob.user_id in receipts[-1]["content"][eid]["m.read"]
    tags = [e for e in by_type.get("m.tag", []) if e["room_id"] == room]
    assert tags and "work" in tags[-1]["content"]["tags"]
    pres = [e for e in by_type.get("m.presence", []) if e["sender"] == bob.user_id]
    assert pres and pres[-1]["content"]["user_id"] == bob.user_id
    assert pres[-1]["content"]["status_msg"] == "here"


def test_events_invite_reaches_invitee(people):
    alice, carol = people["alice"], people["carol"]
    room = alice.create_room()
    tok = now_token(carol)
    alice.room_post(room, "invite", carol.user_id)
    chunk = events(carol, **{"from": tok})["chunk"]
    inv = [e for e in chunk if e["type"] == "m.room.member" and e["room_id"] == room]
    assert inv and inv[0]["content"]["membership"] == "invite"


def test_events_invite_once_across_short_pages(people):
    """An invite newer than a page's shortened end comes once, in order."""
    alice, carol = people["alice"], people["carol"]
    shared = alice.create_room(preset="public_chat")
    carol.join(shared)
    tok = now_token(carol)
    first = alice.send_text(shared, "one")
    second = alice.send_text(shared, "two")
    other = alice.create_room()
    alice.room_post(other, "invite", carol.user_id)
    seen = []
    for _ in range(6):
        body = events(carol, **{"from": tok, "limit": 1})
        seen += [e.get("event_id") if e["type"] == "m.room.message" else e["room_id"]
                 for e in body["chunk"] if e["type"] == "m.room.message" or
                 (e["type"] == "m.room.member" and e["room_id"] == other and
                  e["state_key"] == carol.user_id)]
        tok = body["end"]
    assert seen == [first, second, other]


def test_events_peek_world_readable_room(people):
    alice, carol = people["alice"], people["carol"]
    room = world_readable(alice)
    tok = now_token(carol)
    result, waiting = in_thread(events, carol, **{"from": tok, "timeout": 60000,
                                                  "room_id": room})
    time.sleep(0.5)
    assert waiting(), "the long-poll did not wait"
    eid = alice.send_text(room, "for peekers")
    body = result()
    assert eid in [e.get("event_id") for e in body["chunk"]]
    # Without room_id the peeker follows only its own rooms.
    assert eid not in [e.get("event_id") for e in events(carol, **{"from": tok})["chunk"]]


def test_events_peek_gets_room_ephemera(people):
    """A peeker hears the room's typing, receipts and its members' presence,
    not the presence of users outside it."""
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    room = world_readable(alice)
    eid = alice.send_text(room, "read by alice")
    tok = events(carol, room_id=room)["end"]
    assert alice.call("PUT", "/presence/%s/status" % q(alice.user_id),
                      {"presence": "online", "status_msg": "peeked at"})[0] == 200
    assert bob.call("PUT", "/presence/%s/status" % q(bob.user_id),
                    {"presence": "online", "status_msg": "elsewhere"})[0] == 200
    assert alice.call("POST", "/rooms/%s/receipt/m.read/%s" % (q(room), q(eid)), {})[0] == 200
    assert alice.call("PUT", "/rooms/%s/typing/%s" % (q(room), q(alice.user_id)),
                      {"typing": True, "timeout": 30000})[0] == 200
    chunk = events(carol, **{"from": tok, "room_id": room})["chunk"]
    pres = [e["content"]["user_id"] for e in chunk if e["type"] == "m.presence"]
    assert alice.user_id in pres and bob.user_id not in pres
    rcpt = [e for e in chunk if e["type"] == "m.receipt"]
    assert rcpt and rcpt[0]["room_id"] == room
    assert alice.user_id in rcpt[0]["content"][eid]["m.read"]
    typing = [e for e in chunk if e["type"] == "m.typing"]
    assert typing and typing[-1]["room_id"] == room
    assert typing[-1]["content"]["user_ids"] == [alice.user_id]


def test_events_peek_refused(people):
    alice, carol = people["alice"], people["carol"]
    room = alice.create_room(preset="public_chat")
    assert status_code(carol.get("/events", timeout=0, room_id=room)) == (403, "M_FORBIDDEN")
    assert status_code(carol.get("/events", timeout=0, room_id="!nowhere:localhost")) == \
        (403, "M_FORBIDDEN")


def test_events_room_id_of_left_room(people):
    """A former member follows a room only while it is world_readable."""
    alice, bob = people["alice"], people["bob"]
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    bob.room_post(room, "leave")
    assert status_code(bob.get("/events", timeout=0, room_id=room)) == (403, "M_FORBIDDEN")
    assert alice.put_state(room, "m.room.history_visibility",
                           {"history_visibility": "world_readable"})[0] == 200
    tok = events(bob, room_id=room)["end"]
    eid = alice.send_text(room, "open again")
    assert eid in [e.get("event_id") for e in
                   events(bob, **{"from": tok, "room_id": room})["chunk"]]


def test_events_hides_history_from_peeker(people):
    alice, carol = people["alice"], people["carol"]
    room = alice.create_room()
    tok = now_token(carol)
    hidden = alice.send_text(room, "before world_readable")
    assert alice.put_state(room, "m.room.history_visibility",
                           {"history_visibility": "world_readable"})[0] == 200
    shown = alice.send_text(room, "after")
    ids = [e.get("event_id") for e in
           events(carol, **{"from": tok, "room_id": room})["chunk"]]
    assert shown in ids and hidden not in ids


@pytest.mark.parametrize("params", [
    {"limit": "hello"}, {"limit": "-2"}, {"timeout": "hello"}, {"from": "garbage"},
])
def test_events_bad_params(people, params):
    alice = people["alice"]
    params = dict(params)
    params.setdefault("timeout", 0)
    assert status_code(alice.get("/events", **params)) == (400, "M_INVALID_PARAM")


@pytest.fixture(scope="module")
def guest_stack():
    """A stack of its own that lets guests register."""
    s = start_stack(extra_conf="\nallow_guest_access = yes\n")
    yield s
    stop_stack(s)


def test_events_guest_needs_room_id(guest_stack):
    status, resp = guest_stack.request("POST", "/_matrix/client/v3/register?kind=guest", {})
    assert status == 200, resp
    guest = User(guest_stack, resp)
    owner = User.register(guest_stack, "lgowner%d" % os.getpid())
    # As Synapse: a guest follows one room, never the whole stream.
    assert status_code(guest.get("/events", timeout=0)) == (400, "M_UNKNOWN")
    room = world_readable(owner)
    tok = events(guest, room_id=room)["end"]
    eid = owner.send_text(room, "guests read this")
    ids = [e.get("event_id") for e in events(guest, **{"from": tok, "room_id": room})["chunk"]]
    assert eid in ids


def test_events_needs_token(stack):
    status, body = stack.request("GET", "/_matrix/client/v3/events?timeout=0")
    assert (status, body["errcode"]) == (401, "M_MISSING_TOKEN")


# GET /initialSync

def rooms_of(body):
    return {r["room_id"]: r for r in body["rooms"]}


def test_initial_sync(people):
    alice, bob = people["alice"], people["bob"]
    room = alice.create_room(preset="public_chat", topic="legacy topic")
    bob.join(room)
    eid = alice.send_text(room, "hello initial")
    assert alice.call("PUT", "/user/%s/rooms/%s/tags/fav" % (q(alice.user_id), q(room)),
                      {})[0] == 200
    status, body = alice.get("/initialSync")
    assert status == 200, body
    assert body["end"].startswith("s")
    assert isinstance(body["presence"], list) and isinstance(body["account_data"], list)
    r = rooms_of(body)[room]
    assert r["membership"] == "join" and r["visibility"] == "private"
    assert set(r["messages"]) >= {"chunk", "start", "end"}
    assert r["messages"]["chunk"][-1]["event_id"] == eid
    assert r["messages"]["chunk"][-1]["user_id"] == alice.user_id
    state = {(e["type"], e["state_key"]): e for e in r["state"]}
    assert state[("m.room.topic", "")]["content"]["topic"] == "legacy topic"
    assert state[("m.room.member", bob.user_id)]["content"]["membership"] == "join"
    tags = [e for e in r["account_data"] if e["type"] == "m.tag"]
    assert tags and "fav" in tags[0]["content"]["tags"]
    # messages.start pages back with /messages.
    status, page = alice.get("/rooms/%s/messages" % q(room), dir="b",
                             **{"from": r["messages"]["start"]})
    assert status == 200 and eid not in [e["event_id"] for e in page["chunk"]]
    # end is an /events token.
    later = alice.send_text(room, "after initialSync")
    ids = [e.get("event_id") for e in events(alice, **{"from": body["end"]})["chunk"]]
    assert later in ids and eid not in ids


def test_initial_sync_limit(people):
    alice = people["alice"]
    room = alice.create_room()
    for i in range(4):
        alice.send_text(room, "m%d" % i)
    status, body = alice.get("/initialSync", limit=0)
    assert status == 200
    assert rooms_of(body)[room]["messages"]["chunk"] == []
    status, body = alice.get("/initialSync", limit=2)
    chunk = rooms_of(body)[room]["messages"]["chunk"]
    assert [e["content"]["body"] for e in chunk] == ["m2", "m3"]
    assert status_code(alice.get("/initialSync", limit="hello")) == (400, "M_INVALID_PARAM")


def test_initial_sync_invite_and_archived(people):
    alice, carol = people["alice"], people["carol"]
    invited = alice.create_room()
    alice.room_post(invited, "invite", carol.user_id)
    left = alice.create_room(preset="public_chat")
    carol.join(left)
    alice.send_text(left, "while carol was there")
    carol.room_post(left, "leave")
    after = alice.send_text(left, "after carol left")
    status, body = carol.get("/initialSync")
    assert status == 200
    rooms = rooms_of(body)
    assert rooms[invited]["membership"] == "invite"
    assert rooms[invited]["inviter"] == alice.user_id
    assert rooms[invited]["invite"]["content"]["membership"] == "invite"
    assert left not in rooms
    status, body = carol.get("/initialSync", archived="true")
    r = rooms_of(body)[left]
    assert r["membership"] == "leave"
    ids = [e["event_id"] for e in r["messages"]["chunk"]]
    bodies = [e["content"].get("body") for e in r["messages"]["chunk"]]
    assert after not in ids and "while carol was there" in bodies
    me = [e for e in r["state"] if e["type"] == "m.room.member"
          and e["state_key"] == carol.user_id]
    assert me[0]["content"]["membership"] == "leave"


def test_initial_sync_archived_rejected_invite(people):
    """A room whose invite the user rejected shows only that leave, not the
    room's history or state, as /sync does."""
    alice, carol = people["alice"], people["carol"]
    room = alice.create_room(topic="not for carol")
    alice.send_text(room, "secret")
    alice.room_post(room, "invite", carol.user_id)
    carol.room_post(room, "leave")
    status, body = carol.get("/initialSync", archived="true")
    assert status == 200, body
    r = rooms_of(body)[room]
    assert r["membership"] == "leave"
    for section in (r["messages"]["chunk"], r["state"]):
        assert [(e["type"], e["state_key"], e["content"]["membership"]) for e in section] == \
            [("m.room.member", carol.user_id, "leave")]


# GET /rooms/{roomId}/initialSync

def test_room_initial_sync_member(people):
    alice, bob = people["alice"], people["bob"]
    room = alice.create_room(preset="public_chat", topic="one room")
    bob.join(room)
    assert alice.call("PUT", "/presence/%s/status" % q(alice.user_id),
                      {"presence": "online", "status_msg": "busy"})[0] == 200
    eid = alice.send_text(room, "in the room")
    assert bob.call("POST", "/rooms/%s/receipt/m.read/%s" % (q(room), q(eid)), {})[0] == 200
    status, body = bob.get("/rooms/%s/initialSync" % q(room))
    assert status == 200, body
    assert body["room_id"] == room and body["membership"] == "join"
    assert body["messages"]["chunk"][-1]["event_id"] == eid
    assert {"chunk", "start", "end"} <= set(body["messages"])
    types = {e["type"] for e in body["state"]}
    assert {"m.room.create", "m.room.join_rules", "m.room.member", "m.room.topic"} <= types
    pres = {e["content"]["user_id"]: e for e in body["presence"]}
    assert pres[alice.user_id]["content"]["status_msg"] == "busy"
    # Members never seen are there too, offline.
    dave = User.register(alice.stack, "lgdave%d" % os.getpid())
    dave.join(room)
    status, body2 = bob.get("/rooms/%s/initialSync" % q(room))
    pres = {e["content"]["user_id"]: e for e in body2["presence"]}
    assert pres[dave.user_id]["content"]["presence"] == "offline"
    rcpt = [e for e in body["receipts"] if e["type"] == "m.receipt"]
    assert rcpt and bob.user_id in rcpt[0]["content"][eid]["m.read"]
    status, body = bob.get("/rooms/%s/initialSync" % q(room), limit=0)
    assert status == 200 and body["messages"]["chunk"] == []


def test_room_initial_sync_refused(people):
    alice, carol = people["alice"], people["carol"]
    room = alice.create_room(preset="public_chat")
    alice.send_text(room, "private")
    assert status_code(carol.get("/rooms/%s/initialSync" % q(room))) == (403, "M_FORBIDDEN")
    assert status_code(carol.get("/rooms/%s/initialSync" % q("!none:localhost"))) == \
        (403, "M_FORBIDDEN")


def test_room_initial_sync_world_readable_peek(people):
    alice, carol = people["alice"], people["carol"]
    room = alice.create_room()
    alice.send_text(room, "private")
    assert alice.put_state(room, "m.room.history_visibility",
                           {"history_visibility": "world_readable"})[0] == 200
    alice.send_text(room, "public")
    status, body = carol.get("/rooms/%s/initialSync" % q(room))
    assert status == 200, body
    chunk = body["messages"]["chunk"]
    assert [e["type"] for e in chunk] == ["m.room.history_visibility", "m.room.message"]
    assert chunk[1]["content"]["body"] == "public"
    assert isinstance(body["presence"], list)


def test_room_initial_sync_departed(people):
    alice, bob = people["alice"], people["bob"]
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    seen = alice.send_text(room, "bob saw this")
    bob.room_post(room, "leave")
    alice.put_state(room, "m.room.topic", {"topic": "after bob"})
    unseen = alice.send_text(room, "bob did not")
    status, body = bob.get("/rooms/%s/initialSync" % q(room))
    assert status == 200, body
    assert body["membership"] == "leave"
    ids = [e["event_id"] for e in body["messages"]["chunk"]]
    assert seen in ids and unseen not in ids
    assert "m.room.topic" not in {e["type"] for e in body["state"]}
    assert body["presence"] == [] and body["receipts"] == []


# GET /events/{eventId}

def test_event_by_id(people):
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    eid = alice.send_text(room, "by id")
    status, ev = bob.get("/events/%s" % q(eid))
    assert status == 200, ev
    assert ev["event_id"] == eid and ev["room_id"] == room
    assert ev["content"]["body"] == "by id"
    assert status_code(carol.get("/events/%s" % q(eid))) == (403, "M_FORBIDDEN")
    # The room-scoped form answers 404, as Synapse.
    assert status_code(carol.get("/rooms/%s/event/%s" % (q(room), q(eid)))) == \
        (404, "M_NOT_FOUND")
    assert status_code(carol.get("/events/%s" % q("$nope:localhost"))) == \
        (404, "M_NOT_FOUND")
    wr = world_readable(alice)
    eid2 = alice.send_text(wr, "readable by all")
    status, ev = carol.get("/events/%s" % q(eid2))
    assert status == 200 and ev["event_id"] == eid2
