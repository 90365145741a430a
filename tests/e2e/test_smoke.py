"""The stack answers through nginx: versions, unknown endpoints, well-known."""


def test_versions(stack):
    status, body = stack.request("GET", "/_matrix/client/versions")
    assert status == 200
    assert "v1.1" in body["versions"]


def test_unknown_endpoint_is_unrecognized(stack):
    status, body = stack.request("GET", "/_matrix/client/v3/no/such/thing")
    assert status == 404
    assert body["errcode"] == "M_UNRECOGNIZED"
    status, body = stack.request("GET", "/_matrix/nothing_here")
    assert (status, body["errcode"]) == (404, "M_UNRECOGNIZED")


def test_wrong_method_is_unrecognized(stack):
    status, body = stack.request("DELETE", "/_matrix/client/versions")
    assert (status, body["errcode"]) == (405, "M_UNRECOGNIZED")


def test_well_known(stack):
    status, body = stack.request("GET", "/.well-known/matrix/client")
    assert status == 200
    assert body["m.homeserver"]["base_url"].startswith("http://127.0.0.1:")
    status, body = stack.request("GET", "/.well-known/matrix/server")
    assert status == 200 and "m.server" in body
