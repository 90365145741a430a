"""mfcgi_main_async, the event loop for long polls, through real nginx.

The program under test is tests/fixtures/myelin-parktest: GET /park?ms=N
waits (parked, no thread held) until N ms pass or POST /bump moves the
notify segment; GET /count tells how many wait and how many handler
states were freed, so tests wait for conditions instead of sleeping.
Bad FastCGI goes straight to the unix socket, past nginx.
"""
import asyncio
import http.client
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import BAD_LOG, ROOT, free_port

BIN = os.environ.get("MYELIN_BIN", os.path.join(ROOT, "build", "bin"))
PARKTEST = os.path.join(os.path.dirname(BIN), "tests", "fixtures", "myelin-parktest")

FCGI_BEGIN, FCGI_ABORT, FCGI_END, FCGI_PARAMS, FCGI_STDIN, FCGI_STDOUT = 1, 2, 3, 4, 5, 6
FCGI_GET_VALUES, FCGI_GET_VALUES_RESULT = 9, 10


def wait_until(cond, timeout=10.0, what="condition"):
    """Polls cond() until it is true; fails after timeout seconds."""
    end = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.01)


class ParkServer:
    """myelin-parktest behind nginx in a temporary directory."""

    def __init__(self, env=None, run_dir="run", threads=2, allow_log=()):
        self.dir = tempfile.mkdtemp(prefix="myelin-async-")
        self.port = free_port()
        self.allow_log = allow_log
        for d in ("log", "sock", "run", "tmp"):
            os.mkdir(os.path.join(self.dir, d))
        os.chmod(self.dir, 0o755)
        os.chmod(os.path.join(self.dir, "sock"), 0o755)
        self.conf = os.path.join(self.dir, "myelin.conf")
        with open(self.conf, "w") as f:
            f.write("server_name = localhost\n"
                    "database_backend = sqlite\n"
                    "database = myelin.db\n"
                    "run_dir = %s\n"
                    "log_level = info\n"
                    "max_body_bytes = 1048576\n" % run_dir)
        self.sock = os.path.join(self.dir, "sock", "park.sock")
        self.log = open(os.path.join(self.dir, "log", "parktest.log"), "ab")
        self.proc = subprocess.Popen(
            [PARKTEST, "-c", self.conf, "-s", self.sock, "-t", str(threads)],
            stdout=self.log, stderr=subprocess.STDOUT,
            env=dict(os.environ, **(env or {})))
        self.nginx = None
        try:
            wait_until(lambda: os.path.exists(self.sock) or self.proc.poll() is not None,
                       what="the socket")
            assert self.proc.poll() is None, "myelin-parktest exited"
            self._start_nginx()
            wait_until(self._answers, what="nginx")
        except BaseException:
            self.stop()
            raise

    def _start_nginx(self):
        locs = subprocess.run([PARKTEST, "-c", self.conf, "-L", "-s", self.sock],
                              check=True, capture_output=True, text=True).stdout
        user = "user nobody nogroup;" if os.getuid() == 0 else ""
        d = self.dir
        with open(os.path.join(d, "nginx.conf"), "w") as f:
            f.write("""%s
worker_processes 2;
pid %s/run/nginx.pid;
error_log %s/log/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path %s/tmp/body;
    fastcgi_temp_path %s/tmp/fastcgi;
    proxy_temp_path %s/tmp/proxy;
    uwsgi_temp_path %s/tmp/uwsgi;
    scgi_temp_path %s/tmp/scgi;
    client_max_body_size 64m;
    client_body_buffer_size 1m;
    large_client_header_buffers 4 256k;
    merge_slashes off;
    server {
        listen 127.0.0.1:%d backlog=4096;
        # As myelin-stack: the locations refuse bodies over max_body_bytes.
        error_page 413 @too_large;
        location @too_large {
            return 413 '{"errcode":"M_TOO_LARGE","error":"Request body too large"}';
        }
        %s
    }
}
""" % (user, d, d, d, d, d, d, d, self.port, locs))
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.nginx = subprocess.Popen(
            [nginx, "-c", os.path.join(d, "nginx.conf"), "-p", d,
             "-e", os.path.join(d, "log", "nginx-error.log"), "-g", "daemon off;"],
            stdout=self.log, stderr=subprocess.STDOUT)

    def _answers(self):
        try:
            return self.request("GET", "/count", timeout=2)[0] == 200
        except OSError:
            return False

    def request(self, method, path, body=None, headers=None, timeout=30):
        """Returns (status, parsed JSON or None, seconds taken)."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        t0 = time.monotonic()
        try:
            data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
            c.request(method, path, body=data, headers=headers or {})
            r = c.getresponse()
            payload = r.read()
        finally:
            c.close()
        try:
            obj = json.loads(payload) if payload else None
        except ValueError:
            obj = None
        return r.status, obj, time.monotonic() - t0

    def count(self):
        return self.request("GET", "/count")[1]

    def pss_kb(self):
        with open("/proc/%d/smaps_rollup" % self.proc.pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
        return 0

    def terminate(self):
        """SIGTERM to the handler; returns its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return "hung"
        return self.proc.returncode

    def stop(self):
        """Stops everything; returns the bad log lines (see conftest)."""
        status = self.terminate()
        if self.nginx is not None and self.nginx.poll() is None:
            self.nginx.send_signal(signal.SIGQUIT)
            try:
                self.nginx.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.nginx.kill()
                self.nginx.wait()
        self.log.close()
        bad = [] if status == 0 else ["myelin-parktest exit status %r" % (status,)]
        logdir = os.path.join(self.dir, "log")
        for name in sorted(os.listdir(logdir)):
            with open(os.path.join(logdir, name), errors="replace") as f:
                for line in f:
                    if BAD_LOG.search(line) and not any(a in line for a in self.allow_log):
                        bad.append("%s: %s" % (name, line.rstrip()))
        if os.environ.get("MYELIN_TEST_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            print("kept", self.dir)
        return bad


@pytest.fixture(scope="module")
def park():
    s = ParkServer()
    yield s
    bad = s.stop()
    assert not bad, "problems:\n" + "\n".join(bad)


def in_thread(fn, *args):
    """Runs fn(*args) in a thread; returns a function giving its result."""
    out = {}

    def run():
        try:
            out["v"] = fn(*args)
        except BaseException as e:  # noqa: B902 -- handed to the test
            out["e"] = e
    t = threading.Thread(target=run, daemon=True)
    t.start()

    def result(timeout=30):
        t.join(timeout)
        assert not t.is_alive(), "request still running"
        if "e" in out:
            raise out["e"]
        return out["v"]
    return result


# -- the pipeline, through the event loop --------------------------------------

def test_routes_and_errors(park):
    assert park.request("GET", "/nowhere")[:2] == \
        (404, {"errcode": "M_UNRECOGNIZED", "error": "Unrecognized request"})
    status, body, _ = park.request("POST", "/park")
    assert (status, body["errcode"]) == (405, "M_UNRECOGNIZED")
    status, body, _ = park.request("GET", "/park?ms=nope")
    assert (status, body["errcode"]) == (400, "M_INVALID_PARAM")
    status, body, _ = park.request("GET", "/whoami")
    assert (status, body["errcode"]) == (401, "M_MISSING_TOKEN")
    status, body, _ = park.request("GET", "/whoami",
                                   headers={"Authorization": "Bearer myt_nosuchtoken"})
    assert (status, body["errcode"]) == (401, "M_UNKNOWN_TOKEN")


def test_bodies_and_big_answers(park):
    doc = {"k%d" % i: "v" * 100 for i in range(2000)}     # about 220 kB: many STDIN records
    status, body, _ = park.request("POST", "/echo", doc,
                                   headers={"Content-Type": "application/json"})
    assert status == 200 and body == doc
    status, body, _ = park.request("POST", "/echo", b"[1]")
    assert (status, body["errcode"]) == (400, "M_BAD_JSON")
    status, body, _ = park.request("POST", "/echo", b"{nope")
    assert (status, body["errcode"]) == (400, "M_NOT_JSON")
    status, body, _ = park.request("POST", "/echo", b"x" * (2 * 1024 * 1024))
    assert (status, body["errcode"]) == (413, "M_TOO_LARGE")
    status, body, _ = park.request("GET", "/big?n=300000")   # several STDOUT records
    assert status == 200 and body["x"] == "x" * 300000


# -- parking -------------------------------------------------------------------

def test_park_times_out(park):
    status, body, took = park.request("GET", "/park?ms=300")
    assert status == 200
    assert body == {"woken": "timeout", "runs": 2}
    assert took >= 0.29
    status, body, _ = park.request("GET", "/park?ms=0")
    assert (status, body["woken"]) == (200, "timeout")


def test_bump_wakes_parked(park):
    before = park.count()["parked"]
    result = in_thread(park.request, "GET", "/park?ms=20000")
    wait_until(lambda: park.count()["parked"] > before, what="the request to park")
    t0 = time.monotonic()
    assert park.request("POST", "/bump")[0] == 200
    status, body, took = result()
    assert status == 200
    assert body == {"woken": "notify", "runs": 2}
    # Well before the 20 s deadline.
    assert time.monotonic() - t0 < 5, took


async def _open_poll(port, path):
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(("GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" % path).encode())
    await w.drain()
    return r, w


async def _read_answer(r, w):
    data = await r.read()
    w.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split()[1]) if head else 0
    try:
        return status, json.loads(body)
    except ValueError:
        return status, None


def test_thousand_parked(park):
    """1,000 long polls wait at once; one bump answers them all."""
    n = 1000
    base = park.count()["parked"]
    idle = park.pss_kb()

    async def main():
        conns = []
        for i in range(0, n, 100):
            conns += await asyncio.gather(*[_open_poll(park.port, "/park?ms=60000")
                                            for _ in range(100)])
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: wait_until(lambda: park.count()["parked"] >= base + n,
                                     timeout=20, what="1000 parked"))
        loaded = park.pss_kb()
        t0 = time.monotonic()
        assert park.request("POST", "/bump")[0] == 200
        answers = await asyncio.wait_for(
            asyncio.gather(*[_read_answer(r, w) for r, w in conns]), 30)
        return loaded, time.monotonic() - t0, answers

    loaded, took, answers = asyncio.run(main())
    bad = [a for a in answers if a != (200, {"woken": "notify", "runs": 2})]
    assert not bad, "%d of %d failed, e.g. %r" % (len(bad), n, bad[:3])
    print("\n1000 parked: PSS %d kB idle, %d kB parked (%.1f kB each); "
          "all answered %.2f s after the bump" % (idle, loaded, (loaded - idle) / n, took))
    assert park.count()["parked"] == base


def test_client_gone_while_parked(park):
    """nginx closes the upstream when the client goes; the loop frees the request."""
    c0 = park.count()
    socks = []
    for _ in range(50):
        s = socket.create_connection(("127.0.0.1", park.port))
        s.sendall(b"GET /park?ms=60000 HTTP/1.1\r\nHost: t\r\n\r\n")
        socks.append(s)
    wait_until(lambda: park.count()["parked"] >= c0["parked"] + 50, what="50 parked")
    for s in socks:
        s.close()
    wait_until(lambda: park.count()["freed"] >= c0["freed"] + 50, what="50 freed")
    assert park.count()["parked"] == c0["parked"]
    assert park.request("GET", "/park?ms=1")[1]["woken"] == "timeout"


# -- FastCGI straight to the socket --------------------------------------------

def record(rtype, rid, content=b"", pad=0):
    return struct.pack(">BBHHBB", 1, rtype, rid, len(content), pad, 0) + content + b"\0" * pad


def pairs(d):
    out = b""
    for k, v in d.items():
        for x in (k.encode(), v.encode()):
            out += bytes([len(x)]) if len(x) < 128 else struct.pack(">I", len(x) | 0x80000000)
        out += k.encode() + v.encode()
    return out


def fcgi_request(rid, uri, keep=False, method="GET"):
    params = pairs({"REQUEST_METHOD": method, "REQUEST_URI": uri, "REMOTE_ADDR": "127.0.0.1"})
    return (record(FCGI_BEGIN, rid, struct.pack(">HB5x", 1, 1 if keep else 0)) +
            record(FCGI_PARAMS, rid, params) + record(FCGI_PARAMS, rid) +
            record(FCGI_STDIN, rid))


def read_records(s, until_end=True):
    """Reads records until END_REQUEST (or EOF); returns [(type, id, content)]."""
    buf, out = b"", []
    while True:
        while len(buf) >= 8:
            _, t, rid, clen, plen, _ = struct.unpack(">BBHHBB", buf[:8])
            if len(buf) < 8 + clen + plen:
                break
            out.append((t, rid, buf[8:8 + clen]))
            buf = buf[8 + clen + plen:]
            if until_end and t == FCGI_END:
                return out
        chunk = s.recv(65536)
        if not chunk:
            return out
        buf += chunk


def unix(park):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(park.sock)
    return s


def closed_by_peer(s):
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True


def test_fcgi_management_and_keep_conn(park):
    with unix(park) as s:
        s.sendall(record(FCGI_GET_VALUES, 0, pairs({"FCGI_MPXS_CONNS": "", "FCGI_X": ""})))
        t, rid, content = read_one(s)
        assert (t, rid) == (FCGI_GET_VALUES_RESULT, 0)
        assert content == bytes([15, 1]) + b"FCGI_MPXS_CONNS0"
        # Two requests, one after the other, on a kept connection.
        for rid in (1, 2):
            s.sendall(fcgi_request(rid, "/park?ms=%d" % (rid * 10), keep=True))
            recs = read_records(s)
            assert recs[-1][0] == FCGI_END and recs[-1][1] == rid
            stdout = b"".join(c for t, r, c in recs if t == FCGI_STDOUT)
            assert stdout.startswith(b"Status: 200 OK\r\n")
            assert json.loads(stdout.split(b"\r\n\r\n", 1)[1])["woken"] == "timeout"
            assert recs[-2] == (FCGI_STDOUT, rid, b"")
    # Without keep-conn the loop closes after END_REQUEST.
    with unix(park) as s:
        s.sendall(fcgi_request(3, "/count"))
        assert read_records(s)[-1][0] == FCGI_END
        assert closed_by_peer(s)


def read_one(s):
    buf = b""
    while len(buf) < 8:
        buf += s.recv(8 - len(buf))
    _, t, rid, clen, plen, _ = struct.unpack(">BBHHBB", buf)
    body = b""
    while len(body) < clen + plen:
        body += s.recv(clen + plen - len(body))
    return t, rid, body[:clen]


def test_fcgi_params_too_large(park):
    """nginx sends at most one 64 kB PARAMS record; others may send more."""
    big = pairs({"HTTP_X_BIG": "b" * 60000})
    with unix(park) as s:
        s.sendall(record(FCGI_BEGIN, 1, struct.pack(">HB5x", 1, 0)) +
                  record(FCGI_PARAMS, 1, pairs({"REQUEST_METHOD": "GET",
                                                "REQUEST_URI": "/count"})) +
                  record(FCGI_PARAMS, 1, big) * 3 + record(FCGI_PARAMS, 1) +
                  record(FCGI_STDIN, 1))
        recs = read_records(s)
    stdout = b"".join(c for t, r, c in recs if t == FCGI_STDOUT)
    assert stdout.startswith(b"Status: 413 ")
    assert json.loads(stdout.split(b"\r\n\r\n", 1)[1])["errcode"] == "M_TOO_LARGE"


def test_fcgi_abort(park):
    with unix(park) as s:
        s.sendall(record(FCGI_BEGIN, 1, struct.pack(">HB5x", 1, 0)) + record(FCGI_ABORT, 1))
        assert read_records(s)[-1][:2] == (FCGI_END, 1)
        assert closed_by_peer(s)
    # Aborting a parked request frees it.
    c0 = park.count()
    with unix(park) as s:
        s.sendall(fcgi_request(9, "/park?ms=60000"))
        wait_until(lambda: park.count()["parked"] > c0["parked"], what="park")
        s.sendall(record(FCGI_ABORT, 9))
        assert read_records(s)[-1][:2] == (FCGI_END, 9)
    wait_until(lambda: park.count()["freed"] > c0["freed"], what="the aborted request freed")


def test_fcgi_garbage(park):
    """None of this may crash the loop or leak (the sanitizers watch)."""
    cases = [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        record(FCGI_BEGIN, 1, b"\0\1"),                        # short BEGIN
        record(FCGI_BEGIN, 1, struct.pack(">HB5x", 1, 0)) +
        record(FCGI_PARAMS, 1, b"\x85\0\0\0\1ab") + record(FCGI_PARAMS, 1),
        record(FCGI_BEGIN, 1, struct.pack(">HB5x", 1, 0)) +
        record(FCGI_PARAMS, 1, b"\x01\x01a\0") + record(FCGI_PARAMS, 1),
        record(FCGI_BEGIN, 1, struct.pack(">HB5x", 1, 0)) + record(FCGI_STDIN, 1) +
        record(FCGI_STDIN, 1, b"late"),
        fcgi_request(1, "/count")[:30],                       # cut short, then closed
        record(FCGI_BEGIN, 1, struct.pack(">HB5x", 1, 0)) + b"\1\4\0\1\xff\xff\0\0" + b"p" * 100,
        fcgi_request(0, "/count"),                            # request id 0
        record(FCGI_BEGIN, 2, struct.pack(">HB5x", 3, 0)),      # the Filter role
        record(FCGI_BEGIN, 1, struct.pack(">HB5x", 1, 0)) +
        record(FCGI_BEGIN, 1, struct.pack(">HB5x", 1, 0)),
    ]
    rnd = random.Random(4)
    for _ in range(100):
        n = rnd.randrange(1, 400)
        noise = bytearray(rnd.getrandbits(8) for _ in range(n))
        for i in range(0, n, 8):
            if rnd.random() < 0.8:
                noise[i] = 1
        cases.append(bytes(noise))
    for data in cases:
        with unix(park) as s:
            try:
                s.sendall(data)
                s.shutdown(socket.SHUT_WR)
                while s.recv(65536):
                    pass
            except (ConnectionResetError, BrokenPipeError, socket.timeout):
                pass
    # Still serving, through nginx and directly.
    assert park.request("GET", "/park?ms=1")[1]["woken"] == "timeout"
    with unix(park) as s:
        s.sendall(fcgi_request(5, "/count"))
        assert read_records(s)[-1][:2] == (FCGI_END, 5)


# -- other set-ups: each starts its own program --------------------------------

def test_stop_answers_parked():
    """SIGTERM wakes waiting requests once more (timeout), so clients get answers."""
    s = ParkServer()
    try:
        result = in_thread(s.request, "GET", "/park?ms=60000")
        wait_until(lambda: s.count()["parked"] == 1, what="park")
        assert s.terminate() == 0
        status, body, _ = result()
        assert (status, body) == (200, {"woken": "timeout", "runs": 2})
    finally:
        bad = s.stop()
    assert not bad, "problems:\n" + "\n".join(bad)


def test_fake_clock_deadline():
    """Deadlines are on lib/clock: moving the fake clock wakes within a second."""
    fd, path = tempfile.mkstemp(prefix="myelin-clock-")
    now = int(time.time() * 1000)
    os.write(fd, struct.pack("<q", now))
    os.close(fd)
    s = ParkServer(env={"MYELIN_FAKE_CLOCK": path})
    try:
        result = in_thread(s.request, "GET", "/park?ms=600000")
        wait_until(lambda: s.count()["parked"] == 1, what="park")
        with open(path, "r+b") as f:
            f.write(struct.pack("<q", now + 600001))
        t0 = time.monotonic()
        status, body, _ = result(10)
        assert (status, body["woken"]) == (200, "timeout")
        assert time.monotonic() - t0 < 5
    finally:
        bad = s.stop()
        os.unlink(path)
    assert not bad, "problems:\n" + "\n".join(bad)


def test_without_notify():
    """No notify segment (run_dir unusable): parked requests wake at their deadline."""
    s = ParkServer(run_dir="/nonexistent/myelin-run",
                   allow_log=("mnotify_open",))
    try:
        status, body, took = s.request("GET", "/park?ms=200")
        assert (status, body["woken"]) == (200, "timeout") and took >= 0.19
    finally:
        bad = s.stop()
    assert not bad, "problems:\n" + "\n".join(bad)


def test_threaded_loop_parks_too():
    """Under mfcgi_main a parked request holds its thread but behaves the same."""
    s = ParkServer(env={"MYELIN_PARKTEST_LOOP": "threads"}, threads=4)
    try:
        assert s.request("GET", "/park?ms=200")[1] == {"woken": "timeout", "runs": 2}
        result = in_thread(s.request, "GET", "/park?ms=20000")
        wait_until(lambda: s.count()["parked"] == 1, what="park")
        t0 = time.monotonic()
        assert s.request("POST", "/bump")[0] == 200
        assert result()[1] == {"woken": "notify", "runs": 2}
        assert time.monotonic() - t0 < 5
    finally:
        bad = s.stop()
    assert not bad, "problems:\n" + "\n".join(bad)
