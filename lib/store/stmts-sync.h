/* Statements of /sync: a user's rooms and what moved in them, in few queries. */
#ifndef MYELIN_STORE_STMTS_SYNC_H
#define MYELIN_STORE_STMTS_SYNC_H

#define MEVENT_COLS_E "e.stream, e.event_id, e.room_id, e.type, e.state_key, e.sender," \
	" e.depth, e.origin_server_ts, e.state_before, e.state_after, e.rejected," \
	" e.redacted_by, e.txn_user, e.txn_device, e.txn_id, e.json, " MEVENT_NOTES("e")

/*
 * $1 a JSON array of state groups: the entries (type, state key, event
 * ID) of each (start), older links first within it, as
 * MSTMT_SYNC_SGROUP_EVENTS for one but without the events: the reader
 * takes most of them from the timeline it has read already and asks for
 * the rest by ID (MSTMT_SYNC_EVENT_VIEWS).
 */
#define MSYNC_SGROUPS_ENTRIES(groups) \
	"WITH RECURSIVE chain(start, id, n) AS (SELECT g.v, g.v, 0 FROM " groups " g" \
	" UNION ALL SELECT c.start, s.prev_group, c.n + 1 FROM chain c JOIN state_groups s" \
	" ON s.id = c.id WHERE s.prev_group IS NOT NULL)" \
	" SELECT c.start, s.type, s.state_key, s.event_id FROM state_group_entries s" \
	" JOIN chain c ON s.state_group = c.id ORDER BY c.start, c.n DESC"
#define MSYNC_GROUPS_SQ	"(SELECT CAST(value AS BIGINT) AS v FROM json_each($1))"
#define MSYNC_GROUPS_PG	"(SELECT CAST(x AS BIGINT) AS v FROM" \
	" jsonb_array_elements_text(CAST($1 AS jsonb)) AS x)"

/*
 * An initial sync's window of one room c (its membership event m): the
 * first position (the limit-th newest event the user may see, $4 the
 * offset, past $2 in any case) and the last (to, or the leave).
 */
#define MSYNC_TIMELINE_LO "COALESCE((SELECT b.stream FROM events b" \
	" WHERE b.room_id = c.room_id AND b.stream > $2 AND b.stream <= $3" \
	" AND (c.membership = 'join' OR b.stream <= m.stream) AND" MEVENT_SHOWN("b.") \
	" ORDER BY b.stream DESC LIMIT 1 OFFSET $4), CAST($2 AS BIGINT) + 1)"
#define MSYNC_TIMELINE_UPTO "CASE WHEN c.membership = 'join' OR m.stream > $3" \
	" THEN $3 ELSE m.stream END"

/*
 * PostgreSQL's texts of the two above: the same rows in the same order,
 * by index lookups (see MSGROUP_LINKS_PG in stmts.h).  The entries are
 * sorted before their events are joined, so that the sort holds names
 * and IDs, not every event's JSON (which passed work_mem and went to
 * disk at 1,000 rooms); the join keeps that order, so the final ORDER
 * BY costs nothing.  The single group is a chain whose start is 0.
 */
#define MSYNC_SGROUP_SORTED_PG(cols, order) " FROM (SELECT " cols "c.n, s.type," \
	" s.state_key, s.event_id FROM chain c" MSGROUP_ENTRY_PG("") " ORDER BY " order \
	" OFFSET 0) s" MSGROUP_EVENT_PG " ORDER BY " order

/*
 * MSTMT_SYNC_TIMELINES_ALL for PostgreSQL (keep the two in step): the
 * rooms in a subquery sorted by room, and for each, by LATERAL, its
 * limit + 1 newest events in (from, to] (or to the leave), read
 * backwards from events_room_shown: one index range a room, newest
 * first (the reader turns each room's run around; sorting them here
 * cost 4-5 ms at 1,000 rooms).  Only a leave or a ban looks its
 * event's position up (a joined room reads to $3): a lateral lookup
 * for every room was 5-13 ms of 19-28 at 1,000 rooms.  LATERAL and OFFSET 0 fix the join's
 * order and make every lookup a parameterised one, whatever the
 * statistics say:
 * on tables not yet analysed (a new server, or the benchmark's 1,000
 * fresh rooms) the join this replaces scanned every room's events for
 * each room (5.3-5.9 s at 1,000 rooms, against 22 ms here), and the
 * probe it made a room for its window's start was a second index scan.
 * No ORDER BY over the whole: with the tables analysed the planner
 * sorted every row of every room (8 MB at 1,000 rooms, on disk); rows
 * come in room order, and the reader (mstore_sync_timelines_bounded)
 * sorts them if they do not.
 */
#define MSYNC_TIMELINES_ALL_PG "SELECT " MEVENT_COLS_E " FROM (SELECT c.room_id," \
	" CASE WHEN c.membership = 'join' THEN $3 ELSE LEAST((SELECT m.stream FROM events m" \
	" WHERE m.event_id = c.event_id), $3) END AS upto FROM current_state c" \
	" WHERE c.type = 'm.room.member' AND c.state_key = $1" \
	" AND c.membership IN ('join', 'leave', 'ban') ORDER BY c.room_id OFFSET 0) r" \
	" CROSS JOIN LATERAL (SELECT * FROM (SELECT * FROM events e WHERE e.room_id = r.room_id" \
	" AND e.stream > $2 AND e.stream <= r.upto AND" MEVENT_SHOWN("e.") \
	" ORDER BY e.stream DESC LIMIT CAST($4 AS BIGINT) + 1) e) e"

/* MSTMT_SYNC_TIMELINES (see there); SQLite reads the events first. */
#define MSYNC_TIMELINES "SELECT * FROM (SELECT " MEVENT_COLS_E "," \
	" ROW_NUMBER() OVER (PARTITION BY e.room_id ORDER BY e.stream DESC) AS rn" \
	" FROM events e CROSS JOIN current_state c CROSS JOIN events m" \
	" WHERE c.room_id = e.room_id" \
	" AND c.type = 'm.room.member' AND c.state_key = $1" \
	" AND m.event_id = c.event_id" \
	" AND e.stream > $2 AND e.stream <= $3 AND" MEVENT_SHOWN("e.") \
	" AND (c.membership = 'join' OR (c.membership IN ('leave', 'ban')" \
	" AND e.stream <= m.stream))) AS t WHERE rn <= $4 ORDER BY room_id, stream"

/*
 * MSTMT_SYNC_TIMELINES_FEW for PostgreSQL: the events of the range
 * first, each looking the user's membership of its room up by key, and
 * a leave's position only for a leave.  The generic plan of the shared
 * text hashes every membership of the user to join them with the range:
 * 0.5 ms at 1,000 rooms for one new event, against 0.07 here.  Past a
 * few hundred events of other users' rooms the probes cost more than
 * the hash, so the reader takes this only for a short range.
 */
#define MSYNC_TIMELINES_FEW_PG "SELECT * FROM (SELECT " MEVENT_COLS_E "," \
	" ROW_NUMBER() OVER (PARTITION BY e.room_id ORDER BY e.stream DESC) AS rn" \
	" FROM (SELECT * FROM events e WHERE e.stream > $2 AND e.stream <= $3 AND" \
	MEVENT_SHOWN("e.") " OFFSET 0) e CROSS JOIN LATERAL (SELECT c.membership, c.event_id" \
	" FROM current_state c WHERE c.room_id = e.room_id AND c.type = 'm.room.member'" \
	" AND c.state_key = $1 OFFSET 0) c WHERE c.membership = 'join'" \
	" OR (c.membership IN ('leave', 'ban') AND e.stream <= (SELECT m.stream FROM events m" \
	" WHERE m.event_id = c.event_id))) AS t WHERE rn <= $4 ORDER BY room_id, stream"

/*
 * MSTMT_SYNC_NAMES for PostgreSQL: two lookups by key a joined room.  On
 * tables not yet analysed its planner took each room's name from an
 * index scan of every room's state with an empty key: 200-350 ms at
 * 1,000 rooms, against 3-6 ms here.  Once analysed it reads every named
 * room of the server instead (0.5 ms here, where none is named; it grows
 * with the server, not with the user).
 */
#define MSYNC_NAMES_PG "SELECT s.room_id, s.type, " MEVENT_VIEW("e") " FROM current_state me" \
	" CROSS JOIN (VALUES ('m.room.name'), ('m.room.canonical_alias')) AS t(type)" \
	" CROSS JOIN LATERAL (SELECT c.room_id, c.type, c.event_id AS event_id FROM current_state c" \
	" WHERE c.room_id = me.room_id AND c.type = t.type AND c.state_key = '' OFFSET 0) s" \
	MSGROUP_EVENT_PG " WHERE me.type = 'm.room.member' AND me.state_key = $1" \
	" AND me.membership = 'join'"

#define MSTMT_PG_SYNC \
	P(MSTMT_SYNC_SGROUP_EVENTS, "WITH RECURSIVE chain(start, id, n) AS" \
	    " (SELECT 0, CAST($1 AS BIGINT), 0" MSGROUP_LINKS_PG ")" \
	    " SELECT s.type, s.state_key, " MEVENT_VIEW("e") \
	    MSYNC_SGROUP_SORTED_PG("", "n DESC")) \
	P(MSTMT_SYNC_SGROUPS_ENTRIES, "WITH RECURSIVE chain(start, id, n) AS" \
	    " (SELECT g.v, g.v, 0 FROM " MSYNC_GROUPS_PG " g" MSGROUP_LINKS_PG ")" \
	    " SELECT c.start, s.type, s.state_key, s.event_id FROM chain c" MSGROUP_ENTRY_PG("") \
	    " ORDER BY c.start, c.n DESC") \
	/* \
	 * MSTMT_SYNC_MEMBERSHIPS_SINCE: the events past $2 first, behind \
	 * OFFSET 0 (CROSS JOIN does not fix PostgreSQL's order); its generic \
	 * plan walked the user's every membership and looked up each one's \
	 * event instead, 8.6 ms at 1,000 rooms against 0.2. \
	 */ \
	P(MSTMT_SYNC_MEMBERSHIPS_SINCE, "SELECT c.room_id, c.membership, e.stream, " \
	    MFORGOTTEN ", " MEVENT_VIEW("e") " FROM (SELECT * FROM events e" \
	    " WHERE e.stream > $2 AND e.type = 'm.room.member' AND e.state_key = $1" \
	    " OFFSET 0) e CROSS JOIN LATERAL (SELECT c.room_id, c.membership," \
	    " c.event_id FROM current_state c WHERE c.room_id = e.room_id" \
	    " AND c.type = 'm.room.member' AND c.state_key = $1 AND c.event_id = e.event_id" \
	    " OFFSET 0) c") \
	P(MSTMT_SYNC_CSTATES, "SELECT c.room_id, c.type, c.state_key, c.event_id FROM" \
	    " (SELECT x->>0 AS room_id FROM jsonb_array_elements(CAST($1 AS jsonb)) AS x" \
	    " WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.room_id = x->>0" \
	    " AND e.stream > CAST(x->>1 AS BIGINT) AND" MEVENT_SHOWN("e.") ") OFFSET 0) r" \
	    " CROSS JOIN LATERAL (SELECT c.room_id, c.type, c.state_key, c.event_id" \
	    " FROM current_state c WHERE c.room_id = r.room_id OFFSET 0) c") \
	P(MSTMT_SYNC_EVENT_VIEWS, "SELECT e.type, e.state_key, " MEVENT_VIEW("e") \
	    " FROM (SELECT DISTINCT x FROM jsonb_array_elements_text(CAST($1 AS jsonb)) AS x) i" \
	    " CROSS JOIN LATERAL (SELECT * FROM events e WHERE e.event_id = i.x OFFSET 0) e") \
	P(MSTMT_SYNC_TIMELINES_ALL, MSYNC_TIMELINES_ALL_PG) \
	P(MSTMT_SYNC_TIMELINES_FEW, MSYNC_TIMELINES_FEW_PG) \
	P(MSTMT_SYNC_NAMES, MSYNC_NAMES_PG)

#define MSTMT_TABLE_SYNC \
	/* \
	 * The user's current membership in every room, with its event and \
	 * the state groups around it; rooms forgotten since that event are \
	 * left out (see room_forgotten). \
	 */ \
	X(MSTMT_SYNC_MEMBERSHIPS, "SELECT c.room_id, c.membership, e.stream, e.state_before," \
	    " e.state_after, " MEVENT_VIEW("e") \
	    " FROM current_state c JOIN events e ON e.event_id = c.event_id" \
	    " WHERE c.type = 'm.room.member' AND c.state_key = $1 AND NOT EXISTS (SELECT 1" \
	    " FROM room_forgotten f WHERE f.user_id = $1 AND f.room_id = c.room_id" \
	    " AND f.event_id = c.event_id)") \
	/* \
	 * The user's memberships whose event is past $2, with it, its \
	 * position and whether the user has forgotten the room since (kept, \
	 * as the reader takes the rooms it has events for but no changed \
	 * membership for joins): an incremental sync reads what changed \
	 * only (from the stream: CROSS JOIN keeps SQLite's order). \
	 */ \
	X(MSTMT_SYNC_MEMBERSHIPS_SINCE, "SELECT c.room_id, c.membership, e.stream, " \
	    MFORGOTTEN ", " MEVENT_VIEW("e") \
	    " FROM events e CROSS JOIN current_state c WHERE c.event_id = e.event_id" \
	    " AND c.room_id = e.room_id AND c.type = 'm.room.member' AND c.state_key = $1" \
	    " AND e.stream > $2 AND e.type = 'm.room.member' AND e.state_key = $1") \
	/* \
	 * The newest events in (from, to] of every room the user is in or \
	 * left, at most limit per room, never past the user's own leave or \
	 * ban.  For an incremental sync: the window function runs over the \
	 * events since the token only, read from the stream (CROSS JOIN \
	 * keeps SQLite's order: events first; PostgreSQL plans it as a join). \
	 */ \
	X(MSTMT_SYNC_TIMELINES, MSYNC_TIMELINES) \
	/* The same for a range of few events (see MSYNC_TIMELINES_FEW_PG). */ \
	X(MSTMT_SYNC_TIMELINES_FEW, MSYNC_TIMELINES) \
	/* \
	 * The same for an initial sync, bounded per room: for each of the \
	 * user's rooms, the limit-th newest event it may have ($4: limit - \
	 * 1, one indexed probe backwards; past $2 in any case), and the events \
	 * from there on: one range of events_room_stream a room.  SQLite \
	 * walks the rooms in order (current_state_user_rooms, unique) and \
	 * each range in order, so the ORDER BY costs no sort of the events \
	 * (CROSS JOIN keeps that order of the loops); PostgreSQL reads \
	 * MSYNC_TIMELINES_ALL_PG. \
	 */ \
	X(MSTMT_SYNC_TIMELINES_ALL, "SELECT " MEVENT_COLS_E " FROM current_state c" \
	    " CROSS JOIN events m CROSS JOIN events e" \
	    " WHERE c.type = 'm.room.member' AND c.state_key = $1" \
	    " AND c.membership IN ('join', 'leave', 'ban') AND m.event_id = c.event_id" \
	    " AND e.room_id = c.room_id AND e.stream >= " MSYNC_TIMELINE_LO \
	    " AND e.stream <= " MSYNC_TIMELINE_UPTO " AND" MEVENT_SHOWN("e.") \
	    " ORDER BY c.room_id, e.stream") \
	/* Every state event of a state group, older links first. */ \
	X(MSTMT_SYNC_SGROUP_EVENTS, "WITH RECURSIVE chain(id, n) AS (SELECT CAST($1 AS BIGINT), 0" \
	    " UNION ALL SELECT g.prev_group, c.n + 1 FROM state_groups g JOIN chain c" \
	    " ON g.id = c.id WHERE g.prev_group IS NOT NULL)" \
	    " SELECT s.type, s.state_key, " MEVENT_VIEW("e") " FROM state_group_entries s" \
	    " JOIN chain c ON s.state_group = c.id JOIN events e ON e.event_id = s.event_id" \
	    " ORDER BY c.n DESC") \
	X(MSTMT_SYNC_SGROUPS_ENTRIES, MSYNC_SGROUPS_ENTRIES(MSYNC_GROUPS_SQ)) \
	/* \
	 * The current state entries of each room of $1 (a JSON array of \
	 * [room ID, stream]) that shows no event past that stream: there \
	 * the state after the room's newest event is its current state. \
	 */ \
	X(MSTMT_SYNC_CSTATES, "SELECT c.room_id, c.type, c.state_key, c.event_id FROM" \
	    " (SELECT json_extract(j.value, '$[0]') AS room_id," \
	    " CAST(json_extract(j.value, '$[1]') AS BIGINT) AS upto FROM json_each($1) j" \
	    " LIMIT -1) r CROSS JOIN current_state c WHERE c.room_id = r.room_id" \
	    " AND NOT EXISTS (SELECT 1 FROM events e WHERE e.room_id = r.room_id" \
	    " AND e.stream > r.upto AND" MEVENT_SHOWN("e.") ")") \
	/* The events $1 (a JSON array of IDs) as views, with type and state key. */ \
	X(MSTMT_SYNC_EVENT_VIEWS, "SELECT e.type, e.state_key, " MEVENT_VIEW("e") \
	    " FROM events e WHERE e.event_id IN (SELECT value FROM json_each($1))") \
	/* \
	 * The name and canonical alias events of the user's joined rooms \
	 * (for m.heroes: see room_named in handlers/sync/rooms.c). \
	 */ \
	X(MSTMT_SYNC_NAMES, "SELECT c.room_id, c.type, " MEVENT_VIEW("e") \
	    " FROM current_state me JOIN current_state c ON c.room_id = me.room_id" \
	    " JOIN events e ON e.event_id = c.event_id" \
	    " WHERE me.type = 'm.room.member' AND me.state_key = $1 AND me.membership = 'join'" \
	    " AND c.type IN ('m.room.name', 'm.room.canonical_alias') AND c.state_key = ''") \
	/* Joined and invited members of one room, for its summary. */ \
	X(MSTMT_SYNC_ROOM_MEMBERS, "SELECT c.room_id, c.membership, c.state_key" \
	    " FROM current_state c WHERE c.room_id = $1 AND c.type = 'm.room.member'" \
	    " AND c.membership IN ('join', 'invite') ORDER BY c.state_key") \
	/* Joined and invited members of the user's rooms, for summaries. */ \
	X(MSTMT_SYNC_MEMBERS, "SELECT c.room_id, c.membership, c.state_key FROM current_state c" \
	    " JOIN current_state me ON me.room_id = c.room_id AND me.type = 'm.room.member'" \
	    " AND me.state_key = $1 AND me.membership = 'join'" \
	    " WHERE c.type = 'm.room.member' AND c.membership IN ('join', 'invite')" \
	    " ORDER BY c.room_id, c.state_key") \
	/* \
	 * Lazy-loaded members this device was sent in a response whose \
	 * next_batch is at or before $4, and whose membership has not \
	 * changed since. \
	 */ \
	X(MSTMT_SYNC_LAZY_KNOWN, "SELECT l.member FROM sync_lazy_members l" \
	    " JOIN current_state c ON c.room_id = l.room_id AND c.type = 'm.room.member'" \
	    " AND c.state_key = l.member AND c.event_id = l.event_id" \
	    " WHERE l.user_id = $1 AND l.device_id = $2 AND l.room_id = $3 AND l.sent_at <= $4") \
	/* A member event sent: the first response that carried it is the one kept. */ \
	X(MSTMT_SYNC_LAZY_PUT, "INSERT INTO sync_lazy_members (user_id, device_id, room_id," \
	    " member, event_id, sent_at) VALUES ($1, $2, $3, $4, $5, $6)" \
	    " ON CONFLICT (user_id, device_id, room_id, member) DO UPDATE" \
	    " SET event_id = excluded.event_id, sent_at = excluded.sent_at" \
	    " WHERE sync_lazy_members.event_id <> excluded.event_id")

#endif
