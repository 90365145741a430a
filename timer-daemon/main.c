/* myelin-timerd: fires the stack's timers (expiries, delayed events, media and message retention) from one loop. */
#include <stdio.h>
#include <unistd.h>

#include "config/config.h"
#include "daemon/daemon.h"
#include "log/log.h"
#include "store/store.h"
#include "timers.h"
#include "sandbox/sandbox.h"

#define UIA_LIFETIME_MS		(60 * 60 * 1000)
#define NONCE_LIFETIME_MS	(60 * 1000)

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

static void
usage(void)
{
	fprintf(stderr, "usage: myelin-timerd [-d] -c config\n");
}

int
main(int argc, char *argv[])
{
	/* A timer with a stream runs when it moves (lib/daemon). */
	struct mdaemon_timer timers[] = {
		{ "uia", t_uia, MSTREAM__MAX, 0, 0 },
		{ "nonces", t_nonces, MSTREAM__MAX, 0, 0 },
		{ "typing", t_typing, MSTREAM_TYPING, 0, 0 },
		{ "presence", t_presence, MSTREAM__MAX, 0, 0 },
		{ "expiry", t_expiry, MSTREAM_EVENTS, 0, 0 },
		{ "delayed", t_delayed, MSTREAM__MAX, 0, 0 },
		{ "media", t_media, MSTREAM__MAX, 0, 0 },
		{ "retention", t_retention, MSTREAM__MAX, 0, 0 },
		{ "cleanup", t_cleanup, MSTREAM__MAX, 0, 0 },
	};
	const size_t	 ntimers = sizeof(timers) / sizeof(timers[0]);
	struct mdaemon	 d;
	const char	*cfpath = NULL;
	int		 ch, debug = 0, rc;

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
	/* The key signs the delayed events it sends. */
	if ((rc = mdaemon_open(&d, "myelin-timerd", "timerd", cfpath, debug, MDAEMON_KEY)) != 0)
		return rc;
	t_delayed_init(d.dm_conf, d.dm_key);
	t_media_init(d.dm_conf);
	t_retention_init(d.dm_conf);
	/* MSC2228 is off unless the configuration turns it on, as in Synapse. */
	for (size_t i = 0; i < ntimers; i++)
		if (timers[i].fn == t_expiry && !d.dm_conf->enable_ephemeral_messages) {
			timers[i].due = NOMORE;
			timers[i].stream = MSTREAM__MAX;	/* no move wakes it */
		}
	/* Media retention removes files: media_path. */
	if (mdaemon_sandbox(&d, MSANDBOX_MEDIA) == -1) {
		mdaemon_close(&d);
		return 1;
	}
	mdaemon_run(&d, timers, ntimers);
	mdaemon_close(&d);
	return 0;
}
