/* Storage for the room directory, room summaries, spaces, forgotten rooms and reports. */
#ifndef MYELIN_STORE_DIRECTORY_H
#define MYELIN_STORE_DIRECTORY_H

#include <stdint.h>
#include <jansson.h>

struct mdb;

/*
 * The summary of a room from its current state (spec: C-S API,
 * PublishedRoomsChunk, plus room_version and encryption from the
 * hierarchy's RoomSummary): room_id, num_joined_members, world_readable,
 * guest_can_join, and when set name, topic, canonical_alias, avatar_url,
 * join_rule, room_type.  Returns 1 with *out (a new object), 0 when the
 * room is unknown, -1 on failure.
 */
int	mstore_room_summary(struct mdb *, const char *room_id, json_t **out);

/*
 * The published rooms a client may see listed: published (rooms.is_public)
 * with a public, knock or knock_restricted join rule or world-readable
 * history, and at least one joined member, as Synapse lists them.
 * search (NULL: any) must be a substring, ignoring ASCII case, of the
 * name, topic or canonical alias; room_types (NULL or empty: any) is a
 * JSON array of room types, null standing for rooms without a type.
 * Summaries as mstore_room_summary's, most joined members first, then by
 * room ID descending.  A new array, or NULL on failure.
 *
 * XXX Every published room's summary state is read and filtered here,
 * one pass per request: fine for thousands of rooms.  Past that, a
 * summary table kept up to date by the event pipeline would let SQL
 * page and search.
 */
json_t	*mstore_public_rooms(struct mdb *, const char *search, const json_t *room_types);
/* The directory's order of two summaries: <0 when a comes first. */
int	mstore_public_room_cmp(const json_t *a, const json_t *b);
/*
 * One page of all (summaries in the directory's order, as
 * mstore_public_rooms gives; taken over, NULL a failure), as
 * /publicRooms answers for clients and for other servers: {chunk,
 * total_room_count_estimate, next_batch?, prev_batch?} after or before
 * the room the since token names; limit 0 or above
 * MSTORE_PUBLIC_ROOMS_MAX gives that many.  A new object, or NULL with
 * *bad_since 1 for a token that is not one of ours, else on failure.
 */
#define MSTORE_PUBLIC_ROOMS_MAX	1000
json_t	*mstore_public_rooms_page(json_t *all, int64_t limit, const char *since,
	    int *bad_since);

/*
 * The current m.space.child events of a room with a valid via (a
 * non-empty array of strings), in the spec's order ("Ordering of children
 * within a space": valid order first by code point, then
 * origin_server_ts, then room ID).  Each carries "event_id".  A new
 * array, or NULL on failure.
 */
json_t	*mstore_space_children(struct mdb *, const char *room_id);

/*
 * Lists (listed 1) or unlists room_id in the list of network_id of the
 * application service as_id.  0 or -1.
 */
int	mstore_appservice_room_put(struct mdb *, const char *as_id, const char *network_id,
	    const char *room_id, int listed);
/* The rooms in as_id's list of network_id (as_id NULL: in every list): a new array, or NULL. */
json_t	*mstore_appservice_rooms(struct mdb *, const char *as_id, const char *network_id);

/* Points every local alias of room from at room to (room upgrades).  0 or -1. */
int	mstore_alias_move(struct mdb *, const char *from, const char *to);

/*
 * Records that user_id forgot room_id while event_id was its membership
 * event (leave or ban).  Forgetting again replaces the record.  A later
 * membership event ends the forgetting without touching this table: a
 * room is forgotten only while the membership forgotten is current.
 * 0 or -1.
 */
int	mstore_room_forget(struct mdb *, const char *user_id, const char *room_id,
	    const char *event_id);
/* 1 when user_id has forgotten room_id (see mstore_room_forget), 0 if not, -1. */
int	mstore_room_forgotten(struct mdb *, const char *user_id, const char *room_id);
/* The rooms user_id has forgotten: a new JSON array of room IDs, or NULL. */
json_t	*mstore_forgotten_rooms(struct mdb *, const char *user_id);

/*
 * Stores a report of event_id in room_id by user_id (spec: C-S API,
 * "Reporting content"), for the admin API.  reason may be NULL; score
 * NULL when not given.  0 or -1.
 */
int	mstore_event_report_add(struct mdb *, const char *room_id, const char *event_id,
	    const char *user_id, const char *reason, const int64_t *score);

#endif
