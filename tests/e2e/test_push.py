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

import nio
import pytest

from conftest import User, admin_login, nio_clients, q

@pytest.fixture(scope="module")
def people(stack):
    """alice, bob and carol, registered once for the module."""
    out = {}
    for who in ("alice", "bob", "carol"):
        name = "pu%s%d" % (who, os.getpid())
        out[who] = User.register(stack, name)
    return out


def assert_error(status_resp, status, errcode):
    got, resp = status_resp
    assert (got, (resp or {}).get("errcode")) == (status, errcode), resp


def room_of(owner, *others, **create):
    """A new room of owner that every one of others has joined."""
    room = owner.create_room(**dict({"preset": "private_chat"}, **create))
    for u in others:
        owner.room_post(room, "invite", u.user_id)
        u.join(room)
    return room


def sync(user, since=None, filt=None, timeout=0):
    path = "/sync?timeout=%d" % timeout
    if since:
        path += "&since=" + q(since)
    if filt is not None:
        path += "&filter=" + q(json.dumps(filt))
    return user.ok("GET", path)


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
    room = room_of(alice, bob, carol)

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
    fr = alice.ok("GET", "/user/%s/rooms/%s/account_data/m.fully_read" %
                  (q(alice.user_id), q(room)))
    assert fr == {"event_id": third}
    assert any(isinstance(e, nio.FullyReadEvent) and e.event_id == third
               for e in resp.rooms.join[room].account_data)


def test_own_messages_and_notices_do_not_count(stack, people):
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    room = room_of(alice, bob, carol)
    base = sync(alice)
    bob.send_text(room, "a notice", msgtype="m.notice")
    alice.send_text(room, "mine")
    resp = sync(alice, base["next_batch"])
    assert counts(resp, room) == (0, 0)
    # Bob's own sync: alice's message counts for him, his notice does not.
    assert counts(sync(bob), room) == (1, 0)
    # Sending reads up to the message sent: bob's count falls to 0.
    bob.send_text(room, "bob speaks")
    assert counts(sync(bob), room) == (0, 0)


def test_private_receipt_resets_counts(stack, people):
    alice, bob = people["alice"], people["bob"]
    room = room_of(alice, bob)
    eid = bob.send_text(room, "hi")
    base = sync(alice)
    # Two members: .m.rule.room_one_to_one.
    assert counts(base, room) == (1, 0)
    alice.ok("POST", "/rooms/%s/receipt/m.read.private/%s" % (q(room), q(eid)), {})
    resp = sync(alice, base["next_batch"])
    assert counts(resp, room) == (0, 0)
    # A public receipt behind the private one does not make anything unread.
    older = bob.send_text(room, "again")
    alice.ok("POST", "/rooms/%s/receipt/m.read/%s" % (q(room), q(eid)), {})
    assert counts(sync(alice), room) == (1, 0)
    alice.ok("POST", "/rooms/%s/receipt/m.read/%s" % (q(room), q(older)), {})
    assert counts(sync(alice), room) == (0, 0)


def test_highlight_on_mentions(stack, people):
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    # Membership events carry the profile's display name: set it first.
    alice.ok("PUT", "/profile/%s/displayname" % q(alice.user_id),
             {"displayname": "Alice Pushtest"})
    room = room_of(alice, bob, carol)
    base = sync(alice)
    # Spec: .m.rule.is_user_mention: the user ID in m.mentions.
    bob.send_text(room, "hey you", **{"m.mentions": {"user_ids": [alice.user_id]}})
    bob.send_text(room, "not you", **{"m.mentions": {"user_ids": [carol.user_id]}})
    resp = sync(alice, base["next_batch"])
    assert counts(resp, room) == (2, 1)
    # A room mention needs the power to notify the room (50 by default).
    bob.send_text(room, "@room", **{"m.mentions": {"room": True}})
    assert counts(sync(alice, resp["next_batch"]), room) == (3, 1)
    # Alice created the room: she has the power.  Bob's own messages read
    # everything before them, so only hers counts for him.
    alice.send_text(room, "@room", **{"m.mentions": {"room": True}})
    assert counts(sync(bob), room) == (1, 1)
    # The display name: legacy body rules left the spec in v1.17, so a
    # user rule with the contains_display_name condition asks for it.
    alice.ok("PUT", "/pushrules/global/override/dn", {
        "conditions": [{"kind": "contains_display_name"}],
        "actions": ["notify", {"set_tweak": "highlight"}]})
    try:
        bob.send_text(room, "what does alice pushtest think?")
        bob.send_text(room, "alice pushtests are rare")
        # Alice's own message above read the rest.
        assert counts(sync(alice), room) == (2, 1)
    finally:
        alice.ok("DELETE", "/pushrules/global/override/dn")


def test_invite_notifies_the_invitee(stack, people):
    alice, carol = people["alice"], people["carol"]
    room = alice.ok("POST", "/createRoom", {"preset": "private_chat"})["room_id"]
    alice.ok("POST", "/rooms/%s/invite" % q(room), {"user_id": carol.user_id})
    notifs = carol.ok("GET", "/notifications")["notifications"]
    assert notifs and notifs[0]["room_id"] == room
    assert notifs[0]["event"]["type"] == "m.room.member"
    assert notifs[0]["event"]["state_key"] == carol.user_id
    assert "notify" in notifs[0]["actions"]


# -- receipts ---------------------------------------------------------------

def test_receipts_reach_other_members_private_ones_do_not(stack, people):
    alice, bob = people["alice"], people["bob"]
    room = room_of(alice, bob)
    e1 = alice.send_text(room, "first")
    e2 = alice.send_text(room, "second")
    base = sync(alice)

    async def go(b):
        return await b.update_receipt_marker(room, e1)
    resp = nio_clients(stack, [bob], go)
    assert isinstance(resp, nio.UpdateReceiptMarkerResponse), resp
    bob.ok("POST", "/rooms/%s/receipt/m.read.private/%s" % (q(room), q(e2)), {})
    seen = receipts(sync(alice, base["next_batch"]), room)
    assert (e1, "m.read", bob.user_id) in seen
    assert isinstance(seen[(e1, "m.read", bob.user_id)]["ts"], int)
    assert "thread_id" not in seen[(e1, "m.read", bob.user_id)]
    assert not any(k[1] == "m.read.private" for k in seen)
    # The owner sees both; an initial sync carries them too.
    mine = receipts(sync(bob), room)
    assert (e1, "m.read", bob.user_id) in mine
    assert (e2, "m.read.private", bob.user_id) in mine
    assert not any(k[1] == "m.read.private" for k in receipts(sync(alice), room))

    # matrix-nio reads them as ReceiptEvents.
    async def view(a):
        r = await synced(a)
        out = []
        for ev in r.rooms.join[room].ephemeral:
            if isinstance(ev, nio.ReceiptEvent):
                out += [(x.event_id, x.receipt_type, x.user_id) for x in ev.receipts]
        return out
    assert (e1, "m.read", bob.user_id) in nio_clients(stack, [alice], view)


def test_threaded_receipt(stack, people):
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    room = room_of(alice, bob, carol)
    root = bob.send_text(room, "root")
    reply = bob.send_text(room, "in thread",
                          **{"m.relates_to": {"rel_type": "m.thread", "event_id": root}})
    filt = {"room": {"timeline": {"unread_thread_notifications": True}}}
    resp = sync(alice, filt=filt)
    r = resp["rooms"]["join"][room]
    assert r["unread_notifications"] == {"notification_count": 1, "highlight_count": 0}
    assert r["unread_thread_notifications"] == {
        root: {"notification_count": 1, "highlight_count": 0}}
    # Without the filter flag, one count for the room.
    assert counts(sync(alice), room) == (2, 0)
    alice.ok("POST", "/rooms/%s/receipt/m.read/%s" % (q(room), q(reply)),
             {"thread_id": root})
    resp = sync(alice, filt=filt)
    r = resp["rooms"]["join"][room]
    assert r["unread_notifications"]["notification_count"] == 1
    assert "unread_thread_notifications" not in r
    seen = receipts(resp, room)
    assert seen[(reply, "m.read", alice.user_id)]["thread_id"] == root
    alice.ok("POST", "/rooms/%s/receipt/m.read/%s" % (q(room), q(root)),
             {"thread_id": "main"})
    assert counts(sync(alice), room) == (0, 0)


def test_receipt_errors(stack, people):
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    room = room_of(alice, bob)
    eid = bob.send_text(room, "x")
    def path(rtype, eid):
        return "/rooms/%s/receipt/%s/%s" % (q(room), rtype, eid)
    assert_error(alice.call("POST", path("m.nope", q(eid)), {}), 400,
                 "M_INVALID_PARAM")
    assert_error(alice.call("POST", path("m.read", q("$nope")), {}), 404,
                 "M_NOT_FOUND")
    assert_error(carol.call("POST", path("m.read", q(eid)), {}), 403,
                 "M_FORBIDDEN")
    assert_error(alice.call("POST", path("m.read", q(eid)), {"thread_id": ""}),
                 400, "M_INVALID_PARAM")
    assert_error(alice.call("POST", path("m.read", q(eid)), {"thread_id": 5}),
                 400, "M_INVALID_PARAM")
    assert_error(alice.call("POST", path("m.fully_read", q(eid)),
                            {"thread_id": "main"}), 400, "M_INVALID_PARAM")
    other = room_of(bob)
    foreign = bob.send_text(other, "elsewhere")
    assert_error(alice.call("POST", path("m.read", q(foreign)), {}), 404,
                 "M_NOT_FOUND")
    assert_error(alice.call("POST", "/rooms/%s/read_markers" % q(room),
                            {"m.fully_read": 3}), 400, "M_INVALID_PARAM")
    # The receipt endpoint takes m.fully_read as /read_markers does.
    alice.ok("POST", path("m.fully_read", q(eid)), {})
    assert alice.ok("GET", "/user/%s/rooms/%s/account_data/m.fully_read" %
                    (q(alice.user_id), q(room))) == {"event_id": eid}
    # Clients may not set it themselves.
    status, _ = alice.call("PUT", "/user/%s/rooms/%s/account_data/m.fully_read" %
                           (q(alice.user_id), q(room)), {"event_id": eid})
    assert status >= 400


# -- push rules -------------------------------------------------------------

def test_default_rules(stack, people):
    alice = people["alice"]
    rs = alice.ok("GET", "/pushrules/")["global"]
    assert rs == alice.ok("GET", "/pushrules/global/")
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
    invite = alice.ok("GET", "/pushrules/global/override/.m.rule.invite_for_me")
    assert {"kind": "event_match", "key": "state_key",
            "pattern": alice.user_id} in invite["conditions"]
    mention = alice.ok("GET", "/pushrules/global/override/.m.rule.is_user_mention")
    assert mention["conditions"] == [{"kind": "event_property_contains",
                                      "key": "content.m\\.mentions.user_ids",
                                      "value": alice.user_id}]
    assert_error(alice.call("GET", "/pushrules/global/override/nope"), 404,
                 "M_NOT_FOUND")
    assert_error(alice.call("GET", "/pushrules/global/bogus/x"), 400,
                 "M_INVALID_PARAM")
    # The legacy body rules, where v1.16 and Synapse place them.
    assert ids.index(".m.rule.contains_display_name") == ids.index(".m.rule.is_user_mention") + 1
    assert ids.index(".m.rule.roomnotif") == ids.index(".m.rule.is_room_mention") + 1
    assert rs["content"] == [{
        "rule_id": ".m.rule.contains_user_name", "default": True, "enabled": True,
        "pattern": alice.user_id[1:].split(":")[0],
        "actions": ["notify", {"set_tweak": "sound", "value": "default"},
                    {"set_tweak": "highlight"}]}]


def test_body_mention_in_a_muted_room(stack, people):
    """A room muted with a room rule still highlights a message that names the
    user in its body (.m.rule.contains_user_name comes before room rules), as
    Synapse does for senders without m.mentions (SyTest 61push "Don't get pushed
    for rooms you've muted"); with m.mentions the body is not looked at."""
    alice, bob = people["alice"], people["bob"]
    room = room_of(alice, bob)
    alice.ok("PUT", "/pushrules/global/room/" + q(room), {"actions": ["dont_notify"]})
    # A display name that is not in the bodies below, so the content rule decides.
    alice.ok("PUT", "/profile/%s/displayname" % q(alice.user_id), {"displayname": "Zed Q"})
    base = sync(alice)
    bob.send_text(room, "nobody named")
    assert counts(sync(alice, base["next_batch"]), room) == (0, 0)
    bob.send_text(room, "hello " + alice.user_id)
    resp = sync(alice, base["next_batch"])
    assert counts(resp, room) == (1, 1)
    bob.send_text(room, "hello " + alice.user_id, **{"m.mentions": {}})
    assert counts(sync(alice, base["next_batch"]), room) == (1, 1)
    bob.send_text(room, "hi Zed Q", **{"m.mentions": {"user_ids": [alice.user_id]}})
    assert counts(sync(alice, base["next_batch"]), room) == (2, 2)


def test_push_rules_crud_and_effect(stack, people):
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    room = room_of(alice, bob, carol)
    base = sync(alice)
    rule = "/pushrules/global/override/mute%d" % os.getpid()
    # Spec example: a rule that stops notifications for one room.
    alice.ok("PUT", rule, {
        "conditions": [{"kind": "event_match", "key": "room_id", "pattern": room}],
        "actions": ["dont_notify"]})
    got = alice.ok("GET", rule)
    assert got == {"rule_id": "mute%d" % os.getpid(), "default": False, "enabled": True,
                   "conditions": [{"kind": "event_match", "key": "room_id", "pattern": room}],
                   "actions": ["dont_notify"]}
    ids = [r["rule_id"] for r in alice.ok("GET", "/pushrules/global/")["override"]]
    assert ids[:2] == [".m.rule.master", "mute%d" % os.getpid()]
    # The change reaches alice's clients as m.push_rules account data.
    resp = sync(alice, base["next_batch"])
    pr = [e for e in resp["account_data"]["events"] if e["type"] == "m.push_rules"]
    assert pr and pr[-1]["content"]["global"]["override"][1]["rule_id"] == \
        "mute%d" % os.getpid()
    bob.send_text(room, "muted")
    bob.send_text(room, "still muted")
    resp = sync(alice, resp["next_batch"])
    assert counts(resp, room) == (0, 0)
    # Disabled, the rule lets the defaults notify again.
    alice.ok("PUT", rule + "/enabled", {"enabled": False})
    assert alice.ok("GET", rule + "/enabled") == {"enabled": False}
    bob.send_text(room, "loud")
    assert counts(sync(alice, resp["next_batch"]), room) == (1, 0)
    alice.ok("PUT", rule + "/enabled", {"enabled": True})
    alice.ok("PUT", rule + "/actions", {"actions": ["notify",
                                                     {"set_tweak": "highlight"}]})
    assert alice.ok("GET", rule + "/actions") == {
        "actions": ["notify", {"set_tweak": "highlight"}]}
    bob.send_text(room, "now highlighted")
    assert counts(sync(alice), room) == (2, 1)
    alice.ok("DELETE", rule)
    assert_error(alice.call("GET", rule), 404, "M_NOT_FOUND")
    assert_error(alice.call("DELETE", rule), 404, "M_NOT_FOUND")


def test_push_rule_order_and_errors(stack, people):
    carol = people["carol"]
    base = "/pushrules/global/content/"
    for rid in ("a", "b"):
        carol.ok("PUT", base + rid, {"pattern": "cake", "actions": ["notify"]})
    order = lambda: [r["rule_id"] for r in  # noqa: E731
                     carol.ok("GET", "/pushrules/global/")["content"] if not r["default"]]
    # Spec: a new rule is the most important of its kind.
    assert order() == ["b", "a"]
    carol.ok("PUT", base + "c?before=a", {"pattern": "x", "actions": []})
    assert order() == ["b", "c", "a"]
    carol.ok("PUT", base + "d?after=b", {"pattern": "x", "actions": []})
    assert order() == ["b", "d", "c", "a"]
    # An update in place keeps the place.
    carol.ok("PUT", base + "c", {"pattern": "y", "actions": ["notify"]})
    assert order() == ["b", "d", "c", "a"]
    assert carol.ok("GET", base + "c")["pattern"] == "y"
    assert_error(carol.call("PUT", base + "e?before=nope",
                            {"pattern": "x", "actions": []}), 400, "M_UNKNOWN")
    assert_error(carol.call("PUT", base + "e?after=.m.rule.master",
                            {"pattern": "x", "actions": []}), 400, "M_UNKNOWN")
    assert_error(carol.call("PUT", base + "e", {"actions": []}), 400,
                 "M_MISSING_PARAM")
    assert_error(carol.call("PUT", base + "e", {"pattern": "x"}), 400,
                 "M_MISSING_PARAM")
    assert_error(carol.call("PUT", base + "e", {"pattern": "x", "actions": ["ring"]}),
                 400, "M_INVALID_PARAM")
    assert_error(carol.call("PUT", base + ".mine", {"pattern": "x", "actions": []}),
                 400, "M_INVALID_PARAM")
    assert_error(carol.call("PUT", "/pushrules/global/override/a%5Cb",
                            {"actions": []}), 400, "M_INVALID_PARAM")
    assert_error(carol.call("PUT", "/pushrules/global/override/x",
                            {"actions": [], "conditions": {}}), 400, "M_INVALID_PARAM")
    # Server-default rules: disabled or given actions, never deleted.
    assert_error(carol.call("DELETE", "/pushrules/global/override/.m.rule.master"),
                 400, "M_INVALID_PARAM")
    assert_error(carol.call("DELETE", "/pushrules/global/override/.m.rule.nope"),
                 404, "M_NOT_FOUND")
    assert_error(carol.call("PUT", "/pushrules/global/override/.m.rule.nope/enabled",
                            {"enabled": True}), 404, "M_NOT_FOUND")
    assert_error(carol.call("PUT", "/pushrules/global/override/.m.rule.master/enabled",
                            {}), 400, "M_MISSING_PARAM")
    carol.ok("PUT", "/pushrules/global/underride/.m.rule.message/actions",
             {"actions": ["notify", {"set_tweak": "sound", "value": "bing"}]})
    msg = carol.ok("GET", "/pushrules/global/underride/.m.rule.message")
    assert msg["default"] is True
    assert msg["actions"] == ["notify", {"set_tweak": "sound", "value": "bing"}]
    carol.ok("PUT", "/pushrules/global/underride/.m.rule.message/actions",
             {"actions": ["notify"]})
    for rid in ("a", "b", "c", "d"):
        carol.ok("DELETE", base + rid)
    assert order() == []


def test_master_rule_silences_everything(stack, people):
    alice, bob = people["alice"], people["bob"]
    room = room_of(bob, alice)
    master = "/pushrules/global/override/.m.rule.master/enabled"
    alice.ok("PUT", master, {"enabled": True})
    try:
        bob.send_text(room, "you will not hear this",
                      **{"m.mentions": {"user_ids": [alice.user_id]}})
        assert counts(sync(alice), room) == (0, 0)
    finally:
        alice.ok("PUT", master, {"enabled": False})
    bob.send_text(room, "but this")
    assert counts(sync(alice), room) == (1, 0)


# -- notifications ------------------------------------------------------------

def test_notifications_list(stack, people):
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    room = room_of(carol, bob, alice)
    plain = bob.send_text(room, "plain")
    loud = bob.send_text(room, "loud", **{"m.mentions": {"user_ids": [carol.user_id]}})
    got = carol.ok("GET", "/notifications?limit=2")
    n = got["notifications"]
    assert [x["event"]["event_id"] for x in n] == [loud, plain]
    assert n[0]["room_id"] == room and n[0]["read"] is False
    assert isinstance(n[0]["ts"], int)
    assert {"set_tweak": "highlight"} in n[0]["actions"] and "notify" in n[0]["actions"]
    assert n[1]["actions"] == ["notify"]
    assert n[0]["event"]["content"]["body"] == "loud"
    highlights = carol.ok("GET", "/notifications?only=highlight")["notifications"]
    assert [x["event"]["event_id"] for x in highlights][:1] == [loud]
    assert all({"set_tweak": "highlight"} in x["actions"] for x in highlights)
    # Paging goes on from next_token.
    page = carol.ok("GET", "/notifications?limit=1")
    assert [x["event"]["event_id"] for x in page["notifications"]] == [loud]
    page2 = carol.ok("GET", "/notifications?limit=1&from=" + q(page["next_token"]))
    assert [x["event"]["event_id"] for x in page2["notifications"]] == [plain]
    carol.ok("POST", "/rooms/%s/receipt/m.read/%s" % (q(room), q(loud)), {})
    n = carol.ok("GET", "/notifications?limit=2")["notifications"]
    assert [x["read"] for x in n] == [True, True]
    assert_error(carol.call("GET", "/notifications?from=zz"), 400, "M_INVALID_PARAM")


# -- pushers ------------------------------------------------------------------

def test_pushers(stack, people):
    alice, bob = people["alice"], people["bob"]
    key = "pk%d" % os.getpid()
    pusher = {"kind": "http", "app_id": "org.example.app", "pushkey": key,
              "app_display_name": "Example", "device_display_name": "Phone",
              "profile_tag": "tag", "lang": "en",
              "data": {"url": "https://push.example.org/_matrix/push/v1/notify",
                       "format": "event_id_only"}}
    alice.ok("POST", "/pushers/set", pusher)
    got = alice.ok("GET", "/pushers")["pushers"]
    assert got == [{k: v for k, v in pusher.items()}]
    # Set again: replaced, not added.
    alice.ok("POST", "/pushers/set", dict(pusher, lang="de"))
    got = alice.ok("GET", "/pushers")["pushers"]
    assert len(got) == 1 and got[0]["lang"] == "de"
    # Without append, the same key taken by bob leaves alice.
    bob.ok("POST", "/pushers/set", dict(pusher, append=True))
    assert len(alice.ok("GET", "/pushers")["pushers"]) == 1
    bob.ok("POST", "/pushers/set", pusher)
    assert alice.ok("GET", "/pushers")["pushers"] == []
    assert len(bob.ok("GET", "/pushers")["pushers"]) == 1
    bob.ok("POST", "/pushers/set", {"kind": None, "app_id": "org.example.app",
                                    "pushkey": key})
    assert bob.ok("GET", "/pushers")["pushers"] == []
    # Errors.
    bad = dict(pusher, data={"format": "event_id_only"})
    assert_error(alice.call("POST", "/pushers/set", bad), 400, "M_MISSING_PARAM")
    bad = dict(pusher, data={"url": "https://push.example.org/elsewhere"})
    assert_error(alice.call("POST", "/pushers/set", bad), 400, "M_INVALID_PARAM")
    bad = {k: v for k, v in pusher.items() if k not in ("lang", "data")}
    status, resp = alice.call("POST", "/pushers/set", bad)
    assert (status, resp["errcode"]) == (400, "M_MISSING_PARAM")
    assert "lang" in resp["error"] and "data" in resp["error"]
    assert_error(alice.call("POST", "/pushers/set", dict(pusher, kind="carrier")),
                 400, "M_INVALID_PARAM")
    assert_error(alice.call("POST", "/pushers/set", dict(pusher, pushkey="k" * 513)),
                 400, "M_INVALID_PARAM")
    assert_error(alice.call("POST", "/pushers/set", {"kind": "http"}), 400,
                 "M_MISSING_PARAM")
    email = dict(pusher, kind="email", app_id="m.email", pushkey="alice@example.org",
                 data={})
    alice.ok("POST", "/pushers/set", email)
    assert [p["kind"] for p in alice.ok("GET", "/pushers")["pushers"]] == ["email"]


def test_evaluation_follows_state_and_members(stack, people):
    """What evaluation reads of a room (members, display names, their number)
    is kept between messages by each handler process (lib/push/event.c), and
    must follow every change of the room's state at once: a new display name,
    a redacted membership event, a member who joins."""
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    room = room_of(alice, bob)
    member = "/rooms/%s/state/m.room.member/%s" % (q(room), q(alice.user_id))
    me = alice.ok("GET", member)
    alice.ok("PUT", member, dict(me, displayname="Quokka One"))
    # Alice's own events read everything before them: count from here.
    bob.send_text(room, "warm up the handler")
    bob.send_text(room, "hi quokka one")
    assert counts(sync(alice), room) == (2, 1)
    alice.ok("PUT", member, dict(me, displayname="Wombat Two"))
    bob.send_text(room, "hi quokka one")
    assert counts(sync(alice), room) == (1, 0)
    bob.send_text(room, "hi wombat two")
    assert counts(sync(alice), room) == (2, 1)
    # A redacted membership event has no display name left to match.
    eid = [e["event_id"] for e in alice.ok("GET", "/rooms/%s/state" % q(room))
           if e["type"] == "m.room.member" and e["state_key"] == alice.user_id][0]
    alice.ok("PUT", "/rooms/%s/redact/%s/r%d" % (q(room), q(eid), os.getpid()),
             {"reason": "test"})
    alice.send_text(room, "reads the rest")
    bob.send_text(room, "hi wombat two")
    assert counts(sync(alice), room) == (1, 0)
    # A member who joins is evaluated for the next message.
    alice.room_post(room, "invite", carol.user_id)
    carol.join(room)
    bob.send_text(room, "hello everyone")
    assert counts(sync(carol), room) == (1, 0)


def test_evaluation_follows_another_process(stack, people):
    """The versions evaluation keeps what it read under live in the database,
    so a change made by another process is seen at the next message: here
    myelin-admin-api deactivates a member (its leave is that process's
    write), and the member count the default rules read falls to two, where
    .m.rule.room_one_to_one adds a sound."""
    alice, bob = people["alice"], people["bob"]
    dave = User.register(stack, "pudave%d" % os.getpid())
    admin = User(stack, admin_login(stack, "puadm%d" % os.getpid(), "pw-puadm"))
    room = room_of(alice, bob, dave)
    bob.send_text(room, "three of us")
    bob.send_text(room, "still three")
    n = alice.ok("GET", "/notifications?limit=1")["notifications"]
    assert n[0]["event"]["content"]["body"] == "still three" and n[0]["actions"] == ["notify"]
    status, body = admin.call("POST", "/_synapse/admin/v1/deactivate/" + q(dave.user_id), {})
    assert status == 200, body
    assert alice.membership(room, dave.user_id) == "leave"
    bob.send_text(room, "two of us")
    n = alice.ok("GET", "/notifications?limit=1")["notifications"]
    assert n[0]["event"]["content"]["body"] == "two of us"
    assert {"set_tweak": "sound", "value": "default"} in n[0]["actions"], n[0]
