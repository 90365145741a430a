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
