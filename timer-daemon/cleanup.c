/* The cleanup timer of myelin-timerd: rows past their time, in bounded batches. */
#include <stdint.h>

#include "log/log.h"
#include "store/store.h"
#include "timers.h"

/* Synapse's cleanups run every few minutes; a batch is one short transaction. */
#define CLEANUP_EVERY_MS	(5 * 60 * 1000)
#define CLEANUP_BATCH		1000

/*
 * Runs one kind of cleanup until a batch comes back short.  A failed
 * batch ends the run; the next run starts over.  The rows deleted, or -1.
 */
static int64_t
clean_all(struct mdb *db, const char *what, int64_t (*fn)(struct mdb *, int64_t, int64_t),
    int64_t arg)
{
	int64_t	n, total = 0;

	do {
		if ((n = fn(db, arg, CLEANUP_BATCH)) == -1) {
			mlog_warn(NULL, "cleanup: %s failed", what);
			return -1;
		}
		total += n;
	} while (n >= CLEANUP_BATCH);
	if (total > 0)
		mlog_debug(NULL, "cleanup: %lld %s deleted", (long long)total, what);
	return total;
}

/*
 * Login tokens past valid_until_ms, refresh tokens past expiry_ts with
 * their access tokens, to-device transaction IDs older than a day and
 * sliding-sync connections unused for their lifetime.  Every row says
 * its own time, so nothing is lost across a restart, and two timerd
 * processes only delete the same rows twice.  Registration tokens stay:
 * Synapse keeps them past expiry_time (registration refuses them) and
 * the admin API lists them.
 */
int64_t
t_cleanup(struct mdb *db, struct mnotify *notify, int64_t now)
{
	(void)notify;
	(void)clean_all(db, "login tokens", mstore_clean_login_tokens, now);
	(void)clean_all(db, "refresh tokens", mstore_clean_refresh_tokens, now);
	(void)clean_all(db, "to-device transaction IDs", mstore_clean_todevice_txns, now);
	(void)clean_all(db, "sliding-sync connections", mstore_sliding_expire,
	    mstore_sliding_expire_before(now));
	return CLEANUP_EVERY_MS;
}
