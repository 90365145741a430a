"""GET /messages in topological order (issue 11, part 1): its tokens are
places in the room's graph, "t<depth>-<stream>", which /messages, the
other endpoints that take its tokens (/relations, /members?at=) and
clients paging with them all read; positions ("t<N>" of /context, sync
tokens) still stand for their room's last event there.  History from
other servers, which sorts by depth among the live events, is covered by
tests/unit/room-receive.c."""

import re
import urllib.parse

from conftest import C, q


def call(stack, who, method, path, body=None):
    return stack.request(method, C + path, body, token=who["access_token"])


def ok(stack, who, method, path, body=None):
    status, resp = call(stack, who, method, path, body)
    assert status == 200, (method, path, status, resp)
    return resp


def user(stack, uniq):
    name = uniq("topo")
    return dict(stack.register(name, "pw-" + name), username=name)


def messages(stack, who, room_id, **params):
    return call(stack, who, "GET", "/rooms/%s/messages?%s" % (
        q(room_id), urllib.parse.urlencode(params)))


def make_room(stack, who, n):
    r = ok(stack, who, "POST", "/createRoom", {"preset": "public_chat"})["room_id"]
    sent = [ok(stack, who, "PUT", "/rooms/%s/send/m.room.message/topo%d" % (q(r), i),
               {"msgtype": "m.text", "body": "m%d" % i})["event_id"] for i in range(n)]
    return r, sent


PLACE = re.compile(r"^t\d+-\d+$")


def test_messages_tokens_are_places(stack, uniq):
    """start and end are t<depth>-<stream>; paging back two at a time with
    them gives the room in the order of one big page, and forwards the
    reverse."""
    alice = user(stack, uniq)
    r, sent = make_room(stack, alice, 5)
    status, whole = messages(stack, alice, r, dir="b", limit=100)
    assert status == 200 and PLACE.match(whole["start"]) and PLACE.match(whole["end"])
    ids = [e["event_id"] for e in whole["chunk"]]
    assert ids[:5] == sent[::-1] and whole["chunk"][-1]["type"] == "m.room.create"
    got, token = [], None
    while True:
        params = {"dir": "b", "limit": 2}
        if token:
            params["from"] = token
        status, page = messages(stack, alice, r, **params)
        assert status == 200
        got += [e["event_id"] for e in page["chunk"]]
        if "end" not in page:
            break
        assert PLACE.match(page["end"])
        token = page["end"]
        assert len(got) <= len(ids)
    assert got == ids
    status, fwd = messages(stack, alice, r, dir="f", limit=100)
    assert status == 200 and [e["event_id"] for e in fwd["chunk"]] == ids[::-1]
    # Between two places: back from the third newest to the first page's end.
    status, first = messages(stack, alice, r, dir="b", limit=2)
    status, mid = messages(stack, alice, r, dir="b", limit=100, **{"from": first["end"],
                                                                  "to": whole["end"]})
    assert status == 200 and [e["event_id"] for e in mid["chunk"]] == ids[2:]


def test_messages_places_elsewhere(stack, uniq):
    """A place token works where a /messages token may go: /relations'
    from, /members' at; and /context's stream positions work as
    /messages' from."""
    alice = user(stack, uniq)
    r, sent = make_room(stack, alice, 3)
    status, page = messages(stack, alice, r, dir="b", limit=1)
    assert status == 200 and PLACE.match(page["end"])
    status, body = call(stack, alice, "GET", "/rooms/%s/members?at=%s" % (q(r), q(page["end"])))
    assert status == 200 and [e["state_key"] for e in body["chunk"]] == [alice["user_id"]]
    status, body = stack.request("GET", "/_matrix/client/v1/rooms/%s/relations/%s?from=%s" % (
        q(r), q(sent[0]), q(page["end"])), None, token=alice["access_token"])
    assert status == 200, body
    ctx = ok(stack, alice, "GET", "/rooms/%s/context/%s?limit=0" % (q(r), q(sent[1])))
    status, back = messages(stack, alice, r, dir="b", limit=1, **{"from": ctx["start"]})
    assert status == 200 and [e["event_id"] for e in back["chunk"]] == [sent[0]]


def test_messages_bad_places(stack, uniq):
    """A place that does not parse whole is 400 M_INVALID_PARAM, never some
    other page."""
    alice = user(stack, uniq)
    r, _ = make_room(stack, alice, 1)
    for bad in ("t5-", "t5-x", "t-1-2", "t5-3-", "t5--", "t5-99999999999999999999",
                "t5- 3"):
        status, body = messages(stack, alice, r, dir="b", **{"from": bad})
        assert (status, body.get("errcode")) == (400, "M_INVALID_PARAM"), bad
