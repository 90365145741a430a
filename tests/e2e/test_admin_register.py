"""A stack with registration off (the default): POST /register refuses,
while shared-secret registration at /_synapse/admin/v1/register works
exactly as Synapse documents it, so provisioning scripts keep working."""
import pytest

from conftest import shared_secret_body, start_stack, stop_stack

ADMIN_REGISTER = "/_synapse/admin/v1/register"


@pytest.fixture(scope="module")
def closed_stack():
    s = start_stack(open_registration=False)
    yield s
    stop_stack(s)


def nonce(stack):
    status, body = stack.request("GET", ADMIN_REGISTER)
    assert status == 200
    assert isinstance(body["nonce"], str) and body["nonce"]
    return body["nonce"]


def test_registration_disabled(closed_stack, uniq):
    s = closed_stack
    for body in ({"username": uniq("closed"), "password": "pw"},
                 {"username": uniq("closed"), "password": "pw",
                  "auth": {"type": "m.login.dummy"}}):
        status, resp = s.request("POST", "/_matrix/client/v3/register", body)
        assert (status, resp["errcode"]) == (403, "M_FORBIDDEN")
        assert "access_token" not in resp


def test_shared_secret_registration(closed_stack, uniq):
    s = closed_stack
    name = uniq("ss")
    status, body = s.request("POST", ADMIN_REGISTER,
                             shared_secret_body(s, nonce(s), name, "pw-ss-1"))
    assert status == 200, body
    assert body["user_id"] == "@%s:%s" % (name, s.server_name)
    assert body["access_token"] and body["device_id"]
    status, who = s.request("GET", "/_matrix/client/v3/account/whoami", token=body["access_token"])
    assert (status, who["user_id"]) == (200, body["user_id"])
    status, login = s.login(name, "pw-ss-1")
    assert (status, login["user_id"]) == (200, body["user_id"])


def test_shared_secret_admin_with_displayname(closed_stack, uniq):
    """The mac covers "admin" for an admin; displayname is optional."""
    s = closed_stack
    name = uniq("ssadm")
    status, body = s.request("POST", ADMIN_REGISTER, shared_secret_body(
        s, nonce(s), name, "pw-ssadm-1", admin=True, displayname="Pepper Roni"))
    assert status == 200, body
    status, prof = s.request("GET", "/_matrix/client/v3/profile/%s/displayname" % body["user_id"])
    assert (status, prof["displayname"]) == (200, "Pepper Roni")


def test_wrong_mac(closed_stack, uniq):
    s = closed_stack
    name = uniq("ssbad")
    tampered = (
        lambda b: dict(b, password="pw-other"),     # mac made for another password
        lambda b: dict(b, admin=True),              # admin the mac does not cover
        lambda b: dict(b, mac="0" * 40),
    )
    for tamper in tampered:
        good = shared_secret_body(s, nonce(s), name, "pw-ssbad-1")
        status, resp = s.request("POST", ADMIN_REGISTER, tamper(good))
        assert (status, resp["errcode"]) == (403, "M_FORBIDDEN")
    # A failed attempt spends the nonce too.
    status, resp = s.request("POST", ADMIN_REGISTER, good)
    assert (status, resp["errcode"]) == (400, "M_UNKNOWN")
    status, resp = s.login(name, "pw-ssbad-1")
    assert status == 403


def test_nonce_is_single_use(closed_stack, uniq):
    s = closed_stack
    n = nonce(s)
    status, body = s.request("POST", ADMIN_REGISTER, shared_secret_body(s, n, uniq("ss1"), "pw-1"))
    assert status == 200, body
    status, body = s.request("POST", ADMIN_REGISTER, shared_secret_body(s, n, uniq("ss2"), "pw-2"))
    assert (status, body["errcode"]) == (400, "M_UNKNOWN")
    status, body = s.request("POST", ADMIN_REGISTER,
                             shared_secret_body(s, "made-up-nonce", uniq("ss3"), "pw-3"))
    assert (status, body["errcode"]) == (400, "M_UNKNOWN")


def test_shared_secret_taken_and_invalid_names(closed_stack, uniq):
    s = closed_stack
    name = uniq("sstaken")
    status, _ = s.request("POST", ADMIN_REGISTER, shared_secret_body(s, nonce(s), name, "pw-1"))
    assert status == 200
    status, body = s.request("POST", ADMIN_REGISTER, shared_secret_body(s, nonce(s), name, "pw-2"))
    assert (status, body["errcode"]) == (400, "M_USER_IN_USE")
    status, body = s.request("POST", ADMIN_REGISTER,
                             shared_secret_body(s, nonce(s), "Bad Name!", "pw-3"))
    assert (status, body["errcode"]) == (400, "M_INVALID_USERNAME")
