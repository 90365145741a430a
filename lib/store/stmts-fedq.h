/* Statements on the outbound federation queue (lib/fed/sender.c; see stmts.h). */
#ifndef MYELIN_STORE_STMTS_FEDQ_H
#define MYELIN_STORE_STMTS_FEDQ_H

#define MSTMT_TABLE_FEDQ \
	X(MSTMT_FEDQ_ADD, "INSERT INTO fed_outbox (destination, event_id, created_ts)" \
	    " VALUES ($1, $2, $3)") \
	/* Whether a room has joined members whose ID does not end like ours ($2: "%:name"). */ \
	X(MSTMT_FEDQ_ROOM_REMOTE, "SELECT 1 FROM current_state WHERE room_id = $1" \
	    " AND type = 'm.room.member' AND membership = 'join' AND state_key NOT LIKE $2" \
	    " LIMIT 1") \
	X(MSTMT_FEDQ_ROOM_JOINED, "SELECT state_key FROM current_state WHERE room_id = $1" \
	    " AND type = 'm.room.member' AND membership = 'join'") \
	/* The destinations with events queued and no backoff running at $1. */ \
	X(MSTMT_FEDQ_DUE, "SELECT q.destination FROM (SELECT destination FROM fed_outbox" \
	    " UNION SELECT destination FROM fed_edus) q" \
	    " LEFT JOIN fed_destinations d ON d.destination = q.destination" \
	    " WHERE d.retry_at IS NULL OR d.retry_at <= $1 ORDER BY q.destination") \
	/* The soonest end of a backoff with events waiting behind it. */ \
	X(MSTMT_FEDQ_NEXT_RETRY, "SELECT MIN(d.retry_at) FROM fed_destinations d" \
	    " WHERE d.retry_at > $1 AND (EXISTS (SELECT 1 FROM fed_outbox o" \
	    " WHERE o.destination = d.destination) OR EXISTS (SELECT 1 FROM fed_edus x" \
	    " WHERE x.destination = d.destination))") \
	/* Up to $2 rows of $1 at positions up to $3. */ \
	X(MSTMT_FEDQ_BATCH, "SELECT o.id, e.json FROM fed_outbox o" \
	    " JOIN events e ON e.event_id = o.event_id WHERE o.destination = $1" \
	    " AND o.id <= $3 ORDER BY o.id LIMIT $2") \
	X(MSTMT_FEDQ_DONE, "DELETE FROM fed_outbox WHERE destination = $1 AND id <= $2") \
	X(MSTMT_FEDQ_EDU_ADD, "INSERT INTO fed_edus (destination, edu_type, ekey, content," \
	    " created_ts) VALUES ($1, $2, $3, $4, $5)") \
	X(MSTMT_FEDQ_EDU_REPLACE, "DELETE FROM fed_edus WHERE destination = $1" \
	    " AND edu_type = $2 AND ekey = $3") \
	X(MSTMT_FEDQ_EDU_BATCH, "SELECT id, edu_type, content FROM fed_edus" \
	    " WHERE destination = $1 AND id <= $3 ORDER BY id LIMIT $2") \
	X(MSTMT_FEDQ_EDU_DONE, "DELETE FROM fed_edus WHERE destination = $1 AND id <= $2") \
	X(MSTMT_FEDQ_BACKOFF_GET, "SELECT backoff_ms FROM fed_destinations" \
	    " WHERE destination = $1") \
	X(MSTMT_FEDQ_BACKOFF_SET, "INSERT INTO fed_destinations (destination, retry_at," \
	    " backoff_ms) VALUES ($1, $2, $3) ON CONFLICT (destination) DO UPDATE" \
	    " SET retry_at = excluded.retry_at, backoff_ms = excluded.backoff_ms") \
	/* The transaction in flight to a destination (migration 33). */ \
	X(MSTMT_FEDQ_TXN_GET, "SELECT txn_pdu, txn_edu FROM fed_destinations" \
	    " WHERE destination = $1") \
	X(MSTMT_FEDQ_TXN_SET, "INSERT INTO fed_destinations (destination, txn_pdu, txn_edu)" \
	    " VALUES ($1, $2, $3) ON CONFLICT (destination) DO UPDATE" \
	    " SET txn_pdu = excluded.txn_pdu, txn_edu = excluded.txn_edu")

#endif
