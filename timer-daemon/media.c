/* Media retention as a timer of myelin-timerd: old local and remote media, stale previews. */
#include <stdint.h>

#include <jansson.h>

#include "admin/admin.h"
#include "config/config.h"
#include "log/log.h"
#include "store/store.h"
#include "timers.h"

/* Synapse looks once an hour; a purge is batched, so a look costs little. */
#define MEDIA_RETENTION_EVERY_MS	(60 * 60 * 1000)

static const struct mconfig	*mr_conf;

void
t_media_init(const struct mconfig *conf)
{
	mr_conf = conf;
}

/*
 * media_retention_local_lifetime / _remote_lifetime, as Synapse names
 * them: media last accessed longer ago than that goes (quarantined
 * media stays), rows and files; and URL previews past their expiry.
 */
int64_t
t_media(struct mdb *db, struct mnotify *notify, int64_t now)
{
	struct madmin	 a = { .db = db, .conf = mr_conf };
	json_t		*deleted;

	(void)notify;
	if (mr_conf == NULL)
		return NOMORE;
	(void)mstore_preview_expire(db, now);
	if ((deleted = json_array()) == NULL)
		return MEDIA_RETENTION_EVERY_MS;
	if (mr_conf->media_retention_local_ms > 0 &&
	    madmin_media_purge(&a, now - mr_conf->media_retention_local_ms, 0, NULL, deleted,
	    NULL, NULL) != MADMIN_OK)
		mlog_warn(NULL, "media retention: local purge failed");
	if (mr_conf->media_retention_remote_ms > 0 &&
	    madmin_media_purge_remote(&a, now - mr_conf->media_retention_remote_ms, deleted,
	    NULL, NULL) != MADMIN_OK)
		mlog_warn(NULL, "media retention: remote purge failed");
	if (json_array_size(deleted) > 0)
		mlog_info(NULL, "media retention: %zu media deleted", json_array_size(deleted));
	json_decref(deleted);
	return MEDIA_RETENTION_EVERY_MS;
}
