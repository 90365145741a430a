"""The client-server endpoints of issue 10: TURN credentials, OpenID,
extended profile fields, login tokens, room summaries, mutual rooms,
room and user reports, the support well-known, whois, account locks and
suspensions, capabilities.  Each as Synapse 1.67 / spec v1.19 define it.

Most run on the shared stack, whose config leaves the optional features
off; `conf_stack` is a stack of this module's own, on a fake clock, with
TURN, support contacts and login tokens configured."""
import base64
import hashlib
import hmac
import os
import urllib.parse

import pytest

from conftest import C, FakeClock, User, admin_login, q, start_stack, stop_stack

V1 = "/_matrix/client/v1"
TURN_SECRET = "turn-shared-secret-for-tests"
POLICY_KEY = "l8Hft5qXKn1vfHrg3p4+W8gELQVo8N13JkluMfmn2sQ"   # 32 bytes, unpadded

CONF = """
turn_uris = turn:turn.example.org?transport=udp turn:turn.example.org?transport=tcp
turn_uris = turns:turn.example.org:5349
turn_shared_secret = %s
turn_user_lifetime = 600
support_contact = m.role.admin @admin:localhost admin@example.org
support_contact = m.role.security - security@example.org
support_page = https://example.org/support
login_via_existing_session = yes
policy_server_ed25519 = %s
""" % (TURN_SECRET, POLICY_KEY)


@pytest.fixture(scope="module")
def conf_stack():
    clock = FakeClock()
    s = start_stack(extra_conf=CONF, env={"MYELIN_FAKE_CLOCK": clock.path})
    s.clock = clock
    yield s
    stop_stack(s)
    os.unlink(clock.path)


def user(stack, uniq, prefix="u"):
    return User.register(stack, uniq(prefix))


# --- 1. GET /voip/turnServer -------------------------------------------------

def test_turn_server_unconfigured_is_empty(stack, uniq):
    # Synapse answers {} when no TURN server is configured.
    assert user(stack, uniq).ok("GET", "/voip/turnServer") == {}


def test_turn_server_needs_a_token(stack):
    status, body = stack.request("GET", C + "/voip/turnServer")
    assert status == 401 and body["errcode"] == "M_MISSING_TOKEN"


def test_turn_server_rest_credentials(conf_stack, uniq):
    u = user(conf_stack, uniq)
    body = u.ok("GET", "/voip/turnServer")
    assert body["uris"] == ["turn:turn.example.org?transport=udp",
                            "turn:turn.example.org?transport=tcp",
                            "turns:turn.example.org:5349"]
    assert body["ttl"] == 600
    # coturn's TURN REST scheme: "expiry:user_id", HMAC-SHA1 in base64.
    expiry, uid = body["username"].split(":", 1)
    assert uid == u.user_id
    assert int(expiry) == conf_stack.clock.now // 1000 + 600
    mac = hmac.new(TURN_SECRET.encode(), body["username"].encode(), hashlib.sha1)
    assert body["password"] == base64.b64encode(mac.digest()).decode()


STATIC_TURN = """
turn_uris = turns:turn.example.org:5349
turn_username = fixed-user
turn_password = fixed-password
turn_allow_guests = no
allow_guest_access = yes
"""


@pytest.fixture(scope="module")
def static_turn_stack():
    s = start_stack(extra_conf=STATIC_TURN)
    yield s
    stop_stack(s)


def test_turn_server_static_credentials_and_guests(static_turn_stack, uniq):
    u = user(static_turn_stack, uniq)
    body = u.ok("GET", "/voip/turnServer")
    assert body == {"username": "fixed-user", "password": "fixed-password",
                    "uris": ["turns:turn.example.org:5349"], "ttl": 3600}
    status, guest = static_turn_stack.request("POST", C + "/register?kind=guest", {})
    assert status == 200, guest
    status, err = static_turn_stack.request("GET", C + "/voip/turnServer",
                                            token=guest["access_token"])
    assert status == 403 and err["errcode"] == "M_FORBIDDEN"


# --- 2. OpenID ---------------------------------------------------------------

def openid_userinfo(stack, token):
    path = "/_matrix/federation/v1/openid/userinfo"
    if token is not None:
        path += "?access_token=" + q(token)
    return stack.request("GET", path)


def test_openid_token_round_trip(stack, uniq):
    u = user(stack, uniq)
    body = u.ok("POST", "/user/%s/openid/request_token" % q(u.user_id), {})
    assert body["token_type"] == "Bearer"
    assert body["matrix_server_name"] == stack.server_name
    assert body["expires_in"] == 3600
    status, info = openid_userinfo(stack, body["access_token"])
    assert status == 200 and info == {"sub": u.user_id}
    # The OpenID token is no access token.
    status, err = stack.request("GET", C + "/account/whoami", token=body["access_token"])
    assert status == 401 and err["errcode"] == "M_UNKNOWN_TOKEN"


def test_openid_only_for_oneself(stack, uniq):
    a, b = user(stack, uniq), user(stack, uniq)
    status, body = a.call("POST", "/user/%s/openid/request_token" % q(b.user_id), {})
    assert status == 403 and body["errcode"] == "M_FORBIDDEN"


def test_openid_userinfo_bad_tokens(stack, uniq):
    status, body = openid_userinfo(stack, "not-a-token")
    assert status == 401 and body["errcode"] == "M_UNKNOWN_TOKEN"
    status, body = openid_userinfo(stack, None)
    assert status == 401 and body["errcode"] == "M_MISSING_TOKEN"
    # An access token is not an OpenID token either.
    status, body = openid_userinfo(stack, user(stack, uniq).token)
    assert status == 401 and body["errcode"] == "M_UNKNOWN_TOKEN"


def test_openid_token_expires(conf_stack, uniq):
    u = user(conf_stack, uniq)
    tok = u.ok("POST", "/user/%s/openid/request_token" % q(u.user_id), {})["access_token"]
    conf_stack.clock.advance(3600 * 1000 - 1000)
    assert openid_userinfo(conf_stack, tok)[0] == 200
    conf_stack.clock.advance(2000)
    status, body = openid_userinfo(conf_stack, tok)
    assert status == 401 and body["errcode"] == "M_UNKNOWN_TOKEN"


# --- 3. Extended profile fields ----------------------------------------------

def test_profile_field_set_get_delete(stack, uniq):
    u = user(stack, uniq)
    path = "/profile/%s/%s" % (q(u.user_id), q("org.example.pronouns"))
    assert u.call("GET", path)[0] == 404
    u.ok("PUT", path, {"org.example.pronouns": {"en": "they/them"}})
    status, body = stack.request("GET", C + path)
    assert status == 200 and body == {"org.example.pronouns": {"en": "they/them"}}
    u.ok("PUT", "/profile/%s/m.tz" % q(u.user_id), {"m.tz": "Europe/Paris"})
    prof = u.ok("GET", "/profile/%s" % q(u.user_id))
    assert prof["org.example.pronouns"] == {"en": "they/them"}
    assert prof["m.tz"] == "Europe/Paris"
    assert "displayname" in prof
    u.ok("DELETE", path)
    assert u.call("GET", path)[0] == 404
    assert "org.example.pronouns" not in u.ok("GET", "/profile/%s" % q(u.user_id))


def test_profile_field_delete_displayname(stack, uniq):
    u = user(stack, uniq)
    u.ok("PUT", "/profile/%s/displayname" % q(u.user_id), {"displayname": "Zed"})
    u.ok("DELETE", "/profile/%s/displayname" % q(u.user_id))
    assert "displayname" not in u.ok("GET", "/profile/%s" % q(u.user_id))


def test_profile_field_errors(stack, uniq):
    a, b = user(stack, uniq), user(stack, uniq)
    status, body = a.call("PUT", "/profile/%s/org.x" % q(b.user_id), {"org.x": 1})
    assert status == 403 and body["errcode"] == "M_FORBIDDEN"
    status, body = a.call("PUT", "/profile/%s/org.x" % q(a.user_id), {"other": 1})
    assert status == 400 and body["errcode"] == "M_MISSING_PARAM"
    long_key = "org." + "k" * 252
    status, body = a.call("PUT", "/profile/%s/%s" % (q(a.user_id), long_key), {long_key: 1})
    assert status == 400 and body["errcode"] == "M_KEY_TOO_LARGE"
    status, body = a.call("PUT", "/profile/%s/m.tz" % q(a.user_id), {"m.tz": 5})
    assert status == 400 and body["errcode"] == "M_INVALID_PARAM"
    # The whole profile stays within 64 KiB.
    a.ok("PUT", "/profile/%s/org.big1" % q(a.user_id), {"org.big1": "x" * 40000})
    status, body = a.call("PUT", "/profile/%s/org.big2" % q(a.user_id),
                          {"org.big2": "x" * 30000})
    assert status == 400 and body["errcode"] == "M_PROFILE_TOO_LARGE"
    assert a.call("GET", "/profile/%s/org.big2" % q(a.user_id))[0] == 404
    # Unknown users have no profile.
    status, body = stack.request("GET", C + "/profile/%s/org.x" % q("@nobody-here:localhost"))
    assert status == 404 and body["errcode"] == "M_NOT_FOUND"


# --- 4. Login tokens ---------------------------------------------------------

def test_login_token_off_by_default(stack, uniq):
    u = user(stack, uniq)
    status, body = u.call("POST", V1 + "/login/get_token", {})
    assert status == 404 and body["errcode"] == "M_UNRECOGNIZED"
    status, flows = stack.request("GET", C + "/login")
    assert [f["type"] for f in flows["flows"]] == ["m.login.password"]
    status, body = stack.request("POST", C + "/login", {"type": "m.login.token", "token": "x"})
    assert status == 400 and body["errcode"] == "M_UNKNOWN"
    caps = u.ok("GET", "/capabilities")["capabilities"]
    assert caps["m.get_login_token"] == {"enabled": False}


def get_login_token(u, password):
    status, body = u.call("POST", V1 + "/login/get_token", {})
    assert status == 401 and body["flows"] == [{"stages": ["m.login.password"]}], body
    auth = {"type": "m.login.password", "session": body["session"], "password": password,
            "identifier": {"type": "m.id.user", "user": u.user_id}}
    return u.ok("POST", V1 + "/login/get_token", {"auth": auth})


def test_login_token_one_use(conf_stack, uniq):
    name = uniq("lt")
    u = User.register(conf_stack, name, "pw-" + name)
    flows = conf_stack.request("GET", C + "/login")[1]["flows"]
    assert {"type": "m.login.token", "get_login_token": True} in flows
    caps = u.ok("GET", "/capabilities")["capabilities"]
    assert caps["m.get_login_token"] == {"enabled": True}
    body = get_login_token(u, "pw-" + name)
    assert body["expires_in_ms"] == 120000
    login = {"type": "m.login.token", "token": body["login_token"]}
    status, resp = conf_stack.request("POST", C + "/login", login)
    assert status == 200 and resp["user_id"] == u.user_id
    assert resp["device_id"] != u.device_id
    status, who = conf_stack.request("GET", C + "/account/whoami", token=resp["access_token"])
    assert status == 200 and who["user_id"] == u.user_id
    status, err = conf_stack.request("POST", C + "/login", login)
    assert status == 403 and err["errcode"] == "M_FORBIDDEN"


def test_login_token_expires(conf_stack, uniq):
    name = uniq("lt")
    u = User.register(conf_stack, name, "pw-" + name)
    tok = get_login_token(u, "pw-" + name)["login_token"]
    conf_stack.clock.advance(120 * 1000 + 1)
    status, err = conf_stack.request("POST", C + "/login", {"type": "m.login.token",
                                                            "token": tok})
    assert status == 403 and err["errcode"] == "M_FORBIDDEN"


def test_login_token_bad(conf_stack):
    status, err = conf_stack.request("POST", C + "/login", {"type": "m.login.token",
                                                            "token": "nope"})
    assert status == 403 and err["errcode"] == "M_FORBIDDEN"
    status, err = conf_stack.request("POST", C + "/login", {"type": "m.login.token"})
    assert status == 400 and err["errcode"] == "M_MISSING_PARAM"


# --- 5. Room summaries, mutual rooms, reports --------------------------------

def test_room_summary_visibility(stack, uniq):
    a, b = user(stack, uniq), user(stack, uniq)
    alias_local = uniq("sum")
    public = a.create_room(preset="public_chat", name="Open", room_alias_name=alias_local)
    private = a.create_room(preset="private_chat", name="Closed")
    s = a.ok("GET", V1 + "/room_summary/" + q(public))
    assert s["room_id"] == public and s["name"] == "Open"
    assert s["join_rule"] == "public" and s["num_joined_members"] == 1
    assert s["membership"] == "join" and "room_version" in s
    # By alias, and without a token.
    status, s2 = stack.request("GET", V1 + "/room_summary/" + q("#%s:localhost" % alias_local))
    assert status == 200 and s2["room_id"] == public and "membership" not in s2
    # A private room is the members' (and the invited's) alone.
    status, err = b.call("GET", V1 + "/room_summary/" + q(private))
    assert status == 404 and err["errcode"] == "M_NOT_FOUND"
    assert stack.request("GET", V1 + "/room_summary/" + q(private))[0] == 404
    a.room_post(private, "invite", b.user_id)
    assert b.ok("GET", V1 + "/room_summary/" + q(private))["membership"] == "invite"
    assert a.call("GET", V1 + "/room_summary/" + q("!nope:localhost"))[0] == 404
    assert a.call("GET", V1 + "/room_summary/" + q("#nope-x:localhost"))[0] == 404
    status, err = a.call("GET", V1 + "/room_summary/nonsense")
    assert status == 400 and err["errcode"] == "M_INVALID_PARAM"


def test_mutual_rooms(stack, uniq):
    a, b, c = user(stack, uniq), user(stack, uniq), user(stack, uniq)
    r1 = a.create_room(preset="public_chat")
    r2 = a.create_room(preset="public_chat")
    a.create_room(preset="public_chat")
    b.join(r1)
    b.join(r2)
    c.join(r2)
    body = a.ok("GET", V1 + "/mutual_rooms?user_id=" + q(b.user_id))
    assert sorted(body["joined"]) == sorted([r1, r2]) and "next_batch" not in body
    assert body["count"] == 2
    assert a.ok("GET", V1 + "/mutual_rooms?user_id=" + q(c.user_id))["joined"] == [r2]
    unstable = "/_matrix/client/unstable/uk.half-shot.msc2666/user/mutual_rooms?user_id="
    assert a.ok("GET", unstable + q(c.user_id))["joined"] == [r2]
    b.room_post(r1, "leave")
    assert a.ok("GET", V1 + "/mutual_rooms?user_id=" + q(b.user_id))["joined"] == [r2]
    status, err = a.call("GET", V1 + "/mutual_rooms")
    assert status == 400 and err["errcode"] == "M_MISSING_PARAM"
    status, err = a.call("GET", V1 + "/mutual_rooms?user_id=nobody")
    assert status == 400 and err["errcode"] == "M_INVALID_PARAM"
    status, err = a.call("GET", V1 + "/mutual_rooms?user_id=" + q(a.user_id))
    assert status == 400 and err["errcode"] == "M_INVALID_PARAM"


def test_mutual_rooms_pages(stack, uniq):
    a, b = user(stack, uniq), user(stack, uniq)
    rooms = []
    for _ in range(101):
        r = a.create_room(preset="public_chat")
        b.join(r)
        rooms.append(r)
    page = a.ok("GET", V1 + "/mutual_rooms?user_id=" + q(b.user_id))
    assert len(page["joined"]) == 100 and page["count"] == 101 and page["next_batch"]
    rest = a.ok("GET", V1 + "/mutual_rooms?user_id=%s&from=%s" % (
        q(b.user_id), q(page["next_batch"])))
    assert len(rest["joined"]) == 1 and "next_batch" not in rest
    assert sorted(page["joined"] + rest["joined"]) == sorted(rooms)


def test_report_room_and_user(stack, uniq):
    a, b = user(stack, uniq), user(stack, uniq)
    room = a.create_room(preset="public_chat")
    # A room can be reported by someone not in it.
    assert b.ok("POST", "/rooms/%s/report" % q(room), {"reason": "spam"}) == {}
    assert b.ok("POST", "/rooms/%s/report" % q(room), {"reason": ""}) == {}
    status, err = b.call("POST", "/rooms/%s/report" % q("!nope:localhost"), {"reason": "x"})
    assert status == 404 and err["errcode"] == "M_NOT_FOUND"
    status, err = b.call("POST", "/rooms/%s/report" % q(room), {})
    assert status == 400 and err["errcode"] == "M_MISSING_PARAM"
    status, err = b.call("POST", "/rooms/%s/report" % q(room), {"reason": 5})
    assert status == 400 and err["errcode"] == "M_BAD_JSON"
    assert b.ok("POST", "/users/%s/report" % q(a.user_id), {"reason": "rude"}) == {}
    status, err = b.call("POST", "/users/%s/report" % q("not-a-user"), {"reason": "x"})
    assert status == 400 and err["errcode"] == "M_INVALID_PARAM"


# --- 6. /.well-known/matrix/support ------------------------------------------

def test_support_unconfigured(stack):
    status, body = stack.request("GET", "/.well-known/matrix/support")
    assert status == 404 and body["errcode"] == "M_NOT_FOUND"


def test_support_configured(conf_stack):
    status, body = conf_stack.request("GET", "/.well-known/matrix/support")
    assert status == 200
    assert body == {"contacts": [
        {"role": "m.role.admin", "matrix_id": "@admin:localhost",
         "email_address": "admin@example.org"},
        {"role": "m.role.security", "email_address": "security@example.org"}],
        "support_page": "https://example.org/support"}


def test_policy_server_well_known(stack, conf_stack):
    """Spec v1.18: GET /.well-known/matrix/policy_server names the policy
    server's keys when one is configured here, else 404 M_NOT_FOUND."""
    status, body = stack.request("GET", "/.well-known/matrix/policy_server")
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    status, body = conf_stack.request("GET", "/.well-known/matrix/policy_server")
    assert (status, body) == (200, {"public_keys": {"ed25519": POLICY_KEY}})


def test_support_contact_config_checked(tmp_path):
    import subprocess
    from conftest import ROOT
    binary = os.path.join(os.environ.get("MYELIN_BIN", os.path.join(ROOT, "build", "bin")),
                          "myelin-admin")

    def check(lines):
        conf = tmp_path / "myelin.conf"
        conf.write_text("server_name = localhost\ndatabase = %s\n%s" % (tmp_path / "db", lines))
        return subprocess.run([binary, "-c", str(conf), "config", "check"],
                              capture_output=True, text=True, timeout=60)

    good = check("support_contact = m.role.admin @a:localhost -\n"
                 "support_contact = m.role.security - sec@example.org\n"
                 "turn_uris = turn:a turn:b\nturn_uris = turn:c\n")
    assert good.returncode == 0, good.stderr
    for bad in ("support_contact = m.role.admin - -\n",
                "support_contact = m.role.admin not-a-user -\n",
                "support_contact = m.role.admin\n",
                "turn_uris = turn.example.org\n",
                "turn_username = u\n",
                "policy_server_ed25519 = short\n",
                "policy_server_ed25519 = %s=\n" % POLICY_KEY):
        r = check(bad)
        assert r.returncode != 0, bad


# --- 7. whois, locks, suspensions --------------------------------------------

def test_whois(stack, uniq):
    u = user(stack, uniq)
    body = u.ok("GET", "/admin/whois/" + q(u.user_id))
    assert body["user_id"] == u.user_id
    dev = body["devices"][u.device_id]
    conns = dev["sessions"][0]["connections"]
    assert conns and set(conns[0]) == {"ip", "last_seen", "user_agent"}
    other = user(stack, uniq)
    status, err = other.call("GET", "/admin/whois/" + q(u.user_id))
    assert status == 403 and err["errcode"] == "M_FORBIDDEN"
    name = uniq("adm")
    admin = User(stack, admin_login(stack, name, "pw-" + name))
    assert u.device_id in admin.ok("GET", "/admin/whois/" + q(u.user_id))["devices"]


@pytest.fixture
def admin(stack, uniq):
    name = uniq("adm")
    return User(stack, admin_login(stack, name, "pw-" + name))


def test_lock(stack, uniq, admin):
    u = user(stack, uniq)
    path = V1 + "/admin/lock/" + q(u.user_id)
    assert admin.ok("GET", path) == {"locked": False}
    status, err = u.call("GET", path)
    assert status == 403 and err["errcode"] == "M_FORBIDDEN"
    status, err = u.call("PUT", path, {"locked": True})
    assert status == 403 and err["errcode"] == "M_FORBIDDEN"
    assert admin.ok("PUT", path, {"locked": True}) == {"locked": True}
    assert admin.ok("GET", path) == {"locked": True}
    status, err = u.call("GET", "/account/whoami")
    assert status == 401 and err["errcode"] == "M_USER_LOCKED" and err["soft_logout"] is True
    status, err = stack.login(u.user_id, "pw-" + u.user_id[1:].split(":")[0])
    assert status == 401 and err["errcode"] == "M_USER_LOCKED"
    assert admin.ok("PUT", path, {"locked": False}) == {"locked": False}
    assert u.ok("GET", "/account/whoami")["user_id"] == u.user_id
    # A locked user may still log out.
    admin.ok("PUT", path, {"locked": True})
    assert u.call("POST", "/logout", {})[0] == 200


def test_lock_bad_requests(stack, uniq, admin):
    status, err = admin.call("PUT", V1 + "/admin/lock/" + q("@nobody-x:localhost"),
                             {"locked": True})
    assert status == 404 and err["errcode"] == "M_NOT_FOUND"
    status, err = admin.call("GET", V1 + "/admin/lock/" + q("@someone:elsewhere.org"))
    assert status == 400 and err["errcode"] == "M_INVALID_PARAM"
    u = user(stack, uniq)
    status, err = admin.call("PUT", V1 + "/admin/suspend/" + q(u.user_id),
                             {"suspended": "yes"})
    assert status == 400 and err["errcode"] == "M_BAD_JSON"


def test_suspend(stack, uniq, admin):
    u, friend = user(stack, uniq), user(stack, uniq)
    room = friend.create_room(preset="public_chat")
    other = friend.create_room(preset="public_chat")
    u.join(room)
    mine = u.send_text(room, "before")
    path = V1 + "/admin/suspend/" + q(u.user_id)
    assert admin.ok("GET", path) == {"suspended": False}
    assert admin.ok("PUT", path, {"suspended": True}) == {"suspended": True}
    # Reading works.
    assert u.ok("GET", "/account/whoami")["user_id"] == u.user_id
    assert u.call("GET", "/rooms/%s/messages?dir=b" % q(room))[0] == 200
    # Sending, joining, inviting and profile changes do not.
    for status, err in (
            u.send(room, {"msgtype": "m.text", "body": "x"}),
            u.call("POST", "/join/" + q(other), {}),
            u.call("POST", "/createRoom", {}),
            u.call("POST", "/rooms/%s/invite" % q(room), {"user_id": admin.user_id}),
            u.call("PUT", "/profile/%s/displayname" % q(u.user_id), {"displayname": "x"}),
            u.call("PUT", "/profile/%s/org.x" % q(u.user_id), {"org.x": 1})):
        assert status == 403 and err["errcode"] == "M_USER_SUSPENDED", err
    # Redacting one's own event and leaving do.
    u.ok("PUT", "/rooms/%s/redact/%s/t1" % (q(room), q(mine)), {})
    u.room_post(room, "leave")
    assert admin.ok("PUT", path, {"suspended": False}) == {"suspended": False}
    u.join(room)
    u.send_text(room, "after")


# --- 8. Capabilities ---------------------------------------------------------

def test_capabilities(stack, uniq):
    caps = user(stack, uniq).ok("GET", "/capabilities")["capabilities"]
    assert caps["m.change_password"] == {"enabled": True}
    assert caps["m.set_displayname"] == {"enabled": True}
    assert caps["m.set_avatar_url"] == {"enabled": True}
    assert caps["m.3pid_changes"] == {"enabled": False}
    assert caps["m.profile_fields"] == {"enabled": True}
    assert caps["m.room_versions"]["default"] == "10"
    assert caps["m.room_versions"]["available"]["10"] == "stable"
    assert caps["m.account_moderation"] == {"lock": False, "suspend": False}


def test_capabilities_account_moderation(stack, admin):
    caps = admin.ok("GET", "/capabilities")["capabilities"]
    assert caps["m.account_moderation"] == {"lock": True, "suspend": True}
