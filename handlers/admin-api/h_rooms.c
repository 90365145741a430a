/* Synapse's room admin API: list, details, members, state, block, delete with status. */
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"
#include "extern.h"
#include "json/json.h"
#include "room/room.h"
#include "store/store.h"

/* Synapse: GET /_synapse/admin/v1/rooms: from, limit, order_by, dir, search_term. */
int
h_rooms_list(struct mreq *req)
{
	struct madmin		 a;
	struct madmin_roomq	 q;
	json_t			*out;
	char			*order = mreq_query(req, "order_by");
	char			*term = mreq_query(req, "search_term");
	enum madmin_rc		 rc;
	int			 ok = -1;

	memset(&q, 0, sizeof(q));
	if (api_query_page(req, &q.from, &q.limit) == -1 || api_query_dir(req, &q.backwards) == -1)
		goto out;
	if (term != NULL && *term == '\0') {
		mfcgi_fail(req, MERR_INVALID_PARAM, "search_term cannot be empty");
		goto out;
	}
	q.order_by = order;
	q.search_term = term;
	api_ctx(req, &a);
	if ((rc = madmin_room_list(&a, &q, &out)) != MADMIN_OK)
		api_fail(req, &a, rc);
	else
		ok = mfcgi_reply(req, 200, out);
out:
	free(order);
	free(term);
	return ok;
}

/* Synapse: GET /_synapse/admin/v1/rooms/{roomId}: 404 M_NOT_FOUND when unknown. */
int
h_room_get(struct mreq *req)
{
	struct madmin	 a;
	const char	*id = api_room_id(req, 0);
	json_t		*out;
	enum madmin_rc	 rc;

	if (id == NULL)
		return -1;
	api_ctx(req, &a);
	if ((rc = madmin_room_get(&a, id, &out)) != MADMIN_OK)
		return api_fail(req, &a, rc);
	return mfcgi_reply(req, 200, out);
}

/* The room of path parameter 0 when it exists here: 1, or -1 after failing (404). */
static int
known_room(struct mreq *req)
{
	struct mroom	 r;
	const char	*id = api_room_id(req, 0);
	int		 rc;

	if (id == NULL)
		return -1;
	if ((rc = mstore_room_get(req->db, id, &r)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	mroom_fini(&r);
	if (rc == 0)
		return mfcgi_fail(req, MERR_NOT_FOUND, "Room not found");
	return 1;
}

/* Synapse: GET /_synapse/admin/v1/rooms/{roomId}/members: the joined members. */
int
h_room_members(struct mreq *req)
{
	json_t *m;

	if (known_room(req) == -1)
		return -1;
	if ((m = mstore_room_joined(req->db, req->params[0])) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return mfcgi_reply(req, 200, json_pack("{s:o,s:I}", "members", m,
	    "total", (json_int_t)json_array_size(m)));
}

/*
 * Synapse: GET /_synapse/admin/v1/rooms/{roomId}/state, in the client
 * format; type keeps one event type.
 */
int
h_room_state(struct mreq *req)
{
	char		*type = mreq_query(req, "type");
	json_t		*all, *out, *ev;
	int64_t		 now = mclock_now_ms();
	size_t		 i;

	if (known_room(req) == -1 ||
	    (all = mstore_admin_room_state(req->db, req->params[0], type)) == NULL) {
		free(type);
		return req->failed ? -1 : mfcgi_fail(req, MERR_INTERNAL, "%s: store failed",
		    __func__);
	}
	free(type);
	out = json_array();
	/* The room asked for: a v12 create event has no room_id. */
	json_array_foreach(all, i, ev)
		json_array_append_new(out, mroom_state_client_event(ev, req->params[0], now, NULL,
		    NULL));
	json_decref(all);
	return mfcgi_reply(req, 200, json_pack("{s:o}", "state", out));
}

/*
 * Synapse: GET /_synapse/admin/v1/rooms/{roomId}/block: {block} and, for
 * a blocked room, the admin who blocked it (absent when myelin-admin
 * did).  Any room ID, known or not.
 */
int
h_room_block_get(struct mreq *req)
{
	const char	*id = api_room_id(req, 0);
	char		*by = NULL;
	json_t		*out;
	int		 rc;

	if (id == NULL)
		return -1;
	if ((rc = mstore_room_blocked(req->db, id, &by)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	out = json_pack("{s:b}", "block", rc);
	if (out != NULL && by != NULL)
		json_object_set_new(out, "user_id", json_string(by));
	free(by);
	return mfcgi_reply(req, 200, out);
}

/* Synapse: PUT /_synapse/admin/v1/rooms/{roomId}/block: {block}; blocked rooms refuse joins. */
int
h_room_block_put(struct mreq *req)
{
	const char	*id = api_room_id(req, 0);
	json_t		*v = json_object_get(req->body, "block");
	int		 rc;

	if (id == NULL)
		return -1;
	if (!json_is_boolean(v))
		return mfcgi_fail(req, v == NULL ? MERR_MISSING_PARAM : MERR_INVALID_PARAM,
		    "'block' must be a boolean");
	rc = json_is_true(v) ? mstore_room_block(req->db, id, req->auth.user_id) :
	    mstore_room_unblock(req->db, id);
	if (rc == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return mfcgi_reply(req, 200, json_pack("{s:b}", "block", json_is_true(v)));
}

/*
 * The body both versions of the delete room API take: block (false),
 * purge (true), force_purge (false).  new_room_user_id asks for a room
 * to move users into, which myelin does not make: refused rather than
 * ignored.  0 or -1 after 400.
 */
static int
delete_opts(struct mreq *req, struct madmin_delete *o)
{
	memset(o, 0, sizeof(*o));
	o->purge = 1;
	if (api_body_bool(req, "block", &o->block) == -1 ||
	    api_body_bool(req, "purge", &o->purge) == -1 ||
	    api_body_bool(req, "force_purge", &o->force_purge) == -1)
		return -1;
	if (json_object_get(req->body, "new_room_user_id") != NULL &&
	    !json_is_null(json_object_get(req->body, "new_room_user_id")))
		return mfcgi_fail(req, MERR_INVALID_PARAM,
		    "new_room_user_id is not supported: users only leave the room");
	return 0;
}

/*
 * Synapse: DELETE /_synapse/admin/v1/rooms/{roomId}, the synchronous
 * version: the shutdown_room object.  With block, a room this server
 * does not know is blocked; without, it is a bad request.
 */
int
h_room_delete_v1(struct mreq *req)
{
	struct madmin		 a;
	struct madmin_delete	 o;
	const char		*id = api_room_id(req, 0);
	json_t			*st;
	enum madmin_rc		 rc;
	int			 ok;

	if (id == NULL || delete_opts(req, &o) == -1)
		return -1;
	o.may_be_unknown = 1;
	api_ctx(req, &a);
	if ((rc = madmin_room_delete(&a, id, &o, &st)) == MADMIN_NOT_FOUND)
		return mfcgi_fail(req, MERR_UNKNOWN, "%s", a.why);
	if (rc != MADMIN_OK)
		return api_fail(req, &a, rc);
	if (strcmp(mjson_str(st, "status"), "complete") != 0)
		/* Refusing to purge a room with members left is the caller's affair. */
		ok = mfcgi_fail(req, json_array_size(json_object_get(json_object_get(st,
		    "shutdown_room"), "failed_to_kick_users")) > 0 ? MERR_UNKNOWN : MERR_INTERNAL,
		    "%s", mjson_str(st, "error"));
	else
		ok = mfcgi_reply(req, 200, json_incref(json_object_get(st, "shutdown_room")));
	json_decref(st);
	return ok;
}

/*
 * Synapse: DELETE /_synapse/admin/v2/rooms/{roomId}: {delete_id}.  The
 * work is done before answering (see madmin_room_delete), so the status
 * is already complete or failed when the client asks.
 */
int
h_room_delete_v2(struct mreq *req)
{
	struct madmin		 a;
	struct madmin_delete	 o;
	const char		*id = api_room_id(req, 0);
	json_t			*st;
	enum madmin_rc		 rc;
	int			 ok;

	if (id == NULL || delete_opts(req, &o) == -1)
		return -1;
	api_ctx(req, &a);
	if ((rc = madmin_room_delete(&a, id, &o, &st)) != MADMIN_OK)
		return api_fail(req, &a, rc);
	ok = mfcgi_reply(req, 200, json_pack("{s:s}", "delete_id", mjson_str(st, "delete_id")));
	json_decref(st);
	return ok;
}

/* Synapse: GET /_synapse/admin/v2/rooms/{roomId}/delete_status: {results}, 404 when none. */
int
h_room_delete_status(struct mreq *req)
{
	const char	*id = api_room_id(req, 0);
	json_t		*v;

	if (id == NULL)
		return -1;
	if ((v = mstore_room_deletes(req->db, id)) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (json_array_size(v) == 0) {
		json_decref(v);
		return mfcgi_fail(req, MERR_NOT_FOUND, "No delete task for room_id '%s' found", id);
	}
	return mfcgi_reply(req, 200, json_pack("{s:o}", "results", v));
}

/* Synapse: GET /_synapse/admin/v2/rooms/delete_status/{deleteId}. */
int
h_delete_status(struct mreq *req)
{
	json_t	*st;
	int	 rc;

	if ((rc = mstore_room_delete_get(req->db, req->params[0], &st)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (rc == 0)
		return mfcgi_fail(req, MERR_NOT_FOUND, "delete id '%s' not found", req->params[0]);
	return mfcgi_reply(req, 200, st);
}
