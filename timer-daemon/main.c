/* myelin-timerd: fires the stack's timers (expiries, the federation sender) from one loop. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock/clock.h"
#include "config/config.h"
#include "crypto/crypto.h"
#include "log/log.h"
#include "notify/notify.h"
#include "store/store.h"
#include "timers.h"

#define UIA_LIFETIME_MS		(60 * 60 * 1000)
#define NONCE_LIFETIME_MS	(60 * 1000)

static volatile sig_atomic_t quit;

/*
 * A timer returns the milliseconds until it wants to run again, or
 * NOMORE.  A move of its stream (MSTREAM__MAX: none) in the notify
 * segment runs it at once: new work may fall due sooner than it said.
 */
struct timer {
	const char	*name;
	int64_t		(*fn)(struct mdb *, struct mnotify *, int64_t now);
	enum mstream	 stream;
	int64_t		 due;
	uint64_t	 seen;		/* the stream's position at the last run */
};

/* UIA sessions left unfinished for an hour are forgotten. */
static int64_t
t_uia(struct mdb *db, struct mnotify *notify, int64_t now)
{
	int64_t n = mstore_uia_expire(db, now - UIA_LIFETIME_MS);

	(void)notify;
	if (n > 0)
		mlog_debug(NULL, "expired %lld UIA sessions", (long long)n);
	return 60 * 1000;
}

/* Shared-secret registration nonces live 60 s, as in Synapse. */
static int64_t
t_nonces(struct mdb *db, struct mnotify *notify, int64_t now)
{
	(void)notify;
	mstore_nonce_expire(db, now - NONCE_LIFETIME_MS);
	return 60 * 1000;
}

/* Makes due every timer whose stream moved.  Returns 1 when one did. */
static int
streams_moved(struct timer *timers, size_t n, struct mnotify *notify)
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

static void
onsig(int sig)
{
	(void)sig;
	quit = 1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: myelin-timerd [-d] -c config\n");
}

/*
 * Every 2 seconds (of the real clock: the tests' fake one may stand
 * still), run_dir/timerd.prom gets the metrics: the database's time and
 * the federation queue per destination (myelin(7), "Metrics").
 */
static char	*metrics_path;

static void
metrics(struct mdb *db, const struct mconfig *conf)
{
	static int64_t	 last;
	struct timespec	 ts;
	int64_t		 now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (last != 0 && now - last < 2000)
		return;
	last = now;
	if (metrics_path == NULL &&
	    asprintf(&metrics_path, "%s/timerd.prom", conf->run_dir) == -1) {
		metrics_path = NULL;
		return;
	}
	if (mstore_metrics_write(db, metrics_path, "timerd", 1) == -1)
		mlog_debug(NULL, "%s: cannot write the metrics", metrics_path);
}

int
main(int argc, char *argv[])
{
	struct timer	 timers[] = {
		{ "uia", t_uia, MSTREAM__MAX, 0, 0 },
		{ "nonces", t_nonces, MSTREAM__MAX, 0, 0 },
		{ "typing", t_typing, MSTREAM_TYPING, 0, 0 },
		{ "presence", t_presence, MSTREAM__MAX, 0, 0 },
		{ "expiry", t_expiry, MSTREAM_EVENTS, 0, 0 },
		{ "federation", t_fedsend, MSTREAM_EVENTS, 0, 0 },
		{ "delayed", t_delayed, MSTREAM__MAX, 0, 0 },
		/* EDUs queued move the stream of what they tell: each wakes the sender. */
		{ "federation-typing", t_fedsend, MSTREAM_TYPING, 0, 0 },
		{ "federation-receipts", t_fedsend, MSTREAM_RECEIPTS, 0, 0 },
		{ "federation-presence", t_fedsend, MSTREAM_PRESENCE, 0, 0 },
		{ "federation-to-device", t_fedsend, MSTREAM_TODEVICE, 0, 0 },
		{ "federation-device-lists", t_fedsend, MSTREAM_DEVICE_LISTS, 0, 0 },
		{ "media", t_media, MSTREAM__MAX, 0, 0 },
	};
	const size_t	 ntimers = sizeof(timers) / sizeof(timers[0]);
	struct mconfig	*conf;
	struct mdb	*db;
	struct mnotify	*notify = NULL;
	struct mkey	*key;
	char		*notpath = NULL;
	struct sigaction sa;
	const char	*cfpath = NULL;
	char		 errbuf[4096];
	int		 ch, debug = 0;

	while ((ch = getopt(argc, argv, "c:d")) != -1) {
		switch (ch) {
		case 'c': cfpath = optarg; break;
		case 'd': debug = 1; break;
		default: usage(); return 2;
		}
	}
	if (cfpath == NULL || optind != argc) {
		usage();
		return 2;
	}
	if ((conf = mconfig_load(cfpath, errbuf, sizeof(errbuf))) == NULL) {
		fputs(errbuf, stderr);
		return 1;
	}
	mlog_init("myelin-timerd", debug ? MLOG_DEBUG : (enum mlog_level)conf->log_level);
	/* The typing and presence timers' commits wake waiting syncs through it, as handlers' do. */
	if (asprintf(&notpath, "%s/notify.shm", conf->run_dir) == -1 ||
	    (notify = mnotify_open(notpath)) == NULL)
		mlog_err(NULL, "no notify segment: syncs learn of expiries late");
	free(notpath);
	if ((db = mdb_open(conf, notify)) == NULL || mdb_migrate(db) == -1) {
		mlog_err(NULL, "database is not usable");
		mnotify_close(notify);
		return 1;
	}
	/* Without the signing key nothing can be sent to other servers. */
	if ((key = mcrypto_key_load(conf->signing_key_path)) == NULL)
		mlog_err(NULL, "%s: cannot load the signing key: nothing is sent to other servers",
		    conf->signing_key_path);
	t_fedsend_init(conf, key);
	t_delayed_init(conf, key);
	t_media_init(conf);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = onsig;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* Nothing to reload yet: SIGHUP must not end the daemon. */
	signal(SIGHUP, SIG_IGN);
	/* MSC2228 is off unless the configuration turns it on, as in Synapse. */
	for (size_t i = 0; i < ntimers; i++)
		if (timers[i].fn == t_expiry && !conf->enable_ephemeral_messages) {
			timers[i].due = NOMORE;
			timers[i].stream = MSTREAM__MAX;	/* no move wakes it */
		}
	mlog_info(NULL, "started");
	while (!quit) {
		int64_t		 now = mclock_now_ms(), next = now + 60 * 1000;
		struct timespec	 ts;

		for (size_t i = 0; i < ntimers; i++) {
			struct timer *t = &timers[i];
			int64_t in;

			if (t->due == NOMORE)
				continue;
			if (t->due <= now) {
				/* Read first: a move during the run is not missed. */
				if (notify != NULL && t->stream != MSTREAM__MAX)
					t->seen = mnotify_pos(notify, t->stream);
				in = t->fn(db, notify, now);
				t->due = in == NOMORE ? NOMORE : now + in;
			}
			if (t->due != NOMORE && t->due < next)
				next = t->due;
		}
		/*
		 * Sleep in short steps: the fake clock of the tests may jump,
		 * and a signal should end the loop promptly.  With the notify
		 * segment the step is a wait on it, so a stream that moves
		 * runs its timer within milliseconds.
		 */
		ts.tv_sec = 0;
		ts.tv_nsec = 200 * 1000 * 1000;
		for (;;) {
			/* The sequence first: a bump after it ends the wait at once. */
			uint32_t seq = notify != NULL ? mnotify_seq(notify) : 0;

			metrics(db, conf);
			if (quit || mclock_now_ms() >= next ||
			    streams_moved(timers, ntimers, notify))
				break;
			if (notify != NULL)
				mnotify_wait(notify, seq, 200);
			else
				nanosleep(&ts, NULL);
		}
	}
	mdb_close(db);
	free(metrics_path);
	mnotify_close(notify);
	mcrypto_key_free(key);
	mconfig_free(conf);
	mlog_info(NULL, "stopped");
	return 0;
}
