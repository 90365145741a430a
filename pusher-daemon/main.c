/*
 * myelin-pusher: sends the queued notifications to push gateways
 * (lib/outbox, lib/push) and the transactions of application services
 * (lib/appsvc): two kinds of one queue on one loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "appsvc/appsvc.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "http/http.h"
#include "log/log.h"
#include "outbox/outbox.h"
#include "push/push.h"
#include "store/store.h"
#include "sandbox/sandbox.h"

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

static struct moutbox_kind	 kinds[2];
static struct moutbox_stats	 stats[2];
static size_t			 nkinds;
static char			*owner;

/* A kind's due rows; -1 from moutbox_run (nothing waits) is the guard. */
static int64_t
run_kind(struct mdb *db, size_t i, int64_t now)
{
	int64_t in = moutbox_run(db, &kinds[i], owner, now);

	return in < 0 || in > PUSH_GUARD_MS ? PUSH_GUARD_MS : in;
}

static int64_t
t_push(struct mdb *db, struct mnotify *notify, int64_t now)
{
	(void)notify;
	return run_kind(db, 0, now);
}

static int64_t
t_appsvc(struct mdb *db, struct mnotify *notify, int64_t now)
{
	(void)notify;
	return run_kind(db, 1, now);
}

/* Issue 17: each kind's queue depth, failing destinations, and what deliveries did. */
static void
metrics(FILE *f, struct mdb *db, void *arg)
{
	const char *names[2];

	(void)arg;
	for (size_t i = 0; i < nkinds; i++)
		names[i] = kinds[i].kind;
	mstore_metrics_outbox(db, f, names, nkinds);
	moutbox_metrics(f, kinds, nkinds);
}

static void
usage(void)
{
	fprintf(stderr, "usage: myelin-pusher [-d] -c config\n");
}

int
main(int argc, char *argv[])
{
	/* The streams whose commits may queue rows of a kind: each runs it at once. */
	struct mdaemon_timer	 timers[] = {
		{ "push", t_push, MSTREAM_EVENTS, 0, 0 },
		{ "push-receipts", t_push, MSTREAM_RECEIPTS, 0, 0 },
		/* Events, MSC2409's receipts, typing and presence, MSC4203's to-device. */
		{ "appservices", t_appsvc, MSTREAM_EVENTS, 0, 0 },
		{ "appservices-receipts", t_appsvc, MSTREAM_RECEIPTS, 0, 0 },
		{ "appservices-typing", t_appsvc, MSTREAM_TYPING, 0, 0 },
		{ "appservices-presence", t_appsvc, MSTREAM_PRESENCE, 0, 0 },
		{ "appservices-todevice", t_appsvc, MSTREAM_TODEVICE, 0, 0 },
	};
	const size_t		 ntimers = sizeof(timers) / sizeof(timers[0]);
	struct mdaemon		 d;
	struct mhttp_allow	 allow;
	struct mpush_gateway	 gw;
	struct mappsvc_sender	 as;
	const char		*cfpath = NULL;
	int			 ch, debug = 0, rc;

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
	if ((rc = mdaemon_open(&d, "myelin-pusher", "pusher", cfpath, debug, 0)) != 0)
		return rc;
	memset(&allow, 0, sizeof(allow));
	/* The config check parsed it already. */
	if (d.dm_conf->push_allow_ips != NULL &&
	    mhttp_allow_parse(d.dm_conf->push_allow_ips, &allow) == -1) {
		fprintf(stderr, "myelin-pusher: push_allow_ips does not parse\n");
		mdaemon_close(&d);
		return 1;
	}
	if ((owner = moutbox_owner_new()) == NULL) {
		mdaemon_close(&d);
		return 1;
	}
	memset(&gw, 0, sizeof(gw));
	gw.allow = &allow;
	gw.ca_file = d.dm_conf->push_ca_file;
	gw.timeout_ms = PUSH_TIMEOUT_MS;
	kinds[0].kind = MPUSH_OUTBOX;
	kinds[0].deliver = mpush_gateway_deliver;
	kinds[0].arg = &gw;
	kinds[0].batch = 1;
	kinds[0].backoff_min_ms = PUSH_BACKOFF_MIN_MS;
	kinds[0].backoff_max_ms = PUSH_BACKOFF_MAX_MS;
	kinds[0].give_up_ms = PUSH_GIVE_UP_MS;
	kinds[0].stats = &stats[0];
	as.conf = d.dm_conf;
	as.timeout_ms = PUSH_TIMEOUT_MS;
	kinds[1].kind = MAPPSVC_OUTBOX;
	kinds[1].deliver = mappsvc_deliver;
	kinds[1].take = mappsvc_take;
	kinds[1].arg = &as;
	kinds[1].batch = AS_BATCH;
	kinds[1].backoff_min_ms = AS_BACKOFF_MIN_MS;
	kinds[1].backoff_max_ms = AS_BACKOFF_MAX_MS;
	kinds[1].stats = &stats[1];
	nkinds = d.dm_conf->appservicesz > 0 ? 2 : 1;
	/* Without application services their timers never run. */
	for (size_t i = 0; i < ntimers; i++)
		if (timers[i].fn == t_appsvc && nkinds < 2) {
			timers[i].due = MDAEMON_NOMORE;
			timers[i].stream = MSTREAM__MAX;
		}
	/* Outbound HTTP: CA files, resolv.conf and the like. */
	if (mdaemon_sandbox(&d, MSANDBOX_NET) == -1) {
		mdaemon_close(&d);
		return 1;
	}
	d.dm_metrics = metrics;
	mdaemon_run(&d, timers, ntimers);
	mdaemon_close(&d);
	free(owner);
	return 0;
}
