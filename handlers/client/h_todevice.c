/* PUT /sendToDevice: messages from one device to others, outside rooms. */
#include <string.h>

#include "e2ee.h"
#include "log/log.h"
#include "room/room.h"
#include "store/store.h"

/* Client-chosen IDs get Synapse's bound on identifiers. */
#define MAX_ID_LEN	255

/*
 * Spec: C-S API, PUT /sendToDevice/{eventType}/{txnId}: body
 * {"messages": {user_id: {device_id or "*": content}}}.  400 M_BAD_JSON
 * for another shape or a bad user ID; a replayed txnId answers {} and
 * delivers nothing again.  Users of other servers are skipped until
 * federation sends to-device messages (logged).
 */
int
h_send_to_device(struct mreq *req)
{
	const char	*type = req->params[0], *txn = req->params[1], *user_id, *device_id;
	json_t		*messages = json_object_get(req->body, "messages"), *local, *devs, *c;
	int		 rc;

	if (strlen(type) > MAX_ID_LEN || strlen(txn) > MAX_ID_LEN)
		return mfcgi_fail(req, MERR_INVALID_PARAM, "Event type or txnId too long");
	if (!json_is_object(messages))
		return mfcgi_fail(req, MERR_BAD_JSON, "messages must be an object");
	if ((local = json_object()) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	json_object_foreach(messages, user_id, devs) {
		if (!mroom_user_id_check(user_id) || !json_is_object(devs)) {
			json_decref(local);
			return mfcgi_fail(req, MERR_BAD_JSON, "messages must map user IDs to objects");
		}
		json_object_foreach(devs, device_id, c)
			if (!json_is_object(c) || *device_id == '\0' ||
			    strlen(device_id) > MAX_ID_LEN) {
				json_decref(local);
				return mfcgi_fail(req, MERR_BAD_JSON,
				    "messages must map device IDs to objects");
			}
		if (!e2ee_user_local(req, user_id)) {
			mlog_info(req->id, "to-device for remote user skipped (no federation)");
			continue;
		}
		json_object_set(local, user_id, devs);
	}
	rc = mstore_todevice_send(req->db, req->auth.user_id, req->auth.device_id, txn, type,
	    local);
	json_decref(local);
	if (rc == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return mfcgi_reply(req, 200, json_object());
}
