/* Delayed events (MSC4140) as a timer of myelin-timerd. */
#include <string.h>

#include "config/config.h"
#include "log/log.h"
#include "room/room.h"
#include "store/store.h"
#include "timers.h"

/*
 * The longest sleep: a client's new delayed event is a row, not a
 * stream move, so the timer looks again at least this often (one
 * indexed MIN query); a restart or send of one is seen as soon.
 */
#define DELAYED_POLL_MS		1000

static const struct mconfig	*dl_conf;
static const struct mkey	*dl_key;

void
t_delayed_init(const struct mconfig *conf, const struct mkey *key)
{
	dl_conf = conf;
	dl_key = key;
}

int64_t
t_delayed(struct mdb *db, struct mnotify *notify, int64_t now)
{
	struct mroom_ctx	 ctx;
	int64_t			 n, next;

	(void)notify;
	if (dl_key == NULL || dl_conf == NULL || dl_conf->max_event_delay_ms <= 0)
		return NOMORE;
	memset(&ctx, 0, sizeof(ctx));
	ctx.db = db;
	ctx.server_name = dl_conf->server_name;
	ctx.key = dl_key;
	if ((n = mroom_delayed_run(&ctx, now, &next)) == -1) {
		mlog_err(NULL, "%s: cannot send delayed events", __func__);
		return DELAYED_POLL_MS;
	}
	if (n > 0)
		mlog_debug(NULL, "sent %lld delayed events", (long long)n);
	if (next == 0 || next - now > DELAYED_POLL_MS)
		return DELAYED_POLL_MS;
	return next > now ? next - now : 0;
}
