/* The public room directory, as other servers ask for it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "json/json.h"
#include "store/store.h"

/* One page of the published rooms, as the client API's (mstore_public_rooms_page). */
static int
page(struct mreq *req, int64_t limit, const char *since, const char *search,
    const json_t *types, int none)
{
	json_t	*out;
	int	 bad;

	/* The lists of application services are the client API's alone. */
	if ((out = mstore_public_rooms_page(none ? json_array() :
	    mstore_public_rooms(req->db, search, types), limit, since, &bad)) == NULL)
		return bad ? mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid since token") :
		    mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return mfcgi_reply(req, 200, out);
}

/*
 * Spec: S-S API, GET /_matrix/federation/v1/publicRooms: limit, since,
 * include_all_networks, third_party_instance_id; the rooms this server
 * publishes, as its client API lists them.
 */
int
h_public_rooms_get(struct mreq *req)
{
	char	*since = mreq_query(req, "since"), *tp = mreq_query(req, "third_party_instance_id");
	char	*all = mreq_query(req, "include_all_networks");
	int64_t	 limit;
	int	 rc = -1;

	if (all != NULL && strcmp(all, "true") != 0 && strcmp(all, "false") != 0)
		rc = mfcgi_fail(req, MERR_INVALID_PARAM, "include_all_networks must be a boolean");
	else if (mreq_query_int(req, "limit", 0, 0, INT64_MAX, &limit) == 0)
		rc = page(req, limit, since, NULL, NULL, tp != NULL &&
		    (all == NULL || strcmp(all, "true") != 0));
	free(since);
	free(tp);
	free(all);
	return rc;
}

/*
 * Spec: S-S API, POST /_matrix/federation/v1/publicRooms: the same, with
 * filter (generic_search_term, room_types) in the body.
 */
int
h_public_rooms_post(struct mreq *req)
{
	json_t		*b = req->body, *filter = json_object_get(b, "filter"), *v, *types = NULL;
	const char	*search = NULL;
	int64_t		 limit = 0;
	size_t		 i;
	int		 all;

	v = json_object_get(b, "limit");
	if (v != NULL && !json_is_integer(v) && !json_is_null(v))
		goto bad;
	if (json_is_integer(v) && (limit = json_integer_value(v)) < 0)
		return mfcgi_fail(req, MERR_INVALID_PARAM, "limit must not be negative");
	v = json_object_get(b, "since");
	if (v != NULL && !json_is_string(v) && !json_is_null(v))
		goto bad;
	if (filter != NULL && !json_is_object(filter) && !json_is_null(filter))
		goto bad;
	if (json_is_object(filter)) {
		json_t *t = json_object_get(filter, "generic_search_term");

		if (t != NULL && !json_is_string(t) && !json_is_null(t))
			goto bad;
		search = json_string_value(t);
		types = json_object_get(filter, "room_types");
		if (types != NULL && !json_is_array(types) && !json_is_null(types))
			goto bad;
		json_array_foreach(types, i, v)
			if (!json_is_string(v) && !json_is_null(v))
				goto bad;
	}
	v = json_object_get(b, "include_all_networks");
	if (v != NULL && !json_is_boolean(v))
		goto bad;
	all = json_is_true(v);
	v = json_object_get(b, "third_party_instance_id");
	if (v != NULL && !json_is_string(v) && !json_is_null(v))
		goto bad;
	return page(req, limit, mjson_str(b, "since"), search, types, !all && json_is_string(v));
bad:
	return mfcgi_fail(req, MERR_BAD_JSON, "Invalid type of a parameter");
}
