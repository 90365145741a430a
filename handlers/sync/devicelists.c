/* The device-list stream of /sync, with the requesting device's key counts. */
#include "store/store.h"
#include "sync.h"

/*
 * Spec: C-S API, GET /sync: device_lists.changed, the users sharing a
 * room with the user (and the user) whose devices or keys changed since
 * the token, or who started sharing a room; device_lists.left, those who
 * no longer share any (not on an initial sync: there is nothing to
 * refresh yet).  Always: device_one_time_keys_count (signed_curve25519
 * counted as 0 when there is none, as Synapse, so clients upload more)
 * and device_unused_fallback_key_types of the requesting device.
 */
static int
compute(struct syncctx *ctx, struct syncnews *news)
{
	struct mreq	*req = ctx->req;
	json_t		*changed = NULL, *left = NULL, *counts, *unused;

	if (syncnews_init(news) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	if (!ctx->st->initial) {
		json_t *moves;

		if ((moves = sync_member_moves(ctx)) == NULL) {
			syncnews_fini(news);
			return -1;
		}
		if (mstore_devlist_changes(req->db, req->auth.user_id,
		    ctx->from.p[SPOS_DEVICE_LISTS], ctx->to.p[SPOS_DEVICE_LISTS], moves,
		    &changed, &left) == -1) {
			syncnews_fini(news);
			return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		}
		if (json_array_size(changed) > 0 || json_array_size(left) > 0) {
			json_object_set_new(news->extra, "device_lists",
			    json_pack("{s:o,s:o}", "changed", changed, "left", left));
			news->any = 1;
		} else {
			json_decref(changed);
			json_decref(left);
		}
	}
	if (req->auth.device_id == NULL)
		return 0;
	if (mstore_key_counts(req->db, req->auth.user_id, req->auth.device_id, &counts,
	    &unused) == -1) {
		syncnews_fini(news);
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	}
	if (json_object_get(counts, "signed_curve25519") == NULL)
		json_object_set_new(counts, "signed_curve25519", json_integer(0));
	json_object_set_new(news->extra, "device_one_time_keys_count", counts);
	json_object_set_new(news->extra, "device_unused_fallback_key_types", unused);
	return 0;
}

/* In /sync v2: device_lists, device_one_time_keys_count, device_unused_fallback_key_types. */
static int
collect(struct syncctx *ctx)
{
	struct syncnews news;

	if (compute(ctx, &news) == -1)
		return -1;
	json_object_update(ctx->resp, news.extra);
	if (news.any)
		ctx->empty = 0;
	syncnews_fini(&news);
	return 0;
}

const struct syncstream sync_devicelists = {
	SPOS_DEVICE_LISTS, "device_lists", collect, compute
};
