/* User IDs, login sessions and user-interactive auth. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "clock/clock.h"
#include "crypto/crypto.h"
#include "fcgi/fcgi.h"
#include "json/json.h"
#include "ratelimit/ratelimit.h"
#include "store/store.h"

int
mauth_localpart_check(const char *lp, const char *server_name)
{
	if (*lp == '\0' || 1 + strlen(lp) + 1 + strlen(server_name) > 255)
		return 0;
	for (const char *p = lp; *p != '\0'; p++)
		if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) ||
		    strchr("._=-/+", *p) != NULL))
			return 0;
	return 1;
}

char *
mauth_user_id(const char *name, const char *server_name)
{
	char	*lp, *id = NULL;
	size_t	 len;

	if (name[0] == '@') {
		const char *colon = strchr(name, ':');

		if (colon == NULL || strcmp(colon + 1, server_name) != 0)
			return NULL;
		len = (size_t)(colon - name - 1);
		name++;
	} else
		len = strlen(name);
	if ((lp = strndup(name, len)) == NULL)
		return NULL;
	for (char *p = lp; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	if (mauth_localpart_check(lp, server_name) &&
	    asprintf(&id, "@%s:%s", lp, server_name) == -1)
		id = NULL;
	free(lp);
	return id;
}

/* Device IDs look like Synapse's: ten upper-case letters. */
static char *
device_id_new(void)
{
	char *s = mcrypto_random_string(10);

	for (char *p = s; p != NULL && *p != '\0'; p++)
		*p = (char)('A' + (unsigned char)*p % 26);
	return s;
}

static char *
prefixed_token(const char *prefix)
{
	char *r, *t = NULL;

	if ((r = mcrypto_random_string(40)) == NULL)
		return NULL;
	if (asprintf(&t, "%s%s", prefix, r) == -1)
		t = NULL;
	free(r);
	return t;
}

int
mauth_session_new(struct mreq *req, const char *user_id, const char *device_id,
    const char *display_name, int refresh, json_t *out)
{
	char	*dev = NULL, *tok = NULL, *rtok = NULL, *hash = NULL, *rhash = NULL;
	int64_t	 rid = 0, until = 0;
	int	 rc = -1;

	if (device_id != NULL)
		dev = strdup(device_id);
	else
		dev = device_id_new();
	if (dev == NULL || (tok = prefixed_token("myt_")) == NULL ||
	    (hash = mcrypto_token_hash(tok)) == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	if (mstore_device_put(req->db, user_id, dev, display_name, req->remote_addr) == -1)
		goto dberr;
	if (refresh) {
		if ((rtok = prefixed_token("myr_")) == NULL ||
		    (rhash = mcrypto_token_hash(rtok)) == NULL) {
			mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
			goto out;
		}
		/* Synapse's refresh_token_lifetime: each new refresh token's own. */
		if (mstore_refresh_add(req->db, rhash, user_id, dev,
		    req->conf->refresh_token_lifetime_ms > 0 ?
		    mclock_now_ms() + req->conf->refresh_token_lifetime_ms : 0, &rid) == -1)
			goto dberr;
		until = mclock_now_ms() + req->conf->access_token_lifetime_ms;
	}
	if (mstore_token_add(req->db, hash, user_id, dev, until, rid) == -1)
		goto dberr;
	json_object_set_new(out, "user_id", json_string(user_id));
	json_object_set_new(out, "access_token", json_string(tok));
	json_object_set_new(out, "device_id", json_string(dev));
	json_object_set_new(out, "home_server", json_string(req->conf->server_name));
	if (refresh) {
		json_object_set_new(out, "refresh_token", json_string(rtok));
		json_object_set_new(out, "expires_in_ms",
		    json_integer(req->conf->access_token_lifetime_ms));
	}
	rc = 0;
	goto out;
dberr:
	mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
out:
	free(dev);
	free(tok);
	free(rtok);
	free(hash);
	free(rhash);
	return rc;
}

int
mauth_user_add(struct mreq *req, const char *user_id, const char *password_hash,
    const char *displayname, int is_admin, int is_guest, const char *user_type)
{
	switch (mstore_user_add(req->db, user_id, password_hash, displayname, is_admin,
	    is_guest, user_type)) {
	case 0:
		return 0;
	case MSTORE_CONFLICT:
		return mfcgi_fail(req, MERR_USER_IN_USE, "User ID already taken.");
	default:
		return mfcgi_fail(req, MERR_INTERNAL, "%s: user add failed", __func__);
	}
}

enum mauth_login
mauth_login_check(struct mdb *db, const char *user_id, const char *password)
{
	struct muser		 u;
	enum mauth_login	 rc;
	int			 found;

	if ((found = mstore_user_get(db, user_id, &u)) == -1)
		return MAUTH_LOGIN_ERROR;
	if (found == 1 && u.deactivated && u.password_hash == NULL)
		rc = MAUTH_LOGIN_DEACTIVATED;
	else if (found == 0 || u.password_hash == NULL) {
		/* As slow as a wrong password: no account shows by its speed. */
		mcrypto_password_check_dummy(password);
		rc = MAUTH_LOGIN_WRONG;
	} else if (!mcrypto_password_check(password, u.password_hash))
		rc = MAUTH_LOGIN_WRONG;
	else
		rc = u.deactivated ? MAUTH_LOGIN_DEACTIVATED : MAUTH_LOGIN_OK;
	muser_fini(&u);
	return rc;
}

enum mauth_login
mauth_login_limited(struct mreq *req, const char *user_id, const char *password)
{
	enum mauth_login rc;

	if (mratelimit_check(req, MRC_LOGIN_FAILED, user_id) == -1)
		return req->err == MERR_LIMITED ? MAUTH_LOGIN_LIMITED : MAUTH_LOGIN_ERROR;
	rc = mauth_login_check(req->db, user_id, password);
	if (rc == MAUTH_LOGIN_ERROR)
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	else if (rc == MAUTH_LOGIN_WRONG)
		/* Counted unless full already; the answer stays a plain 403. */
		mratelimit_count(req, MRC_LOGIN_FAILED, user_id);
	else if (rc == MAUTH_LOGIN_OK && mratelimit_take(req, MRC_LOGIN_ACCOUNT, user_id) == -1)
		rc = req->err == MERR_LIMITED ? MAUTH_LOGIN_LIMITED : MAUTH_LOGIN_ERROR;
	return rc;
}

int
mauth_password_check(struct mreq *req, const char *user_id, const char *password)
{
	switch (mauth_login_check(req->db, user_id, password)) {
	case MAUTH_LOGIN_OK:
		return 1;
	case MAUTH_LOGIN_ERROR:
		return -1;
	case MAUTH_LOGIN_WRONG:
	case MAUTH_LOGIN_DEACTIVATED:
	default:
		return 0;
	}
}

int
mauth_device_check(struct mreq *req, const char *device_id, const char *display_name)
{
	/* Spec: none; Synapse refuses these before creating the device. */
	if (device_id != NULL && mjson_utf8_len(device_id) > MAUTH_DEVICE_ID_MAX)
		return mfcgi_fail(req, MERR_INVALID_PARAM,
		    "device_id cannot be longer than %d characters", MAUTH_DEVICE_ID_MAX);
	if (display_name != NULL && mjson_utf8_len(display_name) > MAUTH_DEVICE_NAME_MAX)
		return mfcgi_fail(req, MERR_TOO_LONG,
		    "Device display name is too long (max %d)", MAUTH_DEVICE_NAME_MAX);
	return 0;
}

/* The 401 object: flows, params, session, completed, and an error if any. */
static int
uia_reply(struct mreq *req, const struct muia_flow *flows, size_t flowsz,
    const char *session, json_t *completed, const char *errcode, const char *error)
{
	json_t *obj = json_object(), *fl = json_array();

	for (size_t i = 0; i < flowsz; i++) {
		json_t *st = json_array();

		for (size_t j = 0; flows[i].stages[j] != NULL; j++)
			json_array_append_new(st, json_string(flows[i].stages[j]));
		json_array_append_new(fl, json_pack("{s:o}", "stages", st));
	}
	json_object_set_new(obj, "flows", fl);
	json_object_set_new(obj, "params", json_object());
	json_object_set_new(obj, "session", json_string(session));
	/* Synapse lists the completed stages in every 401, even when none. */
	if (completed != NULL)
		json_object_set(obj, "completed", completed);
	else
		json_object_set_new(obj, "completed", json_array());
	if (errcode != NULL) {
		json_object_set_new(obj, "errcode", json_string(errcode));
		json_object_set_new(obj, "error", json_string(error));
	}
	return mfcgi_reply(req, 401, obj);
}

static int
in_flows(const struct muia_flow *flows, size_t flowsz, const char *type)
{
	for (size_t i = 0; i < flowsz; i++)
		for (size_t j = 0; flows[i].stages[j] != NULL; j++)
			if (strcmp(flows[i].stages[j], type) == 0)
				return 1;
	return 0;
}

static int
has(json_t *arr, const char *s)
{
	size_t	 i;
	json_t	*v;

	json_array_foreach(arr, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return 1;
	return 0;
}

static int
flow_done(const struct muia_flow *flows, size_t flowsz, json_t *completed)
{
	for (size_t i = 0; i < flowsz; i++) {
		size_t j;

		for (j = 0; flows[i].stages[j] != NULL; j++)
			if (!has(completed, flows[i].stages[j]))
				break;
		if (flows[i].stages[j] == NULL)
			return 1;
	}
	return 0;
}

/* What a stage came to. */
enum stage_rc {
	STAGE_ERROR = -1,
	STAGE_FAILED,		/* may be tried again: 401 with errcode and error */
	STAGE_DONE,
	STAGE_OTHER_USER,	/* it authenticated somebody else: 403 */
};

/*
 * Runs one stage.  Spec: C-S API, "Authentication types".
 */
static enum stage_rc
stage(struct mreq *req, const char *type, json_t *auth, const char *user_id,
    char **regtoken, const char **errcode, const char **error)
{
	if (strcmp(type, "m.login.dummy") == 0)
		return STAGE_DONE;
	if (strcmp(type, "m.login.password") == 0) {
		json_t		*ident = json_object_get(auth, "identifier");
		const char	*name = mjson_str(auth, "user");
		const char	*pw = mjson_str(auth, "password");
		char		*uid;
		int		 rc;

		if (json_is_object(ident) && mjson_str(ident, "type") != NULL &&
		    strcmp(mjson_str(ident, "type"), "m.id.user") == 0)
			name = mjson_str(ident, "user");
		*errcode = "M_FORBIDDEN";
		*error = "Invalid username or password";
		if (name == NULL || pw == NULL || user_id == NULL)
			return STAGE_FAILED;
		if ((uid = mauth_user_id(name, req->conf->server_name)) == NULL)
			return STAGE_FAILED;
		/*
		 * Synapse: the user authenticated must be the requester (403
		 * "Invalid auth"); trying again with the same name is useless.
		 */
		if (strcmp(uid, user_id) != 0) {
			free(uid);
			return STAGE_OTHER_USER;
		}
		rc = mauth_password_check(req, uid, pw);
		free(uid);
		return rc == 1 ? STAGE_DONE : rc == 0 ? STAGE_FAILED : STAGE_ERROR;
	}
	if (strcmp(type, "m.login.registration_token") == 0) {
		const char		*tok = mjson_str(auth, "token");
		struct mregtoken	 t;
		int			 rc;

		*errcode = "M_UNAUTHORIZED";
		*error = "Invalid registration token";
		if (tok == NULL)
			return STAGE_FAILED;
		if ((rc = mstore_regtoken_get(req->db, tok, &t)) != 1)
			return rc == 0 ? STAGE_FAILED : STAGE_ERROR;
		rc = (t.uses_allowed < 0 || t.completed < t.uses_allowed) &&
		    (t.expiry_time < 0 || t.expiry_time > mclock_now_ms());
		mregtoken_fini(&t);
		if (rc == 1 && (*regtoken = strdup(tok)) == NULL)
			return STAGE_ERROR;
		return rc == 1 ? STAGE_DONE : STAGE_FAILED;
	}
	*errcode = "M_UNRECOGNIZED";
	*error = "Unknown authentication type";
	return STAGE_FAILED;
}

/*
 * What a UIA session is bound to: unpadded base64 of the SHA-256 of the
 * kind, the method, the path as sent without its query (which may hold
 * the access token) and the canonical JSON of params.  A digest keeps
 * the row small whatever the parameters.  malloc'd, or NULL.
 */
static char *
uia_operation(const struct mreq *req, const char *kind, const json_t *params)
{
	const char	*uri = req->uri != NULL ? req->uri : "";
	unsigned char	 md[32];
	json_t		*empty = NULL;
	char		*canon, *text = NULL, *op = NULL;

	if (params == NULL && (params = empty = json_object()) == NULL)
		return NULL;
	canon = mjson_canonical(params, NULL);
	json_decref(empty);
	if (canon == NULL)
		return NULL;
	if (asprintf(&text, "%s\n%d\n%.*s\n%s", kind, (int)req->method,
	    (int)strcspn(uri, "?"), uri, canon) == -1)
		text = NULL;
	free(canon);
	if (text == NULL)
		return NULL;
	mcrypto_sha256(text, strlen(text), md);
	op = mcrypto_b64_encode(md, sizeof(md));
	free(text);
	return op;
}

int
mauth_uia(struct mreq *req, const char *kind, const char *user_id, const json_t *params,
    const struct muia_flow *flows, size_t flowsz, char **session)
{
	json_t		*auth = json_object_get(req->body, "auth");
	json_t		*completed = NULL;
	struct muia	 u;
	const char	*sid, *type, *errcode = NULL, *error = NULL;
	char		*newsid = NULL, *regtoken = NULL, *done = NULL, *op = NULL;
	int		 rc = -1, found = 0;
	enum stage_rc	 st;

	memset(&u, 0, sizeof(u));
	*session = NULL;
	if (auth != NULL && !json_is_object(auth))
		return mfcgi_fail(req, MERR_BAD_JSON, "auth must be an object");
	if ((op = uia_operation(req, kind, params)) == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	sid = auth != NULL ? mjson_str(auth, "session") : NULL;
	if (sid != NULL) {
		if ((found = mstore_uia_get(req->db, sid, &u)) == -1)
			goto dberr;
		if (found == 0) {
			mfcgi_fail(req, MERR_UNKNOWN, "Unknown session");
			goto out;
		}
		/*
		 * Spec: the session is for "subsequent attempts to authenticate
		 * in the same API call", made by "resubmitting the same
		 * request".  Synapse answers 403 when the request changed.
		 */
		if (strcmp(u.kind, kind) != 0 || u.operation == NULL ||
		    strcmp(u.operation, op) != 0) {
			mfcgi_fail(req, MERR_FORBIDDEN,
			    "Requested operation has changed during the UI authentication session.");
			goto out;
		}
		if ((u.user_id != NULL) != (user_id != NULL) ||
		    (user_id != NULL && strcmp(u.user_id, user_id) != 0)) {
			mfcgi_fail(req, MERR_FORBIDDEN,
			    "The UI authentication session belongs to another user");
			goto out;
		}
	} else {
		if ((newsid = mcrypto_random_string(24)) == NULL ||
		    mstore_uia_add(req->db, newsid, kind, user_id, op) == -1)
			goto dberr;
		sid = newsid;
	}
	completed = json_loads(found ? u.completed : "[]", 0, NULL);
	if (!json_is_array(completed))
		goto dberr;
	/*
	 * Spec: "Completed stages cannot be retried", and a session whose
	 * flow is done (a stage done out of band, or the same request again)
	 * gets "the result of the API call".
	 */
	if (found && flow_done(flows, flowsz, completed))
		goto complete;
	if (auth == NULL || (type = mjson_str(auth, "type")) == NULL) {
		/* Spec: the first call learns the flows from a 401. */
		rc = uia_reply(req, flows, flowsz, sid, completed, NULL, NULL);
		goto out;
	}
	if (!in_flows(flows, flowsz, type)) {
		rc = uia_reply(req, flows, flowsz, sid, completed, "M_UNRECOGNIZED",
		    "Unknown authentication type");
		goto out;
	}
	if ((st = stage(req, type, auth, user_id, &regtoken, &errcode, &error)) == STAGE_ERROR)
		goto dberr;
	if (st == STAGE_OTHER_USER) {
		mfcgi_fail(req, MERR_FORBIDDEN, "Authenticated user does not match the requester");
		goto out;
	}
	if (st == STAGE_FAILED) {
		rc = uia_reply(req, flows, flowsz, sid, completed, errcode, error);
		goto out;
	}
	if (!has(completed, type))
		json_array_append_new(completed, json_string(type));
	if ((done = json_dumps(completed, JSON_COMPACT)) == NULL ||
	    mstore_uia_set(req->db, sid, done, regtoken != NULL ? regtoken :
	    u.registration_token) == -1)
		goto dberr;
	if (!flow_done(flows, flowsz, completed)) {
		rc = uia_reply(req, flows, flowsz, sid, completed, NULL, NULL);
		goto out;
	}
complete:
	rc = 1;
	goto out;
dberr:
	mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
out:
	rc = rc == 0 && req->failed ? -1 : rc;
	if (rc >= 0 && (*session = strdup(sid)) == NULL)
		rc = mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	json_decref(completed);
	muia_fini(&u);
	free(newsid);
	free(regtoken);
	free(done);
	free(op);
	return rc;
}

/* The session's registration token (malloc'd) or NULL, taken out of its row. */
static char *
uia_token_take(struct mreq *req, const char *session)
{
	struct muia	 u;
	char		*tok = NULL;

	if (mstore_uia_get(req->db, session, &u) == 1) {
		tok = u.registration_token;
		u.registration_token = NULL;
		muia_fini(&u);
	}
	return tok;
}

char *
mauth_uia_done(struct mreq *req, const char *session)
{
	char *tok = uia_token_take(req, session);

	mstore_uia_del(req->db, session);
	return tok;
}

char *
mauth_uia_finish(struct mreq *req, const char *session, const char *result)
{
	char *tok = uia_token_take(req, session);

	mstore_uia_result(req->db, session, result);
	return tok;
}

/* The session's row, when it is one of kind (*u filled): 1, else 0. */
static int
uia_of_kind(struct mreq *req, const char *session, const char *kind, struct muia *u)
{
	if (session == NULL || mstore_uia_get(req->db, session, u) != 1)
		return 0;
	if (strcmp(u->kind, kind) == 0)
		return 1;
	muia_fini(u);
	return 0;
}

char *
mauth_uia_result(struct mreq *req, const char *session, const char *kind)
{
	struct muia	 u;
	char		*r;

	if (!uia_of_kind(req, session, kind, &u))
		return NULL;
	r = u.result;
	u.result = NULL;
	muia_fini(&u);
	return r;
}

json_t *
mauth_uia_kept(struct mreq *req, const char *session, const char *kind)
{
	struct muia	 u;
	json_t		*v = NULL;

	if (!uia_of_kind(req, session, kind, &u))
		return NULL;
	if (u.kept != NULL && (v = json_loads(u.kept, 0, NULL)) != NULL && !json_is_object(v)) {
		json_decref(v);
		v = NULL;
	}
	muia_fini(&u);
	return v;
}

int
mauth_uia_keep(struct mreq *req, const char *session, const json_t *kept)
{
	char	*s;
	int	 rc;

	if ((s = json_dumps(kept, JSON_COMPACT)) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	rc = mstore_uia_keep(req->db, session, s);
	free(s);
	if (rc == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return 0;
}
