/* Identity server calls: bind, unbind, lookup, store-invite (Identity Service API v2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "crypto/crypto.h"
#include "fed/fed.h"
#include "http/http.h"
#include "ident/ident.h"
#include "json/json.h"
#include "log/log.h"
#include "room/room.h"

/* Identity servers answer small objects; a lookup of one address, a key check. */
#define IDENT_MAX_BYTES		(256 * 1024)
#define IDENT_TIMEOUT_MS	15000

int
mident_server_check(const char *s)
{
	struct mfed_name n;

	return s != NULL && mfed_name_parse(s, &n) == 0;
}

int
mident_secret_check(const char *s)
{
	size_t len;

	if (s == NULL || (len = strlen(s)) == 0 || len > 255)
		return 0;
	return strspn(s, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    ".=_-") == len;
}

static void
err_set(struct mident_err *e, long status, const char *errcode, const char *error)
{
	e->status = status;
	snprintf(e->errcode, sizeof(e->errcode), "%s", errcode);
	snprintf(e->error, sizeof(e->error), "%s", error);
}

static enum mident_rc
perform(const struct mconfig *conf, const char *url, const char *bearer, const char *authz,
    const json_t *body, json_t **reply, struct mident_err *e)
{
	struct mhttp_req	 r;
	struct mhttp_allow	 allow;
	const char		*hdrs[1];
	char			*js = NULL, *h = NULL;
	size_t			 jsz = 0;
	enum mident_rc		 rc = MIDENT_UNREACHABLE;
	json_t			*j = NULL;

	*reply = NULL;
	memset(&r, 0, sizeof(r));
	err_set(e, 502, "M_UNKNOWN", "Failed to contact identity server");
	if (mhttp_allow_parse(conf->identity_allow_ips, &allow) == -1)
		memset(&allow, 0, sizeof(allow));
	if (body != NULL && (js = mjson_canonical(body, &jsz)) == NULL)
		goto out;
	/* lib/http sends a body as application/json itself. */
	if (bearer != NULL || authz != NULL) {
		if ((bearer != NULL && asprintf(&h, "Authorization: Bearer %s", bearer) == -1) ||
		    (bearer == NULL && asprintf(&h, "Authorization: %s", authz) == -1)) {
			h = NULL;
			goto out;
		}
		hdrs[r.headersz++] = h;
	}
	r.headers = hdrs;
	r.method = body != NULL ? "POST" : "GET";
	r.url = url;
	r.body = js;
	r.bodysz = jsz;
	r.ca_file = conf->identity_ca_file;
	r.allow = &allow;
	r.timeout_ms = IDENT_TIMEOUT_MS;
	r.max_bytes = IDENT_MAX_BYTES;
	if (mhttp_perform(&r) == -1) {
		mlog_warn(NULL, "identity server: %s: %s", url, r.err);
		goto out;
	}
	j = mhttp_json(&r);
	if (r.status < 200 || r.status > 299) {
		const char *ec = mjson_str(j, "errcode"), *er = mjson_str(j, "error");

		mlog_info(NULL, "identity server: %s: status %ld", url, r.status);
		err_set(e, r.status >= 400 && r.status <= 599 ? r.status : 502,
		    ec != NULL ? ec : "M_UNKNOWN", er != NULL ? er : "Identity server refused");
		rc = MIDENT_REFUSED;
		goto out;
	}
	if (j == NULL) {
		mlog_warn(NULL, "identity server: %s: the answer is not a JSON object", url);
		err_set(e, 502, "M_UNKNOWN", "Bad answer from the identity server");
		rc = MIDENT_BAD;
		goto out;
	}
	*reply = j;
	j = NULL;
	rc = MIDENT_OK;
out:
	json_decref(j);
	mhttp_req_fini(&r);
	free(js);
	free(h);
	return rc;
}

enum mident_rc
mident_call(const struct mconfig *conf, const char *id_server, const char *path,
    const char *bearer, const char *authz, const json_t *body, json_t **reply,
    struct mident_err *e)
{
	char		*url;
	enum mident_rc	 rc;

	*reply = NULL;
	if (!mident_server_check(id_server)) {
		err_set(e, 400, "M_INVALID_PARAM", "Invalid id_server");
		return MIDENT_BAD;
	}
	if (asprintf(&url, "https://%s%s", id_server, path) == -1) {
		err_set(e, 500, "M_UNKNOWN", "Out of memory");
		return MIDENT_BAD;
	}
	rc = perform(conf, url, bearer, authz, body, reply, e);
	free(url);
	return rc;
}

enum mident_rc
mident_call_url(const struct mconfig *conf, const char *url, json_t **reply,
    struct mident_err *e)
{
	*reply = NULL;
	if (url == NULL || strncmp(url, "https://", 8) != 0) {
		err_set(e, 400, "M_UNKNOWN", "Not an https URL");
		return MIDENT_BAD;
	}
	return perform(conf, url, NULL, NULL, NULL, reply, e);
}

enum mident_rc
mident_bind(const struct mconfig *conf, const char *id_server, const char *token,
    const char *sid, const char *client_secret, const char *mxid, char **medium,
    char **address, struct mident_err *e)
{
	json_t		*body, *reply = NULL;
	const char	*m, *a;
	enum mident_rc	 rc;

	*medium = *address = NULL;
	if ((body = json_pack("{s:s,s:s,s:s}", "sid", sid, "client_secret", client_secret,
	    "mxid", mxid)) == NULL) {
		err_set(e, 500, "M_UNKNOWN", "Out of memory");
		return MIDENT_BAD;
	}
	rc = mident_call(conf, id_server, "/_matrix/identity/v2/3pid/bind", token, NULL, body,
	    &reply, e);
	json_decref(body);
	if (rc != MIDENT_OK)
		return rc;
	m = mjson_str(reply, "medium");
	a = mjson_str(reply, "address");
	/* Kept in the store: bounded as the spec's 3PID fields are used (RFC 5321: 254). */
	if (m == NULL || a == NULL || strlen(m) > 32 || strlen(a) > 512 ||
	    mjson_str(reply, "mxid") == NULL || strcmp(mjson_str(reply, "mxid"), mxid) != 0) {
		mlog_warn(NULL, "identity server %s: bind answer without medium, address or"
		    " our mxid", id_server);
		err_set(e, 502, "M_UNKNOWN", "Bad answer from the identity server");
		json_decref(reply);
		return MIDENT_BAD;
	}
	*medium = strdup(m);
	*address = strdup(a);
	json_decref(reply);
	if (*medium == NULL || *address == NULL) {
		free(*medium);
		free(*address);
		*medium = *address = NULL;
		err_set(e, 500, "M_UNKNOWN", "Out of memory");
		return MIDENT_BAD;
	}
	return MIDENT_OK;
}

int
mident_unbind(const struct mconfig *conf, const struct mkey *key, const char *id_server,
    const char *mxid, const char *medium, const char *address)
{
	static const char	 path[] = "/_matrix/identity/v2/3pid/unbind";
	struct mident_err	 e;
	json_t			*body, *reply = NULL;
	char			*authz;
	enum mident_rc		 rc;

	if ((body = json_pack("{s:s,s:{s:s,s:s}}", "mxid", mxid, "threepid", "medium", medium,
	    "address", address)) == NULL)
		return -1;
	/*
	 * Spec: Identity Service API, POST /3pid/unbind: a homeserver's
	 * request is signed as a federation request (X-Matrix) whose
	 * destination is the identity server.
	 */
	if ((authz = mfed_xmatrix_sign(key, conf->server_name, id_server, "POST", path,
	    body)) == NULL) {
		json_decref(body);
		return -1;
	}
	rc = mident_call(conf, id_server, path, NULL, authz, body, &reply, &e);
	json_decref(body);
	json_decref(reply);
	free(authz);
	if (rc == MIDENT_OK)
		return 1;
	if (rc == MIDENT_REFUSED && (e.status == 400 || e.status == 404 || e.status == 501))
		return 0;
	return -1;
}

/* sha256(address " " medium " " pepper), unpadded URL-safe base64 (spec: hashed lookups). */
static char *
lookup_hash(const char *medium, const char *address, const char *pepper)
{
	unsigned char	 d[32];
	char		*s;

	if (asprintf(&s, "%s %s %s", address, medium, pepper) == -1)
		return NULL;
	mcrypto_sha256(s, strlen(s), d);
	free(s);
	return mcrypto_b64url_encode(d, sizeof(d));
}

int
mident_lookup(const struct mconfig *conf, const char *id_server, const char *token,
    const char *medium, const char *address, char **mxid)
{
	struct mident_err	 e;
	json_t			*hd = NULL, *body = NULL, *reply = NULL, *algs, *a;
	const char		*pepper, *alg = NULL, *found;
	char			*h = NULL, *plain = NULL;
	size_t			 i;
	int			 rc = -1;

	*mxid = NULL;
	if (mident_call(conf, id_server, "/_matrix/identity/v2/hash_details", token, NULL,
	    NULL, &hd, &e) != MIDENT_OK)
		goto out;
	pepper = mjson_str(hd, "lookup_pepper");
	algs = json_object_get(hd, "algorithms");
	json_array_foreach(algs, i, a) {
		if (json_is_string(a) && strcmp(json_string_value(a), "sha256") == 0)
			alg = "sha256";
		else if (json_is_string(a) && strcmp(json_string_value(a), "none") == 0 &&
		    alg == NULL)
			alg = "none";
	}
	if (pepper == NULL || alg == NULL) {
		mlog_warn(NULL, "identity server %s: no lookup_pepper or no algorithm we know",
		    id_server);
		goto out;
	}
	if (strcmp(alg, "sha256") == 0)
		h = lookup_hash(medium, address, pepper);
	else if (asprintf(&plain, "%s %s", address, medium) == -1)
		plain = NULL;
	if ((h == NULL && plain == NULL) || (body = json_pack("{s:[s],s:s,s:s}", "addresses",
	    h != NULL ? h : plain, "algorithm", alg, "pepper", pepper)) == NULL)
		goto out;
	if (mident_call(conf, id_server, "/_matrix/identity/v2/lookup", token, NULL, body,
	    &reply, &e) != MIDENT_OK)
		goto out;
	found = mjson_str(json_object_get(reply, "mappings"), h != NULL ? h : plain);
	if (found == NULL) {
		rc = 0;
		goto out;
	}
	if (!mroom_user_id_check(found)) {
		mlog_warn(NULL, "identity server %s: lookup gave an invalid user ID", id_server);
		goto out;
	}
	if ((*mxid = strdup(found)) != NULL)
		rc = 1;
out:
	json_decref(hd);
	json_decref(body);
	json_decref(reply);
	free(h);
	free(plain);
	return rc;
}

enum mident_rc
mident_store_invite(const struct mconfig *conf, const char *id_server, const char *token,
    const json_t *body, json_t **content, char **state_key, struct mident_err *e)
{
	json_t		*reply = NULL, *keys, *k, *pks = NULL, *c = NULL;
	const char	*tok, *pk, *kvu = NULL, *dn;
	char		*fallback = NULL;
	size_t		 i;
	enum mident_rc	 rc;

	*content = NULL;
	*state_key = NULL;
	if ((rc = mident_call(conf, id_server, "/_matrix/identity/v2/store-invite", token, NULL,
	    body, &reply, e)) != MIDENT_OK)
		return rc;
	rc = MIDENT_BAD;
	err_set(e, 502, "M_UNKNOWN", "Bad answer from the identity server");
	tok = mjson_str(reply, "token");
	pk = mjson_str(reply, "public_key");
	dn = mjson_str(reply, "display_name");
	keys = json_object_get(reply, "public_keys");
	if (tok == NULL || *tok == '\0' || strlen(tok) > 255 || (pks = json_array()) == NULL)
		goto out;
	/* Synapse: public_keys as given, each a public_key and its key_validity_url. */
	json_array_foreach(keys, i, k) {
		const char *p = mjson_str(k, "public_key"), *u = mjson_str(k, "key_validity_url");

		if (p == NULL || u == NULL)
			goto out;
		if (kvu == NULL)
			kvu = u;
		if (pk == NULL)
			pk = p;
		json_array_append_new(pks, json_pack("{s:s,s:s}", "public_key", p,
		    "key_validity_url", u));
	}
	if (pk == NULL)
		goto out;
	if (kvu == NULL) {
		/* Only public_key: its validity at the v2 pubkey API of the same server. */
		if (asprintf(&fallback, "https://%s/_matrix/identity/v2/pubkey/isvalid",
		    id_server) == -1) {
			fallback = NULL;
			goto out;
		}
		kvu = fallback;
		json_array_append_new(pks, json_pack("{s:s,s:s}", "public_key", pk,
		    "key_validity_url", kvu));
	}
	if ((c = json_pack("{s:s,s:s,s:s,s:O}", "display_name", dn != NULL ? dn : "",
	    "key_validity_url", kvu, "public_key", pk, "public_keys", pks)) == NULL ||
	    (*state_key = strdup(tok)) == NULL)
		goto out;
	*content = c;
	c = NULL;
	rc = MIDENT_OK;
out:
	json_decref(c);
	json_decref(pks);
	json_decref(reply);
	free(fallback);
	return rc;
}
