"""Registration that requires a token (registration_requires_token = yes):
the m.login.registration_token stage with tokens made by myelin-admin, and
GET /v1/register/m.login.registration_token/validity."""
import time

import pytest

from conftest import start_stack, stop_stack

REGISTER = "/_matrix/client/v3/register"
VALIDITY = "/_matrix/client/v1/register/m.login.registration_token/validity?token="


@pytest.fixture(scope="module")
def token_stack():
    s = start_stack(extra_conf="registration_requires_token = yes\n")
    yield s
    stop_stack(s)


def add_token(stack, token, *args):
    r = stack.admin("registration-token", "add", token, *args)
    assert r.returncode == 0, r.stderr


def register(stack, username, token):
    """Registers as a client does: learns the flows, then completes each
    stage of the first flow.  Returns the last (status, body)."""
    body = {"username": username, "password": "pw-tok-1"}
    status, resp = stack.request("POST", REGISTER, body)
    assert status == 401, resp
    for stage in resp["flows"][0]["stages"]:
        auth = {"type": stage, "session": resp["session"]}
        if stage == "m.login.registration_token":
            auth["token"] = token
        status, resp = stack.request("POST", REGISTER, dict(body, auth=auth))
        if status != 401 or "errcode" in resp:
            break
    return status, resp


def test_flows_require_a_token(token_stack, uniq):
    s = token_stack
    status, body = s.request("POST", REGISTER, {"username": uniq("t"), "password": "pw"})
    assert status == 401
    assert body["flows"] and body["session"]
    for flow in body["flows"]:
        assert "m.login.registration_token" in flow["stages"]
    # m.login.dummy alone does not get in.
    name = uniq("dummy")
    status, body = s.request("POST", REGISTER, {
        "username": name, "password": "pw", "auth": {"type": "m.login.dummy"}})
    assert status == 401 and "access_token" not in body
    status, body = s.request("GET", REGISTER + "/available?username=" + name)
    assert (status, body) == (200, {"available": True})


def test_single_use_token(token_stack, uniq):
    s = token_stack
    token = "tok" + uniq("one")
    add_token(s, token, "--uses", "1")
    status, body = s.request("GET", VALIDITY + token)
    assert (status, body) == (200, {"valid": True})

    status, body = register(s, uniq("first"), token)
    assert status == 200, body
    assert body["access_token"]
    status, who = s.request("GET", "/_matrix/client/v3/account/whoami",
                            token=body["access_token"])
    assert (status, who["user_id"]) == (200, body["user_id"])

    # Used up.
    status, body = s.request("GET", VALIDITY + token)
    assert (status, body) == (200, {"valid": False})
    status, body = register(s, uniq("second"), token)
    assert (status, body["errcode"]) == (401, "M_UNAUTHORIZED")
    assert "access_token" not in body


def test_wrong_token(token_stack, uniq):
    s = token_stack
    status, body = register(s, uniq("wrong"), "no-such-token")
    assert (status, body["errcode"]) == (401, "M_UNAUTHORIZED")
    assert "access_token" not in body
    status, body = s.request("GET", VALIDITY + "no-such-token")
    assert (status, body) == (200, {"valid": False})


def test_expired_token(token_stack, uniq):
    s = token_stack
    token = "tok" + uniq("old")
    add_token(s, token, "--expiry", str(int(time.time() * 1000) - 60000))
    status, body = s.request("GET", VALIDITY + token)
    assert (status, body) == (200, {"valid": False})
    status, body = register(s, uniq("late"), token)
    assert (status, body["errcode"]) == (401, "M_UNAUTHORIZED")


def test_unlimited_token(token_stack, uniq):
    s = token_stack
    token = "tok" + uniq("many")
    add_token(s, token)
    for _ in range(2):
        status, body = register(s, uniq("many"), token)
        assert status == 200, body
    status, body = s.request("GET", VALIDITY + token)
    assert (status, body) == (200, {"valid": True})
