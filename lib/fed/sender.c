/*
 * The sender of local events to other servers (S-S API, "Transactions"):
 * each destination's queued PDUs and EDUs (lib/store/fedq.c), oldest
 * first, in PUT /_matrix/federation/v1/send/{txnId} transactions of at
 * most 50 PDUs and 100 EDUs, retried with a doubling backoff while the
 * destination does not answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "fed/extern.h"
#include "log/log.h"
#include "store/store.h"

/* Spec: a transaction holds at most 50 PDUs (and 100 EDUs). */
#define TXN_MAX_PDUS	50
#define TXN_MAX_EDUS	100
/* A request to a destination waits at most this long. */
#define SEND_TIMEOUT_MS	(20 * 1000)

/* What this process sent to one destination (its metrics). */
enum txres { TX_SENT, TX_REFUSED, TX_FAILED, TX__MAX };
static const char *const txres_names[TX__MAX] = { "sent", "refused", "failed" };
struct dstat {
	char		*dest;
	uint64_t	 txns[TX__MAX];
	uint64_t	 pdus, edus;
};
static struct dstat	*dstats;
static size_t		 dstatsz;

/* The counters of dest, made on first use; NULL when out of memory (not counted). */
static struct dstat *
dstat_get(const char *dest)
{
	struct dstat	*p;

	for (size_t i = 0; i < dstatsz; i++)
		if (strcmp(dstats[i].dest, dest) == 0)
			return &dstats[i];
	if ((p = reallocarray(dstats, dstatsz + 1, sizeof(*dstats))) == NULL)
		return NULL;
	dstats = p;
	p = &dstats[dstatsz];
	memset(p, 0, sizeof(*p));
	if ((p->dest = strdup(dest)) == NULL)
		return NULL;
	dstatsz++;
	return p;
}

static void
count(const char *dest, enum txres res, size_t pdus, size_t edus)
{
	struct dstat *d = dstat_get(dest);

	if (d == NULL)
		return;
	d->txns[res]++;
	if (res == TX_SENT) {
		d->pdus += pdus;
		d->edus += edus;
	}
}

void
mfed_sender_metrics(FILE *f)
{
	fputs("# HELP myelin_fed_transactions_total Transactions this sender put to a"
	    " destination, by result (sent, refused: a 4xx, failed: retried later).\n"
	    "# TYPE myelin_fed_transactions_total counter\n"
	    "# HELP myelin_fed_pdus_sent_total PDUs a destination took from this sender.\n"
	    "# TYPE myelin_fed_pdus_sent_total counter\n"
	    "# HELP myelin_fed_edus_sent_total EDUs a destination took from this sender.\n"
	    "# TYPE myelin_fed_edus_sent_total counter\n", f);
	for (size_t i = 0; i < dstatsz; i++) {
		const struct dstat *d = &dstats[i];

		/* Server names (the grammar): no quote, backslash or newline. */
		if (strpbrk(d->dest, "\"\\\n") != NULL)
			continue;
		for (int r = 0; r < TX__MAX; r++)
			fprintf(f, "myelin_fed_transactions_total{destination=\"%s\",result=\"%s\"}"
			    " %llu\n", d->dest, txres_names[r], (unsigned long long)d->txns[r]);
		fprintf(f, "myelin_fed_pdus_sent_total{destination=\"%s\"} %llu\n"
		    "myelin_fed_edus_sent_total{destination=\"%s\"} %llu\n", d->dest,
		    (unsigned long long)d->pdus, d->dest, (unsigned long long)d->edus);
	}
}

unsigned
mfed_shard_of(const char *destination, unsigned nshards)
{
	uint32_t		 h = 2166136261u;
	const unsigned char	*p;

	if (nshards <= 1)
		return 0;
	for (p = (const unsigned char *)destination; *p != '\0'; p++) {
		h ^= *p;
		h *= 16777619u;
	}
	return h % nshards;
}

int64_t
mfed_backoff_next(int64_t prev)
{
	if (prev <= 0)
		return MFED_BACKOFF_MIN_MS;
	return prev >= MFED_BACKOFF_MAX_MS / 2 ? MFED_BACKOFF_MAX_MS : prev * 2;
}

/*
 * Forgets what destination took or refused: its rows up to positions
 * tp and te and the transaction in flight, and with healthy its backoff,
 * in one database transaction (a kill leaves all of it or none).  0 or -1.
 */
static int
taken(struct mdb *db, const char *dest, int64_t tp, int64_t te, int healthy)
{
	if (mdb_begin(db) == -1)
		return -1;
	if ((tp > 0 && mstore_fedq_done(db, dest, tp) == -1) ||
	    (te > 0 && mstore_fedq_edu_done(db, dest, te) == -1) ||
	    (healthy && mstore_fedq_backoff_set(db, dest, 0, 0) == -1) ||
	    mstore_fedq_txn_set(db, dest, 0, 0) == -1) {
		mdb_rollback(db);
		return -1;
	}
	return mdb_commit(db);
}

/*
 * Sends destination's queue in order until it is empty or the
 * destination fails: 1 sent all, 0 backing off, -1 store failure.
 *
 * A transaction is recorded (its last PDU and EDU positions) before it
 * is sent and forgotten with the rows it carried: a retry, by this
 * process or by one restarted after a kill, sends the same rows under
 * the same txnId, though more were queued meanwhile, so the receiver
 * takes each PDU once (S-S API: a txnId seen before is answered as
 * before).  Rows of EDUs replaced meanwhile (a newer typing) are left
 * out of it and go with the next.
 */
static int
send_dest(struct mdb *db, const struct mconfig *conf, const struct mkey *key,
    const char *dest, int64_t now)
{
	json_t	*pdus, *edus, *body, *reply;
	char	 path[128];
	int64_t	 last, elast, backoff, tp, te;
	size_t	 npdus, nedus;
	long	 status;
	int	 rc, again;

	for (;;) {
		if (mstore_fedq_txn_get(db, dest, &tp, &te) == -1)
			return -1;
		again = tp > 0 || te > 0;
		if ((pdus = mstore_fedq_batch_upto(db, dest, TXN_MAX_PDUS,
		    again ? tp : INT64_MAX, &last)) == NULL)
			return -1;
		if ((edus = mstore_fedq_edu_batch_upto(db, dest, TXN_MAX_EDUS,
		    again ? te : INT64_MAX, &elast)) == NULL) {
			json_decref(pdus);
			return -1;
		}
		if (last == 0 && elast == 0) {
			json_decref(pdus);
			json_decref(edus);
			/* A transaction in flight whose rows all went: nothing to send again. */
			if (again) {
				if (mstore_fedq_txn_set(db, dest, 0, 0) == -1)
					return -1;
				continue;
			}
			return 1;
		}
		if (!again) {
			tp = last;
			te = elast;
			if (mstore_fedq_txn_set(db, dest, tp, te) == -1) {
				json_decref(pdus);
				json_decref(edus);
				return -1;
			}
		}
		npdus = json_array_size(pdus);
		nedus = json_array_size(edus);
		snprintf(path, sizeof(path), "/_matrix/federation/v1/send/%lld.%lld",
		    (long long)tp, (long long)te);
		if ((body = json_pack("{s:s,s:I,s:o,s:o}", "origin", conf->server_name,
		    "origin_server_ts", (json_int_t)now, "pdus", pdus, "edus", edus)) == NULL)
			return -1;
		rc = mfed_http(conf, key, dest, "PUT", path, body, SEND_TIMEOUT_MS, &status,
		    &reply);
		json_decref(body);
		json_decref(reply);
		if (rc == 0 && status >= 200 && status < 300) {
			count(dest, TX_SENT, npdus, nedus);
			mlog_debug(NULL, "federation: %s took transaction %s (%zu PDUs, %zu EDUs)",
			    dest, path, npdus, nedus);
			if (taken(db, dest, tp, te, 1) == -1)
				return -1;
			continue;
		}
		if (rc == 0 && status >= 400 && status < 500 && status != 429) {
			/* Refused as it is: sending it again would not help. */
			count(dest, TX_REFUSED, 0, 0);
			mlog_warn(NULL, "federation: %s refused transaction %s: %ld", dest, path,
			    status);
			if (taken(db, dest, tp, te, 0) == -1)
				return -1;
			continue;
		}
		count(dest, TX_FAILED, 0, 0);
		if ((backoff = mstore_fedq_backoff(db, dest)) == -1)
			return -1;
		backoff = mfed_backoff_next(backoff);
		mlog_info(NULL, "federation: %s did not take transaction %s (%ld):"
		    " again in %lld ms", dest, path, status, (long long)backoff);
		return mstore_fedq_backoff_set(db, dest, now + backoff, backoff) == -1 ? -1 : 0;
	}
}

int64_t
mfed_send_due(struct mdb *db, const struct mconfig *conf, const struct mkey *key,
    int64_t now, unsigned shard, unsigned nshards)
{
	json_t		*due;
	const json_t	*v;
	int64_t		 next = MFED_SENDER_GUARD_MS, ts;
	size_t		 i;

	if ((due = mstore_fedq_due(db, now)) == NULL)
		return MFED_BACKOFF_MIN_MS;
	json_array_foreach(due, i, v)
		/* Another sender's destination (--shard): never touched here. */
		if (mfed_shard_of(json_string_value(v), nshards) == shard &&
		    send_dest(db, conf, key, json_string_value(v), now) == -1)
			mlog_err(NULL, "federation: the queue of %s: store failed",
			    json_string_value(v));
	json_decref(due);
	if (mstore_fedq_next_retry(db, now, &ts) == 1 && ts - now < next)
		next = ts > now ? ts - now : 0;
	return next;
}
