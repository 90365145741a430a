/*
 * Synapse's admin API for per-user rate limit overrides:
 * /_synapse/admin/v1/users/{userId}/override_ratelimit.  An override
 * replaces the rate and burst of every limit keyed by the user
 * (lib/ratelimit, mratelimit_user); messages_per_second 0 lifts them.
 */
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "store/store.h"

/* The local, existing user of path parameter 0, or NULL after failing. */
static const char *
override_user(struct mreq *req)
{
	const char	*id = api_local_user(req, 0);
	struct muser	 u;
	int		 rc;

	if (id == NULL)
		return NULL;
	if ((rc = mstore_user_get(req->db, id, &u)) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		return NULL;
	}
	muser_fini(&u);
	if (rc == 0) {
		mfcgi_fail(req, MERR_NOT_FOUND, "User does not exist");
		return NULL;
	}
	return id;
}

/* Synapse: GET ...: the override, or {} when the user has none. */
int
h_user_ratelimit_get(struct mreq *req)
{
	const char	*id;
	int64_t		 ps, burst;
	int		 rc;

	if ((id = override_user(req)) == NULL)
		return -1;
	if ((rc = mstore_ratelimit_override_get(req->db, id, &ps, &burst)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (rc == 0)
		return mfcgi_reply(req, 200, json_object());
	return mfcgi_reply(req, 200, json_pack("{s:I,s:I}", "messages_per_second",
	    (json_int_t)ps, "burst_count", (json_int_t)burst));
}

/* A body member that must be an integer of at least 0 when given; 0 by default. */
static int
count_param(struct mreq *req, const char *name, int64_t *out)
{
	json_t *v = json_object_get(req->body, name);

	*out = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return mfcgi_fail(req, MERR_INVALID_PARAM, "%s parameter must be a positive int",
		    name);
	*out = json_integer_value(v);
	return 0;
}

/* Synapse: POST ... {messages_per_second, burst_count}, both optional: the override set. */
int
h_user_ratelimit_set(struct mreq *req)
{
	const char	*id;
	int64_t		 ps, burst;

	if ((id = override_user(req)) == NULL ||
	    count_param(req, "messages_per_second", &ps) == -1 ||
	    count_param(req, "burst_count", &burst) == -1)
		return -1;
	if (mstore_ratelimit_override_put(req->db, id, ps, burst) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return mfcgi_reply(req, 200, json_pack("{s:I,s:I}", "messages_per_second",
	    (json_int_t)ps, "burst_count", (json_int_t)burst));
}

/* Synapse: DELETE ...: {} whether or not there was one. */
int
h_user_ratelimit_delete(struct mreq *req)
{
	const char *id;

	if ((id = override_user(req)) == NULL)
		return -1;
	if (mstore_ratelimit_override_del(req->db, id) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return mfcgi_reply(req, 200, json_object());
}
