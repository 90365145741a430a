/* /sync reads: memberships, timelines of every room at once, state groups with events. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/events.h"
#include "json/json.h"
#include "store/extern.h"

void
msyncmember_fini(void *elem)
{
	struct msyncmember *m = elem;

	free(m->room_id);
	free(m->membership);
	free(m->event_id);
	free(m->sender);
	json_decref(m->event);
}

void
msyncmember_list_free(struct msyncmember *v, size_t n)
{
	mstore_list_free(v, n, sizeof(*v), msyncmember_fini);
}

/*
 * A membership row: room, membership, stream, then its event's view at
 * column view.  A join's event is left unread (no reader of a joined
 * room's membership needs it), as is a forgotten one's.
 */
static int
member_read(struct mcur *c, struct msyncmember *m, int view)
{
	m->room_id = mcur_dup(c, 0);
	m->membership = mcur_dup(c, 1);
	m->stream = mcur_int(c, 2);
	m->event_id = mcur_dup(c, view + 1);
	if (m->room_id == NULL || m->membership == NULL || m->event_id == NULL)
		return -1;
	if (strcmp(m->membership, "join") == 0 || m->forgotten)
		return 0;
	return (m->event = mstore_event_view(c, view)) == NULL ? -1 : 0;
}

static int
member_row(struct mcur *c, void *elem)
{
	struct msyncmember *m = elem;

	m->state_before = mcur_int(c, 3);
	m->state_after = mcur_int(c, 4);
	return member_read(c, m, 5);
}

int
mstore_sync_memberships(struct mdb *db, const char *user_id, struct msyncmember **out,
    size_t *outsz)
{
	void	*v = NULL;
	int	 rc;

	*outsz = 0;
	rc = mcur_collect(mdb_query(db, MSTMT_SYNC_MEMBERSHIPS, "s", user_id), sizeof(**out),
	    member_row, msyncmember_fini, &v, outsz);
	*out = v;
	return rc;
}

/* A changed membership: member_row's columns with the forgotten flag before the view. */
static int
changed_row(struct mcur *c, void *elem)
{
	struct msyncmember *m = elem;

	m->forgotten = mcur_int(c, 3) != 0;
	return member_read(c, m, 4);
}

int
mstore_sync_memberships_since(struct mdb *db, const char *user_id, int64_t since,
    struct msyncmember **out, size_t *outsz)
{
	void	*v = NULL;
	int	 rc;

	*outsz = 0;
	rc = mcur_collect(mdb_query(db, MSTMT_SYNC_MEMBERSHIPS_SINCE, "si", user_id, since),
	    sizeof(**out), changed_row, msyncmember_fini, &v, outsz);
	*out = v;
	return rc;
}

static int
room_stream_cmp(const void *a, const void *b)
{
	const struct mevrow	*x = a, *y = b;
	int			 c = strcmp(x->room_id, y->room_id);

	if (c != 0)
		return c;
	return x->stream < y->stream ? -1 : x->stream > y->stream;
}

int
mstore_sync_timelines_bounded(struct mdb *db, const char *user_id, int64_t from,
    int64_t to, int64_t limit, struct mevrow **out, size_t *outsz)
{
	size_t i;

	if (mstore_evrows_lazy(mdb_query(db, MSTMT_SYNC_TIMELINES_ALL, "siii", user_id, from,
	    to, limit > 0 ? limit - 1 : 0), out, outsz) == -1)
		return -1;
	/*
	 * Grouped by room, oldest first: the order SQLite's plan gives.
	 * PostgreSQL's text (no ORDER BY) gives each room's run newest
	 * first, turned around here; rows in any other order are sorted,
	 * narrow pointers' worth of work instead of the database sorting
	 * every event's JSON.
	 */
	for (i = 0; i < *outsz; ) {
		size_t j = i + 1;

		while (j < *outsz && strcmp((*out)[j].room_id, (*out)[i].room_id) == 0 &&
		    (*out)[j].stream < (*out)[j - 1].stream)
			j++;
		for (size_t a = i, b = j - 1; a < b; a++, b--) {
			struct mevrow t = (*out)[a];

			(*out)[a] = (*out)[b];
			(*out)[b] = t;
		}
		i = j;
	}
	for (i = 1; i < *outsz && room_stream_cmp(&(*out)[i - 1], &(*out)[i]) <= 0; i++)
		;
	if (i < *outsz)
		qsort(*out, *outsz, sizeof(**out), room_stream_cmp);
	return 0;
}

/*
 * The range of positions a sync's timelines read event by event (see
 * MSYNC_TIMELINES_FEW_PG); a longer one joins them with the user's
 * memberships at once.
 */
#define TIMELINES_FEW	1000

/* The statement of the timelines of (from, to]. */
static enum mstmt
timelines_stmt(int64_t from, int64_t to)
{
	return to - from <= TIMELINES_FEW ? MSTMT_SYNC_TIMELINES_FEW : MSTMT_SYNC_TIMELINES;
}

int
mstore_sync_timelines(struct mdb *db, const char *user_id, int64_t from, int64_t to,
    int64_t limit, struct mevrow **out, size_t *outsz)
{
	return mstore_evrows_lazy(mdb_query(db, timelines_stmt(from, to), "siii", user_id, from,
	    to, limit), out, outsz);
}

void
mstore_sync_prefetch(struct mdb *db, const char *user_id, const char *device_id,
    int64_t from, int64_t to, int64_t limit, int scan, int64_t td_ack)
{
	/*
	 * Each as its reader asks: a statement or parameter apart is asked
	 * again.  In the pipeline the positions' read went in, if still
	 * open: ending it would cost a round trip of its own.
	 */
	mdb_prefetch(db, MSTMT_SYNC_MEMBERSHIPS_SINCE, "si", user_id, from);
	if (scan)
		mdb_prefetch(db, timelines_stmt(from, to), "siii", user_id, from, to, limit);
	if (from < to)
		mdb_prefetch(db, MSTMT_E2EE_MEMBER_MOVES, "sii", user_id, from, to);
	if (device_id != NULL)
		mdb_prefetch(db, MSTMT_E2EE_KEY_COUNTS, "ss", user_id, device_id);
	if (device_id != NULL && td_ack > 0)
		mdb_prefetch(db, MSTMT_E2EE_TD_ACKED, "ssi", user_id, device_id, td_ack);
	mdb_prefetch(db, MSTMT_PUSH_COUNTS, "s", user_id);
}

void
mstore_sync_prefetch_start(struct mdb *db, const char *user_id)
{
	mdb_prefetch_drop(db);
	mdb_prefetch(db, MSTMT_PRESENCE_GET, "s", user_id);
	mdb_prefetch(db, MSTMT_STREAM_POSITIONS, "");
}

void
mstore_sync_prefetch_initial(struct mdb *db, const char *user_id, int64_t to,
    int64_t limit, int64_t presence_to)
{
	mdb_prefetch_drop(db);
	mdb_prefetch(db, MSTMT_SYNC_MEMBERSHIPS, "s", user_id);
	mdb_prefetch(db, MSTMT_SYNC_TIMELINES_ALL, "siii", user_id, (int64_t)0, to,
	    limit > 0 ? limit - 1 : 0);
	mdb_prefetch(db, MSTMT_SYNC_MEMBERS, "s", user_id);
	mdb_prefetch(db, MSTMT_ACCOUNT_DATA_GET, "sss", user_id, "", "m.ignored_user_list");
	if (presence_to > 0)
		mdb_prefetch(db, MSTMT_PRESENCE_SYNC, "sii", user_id, (int64_t)0, presence_to);
	mdb_prefetch(db, MSTMT_SYNC_NAMES, "s", user_id);
}

/* Adds a row (type, state key, MEVENT_VIEW) to a state map of events.  0 or -1. */
static int
sgroup_event_row(struct mcur *c, json_t *map, void *arg)
{
	char	*k = mstate_key_join(mcur_text(c, 0), mcur_text(c, 1));
	json_t	*ev = mstore_event_view(c, 2);

	(void)arg;
	if (k == NULL || ev == NULL) {
		free(k);
		json_decref(ev);
		return -1;
	}
	json_object_set_new(map, k, ev);
	free(k);
	return 0;
}

json_t *
mstore_sgroup_state_events(struct mdb *db, int64_t group)
{
	json_t *map = json_object();

	if (map == NULL || group == 0)
		return map;
	return mcur_json_fold(mdb_query(db, MSTMT_SYNC_SGROUP_EVENTS, "i", group), map,
	    sgroup_event_row, NULL);
}

/* Sets {name: {state key: event ID}} in out (a newer entry replaces an older).  0 or -1. */
static int
entry_add(json_t *out, const char *name, const char *type, const char *sk, const char *id)
{
	json_t	*map;
	char	*k;
	int	 rc;

	if ((map = json_object_get(out, name)) == NULL &&
	    (json_object_set_new(out, name, json_object()) == -1 ||
	    (map = json_object_get(out, name)) == NULL))
		return -1;
	if (id == NULL || (k = mstate_key_join(type, sk)) == NULL)
		return -1;
	rc = json_object_set_new(map, k, json_string(id));
	free(k);
	return rc;
}

/* A row (group, type, state key, event ID), older links first: see entry_add. */
static int
sgroups_entry_row(struct mcur *c, json_t *out, void *arg)
{
	char g[MJSON_INT_MAX];

	(void)arg;
	mjson_fmt_int(g, mcur_int(c, 0));
	return entry_add(out, g, mcur_text(c, 1), mcur_text(c, 2), mcur_text(c, 3));
}

/* A row (room, type, state key, event ID): see entry_add. */
static int
cstates_row(struct mcur *c, json_t *out, void *arg)
{
	(void)arg;
	if (mcur_text(c, 0) == NULL)
		return -1;
	return entry_add(out, mcur_text(c, 0), mcur_text(c, 1), mcur_text(c, 2),
	    mcur_text(c, 3));
}

/* Adds a row (type, state key, MEVENT_VIEW) to {event ID: view}.  0 or -1. */
static int
view_row(struct mcur *c, json_t *out, void *arg)
{
	const char	*id = mcur_text(c, 3);
	json_t		*ev;

	(void)arg;
	if (id == NULL || (ev = mstore_event_view_lazy(c, 2, mcur_text(c, 0),
	    mcur_text(c, 1))) == NULL)
		return -1;
	return json_object_set_new(out, id, ev);
}

/* The slots of an index of n rows: a power of two, at least twice n. */
static size_t
rows_slots(size_t n)
{
	size_t cap = 16;

	while (cap < 2 * n + 2)
		cap *= 2;
	return cap;
}

/*
 * An initial sync at 1,000 rooms looks 7,000 state entries up among
 * 11,000 timeline rows: a sort and a binary search of event IDs, 14
 * comparisons a lookup, cost more than hashing each once.
 */
struct mrowref *
mstore_rows_index(const struct mevrow *rows, size_t n)
{
	size_t		 cap = rows_slots(n);
	struct mrowref	*ix = calloc(cap, sizeof(*ix));

	if (ix == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		size_t k = mstore_str_hash(rows[i].event_id) & (cap - 1);

		while (ix[k].row != NULL && strcmp(ix[k].row->event_id, rows[i].event_id) != 0)
			k = (k + 1) & (cap - 1);
		if (ix[k].row == NULL)
			ix[k].row = &rows[i];
	}
	return ix;
}

const struct mevrow *
mstore_rows_find(const struct mrowref *ix, size_t n, const char *id)
{
	size_t cap = rows_slots(n), k;

	if (ix == NULL || n == 0 || id == NULL)
		return NULL;
	for (k = mstore_str_hash(id) & (cap - 1); ix[k].row != NULL; k = (k + 1) & (cap - 1))
		if (strcmp(ix[k].row->event_id, id) == 0)
			return ix[k].row;
	return NULL;
}

/*
 * Turns each event ID of the maps of out into its view, from byid (the
 * views read, shared by the maps), or leaves it when the event is a row
 * of ix that has a view to give (mstore_event_view_row), or, when wanted
 * is given, appends it to wanted, to be read.  With wanted NULL an ID
 * with neither is dropped: its event is not stored (a join of entries
 * and events would leave it out too).  0 or -1.
 */
static int
views_fill(json_t *out, json_t *byid, const struct mrowref *ix, size_t n,
    json_t *wanted)
{
	const char	*g, *k;
	json_t		*map, *v, *ev;
	void		*tmp;

	json_object_foreach(out, g, map)
		json_object_foreach_safe(map, tmp, k, v) {
			const struct mevrow	*r;
			const char		*id = json_string_value(v);

			if (id == NULL)
				continue;	/* a view already */
			if ((ev = json_object_get(byid, id)) != NULL) {
				if (json_object_set(map, k, ev) == -1)
					return -1;
			} else if ((r = mstore_rows_find(ix, n, id)) != NULL &&
			    r->redacted_by == NULL && r->js != NULL && r->state_key != NULL)
				continue;
			else if (wanted != NULL) {
				if (json_array_append_new(wanted, json_string(id)) == -1)
					return -1;
			} else
				json_object_del(map, k);
		}
	return 0;
}

json_t *
mstore_event_views(struct mdb *db, const json_t *ids)
{
	json_t	*out;
	char	*js;

	if ((js = json_dumps(ids, JSON_COMPACT)) == NULL)
		return NULL;
	out = mcur_json_fold(mdb_query(db, MSTMT_SYNC_EVENT_VIEWS, "s", js), json_object(),
	    view_row, NULL);
	free(js);
	return out;
}

/*
 * The maps of out ({name: {state key: event ID}}, the reference taken)
 * with views for IDs, as mstore_sgroups_state_events gives them: those
 * of rows of ix left as IDs, the others read in one query.  New
 * reference, or NULL.
 */
static json_t *
maps_resolve(struct mdb *db, json_t *out, const struct mrowref *ix, size_t n)
{
	json_t *byid = json_object(), *wanted = json_array();

	if (out == NULL || byid == NULL || wanted == NULL ||
	    views_fill(out, byid, ix, n, wanted) == -1)
		goto fail;
	if (json_array_size(wanted) > 0) {
		json_decref(byid);
		if ((byid = mstore_event_views(db, wanted)) == NULL ||
		    views_fill(out, byid, ix, n, NULL) == -1)
			goto fail;
	}
	json_decref(byid);
	json_decref(wanted);
	return out;
fail:
	json_decref(out);
	json_decref(byid);
	json_decref(wanted);
	return NULL;
}

/* The maps statement st reads of arg (a JSON array), by row, resolved (maps_resolve). */
static json_t *
maps_read(struct mdb *db, enum mstmt st, const json_t *arg,
    int (*row)(struct mcur *, json_t *, void *), const struct mrowref *ix, size_t n)
{
	json_t	*out;
	char	*js;

	if ((js = json_dumps(arg, JSON_COMPACT)) == NULL)
		return NULL;
	out = mcur_json_fold(mdb_query(db, st, "s", js), json_object(), row, NULL);
	free(js);
	return maps_resolve(db, out, ix, n);
}

json_t *
mstore_sgroups_state_events(struct mdb *db, const json_t *groups,
    const struct mrowref *ix, size_t n)
{
	return maps_read(db, MSTMT_SYNC_SGROUPS_ENTRIES, groups, sgroups_entry_row, ix, n);
}

json_t *
mstore_sync_cstates(struct mdb *db, const json_t *rooms, const struct mrowref *ix,
    size_t n)
{
	return maps_read(db, MSTMT_SYNC_CSTATES, rooms, cstates_row, ix, n);
}

/* Adds a row (room, type, MEVENT_VIEW) to {room: {type: event}}.  0 or -1. */
static int
names_row(struct mcur *c, json_t *out, void *arg)
{
	const char	*room = mcur_text(c, 0);
	json_t		*r, *ev;

	(void)arg;
	if (room == NULL || mcur_text(c, 1) == NULL || (ev = mstore_event_view(c, 2)) == NULL)
		return -1;
	if ((r = json_object_get(out, room)) == NULL &&
	    (json_object_set_new(out, room, json_object()) == -1 ||
	    (r = json_object_get(out, room)) == NULL)) {
		json_decref(ev);
		return -1;
	}
	return json_object_set_new(r, mcur_text(c, 1), ev);
}

json_t *
mstore_sync_names(struct mdb *db, const char *user_id)
{
	return mcur_json_fold(mdb_query(db, MSTMT_SYNC_NAMES, "s", user_id), json_object(),
	    names_row, NULL);
}

/* Adds a row (room, membership, user) to {room: {"join": [], "invite": []}}.  0. */
static int
members_row(struct mcur *c, json_t *out, void *arg)
{
	const char	*room = mcur_text(c, 0), *m = mcur_text(c, 1);
	json_t		*r = json_object_get(out, room), *l;

	(void)arg;
	if (r == NULL) {
		r = json_pack("{s:[],s:[]}", "join", "invite");
		json_object_set_new(out, room, r);
	}
	if ((l = json_object_get(r, m)) != NULL)
		json_array_append_new(l, json_string(mcur_text(c, 2)));
	return 0;
}

json_t *
mstore_sync_room_members(struct mdb *db, const char *room_id, json_t *into)
{
	json_t *r;

	if ((r = mcur_json_fold(mdb_query(db, MSTMT_SYNC_ROOM_MEMBERS, "s", room_id),
	    json_object(), members_row, NULL)) == NULL)
		return NULL;
	if (json_object_get(r, room_id) == NULL)
		json_object_set_new(r, room_id, json_pack("{s:[],s:[]}", "join", "invite"));
	json_object_update(into, r);
	json_decref(r);
	return json_object_get(into, room_id);
}

json_t *
mstore_sync_members(struct mdb *db, const char *user_id)
{
	return mcur_json_fold(mdb_query(db, MSTMT_SYNC_MEMBERS, "s", user_id), json_object(),
	    members_row, NULL);
}

static int
known_row(struct mcur *c, json_t *out, void *arg)
{
	(void)arg;
	return json_object_set_new(out, mcur_text(c, 0), json_true());
}

json_t *
mstore_sync_lazy_known(struct mdb *db, const char *user_id, const char *device_id,
    const char *room_id, int64_t since)
{
	return mcur_json_fold(mdb_query(db, MSTMT_SYNC_LAZY_KNOWN, "sssi", user_id, device_id,
	    room_id, since), json_object(), known_row, NULL);
}

int
mstore_sync_lazy_put(struct mdb *db, const char *user_id, const char *device_id,
    const json_t *sent, int64_t sent_at)
{
	json_t	*v;
	size_t	 i;

	if (json_array_size(sent) == 0)
		return 0;
	if (mdb_begin(db) == -1)
		return -1;
	json_array_foreach(sent, i, v)
		if (mdb_exec(db, MSTMT_SYNC_LAZY_PUT, "sssssi", user_id, device_id,
		    json_string_value(json_array_get(v, 0)), json_string_value(json_array_get(v, 1)),
		    json_string_value(json_array_get(v, 2)), sent_at) == -1) {
			mdb_rollback(db);
			return -1;
		}
	return mdb_commit(db);
}
