/* The public room directory, as other servers ask for it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "json/json.h"
#include "store/store.h"

/* The largest page, and the page when none is asked: as the client API's. */
#define PUBLIC_ROOMS_MAX	1000

/*
 * Tokens are the client API's (handlers/client/h_directory.c): "n" or
 * "p", the member count and room ID of the room a page ended on, to go
 * on after it or back before it.  XXX The paging is written twice, here
 * and there; it belongs in the library once a third caller comes.
 */
struct pubkey {
	int		 forward;
	int64_t		 members;
	const char	*room_id;
};

static int
pubkey_parse(const char *tok, struct pubkey *k)
{
	const char	*end;
	int64_t		 n;

	if ((tok[0] != 'n' && tok[0] != 'p') ||
	    mfcgi_num_parse(tok + 1, 0, INT64_MAX, &end, &n) == -1 || *end != '_' ||
	    end[1] == '\0')
		return -1;
	k->forward = tok[0] == 'n';
	k->members = n;
	k->room_id = end + 1;
	return 0;
}

static json_t *
pubkey_token(const json_t *room, int forward)
{
	char	*s;
	json_t	*t;

	if (asprintf(&s, "%c%lld_%s", forward ? 'n' : 'p', (long long)json_integer_value(
	    json_object_get(room, "num_joined_members")), mjson_str(room, "room_id")) == -1)
		return NULL;
	t = json_string(s);
	free(s);
	return t;
}

/* -1: room sorts before key (more members, or as many and a greater ID), 0 at, 1 after. */
static int
key_cmp(const json_t *room, const struct pubkey *k)
{
	int64_t	 n = json_integer_value(json_object_get(room, "num_joined_members"));
	int	 d;

	if (n != k->members)
		return n > k->members ? -1 : 1;
	d = strcmp(mjson_str(room, "room_id"), k->room_id);
	return d > 0 ? -1 : d < 0;
}

/* One page of the published rooms: limit 0 is none asked (PUBLIC_ROOMS_MAX). */
static int
page(struct mreq *req, int64_t limit, const char *since, const char *search,
    const json_t *types, int none)
{
	struct pubkey	 key = { 1, 0, "" };
	json_t		*all, *chunk, *out;
	size_t		 n, lo, hi;
	int		 more;

	if (since != NULL && pubkey_parse(since, &key) == -1)
		return mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid since token");
	if (limit <= 0 || limit > PUBLIC_ROOMS_MAX)
		limit = PUBLIC_ROOMS_MAX;
	/* No application service publishes networks here: a named one lists nothing. */
	if ((all = none ? json_array() : mstore_public_rooms(req->db, search, types)) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	n = json_array_size(all);
	if (since == NULL || key.forward) {
		for (lo = 0; since != NULL && lo < n && key_cmp(json_array_get(all, lo), &key) <= 0;
		    lo++)
			;
		hi = n - lo > (size_t)limit ? lo + (size_t)limit : n;
		more = hi < n;
	} else {
		for (hi = 0; hi < n && key_cmp(json_array_get(all, hi), &key) < 0; hi++)
			;
		lo = hi > (size_t)limit ? hi - (size_t)limit : 0;
		more = lo > 0;
	}
	chunk = json_array();
	out = json_object();
	for (size_t i = lo; i < hi; i++)
		json_array_append(chunk, json_array_get(all, i));
	if (hi > lo) {
		const json_t *first = json_array_get(all, lo), *last = json_array_get(all, hi - 1);

		if (since != NULL && (key.forward || more))
			json_object_set_new(out, "prev_batch", pubkey_token(first, 0));
		if (more || (since != NULL && !key.forward))
			json_object_set_new(out, "next_batch", pubkey_token(last, 1));
	}
	json_object_set_new(out, "chunk", chunk);
	json_object_set_new(out, "total_room_count_estimate", json_integer((json_int_t)n));
	json_decref(all);
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
