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
};

/* One page of events read beyond the batch, and which of them the user may see. */
struct page {
	struct mevrow	*v;
	unsigned char	*keep;
	size_t		 n;
};

/* An event looked at for a timeline. */
struct scanned {
	const struct mevrow	*row;		/* borrowed from the batch or a page */
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
}

int
sync_room_allowed(const struct syncctx *ctx, const char *room_id)
{
	return mfilter_room_match(json_object_get(ctx->st->filter, "room"), room_id);
}

/* The client format of an event for /sync (rooms are keyed, so no room_id is needed). */
static json_t *
sync_event(struct mreq *req, const struct mevrow *row)
{
	return mroom_client_event(row, mclock_now_ms(), req->auth.user_id, req->auth.device_id);
}

/* A state event as a client event: it carries its "event_id". */
static json_t *
state_event(struct mreq *req, json_t *ev)
{
	return mroom_state_client_event(ev, NULL, mclock_now_ms(), req->auth.user_id,
	    req->auth.device_id);
}

/*
 * Spec: "stripped state" for invites and knocks: type, state_key, sender,
 * content.  As Synapse, the member event of the invite's sender comes
 * too (SyTest: a third-party invite's invite_state names its inviter).
 */
static json_t *
stripped_state(struct mreq *req, const char *room_id, const json_t *own)
{
	static const char *const keep[] = {
		"m.room.create", "m.room.join_rules", "m.room.name", "m.room.avatar",
		"m.room.canonical_alias", "m.room.encryption", "m.room.topic",
	};
	json_t		*all = mstore_cstate_all(req->db, room_id), *out = json_array(), *ev;
	const char	*by = mjson_str(own, "sender"), *me = mjson_str(own, "state_key");
	size_t		 i;

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
roomtl_push(struct roomtl *tl, const struct mevrow *row, int keep)
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
 * Fills tl with the newest events of room_id after since that the user
 * may see (spec: "History visibility") and that pass the timeline
 * filter, at most limit.  rows[0..n) are the batch's newest events of
 * the room, oldest first, at most limit + 1, and keep[0..n) which of
 * them the user may see: when some are dropped and the batch was full,
 * older pages are read.  limited: more matching events exist, or
 * SCAN_MAX were looked at.  0 or -1.
 */
static int
room_timeline(struct mreq *req, const struct evfilter *f, int64_t limit, int64_t since,
    const char *room_id, struct mevrow *rows, const unsigned char *keep, size_t n,
    struct roomtl *tl)
{
	size_t	 want = (size_t)limit + 1;
	int	 more = n >= want;
	int64_t	 pos = n > 0 ? rows[0].stream : 0;

	for (size_t i = n; i > 0 && tl->nkeep < want; i--)
		if (roomtl_push(tl, &rows[i - 1], keep[i - 1] && mfilter_event_match(f->timeline,
		    room_id, rows[i - 1].json)) == -1)
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
			if (roomtl_push(tl, &p->v[i], p->keep[i] && mfilter_event_match(f->timeline,
			    room_id, p->v[i].json)) == -1)
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

/* A state map (state key -> event) of a room's current state, or NULL. */
static json_t *
current_state_map(struct mreq *req, const char *room_id)
{
	json_t	*all, *map, *ev;
	size_t	 i;

	if ((all = mstore_cstate_all(req->db, room_id)) == NULL)
		return NULL;
	if ((map = json_object()) == NULL) {
		json_decref(all);
		return NULL;
	}
	json_array_foreach(all, i, ev) {
		char *k = mstate_key_join(mjson_str(ev, "type"), mjson_str(ev, "state_key"));

		if (k == NULL || json_object_set(map, k, ev) == -1) {
			free(k);
			json_decref(map);
			map = NULL;
			break;
		}
		free(k);
	}
	json_decref(all);
	return map;
}

/* Whether a state event of the map goes into the state section. */
static int
state_wanted(const struct evfilter *f, const char *room_id, const json_t *ev,
    const json_t *wanted, int other)
{
	const char *type = mjson_str(ev, "type"), *sk = mjson_str(ev, "state_key");

	if (!mfilter_event_match(f->state, room_id, ev))
		return 0;
	/* Spec: "Lazy-loading room members": only the members asked for. */
	if (f->lazy && type != NULL && strcmp(type, "m.room.member") == 0)
		return sk != NULL && json_object_get(wanted, sk) != NULL;
	return other;
}

/* Appends a state event to the section, remembering lazy members sent.  0 or -1. */
static int
state_add(struct mreq *req, const struct evfilter *f, const char *room_id, json_t *ev,
    json_t *state, json_t *lazysent)
{
	const char *type = mjson_str(ev, "type");

	if (json_array_append_new(state, state_event(req, ev)) == -1)
		return -1;
	if (f->lazy && type != NULL && strcmp(type, "m.room.member") == 0 &&
	    json_array_append_new(lazysent, json_pack("[s,s,s]", room_id,
	    mjson_str(ev, "state_key"), mjson_str(ev, "event_id"))) == -1)
		return -1;
	return 0;
}

/*
 * The state section of one room (spec: GET /sync, "state": "updates to
 * the state, between the time indicated by the since parameter, and the
 * start of the timeline").  full (the client has no state for the room,
 * or a gap hides changes): the whole state at the timeline's start.
 * Otherwise, as Synapse does, the state events the timeline filter hid:
 * those before the timeline's start at their value there, those after
 * it at their value at the end, unless the timeline sets them later.
 * With lazy-loading, membership events only for the timeline's senders
 * (and the user, when the room is new to the client), less those this
 * device was sent already (see mstore_sync_lazy_known).  Appends to
 * state; lazy members sent go to lazysent.  0 or -1.
 */
static int
room_state(struct syncctx *ctx, const struct evfilter *f, const char *room_id,
    const struct roomtl *tl, int full, int newly, json_t *state, json_t *lazysent)
{
	struct mreq	*req = ctx->req;
	json_t		*before = json_object(), *after = json_object(), *seen = json_object();
	json_t		*wanted = json_object(), *known = NULL, *start = NULL, *end = NULL, *ev;
	const char	*k;
	size_t		 oldest = tl->scansz;	/* the oldest event kept, or scansz */
	int		 rc = -1;

	if (before == NULL || after == NULL || seen == NULL || wanted == NULL)
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
		if ((key = mstate_key_join(row->type, row->state_key)) == NULL)
			goto out;
		if (tl->scan[i].keep)
			json_object_set_new(seen, key, json_true());
		else if (oldest == tl->scansz || i > oldest)
			json_object_set_new(before, key, json_true());
		else if (json_object_get(seen, key) == NULL)
			json_object_set_new(after, key, json_true());
		free(key);
	}
	if (f->lazy && newly)
		json_object_set_new(wanted, req->auth.user_id, json_true());
	/* Spec: the server MAY skip "redundant membership events". */
	if (f->lazy && !f->redundant && !newly && json_object_size(wanted) > 0) {
		if ((known = mstore_sync_lazy_known(req->db, req->auth.user_id,
		    req->auth.device_id != NULL ? req->auth.device_id : "", room_id,
		    ctx->from.p[SPOS_EVENTS])) == NULL)
			goto out;
		json_object_foreach(known, k, ev)
			json_object_del(wanted, k);
	}
	if (full || json_object_size(before) > 0 || json_object_size(wanted) > 0) {
		/* The state at the timeline's start; an empty timeline starts at its end. */
		if (tl->scansz == 0)
			start = current_state_map(req, room_id);
		else
			start = mstore_sgroup_state_events(req->db, oldest < tl->scansz ?
			    tl->scan[oldest].row->state_before : tl->scan[0].row->state_after);
		if (start == NULL)
			goto out;
		json_object_foreach(start, k, ev)
			if (json_object_get(after, k) == NULL &&
			    state_wanted(f, room_id, ev, wanted, full ||
			    json_object_get(before, k) != NULL) &&
			    state_add(req, f, room_id, ev, state, lazysent) == -1)
				goto out;
	}
	if (json_object_size(after) > 0 && tl->scansz > 0) {
		/* XXX With forks from federation, the newest event need not hold the end's state. */
		if ((end = mstore_sgroup_state_events(req->db, tl->scan[0].row->state_after)) == NULL)
			goto out;
		json_object_foreach(after, k, ev) {
			json_t *sev = json_object_get(end, k);

			if (sev != NULL && state_wanted(f, room_id, sev, wanted, 1) &&
			    state_add(req, f, room_id, sev, state, lazysent) == -1)
				goto out;
		}
	}
	rc = 0;
out:
	json_decref(before);
	json_decref(after);
	json_decref(seen);
	json_decref(wanted);
	json_decref(known);
	json_decref(start);
	json_decref(end);
	return rc;
}

/*
 * One joined or left room's section from its timeline rows[0..n) (oldest
 * first, at most limit + 1; keep[0..n) those the user may see), with the
 * state the client needs.  newly:
 * the client has nothing of the room yet (initial sync, full_state, a
 * new join).  upto: the end of the user's view (a leave's position).
 * *empty is set when the section says nothing.  Returns it, or NULL.
 */
static json_t *
room_section(struct syncctx *ctx, const struct evfilter *f, const struct msyncmember *m,
    struct mevrow *rows, const unsigned char *keep, size_t n, int newly, int64_t upto,
    const json_t *members, json_t *lazysent, int *empty)
{
	struct mreq		*req = ctx->req;
	const struct syncstate	*st = ctx->st;
	struct roomtl		 tl;
	json_t			*sec = NULL, *tl_events = json_array(), *state = json_array();
	int64_t			 since = st->initial ? 0 : ctx->from.p[SPOS_EVENTS], prev;
	char			 tok[32];

	memset(&tl, 0, sizeof(tl));
	if (tl_events == NULL || state == NULL ||
	    room_timeline(req, f, st->limit, since, m->room_id, rows, keep, n, &tl) == -1 ||
	    room_state(ctx, f, m->room_id, &tl, newly || tl.limited, newly, state,
	    lazysent) == -1)
		goto fail;
	prev = upto;
	for (size_t i = tl.scansz; i > 0; i--)
		if (tl.scan[i - 1].keep) {
			if (json_array_size(tl_events) == 0)
				prev = tl.scan[i - 1].row->stream - 1;
			if (json_array_append_new(tl_events, sync_event(req, tl.scan[i - 1].row)) == -1)
				goto fail;
		}
	if (json_array_size(tl_events) == 0 && tl.scansz > 0)
		prev = tl.scan[0].row->stream;
	*empty = json_array_size(tl_events) == 0 && json_array_size(state) == 0;
	/* Spec: prev_batch pages back from the timeline's start with /messages. */
	snprintf(tok, sizeof(tok), "t%lld", (long long)prev);
	if ((sec = json_pack("{s:{s:o,s:b,s:s},s:{s:o},s:{s:[]},s:{s:[]}}",
	    "timeline", "events", tl_events, "limited", tl.limited, "prev_batch", tok,
	    "state", "events", state, "ephemeral", "events", "account_data", "events")) == NULL)
		goto fail2;
	if (strcmp(m->membership, "join") == 0) {
		json_t	*r = json_object_get(members, m->room_id);
		json_t	*heroes = json_array(), *v;
		size_t	 i;

		/* Spec: m.heroes: up to 5 other members, for naming unnamed rooms. */
		json_array_foreach(json_object_get(r, "join"), i, v)
			if (json_array_size(heroes) < 5 &&
			    strcmp(json_string_value(v), req->auth.user_id) != 0)
				json_array_append(heroes, v);
		json_array_foreach(json_object_get(r, "invite"), i, v)
			if (json_array_size(heroes) < 5)
				json_array_append(heroes, v);
		json_object_set_new(sec, "summary", json_pack("{s:o,s:I,s:I}", "m.heroes", heroes,
		    "m.joined_member_count", (json_int_t)json_array_size(json_object_get(r, "join")),
		    "m.invited_member_count",
		    (json_int_t)json_array_size(json_object_get(r, "invite"))));
		json_object_set_new(sec, "unread_notifications", json_object());
	}
	roomtl_fini(&tl);
	return sec;
fail:
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
left_unjoined(struct mreq *req, const struct msyncmember *m)
{
	return json_pack("{s:{s:[o],s:b},s:{s:[]},s:{s:[]},s:{s:[]}}",
	    "timeline", "events", state_event(req, m->event), "limited", 0,
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
	struct mevrow		*rows = NULL;
	unsigned char		*keep = NULL;
	size_t			 memsz = 0, rowsz = 0;
	json_t			*rooms = json_object_get(ctx->resp, "rooms");
	json_t			*members = NULL, *index = json_object(), *lazysent = json_array();
	int64_t			 from = st->initial ? 0 : ctx->from.p[SPOS_EVENTS];
	int64_t			 to = ctx->to.p[SPOS_EVENTS];
	int			 rc = -1;

	evfilter_init(&f, st->filter);
	if (index == NULL || lazysent == NULL ||
	    mstore_sync_memberships(req->db, req->auth.user_id, &mem, &memsz) == -1 ||
	    mstore_sync_timelines(req->db, req->auth.user_id, from, to, st->limit + 1, &rows,
	    &rowsz) == -1 ||
	    (members = mstore_sync_members(req->db, req->auth.user_id)) == NULL ||
	    (keep = calloc(rowsz > 0 ? rowsz : 1, 1)) == NULL ||
	    mroom_vis_filter(req->db, req->auth.user_id, rows, rowsz, keep) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	/* Rows come grouped by room: where each room's start. */
	for (size_t r = 0; r < rowsz; r++)
		if (r == 0 || strcmp(rows[r].room_id, rows[r - 1].room_id) != 0)
			json_object_set_new(index, rows[r].room_id, json_integer((json_int_t)r));
	for (size_t i = 0; i < memsz; i++) {
		struct msyncmember	*m = &mem[i];
		json_t			*at = json_object_get(index, m->room_id), *sec = NULL;
		size_t			 start = 0, n = 0;
		int			 changed = m->stream > from || st->initial, empty = 0;
		const char		*section = NULL;

		if (at != NULL)
			for (start = (size_t)json_integer_value(at); start + n < rowsz &&
			    strcmp(rows[start + n].room_id, m->room_id) == 0; n++)
				;
		if (strcmp(m->membership, "join") == 0)
			json_array_append_new(ctx->joined, json_string(m->room_id));
		/* Spec: RoomFilter rooms, not_rooms: "applied before" the other filters. */
		if (!mfilter_room_match(f.room, m->room_id))
			continue;
		if (strcmp(m->membership, "join") == 0) {
			int newly = st->initial || st->full_state ||
			    (m->stream > from && !was_joined(m));

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
			section = "invite";
			sec = json_pack("{s:{s:o}}", "invite_state", "events",
			    stripped_state(req, m->room_id, m->event));
		} else if (strcmp(m->membership, "knock") == 0) {
			if (!changed && !st->full_state)
				continue;
			section = "knock";
			sec = json_pack("{s:{s:o}}", "knock_state", "events",
			    stripped_state(req, m->room_id, m->event));
		} else if (leave_shown(ctx, &f, m, from)) {
			/* Left, kicked or banned: the events up to the leave. */
			section = "leave";
			sec = was_joined(m) ? room_section(ctx, &f, m, rows + start, keep + start, n,
			    st->initial || st->full_state, m->stream < to ? m->stream : to,
			    members, lazysent, &empty) : left_unjoined(req, m);
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
	json_decref(index);
	json_decref(lazysent);
	json_decref(members);
	msyncmember_list_free(mem, memsz);
	mevrow_list_free(rows, rowsz);
	free(keep);
	return rc;
}

static int64_t
current(struct mreq *req)
{
	return mstore_events_max_stream(req->db);
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

const struct syncstream sync_events = { SPOS_EVENTS, "events", current, collect };
