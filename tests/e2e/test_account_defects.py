"""Accounts: a UIA session bound to its request and user, one deactivation
for the client and the admin paths, devices' last_seen on the fake clock,
and the length limits Synapse puts on device IDs, device names and
presence status messages."""
import os

import pytest

from conftest import C, admin_login, q

A1 = "/_synapse/admin/v1"
A2 = "/_synapse/admin/v2"
WHOAMI = C + "/account/whoami"
DEVICES = C + "/devices"
PASSWORD = C + "/account/password"
DEACTIVATE = C + "/account/deactivate"


def password_auth(user, password, session=None):
    auth = {"type": "m.login.password", "password": password,
            "identifier": {"type": "m.id.user", "user": user["user_id"]}}
    if session is not None:
        auth["session"] = session
    return auth


def uia_session(stack, method, path, body, token):
    status, resp = stack.request(method, path, body, token=token)
    assert status == 401, resp
    return resp["session"]


def login_device(stack, account, device_id, **extra):
    status, resp = stack.login(account["username"], account["password"],
                               device_id=device_id, **extra)
    assert status == 200, resp
    return resp


def device_ids(stack, token):
    status, body = stack.request("GET", DEVICES, token=token)
    assert status == 200, body
    return {d["device_id"] for d in body["devices"]}


@pytest.fixture(scope="module")
def admin(stack):
    return admin_login(stack, "accadm%d" % os.getpid(), "pw-accadm")["access_token"]


# -- 1. a UIA session belongs to one request and one user ----------------------

def test_uia_session_bound_to_path(stack, account):
    """SyTest 10apidoc/13ui-auth.pl: a session opened to delete device A
    cannot complete the deletion of device B; A's deletion still can."""
    token = account["access_token"]
    login_device(stack, account, "DEVA")
    login_device(stack, account, "DEVB")
    session = uia_session(stack, "DELETE", DEVICES + "/DEVA", {}, token)
    status, resp = stack.request("DELETE", DEVICES + "/DEVB", {
        "auth": password_auth(account, account["password"], session)}, token=token)
    assert (status, resp["errcode"]) == (403, "M_FORBIDDEN")
    assert {"DEVA", "DEVB"} <= device_ids(stack, token)
    # The session still serves the request it was opened for.
    status, resp = stack.request("DELETE", DEVICES + "/DEVA", {
        "auth": password_auth(account, account["password"], session)}, token=token)
    assert status == 200, resp
    ids = device_ids(stack, token)
    assert "DEVA" not in ids and "DEVB" in ids


def test_uia_session_bound_to_body(stack, account):
    """The same path with other parameters is another operation."""
    token = account["access_token"]
    login_device(stack, account, "BODYA")
    login_device(stack, account, "BODYB")
    path = C + "/delete_devices"
    session = uia_session(stack, "POST", path, {"devices": ["BODYA"]}, token)
    status, resp = stack.request("POST", path, {
        "devices": ["BODYB"],
        "auth": password_auth(account, account["password"], session)}, token=token)
    assert (status, resp["errcode"]) == (403, "M_FORBIDDEN")
    assert {"BODYA", "BODYB"} <= device_ids(stack, token)


def test_uia_session_bound_to_endpoint(stack, account):
    """A session opened to change the password cannot deactivate."""
    token = account["access_token"]
    session = uia_session(stack, "POST", PASSWORD, {"new_password": "pw-new-1"}, token)
    status, resp = stack.request("POST", DEACTIVATE, {
        "auth": password_auth(account, account["password"], session)}, token=token)
    assert (status, resp["errcode"]) == (403, "M_FORBIDDEN")
    assert stack.request("GET", WHOAMI, token=token)[0] == 200


def test_uia_session_bound_to_user(stack, account, uniq):
    """Another user cannot finish my session, even with their own password."""
    other = stack.register(uniq("uiao"), "pw-uiao-1")
    other = dict(other, password="pw-uiao-1")
    path = C + "/delete_devices"
    session = uia_session(stack, "POST", path, {"devices": [account["device_id"]]},
                          account["access_token"])
    status, resp = stack.request("POST", path, {
        "devices": [account["device_id"]],
        "auth": password_auth(other, other["password"], session)},
        token=other["access_token"])
    assert (status, resp["errcode"]) == (403, "M_FORBIDDEN")
    assert stack.request("GET", WHOAMI, token=account["access_token"])[0] == 200


def test_uia_other_users_password(stack, account, uniq):
    """SyTest 10apidoc/12device_management.pl: authenticating as somebody
    else is 403, not a stage to try again."""
    other = stack.register(uniq("uiae"), "pw-uiae-1")
    login_device(stack, account, "OWNED")
    token = account["access_token"]
    status, resp = stack.request("DELETE", DEVICES + "/OWNED", {
        "auth": password_auth(other, "pw-uiae-1")}, token=token)
    assert (status, resp["errcode"]) == (403, "M_FORBIDDEN")
    assert "OWNED" in device_ids(stack, token)
    status, resp = stack.request("DELETE", DEVICES + "/OWNED", {
        "auth": password_auth(account, account["password"])}, token=token)
    assert status == 200, resp
    assert "OWNED" not in device_ids(stack, token)


def test_uia_wrong_password_lists_completed(stack, account):
    """SyTest 14account/02deactivate.pl: a failed stage's 401 says what is
    completed, even when nothing is."""
    token = account["access_token"]
    session = uia_session(stack, "POST", DEACTIVATE, {}, token)
    status, resp = stack.request("POST", DEACTIVATE, {
        "auth": password_auth(account, "wrong-pw", session)}, token=token)
    assert (status, resp["errcode"], resp.get("completed")) == (401, "M_FORBIDDEN", [])


def test_registration_session_may_resend_the_body(stack, uniq):
    """Registration is one operation whatever the body says at each step."""
    name = uniq("regs")
    path = C + "/register"
    status, resp = stack.request("POST", path, {"username": name, "password": "pw-regs-1"})
    assert status == 401, resp
    status, resp = stack.request("POST", path, {
        "username": name, "password": "pw-regs-1", "initial_device_display_name": "phone",
        "auth": {"type": "m.login.dummy", "session": resp["session"]}})
    assert status == 200, resp
    # A registration session does not authorise anything else.
    status, resp = stack.request("POST", path, {"username": uniq("regt"),
                                                "password": "pw-regs-1"})
    assert status == 401
    session = resp["session"]
    reg = stack.register(uniq("regu"), "pw-regu-1")
    status, resp = stack.request("POST", DEACTIVATE, {"auth": {
        "type": "m.login.password", "session": session, "password": "pw-regu-1",
        "identifier": {"type": "m.id.user", "user": reg["user_id"]}}},
        token=reg["access_token"])
    assert (status, resp["errcode"]) == (403, "M_FORBIDDEN")


def register_step(stack, body):
    return stack.request("POST", C + "/register", body)


def test_registration_is_idempotent(stack, uniq):
    """SyTest 11register.pl: the same completed request again answers for
    the account it made, with and without a username."""
    for username in (None, uniq("idem")):
        body = {"password": "pw-idem-1"}
        if username:
            body["username"] = username
        status, resp = register_step(stack, body)
        assert status == 401, resp
        body["auth"] = {"type": "m.login.dummy", "session": resp["session"]}
        status, first = register_step(stack, body)
        assert status == 200, first
        status, again = register_step(stack, body)
        assert status == 200, again
        assert again["user_id"] == first["user_id"]
        assert again["access_token"] != first["access_token"]
        assert stack.request("GET", WHOAMI, token=again["access_token"])[0] == 200


def test_registration_remembers_parameters(stack, uniq):
    """SyTest 11register.pl: a step sending only "auth" registers with what
    the first step sent, non-ASCII password included."""
    name = uniq("remb")
    status, resp = register_step(stack, {
        "username": name, "password": "übers3kr1t", "device_id": "xyzzy",
        "initial_device_display_name": "display_name"})
    assert status == 401, resp
    status, reg = register_step(stack, {"auth": {"type": "m.login.dummy",
                                                 "session": resp["session"]}})
    assert status == 200, reg
    assert (reg["user_id"], reg["device_id"]) == ("@%s:%s" % (name, stack.server_name), "xyzzy")
    status, dev = stack.request("GET", DEVICES + "/xyzzy", token=reg["access_token"])
    assert (status, dev["display_name"]) == (200, "display_name")
    assert stack.login(name, "übers3kr1t")[0] == 200


def test_registration_remembers_inhibit_login(stack, uniq):
    name = uniq("inhb")
    status, resp = register_step(stack, {"username": name, "password": "pw-inhb-1",
                                         "inhibit_login": True})
    assert status == 401, resp
    status, reg = register_step(stack, {"auth": {"type": "m.login.dummy",
                                                 "session": resp["session"]}})
    assert status == 200, reg
    assert reg == {"user_id": "@%s:%s" % (name, stack.server_name)}


# -- 2. one deactivation for the client and the admin paths ---------------------

def test_client_deactivate_leaves_rooms_and_erases(stack, account, admin, uniq):
    token = account["access_token"]
    friend = stack.register(uniq("deaf"), "pw-deaf-1")
    status, body = stack.request("POST", C + "/createRoom", {"preset": "public_chat"},
                                 token=friend["access_token"])
    assert status == 200, body
    joined = body["room_id"]
    status, body = stack.request("POST", C + "/createRoom", {"preset": "private_chat",
                                 "invite": [account["user_id"]]}, token=friend["access_token"])
    assert status == 200, body
    invited = body["room_id"]
    assert stack.request("POST", C + "/join/" + q(joined), {}, token=token)[0] == 200
    status, body = stack.request("POST", C + "/pushers/set", {
        "kind": "http", "app_id": "org.example.app", "pushkey": "pk-" + account["username"],
        "app_display_name": "Example", "device_display_name": "Phone", "lang": "en",
        "data": {"url": "https://push.example.org/_matrix/push/v1/notify"}}, token=token)
    assert status == 200, body

    session = uia_session(stack, "POST", DEACTIVATE, {"erase": True}, token)
    status, body = stack.request("POST", DEACTIVATE, {
        "erase": True, "auth": password_auth(account, account["password"], session)},
        token=token)
    assert status == 200, body
    assert stack.request("GET", WHOAMI, token=token)[0] == 401

    # It left the room it was in and declined the invite.
    for room in (joined, invited):
        status, body = stack.request("GET", C + "/rooms/%s/state/m.room.member/%s" % (
            q(room), q(account["user_id"])), token=friend["access_token"])
        assert (status, body.get("membership")) == (200, "leave"), (room, body)
    # Erased, as the admin path erases.
    status, body = stack.request("GET", A2 + "/users/" + q(account["user_id"]), token=admin)
    assert (status, body["deactivated"], body["erased"], body["displayname"]) == \
        (200, True, True, None)
    # Its pushers went with it: nothing is left when the account comes back.
    status, body = stack.request("PUT", A2 + "/users/" + q(account["user_id"]),
                                 {"deactivated": False, "password": "pw-back-1"}, token=admin)
    assert status == 200, body
    status, body = stack.login(account["username"], "pw-back-1")
    assert status == 200, body
    status, body = stack.request("GET", C + "/pushers", token=body["access_token"])
    assert (status, body) == (200, {"pushers": []})


def test_admin_deactivate_removes_pushers(stack, account, admin):
    token = account["access_token"]
    status, body = stack.request("POST", C + "/pushers/set", {
        "kind": "http", "app_id": "org.example.app", "pushkey": "pk-" + account["username"],
        "app_display_name": "Example", "device_display_name": "Phone", "lang": "en",
        "data": {"url": "https://push.example.org/_matrix/push/v1/notify"}}, token=token)
    assert status == 200, body
    status, body = stack.request("POST", A1 + "/deactivate/" + q(account["user_id"]), {},
                                 token=admin)
    assert status == 200, body
    status, body = stack.request("PUT", A2 + "/users/" + q(account["user_id"]),
                                 {"deactivated": False, "password": "pw-back-2"}, token=admin)
    assert status == 200, body
    status, body = stack.login(account["username"], "pw-back-2")
    assert status == 200, body
    status, body = stack.request("GET", C + "/pushers", token=body["access_token"])
    assert (status, body) == (200, {"pushers": []})


# -- 4. last_seen_ts and last_seen_ip, at most one write per interval -----------

def devices_by_id(stack, token):
    status, body = stack.request("GET", DEVICES, token=token)
    assert status == 200, body
    return {d["device_id"]: d for d in body["devices"]}


def test_last_seen_updated_after_use(clock_stack, uniq):
    s = clock_stack
    name = uniq("seen")
    first = s.register(name, "pw-seen-1")
    status, second = s.login(name, "pw-seen-1", device_id="SECOND")
    assert status == 200, second
    logged_in_at = s.clock.now
    assert devices_by_id(s, first["access_token"])["SECOND"]["last_seen_ts"] == logged_in_at

    s.clock.advance(10 * 60 * 1000)
    assert s.request("GET", WHOAMI, token=second["access_token"])[0] == 200
    seen = devices_by_id(s, first["access_token"])
    assert seen["SECOND"]["last_seen_ts"] == s.clock.now
    assert seen["SECOND"]["last_seen_ip"] == "127.0.0.1"
    # The listing request counts as a use of the first device.
    assert seen[first["device_id"]]["last_seen_ts"] == s.clock.now
    used_at = s.clock.now

    # Within the interval, a use writes nothing.
    s.clock.advance(30 * 1000)
    assert s.request("GET", WHOAMI, token=second["access_token"])[0] == 200
    seen = devices_by_id(s, first["access_token"])
    assert seen["SECOND"]["last_seen_ts"] == used_at
    assert seen[first["device_id"]]["last_seen_ts"] == used_at


# -- 5. Synapse's limits on device IDs, device names and status messages ---------

def test_login_device_id_limit(stack, account):
    token = account["access_token"]
    long_id = "D" * 513
    status, body = stack.login(account["username"], account["password"], device_id=long_id)
    assert (status, body["errcode"]) == (400, "M_INVALID_PARAM")
    assert long_id not in device_ids(stack, token)
    status, body = stack.login(account["username"], account["password"], device_id="D" * 512)
    assert status == 200, body


def test_login_device_display_name_limit(stack, account):
    token = account["access_token"]
    status, body = stack.login(account["username"], account["password"], device_id="LONGNAME",
                               initial_device_display_name="n" * 101)
    assert (status, body["errcode"]) == (400, "M_TOO_LARGE")
    assert "LONGNAME" not in device_ids(stack, token)
    # Synapse counts characters, not bytes.
    status, body = stack.login(account["username"], account["password"], device_id="LONGNAME",
                               initial_device_display_name="\u00e9" * 100)
    assert status == 200, body


def test_device_rename_limit(stack, account):
    token = account["access_token"]
    path = DEVICES + "/" + account["device_id"]
    assert stack.request("PUT", path, {"display_name": "short"}, token=token)[0] == 200
    status, body = stack.request("PUT", path, {"display_name": "n" * 101}, token=token)
    assert (status, body["errcode"]) == (400, "M_TOO_LARGE")
    status, body = stack.request("GET", path, token=token)
    assert (status, body["display_name"]) == (200, "short")
    status, body = stack.request("PUT", path, {"display_name": "\u00e9" * 100}, token=token)
    assert status == 200, body


def test_register_device_display_name_limit(stack, uniq):
    name = uniq("regl")
    status, body = stack.request("POST", C + "/register", {
        "username": name, "password": "pw-regl-1", "auth": {"type": "m.login.dummy"},
        "initial_device_display_name": "n" * 101})
    assert (status, body["errcode"]) == (400, "M_TOO_LARGE")
    status, body = stack.request("GET", C + "/register/available?username=" + name)
    assert (status, body) == (200, {"available": True})
    status, body = stack.request("POST", C + "/register", {
        "username": name, "password": "pw-regl-1", "auth": {"type": "m.login.dummy"},
        "device_id": "R" * 513})
    assert (status, body["errcode"]) == (400, "M_INVALID_PARAM")
    status, body = stack.request("GET", C + "/register/available?username=" + name)
    assert (status, body) == (200, {"available": True})


def test_presence_status_msg_limit(stack, account):
    token = account["access_token"]
    path = C + "/presence/%s/status" % q(account["user_id"])
    status, body = stack.request("PUT", path, {"presence": "online", "status_msg": "here"},
                                 token=token)
    assert status == 200, body
    status, body = stack.request("PUT", path, {"presence": "online",
                                               "status_msg": "x" * 500 * 1024}, token=token)
    assert (status, body["errcode"]) == (400, "M_TOO_LARGE")
    status, body = stack.request("PUT", path, {"presence": "online",
                                               "status_msg": "x" * 257}, token=token)
    assert (status, body["errcode"]) == (400, "M_TOO_LARGE")
    status, body = stack.request("GET", path, token=token)
    assert (status, body.get("status_msg")) == (200, "here")
    status, body = stack.request("PUT", path, {"presence": "online",
                                               "status_msg": "\u00e9" * 256}, token=token)
    assert status == 200, body
