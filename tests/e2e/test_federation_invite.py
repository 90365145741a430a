"""Invites across servers, with a Python "remote server" (test_federation_in.py's
FedRemote): an invite from the remote to a room unknown here is taken over
/v2/invite and /v1/invite, co-signed and shown in the invitee's /sync with the
stripped state the remote gave; the invites a server must refuse are refused;
rejecting it while the remote does not answer still leaves the room here; and
an invite of the remote's user is sent, through v1 when v2 is not served, the
remote's signed copy kept, an answer of invalid JSON refused.  With Synapse
1.67 (../shared/peers/synapse; skipped, saying so, without it): a Synapse
user's invite reaches a myelin user, who joins or rejects it, and redactions
cross both ways."""
import json
import time
import uuid

from conftest import User, q
from test_federation_in import F1, F2, Joined, remote, finish, send  # noqa: F401 (fixtures)
from test_federation_keys import (  # noqa: F401 (fixtures)
    ca, canonical, fstack, synapse, synapse_client, synapse_user)
from test_federation_out import synapse_sees


def new_room(remote):  # noqa: F811
    """A room of the remote's, version 10: its create event, creator's join,
    and an invite event template for user."""
    creator = remote.user("c" + uuid.uuid4().hex[:8])
    room = "!%s:%s" % (uuid.uuid4().hex[:12], remote.name)
    now = int(time.time() * 1000)
    create, cid = remote.sign({
        "type": "m.room.create", "state_key": "", "room_id": room, "sender": creator,
        "content": {"creator": creator, "room_version": "10"}, "origin": remote.name,
        "origin_server_ts": now, "depth": 1, "prev_events": [], "auth_events": []})
    join, jid = remote.sign({
        "type": "m.room.member", "state_key": creator, "room_id": room, "sender": creator,
        "content": {"membership": "join"}, "origin": remote.name, "origin_server_ts": now,
        "depth": 2, "prev_events": [cid], "auth_events": [cid]})
    return room, creator, cid, jid


def invite_event(remote, room, creator, cid, jid, user_id, version="10"):  # noqa: F811
    return remote.sign({
        "type": "m.room.member", "state_key": user_id, "room_id": room, "sender": creator,
        "content": {"membership": "invite"}, "origin": remote.name,
        "origin_server_ts": int(time.time() * 1000), "depth": 3, "prev_events": [jid],
        "auth_events": [cid, jid]})


def invite_v2(fstack, remote, room, ev, eid, version="10", irs=None):  # noqa: F811
    return remote.call(fstack, "PUT", "%s/invite/%s/%s" % (F2, q(room), q(eid)), {
        "event": ev, "room_version": version, "invite_room_state": irs or []})


def sync_rooms(user, section, since=None):
    status, body = user.sync(since=since)
    assert status == 200, body
    return body.get("rooms", {}).get(section, {}), body["next_batch"]


def test_inbound_v2_invite_shows_in_sync(fstack, remote):  # noqa: F811
    alice = User.register(fstack, "a" + uuid.uuid4().hex[:8])
    room, creator, cid, jid = new_room(remote)
    ev, eid = invite_event(remote, room, creator, cid, jid, alice.user_id)
    irs = [{"type": "m.room.name", "state_key": "", "sender": creator,
            "content": {"name": "Over there"}},
           {"type": "m.room.join_rules", "state_key": "", "sender": creator,
            "content": {"join_rule": "invite"}}]
    status, got = invite_v2(fstack, remote, room, ev, eid, irs=irs)
    assert status == 200, got
    # The event answered is the one sent, with our signature added.
    assert got["event"]["state_key"] == alice.user_id
    assert fstack.server_name in got["event"]["signatures"]
    assert remote.name in got["event"]["signatures"]
    inv, _ = sync_rooms(alice, "invite")
    assert room in inv, inv
    state = inv[room]["invite_state"]["events"]
    assert {"type": "m.room.name", "state_key": "", "sender": creator,
            "content": {"name": "Over there"}} in state
    me = [e for e in state if e["type"] == "m.room.member" and e["state_key"] == alice.user_id]
    assert me and me[0]["content"]["membership"] == "invite" and me[0]["sender"] == creator
    # Sent again: the same answer, nothing new.
    status, again = invite_v2(fstack, remote, room, ev, eid, irs=irs)
    assert status == 200, again


def test_inbound_v1_invite_answers_wrapped(fstack, remote):  # noqa: F811
    alice = User.register(fstack, "a" + uuid.uuid4().hex[:8])
    creator = remote.user("c" + uuid.uuid4().hex[:8])
    room = "!%s:%s" % (uuid.uuid4().hex[:12], remote.name)
    # Room version 1: event IDs are the events' own.
    ev, _ = finish({
        "type": "m.room.member", "state_key": alice.user_id, "room_id": room,
        "sender": creator, "content": {"membership": "invite"}, "origin": remote.name,
        "event_id": "$inv1:" + remote.name, "origin_server_ts": int(time.time() * 1000),
        "depth": 3, "prev_events": [], "auth_events": []}, remote.name, remote.key,
        remote.key_id)
    status, got = remote.call(fstack, "PUT", "%s/invite/%s/%s" % (
        F1, q(room), q(ev["event_id"])), ev)
    assert status == 200, got
    assert isinstance(got, list) and got[0] == 200, got
    assert got[1]["event"]["event_id"] == ev["event_id"]
    assert fstack.server_name in got[1]["event"]["signatures"]
    inv, _ = sync_rooms(alice, "invite")
    assert room in inv, inv


def test_inbound_invite_refusals(fstack, remote):  # noqa: F811
    alice = User.register(fstack, "a" + uuid.uuid4().hex[:8])
    room, creator, cid, jid = new_room(remote)
    ev, eid = invite_event(remote, room, creator, cid, jid, alice.user_id)
    # Not signed by the sender's server.
    bare = dict(ev, signatures={})
    status, got = invite_v2(fstack, remote, room, bare, eid)
    assert (status, got["errcode"]) == (403, "M_FORBIDDEN"), got
    # A room version not supported here.
    status, got = invite_v2(fstack, remote, room, ev, eid, version="999")
    assert (status, got["errcode"]) == (400, "M_INCOMPATIBLE_ROOM_VERSION"), got
    assert got["room_version"] == "999"
    # An invite of another server's user, or by another server's.
    other, oid = invite_event(remote, room, creator, cid, jid, "@x:elsewhere.example")
    status, got = invite_v2(fstack, remote, room, other, oid)
    assert (status, got["errcode"]) == (403, "M_FORBIDDEN"), got
    forged, fid = invite_event(remote, room, "@c:elsewhere.example", cid, jid, alice.user_id)
    status, got = invite_v2(fstack, remote, room, forged, fid)
    assert (status, got["errcode"]) == (403, "M_FORBIDDEN"), got
    # A float (not canonical JSON, room version 6 and later), in a request
    # whose X-Matrix signature holds: 400 M_BAD_JSON, not 401, as Synapse.
    status, got = invite_v2(fstack, remote, room, dict(ev, bad_val=1.1), eid)
    assert (status, got["errcode"]) == (400, "M_BAD_JSON"), got
    # The event ID of the path is not the event's.
    status, got = invite_v2(fstack, remote, room, ev, "$not-it")
    assert (status, got["errcode"]) == (400, "M_BAD_JSON"), got
    # None of these made an invite.
    inv, _ = sync_rooms(alice, "invite")
    assert room not in inv


def test_reject_remote_invite_when_remote_does_not_answer(fstack, remote):  # noqa: F811
    """make_leave finds no resident (the remote answers 404): the rejection is
    a leave made here, and the room moves from invite to leave in /sync."""
    alice = User.register(fstack, "a" + uuid.uuid4().hex[:8])
    room, creator, cid, jid = new_room(remote)
    ev, eid = invite_event(remote, room, creator, cid, jid, alice.user_id)
    status, got = invite_v2(fstack, remote, room, ev, eid)
    assert status == 200, got
    inv, since = sync_rooms(alice, "invite")
    assert room in inv
    status, got = alice.call("POST", "/rooms/%s/leave" % q(room), {})
    assert status == 200, got
    left, _ = sync_rooms(alice, "leave", since=since)
    assert room in left, left
    tl = left[room]["timeline"]["events"]
    assert tl and tl[-1]["type"] == "m.room.member" and tl[-1]["sender"] == alice.user_id
    assert tl[-1]["content"]["membership"] == "leave"
    inv, _ = sync_rooms(alice, "invite")
    assert room not in inv


class InviteAnswer:
    """What the remote answers to PUT /v2/invite and /v1/invite."""

    def __init__(self, remote, mode):  # noqa: F811
        self.remote, self.mode, self.got = remote, mode, []

    def __call__(self, h):
        n = int(h.headers.get("Content-Length") or 0)
        body = json.loads(h.rfile.read(n) or b"{}")
        self.got.append((h.path, body))
        v2 = h.path.startswith(F2 + "/invite/")
        if v2 and self.mode == "v1":
            return answer(h, 404, {"errcode": "M_UNRECOGNIZED", "error": "no"})
        ev = dict(body["event"] if v2 else body)
        sig = self.remote.sign(ev)[0]["signatures"][self.remote.name]
        ev.setdefault("signatures", {})[self.remote.name] = sig
        if self.mode == "badjson":
            ev["bad_val"] = 1.1
            return answer(h, 200, {"event": ev}, raw=True)
        return answer(h, 200, [200, {"event": ev}] if not v2 else {"event": ev})


def answer(h, status, obj, raw=False):
    body = json.dumps(obj).encode() if raw else canonical(obj)
    h.send_response(status)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


def outbound_invite(fstack, remote, mode):  # noqa: F811
    alice = User.register(fstack, "a" + uuid.uuid4().hex[:8])
    room = alice.create_room(preset="private_chat")
    bob = remote.user("b" + uuid.uuid4().hex[:8])
    a = InviteAnswer(remote, mode)
    remote.httpd.RequestHandlerClass.do_PUT = lambda h: a(h)
    try:
        status, got = alice.call("POST", "/rooms/%s/invite" % q(room), {"user_id": bob})
    finally:
        del remote.httpd.RequestHandlerClass.do_PUT
    return alice, room, bob, a, status, got


def test_outbound_invite_keeps_the_invitee_servers_copy(fstack, remote):  # noqa: F811
    alice, room, bob, a, status, got = outbound_invite(fstack, remote, "v2")
    assert status == 200, got
    assert alice.membership(room, bob) == "invite"
    path, body = a.got[-1]
    assert path.startswith(F2 + "/invite/") and body["room_version"] == "10"
    eid = [e for e in alice.timeline(room) if e["type"] == "m.room.member" and
           e["state_key"] == bob][-1]["event_id"]
    status, got = remote.call(fstack, "GET", "%s/event/%s" % (F1, q(eid)))
    assert status == 200, got
    sigs = got["pdus"][0]["signatures"]
    assert remote.name in sigs and fstack.server_name in sigs


def test_outbound_invite_falls_back_to_v1(fstack, remote):  # noqa: F811
    alice, room, bob, a, status, got = outbound_invite(fstack, remote, "v1")
    assert status == 200, got
    assert [p.split("/")[3] for p, _ in a.got] == ["v2", "v1"]
    assert alice.membership(room, bob) == "invite"


def test_create_room_invites_a_remote_user_through_its_server(fstack, remote):  # noqa: F811
    alice = User.register(fstack, "a" + uuid.uuid4().hex[:8])
    bob = remote.user("b" + uuid.uuid4().hex[:8])
    a = InviteAnswer(remote, "v2")
    remote.httpd.RequestHandlerClass.do_PUT = lambda h: a(h)
    try:
        room = alice.create_room(preset="private_chat", invite=[bob], is_direct=True)
    finally:
        del remote.httpd.RequestHandlerClass.do_PUT
    path, body = a.got[-1]
    assert path.startswith(F2 + "/invite/%s/" % q(room)), path
    assert body["event"]["state_key"] == bob
    assert body["event"]["content"] == {"membership": "invite", "is_direct": True}
    assert alice.membership(room, bob) == "invite"


def test_outbound_invite_answer_of_invalid_json_is_refused(fstack, remote):  # noqa: F811
    alice, room, bob, a, status, got = outbound_invite(fstack, remote, "badjson")
    assert (status, got["errcode"]) == (400, "M_BAD_JSON"), got
    assert alice.membership(room, bob) is None


def wait_for(fn, deadline=60):
    end = time.time() + deadline
    while True:
        got = fn()
        if got or time.time() > end:
            return got
        time.sleep(0.2)


def synapse_invites(fstack, synapse, who):  # noqa: F811
    token = synapse_user(synapse, "inv" + uuid.uuid4().hex[:6])
    st, room = synapse_client(synapse, "POST", "/_matrix/client/v3/createRoom", token, {
        "name": "from synapse", "room_version": "10", "preset": "private_chat"})
    assert st == 200, room
    rid = room["room_id"]
    me = User.register(fstack, who + uuid.uuid4().hex[:6])
    st, body = synapse_client(synapse, "POST", "/_matrix/client/v3/rooms/%s/invite" % q(rid),
                              token, {"user_id": me.user_id})
    assert st == 200, body
    inv = wait_for(lambda: sync_rooms(me, "invite")[0].get(rid))
    assert inv, "the invite never reached /sync"
    names = [e for e in inv["invite_state"]["events"] if e["type"] == "m.room.name"]
    assert names and names[0]["content"]["name"] == "from synapse"
    return token, rid, me


def synapse_membership(synapse, token, rid, user_id):  # noqa: F811
    st, body = synapse_client(synapse, "GET", "/_matrix/client/v3/rooms/%s/state/"
                              "m.room.member/%s" % (q(rid), q(user_id)), token)
    return body.get("membership") if st == 200 else None


def test_synapse_invite_joined_and_redactions_cross(fstack, synapse):  # noqa: F811
    token, rid, me = synapse_invites(fstack, synapse, "joiner")
    st, body = me.call("POST", "/join/" + q(rid), {})
    assert st == 200, body
    assert wait_for(lambda: synapse_membership(synapse, token, rid, me.user_id) == "join")
    # Synapse's user redacts its message: myelin applies the redaction.
    st, sent = synapse_client(synapse, "PUT", "/_matrix/client/v3/rooms/%s/send/"
                              "m.room.message/m1" % q(rid), token,
                              {"msgtype": "m.text", "body": "oops"})
    assert st == 200, sent
    st, red = synapse_client(synapse, "PUT", "/_matrix/client/v3/rooms/%s/redact/%s/r1" % (
        q(rid), q(sent["event_id"])), token, {})
    assert st == 200, red

    def redacted_here():
        st, ev = me.call("GET", "/rooms/%s/event/%s" % (q(rid), q(sent["event_id"])))
        return st == 200 and ev.get("unsigned", {}).get("redacted_by") == red["event_id"] \
            and "body" not in ev["content"]
    assert wait_for(redacted_here), "the redaction from Synapse was not applied"
    # The myelin user redacts its own, by POST without a transaction ID.
    mine = me.send_text(rid, "mine")
    st, body = me.call("POST", "/rooms/%s/redact/%s" % (q(rid), q(mine)), {})
    assert st == 200 and body["event_id"].startswith("$"), body
    got = synapse_sees(synapse, token, rid, lambda e: e["event_id"] == mine and
                       "body" not in e["content"])
    assert got, "Synapse never applied the redaction"


def test_synapse_invite_rejected(fstack, synapse):  # noqa: F811
    token, rid, me = synapse_invites(fstack, synapse, "rejecter")
    _, since = sync_rooms(me, "invite")
    st, body = me.call("POST", "/rooms/%s/leave" % q(rid), {})
    assert st == 200, body
    assert wait_for(lambda: synapse_membership(synapse, token, rid, me.user_id) == "leave")
    assert rid not in sync_rooms(me, "invite")[0]
    assert rid in sync_rooms(me, "leave", since=since)[0]


def test_redaction_of_another_rooms_event_is_rejected(fstack, remote):  # noqa: F811
    """As Synapse (SyTest 39redactions.pl): a received redaction naming an
    event of another room is no redaction: not shown, nothing redacted."""
    one, two = Joined(fstack, remote), Joined(fstack, remote)
    msg, mid = remote.sign(one.message(remote, "keep me"))
    assert send(fstack, remote, [msg]) == {mid: {}}
    red = dict(two.message(remote, "x"), type="m.room.redaction", content={}, redacts=mid)
    red, rid = remote.sign(red)
    send(fstack, remote, [red])
    assert rid not in [e["event_id"] for e in two.alice.timeline(two.room)]
    st, ev = one.alice.call("GET", "/rooms/%s/event/%s" % (q(one.room), q(mid)))
    assert st == 200 and ev["content"]["body"] == "keep me", ev
    assert "redacted_by" not in ev.get("unsigned", {})


def test_erased_users_events_go_out_pruned(fstack, remote):  # noqa: F811
    """As Synapse (SyTest 32room-getevent.pl): once its sender's account is
    erased, GET /event gives other servers the event pruned."""
    j = Joined(fstack, remote)
    mid = j.alice.send_text(j.room, "secret")
    st, got = remote.call(fstack, "GET", "%s/event/%s" % (F1, q(mid)))
    assert st == 200 and got["pdus"][0]["content"]["body"] == "secret", got
    st, body = j.alice.call("POST", "/account/deactivate", {
        "erase": True, "auth": {"type": "m.login.password", "user": j.alice.user_id,
                                "password": "pw-" + j.alice.user_id[1:].split(":")[0]}})
    assert st == 200, body
    st, got = remote.call(fstack, "GET", "%s/event/%s" % (F1, q(mid)))
    assert st == 200 and "body" not in got["pdus"][0]["content"], got


def test_unsigned_send_leave_is_forbidden(fstack, remote):  # noqa: F811
    """As Synapse (SyTest 35room-invite.pl): a leave its server did not
    sign is 403 M_FORBIDDEN, whatever else it lacks."""
    j = Joined(fstack, remote)
    st, mk = remote.call(fstack, "GET", "%s/make_leave/%s/%s" % (F1, q(j.room), q(j.bob)))
    assert st == 200, mk
    tmpl = dict(mk["event"], origin_server_ts=int(time.time() * 1000))
    ev, eid = remote.sign(tmpl)
    for bad in (dict(tmpl), dict(tmpl, signatures={remote.name: {remote.key_id: "a" * 86}})):
        st, got = remote.call(fstack, "PUT", "%s/send_leave/%s/%s" % (F1, q(j.room), q(eid)),
                              bad)
        assert (st, got["errcode"]) == (403, "M_FORBIDDEN"), got
    st, got = remote.call(fstack, "PUT", "%s/send_leave/%s/%s" % (F1, q(j.room), q(eid)), ev)
    assert st == 200 and got == [200, {}], got


def test_inbound_knock(fstack, remote):  # noqa: F811
    """make_knock/send_knock: the remote's user knocks on a local room whose
    join rule is knock; the answer has the room's stripped state."""
    alice = User.register(fstack, "a" + uuid.uuid4().hex[:8])
    room = alice.create_room(room_version="10", name="knock here",
                             initial_state=[{"type": "m.room.join_rules", "state_key": "",
                                             "content": {"join_rule": "knock"}}])
    bob = remote.user("k" + uuid.uuid4().hex[:8])
    st, mk = remote.call(fstack, "GET", "%s/make_knock/%s/%s?ver=10" % (F1, q(room), q(bob)))
    assert st == 200, mk
    assert mk["room_version"] == "10" and mk["event"]["content"]["membership"] == "knock"
    # A server that names no version of the room's is refused.
    st, got = remote.call(fstack, "GET", "%s/make_knock/%s/%s?ver=6" % (F1, q(room), q(bob)))
    assert (st, got["errcode"]) == (400, "M_INCOMPATIBLE_ROOM_VERSION"), got
    ev, eid = remote.sign(dict(mk["event"], origin_server_ts=int(time.time() * 1000)))
    st, got = remote.call(fstack, "PUT", "%s/send_knock/%s/%s" % (F1, q(room), q(eid)), ev)
    assert st == 200, got
    names = [e for e in got["knock_room_state"] if e["type"] == "m.room.name"]
    assert names and names[0]["content"]["name"] == "knock here"
    assert alice.membership(room, bob) == "knock"


def test_knock_on_a_synapse_room(fstack, synapse):  # noqa: F811
    """POST /knock of a Synapse room (version 10, join rule knock) goes
    through make_knock/send_knock; /sync shows it under rooms.knock with
    the stripped state Synapse gave; Synapse's user sees the knock and
    invites, and the knocker joins."""
    token = synapse_user(synapse, "kn" + uuid.uuid4().hex[:6])
    st, room = synapse_client(synapse, "POST", "/_matrix/client/v3/createRoom", token, {
        "name": "knock there", "room_version": "10", "initial_state": [
            {"type": "m.room.join_rules", "state_key": "", "content": {"join_rule": "knock"}}]})
    assert st == 200, room
    rid = room["room_id"]
    me = User.register(fstack, "knocker" + uuid.uuid4().hex[:6])
    st, body = me.call("POST", "/knock/%s?server_name=%s" % (
        q(rid), q(synapse["SYNAPSE_SERVER_NAME"])), {"reason": "let me in"})
    assert st == 200 and body == {"room_id": rid}, body
    kn, since = sync_rooms(me, "knock")
    assert rid in kn, kn
    names = [e for e in kn[rid]["knock_state"]["events"] if e["type"] == "m.room.name"]
    assert names and names[0]["content"]["name"] == "knock there", kn
    assert wait_for(lambda: synapse_membership(synapse, token, rid, me.user_id) == "knock")
    st, body = synapse_client(synapse, "POST", "/_matrix/client/v3/rooms/%s/invite" % q(rid),
                              token, {"user_id": me.user_id})
    assert st == 200, body
    assert wait_for(lambda: rid in sync_rooms(me, "invite", since=since)[0])
    st, body = me.call("POST", "/join/" + q(rid), {})
    assert st == 200, body
    assert wait_for(lambda: synapse_membership(synapse, token, rid, me.user_id) == "join")


def test_synapse_knocks_on_a_myelin_room(fstack, synapse):  # noqa: F811
    """A Synapse user knocks on a myelin room (make_knock/send_knock in),
    sees the room's stripped state, and the knock shows here."""
    alice = User.register(fstack, "a" + uuid.uuid4().hex[:8])
    room = alice.create_room(room_version="10", name="knock on myelin",
                             initial_state=[{"type": "m.room.join_rules", "state_key": "",
                                             "content": {"join_rule": "knock"}}])
    token = synapse_user(synapse, "sk" + uuid.uuid4().hex[:6])
    st, me = synapse_client(synapse, "GET", "/_matrix/client/v3/account/whoami", token)
    assert st == 200, me
    st, body = synapse_client(synapse, "POST", "/_matrix/client/v3/knock/%s?server_name=%s" % (
        q(room), q(fstack.server_name)), token, {})
    assert st == 200, body
    assert wait_for(lambda: alice.membership(room, me["user_id"]) == "knock")

    def knock_state():
        st, sync = synapse_client(synapse, "GET", "/_matrix/client/v3/sync?timeout=0", token)
        return st == 200 and sync.get("rooms", {}).get("knock", {}).get(room)
    kn = wait_for(knock_state)
    assert kn, "Synapse's user never saw the knock"
    assert any(e["type"] == "m.room.name" and e["content"]["name"] == "knock on myelin"
               for e in kn["knock_state"]["events"])
