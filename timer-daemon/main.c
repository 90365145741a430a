/* myelin-timerd: fires the stack's timers (expiries) from one loop. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock/clock.h"
#include "config/config.h"
#include "log/log.h"
#include "store/store.h"

#define NOMORE	(-1)
#define UIA_LIFETIME_MS		(60 * 60 * 1000)
#define NONCE_LIFETIME_MS	(60 * 1000)

static volatile sig_atomic_t quit;

/* A timer returns the milliseconds until it wants to run again, or NOMORE. */
struct timer {
	const char	*name;
	int64_t		(*fn)(struct mdb *, int64_t now);
	int64_t		 due;
};

/* UIA sessions left unfinished for an hour are forgotten. */
static int64_t
t_uia(struct mdb *db, int64_t now)
{
	int64_t n = mstore_uia_expire(db, now - UIA_LIFETIME_MS);

	if (n > 0)
		mlog_debug(NULL, "expired %lld UIA sessions", (long long)n);
	return 60 * 1000;
}

/* Shared-secret registration nonces live 60 s, as in Synapse. */
static int64_t
t_nonces(struct mdb *db, int64_t now)
{
	mstore_nonce_expire(db, now - NONCE_LIFETIME_MS);
	return 60 * 1000;
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

int
main(int argc, char *argv[])
{
	struct timer	 timers[] = {
		{ "uia", t_uia, 0 }, { "nonces", t_nonces, 0 },
	};
	struct mconfig	*conf;
	struct mdb	*db;
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
	if ((db = mdb_open(conf)) == NULL || mdb_migrate(db) == -1) {
		mlog_err(NULL, "database is not usable");
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = onsig;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* Nothing to reload yet: SIGHUP must not end the daemon. */
	signal(SIGHUP, SIG_IGN);
	mlog_info(NULL, "started");
	while (!quit) {
		int64_t		 now = mclock_now_ms(), next = now + 60 * 1000;
		struct timespec	 ts;

		for (size_t i = 0; i < sizeof(timers) / sizeof(timers[0]); i++) {
			struct timer *t = &timers[i];
			int64_t in;

			if (t->due == NOMORE)
				continue;
			if (t->due <= now) {
				in = t->fn(db, now);
				t->due = in == NOMORE ? NOMORE : now + in;
			}
			if (t->due != NOMORE && t->due < next)
				next = t->due;
		}
		/*
		 * Sleep in short steps: the fake clock of the tests may jump,
		 * and a signal should end the loop promptly.
		 */
		ts.tv_sec = 0;
		ts.tv_nsec = 200 * 1000 * 1000;
		while (!quit && mclock_now_ms() < next)
			nanosleep(&ts, NULL);
	}
	mdb_close(db);
	mconfig_free(conf);
	mlog_info(NULL, "stopped");
	return 0;
}
