/* Helpers of the streams beside events: joined rooms, filters on events without a sender. */
#include <string.h>

#include "room/filter.h"
#include "store/store.h"
#include "sync.h"

int
syncnews_init(struct syncnews *n)
{
	n->global = json_array();
	n->rooms = json_object();
	n->extra = json_object();
	n->any = 0;
	if (n->global == NULL || n->rooms == NULL || n->extra == NULL) {
		syncnews_fini(n);
		return -1;
	}
	return 0;
}

void
syncnews_fini(struct syncnews *n)
{
	json_decref(n->global);
	json_decref(n->rooms);
	json_decref(n->extra);
	n->global = n->rooms = n->extra = NULL;
}

int
syncnews_room_add(struct syncnews *n, const char *room_id, json_t *ev)
{
	json_t *l = json_object_get(n->rooms, room_id);

	if (l == NULL) {
		if ((l = json_array()) == NULL || json_object_set_new(n->rooms, room_id, l) == -1) {
			json_decref(ev);
			return -1;
		}
	}
	n->any = 1;
	return json_array_append_new(l, ev);
}

void
sync_news_write(struct syncctx *ctx, const struct syncnews *n, const char *section)
{
	json_t		*evs;
	const char	*room_id;

	json_array_extend(json_object_get(json_object_get(ctx->resp, "account_data"), "events"),
	    n->global);
	json_object_foreach(n->rooms, room_id, evs)
		json_array_extend(json_object_get(json_object_get(sync_joined_room(ctx, room_id),
		    section), "events"), evs);
	if (n->any)
		ctx->empty = 0;
}

json_t *
sync_joined_rooms(struct syncctx *ctx)
{
	if (ctx->joined == NULL &&
	    (ctx->joined = mstore_user_rooms(ctx->req->db, ctx->req->auth.user_id, "join")) == NULL)
		mfcgi_fail(ctx->req, MERR_INTERNAL, "%s: store failed", __func__);
	return ctx->joined;
}

json_t *
sync_member_moves(struct syncctx *ctx)
{
	if (ctx->moves == NULL && (ctx->moves = mstore_member_moves(ctx->req->db,
	    ctx->req->auth.user_id, ctx->from.p[SPOS_EVENTS], ctx->to.p[SPOS_EVENTS])) == NULL)
		mfcgi_fail(ctx->req, MERR_INTERNAL, "%s: store failed", __func__);
	return ctx->moves;
}

int
sync_joined(const struct syncctx *ctx, const char *room_id)
{
	size_t	 i;
	json_t	*v;

	json_array_foreach(ctx->joined, i, v)
		if (strcmp(json_string_value(v), room_id) == 0)
			return 1;
	return 0;
}

/*
 * As Synapse, a missing sender fails a "senders" list and matches no
 * "not_senders": the probe's sender "" does just that, as a checked
 * filter holds only user IDs there.
 */
int
sync_filter_nosender(const json_t *filter, const char *room_id, const json_t *ev)
{
	json_t	*probe;
	int	 rc;

	if (filter == NULL)
		return 1;
	probe = json_pack("{s:O,s:s,s:O*}", "type", json_object_get(ev, "type"), "sender", "",
	    "content", json_object_get(ev, "content"));
	rc = probe != NULL && mfilter_event_match(filter, room_id, probe);
	json_decref(probe);
	return rc;
}
