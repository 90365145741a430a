/*
 * Every SQL statement myelin runs, in one enumerated table (sqlbox's
 * pstmts[]).  Placeholders are $1, $2...; SQLite sees them as ?1, ?2...
 * A statement is prepared once per connection and reused.
 */
#ifndef MYELIN_STORE_STMTS_H
#define MYELIN_STORE_STMTS_H

/*
 * An event clients may be shown: accepted, not soft-failed, not an
 * outlier (lib/room/receive.c).  t: the events table's prefix, "" or "e.".
 */
#define MEVENT_SHOWN(t) " " t "rejected IS NULL AND " t "soft_failed = 0 AND " t "outlier = 0"

/*
 * 1 when the user $1 forgot the room of membership c (a current_state
 * row) at its event, else 0: room_forgotten is keyed by that event.
 */
#define MFORGOTTEN "CASE WHEN EXISTS (SELECT 1 FROM room_forgotten f" \
	" WHERE f.user_id = $1 AND f.room_id = c.room_id AND f.event_id = c.event_id)" \
	" THEN 1 ELSE 0 END"

/*
 * PostgreSQL's reads of state groups by their delta chains (stmts-sync.h,
 * stmts-vis.h).  Its planner cannot know how many groups a JSON array
 * holds (it guesses 100) nor how long a chain is (ten times its start),
 * and from those guesses it hashes the whole of state_groups,
 * state_group_entries and events at every call: 14 ms for the two groups
 * of an incremental /sync at 1,000 rooms, growing with the database,
 * where SQLite's nested loops make a few index probes.  A LATERAL
 * subquery with OFFSET 0, which PostgreSQL never flattens into a join,
 * makes each step an index lookup by its key, so the cost follows the
 * rows read, as on SQLite.
 *
 * MSGROUP_LINKS_PG is the recursive step of chain(start, id, n), the
 * links of each group nearest first; MSGROUP_ENTRY_PG(cond) the entries
 * (s) of link c.id with cond on them, MSGROUP_EVENT_PG their events (e,
 * with MEVENT_VIEW's columns and json).
 */
#define MSGROUP_LINKS_PG " UNION ALL SELECT c.start, s.prev_group, c.n + 1 FROM chain c" \
	" CROSS JOIN LATERAL (SELECT s.prev_group FROM state_groups s WHERE s.id = c.id" \
	" AND s.prev_group IS NOT NULL OFFSET 0) s"
#define MSGROUP_ENTRY_PG(cond) " CROSS JOIN LATERAL (SELECT s.type, s.state_key," \
	" s.event_id FROM state_group_entries s WHERE s.state_group = c.id" cond " OFFSET 0) s"
#define MSGROUP_EVENT_PG " CROSS JOIN LATERAL (SELECT e.json, e.event_id, e.redacted_by," \
	" e.replaces_state FROM events e WHERE e.event_id = s.event_id OFFSET 0) e"

#define MUSER_COLS "user_id, password_hash, displayname, avatar_url, is_admin," \
	" is_guest, deactivated, shadow_banned, user_type, created_ts"

#define MSTMT_TABLE \
	X(MSTMT_SCHEMA_VERSION, "SELECT COALESCE(MAX(version), 0) FROM schema_version") \
	X(MSTMT_SCHEMA_APPLIED, "SELECT COUNT(*) FROM schema_version WHERE version = $1") \
	X(MSTMT_SCHEMA_ADD, "INSERT INTO schema_version (version, applied_ts) VALUES ($1, $2)") \
	/* users */ \
	X(MSTMT_USER_GET, "SELECT " MUSER_COLS " FROM users WHERE user_id = $1") \
	X(MSTMT_USER_ADD, "INSERT INTO users (user_id, password_hash, displayname, is_admin," \
	    " is_guest, user_type, created_ts) VALUES ($1, $2, $3, $4, $5, $6, $7)" \
	    " ON CONFLICT DO NOTHING") \
	X(MSTMT_USER_SET_PASSWORD, "UPDATE users SET password_hash = $2 WHERE user_id = $1") \
	X(MSTMT_USER_UPGRADE_GUEST, "UPDATE users SET password_hash = $2, is_guest = 0" \
	    " WHERE user_id = $1 AND is_guest <> 0") \
	X(MSTMT_USER_SET_DISPLAYNAME, "UPDATE users SET displayname = $2 WHERE user_id = $1") \
	X(MSTMT_USER_SET_AVATAR, "UPDATE users SET avatar_url = $2 WHERE user_id = $1") \
	X(MSTMT_USER_SET_ADMIN, "UPDATE users SET is_admin = $2 WHERE user_id = $1") \
	X(MSTMT_USER_SET_DEACTIVATED, "UPDATE users SET deactivated = $2 WHERE user_id = $1") \
	X(MSTMT_USER_LIST, "SELECT " MUSER_COLS " FROM users WHERE user_id > $1" \
	    " ORDER BY user_id LIMIT $2") \
	/* devices */ \
	X(MSTMT_DEVICE_ADD, "INSERT INTO devices (user_id, device_id, display_name, last_seen_ts," \
	    " last_seen_ip) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, device_id)" \
	    " DO UPDATE SET last_seen_ts = excluded.last_seen_ts," \
	    " last_seen_ip = COALESCE(excluded.last_seen_ip, devices.last_seen_ip)," \
	    " display_name = COALESCE(excluded.display_name, devices.display_name)") \
	X(MSTMT_DEVICE_GET, "SELECT device_id, display_name, last_seen_ts, last_seen_ip" \
	    " FROM devices WHERE user_id = $1 AND device_id = $2") \
	X(MSTMT_DEVICE_LIST, "SELECT device_id, display_name, last_seen_ts, last_seen_ip" \
	    " FROM devices WHERE user_id = $1 ORDER BY device_id") \
	X(MSTMT_DEVICE_SET_NAME, "UPDATE devices SET display_name = $3" \
	    " WHERE user_id = $1 AND device_id = $2") \
	X(MSTMT_DEVICE_SEEN, "UPDATE devices SET last_seen_ts = $3, last_seen_ip = $4" \
	    " WHERE user_id = $1 AND device_id = $2") \
	X(MSTMT_DEVICE_DEL, "DELETE FROM devices WHERE user_id = $1 AND device_id = $2") \
	X(MSTMT_DEVICE_DEL_ALL, "DELETE FROM devices WHERE user_id = $1") \
	/* tokens */ \
	X(MSTMT_TOKEN_ADD, "INSERT INTO access_tokens (token_hash, user_id, device_id," \
	    " valid_until_ms, refresh_token_id, created_ts, used) VALUES ($1, $2, $3," \
	    " NULLIF(CAST($4 AS BIGINT), 0), NULLIF(CAST($5 AS BIGINT), 0), $6," \
	    " CASE WHEN CAST($5 AS BIGINT) = 0 THEN 1 ELSE 0 END)") \
	X(MSTMT_TOKEN_GET, "SELECT t.user_id, t.device_id, t.valid_until_ms, u.is_admin," \
	    " u.deactivated, u.is_guest, t.id, u.shadow_banned, t.used, t.refresh_token_id," \
	    " CASE WHEN d.device_id IS NULL THEN 0 ELSE 1 END, d.last_seen_ts," \
	    " u.locked, u.suspended, CASE WHEN o.user_id IS NULL THEN 0 ELSE 1 END," \
	    " o.messages_per_second, o.burst_count" \
	    " FROM access_tokens t JOIN users u ON u.user_id = t.user_id" \
	    " LEFT JOIN devices d ON d.user_id = t.user_id AND d.device_id = t.device_id" \
	    " LEFT JOIN ratelimit_override o ON o.user_id = t.user_id" \
	    " WHERE t.token_hash = $1") \
	X(MSTMT_TOKEN_USED, "UPDATE access_tokens SET used = 1 WHERE id = $1") \
	X(MSTMT_TOKEN_DEL_DEVICE, "DELETE FROM access_tokens WHERE user_id = $1 AND device_id = $2") \
	X(MSTMT_TOKEN_DEL_USER, "DELETE FROM access_tokens WHERE user_id = $1") \
	X(MSTMT_TOKEN_DEL_USER_EXCEPT, "DELETE FROM access_tokens WHERE user_id = $1" \
	    " AND device_id <> $2") \
	/* expiry_ts $4: 0 for none (refresh_token_lifetime_ms unset). */ \
	X(MSTMT_REFRESH_ADD, "INSERT INTO refresh_tokens (token_hash, user_id, device_id," \
	    " expiry_ts) VALUES ($1, $2, $3, NULLIF(CAST($4 AS BIGINT), 0)) RETURNING id") \
	/* \
	 * The no-op SET takes the row's lock, so that two uses of one token \
	 * queue; a token past its expiry is as unknown as a deleted one. \
	 */ \
	X(MSTMT_REFRESH_USE, "UPDATE refresh_tokens SET next_id = next_id WHERE token_hash = $1" \
	    " AND (expiry_ts IS NULL OR expiry_ts > $2) RETURNING id, user_id, device_id, next_id") \
	X(MSTMT_REFRESH_LINK, "UPDATE refresh_tokens SET next_id =" \
	    " (SELECT id FROM refresh_tokens WHERE token_hash = $2) WHERE id = $1") \
	X(MSTMT_REFRESH_DEL_ID, "DELETE FROM refresh_tokens WHERE id = $1") \
	X(MSTMT_REFRESH_DEL_PREV, "DELETE FROM refresh_tokens WHERE next_id = $1") \
	X(MSTMT_TOKEN_DEL_REFRESH, "DELETE FROM access_tokens WHERE refresh_token_id = $1") \
	X(MSTMT_REFRESH_DEL_DEVICE, "DELETE FROM refresh_tokens WHERE user_id = $1 AND device_id = $2") \
	X(MSTMT_REFRESH_DEL_USER, "DELETE FROM refresh_tokens WHERE user_id = $1") \
	X(MSTMT_REFRESH_DEL_USER_EXCEPT, "DELETE FROM refresh_tokens WHERE user_id = $1" \
	    " AND device_id <> $2") \
	/* user-interactive auth */ \
	X(MSTMT_UIA_ADD, "INSERT INTO uia_sessions (session_id, kind, user_id, created_ts," \
	    " operation) VALUES ($1, $2, $3, $4, $5)") \
	X(MSTMT_UIA_GET, "SELECT kind, user_id, completed, registration_token, created_ts," \
	    " operation, kept, result FROM uia_sessions WHERE session_id = $1") \
	X(MSTMT_UIA_KEEP, "UPDATE uia_sessions SET kept = $2 WHERE session_id = $1") \
	X(MSTMT_UIA_RESULT, "UPDATE uia_sessions SET result = $2, kept = NULL," \
	    " registration_token = NULL WHERE session_id = $1") \
	X(MSTMT_UIA_SET, "UPDATE uia_sessions SET completed = $2, registration_token = $3" \
	    " WHERE session_id = $1") \
	X(MSTMT_UIA_DEL, "DELETE FROM uia_sessions WHERE session_id = $1") \
	X(MSTMT_UIA_DEL_OLD, "DELETE FROM uia_sessions WHERE created_ts < $1") \
	/* registration tokens */ \
	X(MSTMT_REGTOKEN_ADD, "INSERT INTO registration_tokens (token, uses_allowed, expiry_time)" \
	    " VALUES ($1, NULLIF(CAST($2 AS BIGINT), -1), NULLIF(CAST($3 AS BIGINT), -1)) ON CONFLICT DO NOTHING") \
	X(MSTMT_REGTOKEN_GET, "SELECT token, uses_allowed, pending, completed, expiry_time" \
	    " FROM registration_tokens WHERE token = $1") \
	X(MSTMT_REGTOKEN_LIST, "SELECT token, uses_allowed, pending, completed, expiry_time" \
	    " FROM registration_tokens ORDER BY token") \
	X(MSTMT_REGTOKEN_DEL, "DELETE FROM registration_tokens WHERE token = $1") \
	X(MSTMT_REGTOKEN_USE, "UPDATE registration_tokens SET completed = completed + 1" \
	    " WHERE token = $1 AND (uses_allowed IS NULL OR completed < uses_allowed)" \
	    " AND (expiry_time IS NULL OR expiry_time > $2)") \
	/* shared-secret registration nonces */ \
	X(MSTMT_NONCE_ADD, "INSERT INTO registration_nonces (nonce, created_ts) VALUES ($1, $2)") \
	X(MSTMT_NONCE_TAKE, "DELETE FROM registration_nonces WHERE nonce = $1 AND created_ts >= $2") \
	X(MSTMT_NONCE_DEL_OLD, "DELETE FROM registration_nonces WHERE created_ts < $1")

#include "store/stmts-room.h"
#include "store/stmts-sync.h"
#include "store/stmts-rel.h"
#include "store/stmts-dir.h"
#include "store/stmts-ephemeral.h"
#include "store/stmts-admin.h"
#include "store/stmts-filter.h"
#include "store/stmts-search.h"
#include "store/stmts-push.h"
#include "store/stmts-vis.h"
#include "store/stmts-misc.h"
#include "store/stmts-keys.h"
#include "store/stmts-threepid.h"
#include "store/stmts-e2ee.h"
#include "store/stmts-outbox.h"
#include "store/stmts-media.h"
#include "store/stmts-fedq.h"
#include "store/stmts-ratelimit.h"
#include "store/stmts-delayed.h"
#include "store/stmts-devcache.h"
#include "store/stmts-synapse.h"
#include "store/stmts-synimport.h"
#include "store/stmts-sliding.h"
#include "store/stmts-metrics.h"
#include "store/stmts-retention.h"
#include "store/stmts-cleanup.h"

/* Every table of statements, one per noun. */
#define MSTMT_ALL \
	MSTMT_TABLE \
	MSTMT_TABLE_ROOM \
	MSTMT_TABLE_SYNC \
	MSTMT_TABLE_REL \
	MSTMT_TABLE_DIR \
	MSTMT_TABLE_ADMIN \
	MSTMT_TABLE_EPHEMERAL \
	MSTMT_TABLE_FILTER \
	MSTMT_TABLE_SEARCH \
	MSTMT_TABLE_PUSH \
	MSTMT_TABLE_VIS \
	MSTMT_TABLE_MISC \
	MSTMT_TABLE_KEYS \
	MSTMT_TABLE_THREEPID \
	MSTMT_TABLE_E2EE \
	MSTMT_TABLE_OUTBOX \
	MSTMT_TABLE_MEDIA \
	MSTMT_TABLE_FEDQ \
	MSTMT_TABLE_RATELIMIT \
	MSTMT_TABLE_DELAYED \
	MSTMT_TABLE_DEVCACHE \
	MSTMT_TABLE_SYNAPSE \
	MSTMT_TABLE_SYNIMPORT \
	MSTMT_TABLE_SLIDING \
	MSTMT_TABLE_METRICS \
	MSTMT_TABLE_RETENTION \
	MSTMT_TABLE_CLEANUP \
	/* a table more is one line more above, each ending in a backslash */

/*
 * PostgreSQL's own text of a statement, P(id, sql), where the engines
 * cannot share one (full-text search); every other statement runs as
 * MSTMT_ALL gives it on both.
 */
#define MSTMT_PG_ALL MSTMT_PG_SEARCH MSTMT_PG_VIS MSTMT_PG_E2EE MSTMT_PG_PUSH \
	MSTMT_PG_RETENTION MSTMT_PG_SYNC

/*
 * Statements PostgreSQL runs with a generic plan, G(id): planned once per
 * connection (plan_cache_mode = force_generic_plan while they run, see
 * pg_run).  Left to itself it plans these afresh at every call, since
 * its custom plans for the parameters given cost less by its estimates,
 * and planning them took 1-5 ms each where running them takes 0.1: 7 ms
 * of an incremental /sync at 1,000 rooms.  Their generic plans are the
 * same index paths (a stream range ($2, $3] is estimated at 0.5% of the
 * rows).  Those an initial /sync runs over every room keep their custom
 * plans (MSTMT_SYNC_TIMELINES_ALL, MSTMT_SYNC_MEMBERSHIPS, whose generic
 * plans measured slower), as do sliding sync's MSTMT_SLIDING_MEMBERSHIPS
 * (generic: 17 ms against 2) and MSTMT_SLIDING_BUMPS, and every statement
 * not listed.  The cheap lookups a /sync or a sliding sync runs between
 * them (per room: the page of events, the state group) are listed too,
 * so that a request switches the mode a few times, not at every
 * statement.  The access token's lookup, the first statement of every
 * request, is one too: planned afresh it took 0.4-0.5 ms of an
 * incremental sync's bind.
 */
#define MSTMT_PG_GENERIC \
	G(MSTMT_TOKEN_GET) G(MSTMT_PRESENCE_GET) G(MSTMT_PRESENCE_ACTIVE) G(MSTMT_EVENTS_MAX_STREAM) \
	G(MSTMT_ESTREAM_GET) G(MSTMT_STREAM_POSITIONS) G(MSTMT_RECEIPT_POS) G(MSTMT_ACCOUNT_DATA_GET) \
	G(MSTMT_SYNC_MEMBERSHIPS_SINCE) \
	G(MSTMT_SYNC_TIMELINES) G(MSTMT_SYNC_TIMELINES_FEW) G(MSTMT_VIS_STANDINGS) G(MSTMT_VIS_GROUPS) \
	G(MSTMT_SYNC_SGROUP_EVENTS) G(MSTMT_SYNC_SGROUPS_ENTRIES) G(MSTMT_SYNC_ROOM_MEMBERS) \
	G(MSTMT_CSTATE_GET_JSON) G(MSTMT_PRESENCE_SYNC) G(MSTMT_PRESENCE_NEWLY) \
	G(MSTMT_E2EE_TD_GET) G(MSTMT_E2EE_TD_ACKED) G(MSTMT_E2EE_DL_CHANGED) G(MSTMT_E2EE_SHARED) \
	G(MSTMT_E2EE_DLP_CHANGED) G(MSTMT_E2EE_MEMBER_MOVES) G(MSTMT_E2EE_OTK_COUNTS) \
	G(MSTMT_E2EE_KEY_COUNTS) G(MSTMT_PUSH_COUNTS) G(MSTMT_SYNC_MEMBERS) \
	G(MSTMT_EVENTS_BACK) G(MSTMT_ROOM_STATE_AT) G(MSTMT_SLIDING_CONN_GET) \
	G(MSTMT_SLIDING_ROOMS_DROP_AFTER) G(MSTMT_SLIDING_ROOMS_PRUNE) \
	G(MSTMT_SLIDING_CONN_ACK) G(MSTMT_SLIDING_ROOMS_GET) G(MSTMT_SLIDING_CONN_NEXT) \
	G(MSTMT_SLIDING_ROOM_PUT)

enum mstmt {
#define X(id, sql) id,
	MSTMT_ALL
#undef X
	MSTMT__MAX
};

#endif
