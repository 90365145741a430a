"""Client-server conformance fixes that SyTest found (issue 10), each as
the client sees it: state ?format=event, joined_members' keys, custom join
content, redacting another room's event, /messages' end token, profile
changes reaching member events, pushers on a password change, and
upper-case usernames on /register.  Raw HTTP throughout."""
import json
import os
import urllib.parse

import pytest

C = "/_matrix/client/v3"


def q(s):
    return urllib.parse.quote(s, safe="")


def call(stack, who, method, path, body=None):
    return stack.request(method, C + path, body, token=who["access_token"])


def ok(stack, who, method, path, body=None):
    status, resp = call(stack, who, method, path, body)
    assert status == 200, (method, path, status, resp)
    return resp


def user(stack, uniq, prefix="cf"):
    name = uniq(prefix)
    return dict(stack.register(name, "pw-" + name), username=name, password="pw-" + name)


def room(stack, who, **body):
    return ok(stack, who, "POST", "/createRoom", dict({"preset": "public_chat"}, **body))["room_id"]


def member(stack, who, room_id, user_id):
    return ok(stack, who, "GET", "/rooms/%s/state/m.room.member/%s" % (q(room_id), q(user_id)))


def send(stack, who, room_id, text, txn):
    return ok(stack, who, "PUT", "/rooms/%s/send/m.room.message/%s" % (q(room_id), txn),
              {"msgtype": "m.text", "body": text})["event_id"]


def messages(stack, who, room_id, **params):
    return call(stack, who, "GET", "/rooms/%s/messages?%s" % (
        q(room_id), urllib.parse.urlencode(params)))


# -- 1. GET /rooms/{id}/state/{type}/{key}?format=event -----------------------

def test_state_format_event(stack, uniq):
    """?format=event answers the whole event in the client format (SyTest
    10apidoc/31room-state.pl, as Synapse); without it, the content."""
    alice = user(stack, uniq)
    r = room(stack, alice)
    path = "/rooms/%s/state/m.room.member/%s" % (q(r), q(alice["user_id"]))
    ev = ok(stack, alice, "GET", path + "?format=event")
    assert ev["sender"] == alice["user_id"] and ev["room_id"] == r
    assert ev["type"] == "m.room.member" and ev["state_key"] == alice["user_id"]
    assert ev["content"]["membership"] == "join"
    assert ev["event_id"].startswith("$") and "origin_server_ts" in ev
    assert ok(stack, alice, "GET", path + "?format=content") == ev["content"]
    assert ok(stack, alice, "GET", path) == ev["content"]
    # State with an empty key, through both spellings of the path.
    ev = ok(stack, alice, "GET", "/rooms/%s/state/m.room.join_rules?format=event" % q(r))
    assert ev["content"] == {"join_rule": "public"} and ev["state_key"] == ""
    ev = ok(stack, alice, "GET", "/rooms/%s/state/m.room.join_rules/?format=event" % q(r))
    assert ev["type"] == "m.room.join_rules"
    status, resp = call(stack, alice, "GET", "/rooms/%s/state/m.room.topic?format=event" % q(r))
    assert (status, resp["errcode"]) == (404, "M_NOT_FOUND")


def test_state_format_event_departed(stack, uniq):
    """A former member gets the event as of the leave, in the client format."""
    alice, bob = user(stack, uniq), user(stack, uniq)
    r = room(stack, alice)
    ok(stack, bob, "POST", "/join/" + q(r), {})
    ok(stack, bob, "POST", "/rooms/%s/leave" % q(r), {})
    ok(stack, alice, "PUT", "/rooms/%s/state/m.room.topic/" % q(r), {"topic": "later"})
    ev = ok(stack, bob, "GET", "/rooms/%s/state/m.room.member/%s?format=event" % (
        q(r), q(bob["user_id"])))
    assert ev["content"]["membership"] == "leave" and ev["sender"] == bob["user_id"]
    assert ev["room_id"] == r
    status, resp = call(stack, bob, "GET", "/rooms/%s/state/m.room.topic?format=event" % q(r))
    assert (status, resp["errcode"]) == (404, "M_NOT_FOUND")


# -- 2. GET /rooms/{id}/joined_members ------------------------------------------

def test_joined_members_keys(stack, uniq):
    """Every member has display_name and avatar_url, null when unset, as
    Synapse answers (SyTest: "We always have these keys even if they're
    undef")."""
    alice, bob = user(stack, uniq), user(stack, uniq)
    ok(stack, bob, "PUT", "/profile/%s/displayname" % q(bob["user_id"]), {"displayname": "Bob"})
    # Registration gives the localpart as display name: alice clears hers.
    ok(stack, alice, "PUT", "/profile/%s/displayname" % q(alice["user_id"]),
       {"displayname": None})
    r = room(stack, alice)
    ok(stack, bob, "POST", "/join/" + q(r), {})
    joined = ok(stack, alice, "GET", "/rooms/%s/joined_members" % q(r))["joined"]
    assert joined[alice["user_id"]] == {"display_name": None, "avatar_url": None}
    assert joined[bob["user_id"]] == {"display_name": "Bob", "avatar_url": None}


# -- 3. custom content on POST /join ------------------------------------------

@pytest.mark.parametrize("how", ["join_id", "join_alias", "rooms_join"])
def test_join_custom_content(stack, uniq, how):
    """The body's other keys go into the member event's content (SyTest
    10apidoc/33room-members.pl); membership stays "join", the keys only a
    server may set do not come through, nor the request's
    third_party_signed."""
    alice, bob = user(stack, uniq), user(stack, uniq)
    alias_name = uniq("cfa")
    r = room(stack, alice, room_alias_name=alias_name)
    alias = "#%s:%s" % (alias_name, stack.server_name)
    path = {"join_id": "/join/" + q(r), "join_alias": "/join/" + q(alias),
            "rooms_join": "/rooms/%s/join" % q(r)}[how]
    body = {"foo": "bar", "nested": {"n": 1}, "membership": "leave", "reason": "hello",
            "join_authorised_via_users_server": alice["user_id"]}
    assert ok(stack, bob, "POST", path, body) == {"room_id": r}
    content = member(stack, alice, r, bob["user_id"])
    assert content["foo"] == "bar" and content["nested"] == {"n": 1}
    assert content["membership"] == "join" and content["reason"] == "hello"
    assert "join_authorised_via_users_server" not in content
    assert "third_party_signed" not in content


def test_join_custom_content_profile(stack, uniq):
    """A join without displayname gets the profile's; one with it keeps it
    (Synapse's per-room profile); content that is not canonical JSON is
    refused and nothing is sent."""
    alice, bob = user(stack, uniq), user(stack, uniq)
    ok(stack, bob, "PUT", "/profile/%s/displayname" % q(bob["user_id"]), {"displayname": "Bob"})
    r = room(stack, alice)
    ok(stack, bob, "POST", "/join/" + q(r), {"foo": 1})
    assert member(stack, alice, r, bob["user_id"])["displayname"] == "Bob"
    ok(stack, bob, "POST", "/join/" + q(r), {"displayname": "Bob here"})
    assert member(stack, alice, r, bob["user_id"])["displayname"] == "Bob here"
    r2 = room(stack, alice)
    status, resp = stack.request("POST", C + "/join/" + q(r2), token=bob["access_token"],
                                 raw=b'{"foo": 1.5}')
    assert (status, resp["errcode"]) == (400, "M_BAD_JSON")
    status, resp = call(stack, bob, "GET", "/rooms/%s/state/m.room.member/%s" % (
        q(r2), q(bob["user_id"])))
    assert status in (403, 404), resp


# -- 4. PUT /rooms/{id}/redact of another room's event --------------------------

def test_redact_event_of_other_room(stack, uniq):
    """400 (Synapse: M_UNKNOWN, "Cannot redact event from a different
    room"), and nothing is sent: the event keeps its content."""
    alice, bob = user(stack, uniq), user(stack, uniq)
    r1, r2 = room(stack, alice), room(stack, bob)
    eid = send(stack, alice, r1, "keep me", "cf1")
    status, resp = call(stack, bob, "PUT", "/rooms/%s/redact/%s/cfr1" % (q(r2), q(eid)),
                        {"reason": "no"})
    assert (status, resp["errcode"]) == (400, "M_UNKNOWN")
    # alice is the sender and joined to r1, not r2: the same.
    status, resp = call(stack, alice, "PUT", "/rooms/%s/redact/%s/cfr2" % (q(r2), q(eid)), {})
    assert status in (400, 403), resp
    ev = ok(stack, alice, "GET", "/rooms/%s/event/%s" % (q(r1), q(eid)))
    assert ev["content"]["body"] == "keep me"
    status, page = messages(stack, bob, r2, dir="b", limit=50)
    assert status == 200
    assert not [e for e in page["chunk"] if e["type"] == "m.room.redaction"]
    # An unknown event is still 404.
    status, resp = call(stack, bob, "PUT", "/rooms/%s/redact/%s/cfr3" % (
        q(r2), q("$nothere")), {})
    assert (status, resp["errcode"]) == (404, "M_NOT_FOUND")


# -- 5. GET /messages: end, and paging from a sync's prev_batch ---------------

def test_messages_end_as_synapse(stack, uniq):
    """A page that holds events carries `end` even when it reached the start
    of the room (Synapse; SyTest 10apidoc/34room-messages.pl); the page from
    there is empty and has none."""
    alice = user(stack, uniq)
    r = room(stack, alice)
    send(stack, alice, r, "hello", "cf1")
    status, page = messages(stack, alice, r, dir="b", limit=100)
    assert status == 200 and len(page["chunk"]) > 1
    assert page["chunk"][-1]["type"] == "m.room.create"
    assert "end" in page
    status, page2 = messages(stack, alice, r, dir="b", limit=100, **{"from": page["end"]})
    assert status == 200 and page2["chunk"] == [] and "end" not in page2
    # Forwards the same: the last page with events has end, the next none.
    status, fwd = messages(stack, alice, r, dir="f", limit=100)
    assert [e["event_id"] for e in fwd["chunk"]] == [e["event_id"] for e in page["chunk"]][::-1]
    assert "end" in fwd
    status, fwd2 = messages(stack, alice, r, dir="f", limit=100, **{"from": fwd["end"]})
    assert fwd2["chunk"] == [] and "end" not in fwd2


def test_messages_from_sync_prev_batch(stack, uniq):
    """Back from a limited sync timeline's prev_batch: the events before
    it, then the rest, with `end` on each page that holds events."""
    alice = user(stack, uniq)
    r = room(stack, alice)
    sent = [send(stack, alice, r, "m%d" % i, "cf%d" % i) for i in range(5)]
    flt = json.dumps({"room": {"timeline": {"limit": 2}}})
    status, sync = call(stack, alice, "GET", "/sync?filter=" + q(flt))
    assert status == 200
    tl = sync["rooms"]["join"][r]["timeline"]
    assert [e["event_id"] for e in tl["events"]] == sent[-2:] and tl["limited"]
    status, page = messages(stack, alice, r, dir="b", limit=3, **{"from": tl["prev_batch"]})
    assert status == 200
    assert [e["event_id"] for e in page["chunk"]] == sent[:3][::-1]
    assert "end" in page
    seen = []
    token = page["end"]
    while token:
        status, p = messages(stack, alice, r, dir="b", limit=3, **{"from": token})
        assert status == 200
        seen += p["chunk"]
        token = p.get("end")
        assert len(seen) < 100
    assert seen[-1]["type"] == "m.room.create"


def test_messages_lazy_load_members_state(stack, uniq):
    """With lazy_load_members, /messages gives in `state` the member events
    of the chunk's senders (spec: "Lazy-loading room members"; SyTest
    "GET /rooms/:room_id/messages lazy loads members correctly"), none of
    the others; without it, no state."""
    alice, bob, carol = user(stack, uniq), user(stack, uniq), user(stack, uniq)
    r = room(stack, alice)
    ok(stack, bob, "POST", "/join/" + q(r), {})
    ok(stack, carol, "POST", "/join/" + q(r), {})
    send(stack, alice, r, "a", "cf1")
    send(stack, bob, r, "b", "cf2")
    flt = json.dumps({"lazy_load_members": True, "types": ["m.room.message"]})
    status, page = messages(stack, carol, r, dir="b", limit=2, filter=flt)
    assert status == 200 and len(page["chunk"]) == 2
    got = sorted((e["type"], e["state_key"]) for e in page["state"])
    assert got == sorted([("m.room.member", alice["user_id"]),
                          ("m.room.member", bob["user_id"])])
    assert all(e["content"]["membership"] == "join" and "event_id" in e for e in page["state"])
    status, page = messages(stack, carol, r, dir="b", limit=2)
    assert status == 200 and "state" not in page


# -- 6. profile changes reach member events -----------------------------------

@pytest.mark.parametrize("key,value", [("displayname", "New Name"),
                                       ("avatar_url", "mxc://localhost/newavatar")])
def test_profile_change_updates_member_events(stack, uniq, key, value):
    """PUT /profile/{userId}/displayname|avatar_url sends a new
    m.room.member (same membership, the new value) into every room the
    user is joined to, as Synapse does (SyTest 30rooms/22profile.pl); not
    into rooms left or only invited to.  Clearing it drops the key."""
    alice, bob = user(stack, uniq), user(stack, uniq)
    ok(stack, bob, "PUT", "/profile/%s/displayname" % q(bob["user_id"]), {"displayname": "Old"})
    rooms = [room(stack, alice) for _ in range(2)]
    for r in rooms:
        ok(stack, bob, "POST", "/join/" + q(r), {"foo": "kept"})
    left = room(stack, alice)
    ok(stack, bob, "POST", "/join/" + q(left), {})
    ok(stack, bob, "POST", "/rooms/%s/leave" % q(left), {})
    invited = room(stack, alice, preset="private_chat")
    ok(stack, alice, "POST", "/rooms/%s/invite" % q(invited), {"user_id": bob["user_id"]})
    before = {r: member(stack, alice, r, bob["user_id"]) for r in (left, invited)}

    ok(stack, bob, "PUT", "/profile/%s/%s" % (q(bob["user_id"]), key), {key: value})
    for r in rooms:
        content = member(stack, alice, r, bob["user_id"])
        assert content[key] == value and content["membership"] == "join"
        if key == "avatar_url":
            assert content["displayname"] == "Old"
        # As Synapse: the content of a fresh join, not the room's own keys.
        assert "foo" not in content
        joined = ok(stack, alice, "GET", "/rooms/%s/joined_members" % q(r))["joined"]
        assert joined[bob["user_id"]]["display_name" if key == "displayname" else key] == value
    for r in (left, invited):
        assert member(stack, alice, r, bob["user_id"]) == before[r]
    # The same again sends nothing new; clearing removes the key.
    ev = ok(stack, alice, "GET", "/rooms/%s/state/m.room.member/%s?format=event" % (
        q(rooms[0]), q(bob["user_id"])))
    ok(stack, bob, "PUT", "/profile/%s/%s" % (q(bob["user_id"]), key), {key: value})
    again = ok(stack, alice, "GET", "/rooms/%s/state/m.room.member/%s?format=event" % (
        q(rooms[0]), q(bob["user_id"])))
    assert again["event_id"] == ev["event_id"]
    ok(stack, bob, "PUT", "/profile/%s/%s" % (q(bob["user_id"]), key), {key: None})
    assert key not in member(stack, alice, rooms[0], bob["user_id"])


def test_profile_change_survives_a_refusing_room(stack, uniq):
    """A room that refuses the member event (an admin blocked it: it
    refuses every local membership but leave and ban) does not fail the
    profile change, and the other rooms still get it."""
    alice, bob = user(stack, uniq), user(stack, uniq)
    blocked, other = room(stack, alice), room(stack, alice)
    for r in (blocked, other):
        ok(stack, bob, "POST", "/join/" + q(r), {})
    res = stack.admin("room", "block", blocked, "on")
    assert res.returncode == 0, res.stderr
    try:
        ok(stack, bob, "PUT", "/profile/%s/displayname" % q(bob["user_id"]),
           {"displayname": "Z"})
        assert ok(stack, bob, "GET", "/profile/%s" % q(bob["user_id"]))["displayname"] == "Z"
        assert member(stack, alice, other, bob["user_id"])["displayname"] == "Z"
        assert member(stack, alice, blocked, bob["user_id"])["displayname"] == bob["username"]
    finally:
        stack.admin("room", "block", blocked, "off")


# -- 7. a password change ends the other sessions' pushers --------------------

PUSHER = {"kind": "http", "app_id": "org.example.cf", "app_display_name": "Example",
          "device_display_name": "Phone", "profile_tag": "tag", "lang": "en",
          "data": {"url": "https://push.example.org/_matrix/push/v1/notify"}}


def change_password(stack, who, new, **extra):
    path = C + "/account/password"
    body = dict({"new_password": new}, **extra)
    status, resp = stack.request("POST", path, body, token=who["access_token"])
    assert status == 401, resp
    body["auth"] = {"type": "m.login.password", "session": resp["session"],
                    "password": who["password"],
                    "identifier": {"type": "m.id.user", "user": who["user_id"]}}
    status, resp = stack.request("POST", path, body, token=who["access_token"])
    assert status == 200, resp


@pytest.mark.parametrize("logout", [None, True, False])
def test_password_change_deletes_other_pushers(stack, uniq, logout):
    """Synapse (SyTest 14account/01change-password.pl): with logout_devices
    (the default) the other sessions' pushers go, the changing session's
    stay; without it, all stay, as their sessions do."""
    alice = user(stack, uniq)
    status, other = stack.login(alice["username"], alice["password"])
    assert status == 200
    other = dict(other, password=alice["password"])
    ok(stack, other, "POST", "/pushers/set", dict(PUSHER, pushkey="other" + uniq("k")))
    ok(stack, alice, "POST", "/pushers/set", dict(PUSHER, pushkey="mine" + uniq("k")))
    assert len(ok(stack, alice, "GET", "/pushers")["pushers"]) == 2
    extra = {} if logout is None else {"logout_devices": logout}
    change_password(stack, alice, "new-" + alice["password"], **extra)
    keys = [p["pushkey"] for p in ok(stack, alice, "GET", "/pushers")["pushers"]]
    if logout is False:
        assert len(keys) == 2
    else:
        assert len(keys) == 1 and keys[0].startswith("mine")


def test_logout_deletes_the_sessions_pushers(stack, uniq):
    """Logging a device out ends its pushers (Synapse removes the pushers
    of a deleted access token), not the other devices'."""
    alice = user(stack, uniq)
    status, other = stack.login(alice["username"], alice["password"])
    assert status == 200
    ok(stack, other, "POST", "/pushers/set", dict(PUSHER, pushkey="gone" + uniq("k")))
    ok(stack, alice, "POST", "/pushers/set", dict(PUSHER, pushkey="stay" + uniq("k")))
    ok(stack, other, "POST", "/logout", {})
    keys = [p["pushkey"] for p in ok(stack, alice, "GET", "/pushers")["pushers"]]
    assert len(keys) == 1 and keys[0].startswith("stay")


# -- 8. POST /register downcases the username ---------------------------------

def test_register_downcases_username(stack, uniq):
    """Synapse lower-cases the requested localpart (SyTest
    10apidoc/01register.pl "downcases capitals in usernames"); the
    lower-case name is then taken, in either case."""
    name = uniq("cfUp") + "-UPPER"
    body = {"username": name, "password": "sUp3rs3kr1t", "auth": {"type": "m.login.dummy"}}
    status, resp = stack.request("POST", C + "/register", body)
    assert status == 200, resp
    assert resp["user_id"] == "@%s:%s" % (name.lower(), stack.server_name)
    status, resp = stack.request("POST", C + "/register", dict(body, username=name.lower()))
    assert (status, resp["errcode"]) == (400, "M_USER_IN_USE")
    status, resp = stack.request("GET", C + "/register/available?username=" + q(name.lower()))
    assert (status, resp["errcode"]) == (400, "M_USER_IN_USE")
    # Still refused: what is not a valid localpart once lower-cased.
    status, resp = stack.request("POST", C + "/register", dict(body, username="Bad:Name"))
    assert (status, resp["errcode"]) == (400, "M_INVALID_USERNAME")
    status, resp = stack.login(name.lower(), "sUp3rs3kr1t")
    assert status == 200, resp
