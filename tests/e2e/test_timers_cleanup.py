"""The cleanup timer of myelin-timerd (timer-daemon/cleanup.c), on the
stack's fake clock: login tokens past their time, refresh tokens past
refresh_token_lifetime_ms with their access tokens, to-device transaction
IDs older than a day and sliding-sync connections unused for a week are
deleted from their tables; what a client sees before and after stays what
the spec says.  Registration tokens past expiry_time stay (Synapse keeps
them) and are refused.  The stack is this module's own: its clock jumps
by days."""
import os
import re
import sqlite3
import subprocess
import time

import pytest

from conftest import C, FakeClock, User, q, start_stack, stop_stack

V1 = "/_matrix/client/v1"
SS = "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync"
REGISTER = "/_matrix/client/v3/register"
VALIDITY = V1 + "/register/m.login.registration_token/validity?token="
H = 3600 * 1000
D = 24 * H
CLEANUP_EVERY = 5 * 60 * 1000 + 1000    # the timer looks every five minutes

CONF = """
login_via_existing_session = yes
refresh_token_lifetime_ms = 3600000
registration_requires_token = yes
"""


@pytest.fixture(scope="module")
def cstack():
    clock = FakeClock()
    s = start_stack(extra_conf=CONF, env={"MYELIN_FAKE_CLOCK": clock.path})
    s.clock = clock
    yield s
    stop_stack(s)
    os.unlink(clock.path)


def sql(stack, query):
    """The rows of query on the stack's database, each a tuple of strings."""
    with open(stack.conf) as f:
        conf = f.read()
    where = re.search(r"^database = (.*)$", conf, re.M).group(1)
    if re.search(r"^database_backend = postgres$", conf, re.M):
        out = subprocess.run(["psql", "-qtAX", "-F", "|", where, "-c", query],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return [tuple(line.split("|")) for line in out.stdout.splitlines() if line]
    db = sqlite3.connect(os.path.join(stack.dir, where), timeout=30)
    try:
        return [tuple(str(v) for v in row) for row in db.execute(query)]
    finally:
        db.close()


def count(stack, table, where):
    return int(sql(stack, "SELECT COUNT(*) FROM %s WHERE %s" % (table, where))[0][0])


def wait_for(pred, what):
    # Polls for the timer's work (not a speed assertion): up to 30 s.
    for _ in range(600):
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError("never happened: " + what)


def user(stack, uniq, **login):
    """A user made with myelin-admin (registration needs a token here), logged in."""
    name = uniq("cl")
    r = stack.admin("user", "add", name, "--password", "pw-" + name)
    assert r.returncode == 0, r.stderr
    status, resp = stack.login(name, "pw-" + name, **login)
    assert status == 200, resp
    u = User(stack, resp)
    u.password = "pw-" + name
    return u


def lit(s):
    return "'%s'" % s.replace("'", "''")


def get_login_token(u):
    status, body = u.call("POST", V1 + "/login/get_token", {})
    assert status == 401, body
    auth = {"type": "m.login.password", "session": body["session"], "password": u.password,
            "identifier": {"type": "m.id.user", "user": u.user_id}}
    return u.ok("POST", V1 + "/login/get_token", {"auth": auth})["login_token"]


def test_login_tokens_past_their_time_go(cstack, uniq):
    s = cstack
    u = user(s, uniq)
    used, unused = get_login_token(u), get_login_token(u)
    mine = "user_id = " + lit(u.user_id)
    assert count(s, "login_tokens", mine) == 2
    s.clock.advance(120 * 1000 + 1)
    # Refused as soon as its time is past, whether or not the timer ran.
    status, err = s.request("POST", C + "/login", {"type": "m.login.token", "token": used})
    assert (status, err["errcode"]) == (403, "M_FORBIDDEN")
    s.clock.advance(CLEANUP_EVERY)
    wait_for(lambda: count(s, "login_tokens", mine) == 0, "expired login tokens deleted")
    status, err = s.request("POST", C + "/login", {"type": "m.login.token", "token": unused})
    assert (status, err["errcode"]) == (403, "M_FORBIDDEN")


def to_device(u, txn, target, n):
    return u.call("PUT", "/sendToDevice/m.test/%s" % q(txn), {"messages": {
        target.user_id: {target.device_id: {"n": n}}}})


def received(u):
    """The n of the m.test to-device messages u's device has (an initial /sync)."""
    got = u.ok("GET", "/sync?timeout=0")
    return [e["content"]["n"] for e in got.get("to_device", {}).get("events", [])
            if e["type"] == "m.test"]


def test_todevice_txn_ids_kept_a_day(cstack, uniq):
    s = cstack
    a, b = user(s, uniq), user(s, uniq)
    txns = "user_id = %s AND device_id = %s" % (lit(a.user_id), lit(a.device_id))
    assert to_device(a, "old", b, 1)[0] == 200
    s.clock.advance(23 * H)
    # The same txnId within a day is the same request: nothing new is sent.
    assert to_device(a, "old", b, 2) == (200, {})
    assert to_device(a, "new", b, 3)[0] == 200
    assert count(s, "to_device_txns", txns) == 2
    s.clock.advance(H + CLEANUP_EVERY)
    wait_for(lambda: count(s, "to_device_txns", txns + " AND txn_id = 'old'") == 0,
             "a day-old to-device transaction ID deleted")
    # The younger one stays and still deduplicates.
    assert count(s, "to_device_txns", txns + " AND txn_id = 'new'") == 1
    assert to_device(a, "new", b, 4)[0] == 200
    # After a day, the old txnId is a new message.
    assert to_device(a, "old", b, 5)[0] == 200
    assert sorted(received(b)) == [1, 3, 5]


def test_reused_txn_id_after_a_day_is_new_before_cleanup(cstack, uniq):
    """The 24 h rule holds at the request too, not only once the timer ran."""
    s = cstack
    a, b = user(s, uniq), user(s, uniq)
    assert to_device(a, "t", b, 1)[0] == 200
    s.clock.advance(D + 1000)
    assert to_device(a, "t", b, 2)[0] == 200
    assert sorted(received(b)) == [1, 2]


def test_expired_refresh_token_and_its_access_tokens_go(cstack, uniq):
    s = cstack
    u = user(s, uniq, refresh_token=True)
    plain = user(s, uniq)
    resp = u.resp
    status, new = s.request("POST", C + "/refresh", {"refresh_token": resp["refresh_token"]})
    assert status == 200, new
    status, who = s.request("GET", C + "/account/whoami", token=new["access_token"])
    assert status == 200 and who["user_id"] == u.user_id
    mine = "user_id = " + lit(u.user_id)
    assert count(s, "refresh_tokens", mine) == 1 and count(s, "access_tokens", mine) == 1
    # Past refresh_token_lifetime_ms the token no longer refreshes.
    s.clock.advance(H + 1000)
    status, err = s.request("POST", C + "/refresh", {"refresh_token": new["refresh_token"]})
    assert (status, err["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    s.clock.advance(CLEANUP_EVERY)
    wait_for(lambda: count(s, "refresh_tokens", mine) == 0, "expired refresh token deleted")
    assert count(s, "access_tokens", mine) == 0
    # The session is over: no soft_logout, the client logs in again.
    status, err = s.request("GET", C + "/account/whoami", token=new["access_token"])
    assert (status, err["errcode"], err.get("soft_logout", False)) == (
        401, "M_UNKNOWN_TOKEN", False)
    # Tokens without a refresh token do not expire.
    assert plain.ok("GET", "/account/whoami")["user_id"] == plain.user_id


def test_idle_sliding_sync_connection_goes(cstack, uniq):
    s = cstack
    u = user(s, uniq)
    ss = {"conn_id": "cleanup", "lists": {"all": {"ranges": [[0, 9]], "timeline_limit": 1}}}
    r = u.ok("POST", SS + "?timeout=0", ss)
    r = u.ok("POST", SS + "?timeout=0&pos=" + q(r["pos"]), ss)
    conns = "user_id = " + lit(u.user_id)
    assert count(s, "sliding_conns", conns) == 1
    s.clock.advance(7 * D + CLEANUP_EVERY)
    wait_for(lambda: count(s, "sliding_conns", conns) == 0,
             "idle sliding-sync connection deleted")
    assert count(s, "sliding_rooms", "conn NOT IN (SELECT id FROM sliding_conns)") == 0
    status, err = u.call("POST", SS + "?timeout=0&pos=" + q(r["pos"]), ss)
    assert (status, err["errcode"]) == (400, "M_UNKNOWN_POS")
    # Starting over works.
    assert u.ok("POST", SS + "?timeout=0", ss)["pos"]


def test_expired_registration_token_stays_and_is_refused(cstack, uniq):
    s = cstack
    token = "tok" + uniq("exp")
    r = s.admin("registration-token", "add", token, "--expiry", str(s.clock.now + H))
    assert r.returncode == 0, r.stderr
    assert s.request("GET", VALIDITY + token) == (200, {"valid": True})
    marker = user(s, uniq)
    get_login_token(marker)
    s.clock.advance(2 * H + CLEANUP_EVERY)
    wait_for(lambda: count(s, "login_tokens", "user_id = " + lit(marker.user_id)) == 0,
             "the cleanup timer ran")
    # Synapse keeps it (the admin API lists it) and refuses it.
    assert count(s, "registration_tokens", "token = " + lit(token)) == 1
    assert s.request("GET", VALIDITY + token) == (200, {"valid": False})
    body = {"username": uniq("late"), "password": "pw-late-1"}
    status, resp = s.request("POST", REGISTER, body)
    assert status == 401, resp
    status, err = s.request("POST", REGISTER, dict(body, auth={
        "type": "m.login.registration_token", "token": token, "session": resp["session"]}))
    assert (status, err["errcode"]) == (401, "M_UNAUTHORIZED")
