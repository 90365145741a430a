/* Simplified sliding sync (MSC4186): connections, what each room was sent with, bump stamps. */
#include <stdlib.h>

#include "store/extern.h"

/*
 * What a request deletes on the way: the timer takes the rest
 * (timer-daemon/cleanup.c), so a request's transaction stays short.
 */
#define SLIDING_EXPIRE_BATCH	100

int64_t
mstore_sliding_expire_before(int64_t now)
{
	return now - MSLIDING_CONN_TTL_MS;
}

int64_t
mstore_sliding_expire(struct mdb *db, int64_t expire, int64_t limit)
{
	return mstore_clean_with(db, MSTMT_CLEAN_SLIDING_CONNS, MSTMT_CLEAN_SLIDING_ROOMS,
	    expire, limit);
}

int
mstore_sliding_conn_new(struct mdb *db, const char *user_id, const char *device_id,
    const char *conn_id, int64_t now, int64_t expire, int64_t *id)
{
	if (mdb_begin(db) == -1)
		return -1;
	if (mstore_sliding_expire(db, expire, SLIDING_EXPIRE_BATCH) == -1 ||
	    mdb_exec(db, MSTMT_SLIDING_ROOMS_DEL_KEY, "sss", user_id, device_id, conn_id) == -1 ||
	    mdb_exec(db, MSTMT_SLIDING_CONN_DEL_KEY, "sss", user_id, device_id, conn_id) == -1 ||
	    mcur_first_int(mdb_query(db, MSTMT_SLIDING_CONN_ADD, "sssi", user_id, device_id,
	    conn_id, now), id) != 1) {
		mdb_rollback(db);
		return -1;
	}
	return mdb_commit(db);
}

int
mstore_sliding_conn_get(struct mdb *db, int64_t id, const char *user_id,
    const char *device_id, const char *conn_id, int64_t expire, int64_t *seq,
    int64_t *acked)
{
	struct mcur	*c;
	int		 rc;

	if ((c = mdb_query(db, MSTMT_SLIDING_CONN_GET, "isssi", id, user_id, device_id,
	    conn_id, expire)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1) {
		*seq = mcur_int(c, 0);
		*acked = mcur_int(c, 1);
	}
	mcur_free(c);
	return rc;
}

int
mstore_sliding_ack(struct mdb *db, int64_t id, int64_t seq, int64_t now, int64_t expire)
{
	if (mdb_begin(db) == -1)
		return -1;
	if (mstore_sliding_expire(db, expire, SLIDING_EXPIRE_BATCH) == -1 ||
	    mdb_exec(db, MSTMT_SLIDING_ROOMS_DROP_AFTER, "ii", id, seq) == -1 ||
	    mdb_exec(db, MSTMT_SLIDING_ROOMS_PRUNE, "ii", id, seq) == -1 ||
	    mdb_exec(db, MSTMT_SLIDING_CONN_ACK, "iii", id, seq, now) == -1) {
		mdb_rollback(db);
		return -1;
	}
	return mdb_commit(db);
}

/* Adds a row (room, stream, config) to {room: [stream, config]}.  0 or -1. */
static int
room_row(struct mcur *c, json_t *out, void *arg)
{
	(void)arg;
	return json_object_set_new(out, mcur_text(c, 0), json_pack("[I,s]",
	    (json_int_t)mcur_int(c, 1), mcur_text(c, 2) != NULL ? mcur_text(c, 2) : ""));
}

json_t *
mstore_sliding_rooms(struct mdb *db, int64_t id)
{
	return mcur_json_fold(mdb_query(db, MSTMT_SLIDING_ROOMS_GET, "i", id), json_object(),
	    room_row, NULL);
}

int
mstore_sliding_commit(struct mdb *db, int64_t id, const json_t *sent, int64_t now,
    int64_t *seq)
{
	const char	*room_id;
	json_t		*v;

	if (mdb_begin(db) == -1)
		return -1;
	if (mcur_first_int(mdb_query(db, MSTMT_SLIDING_CONN_NEXT, "ii", id, now), seq) != 1)
		goto fail;
	json_object_foreach((json_t *)sent, room_id, v)
		if (mdb_exec(db, MSTMT_SLIDING_ROOM_PUT, "isiis", id, room_id, *seq,
		    (int64_t)json_integer_value(json_array_get(v, 0)),
		    json_string_value(json_array_get(v, 1))) == -1)
			goto fail;
	return mdb_commit(db);
fail:
	mdb_rollback(db);
	return -1;
}

static int
bump_row(struct mcur *c, json_t *out, void *arg)
{
	(void)arg;
	if (mcur_null(c, 1))
		return 0;
	return json_object_set_new(out, mcur_text(c, 0), json_integer(mcur_int(c, 1)));
}

static int
member_row(struct mcur *c, void *elem)
{
	struct msyncmember *m = elem;

	m->room_id = mcur_dup(c, 0);
	m->membership = mcur_dup(c, 1);
	m->stream = mcur_int(c, 2);
	m->event_id = mcur_dup(c, 3);
	m->sender = mcur_dup(c, 4);
	m->event = NULL;
	return m->room_id == NULL || m->membership == NULL || m->event_id == NULL ? -1 : 0;
}

int
mstore_sliding_memberships(struct mdb *db, const char *user_id, struct msyncmember **out,
    size_t *outsz)
{
	void	*v = NULL;
	int	 rc;

	*outsz = 0;
	rc = mcur_collect(mdb_query(db, MSTMT_SLIDING_MEMBERSHIPS, "s", user_id), sizeof(**out),
	    member_row, msyncmember_fini, &v, outsz);
	*out = v;
	return rc;
}

json_t *
mstore_sliding_bumps(struct mdb *db, const char *user_id, int64_t upto)
{
	return mcur_json_fold(mdb_query(db, MSTMT_SLIDING_BUMPS, "si", user_id, upto),
	    json_object(), bump_row, NULL);
}
