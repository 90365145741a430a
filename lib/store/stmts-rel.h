/* Statements on event relations, threads and their context (see stmts.h). */
#ifndef MYELIN_STORE_STMTS_REL_H
#define MYELIN_STORE_STMTS_REL_H

/*
 * Bundled aggregations look up the children of a page of events at once.
 * A statement has a fixed number of placeholders, so the parent IDs go in
 * batches of MREL_BATCH as an IN list; unused slots are bound to NULL,
 * which matches nothing.  MREL_BATCH plus the two other parameters stays
 * within the 16 that mdb_query binds.
 */
#define MREL_BATCH	14
#define MREL_IN_2 "($2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
#define MREL_IN_3 "($3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"

/* The children of a parent (relations pages): accepted, not redacted. */
#define MREL_LIVE MEVENT_SHOWN("") " AND redacted_by IS NULL"

/*
 * "room_id || ''" tests the room without offering event_relations_room
 * to the planner.  Where parent IDs select the rows, SQLite (without
 * ANALYZE statistics) would otherwise take the room's index and read
 * every relation of the room.  Both engines read it the same way.
 */

/*
 * $1 room, $2 parent, $3 rel_type or NULL, $4 event type or NULL,
 * $5 from, $6 to, $7 limit: as MSTMT_EVENTS_BACK / _FWD.
 */
#define MREL_DIRECT \
	"SELECT " MEVENT_COLS " FROM events WHERE event_id IN (SELECT r.event_id" \
	" FROM event_relations r WHERE r.relates_to = $2 AND r.room_id || '' = $1" \
	" AND (CAST($3 AS TEXT) IS NULL OR r.rel_type = $3))" \
	" AND (CAST($4 AS TEXT) IS NULL OR type = $4) AND" MREL_LIVE
/*
 * The same with children of children up to depth $8 (spec: recurse).
 * UNION drops repeats, and the depth bound ends any cycle.
 */
#define MREL_RECURSE \
	"WITH RECURSIVE rel(id, depth) AS (SELECT event_id, 1 FROM event_relations" \
	" WHERE relates_to = $2 AND room_id || '' = $1 UNION SELECT r.event_id, rel.depth + 1" \
	" FROM event_relations r JOIN rel ON r.relates_to = rel.id WHERE r.room_id || '' = $1" \
	" AND rel.depth < $8) SELECT " MEVENT_COLS " FROM events WHERE event_id IN" \
	" (SELECT x.event_id FROM event_relations x JOIN rel ON x.event_id = rel.id" \
	" WHERE CAST($3 AS TEXT) IS NULL OR x.rel_type = $3)" \
	" AND (CAST($4 AS TEXT) IS NULL OR type = $4) AND" MREL_LIVE

#define MSTMT_TABLE_REL \
	/* relations pages, newest first (b) or oldest first (f) */ \
	X(MSTMT_REL_PAGE_BACK, MREL_DIRECT " AND stream <= $5 AND stream > $6" \
	    " ORDER BY stream DESC LIMIT $7") \
	X(MSTMT_REL_PAGE_FWD, MREL_DIRECT " AND stream > $5 AND stream <= $6" \
	    " ORDER BY stream ASC LIMIT $7") \
	X(MSTMT_REL_RECURSE_BACK, MREL_RECURSE " AND stream <= $5 AND stream > $6" \
	    " ORDER BY stream DESC LIMIT $7") \
	X(MSTMT_REL_RECURSE_FWD, MREL_RECURSE " AND stream > $5 AND stream <= $6" \
	    " ORDER BY stream ASC LIMIT $7") \
	/* \
	 * Thread summaries of a batch of roots in room $1 for viewer $2: the \
	 * latest thread event of each root, with the thread's size and \
	 * whether the viewer sent any of it. \
	 */ \
	X(MSTMT_REL_THREADS, "SELECT " MEVENT_COLS ", t.parent, t.cnt, t.mine FROM events" \
	    " JOIN (SELECT r.event_id AS child, r.relates_to AS parent, ROW_NUMBER() OVER" \
	    " (PARTITION BY r.relates_to ORDER BY r.stream DESC) AS rn, COUNT(*) OVER" \
	    " (PARTITION BY r.relates_to) AS cnt, MAX(CASE WHEN c.sender = $2 THEN 1 ELSE 0" \
	    " END) OVER (PARTITION BY r.relates_to) AS mine FROM event_relations r" \
	    " JOIN events c ON c.event_id = r.event_id WHERE r.rel_type = 'm.thread'" \
	    " AND r.room_id || '' = $1 AND r.relates_to IN " MREL_IN_3 " AND" MEVENT_SHOWN("c.") \
	    " AND c.redacted_by IS NULL) t ON t.child = event_id WHERE t.rn = 1") \
	/* \
	 * Candidate edits of a batch of parents in room $1 (spec: "Validity \
	 * of replacement events": same sender and type, no state keys), at \
	 * the two latest origin_server_ts of each parent, so that the caller \
	 * can break ties by event ID bytewise on either engine and check \
	 * m.new_content, which the LIKE only pre-selects. \
	 */ \
	X(MSTMT_REL_EDITS, "SELECT " MEVENT_COLS ", t.parent FROM events JOIN" \
	    " (SELECT r.event_id AS child, r.relates_to AS parent, DENSE_RANK() OVER" \
	    " (PARTITION BY r.relates_to ORDER BY c.origin_server_ts DESC) AS rk" \
	    " FROM event_relations r JOIN events c ON c.event_id = r.event_id" \
	    " JOIN events p ON p.event_id = r.relates_to WHERE r.rel_type = 'm.replace'" \
	    " AND r.room_id || '' = $1 AND r.relates_to IN " MREL_IN_2 " AND" MEVENT_SHOWN("c.") \
	    " AND c.redacted_by IS NULL AND c.sender = p.sender AND c.type = p.type" \
	    " AND c.state_key IS NULL AND p.state_key IS NULL" \
	    " AND c.json LIKE '%\"m.new_content\"%') t ON t.child = event_id WHERE t.rk <= 2" \
	    " ORDER BY t.parent, origin_server_ts DESC") \
	/* References to a batch of parents in room $1, oldest first. */ \
	X(MSTMT_REL_REFS, "SELECT r.relates_to, r.event_id FROM event_relations r JOIN events c" \
	    " ON c.event_id = r.event_id WHERE r.rel_type = 'm.reference' AND r.room_id || '' = $1" \
	    " AND r.relates_to IN " MREL_IN_2 " AND" MEVENT_SHOWN("c.") " AND c.redacted_by IS NULL" \
	    " ORDER BY r.relates_to, r.stream") \
	/* \
	 * Thread roots of room $1 by latest activity (the stream position of \
	 * their latest live thread event) at or below $3; $4 non-zero: only \
	 * those viewer $2 sent or replied in.  $5 limit. \
	 */ \
	X(MSTMT_REL_THREAD_ROOTS, "SELECT " MEVENT_COLS ", t.latest FROM events JOIN" \
	    " (SELECT r.relates_to AS root, MAX(r.stream) AS latest, MAX(CASE WHEN c.sender = $2" \
	    " THEN 1 ELSE 0 END) AS mine FROM event_relations r JOIN events c" \
	    " ON c.event_id = r.event_id WHERE r.room_id = $1 AND r.rel_type = 'm.thread'" \
	    " AND" MEVENT_SHOWN("c.") " AND c.redacted_by IS NULL GROUP BY r.relates_to) t" \
	    " ON t.root = event_id WHERE room_id = $1 AND" MEVENT_SHOWN("") " AND t.latest <= $3" \
	    " AND (CAST($4 AS BIGINT) = 0 OR t.mine = 1 OR sender = $2)" \
	    " ORDER BY t.latest DESC LIMIT $5")

#endif
