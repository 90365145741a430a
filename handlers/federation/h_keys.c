/* The key server: our keys, and a notary's answers for other servers' keys. */
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"
#include "extern.h"
#include "fed/fed.h"
#include "json/json.h"

/* At most this many servers in one POST /key/v2/query, as a bound on fetches. */
#define QUERY_SERVERS_MAX	50

/* Spec: S-S API, GET /_matrix/federation/v1/version. */
int
h_version(struct mreq *req)
{
	return mfcgi_reply(req, 200, json_pack("{s:{s:s,s:s}}", "server", "name", "myelin",
	    "version", "0.1"));
}

/* Spec: S-S API, GET /_matrix/key/v2/server: signed, valid_until_ts, old keys. */
int
h_key_server(struct mreq *req)
{
	json_t	*out;

	if ((out = mfed_keys_own(req->conf, req->srv->key)) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: cannot sign the key answer", __func__);
	return mfcgi_reply(req, 200, out);
}

/* Appends to all the answers known for server_name's key_ids.  0 or -1 (failed). */
static int
query_one(struct mreq *req, const char *server_name, const json_t *key_ids,
    int64_t min_valid, int fetch, json_t *all)
{
	struct mfed_name	 n;
	json_t			*got;

	/* A name that is no server name has no keys: an empty answer, as Synapse. */
	if (mfed_name_parse(server_name, &n) == -1)
		return 0;
	if ((got = mfed_keys_query(req->db, req->conf, req->srv->key, server_name, key_ids,
	    min_valid, fetch)) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: key query", __func__);
	json_array_extend(all, got);
	json_decref(got);
	return 0;
}

/*
 * Spec: S-S API, POST /_matrix/key/v2/query: server_keys maps server
 * names to key IDs, each with an optional minimum_valid_until_ts (the
 * notary's time when absent).  Answers {"server_keys": [...]}: each
 * server's own signed answer with the notary's signature added.
 */
int
h_key_query_post(struct mreq *req)
{
	json_t		*sk = json_object_get(req->body, "server_keys"), *all = NULL, *keys, *v;
	json_t		*kids[QUERY_SERVERS_MAX];
	const char	*server, *kid, *names[QUERY_SERVERS_MAX];
	int64_t		 now = mclock_now_ms(), mins[QUERY_SERVERS_MAX];
	size_t		 n = 0;
	int		 rc = -1;

	if (!json_is_object(sk))
		return mfcgi_fail(req, MERR_BAD_JSON, "server_keys must be an object");
	if (json_object_size(sk) > QUERY_SERVERS_MAX)
		return mfcgi_fail(req, MERR_BAD_JSON, "Too many servers in one query");
	/* First what is asked, checked whole; then every fetch at once; then the answers. */
	json_object_foreach(sk, server, keys) {
		if (!json_is_object(keys)) {
			mfcgi_fail(req, MERR_BAD_JSON, "server_keys values must be objects");
			goto out;
		}
		if ((kids[n] = json_array()) == NULL) {
			mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
			goto out;
		}
		names[n] = server;
		mins[n] = -1;
		n++;
		json_object_foreach(keys, kid, v) {
			json_t *m = json_object_get(v, "minimum_valid_until_ts");

			if (!json_is_object(v) || (m != NULL && !json_is_integer(m))) {
				mfcgi_fail(req, MERR_BAD_JSON, "minimum_valid_until_ts must be an integer");
				goto out;
			}
			/* Spec: absent, it is the notary's present time. */
			if ((m != NULL ? json_integer_value(m) : now) > mins[n - 1])
				mins[n - 1] = m != NULL ? json_integer_value(m) : now;
			json_array_append_new(kids[n - 1], json_string(kid));
		}
		if (mins[n - 1] < 0)
			mins[n - 1] = now;
	}
	mfed_keys_prefetch(req->db, req->conf, names, (const json_t *const *)kids, mins, n);
	if ((all = json_array()) == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (query_one(req, names[i], kids[i], mins[i], 0, all) == -1)
			goto out;
	rc = mfcgi_reply(req, 200, json_pack("{s:O}", "server_keys", all));
out:
	for (size_t i = 0; i < n; i++)
		json_decref(kids[i]);
	json_decref(all);
	return rc;
}

/* Spec: S-S API, GET /_matrix/key/v2/query/{serverName}[?minimum_valid_until_ts=]. */
int
h_key_query_get(struct mreq *req)
{
	json_t	*all, *kids;
	int64_t	 min_valid;
	int	 rc;

	if (mreq_query_int(req, "minimum_valid_until_ts", mclock_now_ms(), 0, INT64_MAX,
	    &min_valid) == -1)
		return -1;
	if ((all = json_array()) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	kids = req->paramsz > 1 ? json_pack("[s]", req->params[1]) : json_array();
	if (kids == NULL) {
		json_decref(all);
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	}
	rc = query_one(req, req->params[0], kids, min_valid, 1, all);
	json_decref(kids);
	if (rc == -1) {
		json_decref(all);
		return -1;
	}
	return mfcgi_reply(req, 200, json_pack("{s:o}", "server_keys", all));
}
