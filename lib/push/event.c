/* Push rules at work: each new event against the rules of the local members it concerns. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"
#include "json/json.h"
#include "push/extern.h"
#include "store/store.h"

/* The members of one outcome: the same actions notify the same way. */
struct outcome {
	char		*actions;	/* JSON text */
	int		 notify, highlight;
	const char	**users;
	size_t		 usersz;
};

static void
outcomes_free(struct outcome *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].actions);
		free(v[i].users);
	}
	free(v);
}

/* Adds user to the outcome of actions, found or new.  0 or -1. */
static int
outcome_add(struct outcome **v, size_t *n, const json_t *actions, const char *user)
{
	struct outcome	*o = NULL, *nv;
	const char	**nu;
	char		*js;

	if ((js = json_dumps(actions, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		return -1;
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i].actions, js) == 0) {
			o = &(*v)[i];
			free(js);
			break;
		}
	if (o == NULL) {
		if ((nv = reallocarray(*v, *n + 1, sizeof(**v))) == NULL) {
			free(js);
			return -1;
		}
		*v = nv;
		o = &nv[(*n)++];
		memset(o, 0, sizeof(*o));
		o->actions = js;
		o->notify = mpush_actions_notify(actions);
		o->highlight = mpush_actions_highlight(actions);
	}
	if ((nu = reallocarray(o->users, o->usersz + 1, sizeof(*nu))) == NULL)
		return -1;
	o->users = nu;
	o->users[o->usersz++] = user;
	return 0;
}

/*
 * The server-default rules, parsed once per process and shared, read
 * only, by every thread: parsing them for each event was a quarter of
 * the push rules' time.  NULL when they could not be parsed (out of
 * memory at the first call), and the caller parses its own.
 */
static json_t		*defaults_shared;
static pthread_once_t	 defaults_once = PTHREAD_ONCE_INIT;

static void
defaults_init(void)
{
	defaults_shared = mpush_defaults(NULL);
}

char *
mpush_destination(const char *user_id, const char *app_id, const char *pushkey)
{
	json_t	*a = json_pack("[sss]", user_id, app_id, pushkey);
	char	*s = a != NULL ? json_dumps(a, JSON_COMPACT) : NULL;

	json_decref(a);
	return s;
}

/*
 * Queues, for the gateway of every http pusher of users[0..n), the
 * notification of event_id with actions (JSON text), or a badge update
 * when event_id is NULL (actions then {"badge": N}, the number as the
 * caller's transaction leaves it), in the caller's transaction.  0 or -1.
 */
static int
push_queue(struct mdb *db, const char *event_id, const char *actions,
    const char *const *users, size_t n)
{
	struct mpusherkey	*keys = NULL;
	json_t			*list;
	size_t			 keysz = 0;
	int			 rc = -1;

	if ((list = json_array()) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(list, json_string(users[i])) == -1)
			goto out;
	if (mstore_pushers_http(db, list, &keys, &keysz) == -1)
		goto out;
	for (size_t i = 0; i < keysz; i++) {
		char *dest = mpush_destination(keys[i].user_id, keys[i].app_id,
		    keys[i].pushkey);

		if (dest == NULL || mstore_outbox_put(db, MPUSH_OUTBOX, dest, event_id,
		    actions, mclock_now_ms()) == -1) {
			free(dest);
			goto out;
		}
		free(dest);
	}
	rc = 0;
out:
	mpusherkey_list_free(keys, keysz);
	json_decref(list);
	return rc;
}

char *
mpush_thread_of(struct mdb *db, const json_t *content)
{
	const json_t	*rel = json_object_get(content, "m.relates_to");
	const char	*to = json_string_value(json_object_get(rel, "event_id"));
	char		*cur, *parent, *type;
	int		 rc;

	if (!json_is_object(rel) || to == NULL)
		return strdup("main");
	if (strcmp(push_str(rel, "rel_type"), "m.thread") == 0)
		return strdup(to);
	/*
	 * Spec: follow relations to a thread root, at most 3 hops; events
	 * related to a root by other relations stay in the main timeline.
	 */
	if ((cur = strdup(to)) == NULL)
		return NULL;
	for (int hop = 1; hop < 3; hop++) {
		if ((rc = mstore_push_relation(db, cur, &parent, &type)) != 1) {
			free(cur);
			return rc == 0 ? strdup("main") : NULL;
		}
		free(cur);
		cur = parent;
		if (strcmp(type, "m.thread") == 0) {
			free(type);
			return cur;
		}
		free(type);
	}
	free(cur);
	return strdup("main");
}

int
mpush_event_process(struct mdb *db, const json_t *ev, const char *event_id,
    const char *room_id, int64_t stream, const struct mpush_event *in)
{
	const char		*type = push_str(ev, "type"), *sender = push_str(ev, "sender");
	const json_t		*content = json_object_get(ev, "content");
	const char		*sk = json_string_value(json_object_get(ev, "state_key"));
	const char		*membership = NULL, *invitee = NULL;
	struct mpushmember	*mem = NULL;
	struct outcome		*out = NULL;
	struct mpush_event	 pe = *in;
	const json_t		*defaults;
	json_t			*rules = NULL, *own = NULL, *rows = NULL;
	char			*thread = NULL;
	size_t			 memsz = 0, outsz = 0;
	int64_t			 now = mclock_now_ms();
	int			 rc = -1;

	if (strcmp(type, "m.room.member") == 0 && sk != NULL)
		membership = push_str(content, "membership");
	if (membership != NULL && strcmp(membership, "invite") == 0)
		invitee = sk;
	/* Spec: "Marking notifications as read": sending an event reads up to it. */
	if (mstore_push_read(db, sender, room_id, stream, NULL) == -1)
		return -1;
	/* A member who leaves, is kicked or banned keeps no count to clear. */
	if (membership != NULL && strcmp(membership, "join") != 0 &&
	    strcmp(membership, "invite") != 0 && strcmp(sk, sender) != 0 &&
	    mstore_push_read(db, sk, room_id, stream, NULL) == -1)
		return -1;
	/*
	 * One query each for the members (with their display names, read
	 * by the database from their membership events), their number and
	 * their rules; then the evaluation is C alone, and every
	 * notification is written by one statement.
	 */
	if (mstore_push_members(db, room_id, invitee, sender, &mem, &memsz) == -1)
		goto out;
	if (memsz == 0) {
		rc = 0;
		goto out;
	}
	pthread_once(&defaults_once, defaults_init);
	if ((defaults = defaults_shared) == NULL && (defaults = own = mpush_defaults(NULL)) == NULL)
		goto out;
	if ((pe.member_count = mstore_push_member_count(db, room_id)) == -1 ||
	    (rules = mstore_push_rules_room(db, room_id, invitee, sender)) == NULL)
		goto out;
	pe.event = ev;
	for (size_t i = 0; i < memsz; i++) {
		const json_t		*set = json_object_get(rules, mem[i].user_id), *acts;
		struct mpush_user	 u = { mem[i].user_id, mem[i].display_name };

		acts = mpush_eval(defaults, set, &u, &pe, NULL);
		if ((mpush_actions_notify(acts) || mpush_actions_highlight(acts)) &&
		    outcome_add(&out, &outsz, acts, mem[i].user_id) == -1)
			goto out;
	}
	if (outsz == 0) {
		rc = 0;
		goto out;
	}
	if ((thread = mpush_thread_of(db, content)) == NULL || (rows = json_array()) == NULL)
		goto out;
	for (size_t i = 0; i < outsz; i++)
		for (size_t k = 0; k < out[i].usersz; k++)
			if (json_array_append_new(rows, json_pack("[siis]", out[i].users[k],
			    out[i].notify, out[i].highlight, out[i].actions)) == -1)
				goto out;
	if (mstore_push_actions_add(db, room_id, event_id, stream, thread, now, rows) == -1)
		goto out;
	for (size_t i = 0; i < outsz; i++)
		if (out[i].notify && push_queue(db, event_id, out[i].actions, out[i].users,
		    out[i].usersz) == -1)
			goto out;
	rc = 0;
out:
	free(thread);
	outcomes_free(out, outsz);
	json_decref(rows);
	json_decref(own);
	json_decref(rules);
	mpushmember_list_free(mem, memsz);
	return rc;
}

int
mpush_receipt_put(struct mdb *db, const char *room_id, const char *user_id, const char *type,
    const char *thread_id, const char *event_id, int64_t ts)
{
	struct mevrow	 row;
	int64_t		 stream, n;
	int		 rc;

	if ((rc = mstore_event_get(db, event_id, &row)) != 1)
		return rc;
	stream = row.stream;
	rc = strcmp(row.room_id, room_id) == 0 && row.rejected == NULL;
	mevrow_fini(&row);
	if (!rc)
		return 0;
	if (mstore_receipt_put(db, room_id, user_id, type, thread_id != NULL ? thread_id : "",
	    event_id, stream, ts) == -1)
		return -1;
	/*
	 * Spec: "Marking notifications as read": up to and including the
	 * event, in its thread when the receipt is threaded.  Of m.read and
	 * m.read.private the one further ahead counts: a read notification
	 * never becomes unread again.
	 */
	if ((n = mstore_push_read(db, user_id, room_id, stream, thread_id)) == -1)
		return -1;
	/*
	 * The unread count moved: the user's gateways get the new badge, as
	 * Synapse sends one on a receipt.
	 */
	if (n > 0) {
		int64_t	 badge = mpush_badge(db, user_id);
		char	 js[64];

		snprintf(js, sizeof(js), "{\"badge\":%lld}", (long long)badge);
		if (badge == -1 || push_queue(db, NULL, js, &user_id, 1) == -1)
			return -1;
	}
	return 1;
}
