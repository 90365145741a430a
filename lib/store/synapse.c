/* Synapse's database: the schema check, its tokens and its media tables. */
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "log/log.h"
#include "store/extern.h"

struct mdb *
msyn_open(const struct mconfig *conf)
{
	struct mdb	*db;
	int64_t		 v;

	if (conf->synapse_database == NULL) {
		mlog_err(NULL, "synapse_database is not set");
		return NULL;
	}
	if ((db = calloc(1, sizeof(*db))) == NULL)
		return NULL;
	db->kind = conf->synapse_db_backend;
	db->foreign = 1;
	db->be = db->kind == MDB_POSTGRES ? &mbackend_pg : &mbackend_sqlite;
	if (db->be->open(db, conf->synapse_database) == -1) {
		mlog_err(NULL, "synapse_database: cannot open %s", db->kind == MDB_SQLITE ?
		    conf->synapse_database : "(postgres)");
		free(db);
		return NULL;
	}
	if (msyn_schema_version(db, &v) == -1) {
		mlog_err(NULL, "synapse_database: no schema_version table: not a Synapse database");
		mdb_close(db);
		return NULL;
	}
	if (v < MSYN_SCHEMA_MIN || v > MSYN_SCHEMA_MAX) {
		mlog_err(NULL, "synapse_database: Synapse schema version %lld, this build is"
		    " tested with %d to %d only (Synapse 1.67): refusing to serve over it",
		    (long long)v, MSYN_SCHEMA_MIN, MSYN_SCHEMA_MAX);
		mdb_close(db);
		return NULL;
	}
	return db;
}

int
msyn_schema_version(struct mdb *db, int64_t *v)
{
	return mcur_first_int(mdb_query(db, MSTMT_SYN_SCHEMA, ""), v) == 1 ? 0 : -1;
}

void
msyn_token_fini(struct msyn_token *t)
{
	if (t == NULL)
		return;
	free(t->user_id);
	free(t->device_id);
	memset(t, 0, sizeof(*t));
}

int
msyn_token_get(struct mdb *db, const char *token, struct msyn_token *t)
{
	struct mcur	*c;
	int		 rc;

	memset(t, 0, sizeof(*t));
	if ((c = mdb_query(db, MSTMT_SYN_TOKEN, "s", token)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1) {
		t->user_id = mcur_dup(c, 0);
		t->device_id = mcur_dup(c, 1);
		t->valid_until_ms = mcur_int(c, 2);
		t->is_admin = mcur_int(c, 3) != 0;
		t->deactivated = mcur_int(c, 4) != 0;
		t->is_guest = mcur_int(c, 5) != 0;
		t->token_id = mcur_int(c, 6);
		t->shadow_banned = mcur_int(c, 7) != 0;
		if (t->user_id == NULL) {
			msyn_token_fini(t);
			rc = -1;
		}
	}
	mcur_free(c);
	return rc;
}

void
msyn_media_fini(struct msyn_media *m)
{
	if (m == NULL)
		return;
	free(m->media_type);
	free(m->upload_name);
	free(m->user_id);
	free(m->filesystem_id);
	memset(m, 0, sizeof(*m));
}

int
msyn_media_get(struct mdb *db, const char *origin, const char *media_id,
    struct msyn_media *m)
{
	struct mcur	*c;
	int		 rc;

	memset(m, 0, sizeof(*m));
	if (origin == NULL)
		c = mdb_query(db, MSTMT_SYN_MEDIA_GET, "s", media_id);
	else
		c = mdb_query(db, MSTMT_SYN_REMOTE_GET, "ss", origin, media_id);
	if (c == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1) {
		m->media_type = mcur_dup(c, 0);
		m->length = mcur_int(c, 1);
		m->upload_name = mcur_dup(c, 2);
		m->created_ts = mcur_int(c, 3);
		m->quarantined = mcur_int(c, 4) != 0;
		m->last_access_ts = mcur_int(c, 5);
		if (origin == NULL) {
			m->url_cache = mcur_int(c, 6) != 0;
			m->user_id = mcur_dup(c, 7);
		} else if ((m->filesystem_id = mcur_dup(c, 6)) == NULL) {
			/* A row whose download never finished has no file. */
			msyn_media_fini(m);
			rc = 0;
		}
	}
	mcur_free(c);
	return rc;
}

int
msyn_media_add(struct mdb *db, const char *media_id, const char *media_type,
    const char *upload_name, int64_t length, const char *user_id, int64_t now_ms)
{
	int64_t n = mdb_exec(db, MSTMT_SYN_MEDIA_ADD, "ssisis", media_id, media_type, now_ms,
	    upload_name, length, user_id);

	if (n < 0)
		return -1;
	return n == 0 ? MSTORE_CONFLICT : 0;
}

int
msyn_media_touch(struct mdb *db, const char *origin, const char *media_id, int64_t now_ms)
{
	int64_t n;

	if (origin == NULL)
		n = mdb_exec(db, MSTMT_SYN_MEDIA_TOUCH, "si", media_id, now_ms);
	else
		n = mdb_exec(db, MSTMT_SYN_REMOTE_TOUCH, "ssi", origin, media_id, now_ms);
	return n < 0 ? -1 : 0;
}

static int
thumb_row(struct mcur *c, void *elem)
{
	struct msyn_thumb *t = elem;

	t->w = mcur_int(c, 0);
	t->h = mcur_int(c, 1);
	return (t->type = mcur_dup(c, 2)) == NULL ? -1 : 0;
}

static void
thumb_fini(void *elem)
{
	free(((struct msyn_thumb *)elem)->type);
}

int
msyn_thumb_list(struct mdb *db, const char *origin, const char *media_id,
    const char *method, struct msyn_thumb **out, size_t *outsz)
{
	struct mcur *c;

	*out = NULL;
	*outsz = 0;
	if (origin == NULL)
		c = mdb_query(db, MSTMT_SYN_THUMB_LIST, "ss", media_id, method);
	else
		c = mdb_query(db, MSTMT_SYN_RTHUMB_LIST, "sss", origin, media_id, method);
	return mcur_collect(c, sizeof(**out), thumb_row, thumb_fini, (void **)out, outsz);
}

void
msyn_thumbs_free(struct msyn_thumb *v, size_t n)
{
	mstore_list_free(v, n, sizeof(*v), thumb_fini);
}

int
msyn_thumb_add(struct mdb *db, const char *origin, const char *media_id,
    const char *filesystem_id, int w, int h, const char *method, const char *type,
    int64_t length)
{
	int64_t n;

	if (origin == NULL)
		n = mdb_exec(db, MSTMT_SYN_THUMB_ADD, "siissi", media_id, (int64_t)w, (int64_t)h,
		    type, method, length);
	else
		n = mdb_exec(db, MSTMT_SYN_RTHUMB_ADD, "ssiississ", origin, media_id, (int64_t)w,
		    (int64_t)h, method, type, length, filesystem_id);
	return n < 0 ? -1 : 0;
}
