/*
 * Statements over Synapse's own schema (docs/beside-synapse.md), for
 * the programs that serve beside a running Synapse: they run on its
 * database, never on myelin's.  Both engines run one text: booleans
 * are read through CASE (SQLite keeps 0/1, PostgreSQL true/false) and
 * written only where Synapse's column defaults do it.
 */
#ifndef MYELIN_STORE_STMTS_SYNAPSE_H
#define MYELIN_STORE_STMTS_SYNAPSE_H

#define MSYN_MEDIA_COLS "media_type, media_length, upload_name, created_ts," \
	" CASE WHEN quarantined_by IS NULL THEN 0 ELSE 1 END, last_access_ts"

#define MSTMT_TABLE_SYNAPSE \
	X(MSTMT_SYN_SCHEMA, "SELECT version FROM schema_version") \
	/* Synapse: an admin's puppet token acts as the user it puppets. */ \
	X(MSTMT_SYN_TOKEN, "SELECT u.name, t.device_id, COALESCE(t.valid_until_ms, 0)," \
	    " u.admin, u.deactivated, u.is_guest, t.id," \
	    " CASE WHEN u.shadow_banned THEN 1 ELSE 0 END" \
	    " FROM access_tokens t JOIN users u" \
	    " ON u.name = COALESCE(t.puppets_user_id, t.user_id) WHERE t.token = $1") \
	X(MSTMT_SYN_MEDIA_GET, "SELECT " MSYN_MEDIA_COLS "," \
	    " CASE WHEN url_cache IS NULL THEN 0 ELSE 1 END, user_id" \
	    " FROM local_media_repository WHERE media_id = $1") \
	/* The columns Synapse's store_local_media writes, no more. */ \
	X(MSTMT_SYN_MEDIA_ADD, "INSERT INTO local_media_repository (media_id, media_type," \
	    " created_ts, upload_name, media_length, user_id) VALUES ($1, $2, $3, $4, $5, $6)" \
	    " ON CONFLICT DO NOTHING") \
	X(MSTMT_SYN_MEDIA_TOUCH, "UPDATE local_media_repository SET last_access_ts = $2" \
	    " WHERE media_id = $1") \
	X(MSTMT_SYN_REMOTE_GET, "SELECT " MSYN_MEDIA_COLS ", filesystem_id" \
	    " FROM remote_media_cache WHERE media_origin = $1 AND media_id = $2") \
	X(MSTMT_SYN_REMOTE_TOUCH, "UPDATE remote_media_cache SET last_access_ts = $3" \
	    " WHERE media_origin = $1 AND media_id = $2") \
	X(MSTMT_SYN_THUMB_LIST, "SELECT thumbnail_width, thumbnail_height, thumbnail_type" \
	    " FROM local_media_repository_thumbnails WHERE media_id = $1" \
	    " AND thumbnail_method = $2 ORDER BY thumbnail_width, thumbnail_height, thumbnail_type") \
	X(MSTMT_SYN_THUMB_ADD, "INSERT INTO local_media_repository_thumbnails (media_id," \
	    " thumbnail_width, thumbnail_height, thumbnail_type, thumbnail_method," \
	    " thumbnail_length) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING") \
	X(MSTMT_SYN_RTHUMB_LIST, "SELECT thumbnail_width, thumbnail_height, thumbnail_type" \
	    " FROM remote_media_cache_thumbnails WHERE media_origin = $1 AND media_id = $2" \
	    " AND thumbnail_method = $3 ORDER BY thumbnail_width, thumbnail_height, thumbnail_type") \
	X(MSTMT_SYN_RTHUMB_ADD, "INSERT INTO remote_media_cache_thumbnails (media_origin," \
	    " media_id, thumbnail_width, thumbnail_height, thumbnail_method, thumbnail_type," \
	    " thumbnail_length, filesystem_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)" \
	    " ON CONFLICT DO NOTHING") \
	/* The read-only client endpoints (handlers/client/synapse.c). */ \
	/* Synapse 1.67's profiles are keyed by localpart. */ \
	X(MSTMT_SYN_PROFILE, "SELECT displayname, avatar_url FROM profiles WHERE user_id = $1") \
	X(MSTMT_SYN_ALIAS, "SELECT room_id FROM room_aliases WHERE room_alias = $1") \
	X(MSTMT_SYN_ALIAS_SERVERS, "SELECT server FROM room_alias_servers" \
	    " WHERE room_alias = $1 ORDER BY server") \
	/* As Synapse's get_users_in_room: the longest joined first (by depth). */ \
	X(MSTMT_SYN_ROOM_JOINED, "SELECT c.state_key FROM current_state_events c" \
	    " JOIN events e ON e.event_id = c.event_id WHERE c.type = 'm.room.member'" \
	    " AND c.room_id = $1 AND c.membership = 'join' ORDER BY e.depth, c.state_key") \
	/* Synapse's get_largest_public_rooms over its main list (rooms.is_public). */ \
	X(MSTMT_SYN_PUBLIC_ROOMS, "SELECT r.room_id, s.name, s.topic, s.canonical_alias," \
	    " c.joined_members, s.avatar, s.history_visibility, s.guest_access, s.join_rules," \
	    " s.room_type FROM rooms r JOIN room_stats_state s ON s.room_id = r.room_id" \
	    " JOIN room_stats_current c ON c.room_id = r.room_id WHERE r.is_public" \
	    " AND (s.join_rules IN ('public', 'knock', 'knock_restricted')" \
	    " OR s.history_visibility = 'world_readable') AND c.joined_members > 0") \
	X(MSTMT_SYN_JOINED_ROOMS, "SELECT room_id FROM local_current_membership" \
	    " WHERE user_id = $1 AND membership = 'join' ORDER BY room_id")

#endif
