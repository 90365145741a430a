/* Key answers: ours checks as a remote's would; forged, stale or foreign ones do not. */
#include "testlib.h"
#include "config/config.h"
#include "fed/fed.h"

int
main(void)
{
	struct mconfig	 conf;
	struct mkey	*k = spec_key(NULL), *other;
	json_t		*own, *bad;
	const char	*why;
	unsigned char	 seed[32];
	char		*pub;

	memset(&conf, 0, sizeof(conf));
	conf.server_name = "domain";
	conf.signing_key_path = "/nonexistent/signing.key";
	if ((own = mfed_keys_own(&conf, k)) == NULL) {
		FAIL("no own key answer");
		return 1;
	}
	CHECK(mfed_keys_check(own, "domain", 0, &why) == 0);
	CHECK(json_integer_value(json_object_get(own, "valid_until_ts")) > 0);
	CHECK(json_object_get(json_object_get(own, "verify_keys"), KEY_ID) != NULL);
	CHECK(json_is_object(json_object_get(own, "old_verify_keys")));
	/* For another server name. */
	CHECK(mfed_keys_check(own, "other", 0, &why) == -1);
	/* A changed field breaks the signature. */
	bad = json_deep_copy(own);
	json_object_set_new(bad, "valid_until_ts", json_integer(1));
	CHECK(mfed_keys_check(bad, "domain", 0, &why) == -1);
	json_decref(bad);
	/* A key swapped for another: the signature no longer verifies with it. */
	memset(seed, 7, sizeof(seed));
	other = mcrypto_key_from_seed(seed, "1");
	bad = json_deep_copy(own);
	pub = mcrypto_key_public_b64(other);
	json_object_set_new(json_object_get(json_object_get(bad, "verify_keys"), KEY_ID), "key",
	    json_string(pub));
	CHECK(mfed_keys_check(bad, "domain", 0, &why) == -1);
	json_decref(bad);
	/* A key that is not 32 bytes. */
	bad = json_deep_copy(own);
	json_object_set_new(json_object_get(json_object_get(bad, "verify_keys"), KEY_ID), "key",
	    json_string("AAAA"));
	CHECK(mfed_keys_check(bad, "domain", 0, &why) == -1);
	json_decref(bad);
	/* Signed by a key the answer does not list. */
	bad = json_deep_copy(own);
	json_object_del(bad, "signatures");
	mcrypto_sign_json(bad, "domain", other);
	json_object_set_new(json_object_get(json_object_get(bad, "signatures"), "domain"),
	    "ed25519:2", json_string("x"));
	CHECK(mfed_keys_check(bad, "domain", 0, &why) == -1);
	json_decref(bad);
	/* Unsigned; no keys; valid_until_ts not an integer. */
	bad = json_deep_copy(own);
	json_object_del(bad, "signatures");
	CHECK(mfed_keys_check(bad, "domain", 0, &why) == -1);
	json_decref(bad);
	bad = json_deep_copy(own);
	json_object_set_new(bad, "verify_keys", json_object());
	CHECK(mfed_keys_check(bad, "domain", 0, &why) == -1);
	json_decref(bad);
	bad = json_deep_copy(own);
	json_object_set_new(bad, "valid_until_ts", json_string("soon"));
	CHECK(mfed_keys_check(bad, "domain", 0, &why) == -1);
	json_decref(bad);
	json_decref(own);
	free(pub);
	mcrypto_key_free(other);
	mcrypto_key_free(k);
	return failed;
}
