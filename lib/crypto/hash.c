/* SHA-256, SHA-1 and HMAC-SHA1. */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

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
 * SHA-1, which state resolution v1 orders events of one depth by (room
 * version 1, "State resolution").
 */
void
mcrypto_sha1_hex(const void *msg, size_t msgsz, char out[41])
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0;
	size_t			 i;

	out[0] = '\0';
	if (EVP_Digest(msg, msgsz, md, &mdlen, EVP_sha1(), NULL) != 1 || mdlen != 20)
		return;
	for (i = 0; i < 20; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[40] = '\0';
}

/*
 * HMAC-SHA1 (RFC 2104), which Synapse's shared-secret registration
 * (POST /_synapse/admin/v1/register) uses for its "mac" field.  OpenSSL
 * can only fail here on allocation failure or an absurd key size; then
 * out is the empty string, which equals no 40-digit MAC, so a caller
 * comparing against it fails closed.
 */
/*
 * The raw 20-byte HMAC-SHA1 (RFC 2104) of msg under key into md.  0, or
 * -1 on allocation failure or an absurd key size, with md zeroed.
 */
int
mcrypto_hmac_sha1(const void *key, size_t keysz, const void *msg, size_t msgsz,
    unsigned char md[20])
{
	static const unsigned char	 empty[1];
	unsigned char			 buf[EVP_MAX_MD_SIZE];
	unsigned int			 mdlen = 0;

	memset(md, 0, 20);
	if (keysz > INT_MAX)
		return -1;
	/* Empty inputs still point somewhere: no OpenSSL has to handle NULL. */
	if (key == NULL)
		key = empty;
	if (msg == NULL)
		msg = empty;
	if (HMAC(EVP_sha1(), key, (int)keysz, msg, msgsz, buf, &mdlen) == NULL ||
	    mdlen != 20) {
		sodium_memzero(buf, sizeof(buf));
		return -1;
	}
	memcpy(md, buf, 20);
	sodium_memzero(buf, sizeof(buf));
	return 0;
}

/*
 * HMAC-SHA1 as hex, which Synapse's shared-secret registration
 * (POST /_synapse/admin/v1/register) uses for its "mac" field.  On
 * failure out is the empty string, which equals no 40-digit MAC, so a
 * caller comparing against it fails closed.
 */
void
mcrypto_hmac_sha1_hex(const void *key, size_t keysz, const void *msg,
    size_t msgsz, char out[41])
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 md[20];
	size_t			 i;

	out[0] = '\0';
	if (mcrypto_hmac_sha1(key, keysz, msg, msgsz, md) == -1)
		return;
	for (i = 0; i < 20; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[40] = '\0';
	sodium_memzero(md, sizeof(md));
}

/*
 * Reads in to its end in 64 kB steps, writing each to out unless out is
 * -1, and hashes what passed: a file of any size is hashed in a small,
 * fixed amount of memory.
 */
int
mcrypto_sha256_copy(int in, int out, unsigned char hash[32], int64_t *size)
{
	crypto_hash_sha256_state	 st;
	unsigned char			 buf[65536];
	ssize_t				 n;

	*size = 0;
	crypto_hash_sha256_init(&st);
	for (;;) {
		if ((n = read(in, buf, sizeof(buf))) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		crypto_hash_sha256_update(&st, buf, (unsigned long long)n);
		*size += n;
		for (ssize_t o = 0, w; out != -1 && o < n; o += w)
			if ((w = write(out, buf + o, (size_t)(n - o))) == -1) {
				if (errno != EINTR)
					return -1;
				w = 0;
			}
	}
	crypto_hash_sha256_final(&st, hash);
	return 0;
}
