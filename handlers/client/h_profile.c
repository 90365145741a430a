/* Profiles: display name and avatar URL. */
#include <stdlib.h>
#include <string.h>

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
	if ((rc = mstore_user_get(req->db, req->params[0], &u)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (rc == 0 || u.deactivated) {
		muser_fini(&u);
		return mfcgi_fail(req, MERR_NOT_FOUND, "Profile was not found");
	}
	out = json_object();
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
static int
profile_put(struct mreq *req, const char *key, size_t maxlen,
    int (*set)(struct mdb *, const char *, const char *))
{
	json_t		*v = json_object_get(req->body, key);
	const char	*s = NULL;

	if (strcmp(req->params[0], req->auth.user_id) != 0)
		return mfcgi_fail(req, MERR_FORBIDDEN, "Cannot set another user's %s", key);
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
