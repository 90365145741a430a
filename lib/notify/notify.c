/* Cross-process wake-ups through a futex in a shared mapped file. */
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/futex.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log/log.h"
#include "notify/extern.h"
#include "notify/notify.h"

#define MNOTIFY_MAGIC	0x6d4e5446U	/* "mNTF" */
#define MNOTIFY_VERSION	1U
/*
 * Room for stream counters.  More than MSTREAM__MAX so that adding a
 * stream does not change the layout or the version.
 */
#define MNOTIFY_SLOTS	16

/*
 * The segment as it lies in the file, shared by every process that maps
 * it.  All fields after the header are read and written only with
 * __atomic builtins.  The file is never shrunk while mapped: a process
 * touching a truncated mapping would get SIGBUS.
 */
struct mseg {
	uint32_t	seg_magic;	/* MNOTIFY_MAGIC once initialised */
	uint32_t	seg_version;	/* MNOTIFY_VERSION */
	uint32_t	seg_seq;	/* the futex word: +1 on every bump */
	uint32_t	seg_slots;	/* MNOTIFY_SLOTS */
	uint64_t	seg_pos[MNOTIFY_SLOTS];	/* per enum mstream */
};

_Static_assert(MSTREAM__MAX <= MNOTIFY_SLOTS, "too many streams for the segment");
_Static_assert(offsetof(struct mseg, seg_seq) % 4 == 0, "futex word misaligned");
_Static_assert(offsetof(struct mseg, seg_pos) % 8 == 0, "positions misaligned");
_Static_assert(sizeof(struct mseg) == 16 + 8 * MNOTIFY_SLOTS, "layout changed");

struct mnotify {
	struct mseg		*n_seg;
	struct mnotify_pg	*n_pg;	/* the PostgreSQL bridge, or NULL */
	char			*n_path;
};

/*
 * The futex word is shared between processes through a file mapping, so
 * the operations must not be FUTEX_PRIVATE_FLAG: a private futex is keyed
 * by the address in one process and would never see another's wake.
 */
static long
futex_call(uint32_t *word, int op, uint32_t val, const struct timespec *rel)
{
	return syscall(SYS_futex, word, op, val, rel, NULL, 0);
}

/*
 * Returns a new handle on the segment at path, or NULL (logged).  The
 * exclusive flock serialises creation and initialisation: whoever holds
 * it first and finds an empty file sizes and initialises it, the others
 * then find the magic set.  Every opener takes the lock, so nobody can
 * map a half-initialised segment.
 */
struct mnotify *
mnotify_open(const char *path)
{
	struct mnotify	*n = NULL;
	struct mseg	*seg = MAP_FAILED;
	struct stat	 st;
	uint32_t	 magic;
	int		 fd = -1;

	if ((n = calloc(1, sizeof(*n))) == NULL) {
		mlog_err(NULL, "%s: calloc: %s", __func__, strerror(errno));
		goto bad;
	}
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) == -1) {
		mlog_err(NULL, "%s: %s: %s", __func__, path, strerror(errno));
		goto bad;
	}
	while (flock(fd, LOCK_EX) == -1)
		if (errno != EINTR) {
			mlog_err(NULL, "%s: %s: flock: %s", __func__, path,
			    strerror(errno));
			goto bad;
		}
	if (fstat(fd, &st) == -1) {
		mlog_err(NULL, "%s: %s: fstat: %s", __func__, path,
		    strerror(errno));
		goto bad;
	}
	if (!S_ISREG(st.st_mode)) {
		mlog_err(NULL, "%s: %s: not a regular file", __func__, path);
		goto bad;
	}
	if (st.st_size == 0) {
		if (ftruncate(fd, sizeof(*seg)) == -1) {
			mlog_err(NULL, "%s: %s: ftruncate: %s", __func__, path,
			    strerror(errno));
			goto bad;
		}
	} else if ((size_t)st.st_size < sizeof(*seg)) {
		mlog_err(NULL, "%s: %s: not a notify segment (too short)",
		    __func__, path);
		goto bad;
	}
	seg = mmap(NULL, sizeof(*seg), PROT_READ | PROT_WRITE, MAP_SHARED,
	    fd, 0);
	if (seg == MAP_FAILED) {
		mlog_err(NULL, "%s: %s: mmap: %s", __func__, path,
		    strerror(errno));
		goto bad;
	}

	magic = __atomic_load_n(&seg->seg_magic, __ATOMIC_ACQUIRE);
	if (magic == 0) {
		/*
		 * Nobody has initialised it (new file, or its creator died
		 * before storing the magic), so nobody waits on it yet.
		 */
		__atomic_store_n(&seg->seg_seq, 0, __ATOMIC_RELAXED);
		for (size_t i = 0; i < MNOTIFY_SLOTS; i++)
			__atomic_store_n(&seg->seg_pos[i], 0, __ATOMIC_RELAXED);
		seg->seg_version = MNOTIFY_VERSION;
		seg->seg_slots = MNOTIFY_SLOTS;
		__atomic_store_n(&seg->seg_magic, MNOTIFY_MAGIC,
		    __ATOMIC_RELEASE);
	} else if (magic != MNOTIFY_MAGIC) {
		mlog_err(NULL, "%s: %s: not a notify segment (bad magic)",
		    __func__, path);
		goto bad;
	} else if (seg->seg_version != MNOTIFY_VERSION ||
	    seg->seg_slots != MNOTIFY_SLOTS) {
		/* Every process of one stack must run the same build. */
		mlog_err(NULL, "%s: %s: segment version %u, expected %u",
		    __func__, path, seg->seg_version, MNOTIFY_VERSION);
		goto bad;
	}

	/*
	 * The mapping holds a reference to the open file, so close alone
	 * would not drop the flock: unlock first.
	 */
	flock(fd, LOCK_UN);
	close(fd);
	n->n_seg = seg;
	/* Names this segment in PostgreSQL notifications (see pg.c). */
	if ((n->n_path = strdup(path)) == NULL) {
		munmap(seg, sizeof(*seg));
		free(n);
		return NULL;
	}
	return n;
bad:
	if (seg != MAP_FAILED)
		munmap(seg, sizeof(*seg));
	if (fd != -1) {
		flock(fd, LOCK_UN);
		close(fd);
	}
	free(n);
	return NULL;
}

/* Unmaps the segment; the file stays for the other processes.  NULL is fine. */
void
mnotify_close(struct mnotify *n)
{
	if (n == NULL)
		return;
	mnotify_pg_stop(n->n_pg);
	munmap(n->n_seg, sizeof(*n->n_seg));
	free(n->n_path);
	free(n);
}

/*
 * Raises the position of stream s, then the global sequence, and wakes
 * every waiter of every process.  The position is raised first, so a
 * waiter that sees the new sequence also sees the new position.
 */
void
mnotify_bump(struct mnotify *n, enum mstream s)
{
	mnotify_bump_local(n, s);
	if (n->n_pg != NULL && (unsigned int)s < (unsigned int)MSTREAM__MAX)
		mnotify_pg_send(n->n_pg, s);
}

void
mnotify_bump_local(struct mnotify *n, enum mstream s)
{
	struct mseg	*seg = n->n_seg;

	if ((unsigned int)s >= (unsigned int)MSTREAM__MAX) {
		mlog_err(NULL, "%s: no stream %u", __func__, (unsigned int)s);
		return;
	}
	__atomic_add_fetch(&seg->seg_pos[s], 1, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&seg->seg_seq, 1, __ATOMIC_SEQ_CST);
	/*
	 * XXX One syscall per bump even when nobody waits.  A waiter count
	 * in the segment would avoid it, at the cost of counts left behind
	 * by processes that die while waiting.
	 */
	if (futex_call(&seg->seg_seq, FUTEX_WAKE, INT_MAX, NULL) == -1)
		mlog_err(NULL, "%s: futex wake: %s", __func__, strerror(errno));
}

/* Returns the position of stream s, or 0 for a stream outside the enum. */
uint64_t
mnotify_pos(struct mnotify *n, enum mstream s)
{
	if ((unsigned int)s >= (unsigned int)MSTREAM__MAX)
		return 0;
	return __atomic_load_n(&n->n_seg->seg_pos[s], __ATOMIC_ACQUIRE);
}

/* Returns the global sequence; it wraps at 2^32. */
uint32_t
mnotify_seq(struct mnotify *n)
{
	return __atomic_load_n(&n->n_seg->seg_seq, __ATOMIC_ACQUIRE);
}

/*
 * Waits until the sequence differs from seen or timeout_ms passes, and
 * returns the sequence then.  A timeout_ms of 0 or less does not sleep:
 * a caller that computed a negative remaining time gets an answer at
 * once rather than a wait without end.  Safe from several threads on one
 * handle.
 *
 * The deadline is on CLOCK_MONOTONIC, not lib/clock: this is a real
 * wait of the kernel, which the fake clock of tests cannot advance, and
 * the wall clock may step.
 */
uint32_t
mnotify_wait(struct mnotify *n, uint32_t seen, int timeout_ms)
{
	struct mseg	*seg = n->n_seg;
	struct timespec	 deadline, now, rel;
	uint32_t	 cur;

	cur = __atomic_load_n(&seg->seg_seq, __ATOMIC_ACQUIRE);
	if (cur != seen || timeout_ms <= 0)
		return cur;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}

	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > deadline.tv_sec ||
		    (now.tv_sec == deadline.tv_sec &&
		    now.tv_nsec >= deadline.tv_nsec))
			break;
		rel.tv_sec = deadline.tv_sec - now.tv_sec;
		rel.tv_nsec = deadline.tv_nsec - now.tv_nsec;
		if (rel.tv_nsec < 0) {
			rel.tv_sec--;
			rel.tv_nsec += 1000000000L;
		}
		/*
		 * The kernel sleeps only if the word still equals seen, so a
		 * bump between our load and this call is not lost.  A return
		 * of 0 may be spurious; EAGAIN means it already changed;
		 * EINTR and ETIMEDOUT go round to the checks.
		 */
		if (futex_call(&seg->seg_seq, FUTEX_WAIT, seen, &rel) == -1 &&
		    errno != EAGAIN && errno != EINTR && errno != ETIMEDOUT) {
			mlog_err(NULL, "%s: futex wait: %s", __func__,
			    strerror(errno));
			break;
		}
		cur = __atomic_load_n(&seg->seg_seq, __ATOMIC_ACQUIRE);
		if (cur != seen)
			return cur;
	}
	return __atomic_load_n(&seg->seg_seq, __ATOMIC_ACQUIRE);
}

int
mnotify_attach_pg(struct mnotify *n, const char *conninfo)
{
	if (n->n_pg != NULL)
		return 0;
	if ((n->n_pg = mnotify_pg_start(n, conninfo, n->n_path)) == NULL)
		return -1;
	return 0;
}
