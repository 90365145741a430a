"""myelin-client beside a running Synapse 1.67 (docs/beside-synapse.md,
issue 16): the read-only client endpoints (profiles, alias lookups, the
public room list, joined_rooms) over the database a real Synapse wrote,
with Synapse's tokens, answered as Synapse answers them; and the nginx
layout that gives each of those endpoints to myelin on its own, the
rest (and what needs another server) to Synapse.

Synapse runs on SQLite, or on PostgreSQL when MYELIN_TEST_PG is set (the
fixture of test_beside_synapse.py).  Skipped only when the Synapse kit
is absent.
"""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from conftest import q
from test_beside_synapse import NAME, Nginx, beside, http, jbody, layout  # noqa: F401

C3 = "/_matrix/client/v3"
GROUPS = "profile,alias,public-rooms,joined-rooms"


def api(base, method, path, body=None, token=None):
    st, raw, _ = http(method, base + path, None if body is None else json.dumps(body).encode(),
                      token=token, ctype="application/json" if body is not None else None)
    return st, jbody(raw)


def ok(base, method, path, body=None, token=None):
    st, out = api(base, method, path, body, token)
    assert st == 200, (path, st, out)
    return out


@pytest.fixture(scope="module")
def world(beside):
    """Users and rooms made through Synapse's own client API."""
    syn = beside.base
    w = type("World", (), {})()
    w.amy = beside.register("c_amy")
    w.ben = beside.register("c_ben")
    w.cyd = beside.register("c_cyd")
    ok(syn, "PUT", C3 + "/profile/%s/displayname" % q("@c_amy:" + NAME),
       {"displayname": "Amy \u00e9"}, w.amy)
    ok(syn, "PUT", C3 + "/profile/%s/avatar_url" % q("@c_amy:" + NAME),
       {"avatar_url": "mxc://%s/amyface" % NAME}, w.amy)
    w.pub1 = ok(syn, "POST", C3 + "/createRoom",
                {"preset": "public_chat", "visibility": "public", "name": "Lobby",
                 "topic": "Say hello", "room_alias_name": "c_lobby"}, w.amy)["room_id"]
    w.pub2 = ok(syn, "POST", C3 + "/createRoom",
                {"preset": "public_chat", "visibility": "public", "name": "Quiet"},
                w.ben)["room_id"]
    w.pub3 = ok(syn, "POST", C3 + "/createRoom",
                {"preset": "public_chat", "visibility": "public",
                 "initial_state": [{"type": "m.room.history_visibility", "state_key": "",
                                    "content": {"history_visibility": "world_readable"}},
                                   {"type": "m.room.guest_access", "state_key": "",
                                    "content": {"guest_access": "can_join"}}]},
                w.cyd)["room_id"]
    w.priv = ok(syn, "POST", C3 + "/createRoom",
                {"preset": "private_chat", "room_alias_name": "c_hidden"}, w.amy)["room_id"]
    for tok in (w.ben, w.cyd):
        ok(syn, "POST", C3 + "/join/%s" % q(w.pub1), {}, tok)
    ok(syn, "POST", C3 + "/join/%s" % q(w.pub2), {}, w.cyd)
    ok(syn, "POST", C3 + "/rooms/%s/leave" % q(w.pub2), {}, w.cyd)
    return w


def both(beside, path, token=None):
    """(Synapse's, myelin's) answers to one GET, each (status, body)."""
    return (api(beside.base, "GET", path, token=token),
            api(beside.stack.base, "GET", path, token=token))


def test_profiles_as_synapse_answers(beside, world):
    for user in ("@c_amy:" + NAME, "@c_ben:" + NAME):
        for tail in ("", "/displayname", "/avatar_url"):
            syn, mye = both(beside, C3 + "/profile/" + q(user) + tail)
            assert syn[0] == 200 and mye == syn, (user, tail, syn, mye)
    _, mye = both(beside, C3 + "/profile/" + q("@c_amy:" + NAME))
    assert mye[1] == {"displayname": "Amy \u00e9", "avatar_url": "mxc://%s/amyface" % NAME}
    # No such user, and no user ID at all: Synapse's errors.
    syn, mye = both(beside, C3 + "/profile/" + q("@c_nobody:" + NAME))
    assert syn[0] == mye[0] == 404 and mye[1]["errcode"] == syn[1]["errcode"] == "M_NOT_FOUND"
    # A remote user is Synapse's to ask; a stack of myelin's own (no
    # Synapse in its nginx) says it does not serve that.
    st, out = api(beside.stack.base, "GET", C3 + "/profile/" + q("@x:remote.example"))
    assert st == 404 and out["errcode"] == "M_UNRECOGNIZED", out
    for bad in ("c_amy", "@c_amy", "@c_amy:bad_server!"):
        syn, mye = both(beside, C3 + "/profile/" + q(bad) + "/displayname")
        assert syn[0] == mye[0] == 400, (bad, syn, mye)
        assert mye[1]["errcode"] == syn[1]["errcode"] == "M_INVALID_PARAM"


def test_alias_resolution_as_synapse_answers(beside, world):
    for alias in ("#c_lobby:" + NAME, "#c_hidden:" + NAME):
        syn, mye = both(beside, C3 + "/directory/room/" + q(alias))
        assert syn[0] == mye[0] == 200, (syn, mye)
        assert mye[1]["room_id"] == syn[1]["room_id"]
        assert mye[1]["servers"][0] == syn[1]["servers"][0] == NAME
        assert sorted(mye[1]["servers"]) == sorted(syn[1]["servers"])
    assert mye[1]["room_id"] == world.priv
    syn, mye = both(beside, C3 + "/directory/room/" + q("#c_none:" + NAME))
    assert syn[0] == mye[0] == 404 and mye[1]["errcode"] == syn[1]["errcode"] == "M_NOT_FOUND"
    syn, mye = both(beside, C3 + "/directory/room/" + q("c_lobby"))
    assert syn[0] == mye[0] == 400
    assert mye[1]["errcode"] == syn[1]["errcode"] == "M_INVALID_PARAM"


def synapse_and_myelin_lists(beside, token, tries=100):
    """Both public room lists, once Synapse's room statistics (which it
    updates after the events) agree with its own answer twice running."""
    for _ in range(tries):
        syn = ok(beside.base, "GET", C3 + "/publicRooms", token=token)
        mye = ok(beside.stack.base, "GET", C3 + "/publicRooms", token=token)
        if syn == mye:
            return syn, mye
        time.sleep(0.1)
    return syn, mye


def test_public_rooms_as_synapse_lists_them(beside, world):
    syn, mye = synapse_and_myelin_lists(beside, world.ben)
    assert mye["chunk"] == syn["chunk"]
    assert mye["total_room_count_estimate"] == syn["total_room_count_estimate"]
    ids = [r["room_id"] for r in mye["chunk"]]
    assert world.pub1 in ids and world.pub2 in ids and world.pub3 in ids
    assert world.priv not in ids
    lobby = mye["chunk"][ids.index(world.pub1)]
    assert lobby["name"] == "Lobby" and lobby["topic"] == "Say hello"
    assert lobby["num_joined_members"] == 3 and lobby["canonical_alias"] == "#c_lobby:" + NAME
    assert lobby["join_rule"] == "public" and lobby["world_readable"] is False
    wr = mye["chunk"][ids.index(world.pub3)]
    assert wr["world_readable"] is True and wr["guest_can_join"] is True
    # Paged one by one with myelin's tokens: the same rooms, once each, and back.
    seen, since, pages = [], None, []
    while True:
        page = ok(beside.stack.base, "GET", C3 + "/publicRooms?limit=1" +
                  ("&since=" + q(since) if since else ""), token=world.ben)
        assert page["total_room_count_estimate"] == len(ids)
        seen += [r["room_id"] for r in page["chunk"]]
        pages.append(page)
        since = page.get("next_batch")
        if since is None:
            break
    assert seen == ids
    back = ok(beside.stack.base, "GET", C3 + "/publicRooms?limit=1&since=" +
              q(pages[-1]["prev_batch"]), token=world.ben)
    assert [r["room_id"] for r in back["chunk"]] == ids[-2:-1]
    st, out = api(beside.stack.base, "GET", C3 + "/publicRooms?since=garbage",
                  token=world.ben)
    assert st == 400 and out["errcode"] == "M_INVALID_PARAM"
    # Synapse's default: the list needs a token.
    syn, mye = both(beside, C3 + "/publicRooms")
    assert syn[0] == mye[0] == 401
    assert mye[1]["errcode"] == syn[1]["errcode"] == "M_MISSING_TOKEN"


def test_joined_rooms_with_a_synapse_token(beside, world):
    for tok in (world.amy, world.ben, world.cyd):
        syn, mye = both(beside, C3 + "/joined_rooms", token=tok)
        assert syn[0] == mye[0] == 200
        assert sorted(mye[1]["joined_rooms"]) == sorted(syn[1]["joined_rooms"])
    _, mye = both(beside, C3 + "/joined_rooms", token=world.cyd)
    assert sorted(mye[1]["joined_rooms"]) == sorted([world.pub1, world.pub3])
    syn, mye = both(beside, C3 + "/joined_rooms")
    assert syn[0] == mye[0] == 401
    assert mye[1]["errcode"] == syn[1]["errcode"] == "M_MISSING_TOKEN"
    syn, mye = both(beside, C3 + "/joined_rooms", token="syt_not_a_token_of_synapse")
    assert syn[0] == mye[0] == 401
    assert mye[1]["errcode"] == syn[1]["errcode"] == "M_UNKNOWN_TOKEN"


def test_expired_synapse_token_refused(beside, world):
    login = beside.login("c_ben", refresh_token=True)
    tok = login["access_token"]
    st, out = api(beside.stack.base, "GET", C3 + "/joined_rooms", token=tok)
    assert st == 200 and world.pub1 in out["joined_rooms"]
    beside.stack.clock.set(int(time.time() * 1000) + login["expires_in_ms"] + 60000)
    try:
        for path in ("/joined_rooms", "/publicRooms"):
            st, out = api(beside.stack.base, "GET", C3 + path, token=tok)
            assert st == 401, (path, out)
            assert out["errcode"] == "M_UNKNOWN_TOKEN" and out["soft_logout"] is True
    finally:
        beside.stack.clock.set(int(time.time() * 1000))


class Upstream(BaseHTTPRequestHandler):
    """A stand-in Synapse that records what it was sent."""
    seen = []

    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        Upstream.seen.append((self.command, self.path, body))
        out = json.dumps({"upstream": self.path, "method": self.command}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_PUT = do_POST = do_DELETE = answer

    def log_message(self, *args):
        pass


def test_layout_gives_the_chosen_endpoints_to_myelin(beside, world):
    srv = HTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    out = layout(beside.stack, "profile,joined-rooms", "http://127.0.0.1:%d" % srv.server_port)
    assert out.returncode == 0, out.stderr
    assert "location @synapse" in out.stdout
    ng = Nginx(out.stdout)
    try:
        t = ng.test()
        assert t.returncode == 0, t.stderr
        ng.start()
        amy = q("@c_amy:" + NAME)
        # The chosen groups: myelin answers from Synapse's tables.
        st, got = api(ng.base, "GET", C3 + "/profile/" + amy)
        assert st == 200 and got["displayname"] == "Amy \u00e9", got
        st, got = api(ng.base, "GET", "/_matrix/client/r0/profile/%s/avatar_url" % amy)
        assert st == 200 and got == {"avatar_url": "mxc://%s/amyface" % NAME}
        st, got = api(ng.base, "GET", C3 + "/joined_rooms", token=world.amy)
        assert st == 200 and world.pub1 in got["joined_rooms"]
        # Groups not chosen, and other methods on a chosen path: Synapse's,
        # the URI as sent, the body passed on.
        n = len(Upstream.seen)
        for method, path, body in (
                ("GET", C3 + "/directory/room/%23c_lobby%3A" + NAME, None),
                ("GET", C3 + "/publicRooms?limit=2", None),
                ("PUT", C3 + "/profile/%s/displayname" % amy, {"displayname": "x"}),
                ("GET", C3 + "/profile/%s/m.custom" % amy, None),
                # What needs another server: handed back by myelin-client.
                ("GET", C3 + "/profile/%40someone%3Aremote.example/displayname", None)):
            st, got = api(ng.base, method, path, body, token=world.amy)
            assert st == 200 and got == {"upstream": path, "method": method}, (path, got)
            assert Upstream.seen[-1][:2] == (method, path)
            if body is not None:
                assert json.loads(Upstream.seen[-1][2]) == body
        assert len(Upstream.seen) == n + 5
        with open("%s/log/client.log" % beside.stack.dir, errors="replace") as f:
            assert "profile of a remote user: passed to Synapse" in f.read()
    finally:
        ng.stop()
        srv.shutdown()


def test_layout_over_the_real_synapse(beside, world):
    out = layout(beside.stack, GROUPS, beside.base)
    assert out.returncode == 0, out.stderr
    ng = Nginx(out.stdout)
    try:
        t = ng.test()
        assert t.returncode == 0, t.stderr
        ng.start()
        ben = q("@c_ben:" + NAME)
        # A write through the layout is Synapse's; the read after it, myelin's.
        ok(ng.base, "PUT", C3 + "/profile/%s/displayname" % ben, {"displayname": "Benedict"},
           world.ben)
        assert ok(ng.base, "GET", C3 + "/profile/%s/displayname" % ben) == \
            {"displayname": "Benedict"}
        assert ok(ng.base, "GET", C3 + "/directory/room/" + q("#c_lobby:" + NAME))[
            "room_id"] == world.pub1
        # An alias made through the layout (PUT: Synapse's), then resolved (GET: myelin's).
        ok(ng.base, "PUT", C3 + "/directory/room/" + q("#c_more:" + NAME),
           {"room_id": world.pub2}, world.ben)
        assert ok(ng.base, "GET", C3 + "/directory/room/" + q("#c_more:" + NAME))[
            "room_id"] == world.pub2
        st, _ = api(ng.base, "DELETE", C3 + "/directory/room/" + q("#c_more:" + NAME),
                    token=world.ben)
        assert st == 200
        st, got = api(ng.base, "GET", C3 + "/directory/room/" + q("#c_more:" + NAME))
        assert st == 404 and got["errcode"] == "M_NOT_FOUND"
        syn = ok(beside.base, "GET", C3 + "/publicRooms", token=world.amy)
        assert ok(ng.base, "GET", C3 + "/publicRooms", token=world.amy)["chunk"] == \
            syn["chunk"]
        # POST /publicRooms (a filter) stays Synapse's.
        got = ok(ng.base, "POST", C3 + "/publicRooms",
                 {"filter": {"generic_search_term": "lobby"}}, world.amy)
        assert [r["room_id"] for r in got["chunk"]] == [world.pub1]
        # The rest of the client API is Synapse's.
        assert ok(ng.base, "GET", C3 + "/account/whoami", token=world.amy)["user_id"] == \
            "@c_amy:" + NAME
    finally:
        ng.stop()


def test_client_groups_known_to_the_layout(beside):
    out = layout(beside.stack, "profile,nosuch", beside.base)
    assert out.returncode != 0 and "unknown group nosuch" in out.stderr
    assert "joined-rooms" in out.stderr
    # Without a client group, no @synapse location (the worked example's).
    out = layout(beside.stack, "media", beside.base)
    assert out.returncode == 0 and "@synapse" not in out.stdout
