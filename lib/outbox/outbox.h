/* The outbound queue's delivery loop: claims, in-order delivery, backoff, wake-ups. */
#ifndef MYELIN_OUTBOX_H
#define MYELIN_OUTBOX_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "store/outbox.h"

struct mdb;
struct mnotify;

/* What a delivery did with the rows it was given. */
enum moutbox_res {
	MOUTBOX_DONE,	/* delivered: the rows go */
	MOUTBOX_DROP,	/* never deliverable (logged by the kind): the rows go */
	MOUTBOX_GONE,	/* the destination is gone: every row of it goes */
	MOUTBOX_RETRY	/* not now: the destination backs off, the rows stay */
};

/*
 * One kind of outbound traffic (push gateways; federation's sender and
 * application services to come).  deliver sends rows[0..n), at most
 * batch of the head of one destination, in order, as one request, and
 * must return within MOUTBOX_LEASE_MS.  A destination that keeps
 * failing waits backoff_min_ms, doubling to backoff_max_ms; its head
 * rows are dropped once it has failed for give_up_ms (0: never).
 * streams: the notify streams (1u << enum mstream) whose moves may
 * queue rows of this kind.
 */
struct moutbox_kind {
	const char	 *kind;
	enum moutbox_res (*deliver)(void *arg, struct mdb *, const char *destination,
			    const struct moutbox_row *rows, size_t n);
	void		 *arg;
	size_t		  batch;
	int64_t		  backoff_min_ms, backoff_max_ms, give_up_ms;
	unsigned	  streams;
	/*
	 * How many of the head rows rows[0..n) go in the next request (at
	 * least 1), or NULL: all of them.  A kind whose requests must stay
	 * as first sent (application service transactions) says so here.
	 */
	size_t		(*take)(void *arg, const struct moutbox_row *rows, size_t n);
};

/* A claim lasts this long; each delivery renews it. */
#define MOUTBOX_LEASE_MS	(5 * 60 * 1000)
/* A claimed destination is let go after this many deliveries, for the others. */
#define MOUTBOX_TURN		100

/* The wait before the attempt after failures failures in a row (at least 1). */
int64_t	moutbox_backoff(const struct moutbox_kind *, int64_t failures);
/*
 * A name for this process as a lease owner (host, pid, random), malloc'd,
 * or NULL.
 */
char	*moutbox_owner_new(void);
/*
 * Delivers what is due at now for every destination of k that owner can
 * claim.  Returns the milliseconds until something may fall due again
 * (0: more is due at once), or -1 when nothing waits at all.
 */
int64_t	moutbox_run(struct mdb *, const struct moutbox_kind *k, const char *owner,
	    int64_t now);
/*
 * The daemon's loop over kinds[0..n) until *quit: runs what is due,
 * then sleeps until a stream of a kind moves in notify (may be NULL:
 * then it polls each second), the earliest retry on lib/clock, or
 * guard_ms, whichever comes first.
 */
void	moutbox_loop(struct mdb *, struct mnotify *, const struct moutbox_kind *kinds,
	    size_t n, const char *owner, int64_t guard_ms, volatile sig_atomic_t *quit);

#endif
