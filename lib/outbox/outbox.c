/* The outbound queue's delivery loop, shared by every daemon that sends rows of lib/store/outbox. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "clock/clock.h"
#include "log/log.h"
#include "notify/notify.h"
#include "outbox/outbox.h"
#include "store/store.h"

/* Destinations looked at per round. */
#define DUE_MAX		64

int64_t
moutbox_backoff(const struct moutbox_kind *k, int64_t failures)
{
	int64_t	 ms = k->backoff_min_ms > 0 ? k->backoff_min_ms : 1000;

	for (int64_t i = 1; i < failures && ms < k->backoff_max_ms; i++)
		ms *= 2;
	return k->backoff_max_ms > 0 && ms > k->backoff_max_ms ? k->backoff_max_ms : ms;
}

char *
moutbox_owner_new(void)
{
	char	 host[256], *s;

	if (gethostname(host, sizeof(host)) == -1)
		strcpy(host, "?");
	host[sizeof(host) - 1] = '\0';
	if (asprintf(&s, "%s/%ld/%08x", host, (long)getpid(), randombytes_random()) == -1)
		return NULL;
	return s;
}

/*
 * Delivers the head of one destination owner holds until it is empty,
 * fails, or had its turn.  Returns 1 when rows may be left that are due
 * now (its turn ended), else 0.
 */
static int
run_dest(struct mdb *db, const struct moutbox_kind *k, const char *dest, const char *owner)
{
	struct moutbox_row	*rows = NULL;
	int64_t			*ids = NULL, failures, since, now;
	size_t			 n = 0, send, t, batch = k->batch > 0 ? k->batch : 1;
	enum moutbox_res	 res;
	int			 kept;

	if ((ids = calloc(batch, sizeof(*ids))) == NULL)
		return 0;
	for (int turn = 0; ; turn++) {
		moutbox_row_list_free(rows, n);
		rows = NULL;
		n = 0;
		if (turn == MOUTBOX_TURN) {
			mstore_outbox_release(db, k->kind, dest, owner);
			free(ids);
			return 1;
		}
		if (mstore_outbox_head(db, k->kind, dest, (int64_t)batch, &rows, &n) == -1) {
			mlog_err(NULL, "%s: %s: cannot read the queue", __func__, k->kind);
			break;
		}
		if (n == 0) {
			mstore_outbox_release(db, k->kind, dest, owner);
			break;
		}
		send = n;
		if (k->take != NULL && (t = k->take(k->arg, rows, n)) >= 1 && t < n)
			send = t;
		res = k->deliver(k->arg, db, dest, rows, send);
		now = mclock_now_ms();
		if (k->stats != NULL) {
			k->stats->res[res]++;
			if (res == MOUTBOX_DONE)
				k->stats->rows += send;
		}
		if (res == MOUTBOX_GONE) {
			mstore_outbox_drop(db, k->kind, dest);
			mstore_outbox_release(db, k->kind, dest, owner);
			break;
		}
		if (res == MOUTBOX_RETRY) {
			if (mstore_outbox_dest_get(db, k->kind, dest, &failures, &since) != 1)
				failures = since = 0;
			/*
			 * Synapse gives up on a push after a day of failures, so a
			 * gateway fixed later is not flooded with stale ones; the
			 * next failure starts a new day.
			 */
			if (k->give_up_ms > 0 && since > 0 && now - since >= k->give_up_ms) {
				mlog_warn(NULL, "%s: giving up on %zu rows after %lld ms of failures",
				    k->kind, send, (long long)(now - since));
				for (size_t i = 0; i < send; i++)
					ids[i] = rows[i].id;
				mstore_outbox_done(db, k->kind, dest, owner, ids, send, 0);
				if (k->stats != NULL)
					k->stats->given_up += send;
				mstore_outbox_fail(db, k->kind, dest, owner, now, now, 1);
				break;
			}
			mstore_outbox_fail(db, k->kind, dest, owner,
			    now + moutbox_backoff(k, failures + 1), now, 0);
			break;
		}
		for (size_t i = 0; i < send; i++)
			ids[i] = rows[i].id;
		if ((kept = mstore_outbox_done(db, k->kind, dest, owner, ids, send,
		    now + MOUTBOX_LEASE_MS)) == -1) {
			/*
			 * Delivered but not recorded: the rows are sent again once
			 * the lease ends.  At least once, never lost.
			 */
			mlog_err(NULL, "%s: %s: cannot record a delivery", __func__, k->kind);
			break;
		}
		if (kept == 0) {
			mlog_warn(NULL, "%s: lost the lease of a destination", k->kind);
			break;
		}
	}
	moutbox_row_list_free(rows, n);
	free(ids);
	return 0;
}

int64_t
moutbox_run(struct mdb *db, const struct moutbox_kind *k, const char *owner, int64_t now)
{
	char	**dests = NULL;
	size_t	  n = 0;
	int	  more = 0;
	int64_t	  next;

	if (mstore_outbox_due(db, k->kind, now, DUE_MAX, &dests, &n) == -1) {
		mlog_err(NULL, "%s: %s: cannot read the queue", __func__, k->kind);
		return 1000;
	}
	if (n == DUE_MAX)
		more = 1;
	for (size_t i = 0; i < n; i++) {
		int c = mstore_outbox_claim(db, k->kind, dests[i], owner,
		    mclock_now_ms() + MOUTBOX_LEASE_MS, now);

		if (c == 1 && run_dest(db, k, dests[i], owner))
			more = 1;
	}
	mstore_outbox_dests_free(dests, n);
	if (more)
		return 0;
	if ((next = mstore_outbox_next(db, k->kind, now)) == -1)
		return 1000;
	if (next == 0)
		return -1;
	return next > now ? next - now : 0;
}

void
moutbox_metrics(FILE *f, const struct moutbox_kind *kinds, size_t n)
{
	static const char *const res[] = { "done", "drop", "gone", "retry" };

	fputs("# HELP myelin_outbox_requests_total Delivery requests of a kind, by result"
	    " (done, drop: never deliverable, gone: the destination is, retry: failed).\n"
	    "# TYPE myelin_outbox_requests_total counter\n"
	    "# HELP myelin_outbox_rows_delivered_total Rows of a kind delivered.\n"
	    "# TYPE myelin_outbox_rows_delivered_total counter\n"
	    "# HELP myelin_outbox_rows_given_up_total Rows of a kind dropped after failing"
	    " for too long.\n"
	    "# TYPE myelin_outbox_rows_given_up_total counter\n", f);
	for (size_t i = 0; i < n; i++) {
		const struct moutbox_stats *st = kinds[i].stats;

		if (st == NULL)
			continue;
		for (size_t r = 0; r < sizeof(res) / sizeof(res[0]); r++)
			fprintf(f, "myelin_outbox_requests_total{kind=\"%s\",result=\"%s\"} %llu\n",
			    kinds[i].kind, res[r], (unsigned long long)st->res[r]);
		fprintf(f, "myelin_outbox_rows_delivered_total{kind=\"%s\"} %llu\n"
		    "myelin_outbox_rows_given_up_total{kind=\"%s\"} %llu\n", kinds[i].kind,
		    (unsigned long long)st->rows, kinds[i].kind, (unsigned long long)st->given_up);
	}
}
