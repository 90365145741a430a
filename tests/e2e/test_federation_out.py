"""Federation, outbound: local users joining and leaving other servers'
rooms (make_join/send_join v2, make_leave/send_leave v2), against a Python
"remote server" that makes its own room and signs its answers, and against
a real Synapse 1.67 from ../shared/peers/synapse (skipped, saying so, when
the kit is absent).

The stack and the CA are test_federation_keys.py's fixtures, made again
for this module."""
import hashlib
import http.server
import json
import os
import ssl
import threading
import time
import urllib.parse

import pytest

from conftest import free_port, q, stop_supervised
from test_federation_keys import (  # noqa: F401 (fixtures)
    KIT, b64, ca, canonical, fstack, synapse, synapse_client, synapse_user)
import test_federation_keys as fk


def sync_room(stack, token, room_id, tries=20):
    """The room's entry in rooms.join of a full /sync, or None."""
    status, body = stack.request("GET", "/_matrix/client/v3/sync?timeout=0", token=token)
    assert status == 200, body
    return body["rooms"].get("join", {}).get(room_id)


def state_of(entry):
    return {(e["type"], e["state_key"]): e for e in entry["state"]["events"] +
            [e for e in entry["timeline"]["events"] if "state_key" in e]}


# Interop with Synapse 1.67: a myelin user joins and leaves a Synapse room.


def synapse_members(synapse, token, room_id):
    st, body = synapse_client(synapse, "GET", "/_matrix/client/v3/rooms/%s/members" % q(
        room_id), token)
    assert st == 200, body
    return {e["state_key"]: e["content"]["membership"] for e in body["chunk"]}


def test_join_a_synapse_room_by_id_and_leave(fstack, synapse):
    name = synapse["SYNAPSE_SERVER_NAME"]
    token = synapse_user(synapse, "joinhost")
    st, room = synapse_client(synapse, "POST", "/_matrix/client/v3/createRoom", token, {
        "preset": "public_chat", "name": "a synapse room", "room_version": "10"})
    assert st == 200, room
    rid = room["room_id"]
    me = fstack.register("joiner%d" % os.getpid())
    st, body = fstack.request("POST", "/_matrix/client/v3/join/%s?server_name=%s" % (
        q(rid), q(name)), {}, token=me["access_token"])
    assert st == 200 and body == {"room_id": rid}, body
    # Synapse has the join from send_join.
    assert synapse_members(synapse, token, rid)[me["user_id"]] == "join"
    # /sync here shows the room with the state send_join gave.
    entry = sync_room(fstack, me["access_token"], rid)
    assert entry is not None
    st_ = state_of(entry)
    assert st_[("m.room.name", "")]["content"]["name"] == "a synapse room"
    assert st_[("m.room.create", "")]["sender"] == "@joinhost:" + name
    assert st_[("m.room.member", me["user_id"])]["content"]["membership"] == "join"
    # /state and /members read the same state.
    st, members = fstack.request("GET", "/_matrix/client/v3/rooms/%s/joined_members" % q(rid),
                                 token=me["access_token"])
    assert st == 200 and set(members["joined"]) == {me["user_id"], "@joinhost:" + name}
    # Joining again is a no-op success through the local path.
    st, body = fstack.request("POST", "/_matrix/client/v3/rooms/%s/join" % q(rid), {},
                              token=me["access_token"])
    assert st == 200, body
    # Leaving a room this server is in is a local event: stored here, and
    # the sender hands it on to Synapse, which sees it.
    st, body = fstack.request("POST", "/_matrix/client/v3/rooms/%s/leave" % q(rid), {},
                              token=me["access_token"])
    assert st == 200, body
    end = time.time() + 60
    while synapse_members(synapse, token, rid)[me["user_id"]] != "leave":
        assert time.time() < end, "Synapse never saw the leave"
        time.sleep(0.2)
    st, body = fstack.request("GET", "/_matrix/client/v3/joined_rooms",
                              token=me["access_token"])
    assert rid not in body["joined_rooms"]
    # And back again, by the room ID's server (no server_name).
    st, body = fstack.request("POST", "/_matrix/client/v3/join/%s" % q(rid), {},
                              token=me["access_token"])
    assert st == 200, body
    assert synapse_members(synapse, token, rid)[me["user_id"]] == "join"


def test_join_a_synapse_room_by_alias(fstack, synapse):
    name = synapse["SYNAPSE_SERVER_NAME"]
    token = synapse_user(synapse, "aliashost")
    st, room = synapse_client(synapse, "POST", "/_matrix/client/v3/createRoom", token, {
        "preset": "public_chat", "room_alias_name": "joinme", "room_version": "10"})
    assert st == 200, room
    me = fstack.register("aliasjoiner%d" % os.getpid())
    st, body = fstack.request("POST", "/_matrix/client/v3/join/%s" % q("#joinme:" + name), {},
                              token=me["access_token"])
    assert st == 200 and body == {"room_id": room["room_id"]}, body
    assert synapse_members(synapse, token, room["room_id"])[me["user_id"]] == "join"
    st, body = fstack.request("POST", "/_matrix/client/v3/join/%s" % q("#nosuch:" + name), {},
                              token=me["access_token"])
    assert st == 404 and body["errcode"] == "M_NOT_FOUND", body


def test_synapse_refusal_is_passed_on(fstack, synapse):
    """An invite-only Synapse room: make_join's 403 M_FORBIDDEN is the client's."""
    name = synapse["SYNAPSE_SERVER_NAME"]
    token = synapse_user(synapse, "privhost")
    st, room = synapse_client(synapse, "POST", "/_matrix/client/v3/createRoom", token, {
        "preset": "private_chat", "room_version": "10"})
    assert st == 200, room
    me = fstack.register("refused%d" % os.getpid())
    st, body = fstack.request("POST", "/_matrix/client/v3/join/%s?server_name=%s" % (
        q(room["room_id"]), q(name)), {}, token=me["access_token"])
    assert st == 403 and body["errcode"] == "M_FORBIDDEN", body
    st, body = fstack.request("GET", "/_matrix/client/v3/joined_rooms",
                              token=me["access_token"])
    assert room["room_id"] not in body["joined_rooms"]


def synapse_sees(synapse, token, room_id, pred, deadline=60):
    """Polls Synapse's /messages of room_id (newest first) until pred holds for one event."""
    end = time.time() + deadline
    while True:
        st, body = synapse_client(synapse, "GET", "/_matrix/client/v3/rooms/%s/messages?"
                                  "dir=b&limit=50" % q(room_id), token)
        assert st == 200, body
        hit = [e for e in body["chunk"] if pred(e)]
        if hit or time.time() > end:
            return hit
        time.sleep(0.2)


def test_local_messages_reach_synapse_in_order(fstack, synapse):
    """Events a myelin user sends in a Synapse room go out in /send
    transactions (the outbound queue, sent by myelin-sender)."""
    name = synapse["SYNAPSE_SERVER_NAME"]
    token = synapse_user(synapse, "msghost")
    st, room = synapse_client(synapse, "POST", "/_matrix/client/v3/createRoom", token, {
        "preset": "public_chat", "room_version": "10"})
    rid = room["room_id"]
    me = fstack.register("sender%d" % os.getpid())
    st, body = fstack.request("POST", "/_matrix/client/v3/join/%s?server_name=%s" % (
        q(rid), q(name)), {}, token=me["access_token"])
    assert st == 200, body
    ids = []
    for i in range(3):
        st, body = fstack.request("PUT", "/_matrix/client/v3/rooms/%s/send/m.room.message/t%d"
                                  % (q(rid), i), {"msgtype": "m.text", "body": "hello %d" % i},
                                  token=me["access_token"])
        assert st == 200, body
        ids.append(body["event_id"])
    got = synapse_sees(synapse, token, rid, lambda e: e["event_id"] == ids[-1])
    assert got, "Synapse never received the messages"
    st, body = synapse_client(synapse, "GET", "/_matrix/client/v3/rooms/%s/messages?"
                              "dir=b&limit=50" % q(rid), token)
    mine = [e["content"]["body"] for e in reversed(body["chunk"])
            if e["sender"] == me["user_id"] and e["type"] == "m.room.message"]
    assert mine == ["hello 0", "hello 1", "hello 2"]
    # A state change crosses too.
    st, body = fstack.request("PUT", "/_matrix/client/v3/profile/%s/displayname" % q(
        me["user_id"]), {"displayname": "Renamed"}, token=me["access_token"])
    assert st == 200
    got = synapse_sees(synapse, token, rid, lambda e: e["type"] == "m.room.member" and
                       e["state_key"] == me["user_id"] and
                       e["content"].get("displayname") == "Renamed")
    assert got


# A Python "remote server" answering make_join as a test says.


class JoinRemote:
    """Serves keys (as test_federation_keys.Remote) and answers every
    make_join with self.answer (status, body); records the paths asked."""

    def __init__(self, ca_dir):
        self.port = free_port()
        self.name = "localhost:%d" % self.port
        self.keys = fk.Remote.__new__(fk.Remote)
        self.keys.valid_ms = 3600 * 1000
        self.keys.name = self.name
        self.keys.key = __import__("nacl.signing").signing.SigningKey.generate()
        self.keys.key_id = "ed25519:py1"
        self.answer = (404, {"errcode": "M_NOT_FOUND", "error": "no"})
        self.paths = []
        remote = self

        class H(http.server.BaseHTTPRequestHandler):
            def reply(self, status, obj):
                body = canonical(obj)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                remote.paths.append(self.path)
                if self.path.startswith("/_matrix/key/v2/server"):
                    return self.reply(200, remote.keys.key_answer())
                if self.path.startswith("/_matrix/federation/v1/make_join/"):
                    return self.reply(*remote.answer)
                self.reply(404, {"errcode": "M_UNRECOGNIZED", "error": "no"})

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), H)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(ca_dir, "remote.chain.crt"),
                            os.path.join(ca_dir, "remote.key"))
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def jremote(ca):
    r = JoinRemote(ca)
    yield r
    r.stop()


def join_via(fstack, token, room_id, *servers):
    qs = "&".join("server_name=" + q(s) for s in servers)
    return fstack.request("POST", "/_matrix/client/v3/join/%s%s" % (
        q(room_id), "?" + qs if qs else ""), {}, token=token)


def test_join_errors_from_the_resident(fstack, jremote):
    me = fstack.register("joinerr%d" % os.getpid())
    rid = "!nosuch:" + jremote.name
    # Not found there, and no other server: 404 M_NOT_FOUND.
    jremote.answer = (404, {"errcode": "M_NOT_FOUND", "error": "Unknown room"})
    st, body = join_via(fstack, me["access_token"], rid, jremote.name)
    assert st == 404 and body["errcode"] == "M_NOT_FOUND", body
    asked = [p for p in jremote.paths if "/make_join/" in p]
    assert asked and asked[-1].startswith("/_matrix/federation/v1/make_join/%s/%s?" % (
        q(rid), q(me["user_id"])))
    # Every version we support is offered.
    assert "ver=10" in asked[-1] and "ver=1&" in asked[-1]
    # No server answers at all (a port nobody listens on): 404 as well.
    dead = "localhost:%d" % free_port()
    st, body = join_via(fstack, me["access_token"], "!x:" + dead, dead)
    assert st == 404 and body["errcode"] == "M_NOT_FOUND", body
    # The resident's 403 is the client's, as it gave it.
    jremote.answer = (403, {"errcode": "M_FORBIDDEN", "error": "You are not invited"})
    st, body = join_via(fstack, me["access_token"], rid, jremote.name)
    assert st == 403 and body == {"errcode": "M_FORBIDDEN", "error": "You are not invited"}
    # A version the resident does not share.
    jremote.answer = (400, {"errcode": "M_INCOMPATIBLE_ROOM_VERSION", "error": "v",
                            "room_version": "99"})
    st, body = join_via(fstack, me["access_token"], rid, jremote.name)
    assert st == 400 and body["errcode"] == "M_INCOMPATIBLE_ROOM_VERSION", body
    # A template of a version not supported here.
    jremote.answer = (200, {"room_version": "org.example.99", "event": {
        "type": "m.room.member", "room_id": rid, "content": {"membership": "join"}}})
    st, body = join_via(fstack, me["access_token"], rid, jremote.name)
    assert st == 400 and body["errcode"] == "M_INCOMPATIBLE_ROOM_VERSION", body
    # A server_name that is not one: 400 M_INVALID_PARAM, nobody asked.
    st, body = join_via(fstack, me["access_token"], rid, "not a server")
    assert st == 400 and body["errcode"] == "M_INVALID_PARAM", body
    # Nothing was stored: the room is not known here.
    st, body = fstack.request("GET", "/_matrix/client/v3/joined_rooms",
                              token=me["access_token"])
    assert body["joined_rooms"] == []


def test_invite_a_synapse_user(fstack, synapse):
    """PUT /v2/invite to Synapse, which signs it: the Synapse user sees
    the invite with the room's stripped state; a refused invite stores
    nothing."""
    name = synapse["SYNAPSE_SERVER_NAME"]
    token = synapse_user(synapse, "invitee")
    me = fstack.register("inviter%d" % os.getpid())
    st, room = fstack.request("POST", "/_matrix/client/v3/createRoom", {
        "name": "from myelin", "room_version": "10"}, token=me["access_token"])
    assert st == 200, room
    rid = room["room_id"]
    st, body = fstack.request("POST", "/_matrix/client/v3/rooms/%s/invite" % q(rid), {
        "user_id": "@invitee:" + name}, token=me["access_token"])
    assert st == 200, body
    end = time.time() + 60
    while True:
        st, sync = synapse_client(synapse, "GET", "/_matrix/client/v3/sync?timeout=0", token)
        assert st == 200
        inv = sync.get("rooms", {}).get("invite", {}).get(rid)
        if inv or time.time() > end:
            break
        time.sleep(0.2)
    assert inv, "Synapse's user never saw the invite"
    stripped = {(e["type"], e["state_key"]): e for e in inv["invite_state"]["events"]}
    assert stripped[("m.room.name", "")]["content"]["name"] == "from myelin"
    assert stripped[("m.room.member", "@invitee:" + name)]["content"]["membership"] == "invite"
    # Here the invitee is invited.
    st, body = fstack.request("GET", "/_matrix/client/v3/rooms/%s/state/m.room.member/%s" % (
        q(rid), q("@invitee:" + name)), token=me["access_token"])
    assert st == 200 and body["membership"] == "invite", body
    # A server that does not answer: 502, and no invite stored.
    dead = "@x:localhost:%d" % free_port()
    st, body = fstack.request("POST", "/_matrix/client/v3/rooms/%s/invite" % q(rid), {
        "user_id": dead}, token=me["access_token"])
    assert st == 502, body
    st, body = fstack.request("GET", "/_matrix/client/v3/rooms/%s/state/m.room.member/%s" % (
        q(rid), q(dead)), token=me["access_token"])
    assert st == 404, body


def test_queue_survives_a_sender_restart(fstack, synapse):
    """Events queued while the sender (myelin-sender) is down reach
    Synapse once it runs again, each once and in order."""
    import subprocess
    name = synapse["SYNAPSE_SERVER_NAME"]
    token = synapse_user(synapse, "restarthost")
    st, room = synapse_client(synapse, "POST", "/_matrix/client/v3/createRoom", token, {
        "preset": "public_chat", "room_version": "10"})
    rid = room["room_id"]
    me = fstack.register("restarter%d" % os.getpid())
    st, body = join_via(fstack, me["access_token"], rid, name)
    assert st == 200, body
    pidfile = os.path.join(fstack.dir, "run", "sender.pid")
    # Its supervisor stops it and does not start it again.
    stop_supervised(fstack.dir, "sender")
    for i in range(5):
        st, body = fstack.request("PUT", "/_matrix/client/v3/rooms/%s/send/m.room.message/r%d"
                                  % (q(rid), i), {"msgtype": "m.text", "body": "queued %d" % i},
                                  token=me["access_token"])
        assert st == 200, body
    last = body["event_id"]
    with open(os.path.join(fstack.dir, "log", "sender.log"), "ab") as log:
        p = subprocess.Popen([os.path.join(fk.BIN, "myelin-sender"), "-c", fstack.conf],
                             stdout=log, stderr=log,
                             env=dict(os.environ, MYELIN_FAKE_CLOCK=fstack.clock.path))
    with open(pidfile, "w") as f:
        f.write("%d\n" % p.pid)
    assert synapse_sees(synapse, token, rid, lambda e: e["event_id"] == last)
    st, body = synapse_client(synapse, "GET", "/_matrix/client/v3/rooms/%s/messages?"
                              "dir=b&limit=50" % q(rid), token)
    mine = [e["content"]["body"] for e in reversed(body["chunk"])
            if e["sender"] == me["user_id"] and e["type"] == "m.room.message"]
    assert mine == ["queued %d" % i for i in range(5)]
