/*
 * Our media as other servers fetch it (S-S API, "Content repository",
 * Matrix 1.11): GET /_matrix/federation/v1/media/download/{mediaId} and
 * /thumbnail/{mediaId}, multipart/mixed answers of a JSON part ({}) and
 * then the bytes.  No byte passes the handler after
 * the first request: the answer of a download is a file made once
 * beside the media (its multipart framing around a copy of the bytes)
 * that nginx sends through X-Accel-Redirect, as myelin-media's
 * downloads.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock/clock.h"
#include "config/config.h"
#include "extern.h"
/* MEDIA_ACCEL, thumb_query and thumb_get: myelin-media's (thumb.c). */
#include "../media/extern.h"

/*
 * The local media of the path's {mediaId}, stored and not quarantined,
 * into *m: 0, or -1 with 404 M_NOT_FOUND.
 */
static int
fed_media_find(struct mreq *req, struct mmedia *m)
{
	const char	*id = req->params[0];
	int		 got;

	memset(m, 0, sizeof(*m));
	if (!mmedia_id_check(id) || (got = mstore_media_get(req->db, id, m)) == 0)
		return mfcgi_fail(req, MERR_NOT_FOUND, "Not found");
	if (got == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: cannot read %s", __func__, id);
	if (m->quarantined || m->size < 0) {
		mmedia_fini(m);
		return mfcgi_fail(req, MERR_NOT_FOUND, "Not found");
	}
	return 0;
}

/*
 * A boundary that the bytes cannot hold: made from their SHA-256 (a
 * file holding its own hash is not to be found), '+' and '/' replaced
 * so that it needs no quotes.
 */
static void
boundary_make(const struct mmedia *m, char *b, size_t bsz)
{
	snprintf(b, bsz, "myelin%s", m->sha256 != NULL ? m->sha256 : m->media_id);
	for (char *p = b; *p != '\0'; p++)
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
}

/*
 * Writes at abs, once, the multipart answer of the file src of type ct.
 * 0, or -1 (errno).
 */
static int
multipart_make(const char *src, const char *ct, const char *b, const char *abs)
{
	char	*tmp = NULL, buf[65536];
	int	 in = -1, out = -1, rc = -1, n;
	ssize_t	 got;

	if (asprintf(&tmp, "%s.%d.part", abs, (int)getpid()) == -1) {
		tmp = NULL;
		goto out;
	}
	if (mmedia_mkdirs(abs) == -1 || (in = open(src, O_RDONLY | O_CLOEXEC)) == -1 ||
	    (out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) == -1)
		goto out;
	(void)fchmod(out, 0644);
	n = snprintf(buf, sizeof(buf), "--%s\r\nContent-Type: application/json\r\n\r\n{}\r\n"
	    "--%s\r\nContent-Type: %s\r\n\r\n", b, b,
	    ct != NULL ? ct : "application/octet-stream");
	if (n < 0 || (size_t)n >= sizeof(buf) || write(out, buf, (size_t)n) != n)
		goto out;
	while ((got = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)got) != got)
			goto out;
	if (got < 0)
		goto out;
	n = snprintf(buf, sizeof(buf), "\r\n--%s--\r\n", b);
	if (write(out, buf, (size_t)n) != n)
		goto out;
	if (close(out) == -1) {
		out = -1;
		goto out;
	}
	out = -1;
	if (link(tmp, abs) == -1 && errno != EEXIST)
		goto out;
	rc = 0;
out:
	if (out != -1)
		close(out);
	if (in != -1)
		close(in);
	if (tmp != NULL)
		(void)unlink(tmp);
	free(tmp);
	return rc;
}

/*
 * Answers with the multipart file rel (under media_path) of src, made
 * first when it is not there.  0, or -1 with the request failed.
 */
static int
send_multipart(struct mreq *req, const char *rel, const char *src, const char *ct,
    const char *b)
{
	char	*abs = NULL;
	int	 rc = -1;

	if (asprintf(&abs, "%s/%s", req->conf->media_path, rel) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	if (access(abs, F_OK) == -1 && (mmedia_mkdirs(abs) == -1 ||
	    multipart_make(src, ct, b, abs) == -1)) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: %s: %s", __func__, abs, strerror(errno));
		goto out;
	}
	if (mfcgi_header(req, "X-Accel-Redirect", MEDIA_ACCEL "%s", rel) == -1 ||
	    mfcgi_header(req, "Content-Type", "multipart/mixed; boundary=%s", b) == -1)
		goto out;
	rc = mfcgi_reply_empty(req, 200);
out:
	free(abs);
	return rc;
}

/* Spec: S-S API, GET /_matrix/federation/v1/media/download/{mediaId}. */
int
h_fed_media_download(struct mreq *req)
{
	struct mmedia	 m;
	char		 b[80], *rel = NULL, *src = NULL;
	int		 rc = -1;

	if (fed_media_find(req, &m) == -1)
		return -1;
	boundary_make(&m, b, sizeof(b));
	if ((rel = mmedia_multipart_relpath(m.media_id, "download")) == NULL ||
	    (src = mmedia_abspath(req->conf, MFILE_LOCAL, m.media_id, NULL)) == NULL)
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	else if ((rc = send_multipart(req, rel, src, m.content_type, b)) == 0 &&
	    mclock_now_ms() - m.last_access_ts >= 10 * 60 * 1000)
		(void)mstore_media_touch(req->db, m.media_id, mclock_now_ms());
	free(rel);
	free(src);
	mmedia_fini(&m);
	return rc;
}

/*
 * Spec: S-S API, GET /_matrix/federation/v1/media/thumbnail/{mediaId}
 * ?width&height&method&animated: the thumbnail myelin-media would
 * answer (its code, handlers/media/thumb.c: one of the five sizes, made
 * by myelin-thumbnail under its limits and cached), as a multipart
 * file.  Raises 400 M_MISSING_PARAM / M_INVALID_PARAM, 404 M_NOT_FOUND.
 */
int
h_fed_media_thumbnail(struct mreq *req)
{
	struct mmedia		 m;
	struct thumb_ask	 ask;
	char			 b[80], suffix[64], *trel = NULL, *ct = NULL, *rel = NULL,
				*src = NULL;
	int			 rc = -1;

	if (thumb_query(req, &ask) == -1 || fed_media_find(req, &m) == -1)
		return -1;
	boundary_make(&m, b, sizeof(b));
	if (thumb_get(req, &m, &ask, &trel, &ct, suffix, sizeof(suffix)) == -1)
		goto out;
	if ((rel = mmedia_multipart_relpath(m.media_id, suffix)) == NULL ||
	    asprintf(&src, "%s/%s", req->conf->media_path, trel) == -1) {
		src = NULL;
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	rc = send_multipart(req, rel, src, ct, b);
out:
	free(trel);
	free(ct);
	free(rel);
	free(src);
	mmedia_fini(&m);
	return rc;
}
