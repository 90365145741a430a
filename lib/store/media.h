/* Storage of the media repository (issue 13): local media and thumbnails. */
#ifndef MYELIN_STORE_MEDIA_H
#define MYELIN_STORE_MEDIA_H

#include <stdint.h>
#include <jansson.h>

struct mdb;

/* One local media item; its bytes are a file named from media_id. */
struct mmedia {
	char	*media_id;
	char	*user_id;		/* the uploader */
	char	*content_type;		/* NULL: none given */
	char	*upload_name;		/* NULL: none given */
	int64_t	 size;			/* -1 while a POST /create is pending */
	char	*sha256;		/* unpadded base64, NULL while pending */
	int64_t	 created_ts;
	int64_t	 last_access_ts;
	int64_t	 expires_ts;		/* a pending upload's deadline, else 0 */
	int	 quarantined;
	int	 authenticated;		/* uploaded with enable_authenticated_media */
	char	*origin;		/* remote media: the server it came from, else NULL */
};

void	mmedia_fini(struct mmedia *);
/* Adds m (created_ts is also its last access).  0, MSTORE_CONFLICT (ID taken), -1. */
int	mstore_media_add(struct mdb *, const struct mmedia *);
/* 1 with *m filled (mmedia_fini), 0 unknown, -1. */
int	mstore_media_get(struct mdb *, const char *media_id, struct mmedia *);
/* Gives a pending media its content.  1 done, 0 not pending (or unknown), -1. */
int	mstore_media_fill(struct mdb *, const char *media_id, const char *content_type,
	    const char *upload_name, int64_t size, const char *sha256);
int	mstore_media_touch(struct mdb *, const char *media_id, int64_t now_ms);
/* Bytes of the media user_id uploaded (every one stored), into *n.  0 or -1. */
int	mstore_media_user_bytes(struct mdb *, const char *user_id, int64_t *n);
/* Pending uploads of user_id not expired at now_ms, into *n.  0 or -1. */
int	mstore_media_pending(struct mdb *, const char *user_id, int64_t now_ms, int64_t *n);
/*
 * Media of user_id, newest first, limit from offset from, as a new
 * array of objects in Synapse's admin shape; *total is their count.
 * NULL on failure.
 */
json_t	*mstore_media_user_list(struct mdb *, const char *user_id, int64_t from,
	    int64_t limit, int64_t *total);
/*
 * Media in ID order after after (""), at most limit, into *out (*outsz
 * items, free each with mmedia_fini, then free(*out)).  With before_ms
 * > 0 only those last accessed before it, of at least min_size bytes.
 * 0 or -1.
 */
int	mstore_media_list(struct mdb *, const char *after, int64_t before_ms,
	    int64_t min_size, int64_t limit, struct mmedia **out, size_t *outsz);
/* Removes the row and its thumbnails' rows.  1, 0 unknown, -1. */
int	mstore_media_del(struct mdb *, const char *media_id);
int	mstore_media_quarantine(struct mdb *, const char *media_id, int on);

/* A cached thumbnail: 1 with *content_type (malloc'd), 0 none, -1. */
int	mstore_media_thumb_get(struct mdb *, const char *media_id, int64_t w, int64_t h,
	    const char *method, char **content_type);
int	mstore_media_thumb_add(struct mdb *, const char *media_id, int64_t w, int64_t h,
	    const char *method, const char *content_type, int64_t size);

/*
 * Media of other servers, cached here (remote_media): the same struct,
 * with origin set and user_id NULL.  _add: 0, MSTORE_CONFLICT (cached
 * by another request meanwhile), -1.  _get: 1, 0 unknown, -1.
 */
int	mstore_rmedia_add(struct mdb *, const struct mmedia *);
int	mstore_rmedia_get(struct mdb *, const char *origin, const char *media_id,
	    struct mmedia *);
int	mstore_rmedia_touch(struct mdb *, const char *origin, const char *media_id,
	    int64_t now_ms);
/*
 * Remote media last accessed before before_ms, in (origin, media_id)
 * order after (after_origin, after_id) ("", ""), at most limit.  0 or -1.
 */
int	mstore_rmedia_before(struct mdb *, int64_t before_ms, const char *after_origin,
	    const char *after_id, int64_t limit, struct mmedia **out, size_t *outsz);
/* Removes the row and its thumbnails' rows.  1, 0 unknown, -1. */
int	mstore_rmedia_del(struct mdb *, const char *origin, const char *media_id);
int	mstore_rmedia_quarantine(struct mdb *, const char *origin, const char *media_id, int on);

/*
 * URL previews: the cached answer for url not expired at now_ms, as
 * JSON text (malloc'd): 1, 0 none, -1.  _put replaces it.  _expire
 * drops the rows expired at now_ms (a count, or -1).
 */
int	mstore_preview_get(struct mdb *, const char *url, int64_t now_ms, char **og);
int	mstore_preview_put(struct mdb *, const char *url, const char *og, int64_t now_ms,
	    int64_t expires_ms);
int64_t	mstore_preview_expire(struct mdb *, int64_t now_ms);

#endif
