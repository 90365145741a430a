"""Federation, EDUs between two myelin stacks (A and B, named
localhost:PORT, TLS from the test CA of test_federation_keys.py): typing,
read receipts, presence and to-device messages of one server's users
reach the other's through the sender's transactions.  B's user joins A's
room over federation first.  Then the same for typing and receipts
with a real Synapse 1.67 from ../shared/peers/synapse (skipped, saying
so, when the kit is absent)."""
import os
import subprocess
import tempfile
import time

import pytest

from conftest import STACK, free_port, own_pg_database, q
from test_federation_keys import (  # noqa: F401 (fixtures)
    FedStack, fed_stack, ca, fstack, synapse, synapse_client, synapse_user)

C = "/_matrix/client/v3"


@pytest.fixture(scope="module")
def pair(ca):
    a = fed_stack(ca, "edua")
    try:
        b = fed_stack(ca, "edub")
    except Exception:
        subprocess.run([STACK, "down", a.dir], timeout=60)
        raise
    yield a, b
    bad = []
    for s in (a, b):
        subprocess.run([STACK, "down", s.dir], check=True, timeout=60)
        bad += s.check_logs()
    assert not bad, "problems in logs:\n" + "\n".join(bad)


def call(s, tok, method, path, body=None):
    st, r = s.request(method, path, body, token=tok)
    assert st == 200, (method, path, st, r)
    return r


class Waiter:
    """Incremental /sync of one user until a predicate holds (60 s at most)."""

    def __init__(self, s, tok):
        self.s, self.tok = s, tok
        self.since = call(s, tok, "GET", C + "/sync?timeout=0")["next_batch"]

    def until(self, pred, what):
        end = time.time() + 60
        while time.time() < end:
            body = call(self.s, self.tok, "GET", C + "/sync?timeout=2000&since=" + q(self.since))
            self.since = body["next_batch"]
            hit = pred(body)
            if hit:
                return hit
        raise AssertionError("never seen: " + what)


@pytest.fixture(scope="module")
def room(pair):
    """alice on A, bob on B, both joined to alice's public room."""
    a, b = pair
    alice = a.register("alice%d" % os.getpid())
    bob = b.register("bob%d" % os.getpid())
    rid = call(a, alice["access_token"], "POST", C + "/createRoom",
               {"preset": "public_chat"})["room_id"]
    call(b, bob["access_token"], "POST", C + "/join/%s?server_name=%s" % (
        q(rid), q(a.server_name)), {})
    # A has bob's join (B's sender), so A's EDUs go to B.
    end = time.time() + 60
    while True:
        st, m = a.request("GET", C + "/rooms/%s/joined_members" % q(rid),
                          token=alice["access_token"])
        if st == 200 and bob["user_id"] in m["joined"]:
            break
        assert time.time() < end, "A never saw bob's join"
        time.sleep(0.2)
    return a, b, alice, bob, rid


def ephemeral(body, rid, etype):
    r = body.get("rooms", {}).get("join", {}).get(rid, {})
    return [e for e in r.get("ephemeral", {}).get("events", []) if e["type"] == etype]


def test_typing_crosses_and_stops(room):
    a, b, alice, bob, rid = room
    w = Waiter(b, bob["access_token"])
    call(a, alice["access_token"], "PUT", C + "/rooms/%s/typing/%s" % (q(rid), q(
        alice["user_id"])), {"typing": True, "timeout": 30000})
    w.until(lambda body: any(alice["user_id"] in e["content"]["user_ids"]
                             for e in ephemeral(body, rid, "m.typing")), "alice typing on B")
    call(a, alice["access_token"], "PUT", C + "/rooms/%s/typing/%s" % (q(rid), q(
        alice["user_id"])), {"typing": False})
    w.until(lambda body: any(alice["user_id"] not in e["content"]["user_ids"]
                             for e in ephemeral(body, rid, "m.typing")), "alice stopped on B")
    # And the other way: bob's typing reaches A.
    wa = Waiter(a, alice["access_token"])
    call(b, bob["access_token"], "PUT", C + "/rooms/%s/typing/%s" % (q(rid), q(
        bob["user_id"])), {"typing": True, "timeout": 30000})
    wa.until(lambda body: any(bob["user_id"] in e["content"]["user_ids"]
                              for e in ephemeral(body, rid, "m.typing")), "bob typing on A")


def test_read_receipt_crosses_private_does_not(room):
    a, b, alice, bob, rid = room
    eid = call(a, alice["access_token"], "PUT", C + "/rooms/%s/send/m.room.message/r1" % q(rid),
               {"msgtype": "m.text", "body": "read me"})["event_id"]
    wb = Waiter(b, bob["access_token"])
    wb.until(lambda body: any(e["event_id"] == eid for e in body["rooms"].get("join", {}).get(
        rid, {}).get("timeline", {}).get("events", [])), "the message on B")
    wa = Waiter(a, alice["access_token"])
    call(b, bob["access_token"], "POST", C + "/rooms/%s/receipt/m.read.private/%s" % (
        q(rid), q(eid)), {})
    call(b, bob["access_token"], "POST", C + "/rooms/%s/receipt/m.read/%s" % (q(rid), q(eid)),
         {})
    got = wa.until(lambda body: [e for e in ephemeral(body, rid, "m.receipt")
                                 if bob["user_id"] in e["content"].get(eid, {}).get(
                                     "m.read", {})], "bob's receipt on A")
    # The private receipt stayed on B.
    assert all("m.read.private" not in e["content"].get(eid, {}) for e in got)


def test_presence_crosses(room):
    a, b, alice, bob, rid = room
    wb = Waiter(b, bob["access_token"])
    call(a, alice["access_token"], "PUT", C + "/presence/%s/status" % q(alice["user_id"]),
         {"presence": "unavailable", "status_msg": "away for lunch"})

    def seen(body):
        return [e for e in body.get("presence", {}).get("events", [])
                if e["sender"] == alice["user_id"] and
                e["content"].get("status_msg") == "away for lunch"]
    e = wb.until(seen, "alice's presence on B")[0]
    assert e["content"]["presence"] == "unavailable"
    st, p = b.request("GET", C + "/presence/%s/status" % q(alice["user_id"]),
                      token=bob["access_token"])
    assert st == 200 and p["presence"] == "unavailable", p


def test_presence_from_sync_crosses(pair):
    """A sync's set_presence that changes presence tells the other server too."""
    a, b = pair
    carl = a.register("carl%d" % os.getpid())
    dana = b.register("dana%d" % os.getpid())
    rid = call(a, carl["access_token"], "POST", C + "/createRoom",
               {"preset": "public_chat"})["room_id"]
    call(b, dana["access_token"], "POST", C + "/join/%s?server_name=%s" % (
        q(rid), q(a.server_name)), {})
    end = time.time() + 60
    while dana["user_id"] not in call(a, carl["access_token"], "GET", C + (
            "/rooms/%s/joined_members" % q(rid)))["joined"]:
        assert time.time() < end, "A never saw dana's join"
        time.sleep(0.2)
    wb = Waiter(b, dana["access_token"])
    call(a, carl["access_token"], "GET", C + "/sync?timeout=0&set_presence=unavailable")
    wb.until(lambda body: [e for e in body.get("presence", {}).get("events", [])
                           if e["sender"] == carl["user_id"] and
                           e["content"]["presence"] == "unavailable"], "carl unavailable on B")


def test_to_device_crosses_once(room):
    a, b, alice, bob, rid = room
    wb = Waiter(b, bob["access_token"])
    msg = {"messages": {bob["user_id"]: {bob["device_id"]: {"n": 1}}}}
    path = C + "/sendToDevice/m.test/t%d" % os.getpid()
    call(a, alice["access_token"], "PUT", path, msg)
    # The same txnId again delivers nothing again; a new one does.
    call(a, alice["access_token"], "PUT", path, msg)
    call(a, alice["access_token"], "PUT", path + "b",
         {"messages": {bob["user_id"]: {"*": {"n": 2}}}})
    got = []

    def seen(body):
        got.extend(e for e in body.get("to_device", {}).get("events", [])
                   if e["type"] == "m.test")
        return any(e["content"] == {"n": 2} for e in got)
    wb.until(seen, "alice's to-device on B")
    assert [e["content"] for e in got] == [{"n": 1}, {"n": 2}], got
    assert all(e["sender"] == alice["user_id"] for e in got)


OTK = "signed_curve25519"


def dkeys(user, key):
    return {"user_id": user["user_id"], "device_id": user["device_id"],
            "algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
            "keys": {"ed25519:" + user["device_id"]: key,
                     "curve25519:" + user["device_id"]: key + "-c"},
            "signatures": {user["user_id"]: {"ed25519:" + user["device_id"]: "sig"}}}


def test_remote_keys_query_and_claim(room):
    """alice on A asks for bob's keys on B: answered from the device list A
    follows (fetched whole with GET /user/devices), and claims one of his
    one-time keys through POST /user/keys/claim; a user sharing no room is
    asked with POST /user/keys/query; a server that does not answer is in
    failures."""
    a, b, alice, bob, rid = room
    tok = alice["access_token"]
    call(b, bob["access_token"], "POST", C + "/keys/upload", {
        "device_keys": dkeys(bob, "bobkey1"),
        "one_time_keys": {"%s:AAA%d" % (OTK, i): {"key": "otk%d" % i, "signatures": {}}
                          for i in range(2)}})
    r = call(a, tok, "POST", C + "/keys/query", {"device_keys": {bob["user_id"]: []}})
    assert r["failures"] == {}, r
    got = r["device_keys"][bob["user_id"]][bob["device_id"]]
    assert got["keys"]["ed25519:" + bob["device_id"]] == "bobkey1"
    claimed = set()
    for _ in range(3):
        r = call(a, tok, "POST", C + "/keys/claim", {"one_time_keys": {
            bob["user_id"]: {bob["device_id"]: OTK}}})
        assert r["failures"] == {}, r
        keys = r["one_time_keys"].get(bob["user_id"], {}).get(bob["device_id"], {})
        claimed |= set(keys)
    # Two keys, each handed out once; the third claim finds none.
    assert claimed == {"%s:AAA0" % OTK, "%s:AAA1" % OTK}, claimed
    # carol on B shares no room with anyone on A: her server is asked.
    carol = b.register("carol%d" % os.getpid())
    call(b, carol["access_token"], "POST", C + "/keys/upload",
         {"device_keys": dkeys(carol, "carolkey")})
    r = call(a, tok, "POST", C + "/keys/query", {"device_keys": {carol["user_id"]: []}})
    assert r["device_keys"][carol["user_id"]][carol["device_id"]]["keys"][
        "ed25519:" + carol["device_id"]] == "carolkey", r
    # A server that is not there: failures, and the rest answered.
    gone = "localhost:%d" % free_port()
    r = call(a, tok, "POST", C + "/keys/query", {"device_keys": {
        "@x:" + gone: [], bob["user_id"]: []}, "timeout": 5000})
    assert gone in r["failures"] and bob["user_id"] in r["device_keys"], r
    r = call(a, tok, "POST", C + "/keys/claim", {"one_time_keys": {
        "@x:" + gone: {"D": OTK}}, "timeout": 5000})
    assert gone in r["failures"], r


def test_device_list_update_reaches_remote_sync_and_query(room):
    """bob changes his keys and renames his device on B: alice's /sync on A
    lists him in device_lists.changed (an m.device_list_update) and her
    /keys/query shows the new key and name."""
    a, b, alice, bob, rid = room
    tok = alice["access_token"]
    # A follows bob's list (the query fetches it when it does not yet).
    call(a, tok, "POST", C + "/keys/query", {"device_keys": {bob["user_id"]: []}})
    w = Waiter(a, tok)
    call(b, bob["access_token"], "POST", C + "/keys/upload",
         {"device_keys": dkeys(bob, "bobkey2")})
    w.until(lambda body: bob["user_id"] in body.get("device_lists", {}).get("changed", []),
            "bob in alice's device_lists.changed")
    r = call(a, tok, "POST", C + "/keys/query", {"device_keys": {bob["user_id"]: []}})
    assert r["device_keys"][bob["user_id"]][bob["device_id"]]["keys"][
        "ed25519:" + bob["device_id"]] == "bobkey2", r
    call(b, bob["access_token"], "PUT", C + "/devices/" + q(bob["device_id"]),
         {"display_name": "bob's phone"})
    w.until(lambda body: bob["user_id"] in body.get("device_lists", {}).get("changed", []),
            "bob's rename in alice's device_lists.changed")
    r = call(a, tok, "POST", C + "/keys/query", {"device_keys": {bob["user_id"]: []}})
    assert r["device_keys"][bob["user_id"]][bob["device_id"]]["unsigned"][
        "device_display_name"] == "bob's phone", r


def synapse_sync(synapse, token, since=None):
    path = "/_matrix/client/v3/sync?timeout=2000" + ("&since=" + q(since) if since else "")
    st, body = synapse_client(synapse, "GET", path, token)
    assert st == 200, body
    return body


def test_cross_signing_keys_reach_the_other_server(room):
    """bob's new master and self-signing keys on B reach A as an
    m.signing_key_update: alice's /sync marks him changed and her
    /keys/query (from the followed list) has them; not his user-signing key."""
    from test_e2ee import Signer
    a, b, alice, bob, rid = room
    tok = alice["access_token"]
    call(a, tok, "POST", C + "/keys/query", {"device_keys": {bob["user_id"]: []}})
    w = Waiter(a, tok)
    master, ssk, usk = Signer(), Signer(), Signer()
    call(b, bob["access_token"], "POST", C + "/keys/device_signing/upload", {
        "master_key": master.xkey(bob["user_id"], "master"),
        "self_signing_key": master.sign(ssk.xkey(bob["user_id"], "self_signing"),
                                        bob["user_id"]),
        "user_signing_key": master.sign(usk.xkey(bob["user_id"], "user_signing"),
                                        bob["user_id"])})
    w.until(lambda body: bob["user_id"] in body.get("device_lists", {}).get("changed", []),
            "bob's new keys in alice's device_lists.changed")
    r = call(a, tok, "POST", C + "/keys/query", {"device_keys": {bob["user_id"]: []}})
    assert r["master_keys"][bob["user_id"]]["keys"] == {"ed25519:" + master.pub: master.pub}
    assert r["self_signing_keys"][bob["user_id"]]["usage"] == ["self_signing"]
    assert bob["user_id"] not in r.get("user_signing_keys", {})


def test_leaving_the_last_shared_room_is_left(pair):
    """When erin on B leaves the only room she shares with frank on A,
    frank's /sync lists her in device_lists.left; a query for her keys
    then asks B (POST /user/keys/query) and gets her new key."""
    a, b = pair
    frank = a.register("frank%d" % os.getpid())
    erin = b.register("erin%d" % os.getpid())
    rid = call(a, frank["access_token"], "POST", C + "/createRoom",
               {"preset": "public_chat"})["room_id"]
    call(b, erin["access_token"], "POST", C + "/join/%s?server_name=%s" % (
        q(rid), q(a.server_name)), {})
    call(b, erin["access_token"], "POST", C + "/keys/upload",
         {"device_keys": dkeys(erin, "erinkey1")})
    w = Waiter(a, frank["access_token"])
    w.until(lambda body: erin["user_id"] in body.get("device_lists", {}).get("changed", []),
            "erin's join or keys in frank's device_lists.changed")
    r = call(a, frank["access_token"], "POST", C + "/keys/query",
             {"device_keys": {erin["user_id"]: []}})
    assert erin["device_id"] in r["device_keys"][erin["user_id"]], r
    call(b, erin["access_token"], "POST", C + "/rooms/%s/leave" % q(rid), {})
    w.until(lambda body: erin["user_id"] in body.get("device_lists", {}).get("left", []),
            "erin in frank's device_lists.left")
    call(b, erin["access_token"], "POST", C + "/keys/upload",
         {"device_keys": dkeys(erin, "erinkey2")})
    r = call(a, frank["access_token"], "POST", C + "/keys/query",
             {"device_keys": {erin["user_id"]: []}})
    assert r["device_keys"][erin["user_id"]][erin["device_id"]]["keys"][
        "ed25519:" + erin["device_id"]] == "erinkey2", r


def test_typing_and_receipts_with_synapse(ca, synapse):  # noqa: F811
    """A myelin user in a Synapse room: typing and read receipts cross both ways.
    On the real clock: a first send that Synapse refuses (before it has our
    keys) waits out a backoff that a frozen fake clock would never end."""
    fstack = fed_stack(ca, "edusyn")
    try:
        synapse_typing_and_receipts(fstack, synapse)
    finally:
        subprocess.run([STACK, "down", fstack.dir], check=True, timeout=60)


def synapse_typing_and_receipts(fstack, synapse):
    name = synapse["SYNAPSE_SERVER_NAME"]
    stok = synapse_user(synapse, "edutyper")
    suser = "@edutyper:" + name
    st, room = synapse_client(synapse, "POST", C + "/createRoom", stok, {
        "preset": "public_chat", "room_version": "10"})
    assert st == 200, room
    rid = room["room_id"]
    me = fstack.register("eduguest%d" % os.getpid())
    call(fstack, me["access_token"], "POST", C + "/join/%s?server_name=%s" % (
        q(rid), q(name)), {})
    # Synapse types: myelin's /sync shows it.
    w = Waiter(fstack, me["access_token"])
    st, _ = synapse_client(synapse, "PUT", C + "/rooms/%s/typing/%s" % (q(rid), q(suser)),
                           stok, {"typing": True, "timeout": 30000})
    assert st == 200
    w.until(lambda body: any(suser in e["content"]["user_ids"]
                             for e in ephemeral(body, rid, "m.typing")), "Synapse's typing")
    # myelin types: Synapse's /sync shows it, and the stop after.
    since = synapse_sync(synapse, stok)["next_batch"]
    call(fstack, me["access_token"], "PUT", C + "/rooms/%s/typing/%s" % (
        q(rid), q(me["user_id"])), {"typing": True, "timeout": 30000})

    def synapse_sees(pred, what):
        nonlocal since
        end = time.time() + 60
        while time.time() < end:
            body = synapse_sync(synapse, stok, since)
            since = body["next_batch"]
            if pred(body):
                return
        raise AssertionError("Synapse never saw " + what)
    synapse_sees(lambda body: any(me["user_id"] in e["content"]["user_ids"]
                                  for e in ephemeral(body, rid, "m.typing")), "myelin's typing")
    call(fstack, me["access_token"], "PUT", C + "/rooms/%s/typing/%s" % (
        q(rid), q(me["user_id"])), {"typing": False})
    synapse_sees(lambda body: any(me["user_id"] not in e["content"]["user_ids"]
                                  for e in ephemeral(body, rid, "m.typing")), "myelin's stop")
    # A Synapse message, read on myelin: Synapse sees the receipt.
    st, sent = synapse_client(synapse, "PUT", C + "/rooms/%s/send/m.room.message/e1" % q(rid),
                              stok, {"msgtype": "m.text", "body": "read me"})
    assert st == 200, sent
    eid = sent["event_id"]
    w.until(lambda body: any(e["event_id"] == eid for e in body["rooms"].get("join", {}).get(
        rid, {}).get("timeline", {}).get("events", [])), "Synapse's message on myelin")
    call(fstack, me["access_token"], "POST", C + "/rooms/%s/receipt/m.read/%s" % (
        q(rid), q(eid)), {})
    synapse_sees(lambda body: any(me["user_id"] in e["content"].get(eid, {}).get("m.read", {})
                                  for e in ephemeral(body, rid, "m.receipt")),
                 "myelin's receipt")
    # And Synapse's receipt of it on myelin.
    st, _ = synapse_client(synapse, "POST", C + "/rooms/%s/receipt/m.read/%s" % (
        q(rid), q(eid)), stok, {})
    assert st == 200
    w.until(lambda body: any(suser in e["content"].get(eid, {}).get("m.read", {})
                             for e in ephemeral(body, rid, "m.receipt")), "Synapse's receipt")
