/*
 * Our users' devices and keys for other servers (S-S API, "Device
 * Management", "End-to-End Encryption"): GET /user/devices/{userId},
 * POST /user/keys/query and POST /user/keys/claim.
 */
#include <string.h>

#include "extern.h"
#include "json/json.h"
#include "room/room.h"
#include "store/store.h"

/* 1 when user_id is a user ID of ours. */
static int
ours(const struct mreq *req, const char *user_id)
{
	const char *colon;

	return mroom_user_id_check(user_id) && (colon = strchr(user_id, ':')) != NULL &&
	    strcmp(colon + 1, req->conf->server_name) == 0;
}

/* Adds user_id's master and self-signing keys (when there are) to out's maps.  0 or -1. */
static int
xsign_into(struct mreq *req, const char *user_id, json_t *master, json_t *ss)
{
	json_t	*k;
	int	 rc;

	if ((rc = mstore_xsign_get(req->db, user_id, "master", NULL, &k)) == -1)
		return -1;
	if (rc == 1)
		json_object_set_new(master, user_id, k);
	if ((rc = mstore_xsign_get(req->db, user_id, "self_signing", NULL, &k)) == -1)
		return -1;
	if (rc == 1)
		json_object_set_new(ss, user_id, k);
	return 0;
}

/*
 * Spec: S-S API, GET /user/devices/{userId}: every device of one of our
 * users, with its keys when it uploaded some and its display name, the
 * position of the list's last change (stream_id: the prev_id the next
 * m.device_list_update names), and the master and self-signing keys.
 * 400 M_INVALID_PARAM for another server's user, as Synapse refuses it.
 */
int
h_user_devices(struct mreq *req)
{
	const char	*user_id = req->params[0];
	struct mdevice	*v;
	json_t		*devs, *keys, *out, *k;
	size_t		 n;
	int64_t		 sid;
	int		 rc;

	if (!ours(req, user_id))
		return mfcgi_fail(req, MERR_INVALID_PARAM, "User is not hosted on this homeserver");
	if (mstore_device_list(req->db, user_id, &v, &n) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if ((keys = mstore_keys_query(req->db, user_id, NULL, NULL)) == NULL ||
	    (sid = mstore_ldl_stream(req->db, user_id)) == -1) {
		json_decref(keys);
		mdevice_list_free(v, n);
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	}
	devs = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *d = json_pack("{s:s}", "device_id", v[i].device_id);

		if (v[i].display_name != NULL)
			json_object_set_new(d, "device_display_name",
			    json_string(v[i].display_name));
		if ((k = json_object_get(keys, v[i].device_id)) != NULL) {
			/* The name is the answer's own, not the keys' unsigned part. */
			json_object_del(k, "unsigned");
			json_object_set(d, "keys", k);
		}
		json_array_append_new(devs, d);
	}
	mdevice_list_free(v, n);
	json_decref(keys);
	out = json_pack("{s:s,s:I,s:o}", "user_id", user_id, "stream_id", (json_int_t)sid,
	    "devices", devs);
	if ((rc = mstore_xsign_get(req->db, user_id, "master", NULL, &k)) == 1)
		json_object_set_new(out, "master_key", k);
	if (rc != -1 && (rc = mstore_xsign_get(req->db, user_id, "self_signing", NULL, &k)) == 1)
		json_object_set_new(out, "self_signing_key", k);
	if (rc == -1) {
		json_decref(out);
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	}
	return mfcgi_reply(req, 200, out);
}

/*
 * Spec: S-S API, POST /user/keys/query: device_keys {user_id:
 * [device_id]} (empty: all) of our users; others are left out.
 * Answers device_keys, master_keys and self_signing_keys.  400
 * M_BAD_JSON for another shape.
 */
int
h_user_keys_query(struct mreq *req)
{
	json_t		*q = json_object_get(req->body, "device_keys"), *devs, *out, *keys;
	json_t		*master, *ss;
	const char	*user_id;

	if (!json_is_object(q))
		return mfcgi_fail(req, MERR_BAD_JSON, "device_keys must be an object");
	json_object_foreach(q, user_id, devs)
		if (!json_is_array(devs) && !json_is_null(devs))
			return mfcgi_fail(req, MERR_BAD_JSON, "device_keys must map to lists");
	out = json_object();
	master = json_object();
	ss = json_object();
	json_object_foreach(q, user_id, devs) {
		if (!ours(req, user_id))
			continue;
		if ((keys = mstore_keys_query(req->db, user_id, devs, NULL)) == NULL ||
		    xsign_into(req, user_id, master, ss) == -1) {
			json_decref(keys);
			json_decref(out);
			json_decref(master);
			json_decref(ss);
			return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		}
		json_object_set_new(out, user_id, keys);
	}
	return mfcgi_reply(req, 200, json_pack("{s:o,s:o,s:o}", "device_keys", out,
	    "master_keys", master, "self_signing_keys", ss));
}

/*
 * Spec: S-S API, POST /user/keys/claim: one_time_keys {user_id:
 * {device_id: algorithm}} of our users, one key per device handed out
 * once (else its fallback key); others and unknown devices are left
 * out.  400 M_BAD_JSON for another shape.
 */
int
h_user_keys_claim(struct mreq *req)
{
	json_t		*q = json_object_get(req->body, "one_time_keys"), *devs, *alg, *local;
	json_t		*out;
	const char	*user_id, *device_id;

	if (!json_is_object(q))
		return mfcgi_fail(req, MERR_BAD_JSON, "one_time_keys must be an object");
	local = json_object();
	json_object_foreach(q, user_id, devs) {
		if (!json_is_object(devs)) {
			json_decref(local);
			return mfcgi_fail(req, MERR_BAD_JSON, "one_time_keys must map to objects");
		}
		json_object_foreach(devs, device_id, alg)
			if (!json_is_string(alg)) {
				json_decref(local);
				return mfcgi_fail(req, MERR_BAD_JSON, "Algorithms must be strings");
			}
		if (ours(req, user_id))
			json_object_set(local, user_id, devs);
	}
	out = mstore_keys_claim(req->db, local);
	json_decref(local);
	if (out == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return mfcgi_reply(req, 200, json_pack("{s:o}", "one_time_keys", out));
}
