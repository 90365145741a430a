/* Rooms: building local events, checking them, persisting them with their state. */
#ifndef MYELIN_ROOM_H
#define MYELIN_ROOM_H

#include <stdint.h>
#include <jansson.h>

struct mdb;
struct mkey;
struct mroomver;

enum mroom_err {
	MROOM_OK,
	MROOM_NO_ROOM,		/* no such room here */
	MROOM_FORBIDDEN,	/* the auth rules refuse the event */
	MROOM_BAD_EVENT,	/* malformed: too large, bad content */
	MROOM_CONFLICT,		/* a room ID or alias that exists */
	MROOM_ERROR,		/* storage or internal failure */
};

/* Who sends, and where: what every local event needs besides its content. */
struct mroom_ctx {
	struct mdb		*db;
	const char		*server_name;
	const struct mkey	*key;
	char			 why[256];	/* reason for MROOM_FORBIDDEN / BAD_EVENT */
	int64_t			 stream;	/* stream position of the last event persisted */
};

/* The idempotency key of a client send (spec: transaction IDs). */
struct mroom_txn {
	const char	*user_id;
	const char	*device_id;
	const char	*txn_id;
	const char	*scope;		/* the endpoint: "send/<type>", "redact/<id>" */
};

/*
 * Builds, signs, checks and persists one local event in room_id, inside
 * the caller's transaction.  state_key NULL: not a state event.  redacts:
 * for m.room.redaction.  *event_id (malloc'd) receives its ID; when txn
 * repeats an earlier send by the same device, the earlier event's ID is
 * returned and nothing is written.  MROOM_FORBIDDEN when the auth rules
 * refuse the event, or a redaction of another user's event lacks the
 * room's redact power level.
 */
enum mroom_err	mroom_send(struct mroom_ctx *, const char *room_id, const char *sender,
		    const char *type, const char *state_key, const json_t *content,
		    const char *redacts, const struct mroom_txn *txn, char **event_id);

/*
 * Creates a room: its m.room.create event from creation content, then
 * each of initial (a JSON array of {type, state_key, content}) in order,
 * in the caller's transaction.  *room_id (malloc'd) receives the room ID.
 */
enum mroom_err	mroom_create(struct mroom_ctx *, const struct mroomver *, const char *creator,
		    const json_t *creation_content, const json_t *initial, char **room_id);

/* The current state event (new reference) or NULL; *err set on storage failure. */
json_t		*mroom_state_get(struct mroom_ctx *, const char *room_id, const char *type,
		    const char *state_key, int *err);
/*
 * Spec: C-S API, "Restricted rooms": when user_id may join room_id only
 * through its join rule's allow list, a joined member of ours with the
 * power to invite vouches for the join.  Returns that member (malloc'd)
 * for content.join_authorised_via_users_server, or NULL when the join
 * needs no voucher or no allowed room has user_id as a member.
 */
char		*mroom_join_authoriser(struct mroom_ctx *, const char *room_id,
		    const char *user_id);
/* The membership of user_id in room_id ("join", "invite", ...) malloc'd, or NULL. */
char		*mroom_membership(struct mroom_ctx *, const char *room_id, const char *user_id);

/*
 * The client format of a stored event (spec: C-S API, "Room event
 * format"): event_id, unsigned.age from now, transaction_id when the
 * viewer's device sent it, prev_content for replaced state, and
 * redacted_because.  New reference, or NULL.
 */
struct mevrow;
json_t		*mroom_client_event(const struct mevrow *, int64_t now_ms,
		    const char *viewer_user, const char *viewer_device);
/*
 * The same for a state event ev that carries its "event_id" (as
 * mstore_cstate_all and mstore_sgroup_state_events give them): in
 * room_id, or in the PDU's own room_id when NULL (a v12 create event has
 * none).  New reference, or NULL.
 */
json_t		*mroom_state_client_event(const json_t *ev, const char *room_id,
		    int64_t now_ms, const char *viewer_user, const char *viewer_device);

/*
 * History visibility (spec: C-S API, "History visibility"), in
 * lib/room/visibility.c: whether a user may read an event, from the
 * user's membership and the room's m.room.history_visibility at the
 * event, that is in the state before it.  The values, least
 * restrictive first, and memberships, most joined first, as Synapse
 * orders them; unknown values read as shared and as leave.
 */
enum mroom_hv {
	MROOM_HV_WORLD_READABLE,
	MROOM_HV_SHARED,
	MROOM_HV_INVITED,
	MROOM_HV_JOINED,
	MROOM_HV__MAX
};
enum mroom_ms {
	MROOM_MS_JOIN,
	MROOM_MS_INVITE,
	MROOM_MS_KNOCK,
	MROOM_MS_LEAVE,
	MROOM_MS_BAN,
	MROOM_MS__MAX
};
/* A history_visibility value (NULL: none, so shared), a membership (NULL: leave). */
enum mroom_hv	mroom_hv_parse(const char *);
enum mroom_ms	mroom_ms_parse(const char *);
/*
 * The rule for one event.  hv and ms are the visibility and the user's
 * membership before the event; hv_after and ms_after after it, which
 * differ only for an m.room.history_visibility event (either value lets
 * the user see it) and for the user's own membership event (a change of
 * the user's own membership is always the user's to see).  peeking: the user has not been joined since the event (not
 * joined now, nor a former member with the event before the leave), so
 * that shared history is not theirs.  1 visible, 0 not.
 */
int		mroom_vis_rule(enum mroom_hv hv, enum mroom_hv hv_after, enum mroom_ms ms,
		    enum mroom_ms ms_after, int peeking);

/* How a user may read one room now. */
enum mroom_stand {
	MROOM_STAND_JOINED,	/* joined: everything the events allow */
	MROOM_STAND_DEPARTED,	/* left after being joined: up to the leave */
	MROOM_STAND_PEEKING,	/* neither, in a room world_readable now */
};
struct mroom_reader {
	enum mroom_stand	 stand;
	int64_t			 upto;		/* last readable stream position */
	int64_t			 state_group;	/* departed: the state after the leave */
};
/*
 * Whether user_id may read room_id at all, and up to where: MROOM_OK
 * with *out; MROOM_NO_ROOM; MROOM_FORBIDDEN for a user neither joined,
 * nor a former member (one who left, not banned, and has not forgotten
 * the room), in a room not world_readable now; MROOM_ERROR.  Up to four
 * queries.
 */
enum mroom_err	mroom_vis_reader(struct mdb *, const char *room_id, const char *user_id,
		    struct mroom_reader *out);
/*
 * The visibility algorithm over a page: keep[i] is set to whether
 * user_id may see rows[i] (rows of any rooms).  Batched: one query for
 * the user's standing in the rooms, one for the state at every distinct
 * state group, whatever n is.  0, or -1 on storage failure.
 */
int		mroom_vis_filter(struct mdb *, const char *user_id, const struct mevrow *rows,
		    size_t n, unsigned char *keep);

#endif
