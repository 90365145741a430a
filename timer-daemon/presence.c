/* The presence timer of myelin-timerd: presence lapses when its user is idle. */
#include "log/log.h"
#include "store/store.h"
#include "timers.h"

/*
 * As in Synapse: online turns unavailable after 5 minutes without
 * activity (a sync that keeps the user online, a PUT of online), and
 * online or unavailable turns offline after 30.  A lapse a little late
 * does no harm, so a fixed period serves.
 */
#define PRESENCE_IDLE_MS	(5 * 60 * 1000)
#define PRESENCE_OFFLINE_MS	(30 * 60 * 1000)
#define PRESENCE_PERIOD_MS	(30 * 1000)

int64_t
t_presence(struct mdb *db, struct mnotify *notify, int64_t now)
{
	int64_t n;

	(void)notify;	/* the store's commit wakes the syncs */
	if ((n = mstore_presence_lapse(db, now - PRESENCE_IDLE_MS,
	    now - PRESENCE_OFFLINE_MS)) == -1) {
		mlog_err(NULL, "%s: cannot lapse presence", __func__);
		return PRESENCE_PERIOD_MS;
	}
	if (n > 0)
		mlog_debug(NULL, "presence of %lld lapsed", (long long)n);
	return PRESENCE_PERIOD_MS;
}
