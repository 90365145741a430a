"""Federation's edge: the key server, the notary, X-Matrix on inbound requests,
/send's limits, /query/profile, the outbound address policy, and interop with
a real Synapse 1.67 (../shared/peers/synapse) fetching keys and signing
requests both ways.

The stack here is named localhost:PORT and serves federation over TLS with a
certificate from a CA made for the module (the Synapse kit's make-ca); a small
Python key server plays a remote server, signing with PyNaCl."""
import base64
import http.server
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import nacl.signing
import pytest

from conftest import ROOT, STACK, FakeClock, Stack, free_port, own_pg_database, port_trouble, q

# The Synapse kit: ../shared/peers/synapse beside the checkout (main), or
# beside the folder of worktrees; MYELIN_SYNAPSE_KIT names another.
KIT = os.environ.get("MYELIN_SYNAPSE_KIT") or next(
    (p for p in (os.path.join(os.path.dirname(ROOT), "shared", "peers", "synapse"),
                 os.path.join(os.path.dirname(os.path.dirname(ROOT)), "shared", "peers",
                              "synapse"))
     if os.path.isdir(p)), "")
BIN = os.environ.get("MYELIN_BIN", os.path.join(ROOT, "build", "bin"))


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def b64(data):
    return base64.b64encode(data).decode().rstrip("=")


def unb64(s):
    return base64.b64decode(s + "=" * (-len(s) % 4))


def verify_self_signed(obj, server_name):
    """The spec's check of a key answer: every signature by server_name
    verifies with the answer's own verify_keys."""
    assert obj["server_name"] == server_name
    sigs = obj["signatures"][server_name]
    assert sigs
    signed = {k: v for k, v in obj.items() if k not in ("signatures", "unsigned")}
    for key_id, sig in sigs.items():
        pk = unb64(obj["verify_keys"][key_id]["key"])
        nacl.signing.VerifyKey(pk).verify(canonical(signed), unb64(sig))


def make_ca(directory, base, *names):
    """A test CA (made once in directory) and a certificate BASE.crt for
    names, BASE.chain.crt with the CA after it, BASE.key: with openssl."""
    def ssl_(*args):
        subprocess.run(["openssl"] + list(args), check=True, capture_output=True,
                       timeout=60, cwd=directory)
    if not os.path.exists(os.path.join(directory, "ca.crt")):
        ssl_("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
             "-out", "ca.crt", "-days", "30", "-subj", "/CN=myelin test CA")
    san = ",".join(("IP:" if n.replace(".", "").isdigit() else "DNS:") + n for n in names)
    with open(os.path.join(directory, base + ".ext"), "w") as f:
        f.write("subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n" % san)
    ssl_("req", "-newkey", "rsa:2048", "-nodes", "-keyout", base + ".key", "-out",
         base + ".csr", "-subj", "/CN=" + names[0])
    ssl_("x509", "-req", "-in", base + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
         "-CAcreateserial", "-out", base + ".crt", "-days", "30", "-extfile", base + ".ext")
    with open(os.path.join(directory, base + ".chain.crt"), "w") as f:
        for n in (base + ".crt", "ca.crt"):
            f.write(open(os.path.join(directory, n)).read())


class Remote:
    """A remote server in Python: a key server over TLS, and X-Matrix signing."""

    def __init__(self, ca_dir, valid_ms=3600 * 1000):
        self.valid_ms = valid_ms
        self.port = free_port()
        self.name = "localhost:%d" % self.port
        self.key = nacl.signing.SigningKey.generate()
        self.key_id = "ed25519:py1"
        self.hits = 0
        remote = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                remote.hits += 1
                if not self.path.startswith("/_matrix/key/v2/server"):
                    self.send_response(404)
                    self.end_headers()
                    return
                body = canonical(remote.key_answer())
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), H)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(ca_dir, "remote.chain.crt"),
                            os.path.join(ca_dir, "remote.key"))
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def key_answer(self):
        obj = {"server_name": self.name,
               "valid_until_ts": int(time.time() * 1000) + self.valid_ms,
               "verify_keys": {self.key_id: {"key": b64(bytes(self.key.verify_key))}},
               "old_verify_keys": {}}
        obj["signatures"] = {self.name: {self.key_id: b64(self.key.sign(canonical(obj)).signature)}}
        return obj

    def authorization(self, destination, method, uri, content=None, origin=None, key=None):
        obj = {"method": method, "uri": uri, "origin": origin or self.name,
               "destination": destination}
        if content is not None:
            obj["content"] = content
        sig = b64((key or self.key).sign(canonical(obj)).signature)
        return 'X-Matrix origin="%s",destination="%s",key="%s",sig="%s"' % (
            origin or self.name, destination, self.key_id, sig)

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class FedStack(Stack):
    """A stack named localhost:FPORT with a TLS listener on FPORT."""

    def __init__(self, directory, port, fport, ca):
        super().__init__(directory, port)
        self.fport = fport
        self.server_name = "localhost:%d" % fport
        self.fed_base = "https://localhost:%d" % fport
        self.ssl = ssl.create_default_context(cafile=ca)

    def fed(self, method, path, body=None, authorization=None, raw=None):
        """A request to the TLS listener: (status, JSON or None)."""
        data = raw if raw is not None else (canonical(body) if body is not None else None)
        req = urllib.request.Request(self.fed_base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if authorization:
            req.add_header("Authorization", authorization)
        try:
            with urllib.request.urlopen(req, timeout=30, context=self.ssl) as r:
                status, payload = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, payload = e.code, e.read()
        try:
            return status, json.loads(payload) if payload else None
        except ValueError:
            return status, None


@pytest.fixture(scope="module")
def ca():
    d = tempfile.mkdtemp(prefix="myelin-fed-ca-")
    os.chmod(d, 0o755)
    make_ca(d, "server", "localhost", "127.0.0.1")
    make_ca(d, "remote", "localhost", "127.0.0.1")
    # The stack's nginx workers (nobody, as root) read the key.
    for f in os.listdir(d):
        os.chmod(os.path.join(d, f), 0o644)
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def fed_stack(ca_dir, name, extra="", clock=None):
    """A myelin stack named localhost:FPORT federating over TLS on loopback
    with the test CA of ca_dir, other loopback servers allowed; on clock
    (a FakeClock) when given, else the real one.  On PostgreSQL a
    database of its own (the other stacks' senders must not take its
    queued rows: they sign as another server).  As start_stack, started
    again on other ports when its ports were taken (PORT_TROUBLE)."""
    for attempt in range(3):
        directory = tempfile.mkdtemp(prefix="myelin-e2e-%s-" % name)
        port, fport = free_port(), free_port()
        argv = [STACK, "init", directory, "--server-name", "localhost:%d" % fport,
                "--port", str(port), "--open-registration"]
        pg = own_pg_database(name)
        if pg:
            argv += ["--postgres", pg]
        subprocess.run(argv, check=True, capture_output=True, timeout=60)
        with open(os.path.join(directory, "myelin.conf"), "a") as f:
            f.write("federation_listen = 127.0.0.1:%d\n"
                    "tls_certificate = %s/server.chain.crt\n"
                    "tls_certificate_key = %s/server.key\n"
                    "federation_ca_file = %s/ca.crt\n"
                    "federation_allow_ips = 127.0.0.0/8 ::1\n" % (fport, ca_dir, ca_dir, ca_dir) +
                    extra)
        env = dict(os.environ, MYELIN_FAKE_CLOCK=clock.path) if clock is not None else None
        up = subprocess.run([STACK, "up", directory], timeout=120, stderr=subprocess.PIPE,
                            text=True, env=env)
        if up.returncode == 0:
            break
        subprocess.run([STACK, "down", directory], capture_output=True, timeout=60)
        if not port_trouble(up.stderr) or attempt == 2:
            raise subprocess.CalledProcessError(up.returncode, up.args, stderr=up.stderr)
        shutil.rmtree(directory, ignore_errors=True)
    s = FedStack(directory, port, fport, os.path.join(ca_dir, "ca.crt"))
    s.clock = clock
    return s


@pytest.fixture(scope="module")
def fstack(ca):
    directory = tempfile.mkdtemp(prefix="myelin-e2e-fed-")
    port, fport = free_port(), free_port()
    argv = [STACK, "init", directory, "--server-name", "localhost:%d" % fport,
            "--port", str(port), "--open-registration"]
    # On PostgreSQL a database of its own: the other stacks' senders and
    # pushers must not take this server's queued rows (they sign as
    # another server).
    pg = own_pg_database("fed")
    if pg:
        argv += ["--postgres", pg]
    subprocess.run(argv, check=True, capture_output=True, timeout=60)
    extra = ("federation_listen = 127.0.0.1:%d\n"
             "tls_certificate = %s/server.chain.crt\n"
             "tls_certificate_key = %s/server.key\n"
             "federation_ca_file = %s/ca.crt\n" % (fport, ca, ca, ca))
    with open(os.path.join(directory, "myelin-noallow.conf"), "w") as f:
        f.write(open(os.path.join(directory, "myelin.conf")).read() + extra)
    with open(os.path.join(directory, "myelin.conf"), "a") as f:
        f.write(extra + "federation_allow_ips = 127.0.0.0/8 ::1\n")
    # On a fake clock, moved only by the last test of the file.
    clock = FakeClock()
    subprocess.run([STACK, "up", directory], check=True, timeout=120,
                   env=dict(os.environ, MYELIN_FAKE_CLOCK=clock.path))
    s = FedStack(directory, port, fport, os.path.join(ca, "ca.crt"))
    s.clock = clock
    yield s
    subprocess.run([STACK, "down", directory], check=True, timeout=60)
    os.unlink(clock.path)
    bad = s.check_logs()
    if os.environ.get("MYELIN_TEST_KEEP") != "1":
        shutil.rmtree(directory, ignore_errors=True)
    assert not bad, "problems in logs:\n" + "\n".join(bad)


@pytest.fixture(scope="module")
def remote(ca):
    r = Remote(ca)
    yield r
    r.stop()


def admin(stack, *args, conf=None):
    return subprocess.run([os.path.join(BIN, "myelin-admin"), "-c", conf or stack.conf] +
                          list(args), capture_output=True, text=True, timeout=60)


def test_key_server_answers_a_valid_self_signed_key(fstack):
    status, obj = fstack.fed("GET", "/_matrix/key/v2/server")
    assert status == 200, obj
    verify_self_signed(obj, fstack.server_name)
    now = int(time.time() * 1000)
    assert obj["valid_until_ts"] > now
    assert obj["old_verify_keys"] == {}
    # The key is the one myelin-admin shows.
    shown = admin(fstack, "key", "show").stdout.split()
    assert shown[0] in obj["verify_keys"] and obj["verify_keys"][shown[0]]["key"] == shown[1]
    # The deprecated key ID form answers the same keys.
    status, again = fstack.fed("GET", "/_matrix/key/v2/server/" + q(shown[0]))
    assert status == 200 and again["verify_keys"] == obj["verify_keys"]


def test_rotated_key_is_published_as_old(fstack, ca):
    """old_verify_keys comes from the retired keys file; the handler keeps
    signing with the key it loaded, and lists it even if retired since."""
    before = admin(fstack, "key", "show").stdout.split()
    old_path = os.path.join(fstack.dir, "signing.key.old")
    with open(old_path, "w") as f:
        f.write("ed25519:gone AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA 1000\n")
    try:
        status, obj = fstack.fed("GET", "/_matrix/key/v2/server")
        assert status == 200
        verify_self_signed(obj, fstack.server_name)
        assert obj["old_verify_keys"] == {
            "ed25519:gone": {"key": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "expired_ts": 1000}}
        assert before[0] in obj["verify_keys"]
    finally:
        os.unlink(old_path)


def test_version(fstack):
    status, obj = fstack.fed("GET", "/_matrix/federation/v1/version")
    assert status == 200 and obj["server"]["name"] == "myelin"


def test_unknown_federation_path_is_unrecognized(fstack):
    status, obj = fstack.fed("GET", "/_matrix/federation/v1/nonsense")
    assert status == 404 and obj["errcode"] == "M_UNRECOGNIZED"


def test_notary_answers_for_itself_and_validates_input(fstack):
    status, obj = fstack.fed("POST", "/_matrix/key/v2/query",
                             {"server_keys": {fstack.server_name: {}}})
    assert status == 200 and len(obj["server_keys"]) == 1
    verify_self_signed(obj["server_keys"][0], fstack.server_name)
    status, obj = fstack.fed("GET", "/_matrix/key/v2/query/" + q(fstack.server_name))
    assert status == 200 and len(obj["server_keys"]) == 1
    # A name that is no server name has no keys; bad shapes are M_BAD_JSON.
    status, obj = fstack.fed("POST", "/_matrix/key/v2/query",
                             {"server_keys": {"not a name/": {}}})
    assert status == 200 and obj["server_keys"] == []
    for body in ({}, {"server_keys": []}, {"server_keys": {"a.b": []}},
                 {"server_keys": {"a.b": {"k": {"minimum_valid_until_ts": "x"}}}}):
        status, obj = fstack.fed("POST", "/_matrix/key/v2/query", body)
        assert status == 400 and obj["errcode"] == "M_BAD_JSON", body


def test_notary_fetches_checks_and_signs_remote_keys(fstack, remote):
    status, obj = fstack.fed("POST", "/_matrix/key/v2/query", {
        "server_keys": {remote.name: {remote.key_id: {}}}})
    assert status == 200 and len(obj["server_keys"]) == 1, obj
    got = obj["server_keys"][0]
    verify_self_signed(got, remote.name)
    assert got["verify_keys"][remote.key_id]["key"] == b64(bytes(remote.key.verify_key))
    # The notary adds its own signature, by its published key.
    _, own = fstack.fed("GET", "/_matrix/key/v2/server")
    (kid, k), = own["verify_keys"].items()
    signed = {x: y for x, y in got.items() if x not in ("signatures", "unsigned")}
    nacl.signing.VerifyKey(unb64(k["key"])).verify(
        canonical(signed), unb64(got["signatures"][fstack.server_name][kid]))
    # Cached: asked again, the remote is not asked again.
    hits = remote.hits
    status, _ = fstack.fed("GET", "/_matrix/key/v2/query/" + q(remote.name))
    assert status == 200 and remote.hits == hits


def test_notary_fetches_several_servers_in_one_query(fstack, ca):
    """One POST naming several servers: each is fetched (at once) and answered;
    one that cannot be reached gives nothing and spoils nothing."""
    a, b = Remote(ca), Remote(ca)
    try:
        status, obj = fstack.fed("POST", "/_matrix/key/v2/query", {"server_keys": {
            a.name: {}, b.name: {a.key_id: {}}, "localhost:%d" % free_port(): {},
            fstack.server_name: {}}})
        assert status == 200, obj
        names = sorted(x["server_name"] for x in obj["server_keys"])
        assert names == sorted([a.name, b.name, fstack.server_name])
        for x in obj["server_keys"]:
            verify_self_signed(x, x["server_name"])
        assert a.hits == 1 and b.hits == 1
    finally:
        a.stop()
        b.stop()


def test_notary_keeps_a_key_the_origin_forgot(fstack, ca):
    """A later answer without a key does not make the notary forget the
    answer that listed it (SyTest 01keys.pl: "must not overwrite a valid
    key with a spurious result from the origin server")."""
    other = Remote(ca)
    try:
        first = other.key_id
        status, obj = fstack.fed("POST", "/_matrix/key/v2/query", {
            "server_keys": {other.name: {first: {}}}})
        assert status == 200 and first in obj["server_keys"][0]["verify_keys"]
        # The origin now has another key only; a later minimum forces a fetch.
        other.key, other.key_id = nacl.signing.SigningKey.generate(), "ed25519:py2"
        later = int(time.time() * 1000) + 7200 * 1000
        hits = other.hits
        status, obj = fstack.fed("POST", "/_matrix/key/v2/query", {
            "server_keys": {other.name: {first: {"minimum_valid_until_ts": later}}}})
        assert status == 200 and other.hits == hits + 1
        assert [list(a["verify_keys"]) for a in obj["server_keys"]] == [[first]]
        # Asked for every key, both answers come.
        status, obj = fstack.fed("POST", "/_matrix/key/v2/query", {
            "server_keys": {other.name: {}}})
        assert status == 200
        assert sorted(k for a in obj["server_keys"] for k in a["verify_keys"]) == sorted(
            [first, "ed25519:py2"])
    finally:
        other.stop()


def test_xmatrix_signed_request_is_accepted(fstack, remote):
    reg = fstack.register("fedprofile%d" % os.getpid())
    uri = "/_matrix/federation/v1/query/profile?user_id=" + q(reg["user_id"])
    status, obj = fstack.fed("GET", uri, authorization=remote.authorization(
        fstack.server_name, "GET", uri))
    assert status == 200, obj
    assert obj["displayname"] == reg["user_id"][1:].split(":")[0]
    # The field query gives that field only.
    uri2 = uri + "&field=avatar_url"
    status, obj = fstack.fed("GET", uri2, authorization=remote.authorization(
        fstack.server_name, "GET", uri2))
    assert status == 200 and obj == {}


def test_xmatrix_refusals(fstack, remote):
    """Synapse 1.67's answers: 401 M_UNAUTHORIZED without the header or with a
    bad signature or destination, 400 M_UNAUTHORIZED for a malformed one."""
    uri = "/_matrix/federation/v1/query/profile?user_id=" + q("@x:" + fstack.server_name)
    cases = [
        (None, 401),
        ("Bearer abc", 401),
        ("X-Matrix origin=a", 400),
        ('X-Matrix origin="bad name/",key="ed25519:x",sig="abc"', 400),
        # Signed for another destination; with that destination claimed, or ours.
        (remote.authorization("other.example", "GET", uri), 401),
        (remote.authorization("other.example", "GET", uri).replace(
            'destination="other.example"', 'destination="%s"' % fstack.server_name), 401),
        # Another URI, method, or key than the one signing.
        (remote.authorization(fstack.server_name, "GET", uri + "&x=1"), 401),
        (remote.authorization(fstack.server_name, "PUT", uri), 401),
        (remote.authorization(fstack.server_name, "GET", uri,
                              key=nacl.signing.SigningKey.generate()), 401),
        # An origin whose keys cannot be had (nothing listens there).
        (remote.authorization(fstack.server_name, "GET", uri,
                              origin="localhost:%d" % free_port()), 401),
    ]
    for authz, want in cases:
        status, obj = fstack.fed("GET", uri, authorization=authz)
        assert status == want and obj["errcode"] == "M_UNAUTHORIZED", (authz, status, obj)


def test_xmatrix_covers_the_body(fstack, remote):
    path = "/_matrix/federation/v1/send/t%d" % time.time_ns()
    body = {"origin": remote.name, "origin_server_ts": 1, "pdus": []}
    other = dict(body, origin_server_ts=2)
    status, obj = fstack.fed("PUT", path, other, authorization=remote.authorization(
        fstack.server_name, "PUT", path, body))
    assert status == 401 and obj["errcode"] == "M_UNAUTHORIZED"
    status, obj = fstack.fed("PUT", path, body, authorization=remote.authorization(
        fstack.server_name, "PUT", path, body))
    assert status == 200 and obj == {"pdus": {}}


def test_send_limits_and_results(fstack, remote):
    def send(body):
        path = "/_matrix/federation/v1/send/t%d" % time.time_ns()
        return fstack.fed("PUT", path, body, authorization=remote.authorization(
            fstack.server_name, "PUT", path, body))

    base = {"origin": remote.name, "origin_server_ts": 1}
    pdu = {"room_id": "!unknown:" + remote.name, "type": "m.room.message", "content": {}}
    # Spec: at most 50 PDUs and 100 EDUs.
    status, obj = send(dict(base, pdus=[pdu] * 51))
    assert status == 400 and obj["errcode"] == "M_BAD_JSON"
    status, obj = send(dict(base, pdus=[], edus=[{"edu_type": "m.typing", "content": {}}] * 101))
    assert status == 400 and obj["errcode"] == "M_BAD_JSON"
    for bad in ({"origin_server_ts": 1, "pdus": []}, dict(base, pdus={}),
                dict(base, pdus=[], edus="x")):
        status, obj = send(bad)
        assert status == 400 and obj["errcode"] == "M_BAD_JSON", bad
    # A PDU of a room this server does not know is left out, as Synapse does.
    status, obj = send(dict(base, pdus=[pdu] * 50, edus=[]))
    assert status == 200 and obj == {"pdus": {}}
    # One of a room it knows gets a result by its ID: until the write path
    # takes remote events, an error (nothing claims to be accepted).
    owner = fstack.register("fedroom%d" % os.getpid())
    st, room = fstack.request("POST", "/_matrix/client/v3/createRoom", {"room_version": "10"},
                              token=owner["access_token"])
    assert st == 200
    known = {"room_id": room["room_id"], "type": "m.room.message", "sender": "@a:" + remote.name,
             "content": {"body": "hi"}, "depth": 5, "origin": remote.name,
             "origin_server_ts": 1, "prev_events": [], "auth_events": [],
             "hashes": {"sha256": "x"}, "signatures": {}}
    status, obj = send(dict(base, pdus=[known]))
    assert status == 200 and len(obj["pdus"]) == 1, obj
    (eid, res), = obj["pdus"].items()
    assert eid.startswith("$") and "error" in res


def test_query_profile_errors(fstack, remote):
    def get(uri):
        return fstack.fed("GET", uri, authorization=remote.authorization(
            fstack.server_name, "GET", uri))

    base = "/_matrix/federation/v1/query/profile"
    status, obj = get(base)
    assert status == 400 and obj["errcode"] == "M_MISSING_PARAM"
    status, obj = get(base + "?user_id=" + q("@someone:" + remote.name))
    assert status == 400 and obj["errcode"] == "M_INVALID_PARAM"
    status, obj = get(base + "?user_id=" + q("@nobody-here:" + fstack.server_name))
    assert status == 404 and obj["errcode"] == "M_NOT_FOUND"
    status, obj = get(base + "?user_id=nonsense")
    assert status == 400 and obj["errcode"] == "M_INVALID_PARAM"


def test_outbound_refuses_loopback_unless_allowlisted(fstack, ca):
    """Checked on the address connected to: a config without
    federation_allow_ips reaches no loopback server, whatever its name."""
    other = Remote(ca)
    try:
        r = admin(fstack, "federation", "keys", other.name,
                  conf=os.path.join(fstack.dir, "myelin-noallow.conf"))
        assert r.returncode != 0
        assert "not allowed" in r.stderr, r.stderr
        assert other.hits == 0
        r = admin(fstack, "federation", "keys", other.name)
        assert r.returncode == 0, r.stderr
        assert other.hits == 1
        verify_self_signed(json.loads(r.stdout.splitlines()[0]), other.name)
    finally:
        other.stop()


def test_outbound_checks_the_certificate(fstack, remote):
    """Without the test CA, the remote's certificate does not verify."""
    path = os.path.join(fstack.dir, "myelin-nocacert.conf")
    with open(fstack.conf) as f:
        text = "".join(l for l in f if not l.startswith("federation_ca_file"))
    with open(path, "w") as f:
        f.write(text)
    hits = remote.hits
    r = admin(fstack, "federation", "request", remote.name, "GET", "/_matrix/key/v2/server",
              conf=path)
    assert r.returncode != 0
    assert "certificate" in r.stderr.lower() or "ssl" in r.stderr.lower(), r.stderr
    assert remote.hits == hits


def test_query_directory(fstack, remote):
    def get(alias):
        uri = "/_matrix/federation/v1/query/directory" + (
            "?room_alias=" + q(alias) if alias is not None else "")
        return fstack.fed("GET", uri, authorization=remote.authorization(
            fstack.server_name, "GET", uri))

    owner = fstack.register("fedalias%d" % os.getpid())
    local = "#fedalias%d:%s" % (os.getpid(), fstack.server_name)
    st, room = fstack.request("POST", "/_matrix/client/v3/createRoom", {
        "room_alias_name": local[1:].split(":")[0]}, token=owner["access_token"])
    assert st == 200, room
    status, obj = get(local)
    assert status == 200 and obj == {"room_id": room["room_id"], "servers": [fstack.server_name]}
    status, obj = get("#nope%d:%s" % (os.getpid(), fstack.server_name))
    assert status == 404 and obj["errcode"] == "M_NOT_FOUND"
    status, obj = get("#a:" + remote.name)
    assert status == 400 and obj["errcode"] == "M_INVALID_PARAM"
    status, obj = get("not an alias")
    assert status == 400 and obj["errcode"] == "M_INVALID_PARAM"
    status, obj = get(None)
    assert status == 400 and obj["errcode"] == "M_MISSING_PARAM"


def test_public_rooms_over_federation(fstack, remote):
    def call(method, uri, body=None):
        return fstack.fed(method, uri, body, authorization=remote.authorization(
            fstack.server_name, method, uri, body))

    owner = fstack.register("fedpub%d" % os.getpid())
    tag = "fedpub%d" % time.time_ns()
    ids = []
    for i in range(3):
        st, room = fstack.request("POST", "/_matrix/client/v3/createRoom", {
            "visibility": "public", "name": "%s %d" % (tag, i), "topic": "t%d" % i},
            token=owner["access_token"])
        assert st == 200
        ids.append(room["room_id"])
    # Unsigned: refused like every federation endpoint but the keys.
    status, obj = fstack.fed("GET", "/_matrix/federation/v1/publicRooms")
    assert status == 401 and obj["errcode"] == "M_UNAUTHORIZED"
    status, obj = call("GET", "/_matrix/federation/v1/publicRooms")
    assert status == 200
    mine = [r for r in obj["chunk"] if r["room_id"] in ids]
    assert len(mine) == 3 and all(r["num_joined_members"] == 1 and "world_readable" in r
                                  for r in mine)
    assert {r["name"] for r in mine} == {"%s %d" % (tag, i) for i in range(3)}
    # Paged two by two, forward then back, as the client API pages.
    status, p1 = call("GET", "/_matrix/federation/v1/publicRooms?limit=2")
    assert status == 200 and len(p1["chunk"]) == 2 and "next_batch" in p1
    status, p2 = call("GET", "/_matrix/federation/v1/publicRooms?limit=2&since=" +
                      q(p1["next_batch"]))
    assert status == 200 and "prev_batch" in p2
    assert not {r["room_id"] for r in p1["chunk"]} & {r["room_id"] for r in p2["chunk"]}
    status, back = call("GET", "/_matrix/federation/v1/publicRooms?limit=2&since=" +
                        q(p2["prev_batch"]))
    assert status == 200 and [r["room_id"] for r in back["chunk"]] == [
        r["room_id"] for r in p1["chunk"]]
    # POST with a search term.
    status, obj = call("POST", "/_matrix/federation/v1/publicRooms",
                       {"filter": {"generic_search_term": tag + " 1"}, "limit": 10})
    assert status == 200 and [r["room_id"] for r in obj["chunk"]] == [ids[1]]
    for bad in ({"limit": "x"}, {"filter": []}, {"include_all_networks": "yes"}):
        status, obj = call("POST", "/_matrix/federation/v1/publicRooms", bad)
        assert status == 400 and obj["errcode"] == "M_BAD_JSON", bad
    status, obj = call("GET", "/_matrix/federation/v1/publicRooms?since=garbage")
    assert status == 400 and obj["errcode"] == "M_INVALID_PARAM"


def test_client_alias_of_a_server_that_does_not_answer(fstack):
    status, body = fstack.request("GET", "/_matrix/client/v3/directory/room/" + q(
        "#x:localhost:%d" % free_port()))
    assert status == 502 and body["errcode"] == "M_UNKNOWN"


# Interop with a real Synapse 1.67.


@pytest.fixture(scope="module")
def synapse(fstack, ca):
    if not KIT:
        pytest.skip("no Synapse kit in ../shared/peers/synapse")
    if os.getuid() == 0:
        subprocess.run([os.path.join(KIT, "setup")], check=True, capture_output=True,
                       timeout=600)
    d = tempfile.mkdtemp(prefix="myelin-fed-synapse-")
    port, fport = free_port(), free_port()
    # Synapse 1.67 keeps its directory from other servers unless told.
    os.makedirs(d + "/hs")
    with open(d + "/hs/extra.yaml", "w") as f:
        f.write("allow_public_rooms_over_federation: true\n")
    out = subprocess.run(
        [os.path.join(KIT, "run"), "start", d + "/hs", "--server-name", "localhost:%d" % fport,
         "--client-port", str(port), "--federation-port", str(fport),
         "--tls-cert", os.path.join(ca, "remote.chain.crt"),
         "--tls-key", os.path.join(ca, "remote.key"), "--ca", os.path.join(ca, "ca.crt")],
        capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr
    env = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
    env = {k: v.strip("'") for k, v in env.items()}
    env["dir"] = d + "/hs"
    try:
        yield env
    finally:
        subprocess.run([os.path.join(KIT, "run"), "stop", d + "/hs"], capture_output=True,
                       timeout=60)
        shutil.rmtree(d, ignore_errors=True)


def synapse_fed(syn, fstack, method, path, body=None):
    data = canonical(body) if body is not None else None
    req = urllib.request.Request("https://localhost:%s%s" % (
        syn["SYNAPSE_SERVER_NAME"].split(":")[1], path), data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=60, context=fstack.ssl) as r:
        return json.loads(r.read())


def test_synapse_fetches_myelins_keys(fstack, synapse):
    _, own = fstack.fed("GET", "/_matrix/key/v2/server")
    (kid, k), = own["verify_keys"].items()
    got = synapse_fed(synapse, fstack, "POST", "/_matrix/key/v2/query",
                      {"server_keys": {fstack.server_name: {kid: {}}}})
    assert len(got["server_keys"]) == 1, got
    verify_self_signed(got["server_keys"][0], fstack.server_name)
    assert got["server_keys"][0]["verify_keys"][kid]["key"] == k["key"]


def test_myelin_fetches_synapses_keys(fstack, synapse):
    name = synapse["SYNAPSE_SERVER_NAME"]
    direct = synapse_fed(synapse, fstack, "GET", "/_matrix/key/v2/server")
    r = admin(fstack, "federation", "keys", name)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout.splitlines()[0])
    verify_self_signed(got, name)
    assert got["verify_keys"] == direct["verify_keys"]
    # And the notary hands them on.
    status, obj = fstack.fed("GET", "/_matrix/key/v2/query/" + q(name))
    assert status == 200 and obj["server_keys"][0]["verify_keys"] == direct["verify_keys"]


def test_synapse_signs_and_myelin_verifies(fstack, synapse):
    """A Synapse user reads a myelin user's profile: Synapse signs
    /query/profile with X-Matrix, myelin fetches its key and verifies."""
    reg = fstack.register("synprofile%d" % os.getpid())
    out = subprocess.run([os.path.join(KIT, "run"), "register", synapse["dir"], "alice",
                          "secret-pw-1"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    token = [l.split("=", 1)[1].strip("'") for l in out.stdout.splitlines()
             if l.startswith("SYNAPSE_ACCESS_TOKEN=")][0]
    req = urllib.request.Request(synapse["SYNAPSE_BASE_URL"] + "/_matrix/client/v3/profile/" +
                                 q(reg["user_id"]))
    req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=60) as r:
        prof = json.loads(r.read())
    assert prof["displayname"] == reg["user_id"][1:].split(":")[0]


def test_myelin_signs_and_synapse_verifies(fstack, synapse):
    """myelin's signed request (X-Matrix with destination) is accepted by Synapse."""
    name = synapse["SYNAPSE_SERVER_NAME"]
    subprocess.run([os.path.join(KIT, "run"), "register", synapse["dir"], "carol",
                    "secret-pw-1"], capture_output=True, text=True, timeout=60)
    r = admin(fstack, "federation", "request", name, "GET",
              "/_matrix/federation/v1/query/profile?user_id=" + q("@carol:" + name))
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "200" and json.loads(lines[1])["displayname"] == "carol"
    # Unsigned, Synapse refuses the same request: the signature is what counted.
    req = urllib.request.Request("https://localhost:%s/_matrix/federation/v1/query/profile"
                                 "?user_id=%s" % (name.split(":")[1], q("@carol:" + name)))
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=60, context=fstack.ssl)
    assert e.value.code == 401


def test_client_profile_of_a_synapse_user(fstack, synapse):
    """GET /profile of a remote user asks its server (/query/profile)."""
    name = synapse["SYNAPSE_SERVER_NAME"]
    subprocess.run([os.path.join(KIT, "run"), "register", synapse["dir"], "dave",
                    "secret-pw-1"], capture_output=True, text=True, timeout=60)
    me = fstack.register("profreader%d" % os.getpid())
    path = "/_matrix/client/v3/profile/" + q("@dave:" + name)
    status, body = fstack.request("GET", path, token=me["access_token"])
    assert status == 200 and body["displayname"] == "dave", body
    status, body = fstack.request("GET", path + "/displayname", token=me["access_token"])
    assert status == 200 and body == {"displayname": "dave"}
    status, body = fstack.request("GET", "/_matrix/client/v3/profile/" + q("@nobody:" + name),
                                  token=me["access_token"])
    assert status == 404 and body["errcode"] == "M_NOT_FOUND"


def test_client_profile_of_an_unreachable_server(fstack):
    """Synapse: no answer from the user's server is 502 "Failed to fetch profile"."""
    me = fstack.register("profreader2%d" % os.getpid())
    status, body = fstack.request("GET", "/_matrix/client/v3/profile/" + q(
        "@x:localhost:%d" % free_port()), token=me["access_token"])
    assert status == 502 and body["errcode"] == "M_UNKNOWN"


def synapse_user(synapse, name):
    out = subprocess.run([os.path.join(KIT, "run"), "register", synapse["dir"], name,
                          "secret-pw-1"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return [l.split("=", 1)[1].strip("'") for l in out.stdout.splitlines()
            if l.startswith("SYNAPSE_ACCESS_TOKEN=")][0]


def synapse_client(synapse, method, path, token, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(synapse["SYNAPSE_BASE_URL"] + path, data=data, method=method)
    req.add_header("Authorization", "Bearer " + token)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def test_aliases_resolve_both_ways_with_synapse(fstack, synapse):
    """myelin resolves a Synapse room alias, and Synapse one of myelin's,
    each asking the other with a signed /query/directory."""
    name = synapse["SYNAPSE_SERVER_NAME"]
    token = synapse_user(synapse, "erin")
    st, sroom = synapse_client(synapse, "POST", "/_matrix/client/v3/createRoom", token,
                               {"room_alias_name": "synroom"})
    assert st == 200, sroom
    status, body = fstack.request("GET", "/_matrix/client/v3/directory/room/" + q(
        "#synroom:" + name))
    assert status == 200 and body["room_id"] == sroom["room_id"], body
    assert name in body["servers"]
    status, body = fstack.request("GET", "/_matrix/client/v3/directory/room/" + q(
        "#nosuch:" + name))
    assert status == 404 and body["errcode"] == "M_NOT_FOUND"

    owner = fstack.register("aliasowner%d" % os.getpid())
    st, room = fstack.request("POST", "/_matrix/client/v3/createRoom", {
        "room_alias_name": "myroom%d" % os.getpid()}, token=owner["access_token"])
    assert st == 200
    st, body = synapse_client(synapse, "GET", "/_matrix/client/v3/directory/room/" + q(
        "#myroom%d:%s" % (os.getpid(), fstack.server_name)), token)
    assert st == 200 and body["room_id"] == room["room_id"], body


def test_public_rooms_both_ways_with_synapse(fstack, synapse):
    """A client of each server lists the other's public rooms (the spec's
    server parameter), each server asking the other over federation."""
    name = synapse["SYNAPSE_SERVER_NAME"]
    token = synapse_user(synapse, "frank")
    st, sroom = synapse_client(synapse, "POST", "/_matrix/client/v3/createRoom", token,
                               {"visibility": "public", "name": "on synapse"})
    assert st == 200, sroom
    me = fstack.register("publister%d" % os.getpid())
    status, body = fstack.request("GET", "/_matrix/client/v3/publicRooms?server=" + q(name))
    assert status == 200 and sroom["room_id"] in [r["room_id"] for r in body["chunk"]], body
    status, body = fstack.request("POST", "/_matrix/client/v3/publicRooms?server=" + q(name),
                                  {"filter": {"generic_search_term": "on synapse"}},
                                  token=me["access_token"])
    assert status == 200 and [r["room_id"] for r in body["chunk"]] == [sroom["room_id"]], body

    st, room = fstack.request("POST", "/_matrix/client/v3/createRoom", {
        "visibility": "public", "name": "on myelin %d" % os.getpid()},
        token=me["access_token"])
    assert st == 200
    st, body = synapse_client(synapse, "GET", "/_matrix/client/v3/publicRooms?server=" +
                              q(fstack.server_name), token)
    assert st == 200 and room["room_id"] in [r["room_id"] for r in body["chunk"]], body


# Last: it moves the stack's clock days ahead of every peer's.


def test_remote_key_validity_is_capped_at_seven_days(fstack, ca):
    """Spec: a key is valid until the lesser of valid_until_ts and 7 days
    ahead: an answer naming a month is fetched again after a week."""
    other = Remote(ca, valid_ms=30 * 86400 * 1000)
    day = 86400 * 1000
    uri = "/_matrix/federation/v1/query/profile?user_id=" + q("@ghost:" + fstack.server_name)

    def ask():
        # 404 from the handler: the signature was checked and good.
        status, obj = fstack.fed("GET", uri, authorization=other.authorization(
            fstack.server_name, "GET", uri))
        assert status == 404 and obj["errcode"] == "M_NOT_FOUND", obj

    try:
        ask()
        assert other.hits == 1
        fstack.clock.advance(6 * day)
        ask()
        assert other.hits == 1
        fstack.clock.advance(2 * day)
        ask()
        assert other.hits == 2
    finally:
        other.stop()
