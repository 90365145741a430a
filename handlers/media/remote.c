/* Media of other servers: fetched over federation once, cached, then sent by nginx. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "clock/clock.h"
#include "config/config.h"
#include "crypto/crypto.h"
#include "extern.h"
#include "fed/fed.h"
#include "log/log.h"

#define MEDIA_ID_LEN	24

/*
 * A Content-Type another server or a web page gave, as it may be stored
 * and sent again: printable ASCII of at most 255 bytes (what uploads
 * are held to), else none.
 */
static const char *
ct_clean(const char *ct)
{
	if (ct == NULL || *ct == '\0' || strlen(ct) > 255)
		return NULL;
	for (const char *p = ct; *p != '\0'; p++)
		if (*p < 0x20 || *p > 0x7e)
			return NULL;
	return ct;
}

/*
 * Writes len bytes at buf as the file abs (its folders made, a .part
 * file linked into place, so a reader never sees half of it), 0644.
 * Returns 0, or 1 when the file was there already (another request's),
 * with sha (the bytes' SHA-256, unpadded base64, malloc'd); -1 (errno).
 */
static int
write_file(const char *abs, const char *buf, size_t len, char **sha)
{
	unsigned char	 h[32];
	char		*tmp = NULL;
	int		 fd, rc = -1;
	size_t		 off = 0;

	*sha = NULL;
	if (mmedia_mkdirs(abs) == -1 || asprintf(&tmp, "%s.%d.part", abs, (int)getpid()) == -1)
		return -1;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) == -1)
		goto out;
	(void)fchmod(fd, 0644);
	while (off < len) {
		ssize_t n = write(fd, buf + off, len - off);

		if (n <= 0) {
			close(fd);
			goto out;
		}
		off += (size_t)n;
	}
	if (close(fd) == -1)
		goto out;
	if (link(tmp, abs) == -1)
		rc = errno == EEXIST ? 1 : -1;
	else
		rc = 0;
	if (rc != -1) {
		mcrypto_sha256(buf, len, h);
		if ((*sha = mcrypto_b64_encode(h, sizeof(h))) == NULL) {
			if (rc == 0)
				(void)unlink(abs);
			rc = -1;
		}
	}
out:
	(void)unlink(tmp);
	free(tmp);
	return rc;
}

int
media_quota_check(struct mreq *req, int64_t more)
{
	int64_t	 have;

	if (req->conf->max_upload_size_per_user <= 0)
		return 0;
	if (mstore_media_user_bytes(req->db, req->auth.user_id, &have) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: cannot count", __func__);
	/* As Synapse's media_upload_limits answers. */
	if (have + (more > 0 ? more : 0) > req->conf->max_upload_size_per_user)
		return mfcgi_fail_as(req, 400, "M_RESOURCE_LIMIT_EXCEEDED",
		    "Media upload limit exceeded");
	return 0;
}

int
media_store_local(struct mreq *req, const char *buf, size_t len, const char *ct,
    const char *name, char **idp)
{
	struct mmedia	 m;
	char		*id = NULL, *abs = NULL, *sha = NULL;
	int		 rc = -1;

	*idp = NULL;
	ct = ct_clean(ct);
	if ((id = mcrypto_random_string(MEDIA_ID_LEN)) == NULL ||
	    (abs = mmedia_abspath(req->conf, MFILE_LOCAL, id, NULL)) == NULL)
		goto out;
	/* A fresh random ID: a file there already is a failure too. */
	if (write_file(abs, buf, len, &sha) != 0) {
		mlog_warn(req->id, "%s: %s: %s", __func__, abs, strerror(errno));
		goto out;
	}
	memset(&m, 0, sizeof(m));
	m.media_id = id;
	m.user_id = req->auth.user_id;
	m.content_type = (char *)ct;
	m.upload_name = (char *)name;
	m.size = (int64_t)len;
	m.sha256 = sha;
	m.created_ts = mclock_now_ms();
	m.authenticated = req->conf->enable_authenticated_media;
	if (mstore_media_add(req->db, &m) != 0) {
		(void)unlink(abs);
		goto out;
	}
	*idp = id;
	id = NULL;
	rc = 0;
out:
	free(id);
	free(abs);
	free(sha);
	return rc;
}

/*
 * Fetches origin's media id over federation and caches it: its file
 * under remote/, its row in remote_media.  0 with *m, or -1 with the
 * request failed (404 M_NOT_FOUND when the origin has none or is not
 * reached, 502 when its answer is too large or broken).
 */
static int
remote_fetch(struct mreq *req, const char *origin, const char *id, struct mmedia *m)
{
	struct mfed_media	 f;
	struct mmedia		 nm;
	char			*abs = NULL, *sha = NULL;
	int			 rc = -1, w, got;

	if (mfed_media_get(req->conf, req->srv->key, origin, id, NULL,
	    (size_t)req->conf->max_upload_size, &f) == -1)
		return mfcgi_fail(req, MERR_NOT_FOUND, "Not found");
	if (f.status != 200) {
		mlog_info(req->id, "remote media %s/%s: origin answered %ld", origin, id, f.status);
		mfed_media_fini(&f);
		return mfcgi_fail(req, MERR_NOT_FOUND, "Not found");
	}
	if ((abs = mmedia_remote_abspath(req->conf, 0, origin, id, NULL)) == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	if ((w = write_file(abs, f.body, f.bodysz, &sha)) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: %s: %s", __func__, abs, strerror(errno));
		goto out;
	}
	/*
	 * The row, also when another request's file was there first (the
	 * same bytes, fetched at once): whichever row lands is the one.
	 */
	memset(&nm, 0, sizeof(nm));
	nm.origin = (char *)origin;
	nm.media_id = (char *)id;
	nm.content_type = (char *)ct_clean(f.content_type);
	nm.size = (int64_t)f.bodysz;
	nm.sha256 = sha;
	nm.created_ts = mclock_now_ms();
	if (mstore_rmedia_add(req->db, &nm) == -1) {
		if (w == 0)
			(void)unlink(abs);
		mfcgi_fail(req, MERR_INTERNAL, "%s: cannot record %s/%s", __func__, origin, id);
		goto out;
	}
	if (w == 0)
		mlog_info(req->id, "remote media %s/%s: %zu bytes cached", origin, id, f.bodysz);
	/* Ours, or that of a request that cached it meanwhile. */
	if ((got = mstore_rmedia_get(req->db, origin, id, m)) != 1) {
		mfcgi_fail(req, got == 0 ? MERR_NOT_FOUND : MERR_INTERNAL, "Not found");
		goto out;
	}
	rc = 0;
out:
	mfed_media_fini(&f);
	free(abs);
	free(sha);
	return rc;
}

int
media_remote_find(struct mreq *req, const char *origin, const char *id, int legacy,
    struct mmedia *m)
{
	char	*ar;
	int	 got, remote_ok = 1;

	memset(m, 0, sizeof(*m));
	if (!mmedia_id_check(id) || !mmedia_origin_check(origin))
		return mfcgi_fail(req, MERR_NOT_FOUND, "Not found");
	{
		struct mfed_name n;

		if (mfed_name_parse(origin, &n) == -1)
			return mfcgi_fail(req, MERR_NOT_FOUND, "Not found");
	}
	/* Legacy paths: allow_remote=false asks for what is cached here only. */
	if (legacy && (ar = mreq_query(req, "allow_remote")) != NULL) {
		remote_ok = strcmp(ar, "false") != 0;
		free(ar);
	}
	if ((got = mstore_rmedia_get(req->db, origin, id, m)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: cannot read %s/%s", __func__, origin, id);
	if (got == 1) {
		char *abs = mmedia_remote_abspath(req->conf, 0, origin, id, NULL);
		int there = abs != NULL && access(abs, F_OK) == 0;

		free(abs);
		if (m->quarantined) {
			mmedia_fini(m);
			return mfcgi_fail(req, MERR_NOT_FOUND, "Not found");
		}
		if (there)
			return 0;
		/* The file went (purged by hand): fetched again. */
		mmedia_fini(m);
		(void)mstore_rmedia_del(req->db, origin, id);
	}
	if (!remote_ok || !req->conf->remote_media_download || req->srv->key == NULL)
		return mfcgi_fail(req, MERR_NOT_FOUND, "Not found");
	return remote_fetch(req, origin, id, m);
}
