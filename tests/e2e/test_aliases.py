"""Room aliases as Synapse 1.67 keeps them: who may create and delete one,
the spec's alias grammar, m.room.canonical_alias content checked against
the directory (state PUT and createRoom's initial_state), the canonical
alias emptied when its alias is deleted, M_INVALID_ROOM_STATE for refused
initial state, and server admins reading a room's aliases (synadm).  Raw
HTTP throughout: status and errcode are what clients act on."""
import json
import os
import subprocess

import pytest

from conftest import C, User, admin_login, q

CANON = "m.room.canonical_alias"


class AliasUser(User):
    """The alias calls of a user: (status, body)."""

    def put_alias(self, alias, room):
        return self.call("PUT", "/directory/room/" + q(alias), {"room_id": room})

    def del_alias(self, alias):
        return self.call("DELETE", "/directory/room/" + q(alias))

    def aliases(self, room):
        return self.call("GET", "/rooms/%s/aliases" % q(room))


def err(result):
    status, body = result
    return status, (body or {}).get("errcode")


@pytest.fixture
def mk(stack, uniq):
    """mk() registers a fresh user; mk(admin=True) a server admin."""
    def make(admin=False):
        name = uniq("al")
        if admin:
            return AliasUser(stack, admin_login(stack, name, "pw-" + name))
        return AliasUser(stack, stack.register(name, "pw-" + name))
    return make


def alias_of(stack, uniq, prefix="a"):
    return "#%s:%s" % (uniq(prefix), stack.server_name)


def resolves(stack, alias):
    status, body = stack.request("GET", C + "/directory/room/" + q(alias))
    return body["room_id"] if status == 200 else status


def test_create_needs_joined_member(stack, uniq, mk):
    """Synapse (require_membership_for_aliases, on by default): a joined
    member may add an alias, whatever their power; others get 403 and
    nothing is stored; a server admin needs no membership."""
    alice, bob, admin = mk(), mk(), mk(admin=True)
    room = alice.create_room(preset="private_chat")
    a = alias_of(stack, uniq)
    assert err(bob.put_alias(a, room)) == (403, "M_FORBIDDEN")
    assert resolves(stack, a) == 404
    # Invited is not joined.
    alice.ok("POST", "/rooms/%s/invite" % q(room), {"user_id": bob.user_id})
    assert err(bob.put_alias(a, room)) == (403, "M_FORBIDDEN")
    assert resolves(stack, a) == 404
    bob.join(room)
    assert bob.put_alias(a, room) == (200, {})
    assert resolves(stack, a) == room
    # A member who left is no member.
    b2 = alias_of(stack, uniq)
    bob.ok("POST", "/rooms/%s/leave" % q(room), {})
    assert err(bob.put_alias(b2, room)) == (403, "M_FORBIDDEN")
    # The server admin, not in the room.
    assert admin.put_alias(b2, room) == (200, {})
    assert resolves(stack, b2) == room
    # Unknown room, taken alias.
    c = alias_of(stack, uniq)
    assert err(alice.put_alias(c, "!nosuch:" + stack.server_name)) == (404, "M_NOT_FOUND")
    assert err(alice.put_alias(a, room)) == (409, "M_UNKNOWN")
    assert err(alice.call("PUT", "/directory/room/" + q(c), {"room_id": 5})) == \
        (400, "M_BAD_JSON")
    assert err(alice.call("PUT", "/directory/room/" + q(c), {})) == (400, "M_MISSING_PARAM")


def test_alias_grammar(stack, uniq, mk):
    """Spec: appendices, "Room aliases": #localpart:server_name, at most
    255 bytes, the server name by its grammar; creation only on this
    server.  Anything else is 400 M_INVALID_PARAM and nothing is stored."""
    alice = mk()
    room = alice.create_room()
    sn = stack.server_name
    bad = ["nosigil:" + sn, "#nocolon", "#:" + sn, "%s:%s" % ("%x", sn), "#a:",
           "#a:bad_host", "#a:host name", "#a:" + sn + ":123456", "#a:" + sn + ":",
           "#a:" + sn + ":8x", "#a:[::1", "#a:[zz]", "#a:[::1]x",
           "#" + "x" * 250 + ":" + sn]
    # Valid by the grammar, refused for a new alias (as Synapse): whitespace
    # and control characters, another server.
    not_here = ["#a b:" + sn, "#a\tb:" + sn, "#a\nb:" + sn, "#a\x7fb:" + sn,
                "#a:other.example"]
    for alias in bad + not_here:
        assert err(alice.put_alias(alias, room)) == (400, "M_INVALID_PARAM"), alias
    listed = alice.ok("GET", "/rooms/%s/aliases" % q(room))
    assert listed == {"aliases": []}
    for alias in bad:
        assert err(stack.request("GET", C + "/directory/room/" + q(alias))) == \
            (400, "M_INVALID_PARAM"), alias
        assert err(alice.del_alias(alias)) == (400, "M_INVALID_PARAM"), alias
    for alias in not_here:
        # Another server's alias is asked of that server: one that cannot
        # be reached is 502, as Synapse answers "Failed to fetch alias".
        want = (502, "M_UNKNOWN") if alias.endswith(":other.example") else (404, "M_NOT_FOUND")
        assert err(stack.request("GET", C + "/directory/room/" + q(alias))) == want, alias
        assert err(alice.del_alias(alias)) == (404, "M_NOT_FOUND"), alias
    # Invalid UTF-8 in the path: refused, not stored (the list stays readable).
    status, _ = alice.stack.request("PUT", C + "/directory/room/%23x%FF%3A" + sn,
                                    {"room_id": room}, token=alice.token)
    assert status == 400
    assert alice.ok("GET", "/rooms/%s/aliases" % q(room)) == {"aliases": []}
    # Good ones: Unicode (SyTest's "#\u2615"), ports, IP literals, 255 bytes.
    good = ["#\u2615%s:%s" % (uniq(""), sn)]
    longest = "#%s:%s" % (uniq("m"), sn)
    good.append(longest[:1] + "x" * (255 - len(longest)) + longest[1:])
    for alias in good:
        assert alice.put_alias(alias, room) == (200, {}), alias
        assert resolves(stack, alias) == room
    # A remote alias is valid, and asked of its server: these cannot be
    # reached (a name that never resolves; loopback, which outbound
    # requests may not reach here), so 502 rather than 400.
    for alias in ["#a:example.invalid:8448", "#a:[::1]:8448", "#a:127.0.0.1", "#a:[::1]"]:
        assert err(stack.request("GET", C + "/directory/room/" + q(alias))) == \
            (502, "M_UNKNOWN"), alias


def test_delete_by_creator_admin_or_power(stack, uniq, mk):
    """Synapse: the alias's creator, a server admin, or a joined member who
    may send m.room.canonical_alias deletes an alias; anyone else gets
    403 (SyTest: "Users with sufficient power-level can delete other's
    aliases", "Alias creators can delete alias with no ops")."""
    alice, bob, carol, dave, admin = mk(), mk(), mk(), mk(), mk(admin=True)
    room = alice.create_room(preset="public_chat", room_version="10")
    bob.join(room)
    carol.join(room)
    mine, bobs, other = (alias_of(stack, uniq) for _ in range(3))
    assert alice.put_alias(mine, room) == (200, {})
    assert bob.put_alias(bobs, room) == (200, {})
    assert bob.put_alias(other, room) == (200, {})
    # carol, joined with power 0; dave, not in the room.
    assert err(carol.del_alias(mine)) == (403, "M_FORBIDDEN")
    assert err(dave.del_alias(mine)) == (403, "M_FORBIDDEN")
    assert resolves(stack, mine) == room
    # alice may send the canonical alias (power 100): bob's alias goes.
    assert alice.del_alias(bobs) == (200, {})
    assert resolves(stack, bobs) == 404
    assert err(alice.del_alias(bobs)) == (404, "M_NOT_FOUND")
    # bob, power 0, created this one.
    assert bob.del_alias(other) == (200, {})
    # carol gets the power: now she may.
    pl = alice.state(room, "m.room.power_levels")[1]
    pl["users"][carol.user_id] = 50
    assert alice.put_state(room, "m.room.power_levels", pl)[0] == 200
    assert carol.del_alias(mine) == (200, {})
    # A server admin, not in the room.
    last = alias_of(stack, uniq)
    assert alice.put_alias(last, room) == (200, {})
    assert admin.del_alias(last) == (200, {})
    assert alice.ok("GET", "/rooms/%s/aliases" % q(room)) == {"aliases": []}
    # A creator who left may still delete theirs (Synapse checks only the creator).
    gone = alias_of(stack, uniq)
    assert bob.put_alias(gone, room) == (200, {})
    bob.ok("POST", "/rooms/%s/leave" % q(room), {})
    assert bob.del_alias(gone) == (200, {})


def test_delete_empties_canonical_alias(stack, uniq, mk):
    """Synapse: deleting an alias that is the room's canonical alias or one
    of its alt_aliases sends a new m.room.canonical_alias without it, as
    the deleting user; when they may not send it, the alias is deleted all
    the same (the spec recommends so) and the state stays."""
    alice, bob = mk(), mk()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    main, alt1, alt2 = (alias_of(stack, uniq) for _ in range(3))
    for a in (main, alt1, alt2):
        assert alice.put_alias(a, room) == (200, {})
    content = {"alias": main, "alt_aliases": [alt1, alt2], "x.other": 1}
    assert alice.put_state(room, CANON, content)[0] == 200
    assert alice.del_alias(main) == (200, {})
    assert alice.state(room, CANON) == (200, {"alt_aliases": [alt1, alt2], "x.other": 1})
    assert alice.del_alias(alt1) == (200, {})
    assert alice.state(room, CANON) == (200, {"alt_aliases": [alt2], "x.other": 1})
    assert alice.del_alias(alt2) == (200, {})
    assert alice.state(room, CANON) == (200, {"x.other": 1})
    # An alias the event does not name: no new event.
    before = alice.ok("GET", "/rooms/%s/messages?dir=b&limit=1" % q(room))["chunk"]
    spare = alias_of(stack, uniq)
    assert alice.put_alias(spare, room) == (200, {})
    assert alice.del_alias(spare) == (200, {})
    after = alice.ok("GET", "/rooms/%s/messages?dir=b&limit=1" % q(room))["chunk"]
    assert [e["event_id"] for e in after] == [e["event_id"] for e in before]
    # bob (power 0) made the canonical alias and deletes it: deleted, state unchanged.
    bobs = alias_of(stack, uniq)
    assert bob.put_alias(bobs, room) == (200, {})
    assert alice.put_state(room, CANON, {"alias": bobs})[0] == 200
    assert bob.del_alias(bobs) == (200, {})
    assert resolves(stack, bobs) == 404
    assert alice.state(room, CANON) == (200, {"alias": bobs})
    # The stale alias does not block later changes that keep it (only new
    # aliases are checked, as in Synapse).
    fresh = alias_of(stack, uniq)
    assert alice.put_alias(fresh, room) == (200, {})
    assert alice.put_state(room, CANON, {"alias": bobs, "alt_aliases": [fresh]})[0] == 200


def test_canonical_alias_content_checked(stack, uniq, mk):
    """Spec: m.room.canonical_alias; Synapse 1.67: a new alias or alt
    alias must be a valid alias (else 400 M_INVALID_PARAM) that points at
    this room (else 400 M_BAD_ALIAS); alt_aliases must be a list.  Remote
    aliases cannot be resolved without federation and are taken when
    valid.  The auth rules come first: 403 before 400."""
    alice, bob = mk(), mk()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    here, elsewhere = alias_of(stack, uniq), alias_of(stack, uniq)
    other_room = alice.create_room()
    assert alice.put_alias(here, room) == (200, {})
    assert alice.put_alias(elsewhere, other_room) == (200, {})
    missing = "#not-" + here[1:]
    cases = [
        ({"alias": missing}, (400, "M_BAD_ALIAS")),
        ({"alias": elsewhere}, (400, "M_BAD_ALIAS")),
        ({"alias": "%" + here[1:]}, (400, "M_INVALID_PARAM")),
        ({"alias": "#nocolon"}, (400, "M_INVALID_PARAM")),
        ({"alias": 5}, (400, "M_INVALID_PARAM")),
        ({"alias": here, "alt_aliases": [missing]}, (400, "M_BAD_ALIAS")),
        ({"alias": here, "alt_aliases": [elsewhere]}, (400, "M_BAD_ALIAS")),
        ({"alias": here, "alt_aliases": ["%" + here[1:]]}, (400, "M_INVALID_PARAM")),
        ({"alias": here, "alt_aliases": [here, 7]}, (400, "M_INVALID_PARAM")),
        ({"alias": here, "alt_aliases": here}, (400, "M_INVALID_PARAM")),
        ({"alt_aliases": {"a": here}}, (400, "M_INVALID_PARAM")),
    ]
    for content, want in cases:
        assert err(alice.put_state(room, CANON, content)) == want, content
    assert alice.state(room, CANON)[0] == 404      # nothing was stored
    # bob may not send it at all: 403 whatever the content.
    assert err(bob.put_state(room, CANON, {"alias": missing})) == (403, "M_FORBIDDEN")
    # Accepted: present aliases, empty content, remote aliases by syntax.
    for content in [{"alias": here}, {"alias": here, "alt_aliases": [here]}, {},
                    {"alias": "#far:example.org", "alt_aliases": ["#far2:example.org:8448"]},
                    {"alias": None}, {"alias": ""}, {"alt_aliases": []}]:
        assert alice.put_state(room, CANON, content)[0] == 200, content
        assert alice.state(room, CANON) == (200, content)


def test_create_room_refused_state(stack, mk):
    """Spec: POST /createRoom: initial state the auth rules refuse is 400
    M_INVALID_ROOM_STATE ("the user's power_level is set below that
    necessary to set the room name"), and no room is left behind;
    malformed initial_state stays M_BAD_JSON."""
    alice = mk()
    before = alice.ok("GET", "/joined_rooms")["joined_rooms"]
    # v10: creators are not above the levels, so this one may not set the join rules.
    assert err(alice.call("POST", "/createRoom", {
        "room_version": "10", "power_level_content_override": {"users": {alice.user_id: 0}}})) \
        == (400, "M_INVALID_ROOM_STATE")
    assert err(alice.call("POST", "/createRoom", {"initial_state": [
        {"type": "m.room.member", "state_key": "@someone:" + stack.server_name,
         "content": {"membership": "join"}}]})) == (400, "M_INVALID_ROOM_STATE")
    assert alice.ok("GET", "/joined_rooms")["joined_rooms"] == before
    assert err(alice.call("POST", "/createRoom", {"initial_state": [{"type": 5}]})) == \
        (400, "M_BAD_JSON")


def test_create_room_canonical_alias(stack, uniq, mk):
    """createRoom's initial_state is checked like a state PUT: a canonical
    alias naming room_alias_name's alias is fine, a missing one 400
    M_BAD_ALIAS, and then neither room nor alias stays."""
    alice = mk()
    local = uniq("cr")
    alias = "#%s:%s" % (local, stack.server_name)
    before = alice.ok("GET", "/joined_rooms")["joined_rooms"]
    bad = {"type": CANON, "content": {"alias": "#not-%s:%s" % (local, stack.server_name)}}
    assert err(alice.call("POST", "/createRoom", {"initial_state": [bad]})) == \
        (400, "M_BAD_ALIAS")
    assert err(alice.call("POST", "/createRoom", {
        "room_alias_name": local, "initial_state": [bad]})) == (400, "M_BAD_ALIAS")
    assert resolves(stack, alias) == 404
    assert alice.ok("GET", "/joined_rooms")["joined_rooms"] == before
    good = {"type": CANON, "content": {"alias": alias, "alt_aliases": [alias]}}
    room = alice.create_room(room_alias_name=local, initial_state=[good])
    assert resolves(stack, alias) == room
    assert alice.state(room, CANON) == (200, {"alias": alias, "alt_aliases": [alias]})


def test_room_aliases_readers(stack, uniq, mk):
    """Spec: GET /rooms/{roomId}/aliases: members, anyone when the history
    is world_readable, and (as Synapse) server admins; others 403."""
    alice, bob, admin = mk(), mk(), mk(admin=True)
    room = alice.create_room(preset="private_chat")
    a = alias_of(stack, uniq)
    assert alice.put_alias(a, room) == (200, {})
    assert alice.aliases(room) == (200, {"aliases": [a]})
    assert err(bob.aliases(room)) == (403, "M_FORBIDDEN")
    assert admin.aliases(room) == (200, {"aliases": [a]})
    assert alice.put_state(room, "m.room.history_visibility",
                           {"history_visibility": "world_readable"})[0] == 200
    assert bob.aliases(room) == (200, {"aliases": [a]})


def test_synadm_deactivate_user_in_rooms(stack, uniq, mk, tmp_path):
    """synadm user deactivate lists the user's rooms with their aliases
    through GET /rooms/{id}/aliases as the admin, who is in none of them."""
    admin, victim = mk(admin=True), mk()
    room = victim.create_room(preset="private_chat")
    assert victim.put_alias(alias_of(stack, uniq), room) == (200, {})
    conf = tmp_path / "synadm.yaml"
    conf.write_text(json.dumps({
        "user": admin.user_id, "token": admin.token, "base_url": stack.base,
        "admin_path": "/_synapse/admin", "matrix_path": "/_matrix", "timeout": 30,
        "server_discovery": "well-known", "homeserver": stack.server_name,
        "format": "json", "ssl_verify": True}))
    r = subprocess.run(["synadm", "--batch", "-o", "json", "-c", str(conf), "user",
                        "deactivate", victim.user_id], capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, HOME=str(tmp_path)))
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert '"id_server_unbind_result": "success"' in r.stdout
    assert victim.call("GET", "/account/whoami")[0] == 401
