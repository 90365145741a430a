/* Statements of end-to-end encryption: keys, to-device, device lists (see stmts.h). */
#ifndef MYELIN_STORE_STMTS_E2EE_H
#define MYELIN_STORE_STMTS_E2EE_H

/* The rooms user $1 is joined to, as a subquery. */
#define ME2EE_JOINED "(SELECT room_id FROM current_state WHERE type = 'm.room.member'" \
	" AND state_key = $1 AND membership = 'join')"

/*
 * One unused one-time key of ($1, $2) for algorithm $3, deleted as it is
 * read: the claim.  Two claimers never get one key: on SQLite the
 * writers are serialised; PostgreSQL's text (MSTMT_PG_E2EE) skips rows
 * another claimer holds rather than returning nothing after its wait.
 */
#define ME2EE_OTK_CLAIM(lock) "DELETE FROM one_time_keys WHERE user_id = $1" \
	" AND device_id = $2 AND algorithm = $3 AND key_id = (SELECT key_id" \
	" FROM one_time_keys WHERE user_id = $1 AND device_id = $2 AND algorithm = $3" \
	" ORDER BY key_id LIMIT 1" lock ") RETURNING key_id, key_json"

#define MSTMT_TABLE_E2EE \
	/* device keys */ \
	X(MSTMT_E2EE_DKEYS_GET, "SELECT key_json FROM device_keys WHERE user_id = $1" \
	    " AND device_id = $2") \
	X(MSTMT_E2EE_DKEYS_PUT, "INSERT INTO device_keys (user_id, device_id, key_json)" \
	    " VALUES ($1, $2, $3) ON CONFLICT (user_id, device_id)" \
	    " DO UPDATE SET key_json = excluded.key_json") \
	X(MSTMT_E2EE_DKEYS_USER, "SELECT k.device_id, k.key_json, d.display_name" \
	    " FROM device_keys k JOIN devices d ON d.user_id = k.user_id" \
	    " AND d.device_id = k.device_id WHERE k.user_id = $1 ORDER BY k.device_id") \
	X(MSTMT_E2EE_DKEYS_DEL, "DELETE FROM device_keys WHERE user_id = $1 AND device_id = $2") \
	/* one-time keys */ \
	X(MSTMT_E2EE_OTK_GET, "SELECT key_json FROM one_time_keys WHERE user_id = $1" \
	    " AND device_id = $2 AND algorithm = $3 AND key_id = $4") \
	X(MSTMT_E2EE_OTK_ADD, "INSERT INTO one_time_keys (user_id, device_id, algorithm," \
	    " key_id, key_json) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING") \
	X(MSTMT_E2EE_OTK_COUNTS, "SELECT algorithm, COUNT(*) FROM one_time_keys" \
	    " WHERE user_id = $1 AND device_id = $2 GROUP BY algorithm ORDER BY algorithm") \
	X(MSTMT_E2EE_OTK_CLAIM, ME2EE_OTK_CLAIM("")) \
	X(MSTMT_E2EE_OTK_DEL_DEVICE, "DELETE FROM one_time_keys WHERE user_id = $1" \
	    " AND device_id = $2") \
	/* fallback keys: used 1 once claimed, 0 again when a new one is uploaded */ \
	X(MSTMT_E2EE_FB_GET, "SELECT key_id, key_json FROM fallback_keys WHERE user_id = $1" \
	    " AND device_id = $2 AND algorithm = $3") \
	X(MSTMT_E2EE_FB_PUT, "INSERT INTO fallback_keys (user_id, device_id, algorithm, key_id," \
	    " key_json, used) VALUES ($1, $2, $3, $4, $5, 0)" \
	    " ON CONFLICT (user_id, device_id, algorithm) DO UPDATE" \
	    " SET key_id = excluded.key_id, key_json = excluded.key_json, used = 0") \
	X(MSTMT_E2EE_FB_CLAIM, "UPDATE fallback_keys SET used = 1 WHERE user_id = $1" \
	    " AND device_id = $2 AND algorithm = $3 RETURNING key_id, key_json") \
	/* The device's one-time key counts (0) and unused fallback key types (1), for /sync. */ \
	X(MSTMT_E2EE_KEY_COUNTS, "SELECT 0, algorithm, COUNT(*) FROM one_time_keys" \
	    " WHERE user_id = $1 AND device_id = $2 GROUP BY algorithm" \
	    " UNION ALL SELECT 1, algorithm, 0 FROM fallback_keys WHERE user_id = $1" \
	    " AND device_id = $2 AND used = 0 ORDER BY 1, 2") \
	X(MSTMT_E2EE_FB_DEL_DEVICE, "DELETE FROM fallback_keys WHERE user_id = $1" \
	    " AND device_id = $2") \
	/* device lists: each user's newest change */ \
	X(MSTMT_E2EE_DL_MARK, "INSERT INTO device_list_changes (user_id, stream) VALUES ($1, $2)" \
	    " ON CONFLICT (user_id) DO UPDATE SET stream = excluded.stream") \
	X(MSTMT_E2EE_DL_CHANGED, "SELECT user_id FROM device_list_changes WHERE stream > $1" \
	    " AND stream <= $2 ORDER BY user_id") \
	/* A change only user $1 hears of: $2's keys as $1 signed them. */ \
	X(MSTMT_E2EE_DLP_MARK, "INSERT INTO device_list_private (user_id, target, stream)" \
	    " VALUES ($1, $2, $3) ON CONFLICT (user_id, target) DO UPDATE" \
	    " SET stream = excluded.stream") \
	X(MSTMT_E2EE_DLP_CHANGED, "SELECT target FROM device_list_private WHERE user_id = $1" \
	    " AND stream > $2 AND stream <= $3 ORDER BY target") \
	/* Everyone joined to a room user $1 is joined to, $1 among them. */ \
	X(MSTMT_E2EE_SHARED, "SELECT DISTINCT state_key FROM current_state" \
	    " WHERE type = 'm.room.member' AND membership = 'join' AND room_id IN " \
	    ME2EE_JOINED) \
	/* \
	 * The member events in ($2, $3] of the rooms user $1 is joined to, \
	 * and $1's own (a room left): who started or stopped sharing one. \
	 */ \
	X(MSTMT_E2EE_MEMBER_MOVES, "SELECT DISTINCT room_id, state_key FROM events" \
	    " WHERE type = 'm.room.member' AND stream > $2 AND stream <= $3" \
	    " AND rejected IS NULL AND (state_key = $1 OR room_id IN " ME2EE_JOINED ")" \
	    " ORDER BY room_id, state_key") \
	X(MSTMT_E2EE_ROOM_JOINED, "SELECT state_key FROM current_state WHERE room_id = $1" \
	    " AND type = 'm.room.member' AND membership = 'join'") \
	/* to-device */ \
	/* \
	 * A transaction ID first seen at $4; one seen before $5 (24 h ago) \
	 * counts as new, whether or not the cleanup timer took it yet. \
	 */ \
	X(MSTMT_E2EE_TXN_ADD, "INSERT INTO to_device_txns (user_id, device_id, txn_id, created_ts)" \
	    " VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, device_id, txn_id)" \
	    " DO UPDATE SET created_ts = excluded.created_ts" \
	    " WHERE to_device_txns.created_ts < $5") \
	X(MSTMT_E2EE_TXN_DEL_DEVICE, "DELETE FROM to_device_txns WHERE user_id = $1" \
	    " AND device_id = $2") \
	X(MSTMT_E2EE_DEVICE_IDS, "SELECT device_id FROM devices WHERE user_id = $1" \
	    " ORDER BY device_id") \
	X(MSTMT_E2EE_DEVICE_EXISTS, "SELECT COUNT(*) FROM devices WHERE user_id = $1" \
	    " AND device_id = $2") \
	X(MSTMT_E2EE_TD_ADD, "INSERT INTO to_device (user_id, device_id, stream, sender, type," \
	    " content) VALUES ($1, $2, $3, $4, $5, $6)") \
	/* Whether the device has messages its token acknowledges, for the DELETE. */ \
	X(MSTMT_E2EE_TD_ACKED, "SELECT 1 FROM to_device WHERE user_id = $1 AND device_id = $2" \
	    " AND stream <= $3 LIMIT 1") \
	X(MSTMT_E2EE_TD_ACK, "DELETE FROM to_device WHERE user_id = $1 AND device_id = $2" \
	    " AND stream <= $3") \
	X(MSTMT_E2EE_TD_GET, "SELECT stream, sender, type, content FROM to_device" \
	    " WHERE user_id = $1 AND device_id = $2 AND stream > $3 AND stream <= $4" \
	    " ORDER BY stream LIMIT $5") \
	X(MSTMT_E2EE_TD_DEL_DEVICE, "DELETE FROM to_device WHERE user_id = $1 AND device_id = $2") \
	/* cross-signing */ \
	X(MSTMT_E2EE_XSIGN_GET, "SELECT key_json FROM cross_signing_keys WHERE user_id = $1" \
	    " AND usage = $2") \
	X(MSTMT_E2EE_XSIGN_PUT, "INSERT INTO cross_signing_keys (user_id, usage, key_json)" \
	    " VALUES ($1, $2, $3) ON CONFLICT (user_id, usage)" \
	    " DO UPDATE SET key_json = excluded.key_json") \
	X(MSTMT_E2EE_SIG_ADD, "INSERT INTO key_signatures (user_id, key_id, signer, signer_key," \
	    " signature) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, key_id, signer," \
	    " signer_key) DO UPDATE SET signature = excluded.signature") \
	/* The signatures of user $1's keys that requester $2 may see: its own and $2's. */ \
	X(MSTMT_E2EE_SIG_LIST, "SELECT key_id, signer, signer_key, signature FROM key_signatures" \
	    " WHERE user_id = $1 AND (signer = $1 OR signer = $2)") \
	X(MSTMT_E2EE_SIG_DEL_KEY, "DELETE FROM key_signatures WHERE user_id = $1 AND key_id = $2") \
	/* key backup */ \
	X(MSTMT_E2EE_BV_NEXT, "SELECT COALESCE(MAX(version), 0) + 1 FROM backup_versions" \
	    " WHERE user_id = $1") \
	X(MSTMT_E2EE_BV_ADD, "INSERT INTO backup_versions (user_id, version, algorithm," \
	    " auth_data, etag, deleted) VALUES ($1, $2, $3, $4, 0, 0)") \
	X(MSTMT_E2EE_BV_CURRENT, "SELECT MAX(version) FROM backup_versions WHERE user_id = $1" \
	    " AND deleted = 0") \
	X(MSTMT_E2EE_BV_GET, "SELECT v.algorithm, v.auth_data, v.etag, (SELECT COUNT(*)" \
	    " FROM backup_keys k WHERE k.user_id = v.user_id AND k.version = v.version)" \
	    " FROM backup_versions v WHERE v.user_id = $1 AND v.version = $2 AND v.deleted = 0") \
	X(MSTMT_E2EE_BV_SET, "UPDATE backup_versions SET auth_data = $3 WHERE user_id = $1" \
	    " AND version = $2 AND deleted = 0") \
	X(MSTMT_E2EE_BV_DEL, "UPDATE backup_versions SET deleted = 1 WHERE user_id = $1" \
	    " AND version = $2 AND deleted = 0") \
	X(MSTMT_E2EE_BV_ETAG, "UPDATE backup_versions SET etag = etag + 1 WHERE user_id = $1" \
	    " AND version = $2") \
	X(MSTMT_E2EE_BK_GET, "SELECT first_message_index, forwarded_count, is_verified" \
	    " FROM backup_keys WHERE user_id = $1 AND version = $2 AND room_id = $3" \
	    " AND session_id = $4") \
	X(MSTMT_E2EE_BK_PUT, "INSERT INTO backup_keys (user_id, version, room_id, session_id," \
	    " first_message_index, forwarded_count, is_verified, session_data)" \
	    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (user_id, version, room_id," \
	    " session_id) DO UPDATE SET first_message_index = excluded.first_message_index," \
	    " forwarded_count = excluded.forwarded_count, is_verified = excluded.is_verified," \
	    " session_data = excluded.session_data") \
	/* The keys of a version, of one room ($3 not NULL), of one session ($4 not NULL). */ \
	X(MSTMT_E2EE_BK_LIST, "SELECT room_id, session_id, first_message_index," \
	    " forwarded_count, is_verified, session_data FROM backup_keys WHERE user_id = $1" \
	    " AND version = $2 AND (CAST($3 AS TEXT) IS NULL OR room_id = $3)" \
	    " AND (CAST($4 AS TEXT) IS NULL OR session_id = $4) ORDER BY room_id, session_id") \
	X(MSTMT_E2EE_BK_DEL, "DELETE FROM backup_keys WHERE user_id = $1 AND version = $2" \
	    " AND (CAST($3 AS TEXT) IS NULL OR room_id = $3)" \
	    " AND (CAST($4 AS TEXT) IS NULL OR session_id = $4)")

#define MSTMT_PG_E2EE \
	P(MSTMT_E2EE_OTK_CLAIM, ME2EE_OTK_CLAIM(" FOR UPDATE SKIP LOCKED"))

#endif
