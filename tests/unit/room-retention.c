/*
 * Message retention: mroom_retention_lifetime and mroom_retention_check
 * (Synapse's policy rules), and mroom_retention_run over a database on
 * a fake clock: what a purge takes and what it leaves, on SQLite in a
 * fresh temporary directory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testlib.h"
#include "clock/clock.h"
#include "config/config.h"
#include "crypto/crypto.h"
#include "log/log.h"
#include "room/room.h"
#include "store/store.h"

#define ALICE	"@alice:test"
#define FAR	"far.example"

#define H	(60 * 60 * 1000LL)
#define D	(24 * H)

static int64_t
lifetime(const struct mconfig *c, const char *content)
{
	json_t	*j = content != NULL ? json_loads(content, 0, NULL) : NULL;
	int64_t	 ms = mroom_retention_lifetime(c, j);

	json_decref(j);
	return ms;
}

static int
check(const char *type, const char *sk, const char *content)
{
	json_t	*j = json_loads(content, 0, NULL);
	char	 why[128];
	int	 r = mroom_retention_check(type, sk, j, why, sizeof(why));

	json_decref(j);
	return r;
}

/* One local event through the write path, in its own transaction: its ID (malloc'd) or NULL. */
static char *
send(struct mroom_ctx *ctx, const char *room, const char *type, const char *sk,
    const char *content, const char *dest)
{
	json_t		*j = json_loads(content, 0, NULL);
	char		*id = NULL;
	enum mroom_err	 rc;

	if (j == NULL || mdb_begin(ctx->db) == -1) {
		json_decref(j);
		return NULL;
	}
	if ((rc = mroom_send(ctx, room, ALICE, type, sk, j, NULL, NULL, &id)) != MROOM_OK) {
		mdb_rollback(ctx->db);
		FAIL("send %s: %d (%s)", type, (int)rc, ctx->why);
		id = NULL;
	} else if (dest != NULL && mstore_fedq_add(ctx->db, dest, id, mclock_now_ms()) == -1) {
		mdb_rollback(ctx->db);
		FAIL("fedq");
	} else if (mdb_commit(ctx->db) == -1)
		FAIL("commit");
	json_decref(j);
	return id;
}

static int
stored(struct mdb *db, const char *id)
{
	struct mevrow	 row;
	int		 r = mstore_event_get(db, id, &row);

	if (r == 1)
		mevrow_fini(&row);
	return r;
}

static char *
new_room(struct mroom_ctx *ctx)
{
	char	*room = NULL;
	json_t	*initial = json_pack("[{s:s,s:s,s:{s:s}},{s:s,s:s,s:{s:{s:i}}}]",
	    "type", "m.room.member", "state_key", ALICE, "content", "membership", "join",
	    "type", "m.room.power_levels", "state_key", "", "content", "users", ALICE, 100);

	if (initial == NULL || mdb_begin(ctx->db) == -1) {
		json_decref(initial);
		return NULL;
	}
	if (mroom_create(ctx, version("10"), ALICE, NULL, initial, &room) != MROOM_OK) {
		mdb_rollback(ctx->db);
		json_decref(initial);
		FAIL("create: %s", ctx->why);
		return NULL;
	}
	json_decref(initial);
	if (mdb_commit(ctx->db) == -1)
		return NULL;
	return room;
}

/*
 * r1 keeps a day; r2 has no policy and the default is 10 days.  Two days
 * on, r1's old messages go (and their rows in the queue of FAR, a server
 * long down), its state,
 * its young message and r2's message stay; r3, whose only message is
 * old, keeps it as its latest event.
 */
static void
purge(enum mdb_backend kind, const char *database, const char *clock, struct mkey *key)
{
	struct mconfig		 conf;
	struct mroom_ctx	 ctx;
	char			*r1 = NULL, *r2 = NULL, *r3 = NULL, *ret = NULL, *old = NULL;
	char			*old2 = NULL, *young = NULL, *other = NULL, *last = NULL;
	json_t			*due = NULL;
	int64_t			 t0 = INT64_C(1800000000000);

	memset(&conf, 0, sizeof(conf));
	memset(&ctx, 0, sizeof(ctx));
	conf.db_backend = kind;
	conf.database = (char *)database;
	conf.retention_enabled = 1;
	conf.retention_default_max_ms = 10 * D;
	if (mclock_fake_set(clock, t0) == -1 ||
	    (ctx.db = mdb_open(&conf, NULL)) == NULL || mdb_migrate(ctx.db) == -1) {
		FAIL("open");
		goto out;
	}
	ctx.server_name = "test";
	ctx.key = key;
	if ((r1 = new_room(&ctx)) == NULL || (r2 = new_room(&ctx)) == NULL ||
	    (r3 = new_room(&ctx)) == NULL)
		goto out;
	ret = send(&ctx, r1, MROOM_RETENTION, "", "{\"max_lifetime\": 86400000}", NULL);
	old = send(&ctx, r1, "m.room.message", NULL, "{\"body\": \"old\"}", FAR);
	old2 = send(&ctx, r1, "m.room.message", NULL, "{\"body\": \"old2\"}", FAR);
	other = send(&ctx, r2, "m.room.message", NULL, "{\"body\": \"default\"}", NULL);
	last = send(&ctx, r3, "m.room.message", NULL, "{\"body\": \"last\"}", NULL);
	mclock_fake_set(clock, t0 + 2 * D);
	young = send(&ctx, r1, "m.room.message", NULL, "{\"body\": \"young\"}", NULL);
	if (ret == NULL || old == NULL || old2 == NULL || other == NULL || last == NULL ||
	    young == NULL)
		goto out;
	CHECK(mroom_retention_run(ctx.db, &conf, mclock_now_ms()) == 2);
	CHECK(stored(ctx.db, old) == 0 && stored(ctx.db, old2) == 0);
	CHECK(stored(ctx.db, young) == 1 && stored(ctx.db, ret) == 1);
	CHECK(stored(ctx.db, other) == 1 && stored(ctx.db, last) == 1);
	/* A server long down had only the purged messages queued: it has nothing now. */
	CHECK((due = mstore_fedq_due(ctx.db, mclock_now_ms())) != NULL);
	for (size_t i = 0; due != NULL && i < json_array_size(due); i++)
		if (strcmp(json_string_value(json_array_get(due, i)), FAR) == 0)
			FAIL("%s still has rows queued", FAR);
	/* Nothing more to take: a second run deletes nothing. */
	CHECK(mroom_retention_run(ctx.db, &conf, mclock_now_ms()) == 0);
	/* Eleven days on: r2's message is old, but it is r2's latest; r1's young too. */
	mclock_fake_set(clock, t0 + 11 * D);
	CHECK(mroom_retention_run(ctx.db, &conf, mclock_now_ms()) == 0);
	CHECK(stored(ctx.db, other) == 1 && stored(ctx.db, young) == 1);
out:
	json_decref(due);
	free(r1);
	free(r2);
	free(r3);
	free(ret);
	free(old);
	free(old2);
	free(young);
	free(other);
	free(last);
	mdb_close(ctx.db);
}

int
main(void)
{
	char		 dir[] = "/tmp/room-retention.XXXXXX", path[sizeof(dir) + 32];
	char		 clock[sizeof(dir) + 32];
	struct mkey	*key = spec_key(NULL);
	struct mconfig	 c;

	memset(&c, 0, sizeof(c));
	/* Off: nothing goes, whatever the room says. */
	CHECK(lifetime(&c, "{\"max_lifetime\": 86400000}") == 0);
	c.retention_enabled = 1;
	/* No default: a room without max_lifetime keeps everything. */
	CHECK(lifetime(&c, NULL) == 0);
	CHECK(lifetime(&c, "{\"min_lifetime\": 1000}") == 0);
	CHECK(lifetime(&c, "{\"max_lifetime\": 86400000}") == D);
	/* Not an integer, or not positive: as if unset. */
	CHECK(lifetime(&c, "{\"max_lifetime\": \"1d\"}") == 0);
	CHECK(lifetime(&c, "{\"max_lifetime\": 0}") == 0);
	CHECK(lifetime(&c, "{\"max_lifetime\": -5}") == 0);
	c.retention_default_max_ms = 10 * D;
	CHECK(lifetime(&c, NULL) == 10 * D);
	CHECK(lifetime(&c, "{}") == 10 * D);
	CHECK(lifetime(&c, "{\"max_lifetime\": 86400000}") == D);
	/* Clamped into the allowed range, the default too. */
	c.retention_allowed_min_ms = H;
	c.retention_allowed_max_ms = 5 * D;
	CHECK(lifetime(&c, "{\"max_lifetime\": 1000}") == H);
	CHECK(lifetime(&c, "{\"max_lifetime\": 8640000000}") == 5 * D);
	CHECK(lifetime(&c, NULL) == 5 * D);

	/* Synapse's event validator. */
	CHECK(check("m.room.retention", "", "{}") == 0);
	CHECK(check("m.room.retention", "", "{\"min_lifetime\": 1, \"max_lifetime\": 2}") == 0);
	CHECK(check("m.room.retention", "", "{\"max_lifetime\": 1.5}") == -1);
	CHECK(check("m.room.retention", "", "{\"min_lifetime\": \"x\"}") == -1);
	CHECK(check("m.room.retention", "", "{\"min_lifetime\": 3, \"max_lifetime\": 2}") == -1);
	CHECK(check("m.room.retention", "", "{\"max_lifetime\": null}") == 0);
	/* Other events, and a message event of that type, are not its concern. */
	CHECK(check("m.room.topic", "", "{\"max_lifetime\": \"x\"}") == 0);
	CHECK(check("m.room.retention", NULL, "{\"max_lifetime\": \"x\"}") == 0);

	mlog_init("room-retention", MLOG_WARN);
	if (key == NULL || mkdtemp(dir) == NULL) {
		perror("room-retention: setup");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/myelin.db", dir);
	snprintf(clock, sizeof(clock), "%s/clock", dir);
	setenv("MYELIN_FAKE_CLOCK", clock, 1);
	/*
	 * SQLite only: a purge takes every room of the database, and
	 * MYELIN_TEST_PG's is shared with other tests (tests/e2e/
	 * test_retention.py runs the purge on PostgreSQL, in a database of
	 * its own).
	 */
	purge(MDB_SQLITE, path, clock, key);
	{
		static const char *const sfx[] = { "/myelin.db", "/myelin.db-wal",
		    "/myelin.db-shm", "/clock" };

		for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
			snprintf(path, sizeof(path), "%s%s", dir, sfx[i]);
			unlink(path);
		}
	}
	rmdir(dir);
	mcrypto_key_free(key);
	return failed;
}
