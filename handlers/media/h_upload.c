/* Uploads: POST /upload, POST /create and PUT /upload/{serverName}/{mediaId}. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock/clock.h"
#include "crypto/crypto.h"
#include "extern.h"
#include "log/log.h"

#define MEDIA_ID_LEN		24
/* Synapse's max_pending_media_uploads and unused_expiration_time. */
#define MAX_PENDING		5
#define PENDING_MS		(24 * 60 * 60 * 1000)

/*
 * A Content-Type goes back out as a header: printable ASCII only, as
 * RFC 9110's media-type grammar allows, and no longer than Synapse
 * keeps.  Raises 400 M_INVALID_PARAM.
 */
int
media_content_type_check(struct mreq *req, const char *ct)
{
	if (ct == NULL)
		return 0;
	if (strlen(ct) > 255)
		return mfcgi_fail(req, MERR_INVALID_PARAM, "Content-Type too long");
	for (const char *p = ct; *p != '\0'; p++)
		if (*p < 0x20 || *p > 0x7e)
			return mfcgi_fail(req, MERR_INVALID_PARAM, "Bad Content-Type");
	return 0;
}

/*
 * The upload's file name (?filename=), malloc'd into *name, NULL when
 * none: UTF-8 text without NUL (lib/fcgi refused the request
 * otherwise).  It only ever names the download (Content-Disposition);
 * no path is made from it.  Raises 400 M_INVALID_PARAM when too long.
 */
int
media_upload_name(struct mreq *req, char **name)
{
	if ((*name = mreq_query(req, "filename")) != NULL && strlen(*name) > 1024) {
		free(*name);
		*name = NULL;
		return mfcgi_fail(req, MERR_INVALID_PARAM, "filename too long");
	}
	if (*name != NULL && **name == '\0') {
		free(*name);
		*name = NULL;
	}
	return 0;
}

/*
 * Makes the request's body the file dst: nginx's file is hashed
 * where it lies and renamed into place (copied across file systems);
 * a body that came over FastCGI is copied in.  The file is 0644 (nginx
 * sends it).  Returns 0 with *size and *sha (malloc'd), or -1 with the
 * request failed and no file left behind.
 */
static int
store_body(struct mreq *req, const char *id, int64_t *size, char **sha)
{
	char	*dst;
	int	 rc;

	if ((dst = mmedia_abspath(req->conf, MFILE_LOCAL, id, NULL)) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	rc = media_store_body(req, dst, size, sha);
	free(dst);
	return rc;
}

int
media_store_body(struct mreq *req, const char *dst, int64_t *size, char **sha)
{
	unsigned char	 h[32];
	char		*tmp = NULL;
	int		 in = -1, out = -1, rc = -1;

	*sha = NULL;
	if (asprintf(&tmp, "%s.part", dst) == -1) {
		tmp = NULL;
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	if (mmedia_mkdirs(dst) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: %s: %s", __func__, dst, strerror(errno));
		goto out;
	}
	if (req->body_file != NULL) {
		if ((in = open(req->body_file, O_RDONLY | O_CLOEXEC)) == -1) {
			mfcgi_fail(req, MERR_INTERNAL, "%s: %s: %s", __func__,
			    req->body_file, strerror(errno));
			goto out;
		}
		if (mcrypto_sha256_copy(in, -1, h, size) == -1) {
			mfcgi_fail(req, MERR_INTERNAL, "%s: read: %s", __func__, strerror(errno));
			goto out;
		}
		if (*size != req->content_length && req->content_length > 0) {
			mfcgi_fail(req, MERR_UNKNOWN, "Upload truncated");
			goto out;
		}
		/*
		 * The file was nginx's worker's (nobody, under a root stack):
		 * it becomes ours, readable by all, writable by us alone.
		 */
		(void)fchown(in, geteuid(), getegid());
		(void)fchmod(in, 0644);
		/* link(2), not rename(2): an upload never replaces a file. */
		if (link(req->body_file, dst) == 0) {
			(void)unlink(req->body_file);
			rc = 0;
			goto out;
		}
		if (errno == EEXIST) {
			mfcgi_fail(req, MERR_CANNOT_OVERWRITE_MEDIA, "Media already uploaded");
			goto out;
		}
		if (errno != EXDEV && errno != EPERM) {
			mfcgi_fail(req, MERR_INTERNAL, "%s: link: %s", __func__, strerror(errno));
			goto out;
		}
		if (lseek(in, 0, SEEK_SET) == -1) {
			mfcgi_fail(req, MERR_INTERNAL, "%s: lseek: %s", __func__, strerror(errno));
			goto out;
		}
	}
	if ((out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: %s: %s", __func__, tmp, strerror(errno));
		goto out;
	}
	(void)fchmod(out, 0644);
	if (in != -1) {
		if (mcrypto_sha256_copy(in, out, h, size) == -1) {
			mfcgi_fail(req, MERR_INTERNAL, "%s: copy: %s", __func__, strerror(errno));
			goto out;
		}
	} else {
		/* The body came over FastCGI: Content-Length bytes, then hashed. */
		char	 buf[65536];
		int64_t	 left = req->content_length;
		size_t	 got;

		*size = 0;
		while (left > 0 && (got = mreq_body_read(req, buf,
		    left < (int64_t)sizeof(buf) ? (size_t)left : sizeof(buf))) > 0) {
			if (write(out, buf, got) != (ssize_t)got) {
				mfcgi_fail(req, MERR_INTERNAL, "%s: write: %s", __func__,
				    strerror(errno));
				goto out;
			}
			left -= (int64_t)got;
			*size += (int64_t)got;
		}
		if (left > 0) {
			mfcgi_fail(req, MERR_UNKNOWN, "Upload truncated");
			goto out;
		}
		if ((in = open(tmp, O_RDONLY | O_CLOEXEC)) == -1 ||
		    mcrypto_sha256_copy(in, -1, h, size) == -1) {
			mfcgi_fail(req, MERR_INTERNAL, "%s: hash: %s", __func__, strerror(errno));
			goto out;
		}
	}
	if (close(out) == -1 || link(tmp, dst) == -1) {
		out = -1;
		if (errno == EEXIST)
			mfcgi_fail(req, MERR_CANNOT_OVERWRITE_MEDIA, "Media already uploaded");
		else
			mfcgi_fail(req, MERR_INTERNAL, "%s: %s: %s", __func__, dst,
			    strerror(errno));
		goto out;
	}
	out = -1;
	(void)unlink(tmp);
	rc = 0;
out:
	if (out != -1)
		close(out);
	if (in != -1)
		close(in);
	if (rc == 0 && (*sha = mcrypto_b64_encode(h, sizeof(h))) == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		unlink(dst);
		rc = -1;
	}
	if (rc == -1 && tmp != NULL)
		unlink(tmp);
	free(tmp);
	return rc;
}

/* "mxc://server/id" as the spec's content_uri. */
static json_t *
content_uri(const struct mreq *req, const char *id)
{
	char	*uri = NULL;
	json_t	*v;

	if (asprintf(&uri, "mxc://%s/%s", req->conf->server_name, id) == -1)
		return NULL;
	v = json_string(uri);
	free(uri);
	return v;
}

/* Spec: C-S API, "Account suspension": suspended users upload nothing. */
static int
may_upload(struct mreq *req)
{
	if (req->auth.is_suspended)
		return mfcgi_fail(req, MERR_USER_SUSPENDED, "Your account is suspended");
	return 0;
}

/*
 * Spec: C-S API, POST /_matrix/media/v3/upload: the body is the
 * content, Content-Type its type, ?filename= its name.  Answers
 * {"content_uri"}.  Raises 413 M_TOO_LARGE (lib/fcgi and nginx, past
 * max_upload_size), 400 M_INVALID_PARAM, 400 M_RESOURCE_LIMIT_EXCEEDED
 * (past max_upload_size_per_user).
 */
int
h_upload(struct mreq *req)
{
	struct mmedia	 m;
	char		*name = NULL, *id = NULL, *sha = NULL;
	int64_t		 size = 0;
	int		 rc = -1, stored = 0;

	memset(&m, 0, sizeof(m));
	if (may_upload(req) == -1 || media_content_type_check(req, req->content_type) == -1 ||
	    media_upload_name(req, &name) == -1 || media_quota_check(req, req->content_length) == -1)
		goto out;
	if ((id = mcrypto_random_string(MEDIA_ID_LEN)) == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	if (store_body(req, id, &size, &sha) == -1)
		goto out;
	stored = 1;
	m.media_id = id;
	m.user_id = req->auth.user_id;
	m.content_type = (char *)req->content_type;
	m.upload_name = name;
	m.size = size;
	m.sha256 = sha;
	m.created_ts = mclock_now_ms();
	m.authenticated = req->conf->enable_authenticated_media;
	if (mstore_media_add(req->db, &m) != 0) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: cannot record %s", __func__, id);
		goto out;
	}
	mlog_info(req->id, "upload %s: %lld bytes by %s", id, (long long)size, req->auth.user_id);
	thumb_ahead(req, id, req->content_type);
	rc = mfcgi_reply(req, 200, json_pack("{s:o}", "content_uri", content_uri(req, id)));
out:
	if (rc == -1 && stored) {
		char *p = mmedia_abspath(req->conf, MFILE_LOCAL, id, NULL);

		if (p != NULL)
			unlink(p);
		free(p);
	}
	free(name);
	free(id);
	free(sha);
	return rc;
}

/*
 * Spec: C-S API, POST /_matrix/media/v1/create (v1.7): a media ID to
 * upload to later, with unused_expires_at.  Raises 429
 * M_LIMIT_EXCEEDED past MAX_PENDING unused IDs, as Synapse.
 */
int
h_create(struct mreq *req)
{
	struct mmedia	 m;
	char		*id = NULL;
	int64_t		 now = mclock_now_ms(), pending;
	int		 rc = -1;

	memset(&m, 0, sizeof(m));
	if (may_upload(req) == -1)
		return -1;
	if (mstore_media_pending(req->db, req->auth.user_id, now, &pending) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: cannot count", __func__);
	if (pending >= MAX_PENDING) {
		mfcgi_fail_add(req, "retry_after_ms", json_integer(60 * 1000));
		return mfcgi_fail(req, MERR_LIMITED, "Too many pending media uploads");
	}
	if ((id = mcrypto_random_string(MEDIA_ID_LEN)) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	m.media_id = id;
	m.user_id = req->auth.user_id;
	m.size = -1;
	m.created_ts = now;
	m.expires_ts = now + PENDING_MS;
	m.authenticated = req->conf->enable_authenticated_media;
	if (mstore_media_add(req->db, &m) != 0)
		mfcgi_fail(req, MERR_INTERNAL, "%s: cannot record %s", __func__, id);
	else
		rc = mfcgi_reply(req, 200, json_pack("{s:o,s:I}", "content_uri",
		    content_uri(req, id), "unused_expires_at", (json_int_t)m.expires_ts));
	free(id);
	return rc;
}

/*
 * Spec: C-S API, PUT /_matrix/media/v3/upload/{serverName}/{mediaId}:
 * the content of an ID from /create.  Raises 404 M_NOT_FOUND (unknown,
 * another server's, expired), 403 M_FORBIDDEN (someone else's), 409
 * M_CANNOT_OVERWRITE_MEDIA (uploaded already).
 */
int
h_upload_put(struct mreq *req)
{
	const char	*server = req->params[0], *id = req->params[1];
	struct mmedia	 m;
	char		*name = NULL, *sha = NULL, *path = NULL;
	int64_t		 size = 0;
	int		 rc = -1, got;

	memset(&m, 0, sizeof(m));
	if (may_upload(req) == -1 || media_content_type_check(req, req->content_type) == -1 ||
	    media_upload_name(req, &name) == -1 || media_quota_check(req, req->content_length) == -1)
		goto out;
	if (strcmp(server, req->conf->server_name) != 0 || !mmedia_id_check(id) ||
	    (got = mstore_media_get(req->db, id, &m)) == 0) {
		mfcgi_fail(req, MERR_NOT_FOUND, "Unknown media ID");
		goto out;
	}
	if (got == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: cannot read %s", __func__, id);
		goto out;
	}
	if (strcmp(m.user_id, req->auth.user_id) != 0) {
		mfcgi_fail(req, MERR_FORBIDDEN, "You may not upload to this media ID");
		goto out;
	}
	if (m.size >= 0) {
		mfcgi_fail(req, MERR_CANNOT_OVERWRITE_MEDIA, "Media already uploaded");
		goto out;
	}
	if (m.expires_ts <= mclock_now_ms()) {
		mfcgi_fail(req, MERR_NOT_FOUND, "Unknown media ID");
		goto out;
	}
	if (store_body(req, id, &size, &sha) == -1)
		goto out;
	/*
	 * Two PUTs at once: the second found the file there (link), or
	 * finds the row filled; the first one's file stays either way.
	 */
	if ((got = mstore_media_fill(req->db, id, req->content_type, name, size, sha)) != 1) {
		if (got == 0)
			mfcgi_fail(req, MERR_CANNOT_OVERWRITE_MEDIA, "Media already uploaded");
		else {
			mfcgi_fail(req, MERR_INTERNAL, "%s: cannot record %s", __func__, id);
			if ((path = mmedia_abspath(req->conf, MFILE_LOCAL, id, NULL)) != NULL)
				unlink(path);
		}
		goto out;
	}
	mlog_info(req->id, "upload %s: %lld bytes by %s", id, (long long)size, req->auth.user_id);
	thumb_ahead(req, id, req->content_type);
	rc = mfcgi_reply(req, 200, json_object());
out:
	free(path);
	mmedia_fini(&m);
	free(name);
	free(sha);
	return rc;
}
