/*
 * Out-of-band memberships (S-S API, "Inviting to a room" and "Leaving
 * Rooms (Rejecting Invites)"): an invite from another server to a room
 * whose DAG is not here, and the leave that rejects it.  Neither is in
 * the room's DAG: each is an outlier at a live position whose member
 * event is the room's current state here, so that /sync shows the
 * invite and then the rejection, as Synapse stores them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"
#include "crypto/crypto.h"
#include "events/events.h"
#include "json/json.h"
#include "log/log.h"
#include "room/room.h"
#include "room/write.h"
#include "store/store.h"

/* Stores ev (checked) as an out-of-band membership of room_id. */
static enum mroom_err
persist_oob(struct mroom_ctx *ctx, const struct mroomver *ver, json_t *ev,
    const char *event_id, const char *room_id)
{
	struct mroom_pflags	 fl;
	struct stateview	 sv;
	enum mroom_err		 rc = MROOM_ERROR;

	memset(&fl, 0, sizeof(fl));
	memset(&sv, 0, sizeof(sv));
	fl.outlier = fl.oob = 1;
	sv.ctx = ctx;
	sv.room_id = room_id;
	if ((sv.cache = json_object()) == NULL || (sv.map = json_object()) == NULL)
		goto out;
	rc = mroom_persist(ctx, ver, &sv, ev, event_id, room_id, 0, NULL, NULL, &fl);
out:
	json_decref(sv.cache);
	json_decref((json_t *)sv.map);
	return rc;
}

enum mroom_err
mroom_receive_invite(struct mroom_ctx *ctx, const char *origin, const json_t *pdu,
    const char *room_version, struct mroom_recv *r)
{
	const struct mroomver	*ver;
	struct mroom		 room;
	struct mevflags		 f;
	const char		*room_id = mjson_str(pdu, "room_id");
	const char		*type = mjson_str(pdu, "type"), *sk = mjson_str(pdu, "state_key");
	const char		*m = mjson_str(json_object_get(pdu, "content"), "membership");
	json_t			*ev = NULL;
	enum mroom_err		 rc;
	int			 found;

	r->event_id = NULL;
	r->missing = NULL;
	r->fate = MROOM_FATE_KNOWN;
	r->redacted = 0;
	ctx->why[0] = '\0';
	memset(&room, 0, sizeof(room));
	if ((ver = mroomver_get(room_version)) == NULL) {
		snprintf(ctx->why, sizeof(ctx->why), "Unsupported room version %.64s",
		    room_version);
		return MROOM_BAD_EVENT;
	}
	if (room_id == NULL) {
		snprintf(ctx->why, sizeof(ctx->why), "Invalid PDU: room_id");
		return MROOM_BAD_EVENT;
	}
	if ((rc = mroom_recv_shape(ctx, ver, pdu, room_id)) != MROOM_OK)
		return rc;
	if (strcmp(type, "m.room.member") != 0 || sk == NULL || m == NULL ||
	    strcmp(m, "invite") != 0) {
		snprintf(ctx->why, sizeof(ctx->why), "Invalid PDU: not an invite");
		return MROOM_BAD_EVENT;
	}
	if ((rc = mroom_policy_check(ctx, room_id, type, sk, json_object_get(pdu,
	    "content"))) != MROOM_OK)
		return rc;
	if ((r->event_id = mevent_id(pdu, ver)) == NULL)
		return MROOM_ERROR;
	if ((rc = mroom_recv_signed(ctx, ver, pdu, r)) != MROOM_OK)
		goto out;
	rc = MROOM_ERROR;
	if ((found = mstore_room_get(ctx->db, room_id, &room)) == -1)
		goto out;
	if (found == 0) {
		switch (mstore_room_add(ctx->db, room_id, ver->id, mjson_str(pdu, "sender"))) {
		case 0:
			break;
		case MSTORE_CONFLICT:
			rc = MROOM_CONFLICT;
			goto out;
		default:
			goto out;
		}
	} else if (strcmp(room.version, ver->id) != 0) {
		snprintf(ctx->why, sizeof(ctx->why), "The room's version here is %.32s",
		    room.version);
		rc = MROOM_BAD_EVENT;
		goto out;
	}
	if (mstore_room_lock(ctx->db, room_id) == -1 ||
	    (found = mstore_event_flags(ctx->db, r->event_id, &f)) == -1)
		goto out;
	if (found == 1) {
		free(f.room_id);
		rc = MROOM_OK;
		goto out;
	}
	/* As mroom_receive: a content hash that does not match is stored redacted. */
	if (!mevent_hash_check(pdu)) {
		ev = mevent_redact(pdu, ver);
		r->redacted = 1;
	} else if ((ev = json_deep_copy(pdu)) != NULL)
		json_object_del(ev, "unsigned");
	if (ev == NULL)
		goto out;
	if ((rc = persist_oob(ctx, ver, ev, r->event_id, room_id)) != MROOM_OK)
		goto out;
	r->stream = ctx->stream;
	r->fate = MROOM_FATE_OUTLIER;
	mlog_debug(NULL, "%s: %s from %s", __func__, r->event_id, origin != NULL ? origin : "?");
out:
	if (rc != MROOM_OK) {
		free(r->event_id);
		r->event_id = NULL;
	}
	json_decref(ev);
	mroom_fini(&room);
	return rc;
}

/* A leave of user_id built here after its current member event cur. */
static json_t *
build_leave(struct mroom_ctx *ctx, const struct mroomver *ver, const char *room_id,
    const char *user_id, const json_t *cur)
{
	const char	*cid = mjson_str(cur, "event_id");
	json_t		*ev, *ref;
	char		*r = NULL, *id = NULL;

	if (cid == NULL)
		return NULL;
	ref = ver->evid == MEVID_V1 ? json_pack("[[s,O]]", cid, json_object_get(cur, "hashes")) :
	    json_pack("[s]", cid);
	if (ref == NULL)
		return NULL;
	ev = json_pack("{s:s,s:s,s:s,s:s,s:{s:s},s:s,s:I,s:I,s:O,s:O}", "type", "m.room.member",
	    "state_key", user_id, "sender", user_id, "room_id", room_id, "content",
	    "membership", "leave", "origin", ctx->server_name, "origin_server_ts",
	    (json_int_t)mclock_now_ms(), "depth", (json_int_t)(json_integer_value(
	    json_object_get(cur, "depth")) + 1), "prev_events", ref, "auth_events", ref);
	json_decref(ref);
	if (ev == NULL)
		return NULL;
	if (ver->evid == MEVID_V1) {
		if ((r = mcrypto_random_string(18)) == NULL ||
		    asprintf(&id, "$%s:%s", r, ctx->server_name) == -1)
			id = NULL;
		free(r);
		if (id == NULL || json_object_set_new(ev, "event_id", json_string(id)) == -1) {
			free(id);
			json_decref(ev);
			return NULL;
		}
		free(id);
	}
	if (mevent_sign(ev, ver, ctx->server_name, ctx->key) == -1) {
		json_decref(ev);
		return NULL;
	}
	return ev;
}

enum mroom_err
mroom_oob_member(struct mroom_ctx *ctx, const char *room_id, const char *user_id,
    const json_t *pdu, const char *room_version, char **event_id)
{
	const struct mroomver	*ver;
	struct mroom		 room;
	struct mevflags		 f;
	json_t			*cur = NULL, *ev = NULL;
	enum mroom_err		 rc = MROOM_ERROR;
	int			 found, err = 0;

	*event_id = NULL;
	ctx->why[0] = '\0';
	memset(&room, 0, sizeof(room));
	if ((found = mstore_room_get(ctx->db, room_id, &room)) == 0 && pdu != NULL &&
	    room_version != NULL && mroomver_get(room_version) != NULL) {
		/* A knock on a room unknown here: the room made known by its version. */
		switch (mstore_room_add(ctx->db, room_id, room_version, user_id)) {
		case 0:
			break;
		case MSTORE_CONFLICT:
			return MROOM_CONFLICT;
		default:
			return MROOM_ERROR;
		}
		found = mstore_room_get(ctx->db, room_id, &room);
	}
	if (found != 1) {
		mroom_fini(&room);
		return found == 0 ? MROOM_NO_ROOM : MROOM_ERROR;
	}
	if ((ver = mroomver_get(room.version)) == NULL || mstore_room_lock(ctx->db, room_id) == -1)
		goto out;
	if (pdu != NULL) {
		if ((ev = json_deep_copy(pdu)) == NULL)
			goto out;
		json_object_del(ev, "unsigned");
	} else {
		if ((cur = mstore_cstate_event(ctx->db, room_id, "m.room.member", user_id,
		    &err)) == NULL) {
			if (!err) {
				snprintf(ctx->why, sizeof(ctx->why), "No membership to leave");
				rc = MROOM_FORBIDDEN;
			}
			goto out;
		}
		if ((ev = build_leave(ctx, ver, room_id, user_id, cur)) == NULL)
			goto out;
	}
	if ((*event_id = mevent_id(ev, ver)) == NULL ||
	    (found = mstore_event_flags(ctx->db, *event_id, &f)) == -1)
		goto out;
	if (found == 1) {
		free(f.room_id);
		rc = MROOM_OK;
		goto out;
	}
	rc = persist_oob(ctx, ver, ev, *event_id, room_id);
out:
	if (rc != MROOM_OK) {
		free(*event_id);
		*event_id = NULL;
	}
	json_decref(cur);
	json_decref(ev);
	mroom_fini(&room);
	return rc;
}
