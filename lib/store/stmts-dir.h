/* Statements on the room directory, summaries, forgotten rooms and reports (see stmts.h). */
#ifndef MYELIN_STORE_STMTS_DIR_H
#define MYELIN_STORE_STMTS_DIR_H

/* The state a room's public summary is made of (spec: PublishedRoomsChunk). */
#define MDIR_SUMMARY_TYPES "('m.room.create', 'm.room.name', 'm.room.topic'," \
	" 'm.room.canonical_alias', 'm.room.avatar', 'm.room.join_rules'," \
	" 'm.room.history_visibility', 'm.room.guest_access', 'm.room.encryption')"

#define MSTMT_TABLE_DIR \
	/* One room's summary: its state, then its joined members. */ \
	X(MSTMT_DIR_SUMMARY_STATE, "SELECT c.type, e.json FROM current_state c" \
	    " JOIN events e ON e.event_id = c.event_id WHERE c.room_id = $1" \
	    " AND c.state_key = '' AND c.type IN " MDIR_SUMMARY_TYPES) \
	X(MSTMT_DIR_JOINED_COUNT, "SELECT COUNT(*) FROM current_state WHERE room_id = $1" \
	    " AND type = 'm.room.member' AND membership = 'join'") \
	/* Every published room at once: two queries whatever their number. */ \
	X(MSTMT_DIR_PUBLIC_STATE, "SELECT c.room_id, c.type, e.json FROM rooms r" \
	    " JOIN current_state c ON c.room_id = r.room_id" \
	    " JOIN events e ON e.event_id = c.event_id WHERE r.is_public = 1" \
	    " AND c.state_key = '' AND c.type IN " MDIR_SUMMARY_TYPES) \
	X(MSTMT_DIR_PUBLIC_ROOMS, "SELECT r.room_id, r.room_version, (SELECT COUNT(*)" \
	    " FROM current_state c WHERE c.room_id = r.room_id AND c.type = 'm.room.member'" \
	    " AND c.membership = 'join') FROM rooms r WHERE r.is_public = 1") \
	/* Application services' lists of their networks (PUT /directory/list/appservice). */ \
	X(MSTMT_DIR_AS_ROOM_PUT, "INSERT INTO appservice_rooms (appservice_id, network_id," \
	    " room_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING") \
	X(MSTMT_DIR_AS_ROOM_DEL, "DELETE FROM appservice_rooms WHERE appservice_id = $1" \
	    " AND network_id = $2 AND room_id = $3") \
	X(MSTMT_DIR_AS_ROOMS, "SELECT DISTINCT room_id FROM appservice_rooms" \
	    " WHERE appservice_id = $1 AND network_id = $2 ORDER BY room_id") \
	X(MSTMT_DIR_AS_ROOMS_PURGE, "DELETE FROM appservice_rooms WHERE room_id = $1") \
	X(MSTMT_DIR_AS_ROOMS_ALL, "SELECT DISTINCT room_id FROM appservice_rooms ORDER BY room_id") \
	/* spaces */ \
	X(MSTMT_DIR_SPACE_CHILDREN, "SELECT c.state_key, e.json, c.event_id FROM current_state c" \
	    " JOIN events e ON e.event_id = c.event_id WHERE c.room_id = $1" \
	    " AND c.type = 'm.space.child'") \
	/* Upgrades move a room's local aliases to its replacement. */ \
	X(MSTMT_DIR_ALIAS_MOVE, "UPDATE room_aliases SET room_id = $2 WHERE room_id = $1") \
	/* Forgotten rooms: the membership event forgotten, so a later one undoes it. */ \
	X(MSTMT_DIR_FORGET, "INSERT INTO room_forgotten (user_id, room_id, event_id," \
	    " forgotten_ts) VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, room_id)" \
	    " DO UPDATE SET event_id = excluded.event_id, forgotten_ts = excluded.forgotten_ts") \
	X(MSTMT_DIR_FORGOTTEN, "SELECT f.room_id FROM room_forgotten f JOIN current_state c" \
	    " ON c.room_id = f.room_id AND c.type = 'm.room.member' AND c.state_key = f.user_id" \
	    " AND c.event_id = f.event_id WHERE f.user_id = $1 AND f.room_id = $2") \
	X(MSTMT_DIR_FORGOTTEN_ALL, "SELECT f.room_id FROM room_forgotten f JOIN current_state c" \
	    " ON c.room_id = f.room_id AND c.type = 'm.room.member' AND c.state_key = f.user_id" \
	    " AND c.event_id = f.event_id WHERE f.user_id = $1 ORDER BY f.room_id") \
	/* event reports */ \
	X(MSTMT_DIR_REPORT_ADD, "INSERT INTO event_reports (room_id, event_id, user_id, reason," \
	    " score, received_ts) VALUES ($1, $2, $3, $4, $5, $6)")

#endif
