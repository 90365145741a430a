/* The skeleton myelin-timerd, myelin-pusher and myelin-sender share: start-up and the timer loop. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock/clock.h"
#include "config/config.h"
#include "crypto/crypto.h"
#include "daemon/daemon.h"
#include "log/log.h"
#include "notify/notify.h"
#include "sandbox/sandbox.h"
#include "store/store.h"

/* The metrics file is rewritten this often (real clock). */
#define METRICS_EVERY_MS	2000
/* The longest sleep without a timer due (a timer may say more). */
#define IDLE_MS			(60 * 1000)
/* The step of a sleep: a signal or a jump of the fake clock is seen this soon. */
#define STEP_MS			200

static volatile sig_atomic_t quit;

static void
onsig(int sig)
{
	(void)sig;
	quit = 1;
}

int
mdaemon_quitting(void)
{
	return quit != 0;
}

int
mdaemon_open(struct mdaemon *d, const char *prog, const char *name, const char *cfpath,
    int debug, int flags)
{
	struct sigaction	 sa;
	char			 errbuf[4096], *notpath = NULL;

	memset(d, 0, sizeof(*d));
	d->dm_prog = prog;
	d->dm_name = name;
	if ((d->dm_conf = mconfig_load(cfpath, errbuf, sizeof(errbuf))) == NULL) {
		fputs(errbuf, stderr);
		return 1;
	}
	mlog_init(prog, debug ? MLOG_DEBUG : (enum mlog_level)d->dm_conf->log_level);
	if (mcrypto_init() == -1) {
		mlog_err(NULL, "libsodium failed to start");
		goto bad;
	}
	if (asprintf(&d->dm_metrics_path, "%s/%s.prom", d->dm_conf->run_dir, name) == -1) {
		d->dm_metrics_path = NULL;
		goto bad;
	}
	/*
	 * New work comes as moves of streams; without the segment the loop
	 * polls and commits here wake nobody.
	 */
	if (asprintf(&notpath, "%s/notify.shm", d->dm_conf->run_dir) == -1 ||
	    (d->dm_notify = mnotify_open(notpath)) == NULL)
		mlog_warn(NULL, "no notify segment: work is seen late, syncs wake late");
	free(notpath);
	if (d->dm_notify != NULL && d->dm_conf->db_backend == MDB_POSTGRES &&
	    mnotify_attach_pg(d->dm_notify, d->dm_conf->database) == -1)
		mlog_warn(NULL, "no wake-ups across hosts: notify bridge failed");
	if ((d->dm_db = mdb_open(d->dm_conf, d->dm_notify)) == NULL ||
	    mdb_migrate(d->dm_db) == -1) {
		mlog_err(NULL, "database is not usable");
		goto bad;
	}
	if ((flags & MDAEMON_KEY) &&
	    (d->dm_key = mcrypto_key_load(d->dm_conf->signing_key_path)) == NULL)
		mlog_err(NULL, "%s: cannot load the signing key: nothing is signed",
		    d->dm_conf->signing_key_path != NULL ? d->dm_conf->signing_key_path :
		    "(no signing_key_path)");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = onsig;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* Nothing to reload yet: SIGHUP must not end the daemon. */
	signal(SIGHUP, SIG_IGN);
	/* A peer that closes its connection is an error of that request. */
	signal(SIGPIPE, SIG_IGN);
	mlog_info(NULL, "started");
	return 0;
bad:
	mdaemon_close(d);
	return 1;
}

void
mdaemon_close(struct mdaemon *d)
{
	if (d == NULL)
		return;
	mdb_close(d->dm_db);
	mnotify_close(d->dm_notify);
	mcrypto_key_free(d->dm_key);
	if (d->dm_conf != NULL)
		mlog_info(NULL, "stopped");
	mconfig_free(d->dm_conf);
	free(d->dm_metrics_path);
	memset(d, 0, sizeof(*d));
}

int
mdaemon_sandbox(struct mdaemon *d, int flags)
{
	struct msandbox	 sb;
	int		 rc = 0;

	if (msandbox_config(&sb, d->dm_conf, NULL, flags) == -1) {
		mlog_err(NULL, "%s: out of memory", __func__);
		rc = -1;
	} else
		(void)msandbox_apply(&sb, NULL);
	msandbox_fini(&sb);
	return rc;
}

static int
more_metrics(FILE *f, struct mdb *db, void *arg)
{
	struct mdaemon *d = arg;

	if (d->dm_metrics != NULL)
		d->dm_metrics(f, db, d->dm_metrics_arg);
	return 0;
}

int
mdaemon_metrics_write(struct mdaemon *d)
{
	if (d->dm_metrics_path == NULL)
		return -1;
	return mstore_metrics_write(d->dm_db, d->dm_metrics_path, d->dm_name, more_metrics, d);
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Every METRICS_EVERY_MS of the real clock (the tests' fake one may stand still). */
static void
metrics_tick(struct mdaemon *d, int64_t *last)
{
	int64_t now = mono_ms();

	if (*last != 0 && now - *last < METRICS_EVERY_MS)
		return;
	*last = now;
	if (mdaemon_metrics_write(d) == -1)
		mlog_debug(NULL, "%s: cannot write the metrics", d->dm_metrics_path);
}

/* Makes due every timer whose stream moved.  Returns 1 when one did. */
static int
streams_moved(struct mdaemon_timer *timers, size_t n, struct mnotify *notify)
{
	int moved = 0;

	for (size_t i = 0; notify != NULL && i < n; i++)
		if (timers[i].stream != MSTREAM__MAX &&
		    mnotify_pos(notify, timers[i].stream) != timers[i].seen) {
			timers[i].due = 0;
			moved = 1;
		}
	return moved;
}

void
mdaemon_run(struct mdaemon *d, struct mdaemon_timer *timers, size_t n)
{
	struct mnotify	*notify = d->dm_notify;
	int64_t		 mlast = 0;

	/* Every timer with a stream starts from its position now, and runs once. */
	for (size_t i = 0; i < n; i++)
		if (notify != NULL && timers[i].stream != MSTREAM__MAX)
			timers[i].seen = mnotify_pos(notify, timers[i].stream);
	while (!quit) {
		int64_t	 now = mclock_now_ms(), next = now + IDLE_MS;

		for (size_t i = 0; i < n && !quit; i++) {
			struct mdaemon_timer *t = &timers[i];
			int64_t in;

			if (t->due == MDAEMON_NOMORE)
				continue;
			if (t->due <= now) {
				/* Read first: a move during the run is not missed. */
				if (notify != NULL && t->stream != MSTREAM__MAX)
					t->seen = mnotify_pos(notify, t->stream);
				in = t->fn(d->dm_db, notify, now);
				t->due = in == MDAEMON_NOMORE ? MDAEMON_NOMORE : now + in;
			}
			if (t->due != MDAEMON_NOMORE && t->due < next)
				next = t->due;
		}
		/*
		 * Sleep in short steps: the fake clock of the tests may jump,
		 * and a signal should end the loop promptly.  With the notify
		 * segment the step is a wait on it, so a stream that moves
		 * runs its timer within milliseconds.
		 */
		for (;;) {
			/* The sequence first: a bump after it ends the wait at once. */
			uint32_t seq = notify != NULL ? mnotify_seq(notify) : 0;

			metrics_tick(d, &mlast);
			if (quit || mclock_now_ms() >= next || streams_moved(timers, n, notify))
				break;
			if (notify != NULL)
				mnotify_wait(notify, seq, STEP_MS);
			else
				usleep(STEP_MS * 1000);
		}
	}
}
