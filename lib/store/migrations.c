/* Numbered schema migrations; a migration never changes once released. */
#include <stddef.h>

#include "store/extern.h"
#include "store/migrations.h"

/*
 * Each step has one text for both backends unless pg is set.  Types are
 * kept to TEXT and BIGINT so that the two engines store the same values;
 * "SERIAL_PK" in the text becomes the engine's own auto-increment key.
 */
const struct mmigration mmigrations[] = {
	{ 1, "accounts",
	  "CREATE TABLE users ("
	  " user_id TEXT PRIMARY KEY,"
	  " password_hash TEXT,"
	  " displayname TEXT,"
	  " avatar_url TEXT,"
	  " is_admin BIGINT NOT NULL DEFAULT 0,"
	  " is_guest BIGINT NOT NULL DEFAULT 0,"
	  " deactivated BIGINT NOT NULL DEFAULT 0,"
	  " shadow_banned BIGINT NOT NULL DEFAULT 0,"
	  " user_type TEXT,"
	  " created_ts BIGINT NOT NULL);"
	  "CREATE TABLE devices ("
	  " user_id TEXT NOT NULL,"
	  " device_id TEXT NOT NULL,"
	  " display_name TEXT,"
	  " last_seen_ts BIGINT,"
	  " last_seen_ip TEXT,"
	  " PRIMARY KEY (user_id, device_id));"
	  "CREATE TABLE refresh_tokens ("
	  " id SERIAL_PK,"
	  " token_hash TEXT NOT NULL UNIQUE,"
	  " user_id TEXT NOT NULL,"
	  " device_id TEXT NOT NULL);"
	  "CREATE TABLE access_tokens ("
	  " id SERIAL_PK,"
	  " token_hash TEXT NOT NULL UNIQUE,"
	  " user_id TEXT NOT NULL,"
	  " device_id TEXT NOT NULL,"
	  " valid_until_ms BIGINT,"
	  " refresh_token_id BIGINT,"
	  " created_ts BIGINT NOT NULL);"
	  "CREATE INDEX access_tokens_device ON access_tokens (user_id, device_id);"
	  "CREATE INDEX refresh_tokens_device ON refresh_tokens (user_id, device_id);"
	  "CREATE TABLE uia_sessions ("
	  " session_id TEXT PRIMARY KEY,"
	  " kind TEXT NOT NULL,"
	  " user_id TEXT,"
	  " completed TEXT NOT NULL DEFAULT '[]',"
	  " registration_token TEXT,"
	  " created_ts BIGINT NOT NULL);"
	  "CREATE TABLE registration_tokens ("
	  " token TEXT PRIMARY KEY,"
	  " uses_allowed BIGINT,"
	  " pending BIGINT NOT NULL DEFAULT 0,"
	  " completed BIGINT NOT NULL DEFAULT 0,"
	  " expiry_time BIGINT);"
	  "CREATE TABLE registration_nonces ("
	  " nonce TEXT PRIMARY KEY,"
	  " created_ts BIGINT NOT NULL);",
	  NULL },
	{ 2, "rooms",
	  "CREATE TABLE rooms ("
	  " room_id TEXT PRIMARY KEY,"
	  " room_version TEXT NOT NULL,"
	  " creator TEXT,"
	  " is_public BIGINT NOT NULL DEFAULT 0,"
	  " lock_seq BIGINT NOT NULL DEFAULT 0,"
	  " created_ts BIGINT NOT NULL);"
	  /* stream: the event's position in the events stream. */
	  "CREATE TABLE events ("
	  " stream SERIAL_PK,"
	  " event_id TEXT NOT NULL UNIQUE,"
	  " room_id TEXT NOT NULL,"
	  " type TEXT NOT NULL,"
	  " state_key TEXT,"
	  " sender TEXT NOT NULL,"
	  " depth BIGINT NOT NULL,"
	  " origin_server_ts BIGINT NOT NULL,"
	  " state_before BIGINT,"
	  " state_after BIGINT,"
	  " rejected TEXT,"
	  " redacted_by TEXT,"
	  " txn_user TEXT,"
	  " txn_device TEXT,"
	  " txn_id TEXT,"
	  " json TEXT NOT NULL);"
	  "CREATE INDEX events_room_stream ON events (room_id, stream);"
	  "CREATE UNIQUE INDEX events_txn ON events (room_id, txn_user, txn_device, txn_id);"
	  "CREATE TABLE state_groups ("
	  " id SERIAL_PK,"
	  " room_id TEXT NOT NULL,"
	  " prev_group BIGINT,"
	  " chain BIGINT NOT NULL);"
	  "CREATE TABLE state_group_entries ("
	  " state_group BIGINT NOT NULL,"
	  " type TEXT NOT NULL,"
	  " state_key TEXT NOT NULL,"
	  " event_id TEXT NOT NULL,"
	  " PRIMARY KEY (state_group, type, state_key));"
	  "CREATE TABLE current_state ("
	  " room_id TEXT NOT NULL,"
	  " type TEXT NOT NULL,"
	  " state_key TEXT NOT NULL,"
	  " event_id TEXT NOT NULL,"
	  " membership TEXT,"
	  " PRIMARY KEY (room_id, type, state_key));"
	  "CREATE INDEX current_state_member ON current_state (state_key, type, membership);"
	  "CREATE TABLE forward_extremities ("
	  " room_id TEXT NOT NULL,"
	  " event_id TEXT NOT NULL,"
	  " PRIMARY KEY (room_id, event_id));"
	  "CREATE TABLE room_aliases ("
	  " alias TEXT PRIMARY KEY,"
	  " room_id TEXT NOT NULL,"
	  " creator TEXT NOT NULL);"
	  "CREATE INDEX room_aliases_room ON room_aliases (room_id);"
	  "CREATE TABLE event_relations ("
	  " event_id TEXT PRIMARY KEY,"
	  " relates_to TEXT NOT NULL,"
	  " rel_type TEXT NOT NULL,"
	  " aggregation_key TEXT,"
	  " room_id TEXT NOT NULL,"
	  " stream BIGINT NOT NULL);"
	  "CREATE INDEX event_relations_parent ON event_relations (relates_to, rel_type, stream);",
	  NULL },
	/*
	 * room_forgotten keeps the membership event forgotten: a later join
	 * replaces it in current_state, which ends the forgetting by itself.
	 */
	{ 3, "directory",
	  "CREATE TABLE room_forgotten ("
	  " user_id TEXT NOT NULL,"
	  " room_id TEXT NOT NULL,"
	  " event_id TEXT NOT NULL,"
	  " forgotten_ts BIGINT NOT NULL,"
	  " PRIMARY KEY (user_id, room_id));"
	  "CREATE TABLE event_reports ("
	  " id SERIAL_PK,"
	  " room_id TEXT NOT NULL,"
	  " event_id TEXT NOT NULL,"
	  " user_id TEXT NOT NULL,"
	  " reason TEXT,"
	  " score BIGINT,"
	  " received_ts BIGINT NOT NULL);"
	  "CREATE INDEX event_reports_received ON event_reports (received_ts);"
	  "CREATE INDEX rooms_published ON rooms (room_id) WHERE is_public = 1;",
	  NULL },
	/*
	 * GET /threads reads a room's m.thread relations (event_relations_room);
	 * GET /timestamp_to_event seeks a room's events by time (events_room_ts).
	 */
	{ 4, "relations",
	  "CREATE INDEX event_relations_room ON event_relations (room_id, rel_type, stream);"
	  "CREATE INDEX events_room_ts ON events (room_id, origin_server_ts);",
	  NULL },
};
const size_t mmigrationsz = sizeof(mmigrations) / sizeof(mmigrations[0]);
