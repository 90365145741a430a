"""Refresh tokens: refresh_token: true on login and register, POST /refresh;
expiry is in test_clock.py."""

WHOAMI = "/_matrix/client/v3/account/whoami"
REFRESH = "/_matrix/client/v3/refresh"


def test_login_with_refresh_token(stack, account):
    status, first = stack.login(account["username"], account["password"], refresh_token=True)
    assert status == 200, first
    assert isinstance(first["refresh_token"], str) and first["refresh_token"]
    assert isinstance(first["expires_in_ms"], int) and first["expires_in_ms"] > 0

    status, second = stack.request("POST", REFRESH, {"refresh_token": first["refresh_token"]})
    assert status == 200, second
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert isinstance(second["expires_in_ms"], int) and second["expires_in_ms"] > 0
    # The new token is the same session: same user, same device.
    status, who = stack.request("GET", WHOAMI, token=second["access_token"])
    assert (status, who["user_id"], who["device_id"]) == \
        (200, account["user_id"], first["device_id"])
    # The pair it replaced is spent.
    status, body = stack.request("GET", WHOAMI, token=first["access_token"])
    assert (status, body["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    status, body = stack.request("POST", REFRESH, {"refresh_token": first["refresh_token"]})
    assert (status, body["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    # The new refresh token goes on working.
    status, third = stack.request("POST", REFRESH, {"refresh_token": second["refresh_token"]})
    assert status == 200, third
    status, _ = stack.request("GET", WHOAMI, token=third["access_token"])
    assert status == 200


def test_register_with_refresh_token(stack, uniq):
    resp = stack.register(uniq("rr"), "pw-rr-1", refresh_token=True)
    assert resp["refresh_token"] and resp["expires_in_ms"] > 0
    status, new = stack.request("POST", REFRESH, {"refresh_token": resp["refresh_token"]})
    assert status == 200, new
    status, who = stack.request("GET", WHOAMI, token=new["access_token"])
    assert (status, who["user_id"]) == (200, resp["user_id"])


def test_unknown_refresh_token(stack):
    status, body = stack.request("POST", REFRESH, {"refresh_token": "myr_made_up"})
    assert (status, body["errcode"]) == (401, "M_UNKNOWN_TOKEN")


def test_logout_ends_refresh_token(stack, account):
    status, resp = stack.login(account["username"], account["password"], refresh_token=True)
    assert status == 200
    status, _ = stack.request("POST", "/_matrix/client/v3/logout", {}, token=resp["access_token"])
    assert status == 200
    status, body = stack.request("POST", REFRESH, {"refresh_token": resp["refresh_token"]})
    assert (status, body["errcode"]) == (401, "M_UNKNOWN_TOKEN")


def test_old_refresh_token_lives_until_new_pair_used(stack, account):
    """Spec: C-S API, POST /refresh: the old refresh token remains valid
    until the new access or refresh token is used; the old access token
    may be (and here is) revoked at once."""
    status, first = stack.login(account["username"], account["password"], refresh_token=True)
    assert status == 200, first
    status, second = stack.request("POST", REFRESH, {"refresh_token": first["refresh_token"]})
    assert status == 200, second
    # The old access token is dead right after the refresh.
    status, body = stack.request("GET", WHOAMI, token=first["access_token"])
    assert (status, body["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    # The new pair is not used yet: the old refresh token gives another pair,
    # and the never-used pair it replaces goes.
    status, again = stack.request("POST", REFRESH, {"refresh_token": first["refresh_token"]})
    assert status == 200, again
    assert again["access_token"] != second["access_token"]
    assert again["refresh_token"] != second["refresh_token"]
    status, body = stack.request("GET", WHOAMI, token=second["access_token"])
    assert (status, body["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    status, body = stack.request("POST", REFRESH, {"refresh_token": second["refresh_token"]})
    assert (status, body["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    # Using the new access token revokes the old refresh token.
    status, who = stack.request("GET", WHOAMI, token=again["access_token"])
    assert (status, who["user_id"], who["device_id"]) == \
        (200, account["user_id"], first["device_id"])
    status, body = stack.request("POST", REFRESH, {"refresh_token": first["refresh_token"]})
    assert (status, body["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    # The new access token goes on working after its first use.
    status, _ = stack.request("GET", WHOAMI, token=again["access_token"])
    assert status == 200


def test_new_refresh_token_use_revokes_old(stack, account):
    status, first = stack.login(account["username"], account["password"], refresh_token=True)
    assert status == 200, first
    status, second = stack.request("POST", REFRESH, {"refresh_token": first["refresh_token"]})
    assert status == 200, second
    # The new refresh token is used before the new access token.
    status, third = stack.request("POST", REFRESH, {"refresh_token": second["refresh_token"]})
    assert status == 200, third
    status, body = stack.request("POST", REFRESH, {"refresh_token": first["refresh_token"]})
    assert (status, body["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    # second's refresh token in turn stays valid until third is used.
    status, fourth = stack.request("POST", REFRESH, {"refresh_token": second["refresh_token"]})
    assert status == 200, fourth
    status, body = stack.request("GET", WHOAMI, token=third["access_token"])
    assert (status, body["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    status, _ = stack.request("GET", WHOAMI, token=fourth["access_token"])
    assert status == 200
    status, body = stack.request("POST", REFRESH, {"refresh_token": second["refresh_token"]})
    assert (status, body["errcode"]) == (401, "M_UNKNOWN_TOKEN")
