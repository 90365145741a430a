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
		if (mstore_refresh_add(req->db, rhash, user_id, dev, &rid) == -1)
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

int
mauth_password_check(struct mreq *req, const char *user_id, const char *password)
{
	struct muser	 u;
	int		 rc;

	if ((rc = mstore_user_get(req->db, user_id, &u)) != 1)
		return rc;
	rc = u.password_hash != NULL && mcrypto_password_check(password, u.password_hash);
	muser_fini(&u);
	return rc;
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
	if (completed != NULL && json_array_size(completed) > 0)
		json_object_set(obj, "completed", completed);
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

/*
 * Runs one stage.  Returns 1 done, 0 failed (errcode/error set), -1 error.
 * Spec: C-S API, "Authentication types".
 */
static int
stage(struct mreq *req, const char *type, json_t *auth, const char *user_id,
    char **regtoken, const char **errcode, const char **error)
{
	if (strcmp(type, "m.login.dummy") == 0)
		return 1;
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
			return 0;
		if ((uid = mauth_user_id(name, req->conf->server_name)) == NULL)
			return 0;
		rc = strcmp(uid, user_id) == 0 ? mauth_password_check(req, uid, pw) : 0;
		free(uid);
		return rc;
	}
	if (strcmp(type, "m.login.registration_token") == 0) {
		const char		*tok = mjson_str(auth, "token");
		struct mregtoken	 t;
		int			 rc;

		*errcode = "M_UNAUTHORIZED";
		*error = "Invalid registration token";
		if (tok == NULL)
			return 0;
		if ((rc = mstore_regtoken_get(req->db, tok, &t)) != 1)
			return rc;
		rc = (t.uses_allowed < 0 || t.completed < t.uses_allowed) &&
		    (t.expiry_time < 0 || t.expiry_time > mclock_now_ms());
		mregtoken_fini(&t);
		if (rc == 1 && (*regtoken = strdup(tok)) == NULL)
			return -1;
		return rc;
	}
	*errcode = "M_UNRECOGNIZED";
	*error = "Unknown authentication type";
	return 0;
}

int
mauth_uia(struct mreq *req, const char *kind, const char *user_id,
    const struct muia_flow *flows, size_t flowsz, char **session)
{
	json_t		*auth = json_object_get(req->body, "auth");
	json_t		*completed = NULL;
	struct muia	 u;
	const char	*sid, *type, *errcode = NULL, *error = NULL;
	char		*newsid = NULL, *regtoken = NULL, *done = NULL;
	int		 rc = -1, found = 0, st;

	memset(&u, 0, sizeof(u));
	*session = NULL;
	if (auth != NULL && !json_is_object(auth))
		return mfcgi_fail(req, MERR_BAD_JSON, "auth must be an object");
	sid = auth != NULL ? mjson_str(auth, "session") : NULL;
	if (sid != NULL) {
		if ((found = mstore_uia_get(req->db, sid, &u)) == -1)
			goto dberr;
		if (found == 0 || strcmp(u.kind, kind) != 0 ||
		    (u.user_id != NULL) != (user_id != NULL) ||
		    (user_id != NULL && strcmp(u.user_id, user_id) != 0)) {
			mfcgi_fail(req, MERR_UNKNOWN, "Unknown session");
			goto out;
		}
	} else {
		if ((newsid = mcrypto_random_string(24)) == NULL ||
		    mstore_uia_add(req->db, newsid, kind, user_id) == -1)
			goto dberr;
		sid = newsid;
	}
	completed = json_loads(found ? u.completed : "[]", 0, NULL);
	if (!json_is_array(completed))
		goto dberr;
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
	if ((st = stage(req, type, auth, user_id, &regtoken, &errcode, &error)) == -1)
		goto dberr;
	if (st == 0) {
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
	if ((*session = strdup(sid)) == NULL)
		goto dberr;
	rc = 1;
	goto out;
dberr:
	mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
out:
	rc = rc == 0 && req->failed ? -1 : rc;
	json_decref(completed);
	muia_fini(&u);
	free(newsid);
	free(regtoken);
	free(done);
	return rc;
}

char *
mauth_uia_done(struct mreq *req, const char *session)
{
	struct muia	 u;
	char		*tok = NULL;

	if (mstore_uia_get(req->db, session, &u) == 1) {
		tok = u.registration_token;
		u.registration_token = NULL;
		muia_fini(&u);
	}
	mstore_uia_del(req->db, session);
	return tok;
}
