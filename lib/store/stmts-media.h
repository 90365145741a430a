/* Statements of the media repository (issue 13): media and their thumbnails. */
#ifndef MYELIN_STORE_STMTS_MEDIA_H
#define MYELIN_STORE_STMTS_MEDIA_H

#define MMEDIA_COLS "media_id, user_id, content_type, upload_name, size, sha256," \
	" created_ts, last_access_ts, expires_ts, quarantined, authenticated"

/* Media of other servers: the same columns, origin for the uploader, nothing pending. */
#define MRMEDIA_COLS "origin, media_id, content_type, upload_name, size, sha256," \
	" created_ts, last_access_ts, quarantined"

#define MSTMT_TABLE_MEDIA \
	X(MSTMT_MEDIA_ADD, "INSERT INTO media (" MMEDIA_COLS ")" \
	    " VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, 0, $9)" \
	    " ON CONFLICT (media_id) DO NOTHING") \
	X(MSTMT_MEDIA_GET, "SELECT " MMEDIA_COLS " FROM media WHERE media_id = $1") \
	X(MSTMT_MEDIA_FILL, "UPDATE media SET content_type = $2, upload_name = $3, size = $4," \
	    " sha256 = $5, expires_ts = 0 WHERE media_id = $1 AND size < 0") \
	X(MSTMT_MEDIA_TOUCH, "UPDATE media SET last_access_ts = $2 WHERE media_id = $1") \
	X(MSTMT_MEDIA_PENDING, "SELECT COUNT(*) FROM media WHERE user_id = $1" \
	    " AND size < 0 AND expires_ts > $2") \
	X(MSTMT_MEDIA_USER_LIST, "SELECT " MMEDIA_COLS " FROM media WHERE user_id = $1" \
	    " ORDER BY created_ts DESC, media_id LIMIT $2 OFFSET $3") \
	X(MSTMT_MEDIA_USER_COUNT, "SELECT COUNT(*) FROM media WHERE user_id = $1") \
	X(MSTMT_MEDIA_USER_BYTES, "SELECT COALESCE(SUM(size), 0) FROM media WHERE user_id = $1" \
	    " AND size > 0") \
	X(MSTMT_MEDIA_LIST, "SELECT " MMEDIA_COLS " FROM media WHERE media_id > $1" \
	    " ORDER BY media_id LIMIT $2") \
	X(MSTMT_MEDIA_BEFORE, "SELECT " MMEDIA_COLS " FROM media" \
	    " WHERE last_access_ts < $1 AND size >= $2 AND media_id > $3" \
	    " ORDER BY media_id LIMIT $4") \
	X(MSTMT_MEDIA_DEL, "DELETE FROM media WHERE media_id = $1") \
	X(MSTMT_MEDIA_QUARANTINE, "UPDATE media SET quarantined = $2 WHERE media_id = $1") \
	X(MSTMT_MEDIA_THUMB_GET, "SELECT content_type, size FROM media_thumbnails" \
	    " WHERE media_id = $1 AND width = $2 AND height = $3 AND method = $4") \
	X(MSTMT_MEDIA_THUMB_ADD, "INSERT INTO media_thumbnails (media_id, width, height, method," \
	    " content_type, size) VALUES ($1, $2, $3, $4, $5, $6)" \
	    " ON CONFLICT (media_id, width, height, method) DO NOTHING") \
	X(MSTMT_MEDIA_THUMB_LIST, "SELECT width, height, method, content_type FROM media_thumbnails" \
	    " WHERE media_id = $1") \
	X(MSTMT_MEDIA_THUMB_DEL, "DELETE FROM media_thumbnails WHERE media_id = $1") \
	X(MSTMT_RMEDIA_ADD, "INSERT INTO remote_media (" MRMEDIA_COLS ")" \
	    " VALUES ($1, $2, $3, $4, $5, $6, $7, $7, 0)" \
	    " ON CONFLICT (origin, media_id) DO NOTHING") \
	X(MSTMT_RMEDIA_GET, "SELECT " MRMEDIA_COLS " FROM remote_media" \
	    " WHERE origin = $1 AND media_id = $2") \
	X(MSTMT_RMEDIA_TOUCH, "UPDATE remote_media SET last_access_ts = $3" \
	    " WHERE origin = $1 AND media_id = $2") \
	X(MSTMT_RMEDIA_BEFORE, "SELECT " MRMEDIA_COLS " FROM remote_media" \
	    " WHERE last_access_ts < $1 AND (origin > $2 OR (origin = $2 AND media_id > $3))" \
	    " ORDER BY origin, media_id LIMIT $4") \
	X(MSTMT_RMEDIA_DEL, "DELETE FROM remote_media WHERE origin = $1 AND media_id = $2") \
	X(MSTMT_RMEDIA_QUARANTINE, "UPDATE remote_media SET quarantined = $3" \
	    " WHERE origin = $1 AND media_id = $2") \
	X(MSTMT_PREVIEW_GET, "SELECT og FROM url_previews WHERE url = $1 AND expires_ts > $2") \
	X(MSTMT_PREVIEW_ADD, "INSERT INTO url_previews (url, og, fetched_ts, expires_ts)" \
	    " VALUES ($1, $2, $3, $4) ON CONFLICT (url) DO UPDATE SET og = excluded.og," \
	    " fetched_ts = excluded.fetched_ts, expires_ts = excluded.expires_ts") \
	X(MSTMT_PREVIEW_EXPIRE, "DELETE FROM url_previews WHERE expires_ts <= $1")

#endif
