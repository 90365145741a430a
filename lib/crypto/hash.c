/* SHA-256 and HMAC-SHA1. */
#include <limits.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include "crypto/crypto.h"

void
mcrypto_sha256(const void *buf, size_t len, unsigned char out[32])
{
	crypto_hash_sha256(out, buf, len);
}

/*
 * HMAC-SHA1 (RFC 2104), which Synapse's shared-secret registration
 * (POST /_synapse/admin/v1/register) uses for its "mac" field.  OpenSSL
 * can only fail here on allocation failure or an absurd key size; then
 * out is the empty string, which equals no 40-digit MAC, so a caller
 * comparing against it fails closed.
 */
void
mcrypto_hmac_sha1_hex(const void *key, size_t keysz, const void *msg,
    size_t msgsz, char out[41])
{
	static const char		 hex[] = "0123456789abcdef";
	static const unsigned char	 empty[1];
	unsigned char			 md[EVP_MAX_MD_SIZE];
	unsigned int			 mdlen = 0;
	size_t				 i;

	out[0] = '\0';
	if (keysz > INT_MAX)
		return;
	/* Empty inputs still point somewhere: no OpenSSL has to handle NULL. */
	if (key == NULL)
		key = empty;
	if (msg == NULL)
		msg = empty;
	if (HMAC(EVP_sha1(), key, (int)keysz, msg, msgsz, md, &mdlen) == NULL ||
	    mdlen != 20)
		return;
	for (i = 0; i < 20; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[40] = '\0';
	sodium_memzero(md, sizeof(md));
}
