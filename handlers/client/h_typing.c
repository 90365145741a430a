/* Typing notifications: PUT /rooms/{roomId}/typing/{userId}. */
#include <stdlib.h>
#include <string.h>

#include "appsvc/appsvc.h"
#include "clock/clock.h"
#include "ephemeral.h"
#include "log/log.h"
#include "rooms.h"
#include "store/store.h"

/* As Synapse: 30 s when the client gives no timeout, never more than 2 minutes. */
#define TYPING_DEFAULT_MS	30000
#define TYPING_MAX_MS		120000

/*
 * Spec: C-S API, PUT /rooms/{roomId}/typing/{userId}.  Only for oneself
 * (403 M_FORBIDDEN) and in a room one is joined to (403 M_FORBIDDEN, as
 * Synapse answers, whether or not the room exists).  typing must be a
 * boolean (400 M_BAD_JSON); timeout, when typing, a non-negative integer
 * of milliseconds (400 M_INVALID_PARAM), capped.  The state lives in the
 * database; myelin-timerd ends it when the timeout passes.
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
	rc = mstore_typing_set(req->db, room_id, req->auth.user_id,
	    json_is_true(typing) ? mclock_now_ms() + ms : 0);
	if (rc == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	/*
	 * MSC2409: the room's typing list goes to the services that ask, once
	 * it moved (expiries by myelin-timerd are not sent: XXX).  A failure
	 * here loses that notice, not the request.
	 */
	if (rc == 1 && req->conf->appservicesz > 0) {
		json_t *all = mstore_typing_room(req->db, room_id, 0,
		    mstore_estream_pos(req->db, MSTREAM_TYPING));
		json_t *list = json_object_get(all, room_id), *edu;

		edu = json_pack("{s:s,s:s,s:{s:o}}", "type", "m.typing", "room_id", room_id,
		    "content", "user_ids", json_is_array(list) ? json_incref(list) : json_array());
		if (edu == NULL || mappsvc_ephemeral_queue(req->db, req->conf, room_id, edu) == -1)
			mlog_warn(req->id, "%s: typing not queued for application services",
			    __func__);
		json_decref(edu);
		json_decref(all);
	}
	return mfcgi_reply(req, 200, json_object());
}
