/* Third-party invites from identity servers: PUT /3pid/onbind. */
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "ident/ident.h"
#include "json/json.h"
#include "log/log.h"
#include "room/room.h"

/*
 * Spec: S-S API, PUT /_matrix/federation/v1/3pid/onbind (Synapse 1.67
 * and SyTest's identity server use POST): a 3PID was bound, and each of
 * invites (sender, mxid, room_id, signed) becomes an invite of mxid by
 * sender through mident_exchange.  The identity server signs nothing
 * that a homeserver checks here but the signed blocks, which the
 * exchange checks against the keys of the room's m.room.third_party_
 * invite.  Every invite is tried; as Synapse, the last failure is the
 * answer (400 for a malformed invite, 403 for one that does not hold,
 * 404 M_UNRECOGNIZED for a room not on this server: the exchange with
 * its server over federation is not done).
 */
int
h_3pid_onbind(struct mreq *req)
{
	struct mroom_ctx	 ctx;
	json_t			*inv;
	const char		*why = NULL;
	char			*eid = NULL, whybuf[256];
	enum merr		 last = MERR__MAX;
	enum mroom_err		 e;
	size_t			 i;

	memset(&ctx, 0, sizeof(ctx));
	ctx.db = req->db;
	ctx.server_name = req->conf->server_name;
	ctx.key = req->srv->key;
	json_array_foreach(json_object_get(req->body, "invites"), i, inv) {
		const json_t *s = json_object_get(inv, "signed");

		if (!json_is_object(s) || mjson_str(s, "token") == NULL ||
		    mjson_str(inv, "room_id") == NULL || mjson_str(inv, "sender") == NULL ||
		    mjson_str(inv, "mxid") == NULL) {
			last = MERR_BAD_JSON;
			why = "Rejecting received notification of third-party invite without signed";
			continue;
		}
		e = mident_exchange(&ctx, req->conf, mjson_str(inv, "room_id"),
		    mjson_str(inv, "sender"), mjson_str(inv, "mxid"), s, &eid);
		free(eid);
		eid = NULL;
		if (e == MROOM_OK)
			continue;
		mlog_info(req->id, "onbind: invite to %s refused (%d): %s",
		    mjson_str(inv, "room_id"), (int)e, ctx.why);
		snprintf(whybuf, sizeof(whybuf), "%s", ctx.why);
		why = whybuf;
		switch (e) {
		case MROOM_NO_ROOM:
			last = MERR_UNRECOGNIZED;
			why = "The room is not on this server; the exchange over federation is"
			    " not implemented";
			break;
		case MROOM_FORBIDDEN:
			last = MERR_FORBIDDEN;
			break;
		case MROOM_BAD_JSON:
			last = MERR_BAD_JSON;
			break;
		case MROOM_BAD_PARAM:
			last = MERR_INVALID_PARAM;
			break;
		default:
			last = MERR_INTERNAL;
			why = "exchange failed";
			break;
		}
	}
	if (last != MERR__MAX)
		return mfcgi_fail(req, last, "%s", why);
	return mfcgi_reply(req, 200, json_object());
}
