/* Password hashes: argon2id for new ones, bcrypt checked for Synapse's. */
#include <crypt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/crypto.h"

/*
 * OWASP's argon2id baseline: 2 passes over 19 MiB.  libsodium's
 * "interactive" cost takes 64 MiB per hash, so four handler threads
 * hashing at once would hold 256 MiB: too much for a server meant to
 * run in a few MB.  Verification reads the cost from the hash itself,
 * so this can rise later without breaking stored passwords.
 */
#define PWHASH_OPS	2
#define PWHASH_MEM	(19U * 1024 * 1024)

static _Atomic uint64_t	 checks;

/*
 * At most `slots' argon2id computations at once in this process, each
 * holding PWHASH_MEM (more for older hashes of a higher cost): fifty
 * logins at once wait for a slot rather than take the handler to fifty
 * times 19 MiB.  password_hash_concurrency in myelin.conf(5).
 */
static pthread_mutex_t	 slot_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 slot_cv = PTHREAD_COND_INITIALIZER;
static int		 slots = 2, busy;

void
mcrypto_password_concurrency(int n)
{
	pthread_mutex_lock(&slot_mu);
	slots = n > 0 ? n : 1;
	pthread_cond_broadcast(&slot_cv);
	pthread_mutex_unlock(&slot_mu);
}

static void
slot_take(void)
{
	pthread_mutex_lock(&slot_mu);
	while (busy >= slots)
		pthread_cond_wait(&slot_cv, &slot_mu);
	busy++;
	pthread_mutex_unlock(&slot_mu);
}

static void
slot_give(void)
{
	pthread_mutex_lock(&slot_mu);
	busy--;
	pthread_cond_signal(&slot_cv);
	pthread_mutex_unlock(&slot_mu);
}
static pthread_once_t	 dummy_once = PTHREAD_ONCE_INIT;
static char		*dummy_hash;	/* NULL if it could not be made */

/* Returns an argon2id hash string ("$argon2id$v=19$..."), or NULL. */
char *
mcrypto_password_hash(const char *password)
{
	char	*out;
	int	 rc;

	if (password == NULL || mcrypto_init() == -1)
		return NULL;
	if ((out = malloc(crypto_pwhash_argon2id_STRBYTES)) == NULL)
		return NULL;
	slot_take();
	rc = crypto_pwhash_argon2id_str(out, password, strlen(password),
	    PWHASH_OPS, PWHASH_MEM);
	slot_give();
	if (rc != 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* Set once at start, before any thread checks a password. */
static char		*pepper;

int
mcrypto_password_pepper(const char *p)
{
	free(pepper);
	pepper = NULL;
	if (p == NULL || *p == '\0')
		return 0;
	return (pepper = strdup(p)) == NULL ? -1 : 0;
}

/*
 * Synapse stores bcrypt hashes ("$2b$12$..."), so users keep their
 * passwords when moving over.  crypt_r() computes the hash of password
 * under the same salt and cost; the result is compared in constant time.
 * libxcrypt reports failure either with NULL or with a string starting
 * with '*', which never equals a bcrypt hash.
 */
static int
bcrypt_check(const char *password, const char *hash)
{
	struct crypt_data	*cd;
	const char		*res;
	size_t			 len;
	char			*peppered = NULL;
	int			 ok = 0;

	/* As Synapse: bcrypt of the password with the pepper appended. */
	if (pepper != NULL && asprintf(&peppered, "%s%s", password, pepper) == -1)
		return 0;
	/* struct crypt_data is tens of kilobytes: keep it off the stack. */
	if ((cd = calloc(1, sizeof(*cd))) == NULL) {
		free(peppered);
		return 0;
	}
	res = crypt_r(peppered != NULL ? peppered : password, hash, cd);
	len = strlen(hash);
	if (res != NULL && res[0] == '$' && strlen(res) == len &&
	    sodium_memcmp(res, hash, len) == 0)
		ok = 1;
	sodium_memzero(cd, sizeof(*cd));
	free(cd);
	if (peppered != NULL) {
		sodium_memzero(peppered, strlen(peppered));
		free(peppered);
	}
	return ok;
}

int
mcrypto_password_check(const char *password, const char *hash)
{
	int	 ok;

	if (password == NULL || hash == NULL || mcrypto_init() == -1)
		return 0;
	if (strncmp(hash, "$argon2id$", 10) == 0) {
		atomic_fetch_add(&checks, 1);
		slot_take();
		ok = crypto_pwhash_argon2id_str_verify(hash, password,
		    strlen(password)) == 0;
		slot_give();
		return ok;
	}
	if (strncmp(hash, "$2a$", 4) == 0 || strncmp(hash, "$2b$", 4) == 0 ||
	    strncmp(hash, "$2y$", 4) == 0) {
		atomic_fetch_add(&checks, 1);
		return bcrypt_check(password, hash);
	}
	return 0;
}

/* Hashes a password nobody knows, with the cost new hashes have today. */
static void
dummy_make(void)
{
	char *pw;

	if ((pw = mcrypto_random_string(32)) == NULL)
		return;
	dummy_hash = mcrypto_password_hash(pw);
	sodium_memzero(pw, strlen(pw));
	free(pw);
}

int
mcrypto_password_check_dummy(const char *password)
{
	pthread_once(&dummy_once, dummy_make);
	/* The hash's password is random: a match is as likely as a collision. */
	(void)mcrypto_password_check(password != NULL ? password : "", dummy_hash);
	return 0;
}

uint64_t
mcrypto_password_checks(void)
{
	return atomic_load(&checks);
}
