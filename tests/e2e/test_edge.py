"""The request edge every endpoint shares (lib/fcgi): path and query values
that are not UTF-8 text, '+' and %2B in query strings, a Content-Length
that is not a number, sync tokens beyond any real position, long error
texts, bodies the spec leaves optional sent as `null`, the Retry-After
of 429 answers, nginx's own refusals of malformed requests in Matrix
JSON, pagination tokens whose numbers overflow or carry garbage, and push
rule IDs past their length."""
import base64
import concurrent.futures
import json
import socket
import urllib.error
import urllib.parse
import urllib.request

import pytest

from conftest import start_stack, stop_stack

C = "/_matrix/client/v3"


def q(s):
    return urllib.parse.quote(s, safe="")


def call(stack, user, method, path, body=None, raw=None):
    return stack.request(method, C + path, body, token=user["access_token"], raw=raw)


def ok(stack, user, method, path, body=None):
    status, resp = call(stack, user, method, path, body)
    assert status == 200, (method, path, status, resp)
    return resp


def assert_error(status_resp, status, errcode):
    got, resp = status_resp
    assert (got, (resp or {}).get("errcode")) == (status, errcode), resp


_txn = [0]


def send(stack, user, room, body, type_="m.room.message"):
    _txn[0] += 1
    return ok(stack, user, "PUT", "/rooms/%s/send/%s/edge%d" % (q(room), type_, _txn[0]),
              {"msgtype": "m.text", "body": body})["event_id"]


def new_room(stack, user):
    return ok(stack, user, "POST", "/createRoom", {})["room_id"]


def sync(stack, user, query=""):
    return ok(stack, user, "GET", "/sync?timeout=0" + query)


def raw_http(stack, data):
    """Sends bytes as they are and returns (status, body bytes)."""
    status, _, body = raw_answer(stack, data)
    return status, body


# 1. Path parameters and query values that are not UTF-8 text.

def test_invalid_utf8_in_path_is_refused_and_nothing_stored(stack, account, uniq):
    """Each of these used to be stored and then broke reads for everyone."""
    owner = account
    stranger = stack.register(uniq("edgex"))
    room = new_room(stack, owner)
    alias = "#%s:%s" % (uniq("al"), stack.server_name)
    ok(stack, owner, "PUT", "/directory/room/" + q(alias), {"room_id": room})
    uid = q(owner["user_id"])
    bad = [
        # An overlong "/": a push rule ID.
        (owner, "PUT", "/pushrules/global/override/%C0%AF",
         {"actions": ["notify"], "conditions": []}),
        # An alias, added by someone who is not even a member.
        (stranger, "PUT", "/directory/room/%23x%FF%3A" + stack.server_name, {"room_id": room}),
        # An account data type.
        (owner, "PUT", "/user/%s/account_data/%%ff%%fe" % uid, {"a": 1}),
        (owner, "PUT", "/user/%s/rooms/%s/account_data/%%ff%%fe" % (uid, q(room)), {"a": 1}),
        # A state key.
        (owner, "PUT", "/rooms/%s/state/m.room.topic/%%ff" % q(room), {"topic": "t"}),
        # A surrogate, an event type.
        (owner, "PUT", "/rooms/%s/send/%%ED%%A0%%80/edge-s" % q(room), {"body": "x"}),
    ]
    for user, method, path, body in bad:
        assert_error(call(stack, user, method, path, body), 400, "M_INVALID_PARAM")
    # Nothing was stored: the owner still sends, syncs and lists aliases.
    send(stack, owner, room, "still here")
    resp = sync(stack, owner)
    assert room in resp["rooms"]["join"]
    types = {e["type"] for e in resp["account_data"]["events"]}
    assert "\ufffd\ufffd" not in types
    assert ok(stack, owner, "GET", "/rooms/%s/aliases" % q(room))["aliases"] == [alias]
    state = ok(stack, owner, "GET", "/rooms/%s/state" % q(room))
    assert not any(e["type"] == "m.room.topic" for e in state)
    rules = ok(stack, owner, "GET", "/pushrules/")["global"]["override"]
    assert all(r["rule_id"].isascii() for r in rules)


def test_invalid_utf8_in_query_is_refused(stack, account):
    room = new_room(stack, account)
    for path in ("/sync?since=%ff", "/sync?filter=%C0%AF",
                 "/rooms/%s/messages?dir=b&from=%%ED%%A0%%80" % q(room),
                 "/rooms/%s/messages?dir=%%ff" % q(room),
                 "/register/available?username=%ff",
                 # A bad escape is not an absent parameter.
                 "/sync?since=%zz",
                 "/sync?timeout=0&unused=%ff"):
        assert_error(call(stack, account, "GET", path), 400, "M_INVALID_PARAM")


# 2. '+' is a space in a query string, %2B a plus.

def test_plus_escaped_in_query_survives(stack, account, uniq):
    name = uniq("pl") + "+x"
    status, resp = stack.request("GET", C + "/register/available?username=" + q(name))
    assert (status, resp) == (200, {"available": True})
    stack.register(name)
    assert_error(stack.request("GET", C + "/register/available?username=" + q(name)),
                 400, "M_USER_IN_USE")
    # The same name with '+' as a space is not a user ID at all.
    assert_error(stack.request("GET", C + "/register/available?username=" + name),
                 400, "M_INVALID_USERNAME")

    # A filter naming an event type with a '+'.
    room = new_room(stack, account)
    send(stack, account, room, "plus", type_="m.a+b")
    send(stack, account, room, "other")
    filt = json.dumps({"room": {"rooms": [room], "timeline": {"types": ["m.a+b"]}}})
    resp = sync(stack, account, "&filter=" + q(filt))
    events = resp["rooms"]["join"][room]["timeline"]["events"]
    assert [e["type"] for e in events] == ["m.a+b"]


# 3. Content-Length must be a number.

def test_content_length_not_a_number(stack, account):
    # Logout with a bad length must not log out.
    for cl in (b"12abc", b"abc", b"-1", b"0x2"):
        status, _ = raw_http(stack, b"POST " + C.encode() + b"/logout HTTP/1.1\r\n"
                             b"Host: localhost\r\nConnection: close\r\n"
                             b"Authorization: Bearer " + account["access_token"].encode() +
                             b"\r\nContent-Type: application/json\r\n"
                             b"Content-Length: " + cl + b"\r\n\r\n{}")
        assert status == 400, cl
    assert ok(stack, account, "GET", "/account/whoami")["user_id"] == account["user_id"]
    # Leading zeros are still a number.
    status, body = raw_http(stack, b"POST " + C.encode() + b"/logout HTTP/1.1\r\n"
                            b"Host: localhost\r\nConnection: close\r\n"
                            b"Authorization: Bearer " + account["access_token"].encode() +
                            b"\r\nContent-Type: application/json\r\n"
                            b"Content-Length: 0002\r\n\r\n{}")
    assert status == 200, body
    assert_error(call(stack, account, "GET", "/account/whoami"), 401, "M_UNKNOWN_TOKEN")


# 4. Sync tokens.

def test_sync_token_overflow_is_refused(stack, account):
    for since in ("s99999999999999999999", "s1_99999999999999999999_0",
                  "s9223372036854775808"):
        assert_error(call(stack, account, "GET", "/sync?timeout=0&since=" + since),
                     400, "M_INVALID_PARAM")


def test_sync_token_from_the_future_does_not_pin(stack, account):
    room = new_room(stack, account)
    now = sync(stack, account)["next_batch"]
    future = "s" + "_".join(str(int(p) + 1000000) for p in now[1:].split("_"))
    resp = sync(stack, account, "&since=" + future)
    # next_batch is a real position, not the future one.
    got = [int(p) for p in resp["next_batch"][1:].split("_")]
    assert all(g < int(p) + 1000000 for g, p in zip(got, now[1:].split("_"))), resp["next_batch"]
    # And what comes next is seen from it.
    event_id = send(stack, account, room, "after the future")
    resp = sync(stack, account, "&since=" + resp["next_batch"])
    events = resp["rooms"]["join"][room]["timeline"]["events"]
    assert event_id in [e["event_id"] for e in events]


# 5. Long error texts.

def test_long_non_ascii_error_text_keeps_error(stack):
    for t in ("x" + "\u20ac" * 100, "xx" + "\U0001f600" * 80, "\u00e9" * 200):
        status, resp = stack.request("POST", C + "/login", {"type": t})
        assert status == 400 and resp["errcode"] == "M_UNKNOWN", resp
        assert isinstance(resp.get("error"), str), resp


# 6. Optional bodies.

def test_logout_accepts_null_empty_and_object(stack, account):
    for raw in (b"null", b"", b"{}", b" null "):
        status, resp = stack.login(account["username"], account["password"])
        assert status == 200, resp
        tok = {"access_token": resp["access_token"]}
        status, resp = call(stack, tok, "POST", "/logout", raw=raw)
        assert status == 200, (raw, resp)
        assert_error(call(stack, tok, "GET", "/account/whoami"), 401, "M_UNKNOWN_TOKEN")
    status, resp = stack.login(account["username"], account["password"])
    tok = {"access_token": resp["access_token"]}
    status, resp = call(stack, tok, "POST", "/logout/all", raw=b"null")
    assert status == 200, resp
    assert_error(call(stack, tok, "GET", "/account/whoami"), 401, "M_UNKNOWN_TOKEN")


def test_forget_accepts_null(stack, account):
    room = new_room(stack, account)
    ok(stack, account, "POST", "/rooms/%s/leave" % q(room), {})
    status, resp = call(stack, account, "POST", "/rooms/%s/forget" % q(room), raw=b"null")
    assert status == 200, resp


def test_required_body_still_refuses_null(stack, account):
    for path in ("/createRoom", "/user/%s/filter" % q(account["user_id"])):
        assert_error(call(stack, account, "POST", path, raw=b"null"), 400, "M_BAD_JSON")
    room = new_room(stack, account)
    assert_error(call(stack, account, "PUT", "/rooms/%s/send/m.room.message/n1" % q(room),
                      raw=b"null"), 400, "M_BAD_JSON")
    # Lists and numbers are not an empty body either, even where one may be omitted.
    for raw in (b"[]", b"0", b'"x"'):
        assert_error(call(stack, account, "POST", "/logout", raw=raw), 400, "M_BAD_JSON")
    assert ok(stack, account, "GET", "/account/whoami")["user_id"] == account["user_id"]


# 7. A 429 says when to come back in a header too.

@pytest.fixture(scope="module")
def limited():
    """A stack of its own on which a user may park a single /sync."""
    s = start_stack(extra_conf="max_parked_per_user = 1\n")
    yield s
    stop_stack(s)


def get_with_headers(stack, path, token):
    """GET path; returns (status, headers, parsed JSON body)."""
    req = urllib.request.Request(stack.base + path)
    req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=150) as r:
            return r.status, r.headers, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.headers, json.loads(e.read())


def test_limit_exceeded_has_retry_after_header(limited, uniq):
    """Spec: C-S API, rate limiting: Retry-After (seconds) beside
    retry_after_ms, as Synapse sends both."""
    user = limited.register(uniq("ra"))
    room = new_room(limited, user)
    since = sync(limited, user)["next_batch"]
    path = C + "/sync?timeout=120000&since=" + q(since)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        waits = [pool.submit(get_with_headers, limited, path, user["access_token"])
                 for _ in range(2)]
        done, _ = concurrent.futures.wait(waits, return_when=concurrent.futures.FIRST_COMPLETED)
        first = done.pop().result()
        # Wake the parked one before asserting, so a failure does not wait for it.
        send(limited, user, room, "wake")
        results = sorted((f.result() for f in waits), key=lambda r: r[0])
    status, headers, body = first
    assert (status, body["errcode"]) == (429, "M_LIMIT_EXCEEDED"), body
    ms = body["retry_after_ms"]
    assert headers.get("Retry-After") == str(-(-ms // 1000)), dict(headers)
    assert [r[0] for r in results] == [200, 429]
    # A 200 has no Retry-After.
    assert results[0][1].get("Retry-After") is None


# 8. What nginx refuses before any handler is Matrix JSON too.

def raw_answer(stack, data):
    """Sends bytes as they are; returns (status, headers lowercased, body)."""
    with socket.create_connection(("127.0.0.1", stack.port), timeout=30) as s:
        s.sendall(data)
        got = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    head, _, body = got.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        headers[k.strip().lower().decode()] = v.strip().decode()
    return int(lines[0].split(b" ", 2)[1]), headers, body


def test_nginx_refusals_are_matrix_errors(stack):
    """Each is refused by nginx itself: HTML would leave clients with no
    errcode.  494 (a header past nginx's buffers) reaches the client as
    400 but is not caught by error_page 400."""
    host = b"Host: localhost\r\nConnection: close\r\n"
    post = b"POST " + C.encode() + b"/login HTTP/1.1\r\n" + host
    get = b"GET " + C.encode() + b"/versions"
    cases = [
        (post + b"Content-Length: 12abc\r\n\r\n{}", 400, "M_INVALID_PARAM"),
        (post + b"Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}", 400, "M_INVALID_PARAM"),
        (post + b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
         400, "M_INVALID_PARAM"),
        (post + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n\r\n", 400, "M_INVALID_PARAM"),
        (get + b" HTTP/1.1\r\nConnection: close\r\n\r\n", 400, "M_INVALID_PARAM"),
        (get + b" HTTP/1.1\r\nHost: a/b\r\nConnection: close\r\n\r\n", 400,
         "M_INVALID_PARAM"),
        (b"G@T " + C.encode() + b"/versions HTTP/1.1\r\n" + host + b"\r\n", 400,
         "M_INVALID_PARAM"),
        (b"GARBAGE\r\n\r\n", 400, "M_INVALID_PARAM"),
        (get + b" HTTP/1.1\r\n" + host + b"X-A: " + b"a" * 9000 + b"\r\n\r\n", 400,
         "M_TOO_LARGE"),
        (get + b"?" + b"a" * 9000 + b" HTTP/1.1\r\n" + host + b"\r\n", 414, "M_TOO_LARGE"),
    ]
    for data, status, errcode in cases:
        got, headers, body = raw_answer(stack, data)
        assert got == status, (data[:80], got, body)
        assert headers.get("content-type") == "application/json", (data[:80], headers)
        assert json.loads(body)["errcode"] == errcode, (data[:80], body)
    # A handler's own 400 is its own, not nginx's.
    assert_error(stack.request("POST", C + "/login", {"type": "m.login.nope"}),
                 400, "M_UNKNOWN")


# 9. Pagination tokens: a number that overflows or is followed by garbage.

def test_overflowing_or_garbage_tokens_are_refused(stack, account):
    room = new_room(stack, account)
    send(stack, account, room, "page me")
    big = "99999999999999999999999"
    msgs = "/rooms/%s/messages?dir=b&" % q(room)
    bad = [msgs + "from=t" + big, msgs + "from=t12abc", msgs + "from=s" + big,
           msgs + "from=s1_" + big, msgs + "from=t12_3", msgs + "from=s1__2",
           msgs + "to=t" + big, msgs + "from=t9223372036854775807",
           "/rooms/%s/members?at=t%s" % (q(room), big),
           "/notifications?from=" + big, "/notifications?from=12abc",
           "/notifications?from=9223372036854775808"]
    for path in bad:
        assert_error(call(stack, account, "GET", path), 400, "M_INVALID_PARAM")
    for since in ("n" + big + "_!x:localhost", "n12abc_!x:localhost", "p-1_!x:localhost"):
        assert_error(stack.request("GET", C + "/publicRooms?since=" + q(since)),
                     400, "M_INVALID_PARAM")
    # Good tokens still page.
    resp = ok(stack, account, "GET", msgs + "limit=1")
    ok(stack, account, "GET", msgs + "from=" + q(resp["end"]))
    ok(stack, account, "GET", msgs + "from=" + q(sync(stack, account)["next_batch"]))
    ok(stack, account, "GET", "/notifications?from=5")


def test_overflowing_tokens_of_relations_hierarchy_and_search(stack, account):
    room = new_room(stack, account)
    parent = send(stack, account, room, "parent")
    big = "99999999999999999999"
    v1 = "/_matrix/client/v1"
    for path in ("/rooms/%s/relations/%s?from=t%s" % (q(room), q(parent), big),
                 "/rooms/%s/relations/%s?from=t1x" % (q(room), q(parent)),
                 "/rooms/%s/threads?from=t%s" % (q(room), big),
                 "/rooms/%s/hierarchy?from=%s_-1_0" % (q(room), big),
                 "/rooms/%s/hierarchy?from=0_%s_0" % (q(room), big),
                 "/rooms/%s/hierarchy?from=0_-1_0x" % (q(room))):
        assert_error(stack.request("GET", v1 + path, token=account["access_token"]),
                     400, "M_INVALID_PARAM")
    # A hierarchy token made without max_depth still pages.
    status, resp = stack.request("GET", v1 + "/rooms/%s/hierarchy?from=0_-1_0" % q(room),
                                 token=account["access_token"])
    assert status == 200, resp
    body = {"search_categories": {"room_events": {"search_term": "parent"}}}
    for text in ("r\n%s\n5\n\n" % big, "r\n5\n%s\n\n" % big):
        tok = base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
        assert_error(call(stack, account, "POST", "/search?next_batch=" + q(tok), body),
                     400, "M_INVALID_PARAM")
