/*
 * Statements of the device lists over federation (lib/store/devcache.c;
 * see stmts.h): other servers' users' devices as their servers told us,
 * and the last device-list update each local user's list was sent as.
 */
#ifndef MYELIN_STORE_STMTS_DEVCACHE_H
#define MYELIN_STORE_STMTS_DEVCACHE_H

#define MSTMT_TABLE_DEVCACHE \
	X(MSTMT_RDL_GET, "SELECT stream_id, stale FROM remote_device_lists WHERE user_id = $1") \
	X(MSTMT_RDL_PUT, "INSERT INTO remote_device_lists (user_id, stream_id, stale)" \
	    " VALUES ($1, $2, 0) ON CONFLICT (user_id) DO UPDATE" \
	    " SET stream_id = excluded.stream_id, stale = 0") \
	X(MSTMT_RDL_STALE, "UPDATE remote_device_lists SET stale = 1 WHERE user_id = $1") \
	X(MSTMT_RDL_DEL, "DELETE FROM remote_device_lists WHERE user_id = $1") \
	X(MSTMT_RDEV_DEL_USER, "DELETE FROM remote_devices WHERE user_id = $1") \
	X(MSTMT_RDEV_DEL, "DELETE FROM remote_devices WHERE user_id = $1 AND device_id = $2") \
	X(MSTMT_RDEV_PUT, "INSERT INTO remote_devices (user_id, device_id, display_name," \
	    " key_json) VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, device_id) DO UPDATE" \
	    " SET display_name = excluded.display_name, key_json = excluded.key_json") \
	X(MSTMT_RDEV_USER, "SELECT device_id, key_json, display_name FROM remote_devices" \
	    " WHERE user_id = $1 AND key_json IS NOT NULL ORDER BY device_id") \
	/* Whether user $1 is joined to a room where a user of ours ($2: "%:name") is joined. */ \
	X(MSTMT_RDL_SHARED, "SELECT 1 FROM current_state a JOIN current_state b" \
	    " ON b.room_id = a.room_id WHERE a.type = 'm.room.member' AND a.state_key = $1" \
	    " AND a.membership = 'join' AND b.type = 'm.room.member' AND b.membership = 'join'" \
	    " AND b.state_key LIKE $2 LIMIT 1") \
	/* The joined members of room $1 not of ours ($2: "%:name"). */ \
	X(MSTMT_RDL_ROOM_REMOTE, "SELECT state_key FROM current_state WHERE room_id = $1" \
	    " AND type = 'm.room.member' AND membership = 'join' AND state_key NOT LIKE $2") \
	X(MSTMT_RXS_DEL, "DELETE FROM cross_signing_keys WHERE user_id = $1 AND usage = $2") \
	/* The device-list position of a local user's last change, and of the last update sent. */ \
	X(MSTMT_LDL_CHANGED, "SELECT stream FROM device_list_changes WHERE user_id = $1") \
	X(MSTMT_LDL_SENT_GET, "SELECT stream_id FROM device_list_sent WHERE user_id = $1") \
	X(MSTMT_LDL_SENT_PUT, "INSERT INTO device_list_sent (user_id, stream_id) VALUES ($1, $2)" \
	    " ON CONFLICT (user_id) DO UPDATE SET stream_id = excluded.stream_id")

#endif
