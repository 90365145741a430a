/*
 * The write path of lib/room, shared by local sends (room.c) and events
 * received from other servers (receive.c); private to lib/room.
 */
#ifndef MYELIN_ROOM_WRITE_H
#define MYELIN_ROOM_WRITE_H

#include <stdint.h>
#include <jansson.h>

struct mroom_ctx;
struct mroom_txn;
struct mstate_key;
struct mroomver;
enum mroom_err;

/*
 * State lookups for the auth rules, each event fetched once: the room's
 * current state, or, when map is set, the state map map (the state
 * before a received event), whose events come from the store.
 */
struct stateview {
	struct mroom_ctx	*ctx;
	const char		*room_id;
	json_t			*cache;		/* key -> event, or null when absent */
	const json_t		*extra;		/* an event not stored yet (the create event) */
	const json_t		*map;		/* a state map to read instead, or NULL */
	int			 err;
};

/* mstate_get_fn over a struct stateview. */
const json_t	*mroom_sv_get(void *arg, const char *type, const char *state_key);
/*
 * Reads n entries of the current state into v's cache in as few
 * statements as the store allows (MSTORE_CSTATE_PDUS at a time), so
 * that mroom_sv_get answers them without a statement each: the auth
 * events of an event about to be built.  A view of a map reads nothing.
 * A failure sets v->err.
 */
void		 mroom_sv_prefetch(struct stateview *v, const struct mstate_key *keys,
		    size_t n);

/*
 * Events by ID for state resolution (mevent_get_fn): stored PDUs with
 * their "event_id", each read once into cache.
 */
struct evcache {
	struct mroom_ctx	*ctx;
	json_t			*cache;		/* event ID -> PDU, or null when unknown */
	int			 err;
};
const json_t	*mroom_evcache_get(void *arg, const char *event_id);

/*
 * The state before an event whose prev_events are prev_ids (IDs), in
 * room_id: the state after the one prev event, or the resolution of
 * the states after each (state resolution v2, v1 for room version 1,
 * stored as a new state group).  *group gets the group (0: none, no
 * prev events).  MROOM_OK or MROOM_ERROR.  Every prev event must be
 * stored with its state.
 */
enum mroom_err	mroom_state_before(struct mroom_ctx *, const struct mroomver *,
		    const char *room_id, const json_t *prev_ids, int64_t *group);
/*
 * The same over a JSON array of state groups of room_id (distinct or
 * not): *group the one group, or a new one of their resolution.
 */
enum mroom_err	mroom_state_resolve_groups(struct mroom_ctx *, const struct mroomver *,
		    const char *room_id, const json_t *groups, int64_t *group);

/*
 * The checks of every event, local or received, that need no room state
 * beyond the room's row (spec: C-S API, "Size limits"; appendix, "User
 * Identifiers"): a type and a state key of at most 255 bytes, the state
 * key of a member event a user ID, content an object, and no join,
 * invite or knock into a room blocked here.  MROOM_OK, or MROOM_BAD_PARAM,
 * MROOM_BAD_JSON, MROOM_FORBIDDEN with ctx->why set, or MROOM_ERROR.
 */
enum mroom_err	mroom_policy_check(struct mroom_ctx *, const char *room_id,
		    const char *type, const char *state_key, const json_t *content);

/* How an event is stored (see persist in room.c). */
struct mroom_pflags {
	const char	*rejected;	/* the reason: stored for the record, nothing more */
	int		 outlier;	/* no state: stored, not in the DAG's state */
	int		 soft_failed;	/* state at its place, not shown, not an extremity */
	int		 history;	/* backfilled: below every position, DAG tip unmoved */
	int		 linear;	/* prev_events are every extremity (local sends) */
	int		 deoutlier;	/* history: an outlier stored before takes its place */
	/*
	 * With outlier: an out-of-band membership (lib/room/oob.c), at a
	 * live position, its member event the room's current state here.
	 */
	int		 oob;
	int		 imported;	/* MROOM_RECV_IMPORT: no hook acting on a live event */
};

/*
 * Stores a checked event with its state group (after state_before), the
 * room's extremities and current state and the persist
 * hooks, as flags say; flags NULL: an event built here, its prev events
 * every forward extremity.  sv reads the state before the event.
 * MROOM_OK, MROOM_CONFLICT (stored already) or MROOM_ERROR.
 */
enum mroom_err	mroom_persist(struct mroom_ctx *, const struct mroomver *,
		    struct stateview *sv, json_t *ev, const char *event_id,
		    const char *room_id, int64_t state_before, const json_t *prev_ids,
		    const struct mroom_txn *txn, const struct mroom_pflags *flags);

/*
 * Makes room_id's current state the resolution of the states after its
 * forward extremities, writing only what differs.  MROOM_OK, MROOM_FORBIDDEN
 * (a fork in a state resolution v1 room) or MROOM_ERROR.
 */
enum mroom_err	mroom_cstate_resync(struct mroom_ctx *, const struct mroomver *,
		    const char *room_id);

/*
 * receive.c's first checks of a received PDU, for oob.c: its shape by
 * the room version (room_id that of the room), and its signatures.
 */
enum mroom_err	mroom_recv_shape(struct mroom_ctx *, const struct mroomver *,
		    const json_t *pdu, const char *room_id);
struct mroom_recv;
enum mroom_err	mroom_recv_signed(struct mroom_ctx *, const struct mroomver *,
		    const json_t *pdu, const struct mroom_recv *r);

#endif
