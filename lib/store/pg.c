/* The PostgreSQL backend: libpq, statements prepared once per connection. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log/log.h"
#include "store/extern.h"

/* More parameters than any statement in stmts.h binds. */
#define PG_MAXPARAMS	32
/* Statements a connection may have sent ahead at once (mdb_prefetch). */
#define PG_AHEAD	12

struct pg {
	PGconn		*conn;
	char		 prepared[MSTMT__MAX];	/* "s<index>" exists on conn */
	int		 intx;	/* the server had a transaction open at last look */
	int		 generic;	/* plan_cache_mode: 1 generic, 0 auto, -1 unknown */
	/*
	 * mdb_begin's BEGIN, not sent yet: it goes with the transaction's
	 * first command, in the same round trip (see pg_run).
	 */
	int		 begin;
	/*
	 * Statements sent ahead of their readers (mdb_prefetch), in the
	 * order sent, and then their answers; piping while the pipeline
	 * they went in is open (see settle).
	 */
	struct pgahead {
		enum mstmt	 st;
		int		 n;
		char		*values[PG_MAXPARAMS];	/* copies; NULL: SQL NULL */
		PGresult	*res;			/* NULL: not read yet */
		int		 write;			/* mdb_exec_ahead's: no answer kept */
		int		 mine;			/* the command that ends the pipeline */
	}		 ahead[PG_AHEAD];
	int		 nahead;
	int		 piping;
};

static void	ahead_clear(struct pg *);
static void	ahead_free(struct pg *, int);

/*
 * Copies the first line of a libpq message into buf, so that a log line
 * does not end with the newline libpq appends.
 */
static const char *
oneline(const char *msg, char *buf, size_t bufsz)
{
	if (msg == NULL || *msg == '\0')
		msg = "unknown error";
	snprintf(buf, bufsz, "%s", msg);
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

/*
 * Records how the last command left the connection.  A lost connection
 * reports PQTRANS_UNKNOWN: keep what we knew, so pg_ready can tell a
 * connection lost while idle from one lost inside a transaction.
 */
static void
track(struct pg *p)
{
	switch (PQtransactionStatus(p->conn)) {
	case PQTRANS_IDLE:
		p->intx = 0;
		break;
	case PQTRANS_INTRANS:
	case PQTRANS_INERROR:
		p->intx = 1;
		break;
	default:
		break;
	}
}

/*
 * Sets db->err from a failed result (res may be NULL when libpq could not
 * even build one).  Integrity violations (SQLSTATE class 23, e.g. 23505
 * unique_violation) are MDB_ERR_CONSTRAINT and are only logged at debug
 * level: callers expect conflicts and turn them into MSTORE_CONFLICT.
 * Anything else is MDB_ERR_OTHER and logged with what, naming the step.
 */
static void
seterr(struct mdb *db, const PGresult *res, const char *what, int st)
{
	struct pg	*p = db->impl;
	const char	*state = NULL, *msg;
	char		 buf[512];

	if (res != NULL) {
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		if (msg == NULL)
			msg = PQresultErrorMessage(res);
	} else
		msg = PQerrorMessage(p->conn);
	oneline(msg, buf, sizeof(buf));
	if (state != NULL && strncmp(state, "23", 2) == 0) {
		db->err = MDB_ERR_CONSTRAINT;
		mlog_debug(NULL, "pg: %s %d: %s (%s)", what, st, buf, state);
		return;
	}
	db->err = MDB_ERR_OTHER;
	mlog_err(NULL, "pg: %s %d: %s%s%s%s", what, st, buf,
	    state != NULL ? " (" : "", state != NULL ? state : "",
	    state != NULL ? ")" : "");
}

/*
 * Server messages below ERROR arrive here instead of libpq's default,
 * which prints them to stderr.  The session asks for WARNING and above
 * only, so chatter like "relation already exists, skipping" is not even
 * sent; what still comes is logged.
 */
static void
notice(void *arg, const PGresult *res)
{
	const char	*sev;
	char		 buf[512];

	(void)arg;
	sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	oneline(PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY), buf, sizeof(buf));
	if (sev != NULL && strcmp(sev, "WARNING") == 0)
		mlog_warn(NULL, "pg: %s", buf);
	else
		mlog_debug(NULL, "pg: %s: %s", sev != NULL ? sev : "NOTICE", buf);
}

/* Per-session settings, run on every new or reset connection.  0 or -1. */
static int
session(struct mdb *db)
{
	struct pg	*p = db->impl;
	PGresult	*res;
	int		 rc = 0;

	/*
	 * No JIT: it compiles a statement whose estimated cost passes
	 * jit_above_cost, and the estimates of statements over JSON arrays
	 * and recursive CTEs (the state groups an initial /sync reads) pass
	 * it while the statement runs in milliseconds: compiling took 30 ms
	 * a call, half of the statement's time.
	 */
	res = PQexec(p->conn, "SET client_min_messages = warning; SET jit = off");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		seterr(db, res, "session", -1);
		rc = -1;
	}
	PQclear(res);
	return rc;
}

/*
 * Makes sure the connection is usable before a command.  A connection
 * lost while idle (the server restarted, or an administrator ended the
 * backend) is reset, and the statements prepared on it are forgotten.
 * The command that found it lost has already failed; it runs again only
 * when it cannot have changed anything (retry_lost), since a write may
 * have run before the connection dropped.  A connection
 * lost inside a transaction is not reset: the server has rolled the
 * transaction back, and running the caller's next statements outside it
 * would break its atomicity.  They fail until the caller rolls back.
 */
static int
ready(struct mdb *db)
{
	struct pg	*p = db->impl;
	char		 buf[512];

	if (PQstatus(p->conn) == CONNECTION_OK)
		return 0;
	if (p->intx) {
		mlog_err(NULL, "pg: connection lost in a transaction");
		db->err = MDB_ERR_OTHER;
		return -1;
	}
	PQreset(p->conn);
	if (PQstatus(p->conn) != CONNECTION_OK) {
		mlog_err(NULL, "pg: reconnect: %s",
		    oneline(PQerrorMessage(p->conn), buf, sizeof(buf)));
		db->err = MDB_ERR_OTHER;
		return -1;
	}
	memset(p->prepared, 0, sizeof(p->prepared));
	p->generic = -1;
	ahead_clear(p);
	mlog_warn(NULL, "pg: reconnected to database %s", PQdb(p->conn));
	return session(db);
}

/*
 * 1 when a command that just failed may run again on a new connection:
 * the connection was lost outside a transaction (an administrator ended
 * the backend, the server restarted) and the command could not have
 * changed anything, since it prepares, begins a transaction or only
 * reads.  ready() then reconnects.  Once only (tries).
 */
static int
retry_lost(struct pg *p, const char *sql, int prepare, int tries)
{
	if (tries > 0 || p->intx || PQstatus(p->conn) != CONNECTION_BAD)
		return 0;
	if (!prepare && strcmp(sql, "BEGIN") != 0 && strncmp(sql, "SELECT ", 7) != 0)
		return 0;
	mlog_warn(NULL, "pg: connection lost; reconnecting to run the command again");
	return 1;
}

/* Forgets every entry sent ahead, and its answer. */
static void
ahead_clear(struct pg *p)
{
	while (p->nahead > 0)
		ahead_free(p, p->nahead - 1);
}

/*
 * Forgets ahead[i], its parameters and its answer.  The others keep
 * their order, the order their answers come in (see ahead_wait).
 */
static void
ahead_free(struct pg *p, int i)
{
	struct pgahead *a = &p->ahead[i];

	for (int k = 0; k < a->n; k++)
		free(a->values[k]);
	PQclear(a->res);
	memmove(&p->ahead[i], &p->ahead[i + 1], (size_t)(p->nahead - i - 1) * sizeof(*a));
	p->nahead--;
}

/*
 * Ends the pipeline of the statements sent ahead: a sync, then every
 * answer read into its entry.  Entries without an answer that can be
 * taken (a failure, one aborted after it, a lost connection) are
 * forgotten: their readers ask again, and meet the failure themselves.
 * The connection is out of pipeline mode after it, or lost.
 */
static void
settle(struct pg *p)
{
	PGresult	*r;
	int		 i = 0, nulls = 0;

	if (!p->piping)
		return;
	p->piping = 0;
	if (PQpipelineSync(p->conn) == 1) {
		/* Each answer and then NULL; at the end the sync's. */
		for (;;) {
			if ((r = PQgetResult(p->conn)) == NULL) {
				if (++nulls > p->nahead || PQstatus(p->conn) != CONNECTION_OK)
					break;
				continue;
			}
			if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
				PQclear(r);
				break;
			}
			/* Answers read before, kept for their readers, have theirs. */
			while (i < p->nahead && p->ahead[i].res != NULL)
				i++;
			if (i < p->nahead)
				p->ahead[i++].res = r;
			else
				PQclear(r);
		}
	}
	/* Left unread (a failure on the way): read away until it ends. */
	for (int tries = 0; PQexitPipelineMode(p->conn) != 1 && tries < 2 * PG_AHEAD + 2;
	    tries++)
		while ((r = PQgetResult(p->conn)) != NULL)
			PQclear(r);
	for (i = p->nahead - 1; i >= 0; i--) {
		ExecStatusType rs = PQresultStatus(p->ahead[i].res);

		/* A plan mode sent ahead (ahead_send) may not have been set. */
		if (rs != PGRES_COMMAND_OK && rs != PGRES_TUPLES_OK)
			p->generic = -1;

		/* A write's failure aborted the transaction: what comes next fails. */
		if (p->ahead[i].write && rs != PGRES_COMMAND_OK && rs != PGRES_TUPLES_OK &&
		    rs != PGRES_PIPELINE_ABORTED) {
			char buf[512];

			mlog_err(NULL, "pg: statement %d sent ahead: %s", (int)p->ahead[i].st,
			    oneline(PQresultErrorMessage(p->ahead[i].res), buf, sizeof(buf)));
		}
		if (!p->ahead[i].mine && (p->ahead[i].write || rs != PGRES_TUPLES_OK))
			ahead_free(p, i);
	}
}

/*
 * Ends the pipeline with one more command of the caller's, in the same
 * round trip: prepared statement st with values[0..n), or with sql a
 * command without parameters.  Its result, whatever its status, for
 * the caller to clear; NULL when it could not go (the pipeline is
 * settled then, and the caller runs it as usual).
 */
static PGresult *
settle_with(struct pg *p, enum mstmt st, const char *sql, const char *const *values, int n)
{
	struct pgahead	*a;
	PGresult	*r = NULL;
	char		 name[16];
	int		 sent;

	if (p->nahead == PG_AHEAD) {
		settle(p);
		return NULL;
	}
	snprintf(name, sizeof(name), "s%d", (int)st);
	sent = sql != NULL ? PQsendQueryParams(p->conn, sql, 0, NULL, NULL, NULL, NULL, 0) :
	    PQsendQueryPrepared(p->conn, name, n, values, NULL, NULL, 0);
	if (sent != 1) {
		settle(p);
		return NULL;
	}
	a = &p->ahead[p->nahead++];
	memset(a, 0, sizeof(*a));
	a->st = st;
	a->mine = 1;
	settle(p);
	for (int i = 0; i < p->nahead; i++)
		if (p->ahead[i].mine) {
			r = p->ahead[i].res;
			p->ahead[i].res = NULL;
			ahead_free(p, i);
			break;
		}
	/* Lost before its answer came: a result that says so. */
	return r != NULL ? r : PQmakeEmptyPGresult(p->conn, PGRES_FATAL_ERROR);
}

static void
pg_prefetch_drop(struct mdb *db)
{
	struct pg *p = db->impl;

	if (p == NULL)
		return;
	settle(p);
	ahead_clear(p);
}

/* The entry sent ahead for st with values[0..n), or -1. */
static int
ahead_find(const struct pg *p, enum mstmt st, const char *const *values, int n)
{
	for (int i = 0; i < p->nahead; i++) {
		const struct pgahead	*a = &p->ahead[i];
		int			 k;

		if (a->write || a->mine || a->st != st || a->n != n)
			continue;
		for (k = 0; k < n; k++)
			if ((a->values[k] == NULL) != (values[k] == NULL) ||
			    (values[k] != NULL && strcmp(a->values[k], values[k]) != 0))
				break;
		if (k == n)
			return i;
	}
	return -1;
}

/* The answer sent ahead for st with values[0..n), taken from the entries; or NULL. */
static PGresult *
ahead_take(struct pg *p, enum mstmt st, const char *const *values, int n)
{
	PGresult	*r;
	int		 i;

	if ((i = ahead_find(p, st, values, n)) == -1)
		return NULL;
	r = p->ahead[i].res;
	p->ahead[i].res = NULL;
	ahead_free(p, i);
	return r;
}

/*
 * The answer sent ahead for st with values[0..n), read while the
 * pipeline stays open: the answers before it, in the order sent, and
 * then its own, leaving those after it to come while the caller works
 * on this one (an initial sync's timelines are read while its members,
 * names and presence are still being found).  NULL when there is no
 * such entry or an answer on the way is not a result set (a failure,
 * a lost connection): the caller then settles, and asks again.
 */
static PGresult *
ahead_wait(struct pg *p, enum mstmt st, const char *const *values, int n)
{
	PGresult	*r;
	int		 k;

	if ((k = ahead_find(p, st, values, n)) == -1)
		return NULL;
	for (int i = 0; i <= k; i++) {
		if (p->ahead[i].res != NULL)
			continue;
		/* Each answer, then NULL: the end of its command's results. */
		if ((r = PQgetResult(p->conn)) == NULL)
			return NULL;
		p->ahead[i].res = r;
		if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK)
			return NULL;
		if ((r = PQgetResult(p->conn)) != NULL) {
			/*
			 * Not one result a command, which no statement here
			 * gives: no answer can be told from the next, so none
			 * is kept, and every reader asks again.
			 */
			PQclear(r);
			settle(p);
			ahead_clear(p);
			p->generic = -1;
			return NULL;
		}
	}
	if (PQresultStatus(p->ahead[k].res) != PGRES_TUPLES_OK)
		return NULL;
	return ahead_take(p, st, values, n);
}

/*
 * Runs sql, which may hold several statements separated by ';' (the
 * migrations do); they stop at the first failure.  0 or -1 (db->err set).
 */
static int
pg_exec_sql(struct mdb *db, const char *sql)
{
	struct pg	*p = db->impl;
	PGresult	*res;
	ExecStatusType	 rs;
	int		 rc = -1;

	/* A COMMIT after writes sent ahead goes in their round trip. */
	if (p->piping && p->intx && strcmp(sql, "COMMIT") == 0 &&
	    (res = settle_with(p, MSTMT__MAX, sql, NULL, 0)) != NULL) {
		/* What the transaction sent ahead and did not take is not for after it. */
		ahead_clear(p);
		rs = PQresultStatus(res);
		if (rs != PGRES_COMMAND_OK) {
			seterr(db, res, "exec", -1);
			goto out;
		}
		goto committed;
	}
	/* Nothing read outside a transaction is taken inside one. */
	pg_prefetch_drop(db);
	if (PQstatus(p->conn) != CONNECTION_OK && p->intx &&
	    strcmp(sql, "ROLLBACK") == 0) {
		/* The server rolled back when the connection went. */
		p->intx = 0;
		return 0;
	}
	/*
	 * BEGIN waits for the transaction's first command; a transaction
	 * that ran none ends without a word to the server.
	 */
	if (strcmp(sql, "BEGIN") == 0) {
		p->begin = 1;
		return 0;
	}
	if (p->begin && (strcmp(sql, "COMMIT") == 0 || strcmp(sql, "ROLLBACK") == 0)) {
		p->begin = 0;
		return 0;
	}
	/*
	 * A SET inside a transaction is undone with it: after a rollback
	 * (or a failure, which the caller rolls back) the plan mode is
	 * whatever it was, so it is set again before the next statement.
	 */
	if (strcmp(sql, "ROLLBACK") == 0)
		p->generic = -1;
	for (int tries = 0;; tries++) {
		if (ready(db) == -1)
			return -1;
		if (p->begin) {
			/* Several commands in one string run in one round trip. */
			char *both;

			if (asprintf(&both, "BEGIN; %s", sql) == -1) {
				db->err = MDB_ERR_OTHER;
				return -1;
			}
			res = PQexec(p->conn, both);
			free(both);
		} else
			res = PQexec(p->conn, sql);
		rs = PQresultStatus(res);
		if (rs == PGRES_COMMAND_OK || rs == PGRES_TUPLES_OK) {
			p->begin = 0;
			break;
		}
		if (retry_lost(p, sql, 0, tries)) {
			PQclear(res);
			continue;
		}
		seterr(db, res, "exec", -1);
		/* A BEGIN that went with it opened the transaction: ROLLBACK goes. */
		p->begin = 0;
		goto out;
	}
committed:
	/*
	 * COMMIT of a transaction in which a statement failed succeeds with
	 * the tag ROLLBACK.  Nothing was written: tell mdb_commit so.
	 */
	if (strcmp(sql, "COMMIT") == 0 && strcmp(PQcmdStatus(res), "ROLLBACK") == 0) {
		mlog_err(NULL, "pg: commit of a failed transaction rolled back");
		db->err = MDB_ERR_OTHER;
		goto out;
	}
	rc = 0;
out:
	if (rc == -1)
		p->generic = -1;
	track(p);
	PQclear(res);
	return rc;
}

/*
 * Connects with conninfo, a libpq connection string or URI.  It may hold
 * a password, so it is never logged; failures name the database, host
 * and port libpq parsed from it.
 */
static int
pg_open(struct mdb *db, const char *conninfo)
{
	struct pg	*p;
	char		 buf[512];

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		mlog_err(NULL, "%s: calloc failed", __func__);
		return -1;
	}
	if ((p->conn = PQconnectdb(conninfo)) == NULL) {
		mlog_err(NULL, "%s: PQconnectdb: out of memory", __func__);
		free(p);
		return -1;
	}
	if (PQstatus(p->conn) != CONNECTION_OK) {
		mlog_err(NULL, "pg: connect to database %s on %s port %s: %s",
		    PQdb(p->conn) != NULL ? PQdb(p->conn) : "?",
		    PQhost(p->conn) != NULL ? PQhost(p->conn) : "?",
		    PQport(p->conn) != NULL ? PQport(p->conn) : "?",
		    oneline(PQerrorMessage(p->conn), buf, sizeof(buf)));
		PQfinish(p->conn);
		free(p);
		return -1;
	}
	PQsetNoticeReceiver(p->conn, notice, NULL);
	p->generic = -1;
	db->impl = p;
	if (session(db) == -1) {
		PQfinish(p->conn);
		free(p);
		db->impl = NULL;
		return -1;
	}
	return 0;
}

static void
pg_close(struct mdb *db)
{
	struct pg *p = db->impl;

	if (p == NULL)
		return;
	pg_prefetch_drop(db);
	/* Prepared statements and open transactions end with the session. */
	PQfinish(p->conn);
	free(p);
	db->impl = NULL;
}

/*
 * Sends the commands pre[0..npre) (no parameters, no rows) and then
 * prepared statement name with values[0..n) in one pipeline, one round
 * trip, and reads every result.  Returns the first failure's result or
 * else the statement's, for the caller to clear; NULL when libpq could
 * not send or read them (the connection's error says why).
 */
static PGresult *
pipelined(PGconn *conn, const char *const *pre, int npre, const char *name, int n,
    const char *const *values)
{
	PGresult	*keep = NULL, *r;
	int		 sent = 0, nulls = 0;

	if (PQenterPipelineMode(conn) != 1)
		return NULL;
	while (sent < npre && PQsendQueryParams(conn, pre[sent], 0, NULL, NULL, NULL,
	    NULL, 0) == 1)
		sent++;
	if (sent == npre && PQsendQueryPrepared(conn, name, n, values, NULL, NULL, 0) == 1)
		sent++;
	if (sent == npre + 1 && PQpipelineSync(conn) == 1) {
		/*
		 * Each command's result and then NULL, and at the end the
		 * sync's.  A lost connection ends it early.
		 */
		for (;;) {
			if ((r = PQgetResult(conn)) == NULL) {
				if (++nulls > sent || PQstatus(conn) != CONNECTION_OK)
					break;
				continue;
			}
			if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
				PQclear(r);
				break;
			}
			/* After a failure the rest come as PGRES_PIPELINE_ABORTED. */
			if (keep == NULL || (PQresultStatus(keep) == PGRES_COMMAND_OK &&
			    PQresultStatus(r) != PGRES_PIPELINE_ABORTED)) {
				PQclear(keep);
				keep = r;
			} else
				PQclear(r);
		}
	}
	if (PQexitPipelineMode(conn) != 1 && PQstatus(conn) == CONNECTION_OK) {
		/* Results left unread: not a state to run more commands in. */
		PQclear(keep);
		while ((r = PQgetResult(conn)) != NULL)
			PQclear(r);
		return NULL;
	}
	return keep;
}

/*
 * Sends the plan mode st wants ahead, as an entry whose answer nobody
 * takes: the statements after it run in that mode (see pg_run).  0, or
 * -1 when it did not go.
 */
static int
mode_send(struct pg *p, enum mstmt st)
{
	struct pgahead *a;

	if (!p->piping && PQenterPipelineMode(p->conn) != 1)
		return -1;
	p->piping = 1;
	if (PQsendQueryParams(p->conn, mstmt_generic(st) ?
	    "SET plan_cache_mode = force_generic_plan" : "SET plan_cache_mode = auto", 0, NULL,
	    NULL, NULL, NULL, 0) != 1)
		return -1;
	a = &p->ahead[p->nahead++];
	memset(a, 0, sizeof(*a));
	a->st = st;
	a->write = 1;
	p->generic = mstmt_generic(st);
	return 0;
}

/*
 * Sends st with params[0..n) ahead, in a pipeline open until the next
 * command (see settle): only a statement prepared already, in the plan
 * mode the connection is in, with no BEGIN due, so that it travels
 * alone.  The server runs it as it arrives (a flush request).  0, or
 * -1 when it did not go (its caller then runs it, or leaves it to its
 * reader).
 */
static int
ahead_send(struct pg *p, enum mstmt st, const struct mparam *params, int n, int write)
{
	struct pgahead	*a;
	char		 name[16], num[24];
	int		 k;

	if (p->nahead == PG_AHEAD || p->begin || n > PG_MAXPARAMS || !p->prepared[st] ||
	    (write && p->generic != mstmt_generic(st)) || PQstatus(p->conn) != CONNECTION_OK)
		return -1;
	/* A read in the other plan mode goes after the SET that gives it. */
	if (p->generic != mstmt_generic(st) && (p->nahead + 1 == PG_AHEAD ||
	    mode_send(p, st) == -1))
		return -1;
	a = &p->ahead[p->nahead];
	memset(a, 0, sizeof(*a));
	a->st = st;
	a->write = write;
	for (k = 0; k < n; k++) {
		const char *v = params[k].s;

		if (!params[k].null && v == NULL) {
			snprintf(num, sizeof(num), "%lld", (long long)params[k].i);
			v = num;
		}
		if (!params[k].null && (a->values[k] = strdup(v)) == NULL)
			break;
		a->n = k + 1;
	}
	p->nahead++;
	if (k < n || (!p->piping && PQenterPipelineMode(p->conn) != 1)) {
		ahead_free(p, p->nahead - 1);
		return -1;
	}
	p->piping = 1;
	snprintf(name, sizeof(name), "s%d", (int)st);
	if (PQsendQueryPrepared(p->conn, name, n, (const char *const *)a->values, NULL, NULL,
	    0) != 1) {
		/* What went before still has its answers coming. */
		ahead_free(p, p->nahead - 1);
		return -1;
	}
	(void)PQsendFlushRequest(p->conn);
	(void)PQflush(p->conn);
	return 0;
}

/*
 * mdb_prefetch: a read, its answer kept for its reader; in a transaction
 * (its BEGIN sent), for a reader in the same one: BEGIN, COMMIT and
 * ROLLBACK forget what was not taken.
 */
static void
pg_prefetch(struct mdb *db, enum mstmt st, const struct mparam *params, int n)
{
	(void)ahead_send(db->impl, st, params, n, 0);
}

/*
 * mdb_exec_ahead: a write inside a transaction the server has open
 * (its BEGIN sent), mixed with no read sent ahead.
 */
static int
pg_exec_ahead(struct mdb *db, enum mstmt st, const struct mparam *params, int n)
{
	struct pg *p = db->impl;

	if (!p->intx)
		return -1;
	for (int i = 0; i < p->nahead; i++)
		if (!p->ahead[i].write)
			return -1;
	return ahead_send(p, st, params, n, 1);
}

/*
 * Runs statement st, preparing it as "s<st>" on first use on this
 * connection.  Parameters travel as text (integers as %lld, NULL as a
 * NULL pointer) and the server infers their types from the statement.
 * The whole result is buffered in c->impl; c->row starts before the
 * first row.  Unlike SQLite, a failed statement inside a transaction
 * aborts the transaction: the caller must roll back.
 */
static int
pg_run(struct mdb *db, struct mcur *c, enum mstmt st, const char *sql,
    const struct mparam *params, int n)
{
	struct pg	*p = db->impl;
	PGresult	*res = NULL;
	ExecStatusType	 rs;
	const char	*values[PG_MAXPARAMS], *pre[2];
	char		 ints[PG_MAXPARAMS][24];
	char		 name[16];
	int		 npre, rc = -1;

	if (n > PG_MAXPARAMS) {
		mlog_err(NULL, "pg: statement %d: %d parameters", (int)st, n);
		db->err = MDB_ERR_OTHER;
		return -1;
	}
	snprintf(name, sizeof(name), "s%d", (int)st);
	for (int i = 0; i < n; i++) {
		if (params[i].null)
			values[i] = NULL;
		else if (params[i].s != NULL)
			values[i] = params[i].s;
		else {
			snprintf(ints[i], sizeof(ints[i]), "%lld", (long long)params[i].i);
			values[i] = ints[i];
		}
	}
	/* Sent ahead and still coming: read up to it, and leave the pipeline open. */
	if (p->piping && !p->begin && (res = ahead_wait(p, st, values, n)) != NULL) {
		db->ahead_taken++;
		db->ahead_early++;
		goto answered;
	}
	if (p->piping && !p->begin && p->prepared[st] && p->generic == mstmt_generic(st) &&
	    (res = settle_with(p, st, NULL, values, n)) != NULL) {
		/* After what went ahead, in the round trip that ends it. */
		rs = PQresultStatus(res);
		if (rs == PGRES_COMMAND_OK || rs == PGRES_TUPLES_OK)
			goto answered;
		if (rs == PGRES_PIPELINE_ABORTED && !p->intx) {
			/*
			 * A read sent ahead failed, outside a transaction: this
			 * statement owes it nothing and runs on its own.
			 */
			PQclear(res);
			res = NULL;
		} else if (rs == PGRES_PIPELINE_ABORTED) {
			mlog_err(NULL, "pg: statement %d: not run, a write sent ahead failed",
			    (int)st);
			db->err = MDB_ERR_OTHER;
			p->generic = -1;
			goto out;
		} else {
			seterr(db, res, "statement", (int)st);
			p->generic = -1;
			goto out;
		}
	}
	if (p->piping || p->nahead > 0) {
		settle(p);
		if (!p->begin && (res = ahead_take(p, st, values, n)) != NULL) {
			db->ahead_taken++;
			goto answered;
		}
	}
	for (int tries = 0;; tries++) {
		if (ready(db) == -1)
			return -1;
		if (!p->prepared[st]) {
			res = PQprepare(p->conn, name, sql, 0, NULL);
			if (PQresultStatus(res) != PGRES_COMMAND_OK) {
				if (retry_lost(p, sql, 1, tries)) {
					PQclear(res);
					continue;
				}
				seterr(db, res, "prepare", (int)st);
				goto out;
			}
			PQclear(res);
			res = NULL;
			/* Protocol-level statements outlive a rollback. */
			p->prepared[st] = 1;
		}
		/*
		 * What goes first, in the same round trip: a BEGIN waiting
		 * for this first command of its transaction, and the plan
		 * mode this statement wants (MSTMT_PG_GENERIC) when it is not
		 * the connection's: PostgreSQL reads plan_cache_mode at each
		 * execution, and keeps a generic plan once made.
		 */
		npre = 0;
		if (p->begin)
			pre[npre++] = "BEGIN";
		if (p->generic != mstmt_generic(st))
			pre[npre++] = mstmt_generic(st) ?
			    "SET plan_cache_mode = force_generic_plan" :
			    "SET plan_cache_mode = auto";
		res = npre == 0 ? PQexecPrepared(p->conn, name, n, values, NULL, NULL, 0) :
		    pipelined(p->conn, pre, npre, name, n, values);
		rs = PQresultStatus(res);
		if (rs == PGRES_COMMAND_OK || rs == PGRES_TUPLES_OK) {
			p->begin = 0;
			p->generic = mstmt_generic(st);
			break;
		}
		if (retry_lost(p, sql, 0, tries)) {
			PQclear(res);
			res = NULL;
			continue;
		}
		seterr(db, res, "statement", (int)st);
		/* A BEGIN that went with it opened the transaction, failed now. */
		p->begin = 0;
		p->generic = -1;
		goto out;
	}
answered:
	c->impl = res;
	c->row = -1;
	c->nrows = PQntuples(res);
	res = NULL;
	rc = 0;
out:
	track(p);
	PQclear(res);
	return rc;
}

static int
pg_next(struct mcur *c)
{
	if (c->row + 1 < c->nrows) {
		c->row++;
		return 1;
	}
	c->row = c->nrows;
	return 0;
}

/* Whether the cursor stands on a row and col is one of its columns. */
static int
valid(const struct mcur *c, int col)
{
	return c->row >= 0 && c->row < c->nrows && col >= 0 &&
	    col < PQnfields(c->impl);
}

static const char *
pg_text(struct mcur *c, int col)
{
	if (!valid(c, col) || PQgetisnull(c->impl, c->row, col))
		return NULL;
	return PQgetvalue(c->impl, c->row, col);
}

static int
pg_null(struct mcur *c, int col)
{
	return !valid(c, col) || PQgetisnull(c->impl, c->row, col);
}

/*
 * The count in the command tag: rows inserted, updated or deleted (for a
 * SELECT, rows returned); 0 for commands that report none.
 */
static int64_t
pg_changes(struct mcur *c)
{
	const char *s = PQcmdTuples(c->impl);

	return *s == '\0' ? 0 : strtoll(s, NULL, 10);
}

static void
pg_done(struct mcur *c)
{
	PQclear(c->impl);
	c->impl = NULL;
}

const struct mbackend mbackend_pg = {
	pg_open, pg_close, pg_exec_sql, pg_run, pg_next, pg_text, pg_null,
	pg_changes, pg_done, NULL, NULL, "BEGIN", pg_prefetch, pg_prefetch_drop,
	pg_exec_ahead,
};
