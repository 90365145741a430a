"""Federation history: what myelin fetches from other servers when it
lacks events.  A Python remote (test_federation_in.FedRemote) joins a
local room; a gap whose far end stays unknown gets the state there with
/state_ids (the state then resolved), and a local user of a room joined
through another server backfills its history through /messages (from Synapse 1.67 when ../shared/peers/synapse has
it; skipped, saying so, when not).  Two myelin stacks on the real clock:
one stopped while the other sends 200 messages has them all, once and in
order, when it runs again."""
import os
import shutil
import subprocess
import tempfile
import time
import urllib.parse

import pytest

from conftest import STACK, free_port, own_pg_database, q
from test_federation_in import F1, Joined, remote, send  # noqa: F401 (fixtures)
from test_federation_keys import (  # noqa: F401 (fixtures)
    FedStack, ca, fed_stack, fstack, synapse, synapse_client, synapse_user)


def state_ev(j, remote, etype, key, content, prev, depth, auth=None):
    return {"type": etype, "state_key": key, "room_id": j.room, "sender": j.bob,
            "content": content, "origin": remote.name,
            "origin_server_ts": int(time.time() * 1000), "depth": depth,
            "prev_events": prev,
            "auth_events": auth or [j.state[("m.room.create", "")],
                                    j.state[("m.room.power_levels", "")], j.join_id]}


def query(path):
    return urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)


def state_ids_route(remote, at, pdu_ids, auth_ids):
    """Answers /state_ids at event at with pdu_ids."""
    def fn(path, body):
        if query(path).get("event_id") != [at]:
            return None
        return 200, {"pdu_ids": pdu_ids, "auth_chain_ids": auth_ids}
    remote.routes[("GET", F1 + "/state_ids/")] = fn


def test_gap_gets_the_state_at_its_far_end(fstack, remote):  # noqa: F811
    """SyTest 36state.pl: C has prev events (tip, X); X, given by
    get_missing_events, has (tip, Y), Y withheld there: the state after Y
    is asked with /state_ids, X and C are accepted, and the room's state
    is the resolution of the tip's and that one (Y and T from it)."""
    j = Joined(fstack, remote, power_level_content_override={"state_default": 0})
    t, t_id = remote.sign(state_ev(j, remote, "test_state", "T", {"v": "t"}, [j.tip],
                                   j.depth + 1))
    y, y_id = remote.sign(state_ev(j, remote, "test_state", "Y", {"v": "y"}, [j.tip],
                                   j.depth + 1))
    x, x_id = remote.sign(dict(j.message(remote, "event x"), prev_events=[j.tip, y_id],
                               depth=j.depth + 2))
    c, c_id = remote.sign(dict(j.message(remote, "event c"), prev_events=[j.tip, x_id],
                               depth=j.depth + 3))
    remote.withhold |= {y_id, t_id}
    state = list(j.state.values()) + [j.join_id, t_id]
    state_ids_route(remote, y_id, state, [e for e in state if e != t_id])
    del remote.asked[:]
    assert send(fstack, remote, [c]) == {c_id: {}}
    asked = [p for _, p in remote.asked]
    assert any(p.startswith(F1 + "/get_missing_events/") for p in asked)
    assert any(p.startswith(F1 + "/state_ids/") and q(y_id) in p for p in asked)
    got = [e["event_id"] for e in j.alice.timeline(j.room)]
    assert x_id in got and c_id in got
    for key, want in (("Y", y_id), ("T", t_id)):
        status, ev = j.alice.call("GET", "/rooms/%s/state" % q(j.room))
        assert status == 200
        assert any(e["type"] == "test_state" and e["state_key"] == key and
                   e["event_id"] == want for e in ev), (key, ev)
    # The state at X has them too.
    status, got = remote.call(fstack, "GET", "%s/state_ids/%s?event_id=%s" % (
        F1, q(j.room), q(x_id)))
    assert status == 200, got
    assert y_id in got["pdu_ids"] and t_id in got["pdu_ids"]
    remote.routes.clear()
    remote.withhold.clear()


def test_outlier_has_no_state_to_give(fstack, remote):  # noqa: F811
    """SyTest 36state.pl: Q, fetched for the state at a gap, is an
    outlier: /state and /state_ids at it are 404 M_NOT_FOUND."""
    j = Joined(fstack, remote)
    qq, q_id = remote.sign(state_ev(j, remote, "m.room.member", j.bob,
                                    {"membership": "join"}, [j.tip], j.depth + 1,
                                    auth=[j.state[("m.room.create", "")],
                                          j.state[("m.room.power_levels", "")],
                                          j.state[("m.room.join_rules", "")], j.join_id]))
    # As SyTest builds them, R and S name Q among their auth events too.
    auth = [j.state[("m.room.create", "")], j.state[("m.room.power_levels", "")], q_id]
    r, r_id = remote.sign(dict(j.message(remote, "r"), prev_events=[q_id],
                               depth=j.depth + 2, auth_events=auth))
    s, s_id = remote.sign(dict(j.message(remote, "s"), prev_events=[r_id],
                               depth=j.depth + 3, auth_events=auth))
    remote.withhold.add(q_id)
    state_ids_route(remote, q_id, list(j.state.values()) + [j.join_id], [])
    got = send(fstack, remote, [s])
    assert got == {s_id: {}}
    for ep in ("state", "state_ids"):
        status, got = remote.call(fstack, "GET", "%s/%s/%s?event_id=%s" % (
            F1, ep, q(j.room), q(q_id)))
        assert status == 404 and got["errcode"] == "M_NOT_FOUND", (ep, got)
    remote.routes.clear()
    remote.withhold.clear()


def pages_back(stack, token, room, limit, most=20):
    """Every page of /messages dir=b from the end, limit each: a list of chunks."""
    out, tok = [], None
    for _ in range(most):
        path = "/_matrix/client/v3/rooms/%s/messages?dir=b&limit=%d" % (q(room), limit)
        if tok:
            path += "&from=" + q(tok)
        st, body = stack.request("GET", path, token=token)
        assert st == 200, body
        if not body["chunk"]:
            break
        out.append(body["chunk"])
        tok = body.get("end")
        if tok is None:
            break
    return out


def test_history_is_backfilled_from_synapse(fstack, synapse):
    """Issue 11: a myelin user who joins a Synapse room pages back through
    history this server never had: /messages backfills it (GET /backfill),
    each message once, in order, after the join; an incremental /sync does
    not show it as new."""
    name = synapse["SYNAPSE_SERVER_NAME"]
    token = synapse_user(synapse, "histhost")
    st, room = synapse_client(synapse, "POST", "/_matrix/client/v3/createRoom", token, {
        "preset": "public_chat", "room_version": "10"})
    assert st == 200, room
    rid = room["room_id"]
    for i in range(15):
        st, body = synapse_client(synapse, "PUT", "/_matrix/client/v3/rooms/%s/send/"
                                  "m.room.message/h%d" % (q(rid), i), token,
                                  {"msgtype": "m.text", "body": "old %d" % i})
        assert st == 200, body
    me = fstack.register("hist%d" % os.getpid())
    st, body = fstack.request("POST", "/_matrix/client/v3/join/%s?server_name=%s" % (
        q(rid), q(name)), {}, token=me["access_token"])
    assert st == 200, body
    st, s0 = fstack.request("GET", "/_matrix/client/v3/sync?timeout=0",
                            token=me["access_token"])
    assert st == 200
    pages = pages_back(fstack, me["access_token"], rid, 6)
    first = pages[0]
    assert len(first) == 6, first
    assert first[0]["type"] == "m.room.member" and first[0]["state_key"] == me["user_id"]
    assert [e["content"]["body"] for e in first[1:]] == ["old %d" % i for i in (14, 13, 12, 11, 10)]
    got = [e["content"]["body"] for p in pages for e in p if e["type"] == "m.room.message"]
    assert got == ["old %d" % i for i in range(14, -1, -1)], got
    # The room's creation is history too, at its place: oldest last.
    assert pages[-1][-1]["type"] == "m.room.create", pages[-1]
    st, s1 = fstack.request("GET", "/_matrix/client/v3/sync?timeout=0&since=" +
                            q(s0["next_batch"]), token=me["access_token"])
    assert st == 200
    tl = s1.get("rooms", {}).get("join", {}).get(rid, {}).get("timeline", {}).get("events", [])
    assert not any(e["type"] == "m.room.message" for e in tl), tl


@pytest.fixture(scope="module")
def trio(ca):  # noqa: F811
    stacks = [fed_stack(ca, "hist" + n) for n in "abc"]
    yield stacks
    for s in stacks:
        subprocess.run([STACK, "down", s.dir], timeout=60)
    if os.environ.get("MYELIN_TEST_KEEP") != "1":
        for s in stacks:
            shutil.rmtree(s.dir, ignore_errors=True)


def bodies_on(stack, token, room):
    st, body = stack.request("GET", "/_matrix/client/v3/rooms/%s/messages?dir=f&limit=1000"
                             % q(room), token=token)
    assert st == 200, body
    return [e["content"].get("body") for e in body["chunk"] if e["type"] == "m.room.message"]


def test_stopped_server_gets_every_message_once_in_order(trio):
    """Issue 11: B stopped while A sends 200 messages into a room both are
    in; started again, B has all 200, each once, in order (A's queue and
    its backoff survive, and what B missed comes in as it was sent)."""
    a, b = trio[0], trio[1]
    alice = a.register("alice%d" % os.getpid())
    bob = b.register("bob%d" % os.getpid())
    st, room = a.request("POST", "/_matrix/client/v3/createRoom", {"preset": "public_chat"},
                         token=alice["access_token"])
    assert st == 200, room
    rid = room["room_id"]
    st, body = b.request("POST", "/_matrix/client/v3/join/%s?server_name=%s" % (
        q(rid), q(a.server_name)), {}, token=bob["access_token"])
    assert st == 200, body
    subprocess.run([STACK, "down", b.dir], check=True, timeout=60)
    for i in range(200):
        st, body = a.request("PUT", "/_matrix/client/v3/rooms/%s/send/m.room.message/m%d" % (
            q(rid), i), {"msgtype": "m.text", "body": "m %d" % i}, token=alice["access_token"])
        assert st == 200, body
    subprocess.run([STACK, "up", b.dir], check=True, timeout=120)
    want = ["m %d" % i for i in range(200)]
    # The sender's backoff (2 s doubling) decides when; no deadline but a generous one.
    end = time.time() + 120
    got = bodies_on(b, bob["access_token"], rid)
    while got != want and len(got) <= 200 and time.time() < end:
        time.sleep(0.5)
        got = bodies_on(b, bob["access_token"], rid)
    assert got == want, (len(got), got[:3], got[-3:])


def state_ids(stack, token, room):
    st, body = stack.request("GET", "/_matrix/client/v3/rooms/%s/state" % q(room), token=token)
    assert st == 200, body
    return {(e["type"], e["state_key"]): e["event_id"] for e in body}


def test_three_servers_agree_after_conflicting_changes(trio):
    """Issue 11: two servers change the power levels and a membership at
    once (neither has the other's change), a third has both: once every
    event has crossed, all three have the same current state (state
    resolution v2: the demotion orders first, so the kick by the demoted
    user does not stand)."""
    a, b, c = trio
    up = [s.register("u%s%d" % (n, os.getpid())) for s, n in zip(trio, "abc")]
    ids = [u["user_id"] for u in up]
    st, room = a.request("POST", "/_matrix/client/v3/createRoom", {
        "preset": "public_chat", "power_level_content_override": {
            "users": {ids[0]: 100, ids[1]: 100, ids[2]: 50}}}, token=up[0]["access_token"])
    assert st == 200, room
    rid = room["room_id"]
    other = a.register("v%d" % os.getpid())
    st, body = a.request("POST", "/_matrix/client/v3/join/%s" % q(rid), {},
                         token=other["access_token"])
    assert st == 200, body
    ids.append(other["user_id"])
    for s, u in ((b, up[1]), (c, up[2])):
        st, body = s.request("POST", "/_matrix/client/v3/join/%s?server_name=%s" % (
            q(rid), q(a.server_name)), {}, token=u["access_token"])
        assert st == 200, body
    # Every server has every join before the fork.
    end = time.time() + 60
    while time.time() < end and not all(
            all(state_ids(s, u["access_token"], rid).get(("m.room.member", i)) for i in ids)
            for s, u in zip(trio, up)):
        time.sleep(0.3)
    # B demotes C's user while C, cut off from B, kicks a user of A.
    subprocess.run([STACK, "down", c.dir], check=True, timeout=60)
    st, pl = b.request("GET", "/_matrix/client/v3/rooms/%s/state/m.room.power_levels/" % q(rid),
                       token=up[1]["access_token"])
    assert st == 200, pl
    pl["users"][ids[2]] = 0
    st, body = b.request("PUT", "/_matrix/client/v3/rooms/%s/state/m.room.power_levels/" % q(rid),
                         pl, token=up[1]["access_token"])
    assert st == 200, body
    subprocess.run([STACK, "down", b.dir], check=True, timeout=60)
    subprocess.run([STACK, "up", c.dir], check=True, timeout=120)
    st, body = c.request("POST", "/_matrix/client/v3/rooms/%s/kick" % q(rid),
                         {"user_id": ids[3], "reason": "fork"}, token=up[2]["access_token"])
    assert st == 200, body
    subprocess.run([STACK, "up", b.dir], check=True, timeout=120)
    end = time.time() + 120
    states = [state_ids(s, u["access_token"], rid) for s, u in zip(trio, up)]
    while time.time() < end and not (states[0] == states[1] == states[2]):
        time.sleep(0.5)
        states = [state_ids(s, u["access_token"], rid) for s, u in zip(trio, up)]
    assert states[0] == states[1] == states[2], states
    st, m = a.request("GET", "/_matrix/client/v3/rooms/%s/state/m.room.member/%s" % (
        q(rid), q(ids[3])), token=up[0]["access_token"])
    assert st == 200 and m["membership"] == "join", m


def test_federation_edges_as_synapse(fstack, remote):  # noqa: F811
    """SyTest 30room-join.pl, 50server-acl-endpoints.pl: get_missing_events
    without its lists answers none; a signed body with a float is not a
    signature failure (401); an unsigned
    join through v1 send_join is 403 M_FORBIDDEN (signatures before
    hashes)."""
    j = Joined(fstack, remote)
    st, got = remote.call(fstack, "POST", "%s/get_missing_events/%s" % (F1, q(j.room)), {})
    assert st == 200 and got == {"events": []}, got
    st, got = remote.call(fstack, "PUT", "%s/send/f%d" % (F1, time.time_ns()), {
        "origin": remote.name, "origin_server_ts": 0, "pdus": [], "x": 1.1})
    # Signed over the float's shortest round trip (lib/fed/xmatrix.c): no
    # signature failure, and the transaction (no PDUs) is taken.
    assert st == 200 and got == {"pdus": {}}, got
    other = remote.user("c%d" % time.time_ns())
    st, mk = remote.call(fstack, "GET", "%s/make_join/%s/%s?ver=10" % (F1, q(j.room), q(other)))
    assert st == 200, mk
    ev = dict(mk["event"], origin_server_ts=int(time.time() * 1000))
    from test_federation_in import event_id
    st, got = remote.call(fstack, "PUT", "%s/send_join/%s/%s" % (F1, q(j.room), q(event_id(ev))),
                          ev)
    assert st == 403 and got["errcode"] == "M_FORBIDDEN", got


def test_history_is_backfilled_from_another_myelin(trio):
    """Issue 11: a user of C who joins A's room after 30 messages pages
    back through them all (A answers /backfill), once each, in order."""
    a, c = trio[0], trio[2]
    host = a.register("bh%d" % os.getpid())
    late = c.register("bl%d" % os.getpid())
    st, room = a.request("POST", "/_matrix/client/v3/createRoom", {"preset": "public_chat"},
                         token=host["access_token"])
    assert st == 200, room
    rid = room["room_id"]
    for i in range(30):
        st, body = a.request("PUT", "/_matrix/client/v3/rooms/%s/send/m.room.message/b%d" % (
            q(rid), i), {"msgtype": "m.text", "body": "b %d" % i}, token=host["access_token"])
        assert st == 200, body
    st, body = c.request("POST", "/_matrix/client/v3/join/%s?server_name=%s" % (
        q(rid), q(a.server_name)), {}, token=late["access_token"])
    assert st == 200, body
    pages = pages_back(c, late["access_token"], rid, 8)
    assert pages[0][0]["type"] == "m.room.member" and pages[0][0]["state_key"] == late["user_id"]
    got = [e["content"]["body"] for p in pages for e in p if e["type"] == "m.room.message"]
    assert got == ["b %d" % i for i in range(29, -1, -1)], got
