/* Statements of the admin toolkit: users, rooms, blocks, deletions, reports (see stmts.h). */
#ifndef MYELIN_STORE_STMTS_ADMIN_H
#define MYELIN_STORE_STMTS_ADMIN_H

#include "store/stmts-dir.h"

/* A user as the admin API lists it; the last column is the latest device activity. */
#define MADMIN_USER_COLS "u.user_id, u.displayname, u.avatar_url, u.is_admin, u.is_guest," \
	" u.deactivated, u.shadow_banned, u.user_type, u.created_ts, u.erased," \
	" (SELECT MAX(d.last_seen_ts) FROM devices d WHERE d.user_id = u.user_id)"

/*
 * Synapse's user list filters: $1 a LIKE pattern on the lowercased user ID
 * that only matches in the localpart, $2 one on the lowercased display name
 * (both NULL: no name filter), $3 one on the lowercased user ID, $4 1 to
 * include guests, $5 1 to include deactivated users, $6 admins only (1),
 * non-admins only (0) or both (-1).
 */
#define MADMIN_USER_WHERE " WHERE (CAST($1 AS TEXT) IS NULL" \
	" OR LOWER(u.user_id) LIKE $1 ESCAPE '\\'" \
	" OR LOWER(COALESCE(u.displayname, '')) LIKE CAST($2 AS TEXT) ESCAPE '\\')" \
	" AND (CAST($3 AS TEXT) IS NULL OR LOWER(u.user_id) LIKE $3 ESCAPE '\\')" \
	" AND ($4 = 1 OR u.is_guest = 0) AND ($5 = 1 OR u.deactivated = 0)" \
	" AND ($6 < 0 OR u.is_admin = $6)"

/*
 * Ordered by the column Synapse's order_by names ($7): one numeric and
 * one text key, only one of which varies, then the user ID ascending so
 * that pages are stable.  NULLs sort as 0 or "" on both engines.
 */
#define MADMIN_USERS_SQL(dir) "SELECT " MADMIN_USER_COLS " FROM users u" MADMIN_USER_WHERE \
	" ORDER BY CASE CAST($7 AS TEXT) WHEN 'is_guest' THEN u.is_guest" \
	" WHEN 'admin' THEN u.is_admin WHEN 'deactivated' THEN u.deactivated" \
	" WHEN 'shadow_banned' THEN u.shadow_banned WHEN 'creation_ts' THEN u.created_ts" \
	" WHEN 'last_seen_ts' THEN COALESCE((SELECT MAX(d.last_seen_ts) FROM devices d" \
	" WHERE d.user_id = u.user_id), 0) ELSE 0 END " dir "," \
	" CASE CAST($7 AS TEXT) WHEN 'name' THEN u.user_id WHEN 'user_type'" \
	" THEN COALESCE(u.user_type, '') WHEN 'displayname' THEN COALESCE(u.displayname, '')" \
	" WHEN 'avatar_url' THEN COALESCE(u.avatar_url, '') ELSE '' END " dir "," \
	" u.user_id LIMIT $8 OFFSET $9"

/* Event reports with the reported event's sender and the room's name and alias events. */
#define MADMIN_REPORT_FROM " FROM event_reports r LEFT JOIN events e ON e.event_id = r.event_id" \
	" LEFT JOIN current_state cn ON cn.room_id = r.room_id AND cn.type = 'm.room.name'" \
	" AND cn.state_key = '' LEFT JOIN events ne ON ne.event_id = cn.event_id" \
	" LEFT JOIN current_state ca ON ca.room_id = r.room_id" \
	" AND ca.type = 'm.room.canonical_alias' AND ca.state_key = ''" \
	" LEFT JOIN events ae ON ae.event_id = ca.event_id"
#define MADMIN_REPORT_COLS "r.id, r.received_ts, r.room_id, r.event_id, r.user_id, r.reason," \
	" r.score, e.sender, ne.json, ae.json"
/* $1 reporter and $2 room ID LIKE patterns, $3 the reported event's sender (NULL: any). */
#define MADMIN_REPORT_WHERE " WHERE (CAST($1 AS TEXT) IS NULL OR r.user_id LIKE $1 ESCAPE '\\')" \
	" AND (CAST($2 AS TEXT) IS NULL OR r.room_id LIKE $2 ESCAPE '\\')" \
	" AND (CAST($3 AS TEXT) IS NULL OR e.sender = $3)"
#define MADMIN_REPORTS_SQL(dir) "SELECT " MADMIN_REPORT_COLS MADMIN_REPORT_FROM \
	MADMIN_REPORT_WHERE " ORDER BY r.received_ts " dir ", r.id " dir " LIMIT $4 OFFSET $5"

/* A member row of a local user: $2 is "%:server" escaped for LIKE. */
#define MADMIN_LOCAL(col) col " LIKE $2 ESCAPE '\\'"

#define MSTMT_TABLE_ADMIN \
	/* users */ \
	X(MSTMT_ADMIN_USERS_F, MADMIN_USERS_SQL("ASC")) \
	X(MSTMT_ADMIN_USERS_B, MADMIN_USERS_SQL("DESC")) \
	X(MSTMT_ADMIN_USERS_COUNT, "SELECT COUNT(*) FROM users u" MADMIN_USER_WHERE) \
	X(MSTMT_ADMIN_USER_GET, "SELECT " MADMIN_USER_COLS " FROM users u WHERE u.user_id = $1") \
	X(MSTMT_ADMIN_USER_SET_SHADOW_BANNED, "UPDATE users SET shadow_banned = $2" \
	    " WHERE user_id = $1") \
	X(MSTMT_ADMIN_USER_SET_ERASED, "UPDATE users SET erased = $2 WHERE user_id = $1") \
	X(MSTMT_ADMIN_USER_PUSHERS_DEL, "DELETE FROM pushers WHERE user_id = $1") \
	X(MSTMT_ADMIN_USER_SET_TYPE, "UPDATE users SET user_type = $2 WHERE user_id = $1") \
	/* rooms: counts per room ($1 "%:server" for local members, $2 one room or NULL) */ \
	X(MSTMT_ADMIN_ROOMS, "SELECT r.room_id, r.room_version, r.creator, r.is_public," \
	    " (SELECT COUNT(*) FROM current_state c WHERE c.room_id = r.room_id" \
	    " AND c.type = 'm.room.member' AND c.membership = 'join')," \
	    " (SELECT COUNT(*) FROM current_state c WHERE c.room_id = r.room_id" \
	    " AND c.type = 'm.room.member' AND c.membership = 'join'" \
	    " AND c.state_key LIKE $1 ESCAPE '\\')," \
	    " (SELECT COUNT(*) FROM current_state c WHERE c.room_id = r.room_id)" \
	    " FROM rooms r WHERE (CAST($2 AS TEXT) IS NULL OR r.room_id = $2) ORDER BY r.room_id") \
	/* ... and the state their summaries are made of */ \
	X(MSTMT_ADMIN_ROOMS_STATE, "SELECT c.room_id, c.type, e.json FROM current_state c" \
	    " JOIN events e ON e.event_id = c.event_id WHERE c.state_key = ''" \
	    " AND c.type IN " MDIR_SUMMARY_TYPES " AND (CAST($1 AS TEXT) IS NULL OR c.room_id = $1)") \
	X(MSTMT_ADMIN_ROOM_MEMBERS, "SELECT state_key FROM current_state WHERE room_id = $1" \
	    " AND type = 'm.room.member' AND membership = 'join' ORDER BY state_key") \
	/* Local users a room shutdown makes leave: joined, invited or knocking. */ \
	X(MSTMT_ADMIN_ROOM_LOCAL_MEMBERS, "SELECT state_key FROM current_state WHERE room_id = $1" \
	    " AND type = 'm.room.member' AND membership IN ('join', 'invite', 'knock')" \
	    " AND " MADMIN_LOCAL("state_key") " ORDER BY state_key") \
	X(MSTMT_ADMIN_ROOM_LOCAL_DEVICES, "SELECT COUNT(*) FROM devices d JOIN current_state c" \
	    " ON c.state_key = d.user_id WHERE c.room_id = $1 AND c.type = 'm.room.member'" \
	    " AND c.membership = 'join' AND " MADMIN_LOCAL("c.state_key")) \
	/* Local memberships not forgotten (see room_forgotten in migration 3). */ \
	X(MSTMT_ADMIN_ROOM_REMEMBERED, "SELECT COUNT(*) FROM current_state c WHERE c.room_id = $1" \
	    " AND c.type = 'm.room.member' AND " MADMIN_LOCAL("c.state_key") \
	    " AND NOT EXISTS (SELECT 1 FROM room_forgotten f WHERE f.user_id = c.state_key" \
	    " AND f.room_id = c.room_id AND f.event_id = c.event_id)") \
	X(MSTMT_ADMIN_ROOM_STATE, "SELECT " MEVENT_VIEW("e") " FROM current_state c" \
	    " JOIN events e ON e.event_id = c.event_id WHERE c.room_id = $1" \
	    " AND (CAST($2 AS TEXT) IS NULL OR c.type = $2) ORDER BY e.stream") \
	X(MSTMT_ADMIN_USER_MEMBERSHIPS, "SELECT room_id FROM current_state" \
	    " WHERE type = 'm.room.member' AND state_key = $1" \
	    " AND membership IN ('join', 'invite', 'knock') ORDER BY room_id") \
	/* blocked rooms: the first admin to block one is kept */ \
	X(MSTMT_ADMIN_BLOCK_PUT, "INSERT INTO blocked_rooms (room_id, user_id, blocked_ts)" \
	    " VALUES ($1, $2, $3) ON CONFLICT (room_id) DO NOTHING") \
	X(MSTMT_ADMIN_BLOCK_DEL, "DELETE FROM blocked_rooms WHERE room_id = $1") \
	X(MSTMT_ADMIN_BLOCK_GET, "SELECT user_id FROM blocked_rooms WHERE room_id = $1") \
	/* room deletions and their outcome */ \
	X(MSTMT_ADMIN_DELETE_ADD, "INSERT INTO room_deletes (delete_id, room_id, status, error," \
	    " result, created_ts) VALUES ($1, $2, $3, $4, $5, $6)") \
	X(MSTMT_ADMIN_DELETE_GET, "SELECT delete_id, room_id, status, error, result" \
	    " FROM room_deletes WHERE delete_id = $1") \
	X(MSTMT_ADMIN_DELETE_BY_ROOM, "SELECT delete_id, room_id, status, error, result" \
	    " FROM room_deletes WHERE room_id = $1 ORDER BY created_ts, delete_id") \
	X(MSTMT_ADMIN_ALIASES_DEL, "DELETE FROM room_aliases WHERE room_id = $1") \
	/* Purging a room: every table that holds its rows, state entries before groups. */ \
	X(MSTMT_ADMIN_PURGE_SGROUP_ENTRIES, "DELETE FROM state_group_entries WHERE state_group" \
	    " IN (SELECT id FROM state_groups WHERE room_id = $1)") \
	X(MSTMT_ADMIN_PURGE_SGROUPS, "DELETE FROM state_groups WHERE room_id = $1") \
	X(MSTMT_ADMIN_PURGE_EVENTS, "DELETE FROM events WHERE room_id = $1") \
	X(MSTMT_ADMIN_PURGE_CSTATE, "DELETE FROM current_state WHERE room_id = $1") \
	X(MSTMT_ADMIN_PURGE_FWD, "DELETE FROM forward_extremities WHERE room_id = $1") \
	X(MSTMT_ADMIN_PURGE_RELATIONS, "DELETE FROM event_relations WHERE room_id = $1") \
	X(MSTMT_ADMIN_PURGE_FORGOTTEN, "DELETE FROM room_forgotten WHERE room_id = $1") \
	X(MSTMT_ADMIN_PURGE_REPORTS, "DELETE FROM event_reports WHERE room_id = $1") \
	X(MSTMT_ADMIN_PURGE_LAZY, "DELETE FROM sync_lazy_members WHERE room_id = $1") \
	X(MSTMT_ADMIN_PURGE_TYPING, "DELETE FROM typing WHERE room_id = $1") \
	X(MSTMT_ADMIN_PURGE_ACCOUNT_DATA, "DELETE FROM account_data WHERE room_id = $1") \
	X(MSTMT_ADMIN_PURGE_RECEIPTS, "DELETE FROM receipts WHERE room_id = $1") \
	X(MSTMT_ADMIN_PURGE_PUSH_ACTIONS, "DELETE FROM event_push_actions WHERE room_id = $1") \
	X(MSTMT_ADMIN_PURGE_ROOM, "DELETE FROM rooms WHERE room_id = $1") \
	/* event reports */ \
	X(MSTMT_ADMIN_REPORTS_F, MADMIN_REPORTS_SQL("ASC")) \
	X(MSTMT_ADMIN_REPORTS_B, MADMIN_REPORTS_SQL("DESC")) \
	X(MSTMT_ADMIN_REPORTS_COUNT, "SELECT COUNT(*)" MADMIN_REPORT_FROM MADMIN_REPORT_WHERE) \
	X(MSTMT_ADMIN_REPORT_GET, "SELECT " MADMIN_REPORT_COLS ", e.json" MADMIN_REPORT_FROM \
	    " WHERE r.id = $1") \
	X(MSTMT_ADMIN_REPORT_DEL, "DELETE FROM event_reports WHERE id = $1") \
	/* registration tokens: $2/$4 say whether $3/$5 (-1: none) replace the value */ \
	X(MSTMT_ADMIN_REGTOKEN_SET, "UPDATE registration_tokens SET uses_allowed = CASE" \
	    " WHEN $2 = 1 THEN NULLIF(CAST($3 AS BIGINT), -1) ELSE uses_allowed END," \
	    " expiry_time = CASE WHEN $4 = 1 THEN NULLIF(CAST($5 AS BIGINT), -1)" \
	    " ELSE expiry_time END WHERE token = $1") \
	/* One row of counts for myelin-admin stats. */ \
	X(MSTMT_ADMIN_STATS, "SELECT (SELECT COUNT(*) FROM users)," \
	    " (SELECT COUNT(*) FROM users WHERE is_admin = 1)," \
	    " (SELECT COUNT(*) FROM users WHERE deactivated = 1)," \
	    " (SELECT COUNT(*) FROM users WHERE is_guest = 1)," \
	    " (SELECT COUNT(*) FROM users WHERE shadow_banned = 1)," \
	    " (SELECT COUNT(*) FROM devices), (SELECT COUNT(*) FROM access_tokens)," \
	    " (SELECT COUNT(*) FROM rooms), (SELECT COUNT(*) FROM rooms WHERE is_public = 1)," \
	    " (SELECT COUNT(*) FROM blocked_rooms), (SELECT COUNT(*) FROM events)," \
	    " (SELECT COUNT(*) FROM event_reports), (SELECT COUNT(*) FROM registration_tokens)")

#endif
