"""History visibility on every path that returns events (spec: C-S API,
"History visibility": shared, invited, joined, world_readable; the
membership and visibility at each event decide).

Each test builds its own room: alice creates it and sets its
history_visibility, messages go before and after bob's invite, join or
leave, and the test reads them back as bob (or carol, who never joins)
through one path."""
import json

import pytest

from conftest import C, User, q

V1 = "/_matrix/client/v1"


class VisUser(User):
    """A user making rooms of a history visibility and reading them back."""

    def create(self, visibility):
        room = self.create_room(preset="public_chat")
        self.ok("PUT", C + "/rooms/%s/state/m.room.history_visibility/" % q(room),
                {"history_visibility": visibility})
        return room

    def messages(self, room, **params):
        params.setdefault("dir", "b")
        params.setdefault("limit", "50")
        return self.get(C + "/rooms/%s/messages" % q(room), **params)

    def bodies(self, room, **params):
        status, body = self.messages(room, **params)
        assert status == 200, body
        return [e["content"].get("body") for e in body["chunk"]
                if e["type"] == "m.room.message"]


def in_thread(root):
    """The extra content of a thread reply to root."""
    return {"m.relates_to": {"rel_type": "m.thread", "event_id": root}}


@pytest.fixture
def users(stack, uniq):
    return [VisUser(stack, stack.register(uniq(n))) for n in ("va", "vb", "vc")]


# ---- /messages ----------------------------------------------------------

def test_messages_joined_hides_history_before_join(users):
    alice, bob, _ = users
    room = alice.create("joined")
    alice.send_text(room, "before")
    bob.room_post(room, "join")
    alice.send_text(room, "after")
    assert bob.bodies(room) == ["after"]
    # Forwards from the start too, and alice reads everything.
    assert bob.bodies(room, dir="f") == ["after"]
    assert alice.bodies(room) == ["after", "before"]


def test_messages_invited_reads_from_the_invite(users):
    alice, bob, _ = users
    room = alice.create("invited")
    alice.send_text(room, "before invite")
    alice.room_post(room, "invite", bob.user_id)
    alice.send_text(room, "while invited")
    bob.room_post(room, "join")
    alice.send_text(room, "joined")
    assert bob.bodies(room) == ["joined", "while invited"]


def test_messages_shared_reads_all(users):
    alice, bob, _ = users
    room = alice.create("shared")
    alice.send_text(room, "before")
    bob.room_post(room, "join")
    alice.send_text(room, "after")
    assert bob.bodies(room) == ["after", "before"]


def test_messages_former_member_reads_up_to_leave(users):
    alice, bob, _ = users
    room = alice.create("shared")
    alice.send_text(room, "before")
    bob.room_post(room, "join")
    alice.send_text(room, "while joined")
    bob.room_post(room, "leave")
    alice.send_text(room, "after leave")
    assert bob.bodies(room) == ["while joined", "before"]
    assert bob.bodies(room, dir="f") == ["before", "while joined"]


def test_messages_joined_then_left_sees_only_membership_span(users):
    alice, bob, _ = users
    room = alice.create("joined")
    alice.send_text(room, "before")
    bob.room_post(room, "join")
    alice.send_text(room, "while joined")
    bob.room_post(room, "leave")
    alice.send_text(room, "after leave")
    assert bob.bodies(room) == ["while joined"]


def test_messages_world_readable_by_non_member(users):
    alice, _, carol = users
    room = alice.create("world_readable")
    alice.send_text(room, "open")
    assert carol.bodies(room) == ["open"]
    # Not world-readable: a stranger is refused.
    closed = alice.create("shared")
    status, body = carol.messages(closed)
    assert (status, body["errcode"]) == (403, "M_FORBIDDEN")


def test_messages_world_readable_only_while_it_was(users):
    """A non-member reads the events sent while the room was
    world_readable, not those sent under shared."""
    alice, _, carol = users
    room = alice.create("shared")
    alice.send_text(room, "shared era")
    alice.ok("PUT", C + "/rooms/%s/state/m.room.history_visibility/" % q(room),
             {"history_visibility": "world_readable"})
    alice.send_text(room, "open era")
    assert carol.bodies(room) == ["open era"]


def test_messages_filtered_pages_still_page(users):
    """limit counts visible events: hidden history does not eat the page."""
    alice, bob, _ = users
    room = alice.create("joined")
    for i in range(5):
        alice.send_text(room, "old %d" % i)
    bob.room_post(room, "join")
    alice.send_text(room, "new 1")
    alice.send_text(room, "new 2")
    status, body = bob.messages(room, limit="2")
    assert status == 200
    assert [e["content"]["body"] for e in body["chunk"]] == ["new 2", "new 1"]
    status, body = bob.messages(room, limit="3")
    chunk = [e for e in body["chunk"]]
    assert [e["content"].get("body") for e in chunk if e["type"] == "m.room.message"] == \
        ["new 2", "new 1"]
    # Whatever is left to page through is invisible to bob.
    while "end" in body:
        status, body = bob.messages(room, limit="3", **{"from": body["end"]})
        assert status == 200
        assert not [e for e in body["chunk"] if e["type"] == "m.room.message"]


# ---- /event, /context ---------------------------------------------------

def test_event_hidden_before_join(users):
    alice, bob, _ = users
    room = alice.create("joined")
    before = alice.send_text(room, "before")
    bob.room_post(room, "join")
    after = alice.send_text(room, "after")
    status, body = bob.get(C + "/rooms/%s/event/%s" % (q(room), q(before)))
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    status, body = bob.get(C + "/rooms/%s/event/%s" % (q(room), q(after)))
    assert status == 200 and body["event_id"] == after


def test_event_former_member_and_world_readable(users):
    alice, bob, carol = users
    room = alice.create("shared")
    bob.room_post(room, "join")
    seen = alice.send_text(room, "seen")
    bob.room_post(room, "leave")
    unseen = alice.send_text(room, "unseen")
    status, body = bob.get(C + "/rooms/%s/event/%s" % (q(room), q(seen)))
    assert status == 200 and body["event_id"] == seen
    status, body = bob.get(C + "/rooms/%s/event/%s" % (q(room), q(unseen)))
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    open_room = alice.create("world_readable")
    ev = alice.send_text(open_room, "open")
    status, body = carol.get(C + "/rooms/%s/event/%s" % (q(open_room), q(ev)))
    assert status == 200 and body["event_id"] == ev
    # Spec: 404 when "you do not have permission to read this event", a
    # room never joined included, as Synapse 1.67 (and SyTest) has it.
    status, body = carol.get(C + "/rooms/%s/event/%s" % (q(room), q(seen)))
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")


def test_context_hides_history_before_join(users):
    alice, bob, _ = users
    room = alice.create("joined")
    before = alice.send_text(room, "before")
    bob.room_post(room, "join")
    after = alice.send_text(room, "after")
    status, body = bob.get(C + "/rooms/%s/context/%s" % (q(room), q(before)))
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    status, body = bob.get(C + "/rooms/%s/context/%s" % (q(room), q(after)), limit="20")
    assert status == 200 and body["event"]["event_id"] == after
    shown = [e["event_id"] for e in body["events_before"] + body["events_after"]]
    assert before not in shown
    # bob's own join is his to see.
    assert any(e["type"] == "m.room.member" and e["state_key"] == bob.user_id
               for e in body["events_before"])


def test_context_former_member_stops_at_leave(users):
    alice, bob, _ = users
    room = alice.create("shared")
    bob.room_post(room, "join")
    mid = alice.send_text(room, "mid")
    bob.room_post(room, "leave")
    late = alice.send_text(room, "late")
    status, body = bob.get(C + "/rooms/%s/context/%s" % (q(room), q(mid)), limit="20")
    assert status == 200
    assert late not in [e["event_id"] for e in body["events_after"]]
    status, body = bob.get(C + "/rooms/%s/context/%s" % (q(room), q(late)))
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")


# ---- /sync --------------------------------------------------------------

def sync(user, **params):
    status, body = user.get(C + "/sync", **params)
    assert status == 200, body
    return body


def timeline_bodies(section):
    return [e["content"].get("body") for e in section["timeline"]["events"]
            if e["type"] == "m.room.message"]


def test_sync_timeline_joined_hides_history_before_join(users):
    alice, bob, _ = users
    room = alice.create("joined")
    alice.send_text(room, "before")
    bob.room_post(room, "join")
    alice.send_text(room, "after")
    body = sync(bob)
    assert timeline_bodies(body["rooms"]["join"][room]) == ["after"]
    # An incremental sync across the join says the same.
    since = sync(bob)["next_batch"]
    other = alice.create("joined")
    alice.send_text(other, "old news")
    bob.room_post(other, "join")
    body = sync(bob, since=since)
    assert timeline_bodies(body["rooms"]["join"][other]) == []


def test_sync_timeline_shows_the_users_own_earlier_memberships(users):
    """Spec: a user's own membership events are theirs to see, whatever
    the history visibility.  Under joined visibility bob's first join and
    his leave are neither visible by the state at them nor current state:
    the initial sync's timeline holds them as /messages does (the sync's
    rows are read lazily, and the check once took their content for
    absent)."""
    alice, bob, _ = users
    room = alice.create("joined")
    bob.room_post(room, "join")
    bob.room_post(room, "leave")
    bob.room_post(room, "join")
    alice.send_text(room, "after")

    def own(events):
        return [e["content"]["membership"] for e in events
                if e["type"] == "m.room.member" and e["state_key"] == bob.user_id]
    status, page = bob.messages(room)
    assert status == 200, page
    assert own(reversed(page["chunk"])) == ["join", "leave", "join"]
    body = sync(bob)
    assert own(body["rooms"]["join"][room]["timeline"]["events"]) == ["join", "leave", "join"]


def test_sync_timeline_invited_from_the_invite(users):
    alice, bob, _ = users
    room = alice.create("invited")
    alice.send_text(room, "before invite")
    alice.room_post(room, "invite", bob.user_id)
    alice.send_text(room, "while invited")
    bob.room_post(room, "join")
    body = sync(bob)
    assert timeline_bodies(body["rooms"]["join"][room]) == ["while invited"]


def test_context_invited_from_the_invite(users):
    alice, bob, _ = users
    room = alice.create("invited")
    early = alice.send_text(room, "before invite")
    alice.room_post(room, "invite", bob.user_id)
    mid = alice.send_text(room, "while invited")
    bob.room_post(room, "join")
    status, body = bob.get(C + "/rooms/%s/context/%s" % (q(room), q(early)))
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    status, body = bob.get(C + "/rooms/%s/context/%s" % (q(room), q(mid)), limit="20")
    assert status == 200
    assert early not in [e["event_id"] for e in body["events_before"]]


def test_sync_timeline_shared_shows_history(users):
    alice, bob, _ = users
    room = alice.create("shared")
    alice.send_text(room, "before")
    bob.room_post(room, "join")
    body = sync(bob)
    assert timeline_bodies(body["rooms"]["join"][room]) == ["before"]


def test_sync_left_room_stops_at_leave(users):
    alice, bob, _ = users
    room = alice.create("shared")
    bob.room_post(room, "join")
    since = sync(bob)["next_batch"]
    alice.send_text(room, "while joined")
    bob.room_post(room, "leave")
    alice.send_text(room, "after leave")
    body = sync(bob, since=since)
    assert timeline_bodies(body["rooms"]["leave"][room]) == ["while joined"]
    full = sync(bob, filter=json.dumps({"room": {"include_leave": True}}))
    assert "after leave" not in timeline_bodies(full["rooms"]["leave"][room])


# ---- /search ------------------------------------------------------------

def search(user, term, **crit):
    crit["search_term"] = term
    status, body = user.call("POST", C + "/search",
                             {"search_categories": {"room_events": crit}})
    assert status == 200, body
    return body["search_categories"]["room_events"]


def test_search_hides_history_before_join(users, uniq):
    alice, bob, _ = users
    old, new = uniq("oldword"), uniq("newword")
    room = alice.create("joined")
    alice.send_text(room, old)
    bob.room_post(room, "join")
    alice.send_text(room, new)
    assert [r["result"]["content"]["body"] for r in search(bob, old)["results"]] == []
    assert [r["result"]["content"]["body"] for r in search(bob, new)["results"]] == [new]
    assert [r["result"]["content"]["body"] for r in search(alice, old)["results"]] == [old]
    # Context around a visible hit hides the rest.
    res = search(bob, new, event_context={"before_limit": 10, "after_limit": 10})
    ctx = res["results"][0]["context"]
    assert old not in [e["content"].get("body") for e in ctx["events_before"]]


def test_search_hidden_hits_do_not_shorten_the_page(users, uniq):
    alice, bob, _ = users
    word = uniq("pageword")
    room = alice.create("joined")
    for i in range(4):
        alice.send_text(room, "%s old %d" % (word, i))
    bob.room_post(room, "join")
    alice.send_text(room, "%s new" % word)
    res = search(bob, word, order_by="recent", filter={"limit": 1})
    assert [r["result"]["content"]["body"] for r in res["results"]] == ["%s new" % word]
    assert "next_batch" not in res


# ---- /state and /members as of the leave; world_readable ---------------

def test_state_and_members_as_of_leave(users):
    alice, bob, _ = users
    room = alice.create("shared")
    alice.ok("PUT", C + "/rooms/%s/state/m.room.name/" % q(room), {"name": "old name"})
    bob.room_post(room, "join")
    bob.room_post(room, "leave")
    alice.ok("PUT", C + "/rooms/%s/state/m.room.name/" % q(room), {"name": "new name"})
    status, body = bob.get(C + "/rooms/%s/state/m.room.name/" % q(room))
    assert status == 200 and body == {"name": "old name"}, body
    status, body = bob.get(C + "/rooms/%s/state" % q(room))
    assert status == 200
    names = [e["content"]["name"] for e in body if e["type"] == "m.room.name"]
    assert names == ["old name"]
    mine = [e for e in body if e["type"] == "m.room.member" and e["state_key"] == bob.user_id]
    assert mine[0]["content"]["membership"] == "leave"
    status, body = bob.get(C + "/rooms/%s/members" % q(room))
    assert status == 200
    ms = {e["state_key"]: e["content"]["membership"] for e in body["chunk"]}
    assert ms[bob.user_id] == "leave" and ms[alice.user_id] == "join"
    # joined_members is for current members, as in Synapse.
    status, body = bob.get(C + "/rooms/%s/joined_members" % q(room))
    assert (status, body["errcode"]) == (403, "M_FORBIDDEN")


def test_banned_user_reads_nothing(users):
    """As Synapse: a banned user is no former member for reading."""
    alice, bob, _ = users
    room = alice.create("shared")
    bob.room_post(room, "join")
    alice.send_text(room, "while joined")
    alice.ok("POST", C + "/rooms/%s/ban" % q(room), {"user_id": bob.user_id})
    for path in ("/messages", "/state", "/members"):
        status, body = bob.get(C + "/rooms/%s%s" % (q(room), path))
        assert (status, body["errcode"]) == (403, "M_FORBIDDEN"), path


def test_state_and_members_world_readable(users):
    alice, _, carol = users
    room = alice.create("world_readable")
    status, body = carol.get(C + "/rooms/%s/state" % q(room))
    assert status == 200 and any(e["type"] == "m.room.create" for e in body)
    status, body = carol.get(C + "/rooms/%s/state/m.room.history_visibility/" % q(room))
    assert status == 200 and body == {"history_visibility": "world_readable"}
    status, body = carol.get(C + "/rooms/%s/members" % q(room))
    assert status == 200
    assert [e["state_key"] for e in body["chunk"]] == [alice.user_id]
    status, body = carol.get(C + "/rooms/%s/joined_members" % q(room))
    assert status == 200 and list(body["joined"]) == [alice.user_id]
    closed = alice.create("shared")
    for path in ("/state", "/state/m.room.create/", "/members", "/joined_members"):
        status, body = carol.get(C + "/rooms/%s%s" % (q(closed), path))
        assert (status, body["errcode"]) == (403, "M_FORBIDDEN"), path


# ---- /relations, /threads, /timestamp_to_event, /notifications ---------

def test_relations_and_threads_hide_history_before_join(users):
    alice, bob, _ = users
    room = alice.create("joined")
    old_root = alice.send_text(room, "old root")
    alice.send_text(room, "old reply", **in_thread(old_root))
    bob.room_post(room, "join")
    root = alice.send_text(room, "new root")
    alice.send_text(room, "new reply", **in_thread(root))
    status, body = bob.get(V1 + "/rooms/%s/relations/%s" % (q(room), q(old_root)))
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    status, body = bob.get(V1 + "/rooms/%s/relations/%s" % (q(room), q(root)))
    assert status == 200 and [e["content"]["body"] for e in body["chunk"]] == ["new reply"]
    status, body = bob.get(V1 + "/rooms/%s/threads" % q(room))
    assert status == 200
    assert [e["event_id"] for e in body["chunk"]] == [root]


def test_relations_children_hidden_after_leave(users):
    alice, bob, _ = users
    room = alice.create("shared")
    bob.room_post(room, "join")
    root = alice.send_text(room, "root")
    alice.send_text(room, "early", **in_thread(root))
    bob.room_post(room, "leave")
    alice.send_text(room, "late", **in_thread(root))
    status, body = bob.get(V1 + "/rooms/%s/relations/%s" % (q(room), q(root)))
    assert status == 200 and [e["content"]["body"] for e in body["chunk"]] == ["early"]


def test_bundles_hide_children_after_leave(users):
    """An edit or thread reply sent after a former member left is not
    bundled into the events they can still read."""
    alice, bob, _ = users
    room = alice.create("shared")
    bob.room_post(room, "join")
    root = alice.send_text(room, "root")
    edited = alice.send_text(room, "typo")
    bob.room_post(room, "leave")
    alice.send_text(room, "reply", **in_thread(root))
    alice.txn += 1
    alice.ok("PUT", C + "/rooms/%s/send/m.room.message/v%d" % (q(room), alice.txn), {
        "msgtype": "m.text", "body": "* fixed",
        "m.new_content": {"msgtype": "m.text", "body": "fixed"},
        "m.relates_to": {"rel_type": "m.replace", "event_id": edited}})
    mine = {e["event_id"]: e for e in alice.messages(room)[1]["chunk"]}
    assert "m.thread" in mine[root]["unsigned"]["m.relations"]
    assert "m.replace" in mine[edited]["unsigned"]["m.relations"]
    status, body = bob.messages(room)
    assert status == 200
    seen = {e["event_id"]: e for e in body["chunk"]}
    assert "m.relations" not in seen[root].get("unsigned", {})
    assert "m.relations" not in seen[edited].get("unsigned", {})


def test_timestamp_to_event_skips_hidden_events(users):
    alice, bob, _ = users
    room = alice.create("joined")
    hidden = [alice.send_text(room, "before %d" % i) for i in range(3)]
    bob.room_post(room, "join")
    after = alice.send_text(room, "after")
    ts = alice.get(C + "/rooms/%s/event/%s" % (q(room), q(hidden[-1])))[1]["origin_server_ts"]
    path = V1 + "/rooms/%s/timestamp_to_event" % q(room)
    status, body = alice.get(path, ts=str(ts), dir="f")
    assert status == 200 and body["event_id"] in hidden
    # bob gets the first event at or after ts that he may see: not one of alice's.
    status, body = bob.get(path, ts=str(ts), dir="f")
    assert status == 200 and body["event_id"] not in hidden
    status, ev = bob.get(C + "/rooms/%s/event/%s" % (q(room), q(body["event_id"])))
    assert status == 200, ev
    status, body = bob.get(path, ts=str(2 ** 53), dir="b")
    assert status == 200 and body["event_id"] == after
    status, body = bob.get(path, ts=str(ts), dir="b")
    assert status == 200 and body["event_id"] not in hidden


def test_notifications_still_listed(users):
    """Notifications are of events the user was joined for: all kept."""
    alice, bob, _ = users
    room = alice.create("joined")
    bob.room_post(room, "join")
    ev = alice.send_text(room, "hello %s" % bob.user_id)
    status, body = bob.get(C + "/notifications")
    assert status == 200
    assert ev in [n["event"]["event_id"] for n in body["notifications"]]
