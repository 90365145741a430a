/*
 * The outbound federation queue: the events each destination is still
 * to be sent, in the order queued, and each destination's backoff.
 */
#ifndef MYELIN_STORE_FEDQ_H
#define MYELIN_STORE_FEDQ_H

#include <stdint.h>
#include <jansson.h>

struct mdb;

/* Queues event_id for destination, in the caller's transaction.  0 or -1. */
int	mstore_fedq_add(struct mdb *, const char *destination, const char *event_id,
	    int64_t now);
/*
 * The servers other than server_name with joined members in room_id's
 * current state: a new JSON array (empty when none), or NULL.  A room of
 * our users alone costs one probe.
 */
json_t	*mstore_fedq_room_servers(struct mdb *, const char *room_id, const char *server_name);
/* The destinations with events queued and no backoff at now: a new JSON array, or NULL. */
json_t	*mstore_fedq_due(struct mdb *, int64_t now);
/* 1 with *ts, the soonest backoff end after now with events behind it; 0 none; -1. */
int	mstore_fedq_next_retry(struct mdb *, int64_t now, int64_t *ts);
/*
 * Up to limit queued PDUs of destination, oldest first: a new JSON array
 * of the stored PDUs, *last the queue position of the last, or NULL.
 */
json_t	*mstore_fedq_batch(struct mdb *, const char *destination, int64_t limit,
	    int64_t *last);
/* Forgets destination's queue up to position last.  0 or -1. */
int	mstore_fedq_done(struct mdb *, const char *destination, int64_t last);
/* The backoff of destination (0: none), or -1. */
int64_t	mstore_fedq_backoff(struct mdb *, const char *destination);
/* Sets destination's backoff_ms and the time it ends (0, 0: none).  0 or -1. */
int	mstore_fedq_backoff_set(struct mdb *, const char *destination, int64_t retry_at,
	    int64_t backoff_ms);

/*
 * EDUs (lib/fed/edu.c).  Queues edu_type with content (a JSON object)
 * for destination, in the caller's transaction when one is open; ekey
 * non-NULL replaces the row queued before with the same type and ekey
 * (typing, presence, receipts: only the newest counts).  stream is the
 * stream that wakes the sender (the one the EDU's change moves).  0 or -1.
 */
enum mstream;
int	mstore_fedq_edu_add(struct mdb *, const char *destination, const char *edu_type,
	    const char *ekey, const json_t *content, enum mstream stream, int64_t now);
/*
 * Up to limit queued EDUs of destination, oldest first: a new JSON array
 * of {"edu_type", "content"}, *last the queue position of the last, or NULL.
 */
json_t	*mstore_fedq_edu_batch(struct mdb *, const char *destination, int64_t limit,
	    int64_t *last);
/* Forgets destination's EDUs up to position last.  0 or -1. */
int	mstore_fedq_edu_done(struct mdb *, const char *destination, int64_t last);

/* As the batches above, of the rows at positions up to upto only. */
json_t	*mstore_fedq_batch_upto(struct mdb *, const char *destination, int64_t limit,
	    int64_t upto, int64_t *last);
json_t	*mstore_fedq_edu_batch_upto(struct mdb *, const char *destination, int64_t limit,
	    int64_t upto, int64_t *last);
/*
 * The transaction sent to destination and not yet taken: the positions
 * of its last PDU and last EDU (0 and 0: none).  0 or -1.
 */
int	mstore_fedq_txn_get(struct mdb *, const char *destination, int64_t *pdu,
	    int64_t *edu);
/* Records it (0, 0: clears it).  0 or -1. */
int	mstore_fedq_txn_set(struct mdb *, const char *destination, int64_t pdu, int64_t edu);

#endif
