/*
 * The stored PDU is the signed event (or its redacted form) and nothing
 * else: the local annotations a client is shown (unsigned.replaces_state,
 * prev_content, prev_sender, redacted_because) live beside it and come
 * back at read time, through event rows and through state.  Migration 14
 * moves the annotations of rows stored before out of their JSON.
 *
 * SQLite runs on a file in a fresh temporary directory; PostgreSQL too
 * when MYELIN_TEST_PG holds a libpq conninfo (a throwaway cluster: the
 * test takes migration 14 back and applies it again).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log/log.h"
#include "room/room.h"
#include "store/extern.h"	/* raw SQL, to take the migration back */
#include "store/store.h"
#include "testlib.h"

#define ALICE		"@alice:test"
#define MIGRATION	14

struct ids {
	char	*room, *topic1, *topic2, *msg, *red;
};

static void
ids_fini(struct ids *v)
{
	free(v->room);
	free(v->topic1);
	free(v->topic2);
	free(v->msg);
	free(v->red);
}

/* Sends one event as ALICE in its own transaction; *id its ID (malloc'd). */
static int
send1(struct mroom_ctx *ctx, const char *room, const char *type, const char *sk,
    json_t *content, const char *redacts, char **id)
{
	enum mroom_err rc;

	*id = NULL;
	if (mdb_begin(ctx->db) == -1) {
		json_decref(content);
		return -1;
	}
	rc = mroom_send(ctx, room, ALICE, type, sk, content, redacts, NULL, id);
	json_decref(content);
	if (rc != MROOM_OK) {
		mdb_rollback(ctx->db);
		FAIL("send %s: %d (%s)", type, (int)rc, ctx->why);
		return -1;
	}
	return mdb_commit(ctx->db);
}

/* A room with two topics in turn, a message and its redaction. */
static int
make_room(struct mroom_ctx *ctx, struct ids *v)
{
	json_t		*initial;
	enum mroom_err	 rc;

	initial = json_pack("[{s:s,s:s,s:{s:s}},{s:s,s:s,s:{s:{s:i}}}]",
	    "type", "m.room.member", "state_key", ALICE, "content", "membership", "join",
	    "type", "m.room.power_levels", "state_key", "", "content", "users", ALICE, 100);
	if (initial == NULL || mdb_begin(ctx->db) == -1) {
		json_decref(initial);
		return -1;
	}
	rc = mroom_create(ctx, version("10"), ALICE, NULL, initial, &v->room);
	json_decref(initial);
	if (rc != MROOM_OK) {
		mdb_rollback(ctx->db);
		FAIL("create: %d (%s)", (int)rc, ctx->why);
		return -1;
	}
	if (mdb_commit(ctx->db) == -1)
		return -1;
	if (send1(ctx, v->room, "m.room.topic", "", json_pack("{s:s}", "topic", "one"),
	    NULL, &v->topic1) == -1 ||
	    send1(ctx, v->room, "m.room.topic", "", json_pack("{s:s}", "topic", "two"),
	    NULL, &v->topic2) == -1 ||
	    send1(ctx, v->room, "m.room.message", NULL, json_pack("{s:s,s:s}",
	    "msgtype", "m.text", "body", "secret"), NULL, &v->msg) == -1 ||
	    send1(ctx, v->room, "m.room.redaction", NULL, json_object(), v->msg,
	    &v->red) == -1)
		return -1;
	return 0;
}

/* The client's unsigned of the stored event id. */
static json_t *
client_unsigned(struct mdb *db, const char *id)
{
	struct mevrow	 row;
	json_t		*ce, *u = NULL;

	if (mstore_event_get(db, id, &row) != 1) {
		FAIL("event %s not found", id);
		return NULL;
	}
	if ((ce = mroom_client_event(&row, 0, NULL, NULL)) != NULL)
		u = json_incref(json_object_get(ce, "unsigned"));
	json_decref(ce);
	mevrow_fini(&row);
	return u;
}

/* What clients are shown, through event rows and through state. */
static void
check_client(struct mroom_ctx *ctx, const struct ids *v, const char *when)
{
	json_t	*u, *st, *ce;
	int	 err;

	if ((u = client_unsigned(ctx->db, v->topic2)) == NULL) {
		FAIL("%s: no unsigned", when);
		return;
	}
	if (!json_is_string(json_object_get(u, "replaces_state")) ||
	    strcmp(mjson_str(u, "replaces_state"), v->topic1) != 0)
		FAIL("%s: replaces_state is not the first topic", when);
	if (mjson_str(json_object_get(u, "prev_content"), "topic") == NULL ||
	    strcmp(mjson_str(json_object_get(u, "prev_content"), "topic"), "one") != 0)
		FAIL("%s: prev_content is not the first topic's", when);
	if (mjson_str(u, "prev_sender") == NULL || strcmp(mjson_str(u, "prev_sender"), ALICE) != 0)
		FAIL("%s: prev_sender is not alice", when);
	json_decref(u);

	/* The first topic replaced nothing. */
	if ((u = client_unsigned(ctx->db, v->topic1)) != NULL &&
	    (json_object_get(u, "replaces_state") != NULL ||
	    json_object_get(u, "prev_content") != NULL))
		FAIL("%s: the first topic has prev_content", when);
	json_decref(u);

	/* Spec: C-S API, "Redactions": redacted_because is the redaction event. */
	if ((u = client_unsigned(ctx->db, v->msg)) == NULL) {
		FAIL("%s: no unsigned", when);
		return;
	}
	st = json_object_get(u, "redacted_because");
	if (mjson_str(st, "event_id") == NULL || strcmp(mjson_str(st, "event_id"), v->red) != 0 ||
	    mjson_str(st, "type") == NULL || strcmp(mjson_str(st, "type"), "m.room.redaction") != 0 ||
	    mjson_str(st, "redacts") == NULL || strcmp(mjson_str(st, "redacts"), v->msg) != 0 ||
	    mjson_str(st, "sender") == NULL || json_object_get(st, "unsigned") != NULL)
		FAIL("%s: redacted_because is not the redaction event", when);
	json_decref(u);

	/* The current state, as /state and /sync read it. */
	if ((st = mstore_cstate_event(ctx->db, v->room, "m.room.topic", "", &err)) == NULL) {
		FAIL("%s: no current topic", when);
		return;
	}
	ce = mroom_state_client_event(st, v->room, 0, NULL, NULL);
	u = json_object_get(ce, "unsigned");
	if (mjson_str(json_object_get(u, "prev_content"), "topic") == NULL ||
	    strcmp(mjson_str(json_object_get(u, "prev_content"), "topic"), "one") != 0 ||
	    mjson_str(u, "replaces_state") == NULL ||
	    strcmp(mjson_str(u, "replaces_state"), v->topic1) != 0)
		FAIL("%s: the current topic has no prev_content", when);
	json_decref(ce);
	json_decref(st);
}

/* Every stored PDU of the room: no "unsigned" at all. */
static void
check_stored(struct mdb *db, const struct ids *v, const char *when)
{
	struct mevrow	*rows = NULL;
	size_t		 n = 0, i;

	if (mstore_events_page(db, v->room, 1, INT64_MAX, 0, 100, &rows, &n) == -1 || n < 6) {
		FAIL("%s: room events not read (%zu)", when, n);
		return;
	}
	for (i = 0; i < n; i++)
		if (json_object_get(rows[i].json, "unsigned") != NULL)
			FAIL("%s: stored %s (%s) has unsigned", when, rows[i].event_id,
			    rows[i].type);
	mevrow_list_free(rows, n);
}

/*
 * Puts the annotations back into the JSON of the second topic and of the
 * redacted message, as persist() stored them before, and takes the
 * migration back.  0 or -1.
 */
static int
unmigrate(struct mroom_ctx *ctx, const struct ids *v)
{
	struct mevrow	 row;
	json_t		*old;
	char		 sql[128];
	int		 rc = -1;

	if (mdb_begin(ctx->db) == -1)
		return -1;
	if (mstore_event_get(ctx->db, v->topic2, &row) != 1)
		goto out;
	old = json_deep_copy(row.json);
	json_object_set_new(old, "unsigned", json_pack("{s:s,s:{s:s},s:s}", "replaces_state",
	    v->topic1, "prev_content", "topic", "one", "prev_sender", ALICE));
	mevrow_fini(&row);
	if (mstore_event_redact(ctx->db, v->topic2, old, NULL) != 1) {
		json_decref(old);
		goto out;
	}
	json_decref(old);
	if (mstore_event_get(ctx->db, v->red, &row) != 1)
		goto out;
	old = json_deep_copy(row.json);
	mevrow_fini(&row);
	json_object_set_new(old, "event_id", json_string(v->red));
	old = json_pack("{s:o}", "redacted_because", old);
	if (mstore_event_get(ctx->db, v->msg, &row) != 1) {
		json_decref(old);
		goto out;
	}
	json_object_set_new(row.json, "unsigned", old);
	rc = mstore_event_redact(ctx->db, v->msg, row.json, v->red) == 1 ? 0 : -1;
	mevrow_fini(&row);
	if (rc == -1)
		goto out;
	rc = -1;
	snprintf(sql, sizeof(sql), "DELETE FROM schema_version WHERE version = %d", MIGRATION);
	if (ctx->db->be->exec_sql(ctx->db, "ALTER TABLE events DROP COLUMN replaces_state") == -1 ||
	    ctx->db->be->exec_sql(ctx->db, sql) == -1)
		goto out;
	rc = 0;
out:
	if (rc == 0)
		return mdb_commit(ctx->db);
	mdb_rollback(ctx->db);
	return -1;
}

/* Runs every check on one database.  0 or -1 (reported). */
static int
run(enum mdb_backend kind, const char *database, struct mkey *key)
{
	struct mconfig		 conf;
	struct mroom_ctx	 ctx;
	struct ids		 v;
	int			 rc = -1;

	memset(&v, 0, sizeof(v));
	memset(&ctx, 0, sizeof(ctx));
	memset(&conf, 0, sizeof(conf));
	conf.db_backend = kind;
	conf.database = (char *)database;
	if ((ctx.db = mdb_open(&conf, NULL)) == NULL || mdb_migrate(ctx.db) == -1) {
		FAIL("open");
		goto out;
	}
	ctx.server_name = "test";
	ctx.key = key;
	if (make_room(&ctx, &v) == -1) {
		FAIL("room not made");
		goto out;
	}
	check_stored(ctx.db, &v, "new");
	check_client(&ctx, &v, "new");

	/* Rows stored with their annotations inside, then migrated. */
	if (unmigrate(&ctx, &v) == -1) {
		FAIL("migration not taken back");
		goto out;
	}
	if (mdb_migrate(ctx.db) == -1 || mdb_schema_version(ctx.db) != mdb_schema_latest()) {
		FAIL("migration %d failed", MIGRATION);
		goto out;
	}
	check_stored(ctx.db, &v, "migrated");
	check_client(&ctx, &v, "migrated");
	rc = 0;
out:
	ids_fini(&v);
	mdb_close(ctx.db);
	return rc;
}

int
main(void)
{
	char		 dir[] = "/tmp/room-annotations.XXXXXX", path[sizeof(dir) + 32];
	struct mkey	*key = spec_key(NULL);
	const char	*pg;

	mlog_init("room-annotations", MLOG_WARN);
	if (mkdtemp(dir) == NULL) {
		perror("room-annotations: mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/myelin.db", dir);
	if (run(MDB_SQLITE, path, key) == -1)
		failed = 1;
	unlink(path);
	snprintf(path, sizeof(path), "%s/myelin.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/myelin.db-shm", dir);
	unlink(path);
	rmdir(dir);
	if ((pg = getenv("MYELIN_TEST_PG")) != NULL && *pg != '\0' &&
	    run(MDB_POSTGRES, pg, key) == -1)
		failed = 1;
	mcrypto_key_free(key);
	return failed;
}
