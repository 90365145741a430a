/* The client-server API's admin endpoints: whois, account locks and suspensions. */
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "room/room.h"
#include "store/store.h"

/*
 * Whether user_id names an account of this server: 1, or 0 with the
 * request failed, 400 M_INVALID_PARAM for what is not a user ID or one
 * of another server, 404 M_NOT_FOUND for an account that does not exist.
 */
static int
local_user(struct mreq *req, const char *user_id)
{
	struct muser	 u;
	const char	*colon = strchr(user_id, ':');
	int		 rc;

	if (!mroom_user_id_check(user_id) || colon == NULL ||
	    strcmp(colon + 1, req->conf->server_name) != 0) {
		mfcgi_fail(req, MERR_INVALID_PARAM, "Not a user of this server");
		return 0;
	}
	if ((rc = mstore_user_get(req->db, user_id, &u)) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		return 0;
	}
	if (rc == 1)
		muser_fini(&u);
	if (rc == 0) {
		mfcgi_fail(req, MERR_NOT_FOUND, "Unknown user");
		return 0;
	}
	return 1;
}

/*
 * Spec: C-S API, GET /admin/whois/{userId}: for server admins and the
 * user themselves (403 M_FORBIDDEN for others, as Synapse).  {user_id,
 * devices: {device_id: {sessions: [{connections: [{ip, last_seen,
 * user_agent}]}]}}}: one session per device, with its last use as the
 * one connection (none when never seen).  myelin keeps no user agents,
 * so user_agent is null.
 */
int
h_whois(struct mreq *req)
{
	struct mdevice	*devs = NULL;
	size_t		 n = 0;
	json_t		*devices, *conns;
	const char	*user_id = req->params[0];

	if (!req->auth.is_admin && strcmp(user_id, req->auth.user_id) != 0)
		return mfcgi_fail(req, MERR_FORBIDDEN, "You are not a server admin");
	if (!local_user(req, user_id))
		return -1;
	if (mstore_device_list(req->db, user_id, &devs, &n) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	devices = json_object();
	for (size_t i = 0; i < n; i++) {
		conns = json_array();
		if (devs[i].last_seen_ts != 0)
			json_array_append_new(conns, json_pack("{s:s?,s:I,s:n}", "ip",
			    devs[i].last_seen_ip, "last_seen", (json_int_t)devs[i].last_seen_ts,
			    "user_agent"));
		json_object_set_new(devices, devs[i].device_id, json_pack("{s:[{s:o}]}",
		    "sessions", "connections", conns));
	}
	mdevice_list_free(devs, n);
	return mfcgi_reply(req, 200, json_pack("{s:s,s:o}", "user_id", user_id,
	    "devices", devices));
}

enum flag { FLAG_LOCKED, FLAG_SUSPENDED };

static const char *const flagnames[] = { "locked", "suspended" };

/*
 * Spec: C-S API, GET/PUT /_matrix/client/v1/admin/lock/{userId} and
 * /admin/suspend/{userId} (v1.18): server admins only (MAUTH_ADMIN: 403
 * M_FORBIDDEN), users of this server (400 M_INVALID_PARAM, 404
 * M_NOT_FOUND); PUT takes {locked|suspended: boolean} (400 M_BAD_JSON
 * otherwise) and answers the same.
 */
static int
flag_get(struct mreq *req, enum flag f)
{
	int	 locked, suspended;

	if (!local_user(req, req->params[0]))
		return -1;
	if (mstore_user_flags(req->db, req->params[0], &locked, &suspended) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return mfcgi_reply(req, 200, json_pack("{s:b}", flagnames[f],
	    f == FLAG_LOCKED ? locked : suspended));
}

static int
flag_put(struct mreq *req, enum flag f)
{
	json_t	*v = json_object_get(req->body, flagnames[f]);
	int	 rc;

	if (!json_is_boolean(v))
		return mfcgi_fail(req, MERR_BAD_JSON, "'%s' must be a boolean", flagnames[f]);
	if (!local_user(req, req->params[0]))
		return -1;
	rc = f == FLAG_LOCKED ?
	    mstore_user_set_locked(req->db, req->params[0], json_is_true(v)) :
	    mstore_user_set_suspended(req->db, req->params[0], json_is_true(v));
	if (rc == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return mfcgi_reply(req, 200, json_pack("{s:b}", flagnames[f], json_is_true(v)));
}

int
h_lock_get(struct mreq *req)
{
	return flag_get(req, FLAG_LOCKED);
}

int
h_lock_put(struct mreq *req)
{
	return flag_put(req, FLAG_LOCKED);
}

int
h_suspend_get(struct mreq *req)
{
	return flag_get(req, FLAG_SUSPENDED);
}

int
h_suspend_put(struct mreq *req)
{
	return flag_put(req, FLAG_SUSPENDED);
}
