/* Downloads and thumbnails, answered with X-Accel-Redirect: nginx sends the bytes. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "clock/clock.h"
#include "extern.h"
#include "log/log.h"

/* A download moves last_access_ts at most this often (one write per item). */
#define TOUCH_MS	(10 * 60 * 1000)

/*
 * Spec: C-S API, "Content repository", Content-Disposition (v1.12): the
 * types a browser may show inline; everything else is an attachment.
 */
static const char *const inline_types[] = {
	"text/css", "text/plain", "text/csv", "application/json", "application/ld+json",
	"image/jpeg", "image/gif", "image/png", "image/apng", "image/webp", "image/avif",
	"video/mp4", "video/webm", "video/ogg", "video/quicktime",
	"audio/mp4", "audio/webm", "audio/aac", "audio/mpeg", "audio/ogg", "audio/wave",
	"audio/wav", "audio/x-wav", "audio/x-pn-wav", "audio/flac", "audio/x-flac",
};

static int
inline_ok(const char *ct)
{
	size_t n;

	if (ct == NULL)
		return 0;
	n = strcspn(ct, "; \t");
	for (size_t i = 0; i < sizeof(inline_types) / sizeof(inline_types[0]); i++)
		if (strlen(inline_types[i]) == n && strncasecmp(ct, inline_types[i], n) == 0)
			return 1;
	return 0;
}

/*
 * The Content-Disposition of a download named name (NULL: none).  RFC
 * 6266: a name of token characters goes as filename=; any other (UTF-8,
 * '/', '"', spaces) as filename*=utf-8'' with every other byte
 * percent-encoded (RFC 8187), so no byte of it can end the header or
 * name a path.  Returns 0 or -1 (request failed).
 */
static int
disposition(struct mreq *req, const char *ct, const char *name)
{
	static const char	 attr[] = "!#$&+-.^_`|~";
	const char		*kind = inline_ok(ct) ? "inline" : "attachment";
	char			*enc, *e;
	int			 plain = 1, rc;

	if (name == NULL || *name == '\0')
		return mfcgi_header(req, "Content-Disposition", "%s", kind);
	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++)
		if (*p >= 0x80 || (!isalnum(*p) && strchr(attr, *p) == NULL))
			plain = 0;
	if (plain)
		return mfcgi_header(req, "Content-Disposition", "%s; filename=%s", kind, name);
	if ((enc = malloc(strlen(name) * 3 + 1)) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	e = enc;
	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++)
		if (*p < 0x80 && (isalnum(*p) || strchr(attr, *p) != NULL))
			*e++ = (char)*p;
		else
			e += sprintf(e, "%%%02X", *p);
	*e = '\0';
	rc = mfcgi_header(req, "Content-Disposition", "%s; filename*=utf-8''%s", kind, enc);
	free(enc);
	return rc;
}

/*
 * The local media the path names ({serverName}, {mediaId}), into *m:
 * 0, or -1 with the request failed.  Another server's comes from
 * remote.c (m->origin set).  Raises 404 M_NOT_FOUND (unknown;
 * quarantined; with legacy set,
 * uploaded while enable_authenticated_media was on), 504
 * M_NOT_YET_UPLOADED (created, not uploaded yet).
 */
static int
media_find(struct mreq *req, int legacy, struct mmedia *m)
{
	const char	*server = req->params[0], *id = req->params[1];
	int		 got;

	memset(m, 0, sizeof(*m));
	if (strcmp(server, req->conf->server_name) != 0)
		return media_remote_find(req, server, id, legacy, m);
	if (!mmedia_id_check(id) || (got = mstore_media_get(req->db, id, m)) == 0)
		return mfcgi_fail(req, MERR_NOT_FOUND, "Not found");
	if (got == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: cannot read %s", __func__, id);
	if (m->quarantined || (legacy && m->authenticated && req->conf->enable_authenticated_media) ||
	    (m->size < 0 && m->expires_ts <= mclock_now_ms())) {
		mmedia_fini(m);
		return mfcgi_fail(req, MERR_NOT_FOUND, "Not found");
	}
	/*
	 * XXX The spec lets the server wait up to timeout_ms for the upload;
	 * this answers at once, as a wait would hold a thread.
	 */
	if (m->size < 0) {
		mmedia_fini(m);
		return mfcgi_fail(req, MERR_NOT_YET_UPLOADED, "Media not yet uploaded");
	}
	return 0;
}

/* The headers every media answer carries, and the redirect to rel. */
static int
send_file(struct mreq *req, const char *rel, const char *ct, const char *name)
{
	if (ct == NULL)
		ct = "application/octet-stream";
	if (mfcgi_header(req, "X-Accel-Redirect", MEDIA_ACCEL "%s", rel) == -1 ||
	    mfcgi_header(req, "Content-Type", "%s", ct) == -1 ||
	    disposition(req, ct, name) == -1 ||
	    mfcgi_header(req, "Cache-Control", "%s", "private, max-age=86400") == -1)
		return -1;
	return mfcgi_reply_empty(req, 200);
}

static int
download(struct mreq *req, int legacy)
{
	struct mmedia	 m;
	const char	*name;
	char		*rel = NULL;
	int64_t		 now = mclock_now_ms();
	int		 rc = -1;

	if (media_find(req, legacy, &m) == -1)
		return -1;
	/* Spec: the {fileName} of the path names the download instead. */
	name = req->paramsz > 2 ? req->params[2] : m.upload_name;
	if ((rel = m.origin != NULL ? mmedia_remote_relpath(0, m.origin, m.media_id, NULL) :
	    mmedia_relpath(MFILE_LOCAL, m.media_id, NULL)) == NULL)
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	else if ((rc = send_file(req, rel, m.content_type, name)) == 0) {
		if (now - m.last_access_ts >= TOUCH_MS && m.origin != NULL)
			(void)mstore_rmedia_touch(req->db, m.origin, m.media_id, now);
		else if (now - m.last_access_ts >= TOUCH_MS)
			(void)mstore_media_touch(req->db, m.media_id, now);
		/* The handler's own account: tests read it (myelin-media(8)). */
		mlog_info(req->id, "download %s: sent by nginx, handler read %llu media bytes"
		    " in all", m.media_id, (unsigned long long)media_bytes_read());
	}
	free(rel);
	mmedia_fini(&m);
	return rc;
}

/* Spec: C-S API, GET /_matrix/client/v1/media/download/{serverName}/{mediaId}[/{fileName}]. */
int
h_download(struct mreq *req)
{
	return download(req, 0);
}

/* Spec: GET /_matrix/media/v3/download/... (deprecated in v1.11, no token). */
int
h_download_legacy(struct mreq *req)
{
	return download(req, 1);
}

/* Synapse's default thumbnail_sizes: thumbnails come in these only. */
static const struct tsize {
	int		 w, h;
	const char	*method;
} tsizes[] = {
	{ 32, 32, "crop" }, { 96, 96, "crop" }, { 320, 240, "scale" },
	{ 640, 480, "scale" }, { 800, 600, "scale" },
};

/*
 * As Synapse picks among its sizes: the smallest of the method asked
 * at least as large as asked, else the largest of that method.
 */
static const struct tsize *
tsize_pick(int64_t w, int64_t h, const char *method)
{
	const struct tsize *best = NULL, *largest = NULL;

	for (size_t i = 0; i < sizeof(tsizes) / sizeof(tsizes[0]); i++) {
		const struct tsize *t = &tsizes[i];

		if (strcmp(t->method, method) != 0)
			continue;
		largest = t;
		if (best == NULL && t->w >= w && t->h >= h)
			best = t;
	}
	return best != NULL ? best : largest;
}

/*
 * What the thumbnailer reads, and what it writes for each; with
 * animated, a GIF or WebP gets a thumbnail of its own type, every frame.
 */
static const char *
thumb_type(const char *ct, int animated)
{
	size_t n;

	if (ct == NULL)
		return NULL;
	n = strcspn(ct, "; \t");
	if (animated && n == 9 && strncasecmp(ct, "image/gif", n) == 0)
		return "image/gif";
	if (animated && n == 10 && strncasecmp(ct, "image/webp", n) == 0)
		return "image/webp";
	if ((n == 10 && strncasecmp(ct, "image/jpeg", n) == 0) ||
	    (n == 10 && strncasecmp(ct, "image/webp", n) == 0))
		return "image/jpeg";
	if ((n == 9 && strncasecmp(ct, "image/png", n) == 0) ||
	    (n == 9 && strncasecmp(ct, "image/gif", n) == 0))
		return "image/png";
	return NULL;
}

/*
 * Spec: C-S API, GET .../thumbnail/{serverName}/{mediaId}?width&height
 * &method&animated.  A thumbnail is made once per size by
 * myelin-thumbnail (thumb.c) and then sent by nginx like any file.
 * Raises 400 M_MISSING_PARAM / M_INVALID_PARAM, 404 M_NOT_FOUND (also
 * when no thumbnail can be made: not an image, too many pixels).
 */
static int
thumbnail(struct mreq *req, int legacy)
{
	struct mmedia		 m;
	const struct tsize	*t;
	const char		*outtype;
	char			*method = NULL, *rel = NULL, *abs = NULL, *src = NULL,
				*ct = NULL, *key = NULL, suffix[64],
				 rowmethod[32];
	int64_t			 w, h;
	int			 rc = -1, got, animated;

	memset(&m, 0, sizeof(m));
	{
		char *ws = mreq_query(req, "width"), *hs = mreq_query(req, "height");
		int missing = ws == NULL || hs == NULL;

		free(ws);
		free(hs);
		if (missing)
			return mfcgi_fail(req, MERR_MISSING_PARAM, "width and height are required");
	}
	if (mreq_query_int(req, "width", 0, 1, 100000, &w) == -1 ||
	    mreq_query_int(req, "height", 0, 1, 100000, &h) == -1)
		return -1;
	if ((method = mreq_query(req, "method")) == NULL && (method = strdup("scale")) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	if (strcmp(method, "crop") != 0 && strcmp(method, "scale") != 0) {
		free(method);
		return mfcgi_fail(req, MERR_INVALID_PARAM, "method must be crop or scale");
	}
	/* Spec (v1.11): animated=true asks for one; false or absent, a still image. */
	{
		char *a = mreq_query(req, "animated");

		if (a != NULL && strcmp(a, "true") != 0 && strcmp(a, "false") != 0) {
			free(a);
			free(method);
			return mfcgi_fail(req, MERR_INVALID_PARAM, "animated must be true or false");
		}
		animated = a != NULL && strcmp(a, "true") == 0;
		free(a);
	}
	if (media_find(req, legacy, &m) == -1)
		goto out;
	t = tsize_pick(w, h, method);
	if ((outtype = thumb_type(m.content_type, animated)) == NULL) {
		mfcgi_fail(req, MERR_NOT_FOUND, "No thumbnail for this media");
		goto out;
	}
	/* Spec: animated thumbnails are a size of their own ("-animated" rows). */
	snprintf(suffix, sizeof(suffix), "%dx%d-%s%s", t->w, t->h, t->method,
	    strcmp(outtype, "image/gif") == 0 || strcmp(outtype, "image/webp") == 0 ?
	    "-animated" : "");
	if (m.origin != NULL) {
		/* Made here from the cached copy; rows keyed "origin/id". */
		if ((rel = mmedia_remote_relpath(1, m.origin, m.media_id, suffix)) == NULL ||
		    (abs = mmedia_remote_abspath(req->conf, 1, m.origin, m.media_id,
		    suffix)) == NULL ||
		    (src = mmedia_remote_abspath(req->conf, 0, m.origin, m.media_id, NULL)) == NULL ||
		    asprintf(&key, "%s/%s", m.origin, m.media_id) == -1) {
			key = NULL;
			mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
			goto out;
		}
	} else if ((rel = mmedia_relpath(MFILE_THUMB, m.media_id, suffix)) == NULL ||
	    (abs = mmedia_abspath(req->conf, MFILE_THUMB, m.media_id, suffix)) == NULL ||
	    (src = mmedia_abspath(req->conf, MFILE_LOCAL, m.media_id, NULL)) == NULL ||
	    (key = strdup(m.media_id)) == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	/* The row's method: "crop-animated" and so on, beside the still ones. */
	snprintf(rowmethod, sizeof(rowmethod), "%s%s", t->method,
	    strstr(suffix, "-animated") != NULL ? "-animated" : "");
	if ((got = mstore_media_thumb_get(req->db, key, t->w, t->h, rowmethod, &ct)) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: cannot read thumbnails", __func__);
		goto out;
	}
	if (got == 0) {
		int64_t size;

		if (thumb_make(req, src, abs, t->w, t->h, t->method, outtype, &size) == -1)
			goto out;
		if (mstore_media_thumb_add(req->db, key, t->w, t->h, rowmethod, outtype,
		    size) == -1) {
			mfcgi_fail(req, MERR_INTERNAL, "%s: cannot record a thumbnail", __func__);
			goto out;
		}
		if ((ct = strdup(outtype)) == NULL) {
			mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
			goto out;
		}
	}
	if ((rc = send_file(req, rel, ct, NULL)) == 0)
		mlog_info(req->id, "thumbnail %s %s: sent by nginx", m.media_id, suffix);
out:
	free(key);
	free(method);
	free(rel);
	free(abs);
	free(src);
	free(ct);
	mmedia_fini(&m);
	return rc;
}

int
h_thumbnail(struct mreq *req)
{
	return thumbnail(req, 0);
}

int
h_thumbnail_legacy(struct mreq *req)
{
	return thumbnail(req, 1);
}

/* Spec: C-S API, GET /_matrix/client/v1/media/config: {"m.upload.size"}. */
int
h_config(struct mreq *req)
{
	return mfcgi_reply(req, 200, json_pack("{s:I}", "m.upload.size",
	    (json_int_t)req->conf->max_upload_size));
}
