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

from conftest import free_port, q
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
    # Leaving goes through Synapse (make_leave/send_leave), which sees it.
    st, body = fstack.request("POST", "/_matrix/client/v3/rooms/%s/leave" % q(rid), {},
                              token=me["access_token"])
    assert st == 200, body
    assert synapse_members(synapse, token, rid)[me["user_id"]] == "leave"
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
    transactions (the outbound queue, sent by myelin-timerd's sender)."""
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
