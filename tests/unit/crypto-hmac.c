/* HMAC-SHA1 (RFC 2202), SHA-256, random strings and token hashes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"

static void
hmac(const void *key, size_t keysz, const char *msg, size_t msgsz,
    const char *want)
{
	char	 out[41];

	memset(out, 'x', sizeof(out));
	mcrypto_hmac_sha1_hex(key, keysz, msg, msgsz, out);
	if (strcmp(out, want) != 0)
		FAIL("HMAC-SHA1 of \"%.*s\": got %s, want %s", (int)msgsz, msg,
		    out, want);
}

static void
random_strings(void)
{
	char	*a, *b;
	size_t	 i, n;

	for (n = 0; n < 70; n += 7) {
		if ((a = mcrypto_random_string(n)) == NULL) {
			FAIL("random_string(%zu)", n);
			continue;
		}
		if (strlen(a) != n)
			FAIL("random_string(%zu) has length %zu", n, strlen(a));
		if (strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789") != n)
			FAIL("random_string outside [A-Za-z0-9]: %s", a);
		free(a);
	}
	/* Two 32-character strings colliding would mean no randomness. */
	a = mcrypto_random_string(32);
	b = mcrypto_random_string(32);
	if (a == NULL || b == NULL || strcmp(a, b) == 0)
		FAIL("random strings repeat");
	free(a);
	free(b);

	/* 6200 characters: every symbol of the 62 should show up. */
	if ((a = mcrypto_random_string(6200)) == NULL)
		FAIL("long random string");
	else {
		for (i = 0; i < 62; i++) {
			char c = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "abcdefghijklmnopqrstuvwxyz0123456789"[i];
			if (strchr(a, c) == NULL)
				FAIL("'%c' never drawn", c);
		}
		free(a);
	}
}

int
main(void)
{
	unsigned char	 key[20], md[32], data[50];
	char		*h, *h2;
	unsigned char	 raw[40];

	if (mcrypto_init() == -1)
		return 1;

	/* RFC 2202, section 3, test cases 1 to 3. */
	memset(key, 0x0b, 20);
	hmac(key, 20, "Hi There", 8,
	    "b617318655057264e28bc0b6fb378c8ef146be00");
	hmac("Jefe", 4, "what do ya want for nothing?", 28,
	    "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
	memset(key, 0xaa, 20);
	memset(data, 0xdd, 50);
	hmac(key, 20, (const char *)data, 50,
	    "125d7342b9ac11cd91a39af48aa17b4f63f175d3");
	/* Empty key and message (a well-known value). */
	hmac(NULL, 0, NULL, 0, "fbdb1d1b18aa6c08324b7d64b71fb76370690e1d");

	/*
	 * The raw digest, padded base64 as a TURN REST password is made
	 * (coturn's --use-auth-secret): RFC 2202 case 2, then a username
	 * "expiry:user_id" under a shared secret (Python's hmac and base64).
	 */
	h = NULL;
	if (mcrypto_hmac_sha1("Jefe", 4, "what do ya want for nothing?", 28, raw) == -1 ||
	    (h = mcrypto_b64_encode_padded(raw, 20)) == NULL ||
	    strcmp(h, "7/zfauXrL6LSdBbV8YTfnCWafHk=") != 0)
		FAIL("raw HMAC-SHA1, RFC 2202 case 2: %s", h == NULL ? "NULL" : h);
	free(h);
	h = NULL;
	if (mcrypto_hmac_sha1("coturn-secret", 13, "1600000000:@alice:example.org", 29,
	    raw) == -1 || (h = mcrypto_b64_encode_padded(raw, 20)) == NULL ||
	    strcmp(h, "uVNFipTpT2e9kdkvkQVGAvfc4Fk=") != 0)
		FAIL("TURN password: %s", h == NULL ? "NULL" : h);
	free(h);

	/* SHA-256 of "abc" (FIPS 180-2, appendix B.1). */
	mcrypto_sha256("abc", 3, md);
	if ((h = mcrypto_b64_encode(md, 32)) == NULL ||
	    strcmp(h, "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0") != 0)
		FAIL("sha256(abc) = %s", h == NULL ? "NULL" : h);
	free(h);

	/* A token hash is the unpadded base64 of SHA-256 of the token. */
	if ((h = mcrypto_token_hash("abc")) == NULL ||
	    strcmp(h, "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0") != 0)
		FAIL("token_hash(abc) = %s", h == NULL ? "NULL" : h);
	if (h == NULL || mcrypto_b64_decode(h, raw, sizeof(raw)) != 32)
		FAIL("token hash is not 32 bytes");
	h2 = mcrypto_token_hash("abd");
	if (h2 == NULL || h == NULL || strcmp(h, h2) == 0)
		FAIL("token hashes collide");
	free(h2);
	h2 = mcrypto_token_hash("abc");
	if (h2 == NULL || h == NULL || strcmp(h, h2) != 0)
		FAIL("token hash is not deterministic");
	free(h2);
	free(h);
	if (mcrypto_token_hash(NULL) != NULL)
		FAIL("token_hash(NULL)");

	random_strings();
	return failed;
}
