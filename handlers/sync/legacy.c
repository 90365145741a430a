/* The deprecated event stream and initial syncs: GET /events, /initialSync, /rooms/{id}/initialSync. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"
#include "json/json.h"
#include "notify/notify.h"
#include "room/room.h"
#include "store/store.h"
#include "sync.h"

#define EVENTS_DEFAULT_LIMIT	100	/* room events per /events answer */
#define EVENTS_MAX_LIMIT	1000
#define EVENTS_DEFAULT_TIMEOUT	30000	/* Synapse's DEFAULT_LONGPOLL_TIME_MS */
#define EVENTS_MAX_TIMEOUT	(5 * 60 * 1000)
#define INITIAL_DEFAULT_LIMIT	10	/* messages per room, as Synapse */
#define INITIAL_MAX_LIMIT	100
/* Hidden events are read in pages of MSG_PAGE, at most MSG_SCAN_MAX per room. */
#define MSG_PAGE		50
#define MSG_SCAN_MAX		1000

/* The streams beside events, whose collectors the legacy endpoints share with /sync. */
enum side { SIDE_TYPING, SIDE_RECEIPTS, SIDE_ACCOUNT_DATA, SIDE_PRESENCE, SIDE__MAX };

static const struct syncstream *const sides[SIDE__MAX] = {
	&sync_typing, &sync_receipts, &sync_account_data, &sync_presence,
};

#define SIDE_ALL	((1u << SIDE__MAX) - 1)

/* What one GET /events keeps between wakes. */
struct evstate {
	struct syncstate	 st;		/* since: where the answer starts */
	char			 start[256];	/* the token the client gave, or the first now */
	int64_t			 limit;
	char			*room_id;	/* room_id: that room only, or NULL */
	int			 peeking;	/* room_id is world_readable, not joined */
};

static void
evstate_free(void *p)
{
	struct evstate *es = p;

	if (es == NULL)
		return;
	free(es->room_id);
	free(es);
}

/*
 * Synapse 1.67 gives the legacy endpoints events in the v1 client format:
 * the v2 one plus user_id (the sender) and some of unsigned copied to the
 * top level.  An m.presence event also names its user in the content.
 * Changes ev in place and returns it.
 */
static json_t *
event_v1(json_t *ev)
{
	static const char *const copy[] = {
		"age", "redacted_because", "replaces_state", "prev_content",
	};
	json_t		*uns = json_object_get(ev, "unsigned"), *sender;
	const char	*type = mjson_str(ev, "type");

	if (ev == NULL)
		return NULL;
	if ((sender = json_object_get(ev, "sender")) != NULL) {
		json_object_set(ev, "user_id", sender);
		if (type != NULL && strcmp(type, "m.presence") == 0 &&
		    json_is_object(json_object_get(ev, "content")))
			json_object_set(json_object_get(ev, "content"), "user_id", sender);
	}
	for (size_t i = 0; i < sizeof(copy) / sizeof(copy[0]); i++)
		if (json_object_get(uns, copy[i]) != NULL)
			json_object_set(ev, copy[i], json_object_get(uns, copy[i]));
	return ev;
}

static json_t *
row_event(struct mreq *req, const struct mevrow *row)
{
	return event_v1(mroom_client_event(row, mclock_now_ms(), req->auth.user_id,
	    req->auth.device_id));
}

static json_t *
state_event(struct mreq *req, const json_t *ev, const char *room_id)
{
	return event_v1(mroom_state_client_event(ev, room_id, mclock_now_ms(),
	    req->auth.user_id, req->auth.device_id));
}

/*
 * Runs the collectors of the streams in mask over (st->since, to] (all
 * of them when st->initial) for the rooms in joined (borrowed), as /sync
 * does.  Returns the /sync-shaped response they built (new reference),
 * or NULL with the request failed.
 */
static json_t *
side_run(struct mreq *req, const struct syncstate *st, const struct syncpos *to,
    json_t *joined, unsigned mask)
{
	struct syncctx	 ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.req = req;
	ctx.st = st;
	ctx.from = st->since;
	ctx.to = *to;
	ctx.empty = 1;
	ctx.joined = joined;
	ctx.resp = json_pack("{s:{s:{},s:{},s:{},s:{}},s:{s:[]},s:{s:[]}}",
	    "rooms", "join", "invite", "leave", "knock",
	    "account_data", "events", "presence", "events");
	if (ctx.resp == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		return NULL;
	}
	for (int i = 0; i < SIDE__MAX; i++)
		if ((mask & (1u << i)) && sides[i]->collect(&ctx) == -1) {
			json_decref(ctx.moves);
			json_decref(ctx.resp);
			return NULL;
		}
	json_decref(ctx.moves);
	return ctx.resp;
}

/* The events of section what ("ephemeral", "account_data") of room_id in a side_run response. */
static json_t *
side_room(const json_t *resp, const char *room_id, const char *what)
{
	return json_object_get(json_object_get(json_object_get(json_object_get(
	    json_object_get(resp, "rooms"), "join"), room_id), what), "events");
}

/* Appends copies of the events of from to out, each with room_id (NULL: none). */
static void
append_events(json_t *out, const json_t *from, const char *room_id)
{
	size_t	 i;
	json_t	*ev;

	json_array_foreach(from, i, ev) {
		json_t *c = json_deep_copy(ev);

		if (c == NULL)
			continue;
		if (room_id != NULL)
			json_object_set_new(c, "room_id", json_string(room_id));
		json_array_append_new(out, event_v1(c));
	}
}

/* Every per-room side event of resp (typing, receipts, room account data) into out. */
static void
append_side_rooms(json_t *out, const json_t *resp)
{
	const char	*room_id;
	json_t		*sec;

	json_object_foreach(json_object_get(json_object_get(resp, "rooms"), "join"), room_id, sec) {
		append_events(out, json_object_get(json_object_get(sec, "ephemeral"), "events"),
		    room_id);
		append_events(out, json_object_get(json_object_get(sec, "account_data"),
		    "events"), room_id);
	}
}

static int
row_cmp(const void *a, const void *b)
{
	const struct mevrow *x = a, *y = b;

	return x->stream < y->stream ? -1 : x->stream > y->stream;
}

/*
 * The room events of GET /events over (from, *to]: in each room of rooms
 * (a JSON object, room ID -> the last position the user may read there),
 * up to limit events the user may see, oldest first, appended to chunk
 * in the v1 format.  When a room has more than one read gives, *to is
 * brought back to the last position read completely, so that the next
 * call, from *to, goes on from there (SyTest: "Event stream catches up
 * fully after many messages").  0, or -1 with the request failed.
 */
static int
room_events(struct mreq *req, const json_t *rooms, int64_t from, int64_t *to, int64_t limit,
    json_t *chunk)
{
	struct mevrow	*all = NULL, *rows;
	unsigned char	*keep = NULL;
	size_t		 allsz = 0, n;
	const char	*room_id;
	json_t		*upto;
	int64_t		 end = *to, kept = 0;
	int		 rc = -1;

	json_object_foreach((json_t *)rooms, room_id, upto) {
		int64_t		 stop = json_integer_value(upto) < *to ?
				    json_integer_value(upto) : *to;
		struct mevrow	*na;

		if (stop <= from)
			continue;
		if (mstore_events_page(req->db, room_id, 0, from, stop, limit, &rows, &n) == -1) {
			mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
			goto out;
		}
		/* A full page may have left events unread after its last. */
		if ((int64_t)n == limit && n > 0 && rows[n - 1].stream < end)
			end = rows[n - 1].stream;
		if (n == 0) {
			free(rows);
			continue;
		}
		if ((na = reallocarray(all, allsz + n, sizeof(*all))) == NULL) {
			mevrow_list_free(rows, n);
			mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
			goto out;
		}
		all = na;
		memcpy(all + allsz, rows, n * sizeof(*rows));
		allsz += n;
		free(rows);
	}
	if (allsz > 1)
		qsort(all, allsz, sizeof(*all), row_cmp);
	if ((keep = calloc(allsz > 0 ? allsz : 1, 1)) == NULL ||
	    mroom_vis_filter(req->db, req->auth.user_id, all, allsz, keep) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	for (size_t i = 0; i < allsz && all[i].stream <= end; i++) {
		if (!keep[i])
			continue;
		json_array_append_new(chunk, row_event(req, &all[i]));
		if (++kept == limit) {
			end = all[i].stream;
			break;
		}
	}
	*to = end;
	rc = 0;
out:
	mevrow_list_free(all, allsz);
	free(keep);
	return rc;
}

/* Reads the query of GET /events once, on the first run.  0, or -1 with the request failed. */
static int
events_setup(struct mreq *req, struct evstate **out)
{
	struct evstate		*es;
	struct mroom_reader	 r;
	char			*from = mreq_query(req, "from"), *room = mreq_query(req, "room_id");
	int64_t			 timeout;
	int			 rc = -1;

	if ((es = calloc(1, sizeof(*es))) == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	/* Synapse: "Guest users must specify room_id param" (400 M_UNKNOWN). */
	if (req->auth.is_guest && room == NULL) {
		mfcgi_fail(req, MERR_UNKNOWN, "Guest users must specify room_id param");
		goto out;
	}
	/* Spec: C-S API, GET /events: from, timeout, room_id; Synapse also reads limit. */
	if (mreq_query_int(req, "timeout", EVENTS_DEFAULT_TIMEOUT, 0, INT64_MAX, &timeout) == -1 ||
	    mreq_query_int(req, "limit", EVENTS_DEFAULT_LIMIT, 0, INT64_MAX, &es->limit) == -1)
		goto out;
	if (es->limit == 0 || es->limit > EVENTS_MAX_LIMIT)
		es->limit = es->limit == 0 ? EVENTS_DEFAULT_LIMIT : EVENTS_MAX_LIMIT;
	if (timeout > EVENTS_MAX_TIMEOUT)
		timeout = EVENTS_MAX_TIMEOUT;
	es->st.deadline = mclock_now_ms() + timeout;
	/* No from: the stream starts now, as Synapse's. */
	if (from != NULL && *from != '\0') {
		if (sync_token_parse(req, from, &es->st.since) == -1)
			goto out;
	} else if (sync_now(req, &es->st.since) == -1)
		goto out;
	sync_token_format(&es->st.since, es->start, sizeof(es->start));
	if (room != NULL) {
		/*
		 * Spec: "Peeking": a room the user is not in may be followed
		 * when it is world_readable.  As Synapse, any other room the
		 * user is not in is 403 M_FORBIDDEN, unknown ones included.
		 */
		switch (mroom_vis_reader(req->db, room, req->auth.user_id, &r)) {
		case MROOM_OK:
			break;
		case MROOM_NO_ROOM:
		case MROOM_FORBIDDEN:
			mfcgi_fail(req, MERR_FORBIDDEN, "You may not read this room");
			goto out;
		default:
			mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
			goto out;
		}
		/*
		 * A former member follows the room only while anyone may
		 * (Synapse: "not in room, and room previews are disabled").
		 */
		if (r.stand == MROOM_STAND_DEPARTED) {
			json_t	*hv;
			int	 err = 0, open;

			hv = mstore_cstate_event(req->db, room, "m.room.history_visibility", "",
			    &err);
			open = hv != NULL && mjson_str(json_object_get(hv, "content"),
			    "history_visibility") != NULL && strcmp(mjson_str(json_object_get(hv,
			    "content"), "history_visibility"), "world_readable") == 0;
			json_decref(hv);
			if (err) {
				mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
				goto out;
			}
			if (!open) {
				mfcgi_fail(req, MERR_FORBIDDEN, "You may not read this room");
				goto out;
			}
		}
		es->peeking = r.stand != MROOM_STAND_JOINED;
		es->room_id = room;
		room = NULL;
	}
	*out = es;
	es = NULL;
	rc = 0;
out:
	evstate_free(es);
	free(from);
	free(room);
	return rc;
}

/*
 * The rooms whose events the user follows: joined rooms to now, rooms
 * left since since up to the leave, and only room_id when given (a
 * peeked room to now).  joined gets the joined ones (for the collectors);
 * invites that arrived in (since, to] go to invites, as [position,
 * event].  Returns an object room ID -> last readable position, or NULL
 * with the request failed.
 */
static json_t *
followed_rooms(struct mreq *req, const struct evstate *es, int64_t to, json_t *joined,
    json_t *invites)
{
	struct msyncmember	*mem = NULL;
	size_t			 memsz = 0;
	json_t			*rooms = json_object();
	int64_t			 since = es->st.since.p[SPOS_EVENTS];

	if (rooms == NULL ||
	    mstore_sync_memberships(req->db, req->auth.user_id, &mem, &memsz) == -1) {
		json_decref(rooms);
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		return NULL;
	}
	for (size_t i = 0; i < memsz; i++) {
		const struct msyncmember *m = &mem[i];

		if (es->room_id != NULL && strcmp(es->room_id, m->room_id) != 0)
			continue;
		if (strcmp(m->membership, "join") == 0) {
			json_object_set_new(rooms, m->room_id, json_integer(to));
			json_array_append_new(joined, json_string(m->room_id));
		} else if (strcmp(m->membership, "invite") == 0) {
			/* Spec: the invitee hears of the invite in the stream. */
			if (m->stream > since && m->stream <= to)
				json_array_append_new(invites, json_pack("[I,o]",
				    (json_int_t)m->stream, state_event(req, m->event,
				    m->room_id)));
		} else if (m->stream > since && strcmp(m->membership, "knock") != 0)
			/* Left, kicked or banned since: the events up to that. */
			json_object_set_new(rooms, m->room_id, json_integer(m->stream));
	}
	if (es->room_id != NULL && es->peeking)
		json_object_set_new(rooms, es->room_id, json_integer(to));
	msyncmember_list_free(mem, memsz);
	return rooms;
}

/*
 * The typing, receipts and members' presence of the one room GET /events
 * follows (room_id), over (since, to], for a member or a peeker alike
 * (spec: "Peeking"; SyTest, 30rooms/30history-visibility.pl): appended
 * to chunk.  0, or -1 with the request failed.
 */
static int
room_side(struct mreq *req, const struct evstate *es, const struct syncpos *to, json_t *chunk)
{
	const struct syncpos	*from = &es->st.since;
	struct mreceipt		*v = NULL;
	size_t			 n = 0, i;
	json_t			*typing = NULL, *presence = NULL, *content = NULL, *ev;
	int			 rc = -1;

	if (from->p[SPOS_TYPING] < to->p[SPOS_TYPING]) {
		if ((typing = mstore_typing_room(req->db, es->room_id, from->p[SPOS_TYPING],
		    to->p[SPOS_TYPING])) == NULL)
			goto fail;
		if ((ev = json_object_get(typing, es->room_id)) != NULL)
			json_array_append_new(chunk, json_pack("{s:s,s:s,s:{s:O}}", "type",
			    "m.typing", "room_id", es->room_id, "content", "user_ids", ev));
	}
	if (from->p[SPOS_RECEIPTS] < to->p[SPOS_RECEIPTS]) {
		if (mstore_receipts_room(req->db, es->room_id, from->p[SPOS_RECEIPTS],
		    to->p[SPOS_RECEIPTS], &v, &n) == -1 || (content = json_object()) == NULL)
			goto fail;
		/* Spec: m.receipt, {event_id: {receipt_type: {user_id: {ts, thread_id?}}}}. */
		for (i = 0; i < n; i++) {
			json_t *byev, *bytype, *r;

			if ((byev = json_object_get(content, v[i].event_id)) == NULL)
				json_object_set_new(content, v[i].event_id, byev = json_object());
			if ((bytype = json_object_get(byev, v[i].type)) == NULL)
				json_object_set_new(byev, v[i].type, bytype = json_object());
			r = json_pack("{s:I}", "ts", (json_int_t)v[i].ts);
			if (*v[i].thread_id != '\0')
				json_object_set_new(r, "thread_id", json_string(v[i].thread_id));
			json_object_set_new(bytype, v[i].user_id, r);
		}
		if (json_object_size(content) > 0)
			json_array_append_new(chunk, json_pack("{s:s,s:s,s:O}", "type",
			    "m.receipt", "room_id", es->room_id, "content", content));
	}
	if (from->p[SPOS_PRESENCE] < to->p[SPOS_PRESENCE]) {
		if ((presence = mstore_presence_room(req->db, es->room_id,
		    from->p[SPOS_PRESENCE], to->p[SPOS_PRESENCE], mclock_now_ms())) == NULL)
			goto fail;
		append_events(chunk, presence, NULL);
	}
	rc = 0;
	goto out;
fail:
	mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
out:
	mreceipt_list_free(v, n);
	json_decref(typing);
	json_decref(presence);
	json_decref(content);
	return rc;
}

/*
 * One look at the streams for GET /events over (since, now].  Returns
 * {chunk, start, end}, or NULL with the request failed; *more is set
 * when room events were left unread past end.
 */
static json_t *
events_run(struct mreq *req, struct evstate *es, int *more)
{
	struct syncpos	 to;
	json_t		*chunk = json_array(), *joined = json_array(), *rooms = NULL;
	json_t		*side = NULL, *out = NULL, *invites = json_array(), *inv;
	char		 tok[256];
	unsigned	 mask = SIDE_ALL;
	int64_t		 now;
	size_t		 i;

	if (chunk == NULL || joined == NULL || invites == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	if (sync_now(req, &to) == -1)
		goto out;
	/* A token past the present is read as the present, as /sync does. */
	for (int k = 0; k < SPOS__MAX; k++)
		if (es->st.since.p[k] > to.p[k])
			es->st.since.p[k] = to.p[k];
	now = to.p[SPOS_EVENTS];
	if ((rooms = followed_rooms(req, es, to.p[SPOS_EVENTS], joined, invites)) == NULL ||
	    room_events(req, rooms, es->st.since.p[SPOS_EVENTS], &to.p[SPOS_EVENTS], es->limit,
	    chunk) == -1)
		goto out;
	*more = to.p[SPOS_EVENTS] < now;
	/* An invite past a shortened end comes with the next answer, once. */
	json_array_foreach(invites, i, inv)
		if (json_integer_value(json_array_get(inv, 0)) <= to.p[SPOS_EVENTS])
			json_array_append(chunk, json_array_get(inv, 1));
	/*
	 * A followed room: its own typing, receipts and members' presence,
	 * which a peeker, joined to nothing there, is owed too.
	 */
	if (es->room_id != NULL) {
		if (room_side(req, es, &to, chunk) == -1)
			goto out;
		mask = 0;
	}
	if ((side = side_run(req, &es->st, &to, joined, mask)) == NULL)
		goto out;
	append_events(chunk, json_object_get(json_object_get(side, "presence"), "events"), NULL);
	append_side_rooms(chunk, side);
	append_events(chunk, json_object_get(json_object_get(side, "account_data"), "events"),
	    NULL);
	sync_token_format(&to, tok, sizeof(tok));
	out = json_pack("{s:o,s:s,s:s}", "chunk", chunk, "start", es->start, "end", tok);
	chunk = NULL;
	if (out == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	/* Nothing the user sees happened up to here: a later look starts after it. */
	if (json_array_size(json_object_get(out, "chunk")) == 0)
		es->st.since = to;
out:
	json_decref(chunk);
	json_decref(joined);
	json_decref(invites);
	json_decref(rooms);
	json_decref(side);
	return out;
}

/*
 * Spec: C-S API, deprecated GET /events.  An answer with no event waits
 * (parked, no thread held) until something moves or timeout passes; the
 * tokens are /sync's, so next_batch and end are interchangeable.
 */
int
h_events(struct mreq *req)
{
	struct evstate	*es = req->state;
	json_t		*out;
	uint32_t	 seq;
	int		 more;

	if (es == NULL) {
		if (events_setup(req, &es) == -1)
			return -1;
		req->state = es;
		req->state_free = evstate_free;
		/* Synapse: the stream marks its user online, guests aside. */
		if (!req->auth.is_guest && sync_set_presence(req) == -1)
			return -1;
	}
	for (;;) {
		seq = req->srv->notify != NULL ? mnotify_seq(req->srv->notify) : 0;
		if ((out = events_run(req, es, &more)) == NULL)
			return -1;
		if (json_array_size(json_object_get(out, "chunk")) > 0 ||
		    req->woken == MWAKE_TIMEOUT || mclock_now_ms() >= es->st.deadline)
			return mfcgi_reply(req, 200, out);
		json_decref(out);
		/* Only hidden events so far, and more of them unread: read on. */
		if (more)
			continue;
		if (req->srv->notify == NULL || mnotify_seq(req->srv->notify) == seq)
			return mfcgi_park(req, es->st.deadline);
	}
}

/*
 * messages of a room snapshot: the newest events of room_id at or before
 * upto that the user may see, at most limit, oldest first, as {chunk,
 * start, end}: start a /messages token before the oldest, end the token
 * given.  Returns it, or NULL with the request failed.
 */
static json_t *
room_messages(struct mreq *req, const char *room_id, int64_t upto, int64_t limit,
    const char *end)
{
	struct mevrow	*rows = NULL;
	unsigned char	*keep = NULL;
	size_t		 n = 0;
	json_t		*rev = json_array(), *chunk = json_array(), *out = NULL;
	int64_t		 pos = upto, start = upto, scanned = 0;
	int		 more = 1;
	char		 tok[32];

	if (rev == NULL || chunk == NULL)
		goto fail;
	while (more && (int64_t)json_array_size(rev) < limit && scanned < MSG_SCAN_MAX) {
		size_t i;

		if (mstore_events_page(req->db, room_id, 1, pos, 0, MSG_PAGE, &rows, &n) == -1 ||
		    (keep = calloc(n > 0 ? n : 1, 1)) == NULL ||
		    mroom_vis_filter(req->db, req->auth.user_id, rows, n, keep) == -1)
			goto fail;
		for (i = 0; i < n && (int64_t)json_array_size(rev) < limit; i++) {
			start = rows[i].stream - 1;
			if (keep[i])
				json_array_append_new(rev, row_event(req, &rows[i]));
		}
		more = n == MSG_PAGE;
		scanned += (int64_t)n;
		if (n > 0)
			pos = rows[n - 1].stream - 1;
		mevrow_list_free(rows, n);
		rows = NULL;
		n = 0;
		free(keep);
		keep = NULL;
	}
	for (size_t i = json_array_size(rev); i > 0; i--)
		json_array_append(chunk, json_array_get(rev, i - 1));
	snprintf(tok, sizeof(tok), "t%lld", (long long)(start < 0 ? 0 : start));
	out = json_pack("{s:O,s:s,s:s}", "chunk", chunk, "start", tok, "end", end);
	json_decref(rev);
	json_decref(chunk);
	if (out == NULL)
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	return out;
fail:
	mevrow_list_free(rows, n);
	free(keep);
	json_decref(rev);
	json_decref(chunk);
	mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return NULL;
}

/*
 * The state of a room snapshot in the v1 format: the current state, or,
 * group > 0, the state of that group (a former member's, at the leave).
 * A new array, or NULL with the request failed.
 */
static json_t *
room_state(struct mreq *req, const char *room_id, int64_t group)
{
	json_t		*all, *out = json_array(), *ev;
	const char	*k;
	size_t		 i;

	all = group > 0 ? mstore_sgroup_state_events(req->db, group) :
	    mstore_cstate_all(req->db, room_id);
	if (all == NULL || out == NULL) {
		json_decref(all);
		json_decref(out);
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		return NULL;
	}
	if (json_is_object(all))
		json_object_foreach(all, k, ev)
			json_array_append_new(out, state_event(req, ev, room_id));
	else
		json_array_foreach(all, i, ev)
			json_array_append_new(out, state_event(req, ev, room_id));
	json_decref(all);
	return out;
}

/* Synapse: "visibility" of a room snapshot, whether the directory lists it. */
static const char *
room_visibility(struct mreq *req, const char *room_id)
{
	struct mroom	 room;
	int		 pub = 0;

	if (mstore_room_get(req->db, room_id, &room) == 1) {
		pub = room.is_public;
		mroom_fini(&room);
	}
	return pub ? "public" : "private";
}

/* Reads limit (default 10) of the initial syncs.  0, or -1 with 400 M_INVALID_PARAM. */
static int
initial_limit(struct mreq *req, int64_t *limit)
{
	if (mreq_query_int(req, "limit", INITIAL_DEFAULT_LIMIT, 0, INT64_MAX, limit) == -1)
		return -1;
	if (*limit > INITIAL_MAX_LIMIT)
		*limit = INITIAL_MAX_LIMIT;
	return 0;
}

/*
 * One room of a snapshot: room_id, membership, messages up to upto,
 * state (of group, or current when 0), visibility.  NULL with the
 * request failed.
 */
static json_t *
room_snapshot(struct mreq *req, const char *room_id, const char *membership, int64_t upto,
    int64_t group, int64_t limit, const char *end)
{
	json_t *messages, *state;

	if ((messages = room_messages(req, room_id, upto, limit, end)) == NULL)
		return NULL;
	if ((state = room_state(req, room_id, group)) == NULL) {
		json_decref(messages);
		return NULL;
	}
	return json_pack("{s:s,s:s,s:o,s:o,s:s,s:[]}", "room_id", room_id,
	    "membership", membership, "messages", messages, "state", state,
	    "visibility", room_visibility(req, room_id), "account_data");
}

/* The membership the user had before the membership event of m (unsigned.prev_content). */
static int
was_joined(const struct msyncmember *m)
{
	const char *prev = mjson_str(json_object_get(json_object_get(m->event, "unsigned"),
	    "prev_content"), "membership");

	return prev != NULL && strcmp(prev, "join") == 0;
}

/*
 * An archived room the user left without having been joined (a rejected
 * invite, a withdrawn knock, a ban while invited): its events and state
 * were never the user's to read, so both are the membership event alone,
 * as /sync answers.  NULL with the request failed.
 */
static json_t *
left_unjoined(struct mreq *req, const struct msyncmember *m, const char *end)
{
	json_t	*ev = state_event(req, m->event, m->room_id), *out;
	char	 start[32];

	snprintf(start, sizeof(start), "t%lld", (long long)(m->stream - 1));
	out = json_pack("{s:s,s:s,s:{s:[O],s:s,s:s},s:[O],s:s,s:[]}", "room_id", m->room_id,
	    "membership", m->membership, "messages", "chunk", ev, "start", start, "end", end,
	    "state", ev, "visibility", room_visibility(req, m->room_id), "account_data");
	json_decref(ev);
	if (out == NULL)
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	return out;
}

/*
 * Spec: C-S API, deprecated GET /initialSync: every room the user is
 * joined or invited to (with archived=true also those left), global
 * account data, presence and receipts, and end, a /sync token.
 */
int
h_initial_sync(struct mreq *req)
{
	struct syncstate	 st;
	struct syncpos		 to;
	struct msyncmember	*mem = NULL;
	size_t			 memsz = 0, i;
	json_t			*rooms = json_array(), *joined = json_array(), *side = NULL;
	json_t			*out = NULL, *receipts = json_array(), *room;
	char			*archived = mreq_query(req, "archived");
	char			 end[256];
	int64_t			 limit;
	int			 all, rc = -1;

	all = archived != NULL && strcmp(archived, "true") == 0;
	free(archived);
	if (rooms == NULL || joined == NULL || receipts == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	if (initial_limit(req, &limit) == -1 || sync_now(req, &to) == -1)
		goto out;
	sync_token_format(&to, end, sizeof(end));
	if (mstore_sync_memberships(req->db, req->auth.user_id, &mem, &memsz) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	for (i = 0; i < memsz; i++) {
		const struct msyncmember	*m = &mem[i];
		json_t				*sec;
		char				 left[32];

		if (strcmp(m->membership, "join") == 0) {
			json_array_append_new(joined, json_string(m->room_id));
			sec = room_snapshot(req, m->room_id, "join", to.p[SPOS_EVENTS], 0, limit,
			    end);
		} else if (strcmp(m->membership, "invite") == 0) {
			/* Synapse: an invite gives the invite event and who sent it. */
			sec = json_pack("{s:s,s:s,s:O*,s:o,s:s}", "room_id", m->room_id,
			    "membership", "invite", "inviter", json_object_get(m->event, "sender"),
			    "invite", state_event(req, m->event, m->room_id),
			    "visibility", room_visibility(req, m->room_id));
			if (sec == NULL)
				mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		} else if (all && (strcmp(m->membership, "leave") == 0 ||
		    strcmp(m->membership, "ban") == 0)) {
			/* Spec: archived: rooms left, as they were at the leave. */
			int64_t group;

			snprintf(left, sizeof(left), "t%lld", (long long)m->stream);
			if (!was_joined(m)) {
				sec = left_unjoined(req, m, left);
				goto add;
			}
			if ((group = mstore_room_state_at(req->db, m->room_id, m->stream)) <= 0) {
				mfcgi_fail(req, MERR_INTERNAL, "%s: no state at the leave", __func__);
				goto out;
			}
			sec = room_snapshot(req, m->room_id, m->membership, m->stream, group,
			    limit, left);
		} else
			continue;
add:
		if (sec == NULL)
			goto out;
		json_array_append_new(rooms, sec);
	}
	/* The collectors, as an initial /sync runs them. */
	memset(&st, 0, sizeof(st));
	st.initial = 1;
	if ((side = side_run(req, &st, &to, joined, (1u << SIDE_RECEIPTS) |
	    (1u << SIDE_ACCOUNT_DATA) | (1u << SIDE_PRESENCE))) == NULL)
		goto out;
	json_array_foreach(rooms, i, room) {
		const char *room_id = mjson_str(room, "room_id");

		if (json_object_get(room, "account_data") == NULL)
			continue;
		append_events(json_object_get(room, "account_data"),
		    side_room(side, room_id, "account_data"), NULL);
		append_events(receipts, side_room(side, room_id, "ephemeral"), room_id);
	}
	out = json_pack("{s:s,s:O,s:O,s:O,s:O}", "end", end, "rooms", rooms,
	    "presence", json_object_get(json_object_get(side, "presence"), "events"),
	    "account_data", json_object_get(json_object_get(side, "account_data"), "events"),
	    "receipts", receipts);
	json_array_foreach(json_object_get(out, "presence"), i, room)
		event_v1(room);
	rc = mfcgi_reply(req, 200, out);
out:
	msyncmember_list_free(mem, memsz);
	json_decref(rooms);
	json_decref(joined);
	json_decref(receipts);
	json_decref(side);
	return rc;
}

/*
 * Spec: C-S API, GET /rooms/{roomId}/initialSync, presence: that of the
 * room's joined members (state, v1 events), as Synapse gives it: those
 * never seen are offline.  A new array, or NULL with the request failed.
 */
static json_t *
room_presence(struct mreq *req, const char *room_id, const json_t *state, int64_t to)
{
	json_t	*known, *out, *seen, *ev;
	size_t	 i;
	int64_t	 now = mclock_now_ms();

	if ((known = mstore_presence_room(req->db, room_id, 0, to, now)) == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		return NULL;
	}
	out = json_array();
	seen = json_object();
	json_array_foreach(known, i, ev) {
		json_object_set_new(seen, mjson_str(ev, "sender"), json_true());
		json_array_append(out, event_v1(ev));
	}
	json_array_foreach(state, i, ev) {
		const char *t = mjson_str(ev, "type"), *sk = mjson_str(ev, "state_key");
		const char *m = mjson_str(json_object_get(ev, "content"), "membership");

		if (t == NULL || sk == NULL || m == NULL || strcmp(t, "m.room.member") != 0 ||
		    strcmp(m, "join") != 0 || json_object_get(seen, sk) != NULL)
			continue;
		json_array_append_new(out, event_v1(json_pack("{s:s,s:s,s:o}", "type",
		    "m.presence", "sender", sk, "content", mpresence_content(NULL, now))));
	}
	json_decref(known);
	json_decref(seen);
	if (out == NULL)
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	return out;
}

/*
 * Spec: C-S API, deprecated GET /rooms/{roomId}/initialSync: a snapshot
 * of one room for a member, a former member (up to the leave) or anyone
 * when it is world_readable (spec: "Peeking"); 403 M_FORBIDDEN otherwise,
 * unknown rooms included, as Synapse.
 */
int
h_room_initial_sync(struct mreq *req)
{
	struct mroom_reader	 r;
	struct syncstate	 st;
	struct syncpos		 to;
	const char		*room_id = req->params[0];
	json_t			*sec = NULL, *side = NULL, *joined = json_array();
	json_t			*presence = NULL;
	char			 end[256];
	int64_t			 limit;
	int			 rc = -1;

	if (joined == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	if (initial_limit(req, &limit) == -1)
		goto out;
	switch (mroom_vis_reader(req->db, room_id, req->auth.user_id, &r)) {
	case MROOM_OK:
		break;
	case MROOM_NO_ROOM:
	case MROOM_FORBIDDEN:
		mfcgi_fail(req, MERR_FORBIDDEN, "You may not read this room");
		goto out;
	default:
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	if (sync_now(req, &to) == -1)
		goto out;
	sync_token_format(&to, end, sizeof(end));
	if (r.stand == MROOM_STAND_DEPARTED) {
		char left[32];

		snprintf(left, sizeof(left), "t%lld", (long long)r.upto);
		if (r.state_group <= 0) {
			mfcgi_fail(req, MERR_INTERNAL, "%s: no state at the leave", __func__);
			goto out;
		}
		sec = room_snapshot(req, room_id, "leave", r.upto, r.state_group, limit, left);
	} else
		/* Synapse shows a peeker the room as a member would see it. */
		sec = room_snapshot(req, room_id, "join", to.p[SPOS_EVENTS], 0, limit, end);
	if (sec == NULL)
		goto out;
	if (r.stand == MROOM_STAND_JOINED)
		json_array_append_new(joined, json_string(room_id));
	memset(&st, 0, sizeof(st));
	st.initial = 1;
	if ((side = side_run(req, &st, &to, joined, (1u << SIDE_RECEIPTS) |
	    (1u << SIDE_ACCOUNT_DATA))) == NULL)
		goto out;
	append_events(json_object_get(sec, "account_data"), side_room(side, room_id,
	    "account_data"), NULL);
	json_object_set_new(sec, "receipts", json_array());
	append_events(json_object_get(sec, "receipts"), side_room(side, room_id, "ephemeral"),
	    room_id);
	/* A former member is owed nothing of now: no presence (SyTest, 11leaving.pl). */
	if (r.stand == MROOM_STAND_DEPARTED)
		presence = json_array();
	else if ((presence = room_presence(req, room_id, json_object_get(sec, "state"),
	    to.p[SPOS_PRESENCE])) == NULL)
		goto out;
	json_object_set(sec, "presence", presence);
	rc = mfcgi_reply(req, 200, sec);
	sec = NULL;
out:
	json_decref(sec);
	json_decref(side);
	json_decref(joined);
	json_decref(presence);
	return rc;
}
