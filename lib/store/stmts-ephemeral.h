/* Statements of the typing, account data and presence streams (see stmts.h). */
#ifndef MYELIN_STORE_STMTS_EPHEMERAL_H
#define MYELIN_STORE_STMTS_EPHEMERAL_H

/* The rooms user $1 is joined to, as a subquery. */
#define MEPH_JOINED "(SELECT room_id FROM current_state WHERE type = 'm.room.member'" \
	" AND state_key = $1 AND membership = 'join')"

#define MSTMT_TABLE_EPHEMERAL \
	/* \
	 * Stream positions: the row lock of the UPDATE orders writers of one \
	 * stream, so positions become visible in the order they were taken. \
	 */ \
	X(MSTMT_ESTREAM_NEXT, "UPDATE ephemeral_streams SET pos = pos + 1 WHERE name = $1" \
	    " RETURNING pos") \
	X(MSTMT_ESTREAM_GET, "SELECT pos FROM ephemeral_streams WHERE name = $1") \
	/* \
	 * Every stream's position at once (a /sync reads them all on each \
	 * run: one round trip, not seven): the two kept in tables of their \
	 * own under names no row of ephemeral_streams has. \
	 */ \
	X(MSTMT_STREAM_POSITIONS, "SELECT '.events', pos FROM events_position WHERE id = 1" \
	    " UNION ALL SELECT '.receipts', pos FROM receipts_position WHERE id = 1" \
	    " UNION ALL SELECT name, pos FROM ephemeral_streams") \
	/* typing: until_ms 0 marks a user who stopped (the row keeps the room's position). */ \
	X(MSTMT_TYPING_GET, "SELECT until_ms FROM typing WHERE room_id = $1 AND user_id = $2") \
	X(MSTMT_TYPING_EXTEND, "UPDATE typing SET until_ms = $3 WHERE room_id = $1" \
	    " AND user_id = $2") \
	X(MSTMT_TYPING_PUT, "INSERT INTO typing (room_id, user_id, until_ms, stream)" \
	    " VALUES ($1, $2, $3, $4) ON CONFLICT (room_id, user_id) DO UPDATE" \
	    " SET until_ms = excluded.until_ms, stream = excluded.stream") \
	X(MSTMT_TYPING_NEXT_EXPIRY, "SELECT MIN(until_ms) FROM typing WHERE until_ms > 0") \
	X(MSTMT_TYPING_EXPIRE, "UPDATE typing SET until_ms = 0, stream = $2" \
	    " WHERE until_ms > 0 AND until_ms <= $1") \
	/* \
	 * Every row of the rooms user $1 is joined to whose typing moved in \
	 * ($2, $3]: the whole list of a room that changed. \
	 */ \
	X(MSTMT_TYPING_SYNC, "SELECT room_id, user_id, until_ms FROM typing" \
	    " WHERE room_id IN " MEPH_JOINED " AND room_id IN (SELECT room_id FROM typing" \
	    " WHERE stream > $2 AND stream <= $3) ORDER BY room_id, user_id") \
	/* account data: room_id '' holds the global account data. */ \
	X(MSTMT_ACCOUNT_DATA_GET, "SELECT content FROM account_data WHERE user_id = $1" \
	    " AND room_id = $2 AND type = $3") \
	X(MSTMT_ACCOUNT_DATA_PUT, "INSERT INTO account_data (user_id, room_id, type, content," \
	    " stream) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, room_id, type)" \
	    " DO UPDATE SET content = excluded.content, stream = excluded.stream") \
	X(MSTMT_ACCOUNT_DATA_SYNC, "SELECT room_id, type, content FROM account_data" \
	    " WHERE user_id = $1 AND stream > $2 AND stream <= $3 ORDER BY stream") \
	/* presence */ \
	X(MSTMT_PRESENCE_GET, "SELECT presence, status_msg, last_active_ts, stream" \
	    " FROM presence WHERE user_id = $1") \
	X(MSTMT_PRESENCE_PUT, "INSERT INTO presence (user_id, presence, status_msg," \
	    " last_active_ts, stream) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id)" \
	    " DO UPDATE SET presence = excluded.presence, status_msg = excluded.status_msg," \
	    " last_active_ts = excluded.last_active_ts, stream = excluded.stream") \
	/* A sync's refresh of an online user's activity: no new position. */ \
	X(MSTMT_PRESENCE_ACTIVE, "UPDATE presence SET last_active_ts = $2" \
	    " WHERE user_id = $1 AND presence = 'online'") \
	/* \
	 * Lapses: online idle since before $1 becomes unavailable; online or \
	 * unavailable idle since before $2 (earlier) becomes offline. \
	 */ \
	X(MSTMT_PRESENCE_STALE, "SELECT 1 FROM presence WHERE (presence = 'online'" \
	    " AND last_active_ts < $1) OR (presence = 'unavailable' AND last_active_ts < $2)" \
	    " LIMIT 1") \
	X(MSTMT_PRESENCE_LAPSE_OFFLINE, "UPDATE presence SET presence = 'offline', stream = $2" \
	    " WHERE presence IN ('online', 'unavailable') AND last_active_ts < $1") \
	X(MSTMT_PRESENCE_LAPSE_IDLE, "UPDATE presence SET presence = 'unavailable', stream = $2" \
	    " WHERE presence = 'online' AND last_active_ts < $1") \
	/* Whether users $1 and $2 are both joined to some room. */ \
	X(MSTMT_PRESENCE_SHARE, "SELECT 1 FROM current_state WHERE type = 'm.room.member'" \
	    " AND state_key = $2 AND membership = 'join' AND room_id IN " MEPH_JOINED \
	    " LIMIT 1") \
	/* Presence moved in ($2, $3] of user $1 and of those sharing a room with them. */ \
	X(MSTMT_PRESENCE_SYNC, "SELECT user_id, presence, status_msg, last_active_ts" \
	    " FROM presence WHERE stream > $2 AND stream <= $3 AND (user_id = $1" \
	    " OR user_id IN (SELECT state_key FROM current_state WHERE type = 'm.room.member'" \
	    " AND membership = 'join' AND room_id IN " MEPH_JOINED ")) ORDER BY user_id") \
	/* \
	 * One room's typing and its joined members' presence that moved in \
	 * ($2, $3], for whoever may read room $1 (peeking, GET /events). \
	 */ \
	X(MSTMT_TYPING_ROOM, "SELECT room_id, user_id, until_ms FROM typing WHERE room_id = $1" \
	    " AND EXISTS (SELECT 1 FROM typing WHERE room_id = $1 AND stream > $2" \
	    " AND stream <= $3) ORDER BY user_id") \
	X(MSTMT_PRESENCE_ROOM, "SELECT user_id, presence, status_msg, last_active_ts" \
	    " FROM presence WHERE stream > $2 AND stream <= $3 AND user_id IN (SELECT state_key" \
	    " FROM current_state WHERE room_id = $1 AND type = 'm.room.member'" \
	    " AND membership = 'join') ORDER BY user_id") \
	/* \
	 * Presence (offline when never set) of the others joined to a room \
	 * user $1 joined in events positions ($2, $3], and of those who \
	 * joined a room of $1's in that range: from $1's memberships and the \
	 * range's member events, never from whole member lists of old rooms \
	 * (both halves read from the stream: CROSS JOIN keeps SQLite's order). \
	 */ \
	X(MSTMT_PRESENCE_NEWLY, "SELECT u.user_id, COALESCE(p.presence, 'offline')," \
	    " p.status_msg, COALESCE(p.last_active_ts, 0) FROM (SELECT c.state_key AS user_id" \
	    " FROM events me_e CROSS JOIN current_state me" \
	    " JOIN current_state c ON c.room_id = me.room_id AND c.type = 'm.room.member'" \
	    " AND c.membership = 'join' WHERE me.event_id = me_e.event_id" \
	    " AND me.room_id = me_e.room_id AND me.type = 'm.room.member' AND me.state_key = $1" \
	    " AND me_e.type = 'm.room.member' AND me_e.state_key = $1" \
	    " AND me.membership = 'join' AND me_e.stream > $2 AND me_e.stream <= $3" \
	    " UNION SELECT c.state_key FROM events e CROSS JOIN current_state c" \
	    " CROSS JOIN current_state me" \
	    " WHERE c.room_id = e.room_id AND c.type = e.type AND c.state_key = e.state_key" \
	    " AND c.event_id = e.event_id AND c.membership = 'join'" \
	    " AND me.room_id = e.room_id AND me.type = 'm.room.member' AND me.state_key = $1" \
	    " AND me.membership = 'join' AND e.stream > $2 AND e.stream <= $3" \
	    " AND e.type = 'm.room.member') AS u LEFT JOIN presence p ON p.user_id = u.user_id" \
	    " WHERE u.user_id <> $1 ORDER BY u.user_id")

#endif
