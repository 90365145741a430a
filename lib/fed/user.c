/*
 * Other servers' users' devices and keys (S-S API, "End-to-End
 * Encryption", "Device Management"): the device list fetched whole
 * (GET /user/devices/{userId}) into the cache, and /user/keys/query and
 * /user/keys/claim asked of a server for its users.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fed/extern.h"
#include "json/json.h"
#include "log/log.h"
#include "store/store.h"

/* A resync waits at most this long (Synapse: its federation default). */
#define RESYNC_TIMEOUT_MS	(10 * 1000)

int
mfed_devices_resync(struct mdb *db, const struct mconfig *conf, const struct mkey *key,
    const char *user_id)
{
	const char	*server = strchr(user_id, ':');
	json_t		*reply = NULL, *devs, *sid;
	char		*esc, path[1024];
	long		 status;
	int		 rc = -1;

	if (server == NULL || (esc = mfed_escape(user_id)) == NULL)
		return -1;
	snprintf(path, sizeof(path), "/_matrix/federation/v1/user/devices/%s", esc);
	free(esc);
	if (mfed_http(conf, key, server + 1, "GET", path, NULL, RESYNC_TIMEOUT_MS, &status,
	    &reply) == 0 && status == 200) {
		devs = json_object_get(reply, "devices");
		sid = json_object_get(reply, "stream_id");
		/* The answer must be about the user asked for, with a list. */
		if (json_is_array(devs) && mjson_str(reply, "user_id") != NULL &&
		    strcmp(mjson_str(reply, "user_id"), user_id) == 0)
			rc = mstore_rdl_replace(db, user_id, json_is_integer(sid) ?
			    json_integer_value(sid) : 0, devs, json_object_get(reply, "master_key"),
			    json_object_get(reply, "self_signing_key"));
	}
	if (rc == -1) {
		mlog_info(NULL, "federation: device list of %s not fetched (%ld)", user_id,
		    status);
		(void)mstore_rdl_stale(db, user_id);
	}
	json_decref(reply);
	return rc;
}

json_t *
mfed_user_keys(const struct mconfig *conf, const struct mkey *key, const char *server,
    const char *what, const json_t *body, long timeout_ms, long *status)
{
	json_t	*reply = NULL;
	char	 path[64];

	snprintf(path, sizeof(path), "/_matrix/federation/v1/user/keys/%s", what);
	if (mfed_http(conf, key, server, "POST", path, body, timeout_ms, status, &reply) == -1) {
		*status = 0;
		return NULL;
	}
	if (*status != 200 || !json_is_object(reply)) {
		json_decref(reply);
		return NULL;
	}
	return reply;
}
