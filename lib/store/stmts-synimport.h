/*
 * Statements of myelin-admin import-synapse (lib/store/synimport.c):
 * MSTMT_SYI_* read Synapse's schema (version 72, Synapse 1.67) on its
 * database, SQLite or PostgreSQL; MSTMT_SYI_MY_* run on myelin's own
 * (the progress rows, the counts checked at the end).  Booleans are
 * read through CASE, as in stmts-synapse.h.  Batches go by key:
 * "first" statements take the limit, "next" ones the last key first.
 */
#ifndef MYELIN_STORE_STMTS_SYNIMPORT_H
#define MYELIN_STORE_STMTS_SYNIMPORT_H

#define MSYI_USER_COLS "SELECT name, password_hash, admin, is_guest, deactivated," \
	" user_type, creation_ts, CASE WHEN shadow_banned THEN 1 ELSE 0 END FROM users"
#define MSYI_EVENT_COLS "SELECT e.stream_ordering, j.json," \
	" CASE WHEN e.outlier THEN 1 ELSE 0 END, e.room_id, e.event_id" \
	" FROM events e JOIN event_json j ON j.event_id = e.event_id"
/* Local media; a URL preview's (url_cache) is a cache, not a user's upload. */
#define MSYI_MEDIA_COLS "SELECT media_id, media_type, media_length, created_ts," \
	" upload_name, user_id, CASE WHEN quarantined_by IS NULL THEN 0 ELSE 1 END" \
	" FROM local_media_repository WHERE url_cache IS NULL"
#define MSYI_ROOM_COLS "SELECT room_id, CASE WHEN is_public THEN 1 ELSE 0 END FROM rooms"
/* A device Synapse hides is a cross-signing key's, no device of the user's. */
#define MSYI_SHOWN_DEVICE "(hidden IS NULL OR NOT hidden)"

#define MSTMT_TABLE_SYNIMPORT \
	X(MSTMT_SYI_USERS_FIRST, MSYI_USER_COLS " ORDER BY name LIMIT $1") \
	X(MSTMT_SYI_USERS_NEXT, MSYI_USER_COLS " WHERE name > $1 ORDER BY name LIMIT $2") \
	X(MSTMT_SYI_EVENTS_FIRST, MSYI_EVENT_COLS " ORDER BY e.stream_ordering LIMIT $1") \
	X(MSTMT_SYI_EVENTS_NEXT, MSYI_EVENT_COLS " WHERE e.stream_ordering > CAST($1 AS BIGINT)" \
	    " ORDER BY e.stream_ordering LIMIT $2") \
	X(MSTMT_SYI_ROOMS_FIRST, MSYI_ROOM_COLS " ORDER BY room_id LIMIT $1") \
	X(MSTMT_SYI_ROOMS_NEXT, MSYI_ROOM_COLS " WHERE room_id > $1 ORDER BY room_id LIMIT $2") \
	X(MSTMT_SYI_MEDIA_FIRST, MSYI_MEDIA_COLS " ORDER BY media_id LIMIT $1") \
	X(MSTMT_SYI_MEDIA_NEXT, MSYI_MEDIA_COLS " AND media_id > $1 ORDER BY media_id LIMIT $2") \
	/* Synapse 1.67 keys profiles by localpart. */ \
	X(MSTMT_SYI_PROFILE, "SELECT displayname, avatar_url FROM profiles WHERE user_id = $1") \
	X(MSTMT_SYI_DEVICES, "SELECT device_id, display_name, last_seen, ip FROM devices" \
	    " WHERE user_id = $1 AND " MSYI_SHOWN_DEVICE " ORDER BY device_id") \
	/* An admin's puppet token (login as) is no session of the user's. */ \
	X(MSTMT_SYI_TOKENS, "SELECT token, device_id, COALESCE(valid_until_ms, 0)" \
	    " FROM access_tokens WHERE user_id = $1 AND puppets_user_id IS NULL ORDER BY id") \
	X(MSTMT_SYI_DKEYS, "SELECT device_id, key_json FROM e2e_device_keys_json" \
	    " WHERE user_id = $1 ORDER BY device_id") \
	X(MSTMT_SYI_OTKS, "SELECT device_id, algorithm, key_id, key_json" \
	    " FROM e2e_one_time_keys_json WHERE user_id = $1 ORDER BY device_id, algorithm, key_id") \
	X(MSTMT_SYI_FALLBACKS, "SELECT device_id, algorithm, key_id, key_json" \
	    " FROM e2e_fallback_keys_json WHERE user_id = $1 AND NOT used" \
	    " ORDER BY device_id, algorithm") \
	/* Every key Synapse kept: the newest of each type wins. */ \
	X(MSTMT_SYI_XSKEYS, "SELECT keytype, keydata FROM e2e_cross_signing_keys" \
	    " WHERE user_id = $1 ORDER BY stream_id") \
	X(MSTMT_SYI_XSSIGS, "SELECT key_id, target_user_id, target_device_id, signature" \
	    " FROM e2e_cross_signing_signatures WHERE user_id = $1" \
	    " ORDER BY target_user_id, target_device_id, key_id") \
	X(MSTMT_SYI_ACCOUNT_DATA, "SELECT '', account_data_type, content FROM account_data" \
	    " WHERE user_id = $1 UNION ALL SELECT room_id, account_data_type, content" \
	    " FROM room_account_data WHERE user_id = $1") \
	X(MSTMT_SYI_TAGS, "SELECT room_id, tag, content FROM room_tags WHERE user_id = $1" \
	    " ORDER BY room_id, tag") \
	X(MSTMT_SYI_BACKUPS, "SELECT version, algorithm, auth_data FROM e2e_room_keys_versions" \
	    " WHERE user_id = $1 AND deleted = 0 ORDER BY version") \
	X(MSTMT_SYI_BACKUP_KEYS, "SELECT room_id, session_id, first_message_index," \
	    " forwarded_count, CASE WHEN is_verified THEN 1 ELSE 0 END, session_data" \
	    " FROM e2e_room_keys WHERE user_id = $1 AND version = CAST($2 AS BIGINT)" \
	    " ORDER BY room_id, session_id") \
	/* Lowest first: each rule put without an anchor goes above those before it. */ \
	X(MSTMT_SYI_PUSH_RULES, "SELECT rule_id, conditions, actions FROM push_rules" \
	    " WHERE user_name = $1 ORDER BY priority_class, priority") \
	X(MSTMT_SYI_PUSH_ENABLE, "SELECT rule_id, enabled FROM push_rules_enable" \
	    " WHERE user_name = $1 AND enabled IS NOT NULL ORDER BY rule_id") \
	/* A pusher's device is that of the token that set it. */ \
	X(MSTMT_SYI_PUSHERS, "SELECT p.kind, p.app_id, p.app_display_name," \
	    " p.device_display_name, p.profile_tag, p.pushkey, p.lang, p.data, p.ts, t.device_id" \
	    " FROM pushers p LEFT JOIN access_tokens t ON t.id = p.access_token" \
	    " WHERE p.user_name = $1 ORDER BY p.id") \
	X(MSTMT_SYI_ALIASES, "SELECT room_alias, COALESCE(creator, '') FROM room_aliases" \
	    " WHERE room_id = $1 ORDER BY room_alias") \
	X(MSTMT_SYI_RECEIPTS, "SELECT receipt_type, user_id, event_id, data" \
	    " FROM receipts_linearized WHERE room_id = $1 ORDER BY stream_id") \
	/* The state group after an event, and the group it was made from. */ \
	X(MSTMT_SYI_EVENT_SG, "SELECT t.state_group, COALESCE(g.prev_state_group, 0)" \
	    " FROM event_to_state_groups t LEFT JOIN state_group_edges g" \
	    " ON g.state_group = t.state_group WHERE t.event_id = $1") \
	/* A group's state: its deltas down its chain, the newest group's entry first. */ \
	X(MSTMT_SYI_SG_STATE, "WITH RECURSIVE sgs(state_group) AS (SELECT CAST($1 AS BIGINT)" \
	    " UNION ALL SELECT e.prev_state_group FROM state_group_edges e JOIN sgs s" \
	    " ON s.state_group = e.state_group) SELECT type, state_key, event_id" \
	    " FROM state_groups_state WHERE state_group IN (SELECT state_group FROM sgs)" \
	    " ORDER BY state_group DESC") \
	/* The counts compared at the end, source side. */ \
	X(MSTMT_SYI_N_USERS, "SELECT COUNT(*) FROM users") \
	X(MSTMT_SYI_N_DEVICES, "SELECT COUNT(*) FROM devices WHERE " MSYI_SHOWN_DEVICE) \
	X(MSTMT_SYI_N_TOKENS, "SELECT COUNT(*) FROM access_tokens WHERE puppets_user_id IS NULL") \
	X(MSTMT_SYI_N_ROOMS, "SELECT COUNT(*) FROM rooms") \
	X(MSTMT_SYI_N_EVENTS, "SELECT COUNT(*) FROM events") \
	X(MSTMT_SYI_N_CSTATE, "SELECT COUNT(*) FROM current_state_events") \
	X(MSTMT_SYI_N_FWD, "SELECT COUNT(*) FROM event_forward_extremities") \
	X(MSTMT_SYI_N_ALIASES, "SELECT COUNT(*) FROM room_aliases") \
	X(MSTMT_SYI_N_ACCOUNT_DATA, "SELECT (SELECT COUNT(*) FROM account_data) +" \
	    " (SELECT COUNT(*) FROM room_account_data)") \
	X(MSTMT_SYI_N_DKEYS, "SELECT COUNT(*) FROM e2e_device_keys_json") \
	X(MSTMT_SYI_N_OTKS, "SELECT COUNT(*) FROM e2e_one_time_keys_json") \
	X(MSTMT_SYI_N_XSKEYS, "SELECT COUNT(DISTINCT user_id || ' ' || keytype)" \
	    " FROM e2e_cross_signing_keys") \
	X(MSTMT_SYI_N_MEDIA, "SELECT COUNT(*) FROM local_media_repository WHERE url_cache IS NULL") \
	/* myelin's side: the same counts, and the progress rows. */ \
	X(MSTMT_SYI_MY_N_USERS, "SELECT COUNT(*) FROM users") \
	X(MSTMT_SYI_MY_N_DEVICES, "SELECT COUNT(*) FROM devices") \
	X(MSTMT_SYI_MY_N_TOKENS, "SELECT COUNT(*) FROM access_tokens") \
	X(MSTMT_SYI_MY_N_ROOMS, "SELECT COUNT(*) FROM rooms") \
	X(MSTMT_SYI_MY_N_EVENTS, "SELECT COUNT(*) FROM events") \
	X(MSTMT_SYI_MY_N_CSTATE, "SELECT COUNT(*) FROM current_state") \
	X(MSTMT_SYI_MY_N_FWD, "SELECT COUNT(*) FROM forward_extremities") \
	X(MSTMT_SYI_MY_N_ALIASES, "SELECT COUNT(*) FROM room_aliases") \
	/* m.tag is Synapse's room_tags, not account data there. */ \
	X(MSTMT_SYI_MY_N_ACCOUNT_DATA, "SELECT COUNT(*) FROM account_data WHERE type <> 'm.tag'") \
	X(MSTMT_SYI_MY_N_DKEYS, "SELECT COUNT(*) FROM device_keys") \
	X(MSTMT_SYI_MY_N_OTKS, "SELECT COUNT(*) FROM one_time_keys") \
	X(MSTMT_SYI_MY_N_XSKEYS, "SELECT COUNT(*) FROM cross_signing_keys") \
	X(MSTMT_SYI_MY_N_MEDIA, "SELECT COUNT(*) FROM media") \
	X(MSTMT_SYI_MY_PROGRESS_GET, "SELECT source, last_key, done, rows FROM synapse_import" \
	    " WHERE step = $1") \
	X(MSTMT_SYI_MY_PROGRESS_PUT, "INSERT INTO synapse_import (step, source, last_key, done," \
	    " rows) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (step) DO UPDATE SET" \
	    " last_key = excluded.last_key, done = excluded.done, rows = excluded.rows") \
	X(MSTMT_SYI_MY_SOURCE, "SELECT source FROM synapse_import LIMIT 1")

#endif
