"""Supervision (issue 17): myelin-stack restarts a handler or daemon that
dies, logs the death with its signal, and stops restarting one that keeps
dying; myelin-stack down stops everything, restarting nothing."""
import os
import signal
import time

import pytest

from conftest import C, start_stack, stop_stack


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
