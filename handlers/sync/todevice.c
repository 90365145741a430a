/* The to-device stream of /sync: messages sent to this device, until acknowledged. */
#include "store/store.h"
#include "sync.h"

/* Spec: C-S API, to_device: Synapse sends at most 100 per response. */
#define TODEVICE_LIMIT	100

/*
 * Spec: C-S API, GET /sync: to_device.events, the messages queued for
 * the requesting device in (since, to], oldest first, at most 100: the
 * token then stops at the last one given, so the rest come next time.
 * A since at or past a message acknowledges it, and the messages it
 * acknowledges are deleted (an initial sync acknowledges none).  A token
 * without a device (login as a user) has no messages.
 */
static int
compute(struct syncctx *ctx, struct syncnews *news)
{
	struct mreq	*req = ctx->req;
	int64_t		 from = ctx->st->initial ? 0 : ctx->from.p[SPOS_TODEVICE], next;
	json_t		*evs;

	if (syncnews_init(news) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	if (req->auth.device_id == NULL)
		return 0;
	if ((evs = mstore_todevice_sync(req->db, req->auth.user_id, req->auth.device_id, from,
	    ctx->to.p[SPOS_TODEVICE], TODEVICE_LIMIT, &next)) == NULL) {
		syncnews_fini(news);
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	}
	ctx->to.p[SPOS_TODEVICE] = next;
	news->any = json_array_size(evs) > 0;
	json_object_set_new(news->extra, "events", evs);
	return 0;
}

/* In /sync v2: to_device.events, for a device. */
static int
collect(struct syncctx *ctx)
{
	struct syncnews news;

	if (compute(ctx, &news) == -1)
		return -1;
	if (json_object_get(news.extra, "events") != NULL)
		json_object_set_new(ctx->resp, "to_device", json_pack("{s:O}", "events",
		    json_object_get(news.extra, "events")));
	if (news.any)
		ctx->empty = 0;
	syncnews_fini(&news);
	return 0;
}

const struct syncstream sync_todevice = {
	SPOS_TODEVICE, "to_device", collect, compute
};
