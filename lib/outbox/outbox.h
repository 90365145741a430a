/* The outbound queue's delivery loop: claims, in-order delivery, backoff, wake-ups. */
#ifndef MYELIN_OUTBOX_H
#define MYELIN_OUTBOX_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "store/outbox.h"

struct mdb;

/* What a delivery did with the rows it was given. */
enum moutbox_res {
	MOUTBOX_DONE,	/* delivered: the rows go */
	MOUTBOX_DROP,	/* never deliverable (logged by the kind): the rows go */
	MOUTBOX_GONE,	/* the destination is gone: every row of it goes */
	MOUTBOX_RETRY	/* not now: the destination backs off, the rows stay */
};

/*
 * One kind of outbound traffic (push gateways, application services).  deliver sends rows[0..n), at most
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
	/* Counted by moutbox_run when not NULL (the daemon's metrics). */
	struct moutbox_stats *stats;
};

/* What deliveries of a kind did since the process started. */
struct moutbox_stats {
	uint64_t	 res[MOUTBOX_RETRY + 1];	/* requests, by enum moutbox_res */
	uint64_t	 rows;				/* rows delivered */
	uint64_t	 given_up;			/* rows dropped after give_up_ms */
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
/* Writes the counters of kinds[0..n) as Prometheus text (myelin(7), "Metrics"). */
void	moutbox_metrics(FILE *, const struct moutbox_kind *kinds, size_t n);

#endif
