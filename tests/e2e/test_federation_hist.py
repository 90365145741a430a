"""Federation history: what myelin fetches from other servers when it
lacks events.  A Python remote (test_federation_in.FedRemote) joins a
local room; a gap whose far end stays unknown gets the state there with
/state_ids (the state then resolved), and a local user of a room joined
through another server backfills its history through /messages (from Synapse 1.67 when ../shared/peers/synapse has
it; skipped, saying so, when not)."""
import os
import time
import urllib.parse

from conftest import q
from test_federation_in import F1, Joined, remote, send  # noqa: F401 (fixtures)
from test_federation_keys import (  # noqa: F401 (fixtures)
    ca, fstack, synapse, synapse_client, synapse_user)


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
