/* myelin-sync: GET /sync, the long-poll every client keeps open. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"
#include "events/events.h"
#include "fcgi/fcgi.h"
#include "json/json.h"
#include "notify/notify.h"
#include "room/room.h"
#include "store/store.h"

#define DEFAULT_TIMELINE_LIMIT	10
#define MAX_TIMELINE_LIMIT	100
#define MAX_TIMEOUT_MS		(5 * 60 * 1000)

/* What a request keeps between wakes. */
struct syncstate {
	int64_t		 since;		/* -1: initial sync */
	int64_t		 deadline;
	int		 full_state;
	int64_t		 limit;		/* timeline events per room */
	json_t		*filter;
};

static void
syncstate_free(void *p)
{
	struct syncstate *st = p;

	if (st == NULL)
		return;
	json_decref(st->filter);
	free(st);
}

/*
 * Sync tokens are "s<events position>"; later streams (typing, receipts,
 * ...) append "_<position>" each.  They are positions in the database,
 * so they survive restarts.  Returns 0, or -1 with 400 M_INVALID_PARAM.
 */
static int
parse_since(struct mreq *req, const char *tok, int64_t *pos)
{
	char		*end;
	long long	 n;

	if (tok[0] != 's' || tok[1] < '0' || tok[1] > '9')
		return mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid sync token");
	n = strtoll(tok + 1, &end, 10);
	if (n < 0 || (*end != '\0' && *end != '_'))
		return mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid sync token");
	*pos = n;
	return 0;
}

/* Reads the query once, on the first run.  0 or -1 (request failed). */
static int
setup(struct mreq *req, struct syncstate **out)
{
	struct syncstate	*st;
	char			*since = mreq_query(req, "since"), *fs = mreq_query(req, "filter");
	char			*full = mreq_query(req, "full_state");
	int64_t			 timeout;
	int			 rc = -1;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	st->since = -1;
	st->limit = DEFAULT_TIMELINE_LIMIT;
	if (since != NULL && parse_since(req, since, &st->since) == -1)
		goto out;
	if (mreq_query_int(req, "timeout", 0, 0, INT64_MAX, &timeout) == -1)
		goto out;
	if (timeout > MAX_TIMEOUT_MS)
		timeout = MAX_TIMEOUT_MS;
	st->deadline = mclock_now_ms() + timeout;
	st->full_state = full != NULL && strcmp(full, "true") == 0;
	if (fs != NULL && fs[0] == '{') {
		if ((st->filter = json_loads(fs, 0, NULL)) == NULL) {
			mfcgi_fail(req, MERR_NOT_JSON, "filter is not JSON");
			goto out;
		}
		if (!json_is_object(st->filter)) {
			mfcgi_fail(req, MERR_BAD_JSON, "filter must be an object");
			goto out;
		}
	} else if (fs != NULL) {
		/* XXX Stored filters (POST /user/{userId}/filter) are not kept yet. */
		mfcgi_fail(req, MERR_NOT_FOUND, "No such filter");
		goto out;
	}
	{
		json_t *l = json_object_get(json_object_get(json_object_get(st->filter, "room"),
		    "timeline"), "limit");

		if (json_is_integer(l) && json_integer_value(l) >= 0)
			st->limit = json_integer_value(l);
		if (st->limit > MAX_TIMELINE_LIMIT)
			st->limit = MAX_TIMELINE_LIMIT;
	}
	*out = st;
	st = NULL;
	rc = 0;
out:
	syncstate_free(st);
	free(since);
	free(fs);
	free(full);
	return rc;
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
	struct mevrow row;

	memset(&row, 0, sizeof(row));
	row.event_id = (char *)mjson_str(ev, "event_id");
	row.room_id = (char *)mjson_str(ev, "room_id");
	row.type = (char *)mjson_str(ev, "type");
	row.origin_server_ts = json_integer_value(json_object_get(ev, "origin_server_ts"));
	row.json = ev;
	return sync_event(req, &row);
}

/* Spec: "stripped state" for invites and knocks: type, state_key, sender, content. */
static json_t *
stripped_state(struct mreq *req, const char *room_id, const json_t *own)
{
	static const char *const keep[] = {
		"m.room.create", "m.room.join_rules", "m.room.name", "m.room.avatar",
		"m.room.canonical_alias", "m.room.encryption", "m.room.topic",
	};
	json_t	*all = mstore_cstate_all(req->db, room_id), *out = json_array(), *ev;
	size_t	 i;

	json_array_foreach(all, i, ev) {
		const char *t = mjson_str(ev, "type");

		for (size_t k = 0; k < sizeof(keep) / sizeof(keep[0]); k++)
			if (t != NULL && strcmp(t, keep[k]) == 0)
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

/*
 * One joined (or left) room's section: timeline rows[0..n) (oldest first,
 * at most limit + 1 fetched), and the state at the timeline's start when
 * the client needs it.  Returns the section or NULL.
 */
static json_t *
room_section(struct mreq *req, const struct syncstate *st, const struct msyncmember *m,
    struct mevrow *rows, size_t n, const json_t *members)
{
	json_t		*sec = json_object(), *tl = json_array(), *state = json_array();
	size_t		 first = 0;
	int		 limited = 0, newly;
	char		 tok[32];

	newly = st->since < 0 || st->full_state || m->stream > st->since;
	if ((int64_t)n > st->limit) {
		limited = 1;
		first = n - (size_t)st->limit;
	}
	for (size_t i = first; i < n; i++)
		json_array_append_new(tl, sync_event(req, &rows[i]));
	/* The state at the timeline's start: whole when new to the client or gaps. */
	if (newly || limited) {
		int64_t	 group = first < n ? rows[first].state_before : 0;
		json_t	*map, *ev;
		const char *k;

		if (first >= n) {
			/* An empty timeline: the state now. */
			json_t *all = mstore_cstate_all(req->db, m->room_id);
			size_t i;

			json_array_foreach(all, i, ev)
				json_array_append_new(state, state_event(req, ev));
			json_decref(all);
		} else if ((map = mstore_sgroup_state_events(req->db, group)) != NULL) {
			json_object_foreach(map, k, ev)
				json_array_append_new(state, state_event(req, ev));
			json_decref(map);
		}
	}
	json_object_set_new(sec, "timeline", json_pack("{s:o,s:b}", "events", tl,
	    "limited", limited));
	if (first < n) {
		snprintf(tok, sizeof(tok), "t%lld", (long long)(rows[first].stream - 1));
		json_object_set_new(json_object_get(sec, "timeline"), "prev_batch", json_string(tok));
	}
	json_object_set_new(sec, "state", json_pack("{s:o}", "events", state));
	json_object_set_new(sec, "ephemeral", json_pack("{s:[]}", "events"));
	json_object_set_new(sec, "account_data", json_pack("{s:[]}", "events"));
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
	return sec;
}

/* Builds the response for (since, to].  *empty: nothing new for the user. */
static json_t *
build(struct mreq *req, const struct syncstate *st, int64_t to, int *empty)
{
	struct msyncmember	*mem = NULL;
	struct mevrow		*rows = NULL;
	size_t			 memsz = 0, rowsz = 0, r = 0;
	json_t			*join = json_object(), *invite = json_object();
	json_t			*leave = json_object(), *knock = json_object();
	json_t			*members = NULL, *out = NULL;
	int64_t			 from = st->since < 0 ? 0 : st->since;
	char			 tok[32];

	*empty = 1;
	if (mstore_sync_memberships(req->db, req->auth.user_id, &mem, &memsz) == -1 ||
	    mstore_sync_timelines(req->db, req->auth.user_id, from, to, st->limit + 1,
	    &rows, &rowsz) == -1 ||
	    (members = mstore_sync_members(req->db, req->auth.user_id)) == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	/*
	 * A joined room whose membership is newer than since (or any, on
	 * initial sync) gets a full section; otherwise only rooms with new
	 * events appear.  Rows come ordered by room: walk both lists.
	 */
	for (size_t i = 0; i < memsz; i++) {
		struct msyncmember	*m = &mem[i];
		size_t			 start, n;
		int			 changed = m->stream > from || st->since < 0;

		for (r = 0; r < rowsz && strcmp(rows[r].room_id, m->room_id) != 0; r++)
			;
		start = r;
		for (n = 0; r < rowsz && strcmp(rows[r].room_id, m->room_id) == 0; r++)
			n++;
		if (strcmp(m->membership, "join") == 0) {
			if (n == 0 && !changed && !st->full_state)
				continue;
			json_object_set_new(join, m->room_id, room_section(req, st, m, rows + start,
			    n, members));
		} else if (strcmp(m->membership, "invite") == 0) {
			if (!changed)
				continue;
			json_object_set_new(invite, m->room_id, json_pack("{s:{s:o}}",
			    "invite_state", "events", stripped_state(req, m->room_id, m->event)));
		} else if (strcmp(m->membership, "knock") == 0) {
			if (!changed)
				continue;
			json_object_set_new(knock, m->room_id, json_pack("{s:{s:o}}",
			    "knock_state", "events", stripped_state(req, m->room_id, m->event)));
		} else if (st->since >= 0 && m->stream > st->since) {
			/* Left or banned since the last sync: its last events. */
			json_object_set_new(leave, m->room_id, room_section(req, st, m,
			    rows + start, n, members));
		}
	}
	*empty = json_object_size(join) + json_object_size(invite) + json_object_size(leave) +
	    json_object_size(knock) == 0;
	snprintf(tok, sizeof(tok), "s%lld", (long long)to);
	out = json_pack("{s:s,s:{s:o,s:o,s:o,s:o},s:{s:[]},s:{s:[]}}", "next_batch", tok,
	    "rooms", "join", join, "invite", invite, "leave", leave, "knock", knock,
	    "account_data", "events", "presence", "events");
	join = invite = leave = knock = NULL;
out:
	json_decref(join);
	json_decref(invite);
	json_decref(leave);
	json_decref(knock);
	json_decref(members);
	msyncmember_list_free(mem, memsz);
	mevrow_list_free(rows, rowsz);
	return out;
}

/*
 * Spec: C-S API, GET /sync.  An incremental sync with nothing new waits
 * (parked, no thread held) until something moves or timeout passes.
 */
static int
h_sync(struct mreq *req)
{
	struct syncstate	*st = req->state;
	json_t			*out;
	int64_t			 to;
	uint32_t		 seq;
	int			 empty;

	if (st == NULL) {
		if (setup(req, &st) == -1)
			return -1;
		req->state = st;
		req->state_free = syncstate_free;
	}
	for (;;) {
		/*
		 * The sequence is read first: a change that lands while the
		 * response is built moves it, and the loop builds again rather
		 * than waiting past an event it did not see.
		 */
		seq = req->srv->notify != NULL ? mnotify_seq(req->srv->notify) : 0;
		if ((to = mstore_events_max_stream(req->db)) < 0)
			return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		if (st->since > to)
			to = st->since;
		if ((out = build(req, st, to, &empty)) == NULL)
			return -1;
		if (!empty || st->since < 0 || st->full_state ||
		    req->woken == MWAKE_TIMEOUT || mclock_now_ms() >= st->deadline)
			return mfcgi_reply(req, 200, out);
		json_decref(out);
		if (req->srv->notify == NULL || mnotify_seq(req->srv->notify) == seq)
			return mfcgi_park(req, st->deadline);
	}
}

static const struct mroute routes[] = {
	{ MM_GET,	"/_matrix/client/v3/sync",	MAUTH_USER,	h_sync },
};

static const char *const locations[] = {
	"~ ^/_matrix/client/(v3|r0)/sync$",
};

static const struct mapp app = {
	.name = "sync",
	.routes = routes,
	.routesz = sizeof(routes) / sizeof(routes[0]),
	.locations = locations,
	.locationsz = sizeof(locations) / sizeof(locations[0]),
	.wait_seconds = MAX_TIMEOUT_MS / 1000,
};

int
main(int argc, char *argv[])
{
	return mfcgi_main_async(&app, argc, argv);
}
