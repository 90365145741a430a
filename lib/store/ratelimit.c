/*
 * Storage of the rate limits: the generic cell rate algorithm over one
 * row per bucket.  The row holds the time (in microseconds) at which
 * the bucket is empty again; an action moves it one interval later,
 * and is refused when that would put it more than burst intervals past
 * now.  Changes are compare-and-swap on that time, so that processes on
 * any host sharing the database count together without a transaction
 * and without a lock held over the caller's own.
 */
#include <stdlib.h>

#include "store/extern.h"

/* Tries before a bucket everybody is changing at once counts as full. */
#define RL_TRIES	8

int
mstore_ratelimit_take(struct mdb *db, const char *name, const char *bucket,
    int64_t now_ms, int64_t interval_us, int64_t burst, int update, int64_t *retry_ms)
{
	int64_t	 now = now_ms * 1000, tat, base, next;
	int64_t	 n;
	int	 found, i;

	*retry_ms = 0;
	if (interval_us < 1)
		interval_us = 1;
	/*
	 * A bucket with room takes the action in one statement; the loop
	 * below finds out why one did not (new, or full: retry_ms).  In
	 * double: burst times a long interval may pass int64.
	 */
	if (update) {
		double	 ahead = (double)burst * (double)interval_us;
		int64_t	 limit = ahead >= 4e18 ? INT64_C(4000000000000000000) :
			    ahead < 0 ? 0 : (int64_t)ahead;

		if ((n = mdb_exec(db, MSTMT_RL_TAKE, "ssiii", name, bucket, now, interval_us,
		    limit)) < 0)
			return -1;
		if (n > 0)
			return 1;
	}
	for (i = 0; i < RL_TRIES; i++) {
		if ((found = mcur_first_int(mdb_query(db, MSTMT_RL_GET, "ss", name, bucket),
		    &tat)) == -1)
			return -1;
		base = found && tat > now ? tat : now;
		next = base + interval_us;
		/* In double: burst times a long interval may pass int64. */
		if ((double)(next - now) > (double)burst * (double)interval_us) {
			double wait = (double)(next - now) - (double)burst * (double)interval_us;

			*retry_ms = (int64_t)((wait + 999) / 1000);
			if (*retry_ms < 1)
				*retry_ms = 1;
			return 0;
		}
		if (!update)
			return 1;
		if (!found) {
			if (mdb_exec(db, MSTMT_RL_DEL_OLD, "i", now) < 0)
				return -1;
			n = mdb_exec(db, MSTMT_RL_ADD, "ssi", name, bucket, next);
		} else
			n = mdb_exec(db, MSTMT_RL_SWAP, "ssii", name, bucket, tat, next);
		if (n < 0)
			return -1;
		if (n > 0)
			return 1;
		/* Another process changed the bucket in between: read it again. */
	}
	*retry_ms = interval_us / 1000 > 0 ? interval_us / 1000 : 1;
	return 0;
}

int
mstore_ratelimit_override_get(struct mdb *db, const char *user_id, int64_t *per_second,
    int64_t *burst)
{
	struct mcur	*c;
	int		 rc;

	*per_second = *burst = 0;
	if ((c = mdb_query(db, MSTMT_RL_OVERRIDE_GET, "s", user_id)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1) {
		*per_second = mcur_int(c, 0);
		*burst = mcur_int(c, 1);
	}
	mcur_free(c);
	return rc;
}

int
mstore_ratelimit_override_put(struct mdb *db, const char *user_id, int64_t per_second,
    int64_t burst)
{
	return mdb_exec(db, MSTMT_RL_OVERRIDE_PUT, "sii", user_id, per_second, burst) < 0 ?
	    -1 : 0;
}

int
mstore_ratelimit_override_del(struct mdb *db, const char *user_id)
{
	return mstore_changed(mdb_exec(db, MSTMT_RL_OVERRIDE_DEL, "s", user_id));
}
