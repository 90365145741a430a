/* The federation sender as a timer of myelin-timerd: the outbound queue, per destination. */
#include "fed/fed.h"
#include "timers.h"

static const struct mconfig	*fs_conf;
static const struct mkey	*fs_key;

void
t_fedsend_init(const struct mconfig *conf, const struct mkey *key)
{
	fs_conf = conf;
	fs_key = key;
}

int64_t
t_fedsend(struct mdb *db, struct mnotify *notify, int64_t now)
{
	(void)notify;
	if (fs_key == NULL)
		return NOMORE;
	return mfed_send_due(db, fs_conf, fs_key, now);
}
