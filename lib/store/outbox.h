/* Storage of the outbound queue: rows per kind and destination, backoff, leases. */
#ifndef MYELIN_STORE_OUTBOX_H
#define MYELIN_STORE_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

struct mdb;

/* One queued row (lib/outbox says what each kind puts in ref and payload). */
struct moutbox_row {
	int64_t		 id;
	char		*ref;		/* NULL when none */
	char		*payload;	/* NULL when none */
	int64_t		 created_ts;
};

/*
 * Queues a row for destination of kind, after every row queued there
 * before, in the caller's transaction (a write of the event that caused
 * it, so the two commit together).  0 or -1.
 */
int	mstore_outbox_put(struct mdb *, const char *kind, const char *destination,
	    const char *ref, const char *payload, int64_t now);
/*
 * Up to limit destinations of kind with rows, not backing off and not
 * leased at now, as malloc'd strings.  0 with *out (free with
 * mstore_outbox_dests_free), or -1.
 */
int	mstore_outbox_due(struct mdb *, const char *kind, int64_t now, int64_t limit,
	    char ***out, size_t *outsz);
void	mstore_outbox_dests_free(char **, size_t);
/*
 * Leases destination to owner until lease_until, when it is due at now
 * and nobody holds it.  1 claimed, 0 someone else has it or it is not
 * due, -1.
 */
int	mstore_outbox_claim(struct mdb *, const char *kind, const char *destination,
	    const char *owner, int64_t lease_until, int64_t now);
/* The first limit rows of destination, in order: 0 with *out, or -1. */
int	mstore_outbox_head(struct mdb *, const char *kind, const char *destination,
	    int64_t limit, struct moutbox_row **out, size_t *outsz);
void	moutbox_row_list_free(struct moutbox_row *, size_t);
/*
 * Deletes the rows ids[0..n) (delivered, or given up) and extends
 * owner's lease to lease_until, in one transaction.  1 with the lease
 * still owner's, 0 when it was lost (the rows go anyway), -1.
 */
int	mstore_outbox_done(struct mdb *, const char *kind, const char *destination,
	    const char *owner, const int64_t *ids, size_t n, int64_t lease_until);
/* Ends owner's lease with the destination healthy (no backoff).  0 or -1. */
int	mstore_outbox_release(struct mdb *, const char *kind, const char *destination,
	    const char *owner);
/* The destination's failures in a row and since when (0: none).  1, 0 no row, -1. */
int	mstore_outbox_dest_get(struct mdb *, const char *kind, const char *destination,
	    int64_t *failures, int64_t *failing_since);
/*
 * Ends owner's lease with one more failure: the destination waits until
 * retry_ts; failing_since becomes now unless it was failing already and
 * restart is 0.  0 or -1.
 */
int	mstore_outbox_fail(struct mdb *, const char *kind, const char *destination,
	    const char *owner, int64_t retry_ts, int64_t now, int restart);
/* Deletes every row of destination (its target is gone).  Rows deleted, or -1. */
int64_t	mstore_outbox_drop(struct mdb *, const char *kind, const char *destination);
/*
 * The earliest time after now that a destination of kind with rows
 * stops backing off or being leased; 0 when none, -1 on failure.
 */
int64_t	mstore_outbox_next(struct mdb *, const char *kind, int64_t now);
/*
 * Puts mark before the payload of destination's rows with ids
 * first..last that have none or a JSON object's (a transaction recorded
 * before it is sent).  0 or -1.
 */
int	mstore_outbox_mark(struct mdb *, const char *kind, const char *destination,
	    int64_t first, int64_t last, const char *mark);
/* Rows of kind waiting, or -1. */
int64_t	mstore_outbox_count(struct mdb *, const char *kind);

#endif
