/* Login, token refresh and logout. */
#include <stdlib.h>
#include <string.h>

#include "appsvc/appsvc.h"
#include "auth/auth.h"
#include "clock/clock.h"
#include "crypto/crypto.h"
#include "extern.h"
#include "fed/fed.h"
#include "json/json.h"
#include "ratelimit/ratelimit.h"
#include "store/store.h"

/* Spec: C-S API, "Login via existing session": a login token lives two minutes. */
#define LOGIN_TOKEN_LIFETIME_MS	(2 * 60 * 1000)

static const char *const stage_password[] = { "m.login.password", NULL };
static const struct muia_flow flows_password[] = { { stage_password } };

/*
 * Spec: C-S API, GET /login: m.login.password, and m.login.token with
 * get_login_token when login_via_existing_session is on.
 */
int
h_login_flows(struct mreq *req)
{
	json_t *f;

	if (req->conf->login_via_existing_session)
		f = json_pack("{s:[{s:s},{s:s,s:b}]}", "flows",
		    "type", "m.login.password", "type", "m.login.token",
		    "get_login_token", 1);
	else
		f = json_pack("{s:[{s:s}]}", "flows", "type", "m.login.password");
	/* Spec: "Appservice Login", offered when services are registered. */
	if (f != NULL && req->conf->appservicesz > 0)
		json_array_append_new(json_object_get(f, "flows"),
		    json_pack("{s:s}", "type", "m.login.application_service"));
	return mfcgi_reply(req, 200, f);
}

/*
 * Spec: C-S API, POST /_matrix/client/v1/login/get_token (v1.7):
 * behind user-interactive auth (the user's password), {login_token,
 * expires_in_ms}: a token for one m.login.token login within two
 * minutes, kept as its hash.  Off unless login_via_existing_session:
 * then 404 M_UNRECOGNIZED, as for an endpoint not served (the spec lets
 * a server leave it out; m.get_login_token says which).
 */
int
h_login_get_token(struct mreq *req)
{
	char	*session = NULL, *tok = NULL, *hash = NULL;
	int64_t	 now = mclock_now_ms();
	int	 rc;

	if (!req->conf->login_via_existing_session)
		return mfcgi_fail(req, MERR_UNRECOGNIZED, "Unrecognized request");
	if (req->auth.is_guest)
		return mfcgi_fail(req, MERR_GUEST_ACCESS_FORBIDDEN, "Guests cannot get login tokens");
	rc = mauth_uia(req, "login_token", req->auth.user_id, NULL, flows_password, 1, &session);
	if (rc != 1) {
		free(session);
		return rc;
	}
	rc = -1;
	if ((tok = mcrypto_random_string(32)) == NULL ||
	    (hash = mcrypto_token_hash(tok)) == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	if (mdb_begin(req->db) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: cannot begin", __func__);
		goto out;
	}
	free(mauth_uia_done(req, session));
	if (mstore_login_token_add(req->db, hash, req->auth.user_id,
	    now + LOGIN_TOKEN_LIFETIME_MS, now) == -1 || mdb_commit(req->db) == -1) {
		mdb_rollback(req->db);
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	rc = mfcgi_reply(req, 200, json_pack("{s:s,s:i}", "login_token", tok,
	    "expires_in_ms", LOGIN_TOKEN_LIFETIME_MS));
out:
	free(session);
	free(tok);
	free(hash);
	return rc;
}

/*
 * Spec: C-S API, POST /login with m.login.token: the token is used up
 * whether or not the login then succeeds.  Unknown, used or expired:
 * 403 M_FORBIDDEN, as Synapse.  *user_id (malloc'd) gets its user.
 * 0, or -1 with the request failed.
 */
static int
login_token(struct mreq *req, char **user_id)
{
	const char	*t = mjson_str(req->body, "token");
	struct muser	 u;
	char		*hash;
	int		 rc, deactivated;

	*user_id = NULL;
	if (!req->conf->login_via_existing_session)
		return mfcgi_fail(req, MERR_UNKNOWN, "Unknown login type m.login.token");
	if (t == NULL)
		return mfcgi_fail(req, MERR_MISSING_PARAM, "Missing token");
	if ((hash = mcrypto_token_hash(t)) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	rc = mstore_login_token_take(req->db, hash, mclock_now_ms(), user_id);
	free(hash);
	if (rc == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (rc == 0)
		return mfcgi_fail(req, MERR_FORBIDDEN, "Invalid login token");
	/* The account may have been deactivated since the token was made. */
	if ((rc = mstore_user_get(req->db, *user_id, &u)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	deactivated = rc == 0 || u.deactivated;
	if (rc == 1)
		muser_fini(&u);
	if (deactivated)
		return mfcgi_fail(req, MERR_USER_DEACTIVATED, "This account has been deactivated");
	return 0;
}

/*
 * Spec: C-S API, "Appservice Login": the as_token of a service logs in
 * as a user of its namespace that exists (Synapse: 401 without the
 * token, 403 outside the namespace).  0 with *user_id, or -1.
 */
static int
login_appservice(struct mreq *req, char **user_id)
{
	const struct mappsvc	*as;
	const json_t		*ident = json_object_get(req->body, "identifier");
	const char		*name;
	struct muser		 u;
	int			 rc;

	if (req->token == NULL)
		return mfcgi_fail(req, MERR_MISSING_TOKEN, "Missing access token");
	if ((as = mappsvc_by_token(req->conf, req->token)) == NULL)
		return mfcgi_fail(req, MERR_UNKNOWN_TOKEN, "Unrecognised access token");
	if (ident != NULL && (!json_is_object(ident) || mjson_str(ident, "type") == NULL ||
	    strcmp(mjson_str(ident, "type"), "m.id.user") != 0))
		return mfcgi_fail(req, MERR_UNKNOWN, "Unknown identifier type");
	name = ident != NULL ? mjson_str(ident, "user") : mjson_str(req->body, "user");
	if (name == NULL)
		return mfcgi_fail(req, MERR_MISSING_PARAM, "Missing user");
	if ((*user_id = mauth_user_id(name, req->conf->server_name)) == NULL ||
	    !mappsvc_user_ok(as, *user_id))
		return mfcgi_fail(req, MERR_FORBIDDEN,
		    "An application service may only log in as users in its namespace");
	if ((rc = mstore_user_get(req->db, *user_id, &u)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (rc == 0)
		return mfcgi_fail(req, MERR_FORBIDDEN, "Invalid username or password");
	rc = u.deactivated;
	muser_fini(&u);
	if (rc)
		return mfcgi_fail(req, MERR_USER_DEACTIVATED, "This account has been deactivated");
	return 0;
}

/*
 * Spec: C-S API, POST /login.  m.login.password with identifier m.id.user
 * or the legacy top-level "user".  Wrong user or password: 403 M_FORBIDDEN
 * (the same answer, as slow, for both, so user names do not leak); a
 * deactivated account: 403 M_USER_DEACTIVATED; a locked one 401
 * M_USER_LOCKED.  m.login.token takes a token of login/get_token.  device_id and
 * initial_device_display_name have Synapse's limits (mauth_device_check).
 */
int
h_login(struct mreq *req)
{
	json_t		*b = req->body, *ident, *out = NULL;
	const char	*type = mjson_str(b, "type"), *name = NULL, *pw, *itype;
	const char	*device_id = mjson_str(b, "device_id");
	const char	*devname = mjson_str(b, "initial_device_display_name");
	char		*user_id = NULL;
	int		 rc = -1, locked, suspended;

	if (type == NULL)
		return mfcgi_fail(req, MERR_MISSING_PARAM, "Missing type");
	/* Synapse: every attempt counts against the address, before anything. */
	if (mratelimit_take(req, MRC_LOGIN_ADDRESS, req->remote_addr) == -1)
		return -1;
	if (strcmp(type, "m.login.token") == 0) {
		if (json_object_get(b, "device_id") != NULL && device_id == NULL)
			return mfcgi_fail(req, MERR_INVALID_PARAM, "device_id must be a string");
		if (mauth_device_check(req, device_id, devname) == -1 ||
		    login_token(req, &user_id) == -1)
			goto out;
		goto session;
	}
	if (strcmp(type, "m.login.application_service") == 0) {
		if (json_object_get(b, "device_id") != NULL && device_id == NULL)
			return mfcgi_fail(req, MERR_INVALID_PARAM, "device_id must be a string");
		if (mauth_device_check(req, device_id, devname) == -1 ||
		    login_appservice(req, &user_id) == -1)
			goto out;
		goto session;
	}
	if (strcmp(type, "m.login.password") != 0)
		return mfcgi_fail(req, MERR_UNKNOWN, "Unknown login type %s", type);
	if ((ident = json_object_get(b, "identifier")) != NULL) {
		if (!json_is_object(ident) || (itype = mjson_str(ident, "type")) == NULL)
			return mfcgi_fail(req, MERR_BAD_JSON, "Invalid identifier");
		if (strcmp(itype, "m.id.user") != 0)
			return mfcgi_fail(req, MERR_UNKNOWN, "Unknown identifier type");
		name = mjson_str(ident, "user");
	} else
		name = mjson_str(b, "user");
	pw = mjson_str(b, "password");
	if (name == NULL || pw == NULL)
		return mfcgi_fail(req, MERR_MISSING_PARAM, "Missing user or password");
	if (json_object_get(b, "device_id") != NULL && device_id == NULL)
		return mfcgi_fail(req, MERR_INVALID_PARAM, "device_id must be a string");
	if (mauth_device_check(req, device_id, devname) == -1)
		return -1;
	if ((user_id = mauth_user_id(name, req->conf->server_name)) == NULL)
		return mfcgi_fail(req, MERR_FORBIDDEN, "Invalid username or password");
	switch (mauth_login_limited(req, user_id, pw)) {
	case MAUTH_LOGIN_OK:
		break;
	case MAUTH_LOGIN_LIMITED:
		goto out;
	case MAUTH_LOGIN_WRONG:
		mfcgi_fail(req, MERR_FORBIDDEN, "Invalid username or password");
		goto out;
	case MAUTH_LOGIN_DEACTIVATED:
		/* As Synapse: say why, rather than let the password seem wrong. */
		mfcgi_fail(req, MERR_USER_DEACTIVATED, "This account has been deactivated");
		goto out;
	case MAUTH_LOGIN_ERROR:
	default:
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
session:
	/* Spec: C-S API, "Account locking": a locked account cannot log in. */
	if (mstore_user_flags(req->db, user_id, &locked, &suspended) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	if (locked) {
		mfcgi_fail(req, MERR_USER_LOCKED, "This account has been locked");
		goto out;
	}
	if ((out = json_object()) == NULL || mdb_begin(req->db) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: cannot begin", __func__);
		goto out;
	}
	if (mauth_session_new(req, user_id, device_id, devname,
	    json_is_true(json_object_get(b, "refresh_token")), out) == -1) {
		mdb_rollback(req->db);
		goto out;
	}
	if (mdb_commit(req->db) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: commit failed", __func__);
		goto out;
	}
	rc = mfcgi_reply(req, 200, out);
	out = NULL;
out:
	json_decref(out);
	free(user_id);
	return rc;
}

/*
 * Spec: C-S API, POST /refresh.  A new pair is returned and the access
 * token issued with the old refresh token stops working at once; the old
 * refresh token stays valid until the new access or refresh token is used
 * (mfcgi_authenticate, mstore_refresh_use), at which point it is revoked.
 * Using it again before that gives another new pair, and the unused one
 * it replaces goes.
 */
int
h_refresh(struct mreq *req)
{
	const char	*rt = mjson_str(req->body, "refresh_token");
	char		*hash = NULL, *nhash = NULL, *user_id = NULL, *device_id = NULL;
	json_t		*out = NULL;
	int64_t		 id;
	int		 rc = -1, taken;

	if (rt == NULL)
		return mfcgi_fail(req, MERR_MISSING_PARAM, "Missing refresh_token");
	if ((hash = mcrypto_token_hash(rt)) == NULL || (out = json_object()) == NULL ||
	    mdb_begin(req->db) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: cannot begin", __func__);
		goto out;
	}
	if ((taken = mstore_refresh_use(req->db, hash, &id, &user_id, &device_id)) != 1) {
		mdb_rollback(req->db);
		if (taken == 0)
			mfcgi_fail(req, MERR_UNKNOWN_TOKEN, "Unknown refresh token");
		else
			mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	if (mauth_session_new(req, user_id, device_id, NULL, 1, out) == -1) {
		mdb_rollback(req->db);
		goto out;
	}
	if ((nhash = mcrypto_token_hash(mjson_str(out, "refresh_token"))) == NULL ||
	    mstore_refresh_link(req->db, id, nhash) == -1) {
		mdb_rollback(req->db);
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	if (mdb_commit(req->db) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: commit failed", __func__);
		goto out;
	}
	/* Spec: the response holds only the tokens and their lifetime. */
	json_object_del(out, "user_id");
	json_object_del(out, "device_id");
	json_object_del(out, "home_server");
	rc = mfcgi_reply(req, 200, out);
	out = NULL;
out:
	json_decref(out);
	free(hash);
	free(nhash);
	free(user_id);
	free(device_id);
	return rc;
}

/* Spec: C-S API, POST /logout: the token stops working and its device goes. */
int
h_logout(struct mreq *req)
{
	if (mdb_begin(req->db) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: cannot begin", __func__);
	if (mstore_device_del(req->db, req->auth.user_id, req->auth.device_id) == -1 ||
	    (req->auth.device_id != NULL && mfed_edu_devices(req->db, req->conf->server_name,
	    req->auth.user_id, req->auth.device_id, 1) == -1) || mdb_commit(req->db) == -1) {
		mdb_rollback(req->db);
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	}
	return mfcgi_reply(req, 200, json_object());
}

/* Spec: C-S API, POST /logout/all. */
int
h_logout_all(struct mreq *req)
{
	if (mdb_begin(req->db) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: cannot begin", __func__);
	if (mstore_device_del_all(req->db, req->auth.user_id, NULL) == -1 ||
	    mdb_commit(req->db) == -1) {
		mdb_rollback(req->db);
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	}
	return mfcgi_reply(req, 200, json_object());
}
