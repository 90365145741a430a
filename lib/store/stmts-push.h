/* Statements of receipts, push rules, notifications and pushers (see stmts.h). */
#ifndef MYELIN_STORE_STMTS_PUSH_H
#define MYELIN_STORE_STMTS_PUSH_H

/*
 * Local members an event concerns: joined to room $1, or the user $2
 * an invite names, never the sender $3.  Local users are those with an
 * account here.
 */
#define MPUSH_MEMBERS "c.room_id = $1 AND c.type = 'm.room.member'" \
	" AND (c.membership = 'join' OR c.state_key = $2) AND c.state_key <> $3"

/* The display name a member event's content gives, or NULL (MSEARCH_JSTR_*, stmts-search.h). */
#define MPUSH_DISPLAYNAME_SQ	MSEARCH_JSTR_SQ("e.json", "displayname")
#define MPUSH_DISPLAYNAME_PG	MSEARCH_JSTR_PG("e.json", "displayname")

#define MSTMT_TABLE_PUSH \
	/* \
	 * The receipts stream: the row lock of the UPDATE orders writers, so \
	 * positions become visible in the order they were taken. \
	 */ \
	X(MSTMT_RECEIPT_POS_NEXT, "UPDATE receipts_position SET pos = pos + 1 WHERE id = 1" \
	    " RETURNING pos") \
	X(MSTMT_RECEIPT_POS, "SELECT pos FROM receipts_position WHERE id = 1") \
	X(MSTMT_RECEIPT_GET, "SELECT event_stream FROM receipts WHERE room_id = $1" \
	    " AND user_id = $2 AND receipt_type = $3 AND thread_id = $4") \
	X(MSTMT_RECEIPT_PUT, "INSERT INTO receipts (room_id, user_id, receipt_type, thread_id," \
	    " event_id, event_stream, ts, stream) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)" \
	    " ON CONFLICT (room_id, user_id, receipt_type, thread_id) DO UPDATE" \
	    " SET event_id = excluded.event_id, event_stream = excluded.event_stream," \
	    " ts = excluded.ts, stream = excluded.stream") \
	/* \
	 * Receipts that moved in ($2, $3] in the rooms user $1 is joined to: \
	 * everyone's m.read, and the user's own private ones. \
	 */ \
	X(MSTMT_RECEIPT_SYNC, "SELECT r.room_id, r.user_id, r.receipt_type, r.thread_id," \
	    " r.event_id, r.ts FROM receipts r JOIN current_state me ON me.room_id = r.room_id" \
	    " AND me.type = 'm.room.member' AND me.state_key = $1 AND me.membership = 'join'" \
	    " WHERE r.stream > $2 AND r.stream <= $3 AND (r.receipt_type = 'm.read'" \
	    " OR r.user_id = $1) ORDER BY r.room_id, r.event_id") \
	/* One room's public receipts moved in ($2, $3], for whoever may read room $1. */ \
	X(MSTMT_RECEIPT_ROOM, "SELECT room_id, user_id, receipt_type, thread_id, event_id, ts" \
	    " FROM receipts WHERE room_id = $1 AND stream > $2 AND stream <= $3" \
	    " AND receipt_type = 'm.read' ORDER BY event_id") \
	/* evaluation: the members of an event, their number, their own rules */ \
	X(MSTMT_PUSH_MEMBERS, "SELECT c.state_key, " MPUSH_DISPLAYNAME_SQ " FROM current_state c" \
	    " JOIN users u ON u.user_id = c.state_key JOIN events e ON e.event_id = c.event_id" \
	    " WHERE " MPUSH_MEMBERS " ORDER BY c.state_key") \
	X(MSTMT_PUSH_MEMBER_COUNT, "SELECT COUNT(*) FROM current_state WHERE room_id = $1" \
	    " AND type = 'm.room.member' AND membership = 'join'") \
	X(MSTMT_PUSH_RULES_ROOM, "SELECT p.user_id, p.kind, p.rule_id, p.conditions, p.pattern," \
	    " p.actions, p.enabled FROM current_state c JOIN push_rules p" \
	    " ON p.user_id = c.state_key WHERE " MPUSH_MEMBERS \
	    " ORDER BY p.user_id, p.kind, p.priority DESC, p.rule_id") \
	/* What the evaluation of room $1 read is still current while these stay. */ \
	X(MSTMT_PUSH_SEQS, "SELECT r.state_seq, p.seq FROM rooms r, push_rules_seq p" \
	    " WHERE r.room_id = $1 AND p.id = 1") \
	X(MSTMT_PUSH_RULES_BUMP, "UPDATE push_rules_seq SET seq = seq + 1 WHERE id = 1") \
	X(MSTMT_PUSH_RELATION, "SELECT relates_to, rel_type FROM event_relations" \
	    " WHERE event_id = $1") \
	/* \
	 * Every notification of one event in one statement: $6 is a JSON \
	 * array of [user_id, notify, highlight, actions as JSON text]. \
	 */ \
	X(MSTMT_PUSH_ACTIONS_ADD, "INSERT INTO event_push_actions (user_id, room_id, event_id," \
	    " stream, notify, highlight, thread_id, actions, ts, is_read) SELECT" \
	    " json_extract(j.value, '$[0]'), $1, $2, $3, json_extract(j.value, '$[1]')," \
	    " json_extract(j.value, '$[2]'), $4, json_extract(j.value, '$[3]'), $5, 0" \
	    " FROM json_each($6) AS j WHERE j.type = 'array' ON CONFLICT DO NOTHING") \
	/* Unread notifications of user $1 in room $2 up to stream $3 (of thread $4) become read. */ \
	X(MSTMT_PUSH_READ, "UPDATE event_push_actions SET is_read = 1 WHERE user_id = $1" \
	    " AND room_id = $2 AND is_read = 0 AND stream <= $3" \
	    " AND (CAST($4 AS TEXT) IS NULL OR thread_id = $4)") \
	X(MSTMT_PUSH_COUNTS, "SELECT room_id, thread_id, SUM(notify), SUM(highlight)" \
	    " FROM event_push_actions WHERE user_id = $1 AND is_read = 0" \
	    " GROUP BY room_id, thread_id") \
	/* GET /notifications: before stream $2, only highlights when $3, $4 at most. */ \
	X(MSTMT_PUSH_NOTIFS, "SELECT " MEVENT_COLS_E ", p.actions, p.is_read, p.ts, p.stream" \
	    " FROM event_push_actions p JOIN events e ON e.event_id = p.event_id" \
	    " WHERE p.user_id = $1 AND p.stream < $2 AND (CAST($3 AS BIGINT) = 0" \
	    " OR p.highlight = 1) ORDER BY p.stream DESC LIMIT $4") \
	/* \
	 * push rules: user-defined rules by priority, most important first; \
	 * rows of server-default rules (IDs starting with ".") hold only the \
	 * user's enabled and actions. \
	 */ \
	X(MSTMT_PUSH_RULES_USER, "SELECT user_id, kind, rule_id, conditions, pattern, actions," \
	    " enabled FROM push_rules WHERE user_id = $1 ORDER BY kind, priority DESC, rule_id") \
	/* The no-op SET takes the user's row lock: one rule change at a time. */ \
	X(MSTMT_PUSH_RULE_LOCK, "UPDATE users SET deactivated = deactivated WHERE user_id = $1") \
	/* User-defined rules: rows of server-default IDs only change those. */ \
	X(MSTMT_PUSH_RULE_COUNT, "SELECT COUNT(*) FROM push_rules WHERE user_id = $1" \
	    " AND substr(rule_id, 1, 1) <> '.'") \
	X(MSTMT_PUSH_RULE_PRIORITY, "SELECT priority FROM push_rules WHERE user_id = $1" \
	    " AND kind = $2 AND rule_id = $3") \
	X(MSTMT_PUSH_RULE_TOP, "SELECT COALESCE(MAX(priority), 0) FROM push_rules" \
	    " WHERE user_id = $1 AND kind = $2") \
	X(MSTMT_PUSH_RULE_SHIFT, "UPDATE push_rules SET priority = priority + 1" \
	    " WHERE user_id = $1 AND kind = $2 AND priority >= $3") \
	X(MSTMT_PUSH_RULE_PUT, "INSERT INTO push_rules (user_id, kind, rule_id, priority," \
	    " conditions, pattern, actions, enabled) VALUES ($1, $2, $3, $4, $5, $6, $7, 1)" \
	    " ON CONFLICT (user_id, kind, rule_id) DO UPDATE SET priority = excluded.priority," \
	    " conditions = excluded.conditions, pattern = excluded.pattern," \
	    " actions = excluded.actions") \
	X(MSTMT_PUSH_RULE_DEL, "DELETE FROM push_rules WHERE user_id = $1 AND kind = $2" \
	    " AND rule_id = $3") \
	X(MSTMT_PUSH_RULE_ENABLE, "INSERT INTO push_rules (user_id, kind, rule_id, enabled)" \
	    " VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, kind, rule_id) DO UPDATE" \
	    " SET enabled = excluded.enabled") \
	X(MSTMT_PUSH_RULE_ACTIONS, "INSERT INTO push_rules (user_id, kind, rule_id, actions)" \
	    " VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, kind, rule_id) DO UPDATE" \
	    " SET actions = excluded.actions") \
	/* pushers */ \
	X(MSTMT_PUSHER_LIST, "SELECT app_id, pushkey, kind, app_display_name," \
	    " device_display_name, profile_tag, lang, data FROM pushers WHERE user_id = $1" \
	    " ORDER BY created_ts, app_id, pushkey") \
	X(MSTMT_PUSHER_PUT, "INSERT INTO pushers (user_id, app_id, pushkey, kind," \
	    " app_display_name, device_display_name, profile_tag, lang, data, device_id," \
	    " created_ts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)" \
	    " ON CONFLICT (user_id, app_id, pushkey) DO UPDATE SET kind = excluded.kind," \
	    " app_display_name = excluded.app_display_name," \
	    " device_display_name = excluded.device_display_name," \
	    " profile_tag = excluded.profile_tag, lang = excluded.lang, data = excluded.data," \
	    " device_id = excluded.device_id") \
	X(MSTMT_PUSHER_DEL, "DELETE FROM pushers WHERE user_id = $1 AND app_id = $2" \
	    " AND pushkey = $3") \
	X(MSTMT_PUSHER_DEL_OTHERS, "DELETE FROM pushers WHERE app_id = $1 AND pushkey = $2" \
	    " AND user_id <> $3") \
	X(MSTMT_PUSHER_DEL_DEVICE, "DELETE FROM pushers WHERE user_id = $1 AND device_id = $2") \
	X(MSTMT_PUSHER_DEL_USER_EXCEPT, "DELETE FROM pushers WHERE user_id = $1" \
	    " AND (device_id IS NULL OR device_id <> $2)") \
	/* delivery (lib/push/gateway.c): the http pushers of users $1 (a JSON array) */ \
	X(MSTMT_PUSHER_HTTP_OF, "SELECT user_id, app_id, pushkey FROM pushers" \
	    " WHERE kind = 'http' AND user_id IN (SELECT value FROM json_each($1))" \
	    " ORDER BY user_id, app_id, pushkey") \
	X(MSTMT_PUSHER_GET, "SELECT kind, data, created_ts, last_badge FROM pushers" \
	    " WHERE user_id = $1 AND app_id = $2 AND pushkey = $3") \
	X(MSTMT_PUSHER_BADGE, "UPDATE pushers SET last_badge = $4 WHERE user_id = $1" \
	    " AND app_id = $2 AND pushkey = $3")

/* PostgreSQL's texts (see MSTMT_PG_ALL in stmts.h). */
#define MSTMT_PG_PUSH \
	P(MSTMT_PUSH_MEMBERS, "SELECT c.state_key, " MPUSH_DISPLAYNAME_PG " FROM current_state c" \
	    " JOIN users u ON u.user_id = c.state_key JOIN events e ON e.event_id = c.event_id" \
	    " WHERE " MPUSH_MEMBERS " ORDER BY c.state_key") \
	P(MSTMT_PUSH_ACTIONS_ADD, "INSERT INTO event_push_actions (user_id, room_id, event_id," \
	    " stream, notify, highlight, thread_id, actions, ts, is_read) SELECT j.value->>0, $1," \
	    " $2, CAST($3 AS BIGINT), CAST(j.value->>1 AS BIGINT), CAST(j.value->>2 AS BIGINT)," \
	    " $4, j.value->>3, CAST($5 AS BIGINT), 0" \
	    " FROM jsonb_array_elements(CAST($6 AS jsonb)) AS j(value)" \
	    " WHERE jsonb_typeof(j.value) = 'array' ON CONFLICT DO NOTHING") \
	P(MSTMT_PUSHER_HTTP_OF, "SELECT user_id, app_id, pushkey FROM pushers" \
	    " WHERE kind = 'http' AND user_id IN" \
	    " (SELECT jsonb_array_elements_text(CAST($1 AS jsonb)))" \
	    " ORDER BY user_id, app_id, pushkey")

#endif
