/* History visibility: which events of a room a user may read, in batches. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"
#include "config/config.h"
#include "events/events.h"
#include "json/json.h"
#include "room/room.h"
#include "store/store.h"

static const char *const hv_names[MROOM_HV__MAX] = {
	"world_readable", "shared", "invited", "joined",
};

static const char *const ms_names[MROOM_MS__MAX] = {
	"join", "invite", "knock", "leave", "ban",
};

/* Spec: "m.room.history_visibility": shared is the default, as Synapse reads unknown values. */
enum mroom_hv
mroom_hv_parse(const char *s)
{
	for (int i = 0; s != NULL && i < MROOM_HV__MAX; i++)
		if (strcmp(s, hv_names[i]) == 0)
			return (enum mroom_hv)i;
	return MROOM_HV_SHARED;
}

enum mroom_ms
mroom_ms_parse(const char *s)
{
	for (int i = 0; s != NULL && i < MROOM_MS__MAX; i++)
		if (strcmp(s, ms_names[i]) == 0)
			return (enum mroom_ms)i;
	return MROOM_MS_LEAVE;
}

/*
 * Spec: C-S API, "History visibility", server behaviour, for each event:
 * world_readable: allow; the user joined at the event: allow; shared:
 * allow when the user joined since (here: not peeking); invited: allow
 * when the user was invited at the event; otherwise deny.  "For
 * m.room.history_visibility events themselves, the user should be
 * allowed to see the event if the history_visibility before or after
 * the event would allow them to see it", and likewise for the user's own
 * m.room.member events.
 */
int
mroom_vis_rule(enum mroom_hv hv, enum mroom_hv hv_after, enum mroom_ms ms,
    enum mroom_ms ms_after, int peeking)
{
	enum mroom_hv	v = hv_after < hv ? hv_after : hv;
	enum mroom_ms	m = ms_after < ms ? ms_after : ms;

	/*
	 * A change of the user's own membership is theirs to see: an invite
	 * (notified, and shown in /sync's invite section), a knock, a kick, a
	 * ban.  Synapse shows leaves from join or invite so; myelin shows
	 * every change, where Synapse's rule would hide an invite to a room
	 * with joined visibility once the user has joined.
	 */
	if (ms_after != ms)
		return 1;
	if (v == MROOM_HV_WORLD_READABLE || m == MROOM_MS_JOIN)
		return 1;
	switch (v) {
	case MROOM_HV_SHARED:
		return !peeking;
	case MROOM_HV_INVITED:
		return m == MROOM_MS_INVITE;
	default:
		return 0;
	}
}

/* A group's facts from the sorted list of mstore_vis_groups, or NULL (empty state). */
static const struct mvisgroup *
group_find(const struct mvisgroup *v, size_t n, int64_t group)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].group == group)
			return &v[mid];
		if (v[mid].group < group)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Whether a current membership of s can make its user a former member (left, not forgotten). */
static int
may_have_departed(const struct mvisstand *s)
{
	return !s->forgotten && (strcmp(s->membership, "leave") == 0 ||
	    strcmp(s->membership, "ban") == 0);
}

/*
 * A former member is one whose leave (or ban) ended a join: the
 * membership in the state before the leave is join.  A rejected invite
 * or a withdrawn knock makes no former member.
 */
static int
departed(const struct mvisstand *s, const struct mvisgroup *g, size_t ng)
{
	const struct mvisgroup *b;

	if (!may_have_departed(s))
		return 0;
	b = group_find(g, ng, s->state_before);
	return b != NULL && mroom_ms_parse(b->membership) == MROOM_MS_JOIN;
}

enum mroom_err
mroom_vis_reader(struct mdb *db, const char *room_id, const char *user_id,
    struct mroom_reader *out)
{
	struct mroom		 room;
	struct mvisstand	*st = NULL;
	struct mvisgroup	*g = NULL;
	size_t			 nst = 0, ng = 0;
	json_t			*rooms = NULL, *groups = NULL, *hv = NULL;
	enum mroom_err		 rc = MROOM_ERROR;
	int			 r, err;

	memset(out, 0, sizeof(*out));
	out->upto = INT64_MAX;
	if ((r = mstore_room_get(db, room_id, &room)) == -1)
		return MROOM_ERROR;
	mroom_fini(&room);
	if (r == 0)
		return MROOM_NO_ROOM;
	if ((rooms = json_pack("[s]", room_id)) == NULL ||
	    mstore_vis_standings(db, user_id, rooms, &st, &nst) == -1)
		goto out;
	if (nst > 0 && strcmp(st[0].membership, "join") == 0) {
		out->stand = MROOM_STAND_JOINED;
		rc = MROOM_OK;
		goto out;
	}
	/*
	 * As Synapse (check_user_in_room): a user who left reads on, a
	 * banned one does not.
	 */
	if (nst > 0 && strcmp(st[0].membership, "leave") == 0 && may_have_departed(&st[0])) {
		if ((groups = json_pack("[I]", (json_int_t)st[0].state_before)) == NULL ||
		    mstore_vis_groups(db, user_id, groups, &g, &ng) == -1)
			goto out;
		if (departed(&st[0], g, ng)) {
			out->stand = MROOM_STAND_DEPARTED;
			out->upto = st[0].stream;
			out->state_group = st[0].state_after;
			rc = MROOM_OK;
			goto out;
		}
	}
	/* Spec: "world_readable": anyone may read, joined or not. */
	hv = mstore_cstate_event(db, room_id, "m.room.history_visibility", "", &err);
	if (err)
		goto out;
	if (mroom_hv_parse(mjson_str(json_object_get(hv, "content"), "history_visibility")) ==
	    MROOM_HV_WORLD_READABLE) {
		out->stand = MROOM_STAND_PEEKING;
		rc = MROOM_OK;
	} else
		rc = MROOM_FORBIDDEN;
out:
	json_decref(hv);
	json_decref(rooms);
	json_decref(groups);
	mvisstand_list_free(st, nst);
	mvisgroup_list_free(g, ng);
	return rc;
}

/*
 * Synapse (filter_events_for_client): an event whose sender's account
 * was erased reaches only those joined at it as sent; everyone else who
 * may see it gets it pruned, as a redaction leaves it.  joined[i] says
 * whether the user was.  Prunes rows[i].json in place, so that every
 * reader serialises what the filter decided; the stored PDU stays.
 * Nothing is queried unless a kept row is another user's.  0 or -1.
 */
static int
erased_prune(struct mdb *db, const char *user_id, const struct mevrow *rows, size_t n,
    const unsigned char *keep, const unsigned char *joined)
{
	json_t	*senders = NULL, *erased = NULL, *pruned;
	size_t	 i;
	int	 rc = -1;

	if ((senders = json_array()) == NULL)
		goto out;
	for (i = 0; i < n; i++)
		if (keep[i] && !joined[i] && strcmp(rows[i].sender, user_id) != 0 &&
		    json_array_append_new(senders, json_string(rows[i].sender)) == -1)
			goto out;
	if (json_array_size(senders) == 0) {
		rc = 0;
		goto out;
	}
	if ((erased = mstore_vis_erased(db, senders)) == NULL)
		goto out;
	for (i = 0; i < n && json_object_size(erased) > 0; i++) {
		struct mroom		 room;
		struct mevrow		*row;
		const struct mroomver	*ver;
		const char		*k;
		json_t			*v;
		int			 r;

		if (!keep[i] || joined[i] || json_object_get(erased, rows[i].sender) == NULL)
			continue;
		if ((r = mstore_room_get(db, rows[i].room_id, &room)) == -1)
			goto out;
		ver = r == 1 ? mroomver_get(room.version) : NULL;
		if (r == 1)
			mroom_fini(&room);
		/*
		 * The rows are the caller's, borrowed: a lazy one is parsed,
		 * and its text dropped, so that no reader writes the text out.
		 */
		row = (struct mevrow *)&rows[i];
		if (ver == NULL || mevrow_parse(row) == -1 ||
		    (pruned = mevent_redact(row->json, ver)) == NULL)
			goto out;
		free(row->js);
		row->js = NULL;
		json_object_clear(row->json);
		json_object_foreach(pruned, k, v)
			json_object_set(row->json, k, v);
		json_decref(pruned);
	}
	rc = 0;
out:
	json_decref(senders);
	json_decref(erased);
	return rc;
}

/* 1 when row is a state event of type with state key sk. */
static int
state_is(const struct mevrow *row, const char *type, const char *sk)
{
	return row->state_key != NULL && strcmp(row->type, type) == 0 &&
	    strcmp(row->state_key, sk) == 0;
}

/*
 * Message retention, as Synapse filters events for clients: with
 * retention on, a message event older than its room's lifetime is not
 * shown, whether or not myelin-timerd has purged it yet.  rooms: the
 * rooms of rows.  0 or -1.
 */
static int
retention_hide(struct mdb *db, const struct mevrow *rows, size_t n, const json_t *rooms,
    unsigned char *keep)
{
	const struct mconfig	*conf = mdb_conf(db);
	json_t			*pol;
	int64_t			 now, lifetime;

	if (conf == NULL || !conf->retention_enabled)
		return 0;
	if ((pol = mstore_retention_policies(db, rooms)) == NULL)
		return -1;
	now = mclock_now_ms();
	for (size_t i = 0; i < n; i++) {
		if (!keep[i] || rows[i].state_key != NULL)
			continue;
		lifetime = mroom_retention_lifetime(conf, json_object_get(pol, rows[i].room_id));
		if (lifetime > 0 && rows[i].origin_server_ts < now - lifetime)
			keep[i] = 0;
	}
	json_decref(pol);
	return 0;
}

/*
 * The string content.key of row, malloc'd into *out (NULL when absent or
 * not a string).  A lazy row (mstore_evrows_lazy) is read from its text
 * by the member scanner, and parsed only when the value has escapes or
 * the text is not as jansson writes it.  0, or -1.
 */
static int
content_str(struct mevrow *row, const char *key, char **out)
{
	const char	*c, *v;
	size_t		 clen, vlen;

	*out = NULL;
	if (row->json == NULL && row->js != NULL) {
		int r = mjson_scan_get(row->js, strlen(row->js), "content", &c, &clen);

		if (r == 0)
			return 0;
		if (r == 1 && (r = mjson_scan_get(c, clen, key, &v, &vlen)) == 0)
			return 0;
		if (r == 1 && (vlen < 2 || v[0] != '"'))
			return 0;
		if (r == 1 && memchr(v, '\\', vlen) == NULL)
			return (*out = strndup(v + 1, vlen - 2)) == NULL ? -1 : 0;
	}
	if (mevrow_parse(row) == -1)
		return -1;
	if ((v = mjson_str(json_object_get(row->json, "content"), key)) != NULL &&
	    (*out = strdup(v)) == NULL)
		return -1;
	return 0;
}

/* A row of the caller's, borrowed (see erased_prune). */
struct rowref {
	struct mevrow	*r;
};

/* Rows in room order, then stream order: the order their states follow one another. */
static int
row_cmp(const void *a, const void *b)
{
	const struct mevrow	*x = ((const struct rowref *)a)->r;
	const struct mevrow	*y = ((const struct rowref *)b)->r;
	int			 c = strcmp(x->room_id, y->room_id);

	return c != 0 ? c : x->stream < y->stream ? -1 : x->stream > y->stream;
}

static int
group_cmp(const void *a, const void *b)
{
	const struct mvisgroup *x = a, *y = b;

	return x->group < y->group ? -1 : x->group > y->group;
}

/*
 * Whether the state after row is the state before it with row in: an
 * accepted state event (spec: the state after an event), whose group's
 * facts then follow from those before it and its own content, with no
 * read of the group's chain.
 */
static int
makes_after(const struct mevrow *r)
{
	return r->state_key != NULL && r->rejected == NULL && r->state_before > 0 &&
	    r->state_after > 0 && r->state_after != r->state_before;
}

enum { GROUP_ASKED = 1, GROUP_MADE };

/*
 * State groups (IDs > 0) to small numbers: open addressing in a table
 * at least twice the size of what it is made to hold (gmap_init), so a
 * free slot is never far.  An initial /sync at 1,000 rooms asks it of
 * 11,000 rows, where an object keyed by the ID's text cost a number
 * formatted, hashed and compared each time.
 */
struct gmap {
	int64_t		*key;		/* 0: a free slot */
	int		*val;
	size_t		 mask;
};

static int
gmap_init(struct gmap *m, size_t most)
{
	size_t cap = 16;

	while (cap < 2 * most + 2)
		cap *= 2;
	m->key = calloc(cap, sizeof(*m->key));
	m->val = calloc(cap, sizeof(*m->val));
	m->mask = cap - 1;
	return m->key == NULL || m->val == NULL ? -1 : 0;
}

static void
gmap_fini(struct gmap *m)
{
	free(m->key);
	free(m->val);
}

/* The slot holding group, or the free one where it would go. */
static size_t
gmap_slot(const struct gmap *m, int64_t group)
{
	size_t i = (size_t)(((uint64_t)group * 0x9e3779b97f4a7c15ULL) >> 32) & m->mask;

	while (m->key[i] != 0 && m->key[i] != group)
		i = (i + 1) & m->mask;
	return i;
}

/* What group maps to, or NULL. */
static const int *
gmap_get(const struct gmap *m, int64_t group)
{
	size_t i = gmap_slot(m, group);

	return group > 0 && m->key[i] == group ? &m->val[i] : NULL;
}

/* Notes group (> 0) in m as v unless it is there: 1 noted, 0 there (or not a group). */
static int
gmap_put(struct gmap *m, int64_t group, int v)
{
	size_t i = gmap_slot(m, group);

	if (group <= 0 || m->key[i] == group)
		return 0;
	m->key[i] = group;
	m->val[i] = v;
	return 1;
}

/*
 * The facts of group: those read (the sorted g[0..ng)), else those
 * derived so far (d, indexed by at), else none (NULL).
 */
static const struct mvisgroup *
facts_find(const struct mvisgroup *g, size_t ng, const struct mvisgroup *d,
    const struct gmap *at, int64_t group)
{
	const struct mvisgroup	*f = group_find(g, ng, group);
	const int		*i;

	if (f != NULL)
		return f;
	return (i = gmap_get(at, group)) != NULL ? &d[*i] : NULL;
}

/*
 * The facts of the groups the rows make (made[0..nmade), in room and
 * stream order, so that each one's state before is known by then), added
 * to *g, which is sorted again.  known says which were asked for: those
 * the query answered.  0 or -1.
 */
static int
facts_derive(const char *user_id, const struct rowref *made, size_t nmade,
    const struct gmap *known, struct mvisgroup **g, size_t *ng)
{
	struct mvisgroup	*d, *v;
	struct gmap		 at;
	size_t			 nd = 0;
	int			 rc = -1;

	if (nmade == 0)
		return 0;
	if ((d = calloc(nmade, sizeof(*d))) == NULL)
		return -1;
	if (gmap_init(&at, nmade) == -1) {
		gmap_fini(&at);
		free(d);
		return -1;
	}
	for (size_t i = 0; i < nmade; i++) {
		struct mevrow		*r = made[i].r;
		const struct mvisgroup	*b = facts_find(*g, *ng, d, &at, r->state_before);
		const int		*how = gmap_get(known, r->state_after);
		char			*m = NULL, *vis = NULL;

		if (how == NULL || *how != GROUP_MADE)
			continue;
		/* The state before's facts, but for what the event itself sets. */
		if ((state_is(r, "m.room.member", user_id) ? content_str(r, "membership", &m) :
		    b != NULL && b->membership != NULL && (m = strdup(b->membership)) == NULL ? -1 :
		    0) == -1)
			goto out;
		if ((state_is(r, "m.room.history_visibility", "") ?
		    content_str(r, "history_visibility", &vis) :
		    b != NULL && b->visibility != NULL && (vis = strdup(b->visibility)) == NULL ?
		    -1 : 0) == -1) {
			free(m);
			goto out;
		}
		if (m == NULL && vis == NULL)
			continue;
		d[nd].group = r->state_after;
		d[nd].membership = m;
		d[nd].visibility = vis;
		(void)gmap_put(&at, r->state_after, (int)nd++);
	}
	if ((v = reallocarray(*g, *ng + nd + 1, sizeof(*v))) == NULL)
		goto out;
	memcpy(v + *ng, d, nd * sizeof(*d));
	*g = v;
	*ng += nd;
	qsort(v, *ng, sizeof(*v), group_cmp);
	free(d);
	gmap_fini(&at);
	return 0;
out:
	mvisgroup_list_free(d, nd);
	gmap_fini(&at);
	return rc;
}

/*
 * The user's standing in the rooms of rows[0..n) (rooms, a JSON array
 * of them, each once): those of known[0..nknown) copied, the others
 * read.  0 with *out, *nout (mvisstand_list_free), or -1.
 */
static int
standings(struct mdb *db, const char *user_id, const json_t *rooms,
    const struct mvisstand *known, size_t nknown, struct mvisstand **out, size_t *nout)
{
	json_t		*at = NULL, *ask = NULL, *v;
	size_t		 i, n = 0;
	int		 rc = -1;

	*out = NULL;
	*nout = 0;
	if (nknown == 0)
		return mstore_vis_standings(db, user_id, rooms, out, nout);
	if ((at = json_object()) == NULL || (ask = json_array()) == NULL)
		goto out;
	for (i = 0; i < nknown; i++)
		if (json_object_set_new(at, known[i].room_id, json_integer((json_int_t)i)) == -1)
			goto out;
	json_array_foreach(rooms, i, v)
		if (json_object_get(at, json_string_value(v)) == NULL &&
		    json_array_append(ask, v) == -1)
			goto out;
	if (json_array_size(ask) > 0 && mstore_vis_standings(db, user_id, ask, out, &n) == -1)
		goto out;
	json_array_foreach(rooms, i, v) {
		const json_t		*k = json_object_get(at, json_string_value(v));
		const struct mvisstand	*s;
		struct mvisstand	*nv, *d;

		if (k == NULL)
			continue;
		s = &known[json_integer_value(k)];
		if ((nv = reallocarray(*out, n + 1, sizeof(*nv))) == NULL)
			goto out;
		*out = nv;
		d = &nv[n];
		*d = *s;
		d->room_id = strdup(s->room_id);
		d->membership = strdup(s->membership);
		n++;
		if (d->room_id == NULL || d->membership == NULL)
			goto out;
	}
	rc = 0;
out:
	if (rc == -1) {
		mvisstand_list_free(*out, n);
		*out = NULL;
		n = 0;
	}
	*nout = n;
	json_decref(at);
	json_decref(ask);
	return rc;
}

int
mroom_vis_filter(struct mdb *db, const char *user_id, const struct mevrow *rows, size_t n,
    unsigned char *keep)
{
	return mroom_vis_filter_known(db, user_id, rows, n, keep, NULL, 0);
}

int
mroom_vis_filter_known(struct mdb *db, const char *user_id, const struct mevrow *rows,
    size_t n, unsigned char *keep, const struct mvisstand *known, size_t nknown)
{
	struct mvisstand	*st = NULL;
	struct mvisgroup	*g = NULL;
	struct rowref		*order = NULL, *made = NULL;
	struct gmap		 seen = { NULL, NULL, 0 };
	size_t			 nst = 0, ng = 0, nmade = 0, i;
	json_t			*rooms = NULL, *named = NULL, *groups = NULL, *at = NULL;
	const json_t		*u = NULL;
	unsigned char		*joined = NULL;
	int			 rc = -1, sorted = 1;

	if (n == 0)
		return 0;
	memset(keep, 0, n);
	if ((joined = calloc(n, 1)) == NULL)
		return -1;
	if ((rooms = json_array()) == NULL || (named = json_object()) == NULL ||
	    (groups = json_array()) == NULL || (at = json_object()) == NULL)
		goto out;
	/* The distinct rooms (rows of a room mostly come together), then the user's standing in each. */
	for (i = 0; i < n; i++)
		if ((i == 0 || strcmp(rows[i].room_id, rows[i - 1].room_id) != 0) &&
		    json_object_get(named, rows[i].room_id) == NULL &&
		    (json_object_set_new(named, rows[i].room_id, json_true()) == -1 ||
		    json_array_append_new(rooms, json_string(rows[i].room_id)) == -1))
			goto out;
	if (standings(db, user_id, rooms, known, nknown, &st, &nst) == -1 ||
	    gmap_init(&seen, 2 * n + nst) == -1)
		goto out;
	/*
	 * The state before every event, and before every leave that may end
	 * a join: read, unless an earlier row of the room made it (see
	 * makes_after), as each message after a state event has the state
	 * that event made.  An initial /sync at 1,000 rooms reads one group
	 * a room instead of one for each state event of its timeline.
	 */
	if ((order = calloc(n, sizeof(*order))) == NULL ||
	    (made = calloc(n, sizeof(*made))) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		order[i].r = (struct mevrow *)&rows[i];
		if (sorted && i > 0 && row_cmp(&order[i - 1], &order[i]) > 0)
			sorted = 0;
	}
	/* A batch of /sync comes in this order already. */
	if (!sorted)
		qsort(order, n, sizeof(*order), row_cmp);
	for (i = 0; i < n + nst; i++) {
		int64_t grp = i < n ? order[i].r->state_before : st[i - n].state_before;

		if (i >= n && !may_have_departed(&st[i - n]))
			continue;
		if (gmap_put(&seen, grp, GROUP_ASKED) == 1 &&
		    json_array_append_new(groups, json_integer((json_int_t)grp)) == -1)
			goto out;
		if (i < n && makes_after(order[i].r) &&
		    gmap_put(&seen, order[i].r->state_after, GROUP_MADE) == 1)
			made[nmade++] = order[i];
	}
	if ((json_array_size(groups) > 0 &&
	    mstore_vis_groups(db, user_id, groups, &g, &ng) == -1) ||
	    facts_derive(user_id, made, nmade, &seen, &g, &ng) == -1)
		goto out;
	/* Per room: how far the user's own view goes (see mroom_vis_rule's peeking). */
	for (i = 0; i < nst; i++) {
		int64_t upto = strcmp(st[i].membership, "join") == 0 ? INT64_MAX :
		    departed(&st[i], g, ng) ? st[i].stream : -1;

		if (json_object_set_new(at, st[i].room_id, json_integer((json_int_t)upto)) == -1)
			goto out;
	}
	for (i = 0; i < n; i++) {
		const struct mevrow	*row = &rows[i];
		const struct mvisgroup	*gr = group_find(g, ng, row->state_before);
		enum mroom_hv		 hv = mroom_hv_parse(gr != NULL ? gr->visibility : NULL);
		enum mroom_ms		 ms = mroom_ms_parse(gr != NULL ? gr->membership : NULL);
		enum mroom_hv		 hv_after = hv;
		enum mroom_ms		 ms_after = ms;
		char			*set = NULL;
		int			 peeking;

		if (i == 0 || strcmp(row->room_id, rows[i - 1].room_id) != 0)
			u = json_object_get(at, row->room_id);
		/*
		 * After the event: the facts of the group it made (read or
		 * derived with the rest), else what it sets itself (the
		 * caller's row borrowed, as in erased_prune).
		 */
		if (makes_after(row)) {
			const struct mvisgroup *a = group_find(g, ng, row->state_after);

			hv_after = mroom_hv_parse(a != NULL ? a->visibility : NULL);
			ms_after = mroom_ms_parse(a != NULL ? a->membership : NULL);
		} else if (state_is(row, "m.room.history_visibility", "")) {
			if (content_str((struct mevrow *)row, "history_visibility", &set) == -1)
				goto out;
			hv_after = mroom_hv_parse(set);
		} else if (state_is(row, "m.room.member", user_id)) {
			if (content_str((struct mevrow *)row, "membership", &set) == -1)
				goto out;
			ms_after = mroom_ms_parse(set);
		}
		free(set);
		peeking = u == NULL || json_integer_value(u) < row->stream;
		keep[i] = (unsigned char)mroom_vis_rule(hv, hv_after, ms, ms_after, peeking);
		joined[i] = ms == MROOM_MS_JOIN || ms_after == MROOM_MS_JOIN;
	}
	if (retention_hide(db, rows, n, rooms, keep) == -1)
		goto out;
	rc = erased_prune(db, user_id, rows, n, keep, joined);
out:
	free(order);
	free(made);
	free(joined);
	gmap_fini(&seen);
	json_decref(rooms);
	json_decref(named);
	json_decref(groups);
	json_decref(at);
	mvisstand_list_free(st, nst);
	mvisgroup_list_free(g, ng);
	return rc;
}
