/* Keys, signatures, hashes, unpadded base64, passwords and tokens. */
#ifndef MYELIN_CRYPTO_H
#define MYELIN_CRYPTO_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/* Calls sodium_init once.  0 or -1. */
int	mcrypto_init(void);

/* Unpadded standard base64 (Matrix "unpadded Base64"). malloc'd or NULL. */
char	*mcrypto_b64_encode(const unsigned char *, size_t);
/* RFC 4648 base64 with '=' padding (coturn's TURN REST passwords). malloc'd or NULL. */
char	*mcrypto_b64_encode_padded(const unsigned char *, size_t);
/* Also URL-safe alphabet: the variant event IDs of room v4+ use. */
char	*mcrypto_b64url_encode(const unsigned char *, size_t);
/* Decodes padded or unpadded standard base64.  Returns the byte count or -1. */
int	 mcrypto_b64_decode(const char *, unsigned char *out, size_t outsz);

/* SHA-256 of buf into out[32]. */
void	mcrypto_sha256(const void *buf, size_t len, unsigned char out[32]);
/*
 * SHA-256 of what is left to read on fd in, into hash, with the byte
 * count in *size; each byte is also written to fd out unless out is -1
 * (hashing a file while copying it).  0, or -1 with errno set.
 */
int	mcrypto_sha256_copy(int in, int out, unsigned char hash[32], int64_t *size);
/* HMAC-SHA1 of msg under key, raw, into md.  0, or -1 with md zeroed. */
int	mcrypto_hmac_sha1(const void *key, size_t keysz, const void *msg, size_t msgsz,
	    unsigned char md[20]);
/* SHA-1 of msg as lowercase hex (41 bytes with NUL) in out; "" on failure. */
void	mcrypto_sha1_hex(const void *msg, size_t msgsz, char out[41]);
/* HMAC-SHA1 of msg under key, as lowercase hex (41 bytes with NUL) in out. */
void	mcrypto_hmac_sha1_hex(const void *key, size_t keysz, const void *msg,
	    size_t msgsz, char out[41]);

/* An ed25519 signing key with its Matrix key ID ("ed25519:abc123"). */
struct mkey {
	char		 id[64];
	unsigned char	 pk[32];
	unsigned char	*sk;		/* 64 bytes in sodium_malloc memory */
};

/*
 * Key files hold one line in Synapse's format: "ed25519 <version>
 * <unpadded base64 seed>", so keys move between the two servers.
 */
struct mkey *mcrypto_key_generate(const char *version);
struct mkey *mcrypto_key_load(const char *path);
int	     mcrypto_key_save(const struct mkey *, const char *path);	/* mode 0600 */
/* From a 32-byte seed (for test vectors). */
struct mkey *mcrypto_key_from_seed(const unsigned char seed[32], const char *version);
void	     mcrypto_key_free(struct mkey *);
/* Unpadded base64 of the public key, malloc'd. */
char	    *mcrypto_key_public_b64(const struct mkey *);

/*
 * Signs obj in place per the spec's "Signing JSON": drops "signatures"
 * and "unsigned", signs the canonical JSON and adds
 * signatures[server_name][key id].  0 or -1.
 */
int	mcrypto_sign_json(json_t *obj, const char *server_name, const struct mkey *);
/* Verifies the signature by (server_name, key_id) with public key pk. 0 ok, -1 bad. */
int	mcrypto_verify_json(const json_t *obj, const char *server_name,
	    const char *key_id, const unsigned char pk[32]);
/* As mcrypto_verify_json over mjson_canonical_lax (X-Matrix request bodies). */
int	mcrypto_verify_json_lax(const json_t *obj, const char *server_name,
	    const char *key_id, const unsigned char pk[32]);

/* Password hashing: argon2id (libsodium) for new hashes. malloc'd or NULL. */
char	*mcrypto_password_hash(const char *password);
/*
 * Synapse's password_config.pepper (NULL: none), which Synapse appends
 * to every password before bcrypt: its bcrypt hashes are checked with
 * it appended.  argon2id hashes, myelin's own, never take it.  0 or -1.
 */
int	mcrypto_password_pepper(const char *pepper);
/* 1 when password matches hash (argon2id or bcrypt "$2b$"/"$2a$"/"$2y$"), else 0. */
int	 mcrypto_password_check(const char *password, const char *hash);
/* At most n argon2id hashes or checks at once in this process (default 2). */
void	 mcrypto_password_concurrency(int n);
/*
 * Verifies password against a hash of a random password made as
 * mcrypto_password_hash makes them (once per process), and returns 0:
 * what checking an account without a password hash costs, so that it
 * costs what a wrong password does.
 */
int	 mcrypto_password_check_dummy(const char *password);
/*
 * How many hash verifications (argon2id or bcrypt) this process has
 * run: lets a test see that a check happened without timing it.
 */
uint64_t mcrypto_password_checks(void);

/* Random string of n characters from [A-Za-z0-9], malloc'd. */
char	*mcrypto_random_string(size_t n);
/* Unpadded base64 of SHA-256(token): how tokens are stored. malloc'd. */
char	*mcrypto_token_hash(const char *token);

#endif
