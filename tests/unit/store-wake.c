/*
 * lib/store announces the streams a connection's writes move on its
 * notify segment, and only once they are committed: a /sync woken by
 * the bump must find the write on its own connection, and a rolled back
 * write wakes nobody.  A write outside a transaction is its own commit.
 *
 * SQLite runs on a file in a fresh temporary directory; PostgreSQL too
 * when MYELIN_TEST_PG holds a libpq conninfo (see store-backends.c).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "notify/notify.h"
#include "store/store.h"
#include "testlib.h"

#define WAIT_MS		10000	/* a guard only: the commit's bump ends the wait */

/* Writes "<sigil><what>-<pid>:test" into buf, a name no earlier run used. */
static const char *
name(char *buf, size_t bufsz, const char *what)
{
	snprintf(buf, bufsz, "%s-%ld:test", what, (long)getpid());
	return buf;
}

/* Stores a bare event in the connection's transaction.  0 or -1. */
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

/* 1 when db sees event_id, 0 when not, -1 on error. */
static int
event_seen(struct mdb *db, const char *event_id)
{
	struct mevrow	 e;
	int		 rc = mstore_event_get(db, event_id, &e);

	if (rc == 1)
		mevrow_fini(&e);
	return rc;
}

/* A /sync in miniature: waits for a bump, then reads on its own connection. */
struct waiter {
	struct mnotify	*n;
	struct mdb	*db;
	const char	*event_id;
	uint32_t	 seen;		/* the counter before the write */
	uint32_t	 got;		/* the counter when the wait ended */
	int		 found;		/* what event_seen said then */
};

static void *
waiter_run(void *arg)
{
	struct waiter *w = arg;

	w->got = mnotify_wait(w->n, w->seen, WAIT_MS);
	w->found = event_seen(w->db, w->event_id);
	return NULL;
}

static void
run(enum mdb_backend kind, const char *database, const char *segment)
{
	struct mconfig	 conf;
	struct mnotify	*n = NULL;
	struct mdb	*db = NULL, *reader = NULL;
	struct waiter	 w;
	pthread_t	 th;
	char		 room[64], user[64], e1[64], e2[64];
	uint64_t	 pos;
	uint32_t	 seq;
	int64_t		 stream;
	json_t		*content = NULL;

	name(room, sizeof(room), "!room");
	name(user, sizeof(user), "@user");
	name(e1, sizeof(e1), "$rolled-back");
	name(e2, sizeof(e2), "$committed");
	memset(&conf, 0, sizeof(conf));
	conf.db_backend = kind;
	conf.database = (char *)database;
	if ((n = mnotify_open(segment)) == NULL) {
		FAIL("mnotify_open %s", segment);
		return;
	}
	if ((db = mdb_open(&conf, n)) == NULL || mdb_migrate(db) == -1 ||
	    (reader = mdb_open(&conf, NULL)) == NULL) {
		FAIL("mdb_open");
		goto out;
	}

	/* A rolled back event moves nothing and wakes nobody. */
	seq = mnotify_seq(n);
	pos = mnotify_pos(n, MSTREAM_EVENTS);
	CHECK(mdb_begin(db) == 0);
	CHECK(event_add(db, e1, room, &stream) == 0);
	CHECK(mnotify_seq(n) == seq);
	mdb_rollback(db);
	CHECK(mnotify_seq(n) == seq);
	CHECK(mnotify_pos(n, MSTREAM_EVENTS) == pos);

	/* A committed one wakes the waiter, which then sees it. */
	memset(&w, 0, sizeof(w));
	w.n = n;
	w.db = reader;
	w.event_id = e2;
	w.seen = seq;
	if (pthread_create(&th, NULL, waiter_run, &w) != 0) {
		FAIL("pthread_create");
		goto out;
	}
	CHECK(mdb_begin(db) == 0);
	CHECK(event_add(db, e2, room, &stream) == 0);
	/* Not before the commit: the waiter could not see the event yet. */
	CHECK(mnotify_seq(n) == seq);
	CHECK(mdb_commit(db) == 0);
	CHECK(pthread_join(th, NULL) == 0);
	CHECK(w.got != seq);
	CHECK(w.found == 1);
	CHECK(mnotify_pos(n, MSTREAM_EVENTS) == pos + 1);

	/* A receipt in the caller's transaction, announced by its commit. */
	pos = mnotify_pos(n, MSTREAM_RECEIPTS);
	CHECK(mdb_begin(db) == 0);
	CHECK(mstore_receipt_put(db, room, user, "m.read", "", e2, stream, 1) == 1);
	CHECK(mnotify_pos(n, MSTREAM_RECEIPTS) == pos);
	CHECK(mdb_commit(db) == 0);
	CHECK(mnotify_pos(n, MSTREAM_RECEIPTS) == pos + 1);

	/* Writes that run their own transaction: each is its own commit. */
	pos = mnotify_pos(n, MSTREAM_TYPING);
	CHECK(mstore_typing_set(db, room, user, INT64_C(1) << 50) == 1);
	CHECK(mnotify_pos(n, MSTREAM_TYPING) == pos + 1);
	/* Still typing: only the deadline moved, nobody is told. */
	CHECK(mstore_typing_set(db, room, user, (INT64_C(1) << 50) + 1) == 0);
	CHECK(mnotify_pos(n, MSTREAM_TYPING) == pos + 1);
	CHECK(mstore_typing_set(db, room, user, 0) == 1);
	CHECK(mnotify_pos(n, MSTREAM_TYPING) == pos + 2);

	pos = mnotify_pos(n, MSTREAM_ACCOUNT_DATA);
	CHECK((content = json_pack("{s:i}", "n", 1)) != NULL);
	CHECK(mstore_account_data_put(db, user, "", "org.example.test", content) == 0);
	CHECK(mnotify_pos(n, MSTREAM_ACCOUNT_DATA) == pos + 1);
	/* A tag that is not there: nothing written, nobody told. */
	CHECK(mstore_tag_del(db, user, room, "u.none") == 0);
	CHECK(mnotify_pos(n, MSTREAM_ACCOUNT_DATA) == pos + 1);

	pos = mnotify_pos(n, MSTREAM_PRESENCE);
	CHECK(mstore_presence_put(db, user, "unavailable", NULL, -1) == 0);
	CHECK(mnotify_pos(n, MSTREAM_PRESENCE) == pos + 1);

	/* A connection without a segment writes as well and tells nobody. */
	seq = mnotify_seq(n);
	CHECK(mstore_presence_put(reader, user, "online", NULL, 1) == 0);
	CHECK(mnotify_seq(n) == seq);
out:
	json_decref(content);
	mdb_close(db);
	mdb_close(reader);
	mnotify_close(n);
}

int
main(void)
{
	char		 dir[] = "/tmp/store-wake.XXXXXX";
	char		 path[sizeof(dir) + 32], segment[sizeof(dir) + 32];
	const char	*pg;

	if (mkdtemp(dir) == NULL) {
		perror("store-wake: mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/myelin.db", dir);
	snprintf(segment, sizeof(segment), "%s/notify.shm", dir);
	run(MDB_SQLITE, path, segment);
	if ((pg = getenv("MYELIN_TEST_PG")) != NULL && *pg != '\0')
		run(MDB_POSTGRES, pg, segment);
	else
		fprintf(stderr, "store-wake: postgresql skipped (MYELIN_TEST_PG unset)\n");
	unlink(path);
	unlink(segment);
	rmdir(dir);
	return failed;
}
