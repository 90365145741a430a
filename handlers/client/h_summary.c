/* Room summaries, the rooms two users share, and reports of rooms and users. */
#include <stdlib.h>
#include <string.h>

#include "directory.h"
#include "extern.h"
#include "json/json.h"
#include "rooms.h"
#include "store/store.h"

/* Rooms per page of GET /mutual_rooms. */
#define MUTUAL_LIMIT	100

/*
 * Spec: C-S API, GET /_matrix/client/v1/room_summary/{roomIdOrAlias}
 * (v1.15): the summary of a room the caller may see (dir_room_accessible:
 * joined or invited, public, knockable, restricted with the caller in
 * an allowed room, world-readable), with the caller's membership when
 * there is one; a token is optional.  404 M_NOT_FOUND for a room
 * unknown here or not to be seen, alike, so that hidden rooms do not
 * show; 400 M_INVALID_PARAM for what is neither a room ID nor an alias.
 * XXX Rooms of other servers would be asked over federation.
 */
int
h_room_summary(struct mreq *req)
{
	struct mroom_ctx	 ctx;
	const char		*target = req->params[0];
	char			*room_id = NULL, *m;
	json_t			*s = NULL;
	int			 rc;

	if (target[0] == '#') {
		if (!mroom_alias_check(target))
			return mfcgi_fail(req, MERR_INVALID_PARAM, "Room alias invalid");
		if ((rc = mstore_alias_get(req->db, target, &room_id, NULL)) == -1)
			return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		if (rc == 0)
			return mfcgi_fail(req, MERR_NOT_FOUND, "Room alias not found");
	} else if (target[0] != '!')
		return mfcgi_fail(req, MERR_INVALID_PARAM, "Not a room ID or alias");
	else if ((room_id = strdup(target)) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	room_ctx(req, &ctx);
	if ((rc = mstore_room_summary(req->db, room_id, &s)) == 1)
		rc = dir_room_accessible(&ctx, req->auth.user_id, room_id, s);
	if (rc == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	if (rc == 0) {
		mfcgi_fail(req, MERR_NOT_FOUND, "Room not found or not visible to you");
		goto out;
	}
	if (req->auth.user_id != NULL &&
	    (m = mroom_membership(&ctx, room_id, req->auth.user_id)) != NULL) {
		json_object_set_new(s, "membership", json_string(m));
		free(m);
	}
	rc = mfcgi_reply(req, 200, s);
	s = NULL;
out:
	json_decref(s);
	free(room_id);
	return rc;
}

/*
 * Spec: C-S API, GET /_matrix/client/v1/mutual_rooms?user_id= (v1.19;
 * MSC2666, whose unstable path Synapse serves): {joined: rooms both the
 * caller and user_id are joined to, count: how many in all, next_batch
 * when more follow}, a page of 100 in room ID order; from is a
 * next_batch.  400
 * M_MISSING_PARAM without user_id, M_INVALID_PARAM for one that is not
 * a user ID or is the caller's own (Synapse's 422 in the 400 class).
 */
int
h_mutual_rooms(struct mreq *req)
{
	char	*user = mreq_query(req, "user_id"), *from = mreq_query(req, "from");
	json_t	*rooms = NULL, *out;
	int64_t	 count;
	int	 rc = -1;

	if (user == NULL) {
		mfcgi_fail(req, MERR_MISSING_PARAM, "Missing user_id");
		goto out;
	}
	if (!mroom_user_id_check(user)) {
		mfcgi_fail(req, MERR_INVALID_PARAM, "user_id is not a user ID");
		goto out;
	}
	if (strcmp(user, req->auth.user_id) == 0) {
		mfcgi_fail(req, MERR_INVALID_PARAM, "You cannot ask which rooms you share with yourself");
		goto out;
	}
	if ((rooms = mstore_mutual_rooms(req->db, req->auth.user_id, user,
	    from != NULL ? from : "", MUTUAL_LIMIT + 1)) == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	if (mstore_mutual_rooms_count(req->db, req->auth.user_id, user, &count) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	out = json_pack("{s:I}", "count", (json_int_t)count);
	if (json_array_size(rooms) > MUTUAL_LIMIT) {
		json_array_remove(rooms, MUTUAL_LIMIT);
		json_object_set(out, "next_batch", json_array_get(rooms, MUTUAL_LIMIT - 1));
	}
	json_object_set(out, "joined", rooms);
	rc = mfcgi_reply(req, 200, out);
out:
	json_decref(rooms);
	free(user);
	free(from);
	return rc;
}

/* The report's reason: a string, required (400 M_MISSING_PARAM, M_BAD_JSON).  NULL after failing. */
static const char *
report_reason(struct mreq *req)
{
	json_t	*r = json_object_get(req->body, "reason");

	if (r == NULL) {
		mfcgi_fail(req, MERR_MISSING_PARAM, "Missing reason");
		return NULL;
	}
	if (!json_is_string(r)) {
		mfcgi_fail(req, MERR_BAD_JSON, "reason must be a string");
		return NULL;
	}
	return json_string_value(r);
}

/*
 * Spec: C-S API, POST /rooms/{roomId}/report (v1.13): {reason}, which
 * may be blank; 404 M_NOT_FOUND for a room unknown here.  The reporter
 * need not be in the room: a room can be reported from its summary.
 */
int
h_report_room(struct mreq *req)
{
	struct mroom	 room;
	const char	*reason;
	int		 rc;

	if ((reason = report_reason(req)) == NULL)
		return -1;
	if ((rc = mstore_room_get(req->db, req->params[0], &room)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (rc == 0)
		return mfcgi_fail(req, MERR_NOT_FOUND, "Room not found");
	mroom_fini(&room);
	if (mstore_room_report_add(req->db, req->params[0], req->auth.user_id, reason) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return mfcgi_reply(req, 200, json_object());
}

/*
 * Spec: C-S API, POST /users/{userId}/report (v1.14): {reason}; 400
 * M_INVALID_PARAM for what is not a user ID.  As the spec allows, a
 * user unknown here is taken like any other, so that reports do not
 * tell which accounts exist.
 */
int
h_report_user(struct mreq *req)
{
	const char	*reason;

	if ((reason = report_reason(req)) == NULL)
		return -1;
	if (!mroom_user_id_check(req->params[0]))
		return mfcgi_fail(req, MERR_INVALID_PARAM, "Not a user ID");
	if (mstore_user_report_add(req->db, req->params[0], req->auth.user_id, reason) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return mfcgi_reply(req, 200, json_object());
}
