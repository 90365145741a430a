"""Message retention (m.room.retention, Synapse's retention section;
issue 15's timers): with retention.enabled, myelin-timerd deletes the
messages older than their room's max_lifetime (the default policy's when
the room sets none, clamped to the allowed range) every purge_interval
of the stack's clock.  State events and the room's latest event stay;
/messages, /sync, /event, /search and /notifications no longer return
the purged ones, nor, as Synapse, the messages past their lifetime that
are still stored (tests/unit/room-retention.c shows what a purge keeps).  The event validator's checks of m.room.retention
content hold whether retention is on or not."""
import os
import time

import pytest

from conftest import FakeClock, User, q, start_stack, stop_stack

H = 3600 * 1000
D = 24 * H
CONF = ("retention.enabled = yes\n"
        "retention.default_policy.max_lifetime = 10d\n"
        "retention.allowed_lifetime_min = 1h\n"
        "retention.allowed_lifetime_max = 30d\n"
        "retention.purge_interval = 1m\n")


@pytest.fixture(scope="module")
def rstack():
    clock = FakeClock()
    s = start_stack(extra_conf=CONF, env={"MYELIN_FAKE_CLOCK": clock.path})
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


def bodies(user, room):
    return [e["content"].get("body") for e in user.timeline(room)
            if e["type"] == "m.room.message"]


def search(user, term):
    resp = user.ok("POST", "/search", {"search_categories": {
        "room_events": {"search_term": term}}})
    return [r["result"]["content"]["body"]
            for r in resp["search_categories"]["room_events"]["results"]]


def names():
    return "%d%d" % (os.getpid(), int(time.time() * 1000) % 100000)


def test_retention_content_is_validated(stack):
    """As Synapse's event validator, retention on or off: 400 M_BAD_JSON."""
    u = User.register(stack, "rtv" + names())
    room = u.create_room()
    for bad in ({"max_lifetime": "1d"}, {"min_lifetime": 1.5},
                {"min_lifetime": 2000, "max_lifetime": 1000}):
        status, body = u.put_state(room, "m.room.retention", bad)
        assert (status, body.get("errcode")) == (400, "M_BAD_JSON"), (bad, body)
    status, _ = u.put_state(room, "m.room.retention", {"min_lifetime": 1000,
                                                       "max_lifetime": 86400000})
    assert status == 200
    status, body = u.state(room, "m.room.retention")
    assert status == 200 and body["max_lifetime"] == 86400000


def test_old_messages_go_young_ones_and_state_stay(rstack):
    n = names()
    alice = User.register(rstack, "rta" + n)
    bob = User.register(rstack, "rtb" + n)
    # r1: a day; r2: none of its own, the default policy's 10 days.
    r1 = alice.create_room(preset="public_chat", name="kept name " + n)
    assert alice.put_state(r1, "m.room.retention", {"max_lifetime": D})[0] == 200
    r2 = alice.create_room(preset="public_chat")
    bob.join(r1)
    bob.join(r2)
    old = alice.send_text(r1, "oldword%s please %s" % (n, bob.user_id))
    react = bob.send_ok(r1, {"m.relates_to": {"rel_type": "m.annotation", "event_id": old,
                                              "key": "x"}}, "m.reaction")
    alice.send_text(r2, "defaultold" + n)
    assert "oldword" + n in " ".join(search(bob, "oldword" + n))
    rstack.clock.advance(23 * H + 30 * 60 * 1000)
    # r3: a second, which the allowed minimum makes an hour.
    r3 = alice.create_room(preset="public_chat")
    assert alice.put_state(r3, "m.room.retention", {"max_lifetime": 1000})[0] == 200
    alice.send_text(r3, "clamped" + n)
    alice.send_text(r3, "r3latest" + n)
    alice.send_text(r1, "young" + n)
    alice.send_text(r2, "defaultyoung" + n)
    rstack.clock.advance(31 * 60 * 1000)
    # A day and a minute after: r1's first message is gone...
    wait_for(lambda: "oldword%s please %s" % (n, bob.user_id) not in bodies(bob, r1),
             "the old message purged")
    assert bodies(bob, r1) == ["young" + n]
    assert react not in [e["event_id"] for e in bob.timeline(r1)]
    status, body = bob.call("GET", "/rooms/%s/event/%s" % (q(r1), q(old)))
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    assert search(bob, "oldword" + n) == []
    resp = bob.ok("GET", "/notifications")
    assert old not in [x["event"]["event_id"] for x in resp["notifications"]]
    status, s = bob.sync()
    assert status == 200
    tl = s["rooms"]["join"][r1]["timeline"]["events"]
    assert old not in [e["event_id"] for e in tl]
    # ...its state stays...
    types = {e["type"] for e in bob.ok("GET", "/rooms/%s/state" % q(r1))}
    assert {"m.room.create", "m.room.member", "m.room.power_levels", "m.room.name",
            "m.room.retention"} <= types
    assert bob.state(r1, "m.room.name", "")[1]["name"] == "kept name " + n
    for e in ("m.room.create", "m.room.name", "m.room.retention"):
        assert e in [x["type"] for x in bob.timeline(r1)]
    # ...r2's is a day old, under its 10 days; r3's is 31 minutes, under the hour.
    assert "defaultold" + n in bodies(bob, r2)
    assert bodies(alice, r3) == ["clamped" + n, "r3latest" + n]
    # Sending still works in a purged room.
    alice.send_text(r1, "after" + n)
    assert bodies(bob, r1) == ["young" + n, "after" + n]
    # Past the hour r3's messages are past their lifetime: shown no more,
    # as Synapse filters them, though the purge keeps the latest event,
    # on which the room goes on.
    rstack.clock.advance(H)
    wait_for(lambda: "clamped" + n not in bodies(alice, r3), "the clamped lifetime")
    assert bodies(alice, r3) == []
    alice.send_text(r3, "r3after" + n)
    assert bodies(alice, r3) == ["r3after" + n]
    assert "m.room.retention" in [e["type"] for e in alice.timeline(r3)]
    # Past ten days, the default policy's: r2's messages go.
    rstack.clock.advance(10 * D)
    wait_for(lambda: "defaultold" + n not in bodies(bob, r2), "the default policy")
    assert bodies(bob, r2) == []
    assert "m.room.create" in [e["type"] for e in bob.timeline(r2)]
    with open(os.path.join(rstack.dir, "log", "timerd.log")) as f:
        assert "message retention: " in f.read()


def test_allowed_maximum_caps_a_rooms_lifetime(rstack):
    """allowed_lifetime_max caps a room's own max_lifetime: 100 days kept
    30; a message 31 days old goes."""
    n = names()
    alice = User.register(rstack, "rtc" + n)
    room = alice.create_room()
    assert alice.put_state(room, "m.room.retention", {"max_lifetime": 100 * D})[0] == 200
    alice.send_text(room, "capped" + n)
    rstack.clock.advance(20 * D)
    alice.send_text(room, "latest" + n)
    rstack.clock.advance(11 * D)
    wait_for(lambda: "capped" + n not in bodies(alice, room), "the allowed maximum")
    assert bodies(alice, room) == ["latest" + n]
