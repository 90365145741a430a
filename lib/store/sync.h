/* Storage reads behind /sync. */
#ifndef MYELIN_STORE_SYNC_H
#define MYELIN_STORE_SYNC_H

#include <stdint.h>
#include <jansson.h>

struct mdb;
struct mevrow;

/* A user's current membership of one room. */
struct msyncmember {
	char		*room_id;
	char		*membership;	/* join, invite, leave, ban, knock */
	int64_t		 stream;	/* position of the membership event */
	char		*event_id;
	/*
	 * The membership event; NULL for a join from mstore_sync_memberships
	 * (nothing reads a join's), and see mstore_sliding_memberships.
	 */
	json_t		*event;
	char		*sender;	/* mstore_sliding_memberships only: the event's sender */
	/* mstore_sync_memberships only: the state groups around the event (see mvisstand). */
	int64_t		 state_before;
	int64_t		 state_after;
	/*
	 * mstore_sync_memberships_since only: the user forgot the room at
	 * this membership (a leave); no section shows it.
	 */
	int		 forgotten;
};

int	mstore_sync_memberships(struct mdb *, const char *user_id, struct msyncmember **out,
	    size_t *outsz);
void	msyncmember_list_free(struct msyncmember *, size_t);
/* Frees what one msyncmember holds, for mcur_collect. */
void	msyncmember_fini(void *);
/*
 * The memberships of the list whose event is past since, those the
 * user forgot since too (forgotten set): what an incremental sync reads
 * of them.  The user's other rooms it has events
 * for are joins (see collect in handlers/sync/rooms.c); the whole list
 * of joined rooms is read only where a stream asks (sync_joined_rooms).
 * 0 or -1.
 */
int	mstore_sync_memberships_since(struct mdb *, const char *user_id, int64_t since,
	    struct msyncmember **out, size_t *outsz);
/*
 * Sends ahead (mdb_prefetch) the reads of an incremental sync over
 * events (from, to] that depend on nothing else: the user's membership
 * changes (mstore_sync_memberships_since), with scan the timelines
 * (mstore_sync_timelines, limit rows a room), the membership moves
 * (mstore_member_moves), the device's key counts (mstore_key_counts;
 * device_id NULL: none), whether it has to-device messages at or
 * before td_ack (mstore_todevice_sync's acknowledgement) and the unread
 * counts (mstore_push_counts), so that they share one round trip.
 * Their readers take the answers.
 */
void	mstore_sync_prefetch(struct mdb *, const char *user_id, const char *device_id,
	    int64_t from, int64_t to, int64_t limit, int scan, int64_t td_ack);
/*
 * What an initial sync to events position to (presence position
 * presence_to) reads whatever it finds, sent ahead in the order it
 * reads them: the memberships, the timelines (limit rows a room, as
 * mstore_sync_timelines_bounded), the members, the ignore list, the
 * presence and the rooms' names.  Each reader takes its answer as it
 * comes, while the later ones are still being found (PostgreSQL).
 */
void	mstore_sync_prefetch_initial(struct mdb *, const char *user_id, int64_t to,
	    int64_t limit, int64_t presence_to);
/*
 * What a /sync reads first, sent ahead together: the user's presence
 * (see mstore_presence_touch) and the streams' positions.  A presence
 * that changes is written in a transaction, whose BEGIN forgets the
 * positions: they are read again after the write.
 */
void	mstore_sync_prefetch_start(struct mdb *, const char *user_id);
/*
 * The newest events in (from, to] of the user's joined rooms and, up to
 * the user's leave, of rooms left: at most limit per room, ordered by
 * room then stream.  Read lazily (mstore_evrows_lazy): mevrow_parse
 * before reading a row's json or notes.
 */
int	mstore_sync_timelines(struct mdb *, const char *user_id, int64_t from, int64_t to,
	    int64_t limit, struct mevrow **out, size_t *outsz);
/*
 * The same as mstore_sync_timelines, read room by room with an indexed
 * probe for each room's window (for an initial sync, or a token so old
 * that the stream since it is longer than the rooms' windows).
 */
int	mstore_sync_timelines_bounded(struct mdb *, const char *user_id, int64_t from,
	    int64_t to, int64_t limit, struct mevrow **out, size_t *outsz);
/* The state of a group as an object: state key -> event (with "event_id"). */
json_t	*mstore_sgroup_state_events(struct mdb *, int64_t group);
/* A row of an index of rows by event ID (mstore_rows_index). */
struct mrowref {
	const struct mevrow	*row;
};

/*
 * rows[0..n) by event ID, for mstore_rows_find: a table of pointers
 * into rows, hashed (open addressing, at least twice n slots), to free
 * (rows must outlive it), or NULL.
 */
struct mrowref		*mstore_rows_index(const struct mevrow *rows, size_t n);
/* The row of ix (mstore_rows_index of n rows) with event ID id, or NULL. */
const struct mevrow	*mstore_rows_find(const struct mrowref *ix, size_t n, const char *id);
/* The events of ids (a JSON array of IDs) as lazy views: {event ID: view}.  New reference. */
json_t	*mstore_event_views(struct mdb *, const json_t *ids);
/*
 * The same as mstore_sgroup_state_events for each of groups (a JSON
 * array of state group IDs) in one query: {"<group>": {state key:
 * event}} for each group that has state.  Each event is a lazy view
 * (mstore_event_view_lazy: mstore_view_parse before reading more than
 * its event_id, type and state_key) or, when it is a row of ix[0..n)
 * (mstore_rows_index of the timelines the caller holds, read lazily)
 * that has a view to give, its event ID as a string: the caller takes
 * its view from the row (mstore_event_view_row) when it needs more than
 * its ID.  The other events are read by ID, in one query more.  New
 * reference, or NULL.
 */
json_t	*mstore_sgroups_state_events(struct mdb *, const json_t *groups,
	    const struct mrowref *ix, size_t n);
/*
 * The current state of each room of rooms (a JSON array of [room ID,
 * stream]) that shows no event past that stream, where the state after
 * its newest event is its current state: {room ID: {state key: event}},
 * each event as mstore_sgroups_state_events gives it.  A room left out
 * is to be read from its state group.  New reference, or NULL.
 */
json_t	*mstore_sync_cstates(struct mdb *, const json_t *rooms,
	    const struct mrowref *ix, size_t n);
/*
 * The m.room.name and m.room.canonical_alias events of the user's joined
 * rooms: {room_id: {type: event}}.  New reference, or NULL.
 */
json_t	*mstore_sync_names(struct mdb *, const char *user_id);
/*
 * Joined and invited members of the user's joined rooms:
 * {room_id: {"join": [user...], "invite": [user...]}}.  New reference.
 */
json_t	*mstore_sync_members(struct mdb *, const char *user_id);
/*
 * The same for one room, added to into (an object of that shape); its
 * entry ({"join": [], "invite": []} when it has none) borrowed from into,
 * or NULL.
 */
json_t	*mstore_sync_room_members(struct mdb *, const char *room_id, json_t *into);

/*
 * Lazy-loading room members (spec: C-S API, "Lazy-loading room members"):
 * which membership events a device was sent, so that later syncs skip
 * them.  A record counts only for a since at or after the next_batch of
 * the response that carried it: a client that lost that response and
 * syncs again from an older token gets the members again.
 *
 * The members of room_id recorded for (user_id, device_id) at or before
 * since whose membership event is still the current one: an object
 * {user_id: true}, new reference, or NULL on failure.
 */
json_t	*mstore_sync_lazy_known(struct mdb *, const char *user_id, const char *device_id,
	    const char *room_id, int64_t since);
/*
 * Records sent, an array of [room_id, member, event_id], as sent in a
 * response whose next_batch has events position sent_at; one
 * transaction.  0 or -1.
 */
int	mstore_sync_lazy_put(struct mdb *, const char *user_id, const char *device_id,
	    const json_t *sent, int64_t sent_at);

#endif
