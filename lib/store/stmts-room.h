/* Statements on rooms, events and state (see stmts.h for the rules). */
#ifndef MYELIN_STORE_STMTS_ROOM_H
#define MYELIN_STORE_STMTS_ROOM_H

/*
 * What a reader of the events row t is shown beside its PDU, never kept
 * in it: the ID of the state event it replaced, that event's PDU (for
 * unsigned.prev_content and prev_sender, read now: a redacted one shows
 * its redacted content) and the PDU of the redaction that redacted it
 * (unsigned.redacted_because).  Each is a primary-key probe, made only
 * when there is an ID to look up: most events replace nothing and are
 * not redacted, and the probe with a NULL key cost a third as much again
 * as reading the row (an initial /sync reads thousands).
 */
#define MEVENT_NOTES(t) t ".replaces_state," \
	" CASE WHEN " t ".replaces_state IS NULL THEN NULL ELSE (SELECT an_p.json" \
	" FROM events an_p WHERE an_p.event_id = " t ".replaces_state) END AS prev_json," \
	" CASE WHEN " t ".redacted_by IS NULL THEN NULL ELSE (SELECT an_r.json" \
	" FROM events an_r WHERE an_r.event_id = " t ".redacted_by) END AS redaction_json"

/* The columns of an event row (mstore_evrow_read), MEVENT_NCOLS of them. */
#define MEVENT_COLS "stream, event_id, room_id, type, state_key, sender, depth," \
	" origin_server_ts, state_before, state_after, rejected, redacted_by, txn_user," \
	" txn_device, txn_id, json, " MEVENT_NOTES("events")

/* One current state entry's PDU, its type and state_key parameters $t and $k. */
#define MSTORE_CSTATE_PDU(t, k) "SELECT c.type, c.state_key, e.json, e.event_id" \
	" FROM current_state c JOIN events e ON e.event_id = c.event_id WHERE c.room_id = $1" \
	" AND c.type = $" #t " AND c.state_key = $" #k

/*
 * A state event as the readers of state get it (mstore_json_with_id):
 * the PDU, its ID, redacted_by and the notes, of the events row t.
 */
#define MEVENT_VIEW(t) t ".json, " t ".event_id, " t ".redacted_by, " MEVENT_NOTES(t)

#define MSTMT_TABLE_ROOM \
	/* rooms */ \
	X(MSTMT_ROOM_ADD, "INSERT INTO rooms (room_id, room_version, creator, created_ts)" \
	    " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING") \
	X(MSTMT_ROOM_GET, "SELECT room_id, room_version, creator, is_public, created_ts" \
	    " FROM rooms WHERE room_id = $1") \
	/* Taking a room's row lock orders writers of one room (PostgreSQL); \
	 * SQLite's BEGIN IMMEDIATE already holds the database's write lock. */ \
	X(MSTMT_ROOM_LOCK, "UPDATE rooms SET lock_seq = lock_seq + 1 WHERE room_id = $1") \
	/* Both in one statement: the row a writer locks is the row it reads. */ \
	X(MSTMT_ROOM_GET_LOCK, "UPDATE rooms SET lock_seq = lock_seq + 1 WHERE room_id = $1" \
	    " RETURNING room_id, room_version, creator, is_public, created_ts, state_seq," \
	    " (SELECT p.seq FROM push_rules_seq p WHERE p.id = 1)") \
	/* The same columns for SQLite, whose BEGIN IMMEDIATE holds the lock already. */ \
	X(MSTMT_ROOM_GET_SEQS, "SELECT room_id, room_version, creator, is_public, created_ts," \
	    " state_seq, (SELECT p.seq FROM push_rules_seq p WHERE p.id = 1)" \
	    " FROM rooms WHERE room_id = $1") \
	/* The version of a room's current state (migration 35). */ \
	X(MSTMT_ROOM_STATE_BUMP, "UPDATE rooms SET state_seq = state_seq + 1 WHERE room_id = $1") \
	X(MSTMT_ROOM_STATE_BUMP_EVENT, "UPDATE rooms SET state_seq = state_seq + 1" \
	    " WHERE room_id = (SELECT room_id FROM events WHERE event_id = $1)") \
	X(MSTMT_ROOM_SET_PUBLIC, "UPDATE rooms SET is_public = $2 WHERE room_id = $1") \
	X(MSTMT_ROOM_LIST_PUBLIC, "SELECT room_id FROM rooms WHERE is_public = 1" \
	    " AND room_id > $1 ORDER BY room_id LIMIT $2") \
	/* events */ \
	/* \
	 * The next position of the events stream: the row lock of the UPDATE \
	 * is held to commit, so writers' positions commit in the order taken \
	 * (SQLite's BEGIN IMMEDIATE serialises writers already). \
	 */ \
	X(MSTMT_EVENTS_POS_NEXT, "UPDATE events_position SET pos = pos + 1 WHERE id = 1" \
	    " RETURNING pos") \
	/* The next position of history from elsewhere: 0, -1, -2... (migration 15). */ \
	X(MSTMT_EVENTS_BACKPOS_NEXT, "UPDATE events_position SET pos = pos - 1 WHERE id = 2" \
	    " RETURNING pos") \
	X(MSTMT_EVENT_ADD, "INSERT INTO events (event_id, room_id, type, state_key, sender," \
	    " depth, origin_server_ts, state_before, state_after, rejected, txn_user," \
	    " txn_device, txn_id, json, txn_scope, stream, replaces_state, outlier, soft_failed)" \
	    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17," \
	    " $18, $19)") \
	/* An outlier given its place in the DAG by backfill (history). */ \
	X(MSTMT_EVENT_DEOUTLIER, "UPDATE events SET state_before = $2, state_after = $3," \
	    " stream = $4, replaces_state = $5, outlier = 0 WHERE event_id = $1 AND outlier <> 0" \
	    " AND rejected IS NULL") \
	/* What the write path of a received event reads of one it refers to. */ \
	X(MSTMT_EVENT_FLAGS, "SELECT state_after, rejected, outlier, soft_failed, room_id" \
	    " FROM events WHERE event_id = $1") \
	X(MSTMT_EVENT_GET, "SELECT " MEVENT_COLS " FROM events WHERE event_id = $1") \
	X(MSTMT_EVENT_BY_TXN, "SELECT event_id FROM events WHERE room_id = $1 AND" \
	    " txn_user = $2 AND txn_device = $3 AND txn_id = $4 AND txn_scope = $5") \
	X(MSTMT_EVENT_REDACT, "UPDATE events SET json = $2, redacted_by = $3 WHERE event_id = $1") \
	/* The stored PDU replaced by a copy with more signatures (an invitee server's). */ \
	X(MSTMT_EVENT_JSON_SET, "UPDATE events SET json = $2 WHERE event_id = $1") \
	/* An invite received from another server: the stripped state it came with. */ \
	X(MSTMT_INVITE_STATE_PUT, "INSERT INTO invite_state (event_id, room_id, state)" \
	    " VALUES ($1, $2, $3) ON CONFLICT (event_id) DO NOTHING") \
	X(MSTMT_INVITE_STATE_GET, "SELECT state FROM invite_state WHERE event_id = $1") \
	/* Timeline pages: events of a room by stream position. */ \
	X(MSTMT_EVENTS_BACK, "SELECT " MEVENT_COLS " FROM events WHERE room_id = $1" \
	    " AND stream <= $2 AND stream > $3 AND" MEVENT_SHOWN("") " ORDER BY stream DESC LIMIT $4") \
	X(MSTMT_EVENTS_FWD, "SELECT " MEVENT_COLS " FROM events WHERE room_id = $1" \
	    " AND stream > $2 AND stream <= $3 AND" MEVENT_SHOWN("") " ORDER BY stream ASC LIMIT $4") \
	/* \
	 * Timeline pages in topological order, (depth, stream) pairs compared \
	 * as rows (one index range on both backends): backwards from >= pos > \
	 * to, forwards from < pos <= to. \
	 */ \
	X(MSTMT_EVENTS_TOPO_BACK, "SELECT " MEVENT_COLS " FROM events WHERE room_id = $1" \
	    " AND (depth, stream) <= ($2, $3) AND (depth, stream) > ($4, $5) AND" \
	    MEVENT_SHOWN("") \
	    " ORDER BY depth DESC, stream DESC LIMIT $6") \
	X(MSTMT_EVENTS_TOPO_FWD, "SELECT " MEVENT_COLS " FROM events WHERE room_id = $1" \
	    " AND (depth, stream) > ($2, $3) AND (depth, stream) <= ($4, $5) AND" \
	    MEVENT_SHOWN("") \
	    " ORDER BY depth ASC, stream ASC LIMIT $6") \
	/* The topological place of a stream position: its room's last event at or before it. */ \
	X(MSTMT_EVENTS_TOPO_AT, "SELECT depth, stream FROM events WHERE room_id = $1" \
	    " AND stream <= $2 AND" MEVENT_SHOWN("") " ORDER BY stream DESC LIMIT 1") \
	/* \
	 * The committed position: every event at or below it is visible \
	 * (MAX(stream) is not, while lower positions are uncommitted). \
	 */ \
	X(MSTMT_EVENTS_MAX_STREAM, "SELECT pos FROM events_position WHERE id = 1") \
	/* The state after a room's last event at or before a stream position. */ \
	X(MSTMT_ROOM_STATE_AT, "SELECT state_after FROM events WHERE room_id = $1" \
	    " AND stream <= $2 AND" MEVENT_SHOWN("") " ORDER BY stream DESC LIMIT 1") \
	/* state groups: deltas on a previous group, a full snapshot every so often */ \
	X(MSTMT_SGROUP_ADD, "INSERT INTO state_groups (room_id, prev_group, chain)" \
	    " VALUES ($1, $2, $3) RETURNING id") \
	X(MSTMT_SGROUP_GET, "SELECT room_id, prev_group, chain FROM state_groups WHERE id = $1") \
	X(MSTMT_SGROUP_ENTRY_ADD, "INSERT INTO state_group_entries (state_group, type," \
	    " state_key, event_id) VALUES ($1, $2, $3, $4)") \
	/* The whole state of a group: older links first, so later rows override. */ \
	X(MSTMT_SGROUP_STATE, "WITH RECURSIVE chain(id, n) AS (SELECT CAST($1 AS BIGINT), 0" \
	    " UNION ALL SELECT g.prev_group, c.n + 1 FROM state_groups g JOIN chain c" \
	    " ON g.id = c.id WHERE g.prev_group IS NOT NULL)" \
	    " SELECT e.type, e.state_key, e.event_id FROM state_group_entries e" \
	    " JOIN chain c ON e.state_group = c.id ORDER BY c.n DESC") \
	/* current state */ \
	X(MSTMT_CSTATE_PUT, "INSERT INTO current_state (room_id, type, state_key, event_id," \
	    " membership) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (room_id, type, state_key)" \
	    " DO UPDATE SET event_id = excluded.event_id, membership = excluded.membership") \
	X(MSTMT_CSTATE_DEL, "DELETE FROM current_state WHERE room_id = $1 AND type = $2" \
	    " AND state_key = $3") \
	X(MSTMT_CSTATE_MAP, "SELECT type, state_key, event_id FROM current_state" \
	    " WHERE room_id = $1") \
	X(MSTMT_CSTATE_GET, "SELECT event_id FROM current_state WHERE room_id = $1" \
	    " AND type = $2 AND state_key = $3") \
	X(MSTMT_CSTATE_GET_JSON, "SELECT " MEVENT_VIEW("e") " FROM current_state c JOIN events e" \
	    " ON e.event_id = c.event_id WHERE c.room_id = $1 AND c.type = $2 AND c.state_key = $3") \
	/* The write path's read of one state event: the PDU alone (mstore_cstate_pdu). */ \
	X(MSTMT_CSTATE_GET_PDU, "SELECT e.json, e.event_id FROM current_state c JOIN events e" \
	    " ON e.event_id = c.event_id WHERE c.room_id = $1 AND c.type = $2 AND c.state_key = $3") \
	/* Up to four entries at once, (type, state_key) as $2/$3 ... $8/$9, NULL for none: \
	 * each its own index lookup, as one entry's statement is. */ \
	X(MSTMT_CSTATE_GET_PDUS, MSTORE_CSTATE_PDU(2, 3) " UNION ALL " MSTORE_CSTATE_PDU(4, 5) \
	    " UNION ALL " MSTORE_CSTATE_PDU(6, 7) " UNION ALL " MSTORE_CSTATE_PDU(8, 9)) \
	X(MSTMT_CSTATE_ALL, "SELECT " MEVENT_VIEW("e") " FROM current_state c" \
	    " JOIN events e ON e.event_id = c.event_id WHERE c.room_id = $1") \
	X(MSTMT_CSTATE_MEMBERS, "SELECT c.state_key, c.membership, e.json FROM current_state c" \
	    " JOIN events e ON e.event_id = c.event_id WHERE c.room_id = $1" \
	    " AND c.type = 'm.room.member'") \
	X(MSTMT_CSTATE_USER_ROOMS, "SELECT room_id FROM current_state WHERE type = 'm.room.member'" \
	    " AND state_key = $1 AND membership = $2 ORDER BY room_id") \
	/* MSC2228: events to prune at expiry_ts, the due ones first. */ \
	X(MSTMT_EXPIRY_ADD, "INSERT INTO event_expiry (event_id, expiry_ts) VALUES ($1, $2)" \
	    " ON CONFLICT DO NOTHING") \
	X(MSTMT_EXPIRY_DUE, "SELECT event_id FROM event_expiry WHERE expiry_ts <= $1" \
	    " ORDER BY expiry_ts, event_id LIMIT $2") \
	X(MSTMT_EXPIRY_NEXT, "SELECT MIN(expiry_ts) FROM event_expiry") \
	X(MSTMT_EXPIRY_DEL, "DELETE FROM event_expiry WHERE event_id = $1") \
	/* The room's local guests joined or invited (users holds local accounts only). */ \
	X(MSTMT_CSTATE_GUESTS, "SELECT c.state_key FROM current_state c JOIN users u" \
	    " ON u.user_id = c.state_key WHERE c.room_id = $1 AND c.type = 'm.room.member'" \
	    " AND c.membership IN ('join', 'invite') AND u.is_guest <> 0 ORDER BY c.state_key") \
	/* forward extremities */ \
	X(MSTMT_FWD_LIST, "SELECT f.event_id, e.depth, e.state_after FROM forward_extremities f" \
	    " JOIN events e ON e.event_id = f.event_id WHERE f.room_id = $1" \
	    " ORDER BY e.depth DESC, f.event_id") \
	X(MSTMT_FWD_GROUPS, "SELECT DISTINCT e.state_after FROM forward_extremities f" \
	    " JOIN events e ON e.event_id = f.event_id WHERE f.room_id = $1" \
	    " ORDER BY e.state_after") \
	X(MSTMT_FWD_ADD, "INSERT INTO forward_extremities (room_id, event_id) VALUES ($1, $2)" \
	    " ON CONFLICT DO NOTHING") \
	X(MSTMT_FWD_DEL, "DELETE FROM forward_extremities WHERE room_id = $1 AND event_id = $2") \
	/* An event on one extremity takes its place: a statement, not two. */ \
	X(MSTMT_FWD_MOVE, "UPDATE forward_extremities SET event_id = $3" \
	    " WHERE room_id = $1 AND event_id = $2") \
	/* backward extremities (migration 25): unknown prev events of the DAG */ \
	X(MSTMT_BWD_ADD, "INSERT INTO backward_extremities (room_id, event_id, depth)" \
	    " VALUES ($1, $2, $3) ON CONFLICT (room_id, event_id)" \
	    " DO UPDATE SET depth = excluded.depth" \
	    " WHERE backward_extremities.depth < excluded.depth") \
	X(MSTMT_BWD_DEL, "DELETE FROM backward_extremities WHERE event_id = $1") \
	X(MSTMT_BWD_LIST, "SELECT event_id, depth FROM backward_extremities WHERE room_id = $1" \
	    " AND depth <= $2 AND depth >= $3 ORDER BY depth DESC, event_id LIMIT $4") \
	/* aliases */ \
	X(MSTMT_ALIAS_ADD, "INSERT INTO room_aliases (alias, room_id, creator) VALUES ($1, $2, $3)" \
	    " ON CONFLICT DO NOTHING") \
	X(MSTMT_ALIAS_GET, "SELECT room_id, creator FROM room_aliases WHERE alias = $1") \
	X(MSTMT_ALIAS_DEL, "DELETE FROM room_aliases WHERE alias = $1") \
	X(MSTMT_ALIAS_LIST, "SELECT alias FROM room_aliases WHERE room_id = $1 ORDER BY alias") \
	/* relations */ \
	X(MSTMT_RELATION_ADD, "INSERT INTO event_relations (event_id, relates_to, rel_type," \
	    " aggregation_key, room_id, stream) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING")

#endif
