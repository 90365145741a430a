"""Third-party identifiers through an identity server: POST /account/3pid/bind,
/unbind, /delete, deactivation, the requestToken endpoints, and third-party
invites (a bound 3PID invited as its user, an unbound one stored at the
identity server as m.room.third_party_invite, /3pid/onbind and /join with
third_party_signed turning it into an invite the auth rules check).

The identity server is a small Python stand-in over TLS with a certificate
from a CA made for the module (openssl); the stack trusts that CA through
identity_ca_file and may reach loopback through identity_allow_ips.  It
signs with PyNaCl and checks the homeserver's X-Matrix signature on
/3pid/unbind with the key the stack publishes."""
import base64
import hashlib
import http.server
import json
import os
import re
import shutil
import ssl
import tempfile
import threading
import urllib.parse

import nacl.exceptions
import nacl.signing
import pytest

from conftest import C, User, free_port, q, start_stack, stop_stack
from test_federation_keys import make_ca

TOKEN = "swordfish"


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def b64(data):
    return base64.b64encode(data).decode().rstrip("=")


def unb64(s):
    return base64.b64decode(s + "=" * (-len(s) % 4))


def sign(obj, name, key, key_id="ed25519:0"):
    """obj signed in place as Matrix signs JSON."""
    body = {k: v for k, v in obj.items() if k not in ("signatures", "unsigned")}
    obj.setdefault("signatures", {}).setdefault(name, {})[key_id] = \
        b64(key.sign(canonical(body)).signature)
    return obj


class IdentityServer:
    """The Identity Service API v2 as far as a homeserver calls it."""

    def __init__(self, ca_dir):
        self.port = free_port()
        self.name = "localhost:%d" % self.port
        self.key = nacl.signing.SigningKey.generate()
        self.ephemeral = nacl.signing.SigningKey.generate()
        self.revoked = set()
        self.pepper = "matrixrocks"
        self.sessions, self.bindings, self.invites = {}, {}, []
        self.unbinds = []       # (authorization header, body) of each /3pid/unbind
        self.next = 0
        ident = self

        class H(http.server.BaseHTTPRequestHandler):
            def reply(self, status, obj):
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def authed(self):
                if self.headers.get("Authorization") == "Bearer " + TOKEN:
                    return True
                self.reply(401, {"errcode": "M_UNAUTHORIZED", "error": "no token"})
                return False

            def do_GET(self):
                u = urllib.parse.urlsplit(self.path)
                qs = urllib.parse.parse_qs(u.query)
                if u.path == "/_matrix/identity/v2/hash_details" and self.authed():
                    self.reply(200, {"lookup_pepper": ident.pepper,
                                     "algorithms": ["none", "sha256"]})
                elif u.path == "/_matrix/identity/v2/pubkey/isvalid":
                    pk = qs.get("public_key", [""])[0]
                    self.reply(200, {"valid": pk in ident.public_keys() and
                                     pk not in ident.revoked})
                elif not u.path.startswith("/_matrix/identity/v2/"):
                    self.reply(404, {"errcode": "M_UNRECOGNIZED", "error": "?"})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                path = self.path
                if path == "/_matrix/identity/v2/3pid/unbind":
                    ident.unbinds.append((self.headers.get("Authorization"), body))
                    k = (body["threepid"]["medium"], body["threepid"]["address"])
                    if ident.bindings.get(k) != body["mxid"]:
                        self.reply(404, {"errcode": "M_NOT_FOUND", "error": "not bound"})
                        return
                    del ident.bindings[k]
                    self.reply(200, {})
                    return
                if not self.authed():
                    return
                if path == "/_matrix/identity/v2/3pid/bind":
                    if body.get("sid") == "teapot":
                        self.reply(418, {"errcode": "not an errcode", "error": "x"})
                        return
                    if body.get("sid") == "long":
                        self.reply(200, {"medium": "email", "address": "a" * 600,
                                         "mxid": body["mxid"]})
                        return
                    s = ident.sessions.get(body.get("sid"))
                    if s is None or s[2] != body.get("client_secret"):
                        self.reply(404, {"errcode": "M_NO_VALID_SESSION",
                                         "error": "No valid session"})
                        return
                    ident.bindings[(s[0], s[1])] = body["mxid"]
                    self.reply(200, ident.signed({"medium": s[0], "address": s[1],
                                                  "mxid": body["mxid"], "not_before": 0,
                                                  "not_after": 4582425849161, "ts": 0}))
                elif path == "/_matrix/identity/v2/lookup":
                    assert body["algorithm"] == "sha256" and body["pepper"] == ident.pepper
                    maps = {}
                    for (m, a), mxid in ident.bindings.items():
                        h = ident.lookup_hash(m, a)
                        if h in body["addresses"]:
                            maps[h] = mxid
                    self.reply(200, {"mappings": maps})
                elif path == "/_matrix/identity/v2/store-invite":
                    ident.next += 1
                    body["token"] = "tok%d" % ident.next
                    ident.invites.append(body)
                    url = "https://%s/_matrix/identity/v2/pubkey/isvalid" % ident.name
                    self.reply(200, {"token": body["token"], "display_name": "B...",
                                     "public_keys": [{"public_key": k, "key_validity_url": url}
                                                     for k in ident.public_keys()]})
                else:
                    self.reply(404, {"errcode": "M_UNRECOGNIZED", "error": "?"})

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), H)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(ca_dir, "ident.chain.crt"),
                            os.path.join(ca_dir, "ident.key"))
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def public_keys(self):
        return [b64(bytes(self.key.verify_key)), b64(bytes(self.ephemeral.verify_key))]

    def signed(self, obj, key=None):
        return sign(obj, self.name, key or self.key)

    def lookup_hash(self, medium, address):
        d = hashlib.sha256(("%s %s %s" % (address, medium, self.pepper)).encode()).digest()
        return base64.urlsafe_b64encode(d).decode().rstrip("=")

    def session(self, medium, address, secret):
        sid = "session%d" % len(self.sessions)
        self.sessions[sid] = (medium, address, secret)
        return sid

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def ca():
    d = tempfile.mkdtemp(prefix="myelin-ident-ca-")
    make_ca(d, "ident", "localhost", "127.0.0.1")
    for f in os.listdir(d):
        os.chmod(os.path.join(d, f), 0o644)
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def ident(ca):
    i = IdentityServer(ca)
    yield i
    i.stop()


@pytest.fixture(scope="module")
def istack(ca):
    s = start_stack(extra_conf="identity_ca_file = %s/ca.crt\n"
                               "identity_allow_ips = 127.0.0.0/8 ::1\n" % ca)
    yield s
    stop_stack(s)


_n = [0]


def user(stack, prefix="u"):
    _n[0] += 1
    return User.register(stack, "%s%d%s" % (prefix, _n[0], os.urandom(3).hex()))


def email():
    return "p%s@example.org" % os.urandom(4).hex()


def bind(u, ident, address, secret="s3cret.=_-"):
    sid = ident.session("email", address, secret)
    return u.call("POST", "/account/3pid/bind", {
        "id_server": ident.name, "id_access_token": TOKEN, "sid": sid,
        "client_secret": secret})


def server_key(stack):
    status, body = stack.request("GET", "/_matrix/key/v2/server")
    assert status == 200
    (key_id, v), = body["verify_keys"].items()
    return key_id, unb64(v["key"])


def test_bind_then_unbind_where_it_was_bound(istack, ident):
    u, a = user(istack), email()
    assert bind(u, ident, a) == (200, {})
    assert ident.bindings[("email", a)] == u.user_id
    # The homeserver keeps no 3PID of its own: bound ones are the identity server's.
    assert u.ok("GET", "/account/3pid") == {"threepids": []}
    n = len(ident.unbinds)
    assert u.call("POST", "/account/3pid/unbind", {"medium": "email", "address": a}) == \
        (200, {"id_server_unbind_result": "success"})
    assert ("email", a) not in ident.bindings
    # Signed by the homeserver: X-Matrix with the identity server as destination.
    authz, body = ident.unbinds[n]
    assert body == {"mxid": u.user_id, "threepid": {"medium": "email", "address": a}}
    params = dict(re.findall(r'(\w+)="?([^",]*)"?', authz.split(" ", 1)[1]))
    assert params["origin"] == istack.server_name and params["destination"] == ident.name
    key_id, pk = server_key(istack)
    assert params["key"] == key_id
    signed = {"method": "POST", "uri": "/_matrix/identity/v2/3pid/unbind",
              "origin": istack.server_name, "destination": ident.name, "content": body}
    nacl.signing.VerifyKey(pk).verify(canonical(signed), unb64(params["sig"]))
    # Forgotten once unbound: a second unbind knows no identity server.
    assert u.call("POST", "/account/3pid/unbind", {"medium": "email", "address": a}) == \
        (200, {"id_server_unbind_result": "no-support"})


def test_unstable_bind_and_delete(istack, ident):
    u, a = user(istack), email()
    sid = ident.session("email", a, "sec")
    assert u.call("POST", "/_matrix/client/unstable/account/3pid/bind", {
        "id_server": ident.name, "id_access_token": TOKEN, "sid": sid,
        "client_secret": "sec"}) == (200, {})
    assert ident.bindings[("email", a)] == u.user_id
    assert u.call("POST", "/account/3pid/delete", {"medium": "email", "address": a}) == \
        (200, {"id_server_unbind_result": "success"})
    assert ("email", a) not in ident.bindings


def test_delete_with_id_server_unbinds_out_of_band_binding(istack, ident):
    u, a = user(istack), email()
    ident.bindings[("email", a)] = u.user_id
    assert u.call("POST", "/account/3pid/delete", {
        "medium": "email", "address": a, "id_server": ident.name}) == \
        (200, {"id_server_unbind_result": "success"})
    assert ("email", a) not in ident.bindings
    # Not bound there (the identity server answers 404): no-support, as Synapse.
    assert u.call("POST", "/account/3pid/unbind", {
        "medium": "email", "address": a, "id_server": ident.name}) == \
        (200, {"id_server_unbind_result": "no-support"})


def test_bind_refusals(istack, ident):
    u, a = user(istack), email()
    base = {"id_server": ident.name, "id_access_token": TOKEN, "sid": "x",
            "client_secret": "abc"}
    for k in base:
        b = dict(base)
        del b[k]
        status, body = u.call("POST", "/account/3pid/bind", b)
        assert (status, body["errcode"]) == (400, "M_MISSING_PARAM"), k
    for k, v in (("client_secret", "bad secret!"), ("client_secret", ""),
                 ("id_server", "https://" + ident.name), ("id_server", "a/b")):
        status, body = u.call("POST", "/account/3pid/bind", dict(base, **{k: v}))
        assert (status, body["errcode"]) == (400, "M_INVALID_PARAM"), (k, v)
    # The wrong client_secret: the identity server's own error, passed on.
    sid = ident.session("email", a, "right")
    status, body = u.call("POST", "/account/3pid/bind", dict(base, sid=sid,
                                                              client_secret="wrong"))
    assert (status, body["errcode"]) == (404, "M_NO_VALID_SESSION")
    assert ("email", a) not in ident.bindings
    # An errcode that is not one is not passed on; nor a bind answer out of bounds.
    assert u.call("POST", "/account/3pid/bind", dict(base, sid="teapot")) == \
        (502, {"errcode": "M_UNKNOWN", "error": "x"})
    assert u.call("POST", "/account/3pid/bind", dict(base, sid="long"))[0] == 502
    # An identity server that does not answer: 502, nothing remembered.
    status, body = u.call("POST", "/account/3pid/bind", dict(
        base, sid=sid, client_secret="right", id_server="localhost:%d" % free_port()))
    assert status == 502
    assert u.call("POST", "/account/3pid/unbind", {"medium": "email", "address": a}) == \
        (200, {"id_server_unbind_result": "no-support"})
    status, body = u.call("POST", "/account/3pid/unbind", {"address": a})
    assert (status, body["errcode"]) == (400, "M_MISSING_PARAM")


def test_deactivation_unbinds(istack, ident):
    u, a = user(istack), email()
    assert bind(u, ident, a)[0] == 200
    pw = "pw-" + u.user_id[1:].split(":")[0]
    status, body = u.call("POST", "/account/deactivate", {"auth": {
        "type": "m.login.password", "password": pw,
        "identifier": {"type": "m.id.user", "user": u.user_id}}})
    assert (status, body) == (200, {"id_server_unbind_result": "success"})
    assert ("email", a) not in ident.bindings


def test_request_token_and_add_without_email_sending(istack):
    for path in ("/account/3pid/email/requestToken", "/register/email/requestToken",
                 "/account/password/email/requestToken"):
        status, body = istack.request("POST", C + path, {
            "client_secret": "abc", "email": "a@example.org", "send_attempt": 1})
        assert (status, body["errcode"]) == (400, "M_UNKNOWN"), path
    for path in ("/account/3pid/msisdn/requestToken", "/register/msisdn/requestToken",
                 "/account/password/msisdn/requestToken"):
        status, body = istack.request("POST", C + path, {"client_secret": "abc"})
        assert (status, body["errcode"]) == (400, "M_MISSING_PARAM"), path
        status, body = istack.request("POST", C + path, {
            "client_secret": "abc", "country": "GB", "phone_number": "07700900000",
            "send_attempt": 1})
        assert (status, body["errcode"]) == (400, "M_UNKNOWN"), path
    u = user(istack)
    status, body = u.call("POST", "/account/3pid/add", {"client_secret": "abc", "sid": "1"})
    assert status == 401 and "flows" in body
    pw = "pw-" + u.user_id[1:].split(":")[0]
    status, body = u.call("POST", "/account/3pid/add", {
        "client_secret": "abc", "sid": "1", "auth": {
            "type": "m.login.password", "password": pw, "session": body["session"],
            "identifier": {"type": "m.id.user", "user": u.user_id}}})
    assert (status, body["errcode"]) == (400, "M_THREEPID_AUTH_FAILED")


def invite_3pid(u, room, ident, address, **extra):
    return u.call("POST", "/rooms/%s/invite" % q(room), dict({
        "id_server": ident.name, "id_access_token": TOKEN, "medium": "email",
        "address": address}, **extra))


def test_invite_of_a_bound_3pid_invites_its_user(istack, ident):
    alice, bob, a = user(istack), user(istack), email()
    ident.bindings[("email", a)] = bob.user_id
    room = alice.create_room(preset="private_chat")
    assert invite_3pid(alice, room, ident, a) == (200, {})
    assert bob.membership(room, bob.user_id) == "invite" or \
        alice.state(room, "m.room.member", bob.user_id)[1]["membership"] == "invite"
    # createRoom's invite_3pid does the same.
    room2 = alice.create_room(invite_3pid=[{"id_server": ident.name,
                                            "id_access_token": TOKEN,
                                            "medium": "email", "address": a}])
    assert alice.state(room2, "m.room.member", bob.user_id)[1]["membership"] == "invite"


def test_invite_refusals(istack, ident):
    alice, carol = user(istack), user(istack)
    room = alice.create_room(preset="private_chat")
    status, body = alice.call("POST", "/rooms/%s/invite" % q(room),
                              {"medium": "email", "address": email()})
    assert (status, body["errcode"]) == (400, "M_MISSING_PARAM")
    status, body = invite_3pid(alice, room, ident, email(), id_server="no/such")
    assert (status, body["errcode"]) == (400, "M_INVALID_PARAM")
    # Not in the room: refused before the identity server is asked.
    n = len(ident.invites)
    status, body = invite_3pid(carol, room, ident, email())
    assert status == 403
    assert len(ident.invites) == n
    status, body = alice.call("POST", "/createRoom", {"invite_3pid": [{"medium": "email"}]})
    assert (status, body["errcode"]) == (400, "M_MISSING_PARAM")


def pending_invite(alice, ident, address, preset="private_chat"):
    room = alice.create_room(preset=preset)
    assert invite_3pid(alice, room, ident, address) == (200, {})
    stored = ident.invites[-1]
    assert stored["room_id"] == room and stored["sender"] == alice.user_id
    assert stored["address"] == address and stored["room_join_rules"] == "invite"
    return room, stored["token"]


def onbind(stack, ident, bob, address, room, sender, token, key=None, mxid=None):
    invite = {"medium": "email", "address": address, "mxid": bob.user_id, "room_id": room,
              "sender": sender, "signed": ident.signed(
                  {"mxid": mxid or bob.user_id, "token": token}, key)}
    return stack.request("POST", "/_matrix/federation/v1/3pid/onbind", ident.signed({
        "medium": "email", "address": address, "mxid": bob.user_id, "invites": [invite]}))


def test_unbound_invite_then_onbind_then_join(istack, ident):
    alice, bob, a = user(istack), user(istack), email()
    room, token = pending_invite(alice, ident, a)
    status, tpi = alice.state(room, "m.room.third_party_invite", token)
    assert status == 200 and tpi["display_name"] == "B..."
    assert [k["public_key"] for k in tpi["public_keys"]] == ident.public_keys()
    assert tpi["key_validity_url"].startswith("https://" + ident.name)
    # Before the binding bob cannot join the private room.
    assert bob.call("POST", "/rooms/%s/join" % q(room), {})[0] == 403
    ident.bindings[("email", a)] = bob.user_id
    assert onbind(istack, ident, bob, a, room, alice.user_id, token) == (200, {})
    status, m = alice.state(room, "m.room.member", bob.user_id)
    assert m["membership"] == "invite"
    assert m["third_party_invite"]["display_name"] == "B..."
    assert m["third_party_invite"]["signed"]["token"] == token
    # The invite reaches bob's /sync with the inviter's member event in invite_state.
    status, sync = bob.sync()
    assert status == 200
    stripped = sync["rooms"]["invite"][room]["invite_state"]["events"]
    members = {e["state_key"]: e for e in stripped if e["type"] == "m.room.member"}
    assert members[alice.user_id]["content"]["membership"] == "join"
    assert members[bob.user_id]["content"]["third_party_invite"]["display_name"] == "B..."
    bob.ok("POST", "/rooms/%s/join" % q(room), {})
    assert alice.state(room, "m.room.member", bob.user_id)[1]["membership"] == "join"
    # The signed block is in the room's state: replayed, it leaves bob joined.
    assert onbind(istack, ident, bob, a, room, alice.user_id, token) == (200, {})
    assert alice.state(room, "m.room.member", bob.user_id)[1]["membership"] == "join"


def test_onbind_after_the_inviter_left(istack, ident):
    alice, carol, bob, a = user(istack), user(istack), user(istack), email()
    room, token = pending_invite(alice, ident, a)
    alice.room_post(room, "invite", carol.user_id)
    carol.ok("POST", "/rooms/%s/join" % q(room), {})
    alice.ok("POST", "/rooms/%s/leave" % q(room), {})
    assert onbind(istack, ident, bob, a, room, alice.user_id, token) == (200, {})
    bob.ok("POST", "/rooms/%s/join" % q(room), {})
    assert carol.state(room, "m.room.member", bob.user_id)[1]["membership"] == "join"


def test_onbind_refusals(istack, ident):
    alice, bob, a = user(istack), user(istack), email()
    room, token = pending_invite(alice, ident, a)
    other = nacl.signing.SigningKey.generate()
    # Signed by a key the invite does not list.
    status, body = onbind(istack, ident, bob, a, room, alice.user_id, token, key=other)
    assert status == 403, body
    # A token the room has no invite for; a sender who did not invite.
    assert onbind(istack, ident, bob, a, room, alice.user_id, "nope")[0] == 403
    assert onbind(istack, ident, bob, a, room, bob.user_id, token)[0] == 403
    # signed naming another user than the invitee.
    assert onbind(istack, ident, bob, a, room, alice.user_id, token,
                  mxid=alice.user_id)[0] == 403
    # A revoked key: the signature holds but key_validity_url says no.
    ident.revoked.add(ident.public_keys()[0])
    try:
        assert onbind(istack, ident, bob, a, room, alice.user_id, token)[0] == 403
    finally:
        ident.revoked.clear()
    # A room not on this server goes to its server (exchange_third_party_invite):
    # one that does not answer is 502.  And an invite without signed.
    status, body = onbind(istack, ident, bob, a, "!nope:elsewhere.example", alice.user_id,
                          token)
    assert (status, body["errcode"]) == (502, "M_UNKNOWN"), body
    status, body = istack.request("POST", "/_matrix/federation/v1/3pid/onbind", {
        "invites": [{"mxid": bob.user_id, "room_id": room, "sender": alice.user_id}]})
    assert (status, body["errcode"]) == (400, "M_BAD_JSON")
    assert alice.state(room, "m.room.member", bob.user_id)[0] == 404


def test_client_cannot_set_third_party_invite(istack, ident):
    alice, bob, a = user(istack), user(istack), email()
    room, token = pending_invite(alice, ident, a)
    forged = {"display_name": "x", "signed": ident.signed({"mxid": bob.user_id,
                                                           "token": token})}
    status, _ = alice.put_state(room, "m.room.member", {
        "membership": "invite", "third_party_invite": forged}, key=bob.user_id)
    assert status == 200
    m = alice.state(room, "m.room.member", bob.user_id)[1]
    assert m["membership"] == "invite" and "third_party_invite" not in m


def test_join_with_third_party_signed(istack, ident):
    alice, bob, mallory, a = user(istack), user(istack), user(istack), email()
    room, token = pending_invite(alice, ident, a)
    signed = sign({"mxid": bob.user_id, "sender": alice.user_id, "token": token},
                  ident.name, ident.ephemeral)
    # Another user cannot use bob's signed block.
    status, body = mallory.call("POST", "/rooms/%s/join" % q(room),
                                {"third_party_signed": signed})
    assert status == 403, body
    status, body = bob.call("POST", "/rooms/%s/join" % q(room),
                            {"third_party_signed": "x"})
    assert (status, body["errcode"]) == (400, "M_BAD_JSON")
    bad = dict(signed, signatures={ident.name: {"ed25519:0": b64(b"\0" * 64)}})
    assert bob.call("POST", "/rooms/%s/join" % q(room), {"third_party_signed": bad})[0] == 403
    assert bob.call("POST", "/join/%s" % q(room), {"third_party_signed": signed})[0] == 200
    m = alice.state(room, "m.room.member", bob.user_id)[1]
    assert m["membership"] == "join" and "third_party_invite" not in m


@pytest.fixture(scope="module")
def closed_stack(ca):
    """A stack trusting the CA but not allowed to reach loopback."""
    s = start_stack(extra_conf="identity_ca_file = %s/ca.crt\n" % ca)
    yield s
    stop_stack(s)


def test_loopback_refused_unless_allowed_and_certificate_checked(closed_stack, istack, ident):
    u, a = user(closed_stack), email()
    status, body = bind(u, ident, a)
    assert status == 502, body
    assert ("email", a) not in ident.bindings
    # Allowed to reach it, but without the CA: the certificate does not verify.
    s = start_stack(extra_conf="identity_allow_ips = 127.0.0.0/8\n")
    try:
        u2 = user(s)
        assert bind(u2, ident, a)[0] == 502
        assert ("email", a) not in ident.bindings
    finally:
        stop_stack(s)
