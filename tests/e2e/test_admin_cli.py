"""myelin-admin on a live stack: every command, in human and --json form,
while the handlers run on the same database; usage mistakes exit 2."""
import json
import os
import re
import subprocess

import pytest

from conftest import User, admin_login, q


def ok(r):
    assert r.returncode == 0, (r.args, r.stdout, r.stderr)
    return r.stdout


def js(stack, *args):
    """Runs a command with --json: its output is one valid JSON document."""
    return json.loads(ok(stack.admin(*args, json_out=True)))


@pytest.fixture(scope="module")
def admin(stack):
    return User(stack, admin_login(stack, "cliadm%d" % os.getpid(), "pw-cli"))


# -- usage ----------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    (), ("bogus",), ("user",), ("user", "frobnicate"), ("user", "add"),
    ("user", "add", "x"), ("user", "set-admin", "x", "maybe"), ("user", "show"),
    ("user", "login-as", "x", "--valid-until", "soon"), ("room", "delete"),
    ("room", "delete", "!r:localhost", "--nuke"), ("room", "block", "!r:localhost"),
    ("room", "list", "--limit", "ten"), ("room", "list", "--order-by", "colour"),
    ("db", "vacuum", "now"), ("key", "show", "extra"), ("registration-token", "add", "a b"),
    ("stats", "extra"), ("config", "check", "twice"),
])
def test_usage_mistakes_exit_2(stack, args):
    r = stack.admin(*args)
    assert r.returncode == 2, (args, r.stdout, r.stderr)
    assert re.search(r"^usage: myelin-admin", r.stderr, re.M), r.stderr
    assert r.stdout == ""


def test_unknown_option_exits_2(stack):
    r = stack.admin("-Z", "stats")
    assert r.returncode == 2 and re.search(r"^usage: myelin-admin", r.stderr, re.M)


def test_failures_exit_1(stack):
    for args in (("user", "show", "nobody-at-all"), ("room", "show", "!nowhere:localhost"),
                 ("room", "show", "#no-alias:localhost"),
                 ("registration-token", "delete", "no-such-token"),
                 ("user", "deactivate", "@someone:elsewhere.example")):
        r = stack.admin(*args)
        assert r.returncode == 1, (args, r.stdout, r.stderr)
        assert r.stderr.startswith("myelin-admin: "), r.stderr


# -- config, db, stats, keys --------------------------------------------------------

def test_config_check_names_each_mistake(stack, tmp_path):
    """myelin.conf(5): config check reports file:line for every mistake."""
    bad = tmp_path / "bad.conf"
    bad.write_text("server_name = example.org\n"
                   "database = x.db\n"
                   "no_such_key = 1\n"
                   "# a comment\n"
                   "enable_registration = maybe\n"
                   "threads.client = 9999\n"
                   "just words\n")
    binary = os.path.join(os.environ.get("MYELIN_BIN", "build/bin"), "myelin-admin")
    r = subprocess.run([binary, "-c", str(bad), "config", "check"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1, r
    for line in (3, 5, 6, 7):
        assert "%s:%d:" % (bad, line) in r.stderr, (line, r.stderr)
    assert "%s:1:" % bad not in r.stderr and "%s:4:" % bad not in r.stderr


def test_config_db_stats(stack, admin):
    assert ok(stack.admin("config", "check")).strip() == "configuration OK"
    assert js(stack, "config", "check") == {"ok": True}
    assert re.match(r"schema version \d+$", ok(stack.admin("db", "migrate")).strip())
    st = js(stack, "db", "status")
    assert st["schema_version"] == st["latest"] and st["backend"] in ("sqlite", "postgres")
    assert "vacuumed" in ok(stack.admin("db", "vacuum"))
    assert js(stack, "db", "vacuum") == {"vacuumed": True}
    stats = js(stack, "stats")
    for k in ("users", "admins", "deactivated", "rooms", "events", "sessions",
              "event_reports", "registration_tokens", "blocked_rooms"):
        assert isinstance(stats[k], int), k
    assert stats["users"] >= 1 and stats["schema_version"] == st["latest"]
    assert re.search(r"^users\s+\d+$", ok(stack.admin("stats")), re.M)


def key_conf(stack, tmp_path):
    """A copy of the stack's config whose signing key is a file of its own."""
    with open(stack.conf) as f:
        text = f.read()
    backend = re.search(r"^database_backend = (\S+)", text, re.M).group(1)

    def absolute(m):
        key, value = m.group(1), m.group(2)
        if key == "database" and backend != "sqlite":
            return m.group(0)
        return "%s = %s" % (key, value if value.startswith("/") else
                            os.path.join(stack.dir, value))
    text = re.sub(r"^(database|media_path|run_dir) = (.*)$", absolute, text, flags=re.M)
    text = re.sub(r"^signing_key_path = .*$", "signing_key_path = %s" % (tmp_path / "k.key"),
                  text, flags=re.M)
    path = tmp_path / "myelin.conf"
    path.write_text(text)
    return str(path)


def test_keys(stack, tmp_path):
    conf = key_conf(stack, tmp_path)
    run = lambda *a: stack.admin("-c", conf, *a)  # noqa: E731 (later -c wins)
    gen = json.loads(ok(run("--json", "key", "generate")))
    assert gen["key_id"].startswith("ed25519:") and len(gen["public_key"]) == 43
    assert oct(os.stat(tmp_path / "k.key").st_mode & 0o777) == "0o600"
    r = run("key", "generate")
    assert r.returncode == 1 and "exists" in r.stderr
    other = tmp_path / "other.key"
    assert ok(run("key", "generate", str(other))).startswith("ed25519:")
    shown = json.loads(ok(run("--json", "key", "show")))
    assert shown == {"verify_keys": {gen["key_id"]: {"key": gen["public_key"]}},
                     "old_verify_keys": {}}
    rot = json.loads(ok(run("--json", "key", "rotate")))
    assert rot["old_key_id"] == gen["key_id"] and rot["key_id"] != gen["key_id"]
    shown = json.loads(ok(run("--json", "key", "show")))
    assert list(shown["verify_keys"]) == [rot["key_id"]]
    assert shown["old_verify_keys"][gen["key_id"]]["key"] == gen["public_key"]
    assert shown["old_verify_keys"][gen["key_id"]]["expired_ts"] > 0
    human = ok(run("key", "show")).splitlines()
    assert human[0] == "%s %s" % (rot["key_id"], rot["public_key"])
    assert human[1].startswith("%s %s expired " % (gen["key_id"], gen["public_key"]))


# -- users --------------------------------------------------------------------------

def test_user_add_list_show(stack, uniq):
    name = uniq("clia")
    assert js(stack, "user", "add", name, "--password", "pw-a") == \
        {"user_id": "@%s:localhost" % name}
    r = stack.admin("user", "add", name, "--password", "pw-a")
    assert r.returncode == 1 and "already exists" in r.stderr
    listed = js(stack, "user", "list", "--limit", "1000")
    assert "@%s:localhost" % name in [u["user_id"] for u in listed]
    table = ok(stack.admin("user", "list", "--limit", "1000"))
    assert table.splitlines()[0].split() == ["USER", "ADMIN", "DEACTIVATED", "DISPLAYNAME"]
    assert re.search(r"^@%s:localhost\s+no\s+no\s+%s$" % (name, name), table, re.M)
    shown = js(stack, "user", "show", name)
    assert (shown["name"], shown["admin"], shown["deactivated"], shown["joined_rooms"]) == \
        ("@%s:localhost" % name, False, False, [])
    human = ok(stack.admin("user", "show", "@%s:localhost" % name))
    assert re.search(r"^name\s+@%s:localhost$" % name, human, re.M)
    assert re.search(r"^admin\s+no$", human, re.M)


def test_user_deactivate_reactivate(stack, admin, uniq):
    name = uniq("clid")
    user = stack.register(name, "pw-d")
    room = admin.create_room(preset="public_chat")
    User(stack, user).join(room)
    out = js(stack, "user", "deactivate", name, "--erase")
    assert out == {"user_id": user["user_id"], "deactivated": True}
    assert stack.request("GET", "/_matrix/client/v3/account/whoami",
                         token=user["access_token"])[0] == 401
    assert stack.login(name, "pw-d")[0] == 403
    shown = js(stack, "user", "show", name)
    assert (shown["deactivated"], shown["erased"], shown["joined_rooms"]) == (True, True, [])
    members = js(stack, "room", "members", room)["members"]
    assert user["user_id"] not in members
    assert "reactivated" in ok(stack.admin("user", "reactivate", name, "--password", "pw-e"))
    assert stack.login(name, "pw-e")[0] == 200
    assert js(stack, "user", "show", name)["deactivated"] is False


def test_user_reset_password(stack, uniq):
    name = uniq("clip")
    stack.register(name, "pw-1")
    status, keep = stack.login(name, "pw-1")
    out = js(stack, "user", "reset-password", name, "--password", "pw-2", "--keep-devices")
    assert out["logged_out"] is False
    assert stack.request("GET", "/_matrix/client/v3/account/whoami",
                         token=keep["access_token"])[0] == 200
    assert stack.login(name, "pw-1")[0] == 403
    assert stack.login(name, "pw-2")[0] == 200
    ok(stack.admin("user", "reset-password", name, "--password", "pw-3"))
    assert stack.request("GET", "/_matrix/client/v3/account/whoami",
                         token=keep["access_token"])[0] == 401
    assert stack.login(name, "pw-3")[0] == 200


def test_user_set_admin_and_login_as(stack, uniq):
    name = uniq("clis")
    user = stack.register(name, "pw")
    assert js(stack, "user", "set-admin", name, "on") == \
        {"user_id": user["user_id"], "admin": True}
    assert stack.request("GET", "/_synapse/admin/v2/users", token=user["access_token"])[0] == 200
    assert "is not a server admin" in ok(stack.admin("user", "set-admin", name, "off"))
    status, body = stack.request("GET", "/_synapse/admin/v2/users", token=user["access_token"])
    assert (status, body["errcode"]) == (403, "M_FORBIDDEN")
    tok = ok(stack.admin("user", "login-as", name)).strip()
    assert tok.startswith("myt_")
    status, who = stack.request("GET", "/_matrix/client/v3/account/whoami", token=tok)
    assert (status, who["user_id"]) == (200, user["user_id"])
    out = js(stack, "user", "login-as", name, "--valid-until", "4102444800000")
    assert out["user_id"] == user["user_id"] and out["access_token"].startswith("myt_")


def test_user_shadow_ban(stack, admin, uniq):
    name = uniq("clib")
    user = stack.register(name, "pw")
    room = admin.create_room(preset="public_chat")
    User(stack, user).join(room)
    assert js(stack, "user", "shadow-ban", name, "on") == \
        {"user_id": user["user_id"], "shadow_banned": True}
    status, body = stack.request("PUT", "/_matrix/client/v3/rooms/%s/send/m.room.message/c1" %
                                 q(room), {"msgtype": "m.text", "body": "hidden"},
                                 token=user["access_token"])
    assert status == 200 and body["event_id"].startswith("$")
    status, msgs = stack.request("GET", "/_matrix/client/v3/rooms/%s/messages?dir=b" % q(room),
                                 token=admin.token)
    assert "hidden" not in [e["content"].get("body") for e in msgs["chunk"]]
    assert js(stack, "user", "show", name)["shadow_banned"] is True
    ok(stack.admin("user", "shadow-ban", name, "off"))
    assert js(stack, "user", "show", name)["shadow_banned"] is False


def test_user_lock_and_suspend(stack, admin, uniq):
    name = uniq("clil")
    user = stack.register(name, "pw")
    assert js(stack, "user", "lock", name, "on") == {"user_id": user["user_id"], "locked": True}
    status, body = stack.request("GET", "/_matrix/client/v3/account/whoami",
                                 token=user["access_token"])
    assert status == 401 and body["errcode"] == "M_USER_LOCKED"
    ok(stack.admin("user", "lock", name, "off"))
    assert stack.request("GET", "/_matrix/client/v3/account/whoami",
                         token=user["access_token"])[0] == 200
    assert js(stack, "user", "suspend", name, "on") == \
        {"user_id": user["user_id"], "suspended": True}
    status, body = stack.request("POST", "/_matrix/client/v3/createRoom", {},
                                 token=user["access_token"])
    assert status == 403 and body["errcode"] == "M_USER_SUSPENDED"
    ok(stack.admin("user", "suspend", name, "off"))
    assert stack.request("POST", "/_matrix/client/v3/createRoom", {},
                         token=user["access_token"])[0] == 200


# -- rooms --------------------------------------------------------------------------

def test_room_list_show_members_state(stack, admin, account, uniq):
    tag = uniq("clir")
    room = admin.create_room(preset="public_chat", name=tag, room_alias_name=tag)
    User(stack, account).join(room)
    listed = js(stack, "room", "list", "--search", tag)
    assert [r["room_id"] for r in listed["rooms"]] == [room] and listed["total_rooms"] == 1
    table = ok(stack.admin("room", "list", "--search", tag))
    assert table.splitlines()[0].split()[:3] == ["ROOM", "MEMBERS", "LOCAL"]
    # Version 10: default_room_version.
    assert re.search(r"^%s\s+2\s+2\s+10\s+#%s:localhost\s+%s$" % (re.escape(room), tag, tag),
                     table, re.M), table
    page = js(stack, "room", "list", "--order-by", "joined_members", "--reverse",
              "--limit", "1", "--from", "0")
    assert len(page["rooms"]) == 1
    for arg in (room, "#%s:localhost" % tag):
        shown = js(stack, "room", "show", arg)
        assert (shown["room_id"], shown["name"], shown["joined_members"], shown["blocked"]) == \
            (room, tag, 2, False)
    assert re.search(r"^name\s+%s$" % tag, ok(stack.admin("room", "show", room)), re.M)
    assert js(stack, "room", "members", room) == \
        {"members": sorted([admin.user_id, account["user_id"]]), "total": 2}
    assert ok(stack.admin("room", "members", room)).split() == \
        sorted([admin.user_id, account["user_id"]])
    state = js(stack, "room", "state", room)["state"]
    assert "m.room.create" in [e["type"] for e in state]
    assert re.search(r"^m\.room\.name\s", ok(stack.admin("room", "state", room)), re.M)


def test_room_block(stack, admin, account):
    room = admin.create_room(preset="public_chat")
    assert js(stack, "room", "block", room, "on") == {"room_id": room, "block": True}
    status, body = User(stack, account).call("POST", "/join/" + q(room), {})
    assert (status, body["errcode"]) == (403, "M_FORBIDDEN")
    assert js(stack, "room", "show", room)["blocked"] is True
    status, body = stack.request("GET", "/_synapse/admin/v1/rooms/%s/block" % q(room),
                                 token=admin.token)
    assert body == {"block": True}
    assert "not blocked" in ok(stack.admin("room", "block", room, "off"))
    User(stack, account).join(room)


def test_room_delete(stack, admin, account, uniq):
    alias = uniq("clidel")
    room = admin.create_room(preset="public_chat", room_alias_name=alias)
    User(stack, account).join(room)
    # Without --purge: members leave, the alias goes, the room stays.
    out = js(stack, "room", "delete", "#%s:localhost" % alias)
    assert out["status"] == "complete" and out["room_id"] == room
    assert sorted(out["shutdown_room"]["kicked_users"]) == sorted([admin.user_id,
                                                                   account["user_id"]])
    assert out["shutdown_room"]["local_aliases"] == ["#%s:localhost" % alias]
    assert js(stack, "room", "show", room)["joined_members"] == 0
    status, body = stack.request("GET", "/_synapse/admin/v2/rooms/delete_status/" +
                                 out["delete_id"], token=admin.token)
    assert (status, body["status"]) == (200, "complete")
    # With --purge --block: gone, and nobody gets back in.
    User(stack, account).join(room)
    human = ok(stack.admin("room", "delete", room, "--purge", "--block"))
    assert re.search(r"^status\s+complete$", human, re.M)
    assert re.search(r"^kicked_users\s+%s$" % re.escape(account["user_id"]), human, re.M)
    r = stack.admin("room", "show", room)
    assert r.returncode == 1
    status, body = User(stack, account).call("POST", "/join/" + q(room), {})
    assert (status, body["errcode"]) == (403, "M_FORBIDDEN")
    # A room never seen here can be blocked; without --block it is unknown.
    assert js(stack, "room", "delete", "!unseen-cli:elsewhere.example", "--block")["status"] == \
        "complete"
    r = stack.admin("room", "delete", "!unseen-cli2:elsewhere.example")
    assert r.returncode == 1 and "Unknown room" in r.stderr


# -- registration tokens ---------------------------------------------------------

def test_registration_tokens(stack, uniq):
    tok = uniq("clitok")
    assert ok(stack.admin("registration-token", "add", tok, "--uses", "2")).strip() == tok
    made = js(stack, "registration-token", "add", "--expiry", "4102444800000")["token"]
    listed = {t["token"]: t for t in js(stack, "registration-token", "list")}
    assert listed[tok]["uses_allowed"] == 2 and listed[tok]["expiry_time"] is None
    assert listed[made]["expiry_time"] == 4102444800000
    assert re.search(r"^%s\s+2\s+0\s+-$" % tok, ok(stack.admin("registration-token", "list")),
                     re.M)
    assert js(stack, "registration-token", "delete", tok) == {"token": tok, "deleted": True}
    assert "deleted" in ok(stack.admin("registration-token", "delete", made))
    assert tok not in [t["token"] for t in js(stack, "registration-token", "list")]


def test_every_command_json(stack, admin, uniq):
    """--json output of each command is one valid JSON document."""
    name = uniq("clij")
    js(stack, "user", "add", name, "--password", "pw")
    room = admin.create_room(preset="public_chat")
    for args in (("config", "check"), ("db", "migrate"), ("db", "status"), ("db", "vacuum"),
                 ("stats",), ("user", "list"), ("user", "show", name),
                 ("user", "set-admin", name, "off"), ("user", "shadow-ban", name, "off"),
                 ("user", "login-as", name), ("user", "reset-password", name, "--password", "x"),
                 ("user", "deactivate", name), ("user", "reactivate", name, "--password", "y"),
                 ("room", "list"), ("room", "show", room), ("room", "members", room),
                 ("room", "state", room), ("room", "block", room, "off"),
                 ("room", "delete", room, "--purge"), ("registration-token", "list")):
        out = ok(stack.admin(*args, json_out=True))
        assert len(out.splitlines()) == 1, (args, out)
        json.loads(out)
