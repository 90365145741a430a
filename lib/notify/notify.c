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
#define MNOTIFY_VERSION	2U
/*
 * Room for stream counters.  More than MSTREAM__MAX so that adding a
 * stream does not change the layout or the version.
 */
#define MNOTIFY_SLOTS	16
/*
 * The ring of topics (a power of two): what the commits announced
 * concern, newest MNOTIFY_RING kept.  A waiter that fell further behind
 * wakes, as for a wildcard.
 */
#define MNOTIFY_RING	4096

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
	/*
	 * Topics: entry i (of every one ever published) is at i %
	 * MNOTIFY_RING, its hash in seg_topic and i + 1 in seg_tag once
	 * written (the tag is stored after the hash, so a reader that finds
	 * its tag before and after reading the hash has the hash of entry i;
	 * anything else is an entry being written or overwritten, and counts
	 * as a wildcard).  seg_next: entries handed out so far.
	 */
	uint64_t	seg_next;
	uint64_t	seg_topic[MNOTIFY_RING];
	uint64_t	seg_tag[MNOTIFY_RING];
};

_Static_assert(MSTREAM__MAX <= MNOTIFY_SLOTS, "too many streams for the segment");
_Static_assert(offsetof(struct mseg, seg_seq) % 4 == 0, "futex word misaligned");
_Static_assert(offsetof(struct mseg, seg_pos) % 8 == 0, "positions misaligned");
_Static_assert(sizeof(struct mseg) == 16 + 8 * MNOTIFY_SLOTS + 8 + 16 * MNOTIFY_RING,
    "layout changed");
_Static_assert((MNOTIFY_RING & (MNOTIFY_RING - 1)) == 0, "ring not a power of two");

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
	int		 fd = -1, old = 0;

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
	/*
	 * New, or a segment of an older layout (version 1 had no ring, and
	 * is shorter) that a stack restarted on a new build finds: sized and
	 * initialised again below, under the lock.
	 */
	if ((size_t)st.st_size < sizeof(*seg)) {
		uint32_t head = 0;

		if (st.st_size > 0 && (pread(fd, &head, sizeof(head), 0) !=
		    (ssize_t)sizeof(head) || head != MNOTIFY_MAGIC)) {
			mlog_err(NULL, "%s: %s: not a notify segment (too short)",
			    __func__, path);
			goto bad;
		}
		if (ftruncate(fd, sizeof(*seg)) == -1) {
			mlog_err(NULL, "%s: %s: ftruncate: %s", __func__, path,
			    strerror(errno));
			goto bad;
		}
		old = st.st_size > 0;
	}
	seg = mmap(NULL, sizeof(*seg), PROT_READ | PROT_WRITE, MAP_SHARED,
	    fd, 0);
	if (seg == MAP_FAILED) {
		mlog_err(NULL, "%s: %s: mmap: %s", __func__, path,
		    strerror(errno));
		goto bad;
	}

	if (old)
		__atomic_store_n(&seg->seg_magic, 0, __ATOMIC_RELEASE);
	magic = __atomic_load_n(&seg->seg_magic, __ATOMIC_ACQUIRE);
	if (magic == 0) {
		/*
		 * Nobody has initialised it (new file, or its creator died
		 * before storing the magic), so nobody waits on it yet.
		 */
		__atomic_store_n(&seg->seg_seq, 0, __ATOMIC_RELAXED);
		for (size_t i = 0; i < MNOTIFY_SLOTS; i++)
			__atomic_store_n(&seg->seg_pos[i], 0, __ATOMIC_RELAXED);
		__atomic_store_n(&seg->seg_next, 0, __ATOMIC_RELAXED);
		for (size_t i = 0; i < MNOTIFY_RING; i++)
			__atomic_store_n(&seg->seg_tag[i], 0, __ATOMIC_RELAXED);
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

/* Appends topics (none: one wildcard, 0) to the ring. */
static void
publish(struct mseg *seg, const uint64_t *topics, size_t n)
{
	static const uint64_t	 all[1] = { MNOTIFY_ALL };
	uint64_t		 i;

	if (n == 0) {
		topics = all;
		n = 1;
	}
	i = __atomic_fetch_add(&seg->seg_next, n, __ATOMIC_SEQ_CST);
	for (size_t k = 0; k < n; k++, i++) {
		size_t slot = (size_t)(i & (MNOTIFY_RING - 1));

		/* Torn while written: the old tag first goes, so no reader takes it. */
		__atomic_store_n(&seg->seg_tag[slot], 0, __ATOMIC_SEQ_CST);
		__atomic_store_n(&seg->seg_topic[slot], topics[k], __ATOMIC_SEQ_CST);
		__atomic_store_n(&seg->seg_tag[slot], i + 1, __ATOMIC_SEQ_CST);
	}
}

/* Raises the position of stream s, then the sequence, and wakes every waiter. */
static void
bump_seg(struct mseg *seg, enum mstream s)
{
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

/*
 * Raises the position of stream s, then the global sequence, and wakes
 * every waiter of every process.  The position is raised first, so a
 * waiter that sees the new sequence also sees the new position.  It
 * concerns everyone (a wildcard topic).
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
	if ((unsigned int)s >= (unsigned int)MSTREAM__MAX) {
		mlog_err(NULL, "%s: no stream %u", __func__, (unsigned int)s);
		return;
	}
	publish(n->n_seg, NULL, 0);
	bump_seg(n->n_seg, s);
}

void
mnotify_announce(struct mnotify *n, unsigned streams, const uint64_t *topics, size_t ntopics)
{
	if (streams == 0)
		return;
	/* Topics first: a waiter that sees the sequence move finds them. */
	publish(n->n_seg, topics, ntopics);
	for (int s = 0; s < MSTREAM__MAX; s++)
		if (streams & (1u << s)) {
			bump_seg(n->n_seg, (enum mstream)s);
			if (n->n_pg != NULL)
				mnotify_pg_send(n->n_pg, (enum mstream)s);
		}
}

uint64_t
mnotify_topic(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h == MNOTIFY_ALL ? 1 : h;
}

uint64_t
mnotify_topic_head(struct mnotify *n)
{
	return __atomic_load_n(&n->n_seg->seg_next, __ATOMIC_SEQ_CST);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

void
mnotify_topics_sort(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
}

int
mnotify_concerns(struct mnotify *n, uint64_t *seen, const uint64_t *interest, size_t ni)
{
	struct mseg	*seg = n->n_seg;
	uint64_t	 head = __atomic_load_n(&seg->seg_next, __ATOMIC_SEQ_CST), i;
	int		 hit = 0;

	if (head - *seen > MNOTIFY_RING)
		hit = 1;
	for (i = *seen; !hit && i < head; i++) {
		size_t		 slot = (size_t)(i & (MNOTIFY_RING - 1));
		uint64_t	 t;

		if (__atomic_load_n(&seg->seg_tag[slot], __ATOMIC_SEQ_CST) != i + 1)
			hit = 1;	/* being written, or overwritten: look again */
		else {
			t = __atomic_load_n(&seg->seg_topic[slot], __ATOMIC_SEQ_CST);
			if (__atomic_load_n(&seg->seg_tag[slot], __ATOMIC_SEQ_CST) != i + 1 ||
			    t == MNOTIFY_ALL || bsearch(&t, interest, ni, sizeof(*interest),
			    cmp_u64) != NULL)
				hit = 1;
		}
	}
	*seen = head;
	return hit;
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
