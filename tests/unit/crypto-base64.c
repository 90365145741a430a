/* Unpadded base64 against the spec's examples (Appendices, "Unpadded Base64"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"

/* Decodes s and compares with want (wantlen -1: must fail). */
static void
dec(const char *s, const char *want, int wantlen)
{
	unsigned char	 out[64];
	int		 n;

	n = mcrypto_b64_decode(s, out, sizeof(out));
	if (n != wantlen ||
	    (n > 0 && want != NULL && memcmp(out, want, (size_t)n) != 0))
		FAIL("decode \"%s\": got %d bytes, want %d", s, n, wantlen);
}

/*
 * The two alphabets: the characters for 62 and 63 that every byte value
 * brings out, and the characters never written.
 */
static const struct {
	const char	*name;
	char		*(*encode)(const unsigned char *, size_t);
	const char	*has;
	const char	*hasnot;
} alphabets[] = {
	{ "standard", mcrypto_b64_encode, "+/", "=" },
	{ "URL-safe", mcrypto_b64url_encode, "-_", "+/=" },
};

int
main(void)
{
	static const struct {
		const char	*plain;
		const char	*b64;
	} spec[] = {
		{ "", "" },
		{ "f", "Zg" },
		{ "fo", "Zm8" },
		{ "foo", "Zm9v" },
		{ "foob", "Zm9vYg" },
		{ "fooba", "Zm9vYmE" },
		{ "foobar", "Zm9vYmFy" },
	};
	static const char	*padded[] = {
		"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy",
	};
	unsigned char		 all[256], back[256], small[2];
	char			*s;
	size_t			 i, j;

	if (mcrypto_init() == -1)
		return 1;
	for (i = 0; i < sizeof(spec) / sizeof(spec[0]); i++) {
		for (j = 0; j < sizeof(alphabets) / sizeof(alphabets[0]); j++) {
			s = alphabets[j].encode(
			    (const unsigned char *)spec[i].plain,
			    strlen(spec[i].plain));
			if (s == NULL || strcmp(s, spec[i].b64) != 0)
				FAIL("%s encode \"%s\": got %s",
				    alphabets[j].name, spec[i].plain,
				    s == NULL ? "NULL" : s);
			free(s);
		}
		/* Spec: "SHOULD accept input with or without padding". */
		dec(spec[i].b64, spec[i].plain, (int)strlen(spec[i].plain));
		dec(padded[i], spec[i].plain, (int)strlen(spec[i].plain));
	}

	/* Every byte value: the two alphabets differ only in 62 and 63. */
	for (i = 0; i < sizeof(all); i++)
		all[i] = (unsigned char)i;
	for (j = 0; j < sizeof(alphabets) / sizeof(alphabets[0]); j++) {
		s = alphabets[j].encode(all, sizeof(all));
		if (s == NULL || strchr(s, alphabets[j].has[0]) == NULL ||
		    strchr(s, alphabets[j].has[1]) == NULL ||
		    strpbrk(s, alphabets[j].hasnot) != NULL ||
		    strlen(s) != 342 ||
		    mcrypto_b64_decode(s, back, sizeof(back)) != 256 ||
		    memcmp(all, back, sizeof(all)) != 0)
			FAIL("%s round trip", alphabets[j].name);
		free(s);
	}
	dec("+/8", "\xfb\xff", 2);
	dec("-_8", "\xfb\xff", 2);
	dec("-_8=", "\xfb\xff", 2);

	/* Unused low bits set (as in the spec's signing key seed). */
	dec("Zh", "f", 1);
	dec("Zm9=", "fo", 2);

	/* Not base64. */
	dec("Z", NULL, -1);
	dec("Zm9vY", NULL, -1);
	dec("Zg=", NULL, -1);
	dec("Zg===", NULL, -1);
	dec("Zm9v=", NULL, -1);
	dec("Zm9v==", NULL, -1);
	dec("=", NULL, -1);
	dec("==", NULL, -1);
	dec("Zg==Zg==", NULL, -1);
	dec("Zm 9v", NULL, -1);
	dec("Zm9v\n", NULL, -1);
	dec("Zm9*", NULL, -1);
	dec("Zm9v\xc3\xa9", NULL, -1);
	if (mcrypto_b64_decode(NULL, small, sizeof(small)) != -1)
		FAIL("decoded NULL");

	/* The output size is honoured. */
	if (mcrypto_b64_decode("Zm9v", small, sizeof(small)) != -1)
		FAIL("overflowed the output buffer");
	if (mcrypto_b64_decode("Zm8", small, sizeof(small)) != 2)
		FAIL("exact output size refused");
	if (mcrypto_b64_decode("", NULL, 0) != 0)
		FAIL("empty input into no buffer");
	return failed;
}
