/* The libfcgi thread-pool loop: one thread per request in flight. */
#include <errno.h>
#include <fcgiapp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock/clock.h"
#include "fcgi/extern.h"
#include "log/log.h"
#include "notify/notify.h"
#include "store/store.h"

/* A fake clock moved forward is noticed within this long. */
#define PARK_SLICE_MS	1000

struct worker {
	pthread_t		 thread;
	const struct mapp	*app;
	const struct mserver	*srv;
	int			 sock;
	int			 id;
};

static atomic_int	stopping;

static const char *
fr_param(void *ctx, const char *name)
{
	return FCGX_GetParam(name, ((FCGX_Request *)ctx)->envp);
}

static size_t
fr_read(void *ctx, char *buf, size_t len)
{
	int got;

	if (len > INT32_MAX)
		return 0;
	got = FCGX_GetStr(buf, (int)len, ((FCGX_Request *)ctx)->in);
	return got > 0 ? (size_t)got : 0;
}

static int
fr_write(void *ctx, const char *buf, size_t len)
{
	if (len > INT32_MAX)
		return -1;
	return FCGX_PutStr(buf, (int)len, ((FCGX_Request *)ctx)->out) == (int)len ? 0 : -1;
}

/*
 * A parked request under this loop keeps its thread: it sleeps on the
 * notify segment (or the clock) until seq moves or the deadline passes.
 * It cannot see the client go away: libfcgi does not say.  Programs
 * with many long polls use mfcgi_main_async, where a wait is memory.
 */
static enum mwake
park_block(struct mnotify *n, int64_t until, uint32_t seq)
{
	for (;;) {
		int64_t now = mclock_now_ms();
		int	slice;

		if (now >= until || atomic_load(&stopping))
			return MWAKE_TIMEOUT;
		slice = until - now > PARK_SLICE_MS ? PARK_SLICE_MS : (int)(until - now);
		if (n != NULL) {
			if (mnotify_wait(n, seq, slice) != seq)
				return MWAKE_NOTIFY;
		} else {
			struct timespec ts = { slice / 1000, (slice % 1000) * 1000000L };

			nanosleep(&ts, NULL);
		}
	}
}

static void
serve(struct worker *w, struct mdb *db, FCGX_Request *fr)
{
	struct mfcgi_io		 io = { fr, fr_param, fr_read, fr_write };
	struct mnotify		*n = w->srv->notify;
	struct mreq		 req;
	const struct mroute	*r;

	mfcgi_req_init(&req, w->srv, db);
	if ((r = mfcgi_req_prepare(&req, w->app, &io)) != NULL) {
		for (;;) {
			/* Read before the handler looks, so no bump is missed. */
			uint32_t seq = n != NULL ? mnotify_seq(n) : 0;

			if (mfcgi_req_run(&req, r) == 0)
				break;
			req.woken = park_block(n, req.park_until, seq);
		}
	}
	mfcgi_req_respond(&req, &io);
	mfcgi_req_fini(&req);
}

static void *
worker_main(void *arg)
{
	struct worker	*w = arg;
	FCGX_Request	 fr;
	struct mdb	*db;

	/* Each thread has its own connection: neither engine shares one well. */
	db = mfcgi_db_open(w->app, w->srv->conf, w->srv->notify);
	if (db == NULL)
		mlog_err(NULL, "worker %d: no database connection", w->id);
	FCGX_InitRequest(&fr, w->sock, 0);
	while (FCGX_Accept_r(&fr) >= 0) {
		serve(w, db, &fr);
		FCGX_Finish_r(&fr);
	}
	FCGX_Free(&fr, 1);
	mdb_close(db);
	return NULL;
}

int
mfcgi_main(const struct mapp *app, int argc, char *argv[])
{
	struct mfcgi_start	 st;
	struct worker		*workers;
	int			 rc, sock;

	if ((rc = mfcgi_start(app, argc, argv, &st)) != -1)
		return rc;
	FCGX_Init();
	if ((sock = mfcgi_listen(st.sockpath)) == -1) {
		mfcgi_start_fini(&st);
		return 1;
	}
	if (mfcgi_sandbox(&st) == -1 ||
	    (workers = calloc((size_t)st.threads, sizeof(*workers))) == NULL)
		return 1;
	for (int i = 0; i < st.threads; i++) {
		workers[i].app = st.app;
		workers[i].srv = &st.srv;
		workers[i].sock = sock;
		workers[i].id = i;
		if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0) {
			mlog_err(NULL, "cannot start thread %d", i);
			return 1;
		}
	}
	mlog_info(NULL, "serving on %s with %d threads", st.sockpath, st.threads);
	for (;;) {
		int sig;

		if (sigwait(&st.sigs, &sig) != 0 || sig != SIGHUP)
			break;
	}
	/* Finish requests in flight; wake threads blocked in accept(). */
	atomic_store(&stopping, 1);
	FCGX_ShutdownPending();
	shutdown(sock, SHUT_RDWR);
	close(sock);
	mfcgi_unlisten(st.sockpath);
	for (int i = 0; i < st.threads; i++)
		pthread_join(workers[i].thread, NULL);
	free(workers);
	mfcgi_start_fini(&st);
	mlog_info(NULL, "stopped");
	return 0;
}
