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
int
media_send_file(struct mreq *req, const char *rel, const char *ct, const char *name)
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
	else if ((rc = media_send_file(req, rel, m.content_type, name)) == 0) {
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
	struct thumb_ask	 ask;
	char			*rel = NULL, *ct = NULL, suffix[64];
	int			 rc = -1;

	if (thumb_query(req, &ask) == -1)
		return -1;
	if (media_find(req, legacy, &m) == -1)
		return -1;
	if (thumb_get(req, &m, &ask, &rel, &ct, suffix, sizeof(suffix)) == 0 &&
	    (rc = media_send_file(req, rel, ct, NULL)) == 0)
		mlog_info(req->id, "thumbnail %s %s: sent by nginx", m.media_id, suffix);
	free(rel);
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
