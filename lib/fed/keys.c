/* Server keys: our key server's answer, and the keyring of other servers' keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"
#include "config/config.h"
#include "crypto/crypto.h"
#include "fed/extern.h"
#include "json/json.h"
#include "log/log.h"
#include "store/store.h"

/* Key fetches wait at most this long: an inbound request waits for them. */
#define KEY_FETCH_MS	10000
/*
 * Spec: S-S API, "Retrieving server keys": a key counts as valid until
 * the lesser of valid_until_ts and 7 days ahead, so that an answer
 * naming a far future is fetched again within a week.
 */
#define KEY_VALID_CAP_MS	(7LL * 24 * 3600 * 1000)

json_t *
mfed_keys_own(const struct mconfig *conf, const struct mkey *key)
{
	json_t		*out, *old;
	FILE		*f;
	char		*pub, *path = NULL, line[512];

	if ((pub = mcrypto_key_public_b64(key)) == NULL)
		return NULL;
	out = json_pack("{s:s,s:I,s:{s:{s:s}},s:{}}", "server_name", conf->server_name,
	    "valid_until_ts", (json_int_t)(mclock_now_ms() + MFED_KEY_VALID_MS),
	    "verify_keys", key->id, "key", pub, "old_verify_keys");
	free(pub);
	if (out == NULL)
		return NULL;
	/* Retired keys: "KEY_ID PUBLIC_KEY EXPIRED_TS" lines (myelin-admin key rotate). */
	old = json_object_get(out, "old_verify_keys");
	if (asprintf(&path, "%s.old", conf->signing_key_path) != -1 &&
	    (f = fopen(path, "r")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			char		 id[128], k[128];
			long long	 ts;

			if (sscanf(line, "%127s %127s %lld", id, k, &ts) != 3 ||
			    strcmp(id, key->id) == 0)
				continue;
			json_object_set_new(old, id, json_pack("{s:s,s:I}", "key", k,
			    "expired_ts", (json_int_t)ts));
		}
		fclose(f);
	}
	free(path);
	if (mcrypto_sign_json(out, conf->server_name, key) == -1) {
		json_decref(out);
		return NULL;
	}
	return out;
}

/* Decodes a verify key object {"key": b64} into pk.  0 or -1. */
static int
key_decode(const json_t *o, unsigned char pk[32])
{
	const char	*b64 = mjson_str(o, "key");
	unsigned char	 buf[64];

	if (b64 == NULL || mcrypto_b64_decode(b64, buf, sizeof(buf)) != 32)
		return -1;
	memcpy(pk, buf, 32);
	return 0;
}

int
mfed_keys_check(const json_t *obj, const char *server_name, int64_t now_ms, const char **why)
{
	const json_t	*vk, *sigs, *v;
	const char	*k;
	unsigned char	 pk[32];
	size_t		 signed_by = 0;

	(void)now_ms;
	if (!json_is_object(obj) || !json_is_string(json_object_get(obj, "server_name")) ||
	    strcmp(json_string_value(json_object_get(obj, "server_name")), server_name) != 0) {
		*why = "the answer is for another server";
		return -1;
	}
	if (!json_is_integer(json_object_get(obj, "valid_until_ts"))) {
		*why = "valid_until_ts is not an integer";
		return -1;
	}
	vk = json_object_get(obj, "verify_keys");
	sigs = json_object_get(json_object_get(obj, "signatures"), server_name);
	if (!json_is_object(vk) || json_object_size(vk) == 0 || !json_is_object(sigs)) {
		*why = "no verify_keys or no signature by the server";
		return -1;
	}
	json_object_foreach((json_t *)(uintptr_t)vk, k, v)
		if (key_decode(v, pk) == -1) {
			*why = "a verify key is not a 32-byte unpadded base64 key";
			return -1;
		}
	/*
	 * Spec: the answer is signed by the server's verify keys.  As
	 * Synapse, every signature by the server must be by a key the
	 * answer lists, and verify.
	 */
	json_object_foreach((json_t *)(uintptr_t)sigs, k, v) {
		const json_t *key = json_object_get(vk, k);

		if (key == NULL || key_decode(key, pk) == -1 ||
		    mcrypto_verify_json(obj, server_name, k, pk) == -1) {
			*why = "a signature does not verify with the answer's own keys";
			return -1;
		}
		signed_by++;
	}
	if (signed_by == 0) {
		*why = "the answer is not signed by the server";
		return -1;
	}
	return 0;
}

/* Stores the keys of a checked answer obj of server_name.  0 or -1. */
static int
keys_store(struct mdb *db, const char *server_name, const json_t *obj)
{
	const json_t	*v;
	const char	*k;
	int64_t		 until = json_integer_value(json_object_get(obj, "valid_until_ts"));
	int64_t		 now = mclock_now_ms();
	char		*js;
	int		 rc = 0;

	json_object_foreach(json_object_get(obj, "verify_keys"), k, v)
		if (mstore_server_key_put(db, server_name, k, mjson_str(v, "key"),
		    until < now + KEY_VALID_CAP_MS ? until : now + KEY_VALID_CAP_MS, 0, now) == -1)
			rc = -1;
	json_object_foreach(json_object_get(obj, "old_verify_keys"), k, v) {
		json_t		*ts = json_object_get(v, "expired_ts");
		unsigned char	 pk[32];

		/* A retired key is good for what it signed before it expired. */
		if (!json_is_integer(ts) || key_decode(v, pk) == -1 ||
		    json_object_get(json_object_get(obj, "verify_keys"), k) != NULL)
			continue;
		if (mstore_server_key_put(db, server_name, k, mjson_str(v, "key"),
		    json_integer_value(ts), json_integer_value(ts), now) == -1)
			rc = -1;
	}
	/* The answer is kept for each key it lists as current. */
	if ((js = mjson_canonical(obj, NULL)) == NULL)
		return -1;
	json_object_foreach(json_object_get(obj, "verify_keys"), k, v)
		if (mstore_server_key_json_put(db, server_name, k, until, now, js) == -1)
			rc = -1;
	free(js);
	return rc;
}

/* Our own key, or a retired one, as the keyring answers for us. */
static int
own_key(const struct mconfig *conf, const struct mkey *key, const char *key_id,
    int64_t ts, unsigned char pk[32])
{
	json_t		*own, *v;
	int		 rc = 0;

	if (key != NULL && strcmp(key->id, key_id) == 0) {
		memcpy(pk, key->pk, 32);
		return 1;
	}
	if (key == NULL || (own = mfed_keys_own(conf, key)) == NULL)
		return 0;
	v = json_object_get(json_object_get(own, "old_verify_keys"), key_id);
	if (v != NULL && key_decode(v, pk) == 0 &&
	    json_integer_value(json_object_get(v, "expired_ts")) >= ts)
		rc = 1;
	json_decref(own);
	return rc;
}

/* The stored key: 1 valid at ts, 0 unknown or not valid then, -1 failure. */
static int
stored_key(struct mdb *db, const char *server_name, const char *key_id, int64_t ts,
    unsigned char pk[32])
{
	char		*b64;
	int64_t		 until, expired;
	unsigned char	 buf[64];
	int		 rc;

	if ((rc = mstore_server_key_get(db, server_name, key_id, &b64, &until, &expired)) != 1)
		return rc;
	rc = 0;
	if (until >= ts && mcrypto_b64_decode(b64, buf, sizeof(buf)) == 32) {
		memcpy(pk, buf, 32);
		rc = 1;
	}
	free(b64);
	return rc;
}

/* Checks and stores server_name's key answer (status, reply: stolen).  0 or -1. */
static int
answer_store(struct mdb *db, const char *server_name, long status, json_t *reply)
{
	const char	*why;
	int		 rc = -1;

	if (status != 200 || reply == NULL)
		mlog_warn(NULL, "keyring: %s answered %ld to a key request", server_name, status);
	else if (mfed_keys_check(reply, server_name, mclock_now_ms(), &why) == -1)
		mlog_warn(NULL, "keyring: %s: refused its keys: %s", server_name, why);
	else
		rc = keys_store(db, server_name, reply);
	json_decref(reply);
	return rc;
}

/* GET /_matrix/key/v2/server from the server itself; stores what checks.  0 or -1. */
static int
fetch_direct(struct mdb *db, const struct mconfig *conf, const char *server_name)
{
	json_t	*reply = NULL;
	long	 status;

	if (mfed_http(conf, NULL, server_name, "GET", "/_matrix/key/v2/server", NULL,
	    KEY_FETCH_MS, &status, &reply) == -1)
		return -1;
	return answer_store(db, server_name, status, reply);
}

/*
 * POST /_matrix/key/v2/query to notary for server_name's keys; stores
 * each answer that checks as the server's own and carries the
 * notary's signature by a key we can verify.  0 or -1.
 */
static int
fetch_notary(struct mdb *db, const struct mconfig *conf, const struct mkey *key,
    const char *notary, const char *server_name, const char *key_id, int64_t ts)
{
	json_t		*body, *reply = NULL, *v;
	long		 status;
	size_t		 i;
	int		 rc = -1;

	body = json_pack("{s:{s:{s:{s:I}}}}", "server_keys", server_name, key_id,
	    "minimum_valid_until_ts", (json_int_t)ts);
	if (body == NULL)
		return -1;
	if (mfed_http(conf, NULL, notary, "POST", "/_matrix/key/v2/query", body, KEY_FETCH_MS,
	    &status, &reply) == -1 || status != 200 || reply == NULL) {
		json_decref(body);
		json_decref(reply);
		return -1;
	}
	json_decref(body);
	json_array_foreach(json_object_get(reply, "server_keys"), i, v) {
		const json_t	*nsigs = json_object_get(json_object_get(v, "signatures"), notary);
		const char	*why, *nk;
		json_t		*s;
		unsigned char	 npk[32];
		int		 ok = 0;

		if (mfed_keys_check(v, server_name, mclock_now_ms(), &why) == -1) {
			mlog_warn(NULL, "keyring: %s's answer for %s refused: %s", notary,
			    server_name, why);
			continue;
		}
		/* The notary's own key is fetched from it directly, never through a notary. */
		json_object_foreach((json_t *)(uintptr_t)nsigs, nk, s)
			if (!ok && (stored_key(db, notary, nk, mclock_now_ms(), npk) == 1 ||
			    (fetch_direct(db, conf, notary) == 0 &&
			    stored_key(db, notary, nk, mclock_now_ms(), npk) == 1)) &&
			    mcrypto_verify_json(v, notary, nk, npk) == 0)
				ok = 1;
		(void)key;
		if (!ok) {
			mlog_warn(NULL, "keyring: %s's answer for %s lacks its valid signature",
			    notary, server_name);
			continue;
		}
		if (keys_store(db, server_name, v) == 0)
			rc = 0;
	}
	json_decref(reply);
	return rc;
}

int
mfed_key_get(struct mdb *db, const struct mconfig *conf, const struct mkey *key,
    const char *server_name, const char *key_id, int64_t ts, unsigned char pk[32])
{
	char	*list = NULL, *save = NULL, *n;
	int	 rc;

	if (strcmp(server_name, conf->server_name) == 0)
		return own_key(conf, key, key_id, ts, pk);
	if ((rc = stored_key(db, server_name, key_id, ts, pk)) != 0)
		return rc;
	if (fetch_direct(db, conf, server_name) == 0 &&
	    (rc = stored_key(db, server_name, key_id, ts, pk)) != 0)
		return rc;
	if (conf->trusted_key_servers == NULL || (list = strdup(conf->trusted_key_servers)) == NULL)
		return 0;
	for (n = strtok_r(list, " \t,", &save); n != NULL; n = strtok_r(NULL, " \t,", &save)) {
		if (strcmp(n, server_name) == 0 || strcmp(n, conf->server_name) == 0)
			continue;
		if (fetch_notary(db, conf, key, n, server_name, key_id, ts) == 0 &&
		    (rc = stored_key(db, server_name, key_id, ts, pk)) != 0)
			break;
	}
	free(list);
	return rc;
}

/*
 * Appends to out, once each, the stored answers of server_name for the
 * key IDs of want (every stored one when want is empty), each with our
 * signature added.  *stale is set when one wanted is missing or valid
 * until before min_valid.  0 or -1.
 */
static int
stored_answers(struct mdb *db, const struct mconfig *conf, const struct mkey *key,
    const char *server_name, const json_t *want, int64_t min_valid, json_t *out, int *stale)
{
	struct mstore_keyjson	*rows = NULL;
	json_t			*seen, *obj;
	size_t			 n = 0;
	int			 rc = 0;

	*stale = 0;
	if (mstore_server_key_json_list(db, server_name, &rows, &n) == -1)
		return -1;
	if ((seen = json_object()) == NULL) {
		mstore_keyjson_free(rows, n);
		return -1;
	}
	if (n == 0)
		*stale = 1;
	/* A wanted key no answer listed. */
	for (size_t w = 0; w < json_array_size(want); w++) {
		const char	*kid = json_string_value(json_array_get(want, w));
		size_t		 i;

		for (i = 0; i < n && kid != NULL && strcmp(rows[i].key_id, kid) != 0; i++)
			;
		if (i == n)
			*stale = 1;
	}
	for (size_t i = 0; i < n; i++) {
		int wanted = json_array_size(want) == 0;

		for (size_t w = 0; !wanted && w < json_array_size(want); w++)
			wanted = json_is_string(json_array_get(want, w)) &&
			    strcmp(json_string_value(json_array_get(want, w)), rows[i].key_id) == 0;
		if (!wanted)
			continue;
		if (rows[i].valid_until_ts < min_valid)
			*stale = 1;
		/* One answer may be kept for several of its keys: given once. */
		if (out == NULL || json_object_get(seen, rows[i].json) != NULL)
			continue;
		json_object_set_new(seen, rows[i].json, json_true());
		if ((obj = json_loads(rows[i].json, 0, NULL)) == NULL) {
			rc = -1;
			break;
		}
		/* Spec: a notary adds its own signature to what it hands on. */
		if (key != NULL)
			mcrypto_sign_json(obj, conf->server_name, key);
		json_array_append_new(out, obj);
	}
	json_decref(seen);
	mstore_keyjson_free(rows, n);
	return rc;
}

void
mfed_keys_prefetch(struct mdb *db, const struct mconfig *conf, const char *const *servers,
    const json_t *const *key_ids, const int64_t *min_valid_ts, size_t n)
{
	struct mfed_call	*calls;
	struct mhttp_req	**reqs;
	size_t			 m = 0;
	int			 stale;

	if (n == 0 || (calls = calloc(n, sizeof(*calls))) == NULL)
		return;
	if ((reqs = calloc(n, sizeof(struct mhttp_req *))) == NULL) {
		free(calls);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct mfed_name nm;

		if (strcmp(servers[i], conf->server_name) == 0 ||
		    mfed_name_parse(servers[i], &nm) == -1 ||
		    stored_answers(db, conf, NULL, servers[i], key_ids[i], min_valid_ts[i], NULL,
		    &stale) == -1 || !stale)
			continue;
		if (mfed_call_init(&calls[m], conf, NULL, servers[i], "GET",
		    "/_matrix/key/v2/server", NULL, KEY_FETCH_MS) == 0) {
			reqs[m] = &calls[m].r;
			m++;
		}
	}
	if (m > 0 && mhttp_perform_many(reqs, m) == 0)
		for (size_t i = 0; i < m; i++) {
			json_t	*reply;
			long	 status;

			if (mfed_call_done(&calls[i], &status, &reply) == 0)
				answer_store(db, calls[i].destination, status, reply);
		}
	for (size_t i = 0; i < m; i++)
		mfed_call_fini(&calls[i]);
	free(reqs);
	free(calls);
}

json_t *
mfed_keys_query(struct mdb *db, const struct mconfig *conf, const struct mkey *key,
    const char *server_name, const json_t *key_ids, int64_t min_valid_ts, int fetch)
{
	json_t	*out, *obj = NULL;
	int	 stale;

	if ((out = json_array()) == NULL)
		return NULL;
	if (strcmp(server_name, conf->server_name) == 0) {
		if ((obj = mfed_keys_own(conf, key)) == NULL) {
			json_decref(out);
			return NULL;
		}
		json_array_append_new(out, obj);
		return out;
	}
	if (stored_answers(db, conf, NULL, server_name, key_ids, min_valid_ts, NULL,
	    &stale) == -1) {
		json_decref(out);
		return NULL;
	}
	/*
	 * Spec: the notary fetches again when what it has is missing or
	 * expires too soon; what it had stays, and is what it answers when
	 * the server gives nothing better (SyTest: "Key notary server
	 * should return an expired key if it can't find any others").
	 */
	if (stale && fetch)
		fetch_direct(db, conf, server_name);
	if (stored_answers(db, conf, key, server_name, key_ids, min_valid_ts, out,
	    &stale) == -1) {
		json_decref(out);
		return NULL;
	}
	return out;
}
