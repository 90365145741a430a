/*
 * Statements of server-side search and the user directory (see stmts.h).
 * Full-text search is where the engines part ways: SQLite has an FTS5
 * table with bm25(), PostgreSQL a tsvector with a GIN index and
 * ts_rank().  So most statements here have two texts: X() gives SQLite's
 * and P() PostgreSQL's (see MSTMT_PG_ALL in stmts.h).  Both texts of one
 * statement take the same parameters in the same order.
 */
#ifndef MYELIN_STORE_STMTS_SEARCH_H
#define MYELIN_STORE_STMTS_SEARCH_H

/*
 * event_search holds one row per searchable event, keyed by the event's
 * stream position: SQLite's rowid, PostgreSQL's stream column.  Ranks are
 * scaled to integers (MSEARCH_RANK_SCALE) so that a next_batch token can
 * carry one exactly and both engines compare it the same way.
 */
#define MSEARCH_SCALE_SQL	"1000000000"

/*
 * The filters every search statement applies to events e: $2 a JSON
 * array of room IDs, $3 of event types, $4 of senders or NULL (any), $5
 * of senders left out or NULL, $6 contains_url (-1: either way, 0, 1).
 */
#define MSEARCH_WHERE_SQ \
	" e.room_id IN (SELECT value FROM json_each($2))" \
	" AND e.type IN (SELECT value FROM json_each($3))" \
	" AND ($4 IS NULL OR e.sender IN (SELECT value FROM json_each($4)))" \
	" AND ($5 IS NULL OR e.sender NOT IN (SELECT value FROM json_each($5)))" \
	" AND ($6 < 0 OR ($6 = 1) = COALESCE(json_type(e.json, '$.content.url') = 'text', 0))" \
	" AND" MEVENT_SHOWN("e.") " AND e.redacted_by IS NULL"
#define MSEARCH_WHERE_PG \
	" e.room_id IN (SELECT jsonb_array_elements_text(CAST($2 AS jsonb)))" \
	" AND e.type IN (SELECT jsonb_array_elements_text(CAST($3 AS jsonb)))" \
	" AND (CAST($4 AS TEXT) IS NULL OR e.sender IN" \
	" (SELECT jsonb_array_elements_text(CAST($4 AS jsonb))))" \
	" AND (CAST($5 AS TEXT) IS NULL OR e.sender NOT IN" \
	" (SELECT jsonb_array_elements_text(CAST($5 AS jsonb))))" \
	" AND (CAST($6 AS BIGINT) < 0 OR (CAST($6 AS BIGINT) = 1) =" \
	" COALESCE(jsonb_typeof(CAST(e.json AS jsonb)->'content'->'url') = 'string', false))" \
	" AND" MEVENT_SHOWN("e.") " AND e.redacted_by IS NULL"

/*
 * The matches of $1 with their scaled rank: rows (sid, rk).  SQLite's $1
 * is an FTS5 query built by lib/store/search.c; PostgreSQL's is the
 * user's words for websearch_to_tsquery.  bm25() is better when lower.
 */
#define MSEARCH_HITS_SQ \
	" (SELECT rowid AS sid, CAST(-bm25(event_search) * " MSEARCH_SCALE_SQL " AS INTEGER)" \
	" AS rk FROM event_search WHERE event_search MATCH $1) s"
#define MSEARCH_HITS_PG \
	" (SELECT stream AS sid, CAST(ts_rank(vector, q) * " MSEARCH_SCALE_SQL " AS BIGINT)" \
	" AS rk FROM event_search, websearch_to_tsquery('english', $1) q" \
	" WHERE vector @@ q) s"

/* The same without the rank, where only the matches count. */
#define MSEARCH_MATCH_SQ \
	" (SELECT rowid AS sid FROM event_search WHERE event_search MATCH $1) s"
#define MSEARCH_MATCH_PG \
	" (SELECT stream AS sid FROM event_search, websearch_to_tsquery('english', $1) q" \
	" WHERE vector @@ q) s"
/*
 * SQLite refuses bm25() once the query flattens into an aggregate, so
 * counting by rank reads the hits from a materialised CTE instead.
 */
#define MSEARCH_HITS_SQ_CTE \
	"WITH s AS MATERIALIZED (SELECT rowid AS sid, CAST(-bm25(event_search) * " \
	MSEARCH_SCALE_SQL " AS INTEGER) AS rk FROM event_search WHERE event_search MATCH $1) "

/*
 * A page, rows of MEVENT_COLS (MEVENT_COLS_E, stmts-sync.h) and the
 * rank.  By rank: after ($7 rank, $8 stream), best first, $9 rows.  By
 * recency: below stream $7, newest first, $8 rows; SQLite's FTS5 walks
 * its rowids (stream positions) downwards and stops at the limit.
 */
#define MSEARCH_RANK(hits, where) \
	"SELECT " MEVENT_COLS_E ", s.rk FROM" hits " JOIN events e ON e.stream = s.sid" \
	" WHERE" where " AND (s.rk < $7 OR (s.rk = $7 AND e.stream < $8))" \
	" ORDER BY s.rk DESC, e.stream DESC LIMIT $9"
#define MSEARCH_RECENT(hits, where) \
	"SELECT " MEVENT_COLS_E ", s.rk FROM" hits " JOIN events e ON e.stream = s.sid" \
	" WHERE" where " AND s.sid < $7 ORDER BY s.sid DESC LIMIT $8"
/*
 * Counts of every match per room and sender, and of those past the
 * request's position (as the page statements' $7 and $8): the total and
 * the groups' counts, and whether a group has more than a page shows.
 */
#define MSEARCH_COUNT_RANK(with, hits, where) \
	with "SELECT e.room_id, e.sender, COUNT(*), SUM(CASE WHEN s.rk < $7 OR (s.rk = $7" \
	" AND e.stream < $8) THEN 1 ELSE 0 END) FROM" hits " JOIN events e" \
	" ON e.stream = s.sid WHERE" where " GROUP BY e.room_id, e.sender"
#define MSEARCH_COUNT_RECENT(hits, where) \
	"SELECT e.room_id, e.sender, COUNT(*), SUM(CASE WHEN s.sid < $7 THEN 1 ELSE 0 END)" \
	" FROM" hits " JOIN events e ON e.stream = s.sid WHERE" where \
	" GROUP BY e.room_id, e.sender"

/* Member events of the users in JSON array $2 in state group $1, older links first. */
#define MSEARCH_MEMBERS(users) \
	"WITH RECURSIVE chain(id, n) AS (SELECT CAST($1 AS BIGINT), 0" \
	" UNION ALL SELECT g.prev_group, c.n + 1 FROM state_groups g JOIN chain c" \
	" ON g.id = c.id WHERE g.prev_group IS NOT NULL)" \
	" SELECT s.state_key, e.json FROM state_group_entries s JOIN chain c" \
	" ON s.state_group = c.id JOIN events e ON e.event_id = s.event_id" \
	" WHERE s.type = 'm.room.member' AND s.state_key IN " users " ORDER BY c.n DESC"

/*
 * The user directory (Synapse's default scope): joined members of the
 * rooms requester $1 is joined to (the requester not: Synapse lists
 * those who share a private room with them), and of public rooms (join
 * rule public or history world-readable) that a user of this server is
 * still joined to (as Synapse, a room this server left lists no one: its
 * state here is stale), whose user ID starts with $2 or $3, or
 * whose display name starts with $3 or holds a word starting so ($4);
 * patterns are lower case with '\' escapes.  Local users show their
 * profile, others their membership; people sharing a room with the
 * requester come first.  $5 rows.
 */
#define MUSERDIR(jstr) \
	"WITH mine AS (SELECT room_id FROM current_state WHERE type = 'm.room.member'" \
	" AND state_key = $1 AND membership = 'join'), pub AS (SELECT c.room_id" \
	" FROM current_state c JOIN events je ON je.event_id = c.event_id" \
	" WHERE c.state_key = '' AND ((c.type = 'm.room.join_rules' AND" \
	" " jstr("je.json", "join_rule") " = 'public') OR (c.type = 'm.room.history_visibility'" \
	" AND " jstr("je.json", "history_visibility") " = 'world_readable'))" \
	" AND c.room_id IN (SELECT l.room_id FROM current_state l JOIN users lu" \
	" ON lu.user_id = l.state_key WHERE l.type = 'm.room.member'" \
	" AND l.membership = 'join'))," \
	" dir AS (SELECT m.state_key AS user_id," \
	" COALESCE(MAX(u.displayname), MAX(" jstr("e.json", "displayname") ")) AS name," \
	" COALESCE(MAX(u.avatar_url), MAX(" jstr("e.json", "avatar_url") ")) AS avatar," \
	" MAX(CASE WHEN m.room_id IN (SELECT room_id FROM mine) THEN 1 ELSE 0 END) AS shared" \
	" FROM current_state m JOIN events e ON e.event_id = m.event_id" \
	" LEFT JOIN users u ON u.user_id = m.state_key" \
	" WHERE m.type = 'm.room.member' AND m.membership = 'join'" \
	" AND ((m.state_key <> $1 AND m.room_id IN (SELECT room_id FROM mine))" \
	" OR m.room_id IN (SELECT room_id FROM pub))" \
	" AND COALESCE(u.deactivated, 0) = 0 GROUP BY m.state_key)" \
	" SELECT user_id, name, avatar FROM dir WHERE lower(user_id) LIKE $2 ESCAPE '\\'" \
	" OR lower(user_id) LIKE $3 ESCAPE '\\' OR lower(name) LIKE $3 ESCAPE '\\'" \
	" OR lower(name) LIKE $4 ESCAPE '\\'" \
	" ORDER BY shared DESC, lower(COALESCE(name, user_id)), user_id LIMIT $5"
/* content.<key> of JSON text col when a string, else NULL. */
#define MSEARCH_JSTR_SQ(col, key) \
	"(CASE WHEN json_type(" col ", '$.content." key "') = 'text'" \
	" THEN json_extract(" col ", '$.content." key "') END)"
#define MSEARCH_JSTR_PG(col, key) \
	"(CASE WHEN jsonb_typeof(CAST(" col " AS jsonb)->'content'->'" key "') = 'string'" \
	" THEN CAST(" col " AS jsonb)->'content'->>'" key "' END)"

#define MSTMT_TABLE_SEARCH \
	/* the index: stream $1, text $2; redacted events leave it */ \
	X(MSTMT_SEARCH_PUT, "INSERT INTO event_search (rowid, value) VALUES ($1, $2)") \
	X(MSTMT_SEARCH_DEL, "DELETE FROM event_search WHERE rowid =" \
	    " (SELECT stream FROM events WHERE event_id = $1)") \
	/* A purged room's rows: run before its events go. */ \
	X(MSTMT_SEARCH_PURGE_ROOM, "DELETE FROM event_search WHERE rowid IN" \
	    " (SELECT stream FROM events WHERE room_id = $1)") \
	X(MSTMT_SEARCH_RANK, MSEARCH_RANK(MSEARCH_HITS_SQ, MSEARCH_WHERE_SQ)) \
	X(MSTMT_SEARCH_RECENT, MSEARCH_RECENT(MSEARCH_HITS_SQ, MSEARCH_WHERE_SQ)) \
	X(MSTMT_SEARCH_COUNT_RANK, MSEARCH_COUNT_RANK(MSEARCH_HITS_SQ_CTE, " s", \
	    MSEARCH_WHERE_SQ)) \
	X(MSTMT_SEARCH_COUNT_RECENT, MSEARCH_COUNT_RECENT(MSEARCH_MATCH_SQ, MSEARCH_WHERE_SQ)) \
	/* \
	 * The text of the events at stream positions in JSON array $2 with \
	 * the words matching $1 between bytes 1 and 2, for highlights. \
	 */ \
	X(MSTMT_SEARCH_MARKED, "SELECT highlight(event_search, 0, char(1), char(2))" \
	    " FROM event_search WHERE event_search MATCH $1" \
	    " AND rowid IN (SELECT value FROM json_each($2))") \
	X(MSTMT_SEARCH_MEMBERS, MSEARCH_MEMBERS("(SELECT value FROM json_each($2))")) \
	X(MSTMT_USERDIR_SEARCH, MUSERDIR(MSEARCH_JSTR_SQ))

#define MSTMT_PG_SEARCH \
	P(MSTMT_SEARCH_PUT, "INSERT INTO event_search (stream, value, vector)" \
	    " VALUES ($1, $2, to_tsvector('english', $2))") \
	P(MSTMT_SEARCH_DEL, "DELETE FROM event_search WHERE stream =" \
	    " (SELECT stream FROM events WHERE event_id = $1)") \
	P(MSTMT_SEARCH_PURGE_ROOM, "DELETE FROM event_search WHERE stream IN" \
	    " (SELECT stream FROM events WHERE room_id = $1)") \
	P(MSTMT_SEARCH_RANK, MSEARCH_RANK(MSEARCH_HITS_PG, MSEARCH_WHERE_PG)) \
	P(MSTMT_SEARCH_RECENT, MSEARCH_RECENT(MSEARCH_HITS_PG, MSEARCH_WHERE_PG)) \
	P(MSTMT_SEARCH_COUNT_RANK, MSEARCH_COUNT_RANK("", MSEARCH_HITS_PG, MSEARCH_WHERE_PG)) \
	P(MSTMT_SEARCH_COUNT_RECENT, MSEARCH_COUNT_RECENT(MSEARCH_MATCH_PG, MSEARCH_WHERE_PG)) \
	P(MSTMT_SEARCH_MARKED, "SELECT ts_headline('english', s.value, q, 'StartSel=' ||" \
	    " chr(1) || ', StopSel=' || chr(2) || ', HighlightAll=true')" \
	    " FROM event_search s, websearch_to_tsquery('english', $1) q" \
	    " WHERE s.stream IN (SELECT CAST(jsonb_array_elements_text(CAST($2 AS jsonb))" \
	    " AS BIGINT))") \
	P(MSTMT_SEARCH_MEMBERS, MSEARCH_MEMBERS("(SELECT jsonb_array_elements_text(" \
	    "CAST($2 AS jsonb)))")) \
	P(MSTMT_USERDIR_SEARCH, MUSERDIR(MSEARCH_JSTR_PG))

#endif
