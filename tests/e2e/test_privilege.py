"""Least privilege (issue 17): myelin-stack started as root runs every
program as the unprivileged `user' of myelin.conf, keeps the run
directory, database and signing key that user's alone, shows the key
only to the processes that sign, and refuses a run directory the user
cannot reach with the path and the fix.  And the argon2id cap: parallel
logins do not take a handler's memory past what the cap allows."""
import os
import pwd
import stat
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import STACK, SERVER_NAME, free_port, start_stack, stop_stack

pytestmark = pytest.mark.skipif(os.getuid() != 0, reason="myelin-stack drops privileges only as root")

SIGNERS = ("client", "admin-api", "federation", "media", "timerd", "sender")
OTHERS = ("sync", "pusher")


def pid_of(stack, name):
    with open(os.path.join(stack.dir, "run", name + ".pid")) as f:
        return int(f.read())


def status_field(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return line.split()[1:]
    raise AssertionError(field)


def test_programs_started_as_root_run_as_the_unprivileged_user(stack):
    me = pwd.getpwnam("myelin")
    for name in SIGNERS + OTHERS:
        pid = pid_of(stack, name)
        uids = [int(x) for x in status_field(pid, "Uid")]
        gids = [int(x) for x in status_field(pid, "Gid")]
        assert uids == [me.pw_uid] * 4, (name, uids)
        assert gids == [me.pw_gid] * 4, (name, gids)
        assert status_field(pid, "NoNewPrivs") == ["1"], name
        assert status_field(pid, "CapEff") == ["0000000000000000"], name
    # nginx: the master root (it binds the port), its workers nobody.
    master = pid_of(stack, "nginx-master")
    workers = [int(p) for p in subprocess.run(["pgrep", "-P", str(master)],
                                              capture_output=True, text=True).stdout.split()]
    assert workers
    for w in workers:
        assert int(status_field(w, "Uid")[0]) == pwd.getpwnam("nobody").pw_uid


def test_run_directory_database_and_key_are_the_users_alone(stack):
    me = pwd.getpwnam("myelin")
    st = os.stat(stack.dir)
    assert st.st_uid == me.pw_uid and stat.S_IMODE(st.st_mode) == 0o700
    files = ["myelin.conf", "signing.key"]
    if not os.environ.get("MYELIN_TEST_PG"):
        files.append("myelin.db")
    for f in files:
        st = os.stat(os.path.join(stack.dir, f))
        assert st.st_uid == me.pw_uid, f
        assert stat.S_IMODE(st.st_mode) == 0o600, f
    # The sockets: in a folder only the user and nginx's group enter.
    with open(os.path.join(stack.dir, "run", "runtime_dir")) as f:
        rt = f.read().strip()
    for d in (rt, os.path.join(rt, "sock")):
        st = os.stat(d)
        assert st.st_uid == me.pw_uid, d
        assert st.st_gid == pwd.getpwnam("nobody").pw_gid or \
            st.st_gid == __import__("grp").getgrnam("nogroup").gr_gid, d
        assert stat.S_IMODE(st.st_mode) & 0o007 == 0, d


def test_only_the_processes_that_sign_read_the_key(stack):
    key = os.path.join(stack.dir, "signing.key")
    with open(key, "rb") as f:
        real = f.read()
    assert real
    for name in SIGNERS:
        with open("/proc/%d/root%s" % (pid_of(stack, name), key), "rb") as f:
            assert f.read() == real, name
    for name in OTHERS:
        with open("/proc/%d/root%s" % (pid_of(stack, name), key), "rb") as f:
            assert f.read() == b"", name


def test_run_directory_under_a_private_parent_is_refused_with_the_fix():
    parent = tempfile.mkdtemp(prefix="myelin-private-")
    try:
        os.chmod(parent, 0o700)
        d = os.path.join(parent, "stack")
        subprocess.run([STACK, "init", d, "--server-name", SERVER_NAME, "--port",
                        str(free_port())], check=True, capture_output=True, timeout=60)
        up = subprocess.run([STACK, "up", d], capture_output=True, text=True, timeout=60)
        assert up.returncode != 0
        assert parent + " (mode 700) cannot be entered" in up.stderr, up.stderr
        assert "fix: chmod o+x " + parent in up.stderr, up.stderr
        assert "myelin" in up.stderr
        # Nothing was left running.
        assert not os.path.exists(os.path.join(d, "run", "client.pid"))
    finally:
        subprocess.run([STACK, "down", os.path.join(parent, "stack")], capture_output=True)
        subprocess.run(["rm", "-rf", parent])


def vm(pid, field):
    return int(status_field(pid, field)[0])  # kB


def test_parallel_logins_stay_within_the_argon2id_cap():
    # Sixteen handler threads, two hashes at once: twenty parallel logins
    # (19 MiB each) take at most two hashes' memory, not sixteen.
    cap = 2
    s = start_stack(extra_conf="threads.client = 16\npassword_hash_concurrency = %d\n" % cap)
    try:
        # On PostgreSQL every stack shares one database: a fresh name.
        name = "capped%d_%d" % (os.getpid(), time.monotonic_ns())
        s.register(name)
        pid = pid_of(s, "client")
        before = vm(pid, "VmHWM")
        results = []
        go = threading.Barrier(20)

        def one():
            go.wait()
            results.append(s.login(name)[0])
        ts = [threading.Thread(target=one) for _ in range(20)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert results == [200] * 20
        peak = vm(pid, "VmHWM")
        # 19 MiB per hash under way, and 16 MiB for stacks and the heap.
        bound = before + cap * 19 * 1024 + 16 * 1024
        print("MEMORY 20 parallel logins, 16 threads, password_hash_concurrency %d:"
              " myelin-client VmHWM %d kB before, %d kB after (bound %d kB)" % (
                  cap, before, peak, bound))
        assert peak <= bound, "peak %d kB > %d kB (before %d kB)" % (peak, bound, before)
    finally:
        stop_stack(s)


def landlock_abi():
    """The kernel's landlock ABI (landlock_create_ruleset with
    LANDLOCK_CREATE_RULESET_VERSION), 0 without landlock."""
    import ctypes
    import platform
    nr = {"x86_64": 444, "aarch64": 444}[platform.machine()]
    libc = ctypes.CDLL(None, use_errno=True)
    v = libc.syscall(nr, None, ctypes.c_size_t(0), ctypes.c_uint(1))
    return v if v > 0 else 0


def log_of(stack, name):
    with open(os.path.join(stack.dir, "log", name + ".log")) as f:
        return f.read()


def test_every_program_runs_sandboxed(stack):
    # Seccomp: 2 is a filter in force (lib/sandbox); the start-up line says
    # whether landlock holds too, or why not.  myelin-media alone may exec.
    abi = landlock_abi()
    for name in SIGNERS + OTHERS:
        pid = pid_of(stack, name)
        assert status_field(pid, "Seccomp") == ["2"], name
        assert status_field(pid, "NoNewPrivs") == ["1"], name
        log = log_of(stack, name)
        if abi:
            assert "sandbox: landlock ABI %d" % abi in log, (name, log[-2000:])
            assert (", no exec" in log) == (name != "media"), name
        else:
            assert "sandbox: landlock unavailable" in log, name


def test_the_thumbnailer_runs_inside_the_media_sandbox(stack):
    # myelin-thumbnail, exec'd by a sandboxed myelin-media, inherits the
    # filter and the landlock domain, and still makes its thumbnail.
    import struct
    import zlib
    tok = stack.register("sbthumb%d" % os.getpid())["access_token"]

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 64 for _ in range(64))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 64, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    status, body = stack.request("POST", "/_matrix/media/v3/upload", raw=png, token=tok,
                                 headers={"Content-Type": "image/png"})
    assert status == 200, body
    mid = body["content_uri"].split("/")[-1]
    status, _ = stack.request("GET", "/_matrix/client/v1/media/thumbnail/%s/%s"
                              "?width=32&height=32&method=scale" % (SERVER_NAME, mid), token=tok)
    assert status == 200
    assert "myelin-thumbnail failed" not in log_of(stack, "media")


@pytest.mark.parametrize("how", ["config", "environment"])
def test_sandbox_off_leaves_the_programs_unfiltered(how):
    s = start_stack(extra_conf="sandbox = off\n" if how == "config" else "",
                    env={"MYELIN_SANDBOX": "0"} if how == "environment" else None)
    try:
        for name in ("client", "sync", "timerd"):
            assert status_field(pid_of(s, name), "Seccomp") == ["0"], name
            assert "sandbox: off" in log_of(s, name), name
    finally:
        stop_stack(s)
