"""Federation inbound: a Python "remote server" (PyNaCl keys served over
TLS on loopback, X-Matrix signed requests, events it builds and signs in
room version 10) joins a local room through make_join/send_join, sends
messages through /send that a local user's /sync shows, has a gap in its
DAG fetched with get_missing_events, and reads /state_ids and /backfill;
a forged PDU is refused, a server with no member is refused the reads,
and the room's server ACL shuts a server out."""
import base64
import hashlib
import http.server
import json
import os
import ssl
import threading
import time
import uuid

import nacl.signing
import pytest

from conftest import User, free_port, q
from test_federation_keys import b64, canonical, ca, fstack  # noqa: F401 (fixtures)

F1 = "/_matrix/federation/v1"
F2 = "/_matrix/federation/v2"

# Spec: room version 10, "Redactions": what each type's content keeps.
KEEP = {
    "m.room.member": ("membership", "join_authorised_via_users_server"),
    "m.room.create": ("creator",),
    "m.room.join_rules": ("join_rule", "allow"),
    "m.room.power_levels": ("ban", "events", "events_default", "kick", "redact",
                            "state_default", "users", "users_default"),
    "m.room.history_visibility": ("history_visibility",),
}
TOP = ("event_id", "type", "room_id", "sender", "state_key", "content", "hashes",
       "signatures", "depth", "prev_events", "prev_state", "auth_events", "origin",
       "origin_server_ts", "membership")


def redact(ev):
    out = {k: v for k, v in ev.items() if k in TOP}
    keep = KEEP.get(ev.get("type"), ())
    out["content"] = {k: v for k, v in ev.get("content", {}).items() if k in keep}
    return out


def event_id(ev):
    r = redact(ev)
    for k in ("signatures", "unsigned", "age_ts"):
        r.pop(k, None)
    return "$" + base64.urlsafe_b64encode(hashlib.sha256(canonical(r)).digest()).decode() \
        .rstrip("=")


def finish(ev, name, key, key_id):
    """Sets the content hash and signs ev as server name; its event ID."""
    ev = dict(ev)
    ev.pop("signatures", None)
    ev.pop("unsigned", None)
    ev.pop("hashes", None)
    ev["hashes"] = {"sha256": b64(hashlib.sha256(canonical(ev)).digest())}
    r = redact(ev)
    r.pop("signatures", None)
    ev["signatures"] = {name: {key_id: b64(key.sign(canonical(r)).signature)}}
    return ev, event_id(ev)


class FedRemote:
    """A remote server: keys, X-Matrix, and the federation reads myelin makes
    of it (/event, /event_auth, /state_ids, /get_missing_events) from the
    events it holds."""

    def __init__(self, ca_dir):
        self.port = free_port()
        self.name = "localhost:%d" % self.port
        self.key = nacl.signing.SigningKey.generate()
        self.key_id = "ed25519:py1"
        self.events = {}
        self.asked = []
        # Extra answers: (method, path prefix) -> fn(path, body) giving
        # (status, obj), or None to answer as below; events get_missing_events
        # does not give.
        self.routes = {}
        self.withhold = set()
        remote = self

        class H(http.server.BaseHTTPRequestHandler):
            def answer(self, status, obj):
                body = canonical(obj)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def route(self, method, body):
                for (m, prefix), fn in list(remote.routes.items()):
                    if m == method and self.path.startswith(prefix):
                        got = fn(self.path, body)
                        if got is not None:
                            self.answer(*got)
                            return True
                return False

            def do_GET(self):
                remote.asked.append(("GET", self.path))
                if self.route("GET", None):
                    return
                if self.path.startswith("/_matrix/key/v2/server"):
                    return self.answer(200, remote.key_answer())
                if self.path.startswith(F1 + "/event/"):
                    eid = urllib_unquote(self.path[len(F1 + "/event/"):])
                    if eid in remote.events:
                        return self.answer(200, {"origin": remote.name, "origin_server_ts": 0,
                                                 "pdus": [remote.events[eid]]})
                self.answer(404, {"errcode": "M_NOT_FOUND", "error": "no"})

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(n) or b"{}")
                remote.asked.append(("POST", self.path))
                if self.route("POST", body):
                    return
                if self.path.startswith(F1 + "/get_missing_events/"):
                    # Every held event between the latest and the earliest.
                    out, todo, seen = [], list(body["latest_events"]), set(body["earliest_events"])
                    while todo:
                        e = remote.events.get(todo.pop())
                        if e is None:
                            continue
                        for p in e["prev_events"]:
                            if p not in seen and p in remote.events and \
                                    p not in remote.withhold:
                                seen.add(p)
                                out.append(remote.events[p])
                                todo.append(p)
                    return self.answer(200, {"events": out[:body.get("limit", 10)]})
                self.answer(404, {"errcode": "M_NOT_FOUND", "error": "no"})

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), H)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(ca_dir, "remote.chain.crt"),
                            os.path.join(ca_dir, "remote.key"))
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def key_answer(self):
        obj = {"server_name": self.name,
               "valid_until_ts": int(time.time() * 1000) + 3600 * 1000,
               "verify_keys": {self.key_id: {"key": b64(bytes(self.key.verify_key))}},
               "old_verify_keys": {}}
        obj["signatures"] = {self.name: {self.key_id: b64(self.key.sign(canonical(obj)).signature)}}
        return obj

    def authorization(self, destination, method, uri, content=None):
        obj = {"method": method, "uri": uri, "origin": self.name, "destination": destination}
        if content is not None:
            obj["content"] = content
        sig = b64(self.key.sign(canonical(obj)).signature)
        return 'X-Matrix origin="%s",destination="%s",key="%s",sig="%s"' % (
            self.name, destination, self.key_id, sig)

    def call(self, stack, method, path, body=None):
        return stack.fed(method, path, body, authorization=self.authorization(
            stack.server_name, method, path, body))

    def sign(self, ev):
        ev, eid = finish(ev, self.name, self.key, self.key_id)
        self.events[eid] = ev
        return ev, eid

    def user(self, local):
        return "@%s:%s" % (local, self.name)

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def urllib_unquote(s):
    import urllib.parse
    return urllib.parse.unquote(s)


@pytest.fixture(scope="module")
def remote(ca):  # noqa: F811
    r = FedRemote(ca)
    yield r
    r.stop()


@pytest.fixture(scope="module")
def stranger(ca):  # noqa: F811
    r = FedRemote(ca)
    yield r
    r.stop()


class Joined:
    """A local room that the remote's user bob joined through send_join."""

    def __init__(self, fstack, remote, **create):  # noqa: F811
        self.alice = User.register(fstack, "a" + uuid.uuid4().hex[:8])
        self.room = self.alice.create_room(preset="public_chat", **create)
        self.bob = remote.user("b" + uuid.uuid4().hex[:8])
        path = "%s/make_join/%s/%s?ver=10&ver=11" % (F1, q(self.room), q(self.bob))
        status, mk = remote.call(fstack, "GET", path)
        assert status == 200, mk
        assert mk["room_version"] == "10"
        tmpl = mk["event"]
        assert tmpl["type"] == "m.room.member" and tmpl["state_key"] == self.bob
        tmpl["origin_server_ts"] = int(time.time() * 1000)
        self.join, self.join_id = remote.sign(tmpl)
        status, sj = remote.call(fstack, "PUT", "%s/send_join/%s/%s" % (
            F2, q(self.room), q(self.join_id)), self.join)
        assert status == 200, sj
        self.state = {(e["type"], e["state_key"]): event_id(e) for e in sj["state"]}
        self.auth_chain = sj["auth_chain"]
        self.tip, self.depth = self.join_id, self.join["depth"]

    def message(self, remote, text, prev=None, depth=None):
        ev = {"type": "m.room.message", "room_id": self.room, "sender": self.bob,
              "content": {"msgtype": "m.text", "body": text},
              "origin": remote.name, "origin_server_ts": int(time.time() * 1000),
              "depth": depth or self.depth + 1, "prev_events": [prev or self.tip],
              "auth_events": [self.state[("m.room.create", "")],
                              self.state[("m.room.power_levels", "")], self.join_id]}
        return ev


def send(fstack, remote, pdus, edus=None):  # noqa: F811
    txn = uuid.uuid4().hex
    body = {"origin": remote.name, "origin_server_ts": int(time.time() * 1000), "pdus": pdus}
    if edus is not None:
        body["edus"] = edus
    status, resp = remote.call(fstack, "PUT", "%s/send/%s" % (F1, txn), body)
    assert status == 200, resp
    return resp["pdus"]


def bodies(user, room):
    return [e["content"].get("body") for e in user.timeline(room)
            if e["type"] == "m.room.message"]


def test_remote_join_and_messages_reach_sync(fstack, remote):  # noqa: F811
    j = Joined(fstack, remote)
    # The state answered is the state before the join: the room's own.
    assert ("m.room.create", "") in j.state and ("m.room.member", j.alice.user_id) in j.state
    assert all("auth_events" in e for e in j.auth_chain)
    assert j.alice.membership(j.room, j.bob) == "join"
    ev, eid = remote.sign(j.message(remote, "hello from afar"))
    assert send(fstack, remote, [ev]) == {eid: {}}
    status, s = j.alice.sync()
    assert status == 200
    tl = s["rooms"]["join"][j.room]["timeline"]["events"]
    assert any(e["event_id"] == eid and e["content"]["body"] == "hello from afar" for e in tl)
    # Sent again: the same answer, nothing new.
    assert send(fstack, remote, [ev]) == {eid: {}}
    assert bodies(j.alice, j.room).count("hello from afar") == 1
    # A typing EDU from the remote's joined user shows in /sync.
    send(fstack, remote, [], [{"edu_type": "m.typing", "content": {
        "room_id": j.room, "user_id": j.bob, "typing": True}}])
    status, s = j.alice.sync()
    eph = s["rooms"]["join"][j.room]["ephemeral"]["events"]
    assert any(e["type"] == "m.typing" and j.bob in e["content"]["user_ids"] for e in eph), eph


def test_local_message_after_remote_join_builds_on_it(fstack, remote):  # noqa: F811
    j = Joined(fstack, remote)
    ev, eid = remote.sign(j.message(remote, "one"))
    assert send(fstack, remote, [ev]) == {eid: {}}
    local = j.alice.send_text(j.room, "two")
    status, got = remote.call(fstack, "GET", "%s/event/%s" % (F1, q(local)))
    assert status == 200, got
    assert got["pdus"][0]["prev_events"] == [eid]


def test_missing_prev_event_is_fetched(fstack, remote):  # noqa: F811
    j = Joined(fstack, remote)
    first, first_id = remote.sign(j.message(remote, "the gap"))
    second, second_id = remote.sign(j.message(remote, "after the gap", prev=first_id,
                                               depth=first["depth"] + 1))
    assert send(fstack, remote, [second]) == {second_id: {}}
    assert any(p.startswith(F1 + "/get_missing_events/") for _, p in remote.asked)
    assert bodies(j.alice, j.room)[-2:] == ["the gap", "after the gap"]


def test_unfillable_gap_is_refused(fstack, remote):  # noqa: F811
    """As Synapse: a live PDU whose prev events get_missing_events does not
    give is refused, and no state is asked for it."""
    j = Joined(fstack, remote)
    first, first_id = finish(j.message(remote, "withheld"), remote.name, remote.key,
                             remote.key_id)
    second, second_id = remote.sign(j.message(remote, "orphan", prev=first_id,
                                              depth=first["depth"] + 1))
    del remote.asked[:]
    assert "error" in send(fstack, remote, [second])[second_id]
    assert any(p.startswith(F1 + "/get_missing_events/") for _, p in remote.asked)
    assert not any("/state_ids/" in p for _, p in remote.asked)
    assert "orphan" not in bodies(j.alice, j.room)


def test_forged_pdu_is_refused(fstack, remote):  # noqa: F811
    j = Joined(fstack, remote)
    ev = j.message(remote, "forged")
    forger = nacl.signing.SigningKey.generate()
    ev, eid = finish(ev, remote.name, forger, remote.key_id)
    res = send(fstack, remote, [ev])
    assert "error" in res[eid]
    assert "forged" not in bodies(j.alice, j.room)
    # A message by a user who never joined is rejected by the auth rules:
    # stored for the record, {} as Synapse answers, shown to no one.
    ev = j.message(remote, "not a member")
    ev["sender"] = remote.user("nobody")
    ev, eid = remote.sign(ev)
    assert send(fstack, remote, [ev]) == {eid: {}}
    assert "not a member" not in bodies(j.alice, j.room)
    status, got = remote.call(fstack, "GET", "%s/event/%s" % (F1, q(eid)))
    assert status == 404


def test_reads_for_a_joined_server_and_not_for_another(fstack, remote, stranger):  # noqa: F811
    j = Joined(fstack, remote)
    ev, eid = remote.sign(j.message(remote, "backfill me"))
    assert send(fstack, remote, [ev]) == {eid: {}}
    status, got = remote.call(fstack, "GET", "%s/state_ids/%s?event_id=%s" % (
        F1, q(j.room), q(eid)))
    assert status == 200, got
    assert j.join_id in got["pdu_ids"] and j.state[("m.room.create", "")] in got["pdu_ids"]
    assert j.state[("m.room.create", "")] in got["auth_chain_ids"]
    status, got = remote.call(fstack, "GET", "%s/backfill/%s?v=%s&limit=3" % (
        F1, q(j.room), q(eid)))
    assert status == 200, got
    ids = [event_id(e) for e in got["pdus"]]
    assert len(ids) == 3 and ids[0] == eid and j.join_id in ids
    status, got = remote.call(fstack, "GET", "%s/event_auth/%s/%s" % (F1, q(j.room), q(eid)))
    assert status == 200 and j.join_id in [event_id(e) for e in got["auth_chain"]]
    status, got = remote.call(fstack, "POST", "%s/get_missing_events/%s" % (F1, q(j.room)), {
        "earliest_events": [j.join_id], "latest_events": [eid], "limit": 10})
    assert status == 200 and got["events"] == []
    for method, path, body in (
            ("GET", "%s/state_ids/%s?event_id=%s" % (F1, q(j.room), q(eid)), None),
            ("GET", "%s/backfill/%s?v=%s&limit=3" % (F1, q(j.room), q(eid)), None),
            ("GET", "%s/event_auth/%s/%s" % (F1, q(j.room), q(eid)), None),
            ("POST", "%s/get_missing_events/%s" % (F1, q(j.room)),
             {"earliest_events": [], "latest_events": [eid]})):
        status, got = stranger.call(fstack, method, path, body)
        assert status == 403 and got["errcode"] == "M_FORBIDDEN", (path, got)
    # An unknown room is 404.
    status, got = remote.call(fstack, "GET", "%s/state_ids/%s?event_id=%s" % (
        F1, q("!nope:" + fstack.server_name), q(eid)))
    assert status == 404 and got["errcode"] == "M_NOT_FOUND"


def test_make_join_refusals(fstack, remote):  # noqa: F811
    alice = User.register(fstack, "a" + uuid.uuid4().hex[:8])
    room = alice.create_room(preset="public_chat")
    bob = remote.user("bob")
    status, got = remote.call(fstack, "GET", "%s/make_join/%s/%s?ver=1&ver=2" % (
        F1, q(room), q(bob)))
    assert status == 400 and got["errcode"] == "M_INCOMPATIBLE_ROOM_VERSION"
    assert got["room_version"] == "10"
    # Another server's user.
    status, got = remote.call(fstack, "GET", "%s/make_join/%s/%s?ver=10" % (
        F1, q(room), q("@x:" + fstack.server_name)))
    assert status == 403 and got["errcode"] == "M_FORBIDDEN"
    # An invite-only room refuses the join.
    priv = alice.create_room(preset="private_chat")
    status, got = remote.call(fstack, "GET", "%s/make_join/%s/%s?ver=10" % (
        F1, q(priv), q(bob)))
    assert status == 403 and got["errcode"] == "M_FORBIDDEN"
    status, got = remote.call(fstack, "GET", "%s/make_join/%s/%s?ver=10" % (
        F1, q("!nope:" + fstack.server_name), q(bob)))
    assert status == 404


def test_v1_send_join_and_state_needs_event_id(fstack, remote):  # noqa: F811
    alice = User.register(fstack, "a" + uuid.uuid4().hex[:8])
    room = alice.create_room(preset="public_chat")
    bob = remote.user("b" + uuid.uuid4().hex[:8])
    status, mk = remote.call(fstack, "GET", "%s/make_join/%s/%s?ver=10" % (F1, q(room), q(bob)))
    assert status == 200, mk
    tmpl = mk["event"]
    tmpl["origin_server_ts"] = int(time.time() * 1000)
    ev, eid = remote.sign(tmpl)
    status, got = remote.call(fstack, "PUT", "%s/send_join/%s/%s" % (F1, q(room), q(eid)), ev)
    assert status == 200 and got[0] == 200 and "state" in got[1], got
    for what in ("state", "state_ids"):
        status, got = remote.call(fstack, "GET", "%s/%s/%s" % (F1, what, q(room)))
        assert status == 400 and got["errcode"] == "M_MISSING_PARAM"
    # Once every local user left, the room is not ours to let anyone into.
    alice.room_post(room, "leave")
    status, got = remote.call(fstack, "GET", "%s/make_join/%s/%s?ver=10" % (
        F1, q(room), q(remote.user("late"))))
    assert status == 404 and got["errcode"] == "M_NOT_FOUND"


def test_remote_leave(fstack, remote):  # noqa: F811
    j = Joined(fstack, remote)
    status, mk = remote.call(fstack, "GET", "%s/make_leave/%s/%s" % (F1, q(j.room), q(j.bob)))
    assert status == 200, mk
    tmpl = mk["event"]
    tmpl["origin_server_ts"] = int(time.time() * 1000)
    ev, eid = remote.sign(tmpl)
    status, got = remote.call(fstack, "PUT", "%s/send_leave/%s/%s" % (F2, q(j.room), q(eid)), ev)
    assert status == 200 and got == {}, got
    assert j.alice.membership(j.room, j.bob) == "leave"


def test_server_acl_shuts_a_server_out(fstack, remote):  # noqa: F811
    j = Joined(fstack, remote)
    host = remote.name.split(":")[0]
    status, _ = j.alice.put_state(j.room, "m.room.server_acl", {
        "allow": ["*"], "deny": [host], "allow_ip_literals": True})
    assert status == 200
    ev, eid = remote.sign(j.message(remote, "after the ACL"))
    assert "error" in send(fstack, remote, [ev])[eid]
    assert "after the ACL" not in bodies(j.alice, j.room)
    status, got = remote.call(fstack, "GET", "%s/backfill/%s?v=%s" % (
        F1, q(j.room), q(j.join_id)))
    assert status == 403 and got["errcode"] == "M_FORBIDDEN"
