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
	    " ON CONFLICT DO NOTHING")

#endif
