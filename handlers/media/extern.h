/* myelin-media: what its files share. */
#ifndef MYELIN_MEDIA_EXTERN_H
#define MYELIN_MEDIA_EXTERN_H

#include <stdint.h>
#include <stdio.h>

#include "fcgi/fcgi.h"
#include "media/media.h"
#include "store/store.h"

/* The internal nginx location the media files are sent from. */
#define MEDIA_ACCEL	"/_myelin/media/"

/* Bytes of stored media files the handler itself has read (thumbnails only). */
uint64_t media_bytes_read(void);
void	media_bytes_read_add(uint64_t);

/*
 * Makes the thumbnail of the image file src, at most w x h (method
 * "crop" or "scale"), as outtype ("image/png", "image/jpeg") at dst, by
 * running myelin-thumbnail under hard limits (address space, CPU time,
 * file size) and max_image_pixels.  Returns 0 with *size, or -1 with
 * the request failed: 404 M_NOT_FOUND when the image is refused (too
 * many pixels, not decodable), 500 otherwise.
 */
int	thumb_make(struct mreq *, const char *src, const char *dst, int w, int h,
	    const char *method, const char *outtype, int64_t *size);

/* A thumbnail asked for: the query's width, height, method, animated. */
struct thumb_ask {
	int64_t		 w, h;
	const char	*method;	/* "crop" or "scale" */
	int		 animated;
};
/*
 * Reads the query of a thumbnail request into *ask.  0, or -1 with 400
 * M_MISSING_PARAM (no width or height) or M_INVALID_PARAM.
 */
int	thumb_query(struct mreq *, struct thumb_ask *);
/*
 * The thumbnail of m (local, or remote with m->origin) for ask, in one
 * of Synapse's default sizes: cached, or made now by myelin-thumbnail
 * and recorded.  0 with *rel (its path under media_path) and *ct
 * (malloc'd), the size's name in suffix; -1 with the request failed
 * (404 M_NOT_FOUND when no thumbnail can be made).
 */
int	thumb_get(struct mreq *, const struct mmedia *m, const struct thumb_ask *ask,
	    char **rel, char **ct, char *suffix, size_t suffixsz);

/*
 * Makes the default thumbnail sizes of a just-uploaded image (of
 * content_type), as Synapse does at upload; what cannot be made is left
 * for a request to fail on, and the request is not failed.
 */
void	thumb_ahead(struct mreq *, const char *media_id, const char *content_type);

/* Path of the myelin-thumbnail program, found beside our own binary. */
extern char	*media_thumbnailer;
/* That path (malloc'd, myelin-thumbnail beside /proc/self/exe), or NULL. */
char	*thumb_program(void);

/*
 * Stores len bytes at buf as new local media of the requesting user
 * (a URL preview's image): its file and row.  0 with *id (malloc'd),
 * or -1 (logged; the request not failed).
 */
int	media_store_local(struct mreq *, const char *buf, size_t len, const char *ct,
	    const char *name, char **id);
/*
 * With max_upload_size_per_user set: whether the user may store more
 * bytes beside theirs.  0, or -1 with 400 M_RESOURCE_LIMIT_EXCEEDED.
 */
int	media_quota_check(struct mreq *, int64_t more);
/*
 * Media id of another server origin into *m (origin set): cached here,
 * or fetched over federation and cached (remote.c).  legacy: the
 * legacy paths, where ?allow_remote=false keeps to the cache.  0, or
 * -1 with 404 M_NOT_FOUND (unknown there, unreachable, quarantined).
 */
int	media_remote_find(struct mreq *, const char *origin, const char *id, int legacy,
	    struct mmedia *);

/* Synapse's default thumbnail_sizes. */
struct tsize {
	int		 w, h;
	const char	*method;
};

/*
 * As Synapse picks among its sizes: the smallest of the method asked
 * at least as large as asked, else the largest of that method.
 */
const struct tsize *media_tsize_pick(int64_t w, int64_t h, const char *method);
/* The type the thumbnailer writes for a source of type ct, NULL: none made. */
const char *media_thumb_type(const char *ct);
/*
 * Answers with X-Accel-Redirect to rel (under MEDIA_ACCEL), its type,
 * Content-Disposition from name and the cache headers.  0 or -1.
 */
int	media_send_file(struct mreq *, const char *rel, const char *ct, const char *name);
/* Refuses a Content-Type that cannot go back out as a header (400).  0 or -1. */
int	media_content_type_check(struct mreq *, const char *ct);
/* ?filename= into *name (NULL: none).  0 or -1 (400 M_INVALID_PARAM). */
int	media_upload_name(struct mreq *, char **name);
/*
 * Makes the request's body the new file dst (an upload never replaces
 * one: 409 M_CANNOT_OVERWRITE_MEDIA).  0 with *size and *sha (malloc'd),
 * or -1 with the request failed and no file left.
 */
int	media_store_body(struct mreq *, const char *dst, int64_t *size, char **sha);
/* The internal location nginx sends media files from, aliased to path. */
void	media_nginx_accel(FILE *, const char *path);

/* Beside Synapse (synapse.c): the app served when synapse_database is set. */
const struct mapp *media_synapse_mode(const struct mconfig *);

int	h_upload(struct mreq *);
int	h_upload_put(struct mreq *);
int	h_create(struct mreq *);
int	h_config(struct mreq *);
int	h_download(struct mreq *);
int	h_download_legacy(struct mreq *);
int	h_thumbnail(struct mreq *);
int	h_thumbnail_legacy(struct mreq *);
int	h_preview_url(struct mreq *);

#endif
