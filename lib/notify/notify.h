/* Stream positions and wake-ups shared by every process of one stack. */
#ifndef MYELIN_NOTIFY_H
#define MYELIN_NOTIFY_H

#include <stdint.h>

#include "store/streams.h"	/* enum mstream, from MSTREAM_TABLE */

struct mnotify;

/*
 * Maps the segment file at path (created if missing, mode 0600), shared
 * by every process that opens the same path.  NULL on failure.
 */
struct mnotify	*mnotify_open(const char *path);
void		 mnotify_close(struct mnotify *);
/* Announces that stream s moved; wakes every waiter in every process. */
void		 mnotify_bump(struct mnotify *, enum mstream s);
/*
 * The number of times stream s was bumped since the segment was created;
 * it only grows.  0 for a stream outside the enum.
 */
uint64_t	 mnotify_pos(struct mnotify *, enum mstream s);
/*
 * Filtered wake-ups.  A commit says whom it concerns: topics, the
 * mnotify_topic of room IDs and user IDs (MNOTIFY_ALL: everyone, what
 * mnotify_bump says).  A waiter that keeps the ring's head from before
 * it looked (mnotify_topic_head) asks mnotify_concerns whether anything
 * published since names one of its interests (a sorted array of
 * topics); 1 also for a wildcard, or when it fell behind the ring.
 * *seen moves to the head either way.
 */
#define MNOTIFY_ALL	0ULL
uint64_t	 mnotify_topic(const char *s);
/* Announces a commit: topics (none: everyone), then a bump of each stream in streams (bits). */
void		 mnotify_announce(struct mnotify *, unsigned streams, const uint64_t *topics,
		    size_t ntopics);
uint64_t	 mnotify_topic_head(struct mnotify *);
int		 mnotify_concerns(struct mnotify *, uint64_t *seen, const uint64_t *interest,
		    size_t ni);
/* Sorts an interest array for mnotify_concerns. */
void		 mnotify_topics_sort(uint64_t *, size_t);
/* A counter that changes on every bump of any stream. */
uint32_t	 mnotify_seq(struct mnotify *);
/*
 * Waits until the counter differs from seen or timeout_ms passes.
 * Returns the counter's value on return.
 */
uint32_t	 mnotify_wait(struct mnotify *, uint32_t seen, int timeout_ms);

/*
 * Bridges this segment to every other host of a stack sharing one
 * PostgreSQL database: each bump also sends NOTIFY, and a thread
 * LISTENs and bumps the local segment for bumps made elsewhere (bumps
 * from processes sharing this very segment are skipped: they woke it
 * already).  0 or -1 (logged); the bridge reconnects by itself.
 */
int		 mnotify_attach_pg(struct mnotify *, const char *conninfo);

#endif
