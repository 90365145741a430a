/* The SQLite backend: WAL, prepared statements cached per connection. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log/log.h"
#include "store/extern.h"

struct sq {
	sqlite3		*h;
	int		 roomy;		/* cache_size raised: it rests (sq_rest) */
	sqlite3_stmt	*stmts[MSTMT__MAX];
};

/* The page cache's bound within a request (kB, text for the pragma). */
#define SQ_CACHE_MAX_KB	"65536"
/* What a connection may keep of it between requests: SQLite's default. */
#define SQ_CACHE_KEEP	(2 * 1024 * 1024)

struct sqcur {
	sqlite3_stmt	*st;
	int		 rc;		/* last sqlite3_step result */
	int		 stepped;	/* the first step already ran */
	int64_t		 changes;
};

static void
seterr(struct mdb *db, int rc)
{
	db->err = (rc & 0xff) == SQLITE_CONSTRAINT ? MDB_ERR_CONSTRAINT : MDB_ERR_OTHER;
}

static int
sq_exec_sql(struct mdb *db, const char *sql)
{
	struct sq	*s = db->impl;
	char		*msg = NULL;
	int		 rc;

	if ((rc = sqlite3_exec(s->h, sql, NULL, NULL, &msg)) != SQLITE_OK) {
		mlog_err(NULL, "sqlite: %s", msg != NULL ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		seterr(db, rc);
		return -1;
	}
	return 0;
}

static int
sq_open(struct mdb *db, const char *path)
{
	struct sq	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -1;
	if (sqlite3_open_v2(path, &s->h, SQLITE_OPEN_READWRITE |
	    (db->foreign ? 0 : SQLITE_OPEN_CREATE) |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		mlog_err(NULL, "sqlite: %s: %s", path, s->h ? sqlite3_errmsg(s->h) : "open failed");
		sqlite3_close(s->h);
		free(s);
		return -1;
	}
	db->impl = s;
	sqlite3_busy_timeout(s->h, 10000);
	/*
	 * Another's file (Synapse's) keeps its journal mode: WAL would stay
	 * set on it.  Synapse itself turns foreign keys on, as we do.
	 */
	if (db->foreign)
		return 0;
	/*
	 * temp_store=MEMORY: a sort larger than the page cache (2 MB) spills
	 * to a temporary file, written and read back with a system call a
	 * page; an initial /sync's state groups (MSTMT_SYNC_SGROUPS_EVENTS,
	 * events and all) made some 1,200 pwrite and as many pread calls a
	 * sync at 1,000 rooms.  In memory the spill is the same bytes without
	 * the calls, freed when the statement ends.
	 * The page cache keeps SQLite's default size (2 MB) unless the
	 * connection rests between requests (see sq_rest).
	 */
	if (sq_exec_sql(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
	    " PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;") == -1) {
		sqlite3_close(s->h);
		free(s);
		db->impl = NULL;
		return -1;
	}
	return 0;
}

static void
sq_close(struct mdb *db)
{
	struct sq *s = db->impl;

	if (s == NULL)
		return;
	for (int i = 0; i < MSTMT__MAX; i++)
		sqlite3_finalize(s->stmts[i]);
	sqlite3_close(s->h);
	free(s);
}

/* Turns "$1" placeholders into SQLite's "?1". */
static char *
placeholders(const char *sql)
{
	char *out = strdup(sql);

	if (out == NULL)
		return NULL;
	for (char *p = out; *p != '\0'; p++)
		if (p[0] == '$' && p[1] >= '0' && p[1] <= '9')
			p[0] = '?';
	return out;
}

static int
sq_run(struct mdb *db, struct mcur *c, enum mstmt st, const char *sql,
    const struct mparam *params, int n)
{
	struct sq	*s = db->impl;
	struct sqcur	*sc;
	sqlite3_stmt	*stmt;
	char		*text;
	int		 rc;

	if ((stmt = s->stmts[st]) == NULL) {
		if ((text = placeholders(sql)) == NULL)
			return -1;
		rc = sqlite3_prepare_v3(s->h, text, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
		free(text);
		if (rc != SQLITE_OK) {
			mlog_err(NULL, "sqlite: prepare %d: %s", (int)st, sqlite3_errmsg(s->h));
			return -1;
		}
		s->stmts[st] = stmt;
	}
	for (int i = 0; i < n; i++) {
		if (params[i].null)
			rc = sqlite3_bind_null(stmt, i + 1);
		else if (params[i].s != NULL)
			rc = sqlite3_bind_text(stmt, i + 1, params[i].s, -1, SQLITE_STATIC);
		else
			rc = sqlite3_bind_int64(stmt, i + 1, params[i].i);
		if (rc != SQLITE_OK) {
			mlog_err(NULL, "sqlite: bind %d/%d: %s", (int)st, i + 1, sqlite3_errmsg(s->h));
			sqlite3_reset(stmt);
			sqlite3_clear_bindings(stmt);
			return -1;
		}
	}
	if ((sc = calloc(1, sizeof(*sc))) == NULL) {
		sqlite3_reset(stmt);
		sqlite3_clear_bindings(stmt);
		return -1;
	}
	sc->st = stmt;
	/*
	 * Step once now so that writes happen (and fail) here, and so the
	 * caller of mdb_exec learns the changes count without iterating.
	 */
	sc->rc = sqlite3_step(stmt);
	sc->stepped = 1;
	if (sc->rc != SQLITE_ROW && sc->rc != SQLITE_DONE) {
		rc = sc->rc;
		if ((rc & 0xff) != SQLITE_CONSTRAINT)
			mlog_err(NULL, "sqlite: step %d: %s", (int)st, sqlite3_errmsg(s->h));
		seterr(db, rc);
		sqlite3_reset(stmt);
		sqlite3_clear_bindings(stmt);
		free(sc);
		return -1;
	}
	sc->changes = sqlite3_changes64(s->h);
	c->impl = sc;
	return 0;
}

static int
sq_next(struct mcur *c)
{
	struct sqcur *sc = c->impl;

	if (sc->stepped)
		sc->stepped = 0;
	else if (sc->rc == SQLITE_ROW)
		sc->rc = sqlite3_step(sc->st);
	if (sc->rc == SQLITE_ROW)
		return 1;
	if (sc->rc == SQLITE_DONE)
		return 0;
	seterr(c->db, sc->rc);
	return -1;
}

static const char *
sq_text(struct mcur *c, int col)
{
	struct sqcur *sc = c->impl;

	return (const char *)sqlite3_column_text(sc->st, col);
}

/*
 * Without converting the value to text first, as sqlite3_column_text
 * does with an integer (in a buffer it allocates).
 */
static int64_t
sq_int(struct mcur *c, int col)
{
	struct sqcur *sc = c->impl;

	return sqlite3_column_int64(sc->st, col);
}

static int
sq_null(struct mcur *c, int col)
{
	struct sqcur *sc = c->impl;

	return sqlite3_column_type(sc->st, col) == SQLITE_NULL;
}

/*
 * SQLite counts changes when a statement finishes, so a statement with
 * RETURNING still holding rows is run to its end first.
 */
static int64_t
sq_changes(struct mcur *c)
{
	struct sqcur	*sc = c->impl;
	struct sq	*s = c->db->impl;

	if (sc->rc != SQLITE_ROW)
		return sc->changes;
	while ((sc->rc = sqlite3_step(sc->st)) == SQLITE_ROW)
		;
	sc->stepped = 0;
	return sc->rc == SQLITE_DONE ? sqlite3_changes64(s->h) : -1;
}

static void
sq_done(struct mcur *c)
{
	struct sqcur *sc = c->impl;

	if (sc == NULL)
		return;
	/* Finish a statement that still has rows, e.g. DELETE ... RETURNING. */
	sqlite3_reset(sc->st);
	sqlite3_clear_bindings(sc->st);
	free(sc);
}

/*
 * Between requests.  SQLite's default page cache (2 MB) is smaller than
 * what one large read touches, so such a read evicted and read again
 * the same pages: an initial /sync at 1,000 rooms made 25,000 pread
 * calls for the 3,400 pages it needs.  A connection that rests may grow
 * its cache to SQ_CACHE_MAX_KB within a request, and gives what is past
 * SQ_CACHE_KEEP back to the heap after it (which its worker gives back
 * to the system once it rests), so at rest it holds no more than with
 * the default.  The pages would not often serve the next request
 * anyway: a read transaction that finds the database changed since the
 * last one drops the cache.  Connections that never rest keep 2 MB.
 */
static void
sq_rest(struct mdb *db)
{
	struct sq	*s = db->impl;
	int		 cur = 0, hi = 0;

	if (s == NULL || db->intx)
		return;
	if (!s->roomy && sq_exec_sql(db, "PRAGMA cache_size=-" SQ_CACHE_MAX_KB ";") == 0)
		s->roomy = 1;
	if (sqlite3_db_status(s->h, SQLITE_DBSTATUS_CACHE_USED, &cur, &hi, 0) == SQLITE_OK &&
	    cur > SQ_CACHE_KEEP)
		sqlite3_db_release_memory(s->h);
}

const struct mbackend mbackend_sqlite = {
	sq_open, sq_close, sq_exec_sql, sq_run, sq_next, sq_text, sq_null,
	sq_changes, sq_done, sq_rest, sq_int, "BEGIN IMMEDIATE", NULL, NULL, NULL,
};
