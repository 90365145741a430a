"""POST /register with open registration: matrix-nio's m.login.dummy flow,
the UIA handshake, names taken or invalid, /register/available,
inhibit_login, device_id and initial_device_display_name, guests."""
import threading

import nio
from nio.responses import WhoamiResponse

from conftest import nio_run

REGISTER = "/_matrix/client/v3/register"


def test_register_with_nio(stack, uniq):
    name = uniq("nio")

    async def go(client):
        resp = await client.register(name, "nio-pw-1", device_name="nio phone")
        assert isinstance(resp, nio.RegisterResponse), resp
        who = await client.whoami()
        return resp, who

    resp, who = nio_run(stack, go)
    assert resp.user_id == "@%s:%s" % (name, stack.server_name)
    assert resp.device_id and resp.access_token
    assert isinstance(who, WhoamiResponse), who
    assert who.user_id == resp.user_id
    status, body = stack.request("GET", "/_matrix/client/v3/devices", token=resp.access_token)
    assert status == 200
    assert [(d["device_id"], d["display_name"]) for d in body["devices"]] == \
        [(resp.device_id, "nio phone")]


def test_uia_handshake(stack, uniq):
    """The first POST learns the flows and a session; the second completes it."""
    name = uniq("uia")
    status, body = stack.request("POST", REGISTER, {"username": name, "password": "pw-uia-1"})
    assert status == 401
    assert {"stages": ["m.login.dummy"]} in body["flows"]
    assert isinstance(body["session"], str) and body["session"]
    assert "access_token" not in body
    status, body = stack.request("POST", REGISTER, {
        "username": name, "password": "pw-uia-1",
        "auth": {"type": "m.login.dummy", "session": body["session"]}})
    assert status == 200, body
    assert body["user_id"] == "@%s:%s" % (name, stack.server_name)
    assert body["access_token"] and body["device_id"]
    status, who = stack.request("GET", "/_matrix/client/v3/account/whoami",
                                token=body["access_token"])
    assert status == 200 and who["user_id"] == body["user_id"]


def test_taken_username(stack, account):
    # Before the UIA handshake (clients learn it early) and after it.
    status, body = stack.request("POST", REGISTER, {
        "username": account["username"], "password": "another-pw"})
    assert (status, body["errcode"]) == (400, "M_USER_IN_USE")
    status, body = stack.request("POST", REGISTER, {
        "username": account["username"], "password": "another-pw",
        "auth": {"type": "m.login.dummy"}})
    assert (status, body["errcode"]) == (400, "M_USER_IN_USE")
    # The first owner still logs in with their own password.
    status, _ = stack.login(account["username"], account["password"])
    assert status == 200


def test_invalid_usernames(stack):
    for bad in ["Bad Name!", "with:colon", "_reserved", "", "ünicode", "x" * 300]:
        status, body = stack.request("POST", REGISTER, {
            "username": bad, "password": "pw", "auth": {"type": "m.login.dummy"}})
        assert (status, body["errcode"]) == (400, "M_INVALID_USERNAME"), bad


def test_register_available(stack, account, uniq):
    path = REGISTER + "/available?username="
    status, body = stack.request("GET", path + uniq("free"))
    assert (status, body) == (200, {"available": True})
    status, body = stack.request("GET", path + account["username"])
    assert (status, body["errcode"]) == (400, "M_USER_IN_USE")
    for bad in ["Bad%20Name!", "Alice"]:
        status, body = stack.request("GET", path + bad)
        assert (status, body["errcode"]) == (400, "M_INVALID_USERNAME"), bad


def test_username_optional(stack):
    """Spec: without a username the server makes one up."""
    status, body = stack.request("POST", REGISTER, {
        "password": "pw-anon-1", "auth": {"type": "m.login.dummy"}})
    assert status == 200, body
    assert body["user_id"].startswith("@")
    assert body["user_id"].endswith(":" + stack.server_name)
    status, who = stack.request("GET", "/_matrix/client/v3/account/whoami",
                                token=body["access_token"])
    assert status == 200 and who["user_id"] == body["user_id"]


def test_inhibit_login(stack, uniq):
    name = uniq("inh")
    status, body = stack.request("POST", REGISTER, {
        "username": name, "password": "pw-inh-1", "inhibit_login": True,
        "auth": {"type": "m.login.dummy"}})
    assert status == 200, body
    assert body["user_id"] == "@%s:%s" % (name, stack.server_name)
    assert "access_token" not in body and "device_id" not in body
    # The account exists, and registration made no device.
    status, login = stack.login(name, "pw-inh-1")
    assert status == 200
    status, devs = stack.request("GET", "/_matrix/client/v3/devices", token=login["access_token"])
    assert [d["device_id"] for d in devs["devices"]] == [login["device_id"]]


def test_device_id_and_display_name(stack, uniq):
    resp = stack.register(uniq("dev"), "pw-dev-1", device_id="MYPHONE",
                          initial_device_display_name="Phone of mine")
    assert resp["device_id"] == "MYPHONE"
    status, body = stack.request("GET", "/_matrix/client/v3/devices", token=resp["access_token"])
    assert status == 200
    assert [(d["device_id"], d["display_name"]) for d in body["devices"]] == \
        [("MYPHONE", "Phone of mine")]


def test_guest_registration_refused(stack):
    status, body = stack.request("POST", REGISTER + "?kind=guest", {})
    assert (status, body["errcode"]) == (403, "M_GUEST_ACCESS_FORBIDDEN")
    assert "access_token" not in body


def test_concurrent_registrations_of_one_name(stack, uniq):
    """Racing clients: exactly one gets the name, the rest M_USER_IN_USE."""
    name, results = uniq("race"), []

    def attempt():
        results.append(stack.request("POST", REGISTER, {
            "username": name, "password": "pw-race-1", "auth": {"type": "m.login.dummy"}}))
    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted((status, body.get("errcode")) for status, body in results) == \
        [(200, None)] + [(400, "M_USER_IN_USE")] * 5
