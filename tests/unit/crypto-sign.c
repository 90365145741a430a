/* Signing JSON against the spec's test vectors; key files. */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testlib.h"

/* Signs in with key and compares the signature with want, then verifies. */
static void
sign_vector(const char *in, const struct mkey *k, const char *want)
{
	json_t	*v = load(in);

	if (mcrypto_sign_json(v, SERVER, k) == -1)
		FAIL("sign %s", in);
	else if (strcmp(sig_of(v, SERVER, KEY_ID), want) != 0)
		FAIL("sign %s:\n want %s\n got  %s", in, want,
		    sig_of(v, SERVER, KEY_ID));
	if (mcrypto_verify_json(v, SERVER, KEY_ID, k->pk) != 0)
		FAIL("verify %s", in);
	json_decref(v);
}

/*
 * The content hash (Server-Server API, "Calculating the content hash"):
 * SHA-256 of the canonical event without unsigned, signatures and hashes,
 * in unpadded base64.  Checked against the vectors' "hashes" value and
 * stored in the event, as the signing vectors expect.
 */
static void
content_hash(json_t *ev, const char *want)
{
	unsigned char	 md[32];
	json_t		*copy = json_deep_copy(ev);
	char		*canon, *b64 = NULL;
	size_t		 len;

	json_object_del(copy, "unsigned");
	json_object_del(copy, "signatures");
	json_object_del(copy, "hashes");
	if ((canon = mjson_canonical(copy, &len)) == NULL) {
		FAIL("canonical event");
		goto out;
	}
	mcrypto_sha256(canon, len, md);
	b64 = mcrypto_b64_encode(md, sizeof(md));
	if (b64 == NULL || strcmp(b64, want) != 0)
		FAIL("content hash: want %s, got %s", want,
		    b64 == NULL ? "NULL" : b64);
	json_object_set_new(ev, "hashes", json_pack("{s:s}", "sha256", want));
out:
	free(canon);
	free(b64);
	json_decref(copy);
}

static void
vectors(const struct mkey *k)
{
	json_t	*ev, *red;

	/* Spec: "JSON Signing". */
	sign_vector("{}", k, "K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7"
	    "Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ");
	sign_vector("{\"one\": 1, \"two\": \"Two\"}", k,
	    "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7v"
	    "BZhG6kYdD13EIMJpvhJI+6Bw");

	/*
	 * Spec: "Event Signing", minimal event.  Redacting it changes
	 * nothing the signature covers, so it is signed as it is.
	 */
	ev = load(MINIMAL_EVENT);
	content_hash(ev, MINIMAL_HASH);
	if (mcrypto_sign_json(ev, SERVER, k) == -1 ||
	    strcmp(sig_of(ev, SERVER, KEY_ID), MINIMAL_SIG) != 0)
		FAIL("event signing (minimal): got %s", sig_of(ev, SERVER, KEY_ID));
	/* "unsigned" stays on the signed event. */
	if (json_integer_value(json_object_get(json_object_get(ev, "unsigned"),
	    "age_ts")) != 1000000)
		FAIL("unsigned lost");
	json_decref(ev);

	/*
	 * Spec: "Event Signing", redactable content.  The signature covers
	 * the redacted event: for m.room.message the content is emptied
	 * (redaction is the events module's job; done by hand here).
	 */
	ev = load(MESSAGE_EVENT);
	content_hash(ev, MESSAGE_HASH);
	red = json_deep_copy(ev);
	json_object_set_new(red, "content", json_object());
	json_object_del(red, "unsigned");
	if (mcrypto_sign_json(red, SERVER, k) == -1 ||
	    strcmp(sig_of(red, SERVER, KEY_ID), MESSAGE_SIG) != 0)
		FAIL("event signing (redactable): got %s",
		    sig_of(red, SERVER, KEY_ID));
	if (mcrypto_verify_json(red, SERVER, KEY_ID, k->pk) != 0)
		FAIL("verify redacted event");
	/* The unredacted event does not verify: its content is covered. */
	json_object_set(ev, "signatures", json_object_get(red, "signatures"));
	if (mcrypto_verify_json(ev, SERVER, KEY_ID, k->pk) == 0)
		FAIL("unredacted event verified");
	json_decref(red);
	json_decref(ev);
}

/* Existing signatures and "unsigned" survive; tampering is caught. */
static void
roundtrip(const struct mkey *k, const struct mkey *other)
{
	json_t		*v;
	const char	*want = "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+s"
	    "N6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw";

	v = load("{\"two\": \"Two\", \"one\": 1, \"unsigned\": {\"x\": 1.5}, "
	    "\"signatures\": {\"elsewhere\": {\"ed25519:a\": \"AAAA\"}, "
	    "\"domain\": {\"ed25519:0\": \"BBBB\"}}}");
	/* "unsigned" is not covered, so even a real there is fine. */
	if (mcrypto_sign_json(v, SERVER, k) == -1)
		FAIL("sign with existing signatures");
	if (strcmp(sig_of(v, SERVER, KEY_ID), want) != 0)
		FAIL("signature depends on signatures/unsigned");
	if (strcmp(sig_of(v, "elsewhere", "ed25519:a"), "AAAA") != 0 ||
	    strcmp(sig_of(v, SERVER, "ed25519:0"), "BBBB") != 0)
		FAIL("existing signatures lost");
	if (json_object_get(v, "unsigned") == NULL)
		FAIL("unsigned lost");
	if (mcrypto_verify_json(v, SERVER, KEY_ID, k->pk) != 0)
		FAIL("verify");

	/* A second server signs too; both verify. */
	if (mcrypto_sign_json(v, "other.example", other) == -1 ||
	    mcrypto_verify_json(v, "other.example", other->id, other->pk) != 0 ||
	    mcrypto_verify_json(v, SERVER, KEY_ID, k->pk) != 0)
		FAIL("second signature");

	/* Wrong key, server, key ID, algorithm, or a bad signature. */
	if (mcrypto_verify_json(v, SERVER, KEY_ID, other->pk) == 0)
		FAIL("verified with the wrong public key");
	if (mcrypto_verify_json(v, "elsewhere", KEY_ID, k->pk) == 0 ||
	    mcrypto_verify_json(v, "nowhere", KEY_ID, k->pk) == 0 ||
	    mcrypto_verify_json(v, SERVER, "ed25519:2", k->pk) == 0 ||
	    mcrypto_verify_json(v, SERVER, "ed25519:0", k->pk) == 0)
		FAIL("verified a missing or garbage signature");
	json_object_set_new(json_object_get(json_object_get(v, "signatures"),
	    SERVER), "curve25519:1", json_string(sig_of(v, SERVER, KEY_ID)));
	if (mcrypto_verify_json(v, SERVER, "curve25519:1", k->pk) == 0)
		FAIL("verified an unknown algorithm");

	/* Changing "unsigned" keeps it valid; changing anything else not. */
	json_object_set_new(v, "unsigned", json_object());
	if (mcrypto_verify_json(v, SERVER, KEY_ID, k->pk) != 0)
		FAIL("unsigned is covered");
	json_object_set_new(v, "two", json_string("Three"));
	if (mcrypto_verify_json(v, SERVER, KEY_ID, k->pk) == 0)
		FAIL("tampered value verified");
	json_object_set_new(v, "two", json_string("Two"));
	if (mcrypto_verify_json(v, SERVER, KEY_ID, k->pk) != 0)
		FAIL("restored value does not verify");
	json_object_set_new(v, "three", json_integer(3));
	if (mcrypto_verify_json(v, SERVER, KEY_ID, k->pk) == 0)
		FAIL("added key verified");
	json_decref(v);

	/* Not signable. */
	v = load("{\"a\": 0.5}");
	if (mcrypto_sign_json(v, SERVER, k) == 0)
		FAIL("signed a real");
	json_decref(v);
	v = load("{\"signatures\": []}");
	if (mcrypto_sign_json(v, SERVER, k) == 0)
		FAIL("signed with non-object signatures");
	json_decref(v);
	v = load("[]");
	if (mcrypto_sign_json(v, SERVER, k) == 0)
		FAIL("signed an array");
	json_decref(v);
}

static int
same_key(const struct mkey *a, const struct mkey *b)
{
	return strcmp(a->id, b->id) == 0 &&
	    memcmp(a->pk, b->pk, sizeof(a->pk)) == 0 &&
	    memcmp(a->sk, b->sk, 64) == 0;
}

static void
write_file(const char *path, const char *s)
{
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL || fputs(s, f) == EOF ||
	    fclose(f) == EOF) {
		fprintf(stderr, "FAIL: cannot write %s\n", path);
		exit(1);
	}
}

static void
keyfiles(const struct mkey *k)
{
	static const struct {
		const char	*text;
		const char	*what;
	} bad[] = {
		{ "ed25519 1 " SEED_B64 "AA\n", "a long seed" },
		{ "ed25519 1 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW\n",
		  "a short seed" },
		{ "curve25519 1 " SEED_B64 "\n", "another algorithm" },
		{ "ed25519 a:b " SEED_B64 "\n", "a bad version" },
		{ "ed25519 1 " SEED_B64 " extra\n",
		  "a line with extra fields" },
		{ "", "an empty file" },
	};
	char		 dir[] = "/tmp/myelin-crypto-sign.XXXXXX";
	char		 path[128], buf[256];
	struct mkey	*g = NULL, *l = NULL;
	struct stat	 st;
	FILE		*f;
	size_t		 n, i;

	if (mkdtemp(dir) == NULL) {
		FAIL("mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/signing.key", dir);

	/*
	 * The spec's seed string has non-zero unused bits in its last
	 * character; written back canonically it ends in "0", which Synapse
	 * reads as the same seed.
	 */
	if (mcrypto_key_save(k, path) == -1)
		FAIL("save");
	if (stat(path, &st) == -1 || (st.st_mode & 0777) != 0600)
		FAIL("key file mode %o", (unsigned)(st.st_mode & 0777));
	if ((f = fopen(path, "r")) == NULL)
		FAIL("open saved key");
	else {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		fclose(f);
		if (strcmp(buf, "ed25519 1 "
		    "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA0\n") != 0)
			FAIL("key file reads %s", buf);
	}
	if ((l = mcrypto_key_load(path)) == NULL || !same_key(k, l))
		FAIL("load saved key");
	mcrypto_key_free(l);

	/* Synapse's file as the spec writes the seed; CRLF, more lines. */
	write_file(path, "\ned25519  1\t" SEED_B64 "\r\ned25519 2 AAAA\n");
	if ((l = mcrypto_key_load(path)) == NULL || !same_key(k, l))
		FAIL("load Synapse-style key");
	mcrypto_key_free(l);

	/* A generated key, saved over the old file. */
	if ((g = mcrypto_key_generate("a_AbC9")) == NULL ||
	    strcmp(g->id, "ed25519:a_AbC9") != 0)
		FAIL("generate");
	else if (mcrypto_key_save(g, path) == -1 ||
	    (l = mcrypto_key_load(path)) == NULL || !same_key(g, l))
		FAIL("generated key round trip");
	mcrypto_key_free(l);
	mcrypto_key_free(g);

	/* Bad files. */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(path, bad[i].text);
		if ((l = mcrypto_key_load(path)) != NULL)
			FAIL("loaded %s", bad[i].what);
		mcrypto_key_free(l);
	}
	unlink(path);
	if ((l = mcrypto_key_load(path)) != NULL)
		FAIL("loaded a missing file");
	mcrypto_key_free(l);

	/* Saving into a missing directory fails and leaves nothing. */
	snprintf(path, sizeof(path), "%s/no/signing.key", dir);
	if (mcrypto_key_save(k, path) == 0)
		FAIL("saved into a missing directory");
	if (rmdir(dir) == -1)
		FAIL("temporary files left in %s", dir);
}

int
main(void)
{
	unsigned char	 seed[32];
	struct mkey	*k, *other, *bad;
	char		*pub;

	if (mcrypto_init() == -1) {
		fprintf(stderr, "FAIL mcrypto_init\n");
		return 1;
	}
	k = spec_key(seed);
	if ((other = mcrypto_key_generate("0")) == NULL) {
		fprintf(stderr, "FAIL key setup\n");
		return 1;
	}
	if (strcmp(k->id, KEY_ID) != 0)
		FAIL("key id %s", k->id);
	if ((pub = mcrypto_key_public_b64(k)) == NULL || strlen(pub) != 43)
		FAIL("public key base64 %s", pub == NULL ? "NULL" : pub);
	free(pub);

	/* Versions outside [a-zA-Z0-9_] or too long for the ID. */
	if ((bad = mcrypto_key_from_seed(seed, "")) != NULL ||
	    (bad = mcrypto_key_from_seed(seed, "a:b")) != NULL ||
	    (bad = mcrypto_key_from_seed(seed, "a b")) != NULL ||
	    (bad = mcrypto_key_from_seed(seed, NULL)) != NULL ||
	    (bad = mcrypto_key_generate(
	    "01234567890123456789012345678901234567890123456789012345")) != NULL)
		FAIL("bad version accepted");
	mcrypto_key_free(bad);
	/* The longest that fits: 8 + 55 characters and the NUL in id[64]. */
	if ((bad = mcrypto_key_from_seed(seed,
	    "0123456789012345678901234567890123456789012345678901234")) == NULL)
		FAIL("longest version refused");
	mcrypto_key_free(bad);

	vectors(k);
	roundtrip(k, other);
	keyfiles(k);

	mcrypto_key_free(other);
	mcrypto_key_free(k);
	mcrypto_key_free(NULL);
	return failed;
}
