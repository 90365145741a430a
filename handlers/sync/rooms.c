/* The events stream of /sync: rooms by membership, timelines, state, summaries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"
#include "events/events.h"
#include "json/json.h"
#include "room/filter.h"
#include "room/room.h"
#include "store/store.h"
#include "sync.h"

/*
 * When the timeline filter drops events, older ones are read in pages of
 * SCAN_PAGE until the timeline is full; past SCAN_MAX events looked at in
 * one room the timeline is called limited, as if the rest were a gap.
 */
#define SCAN_PAGE	50
#define SCAN_MAX	1000

/* What the filter asks of the events stream (spec: C-S API, "Filtering"). */
struct evfilter {
	const json_t	*room;		/* RoomFilter: rooms, not_rooms */
	const json_t	*timeline;	/* RoomEventFilter of timelines */
	const json_t	*state;		/* ... of state sections */
	int		 include_leave;
	int		 lazy;		/* state.lazy_load_members */
	int		 redundant;	/* state.include_redundant_members */
	int		 fed;		/* event_format "federation": the PDUs */
	const json_t	*ignored;	/* m.ignored_user_list's ignored_users, or NULL */
	/*
	 * Read ahead for an initial or full_state sync, in one query each
	 * (NULL otherwise): the state maps of the groups the state sections
	 * will likely need ({"<group>": map}; a group not there is read on
	 * its own), and the joined rooms' name and alias events.  A map's
	 * entry whose event is a timeline row holds its ID only: rix[0..nrix)
	 * (the rows by ID) gives the row, and map_view its view.  cur: the
	 * current state of each room whose newest event the batch holds, the
	 * state after that event ({room ID: map}, mstore_sync_cstates).
	 */
	json_t			 *groups;
	json_t			 *names;
	json_t			 *cur;
	struct mrowref		 *rix;
	size_t			  nrix;
};

/* One page of events read beyond the batch, and which of them the user may see. */
struct page {
	struct mevrow	*v;
	unsigned char	*keep;
	size_t		 n;
};

/* An event looked at for a timeline. */
struct scanned {
	struct mevrow		*row;		/* borrowed from the batch or a page */
	int			 keep;		/* it is in the timeline */
};

/* One room's timeline: the events looked at, newest first, and which are returned. */
struct roomtl {
	struct scanned		 *scan;
	size_t			  scansz, scancap;
	size_t			  nkeep;
	struct page		 *pages;	/* owned */
	size_t			  pagesz;
	int			  limited;
};

static void
evfilter_init(struct evfilter *f, const json_t *filter)
{
	f->room = json_object_get(filter, "room");
	f->timeline = json_object_get(f->room, "timeline");
	f->state = json_object_get(f->room, "state");
	f->include_leave = json_is_true(json_object_get(f->room, "include_leave"));
	/* Spec: /sync reads lazy_load_members from the StateFilter. */
	f->lazy = json_is_true(json_object_get(f->state, "lazy_load_members"));
	f->redundant = json_is_true(json_object_get(f->state, "include_redundant_members"));
	/* Spec: Filter.event_format: "client" (the default) or "federation". */
	f->fed = mjson_str(filter, "event_format") != NULL &&
	    strcmp(mjson_str(filter, "event_format"), "federation") == 0;
	f->ignored = NULL;
	f->groups = NULL;
	f->names = NULL;
	f->cur = NULL;
	f->rix = NULL;
	f->nrix = 0;
}

/* The event ID of an entry of a state map: a view's, or the ID it holds. */
static const char *
map_id(const json_t *v)
{
	return json_is_string(v) ? json_string_value(v) : mjson_str(v, "event_id");
}

/*
 * The view of an entry of a state map (see evfilter): itself, or made
 * from the row whose ID it holds, or read when the row has none to give
 * any more (the visibility check pruned it).  New reference, or NULL.
 */
static json_t *
map_view(struct mreq *req, const struct evfilter *f, json_t *v)
{
	const struct mevrow	*r;
	json_t			*ev, *ids, *got;

	if (!json_is_string(v))
		return json_incref(v);
	if ((r = mstore_rows_find(f->rix, f->nrix, json_string_value(v))) != NULL &&
	    (ev = mstore_event_view_row(r)) != NULL)
		return ev;
	if ((ids = json_pack("[O]", v)) == NULL)
		return NULL;
	got = mstore_event_views(req->db, ids);
	json_decref(ids);
	ev = json_incref(json_object_get(got, json_string_value(v)));
	json_decref(got);
	return ev;
}

/* The state map of a group, from those read ahead or on its own.  New reference. */
static json_t *
sgroup_state(struct mreq *req, const struct evfilter *f, int64_t group)
{
	char	 g[MJSON_INT_MAX];
	json_t	*map;

	mjson_fmt_int(g, group);
	if (group > 0 && (map = json_object_get(f->groups, g)) != NULL)
		return json_incref(map);
	return mstore_sgroup_state_events(req->db, group);
}

/*
 * The groups an initial sync's state section of a room with timeline
 * rows[0..n) reads when the filter keeps every row (see room_state): the
 * state after the newest (unless the room's current state stands for it
 * or the window runs straight, known), and before the oldest of the
 * newest limit.  Appended to groups,
 * once each (seen).  0 or -1.
 */
static int
sgroups_guess(const struct mevrow *rows, size_t n, int64_t limit, int known, json_t *groups,
    json_t *seen)
{
	int64_t g[2];

	if (n == 0)
		return 0;
	g[0] = known ? 0 : rows[n - 1].state_after;
	g[1] = rows[n > (size_t)limit ? n - (size_t)limit : 0].state_before;
	for (int i = 0; i < 2; i++) {
		char k[MJSON_INT_MAX];

		mjson_fmt_int(k, g[i]);
		if (g[i] <= 0 || json_object_get(seen, k) != NULL)
			continue;
		if (json_object_set_new(seen, k, json_true()) == -1 ||
		    json_array_append_new(groups, json_integer((json_int_t)g[i])) == -1)
			return -1;
	}
	return 0;
}

/*
 * Whether the newest limit of a room's rows[0..n) (oldest first) run
 * straight, each one's state before the state after the one before (see
 * window_straight): the guess read_ahead makes of the window before the
 * filters say what it keeps.  1 or 0.
 */
static int
batch_straight(const struct mevrow *rows, size_t n, int64_t limit)
{
	for (size_t i = n > (size_t)limit ? n - (size_t)limit : 0; i + 1 < n; i++)
		if (rows[i + 1].state_before <= 0 || rows[i + 1].state_before != rows[i].state_after)
			return 0;
	return 1;
}

int
sync_room_allowed(const struct syncctx *ctx, const char *room_id)
{
	return mfilter_room_match(json_object_get(ctx->st->filter, "room"), room_id);
}

/*
 * An event for /sync (rooms are keyed, so no room_id is needed): the
 * client format, or with event_format "federation" the PDU with its
 * event_id and an unsigned age, as Synapse sends it.
 */
static json_t *
sync_event(struct mreq *req, const struct evfilter *f, struct mevrow *row)
{
	json_t *ev;

	/* Written from the stored text, without parsing it, where it can be. */
	if (!f->fed)
		return mroom_client_event_text(row, mclock_now_ms(), req->auth.user_id,
		    req->auth.device_id);
	if (mevrow_parse(row) == -1 || (ev = json_deep_copy(row->json)) == NULL)
		return NULL;
	json_object_set_new(ev, "event_id", json_string(row->event_id));
	json_object_set_new(ev, "unsigned", json_pack("{s:I}", "age",
	    (json_int_t)(mclock_now_ms() - row->origin_server_ts)));
	return ev;
}

/* sync_event's text appended to b.  0 or -1. */
static int
sync_event_add(struct mreq *req, const struct evfilter *f, struct mevrow *row,
    struct mjson_buf *b)
{
	json_t	*ev;
	int	 r;

	if (!f->fed)
		return mroom_client_event_add(b, row, mclock_now_ms(), req->auth.user_id,
		    req->auth.device_id);
	if ((ev = sync_event(req, f, row)) == NULL)
		return -1;
	r = mjson_buf_dump(b, ev);
	json_decref(ev);
	return r;
}

/*
 * A state event (a store view: the PDU with its "event_id", or a lazy
 * one read ahead) for /sync.
 */
static json_t *
state_event(struct mreq *req, const struct evfilter *f, json_t *ev)
{
	json_t *full, *out;

	if (f != NULL && f->fed) {
		full = mstore_view_parse(ev);
		out = json_deep_copy(full);
		json_decref(full);
		return out;
	}
	return mroom_state_client_event_text(ev, NULL, mclock_now_ms(), req->auth.user_id,
	    req->auth.device_id);
}

/*
 * Whether the filter (a RoomEventFilter, or NULL) lets the state event
 * ev (a view, or a lazy one) in: -1 when a lazy one could not be read.
 */
static int
state_match(const json_t *filter, const char *room_id, json_t *ev)
{
	json_t	*full;
	int	 ok;

	if (!json_is_object(filter))
		return 1;
	if ((full = mstore_view_parse(ev)) == NULL)
		return -1;
	ok = mfilter_event_match(filter, room_id, full);
	json_decref(full);
	return ok;
}

/*
 * Whether the user's ignore list can hide anything of an incremental
 * sync that read memsz changed memberships and timeline rows[0..n)
 * (grouped by room): an invite, or an event someone else sent that is
 * not state; and the older pages a full window reads are not known yet.
 * A sync woken by the user's own message reads no ignore list.
 */
static int
ignored_needed(const struct syncstate *st, size_t memsz, const struct mevrow *rows,
    size_t n, const char *user_id)
{
	size_t	 run = 0;

	if (st->initial || st->full_state || memsz > 0)
		return 1;
	for (size_t i = 0; i < n; i++) {
		run = i > 0 && strcmp(rows[i].room_id, rows[i - 1].room_id) == 0 ? run + 1 : 1;
		if (run > (size_t)st->limit ||
		    (rows[i].state_key == NULL && strcmp(rows[i].sender, user_id) != 0))
			return 1;
	}
	return 0;
}

/* Spec: m.ignored_user_list: "events from those users" stay hidden (not state). */
static int
ignored_sender(const struct evfilter *f, const struct mevrow *row)
{
	return f->ignored != NULL && row->state_key == NULL &&
	    json_object_get(f->ignored, row->sender) != NULL;
}

/*
 * Whether row goes into a timeline: the user may see it (vis), or, as
 * Synapse does, it is a state event of the room's current state in a
 * room the user is joined to (a member who joined while the history was
 * hidden from the user still shows), and it passes the timeline filter.
 */
static int
timeline_keep(struct mreq *req, const struct evfilter *f, const char *room_id,
    struct mevrow *row, int vis, int joined)
{
	if (!vis) {
		json_t	*cur;
		int	 err, ok;

		if (!joined || row->state_key == NULL)
			return 0;
		cur = mstore_cstate_event(req->db, room_id, row->type, row->state_key, &err);
		ok = cur != NULL && mjson_str(cur, "event_id") != NULL &&
		    strcmp(mjson_str(cur, "event_id"), row->event_id) == 0;
		json_decref(cur);
		if (!ok)
			return 0;
	}
	if (ignored_sender(f, row))
		return 0;
	/* The filter reads the event (a lazy row is parsed for it), no filter nothing. */
	if (json_is_object(f->timeline) && mevrow_parse(row) == -1)
		return 0;
	return mfilter_event_match(f->timeline, room_id, row->json);
}

/*
 * Spec: "stripped state" for invites and knocks: type, state_key, sender,
 * content.  As Synapse, the member event of the invite's sender comes
 * too (SyTest: a third-party invite's invite_state names its inviter).
 */
json_t *
sync_stripped_state(struct mreq *req, const char *room_id, const json_t *own)
{
	static const char *const keep[] = {
		"m.room.create", "m.room.join_rules", "m.room.name", "m.room.avatar",
		"m.room.canonical_alias", "m.room.encryption", "m.room.topic",
	};
	json_t		*all, *out, *ev;
	const char	*by = mjson_str(own, "sender"), *me = mjson_str(own, "state_key");
	size_t		 i;
	int		 err = 0;

	/*
	 * An invite from another server to a room not here: the stripped
	 * state its server gave (invite_room_state, lib/fed/join.c).
	 */
	if (mjson_str(own, "event_id") != NULL && (all = mstore_invite_state_get(req->db,
	    mjson_str(own, "event_id"), &err)) != NULL) {
		out = json_array();
		json_array_foreach(all, i, ev) {
			if (!json_is_string(json_object_get(ev, "type")) ||
			    !json_is_string(json_object_get(ev, "state_key")) ||
			    (me != NULL && strcmp(mjson_str(ev, "type"), "m.room.member") == 0 &&
			    strcmp(mjson_str(ev, "state_key"), me) == 0))
				continue;
			json_array_append_new(out, json_pack("{s:O,s:O,s:O*,s:O*}",
			    "type", json_object_get(ev, "type"),
			    "state_key", json_object_get(ev, "state_key"),
			    "sender", json_object_get(ev, "sender"),
			    "content", json_object_get(ev, "content")));
		}
		json_decref(all);
		json_array_append_new(out, json_pack("{s:O,s:O,s:O,s:O}", "type",
		    json_object_get(own, "type"), "state_key", json_object_get(own, "state_key"),
		    "sender", json_object_get(own, "sender"), "content",
		    json_object_get(own, "content")));
		return out;
	}
	all = mstore_cstate_all(req->db, room_id);
	out = json_array();

	json_array_foreach(all, i, ev) {
		const char *t = mjson_str(ev, "type"), *sk = mjson_str(ev, "state_key");
		int want = t != NULL && strcmp(t, "m.room.member") == 0 && sk != NULL &&
		    by != NULL && strcmp(sk, by) == 0 && (me == NULL || strcmp(sk, me) != 0);

		for (size_t k = 0; k < sizeof(keep) / sizeof(keep[0]); k++)
			if (t != NULL && strcmp(t, keep[k]) == 0)
				want = 1;
		if (want)
			json_array_append_new(out, json_pack("{s:O,s:O,s:O,s:O}",
			    "type", json_object_get(ev, "type"),
			    "state_key", json_object_get(ev, "state_key"),
			    "sender", json_object_get(ev, "sender"),
			    "content", json_object_get(ev, "content")));
	}
	json_array_append_new(out, json_pack("{s:O,s:O,s:O,s:O}",
	    "type", json_object_get(own, "type"), "state_key", json_object_get(own, "state_key"),
	    "sender", json_object_get(own, "sender"), "content", json_object_get(own, "content")));
	json_decref(all);
	return out;
}

/* The membership the user had before the membership event m (unsigned.prev_content). */
static int
was_joined(const struct msyncmember *m)
{
	const char *prev = mjson_str(json_object_get(json_object_get(m->event, "unsigned"),
	    "prev_content"), "membership");

	return prev != NULL && strcmp(prev, "join") == 0;
}

static void
roomtl_fini(struct roomtl *tl)
{
	for (size_t i = 0; i < tl->pagesz; i++) {
		mevrow_list_free(tl->pages[i].v, tl->pages[i].n);
		free(tl->pages[i].keep);
	}
	free(tl->pages);
	free(tl->scan);
	memset(tl, 0, sizeof(*tl));
}

/* Appends row, the next older event looked at.  0 or -1. */
static int
roomtl_push(struct roomtl *tl, struct mevrow *row, int keep)
{
	if (tl->scansz == tl->scancap) {
		size_t		 cap = tl->scancap > 0 ? tl->scancap * 2 : 16;
		struct scanned	*ns;

		if ((ns = reallocarray(tl->scan, cap, sizeof(*ns))) == NULL)
			return -1;
		tl->scan = ns;
		tl->scancap = cap;
	}
	tl->scan[tl->scansz].row = row;
	tl->scan[tl->scansz++].keep = keep != 0;
	tl->nkeep += keep != 0;
	return 0;
}

/*
 * Fills tl with the newest events of room_id in (since, upto] that go
 * into the timeline (see timeline_keep), at most limit.  rows[0..n) are
 * the batch's newest events of the room, oldest first, at most limit +
 * 1, and vis[0..n) which of them the user may see: when some are
 * dropped and the batch was full, or the batch stopped at the sync's
 * since while the timeline goes back further (since 0: a room new to
 * the client), older pages are read.  limited: more matching events
 * exist, or SCAN_MAX were looked at.  0 or -1.
 */
static int
room_timeline(struct mreq *req, const struct evfilter *f, int64_t limit, int64_t since,
    int64_t upto, int unbounded, int joined, const char *room_id, struct mevrow *rows,
    const unsigned char *vis, size_t n, struct roomtl *tl)
{
	size_t	 want = (size_t)limit + 1;
	int	 more = n >= want || unbounded;
	int64_t	 pos = n > 0 ? rows[0].stream : upto + 1;

	for (size_t i = n; i > 0 && tl->nkeep < want; i--)
		if (roomtl_push(tl, &rows[i - 1], timeline_keep(req, f, room_id, &rows[i - 1],
		    vis[i - 1], joined)) == -1)
			return -1;
	while (more && tl->nkeep < want && tl->scansz < SCAN_MAX) {
		struct page *np, *p;

		if ((np = reallocarray(tl->pages, tl->pagesz + 1, sizeof(*np))) == NULL)
			return -1;
		tl->pages = np;
		p = &tl->pages[tl->pagesz];
		p->keep = NULL;
		if (mstore_events_page(req->db, room_id, 1, pos - 1, since, SCAN_PAGE, &p->v,
		    &p->n) == -1)
			return -1;
		tl->pagesz++;
		if ((p->keep = calloc(p->n > 0 ? p->n : 1, 1)) == NULL ||
		    mroom_vis_filter(req->db, req->auth.user_id, p->v, p->n, p->keep) == -1)
			return -1;
		more = p->n == SCAN_PAGE;
		for (size_t i = 0; i < p->n && tl->nkeep < want; i++)
			if (roomtl_push(tl, &p->v[i], timeline_keep(req, f, room_id, &p->v[i],
			    p->keep[i], joined)) == -1)
				return -1;
		if (p->n > 0)
			pos = p->v[p->n - 1].stream;
	}
	if (tl->nkeep == want) {
		/* The one past the limit only says that there is more. */
		tl->limited = 1;
		for (size_t i = tl->scansz; i > 0; i--)
			if (tl->scan[i - 1].keep) {
				tl->scan[i - 1].keep = 0;
				tl->nkeep--;
				break;
			}
	} else if (more)
		tl->limited = 1;
	return 0;
}

/* The state map (state key -> event) of room_id after its last event at or before pos. */
static json_t *
state_events_at(struct mreq *req, const char *room_id, int64_t pos)
{
	int64_t group = mstore_room_state_at(req->db, room_id, pos);

	return group < 0 ? NULL : mstore_sgroup_state_events(req->db, group);
}

/* Whether user_id was joined to room_id after its last event at or before pos.  -1. */
static int
joined_at(struct mreq *req, const char *room_id, const char *user_id, int64_t pos)
{
	json_t	*map, *ev;
	char	*k;
	int	 rc = -1;

	if ((map = state_events_at(req, room_id, pos)) == NULL)
		return -1;
	if ((k = mstate_key_join("m.room.member", user_id)) != NULL) {
		ev = json_object_get(map, k);
		rc = mjson_str(json_object_get(ev, "content"), "membership") != NULL &&
		    strcmp(mjson_str(json_object_get(ev, "content"), "membership"), "join") == 0;
	}
	free(k);
	json_decref(map);
	return rc;
}

/* Appends a state event to the section, remembering lazy members sent.  0 or -1. */
static int
state_add(struct mreq *req, const struct evfilter *f, const char *room_id, json_t *ev,
    json_t *state, json_t *lazysent)
{
	const char *type = mjson_str(ev, "type");

	if (json_array_append_new(state, state_event(req, f, ev)) == -1)
		return -1;
	if (f->lazy && type != NULL && strcmp(type, "m.room.member") == 0 &&
	    json_array_append_new(lazysent, json_pack("[s,s,s]", room_id,
	    mjson_str(ev, "state_key"), mjson_str(ev, "event_id"))) == -1)
		return -1;
	return 0;
}

/*
 * Whether the state after the newest event of tl is the state before
 * the oldest kept (oldest; scansz: none) with the state events between
 * in, so that a key none of them sets has the same event at both ends.
 * Spec: the state after a state event is the state before it with the
 * event in; so it holds when each event's state before is the state
 * after the one before it (no fork joins in the window, whose state
 * resolution can pick any side's), and no state event newer than the
 * oldest kept was left out of the timeline (its key is in neither
 * the timeline nor the start).  1 or 0.
 */
static int
window_straight(const struct roomtl *tl, size_t oldest)
{
	if (oldest >= tl->scansz)
		return 1;
	for (size_t i = 0; i < oldest; i++) {
		const struct mevrow *r = tl->scan[i].row, *older = tl->scan[i + 1].row;

		if ((!tl->scan[i].keep && r->state_key != NULL) || r->state_before <= 0 ||
		    r->state_before != older->state_after)
			return 0;
	}
	return 1;
}

/* 1 when both state events (either may be NULL) are the same event. */
static int
same_event(const json_t *a, const json_t *b)
{
	const char *ia = map_id(a), *ib = map_id(b);

	return ia != NULL && ib != NULL && strcmp(ia, ib) == 0;
}

/*
 * The state section of one room (spec: GET /sync, "state": "updates to
 * the state, between the time indicated by the since parameter, and the
 * start of the timeline").  As Synapse computes it: for each state key,
 * its value at the timeline's start when the timeline sets it, else its
 * value at the timeline's end, sent unless the timeline holds that event
 * or the client had it at since (full: the client has nothing, as on an
 * initial sync, a full_state or a new join).  So a gap brings what
 * changed in it, and a filtered timeline the state events it dropped.
 * With lazy-loading, membership events go only for the timeline's
 * senders (and the user, when the room is new to the client) and, on an
 * incremental sync, for members that changed; less those this device
 * was sent already (see mstore_sync_lazy_known).  Appends to state; lazy
 * members sent go to lazysent.  0 or -1.
 */
static int
room_state(struct syncctx *ctx, const struct evfilter *f, const char *room_id,
    const struct roomtl *tl, int full, int64_t since, int64_t upto, json_t *state,
    json_t *lazysent)
{
	struct mreq	*req = ctx->req;
	json_t		*seen = json_object(), *tlids = json_object(), *wanted = json_object();
	json_t		*known = NULL, *start = NULL, *end = NULL, *prev = NULL, *ev;
	const char	*k;
	size_t		 oldest = tl->scansz;	/* the oldest event kept, or scansz */
	int64_t		 gstart, gend, gprev;	/* state groups: start, end, since */
	int		 rc = -1, dropped = 0;

	if (seen == NULL || tlids == NULL || wanted == NULL)
		goto out;
	for (size_t i = 0; i < tl->scansz; i++)
		if (tl->scan[i].keep)
			oldest = i;
	for (size_t i = 0; i < tl->scansz; i++) {
		const struct mevrow	*row = tl->scan[i].row;
		char			*key;

		if (tl->scan[i].keep && f->lazy)
			json_object_set_new(wanted, row->sender, json_true());
		if (tl->scan[i].keep && f->lazy && strcmp(row->type, "m.room.member") == 0 &&
		    row->state_key != NULL)
			json_array_append_new(lazysent, json_pack("[s,s,s]", room_id,
			    row->state_key, row->event_id));
		if (row->state_key == NULL)
			continue;
		if (!tl->scan[i].keep) {
			dropped = 1;
			continue;
		}
		if ((key = mstate_key_join(row->type, row->state_key)) == NULL)
			goto out;
		json_object_set_new(seen, key, json_true());
		json_object_set_new(tlids, row->event_id, json_true());
		free(key);
	}
	if (f->lazy && full)
		json_object_set_new(wanted, req->auth.user_id, json_true());
	/* Spec: the server MAY skip "redundant membership events". */
	if (f->lazy && !f->redundant && !full) {
		if ((known = mstore_sync_lazy_known(req->db, req->auth.user_id,
		    req->auth.device_id != NULL ? req->auth.device_id : "", room_id,
		    ctx->from.p[SPOS_EVENTS])) == NULL)
			goto out;
		json_object_foreach(known, k, ev)
			json_object_del(wanted, k);
	}
	/* Nothing can have changed out of the timeline's sight. */
	if (!full && !tl->limited && !dropped && json_object_size(wanted) == 0) {
		rc = 0;
		goto out;
	}
	/* The state at the timeline's start; an empty timeline starts at its end. */
	if (tl->scansz == 0)
		gstart = mstore_room_state_at(req->db, room_id, upto);
	else
		gstart = oldest < tl->scansz ? tl->scan[oldest].row->state_before :
		    tl->scan[0].row->state_after;
	/* XXX With forks from federation, the newest event need not hold the end's state. */
	gend = tl->scansz == 0 ? gstart : tl->scan[0].row->state_after;
	gprev = full ? 0 : mstore_room_state_at(req->db, room_id, since);
	if (gstart < 0 || gprev < 0)
		goto out;
	/* A gap of messages only: the client's state is the state throughout. */
	if (!full && gprev == gstart && gprev == gend && json_object_size(wanted) == 0) {
		rc = 0;
		goto out;
	}
	start = sgroup_state(req, f, gstart);
	/*
	 * A client with nothing of the room needs the end's state only for
	 * what the window did not set; when the window runs straight from
	 * its start, that is the start's (see window_straight).  Else the
	 * newest event's state, the room's current state (see read_ahead).
	 */
	if (full && window_straight(tl, oldest))
		end = json_incref(start);
	else if ((end = tl->scansz > 0 ? json_object_get(f->cur, room_id) : NULL) != NULL)
		json_incref(end);
	else
		end = gend == gstart ? json_incref(start) : sgroup_state(req, f, gend);
	prev = full ? json_object() : gprev == gend ? json_incref(end) :
	    sgroup_state(req, f, gprev);
	if (start == NULL || end == NULL || prev == NULL)
		goto out;
	for (int pass = 0; pass < 2; pass++)
		json_object_foreach(pass == 0 ? end : start, k, ev) {
			const char	*type, *sk;
			json_t		*sev;
			int		 skip, m;

			if (pass == 1 && json_object_get(end, k) != NULL)
				continue;
			sev = json_object_get(seen, k) != NULL ? json_object_get(start, k) : ev;
			if (sev == NULL || json_object_get(tlids, map_id(sev)) != NULL)
				continue;
			if ((sev = map_view(req, f, sev)) == NULL)
				goto out;
			type = mjson_str(sev, "type");
			sk = mjson_str(sev, "state_key");
			if (f->lazy && type != NULL && sk != NULL &&
			    strcmp(type, "m.room.member") == 0) {
				/* Spec: "Lazy-loading room members": only those asked for. */
				skip = (json_object_get(wanted, sk) == NULL &&
				    (full || same_event(sev, json_object_get(prev, k)))) ||
				    json_object_get(known, sk) != NULL;
			} else
				skip = same_event(sev, json_object_get(prev, k));
			if (!skip && (m = state_match(f->state, room_id, sev)) != 0 &&
			    (m == -1 || state_add(req, f, room_id, sev, state, lazysent) == -1)) {
				json_decref(sev);
				goto out;
			}
			json_decref(sev);
		}
	rc = 0;
out:
	json_decref(seen);
	json_decref(tlids);
	json_decref(wanted);
	json_decref(known);
	json_decref(start);
	json_decref(end);
	json_decref(prev);
	return rc;
}

/*
 * Synapse's rule for m.heroes: only a room with neither a name nor a
 * canonical alias gets them.  1 named, 0 not, -1.
 */
static int
room_named(struct mreq *req, const struct evfilter *f, const char *room_id)
{
	static const char *const named[][2] = {
		{ "m.room.name", "name" }, { "m.room.canonical_alias", "alias" },
	};

	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
		json_t		*ev;
		const char	*v;
		int		 err;

		/* Read ahead for every joined room (initial sync), or on its own. */
		if (f->names != NULL) {
			ev = json_incref(json_object_get(json_object_get(f->names, room_id),
			    named[i][0]));
			err = 0;
		} else
			ev = mstore_cstate_event(req->db, room_id, named[i][0], "", &err);
		if (err)
			return -1;
		v = mjson_str(json_object_get(ev, "content"), named[i][1]);
		if (v != NULL && *v != '\0') {
			json_decref(ev);
			return 1;
		}
		json_decref(ev);
	}
	return 0;
}

/* A state event type whose change can change a room's summary (type NULL: no). */
static int
summary_type(const char *type)
{
	return type != NULL && (strcmp(type, "m.room.member") == 0 ||
	    strcmp(type, "m.room.name") == 0 || strcmp(type, "m.room.canonical_alias") == 0);
}

/*
 * Whether a room's summary may have moved in a range the timeline tl
 * saw whole (not limited) and whose state section is state: an event of
 * the range, kept or filtered out, or one of the section, that changes
 * the members, the name or the canonical alias, or a redaction (of a
 * name, say).  1 or 0.
 */
static int
summary_moved(const struct roomtl *tl, const json_t *state)
{
	const json_t	*ev;
	size_t		 i;

	for (i = 0; i < tl->scansz; i++)
		if (strcmp(tl->scan[i].row->type, "m.room.redaction") == 0 ||
		    (tl->scan[i].row->state_key != NULL && summary_type(tl->scan[i].row->type)))
			return 1;
	json_array_foreach(state, i, ev)
		if (summary_type(mjson_str(ev, "type")))
			return 1;
	return 0;
}

/*
 * One joined or left room's section from its timeline rows[0..n) (oldest
 * first, at most limit + 1; vis[0..n) those the user may see), with the
 * state the client needs.  newly: the client has nothing of the room yet
 * (initial sync, full_state, a join since the token: then the timeline
 * reaches back past the token).  upto: the end of the user's view (a
 * leave's position).  *empty is set when the section says nothing.
 * Returns it, or NULL.
 */
static json_t *
room_section(struct syncctx *ctx, const struct evfilter *f, const struct msyncmember *m,
    struct mevrow *rows, const unsigned char *vis, size_t n, int newly, int64_t upto,
    json_t *members, json_t *lazysent, int *empty)
{
	struct mreq		*req = ctx->req;
	const struct syncstate	*st = ctx->st;
	struct roomtl		 tl;
	json_t			*sec = NULL, *tl_events = NULL, *state = json_array();
	struct mjson_buf	 tb = { NULL, 0, 0, 0 };
	size_t			 nev = 0;
	int64_t			 since = st->initial ? 0 : ctx->from.p[SPOS_EVENTS], prev;
	int			 joined = strcmp(m->membership, "join") == 0;
	int			 unbounded = newly && since > 0 && !st->full_state;
	char			 tok[32];

	memset(&tl, 0, sizeof(tl));
	if (state == NULL ||
	    room_timeline(req, f, st->limit, unbounded ? 0 : since, upto, unbounded, joined,
	    m->room_id, rows, vis, n, &tl) == -1 ||
	    room_state(ctx, f, m->room_id, &tl, newly, since, upto, state, lazysent) == -1)
		goto fail;
	/*
	 * The timeline's events written into one text as they are made: an
	 * initial sync at 1,000 rooms sends 10,000, each a raw node and an
	 * array member otherwise, made, written out and freed again.
	 */
	prev = upto;
	mjson_buf_add(&tb, "[", 1);
	for (size_t i = tl.scansz; i > 0; i--)
		if (tl.scan[i - 1].keep) {
			if (nev++ == 0)
				prev = tl.scan[i - 1].row->stream - 1;
			else
				mjson_buf_add(&tb, ",", 1);
			if (sync_event_add(req, f, tl.scan[i - 1].row, &tb) == -1)
				goto fail;
		}
	mjson_buf_add(&tb, "]", 1);
	if (tb.err || (tl_events = mjson_raw(tb.b, tb.len)) == NULL)
		goto fail;
	free(tb.b);
	tb.b = NULL;
	if (nev == 0 && tl.scansz > 0)
		prev = tl.scan[0].row->stream;
	/*
	 * As Synapse: a timeline read from the room's end back (an initial
	 * sync, a new join) that holds all there is pages back from the end,
	 * where /messages finds its events again (SyTest 34room-messages.pl
	 * pages from such a prev_batch and wants events and an end); and a
	 * new join is always limited: the client holds nothing before it.
	 */
	if (!tl.limited && (since == 0 || unbounded))
		prev = upto;
	if (unbounded)
		tl.limited = 1;
	*empty = nev == 0 && json_array_size(state) == 0;
	/* Spec: prev_batch pages back from the timeline's start with /messages. */
	snprintf(tok, sizeof(tok), "t%lld", (long long)prev);
	if ((sec = json_pack("{s:{s:o,s:b,s:s},s:{s:o},s:{s:[]},s:{s:[]}}",
	    "timeline", "events", tl_events, "limited", tl.limited, "prev_batch", tok,
	    "state", "events", state, "ephemeral", "events", "account_data", "events")) == NULL)
		goto fail2;
	/*
	 * Spec: the summary's fields "may be omitted" when they have not
	 * changed since the last sync; as Synapse, an empty summary then.  A
	 * message-only incremental sync so reads neither members nor names.
	 */
	if (joined && !newly && !tl.limited && !summary_moved(&tl, state)) {
		json_object_set_new(sec, "summary", json_object());
		json_object_set_new(sec, "unread_notifications", json_object());
	} else if (joined) {
		json_t	*r = json_object_get(members, m->room_id);
		json_t	*sum, *heroes, *v;
		size_t	 i;
		int	 named;

		/* An incremental sync reads the members of the rooms it sends only. */
		if (r == NULL && !st->initial)
			r = mstore_sync_room_members(req->db, m->room_id, members);
		if ((named = room_named(req, f, m->room_id)) == -1 ||
		    (sum = json_pack("{s:I,s:I}", "m.joined_member_count",
		    (json_int_t)json_array_size(json_object_get(r, "join")),
		    "m.invited_member_count",
		    (json_int_t)json_array_size(json_object_get(r, "invite")))) == NULL) {
			json_decref(sec);
			roomtl_fini(&tl);
			return NULL;
		}
		/* Spec: m.heroes: up to 5 other members, for naming unnamed rooms. */
		if (!named) {
			heroes = json_array();
			json_array_foreach(json_object_get(r, "join"), i, v)
				if (json_array_size(heroes) < 5 &&
				    strcmp(json_string_value(v), req->auth.user_id) != 0)
					json_array_append(heroes, v);
			json_array_foreach(json_object_get(r, "invite"), i, v)
				if (json_array_size(heroes) < 5)
					json_array_append(heroes, v);
			json_object_set_new(sum, "m.heroes", heroes);
		}
		json_object_set_new(sec, "summary", sum);
		json_object_set_new(sec, "unread_notifications", json_object());
	}
	roomtl_fini(&tl);
	return sec;
fail:
	free(tb.b);
	json_decref(tl_events);
	json_decref(state);
fail2:
	roomtl_fini(&tl);
	return NULL;
}

/*
 * A room the user left without having been joined (a rejected invite, a
 * withdrawn knock, a ban while invited): its events were never the
 * user's to read, so the timeline is the membership event alone.
 */
static json_t *
left_unjoined(struct mreq *req, const struct evfilter *f, const struct msyncmember *m)
{
	return json_pack("{s:{s:[o],s:b},s:{s:[]},s:{s:[]},s:{s:[]}}",
	    "timeline", "events", state_event(req, f, m->event), "limited", 0,
	    "state", "events", "ephemeral", "events", "account_data", "events");
}

/*
 * Spec: include_leave: "Include rooms that the user has left in the
 * sync".  As Synapse: rooms left since the token always appear; on an
 * initial or full_state sync, rooms the user was kicked or banned from
 * appear, and rooms the user left by themself only with include_leave.
 */
static int
leave_shown(const struct syncctx *ctx, const struct evfilter *f, const struct msyncmember *m,
    int64_t from)
{
	const struct syncstate	*st = ctx->st;
	const char		*sender = mjson_str(m->event, "sender");

	if (!st->initial && m->stream > from)
		return 1;
	if (!st->initial && !st->full_state)
		return 0;
	return f->include_leave || strcmp(m->membership, "ban") == 0 || sender == NULL ||
	    strcmp(sender, ctx->req->auth.user_id) != 0;
}

/*
 * Fills f->groups and f->names for an initial sync from its timeline
 * rows[0..n) (grouped by room, oldest first in each).  0 or -1.
 */
static int
read_ahead(struct mreq *req, struct evfilter *f, const struct mevrow *rows, size_t n,
    int64_t limit)
{
	json_t	*groups = json_array(), *seen = json_object(), *rooms = json_array();
	size_t	 start = 0;
	int	 rc = -1;

	if (groups == NULL || seen == NULL || rooms == NULL)
		goto out;
	/*
	 * Each room with its newest row (the batch is grouped by room, oldest
	 * first) whose end's state the state section will likely need: not
	 * one whose newest limit run straight (see window_straight).
	 */
	for (size_t r = 1; r <= n; r++)
		if (r == n || strcmp(rows[r].room_id, rows[start].room_id) != 0) {
			if (!batch_straight(rows + start, r - start, limit) &&
			    json_array_append_new(rooms, json_pack("[sI]", rows[start].room_id,
			    (json_int_t)rows[r - 1].stream)) == -1)
				goto out;
			start = r;
		}
	if ((f->rix = mstore_rows_index(rows, n)) == NULL)
		goto out;
	f->nrix = n;
	if ((f->cur = json_array_size(rooms) > 0 ?
	    mstore_sync_cstates(req->db, rooms, f->rix, f->nrix) : json_object()) == NULL)
		goto out;
	start = 0;
	for (size_t r = 1; r <= n; r++)
		if (r == n || strcmp(rows[r].room_id, rows[start].room_id) != 0) {
			/* The batch holds limit + 1 a room: the oldest says there is more. */
			if (sgroups_guess(rows + start, r - start, limit,
			    json_object_get(f->cur, rows[start].room_id) != NULL ||
			    batch_straight(rows + start, r - start, limit), groups, seen) == -1)
				goto out;
			start = r;
		}
	if ((f->groups = json_array_size(groups) > 0 ?
	    mstore_sgroups_state_events(req->db, groups, f->rix, f->nrix) : json_object()) == NULL ||
	    (f->names = mstore_sync_names(req->db, req->auth.user_id)) == NULL)
		goto out;
	rc = 0;
out:
	json_decref(groups);
	json_decref(seen);
	json_decref(rooms);
	return rc;
}

static void
rows_free(void *p, size_t n)
{
	mevrow_list_free(p, n);
}

/*
 * An incremental sync reads the memberships that changed since the
 * token only (mstore_sync_memberships_since): a room of rows[0..n)
 * (grouped by room) without one is a join, as the timelines read a
 * room while the user is in it or up to a leave, which would be past
 * the token and so among the changed.  Appended to *mem as joins.  0 or
 * -1.
 */
static int
add_joins(const struct mevrow *rows, size_t n, struct msyncmember **mem, size_t *memsz)
{
	json_t			*have = json_object();
	struct msyncmember	*v;
	size_t			 rooms = 0;
	int			 rc = -1;

	if (have == NULL)
		return -1;
	for (size_t i = 0; i < *memsz; i++)
		if (json_object_set_new(have, (*mem)[i].room_id, json_true()) == -1)
			goto out;
	for (size_t i = 0; i < n; i++)
		if (i == 0 || strcmp(rows[i].room_id, rows[i - 1].room_id) != 0)
			rooms++;
	if ((v = reallocarray(*mem, *memsz + rooms + 1, sizeof(*v))) == NULL)
		goto out;
	*mem = v;
	for (size_t i = 0; i < n; i++) {
		struct msyncmember *m = &v[*memsz];

		if ((i > 0 && strcmp(rows[i].room_id, rows[i - 1].room_id) == 0) ||
		    json_object_get(have, rows[i].room_id) != NULL)
			continue;
		memset(m, 0, sizeof(*m));
		if ((m->room_id = strdup(rows[i].room_id)) == NULL ||
		    (m->membership = strdup("join")) == NULL) {
			free(m->room_id);
			goto out;
		}
		(*memsz)++;
	}
	rc = 0;
out:
	json_decref(have);
	return rc;
}

/*
 * The events stream: a joined room whose membership is newer than since
 * (or any, on initial sync) gets a full section; otherwise only rooms
 * with news appear.  Timelines come from one query for every room.
 */
static int
collect(struct syncctx *ctx)
{
	struct mreq		*req = ctx->req;
	const struct syncstate	*st = ctx->st;
	struct evfilter		 f;
	struct msyncmember	*mem = NULL;
	struct mvisstand	*stand = NULL;
	struct mevrow		*rows = NULL;
	unsigned char		*keep = NULL;
	size_t			 memsz = 0, rowsz = 0, nstand = 0;
	json_t			*rooms = json_object_get(ctx->resp, "rooms");
	json_t			*members = NULL, *index = json_object(), *lazysent = json_array();
	json_t			*ignore = NULL;
	int64_t			 from = st->initial ? 0 : ctx->from.p[SPOS_EVENTS];
	int64_t			 to = ctx->to.p[SPOS_EVENTS];
	int			 rc = -1;

	evfilter_init(&f, st->filter);
	if (index == NULL || lazysent == NULL ||
	    (st->initial || st->full_state ?
	    mstore_sync_memberships(req->db, req->auth.user_id, &mem, &memsz) :
	    mstore_sync_memberships_since(req->db, req->auth.user_id, from, &mem, &memsz)) == -1 ||
	    (st->initial || to - from > SINCE_SCAN_MAX ?
	    mstore_sync_timelines_bounded(req->db, req->auth.user_id, from, to, st->limit + 1,
	    &rows, &rowsz) :
	    mstore_sync_timelines(req->db, req->auth.user_id, from, to, st->limit + 1, &rows,
	    &rowsz)) == -1 ||
	    (members = st->initial ? mstore_sync_members(req->db, req->auth.user_id) :
	    json_object()) == NULL ||
	    (keep = calloc(rowsz > 0 ? rowsz : 1, 1)) == NULL ||
	    (stand = calloc(memsz > 0 ? memsz : 1, sizeof(*stand))) == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	/*
	 * Every membership read with its groups is the user's standing in
	 * its room: the visibility check asks for the others only.
	 */
	if (st->initial || st->full_state)
		for (size_t i = 0; i < memsz; i++)
			stand[nstand++] = (struct mvisstand){ mem[i].room_id, mem[i].membership,
			    mem[i].stream, mem[i].state_before, mem[i].state_after, 0 };
	if (mroom_vis_filter_known(req->db, req->auth.user_id, rows, rowsz, keep, stand,
	    nstand) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	if (ignored_needed(st, memsz, rows, rowsz, req->auth.user_id) &&
	    mstore_account_data_get(req->db, req->auth.user_id, "", "m.ignored_user_list",
	    &ignore) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	/*
	 * An initial or full-state sync has read every membership: the
	 * joined rooms are known.  An incremental one leaves them to be read
	 * where a stream asks (sync_joined_rooms).
	 */
	if ((st->initial || st->full_state ? (ctx->joined == NULL &&
	    (ctx->joined = json_array()) == NULL) :
	    add_joins(rows, rowsz, &mem, &memsz) == -1)) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	/* Spec: "Ignoring Users": their events and invites are not sent. */
	if (json_is_object(json_object_get(ignore, "ignored_users")))
		f.ignored = json_object_get(ignore, "ignored_users");
	/* Rows come grouped by room: where each room's start. */
	for (size_t r = 0; r < rowsz; r++)
		if (r == 0 || strcmp(rows[r].room_id, rows[r - 1].room_id) != 0)
			json_object_set_new(index, rows[r].room_id, json_integer((json_int_t)r));
	/*
	 * An initial sync reads the state of every room it sends: the groups
	 * it will likely need in one query, and the rooms' names in another.
	 */
	if (st->initial && (rc = read_ahead(req, &f, rows, rowsz, st->limit)) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	for (size_t i = 0; i < memsz; i++) {
		struct msyncmember	*m = &mem[i];
		json_t			*at = json_object_get(index, m->room_id), *sec = NULL;
		size_t			 start = 0, n = 0;
		int			 changed = m->stream > from || st->initial, empty = 0;
		int			 fresh = 1;	/* joined at since */
		const char		*section = NULL;

		/* Spec: POST /forget: a forgotten room is in no section. */
		if (m->forgotten)
			continue;
		if (at != NULL)
			for (start = (size_t)json_integer_value(at); start + n < rowsz &&
			    strcmp(rows[start + n].room_id, m->room_id) == 0; n++)
				;
		if (ctx->joined != NULL && (st->initial || st->full_state) &&
		    strcmp(m->membership, "join") == 0)
			json_array_append_new(ctx->joined, json_stringn_nocheck(m->room_id,
			    strlen(m->room_id)));
		/* Spec: RoomFilter rooms, not_rooms: "applied before" the other filters. */
		if (!mfilter_room_match(f.room, m->room_id))
			continue;
		/*
		 * As Synapse: a room is new to the client when the user was not
		 * joined to it at since (a rejoin after a leave in between is not).
		 */
		if (!st->initial && !st->full_state && m->stream > from &&
		    strcmp(m->membership, "invite") != 0 && strcmp(m->membership, "knock") != 0 &&
		    (fresh = joined_at(req, m->room_id, req->auth.user_id, from)) == -1) {
			mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
			goto out;
		}
		if (strcmp(m->membership, "join") == 0) {
			int newly = st->initial || st->full_state || fresh == 0;

			if (n == 0 && !newly)
				continue;
			section = "join";
			sec = room_section(ctx, &f, m, rows + start, keep + start, n, newly, to,
			    members, lazysent, &empty);
			if (sec != NULL && empty && !newly) {
				/* Everything new was filtered out. */
				json_decref(sec);
				continue;
			}
		} else if (strcmp(m->membership, "invite") == 0) {
			if (!changed && !st->full_state)
				continue;
			if (f.ignored != NULL && json_object_get(f.ignored,
			    mjson_str(m->event, "sender")) != NULL)
				continue;
			section = "invite";
			sec = json_pack("{s:{s:o}}", "invite_state", "events",
			    sync_stripped_state(req, m->room_id, m->event));
		} else if (strcmp(m->membership, "knock") == 0) {
			if (!changed && !st->full_state)
				continue;
			section = "knock";
			sec = json_pack("{s:{s:o}}", "knock_state", "events",
			    sync_stripped_state(req, m->room_id, m->event));
		} else if (leave_shown(ctx, &f, m, from)) {
			/* Left, kicked or banned: the events up to the leave. */
			section = "leave";
			sec = was_joined(m) ? room_section(ctx, &f, m, rows + start, keep + start, n,
			    st->initial || st->full_state || fresh == 0,
			    m->stream < to ? m->stream : to,
			    members, lazysent, &empty) : left_unjoined(req, &f, m);
		} else
			continue;
		if (sec == NULL) {
			mfcgi_fail(req, MERR_INTERNAL, "%s: room section failed", __func__);
			goto out;
		}
		json_object_set_new(json_object_get(rooms, section), m->room_id, sec);
		ctx->empty = 0;
	}
	/*
	 * Written before the response leaves: a response that never arrives
	 * costs only redundant members later, as records count from its
	 * next_batch on (see mstore_sync_lazy_known).
	 */
	if (f.lazy && mstore_sync_lazy_put(req->db, req->auth.user_id,
	    req->auth.device_id != NULL ? req->auth.device_id : "", lazysent, to) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	rc = 0;
out:
	/* An initial or full-state sync answers now: its largest go after the answer. */
	if (rc == 0 && (st->initial || st->full_state)) {
		mfcgi_req_after_json(req, f.groups);
		mfcgi_req_after_json(req, f.cur);
		mfcgi_req_after_json(req, members);
		mfcgi_req_after(req, rows_free, rows, rowsz);
		f.groups = f.cur = members = NULL;
		rows = NULL;
	}
	json_decref(f.groups);
	json_decref(f.names);
	json_decref(f.cur);
	free(f.rix);
	json_decref(ignore);
	json_decref(index);
	json_decref(lazysent);
	json_decref(members);
	msyncmember_list_free(mem, memsz);
	free(stand);
	mevrow_list_free(rows, rowsz);
	free(keep);
	return rc;
}

json_t *
sync_joined_room(struct syncctx *ctx, const char *room_id)
{
	json_t *join = json_object_get(json_object_get(ctx->resp, "rooms"), "join");
	json_t *sec = json_object_get(join, room_id);

	if (sec == NULL) {
		sec = json_pack("{s:{s:[],s:b},s:{s:[]},s:{s:[]},s:{s:[]}}",
		    "timeline", "events", "limited", 0, "state", "events",
		    "ephemeral", "events", "account_data", "events");
		json_object_set_new(join, room_id, sec);
	}
	return sec;
}

const struct syncstream sync_events = { SPOS_EVENTS, "events", collect, NULL };
