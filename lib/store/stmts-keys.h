/* Statements on other servers' signing keys (lib/fed's keyring; see stmts.h). */
#ifndef MYELIN_STORE_STMTS_KEYS_H
#define MYELIN_STORE_STMTS_KEYS_H

#define MSTMT_TABLE_KEYS \
	/* One key of a server: expired_ts 0 for a current (verify_keys) key. */ \
	X(MSTMT_SKEY_PUT, "INSERT INTO server_keys (server_name, key_id, verify_key," \
	    " valid_until_ts, expired_ts, fetched_ts) VALUES ($1, $2, $3, $4, $5, $6)" \
	    " ON CONFLICT (server_name, key_id) DO UPDATE SET verify_key = excluded.verify_key," \
	    " valid_until_ts = excluded.valid_until_ts, expired_ts = excluded.expired_ts," \
	    " fetched_ts = excluded.fetched_ts") \
	X(MSTMT_SKEY_GET, "SELECT verify_key, valid_until_ts, expired_ts FROM server_keys" \
	    " WHERE server_name = $1 AND key_id = $2") \
	/* The server's own signed answer that listed a key, kept whole for notary answers. */ \
	X(MSTMT_SKEY_JSON_PUT, "INSERT INTO server_key_json (server_name, key_id," \
	    " valid_until_ts, fetched_ts, json) VALUES ($1, $2, $3, $4, $5)" \
	    " ON CONFLICT (server_name, key_id) DO UPDATE" \
	    " SET valid_until_ts = excluded.valid_until_ts, fetched_ts = excluded.fetched_ts," \
	    " json = excluded.json") \
	X(MSTMT_SKEY_JSON_GET, "SELECT json, valid_until_ts FROM server_key_json" \
	    " WHERE server_name = $1 AND key_id = $2") \
	X(MSTMT_SKEY_JSON_LIST, "SELECT key_id, json, valid_until_ts FROM server_key_json" \
	    " WHERE server_name = $1 ORDER BY key_id")

#endif
