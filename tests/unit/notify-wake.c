/* lib/notify: bumps wake waiters in other processes and threads; waits time out. */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "notify/notify.h"
#include "testlib.h"

#define NTHREADS	8
#define WAIT_MS		10000	/* waits that a bump should cut short */
#define QUICK_MS	5000	/* "well before the timeout" */

static int64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(long ms)
{
	struct timespec	 ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		continue;
}

static void
onalarm(int sig)
{
	static const char msg[] = "notify-wake: timed out\n";

	(void)sig;
	(void)write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(1);
}

/* (a) A new segment starts at zero; a bump moves its stream and the seq. */
static void
test_start(const char *path)
{
	struct mnotify	*n, *n2;

	if ((n = mnotify_open(path)) == NULL) {
		CHECK(!"mnotify_open");
		return;
	}
	CHECK(mnotify_seq(n) == 0);
	for (int s = 0; s < MSTREAM__MAX; s++)
		CHECK(mnotify_pos(n, (enum mstream)s) == 0);
	mnotify_bump(n, MSTREAM_TYPING);
	CHECK(mnotify_pos(n, MSTREAM_TYPING) == 1);
	CHECK(mnotify_pos(n, MSTREAM_EVENTS) == 0);
	CHECK(mnotify_seq(n) == 1);
	mnotify_bump(n, MSTREAM_TYPING);
	mnotify_bump(n, MSTREAM_PRESENCE);
	CHECK(mnotify_pos(n, MSTREAM_TYPING) == 2);
	CHECK(mnotify_pos(n, MSTREAM_PRESENCE) == 1);
	CHECK(mnotify_seq(n) == 3);
	CHECK(mnotify_pos(n, MSTREAM__MAX) == 0);

	/* A second opener shares the counters and does not reset them. */
	if ((n2 = mnotify_open(path)) == NULL)
		CHECK(!"mnotify_open again");
	else {
		CHECK(mnotify_seq(n2) == 3);
		CHECK(mnotify_pos(n2, MSTREAM_TYPING) == 2);
		mnotify_bump(n2, MSTREAM_EVENTS);
		CHECK(mnotify_pos(n, MSTREAM_EVENTS) == 1);
		CHECK(mnotify_seq(n) == 4);
		mnotify_close(n2);
	}
	mnotify_close(n);
	mnotify_close(NULL);
}

/* A file that is not a segment is refused, not overwritten. */
static void
test_foreign(const char *path)
{
	struct mnotify	*n;
	char		 buf[4096];
	int		 fd, saved;

	memset(buf, 'x', sizeof(buf));
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
		CHECK(!"write foreign file");
		if (fd != -1)
			close(fd);
		return;
	}
	close(fd);
	/* The refusal is logged; keep stderr for real failures. */
	fflush(stderr);
	if ((saved = dup(STDERR_FILENO)) != -1 &&
	    (fd = open("/dev/null", O_WRONLY)) != -1) {
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
	n = mnotify_open(path);
	if (saved != -1) {
		dup2(saved, STDERR_FILENO);
		close(saved);
	}
	CHECK(n == NULL);
	mnotify_close(n);
}

/* (b) A waiter in another process returns soon after the bump. */
static void
test_fork(const char *path)
{
	struct mnotify	*n;
	pid_t		 pid;
	int		 fds[2], status;
	char		 c;

	if ((n = mnotify_open(path)) == NULL) {
		CHECK(!"mnotify_open");
		return;
	}
	if (pipe(fds) == -1 || (pid = fork()) == -1) {
		CHECK(!"pipe/fork");
		mnotify_close(n);
		return;
	}
	if (pid == 0) {
		struct mnotify	*cn;
		uint32_t	 seen, got;
		uint64_t	 pos;
		int64_t		 t0, dt;
		int		 ok = 1;

		close(fds[0]);
		if ((cn = mnotify_open(path)) == NULL)
			_exit(1);
		seen = mnotify_seq(cn);
		pos = mnotify_pos(cn, MSTREAM_EVENTS);
		/* Tell the parent we hold seen, so its bump cannot come first. */
		if (write(fds[1], "r", 1) != 1)
			_exit(1);
		t0 = now_ms();
		got = mnotify_wait(cn, seen, WAIT_MS);
		dt = now_ms() - t0;
		if (got == seen) {
			fprintf(stderr, "child: seq still %u after wait\n", got);
			ok = 0;
		}
		if (dt >= QUICK_MS) {
			fprintf(stderr, "child: woke after %lld ms\n",
			    (long long)dt);
			ok = 0;
		}
		if (mnotify_pos(cn, MSTREAM_EVENTS) != pos + 1) {
			fprintf(stderr, "child: events position did not rise\n");
			ok = 0;
		}
		mnotify_close(cn);
		_exit(ok ? 0 : 1);
	}
	close(fds[1]);
	CHECK(read(fds[0], &c, 1) == 1);
	close(fds[0]);
	sleep_ms(100);
	mnotify_bump(n, MSTREAM_EVENTS);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	mnotify_close(n);
}

/* (c) Without a bump, a wait lasts its timeout and reports no change. */
static void
test_timeout(const char *path)
{
	struct mnotify	*n;
	uint32_t	 seen;
	int64_t		 t0, dt;

	if ((n = mnotify_open(path)) == NULL) {
		CHECK(!"mnotify_open");
		return;
	}
	seen = mnotify_seq(n);
	t0 = now_ms();
	CHECK(mnotify_wait(n, seen, 50) == seen);
	dt = now_ms() - t0;
	CHECK(dt >= 49);
	CHECK(dt < QUICK_MS);

	/* A zero or negative timeout only reads. */
	t0 = now_ms();
	CHECK(mnotify_wait(n, seen, 0) == seen);
	CHECK(mnotify_wait(n, seen, -1) == seen);
	CHECK(now_ms() - t0 < 1000);

	/* A stale seen returns at once. */
	t0 = now_ms();
	CHECK(mnotify_wait(n, seen - 1, WAIT_MS) == seen);
	CHECK(now_ms() - t0 < 1000);
	mnotify_close(n);
}

struct waiter {
	struct mnotify	*w_n;
	uint32_t	 w_seen;
	uint32_t	 w_got;
	int64_t		 w_ms;
};

static pthread_mutex_t	 ready_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 ready_cv = PTHREAD_COND_INITIALIZER;
static int		 ready;

static void *
waiter_run(void *arg)
{
	struct waiter	*w = arg;
	int64_t		 t0;

	pthread_mutex_lock(&ready_mtx);
	ready++;
	pthread_cond_signal(&ready_cv);
	pthread_mutex_unlock(&ready_mtx);
	t0 = now_ms();
	w->w_got = mnotify_wait(w->w_n, w->w_seen, WAIT_MS);
	w->w_ms = now_ms() - t0;
	return NULL;
}

/*
 * (d) One bump from another process wakes every thread waiting in this
 * one, whether they share a handle or map the file through another.
 */
static void
test_threads(const char *path)
{
	struct mnotify	*na = NULL, *nb = NULL;
	struct waiter	 w[NTHREADS];
	pthread_t	 th[NTHREADS];
	pid_t		 pid;
	uint32_t	 seen;
	int		 fds[2], status, started = 0;
	char		 c;

	if ((na = mnotify_open(path)) == NULL ||
	    (nb = mnotify_open(path)) == NULL) {
		CHECK(!"mnotify_open");
		goto out;
	}
	/* Fork before any thread exists. */
	if (pipe(fds) == -1 || (pid = fork()) == -1) {
		CHECK(!"pipe/fork");
		goto out;
	}
	if (pid == 0) {
		struct mnotify	*cn;

		close(fds[1]);
		if ((cn = mnotify_open(path)) == NULL)
			_exit(1);
		if (read(fds[0], &c, 1) != 1)
			_exit(1);
		mnotify_bump(cn, MSTREAM_RECEIPTS);
		mnotify_close(cn);
		_exit(0);
	}
	close(fds[0]);

	seen = mnotify_seq(na);
	for (int i = 0; i < NTHREADS; i++) {
		w[i].w_n = i % 2 ? nb : na;
		w[i].w_seen = seen;
		w[i].w_got = seen;
		w[i].w_ms = -1;
		if (pthread_create(&th[i], NULL, waiter_run, &w[i]) != 0) {
			CHECK(!"pthread_create");
			break;
		}
		started++;
	}
	pthread_mutex_lock(&ready_mtx);
	while (ready < started)
		pthread_cond_wait(&ready_cv, &ready_mtx);
	pthread_mutex_unlock(&ready_mtx);
	/* Give them time to sleep in the kernel; correctness does not need it. */
	sleep_ms(100);
	CHECK(write(fds[1], "b", 1) == 1);
	close(fds[1]);
	for (int i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		if (w[i].w_got != seen + 1 || w[i].w_ms < 0 ||
		    w[i].w_ms >= QUICK_MS) {
			fprintf(stderr, "thread %d: seq %u (from %u) after "
			    "%lld ms\n", i, w[i].w_got, seen,
			    (long long)w[i].w_ms);
			failed = 1;
		}
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(mnotify_seq(na) == seen + 1);
out:
	mnotify_close(nb);
	mnotify_close(na);
}

/*
 * (f) Topics: a waiter's interest decides; a wildcard (mnotify_bump)
 * concerns everyone; a waiter that fell a whole ring behind looks again.
 */
static void
test_topics(const char *path)
{
	struct mnotify	*n;
	uint64_t	 mine[2], other, seen, head;
	int		 i;

	if ((n = mnotify_open(path)) == NULL) {
		CHECK(!"mnotify_open");
		return;
	}
	mine[0] = mnotify_topic("!mine:localhost");
	mine[1] = mnotify_topic("@me:localhost");
	other = mnotify_topic("!other:localhost");
	CHECK(mine[0] != other && mine[0] != MNOTIFY_ALL);
	mnotify_topics_sort(mine, 2);
	seen = mnotify_topic_head(n);
	CHECK(mnotify_concerns(n, &seen, mine, 2) == 0);
	mnotify_announce(n, 1u << MSTREAM_EVENTS, &other, 1);
	CHECK(mnotify_concerns(n, &seen, mine, 2) == 0);
	CHECK(seen == mnotify_topic_head(n));
	mnotify_announce(n, 1u << MSTREAM_EVENTS, &mine[1], 1);
	CHECK(mnotify_concerns(n, &seen, mine, 2) == 1);
	CHECK(mnotify_concerns(n, &seen, mine, 2) == 0);
	mnotify_bump(n, MSTREAM_TYPING);
	CHECK(mnotify_concerns(n, &seen, mine, 2) == 1);
	/* No topics at all: everyone. */
	mnotify_announce(n, 1u << MSTREAM_EVENTS, NULL, 0);
	CHECK(mnotify_concerns(n, &seen, mine, 2) == 1);
	head = seen;
	for (i = 0; i < 5000; i++)
		mnotify_announce(n, 1u << MSTREAM_EVENTS, &other, 1);
	CHECK(mnotify_concerns(n, &head, mine, 2) == 1);
	CHECK(mnotify_concerns(n, &head, mine, 2) == 0);
	mnotify_close(n);
}

/* (g) The shorter segment of version 1 (no ring) is sized and started again. */
static void
test_upgrade(const char *path)
{
	struct mnotify	*n;
	uint32_t	 v1[36];
	int		 fd;

	memset(v1, 0, sizeof(v1));
	v1[0] = 0x6d4e5446U;	/* MNOTIFY_MAGIC */
	v1[1] = 1;
	v1[3] = 16;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    write(fd, v1, sizeof(v1)) != (ssize_t)sizeof(v1)) {
		CHECK(!"write version 1 segment");
		if (fd != -1)
			close(fd);
		return;
	}
	close(fd);
	CHECK((n = mnotify_open(path)) != NULL);
	if (n != NULL) {
		mnotify_bump(n, MSTREAM_EVENTS);
		CHECK(mnotify_pos(n, MSTREAM_EVENTS) == 1);
	}
	mnotify_close(n);
}

int
main(void)
{
	const char	*tmp;
	char		 dir[4096], path[4200], bad[4200];

	signal(SIGALRM, onalarm);
	alarm(60);
	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
		tmp = "/tmp";
	snprintf(dir, sizeof(dir), "%s/notify-wake.XXXXXX", tmp);
	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "mkdtemp %s: %s\n", dir, strerror(errno));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/notify", dir);
	snprintf(bad, sizeof(bad), "%s/foreign", dir);

	test_start(path);
	test_foreign(bad);
	test_fork(path);
	test_timeout(path);
	test_threads(path);
	test_topics(path);
	test_upgrade(bad);

	unlink(path);
	unlink(bad);
	rmdir(dir);
	return failed;
}
