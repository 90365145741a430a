/* PUT /sendToDevice: messages from one device to others, outside rooms. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appsvc/appsvc.h"
#include "e2ee.h"
#include "fed/fed.h"
#include "log/log.h"
#include "room/room.h"
#include "store/store.h"

/* Client-chosen IDs get Synapse's bound on identifiers. */
#define MAX_ID_LEN	255

/*
 * Spec: C-S API, PUT /sendToDevice/{eventType}/{txnId}: body
 * {"messages": {user_id: {device_id or "*": content}}}.  400 M_BAD_JSON
 * for another shape or a bad user ID; a replayed txnId answers {} and
 * delivers nothing again.  Messages for users of other servers go to
 * their servers as m.direct_to_device EDUs (message_id: sender device
 * and txnId), queued in the same transaction.
 */
int
h_send_to_device(struct mreq *req)
{
	const char	*type = req->params[0], *txn = req->params[1], *user_id, *device_id;
	json_t		*messages = json_object_get(req->body, "messages"), *local, *remote;
	json_t		*devs, *c;
	char		*mid;
	int		 rc;

	if (strlen(type) > MAX_ID_LEN || strlen(txn) > MAX_ID_LEN)
		return mfcgi_fail(req, MERR_INVALID_PARAM, "Event type or txnId too long");
	if (!json_is_object(messages))
		return mfcgi_fail(req, MERR_BAD_JSON, "messages must be an object");
	if ((local = json_object()) == NULL || (remote = json_object()) == NULL) {
		json_decref(local);
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	}
	json_object_foreach(messages, user_id, devs) {
		if (!mroom_user_id_check(user_id) || !json_is_object(devs)) {
			json_decref(local);
			json_decref(remote);
			return mfcgi_fail(req, MERR_BAD_JSON, "messages must map user IDs to objects");
		}
		json_object_foreach(devs, device_id, c)
			if (!json_is_object(c) || *device_id == '\0' ||
			    strlen(device_id) > MAX_ID_LEN) {
				json_decref(local);
				json_decref(remote);
				return mfcgi_fail(req, MERR_BAD_JSON,
				    "messages must map device IDs to objects");
			}
		json_object_set(e2ee_user_local(req, user_id) ? local : remote, user_id, devs);
	}
	/* The ID other servers see, unique per sending device and txnId. */
	if (asprintf(&mid, "%s|%s", req->auth.device_id != NULL ? req->auth.device_id : "",
	    txn) == -1) {
		json_decref(local);
		json_decref(remote);
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	}
	rc = mdb_begin(req->db);
	if (rc == 0 && (rc = mstore_todevice_send(req->db, req->auth.user_id,
	    req->auth.device_id, txn, type, local)) == 1 && json_object_size(remote) > 0 &&
	    mfed_edu_todevice(req->db, req->auth.user_id, type, mid, remote) == -1)
		rc = -1;
	/* MSC4203: the services whose users they are get a copy. */
	if (rc == 1 && mappsvc_todevice_queue(req->db, req->conf, req->auth.user_id, type,
	    local) == -1)
		rc = -1;
	if (rc == 1)
		rc = mdb_commit(req->db);
	else
		mdb_rollback(req->db);
	free(mid);
	json_decref(local);
	json_decref(remote);
	if (rc == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return mfcgi_reply(req, 200, json_object());
}
