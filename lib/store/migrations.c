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
	/*
	 * The admin toolkit: users.erased marks accounts deactivated with
	 * erase; blocked_rooms may name rooms this server has never seen (a
	 * block outlives a purge) and the admin who blocked it (NULL from
	 * myelin-admin); room_deletes keeps the outcome of each
	 * room deletion for the delete_status endpoints.
	 */
	{ 5, "admin",
	  "ALTER TABLE users ADD COLUMN erased BIGINT NOT NULL DEFAULT 0;"
	  "CREATE TABLE blocked_rooms ("
	  " room_id TEXT PRIMARY KEY,"
	  " user_id TEXT,"
	  " blocked_ts BIGINT NOT NULL);"
	  "CREATE TABLE room_deletes ("
	  " delete_id TEXT PRIMARY KEY,"
	  " room_id TEXT NOT NULL,"
	  " status TEXT NOT NULL,"
	  " error TEXT,"
	  " result TEXT NOT NULL,"
	  " created_ts BIGINT NOT NULL);"
	  "CREATE INDEX room_deletes_room ON room_deletes (room_id, created_ts);",
	  NULL },
	/*
	 * Filters clients upload, numbered per user from 0 (as Synapse);
	 * json is the canonical JSON, so a definition uploaded again gets
	 * its old ID.  sync_lazy_members remembers which membership events
	 * a device was sent by a lazy-loading /sync, and in the response
	 * whose next_batch is at sent_at (an events position).
	 */
	{ 6, "filters",
	  "CREATE TABLE filters ("
	  " user_id TEXT NOT NULL,"
	  " filter_id BIGINT NOT NULL,"
	  " json TEXT NOT NULL,"
	  " PRIMARY KEY (user_id, filter_id));"
	  "CREATE TABLE sync_lazy_members ("
	  " user_id TEXT NOT NULL,"
	  " device_id TEXT NOT NULL,"
	  " room_id TEXT NOT NULL,"
	  " member TEXT NOT NULL,"
	  " event_id TEXT NOT NULL,"
	  " sent_at BIGINT NOT NULL,"
	  " PRIMARY KEY (user_id, device_id, room_id, member));",
	  NULL },
	/*
	 * The streams beside events: typing, account data and presence.
	 * ephemeral_streams holds each one's position, taken in the writing
	 * transaction.  A typing row with until_ms 0 is a user who stopped:
	 * it stays so that the room's change keeps a position.  account_data
	 * keeps global data under room_id ''.
	 */
	{ 7, "ephemeral",
	  "CREATE TABLE ephemeral_streams ("
	  " name TEXT PRIMARY KEY,"
	  " pos BIGINT NOT NULL);"
	  "INSERT INTO ephemeral_streams (name, pos) VALUES ('typing', 0),"
	  " ('account_data', 0), ('presence', 0);"
	  "CREATE TABLE typing ("
	  " room_id TEXT NOT NULL,"
	  " user_id TEXT NOT NULL,"
	  " until_ms BIGINT NOT NULL,"
	  " stream BIGINT NOT NULL,"
	  " PRIMARY KEY (room_id, user_id));"
	  "CREATE INDEX typing_stream ON typing (stream);"
	  "CREATE INDEX typing_until ON typing (until_ms) WHERE until_ms > 0;"
	  "CREATE TABLE account_data ("
	  " user_id TEXT NOT NULL,"
	  " room_id TEXT NOT NULL,"
	  " type TEXT NOT NULL,"
	  " content TEXT NOT NULL,"
	  " stream BIGINT NOT NULL,"
	  " PRIMARY KEY (user_id, room_id, type));"
	  "CREATE INDEX account_data_stream ON account_data (user_id, stream);"
	  "CREATE TABLE presence ("
	  " user_id TEXT PRIMARY KEY,"
	  " presence TEXT NOT NULL,"
	  " status_msg TEXT,"
	  " last_active_ts BIGINT NOT NULL,"
	  " stream BIGINT NOT NULL);"
	  "CREATE INDEX presence_stream ON presence (stream);",
	  NULL },
	/*
	 * Receipts, push rules and notifications.  receipts: thread_id '' is
	 * unthreaded; event_stream orders receipts of one kind, stream is
	 * the receipts stream (its position in receipts_position).
	 * push_rules: a user's own rules, and their changes to server-default
	 * rules (IDs starting with "."; enabled and actions NULL when not
	 * changed).  event_push_actions: one row per notified user and event
	 * (stream: the event's), thread_id "main" or the root; is_read set
	 * by receipts, so unread counts read the partial index only.
	 */
	{ 8, "push",
	  "CREATE TABLE receipts ("
	  " room_id TEXT NOT NULL,"
	  " user_id TEXT NOT NULL,"
	  " receipt_type TEXT NOT NULL,"
	  " thread_id TEXT NOT NULL,"
	  " event_id TEXT NOT NULL,"
	  " event_stream BIGINT NOT NULL,"
	  " ts BIGINT NOT NULL,"
	  " stream BIGINT NOT NULL,"
	  " PRIMARY KEY (room_id, user_id, receipt_type, thread_id));"
	  "CREATE INDEX receipts_stream ON receipts (stream);"
	  "CREATE TABLE receipts_position ("
	  " id BIGINT PRIMARY KEY,"
	  " pos BIGINT NOT NULL);"
	  "INSERT INTO receipts_position (id, pos) VALUES (1, 0);"
	  "CREATE TABLE push_rules ("
	  " user_id TEXT NOT NULL,"
	  " kind TEXT NOT NULL,"
	  " rule_id TEXT NOT NULL,"
	  " priority BIGINT NOT NULL DEFAULT 0,"
	  " conditions TEXT,"
	  " pattern TEXT,"
	  " actions TEXT,"
	  " enabled BIGINT,"
	  " PRIMARY KEY (user_id, kind, rule_id));"
	  "CREATE TABLE event_push_actions ("
	  " user_id TEXT NOT NULL,"
	  " room_id TEXT NOT NULL,"
	  " event_id TEXT NOT NULL,"
	  " stream BIGINT NOT NULL,"
	  " notify BIGINT NOT NULL,"
	  " highlight BIGINT NOT NULL,"
	  " thread_id TEXT NOT NULL,"
	  " actions TEXT NOT NULL,"
	  " ts BIGINT NOT NULL,"
	  " is_read BIGINT NOT NULL DEFAULT 0,"
	  " PRIMARY KEY (user_id, stream));"
	  "CREATE INDEX event_push_actions_unread ON event_push_actions (user_id, room_id, stream)"
	  " WHERE is_read = 0;"
	  "CREATE TABLE pushers ("
	  " user_id TEXT NOT NULL,"
	  " app_id TEXT NOT NULL,"
	  " pushkey TEXT NOT NULL,"
	  " kind TEXT NOT NULL,"
	  " app_display_name TEXT NOT NULL,"
	  " device_display_name TEXT NOT NULL,"
	  " profile_tag TEXT,"
	  " lang TEXT NOT NULL,"
	  " data TEXT NOT NULL,"
	  " device_id TEXT,"
	  " created_ts BIGINT NOT NULL,"
	  " PRIMARY KEY (user_id, app_id, pushkey));"
	  "CREATE INDEX pushers_key ON pushers (app_id, pushkey);",
	  NULL },
	/*
	 * Server-side search: event_search indexes the searchable text of
	 * events (m.room.message body, m.room.name name, m.room.topic topic)
	 * by stream position, and takes in the events stored before it.
	 * SQLite: FTS5 with the Porter stemmer, for bm25(); PostgreSQL: a
	 * tsvector of the 'english' configuration under a GIN index, for
	 * ts_rank().  Both stem English words, so they find alike.
	 */
	{ 9, "search",
	  "CREATE VIRTUAL TABLE event_search USING fts5(value,"
	  " tokenize = 'porter unicode61 remove_diacritics 2');"
	  "INSERT INTO event_search (rowid, value) SELECT stream, v FROM"
	  " (SELECT stream, CASE type"
	  " WHEN 'm.room.message' THEN CASE WHEN json_type(json, '$.content.body') = 'text'"
	  " THEN json_extract(json, '$.content.body') END"
	  " WHEN 'm.room.name' THEN CASE WHEN json_type(json, '$.content.name') = 'text'"
	  " THEN json_extract(json, '$.content.name') END"
	  " ELSE CASE WHEN json_type(json, '$.content.topic') = 'text'"
	  " THEN json_extract(json, '$.content.topic') END END AS v FROM events"
	  " WHERE type IN ('m.room.message', 'm.room.name', 'm.room.topic')"
	  " AND rejected IS NULL AND redacted_by IS NULL) WHERE v <> '';",
	  "CREATE TABLE event_search ("
	  " stream BIGINT PRIMARY KEY,"
	  " value TEXT NOT NULL,"
	  " vector tsvector NOT NULL);"
	  "CREATE INDEX event_search_vector ON event_search USING GIN (vector);"
	  "INSERT INTO event_search (stream, value, vector) SELECT stream, v,"
	  " to_tsvector('english', v) FROM (SELECT stream, CASE WHEN jsonb_typeof(j->'content'->k)"
	  " = 'string' THEN j->'content'->>k END AS v FROM (SELECT stream, CAST(json AS jsonb) AS j,"
	  " CASE type WHEN 'm.room.message' THEN 'body' WHEN 'm.room.name' THEN 'name'"
	  " ELSE 'topic' END AS k FROM events"
	  " WHERE type IN ('m.room.message', 'm.room.name', 'm.room.topic')"
	  " AND rejected IS NULL AND redacted_by IS NULL) x) y WHERE v <> '';" },
	/* Spec: a transaction ID is scoped to the endpoint as well as the device. */
	{ 10, "txn-scope",
	  "ALTER TABLE events ADD COLUMN txn_scope TEXT;"
	  "DROP INDEX events_txn;"
	  "CREATE UNIQUE INDEX events_txn ON events"
	  " (room_id, txn_user, txn_device, txn_scope, txn_id);",
	  NULL },
	/*
	 * Spec: the old refresh token lives on until the new pair is used.
	 * next_id: the refresh token that replaced this one; used: 0 until
	 * the access token's first request (older tokens count as used).
	 */
	{ 11, "refresh-next",
	  "ALTER TABLE refresh_tokens ADD COLUMN next_id BIGINT;"
	  "CREATE INDEX refresh_tokens_next ON refresh_tokens (next_id);"
	  "ALTER TABLE access_tokens ADD COLUMN used BIGINT NOT NULL DEFAULT 1;",
	  NULL },
	/*
	 * The events stream's position, as ephemeral_streams holds the
	 * others': a writer bumps it in its transaction and keeps the row
	 * locked to its commit, so positions commit in order and a reader
	 * of pos never passes an event still uncommitted (a sequence hands
	 * out positions that commit in any order).  events.stream keeps its
	 * meaning; the sequence behind it goes unused.
	 */
	{ 12, "events-position",
	  "CREATE TABLE events_position ("
	  " id BIGINT PRIMARY KEY,"
	  " pos BIGINT NOT NULL);"
	  "INSERT INTO events_position (id, pos) SELECT 1, COALESCE(MAX(stream), 0) FROM events;",
	  NULL },
	/*
	 * Spec: a UIA session serves one request.  operation: a digest of
	 * the method, path and parameters it was opened for (lib/auth); a
	 * session from before has none and serves nothing.  kept: what the
	 * operation keeps between steps (registration's parameters, the
	 * password as its hash); result: what it made once complete (the
	 * registered user ID), so that the same request again gets it.
	 */
	{ 13, "uia-operation",
	  "ALTER TABLE uia_sessions ADD COLUMN operation TEXT;"
	  "ALTER TABLE uia_sessions ADD COLUMN kept TEXT;"
	  "ALTER TABLE uia_sessions ADD COLUMN result TEXT;",
	  NULL },
	/*
	 * The stored PDU is the signed event (or its redacted form) alone:
	 * replaces_state names the state event an event replaced, whose
	 * content and sender readers fetch for unsigned.prev_content and
	 * prev_sender, and unsigned.redacted_because is read from the
	 * redaction's row by redacted_by.  Rows stored before carried them
	 * in their JSON's "unsigned", which goes (it is signed by no one).
	 * PostgreSQL's jsonb gives back the PDU with its keys in its own
	 * order, which no reader depends on: hashes and signatures are
	 * made over canonical JSON.
	 */
	{ 14, "event-annotations",
	  "ALTER TABLE events ADD COLUMN replaces_state TEXT;"
	  "UPDATE events SET replaces_state = json_extract(json, '$.unsigned.replaces_state')"
	  " WHERE json LIKE '%\"unsigned\"%'"
	  " AND json_type(json, '$.unsigned.replaces_state') = 'text';"
	  "UPDATE events SET json = json_remove(json, '$.unsigned')"
	  " WHERE json LIKE '%\"unsigned\"%' AND json_type(json, '$.unsigned') IS NOT NULL;",
	  "ALTER TABLE events ADD COLUMN replaces_state TEXT;"
	  "UPDATE events SET replaces_state = CAST(json AS jsonb) -> 'unsigned' ->> 'replaces_state'"
	  " WHERE json LIKE '%\"unsigned\"%'"
	  " AND jsonb_typeof(CAST(json AS jsonb) -> 'unsigned' -> 'replaces_state') = 'string';"
	  "UPDATE events SET json = CAST(CAST(json AS jsonb) - 'unsigned' AS TEXT)"
	  " WHERE json LIKE '%\"unsigned\"%' AND (CAST(json AS jsonb) -> 'unsigned') IS NOT NULL;" },
	/*
	 * The endpoints of issue 10.  users.locked and users.suspended: an
	 * admin's lock (every request answers 401 M_USER_LOCKED) and
	 * suspension (reads only).  openid_tokens and login_tokens: tokens
	 * by their hash (mcrypto_token_hash) with their expiry.
	 * profile_fields: extended profile fields, values as JSON text.
	 * room_reports and user_reports: POST /rooms/{roomId}/report and
	 * /users/{userId}/report.
	 */
	{ 15, "endpoints",
	  "ALTER TABLE users ADD COLUMN locked BIGINT NOT NULL DEFAULT 0;"
	  "ALTER TABLE users ADD COLUMN suspended BIGINT NOT NULL DEFAULT 0;"
	  "CREATE TABLE openid_tokens ("
	  " token_hash TEXT PRIMARY KEY,"
	  " user_id TEXT NOT NULL,"
	  " valid_until_ms BIGINT NOT NULL);"
	  "CREATE TABLE login_tokens ("
	  " token_hash TEXT PRIMARY KEY,"
	  " user_id TEXT NOT NULL,"
	  " valid_until_ms BIGINT NOT NULL);"
	  "CREATE TABLE profile_fields ("
	  " user_id TEXT NOT NULL,"
	  " name TEXT NOT NULL,"
	  " value TEXT NOT NULL,"
	  " PRIMARY KEY (user_id, name));"
	  "CREATE TABLE room_reports ("
	  " id SERIAL_PK,"
	  " room_id TEXT NOT NULL,"
	  " user_id TEXT NOT NULL,"
	  " reason TEXT,"
	  " received_ts BIGINT NOT NULL);"
	  "CREATE TABLE user_reports ("
	  " id SERIAL_PK,"
	  " target_user_id TEXT NOT NULL,"
	  " user_id TEXT NOT NULL,"
	  " reason TEXT,"
	  " received_ts BIGINT NOT NULL);",
	  NULL },
	/*
	 * Other servers' signing keys (lib/fed's keyring): one row per key
	 * (expired_ts 0 for a current key, else when the server retired
	 * it), and per key the server's own signed answer that listed it,
	 * which a notary hands on as it was signed.  Per key, not per
	 * server: a later answer without a key must not make the notary
	 * forget the answer that had it (SyTest: "must not overwrite a
	 * valid key with a spurious result from the origin server").
	 */
	{ 16, "server-keys",
	  "CREATE TABLE server_keys ("
	  " server_name TEXT NOT NULL,"
	  " key_id TEXT NOT NULL,"
	  " verify_key TEXT NOT NULL,"
	  " valid_until_ts BIGINT NOT NULL,"
	  " expired_ts BIGINT NOT NULL DEFAULT 0,"
	  " fetched_ts BIGINT NOT NULL,"
	  " PRIMARY KEY (server_name, key_id));"
	  "CREATE TABLE server_key_json ("
	  " server_name TEXT NOT NULL,"
	  " key_id TEXT NOT NULL,"
	  " valid_until_ts BIGINT NOT NULL,"
	  " fetched_ts BIGINT NOT NULL,"
	  " json TEXT NOT NULL,"
	  " PRIMARY KEY (server_name, key_id));",
	  NULL },
	/*
	 * Events from other servers (lib/room/receive.c): an outlier is
	 * stored without state (an auth chain fetched for its own sake), a
	 * soft-failed event passed the auth rules at its place in the DAG
	 * but not against the room's current state; neither is shown to
	 * clients nor a forward extremity.  Row 2 of events_position counts
	 * down from 0: the positions of history from elsewhere (backfill,
	 * outliers), which sort before every live event and which no sync
	 * token reaches.  events_room_topo serves pages in topological order.
	 */
	{ 17, "federation-write",
	  "ALTER TABLE events ADD COLUMN outlier BIGINT NOT NULL DEFAULT 0;"
	  "ALTER TABLE events ADD COLUMN soft_failed BIGINT NOT NULL DEFAULT 0;"
	  "INSERT INTO events_position (id, pos) VALUES (2, 0);"
	  /* Topological pages: depth, then stream. */
	  "CREATE INDEX events_room_topo ON events (room_id, depth, stream);",
	  NULL },
	/*
	 * MSC2228 (enable_ephemeral_messages): the message events that asked
	 * to be pruned, and when; myelin-timerd prunes each once due and
	 * forgets it.
	 */
	{ 18, "event-expiry",
	  "CREATE TABLE event_expiry (event_id TEXT PRIMARY KEY,"
	  " expiry_ts BIGINT NOT NULL);"
	  "CREATE INDEX event_expiry_ts ON event_expiry (expiry_ts);",
	  NULL },
	/*
	 * Third-party identifiers a user bound through an identity server
	 * (POST /account/3pid/bind), remembered so that /3pid/unbind,
	 * /3pid/delete and deactivation know where to unbind them (Synapse
	 * keeps user_threepid_id_server for the same).
	 */
	{ 19, "threepid-bindings",
	  "CREATE TABLE user_threepid_id_server ("
	  " user_id TEXT NOT NULL,"
	  " medium TEXT NOT NULL,"
	  " address TEXT NOT NULL,"
	  " id_server TEXT NOT NULL,"
	  " bound_ts BIGINT NOT NULL,"
	  " PRIMARY KEY (user_id, medium, address, id_server));",
	  NULL },
	/*
	 * End-to-end encryption (issue 12).  The to-device and device-list
	 * streams take their positions from ephemeral_streams.  device_keys
	 * holds each device's signed keys as uploaded; one_time_keys are
	 * handed out once each (a claim deletes the row); fallback_keys keep
	 * one key per device and algorithm, used 1 once claimed.
	 * device_list_changes keeps each user's newest device-list change,
	 * device_list_private the changes only user_id hears of (target's
	 * keys as user_id's user-signing key signed them, user_id's own
	 * user-signing key).
	 * to_device holds the messages a device has not acknowledged yet,
	 * each at its own position; to_device_txns the transaction IDs a
	 * sending device used, so that a retried PUT delivers once.
	 * cross_signing_keys: a user's master, self_signing and
	 * user_signing keys; key_signatures the signatures uploaded for a
	 * device (key_id its ID) or a master key (its public key).
	 * backup_versions and backup_keys: server-side key backup, a
	 * version deleted 1 once deleted (its number is never reused).
	 */
	{ 20, "e2ee",
	  "INSERT INTO ephemeral_streams (name, pos) VALUES ('to_device', 0),"
	  " ('device_lists', 0);"
	  "CREATE TABLE device_keys ("
	  " user_id TEXT NOT NULL,"
	  " device_id TEXT NOT NULL,"
	  " key_json TEXT NOT NULL,"
	  " PRIMARY KEY (user_id, device_id));"
	  "CREATE TABLE one_time_keys ("
	  " user_id TEXT NOT NULL,"
	  " device_id TEXT NOT NULL,"
	  " algorithm TEXT NOT NULL,"
	  " key_id TEXT NOT NULL,"
	  " key_json TEXT NOT NULL,"
	  " PRIMARY KEY (user_id, device_id, algorithm, key_id));"
	  "CREATE TABLE fallback_keys ("
	  " user_id TEXT NOT NULL,"
	  " device_id TEXT NOT NULL,"
	  " algorithm TEXT NOT NULL,"
	  " key_id TEXT NOT NULL,"
	  " key_json TEXT NOT NULL,"
	  " used BIGINT NOT NULL DEFAULT 0,"
	  " PRIMARY KEY (user_id, device_id, algorithm));"
	  "CREATE TABLE device_list_changes ("
	  " user_id TEXT PRIMARY KEY,"
	  " stream BIGINT NOT NULL);"
	  "CREATE INDEX device_list_changes_stream ON device_list_changes (stream);"
	  "CREATE TABLE to_device ("
	  " user_id TEXT NOT NULL,"
	  " device_id TEXT NOT NULL,"
	  " stream BIGINT NOT NULL,"
	  " sender TEXT NOT NULL,"
	  " type TEXT NOT NULL,"
	  " content TEXT NOT NULL,"
	  " PRIMARY KEY (user_id, device_id, stream));"
	  "CREATE TABLE to_device_txns ("
	  " user_id TEXT NOT NULL,"
	  " device_id TEXT NOT NULL,"
	  " txn_id TEXT NOT NULL,"
	  " PRIMARY KEY (user_id, device_id, txn_id));"
	  "CREATE TABLE device_list_private ("
	  " user_id TEXT NOT NULL,"
	  " target TEXT NOT NULL,"
	  " stream BIGINT NOT NULL,"
	  " PRIMARY KEY (user_id, target));"
	  "CREATE TABLE cross_signing_keys ("
	  " user_id TEXT NOT NULL,"
	  " usage TEXT NOT NULL,"
	  " key_json TEXT NOT NULL,"
	  " PRIMARY KEY (user_id, usage));"
	  "CREATE TABLE key_signatures ("
	  " user_id TEXT NOT NULL,"
	  " key_id TEXT NOT NULL,"
	  " signer TEXT NOT NULL,"
	  " signer_key TEXT NOT NULL,"
	  " signature TEXT NOT NULL,"
	  " PRIMARY KEY (user_id, key_id, signer, signer_key));"
	  "CREATE TABLE backup_versions ("
	  " user_id TEXT NOT NULL,"
	  " version BIGINT NOT NULL,"
	  " algorithm TEXT NOT NULL,"
	  " auth_data TEXT NOT NULL,"
	  " etag BIGINT NOT NULL,"
	  " deleted BIGINT NOT NULL,"
	  " PRIMARY KEY (user_id, version));"
	  "CREATE TABLE backup_keys ("
	  " user_id TEXT NOT NULL,"
	  " version BIGINT NOT NULL,"
	  " room_id TEXT NOT NULL,"
	  " session_id TEXT NOT NULL,"
	  " first_message_index BIGINT NOT NULL,"
	  " forwarded_count BIGINT NOT NULL,"
	  " is_verified BIGINT NOT NULL,"
	  " session_data TEXT NOT NULL,"
	  " PRIMARY KEY (user_id, version, room_id, session_id));",
	  NULL },
	/*
	 * The outbound queue (lib/outbox): rows per kind ("push"; federation
	 * and application services to come) and destination, delivered in
	 * id order and deleted once delivered.  A destination's row holds
	 * its backoff (failures, failing_since, retry_ts) and the lease of
	 * the daemon delivering it (lease_owner until lease_until), so
	 * several daemons never send one row at once.  pushers.last_badge
	 * is the unread count a pusher's gateway was last told (NULL: none
	 * yet), so a badge update that would not change it is not sent.
	 */
	{ 21, "outbox",
	  "CREATE TABLE outbox ("
	  " id SERIAL_PK,"
	  " kind TEXT NOT NULL,"
	  " destination TEXT NOT NULL,"
	  " ref TEXT,"
	  " payload TEXT,"
	  " created_ts BIGINT NOT NULL);"
	  "CREATE INDEX outbox_queue ON outbox (kind, destination, id);"
	  "CREATE TABLE outbox_destinations ("
	  " kind TEXT NOT NULL,"
	  " destination TEXT NOT NULL,"
	  " failures BIGINT NOT NULL DEFAULT 0,"
	  " failing_since BIGINT NOT NULL DEFAULT 0,"
	  " retry_ts BIGINT NOT NULL DEFAULT 0,"
	  " lease_owner TEXT,"
	  " lease_until BIGINT NOT NULL DEFAULT 0,"
	  " PRIMARY KEY (kind, destination));"
	  "ALTER TABLE pushers ADD COLUMN last_badge BIGINT;",
	  NULL },
	/*
	 * The media repository (issue 13, myelin-media(8)).  media: one row
	 * per local media ID; size NULL while an asynchronous upload (POST
	 * /create) is pending, until expires_ts.  authenticated: uploaded
	 * while enable_authenticated_media was on, so the legacy download
	 * paths refuse it.  size is -1 and expires_ts the deadline while an
	 * upload is pending (expires_ts 0 otherwise).  The bytes live in files under media_path named
	 * from the ID; thumbnails are cached per size and method.
	 */
	{ 22, "media",
	  "CREATE TABLE media ("
	  " media_id TEXT PRIMARY KEY,"
	  " user_id TEXT NOT NULL,"
	  " content_type TEXT,"
	  " upload_name TEXT,"
	  " size BIGINT NOT NULL,"
	  " sha256 TEXT,"
	  " created_ts BIGINT NOT NULL,"
	  " last_access_ts BIGINT NOT NULL,"
	  " expires_ts BIGINT NOT NULL,"
	  " quarantined BIGINT NOT NULL DEFAULT 0,"
	  " authenticated BIGINT NOT NULL DEFAULT 0);"
	  "CREATE INDEX media_user ON media (user_id, created_ts);"
	  "CREATE INDEX media_created ON media (created_ts);"
	  "CREATE TABLE media_thumbnails ("
	  " media_id TEXT NOT NULL,"
	  " width BIGINT NOT NULL,"
	  " height BIGINT NOT NULL,"
	  " method TEXT NOT NULL,"
	  " content_type TEXT NOT NULL,"
	  " size BIGINT NOT NULL,"
	  " PRIMARY KEY (media_id, width, height, method));",
	  NULL },
	/*
	 * The outbound federation queue (lib/fed/sender.c): one row per
	 * event and destination, in the order queued, written by a persist
	 * hook in the event's transaction; the sender sends a destination's
	 * rows in transactions and deletes them once answered.  A
	 * destination that did not answer waits out its backoff.
	 */
	{ 23, "federation-outbox",
	  "CREATE TABLE fed_outbox ("
	  " id SERIAL_PK,"
	  " destination TEXT NOT NULL,"
	  " event_id TEXT NOT NULL,"
	  " created_ts BIGINT NOT NULL);"
	  "CREATE INDEX fed_outbox_dest ON fed_outbox (destination, id);"
	  "CREATE TABLE fed_destinations ("
	  " destination TEXT PRIMARY KEY,"
	  " retry_at BIGINT NOT NULL DEFAULT 0,"
	  " backoff_ms BIGINT NOT NULL DEFAULT 0);",
	  NULL },
	/*
	 * Rate limits (lib/ratelimit): a bucket per limit and key (user,
	 * address), the time at which it is empty again; rows of empty
	 * buckets are dropped as new ones come.  And the per-user overrides
	 * of Synapse's admin API (override_ratelimit).
	 */
	{ 24, "ratelimit",
	  "CREATE TABLE ratelimit_buckets (name TEXT NOT NULL, bucket TEXT NOT NULL,"
	  " tat_us BIGINT NOT NULL, PRIMARY KEY (name, bucket));"
	  "CREATE INDEX ratelimit_buckets_tat ON ratelimit_buckets (tat_us);"
	  "CREATE TABLE ratelimit_override (user_id TEXT PRIMARY KEY,"
	  " messages_per_second BIGINT NOT NULL, burst_count BIGINT NOT NULL);",
	  NULL },
	/*
	 * Delayed events (MSC4140): an event a client asked to be sent
	 * later, until myelin-timerd sends it (deleting the row in the
	 * event's transaction, so two timer daemons never send it twice).
	 */
	{ 25, "delayed-events",
	  "CREATE TABLE delayed_events ("
	  " delay_id TEXT PRIMARY KEY,"
	  " user_id TEXT NOT NULL,"
	  " device_id TEXT,"
	  " room_id TEXT NOT NULL,"
	  " type TEXT NOT NULL,"
	  " state_key TEXT,"
	  " content TEXT NOT NULL,"
	  " delay_ms BIGINT NOT NULL,"
	  " running_since BIGINT NOT NULL,"
	  " due_ts BIGINT NOT NULL);"
	  "CREATE INDEX delayed_events_due ON delayed_events (due_ts);"
	  "CREATE INDEX delayed_events_user ON delayed_events (user_id);"
	  "CREATE INDEX delayed_events_state ON delayed_events (room_id, type, state_key);",
	  NULL },
	/*
	 * The outbound EDUs (lib/fed/edu.c, lib/fed/sender.c): one row per
	 * EDU and destination, in the order queued.  ekey names what a newer
	 * EDU replaces (typing of one user in one room, presence of one
	 * user, a receipt): such a row is deleted when the next one of its
	 * kind is queued.  Device list updates and to-device messages have
	 * no ekey, are queued in the transaction of what they tell and stay
	 * until the destination takes them.
	 */
	{ 26, "federation-edus",
	  "CREATE TABLE fed_edus ("
	  " id SERIAL_PK,"
	  " destination TEXT NOT NULL,"
	  " edu_type TEXT NOT NULL,"
	  " ekey TEXT,"
	  " content TEXT NOT NULL,"
	  " created_ts BIGINT NOT NULL);"
	  "CREATE INDEX fed_edus_dest ON fed_edus (destination, id);"
	  "CREATE INDEX fed_edus_key ON fed_edus (destination, edu_type, ekey);",
	  NULL },
	/*
	 * Device lists over federation (lib/store/devcache.c).  A row of
	 * remote_device_lists is another server's user whose devices we
	 * follow, at the stream_id of the last update taken (stale 1: an
	 * update was missed, the list must be fetched again);
	 * remote_devices their devices (key_json NULL: no keys), their
	 * cross-signing keys in cross_signing_keys beside ours.
	 * device_list_sent: the stream_id of the last m.device_list_update
	 * sent for a local user, the prev_id of the next.
	 */
	{ 27, "device-list-cache",
	  "CREATE TABLE remote_device_lists ("
	  " user_id TEXT PRIMARY KEY,"
	  " stream_id BIGINT NOT NULL,"
	  " stale BIGINT NOT NULL DEFAULT 0);"
	  "CREATE TABLE remote_devices ("
	  " user_id TEXT NOT NULL,"
	  " device_id TEXT NOT NULL,"
	  " display_name TEXT,"
	  " key_json TEXT,"
	  " PRIMARY KEY (user_id, device_id));"
	  "CREATE TABLE device_list_sent ("
	  " user_id TEXT PRIMARY KEY,"
	  " stream_id BIGINT NOT NULL);",
	  NULL },
	/*
	 * Media of other servers (issue 13): remote_media, one row per
	 * (origin, media_id) fetched and cached under media_path/remote;
	 * thumbnails made here of one are media_thumbnails rows keyed
	 * "origin/media_id".  url_previews: GET /preview_url's answers
	 * (the OpenGraph object as JSON text), per URL, until expires_ts.
	 */
	{ 28, "media-remote-previews",
	  "CREATE TABLE remote_media ("
	  " origin TEXT NOT NULL,"
	  " media_id TEXT NOT NULL,"
	  " content_type TEXT,"
	  " upload_name TEXT,"
	  " size BIGINT NOT NULL,"
	  " sha256 TEXT,"
	  " created_ts BIGINT NOT NULL,"
	  " last_access_ts BIGINT NOT NULL,"
	  " quarantined BIGINT NOT NULL DEFAULT 0,"
	  " PRIMARY KEY (origin, media_id));"
	  "CREATE INDEX remote_media_access ON remote_media (last_access_ts);"
	  "CREATE TABLE url_previews ("
	  " url TEXT PRIMARY KEY,"
	  " og TEXT NOT NULL,"
	  " fetched_ts BIGINT NOT NULL,"
	  " expires_ts BIGINT NOT NULL);"
	  "CREATE INDEX url_previews_expires ON url_previews (expires_ts);",
	  NULL },
	/*
	 * Application services' room lists, one per network they bridge
	 * (PUT /directory/list/appservice/{networkId}/{roomId}), apart from
	 * the server's own directory (rooms.is_public).
	 */
	{ 29, "appservice-rooms",
	  "CREATE TABLE appservice_rooms (appservice_id TEXT NOT NULL,"
	  " network_id TEXT NOT NULL, room_id TEXT NOT NULL,"
	  " PRIMARY KEY (appservice_id, network_id, room_id));",
	  NULL },
	/*
	 * Simplified sliding sync (MSC4186, handlers/sync/sliding.c): a
	 * connection per user, device and conn_id, with the sequence number
	 * of its last answer and the one the client last came back with
	 * (acked); and per room the answer (seq) that last carried it, the
	 * events position it was sent up to and the room config it was sent
	 * with.  Connections unused for a week go, lazily, at requests.
	 */
	{ 30, "sliding-sync",
	  "CREATE TABLE sliding_conns ("
	  " id SERIAL_PK,"
	  " user_id TEXT NOT NULL,"
	  " device_id TEXT NOT NULL,"
	  " conn_id TEXT NOT NULL,"
	  " seq BIGINT NOT NULL DEFAULT 0,"
	  " acked BIGINT NOT NULL DEFAULT 0,"
	  " used_ts BIGINT NOT NULL);"
	  "CREATE UNIQUE INDEX sliding_conns_key ON sliding_conns (user_id, device_id, conn_id);"
	  "CREATE INDEX sliding_conns_used ON sliding_conns (used_ts);"
	  "CREATE TABLE sliding_rooms ("
	  " conn BIGINT NOT NULL,"
	  " room_id TEXT NOT NULL,"
	  " seq BIGINT NOT NULL,"
	  " stream BIGINT NOT NULL,"
	  " config TEXT NOT NULL,"
	  " PRIMARY KEY (conn, room_id, seq));",
	  NULL },
	/*
	 * The backward extremities (S-S API, "Backfilling"): prev events
	 * that an event in a room's DAG names and that are not stored, with
	 * the depth of the deepest event naming them; /messages backfills
	 * from other servers when a page reaches one.  Written by a persist
	 * hook; a row goes when its event is stored.
	 */
	{ 31, "backward-extremities",
	  "CREATE TABLE backward_extremities ("
	  " room_id TEXT NOT NULL,"
	  " event_id TEXT NOT NULL,"
	  " depth BIGINT NOT NULL,"
	  " PRIMARY KEY (room_id, event_id));"
	  "CREATE INDEX backward_extremities_event ON backward_extremities (event_id);",
	  NULL },
	/*
	 * Invites from other servers to rooms not known here (S-S API, PUT
	 * /v2/invite): the invite_room_state its server gave, which /sync
	 * shows as invite_state (handlers/federation/h_invite.c).
	 */
	{ 32, "invite-state",
	  "CREATE TABLE invite_state ("
	  " event_id TEXT PRIMARY KEY,"
	  " room_id TEXT NOT NULL,"
	  " state TEXT NOT NULL);",
	  NULL },
	/*
	 * The transaction a destination was last sent and has not taken
	 * (myelin-sender): the queue positions of its last PDU and last
	 * EDU, written before the PUT and cleared with the rows it took, so
	 * that a sender restarted after a kill sends the same transaction
	 * under the same txnId, which the receiver answers once.
	 */
	{ 33, "federation-inflight",
	  "ALTER TABLE fed_destinations ADD COLUMN txn_pdu BIGINT NOT NULL DEFAULT 0;"
	  "ALTER TABLE fed_destinations ADD COLUMN txn_edu BIGINT NOT NULL DEFAULT 0;",
	  NULL },
	/*
	 * myelin-admin import-synapse: how far each step of an import got
	 * (step: "users", "events", ...; last_key: the JSON array of the
	 * key of the last source row done; done: 1 once finished), so a
	 * run after an interruption goes on from there.  source: what the
	 * import reads (a path or a conninfo's digest), so that another
	 * source is refused.
	 */
	{ 34, "synapse-import",
	  "CREATE TABLE synapse_import ("
	  " step TEXT PRIMARY KEY,"
	  " source TEXT NOT NULL,"
	  " last_key TEXT,"
	  " done BIGINT NOT NULL DEFAULT 0,"
	  " rows BIGINT NOT NULL DEFAULT 0);",
	  NULL },
	/*
	 * Versions of what push rule evaluation reads, so that a process
	 * may keep it between events (lib/push/event.c): rooms.state_seq
	 * moves with every write of a room's current state (and a
	 * redaction in it), push_rules_seq with every change of anyone's
	 * rules and every purge of a room (whose row takes its state_seq).
	 */
	{ 35, "push-versions",
	  "ALTER TABLE rooms ADD COLUMN state_seq BIGINT NOT NULL DEFAULT 0;"
	  "CREATE TABLE push_rules_seq ("
	  " id BIGINT PRIMARY KEY,"
	  " seq BIGINT NOT NULL);"
	  "INSERT INTO push_rules_seq (id, seq) VALUES (1, 0);",
	  NULL },
	/*
	 * The cleanup timer of myelin-timerd (timer-daemon/cleanup.c):
	 * to_device_txns gets the time a transaction ID was first seen
	 * (0 for older rows, which the first run takes), refresh_tokens
	 * the time a token stops working (NULL: never,
	 * refresh_token_lifetime_ms), and the indexes the timer's batches
	 * and the deletion of a refresh token's access tokens look up.
	 */
	{ 36, "cleanup-times",
	  "ALTER TABLE to_device_txns ADD COLUMN created_ts BIGINT NOT NULL DEFAULT 0;"
	  "CREATE INDEX to_device_txns_created ON to_device_txns (created_ts);"
	  "ALTER TABLE refresh_tokens ADD COLUMN expiry_ts BIGINT;"
	  "CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expiry_ts);"
	  "CREATE INDEX access_tokens_refresh ON access_tokens (refresh_token_id);"
	  "CREATE INDEX login_tokens_valid ON login_tokens (valid_until_ms);",
	  NULL },
	/*
	 * A user's rooms in room order: an initial /sync reads its
	 * timelines room by room in that order, already sorted, so SQLite
	 * need not sort every event it sends (MSTMT_SYNC_TIMELINES_ALL).
	 * Unique as the primary key (room_id, type, state_key) is, which
	 * lets the planner know that one room comes once.
	 */
	{ 37, "current-state-user-rooms",
	  "CREATE UNIQUE INDEX current_state_user_rooms ON current_state"
	  " (state_key, type, room_id);",
	  NULL },
	/*
	 * A user's memberships from the index alone: an incremental /sync
	 * read every room's membership and event (a statement since gone:
	 * it reads only what changed now), a table lookup a room without it
	 * (0.3 ms of some 1.6 at 1,000 rooms); the initial sync's timelines
	 * read it still.
	 * current_state_user_rooms stays for its uniqueness.
	 */
	{ 38, "current-state-user-memberships",
	  "CREATE INDEX current_state_user_memberships ON current_state"
	  " (state_key, type, room_id, membership, event_id);",
	  NULL },
	/*
	 * The events a room shows (MEVENT_SHOWN), in stream order: an
	 * initial /sync finds each room's window by stepping back over
	 * limit of them (MSYNC_TIMELINE_LO) and reads the window from
	 * there, from this index alone where events_room_stream needs
	 * each event's row to tell whether it is shown (a third of that
	 * query's work at 1,000 rooms).
	 */
	{ 39, "events-room-shown",
	  "CREATE INDEX events_room_shown ON events (room_id, stream)"
	  " WHERE rejected IS NULL AND soft_failed = 0 AND outlier = 0;",
	  NULL },
};
const size_t mmigrationsz = sizeof(mmigrations) / sizeof(mmigrations[0]);
