"""Rooms, guests, push rules and the user directory as clients (and
SyTest) expect them of a homeserver that behaves as Synapse 1.67: one
test per behaviour."""
import pytest

from conftest import User, q


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


# Reading events -------------------------------------------------------

def test_event_of_unreadable_room_is_404(alice, bob):
    """A non-member asking for an event of a room that is not world
    readable gets 404 M_NOT_FOUND, as from Synapse, not 403."""
    room = alice.create_room(preset="public_chat")
    eid = alice.send_text(room, "hello, world")
    status, body = bob.call("GET", "/rooms/%s/event/%s" % (q(room), q(eid)))
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
