/* Cross-signing: the user's signing keys (behind UIA) and signatures of keys. */
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "crypto/crypto.h"
#include "e2ee.h"
#include "fed/fed.h"
#include "json/json.h"
#include "store/store.h"

static const char *const stage_password[] = { "m.login.password", NULL };
static const struct muia_flow flows_password[] = { { stage_password } };

/* The upload's members, their usage, in the order they are checked. */
static const char *const kinds[][2] = {
	{ "master_key", "master" },
	{ "self_signing_key", "self_signing" },
	{ "user_signing_key", "user_signing" },
};

/*
 * 1 when key is a cross-signing key of user_id for usage: its user_id,
 * usage among its usages, one ed25519 key named by its public key.
 */
static int
xkey_check(const json_t *key, const char *user_id, const char *usage)
{
	const json_t	*usages = json_object_get(key, "usage"), *keys = json_object_get(key, "keys");
	const char	*name;
	json_t		*v;
	size_t		 i;
	int		 found = 0;

	if (!json_is_object(key) || !json_is_string(json_object_get(key, "user_id")) ||
	    strcmp(mjson_str(key, "user_id"), user_id) != 0 || !json_is_array(usages) ||
	    !json_is_object(keys) || json_object_size(keys) != 1)
		return 0;
	json_array_foreach(usages, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), usage) == 0)
			found = 1;
	json_object_foreach((json_t *)keys, name, v)
		if (strncmp(name, "ed25519:", 8) != 0 || !json_is_string(v) ||
		    strcmp(name + 8, json_string_value(v)) != 0)
			return 0;
	return found;
}

/*
 * 0 when obj carries a valid signature by signer's key key_id (NULL:
 * "ed25519:<pub>", a cross-signing key) of ed25519 public key pub
 * (base64), else -1.
 */
static int
verify(const json_t *obj, const char *signer, const char *key_id, const char *pub)
{
	unsigned char	 pk[32 + 3];
	char		*made = NULL;
	int		 rc;

	if (pub == NULL || mcrypto_b64_decode(pub, pk, sizeof(pk)) != 32)
		return -1;
	if (key_id == NULL && asprintf(&made, "ed25519:%s", pub) == -1)
		return -1;
	rc = mcrypto_verify_json(obj, signer, key_id != NULL ? key_id : made, pk);
	free(made);
	return rc;
}

/*
 * Spec: C-S API, POST /keys/device_signing/upload: master_key,
 * self_signing_key, user_signing_key of the caller.  Behind UIA once the
 * user has a master key (the first needs none, as Synapse).  400
 * M_INVALID_PARAM for a key of another shape, user or usage, or a
 * self-signing or user-signing key without a master key; 400
 * M_INVALID_SIGNATURE when the master key did not sign them.
 */
int
h_device_signing_upload(struct mreq *req)
{
	json_t	*master = NULL, *keys = NULL, *k;
	char	*session = NULL, *tok;
	int	 rc;

	if (mstore_xsign_get(req->db, req->auth.user_id, "master", NULL, &master) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (master != NULL) {
		rc = mauth_uia(req, "device_signing_upload", req->auth.user_id, NULL,
		    flows_password, 1, &session);
		if (rc != 1)
			goto out;
		tok = mauth_uia_done(req, session);
		free(tok);
	}
	keys = json_object();
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if ((k = json_object_get(req->body, kinds[i][0])) == NULL || json_is_null(k))
			continue;
		if (!xkey_check(k, req->auth.user_id, kinds[i][1])) {
			rc = mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid %s", kinds[i][0]);
			goto out;
		}
		if (i == 0) {
			json_decref(master);
			master = json_incref(k);
		} else if (master == NULL) {
			rc = mfcgi_fail(req, MERR_INVALID_PARAM, "No master key to verify %s",
			    kinds[i][0]);
			goto out;
		} else if (verify(k, req->auth.user_id, NULL, mstore_xsign_pub(master)) == -1) {
			rc = mfcgi_fail(req, MERR_INVALID_SIGNATURE, "%s is not signed by the master key",
			    kinds[i][0]);
			goto out;
		}
		json_object_set(keys, kinds[i][1], k);
	}
	if (json_object_size(keys) > 0 && mstore_xsign_put(req->db, req->auth.user_id, keys) == -1) {
		rc = mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	/* Other servers see the master and self-signing keys, never the user-signing one. */
	if ((json_object_get(keys, "master") != NULL ||
	    json_object_get(keys, "self_signing") != NULL) &&
	    mfed_edu_signing(req->db, req->conf->server_name, req->auth.user_id) == -1) {
		rc = mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	rc = mfcgi_reply(req, 200, json_object());
out:
	free(session);
	json_decref(master);
	json_decref(keys);
	return rc;
}

/* Records a failure for (user_id, key_id) in failures.  Returns 0. */
static int
failure(json_t *failures, const char *user_id, const char *key_id, const char *errcode,
    const char *msg)
{
	json_t *u;

	if ((u = json_object_get(failures, user_id)) == NULL)
		json_object_set_new(failures, user_id, u = json_object());
	json_object_set_new(u, key_id, json_pack("{s:s,s:s}", "errcode", errcode, "error", msg));
	return 0;
}

/*
 * Checks the signature in obj by the caller's key signer_key (NULL: a
 * cross-signing key, "ed25519:<pub>") of public key pub against stored
 * (the key as the server has it, not as uploaded), then stores it.  0,
 * or 1 with a failure recorded; -1 on a store failure.
 */
static int
sign_one(struct mreq *req, json_t *failures, const char *user_id, const char *key_id,
    const json_t *stored, const char *signer_key, const char *pub, const json_t *obj)
{
	json_t	*copy = NULL, *sig;
	char	*made = NULL;
	int	 rc = -1;

	if (pub == NULL)
		return failure(failures, user_id, key_id, "M_INVALID_SIGNATURE", "No signing key"), 1;
	if (signer_key == NULL) {
		if (asprintf(&made, "ed25519:%s", pub) == -1)
			return -1;
		signer_key = made;
	}
	sig = json_object_get(json_object_get(json_object_get(obj, "signatures"),
	    req->auth.user_id), signer_key);
	if (!json_is_string(sig)) {
		rc = 1;
		failure(failures, user_id, key_id, "M_INVALID_SIGNATURE", "Missing signature");
		goto out;
	}
	if ((copy = json_deep_copy(stored)) == NULL)
		goto out;
	json_object_set_new(copy, "signatures", json_pack("{s:{s:O}}", req->auth.user_id,
	    signer_key, sig));
	if (verify(copy, req->auth.user_id, signer_key, pub) == -1) {
		rc = 1;
		failure(failures, user_id, key_id, "M_INVALID_SIGNATURE", "Invalid signature");
		goto out;
	}
	rc = mstore_sig_add(req->db, user_id, key_id, req->auth.user_id, signer_key,
	    json_string_value(sig)) == -1 ? -1 : 0;
out:
	json_decref(copy);
	free(made);
	return rc;
}

/*
 * One signed key of the upload: the caller's device (signed by the
 * self-signing key), the caller's master key (signed by one of the
 * caller's devices), or another local user's master key (signed by the
 * caller's user-signing key).  0, 1 (failure recorded) or -1.
 */
static int
sign_key(struct mreq *req, json_t *failures, const char *user_id, const char *key_id,
    const json_t *obj)
{
	json_t		*stored = NULL, *signer = NULL, *dk = NULL, *sigs;
	const char	*sk, *pub;
	json_t		*v;
	int		 rc = -1, own = strcmp(user_id, req->auth.user_id) == 0;

	if (!json_is_object(obj))
		return failure(failures, user_id, key_id, "M_INVALID_PARAM", "Not an object"), 1;
	if (own && mstore_dkeys_get(req->db, user_id, key_id, &stored) == -1)
		goto out;
	if (stored != NULL) {
		if (mstore_xsign_get(req->db, user_id, "self_signing", NULL, &signer) == -1)
			goto out;
		if (signer == NULL) {
			rc = 1;
			failure(failures, user_id, key_id, "M_NOT_FOUND", "No self-signing key");
			goto out;
		}
		rc = sign_one(req, failures, user_id, key_id, stored, NULL,
		    mstore_xsign_pub(signer), obj);
		goto out;
	}
	if (!e2ee_user_local(req, user_id) ||
	    mstore_xsign_get(req->db, user_id, "master", NULL, &stored) == -1)
		goto unknown;
	if (stored == NULL || mstore_xsign_pub(stored) == NULL ||
	    strcmp(mstore_xsign_pub(stored), key_id) != 0)
		goto unknown;
	if (!own) {
		if (mstore_xsign_get(req->db, req->auth.user_id, "user_signing", NULL,
		    &signer) == -1)
			goto out;
		if (signer == NULL) {
			rc = 1;
			failure(failures, user_id, key_id, "M_NOT_FOUND", "No user-signing key");
			goto out;
		}
		rc = sign_one(req, failures, user_id, key_id, stored, NULL,
		    mstore_xsign_pub(signer), obj);
		goto out;
	}
	/* The caller's master key, signed by one of the caller's devices. */
	sigs = json_object_get(json_object_get(obj, "signatures"), user_id);
	json_object_foreach(sigs, sk, v) {
		if (strncmp(sk, "ed25519:", 8) != 0 || strcmp(sk + 8, key_id) == 0)
			continue;
		json_decref(dk);
		dk = NULL;
		if (mstore_dkeys_get(req->db, user_id, sk + 8, &dk) == -1)
			goto out;
		if ((pub = mjson_str(json_object_get(dk, "keys"), sk)) == NULL)
			continue;
		rc = sign_one(req, failures, user_id, key_id, stored, sk, pub, obj);
		goto out;
	}
unknown:
	rc = 1;
	failure(failures, user_id, key_id, "M_NOT_FOUND", "Unknown key");
out:
	json_decref(stored);
	json_decref(signer);
	json_decref(dk);
	return rc;
}

/*
 * Spec: C-S API, POST /keys/signatures/upload: {user_id: {key_id:
 * signed key}}.  Each signature is checked against the key the server
 * stores and kept, or reported in failures (M_NOT_FOUND for an unknown
 * key, M_INVALID_SIGNATURE for a missing or bad one) and not stored.
 * 400 M_BAD_JSON when the body is not an object of objects.
 */
int
h_signatures_upload(struct mreq *req)
{
	const char	*user_id, *key_id;
	json_t		*keys, *obj, *failures;

	json_object_foreach(req->body, user_id, keys)
		if (!json_is_object(keys))
			return mfcgi_fail(req, MERR_BAD_JSON, "Keys must be objects");
	if ((failures = json_object()) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	json_object_foreach(req->body, user_id, keys)
		json_object_foreach(keys, key_id, obj)
			if (sign_key(req, failures, user_id, key_id, obj) == -1) {
				json_decref(failures);
				return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
			}
	return mfcgi_reply(req, 200, json_pack("{s:o}", "failures", failures));
}
