/*
 * Thumbnails are decoded in another process: images come from
 * strangers, and a decoder's bug or a decompression bomb then costs a
 * child under hard limits, never the handler.
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "extern.h"
#include "log/log.h"

/* Limits of one myelin-thumbnail run. */
#define THUMB_AS_BYTES		(512L * 1024 * 1024)
#define THUMB_CPU_SECONDS	20
#define THUMB_WALL_SECONDS	30
#define THUMB_FILE_BYTES	(32L * 1024 * 1024)

/* myelin-thumbnail's exit status for an image it refuses (too large, not an image). */
#define THUMB_REFUSED		3

char	*media_thumbnailer;

char *
thumb_program(void)
{
	char	 self[PATH_MAX], *slash, *p = NULL;
	ssize_t	 n;

	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0)
		return NULL;
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) == NULL)
		return NULL;
	*slash = '\0';
	if (asprintf(&p, "%s/myelin-thumbnail", self) == -1)
		return NULL;
	return p;
}

int
thumb_make(struct mreq *req, const char *src, const char *dst, int w, int h,
    const char *method, const char *outtype, int64_t *size)
{
	char		 ws[16], hs[16], px[24], *tmp = NULL;
	char		*argv[16];
	struct stat	 st;
	pid_t		 pid;
	int		 status, n = 0, rc = -1;

	if (media_thumbnailer == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: no myelin-thumbnail", __func__);
	if (mmedia_mkdirs(dst) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: %s: %s", __func__, dst, strerror(errno));
	if (asprintf(&tmp, "%s.%s.part", dst, req->id) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	snprintf(ws, sizeof(ws), "%d", w);
	snprintf(hs, sizeof(hs), "%d", h);
	snprintf(px, sizeof(px), "%lld", (long long)req->conf->max_image_pixels);
	argv[n++] = "myelin-thumbnail";
	argv[n++] = "-p";
	argv[n++] = px;
	argv[n++] = "-w";
	argv[n++] = ws;
	argv[n++] = "-h";
	argv[n++] = hs;
	argv[n++] = "-m";
	argv[n++] = (char *)method;
	argv[n++] = "-t";
	argv[n++] = (char *)outtype;
	argv[n++] = (char *)src;
	argv[n++] = tmp;
	argv[n] = NULL;
	/*
	 * Between fork and exec the child only calls async-signal-safe
	 * functions: the handler has threads.  alarm(2) outlives exec.
	 */
	if ((pid = fork()) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: fork: %s", __func__, strerror(errno));
		goto out;
	}
	if (pid == 0) {
		struct rlimit	 as = { THUMB_AS_BYTES, THUMB_AS_BYTES };
		struct rlimit	 cpu = { THUMB_CPU_SECONDS, THUMB_CPU_SECONDS };
		struct rlimit	 fsz = { THUMB_FILE_BYTES, THUMB_FILE_BYTES };
		sigset_t	 none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
#ifndef __SANITIZE_ADDRESS__
		if (setrlimit(RLIMIT_AS, &as) == -1)
			_exit(1);
#else
		/*
		 * AddressSanitizer reserves terabytes of shadow address space
		 * at start: a test build cannot run under RLIMIT_AS.  The pixel
		 * limit and the others still hold.
		 */
		(void)as;
#endif
		if (setrlimit(RLIMIT_CPU, &cpu) == -1 || setrlimit(RLIMIT_FSIZE, &fsz) == -1)
			_exit(1);
		alarm(THUMB_WALL_SECONDS);
		execv(media_thumbnailer, argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			mfcgi_fail(req, MERR_INTERNAL, "%s: waitpid: %s", __func__, strerror(errno));
			goto out;
		}
	if (WIFEXITED(status) && WEXITSTATUS(status) == THUMB_REFUSED) {
		mlog_info(req->id, "thumbnail of %s refused by myelin-thumbnail", src);
		mfcgi_fail(req, MERR_NOT_FOUND, "Cannot make a thumbnail of this media");
		goto out;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		/* A signal is a limit reached (SIGXCPU, SIGALRM, SIGSEGV from AS). */
		mlog_warn(req->id, "myelin-thumbnail failed on %s: %s %d", src,
		    WIFEXITED(status) ? "exit" : "signal",
		    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		mfcgi_fail(req, MERR_NOT_FOUND, "Cannot make a thumbnail of this media");
		goto out;
	}
	if (stat(tmp, &st) == -1 || chmod(tmp, 0644) == -1 || rename(tmp, dst) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: %s: %s", __func__, dst, strerror(errno));
		goto out;
	}
	*size = st.st_size;
	rc = 0;
out:
	if (rc == -1)
		(void)unlink(tmp);
	free(tmp);
	return rc;
}

/* Synapse's default thumbnail_sizes: thumbnails come in these only. */
static const struct tsize tsizes[] = {
	{ 32, 32, "crop" }, { 96, 96, "crop" }, { 320, 240, "scale" },
	{ 640, 480, "scale" }, { 800, 600, "scale" },
};

/*
 * As Synapse picks among its sizes: the smallest of the method asked
 * at least as large as asked, else the largest of that method.
 */
const struct tsize *
media_tsize_pick(int64_t w, int64_t h, const char *method)
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

const char *
media_thumb_type(const char *ct)
{
	return thumb_type(ct, 0);
}

int
thumb_query(struct mreq *req, struct thumb_ask *ask)
{
	char	*ws = mreq_query(req, "width"), *hs = mreq_query(req, "height"), *m, *a;
	int	 missing = ws == NULL || hs == NULL;

	memset(ask, 0, sizeof(*ask));
	free(ws);
	free(hs);
	if (missing)
		return mfcgi_fail(req, MERR_MISSING_PARAM, "width and height are required");
	if (mreq_query_int(req, "width", 0, 1, 100000, &ask->w) == -1 ||
	    mreq_query_int(req, "height", 0, 1, 100000, &ask->h) == -1)
		return -1;
	m = mreq_query(req, "method");
	if (m == NULL || strcmp(m, "scale") == 0)
		ask->method = "scale";
	else if (strcmp(m, "crop") == 0)
		ask->method = "crop";
	else {
		free(m);
		return mfcgi_fail(req, MERR_INVALID_PARAM, "method must be crop or scale");
	}
	free(m);
	/* Spec (v1.11): animated=true asks for one; false or absent, a still image. */
	if ((a = mreq_query(req, "animated")) != NULL && strcmp(a, "true") != 0 &&
	    strcmp(a, "false") != 0) {
		free(a);
		return mfcgi_fail(req, MERR_INVALID_PARAM, "animated must be true or false");
	}
	ask->animated = a != NULL && strcmp(a, "true") == 0;
	free(a);
	return 0;
}

int
thumb_get(struct mreq *req, const struct mmedia *m, const struct thumb_ask *ask, char **relp,
    char **ctp, char *suffix, size_t suffixsz)
{
	const struct tsize	*t;
	const char		*outtype;
	char			*abs = NULL, *src = NULL, *key = NULL, rowmethod[32];
	int			 got;

	*relp = NULL;
	*ctp = NULL;
	t = media_tsize_pick(ask->w, ask->h, ask->method);
	if ((outtype = thumb_type(m->content_type, ask->animated)) == NULL) {
		mfcgi_fail(req, MERR_NOT_FOUND, "No thumbnail for this media");
		goto fail;
	}
	/* Spec: animated thumbnails are a size of their own ("-animated" rows). */
	snprintf(suffix, suffixsz, "%dx%d-%s%s", t->w, t->h, t->method,
	    strcmp(outtype, "image/gif") == 0 || strcmp(outtype, "image/webp") == 0 ?
	    "-animated" : "");
	if (m->origin != NULL) {
		/* Made here from the cached copy; rows keyed "origin/id". */
		if ((*relp = mmedia_remote_relpath(1, m->origin, m->media_id, suffix)) == NULL ||
		    (abs = mmedia_remote_abspath(req->conf, 1, m->origin, m->media_id,
		    suffix)) == NULL ||
		    (src = mmedia_remote_abspath(req->conf, 0, m->origin, m->media_id, NULL)) == NULL ||
		    asprintf(&key, "%s/%s", m->origin, m->media_id) == -1) {
			key = NULL;
			mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
			goto fail;
		}
	} else if ((*relp = mmedia_relpath(MFILE_THUMB, m->media_id, suffix)) == NULL ||
	    (abs = mmedia_abspath(req->conf, MFILE_THUMB, m->media_id, suffix)) == NULL ||
	    (src = mmedia_abspath(req->conf, MFILE_LOCAL, m->media_id, NULL)) == NULL ||
	    (key = strdup(m->media_id)) == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto fail;
	}
	/* The row's method: "crop-animated" and so on, beside the still ones. */
	snprintf(rowmethod, sizeof(rowmethod), "%s%s", t->method,
	    strstr(suffix, "-animated") != NULL ? "-animated" : "");
	if ((got = mstore_media_thumb_get(req->db, key, t->w, t->h, rowmethod, ctp)) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: cannot read thumbnails", __func__);
		goto fail;
	}
	if (got == 0) {
		int64_t size = 0;

		if (thumb_make(req, src, abs, t->w, t->h, t->method, outtype, &size) == -1)
			goto fail;
		if (mstore_media_thumb_add(req->db, key, t->w, t->h, rowmethod, outtype,
		    size) == -1) {
			mfcgi_fail(req, MERR_INTERNAL, "%s: cannot record a thumbnail", __func__);
			goto fail;
		}
		if ((*ctp = strdup(outtype)) == NULL) {
			mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
			goto fail;
		}
	}
	free(key);
	free(abs);
	free(src);
	return 0;
fail:
	free(*relp);
	free(*ctp);
	*relp = *ctp = NULL;
	free(key);
	free(abs);
	free(src);
	return -1;
}

/*
 * As Synapse: the default sizes of a new image are made as it is
 * uploaded, so that the first thumbnail request finds them; other asks
 * pick among them.  A size that cannot be made (not an image after all,
 * past max_image_pixels) is left for the request that asks, which says
 * why: the upload itself succeeded, so its failure is not the answer's.
 */
void
thumb_ahead(struct mreq *req, const char *media_id, const char *content_type)
{
	struct mmedia	 m;
	struct thumb_ask ask;
	char		*rel, *ct, suffix[64];

	if (media_thumb_type(content_type) == NULL)
		return;
	memset(&m, 0, sizeof(m));
	m.media_id = (char *)media_id;
	m.content_type = (char *)content_type;
	for (size_t i = 0; i < sizeof(tsizes) / sizeof(tsizes[0]); i++) {
		ask.w = tsizes[i].w;
		ask.h = tsizes[i].h;
		ask.method = tsizes[i].method;
		ask.animated = 0;
		if (thumb_get(req, &m, &ask, &rel, &ct, suffix, sizeof(suffix)) == -1) {
			mlog_debug(req->id, "%s %dx%d-%s: not made ahead (%s)", media_id,
			    tsizes[i].w, tsizes[i].h, tsizes[i].method, req->errmsg);
			req->failed = 0;
			json_decref(req->errextra);
			req->errextra = NULL;
			break;	/* one size refused: the others would be too */
		}
		free(rel);
		free(ct);
	}
}
