/* The storage API's front: parameters, cursors, transactions, migrations. */
#include <ctype.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock/clock.h"
#include "log/log.h"
#include "store/extern.h"
#include "store/migrations.h"

static const char *const stmt_sql[MSTMT__MAX] = {
#define X(id, sql) sql,
	MSTMT_ALL
#undef X
};

/* PostgreSQL's own texts, NULL where it runs the shared one. */
static const char *const stmt_pg[MSTMT__MAX] = {
#define P(id, sql) [id] = (sql),
	MSTMT_PG_ALL
#undef P
};

/* Statements PostgreSQL plans generically (MSTMT_PG_GENERIC). */
static const char stmt_generic[MSTMT__MAX] = {
#define G(id) [id] = 1,
	MSTMT_PG_GENERIC
#undef G
};

int
mstmt_generic(enum mstmt st)
{
	return stmt_generic[st];
}

const char *
mstmt_sql(enum mstmt st, enum mdb_backend kind)
{
	if (kind == MDB_POSTGRES && stmt_pg[st] != NULL)
		return stmt_pg[st];
	return stmt_sql[st];
}

const struct mconfig *
mdb_conf(const struct mdb *db)
{
	return db->conf;
}

struct mdb *
mdb_open(const struct mconfig *conf, struct mnotify *notify)
{
	struct mdb	*db;

	if ((db = calloc(1, sizeof(*db))) == NULL)
		return NULL;
	db->kind = conf->db_backend;
	db->conf = conf;
	db->notify = notify;
	db->be = conf->db_backend == MDB_POSTGRES ? &mbackend_pg : &mbackend_sqlite;
	if (db->be->open(db, conf->database) == -1) {
		free(db);
		return NULL;
	}
	return db;
}

void
mdb_close(struct mdb *db)
{
	if (db == NULL)
		return;
	db->be->close(db);
	mstore_memo_forget(db);
	free(db);
}

void
mdb_rest(struct mdb *db)
{
	if (db != NULL && db->be->rest != NULL)
		db->be->rest(db);
}

enum mdb_backend
mdb_backend(const struct mdb *db)
{
	return db->kind;
}

enum mdb_err
mdb_error(const struct mdb *db)
{
	return db->err;
}

static void
topics_reset(struct mdb *db)
{
	db->moved = 0;
	db->ntopics = 0;
	db->topics_all = 0;
}

/* The time statements take, for the metrics (lib/fcgi/metrics.c). */
static _Atomic uint64_t	 stat_us, stat_n;

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
stat_add(int64_t t0)
{
	int64_t d = now_us() - t0;

	atomic_fetch_add(&stat_us, (uint64_t)(d > 0 ? d : 0));
	atomic_fetch_add(&stat_n, 1);
}

void
mdb_stats(uint64_t *us, uint64_t *n)
{
	*us = atomic_load(&stat_us);
	*n = atomic_load(&stat_n);
}

static int
timed_exec(struct mdb *db, const char *sql)
{
	int64_t	 t0 = now_us();
	int	 rc = db->be->exec_sql(db, sql);

	stat_add(t0);
	return rc;
}

void
mstore_memo_forget(struct mdb *db)
{
	free(db->memo_room);
	db->memo_room = NULL;
}

int
mstore_memo_seqs(const struct mdb *db, const char *room_id, int64_t *state_seq,
    int64_t *rules_seq)
{
	/* A version this transaction moved (seq_moved) is not the one kept. */
	if (!db->intx || db->seq_moved || db->memo_room == NULL ||
	    strcmp(db->memo_room, room_id) != 0)
		return 0;
	*state_seq = db->memo_state_seq;
	*rules_seq = db->memo_rules_seq;
	return 1;
}

int
mdb_begin(struct mdb *db)
{
	mstore_memo_forget(db);
	if (timed_exec(db, db->be->begin_sql) == -1)
		return -1;
	db->intx = 1;
	db->seq_moved = 0;
	topics_reset(db);
	return 0;
}

/*
 * Announces every stream recorded in moved, with whom they concern
 * (everyone when a write named nobody), then forgets them.
 */
static void
announce(struct mdb *db)
{
	unsigned	 moved = db->moved;
	size_t		 n = db->topics_all ? 0 : db->ntopics;

	if (db->notify != NULL && moved != 0)
		mnotify_announce(db->notify, moved, db->topics, n);
	topics_reset(db);
}

void
mstore_moved(struct mdb *db, enum mstream s)
{
	if ((unsigned int)s >= (unsigned int)MSTREAM__MAX)
		return;
	db->moved |= 1u << s;
	/* Only these streams' writers name their topics (see mstore_topic). */
	if (s != MSTREAM_EVENTS && s != MSTREAM_RECEIPTS)
		db->topics_all = 1;
	if (!db->intx)
		announce(db);
}

void
mstore_topic(struct mdb *db, const char *id)
{
	uint64_t t;

	if (id == NULL) {
		db->topics_all = 1;
		return;
	}
	t = mnotify_topic(id);
	for (size_t i = 0; i < db->ntopics; i++)
		if (db->topics[i] == t)
			return;
	if (db->ntopics == MDB_TOPICS)
		db->topics_all = 1;
	else
		db->topics[db->ntopics++] = t;
}

/*
 * A waiter woken by the bump reads on its own connection: the bump
 * comes after the commit, never before, so it finds what was written.
 */
int
mdb_commit(struct mdb *db)
{
	db->intx = 0;
	mstore_memo_forget(db);
	if (timed_exec(db, "COMMIT") == -1) {
		db->be->exec_sql(db, "ROLLBACK");
		topics_reset(db);
		return -1;
	}
	announce(db);
	return 0;
}

int
mdb_in_txn(const struct mdb *db)
{
	return db->intx;
}

void
mdb_rollback(struct mdb *db)
{
	if (db->intx)
		db->be->exec_sql(db, "ROLLBACK");
	db->intx = 0;
	mstore_memo_forget(db);
	topics_reset(db);
}

/* The highest $N placeholder of a statement: how many parameters it takes. */
static int
placeholders(const char *sql)
{
	int max = 0;

	for (const char *p = sql; (p = strchr(p, '$')) != NULL; p++)
		if (p[1] >= '1' && p[1] <= '9') {
			int n = (int)strtol(p + 1, NULL, 10);

			if (n > max)
				max = n;
		}
	return max;
}

#define MDB_MAXPARAMS	24

/*
 * The parameters fmt describes, from ap, into params (MDB_MAXPARAMS):
 * their number, or -1 (logged, db->err set) when fmt disagrees with the
 * statement, which would read the wrong types from the va_list.
 */
static int
vparams(struct mdb *db, enum mstmt st, const char *fmt, va_list ap, struct mparam *params)
{
	int n = 0;

	if ((int)strlen(fmt) != placeholders(mstmt_sql(st, db->kind))) {
		mlog_err(NULL, "%s: statement %d takes %d parameters, given %d", __func__,
		    (int)st, placeholders(mstmt_sql(st, db->kind)), (int)strlen(fmt));
		db->err = MDB_ERR_OTHER;
		return -1;
	}
	for (const char *f = fmt; *f != '\0'; f++) {
		if (n == MDB_MAXPARAMS) {
			mlog_err(NULL, "%s: too many parameters", __func__);
			return -1;
		}
		memset(&params[n], 0, sizeof(params[n]));
		switch (*f) {
		case 's':
			params[n].s = va_arg(ap, const char *);
			params[n].null = params[n].s == NULL;
			break;
		case 'i':
			params[n].i = va_arg(ap, int64_t);
			break;
		default:
			mlog_err(NULL, "%s: bad format %c", __func__, *f);
			return -1;
		}
		n++;
	}
	return n;
}

/* Runs st with params[0..n): a cursor, or NULL (db->err set). */
static struct mcur *
runp(struct mdb *db, enum mstmt st, const struct mparam *params, int n)
{
	struct mcur	*c;
	int64_t		 t0;
	int		 rc;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->db = db;
	db->err = MDB_OK;
	t0 = now_us();
	rc = db->be->run(db, c, st, mstmt_sql(st, db->kind), params, n);
	stat_add(t0);
	if (rc == -1) {
		if (db->err == MDB_OK)
			db->err = MDB_ERR_OTHER;
		free(c);
		return NULL;
	}
	return c;
}

static struct mcur *
vrun(struct mdb *db, enum mstmt st, const char *fmt, va_list ap)
{
	struct mparam	 params[MDB_MAXPARAMS];
	int		 n;

	if ((n = vparams(db, st, fmt, ap, params)) == -1)
		return NULL;
	return runp(db, st, params, n);
}

int
mdb_exec_ahead(struct mdb *db, enum mstmt st, const char *fmt, ...)
{
	struct mparam	 params[MDB_MAXPARAMS];
	struct mcur	*c;
	va_list		 ap;
	int		 n;

	va_start(ap, fmt);
	n = vparams(db, st, fmt, ap, params);
	va_end(ap);
	if (n == -1)
		return -1;
	if (db->intx && db->be->exec_ahead != NULL && db->be->exec_ahead(db, st, params, n) == 0) {
		stat_add(now_us());
		return 0;
	}
	if ((c = runp(db, st, params, n)) == NULL)
		return -1;
	mcur_free(c);
	return 0;
}

void
mdb_prefetch(struct mdb *db, enum mstmt st, const char *fmt, ...)
{
	struct mparam	 params[MDB_MAXPARAMS];
	va_list		 ap;
	int		 n;

	if (db->be->prefetch == NULL)
		return;
	va_start(ap, fmt);
	n = vparams(db, st, fmt, ap, params);
	va_end(ap);
	if (n != -1)
		db->be->prefetch(db, st, params, n);
}

void
mdb_prefetch_drop(struct mdb *db)
{
	if (db != NULL && db->be->prefetch_drop != NULL)
		db->be->prefetch_drop(db);
}

struct mcur *
mdb_query(struct mdb *db, enum mstmt st, const char *fmt, ...)
{
	va_list		 ap;
	struct mcur	*c;

	va_start(ap, fmt);
	c = vrun(db, st, fmt, ap);
	va_end(ap);
	return c;
}

int64_t
mdb_exec(struct mdb *db, enum mstmt st, const char *fmt, ...)
{
	va_list		 ap;
	struct mcur	*c;
	int64_t		 n;

	va_start(ap, fmt);
	c = vrun(db, st, fmt, ap);
	va_end(ap);
	if (c == NULL)
		return -1;
	n = db->be->changes(c);
	mcur_free(c);
	return n;
}

int
mcur_next(struct mcur *c)
{
	int rc = c->db->be->next(c);

	if (rc == -1 && c->db->err == MDB_OK)
		c->db->err = MDB_ERR_OTHER;
	return rc;
}

const char *
mcur_text(struct mcur *c, int col)
{
	return c->db->be->text(c, col);
}

char *
mcur_dup(struct mcur *c, int col)
{
	const char *s = mcur_text(c, col);

	return s == NULL ? NULL : strdup(s);
}

char *
mcur_dup_packed(struct mcur *c, const int *cols, size_t n, char **const *to)
{
	size_t	 all = 1, len;
	char	*block, *p;

	for (size_t i = 0; i < n; i++)
		if (mcur_text(c, cols[i]) != NULL)
			all += strlen(mcur_text(c, cols[i])) + 1;
	if ((block = p = malloc(all)) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const char *t = mcur_text(c, cols[i]);

		*to[i] = NULL;
		if (t == NULL)
			continue;
		len = strlen(t) + 1;
		memcpy(p, t, len);
		*to[i] = p;
		p += len;
	}
	return block;
}

int64_t
mcur_int(struct mcur *c, int col)
{
	const char *s;

	if (c->db->be->integer != NULL)
		return c->db->be->integer(c, col);
	s = c->db->be->text(c, col);

	return s == NULL ? 0 : strtoll(s, NULL, 10);
}

int
mcur_null(struct mcur *c, int col)
{
	return c->db->be->null(c, col);
}

void
mcur_free(struct mcur *c)
{
	if (c == NULL)
		return;
	c->db->be->done(c);
	free(c);
}

int
mcur_first_int(struct mcur *c, int64_t *out)
{
	int rc;

	if (c == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1)
		*out = mcur_int(c, 0);
	mcur_free(c);
	return rc;
}

int
mcur_collect(struct mcur *c, size_t elemsz, int (*row)(struct mcur *, void *),
    void (*fini)(void *), void **out, size_t *outsz)
{
	char	*v = *out, *nv;
	size_t	 n = *outsz, cap = n;
	int	 rc = -1;

	while (c != NULL && (rc = mcur_next(c)) == 1) {
		/* Doubling: a realloc per row copies the list over and over (/sync reads 10,000s). */
		if (n == cap) {
			size_t ncap = cap > 0 ? cap * 2 : 16;

			if ((nv = reallocarray(v, ncap, elemsz)) == NULL) {
				rc = -1;
				break;
			}
			v = nv;
			cap = ncap;
		}
		memset(v + n * elemsz, 0, elemsz);
		/* Counted before it is checked: fini frees what row filled. */
		if (row(c, v + n++ * elemsz) == -1) {
			rc = -1;
			break;
		}
	}
	mcur_free(c);
	if (rc == -1) {
		mstore_list_free(v, n, elemsz, fini);
		v = NULL;
		n = 0;
	}
	*out = v;
	*outsz = n;
	return rc == -1 ? -1 : 0;
}

json_t *
mcur_json_fold(struct mcur *c, json_t *acc, int (*row)(struct mcur *, json_t *, void *),
    void *arg)
{
	int rc = -1;

	while (c != NULL && acc != NULL && (rc = mcur_next(c)) == 1)
		if (row(c, acc, arg) == -1) {
			rc = -1;
			break;
		}
	mcur_free(c);
	if (rc == -1) {
		json_decref(acc);
		return NULL;
	}
	return acc;
}

/* What mcur_json_array passes its row function (a function pointer is no void *). */
struct objfn {
	json_t	*(*obj)(struct mcur *);
};

static int
append_row(struct mcur *c, json_t *arr, void *arg)
{
	const struct objfn *f = arg;

	return json_array_append_new(arr, f->obj(c));
}

json_t *
mcur_json_array(struct mcur *c, json_t *(*obj)(struct mcur *))
{
	struct objfn f = { obj };

	return mcur_json_fold(c, json_array(), append_row, &f);
}

static json_t *
text0(struct mcur *c)
{
	return json_string(mcur_text(c, 0));
}

json_t *
mcur_json_strings(struct mcur *c)
{
	return mcur_json_array(c, text0);
}

void
mstore_list_free(void *v, size_t n, size_t elemsz, void (*fini)(void *))
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		fini((char *)v + i * elemsz);
	free(v);
}

int
mstore_changed(int64_t n)
{
	return n < 0 ? -1 : n > 0;
}

char *
mstore_like_pattern(const char *prefix, const char *s, const char *suffix, int lower)
{
	size_t	 psz = strlen(prefix), ssz = strlen(suffix);
	char	*out, *o;

	if ((out = malloc(psz + 2 * strlen(s) + ssz + 1)) == NULL)
		return NULL;
	memcpy(out, prefix, psz);
	o = out + psz;
	for (; *s != '\0'; s++) {
		if (*s == '%' || *s == '_' || *s == '\\')
			*o++ = '\\';
		*o++ = lower ? (char)tolower((unsigned char)*s) : *s;
	}
	memcpy(o, suffix, ssz + 1);
	return out;
}

int
mdb_schema_latest(void)
{
	return mmigrations[mmigrationsz - 1].version;
}

int
mdb_schema_version(struct mdb *db)
{
	int64_t v;

	return mcur_first_int(mdb_query(db, MSTMT_SCHEMA_VERSION, ""), &v) == 1 ? (int)v : -1;
}

/* Replaces SERIAL_PK with the engine's auto-increment key. */
static char *
ddl(const char *sql, enum mdb_backend kind)
{
	const char	*pat = "SERIAL_PK";
	const char	*rep = kind == MDB_POSTGRES ? "BIGSERIAL PRIMARY KEY" :
			    "INTEGER PRIMARY KEY AUTOINCREMENT";
	size_t		 n = 0, patsz = strlen(pat), repsz = strlen(rep);
	char		*out, *o;

	for (const char *p = sql; (p = strstr(p, pat)) != NULL; p += patsz)
		n++;
	if ((out = malloc(strlen(sql) + n * repsz + 1)) == NULL)
		return NULL;
	for (o = out; *sql != '\0';) {
		if (strncmp(sql, pat, patsz) == 0) {
			memcpy(o, rep, repsz);
			o += repsz;
			sql += patsz;
		} else
			*o++ = *sql++;
	}
	*o = '\0';
	return out;
}

int
mdb_migrate(struct mdb *db)
{
	int	 v;
	char	*sql;

	if (db->be->exec_sql(db, "CREATE TABLE IF NOT EXISTS schema_version"
	    " (version BIGINT PRIMARY KEY, applied_ts BIGINT NOT NULL)") == -1)
		return -1;
	if (mdb_begin(db) == -1)
		return -1;
	/* Several processes may start at once: the first one migrates. */
	if (db->kind == MDB_POSTGRES &&
	    db->be->exec_sql(db, "SELECT pg_advisory_xact_lock(7318008)") == -1)
		goto fail;
	/*
	 * Each migration is applied unless recorded, rather than "everything
	 * above the highest": a migration merged with a lower number than one
	 * a database already has is still applied.
	 */
	for (size_t i = 0; i < mmigrationsz; i++) {
		const struct mmigration	*m = &mmigrations[i];
		struct mcur		*c;

		if ((c = mdb_query(db, MSTMT_SCHEMA_APPLIED, "i", (int64_t)m->version)) == NULL)
			goto fail;
		v = mcur_next(c) == 1 ? (int)mcur_int(c, 0) : -1;
		mcur_free(c);
		if (v == -1)
			goto fail;
		if (v > 0)
			continue;
		sql = ddl(db->kind == MDB_POSTGRES && m->pg != NULL ? m->pg : m->sql, db->kind);
		if (sql == NULL || db->be->exec_sql(db, sql) == -1) {
			free(sql);
			mlog_err(NULL, "migration %d (%s) failed", m->version, m->name);
			goto fail;
		}
		free(sql);
		if (mdb_exec(db, MSTMT_SCHEMA_ADD, "ii", (int64_t)m->version,
		    mclock_now_ms()) == -1)
			goto fail;
		mlog_info(NULL, "applied migration %d (%s)", m->version, m->name);
	}
	return mdb_commit(db);
fail:
	mdb_rollback(db);
	return -1;
}
