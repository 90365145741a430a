/*
 * Statements of message retention (m.room.retention, lib/store/retention.c):
 * the rooms and their policies, and the purge of a room's old messages in
 * batches.  MRET_OLD is the events a purge may take: message events (never
 * a state event) of room $1 sent before $2, never the room's latest event
 * nor one of its forward extremities, up to stream $3; the purge runs the
 * deletes of a batch in one transaction, the events' own rows last.
 */
#ifndef MYELIN_STORE_STMTS_RETENTION_H
#define MYELIN_STORE_STMTS_RETENTION_H

#define MRET_OLD(col) "SELECT e." col " FROM events e WHERE e.room_id = $1" \
	" AND e.state_key IS NULL AND e.origin_server_ts < $2 AND e.stream <= $3" \
	" AND e.stream < (SELECT MAX(l.stream) FROM events l WHERE l.room_id = $1)" \
	" AND NOT EXISTS (SELECT 1 FROM forward_extremities f" \
	" WHERE f.room_id = $1 AND f.event_id = e.event_id)"

/* The m.room.retention events of the rooms of JSON array $1. */
#define MRET_POLICIES(rooms) "SELECT c.room_id, e.json FROM current_state c" \
	" JOIN events e ON e.event_id = c.event_id WHERE c.type = 'm.room.retention'" \
	" AND c.state_key = '' AND c.room_id IN " rooms

#define MSTMT_TABLE_RETENTION \
	X(MSTMT_RET_POLICIES, MRET_POLICIES("(SELECT value FROM json_each($1))")) \
	/* Every room and the JSON of its m.room.retention event (NULL: none). */ \
	X(MSTMT_RET_ROOMS, "SELECT r.room_id, e.json FROM rooms r" \
	    " LEFT JOIN current_state c ON c.room_id = r.room_id" \
	    " AND c.type = 'm.room.retention' AND c.state_key = ''" \
	    " LEFT JOIN events e ON e.event_id = c.event_id ORDER BY r.room_id") \
	/* The stream of the last event of the next batch of $3 (NULL: none to purge). */ \
	X(MSTMT_RET_BOUND, "SELECT MAX(b.stream) FROM (SELECT e.stream FROM events e" \
	    " WHERE e.room_id = $1 AND e.state_key IS NULL AND e.origin_server_ts < $2" \
	    " AND e.stream < (SELECT MAX(l.stream) FROM events l WHERE l.room_id = $1)" \
	    " AND NOT EXISTS (SELECT 1 FROM forward_extremities f" \
	    " WHERE f.room_id = $1 AND f.event_id = e.event_id)" \
	    " ORDER BY e.stream LIMIT $3) b") \
	X(MSTMT_RET_DEL_SEARCH, "DELETE FROM event_search WHERE rowid IN (" MRET_OLD("stream") ")") \
	X(MSTMT_RET_DEL_PUSH, "DELETE FROM event_push_actions WHERE room_id = $1" \
	    " AND event_id IN (" MRET_OLD("event_id") ")") \
	X(MSTMT_RET_DEL_RELATIONS, "DELETE FROM event_relations WHERE event_id IN (" \
	    MRET_OLD("event_id") ")") \
	X(MSTMT_RET_DEL_EXPIRY, "DELETE FROM event_expiry WHERE event_id IN (" \
	    MRET_OLD("event_id") ")") \
	/* Still queued for a server long down: a row without its event would never go. */ \
	X(MSTMT_RET_DEL_FEDQ, "DELETE FROM fed_outbox WHERE event_id IN (" \
	    MRET_OLD("event_id") ")") \
	X(MSTMT_RET_DEL_EVENTS, "DELETE FROM events WHERE stream IN (" MRET_OLD("stream") ")")

/* PostgreSQL's JSON arrays, and its event_search keyed by stream, not SQLite's FTS rowid. */
#define MSTMT_PG_RETENTION \
	P(MSTMT_RET_POLICIES, MRET_POLICIES("(SELECT jsonb_array_elements_text(CAST($1 AS jsonb)))")) \
	P(MSTMT_RET_DEL_SEARCH, "DELETE FROM event_search WHERE stream IN (" MRET_OLD("stream") ")")

#endif
