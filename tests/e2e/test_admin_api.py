"""myelin-admin-api on a live stack: Synapse's admin API paths, parameters
and JSON shapes, only for server admins; and synadm, Synapse's own admin
command line tool (Debian package), driving it."""
import json
import os
import re
import subprocess

import pytest

from conftest import ROOT, User, admin_login, q

A1 = "/_synapse/admin/v1"
A2 = "/_synapse/admin/v2"


@pytest.fixture(scope="module")
def admin(stack):
    """A server admin made with myelin-admin, logged in."""
    return User(stack, admin_login(stack, "apiadm%d" % os.getpid(), "pw-admin"))


def messages(user, room_id):
    status, resp = user.get("/rooms/%s/messages" % q(room_id), dir="b", limit=50)
    assert status == 200, resp
    return resp["chunk"]


# -- who may call it -----------------------------------------------------------

def admin_routes():
    """[(METHOD, path, auth)] from the route table of myelin-admin-api."""
    with open(os.path.join(ROOT, "handlers", "admin-api", "main.c")) as f:
        src = f.read()
    macros = dict(re.findall(r'^#define\s+(\w+)\s+"([^"]*)"', src, re.M))
    routes = []
    for method, expr, auth in re.findall(
            r'\{\s*MM_([A-Z]+)\s*,\s*((?:(?:\w+|"[^"]*")\s*)+),\s*(MAUTH_\w+)', src):
        path = "".join(lit if lit else macros[n] for lit, n in re.findall(r'"([^"]*)"|(\w+)', expr))
        routes.append((method, path, auth))
    assert len(routes) > 30
    return routes


def concrete(path):
    return (path.replace("{userId}", q("@someone:localhost"))
            .replace("{roomId}", q("!someroom:localhost"))
            .replace("{deleteId}", "abc").replace("{token}", "tok")
            .replace("{reportId}", "1"))


def test_non_admin_forbidden_everywhere(stack, account):
    """Every admin-only route answers 403 M_FORBIDDEN to a user who is not
    a server admin, and 401 without a token; nothing is changed."""
    checked = 0
    for method, path, auth in admin_routes():
        if auth != "MAUTH_ADMIN":
            continue
        body = {} if method in ("PUT", "POST", "DELETE") else None
        status, resp = stack.request(method, concrete(path), body, token=account["access_token"])
        assert (status, resp["errcode"]) == (403, "M_FORBIDDEN"), (method, path, resp)
        status, resp = stack.request(method, concrete(path), body)
        assert (status, resp["errcode"]) == (401, "M_MISSING_TOKEN"), (method, path, resp)
        checked += 1
    assert checked >= 30


def test_public_routes_and_unknown_paths(stack, admin, account):
    """The version is public, as in Synapse; unknown admin paths are 404."""
    status, body = stack.request("GET", A1 + "/server_version")
    assert status == 200 and body["server_version"].startswith("myelin")
    for token in (admin.token, account["access_token"]):
        status, body = stack.request("GET", A1 + "/no_such_thing", token=token)
        assert (status, body["errcode"]) == (404, "M_UNRECOGNIZED")


# -- users ---------------------------------------------------------------------

def test_users_list(stack, admin, uniq):
    prefix = uniq("lst")
    names = [prefix + c for c in "abc"]
    for n in names:
        stack.register(n, "pw-list")
    status, body = admin.call("GET", A2 + "/users?name=%s&limit=2" % prefix)
    assert status == 200, body
    assert body["total"] == 3 and body["next_token"] == "2"
    assert [u["name"] for u in body["users"]] == ["@%s:localhost" % n for n in names[:2]]
    u = body["users"][0]
    for k in ("is_guest", "admin", "deactivated", "erased", "shadow_banned", "locked"):
        assert u[k] is False, k
    assert u["displayname"] == names[0] and isinstance(u["creation_ts"], int)
    status, body = admin.call("GET", A2 + "/users?name=%s&from=2" % prefix)
    assert [u["name"] for u in body["users"]] == ["@%s:localhost" % names[2]]
    assert "next_token" not in body
    status, body = admin.call("GET",
                              A2 + "/users?name=%s&order_by=creation_ts&dir=b" % prefix)
    assert [u["name"] for u in body["users"]] == ["@%s:localhost" % n for n in reversed(names)]
    status, body = admin.call("GET", A2 + "/users?user_id=%s" % q(names[1]))
    assert [u["name"] for u in body["users"]] == ["@%s:localhost" % names[1]]
    status, body = admin.call("GET", A2 + "/users?admins=true&limit=1000")
    assert admin.user_id in [u["name"] for u in body["users"]]
    assert all(u["admin"] for u in body["users"])
    # Deactivated users are left out unless asked for.
    admin.call("POST", A1 + "/deactivate/" + q("@%s:localhost" % names[0]), {})
    status, body = admin.call("GET", A2 + "/users?name=%s" % prefix)
    assert body["total"] == 2
    status, body = admin.call("GET", A2 + "/users?name=%s&deactivated=true" % prefix)
    assert body["total"] == 3
    # LIKE's wildcards are matched as themselves.
    status, body = admin.call("GET", A2 + "/users?name=%25&user_id=%25")
    assert (status, body["total"]) == (200, 0)
    for bad in ("order_by=nope", "dir=x", "from=-1", "limit=z", "guests=maybe"):
        status, body = admin.call("GET", A2 + "/users?" + bad)
        assert (status, body["errcode"]) == (400, "M_INVALID_PARAM"), bad


def test_user_create_and_modify(stack, admin, uniq):
    name = uniq("put")
    uid = "@%s:localhost" % name
    status, body = admin.call("GET", A2 + "/users/" + q(uid))
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    status, body = admin.call("PUT", A2 + "/users/" + q(uid),
                              {"password": "pw-put-1", "displayname": "Put Me", "admin": False,
                               "user_type": "bot", "threepids": []})
    assert status == 201, body
    assert (body["name"], body["displayname"], body["user_type"]) == (uid, "Put Me", "bot")
    assert body["threepids"] == [] and body["external_ids"] == []
    status, login = stack.login(name, "pw-put-1")
    assert status == 200, login
    status, body = admin.call("PUT", A2 + "/users/" + q(uid),
                              {"displayname": "", "avatar_url": "mxc://localhost/abc",
                               "admin": True, "user_type": None})
    assert status == 200, body
    assert body["displayname"] is None and body["avatar_url"] == "mxc://localhost/abc"
    assert body["admin"] is True and body["user_type"] is None
    status, body = admin.call("GET", A2 + "/users/" + q(uid))
    assert (status, body["admin"], body["last_seen_ts"] is not None) == (200, True, True)
    for bad in ({"threepids": [{"medium": "email", "address": "a@b.c"}]},
                {"admin": "yes"}, {"user_type": "wizard"}, {"avatar_url": "http://x/y"}):
        status, resp = admin.call("PUT", A2 + "/users/" + q(uid), bad)
        assert (status, resp["errcode"]) == (400, "M_INVALID_PARAM"), bad
    status, resp = admin.call("PUT", A2 + "/users/" + q("@Upper:localhost"), {})
    assert (status, resp["errcode"]) == (400, "M_INVALID_USERNAME")
    status, resp = admin.call("GET", A2 + "/users/" + q("@x:elsewhere.example"))
    assert (status, resp["errcode"]) == (400, "M_UNKNOWN")
    status, resp = admin.call("GET", A2 + "/users/" + q("not-an-id"))
    assert (status, resp["errcode"]) == (400, "M_INVALID_PARAM")


def test_deactivate_and_reactivate(stack, admin, uniq):
    name = uniq("deact")
    user = stack.register(name, "pw-deact")
    room = admin.create_room(preset="public_chat")
    User(stack, user).join(room)
    status, body = admin.call("POST", A1 + "/deactivate/" + q(user["user_id"]),
                              {"erase": True})
    assert (status, body) == (200, {"id_server_unbind_result": "success"})
    status, body = stack.request("GET", "/_matrix/client/v3/account/whoami",
                                 token=user["access_token"])
    assert status == 401
    status, body = stack.login(name, "pw-deact")
    assert status == 403, body
    status, body = admin.call("GET", A2 + "/users/" + q(user["user_id"]))
    assert (body["deactivated"], body["erased"], body["displayname"]) == (True, True, None)
    # It left the room it was in.
    status, body = admin.call("GET", A1 + "/rooms/%s/members" % q(room))
    assert user["user_id"] not in body["members"]
    status, body = admin.call("GET", A1 + "/users/%s/joined_rooms" % q(user["user_id"]))
    assert body == {"joined_rooms": [], "total": 0}
    # Reactivation needs a password, as in Synapse.
    status, body = admin.call("PUT", A2 + "/users/" + q(user["user_id"]),
                              {"deactivated": False})
    assert (status, body["errcode"]) == (400, "M_UNKNOWN")
    status, body = admin.call("PUT", A2 + "/users/" + q(user["user_id"]),
                              {"deactivated": False, "password": "pw-back"})
    assert (status, body["deactivated"], body["erased"]) == (200, False, False)
    assert stack.login(name, "pw-back")[0] == 200
    # PUT deactivated: true deactivates too.
    status, body = admin.call("PUT", A2 + "/users/" + q(user["user_id"]),
                              {"deactivated": True})
    assert (status, body["deactivated"]) == (200, True)
    status, body = admin.call("POST", A1 + "/deactivate/" + q("@nobody-here:localhost"), {})
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")


def test_reset_password(stack, admin, uniq):
    name = uniq("reset")
    user = stack.register(name, "pw-old")
    path = A1 + "/reset_password/" + q(user["user_id"])
    status, body = admin.call("POST", path, {"new_password": "pw-new",
                                             "logout_devices": False})
    assert (status, body) == (200, {})
    assert stack.login(name, "pw-old")[0] == 403
    status, keep = stack.login(name, "pw-new")
    assert status == 200
    assert stack.request("GET", "/_matrix/client/v3/account/whoami",
                         token=keep["access_token"])[0] == 200
    status, body = admin.call("POST", path, {"new_password": "pw-newer"})
    assert status == 200
    # logout_devices defaults to true: every session ended.
    assert stack.request("GET", "/_matrix/client/v3/account/whoami",
                         token=keep["access_token"])[0] == 401
    assert stack.login(name, "pw-newer")[0] == 200
    status, body = admin.call("POST", path, {})
    assert (status, body["errcode"]) == (400, "M_MISSING_PARAM")


def test_whois_joined_rooms_media(stack, admin, account):
    uid = account["user_id"]
    status, body = admin.call("GET", A1 + "/whois/" + q(uid))
    assert status == 200 and body["user_id"] == uid
    conns = body["devices"][""]["sessions"][0]["connections"]
    assert conns and conns[0]["ip"] == "127.0.0.1" and conns[0]["last_seen"] > 0
    room = User(stack, account).create_room(preset="public_chat")
    status, body = admin.call("GET", A1 + "/users/%s/joined_rooms" % q(uid))
    assert (status, body["joined_rooms"], body["total"]) == (200, [room], 1)
    status, body = admin.call("GET", A1 + "/users/%s/media" % q(uid))
    assert (status, body) == (200, {"media": [], "total": 0})
    status, body = admin.call("GET", A1 + "/users/%s/media" % q("@ghost:localhost"))
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")


def test_user_pushers(stack, admin, account):
    """Synapse's GET /users/{userId}/pushers: {pushers, total}, each as the
    user's own GET /pushers shows it."""
    uid = account["user_id"]
    path = A1 + "/users/%s/pushers" % q(uid)
    assert admin.call("GET", path) == (200, {"pushers": [], "total": 0})
    pusher = {"kind": "http", "app_id": "org.example.app", "pushkey": "pk-" + uid,
              "app_display_name": "Example", "device_display_name": "Phone",
              "lang": "en", "data": {"url": "https://push.example.org/_matrix/push/v1/notify"}}
    user = User(stack, account)
    user.ok("POST", "/pushers/set", pusher)
    own = user.ok("GET", "/pushers")["pushers"]
    status, body = admin.call("GET", path)
    assert (status, body["total"], body["pushers"]) == (200, 1, own)
    assert body["pushers"][0]["pushkey"] == "pk-" + uid
    assert body["pushers"][0]["data"]["url"] == pusher["data"]["url"]
    for who, want in (("@ghost:localhost", (404, "M_NOT_FOUND")),
                      ("@someone:elsewhere.example", (400, "M_UNKNOWN")),
                      ("nobody", (400, "M_INVALID_PARAM"))):
        status, body = admin.call("GET", A1 + "/users/%s/pushers" % q(who))
        assert (status, body["errcode"]) == want, who


def test_user_admin_flag(stack, admin, account):
    path = A1 + "/users/%s/admin" % q(account["user_id"])
    assert admin.call("GET", path) == (200, {"admin": False})
    assert admin.call("PUT", path, {"admin": True}) == (200, {})
    assert admin.call("GET", path) == (200, {"admin": True})
    # Now an admin, the account may use the admin API.
    status, _ = stack.request("GET", A2 + "/users", token=account["access_token"])
    assert status == 200
    assert admin.call("PUT", path, {"admin": False}) == (200, {})
    status, body = stack.request("GET", A2 + "/users", token=account["access_token"])
    assert (status, body["errcode"]) == (403, "M_FORBIDDEN")
    status, body = admin.call("PUT", A1 + "/users/%s/admin" % q(admin.user_id), {"admin": False})
    assert (status, body["errcode"]) == (400, "M_UNKNOWN")
    status, body = admin.call("PUT", path, {})
    assert (status, body["errcode"]) == (400, "M_MISSING_PARAM")


def test_login_as(stack, admin, account):
    status, body = admin.call("POST", A1 + "/users/%s/login" % q(account["user_id"]), {})
    assert status == 200, body
    tok = body["access_token"]
    status, who = stack.request("GET", "/_matrix/client/v3/account/whoami", token=tok)
    assert (status, who["user_id"]) == (200, account["user_id"])
    # Synapse: no device shows for it.
    status, devs = stack.request("GET", "/_matrix/client/v3/devices",
                                 token=account["access_token"])
    assert who["device_id"] not in [d["device_id"] for d in devs["devices"]]
    assert stack.request("POST", "/_matrix/client/v3/logout", {}, token=tok)[0] == 200
    assert stack.request("GET", "/_matrix/client/v3/account/whoami", token=tok)[0] == 401
    status, body = admin.call("POST", A1 + "/users/%s/login" % q(admin.user_id), {})
    assert (status, body["errcode"]) == (400, "M_UNKNOWN")


def test_shadow_ban(stack, admin, uniq):
    """Synapse semantics: the banned user's sends answer 200 with an event
    ID, and nobody receives them; joining still works."""
    banned = stack.register(uniq("shadow"), "pw-shadow")
    room = admin.create_room(preset="public_chat")
    User(stack, banned).join(room)
    path = A1 + "/users/%s/shadow_ban" % q(banned["user_id"])
    assert admin.call("POST", path, {}) == (200, {})
    status, body = admin.call("GET", A2 + "/users/" + q(banned["user_id"]))
    assert body["shadow_banned"] is True
    status, body = User(stack, banned).send(room, "you will not see this", txn="sb1")
    assert status == 200 and body["event_id"].startswith("$")
    fake = body["event_id"]
    assert "you will not see this" not in [e["content"].get("body")
                                           for e in messages(admin, room)]
    status, _ = stack.request("GET", "/_matrix/client/v3/rooms/%s/event/%s" % (q(room), q(fake)),
                              token=admin.token)
    assert status == 404
    assert admin.call("DELETE", path) == (200, {})
    status, body = User(stack, banned).send(room, "now you do", txn="sb2")
    assert status == 200
    assert "now you do" in [e["content"].get("body") for e in messages(admin, room)]


# -- rooms ---------------------------------------------------------------------

def test_rooms_list(stack, admin, uniq):
    tag = uniq("rl")
    big = admin.create_room(preset="public_chat", name="%s Big" % tag, room_alias_name=tag + "big")
    small = admin.create_room(preset="public_chat", name="%s small" % tag)
    for _ in range(2):
        u = stack.register(uniq("rlm"), "pw")
        User(stack, u).join(big)
    status, body = admin.call("GET", A1 + "/rooms?search_term=%s" % tag)
    assert status == 200, body
    assert (body["offset"], body["total_rooms"]) == (0, 2)
    assert [r["room_id"] for r in body["rooms"]] == [big, small]
    r = body["rooms"][0]
    assert (r["name"], r["canonical_alias"], r["joined_members"],
            r["joined_local_members"]) == ("%s Big" % tag, "#%sbig:localhost" % tag, 3, 3)
    assert (r["creator"], r["version"], r["join_rules"], r["federatable"]) == \
        (admin.user_id, "10", "public", True)
    assert r["encryption"] is None and r["room_type"] is None and r["state_events"] >= 7
    for k in ("public", "guest_access", "history_visibility"):
        assert k in r
    status, body = admin.call("GET", A1 + "/rooms?search_term=%s&dir=b" % tag)
    assert [r["room_id"] for r in body["rooms"]] == [small, big]
    status, body = admin.call("GET",
                              A1 + "/rooms?search_term=%s&order_by=joined_members&limit=1" % tag)
    assert [r["room_id"] for r in body["rooms"]] == [big] and body["next_batch"] == 1
    status, body = admin.call("GET",
                              A1 + "/rooms?search_term=%s&order_by=joined_members&from=1" % tag)
    assert [r["room_id"] for r in body["rooms"]] == [small]
    assert body["prev_batch"] == 0 and "next_batch" not in body
    # The alias's localpart and the room ID are searched too.
    status, body = admin.call("GET", A1 + "/rooms?search_term=%sbig" % tag)
    assert [r["room_id"] for r in body["rooms"]] == [big]
    status, body = admin.call("GET", A1 + "/rooms?search_term=%s" % q(small[1:12]))
    assert small in [r["room_id"] for r in body["rooms"]]
    status, body = admin.call("GET", A1 + "/rooms?order_by=bogus")
    assert (status, body["errcode"]) == (400, "M_INVALID_PARAM")


def test_room_details_members_state(stack, admin, account):
    room = admin.create_room(preset="public_chat", name="Details", topic="About things")
    User(stack, account).join(room)
    status, body = admin.call("GET", A1 + "/rooms/" + q(room))
    assert status == 200, body
    assert (body["room_id"], body["name"], body["topic"], body["joined_members"]) == \
        (room, "Details", "About things", 2)
    assert body["joined_local_devices"] >= 2 and body["forgotten"] is False
    status, body = admin.call("GET", A1 + "/rooms/%s/members" % q(room))
    assert (status, body) == (200, {"members": sorted([admin.user_id, account["user_id"]]),
                                    "total": 2})
    status, body = admin.call("GET", A1 + "/rooms/%s/state" % q(room))
    assert status == 200
    types = [e["type"] for e in body["state"]]
    assert "m.room.create" in types and types.count("m.room.member") == 2
    assert all(e["event_id"].startswith("$") and e["room_id"] == room for e in body["state"])
    status, body = admin.call("GET", A1 + "/rooms/%s/state?type=m.room.topic" % q(room))
    assert [e["content"]["topic"] for e in body["state"]] == ["About things"]
    for sub in ("", "/members", "/state"):
        status, body = admin.call("GET", A1 + "/rooms/%s%s" % (q("!nope:localhost"), sub))
        assert (status, body["errcode"]) == (404, "M_NOT_FOUND"), sub
    status, body = admin.call("GET", A1 + "/rooms/not-a-room")
    assert (status, body["errcode"]) == (400, "M_INVALID_PARAM")


def test_room_block(stack, admin, account):
    room = admin.create_room(preset="public_chat")
    path = A1 + "/rooms/%s/block" % q(room)
    assert admin.call("GET", path) == (200, {"block": False})
    assert admin.call("PUT", path, {"block": True}) == (200, {"block": True})
    assert admin.call("GET", path) == (200, {"block": True, "user_id": admin.user_id})
    status, body = User(stack, account).call("POST", "/join/" + q(room), {})
    assert (status, body["errcode"]) == (403, "M_FORBIDDEN")
    assert admin.call("PUT", path, {"block": False}) == (200, {"block": False})
    User(stack, account).join(room)
    # A room this server has never seen can be blocked ahead of time.
    unknown = A1 + "/rooms/%s/block" % q("!unseen:elsewhere.example")
    assert admin.call("PUT", unknown, {"block": True}) == (200, {"block": True})
    assert admin.call("GET", unknown)[1]["block"] is True
    status, body = admin.call("PUT", path, {})
    assert (status, body["errcode"]) == (400, "M_MISSING_PARAM")


def test_room_delete_v2(stack, admin, account, uniq):
    alias = uniq("doomed")
    room = admin.create_room(preset="public_chat", room_alias_name=alias, name="Doomed")
    User(stack, account).join(room)
    status, sent = User(stack, account).send(room, "last words", txn="d1")
    status, _ = stack.request("POST", "/_matrix/client/v3/rooms/%s/report/%s" %
                              (q(room), q(sent["event_id"])), {"reason": "r"},
                              token=admin.token)
    # Rows in the tables beside the events, for the purge to remove.
    uid, tok = account["user_id"], account["access_token"]
    tags = "/_matrix/client/v3/user/%s/rooms/%s/tags" % (q(uid), q(room))
    for method, path, body in (
            ("PUT", tags + "/u.work", {"order": 0.5}),
            ("PUT", "/_matrix/client/v3/rooms/%s/typing/%s" % (q(room), q(uid)),
             {"typing": True, "timeout": 30000}),
            ("POST", "/_matrix/client/v3/rooms/%s/receipt/m.read/%s" %
             (q(room), q(sent["event_id"])), {})):
        status, resp = stack.request(method, path, body, token=tok)
        assert status == 200, (path, resp)
    status, body = admin.call("DELETE", A2 + "/rooms/" + q(room),
                              {"block": True, "purge": True})
    assert status == 200, body
    delete_id = body["delete_id"]
    status, st = admin.call("GET", A2 + "/rooms/delete_status/" + q(delete_id))
    assert status == 200, st
    assert (st["delete_id"], st["room_id"], st["status"]) == (delete_id, room, "complete")
    sr = st["shutdown_room"]
    assert sorted(sr["kicked_users"]) == sorted([admin.user_id, account["user_id"]])
    assert sr["failed_to_kick_users"] == [] and sr["new_room_id"] is None
    assert sr["local_aliases"] == ["#%s:localhost" % alias]
    status, body = admin.call("GET", A2 + "/rooms/%s/delete_status" % q(room))
    assert (status, [r["delete_id"] for r in body["results"]]) == (200, [delete_id])
    # Purged: the room, its alias and its reports are gone; blocked: no way back in.
    status, body = admin.call("GET", A1 + "/rooms/" + q(room))
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    status, body = stack.request("GET", "/_matrix/client/v3/directory/room/" +
                                 q("#%s:localhost" % alias))
    assert status == 404
    status, body = admin.call("GET", A1 + "/event_reports?room_id=" + q(room))
    assert body["total"] == 0
    status, body = stack.request("GET", tags, token=tok)
    assert status != 200 or body == {"tags": {}}, body
    status, body = User(stack, account).call("POST", "/join/" + q(room), {})
    assert (status, body["errcode"]) == (403, "M_FORBIDDEN")
    status, body = admin.call("GET", A1 + "/users/%s/joined_rooms" %
                              q(account["user_id"]))
    assert room not in body["joined_rooms"]
    status, body = admin.call("DELETE", A2 + "/rooms/" + q("!gone:localhost"), {})
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    status, body = admin.call("GET", A2 + "/rooms/delete_status/nope")
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    status, body = admin.call("GET", A2 + "/rooms/%s/delete_status" % q("!gone:localhost"))
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")


def test_room_delete_without_purge_v1(stack, admin, account):
    """Version 1 answers with the shutdown result; without purge the room
    stays, empty of local users, out of the directory, joinable again."""
    room = admin.create_room(preset="public_chat", visibility="public")
    User(stack, account).join(room)
    status, body = admin.call("DELETE", A1 + "/rooms/" + q(room), {"purge": False})
    assert status == 200, body
    assert sorted(body["kicked_users"]) == sorted([admin.user_id, account["user_id"]])
    status, body = admin.call("GET", A1 + "/rooms/" + q(room))
    assert (status, body["joined_members"], body["public"]) == (200, 0, False)
    status, body = admin.call("DELETE", A2 + "/rooms/" + q(room),
                              {"new_room_user_id": admin.user_id})
    assert (status, body["errcode"]) == (400, "M_INVALID_PARAM")


# -- registration tokens and event reports ----------------------------------------

def test_registration_tokens(stack, admin, uniq):
    base = A1 + "/registration_tokens"
    tok = uniq("Tok.")
    status, body = admin.call("POST", base + "/new", {"token": tok, "uses_allowed": 1})
    assert (status, body) == (200, {"token": tok, "uses_allowed": 1, "pending": 0,
                                    "completed": 0, "expiry_time": None})
    status, body = admin.call("POST", base + "/new", {"length": 24})
    assert status == 200 and len(body["token"]) == 24
    random_tok = body["token"]
    assert admin.call("GET", base + "/" + q(tok))[1]["uses_allowed"] == 1
    status, body = admin.call("PUT", base + "/" + q(tok),
                              {"uses_allowed": 0, "expiry_time": 4781243146000})
    assert (status, body["uses_allowed"], body["expiry_time"]) == (200, 0, 4781243146000)
    status, body = admin.call("GET", base + "?valid=false")
    assert tok in [t["token"] for t in body["registration_tokens"]]
    status, body = admin.call("GET", base + "?valid=true")
    names = [t["token"] for t in body["registration_tokens"]]
    assert tok not in names and random_tok in names
    status, body = admin.call("PUT", base + "/" + q(tok), {"uses_allowed": None})
    assert body["uses_allowed"] is None and body["expiry_time"] == 4781243146000
    assert admin.call("DELETE", base + "/" + q(tok)) == (200, {})
    for method in ("GET", "DELETE", "PUT"):
        status, body = admin.call(method, base + "/" + q(tok),
                                  {} if method == "PUT" else None)
        assert (status, body["errcode"]) == (404, "M_NOT_FOUND"), method
    for bad in ({"token": "no spaces"}, {"token": "x" * 65}, {"uses_allowed": -1},
                {"expiry_time": 1000}, {"length": 0}, {"token": random_tok}):
        status, body = admin.call("POST", base + "/new", bad)
        assert (status, body["errcode"]) == (400, "M_INVALID_PARAM"), bad


def test_event_reports(stack, admin, account, uniq):
    room = admin.create_room(preset="public_chat", name="Reported")
    User(stack, account).join(room)
    status, ev = admin.send(room, "offensive", txn="r1")
    status, _ = stack.request("POST", "/_matrix/client/v3/rooms/%s/report/%s" %
                              (q(room), q(ev["event_id"])), {"reason": "rude", "score": -100},
                              token=account["access_token"])
    assert status == 200
    status, body = admin.call("GET", A1 + "/event_reports?room_id=" + q(room))
    assert status == 200 and body["total"] == 1
    r = body["event_reports"][0]
    assert (r["room_id"], r["event_id"], r["user_id"], r["reason"], r["score"], r["sender"],
            r["name"], r["canonical_alias"]) == \
        (room, ev["event_id"], account["user_id"], "rude", -100, admin.user_id, "Reported", None)
    status, body = admin.call("GET", A1 + "/event_reports/%d" % r["id"])
    assert status == 200
    assert body["event_json"]["content"]["body"] == "offensive" and body["id"] == r["id"]
    status, body = admin.call("GET", A1 + "/event_reports?user_id=" +
                              q(account["user_id"]))
    assert [x["id"] for x in body["event_reports"]] == [r["id"]]
    status, body = admin.call("GET", A1 + "/event_reports?sender_user_id=" +
                              q(account["user_id"]))
    assert r["id"] not in [x["id"] for x in body["event_reports"]]
    status, body = admin.call("GET", A1 + "/event_reports?limit=1")
    assert len(body["event_reports"]) == 1
    assert body["total"] == 1 or body["next_token"] == 1
    assert admin.call("DELETE", A1 + "/event_reports/%d" % r["id"]) == (200, {})
    status, body = admin.call("GET", A1 + "/event_reports/%d" % r["id"])
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    status, body = admin.call("GET", A1 + "/event_reports/abc")
    assert (status, body["errcode"]) == (400, "M_INVALID_PARAM")


# -- synadm ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def synadm(stack, admin, tmp_path_factory):
    """Runs synadm, configured by file (no prompts) for this stack and admin."""
    home = tmp_path_factory.mktemp("synadm")
    conf = home / "synadm.yaml"
    conf.write_text(json.dumps({
        "user": admin.user_id, "token": admin.token, "base_url": stack.base,
        "admin_path": "/_synapse/admin", "matrix_path": "/_matrix", "timeout": 30,
        "server_discovery": "well-known", "homeserver": stack.server_name, "format": "json",
        "ssl_verify": True,
    }))  # JSON is YAML

    def run(*args):
        r = subprocess.run(["synadm", "--batch", "-o", "json", "-c", str(conf)] + list(args),
                           capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, HOME=str(home)))
        assert r.returncode == 0, (args, r.stdout, r.stderr)
        return r.stdout
    return run


def last_json(out):
    """The last JSON document synadm printed (some commands print several)."""
    lines = [l for l in out.splitlines() if l.strip()]
    for i in range(len(lines)):
        try:
            return json.loads("\n".join(lines[i:]))
        except ValueError:
            continue
    raise AssertionError("no JSON in %r" % out)


def test_synadm_users(stack, admin, synadm, uniq):
    name = uniq("syn")
    user = stack.register(name, "pw-synadm")
    listed = last_json(synadm("user", "list", "--name", name))
    assert [u["name"] for u in listed["users"]] == [user["user_id"]]
    details = last_json(synadm("user", "details", name))
    assert (details["name"], details["deactivated"]) == (user["user_id"], False)
    out = synadm("user", "password", name, "--password", "pw-synadm-2")
    assert last_json(out) == {}
    assert stack.login(name, "pw-synadm")[0] == 403
    assert stack.login(name, "pw-synadm-2")[0] == 200
    out = synadm("user", "deactivate", name)
    assert last_json(out) == {"id_server_unbind_result": "success"}
    status, body = admin.call("GET", A2 + "/users/" + q(user["user_id"]))
    assert body["deactivated"] is True
    assert stack.login(name, "pw-synadm-2")[0] == 403


def test_synadm_rooms(stack, admin, synadm, uniq):
    tag = uniq("synroom")
    room = admin.create_room(preset="public_chat", name=tag)
    member = stack.register(uniq("synm"), "pw")
    User(stack, member).join(room)
    listed = last_json(synadm("room", "list", "--name", tag))
    assert [r["room_id"] for r in listed["rooms"]] == [room]
    details = last_json(synadm("room", "details", room))
    assert (details["room_id"], details["name"], details["joined_members"]) == (room, tag, 2)
    members = last_json(synadm("room", "members", room))
    assert members == {"members": sorted([admin.user_id, member["user_id"]]), "total": 2}
    version = last_json(synadm("version"))
    assert version["server_version"].startswith("myelin")
