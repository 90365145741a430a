"""End-to-end fixtures: a whole myelin stack (nginx, handlers, daemons) on
loopback in a temporary directory, on SQLite or on PostgreSQL.

Helpers for tests: `nio_run` drives a matrix-nio client (asyncio) from a
plain test function, `nio_clients` several logged-in ones; `FakeClock`
is the time of a stack started with it, `clock_stack` a module's own
stack on one; the `account` fixture is a freshly registered user; `User`
makes raw client-server calls as one user (paths under `C`, segments
escaped with `q`).

Environment:
  MYELIN_BIN           folder of the compiled programs (tests/run sets it)
  MYELIN_TEST_PG       libpq conninfo: run the stack on PostgreSQL
  MYELIN_TEST_KEEP=1   keep the run directory for inspection
"""
import asyncio
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import nio
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STACK = os.path.join(ROOT, "bin", "myelin-stack")
SERVER_NAME = "localhost"
BAD_LOG = re.compile(r"Sanitizer|runtime error|\[alert\]|\[emerg\]| ERROR ")
C = "/_matrix/client/v3"


def q(s):
    """A path segment, escaped as clients send it."""
    return urllib.parse.quote(s, safe="")


_given_ports = set()


def free_port():
    """A loopback port free now and never given before in this run: two
    calls in a row may get the same ephemeral port from the kernel (its
    socket is closed in between), and one stack's client and federation
    listeners on one port are a duplicate listen to nginx."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _given_ports:
            _given_ports.add(port)
            return port


# What myelin-stack up says when a port free_port() gave was taken again
# before nginx bound it, or when one stack got one port twice: start
# again on other ports.
PORT_TROUBLE = ("Address already in use", "a duplicate listen")


def port_trouble(stderr):
    return any(m in (stderr or "") for m in PORT_TROUBLE)


def stop_supervised(stack_dir, name):
    """Stops the supervisor of program NAME of a stack (run/NAME.supervisor.pid)
    and so the program: a test that starts its own copy writing run/NAME.pid
    calls this first, so that no copy is left that no pid file names (the
    supervisor's restart would otherwise run beside the test's and may
    overwrite its pid file).  myelin-stack down then stops the test's copy."""
    path = os.path.join(stack_dir, "run", name + ".supervisor.pid")
    with open(path) as f:
        sup = int(f.read())
    with open(os.path.join(stack_dir, "run", name + ".pid")) as f:
        prog = int(f.read())
    os.kill(sup, signal.SIGTERM)
    for pid in (sup, prog):
        while _running(pid):
            time.sleep(0.05)


def _running(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


class Stack:
    """A running stack and raw HTTP helpers for the edges clients avoid."""

    def __init__(self, directory, port):
        self.dir = directory
        self.port = port
        self.base = "http://127.0.0.1:%d" % port
        self.server_name = SERVER_NAME
        self.conf = os.path.join(directory, "myelin.conf")
        with open(self.conf) as f:
            m = re.search(r"^registration_shared_secret = (.*)$", f.read(), re.M)
        self.shared_secret = m.group(1)

    def request(self, method, path, body=None, token=None, raw=None, headers=None):
        """Returns (status, parsed JSON body or None)."""
        data = raw if raw is not None else (
            json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", "Bearer " + token)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, payload = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, payload = e.code, e.read()
        try:
            return status, json.loads(payload) if payload else None
        except ValueError:
            return status, None

    def admin(self, *args, json_out=False):
        """Runs myelin-admin on this stack's config; returns CompletedProcess."""
        binary = os.path.join(os.environ.get("MYELIN_BIN", os.path.join(ROOT, "build", "bin")),
                              "myelin-admin")
        argv = [binary, "-c", self.conf] + (["--json"] if json_out else []) + list(args)
        return subprocess.run(argv, capture_output=True, text=True, timeout=60)

    def register(self, username, password="secret-pw-1", **extra):
        """Registers through the dummy UIA stage; returns the login response."""
        body = {"username": username, "password": password,
                "auth": {"type": "m.login.dummy"}}
        body.update(extra)
        status, resp = self.request("POST", "/_matrix/client/v3/register", body)
        assert status == 200, resp
        return resp

    def login(self, username, password="secret-pw-1", **extra):
        """POST /login with m.login.password; returns (status, body)."""
        body = {"type": "m.login.password", "password": password,
                "identifier": {"type": "m.id.user", "user": username}}
        body.update(extra)
        return self.request("POST", "/_matrix/client/v3/login", body)

    def check_logs(self):
        bad = []
        logdir = os.path.join(self.dir, "log")
        for name in sorted(os.listdir(logdir)):
            with open(os.path.join(logdir, name), errors="replace") as f:
                for line in f:
                    if BAD_LOG.search(line):
                        bad.append("%s: %s" % (name, line.rstrip()))
        return bad


def own_pg_database(name):
    """On PostgreSQL, a fresh database of the test cluster for one stack
    (its conninfo), where no other stack's daemons can take its rows;
    None on SQLite, where every stack has its own file anyway."""
    pg = os.environ.get("MYELIN_TEST_PG")
    if not pg:
        return None
    name = "%s_%d_%d" % (name, os.getpid(), time.monotonic_ns())
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", pg, "-c",
                    'CREATE DATABASE "%s"' % name], check=True, capture_output=True, timeout=60)
    return re.sub(r"dbname=\S+", "dbname=" + name, pg)


def start_stack(open_registration=True, extra_conf="", env=None, pg=None):
    """env: extra environment for every process of the stack; pg: a
    conninfo of its own (own_pg_database) instead of MYELIN_TEST_PG's.

    free_port() closes its socket before nginx binds the port, so another
    program can take it in between (several test runs on one machine):
    then the stack starts again on another port, at most three times
    (PORT_TROUBLE).

    On PostgreSQL the stacks share MYELIN_TEST_PG's database, except one
    on a fake clock (MYELIN_FAKE_CLOCK in env), which gets a database of
    its own: its rows carry its own times (rate-limit buckets, leases,
    backoffs), which must not reach the stacks on the real clock."""
    if pg is None and "MYELIN_FAKE_CLOCK" in (env or {}):
        pg = own_pg_database("clock")
    for attempt in range(3):
        directory = tempfile.mkdtemp(prefix="myelin-e2e-")
        port = free_port()
        argv = [STACK, "init", directory, "--server-name", SERVER_NAME, "--port", str(port)]
        if open_registration:
            argv.append("--open-registration")
        conninfo = pg or os.environ.get("MYELIN_TEST_PG")
        if conninfo:
            argv += ["--postgres", conninfo]
        subprocess.run(argv, check=True, capture_output=True, timeout=60)
        # The tests' push gateways listen on loopback, which pushers reach
        # only when allowed.  Every stack allows it: on PostgreSQL all stacks
        # share one database, so any stack's myelin-pusher may deliver a row.
        with open(os.path.join(directory, "myelin.conf"), "a") as f:
            f.write("push_allow_ips = 127.0.0.1\n" + extra_conf)
        up = subprocess.run([STACK, "up", directory], timeout=120, stderr=subprocess.PIPE,
                            text=True, env=dict(os.environ, **(env or {})))
        if up.returncode == 0:
            return Stack(directory, port)
        subprocess.run([STACK, "down", directory], capture_output=True, timeout=60)
        if not port_trouble(up.stderr) or attempt == 2:
            raise subprocess.CalledProcessError(up.returncode, up.args, stderr=up.stderr)
        shutil.rmtree(directory, ignore_errors=True)


def media_path(directory):
    """The media_path of the stack in directory (myelin-stack init as root
    puts it in /var/lib/myelin, where nginx's workers can reach it)."""
    with open(os.path.join(directory, "myelin.conf")) as f:
        m = re.search(r"^media_path = (.*)$", f.read(), re.M)
    p = m.group(1) if m else "media"
    return p if p.startswith("/") else os.path.join(directory, p)


def stop_stack(stack):
    subprocess.run([STACK, "down", stack.dir], check=True, timeout=60)
    bad = stack.check_logs()
    if os.environ.get("MYELIN_TEST_KEEP") != "1":
        media = media_path(stack.dir)
        if media.startswith("/var/lib/myelin/media."):
            shutil.rmtree(media, ignore_errors=True)
        shutil.rmtree(stack.dir, ignore_errors=True)
    else:
        print("kept", stack.dir)
    assert not bad, "problems in logs:\n" + "\n".join(bad)


@pytest.fixture(scope="session")
def stack():
    """One shared stack with open registration for the whole run."""
    s = start_stack()
    yield s
    stop_stack(s)


_counter = [0]


@pytest.fixture
def uniq():
    """A fresh lowercase username each call: tests share one database."""
    def make(prefix="u"):
        _counter[0] += 1
        return "%s%d%s" % (prefix, os.getpid(), _counter[0])
    return make


class FakeClock:
    """The file every process of a stack reads the time from (lib/clock):
    pass env={"MYELIN_FAKE_CLOCK": clock.path} to start_stack."""

    def __init__(self):
        fd, self.path = tempfile.mkstemp(prefix="myelin-clock-")
        os.close(fd)
        # Readable by the stack's programs, which run as the unprivileged
        # user when the tests run as root (myelin-stack(8), user).
        os.chmod(self.path, 0o644)
        # Start at the real time and only go forward: rows this stack
        # writes must never look old to the other stacks' timer daemons.
        self.set(int(time.time() * 1000))

    def set(self, ms):
        self.now = ms
        with open(self.path, "r+b") as f:
            f.write(struct.pack("<q", ms))

    def advance(self, ms):
        self.set(self.now + ms)


@pytest.fixture(scope="module")
def clock_stack():
    """A stack of the module's own on a FakeClock (its .clock): moving
    that time never disturbs other stacks sharing a PostgreSQL database."""
    clock = FakeClock()
    s = start_stack(env={"MYELIN_FAKE_CLOCK": clock.path})
    s.clock = clock
    yield s
    stop_stack(s)
    os.unlink(clock.path)


class User:
    """A logged-in user (a register or login response) and raw
    client-server calls as them.  A path is under C unless it starts with
    "/_" (another API version, the admin API).  Methods that must succeed
    assert 200; the others return (status, body)."""

    def __init__(self, stack, resp):
        self.stack, self.resp = stack, resp
        self.user_id, self.token = resp["user_id"], resp["access_token"]
        self.device_id = resp.get("device_id")
        self.txn = 0

    @classmethod
    def register(cls, stack, name, password=None):
        """A new user name, registered with password ("pw-" + name by default)."""
        return cls(stack, stack.register(name, password or "pw-" + name))

    def call(self, method, path, body=None, raw=None):
        """One request as this user: (status, body)."""
        if not path.startswith("/_"):
            path = C + path
        return self.stack.request(method, path, body, token=self.token, raw=raw)

    def get(self, path, **params):
        """GET path with params (those not None) as its query string:
        (status, body)."""
        params = {k: v for k, v in params.items() if v is not None}
        if params:
            path += "?" + urllib.parse.urlencode(params)
        return self.call("GET", path)

    def ok(self, method, path, body=None):
        """A request that must answer 200; the body."""
        status, resp = self.call(method, path, body)
        assert status == 200, (method, path, status, resp)
        return resp

    def create_room(self, **body):
        """POST /createRoom with exactly body; the new room's ID."""
        return self.ok("POST", "/createRoom", body)["room_id"]

    def join(self, room):
        """POST /join/{room} (an ID or an alias), which must succeed."""
        return self.ok("POST", "/join/" + q(room), {})

    def room_post(self, room, what, user_id=None):
        """POST /rooms/{room}/{what} (join, leave, invite, kick, ban), with
        {"user_id": user_id} when given, which must succeed."""
        return self.ok("POST", "/rooms/%s/%s" % (q(room), what),
                       {} if user_id is None else {"user_id": user_id})

    def next_txn(self):
        """A transaction ID this user has not sent yet."""
        self.txn += 1
        return "t%d" % self.txn

    def send(self, room, content, etype="m.room.message", txn=None):
        """PUT /rooms/{room}/send/{etype}/{txn}, a fresh txn unless given:
        (status, body).  content: the event's, or a string: an m.text
        message with that body."""
        if isinstance(content, str):
            content = {"msgtype": "m.text", "body": content}
        return self.call("PUT", "/rooms/%s/send/%s/%s" % (
            q(room), q(etype), q(txn or self.next_txn())), content)

    def send_ok(self, room, content, etype="m.room.message"):
        """send() with a fresh txn, which must succeed; the event ID."""
        status, resp = self.send(room, content, etype)
        assert status == 200, (room, etype, status, resp)
        return resp["event_id"]

    def send_text(self, room, text, **extra):
        """send_ok() of an m.text message: body text, plus extra; the event ID."""
        return self.send_ok(room, dict({"msgtype": "m.text", "body": text}, **extra))

    def state(self, room, etype, key=""):
        """GET /rooms/{room}/state/{etype}/{key}: (status, body)."""
        return self.call("GET", "/rooms/%s/state/%s/%s" % (q(room), q(etype), q(key)))

    def put_state(self, room, etype, content, key=""):
        """PUT /rooms/{room}/state/{etype}/{key}: (status, body)."""
        return self.call("PUT", "/rooms/%s/state/%s/%s" % (q(room), q(etype), q(key)),
                         content)

    def timeline(self, room):
        """Every event of the room, oldest first (one big page)."""
        status, resp = self.get("/rooms/%s/messages" % q(room), dir="f", limit=1000)
        assert status == 200, resp
        return resp["chunk"]

    def membership(self, room, user_id):
        """user_id's membership in room as this user reads it, or None."""
        status, resp = self.state(room, "m.room.member", user_id)
        return resp.get("membership") if status == 200 else None

    def sync(self, **params):
        """GET /sync with params (those not None) as its query string,
        timeout=0 unless given: (status, body)."""
        params.setdefault("timeout", 0)
        return self.get("/sync", **params)


def nio_run(stack, fn, user="", device_id=""):
    """Runs the coroutine function fn(client) with a matrix-nio AsyncClient
    for the stack, closes the client and returns fn's result."""
    async def main():
        client = nio.AsyncClient(stack.base, user, device_id=device_id)
        try:
            return await fn(client)
        finally:
            await client.close()
    return asyncio.run(main())


def nio_clients(stack, users, fn):
    """Runs the coroutine function fn(*clients) with one logged-in
    matrix-nio client per user in users (register/login responses or
    Users), and returns its result."""
    users = [getattr(u, "resp", u) for u in users]

    async def go(first):
        clients = [first] + [nio.AsyncClient(stack.base, u["user_id"]) for u in users[1:]]
        for c, u in zip(clients, users):
            c.restore_login(u["user_id"], u["device_id"], u["access_token"])
        try:
            return await fn(*clients)
        finally:
            for c in clients[1:]:
                await c.close()
    return nio_run(stack, go, user=users[0]["user_id"])


@pytest.fixture
def account(stack, uniq):
    """A freshly registered user: username, password, user_id,
    access_token, device_id."""
    name, password = uniq("acct"), "pw-" + uniq("p")
    resp = stack.register(name, password)
    return dict(resp, username=name, password=password)


def admin_login(stack, name, password):
    """A server admin made with myelin-admin, logged in: the login response."""
    r = stack.admin("user", "add", name, "--password", password, "--admin")
    assert r.returncode == 0, (r.args, r.stdout, r.stderr)
    status, body = stack.login(name, password)
    assert status == 200, body
    return body


def shared_secret_body(stack, nonce, username, password, admin=False, **extra):
    """The body of POST /_synapse/admin/v1/register as Synapse documents it:
    mac is the hex HMAC-SHA1, keyed with registration_shared_secret, of
    nonce, username, password and "admin"/"notadmin" joined by NUL bytes."""
    mac = hmac.new(stack.shared_secret.encode(), digestmod=hashlib.sha1)
    mac.update(nonce.encode() + b"\x00" + username.encode() + b"\x00" +
               password.encode() + b"\x00" + (b"admin" if admin else b"notadmin"))
    body = {"nonce": nonce, "username": username, "password": password,
            "admin": admin, "mac": mac.hexdigest()}
    body.update(extra)
    return body


def pytest_configure(config):
    config.addinivalue_line("markers", "backend(name): the test belongs to one database "
                            "backend's pass (sqlite or postgres) and is not collected in "
                            "the other")


def pytest_collection_modifyitems(config, items):
    """A test marked backend("sqlite") or backend("postgres") is left out of
    the other backend's pass (deselected, not skipped: tests/run counts a
    skip as a failure, and each pass of make test runs the tests it can)."""
    backend = "postgres" if os.environ.get("MYELIN_TEST_PG") else "sqlite"
    keep, drop = [], []
    for it in items:
        m = it.get_closest_marker("backend")
        (drop if m is not None and m.args[0] != backend else keep).append(it)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


# Orphans (issue 17): at the end of the run, a process of this build
# (MYELIN_BIN) started during the run whose -c config lies in a test
# stack's directory that no longer exists was left behind by a stack's
# myelin-stack down or by a test; it keeps working on the database
# (on PostgreSQL, the one all stacks share).  It is reported, stopped,
# and fails the run.
def _boot_ticks():
    with open("/proc/self/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[19])


_SESSION_START = _boot_ticks()


def orphans(since=None):
    """(pid, command line) of every process of MYELIN_BIN's programs whose
    -c config is under a removed /tmp/myelin-e2e-* directory, started at
    or after since (ticks after boot; default: this run's start)."""
    bindir = os.environ.get("MYELIN_BIN")
    if not bindir:
        return []
    bindirs = (os.path.join(bindir, ""), os.path.join(os.path.realpath(bindir), ""))
    prefix = os.path.join(tempfile.gettempdir(), "myelin-e2e-")
    since = _SESSION_START if since is None else since
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = f.read().decode(errors="replace").split("\0")
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] == "Z" or int(fields[19]) < since:
            continue
        if not any(a.startswith(bindirs) for a in argv):
            continue
        for flag, conf in zip(argv, argv[1:]):
            if flag == "-c" and conf.startswith(prefix):
                top = conf[:conf.index("/", len(prefix))] if "/" in conf[len(prefix):] else conf
                if not os.path.isdir(top):
                    found.append((int(d), " ".join(argv).strip()))
                break
    return found


def pytest_sessionfinish(session, exitstatus):
    left = orphans()
    if not left:
        return
    lines = ["%d %s" % p for p in left]
    for pid, _ in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    rep = session.config.pluginmanager.get_plugin("terminalreporter")
    msg = ("ORPHANS: processes of removed test stacks still ran at the end of the run"
           " (killed now):\n  " + "\n  ".join(lines))
    if rep is not None:
        rep.write_line(msg, red=True)
    else:
        print(msg)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
