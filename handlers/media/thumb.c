/*
 * Thumbnails are decoded in another process: images come from
 * strangers, and a decoder's bug or a decompression bomb then costs a
 * child under hard limits, never the handler.
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
