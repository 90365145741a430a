/* Receipts, push rules, notifications and pushers in the store. */
#include <stdlib.h>

#include "store/extern.h"

/* A JSON text column parsed (new reference), or NULL when NULL or not JSON. */
static json_t *
jsoncol(struct mcur *c, int col)
{
	const char *s = mcur_text(c, col);

	return s == NULL ? NULL : json_loads(s, 0, NULL);
}

int64_t
mstore_receipt_pos(struct mdb *db)
{
	int64_t pos = 0;

	if (mcur_first_int(mdb_query(db, MSTMT_RECEIPT_POS, ""), &pos) != 1)
		return -1;
	return pos;
}

int
mstore_receipt_put(struct mdb *db, const char *room_id, const char *user_id, const char *type,
    const char *thread_id, const char *event_id, int64_t event_stream, int64_t ts)
{
	int64_t	 cur = 0, pos = 0;
	int	 rc;

	if ((rc = mcur_first_int(mdb_query(db, MSTMT_RECEIPT_GET, "ssss", room_id, user_id, type,
	    thread_id), &cur)) == -1)
		return -1;
	if (rc == 1 && cur >= event_stream)
		return 0;
	if (mcur_first_int(mdb_query(db, MSTMT_RECEIPT_POS_NEXT, ""), &pos) != 1 ||
	    mdb_exec(db, MSTMT_RECEIPT_PUT, "sssssiii", room_id, user_id, type, thread_id,
	    event_id, event_stream, ts, pos) == -1)
		return -1;
	mstore_topic(db, room_id);
	mstore_moved(db, MSTREAM_RECEIPTS);
	return 1;
}

static void
receipt_fini(void *elem)
{
	struct mreceipt *r = elem;

	free(r->room_id);
	free(r->user_id);
	free(r->type);
	free(r->thread_id);
	free(r->event_id);
}

void
mreceipt_list_free(struct mreceipt *v, size_t n)
{
	mstore_list_free(v, n, sizeof(*v), receipt_fini);
}

static int
receipt_row(struct mcur *c, void *elem)
{
	struct mreceipt *r = elem;

	r->room_id = mcur_dup(c, 0);
	r->user_id = mcur_dup(c, 1);
	r->type = mcur_dup(c, 2);
	r->thread_id = mcur_dup(c, 3);
	r->event_id = mcur_dup(c, 4);
	r->ts = mcur_int(c, 5);
	return r->room_id == NULL || r->user_id == NULL || r->type == NULL ||
	    r->thread_id == NULL || r->event_id == NULL ? -1 : 0;
}

int
mstore_receipts_sync(struct mdb *db, const char *user_id, int64_t from, int64_t to,
    struct mreceipt **out, size_t *outsz)
{
	void	*v = NULL;
	int	 rc;

	*outsz = 0;
	rc = mcur_collect(mdb_query(db, MSTMT_RECEIPT_SYNC, "sii", user_id, from, to),
	    sizeof(**out), receipt_row, receipt_fini, &v, outsz);
	*out = v;
	return rc;
}

int
mstore_receipts_room(struct mdb *db, const char *room_id, int64_t from, int64_t to,
    struct mreceipt **out, size_t *outsz)
{
	void	*v = NULL;
	int	 rc;

	*outsz = 0;
	rc = mcur_collect(mdb_query(db, MSTMT_RECEIPT_ROOM, "sii", room_id, from, to),
	    sizeof(**out), receipt_row, receipt_fini, &v, outsz);
	*out = v;
	return rc;
}

static void
pushmember_fini(void *elem)
{
	struct mpushmember *m = elem;

	free(m->user_id);
	free(m->display_name);
}

void
mpushmember_list_free(struct mpushmember *v, size_t n)
{
	mstore_list_free(v, n, sizeof(*v), pushmember_fini);
}

static int
pushmember_row(struct mcur *c, void *elem)
{
	struct mpushmember *m = elem;

	m->user_id = mcur_dup(c, 0);
	m->display_name = mcur_null(c, 1) ? NULL : mcur_dup(c, 1);
	return m->user_id == NULL || (m->display_name == NULL && !mcur_null(c, 1)) ? -1 : 0;
}

int
mstore_push_members(struct mdb *db, const char *room_id, const char *invitee,
    const char *sender, struct mpushmember **out, size_t *outsz)
{
	void	*v = NULL;
	int	 rc;

	*outsz = 0;
	rc = mcur_collect(mdb_query(db, MSTMT_PUSH_MEMBERS, "sss", room_id, invitee, sender),
	    sizeof(**out), pushmember_row, pushmember_fini, &v, outsz);
	*out = v;
	return rc;
}

int64_t
mstore_push_member_count(struct mdb *db, const char *room_id)
{
	int64_t n = 0;

	if (mcur_first_int(mdb_query(db, MSTMT_PUSH_MEMBER_COUNT, "s", room_id), &n) != 1)
		return -1;
	return n;
}

/*
 * Adds one push_rules row (columns from col: kind, rule_id, conditions,
 * pattern, actions, enabled) to a userset.  0 or -1.
 */
static int
userset_add(json_t *set, struct mcur *c, int col)
{
	const char	*kind = mcur_text(c, col), *id = mcur_text(c, col + 1);
	json_t		*r, *l;

	if (kind == NULL || id == NULL)
		return -1;
	if (id[0] == '.') {
		/* The user's changes to a server-default rule. */
		json_t *d = json_object_get(set, "defaults"), *t = json_object();

		if (t == NULL)
			return -1;
		if (!mcur_null(c, col + 5))
			json_object_set_new(t, "enabled", json_boolean(mcur_int(c, col + 5) != 0));
		if (!mcur_null(c, col + 4))
			json_object_set_new(t, "actions", jsoncol(c, col + 4));
		return json_object_set_new(d, id, t);
	}
	if ((l = json_object_get(set, kind)) == NULL) {
		if ((l = json_array()) == NULL || json_object_set_new(set, kind, l) == -1)
			return -1;
	}
	r = json_pack("{s:s,s:b}", "rule_id", id, "enabled",
	    mcur_null(c, col + 5) || mcur_int(c, col + 5) != 0);
	if (r == NULL)
		return -1;
	json_object_set_new(r, "actions", mcur_null(c, col + 4) ? json_array() :
	    jsoncol(c, col + 4));
	if (!mcur_null(c, col + 2))
		json_object_set_new(r, "conditions", jsoncol(c, col + 2));
	if (!mcur_null(c, col + 3))
		json_object_set_new(r, "pattern", json_string(mcur_text(c, col + 3)));
	return json_array_append_new(l, r);
}

/* A userset with nothing in it yet. */
static json_t *
userset_new(void)
{
	return json_pack("{s:{}}", "defaults");
}

/* Adds a row (user, then push_rules columns) to {user_id: userset}.  0 or -1. */
static int
rules_room_row(struct mcur *c, json_t *out, void *arg)
{
	const char	*user = mcur_text(c, 0);
	json_t		*set;

	(void)arg;
	if ((set = json_object_get(out, user)) == NULL &&
	    ((set = userset_new()) == NULL || json_object_set_new(out, user, set) == -1))
		return -1;
	return userset_add(set, c, 1);
}

json_t *
mstore_push_rules_room(struct mdb *db, const char *room_id, const char *invitee,
    const char *sender)
{
	return mcur_json_fold(mdb_query(db, MSTMT_PUSH_RULES_ROOM, "sss", room_id, invitee,
	    sender), json_object(), rules_room_row, NULL);
}

static int
rules_user_row(struct mcur *c, json_t *set, void *arg)
{
	(void)arg;
	return userset_add(set, c, 1);
}

json_t *
mstore_push_rules_user(struct mdb *db, const char *user_id)
{
	return mcur_json_fold(mdb_query(db, MSTMT_PUSH_RULES_USER, "s", user_id), userset_new(),
	    rules_user_row, NULL);
}

int
mstore_push_relation(struct mdb *db, const char *event_id, char **relates_to,
    char **rel_type)
{
	struct mcur	*c;
	int		 rc;

	*relates_to = *rel_type = NULL;
	if ((c = mdb_query(db, MSTMT_PUSH_RELATION, "s", event_id)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1) {
		*relates_to = mcur_dup(c, 0);
		*rel_type = mcur_dup(c, 1);
		if (*relates_to == NULL || *rel_type == NULL) {
			free(*relates_to);
			free(*rel_type);
			*relates_to = *rel_type = NULL;
			rc = -1;
		}
	}
	mcur_free(c);
	return rc;
}

int
mstore_push_actions_add(struct mdb *db, const char *room_id, const char *event_id,
    int64_t stream, const char *thread_id, int64_t ts, const json_t *rows)
{
	char	*js;
	int64_t	 n;

	if ((js = json_dumps(rows, JSON_COMPACT)) == NULL)
		return -1;
	n = mdb_exec_ahead(db, MSTMT_PUSH_ACTIONS_ADD, "ssisis", room_id, event_id, stream,
	    thread_id, ts, js);
	free(js);
	return n < 0 ? -1 : 0;
}

int
mstore_push_read_upto(struct mdb *db, const char *user_id, const char *room_id,
    int64_t stream)
{
	return mdb_exec_ahead(db, MSTMT_PUSH_READ, "ssis", user_id, room_id, stream,
	    (const char *)NULL);
}

int64_t
mstore_push_read(struct mdb *db, const char *user_id, const char *room_id, int64_t stream,
    const char *thread_id)
{
	return mdb_exec(db, MSTMT_PUSH_READ, "ssis", user_id, room_id, stream, thread_id);
}

static void
pushcount_fini(void *elem)
{
	struct mpushcount *p = elem;

	free(p->room_id);
	free(p->thread_id);
}

void
mpushcount_list_free(struct mpushcount *v, size_t n)
{
	mstore_list_free(v, n, sizeof(*v), pushcount_fini);
}

static int
pushcount_row(struct mcur *c, void *elem)
{
	struct mpushcount *p = elem;

	p->room_id = mcur_dup(c, 0);
	p->thread_id = mcur_dup(c, 1);
	p->notify = mcur_int(c, 2);
	p->highlight = mcur_int(c, 3);
	return p->room_id == NULL || p->thread_id == NULL ? -1 : 0;
}

int
mstore_push_counts(struct mdb *db, const char *user_id, struct mpushcount **out,
    size_t *outsz)
{
	void	*v = NULL;
	int	 rc;

	*outsz = 0;
	rc = mcur_collect(mdb_query(db, MSTMT_PUSH_COUNTS, "s", user_id), sizeof(**out),
	    pushcount_row, pushcount_fini, &v, outsz);
	*out = v;
	return rc;
}

static void
notif_fini(void *elem)
{
	struct mnotif *n = elem;

	mevrow_fini(&n->ev);
	json_decref(n->actions);
}

void
mnotif_list_free(struct mnotif *v, size_t n)
{
	mstore_list_free(v, n, sizeof(*v), notif_fini);
}

/* Fills a struct mnotif from MEVENT_COLS and the columns after them.  0 or -1. */
static int
notif_row(struct mcur *c, void *elem)
{
	struct mnotif *n = elem;

	n->actions = jsoncol(c, MEVENT_NCOLS);
	n->read = mcur_int(c, MEVENT_NCOLS + 1) != 0;
	n->ts = mcur_int(c, MEVENT_NCOLS + 2);
	n->stream = mcur_int(c, MEVENT_NCOLS + 3);
	return mstore_evrow_read(c, &n->ev) == -1 || n->actions == NULL ? -1 : 0;
}

int
mstore_push_notifs(struct mdb *db, const char *user_id, int64_t before, int highlight_only,
    int64_t limit, struct mnotif **out, size_t *outsz)
{
	void	*v = NULL;
	int	 rc;

	*outsz = 0;
	rc = mcur_collect(mdb_query(db, MSTMT_PUSH_NOTIFS, "siii", user_id, before,
	    (int64_t)highlight_only, limit), sizeof(**out), notif_row, notif_fini, &v, outsz);
	*out = v;
	return rc;
}

/*
 * Every change of a rule moves push_rules_seq, after the change: a
 * process that read the rules before it reads them again (see
 * mstore_push_seqs).  0 or -1.
 */
static int
rules_bump(struct mdb *db)
{
	db->seq_moved = 1;
	return mdb_exec(db, MSTMT_PUSH_RULES_BUMP, "") < 0 ? -1 : 0;
}

int
mstore_push_seqs(struct mdb *db, const char *room_id, int64_t *state_seq, int64_t *rules_seq)
{
	struct mcur	*c;
	int		 rc;

	/* As this transaction read them when it locked the room. */
	if (mstore_memo_seqs(db, room_id, state_seq, rules_seq))
		return 1;
	if ((c = mdb_query(db, MSTMT_PUSH_SEQS, "s", room_id)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1) {
		*state_seq = mcur_int(c, 0);
		*rules_seq = mcur_int(c, 1);
	}
	mcur_free(c);
	/* Versions this transaction moved may yet roll back: not for keeping. */
	return rc == 1 && db->intx && db->seq_moved ? 2 : rc;
}

int
mstore_push_rule_put(struct mdb *db, const char *user_id, const char *kind,
    const char *rule_id, const json_t *conditions, const char *pattern,
    const json_t *actions, const char *before, const char *after, int64_t max_rules)
{
	const char	*anchor = before != NULL ? before : after;
	char		*cjs = NULL, *ajs = NULL;
	int64_t		 prio = 0, ap = 0, count = 0;
	int		 exists, rc = -1;

	if ((ajs = json_dumps(actions, JSON_COMPACT)) == NULL ||
	    (conditions != NULL && (cjs = json_dumps(conditions, JSON_COMPACT)) == NULL))
		goto out;
	if (mdb_begin(db) == -1)
		goto out;
	if (mdb_exec(db, MSTMT_PUSH_RULE_LOCK, "s", user_id) == -1 ||
	    (exists = mcur_first_int(mdb_query(db, MSTMT_PUSH_RULE_PRIORITY, "sss", user_id, kind,
	    rule_id), &prio)) == -1)
		goto fail;
	if (!exists) {
		if (mcur_first_int(mdb_query(db, MSTMT_PUSH_RULE_COUNT, "s", user_id), &count) != 1)
			goto fail;
		if (count >= max_rules) {
			rc = MSTORE_TOO_MANY;
			goto fail;
		}
	}
	if (anchor != NULL) {
		int found;

		/* Spec: a rule cannot be placed relative to a server-default rule. */
		if (anchor[0] == '.' || (found = mcur_first_int(mdb_query(db,
		    MSTMT_PUSH_RULE_PRIORITY, "sss", user_id, kind, anchor), &ap)) == 0) {
			rc = MSTORE_NO_ANCHOR;
			goto fail;
		}
		if (found == -1)
			goto fail;
		/* Higher is more important: make room above the anchor, or at it. */
		prio = before != NULL ? ap + 1 : ap;
		if (mdb_exec(db, MSTMT_PUSH_RULE_SHIFT, "ssi", user_id, kind, prio) == -1)
			goto fail;
	} else if (!exists) {
		if (mcur_first_int(mdb_query(db, MSTMT_PUSH_RULE_TOP, "ss", user_id, kind),
		    &prio) != 1)
			goto fail;
		prio++;
	}
	if (mdb_exec(db, MSTMT_PUSH_RULE_PUT, "sssisss", user_id, kind, rule_id, prio, cjs,
	    pattern, ajs) == -1 || rules_bump(db) == -1)
		goto fail;
	if (mdb_commit(db) == -1)
		goto out;
	rc = 0;
	goto out;
fail:
	mdb_rollback(db);
out:
	free(cjs);
	free(ajs);
	return rc;
}

int
mstore_push_rule_del(struct mdb *db, const char *user_id, const char *kind,
    const char *rule_id)
{
	int64_t n = mdb_exec(db, MSTMT_PUSH_RULE_DEL, "sss", user_id, kind, rule_id);

	return n < 0 || (n > 0 && rules_bump(db) == -1) ? -1 : n > 0;
}

int
mstore_push_rule_enable(struct mdb *db, const char *user_id, const char *kind,
    const char *rule_id, int enabled)
{
	return mdb_exec(db, MSTMT_PUSH_RULE_ENABLE, "sssi", user_id, kind, rule_id,
	    (int64_t)(enabled != 0)) == -1 || rules_bump(db) == -1 ? -1 : 0;
}

int
mstore_push_rule_actions(struct mdb *db, const char *user_id, const char *kind,
    const char *rule_id, const json_t *actions)
{
	char	*js = json_dumps(actions, JSON_COMPACT);
	int	 rc;

	if (js == NULL)
		return -1;
	rc = mdb_exec(db, MSTMT_PUSH_RULE_ACTIONS, "ssss", user_id, kind, rule_id, js) == -1 ||
	    rules_bump(db) == -1 ? -1 : 0;
	free(js);
	return rc;
}

/* Adds a pushers row to the list.  0 or -1. */
static int
pusher_row(struct mcur *c, json_t *out, void *arg)
{
	json_t *p = json_pack("{s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,s:o?}",
	    "app_id", mcur_text(c, 0), "pushkey", mcur_text(c, 1), "kind", mcur_text(c, 2),
	    "app_display_name", mcur_text(c, 3), "device_display_name", mcur_text(c, 4),
	    "lang", mcur_text(c, 6), "data", jsoncol(c, 7));

	(void)arg;
	if (p == NULL)
		return -1;
	if (!mcur_null(c, 5))
		json_object_set_new(p, "profile_tag", json_string(mcur_text(c, 5)));
	json_array_append_new(out, p);
	return 0;
}

json_t *
mstore_pushers(struct mdb *db, const char *user_id)
{
	return mcur_json_fold(mdb_query(db, MSTMT_PUSHER_LIST, "s", user_id), json_array(),
	    pusher_row, NULL);
}

static const char *
str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

int
mstore_pusher_put(struct mdb *db, const char *user_id, const char *device_id,
    const json_t *p, int append, int64_t now)
{
	char	*data = json_dumps(json_object_get(p, "data"), JSON_COMPACT);
	int	 rc = -1;

	if (data == NULL)
		return -1;
	if (mdb_begin(db) == -1)
		goto out;
	/* Spec: without append, the pushkey leaves every other user. */
	if (mdb_exec(db, MSTMT_PUSHER_PUT, "ssssssssssi", user_id, str(p, "app_id"),
	    str(p, "pushkey"), str(p, "kind"), str(p, "app_display_name"),
	    str(p, "device_display_name"), str(p, "profile_tag"), str(p, "lang"), data,
	    device_id, now) == -1 ||
	    (!append && mdb_exec(db, MSTMT_PUSHER_DEL_OTHERS, "sss", str(p, "app_id"),
	    str(p, "pushkey"), user_id) == -1)) {
		mdb_rollback(db);
		goto out;
	}
	rc = mdb_commit(db) == -1 ? -1 : 0;
out:
	free(data);
	return rc;
}

int
mstore_pusher_del(struct mdb *db, const char *user_id, const char *app_id,
    const char *pushkey)
{
	int64_t n = mdb_exec(db, MSTMT_PUSHER_DEL, "sss", user_id, app_id, pushkey);

	return n < 0 ? -1 : n > 0;
}

static int
pusherkey_row(struct mcur *c, void *elem)
{
	struct mpusherkey *k = elem;

	if ((k->user_id = mcur_dup(c, 0)) == NULL || (k->app_id = mcur_dup(c, 1)) == NULL ||
	    (k->pushkey = mcur_dup(c, 2)) == NULL)
		return -1;
	return 0;
}

static void
pusherkey_fini(void *elem)
{
	struct mpusherkey *k = elem;

	free(k->user_id);
	free(k->app_id);
	free(k->pushkey);
}

int
mstore_pushers_http(struct mdb *db, const json_t *users, struct mpusherkey **out,
    size_t *outsz)
{
	char	*js = json_dumps(users, JSON_COMPACT);
	void	*v = NULL;
	int	 rc;

	*out = NULL;
	*outsz = 0;
	if (js == NULL)
		return -1;
	rc = mcur_collect(mdb_query(db, MSTMT_PUSHER_HTTP_OF, "s", js), sizeof(**out),
	    pusherkey_row, pusherkey_fini, &v, outsz);
	free(js);
	*out = v;
	return rc;
}

void
mpusherkey_list_free(struct mpusherkey *v, size_t n)
{
	mstore_list_free(v, n, sizeof(*v), pusherkey_fini);
}

int
mstore_pusher_get(struct mdb *db, const char *user_id, const char *app_id,
    const char *pushkey, char **kind, json_t **data, int64_t *created_ts,
    int64_t *last_badge)
{
	struct mcur	*c;
	int		 rc;

	*kind = NULL;
	*data = NULL;
	if ((c = mdb_query(db, MSTMT_PUSHER_GET, "sss", user_id, app_id, pushkey)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1) {
		*created_ts = mcur_int(c, 2);
		*last_badge = mcur_null(c, 3) ? -1 : mcur_int(c, 3);
		if ((*kind = mcur_dup(c, 0)) == NULL ||
		    (*data = json_loads(mcur_text(c, 1), 0, NULL)) == NULL) {
			free(*kind);
			*kind = NULL;
			rc = -1;
		}
	}
	mcur_free(c);
	return rc;
}

int
mstore_pusher_badge(struct mdb *db, const char *user_id, const char *app_id,
    const char *pushkey, int64_t badge)
{
	return mdb_exec(db, MSTMT_PUSHER_BADGE, "sssi", user_id, app_id, pushkey, badge) == -1 ?
	    -1 : 0;
}
