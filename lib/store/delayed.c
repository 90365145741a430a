/* Storage of delayed events (MSC4140): see store/delayed.h. */
#include <stdlib.h>

#include "json/json.h"
#include "store/extern.h"

void
mstore_delayed_fini(struct mdelayed *d)
{
	free(d->delay_id);
	free(d->user_id);
	free(d->device_id);
	free(d->room_id);
	free(d->type);
	free(d->state_key);
	free(d->content);
}

int
mstore_delayed_add(struct mdb *db, const struct mdelayed *d)
{
	return mdb_exec(db, MSTMT_DELAYED_ADD, "sssssssiii", d->delay_id, d->user_id,
	    d->device_id, d->room_id, d->type, d->state_key, d->content, d->delay_ms,
	    d->running_since, d->running_since + d->delay_ms) < 0 ? -1 : 0;
}

int64_t
mstore_delayed_count(struct mdb *db, const char *user_id)
{
	int64_t n = 0;

	return mcur_first_int(mdb_query(db, MSTMT_DELAYED_COUNT, "s", user_id), &n) == -1 ?
	    -1 : n;
}

static json_t *
list_row(struct mcur *c)
{
	json_t	*content = json_loads(mcur_text(c, 4), 0, NULL), *o;

	if (content == NULL)
		return NULL;
	o = json_pack("{s:s,s:s,s:s,s:o,s:I,s:I}", "delay_id", mcur_text(c, 0),
	    "room_id", mcur_text(c, 1), "type", mcur_text(c, 2), "content", content,
	    "delay", (json_int_t)mcur_int(c, 5), "running_since", (json_int_t)mcur_int(c, 6));
	if (o != NULL && !mcur_null(c, 3))
		json_object_set_new(o, "state_key", json_string(mcur_text(c, 3)));
	return o;
}

json_t *
mstore_delayed_list(struct mdb *db, const char *user_id)
{
	return mcur_json_array(mdb_query(db, MSTMT_DELAYED_LIST, "s", user_id), list_row);
}

int
mstore_delayed_restart(struct mdb *db, const char *delay_id, const char *user_id, int64_t now)
{
	return mstore_changed(mdb_exec(db, MSTMT_DELAYED_RESTART, "ssi", delay_id, user_id, now));
}

int
mstore_delayed_due_now(struct mdb *db, const char *delay_id, const char *user_id, int64_t now)
{
	return mstore_changed(mdb_exec(db, MSTMT_DELAYED_DUE_NOW, "ssi", delay_id, user_id, now));
}

int
mstore_delayed_cancel(struct mdb *db, const char *delay_id, const char *user_id)
{
	return mstore_changed(mdb_exec(db, MSTMT_DELAYED_DEL, "ss", delay_id, user_id));
}

static int
due_row(struct mcur *c, void *elem)
{
	struct mdelayed *d = elem;

	d->delay_id = mcur_dup(c, 0);
	d->user_id = mcur_dup(c, 1);
	d->device_id = mcur_dup(c, 2);
	d->room_id = mcur_dup(c, 3);
	d->type = mcur_dup(c, 4);
	d->state_key = mcur_dup(c, 5);
	d->content = mcur_dup(c, 6);
	return d->delay_id == NULL || d->user_id == NULL || d->room_id == NULL ||
	    d->type == NULL || d->content == NULL || (d->state_key == NULL && !mcur_null(c, 5)) ?
	    -1 : 0;
}

static void
due_fini(void *elem)
{
	mstore_delayed_fini(elem);
}

int
mstore_delayed_due(struct mdb *db, int64_t now, int64_t limit, struct mdelayed **out,
    size_t *outsz)
{
	*out = NULL;
	*outsz = 0;
	return mcur_collect(mdb_query(db, MSTMT_DELAYED_DUE, "ii", now, limit),
	    sizeof(struct mdelayed), due_row, due_fini, (void **)out, outsz);
}

int
mstore_delayed_claim(struct mdb *db, const char *delay_id)
{
	return mstore_changed(mdb_exec(db, MSTMT_DELAYED_CLAIM, "s", delay_id));
}

int
mstore_delayed_next(struct mdb *db, int64_t *next)
{
	struct mcur	*c;
	int		 rc;

	*next = 0;
	if ((c = mdb_query(db, MSTMT_DELAYED_NEXT, "")) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1 && !mcur_null(c, 0))
		*next = mcur_int(c, 0);
	mcur_free(c);
	return rc == -1 ? -1 : 0;
}

int
mstore_delayed_cancel_state(struct mdb *db, const char *room_id, const char *type,
    const char *state_key, const char *sender)
{
	return mdb_exec(db, MSTMT_DELAYED_CANCEL_STATE, "ssss", room_id, type, state_key,
	    sender) < 0 ? -1 : 0;
}
