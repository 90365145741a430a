/* The typing, account data and presence streams in the store. */
#include <stdlib.h>
#include <string.h>

#include "log/log.h"
#include "store/extern.h"

/* The rows of ephemeral_streams, by enum mstream; NULL for a stream kept elsewhere. */
static const char *const estreams[MSTREAM__MAX] = {
#define ESTREAM_ROW(id, slot, row) [MSTREAM_##id] = (row),
	MSTREAM_TABLE(ESTREAM_ROW)
#undef ESTREAM_ROW
};

/* The row of stream s, or NULL (logged) when it has none. */
static const char *
estream_row(enum mstream s)
{
	if ((unsigned int)s >= (unsigned int)MSTREAM__MAX || estreams[s] == NULL) {
		mlog_err(NULL, "stream %d has no row in ephemeral_streams", (int)s);
		return NULL;
	}
	return estreams[s];
}

int64_t
mstore_estream_pos(struct mdb *db, enum mstream s)
{
	const char	*row;
	int64_t		 pos = 0;

	if ((row = estream_row(s)) == NULL ||
	    mcur_first_int(mdb_query(db, MSTMT_ESTREAM_GET, "s", row), &pos) != 1)
		return -1;
	return pos;
}

int
mstore_stream_positions(struct mdb *db, int64_t pos[MSTREAM__MAX])
{
	struct mcur	*c;
	int		 r;

	for (int s = 0; s < MSTREAM__MAX; s++)
		pos[s] = -1;
	if ((c = mdb_query(db, MSTMT_STREAM_POSITIONS, "")) == NULL)
		return -1;
	while ((r = mcur_next(c)) == 1) {
		const char	*name = mcur_text(c, 0);
		int		 s;

		if (name == NULL)
			continue;
		if (strcmp(name, ".events") == 0)
			s = MSTREAM_EVENTS;
		else if (strcmp(name, ".receipts") == 0)
			s = MSTREAM_RECEIPTS;
		else
			for (s = 0; s < MSTREAM__MAX; s++)
				if (estreams[s] != NULL && strcmp(estreams[s], name) == 0)
					break;
		if (s < MSTREAM__MAX)
			pos[s] = mcur_int(c, 1);
	}
	mcur_free(c);
	if (r == -1)
		return -1;
	for (int s = 0; s < MSTREAM__MAX; s++)
		if (pos[s] < 0) {
			mlog_err(NULL, "stream %d has no position", s);
			return -1;
		}
	return 0;
}

/*
 * Takes the next position of stream s, inside the caller's transaction
 * (always one: the stream is announced by its commit, and a rollback
 * gives the position back and announces nothing).  -1 on failure.
 */
static int64_t
estream_next(struct mdb *db, enum mstream s)
{
	const char	*row;
	int64_t		 pos = 0;

	if ((row = estream_row(s)) == NULL ||
	    mcur_first_int(mdb_query(db, MSTMT_ESTREAM_NEXT, "s", row), &pos) != 1)
		return -1;
	mstore_moved(db, s);
	return pos;
}

int64_t
mstore_estream_next(struct mdb *db, enum mstream s)
{
	return estream_next(db, s);
}

int
mstore_typing_set(struct mdb *db, const char *room_id, const char *user_id, int64_t until_ms)
{
	int64_t	 cur = 0, pos;

	if (mdb_begin(db) == -1)
		return -1;
	/* No row reads as 0: not typing. */
	if (mcur_first_int(mdb_query(db, MSTMT_TYPING_GET, "ss", room_id, user_id), &cur) == -1)
		goto fail;
	if (until_ms > 0 && cur > 0) {
		/* Still typing: only the deadline moves, nobody is told. */
		if (mdb_exec(db, MSTMT_TYPING_EXTEND, "ssi", room_id, user_id, until_ms) == -1)
			goto fail;
		return mdb_commit(db) == -1 ? -1 : 0;
	}
	if (until_ms <= 0 && cur <= 0) {
		mdb_rollback(db);
		return 0;
	}
	if ((pos = estream_next(db, MSTREAM_TYPING)) == -1 ||
	    mdb_exec(db, MSTMT_TYPING_PUT, "ssii", room_id, user_id,
	    until_ms > 0 ? until_ms : 0, pos) == -1)
		goto fail;
	return mdb_commit(db) == -1 ? -1 : 1;
fail:
	mdb_rollback(db);
	return -1;
}

/* The earliest typing deadline (0: none).  0 or -1. */
static int
typing_next(struct mdb *db, int64_t *next)
{
	*next = 0;
	/* MIN() of no rows is one NULL row, read as 0. */
	return mcur_first_int(mdb_query(db, MSTMT_TYPING_NEXT_EXPIRY, ""), next) == -1 ? -1 : 0;
}

int64_t
mstore_typing_expire(struct mdb *db, int64_t now, int64_t *next)
{
	int64_t	 pos, n;

	/* Reading first keeps the write lock out of the common case. */
	if (typing_next(db, next) == -1)
		return -1;
	if (*next == 0 || *next > now)
		return 0;
	if (mdb_begin(db) == -1)
		return -1;
	if ((pos = estream_next(db, MSTREAM_TYPING)) == -1 ||
	    (n = mdb_exec(db, MSTMT_TYPING_EXPIRE, "ii", now, pos)) == -1 ||
	    typing_next(db, next) == -1) {
		mdb_rollback(db);
		return -1;
	}
	if (n == 0) {
		/* Someone typed again meanwhile: keep the position unused. */
		mdb_rollback(db);
		return 0;
	}
	return mdb_commit(db) == -1 ? -1 : n;
}

/* Adds a row (room, user, typing until) to {room_id: [typing user...]}.  0 or -1. */
static int
typing_row(struct mcur *c, json_t *out, void *arg)
{
	const char	*room_id = mcur_text(c, 0);
	json_t		*list;

	(void)arg;
	if ((list = json_object_get(out, room_id)) == NULL &&
	    json_object_set_new(out, room_id, list = json_array()) == -1)
		return -1;
	if (mcur_int(c, 2) > 0 &&
	    json_array_append_new(list, json_string(mcur_text(c, 1))) == -1)
		return -1;
	return 0;
}

json_t *
mstore_typing_sync(struct mdb *db, const char *user_id, int64_t from, int64_t to)
{
	return mcur_json_fold(mdb_query(db, MSTMT_TYPING_SYNC, "sii", user_id, from, to),
	    json_object(), typing_row, NULL);
}

json_t *
mstore_typing_room(struct mdb *db, const char *room_id, int64_t from, int64_t to)
{
	return mcur_json_fold(mdb_query(db, MSTMT_TYPING_ROOM, "sii", room_id, from, to),
	    json_object(), typing_row, NULL);
}

/*
 * Stores content under position pos (from estream_next), inside the
 * caller's transaction.  0 or -1.  A read-modify-write takes pos before
 * it reads: the stream's row lock then also orders the reads, which on
 * PostgreSQL would otherwise see a row another writer is replacing.
 */
static int
account_data_write(struct mdb *db, const char *user_id, const char *room_id, const char *type,
    const json_t *content, int64_t pos)
{
	char	*js;
	int64_t	 n;

	if ((js = json_dumps(content, JSON_COMPACT)) == NULL)
		return -1;
	n = mdb_exec(db, MSTMT_ACCOUNT_DATA_PUT, "ssssi", user_id, room_id, type, js, pos);
	free(js);
	return n == -1 ? -1 : 0;
}

int
mstore_account_data_put(struct mdb *db, const char *user_id, const char *room_id,
    const char *type, const json_t *content)
{
	int64_t pos;

	if (mdb_begin(db) == -1)
		return -1;
	if ((pos = estream_next(db, MSTREAM_ACCOUNT_DATA)) == -1 ||
	    account_data_write(db, user_id, room_id, type, content, pos) == -1) {
		mdb_rollback(db);
		return -1;
	}
	return mdb_commit(db);
}

int
mstore_account_data_marker(struct mdb *db, const char *user_id, const char *room_id,
    const char *type, const char *event_id, int64_t stream)
{
	struct mevrow	 row;
	json_t		*old = NULL, *content = NULL;
	const char	*oldid;
	int64_t		 pos;
	int		 rc = -1, found;

	if (mdb_begin(db) == -1)
		return -1;
	/* The lock first: two markers moving at once read one after the other. */
	if ((pos = estream_next(db, MSTREAM_ACCOUNT_DATA)) == -1 ||
	    (found = mstore_account_data_get(db, user_id, room_id, type, &old)) == -1)
		goto fail;
	oldid = found == 1 ? json_string_value(json_object_get(old, "event_id")) : NULL;
	if (oldid != NULL) {
		if ((found = mstore_event_get(db, oldid, &row)) == -1)
			goto fail;
		if (found == 1 && row.stream >= stream) {
			/* Nothing written: the position goes back with the rollback. */
			mevrow_fini(&row);
			rc = 0;
			goto fail;
		}
		if (found == 1)
			mevrow_fini(&row);
	}
	if ((content = json_pack("{s:s}", "event_id", event_id)) == NULL ||
	    account_data_write(db, user_id, room_id, type, content, pos) == -1)
		goto fail;
	json_decref(old);
	json_decref(content);
	return mdb_commit(db) == -1 ? -1 : 1;
fail:
	mdb_rollback(db);
	json_decref(old);
	json_decref(content);
	return rc;
}

int
mstore_account_data_get(struct mdb *db, const char *user_id, const char *room_id,
    const char *type, json_t **out)
{
	struct mcur	*c;
	int		 rc;

	*out = NULL;
	if ((c = mdb_query(db, MSTMT_ACCOUNT_DATA_GET, "sss", user_id, room_id, type)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1 && (*out = json_loads(mcur_text(c, 0), 0, NULL)) == NULL)
		rc = -1;
	mcur_free(c);
	return rc;
}

/*
 * The room's m.tag content, made well-formed ({"tags": {}} at least),
 * inside the caller's transaction.  New reference, or NULL.
 */
static json_t *
tags_get(struct mdb *db, const char *user_id, const char *room_id)
{
	json_t	*content = NULL;
	int	 rc;

	if ((rc = mstore_account_data_get(db, user_id, room_id, "m.tag", &content)) == -1)
		return NULL;
	if (rc == 0 || !json_is_object(content)) {
		json_decref(content);
		content = json_object();
	}
	if (content != NULL && !json_is_object(json_object_get(content, "tags")) &&
	    json_object_set_new(content, "tags", json_object()) == -1) {
		json_decref(content);
		return NULL;
	}
	return content;
}

int
mstore_tag_put(struct mdb *db, const char *user_id, const char *room_id, const char *tag,
    const json_t *value)
{
	json_t	*content = NULL;

	int64_t	 pos;

	if (mdb_begin(db) == -1)
		return -1;
	if ((pos = estream_next(db, MSTREAM_ACCOUNT_DATA)) == -1 ||
	    (content = tags_get(db, user_id, room_id)) == NULL ||
	    json_object_set_new(json_object_get(content, "tags"), tag,
	    json_deep_copy(value)) == -1 ||
	    account_data_write(db, user_id, room_id, "m.tag", content, pos) == -1) {
		json_decref(content);
		mdb_rollback(db);
		return -1;
	}
	json_decref(content);
	return mdb_commit(db);
}

int
mstore_tag_del(struct mdb *db, const char *user_id, const char *room_id, const char *tag)
{
	json_t	*content;
	int64_t	 pos;
	int	 rc = -1;

	if (mdb_begin(db) == -1)
		return -1;
	if ((pos = estream_next(db, MSTREAM_ACCOUNT_DATA)) == -1 ||
	    (content = tags_get(db, user_id, room_id)) == NULL)
		goto fail;
	if (json_object_get(json_object_get(content, "tags"), tag) == NULL) {
		json_decref(content);
		mdb_rollback(db);
		return 0;
	}
	json_object_del(json_object_get(content, "tags"), tag);
	rc = account_data_write(db, user_id, room_id, "m.tag", content, pos);
	json_decref(content);
	if (rc == -1)
		goto fail;
	return mdb_commit(db) == -1 ? -1 : 1;
fail:
	mdb_rollback(db);
	return -1;
}

/* A row (room_id, type, content) as {room_id, type, content}, or NULL. */
static json_t *
account_data_obj(struct mcur *c)
{
	json_t *content = json_loads(mcur_text(c, 2), 0, NULL);

	if (content == NULL)
		return NULL;
	return json_pack("{s:s,s:s,s:o}", "room_id", mcur_text(c, 0), "type", mcur_text(c, 1),
	    "content", content);
}

json_t *
mstore_account_data_sync(struct mdb *db, const char *user_id, int64_t from, int64_t to)
{
	return mcur_json_array(mdb_query(db, MSTMT_ACCOUNT_DATA_SYNC, "sii", user_id, from, to),
	    account_data_obj);
}

void
mpresence_fini(struct mpresence *p)
{
	if (p == NULL)
		return;
	free(p->presence);
	free(p->status_msg);
	memset(p, 0, sizeof(*p));
}

int
mstore_presence_get(struct mdb *db, const char *user_id, struct mpresence *p)
{
	struct mcur	*c;
	int		 rc;

	memset(p, 0, sizeof(*p));
	if ((c = mdb_query(db, MSTMT_PRESENCE_GET, "s", user_id)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1) {
		p->presence = mcur_dup(c, 0);
		p->status_msg = mcur_dup(c, 1);
		p->last_active_ts = mcur_int(c, 2);
		p->stream = mcur_int(c, 3);
		if (p->presence == NULL) {
			mpresence_fini(p);
			rc = -1;
		}
	}
	mcur_free(c);
	return rc;
}

int
mstore_presence_put(struct mdb *db, const char *user_id, const char *presence,
    const char *status_msg, int64_t last_active_ts)
{
	struct mpresence	 old;
	int64_t			 pos;
	int			 own = !mdb_in_txn(db);

	if (own && mdb_begin(db) == -1)
		return -1;
	/* A user never seen: old is zeroed, never active. */
	if (mstore_presence_get(db, user_id, &old) == -1)
		goto fail;
	if (last_active_ts == -1)
		last_active_ts = old.last_active_ts;
	mpresence_fini(&old);
	if ((pos = estream_next(db, MSTREAM_PRESENCE)) == -1 ||
	    mdb_exec(db, MSTMT_PRESENCE_PUT, "sssii", user_id, presence, status_msg,
	    last_active_ts, pos) == -1)
		goto fail;
	return own ? mdb_commit(db) : 0;
fail:
	if (own)
		mdb_rollback(db);
	return -1;
}

int
mstore_presence_touch(struct mdb *db, const char *user_id, const char *presence, int64_t now)
{
	struct mpresence	 old;
	int64_t			 pos, active;
	int			 rc, same;

	/* A read first: most syncs change nothing and need no write lock. */
	if ((rc = mstore_presence_get(db, user_id, &old)) == -1)
		return -1;
	same = strcmp(rc == 1 ? old.presence : "offline", presence) == 0;
	active = rc == 1 ? old.last_active_ts : 0;
	mpresence_fini(&old);
	if (same) {
		/* Still online: a write at most once a minute keeps lapses away. */
		if (strcmp(presence, "online") == 0 &&
		    now - active >= MPRESENCE_ACTIVE_REFRESH_MS &&
		    mdb_exec(db, MSTMT_PRESENCE_ACTIVE, "si", user_id, now) == -1)
			return -1;
		return 0;
	}
	if (mdb_begin(db) == -1)
		return -1;
	if ((rc = mstore_presence_get(db, user_id, &old)) == -1)
		goto fail;
	if (strcmp(rc == 1 ? old.presence : "offline", presence) == 0) {
		/* Another request of the same user got there first. */
		mpresence_fini(&old);
		mdb_rollback(db);
		return 0;
	}
	active = strcmp(presence, "online") == 0 ? now : old.last_active_ts;
	if ((pos = estream_next(db, MSTREAM_PRESENCE)) == -1 ||
	    mdb_exec(db, MSTMT_PRESENCE_PUT, "sssii", user_id, presence, old.status_msg,
	    active, pos) == -1) {
		mpresence_fini(&old);
		goto fail;
	}
	mpresence_fini(&old);
	return mdb_commit(db) == -1 ? -1 : 1;
fail:
	mdb_rollback(db);
	return -1;
}

int64_t
mstore_presence_lapse(struct mdb *db, int64_t idle_before, int64_t offline_before)
{
	int64_t	 one, pos, off, idle;
	int	 rc;

	/* Reading first keeps the write lock out of the common case. */
	if ((rc = mcur_first_int(mdb_query(db, MSTMT_PRESENCE_STALE, "ii", idle_before,
	    offline_before), &one)) != 1)
		return rc;
	if (mdb_begin(db) == -1)
		return -1;
	/* Offline first: a user idle for long goes there in one step. */
	if ((pos = estream_next(db, MSTREAM_PRESENCE)) == -1 ||
	    (off = mdb_exec(db, MSTMT_PRESENCE_LAPSE_OFFLINE, "ii", offline_before, pos)) == -1 ||
	    (idle = mdb_exec(db, MSTMT_PRESENCE_LAPSE_IDLE, "ii", idle_before, pos)) == -1) {
		mdb_rollback(db);
		return -1;
	}
	if (off + idle == 0) {
		/* They came back meanwhile: keep the position unused. */
		mdb_rollback(db);
		return 0;
	}
	return mdb_commit(db) == -1 ? -1 : off + idle;
}

int
mstore_presence_share(struct mdb *db, const char *a, const char *b)
{
	int64_t one;

	return mcur_first_int(mdb_query(db, MSTMT_PRESENCE_SHARE, "ss", a, b), &one);
}

int
mpresence_valid(const char *s)
{
	return strcmp(s, "online") == 0 || strcmp(s, "unavailable") == 0 ||
	    strcmp(s, "offline") == 0;
}

/*
 * currently_active is simply "online": a client says so by syncing or
 * by PUT, and nothing finer (activity per request) is tracked yet.
 */
json_t *
mpresence_content(const struct mpresence *p, int64_t now)
{
	json_t *c;

	if (p == NULL)
		return json_pack("{s:s}", "presence", "offline");
	if ((c = json_pack("{s:s}", "presence", p->presence)) == NULL)
		return NULL;
	if (p->status_msg != NULL)
		json_object_set_new(c, "status_msg", json_string(p->status_msg));
	if (p->last_active_ts > 0)
		json_object_set_new(c, "last_active_ago", json_integer(now > p->last_active_ts ?
		    now - p->last_active_ts : 0));
	if (strcmp(p->presence, "online") == 0)
		json_object_set_new(c, "currently_active", json_true());
	return c;
}

/*
 * Adds a row (user, presence, status, last active) to the list as an
 * m.presence event as of *arg, the time now.  0 or -1.
 */
static int
presence_row(struct mcur *c, json_t *out, void *arg)
{
	const int64_t		*now = arg;
	struct mpresence	 p;
	json_t			*content;

	memset(&p, 0, sizeof(p));
	/* Borrowed from the row: p is not finished with mpresence_fini. */
	p.presence = (char *)mcur_text(c, 1);
	p.status_msg = (char *)mcur_text(c, 2);
	p.last_active_ts = mcur_int(c, 3);
	if (p.presence == NULL || (content = mpresence_content(&p, *now)) == NULL)
		return -1;
	return json_array_append_new(out, json_pack("{s:s,s:s,s:o}", "type", "m.presence",
	    "sender", mcur_text(c, 0), "content", content));
}

json_t *
mstore_presence_sync(struct mdb *db, const char *user_id, int64_t from, int64_t to,
    int64_t now)
{
	return mcur_json_fold(mdb_query(db, MSTMT_PRESENCE_SYNC, "sii", user_id, from, to),
	    json_array(), presence_row, &now);
}

json_t *
mstore_presence_room(struct mdb *db, const char *room_id, int64_t from, int64_t to,
    int64_t now)
{
	return mcur_json_fold(mdb_query(db, MSTMT_PRESENCE_ROOM, "sii", room_id, from, to),
	    json_array(), presence_row, &now);
}

json_t *
mstore_presence_newly(struct mdb *db, const char *user_id, int64_t from, int64_t to,
    int64_t now)
{
	return mcur_json_fold(mdb_query(db, MSTMT_PRESENCE_NEWLY, "sii", user_id, from, to),
	    json_array(), presence_row, &now);
}
