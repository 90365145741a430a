/* Storage of the typing, account data and presence streams. */
#ifndef MYELIN_STORE_EPHEMERAL_H
#define MYELIN_STORE_EPHEMERAL_H

#include <stdint.h>
#include <jansson.h>

#include "store/streams.h"

struct mdb;

/*
 * The newest position of stream s, one kept in ephemeral_streams (a row
 * in MSTREAM_TABLE), 0 before any change; -1 on failure or for another.
 */
int64_t	mstore_estream_pos(struct mdb *, enum mstream s);
/*
 * Every stream's newest position, by enum mstream, in one statement
 * (events and receipts too, which keep theirs in tables of their own).
 * 0, or -1 (a stream without a position is one, logged).
 */
int	mstore_stream_positions(struct mdb *, int64_t pos[MSTREAM__MAX]);

/*
 * Typing.  A user types in a room until until_ms (mclock); until_ms 0
 * stops.  Each call runs its own transaction.  Starting to type, or
 * stopping, takes a new position in the typing stream; typing again
 * while still typing only moves the deadline, as nobody needs telling.
 * Returns 1 when the stream moved (wake the syncs), 0 when not, -1.
 */
int	mstore_typing_set(struct mdb *, const char *room_id, const char *user_id,
	    int64_t until_ms);
/*
 * Stops every typing notification due at or before now, under one new
 * position, in its own transaction.  Returns how many stopped (the
 * stream moved when more than 0), or -1.  *next receives the earliest
 * deadline still ahead, or 0 when nobody types.
 */
int64_t	mstore_typing_expire(struct mdb *, int64_t now, int64_t *next);
/*
 * The typing lists of the rooms user_id is joined to whose typing moved
 * in (from, to]: {room_id: [user_id, ...]}, a list empty when everyone
 * stopped.  New reference, or NULL.
 */
json_t	*mstore_typing_sync(struct mdb *, const char *user_id, int64_t from, int64_t to);
/* The same for the one room room_id, whoever reads it (peeking). */
json_t	*mstore_typing_room(struct mdb *, const char *room_id, int64_t from, int64_t to);

/*
 * Account data: room_id "" is global.  _put stores content (an object)
 * under a new position, in its own transaction.  0 or -1.
 */
int	mstore_account_data_put(struct mdb *, const char *user_id, const char *room_id,
	    const char *type, const json_t *content);
/*
 * A marker in room account data, {"event_id": ID}, that only moves
 * forwards: stores event_id (at events stream position stream) as type
 * unless the stored one is at or past stream.  Read, compare and write
 * are one transaction, under the account data stream's lock taken
 * first.  1 moved, 0 left alone, -1.
 */
int	mstore_account_data_marker(struct mdb *, const char *user_id, const char *room_id,
	    const char *type, const char *event_id, int64_t stream);
/* 1 with *out (new reference), 0 when none is stored, -1. */
int	mstore_account_data_get(struct mdb *, const char *user_id, const char *room_id,
	    const char *type, json_t **out);
/*
 * Room tags live in the m.tag room account data, {"tags": {tag: {...}}}.
 * mstore_tag_put sets tag to value (an object); mstore_tag_del removes
 * it.  Both read and write m.tag in one transaction.  _put: 0 or -1;
 * _del: 1 removed, 0 there was no such tag, -1.
 */
int	mstore_tag_put(struct mdb *, const char *user_id, const char *room_id, const char *tag,
	    const json_t *value);
int	mstore_tag_del(struct mdb *, const char *user_id, const char *room_id, const char *tag);
/*
 * The account data of user_id that moved in (from, to], oldest first:
 * [{"room_id": "" or ID, "type", "content"}].  New reference, or NULL.
 */
json_t	*mstore_account_data_sync(struct mdb *, const char *user_id, int64_t from, int64_t to);

/* How stale last_active_ts may grow before a sync that keeps a user online rewrites it. */
#define MPRESENCE_ACTIVE_REFRESH_MS	(60 * 1000)

/* Presence: "online", "unavailable" or "offline". */
struct mpresence {
	char		*presence;
	char		*status_msg;		/* NULL: none */
	int64_t		 last_active_ts;	/* 0: never */
	int64_t		 stream;
};

/* 1 when s is a presence a client may set: online, unavailable or offline. */
int	mpresence_valid(const char *s);
/*
 * The content of an m.presence event (spec: C-S API, m.presence):
 * presence, status_msg when set, last_active_ago when ever active (from
 * now), currently_active when online.  p NULL: a user never seen,
 * offline.  New reference, or NULL.
 */
json_t	*mpresence_content(const struct mpresence *p, int64_t now);

/* 1 with *out filled (free with mpresence_fini), 0 when never set, -1. */
int	mstore_presence_get(struct mdb *, const char *user_id, struct mpresence *out);
void	mpresence_fini(struct mpresence *);
/*
 * Sets presence and status_msg (NULL clears it), under a new position,
 * in the caller's transaction or else its own.  last_active_ts is kept
 * when -1.  0 or -1.
 */
int	mstore_presence_put(struct mdb *, const char *user_id, const char *presence,
	    const char *status_msg, int64_t last_active_ts);
/*
 * Sets presence, keeping status_msg, only when it differs from the
 * stored one (a user never seen is offline): the cheap path a sync takes
 * every time.  now becomes last_active_ts when going online; staying
 * online refreshes it, without a new position, when it is older than
 * MPRESENCE_ACTIVE_REFRESH_MS.  Returns 1 when the stream moved, 0 when
 * not, -1.
 */
int	mstore_presence_touch(struct mdb *, const char *user_id, const char *presence,
	    int64_t now);
/*
 * Presence lapses, as in Synapse: online idle (last_active_ts) since
 * before idle_before becomes unavailable; online or unavailable idle
 * since before offline_before becomes offline.  One transaction, one new
 * position for every change.  Returns how many changed (the stream moved
 * when more than 0), or -1.
 */
int64_t	mstore_presence_lapse(struct mdb *, int64_t idle_before, int64_t offline_before);
/* 1 when users a and b are both joined to some room, 0 when not, -1. */
int	mstore_presence_share(struct mdb *, const char *a, const char *b);
/*
 * The presence that moved in (from, to] of user_id and of the users
 * joined to a room with them, as m.presence events ({type, sender,
 * content}, ages from now).  New reference, or NULL.
 */
json_t	*mstore_presence_sync(struct mdb *, const char *user_id, int64_t from, int64_t to,
	    int64_t now);
/* The presence that moved in (from, to] of the users joined to room_id (peeking). */
json_t	*mstore_presence_room(struct mdb *, const char *room_id, int64_t from, int64_t to,
	    int64_t now);
/*
 * As Synapse: the presence, moved or not, of the users a sync over events
 * positions (from, to] introduces to user_id: the others joined to a room
 * user_id joined, and those who joined a room of user_id's.  Users
 * without presence read offline.  m.presence events as above, or NULL.
 */
json_t	*mstore_presence_newly(struct mdb *, const char *user_id, int64_t from, int64_t to,
	    int64_t now);

#endif
