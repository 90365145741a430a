/* Registration: POST /register with UIA, availability, token validity. */
#include <stdlib.h>
#include <string.h>

#include "appsvc/appsvc.h"
#include "auth/auth.h"
#include "clock/clock.h"
#include "crypto/crypto.h"
#include "extern.h"
#include "json/json.h"
#include "ratelimit/ratelimit.h"
#include "store/store.h"

static const char *const stage_dummy[] = { "m.login.dummy", NULL };
static const char *const stage_token[] = { "m.login.registration_token", NULL };
static const struct muia_flow flows_open[] = { { stage_dummy } };
static const struct muia_flow flows_token[] = { { stage_token } };

/*
 * Checks a requested username: the user ID it makes (malloc'd) or NULL
 * with the request failed.  Spec: 400 M_INVALID_USERNAME for a bad name,
 * M_USER_IN_USE for a taken one.  lower: capitals are lower-cased first
 * ("user-UPPER" is @user-upper), as Synapse does on POST /register, not
 * on GET /register/available (where capitals are M_INVALID_USERNAME).
 */
static char *
wanted_user_id(struct mreq *req, const char *username, int lower)
{
	struct muser	 u;
	char		*id = NULL, *lp, *p;
	int		 rc;

	if ((lp = strdup(username)) == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		return NULL;
	}
	/* ASCII only: any other byte is refused by the check below anyway. */
	for (p = lp; lower && *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	if (lp[0] == '_' || !mauth_localpart_check(lp, req->conf->server_name)) {
		free(lp);
		mfcgi_fail(req, MERR_INVALID_USERNAME,
		    "User ID can only contain characters a-z, 0-9, or '=_-./+'");
		return NULL;
	}
	rc = asprintf(&id, "@%s:%s", lp, req->conf->server_name);
	free(lp);
	if (rc == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		return NULL;
	}
	/* Spec: Application Service API, exclusive user namespaces. */
	if (mappsvc_exclusive(req->conf, MAPPSVC_USERS, id, NULL) != NULL) {
		free(id);
		mfcgi_fail(req, MERR_EXCLUSIVE, "This user ID is reserved by an application service.");
		return NULL;
	}
	if ((rc = mstore_user_get(req->db, id, &u)) != 0) {
		if (rc == 1)
			mfcgi_fail(req, MERR_USER_IN_USE, "User ID already taken.");
		else
			mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		muser_fini(&u);
		free(id);
		return NULL;
	}
	return id;
}

/* A fresh user ID for a client that gave no username (and for guests). */
static char *
generated_user_id(struct mreq *req)
{
	char	*r, *id = NULL;

	if ((r = mcrypto_random_string(12)) == NULL)
		return NULL;
	for (char *p = r; *p != '\0'; p++)
		*p = (char)('0' + (unsigned char)*p % 10);
	if (asprintf(&id, "@%s:%s", r, req->conf->server_name) == -1)
		id = NULL;
	free(r);
	return id;
}

/*
 * Spec: C-S API, "Guest access": "guest accounts can be upgraded to full
 * accounts".  As Synapse, POST /register names the guest by
 * guest_access_token in the body (never kept in the UIA session: it is a
 * secret), and the username, when given, must be the guest's own
 * localpart; another taken name stays 400 M_USER_IN_USE.  Returns the
 * guest's user ID (malloc'd) when the request upgrades one, else NULL;
 * *failed is set when the request has failed (a token that is no
 * guest's: 401 M_UNKNOWN_TOKEN, as for any unknown token).
 */
static char *
guest_upgrade_of(struct mreq *req, const char *token, const char *username, int *failed)
{
	struct mtokeninfo	 t;
	char			*hash, *id = NULL, *want = NULL;
	int			 rc;

	*failed = 0;
	if (token == NULL)
		return NULL;
	if ((hash = mcrypto_token_hash(token)) == NULL) {
		*failed = 1;
		mfcgi_fail(req, MERR_INTERNAL, "%s: token hash", __func__);
		return NULL;
	}
	rc = mstore_token_get(req->db, hash, &t);
	free(hash);
	if (rc == -1) {
		*failed = 1;
		mfcgi_fail(req, MERR_INTERNAL, "%s: token lookup", __func__);
		return NULL;
	}
	if (rc == 0 || !t.is_guest || t.deactivated) {
		if (rc == 1)
			mtokeninfo_fini(&t);
		*failed = 1;
		mfcgi_fail(req, MERR_UNKNOWN_TOKEN, "Unknown guest access token");
		return NULL;
	}
	if (username != NULL) {
		char *lp = strdup(username);

		for (char *p = lp; p != NULL && *p != '\0'; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		if (lp == NULL || asprintf(&want, "@%s:%s", lp, req->conf->server_name) == -1)
			want = NULL;
		free(lp);
		if (want == NULL) {
			mtokeninfo_fini(&t);
			*failed = 1;
			mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
			return NULL;
		}
	}
	/* Another name than the guest's own: an ordinary registration of it. */
	if (want == NULL || strcmp(want, t.user_id) == 0)
		id = strdup(t.user_id);
	free(want);
	mtokeninfo_fini(&t);
	return id;
}

/*
 * Keeps what a registration step sent in its UIA session, the password
 * as its hash: a later step may send "auth" alone.  0, or -1 with the
 * request failed.
 */
static int
register_keep(struct mreq *req, const char *session, json_t *b)
{
	static const char *const keys[] = { "username", "device_id",
	    "initial_device_display_name", "inhibit_login", "refresh_token" };
	const char	*pw = mjson_str(b, "password");
	json_t		*kept;
	char		*hash = NULL;
	int		 rc;

	if ((kept = json_object()) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (json_object_get(b, keys[i]) != NULL)
			json_object_set(kept, keys[i], json_object_get(b, keys[i]));
	if (pw != NULL && ((hash = mcrypto_password_hash(pw)) == NULL ||
	    json_object_set_new(kept, "password_hash", json_string(hash)) == -1)) {
		json_decref(kept);
		free(hash);
		return mfcgi_fail(req, MERR_INTERNAL, "%s: password hash failed", __func__);
	}
	rc = mauth_uia_keep(req, session, kept);
	json_decref(kept);
	free(hash);
	return rc;
}

/*
 * Spec: C-S API, POST /register with type m.login.application_service
 * and a service's as_token: a user of its namespace, without UIA, nor
 * enable_registration, nor rate limits (Synapse 1.67: 400 M_EXCLUSIVE
 * outside it or in another's exclusive one, M_USER_IN_USE when taken).
 */
static int
register_appservice(struct mreq *req, const struct mappsvc *as)
{
	json_t		*b = req->body, *out = NULL;
	const char	*username = mjson_str(b, "username"), *type = mjson_str(b, "type");
	const char	*device_id = mjson_str(b, "device_id");
	const char	*devname = mjson_str(b, "initial_device_display_name");
	char		*lp = NULL, *user_id = NULL;
	int		 rc = -1;

	if (type == NULL || strcmp(type, "m.login.application_service") != 0)
		return mfcgi_fail(req, MERR_INVALID_PARAM,
		    "Application services register with type m.login.application_service");
	if (username == NULL)
		return mfcgi_fail(req, MERR_MISSING_PARAM, "Missing username");
	if ((json_object_get(b, "device_id") != NULL && device_id == NULL))
		return mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid parameter types");
	if (mauth_device_check(req, device_id, devname) == -1)
		return -1;
	if ((lp = strdup(username)) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	for (char *p = lp; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	if (!mauth_localpart_check(lp, req->conf->server_name) ||
	    asprintf(&user_id, "@%s:%s", lp, req->conf->server_name) == -1) {
		user_id = NULL;
		mfcgi_fail(req, MERR_INVALID_USERNAME,
		    "User ID can only contain characters a-z, 0-9, or '=_-./+'");
		goto out;
	}
	if (!mappsvc_match(as, MAPPSVC_USERS, user_id, 0) ||
	    mappsvc_exclusive(req->conf, MAPPSVC_USERS, user_id, as) != NULL) {
		mfcgi_fail(req, MERR_EXCLUSIVE,
		    "Invalid user localpart for this application service.");
		goto out;
	}
	if ((out = json_object()) == NULL || mdb_begin(req->db) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: cannot begin", __func__);
		goto out;
	}
	if (mauth_user_add(req, user_id, NULL, NULL, 0, 0, NULL) == -1) {
		mdb_rollback(req->db);
		goto out;
	}
	if (json_is_true(json_object_get(b, "inhibit_login")))
		json_object_set_new(out, "user_id", json_string(user_id));
	else if (mauth_session_new(req, user_id, device_id, devname,
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
	free(lp);
	free(user_id);
	return rc;
}

/*
 * Spec: C-S API, POST /register.  As in Synapse, the UIA session keeps
 * the parameters a step sent (register_keep), used when a later step
 * sends nothing but "auth"; and once it made an account, the same
 * request again logs that account in again rather than failing with
 * M_USER_IN_USE (the client may not have seen the first answer).
 */
int
h_register(struct mreq *req)
{
	json_t		*b = req->body, *p, *kept = NULL, *out = NULL;
	const char	*sid = mjson_str(json_object_get(b, "auth"), "session");
	const char	*username, *password, *device_id, *devname, *kept_hash;
	char		*user_id = NULL, *session = NULL, *hash = NULL, *regtoken = NULL;
	char		*made = NULL, *upgrade = NULL;
	int		 inhibit, refresh, guest, rc = -1, uia, failed;

	if (req->token != NULL && req->conf->appservicesz > 0) {
		const struct mappsvc *as = mappsvc_by_token(req->conf, req->token);

		if (as != NULL)
			return register_appservice(req, as);
	}
	if (mjson_str(b, "type") != NULL &&
	    strcmp(mjson_str(b, "type"), "m.login.application_service") == 0)
		return mfcgi_fail(req, req->token == NULL ? MERR_MISSING_TOKEN : MERR_UNKNOWN_TOKEN,
		    "Application service registration needs the service's as_token");

	{
		char *k = mreq_query(req, "kind");

		guest = k != NULL && strcmp(k, "guest") == 0;
		if (k != NULL && !guest && strcmp(k, "user") != 0) {
			free(k);
			return mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid kind");
		}
		free(k);
	}
	if (!guest && sid != NULL)
		kept = mauth_uia_kept(req, sid, "register");
	/* A body of "auth" alone means the parameters sent before. */
	p = kept != NULL && json_object_size(b) == 1 ? kept : b;
	kept_hash = mjson_str(kept, "password_hash");
	username = mjson_str(p, "username");
	password = mjson_str(p, "password");
	device_id = mjson_str(p, "device_id");
	devname = mjson_str(p, "initial_device_display_name");
	inhibit = json_is_true(json_object_get(p, "inhibit_login"));
	refresh = json_is_true(json_object_get(p, "refresh_token"));
	if ((json_object_get(p, "username") != NULL && username == NULL &&
	    !json_is_null(json_object_get(p, "username"))) ||
	    (json_object_get(p, "password") != NULL && password == NULL) ||
	    (json_object_get(p, "device_id") != NULL && device_id == NULL)) {
		mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid parameter types");
		goto out;
	}
	if (password != NULL && strlen(password) > 512) {
		mfcgi_fail(req, MERR_INVALID_PARAM, "Password too long");
		goto out;
	}
	if (mauth_device_check(req, device_id, devname) == -1)
		goto out;
	if (guest) {
		/* Spec: guest access is the server's choice; refuse it cleanly. */
		if (!req->conf->allow_guest_access) {
			mfcgi_fail(req, MERR_GUEST_ACCESS_FORBIDDEN, "Guest access is disabled");
			goto out;
		}
		if ((user_id = generated_user_id(req)) == NULL) {
			mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
			goto out;
		}
		goto create;
	}
	if (!req->conf->enable_registration) {
		mfcgi_fail(req, MERR_FORBIDDEN, "Registration has been disabled");
		goto out;
	}
	/* A session that made its account already is the same request again. */
	made = sid != NULL ? mauth_uia_result(req, sid, "register") : NULL;
	upgrade = guest_upgrade_of(req, mjson_str(b, "guest_access_token"), username, &failed);
	if (failed)
		goto out;
	/* Name problems are reported before auth, as clients expect early errors. */
	if (made == NULL && upgrade != NULL && (user_id = strdup(upgrade)) == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	if (made == NULL && user_id == NULL && username != NULL &&
	    (user_id = wanted_user_id(req, username, 1)) == NULL)
		goto out;
	/*
	 * Spec: a client may resend registration's parameters at each step
	 * (and Synapse lets them change), so the session is bound to
	 * POST /register alone.
	 */
	if (req->conf->registration_requires_token)
		uia = mauth_uia(req, "register", NULL, NULL, flows_token, 1, &session);
	else
		uia = mauth_uia(req, "register", NULL, NULL, flows_open, 1, &session);
	if (uia == 0 && p == b && json_object_size(b) > (sid != NULL ? 1 : 0))
		uia = register_keep(req, session, b);
	if (uia != 1) {
		rc = uia;
		goto out;
	}
	if (made != NULL) {
		free(user_id);
		user_id = made;
		made = NULL;
		goto create;
	}
	if (password == NULL && kept_hash == NULL) {
		mfcgi_fail(req, MERR_MISSING_PARAM, "Missing password");
		goto out;
	}
	if (user_id == NULL && (user_id = generated_user_id(req)) == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	if ((hash = password != NULL ? mcrypto_password_hash(password) :
	    strdup(kept_hash)) == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: password hash failed", __func__);
		goto out;
	}
create:
	/* Synapse: rc_registration counts the accounts made from an address. */
	if ((hash != NULL || guest) &&
	    mratelimit_take(req, MRC_REGISTRATION, req->remote_addr) == -1)
		goto out;
	if ((out = json_object()) == NULL || mdb_begin(req->db) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: cannot begin", __func__);
		goto out;
	}
	/* Again: no account is made, nor a registration token used. */
	if (hash != NULL || guest) {
		if (session != NULL &&
		    (regtoken = mauth_uia_finish(req, session, user_id)) != NULL &&
		    mstore_regtoken_use(req->db, regtoken, mclock_now_ms()) != 1) {
			/* Used up by another registration since the stage was passed. */
			mdb_rollback(req->db);
			mfcgi_fail(req, MERR_UNAUTHORIZED, "Invalid registration token");
			goto out;
		}
		if (upgrade != NULL && strcmp(upgrade, user_id) == 0 && hash != NULL) {
			/* Upgraded in place: same user ID, rooms and data; a new device. */
			if ((rc = mstore_user_upgrade_guest(req->db, user_id, hash)) != 1) {
				mdb_rollback(req->db);
				if (rc == 0)
					mfcgi_fail(req, MERR_USER_IN_USE, "User ID already taken.");
				else
					mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
				rc = -1;
				goto out;
			}
			rc = -1;
		} else if (mauth_user_add(req, user_id, hash, NULL, 0, guest, NULL) == -1) {
			mdb_rollback(req->db);
			goto out;
		}
	}
	if (inhibit)
		json_object_set_new(out, "user_id", json_string(user_id));
	else if (mauth_session_new(req, user_id, device_id, devname, refresh, out) == -1) {
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
	json_decref(kept);
	free(user_id);
	free(session);
	free(hash);
	free(regtoken);
	free(made);
	free(upgrade);
	return rc;
}

/* Spec: C-S API, GET /register/available. */
int
h_register_available(struct mreq *req)
{
	char	*username = mreq_query(req, "username"), *id;

	if (username == NULL)
		return mfcgi_fail(req, MERR_MISSING_PARAM, "Missing username");
	id = wanted_user_id(req, username, 0);
	free(username);
	if (id == NULL)
		return -1;
	free(id);
	return mfcgi_reply(req, 200, json_pack("{s:b}", "available", 1));
}

/* Spec: C-S API, GET /v1/register/m.login.registration_token/validity. */
int
h_regtoken_validity(struct mreq *req)
{
	struct mregtoken	 t;
	char			*tok = mreq_query(req, "token");
	int			 rc, valid;

	if (tok == NULL)
		return mfcgi_fail(req, MERR_MISSING_PARAM, "Missing token");
	rc = mstore_regtoken_get(req->db, tok, &t);
	free(tok);
	if (rc == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	valid = rc == 1 && (t.uses_allowed < 0 || t.completed < t.uses_allowed) &&
	    (t.expiry_time < 0 || t.expiry_time > mclock_now_ms());
	if (rc == 1)
		mregtoken_fini(&t);
	return mfcgi_reply(req, 200, json_pack("{s:b}", "valid", valid));
}
