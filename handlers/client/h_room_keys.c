/* /room_keys: server-side key backup, versions and the room keys under them. */
#include <stdlib.h>
#include <string.h>

#include "e2ee.h"
#include "json/json.h"
#include "store/store.h"

/*
 * A version named in a path or query, a positive number: 0 with *v, or
 * -1 with 404 M_NOT_FOUND (Synapse: no such backup).
 */
static int
version_parse(struct mreq *req, const char *s, int64_t *v)
{
	if (mfcgi_num_parse(s, 1, INT64_MAX, NULL, v) == -1)
		return mfcgi_fail(req, MERR_NOT_FOUND, "No backup found");
	return 0;
}

/* Spec: C-S API, POST /room_keys/version: a new current version. */
int
h_backup_create(struct mreq *req)
{
	const json_t	*alg = json_object_get(req->body, "algorithm");
	const json_t	*auth = json_object_get(req->body, "auth_data");
	int64_t		 v;
	char		 buf[32];

	if (!json_is_string(alg) || auth == NULL || json_is_null(auth))
		return mfcgi_fail(req, MERR_BAD_JSON, "algorithm and auth_data are required");
	if ((v = mstore_backup_create(req->db, req->auth.user_id, json_string_value(alg),
	    auth)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	snprintf(buf, sizeof(buf), "%lld", (long long)v);
	return mfcgi_reply(req, 200, json_pack("{s:s}", "version", buf));
}

/* The version object of v as the reply, or 404 M_NOT_FOUND. */
static int
reply_version(struct mreq *req, int64_t v)
{
	json_t	*out;
	int	 rc;

	if ((rc = mstore_backup_get(req->db, req->auth.user_id, v, &out)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (rc == 0)
		return mfcgi_fail(req, MERR_NOT_FOUND, "No backup found");
	return mfcgi_reply(req, 200, out);
}

/* Spec: C-S API, GET /room_keys/version: the current version, 404 M_NOT_FOUND without. */
int
h_backup_current(struct mreq *req)
{
	int64_t v;

	if ((v = mstore_backup_current(req->db, req->auth.user_id)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return reply_version(req, v);
}

/* Spec: C-S API, GET /room_keys/version/{version}: 404 M_NOT_FOUND when unknown or deleted. */
int
h_backup_get(struct mreq *req)
{
	int64_t v;

	if (version_parse(req, req->params[0], &v) == -1)
		return -1;
	return reply_version(req, v);
}

/*
 * Spec: C-S API, PUT /room_keys/version/{version}: replaces auth_data.
 * The algorithm cannot change and a version in the body must be the
 * path's (400 M_INVALID_PARAM); 404 M_NOT_FOUND when unknown.
 */
int
h_backup_update(struct mreq *req)
{
	const json_t	*alg = json_object_get(req->body, "algorithm");
	const json_t	*auth = json_object_get(req->body, "auth_data");
	const json_t	*bv = json_object_get(req->body, "version");
	json_t		*cur;
	int64_t		 v;
	int		 rc;

	if (version_parse(req, req->params[0], &v) == -1)
		return -1;
	if (!json_is_string(alg) || auth == NULL || json_is_null(auth))
		return mfcgi_fail(req, MERR_BAD_JSON, "algorithm and auth_data are required");
	if (bv != NULL && (!json_is_string(bv) ||
	    strcmp(json_string_value(bv), req->params[0]) != 0))
		return mfcgi_fail(req, MERR_INVALID_PARAM, "Version does not match");
	if ((rc = mstore_backup_get(req->db, req->auth.user_id, v, &cur)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (rc == 0)
		return mfcgi_fail(req, MERR_NOT_FOUND, "No backup found");
	rc = strcmp(mjson_str(cur, "algorithm"), json_string_value(alg)) == 0;
	json_decref(cur);
	if (!rc)
		return mfcgi_fail(req, MERR_INVALID_PARAM, "Algorithm does not match");
	if (mstore_backup_update(req->db, req->auth.user_id, v, auth) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return mfcgi_reply(req, 200, json_object());
}

/* Spec: C-S API, DELETE /room_keys/version/{version}: the version and its keys. */
int
h_backup_delete(struct mreq *req)
{
	int64_t	 v;
	int	 rc;

	if (version_parse(req, req->params[0], &v) == -1)
		return -1;
	if ((rc = mstore_backup_delete(req->db, req->auth.user_id, v)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (rc == 0)
		return mfcgi_fail(req, MERR_NOT_FOUND, "No backup found");
	return mfcgi_reply(req, 200, json_object());
}

/*
 * The ?version= of a /room_keys/keys request, which must exist (not
 * deleted): 0 with *v, or -1 with 400 M_MISSING_PARAM or 404
 * M_NOT_FOUND.
 */
static int
keys_version(struct mreq *req, int64_t *v)
{
	char	*s = mreq_query(req, "version");
	json_t	*info = NULL;
	int	 rc;

	*v = 0;
	if (s == NULL)
		return mfcgi_fail(req, MERR_MISSING_PARAM, "version is required");
	rc = version_parse(req, s, v);
	free(s);
	if (rc == -1)
		return -1;
	if ((rc = mstore_backup_get(req->db, req->auth.user_id, *v, &info)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	json_decref(info);
	if (rc == 0)
		return mfcgi_fail(req, MERR_NOT_FOUND, "No backup found");
	return 0;
}

/* Spec: C-S API, KeyBackupData. */
static int
keydata_check(const json_t *k)
{
	return json_is_object(k) && json_is_integer(json_object_get(k, "first_message_index")) &&
	    json_is_integer(json_object_get(k, "forwarded_count")) &&
	    json_is_boolean(json_object_get(k, "is_verified")) &&
	    json_object_get(k, "session_data") != NULL;
}

/* 1 when room is {"sessions": {session_id: KeyBackupData}}. */
static int
room_check(const json_t *room)
{
	const char	*sid;
	json_t		*k, *sessions = json_object_get(room, "sessions");

	if (!json_is_object(sessions))
		return 0;
	json_object_foreach(sessions, sid, k)
		if (!keydata_check(k))
			return 0;
	return 1;
}

/* {etag, count} of version v as the reply. */
static int
reply_etag(struct mreq *req, int64_t v)
{
	json_t	*info;
	int	 rc;

	if (mstore_backup_get(req->db, req->auth.user_id, v, &info) != 1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	rc = mfcgi_reply(req, 200, json_pack("{s:O,s:O}", "etag", json_object_get(info, "etag"),
	    "count", json_object_get(info, "count")));
	json_decref(info);
	return rc;
}

/*
 * Spec: C-S API, PUT /room_keys/keys[/{roomId}[/{sessionId}]]?version=:
 * only to the current version (403 M_WRONG_ROOM_KEYS_VERSION with
 * current_version; 404 M_NOT_FOUND without any); each key replaces the
 * stored one by the spec's rules.  400 M_BAD_JSON for another shape.
 */
int
h_room_keys_put(struct mreq *req)
{
	char		*s = mreq_query(req, "version"), buf[32];
	int64_t		 v, cur;
	json_t		*rooms;
	const char	*room_id;
	json_t		*room;
	int		 rc;

	if (s == NULL)
		return mfcgi_fail(req, MERR_MISSING_PARAM, "version is required");
	rc = version_parse(req, s, &v);
	free(s);
	if (rc == -1)
		return -1;
	if ((cur = mstore_backup_current(req->db, req->auth.user_id)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (cur == 0)
		return mfcgi_fail(req, MERR_NOT_FOUND, "No backup found");
	if (v != cur) {
		snprintf(buf, sizeof(buf), "%lld", (long long)cur);
		mfcgi_fail(req, MERR_WRONG_ROOM_KEYS_VERSION, "Wrong backup version");
		return mfcgi_fail_add(req, "current_version", json_string(buf));
	}
	if (req->paramsz == 2)
		rooms = json_pack("{s:{s:{s:O}}}", req->params[0], "sessions", req->params[1],
		    req->body);
	else if (req->paramsz == 1)
		rooms = json_pack("{s:O}", req->params[0], req->body);
	else
		rooms = json_incref(json_object_get(req->body, "rooms"));
	rc = json_is_object(rooms);
	json_object_foreach(rooms, room_id, room)
		if (!room_check(room))
			rc = 0;
	if (!rc) {
		json_decref(rooms);
		return mfcgi_fail(req, MERR_BAD_JSON, "Invalid room keys");
	}
	rc = mstore_backup_keys_put(req->db, req->auth.user_id, v, rooms);
	json_decref(rooms);
	if (rc == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return reply_etag(req, v);
}

/*
 * Spec: C-S API, GET /room_keys/keys[/{roomId}[/{sessionId}]]?version=:
 * all rooms, one room ({"sessions": {}} when it has none) or one session
 * (404 M_NOT_FOUND when missing); 404 M_NOT_FOUND for an unknown version.
 */
int
h_room_keys_get(struct mreq *req)
{
	const char	*room_id = req->paramsz > 0 ? req->params[0] : NULL;
	const char	*session_id = req->paramsz > 1 ? req->params[1] : NULL;
	json_t		*all, *out;
	int64_t		 v;
	int		 rc;

	if (keys_version(req, &v) == -1)
		return -1;
	if ((all = mstore_backup_keys_get(req->db, req->auth.user_id, v, room_id,
	    session_id)) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (room_id == NULL)
		return mfcgi_reply(req, 200, all);
	out = json_object_get(json_object_get(all, "rooms"), room_id);
	if (session_id != NULL) {
		out = json_object_get(json_object_get(out, "sessions"), session_id);
		if (out == NULL) {
			json_decref(all);
			return mfcgi_fail(req, MERR_NOT_FOUND, "No room_keys found");
		}
	}
	out = out != NULL ? json_incref(out) : json_pack("{s:{}}", "sessions");
	json_decref(all);
	rc = mfcgi_reply(req, 200, out);
	return rc;
}

/* Spec: C-S API, DELETE /room_keys/keys[/{roomId}[/{sessionId}]]?version=: answers {etag, count}. */
int
h_room_keys_delete(struct mreq *req)
{
	int64_t v;

	if (keys_version(req, &v) == -1)
		return -1;
	if (mstore_backup_keys_del(req->db, req->auth.user_id, v,
	    req->paramsz > 0 ? req->params[0] : NULL,
	    req->paramsz > 1 ? req->params[1] : NULL) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return reply_etag(req, v);
}
