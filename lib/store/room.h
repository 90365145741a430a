/* Storage of rooms, events, state groups, current state and aliases. */
#ifndef MYELIN_STORE_ROOM_H
#define MYELIN_STORE_ROOM_H

#include <stdint.h>
#include <jansson.h>

struct mdb;

struct mroom {
	char		*room_id;
	char		*version;
	char		*creator;
	int		 is_public;
	int64_t		 created_ts;
};

/* An event row: the PDU and what the server knows about it. */
struct mevrow {
	int64_t		 stream;		/* position in the events stream */
	char		*event_id;
	char		*room_id;
	char		*type;
	char		*state_key;		/* NULL: not a state event */
	char		*sender;
	int64_t		 depth;
	int64_t		 origin_server_ts;
	int64_t		 state_before;		/* state group before the event */
	int64_t		 state_after;		/* ... and after it */
	char		*rejected;		/* reason, or NULL when accepted */
	char		*redacted_by;
	char		*txn_user, *txn_device, *txn_id;	/* local sends only */
	char		*txn_scope;		/* the endpoint it was sent through */
	/*
	 * Written, not read back by the event readers (mstore_event_flags
	 * has them): an outlier has no state, a soft-failed event is not
	 * shown to clients (both: not an extremity, lib/room/receive.c);
	 * history takes its position from the counter below 0, which no
	 * token reaches and no sync wakes for (backfill and outliers).
	 */
	int		 outlier;
	int		 soft_failed;
	int		 history;
	/*
	 * With history: the row is an outlier stored before, which now
	 * takes its place (state, a position) rather than a new row.
	 */
	int		 deoutlier;
	json_t		*json;			/* the PDU, exactly as signed (or redacted) */
	/*
	 * Local annotations, kept beside the PDU and never in it (spec: C-S
	 * API, "Room event format", unsigned): the state event this one
	 * replaced, with that event's content and sender as they read now,
	 * and the PDU of the redaction that redacted_by names.  NULL when
	 * none.  Stored: replaces_state only; the rest is read.
	 */
	char		*replaces_state;
	json_t		*prev_content;
	char		*prev_sender;
	json_t		*redaction;
	/*
	 * The texts json, prev_content, prev_sender and redaction are read
	 * from, kept by the readers that parse them only when asked
	 * (mstore_evrows_lazy): json is NULL until mevrow_parse.  js is
	 * what a reader turns into an answer without parsing it
	 * (mroom_client_event_text): whoever changes json in place drops
	 * it (free, NULL), so that the text never says otherwise.
	 */
	char		*js, *prev_js, *redaction_js;
	/*
	 * When not NULL (a lazy reader's row): event_id, room_id, type,
	 * state_key, sender, rejected, redacted_by, txn_*, replaces_state
	 * are in it, freed with it, never on their own.
	 */
	char		*texts;
};

/*
 * Parses what a lazy reader left as text (json and the notes), once.
 * 0, or -1 when it is not JSON (or there is no text and no json).
 */
int	mevrow_parse(struct mevrow *);

/*
 * What a lazy view of a state event (a reader's stand-in for the view
 * that mstore_sgroup_state_events gives, see mstore_sync_read_ahead)
 * holds: the event's ID, type and state key, and the texts of its PDU,
 * of the PDU of the event it replaced and that one's ID.
 */
struct mviewtext {
	const char	*event_id, *type, *state_key;
	const char	*js;
	const char	*replaces, *prev_js;	/* NULL when none */
};

/*
 * The lazy view of a state event that a lazy reader (mstore_evrows_lazy)
 * read as a row, from the row's texts, without a query: NULL when the
 * row has none to give (a redacted event, a parsed row) or on failure.
 * New reference.
 */
json_t	*mstore_event_view_row(const struct mevrow *);
/* 1 and *out filled when v is a lazy view, else 0. */
int	mstore_view_texts(const json_t *v, struct mviewtext *out);
/*
 * The view v stands for: v itself when it is one already, else parsed
 * from its texts.  New reference, or NULL.
 */
json_t	*mstore_view_parse(json_t *v);

int	mstore_room_add(struct mdb *, const char *room_id, const char *version,
	    const char *creator);
/* 1 found, 0 absent, -1. */
int	mstore_room_get(struct mdb *, const char *room_id, struct mroom *out);
void	mroom_fini(struct mroom *);
/* Orders concurrent writers of one room; call inside the transaction. */
int	mstore_room_lock(struct mdb *, const char *room_id);
/* mstore_room_get and mstore_room_lock in one statement.  1, 0 (no such room) or -1. */
int	mstore_room_get_locked(struct mdb *, const char *room_id, struct mroom *out);
/*
 * Sends the lock of mstore_room_get_locked and the read of
 * mstore_fwd_tip after it ahead, in the caller's transaction, for
 * those two to take in that order: one round trip (PostgreSQL; nothing
 * on SQLite).
 */
void	mstore_room_lock_ahead(struct mdb *, const char *room_id);
int	mstore_room_set_public(struct mdb *, const char *room_id, int is_public);

/*
 * Stores ev (fields of in; in->json serialised, in->replaces_state kept
 * beside it; prev_content, prev_sender and redaction are not stored).  *stream gets its
 * position, taken under a lock held to the end of the transaction: call
 * it after every room lock the transaction needs.  0, MSTORE_CONFLICT or -1.
 */
int	mstore_event_add(struct mdb *, const struct mevrow *in, int64_t *stream);
int	mstore_event_get(struct mdb *, const char *event_id, struct mevrow *out);
/* What the write path of a received event needs of one it refers to. */
struct mevflags {
	int64_t		 state_after;		/* 0: none (an outlier, or no state) */
	int		 rejected;
	int		 outlier;
	int		 soft_failed;
	char		*room_id;		/* malloc'd */
};
/* 1 found (free f->room_id), 0 unknown, -1. */
int	mstore_event_flags(struct mdb *, const char *event_id, struct mevflags *f);
void	mevrow_fini(struct mevrow *);
void	mevrow_list_free(struct mevrow *, size_t);
/* 1 with *event_id (malloc'd) when this device already sent txn_id to scope in room. */
int	mstore_event_by_txn(struct mdb *, const char *room_id, const char *user,
	    const char *device, const char *txn_id, const char *scope, char **event_id);
/*
 * Replaces an event's stored JSON with its redacted form and records the
 * redaction's ID, from which readers take unsigned.redacted_because.
 */
int	mstore_event_redact(struct mdb *, const char *event_id, const json_t *redacted,
	    const char *redacted_by);
/*
 * Replaces an event's stored PDU with ev, the same event with more
 * signatures (an invitee server's copy of an invite).  0 or -1.
 */
int	mstore_event_json_set(struct mdb *, const char *event_id, const json_t *ev);
/*
 * The stripped state (a JSON array) an invite from another server came
 * with (invite_room_state), kept for /sync's invite_state: put 0 or -1;
 * get a new reference, NULL when none (or *err on failure).
 */
int	mstore_invite_state_put(struct mdb *, const char *event_id, const char *room_id,
	    const json_t *state);
json_t	*mstore_invite_state_get(struct mdb *, const char *event_id, int *err);
/*
 * Up to limit accepted events of a room between stream positions:
 * backwards (from >= stream > to) or forwards (from < stream <= to).
 */
int	mstore_events_page(struct mdb *, const char *room_id, int backwards,
	    int64_t from, int64_t to, int64_t limit, struct mevrow **out, size_t *outsz);
/*
 * A place in a room's topological order (spec: S-S API, "Backfilling"):
 * depth, then stream position, so that history fetched from elsewhere
 * (positions below 0) sorts by its place in the DAG, not by arrival.
 */
struct mtopo {
	int64_t	 depth;
	int64_t	 stream;
};
/*
 * mstore_events_page in topological order: backwards (from >= place >
 * to, deepest first) or forwards (from < place <= to).
 */
int	mstore_events_topo_page(struct mdb *, const char *room_id, int backwards,
	    const struct mtopo *from, const struct mtopo *to, int64_t limit,
	    struct mevrow **out, size_t *outsz);
/*
 * The place of stream position pos in room_id's topological order: that
 * of its last shown event at or before pos (1), or {0, pos} when none (0).
 * -1 on failure.
 */
int	mstore_topo_at(struct mdb *, const char *room_id, int64_t pos, struct mtopo *t);
/*
 * The events stream's committed position: every event at or below it is
 * visible to this connection, so it may be handed out as a token.  -1.
 */
int64_t	mstore_events_max_stream(struct mdb *);
/* The state group after room_id's last event at or before pos: 0 if none, -1. */
int64_t	mstore_room_state_at(struct mdb *, const char *room_id, int64_t pos);

/*
 * Stores a new state group: prev_group (0: none) plus delta (a state map,
 * see mstate_key_join).  Chains stay short: past a bound the group is a
 * full snapshot.  *id gets its ID.  0 or -1.
 */
int	mstore_sgroup_add(struct mdb *, const char *room_id, int64_t prev_group,
	    const json_t *delta, int64_t *id);
/* The full state map of a group (new reference), or NULL. */
json_t	*mstore_sgroup_state(struct mdb *, int64_t group);

int	mstore_cstate_put(struct mdb *, const char *room_id, const char *type,
	    const char *state_key, const char *event_id, const char *membership);
/*
 * The current state event with its "event_id" (new reference), NULL when
 * absent; *err set on failure.  Like every reader of state events here
 * (mstore_cstate_all, mstore_sgroup_state_events, the sync memberships,
 * mstore_admin_room_state) it is a view, never to be stored: the PDU,
 * "event_id", and in "unsigned" the local annotations read beside it
 * (replaces_state, prev_content, prev_sender, and redacted_because: the
 * redaction's PDU with its "event_id").
 */
json_t	*mstore_cstate_event(struct mdb *, const char *room_id, const char *type,
	    const char *state_key, int *err);
/*
 * The current state event as the auth rules read it: the stored PDU
 * with its "event_id" and nothing else, NULL when absent; *err set on
 * failure.  The result is a new reference to an object shared with
 * other threads (parsed once while its stored text stays the same):
 * read it, never change it.
 */
json_t	*mstore_cstate_pdu(struct mdb *, const char *room_id, const char *type,
	    const char *state_key, int *err);
/*
 * Up to MSTORE_CSTATE_PDUS entries' PDUs in one statement, keys their
 * (type, state_key) pairs, n of them, one after the other: a new array
 * of [type, state_key, PDU] for those present, each PDU as
 * mstore_cstate_pdu returns it; NULL on failure.
 */
#define MSTORE_CSTATE_PDUS 4
json_t	*mstore_cstate_pdus(struct mdb *, const char *room_id, const char *const *keys,
	    size_t n);
/* The current state as a state map (see mstate_key_join): new reference, or NULL. */
json_t	*mstore_cstate_map(struct mdb *, const char *room_id);
int	mstore_cstate_del(struct mdb *, const char *room_id, const char *type,
	    const char *state_key);
/* Every current state event of a room, with IDs: a new JSON array, or NULL. */
json_t	*mstore_cstate_all(struct mdb *, const char *room_id);
/* Room IDs where user's current membership is membership: a new JSON array, or NULL. */
json_t	*mstore_user_rooms(struct mdb *, const char *user_id, const char *membership);
/*
 * MSC2228: event_id is to be pruned at expiry_ts (_add, 0 or -1); the
 * IDs of up to limit events due at now, soonest first (_due, a new JSON
 * array or NULL); the soonest time of any (_next: 1 with *ts, 0 when
 * none, -1); an event pruned (_del, 0 or -1).
 */
int	mstore_expiry_add(struct mdb *, const char *event_id, int64_t expiry_ts);
json_t	*mstore_expiry_due(struct mdb *, int64_t now, int64_t limit);
int	mstore_expiry_next(struct mdb *, int64_t *ts);
int	mstore_expiry_del(struct mdb *, const char *event_id);
/* The local guests joined to or invited into a room: a new JSON array of user IDs, or NULL. */
json_t	*mstore_room_guests(struct mdb *, const char *room_id);

/* The forward extremities: a new JSON array of IDs; *maxdepth their highest depth. */
json_t	*mstore_fwd_list(struct mdb *, const char *room_id, int64_t *maxdepth);
/* The same, and with groups non-NULL the state group after each, in order (a new array). */
json_t	*mstore_fwd_tip(struct mdb *, const char *room_id, int64_t *maxdepth, json_t **groups);
/* The distinct state groups after the forward extremities: a new JSON array of integers. */
json_t	*mstore_fwd_groups(struct mdb *, const char *room_id);
/*
 * The backward extremities (migration 25): prev_events (IDs) of an event
 * of depth in room_id's DAG that are not stored, or only as outliers,
 * become ones, and
 * event_id, stored now, is one no longer.  0 or -1.
 */
int	mstore_bwd_advance(struct mdb *, const char *room_id, const json_t *prev_events,
	    int64_t depth, const char *event_id);
/*
 * Up to limit backward extremities of room_id named by events of depth
 * from lo to hi, deepest first: a new JSON array of [event ID, depth],
 * or NULL.
 */
json_t	*mstore_bwd_list(struct mdb *, const char *room_id, int64_t hi, int64_t lo,
	    int64_t limit);
/* Makes event_id an extremity and its prev_events no longer ones. */
int	mstore_fwd_advance(struct mdb *, const char *room_id, const json_t *prev_events,
	    const char *event_id);

int	mstore_alias_add(struct mdb *, const char *alias, const char *room_id,
	    const char *creator);
int	mstore_alias_get(struct mdb *, const char *alias, char **room_id, char **creator);
int	mstore_alias_del(struct mdb *, const char *alias);
json_t	*mstore_alias_list(struct mdb *, const char *room_id);

int	mstore_relation_add(struct mdb *, const char *event_id, const char *relates_to,
	    const char *rel_type, const char *key, const char *room_id, int64_t stream);

#endif
