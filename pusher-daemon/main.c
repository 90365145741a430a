/*
 * myelin-pusher: sends the queued notifications to push gateways
 * (lib/outbox, lib/push) and the transactions of application services
 * (lib/appsvc): two kinds of one queue on one loop.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "appsvc/appsvc.h"
#include "config/config.h"
#include "http/http.h"
#include "log/log.h"
#include "notify/notify.h"
#include "outbox/outbox.h"
#include "push/push.h"
#include "store/store.h"

/*
 * Synapse's pusher schedule: 1 s after a failure, doubling to an hour;
 * a notification that failed for a day is dropped.
 */
#define PUSH_BACKOFF_MIN_MS	1000
#define PUSH_BACKOFF_MAX_MS	(60 * 60 * 1000)
#define PUSH_GIVE_UP_MS		(24 * 60 * 60 * 1000)
/* The longest sleep: rows queued on a host this segment does not see. */
#define PUSH_GUARD_MS		5000
#define PUSH_TIMEOUT_MS		20000
/*
 * Application services: 1 s after a failure, doubling to 5 minutes, and
 * never given up (a bridge down for a day gets its day's events, as
 * Synapse keeps them); 100 events a transaction.
 */
#define AS_BACKOFF_MIN_MS	1000
#define AS_BACKOFF_MAX_MS	(5 * 60 * 1000)
#define AS_BATCH		100

static volatile sig_atomic_t quit;

static void
onsig(int sig)
{
	(void)sig;
	quit = 1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: myelin-pusher [-d] -c config\n");
}

int
main(int argc, char *argv[])
{
	struct mconfig		*conf;
	struct mdb		*db;
	struct mnotify		*notify = NULL;
	struct mhttp_allow	 allow;
	struct mpush_gateway	 gw;
	struct moutbox_kind	 kinds[2];
	struct mappsvc_sender	 as;
	struct sigaction	 sa;
	char			*notpath = NULL, *owner;
	const char		*cfpath = NULL;
	char			 errbuf[4096];
	int			 ch, debug = 0;

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
	mlog_init("myelin-pusher", debug ? MLOG_DEBUG : (enum mlog_level)conf->log_level);
	memset(&allow, 0, sizeof(allow));
	/* The config check parsed it already. */
	if (conf->push_allow_ips != NULL &&
	    mhttp_allow_parse(conf->push_allow_ips, &allow) == -1) {
		fprintf(stderr, "myelin-pusher: push_allow_ips does not parse\n");
		mconfig_free(conf);
		return 1;
	}
	if ((owner = moutbox_owner_new()) == NULL) {
		mconfig_free(conf);
		return 1;
	}
	/* New rows come with commits of the events and receipts streams. */
	if (asprintf(&notpath, "%s/notify.shm", conf->run_dir) == -1 ||
	    (notify = mnotify_open(notpath)) == NULL)
		mlog_warn(NULL, "no notify segment: pushes wait for the next poll");
	free(notpath);
	if ((db = mdb_open(conf, notify)) == NULL || mdb_migrate(db) == -1) {
		mlog_err(NULL, "database is not usable");
		mnotify_close(notify);
		free(owner);
		mconfig_free(conf);
		return 1;
	}
	memset(&gw, 0, sizeof(gw));
	gw.allow = &allow;
	gw.ca_file = conf->push_ca_file;
	gw.timeout_ms = PUSH_TIMEOUT_MS;
	memset(kinds, 0, sizeof(kinds));
	kinds[0].kind = MPUSH_OUTBOX;
	kinds[0].deliver = mpush_gateway_deliver;
	kinds[0].arg = &gw;
	kinds[0].batch = 1;
	kinds[0].backoff_min_ms = PUSH_BACKOFF_MIN_MS;
	kinds[0].backoff_max_ms = PUSH_BACKOFF_MAX_MS;
	kinds[0].give_up_ms = PUSH_GIVE_UP_MS;
	kinds[0].streams = (1u << MSTREAM_EVENTS) | (1u << MSTREAM_RECEIPTS);
	as.conf = conf;
	as.timeout_ms = PUSH_TIMEOUT_MS;
	kinds[1].kind = MAPPSVC_OUTBOX;
	kinds[1].deliver = mappsvc_deliver;
	kinds[1].take = mappsvc_take;
	kinds[1].arg = &as;
	kinds[1].batch = AS_BATCH;
	kinds[1].backoff_min_ms = AS_BACKOFF_MIN_MS;
	kinds[1].backoff_max_ms = AS_BACKOFF_MAX_MS;
	/* Events, and MSC2409's receipts and typing. */
	kinds[1].streams = (1u << MSTREAM_EVENTS) | (1u << MSTREAM_RECEIPTS) |
	    (1u << MSTREAM_TYPING);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = onsig;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* Nothing to reload yet: SIGHUP must not end the daemon. */
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	mlog_info(NULL, "started");
	moutbox_loop(db, notify, kinds, conf->appservicesz > 0 ? 2 : 1, owner, PUSH_GUARD_MS,
	    &quit);
	mdb_close(db);
	mnotify_close(notify);
	free(owner);
	mconfig_free(conf);
	mlog_info(NULL, "stopped");
	return 0;
}
