/*
 * The storage API behaves the same on SQLite and PostgreSQL: migrations,
 * parameters, NULLs, RETURNING, conflicts and transactions.
 *
 * SQLite runs on a file in a fresh temporary directory.  PostgreSQL runs
 * when MYELIN_TEST_PG holds a libpq conninfo, meant to come from
 *	MYELIN_TEST_PG=$(tests/pg-cluster start "$(mktemp -d)")
 * which makes a fresh database each time.  The rows written carry the
 * process id, so running again on the same database also passes.
 *
 * On PostgreSQL, where writers of different rooms run at once, the
 * events stream's position is checked with a writer holding its event
 * uncommitted while another one commits: a reader may never be handed a
 * position past an event it cannot see yet.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events/events.h"
#include "log/log.h"
#include "store/extern.h"	/* statements and cursors: a test of lib/store itself */

/* SQL NULL for an 's' parameter: a bare NULL need not be a pointer. */
#define NOSTR		((const char *)NULL)
#define CREATED_TS	INT64_C(1234567890123)	/* past 2^32: needs 64 bits */

static const char	*backend;	/* name in failure messages */

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "store-backends: %s: line %d: %s\n",	\
		    backend, __LINE__, #cond);				\
		goto out;						\
	}								\
} while (0)

/* Writes "@<what>-<pid>:test" into buf, a name no earlier run used. */
static const char *
name(char *buf, size_t bufsz, const char *what)
{
	snprintf(buf, bufsz, "@%s-%ld:test", what, (long)getpid());
	return buf;
}

/* Returns 1 if user_id has a row, 0 if not, -1 on error. */
static int
user_exists(struct mdb *db, const char *user_id)
{
	struct mcur	*c;
	int		 rc;

	if ((c = mdb_query(db, MSTMT_USER_GET, "s", user_id)) == NULL)
		return -1;
	rc = mcur_next(c);
	mcur_free(c);
	return rc;
}

/* The rows of user_id's presence: 1, 0 or -1. */
static int
presence_rows(struct mdb *db, const char *user_id)
{
	struct mcur	*c;
	int		 rc;

	if ((c = mdb_query(db, MSTMT_PRESENCE_GET, "s", user_id)) == NULL)
		return -1;
	rc = mcur_next(c);
	mcur_free(c);
	return rc;
}

/* Inserts a plain user.  Returns the rows changed, or -1. */
static int64_t
user_add(struct mdb *db, const char *user_id)
{
	return mdb_exec(db, MSTMT_USER_ADD, "sssiisi", user_id, NOSTR, NOSTR,
	    (int64_t)0, (int64_t)0, NOSTR, CREATED_TS);
}

/* Stores a bare event in room of a connection's transaction.  0 or -1. */
static int
event_add(struct mdb *db, const char *event_id, const char *room, int64_t *stream)
{
	struct mevrow	 e;
	int		 rc;

	memset(&e, 0, sizeof(e));
	e.event_id = (char *)event_id;
	e.room_id = (char *)room;
	e.type = (char *)"m.room.message";
	e.sender = (char *)"@writer:test";
	e.depth = 1;
	if ((e.json = json_object()) == NULL)
		return -1;
	rc = mstore_event_add(db, &e, stream);
	json_decref(e.json);
	return rc;
}

/* Stores user's member event of membership in room, committed.  0 or -1. */
static int
member_add(struct mdb *db, const char *event_id, const char *room, const char *user,
    const char *membership)
{
	struct mevrow	 e;
	int64_t		 stream;
	int		 rc = -1;

	memset(&e, 0, sizeof(e));
	e.event_id = (char *)event_id;
	e.room_id = (char *)room;
	e.type = (char *)"m.room.member";
	e.state_key = (char *)user;
	e.sender = (char *)user;
	e.depth = 1;
	if ((e.json = json_pack("{s:s,s:s,s:s,s:{s:s}}", "type", e.type, "state_key", user,
	    "sender", user, "content", "membership", membership)) == NULL)
		return -1;
	if (mdb_begin(db) == 0) {
		if (mstore_event_add(db, &e, &stream) == 0 && mdb_commit(db) == 0)
			rc = 0;
		else
			mdb_rollback(db);
	}
	json_decref(e.json);
	return rc;
}

/* A group of one entry, user's member event event_id, in room: its ID, or 0. */
static int64_t
member_group(struct mdb *db, const char *room, const char *user, const char *event_id)
{
	char	*k = mstate_key_join("m.room.member", user);
	json_t	*delta = k != NULL ? json_pack("{s:s}", k, event_id) : NULL;
	int64_t	 id = 0;

	if (delta == NULL || mstore_sgroup_add(db, room, 0, delta, &id) == -1)
		id = 0;
	json_decref(delta);
	free(k);
	return id;
}

/* The user's membership at group, as mstore_vis_groups answers: malloc'd, or NULL. */
static char *
membership_at(struct mdb *db, const char *user, int64_t group)
{
	struct mvisgroup	*g = NULL;
	json_t			*groups = json_pack("[I]", (json_int_t)group);
	size_t			 n = 0;
	char			*m = NULL;

	if (groups != NULL && mstore_vis_groups(db, user, groups, &g, &n) == 0 && n == 1 &&
	    g[0].group == group && g[0].membership != NULL)
		m = strdup(g[0].membership);
	mvisgroup_list_free(g, n);
	json_decref(groups);
	return m;
}

/*
 * What a state group says of a user's view is kept by the process and
 * answered again without a statement; what a transaction read is not
 * kept (its group may be rolled back, and SQLite gives a rolled back
 * ID again).  The current state entries read at once are those present.
 */
static int
vis_case(struct mdb *db, const char *room, const char *user)
{
	char		 ev1[96], ev2[96], *m = NULL;
	const char	*keys[] = { "m.room.member", user, "m.room.create", "" };
	json_t		*got = NULL;
	uint64_t	 us, n0, n1;
	int64_t		 g1, g2;
	int		 rc = -1;

	snprintf(ev1, sizeof(ev1), "$join-%s", user + 1);
	snprintf(ev2, sizeof(ev2), "$leave-%s", user + 1);
	CHECK(member_add(db, ev1, room, user, "join") == 0);
	CHECK(member_add(db, ev2, room, user, "leave") == 0);
	CHECK(mdb_begin(db) == 0);
	CHECK((g1 = member_group(db, room, user, ev1)) > 0);
	CHECK((m = membership_at(db, user, g1)) != NULL && strcmp(m, "join") == 0);
	free(m);
	m = NULL;
	mdb_rollback(db);
	CHECK((g2 = member_group(db, room, user, ev2)) > 0);
	CHECK((m = membership_at(db, user, g2)) != NULL && strcmp(m, "leave") == 0);
	free(m);
	m = NULL;
	mdb_stats(&us, &n0);
	CHECK((m = membership_at(db, user, g2)) != NULL && strcmp(m, "leave") == 0);
	mdb_stats(&us, &n1);
	CHECK(n1 == n0);

	CHECK(mstore_cstate_put(db, room, "m.room.member", user, ev2, "leave") == 0);
	CHECK((got = mstore_cstate_pdus(db, room, keys, 2)) != NULL);
	CHECK(json_array_size(got) == 1);
	CHECK(strcmp(json_string_value(json_array_get(json_array_get(got, 0), 1)), user) == 0);
	CHECK(strcmp(json_string_value(json_object_get(json_array_get(json_array_get(got, 0), 2),
	    "event_id")), ev2) == 0);
	rc = 0;
out:
	free(m);
	json_decref(got);
	return rc;
}

/*
 * A statement sent ahead (mdb_prefetch) answers its reader as asking
 * would; a transaction's reads never take an answer sent before it
 * began; a dropped answer is not taken; a reader whose parameters
 * differ asks for itself.
 */
static int
prefetch_case(struct mdb *db, const char *u1, const char *u2, const char *u3)
{
	uint64_t	early;
	int		rc = -1;

	/* On PostgreSQL only a statement prepared already goes ahead. */
	CHECK(user_exists(db, u1) == 0);
	mdb_prefetch(db, MSTMT_USER_GET, "s", u1);
	CHECK(user_exists(db, u1) == 0);
	mdb_prefetch(db, MSTMT_USER_GET, "s", u1);
	CHECK(mdb_begin(db) == 0);
	CHECK(user_add(db, u1) == 1);
	CHECK(user_exists(db, u1) == 1);
	CHECK(mdb_commit(db) == 0);
	mdb_prefetch(db, MSTMT_USER_GET, "s", u2);
	mdb_prefetch_drop(db);
	CHECK(user_add(db, u2) == 1);
	CHECK(user_exists(db, u2) == 1);
	mdb_prefetch(db, MSTMT_USER_GET, "s", u3);
	CHECK(user_exists(db, u1) == 1);
	CHECK(user_exists(db, u3) == 0);
	/* Sent ahead while answers read before wait: each its own. */
	mdb_prefetch(db, MSTMT_USER_GET, "s", u1);
	mdb_prefetch(db, MSTMT_USER_GET, "s", u3);
	CHECK(user_exists(db, u1) == 1);
	mdb_prefetch(db, MSTMT_USER_GET, "s", u2);
	CHECK(user_exists(db, u2) == 1);
	CHECK(user_exists(db, u3) == 0);
	mdb_prefetch_drop(db);
	/*
	 * Taken in any order while the pipeline stays open, a statement of
	 * the other plan mode (MSTMT_PRESENCE_GET, generic) among them: the
	 * third read first reads the two before it, which wait for theirs.
	 */
	CHECK(presence_rows(db, u1) == 0);
	early = db->ahead_early;
	mdb_prefetch(db, MSTMT_USER_GET, "s", u3);
	mdb_prefetch(db, MSTMT_PRESENCE_GET, "s", u1);
	mdb_prefetch(db, MSTMT_USER_GET, "s", u2);
	CHECK(user_exists(db, u2) == 1);
	CHECK(user_exists(db, u3) == 0);
	CHECK(presence_rows(db, u1) == 0);
	CHECK(mdb_backend(db) != MDB_POSTGRES || db->ahead_early == early + 3);
	/* One that is not there ends the pipeline; what it passed stays to take. */
	mdb_prefetch(db, MSTMT_USER_GET, "s", u1);
	mdb_prefetch(db, MSTMT_USER_GET, "s", u3);
	CHECK(user_exists(db, u2) == 1);
	CHECK(user_exists(db, u3) == 0);
	CHECK(user_exists(db, u1) == 1);
	rc = 0;
out:
	mdb_prefetch_drop(db);
	return rc;
}

/*
 * Inside a transaction, once its first statement ran: a read sent ahead
 * sees what the transaction wrote before it and is taken while the
 * pipeline stays open; one not taken is not kept past the COMMIT.  u1
 * exists, u2 does not.
 */
static int
prefetch_tx_case(struct mdb *db, const char *u1, const char *u2)
{
	uint64_t	early;
	int		rc = -1;

	CHECK(mdb_begin(db) == 0);
	CHECK(user_exists(db, u1) == 1);
	CHECK(user_add(db, u2) == 1);
	early = db->ahead_early;
	mdb_prefetch(db, MSTMT_USER_GET, "s", u2);
	mdb_prefetch(db, MSTMT_USER_GET, "s", u1);
	CHECK(user_exists(db, u2) == 1);
	CHECK(user_exists(db, u1) == 1);
	CHECK(mdb_backend(db) != MDB_POSTGRES || db->ahead_early == early + 2);
	mdb_rollback(db);
	/* Sent ahead in a transaction that ends before it is taken: asked again. */
	CHECK(mdb_begin(db) == 0);
	CHECK(user_exists(db, u1) == 1);
	mdb_prefetch(db, MSTMT_USER_GET, "s", u2);
	CHECK(mdb_commit(db) == 0);
	CHECK(user_add(db, u2) == 1);
	CHECK(user_exists(db, u2) == 1);
	rc = 0;
out:
	if (mdb_in_txn(db))
		mdb_rollback(db);
	mdb_prefetch_drop(db);
	return rc;
}

/*
 * Writes sent ahead in a transaction (mdb_exec_ahead) are seen by what
 * follows them and committed with it; one that fails fails what comes
 * next (at once on SQLite), and nothing of the transaction stays.
 * nonce must exist already.
 */
static int
ahead_case(struct mdb *db, const char *u1, const char *u2, const char *u3,
    const char *nonce)
{
	int rc = -1;

	CHECK(mdb_begin(db) == 0);
	CHECK(user_exists(db, u1) == 0);
	CHECK(mdb_exec_ahead(db, MSTMT_USER_ADD, "sssiisi", u1, NOSTR, NOSTR, (int64_t)0,
	    (int64_t)0, NOSTR, CREATED_TS) == 0);
	CHECK(user_exists(db, u1) == 1);
	CHECK(mdb_exec_ahead(db, MSTMT_USER_ADD, "sssiisi", u2, NOSTR, NOSTR, (int64_t)0,
	    (int64_t)0, NOSTR, CREATED_TS) == 0);
	CHECK(mdb_commit(db) == 0);
	CHECK(user_exists(db, u2) == 1);

	CHECK(mdb_begin(db) == 0);
	CHECK(user_exists(db, u3) == 0);
	CHECK(mdb_exec_ahead(db, MSTMT_USER_ADD, "sssiisi", u3, NOSTR, NOSTR, (int64_t)0,
	    (int64_t)0, NOSTR, CREATED_TS) == 0);
	if (mdb_exec_ahead(db, MSTMT_NONCE_ADD, "si", nonce, CREATED_TS) == 0)
		CHECK(user_exists(db, u3) == -1);
	mdb_rollback(db);
	CHECK(user_exists(db, u3) == 0);
	rc = 0;
out:
	if (mdb_in_txn(db))
		mdb_rollback(db);
	return rc;
}

/* The second writer: stores its event in a transaction of its own. */
struct writer {
	const struct mconfig	*conf;
	const char		*event_id, *room;
	int64_t			 stream;
	atomic_int		 started, added, done;	/* 1 once past each step */
	int			 rc;
};

static void *
writer_run(void *arg)
{
	struct writer	*w = arg;
	struct mdb	*db;

	w->rc = -1;
	if ((db = mdb_open(w->conf, NULL)) != NULL && mdb_begin(db) == 0) {
		atomic_store(&w->started, 1);
		if (event_add(db, w->event_id, w->room, &w->stream) == 0) {
			atomic_store(&w->added, 1);
			if (mdb_commit(db) == 0)
				w->rc = 0;
		} else
			mdb_rollback(db);
	}
	atomic_store(&w->started, 1);
	atomic_store(&w->done, 1);
	mdb_close(db);
	return NULL;
}

/* 1 when reader sees event_id, 0 when not, -1 on error. */
static int
event_seen(struct mdb *reader, const char *event_id)
{
	struct mevrow	 e;
	int		 rc = mstore_event_get(reader, event_id, &e);

	if (rc == 1)
		mevrow_fini(&e);
	return rc;
}

/*
 * Writer A holds its event uncommitted while writer B (another thread,
 * another room) stores one: whatever B manages meanwhile, the position a
 * reader is given stays below A's event until A commits.  Writers are
 * expected to queue behind A; B is given a few seconds to get ahead of
 * it, which is plenty when nothing stops it, so a store that lets B
 * through fails here.  0 or -1 (reported).
 */
static int
events_position(const struct mconfig *conf)
{
	struct writer	 w;
	struct mdb	*a = NULL, *reader = NULL;
	pthread_t	 th;
	char		 ea[64], eb[64], ra[64], rb[64];
	int64_t		 sa = 0, pos;
	int		 started = 0, i, rc = -1;

	name(ea, sizeof(ea), "$event-a");
	name(eb, sizeof(eb), "$event-b");
	name(ra, sizeof(ra), "!room-a");
	name(rb, sizeof(rb), "!room-b");
	memset(&w, 0, sizeof(w));
	w.conf = conf;
	w.event_id = eb;
	w.room = rb;

	CHECK((a = mdb_open(conf, NULL)) != NULL);
	CHECK((reader = mdb_open(conf, NULL)) != NULL);
	CHECK(mdb_begin(a) == 0);
	CHECK(event_add(a, ea, ra, &sa) == 0);
	CHECK(pthread_create(&th, NULL, writer_run, &w) == 0);
	started = 1;
	while (!atomic_load(&w.started))
		usleep(1000);
	for (i = 0; i < 5000 && !atomic_load(&w.added) && !atomic_load(&w.done); i++)
		usleep(1000);
	if (atomic_load(&w.added))
		while (!atomic_load(&w.done))
			usleep(1000);
	/* A's event is not visible yet: the position must stay below it. */
	CHECK(event_seen(reader, ea) == 0);
	CHECK((pos = mstore_events_max_stream(reader)) >= 0);
	CHECK(pos < sa);
	CHECK(mdb_commit(a) == 0);
	CHECK(pthread_join(th, NULL) == 0);
	started = 0;
	CHECK(w.rc == 0);
	CHECK(w.stream != sa);
	/* Both committed: both seen, and the position covers both. */
	CHECK(event_seen(reader, ea) == 1);
	CHECK(event_seen(reader, eb) == 1);
	CHECK((pos = mstore_events_max_stream(reader)) >= sa && pos >= w.stream);
	rc = 0;
out:
	if (started) {
		if (a != NULL)
			mdb_rollback(a);
		pthread_join(th, NULL);
	}
	mdb_close(a);
	mdb_close(reader);
	return rc;
}

/* Runs every check on one database.  Returns 0 or -1 (reported). */
static int
run(enum mdb_backend kind, const char *database)
{
	struct mconfig	 conf;
	struct mdb	*db = NULL;
	struct mcur	*c = NULL;
	char		 alice[64], bob[64], carol[64], dave[64], erin[64];
	char		 rt1[64], rt2[64], nonce[64], frank[64], room[64];
	char		 gina[64], hank[64], ivan[64], jack[64], kate[64], liam[64], mona[64];
	int64_t		 id;
	int		 rc = -1;

	backend = kind == MDB_POSTGRES ? "postgresql" : "sqlite";
	name(alice, sizeof(alice), "alice");
	name(bob, sizeof(bob), "bob");
	name(carol, sizeof(carol), "carol");
	name(dave, sizeof(dave), "dave");
	name(erin, sizeof(erin), "erin");
	name(rt1, sizeof(rt1), "rt1");
	name(rt2, sizeof(rt2), "rt2");
	name(nonce, sizeof(nonce), "nonce");
	name(frank, sizeof(frank), "frank");
	name(room, sizeof(room), "room");
	name(gina, sizeof(gina), "gina");
	name(hank, sizeof(hank), "hank");
	name(ivan, sizeof(ivan), "ivan");
	name(jack, sizeof(jack), "jack");
	name(kate, sizeof(kate), "kate");
	name(liam, sizeof(liam), "liam");
	name(mona, sizeof(mona), "mona");

	memset(&conf, 0, sizeof(conf));
	conf.db_backend = kind;
	conf.database = (char *)database;

	CHECK((db = mdb_open(&conf, NULL)) != NULL);
	CHECK(mdb_backend(db) == kind);

	/* The second migration finds nothing to do. */
	CHECK(mdb_migrate(db) == 0);
	CHECK(mdb_schema_version(db) == mdb_schema_latest());
	CHECK(mdb_migrate(db) == 0);
	CHECK(mdb_schema_version(db) == mdb_schema_latest());

	/* ON CONFLICT DO NOTHING: the second insert changes no row. */
	CHECK(mdb_exec(db, MSTMT_USER_ADD, "sssiisi", alice, "hash", NOSTR,
	    (int64_t)1, (int64_t)0, "bot", CREATED_TS) == 1);
	CHECK(mdb_exec(db, MSTMT_USER_ADD, "sssiisi", alice, "other", NOSTR,
	    (int64_t)0, (int64_t)1, NOSTR, (int64_t)0) == 0);

	/* Text, integer and NULL columns read back as written. */
	CHECK((c = mdb_query(db, MSTMT_USER_GET, "s", alice)) != NULL);
	CHECK(mcur_next(c) == 1);
	CHECK(mcur_text(c, 0) != NULL && strcmp(mcur_text(c, 0), alice) == 0);
	CHECK(!mcur_null(c, 0));
	CHECK(mcur_text(c, 1) != NULL && strcmp(mcur_text(c, 1), "hash") == 0);
	CHECK(mcur_null(c, 2) && mcur_text(c, 2) == NULL);	/* displayname */
	CHECK(mcur_null(c, 3) && mcur_text(c, 3) == NULL);	/* avatar_url */
	CHECK(mcur_int(c, 3) == 0);
	CHECK(mcur_int(c, 4) == 1);				/* is_admin */
	CHECK(mcur_int(c, 5) == 0);				/* is_guest */
	CHECK(!mcur_null(c, 6) && mcur_int(c, 6) == 0);		/* default */
	CHECK(mcur_text(c, 8) != NULL && strcmp(mcur_text(c, 8), "bot") == 0);
	CHECK(mcur_int(c, 9) == CREATED_TS);
	CHECK(mcur_next(c) == 0);
	mcur_free(c);
	c = NULL;
	CHECK(user_exists(db, "@nobody:test") == 0);

	/* RETURNING gives the new id and the changed row; a deleted row is gone. */
	CHECK((c = mdb_query(db, MSTMT_REFRESH_ADD, "sssi", rt1, alice, "DEV", (int64_t)0)) != NULL);
	CHECK(mcur_next(c) == 1);
	CHECK((id = mcur_int(c, 0)) > 0);
	CHECK(mcur_next(c) == 0);
	mcur_free(c);
	c = NULL;
	CHECK((c = mdb_query(db, MSTMT_REFRESH_USE, "si", rt1, (int64_t)0)) != NULL);
	CHECK(mcur_next(c) == 1);
	CHECK(mcur_int(c, 0) == id);
	CHECK(mcur_text(c, 1) != NULL && strcmp(mcur_text(c, 1), alice) == 0);
	CHECK(mcur_text(c, 2) != NULL && strcmp(mcur_text(c, 2), "DEV") == 0);
	CHECK(mcur_null(c, 3));					/* next_id */
	CHECK(mcur_next(c) == 0);
	mcur_free(c);
	c = NULL;
	CHECK(mdb_exec(db, MSTMT_REFRESH_DEL_ID, "i", id) == 1);
	CHECK((c = mdb_query(db, MSTMT_REFRESH_USE, "si", rt1, (int64_t)0)) != NULL);
	CHECK(mcur_next(c) == 0);
	mcur_free(c);
	c = NULL;

	/*
	 * XXX mdb_exec of a RETURNING statement is not checked: on SQLite it
	 * returns the previous statement's count, as sqlite3_changes64()
	 * is only updated once the statement runs to its end.
	 */
	CHECK((c = mdb_query(db, MSTMT_REFRESH_ADD, "sssi", rt2, alice, "DEV", (int64_t)0)) != NULL);
	mcur_free(c);
	c = NULL;
	CHECK(mdb_exec(db, MSTMT_REFRESH_DEL_USER, "s", alice) == 1);

	/* A unique violation is a constraint error, not a failure. */
	CHECK(mdb_exec(db, MSTMT_NONCE_ADD, "si", nonce, CREATED_TS) == 1);
	CHECK(mdb_exec(db, MSTMT_NONCE_ADD, "si", nonce, CREATED_TS) == -1);
	CHECK(mdb_error(db) == MDB_ERR_CONSTRAINT);
	CHECK(mdb_exec(db, MSTMT_NONCE_TAKE, "si", nonce, (int64_t)0) == 1);

	/* Rolled back: nothing stays. */
	CHECK(mdb_begin(db) == 0);
	CHECK(user_add(db, bob) == 1);
	CHECK(user_exists(db, bob) == 1);
	mdb_rollback(db);
	CHECK(user_exists(db, bob) == 0);

	/* Committed: the row stays. */
	CHECK(mdb_begin(db) == 0);
	CHECK(user_add(db, carol) == 1);
	CHECK(mdb_commit(db) == 0);
	CHECK(user_exists(db, carol) == 1);

	/* A conflict inside a transaction, rolled back, leaves db usable. */
	CHECK(mdb_exec(db, MSTMT_NONCE_ADD, "si", nonce, CREATED_TS) == 1);
	CHECK(mdb_begin(db) == 0);
	CHECK(user_add(db, dave) == 1);
	CHECK(mdb_exec(db, MSTMT_NONCE_ADD, "si", nonce, CREATED_TS) == -1);
	CHECK(mdb_error(db) == MDB_ERR_CONSTRAINT);
	mdb_rollback(db);
	CHECK(user_exists(db, dave) == 0);
	CHECK(user_add(db, dave) == 1);
	CHECK(user_exists(db, dave) == 1);

	/*
	 * A transaction that runs nothing ends cleanly (PostgreSQL's BEGIN
	 * waits for the first statement, and then never goes), one whose
	 * first statement fails leaves db usable, and the first statement
	 * of a transaction is inside it: its row goes with the rollback.
	 */
	CHECK(mdb_begin(db) == 0);
	CHECK(mdb_commit(db) == 0);
	CHECK(mdb_begin(db) == 0);
	mdb_rollback(db);
	CHECK(mdb_begin(db) == 0);
	CHECK(mdb_exec(db, MSTMT_NONCE_ADD, "si", nonce, CREATED_TS) == -1);
	CHECK(mdb_error(db) == MDB_ERR_CONSTRAINT);
	mdb_rollback(db);
	CHECK(mdb_begin(db) == 0);
	CHECK(user_add(db, erin) == 1);
	CHECK(mdb_exec(db, MSTMT_NONCE_ADD, "si", nonce, CREATED_TS) == -1);
	mdb_rollback(db);
	CHECK(user_exists(db, erin) == 0);
	CHECK(mdb_begin(db) == 0);
	CHECK(user_add(db, erin) == 1);
	CHECK(mdb_commit(db) == 0);
	CHECK(user_exists(db, erin) == 1);

	CHECK(vis_case(db, room, frank) == 0);
	CHECK(ahead_case(db, jack, kate, liam, nonce) == 0);
	CHECK(prefetch_case(db, gina, hank, ivan) == 0);
	CHECK(prefetch_tx_case(db, gina, mona) == 0);

	/* SQLite serialises writers at BEGIN IMMEDIATE: one at a time. */
	if (kind == MDB_POSTGRES)
		CHECK(events_position(&conf) == 0);

	rc = 0;
out:
	mcur_free(c);
	mdb_close(db);
	return rc;
}

int
main(void)
{
	char		 dir[] = "/tmp/store-backends.XXXXXX";
	char		 path[sizeof(dir) + 32];
	const char	*pg;
	int		 rc = 0;

	mlog_init("store-backends", MLOG_WARN);

	if (mkdtemp(dir) == NULL) {
		perror("store-backends: mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/myelin.db", dir);
	if (run(MDB_SQLITE, path) == -1)
		rc = 1;
	/* WAL mode leaves its two side files until the last close. */
	unlink(path);
	snprintf(path, sizeof(path), "%s/myelin.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/myelin.db-shm", dir);
	unlink(path);
	rmdir(dir);

	if ((pg = getenv("MYELIN_TEST_PG")) != NULL && *pg != '\0') {
		if (run(MDB_POSTGRES, pg) == -1)
			rc = 1;
	} else
		fprintf(stderr, "store-backends: PostgreSQL not tested"
		    " (MYELIN_TEST_PG unset)\n");
	return rc;
}
