/*
 * myelin-sender: delivers the outbound federation queue (lib/fed/sender.c)
 * to other servers, one loop of lib/daemon woken by the streams whose
 * commits queue PDUs and EDUs; --shard I/N takes one share of the
 * destinations so that several senders split them.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "daemon/daemon.h"
#include "fed/fed.h"
#include "log/log.h"
#include "store/store.h"
#include "sandbox/sandbox.h"

static struct mdaemon	 d;
static unsigned		 shard, nshards = 1;

static int64_t
t_send(struct mdb *db, struct mnotify *notify, int64_t now)
{
	(void)notify;
	return mfed_send_due(db, d.dm_conf, d.dm_key, now, shard, nshards);
}

static int
mine(const char *dest, void *arg)
{
	(void)arg;
	return mfed_shard_of(dest, nshards) == shard;
}

/* The queue of this sender's destinations, and what it sent. */
static void
metrics(FILE *f, struct mdb *db, void *arg)
{
	(void)arg;
	fprintf(f, "# HELP myelin_fed_sender_shard The share of destinations this sender"
	    " takes (--shard I/N).\n"
	    "# TYPE myelin_fed_sender_shard gauge\n"
	    "myelin_fed_sender_shard{shard=\"%u\",shards=\"%u\"} 1\n", shard, nshards);
	mstore_metrics_fedq(db, f, mine, NULL);
	mfed_sender_metrics(f);
}

static void
usage(void)
{
	fprintf(stderr, "usage: myelin-sender [-d] -c config [--shard I/N]\n");
}

/* Parses "I/N" with 0 <= I < N <= MFED_SHARDS_MAX.  0 or -1. */
static int
shard_parse(const char *s, unsigned *i, unsigned *n)
{
	char		*end;
	unsigned long	 a, b;

	if (*s < '0' || *s > '9')
		return -1;
	a = strtoul(s, &end, 10);
	if (*end != '/' || end[1] < '0' || end[1] > '9')
		return -1;
	b = strtoul(end + 1, &end, 10);
	if (*end != '\0' || b < 1 || b > MFED_SHARDS_MAX || a >= b)
		return -1;
	*i = (unsigned)a;
	*n = (unsigned)b;
	return 0;
}

int
main(int argc, char *argv[])
{
	/* Every stream whose commits queue rows for other servers runs it at once. */
	struct mdaemon_timer	 timers[] = {
		{ "events", t_send, MSTREAM_EVENTS, 0, 0 },
		{ "typing", t_send, MSTREAM_TYPING, 0, 0 },
		{ "receipts", t_send, MSTREAM_RECEIPTS, 0, 0 },
		{ "presence", t_send, MSTREAM_PRESENCE, 0, 0 },
		{ "to-device", t_send, MSTREAM_TODEVICE, 0, 0 },
		{ "device-lists", t_send, MSTREAM_DEVICE_LISTS, 0, 0 },
	};
	static const struct option longopts[] = {
		{ "shard", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 }
	};
	char			 name[32];
	const char		*cfpath = NULL;
	int			 ch, debug = 0, rc;

	while ((ch = getopt_long(argc, argv, "c:d", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': cfpath = optarg; break;
		case 'd': debug = 1; break;
		case 'S':
			if (shard_parse(optarg, &shard, &nshards) == -1) {
				fprintf(stderr, "myelin-sender: --shard: expected I/N with"
				    " 0 <= I < N <= %d\n", MFED_SHARDS_MAX);
				return 2;
			}
			break;
		default: usage(); return 2;
		}
	}
	if (cfpath == NULL || optind != argc) {
		usage();
		return 2;
	}
	/* One sender: sender.prom; one of several: sender-I.prom. */
	if (nshards == 1)
		snprintf(name, sizeof(name), "sender");
	else
		snprintf(name, sizeof(name), "sender-%u", shard);
	if ((rc = mdaemon_open(&d, "myelin-sender", name, cfpath, debug, MDAEMON_KEY)) != 0)
		return rc;
	/* Every transaction is signed: without the key there is nothing to do. */
	if (d.dm_key == NULL) {
		mdaemon_close(&d);
		return 1;
	}
	if (nshards > 1)
		mlog_info(NULL, "shard %u of %u", shard, nshards);
	/* Outbound HTTP: CA files, resolv.conf and the like. */
	if (mdaemon_sandbox(&d, MSANDBOX_NET) == -1) {
		mdaemon_close(&d);
		return 1;
	}
	d.dm_metrics = metrics;
	mdaemon_run(&d, timers, sizeof(timers) / sizeof(timers[0]));
	mdaemon_close(&d);
	return 0;
}
