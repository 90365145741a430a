/* Synapse's admin API for media: list, delete, quarantine, delete by date. */
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "json/json.h"
#include "media/media.h"
#include "store/store.h"

/* The local user of path parameter 0, existing: its ID, or NULL after failing. */
static const char *
media_user(struct mreq *req)
{
	struct muser	 u;
	const char	*id = api_local_user(req, 0);
	int		 rc;

	if (id == NULL)
		return NULL;
	if ((rc = mstore_user_get(req->db, id, &u)) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		return NULL;
	}
	if (rc == 0) {
		mfcgi_fail(req, MERR_NOT_FOUND, "User not found");
		return NULL;
	}
	muser_fini(&u);
	return id;
}

/*
 * Synapse: GET /_synapse/admin/v1/users/{userId}/media: {media, total,
 * next_token when more}, newest first (myelin orders by created_ts only).
 */
int
h_user_media(struct mreq *req)
{
	const char	*id;
	json_t		*media, *obj;
	int64_t		 from, limit, total;
	int		 backwards = 1;

	if ((id = media_user(req)) == NULL)
		return -1;
	if (api_query_page(req, &from, &limit) == -1 || api_query_dir(req, &backwards) == -1)
		return -1;
	if ((media = mstore_media_user_list(req->db, id, from, limit, &total)) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	obj = json_pack("{s:o,s:I}", "media", media, "total", (json_int_t)total);
	if (obj != NULL && from + (int64_t)json_array_size(media) < total)
		json_object_set_new(obj, "next_token",
		    json_integer(from + (json_int_t)json_array_size(media)));
	return mfcgi_reply(req, 200, obj);
}

/* Synapse: DELETE /_synapse/admin/v1/users/{userId}/media: {deleted_media, total}. */
int
h_user_media_delete(struct mreq *req)
{
	struct madmin	 a;
	const char	*id;
	json_t		*deleted;
	enum madmin_rc	 rc;

	if ((id = media_user(req)) == NULL)
		return -1;
	if ((deleted = json_array()) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	api_ctx(req, &a);
	if ((rc = madmin_media_purge(&a, 0, 0, id, deleted, NULL, NULL)) != MADMIN_OK) {
		json_decref(deleted);
		return api_fail(req, &a, rc);
	}
	return mfcgi_reply(req, 200, json_pack("{s:I,s:o}", "total",
	    (json_int_t)json_array_size(deleted), "deleted_media", deleted));
}

/* The local media ID of path parameters 0 and 1, or NULL after 400 (Synapse's wording). */
static const char *
local_media(struct mreq *req, const char *what)
{
	if (strcmp(req->params[0], req->conf->server_name) != 0) {
		mfcgi_fail(req, MERR_UNKNOWN, "Can only %s local media", what);
		return NULL;
	}
	return req->params[1];
}

/* Synapse: DELETE /_synapse/admin/v1/media/{serverName}/{mediaId}. */
int
h_media_delete(struct mreq *req)
{
	struct madmin	 a;
	const char	*id;
	enum madmin_rc	 rc;

	if ((id = local_media(req, "delete")) == NULL)
		return -1;
	api_ctx(req, &a);
	if ((rc = madmin_media_delete(&a, id)) != MADMIN_OK)
		return api_fail(req, &a, rc);
	return mfcgi_reply(req, 200, json_pack("{s:[s],s:i}", "deleted_media", id, "total", 1));
}

/*
 * Synapse: POST /_synapse/admin/v1/media/delete?before_ts=&size_gt=
 * (also /media/{serverName}/delete): local media last accessed before
 * before_ts, larger than size_gt, quarantined ones kept.  before_ts is
 * required (400 M_MISSING_PARAM).  keep_profiles is accepted; avatars
 * are not told apart yet.
 */
int
h_media_delete_before(struct mreq *req)
{
	struct madmin	 a;
	json_t		*deleted;
	char		*b;
	int64_t		 before, size_gt;
	enum madmin_rc	 rc;
	int		 keep = 1;

	if (req->paramsz > 0 && local_media(req, "delete") == NULL)
		return -1;
	if ((b = mreq_query(req, "before_ts")) == NULL)
		return mfcgi_fail(req, MERR_MISSING_PARAM, "Missing integer query parameter 'before_ts'");
	free(b);
	if (mreq_query_int(req, "before_ts", 0, 0, INT64_MAX, &before) == -1 ||
	    mreq_query_int(req, "size_gt", 0, 0, INT64_MAX - 1, &size_gt) == -1 ||
	    api_query_bool(req, "keep_profiles", &keep) == -1)
		return -1;
	if ((deleted = json_array()) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	api_ctx(req, &a);
	if ((rc = madmin_media_purge(&a, before > 0 ? before : 1, size_gt + 1, NULL, deleted,
	    NULL, NULL)) != MADMIN_OK) {
		json_decref(deleted);
		return api_fail(req, &a, rc);
	}
	return mfcgi_reply(req, 200, json_pack("{s:I,s:o}", "total",
	    (json_int_t)json_array_size(deleted), "deleted_media", deleted));
}

static int
quarantine(struct mreq *req, int on)
{
	struct madmin	 a;
	const char	*id;
	enum madmin_rc	 rc;

	api_ctx(req, &a);
	/* Synapse quarantines other servers' media too: the copy cached here. */
	if (strcmp(req->params[0], req->conf->server_name) != 0) {
		if ((rc = madmin_media_quarantine_remote(&a, req->params[0], req->params[1],
		    on)) != MADMIN_OK)
			return api_fail(req, &a, rc);
		return mfcgi_reply(req, 200, json_object());
	}
	if ((id = local_media(req, "quarantine")) == NULL)
		return -1;
	if ((rc = madmin_media_quarantine(&a, id, on)) != MADMIN_OK)
		return api_fail(req, &a, rc);
	return mfcgi_reply(req, 200, json_object());
}

/* Synapse: POST /_synapse/admin/v1/media/quarantine/{serverName}/{mediaId}. */
int
h_media_quarantine(struct mreq *req)
{
	return quarantine(req, 1);
}

/* Synapse: POST /_synapse/admin/v1/media/unquarantine/{serverName}/{mediaId}. */
int
h_media_unquarantine(struct mreq *req)
{
	return quarantine(req, 0);
}

/*
 * Synapse: POST /_synapse/admin/v1/purge_media_cache?before_ts=: the
 * cached media of other servers last accessed before before_ts go
 * (quarantined ones stay); answers {"deleted": N}.
 */
int
h_purge_media_cache(struct mreq *req)
{
	struct madmin	 a;
	enum madmin_rc	 rc;
	json_t		*deleted;
	int64_t		 before, n;
	char		*b;

	if ((b = mreq_query(req, "before_ts")) == NULL)
		return mfcgi_fail(req, MERR_MISSING_PARAM, "Missing integer query parameter 'before_ts'");
	free(b);
	if (mreq_query_int(req, "before_ts", 0, 0, INT64_MAX, &before) == -1)
		return -1;
	if ((deleted = json_array()) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	api_ctx(req, &a);
	if ((rc = madmin_media_purge_remote(&a, before, deleted, NULL, NULL)) != MADMIN_OK) {
		json_decref(deleted);
		return api_fail(req, &a, rc);
	}
	n = (int64_t)json_array_size(deleted);
	json_decref(deleted);
	return mfcgi_reply(req, 200, json_pack("{s:I}", "deleted", (json_int_t)n));
}
