/* The presence stream of /sync, and the set_presence a sync implies. */
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"
#include "room/filter.h"
#include "store/store.h"
#include "sync.h"

static int64_t
current(struct mreq *req)
{
	return mstore_estream_pos(req->db, MSTREAM_PRESENCE);
}

/*
 * Spec: C-S API, GET /sync: presence.events, the m.presence of the user
 * and of users joined to a room with them, that changed in (from, to].
 * The filter's presence (with its limit) applies.
 */
static int
collect(struct syncctx *ctx)
{
	struct mreq	*req = ctx->req;
	int64_t		 from = ctx->st->initial ? 0 : ctx->from.p[SPOS_PRESENCE];
	const json_t	*pf = json_object_get(ctx->st->filter, "presence");
	const json_t	*limit = json_object_get(pf, "limit");
	json_t		*events, *ev, *out;
	size_t		 i;

	if (from >= ctx->to.p[SPOS_PRESENCE])
		return 0;
	if ((events = mstore_presence_sync(req->db, req->auth.user_id, from,
	    ctx->to.p[SPOS_PRESENCE], mclock_now_ms())) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	out = json_object_get(json_object_get(ctx->resp, "presence"), "events");
	json_array_foreach(events, i, ev) {
		if (json_is_number(limit) && (double)json_array_size(out) >= json_number_value(limit))
			break;
		if (!mfilter_event_match(pf, NULL, ev))
			continue;
		json_array_append(out, ev);
		ctx->empty = 0;
	}
	json_decref(events);
	return 0;
}

/*
 * Spec: C-S API, GET /sync, set_presence: online (the default) and
 * unavailable mark the user so; offline leaves their presence alone.
 * Written only when it changes, so a sync costs one indexed read here.
 */
int
sync_set_presence(struct mreq *req)
{
	char	*sp = mreq_query(req, "set_presence");
	int	 rc;

	if (sp != NULL && !mpresence_valid(sp)) {
		free(sp);
		return mfcgi_fail(req, MERR_INVALID_PARAM,
		    "set_presence must be online, unavailable or offline");
	}
	if (sp != NULL && strcmp(sp, "offline") == 0) {
		free(sp);
		return 0;
	}
	rc = mstore_presence_touch(req->db, req->auth.user_id, sp != NULL ? sp : "online",
	    mclock_now_ms());
	free(sp);
	if (rc == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return 0;
}

const struct syncstream sync_presence = { SPOS_PRESENCE, "presence", current, collect };
