/*
 * Device lists over federation in the store: other servers' users'
 * devices as their servers sent them (m.device_list_update, GET
 * /user/devices), and the last update sent for each local user.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"
#include "store/extern.h"

static char *
text_of(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

int
mstore_rdl_get(struct mdb *db, const char *user_id, int64_t *stream_id)
{
	struct mcur	*c;
	int		 rc;

	*stream_id = 0;
	if ((c = mdb_query(db, MSTMT_RDL_GET, "s", user_id)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1) {
		*stream_id = mcur_int(c, 0);
		rc = mcur_int(c, 1) == 0;
	}
	mcur_free(c);
	return rc;
}

/* One device {device_id, keys, device_display_name} into the cache.  0 or -1. */
static int
device_put(struct mdb *db, const char *user_id, const char *device_id, const char *name,
    const json_t *keys)
{
	char	*kt = NULL;
	int	 rc;

	if (json_is_object(keys) && (kt = text_of(keys)) == NULL)
		return -1;
	rc = mdb_exec(db, MSTMT_RDEV_PUT, "ssss", user_id, device_id, name, kt) < 0 ? -1 : 0;
	free(kt);
	return rc;
}

/* A cross-signing key of usage (an object, else nothing) into the cache.  0 or -1. */
static int
xsign_put(struct mdb *db, const char *user_id, const char *usage, const json_t *key)
{
	char	*kt;
	int	 rc;

	if (!json_is_object(key))
		return 0;
	if ((kt = text_of(key)) == NULL)
		return -1;
	rc = mdb_exec(db, MSTMT_E2EE_XSIGN_PUT, "sss", user_id, usage, kt) < 0 ? -1 : 0;
	free(kt);
	return rc;
}

int
mstore_rdl_replace(struct mdb *db, const char *user_id, int64_t stream_id,
    const json_t *devices, const json_t *master, const json_t *self_signing)
{
	const json_t	*d;
	size_t		 i;

	if (mdb_begin(db) == -1)
		return -1;
	if (mdb_exec(db, MSTMT_RDEV_DEL_USER, "s", user_id) < 0)
		goto fail;
	json_array_foreach(devices, i, d) {
		const char *id = mjson_str(d, "device_id");

		if (id == NULL || *id == '\0')
			continue;
		if (device_put(db, user_id, id, mjson_str(d, "device_display_name"),
		    json_object_get(d, "keys")) == -1)
			goto fail;
	}
	if (xsign_put(db, user_id, "master", master) == -1 ||
	    xsign_put(db, user_id, "self_signing", self_signing) == -1 ||
	    mdb_exec(db, MSTMT_RDL_PUT, "si", user_id, stream_id) < 0 ||
	    mstore_e2ee_devlist_changed(db, user_id) == -1)
		goto fail;
	return mdb_commit(db);
fail:
	mdb_rollback(db);
	return -1;
}

int
mstore_rdl_update(struct mdb *db, const char *user_id, const char *device_id,
    const char *display_name, const json_t *keys, int deleted, int64_t stream_id)
{
	if (mdb_begin(db) == -1)
		return -1;
	if ((deleted ? mdb_exec(db, MSTMT_RDEV_DEL, "ss", user_id, device_id) < 0 :
	    device_put(db, user_id, device_id, display_name, keys) == -1) ||
	    mdb_exec(db, MSTMT_RDL_PUT, "si", user_id, stream_id) < 0 ||
	    mstore_e2ee_devlist_changed(db, user_id) == -1) {
		mdb_rollback(db);
		return -1;
	}
	return mdb_commit(db);
}

int
mstore_rdl_xsign(struct mdb *db, const char *user_id, const json_t *master,
    const json_t *self_signing)
{
	if (mdb_begin(db) == -1)
		return -1;
	if (xsign_put(db, user_id, "master", master) == -1 ||
	    xsign_put(db, user_id, "self_signing", self_signing) == -1 ||
	    mstore_e2ee_devlist_changed(db, user_id) == -1) {
		mdb_rollback(db);
		return -1;
	}
	return mdb_commit(db);
}

int
mstore_rdl_stale(struct mdb *db, const char *user_id)
{
	return mdb_exec(db, MSTMT_RDL_STALE, "s", user_id) < 0 ? -1 : 0;
}

int
mstore_rdl_forget(struct mdb *db, const char *user_id)
{
	int own = !db->intx;

	if (own && mdb_begin(db) == -1)
		return -1;
	if (mdb_exec(db, MSTMT_RDEV_DEL_USER, "s", user_id) < 0 ||
	    mdb_exec(db, MSTMT_RDL_DEL, "s", user_id) < 0 ||
	    mdb_exec(db, MSTMT_RXS_DEL, "ss", user_id, "master") < 0 ||
	    mdb_exec(db, MSTMT_RXS_DEL, "ss", user_id, "self_signing") < 0) {
		if (own)
			mdb_rollback(db);
		return -1;
	}
	return own ? mdb_commit(db) : 0;
}

int
mstore_rdl_shared(struct mdb *db, const char *user_id, const char *server_name)
{
	struct mcur	*c;
	char		*like;
	int		 rc;

	if (asprintf(&like, "%%:%s", server_name) == -1)
		return -1;
	c = mdb_query(db, MSTMT_RDL_SHARED, "ss", user_id, like);
	free(like);
	if (c == NULL)
		return -1;
	rc = mcur_next(c);
	mcur_free(c);
	return rc;
}

int
mstore_rdl_left(struct mdb *db, const char *room_id, const char *user_id,
    const char *server_name)
{
	json_t		*users;
	const json_t	*v;
	const char	*colon = strchr(user_id, ':');
	char		*like;
	size_t		 i;
	int		 rc = 0, s;

	if (colon == NULL)
		return 0;
	if (strcmp(colon + 1, server_name) != 0) {
		/* Another server's user left: followed still while a room is shared. */
		if ((s = mstore_rdl_shared(db, user_id, server_name)) == -1)
			return -1;
		return s == 0 ? mstore_rdl_forget(db, user_id) : 0;
	}
	/* One of ours left: each other member may now share nothing with us. */
	if (asprintf(&like, "%%:%s", server_name) == -1)
		return -1;
	users = mcur_json_strings(mdb_query(db, MSTMT_RDL_ROOM_REMOTE, "ss", room_id, like));
	free(like);
	if (users == NULL)
		return -1;
	json_array_foreach(users, i, v) {
		if ((s = mstore_rdl_shared(db, json_string_value(v), server_name)) == -1 ||
		    (s == 0 && mstore_rdl_forget(db, json_string_value(v)) == -1)) {
			rc = -1;
			break;
		}
	}
	json_decref(users);
	return rc;
}

/* 1 when device_id is among devices (NULL or empty: all). */
static int
wanted(const json_t *devices, const char *device_id)
{
	const json_t	*v;
	size_t		 i;

	if (json_array_size(devices) == 0)
		return 1;
	json_array_foreach(devices, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), device_id) == 0)
			return 1;
	return 0;
}

static int
rdev_row(struct mcur *c, json_t *out, void *arg)
{
	const json_t	*devices = arg;
	json_t		*keys, *uns;

	if (!wanted(devices, mcur_text(c, 0)))
		return 0;
	if ((keys = json_loads(mcur_text(c, 1), 0, NULL)) == NULL)
		return 0;
	if ((uns = json_object_get(keys, "unsigned")) == NULL || !json_is_object(uns))
		json_object_set_new(keys, "unsigned", uns = json_object());
	if (mcur_text(c, 2) != NULL)
		json_object_set_new(uns, "device_display_name", json_string(mcur_text(c, 2)));
	return json_object_set_new(out, mcur_text(c, 0), keys);
}

json_t *
mstore_rdl_query(struct mdb *db, const char *user_id, const json_t *devices)
{
	return mcur_json_fold(mdb_query(db, MSTMT_RDEV_USER, "s", user_id), json_object(),
	    rdev_row, (void *)devices);
}

int
mstore_ldl_next(struct mdb *db, const char *user_id, int64_t *stream_id, int64_t *prev_id)
{
	int64_t	 cur = 0, sent = 0;

	*stream_id = *prev_id = 0;
	if (mcur_first_int(mdb_query(db, MSTMT_LDL_CHANGED, "s", user_id), &cur) == -1 ||
	    mcur_first_int(mdb_query(db, MSTMT_LDL_SENT_GET, "s", user_id), &sent) == -1)
		return -1;
	if (cur <= sent)
		return 0;
	if (mdb_exec(db, MSTMT_LDL_SENT_PUT, "si", user_id, cur) < 0)
		return -1;
	*stream_id = cur;
	*prev_id = sent;
	return 1;
}

int64_t
mstore_ldl_stream(struct mdb *db, const char *user_id)
{
	int64_t cur = 0;

	if (mcur_first_int(mdb_query(db, MSTMT_LDL_CHANGED, "s", user_id), &cur) == -1)
		return -1;
	return cur;
}
