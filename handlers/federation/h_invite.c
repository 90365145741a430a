/*
 * Invites from other servers (S-S API, "Inviting to a room"): PUT
 * /v2/invite/{roomId}/{eventId} and the deprecated /v1/invite.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/events.h"
#include "extern.h"
#include "fed/fed.h"
#include "json/json.h"
#include "room/room.h"
#include "store/store.h"

/* The server name of a user or event ID (after its first ':'), or NULL. */
static const char *
server_of(const char *id)
{
	const char *p;

	if (id == NULL || (p = strchr(id, ':')) == NULL || p[1] == '\0')
		return NULL;
	return p + 1;
}

/*
 * The invite event ev of room_version, for a user of ours, checked
 * here as Synapse checks it (on_invite_request): the path's room and
 * event ID, an invite by a user of the origin, the room's ACL, valid
 * JSON of its version; then co-signed by us and taken in
 * (mfed_receive_invite: the sender's signature checked there, 403), and
 * answered signed.  v1 answers [200, {"event": ...}].
 */
static int
invite(struct mreq *req, const json_t *in, const char *room_version, const json_t *irs, int v1)
{
	const struct mroomver	*ver;
	const char		*room_id = req->params[0], *sk, *m;
	enum mroom_fate		 fate;
	enum mroom_err		 e;
	json_t			*ev = NULL, *out;
	char			*id = NULL, *js, why[256];
	int			 rc = -1, ok;

	if (!json_is_object(in))
		return mfcgi_fail(req, MERR_BAD_JSON, "The invite event is not an object");
	if ((ver = mroomver_get(room_version)) == NULL) {
		mfcgi_fail_as(req, 400, "M_INCOMPATIBLE_ROOM_VERSION",
		    "Room version not supported here");
		return mfcgi_fail_add(req, "room_version", json_string(room_version));
	}
	/* Spec: room versions 6 and later, "Canonical JSON": no floats, no big integers. */
	if ((js = mjson_canonical(in, NULL)) == NULL)
		return mfcgi_fail(req, MERR_BAD_JSON, "The invite event is not canonical JSON");
	free(js);
	sk = mjson_str(in, "state_key");
	m = mjson_str(json_object_get(in, "content"), "membership");
	if (mjson_str(in, "type") == NULL || strcmp(mjson_str(in, "type"), "m.room.member") != 0 ||
	    m == NULL || strcmp(m, "invite") != 0 || sk == NULL)
		return mfcgi_fail(req, MERR_BAD_JSON, "Not an invite event");
	if (mjson_str(in, "room_id") == NULL || strcmp(mjson_str(in, "room_id"), room_id) != 0)
		return mfcgi_fail(req, MERR_BAD_JSON, "The event is of another room");
	if (server_of(sk) == NULL || strcmp(server_of(sk), req->conf->server_name) != 0)
		return mfcgi_fail(req, MERR_FORBIDDEN, "The invite is not for a user of this server");
	if (server_of(mjson_str(in, "sender")) == NULL ||
	    strcmp(server_of(mjson_str(in, "sender")), req->auth.origin) != 0)
		return mfcgi_fail(req, MERR_FORBIDDEN,
		    "The invite event was not from the server sending it");
	if ((ok = mfed_acl_allows(req->db, room_id, req->auth.origin)) != 1)
		return ok == -1 ? mfcgi_fail(req, MERR_INTERNAL, "%s: ACL", __func__) :
		    mfcgi_fail(req, MERR_FORBIDDEN, "Server is banned from room");
	if ((id = mevent_id(in, ver)) == NULL || strcmp(id, req->params[1]) != 0) {
		rc = mfcgi_fail(req, MERR_BAD_JSON, "The event ID does not match the event");
		goto out;
	}
	/* Our signature goes on the event as sent: its content hash must hold. */
	if (!mevent_hash_check(in)) {
		rc = mfcgi_fail(req, MERR_FORBIDDEN, "The content hash does not match");
		goto out;
	}
	if ((ev = json_deep_copy(in)) == NULL) {
		rc = mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	if (mevent_sign(ev, ver, req->conf->server_name, req->srv->key) == -1) {
		rc = mfcgi_fail(req, MERR_INTERNAL, "%s: sign", __func__);
		goto out;
	}
	e = mfed_receive_invite(req->db, req->conf, req->srv->key, req->auth.origin, ev,
	    ver->id, irs, &fate, why, sizeof(why));
	switch (e) {
	case MROOM_OK:
		break;
	case MROOM_ERROR:
		rc = mfcgi_fail(req, MERR_INTERNAL, "%s: %s", __func__, why);
		goto out;
	case MROOM_FORBIDDEN:
	case MROOM_BAD_SIGNATURE:
	case MROOM_CONFLICT:
		rc = mfcgi_fail(req, MERR_FORBIDDEN, "%s", why);
		goto out;
	default:
		rc = mfcgi_fail(req, MERR_BAD_JSON, "%s", why);
		goto out;
	}
	if (fate == MROOM_FATE_REJECTED || fate == MROOM_FATE_SOFT_FAILED) {
		rc = mfcgi_fail(req, MERR_FORBIDDEN, "%s", why[0] != '\0' ? why :
		    "The invite is not allowed");
		goto out;
	}
	out = v1 ? json_pack("[i,{s:O}]", 200, "event", ev) : json_pack("{s:O}", "event", ev);
	rc = out != NULL ? mfcgi_reply(req, 200, out) :
	    mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
out:
	free(id);
	json_decref(ev);
	return rc;
}

/* Spec: S-S API, PUT /_matrix/federation/v2/invite/{roomId}/{eventId}. */
int
h_fed_invite(struct mreq *req)
{
	const json_t	*irs = json_object_get(req->body, "invite_room_state");
	const char	*rv = mjson_str(req->body, "room_version");

	if (!json_is_object(req->body) || !json_is_object(json_object_get(req->body, "event")))
		return mfcgi_fail(req, MERR_BAD_JSON, "Missing event");
	if (rv == NULL)
		return mfcgi_fail(req, MERR_MISSING_PARAM, "Missing room_version");
	if (irs != NULL && !json_is_array(irs))
		return mfcgi_fail(req, MERR_BAD_JSON, "invite_room_state is not a list");
	return invite(req, json_object_get(req->body, "event"), rv, irs, 0);
}

/*
 * Spec: S-S API, PUT /_matrix/federation/v1/invite (deprecated): the
 * body is the event, of a room of version 1 (as Synapse takes it) unless
 * the room is known here.
 */
int
h_fed_invite_v1(struct mreq *req)
{
	const json_t	*irs = json_object_get(json_object_get(req->body, "unsigned"),
	    "invite_room_state");
	struct mroom	 room;
	char		 rv[32] = "1";

	/* A room known here is of the version known. */
	memset(&room, 0, sizeof(room));
	if (mstore_room_get(req->db, req->params[0], &room) == 1)
		snprintf(rv, sizeof(rv), "%s", room.version);
	mroom_fini(&room);
	return invite(req, req->body, rv, json_is_array(irs) ? irs : NULL, 1);
}
