/* Storage of the media repository (issue 13): local media and thumbnails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/extern.h"

void
mmedia_fini(struct mmedia *m)
{
	if (m == NULL)
		return;
	free(m->media_id);
	free(m->user_id);
	free(m->content_type);
	free(m->upload_name);
	free(m->sha256);
	free(m->origin);
	memset(m, 0, sizeof(*m));
}

/* The MMEDIA_COLS of the row at c into elem (a struct mmedia).  0 or -1. */
static int
media_row(struct mcur *c, void *elem)
{
	struct mmedia	*m = elem;

	memset(m, 0, sizeof(*m));
	m->media_id = mcur_dup(c, 0);
	m->user_id = mcur_dup(c, 1);
	m->content_type = mcur_dup(c, 2);
	m->upload_name = mcur_dup(c, 3);
	m->size = mcur_int(c, 4);
	m->sha256 = mcur_dup(c, 5);
	m->created_ts = mcur_int(c, 6);
	m->last_access_ts = mcur_int(c, 7);
	m->expires_ts = mcur_int(c, 8);
	m->quarantined = mcur_int(c, 9) != 0;
	m->authenticated = mcur_int(c, 10) != 0;
	if (m->media_id == NULL || m->user_id == NULL) {
		mmedia_fini(m);
		return -1;
	}
	return 0;
}

static void
media_fini(void *elem)
{
	mmedia_fini(elem);
}

int
mstore_media_add(struct mdb *db, const struct mmedia *m)
{
	int64_t n = mdb_exec(db, MSTMT_MEDIA_ADD, "ssssisiii", m->media_id, m->user_id,
	    m->content_type, m->upload_name, m->size, m->sha256, m->created_ts,
	    m->expires_ts, (int64_t)(m->authenticated != 0));

	if (n < 0)
		return -1;
	return n == 0 ? MSTORE_CONFLICT : 0;
}

int
mstore_media_get(struct mdb *db, const char *media_id, struct mmedia *m)
{
	struct mcur	*c;
	int		 rc;

	memset(m, 0, sizeof(*m));
	if ((c = mdb_query(db, MSTMT_MEDIA_GET, "s", media_id)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1 && media_row(c, m) == -1)
		rc = -1;
	mcur_free(c);
	return rc;
}

int
mstore_media_fill(struct mdb *db, const char *media_id, const char *content_type,
    const char *upload_name, int64_t size, const char *sha256)
{
	return mstore_changed(mdb_exec(db, MSTMT_MEDIA_FILL, "sssis", media_id, content_type,
	    upload_name, size, sha256));
}

int
mstore_media_touch(struct mdb *db, const char *media_id, int64_t now_ms)
{
	return mstore_changed(mdb_exec(db, MSTMT_MEDIA_TOUCH, "si", media_id, now_ms));
}

int
mstore_media_pending(struct mdb *db, const char *user_id, int64_t now_ms, int64_t *n)
{
	return mcur_first_int(mdb_query(db, MSTMT_MEDIA_PENDING, "si", user_id, now_ms),
	    n) == -1 ? -1 : 0;
}

int
mstore_media_user_bytes(struct mdb *db, const char *user_id, int64_t *n)
{
	return mcur_first_int(mdb_query(db, MSTMT_MEDIA_USER_BYTES, "s", user_id),
	    n) == -1 ? -1 : 0;
}

/* Synapse's shape of a media item in its admin API. */
static json_t *
media_admin_obj(const struct mmedia *m)
{
	return json_pack("{s:s,s:s?,s:s?,s:I,s:I,s:I,s:n,s:s,s:b,s:n,s:b,s:s?}",
	    "media_id", m->media_id, "media_type", m->content_type,
	    "upload_name", m->upload_name, "media_length", (json_int_t)m->size,
	    "created_ts", (json_int_t)m->created_ts,
	    "last_access_ts", (json_int_t)m->last_access_ts,
	    "quarantined_by", "user_id", m->user_id, "safe_from_quarantine", 0,
	    "url_cache", "quarantined", m->quarantined, "sha256", m->sha256);
}

json_t *
mstore_media_user_list(struct mdb *db, const char *user_id, int64_t from, int64_t limit,
    int64_t *total)
{
	struct mmedia	*v = NULL;
	size_t		 n = 0;
	json_t		*arr = NULL;

	if (mcur_first_int(mdb_query(db, MSTMT_MEDIA_USER_COUNT, "s", user_id), total) == -1)
		return NULL;
	if (mcur_collect(mdb_query(db, MSTMT_MEDIA_USER_LIST, "sii", user_id, limit, from),
	    sizeof(*v), media_row, media_fini, (void **)&v, &n) == -1)
		return NULL;
	if ((arr = json_array()) != NULL)
		for (size_t i = 0; i < n; i++)
			if (json_array_append_new(arr, media_admin_obj(&v[i])) == -1) {
				json_decref(arr);
				arr = NULL;
				break;
			}
	for (size_t i = 0; i < n; i++)
		mmedia_fini(&v[i]);
	free(v);
	return arr;
}

int
mstore_media_list(struct mdb *db, const char *after, int64_t before_ms, int64_t min_size,
    int64_t limit, struct mmedia **out, size_t *outsz)
{
	struct mcur *c;

	*out = NULL;
	*outsz = 0;
	if (before_ms > 0)
		c = mdb_query(db, MSTMT_MEDIA_BEFORE, "iisi", before_ms, min_size, after, limit);
	else
		c = mdb_query(db, MSTMT_MEDIA_LIST, "si", after, limit);
	return mcur_collect(c, sizeof(**out), media_row, media_fini, (void **)out, outsz);
}

int
mstore_media_del(struct mdb *db, const char *media_id)
{
	if (mdb_exec(db, MSTMT_MEDIA_THUMB_DEL, "s", media_id) < 0)
		return -1;
	return mstore_changed(mdb_exec(db, MSTMT_MEDIA_DEL, "s", media_id));
}

int
mstore_media_quarantine(struct mdb *db, const char *media_id, int on)
{
	return mstore_changed(mdb_exec(db, MSTMT_MEDIA_QUARANTINE, "si", media_id,
	    (int64_t)(on != 0)));
}

int
mstore_media_thumb_get(struct mdb *db, const char *media_id, int64_t w, int64_t h,
    const char *method, char **content_type)
{
	struct mcur	*c;
	int		 rc;

	*content_type = NULL;
	if ((c = mdb_query(db, MSTMT_MEDIA_THUMB_GET, "siis", media_id, w, h, method)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1 && (*content_type = mcur_dup(c, 0)) == NULL)
		rc = -1;
	mcur_free(c);
	return rc;
}

int
mstore_media_thumb_add(struct mdb *db, const char *media_id, int64_t w, int64_t h,
    const char *method, const char *content_type, int64_t size)
{
	return mdb_exec(db, MSTMT_MEDIA_THUMB_ADD, "siissi", media_id, w, h, method,
	    content_type, size) < 0 ? -1 : 0;
}

/* The MRMEDIA_COLS of the row at c into elem (a struct mmedia).  0 or -1. */
static int
rmedia_row(struct mcur *c, void *elem)
{
	struct mmedia	*m = elem;

	memset(m, 0, sizeof(*m));
	m->origin = mcur_dup(c, 0);
	m->media_id = mcur_dup(c, 1);
	m->content_type = mcur_dup(c, 2);
	m->upload_name = mcur_dup(c, 3);
	m->size = mcur_int(c, 4);
	m->sha256 = mcur_dup(c, 5);
	m->created_ts = mcur_int(c, 6);
	m->last_access_ts = mcur_int(c, 7);
	m->quarantined = mcur_int(c, 8) != 0;
	if (m->origin == NULL || m->media_id == NULL) {
		mmedia_fini(m);
		return -1;
	}
	return 0;
}

int
mstore_rmedia_add(struct mdb *db, const struct mmedia *m)
{
	int64_t n = mdb_exec(db, MSTMT_RMEDIA_ADD, "ssssisi", m->origin, m->media_id,
	    m->content_type, m->upload_name, m->size, m->sha256, m->created_ts);

	if (n < 0)
		return -1;
	return n == 0 ? MSTORE_CONFLICT : 0;
}

int
mstore_rmedia_get(struct mdb *db, const char *origin, const char *media_id, struct mmedia *m)
{
	struct mcur	*c;
	int		 rc;

	memset(m, 0, sizeof(*m));
	if ((c = mdb_query(db, MSTMT_RMEDIA_GET, "ss", origin, media_id)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1 && rmedia_row(c, m) == -1)
		rc = -1;
	mcur_free(c);
	return rc;
}

int
mstore_rmedia_touch(struct mdb *db, const char *origin, const char *media_id, int64_t now_ms)
{
	return mstore_changed(mdb_exec(db, MSTMT_RMEDIA_TOUCH, "ssi", origin, media_id, now_ms));
}

int
mstore_rmedia_before(struct mdb *db, int64_t before_ms, const char *after_origin,
    const char *after_id, int64_t limit, struct mmedia **out, size_t *outsz)
{
	*out = NULL;
	*outsz = 0;
	return mcur_collect(mdb_query(db, MSTMT_RMEDIA_BEFORE, "issi", before_ms, after_origin,
	    after_id, limit), sizeof(**out), rmedia_row, media_fini, (void **)out, outsz);
}

int
mstore_rmedia_del(struct mdb *db, const char *origin, const char *media_id)
{
	char	*key = NULL;
	int	 rc;

	if (asprintf(&key, "%s/%s", origin, media_id) == -1)
		return -1;
	rc = mdb_exec(db, MSTMT_MEDIA_THUMB_DEL, "s", key) < 0 ? -1 : 0;
	free(key);
	if (rc == -1)
		return -1;
	return mstore_changed(mdb_exec(db, MSTMT_RMEDIA_DEL, "ss", origin, media_id));
}

int
mstore_rmedia_quarantine(struct mdb *db, const char *origin, const char *media_id, int on)
{
	return mstore_changed(mdb_exec(db, MSTMT_RMEDIA_QUARANTINE, "ssi", origin, media_id,
	    (int64_t)(on != 0)));
}

int
mstore_preview_get(struct mdb *db, const char *url, int64_t now_ms, char **og)
{
	struct mcur	*c;
	int		 rc;

	*og = NULL;
	if ((c = mdb_query(db, MSTMT_PREVIEW_GET, "si", url, now_ms)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1 && (*og = mcur_dup(c, 0)) == NULL)
		rc = -1;
	mcur_free(c);
	return rc;
}

int
mstore_preview_put(struct mdb *db, const char *url, const char *og, int64_t now_ms,
    int64_t expires_ms)
{
	return mdb_exec(db, MSTMT_PREVIEW_ADD, "ssii", url, og, now_ms, expires_ms) < 0 ? -1 : 0;
}

int64_t
mstore_preview_expire(struct mdb *db, int64_t now_ms)
{
	return mdb_exec(db, MSTMT_PREVIEW_EXPIRE, "i", now_ms);
}
