/* Profiles: display name, avatar URL and the extended fields (spec v1.16). */
#include <stdlib.h>
#include <string.h>

#include "appsvc.h"
#include "extern.h"
#include "fed/fed.h"
#include "json/json.h"
#include "rooms.h"
#include "store/store.h"

enum field { F_ALL, F_DISPLAYNAME, F_AVATAR };

/*
 * A user of another server: asked of that server over federation (S-S
 * API, GET /query/profile), as Synapse asks it.  Its 404 is ours; no
 * answer, or another error, is 502 as Synapse answers "Failed to fetch
 * profile".  Only string values are passed on.
 */
static int
profile_remote(struct mreq *req, const char *server, enum field f)
{
	json_t		*reply = NULL, *out;
	char		*user = NULL, *path = NULL;
	long		 status;
	int		 rc;

	if ((user = mfed_escape(req->params[0])) == NULL ||
	    asprintf(&path, "/_matrix/federation/v1/query/profile?user_id=%s%s", user,
	    f == F_DISPLAYNAME ? "&field=displayname" : f == F_AVATAR ? "&field=avatar_url" :
	    "") == -1) {
		free(user);
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	}
	free(user);
	rc = mfed_request(req->conf, req->srv->key, server, "GET", path, NULL, &status, &reply);
	free(path);
	if (rc == -1 || (status != 200 && status != 404) || (status == 200 && reply == NULL)) {
		json_decref(reply);
		return mfcgi_fail(req, MERR_BAD_GATEWAY, "Failed to fetch profile");
	}
	if (status == 404) {
		json_decref(reply);
		return mfcgi_fail(req, MERR_NOT_FOUND, "Profile was not found");
	}
	out = json_object();
	if (json_is_string(json_object_get(reply, "displayname")) && f != F_AVATAR)
		json_object_set(out, "displayname", json_object_get(reply, "displayname"));
	if (json_is_string(json_object_get(reply, "avatar_url")) && f != F_DISPLAYNAME)
		json_object_set(out, "avatar_url", json_object_get(reply, "avatar_url"));
	json_decref(reply);
	return mfcgi_reply(req, 200, out);
}

/*
 * Spec: C-S API, GET /profile/{userId}[/displayname|/avatar_url].  404
 * M_NOT_FOUND when the user does not exist here; a user of another
 * server is asked of it (profile_remote).
 */
static int
profile_get(struct mreq *req, enum field f)
{
	struct muser	 u;
	json_t		*out;
	const char	*colon = strchr(req->params[0], ':');
	int		 rc;

	if (mroom_user_id_check(req->params[0]) && colon != NULL &&
	    strcmp(colon + 1, req->conf->server_name) != 0)
		return profile_remote(req, colon + 1, f);
	if ((rc = as_user_get(req, req->params[0], &u)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (rc == 0 || u.deactivated) {
		muser_fini(&u);
		return mfcgi_fail(req, MERR_NOT_FOUND, "Profile was not found");
	}
	out = json_object();
	if (f == F_ALL && mstore_profile_fields_all(req->db, u.user_id, out) == -1) {
		muser_fini(&u);
		json_decref(out);
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	}
	if (u.displayname != NULL && f != F_AVATAR)
		json_object_set_new(out, "displayname", json_string(u.displayname));
	if (u.avatar_url != NULL && f != F_DISPLAYNAME)
		json_object_set_new(out, "avatar_url", json_string(u.avatar_url));
	muser_fini(&u);
	return mfcgi_reply(req, 200, out);
}

int
h_profile_get(struct mreq *req)
{
	return profile_get(req, F_ALL);
}

int
h_displayname_get(struct mreq *req)
{
	return profile_get(req, F_DISPLAYNAME);
}

int
h_avatar_get(struct mreq *req)
{
	return profile_get(req, F_AVATAR);
}

/*
 * Spec: C-S API, PUT /profile/{userId}/displayname|avatar_url: only the
 * user may change their own (403 M_FORBIDDEN); null or "" clears it.  The
 * change then reaches the user's member event in every joined room
 * (room_profile_rejoin), as Synapse sends it; a room that refuses does
 * not undo the change.
 */
/*
 * Whether the caller may change the profile of req->params[0]: their
 * own (403 M_FORBIDDEN), and not while suspended (spec: "Account
 * suspension", 403 M_USER_SUSPENDED).  1, or 0 with the request failed.
 */
static int
profile_may_change(struct mreq *req, const char *key)
{
	if (strcmp(req->params[0], req->auth.user_id) != 0) {
		mfcgi_fail(req, MERR_FORBIDDEN, "Cannot set another user's %s", key);
		return 0;
	}
	if (req->auth.is_suspended) {
		mfcgi_fail(req, MERR_USER_SUSPENDED, "This account is suspended");
		return 0;
	}
	return 1;
}

static int
profile_put(struct mreq *req, const char *key, size_t maxlen,
    int (*set)(struct mdb *, const char *, const char *))
{
	json_t		*v = json_object_get(req->body, key);
	const char	*s = NULL;

	if (!profile_may_change(req, key))
		return -1;
	if (v == NULL)
		return mfcgi_fail(req, MERR_MISSING_PARAM, "Missing key '%s'", key);
	if (!json_is_null(v) && !json_is_string(v))
		return mfcgi_fail(req, MERR_INVALID_PARAM, "%s must be a string", key);
	if (json_is_string(v) && json_string_length(v) > 0)
		s = json_string_value(v);
	if (s != NULL && strlen(s) > maxlen)
		return mfcgi_fail(req, MERR_INVALID_PARAM, "%s is too long (max %zu)", key, maxlen);
	if (set(req->db, req->auth.user_id, s) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (room_profile_rejoin(req) == -1)
		return -1;
	return mfcgi_reply(req, 200, json_object());
}

int
h_displayname_put(struct mreq *req)
{
	return profile_put(req, "displayname", 256, mstore_user_set_displayname);
}

int
h_avatar_put(struct mreq *req)
{
	return profile_put(req, "avatar_url", 1000, mstore_user_set_avatar);
}

/* Spec: "Profiles", v1.16: a key name is at most 255 bytes, a whole profile 64 KiB. */
#define PROFILE_KEY_MAX		255
#define PROFILE_MAX		65536

/*
 * Spec: C-S API, GET /profile/{userId}/{keyName} (v1.16): {keyName:
 * value}; 404 M_NOT_FOUND when the user is unknown here or has no such
 * field.  displayname and avatar_url have their own routes before this.
 */
int
h_profile_field_get(struct mreq *req)
{
	struct muser	 u;
	json_t		*v = NULL;
	int		 rc;

	if ((rc = mstore_user_get(req->db, req->params[0], &u)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	rc = rc == 1 && !u.deactivated;
	muser_fini(&u);
	if (!rc)
		return mfcgi_fail(req, MERR_NOT_FOUND, "Profile was not found");
	if ((rc = mstore_profile_field_get(req->db, req->params[0], req->params[1], &v)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (rc == 0)
		return mfcgi_fail(req, MERR_NOT_FOUND, "The profile has no such field");
	return mfcgi_reply(req, 200, json_pack("{s:o}", req->params[1], v));
}

/*
 * Spec: C-S API, PUT /profile/{userId}/{keyName} (v1.16): the body
 * holds keyName (400 M_MISSING_PARAM without it), any JSON value, m.tz a
 * string; 400 M_KEY_TOO_LARGE for a key name past 255 bytes, 400
 * M_PROFILE_TOO_LARGE when the whole profile (display name, avatar and
 * every field, as compact JSON) would pass 64 KiB.  Own profile only.
 */
int
h_profile_field_put(struct mreq *req)
{
	const char	*key = req->params[1];
	struct muser	 u;
	json_t		*v = json_object_get(req->body, key), *all = NULL;
	char		*s = NULL;
	int		 rc = -1;

	if (!profile_may_change(req, key))
		return -1;
	if (strlen(key) > PROFILE_KEY_MAX)
		return mfcgi_fail(req, MERR_KEY_TOO_LARGE, "Profile key names are at most %d bytes",
		    PROFILE_KEY_MAX);
	if (*key == '\0')
		return mfcgi_fail(req, MERR_INVALID_PARAM, "Empty profile key name");
	if (v == NULL)
		return mfcgi_fail(req, MERR_MISSING_PARAM, "Missing key '%s'", key);
	if (strcmp(key, "m.tz") == 0 && !json_is_string(v))
		return mfcgi_fail(req, MERR_INVALID_PARAM, "m.tz must be a string");
	if (mstore_user_get(req->db, req->auth.user_id, &u) != 1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if ((all = json_object()) == NULL ||
	    mstore_profile_fields_all(req->db, req->auth.user_id, all) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	if (u.displayname != NULL)
		json_object_set_new(all, "displayname", json_string(u.displayname));
	if (u.avatar_url != NULL)
		json_object_set_new(all, "avatar_url", json_string(u.avatar_url));
	json_object_set(all, key, v);
	if ((s = json_dumps(all, JSON_COMPACT)) == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	if (strlen(s) > PROFILE_MAX) {
		mfcgi_fail(req, MERR_PROFILE_TOO_LARGE, "A profile is at most %d bytes",
		    PROFILE_MAX);
		goto out;
	}
	if (mstore_profile_field_put(req->db, req->auth.user_id, key, v) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	rc = mfcgi_reply(req, 200, json_object());
out:
	free(s);
	json_decref(all);
	muser_fini(&u);
	return rc;
}

/*
 * Spec: C-S API, DELETE /profile/{userId}/{keyName} (v1.16): the field
 * goes (200 {} when there was none); displayname and avatar_url are
 * cleared as a PUT of null clears them, member events following.
 */
int
h_profile_field_delete(struct mreq *req)
{
	const char	*key = req->params[1];
	int		 (*set)(struct mdb *, const char *, const char *) = NULL;

	if (!profile_may_change(req, key))
		return -1;
	if (strlen(key) > PROFILE_KEY_MAX)
		return mfcgi_fail(req, MERR_KEY_TOO_LARGE, "Profile key names are at most %d bytes",
		    PROFILE_KEY_MAX);
	if (strcmp(key, "displayname") == 0)
		set = mstore_user_set_displayname;
	else if (strcmp(key, "avatar_url") == 0)
		set = mstore_user_set_avatar;
	if (set != NULL) {
		if (set(req->db, req->auth.user_id, NULL) == -1)
			return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		if (room_profile_rejoin(req) == -1)
			return -1;
	} else if (mstore_profile_field_del(req->db, req->auth.user_id, key) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return mfcgi_reply(req, 200, json_object());
}
