/* PUT /send/{txnId}, and the queries other servers make of ours. */
#include <stdlib.h>
#include <string.h>

#include "events/events.h"
#include "extern.h"
#include "fed/fed.h"
#include "json/json.h"
#include "room/room.h"
#include "store/store.h"

/* Spec: S-S API, "Transactions": at most 50 PDUs and 100 EDUs. */
#define TXN_PDUS_MAX	50
#define TXN_EDUS_MAX	100

/*
 * One PDU of a transaction: its ID by its room's version, and the
 * write path's verdict in results.  A PDU of a room this server does
 * not know, or not an object, is left out of the results, as Synapse
 * leaves it (there is no room version to name its ID by).
 */
static int
send_pdu(struct mreq *req, const json_t *pdu, json_t *results)
{
	struct mroom		 room;
	const struct mroomver	*ver;
	const char		*room_id = mjson_str(pdu, "room_id");
	char			*id = NULL, *why = NULL;
	int			 rc;

	if (!json_is_object(pdu) || room_id == NULL)
		return 0;
	memset(&room, 0, sizeof(room));
	if ((rc = mstore_room_get(req->db, room_id, &room)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: room lookup", __func__);
	if (rc == 0 || (ver = mroomver_get(room.version)) == NULL) {
		mroom_fini(&room);
		return 0;
	}
	if ((id = mevent_id(pdu, ver)) == NULL) {
		mroom_fini(&room);
		return 0;
	}
	/* Spec: m.room.server_acl: a denied origin's PDUs are refused. */
	if ((rc = mfed_acl_allows(req->db, room_id, req->auth.origin)) != 1)
		why = strdup(rc == -1 ? "storage failure" : "Server is banned from room");
	else
		why = mfed_receive_pdu(req->db, req->conf, req->auth.origin, pdu, room.version,
		    id);
	json_object_set_new(results, id, why == NULL ? json_object() :
	    json_pack("{s:s}", "error", why));
	free(why);
	free(id);
	mroom_fini(&room);
	return 0;
}

/*
 * Spec: S-S API, PUT /_matrix/federation/v1/send/{txnId}: origin,
 * origin_server_ts, pdus (at most 50) and edus (at most 100, optional).
 * Over the limits it is 400, as Synapse answers it (with M_BAD_JSON
 * here, as every myelin error carries a code).  The answer maps each
 * PDU's ID to {} or {"error": ...}.  Each PDU is taken in through
 * lib/fed/inbound.c, in its own transaction, fetching from the origin
 * what it lacks; a PDU seen before is {} again and changes nothing, so
 * a replayed transaction changes nothing.  EDUs: typing, receipts and
 * presence (XXX: device lists, to-device, signing keys are dropped).
 */
int
h_send(struct mreq *req)
{
	json_t	*pdus = json_object_get(req->body, "pdus");
	json_t	*edus = json_object_get(req->body, "edus");
	json_t	*ts = json_object_get(req->body, "origin_server_ts");
	json_t	*results, *v;
	size_t	 i;

	if (!json_is_string(json_object_get(req->body, "origin")) || !json_is_integer(ts))
		return mfcgi_fail(req, MERR_BAD_JSON, "origin and origin_server_ts are required");
	if (pdus != NULL && !json_is_array(pdus))
		return mfcgi_fail(req, MERR_BAD_JSON, "pdus must be an array");
	if (edus != NULL && !json_is_array(edus))
		return mfcgi_fail(req, MERR_BAD_JSON, "edus must be an array");
	if (json_array_size(pdus) > TXN_PDUS_MAX || json_array_size(edus) > TXN_EDUS_MAX)
		return mfcgi_fail(req, MERR_BAD_JSON, "Transaction PDU or EDU count too large");
	if ((results = json_object()) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	mfed_inbound_init(req->srv->key);
	json_array_foreach(pdus, i, v)
		if (send_pdu(req, v, results) == -1) {
			json_decref(results);
			return -1;
		}
	json_array_foreach(edus, i, v)
		mfed_receive_edu(req->db, req->conf, req->srv->key, req->auth.origin, v);
	return mfcgi_reply(req, 200, json_pack("{s:o}", "pdus", results));
}

/*
 * Spec: S-S API, GET /_matrix/federation/v1/query/profile: user_id, and
 * field "displayname" or "avatar_url" for one of them.  A user of
 * another server is 400 M_INVALID_PARAM, an unknown one 404 M_NOT_FOUND,
 * as Synapse answers.
 */
int
h_query_profile(struct mreq *req)
{
	struct muser	 u;
	char		*user = mreq_query(req, "user_id"), *field = mreq_query(req, "field");
	const char	*colon;
	json_t		*out = NULL;
	int		 rc;

	memset(&u, 0, sizeof(u));
	if (user == NULL) {
		rc = mfcgi_fail(req, MERR_MISSING_PARAM, "Missing user_id");
		goto done;
	}
	if (!mroom_user_id_check(user)) {
		rc = mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid user_id");
		goto done;
	}
	colon = strchr(user, ':');
	if (strcmp(colon + 1, req->conf->server_name) != 0) {
		rc = mfcgi_fail(req, MERR_INVALID_PARAM, "Cannot query profile of remote user");
		goto done;
	}
	if (field != NULL && strcmp(field, "displayname") != 0 && strcmp(field, "avatar_url") != 0) {
		rc = mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid field");
		goto done;
	}
	if ((rc = mstore_user_get(req->db, user, &u)) == -1) {
		rc = mfcgi_fail(req, MERR_INTERNAL, "%s: user lookup", __func__);
		goto done;
	}
	if (rc == 0 || u.deactivated) {
		rc = mfcgi_fail(req, MERR_NOT_FOUND, "Profile was not found");
		goto done;
	}
	out = json_object();
	if (u.displayname != NULL && (field == NULL || strcmp(field, "displayname") == 0))
		json_object_set_new(out, "displayname", json_string(u.displayname));
	if (u.avatar_url != NULL && (field == NULL || strcmp(field, "avatar_url") == 0))
		json_object_set_new(out, "avatar_url", json_string(u.avatar_url));
	rc = mfcgi_reply(req, 200, out);
done:
	muser_fini(&u);
	free(user);
	free(field);
	return rc;
}

/*
 * Spec: S-S API, GET /_matrix/federation/v1/query/directory: room_alias,
 * one of this server's aliases.  As Synapse: another server's alias is
 * 400 M_INVALID_PARAM ("not hosted on this homeserver"), an unknown one
 * 404 M_NOT_FOUND.  servers lists this server only: the room's other
 * servers are not known to it yet.
 */
int
h_query_directory(struct mreq *req)
{
	char		*alias = mreq_query(req, "room_alias"), *room_id = NULL;
	const char	*colon;
	int		 rc;

	if (alias == NULL)
		return mfcgi_fail(req, MERR_MISSING_PARAM, "Missing room_alias");
	if (!mroom_alias_check(alias)) {
		free(alias);
		return mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid room_alias");
	}
	colon = strchr(alias, ':');
	if (strcmp(colon + 1, req->conf->server_name) != 0) {
		free(alias);
		return mfcgi_fail(req, MERR_INVALID_PARAM, "Room Alias is not hosted on this homeserver");
	}
	rc = mstore_alias_get(req->db, alias, &room_id, NULL);
	free(alias);
	if (rc == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: alias lookup", __func__);
	if (rc == 0)
		return mfcgi_fail(req, MERR_NOT_FOUND, "Room alias not found");
	rc = mfcgi_reply(req, 200, json_pack("{s:s,s:[s]}", "room_id", room_id, "servers",
	    req->conf->server_name));
	free(room_id);
	return rc;
}

/*
 * Spec: S-S API, GET /_matrix/federation/v1/query/{queryType}: the query
 * types this server answers are profile and directory (their own routes,
 * above); any other is 404 M_NOT_FOUND, as Synapse ("No handler for Query
 * type").
 */
int
h_query_other(struct mreq *req)
{
	return mfcgi_fail(req, MERR_NOT_FOUND, "No handler for Query type '%s'",
	    req->params[0]);
}
