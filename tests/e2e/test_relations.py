"""Relations, threads, bundled aggregations, /context and
/timestamp_to_event (spec: C-S API "Forming relationships between
events", "Threading", "Event context").

The module runs its own stack on the fake clock and moves time forward
before each event, so that edits and timestamps are ordered by
origin_server_ts exactly as the test sends them."""
import asyncio
import os

import nio
import pytest

from conftest import C, User, q

V1 = "/_matrix/client/v1"


class RelUser(User):
    """A fresh user on clock_stack: each event it makes comes one second
    of the fake clock after the last."""

    def __init__(self, stack, name):
        super().__init__(stack, stack.register(name))

    def create_room(self, **body):
        body.setdefault("preset", "public_chat")
        self.stack.clock.advance(1000)
        return super().create_room(**body)

    def join(self, room_id):
        self.stack.clock.advance(1000)
        return self.room_post(room_id, "join")

    def send_next(self, room_id, body="hi", rel=None, etype="m.room.message", **extra):
        """Sends a message one second after the last event; returns its ID."""
        content = {"msgtype": "m.text", "body": body} if etype == "m.room.message" else {}
        content.update(extra)
        if rel is not None:
            content["m.relates_to"] = rel
        self.stack.clock.advance(1000)
        return self.send_ok(room_id, content, etype)

    def event(self, room_id, event_id):
        status, ev = self.get(C + "/rooms/%s/event/%s" % (q(room_id), q(event_id)))
        assert status == 200, ev
        return ev

    def relations(self, room_id, event_id, *rest, **params):
        path = V1 + "/rooms/%s/relations/%s" % (q(room_id), q(event_id))
        for r in rest:
            path += "/" + q(r)
        return self.get(path, **params)


def thread(root):
    return {"rel_type": "m.thread", "event_id": root}


def edit_rel(target):
    return {"rel_type": "m.replace", "event_id": target}


def edit(user, room, target, text):
    return user.send_next(room, "* " + text, edit_rel(target),
                          **{"m.new_content": {"msgtype": "m.text", "body": text}})


def ids(chunk):
    return [e["event_id"] for e in chunk]


def rels(ev):
    return ev.get("unsigned", {}).get("m.relations", {})


@pytest.fixture(scope="module")
def graph(clock_stack):
    """A room with a root message and every kind of child: a reply, a
    thread of two, two edits (and one by someone else), a reaction, a
    reference, and an edit of the latest thread event."""
    s = clock_stack
    n = "rel%d" % os.getpid()
    alice, bob, carol = RelUser(s, n + "a"), RelUser(s, n + "b"), RelUser(s, n + "c")
    room = alice.create_room()
    bob.join(room)
    carol.join(room)
    g = dict(alice=alice, bob=bob, carol=carol, room=room)
    g["root"] = alice.send_next(room, "root")
    # Rich replies have no rel_type: not a relation for the server.
    g["reply"] = bob.send_next(room, "reply", {"m.in_reply_to": {"event_id": g["root"]}})
    g["t1"] = bob.send_next(room, "thread 1", thread(g["root"]))
    g["e1"] = edit(alice, room, g["root"], "root, edited")
    g["t2"] = alice.send_next(room, "thread 2", thread(g["root"]))
    g["e2"] = edit(alice, room, g["root"], "root, edited twice")
    g["react"] = bob.send_next(room, etype="m.reaction", rel={
        "rel_type": "m.annotation", "event_id": g["root"], "key": "\U0001F44D"})
    g["ref"] = carol.send_next(room, "see above", {"rel_type": "m.reference",
                                                   "event_id": g["root"]})
    # Spec: an edit by another sender is not a valid replacement.
    g["bad_edit"] = edit(bob, room, g["root"], "not yours")
    g["t2_edit"] = edit(alice, room, g["t2"], "thread 2, edited")
    return g


def test_relations_of_every_kind(graph):
    g, alice = graph, graph["alice"]
    status, body = alice.relations(g["room"], g["root"], limit=50)
    assert status == 200, body
    # Newest first; rich replies (no rel_type) are not relations.
    assert ids(body["chunk"]) == [g["bad_edit"], g["ref"], g["react"], g["e2"], g["t2"],
                                  g["e1"], g["t1"]]
    assert "next_batch" not in body and "prev_batch" not in body
    assert "recursion_depth" not in body
    for ev in body["chunk"]:
        assert ev["room_id"] == g["room"]
        assert ev["content"]["m.relates_to"]["event_id"] == g["root"]

    status, body = alice.relations(g["room"], g["root"], "m.thread")
    assert status == 200
    assert ids(body["chunk"]) == [g["t2"], g["t1"]]
    # The chunk carries bundled aggregations too: the edit of t2.
    assert rels(body["chunk"][0])["m.replace"]["event_id"] == g["t2_edit"]

    status, body = alice.relations(g["room"], g["root"], "m.annotation", "m.reaction")
    assert status == 200 and ids(body["chunk"]) == [g["react"]]
    status, body = alice.relations(g["room"], g["root"], "m.annotation", "m.room.message")
    assert status == 200 and body["chunk"] == []

    status, body = alice.relations(g["room"], g["root"], "m.replace", dir="f")
    assert status == 200
    assert ids(body["chunk"]) == [g["e1"], g["e2"], g["bad_edit"]]


def test_relations_recurse(graph):
    g, bob = graph, graph["bob"]
    status, body = bob.relations(g["room"], g["root"], limit=50, recurse="true")
    assert status == 200
    # The edit of t2 relates to the root through t2.
    assert g["t2_edit"] in ids(body["chunk"])
    assert body["recursion_depth"] >= 3
    status, body = bob.relations(g["room"], g["root"], "m.replace", recurse="true")
    assert status == 200
    assert ids(body["chunk"]) == [g["t2_edit"], g["bad_edit"], g["e2"], g["e1"]]
    status, body = bob.relations(g["room"], g["root"], limit=50, recurse="false")
    assert status == 200 and g["t2_edit"] not in ids(body["chunk"])
    assert "recursion_depth" in body
    status, body = bob.relations(g["room"], g["root"], recurse="maybe")
    assert (status, body["errcode"]) == (400, "M_INVALID_PARAM")


def test_bundled_aggregations(graph):
    g = graph
    for who, participated in (("alice", True), ("bob", True), ("carol", False)):
        ev = g[who].event(g["room"], g["root"])
        r = rels(ev)
        th = r["m.thread"]
        assert th["count"] == 2
        assert th["current_user_participated"] is participated, who
        latest = th["latest_event"]
        assert latest["event_id"] == g["t2"]
        assert latest["content"]["body"] == "thread 2"
        assert latest["sender"] == g["alice"].user_id
        # Spec: the latest event carries its own aggregations.
        assert rels(latest)["m.replace"]["event_id"] == g["t2_edit"]
        # Spec v1.7+: the most recent valid edit, as a whole event; the
        # edit by bob is not valid.
        rep = r["m.replace"]
        assert rep["event_id"] == g["e2"]
        assert rep["sender"] == g["alice"].user_id
        assert rep["content"]["m.new_content"]["body"] == "root, edited twice"
        assert isinstance(rep["origin_server_ts"], int)
        # The original's content is left as it was.
        assert ev["content"]["body"] == "root"
        assert r["m.reference"] == {"chunk": [{"event_id": g["ref"]}]}
        # Spec: annotations are not aggregated by the server.
        assert "m.annotation" not in r

    # Events without children have no m.relations; thread events none of m.thread.
    assert "m.relations" not in g["bob"].event(g["room"], g["reply"]).get("unsigned", {})
    assert "m.thread" not in rels(g["bob"].event(g["room"], g["t2"]))


def test_bundles_in_messages_with_nio(clock_stack, graph):
    g = graph
    status, first = g["carol"].get(C + "/rooms/%s/messages" % q(g["room"]), limit=1)
    assert status == 200

    async def run():
        client = nio.AsyncClient(clock_stack.base, g["carol"].user_id)
        client.access_token = g["carol"].token
        try:
            resp = await client.room_messages(g["room"], first["start"], limit=50)
            assert isinstance(resp, nio.RoomMessagesResponse), resp
            return {e.event_id: e.source for e in resp.chunk}
        finally:
            await client.close()

    events = asyncio.run(run())
    root = events[g["root"]]
    assert rels(root)["m.thread"]["count"] == 2
    assert rels(root)["m.thread"]["current_user_participated"] is False
    assert rels(root)["m.replace"]["event_id"] == g["e2"]
    assert rels(events[g["t2"]])["m.replace"]["event_id"] == g["t2_edit"]
    # State events get no bundles.
    for e in events.values():
        if "state_key" in e:
            assert "m.relations" not in e.get("unsigned", {})


def test_redacted_edit_falls_back(clock_stack, uniq):
    """Spec: redacting the latest edit reverts to the one before; a
    redacted original bundles no edit at all."""
    alice = RelUser(clock_stack, uniq("red"))
    room = alice.create_room()
    root = alice.send_next(room, "v0")
    e1 = edit(alice, room, root, "v1")
    e2 = edit(alice, room, root, "v2")
    assert rels(alice.event(room, root))["m.replace"]["event_id"] == e2
    clock_stack.clock.advance(1000)
    status, body = alice.call("PUT", C + "/rooms/%s/redact/%s/r1" % (q(room), q(e2)), {})
    assert status == 200, body
    assert rels(alice.event(room, root))["m.replace"]["event_id"] == e1
    status, body = alice.relations(room, root, "m.replace")
    assert status == 200 and ids(body["chunk"]) == [e1]
    status, body = alice.call("PUT", C + "/rooms/%s/redact/%s/r2" % (q(room), q(root)), {})
    assert status == 200, body
    assert "m.replace" not in rels(alice.event(room, root))


def test_relations_paging(clock_stack, uniq):
    alice = RelUser(clock_stack, uniq("page"))
    room = alice.create_room()
    parent = alice.send_next(room, "parent")
    kids = [alice.send_next(room, "child %d" % i, {"rel_type": "m.reference", "event_id": parent})
            for i in range(7)]
    alice.send_next(room, "unrelated")

    got, frm, pages = [], None, []
    while True:
        params = {"limit": 3}
        if frm is not None:
            params["from"] = frm
        status, body = alice.relations(room, parent, **params)
        assert status == 200, body
        pages.append(body)
        got += ids(body["chunk"])
        assert len(body["chunk"]) <= 3
        # Spec: prev_batch is absent on the first page only.
        assert ("prev_batch" in body) == (frm is not None)
        if "next_batch" not in body:
            break
        frm = body["next_batch"]
    assert got == kids[::-1]
    assert [len(p["chunk"]) for p in pages] == [3, 3, 1]

    # Spec: a from token of page 1 and a to token of page 2 give page 2.
    status, body = alice.relations(room, parent, limit=10, **{
        "from": pages[0]["next_batch"], "to": pages[1]["next_batch"]})
    assert status == 200 and ids(body["chunk"]) == ids(pages[1]["chunk"])

    # Forwards, oldest first.
    got, frm = [], None
    while True:
        params = {"limit": 4, "dir": "f"}
        if frm is not None:
            params["from"] = frm
        status, body = alice.relations(room, parent, **params)
        assert status == 200, body
        got += ids(body["chunk"])
        if "next_batch" not in body:
            break
        frm = body["next_batch"]
    assert got == kids

    # A /messages token works as from: start there and go back.
    status, msgs = alice.get(C + "/rooms/%s/messages" % q(room), dir="b", limit=2)
    assert status == 200
    status, body = alice.relations(room, parent, limit=50, **{"from": msgs["start"]})
    assert status == 200 and ids(body["chunk"]) == kids[::-1]

    # The bundle counts every reference, whatever the page size.
    assert [c["event_id"] for c in rels(alice.event(room, parent))["m.reference"]["chunk"]] \
        == kids

    status, body = alice.relations(room, parent, dir="x")
    assert (status, body["errcode"]) == (400, "M_INVALID_PARAM")
    status, body = alice.relations(room, parent, **{"from": "nonsense"})
    assert (status, body["errcode"]) == (400, "M_INVALID_PARAM")


def test_relations_errors(clock_stack, graph, uniq):
    g = graph
    # Spec: 404 M_NOT_FOUND for an unknown parent...
    status, body = g["alice"].relations(g["room"], "$nosuchevent")
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    # ... for one of another room ...
    other = g["alice"].create_room()
    status, body = g["alice"].relations(other, g["root"])
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    # ... and, as the spec words it, for one the user may not read.
    stranger = RelUser(clock_stack, uniq("stranger"))
    status, body = stranger.relations(g["room"], g["root"])
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    status, body = clock_stack.request("GET", V1 + "/rooms/%s/relations/%s" % (
        q(g["room"]), q(g["root"])))
    assert (status, body["errcode"]) == (401, "M_MISSING_TOKEN")


def test_threads_list(clock_stack, uniq):
    alice, bob = RelUser(clock_stack, uniq("tha")), RelUser(clock_stack, uniq("thb"))
    room = alice.create_room()
    bob.join(room)
    r1 = alice.send_next(room, "root 1")
    r2 = alice.send_next(room, "root 2")
    r3 = bob.send_next(room, "root 3")
    alice.send_next(room, "not a thread")
    alice.send_next(room, "in 1", thread(r1))
    alice.send_next(room, "in 2", thread(r2))
    r3a = alice.send_next(room, "in 3", thread(r3))
    last1 = bob.send_next(room, "in 1 again", thread(r1))

    status, body = alice.get(V1 + "/rooms/%s/threads" % q(room))
    assert status == 200, body
    # Most recently active first.
    assert ids(body["chunk"]) == [r1, r3, r2]
    assert "next_batch" not in body
    th = rels(body["chunk"][0])["m.thread"]
    assert th["count"] == 2 and th["latest_event"]["event_id"] == last1
    assert th["current_user_participated"] is True
    assert rels(body["chunk"][1])["m.thread"]["latest_event"]["event_id"] == r3a

    # Participated: bob started r3 and replied in r1, never in r2.
    status, body = bob.get(V1 + "/rooms/%s/threads" % q(room), include="participated")
    assert status == 200 and ids(body["chunk"]) == [r1, r3]
    status, body = bob.get(V1 + "/rooms/%s/threads" % q(room), include="all")
    assert status == 200 and ids(body["chunk"]) == [r1, r3, r2]

    # Paging, one root at a time.
    got, frm = [], None
    while True:
        params = {"limit": 1}
        if frm is not None:
            params["from"] = frm
        status, body = bob.get(V1 + "/rooms/%s/threads" % q(room), **params)
        assert status == 200, body
        assert len(body["chunk"]) <= 1
        got += ids(body["chunk"])
        if "next_batch" not in body:
            break
        frm = body["next_batch"]
    assert got == [r1, r3, r2]

    # New activity moves a thread to the top.
    alice.send_next(room, "in 2 again", thread(r2))
    status, body = bob.get(V1 + "/rooms/%s/threads" % q(room))
    assert ids(body["chunk"]) == [r2, r1, r3]
    assert rels(body["chunk"][0])["m.thread"]["current_user_participated"] is False

    status, body = bob.get(V1 + "/rooms/%s/threads" % q(room), include="mine")
    assert (status, body["errcode"]) == (400, "M_INVALID_PARAM")
    status, body = bob.get(V1 + "/rooms/%s/threads" % q(room), limit=0)
    assert (status, body["errcode"]) == (400, "M_INVALID_PARAM")
    # Spec: 403 M_FORBIDDEN when the user cannot view the room, or it does not exist.
    stranger = RelUser(clock_stack, uniq("thx"))
    status, body = stranger.get(V1 + "/rooms/%s/threads" % q(room))
    assert (status, body["errcode"]) == (403, "M_FORBIDDEN")
    status, body = stranger.get(V1 + "/rooms/%s/threads" % q("!nowhere:localhost"))
    assert (status, body["errcode"]) == (403, "M_FORBIDDEN")


def test_context(clock_stack, uniq):
    alice, bob = RelUser(clock_stack, uniq("cxa")), RelUser(clock_stack, uniq("cxb"))
    room = alice.create_room()
    bob.join(room)
    msgs = [(alice if i % 2 == 0 else bob).send_next(room, "m%d" % i) for i in range(10)]
    alice.send_next(room, "reply in thread", thread(msgs[5]))

    status, body = alice.get(C + "/rooms/%s/context/%s" % (q(room), q(msgs[5])), limit=4)
    assert status == 200, body
    assert body["event"]["event_id"] == msgs[5]
    # Spec: before newest first, after oldest first, limit split between them.
    assert ids(body["events_before"]) == [msgs[4], msgs[3]]
    assert ids(body["events_after"]) == [msgs[6], msgs[7]]
    # Bundled aggregations on the event itself.
    assert rels(body["event"])["m.thread"]["count"] == 1
    state = {(e["type"], e["state_key"]) for e in body["state"]}
    assert ("m.room.create", "") in state
    assert ("m.room.member", alice.user_id) in state and ("m.room.member", bob.user_id) in state

    # The tokens continue with /messages on either side.
    status, back = alice.get(C + "/rooms/%s/messages" % q(room), dir="b", limit=2,
                             **{"from": body["start"]})
    assert status == 200 and ids(back["chunk"]) == [msgs[2], msgs[1]]
    status, fwd = alice.get(C + "/rooms/%s/messages" % q(room), dir="f", limit=2,
                            **{"from": body["end"]})
    assert status == 200 and ids(fwd["chunk"]) == [msgs[8], msgs[9]]

    # Spec: the event is returned even with limit 0.
    status, body = alice.get(C + "/rooms/%s/context/%s" % (q(room), q(msgs[0])), limit=0)
    assert status == 200
    assert body["event"]["event_id"] == msgs[0]
    assert body["events_before"] == [] and body["events_after"] == []

    # The filter applies to before, after and state, never to the event.
    f = '{"senders": ["%s"], "lazy_load_members": true}' % bob.user_id
    status, body = alice.get(C + "/rooms/%s/context/%s" % (q(room), q(msgs[4])), limit=6,
                             filter=f)
    assert status == 200, body
    assert body["event"]["event_id"] == msgs[4]
    assert all(e["sender"] == bob.user_id for e in body["events_before"] + body["events_after"])
    assert ids(body["events_before"]) == [msgs[3], msgs[1]]
    members = {e["state_key"] for e in body["state"] if e["type"] == "m.room.member"}
    assert members <= {bob.user_id, alice.user_id} and bob.user_id in members
    assert all(e["sender"] == bob.user_id for e in body["state"])

    # Lazy loading: only the members who sent what is returned.
    status, body = alice.get(C + "/rooms/%s/context/%s" % (q(room), q(msgs[1])), limit=0,
                             filter='{"lazy_load_members": true}')
    assert status == 200, body
    members = {e["state_key"] for e in body["state"] if e["type"] == "m.room.member"}
    assert members == {bob.user_id}
    assert any(e["type"] == "m.room.create" for e in body["state"])

    status, body = alice.get(C + "/rooms/%s/context/%s" % (q(room), q("$nosuch")))
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    status, body = alice.get(C + "/rooms/%s/context/%s" % (q(room), q(msgs[0])), filter="{")
    assert (status, body["errcode"]) == (400, "M_NOT_JSON")
    stranger = RelUser(clock_stack, uniq("cxs"))
    status, body = stranger.get(C + "/rooms/%s/context/%s" % (q(room), q(msgs[5])))
    assert (status, body["errcode"]) == (403, "M_FORBIDDEN")


def test_context_with_nio(clock_stack, uniq):
    alice = RelUser(clock_stack, uniq("cxn"))
    room = alice.create_room()
    msgs = [alice.send_next(room, "n%d" % i) for i in range(5)]

    async def run():
        client = nio.AsyncClient(clock_stack.base, alice.user_id)
        client.access_token = alice.token
        try:
            return await client.room_context(room, msgs[2], limit=2)
        finally:
            await client.close()

    resp = asyncio.run(run())
    assert isinstance(resp, nio.RoomContextResponse), resp
    assert resp.event.event_id == msgs[2]
    assert [e.event_id for e in resp.events_before] == [msgs[1]]
    assert [e.event_id for e in resp.events_after] == [msgs[3]]
    assert resp.start and resp.end


def test_timestamp_to_event(clock_stack, uniq):
    alice = RelUser(clock_stack, uniq("ts"))
    room = alice.create_room()
    a = alice.send_next(room, "a")
    b = alice.send_next(room, "b")
    c = alice.send_next(room, "c")
    ts = {e: alice.event(room, e)["origin_server_ts"] for e in (a, b, c)}
    assert ts[a] < ts[b] < ts[c]
    path = V1 + "/rooms/%s/timestamp_to_event" % q(room)

    def find(t, d):
        return alice.get(path, ts=t, dir=d)

    status, body = find(ts[b] - 1, "f")
    assert status == 200 and body == {"event_id": b, "origin_server_ts": ts[b]}
    status, body = find(ts[b] - 1, "b")
    assert status == 200 and body == {"event_id": a, "origin_server_ts": ts[a]}
    status, body = find(ts[b], "b")
    assert status == 200 and body["event_id"] == b
    status, body = find(ts[b], "f")
    assert status == 200 and body["event_id"] == b
    status, body = find(ts[c] + 1, "b")
    assert status == 200 and body["event_id"] == c
    # Nothing after the last event: 404 M_NOT_FOUND.
    status, body = find(ts[c] + 1, "f")
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    status, body = find(0, "b")
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    # The room's first event (its creation) is found from before it.
    status, body = find(0, "f")
    assert status == 200
    status, ev = alice.get(C + "/rooms/%s/event/%s" % (q(room), q(body["event_id"])))
    assert status == 200 and ev["type"] == "m.room.create"

    status, body = alice.get(path, ts=ts[a])
    assert (status, body["errcode"]) == (400, "M_MISSING_PARAM")
    status, body = alice.get(path, ts=ts[a], dir="sideways")
    assert (status, body["errcode"]) == (400, "M_INVALID_PARAM")
    status, body = alice.get(path, ts="yesterday", dir="f")
    assert (status, body["errcode"]) == (400, "M_INVALID_PARAM")
    stranger = RelUser(clock_stack, uniq("tss"))
    status, body = stranger.get(path, ts=ts[a], dir="f")
    assert (status, body["errcode"]) == (403, "M_FORBIDDEN")


def test_bundles_across_batches(clock_stack, uniq):
    """More events than one batch of the aggregation queries (14): every
    root keeps its own summary."""
    alice, bob = RelUser(clock_stack, uniq("bat")), RelUser(clock_stack, uniq("batb"))
    room = alice.create_room()
    bob.join(room)
    roots = [alice.send_next(room, "root %d" % i) for i in range(20)]
    replies = {}
    for i, r in enumerate(roots):
        replies[r] = [bob.send_next(room, "reply %d.%d" % (i, k), thread(r))
                      for k in range(i % 3 + 1)]
        if i % 4 == 0:
            edit(alice, room, r, "root %d, edited" % i)

    status, body = alice.get(C + "/rooms/%s/messages" % q(room), dir="b", limit=200)
    assert status == 200
    seen = {e["event_id"]: e for e in body["chunk"]}
    for i, r in enumerate(roots):
        th = rels(seen[r])["m.thread"]
        assert th["count"] == len(replies[r]), i
        assert th["latest_event"]["event_id"] == replies[r][-1]
        assert ("m.replace" in rels(seen[r])) == (i % 4 == 0), i

    status, body = bob.get(V1 + "/rooms/%s/threads" % q(room), limit=30)
    assert status == 200
    assert ids(body["chunk"]) == roots[::-1]
    assert all(rels(e)["m.thread"]["current_user_participated"] for e in body["chunk"])
