/* Other servers' signing keys: one row per key, and each server's last signed answer. */
#include <stdlib.h>
#include <string.h>

#include "store/extern.h"

int
mstore_server_key_put(struct mdb *db, const char *server_name, const char *key_id,
    const char *verify_key, int64_t valid_until_ts, int64_t expired_ts, int64_t fetched_ts)
{
	return mdb_exec(db, MSTMT_SKEY_PUT, "sssiii", server_name, key_id, verify_key,
	    valid_until_ts, expired_ts, fetched_ts) < 0 ? -1 : 0;
}

int
mstore_server_key_get(struct mdb *db, const char *server_name, const char *key_id,
    char **verify_key, int64_t *valid_until_ts, int64_t *expired_ts)
{
	struct mcur	*c;
	int		 rc;

	*verify_key = NULL;
	if ((c = mdb_query(db, MSTMT_SKEY_GET, "ss", server_name, key_id)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1) {
		*valid_until_ts = mcur_int(c, 1);
		*expired_ts = mcur_int(c, 2);
		if ((*verify_key = strdup(mcur_text(c, 0))) == NULL)
			rc = -1;
	}
	mcur_free(c);
	return rc;
}

int
mstore_server_key_json_put(struct mdb *db, const char *server_name, const char *key_id,
    int64_t valid_until_ts, int64_t fetched_ts, const char *json)
{
	return mdb_exec(db, MSTMT_SKEY_JSON_PUT, "ssiis", server_name, key_id, valid_until_ts,
	    fetched_ts, json) < 0 ? -1 : 0;
}

int
mstore_server_key_json_get(struct mdb *db, const char *server_name, const char *key_id,
    char **json, int64_t *valid_until_ts)
{
	struct mcur	*c;
	int		 rc;

	*json = NULL;
	if ((c = mdb_query(db, MSTMT_SKEY_JSON_GET, "ss", server_name, key_id)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1) {
		*valid_until_ts = mcur_int(c, 1);
		if ((*json = strdup(mcur_text(c, 0))) == NULL)
			rc = -1;
	}
	mcur_free(c);
	return rc;
}

static int
keyjson_row(struct mcur *c, void *elem)
{
	struct mstore_keyjson *k = elem;

	k->valid_until_ts = mcur_int(c, 2);
	return (k->key_id = mcur_dup(c, 0)) == NULL || (k->json = mcur_dup(c, 1)) == NULL ?
	    -1 : 0;
}

static void
keyjson_fini(void *elem)
{
	struct mstore_keyjson *k = elem;

	free(k->key_id);
	free(k->json);
}

int
mstore_server_key_json_list(struct mdb *db, const char *server_name,
    struct mstore_keyjson **out, size_t *n)
{
	void	*v = NULL;
	int	 rc;

	*n = 0;
	rc = mcur_collect(mdb_query(db, MSTMT_SKEY_JSON_LIST, "s", server_name), sizeof(**out),
	    keyjson_row, keyjson_fini, &v, n);
	*out = v;
	return rc;
}

void
mstore_keyjson_free(struct mstore_keyjson *v, size_t n)
{
	mstore_list_free(v, n, sizeof(*v), keyjson_fini);
}
