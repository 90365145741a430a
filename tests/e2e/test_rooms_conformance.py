"""Rooms, guests, push rules and the user directory as clients (and
SyTest) expect them of a homeserver that behaves as Synapse 1.67: one
test per behaviour."""
import os
import time

import pytest

from conftest import C, FakeClock, User, q, start_stack, stop_stack


@pytest.fixture
def alice(stack, uniq):
    return User.register(stack, uniq("rca"))


@pytest.fixture
def bob(stack, uniq):
    return User.register(stack, uniq("rcb"))


# Push rules -----------------------------------------------------------

def test_push_rule_dont_notify_kept(alice):
    """Older clients set dont_notify and read it back (Synapse keeps it)."""
    alice.ok("PUT", "/pushrules/global/override/.m.rule.master/actions",
             {"actions": ["dont_notify"]})
    assert alice.ok("GET", "/pushrules/global/override/.m.rule.master/actions") == \
        {"actions": ["dont_notify"]}
    alice.ok("PUT", "/pushrules/global/room/%s" % q("!x:localhost"),
             {"actions": ["dont_notify"]})
    assert alice.ok("GET", "/pushrules/global/room/%s/actions" % q("!x:localhost")) == \
        {"actions": ["dont_notify"]}


@pytest.mark.parametrize("method,path", [
    ("PUT", "/pushrules/"),
    ("PUT", "/pushrules/not_a_scope/room/%23spam:example.com"),
    ("PUT", "/pushrules/global"),
    ("PUT", "/pushrules/global/room"),
    ("PUT", "/pushrules/global/room/"),
    ("PUT", "/pushrules/global/override/.m.rule.master/not_an_attr"),
    ("GET", "/pushrules/global"),
    ("GET", "/pushrules/global/room"),
    ("GET", "/pushrules/not_a_scope/"),
    ("GET", "/pushrules/global/not_a_template/"),
    ("GET", "/pushrules/global/override/.m.rule.master/not_an_attr"),
])
def test_push_rules_malformed_path_is_400(alice, method, path):
    status, body = alice.call(method, path, {"enabled": True} if method == "PUT" else None)
    assert (status, body["errcode"]) == (400, "M_UNRECOGNIZED"), (method, path, body)


def test_push_rules_of_one_kind(alice):
    got = alice.ok("GET", "/pushrules/global/override/")
    assert isinstance(got, list) and got[0]["rule_id"] == ".m.rule.master"


# Room upgrades --------------------------------------------------------

def test_upgrade_predecessor_is_the_tombstone(alice):
    """Synapse: the new room's predecessor.event_id is the old room's tombstone."""
    old = alice.create_room(room_version="10")
    new = alice.ok("POST", "/rooms/%s/upgrade" % q(old), {"new_version": "10"})[
        "replacement_room"]
    status, tomb = alice.call("GET", "/rooms/%s/state/m.room.tombstone/" % q(old))
    assert status == 200 and tomb["replacement_room"] == new
    tomb_id = [e for e in alice.timeline(old) if e["type"] == "m.room.tombstone"][0][
        "event_id"]
    create = [e for e in alice.timeline(new) if e["type"] == "m.room.create"][0]
    assert create["content"]["predecessor"] == {"room_id": old, "event_id": tomb_id}


def test_upgrade_carries_tags_and_direct(alice, bob):
    """Synapse: joining the replacement room takes along the user's tags
    of the old one and its place in m.direct (the upgrader's too)."""
    old = alice.create_room(preset="public_chat", room_version="10")
    bob.join(old)
    bob.ok("PUT", "/user/%s/rooms/%s/tags/test_tag" % (q(bob.user_id), q(old)), {})
    alice.ok("PUT", "/user/%s/account_data/m.direct" % q(alice.user_id),
             {bob.user_id: [old]})
    new = alice.ok("POST", "/rooms/%s/upgrade" % q(old), {"new_version": "10"})[
        "replacement_room"]
    assert alice.ok("GET", "/user/%s/account_data/m.direct" % q(alice.user_id)) == \
        {bob.user_id: [old, new]}
    bob.join(new)
    assert bob.ok("GET", "/user/%s/rooms/%s/tags" % (q(bob.user_id), q(new))) == \
        {"tags": {"test_tag": {}}}

# Reading events -------------------------------------------------------

def deactivate_erase(user, password):
    """POST /account/deactivate with erase: true, through its password stage."""
    status, resp = user.call("POST", "/account/deactivate", {"erase": True})
    assert status == 401, resp
    user.ok("POST", "/account/deactivate", {"erase": True, "auth": {
        "type": "m.login.password", "session": resp["session"], "password": password,
        "identifier": {"type": "m.id.user", "user": user.user_id}}})


def test_erased_sender_seen_pruned_by_later_joiners(stack, uniq, bob):
    """Synapse: once its sender is erased, an event reaches those joined
    at it as sent and everyone else pruned."""
    name = uniq("rce")
    creator = User.register(stack, name, "pw-erase-1")
    late = User.register(stack, uniq("rcl"))
    room = creator.create_room(preset="public_chat")
    bob.join(room)
    eid = creator.send_text(room, "body1")
    late.join(room)
    assert late.ok("GET", "/rooms/%s/event/%s" % (q(room), q(eid)))["content"]["body"] == \
        "body1"
    deactivate_erase(creator, "pw-erase-1")
    assert bob.ok("GET", "/rooms/%s/event/%s" % (q(room), q(eid)))["content"]["body"] == \
        "body1"
    got = late.ok("GET", "/rooms/%s/event/%s" % (q(room), q(eid)))
    assert got["type"] == "m.room.message" and got["content"] == {}
    status, resp = late.sync()
    assert status == 200
    ev = [e for e in resp["rooms"]["join"][room]["timeline"]["events"]
          if e["event_id"] == eid]
    assert not ev or ev[0]["content"] == {}
    assert [e for e in late.timeline(room) if e["event_id"] == eid][0]["content"] == {}
    assert [e for e in bob.timeline(room) if e["event_id"] == eid][0]["content"][
        "body"] == "body1"


def test_event_of_unreadable_room_is_404(alice, bob):
    """A non-member asking for an event of a room that is not world
    readable gets 404 M_NOT_FOUND, as from Synapse, not 403."""
    room = alice.create_room(preset="public_chat")
    eid = alice.send_text(room, "hello, world")
    status, body = bob.call("GET", "/rooms/%s/event/%s" % (q(room), q(eid)))
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")


# User directory -------------------------------------------------------

def in_directory(user, term):
    got = user.ok("POST", "/user_directory/search", {"search_term": term})
    return any(r["user_id"] == user.user_id for r in got["results"])


@pytest.mark.parametrize("etype,key,public,private", [
    ("m.room.join_rules", "join_rule", "public", "invite"),
    ("m.room.history_visibility", "history_visibility", "world_readable", "shared"),
])
def test_user_directory_follows_room_publicity(alice, bob, uniq, etype, key, public,
                                               private):
    """Synapse: a user sharing only a private room is not listed to
    themselves; the room turning public lists them, turning back unlists."""
    name = uniq("Dir")
    bob.ok("PUT", "/profile/%s/displayname" % q(bob.user_id), {"displayname": name})
    room = alice.create_room(preset="private_chat", invite=[bob.user_id])
    bob.join(room)
    assert not in_directory(bob, name)
    alice.ok("PUT", "/rooms/%s/state/%s/" % (q(room), etype), {key: public})
    assert in_directory(bob, name)
    alice.ok("PUT", "/rooms/%s/state/%s/" % (q(room), etype), {key: private})
    assert not in_directory(bob, name)


# Guests ---------------------------------------------------------------

@pytest.fixture(scope="module")
def guest_stack():
    """A stack of its own with guest access on."""
    s = start_stack(extra_conf="allow_guest_access = yes\n")
    yield s
    stop_stack(s)


def new_guest(stack):
    status, resp = stack.request("POST", C + "/register?kind=guest", {})
    assert status == 200, resp
    return User(stack, resp)


def test_guest_join_needs_can_join(guest_stack, uniq):
    """Spec, "Guest access": a guest joins only a room whose guest_access is can_join."""
    owner, guest = User.register(guest_stack, uniq("gjo")), new_guest(guest_stack)
    room = owner.create_room(preset="public_chat")
    status, body = guest.call("POST", "/join/" + q(room), {})
    assert (status, body["errcode"]) == (403, "M_FORBIDDEN")
    owner.ok("PUT", "/rooms/%s/state/m.room.guest_access/" % q(room),
             {"guest_access": "can_join"})
    guest.join(room)
    assert owner.membership(room, guest.user_id) == "join"


def test_guests_leave_when_guest_access_forbidden(guest_stack, uniq):
    """Synapse: revoking guest access makes every local guest member leave."""
    owner, guest = User.register(guest_stack, uniq("gko")), new_guest(guest_stack)
    member = User.register(guest_stack, uniq("gkm"))
    room = owner.create_room(preset="public_chat")
    owner.ok("PUT", "/rooms/%s/state/m.room.guest_access/" % q(room),
             {"guest_access": "can_join"})
    guest.join(room)
    member.join(room)
    owner.ok("PUT", "/rooms/%s/state/m.room.guest_access/" % q(room),
             {"guest_access": "forbidden"})
    assert owner.membership(room, guest.user_id) == "leave"
    assert owner.membership(room, member.user_id) == "join"
    _, leave = owner.state(room, "m.room.member", guest.user_id)
    ev = [e for e in owner.timeline(room) if e["type"] == "m.room.member" and
          e["state_key"] == guest.user_id][-1]
    assert ev["sender"] == guest.user_id and leave["membership"] == "leave"


def test_guest_upgrade_keeps_user_id(guest_stack, uniq):
    """Spec, "Guest access": a guest account can be upgraded; as Synapse,
    POST /register with guest_access_token and the guest's own localpart."""
    guest = new_guest(guest_stack)
    owner = User.register(guest_stack, uniq("guo"))
    room = owner.create_room(preset="public_chat")
    local = guest.user_id[1:].split(":")[0]
    body = {"username": local, "password": "SIR_Arthur_David",
            "guest_access_token": guest.token}
    status, resp = guest_stack.request("POST", C + "/register", body)
    assert status == 401 and "flows" in resp, resp
    body["auth"] = {"type": "m.login.dummy", "session": resp["session"]}
    status, resp = guest_stack.request("POST", C + "/register", body)
    assert status == 200 and resp["user_id"] == guest.user_id, resp
    full = User(guest_stack, resp)
    assert full.ok("GET", "/account/whoami")["is_guest"] is False
    full.join(room)
    status, resp = guest_stack.login(local, "SIR_Arthur_David")
    assert status == 200 and resp["user_id"] == guest.user_id


def test_guest_cannot_upgrade_another(guest_stack):
    one, two = new_guest(guest_stack), new_guest(guest_stack)
    status, resp = guest_stack.request("POST", C + "/register", {
        "username": one.user_id[1:].split(":")[0], "password": "SIR_Arthur_David",
        "guest_access_token": two.token, "auth": {"type": "m.login.dummy"}})
    assert (status, resp["errcode"]) == (400, "M_USER_IN_USE")


# Ephemeral messages (MSC2228) -----------------------------------------

@pytest.fixture(scope="module")
def expiry_stack():
    """A stack of its own, on a FakeClock, with enable_ephemeral_messages."""
    clock = FakeClock()
    s = start_stack(extra_conf="enable_ephemeral_messages = yes\n",
                    env={"MYELIN_FAKE_CLOCK": clock.path})
    s.clock = clock
    yield s
    stop_stack(s)
    os.unlink(clock.path)


def event_content(user, room, eid):
    return user.ok("GET", "/rooms/%s/event/%s" % (q(room), q(eid)))["content"]


def test_self_destruct_after_prunes_the_message(expiry_stack, uniq):
    """MSC2228, as Synapse with enable_ephemeral_messages: once
    org.matrix.self_destruct_after has passed, the message is served
    pruned; one without it, or a state event, is left alone."""
    s = expiry_stack
    alice = User.register(s, uniq("eph"))
    room = alice.create_room(preset="public_chat")
    at = s.clock.now + 1000
    eid = alice.send_text(room, "This is a message", **{
        "org.matrix.self_destruct_after": at})
    kept = alice.send_text(room, "stays")
    status, _ = alice.put_state(room, "org.example.s", {
        "org.matrix.self_destruct_after": at})
    assert status == 200
    assert event_content(alice, room, eid)["body"] == "This is a message"
    s.clock.advance(2000)
    # myelin-timerd prunes it on its next look: wait for that, boundedly.
    for _ in range(100):
        if event_content(alice, room, eid) == {}:
            break
        time.sleep(0.1)
    assert event_content(alice, room, eid) == {}
    assert [e for e in alice.timeline(room) if e["event_id"] == eid][0]["content"] == {}
    assert event_content(alice, room, kept)["body"] == "stays"
    assert alice.state(room, "org.example.s")[1] == {"org.matrix.self_destruct_after": at}


# Joins ----------------------------------------------------------------

@pytest.mark.parametrize("param", ["server_name", "via"])
def test_join_with_a_bad_server_name_is_refused(alice, param):
    """A join naming a server that is not a server name is 400
    M_INVALID_PARAM, whose message names it (the handler once freed the
    list before writing the message: under ASan the request died)."""
    st, body = alice.call("POST", "/join/%s?%s=%s" % (
        q("!nosuch:elsewhere.example"), param, q("not a server")), {})
    assert st == 400 and body["errcode"] == "M_INVALID_PARAM", body
    assert "not a server" in body["error"]
