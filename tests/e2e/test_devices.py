"""Devices: list, rename and delete (behind UIA) through matrix-nio;
GET/PUT/DELETE /devices/{deviceId} raw."""
import nio

from conftest import nio_run

WHOAMI = "/_matrix/client/v3/account/whoami"
DEVICES = "/_matrix/client/v3/devices"


def test_devices_with_nio(stack, account):
    """A client lists its devices, renames one and deletes the other."""
    other = account["device_id"]

    async def go(client):
        login = await client.login(account["password"], device_name="nio desktop")
        assert isinstance(login, nio.LoginResponse), login
        listed = await client.devices()
        renamed = await client.update_device(client.device_id, {"display_name": "renamed"})
        relisted = await client.devices()
        ask = await client.delete_devices([other])
        auth = {"type": "m.login.password", "user": account["user_id"],
                "password": account["password"], "session": getattr(ask, "session", None)}
        deleted = await client.delete_devices([other], auth)
        final = await client.devices()
        return login, listed, renamed, relisted, ask, deleted, final

    login, listed, renamed, relisted, ask, deleted, final = nio_run(
        stack, go, user=account["user_id"])
    assert isinstance(listed, nio.DevicesResponse), listed
    assert {(d.id, d.display_name) for d in listed.devices} == \
        {(other, None), (login.device_id, "nio desktop")}
    assert isinstance(renamed, nio.UpdateDeviceResponse), renamed
    assert isinstance(relisted, nio.DevicesResponse), relisted
    assert {(d.id, d.display_name) for d in relisted.devices} == \
        {(other, None), (login.device_id, "renamed")}
    # Deleting asks for the password first.
    assert isinstance(ask, nio.DeleteDevicesAuthResponse), ask
    assert ask.session
    assert ["m.login.password"] in [f["stages"] for f in ask.flows]
    assert isinstance(deleted, nio.DeleteDevicesResponse), deleted
    assert isinstance(final, nio.DevicesResponse), final
    assert [d.id for d in final.devices] == [login.device_id]
    # The deleted device's token went with it.
    status, body = stack.request("GET", WHOAMI, token=account["access_token"])
    assert (status, body["errcode"]) == (401, "M_UNKNOWN_TOKEN")


def test_delete_devices_wrong_password(stack, account):
    token = account["access_token"]
    body = {"devices": [account["device_id"]]}
    status, resp = stack.request("POST", "/_matrix/client/v3/delete_devices", body, token=token)
    assert status == 401
    body["auth"] = {"type": "m.login.password", "password": "wrong-pw", "session": resp["session"],
                    "identifier": {"type": "m.id.user", "user": account["username"]}}
    status, resp = stack.request("POST", "/_matrix/client/v3/delete_devices", body, token=token)
    assert (status, resp["errcode"]) == (401, "M_FORBIDDEN")
    status, _ = stack.request("GET", WHOAMI, token=token)
    assert status == 200


def test_device_get_put_delete(stack, account):
    token = account["access_token"]
    status, login = stack.login(account["username"], account["password"], device_id="SECOND")
    assert status == 200
    status, body = stack.request("GET", DEVICES + "/SECOND", token=token)
    assert status == 200 and body["device_id"] == "SECOND"
    status, body = stack.request("PUT", DEVICES + "/SECOND", {"display_name": "Second one"},
                                 token=token)
    assert status == 200
    status, body = stack.request("GET", DEVICES + "/SECOND", token=token)
    assert (status, body["display_name"]) == (200, "Second one")
    # DELETE carries its UIA in the body, like POST /delete_devices.
    status, body = stack.request("DELETE", DEVICES + "/SECOND", token=token)
    assert status == 401
    assert ["m.login.password"] in [f["stages"] for f in body["flows"]]
    status, body = stack.request("DELETE", DEVICES + "/SECOND", {"auth": {
        "type": "m.login.password", "session": body["session"], "password": account["password"],
        "identifier": {"type": "m.id.user", "user": account["username"]}}}, token=token)
    assert (status, body) == (200, {})
    status, body = stack.request("GET", DEVICES + "/SECOND", token=token)
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    status, body = stack.request("GET", WHOAMI, token=login["access_token"])
    assert (status, body["errcode"]) == (401, "M_UNKNOWN_TOKEN")


def test_unknown_device(stack, account):
    token = account["access_token"]
    status, body = stack.request("GET", DEVICES + "/NOSUCHDEVICE", token=token)
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    status, body = stack.request("PUT", DEVICES + "/NOSUCHDEVICE", {"display_name": "x"},
                                 token=token)
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")


def test_devices_of_others_are_invisible(stack, account, uniq):
    other = stack.register(uniq("devo"), "pw-devo-1")
    status, body = stack.request("GET", DEVICES + "/" + other["device_id"],
                                 token=account["access_token"])
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    status, body = stack.request("GET", DEVICES, token=account["access_token"])
    assert [d["device_id"] for d in body["devices"]] == [account["device_id"]]


def test_uia_must_be_the_same_user(stack, account, uniq):
    """Another user's password does not authorise deleting my devices: 403,
    as Synapse answers, not a stage to try again."""
    other_name, other_pw = uniq("devx"), "pw-devx-1"
    stack.register(other_name, other_pw)
    token = account["access_token"]
    body = {"devices": [account["device_id"]]}
    status, resp = stack.request("POST", "/_matrix/client/v3/delete_devices", body, token=token)
    assert status == 401
    body["auth"] = {"type": "m.login.password", "password": other_pw, "session": resp["session"],
                    "identifier": {"type": "m.id.user", "user": other_name}}
    status, resp = stack.request("POST", "/_matrix/client/v3/delete_devices", body, token=token)
    assert (status, resp["errcode"]) == (403, "M_FORBIDDEN")
    status, _ = stack.request("GET", WHOAMI, token=token)
    assert status == 200
