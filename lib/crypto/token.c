/* Random strings for tokens and IDs, and how tokens are stored. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/crypto.h"

/*
 * Each character is drawn uniformly (randombytes_uniform avoids modulo
 * bias) from 62 symbols, so n characters carry n * 5.95 bits.
 */
char *
mcrypto_random_string(size_t n)
{
	static const char	 alpha[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	char			*s;
	size_t			 i;

	if (mcrypto_init() == -1 || n == SIZE_MAX)
		return NULL;
	if ((s = malloc(n + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		s[i] = alpha[randombytes_uniform(sizeof(alpha) - 1)];
	s[n] = '\0';
	return s;
}

/*
 * Tokens are stored hashed so a leaked database does not leak sessions.
 * They are long random strings, so a fast unsalted hash is enough, and it
 * keeps lookups by hash possible.
 */
char *
mcrypto_token_hash(const char *token)
{
	unsigned char	 md[32];
	char		*s;

	if (token == NULL)
		return NULL;
	mcrypto_sha256(token, strlen(token), md);
	s = mcrypto_b64_encode(md, sizeof(md));
	sodium_memzero(md, sizeof(md));
	return s;
}
