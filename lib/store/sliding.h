/* Storage of simplified sliding sync (MSC4186) connections. */
#ifndef MYELIN_STORE_SLIDING_H
#define MYELIN_STORE_SLIDING_H

#include <stdint.h>
#include <jansson.h>

struct mdb;

/* A connection unused for a week goes (handlers/sync/sliding.c, myelin-timerd). */
#define MSLIDING_CONN_TTL_MS	(7LL * 24 * 3600 * 1000)

/*
 * The rule of both the handler and the timer: the time before which a
 * connection last used at it is expired, at now.
 */
int64_t	mstore_sliding_expire_before(int64_t now);
/*
 * Deletes at most limit connections last used before expire, with their
 * rooms, in the caller's transaction or one of its own.  The number of
 * connections deleted (0: none left), or -1.
 */
int64_t	mstore_sliding_expire(struct mdb *, int64_t expire, int64_t limit);

/*
 * A new connection of (user_id, device_id, conn_id), replacing any
 * before it (a request without pos starts over), used at now: its ID in
 * *id.  In the same transaction, connections of anyone last used before
 * expire go.  0 or -1.
 */
int	mstore_sliding_conn_new(struct mdb *, const char *user_id, const char *device_id,
	    const char *conn_id, int64_t now, int64_t expire, int64_t *id);
/*
 * The connection id of that key, used at or after expire: its last
 * answer's sequence number (*seq) and the one the client last came back
 * with (*acked).  1 found, 0 not (expired, replaced, someone else's), -1.
 */
int	mstore_sliding_conn_get(struct mdb *, int64_t id, const char *user_id,
	    const char *device_id, const char *conn_id, int64_t expire, int64_t *seq,
	    int64_t *acked);
/*
 * The client came back with answer seq at now: what later answers sent
 * is forgotten (they never reached it), rows that answer seq superseded
 * go, and connections last used before expire.  One transaction.  0 or
 * -1.
 */
int	mstore_sliding_ack(struct mdb *, int64_t id, int64_t seq, int64_t now, int64_t expire);
/*
 * What the client holds of each room, {room_id: [stream, config]}: the
 * events position up to which it was sent and the config (a string)
 * it was sent with.  New reference, or NULL.
 */
json_t	*mstore_sliding_rooms(struct mdb *, int64_t id);
/*
 * Records an answer: the connection's next sequence number into *seq,
 * and sent, {room_id: [stream, config]}, under it.  One transaction.
 * 0 or -1.
 */
int	mstore_sliding_commit(struct mdb *, int64_t id, const json_t *sent, int64_t now,
	    int64_t *seq);
/*
 * {room_id: stream} of the newest event at or before upto of Synapse's
 * bump_event_types in each room user_id has a membership of.  New
 * reference, or NULL.
 */
json_t	*mstore_sliding_bumps(struct mdb *, const char *user_id, int64_t upto);

/*
 * The user's memberships as mstore_sync_memberships, without the
 * events (event NULL, sender set): free with msyncmember_list_free.
 * 0 or -1.
 */
struct msyncmember;
int	mstore_sliding_memberships(struct mdb *, const char *user_id,
	    struct msyncmember **out, size_t *outsz);

#endif
