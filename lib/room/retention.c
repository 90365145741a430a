/* Message retention (m.room.retention, Synapse's retention section): policies and purges. */
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "json/json.h"
#include "log/log.h"
#include "room/room.h"
#include "store/store.h"

/* Events deleted per transaction: a purge never holds the database long. */
#define RETENTION_BATCH	500

int
mroom_retention_check(const char *type, const char *state_key, const json_t *content,
    char *why, size_t whysz)
{
	const json_t	*min, *max;

	if (strcmp(type, MROOM_RETENTION) != 0 || state_key == NULL)
		return 0;
	min = json_object_get(content, "min_lifetime");
	max = json_object_get(content, "max_lifetime");
	/* Synapse's event validator: integers (null is absent), min no greater than max. */
	if (json_is_null(min))
		min = NULL;
	if (json_is_null(max))
		max = NULL;
	if (min != NULL && !json_is_integer(min)) {
		snprintf(why, whysz, "'min_lifetime' must be an integer");
		return -1;
	}
	if (max != NULL && !json_is_integer(max)) {
		snprintf(why, whysz, "'max_lifetime' must be an integer");
		return -1;
	}
	if (min != NULL && max != NULL && json_integer_value(min) > json_integer_value(max)) {
		snprintf(why, whysz, "'min_lifetime' can't be greater than 'max_lifetime'");
		return -1;
	}
	return 0;
}

int64_t
mroom_retention_lifetime(const struct mconfig *conf, const json_t *content)
{
	const json_t	*max = json_object_get(content, "max_lifetime");
	int64_t		 ms;

	if (!conf->retention_enabled)
		return 0;
	/* A room without one (or without max_lifetime) has the default policy's. */
	if (json_is_integer(max) && json_integer_value(max) > 0)
		ms = (int64_t)json_integer_value(max);
	else
		ms = conf->retention_default_max_ms;
	if (ms <= 0)
		return 0;
	if (conf->retention_allowed_min_ms > 0 && ms < conf->retention_allowed_min_ms)
		ms = conf->retention_allowed_min_ms;
	if (conf->retention_allowed_max_ms > 0 && ms > conf->retention_allowed_max_ms)
		ms = conf->retention_allowed_max_ms;
	return ms;
}

int64_t
mroom_retention_run(struct mdb *db, const struct mconfig *conf, int64_t now)
{
	json_t		*rooms, *pair;
	const char	*room_id;
	int64_t		 lifetime, n, total = 0;
	size_t		 i;

	if ((rooms = mstore_retention_rooms(db)) == NULL)
		return -1;
	json_array_foreach(rooms, i, pair) {
		room_id = json_string_value(json_array_get(pair, 0));
		if ((lifetime = mroom_retention_lifetime(conf, json_array_get(pair, 1))) == 0)
			continue;
		do {
			if (mdb_begin(db) == -1)
				goto fail;
			if ((n = mstore_retention_purge(db, room_id, now - lifetime,
			    RETENTION_BATCH)) == -1) {
				mdb_rollback(db);
				goto fail;
			}
			if (mdb_commit(db) == -1)
				goto fail;
			total += n;
		} while (n > 0);
	}
	json_decref(rooms);
	return total;
fail:
	mlog_err(NULL, "%s: purge of %s failed", __func__, room_id);
	json_decref(rooms);
	return -1;
}
