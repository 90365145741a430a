"""Delayed events (MSC4140, as Synapse implements it; issue 15's timers):
a send or state PUT with org.matrix.msc4140.delay is kept and sent by
myelin-timerd when its time comes on the stack's clock, unless cancelled,
restarted or sent at once; a state change by another user cancels a
delayed state event for the same state; killing timerd before a due event
and starting it again sends it once.  Off unless max_event_delay_ms is set."""
import os
import signal
import time

import pytest

from conftest import C, FakeClock, User, q, start_stack, stop_stack

U = "/_matrix/client/unstable/org.matrix.msc4140/delayed_events"
MAX = 60000


@pytest.fixture(scope="module")
def dstack():
    clock = FakeClock()
    s = start_stack(extra_conf="max_event_delay_ms = %d\n" % MAX,
                    env={"MYELIN_FAKE_CLOCK": clock.path})
    s.clock = clock
    yield s
    stop_stack(s)
    os.unlink(clock.path)


def wait_for(pred, what):
    # Polls for a state change (not a speed assertion): up to 30 s.
    for _ in range(600):
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("never happened: " + what)


def delayed_send(user, room, body, delay, etype="m.room.message"):
    return user.call("PUT", "/rooms/%s/send/%s/%s?org.matrix.msc4140.delay=%d" % (
        q(room), q(etype), user.next_txn(), delay), {"msgtype": "m.text", "body": body})


def bodies(user, room):
    return [e["content"].get("body") for e in user.timeline(room)
            if e["type"] == "m.room.message"]


def pending(user):
    return {d["delay_id"]: d for d in user.ok("GET", U)["delayed_events"]}


@pytest.fixture
def people(dstack):
    n = "%d%d" % (os.getpid(), int(time.time() * 1000) % 100000)
    alice = User.register(dstack, "dla" + n)
    bob = User.register(dstack, "dlb" + n)
    room = alice.create_room(preset="public_chat", power_level_content_override={
        "users": {alice.user_id: 100, bob.user_id: 100}})
    bob.join(room)
    return alice, bob, room


def test_off_without_max_event_delay(stack):
    u = User.register(stack, "dloff%d" % os.getpid())
    room = u.create_room()
    status, body = delayed_send(u, room, "later", 1000)
    assert (status, body["errcode"], body["org.matrix.msc4140.errcode"]) == \
        (400, "M_UNKNOWN", "M_MAX_DELAY_UNSUPPORTED")
    assert "later" not in bodies(u, room)
    _, versions = stack.request("GET", "/_matrix/client/versions")
    assert "org.matrix.msc4140" not in versions["unstable_features"]


def test_delayed_message_sent_at_its_time(dstack, people):
    alice, bob, room = people
    _, versions = dstack.request("GET", "/_matrix/client/versions")
    assert versions["unstable_features"]["org.matrix.msc4140"] is True
    status, body = delayed_send(alice, room, "too late", MAX + 1)
    assert (status, body["org.matrix.msc4140.errcode"], body["org.matrix.msc4140.max_delay"]) \
        == (400, "M_MAX_DELAY_EXCEEDED", MAX)
    status, body = delayed_send(alice, room, "in ten seconds", 10000)
    assert status == 200 and body["delay_id"].startswith("syd_"), body
    did = body["delay_id"]
    d = pending(alice)[did]
    assert (d["room_id"], d["type"], d["delay"], d["content"]["body"]) == \
        (room, "m.room.message", 10000, "in ten seconds")
    assert "state_key" not in d and d["running_since"] == dstack.clock.now
    # Not another user's to see.
    assert did not in pending(bob)
    # Halfway: timerd looks (its poll is a second of the stack's clock) and sends nothing.
    dstack.clock.advance(5000)
    time.sleep(1.5)
    assert "in ten seconds" not in bodies(bob, room) and did in pending(alice)
    dstack.clock.advance(5001)
    wait_for(lambda: "in ten seconds" in bodies(bob, room), "the delayed message sent")
    ev = [e for e in bob.timeline(room) if e["content"].get("body") == "in ten seconds"]
    assert len(ev) == 1 and ev[0]["sender"] == alice.user_id
    assert did not in pending(alice)


def test_cancel_restart_send(dstack, people):
    alice, bob, room = people
    cancelled = delayed_send(alice, room, "cancelled", 5000)[1]["delay_id"]
    restarted = delayed_send(alice, room, "restarted", 10000)[1]["delay_id"]
    sentinel = delayed_send(alice, room, "sentinel", 11000)[1]["delay_id"]
    assert alice.ok("POST", U + "/" + cancelled, {"action": "cancel"}) == {}
    dstack.clock.advance(6000)
    assert alice.ok("POST", U + "/" + restarted, {"action": "restart"}) == {}
    assert pending(alice)[restarted]["running_since"] == dstack.clock.now
    dstack.clock.advance(6000)      # 12 s after the start, 6 s after the restart
    wait_for(lambda: "sentinel" in bodies(bob, room), "the sentinel sent")
    got = bodies(bob, room)
    assert "cancelled" not in got and "restarted" not in got
    assert restarted in pending(alice) and sentinel not in pending(alice)
    dstack.clock.advance(5000)
    wait_for(lambda: "restarted" in bodies(bob, room), "the restarted one sent")
    # send: at once, whatever its delay.
    now = delayed_send(alice, room, "sent now", 50000)[1]["delay_id"]
    assert alice.ok("POST", U + "/" + now, {"action": "send"}) == {}
    dstack.clock.advance(1001)      # timerd looks again a second later, on its clock
    wait_for(lambda: "sent now" in bodies(bob, room), "the sent-now one sent")
    assert bodies(bob, room).count("sent now") == 1
    assert "cancelled" not in bodies(bob, room)
    # Errors, and nothing of another user's to touch.
    mine = delayed_send(alice, room, "mine", 50000)[1]["delay_id"]
    for body, code in (({}, "M_MISSING_PARAM"), ({"action": "explode"}, "M_INVALID_PARAM"),
                       ({"action": 1}, "M_INVALID_PARAM")):
        status, resp = alice.call("POST", U + "/" + mine, body)
        assert (status, resp["errcode"]) == (400, code), body
    for who, did in ((bob, mine), (alice, "syd_nosuch")):
        status, resp = who.call("POST", U + "/" + did, {"action": "send"})
        assert (status, resp["errcode"]) == (404, "M_NOT_FOUND")
    assert mine in pending(alice)
    alice.ok("POST", U + "/" + mine, {"action": "cancel"})


def test_state_change_by_another_user_cancels_delayed_state(dstack, people):
    alice, bob, room = people
    key = "call.member"
    path = "/rooms/%s/state/org.example.call/%s?org.matrix.msc4140.delay=10000"
    status, body = alice.call("PUT", path % (q(room), q(key)), {"left": True})
    assert status == 200, body
    own = body["delay_id"]
    # Her own change of that state keeps it (Element Call's heartbeat pattern) ...
    alice.ok("PUT", "/rooms/%s/state/org.example.call/%s" % (q(room), q(key)),
             {"left": False})
    assert own in pending(alice)
    # ... another user's change of it cancels it.
    bob.ok("PUT", "/rooms/%s/state/org.example.call/%s" % (q(room), q(key)),
           {"by": "bob"})
    assert own not in pending(alice)
    dstack.clock.advance(11000)
    sentinel = delayed_send(alice, room, "after the state", 0)[1]["delay_id"]
    dstack.clock.advance(1001)
    wait_for(lambda: "after the state" in bodies(bob, room), "a later one sent")
    assert sentinel not in pending(alice)
    assert alice.state(room, "org.example.call", key)[1] == {"by": "bob"}


def test_bad_content_kept_nowhere_and_refused_event_dropped(dstack, people):
    alice, bob, room = people
    before = set(pending(alice))
    status, body = alice.call("PUT", "/rooms/%s/send/m.room.message/%s"
                              "?org.matrix.msc4140.delay=1000" % (q(room), alice.next_txn()),
                              {"body": "x", "n": 1.5})
    assert (status, body["errcode"]) == (400, "M_BAD_JSON")
    status, body = alice.call("PUT", "/rooms/%s/send/%s/%s?org.matrix.msc4140.delay=1000" % (
        q(room), "t" * 256, alice.next_txn()), {})
    assert (status, body["errcode"]) == (400, "M_INVALID_PARAM")
    status, body = alice.call("PUT", "/rooms/%s/send/m.room.message/%s"
                              "?org.matrix.msc4140.delay=-5" % (q(room), alice.next_txn()),
                              {"body": "x"})
    assert (status, body["errcode"]) == (400, "M_INVALID_PARAM")
    assert set(pending(alice)) == before
    # Bob schedules a message, then leaves: the room refuses it when due.
    gone = delayed_send(bob, room, "from a leaver", 2000)[1]["delay_id"]
    bob.room_post(room, "leave")
    dstack.clock.advance(3000)
    wait_for(lambda: gone not in pending(bob), "the refused one dropped")
    assert "from a leaver" not in bodies(alice, room)


def test_timerd_killed_before_due_sends_once(dstack, people):
    alice, bob, room = people
    did = delayed_send(alice, room, "across a restart", 5000)[1]["delay_id"]
    pidfile = os.path.join(dstack.dir, "run", "timerd.pid")
    old = int(open(pidfile).read())
    os.kill(old, signal.SIGKILL)
    wait_for(lambda: int(open(pidfile).read()) != old, "timerd restarted")
    dstack.clock.advance(6000)
    wait_for(lambda: "across a restart" in bodies(bob, room), "sent after the restart")
    time.sleep(1.5)
    assert bodies(bob, room).count("across a restart") == 1
    assert did not in pending(alice)
