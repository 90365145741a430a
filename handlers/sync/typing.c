/* The typing stream of /sync: m.typing in the ephemeral events of joined rooms. */
#include "store/store.h"
#include "sync.h"

/*
 * Spec: C-S API, m.typing: the whole list of users typing in each joined
 * room whose typing changed in (from, to], empty when everyone stopped.
 * An initial sync shows every room where someone typed, an empty list
 * where everyone stopped, as Synapse 1.67 shows it (and SyTest's "Typing
 * can be explicitly stopped" waits for from a sync without since).  The
 * filter's room lists and room.ephemeral apply.
 */
static int
compute(struct syncctx *ctx, struct syncnews *news)
{
	struct mreq	*req = ctx->req;
	int64_t		 from = ctx->st->initial ? 0 : ctx->from.p[SPOS_TYPING];
	const json_t	*eph = json_object_get(json_object_get(ctx->st->filter, "room"),
			    "ephemeral");
	json_t		*rooms, *list;
	const char	*room_id;

	if (syncnews_init(news) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	if (from >= ctx->to.p[SPOS_TYPING])
		return 0;
	if ((rooms = mstore_typing_sync(req->db, req->auth.user_id, from,
	    ctx->to.p[SPOS_TYPING])) == NULL) {
		syncnews_fini(news);
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	}
	if (json_object_size(rooms) > 0 && sync_joined_rooms(ctx) == NULL) {
		json_decref(rooms);
		syncnews_fini(news);
		return -1;
	}
	json_object_foreach(rooms, room_id, list) {
		json_t *ev;

		if (!sync_joined(ctx, room_id) || !sync_room_allowed(ctx, room_id))
			continue;
		ev = json_pack("{s:s,s:{s:O}}", "type", "m.typing", "content", "user_ids", list);
		if (ev == NULL || !sync_filter_nosender(eph, room_id, ev)) {
			json_decref(ev);
			continue;
		}
		syncnews_room_add(news, room_id, ev);
	}
	json_decref(rooms);
	return 0;
}

static int
collect(struct syncctx *ctx)
{
	struct syncnews news;

	if (compute(ctx, &news) == -1)
		return -1;
	sync_news_write(ctx, &news, "ephemeral");
	syncnews_fini(&news);
	return 0;
}

const struct syncstream sync_typing = { SPOS_TYPING, "typing", collect, compute };
