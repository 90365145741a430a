/* ed25519 signing keys: generation, Synapse-compatible key files. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <sodium.h>

#include "crypto/crypto.h"

#define KEY_ALG		"ed25519"
#define KEY_FILE_MAX	4096	/* Synapse writes one short line per key. */

/*
 * Spec: Appendices, "Signing Details": a key ID is the algorithm, a colon
 * and a version; Server-Server API says the version is [a-zA-Z0-9_].
 * Returns 1 if version is valid and the ID fits struct mkey, else 0.
 */
static int
version_check(const char *v)
{
	size_t	 i;

	if (v == NULL || *v == '\0')
		return 0;
	for (i = 0; v[i] != '\0'; i++)
		if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') ||
		    (v[i] >= '0' && v[i] <= '9') || v[i] == '_'))
			return 0;
	return sizeof(KEY_ALG ":") - 1 + i < sizeof(((struct mkey *)0)->id);
}

/*
 * Returns a key derived from seed, the secret half in sodium_malloc
 * memory, read-only; free it with mcrypto_key_free().  NULL on a bad
 * version or allocation failure.
 */
struct mkey *
mcrypto_key_from_seed(const unsigned char seed[32], const char *version)
{
	struct mkey	*k = NULL;

	if (version == NULL || !version_check(version) || mcrypto_init() == -1)
		goto fail;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		goto fail;
	if ((k->sk = sodium_malloc(crypto_sign_SECRETKEYBYTES)) == NULL)
		goto fail;
	if (crypto_sign_seed_keypair(k->pk, k->sk, seed) != 0)
		goto fail;
	sodium_mprotect_readonly(k->sk);
	snprintf(k->id, sizeof(k->id), "%s:%s", KEY_ALG, version);
	return k;
fail:
	mcrypto_key_free(k);
	return NULL;
}

struct mkey *
mcrypto_key_generate(const char *version)
{
	unsigned char	 seed[crypto_sign_SEEDBYTES];
	struct mkey	*k;

	if (mcrypto_init() == -1)
		return NULL;
	randombytes_buf(seed, sizeof(seed));
	k = mcrypto_key_from_seed(seed, version);
	sodium_memzero(seed, sizeof(seed));
	return k;
}

void
mcrypto_key_free(struct mkey *k)
{
	if (k == NULL)
		return;
	sodium_free(k->sk);
	free(k);
}

char *
mcrypto_key_public_b64(const struct mkey *k)
{
	return mcrypto_b64_encode(k->pk, sizeof(k->pk));
}

/*
 * Reads the first key of a Synapse signing.key file: lines of
 * "<alg> <version> <base64 seed>" split on white space.  Only ed25519 is
 * known; blank lines before the key are skipped.  Returns NULL if the
 * file cannot be read or its first key is malformed (errno is set to
 * EINVAL then).
 */
struct mkey *
mcrypto_key_load(const char *path)
{
	char		 buf[KEY_FILE_MAX + 1];
	unsigned char	 seed[crypto_sign_SEEDBYTES + 3];
	char		*p, *alg, *ver, *b64, *save = NULL;
	struct mkey	*k = NULL;
	size_t		 len = 0;
	ssize_t		 r;
	int		 fd, n;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	while (len < sizeof(buf) - 1) {
		r = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			n = errno;
			close(fd);
			errno = n;
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = '\0';
	errno = EINVAL;
	/* The first non-blank line; anything after it is ignored. */
	p = buf + strspn(buf, " \t\r\n");
	p[strcspn(p, "\r\n")] = '\0';
	if ((alg = strtok_r(p, " \t", &save)) == NULL ||
	    (ver = strtok_r(NULL, " \t", &save)) == NULL ||
	    (b64 = strtok_r(NULL, " \t", &save)) == NULL ||
	    strtok_r(NULL, " \t", &save) != NULL)
		goto out;
	if (strcmp(alg, KEY_ALG) != 0)
		goto out;
	/* seed has room for more so that a longer key is seen as an error. */
	n = mcrypto_b64_decode(b64, seed, sizeof(seed));
	if (n != crypto_sign_SEEDBYTES)
		goto out;
	k = mcrypto_key_from_seed(seed, ver);
out:
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(buf, sizeof(buf));
	return k;
}

/*
 * Writes the key in Synapse's format to a temporary file next to path
 * (mkstemp creates it with mode 0600), then renames it over path, so a
 * crash leaves either the old key or the new one.  0 or -1 with errno.
 */
int
mcrypto_key_save(const struct mkey *k, const char *path)
{
	unsigned char	 seed[crypto_sign_SEEDBYTES];
	char		 b64[sodium_base64_ENCODED_LEN(crypto_sign_SEEDBYTES,
			    sodium_base64_VARIANT_ORIGINAL_NO_PADDING)];
	char		 line[sizeof(b64) + sizeof(k->id) + 8];
	char		*tmp = NULL;
	const char	*ver;
	size_t		 off = 0, len;
	ssize_t		 w;
	int		 fd = -1, rc = -1, saved, n;

	if (strncmp(k->id, KEY_ALG ":", sizeof(KEY_ALG)) != 0) {
		errno = EINVAL;
		return -1;
	}
	ver = k->id + sizeof(KEY_ALG);
	crypto_sign_ed25519_sk_to_seed(seed, k->sk);
	sodium_bin2base64(b64, sizeof(b64), seed, sizeof(seed),
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	n = snprintf(line, sizeof(line), "%s %s %s\n", KEY_ALG, ver, b64);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		errno = EINVAL;
		goto out;
	}
	len = (size_t)n;
	if (asprintf(&tmp, "%s.XXXXXX", path) == -1) {
		tmp = NULL;
		goto out;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		free(tmp);
		tmp = NULL;
		goto out;
	}
	while (off < len) {
		if ((w = write(fd, line + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		off += (size_t)w;
	}
	if (fchmod(fd, 0600) == -1 || fsync(fd) == -1)
		goto out;
	if (close(fd) == -1) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto out;
	free(tmp);
	tmp = NULL;
	rc = 0;
out:
	saved = errno;
	if (fd != -1)
		close(fd);
	if (tmp != NULL) {
		unlink(tmp);
		free(tmp);
	}
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(b64, sizeof(b64));
	sodium_memzero(line, sizeof(line));
	errno = saved;
	return rc;
}
