/* whoami, password change and deactivation. */
#include <stdlib.h>
#include <string.h>

#include "admin/admin.h"
#include "auth/auth.h"
#include "crypto/crypto.h"
#include "extern.h"
#include "json/json.h"
#include "store/store.h"

static const char *const stage_password[] = { "m.login.password", NULL };
static const struct muia_flow flows_password[] = { { stage_password } };

/* Spec: C-S API, GET /account/whoami. */
int
h_whoami(struct mreq *req)
{
	/* An application service's requests have no device: none is named. */
	return mfcgi_reply(req, 200, json_pack("{s:s,s:s*,s:b}",
	    "user_id", req->auth.user_id, "device_id", req->auth.device_id,
	    "is_guest", req->auth.is_guest));
}

/*
 * Spec: C-S API, POST /account/password, behind UIA (m.login.password).
 * logout_devices (default true) ends every other session of the user.
 */
int
h_password(struct mreq *req)
{
	json_t		*lo = json_object_get(req->body, "logout_devices"), *params;
	const char	*pw = mjson_str(req->body, "new_password");
	char		*session = NULL, *hash = NULL, *tok;
	int		 rc, logout = lo == NULL || json_is_true(lo);

	if (req->auth.is_guest)
		return mfcgi_fail(req, MERR_GUEST_ACCESS_FORBIDDEN, "Guests cannot change passwords");
	if (pw == NULL)
		return mfcgi_fail(req, MERR_MISSING_PARAM, "Missing new_password");
	if (strlen(pw) > 512)
		return mfcgi_fail(req, MERR_INVALID_PARAM, "Password too long");
	/*
	 * The session is bound to logout_devices; not to new_password, a
	 * secret the session row would keep, whose change would not widen
	 * what the user agreed to: changing their own password.
	 */
	if ((params = json_pack("{s:b}", "logout_devices", logout)) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	rc = mauth_uia(req, "password", req->auth.user_id, params, flows_password, 1, &session);
	json_decref(params);
	if (rc != 1) {
		free(session);
		return rc;
	}
	rc = -1;
	if ((hash = mcrypto_password_hash(pw)) == NULL || mdb_begin(req->db) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: cannot begin", __func__);
		goto out;
	}
	tok = mauth_uia_done(req, session);
	free(tok);
	if (mstore_user_set_password(req->db, req->auth.user_id, hash) != 1 ||
	    (logout && mstore_device_del_all(req->db, req->auth.user_id,
	    req->auth.device_id) == -1) || mdb_commit(req->db) == -1) {
		mdb_rollback(req->db);
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	rc = mfcgi_reply(req, 200, json_object());
out:
	free(session);
	free(hash);
	return rc;
}

/*
 * Spec: C-S API, POST /account/deactivate, behind UIA (bound to erase).
 * The account is deactivated as the admin API and myelin-admin do it
 * (madmin_user_deactivate): every session and pusher ends, the user
 * leaves every room and declines every invite; with erase, the profile
 * goes too and the account is marked erased.
 */
int
h_deactivate(struct mreq *req)
{
	struct madmin	 a;
	json_t		*params;
	const char	*ids;
	char		*session = NULL, *tok;
	int		 rc, all, erase = json_is_true(json_object_get(req->body, "erase"));

	if ((params = json_pack("{s:b}", "erase", erase)) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	/* Synapse: an application service deactivates its users without UIA. */
	rc = req->auth.appservice != NULL ? 1 : mauth_uia(req, "deactivate", req->auth.user_id,
	    params, flows_password, 1, &session);
	json_decref(params);
	if (rc != 1) {
		free(session);
		return rc;
	}
	/* Spec: the 3PIDs bound through here are unbound first (h_3pid.c). */
	ids = mjson_str(req->body, "id_server");
	if (threepid_unbind_all(req, ids, &all) == -1) {
		free(session);
		return -1;
	}
	memset(&a, 0, sizeof(a));
	a.db = req->db;
	a.conf = req->conf;
	a.key = req->srv->key;
	if (madmin_user_deactivate(&a, req->auth.user_id, erase) != MADMIN_OK) {
		free(session);
		return mfcgi_fail(req, MERR_INTERNAL, "%s: deactivation failed: %s", __func__,
		    a.why);
	}
	/* The session goes after the deactivation, so that a failure can be retried. */
	tok = session != NULL ? mauth_uia_done(req, session) : NULL;
	free(tok);
	free(session);
	/*
	 * Spec: "success" when the identity servers unbound every 3PID
	 * (Synapse: also when there was none), else "no-support".
	 */
	return mfcgi_reply(req, 200, json_pack("{s:s}", "id_server_unbind_result",
	    all ? "success" : "no-support"));
}
