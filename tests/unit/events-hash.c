/* Content hashes and event signing against the spec's test vectors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"

/*
 * The vectors predate room version 11, whose redaction no longer keeps
 * "origin", so there the minimal event signs differently.  Computed
 * independently with Python's hashlib, base64, json.dumps(sort_keys=True,
 * separators=(',', ':'), ensure_ascii=False) and the cryptography
 * package's Ed25519 over the spec's seed: the minimal event with its
 * hashes set, without "unsigned", "signatures" and "origin"; the same
 * script gives MINIMAL_SIG back for the event with "origin".
 */
#define MINIMAL_SIG_V11	"Jxp+1glFcZM+nnHpY0EkedRR7u0VmKsJYGnQqIvqus3UvL5X" \
			"/p1y6wSkLhGoTBel6MZ9lrMIzUqrjqFquWJKBw"

static const char *
hash_of(const json_t *ev)
{
	const char	*s;

	s = mjson_str(json_object_get(ev, "hashes"), "sha256");
	return s == NULL ? "" : s;
}

/* The event verifies in its redacted form, as a receiver checks it. */
static int
verifies(const json_t *ev, const struct mroomver *rv, const struct mkey *k)
{
	json_t	*red;
	int	 ok;

	if ((red = mevent_redact(ev, rv)) == NULL)
		return 0;
	ok = mcrypto_verify_json(red, SERVER, KEY_ID, k->pk) == 0;
	json_decref(red);
	return ok;
}

/* The content hash alone: the two spec values, and the output size. */
static void
content_hashes(void)
{
	char	 out[44], small[43];
	json_t	*ev;

	ev = load(MINIMAL_EVENT);
	if (mevent_content_hash(ev, out, sizeof(out)) == -1 ||
	    strcmp(out, MINIMAL_HASH) != 0)
		FAIL("minimal content hash: %s", out);
	if (mevent_content_hash(ev, small, sizeof(small)) == 0)
		FAIL("hash written into 43 bytes");
	/* unsigned, signatures and hashes are not covered. */
	json_object_set_new(ev, "unsigned", json_pack("{s:i}", "age", 7));
	json_object_set_new(ev, "hashes", json_pack("{s:s}", "sha256", "x"));
	json_object_set_new(ev, "signatures", json_pack("{s:{s:s}}", "a", "b",
	    "c"));
	if (mevent_content_hash(ev, out, sizeof(out)) == -1 ||
	    strcmp(out, MINIMAL_HASH) != 0)
		FAIL("hash covers unsigned, hashes or signatures: %s", out);
	/* ev is left as it was. */
	if (json_object_get(ev, "unsigned") == NULL ||
	    json_object_get(ev, "signatures") == NULL ||
	    strcmp(hash_of(ev), "x") != 0)
		FAIL("content hash changed its event");
	json_decref(ev);

	ev = load(MESSAGE_EVENT);
	if (mevent_content_hash(ev, out, sizeof(out)) == -1 ||
	    strcmp(out, MESSAGE_HASH) != 0)
		FAIL("message content hash: %s", out);
	json_decref(ev);

	/* No canonical form: no hash. */
	ev = load("{\"type\": \"X\", \"content\": {\"f\": 1.5}}");
	if (mevent_content_hash(ev, out, sizeof(out)) == 0 ||
	    mevent_hash(ev) == 0)
		FAIL("hashed a float");
	if (json_object_get(ev, "hashes") != NULL)
		FAIL("failed hash left hashes");
	json_decref(ev);
	if (mevent_content_hash(NULL, out, sizeof(out)) == 0)
		FAIL("hashed NULL");
}

/*
 * The event text signed with k under v<id>, its hash and signature
 * compared with hash and sig (what names it in failures).  Returns the
 * signed event.
 */
static json_t *
signed_as(const char *text, const char *id, const struct mkey *k,
    const char *hash, const char *sig, const char *what)
{
	json_t	*ev = load(text);

	if (mevent_sign(ev, version(id), SERVER, k) == -1)
		FAIL("v%s: sign %s", id, what);
	if (strcmp(hash_of(ev), hash) != 0)
		FAIL("v%s: %s hash %s", id, what, hash_of(ev));
	if (strcmp(sig_of(ev, SERVER, KEY_ID), sig) != 0)
		FAIL("v%s: %s signature %s", id, what,
		    sig_of(ev, SERVER, KEY_ID));
	return ev;
}

/* Spec: Appendices, "Event Signing", in every version v1-v10. */
static void
spec_vectors(const struct mkey *k)
{
	static const char	*ids[] = { "1", "3", "6", "9", "10" };
	json_t			*ev;
	const char		*body;
	size_t			 i;

	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		ev = signed_as(MINIMAL_EVENT, ids[i], k, MINIMAL_HASH,
		    MINIMAL_SIG, "minimal event");
		/* The signed event is the full one: unsigned stays. */
		if (json_integer_value(json_object_get(json_object_get(ev,
		    "unsigned"), "age_ts")) != 1000000)
			FAIL("v%s: unsigned lost", ids[i]);
		if (mevent_hash_check(ev) != 1)
			FAIL("v%s: minimal hash check", ids[i]);
		if (!verifies(ev, version(ids[i]), k))
			FAIL("v%s: minimal event does not verify", ids[i]);
		json_decref(ev);

		ev = signed_as(MESSAGE_EVENT, ids[i], k, MESSAGE_HASH,
		    MESSAGE_SIG, "message event");
		/* The body is hashed and kept, but not signed. */
		body = mjson_str(json_object_get(ev, "content"), "body");
		if (body == NULL ||
		    strcmp(body, "Here is the message content") != 0)
			FAIL("v%s: message body lost", ids[i]);
		if (mevent_hash_check(ev) != 1)
			FAIL("v%s: message hash check", ids[i]);
		if (!verifies(ev, version(ids[i]), k))
			FAIL("v%s: message event does not verify", ids[i]);
		/* The full event carries a signature of its redacted form. */
		if (mcrypto_verify_json(ev, SERVER, KEY_ID, k->pk) == 0)
			FAIL("v%s: signature covers the body", ids[i]);
		json_decref(ev);
	}
}

/* v11 and v12 drop "origin" before signing: another signature. */
static void
v11_signing(const struct mkey *k)
{
	static const char	*ids[] = { "11", "12" };
	json_t			*ev;
	size_t			 i;

	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		ev = signed_as(MINIMAL_EVENT, ids[i], k, MINIMAL_HASH,
		    MINIMAL_SIG_V11, "minimal event");
		if (!verifies(ev, version(ids[i]), k))
			FAIL("v%s: does not verify", ids[i]);
		/* Under v1 rules "origin" is covered: no match. */
		if (verifies(ev, version("10"), k))
			FAIL("v%s: verifies under v10 rules", ids[i]);
		/* "origin" is hashed though, so changing it is caught. */
		json_object_set_new(ev, "origin", json_string("elsewhere"));
		if (!verifies(ev, version(ids[i]), k))
			FAIL("v%s: signature covers origin", ids[i]);
		if (mevent_hash_check(ev) != 0)
			FAIL("v%s: hash misses origin", ids[i]);
		json_decref(ev);
	}
}

/* Signatures already there survive; signing again replaces ours. */
static void
existing_signatures(const struct mkey *k, const struct mkey *other)
{
	const struct mroomver	*rv = version("10");
	json_t			*ev, *red;

	ev = load(MINIMAL_EVENT);
	json_object_set_new(ev, "signatures", json_pack("{s:{s:s}, s:{s:s}}",
	    "elsewhere", "ed25519:a", "AAAA", SERVER, "ed25519:0", "BBBB"));
	if (mevent_sign(ev, rv, SERVER, k) == -1)
		FAIL("sign with signatures");
	if (strcmp(sig_of(ev, SERVER, KEY_ID), MINIMAL_SIG) != 0)
		FAIL("signature depends on other signatures");
	if (strcmp(sig_of(ev, "elsewhere", "ed25519:a"), "AAAA") != 0 ||
	    strcmp(sig_of(ev, SERVER, "ed25519:0"), "BBBB") != 0)
		FAIL("existing signatures lost");

	/* A second server signs the same event; both verify. */
	if (mevent_sign(ev, rv, "other.example", other) == -1)
		FAIL("second signature");
	if (strcmp(sig_of(ev, SERVER, KEY_ID), MINIMAL_SIG) != 0 ||
	    !verifies(ev, rv, k))
		FAIL("first signature lost");
	if ((red = mevent_redact(ev, rv)) == NULL ||
	    mcrypto_verify_json(red, "other.example", other->id,
	    other->pk) != 0)
		FAIL("second signature does not verify");
	json_decref(red);
	json_decref(ev);

	/* A stale signature of ours is replaced. */
	ev = load(MINIMAL_EVENT);
	json_object_set_new(ev, "signatures", json_pack("{s:{s:s}}", SERVER,
	    KEY_ID, "stale"));
	if (mevent_sign(ev, rv, SERVER, k) == -1 ||
	    strcmp(sig_of(ev, SERVER, KEY_ID), MINIMAL_SIG) != 0)
		FAIL("stale signature kept");
	json_decref(ev);

	/* Malformed "signatures", bad arguments. */
	ev = load(MINIMAL_EVENT);
	json_object_set_new(ev, "signatures", json_array());
	if (mevent_sign(ev, rv, SERVER, k) == 0)
		FAIL("signed with an array of signatures");
	if (mevent_sign(ev, NULL, SERVER, k) == 0 ||
	    mevent_sign(ev, rv, NULL, k) == 0 ||
	    mevent_sign(ev, rv, SERVER, NULL) == 0)
		FAIL("signed without version, server or key");
	json_decref(ev);
}

/* Tampering, absent and malformed hashes. */
static void
hash_check(void)
{
	json_t	*ev;

	ev = load(MESSAGE_EVENT);
	if (mevent_hash_check(ev) != 0)
		FAIL("hash check passed without hashes");
	if (mevent_hash(ev) == -1 || strcmp(hash_of(ev), MESSAGE_HASH) != 0)
		FAIL("mevent_hash: %s", hash_of(ev));
	if (mevent_hash_check(ev) != 1)
		FAIL("hash check failed");

	/* unsigned and signatures are not covered. */
	json_object_set_new(ev, "unsigned", json_pack("{s:i}", "age", 1));
	json_object_set_new(ev, "signatures", json_pack("{s:{s:s}}", "x", "y",
	    "z"));
	if (mevent_hash_check(ev) != 1)
		FAIL("hash covers unsigned or signatures");

	/* Tampered content, added and removed keys. */
	json_object_set_new(json_object_get(ev, "content"), "body",
	    json_string("Here is the message content!"));
	if (mevent_hash_check(ev) != 0)
		FAIL("tampered content passed");
	json_object_set_new(json_object_get(ev, "content"), "body",
	    json_string("Here is the message content"));
	if (mevent_hash_check(ev) != 1)
		FAIL("restored content failed");
	json_object_set_new(ev, "extra", json_true());
	if (mevent_hash_check(ev) != 0)
		FAIL("added key passed");
	json_object_del(ev, "extra");
	json_object_del(ev, "event_id");
	if (mevent_hash_check(ev) != 0)
		FAIL("removed key passed");
	json_object_set_new(ev, "event_id", json_string("$0:domain"));

	/* Padded base64 of the same hash is the same hash. */
	json_object_set_new(ev, "hashes", json_pack("{s:s}", "sha256",
	    MESSAGE_HASH "="));
	if (mevent_hash_check(ev) != 1)
		FAIL("padded hash refused");

	/* Wrong, short, long, garbage, wrong type. */
	json_object_set_new(ev, "hashes", json_pack("{s:s}", "sha256",
	    MINIMAL_HASH));
	if (mevent_hash_check(ev) != 0)
		FAIL("wrong hash passed");
	json_object_set_new(ev, "hashes", json_pack("{s:s}", "sha256",
	    "onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n"));
	if (mevent_hash_check(ev) != 0)
		FAIL("short hash passed");
	json_object_set_new(ev, "hashes", json_pack("{s:s}", "sha256",
	    MESSAGE_HASH "AAAA"));
	if (mevent_hash_check(ev) != 0)
		FAIL("long hash passed");
	json_object_set_new(ev, "hashes", json_pack("{s:s}", "sha256",
	    "not base64 at all, not at all, not at all!!"));
	if (mevent_hash_check(ev) != 0)
		FAIL("garbage hash passed");
	json_object_set_new(ev, "hashes", json_pack("{s:i}", "sha256", 1));
	if (mevent_hash_check(ev) != 0)
		FAIL("integer hash passed");
	json_object_set_new(ev, "hashes", json_string(MESSAGE_HASH));
	if (mevent_hash_check(ev) != 0)
		FAIL("string hashes passed");
	json_decref(ev);

	if (mevent_hash_check(NULL) != 0)
		FAIL("NULL passed");
}

int
main(void)
{
	struct mkey	*k, *other;

	k = spec_key(NULL);
	if ((other = mcrypto_key_generate("0")) == NULL) {
		fprintf(stderr, "FAIL key setup\n");
		return 1;
	}
	content_hashes();
	spec_vectors(k);
	v11_signing(k);
	existing_signatures(k, other);
	hash_check();
	mcrypto_key_free(other);
	mcrypto_key_free(k);
	return failed;
}
