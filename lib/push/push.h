/* Push rules: the spec's server-default rules, their evaluation, notifications and receipts. */
#ifndef MYELIN_PUSH_H
#define MYELIN_PUSH_H

#include <stdint.h>
#include <jansson.h>

#include "outbox/outbox.h"

struct mdb;

/* Rule kinds, in the order the spec checks them (C-S API, "Push Rules"). */
enum mpush_kind {
	MPUSH_OVERRIDE, MPUSH_CONTENT, MPUSH_ROOM, MPUSH_SENDER, MPUSH_UNDERRIDE,
	MPUSH__MAX
};

extern const char *const mpush_kinds[MPUSH__MAX];

/* The kind named s, or -1. */
int	mpush_kind_parse(const char *s);

/*
 * The owner's user ID in the spec's definitions of default rules; it
 * stands in their conditions until mpush_defaults is given a user.
 */
#define MPUSH_ME	"[the user's Matrix ID]"
/* The owner's localpart, the pattern of .m.rule.contains_user_name. */
#define MPUSH_LOCALPART	"[the user's localpart]"

/*
 * The server-default rules (spec: C-S API, "Predefined Rules") as a
 * ruleset {kind: [rule, ...]}, each rule with rule_id, default, enabled,
 * actions and conditions or pattern.  user_id replaces MPUSH_ME when
 * not NULL.  New reference, or NULL.
 */
json_t	*mpush_defaults(const char *user_id);

/*
 * A user's stored rules ("userset", see mstore_push_rules_user):
 * {kind: [rule, ...], "defaults": {rule_id: {"enabled"?, "actions"?}}},
 * user-defined rules most important first, each with rule_id, enabled,
 * actions and conditions or pattern; "defaults" holds the user's changes
 * to server-default rules.  NULL stands for a user who changed nothing.
 *
 * mpush_ruleset: what a client reads (spec: PushRuleset), server-default
 * rules (from mpush_defaults(user_id)) merged with the userset in
 * evaluation order.  New reference, or NULL.
 */
json_t	*mpush_ruleset(const json_t *defaults, const json_t *userset);
/* The rule of kind and rule_id in a ruleset (borrowed), or NULL. */
const json_t *mpush_ruleset_find(const json_t *ruleset, const char *kind, const char *rule_id);

/* What the conditions of rules look at besides the event itself. */
struct mpush_event {
	const json_t	*event;		/* the event: type, content, sender, state_key, room_id */
	int64_t		 member_count;	/* joined members of the room */
	int64_t		 sender_power;	/* the sender's power level */
	const json_t	*power_levels;	/* content of m.room.power_levels, or NULL */
};

/* The recipient whose rules are evaluated. */
struct mpush_user {
	const char	*user_id;
	const char	*display_name;	/* in the room, or NULL */
};

/*
 * Evaluates a user's rules against an event (spec: C-S API, "Push
 * Rules"): defaults from mpush_defaults(NULL), userset as above or NULL.
 * Returns the actions of the first enabled rule that matches (borrowed
 * from defaults or userset), or NULL when none does.  *rule_id (when not
 * NULL) names the rule.
 */
/* 1 when rule_id is a legacy body-mention rule, which m.mentions turns off. */
int	mpush_legacy_mention_rule(const char *rule_id);
const json_t *mpush_eval(const json_t *defaults, const json_t *userset,
	    const struct mpush_user *, const struct mpush_event *, const char **rule_id);

/* 1 when actions hold "notify". */
int	mpush_actions_notify(const json_t *actions);
/* 1 when actions set the highlight tweak (no value means true). */
int	mpush_actions_highlight(const json_t *actions);
/*
 * Checks actions a client sent: an array of "notify" and tweak objects
 * ({"set_tweak": name, "value"?}).  The historical "dont_notify" and
 * "coalesce" are kept as sent (Synapse does; clients read them back)
 * and mean nothing to evaluation.  New reference, or NULL when invalid.
 */
json_t	*mpush_actions_clean(const json_t *actions);

/* Condition primitives, exported for the unit tests. */

/*
 * Glob match (spec: Appendices, "Glob-style matching": '*' any run, '?'
 * one character), ignoring ASCII case.  word 0: pattern matches the whole
 * value.  word 1: it matches some substring that starts and ends at a
 * word boundary (the ends of value, or a character outside [A-Za-z0-9_]),
 * as the spec asks for content.body.  literal: '*' and '?' are plain
 * characters (display names).  Returns 1 on a match.  The cost is linear
 * in the value: at most (MPUSH_PATTERN_MAX + 64) / 64 machine words per
 * character of it, whatever the pattern.  A pattern longer than
 * MPUSH_PATTERN_MAX characters matches nothing (PUT /pushrules refuses
 * them; older rows may hold one).
 */
int	mpush_glob(const char *pattern, const char *value, int word, int literal);
/*
 * Limits of a user's push rules, which every event in their rooms runs
 * through inside the sender's write transaction.  Synapse has none (its
 * evaluator compiles globs to linear-time regexes); these leave room for
 * every real use: patterns up to the display name bound, a rule per
 * muted room for hundreds of rooms, and the default rules' conditions
 * several times over.  The longest pattern, in characters (code
 * points), that matches anything:
 */
#define MPUSH_PATTERN_MAX	256
/* The most user-defined rules per user, and conditions per rule. */
#define MPUSH_RULES_MAX		500
#define MPUSH_CONDITIONS_MAX	16
/* 1 when pattern is at most MPUSH_PATTERN_MAX characters long. */
int	mpush_pattern_check(const char *pattern);
/* mpush_glob, adding to *steps the machine words it updated (for tests). */
int	mpush_glob_steps(const char *pattern, const char *value, int word, int literal,
	    uint64_t *steps);
/*
 * The property of event at a dot-separated path (spec: Appendices,
 * "Dot-separated property paths": "\." and "\\" escape), borrowed, or
 * NULL when absent.
 */
const json_t *mpush_property(const json_t *event, const char *path);
/*
 * 1 when one condition holds.  dflt: the condition belongs to a
 * server-default rule, whose MPUSH_ME stands for the user.  Unknown
 * conditions never hold.
 */
int	mpush_cond(const json_t *cond, const struct mpush_user *, const struct mpush_event *,
	    int dflt);

/*
 * Runs the push rules of every local user concerned by an event just
 * persisted in room_id at stream (spec: C-S API, "Server behaviour"):
 * the room's joined members other than the sender, and the target of an
 * invite.  Notifications are stored with their thread for the unread
 * counts; the sender's own unread notifications in the room become read
 * (sending an event moves the read marker), as do those of a member who
 * leaves.  Runs in the caller's transaction, with a fixed number of
 * queries whatever the number of members.  0 or -1.
 */
int	mpush_event_process(struct mdb *, const json_t *event, const char *event_id,
	    const char *room_id, int64_t stream, const struct mpush_event *);

/*
 * The thread an event belongs to (spec: C-S API, "Threaded read
 * receipts"): the root of its m.thread relation, found through at most 3
 * relations, or "main".  content: the event's content.  Returns a
 * malloc'd string, or NULL on failure.
 */
char	*mpush_thread_of(struct mdb *, const json_t *content);

/* Receipt types a client may send (spec: POST /rooms/{roomId}/receipt). */
#define MPUSH_READ		"m.read"
#define MPUSH_READ_PRIVATE	"m.read.private"
#define MPUSH_FULLY_READ	"m.fully_read"

/*
 * Records user_id's read receipt (m.read or m.read.private) at event_id
 * in room_id, in the caller's transaction: thread_id NULL is unthreaded.
 * A receipt older than the one it replaces is ignored, as receipts mark
 * "read up to".  The user's notifications up to the event (of the thread,
 * when threaded) become read.  Returns 1 (done or ignored), 0 when the
 * event is not an accepted event of the room, -1.
 */
int	mpush_receipt_put(struct mdb *, const char *room_id, const char *user_id,
	    const char *type, const char *thread_id, const char *event_id, int64_t ts);

/*
 * Delivery to push gateways (spec: Push Gateway API, POST
 * /_matrix/push/v1/notify) through the outbound queue (lib/outbox):
 * mpush_event_process queues a row per notified http pusher (ref: the
 * event ID, payload: the actions), a read receipt that changes a user's
 * unread count one per pusher of the user (no ref: a badge update).
 * The destination is one pusher, mpush_destination's text.
 */
#define MPUSH_OUTBOX	"push"

/* A pusher's destination in the queue: a malloc'd string, or NULL. */
char	*mpush_destination(const char *user_id, const char *app_id, const char *pushkey);

struct mhttp_allow;

/* How delivery reaches gateways. */
struct mpush_gateway {
	const struct mhttp_allow *allow;	/* networks allowed besides public ones */
	const char		*ca_file;	/* CAs for https gateways; NULL: the system's */
	long			 timeout_ms;	/* 0: lib/http's default */
};

/*
 * Sends rows[0..n) of destination (see struct moutbox_kind; arg is a
 * struct mpush_gateway) to the pusher's gateway, one notification per
 * row.  A pusher that is gone, or not http, or without a URL, is
 * MOUTBOX_GONE; a pushkey the gateway lists in "rejected" removes the
 * pusher (GONE); no answer or a status other than 2xx is MOUTBOX_RETRY.
 */
enum moutbox_res mpush_gateway_deliver(void *arg, struct mdb *, const char *destination,
	    const struct moutbox_row *rows, size_t n);

/*
 * The body of a notification (spec: Push Gateway API): of event for
 * user_id with actions, or a badge update when event is NULL; unread is
 * counts.unread, data the pusher's data (its "url" is left out),
 * pushkey_ts the pusher's creation in ms; format "event_id_only" or
 * NULL.  sender_name and room_name may be NULL.  New reference, or NULL.
 */
json_t	*mpush_notify_body(const json_t *event, const char *event_id, const char *user_id,
	    const json_t *actions, int64_t unread, const char *app_id, const char *pushkey,
	    int64_t pushkey_ts, const json_t *data, const char *sender_name,
	    const char *room_name);

/*
 * The user's badge: as Synapse's default (push.group_unread_count_by_room),
 * the number of rooms with unread notifications.  -1 on failure.
 */
struct mdb;
int64_t	mpush_badge(struct mdb *, const char *user_id);

#endif
