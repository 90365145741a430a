/* Administration of the media repository: quarantine, deletion, purges by date. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin.h"
#include "log/log.h"
#include "media/media.h"
#include "store/store.h"

/* A purge reads the rows to delete in batches of this many. */
#define PURGE_BATCH	100

enum madmin_rc
madmin_media_quarantine(struct madmin *a, const char *media_id, int on)
{
	int rc;

	if (!mmedia_id_check(media_id) ||
	    (rc = mstore_media_quarantine(a->db, media_id, on)) == 0) {
		snprintf(a->why, sizeof(a->why), "no media %s", media_id);
		return MADMIN_NOT_FOUND;
	}
	return rc == -1 ? MADMIN_ERROR : MADMIN_OK;
}

enum madmin_rc
madmin_media_quarantine_remote(struct madmin *a, const char *origin, const char *media_id,
    int on)
{
	int rc;

	if (!mmedia_origin_check(origin) || !mmedia_id_check(media_id) ||
	    (rc = mstore_rmedia_quarantine(a->db, origin, media_id, on)) == 0) {
		snprintf(a->why, sizeof(a->why), "no media %s/%s cached", origin, media_id);
		return MADMIN_NOT_FOUND;
	}
	return rc == -1 ? MADMIN_ERROR : MADMIN_OK;
}

/*
 * The row goes first: once it is gone nothing serves the file, and a
 * file left by a failure after it is only disk, never a broken answer.
 */
enum madmin_rc
madmin_media_delete(struct madmin *a, const char *media_id)
{
	int rc;

	if (!mmedia_id_check(media_id) || (rc = mstore_media_del(a->db, media_id)) == 0) {
		snprintf(a->why, sizeof(a->why), "no media %s", media_id);
		return MADMIN_NOT_FOUND;
	}
	if (rc == -1)
		return MADMIN_ERROR;
	if (mmedia_unlink(a->conf, media_id) == -1)
		mlog_warn(NULL, "media %s: files not removed: %s", media_id, strerror(errno));
	return MADMIN_OK;
}

enum madmin_rc
madmin_media_purge(struct madmin *a, int64_t before_ms, int64_t min_size,
    const char *user_id, json_t *deleted, void (*progress)(void *, size_t), void *arg)
{
	struct mmedia	*v = NULL;
	size_t		 n = 0, done = 0;
	char		*after = strdup("");

	if (after == NULL)
		return MADMIN_ERROR;
	for (;;) {
		if (mstore_media_list(a->db, after, user_id != NULL ? 0 : before_ms, min_size,
		    PURGE_BATCH, &v, &n) == -1) {
			free(after);
			return MADMIN_ERROR;
		}
		if (n == 0)
			break;
		for (size_t i = 0; i < n; i++) {
			int pick = v[i].quarantined == 0 || user_id != NULL;

			if (user_id != NULL)
				pick = strcmp(v[i].user_id, user_id) == 0;
			if (pick && madmin_media_delete(a, v[i].media_id) == MADMIN_OK) {
				json_array_append_new(deleted, json_string(v[i].media_id));
				done++;
			}
		}
		free(after);
		after = strdup(v[n - 1].media_id);
		for (size_t i = 0; i < n; i++)
			mmedia_fini(&v[i]);
		free(v);
		v = NULL;
		if (progress != NULL)
			progress(arg, done);
		if (after == NULL)
			return MADMIN_ERROR;
	}
	free(after);
	return MADMIN_OK;
}

enum madmin_rc
madmin_media_purge_remote(struct madmin *a, int64_t before_ms, json_t *deleted,
    void (*progress)(void *, size_t), void *arg)
{
	struct mmedia	*v = NULL;
	size_t		 n = 0, done = 0;
	char		*after_o = strdup(""), *after_i = strdup(""), *key = NULL;
	enum madmin_rc	 rc = MADMIN_ERROR;

	if (after_o == NULL || after_i == NULL)
		goto out;
	for (;;) {
		if (mstore_rmedia_before(a->db, before_ms, after_o, after_i, PURGE_BATCH, &v,
		    &n) == -1)
			goto out;
		if (n == 0)
			break;
		for (size_t i = 0; i < n; i++) {
			int got;

			/* The row first, as madmin_media_delete. */
			if (v[i].quarantined ||
			    (got = mstore_rmedia_del(a->db, v[i].origin, v[i].media_id)) == 0)
				continue;
			if (got == -1)
				goto out;
			if (mmedia_remote_unlink(a->conf, v[i].origin, v[i].media_id) == -1)
				mlog_warn(NULL, "media %s/%s: files not removed: %s", v[i].origin,
				    v[i].media_id, strerror(errno));
			if (asprintf(&key, "%s/%s", v[i].origin, v[i].media_id) != -1) {
				json_array_append_new(deleted, json_string(key));
				free(key);
			}
			done++;
		}
		free(after_o);
		free(after_i);
		after_o = strdup(v[n - 1].origin);
		after_i = strdup(v[n - 1].media_id);
		for (size_t i = 0; i < n; i++)
			mmedia_fini(&v[i]);
		free(v);
		v = NULL;
		if (progress != NULL)
			progress(arg, done);
		if (after_o == NULL || after_i == NULL)
			goto out;
	}
	rc = MADMIN_OK;
out:
	free(after_o);
	free(after_i);
	return rc;
}
