/* POST /user/{userId}/filter and GET /user/{userId}/filter/{filterId}. */
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "room/filter.h"
#include "store/store.h"

/*
 * Spec: C-S API, "the access token must be authorized to make requests
 * for this user id": a user's filters are the user's own.  1, or 0 with
 * 403 M_FORBIDDEN.
 */
static int
own_filters(struct mreq *req)
{
	if (strcmp(req->params[0], req->auth.user_id) != 0) {
		mfcgi_fail(req, MERR_FORBIDDEN, "Cannot use filters of other users");
		return 0;
	}
	return 1;
}

/*
 * Spec: C-S API, POST /user/{userId}/filter: returns {"filter_id"}.
 * Raises 403 M_FORBIDDEN for another user, and 400 M_BAD_JSON for a
 * definition of the wrong shape (Synapse answers its schema errors with
 * M_UNKNOWN; M_BAD_JSON is the spec's code for valid JSON that is
 * malformed).
 */
int
h_filter_post(struct mreq *req)
{
	char	 why[256], *id = NULL;
	int	 rc;

	if (!own_filters(req))
		return -1;
	if (mfilter_check(req->body, why, sizeof(why)) == -1)
		return mfcgi_fail(req, MERR_BAD_JSON, "Invalid filter: %s", why);
	if (mstore_filter_put(req->db, req->auth.user_id, req->body, &id) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	rc = mfcgi_reply(req, 200, json_pack("{s:s}", "filter_id", id));
	free(id);
	return rc;
}

/*
 * Spec: C-S API, GET /user/{userId}/filter/{filterId}: the definition.
 * Raises 403 M_FORBIDDEN for another user, 404 M_NOT_FOUND for an
 * unknown filter.
 */
int
h_filter_get(struct mreq *req)
{
	json_t	*f;
	int	 err;

	if (!own_filters(req))
		return -1;
	if ((f = mstore_filter_get(req->db, req->auth.user_id, req->params[1], &err)) == NULL)
		return err ? mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__) :
		    mfcgi_fail(req, MERR_NOT_FOUND, "No such filter");
	return mfcgi_reply(req, 200, f);
}
