"""End-to-end encryption: to-device messages, device keys, one-time and
fallback keys, device lists in /sync and /keys/changes, raw and through
matrix-nio with python3-olm (an Olm session and a Megolm message)."""
import asyncio
import concurrent.futures
import os
import tempfile

import nio
import pytest

from conftest import User, q

OTK = "signed_curve25519"


def device_keys(u, **extra):
    d = {"user_id": u.user_id, "device_id": u.device_id,
         "algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
         "keys": {"curve25519:" + u.device_id: "c-" + u.device_id,
                  "ed25519:" + u.device_id: "e-" + u.device_id},
         "signatures": {u.user_id: {"ed25519:" + u.device_id: "sig"}}}
    d.update(extra)
    return d


def otks(prefix, n):
    return {"%s:%s%d" % (OTK, prefix, i): {"key": "k-%s%d" % (prefix, i),
                                          "signatures": {}} for i in range(n)}


def to_device(u, etype, txn, messages):
    return u.call("PUT", "/sendToDevice/%s/%s" % (q(etype), q(txn)), {"messages": messages})


def login_again(stack, u, password):
    status, resp = stack.login(u.user_id, password)
    assert status == 200, resp
    return User(stack, resp)


def shared_room(a, *others):
    room = a.create_room(preset="public_chat")
    for o in others:
        o.join(room)
    return room


# --- to-device ---------------------------------------------------------------

def test_to_device_delivered_once_in_order_then_acknowledged(stack, uniq):
    a, b = User.register(stack, uniq("tda")), User.register(stack, uniq("tdb"))
    _, first = b.sync()
    since = first["next_batch"]
    assert first["to_device"]["events"] == []
    for i in range(3):
        status, resp = to_device(a, "m.test", "txn%d" % i,
                                 {b.user_id: {b.device_id: {"n": i}}})
        assert (status, resp) == (200, {})
    # The same txnId again delivers nothing more.
    assert to_device(a, "m.test", "txn0", {b.user_id: {b.device_id: {"n": 99}}})[0] == 200
    _, s1 = b.sync(since=since)
    evs = s1["to_device"]["events"]
    assert [e["content"]["n"] for e in evs] == [0, 1, 2]
    assert all(e["sender"] == a.user_id and e["type"] == "m.test" for e in evs)
    # Not acknowledged yet: the same since gives them again.
    _, again = b.sync(since=since)
    assert [e["content"]["n"] for e in again["to_device"]["events"]] == [0, 1, 2]
    # Acknowledged by the next since: gone, even for the old since.
    _, s2 = b.sync(since=s1["next_batch"])
    assert s2["to_device"]["events"] == []
    _, s3 = b.sync(since=since)
    assert s3["to_device"]["events"] == []


def test_to_device_star_reaches_every_device_and_unknown_is_dropped(stack, uniq):
    name = uniq("tdstar")
    b1 = User.register(stack, name, "pw-" + name)
    b2 = login_again(stack, b1, "pw-" + name)
    a = User.register(stack, uniq("tdsend"))
    since = {u.device_id: u.sync()[1]["next_batch"] for u in (b1, b2)}
    assert to_device(a, "m.x", "t1", {b1.user_id: {"*": {"all": True}}})[0] == 200
    assert to_device(a, "m.x", "t2", {b1.user_id: {"NOSUCHDEVICE": {"x": 1}}})[0] == 200
    for u in (b1, b2):
        _, s = u.sync(since=since[u.device_id])
        assert [e["content"] for e in s["to_device"]["events"]] == [{"all": True}]


def test_to_device_limit_100_rest_next_time(stack, uniq):
    a, b = User.register(stack, uniq("tdla")), User.register(stack, uniq("tdlb"))
    since = b.sync()[1]["next_batch"]
    for i in range(105):
        assert to_device(a, "m.n", "n%d" % i, {b.user_id: {b.device_id: {"i": i}}})[0] == 200
    _, s1 = b.sync(since=since)
    assert [e["content"]["i"] for e in s1["to_device"]["events"]] == list(range(100))
    _, s2 = b.sync(since=s1["next_batch"])
    assert [e["content"]["i"] for e in s2["to_device"]["events"]] == list(range(100, 105))
    _, s3 = b.sync(since=s2["next_batch"])
    assert s3["to_device"]["events"] == []


def test_to_device_wakes_a_waiting_sync(stack, uniq):
    a, b = User.register(stack, uniq("tdwa")), User.register(stack, uniq("tdwb"))
    since = b.sync()[1]["next_batch"]
    with concurrent.futures.ThreadPoolExecutor(1) as ex:
        fut = ex.submit(b.sync, since=since, timeout=20000)
        to_device(a, "m.wake", "w1", {b.user_id: {b.device_id: {"w": 1}}})
        status, s = fut.result()
    assert status == 200
    assert [e["content"] for e in s["to_device"]["events"]] == [{"w": 1}]


def test_to_device_bad_input(stack, uniq):
    a = User.register(stack, uniq("tdbad"))
    assert to_device(a, "m.x", "b1", {"not-a-user": {"D": {}}})[1]["errcode"] == "M_BAD_JSON"
    assert to_device(a, "m.x", "b2", {a.user_id: {"D": "str"}})[1]["errcode"] == "M_BAD_JSON"
    status, resp = a.call("PUT", "/sendToDevice/m.x/b3", {"messages": []})
    assert (status, resp["errcode"]) == (400, "M_BAD_JSON")


# --- keys --------------------------------------------------------------------

def test_upload_must_name_caller_and_nothing_is_stored(stack, uniq):
    a, b = User.register(stack, uniq("kua")), User.register(stack, uniq("kub"))
    for bad in (device_keys(a, user_id=b.user_id), device_keys(a, device_id="OTHER")):
        status, resp = a.call("POST", "/keys/upload",
                              {"device_keys": bad, "one_time_keys": otks("x", 2)})
        assert (status, resp["errcode"]) == (400, "M_INVALID_PARAM")
    resp = b.ok("POST", "/keys/query", {"device_keys": {a.user_id: []}})
    assert resp["device_keys"] == {a.user_id: {}}
    assert a.ok("POST", "/keys/upload", {})["one_time_key_counts"] == {OTK: 0}


def test_upload_query_claim_and_fallback(stack, uniq):
    a, b = User.register(stack, uniq("kqa")), User.register(stack, uniq("kqb"))
    a.ok("PUT", "/devices/" + q(a.device_id), {"display_name": "A's laptop"})
    resp = a.ok("POST", "/keys/upload", {"device_keys": device_keys(a),
                                         "one_time_keys": otks("a", 2),
                                         "fallback_keys": {OTK + ":fb": {"key": "fbk",
                                                                         "fallback": True}}})
    assert resp["one_time_key_counts"] == {OTK: 2}
    # The same key again is fine; another key under a stored ID is refused.
    assert a.ok("POST", "/keys/upload", {"one_time_keys": otks("a", 1)})[
        "one_time_key_counts"] == {OTK: 2}
    status, resp = a.call("POST", "/keys/upload",
                          {"one_time_keys": {OTK + ":a0": {"key": "different"}}})
    assert (status, resp["errcode"]) == (400, "M_BAD_JSON")
    _, s = a.sync()
    assert s["device_one_time_keys_count"] == {OTK: 2}
    assert s["device_unused_fallback_key_types"] == [OTK]

    resp = b.ok("POST", "/keys/query", {"device_keys": {a.user_id: []}, "timeout": 10000})
    got = resp["device_keys"][a.user_id][a.device_id]
    assert got["keys"] == device_keys(a)["keys"]
    assert got["unsigned"]["device_display_name"] == "A's laptop"
    assert b.ok("POST", "/keys/query", {"device_keys": {a.user_id: ["NOPE"]}})[
        "device_keys"] == {a.user_id: {}}

    claimed = []
    for _ in range(2):
        r = b.ok("POST", "/keys/claim", {"one_time_keys": {a.user_id: {a.device_id: OTK}}})
        (kid, key), = r["one_time_keys"][a.user_id][a.device_id].items()
        claimed.append(kid)
    assert sorted(claimed) == [OTK + ":a0", OTK + ":a1"]
    # Out of one-time keys: the fallback key, then marked used.
    for _ in range(2):
        r = b.ok("POST", "/keys/claim", {"one_time_keys": {a.user_id: {a.device_id: OTK}}})
        assert r["one_time_keys"][a.user_id][a.device_id] == {
            OTK + ":fb": {"key": "fbk", "fallback": True}}
    _, s = a.sync()
    assert s["device_one_time_keys_count"] == {OTK: 0}
    assert s["device_unused_fallback_key_types"] == []
    # Unknown users and devices give nothing.
    r = b.ok("POST", "/keys/claim", {"one_time_keys": {
        a.user_id: {"NODEVICE": OTK}, "@nobody-here:" + stack.server_name: {"X": OTK}}})
    assert r["one_time_keys"] == {}


def test_concurrent_claims_hand_out_each_key_once(stack, uniq):
    a = User.register(stack, uniq("kca"))
    claimers = [User.register(stack, uniq("kcc")) for _ in range(4)]
    a.ok("POST", "/keys/upload", {"device_keys": device_keys(a),
                                  "one_time_keys": otks("c", 10)})
    body = {"one_time_keys": {a.user_id: {a.device_id: OTK}}}

    def claim(i):
        return claimers[i % len(claimers)].ok("POST", "/keys/claim", body)

    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        results = list(ex.map(claim, range(20)))
    got = [kid for r in results
           for kid in r["one_time_keys"].get(a.user_id, {}).get(a.device_id, {})]
    assert len(got) == len(set(got)) == 10
    assert a.ok("POST", "/keys/upload", {})["one_time_key_counts"] == {OTK: 0}


def test_query_and_claim_bad_input(stack, uniq):
    a = User.register(stack, uniq("kbad"))
    for path, body in (("/keys/query", {}), ("/keys/query", {"device_keys": {a.user_id: "x"}}),
                       ("/keys/claim", {"one_time_keys": {a.user_id: {"D": 5}}}),
                       ("/keys/upload", {"one_time_keys": {"nocolon": "k"}})):
        status, resp = a.call("POST", path, body)
        assert (status, resp["errcode"]) == (400, "M_BAD_JSON"), (path, body)
    status, resp = a.call("POST", "/keys/query", {"device_keys": {"bad": []}})
    assert (status, resp["errcode"]) == (400, "M_INVALID_PARAM")
    status, resp = a.get("/keys/changes")
    assert (status, resp["errcode"]) == (400, "M_MISSING_PARAM")
    status, resp = a.get("/keys/changes", **{"from": "garbage"})
    assert (status, resp["errcode"]) == (400, "M_INVALID_PARAM")


# --- device lists ------------------------------------------------------------

def test_device_lists_changed_and_left(stack, uniq):
    a, b, c = (User.register(stack, uniq(n)) for n in ("dla", "dlb", "dlc"))
    room = shared_room(a, b)
    since = a.sync()[1]["next_batch"]
    b.ok("POST", "/keys/upload", {"device_keys": device_keys(b)})
    _, s = a.sync(since=since)
    assert b.user_id in s["device_lists"]["changed"]
    resp = a.ok("GET", "/keys/changes?from=%s&to=%s" % (since, s["next_batch"]))
    assert b.user_id in resp["changed"] and resp["left"] == []
    # c never shares a room with a: its change is not a's business.
    since = s["next_batch"]
    c.ok("POST", "/keys/upload", {"device_keys": device_keys(c)})
    _, s = a.sync(since=since)
    assert c.user_id not in s.get("device_lists", {}).get("changed", [])
    # c joins: changed; b leaves: left.
    since = s["next_batch"]
    c.join(room)
    b.room_post(room, "leave")
    _, s = a.sync(since=since)
    assert c.user_id in s["device_lists"]["changed"]
    assert s["device_lists"]["left"] == [b.user_id]
    resp = a.ok("GET", "/keys/changes?from=" + q(since))
    assert c.user_id in resp["changed"] and resp["left"] == [b.user_id]


def test_new_device_and_logout(stack, uniq):
    name = uniq("dln")
    a = User.register(stack, uniq("dlo"))
    b1 = User.register(stack, name, "pw-" + name)
    shared_room(a, b1)
    since = a.sync()[1]["next_batch"]
    b2 = login_again(stack, b1, "pw-" + name)
    b2.ok("POST", "/keys/upload", {"device_keys": device_keys(b2),
                                   "one_time_keys": otks("n", 3)})
    _, s = a.sync(since=since)
    assert b1.user_id in s["device_lists"]["changed"]
    assert b2.device_id in a.ok("POST", "/keys/query", {"device_keys": {b1.user_id: []}})[
        "device_keys"][b1.user_id]
    # A message waits for b2; b2 logs out: its keys and the message go.
    to_device(a, "m.x", "bye", {b1.user_id: {b2.device_id: {"x": 1}}})
    since = s["next_batch"]
    b2.ok("POST", "/logout", {})
    _, s = a.sync(since=since)
    assert b1.user_id in s["device_lists"]["changed"]
    assert a.ok("POST", "/keys/query", {"device_keys": {b1.user_id: []}})[
        "device_keys"][b1.user_id] == {}
    r = a.ok("POST", "/keys/claim", {"one_time_keys": {b1.user_id: {b2.device_id: OTK}}})
    assert r["one_time_keys"] == {}


# --- a real client -----------------------------------------------------------

async def _nio_client(stack, u, store):
    cfg = nio.AsyncClientConfig(encryption_enabled=True, store_sync_tokens=True)
    c = nio.AsyncClient(stack.base, u.user_id, device_id=u.device_id, store_path=store,
                        config=cfg)
    c.restore_login(u.user_id, u.device_id, u.token)
    return c


def test_nio_olm_megolm_round_trip(stack, uniq):
    """Two nio clients upload keys, A claims B's one-time key, sets up an
    Olm session, shares its Megolm session by to-device, and B decrypts
    A's message in an encrypted room; B's second device then reaches A's
    client through device_lists.changed and /keys/query."""
    bname = uniq("niob")
    a, b = User.register(stack, uniq("nioa")), User.register(stack, bname)
    room = a.create_room(preset="private_chat", invite=[b.user_id], initial_state=[
        {"type": "m.room.encryption", "state_key": "",
         "content": {"algorithm": "m.megolm.v1.aes-sha2"}}])
    b.join(room)

    async def go(da, db, db2):
        ca, cb = await _nio_client(stack, a, da), await _nio_client(stack, b, db)
        try:
            for c in (ca, cb):
                r = await c.sync(timeout=0, full_state=True)
                assert isinstance(r, nio.SyncResponse), r
                if c.should_upload_keys:
                    assert isinstance(await c.keys_upload(), nio.KeysUploadResponse)
            await ca.sync(timeout=0)
            if ca.should_query_keys:
                assert isinstance(await ca.keys_query(), nio.KeysQueryResponse)
            # A trusts B's device, as a user who compared keys would.
            for dev in ca.device_store.active_user_devices(b.user_id):
                ca.verify_device(dev)
            sent = await ca.room_send(room, "m.room.message",
                                      {"msgtype": "m.text", "body": "secret hello"},
                                      ignore_unverified_devices=True)
            assert isinstance(sent, nio.RoomSendResponse), sent
            body = None
            for _ in range(5):
                r = await cb.sync(timeout=3000)
                assert isinstance(r, nio.SyncResponse), r
                for ev in r.rooms.join.get(room, nio.RoomInfo([], [], [], [])).timeline.events \
                        if room in r.rooms.join else []:
                    if isinstance(ev, nio.RoomMessageText):
                        body = ev.body
                if body:
                    break
            # B logs in on a second device: A's client hears of it and sees it.
            b2 = login_again(stack, b, "pw-" + bname)
            cb2 = await _nio_client(stack, b2, db2)
            try:
                await cb2.sync(timeout=0)
                assert isinstance(await cb2.keys_upload(), nio.KeysUploadResponse)
            finally:
                await cb2.close()
            r = await ca.sync(timeout=0)
            changed = r.device_list.changed
            assert isinstance(await ca.keys_query(), nio.KeysQueryResponse)
            devices = {d.id for d in ca.device_store.active_user_devices(b.user_id)}
            return body, sent.event_id, changed, devices, b2.device_id
        finally:
            await ca.close()
            await cb.close()

    with tempfile.TemporaryDirectory() as da, tempfile.TemporaryDirectory() as db, \
            tempfile.TemporaryDirectory() as db2:
        body, event_id, changed, devices, second = asyncio.run(go(da, db, db2))
    assert body == "secret hello"
    assert b.user_id in changed
    assert devices == {b.device_id, second}
    # What went through the server was ciphertext.
    status, ev = b.call("GET", "/rooms/%s/event/%s" % (q(room), q(event_id)))
    assert status == 200 and ev["type"] == "m.room.encrypted"
    assert "secret hello" not in str(ev)


# --- key backup --------------------------------------------------------------

def kbd(fmi, fc=0, verified=False, data="opaque"):
    return {"first_message_index": fmi, "forwarded_count": fc, "is_verified": verified,
            "session_data": data}


def test_key_backup_round_trip(stack, uniq):
    u = User.register(stack, uniq("kb"))
    status, resp = u.call("GET", "/room_keys/version")
    assert (status, resp["errcode"]) == (404, "M_NOT_FOUND")
    v1 = u.ok("POST", "/room_keys/version", {"algorithm": "m.megolm_backup.v1",
                                            "auth_data": {"public_key": "pk"}})["version"]
    info = u.ok("GET", "/room_keys/version")
    assert info == {"algorithm": "m.megolm_backup.v1", "auth_data": {"public_key": "pk"},
                    "count": 0, "etag": info["etag"], "version": v1}
    assert u.ok("PUT", "/room_keys/version/" + v1,
                {"algorithm": "m.megolm_backup.v1", "auth_data": {"public_key": "pk2"},
                 "version": v1}) == {}
    status, resp = u.call("PUT", "/room_keys/version/" + v1,
                          {"algorithm": "other", "auth_data": {}})
    assert (status, resp["errcode"]) == (400, "M_INVALID_PARAM")
    assert u.ok("GET", "/room_keys/version/" + v1)["auth_data"] == {"public_key": "pk2"}

    # Three levels of upload and reading back.
    r = u.ok("PUT", "/room_keys/keys?version=" + v1,
             {"rooms": {"!r1:x": {"sessions": {"s1": kbd(5), "s2": kbd(1)}}}})
    assert r["count"] == 2
    etag = r["etag"]
    r = u.ok("PUT", "/room_keys/keys/%s?version=%s" % (q("!r2:x"), v1),
             {"sessions": {"s3": kbd(0)}})
    assert r["count"] == 3 and r["etag"] != etag
    u.ok("PUT", "/room_keys/keys/%s/s4?version=%s" % (q("!r2:x"), v1), kbd(2))
    allk = u.ok("GET", "/room_keys/keys?version=" + v1)
    assert sorted(allk["rooms"]) == ["!r1:x", "!r2:x"]
    assert sorted(allk["rooms"]["!r2:x"]["sessions"]) == ["s3", "s4"]
    assert u.ok("GET", "/room_keys/keys/%s?version=%s" % (q("!r1:x"), v1))[
        "sessions"]["s2"] == kbd(1)
    assert u.ok("GET", "/room_keys/keys/%s/s1?version=%s" % (q("!r1:x"), v1)) == kbd(5)
    assert u.ok("GET", "/room_keys/keys/%s?version=%s" % (q("!none:x"), v1)) == {"sessions": {}}
    status, resp = u.call("GET", "/room_keys/keys/%s/nope?version=%s" % (q("!r1:x"), v1))
    assert (status, resp["errcode"]) == (404, "M_NOT_FOUND")

    # Replace rules: a lower index wins, a higher one does not, verified beats both.
    path = "/room_keys/keys/%s/s1?version=%s" % (q("!r1:x"), v1)
    u.ok("PUT", path, kbd(3, data="better"))
    u.ok("PUT", path, kbd(4, data="worse"))
    assert u.ok("GET", path)["session_data"] == "better"
    u.ok("PUT", path, kbd(9, verified=True, data="verified"))
    u.ok("PUT", path, kbd(0, data="unverified"))
    assert u.ok("GET", path)["session_data"] == "verified"
    u.ok("PUT", path, kbd(9, fc=0, verified=True, data="same-index-fewer-forwards"))
    assert u.ok("GET", path)["session_data"] == "verified"

    # A newer version: the old one takes no more keys.
    v2 = u.ok("POST", "/room_keys/version", {"algorithm": "m.megolm_backup.v1",
                                            "auth_data": "x"})["version"]
    status, resp = u.call("PUT", path, kbd(0))
    assert (status, resp["errcode"], resp["current_version"]) == (
        403, "M_WRONG_ROOM_KEYS_VERSION", v2)
    # Deleting: keys at each level, then the version.
    r = u.call("DELETE", "/room_keys/keys/%s/s1?version=%s" % (q("!r1:x"), v1))[1]
    assert r["count"] == 3
    assert u.ok("DELETE", "/room_keys/keys/%s?version=%s" % (q("!r2:x"), v1))["count"] == 1
    assert u.ok("DELETE", "/room_keys/keys?version=" + v1)["count"] == 0
    assert u.ok("DELETE", "/room_keys/version/" + v2) == {}
    assert u.ok("GET", "/room_keys/version")["version"] == v1
    for path in ("/room_keys/version/" + v2, "/room_keys/version/bogus",
                 "/room_keys/keys?version=" + v2):
        status, resp = u.call("GET", path)
        assert (status, resp["errcode"]) == (404, "M_NOT_FOUND"), path
    status, resp = u.call("PUT", "/room_keys/keys?version=" + v1, {"rooms": {"!r": {}}})
    assert (status, resp["errcode"]) == (400, "M_BAD_JSON")


# --- cross-signing -----------------------------------------------------------

def canonical(obj):
    import json
    o = {k: v for k, v in obj.items() if k not in ("signatures", "unsigned")}
    return json.dumps(o, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class Signer:
    """An ed25519 key (olm's PkSigning) that signs JSON as the spec says."""

    def __init__(self):
        import olm
        self.key = olm.PkSigning(olm.PkSigning.generate_seed())
        self.pub = self.key.public_key

    def xkey(self, user_id, usage):
        return {"user_id": user_id, "usage": [usage],
                "keys": {"ed25519:" + self.pub: self.pub}}

    def sign(self, obj, user_id, key_id=None):
        obj = dict(obj)
        sigs = {u: dict(s) for u, s in obj.get("signatures", {}).items()}
        sigs.setdefault(user_id, {})["ed25519:" + (key_id or self.pub)] = \
            self.key.sign(canonical(obj))
        obj["signatures"] = sigs
        return obj


def password_auth(u, session):
    name = u.user_id.split(":")[0][1:]
    return {"type": "m.login.password", "session": session, "password": "pw-" + name,
            "identifier": {"type": "m.id.user", "user": u.user_id}}


def test_cross_signing_upload_query_and_uia(stack, uniq):
    a, b, c = (User.register(stack, uniq(n)) for n in ("xsa", "xsb", "xsc"))
    master, ssk, usk = Signer(), Signer(), Signer()
    body = {"master_key": master.xkey(a.user_id, "master"),
            "self_signing_key": master.sign(ssk.xkey(a.user_id, "self_signing"), a.user_id),
            "user_signing_key": master.sign(usk.xkey(a.user_id, "user_signing"), a.user_id)}
    # The first upload needs no UIA.
    assert a.ok("POST", "/keys/device_signing/upload", body) == {}
    seen = b.ok("POST", "/keys/query", {"device_keys": {a.user_id: []}})
    assert seen["master_keys"][a.user_id]["keys"] == {"ed25519:" + master.pub: master.pub}
    assert seen["self_signing_keys"][a.user_id]["usage"] == ["self_signing"]
    assert a.user_id not in seen["user_signing_keys"]
    own = a.ok("POST", "/keys/query", {"device_keys": {a.user_id: []}})
    assert own["user_signing_keys"][a.user_id]["keys"] == {"ed25519:" + usk.pub: usk.pub}

    # Replacing needs the password.
    new_master = Signer()
    repl = {"master_key": new_master.xkey(a.user_id, "master")}
    status, resp = a.call("POST", "/keys/device_signing/upload", repl)
    assert status == 401 and resp["session"]
    repl["auth"] = password_auth(a, resp["session"])
    assert a.ok("POST", "/keys/device_signing/upload", repl) == {}
    assert b.ok("POST", "/keys/query", {"device_keys": {a.user_id: []}})[
        "master_keys"][a.user_id]["keys"] == {"ed25519:" + new_master.pub: new_master.pub}

    # No master key to verify a self-signing key; a key not signed by the master.
    status, resp = c.call("POST", "/keys/device_signing/upload",
                          {"self_signing_key": ssk.xkey(c.user_id, "self_signing")})
    assert (status, resp["errcode"]) == (400, "M_INVALID_PARAM")
    cm = Signer()
    status, resp = c.call("POST", "/keys/device_signing/upload", {
        "master_key": cm.xkey(c.user_id, "master"),
        "self_signing_key": Signer().sign(ssk.xkey(c.user_id, "self_signing"), c.user_id)})
    assert (status, resp["errcode"]) == (400, "M_INVALID_SIGNATURE")
    status, resp = c.call("POST", "/keys/device_signing/upload",
                          {"master_key": cm.xkey(a.user_id, "master")})
    assert (status, resp["errcode"]) == (400, "M_INVALID_PARAM")
    assert c.ok("POST", "/keys/query", {"device_keys": {c.user_id: []}})["master_keys"] == {}


def test_signatures_upload(stack, uniq):
    a, b = User.register(stack, uniq("sga")), User.register(stack, uniq("sgb"))
    room = shared_room(a, b)
    signers = {}
    for u in (a, b):
        m, s, us = Signer(), Signer(), Signer()
        signers[u.user_id] = (m, s, us)
        u.ok("POST", "/keys/device_signing/upload", {
            "master_key": m.xkey(u.user_id, "master"),
            "self_signing_key": m.sign(s.xkey(u.user_id, "self_signing"), u.user_id),
            "user_signing_key": m.sign(us.xkey(u.user_id, "user_signing"), u.user_id)})
    dk = device_keys(a)
    a.ok("POST", "/keys/upload", {"device_keys": dk})
    m, s, us = signers[a.user_id]
    since = b.sync()[1]["next_batch"]
    bm = signers[b.user_id][0].xkey(b.user_id, "master")
    resp = a.ok("POST", "/keys/signatures/upload", {
        a.user_id: {a.device_id: s.sign(dk, a.user_id),
                    "NOSUCHKEY": s.sign({"x": 1}, a.user_id)},
        b.user_id: {signers[b.user_id][0].pub: us.sign(bm, a.user_id)}})
    assert resp["failures"][a.user_id]["NOSUCHKEY"]["errcode"] == "M_NOT_FOUND"
    assert list(resp["failures"]) == [a.user_id]
    # A bad signature is a failure and is not stored.
    forged = dict(dk, signatures={a.user_id: {"ed25519:" + s.pub: "AAAA" * 22}})
    resp = a.ok("POST", "/keys/signatures/upload", {a.user_id: {a.device_id: forged}})
    assert resp["failures"][a.user_id][a.device_id]["errcode"] == "M_INVALID_SIGNATURE"

    got = b.ok("POST", "/keys/query", {"device_keys": {a.user_id: [], b.user_id: []}})
    sigs = got["device_keys"][a.user_id][a.device_id]["signatures"][a.user_id]
    assert sigs["ed25519:" + s.pub] == s.sign(dk, a.user_id)["signatures"][a.user_id][
        "ed25519:" + s.pub]
    # a's signature of b's master key is a's business: b does not see it, a does.
    assert a.user_id not in got["master_keys"][b.user_id].get("signatures", {})
    mine = a.ok("POST", "/keys/query", {"device_keys": {b.user_id: []}})
    assert "ed25519:" + us.pub in mine["master_keys"][b.user_id]["signatures"][a.user_id]
    # The signed device shows as a device-list change.
    _, sy = b.sync(since=since)
    assert a.user_id in sy["device_lists"]["changed"]
    assert room


def test_user_signing_changes_are_private(stack, uniq):
    a, b = User.register(stack, uniq("xpa")), User.register(stack, uniq("xpb"))
    shared_room(a, b)
    m, bm = Signer(), Signer()
    a.ok("POST", "/keys/device_signing/upload", {"master_key": m.xkey(a.user_id, "master")})
    b.ok("POST", "/keys/device_signing/upload", {"master_key": bm.xkey(b.user_id, "master")})
    since_a, since_b = a.sync()[1]["next_batch"], b.sync()[1]["next_batch"]
    usk = Signer()
    body = {"user_signing_key": m.sign(usk.xkey(a.user_id, "user_signing"), a.user_id)}
    status, resp = a.call("POST", "/keys/device_signing/upload", body)
    assert status == 401
    body["auth"] = password_auth(a, resp["session"])
    a.ok("POST", "/keys/device_signing/upload", body)
    _, sb = b.sync(since=since_b)
    assert a.user_id not in sb.get("device_lists", {}).get("changed", [])
    _, sa = a.sync(since=since_a)
    assert a.user_id in sa["device_lists"]["changed"]
    # a signs b's master key: a hears of b, b hears nothing.
    since_a, since_b = sa["next_batch"], sb["next_batch"]
    resp = a.ok("POST", "/keys/signatures/upload", {
        b.user_id: {bm.pub: usk.sign(bm.xkey(b.user_id, "master"), a.user_id)}})
    assert resp["failures"] == {}
    _, sa = a.sync(since=since_a)
    assert sa["device_lists"]["changed"] == [b.user_id]
    _, sb = b.sync(since=since_b)
    assert "device_lists" not in sb


def test_admin_shows_devices_and_keys(stack, uniq):
    import json
    u = User.register(stack, uniq("adm"))
    u.ok("POST", "/keys/upload", {"device_keys": device_keys(u), "one_time_keys": otks("m", 3),
                                  "fallback_keys": {OTK + ":f": {"key": "f"}}})
    r = stack.admin("user", "devices", u.user_id, json_out=True)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    (d,) = out["devices"]
    assert d["device_id"] == u.device_id
    assert d["keys"]["keys"] == device_keys(u)["keys"]
    assert d["one_time_key_counts"] == {OTK: 3}
    assert d["unused_fallback_key_types"] == [OTK]
    r = stack.admin("user", "devices", u.user_id)
    assert r.returncode == 0 and u.device_id in r.stdout and "uploaded" in r.stdout
