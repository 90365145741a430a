/* Statements of history visibility: a user's standing and the state at events (see stmts.h). */
#ifndef MYELIN_STORE_STMTS_VIS_H
#define MYELIN_STORE_STMTS_VIS_H

/*
 * $1 the user, $2 a JSON array of room IDs: the user's current membership
 * event in each, with its position, state groups, and whether the user
 * forgot the room since (room_forgotten is keyed by that event).
 */
#define MVIS_STANDINGS(rooms) \
	"SELECT c.room_id, c.membership, e.stream, e.state_before, e.state_after, " \
	MFORGOTTEN \
	" FROM current_state c JOIN events e ON e.event_id = c.event_id" \
	" WHERE c.type = 'm.room.member' AND c.state_key = $1 AND c.room_id IN " rooms

/*
 * $1 the user, $2 a JSON array of state groups: every group of their
 * chains, each once (id, ordered), with the link before it and what it
 * sets itself of the user's membership (kind 0) and the room's
 * history_visibility (kind 1): whether it sets it (its event found) and
 * the value.  The reader follows each chain (see mstore_vis_groups):
 * chains of one room share their links, and each link is read once,
 * not once for every group asked for whose chain holds it.  Chains are
 * at most a snapshot's bound long (see mstore_sgroup_add), and each
 * lookup is one primary-key probe.
 */
#define MVIS_GROUPS(groups, member, visibility) \
	"WITH RECURSIVE link(id) AS (SELECT g.v FROM " groups " g" \
	" UNION SELECT s.prev_group FROM link l JOIN state_groups s ON s.id = l.id" \
	" WHERE s.prev_group IS NOT NULL)" \
	" SELECT l.id, COALESCE(g.prev_group, 0)," \
	" CASE WHEN em.event_id IS NULL THEN 0 ELSE 1 END, " member "," \
	" CASE WHEN eh.event_id IS NULL THEN 0 ELSE 1 END, " visibility \
	" FROM link l JOIN state_groups g ON g.id = l.id" \
	" LEFT JOIN state_group_entries sm ON sm.state_group = l.id" \
	" AND sm.type = 'm.room.member' AND sm.state_key = $1" \
	" LEFT JOIN events em ON em.event_id = sm.event_id" \
	" LEFT JOIN state_group_entries sh ON sh.state_group = l.id" \
	" AND sh.type = 'm.room.history_visibility' AND sh.state_key = ''" \
	" LEFT JOIN events eh ON eh.event_id = sh.event_id ORDER BY l.id"

#define MVIS_ROOMS_SQ	"(SELECT value FROM json_each($2))"
#define MVIS_GROUPS_SQ	"(SELECT CAST(value AS BIGINT) AS v FROM json_each($2))"
#define MVIS_GROUPS_PG	"(SELECT CAST(x AS BIGINT) AS v FROM" \
	" jsonb_array_elements_text(CAST($2 AS jsonb)) AS x)"

/*
 * A content member of event e as text (NULL when absent); a value that
 * is not a string reads as some other text, which the caller takes for
 * unknown.
 */
#define MVIS_CONTENT_SQ(e, key)	"json_extract(" e ".json, '$.content." key "')"
#define MVIS_CONTENT_PG(e, key)	"(CAST(" e ".json AS jsonb) -> 'content' ->> '" key "')"

/* $1 a JSON array of user IDs: those of them whose accounts were erased. */
#define MVIS_ERASED(users) \
	"SELECT user_id FROM users WHERE erased <> 0 AND user_id IN " users
#define MVIS_USERS_SQ	"(SELECT value FROM json_each($1))"
#define MVIS_USERS_PG	"(SELECT jsonb_array_elements_text(CAST($1 AS jsonb)))"

#define MSTMT_TABLE_VIS \
	X(MSTMT_VIS_STANDINGS, MVIS_STANDINGS(MVIS_ROOMS_SQ)) \
	X(MSTMT_VIS_ERASED, MVIS_ERASED(MVIS_USERS_SQ)) \
	X(MSTMT_VIS_GROUPS, MVIS_GROUPS(MVIS_GROUPS_SQ, MVIS_CONTENT_SQ("em", "membership"), \
	    MVIS_CONTENT_SQ("eh", "history_visibility"))) \
	/* \
	 * $1 room, $2 timestamp, $3 origin_server_ts and $4 stream of the \
	 * last candidate looked at (a keyset), $5 limit: accepted events \
	 * nearest the timestamp, at or after it (f) or before it (b). \
	 */ \
	X(MSTMT_VIS_TS_FWD, "SELECT " MEVENT_COLS " FROM events WHERE room_id = $1" \
	    " AND origin_server_ts >= $2 AND (origin_server_ts > $3 OR" \
	    " (origin_server_ts = $3 AND stream > $4)) AND" MEVENT_SHOWN("") \
	    " ORDER BY origin_server_ts ASC, stream ASC LIMIT $5") \
	X(MSTMT_VIS_TS_BACK, "SELECT " MEVENT_COLS " FROM events WHERE room_id = $1" \
	    " AND origin_server_ts <= $2 AND (origin_server_ts < $3 OR" \
	    " (origin_server_ts = $3 AND stream < $4)) AND" MEVENT_SHOWN("") \
	    " ORDER BY origin_server_ts DESC, stream DESC LIMIT $5")

/*
 * MVIS_GROUPS for PostgreSQL: the same rows, each link found by its key
 * (see MSGROUP_LINKS_PG in stmts.h) and read once, carrying its
 * prev_group from the recursion.  The shared text's generic plan (made
 * once per connection for a guessed 100 groups) hashes the whole of
 * state_groups and reads every event: 17 ms for the one group of an
 * incremental /sync at 1,000 rooms, 0.2 ms here; the 6,000 links of the
 * initial /sync's cost the same either way (about 45 ms).
 */
#define MVIS_GROUP_ENTRY_PG(alias, cond) " LEFT JOIN LATERAL (SELECT e.event_id, e.json" \
	" FROM state_group_entries s JOIN events e ON e.event_id = s.event_id" \
	" WHERE s.state_group = l.id AND " cond " OFFSET 0) " alias " ON TRUE"
#define MVIS_GROUPS_LINKED_PG \
	"WITH RECURSIVE link(id, prev) AS (SELECT s.id, s.prev_group FROM " MVIS_GROUPS_PG " g" \
	" CROSS JOIN LATERAL (SELECT s.id, s.prev_group FROM state_groups s WHERE s.id = g.v" \
	" OFFSET 0) s UNION SELECT s.id, s.prev_group FROM link l CROSS JOIN LATERAL" \
	" (SELECT s.id, s.prev_group FROM state_groups s WHERE s.id = l.prev OFFSET 0) s)" \
	" SELECT l.id, COALESCE(l.prev, 0), CASE WHEN em.event_id IS NULL THEN 0 ELSE 1 END, " \
	MVIS_CONTENT_PG("em", "membership") ", CASE WHEN eh.event_id IS NULL THEN 0 ELSE 1 END, " \
	MVIS_CONTENT_PG("eh", "history_visibility") \
	" FROM (SELECT id, prev FROM link ORDER BY id OFFSET 0) l" \
	MVIS_GROUP_ENTRY_PG("em", "s.type = 'm.room.member' AND s.state_key = $1") \
	MVIS_GROUP_ENTRY_PG("eh", "s.type = 'm.room.history_visibility' AND s.state_key = ''") \
	" ORDER BY l.id"

/*
 * MVIS_STANDINGS for PostgreSQL: one lookup a room asked for, by the
 * user's membership key, whatever the statistics say.  Planned
 * generically on tables not yet analysed (a new server, or the 1,000
 * rooms the benchmark has just made), the shared text joined every room
 * asked for with every membership of the user: 80-130 ms at 1,000 rooms
 * against 7 here (4-5 for the shared text once analysed).
 */
#define MVIS_STANDINGS_PG \
	"SELECT c.room_id, c.membership, e.stream, e.state_before, e.state_after, " \
	MFORGOTTEN \
	" FROM (SELECT DISTINCT x FROM jsonb_array_elements_text(CAST($2 AS jsonb)) AS x) r" \
	" CROSS JOIN LATERAL (SELECT c.room_id, c.membership, c.event_id FROM current_state c" \
	" WHERE c.state_key = $1 AND c.type = 'm.room.member' AND c.room_id = r.x OFFSET 0) c" \
	" CROSS JOIN LATERAL (SELECT e.stream, e.state_before, e.state_after FROM events e" \
	" WHERE e.event_id = c.event_id OFFSET 0) e"

#define MSTMT_PG_VIS \
	P(MSTMT_VIS_STANDINGS, MVIS_STANDINGS_PG) \
	P(MSTMT_VIS_ERASED, MVIS_ERASED(MVIS_USERS_PG)) \
	P(MSTMT_VIS_GROUPS, MVIS_GROUPS_LINKED_PG)

#endif
