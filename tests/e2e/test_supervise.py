"""Supervision (issue 17): myelin-stack restarts a handler or daemon that
dies, logs the death with its signal, and stops restarting one that keeps
dying; myelin-stack down stops everything, restarting nothing."""
import os
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import C, STACK, free_port, orphans, start_stack, stop_stack, stop_supervised


@pytest.fixture(scope="module")
def sup():
    s = start_stack()
    yield s
    stop_stack(s)


def pid_of(stack, name):
    with open(os.path.join(stack.dir, "run", name + ".pid")) as f:
        return int(f.read())


def wait_for(pred, what):
    # Polls for a state change (not a speed assertion): up to 20 s.
    for _ in range(400):
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("never happened: " + what)


def supervise_log(stack):
    p = os.path.join(stack.dir, "log", "supervise.log")
    return open(p).read() if os.path.exists(p) else ""


def test_killed_handler_is_restarted_and_the_retry_succeeds(sup):
    old = pid_of(sup, "client")
    os.kill(old, signal.SIGKILL)

    def answered():
        status, body = sup.request("GET", C + "/login")
        return status == 200 and body
    body = wait_for(answered, "client answers again")
    assert any(f["type"] == "m.login.password" for f in body["flows"])
    assert pid_of(sup, "client") != old
    assert "client (pid %d) killed by signal SIGKILL; restarting" % old in supervise_log(sup)
    # A registration, which writes, works on the new process.
    sup.register("supervised1")


def test_killed_timer_daemon_is_restarted(sup):
    old = pid_of(sup, "timerd")
    os.kill(old, signal.SIGKILL)
    wait_for(lambda: pid_of(sup, "timerd") != old, "timerd restarted")
    new = pid_of(sup, "timerd")
    wait_for(lambda: os.path.exists("/proc/%d" % new), "timerd running")
    assert "timerd (pid %d) killed by signal SIGKILL" % old in supervise_log(sup)


def test_a_handler_that_keeps_dying_is_left_stopped(sup):
    # The sync handler is killed each time it comes back: past the start
    # limit (5 restarts a minute) the supervisor gives up and says so.
    seen = set()
    for _ in range(6):
        pid = wait_for(lambda: (lambda p: p if p not in seen and
                                os.path.exists("/proc/%d" % p) else None)(pid_of(sup, "sync")),
                       "sync restarted")
        seen.add(pid)
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: "left stopped" in supervise_log(sup), "supervisor gave up")
    assert "sync (pid" in supervise_log(sup)


def running_with_config_of(directory):
    """Pids of the processes with an argument -c DIRECTORY/...: what
    myelin-stack down must leave none of."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = f.read().decode(errors="replace").split("\0")
            with open("/proc/%s/stat" % d) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    continue
        except OSError:
            continue
        if any(a == "-c" and b.startswith(directory + "/") for a, b in zip(argv, argv[1:])):
            found.append(int(d))
    return found


def by_hand(stack, name):
    """myelin-NAME started by hand with the stack's config, as a test that
    restarts a daemon does, its pid written to no pid file (the
    supervisor's restart wrote its own there after the test's)."""
    log = open(os.path.join(stack.dir, "log", name + ".log"), "a")
    p = subprocess.Popen([os.path.join(os.environ["MYELIN_BIN"], "myelin-" + name),
                          "-c", stack.conf], stdout=log, stderr=subprocess.STDOUT)
    log.close()
    return p


def test_down_stops_programs_no_pid_file_names():
    """A stack whose pusher and sender were killed, restarted by the
    supervisor, and started a second time by hand leaves no process
    running with its config after myelin-stack down (an orphan would
    keep delivering rows of the database, on PostgreSQL every stack's)."""
    s = start_stack()
    try:
        mine = []
        for name in ("pusher", "sender"):
            old = pid_of(s, name)
            os.kill(old, signal.SIGKILL)
            wait_for(lambda: pid_of(s, name) != old, name + " restarted")
            mine.append(by_hand(s, name))
        # Both copies of each run (the restart and the test's).
        wait_for(lambda: all(p.pid in running_with_config_of(s.dir) for p in mine),
                 "the copies started by hand running")
        subprocess.run([STACK, "down", s.dir], check=True, timeout=60)
        assert running_with_config_of(s.dir) == []
        for p in mine:
            assert p.wait(timeout=10) is not None
    finally:
        stop_stack(s)


def test_down_stops_a_program_after_its_supervisor_was_killed():
    """The supervisor of the pusher killed with SIGKILL (it cannot stop
    its program) and the pid file then naming a test's own copy: down
    still stops both copies."""
    s = start_stack()
    try:
        with open(os.path.join(s.dir, "run", "pusher.supervisor.pid")) as f:
            os.kill(int(f.read()), signal.SIGKILL)
        left = pid_of(s, "pusher")
        p = by_hand(s, "pusher")
        with open(os.path.join(s.dir, "run", "pusher.pid"), "w") as f:
            f.write("%d\n" % p.pid)
        assert left in running_with_config_of(s.dir)
        subprocess.run([STACK, "down", s.dir], check=True, timeout=60)
        assert running_with_config_of(s.dir) == []
        p.wait(timeout=10)
    finally:
        stop_stack(s)


def test_a_daemon_taken_over_by_a_test_is_stopped_by_down():
    """stop_supervised, then a copy of the test's own named by the pid
    file (test_push_gateway, test_federation_out): down leaves nothing."""
    s = start_stack()
    try:
        stop_supervised(s.dir, "pusher")
        assert running_with_config_of(s.dir) and \
            not any("myelin-pusher" in open("/proc/%d/cmdline" % pid).read()
                    for pid in running_with_config_of(s.dir))
        p = by_hand(s, "pusher")
        with open(os.path.join(s.dir, "run", "pusher.pid"), "w") as f:
            f.write("%d\n" % p.pid)
        subprocess.run([STACK, "down", s.dir], check=True, timeout=60)
        assert running_with_config_of(s.dir) == []
        p.wait(timeout=10)
    finally:
        stop_stack(s)


def test_the_orphan_check_finds_a_program_of_a_removed_stack():
    """The end-of-run check of conftest: a process of this build with a
    config in a removed test stack's directory is an orphan; one whose
    directory still exists is not."""
    d = tempfile.mkdtemp(prefix="myelin-e2e-gone-")
    fake = os.path.join(os.environ["MYELIN_BIN"], "myelin-pusher")
    # bash runs the sleep as a child (two commands), its own argv as given.
    p = subprocess.Popen(["bash", "-c", "sleep 60; :", fake, "-c", d + "/myelin.conf"])
    try:
        wait_for(lambda: open("/proc/%d/cmdline" % p.pid).read().count("myelin.conf"),
                 "bash started")
        assert p.pid not in [pid for pid, _ in orphans()]
        os.rmdir(d)
        assert p.pid in [pid for pid, _ in orphans()]
    finally:
        p.kill()
        p.wait()
        if os.path.isdir(d):
            os.rmdir(d)


def test_free_port_never_gives_a_port_twice():
    """A stack's client and federation ports come from two free_port()
    calls: the kernel may give one ephemeral port twice in a row (a few
    times in 500 calls), and nginx then refuses the duplicate listen."""
    ports = [free_port() for _ in range(500)]
    assert len(set(ports)) == len(ports)
