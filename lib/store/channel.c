/* PostgreSQL LISTEN/NOTIFY on connections of their own. */
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log/log.h"
#include "store/channel.h"

struct mchan {
	PGconn	*conn;
};

static void
quiet(void *arg, const PGresult *res)
{
	(void)arg;
	(void)res;
}

struct mchan *
mstore_chan_open(const char *conninfo, const char *listen)
{
	struct mchan	*ch;
	PGresult	*res;
	char		*sql = NULL, *quoted = NULL;

	if ((ch = calloc(1, sizeof(*ch))) == NULL)
		return NULL;
	ch->conn = PQconnectdb(conninfo);
	if (PQstatus(ch->conn) != CONNECTION_OK) {
		mlog_warn(NULL, "channel: cannot connect to PostgreSQL: %s",
		    PQerrorMessage(ch->conn));
		goto fail;
	}
	PQsetNoticeReceiver(ch->conn, quiet, NULL);
	if (listen == NULL)
		return ch;
	/* LISTEN takes no parameters: the name is quoted as an identifier. */
	if ((quoted = PQescapeIdentifier(ch->conn, listen, strlen(listen))) == NULL ||
	    asprintf(&sql, "LISTEN %s", quoted) == -1) {
		sql = NULL;
		goto fail;
	}
	res = PQexec(ch->conn, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		mlog_warn(NULL, "channel: LISTEN failed: %s", PQerrorMessage(ch->conn));
		PQclear(res);
		goto fail;
	}
	PQclear(res);
	PQfreemem(quoted);
	free(sql);
	return ch;
fail:
	PQfreemem(quoted);
	free(sql);
	PQfinish(ch->conn);
	free(ch);
	return NULL;
}

void
mstore_chan_close(struct mchan *ch)
{
	if (ch == NULL)
		return;
	PQfinish(ch->conn);
	free(ch);
}

int
mstore_chan_ok(const struct mchan *ch)
{
	return ch != NULL && PQstatus(ch->conn) == CONNECTION_OK;
}

int
mstore_chan_notify(struct mchan *ch, const char *channel, const char *payload)
{
	const char	*params[2] = { channel, payload };
	PGresult	*res;
	int		 rc = 0;

	res = PQexecParams(ch->conn, "SELECT pg_notify($1, $2)", 2, NULL, params, NULL,
	    NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		mlog_warn(NULL, "channel: NOTIFY failed: %s", PQerrorMessage(ch->conn));
		rc = -1;
	}
	PQclear(res);
	return rc;
}

int
mstore_chan_wait(struct mchan *ch, int timeout_ms, void (*fn)(void *, const char *),
    void *arg)
{
	struct pollfd	 pfd;
	PGnotify	*nt;

	pfd.fd = PQsocket(ch->conn);
	pfd.events = POLLIN;
	if (poll(&pfd, 1, timeout_ms) == -1 && errno != EINTR)
		return -1;
	if (PQconsumeInput(ch->conn) == 0) {
		mlog_warn(NULL, "channel: lost PostgreSQL: %s", PQerrorMessage(ch->conn));
		return -1;
	}
	while ((nt = PQnotifies(ch->conn)) != NULL) {
		fn(arg, nt->extra);
		PQfreemem(nt);
	}
	return 0;
}
