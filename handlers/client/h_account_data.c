/* Account data, global and per room, and room tags (the m.tag room account data). */
#include <stdlib.h>
#include <string.h>

#include "ephemeral.h"
#include "rooms.h"
#include "store/store.h"

/* Spec: event types and tags are at most 255 bytes; room IDs too. */
#define MAX_TYPE_BYTES	255
#define MAX_TAG_BYTES	255
#define MAX_ROOM_BYTES	255

/* The global account data: "room" "" in the store. */
#define GLOBAL	""

/* 0 when {userId} is the token's user; else -1 with 403 M_FORBIDDEN. */
static int
own(struct mreq *req, const char *what)
{
	if (strcmp(req->params[0], req->auth.user_id) != 0)
		return mfcgi_fail(req, MERR_FORBIDDEN, "Cannot %s for other users", what);
	return 0;
}

/*
 * 0 when room_id looks like a room ID ("!", then up to 254 bytes: room
 * version 12 IDs have no server name); else -1 with 400 M_INVALID_PARAM,
 * as the spec says for the per-room account data.
 */
static int
room_id_check(struct mreq *req, const char *room_id)
{
	if (room_id[0] != '!' || room_id[1] == '\0' || strlen(room_id) > MAX_ROOM_BYTES)
		return mfcgi_fail(req, MERR_INVALID_PARAM, "%s is not a valid room ID", room_id);
	return 0;
}

/*
 * 0 when a client may set type; else -1.  Spec: C-S API, PUT
 * .../account_data/{type}: 405 M_BAD_JSON for types "controlled by the
 * server": m.fully_read (POST /read_markers sets it) and m.push_rules
 * (the /pushrules API), as Synapse refuses both on both endpoints.
 */
static int
type_check(struct mreq *req, const char *type)
{
	if (strlen(type) > MAX_TYPE_BYTES)
		return mfcgi_fail(req, MERR_INVALID_PARAM, "type is too long (max %d bytes)",
		    MAX_TYPE_BYTES);
	if (strcmp(type, "m.fully_read") == 0)
		return mfcgi_fail(req, MERR_SERVER_CONTROLLED,
		    "Cannot set m.fully_read through this API: use /read_markers");
	if (strcmp(type, "m.push_rules") == 0)
		return mfcgi_fail(req, MERR_SERVER_CONTROLLED,
		    "Cannot set m.push_rules through this API: use /pushrules");
	return 0;
}

/* Spec: GET .../account_data/{type}: the content, or 404 M_NOT_FOUND. */
static int
account_data_get(struct mreq *req, const char *room_id, const char *type)
{
	json_t	*content;
	int	 rc;

	if ((rc = mstore_account_data_get(req->db, req->auth.user_id, room_id, type,
	    &content)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (rc == 0)
		return mfcgi_fail(req, MERR_NOT_FOUND, "Account data not found");
	return mfcgi_reply(req, 200, content);
}

/* Stores the body (an object: the loop refuses others) and wakes syncs. */
static int
account_data_put(struct mreq *req, const char *room_id, const char *type)
{
	if (mstore_account_data_put(req->db, req->auth.user_id, room_id, type, req->body) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return mfcgi_reply(req, 200, json_object());
}

/* Spec: C-S API, GET /user/{userId}/account_data/{type}.  Own user only (403). */
int
h_account_data_get(struct mreq *req)
{
	if (own(req, "get account data") == -1)
		return -1;
	return account_data_get(req, GLOBAL, req->params[1]);
}

/*
 * Spec: C-S API, PUT /user/{userId}/account_data/{type}.  Own user only
 * (403), content a JSON object (400 M_NOT_JSON / M_BAD_JSON, from the
 * request loop), server-controlled types 405.
 */
int
h_account_data_put(struct mreq *req)
{
	if (own(req, "add account data") == -1 || type_check(req, req->params[1]) == -1)
		return -1;
	return account_data_put(req, GLOBAL, req->params[1]);
}

/* Spec: C-S API, GET /user/{userId}/rooms/{roomId}/account_data/{type}. */
int
h_room_account_data_get(struct mreq *req)
{
	if (own(req, "get account data") == -1 || room_id_check(req, req->params[1]) == -1)
		return -1;
	return account_data_get(req, req->params[1], req->params[2]);
}

/*
 * Spec: C-S API, PUT /user/{userId}/rooms/{roomId}/account_data/{type}.
 * As the global one, and 400 M_INVALID_PARAM for a malformed room ID.
 * The room need not be known: the spec asks for no membership.
 */
int
h_room_account_data_put(struct mreq *req)
{
	if (own(req, "add account data") == -1 || room_id_check(req, req->params[1]) == -1 ||
	    type_check(req, req->params[2]) == -1)
		return -1;
	return account_data_put(req, req->params[1], req->params[2]);
}

/* Spec: C-S API, GET /user/{userId}/rooms/{roomId}/tags: {"tags": {...}}, empty when none. */
int
h_tags_get(struct mreq *req)
{
	json_t	*content = NULL, *tags;

	if (own(req, "get tags") == -1)
		return -1;
	if (mstore_account_data_get(req->db, req->auth.user_id, req->params[1], "m.tag",
	    &content) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	tags = json_object_get(content, "tags");
	tags = json_is_object(tags) ? json_incref(tags) : json_object();
	json_decref(content);
	return mfcgi_reply(req, 200, json_pack("{s:o}", "tags", tags));
}

/*
 * Spec: C-S API, PUT /user/{userId}/rooms/{roomId}/tags/{tag}.  Own user
 * only (403); the tag at most 255 bytes (400 M_INVALID_PARAM, as
 * Synapse); "order", when given, a number from 0 to 1 (spec: m.tag,
 * 400 M_INVALID_PARAM otherwise); the user must have some membership in
 * the room (403 M_FORBIDDEN, as Synapse: tags of strange rooms are
 * noise).  The body is kept whole as the tag's object.
 */
int
h_tag_put(struct mreq *req)
{
	struct mroom_ctx	 ctx;
	const char		*room_id = req->params[1], *tag = req->params[2];
	json_t			*order = json_object_get(req->body, "order");
	char			*m;

	if (own(req, "add tags") == -1)
		return -1;
	if (strlen(tag) > MAX_TAG_BYTES)
		return mfcgi_fail(req, MERR_INVALID_PARAM, "tag is too long (max %d bytes)",
		    MAX_TAG_BYTES);
	if (order != NULL && (!json_is_number(order) || json_number_value(order) < 0 ||
	    json_number_value(order) > 1))
		return mfcgi_fail(req, MERR_INVALID_PARAM, "order must be a number from 0 to 1");
	room_ctx(req, &ctx);
	if ((m = mroom_membership(&ctx, room_id, req->auth.user_id)) == NULL)
		return mfcgi_fail(req, MERR_FORBIDDEN, "You have no membership in this room");
	free(m);
	if (mstore_tag_put(req->db, req->auth.user_id, room_id, tag, req->body) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return mfcgi_reply(req, 200, json_object());
}

/* Spec: C-S API, DELETE /user/{userId}/rooms/{roomId}/tags/{tag}.  An absent tag is fine. */
int
h_tag_delete(struct mreq *req)
{
	if (own(req, "remove tags") == -1)
		return -1;
	if (mstore_tag_del(req->db, req->auth.user_id, req->params[1], req->params[2]) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return mfcgi_reply(req, 200, json_object());
}
