"""Request edges every endpoint shares: bodies that are not JSON, not an
object or too large; unknown endpoints; missing and unknown tokens; the
legacy ?access_token= parameter and /r0/ paths."""
import http.client
import json

LOGIN = "/_matrix/client/v3/login"
WHOAMI = "/_matrix/client/v3/account/whoami"


def test_malformed_json(stack, account):
    for raw in (b"{not json", b'{"type": "m.login.password",', b"{} trailing"):
        status, body = stack.request("POST", LOGIN, raw=raw)
        assert (status, body["errcode"]) == (400, "M_NOT_JSON"), raw
    # On an authenticated PUT too.
    status, body = stack.request("PUT", "/_matrix/client/v3/profile/%s/displayname" %
                                 account["user_id"], raw=b"{'single': 'quotes'}",
                                 token=account["access_token"])
    assert (status, body["errcode"]) == (400, "M_NOT_JSON")


def test_invalid_utf8_is_not_json(stack):
    raw = b'{"type": "m.login.password", "user": "\xc3\x28"}'
    status, body = stack.request("POST", LOGIN, raw=raw)
    assert (status, body["errcode"]) == (400, "M_NOT_JSON")


def test_json_that_is_not_an_object(stack):
    for raw in (b"[1, 2]", b'"m.login.password"', b"42", b"null"):
        status, body = stack.request("POST", LOGIN, raw=raw)
        assert (status, body["errcode"]) == (400, "M_BAD_JSON"), raw


def test_oversized_body(stack):
    """Beyond max_body_bytes (1 MiB by default): 413 M_TOO_LARGE."""
    big = b'{"type": "m.login.password", "pad": "' + b"a" * (2 * 1024 * 1024) + b'"}'
    status, body = stack.request("POST", LOGIN, raw=big)
    assert (status, body["errcode"]) == (413, "M_TOO_LARGE")

    # The same without a Content-Length: chunked transfer encoding.
    def chunks():
        for i in range(0, len(big), 65536):
            yield big[i:i + 65536]
    conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=30)
    try:
        conn.request("POST", LOGIN, body=chunks(), encode_chunked=True,
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        status, body = resp.status, json.loads(resp.read())
    finally:
        conn.close()
    assert (status, body["errcode"]) == (413, "M_TOO_LARGE")


def test_large_body_under_the_limit(stack, uniq):
    """Half a MiB is still read and answered on its merits."""
    status, body = stack.request("POST", LOGIN, {
        "type": "m.login.password", "identifier": {"type": "m.id.user", "user": uniq("nobody")},
        "password": "x", "pad": "a" * (512 * 1024)})
    assert (status, body["errcode"]) == (403, "M_FORBIDDEN")


def test_unknown_endpoints(stack, account):
    for method, path in (("GET", "/_matrix/client/r0/no/such/thing"),
                         ("POST", "/_matrix/client/v3/account/no_such_thing"),
                         ("GET", "/_synapse/admin/v1/no_such_thing")):
        status, body = stack.request(method, path, token=account["access_token"])
        assert (status, body["errcode"]) == (404, "M_UNRECOGNIZED"), path


def test_missing_token(stack):
    for method, path in (("GET", WHOAMI), ("GET", "/_matrix/client/v3/devices"),
                         ("POST", "/_matrix/client/v3/logout"),
                         ("GET", "/_matrix/client/v3/capabilities")):
        status, body = stack.request(method, path, {} if method == "POST" else None)
        assert (status, body["errcode"]) == (401, "M_MISSING_TOKEN"), path


def test_unknown_token(stack):
    status, body = stack.request("GET", WHOAMI, token="myt_not_a_real_token")
    assert (status, body["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    status, body = stack.request("GET", WHOAMI + "?access_token=myt_not_a_real_token")
    assert (status, body["errcode"]) == (401, "M_UNKNOWN_TOKEN")


def test_access_token_query_parameter(stack, account):
    """Clients packaged in Debian (matrix-nio 0.20) still send ?access_token=."""
    for path in (WHOAMI, "/_matrix/client/r0/account/whoami"):
        status, body = stack.request("GET", path + "?access_token=" + account["access_token"])
        assert status == 200, path
        assert (body["user_id"], body["device_id"]) == (account["user_id"], account["device_id"])


def test_r0_paths(stack, account):
    """/_matrix/client/r0/... serve the same endpoints as /v3/."""
    status, body = stack.request("POST", "/_matrix/client/r0/login", {
        "type": "m.login.password", "user": account["username"], "password": account["password"]})
    assert status == 200 and body["user_id"] == account["user_id"]
    token = body["access_token"]
    status, body = stack.request("GET", "/_matrix/client/r0/account/whoami", token=token)
    assert (status, body["user_id"]) == (200, account["user_id"])
    status, body = stack.request("GET", "/_matrix/client/r0/devices", token=token)
    assert status == 200 and len(body["devices"]) == 2
    status, body = stack.request("POST", "/_matrix/client/r0/logout", {}, token=token)
    assert status == 200
    status, body = stack.request("GET", WHOAMI, token=token)
    assert (status, body["errcode"]) == (401, "M_UNKNOWN_TOKEN")


def test_cors_for_browser_clients(stack):
    """Web clients log in from another origin: the preflight and the
    answers, errors included, allow it."""
    conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=30)
    try:
        conn.request("OPTIONS", LOGIN, headers={
            "Origin": "https://app.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type"})
        resp = conn.getresponse()
        resp.read()
        assert resp.status in (200, 204)
        assert resp.getheader("Access-Control-Allow-Origin") == "*"
        assert "POST" in resp.getheader("Access-Control-Allow-Methods")
        assert "authorization" in resp.getheader("Access-Control-Allow-Headers").lower()
        conn.request("GET", WHOAMI, headers={"Origin": "https://app.example"})
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 401
        assert resp.getheader("Access-Control-Allow-Origin") == "*"
    finally:
        conn.close()
