/* Reading rooms: state, events, /messages, members. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"
#include "events/events.h"
#include "fed/fed.h"
#include "json/json.h"
#include "relations.h"
#include "room/filter.h"
#include "rooms.h"
#include "store/store.h"

#define MESSAGES_MAX_LIMIT	1000
/*
 * Events hidden by the filter or by history visibility do not count
 * towards the limit: pages after the first are at least MESSAGES_PAGE
 * long, and past MESSAGES_SCAN_MAX events looked at the chunk is
 * returned as it is, with an end token to go on from (the spec lets a
 * chunk hold fewer events than the limit).
 */
#define MESSAGES_PAGE		50
#define MESSAGES_SCAN_MAX	1000

/* Client format of a current-state event (it carries "event_id", see mstore_cstate_all). */
static json_t *
client_state_event(struct mreq *req, json_t *ev)
{
	/* The room read, not the PDU's: a v12 create event has no room_id. */
	return mroom_state_client_event(ev, req->params[0], mclock_now_ms(), req->auth.user_id,
	    req->auth.device_id);
}

int
room_filter_parse(struct mreq *req, const char *fs, json_t **filter)
{
	char why[256];

	*filter = NULL;
	if (fs == NULL)
		return 0;
	if ((*filter = json_loads(fs, 0, NULL)) == NULL)
		return mfcgi_fail(req, MERR_NOT_JSON, "filter is not JSON");
	if (!json_is_object(*filter)) {
		json_decref(*filter);
		*filter = NULL;
		return mfcgi_fail(req, MERR_BAD_JSON, "filter must be an object");
	}
	/* Spec: a RoomEventFilter; a bad one is 400 M_BAD_JSON, as a stored one. */
	if (mfilter_room_event_check(*filter, why, sizeof(why)) == -1) {
		json_decref(*filter);
		*filter = NULL;
		return mfcgi_fail(req, MERR_BAD_JSON, "Invalid filter: %s", why);
	}
	return 0;
}

int
room_require_reader(struct mreq *req, const char *room_id, struct mroom_reader *r)
{
	switch (mroom_vis_reader(req->db, room_id, req->auth.user_id, r)) {
	case MROOM_OK:
		return 1;
	case MROOM_NO_ROOM:
		mfcgi_fail(req, MERR_NOT_FOUND, "Unknown room");
		return 0;
	case MROOM_FORBIDDEN:
		mfcgi_fail(req, MERR_FORBIDDEN, "You may not read this room");
		return 0;
	default:
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		return 0;
	}
}

unsigned char *
room_vis_keep(struct mreq *req, const struct mevrow *rows, size_t n)
{
	unsigned char *keep = calloc(n > 0 ? n : 1, 1);

	if (keep == NULL || mroom_vis_filter(req->db, req->auth.user_id, rows, n, keep) == -1) {
		free(keep);
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		return NULL;
	}
	return keep;
}

/*
 * The state the reader may see, as an array of events with their IDs:
 * the current state, or a former member's as of the leave (spec: C-S
 * API, GET /rooms/{roomId}/state, "If the user has left the room then
 * the state returned is the state of the room when they left").  A new
 * array, or NULL after failing the request (500).
 */
static json_t *
reader_state(struct mreq *req, const struct mroom_reader *r)
{
	json_t		*all, *map, *ev;
	const char	*k;

	if (r->stand != MROOM_STAND_DEPARTED)
		all = mstore_cstate_all(req->db, req->params[0]);
	else if ((map = mstore_sgroup_state_events(req->db, r->state_group)) == NULL)
		all = NULL;
	else {
		if ((all = json_array()) != NULL)
			json_object_foreach(map, k, ev)
				if (json_array_append(all, ev) == -1) {
					json_decref(all);
					all = NULL;
					break;
				}
		json_decref(map);
	}
	if (all == NULL)
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return all;
}

/*
 * Spec: C-S API, GET /rooms/{roomId}/state/{eventType}/{stateKey}: the
 * content, or with format=event the whole event in the client format (as
 * Synapse; any other value is the content), as of the leave for a former
 * member.  404 M_NOT_FOUND when there is no such state.
 */
int
h_state_get(struct mreq *req)
{
	struct mroom_ctx	 ctx;
	struct mroom_reader	 r;
	json_t			*ev = NULL, *map, *out;
	const char		*sk = req->paramsz > 2 ? req->params[2] : "";
	char			*k, *format = mreq_query(req, "format");
	int			 err = 0, whole = format != NULL && strcmp(format, "event") == 0;

	free(format);
	if (room_require_reader(req, req->params[0], &r) != 1)
		return -1;
	if (r.stand == MROOM_STAND_DEPARTED) {
		if ((k = mstate_key_join(req->params[1], sk)) == NULL ||
		    (map = mstore_sgroup_state_events(req->db, r.state_group)) == NULL) {
			free(k);
			return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		}
		ev = json_incref(json_object_get(map, k));
		json_decref(map);
		free(k);
	} else {
		room_ctx(req, &ctx);
		ev = mroom_state_get(&ctx, req->params[0], req->params[1], sk, &err);
	}
	if (err)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (ev == NULL)
		return mfcgi_fail(req, MERR_NOT_FOUND, "Event not found");
	out = whole ? client_state_event(req, ev) : json_incref(json_object_get(ev, "content"));
	json_decref(ev);
	if (out == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	return mfcgi_reply(req, 200, out);
}

/* Spec: C-S API, GET /rooms/{roomId}/state: as of the leave for a former member. */
int
h_state_all(struct mreq *req)
{
	struct mroom_reader	 r;
	json_t			*all, *out, *ev;
	size_t			 i;

	if (room_require_reader(req, req->params[0], &r) != 1 ||
	    (all = reader_state(req, &r)) == NULL)
		return -1;
	out = json_array();
	json_array_foreach(all, i, ev)
		json_array_append_new(out, client_state_event(req, ev));
	json_decref(all);
	return mfcgi_reply(req, 200, out);
}

/*
 * The event row of event_id in room_id as the reader may see it, bundled,
 * replied with 200.  hidden: the error for an event the user may not see.
 * Returns 0, or -1 with the request failed (404 M_NOT_FOUND when unknown).
 */
static int
event_reply(struct mreq *req, const char *room_id, struct mevrow *row, enum merr hidden)
{
	unsigned char	*keep = NULL;
	json_t		*one;
	int		 rc;

	if (row->rejected == NULL && (keep = room_vis_keep(req, row, 1)) == NULL)
		return -1;
	if (keep == NULL || !keep[0]) {
		free(keep);
		return mfcgi_fail(req, hidden, hidden == MERR_NOT_FOUND ? "Event not found" :
		    "You don't have permission to access that event");
	}
	free(keep);
	one = json_pack("[o]", mroom_client_event(row, mclock_now_ms(), req->auth.user_id,
	    req->auth.device_id));
	/* Spec: C-S API, "Aggregations of child events": /event bundles them. */
	if (one == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	rc = room_bundle(req, room_id, one) == -1 ? -1 :
	    mfcgi_reply(req, 200, json_incref(json_array_get(one, 0)));
	json_decref(one);
	return rc;
}

/*
 * Spec: C-S API, GET /rooms/{roomId}/event/{eventId}: 404 M_NOT_FOUND
 * when unknown, and, as the spec says, when the user may not read it
 * (history visibility), a room they may not read at all included, as
 * Synapse answers (SyTest: "/event/ on non world readable room does not
 * work").
 */
int
h_event_get(struct mreq *req)
{
	struct mroom_reader	 r;
	struct mevrow		 row;
	int			 rc;

	switch (mroom_vis_reader(req->db, req->params[0], req->auth.user_id, &r)) {
	case MROOM_OK:
		break;
	case MROOM_NO_ROOM:
		return mfcgi_fail(req, MERR_NOT_FOUND, "Unknown room");
	case MROOM_FORBIDDEN:
		return mfcgi_fail(req, MERR_NOT_FOUND, "Event not found");
	default:
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	}
	if ((rc = mstore_event_get(req->db, req->params[1], &row)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (rc == 0)
		return mfcgi_fail(req, MERR_NOT_FOUND, "Event not found");
	rc = strcmp(row.room_id, req->params[0]) != 0 ?
	    mfcgi_fail(req, MERR_NOT_FOUND, "Event not found") :
	    event_reply(req, req->params[0], &row, MERR_NOT_FOUND);
	mevrow_fini(&row);
	return rc;
}

/*
 * Spec: C-S API, deprecated GET /events/{eventId}: the event in whatever
 * room holds it.  As Synapse 1.67: 404 M_NOT_FOUND when unknown, 403
 * M_FORBIDDEN when the user may not read the room or the event (history
 * visibility, rejected events).
 */
int
h_event_get_legacy(struct mreq *req)
{
	struct mroom_reader	 r;
	struct mevrow		 row;
	int			 rc;

	if ((rc = mstore_event_get(req->db, req->params[0], &row)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (rc == 0)
		return mfcgi_fail(req, MERR_NOT_FOUND, "Event not found");
	rc = room_require_reader(req, row.room_id, &r) != 1 ? -1 :
	    event_reply(req, row.room_id, &row, MERR_FORBIDDEN);
	mevrow_fini(&row);
	return rc;
}

/*
 * Spec: C-S API, GET /rooms/{roomId}/messages, "state", and "Lazy-loading
 * room members": the member events of the senders of chunk, from the state
 * after its first event (state group group), as Synapse gives them.  A new
 * array, possibly empty, or NULL.
 */
static json_t *
lazy_members(struct mreq *req, const json_t *chunk, int64_t group)
{
	json_t		*map, *out, *ev, *done;
	const char	*sender;
	char		*k;
	size_t		 i;

	if ((map = mstore_sgroup_state_events(req->db, group)) == NULL)
		return NULL;
	out = json_array();
	done = json_object();
	json_array_foreach(chunk, i, ev) {
		if (out == NULL || done == NULL)
			break;
		if ((sender = mjson_str(ev, "sender")) == NULL ||
		    json_object_get(done, sender) != NULL)
			continue;
		if ((k = mstate_key_join("m.room.member", sender)) == NULL ||
		    json_object_set_new(done, sender, json_true()) == -1) {
			free(k);
			json_decref(out);
			out = NULL;
			break;
		}
		if (json_object_get(map, k) != NULL &&
		    json_array_append_new(out, client_state_event(req,
		    json_object_get(map, k))) == -1) {
			json_decref(out);
			out = NULL;
		}
		free(k);
	}
	if (done == NULL) {
		json_decref(out);
		out = NULL;
	}
	json_decref(done);
	json_decref(map);
	return out;
}

/*
 * A /messages token as a place in the room's topological order (struct
 * mtopo): "t<depth>-<stream>" as /messages writes them, the stream below
 * 0 for history fetched from elsewhere, or a stream position ("t<N>" of
 * /context and /relations, a sync token) at its room's last event there.
 * 0, or -1 after failing the request.
 */
static int
messages_token(struct mreq *req, const char *room_id, const char *tok, struct mtopo *t)
{
	const char	*p;
	int64_t		 d, s, pos;

	if (tok[0] == 't' && mfcgi_num_parse(tok + 1, 0, INT64_MAX - 1, &p, &d) == 0 &&
	    *p == '-') {
		if (mfcgi_num_parse(p + 1, INT64_MIN + 1, INT64_MAX - 1, NULL, &s) == -1)
			return mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid pagination token");
		t->depth = d;
		t->stream = s;
		return 0;
	}
	if (room_token_parse(req, tok, &pos) == -1)
		return -1;
	if (mstore_topo_at(req->db, room_id, pos, t) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return 0;
}

/* <0, 0, >0 as place a is before, at or after b. */
static int
topo_cmp(const struct mtopo *a, const struct mtopo *b)
{
	if (a->depth != b->depth)
		return a->depth < b->depth ? -1 : 1;
	return a->stream < b->stream ? -1 : a->stream > b->stream;
}

/*
 * Backfill before a backwards page from place at (S-S API, "Backfilling";
 * as Synapse's maybe_backfill): when a backward extremity of the room is
 * at most 2 * limit below at (or above it), the room's other servers are
 * asked for the history before the extremities at or below at, else
 * before the deepest ones.  Failures leave the page as it is.
 */
static void
messages_backfill(struct mreq *req, const char *room_id, const struct mtopo *at,
    int64_t limit)
{
	json_t	*near, *bwd, *v, *ids;
	size_t	 i;
	int64_t	 lo = at->depth > INT64_MIN / 2 ? at->depth - 2 * limit : INT64_MIN / 2;

	if (req->srv->key == NULL)
		return;
	if ((near = mstore_bwd_list(req->db, room_id, INT64_MAX, lo, 1)) == NULL ||
	    json_array_size(near) == 0) {
		json_decref(near);
		return;
	}
	json_decref(near);
	if ((bwd = mstore_bwd_list(req->db, room_id, at->depth, INT64_MIN, 5)) != NULL &&
	    json_array_size(bwd) == 0) {
		json_decref(bwd);
		bwd = mstore_bwd_list(req->db, room_id, INT64_MAX, INT64_MIN, 5);
	}
	if (bwd == NULL || (ids = json_array()) == NULL) {
		json_decref(bwd);
		return;
	}
	json_array_foreach(bwd, i, v)
		json_array_append(ids, json_array_get(v, 0));
	(void)mfed_backfill(req->db, req->conf, req->srv->key, room_id, ids,
	    limit * 2 > 20 ? limit * 2 : 20);
	json_decref(ids);
	json_decref(bwd);
}

/*
 * Spec: C-S API, GET /rooms/{roomId}/messages: dir b or f, from/to tokens,
 * limit (default 10), filter (a RoomEventFilter: see mfilter_event_match).
 * Only the events history visibility lets the user see; a former member
 * pages no further than the leave (as Synapse clamps the token there).
 * With lazy_load_members, state holds the senders' member events.
 * Pages follow the topological order (depth, then stream: S-S API,
 * "Backfilling"), where history fetched from elsewhere takes its place
 * in the DAG; in a room whose events all came in order it is the stream
 * order.
 * Spec: "Ignoring Users": no events (but state events) of ignored users.
 */
int
h_messages(struct mreq *req)
{
	char			*dir = mreq_query(req, "dir"), *from = mreq_query(req, "from");
	char			*to = mreq_query(req, "to"), *fs = mreq_query(req, "filter");
	struct mroom_reader	 r;
	json_t			*filter = NULL, *chunk = NULL, *state = NULL, *ign = NULL;
	const json_t		*ignored;
	struct mevrow		*rows = NULL;
	unsigned char		*keep = NULL;
	size_t			 n = 0, i;
	struct mtopo		 start, stop, pos, last, upto;
	int64_t			 limit, scanned = 0, first_group = -1, max;
	int			 back, rc = -1, more = 1, read = 0;

	if (room_require_reader(req, req->params[0], &r) != 1)
		goto out;
	back = dir == NULL || strcmp(dir, "b") == 0;
	if (dir != NULL && strcmp(dir, "b") != 0 && strcmp(dir, "f") != 0) {
		mfcgi_fail(req, MERR_INVALID_PARAM, "dir must be b or f");
		goto out;
	}
	if (mreq_query_int(req, "limit", 10, 0, INT64_MAX, &limit) == -1)
		goto out;
	if (limit > MESSAGES_MAX_LIMIT)
		limit = MESSAGES_MAX_LIMIT;
	if (room_filter_parse(req, fs, &filter) == -1)
		goto out;
	if (mstore_account_data_get(req->db, req->auth.user_id, "", "m.ignored_user_list",
	    &ign) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	ignored = json_object_get(ign, "ignored_users");
	/*
	 * An empty from is no from: Synapse reads it so, and matrix-nio
	 * sends from= to page from the end before it has a sync token.
	 */
	if (from != NULL && *from != '\0') {
		if (messages_token(req, req->params[0], from, &start) == -1)
			goto out;
	} else {
		if ((max = back ? mstore_events_max_stream(req->db) : 0) < 0 ||
		    mstore_topo_at(req->db, req->params[0], max, &start) == -1) {
			mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
			goto out;
		}
	}
	stop.depth = stop.stream = back ? INT64_MIN : INT64_MAX;
	if (to != NULL && *to != '\0' && messages_token(req, req->params[0], to, &stop) == -1)
		goto out;
	/* A former member's view ends at the leave. */
	if (mstore_topo_at(req->db, req->params[0], r.upto, &upto) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	if (back && topo_cmp(&start, &upto) > 0)
		start = upto;
	/* History that other servers have and we lack, before reading it. */
	if (back && limit > 0)
		messages_backfill(req, req->params[0], &start, limit);
	if (!back && topo_cmp(&stop, &upto) > 0)
		stop = upto;
	if (filter != NULL && json_is_integer(json_object_get(filter, "limit")) &&
	    json_integer_value(json_object_get(filter, "limit")) < limit)
		limit = json_integer_value(json_object_get(filter, "limit"));
	chunk = json_array();
	pos = start;
	/* Filtered and hidden events do not count: read pages until limit events match. */
	while ((int64_t)json_array_size(chunk) < limit && more && scanned < MESSAGES_SCAN_MAX) {
		int64_t want = limit - (int64_t)json_array_size(chunk);

		if (scanned > 0 && want < MESSAGES_PAGE)
			want = MESSAGES_PAGE;
		if (mstore_events_topo_page(req->db, req->params[0], back, &pos, &stop, want,
		    &rows, &n) == -1) {
			mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
			goto out;
		}
		if ((keep = room_vis_keep(req, rows, n)) == NULL)
			goto out;
		for (i = 0; i < n && (int64_t)json_array_size(chunk) < limit; i++) {
			last.depth = rows[i].depth;
			last.stream = rows[i].stream;
			read = 1;
			if (keep[i] && (rows[i].state_key != NULL ||
			    json_object_get(ignored, rows[i].sender) == NULL) &&
			    mfilter_event_match(filter, rows[i].room_id, rows[i].json)) {
				if (json_array_size(chunk) == 0)
					first_group = rows[i].state_after;
				json_array_append_new(chunk, mroom_client_event(&rows[i],
				    mclock_now_ms(), req->auth.user_id, req->auth.device_id));
			}
		}
		/* More: rows left unread in this page, or a full page. */
		more = i < n || (int64_t)n == want;
		scanned += (int64_t)i;
		if (i > 0) {
			pos = last;
			/* Back: strictly before the last read, the next place down. */
			if (back)
				pos.stream--;
		}
		mevrow_list_free(rows, n);
		rows = NULL;
		n = 0;
		free(keep);
		keep = NULL;
		if (i == 0)
			more = 0;
	}
	if (json_is_true(json_object_get(filter, "lazy_load_members")) &&
	    json_array_size(chunk) > 0 &&
	    (state = lazy_members(req, chunk, first_group)) == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	/* Spec: C-S API, "Aggregations of child events": /messages bundles them. */
	if (room_bundle(req, req->params[0], chunk) == -1)
		goto out;
	{
		json_t	*out = json_object();
		char	 tok[48];

		snprintf(tok, sizeof(tok), "t%lld-%lld", (long long)start.depth,
		    (long long)start.stream);
		json_object_set_new(out, "start", json_string(tok));
		json_object_set_new(out, "chunk", chunk);
		chunk = NULL;
		/* As Synapse, no state key when there is none to give. */
		if (json_array_size(state) > 0)
			json_object_set(out, "state", state);
		/*
		 * Spec: no "end" once there are no further events.  As Synapse,
		 * only a page that read no event says so: a page that reached
		 * the room's start has an end, and the page from it none
		 * (SyTest, 10apidoc/34room-messages.pl, wants both).
		 */
		if (read) {
			snprintf(tok, sizeof(tok), "t%lld-%lld", (long long)pos.depth,
			    (long long)pos.stream);
			json_object_set_new(out, "end", json_string(tok));
		}
		rc = mfcgi_reply(req, 200, out);
	}
out:
	mevrow_list_free(rows, n);
	free(keep);
	json_decref(chunk);
	json_decref(state);
	json_decref(filter);
	json_decref(ign);
	free(dir);
	free(from);
	free(to);
	free(fs);
	return rc;
}

/*
 * Spec: C-S API, GET /rooms/{roomId}/members: membership and
 * not_membership filters; at, a point in the timeline; a former member's
 * as of the leave.
 */
int
h_members(struct mreq *req)
{
	char			*m = mreq_query(req, "membership");
	char			*nm = mreq_query(req, "not_membership"), *at = mreq_query(req, "at");
	struct mroom_reader	 r;
	json_t			*all = NULL, *out, *ev;
	const char		*k;
	int64_t			 pos = 0, group;
	size_t			 i;
	int			 rc = -1;

	if (room_require_reader(req, req->params[0], &r) != 1)
		goto done;
	if (at != NULL && *at != '\0') {
		/* Spec: members as of a point in the timeline (a prev_batch). */
		json_t *map;

		if (room_token_parse(req, at, &pos) == -1)
			goto done;
		if (pos > r.upto)
			pos = r.upto;
		if ((group = mstore_room_state_at(req->db, req->params[0], pos)) < 0 ||
		    (map = mstore_sgroup_state_events(req->db, group)) == NULL) {
			mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
			goto done;
		}
		all = json_array();
		json_object_foreach(map, k, ev)
			json_array_append(all, ev);
		json_decref(map);
	} else if ((all = reader_state(req, &r)) == NULL)
		goto done;
	out = json_array();
	json_array_foreach(all, i, ev) {
		const char *mem = mjson_str(json_object_get(ev, "content"), "membership");

		if (strcmp(mjson_str(ev, "type"), "m.room.member") != 0 || mem == NULL)
			continue;
		if ((m != NULL && strcmp(mem, m) != 0) || (nm != NULL && strcmp(mem, nm) == 0))
			continue;
		json_array_append_new(out, client_state_event(req, ev));
	}
	rc = mfcgi_reply(req, 200, json_pack("{s:o}", "chunk", out));
done:
	json_decref(all);
	free(m);
	free(nm);
	free(at);
	return rc;
}

/*
 * Spec: C-S API, GET /rooms/{roomId}/joined_members: for members, and,
 * as Synapse, for anyone while the room is world_readable; each member
 * with display_name and avatar_url, null when unset (as Synapse); a former
 * member gets 403 M_FORBIDDEN (Synapse: "not being a current member").
 */
int
h_joined_members(struct mreq *req)
{
	struct mroom_reader	 r;
	json_t			*all, *joined, *ev;
	size_t			 i;

	if (room_require_reader(req, req->params[0], &r) != 1)
		return -1;
	if (r.stand == MROOM_STAND_DEPARTED)
		return mfcgi_fail(req, MERR_FORBIDDEN, "You are not joined to this room");
	if ((all = mstore_cstate_all(req->db, req->params[0])) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	joined = json_object();
	json_array_foreach(all, i, ev) {
		json_t		*c = json_object_get(ev, "content"), *who;
		const char	*mem = mjson_str(c, "membership");

		if (strcmp(mjson_str(ev, "type"), "m.room.member") != 0 || mem == NULL ||
		    strcmp(mem, "join") != 0)
			continue;
		/* As Synapse: both keys always, null when unset (or not a string). */
		who = json_pack("{s:o,s:o}",
		    "display_name", mjson_str(c, "displayname") != NULL ?
		    json_incref(json_object_get(c, "displayname")) : json_null(),
		    "avatar_url", mjson_str(c, "avatar_url") != NULL ?
		    json_incref(json_object_get(c, "avatar_url")) : json_null());
		json_object_set_new(joined, mjson_str(ev, "state_key"), who);
	}
	json_decref(all);
	return mfcgi_reply(req, 200, json_pack("{s:o}", "joined", joined));
}

/* Spec: C-S API, GET /joined_rooms. */
int
h_joined_rooms(struct mreq *req)
{
	json_t *rooms = mstore_user_rooms(req->db, req->auth.user_id, "join");

	if (rooms == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return mfcgi_reply(req, 200, json_pack("{s:o}", "joined_rooms", rooms));
}
