/* The message expiry timer of myelin-timerd (MSC2228, enable_ephemeral_messages). */
#include "log/log.h"
#include "room/room.h"
#include "store/store.h"
#include "timers.h"

/*
 * The longest sleep.  A new event moves the events stream, which runs
 * this timer at once (see main.c), so a message due soon is seen when
 * sent; the guard bounds the delay for senders on other hosts.
 */
#define EXPIRY_GUARD_MS		(60 * 1000)

int64_t
t_expiry(struct mdb *db, struct mnotify *notify, int64_t now)
{
	int64_t	n, next;

	(void)notify;
	if ((n = mroom_expiry_run(db, now, &next)) == -1) {
		mlog_err(NULL, "%s: cannot prune expired messages", __func__);
		return EXPIRY_GUARD_MS;
	}
	if (n > 0)
		mlog_debug(NULL, "pruned %lld expired messages", (long long)n);
	if (next == 0 || next - now > EXPIRY_GUARD_MS)
		return EXPIRY_GUARD_MS;
	return next > now ? next - now : 0;
}
