"""GET/POST /login, logout, logout/all: with matrix-nio where a client would
log in, raw requests for the other forms of the login body."""
import nio
from nio.responses import WhoamiError, WhoamiResponse

from conftest import nio_run

WHOAMI = "/_matrix/client/v3/account/whoami"


def test_login_flows(stack):
    resp = nio_run(stack, lambda client: client.login_info())
    assert isinstance(resp, nio.LoginInfoResponse), resp
    assert "m.login.password" in resp.flows
    status, body = stack.request("GET", "/_matrix/client/v3/login")
    assert status == 200
    assert {"type": "m.login.password"} in body["flows"]


def test_login_with_nio(stack, account):
    async def go(client):
        resp = await client.login(account["password"], device_name="nio laptop")
        assert isinstance(resp, nio.LoginResponse), resp
        who = await client.whoami()
        return resp, who

    resp, who = nio_run(stack, go, user=account["user_id"])
    assert resp.user_id == account["user_id"]
    assert resp.device_id != account["device_id"]
    assert resp.access_token != account["access_token"]
    assert isinstance(who, WhoamiResponse) and who.user_id == account["user_id"]
    # The registration's session goes on beside the new one.
    status, body = stack.request("GET", "/_matrix/client/v3/devices", token=account["access_token"])
    assert status == 200
    names = {d["device_id"]: d["display_name"] for d in body["devices"]}
    assert set(names) == {account["device_id"], resp.device_id}
    assert names[resp.device_id] == "nio laptop"


def test_wrong_password(stack, account, uniq):
    async def go(client):
        return await client.login("not-the-password")

    resp = nio_run(stack, go, user=account["user_id"])
    assert isinstance(resp, nio.LoginError), resp
    assert resp.transport_response.status == 403
    assert resp.status_code == "M_FORBIDDEN"
    # An unknown user gets the same answer: names do not leak.
    status, body = stack.login(uniq("nobody"), "whatever")
    assert (status, body["errcode"]) == (403, "M_FORBIDDEN")
    status, body = stack.login("@%s:other.example" % account["username"], account["password"])
    assert (status, body["errcode"]) == (403, "M_FORBIDDEN")


def test_login_body_forms(stack, account):
    """The legacy top-level "user", a full user ID, and any letter case
    (Synapse treats login names case-insensitively)."""
    forms = [
        {"type": "m.login.password", "user": account["username"],
         "password": account["password"]},
        {"type": "m.login.password", "password": account["password"],
         "identifier": {"type": "m.id.user", "user": account["user_id"]}},
        {"type": "m.login.password", "password": account["password"],
         "identifier": {"type": "m.id.user", "user": account["username"].upper()}},
    ]
    for body in forms:
        status, resp = stack.request("POST", "/_matrix/client/v3/login", body)
        assert status == 200, (body, resp)
        assert resp["user_id"] == account["user_id"]
        assert resp["home_server"] == stack.server_name
        # A client that did not ask for a refresh token gets a token that lasts.
        assert "refresh_token" not in resp and "expires_in_ms" not in resp
        status, who = stack.request("GET", WHOAMI, token=resp["access_token"])
        assert (status, who["user_id"], who["device_id"]) == \
            (200, account["user_id"], resp["device_id"])


def test_login_device_id_and_display_name(stack, account):
    status, resp = stack.login(account["username"], account["password"],
                               device_id="LAPTOP1", initial_device_display_name="My laptop")
    assert status == 200, resp
    assert resp["device_id"] == "LAPTOP1"
    status, dev = stack.request("GET", "/_matrix/client/v3/devices/LAPTOP1",
                                token=account["access_token"])
    assert status == 200
    assert (dev["device_id"], dev["display_name"]) == ("LAPTOP1", "My laptop")


def test_logout_invalidates_token(stack, account):
    async def go(client):
        resp = await client.login(account["password"])
        assert isinstance(resp, nio.LoginResponse), resp
        token = client.access_token
        out = await client.logout()
        assert isinstance(out, nio.LogoutResponse), out
        # The same client, still holding the old token, is refused.
        client.access_token = token
        who = await client.whoami()
        return resp, who

    resp, who = nio_run(stack, go, user=account["user_id"])
    assert isinstance(who, WhoamiError), who
    assert who.transport_response.status == 401
    assert who.status_code == "M_UNKNOWN_TOKEN"
    status, body = stack.request("GET", WHOAMI, token=resp.access_token)
    assert (status, body["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    # Its device went with it; the other session is untouched.
    status, body = stack.request("GET", "/_matrix/client/v3/devices", token=account["access_token"])
    assert status == 200
    assert [d["device_id"] for d in body["devices"]] == [account["device_id"]]


def test_logout_all(stack, account):
    status, refreshable = stack.login(account["username"], account["password"],
                                      refresh_token=True)
    assert status == 200

    async def go(client):
        resp = await client.login(account["password"])
        assert isinstance(resp, nio.LoginResponse), resp
        out = await client.logout(all_devices=True)
        assert isinstance(out, nio.LogoutResponse), out
        return resp

    resp = nio_run(stack, go, user=account["user_id"])
    for token in (resp.access_token, account["access_token"], refreshable["access_token"]):
        status, body = stack.request("GET", WHOAMI, token=token)
        assert (status, body["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    status, body = stack.request("POST", "/_matrix/client/v3/refresh",
                                 {"refresh_token": refreshable["refresh_token"]})
    assert (status, body["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    # The password still works: only sessions ended.
    status, resp = stack.login(account["username"], account["password"])
    assert status == 200
    status, body = stack.request("GET", "/_matrix/client/v3/devices", token=resp["access_token"])
    assert [d["device_id"] for d in body["devices"]] == [resp["device_id"]]
