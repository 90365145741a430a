/* Statements of simplified sliding sync (MSC4186): connections, rooms sent, bump stamps. */
#ifndef MYELIN_STORE_STMTS_SLIDING_H
#define MYELIN_STORE_STMTS_SLIDING_H

#define MSTMT_TABLE_SLIDING \
	/* A new connection replaces any of the same user, device and conn_id. */ \
	X(MSTMT_SLIDING_ROOMS_DEL_KEY, "DELETE FROM sliding_rooms WHERE conn IN (SELECT id" \
	    " FROM sliding_conns WHERE user_id = $1 AND device_id = $2 AND conn_id = $3)") \
	X(MSTMT_SLIDING_CONN_DEL_KEY, "DELETE FROM sliding_conns WHERE user_id = $1" \
	    " AND device_id = $2 AND conn_id = $3") \
	X(MSTMT_SLIDING_CONN_ADD, "INSERT INTO sliding_conns (user_id, device_id, conn_id, seq," \
	    " acked, used_ts) VALUES ($1, $2, $3, 0, 0, $4) RETURNING id") \
	X(MSTMT_SLIDING_CONN_GET, "SELECT seq, acked FROM sliding_conns WHERE id = $1" \
	    " AND user_id = $2 AND device_id = $3 AND conn_id = $4 AND used_ts >= $5") \
	/* The client came back with answer $2: later answers never reached it. */ \
	X(MSTMT_SLIDING_ROOMS_DROP_AFTER, "DELETE FROM sliding_rooms WHERE conn = $1 AND seq > $2") \
	/* Rows superseded by one of answer $2, which the client now has. */ \
	X(MSTMT_SLIDING_ROOMS_PRUNE, "DELETE FROM sliding_rooms WHERE conn = $1 AND seq < $2" \
	    " AND room_id IN (SELECT room_id FROM sliding_rooms WHERE conn = $1 AND seq = $2)") \
	X(MSTMT_SLIDING_CONN_ACK, "UPDATE sliding_conns SET acked = $2, used_ts = $3" \
	    " WHERE id = $1") \
	/* Each room's newest row: what the client holds of it. */ \
	X(MSTMT_SLIDING_ROOMS_GET, "SELECT r.room_id, r.stream, r.config FROM sliding_rooms r" \
	    " WHERE r.conn = $1 AND r.seq = (SELECT MAX(s.seq) FROM sliding_rooms s" \
	    " WHERE s.conn = r.conn AND s.room_id = r.room_id)") \
	X(MSTMT_SLIDING_CONN_NEXT, "UPDATE sliding_conns SET seq = seq + 1, used_ts = $2" \
	    " WHERE id = $1 RETURNING seq") \
	X(MSTMT_SLIDING_ROOM_PUT, "INSERT INTO sliding_rooms (conn, room_id, seq, stream, config)" \
	    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (conn, room_id, seq) DO UPDATE" \
	    " SET stream = excluded.stream, config = excluded.config") \
	/* \
	 * Per room of the user's memberships, the newest shown event of \
	 * Synapse's bump_event_types (SLIDING_SYNC_DEFAULT_BUMP_EVENT_TYPES): \
	 * a backward walk of events_room_stream per room that stops at the \
	 * first, not an aggregate over every event of every room. \
	 */ \
	X(MSTMT_SLIDING_BUMPS, "SELECT c.room_id, (SELECT e.stream FROM events e" \
	    " WHERE e.room_id = c.room_id AND e.stream > 0 AND e.stream <= $2" \
	    " AND e.type IN ('m.room.create', 'm.room.message', 'm.room.encrypted'," \
	    " 'm.sticker', 'm.call.invite', 'm.poll.start', 'm.beacon_info') AND" \
	    MEVENT_SHOWN("e.") " ORDER BY e.stream DESC LIMIT 1) FROM current_state c" \
	    " WHERE c.type = 'm.room.member' AND c.state_key = $1") \
	/* \
	 * The user's current membership in every room, as \
	 * MSTMT_SYNC_MEMBERSHIPS without the event's JSON: the sender only. \
	 */ \
	X(MSTMT_SLIDING_MEMBERSHIPS, "SELECT c.room_id, c.membership, e.stream, e.event_id," \
	    " e.sender FROM current_state c JOIN events e ON e.event_id = c.event_id" \
	    " WHERE c.type = 'm.room.member' AND c.state_key = $1 AND NOT EXISTS (SELECT 1" \
	    " FROM room_forgotten f WHERE f.user_id = $1 AND f.room_id = c.room_id" \
	    " AND f.event_id = c.event_id)")

#endif
