"""Federation, the last endpoints, between two myelin stacks (A and B,
named localhost:PORT, TLS from the test CA of test_federation_keys.py):
GET /timestamp_to_event (and the client's, asking another server of the
room when the history here has none or a gap), GET /hierarchy (and the
client's, asking the servers of an m.space.child's via for a room this
server is not in), the generic /query/{queryType}.  B's requests to A
are signed by B (myelin-admin federation request).  Then the same both
ways with a real Synapse 1.67 from ../shared/peers/synapse, MSC3030
enabled (skipped, saying so, when the kit is absent)."""
import json
import os
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import STACK, free_port, q
from test_federation_keys import (  # noqa: F401 (fixtures)
    KIT, admin, ca, fed_stack, synapse_client, synapse_user)

C = "/_matrix/client/v3"
C1 = "/_matrix/client/v1"
F1 = "/_matrix/federation/v1"


@pytest.fixture(scope="module")
def pair(ca):
    a = fed_stack(ca, "apia", extra="allow_guest_access = yes\n")
    try:
        b = fed_stack(ca, "apib")
    except Exception:
        subprocess.run([STACK, "down", a.dir], timeout=60)
        raise
    yield a, b
    bad = []
    for s in (a, b):
        subprocess.run([STACK, "down", s.dir], check=True, timeout=60)
        bad += s.check_logs()
    assert not bad, "problems in logs:\n" + "\n".join(bad)


def call(s, tok, method, path, body=None):
    st, r = s.request(method, path, body, token=tok)
    assert st == 200, (method, path, st, r)
    return r


def fed(frm, to, path):
    """GET path of server `to`, signed by `frm`: (status, JSON)."""
    r = admin(frm, "federation", "request", to.server_name, "GET", path)
    lines = r.stdout.split("\n", 1)
    assert lines[0].strip().isdigit(), (r.stdout, r.stderr)
    body = lines[1].strip() if len(lines) > 1 else ""
    return int(lines[0]), json.loads(body) if body else None


def wait_member(s, tok, rid, user_id):
    end = time.time() + 60
    while True:
        st, m = s.request("GET", C + "/rooms/%s/joined_members" % q(rid), token=tok)
        if st == 200 and user_id in m.get("joined", {}):
            return
        assert time.time() < end, "never joined: " + user_id
        time.sleep(0.2)


def event_ts(s, tok, rid, eid):
    return call(s, tok, "GET", C + "/rooms/%s/event/%s" % (q(rid), q(eid)))["origin_server_ts"]


@pytest.fixture(scope="module")
def history(pair):
    """alice on A sends three messages in her public room; then bob on B
    joins it (B has none of them: history a join does not bring)."""
    a, b = pair
    alice = a.register("alice%d" % os.getpid())
    bob = b.register("bob%d" % os.getpid())
    tok = alice["access_token"]
    rid = call(a, tok, "POST", C + "/createRoom", {"preset": "public_chat"})["room_id"]
    msgs = []
    for i in range(3):
        msgs.append(call(a, tok, "PUT", C + "/rooms/%s/send/m.room.message/h%d" % (q(rid), i),
                         {"msgtype": "m.text", "body": "before %d" % i})["event_id"])
        time.sleep(0.05)
    call(b, bob["access_token"], "POST", C + "/join/%s?server_name=%s" % (
        q(rid), q(a.server_name)), {})
    wait_member(a, tok, rid, bob["user_id"])
    return a, b, alice, bob, rid, msgs


def test_fed_timestamp_to_event(history):
    """S-S API: the closest event of the room stored on A either way."""
    a, b, alice, bob, rid, msgs = history
    tok = alice["access_token"]
    t1 = event_ts(a, tok, rid, msgs[1])
    st, r = fed(b, a, F1 + "/timestamp_to_event/%s?ts=%d&dir=f" % (q(rid), t1))
    assert st == 200 and r["event_id"] == msgs[1] and r["origin_server_ts"] == t1, r
    st, r = fed(b, a, F1 + "/timestamp_to_event/%s?ts=%d&dir=b" % (q(rid), t1 - 1))
    assert st == 200 and r["event_id"] != msgs[1] and r["origin_server_ts"] < t1, r
    # Synapse 1.67 asks under MSC3030's prefix: the same answer there.
    st, r = fed(b, a, "/_matrix/federation/unstable/org.matrix.msc3030/timestamp_to_event/"
                "%s?ts=%d&dir=f" % (q(rid), t1))
    assert st == 200 and r["event_id"] == msgs[1], r
    # Nothing after the far future, nothing in an unknown room.
    st, r = fed(b, a, F1 + "/timestamp_to_event/%s?ts=%d&dir=f" % (q(rid), 2 ** 50))
    assert st == 404 and r["errcode"] == "M_NOT_FOUND", r
    st, r = fed(b, a, F1 + "/timestamp_to_event/%s?ts=1&dir=f" % q("!nope:" + a.server_name))
    assert st == 404 and r["errcode"] == "M_NOT_FOUND", r
    # ts and dir are required, dir is f or b.
    st, r = fed(b, a, F1 + "/timestamp_to_event/%s?dir=f" % q(rid))
    assert st == 400 and r["errcode"] == "M_MISSING_PARAM", r
    st, r = fed(b, a, F1 + "/timestamp_to_event/%s?ts=1&dir=x" % q(rid))
    assert st == 400 and r["errcode"] == "M_INVALID_PARAM", r
    st, r = fed(b, a, F1 + "/timestamp_to_event/%s?ts=x&dir=f" % q(rid))
    assert st == 400 and r["errcode"] == "M_INVALID_PARAM", r


def test_fed_timestamp_to_event_visibility(pair):
    """A server sees only what its users could: in a room whose history is
    for joined members, B (no member there) is told of no event."""
    a, b = pair
    carol = a.register("carol%d" % os.getpid())
    tok = carol["access_token"]
    rid = call(a, tok, "POST", C + "/createRoom", {"preset": "private_chat", "initial_state": [
        {"type": "m.room.history_visibility", "state_key": "",
         "content": {"history_visibility": "joined"}}]})["room_id"]
    eid = call(a, tok, "PUT", C + "/rooms/%s/send/m.room.message/v1" % q(rid),
               {"msgtype": "m.text", "body": "secret"})["event_id"]
    ts = event_ts(a, tok, rid, eid)
    st, r = fed(b, a, F1 + "/timestamp_to_event/%s?ts=%d&dir=f" % (q(rid), ts))
    assert st == 404 and r["errcode"] == "M_NOT_FOUND", r
    # The events before the history visibility was set (the creation)
    # are every server's (spec: the visibility in the state before each).
    st, r = fed(b, a, F1 + "/timestamp_to_event/%s?ts=%d&dir=b" % (q(rid), ts))
    assert st == 200 and r["event_id"] != eid and r["origin_server_ts"] <= ts, r
    # A's own member sees the message.
    r = call(a, tok, "GET", C1 + "/rooms/%s/timestamp_to_event?ts=%d&dir=f" % (q(rid), ts))
    assert r["event_id"] == eid


def test_client_timestamp_to_event_asks_the_room_s_server(history):
    """C-S API on B: the messages before bob's join are not stored on B;
    the join follows a gap, so A is asked, its closer event is the answer,
    and B takes it in (its /context answers)."""
    a, b, alice, bob, rid, msgs = history
    t0 = event_ts(a, alice["access_token"], rid, msgs[0])
    btok = bob["access_token"]
    st, r = b.request("GET", "/_matrix/client/v3/rooms/%s/event/%s" % (q(rid), q(msgs[0])),
                      token=btok)
    assert st == 404, (st, r)
    r = call(b, btok, "GET", C1 + "/rooms/%s/timestamp_to_event?ts=%d&dir=f" % (q(rid), t0))
    assert r["event_id"] == msgs[0] and r["origin_server_ts"] == t0, r
    ctx = call(b, btok, "GET", C + "/rooms/%s/context/%s?limit=0" % (q(rid), q(msgs[0])))
    assert ctx["event"]["content"]["body"] == "before 0"
    # After everything, B's own newest event is the answer (no gap after it).
    r = call(b, btok, "GET", C1 + "/rooms/%s/timestamp_to_event?ts=%d&dir=b" % (
        q(rid), 2 ** 50))
    assert r["origin_server_ts"] >= t0
    # Before the room existed: neither server has one.
    st, r = b.request("GET", C1 + "/rooms/%s/timestamp_to_event?ts=1&dir=b" % q(rid),
                      token=btok)
    assert st == 404 and r["errcode"] == "M_NOT_FOUND", (st, r)


def test_query_unknown_type(pair):
    """S-S API, /query/{queryType}: profile and directory are answered, any
    other type is 404 M_NOT_FOUND, as Synapse."""
    a, b = pair
    st, r = fed(b, a, F1 + "/query/nonesuch?x=1")
    assert st == 404 and r["errcode"] == "M_NOT_FOUND", r
    st, r = fed(b, a, F1 + "/query/profile?user_id=%s" % q("@nobody:" + a.server_name))
    assert st == 404 and r["errcode"] == "M_NOT_FOUND", r
    st, r = fed(b, a, F1 + "/query/directory?room_alias=%s" % q("#x:" + b.server_name))
    assert st == 400 and r["errcode"] == "M_INVALID_PARAM", r


@pytest.fixture(scope="module")
def spaces(pair):
    """On A, alice's public space with a public child (suggested) and an
    invite-only one; on B, bob's space whose child is A's space."""
    a, b = pair
    alice = a.register("salice%d" % os.getpid())
    bob = b.register("sbob%d" % os.getpid())
    tok, btok = alice["access_token"], bob["access_token"]
    space = call(a, tok, "POST", C + "/createRoom", {
        "preset": "public_chat", "name": "A's space",
        "creation_content": {"type": "m.space"}})["room_id"]
    pub = call(a, tok, "POST", C + "/createRoom", {"preset": "public_chat",
                                                   "name": "open"})["room_id"]
    priv = call(a, tok, "POST", C + "/createRoom", {"preset": "private_chat",
                                                    "name": "closed"})["room_id"]
    for rid, sugg in ((pub, True), (priv, False)):
        call(a, tok, "PUT", C + "/rooms/%s/state/m.space.child/%s" % (q(space), q(rid)),
             {"via": [a.server_name], "suggested": sugg})
    top = call(b, btok, "POST", C + "/createRoom", {
        "preset": "public_chat", "name": "B's space",
        "creation_content": {"type": "m.space"}})["room_id"]
    call(b, btok, "PUT", C + "/rooms/%s/state/m.space.child/%s" % (q(top), q(space)),
         {"via": [a.server_name]})
    return a, b, bob, space, pub, priv, top


def test_fed_hierarchy(spaces):
    """S-S API: the room with its children_state, the children B may see,
    and those it may not as inaccessible_children."""
    a, b, bob, space, pub, priv, top = spaces
    st, r = fed(b, a, F1 + "/hierarchy/%s" % q(space))
    assert st == 200, r
    assert r["room"]["room_id"] == space and r["room"]["room_type"] == "m.space"
    assert r["room"]["name"] == "A's space"
    assert sorted(c["state_key"] for c in r["room"]["children_state"]) == sorted([pub, priv])
    assert all("origin_server_ts" in c and c["content"]["via"] == [a.server_name]
               for c in r["room"]["children_state"])
    assert [c["room_id"] for c in r["children"]] == [pub]
    assert r["children"][0]["name"] == "open" and r["children"][0]["num_joined_members"] == 1
    assert r["inaccessible_children"] == [priv]
    st, r = fed(b, a, F1 + "/hierarchy/%s?suggested_only=true" % q(space))
    assert st == 200 and [c["state_key"] for c in r["room"]["children_state"]] == [pub], r
    # A room B may not see, and one A does not know: 404, as Synapse.
    st, r = fed(b, a, F1 + "/hierarchy/%s" % q(priv))
    assert st == 404 and r["errcode"] == "M_NOT_FOUND", r
    st, r = fed(b, a, F1 + "/hierarchy/%s" % q("!nope:" + a.server_name))
    assert st == 404 and r["errcode"] == "M_NOT_FOUND", r
    st, r = fed(b, a, F1 + "/hierarchy/%s?suggested_only=maybe" % q(space))
    assert st == 400 and r["errcode"] == "M_INVALID_PARAM", r


def test_client_hierarchy_asks_via(spaces):
    """C-S API on B: A's space, which B is not in, is asked of A (its
    m.space.child's via); its public child is listed, the invite-only one
    is not."""
    a, b, bob, space, pub, priv, top = spaces
    r = call(b, bob["access_token"], "GET", C1 + "/rooms/%s/hierarchy" % q(top))
    ids = [room["room_id"] for room in r["rooms"]]
    assert ids == [top, space, pub], r
    got = {room["room_id"]: room for room in r["rooms"]}
    assert got[space]["name"] == "A's space" and got[space]["room_type"] == "m.space"
    assert sorted(c["state_key"] for c in got[space]["children_state"]) == sorted([pub, priv])
    assert got[pub]["name"] == "open" and got[pub]["children_state"] == []
    r = call(b, bob["access_token"], "GET", C1 + "/rooms/%s/hierarchy?suggested_only=true" %
             q(top))
    # B's own child is not suggested: only B's space.
    assert [room["room_id"] for room in r["rooms"]] == [top], r


def test_policy_sign_is_unrecognized(pair):
    """Spec v1.18, POST /_matrix/policy/v1/sign (MSC4284): myelin is no
    policy server (it holds no policy_server key and applies no policy;
    policy_server_ed25519 only names one for the well-known document), so
    the path is 404 M_UNRECOGNIZED on both listeners, not a fake 200."""
    a, b = pair
    for path in ("/_matrix/policy/v1/sign", "/_matrix/policy/unstable/org.matrix.msc4284/sign"):
        st, r = a.fed("POST", path, {"type": "m.room.message"})
        assert st == 404 and r["errcode"] == "M_UNRECOGNIZED", (path, st, r)
        st, r = a.request("POST", path, {"type": "m.room.message"})
        assert st == 404 and r["errcode"] == "M_UNRECOGNIZED", (path, st, r)


def test_guests_leave_when_another_server_revokes_guest_access(pair):
    """C-S API, "Guest access": bob on B revokes the guest access of
    alice's room on A; A's guest there leaves by its own membership, as
    Synapse makes its guests leave on receipt (SyTest 13guestaccess.pl)."""
    a, b = pair
    alice = a.register("galice%d" % os.getpid())
    bob = b.register("gbob%d" % os.getpid())
    tok, btok = alice["access_token"], bob["access_token"]
    rid = call(a, tok, "POST", C + "/createRoom", {"preset": "public_chat"})["room_id"]
    pl = call(a, tok, "GET", C + "/rooms/%s/state/m.room.power_levels" % q(rid))
    pl["users"][bob["user_id"]] = 50
    call(a, tok, "PUT", C + "/rooms/%s/state/m.room.power_levels" % q(rid), pl)
    call(a, tok, "PUT", C + "/rooms/%s/state/m.room.guest_access" % q(rid),
         {"guest_access": "can_join"})
    call(b, btok, "POST", C + "/join/%s?server_name=%s" % (q(rid), q(a.server_name)), {})
    st, g = a.request("POST", C + "/register?kind=guest", {})
    assert st == 200, g
    call(a, g["access_token"], "POST", C + "/rooms/%s/join" % q(rid), {})
    wait_member(a, tok, rid, bob["user_id"])
    # B may have to wait for the power levels to arrive, as SyTest retries.
    end = time.time() + 60
    while True:
        st, r = b.request("PUT", C + "/rooms/%s/state/m.room.guest_access" % q(rid),
                          {"guest_access": "forbidden"}, token=btok)
        if st == 200:
            break
        assert time.time() < end, (st, r)
        time.sleep(0.2)
    end = time.time() + 60
    while True:
        st, m = a.request("GET", C + "/rooms/%s/state/m.room.member/%s" % (
            q(rid), q(g["user_id"])), token=tok)
        if st == 200 and m["membership"] == "leave":
            break
        assert time.time() < end, "the guest never left: %r" % (m,)
        time.sleep(0.2)
    # The leave is the guest's own, and B hears of it.
    wait_left = time.time() + 60
    while True:
        st, m = b.request("GET", C + "/rooms/%s/state/m.room.member/%s" % (
            q(rid), q(g["user_id"])), token=btok)
        if st == 200 and m["membership"] == "leave":
            break
        assert time.time() < wait_left, "B never saw the guest leave: %r" % (m,)
        time.sleep(0.2)


def test_user_directory_forgets_a_room_this_server_left(pair):
    """The user directory of B lists A's users of a public room only while a
    user of B is joined to it: B's state of a room it left is stale
    (SyTest 52user-directory/01public.pl, as Synapse)."""
    a, b = pair
    name = "Dirname%d" % os.getpid()
    alice = a.register("dalice%d" % os.getpid())
    bob = b.register("dbob%d" % os.getpid())
    tok, btok = alice["access_token"], bob["access_token"]
    call(a, tok, "PUT", C + "/profile/%s/displayname" % q(alice["user_id"]),
         {"displayname": name})
    rid = call(a, tok, "POST", C + "/createRoom", {"preset": "public_chat"})["room_id"]
    call(b, btok, "POST", C + "/join/%s?server_name=%s" % (q(rid), q(a.server_name)), {})
    r = call(b, btok, "POST", C + "/user_directory/search", {"search_term": name})
    assert [u["user_id"] for u in r["results"]] == [alice["user_id"]], r
    call(b, btok, "POST", C + "/rooms/%s/leave" % q(rid), {})
    r = call(b, btok, "POST", C + "/user_directory/search", {"search_term": name})
    assert r["results"] == [], r


@pytest.fixture(scope="module")
def syn(pair, ca):
    """A Synapse 1.67 federating with A, its MSC3030 (/timestamp_to_event)
    switched on: 1.67 serves and asks it under the unstable prefix only."""
    if not KIT:
        pytest.skip("no Synapse kit in ../shared/peers/synapse")
    if os.getuid() == 0:
        subprocess.run([os.path.join(KIT, "setup")], check=True, capture_output=True,
                       timeout=600)
    d = tempfile.mkdtemp(prefix="myelin-fedapi-synapse-")
    port, fport = free_port(), free_port()
    os.makedirs(d + "/hs")
    with open(d + "/hs/extra.yaml", "w") as f:
        f.write("experimental_features:\n  msc3030_enabled: true\n")
    out = subprocess.run(
        [os.path.join(KIT, "run"), "start", d + "/hs", "--server-name", "localhost:%d" % fport,
         "--client-port", str(port), "--federation-port", str(fport),
         "--tls-cert", os.path.join(ca, "remote.chain.crt"),
         "--tls-key", os.path.join(ca, "remote.key"), "--ca", os.path.join(ca, "ca.crt")],
        capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr
    env = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
    env = {k: v.strip("'") for k, v in env.items()}
    env["dir"] = d + "/hs"
    try:
        yield env
    finally:
        subprocess.run([os.path.join(KIT, "run"), "stop", d + "/hs"], capture_output=True,
                       timeout=60)
        shutil.rmtree(d, ignore_errors=True)


def scall(syn_, tok, method, path, body=None):
    st, r = synapse_client(syn_, method, path, tok, body)
    assert st == 200, (method, path, st, r)
    return r


def syn_user_id(syn_, tok):
    return scall(syn_, tok, "GET", C + "/account/whoami")["user_id"]


def test_synapse_hierarchy_both_ways(pair, syn):
    """A's client /hierarchy asks Synapse for its space (a child of A's
    space); Synapse's asks A for A's space (a child of Synapse's)."""
    a, b = pair
    sname = syn["SYNAPSE_SERVER_NAME"]
    stok = synapse_user(syn, "hier%d" % os.getpid())
    alice = a.register("hiera%d" % os.getpid())
    tok = alice["access_token"]
    sspace = scall(syn, stok, "POST", C + "/createRoom", {
        "preset": "public_chat", "name": "syn space",
        "creation_content": {"type": "m.space"}})["room_id"]
    schild = scall(syn, stok, "POST", C + "/createRoom", {
        "preset": "public_chat", "name": "syn child"})["room_id"]
    scall(syn, stok, "PUT", C + "/rooms/%s/state/m.space.child/%s" % (q(sspace), q(schild)),
          {"via": [sname]})
    mspace = call(a, tok, "POST", C + "/createRoom", {
        "preset": "public_chat", "name": "myelin space",
        "creation_content": {"type": "m.space"}})["room_id"]
    mchild = call(a, tok, "POST", C + "/createRoom", {"preset": "public_chat",
                                                      "name": "myelin child"})["room_id"]
    call(a, tok, "PUT", C + "/rooms/%s/state/m.space.child/%s" % (q(mspace), q(mchild)),
         {"via": [a.server_name]})
    call(a, tok, "PUT", C + "/rooms/%s/state/m.space.child/%s" % (q(mspace), q(sspace)),
         {"via": [sname]})
    r = call(a, tok, "GET", C1 + "/rooms/%s/hierarchy" % q(mspace))
    got = {room["room_id"]: room for room in r["rooms"]}
    assert set(got) == {mspace, mchild, sspace, schild}, r
    assert got[sspace]["name"] == "syn space" and got[schild]["name"] == "syn child"
    # Synapse's space with A's as its child: Synapse asks A.
    top = scall(syn, stok, "POST", C + "/createRoom", {
        "preset": "public_chat", "creation_content": {"type": "m.space"}})["room_id"]
    scall(syn, stok, "PUT", C + "/rooms/%s/state/m.space.child/%s" % (q(top), q(mspace)),
          {"via": [a.server_name]})
    r = scall(syn, stok, "GET", C1 + "/rooms/%s/hierarchy" % q(top))
    got = {room["room_id"]: room for room in r["rooms"]}
    assert mspace in got and mchild in got, r
    assert got[mspace]["name"] == "myelin space" and got[mchild]["name"] == "myelin child"


def test_synapse_timestamp_to_event_both_ways(pair, syn):
    """Each side, joined after the other's messages, finds them by time by
    asking the other: A's client through Synapse's MSC3030 path (v1 being
    unrecognised), Synapse's client through A's."""
    a, b = pair
    sname = syn["SYNAPSE_SERVER_NAME"]
    stok = synapse_user(syn, "jump%d" % os.getpid())
    suid = syn_user_id(syn, stok)
    alice = a.register("jumpa%d" % os.getpid())
    tok = alice["access_token"]
    srid = scall(syn, stok, "POST", C + "/createRoom", {"preset": "public_chat",
                                                        "room_version": "10"})["room_id"]
    seid = scall(syn, stok, "PUT", C + "/rooms/%s/send/m.room.message/j1" % q(srid),
                 {"msgtype": "m.text", "body": "synapse said"})["event_id"]
    sts = scall(syn, stok, "GET", C + "/rooms/%s/event/%s" % (q(srid), q(seid)))[
        "origin_server_ts"]
    call(a, tok, "POST", C + "/join/%s?server_name=%s" % (q(srid), q(sname)), {})
    r = call(a, tok, "GET", C1 + "/rooms/%s/timestamp_to_event?ts=%d&dir=f" % (q(srid), sts))
    assert r["event_id"] == seid and r["origin_server_ts"] == sts, r
    # And the other way.
    mrid = call(a, tok, "POST", C + "/createRoom", {"preset": "public_chat",
                                                    "room_version": "10"})["room_id"]
    meid = call(a, tok, "PUT", C + "/rooms/%s/send/m.room.message/j2" % q(mrid),
                {"msgtype": "m.text", "body": "myelin said"})["event_id"]
    mts = event_ts(a, tok, mrid, meid)
    scall(syn, stok, "POST", C + "/join/%s?server_name=%s" % (q(mrid), q(a.server_name)), {})
    wait_member(a, tok, mrid, suid)
    r = scall(syn, stok, "GET", "/_matrix/client/unstable/org.matrix.msc3030/rooms/%s/"
              "timestamp_to_event?ts=%d&dir=f" % (q(mrid), mts))
    assert r["event_id"] == meid, r
