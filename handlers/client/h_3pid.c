/*
 * Third-party identifiers: binding through identity servers, unbinding,
 * the requestToken endpoints (no email or SMS is sent here), and
 * third-party invites (POST /invite with a 3PID, createRoom's
 * invite_3pid, /join with third_party_signed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "clock/clock.h"
#include "extern.h"
#include "ident/ident.h"
#include "json/json.h"
#include "log/log.h"
#include "rooms.h"
#include "store/store.h"

static const char *const stage_password[] = { "m.login.password", NULL };
static const struct muia_flow flows_password[] = { { stage_password } };

/* The identity server's own error, as Synapse passes it on. */
static int
ident_fail(struct mreq *req, const struct mident_err *e)
{
	return mfcgi_fail_as(req, (int)e->status, e->errcode, e->error);
}

/*
 * The string member key of req's body: 400 M_MISSING_PARAM when absent
 * (or not a string), NULL returned after failing the request.
 */
static const char *
need_str(struct mreq *req, const json_t *obj, const char *key)
{
	const char *s = mjson_str(obj, key);

	if (s == NULL)
		mfcgi_fail(req, json_object_get(obj, key) == NULL ? MERR_MISSING_PARAM :
		    MERR_BAD_JSON, "Missing or invalid %s", key);
	return s;
}

/*
 * Spec: C-S API, GET /account/3pid: the 3PIDs the homeserver associates
 * with the account.  myelin can add none (no email or SMS is sent, see
 * the requestToken endpoints), and Synapse lists only those, not the
 * ones bound at identity servers: an empty list.
 */
int
h_3pid_list(struct mreq *req)
{
	return mfcgi_reply(req, 200, json_pack("{s:[]}", "threepids"));
}

/*
 * Spec: C-S API, POST /account/3pid/bind: the identity server binds the
 * session's 3PID to the user (Identity Service API, POST /3pid/bind,
 * with id_access_token); the binding is remembered so that unbinding
 * and deactivation know the server.  400 M_MISSING_PARAM,
 * M_INVALID_PARAM (client_secret, id_server); the identity server's
 * error as it gave it; 502 when it cannot be reached.
 */
int
h_3pid_bind(struct mreq *req)
{
	struct mident_err	 e;
	const char		*ids, *tok, *sid, *secret;
	char			*medium = NULL, *address = NULL;
	int			 rc;

	if (req->auth.is_guest)
		return mfcgi_fail(req, MERR_GUEST_ACCESS_FORBIDDEN, "Guests cannot bind 3PIDs");
	if ((ids = need_str(req, req->body, "id_server")) == NULL ||
	    (tok = need_str(req, req->body, "id_access_token")) == NULL ||
	    (sid = need_str(req, req->body, "sid")) == NULL ||
	    (secret = need_str(req, req->body, "client_secret")) == NULL)
		return -1;
	if (!mident_secret_check(secret))
		return mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid client_secret parameter");
	if (!mident_server_check(ids))
		return mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid id_server");
	if (mident_bind(req->conf, ids, tok, sid, secret, req->auth.user_id, &medium, &address,
	    &e) != MIDENT_OK)
		return ident_fail(req, &e);
	if (mstore_binding_put(req->db, req->auth.user_id, medium, address, ids,
	    mclock_now_ms()) == -1)
		rc = mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	else
		rc = mfcgi_reply(req, 200, json_object());
	free(medium);
	free(address);
	return rc;
}

/*
 * Unbinds (medium, address) of the user at id_server, or when NULL at
 * every identity server it was bound through here, and forgets those
 * bindings (Synapse forgets one whatever the identity server said, once
 * it answered).  1 when every server unbound it, 0 when one did not
 * support it or none is known ("no-support"), -1 after failing the
 * request (502: an identity server did not answer).
 */
static int
unbind(struct mreq *req, const char *medium, const char *address, const char *id_server)
{
	struct mstore_binding	*b = NULL;
	size_t			 n = 0, i;
	int			 all = 1, r;

	if (id_server == NULL && mstore_binding_list(req->db, req->auth.user_id, medium,
	    address, &b, &n) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (id_server == NULL && n == 0)
		return 0;
	for (i = 0; i < (id_server != NULL ? 1 : n); i++) {
		const char *ids = id_server != NULL ? id_server : b[i].id_server;

		if ((r = mident_unbind(req->conf, req->srv->key, ids, req->auth.user_id, medium,
		    address)) == -1) {
			mstore_binding_free(b, n);
			return mfcgi_fail(req, MERR_BAD_GATEWAY, "Failed to contact identity server");
		}
		all &= r;
		if (mstore_binding_del(req->db, req->auth.user_id, medium, address, ids) == -1) {
			mstore_binding_free(b, n);
			return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		}
	}
	mstore_binding_free(b, n);
	return all;
}

/* POST /account/3pid/unbind and /delete: the body's medium, address, id_server. */
static int
unbind_request(struct mreq *req)
{
	const char	*medium, *address, *ids = mjson_str(req->body, "id_server");
	int		 r;

	if ((medium = need_str(req, req->body, "medium")) == NULL ||
	    (address = need_str(req, req->body, "address")) == NULL)
		return -1;
	if (json_object_get(req->body, "id_server") != NULL &&
	    !json_is_null(json_object_get(req->body, "id_server")) && !mident_server_check(ids))
		return mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid id_server");
	if ((r = unbind(req, medium, address, ids)) == -1)
		return -1;
	return mfcgi_reply(req, 200, json_pack("{s:s}", "id_server_unbind_result",
	    r == 1 ? "success" : "no-support"));
}

/*
 * Spec: C-S API, POST /account/3pid/unbind: at id_server, or at every
 * identity server the 3PID was bound through here; "no-support" when
 * none is known or one answered 400, 404 or 501 (Synapse).
 */
int
h_3pid_unbind(struct mreq *req)
{
	return unbind_request(req);
}

/*
 * Spec: C-S API, POST /account/3pid/delete: removes the 3PID from the
 * account (myelin keeps none) and unbinds it as /unbind does.
 */
int
h_3pid_delete(struct mreq *req)
{
	return unbind_request(req);
}

/*
 * Deactivation (POST /account/deactivate): every 3PID the user bound
 * through here is unbound, at id_server when given, else where it was
 * bound.  0 with *all 1 when each unbinding succeeded, -1 after failing
 * the request (Synapse: 400 "Failed to remove threepid from ID server"
 * when one cannot be reached, and the account stays).
 */
int
threepid_unbind_all(struct mreq *req, const char *id_server, int *all)
{
	struct mstore_binding	*b = NULL;
	size_t			 n = 0, i;
	int			 r;

	*all = 1;
	if (id_server != NULL && !mident_server_check(id_server))
		return mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid id_server");
	if (mstore_binding_list(req->db, req->auth.user_id, NULL, NULL, &b, &n) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	for (i = 0; i < n; i++) {
		const char *ids = id_server != NULL ? id_server : b[i].id_server;

		if ((r = mident_unbind(req->conf, req->srv->key, ids, req->auth.user_id,
		    b[i].medium, b[i].address)) == -1) {
			mstore_binding_free(b, n);
			return mfcgi_fail(req, MERR_UNKNOWN, "Failed to remove threepid from ID server");
		}
		*all &= r;
		if (mstore_binding_del(req->db, req->auth.user_id, b[i].medium, b[i].address,
		    b[i].id_server) == -1) {
			mstore_binding_free(b, n);
			return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		}
	}
	mstore_binding_free(b, n);
	return 0;
}

/*
 * Spec: C-S API, POST /account/3pid/add, behind UIA: adds a 3PID whose
 * validation session this server ran.  myelin runs none (it sends no
 * email or SMS), so after UIA every session is unknown: 400
 * M_THREEPID_AUTH_FAILED "No validated 3pid session found", as Synapse
 * answers without an email config or a msisdn delegate.
 */
int
h_3pid_add(struct mreq *req)
{
	const char	*secret;
	char		*session = NULL;
	int		 rc;

	if ((secret = need_str(req, req->body, "client_secret")) == NULL ||
	    need_str(req, req->body, "sid") == NULL)
		return -1;
	if (!mident_secret_check(secret))
		return mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid client_secret parameter");
	rc = mauth_uia(req, "3pid-add", req->auth.user_id, NULL, flows_password, 1, &session);
	if (rc != 1) {
		free(session);
		return rc;
	}
	free(mauth_uia_done(req, session));
	free(session);
	return mfcgi_fail_as(req, 400, "M_THREEPID_AUTH_FAILED", "No validated 3pid session found");
}

/*
 * The requestToken endpoints, as Synapse 1.67 answers them with no
 * email sending configured and no msisdn delegate: 400 M_UNKNOWN.  The
 * msisdn ones check their parameters first, as Synapse does.
 */
int
h_3pid_email_token(struct mreq *req)
{
	return mfcgi_fail(req, MERR_UNKNOWN,
	    "Adding an email to your account is disabled on this server");
}

int
h_register_email_token(struct mreq *req)
{
	return mfcgi_fail(req, MERR_UNKNOWN,
	    "Email-based registration has been disabled on this server");
}

static int
msisdn_params(struct mreq *req)
{
	static const char *const need[] = { "client_secret", "country", "phone_number",
	    "send_attempt" };

	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (json_object_get(req->body, need[i]) == NULL)
			return mfcgi_fail(req, MERR_MISSING_PARAM, "Missing params: %s", need[i]);
	if (!mident_secret_check(mjson_str(req->body, "client_secret")))
		return mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid client_secret parameter");
	return 0;
}

int
h_3pid_msisdn_token(struct mreq *req)
{
	if (msisdn_params(req) == -1)
		return -1;
	return mfcgi_fail(req, MERR_UNKNOWN,
	    "Adding phone numbers to user account is not supported by this homeserver");
}

/* Password resets: the same, with Synapse's words (it checks nothing first). */
int
h_password_email_token(struct mreq *req)
{
	return mfcgi_fail(req, MERR_UNKNOWN,
	    "Email-based password resets have been disabled on this server");
}

int
h_password_msisdn_token(struct mreq *req)
{
	if (msisdn_params(req) == -1)
		return -1;
	return mfcgi_fail(req, MERR_UNKNOWN,
	    "Password resets by phone number are not supported on this homeserver");
}

int
h_register_msisdn_token(struct mreq *req)
{
	if (msisdn_params(req) == -1)
		return -1;
	return mfcgi_fail(req, MERR_UNKNOWN,
	    "Registration by phone number is not supported on this homeserver");
}

int
room_3pid_invite_keys(const json_t *body)
{
	return json_object_get(body, "medium") != NULL && json_object_get(body, "address") != NULL;
}

int
room_3pid_invite_check(struct mreq *req, const json_t *inv)
{
	const char *ids;

	if (json_object_get(inv, "id_server") == NULL ||
	    json_object_get(inv, "id_access_token") == NULL)
		return mfcgi_fail(req, MERR_MISSING_PARAM,
		    "`id_server` and `id_access_token` are required when doing 3pid invite");
	if ((ids = need_str(req, inv, "id_server")) == NULL ||
	    need_str(req, inv, "id_access_token") == NULL ||
	    need_str(req, inv, "medium") == NULL || need_str(req, inv, "address") == NULL)
		return -1;
	if (!mident_server_check(ids))
		return mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid id_server");
	return 0;
}

/* A string of the room's current state, into body as key (when set). */
static void
state_str(struct mroom_ctx *ctx, const char *room_id, const char *type, const char *ckey,
    json_t *body, const char *key)
{
	json_t		*ev;
	const char	*s;
	int		 err;

	if ((ev = mroom_state_get(ctx, room_id, type, "", &err)) == NULL)
		return;
	if ((s = mjson_str(json_object_get(ev, "content"), ckey)) != NULL)
		json_object_set_new(body, key, json_string(s));
	json_decref(ev);
}

/* Invites mxid, a user the identity server named, as POST /invite would. */
static int
invite_found(struct mreq *req, const char *room_id, const char *mxid)
{
	struct muser	 u;
	json_t		*c;
	char		*eid = NULL;
	int		 rc;

	if (strcmp(strchr(mxid, ':') + 1, req->conf->server_name) != 0)
		return mfcgi_fail(req, MERR_FORBIDDEN,
		    "Inviting users of other servers needs federation, not available yet");
	if ((rc = mstore_user_get(req->db, mxid, &u)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	muser_fini(&u);
	if (rc == 0)
		return mfcgi_fail(req, MERR_NOT_FOUND, "Unknown user");
	if ((c = json_pack("{s:s}", "membership", "invite")) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	rc = room_send1(req, room_id, "m.room.member", mxid, c, NULL, NULL, &eid);
	json_decref(c);
	free(eid);
	return rc;
}

/*
 * Spec: C-S API, "Third-party invites": the identity server looks the
 * 3PID up; bound, the user it names is invited; not bound (or the
 * lookup failed, as Synapse treats it), the identity server stores the
 * invite (POST /store-invite, with what the room's state and the
 * inviter's profile say) and its answer becomes an
 * m.room.third_party_invite state event whose state key is the token.
 * The inviter must be joined: 403/404 before the identity server is
 * asked.  0, or -1 after failing the request.
 */
int
room_3pid_invite(struct mreq *req, const char *room_id, const json_t *inv)
{
	struct mroom_ctx	 ctx;
	struct mident_err	 e;
	struct muser		 u;
	json_t			*body = NULL, *content = NULL;
	const char		*ids, *tok, *medium, *address;
	char			*mxid = NULL, *token = NULL, *eid = NULL;
	int			 rc = -1;

	if (room_3pid_invite_check(req, inv) == -1)
		return -1;
	ids = mjson_str(inv, "id_server");
	tok = mjson_str(inv, "id_access_token");
	medium = mjson_str(inv, "medium");
	address = mjson_str(inv, "address");
	if (room_require_joined(req, room_id) != 1)
		return -1;
	/* Synapse: a shadow-banned inviter's 3PID invite answers as if sent. */
	if (req->auth.is_shadow_banned)
		return 0;
	if (mident_lookup(req->conf, ids, tok, medium, address, &mxid) == 1) {
		rc = invite_found(req, room_id, mxid);
		free(mxid);
		return rc;
	}
	room_ctx(req, &ctx);
	if ((body = json_pack("{s:s,s:s,s:s,s:s}", "medium", medium, "address", address,
	    "room_id", room_id, "sender", req->auth.user_id)) == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	state_str(&ctx, room_id, "m.room.canonical_alias", "alias", body, "room_alias");
	state_str(&ctx, room_id, "m.room.avatar", "url", body, "room_avatar_url");
	state_str(&ctx, room_id, "m.room.join_rules", "join_rule", body, "room_join_rules");
	state_str(&ctx, room_id, "m.room.name", "name", body, "room_name");
	state_str(&ctx, room_id, "m.room.create", "type", body, "room_type");
	if (mstore_user_get(req->db, req->auth.user_id, &u) == 1) {
		if (u.displayname != NULL)
			json_object_set_new(body, "sender_display_name",
			    json_string(u.displayname));
		if (u.avatar_url != NULL)
			json_object_set_new(body, "sender_avatar_url", json_string(u.avatar_url));
		muser_fini(&u);
	}
	if (mident_store_invite(req->conf, ids, tok, body, &content, &token, &e) != MIDENT_OK) {
		ident_fail(req, &e);
		goto out;
	}
	if (room_send1(req, room_id, "m.room.third_party_invite", token, content, NULL, NULL,
	    &eid) == -1)
		goto out;
	rc = 0;
out:
	json_decref(body);
	json_decref(content);
	free(token);
	free(eid);
	return rc;
}

/*
 * Spec: C-S API, POST /join with third_party_signed: the signed block
 * turns the room's m.room.third_party_invite into an invite of the
 * user (mident_exchange, Synapse's exchange_third_party_invite) before
 * the join.  0, or -1 after failing the request: 400 M_BAD_JSON for a
 * malformed block, 403 for a signature or key that does not hold, 404
 * for a room not on this server.
 */
int
room_3pid_exchange(struct mreq *req, const char *room_id, const json_t *tps)
{
	struct mroom_ctx	 ctx;
	enum mroom_err		 e;
	char			*eid = NULL;

	if (!json_is_object(tps) || mjson_str(tps, "sender") == NULL)
		return mfcgi_fail(req, MERR_BAD_JSON, "third_party_signed needs a sender");
	room_ctx(req, &ctx);
	e = mident_exchange(&ctx, req->conf, room_id, mjson_str(tps, "sender"),
	    req->auth.user_id, tps, &eid);
	free(eid);
	if (e == MROOM_NO_ROOM)
		return mfcgi_fail(req, MERR_NOT_FOUND, "Unknown room");
	return e == MROOM_OK ? 0 : room_fail(req, &ctx, e);
}
