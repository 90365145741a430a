/*
 * Delayed events (MSC4140): what the timer daemon sends when their time
 * comes, through the one write path, and what a state change cancels.
 */
#include <stdlib.h>
#include <string.h>

#include "json/json.h"
#include "log/log.h"
#include "room/room.h"
#include "store/store.h"

/* Events sent per pass. */
#define DELAYED_BATCH	100

/*
 * Sends d in its own transaction, which also deletes its row: 1 sent or
 * dropped (the room refuses it: the sender left, lost the power...;
 * logged, as Synapse drops it), 0 another timer daemon took it first,
 * -1 a failure of storage (nothing changed; tried again later).
 */
static int
fire(struct mroom_ctx *ctx, const struct mdelayed *d)
{
	json_t		*content;
	char		*event_id = NULL;
	enum mroom_err	 e;
	int		 r;

	if ((content = json_loads(d->content, 0, NULL)) == NULL)
		return -1;
	if (mdb_begin(ctx->db) == -1) {
		json_decref(content);
		return -1;
	}
	if ((r = mstore_delayed_claim(ctx->db, d->delay_id)) != 1) {
		mdb_rollback(ctx->db);
		json_decref(content);
		return r;
	}
	ctx->why[0] = '\0';
	e = mroom_send(ctx, d->room_id, d->user_id, d->type, d->state_key, content, NULL,
	    NULL, &event_id);
	json_decref(content);
	if (e == MROOM_ERROR) {
		mdb_rollback(ctx->db);
		return -1;
	}
	if (e != MROOM_OK) {
		/* The refused event is dropped: keep the deletion alone. */
		mdb_rollback(ctx->db);
		mlog_warn(NULL, "delayed event %s of %s in %s refused (%d%s%s): dropped",
		    d->delay_id, d->user_id, d->room_id, (int)e, ctx->why[0] ? ": " : "",
		    ctx->why);
		if (mdb_begin(ctx->db) == -1)
			return -1;
		if (mstore_delayed_claim(ctx->db, d->delay_id) == -1) {
			mdb_rollback(ctx->db);
			return -1;
		}
	}
	if (mdb_commit(ctx->db) == -1) {
		free(event_id);
		return -1;
	}
	if (event_id != NULL)
		mlog_debug(NULL, "delayed event %s sent as %s", d->delay_id, event_id);
	free(event_id);
	return 1;
}

int64_t
mroom_delayed_run(struct mroom_ctx *ctx, int64_t now, int64_t *next)
{
	struct mdelayed	*due;
	size_t		 n, i;
	int64_t		 sent = 0;
	int		 r = 0;

	*next = 0;
	for (;;) {
		if (mstore_delayed_due(ctx->db, now, DELAYED_BATCH, &due, &n) == -1)
			return -1;
		for (i = 0, r = 0; i < n && r != -1; i++)
			if ((r = fire(ctx, &due[i])) == 1)
				sent++;
		for (i = 0; i < n; i++)
			mstore_delayed_fini(&due[i]);
		free(due);
		if (r == -1)
			return -1;
		if (n < DELAYED_BATCH)
			break;
	}
	if (mstore_delayed_next(ctx->db, next) == -1)
		return -1;
	return sent;
}
