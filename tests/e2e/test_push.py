"""Receipts, read markers, push rules, notifications and pushers end to end
(issue 4): unread counts rise with messages from others and fall back to
zero after a read receipt (matrix-nio: client.sync, update_receipt_marker,
room_read_markers), highlights on a mention, receipts shown to the other
members but private ones only to their owner, push rules created, disabled
and deleted, GET /notifications, pushers.  Raw HTTP for what nio 0.20
cannot call and for the edges."""
import asyncio
import json
import os
import time
import urllib.parse

import nio
import pytest

from conftest import nio_clients

C = "/_matrix/client/v3"


def q(s):
    return urllib.parse.quote(s, safe="")


@pytest.fixture(scope="module")
def people(stack):
    """alice, bob and carol, registered once for the module."""
    out = {}
    for who in ("alice", "bob", "carol"):
        name = "pu%s%d" % (who, os.getpid())
        out[who] = dict(stack.register(name, "pw-" + name), username=name)
    return out


def call(stack, user, method, path, body=None):
    return stack.request(method, C + path, body, token=user["access_token"])


def ok(stack, user, method, path, body=None):
    status, resp = call(stack, user, method, path, body)
    assert status == 200, (method, path, status, resp)
    return resp


def assert_error(status_resp, status, errcode):
    got, resp = status_resp
    assert (got, (resp or {}).get("errcode")) == (status, errcode), resp


_txn = [0]


def send(stack, user, room, body, **content):
    _txn[0] += 1
    content = dict({"msgtype": "m.text", "body": body}, **content)
    return ok(stack, user, "PUT", "/rooms/%s/send/m.room.message/pt%d" % (q(room), _txn[0]),
              content)["event_id"]


def room_of(stack, owner, *others, **create):
    """A new room of owner that every one of others has joined."""
    room = ok(stack, owner, "POST", "/createRoom",
              dict({"preset": "private_chat"}, **create))["room_id"]
    for u in others:
        ok(stack, owner, "POST", "/rooms/%s/invite" % q(room), {"user_id": u["user_id"]})
        ok(stack, u, "POST", "/join/" + q(room), {})
    return room


def sync(stack, user, since=None, filt=None, timeout=0):
    path = "/sync?timeout=%d" % timeout
    if since:
        path += "&since=" + q(since)
    if filt is not None:
        path += "&filter=" + q(json.dumps(filt))
    return ok(stack, user, "GET", path)


def counts(resp, room):
    """(notification_count, highlight_count) of room in a sync response, or None."""
    r = resp["rooms"]["join"].get(room)
    if r is None:
        return None
    u = r.get("unread_notifications", {})
    return u.get("notification_count"), u.get("highlight_count")


def receipts(resp, room):
    """{(event_id, type, user): info} of the m.receipt events of room."""
    out = {}
    r = resp["rooms"]["join"].get(room, {})
    for ev in r.get("ephemeral", {}).get("events", []):
        if ev["type"] != "m.receipt":
            continue
        for eid, types in ev["content"].items():
            for rtype, users in types.items():
                for user, info in users.items():
                    out[(eid, rtype, user)] = info
    return out


async def synced(client, **kw):
    resp = await client.sync(**kw)
    assert isinstance(resp, nio.SyncResponse), resp
    return resp


def nio_counts(resp, room):
    info = resp.rooms.join.get(room)
    if info is None or info.unread_notifications is None:
        return None
    return (info.unread_notifications.notification_count,
            info.unread_notifications.highlight_count)


# -- unread counts ----------------------------------------------------------

def test_unread_counts_rise_and_reset_with_nio(stack, people):
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    room = room_of(stack, alice, bob, carol)

    async def go(a, b):
        await synced(a)
        first = await b.room_send(room, "m.room.message", {"msgtype": "m.text", "body": "one"})
        second = await b.room_send(room, "m.room.message", {"msgtype": "m.text", "body": "two"})
        risen = nio_counts(await synced(a, timeout=0), room)
        # The receipt wakes alice's own waiting sync: her counts changed.
        waiting = asyncio.ensure_future(a.sync(timeout=20000))
        await asyncio.sleep(0.3)
        started = time.monotonic()
        marked = await a.update_receipt_marker(room, second.event_id)
        woke = await waiting
        took = time.monotonic() - started
        reset = nio_counts(woke, room)
        third = await b.room_send(room, "m.room.message", {"msgtype": "m.text", "body": "3"})
        again = nio_counts(await synced(a, timeout=0), room)
        markers = await a.room_read_markers(room, third.event_id, third.event_id)
        cleared = await synced(a, timeout=0)
        return (first, risen, marked, reset, took, again, markers, nio_counts(cleared, room),
                third.event_id, cleared)
    (first, risen, marked, reset, took, again, markers, cleared, third,
     resp) = nio_clients(stack, [alice, bob], go)
    assert isinstance(first, nio.RoomSendResponse), first
    assert risen == (2, 0)
    assert isinstance(marked, nio.UpdateReceiptMarkerResponse), marked
    assert reset == (0, 0) and took < 10
    assert again == (1, 0)
    assert isinstance(markers, nio.RoomReadMarkersResponse), markers
    assert cleared == (0, 0)
    # Spec: m.fully_read lives in the room's account data.
    fr = ok(stack, alice, "GET", "/user/%s/rooms/%s/account_data/m.fully_read" %
            (q(alice["user_id"]), q(room)))
    assert fr == {"event_id": third}
    assert any(isinstance(e, nio.FullyReadEvent) and e.event_id == third
               for e in resp.rooms.join[room].account_data)


def test_own_messages_and_notices_do_not_count(stack, people):
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    room = room_of(stack, alice, bob, carol)
    base = sync(stack, alice)
    send(stack, bob, room, "a notice", msgtype="m.notice")
    send(stack, alice, room, "mine")
    resp = sync(stack, alice, base["next_batch"])
    assert counts(resp, room) == (0, 0)
    # Bob's own sync: alice's message counts for him, his notice does not.
    assert counts(sync(stack, bob), room) == (1, 0)
    # Sending reads up to the message sent: bob's count falls to 0.
    send(stack, bob, room, "bob speaks")
    assert counts(sync(stack, bob), room) == (0, 0)


def test_private_receipt_resets_counts(stack, people):
    alice, bob = people["alice"], people["bob"]
    room = room_of(stack, alice, bob)
    eid = send(stack, bob, room, "hi")
    base = sync(stack, alice)
    # Two members: .m.rule.room_one_to_one.
    assert counts(base, room) == (1, 0)
    ok(stack, alice, "POST", "/rooms/%s/receipt/m.read.private/%s" % (q(room), q(eid)), {})
    resp = sync(stack, alice, base["next_batch"])
    assert counts(resp, room) == (0, 0)
    # A public receipt behind the private one does not make anything unread.
    older = send(stack, bob, room, "again")
    ok(stack, alice, "POST", "/rooms/%s/receipt/m.read/%s" % (q(room), q(eid)), {})
    assert counts(sync(stack, alice), room) == (1, 0)
    ok(stack, alice, "POST", "/rooms/%s/receipt/m.read/%s" % (q(room), q(older)), {})
    assert counts(sync(stack, alice), room) == (0, 0)


def test_highlight_on_mentions(stack, people):
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    # Membership events carry the profile's display name: set it first.
    ok(stack, alice, "PUT", "/profile/%s/displayname" % q(alice["user_id"]),
       {"displayname": "Alice Pushtest"})
    room = room_of(stack, alice, bob, carol)
    base = sync(stack, alice)
    # Spec: .m.rule.is_user_mention: the user ID in m.mentions.
    send(stack, bob, room, "hey you", **{"m.mentions": {"user_ids": [alice["user_id"]]}})
    send(stack, bob, room, "not you", **{"m.mentions": {"user_ids": [carol["user_id"]]}})
    resp = sync(stack, alice, base["next_batch"])
    assert counts(resp, room) == (2, 1)
    # A room mention needs the power to notify the room (50 by default).
    send(stack, bob, room, "@room", **{"m.mentions": {"room": True}})
    assert counts(sync(stack, alice, resp["next_batch"]), room) == (3, 1)
    # Alice created the room: she has the power.  Bob's own messages read
    # everything before them, so only hers counts for him.
    send(stack, alice, room, "@room", **{"m.mentions": {"room": True}})
    assert counts(sync(stack, bob), room) == (1, 1)
    # The display name: legacy body rules left the spec in v1.17, so a
    # user rule with the contains_display_name condition asks for it.
    ok(stack, alice, "PUT", "/pushrules/global/override/dn", {
        "conditions": [{"kind": "contains_display_name"}],
        "actions": ["notify", {"set_tweak": "highlight"}]})
    try:
        send(stack, bob, room, "what does alice pushtest think?")
        send(stack, bob, room, "alice pushtests are rare")
        # Alice's own message above read the rest.
        assert counts(sync(stack, alice), room) == (2, 1)
    finally:
        ok(stack, alice, "DELETE", "/pushrules/global/override/dn")


def test_invite_notifies_the_invitee(stack, people):
    alice, carol = people["alice"], people["carol"]
    room = ok(stack, alice, "POST", "/createRoom", {"preset": "private_chat"})["room_id"]
    ok(stack, alice, "POST", "/rooms/%s/invite" % q(room), {"user_id": carol["user_id"]})
    notifs = ok(stack, carol, "GET", "/notifications")["notifications"]
    assert notifs and notifs[0]["room_id"] == room
    assert notifs[0]["event"]["type"] == "m.room.member"
    assert notifs[0]["event"]["state_key"] == carol["user_id"]
    assert "notify" in notifs[0]["actions"]


# -- receipts ---------------------------------------------------------------

def test_receipts_reach_other_members_private_ones_do_not(stack, people):
    alice, bob = people["alice"], people["bob"]
    room = room_of(stack, alice, bob)
    e1 = send(stack, alice, room, "first")
    e2 = send(stack, alice, room, "second")
    base = sync(stack, alice)

    async def go(b):
        return await b.update_receipt_marker(room, e1)
    resp = nio_clients(stack, [bob], go)
    assert isinstance(resp, nio.UpdateReceiptMarkerResponse), resp
    ok(stack, bob, "POST", "/rooms/%s/receipt/m.read.private/%s" % (q(room), q(e2)), {})
    seen = receipts(sync(stack, alice, base["next_batch"]), room)
    assert (e1, "m.read", bob["user_id"]) in seen
    assert isinstance(seen[(e1, "m.read", bob["user_id"])]["ts"], int)
    assert "thread_id" not in seen[(e1, "m.read", bob["user_id"])]
    assert not any(k[1] == "m.read.private" for k in seen)
    # The owner sees both; an initial sync carries them too.
    mine = receipts(sync(stack, bob), room)
    assert (e1, "m.read", bob["user_id"]) in mine
    assert (e2, "m.read.private", bob["user_id"]) in mine
    assert not any(k[1] == "m.read.private" for k in receipts(sync(stack, alice), room))

    # matrix-nio reads them as ReceiptEvents.
    async def view(a):
        r = await synced(a)
        out = []
        for ev in r.rooms.join[room].ephemeral:
            if isinstance(ev, nio.ReceiptEvent):
                out += [(x.event_id, x.receipt_type, x.user_id) for x in ev.receipts]
        return out
    assert (e1, "m.read", bob["user_id"]) in nio_clients(stack, [alice], view)


def test_threaded_receipt(stack, people):
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    room = room_of(stack, alice, bob, carol)
    root = send(stack, bob, room, "root")
    reply = send(stack, bob, room, "in thread",
                 **{"m.relates_to": {"rel_type": "m.thread", "event_id": root}})
    filt = {"room": {"timeline": {"unread_thread_notifications": True}}}
    resp = sync(stack, alice, filt=filt)
    r = resp["rooms"]["join"][room]
    assert r["unread_notifications"] == {"notification_count": 1, "highlight_count": 0}
    assert r["unread_thread_notifications"] == {
        root: {"notification_count": 1, "highlight_count": 0}}
    # Without the filter flag, one count for the room.
    assert counts(sync(stack, alice), room) == (2, 0)
    ok(stack, alice, "POST", "/rooms/%s/receipt/m.read/%s" % (q(room), q(reply)),
       {"thread_id": root})
    resp = sync(stack, alice, filt=filt)
    r = resp["rooms"]["join"][room]
    assert r["unread_notifications"]["notification_count"] == 1
    assert "unread_thread_notifications" not in r
    seen = receipts(resp, room)
    assert seen[(reply, "m.read", alice["user_id"])]["thread_id"] == root
    ok(stack, alice, "POST", "/rooms/%s/receipt/m.read/%s" % (q(room), q(root)),
       {"thread_id": "main"})
    assert counts(sync(stack, alice), room) == (0, 0)


def test_receipt_errors(stack, people):
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    room = room_of(stack, alice, bob)
    eid = send(stack, bob, room, "x")
    def path(rtype, eid):
        return "/rooms/%s/receipt/%s/%s" % (q(room), rtype, eid)
    assert_error(call(stack, alice, "POST", path("m.nope", q(eid)), {}), 400,
                 "M_INVALID_PARAM")
    assert_error(call(stack, alice, "POST", path("m.read", q("$nope")), {}), 404,
                 "M_NOT_FOUND")
    assert_error(call(stack, carol, "POST", path("m.read", q(eid)), {}), 403,
                 "M_FORBIDDEN")
    assert_error(call(stack, alice, "POST", path("m.read", q(eid)), {"thread_id": ""}),
                 400, "M_INVALID_PARAM")
    assert_error(call(stack, alice, "POST", path("m.read", q(eid)), {"thread_id": 5}),
                 400, "M_INVALID_PARAM")
    assert_error(call(stack, alice, "POST", path("m.fully_read", q(eid)),
                      {"thread_id": "main"}), 400, "M_INVALID_PARAM")
    other = room_of(stack, bob)
    foreign = send(stack, bob, other, "elsewhere")
    assert_error(call(stack, alice, "POST", path("m.read", q(foreign)), {}), 404,
                 "M_NOT_FOUND")
    assert_error(call(stack, alice, "POST", "/rooms/%s/read_markers" % q(room),
                      {"m.fully_read": 3}), 400, "M_INVALID_PARAM")
    # The receipt endpoint takes m.fully_read as /read_markers does.
    ok(stack, alice, "POST", path("m.fully_read", q(eid)), {})
    assert ok(stack, alice, "GET", "/user/%s/rooms/%s/account_data/m.fully_read" %
              (q(alice["user_id"]), q(room))) == {"event_id": eid}
    # Clients may not set it themselves.
    status, _ = call(stack, alice, "PUT", "/user/%s/rooms/%s/account_data/m.fully_read" %
                     (q(alice["user_id"]), q(room)), {"event_id": eid})
    assert status >= 400


# -- push rules -------------------------------------------------------------

def test_default_rules(stack, people):
    alice = people["alice"]
    rs = ok(stack, alice, "GET", "/pushrules/")["global"]
    assert rs == ok(stack, alice, "GET", "/pushrules/global/")
    assert set(rs) == {"override", "content", "room", "sender", "underride"}
    ids = [r["rule_id"] for r in rs["override"]]
    assert ids[0] == ".m.rule.master"
    for rid in (".m.rule.suppress_notices", ".m.rule.invite_for_me", ".m.rule.member_event",
                ".m.rule.is_user_mention", ".m.rule.is_room_mention", ".m.rule.tombstone",
                ".m.rule.reaction", ".m.rule.room.server_acl", ".m.rule.suppress_edits"):
        assert rid in ids
    assert [r["rule_id"] for r in rs["underride"]] == [
        ".m.rule.call", ".m.rule.encrypted_room_one_to_one", ".m.rule.room_one_to_one",
        ".m.rule.message", ".m.rule.encrypted"]
    master = rs["override"][0]
    assert master == {"rule_id": ".m.rule.master", "default": True, "enabled": False,
                      "conditions": [], "actions": []}
    invite = ok(stack, alice, "GET", "/pushrules/global/override/.m.rule.invite_for_me")
    assert {"kind": "event_match", "key": "state_key",
            "pattern": alice["user_id"]} in invite["conditions"]
    mention = ok(stack, alice, "GET", "/pushrules/global/override/.m.rule.is_user_mention")
    assert mention["conditions"] == [{"kind": "event_property_contains",
                                      "key": "content.m\\.mentions.user_ids",
                                      "value": alice["user_id"]}]
    assert_error(call(stack, alice, "GET", "/pushrules/global/override/nope"), 404,
                 "M_NOT_FOUND")
    assert_error(call(stack, alice, "GET", "/pushrules/global/bogus/x"), 400,
                 "M_INVALID_PARAM")


def test_push_rules_crud_and_effect(stack, people):
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    room = room_of(stack, alice, bob, carol)
    base = sync(stack, alice)
    rule = "/pushrules/global/override/mute%d" % os.getpid()
    # Spec example: a rule that stops notifications for one room.
    ok(stack, alice, "PUT", rule, {
        "conditions": [{"kind": "event_match", "key": "room_id", "pattern": room}],
        "actions": ["dont_notify"]})
    got = ok(stack, alice, "GET", rule)
    assert got == {"rule_id": "mute%d" % os.getpid(), "default": False, "enabled": True,
                   "conditions": [{"kind": "event_match", "key": "room_id", "pattern": room}],
                   "actions": []}
    ids = [r["rule_id"] for r in ok(stack, alice, "GET", "/pushrules/global/")["override"]]
    assert ids[:2] == [".m.rule.master", "mute%d" % os.getpid()]
    # The change reaches alice's clients as m.push_rules account data.
    resp = sync(stack, alice, base["next_batch"])
    pr = [e for e in resp["account_data"]["events"] if e["type"] == "m.push_rules"]
    assert pr and pr[-1]["content"]["global"]["override"][1]["rule_id"] == \
        "mute%d" % os.getpid()
    send(stack, bob, room, "muted")
    send(stack, bob, room, "still muted")
    resp = sync(stack, alice, resp["next_batch"])
    assert counts(resp, room) == (0, 0)
    # Disabled, the rule lets the defaults notify again.
    ok(stack, alice, "PUT", rule + "/enabled", {"enabled": False})
    assert ok(stack, alice, "GET", rule + "/enabled") == {"enabled": False}
    send(stack, bob, room, "loud")
    assert counts(sync(stack, alice, resp["next_batch"]), room) == (1, 0)
    ok(stack, alice, "PUT", rule + "/enabled", {"enabled": True})
    ok(stack, alice, "PUT", rule + "/actions", {"actions": ["notify",
                                                             {"set_tweak": "highlight"}]})
    assert ok(stack, alice, "GET", rule + "/actions") == {
        "actions": ["notify", {"set_tweak": "highlight"}]}
    send(stack, bob, room, "now highlighted")
    assert counts(sync(stack, alice), room) == (2, 1)
    ok(stack, alice, "DELETE", rule)
    assert_error(call(stack, alice, "GET", rule), 404, "M_NOT_FOUND")
    assert_error(call(stack, alice, "DELETE", rule), 404, "M_NOT_FOUND")


def test_push_rule_order_and_errors(stack, people):
    carol = people["carol"]
    base = "/pushrules/global/content/"
    for rid in ("a", "b"):
        ok(stack, carol, "PUT", base + rid, {"pattern": "cake", "actions": ["notify"]})
    order = lambda: [r["rule_id"] for r in  # noqa: E731
                     ok(stack, carol, "GET", "/pushrules/global/")["content"]]
    # Spec: a new rule is the most important of its kind.
    assert order() == ["b", "a"]
    ok(stack, carol, "PUT", base + "c?before=a", {"pattern": "x", "actions": []})
    assert order() == ["b", "c", "a"]
    ok(stack, carol, "PUT", base + "d?after=b", {"pattern": "x", "actions": []})
    assert order() == ["b", "d", "c", "a"]
    # An update in place keeps the place.
    ok(stack, carol, "PUT", base + "c", {"pattern": "y", "actions": ["notify"]})
    assert order() == ["b", "d", "c", "a"]
    assert ok(stack, carol, "GET", base + "c")["pattern"] == "y"
    assert_error(call(stack, carol, "PUT", base + "e?before=nope",
                      {"pattern": "x", "actions": []}), 400, "M_UNKNOWN")
    assert_error(call(stack, carol, "PUT", base + "e?after=.m.rule.master",
                      {"pattern": "x", "actions": []}), 400, "M_UNKNOWN")
    assert_error(call(stack, carol, "PUT", base + "e", {"actions": []}), 400,
                 "M_MISSING_PARAM")
    assert_error(call(stack, carol, "PUT", base + "e", {"pattern": "x"}), 400,
                 "M_MISSING_PARAM")
    assert_error(call(stack, carol, "PUT", base + "e", {"pattern": "x", "actions": ["ring"]}),
                 400, "M_INVALID_PARAM")
    assert_error(call(stack, carol, "PUT", base + ".mine", {"pattern": "x", "actions": []}),
                 400, "M_INVALID_PARAM")
    assert_error(call(stack, carol, "PUT", "/pushrules/global/override/a%5Cb",
                      {"actions": []}), 400, "M_INVALID_PARAM")
    assert_error(call(stack, carol, "PUT", "/pushrules/global/override/x",
                      {"actions": [], "conditions": {}}), 400, "M_INVALID_PARAM")
    # Server-default rules: disabled or given actions, never deleted.
    assert_error(call(stack, carol, "DELETE", "/pushrules/global/override/.m.rule.master"),
                 400, "M_INVALID_PARAM")
    assert_error(call(stack, carol, "DELETE", "/pushrules/global/override/.m.rule.nope"),
                 404, "M_NOT_FOUND")
    assert_error(call(stack, carol, "PUT", "/pushrules/global/override/.m.rule.nope/enabled",
                      {"enabled": True}), 404, "M_NOT_FOUND")
    assert_error(call(stack, carol, "PUT", "/pushrules/global/override/.m.rule.master/enabled",
                      {}), 400, "M_MISSING_PARAM")
    ok(stack, carol, "PUT", "/pushrules/global/underride/.m.rule.message/actions",
       {"actions": ["notify", {"set_tweak": "sound", "value": "bing"}]})
    msg = ok(stack, carol, "GET", "/pushrules/global/underride/.m.rule.message")
    assert msg["default"] is True
    assert msg["actions"] == ["notify", {"set_tweak": "sound", "value": "bing"}]
    ok(stack, carol, "PUT", "/pushrules/global/underride/.m.rule.message/actions",
       {"actions": ["notify"]})
    for rid in ("a", "b", "c", "d"):
        ok(stack, carol, "DELETE", base + rid)
    assert order() == []


def test_master_rule_silences_everything(stack, people):
    alice, bob = people["alice"], people["bob"]
    room = room_of(stack, bob, alice)
    master = "/pushrules/global/override/.m.rule.master/enabled"
    ok(stack, alice, "PUT", master, {"enabled": True})
    try:
        send(stack, bob, room, "you will not hear this",
             **{"m.mentions": {"user_ids": [alice["user_id"]]}})
        assert counts(sync(stack, alice), room) == (0, 0)
    finally:
        ok(stack, alice, "PUT", master, {"enabled": False})
    send(stack, bob, room, "but this")
    assert counts(sync(stack, alice), room) == (1, 0)


# -- notifications ------------------------------------------------------------

def test_notifications_list(stack, people):
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    room = room_of(stack, carol, bob, alice)
    plain = send(stack, bob, room, "plain")
    loud = send(stack, bob, room, "loud", **{"m.mentions": {"user_ids": [carol["user_id"]]}})
    got = ok(stack, carol, "GET", "/notifications?limit=2")
    n = got["notifications"]
    assert [x["event"]["event_id"] for x in n] == [loud, plain]
    assert n[0]["room_id"] == room and n[0]["read"] is False
    assert isinstance(n[0]["ts"], int)
    assert {"set_tweak": "highlight"} in n[0]["actions"] and "notify" in n[0]["actions"]
    assert n[1]["actions"] == ["notify"]
    assert n[0]["event"]["content"]["body"] == "loud"
    highlights = ok(stack, carol, "GET", "/notifications?only=highlight")["notifications"]
    assert [x["event"]["event_id"] for x in highlights][:1] == [loud]
    assert all({"set_tweak": "highlight"} in x["actions"] for x in highlights)
    # Paging goes on from next_token.
    page = ok(stack, carol, "GET", "/notifications?limit=1")
    assert [x["event"]["event_id"] for x in page["notifications"]] == [loud]
    page2 = ok(stack, carol, "GET", "/notifications?limit=1&from=" + q(page["next_token"]))
    assert [x["event"]["event_id"] for x in page2["notifications"]] == [plain]
    ok(stack, carol, "POST", "/rooms/%s/receipt/m.read/%s" % (q(room), q(loud)), {})
    n = ok(stack, carol, "GET", "/notifications?limit=2")["notifications"]
    assert [x["read"] for x in n] == [True, True]
    assert_error(call(stack, carol, "GET", "/notifications?from=zz"), 400, "M_INVALID_PARAM")


# -- pushers ------------------------------------------------------------------

def test_pushers(stack, people):
    alice, bob = people["alice"], people["bob"]
    key = "pk%d" % os.getpid()
    pusher = {"kind": "http", "app_id": "org.example.app", "pushkey": key,
              "app_display_name": "Example", "device_display_name": "Phone",
              "profile_tag": "tag", "lang": "en",
              "data": {"url": "https://push.example.org/_matrix/push/v1/notify",
                       "format": "event_id_only"}}
    ok(stack, alice, "POST", "/pushers/set", pusher)
    got = ok(stack, alice, "GET", "/pushers")["pushers"]
    assert got == [{k: v for k, v in pusher.items()}]
    # Set again: replaced, not added.
    ok(stack, alice, "POST", "/pushers/set", dict(pusher, lang="de"))
    got = ok(stack, alice, "GET", "/pushers")["pushers"]
    assert len(got) == 1 and got[0]["lang"] == "de"
    # Without append, the same key taken by bob leaves alice.
    ok(stack, bob, "POST", "/pushers/set", dict(pusher, append=True))
    assert len(ok(stack, alice, "GET", "/pushers")["pushers"]) == 1
    ok(stack, bob, "POST", "/pushers/set", pusher)
    assert ok(stack, alice, "GET", "/pushers")["pushers"] == []
    assert len(ok(stack, bob, "GET", "/pushers")["pushers"]) == 1
    ok(stack, bob, "POST", "/pushers/set", {"kind": None, "app_id": "org.example.app",
                                            "pushkey": key})
    assert ok(stack, bob, "GET", "/pushers")["pushers"] == []
    # Errors.
    bad = dict(pusher, data={"format": "event_id_only"})
    assert_error(call(stack, alice, "POST", "/pushers/set", bad), 400, "M_MISSING_PARAM")
    bad = dict(pusher, data={"url": "https://push.example.org/elsewhere"})
    assert_error(call(stack, alice, "POST", "/pushers/set", bad), 400, "M_INVALID_PARAM")
    bad = {k: v for k, v in pusher.items() if k not in ("lang", "data")}
    status, resp = call(stack, alice, "POST", "/pushers/set", bad)
    assert (status, resp["errcode"]) == (400, "M_MISSING_PARAM")
    assert "lang" in resp["error"] and "data" in resp["error"]
    assert_error(call(stack, alice, "POST", "/pushers/set", dict(pusher, kind="carrier")),
                 400, "M_INVALID_PARAM")
    assert_error(call(stack, alice, "POST", "/pushers/set", dict(pusher, pushkey="k" * 513)),
                 400, "M_INVALID_PARAM")
    assert_error(call(stack, alice, "POST", "/pushers/set", {"kind": "http"}), 400,
                 "M_MISSING_PARAM")
    email = dict(pusher, kind="email", app_id="m.email", pushkey="alice@example.org",
                 data={})
    ok(stack, alice, "POST", "/pushers/set", email)
    assert [p["kind"] for p in ok(stack, alice, "GET", "/pushers")["pushers"]] == ["email"]
