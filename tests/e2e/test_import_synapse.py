"""myelin-admin import-synapse (issue 16, docs/beside-synapse.md "Leaving
Synapse"): a real Synapse 1.67 (../shared/peers/synapse) where matrix-nio
made users with device keys, a room with several hundred messages, state
changes, a redaction and account data is stopped and imported into fresh
myelin stacks; the same users log in with the same passwords, an old
access token works, the history reads the same in the same order through
/messages and /sync, and the device keys are there.  An import killed
partway resumes and ends with the same counts.

Synapse runs on SQLite, or on PostgreSQL when MYELIN_TEST_PG is set (each
myelin stack then gets a database of its own).  Skipped only when the
Synapse kit is absent.
"""
import asyncio
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time

import nio
import pytest
import signedjson.key
import signedjson.sign

from conftest import ROOT, free_port, own_pg_database, q, start_stack, stop_stack
from test_beside_synapse import KIT, NAME, http, jbody

BIN = os.environ.get("MYELIN_BIN", os.path.join(ROOT, "build", "bin"))
PW = {"alice": "pw-import-alice", "bob": "pw-import-bob"}
MESSAGES = 300


def cs(base, method, path, token=None, body=None):
    st, raw, _ = http(method, base + "/_matrix/client/v3" + path,
                      json.dumps(body).encode() if body is not None else None, token=token,
                      ctype="application/json" if body is not None else None)
    return st, jbody(raw)


def ok(base, method, path, token=None, body=None):
    st, b = cs(base, method, path, token, body)
    assert st == 200, (method, path, st, b)
    return b


def history(base, token, room):
    """Every event ID of the room through /messages, newest first, and the
    redacted event's content."""
    ids, frm, contents = [], None, {}
    sync = ok(base, "GET", "/sync?timeout=0", token)
    frm = sync["rooms"]["join"][room]["timeline"]["prev_batch"]
    tl = [e["event_id"] for e in sync["rooms"]["join"][room]["timeline"]["events"]]
    for e in sync["rooms"]["join"][room]["timeline"]["events"]:
        contents[e["event_id"]] = e.get("content")
    ids = list(reversed(tl))
    while True:
        page = ok(base, "GET", "/rooms/%s/messages?dir=b&limit=100&from=%s" % (q(room), q(frm)),
                  token)
        for e in page.get("chunk", []):
            ids.append(e["event_id"])
            contents[e["event_id"]] = e.get("content")
        if not page.get("chunk") or "end" not in page:
            break
        frm = page["end"]
    return tl, ids, contents


def xsign_keys(uid):
    """A master, self-signing and user-signing key of uid, the other two
    signed by the master, as a client uploads them."""
    out, master = {}, None
    for usage in ("master", "self_signing", "user_signing"):
        sk = signedjson.key.generate_signing_key("x")
        pub = signedjson.key.encode_verify_key_base64(signedjson.key.get_verify_key(sk))
        sk.version = pub
        key = {"user_id": uid, "usage": [usage], "keys": {"ed25519:" + pub: pub}}
        if usage == "master":
            master = sk
        else:
            signedjson.sign.sign_json(key, uid, master)
        out[usage + "_key"] = key
    return out


def nio_e2ee_login(base, user, store):
    """Logs user in with nio (a device of its own) and uploads its device
    and one-time keys; returns (access_token, device_id)."""
    async def go():
        cfg = nio.AsyncClientConfig(encryption_enabled=True, store_sync_tokens=True)
        c = nio.AsyncClient(base, "@%s:%s" % (user, NAME), store_path=store, config=cfg)
        try:
            r = await c.login(PW[user], device_name="nio " + user)
            assert isinstance(r, nio.LoginResponse), r
            await c.sync(timeout=0, full_state=True)
            if c.should_upload_keys:
                assert isinstance(await c.keys_upload(), nio.KeysUploadResponse)
            return c.access_token, c.device_id
        finally:
            await c.close()
    return asyncio.run(go())


@pytest.fixture(scope="module")
def source():
    """A stopped Synapse whose database holds what nio and raw requests
    made, and what its clients saw before it stopped."""
    if not KIT:
        pytest.skip("no Synapse kit in ../shared/peers/synapse")
    if os.getuid() == 0:
        subprocess.run([os.path.join(KIT, "setup")], check=True, capture_output=True,
                       timeout=600)
    d = tempfile.mkdtemp(prefix="myelin-import-")
    hs = os.path.join(d, "hs")
    os.makedirs(hs)
    media = os.path.join(d, "media_store")
    os.makedirs(media)
    with open(os.path.join(hs, "extra.yaml"), "w") as f:
        f.write("media_store_path: %s\n" % media)
    port = free_port()
    argv = [os.path.join(KIT, "run"), "start", hs, "--server-name", NAME, "--client-port",
            str(port)]
    pg = own_pg_database("synimport") if os.environ.get("MYELIN_TEST_PG") else None
    if pg:
        db = re.search(r"dbname=(\S+)", pg).group(1)
        subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", os.environ["MYELIN_TEST_PG"],
                        "-c", 'DROP DATABASE "%s"' % db, "-c",
                        "CREATE DATABASE \"%s\" ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
                        " TEMPLATE template0" % db], check=True, capture_output=True,
                       timeout=60)
        argv += ["--postgres", pg]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr
    base = "http://127.0.0.1:%d" % port
    try:
        for u in ("alice", "bob"):
            r = subprocess.run([os.path.join(KIT, "run"), "register", hs, u, PW[u]],
                               capture_output=True, text=True, timeout=60)
            assert r.returncode == 0, r.stderr
        r = subprocess.run([os.path.join(KIT, "run"), "register", hs, "root", "pw-import-root",
                            "--admin"], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        root = re.search(r"SYNAPSE_ACCESS_TOKEN='?([^'\n]+)", r.stdout).group(1)
        tok, dev = {}, {}
        for u in ("alice", "bob"):
            tok[u], dev[u] = nio_e2ee_login(base, u, tempfile.mkdtemp(dir=d))
        a, b = tok["alice"], tok["bob"]
        ok(base, "PUT", "/profile/%s/displayname" % q("@alice:" + NAME), a,
           {"displayname": "Alice Imported"})
        room = ok(base, "POST", "/createRoom", a, {
            "name": "before", "room_alias_name": "imported", "visibility": "public",
            "preset": "public_chat"})["room_id"]
        ok(base, "POST", "/rooms/%s/join" % q(room), b, {})
        sent = []
        for i in range(MESSAGES):
            who = a if i % 3 else b
            sent.append(ok(base, "PUT", "/rooms/%s/send/m.room.message/t%d" % (q(room), i), who,
                           {"msgtype": "m.text", "body": "message %d" % i})["event_id"])
            if i == 100:
                ok(base, "PUT", "/rooms/%s/state/m.room.topic" % q(room), a,
                   {"topic": "imported history"})
            if i == 150:
                ok(base, "PUT", "/rooms/%s/state/m.room.name" % q(room), a, {"name": "after"})
            if i == 200:
                pl = ok(base, "GET", "/rooms/%s/state/m.room.power_levels" % q(room), a)
                pl["users"]["@bob:" + NAME] = 50
                ok(base, "PUT", "/rooms/%s/state/m.room.power_levels" % q(room), a, pl)
        redacted = sent[42]
        ok(base, "PUT", "/rooms/%s/redact/%s/r1" % (q(room), q(redacted)), a,
           {"reason": "oops"})
        ok(base, "PUT", "/user/%s/account_data/org.example.global" % q("@alice:" + NAME), a,
           {"answer": 42})
        ok(base, "PUT", "/user/%s/rooms/%s/account_data/org.example.room" %
           (q("@alice:" + NAME), q(room)), a, {"per": "room"})
        ok(base, "PUT", "/user/%s/rooms/%s/tags/u.work" % (q("@alice:" + NAME), q(room)), a,
           {"order": 0.5})
        ok(base, "PUT", "/pushrules/global/content/kw1", a,
           {"pattern": "cake", "actions": ["notify"]})
        ok(base, "PUT", "/pushrules/global/override/ov2", a,
           {"conditions": [{"kind": "event_match", "key": "type", "pattern": "org.example"}],
            "actions": ["dont_notify"]})
        ok(base, "PUT", "/pushrules/global/override/ov1?before=ov2", a,
           {"conditions": [], "actions": ["notify"]})
        ok(base, "PUT", "/pushrules/global/override/.m.rule.suppress_notices/enabled", a,
           {"enabled": False})
        pusher = {"kind": "http", "app_id": "org.example.app", "app_display_name": "Example",
                  "device_display_name": "phone", "profile_tag": "tag1",
                  "pushkey": "pk-alice", "lang": "en",
                  "data": {"url": "http://127.0.0.1:9/_matrix/push/v1/notify",
                           "format": "event_id_only"}}
        ok(base, "POST", "/pushers/set", a, pusher)
        # A room whose older history Synapse purged: what is left starts
        # with events whose prev events are gone, imported on the state
        # Synapse recorded for them.
        purged = ok(base, "POST", "/createRoom", a, {"name": "purged",
                                                    "preset": "public_chat"})["room_id"]
        ok(base, "POST", "/rooms/%s/join" % q(purged), b, {})
        cut = None
        for i in range(30):
            eid = ok(base, "PUT", "/rooms/%s/send/m.room.message/p%d" % (q(purged), i), a,
                     {"msgtype": "m.text", "body": "purged %d" % i})["event_id"]
            if i == 19:
                cut = eid
            if i == 10:
                ok(base, "PUT", "/rooms/%s/state/m.room.topic" % q(purged), a,
                   {"topic": "kept"})
        st, raw, _ = http("POST", base + "/_synapse/admin/v1/purge_history/%s" % q(purged),
                          json.dumps({"delete_local_events": True,
                                      "purge_up_to_event_id": cut}).encode(), token=root,
                          ctype="application/json")
        assert st == 200, raw
        pid = jbody(raw)["purge_id"]
        for _ in range(600):
            st, raw, _ = http("GET", base + "/_synapse/admin/v1/purge_history_status/" + pid,
                              token=root)
            if jbody(raw)["status"] != "active":
                break
            time.sleep(0.1)
        assert jbody(raw)["status"] == "complete", raw
        ok(base, "PUT", "/rooms/%s/send/m.room.message/p-after" % q(purged), b,
           {"msgtype": "m.text", "body": "after the purge"})
        # Cross-signing keys (through user-interactive auth, as Synapse
        # 1.67 asks) and a key backup with one session.
        xs = xsign_keys("@alice:" + NAME)
        st, body = cs(base, "POST", "/keys/device_signing/upload", a, xs)
        assert st == 401, body
        ok(base, "POST", "/keys/device_signing/upload", a, dict(xs, auth={
            "type": "m.login.password", "session": body["session"], "password": PW["alice"],
            "identifier": {"type": "m.id.user", "user": "alice"}}))
        backup = {"algorithm": "m.megolm_backup.v1.curve25519-aes-sha2",
                  "auth_data": {"public_key": "cHVibGlj", "signatures": {}}}
        bv = ok(base, "POST", "/room_keys/version", a, backup)["version"]
        session = {"first_message_index": 1, "forwarded_count": 0, "is_verified": False,
                   "session_data": {"ephemeral": "ZQ", "ciphertext": "Yw", "mac": "bQ"}}
        ok(base, "PUT", "/room_keys/keys/%s/sess1?version=%s" % (q(room), bv), a, session)
        ok(base, "POST", "/rooms/%s/receipt/m.read/%s" % (q(room), q(sent[-1])), b, {})
        ok(base, "PUT", "/devices/%s" % q(dev["alice"]), a, {"display_name": "alice's laptop"})
        r = subprocess.run([os.path.join(KIT, "run"), "register", hs, "carol", "pw-carol"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        st, raw, _ = http("POST", base + "/_synapse/admin/v1/deactivate/%s" %
                          q("@carol:" + NAME), b"{}", token=root, ctype="application/json")
        assert st == 200, raw
        blob = os.urandom(3000)
        st, raw, _ = http("POST", base + "/_matrix/media/v3/upload?filename=a.bin", blob,
                          token=a, ctype="application/octet-stream")
        assert st == 200, raw
        media_id = jbody(raw)["content_uri"].split("/")[-1]
        seen = {
            "tl": None, "ids": None, "contents": None,
            "joined": ok(base, "GET", "/joined_rooms", a)["joined_rooms"],
            "keys": ok(base, "POST", "/keys/query", a,
                       {"device_keys": {"@bob:" + NAME: []}})["device_keys"],
            "state": {e["type"] + "|" + e["state_key"]: e["event_id"]
                      for e in ok(base, "GET", "/rooms/%s/state" % q(room), a)},
        }
        seen["tl"], seen["ids"], seen["contents"] = history(base, a, room)
        seen["purged"] = history(base, a, purged)[1]
        seen["purged_state"] = {e["type"] + "|" + e["state_key"]: e["event_id"] for e in
                                ok(base, "GET", "/rooms/%s/state" % q(purged), a)}
        assert len(seen["ids"]) > MESSAGES
        assert seen["contents"][redacted] == {}
        assert "@bob:" + NAME in seen["keys"] and dev["bob"] in seen["keys"]["@bob:" + NAME]
    finally:
        subprocess.run([os.path.join(KIT, "run"), "stop", hs], capture_output=True,
                       timeout=60)
    src = pg or os.path.join(hs, "homeserver.db")
    yield dict(pusher=pusher, sent=sent, xs=xs, backup=backup, session=session, purged=purged, src=src, media=media, blob=blob, media_id=media_id, room=room, tok=tok, dev=dev, seen=seen, redacted=redacted, dir=d)
    shutil.rmtree(d, ignore_errors=True)


def fresh_stack():
    return start_stack(pg=own_pg_database("imported") if os.environ.get("MYELIN_TEST_PG")
                       else None)


def admin_argv(stack, *args):
    return [os.path.join(BIN, "myelin-admin"), "-c", stack.conf] + list(args)


def counts(stdout):
    """{kind: (synapse, myelin)} of the table import-synapse prints."""
    out = {}
    for line in stdout.splitlines():
        m = re.match(r"^(\S.*?)\s+(\d+)\s+(\d+)(\s+differs)?$", line)
        if m:
            out[m.group(1)] = (int(m.group(2)), int(m.group(3)))
    return out


@pytest.fixture(scope="module")
def imported(source):
    stack = fresh_stack()
    try:
        r = subprocess.run(admin_argv(stack, "import-synapse", "--from", source["src"],
                                      "--media-store", source["media"], "--copy-media"),
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, (r.stdout, r.stderr)
        stack.counts = counts(r.stdout)
        stack.progress = r.stderr
        yield stack
    finally:
        stop_stack(stack)


def test_counts_match_and_progress_shows(imported):
    c = imported.counts
    for kind in ("media", "users", "devices", "access tokens", "rooms", "events", "current state",
                 "forward extremities", "aliases", "account data", "device keys",
                 "one-time keys", "cross-signing keys"):
        assert kind in c, imported.counts
        assert c[kind][0] == c[kind][1], (kind, c[kind])
    assert c["users"][0] == 4 and c["events"][0] > MESSAGES
    assert re.search(r"import-synapse: events\s+\d+/\d+", imported.progress)


def test_same_password_logs_in(imported):
    st, body = imported.login("alice", PW["alice"])
    assert st == 200, body
    assert body["user_id"] == "@alice:" + NAME
    st, body = imported.login("alice", "not-the-password")
    assert st == 403 and body["errcode"] == "M_FORBIDDEN"


def test_flags_devices_and_receipts(imported, source):
    st, body = imported.login("carol", "pw-carol")
    assert st in (401, 403) and body["errcode"] in ("M_USER_DEACTIVATED", "M_FORBIDDEN"), body
    r = imported.admin("--json", "user", "show", "root")
    assert r.returncode == 0 and json.loads(r.stdout)["admin"] is True, (r.stdout, r.stderr)
    a = source["tok"]["alice"]
    devs = {d["device_id"]: d.get("display_name")
            for d in ok(imported.base, "GET", "/devices", a)["devices"]}
    assert devs[source["dev"]["alice"]] == "alice's laptop"
    s = ok(imported.base, "GET", "/sync?timeout=0", a)
    eph = s["rooms"]["join"][source["room"]]["ephemeral"]["events"]
    rec = [e for e in eph if e["type"] == "m.receipt"]
    assert rec and "@bob:" + NAME in rec[0]["content"][source["sent"][-1]]["m.read"], eph


def test_old_access_token_works(imported, source):
    st, body = imported.request("GET", "/_matrix/client/v3/account/whoami",
                                token=source["tok"]["alice"])
    assert st == 200, body
    assert body["user_id"] == "@alice:" + NAME
    assert body.get("device_id") == source["dev"]["alice"]


def test_same_rooms_history_and_order(imported, source):
    a, room, seen = source["tok"]["alice"], source["room"], source["seen"]
    assert sorted(ok(imported.base, "GET", "/joined_rooms", a)["joined_rooms"]) == \
        sorted(seen["joined"])
    tl, ids, contents = history(imported.base, a, room)
    assert tl == seen["tl"]
    assert ids == seen["ids"]
    assert contents[source["redacted"]] == {}
    state = {e["type"] + "|" + e["state_key"]: e["event_id"]
             for e in ok(imported.base, "GET", "/rooms/%s/state" % q(room), a)}
    assert state == seen["state"]
    assert ok(imported.base, "GET", "/rooms/%s/state/m.room.topic" % q(room), a) == {
        "topic": "imported history"}
    # The directory and the alias came along.
    st, body = cs(imported.base, "GET", "/directory/room/%s" % q("#imported:" + NAME))
    assert st == 200 and body["room_id"] == room
    pub = ok(imported.base, "GET", "/publicRooms")
    assert room in [r["room_id"] for r in pub["chunk"]]


def test_purged_history_imports_on_synapse_state(imported, source):
    """Synapse purged the start of this room: the first events left name
    prev events nobody has; they go in on the state Synapse recorded."""
    a, room, seen = source["tok"]["alice"], source["purged"], source["seen"]
    assert room in ok(imported.base, "GET", "/joined_rooms", a)["joined_rooms"]
    assert history(imported.base, a, room)[1] == seen["purged"]
    state = {e["type"] + "|" + e["state_key"]: e["event_id"]
             for e in ok(imported.base, "GET", "/rooms/%s/state" % q(room), a)}
    assert state == seen["purged_state"]
    # A new message builds on the imported tip.
    ok(imported.base, "PUT", "/rooms/%s/send/m.room.message/new1" % q(room), a,
       {"msgtype": "m.text", "body": "on myelin"})


def test_profile_account_data_and_keys(imported, source):
    a, room = source["tok"]["alice"], source["room"]
    uid = "@alice:" + NAME
    assert ok(imported.base, "GET", "/profile/%s/displayname" % q(uid))["displayname"] == \
        "Alice Imported"
    assert ok(imported.base, "GET", "/user/%s/account_data/org.example.global" % q(uid),
              a) == {"answer": 42}
    assert ok(imported.base, "GET", "/user/%s/rooms/%s/account_data/org.example.room" %
              (q(uid), q(room)), a) == {"per": "room"}
    assert ok(imported.base, "GET", "/user/%s/rooms/%s/tags" % (q(uid), q(room)),
              a)["tags"] == {"u.work": {"order": 0.5}}
    keys = ok(imported.base, "POST", "/keys/query", a,
              {"device_keys": {"@bob:" + NAME: []}})["device_keys"]
    bob, dev = "@bob:" + NAME, source["dev"]["bob"]
    mine, theirs = keys[bob][dev], source["seen"]["keys"][bob][dev]
    for k in ("keys", "signatures", "algorithms", "device_id", "user_id"):
        assert mine[k] == theirs[k], k
    # One-time keys came too: bob's device has some to claim.
    claim = ok(imported.base, "POST", "/keys/claim", a,
               {"one_time_keys": {bob: {dev: "signed_curve25519"}}})
    assert claim["one_time_keys"][bob][dev]


def test_media_downloads_with_same_bytes(imported, source):
    st, raw, hdr = http("GET", imported.base + "/_matrix/client/v1/media/download/%s/%s" %
                        (NAME, source["media_id"]), token=source["tok"]["alice"])
    assert st == 200, raw
    assert raw == source["blob"]


def test_cross_signing_and_key_backup(imported, source):
    a, uid, room = source["tok"]["alice"], "@alice:" + NAME, source["room"]
    got = ok(imported.base, "POST", "/keys/query", a, {"device_keys": {uid: []}})
    for usage in ("master", "self_signing", "user_signing"):
        want = source["xs"][usage + "_key"]
        have = got[usage + "_keys"][uid]
        assert have["keys"] == want["keys"] and have["usage"] == want["usage"], usage
        if usage != "master":
            assert have["signatures"] == want["signatures"], usage
    v = ok(imported.base, "GET", "/room_keys/version", a)
    assert v["algorithm"] == source["backup"]["algorithm"]
    assert v["auth_data"] == source["backup"]["auth_data"]
    keys = ok(imported.base, "GET", "/room_keys/keys?version=%s" % v["version"], a)
    assert keys["rooms"][room]["sessions"]["sess1"] == source["session"]


def test_push_rules(imported, source):
    a = source["tok"]["alice"]
    kw = ok(imported.base, "GET", "/pushrules/global/content/kw1", a)
    assert kw["pattern"] == "cake" and kw["actions"] == ["notify"] and kw["enabled"]
    over = ok(imported.base, "GET", "/pushrules/", a)["global"]["override"]
    ids = [r["rule_id"] for r in over]
    assert ids.index("ov1") < ids.index("ov2")
    ov2 = [r for r in over if r["rule_id"] == "ov2"][0]
    assert ov2["conditions"] == [{"kind": "event_match", "key": "type",
                                  "pattern": "org.example"}]
    assert ok(imported.base, "GET", "/pushrules/global/override/.m.rule.suppress_notices/"
              "enabled", a) == {"enabled": False}


def test_pushers(imported, source):
    got = ok(imported.base, "GET", "/pushers", source["tok"]["alice"])["pushers"]
    assert len(got) == 1, got
    for k, v in source["pusher"].items():
        assert got[0][k] == v, k


def test_interrupted_import_resumes_to_same_counts(source, imported):
    stack = fresh_stack()
    try:
        # A dry run reads everything and writes nothing.
        r = subprocess.run(admin_argv(stack, "import-synapse", "--dry-run", "--from",
                                      source["src"]), capture_output=True, text=True,
                           timeout=600)
        assert r.returncode == 0, (r.stdout, r.stderr)
        st, _ = stack.login("alice", PW["alice"])
        assert st == 403
        p = subprocess.Popen(admin_argv(stack, "import-synapse", "--from", source["src"],
                                        "--media-store", source["media"]),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Killed once some events are in, before the end.
        for line in p.stderr:
            if re.search(r"events\s+\d+/", line):
                break
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=60)
        assert p.returncode == -signal.SIGKILL
        r = subprocess.run(admin_argv(stack, "import-synapse", "--from", source["src"],
                                      "--media-store", source["media"]),
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, (r.stdout, r.stderr)
        assert "done before" in r.stderr
        # The kill came in the middle of the events, and the run went on from there.
        m = re.search(r"events\s+resuming after (\d+)", r.stderr)
        assert m and 0 < int(m.group(1)) < imported.counts["events"][0], r.stderr
        assert counts(r.stdout) == imported.counts
        tl, ids, _ = history(stack.base, source["tok"]["alice"], source["room"])
        assert ids == source["seen"]["ids"]
        # A third run finds everything done and changes nothing.
        r = subprocess.run(admin_argv(stack, "import-synapse", "--from", source["src"],
                                      "--media-store", source["media"]),
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0 and counts(r.stdout) == imported.counts
    finally:
        stop_stack(stack)


@pytest.mark.backend("sqlite")
def test_schema_version_outside_range_refused(source, imported, tmp_path):
    """The version is changed in a copy of the SQLite file."""
    copy = str(tmp_path / "newer.db")
    shutil.copy(source["src"], copy)
    with sqlite3.connect(copy) as c:
        c.execute("UPDATE schema_version SET version = 99")
    r = subprocess.run(admin_argv(imported, "import-synapse", "--dry-run", "--from", copy),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "99" in r.stderr and "72" in r.stderr, r.stderr


@pytest.mark.backend("sqlite")
def test_other_source_refused(source, imported, tmp_path):
    """A database that holds one import takes no other source's rows
    (another source is made as a copy of the SQLite file)."""
    copy = str(tmp_path / "other.db")
    shutil.copy(source["src"], copy)
    r = subprocess.run(admin_argv(imported, "import-synapse", "--from", copy),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "another source" in r.stderr, r.stderr


def test_not_empty_refused(source):
    stack = fresh_stack()
    try:
        stack.register("already-here")
        r = subprocess.run(admin_argv(stack, "import-synapse", "--from", source["src"]),
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 1
        assert "not empty" in r.stderr, r.stderr
        st, _ = stack.login("alice", PW["alice"])
        assert st == 403
    finally:
        stop_stack(stack)


def test_link_media_hard_links(source):
    from conftest import media_path
    stack = fresh_stack()
    try:
        src = os.path.join(source["media"], "local_content", source["media_id"][:2],
                           source["media_id"][2:4], source["media_id"][4:])
        if os.stat(src).st_dev != os.stat(media_path(stack.dir)).st_dev:
            pytest.skip("Synapse's media store and media_path are on two file systems")
        r = subprocess.run(admin_argv(stack, "import-synapse", "--from", source["src"],
                                      "--media-store", source["media"], "--link-media"),
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, (r.stdout, r.stderr)
        assert os.stat(src).st_nlink == 2
        st, raw, _ = http("GET", stack.base + "/_matrix/client/v1/media/download/%s/%s" %
                          (NAME, source["media_id"]), token=source["tok"]["alice"])
        assert st == 200 and raw == source["blob"]
    finally:
        stop_stack(stack)
