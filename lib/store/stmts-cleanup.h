/*
 * Statements of the cleanup timer of myelin-timerd (lib/store/cleanup.c,
 * timer-daemon/cleanup.c): each takes at most $2 rows due before $1, so
 * that a run is a loop of short transactions.  The deletes that name
 * their rows (RETURNING) let the caller remove what hangs on each row in
 * the same transaction, whatever another timerd deletes meanwhile.
 */
#ifndef MYELIN_STORE_STMTS_CLEANUP_H
#define MYELIN_STORE_STMTS_CLEANUP_H

#define MSTMT_TABLE_CLEANUP \
	/* Login tokens (m.login.token) past their time: refused already, then gone. */ \
	X(MSTMT_CLEAN_LOGINTOKENS, "DELETE FROM login_tokens WHERE token_hash IN" \
	    " (SELECT token_hash FROM login_tokens WHERE valid_until_ms <= $1" \
	    " ORDER BY valid_until_ms LIMIT $2)") \
	/* Refresh tokens past expiry_ts; their access tokens go by id. */ \
	X(MSTMT_CLEAN_REFRESH, "DELETE FROM refresh_tokens WHERE id IN" \
	    " (SELECT id FROM refresh_tokens WHERE expiry_ts IS NOT NULL AND expiry_ts <= $1" \
	    " ORDER BY expiry_ts LIMIT $2) RETURNING id") \
	/* To-device transaction IDs first seen before $1. */ \
	X(MSTMT_CLEAN_TODEVICE_TXNS, "DELETE FROM to_device_txns" \
	    " WHERE (user_id, device_id, txn_id) IN (SELECT user_id, device_id, txn_id" \
	    " FROM to_device_txns WHERE created_ts < $1 ORDER BY created_ts LIMIT $2)") \
	/* Sliding-sync connections last used before $1; their rooms go by id. */ \
	X(MSTMT_CLEAN_SLIDING_CONNS, "DELETE FROM sliding_conns WHERE id IN" \
	    " (SELECT id FROM sliding_conns WHERE used_ts < $1 ORDER BY used_ts LIMIT $2)" \
	    " RETURNING id") \
	X(MSTMT_CLEAN_SLIDING_ROOMS, "DELETE FROM sliding_rooms WHERE conn = $1")

#endif
