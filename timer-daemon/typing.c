/* The typing timer of myelin-timerd: typing stops on its own when its timeout passes. */
#include "log/log.h"
#include "store/store.h"
#include "timers.h"

/*
 * The longest sleep.  Starting to type bumps the typing stream, which
 * runs this timer at once (see main.c), so the guard only bounds the
 * delay for writers that cannot reach this host's notify segment (other
 * hosts on PostgreSQL); without a segment at all, poll each second.
 */
#define TYPING_GUARD_MS		5000
#define TYPING_POLL_MS		1000

int64_t
t_typing(struct mdb *db, struct mnotify *notify, int64_t now)
{
	int64_t	n, next = 0, cap = notify != NULL ? TYPING_GUARD_MS : TYPING_POLL_MS;

	if ((n = mstore_typing_expire(db, now, &next)) == -1) {
		mlog_err(NULL, "%s: cannot expire typing", __func__);
		return cap;
	}
	/* The store's commit woke the syncs. */
	if (n > 0)
		mlog_debug(NULL, "%lld stopped typing", (long long)n);
	if (next == 0 || next - now > cap)
		return cap;
	return next > now ? next - now : 0;
}
