/* Push rules at work: each new event against the rules of the local members it concerns. */
#include <pthread.h>
#include <stdatomic.h>
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

/*
 * What the evaluation of a room's events reads besides the event: its
 * joined local members with their display names, their number with the
 * remote ones, and the members' rules.  Kept per process between
 * events (PUSH_ROOMS rooms, direct-mapped by room ID), under the
 * versions it was read at (mstore_push_seqs): a message in a room
 * whose state and rules did not move costs one query instead of three,
 * and no member's membership event is read again.  Shared read-only by
 * the threads that hold a reference.
 */
#define PUSH_ROOMS	64

struct pushroom {
	atomic_int		 refs;
	char			*room_id;
	int64_t			 state_seq, rules_seq;
	struct mpushmember	*mem;		/* every joined local member */
	size_t			 memsz;
	int64_t			 member_count;
	json_t			*rules;		/* {user_id: userset} */
};

static struct pushroom	*rooms[PUSH_ROOMS];
static pthread_mutex_t	 rooms_mtx = PTHREAD_MUTEX_INITIALIZER;

static void
pushroom_unref(struct pushroom *r)
{
	if (r == NULL || atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	free(r->room_id);
	mpushmember_list_free(r->mem, r->memsz);
	json_decref(r->rules);
	free(r);
}

static size_t
pushroom_slot(const char *room_id)
{
	uint32_t h = 2166136261u;

	for (; *room_id != '\0'; room_id++)
		h = (h ^ (unsigned char)*room_id) * 16777619u;
	return h % PUSH_ROOMS;
}

/*
 * Reads what evaluation needs of room_id in the caller's transaction:
 * the local members joined, or invited when invitee names them, other
 * than sender ("" for none), their number and their rules.  NULL on
 * failure.
 */
static struct pushroom *
pushroom_read(struct mdb *db, const char *room_id, const char *invitee, const char *sender)
{
	struct pushroom	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	atomic_init(&r->refs, 1);
	if ((r->room_id = strdup(room_id)) == NULL ||
	    mstore_push_members(db, room_id, invitee, sender, &r->mem, &r->memsz) == -1 ||
	    (r->memsz > 0 && ((r->member_count = mstore_push_member_count(db, room_id)) == -1 ||
	    (r->rules = mstore_push_rules_room(db, room_id, invitee, sender)) == NULL))) {
		pushroom_unref(r);
		return NULL;
	}
	return r;
}

/*
 * The pushroom of room_id for an event that is not an invite: the
 * process's own when its versions are the ones the caller's transaction
 * reads, else read again (and kept).  A new reference, or NULL.
 */
static struct pushroom *
pushroom_get(struct mdb *db, const char *room_id)
{
	struct pushroom	*r = NULL, *old;
	size_t		 slot = pushroom_slot(room_id);
	int64_t		 sseq = 0, rseq = 0;
	int		 found;

	if ((found = mstore_push_seqs(db, room_id, &sseq, &rseq)) == -1)
		return NULL;
	if (found == 0 || found == 2)
		return pushroom_read(db, room_id, NULL, "");
	pthread_mutex_lock(&rooms_mtx);
	if ((old = rooms[slot]) != NULL && old->state_seq == sseq && old->rules_seq == rseq &&
	    strcmp(old->room_id, room_id) == 0) {
		atomic_fetch_add(&old->refs, 1);
		r = old;
	}
	pthread_mutex_unlock(&rooms_mtx);
	if (r != NULL)
		return r;
	if ((r = pushroom_read(db, room_id, NULL, "")) == NULL)
		return NULL;
	r->state_seq = sseq;
	r->rules_seq = rseq;
	atomic_fetch_add(&r->refs, 1);
	pthread_mutex_lock(&rooms_mtx);
	old = rooms[slot];
	rooms[slot] = r;
	pthread_mutex_unlock(&rooms_mtx);
	pushroom_unref(old);
	return r;
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
	struct pushroom		*room = NULL;
	struct outcome		*out = NULL;
	struct mpush_event	 pe = *in;
	const json_t		*defaults;
	json_t			*own = NULL, *rows = NULL;
	char			*thread = NULL;
	size_t			 outsz = 0;
	int64_t			 now = mclock_now_ms();
	int			 rc = -1;

	if (strcmp(type, "m.room.member") == 0 && sk != NULL)
		membership = push_str(content, "membership");
	if (membership != NULL && strcmp(membership, "invite") == 0)
		invitee = sk;
	/* Spec: "Marking notifications as read": sending an event reads up to it. */
	if (mstore_push_read_upto(db, sender, room_id, stream) == -1)
		return -1;
	/* A member who leaves, is kicked or banned keeps no count to clear. */
	if (membership != NULL && strcmp(membership, "join") != 0 &&
	    strcmp(membership, "invite") != 0 && strcmp(sk, sender) != 0 &&
	    mstore_push_read_upto(db, sk, room_id, stream) == -1)
		return -1;
	/*
	 * The members (with their display names, read by the database from
	 * their membership events), their number and their rules: kept
	 * between events while the room's state and the rules stay (one
	 * query), read for an invite, whose invitee is no member yet.  The
	 * evaluation is then C alone, and every notification is written by
	 * one statement.
	 */
	room = invitee != NULL ? pushroom_read(db, room_id, invitee, sender) :
	    pushroom_get(db, room_id);
	if (room == NULL)
		goto out;
	pthread_once(&defaults_once, defaults_init);
	if ((defaults = defaults_shared) == NULL && (defaults = own = mpush_defaults(NULL)) == NULL)
		goto out;
	pe.event = ev;
	pe.member_count = room->member_count;
	for (size_t i = 0; i < room->memsz; i++) {
		const struct mpushmember *m = &room->mem[i];
		const json_t		*set = json_object_get(room->rules, m->user_id), *acts;
		struct mpush_user	 u = { m->user_id, m->display_name };

		if (strcmp(m->user_id, sender) == 0)
			continue;
		acts = mpush_eval(defaults, set, &u, &pe, NULL);
		if ((mpush_actions_notify(acts) || mpush_actions_highlight(acts)) &&
		    outcome_add(&out, &outsz, acts, m->user_id) == -1)
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
	pushroom_unref(room);
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
