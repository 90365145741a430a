/* Presence: GET/PUT /presence/{userId}/status. */
#include <string.h>

#include "appsvc/appsvc.h"
#include "clock/clock.h"
#include "config/config.h"
#include "ephemeral.h"
#include "fed/fed.h"
#include "json/json.h"
#include "log/log.h"
#include "store/store.h"

/*
 * Spec: C-S API, GET /presence/{userId}/status.  One's own presence, or
 * that of a user joined to a room one is joined to; anyone else is 403
 * M_FORBIDDEN, as Synapse answers (which covers unknown users too).  A
 * user who never set one is offline.
 */
int
h_presence_get(struct mreq *req)
{
	struct mpresence	 p;
	const char		*user_id = req->params[0];
	json_t			*out;
	int			 rc;

	if (strcmp(user_id, req->auth.user_id) != 0) {
		if ((rc = mstore_presence_share(req->db, req->auth.user_id, user_id)) == -1)
			return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		if (rc == 0)
			return mfcgi_fail(req, MERR_FORBIDDEN,
			    "You are not allowed to see their presence");
	}
	if ((rc = mstore_presence_get(req->db, user_id, &p)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	out = mpresence_content(rc == 1 ? &p : NULL, mclock_now_ms());
	mpresence_fini(&p);
	return mfcgi_reply(req, 200, out);
}

/* Characters in a status message. */
#define PRESENCE_STATUS_MAX	256

/* MSC2409: the user's presence as now stored, to the services that want it.  0 or -1. */
static int
presence_to_services(struct mreq *req)
{
	struct mpresence	 p;
	json_t			*content = NULL, *edu = NULL;
	int			 r, rc = -1;

	if ((r = mstore_presence_get(req->db, req->auth.user_id, &p)) != 1)
		return r == 0 ? 0 : -1;
	if ((content = mpresence_content(&p, mclock_now_ms())) != NULL &&
	    (edu = json_pack("{s:s,s:s,s:O}", "type", "m.presence", "sender",
	    req->auth.user_id, "content", content)) != NULL)
		rc = mappsvc_presence_queue(req->db, req->conf, req->auth.user_id, edu);
	json_decref(edu);
	json_decref(content);
	mpresence_fini(&p);
	return rc;
}

/*
 * Spec: C-S API, PUT /presence/{userId}/status.  Own user only (403);
 * presence one of online, unavailable, offline (400 M_INVALID_PARAM,
 * M_MISSING_PARAM when absent); status_msg a string, or null or absent
 * to clear it, at most PRESENCE_STATUS_MAX characters (400 M_TOO_LARGE).
 * Going online marks the user active now.
 */
int
h_presence_put(struct mreq *req)
{
	json_t		*pv = json_object_get(req->body, "presence");
	json_t		*mv = json_object_get(req->body, "status_msg");
	const char	*presence;

	if (strcmp(req->params[0], req->auth.user_id) != 0)
		return mfcgi_fail(req, MERR_FORBIDDEN, "Cannot set presence of other users");
	if (pv == NULL)
		return mfcgi_fail(req, MERR_MISSING_PARAM, "Missing key 'presence'");
	presence = json_string_value(pv);
	if (presence == NULL || !mpresence_valid(presence))
		return mfcgi_fail(req, MERR_INVALID_PARAM,
		    "presence must be online, unavailable or offline");
	if (mv != NULL && !json_is_null(mv) && !json_is_string(mv))
		return mfcgi_fail(req, MERR_INVALID_PARAM, "status_msg must be a string");
	/*
	 * Spec: no limit, and Synapse has none below its 12.8 MB body limit;
	 * but the message goes to every syncing member of every shared room,
	 * so it gets the limit Synapse puts on the other free text of a
	 * user's public face, the display name (MAX_DISPLAYNAME_LEN).
	 */
	if (json_is_string(mv) && mjson_utf8_len(json_string_value(mv)) > PRESENCE_STATUS_MAX)
		return mfcgi_fail(req, MERR_TOO_LONG, "status_msg is too long (max %d)",
		    PRESENCE_STATUS_MAX);
	/* The services' copy is queued with it: the commit that moves presence wakes them. */
	if (mdb_begin(req->db) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (mstore_presence_put(req->db, req->auth.user_id, presence, json_string_value(mv),
	    strcmp(presence, "online") == 0 ? mclock_now_ms() : -1) == -1 ||
	    (req->conf->appservicesz > 0 && presence_to_services(req) == -1)) {
		mdb_rollback(req->db);
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	}
	if (mdb_commit(req->db) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	/* The servers sharing a room hear of it; only the newest state counts. */
	if (mfed_edu_presence(req->db, req->conf->server_name, req->auth.user_id) == -1)
		mlog_warn(req->id, "presence of %s not queued for other servers",
		    req->auth.user_id);
	return mfcgi_reply(req, 200, json_object());
}
