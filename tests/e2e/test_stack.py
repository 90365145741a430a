"""The stack as myelin-stack lays it out: the generated nginx
configuration (body limits per location, sizing for long-polls, the
access log), limits on parked /sync requests, a run directory under a
private parent, and the configured default room version.

Most tests use the shared `stack`; `tuned` is a stack of this module's
own with small parked-request limits, default_room_version = 11 and the
access log off."""
import concurrent.futures
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import (C, ROOT, STACK, SERVER_NAME, Stack, User, free_port, media_path, q,
                      start_stack, stop_stack)

BIN = os.environ.get("MYELIN_BIN", os.path.join(ROOT, "build", "bin"))
PER_USER, PER_ADDRESS = 2, 3


@pytest.fixture(scope="module")
def tuned():
    s = start_stack(extra_conf="max_parked_per_user = %d\n"
                               "max_parked_per_address = %d\n"
                               "default_room_version = 11\n"
                               "access_log = no\n" % (PER_USER, PER_ADDRESS))
    yield s
    stop_stack(s)


def timeline_ids(body, room_id):
    room = body["rooms"]["join"].get(room_id, {})
    return [e["event_id"] for e in room.get("timeline", {}).get("events", [])]


def raw_http(port, head, body=b""):
    """Sends head (and body) on a fresh connection; returns (status, JSON or
    None).  Reads to the end of the answer's Content-Length, so a server
    still waiting for a body it was promised makes this time out."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        s.sendall(head + body)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            assert chunk, "connection closed before the answer"
            data += chunk
        header, rest = data.split(b"\r\n\r\n", 1)
        m = re.search(rb"\r\ncontent-length:\s*(\d+)", header, re.I)
        want = int(m.group(1)) if m else None
        while want is not None and len(rest) < want:
            chunk = s.recv(65536)
            if not chunk:
                break
            rest += chunk
    status = int(header.split(b" ")[1])
    try:
        return status, json.loads(rest) if rest else None
    except ValueError:
        return status, None


# -- Parked /sync requests: per user and per address -------------------------

def test_parked_syncs_are_limited_per_user_and_address(tuned, uniq):
    """max_parked_per_user waiting syncs of one user, and
    max_parked_per_address from one address: the one past either limit
    gets 429 M_LIMIT_EXCEEDED at once, others still park, and a sync
    that returned frees its place."""
    a, b = User.register(tuned, uniq("pa")), User.register(tuned, uniq("pb"))
    room_a, room_b = a.create_room(), b.create_room()
    since_a = a.sync()[1]["next_batch"]
    since_b = b.sync()[1]["next_batch"]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        # One more than the user may park: whichever comes last is refused.
        waits = [pool.submit(a.sync, since=since_a, timeout=120000) for _ in range(PER_USER + 1)]
        done, _ = concurrent.futures.wait(waits, return_when=concurrent.futures.FIRST_COMPLETED)
        status, body = done.pop().result()
        assert (status, body["errcode"]) == (429, "M_LIMIT_EXCEEDED")
        assert isinstance(body["retry_after_ms"], int) and body["retry_after_ms"] > 0

        # Another user still parks; the address's last place goes to one of
        # b's two syncs (a holds PER_USER of PER_ADDRESS), the other is refused.
        waits_b = [pool.submit(b.sync, since=since_b, timeout=120000) for _ in range(2)]
        done, _ = concurrent.futures.wait(waits_b, return_when=concurrent.futures.FIRST_COMPLETED)
        status, body = done.pop().result()
        assert (status, body["errcode"]) == (429, "M_LIMIT_EXCEEDED")
        ev_b = b.send_text(room_b, "wake b")
        results_b = sorted((f.result() for f in waits_b), key=lambda r: r[0])
        assert results_b[0][0] == 200 and ev_b in timeline_ids(results_b[0][1], room_b)
        assert results_b[1][0] == 429

        # b's message woke a's syncs, which found nothing and waited again.
        ev_a = a.send_text(room_a, "wake a")
        results = sorted((f.result() for f in waits), key=lambda r: r[0])
        assert [r[0] for r in results] == [200] * PER_USER + [429]
        for status, body in results[:PER_USER]:
            assert ev_a in timeline_ids(body, room_a)
        since_a = results[0][1]["next_batch"]

        # Every place came back: a may park PER_USER syncs again.
        again = [pool.submit(a.sync, since=since_a, timeout=120000) for _ in range(PER_USER)]
        ev = a.send_text(room_a, "again")
        for f in again:
            status, body = f.result()
            assert status == 200, body
            assert ev in timeline_ids(body, room_a)


def test_nginx_sized_for_ten_thousand_long_polls(stack):
    """Each waiting long-poll holds a client and an upstream connection:
    the workers together hold 20,000 and each may open as many
    descriptors as it has connections; the listen queue takes a burst."""
    with open(os.path.join(stack.dir, "nginx.conf")) as f:
        conf = f.read()
    workers = int(re.search(r"^\s*worker_processes\s+(\d+);", conf, re.M).group(1))
    conns = int(re.search(r"\bworker_connections\s+(\d+);", conf).group(1))
    nofile = int(re.search(r"^\s*worker_rlimit_nofile\s+(\d+);", conf, re.M).group(1))
    assert workers * conns >= 2 * 10000
    assert nofile >= conns
    backlog = int(re.search(r"^\s*listen\s+\S+\s+backlog=(\d+);", conf, re.M).group(1))
    assert backlog >= 10000


# -- Bodies: nginx stops them at the handler's limit -------------------------

MAX_BODY = 1024 * 1024      # max_body_bytes by default


@pytest.mark.parametrize("method,path", [
    ("POST", C + "/login"),                         # myelin-client, no auth
    ("PUT", C + "/rooms/!r:x/send/m.room.message/t1"),
    ("POST", "/_synapse/admin/v1/register"),         # myelin-admin-api
    ("POST", C + "/sync"),                           # myelin-sync
])
@pytest.mark.parametrize("length", [MAX_BODY + 1, 60 * 1024 * 1024])
def test_body_over_the_handler_limit_refused_by_nginx(stack, method, path, length):
    """Content-Length over max_body_bytes: 413 M_TOO_LARGE from nginx before
    a byte of the body is sent (nginx does not wait for, or buffer, it)."""
    head = ("%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\n\r\n" % (method, path, length)).encode()
    status, body = raw_http(stack.port, head)
    assert (status, body["errcode"]) == (413, "M_TOO_LARGE")


def test_body_at_the_handler_limit_reaches_the_handler(stack):
    """Exactly max_body_bytes still reaches myelin-client, which answers on
    the merits (403 for an unknown user)."""
    start = b'{"type":"m.login.password","identifier":{"type":"m.id.user","user":"nobody"},' \
            b'"password":"x","pad":"'
    body = start + b"a" * (MAX_BODY - len(start) - 2) + b'"}'
    assert len(body) == MAX_BODY
    head = ("POST %s/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\n\r\n" % (C, len(body))).encode()
    status, resp = raw_http(stack.port, head, body)
    assert (status, resp["errcode"]) == (403, "M_FORBIDDEN")


# -- A run directory under a private parent ----------------------------------

def test_stack_under_a_private_parent():
    """A clone under /root: the run directory's parents are 0700 and nginx
    workers run as nobody (the tests run as root).  The stack still
    serves every handler, and the run directory stays private."""
    parent = tempfile.mkdtemp(prefix="myelin-private-")
    os.chmod(parent, 0o700)
    d = os.path.join(parent, "clone", "var")
    os.makedirs(os.path.dirname(d), mode=0o700)
    port = free_port()
    argv = [STACK, "init", d, "--server-name", SERVER_NAME, "--port", str(port),
            "--open-registration"]
    pg = os.environ.get("MYELIN_TEST_PG")
    if pg:
        argv += ["--postgres", pg]
    subprocess.run(argv, check=True, capture_output=True, timeout=60)
    # The programs stay root (user = root): dropped to the user myelin
    # they could not enter the parent, which "up" refuses with the fix
    # (test_privilege.py).
    with open(os.path.join(d, "myelin.conf"), "a") as f:
        f.write("user = root\n")
    up = subprocess.run([STACK, "up", d], capture_output=True, text=True, timeout=120)
    s = Stack(d, port)
    try:
        assert up.returncode == 0, up.stderr
        assert s.request("GET", "/_matrix/client/versions")[0] == 200
        user = s.register("private%d" % os.getpid())
        status, body = s.request("GET", C + "/sync?timeout=0", token=user["access_token"])
        assert status == 200 and "next_batch" in body
        status, body = s.request("GET", "/_synapse/admin/v1/register")
        assert status == 200 and "nonce" in body
        # A body nginx may keep on disk while it passes it on.
        status, body = s.request("POST", C + "/login", {
            "type": "m.login.password", "password": "x", "pad": "a" * (900 * 1024),
            "identifier": {"type": "m.id.user", "user": "nobody"}})
        assert (status, body["errcode"]) == (403, "M_FORBIDDEN")
        # The database and the signing key stay the owner's alone.
        assert os.stat(d).st_mode & 0o077 == 0
        for name in ("myelin.conf", "signing.key"):
            assert os.stat(os.path.join(d, name)).st_mode & 0o077 == 0
    finally:
        subprocess.run([STACK, "down", d], timeout=60)
        bad = s.check_logs()
        media = media_path(d)
        if media.startswith("/var/lib/myelin/media."):
            shutil.rmtree(media, ignore_errors=True)
        shutil.rmtree(parent, ignore_errors=True)
    assert not bad, "problems in logs:\n" + "\n".join(bad)


# -- default_room_version ----------------------------------------------------

def test_default_room_version_is_ten(stack, uniq):
    """Without room_version, createRoom makes version 10, which every
    client handles; /capabilities says so."""
    a = User.register(stack, uniq("rv"))
    caps = a.ok("GET", "/capabilities")["capabilities"]["m.room_versions"]
    assert caps["default"] == "10"
    room = a.create_room()
    create = a.ok("GET", "/rooms/%s/state/m.room.create/" % q(room))
    assert create["room_version"] == "10"
    assert room.endswith(":" + stack.server_name)


def test_default_room_version_follows_the_config(tuned, uniq):
    a = User.register(tuned, uniq("rv"))
    caps = a.ok("GET", "/capabilities")["capabilities"]["m.room_versions"]
    assert caps["default"] == "11" and "11" in caps["available"]
    room = a.create_room()
    assert a.ok("GET", "/rooms/%s/state/m.room.create/" % q(room))["room_version"] == "11"
    # An explicit version still wins.
    room = a.create_room(room_version="12")
    assert a.ok("GET", "/rooms/%s/state/m.room.create/" % q(room))["room_version"] == "12"


@pytest.mark.parametrize("value,ok", [("10", True), ("12", True), ("1", True),
                                      ("13", False), ("v10", False), ("", False),
                                      ("10 11", False)])
def test_default_room_version_checked(tmp_path, value, ok):
    """The config check takes the versions the server supports and
    refuses any other at its file:line."""
    conf = tmp_path / "myelin.conf"
    conf.write_text("server_name = localhost\ndatabase = x.db\n"
                    "default_room_version = %s\n" % value)
    r = subprocess.run([os.path.join(BIN, "myelin-admin"), "-c", str(conf), "config", "check"],
                       capture_output=True, text=True, timeout=60)
    if ok:
        assert r.returncode == 0, r.stderr
    else:
        assert r.returncode != 0
        assert "%s:3:" % conf in r.stderr


# -- The access log ----------------------------------------------------------

ACCESS_LINE = re.compile(
    r'^\S+ - - \[[^]]+\] "(?P<method>[A-Z]+) (?P<path>\S+) HTTP/1\.[01]" (?P<status>\d{3}) \d+ '
    r'"[^"]*" (?P<handler>[a-z-]+) (?P<time>\d+\.\d{3})$')


def access_lines(stack):
    path = os.path.join(stack.dir, "log", "access.log")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return f.read().splitlines()


def test_access_log_names_path_status_handler_and_time(stack, uniq):
    a = User.register(stack, uniq("al"))
    token = a.token
    status, _ = stack.request("GET", C + "/account/whoami?access_token=" + token)
    assert status == 200
    assert stack.request("GET", C + "/sync?timeout=0&filter=%7B%7D", token=token)[0] == 200
    assert stack.request("GET", "/_synapse/admin/v1/register")[0] == 200
    assert stack.request("GET", "/no/such/path?access_token=" + token)[0] == 404
    # nginx logs a request after its answer: wait for the last one's line.
    for _ in range(100):
        lines = access_lines(stack)
        if any("/no/such/path" in line for line in lines):
            break
        time.sleep(0.05)
    # Other test files share this stack: look at what this test asked for.
    parsed = [ACCESS_LINE.match(line) for line in lines
              if token not in line and ("/whoami" in line or "/sync" in line or
                                        "/no/such" in line or "/admin/v1/register" in line)]
    assert parsed and all(parsed), lines
    seen = {(m["method"], m["path"], m["status"], m["handler"]) for m in parsed}
    assert ("GET", C + "/account/whoami", "200", "myelin-client") in seen
    assert ("GET", C + "/sync", "200", "myelin-sync") in seen
    assert ("GET", "/_synapse/admin/v1/register", "200", "myelin-admin-api") in seen
    assert ("GET", "/no/such/path", "404", "nginx") in seen
    # Never a query string: it may carry ?access_token=.
    text = "\n".join(lines)
    assert token not in text and "access_token" not in text and "?" not in text


def test_access_log_off(tuned, uniq):
    a = User.register(tuned, uniq("al"))
    a.ok("GET", "/account/whoami")
    assert access_lines(tuned) == []
