/* Other servers' signing keys, as fetched and checked by lib/fed. */
#ifndef MYELIN_STORE_KEYS_H
#define MYELIN_STORE_KEYS_H

#include <stddef.h>
#include <stdint.h>

struct mdb;

/*
 * Stores key key_id of server_name (unpadded base64 verify_key), valid
 * until valid_until_ts; expired_ts is 0 for a current key, else when
 * the server retired it (old_verify_keys).  0 or -1.
 */
int	mstore_server_key_put(struct mdb *, const char *server_name, const char *key_id,
	    const char *verify_key, int64_t valid_until_ts, int64_t expired_ts,
	    int64_t fetched_ts);
/*
 * 1 with *verify_key (malloc'd), *valid_until_ts and *expired_ts set,
 * 0 when the key is unknown, -1 on failure.
 */
int	mstore_server_key_get(struct mdb *, const char *server_name, const char *key_id,
	    char **verify_key, int64_t *valid_until_ts, int64_t *expired_ts);
/* Keeps the server's signed key answer (canonical JSON) that listed key_id.  0 or -1. */
int	mstore_server_key_json_put(struct mdb *, const char *server_name, const char *key_id,
	    int64_t valid_until_ts, int64_t fetched_ts, const char *json);
/* 1 with *json (malloc'd) and *valid_until_ts, 0 when none, -1 on failure. */
int	mstore_server_key_json_get(struct mdb *, const char *server_name, const char *key_id,
	    char **json, int64_t *valid_until_ts);

/* One stored answer: the key it was kept for, the JSON, its validity. */
struct mstore_keyjson {
	char	*key_id;
	char	*json;
	int64_t	 valid_until_ts;
};

/* Every stored answer of server_name, by key ID.  0 with *out (n rows) or -1. */
int	mstore_server_key_json_list(struct mdb *, const char *server_name,
	    struct mstore_keyjson **out, size_t *n);
void	mstore_keyjson_free(struct mstore_keyjson *, size_t n);

#endif
