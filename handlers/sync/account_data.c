/* The account data stream of /sync: global account data and each joined room's. */
#include "json/json.h"
#include "store/store.h"
#include "sync.h"

/*
 * Spec: C-S API, GET /sync: account_data.events (global) and
 * rooms.join[room].account_data.events (tags come as m.tag there), each
 * type whose content changed in (from, to], with its newest content; all
 * of it on an initial sync.  Account data of rooms the user is not
 * joined to waits until they are.  The filter's account_data (with its
 * limit), room lists and room.account_data apply.
 */
static int
compute(struct syncctx *ctx, struct syncnews *news)
{
	struct mreq	*req = ctx->req;
	int64_t		 from = ctx->st->initial ? 0 : ctx->from.p[SPOS_ACCOUNT_DATA];
	const json_t	*gf = json_object_get(ctx->st->filter, "account_data");
	const json_t	*rf = json_object_get(json_object_get(ctx->st->filter, "room"),
			    "account_data");
	const json_t	*limit = json_object_get(gf, "limit");
	json_t		*rows, *row, *ev;
	size_t		 i;

	if (syncnews_init(news) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	if (from >= ctx->to.p[SPOS_ACCOUNT_DATA])
		return 0;
	if ((rows = mstore_account_data_sync(req->db, req->auth.user_id, from,
	    ctx->to.p[SPOS_ACCOUNT_DATA])) == NULL) {
		syncnews_fini(news);
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	}
	/* The joined rooms read once, where a room's account data moved. */
	json_array_foreach(rows, i, row) {
		const char *room_id = mjson_str(row, "room_id");

		if (room_id == NULL || *room_id == '\0')
			continue;
		if (sync_joined_rooms(ctx) == NULL) {
			json_decref(rows);
			syncnews_fini(news);
			return -1;
		}
		break;
	}
	json_array_foreach(rows, i, row) {
		const char	*room_id = mjson_str(row, "room_id");
		int		 global = room_id == NULL || *room_id == '\0';

		if (!global && (!sync_joined(ctx, room_id) || !sync_room_allowed(ctx, room_id)))
			continue;
		ev = json_pack("{s:O,s:O}", "type", json_object_get(row, "type"), "content",
		    json_object_get(row, "content"));
		if (ev == NULL || !sync_filter_nosender(global ? gf : rf, global ? NULL : room_id, ev)) {
			json_decref(ev);
			continue;
		}
		if (global) {
			/* Spec: EventFilter limit, the most events to return. */
			if (json_is_number(limit) &&
			    (double)json_array_size(news->global) >= json_number_value(limit)) {
				json_decref(ev);
				continue;
			}
			json_array_append_new(news->global, ev);
			news->any = 1;
		} else
			syncnews_room_add(news, room_id, ev);
	}
	json_decref(rows);
	return 0;
}

static int
collect(struct syncctx *ctx)
{
	struct syncnews news;

	if (compute(ctx, &news) == -1)
		return -1;
	sync_news_write(ctx, &news, "account_data");
	syncnews_fini(&news);
	return 0;
}

const struct syncstream sync_account_data = {
	SPOS_ACCOUNT_DATA, "account_data", collect, compute
};
