/* MSC2228: message events pruned at the time their sender chose. */
#include <stdlib.h>
#include <string.h>

#include "events/events.h"
#include "json/json.h"
#include "log/log.h"
#include "room/room.h"
#include "store/store.h"

/* Events pruned per transaction. */
#define EXPIRY_BATCH	100

int
mroom_expiry_note(struct mdb *db, const char *event_id, const char *state_key,
    const json_t *content)
{
	const json_t *at = json_object_get(content, MROOM_SELF_DESTRUCT_AFTER);

	/* As Synapse: an integer, and never a state event. */
	if (state_key != NULL || !json_is_integer(at))
		return 0;
	return mstore_expiry_add(db, event_id, (int64_t)json_integer_value(at));
}

/* Prunes one stored event in place, as a redaction would; gone already is fine.  0 or -1. */
static int
prune(struct mdb *db, const char *event_id)
{
	struct mevrow		 row;
	struct mroom		 room;
	const struct mroomver	*ver = NULL;
	json_t			*red = NULL;
	int			 r, rc = -1;

	if ((r = mstore_event_get(db, event_id, &row)) != 1)
		return r;
	if (mstore_room_get(db, row.room_id, &room) == 1) {
		ver = mroomver_get(room.version);
		mroom_fini(&room);
	}
	if (ver == NULL)
		mlog_warn(NULL, "%s: %s: room version unknown, left as it is", __func__, event_id);
	else if ((red = mevent_redact(row.json, ver)) == NULL ||
	    mstore_event_redact(db, event_id, red, row.redacted_by) < 0 ||
	    mstore_search_del(db, event_id) == -1)
		goto out;
	rc = 0;
out:
	json_decref(red);
	mevrow_fini(&row);
	return rc;
}

int64_t
mroom_expiry_run(struct mdb *db, int64_t now, int64_t *next)
{
	json_t	*due = NULL, *id;
	int64_t	 n = 0;
	size_t	 i;

	*next = 0;
	for (;;) {
		if ((due = mstore_expiry_due(db, now, EXPIRY_BATCH)) == NULL)
			return -1;
		if (json_array_size(due) == 0)
			break;
		if (mdb_begin(db) == -1)
			goto fail;
		json_array_foreach(due, i, id)
			if (prune(db, json_string_value(id)) == -1 ||
			    mstore_expiry_del(db, json_string_value(id)) == -1) {
				mdb_rollback(db);
				goto fail;
			}
		if (mdb_commit(db) == -1)
			goto fail;
		n += (int64_t)json_array_size(due);
		json_decref(due);
		due = NULL;
	}
	json_decref(due);
	if (mstore_expiry_next(db, next) == -1)
		return -1;
	return n;
fail:
	json_decref(due);
	return -1;
}
