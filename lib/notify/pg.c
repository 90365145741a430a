/* Wake-ups across hosts: PostgreSQL LISTEN/NOTIFY bridged to the local segment. */
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log/log.h"
#include "notify/extern.h"

#define CHANNEL		"myelin_notify"
#define RETRY_MS	1000

/*
 * A notification's payload is "<stream> <origin>", where origin names
 * the sender's host and segment: a listener skips its own segment's
 * bumps, which woke its waiters already.
 */
struct mnotify_pg {
	struct mnotify	*n;
	char		*conninfo;
	char		 origin[256];
	pthread_mutex_t	 lock;		/* guards send */
	PGconn		*send;		/* for NOTIFY, opened on first use */
	pthread_t	 thread;
	atomic_int	 stop;
};

static void
quiet(void *arg, const PGresult *res)
{
	(void)arg;
	(void)res;
}

static PGconn *
connect_pg(const char *conninfo)
{
	PGconn *c = PQconnectdb(conninfo);

	if (PQstatus(c) != CONNECTION_OK) {
		mlog_warn(NULL, "notify: cannot connect to PostgreSQL: %s",
		    PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeReceiver(c, quiet, NULL);
	return c;
}

void
mnotify_pg_send(struct mnotify_pg *pg, enum mstream s)
{
	const char	*params[2];
	char		 payload[300];
	PGresult	*res;

	snprintf(payload, sizeof(payload), "%d %s", (int)s, pg->origin);
	params[0] = CHANNEL;
	params[1] = payload;
	pthread_mutex_lock(&pg->lock);
	if (pg->send == NULL || PQstatus(pg->send) != CONNECTION_OK) {
		PQfinish(pg->send);
		pg->send = connect_pg(pg->conninfo);
	}
	if (pg->send != NULL) {
		res = PQexecParams(pg->send, "SELECT pg_notify($1, $2)", 2, NULL, params,
		    NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			mlog_warn(NULL, "notify: NOTIFY failed: %s", PQerrorMessage(pg->send));
		PQclear(res);
	}
	pthread_mutex_unlock(&pg->lock);
}

/* Handles one payload: bumps the local segment unless it came from it. */
static void
received(struct mnotify_pg *pg, const char *payload)
{
	char		*end;
	long		 s = strtol(payload, &end, 10);

	if (end == payload || *end != ' ' || s < 0 || s >= MSTREAM__MAX)
		return;
	if (strcmp(end + 1, pg->origin) == 0)
		return;
	mnotify_bump_local(pg->n, (enum mstream)s);
}

static void *
listener(void *arg)
{
	struct mnotify_pg	*pg = arg;
	PGconn			*c = NULL;
	PGresult		*res;
	PGnotify		*nt;

	while (!atomic_load(&pg->stop)) {
		struct pollfd pfd;

		if (c == NULL) {
			if ((c = connect_pg(pg->conninfo)) == NULL) {
				usleep(RETRY_MS * 1000);
				continue;
			}
			res = PQexec(c, "LISTEN " CHANNEL);
			if (PQresultStatus(res) != PGRES_COMMAND_OK) {
				PQclear(res);
				PQfinish(c);
				c = NULL;
				usleep(RETRY_MS * 1000);
				continue;
			}
			PQclear(res);
			/*
			 * Whatever happened while no one listened is unknown:
			 * wake local waiters so they look again.
			 */
			mnotify_bump_local(pg->n, MSTREAM_EVENTS);
		}
		pfd.fd = PQsocket(c);
		pfd.events = POLLIN;
		/* Wake every so often to notice stop. */
		if (poll(&pfd, 1, 500) == -1 && errno != EINTR)
			break;
		if (PQconsumeInput(c) == 0) {
			mlog_warn(NULL, "notify: lost PostgreSQL: %s", PQerrorMessage(c));
			PQfinish(c);
			c = NULL;
			continue;
		}
		while ((nt = PQnotifies(c)) != NULL) {
			received(pg, nt->extra);
			PQfreemem(nt);
		}
	}
	PQfinish(c);
	return NULL;
}

struct mnotify_pg *
mnotify_pg_start(struct mnotify *n, const char *conninfo, const char *segment)
{
	struct mnotify_pg	*pg;
	char			 host[128];

	if ((pg = calloc(1, sizeof(*pg))) == NULL)
		return NULL;
	if ((pg->conninfo = strdup(conninfo)) == NULL) {
		free(pg);
		return NULL;
	}
	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "?");
	host[sizeof(host) - 1] = '\0';
	snprintf(pg->origin, sizeof(pg->origin), "%s:%s", host, segment);
	pg->n = n;
	pthread_mutex_init(&pg->lock, NULL);
	if (pthread_create(&pg->thread, NULL, listener, pg) != 0) {
		mlog_err(NULL, "notify: cannot start the listener thread");
		pthread_mutex_destroy(&pg->lock);
		free(pg->conninfo);
		free(pg);
		return NULL;
	}
	return pg;
}

void
mnotify_pg_stop(struct mnotify_pg *pg)
{
	if (pg == NULL)
		return;
	atomic_store(&pg->stop, 1);
	pthread_join(pg->thread, NULL);
	PQfinish(pg->send);
	pthread_mutex_destroy(&pg->lock);
	free(pg->conninfo);
	free(pg);
}
