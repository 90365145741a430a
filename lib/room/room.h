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
	MROOM_BAD_EVENT,	/* too large: more than a PDU may hold */
	MROOM_INVALID_ALIAS,	/* an alias that is not one by the grammar (lib/room/alias.c) */
	MROOM_BAD_ALIAS,	/* a local alias that does not point at the room */
	MROOM_CONFLICT,		/* a room ID or alias that exists */
	MROOM_ERROR,		/* storage or internal failure */
	MROOM_BAD_PARAM,	/* an identifier or a size limit: type, state_key, user ID */
	MROOM_BAD_JSON,		/* content that is not an object of canonical JSON */
	MROOM_SUSPENDED,	/* spec: "Account suspension": the sender may not send it */
	MROOM_BAD_SIGNATURE,	/* a received PDU its servers did not sign */
	MROOM_MISSING,		/* a received PDU whose prev or auth events are unknown */
};

/*
 * What an endpoint requires of the target's membership before it sends
 * a membership event, checked under the room lock so that a concurrent
 * change cannot slip between check and write.  The auth rules allow a
 * leave by another user whatever the target's membership (it unbans a
 * banned user); the C-S API's /kick and /unban each mean one of those.
 */
enum mroom_target {
	MROOM_TARGET_ANY,	/* the auth rules alone (the state PUT, /leave, ...) */
	MROOM_TARGET_IN_ROOM,	/* POST /kick: joined, invited or knocking */
	MROOM_TARGET_BANNED,	/* POST /unban: banned */
};

/* Who sends, and where: what every local event needs besides its content. */
struct mroom_ctx {
	struct mdb		*db;
	const char		*server_name;
	const struct mkey	*key;
	char			 why[256];	/* reason for MROOM_FORBIDDEN / BAD_EVENT */
	int64_t			 stream;	/* stream position of the last event persisted */
	enum mroom_target	 target;	/* for membership events; zeroed: ANY */
	const char		*new_room_id;	/* mroom_create's room ID when the version
						   does not derive it; zeroed: a fresh one */
	/*
	 * A member invite's content.third_party_invite as the server built
	 * it after checking the identity server's signature (lib/ident's
	 * exchange), never a client's; NULL: none.
	 */
	const json_t		*third_party_invite;
	/*
	 * Whom the request acts for, as its authentication found them,
	 * and whether that account is suspended: the write path takes
	 * the flag from here for that sender instead of reading it again.
	 * NULL: read every sender's.
	 */
	const char		*auth_user;
	int			 auth_suspended;
};

/* The idempotency key of a client send (spec: transaction IDs). */
struct mroom_txn {
	const char	*user_id;
	const char	*device_id;
	const char	*txn_id;
	const char	*scope;		/* the endpoint: "send/<type>", "redact/<id>" */
	int		 unsent;	/* the caller's transaction found no event of it yet */
};

/*
 * Builds, signs, checks and persists one local event in room_id, inside
 * the caller's transaction: the one write path of local events, so the
 * checks every route needs are here.  state_key NULL: not a state event.
 * redacts: for m.room.redaction.  *event_id (malloc'd) receives its ID;
 * when txn repeats an earlier send by the same device, or a state event
 * repeats the current one (type, state_key, sender and content), the
 * earlier event's ID is returned and nothing is written.
 *
 * Member event content loses the keys only a server may set
 * (join_authorised_via_users_server, third_party_invite); a local join
 * to a restricted room gets its voucher from mroom_join_authoriser, and
 * an invite gets ctx->third_party_invite when the server set one.
 *
 * MROOM_BAD_PARAM: type or state_key over 255 bytes, or a member event
 * whose state_key is not a user ID (mroom_user_id_check).  MROOM_BAD_JSON:
 * content not an object of canonical JSON (floats, integers beyond
 * +-(2**53 - 1)).  MROOM_BAD_EVENT: the PDU is over 65536 bytes.
 * MROOM_FORBIDDEN: the auth rules refuse the event, ctx->target is not
 * met, or a redaction of another user's event lacks the room's redact
 * power level.  MROOM_SUSPENDED: the sender's account is suspended and
 * the event is neither their own leave nor a redaction of their own event.
 */
enum mroom_err	mroom_send(struct mroom_ctx *, const char *room_id, const char *sender,
		    const char *type, const char *state_key, const json_t *content,
		    const char *redacts, const struct mroom_txn *txn, char **event_id);

/*
 * Creates a room: its m.room.create event from creation content, then
 * each of initial (a JSON array of {type, state_key, content}) in order,
 * through mroom_send, in the caller's transaction.  *room_id (malloc'd)
 * receives the room ID.  The server names the version and, up to room
 * version 10, the creator; creation content cannot name another creator
 * in later versions either.  Errors as mroom_send.
 */
enum mroom_err	mroom_create(struct mroom_ctx *, const struct mroomver *, const char *creator,
		    const json_t *creation_content, const json_t *initial, char **room_id);

/*
 * Events from other servers (lib/room/receive.c).  A key lookup gives
 * the public key of server's key key_id, valid when an event of ts_ms was
 * signed: 0 with pk filled, -1 when unknown or expired (the federation
 * layer's keyring; unit tests pass their own).
 */
typedef int	(*mroom_key_fn)(void *arg, const char *server_name, const char *key_id,
		    int64_t ts_ms, unsigned char pk[32]);

/* What became of a received event. */
enum mroom_fate {
	MROOM_FATE_ACCEPTED,	/* in the DAG with its state, shown, current state moved */
	MROOM_FATE_SOFT_FAILED,	/* in the DAG with its state, shown to no one, no extremity */
	MROOM_FATE_REJECTED,	/* stored for the record only (ctx->why says why) */
	MROOM_FATE_OUTLIER,	/* stored without state (MROOM_RECV_OUTLIER) */
	MROOM_FATE_KNOWN,	/* stored before: nothing changed */
};

#define MROOM_RECV_OUTLIER	0x1	/* fetched for an auth chain: no state, no DAG */
#define MROOM_RECV_HISTORY	0x2	/* backfilled: positioned before everything seen */
#define MROOM_RECV_NEW_ROOM	0x4	/* a create event may make its room here (a join) */
/*
 * Imported from a database that checked it already (myelin-admin
 * import-synapse): no signature check (the keys that signed it may be
 * gone), and none of the hooks that act on a live event (push, outbound
 * federation, delayed events, device lists, application services).
 */
#define MROOM_RECV_IMPORT	0x8

struct mroom_recv {
	mroom_key_fn	 key;		/* in: the keyring */
	void		*key_arg;
	int		 flags;		/* in: MROOM_RECV_* */
	/*
	 * in, or NULL: the state before the event as its origin gave it
	 * (/state_ids, send_join), a state map (mstate_key_join) of stored
	 * events, used instead of its prev events', which may then be
	 * unknown here.
	 */
	const json_t	*state;
	char		*event_id;	/* out, malloc'd: the event's ID */
	enum mroom_fate	 fate;		/* out, with MROOM_OK */
	int		 redacted;	/* out: the content hash failed, stored redacted */
	int64_t		 stream;	/* out: its position (below 0 for history) */
	json_t		*missing;	/* out, MROOM_MISSING: the unknown event IDs */
};
void		mroom_recv_fini(struct mroom_recv *);

/*
 * Receives one PDU from origin into its room, inside the caller's
 * transaction, by the spec's "Checks performed on receipt of a PDU"
 * (S-S API): a valid event of the room's version (sizes, types, depth,
 * at most 20 prev and 10 auth events, canonical JSON) and policy as
 * local events (mroom_send), else MROOM_BAD_EVENT, MROOM_BAD_PARAM or
 * MROOM_BAD_JSON; signed by the sender's server (and, as the version
 * says, the event ID's and a restricted join's voucher's), else
 * MROOM_BAD_SIGNATURE; nothing stored for either.  A content hash that
 * does not match: stored redacted (r->redacted).  Its auth events and
 * (unless an outlier) its prev events must be stored, the prev events
 * with state, else MROOM_MISSING with r->missing naming them; nothing is
 * invented.  Then MROOM_OK with r->fate: rejected when the auth rules
 * refuse it against its auth events or the state before it (resolved
 * across its prev events), soft-failed when only against the current
 * state, else accepted; the room's current state is the resolution of
 * its extremities.  MROOM_FORBIDDEN: a blocked room, or a fork in a room
 * of state resolution v1.  An event known already: MROOM_OK, fate KNOWN.
 * A room unknown here: MROOM_NO_ROOM, unless the PDU is its create event
 * and flags has MROOM_RECV_NEW_ROOM, when the room is made (its version
 * from the content, its ID the PDU's or, from version 12, the event's).
 * With r->state, the state before is that one (every event in it
 * stored), and the prev events need not be known.  Whatever it returns
 * but MROOM_OK, the caller rolls its transaction back.
 */
enum mroom_err	mroom_receive(struct mroom_ctx *, const char *origin, const json_t *pdu,
		    struct mroom_recv *r);

/*
 * Out-of-band memberships (lib/room/oob.c), for a room whose DAG is not
 * here (S-S API, "Inviting to a room", "Leaving Rooms (Rejecting
 * Invites)"): stored as outliers at a live position, each the room's
 * member state here, so /sync shows them.  In the caller's transaction.
 *
 * mroom_receive_invite: an invite pdu from origin (PUT /invite), of
 * room_version: checked as mroom_receive checks a PDU's shape, policy
 * and signatures (errors as it), the room made here when unknown (its
 * version must be room_version when known).  MROOM_OK with r->event_id
 * and r->fate (OUTLIER, or KNOWN).
 *
 * mroom_oob_member: user_id's membership of room_id: pdu (a leave or a
 * knock a resident server took, as signed here; for a room unknown here
 * it is made, of room_version), or, NULL, a leave built and signed here
 * after the user's current member event (an invite whose server cannot
 * be reached or refused the rejection).  MROOM_OK with *event_id
 * (malloc'd), MROOM_NO_ROOM, MROOM_FORBIDDEN (no membership), MROOM_ERROR.
 */
enum mroom_err	mroom_receive_invite(struct mroom_ctx *, const char *origin,
		    const json_t *pdu, const char *room_version, struct mroom_recv *r);
enum mroom_err	mroom_oob_member(struct mroom_ctx *, const char *room_id, const char *user_id,
		    const json_t *pdu, const char *room_version, char **event_id);

/*
 * MSC2228 (the option enable_ephemeral_messages): a message event whose
 * content has an integer org.matrix.self_destruct_after, a time in ms,
 * is pruned as a redaction leaves it once that time has passed.
 * mroom_expiry_note records event_id for that, in the caller's
 * transaction, when content asks (state events never do): 0 or -1.
 * mroom_expiry_run prunes every event due at now, a transaction per
 * batch, and sets *next to the soonest time still to come (0: none):
 * the count pruned, or -1.
 */
#define MROOM_SELF_DESTRUCT_AFTER	"org.matrix.self_destruct_after"
int		mroom_expiry_note(struct mdb *, const char *event_id, const char *state_key,
		    const json_t *content);
int64_t		mroom_expiry_run(struct mdb *, int64_t now, int64_t *next);
/*
 * Message retention (lib/room/retention.c; the configuration's
 * retention.*, off by default as in Synapse).  mroom_retention_check:
 * an m.room.retention state event's content as Synapse's event
 * validator has it (min_lifetime and max_lifetime integers, min no
 * greater than max): 0, or -1 with why set (400 M_BAD_JSON).
 * mroom_retention_lifetime: the max_lifetime that applies to a room of
 * that policy content (NULL: none), the default policy's when it sets
 * none, clamped to the allowed range; 0 when its messages are kept for
 * ever.  mroom_retention_run deletes every room's messages older than
 * that at now, a transaction per batch (store/retention.h says which
 * stay): the count deleted, or -1.
 */
#define MROOM_RETENTION	"m.room.retention"
struct mconfig;
int		mroom_retention_check(const char *type, const char *state_key,
		    const json_t *content, char *why, size_t whysz);
int64_t		mroom_retention_lifetime(const struct mconfig *, const json_t *content);
int64_t		mroom_retention_run(struct mdb *, const struct mconfig *, int64_t now);
/*
 * Delayed events (MSC4140, lib/room/delayed.c): sends, as their users
 * through mroom_send with ctx's server and key, every delayed event due
 * at now, each in a transaction that deletes its row (so of several
 * timer daemons one sends it); one the room refuses is dropped and
 * logged.  *next: the next due time (0: none).  The count sent, or -1.
 */
int64_t		mroom_delayed_run(struct mroom_ctx *, int64_t now, int64_t *next);

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
/*
 * The rooms a restricted join rule allows (content of m.room.join_rules):
 * the room_id of each entry of its allow list of type m.room_membership,
 * in order.  A new array of strings, maybe empty; NULL: out of memory.
 */
json_t		*mroom_allow_rooms(const json_t *content);
/*
 * Spec: appendix, "User Identifiers": 1 when s is "@localpart:server_name"
 * of at most 255 bytes, the localpart one or more of the historical
 * characters (printable ASCII but ':'), the server name a DNS name, IPv4
 * or bracketed IPv6 address with an optional port.  Else 0.
 */
int		 mroom_user_id_check(const char *s);
/* The membership of user_id in room_id ("join", "invite", ...) malloc'd, or NULL. */
char		*mroom_membership(struct mroom_ctx *, const char *room_id, const char *user_id);

/*
 * The client format of a stored event (spec: C-S API, "Room event
 * format"): event_id, unsigned.age from now, transaction_id when the
 * viewer's device sent it, prev_content for replaced state, and
 * redacted_because.  New reference, or NULL.
 */
struct mevrow;
struct mvisstand;
json_t		*mroom_client_event(const struct mevrow *, int64_t now_ms,
		    const char *viewer_user, const char *viewer_device);
/*
 * The same for a state event ev that carries its "event_id" and its
 * notes in "unsigned" (the view mstore_cstate_all and
 * mstore_sgroup_state_events give): in
 * room_id, or in the PDU's own room_id when NULL (a v12 create event has
 * none).  New reference, or NULL.
 */
json_t		*mroom_state_client_event(const json_t *ev, const char *room_id,
		    int64_t now_ms, const char *viewer_user, const char *viewer_device);
/*
 * mroom_client_event written from the row's stored text (row->js and
 * its notes' texts) without parsing it, as a raw node (mjson_raw) for
 * an answer that mjson_dump writes: the same members, in their stored
 * order.  A row without text, a redacted event and a redaction are
 * parsed (mevrow_parse) and made by mroom_client_event.  New reference,
 * or NULL.
 */
json_t		*mroom_client_event_text(struct mevrow *, int64_t now_ms,
		    const char *viewer_user, const char *viewer_device);
/*
 * The same event's text appended to b (an array's member being written:
 * no node a event), parsed and made by mroom_client_event where it must
 * be.  0, or -1 (b->err set when memory ran out).
 */
struct mjson_buf;
int		 mroom_client_event_add(struct mjson_buf *b, struct mevrow *, int64_t now_ms,
		    const char *viewer_user, const char *viewer_device);
/*
 * mroom_state_client_event the same way: a lazy view (mstore_view_texts)
 * from its texts, any other view by mroom_state_client_event.
 */
json_t		*mroom_state_client_event_text(const json_t *ev, const char *room_id,
		    int64_t now_ms, const char *viewer_user, const char *viewer_device);

/*
 * Room aliases (lib/room/alias.c).  mroom_alias_check: 1 when alias is
 * one by the spec's grammar (appendices, "Room aliases": "#", a
 * non-empty localpart without ":", ":", a server name; valid UTF-8; at
 * most 255 bytes), else 0.  mroom_alias_new_check: the same, and fit to
 * be created here: on server_name, no whitespace or control characters
 * in the localpart (as Synapse).
 */
int		 mroom_alias_check(const char *alias);
int		 mroom_alias_new_check(const char *alias, const char *server_name);
/*
 * Spec: m.room.canonical_alias.  For an event of that type and state
 * key "" about to be sent in room_id (anything else: MROOM_OK), every
 * alias the content names that the current event does not (Synapse
 * checks only those) must be valid, else MROOM_INVALID_ALIAS (also for
 * alt_aliases that is not a list), and when local must point at room_id,
 * else MROOM_BAD_ALIAS; ctx->why says which.  Remote aliases are taken
 * on their syntax (no federation to ask yet).  Called by mroom_send.
 */
enum mroom_err	 mroom_canonical_alias_check(struct mroom_ctx *, const char *room_id,
		    const char *type, const char *state_key, const json_t *content);
/*
 * After alias was deleted: when room_id's m.room.canonical_alias names
 * it (alias or alt_aliases), sends as sender the same content without
 * it, in the caller's transaction, with *event_id (malloc'd) its ID.
 * Nothing to change: MROOM_OK and *event_id NULL.  Otherwise what
 * mroom_send returns (MROOM_FORBIDDEN when sender may not send it).
 */
enum mroom_err	 mroom_canonical_alias_drop(struct mroom_ctx *, const char *room_id,
		    const char *sender, const char *alias, char **event_id);
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
 * state group, whatever n is.  An event whose sender's account was
 * erased and that the user sees without having been joined at it is
 * pruned in place (rows[i].json becomes its redacted form), as Synapse
 * serves it.  0, or -1 on storage failure.
 */
int		mroom_vis_filter(struct mdb *, const char *user_id, const struct mevrow *rows,
		    size_t n, unsigned char *keep);
/*
 * mroom_vis_filter with the user's standing in some rooms known already
 * (known[0..nknown), as mstore_vis_standings gives them, borrowed): the
 * query asks for the other rooms of rows only.  A room not in known
 * whose standing is not stored either has none, as there.
 */
int		mroom_vis_filter_known(struct mdb *, const char *user_id,
		    const struct mevrow *rows, size_t n, unsigned char *keep,
		    const struct mvisstand *known, size_t nknown);

#endif
