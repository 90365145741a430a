"""Expiry on a stack running on the fake clock (lib/clock): refreshable
access tokens, shared-secret registration nonces.  The stack lives only
for this module, so its clock never disturbs other stacks sharing a
PostgreSQL database while their tests run."""
from conftest import shared_secret_body

WHOAMI = "/_matrix/client/v3/account/whoami"


def test_expired_token_soft_logout(clock_stack, uniq):
    s = clock_stack
    name = uniq("exp")
    s.register(name, "pw-exp-1")
    status, resp = s.login(name, "pw-exp-1", refresh_token=True)
    assert status == 200
    status, _ = s.request("GET", WHOAMI, token=resp["access_token"])
    assert status == 200
    s.clock.advance(resp["expires_in_ms"] + 1000)
    # Spec: an expired token is unknown, with soft_logout: the client refreshes.
    status, body = s.request("GET", WHOAMI, token=resp["access_token"])
    assert (status, body["errcode"], body.get("soft_logout")) == (401, "M_UNKNOWN_TOKEN", True)
    status, new = s.request("POST", "/_matrix/client/v3/refresh",
                            {"refresh_token": resp["refresh_token"]})
    assert status == 200, new
    status, who = s.request("GET", WHOAMI, token=new["access_token"])
    assert (status, who["device_id"]) == (200, resp["device_id"])


def test_token_without_refresh_does_not_expire(clock_stack, uniq):
    s = clock_stack
    name = uniq("noexp")
    resp = s.register(name, "pw-noexp-1")
    s.clock.advance(30 * 24 * 3600 * 1000)
    status, who = s.request("GET", WHOAMI, token=resp["access_token"])
    assert (status, who["user_id"]) == (200, resp["user_id"])


def test_shared_secret_nonce_expires(clock_stack, uniq):
    """Synapse's nonces are good for 60 seconds."""
    s = clock_stack
    status, body = s.request("GET", "/_synapse/admin/v1/register")
    assert status == 200
    s.clock.advance(61 * 1000)
    status, body = s.request("POST", "/_synapse/admin/v1/register",
                             shared_secret_body(s, body["nonce"], uniq("late"), "pw-late-1"))
    assert (status, body["errcode"]) == (400, "M_UNKNOWN")
