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

int
msyn_profile_get(struct mdb *db, const char *localpart, char **displayname,
    char **avatar_url)
{
	struct mcur	*c;
	int		 rc;

	*displayname = *avatar_url = NULL;
	if ((c = mdb_query(db, MSTMT_SYN_PROFILE, "s", localpart)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1) {
		*displayname = mcur_dup(c, 0);
		*avatar_url = mcur_dup(c, 1);
		if ((*displayname == NULL && !mcur_null(c, 0)) ||
		    (*avatar_url == NULL && !mcur_null(c, 1))) {
			free(*displayname);
			free(*avatar_url);
			*displayname = *avatar_url = NULL;
			rc = -1;
		}
	}
	mcur_free(c);
	return rc;
}

int
msyn_alias_get(struct mdb *db, const char *alias, char **room_id, json_t **servers)
{
	struct mcur	*c;
	int		 rc;

	*room_id = NULL;
	*servers = NULL;
	if ((c = mdb_query(db, MSTMT_SYN_ALIAS, "s", alias)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1 && (*room_id = mcur_dup(c, 0)) == NULL)
		rc = -1;
	mcur_free(c);
	if (rc != 1)
		return rc;
	if ((*servers = mcur_json_strings(mdb_query(db, MSTMT_SYN_ALIAS_SERVERS, "s",
	    alias))) == NULL) {
		free(*room_id);
		*room_id = NULL;
		return -1;
	}
	return 1;
}

json_t *
msyn_room_joined(struct mdb *db, const char *room_id)
{
	return mcur_json_strings(mdb_query(db, MSTMT_SYN_ROOM_JOINED, "s", room_id));
}

json_t *
msyn_joined_rooms(struct mdb *db, const char *user_id)
{
	return mcur_json_strings(mdb_query(db, MSTMT_SYN_JOINED_ROOMS, "s", user_id));
}

/* Sets key to column col of c as a string, unless it is NULL (Synapse omits those). */
static int
set_text(json_t *o, const char *key, struct mcur *c, int col)
{
	const char *s = mcur_text(c, col);

	return s == NULL ? 0 : json_object_set_new(o, key, json_string(s));
}

/* One row of MSTMT_SYN_PUBLIC_ROOMS as Synapse's build_room_entry makes it. */
static json_t *
public_room(struct mcur *c)
{
	json_t		*o = json_object();
	const char	*hv = mcur_text(c, 6), *ga = mcur_text(c, 7);

	if (o == NULL || set_text(o, "room_id", c, 0) == -1 || set_text(o, "name", c, 1) == -1 ||
	    set_text(o, "topic", c, 2) == -1 || set_text(o, "canonical_alias", c, 3) == -1 ||
	    json_object_set_new(o, "num_joined_members", json_integer(mcur_int(c, 4))) == -1 ||
	    set_text(o, "avatar_url", c, 5) == -1 ||
	    json_object_set_new(o, "world_readable",
	    json_boolean(hv != NULL && strcmp(hv, "world_readable") == 0)) == -1 ||
	    json_object_set_new(o, "guest_can_join",
	    json_boolean(ga != NULL && strcmp(ga, "can_join") == 0)) == -1 ||
	    set_text(o, "join_rule", c, 8) == -1 || set_text(o, "room_type", c, 9) == -1 ||
	    json_object_get(o, "room_id") == NULL) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int
public_cmp(const void *a, const void *b)
{
	return mstore_public_room_cmp(*(json_t *const *)a, *(json_t *const *)b);
}

json_t *
msyn_public_rooms(struct mdb *db)
{
	json_t	*all, *out, **v;
	size_t	 n, i;

	all = mcur_json_array(mdb_query(db, MSTMT_SYN_PUBLIC_ROOMS, ""), public_room);
	if (all == NULL || (n = json_array_size(all)) < 2)
		return all;
	if ((v = calloc(n, sizeof(json_t *))) == NULL || (out = json_array()) == NULL) {
		free(v);
		json_decref(all);
		return NULL;
	}
	for (i = 0; i < n; i++)
		v[i] = json_array_get(all, i);
	qsort(v, n, sizeof(json_t *), public_cmp);
	for (i = 0; i < n; i++)
		if (json_array_append(out, v[i]) == -1) {
			json_decref(out);
			out = NULL;
			break;
		}
	free(v);
	json_decref(all);
	return out;
}
