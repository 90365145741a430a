/* Signing and verifying JSON objects (Matrix appendix "Signing JSON"). */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/crypto.h"
#include "json/json.h"

/*
 * Returns the canonical JSON of obj without its "signatures" and
 * "unsigned" members (Spec: "Signing Details"), malloc'd, or NULL.
 * json_copy() is shallow: the copy shares its values with obj, which is
 * left as it was.
 */
static char *
signable_as(const json_t *obj, size_t *lenp, int lax)
{
	json_t	*copy;
	char	*s;

	if (!json_is_object(obj))
		return NULL;
	if ((copy = json_copy((json_t *)obj)) == NULL)
		return NULL;
	/*
	 * json_copy drops a member it cannot allocate and still returns
	 * the copy (tests/unit/alloc-fail): that would sign, or check, a
	 * different object.
	 */
	if (json_object_size(copy) != json_object_size(obj)) {
		json_decref(copy);
		return NULL;
	}
	json_object_del(copy, "signatures");
	json_object_del(copy, "unsigned");
	s = lax ? mjson_canonical_lax(copy, lenp) : mjson_canonical(copy, lenp);
	json_decref(copy);
	return s;
}

static char *
signable(const json_t *obj, size_t *lenp)
{
	return signable_as(obj, lenp, 0);
}

/*
 * Adds signatures[server_name][key->id] to obj, keeping the signatures
 * already there (by this server's other keys or by other servers) and
 * "unsigned".  A previous signature by the same key is replaced.  Returns
 * -1 if obj is not an object, cannot be canonicalised, or has a
 * "signatures" (or signatures[server_name]) that is not an object.
 */
int
mcrypto_sign_json(json_t *obj, const char *server_name, const struct mkey *key)
{
	unsigned char	 sig[crypto_sign_BYTES];
	json_t		*sigs, *mine;
	char		*msg = NULL, *b64 = NULL;
	size_t		 len;
	int		 rc = -1;

	if (server_name == NULL || key == NULL || key->sk == NULL)
		goto out;
	if ((msg = signable(obj, &len)) == NULL)
		goto out;
	sigs = json_object_get(obj, "signatures");
	if (sigs != NULL && !json_is_object(sigs))
		goto out;
	mine = sigs == NULL ? NULL : json_object_get(sigs, server_name);
	if (mine != NULL && !json_is_object(mine))
		goto out;
	if (crypto_sign_detached(sig, NULL, (const unsigned char *)msg, len,
	    key->sk) != 0)
		goto out;
	if ((b64 = mcrypto_b64_encode(sig, sizeof(sig))) == NULL)
		goto out;
	if (sigs == NULL) {
		if ((sigs = json_object()) == NULL ||
		    json_object_set_new(obj, "signatures", sigs) == -1)
			goto out;
	}
	if (mine == NULL) {
		if ((mine = json_object()) == NULL ||
		    json_object_set_new(sigs, server_name, mine) == -1)
			goto out;
	}
	if (json_object_set_new(mine, key->id, json_string(b64)) == -1)
		goto out;
	rc = 0;
out:
	free(b64);
	free(msg);
	return rc;
}

/*
 * Spec: "Checking for a Signature", steps 1 and 4-7; the caller has
 * chosen key_id and looked up pk (steps 2 and 3).  Only ed25519 keys are
 * understood.  Returns 0 if obj carries a valid signature by
 * (server_name, key_id), -1 if it is missing, malformed or wrong.
 */
static int
verify_as(const json_t *obj, const char *server_name, const char *key_id,
    const unsigned char pk[32], int lax);

int
mcrypto_verify_json(const json_t *obj, const char *server_name,
    const char *key_id, const unsigned char pk[32])
{
	return verify_as(obj, server_name, key_id, pk, 0);
}

int
mcrypto_verify_json_lax(const json_t *obj, const char *server_name,
    const char *key_id, const unsigned char pk[32])
{
	return verify_as(obj, server_name, key_id, pk, 1);
}

static int
verify_as(const json_t *obj, const char *server_name, const char *key_id,
    const unsigned char pk[32], int lax)
{
	unsigned char	 sig[crypto_sign_BYTES + 3];
	const json_t	*sigs;
	const char	*b64;
	char		*msg = NULL;
	size_t		 len;
	int		 rc = -1;

	if (mcrypto_init() == -1 || server_name == NULL || key_id == NULL ||
	    strncmp(key_id, "ed25519:", 8) != 0)
		goto out;
	sigs = json_object_get(json_object_get(obj, "signatures"), server_name);
	if ((b64 = mjson_str(sigs, key_id)) == NULL)
		goto out;
	/* sig has room for more so that a longer value is seen as an error. */
	if (mcrypto_b64_decode(b64, sig, sizeof(sig)) != crypto_sign_BYTES)
		goto out;
	if ((msg = signable_as(obj, &len, lax)) == NULL)
		goto out;
	if (crypto_sign_verify_detached(sig, (const unsigned char *)msg, len,
	    pk) != 0)
		goto out;
	rc = 0;
out:
	free(msg);
	return rc;
}
