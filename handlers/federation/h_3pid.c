/* Third-party invites from identity servers: PUT /3pid/onbind. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "fed/fed.h"
#include "ident/ident.h"
#include "json/json.h"
#include "log/log.h"
#include "room/room.h"

/*
 * Spec: S-S API, "Third-party invites": the invite of a room on another
 * server is made by that server: PUT /exchange_third_party_invite/{roomId}
 * with the member event (sender, state_key mxid, content.third_party_invite
 * {signed}), as Synapse sends it.  MROOM_OK when it took it; else
 * MROOM_NO_ROOM with *last and why set (its error, or 502 unanswered).
 */
static enum mroom_err
exchange_remote(struct mreq *req, const json_t *inv, const json_t *s, char *why, size_t whysz,
    enum merr *last)
{
	const char	*room_id = mjson_str(inv, "room_id"), *server = strchr(room_id, ':');
	json_t		*body, *reply = NULL;
	char		*re, *path = NULL;
	long		 status = 0;
	int		 rc;

	if (server == NULL || strcmp(server + 1, req->conf->server_name) == 0) {
		snprintf(why, whysz, "Unknown room");
		*last = MERR_NOT_FOUND;
		return MROOM_NO_ROOM;
	}
	server++;
	body = json_pack("{s:s,s:s,s:s,s:s,s:{s:s,s:{s:O}}}", "type", "m.room.member",
	    "room_id", room_id, "sender", mjson_str(inv, "sender"), "state_key",
	    mjson_str(inv, "mxid"), "content", "membership", "invite", "third_party_invite",
	    "signed", s);
	if (body == NULL || (re = mfed_escape(room_id)) == NULL ||
	    asprintf(&path, "/_matrix/federation/v1/exchange_third_party_invite/%s", re) == -1) {
		json_decref(body);
		snprintf(why, whysz, "out of memory");
		*last = MERR_INTERNAL;
		return MROOM_NO_ROOM;
	}
	free(re);
	rc = mfed_request(req->conf, req->srv->key, server, "PUT", path, body, &status, &reply);
	free(path);
	json_decref(body);
	if (rc == 0 && status == 200) {
		json_decref(reply);
		return MROOM_OK;
	}
	snprintf(why, whysz, "%s", mjson_str(reply, "error") != NULL ? mjson_str(reply, "error") :
	    "The room's server did not take the invite");
	*last = status == 403 ? MERR_FORBIDDEN : status == 400 ? MERR_BAD_JSON :
	    status == 404 ? MERR_NOT_FOUND : MERR_BAD_GATEWAY;
	json_decref(reply);
	return MROOM_NO_ROOM;
}

/*
 * Spec: S-S API, PUT /_matrix/federation/v1/exchange_third_party_invite/
 * {roomId}: another server's onbind of a room here.  The event's sender
 * must be a user of ours (the room's third-party invite is theirs) and
 * the origin allowed by the room's ACL; the exchange is the local one
 * (mident_exchange: the signed block against the room's
 * m.room.third_party_invite), and the invite made goes to the invitee's
 * server (mfed_invite_send).  {} when done.
 */
int
h_fed_exchange_3pid(struct mreq *req)
{
	struct mroom_ctx	 ctx;
	const char		*room_id = req->params[0], *sender, *mxid, *at;
	const json_t		*content = json_object_get(req->body, "content"), *s;
	char			*eid = NULL;
	enum mroom_err		 e;
	int			 ok;

	sender = mjson_str(req->body, "sender");
	mxid = mjson_str(req->body, "state_key");
	s = json_object_get(json_object_get(content, "third_party_invite"), "signed");
	if (mjson_str(req->body, "type") == NULL || strcmp(mjson_str(req->body, "type"),
	    "m.room.member") != 0 || mjson_str(content, "membership") == NULL ||
	    strcmp(mjson_str(content, "membership"), "invite") != 0 || sender == NULL ||
	    mxid == NULL || !json_is_object(s))
		return mfcgi_fail(req, MERR_BAD_JSON, "Not a third-party invite event");
	if (mjson_str(req->body, "room_id") == NULL ||
	    strcmp(mjson_str(req->body, "room_id"), room_id) != 0)
		return mfcgi_fail(req, MERR_BAD_JSON, "The event is of another room");
	if ((at = strchr(sender, ':')) == NULL || strcmp(at + 1, req->conf->server_name) != 0)
		return mfcgi_fail(req, MERR_FORBIDDEN, "The inviter is not a user of this server");
	if ((ok = mfed_acl_allows(req->db, room_id, req->auth.origin)) != 1)
		return ok == -1 ? mfcgi_fail(req, MERR_INTERNAL, "%s: ACL", __func__) :
		    mfcgi_fail(req, MERR_FORBIDDEN, "Server is banned from room");
	memset(&ctx, 0, sizeof(ctx));
	ctx.db = req->db;
	ctx.server_name = req->conf->server_name;
	ctx.key = req->srv->key;
	e = mident_exchange(&ctx, req->conf, room_id, sender, mxid, s, &eid);
	switch (e) {
	case MROOM_OK:
		break;
	case MROOM_NO_ROOM:
		return mfcgi_fail(req, MERR_NOT_FOUND, "Unknown room");
	case MROOM_FORBIDDEN:
		return mfcgi_fail(req, MERR_FORBIDDEN, "%s", ctx.why);
	case MROOM_BAD_JSON:
	case MROOM_BAD_PARAM:
		return mfcgi_fail(req, MERR_BAD_JSON, "%s", ctx.why);
	default:
		return mfcgi_fail(req, MERR_INTERNAL, "%s: exchange failed: %s", __func__, ctx.why);
	}
	if (eid != NULL && (at = strchr(mxid, ':')) != NULL &&
	    strcmp(at + 1, req->conf->server_name) != 0)
		(void)mfed_invite_send(req->db, req->conf, req->srv->key, eid);
	free(eid);
	return mfcgi_reply(req, 200, json_object());
}

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
		/* A room elsewhere: its server makes the invite (exchange_third_party_invite). */
		if (e == MROOM_NO_ROOM)
			e = exchange_remote(req, inv, s, whybuf, sizeof(whybuf), &last);
		if (e == MROOM_OK)
			continue;
		if (e == MROOM_NO_ROOM && last != MERR__MAX) {
			why = whybuf;
			continue;
		}
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
