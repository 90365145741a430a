/* The events stream of /sync: rooms by membership, timelines, state, summaries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"
#include "json/json.h"
#include "room/room.h"
#include "store/store.h"
#include "sync.h"

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
room_section(struct mreq *req, const struct syncstate *st, int64_t since,
    const struct msyncmember *m, struct mevrow *rows, size_t n, const json_t *members)
{
	json_t		*sec = json_object(), *tl = json_array(), *state = json_array();
	size_t		 first = 0;
	int		 limited = 0, newly;
	char		 tok[32];

	newly = st->initial || st->full_state || m->stream > since;
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

/*
 * The events stream: a joined room whose membership is newer than since
 * (or any, on initial sync) gets a full section; otherwise only rooms
 * with new events appear.  Timelines come ordered by room.
 */
static int
collect(struct syncctx *ctx)
{
	struct mreq		*req = ctx->req;
	const struct syncstate	*st = ctx->st;
	struct msyncmember	*mem = NULL;
	struct mevrow		*rows = NULL;
	size_t			 memsz = 0, rowsz = 0, r = 0;
	json_t			*rooms = json_object_get(ctx->resp, "rooms");
	json_t			*members = NULL;
	int64_t			 from = st->initial ? 0 : ctx->from.p[SPOS_EVENTS];
	int			 rc = -1;

	if (mstore_sync_memberships(req->db, req->auth.user_id, &mem, &memsz) == -1 ||
	    mstore_sync_timelines(req->db, req->auth.user_id, from, ctx->to.p[SPOS_EVENTS],
	    st->limit + 1, &rows, &rowsz) == -1 ||
	    (members = mstore_sync_members(req->db, req->auth.user_id)) == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	for (size_t i = 0; i < memsz; i++) {
		struct msyncmember	*m = &mem[i];
		size_t			 start, n;
		int			 changed = m->stream > from || st->initial;
		const char		*section = NULL;
		json_t			*sec = NULL;

		for (r = 0; r < rowsz && strcmp(rows[r].room_id, m->room_id) != 0; r++)
			;
		start = r;
		for (n = 0; r < rowsz && strcmp(rows[r].room_id, m->room_id) == 0; r++)
			n++;
		if (strcmp(m->membership, "join") == 0) {
			json_array_append_new(ctx->joined, json_string(m->room_id));
			if (n == 0 && !changed && !st->full_state)
				continue;
			section = "join";
			sec = room_section(req, st, from, m, rows + start, n, members);
		} else if (strcmp(m->membership, "invite") == 0) {
			if (!changed)
				continue;
			section = "invite";
			sec = json_pack("{s:{s:o}}", "invite_state", "events",
			    stripped_state(req, m->room_id, m->event));
		} else if (strcmp(m->membership, "knock") == 0) {
			if (!changed)
				continue;
			section = "knock";
			sec = json_pack("{s:{s:o}}", "knock_state", "events",
			    stripped_state(req, m->room_id, m->event));
		} else if (!st->initial && m->stream > from) {
			/* Left or banned since the last sync: its last events. */
			section = "leave";
			sec = room_section(req, st, from, m, rows + start, n, members);
		} else
			continue;
		if (sec == NULL) {
			mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
			goto out;
		}
		json_object_set_new(json_object_get(rooms, section), m->room_id, sec);
		ctx->empty = 0;
	}
	rc = 0;
out:
	json_decref(members);
	msyncmember_list_free(mem, memsz);
	mevrow_list_free(rows, rowsz);
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
