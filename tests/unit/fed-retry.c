/*
 * The sender's retry schedule on the fake clock (lib/fed/sender.c): a
 * destination that does not answer is not tried again before its
 * backoff ends, then at its end; the backoff doubles from
 * MFED_BACKOFF_MIN_MS to MFED_BACKOFF_MAX_MS and holds there, is stored
 * (a new connection, as after a restart, sees it), and a sender of
 * another shard leaves the destination alone.  The transaction tried is
 * recorded and tried again as it was (the same rows, so the same txnId),
 * though a new EDU was queued after it, across a restart too.
 *
 * The destination is 127.0.0.1:1 with no federation_allow_ips: refused
 * before any connection, so no time passes but the fake clock's.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock/clock.h"
#include "fed/fed.h"
#include "store/store.h"
#include "testlib.h"

#define DEST	"127.0.0.1:1"
#define T0	INT64_C(1700000000000)

static int
due(struct mdb *db, int64_t now)
{
	json_t	*d = mstore_fedq_due(db, now);
	int	 found = 0;

	for (size_t i = 0; d != NULL && i < json_array_size(d); i++)
		found |= strcmp(json_string_value(json_array_get(d, i)), DEST) == 0;
	json_decref(d);
	return found;
}

int
main(void)
{
	struct mconfig	 conf;
	struct mdb	*db = NULL;
	struct mkey	*key = NULL;
	json_t		*edu = NULL;
	char		 dir[] = "/tmp/myelin-fed-retry.XXXXXX", dbpath[256], clk[256];
	int64_t		 now = T0, want = MFED_BACKOFF_MIN_MS, in, b, first = 0, tp, te;
	unsigned	 other;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(dbpath, sizeof(dbpath), "%s/myelin.db", dir);
	snprintf(clk, sizeof(clk), "%s/clock", dir);
	CHECK(mclock_fake_set(clk, T0) == 0);
	setenv("MYELIN_FAKE_CLOCK", clk, 1);
	CHECK(mclock_now_ms() == T0);
	memset(&conf, 0, sizeof(conf));
	conf.server_name = "origin.example";
	conf.db_backend = MDB_SQLITE;
	conf.database = dbpath;
	if ((db = mdb_open(&conf, NULL)) == NULL || mdb_migrate(db) == -1 ||
	    (key = mcrypto_key_generate("t1")) == NULL) {
		FAIL("setup");
		goto out;
	}
	edu = json_pack("{s:s}", "presence", "online");
	CHECK(mstore_fedq_edu_add(db, DEST, "m.presence", "@a:origin.example", edu,
	    MSTREAM_PRESENCE, now) == 0);
	/* A sender of the other shard never tries it. */
	other = (mfed_shard_of(DEST, 2) + 1) % 2;
	mfed_send_due(db, &conf, key, now, other, 2);
	CHECK(mstore_fedq_backoff(db, DEST) == 0);
	CHECK(due(db, now));
	CHECK(mstore_fedq_txn_get(db, DEST, &tp, &te) == 0 && tp == 0 && te == 0);
	{
		json_t *bt = mstore_fedq_edu_batch(db, DEST, 100, &first);

		CHECK(bt != NULL && first > 0);
		json_decref(bt);
	}
	for (int attempt = 1; attempt <= 14; attempt++) {
		/* Due now: it is tried, fails, and waits the next step. */
		in = mfed_send_due(db, &conf, key, now, mfed_shard_of(DEST, 2), 2);
		b = mstore_fedq_backoff(db, DEST);
		CHECK(b == want);
		/* The first attempt's transaction, its one EDU, stays the one tried. */
		CHECK(mstore_fedq_txn_get(db, DEST, &tp, &te) == 0 && tp == 0 && te == first);
		if (attempt == 1) {
			json_t *more = json_pack("{s:i}", "n", 2);

			CHECK(mstore_fedq_edu_add(db, DEST, "m.direct_to_device", NULL, more,
			    MSTREAM_TODEVICE, now) == 0);
			json_decref(more);
		}
		if (b != want)
			fprintf(stderr, "  attempt %d: backoff %lld, want %lld\n", attempt,
			    (long long)b, (long long)want);
		/* The sender's own next look is at the backoff's end, not later. */
		CHECK(in <= want && in >= 0);
		/* One ms before the end: not due, and a run changes nothing. */
		CHECK(!due(db, now + want - 1));
		mclock_fake_set(clk, now + want - 1);
		mfed_send_due(db, &conf, key, now + want - 1, mfed_shard_of(DEST, 2), 2);
		CHECK(mstore_fedq_backoff(db, DEST) == want);
		/* At the end it is due again. */
		CHECK(due(db, now + want));
		now += want;
		mclock_fake_set(clk, now);
		want = want * 2 > MFED_BACKOFF_MAX_MS ? MFED_BACKOFF_MAX_MS : want * 2;
	}
	/* Capped at an hour after 12 doublings from 2 s. */
	CHECK(mstore_fedq_backoff(db, DEST) == MFED_BACKOFF_MAX_MS);
	/* The schedule is stored: a new connection (a restarted sender) sees it. */
	mdb_close(db);
	if ((db = mdb_open(&conf, NULL)) == NULL) {
		FAIL("reopen");
		goto out;
	}
	CHECK(mstore_fedq_backoff(db, DEST) == MFED_BACKOFF_MAX_MS);
	CHECK(due(db, now));
	CHECK(!due(db, now - 1));
	CHECK(mstore_fedq_txn_get(db, DEST, &tp, &te) == 0 && tp == 0 && te == first);
	/* Nothing was sent, so nothing left the queue. */
	{
		int64_t	 last = 0;
		json_t	*batch = mstore_fedq_edu_batch(db, DEST, 100, &last);

		CHECK(batch != NULL && json_array_size(batch) == 2);
		json_decref(batch);
	}
out:
	json_decref(edu);
	mdb_close(db);
	mcrypto_key_free(key);
	unlink(clk);
	{
		char p[300];

		snprintf(p, sizeof(p), "rm -rf '%s'", dir);
		if (system(p) != 0)
			fprintf(stderr, "cannot remove %s\n", dir);
	}
	return failed;
}
