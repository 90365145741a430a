/*
 * The versions push evaluation keeps what it read of a room under
 * (mstore_push_seqs, lib/push/event.c) move with every write of the
 * room's current state, every rule change and every purge, and a pair
 * of them is never seen again for a room whose state differs: a room
 * purged and joined again (its row made anew, its state_seq from 0)
 * must not meet the versions of the room it was.
 *
 * SQLite runs on a file in a fresh temporary directory; PostgreSQL too
 * when MYELIN_TEST_PG holds a libpq conninfo.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log/log.h"
#include "store/extern.h"
#include "store/store.h"
#include "testlib.h"

/* The room's versions in a transaction of their own; found's value, or -1. */
static int
seqs(struct mdb *db, const char *room, int64_t *s, int64_t *r)
{
	int found;

	*s = *r = -1;
	if (mdb_begin(db) == -1)
		return -1;
	found = mstore_push_seqs(db, room, s, r);
	mdb_rollback(db);
	return found;
}

/* The room made with one joined member, as a federated join leaves it. */
static int
room_make(struct mdb *db, const char *room, const char *member, const char *eid)
{
	if (mdb_begin(db) == -1)
		return -1;
	if (mstore_room_add(db, room, "10", member) == -1 ||
	    mstore_cstate_put(db, room, "m.room.create", "", eid, NULL) == -1 ||
	    mstore_cstate_put(db, room, "m.room.member", member, eid, "join") == -1) {
		mdb_rollback(db);
		return -1;
	}
	return mdb_commit(db);
}

static void
run(enum mdb_backend kind, const char *database)
{
	struct mconfig	 conf;
	struct mdb	*db;
	char		 room[64], eid[64], eid2[64];
	int64_t		 s0, r0, s1, r1, s2, r2;

	memset(&conf, 0, sizeof(conf));
	conf.db_backend = kind;
	conf.database = (char *)database;
	if ((db = mdb_open(&conf, NULL)) == NULL || mdb_migrate(db) == -1) {
		FAIL("%s: open", database);
		mdb_close(db);
		return;
	}
	snprintf(room, sizeof(room), "!pushseq%ld:test", (long)getpid());
	snprintf(eid, sizeof(eid), "$a%ld", (long)getpid());
	snprintf(eid2, sizeof(eid2), "$b%ld", (long)getpid());

	CHECK(seqs(db, room, &s0, &r0) == 0);
	CHECK(room_make(db, room, "@alice:test", eid) == 0);
	CHECK(seqs(db, room, &s0, &r0) == 1);

	/* A write of the state moves it; in its own transaction it is not for keeping. */
	CHECK(mdb_begin(db) == 0);
	CHECK(mstore_cstate_put(db, room, "m.room.member", "@bob:test", eid2, "join") == 0);
	CHECK(mstore_push_seqs(db, room, &s1, &r1) == 2);
	CHECK(mdb_commit(db) == 0);
	CHECK(seqs(db, room, &s1, &r1) == 1);
	CHECK(s1 != s0 && r1 == r0);

	/* Purged, then joined again with the same state writes as first. */
	CHECK(mdb_begin(db) == 0);
	CHECK(mstore_room_purge(db, room) == 0);
	CHECK(mdb_commit(db) == 0);
	CHECK(seqs(db, room, &s2, &r2) == 0);
	CHECK(room_make(db, room, "@carol:test", eid) == 0);
	CHECK(seqs(db, room, &s2, &r2) == 1);
	if (s2 == s0 && r2 == r0)
		FAIL("%s: the room joined again after a purge has the old room's versions"
		    " (%lld, %lld)", database, (long long)s2, (long long)r2);
	mdb_close(db);
}

int
main(void)
{
	char		 dir[] = "/tmp/store-pushseq.XXXXXX";
	char		 path[sizeof(dir) + 32];
	const char	*pg;

	mlog_init("store-pushseq", MLOG_WARN);
	if (mkdtemp(dir) == NULL) {
		perror("store-pushseq: mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/myelin.db", dir);
	run(MDB_SQLITE, path);
	unlink(path);
	snprintf(path, sizeof(path), "%s/myelin.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/myelin.db-shm", dir);
	unlink(path);
	rmdir(dir);
	if ((pg = getenv("MYELIN_TEST_PG")) != NULL && *pg != '\0')
		run(MDB_POSTGRES, pg);
	else
		fprintf(stderr, "store-pushseq: PostgreSQL not tested (MYELIN_TEST_PG unset)\n");
	return failed;
}
