"""The local event write path (lib/room) as every route reaches it:
server-only content keys a client cannot smuggle (restricted joins,
third-party invites), kicks that the C-S API refuses, idempotent joins
and state, identifier and size limits, and canonical-JSON numbers.
Raw HTTP throughout: these are the edges a client library avoids."""
import base64
import json
import os
import threading

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from conftest import User, q

LONG_USER = "@" + "a" * 300 + ":localhost"     # 311 bytes
BIG = 2 ** 60


class Api(User):
    """Raw client-server calls as one user (uid: the user ID)."""

    def __init__(self, stack, user):
        super().__init__(stack, user)
        self.uid = self.user_id

    def join(self, room):
        """POST /join/{room}: (status, body)."""
        return self.call("POST", "/join/" + q(room), {})

    def member(self, room, user_id):
        status, resp = self.state(room, "m.room.member", user_id)
        return resp if status == 200 else None


@pytest.fixture(scope="module")
def api(stack):
    out = {}
    for who in ("alice", "bob", "carol"):
        name = "pol%s%d" % (who, os.getpid())
        out[who] = Api(stack, stack.register(name, "pw-" + name))
    return out


def assert_error(status_resp, status, errcode):
    got_status, resp = status_resp
    assert (got_status, (resp or {}).get("errcode")) == (status, errcode), resp


def restricted_room(a, version, rule):
    """A public space and a room of `version` that only its members may join."""
    space = a.create_room(preset="public_chat")
    room = a.create_room(preset="private_chat", room_version=version, initial_state=[{
        "type": "m.room.join_rules", "state_key": "",
        "content": {"join_rule": rule,
                    "allow": [{"type": "m.room_membership", "room_id": space}]}}])
    return space, room


# 1. Server-only keys in client content.

@pytest.mark.parametrize("version,rule", [
    ("8", "restricted"), ("10", "restricted"), ("12", "restricted"),
    ("10", "knock_restricted"), ("12", "knock_restricted")])
def test_restricted_state_put_join_needs_the_allow_rule(api, version, rule):
    """A user in no allowed room cannot name a voucher of their choice in a
    state PUT: the server decides join_authorised_via_users_server."""
    a, c = api["alice"], api["carol"]
    _, room = restricted_room(a, version, rule)
    assert_error(c.join(room), 403, "M_FORBIDDEN")
    assert_error(c.put_state(room, "m.room.member", {
        "membership": "join", "join_authorised_via_users_server": a.uid}, c.uid),
        403, "M_FORBIDDEN")
    assert a.membership(room, c.uid) is None


@pytest.mark.parametrize("version", ["8", "10", "12"])
def test_restricted_legitimate_joins(api, version):
    """A member of the allowed room joins through POST /join and through the
    state PUT; either way the server names the voucher, whatever the client
    wrote."""
    a, b, c = api["alice"], api["bob"], api["carol"]
    space, room = restricted_room(a, version, "restricted")
    assert b.join(space)[0] == 200
    assert c.join(space)[0] == 200
    status, resp = b.join(room)
    assert status == 200, resp
    assert b.member(room, b.uid)["join_authorised_via_users_server"] == a.uid
    status, resp = c.put_state(room, "m.room.member", {
        "membership": "join", "join_authorised_via_users_server": "@nobody:localhost"}, c.uid)
    assert status == 200, resp
    m = c.member(room, c.uid)
    # Any resident with the power to invite (0 in this preset) may vouch.
    assert m["membership"] == "join"
    assert m["join_authorised_via_users_server"] in (a.uid, b.uid)


def test_voucher_key_never_kept_outside_restricted_joins(api):
    """The key is dropped from member events that need no voucher."""
    a, b = api["alice"], api["bob"]
    room = a.create_room(preset="public_chat")
    status, resp = b.put_state(room, "m.room.member", {
        "membership": "join", "join_authorised_via_users_server": a.uid}, b.uid)
    assert status == 200, resp
    assert "join_authorised_via_users_server" not in b.member(room, b.uid)


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def test_third_party_invite_content_is_not_a_client_key(api):
    """A member event's third_party_invite comes from a real third-party
    invite exchange, never from a client: Bob, who could invite once and
    posted an m.room.third_party_invite then, cannot invite after losing
    that power by signing the "third-party invite" with a key of his own."""
    a, b, c = api["alice"], api["bob"], api["carol"]
    room = a.create_room(preset="public_chat", room_version="10", power_level_content_override={
        "invite": 50, "users": {a.uid: 100, b.uid: 50}})
    assert b.join(room)[0] == 200
    key = Ed25519PrivateKey.generate()
    pub = base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
    st = b.put_state(room, "m.room.third_party_invite",
                     {"display_name": "c...", "key_validity_url": "https://id.example/",
                      "public_key": pub.decode().rstrip("=")}, "tok1")
    assert st[0] == 200, st
    pl = a.state(room, "m.room.power_levels")[1]
    pl["users"][b.uid] = 0
    assert a.put_state(room, "m.room.power_levels", pl)[0] == 200
    assert_error(b.call("POST", "/rooms/%s/invite" % q(room), {"user_id": c.uid}),
                 403, "M_FORBIDDEN")
    signed = {"mxid": c.uid, "token": "tok1", "sender": b.uid}
    sig = base64.b64encode(key.sign(canonical(signed))).decode().rstrip("=")
    signed["signatures"] = {"id.example": {"ed25519:0": sig}}
    assert_error(b.put_state(room, "m.room.member", {
        "membership": "invite",
        "third_party_invite": {"display_name": "c...", "signed": signed}}, c.uid),
        403, "M_FORBIDDEN")
    assert a.membership(room, c.uid) is None


def test_state_put_of_create_refused(api):
    """m.room.create cannot be replaced: creator and room_version stay."""
    a, c = api["alice"], api["carol"]
    room = a.create_room(preset="public_chat", room_version="10")
    assert_error(a.put_state(room, "m.room.create", {"creator": c.uid, "room_version": "1"}),
                 403, "M_FORBIDDEN")
    assert_error(a.send(room, {"creator": c.uid, "room_version": "1"}, etype="m.room.create"),
                 403, "M_FORBIDDEN")
    create = a.state(room, "m.room.create")[1]
    assert (create["creator"], create["room_version"]) == (a.uid, "10")


# 2. Kicks.

def test_kick_does_not_lift_a_ban(api):
    """SyTest 30rooms/07ban.pl: a banned user may not rejoin, be invited or
    be kicked (which would lift the ban) until unbanned."""
    a, b = api["alice"], api["bob"]
    room = a.create_room(preset="public_chat")
    assert b.join(room)[0] == 200
    assert a.call("POST", "/rooms/%s/ban" % q(room), {"user_id": b.uid})[0] == 200
    assert_error(b.join(room), 403, "M_FORBIDDEN")
    assert_error(a.call("POST", "/rooms/%s/invite" % q(room), {"user_id": b.uid}),
                 403, "M_FORBIDDEN")
    assert_error(a.call("POST", "/rooms/%s/kick" % q(room), {"user_id": b.uid}),
                 403, "M_FORBIDDEN")
    assert a.membership(room, b.uid) == "ban"
    assert_error(b.join(room), 403, "M_FORBIDDEN")
    assert a.call("POST", "/rooms/%s/unban" % q(room), {"user_id": b.uid})[0] == 200
    assert b.join(room)[0] == 200


def test_kick_needs_a_target_in_the_room(api):
    """SyTest 30rooms/15kick.pl and the spec's 403 for /kick: "the kickee
    is not currently in the room": never joined, or already left."""
    a, b, c = api["alice"], api["bob"], api["carol"]
    room = a.create_room(preset="public_chat")
    before = len(a.timeline(room))
    assert_error(a.call("POST", "/rooms/%s/kick" % q(room), {"user_id": "@bob:example.com"}),
                 403, "M_FORBIDDEN")
    assert_error(a.call("POST", "/rooms/%s/kick" % q(room), {"user_id": c.uid}),
                 403, "M_FORBIDDEN")
    assert len(a.timeline(room)) == before
    assert b.join(room)[0] == 200
    assert a.call("POST", "/rooms/%s/kick" % q(room), {"user_id": b.uid})[0] == 200
    assert a.membership(room, b.uid) == "leave"
    assert_error(a.call("POST", "/rooms/%s/kick" % q(room), {"user_id": b.uid}),
                 403, "M_FORBIDDEN")
    # An invite can be withdrawn with /kick.
    assert a.call("POST", "/rooms/%s/invite" % q(room), {"user_id": c.uid})[0] == 200
    assert a.call("POST", "/rooms/%s/kick" % q(room), {"user_id": c.uid})[0] == 200
    assert a.membership(room, c.uid) == "leave"


def test_kick_by_a_non_member_refused(api):
    a, b, c = api["alice"], api["bob"], api["carol"]
    room = a.create_room(preset="public_chat")
    assert b.join(room)[0] == 200
    assert_error(c.call("POST", "/rooms/%s/kick" % q(room), {"user_id": b.uid}),
                 403, "M_FORBIDDEN")
    assert a.membership(room, b.uid) == "join"


# 3. Idempotence.

def member_events(a, room, user_id):
    return [e for e in a.timeline(room)
            if e["type"] == "m.room.member" and e["state_key"] == user_id]


def test_parallel_joins_make_one_event(api):
    a, b = api["alice"], api["bob"]
    room = a.create_room(preset="public_chat")
    results = []

    def join():
        results.append(b.join(room)[0])

    threads = [threading.Thread(target=join) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * 20
    assert len(member_events(a, room, b.uid)) == 1
    # A later join while joined writes nothing either.
    assert b.join(room)[0] == 200
    assert len(member_events(a, room, b.uid)) == 1


def test_same_state_twice_is_one_event(api):
    """SyTest 30rooms/01state.pl: the same type, state_key, sender and
    content answer with the current event's ID."""
    a = api["alice"]
    room = a.create_room()
    first = a.put_state(room, "m.room.topic", {"topic": "same"})
    second = a.put_state(room, "m.room.topic", {"topic": "same"})
    assert first[0] == second[0] == 200
    assert first[1]["event_id"] == second[1]["event_id"]
    third = a.put_state(room, "m.room.topic", {"topic": "other"})
    assert third[0] == 200 and third[1]["event_id"] != first[1]["event_id"]
    topics = [e for e in a.timeline(room) if e["type"] == "m.room.topic"]
    assert len(topics) == 2


# 4. Identifiers and sizes.

def joined_rooms(a):
    return set(a.ok("GET", "/joined_rooms")["joined_rooms"])


def test_initial_state_type_too_long(api):
    a = api["alice"]
    before = joined_rooms(a)
    status, resp = a.call("POST", "/createRoom", {"initial_state": [
        {"type": "x" * 300, "state_key": "", "content": {}}]})
    assert status == 400 and resp["errcode"] in ("M_INVALID_PARAM", "M_BAD_JSON"), resp
    status, resp = a.call("POST", "/createRoom", {"initial_state": [
        {"type": "org.example", "state_key": "k" * 300, "content": {}}]})
    assert status == 400 and resp["errcode"] in ("M_INVALID_PARAM", "M_BAD_JSON"), resp
    assert joined_rooms(a) == before


@pytest.mark.parametrize("action", ["ban", "kick", "invite", "unban"])
@pytest.mark.parametrize("target", [LONG_USER, "@:", "@bob", "@bo b:localhost",
                                    "@bob:local host", "@bob:"])
def test_membership_target_must_be_a_user_id(api, action, target):
    a = api["alice"]
    room = a.create_room(preset="public_chat")
    before = len(a.timeline(room))
    assert_error(a.call("POST", "/rooms/%s/%s" % (q(room), action), {"user_id": target}),
                 400, "M_INVALID_PARAM")
    assert len(a.timeline(room)) == before


def test_state_key_and_type_limits(api):
    a = api["alice"]
    room = a.create_room(preset="public_chat")
    before = len(a.timeline(room))
    assert_error(a.put_state(room, "org.example", {"a": 1}, "k" * 300), 400, "M_INVALID_PARAM")
    assert_error(a.put_state(room, "t" * 300, {"a": 1}), 400, "M_INVALID_PARAM")
    assert_error(a.send(room, {"body": "x"}, etype="t" * 300), 400, "M_INVALID_PARAM")
    assert_error(a.put_state(room, "m.room.member", {"membership": "ban"}, LONG_USER),
                 400, "M_INVALID_PARAM")
    assert_error(a.put_state(room, "m.room.member", {"membership": "ban"}, "@:"),
                 400, "M_INVALID_PARAM")
    assert len(a.timeline(room)) == before
    # 255 bytes is still allowed.
    assert a.put_state(room, "org.example", {"a": 1}, "k" * 255)[0] == 200


def test_create_room_invite_must_be_user_ids(api):
    a = api["alice"]
    before = joined_rooms(a)
    for bad in (LONG_USER, "@:"):
        assert_error(a.call("POST", "/createRoom", {"invite": [bad]}), 400, "M_INVALID_PARAM")
    assert joined_rooms(a) == before


# 5. Numbers.

def raw_body(text):
    return text.encode()


def test_send_refuses_non_canonical_numbers(api):
    a = api["alice"]
    room = a.create_room()
    before = len(a.timeline(room))
    for body in ('{"body": "x", "n": 1.5}', '{"body": "x", "n": 9007199254740992}',
                 '{"body": "x", "n": -9007199254740992}', '{"n": 1e3}'):
        a.txn += 1
        assert_error(a.call("PUT", "/rooms/%s/send/m.room.message/n%d" % (q(room), a.txn),
                            raw=raw_body(body)), 400, "M_BAD_JSON")
        assert_error(a.call("PUT", "/rooms/%s/state/org.example/" % q(room),
                            raw=raw_body(body)), 400, "M_BAD_JSON")
    assert len(a.timeline(room)) == before
    assert a.send(room, {"n": 9007199254740991})[0] == 200


def test_create_room_power_levels_numbers(api):
    a = api["alice"]
    before = joined_rooms(a)
    for plo in ('{"users_default": %d}' % BIG, '{"ban": 50.5}',
                '{"users": {"%s": 1.5}}' % a.uid):
        body = '{"power_level_content_override": %s}' % plo
        assert_error(a.call("POST", "/createRoom", raw=raw_body(body)), 400, "M_BAD_JSON")
    assert_error(a.call("POST", "/createRoom",
                        raw=raw_body('{"creation_content": {"x": 0.5}}')), 400, "M_BAD_JSON")
    assert joined_rooms(a) == before


@pytest.mark.parametrize("limit", ["10.5", str(BIG)])
def test_filter_numbers(api, limit):
    a = api["alice"]
    room = a.create_room()
    status, resp = a.call("POST", "/user/%s/filter" % q(a.uid),
                          raw=raw_body('{"room": {"timeline": {"limit": %s}}}' % limit))
    assert status == 400 and resp["errcode"] == "M_BAD_JSON", resp
    inline = q('{"room": {"timeline": {"limit": %s}}}' % limit)
    status, resp = a.call("GET", "/sync?timeout=0&filter=" + inline)
    assert status == 400 and resp["errcode"] == "M_BAD_JSON", resp
    status, resp = a.call("GET", "/rooms/%s/messages?dir=b&filter=%s" % (
        q(room), q('{"limit": %s}' % limit)))
    assert status == 400 and resp["errcode"] == "M_BAD_JSON", resp
    # An integer limit is fine.
    assert a.call("GET", "/rooms/%s/messages?dir=b&filter=%s" % (
        q(room), q('{"limit": 3}')))[0] == 200
