"""whoami, capabilities, POST /account/password and POST /account/deactivate
behind user-interactive auth (m.login.password)."""
from nio.responses import WhoamiResponse

from conftest import nio_run

WHOAMI = "/_matrix/client/v3/account/whoami"
PASSWORD = "/_matrix/client/v3/account/password"
DEACTIVATE = "/_matrix/client/v3/account/deactivate"


def password_auth(account, password, session):
    return {"type": "m.login.password", "session": session, "password": password,
            "identifier": {"type": "m.id.user", "user": account["user_id"]}}


def uia_start(stack, path, body, token):
    """The first request of a UIA exchange: 401 offering m.login.password."""
    status, resp = stack.request("POST", path, body, token=token)
    assert status == 401, resp
    assert {"stages": ["m.login.password"]} in resp["flows"]
    assert "errcode" not in resp
    return resp["session"]


def test_whoami(stack, account):
    async def go(client):
        client.access_token = account["access_token"]
        return await client.whoami()

    who = nio_run(stack, go, user=account["user_id"])
    assert isinstance(who, WhoamiResponse), who
    assert who.user_id == account["user_id"]
    status, body = stack.request("GET", WHOAMI, token=account["access_token"])
    assert status == 200
    assert (body["user_id"], body["device_id"]) == (account["user_id"], account["device_id"])
    assert body.get("is_guest", False) is False


def test_capabilities(stack, account):
    status, body = stack.request("GET", "/_matrix/client/v3/capabilities",
                                 token=account["access_token"])
    assert status == 200
    assert body["capabilities"]["m.change_password"]["enabled"] is True


def test_change_password(stack, account):
    user, old = account["username"], account["password"]
    status, other = stack.login(user, old)
    assert status == 200
    token = account["access_token"]
    body = {"new_password": "brand-new-pw"}

    session = uia_start(stack, PASSWORD, body, token)
    status, resp = stack.request("POST", PASSWORD, dict(
        body, auth=password_auth(account, "wrong-pw", session)), token=token)
    assert (status, resp["errcode"]) == (401, "M_FORBIDDEN")
    assert {"stages": ["m.login.password"]} in resp["flows"]
    status, resp = stack.request("POST", PASSWORD, dict(
        body, auth=password_auth(account, old, session)), token=token)
    assert (status, resp) == (200, {})

    status, resp = stack.login(user, old)
    assert (status, resp["errcode"]) == (403, "M_FORBIDDEN")
    status, resp = stack.login(user, "brand-new-pw")
    assert status == 200
    # logout_devices defaults to true: every other session ended, not this one.
    status, resp = stack.request("GET", WHOAMI, token=other["access_token"])
    assert (status, resp["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    status, resp = stack.request("GET", WHOAMI, token=token)
    assert status == 200


def test_change_password_keeping_devices(stack, account):
    status, other = stack.login(account["username"], account["password"])
    assert status == 200
    token = account["access_token"]
    body = {"new_password": "kept-devices-pw", "logout_devices": False}
    session = uia_start(stack, PASSWORD, body, token)
    status, resp = stack.request("POST", PASSWORD, dict(
        body, auth=password_auth(account, account["password"], session)), token=token)
    assert status == 200, resp
    status, _ = stack.request("GET", WHOAMI, token=other["access_token"])
    assert status == 200


def test_deactivate(stack, account):
    token = account["access_token"]
    session = uia_start(stack, DEACTIVATE, {}, token)
    status, resp = stack.request("POST", DEACTIVATE, {
        "auth": password_auth(account, "wrong-pw", session)}, token=token)
    assert (status, resp["errcode"]) == (401, "M_FORBIDDEN")
    status, _ = stack.request("GET", WHOAMI, token=token)
    assert status == 200
    status, resp = stack.request("POST", DEACTIVATE, {
        "auth": password_auth(account, account["password"], session)}, token=token)
    assert status == 200, resp

    status, resp = stack.request("GET", WHOAMI, token=token)
    assert (status, resp["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    # As Synapse: the login says why it fails.
    status, resp = stack.login(account["username"], account["password"])
    assert (status, resp["errcode"]) == (403, "M_USER_DEACTIVATED")
    status, resp = stack.login(account["username"], "wrong-pw")
    assert status == 403
    # The name is never handed out again.
    status, resp = stack.request("GET", "/_matrix/client/v3/register/available?username=" +
                                 account["username"])
    assert (status, resp["errcode"]) == (400, "M_USER_IN_USE")
