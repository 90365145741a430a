"""Rate limits (lib/ratelimit, issue 17) as Synapse names and answers them:
429 M_LIMIT_EXCEEDED with retry_after_ms and Retry-After, counted in the
database by every process, on the stack's fake clock."""
import json
import urllib.error
import urllib.request

import pytest

from conftest import C, FakeClock, User, admin_login, own_pg_database, q, start_stack, stop_stack

# Low limits, one action regained every 10 s, except where said.
LIMITS = """
rc_message.per_second = 0.1
rc_message.burst_count = 3
rc_registration.per_second = 0.1
rc_registration.burst_count = 3
rc_login.address.per_second = 0.1
rc_login.address.burst_count = 6
rc_login.account.per_second = 0.1
rc_login.account.burst_count = 5
rc_login.failed_attempts.per_second = 0.1
rc_login.failed_attempts.burst_count = 3
rc_joins.local.per_second = 0.1
rc_joins.local.burst_count = 2
rc_invites.per_user.per_second = 0.1
rc_invites.per_user.burst_count = 2
"""


@pytest.fixture(scope="module")
def rl():
    # On PostgreSQL a database of its own: buckets are rows keyed by user
    # and address (127.0.0.1 for every stack), filled at this stack's low
    # rates on its fake clock, which must not limit the other stacks.
    clock = FakeClock()
    s = start_stack(extra_conf=LIMITS, env={"MYELIN_FAKE_CLOCK": clock.path},
                    pg=own_pg_database("ratelimit"))
    s.clock = clock
    yield s
    stop_stack(s)


@pytest.fixture
def fresh(rl):
    """An hour later: every bucket of the earlier tests is empty again."""
    rl.clock.advance(3600 * 1000)
    return rl


def raw(stack, method, path, body=None, token=None):
    """(status, JSON body, headers) of one request."""
    req = urllib.request.Request(stack.base + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read()), r.headers
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read()), e.headers


def limited(status, body, wait_ms):
    assert status == 429, body
    assert body["errcode"] == "M_LIMIT_EXCEEDED", body
    assert 0 < body["retry_after_ms"] <= wait_ms, body


def register(stack, name):
    return raw(stack, "POST", C + "/register",
               {"username": name, "password": "pw-" + name, "auth": {"type": "m.login.dummy"}})


def user(stack, name):
    status, body, _ = register(stack, name)
    assert status == 200, body
    return User(stack, body)


def test_message_past_the_burst_is_429_until_the_time_passes(fresh):
    u = user(fresh, "rlmsg")
    room = u.create_room()
    for i in range(3):
        u.send_ok(room, "m%d" % i)
    status, body, headers = raw(fresh, "PUT", C + "/rooms/%s/send/m.room.message/x1" % q(room),
                                {"msgtype": "m.text", "body": "one too many"}, u.token)
    limited(status, body, 10000)
    assert int(headers["Retry-After"]) == (body["retry_after_ms"] + 999) // 1000
    # The refusal sent nothing and counted nothing.
    assert "one too many" not in [e["content"].get("body") for e in u.timeline(room)]
    fresh.clock.advance(body["retry_after_ms"])
    u.send_ok(room, "allowed again")
    status, body, _ = raw(fresh, "PUT", C + "/rooms/%s/send/m.room.message/x2" % q(room),
                          {"msgtype": "m.text", "body": "again too many"}, u.token)
    limited(status, body, 10000)


def test_refused_sends_spend_nothing(fresh):
    """A send the room refuses (403, not a member; 404, no such room) takes
    nothing from the burst: the limit is taken in the event's transaction, as
    Synapse takes it only for an event it goes on to persist."""
    u = user(fresh, "rlrefused")
    other = user(fresh, "rlowner")
    theirs = other.create_room()
    room = u.create_room()
    for i in range(4):
        status, body = u.send(theirs, "not a member %d" % i)
        assert (status, body.get("errcode")) == (403, "M_FORBIDDEN"), body
        status, body = u.send("!nosuchroom%d:localhost" % i, "no room")
        assert status in (403, 404), body
    for i in range(3):
        u.send_ok(room, "m%d" % i)
    status, body, _ = raw(fresh, "PUT", C + "/rooms/%s/send/m.room.message/x1" % q(room),
                          {"msgtype": "m.text", "body": "one too many"}, u.token)
    limited(status, body, 10000)


def test_retransmission_is_answered_past_the_limit(fresh):
    """A client's retry of a send (the same txnId) is answered with the event
    it sent even when the burst is spent, and spends nothing: Synapse answers
    it from its transaction cache before any limit, and a client that lost
    the first answer must not take a 429 for an event that is there."""
    u = user(fresh, "rlretry")
    room = u.create_room()
    sent = []
    for i in range(3):
        status, body = u.send(room, "m%d" % i, txn="r%d" % i)
        assert status == 200, body
        sent.append(body["event_id"])
    for i in range(3):
        status, body = u.send(room, "m%d" % i, txn="r%d" % i)
        assert (status, body.get("event_id")) == (200, sent[i]), body
    assert [e["content"].get("body") for e in u.timeline(room)
            if e["type"] == "m.room.message"] == ["m0", "m1", "m2"]
    status, body = u.send(room, "one too many", txn="r3")
    limited(status, body, 10000)
    # A new event after the wait: the retries took nothing from the bucket.
    fresh.clock.advance(body["retry_after_ms"])
    status, body = u.send(room, "one more", txn="r4")
    assert status == 200, body
    status, body = u.send(room, "again too many", txn="r5")
    limited(status, body, 10000)


def test_login_brute_force_is_limited_per_account(fresh):
    user(fresh, "rlvictim")
    for i in range(3):
        status, body = fresh.login("rlvictim", "guess-%d" % i)
        assert status == 403, body
    status, body, _ = raw(fresh, "POST", C + "/login", {
        "type": "m.login.password", "identifier": {"type": "m.id.user", "user": "rlvictim"},
        "password": "guess-3"})
    limited(status, body, 10000)
    # While the failures fill the bucket, the right password waits too.
    status, body = fresh.login("rlvictim", "pw-rlvictim")
    assert status == 429, body
    fresh.clock.advance(body["retry_after_ms"])
    status, body = fresh.login("rlvictim", "pw-rlvictim")
    assert status == 200, body


def test_login_attempts_are_limited_per_address(fresh):
    # Unknown accounts: each a bucket of failures of its own, one address.
    for i in range(6):
        status, body = fresh.login("rlnobody%d" % i, "pw")
        assert status == 403, body
    status, body, _ = raw(fresh, "POST", C + "/login", {
        "type": "m.login.password", "identifier": {"type": "m.id.user", "user": "rlnobody9"},
        "password": "pw"})
    limited(status, body, 10000)


def test_successful_logins_are_limited_per_account(fresh):
    user(fresh, "rlacct")
    for _ in range(5):
        status, body = fresh.login("rlacct", "pw-rlacct")
        assert status == 200, body
    status, body = fresh.login("rlacct", "pw-rlacct")
    assert status == 429 and body["errcode"] == "M_LIMIT_EXCEEDED", body


def test_registration_flood_is_limited(fresh):
    for i in range(3):
        status, body, _ = register(fresh, "rlflood%d" % i)
        assert status == 200, body
    status, body, _ = register(fresh, "rlflood3")
    limited(status, body, 10000)
    status, body = fresh.request("GET", C + "/register/available?username=rlflood3")
    assert status == 200, body
    fresh.clock.advance(body.get("retry_after_ms", 10000))
    status, body, _ = register(fresh, "rlflood3")
    assert status == 200, body


def test_joins_and_invites_are_limited(fresh):
    owner, joiner = user(fresh, "rljowner"), user(fresh, "rljoiner")
    rooms = [owner.create_room(preset="public_chat") for _ in range(3)]
    joiner.join(rooms[0])
    joiner.join(rooms[1])
    status, body = joiner.call("POST", "/join/" + q(rooms[2]), {})
    assert status == 429 and body["errcode"] == "M_LIMIT_EXCEEDED", body
    fresh.clock.advance(3600 * 1000)
    invitee = user(fresh, "rlinvitee")
    owner.room_post(rooms[0], "invite", invitee.user_id)
    owner.room_post(rooms[1], "invite", invitee.user_id)
    status, body = owner.call("POST", "/rooms/%s/invite" % q(rooms[2]),
                              {"user_id": invitee.user_id})
    assert status == 429 and body["errcode"] == "M_LIMIT_EXCEEDED", body


def test_admins_are_exempt_and_overrides_apply(fresh):
    admin = User(fresh, admin_login(fresh, "rladmin", "pw-rladmin"))
    room = admin.create_room(preset="public_chat")
    for i in range(6):
        admin.send_ok(room, "admin %d" % i)
    u = user(fresh, "rlover")
    u.join(room)
    path = "/_synapse/admin/v1/users/%s/override_ratelimit" % q(u.user_id)
    assert admin.ok("GET", path) == {}
    assert admin.ok("POST", path, {}) == {"messages_per_second": 0, "burst_count": 0}
    assert admin.ok("GET", path) == {"messages_per_second": 0, "burst_count": 0}
    for i in range(6):
        u.send_ok(room, "unlimited %d" % i)
    # An override with a rate replaces the configured one.
    assert admin.ok("POST", path, {"messages_per_second": 1, "burst_count": 1}) == {
        "messages_per_second": 1, "burst_count": 1}
    fresh.clock.advance(3600 * 1000)
    u.send_ok(room, "one")
    status, body = u.send(room, "two")
    assert status == 429 and 0 < body["retry_after_ms"] <= 1000, body
    assert admin.ok("DELETE", path) == {}
    assert admin.ok("GET", path) == {}
    status, body = admin.call("POST", path, {"messages_per_second": -1})
    assert status == 400 and body["errcode"] == "M_INVALID_PARAM", body
    status, body = admin.call("POST", path, {"burst_count": "ten"})
    assert status == 400 and body["errcode"] == "M_INVALID_PARAM", body
    status, body = admin.call(
        "GET", "/_synapse/admin/v1/users/%s/override_ratelimit" % q("@nobody:" + fresh.server_name))
    assert status == 404 and body["errcode"] == "M_NOT_FOUND", body
    status, body = u.call("GET", path)
    assert status == 403, body


def test_bad_limits_are_refused_by_config_check(tmp_path):
    from conftest import STACK
    import subprocess
    import os
    d = tmp_path / "s"
    subprocess.run([STACK, "init", str(d), "--server-name", "localhost", "--port", "1"],
                   check=True, capture_output=True)
    with open(d / "myelin.conf", "a") as f:
        f.write("rc_message.per_second = 0\nrc_login.address.burst_count = x\n")
    binary = os.path.join(os.environ["MYELIN_BIN"], "myelin-admin")
    r = subprocess.run([binary, "-c", str(d / "myelin.conf"), "config", "check"],
                       capture_output=True, text=True)
    assert r.returncode != 0
    assert "rc_message.per_second" in r.stderr + r.stdout
    assert "rc_login.address.burst_count" in r.stderr + r.stdout
