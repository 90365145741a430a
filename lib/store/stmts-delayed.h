/*
 * Statements of delayed events (MSC4140): one row per scheduled event,
 * due at running_since + delay_ms; the timer daemon claims a due row by
 * deleting it in the transaction that sends its event.
 */
#ifndef MYELIN_STORE_STMTS_DELAYED_H
#define MYELIN_STORE_STMTS_DELAYED_H

#define MSTMT_TABLE_DELAYED \
	X(MSTMT_DELAYED_ADD, "INSERT INTO delayed_events (delay_id, user_id, device_id," \
	    " room_id, type, state_key, content, delay_ms, running_since, due_ts)" \
	    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)") \
	X(MSTMT_DELAYED_COUNT, "SELECT COUNT(*) FROM delayed_events WHERE user_id = $1") \
	X(MSTMT_DELAYED_LIST, "SELECT delay_id, room_id, type, state_key, content, delay_ms," \
	    " running_since FROM delayed_events WHERE user_id = $1 ORDER BY due_ts, delay_id") \
	X(MSTMT_DELAYED_RESTART, "UPDATE delayed_events SET running_since = $3," \
	    " due_ts = $3 + delay_ms WHERE delay_id = $1 AND user_id = $2") \
	X(MSTMT_DELAYED_DUE_NOW, "UPDATE delayed_events SET due_ts = $3" \
	    " WHERE delay_id = $1 AND user_id = $2") \
	X(MSTMT_DELAYED_DEL, "DELETE FROM delayed_events WHERE delay_id = $1 AND user_id = $2") \
	X(MSTMT_DELAYED_DUE, "SELECT delay_id, user_id, device_id, room_id, type, state_key," \
	    " content FROM delayed_events WHERE due_ts <= $1 ORDER BY due_ts, delay_id LIMIT $2") \
	X(MSTMT_DELAYED_CLAIM, "DELETE FROM delayed_events WHERE delay_id = $1") \
	X(MSTMT_DELAYED_NEXT, "SELECT MIN(due_ts) FROM delayed_events") \
	X(MSTMT_DELAYED_CANCEL_STATE, "DELETE FROM delayed_events WHERE room_id = $1" \
	    " AND type = $2 AND state_key = $3 AND user_id <> $4")

#endif
