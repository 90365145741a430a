/* Typing notifications: PUT /rooms/{roomId}/typing/{userId}. */
#include <stdlib.h>
#include <string.h>

#include "appsvc/appsvc.h"
#include "clock/clock.h"
#include "ephemeral.h"
#include "fed/fed.h"
#include "log/log.h"
#include "rooms.h"
#include "store/store.h"

/* As Synapse: 30 s when the client gives no timeout, never more than 2 minutes. */
#define TYPING_DEFAULT_MS	30000
#define TYPING_MAX_MS		120000

/*
 * MSC2409: the room's typing list as it is about to become, for the
 * services that ask, when it changes (typing that only goes on changes
 * nothing).  Queued before the typing is written, whose commit moves the
 * typing stream and so wakes myelin-pusher to send it.  Expiries by
 * myelin-timerd are not sent (XXX).  A failure loses the notice, not the
 * request.
 */
static void
typing_to_services(struct mreq *req, const char *room_id, int typing)
{
	json_t		*all, *list, *edu = NULL;
	const json_t	*v;
	size_t		 i;
	int		 was = 0;

	all = mstore_typing_room(req->db, room_id, 0, mstore_estream_pos(req->db, MSTREAM_TYPING));
	if (all == NULL)
		goto fail;
	list = json_object_get(all, room_id);
	if (!json_is_array(list)) {
		list = json_array();
		json_object_set_new(all, room_id, list);
	}
	json_array_foreach(list, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), req->auth.user_id) == 0) {
			was = 1;
			if (!typing)
				json_array_remove(list, i);
			break;
		}
	if (was == typing) {
		json_decref(all);
		return;
	}
	if (typing)
		json_array_append_new(list, json_string(req->auth.user_id));
	if ((edu = json_pack("{s:s,s:s,s:{s:O}}", "type", "m.typing", "room_id", room_id,
	    "content", "user_ids", list)) == NULL ||
	    mappsvc_ephemeral_queue(req->db, req->conf, room_id, edu) == -1)
		goto fail;
	json_decref(edu);
	json_decref(all);
	return;
fail:
	mlog_warn(req->id, "%s: typing not queued for application services", __func__);
	json_decref(edu);
	json_decref(all);
}

/*
 * Spec: C-S API, PUT /rooms/{roomId}/typing/{userId}.  Only for oneself
 * (403 M_FORBIDDEN) and in a room one is joined to (403 M_FORBIDDEN, as
 * Synapse answers, whether or not the room exists).  typing must be a
 * boolean (400 M_BAD_JSON); timeout, when typing, a non-negative integer
 * of milliseconds (400 M_INVALID_PARAM), capped.  The state lives in the
 * database; myelin-timerd ends it when the timeout passes.  The room's
 * other servers get an m.typing EDU.
 */
int
h_typing(struct mreq *req)
{
	struct mroom_ctx	 ctx;
	const char		*room_id = req->params[0], *user_id = req->params[1];
	json_t			*typing = json_object_get(req->body, "typing");
	json_t			*timeout = json_object_get(req->body, "timeout");
	int64_t			 ms = TYPING_DEFAULT_MS;
	char			*m;
	int			 rc;

	if (strcmp(user_id, req->auth.user_id) != 0)
		return mfcgi_fail(req, MERR_FORBIDDEN, "Cannot set another user's typing state");
	if (typing == NULL)
		return mfcgi_fail(req, MERR_MISSING_PARAM, "Missing key 'typing'");
	if (!json_is_boolean(typing))
		return mfcgi_fail(req, MERR_BAD_JSON, "typing must be a boolean");
	if (json_is_true(typing) && timeout != NULL) {
		if (!json_is_integer(timeout) || json_integer_value(timeout) < 0)
			return mfcgi_fail(req, MERR_INVALID_PARAM,
			    "timeout must be a non-negative integer");
		ms = json_integer_value(timeout);
		if (ms > TYPING_MAX_MS)
			ms = TYPING_MAX_MS;
	}
	room_ctx(req, &ctx);
	m = mroom_membership(&ctx, room_id, req->auth.user_id);
	rc = m != NULL && strcmp(m, "join") == 0;
	free(m);
	if (!rc)
		return mfcgi_fail(req, MERR_FORBIDDEN, "You are not joined to this room");
	if (req->conf->appservicesz > 0)
		typing_to_services(req, room_id, json_is_true(typing));
	rc = mstore_typing_set(req->db, room_id, req->auth.user_id,
	    json_is_true(typing) ? mclock_now_ms() + ms : 0);
	if (rc == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	/*
	 * The room's other servers hear of it, renewals too (their copy
	 * lapses on its own after 30 s); only the newest state counts.
	 */
	if (mfed_edu_typing(req->db, req->conf->server_name, room_id, req->auth.user_id,
	    json_is_true(typing)) == -1)
		mlog_warn(req->id, "typing in %s not queued for other servers", room_id);
	return mfcgi_reply(req, 200, json_object());
}
