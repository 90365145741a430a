/* Unpadded base64 (Matrix appendix "Unpadded Base64"), both alphabets; RFC 4648's padded form. */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/crypto.h"

static char *
b64_encode(const unsigned char *p, size_t n, int variant)
{
	char	*s;
	size_t	 sz;

	if (mcrypto_init() == -1)
		return NULL;
	/* sodium_base64_ENCODED_LEN would overflow for absurd sizes. */
	if (n > (SIZE_MAX / 4) * 3 - 4)
		return NULL;
	sz = sodium_base64_ENCODED_LEN(n, variant);
	if ((s = malloc(sz)) == NULL)
		return NULL;
	/* With n == 0, p may be NULL; libsodium does not read it then. */
	sodium_bin2base64(s, sz, p, n, variant);
	return s;
}

char *
mcrypto_b64_encode(const unsigned char *p, size_t n)
{
	return b64_encode(p, n, sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
}

char *
mcrypto_b64_encode_padded(const unsigned char *p, size_t n)
{
	return b64_encode(p, n, sodium_base64_VARIANT_ORIGINAL);
}

char *
mcrypto_b64url_encode(const unsigned char *p, size_t n)
{
	return b64_encode(p, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* The 6-bit value of c in either alphabet, or -1. */
static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

/*
 * Spec: implementations "SHOULD accept input with or without padding".
 * Accepts the standard and the URL-safe alphabet (RFC 4648 sections 4
 * and 5).  Padding, if present, must make the length a multiple of four.
 * Unused low bits of the last character are ignored rather than required
 * to be zero, as Python's decoder (Synapse) does: the spec's own signing
 * key seed "...XA1" has them set.  No whitespace is allowed.  Returns the
 * number of bytes written to out, or -1 if s is not base64 or does not
 * fit in outsz bytes.
 */
int
mcrypto_b64_decode(const char *s, unsigned char *out, size_t outsz)
{
	size_t		 len, pad = 0, i, o = 0;
	unsigned int	 acc = 0, bits = 0;
	int		 v;

	if (s == NULL)
		return -1;
	len = strlen(s);
	while (pad < 2 && len > 0 && s[len - 1] == '=') {
		len--;
		pad++;
	}
	if (pad > 0 && (len + pad) % 4 != 0)
		return -1;
	if (len % 4 == 1)
		return -1;
	if (len / 4 * 3 + 2 > (size_t)INT_MAX)
		return -1;
	for (i = 0; i < len; i++) {
		if ((v = b64_value((unsigned char)s[i])) == -1)
			return -1;
		acc = (acc << 6) | (unsigned int)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outsz)
				return -1;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1U << bits) - 1;
		}
	}
	return (int)o;
}
