/* Storage of receipts, push rules, notifications (event_push_actions) and pushers. */
#ifndef MYELIN_STORE_PUSH_H
#define MYELIN_STORE_PUSH_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "store/room.h"

struct mdb;

/* A before/after rule that does not exist (mstore_push_rule_put). */
#define MSTORE_NO_ANCHOR	(-3)
/* A new rule past the user's limit of rules (mstore_push_rule_put). */
#define MSTORE_TOO_MANY		(-4)

/* The receipts stream's newest position (0 before any receipt), or -1. */
int64_t	mstore_receipt_pos(struct mdb *);
/*
 * Stores a receipt (thread_id "" for an unthreaded one) at event_id,
 * whose position in the events stream is event_stream, under a new
 * receipts position, in the caller's transaction.  A receipt behind the
 * one stored is not: receipts mean "read up to".  1 stored, 0 ignored,
 * -1.
 */
int	mstore_receipt_put(struct mdb *, const char *room_id, const char *user_id,
	    const char *type, const char *thread_id, const char *event_id,
	    int64_t event_stream, int64_t ts);

struct mreceipt {
	char		*room_id;
	char		*user_id;
	char		*type;
	char		*thread_id;	/* "": unthreaded */
	char		*event_id;
	int64_t		 ts;
};

/*
 * Receipts that moved in (from, to] in the rooms user_id is joined to:
 * everyone's m.read and the user's own private ones, ordered by room.
 * 0 with *out (free with mreceipt_list_free), or -1.
 */
int	mstore_receipts_sync(struct mdb *, const char *user_id, int64_t from, int64_t to,
	    struct mreceipt **out, size_t *outsz);
/*
 * The m.read receipts of room_id that moved in (from, to], for a reader
 * who need not be joined (peeking): the same rows, ordered by event.
 */
int	mstore_receipts_room(struct mdb *, const char *room_id, int64_t from, int64_t to,
	    struct mreceipt **out, size_t *outsz);
void	mreceipt_list_free(struct mreceipt *, size_t);

/* A local member an event concerns, for push rule evaluation. */
struct mpushmember {
	char		*user_id;
	char		*display_name;	/* its membership event's, or NULL */
};

/*
 * The local users joined to room_id, and invitee (may be NULL), other
 * than sender: 0 with *out (free with mpushmember_list_free), or -1.
 */
int	mstore_push_members(struct mdb *, const char *room_id, const char *invitee,
	    const char *sender, struct mpushmember **out, size_t *outsz);
void	mpushmember_list_free(struct mpushmember *, size_t);
/*
 * The versions of what push rule evaluation reads of room_id: its
 * current state (members, their display names, power levels), which
 * every write of it moves, and everyone's rules (moved by a room's
 * purge too: a room joined again after one counts its state from 0
 * again).  While both stay, what was read stays true.  1 with both set, 2 when the caller's
 * transaction moved a version (which a rollback would take back: what
 * it reads is not to be kept), 0 for an unknown room, or -1.
 */
int	mstore_push_seqs(struct mdb *, const char *room_id, int64_t *state_seq,
	    int64_t *rules_seq);
/* Joined members of room_id, or -1. */
int64_t	mstore_push_member_count(struct mdb *, const char *room_id);
/*
 * The stored rules of the same members as mstore_push_members, as
 * {user_id: userset} (see lib/push/push.h; users who changed nothing are
 * absent).  New reference, or NULL.
 */
json_t	*mstore_push_rules_room(struct mdb *, const char *room_id, const char *invitee,
	    const char *sender);
/* One user's userset (an empty object when they changed nothing), or NULL. */
json_t	*mstore_push_rules_user(struct mdb *, const char *user_id);
/* 1 with *relates_to and *rel_type (malloc'd) of event_id's relation, 0 without, -1. */
int	mstore_push_relation(struct mdb *, const char *event_id, char **relates_to,
	    char **rel_type);

/*
 * Records the notifications of an event at stream, in the caller's
 * transaction, in one statement: rows is a JSON array of [user_id,
 * notify (0 or 1), highlight (0 or 1), actions as JSON text].  0 or -1.
 */
int	mstore_push_actions_add(struct mdb *, const char *room_id, const char *event_id,
	    int64_t stream, const char *thread_id, int64_t ts, const json_t *rows);
/*
 * Marks user_id's notifications in room_id up to stream read: those of
 * thread_id only, or every thread when NULL.  Rows changed, or -1.
 */
int64_t	mstore_push_read(struct mdb *, const char *user_id, const char *room_id,
	    int64_t stream, const char *thread_id);
/*
 * The same, from the write of an event in its transaction, of no thread
 * in particular and without the count, which nothing waits for (it may
 * go ahead: mdb_exec_ahead).  0 or -1.
 */
int	mstore_push_read_upto(struct mdb *, const char *user_id, const char *room_id,
	    int64_t stream);

/* Unread notifications of one room and thread ("main", or a root). */
struct mpushcount {
	char		*room_id;
	char		*thread_id;
	int64_t		 notify;
	int64_t		 highlight;
};

/* Every room and thread with unread notifications of user_id.  0 or -1. */
int	mstore_push_counts(struct mdb *, const char *user_id, struct mpushcount **out,
	    size_t *outsz);
void	mpushcount_list_free(struct mpushcount *, size_t);

/* A notification listed by GET /notifications. */
struct mnotif {
	struct mevrow	 ev;
	json_t		*actions;
	int		 read;
	int64_t		 ts;
	int64_t		 stream;	/* the page token */
};

/*
 * Up to limit of user_id's notifications before stream position before,
 * newest first, only highlights when highlight_only.  0 or -1.
 */
int	mstore_push_notifs(struct mdb *, const char *user_id, int64_t before,
	    int highlight_only, int64_t limit, struct mnotif **out, size_t *outsz);
void	mnotif_list_free(struct mnotif *, size_t);

/*
 * Push rules (kind: "override", ...).  mstore_push_rule_put adds or
 * replaces a user-defined rule: conditions (JSON array or NULL), pattern
 * (content rules, or NULL) and actions.  A new rule, or one moved by
 * before or after (rule IDs of the same kind; before wins), becomes the
 * most important rule of its kind, or the next one more (before) or less
 * (after) important than the anchor; an existing rule left in place
 * keeps its place.  A new rule is refused when the user has max_rules
 * user-defined rules already (changes to server-default rules do not
 * count).  Runs in its own transaction, with the user's row locked so
 * that concurrent puts count one after the other.  0, MSTORE_NO_ANCHOR,
 * MSTORE_TOO_MANY, or -1.
 */
int	mstore_push_rule_put(struct mdb *, const char *user_id, const char *kind,
	    const char *rule_id, const json_t *conditions, const char *pattern,
	    const json_t *actions, const char *before, const char *after, int64_t max_rules);
/* Deletes a user-defined rule: 1 deleted, 0 there was none, -1. */
int	mstore_push_rule_del(struct mdb *, const char *user_id, const char *kind,
	    const char *rule_id);
/*
 * Sets enabled, or the actions, of a rule that exists: a user-defined
 * rule, or the user's copy of a server-default one.  0 or -1.
 */
int	mstore_push_rule_enable(struct mdb *, const char *user_id, const char *kind,
	    const char *rule_id, int enabled);
int	mstore_push_rule_actions(struct mdb *, const char *user_id, const char *kind,
	    const char *rule_id, const json_t *actions);

/*
 * Pushers (spec: GET /pushers), as a JSON array of pusher objects.  New
 * reference, or NULL.
 */
json_t	*mstore_pushers(struct mdb *, const char *user_id);
/*
 * Adds or replaces user_id's pusher (a checked POST /pushers/set body);
 * unless append, the same app_id and pushkey of other users go.  Runs in
 * its own transaction.  0 or -1.
 */
int	mstore_pusher_put(struct mdb *, const char *user_id, const char *device_id,
	    const json_t *pusher, int append, int64_t now);
/* Deletes the pusher: 1 deleted, 0 none, -1. */
int	mstore_pusher_del(struct mdb *, const char *user_id, const char *app_id,
	    const char *pushkey);

/* An http pusher, as delivery names it. */
struct mpusherkey {
	char		*user_id;
	char		*app_id;
	char		*pushkey;
};

/*
 * The http pushers of the users of the JSON array users, ordered by
 * user: 0 with *out (free with mpusherkey_list_free), or -1.
 */
int	mstore_pushers_http(struct mdb *, const json_t *users, struct mpusherkey **out,
	    size_t *outsz);
void	mpusherkey_list_free(struct mpusherkey *, size_t);
/*
 * One pusher's kind, data (new reference), creation time and the badge
 * its gateway was last sent (-1: none yet).  1 found, 0 none, -1.
 */
int	mstore_pusher_get(struct mdb *, const char *user_id, const char *app_id,
	    const char *pushkey, char **kind, json_t **data, int64_t *created_ts,
	    int64_t *last_badge);
/* Records the badge a pusher's gateway was sent.  0 or -1. */
int	mstore_pusher_badge(struct mdb *, const char *user_id, const char *app_id,
	    const char *pushkey, int64_t badge);

#endif
