"""myelin beside a running Synapse 1.67 (docs/beside-synapse.md, issue 16):
myelin-media over the database and media store a real Synapse wrote
(../shared/peers/synapse), Synapse's access tokens, and the nginx layout
that hands chosen endpoint groups to myelin and the rest to Synapse.

Synapse runs on SQLite here, or on PostgreSQL (a database of its own in
MYELIN_TEST_PG's cluster) when that is set; myelin-media reads whichever
Synapse uses.  Skipped only when the Synapse kit is absent.
"""
import json
import os
import re
import shutil
import socket
import sqlite3
import struct
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zlib
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import signedjson.key
import signedjson.sign

from conftest import (ROOT, FakeClock, free_port, own_pg_database, q, start_stack,
                      stop_stack)

KIT = next(
    (p for p in (os.path.join(os.path.dirname(ROOT), "shared", "peers", "synapse"),
                 os.path.join(os.path.dirname(os.path.dirname(ROOT)), "shared", "peers",
                              "synapse"))
     if os.path.isfile(os.path.join(p, "run"))), None)
BIN = os.environ.get("MYELIN_BIN", os.path.join(ROOT, "build", "bin"))
NAME = "localhost"


def make_png(w=64, h=48):
    """A real RGB PNG of w x h, which both thumbnailers decode."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    rows = b"".join(b"\0" + bytes(v for x in range(w) for v in (x * 4 % 256, y * 5 % 256, 128))
                    for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


PNG = make_png()


def http(method, url, body=None, token=None, ctype=None):
    """(status, bytes, headers) of one request."""
    req = urllib.request.Request(url, data=body, method=method)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    if ctype:
        req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers


def jbody(raw):
    try:
        return json.loads(raw)
    except ValueError:
        return None


class Synapse:
    def __init__(self, env, media):
        self.env = env
        self.dir = env["dir"]
        self.base = env["SYNAPSE_BASE_URL"]
        self.media = media

    def register(self, user, password="pw-beside-1", admin=False):
        out = subprocess.run([os.path.join(KIT, "run"), "register", self.dir, user, password] +
                             (["--admin"] if admin else []),
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return re.search(r"SYNAPSE_ACCESS_TOKEN='?([^'\n]+)", out.stdout).group(1)

    def login(self, user, password="pw-beside-1", **extra):
        body = {"type": "m.login.password", "password": password,
                "identifier": {"type": "m.id.user", "user": user}}
        body.update(extra)
        st, raw, _ = http("POST", self.base + "/_matrix/client/v3/login",
                          json.dumps(body).encode(), ctype="application/json")
        assert st == 200, raw
        return json.loads(raw)


@pytest.fixture(scope="module")
def beside():
    """A Synapse, and a myelin stack of the same server name whose
    myelin-media serves over Synapse's database and media store (on a
    fake clock, so that a token can be made to expire)."""
    if not KIT:
        pytest.skip("no Synapse kit in ../shared/peers/synapse")
    if os.getuid() == 0:
        subprocess.run([os.path.join(KIT, "setup")], check=True, capture_output=True,
                       timeout=600)
    d = tempfile.mkdtemp(prefix="myelin-beside-")
    # nginx's workers (nobody:nogroup under a root stack) send the files
    # out of Synapse's media store: a folder they may enter, as
    # myelin-stack makes its own.
    if os.getuid() == 0:
        os.makedirs("/var/lib/myelin", mode=0o755, exist_ok=True)
        media = tempfile.mkdtemp(prefix="syn-media.", dir="/var/lib/myelin")
        shutil.chown(media, group="nogroup")
        os.chmod(media, 0o710)
    else:
        media = os.path.join(d, "media_store")
        os.makedirs(media)
    hs = os.path.join(d, "hs")
    os.makedirs(hs)
    with open(os.path.join(hs, "extra.yaml"), "w") as f:
        f.write("media_store_path: %s\n" % media)
    port = free_port()
    argv = [os.path.join(KIT, "run"), "start", hs, "--server-name", NAME,
            "--client-port", str(port)]
    pg = own_pg_database("synapse") if os.environ.get("MYELIN_TEST_PG") else None
    if pg:
        # Synapse insists on C collation; own_pg_database made a default one.
        db = re.search(r"dbname=(\S+)", pg).group(1)
        base = os.environ["MYELIN_TEST_PG"]
        subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", base, "-c",
                        'DROP DATABASE "%s"' % db, "-c",
                        "CREATE DATABASE \"%s\" ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
                        " TEMPLATE template0" % db], check=True, capture_output=True,
                       timeout=60)
        argv += ["--postgres", pg]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr
    env = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
    env = {k: v.strip("'") for k, v in env.items()}
    env["dir"] = hs
    syn = Synapse(env, media)
    syn.pg = pg
    if pg:
        syn.dbconf = "synapse_database_backend = postgres\nsynapse_database = %s\n" % pg
    else:
        syn.dbconf = ("synapse_database_backend = sqlite\nsynapse_database = %s\n" %
                      os.path.join(hs, "homeserver.db"))
    clock = FakeClock()
    stack = None
    try:
        # Beside Synapse the programs run as Synapse's user, which owns its
        # media store and database: the kit's Synapse runs as root here.
        stack = start_stack(extra_conf="user = root\n" + syn.dbconf +
                            "synapse_media_store = %s\n" % media +
                            "synapse_signing_key = %s\n" % os.path.join(hs, "signing.key"),
                            env={"MYELIN_FAKE_CLOCK": clock.path})
        stack.clock = clock
        syn.stack = stack
        yield syn
    finally:
        if stack is not None:
            stop_stack(stack)
        subprocess.run([os.path.join(KIT, "run"), "stop", hs], capture_output=True,
                       timeout=60)
        os.unlink(clock.path)
        shutil.rmtree(d, ignore_errors=True)
        if media.startswith("/var/lib/myelin/"):
            shutil.rmtree(media, ignore_errors=True)


def upload(base, token, data, ctype="application/octet-stream", name=None):
    path = "/_matrix/media/v3/upload" + ("?filename=" + q(name) if name else "")
    st, raw, _ = http("POST", base + path, data, token=token, ctype=ctype)
    assert st == 200, raw
    uri = json.loads(raw)["content_uri"]
    assert uri.startswith("mxc://%s/" % NAME)
    return uri.split("/")[-1]


def test_synapse_upload_downloads_through_myelin(beside):
    token = beside.register("ann")
    data = os.urandom(5000)
    mid = upload(beside.base, token, data, "text/plain", "notes.txt")
    # The legacy path, with no token, as Synapse 1.67 serves it.
    st, raw, hdr = http("GET", beside.stack.base + "/_matrix/media/v3/download/%s/%s" %
                        (NAME, mid))
    assert st == 200 and raw == data
    assert hdr["Content-Type"] == "text/plain"
    assert "notes.txt" in hdr["Content-Disposition"]
    # The authenticated path, with Synapse's token.
    st, raw, _ = http("GET", beside.stack.base + "/_matrix/client/v1/media/download/%s/%s" %
                      (NAME, mid), token=token)
    assert st == 200 and raw == data
    # nginx sent the bytes: the handler answered with X-Accel-Redirect.
    with open(os.path.join(beside.stack.dir, "log", "media.log"),
              errors="replace") as f:
        assert "download %s: sent by nginx from Synapse's store" % mid in f.read()


def test_myelin_upload_downloads_through_synapse(beside):
    token = beside.register("bob")
    data = os.urandom(7000)
    mid = upload(beside.stack.base, token, data, "application/x-test", "b.bin")
    assert re.fullmatch(r"[A-Za-z0-9]{24}", mid)
    # Where Synapse keeps it, and the row it reads.
    with open(os.path.join(beside.media, "local_content", mid[:2], mid[2:4], mid[4:]),
              "rb") as f:
        assert f.read() == data
    st, raw, hdr = http("GET", beside.base + "/_matrix/media/v3/download/%s/%s" % (NAME, mid))
    assert st == 200 and raw == data
    assert hdr["Content-Type"] == "application/x-test"
    st, raw, _ = http("GET", beside.stack.base + "/_matrix/media/v3/download/%s/%s" %
                      (NAME, mid))
    assert st == 200 and raw == data
    # Synapse's admin API lists it as the user's.
    admin = beside.register("boss", admin=True)
    st, raw, _ = http("GET", beside.base + "/_synapse/admin/v1/users/%s/media" %
                      q("@bob:" + NAME), token=admin)
    assert st == 200, raw
    got = {m["media_id"]: m for m in json.loads(raw)["media"]}
    assert got[mid]["media_length"] == len(data) and got[mid]["upload_name"] == "b.bin"


def test_thumbnails_made_by_either_are_served_by_both(beside):
    token = beside.register("cat")
    sid = upload(beside.base, token, PNG, "image/png")
    mid = upload(beside.stack.base, token, PNG, "image/png")
    for m in (sid, mid):
        for base in (beside.stack.base, beside.base):
            st, raw, hdr = http("GET", base + "/_matrix/media/v3/thumbnail/%s/%s"
                                "?width=32&height=32&method=crop" % (NAME, m))
            assert st == 200, (base, m, raw)
            assert hdr["Content-Type"] in ("image/png", "image/jpeg")
            assert raw[:4] == b"\x89PNG" or raw[:2] == b"\xff\xd8"


def test_quarantined_media_refused_by_both(beside):
    token = beside.register("dan")
    admin = beside.register("root", admin=True)
    sid = upload(beside.base, token, b"from synapse " * 50)
    mid = upload(beside.stack.base, token, b"from myelin " * 50)
    for m in (sid, mid):
        st, raw, _ = http("POST", beside.base + "/_synapse/admin/v1/media/quarantine/%s/%s" %
                          (NAME, m), b"{}", token=admin, ctype="application/json")
        assert st == 200, raw
        for url in (beside.base + "/_matrix/media/v3/download/%s/%s" % (NAME, m),
                    beside.stack.base + "/_matrix/media/v3/download/%s/%s" % (NAME, m)):
            st, raw, _ = http("GET", url)
            assert st == 404 and jbody(raw)["errcode"] == "M_NOT_FOUND", (url, raw)
        st, raw, _ = http("GET", beside.stack.base + "/_matrix/client/v1/media/download/%s/%s" %
                          (NAME, m), token=token)
        assert st == 404 and jbody(raw)["errcode"] == "M_NOT_FOUND"
        st, raw, _ = http("GET", beside.stack.base + "/_matrix/client/v1/media/thumbnail/%s/%s"
                          "?width=32&height=32" % (NAME, m), token=token)
        assert st == 404 and jbody(raw)["errcode"] == "M_NOT_FOUND"


def test_unknown_and_expired_synapse_tokens_refused(beside):
    beside.register("eve")
    url = beside.stack.base + "/_matrix/client/v1/media/config"
    st, raw, _ = http("GET", url)
    assert st == 401 and jbody(raw)["errcode"] == "M_MISSING_TOKEN"
    st, raw, _ = http("GET", url, token="syt_not_a_token_of_synapse")
    assert st == 401 and jbody(raw)["errcode"] == "M_UNKNOWN_TOKEN"
    st, raw, _ = http("POST", beside.stack.base + "/_matrix/media/v3/upload", b"x",
                      token="syt_not_a_token_of_synapse", ctype="text/plain")
    assert st == 401 and jbody(raw)["errcode"] == "M_UNKNOWN_TOKEN"
    # A refreshable token: Synapse gives it 5 minutes (valid_until_ms).
    login = beside.login("eve", refresh_token=True)
    tok = login["access_token"]
    assert login.get("expires_in_ms")
    st, raw, _ = http("GET", url, token=tok)
    assert st == 200 and jbody(raw)["m.upload.size"] > 0
    # The fake clock stood still since the stack started: past the token's end.
    beside.stack.clock.set(int(time.time() * 1000) + login["expires_in_ms"] + 60000)
    try:
        st, raw, _ = http("GET", url, token=tok)
        assert st == 401, raw
        assert jbody(raw)["errcode"] == "M_UNKNOWN_TOKEN" and jbody(raw)["soft_logout"] is True
        st, raw, _ = http("POST", beside.stack.base + "/_matrix/media/v3/upload", b"x",
                          token=tok, ctype="text/plain")
        assert st == 401 and jbody(raw)["errcode"] == "M_UNKNOWN_TOKEN"
    finally:
        # Later tests use fresh tokens of Synapse's real clock.
        beside.stack.clock.set(int(time.time() * 1000))


def test_endpoints_synapse_lacks_are_unrecognized(beside):
    token = beside.register("fay")
    st, raw, _ = http("POST", beside.stack.base + "/_matrix/media/v1/create", token=token)
    assert st == 404 and jbody(raw)["errcode"] == "M_UNRECOGNIZED"
    st, raw, _ = http("GET", beside.stack.base + "/_matrix/client/v1/media/download/"
                      "other.example/abcdefgh", token=token)
    assert st == 404 and jbody(raw)["errcode"] == "M_NOT_FOUND"
    # IDs that name no file of Synapse's layout: never a path out of it.
    for bad in ("..%2Fx", "ab%20cdefg", "abc", "..", "a.b.c.d.e"):
        st, raw, _ = http("GET", beside.stack.base + "/_matrix/media/v3/download/%s/%s" %
                          (NAME, bad))
        assert st == 404 and jbody(raw)["errcode"] in ("M_NOT_FOUND", "M_UNRECOGNIZED"), bad


def media_conf(d, dbconf, extra=""):
    conf = os.path.join(d, "m.conf")
    with open(conf, "w") as f:
        f.write("server_name = %s\ndatabase_backend = sqlite\ndatabase = %s\n%s"
                "synapse_media_store = %s\n%s" % (NAME, os.path.join(d, "m.db"), dbconf,
                                                  d, extra))
    return conf


def copy_of_synapse_db(beside, tmp_path, version):
    """A copy of the database Synapse wrote, with its schema_version set
    to version: the synapse_* lines of a config naming it."""
    if beside.pg is None:
        copy = str(tmp_path / "hs.db")
        src = sqlite3.connect(os.path.join(beside.dir, "homeserver.db"))
        dst = sqlite3.connect(copy)
        src.backup(dst)
        src.close()
        dst.execute("UPDATE schema_version SET version = ?", (version,))
        dst.commit()
        dst.close()
        return "synapse_database = %s\n" % copy
    pg = own_pg_database("synapsecopy")
    dump = subprocess.run(["pg_dump", "--no-owner", beside.pg], capture_output=True,
                          check=True, timeout=120).stdout
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", pg], input=dump,
                   capture_output=True, check=True, timeout=120)
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", pg, "-c",
                    "UPDATE schema_version SET version = %d" % version],
                   capture_output=True, check=True, timeout=60)
    return "synapse_database_backend = postgres\nsynapse_database = %s\n" % pg


def run_media(conf, tmp_path):
    return subprocess.run([os.path.join(BIN, "myelin-media"), "-c", conf, "-s",
                           str(tmp_path / "m.sock"), "-t", "1"],
                          capture_output=True, text=True, timeout=60)


def test_schema_version_outside_the_tested_range_refused(beside, tmp_path):
    dbconf = copy_of_synapse_db(beside, tmp_path, 99)
    out = run_media(media_conf(str(tmp_path), dbconf), tmp_path)
    assert out.returncode != 0
    assert "schema version 99" in out.stderr and "72 to 72" in out.stderr, out.stderr
    assert not os.path.exists(tmp_path / "m.sock")
    # The fixture's myelin-media serves over the original, at version 72.


def test_a_database_not_synapses_refused(tmp_path):
    sqlite3.connect(str(tmp_path / "empty.db")).close()
    conf = media_conf(str(tmp_path), "synapse_database = %s\n" % (tmp_path / "empty.db"))
    out = run_media(conf, tmp_path)
    assert out.returncode != 0 and "not a Synapse database" in out.stderr, out.stderr


# The nginx layout (myelin-stack nginx-layout): chosen groups to myelin,
# the rest to Synapse as sent.

STACK = os.path.join(ROOT, "bin", "myelin-stack")


class Echo(BaseHTTPRequestHandler):
    """A stand-in upstream that records the request line it was sent."""
    seen = []

    def do_GET(self):
        Echo.seen.append(self.path)
        body = json.dumps({"echo": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def layout(stack, groups, upstream):
    rt = open(os.path.join(stack.dir, "run", "runtime_dir")).read().strip() \
        if os.path.exists(os.path.join(stack.dir, "run", "runtime_dir")) else stack.dir
    return subprocess.run([STACK, "nginx-layout", "--config", stack.conf, "--groups", groups,
                           "--synapse", upstream, "--sockets", os.path.join(rt, "sock")],
                          capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, MYELIN_BIN=BIN))


class Nginx:
    """nginx serving a printed layout inside a server block of its own,
    as a sysadmin includes it."""

    def __init__(self, text):
        if os.getuid() == 0:
            os.makedirs("/run/myelin", mode=0o755, exist_ok=True)
            self.dir = tempfile.mkdtemp(prefix="layout.", dir="/run/myelin")
            shutil.chown(self.dir, group="nogroup")
            os.chmod(self.dir, 0o710)
        else:
            self.dir = tempfile.mkdtemp(prefix="myelin-layout-")
        self.port = free_port()
        with open(os.path.join(self.dir, "layout.conf"), "w") as f:
            f.write(text)
        self.conf = os.path.join(self.dir, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write("%s\nworker_processes 1;\npid %s/nginx.pid;\nerror_log %s/error.log warn;\n"
                    "events { worker_connections 64; }\nhttp {\n"
                    "\tclient_body_temp_path %s/body;\n\tproxy_temp_path %s/proxy;\n"
                    "\tfastcgi_temp_path %s/fastcgi;\n\tuwsgi_temp_path %s/uwsgi;\n"
                    "\tscgi_temp_path %s/scgi;\n\tdefault_type application/json;\n"
                    "\tmerge_slashes off;\n"
                    "\tserver {\n\t\tlisten 127.0.0.1:%d;\n\t\tserver_name _;\n"
                    "\t\tinclude %s/layout.conf;\n\t}\n}\n" % (
                        "user nobody nogroup;" if os.getuid() == 0 else "", self.dir,
                        self.dir, self.dir, self.dir, self.dir, self.dir, self.dir,
                        self.port, self.dir))
        self.base = "http://127.0.0.1:%d" % self.port
        self.proc = None

    def test(self):
        return subprocess.run(["/usr/sbin/nginx", "-t", "-c", self.conf, "-p", self.dir, "-e",
                               os.path.join(self.dir, "error.log")],
                              capture_output=True, text=True, timeout=60)

    def start(self):
        self.proc = subprocess.Popen(["/usr/sbin/nginx", "-c", self.conf, "-p", self.dir, "-e",
                                      os.path.join(self.dir, "error.log"), "-g",
                                      "daemon off;"])
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("nginx did not start")

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)


def test_nginx_layout_routes_media_to_myelin_and_the_rest_to_synapse(beside):
    out = layout(beside.stack, "media", beside.base)
    assert out.returncode == 0, out.stderr
    assert "proxy_pass %s;" % beside.base in out.stdout
    ng = Nginx(out.stdout)
    try:
        t = ng.test()
        assert t.returncode == 0, t.stderr
        ng.start()
        token = beside.register("gil")
        data = os.urandom(3000)
        # Media through the layout: myelin-media writes and sends it.
        mid = upload(ng.base, token, data, "text/plain")
        with open(os.path.join(beside.stack.dir, "log", "media.log"), errors="replace") as f:
            assert "upload %s:" % mid in f.read()
        st, raw, _ = http("GET", ng.base + "/_matrix/media/r0/download/%s/%s" % (NAME, mid))
        assert st == 200 and raw == data
        with open(os.path.join(beside.stack.dir, "log", "media.log"), errors="replace") as f:
            assert "download %s: sent by nginx" % mid in f.read()
        # And Synapse has it, as its own.
        st, raw, _ = http("GET", beside.base + "/_matrix/media/v3/download/%s/%s" % (NAME, mid))
        assert st == 200 and raw == data
        # The client API is Synapse's: myelin's own handlers would not know
        # Synapse's token; Synapse does.
        st, raw, _ = http("GET", ng.base + "/_matrix/client/v3/account/whoami", token=token)
        assert st == 200 and json.loads(raw)["user_id"] == "@gil:" + NAME, raw
        st, raw, _ = http("GET", ng.base + "/_matrix/client/versions")
        assert st == 200 and "r0.6.1" in json.loads(raw)["versions"]
        # What myelin's media route table lacks goes to Synapse too.
        st, raw, _ = http("GET", ng.base + "/_matrix/media/v3/preview_url?url=" +
                          q("http://127.0.0.1:1/"), token=token)
        assert (st, jbody(raw)) != (404, {"errcode": "M_UNRECOGNIZED",
                                          "error": "Unrecognized request"})
    finally:
        ng.stop()


def synapse_verify_key(beside):
    with open(os.path.join(beside.dir, "signing.key")) as f:
        sk = signedjson.key.read_signing_keys(f)[0]
    return "%s:%s" % (sk.alg, sk.version), signedjson.key.get_verify_key(sk)


def check_key_answer(obj, beside):
    key_id, vk = synapse_verify_key(beside)
    assert obj["server_name"] == NAME
    assert list(obj["verify_keys"]) == [key_id]
    assert obj["verify_keys"][key_id]["key"] == signedjson.key.encode_verify_key_base64(vk)
    assert obj["valid_until_ts"] > time.time() * 1000
    signedjson.sign.verify_signed_json(obj, NAME, vk)


def test_key_server_answers_with_synapses_key(beside):
    st, raw, _ = http("GET", beside.stack.base + "/_matrix/key/v2/server")
    assert st == 200, raw
    check_key_answer(json.loads(raw), beside)
    key_id, _ = synapse_verify_key(beside)
    st, raw, _ = http("GET", beside.stack.base + "/_matrix/key/v2/server/" + q(key_id))
    assert st == 200
    check_key_answer(json.loads(raw), beside)
    # The rest of the federation API is not myelin's beside Synapse.
    st, raw, _ = http("GET", beside.stack.base + "/_matrix/federation/v1/version")
    assert st == 404 and jbody(raw)["errcode"] == "M_UNRECOGNIZED"


def test_nginx_layout_keys_group(beside):
    out = layout(beside.stack, "media,keys", beside.base)
    assert out.returncode == 0, out.stderr
    ng = Nginx(out.stdout)
    try:
        t = ng.test()
        assert t.returncode == 0, t.stderr
        ng.start()
        st, raw, _ = http("GET", ng.base + "/_matrix/key/v2/server")
        assert st == 200, raw
        check_key_answer(json.loads(raw), beside)
        st, raw, _ = http("GET", ng.base + "/.well-known/matrix/client")
        assert st == 200 and json.loads(raw)["m.homeserver"]["base_url"]
        st, raw, _ = http("GET", ng.base + "/.well-known/matrix/server")
        assert st == 200 and json.loads(raw)["m.server"]
        # Other key paths are Synapse's (its client listener has none).
        st, raw, _ = http("POST", ng.base + "/_matrix/key/v2/query", b'{"server_keys":{}}',
                          ctype="application/json")
        assert st != 200 or "server_keys" in jbody(raw)
    finally:
        ng.stop()


def test_nginx_layout_passes_the_raw_uri_to_synapse(beside):
    srv = HTTPServer(("127.0.0.1", 0), Echo)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    out = layout(beside.stack, "media", "http://127.0.0.1:%d" % srv.server_port)
    assert out.returncode == 0, out.stderr
    ng = Nginx(out.stdout)
    try:
        ng.start()
        raw_path = ("/_matrix/client/v3/rooms/%21abc%3Alocalhost/state/m.room.name/"
                    "a%2Fb%20c?filter=%7B%22x%22%3A1%7D&y=%2F")
        st, raw, _ = http("GET", ng.base + raw_path)
        assert st == 200 and json.loads(raw)["echo"] == raw_path
        assert Echo.seen[-1] == raw_path
    finally:
        ng.stop()
        srv.shutdown()


def test_nginx_layout_refuses_what_it_cannot_lay_out(beside, tmp_path):
    out = layout(beside.stack, "media,nosuchgroup", beside.base)
    assert out.returncode != 0 and "unknown group nosuchgroup" in out.stderr
    out = layout(beside.stack, "media", "ftp://127.0.0.1:1")
    assert out.returncode != 0 and "--synapse" in out.stderr
    # A config not beside Synapse would hand myelin's own data out.
    conf = tmp_path / "plain.conf"
    conf.write_text("server_name = %s\ndatabase = %s\n" % (NAME, tmp_path / "m.db"))
    out = subprocess.run([STACK, "nginx-layout", "--config", str(conf), "--groups", "media",
                          "--synapse", beside.base], capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "no synapse_database" in out.stderr


def test_worked_example_is_what_the_command_prints(tmp_path):
    """etc/nginx-beside-synapse.conf shows the layout for the config in its
    header: it must be what nginx-layout prints today."""
    with open(os.path.join(ROOT, "etc", "nginx-beside-synapse.conf")) as f:
        text = f.read()
    head, printed = text.split("# What the command above prints for that config (myelin 0.1):\n")
    conf = "".join(line[4:] + "\n" for line in head.splitlines()
                   if re.match(r"^#   [a-z_]+ = ", line))
    assert "synapse_database = " in conf
    (tmp_path / "myelin.conf").write_text(conf)
    out = subprocess.run([STACK, "nginx-layout", "--config", str(tmp_path / "myelin.conf"),
                          "--groups", "media,keys", "--synapse", "http://127.0.0.1:8008",
                          "--sockets", "/run/myelin"], capture_output=True, text=True,
                         timeout=60, env=dict(os.environ, MYELIN_BIN=BIN))
    assert out.returncode == 0, out.stderr
    assert printed == "".join("# " + line + "\n" for line in out.stdout.splitlines())
