/*
 * Storage for the endpoints issue 10 added: account locks and
 * suspensions, OpenID and login tokens, extended profile fields, mutual
 * rooms, room and user reports.
 */
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"
#include "json/json.h"
#include "store/extern.h"

int
mstore_user_set_locked(struct mdb *db, const char *user_id, int locked)
{
	return mstore_changed(mdb_exec(db, MSTMT_USER_SET_LOCKED, "si", user_id,
	    (int64_t)(locked != 0)));
}

int
mstore_user_set_suspended(struct mdb *db, const char *user_id, int suspended)
{
	return mstore_changed(mdb_exec(db, MSTMT_USER_SET_SUSPENDED, "si", user_id,
	    (int64_t)(suspended != 0)));
}

int
mstore_user_flags(struct mdb *db, const char *user_id, int *locked, int *suspended)
{
	struct mcur	*c;
	int		 rc;

	*locked = *suspended = 0;
	if ((c = mdb_query(db, MSTMT_USER_FLAGS, "s", user_id)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1) {
		*locked = mcur_int(c, 0) != 0;
		*suspended = mcur_int(c, 1) != 0;
	}
	mcur_free(c);
	return rc;
}

int
mstore_openid_add(struct mdb *db, const char *hash, const char *user_id,
    int64_t valid_until_ms, int64_t now_ms)
{
	if (mdb_exec(db, MSTMT_OPENID_DEL_OLD, "i", now_ms) < 0)
		return -1;
	return mdb_exec(db, MSTMT_OPENID_ADD, "ssi", hash, user_id, valid_until_ms) < 0 ?
	    -1 : 0;
}

int
mstore_openid_get(struct mdb *db, const char *hash, int64_t now_ms, char **user_id)
{
	struct mcur	*c;
	int		 rc;

	*user_id = NULL;
	if ((c = mdb_query(db, MSTMT_OPENID_GET, "si", hash, now_ms)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1 && (*user_id = mcur_dup(c, 0)) == NULL)
		rc = -1;
	mcur_free(c);
	return rc;
}

int
mstore_login_token_add(struct mdb *db, const char *hash, const char *user_id,
    int64_t valid_until_ms, int64_t now_ms)
{
	if (mdb_exec(db, MSTMT_LOGINTOKEN_DEL_OLD, "i", now_ms) < 0)
		return -1;
	return mdb_exec(db, MSTMT_LOGINTOKEN_ADD, "ssi", hash, user_id, valid_until_ms) < 0 ?
	    -1 : 0;
}

/* The DELETE ... RETURNING makes a second use of the token find nothing. */
int
mstore_login_token_take(struct mdb *db, const char *hash, int64_t now_ms, char **user_id)
{
	struct mcur	*c;
	int		 rc;

	*user_id = NULL;
	if ((c = mdb_query(db, MSTMT_LOGINTOKEN_TAKE, "s", hash)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1) {
		if (mcur_int(c, 1) <= now_ms)
			rc = 0;
		else if ((*user_id = mcur_dup(c, 0)) == NULL)
			rc = -1;
	}
	/* Drain: a backend may run the DELETE to its end only when read. */
	while (rc != -1 && mcur_next(c) == 1)
		;
	mcur_free(c);
	return rc;
}

int
mstore_profile_field_get(struct mdb *db, const char *user_id, const char *name,
    json_t **value)
{
	struct mcur	*c;
	const char	*s;
	int		 rc;

	*value = NULL;
	if ((c = mdb_query(db, MSTMT_PFIELD_GET, "ss", user_id, name)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1 && ((s = mcur_text(c, 0)) == NULL ||
	    (*value = json_loads(s, JSON_DECODE_ANY, NULL)) == NULL))
		rc = -1;
	mcur_free(c);
	return rc;
}

int
mstore_profile_fields_all(struct mdb *db, const char *user_id, json_t *obj)
{
	struct mcur	*c;
	const char	*k, *s;
	json_t		*v;
	int		 rc;

	if ((c = mdb_query(db, MSTMT_PFIELD_LIST, "s", user_id)) == NULL)
		return -1;
	while ((rc = mcur_next(c)) == 1) {
		if ((k = mcur_text(c, 0)) == NULL || (s = mcur_text(c, 1)) == NULL ||
		    (v = json_loads(s, JSON_DECODE_ANY, NULL)) == NULL ||
		    json_object_set_new(obj, k, v) == -1) {
			rc = -1;
			break;
		}
	}
	mcur_free(c);
	return rc == -1 ? -1 : 0;
}

int
mstore_profile_field_put(struct mdb *db, const char *user_id, const char *name,
    const json_t *value)
{
	char	*s;
	int64_t	 n;

	if ((s = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
		return -1;
	n = mdb_exec(db, MSTMT_PFIELD_PUT, "sss", user_id, name, s);
	free(s);
	return n < 0 ? -1 : 0;
}

int
mstore_profile_field_del(struct mdb *db, const char *user_id, const char *name)
{
	return mstore_changed(mdb_exec(db, MSTMT_PFIELD_DEL, "ss", user_id, name));
}

json_t *
mstore_mutual_rooms(struct mdb *db, const char *a, const char *b, const char *after,
    int64_t limit)
{
	return mcur_json_strings(mdb_query(db, MSTMT_MUTUAL_ROOMS, "sssi", a, b, after, limit));
}

int
mstore_mutual_rooms_count(struct mdb *db, const char *a, const char *b, int64_t *n)
{
	return mcur_first_int(mdb_query(db, MSTMT_MUTUAL_ROOMS_COUNT, "ss", a, b), n) == 1 ?
	    0 : -1;
}

int
mstore_room_report_add(struct mdb *db, const char *room_id, const char *user_id,
    const char *reason)
{
	return mdb_exec(db, MSTMT_ROOM_REPORT_ADD, "sssi", room_id, user_id, reason,
	    mclock_now_ms()) < 0 ? -1 : 0;
}

int
mstore_user_report_add(struct mdb *db, const char *target, const char *user_id,
    const char *reason)
{
	return mdb_exec(db, MSTMT_USER_REPORT_ADD, "sssi", target, user_id, reason,
	    mclock_now_ms()) < 0 ? -1 : 0;
}
