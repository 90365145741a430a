/* Synapse's user admin API: list, query, create or modify, deactivate, passwords, whois. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "clock/clock.h"
#include "crypto/crypto.h"
#include "extern.h"
#include "json/json.h"
#include "store/store.h"

/* Synapse: password and display name lengths it accepts. */
#define PASSWORD_MAX	512
#define DISPLAYNAME_MAX	256

/*
 * Synapse: GET /_synapse/admin/v2/users: from, limit, guests (default
 * true), deactivated (default false), admins, name, user_id, order_by,
 * dir.  next_token is a string offset, present while more users match.
 */
int
h_users_list(struct mreq *req)
{
	struct madmin_userq	 q;
	json_t			*users = NULL, *out;
	char			*name = mreq_query(req, "name"), *uid = mreq_query(req, "user_id");
	char			*order = mreq_query(req, "order_by");
	int64_t			 total;
	int			 rc = -1;

	memset(&q, 0, sizeof(q));
	q.server_name = req->conf->server_name;
	q.guests = 1;
	q.admins = -1;
	if (api_query_page(req, &q.from, &q.limit) == -1 ||
	    api_query_bool(req, "guests", &q.guests) == -1 ||
	    api_query_bool(req, "deactivated", &q.deactivated) == -1 ||
	    api_query_bool(req, "admins", &q.admins) == -1 ||
	    api_query_dir(req, &q.backwards) == -1)
		goto out;
	if (order != NULL && !mstore_admin_user_order_check(order)) {
		mfcgi_fail(req, MERR_INVALID_PARAM, "Unknown value for order_by: %s", order);
		goto out;
	}
	q.name = name != NULL && *name != '\0' ? name : NULL;
	q.user_id = uid != NULL && *uid != '\0' ? uid : NULL;
	q.order_by = order;
	if (mstore_admin_users(req->db, &q, &users, &total) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	if ((out = json_pack("{s:o,s:I}", "users", users, "total", (json_int_t)total)) == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	if (q.from + (int64_t)json_array_size(users) < total) {
		char next[24];

		snprintf(next, sizeof(next), "%lld", (long long)q.from +
		    (long long)json_array_size(users));
		json_object_set_new(out, "next_token", json_string(next));
	}
	rc = mfcgi_reply(req, 200, out);
out:
	free(name);
	free(uid);
	free(order);
	return rc;
}

/* Replies with the user as GET /_synapse/admin/v2/users/{userId} shows it. */
static int
reply_user(struct mreq *req, const char *user_id, int status)
{
	json_t	*u;
	int	 rc;

	if ((rc = mstore_admin_user(req->db, user_id, &u)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (rc == 0)
		return mfcgi_fail(req, MERR_NOT_FOUND, "User not found");
	return mfcgi_reply(req, status, u);
}

/* Synapse: GET /_synapse/admin/v2/users/{userId}: 404 M_NOT_FOUND when unknown. */
int
h_user_get(struct mreq *req)
{
	const char *id = api_local_user(req, 0);

	return id == NULL ? -1 : reply_user(req, id, 200);
}

/*
 * Checks the body of PUT /_synapse/admin/v2/users/{userId} before
 * anything changes.  Third-party and external IDs, which myelin does not
 * keep, may only be empty lists; locking is not there either.
 */
static int
user_put_check(struct mreq *req)
{
	static const char *const strs[] = { "password", "displayname", "avatar_url" };
	static const char *const bools[] = { "logout_devices", "admin", "deactivated", "locked" };
	json_t		*b = req->body, *v;
	const char	*s;

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		if ((v = json_object_get(b, strs[i])) != NULL && !json_is_string(v))
			return mfcgi_fail(req, MERR_INVALID_PARAM, "'%s' must be a string", strs[i]);
	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++)
		if ((v = json_object_get(b, bools[i])) != NULL && !json_is_boolean(v))
			return mfcgi_fail(req, MERR_INVALID_PARAM, "'%s' must be a boolean", bools[i]);
	if ((s = mjson_str(b, "password")) != NULL && strlen(s) > PASSWORD_MAX)
		return mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid password");
	if ((s = mjson_str(b, "displayname")) != NULL && strlen(s) > DISPLAYNAME_MAX)
		return mfcgi_fail(req, MERR_INVALID_PARAM, "Display name too long");
	if ((s = mjson_str(b, "avatar_url")) != NULL && *s != '\0' && strncmp(s, "mxc://", 6) != 0)
		return mfcgi_fail(req, MERR_INVALID_PARAM, "avatar_url must be an MXC URI");
	if ((v = json_object_get(b, "user_type")) != NULL && !json_is_null(v) &&
	    (!json_is_string(v) || (strcmp(json_string_value(v), "bot") != 0 &&
	    strcmp(json_string_value(v), "support") != 0)))
		return mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid user type");
	if (json_is_true(json_object_get(b, "locked")))
		return mfcgi_fail(req, MERR_INVALID_PARAM, "Locking accounts is not supported");
	for (size_t i = 0; i < 2; i++) {
		const char *k = i == 0 ? "threepids" : "external_ids";

		if ((v = json_object_get(b, k)) != NULL &&
		    (!json_is_array(v) || json_array_size(v) > 0))
			return mfcgi_fail(req, MERR_INVALID_PARAM, "'%s' is not supported", k);
	}
	return 0;
}

/* Display name and avatar: "" removes. */
static int
user_put_profile(struct mreq *req, const char *id)
{
	const char *dn = mjson_str(req->body, "displayname"), *av = mjson_str(req->body, "avatar_url");

	if ((dn != NULL && mstore_user_set_displayname(req->db, id, *dn != '\0' ? dn : NULL) == -1) ||
	    (av != NULL && mstore_user_set_avatar(req->db, id, *av != '\0' ? av : NULL) == -1))
		return -1;
	return 0;
}

/* Creates user id from the PUT body.  0 or -1 with the request failed. */
static int
user_create(struct mreq *req, const char *id)
{
	const char	*pw = mjson_str(req->body, "password");
	const char	*dn = mjson_str(req->body, "displayname");
	char		*hash = NULL;
	int		 rc;

	if (pw != NULL && (hash = mcrypto_password_hash(pw)) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: hash failed", __func__);
	rc = mauth_user_add(req, id, hash, dn, json_is_true(json_object_get(req->body, "admin")),
	    0, mjson_str(req->body, "user_type"));
	free(hash);
	if (rc == -1)
		return -1;
	if (json_object_get(req->body, "avatar_url") != NULL && user_put_profile(req, id) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return 0;
}

/* Applies the PUT body to an existing user.  0 or -1 with the request failed. */
static int
user_modify(struct mreq *req, const char *id, const struct muser *u)
{
	struct madmin	 a;
	json_t		*b = req->body, *deact = json_object_get(b, "deactivated");
	const char	*pw = mjson_str(b, "password");
	enum madmin_rc	 rc = MADMIN_OK;
	int		 logout = 1;

	api_ctx(req, &a);
	if (api_body_bool(req, "logout_devices", &logout) == -1)
		return -1;
	if (json_is_false(deact) && u->deactivated) {
		/* Synapse: the password was wiped by the deactivation. */
		if (pw == NULL)
			return mfcgi_fail(req, MERR_UNKNOWN,
			    "Must provide a password to re-activate an account.");
		rc = madmin_user_reactivate(&a, id, pw);
	} else if (pw != NULL)
		rc = madmin_user_password(&a, id, pw, logout);
	if (rc != MADMIN_OK)
		return api_fail(req, &a, rc);
	if (user_put_profile(req, id) == -1 ||
	    (json_object_get(b, "admin") != NULL &&
	    mstore_user_set_admin(req->db, id, json_is_true(json_object_get(b, "admin"))) == -1) ||
	    (json_object_get(b, "user_type") != NULL &&
	    mstore_user_set_type(req->db, id, mjson_str(b, "user_type")) == -1))
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (json_is_true(deact) && !u->deactivated &&
	    (rc = madmin_user_deactivate(&a, id, 0)) != MADMIN_OK)
		return api_fail(req, &a, rc);
	return 0;
}

/*
 * Synapse: PUT /_synapse/admin/v2/users/{userId} creates the account
 * (201) or changes it (200), answering with the user.  Setting
 * deactivated to false needs a password.
 */
int
h_user_put(struct mreq *req)
{
	struct muser	 u;
	const char	*id = api_local_user(req, 0);
	char		*norm;
	int		 found, rc;

	if (id == NULL || user_put_check(req) == -1)
		return -1;
	/* Synapse: the localpart must be valid as it stands, not lowercased. */
	if ((norm = mauth_user_id(id, req->conf->server_name)) == NULL || strcmp(norm, id) != 0) {
		free(norm);
		return mfcgi_fail(req, MERR_INVALID_USERNAME,
		    "User ID can only contain characters a-z, 0-9, or '=_-./+'");
	}
	free(norm);
	if ((found = mstore_user_get(req->db, id, &u)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (found) {
		rc = user_modify(req, id, &u);
		muser_fini(&u);
		return rc == -1 ? -1 : reply_user(req, id, 200);
	}
	if (user_create(req, id) == -1)
		return -1;
	if (json_is_true(json_object_get(req->body, "deactivated"))) {
		struct madmin	 a;
		enum madmin_rc	 e;

		api_ctx(req, &a);
		if ((e = madmin_user_deactivate(&a, id, 0)) != MADMIN_OK)
			return api_fail(req, &a, e);
	}
	return reply_user(req, id, 201);
}

/*
 * Synapse: POST /_synapse/admin/v1/deactivate/{userId} with erase
 * (default false).  No identity server holds bindings of myelin's users,
 * so unbinding them always succeeds.
 */
int
h_user_deactivate(struct mreq *req)
{
	struct madmin	 a;
	const char	*id = api_local_user(req, 0);
	enum madmin_rc	 rc;
	int		 erase = 0;

	if (id == NULL || api_body_bool(req, "erase", &erase) == -1)
		return -1;
	api_ctx(req, &a);
	if ((rc = madmin_user_deactivate(&a, id, erase)) != MADMIN_OK)
		return api_fail(req, &a, rc);
	return mfcgi_reply(req, 200, json_pack("{s:s}", "id_server_unbind_result", "success"));
}

/* Synapse: POST /_synapse/admin/v1/reset_password/{userId}: new_password, logout_devices. */
int
h_user_reset_password(struct mreq *req)
{
	struct madmin	 a;
	const char	*id = api_local_user(req, 0);
	const char	*pw = mjson_str(req->body, "new_password");
	enum madmin_rc	 rc;
	int		 logout = 1;

	if (id == NULL || api_body_bool(req, "logout_devices", &logout) == -1)
		return -1;
	if (pw == NULL)
		return mfcgi_fail(req, MERR_MISSING_PARAM, "Missing param new_password");
	if (strlen(pw) > PASSWORD_MAX)
		return mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid password");
	api_ctx(req, &a);
	if ((rc = madmin_user_password(&a, id, pw, logout)) != MADMIN_OK)
		return api_fail(req, &a, rc);
	return mfcgi_reply(req, 200, json_object());
}

/*
 * Synapse: GET /_synapse/admin/v1/whois/{userId} (spec: C-S API, GET
 * /admin/whois): every connection under the device "".  myelin keeps
 * the last address and time of each device and no user agents, so each
 * device is one connection, without user_agent (optional in the spec).
 */
int
h_user_whois(struct mreq *req)
{
	struct mdevice	*v;
	const char	*id = api_local_user(req, 0);
	json_t		*conns;
	size_t		 n;

	if (id == NULL)
		return -1;
	if (mstore_device_list(req->db, id, &v, &n) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	conns = json_array();
	for (size_t i = 0; i < n; i++)
		if (v[i].last_seen_ip != NULL)
			json_array_append_new(conns, json_pack("{s:s,s:I}", "ip", v[i].last_seen_ip,
			    "last_seen", (json_int_t)v[i].last_seen_ts));
	mdevice_list_free(v, n);
	return mfcgi_reply(req, 200, json_pack("{s:s,s:{s:{s:[{s:o}]}}}", "user_id", id,
	    "devices", "", "sessions", "connections", conns));
}

/* Synapse: GET /_synapse/admin/v1/users/{userId}/joined_rooms. */
int
h_user_joined_rooms(struct mreq *req)
{
	const char	*id = api_local_user(req, 0);
	json_t		*rooms;

	if (id == NULL)
		return -1;
	if ((rooms = mstore_user_rooms(req->db, id, "join")) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return mfcgi_reply(req, 200, json_pack("{s:o,s:I}", "joined_rooms", rooms,
	    "total", (json_int_t)json_array_size(rooms)));
}

/* The user named by path parameter 0, local and existing: 1 (u filled), or -1 after failing. */
static int
existing_user(struct mreq *req, struct muser *u)
{
	const char	*id = api_local_user(req, 0);
	int		 rc;

	if (id == NULL)
		return -1;
	if ((rc = mstore_user_get(req->db, id, u)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (rc == 0)
		return mfcgi_fail(req, MERR_NOT_FOUND, "User not found");
	return 1;
}

/*
 * Synapse: GET /_synapse/admin/v1/users/{userId}/pushers: {pushers,
 * total}, each pusher as the user's own GET /pushers shows it.  400
 * M_INVALID_PARAM for a malformed ID, 400 for another server's user,
 * 404 M_NOT_FOUND for an unknown one.
 */
int
h_user_pushers(struct mreq *req)
{
	struct muser	 u;
	json_t		*pushers;

	if (existing_user(req, &u) == -1)
		return -1;
	pushers = mstore_pushers(req->db, u.user_id);
	muser_fini(&u);
	if (pushers == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return mfcgi_reply(req, 200, json_pack("{s:o,s:I}", "pushers", pushers,
	    "total", (json_int_t)json_array_size(pushers)));
}

/* Synapse: GET /_synapse/admin/v1/users/{userId}/admin. */
int
h_user_admin_get(struct mreq *req)
{
	struct muser	 u;
	int		 admin;

	if (existing_user(req, &u) == -1)
		return -1;
	admin = u.is_admin;
	muser_fini(&u);
	return mfcgi_reply(req, 200, json_pack("{s:b}", "admin", admin));
}

/* Synapse: PUT /_synapse/admin/v1/users/{userId}/admin: {admin}; no admin demotes themselves. */
int
h_user_admin_put(struct mreq *req)
{
	struct muser	 u;
	json_t		*v = json_object_get(req->body, "admin");
	int		 rc;

	if (v == NULL)
		return mfcgi_fail(req, MERR_MISSING_PARAM, "Missing param admin");
	if (!json_is_boolean(v))
		return mfcgi_fail(req, MERR_INVALID_PARAM, "'admin' must be a boolean");
	if (existing_user(req, &u) == -1)
		return -1;
	if (json_is_false(v) && strcmp(u.user_id, req->auth.user_id) == 0) {
		muser_fini(&u);
		return mfcgi_fail(req, MERR_UNKNOWN, "You may not demote yourself.");
	}
	rc = mstore_user_set_admin(req->db, u.user_id, json_is_true(v));
	muser_fini(&u);
	if (rc == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return mfcgi_reply(req, 200, json_object());
}

/*
 * Synapse: POST /_synapse/admin/v1/users/{userId}/login: an access token
 * for the user, valid until valid_until_ms when given; not for oneself.
 */
int
h_user_login(struct mreq *req)
{
	struct madmin	 a;
	json_t		*v = json_object_get(req->body, "valid_until_ms");
	const char	*id = api_local_user(req, 0);
	char		*tok = NULL;
	enum madmin_rc	 rc;
	int64_t		 until = 0;
	int		 ok;

	if (id == NULL)
		return -1;
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) <= 0)
			return mfcgi_fail(req, MERR_INVALID_PARAM, "'valid_until_ms' must be an integer");
		until = json_integer_value(v);
		if (until < mclock_now_ms())
			return mfcgi_fail(req, MERR_INVALID_PARAM, "'valid_until_ms' is in the past");
	}
	if (strcmp(id, req->auth.user_id) == 0)
		return mfcgi_fail(req, MERR_UNKNOWN, "Cannot use admin API to login as self");
	api_ctx(req, &a);
	if ((rc = madmin_login_as(&a, id, until, &tok)) != MADMIN_OK)
		return api_fail(req, &a, rc);
	ok = mfcgi_reply(req, 200, json_pack("{s:s}", "access_token", tok));
	free(tok);
	return ok;
}

static int
shadow_ban(struct mreq *req, int on)
{
	struct muser	 u;
	int		 rc;

	if (existing_user(req, &u) == -1)
		return -1;
	rc = mstore_user_set_shadow_banned(req->db, u.user_id, on);
	muser_fini(&u);
	if (rc == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return mfcgi_reply(req, 200, json_object());
}

/*
 * Synapse: POST /_synapse/admin/v1/users/{userId}/shadow_ban: the user's
 * messages, state changes, redactions and invites appear to succeed and
 * reach nobody (see myelin-client).
 */
int
h_user_shadow_ban(struct mreq *req)
{
	return shadow_ban(req, 1);
}

/* Synapse: DELETE /_synapse/admin/v1/users/{userId}/shadow_ban. */
int
h_user_shadow_unban(struct mreq *req)
{
	return shadow_ban(req, 0);
}
