/* The presence stream of /sync, and the set_presence a sync implies. */
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"
#include "fed/fed.h"
#include "json/json.h"
#include "log/log.h"
#include "room/filter.h"
#include "store/store.h"
#include "sync.h"

/* Appends ev to out unless the filter or its limit says no.  1 added, 0 not. */
static int
presence_add(const json_t *pf, json_t *out, json_t *ev)
{
	const json_t *limit = json_object_get(pf, "limit");

	if (json_is_number(limit) && (double)json_array_size(out) >= json_number_value(limit))
		return 0;
	if (!mfilter_event_match(pf, NULL, ev))
		return 0;
	return json_array_append(out, ev) == 0;
}

/*
 * Spec: C-S API, GET /sync: presence.events, the m.presence of the user
 * and of users joined to a room with them, that changed in (from, to].
 * As Synapse, an incremental sync also brings the presence, changed or
 * not, of the users it introduces: the members of a room the user joined
 * and those who joined one of the user's rooms (mstore_presence_newly).
 * The filter's presence (with its limit) applies.
 */
static int
collect(struct syncctx *ctx)
{
	struct mreq	*req = ctx->req;
	int64_t		 from = ctx->st->initial ? 0 : ctx->from.p[SPOS_PRESENCE];
	int64_t		 efrom = ctx->from.p[SPOS_EVENTS], eto = ctx->to.p[SPOS_EVENTS];
	const json_t	*pf = json_object_get(ctx->st->filter, "presence");
	json_t		*events = NULL, *newly = NULL, *ev, *out, *seen;
	size_t		 i;
	int		 rc = 0;

	if (from < ctx->to.p[SPOS_PRESENCE] && (events = mstore_presence_sync(req->db,
	    req->auth.user_id, from, ctx->to.p[SPOS_PRESENCE], mclock_now_ms())) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	/* Whom a sync introduces moved in: no membership moves, nobody new. */
	if (!ctx->st->initial && efrom < eto) {
		json_t *moves = sync_member_moves(ctx);

		if (moves == NULL) {
			json_decref(events);
			return -1;
		}
		if (json_array_size(moves) > 0 && (newly = mstore_presence_newly(req->db,
		    req->auth.user_id, efrom, eto, mclock_now_ms())) == NULL) {
			json_decref(events);
			return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		}
	}
	out = json_object_get(json_object_get(ctx->resp, "presence"), "events");
	if ((seen = json_object()) == NULL) {
		rc = mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	json_array_foreach(events, i, ev)
		if (presence_add(pf, out, ev)) {
			json_object_set_new(seen, mjson_str(ev, "sender"), json_true());
			ctx->empty = 0;
		}
	json_array_foreach(newly, i, ev)
		if (json_object_get(seen, mjson_str(ev, "sender")) == NULL &&
		    presence_add(pf, out, ev))
			ctx->empty = 0;
out:
	json_decref(seen);
	json_decref(events);
	json_decref(newly);
	return rc;
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
	/* A change (not a refresh) goes to the servers sharing a room. */
	if (rc == 1 && mfed_edu_presence(req->db, req->conf->server_name,
	    req->auth.user_id) == -1)
		mlog_warn(req->id, "presence of %s not queued for other servers",
		    req->auth.user_id);
	return 0;
}

const struct syncstream sync_presence = { SPOS_PRESENCE, "presence", collect, NULL };
