/* The receipts stream of /sync, and the unread notification counts of joined rooms. */
#include <string.h>

#include "room/filter.h"
#include "store/store.h"
#include "sync.h"

/* 1 when the filter lets m.receipt into room_id's ephemeral events. */
static int
wanted(const struct syncctx *ctx, const char *room_id)
{
	const json_t	*eph = json_object_get(json_object_get(ctx->st->filter, "room"),
	    "ephemeral");
	json_t		*probe;
	int		 rc;

	if (!sync_room_allowed(ctx, room_id))
		return 0;
	if (eph == NULL)
		return 1;
	probe = json_pack("{s:s}", "type", "m.receipt");
	rc = probe != NULL && mfilter_event_match(eph, room_id, probe);
	json_decref(probe);
	return rc;
}

/* Adds the m.receipt event built for a room to news. */
static void
flush(struct syncnews *news, const char *room_id, json_t *content)
{
	if (room_id == NULL || json_object_size(content) == 0)
		return;
	syncnews_room_add(news, room_id, json_pack("{s:s,s:O}", "type", "m.receipt",
	    "content", content));
}

/*
 * Spec: C-S API, m.receipt: one event per joined room whose receipts
 * moved in (from, to], {event_id: {receipt_type: {user_id: {ts,
 * thread_id?}}}}: every member's m.read, and the user's own
 * m.read.private, which no one else ever sees.  An initial sync carries
 * every receipt of the user's rooms.
 */
static int
compute(struct syncctx *ctx, struct syncnews *news)
{
	struct mreq	*req = ctx->req;
	struct mreceipt	*v = NULL;
	size_t		 n = 0;
	int64_t		 from = ctx->st->initial ? 0 : ctx->from.p[SPOS_RECEIPTS];
	const char	*room = NULL;
	json_t		*content = NULL;

	if (syncnews_init(news) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	if (from >= ctx->to.p[SPOS_RECEIPTS])
		return 0;
	if (mstore_receipts_sync(req->db, req->auth.user_id, from, ctx->to.p[SPOS_RECEIPTS],
	    &v, &n) == -1) {
		syncnews_fini(news);
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	}
	if (n > 0 && sync_joined_rooms(ctx) == NULL) {
		mreceipt_list_free(v, n);
		syncnews_fini(news);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *ev, *type, *r;

		if (!sync_joined(ctx, v[i].room_id) || !wanted(ctx, v[i].room_id))
			continue;
		if (room == NULL || strcmp(room, v[i].room_id) != 0) {
			flush(news, room, content);
			json_decref(content);
			content = json_object();
			room = v[i].room_id;
		}
		if ((ev = json_object_get(content, v[i].event_id)) == NULL) {
			ev = json_object();
			json_object_set_new(content, v[i].event_id, ev);
		}
		if ((type = json_object_get(ev, v[i].type)) == NULL) {
			type = json_object();
			json_object_set_new(ev, v[i].type, type);
		}
		r = json_pack("{s:I}", "ts", (json_int_t)v[i].ts);
		if (*v[i].thread_id != '\0')
			json_object_set_new(r, "thread_id", json_string(v[i].thread_id));
		json_object_set_new(type, v[i].user_id, r);
	}
	flush(news, room, content);
	json_decref(content);
	mreceipt_list_free(v, n);
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

const struct syncstream sync_receipts = {
	SPOS_RECEIPTS, "receipts", collect, compute
};

static json_t *
counts(int64_t notify, int64_t highlight)
{
	return json_pack("{s:I,s:I}", "notification_count", (json_int_t)notify,
	    "highlight_count", (json_int_t)highlight);
}

int
sync_unread(struct syncctx *ctx)
{
	struct mreq		*req = ctx->req;
	struct mpushcount	*v = NULL;
	size_t			 n = 0;
	json_t			*join = json_object_get(json_object_get(ctx->resp, "rooms"), "join");
	json_t			*byroom, *sec, *r, *c;
	const char		*room_id;
	/* Spec: RoomEventFilter.unread_thread_notifications splits counts by thread. */
	int			 threads = json_is_true(json_object_get(json_object_get(
	    json_object_get(ctx->st->filter, "room"), "timeline"), "unread_thread_notifications"));

	if (json_object_size(join) == 0)
		return 0;
	if (mstore_push_counts(req->db, req->auth.user_id, &v, &n) == -1 ||
	    (byroom = json_object()) == NULL) {
		mpushcount_list_free(v, n);
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	}
	/* {room: {"unread_notifications": counts, "unread_thread_notifications"?: {root: counts}}} */
	for (size_t i = 0; i < n; i++) {
		if ((r = json_object_get(byroom, v[i].room_id)) == NULL) {
			r = json_pack("{s:o}", "unread_notifications", counts(0, 0));
			json_object_set_new(byroom, v[i].room_id, r);
		}
		if (!threads || strcmp(v[i].thread_id, "main") == 0) {
			c = json_object_get(r, "unread_notifications");
			json_object_set_new(r, "unread_notifications", counts(
			    json_integer_value(json_object_get(c, "notification_count")) + v[i].notify,
			    json_integer_value(json_object_get(c, "highlight_count")) + v[i].highlight));
			continue;
		}
		if ((c = json_object_get(r, "unread_thread_notifications")) == NULL) {
			c = json_object();
			json_object_set_new(r, "unread_thread_notifications", c);
		}
		json_object_set_new(c, v[i].thread_id, counts(v[i].notify, v[i].highlight));
	}
	json_object_foreach(join, room_id, sec) {
		if ((r = json_object_get(byroom, room_id)) == NULL)
			json_object_set_new(sec, "unread_notifications", counts(0, 0));
		else
			json_object_update(sec, r);
	}
	json_decref(byroom);
	mpushcount_list_free(v, n);
	return 0;
}
