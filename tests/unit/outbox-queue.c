/*
 * The outbound queue (lib/outbox over lib/store/outbox.c) on the fake
 * clock: the backoff schedule, one claimant per destination, delivery in
 * order with each success recorded at once, backoff after a failure, a
 * dead owner's lease ending, a gone destination dropping its rows, and
 * giving up after give_up_ms.  On SQLite, and on PostgreSQL too when
 * MYELIN_TEST_PG holds a libpq conninfo (rows carry the process id, so
 * a database used before does not matter).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock/clock.h"
#include "log/log.h"
#include "outbox/outbox.h"
#include "store/store.h"
#include "testlib.h"

static char	 kindname[64];
static char	 got[16][32];
static size_t	 gotsz;
static int	 fail_next;	/* deliveries left to fail */
static int	 gone_next;

static enum moutbox_res
deliver(void *arg, struct mdb *db, const char *dest, const struct moutbox_row *rows, size_t n)
{
	(void)arg;
	(void)db;
	(void)dest;
	if (gone_next) {
		gone_next = 0;
		return MOUTBOX_GONE;
	}
	if (fail_next > 0) {
		fail_next--;
		return MOUTBOX_RETRY;
	}
	for (size_t i = 0; i < n && gotsz < 16; i++)
		snprintf(got[gotsz++], sizeof(got[0]), "%s", rows[i].payload);
	return MOUTBOX_DONE;
}

static int64_t	 now;

static void
set_now(const char *clock, int64_t ms)
{
	now = ms;
	CHECK(mclock_fake_set(clock, ms) == 0);
}

static int
run(enum mdb_backend be, const char *database, const char *clock)
{
	struct mconfig		 conf;
	struct mdb		*a = NULL, *b = NULL;
	struct moutbox_kind	 k;
	char			 dest[64], dest2[64];
	int			 failed0 = failed;

	memset(&conf, 0, sizeof(conf));
	conf.db_backend = be;
	conf.database = (char *)database;
	CHECK((a = mdb_open(&conf, NULL)) != NULL && (b = mdb_open(&conf, NULL)) != NULL);
	if (a == NULL || b == NULL)
		goto out;
	CHECK(mdb_migrate(a) == 0);
	snprintf(kindname, sizeof(kindname), "test-%ld-%d", (long)getpid(), (int)be);
	snprintf(dest, sizeof(dest), "dest-a");
	snprintf(dest2, sizeof(dest2), "dest-b");
	memset(&k, 0, sizeof(k));
	k.kind = kindname;
	k.deliver = deliver;
	k.batch = 2;
	k.backoff_min_ms = 1000;
	k.backoff_max_ms = 8000;
	k.give_up_ms = 60000;
	set_now(clock, 1000000);
	gotsz = 0;

	/* Nothing queued: nothing due, nothing to wait for. */
	CHECK(moutbox_run(a, &k, "A", now) == -1);
	/* A row queued in a transaction that rolls back never was. */
	CHECK(mdb_begin(a) == 0);
	CHECK(mstore_outbox_put(a, kindname, dest, NULL, "lost", now) == 0);
	mdb_rollback(a);
	CHECK(mstore_outbox_count(a, kindname) == 0);
	CHECK(mdb_begin(a) == 0);
	CHECK(mstore_outbox_put(a, kindname, dest, "r1", "a1", now) == 0);
	CHECK(mstore_outbox_put(a, kindname, dest, "r2", "a2", now) == 0);
	CHECK(mstore_outbox_put(a, kindname, dest, "r3", "a3", now) == 0);
	CHECK(mstore_outbox_put(a, kindname, dest2, NULL, "b1", now) == 0);
	CHECK(mdb_commit(a) == 0);

	/* One claimant per destination: B cannot take what A holds. */
	CHECK(mstore_outbox_claim(a, kindname, dest, "A", now + MOUTBOX_LEASE_MS, now) == 1);
	CHECK(mstore_outbox_claim(b, kindname, dest, "B", now + MOUTBOX_LEASE_MS, now) == 0);
	/* A dies holding it: B's run delivers only the other destination. */
	CHECK(moutbox_run(b, &k, "B", now) == MOUTBOX_LEASE_MS);
	CHECK(gotsz == 1 && strcmp(got[0], "b1") == 0);
	/* Once the lease ends, B delivers A's destination, in order, in batches. */
	set_now(clock, now + MOUTBOX_LEASE_MS);
	CHECK(moutbox_run(b, &k, "B", now) == -1);
	CHECK(gotsz == 4 && strcmp(got[1], "a1") == 0 && strcmp(got[2], "a2") == 0 &&
	    strcmp(got[3], "a3") == 0);
	CHECK(mstore_outbox_count(a, kindname) == 0);
	/* Delivered rows are gone: running again sends nothing twice. */
	CHECK(moutbox_run(a, &k, "A", now) == -1);
	CHECK(gotsz == 4);

	/* A failure: the rows stay, the destination waits 1 s, then 2 s. */
	CHECK(mstore_outbox_put(a, kindname, dest, NULL, "c1", now) == 0);
	fail_next = 2;
	CHECK(moutbox_run(a, &k, "A", now) == 1000);
	CHECK(moutbox_run(a, &k, "A", now + 999) == 1);
	CHECK(gotsz == 4 && fail_next == 1);
	set_now(clock, now + 1000);
	CHECK(moutbox_run(a, &k, "A", now) == 2000);
	CHECK(mstore_outbox_put(a, kindname, dest, NULL, "c2", now) == 0);
	set_now(clock, now + 2000);
	CHECK(moutbox_run(b, &k, "B", now) == -1);
	CHECK(gotsz == 6 && strcmp(got[4], "c1") == 0 && strcmp(got[5], "c2") == 0);
	/* A success ends the backoff: the next failure waits 1 s again. */
	CHECK(mstore_outbox_put(a, kindname, dest, NULL, "d1", now) == 0);
	fail_next = 1;
	CHECK(moutbox_run(a, &k, "A", now) == 1000);

	/* Failing for give_up_ms drops the head rows, then goes on. */
	fail_next = 1000;
	for (int i = 0; i < 20 && mstore_outbox_count(a, kindname) > 0; i++) {
		int64_t in;

		set_now(clock, now + 8000);
		in = moutbox_run(a, &k, "A", now);
		CHECK(in == -1 || in <= 8000);
	}
	CHECK(mstore_outbox_count(a, kindname) == 0);
	CHECK(gotsz == 6);
	fail_next = 0;

	/* A destination that is gone takes its rows along. */
	set_now(clock, now + 10000);
	CHECK(mstore_outbox_put(a, kindname, dest2, NULL, "e1", now) == 0);
	CHECK(mstore_outbox_put(a, kindname, dest2, NULL, "e2", now) == 0);
	gone_next = 1;
	CHECK(moutbox_run(a, &k, "A", now) == -1);
	CHECK(mstore_outbox_count(a, kindname) == 0 && gotsz == 6);
out:
	mdb_close(a);
	mdb_close(b);
	return failed > failed0 ? -1 : 0;
}

int
main(void)
{
	char		 dir[] = "/tmp/outbox-queue.XXXXXX", path[sizeof(dir) + 32];
	char		 clock[sizeof(dir) + 32];
	const char	*pg;
	struct moutbox_kind k;

	mlog_init("outbox-queue", MLOG_ERROR);
	/* The schedule: doubling from the minimum, capped. */
	memset(&k, 0, sizeof(k));
	k.backoff_min_ms = 1000;
	k.backoff_max_ms = 3600000;
	CHECK(moutbox_backoff(&k, 1) == 1000);
	CHECK(moutbox_backoff(&k, 2) == 2000);
	CHECK(moutbox_backoff(&k, 5) == 16000);
	CHECK(moutbox_backoff(&k, 12) == 2048000);
	CHECK(moutbox_backoff(&k, 13) == 3600000);
	CHECK(moutbox_backoff(&k, 1000) == 3600000);
	if (mkdtemp(dir) == NULL) {
		perror("outbox-queue: mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/myelin.db", dir);
	snprintf(clock, sizeof(clock), "%s/clock", dir);
	CHECK(mclock_fake_set(clock, 1000000) == 0);
	setenv("MYELIN_FAKE_CLOCK", clock, 1);
	run(MDB_SQLITE, path, clock);
	if ((pg = getenv("MYELIN_TEST_PG")) != NULL && *pg != '\0')
		run(MDB_POSTGRES, pg, clock);
	unlink(path);
	unlink(clock);
	{
		char wal[sizeof(path) + 8];

		snprintf(wal, sizeof(wal), "%s-wal", path);
		unlink(wal);
		snprintf(wal, sizeof(wal), "%s-shm", path);
		unlink(wal);
	}
	rmdir(dir);
	return failed;
}
