/* Server-side key backup in the store: versions and the room keys under them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/extern.h"

/* v as stored text (any JSON value), malloc'd, or NULL. */
static char *
to_text(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

int64_t
mstore_backup_current(struct mdb *db, const char *user_id)
{
	int64_t v = 0;

	/* MAX() of no rows is one NULL row, read as 0. */
	if (mcur_first_int(mdb_query(db, MSTMT_E2EE_BV_CURRENT, "s", user_id), &v) == -1)
		return -1;
	return v;
}

int64_t
mstore_backup_create(struct mdb *db, const char *user_id, const char *algorithm,
    const json_t *auth_data)
{
	char	*text;
	int64_t	 v = 0;

	if ((text = to_text(auth_data)) == NULL)
		return -1;
	if (mdb_begin(db) == -1) {
		free(text);
		return -1;
	}
	if (mcur_first_int(mdb_query(db, MSTMT_E2EE_BV_NEXT, "s", user_id), &v) != 1 ||
	    mdb_exec(db, MSTMT_E2EE_BV_ADD, "siss", user_id, v, algorithm, text) < 0 ||
	    mdb_commit(db) == -1) {
		mdb_rollback(db);
		free(text);
		return -1;
	}
	free(text);
	return v;
}

int
mstore_backup_get(struct mdb *db, const char *user_id, int64_t version, json_t **out)
{
	struct mcur	*c;
	json_t		*auth;
	char		 buf[32];
	int		 rc;

	*out = NULL;
	if ((c = mdb_query(db, MSTMT_E2EE_BV_GET, "si", user_id, version)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1) {
		if ((auth = json_loads(mcur_text(c, 1), JSON_DECODE_ANY, NULL)) == NULL) {
			rc = -1;
			goto out;
		}
		/* Spec: version and etag are strings. */
		snprintf(buf, sizeof(buf), "%lld", (long long)mcur_int(c, 2));
		*out = json_pack("{s:s,s:o,s:s,s:I}", "algorithm", mcur_text(c, 0), "auth_data",
		    auth, "etag", buf, "count", (json_int_t)mcur_int(c, 3));
		snprintf(buf, sizeof(buf), "%lld", (long long)version);
		if (*out == NULL || json_object_set_new(*out, "version", json_string(buf)) == -1)
			rc = -1;
	}
out:
	mcur_free(c);
	return rc;
}

int
mstore_backup_update(struct mdb *db, const char *user_id, int64_t version,
    const json_t *auth_data)
{
	char	*text;
	int	 rc;

	if ((text = to_text(auth_data)) == NULL)
		return -1;
	rc = mstore_changed(mdb_exec(db, MSTMT_E2EE_BV_SET, "sis", user_id, version, text));
	free(text);
	return rc;
}

int
mstore_backup_delete(struct mdb *db, const char *user_id, int64_t version)
{
	int64_t n;

	if (mdb_begin(db) == -1)
		return -1;
	if ((n = mdb_exec(db, MSTMT_E2EE_BV_DEL, "si", user_id, version)) < 0 ||
	    mdb_exec(db, MSTMT_E2EE_BK_DEL, "siss", user_id, version, (const char *)NULL,
	    (const char *)NULL) < 0 ||
	    mdb_commit(db) == -1) {
		mdb_rollback(db);
		return -1;
	}
	return n > 0;
}

/*
 * Spec: C-S API, PUT /room_keys/keys: a key replaces the stored one of
 * its session when it is verified and that one is not; at the same
 * verification, when its first_message_index is lower; at the same
 * index too, when its forwarded_count is lower.
 */
static int
better(const json_t *k, struct mcur *cur)
{
	int64_t	 fmi = json_integer_value(json_object_get(k, "first_message_index"));
	int64_t	 fc = json_integer_value(json_object_get(k, "forwarded_count"));
	int	 ver = json_is_true(json_object_get(k, "is_verified"));
	int	 cver = mcur_int(cur, 2) != 0;

	if (ver != cver)
		return ver;
	if (fmi != mcur_int(cur, 0))
		return fmi < mcur_int(cur, 0);
	return fc < mcur_int(cur, 1);
}

/* Stores k for (room_id, session_id) when better.  1 stored, 0 kept the old, -1. */
static int
key_put(struct mdb *db, const char *user_id, int64_t version, const char *room_id,
    const char *session_id, const json_t *k)
{
	struct mcur	*c;
	char		*text;
	int		 r;

	if ((c = mdb_query(db, MSTMT_E2EE_BK_GET, "siss", user_id, version, room_id,
	    session_id)) == NULL)
		return -1;
	r = mcur_next(c);
	if (r == 1 && !better(k, c)) {
		mcur_free(c);
		return 0;
	}
	mcur_free(c);
	if (r == -1 || (text = to_text(json_object_get(k, "session_data"))) == NULL)
		return -1;
	r = mdb_exec(db, MSTMT_E2EE_BK_PUT, "sissiiis", user_id, version, room_id, session_id,
	    (int64_t)json_integer_value(json_object_get(k, "first_message_index")),
	    (int64_t)json_integer_value(json_object_get(k, "forwarded_count")),
	    (int64_t)json_is_true(json_object_get(k, "is_verified")), text) < 0 ? -1 : 1;
	free(text);
	return r;
}

int
mstore_backup_keys_put(struct mdb *db, const char *user_id, int64_t version,
    const json_t *rooms)
{
	const char	*room_id, *session_id;
	json_t		*room, *k;
	int		 changed = 0, r;

	if (mdb_begin(db) == -1)
		return -1;
	json_object_foreach((json_t *)rooms, room_id, room)
		json_object_foreach(json_object_get(room, "sessions"), session_id, k) {
			if ((r = key_put(db, user_id, version, room_id, session_id, k)) == -1)
				goto fail;
			changed |= r;
		}
	/* Spec: the etag changes when the keys do. */
	if (changed && mdb_exec(db, MSTMT_E2EE_BV_ETAG, "si", user_id, version) < 0)
		goto fail;
	return mdb_commit(db) == -1 ? -1 : 0;
fail:
	mdb_rollback(db);
	return -1;
}

/* Adds a backup_keys row to {"rooms": {room_id: {"sessions": {session_id: key}}}}. */
static int
key_row(struct mcur *c, json_t *out, void *arg)
{
	json_t	*rooms = json_object_get(out, "rooms"), *room, *sessions, *data;

	(void)arg;
	if ((room = json_object_get(rooms, mcur_text(c, 0))) == NULL &&
	    json_object_set_new(rooms, mcur_text(c, 0),
	    room = json_pack("{s:{}}", "sessions")) == -1)
		return -1;
	sessions = json_object_get(room, "sessions");
	if ((data = json_loads(mcur_text(c, 5), JSON_DECODE_ANY, NULL)) == NULL)
		return -1;
	return json_object_set_new(sessions, mcur_text(c, 1), json_pack("{s:I,s:I,s:b,s:o}",
	    "first_message_index", (json_int_t)mcur_int(c, 2),
	    "forwarded_count", (json_int_t)mcur_int(c, 3),
	    "is_verified", mcur_int(c, 4) != 0, "session_data", data));
}

json_t *
mstore_backup_keys_get(struct mdb *db, const char *user_id, int64_t version,
    const char *room_id, const char *session_id)
{
	return mcur_json_fold(mdb_query(db, MSTMT_E2EE_BK_LIST, "siss", user_id, version,
	    room_id, session_id), json_pack("{s:{}}", "rooms"), key_row, NULL);
}

int
mstore_backup_keys_del(struct mdb *db, const char *user_id, int64_t version,
    const char *room_id, const char *session_id)
{
	int64_t n;

	if (mdb_begin(db) == -1)
		return -1;
	if ((n = mdb_exec(db, MSTMT_E2EE_BK_DEL, "siss", user_id, version, room_id,
	    session_id)) < 0 ||
	    (n > 0 && mdb_exec(db, MSTMT_E2EE_BV_ETAG, "si", user_id, version) < 0) ||
	    mdb_commit(db) == -1) {
		mdb_rollback(db);
		return -1;
	}
	return 0;
}
