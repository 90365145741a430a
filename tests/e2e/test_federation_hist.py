"""Federation history: what myelin fetches from other servers when it
lacks events.  A Python remote (test_federation_in.FedRemote) joins a
local room; a gap whose far end stays unknown gets the state there with
/state_ids (the state then resolved), and a local user of a room joined
through another server backfills its history through /messages."""
import time
import urllib.parse
import uuid

from conftest import q
from test_federation_in import F1, Joined, remote, send  # noqa: F401 (fixtures)
from test_federation_keys import ca, fstack  # noqa: F401 (fixtures)


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
