/* Wake-ups across hosts: PostgreSQL LISTEN/NOTIFY bridged to the local segment. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log/log.h"
#include "notify/extern.h"
#include "store/channel.h"

#define CHANNEL		"myelin_notify"
#define RETRY_MS	1000

/*
 * A notification's payload is "<stream> <origin>", where origin names
 * the sender's host and segment: a listener skips its own segment's
 * bumps, which woke its waiters already.  The database side lives in
 * lib/store/channel.c, with the rest of myelin's SQL.
 */
struct mnotify_pg {
	struct mnotify	*n;
	char		*conninfo;
	char		 origin[256];
	pthread_mutex_t	 lock;		/* guards send */
	struct mchan	*send;		/* for NOTIFY, opened on first use */
	pthread_t	 thread;
	atomic_int	 stop;
};

void
mnotify_pg_send(struct mnotify_pg *pg, enum mstream s)
{
	char payload[300];

	snprintf(payload, sizeof(payload), "%d %s", (int)s, pg->origin);
	pthread_mutex_lock(&pg->lock);
	if (!mstore_chan_ok(pg->send)) {
		mstore_chan_close(pg->send);
		pg->send = mstore_chan_open(pg->conninfo, NULL);
	}
	if (pg->send != NULL)
		mstore_chan_notify(pg->send, CHANNEL, payload);
	pthread_mutex_unlock(&pg->lock);
}

/* Handles one payload: bumps the local segment unless it came from it. */
static void
received(void *arg, const char *payload)
{
	struct mnotify_pg	*pg = arg;
	char			*end;
	long			 s = strtol(payload, &end, 10);

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
	struct mchan		*ch = NULL;

	while (!atomic_load(&pg->stop)) {
		if (ch == NULL) {
			if ((ch = mstore_chan_open(pg->conninfo, CHANNEL)) == NULL) {
				usleep(RETRY_MS * 1000);
				continue;
			}
			/*
			 * Whatever happened while no one listened is unknown:
			 * wake local waiters so they look again.
			 */
			mnotify_bump_local(pg->n, MSTREAM_EVENTS);
		}
		/* Wake every so often to notice stop. */
		if (mstore_chan_wait(ch, 500, received, pg) == -1) {
			mstore_chan_close(ch);
			ch = NULL;
		}
	}
	mstore_chan_close(ch);
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
	mstore_chan_close(pg->send);
	pthread_mutex_destroy(&pg->lock);
	free(pg->conninfo);
	free(pg);
}
