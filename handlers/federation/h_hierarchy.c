/*
 * Spaces for other servers: GET /hierarchy (S-S API, "Spaces").  A room
 * and its children, as far as the requesting server may see them; the
 * requesting server walks further itself.
 */
#include <stdlib.h>
#include <string.h>

#include "events/events.h"
#include "extern.h"
#include "fed/fed.h"
#include "json/json.h"
#include "room/room.h"
#include "store/store.h"

/*
 * Whether origin may see the summary s of room_id, as Synapse's
 * _is_local_room_accessible answers a server: world-readable history,
 * a public or knockable join rule, a member of origin joined there, or
 * (restricted) in one of the rooms the rule allows.  Fills
 * allowed_room_ids for restricted rooms.  1, 0, or -1.
 */
static int
server_accessible(struct mreq *req, const char *room_id, json_t *s)
{
	const struct mroomver	*ver = mroomver_get(mjson_str(s, "room_version"));
	const char		*jr = mjson_str(s, "join_rule");
	struct mroom_ctx	 ctx;
	json_t			*ev, *ids, *a;
	size_t			 i;
	int			 err, ok = 0, rc;

	if (ver == NULL)
		return 0;
	if (json_is_true(json_object_get(s, "world_readable")) ||
	    (jr != NULL && (strcmp(jr, "public") == 0 ||
	    (ver->knock && strcmp(jr, "knock") == 0) ||
	    (ver->knock_restricted && strcmp(jr, "knock_restricted") == 0))))
		ok = 1;
	if (!ok && (rc = mfed_server_in_room(req->db, room_id, req->auth.origin)) != 0) {
		if (rc == -1)
			return -1;
		ok = 1;
	}
	if (jr == NULL || !((ver->restricted && strcmp(jr, "restricted") == 0) ||
	    (ver->knock_restricted && strcmp(jr, "knock_restricted") == 0)))
		return ok;
	memset(&ctx, 0, sizeof(ctx));
	ctx.db = req->db;
	ctx.server_name = req->conf->server_name;
	ev = mroom_state_get(&ctx, room_id, "m.room.join_rules", "", &err);
	if (err)
		return -1;
	if ((ids = mroom_allow_rooms(json_object_get(ev, "content"))) == NULL) {
		json_decref(ev);
		return -1;
	}
	json_array_foreach(ids, i, a)
		if (!ok && mfed_server_in_room(req->db, json_string_value(a),
		    req->auth.origin) == 1)
			ok = 1;
	if (json_array_size(ids) > 0)
		json_object_set(s, "allowed_room_ids", ids);
	json_decref(ids);
	json_decref(ev);
	return ok;
}

/* Spec: children_state: stripped m.space.child events with origin_server_ts. */
static json_t *
stripped(const json_t *ev)
{
	return json_pack("{s:O,s:O,s:O,s:O,s:O}", "type", json_object_get(ev, "type"),
	    "state_key", json_object_get(ev, "state_key"), "content",
	    json_object_get(ev, "content"), "sender", json_object_get(ev, "sender"),
	    "origin_server_ts", json_object_get(ev, "origin_server_ts"));
}

/*
 * Spec: S-S API, GET /_matrix/federation/v1/hierarchy/{roomId}?suggested_only=:
 * {room, children, inaccessible_children}.  room: the room's summary and
 * its children_state (a space's m.space.child events with a valid via,
 * only the suggested ones with suggested_only); children: the summaries
 * of those children known here that origin may see; inaccessible_children:
 * the IDs of those known here that it may not.  Children not known here
 * are in neither (as Synapse).  404 M_NOT_FOUND when the room is unknown
 * or origin may not see it; 403 when the room's ACL denies origin.
 */
int
h_fed_hierarchy(struct mreq *req)
{
	const char	*room_id = req->params[0], *rt, *cid;
	char		*so = mreq_query(req, "suggested_only");
	json_t		*s = NULL, *children = NULL, *cs = NULL, *out = NULL, *inacc = NULL;
	json_t		*ev, *c;
	size_t		 i;
	int		 rc = -1, r, suggested;

	if (so != NULL && strcmp(so, "true") != 0 && strcmp(so, "false") != 0) {
		mfcgi_fail(req, MERR_INVALID_PARAM, "suggested_only must be true or false");
		goto out;
	}
	suggested = so != NULL && strcmp(so, "true") == 0;
	if ((r = mfed_acl_allows(req->db, room_id, req->auth.origin)) != 1) {
		if (r == -1)
			mfcgi_fail(req, MERR_INTERNAL, "%s: ACL", __func__);
		else
			mfcgi_fail(req, MERR_FORBIDDEN, "Server is banned from room");
		goto out;
	}
	if ((r = mstore_room_summary(req->db, room_id, &s)) == 1)
		r = server_accessible(req, room_id, s);
	if (r == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	if (r == 0) {
		mfcgi_fail(req, MERR_NOT_FOUND, "Unknown room: %s", room_id);
		goto out;
	}
	if ((cs = json_array()) == NULL || (out = json_array()) == NULL ||
	    (inacc = json_array()) == NULL)
		goto fail;
	/* As Synapse: only a space's m.space.child events count. */
	rt = mjson_str(s, "room_type");
	if (rt != NULL && strcmp(rt, "m.space") == 0) {
		if ((children = mstore_space_children(req->db, room_id)) == NULL)
			goto fail;
		json_array_foreach(children, i, ev) {
			if (suggested && !json_is_true(json_object_get(json_object_get(ev,
			    "content"), "suggested")))
				continue;
			if (json_array_append_new(cs, stripped(ev)) == -1)
				goto fail;
		}
	}
	json_array_foreach(cs, i, ev) {
		if ((cid = mjson_str(ev, "state_key")) == NULL || strcmp(cid, room_id) == 0)
			continue;
		c = NULL;
		if ((r = mstore_room_summary(req->db, cid, &c)) == 1)
			r = server_accessible(req, cid, c);
		if (r == -1) {
			json_decref(c);
			goto fail;
		}
		if (r == 1)
			json_array_append_new(out, c);
		else {
			if (c != NULL)
				json_array_append_new(inacc, json_string(cid));
			json_decref(c);
		}
	}
	json_object_set(s, "children_state", cs);
	rc = mfcgi_reply(req, 200, json_pack("{s:O,s:O,s:O}", "room", s, "children", out,
	    "inaccessible_children", inacc));
	goto out;
fail:
	mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
out:
	json_decref(s);
	json_decref(cs);
	json_decref(out);
	json_decref(inacc);
	json_decref(children);
	free(so);
	return rc;
}
