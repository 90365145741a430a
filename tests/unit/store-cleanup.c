/*
 * The cleanup timer's deletes (lib/store/cleanup.c) on SQLite and, with
 * MYELIN_TEST_PG set, PostgreSQL: only rows past their time go, a batch
 * takes at most its limit (a loop of batches takes them all), a refresh
 * token takes its access tokens and no one else's, a sliding-sync
 * connection its rooms, and a to-device transaction ID deduplicates for a
 * day, then counts as new.  Rows carry the process id, so a run on a
 * database of an earlier run also passes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock/clock.h"
#include "log/log.h"
#include "store/extern.h"	/* statements and cursors: a test of lib/store itself */

/*
 * The cleanups' now: the real time, so that on a PostgreSQL database the
 * e2e stacks share only what has expired by their own clock goes too.
 */
static int64_t		 now_ms;

static const char	*backend;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "store-cleanup: %s: line %d: %s\n",	\
		    backend, __LINE__, #cond);				\
		goto out;						\
	}								\
} while (0)


/* Runs fn in batches of limit until one is short; the total, or -1. */
static int64_t
drain(struct mdb *db, int64_t (*fn)(struct mdb *, int64_t, int64_t), int64_t now,
    int64_t limit, int *batches)
{
	int64_t	n, total = 0;

	*batches = 0;
	do {
		if ((n = fn(db, now, limit)) < 0)
			return -1;
		total += n;
		(*batches)++;
	} while (n >= limit);
	return total;
}

static int
run(enum mdb_backend kind, const char *database)
{
	struct mconfig	 conf;
	struct mdb	*db = NULL;
	char		 user[64], other[64], hash[96];
	int64_t		 rid = 0, keep = 0, conn = 0, n;
	int		 batches, rc = -1;

	backend = kind == MDB_POSTGRES ? "postgresql" : "sqlite";
	snprintf(user, sizeof(user), "@clean-%ld:test", (long)getpid());
	snprintf(other, sizeof(other), "@keep-%ld:test", (long)getpid());
	memset(&conf, 0, sizeof(conf));
	conf.db_backend = kind;
	conf.database = (char *)database;
	CHECK((db = mdb_open(&conf, NULL)) != NULL);
	CHECK(mdb_migrate(db) == 0);

	/* Login tokens: five past their time, one not; batches of two. */
	for (int i = 0; i < 6; i++) {
		snprintf(hash, sizeof(hash), "lt-%s-%d", user, i);
		CHECK(mdb_exec(db, MSTMT_LOGINTOKEN_ADD, "ssi", hash, user,
		    i < 5 ? now_ms - 1000 + i : now_ms + 1000) == 1);
	}
	CHECK(drain(db, mstore_clean_login_tokens, now_ms, 2, &batches) >= 5);
	CHECK(batches >= 3);
	CHECK(mstore_clean_login_tokens(db, now_ms, 2) == 0);
	snprintf(hash, sizeof(hash), "lt-%s-5", user);
	CHECK(mdb_exec(db, MSTMT_LOGINTOKEN_TAKE, "s", hash) == 1);

	/* A refresh token past its expiry takes its access tokens only. */
	snprintf(hash, sizeof(hash), "rt-%s", user);
	CHECK(mcur_first_int(mdb_query(db, MSTMT_REFRESH_ADD, "sssi", hash, user, "D",
	    now_ms - 1), &rid) == 1);
	snprintf(hash, sizeof(hash), "rt-%s", other);
	CHECK(mcur_first_int(mdb_query(db, MSTMT_REFRESH_ADD, "sssi", hash, other, "D",
	    INT64_C(0)), &keep) == 1);
	snprintf(hash, sizeof(hash), "at-%s", user);
	CHECK(mdb_exec(db, MSTMT_TOKEN_ADD, "sssiii", hash, user, "D", now_ms - 2, rid, now_ms) == 1);
	snprintf(hash, sizeof(hash), "at-%s", other);
	CHECK(mdb_exec(db, MSTMT_TOKEN_ADD, "sssiii", hash, other, "D", now_ms - 2, keep, now_ms) == 1);
	/* Past its expiry, it no longer refreshes, before the timer too. */
	snprintf(hash, sizeof(hash), "rt-%s", user);
	CHECK(mcur_first_int(mdb_query(db, MSTMT_REFRESH_USE, "si", hash, now_ms), &n) == 0);
	CHECK(mcur_first_int(mdb_query(db, MSTMT_REFRESH_USE, "si", hash, now_ms - 2), &n) == 1);
	CHECK(n == rid);
	CHECK(drain(db, mstore_clean_refresh_tokens, now_ms, 1000, &batches) >= 1);
	/* Deleting them again finds nothing of the expired one, all of the other. */
	CHECK(mdb_exec(db, MSTMT_TOKEN_DEL_REFRESH, "i", rid) == 0);
	CHECK(mdb_exec(db, MSTMT_REFRESH_DEL_ID, "i", rid) == 0);
	snprintf(hash, sizeof(hash), "rt-%s", other);
	CHECK(mcur_first_int(mdb_query(db, MSTMT_REFRESH_USE, "si", hash, now_ms), &n) == 1);
	CHECK(mdb_exec(db, MSTMT_TOKEN_DEL_REFRESH, "i", keep) == 1);
	CHECK(mdb_exec(db, MSTMT_REFRESH_DEL_ID, "i", keep) == 1);

	/* To-device transaction IDs: a day of deduplication, then new. */
	CHECK(mdb_exec(db, MSTMT_E2EE_TXN_ADD, "sssii", user, "D", "old",
	    now_ms - MSTORE_TXN_LIFETIME_MS - 1, now_ms - 2 * MSTORE_TXN_LIFETIME_MS) == 1);
	CHECK(mdb_exec(db, MSTMT_E2EE_TXN_ADD, "sssii", user, "D", "new", now_ms - 1000,
	    now_ms - 2 * MSTORE_TXN_LIFETIME_MS) == 1);
	CHECK(mdb_exec(db, MSTMT_E2EE_TXN_ADD, "sssii", user, "D", "new", now_ms,
	    now_ms - MSTORE_TXN_LIFETIME_MS) == 0);
	CHECK(drain(db, mstore_clean_todevice_txns, now_ms, 1000, &batches) >= 1);
	CHECK(mdb_exec(db, MSTMT_E2EE_TXN_ADD, "sssii", user, "D", "new", now_ms,
	    now_ms - MSTORE_TXN_LIFETIME_MS) == 0);
	CHECK(mdb_exec(db, MSTMT_E2EE_TXN_ADD, "sssii", user, "D", "old", now_ms,
	    now_ms - MSTORE_TXN_LIFETIME_MS) == 1);
	/* Day-old but not yet deleted: the request counts it as new. */
	CHECK(mdb_exec(db, MSTMT_E2EE_TXN_ADD, "sssii", user, "D", "new",
	    now_ms + MSTORE_TXN_LIFETIME_MS, now_ms) == 1);
	CHECK(mdb_exec(db, MSTMT_E2EE_TXN_DEL_DEVICE, "ss", user, "D") == 2);

	/* Sliding sync: a connection idle past the rule goes with its rooms. */
	CHECK(mcur_first_int(mdb_query(db, MSTMT_SLIDING_CONN_ADD, "sssi", user, "D", "c",
	    mstore_sliding_expire_before(now_ms) - 1), &conn) == 1);
	CHECK(mdb_exec(db, MSTMT_SLIDING_ROOM_PUT, "isiis", conn, "!r:test", (int64_t)1,
	    (int64_t)1, "{}") == 1);
	CHECK(mcur_first_int(mdb_query(db, MSTMT_SLIDING_CONN_ADD, "sssi", other, "D", "c",
	    mstore_sliding_expire_before(now_ms)), &keep) == 1);
	CHECK(mstore_sliding_expire(db, mstore_sliding_expire_before(now_ms), 1000) >= 1);
	CHECK(mstore_sliding_expire(db, mstore_sliding_expire_before(now_ms), 1000) == 0);
	CHECK(mdb_exec(db, MSTMT_CLEAN_SLIDING_ROOMS, "i", conn) == 0);
	CHECK(mdb_exec(db, MSTMT_SLIDING_CONN_DEL_KEY, "sss", other, "D", "c") == 1);
	rc = 0;
out:
	mdb_close(db);
	return rc;
}

int
main(void)
{
	char		 dir[] = "/tmp/store-cleanup.XXXXXX";
	char		 path[sizeof(dir) + 32];
	const char	*pg;
	int		 rc = 0;

	mlog_init("store-cleanup", MLOG_WARN);
	now_ms = mclock_now_ms();
	if (mkdtemp(dir) == NULL) {
		perror("store-cleanup: mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/myelin.db", dir);
	if (run(MDB_SQLITE, path) == -1)
		rc = 1;
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
		fprintf(stderr, "store-cleanup: PostgreSQL not tested (MYELIN_TEST_PG unset)\n");
	return rc;
}
