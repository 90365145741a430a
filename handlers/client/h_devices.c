/* Devices: list, show, rename, delete (behind UIA). */
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "extern.h"
#include "fed/fed.h"
#include "json/json.h"
#include "store/store.h"

static const char *const stage_password[] = { "m.login.password", NULL };
static const struct muia_flow flows_password[] = { { stage_password } };

static json_t *
device_json(const struct mdevice *d)
{
	json_t *o = json_pack("{s:s}", "device_id", d->device_id);

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "display_name", d->display_name != NULL ?
	    json_string(d->display_name) : json_null());
	if (d->last_seen_ip != NULL)
		json_object_set_new(o, "last_seen_ip", json_string(d->last_seen_ip));
	if (d->last_seen_ts != 0)
		json_object_set_new(o, "last_seen_ts", json_integer(d->last_seen_ts));
	return o;
}

/* Spec: C-S API, GET /devices. */
int
h_devices(struct mreq *req)
{
	struct mdevice	*v;
	size_t		 n;
	json_t		*arr;

	if (mstore_device_list(req->db, req->auth.user_id, &v, &n) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, device_json(&v[i]));
	mdevice_list_free(v, n);
	return mfcgi_reply(req, 200, json_pack("{s:o}", "devices", arr));
}

/* Spec: C-S API, GET /devices/{deviceId}: 404 M_NOT_FOUND when unknown. */
int
h_device_get(struct mreq *req)
{
	struct mdevice	 d;
	int		 rc;

	if ((rc = mstore_device_get(req->db, req->auth.user_id, req->params[0], &d)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (rc == 0)
		return mfcgi_fail(req, MERR_NOT_FOUND, "Device not found");
	rc = mfcgi_reply(req, 200, device_json(&d));
	mdevice_fini(&d);
	return rc;
}

/* Spec: C-S API, PUT /devices/{deviceId}: renames; 404 when unknown. */
int
h_device_put(struct mreq *req)
{
	json_t	*v = json_object_get(req->body, "display_name");
	int	 rc;

	if (v != NULL && !json_is_string(v) && !json_is_null(v))
		return mfcgi_fail(req, MERR_INVALID_PARAM, "display_name must be a string");
	if (mauth_device_check(req, NULL, json_string_value(v)) == -1)
		return -1;
	if (v == NULL) {
		struct mdevice d;

		/* Nothing to change, but the device must exist. */
		if ((rc = mstore_device_get(req->db, req->auth.user_id, req->params[0], &d)) == 1)
			mdevice_fini(&d);
	} else
		rc = mstore_device_rename(req->db, req->auth.user_id, req->params[0],
		    json_string_value(v));
	if (rc == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (rc == 0)
		return mfcgi_fail(req, MERR_NOT_FOUND, "Device not found");
	if (v != NULL && mfed_edu_devices(req->db, req->conf->server_name, req->auth.user_id,
	    req->params[0], 0) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return mfcgi_reply(req, 200, json_object());
}

/*
 * Deletes the listed devices after UIA.  ids: a JSON array of strings.
 * The UIA session is for these devices and no others.
 */
static int
delete_devices(struct mreq *req, json_t *ids)
{
	char	*session = NULL, *tok;
	size_t	 i;
	json_t	*id, *params;
	int	 rc;

	json_array_foreach(ids, i, id)
		if (!json_is_string(id))
			return mfcgi_fail(req, MERR_BAD_JSON, "devices must be strings");
	if ((params = json_pack("{s:O}", "devices", ids)) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	rc = mauth_uia(req, "delete_devices", req->auth.user_id, params, flows_password, 1,
	    &session);
	json_decref(params);
	if (rc != 1) {
		free(session);
		return rc;
	}
	if (mdb_begin(req->db) == -1) {
		free(session);
		return mfcgi_fail(req, MERR_INTERNAL, "%s: cannot begin", __func__);
	}
	tok = mauth_uia_done(req, session);
	free(tok);
	free(session);
	json_array_foreach(ids, i, id)
		if (mstore_device_del(req->db, req->auth.user_id, json_string_value(id)) == -1 ||
		    mfed_edu_devices(req->db, req->conf->server_name, req->auth.user_id,
		    json_string_value(id), 1) == -1) {
			mdb_rollback(req->db);
			return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		}
	if (mdb_commit(req->db) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: commit failed", __func__);
	return mfcgi_reply(req, 200, json_object());
}

/* Spec: C-S API, DELETE /devices/{deviceId}, behind UIA; 404 when unknown. */
int
h_device_delete(struct mreq *req)
{
	struct mdevice	 d;
	json_t		*ids;
	int		 rc;

	if ((rc = mstore_device_get(req->db, req->auth.user_id, req->params[0], &d)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (rc == 0)
		return mfcgi_fail(req, MERR_NOT_FOUND, "Device not found");
	mdevice_fini(&d);
	if (req->body == NULL)
		req->body = json_object();
	ids = json_pack("[s]", req->params[0]);
	rc = delete_devices(req, ids);
	json_decref(ids);
	return rc;
}

/* Spec: C-S API, POST /delete_devices, behind UIA. */
int
h_delete_devices(struct mreq *req)
{
	json_t *ids = json_object_get(req->body, "devices");

	if (ids == NULL)
		return mfcgi_fail(req, MERR_MISSING_PARAM, "Missing devices");
	if (!json_is_array(ids))
		return mfcgi_fail(req, MERR_BAD_JSON, "devices must be an array");
	return delete_devices(req, ids);
}
