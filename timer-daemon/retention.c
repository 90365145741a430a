/* Message retention as a timer of myelin-timerd (m.room.retention, retention.*). */
#include <stdint.h>

#include "config/config.h"
#include "log/log.h"
#include "room/room.h"
#include "store/store.h"
#include "timers.h"

static const struct mconfig	*rt_conf;

void
t_retention_init(const struct mconfig *conf)
{
	rt_conf = conf;
}

/*
 * Synapse's purge job: every retention.purge_interval, each room's
 * messages older than its max_lifetime go (lib/room/retention.c).  A
 * failed run is tried again at the next interval.
 */
int64_t
t_retention(struct mdb *db, struct mnotify *notify, int64_t now)
{
	int64_t	n;

	(void)notify;
	if (rt_conf == NULL || !rt_conf->retention_enabled)
		return NOMORE;
	if ((n = mroom_retention_run(db, rt_conf, now)) == -1)
		mlog_warn(NULL, "message retention: purge failed");
	else if (n > 0)
		mlog_info(NULL, "message retention: %lld events purged", (long long)n);
	return rt_conf->retention_purge_interval_ms;
}
