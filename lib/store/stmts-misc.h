/*
 * Statements of the endpoints issue 10 added: account locks and
 * suspensions, OpenID and login tokens, extended profile fields, mutual
 * rooms, room and user reports.
 */
#ifndef MYELIN_STORE_STMTS_MISC_H
#define MYELIN_STORE_STMTS_MISC_H

#define MSTMT_TABLE_MISC \
	X(MSTMT_USER_SET_LOCKED, "UPDATE users SET locked = $2 WHERE user_id = $1") \
	X(MSTMT_USER_SET_SUSPENDED, "UPDATE users SET suspended = $2 WHERE user_id = $1") \
	X(MSTMT_USER_FLAGS, "SELECT locked, suspended FROM users WHERE user_id = $1") \
	X(MSTMT_OPENID_ADD, "INSERT INTO openid_tokens (token_hash, user_id, valid_until_ms)" \
	    " VALUES ($1, $2, $3)") \
	X(MSTMT_OPENID_GET, "SELECT user_id FROM openid_tokens WHERE token_hash = $1" \
	    " AND valid_until_ms > $2") \
	X(MSTMT_OPENID_DEL_OLD, "DELETE FROM openid_tokens WHERE valid_until_ms <= $1") \
	X(MSTMT_LOGINTOKEN_ADD, "INSERT INTO login_tokens (token_hash, user_id, valid_until_ms)" \
	    " VALUES ($1, $2, $3)") \
	X(MSTMT_LOGINTOKEN_TAKE, "DELETE FROM login_tokens WHERE token_hash = $1" \
	    " RETURNING user_id, valid_until_ms") \
	X(MSTMT_LOGINTOKEN_DEL_OLD, "DELETE FROM login_tokens WHERE valid_until_ms <= $1") \
	X(MSTMT_PFIELD_GET, "SELECT value FROM profile_fields WHERE user_id = $1 AND name = $2") \
	X(MSTMT_PFIELD_LIST, "SELECT name, value FROM profile_fields WHERE user_id = $1" \
	    " ORDER BY name") \
	X(MSTMT_PFIELD_PUT, "INSERT INTO profile_fields (user_id, name, value) VALUES ($1, $2, $3)" \
	    " ON CONFLICT (user_id, name) DO UPDATE SET value = excluded.value") \
	X(MSTMT_PFIELD_DEL, "DELETE FROM profile_fields WHERE user_id = $1 AND name = $2") \
	X(MSTMT_MUTUAL_ROOMS, "SELECT a.room_id FROM current_state a JOIN current_state b" \
	    " ON b.room_id = a.room_id AND b.type = 'm.room.member' AND b.state_key = $2" \
	    " AND b.membership = 'join'" \
	    " WHERE a.type = 'm.room.member' AND a.state_key = $1 AND a.membership = 'join'" \
	    " AND a.room_id > $3 ORDER BY a.room_id LIMIT $4") \
	X(MSTMT_MUTUAL_ROOMS_COUNT, "SELECT COUNT(*) FROM current_state a JOIN current_state b" \
	    " ON b.room_id = a.room_id AND b.type = 'm.room.member' AND b.state_key = $2" \
	    " AND b.membership = 'join'" \
	    " WHERE a.type = 'm.room.member' AND a.state_key = $1 AND a.membership = 'join'") \
	X(MSTMT_ROOM_REPORT_ADD, "INSERT INTO room_reports (room_id, user_id, reason, received_ts)" \
	    " VALUES ($1, $2, $3, $4)") \
	X(MSTMT_USER_REPORT_ADD, "INSERT INTO user_reports (target_user_id, user_id, reason," \
	    " received_ts) VALUES ($1, $2, $3, $4)")

#endif
