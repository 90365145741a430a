/* X-Matrix: signing requests and checking them, against signatures made apart (PyNaCl). */
#include "testlib.h"
#include "fed/fed.h"

/* Ed25519 over the canonical request JSON with the spec's key, computed with PyNaCl. */
#define GET_SIG	"C+tYWIqi61/z1AJS4IOkROoHm1CPClHdT12E2otPqHnqBr2Ll2VzaAVyDLpADSvFEZtFZwM3JaM2YgueVeSACQ"
#define PUT_SIG	"glIgpRC4wgkW3bcwIyF3oS+6x5eDqPOuJQts8H9CiM04HA9rP9pYzX4uH/yEb8CorhDLQzmUEXap98pWKqbCCA"
#define PUT_URI	"/_matrix/federation/v1/send/1?x=%20"
#define PUT_BODY "{\"pdus\": [], \"origin\": \"domain\", \"origin_server_ts\": 5}"

static void
parse_ok(const char *h, const char *origin, const char *dest, const char *key, const char *sig)
{
	struct mfed_authz a;

	if (mfed_xmatrix_parse(h, &a) == -1) {
		FAIL("parse %s", h);
		return;
	}
	if (strcmp(a.origin, origin) != 0 || strcmp(a.destination, dest) != 0 ||
	    strcmp(a.key_id, key) != 0 || strcmp(a.sig, sig) != 0)
		FAIL("parse %s: got %s|%s|%s|%s", h, a.origin, a.destination, a.key_id, a.sig);
}

int
main(void)
{
	struct mkey		*k = spec_key(NULL);
	struct mfed_authz	 a;
	json_t			*body = load(PUT_BODY), *other = load("{\"pdus\": [1]}");
	char			*h, want[512];

	/* Our header carries the signature PyNaCl makes of the same JSON. */
	h = mfed_xmatrix_sign(k, SERVER, "other.example", "GET", "/_matrix/federation/v1/version", NULL);
	snprintf(want, sizeof(want), "X-Matrix origin=\"domain\",destination=\"other.example\","
	    "key=\"ed25519:1\",sig=\"%s\"", GET_SIG);
	if (h == NULL || strcmp(h, want) != 0)
		FAIL("GET header:\n want %s\n got  %s", want, h != NULL ? h : "NULL");
	free(h);
	h = mfed_xmatrix_sign(k, SERVER, "other.example", "PUT", PUT_URI, body);
	CHECK(h != NULL && strstr(h, PUT_SIG) != NULL);

	/* Verification: the raw URI, the body, the destination all count. */
	CHECK(h != NULL && mfed_xmatrix_parse(h, &a) == 0);
	CHECK(mfed_xmatrix_verify(&a, "other.example", "PUT", PUT_URI, body, k->pk) == 0);
	CHECK(mfed_xmatrix_verify(&a, "third.example", "PUT", PUT_URI, body, k->pk) == -1);
	CHECK(mfed_xmatrix_verify(&a, "other.example", "POST", PUT_URI, body, k->pk) == -1);
	CHECK(mfed_xmatrix_verify(&a, "other.example", "PUT", "/_matrix/federation/v1/send/1?x=+",
	    body, k->pk) == -1);
	CHECK(mfed_xmatrix_verify(&a, "other.example", "PUT", PUT_URI, other, k->pk) == -1);
	CHECK(mfed_xmatrix_verify(&a, "other.example", "PUT", PUT_URI, NULL, k->pk) == -1);
	free(h);

	/* Spec: quoted or bare values, any order, names and scheme case-insensitive. */
	parse_ok("X-Matrix origin=domain,key=\"ed25519:1\",sig=\"abc\"", "domain", "", "ed25519:1", "abc");
	parse_ok("x-matrix Origin=\"a.b:8448\", Destination=\"c\", Key=\"ed25519:x\", Sig=\"s+/\"",
	    "a.b:8448", "c", "ed25519:x", "s+/");
	parse_ok("X-Matrix sig=\"q\\\"x\",key=k,origin=o,unknown=\"z\"", "o", "", "k", "q\"x");
	/* Refused: another scheme, a missing part, an unterminated quote. */
	CHECK(mfed_xmatrix_parse("Bearer abc", &a) == -1);
	CHECK(mfed_xmatrix_parse("X-Matrix", &a) == -1);
	CHECK(mfed_xmatrix_parse("X-Matrixorigin=a,key=b,sig=c", &a) == -1);
	CHECK(mfed_xmatrix_parse("X-Matrix origin=a,key=b", &a) == -1);
	CHECK(mfed_xmatrix_parse("X-Matrix origin=\"a,key=b,sig=c", &a) == -1);
	CHECK(mfed_xmatrix_parse("X-Matrix =a,key=b,sig=c", &a) == -1);
	json_decref(body);
	json_decref(other);
	mcrypto_key_free(k);
	return failed;
}
