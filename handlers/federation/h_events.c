/*
 * Rooms as other servers read them and join them: /event, /state,
 * /state_ids, /event_auth, /backfill, /get_missing_events, make_join,
 * send_join, make_leave, send_leave.  Each passes the room's
 * m.room.server_acl, and what it shows passes the server's right to see
 * (a server sees what its users could: S-S API, "Authorization of
 * events for servers"; as Synapse, shared and world_readable history
 * is every server's, invited and joined only a server with a member so).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"
#include "events/events.h"
#include "extern.h"
#include "fed/fed.h"
#include "json/json.h"
#include "room/room.h"
#include "store/store.h"

#define F1	"/_matrix/federation/v1"
/* As Synapse: /backfill and /get_missing_events give at most this many. */
#define PAGE_MAX	100
/* An auth chain or a walk reads at most this many events. */
#define WALK_MAX	10000

/* The decoded values of every query parameter name: a new array, or NULL. */
static json_t *
query_all(const struct mreq *req, const char *name)
{
	const char	*p = req->query, *amp, *eq;
	size_t		 nl = strlen(name);
	json_t		*out = json_array();

	while (out != NULL && *p != '\0') {
		amp = strchr(p, '&');
		if (amp == NULL)
			amp = p + strlen(p);
		eq = memchr(p, '=', amp - p);
		if (eq != NULL && (size_t)(eq - p) == nl && strncmp(p, name, nl) == 0) {
			char *v = mfcgi_urldecode(eq + 1, amp - eq - 1);

			if (v != NULL)
				json_array_append_new(out, json_string(v));
			free(v);
		}
		p = *amp == '&' ? amp + 1 : amp;
	}
	return out;
}

/*
 * The room of a request: stored, its version known, and origin not
 * denied by its ACL.  0 with *room filled (mroom_fini), or -1 failed.
 */
static int
room_open(struct mreq *req, const char *room_id, struct mroom *room,
    const struct mroomver **ver)
{
	int rc;

	*ver = NULL;
	memset(room, 0, sizeof(*room));
	if ((rc = mstore_room_get(req->db, room_id, room)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: room lookup", __func__);
	if (rc == 0 || (*ver = mroomver_get(room->version)) == NULL) {
		mroom_fini(room);
		return mfcgi_fail(req, MERR_NOT_FOUND, "Unknown room");
	}
	if ((rc = mfed_acl_allows(req->db, room_id, req->auth.origin)) != 1) {
		mroom_fini(room);
		return rc == -1 ? mfcgi_fail(req, MERR_INTERNAL, "%s: ACL", __func__) :
		    mfcgi_fail(req, MERR_FORBIDDEN, "Server is banned from room");
	}
	return 0;
}

/* As room_open, and origin has a joined member there (403 "Host not in room"). */
static int
room_open_in(struct mreq *req, const char *room_id, struct mroom *room,
    const struct mroomver **ver)
{
	int rc;

	if (room_open(req, room_id, room, ver) == -1)
		return -1;
	if ((rc = mfed_server_in_room(req->db, room_id, req->auth.origin)) != 1) {
		mroom_fini(room);
		return rc == -1 ? mfcgi_fail(req, MERR_INTERNAL, "%s: members", __func__) :
		    mfcgi_fail(req, MERR_FORBIDDEN, "Host not in room.");
	}
	return 0;
}

/* The membership content of stored event_id, or NULL (new reference). */
static const char *
membership_in(struct mreq *req, const char *event_id, char *buf, size_t bufsz)
{
	struct mevrow	 row;
	const char	*m;

	if (mstore_event_get(req->db, event_id, &row) != 1)
		return NULL;
	m = mjson_str(json_object_get(row.json, "content"), "membership");
	if (m != NULL)
		snprintf(buf, bufsz, "%s", m);
	mevrow_fini(&row);
	return m != NULL ? buf : NULL;
}

/*
 * Whether server may see row: the history visibility in the state before
 * it, and the memberships there of the server's users.  1, 0, or -1.
 */
static int
server_sees(struct mreq *req, const struct mevrow *row, const char *server)
{
	json_t		*map, *v;
	const char	*k, *hvid, *m, *at;
	char		 buf[32], *hvkey;
	struct mevrow	 hv;
	enum mroom_hv	 h = MROOM_HV_SHARED;
	int		 seen = 0;

	if (row->state_before == 0 || row->outlier)
		return 1;
	if ((map = mstore_sgroup_state(req->db, row->state_before)) == NULL)
		return -1;
	if ((hvkey = mstate_key_join("m.room.history_visibility", "")) == NULL) {
		json_decref(map);
		return -1;
	}
	hvid = mjson_str(map, hvkey);
	free(hvkey);
	if (hvid != NULL && mstore_event_get(req->db, hvid, &hv) == 1) {
		h = mroom_hv_parse(mjson_str(json_object_get(hv.json, "content"),
		    "history_visibility"));
		mevrow_fini(&hv);
	}
	if (h == MROOM_HV_WORLD_READABLE || h == MROOM_HV_SHARED) {
		json_decref(map);
		return 1;
	}
	json_object_foreach(map, k, v) {
		if (strncmp(k, "m.room.member\x1f", 14) != 0 || (at = strchr(k + 14, ':')) == NULL ||
		    strcmp(at + 1, server) != 0 || !json_is_string(v))
			continue;
		m = membership_in(req, json_string_value(v), buf, sizeof(buf));
		if (m != NULL && (strcmp(m, "join") == 0 ||
		    (h == MROOM_HV_INVITED && strcmp(m, "invite") == 0))) {
			seen = 1;
			break;
		}
	}
	json_decref(map);
	return seen;
}

/* The IDs of a PDU's auth_events or prev_events, either format, appended to out. */
static void
refs_add(const json_t *pdu, const char *field, json_t *out)
{
	json_t	*v;
	size_t	 i;

	json_array_foreach(json_object_get(pdu, field), i, v) {
		const json_t *id = json_is_array(v) ? json_array_get(v, 0) : v;

		if (json_is_string(id))
			json_array_append(out, (json_t *)id);
	}
}

/*
 * The auth chain of the events of start (IDs): every event reachable
 * through auth_events, once each, as PDUs (new array), or NULL.
 */
static json_t *
auth_chain(struct mreq *req, const json_t *start)
{
	json_t		*todo, *seen, *out, *v;
	struct mevrow	 row;
	size_t		 i;

	todo = json_array();
	seen = json_object();
	out = json_array();
	if (todo == NULL || seen == NULL || out == NULL)
		goto fail;
	json_array_foreach(start, i, v) {
		if (!json_is_string(v) || mstore_event_get(req->db, json_string_value(v), &row) != 1)
			continue;
		refs_add(row.json, "auth_events", todo);
		mevrow_fini(&row);
	}
	for (i = 0; i < json_array_size(todo) && i < WALK_MAX; i++) {
		const char *id = json_string_value(json_array_get(todo, i));

		if (json_object_get(seen, id) != NULL)
			continue;
		json_object_set_new(seen, id, json_true());
		if (mstore_event_get(req->db, id, &row) != 1)
			continue;
		json_array_append(out, row.json);
		refs_add(row.json, "auth_events", todo);
		mevrow_fini(&row);
	}
	json_decref(todo);
	json_decref(seen);
	return out;
fail:
	json_decref(todo);
	json_decref(seen);
	json_decref(out);
	return NULL;
}

/*
 * The event of a path that names room_id and event_id: stored, of the
 * room, not rejected.  1 with *row, 0 failed (404 answered).
 */
static int
room_event(struct mreq *req, const char *room_id, const char *event_id, struct mevrow *row)
{
	int rc;

	if ((rc = mstore_event_get(req->db, event_id, row)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: event lookup", __func__), 0;
	if (rc == 0 || (room_id != NULL && strcmp(row->room_id, room_id) != 0) ||
	    row->rejected != NULL) {
		if (rc == 1)
			mevrow_fini(row);
		mfcgi_fail(req, MERR_NOT_FOUND, "Event not found");
		return 0;
	}
	return 1;
}

/*
 * The PDU of row for another server: pruned as a redaction prunes it
 * when its sender's account was erased (deactivated with erase), as
 * Synapse serves it.  A new reference, or NULL.
 */
static json_t *
erased_pruned(struct mreq *req, const struct mevrow *row, const struct mroomver *ver)
{
	json_t	*who, *erased;
	int	 is;

	if ((who = json_pack("[s]", row->sender != NULL ? row->sender : "")) == NULL)
		return NULL;
	erased = mstore_vis_erased(req->db, who);
	json_decref(who);
	if (erased == NULL)
		return NULL;
	is = row->sender != NULL && json_object_get(erased, row->sender) != NULL;
	json_decref(erased);
	return is ? mevent_redact(row->json, ver) : json_incref(row->json);
}

/* Spec: S-S API, GET /_matrix/federation/v1/event/{eventId}: {origin, origin_server_ts, pdus}. */
int
h_fed_event(struct mreq *req)
{
	struct mroom		 room;
	const struct mroomver	*ver;
	struct mevrow		 row;
	json_t			*pdu;
	int			 ok;

	if (!room_event(req, NULL, req->params[0], &row))
		return -1;
	if (room_open(req, row.room_id, &room, &ver) == -1) {
		mevrow_fini(&row);
		return -1;
	}
	mroom_fini(&room);
	if ((ok = server_sees(req, &row, req->auth.origin)) != 1) {
		mevrow_fini(&row);
		return ok == -1 ? mfcgi_fail(req, MERR_INTERNAL, "%s: visibility", __func__) :
		    mfcgi_fail(req, MERR_FORBIDDEN, "Server may not see this event");
	}
	/* As Synapse: the events of an erased user go to other servers pruned. */
	if ((pdu = erased_pruned(req, &row, ver)) == NULL) {
		mevrow_fini(&row);
		return mfcgi_fail(req, MERR_INTERNAL, "%s: erased", __func__);
	}
	ok = mfcgi_reply(req, 200, json_pack("{s:s,s:I,s:[o]}", "origin",
	    req->conf->server_name, "origin_server_ts", (json_int_t)mclock_now_ms(), "pdus",
	    pdu));
	mevrow_fini(&row);
	return ok;
}

/*
 * The state before event_id (query event_id, required) of the path's
 * room: a new state map, or NULL failed.  As Synapse answers /state_ids.
 */
static json_t *
state_at(struct mreq *req, const char *room_id)
{
	struct mevrow	 row;
	char		*eid = mreq_query(req, "event_id");
	json_t		*map;

	if (eid == NULL) {
		mfcgi_fail(req, MERR_MISSING_PARAM, "Missing event_id");
		return NULL;
	}
	if (!room_event(req, room_id, eid, &row)) {
		free(eid);
		return NULL;
	}
	free(eid);
	if (row.outlier || row.state_before == 0) {
		mevrow_fini(&row);
		mfcgi_fail(req, MERR_NOT_FOUND, "No state known at that event");
		return NULL;
	}
	if ((map = mstore_sgroup_state(req->db, row.state_before)) == NULL)
		mfcgi_fail(req, MERR_INTERNAL, "%s: state", __func__);
	mevrow_fini(&row);
	return map;
}

/* Spec: event_id is required: 400 before anything else, as Synapse. 1, or 0 failed. */
static int
mreq_has_event_id(struct mreq *req)
{
	char *eid = mreq_query(req, "event_id");

	if (eid == NULL) {
		mfcgi_fail(req, MERR_MISSING_PARAM, "Missing event_id");
		return 0;
	}
	free(eid);
	return 1;
}

/* The event IDs of a state map: a new array. */
static json_t *
map_ids(const json_t *map)
{
	json_t		*out = json_array(), *v;
	const char	*k;

	json_object_foreach((json_t *)map, k, v)
		json_array_append(out, v);
	return out;
}

/* The PDUs of IDs: a new array. */
static json_t *
pdus_of(struct mreq *req, const json_t *ids)
{
	json_t		*out = json_array(), *v;
	struct mevrow	 row;
	size_t		 i;

	json_array_foreach(ids, i, v)
		if (mstore_event_get(req->db, json_string_value(v), &row) == 1) {
			json_array_append(out, row.json);
			mevrow_fini(&row);
		}
	return out;
}

/* Spec: S-S API, GET /state/{roomId}?event_id=: {pdus, auth_chain}. */
int
h_fed_state(struct mreq *req)
{
	struct mroom		 room;
	const struct mroomver	*ver;
	json_t			*map, *ids, *chain;
	int			 rc;

	if (!mreq_has_event_id(req))
		return -1;
	if (room_open_in(req, req->params[0], &room, &ver) == -1)
		return -1;
	mroom_fini(&room);
	if ((map = state_at(req, req->params[0])) == NULL)
		return -1;
	ids = map_ids(map);
	json_decref(map);
	if ((chain = auth_chain(req, ids)) == NULL) {
		json_decref(ids);
		return mfcgi_fail(req, MERR_INTERNAL, "%s: auth chain", __func__);
	}
	rc = mfcgi_reply(req, 200, json_pack("{s:o,s:o}", "pdus", pdus_of(req, ids),
	    "auth_chain", chain));
	json_decref(ids);
	return rc;
}

/*
 * Spec: S-S API, GET /state_ids/{roomId}?event_id=: {pdu_ids,
 * auth_chain_ids}.
 */
int
h_fed_state_ids(struct mreq *req)
{
	struct mroom		 room;
	const struct mroomver	*ver;
	json_t			*map, *ids, *chain, *cids, *v;
	size_t			 i;

	if (!mreq_has_event_id(req))
		return -1;
	if (room_open_in(req, req->params[0], &room, &ver) == -1)
		return -1;
	mroom_fini(&room);
	if ((map = state_at(req, req->params[0])) == NULL)
		return -1;
	ids = map_ids(map);
	json_decref(map);
	if ((chain = auth_chain(req, ids)) == NULL || (cids = json_array()) == NULL) {
		json_decref(chain);
		json_decref(ids);
		return mfcgi_fail(req, MERR_INTERNAL, "%s: auth chain", __func__);
	}
	json_array_foreach(chain, i, v) {
		char *id = mevent_id(v, ver);

		if (id != NULL)
			json_array_append_new(cids, json_string(id));
		free(id);
	}
	json_decref(chain);
	return mfcgi_reply(req, 200, json_pack("{s:o,s:o}", "pdu_ids", ids, "auth_chain_ids",
	    cids));
}

/* Spec: S-S API, GET /event_auth/{roomId}/{eventId}: {auth_chain}. */
int
h_fed_event_auth(struct mreq *req)
{
	struct mroom		 room;
	const struct mroomver	*ver;
	struct mevrow		 row;
	json_t			*start, *chain;

	if (room_open_in(req, req->params[0], &room, &ver) == -1)
		return -1;
	mroom_fini(&room);
	if (!room_event(req, req->params[0], req->params[1], &row))
		return -1;
	mevrow_fini(&row);
	start = json_pack("[s]", req->params[1]);
	chain = auth_chain(req, start);
	json_decref(start);
	if (chain == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: auth chain", __func__);
	return mfcgi_reply(req, 200, json_pack("{s:o}", "auth_chain", chain));
}

/*
 * Walks back from the events from (IDs) through prev_events, deepest
 * first, not past the events of stop nor below min_depth: at most limit
 * events the server may see, each once, as PDUs.  with_start (backfill):
 * the events of from are part of the answer, deepest first; else
 * (get_missing_events) the answer is oldest first.
 */
static json_t *
walk_back(struct mreq *req, const char *room_id, const json_t *from, const json_t *stop,
    int64_t limit, int64_t min_depth, int with_start)
{
	json_t		*seen = json_object(), *front = json_array(), *out = json_array(), *v;
	json_t		*sorted;
	struct mevrow	 row;
	size_t		 i, best, reads = 0;

	if (seen == NULL || front == NULL || out == NULL)
		goto fail;
	json_array_foreach(stop, i, v)
		if (json_is_string(v))
			json_object_set_new(seen, json_string_value(v), json_true());
	/* front holds [depth, id] of events to read. */
	json_array_foreach(from, i, v) {
		if (!json_is_string(v) || mstore_event_get(req->db, json_string_value(v), &row) != 1)
			continue;
		if (strcmp(row.room_id, room_id) == 0) {
			if (with_start)
				json_array_append_new(front, json_pack("[I,s]", (json_int_t)row.depth,
				    row.event_id));
			else {
				json_t *p = json_array();

				refs_add(row.json, "prev_events", p);
				json_array_foreach(p, best, v)
					json_array_append_new(front, json_pack("[I,O]",
					    (json_int_t)row.depth, v));
				json_decref(p);
			}
		}
		mevrow_fini(&row);
	}
	while (json_array_size(front) > 0 && (int64_t)json_array_size(out) < limit &&
	    reads++ < WALK_MAX) {
		const char	*id;
		json_t		*p;
		int		 ok;

		best = 0;
		json_array_foreach(front, i, v)
			if (json_integer_value(json_array_get(v, 0)) >
			    json_integer_value(json_array_get(json_array_get(front, best), 0)))
				best = i;
		id = json_string_value(json_array_get(json_array_get(front, best), 1));
		if (id == NULL || json_object_get(seen, id) != NULL) {
			json_array_remove(front, best);
			continue;
		}
		json_object_set_new(seen, id, json_true());
		ok = mstore_event_get(req->db, id, &row);
		json_array_remove(front, best);
		if (ok != 1)
			continue;
		if (strcmp(row.room_id, room_id) != 0 || row.rejected != NULL ||
		    row.depth < min_depth) {
			mevrow_fini(&row);
			continue;
		}
		if (server_sees(req, &row, req->auth.origin) == 1)
			json_array_append(out, row.json);
		p = json_array();
		refs_add(row.json, "prev_events", p);
		json_array_foreach(p, i, v)
			json_array_append_new(front, json_pack("[I,O]", (json_int_t)row.depth, v));
		json_decref(p);
		mevrow_fini(&row);
	}
	json_decref(front);
	json_decref(seen);
	/* Backfill answers newest first (as Synapse); get_missing_events oldest first. */
	if (with_start)
		return out;
	if ((sorted = json_array()) == NULL) {
		json_decref(out);
		return NULL;
	}
	for (i = json_array_size(out); i > 0; i--)
		json_array_append(sorted, json_array_get(out, i - 1));
	json_decref(out);
	return sorted;
fail:
	json_decref(seen);
	json_decref(front);
	json_decref(out);
	return NULL;
}

/*
 * Spec: S-S API, GET /backfill/{roomId}?v=&limit=: the events before
 * and including the v's, at most limit: {origin, origin_server_ts, pdus}.
 */
int
h_fed_backfill(struct mreq *req)
{
	struct mroom		 room;
	const struct mroomver	*ver;
	json_t			*v, *pdus;
	int64_t			 limit;

	if (room_open_in(req, req->params[0], &room, &ver) == -1)
		return -1;
	mroom_fini(&room);
	if (mreq_query_int(req, "limit", 10, 0, INT64_MAX, &limit) == -1)
		return -1;
	if (limit > PAGE_MAX)
		limit = PAGE_MAX;
	if ((v = query_all(req, "v")) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	if (json_array_size(v) == 0) {
		json_decref(v);
		return mfcgi_fail(req, MERR_MISSING_PARAM, "Missing v");
	}
	pdus = walk_back(req, req->params[0], v, NULL, limit, 0, 1);
	json_decref(v);
	if (pdus == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: walk", __func__);
	return mfcgi_reply(req, 200, json_pack("{s:s,s:I,s:o}", "origin", req->conf->server_name,
	    "origin_server_ts", (json_int_t)mclock_now_ms(), "pdus", pdus));
}

/*
 * Spec: S-S API, POST /get_missing_events/{roomId}: {earliest_events,
 * latest_events, limit (10), min_depth (0)}: the events before the
 * latest ones back to the earliest ones: {events}.  As Synapse, a list
 * left out is an empty one.
 */
int
h_fed_missing(struct mreq *req)
{
	struct mroom		 room;
	const struct mroomver	*ver;
	json_t			*early = json_object_get(req->body, "earliest_events");
	json_t			*late = json_object_get(req->body, "latest_events");
	json_t			*lim = json_object_get(req->body, "limit");
	json_t			*md = json_object_get(req->body, "min_depth");
	json_t			*evs;
	int64_t			 limit = 10;

	if (room_open_in(req, req->params[0], &room, &ver) == -1)
		return -1;
	mroom_fini(&room);
	/* As Synapse: absent lists are empty ones (and the answer then none). */
	if ((early != NULL && !json_is_array(early)) || (late != NULL &&
	    !json_is_array(late)) || (lim != NULL && !json_is_integer(lim)) ||
	    (md != NULL && !json_is_integer(md)))
		return mfcgi_fail(req, MERR_BAD_JSON, "earliest_events and latest_events are"
		    " lists, limit and min_depth integers");
	if (lim != NULL)
		limit = json_integer_value(lim);
	if (limit > PAGE_MAX)
		limit = PAGE_MAX;
	evs = walk_back(req, req->params[0], late, early, limit, md != NULL ?
	    json_integer_value(md) : 0, 0);
	if (evs == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: walk", __func__);
	return mfcgi_reply(req, 200, json_pack("{s:o}", "events", evs));
}

/*
 * Joins and leaves by other servers' users (S-S API, "Joining Rooms",
 * "Leaving Rooms").
 */

/* The current state for the auth rules: each event read once. */
struct cur {
	struct mreq	*req;
	const char	*room_id;
	json_t		*cache;
};

static const json_t *
cur_get(void *arg, const char *type, const char *sk)
{
	struct cur	*c = arg;
	char		*k = mstate_key_join(type, sk);
	json_t		*ev;
	int		 err = 0;

	if (k == NULL)
		return NULL;
	if ((ev = json_object_get(c->cache, k)) == NULL) {
		ev = mstore_cstate_event(c->req->db, c->room_id, type, sk, &err);
		json_object_set_new(c->cache, k, ev != NULL ? ev : json_null());
	}
	free(k);
	return json_is_null(ev) ? NULL : ev;
}

/* A reference to stored event id in ver's format: new reference, or NULL. */
static json_t *
ref_of(struct mreq *req, const struct mroomver *ver, const char *id)
{
	struct mevrow	 row;
	json_t		*ref;

	if (ver->evid != MEVID_V1)
		return json_string(id);
	if (mstore_event_get(req->db, id, &row) != 1)
		return NULL;
	ref = json_pack("[s,O]", id, json_object_get(row.json, "hashes"));
	mevrow_fini(&row);
	return ref;
}

/* 1 when vers (query ver values) has version. */
static int
ver_listed(const json_t *vers, const char *version)
{
	json_t	*v;
	size_t	 i;

	json_array_foreach(vers, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), version) == 0)
			return 1;
	return 0;
}

/*
 * make_join and make_leave: a member event template for the path's user
 * (a user of the origin) with membership, its prev_events our forward
 * extremities, its auth events from our current state, and checked by
 * the auth rules against that state (403 when they refuse it).
 */
static int
make_member(struct mreq *req, const char *membership)
{
	struct mroom		 room;
	const struct mroomver	*ver = NULL;
	struct mstate_key	 keys[8];
	struct mroom_ctx	 ctx;
	struct cur		 c;
	const char		*room_id = req->params[0], *user = req->params[1], *at;
	json_t			*vers = NULL, *ev = NULL, *fwd = NULL, *prevs, *auths, *v;
	char			*via = NULL, why[256];
	int64_t			 maxdepth = 0;
	size_t			 i, n;
	int			 rc = -1;

	memset(&c, 0, sizeof(c));
	if (!mroom_user_id_check(user) || (at = strchr(user, ':')) == NULL ||
	    strcmp(at + 1, req->auth.origin) != 0)
		return mfcgi_fail(req, MERR_FORBIDDEN, "User not from origin");
	if (room_open(req, room_id, &room, &ver) == -1)
		return -1;
	/* A room of a version we do not know: no version rules to build or check by. */
	if (ver == NULL) {
		rc = mfcgi_fail(req, MERR_NOT_FOUND, "Unknown room");
		goto out;
	}
	/* As Synapse: a room no user of ours is in is not ours to let anyone into. */
	if ((rc = mfed_server_in_room(req->db, room_id, req->conf->server_name)) != 1) {
		rc = rc == -1 ? mfcgi_fail(req, MERR_INTERNAL, "%s: members", __func__) :
		    mfcgi_fail(req, MERR_NOT_FOUND, "No user of this server is in the room");
		goto out;
	}
	/* Spec: room versions 7 and later have knocks; make_knock names versions too. */
	if (strcmp(membership, "knock") == 0 && !ver->knock) {
		mfcgi_fail_as(req, 400, "M_INCOMPATIBLE_ROOM_VERSION",
		    "This room's version does not support knocking");
		rc = mfcgi_fail_add(req, "room_version", json_string(room.version));
		goto out;
	}
	if (strcmp(membership, "join") == 0 || strcmp(membership, "knock") == 0) {
		if ((vers = query_all(req, "ver")) == NULL) {
			rc = mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
			goto out;
		}
		/* Spec: without ver, the server supports room version 1 only. */
		if (json_array_size(vers) == 0)
			json_array_append_new(vers, json_string("1"));
		if (!ver_listed(vers, room.version)) {
			mfcgi_fail_as(req, 400, "M_INCOMPATIBLE_ROOM_VERSION",
			    "Your homeserver does not support the features required to join"
			    " this room");
			rc = mfcgi_fail_add(req, "room_version", json_string(room.version));
			goto out;
		}
	}
	if ((fwd = mstore_fwd_list(req->db, room_id, &maxdepth)) == NULL) {
		rc = mfcgi_fail(req, MERR_INTERNAL, "%s: extremities", __func__);
		goto out;
	}
	ev = json_pack("{s:s,s:s,s:s,s:s,s:{s:s},s:I,s:I}", "type", "m.room.member",
	    "room_id", room_id, "sender", user, "state_key", user, "content", "membership",
	    membership, "origin_server_ts", (json_int_t)mclock_now_ms(), "depth",
	    (json_int_t)maxdepth + 1);
	if (ev == NULL) {
		rc = mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	if (ver->redaction != MREDACT_V11)
		json_object_set_new(ev, "origin", json_string(req->auth.origin));
	if (strcmp(membership, "join") == 0) {
		memset(&ctx, 0, sizeof(ctx));
		ctx.db = req->db;
		ctx.server_name = req->conf->server_name;
		ctx.key = req->srv->key;
		if ((via = mroom_join_authoriser(&ctx, room_id, user)) != NULL)
			json_object_set_new(json_object_get(ev, "content"),
			    "join_authorised_via_users_server", json_string(via));
	}
	prevs = json_array();
	json_array_foreach(fwd, i, v) {
		json_t *ref = ref_of(req, ver, json_string_value(v));

		if (ref != NULL)
			json_array_append_new(prevs, ref);
	}
	json_object_set_new(ev, "prev_events", prevs);
	c.req = req;
	c.room_id = room_id;
	c.cache = json_object();
	auths = json_array();
	json_object_set_new(ev, "auth_events", auths);
	n = mevent_auth_types(ev, ver, keys, sizeof(keys) / sizeof(keys[0]));
	for (i = 0; i < n; i++) {
		const json_t	*st = cur_get(&c, keys[i].type, keys[i].state_key);
		json_t		*ref;

		if (st != NULL && mjson_str(st, "event_id") != NULL &&
		    (ref = ref_of(req, ver, mjson_str(st, "event_id"))) != NULL)
			json_array_append_new(auths, ref);
	}
	if (!mevent_auth_check(ev, ver, cur_get, &c, why, sizeof(why))) {
		rc = mfcgi_fail(req, MERR_FORBIDDEN, "%s", why);
		goto out;
	}
	rc = mfcgi_reply(req, 200, json_pack("{s:s,s:O}", "room_version", room.version,
	    "event", ev));
out:
	free(via);
	json_decref(c.cache);
	json_decref(ev);
	json_decref(fwd);
	json_decref(vers);
	mroom_fini(&room);
	return rc;
}

/* Spec: S-S API, GET /make_join/{roomId}/{userId}?ver=... */
int
h_make_join(struct mreq *req)
{
	return make_member(req, "join");
}

/* Spec: S-S API, GET /make_leave/{roomId}/{userId}. */
int
h_make_leave(struct mreq *req)
{
	return make_member(req, "leave");
}

/*
 * The stripped state a knocking server is given (S-S API, send_knock's
 * knock_room_state; Synapse's default room_prejoin_state types).  A new
 * array, or NULL.
 */
static json_t *
stripped_state(struct mreq *req, const char *room_id)
{
	static const char *const types[] = { "m.room.create", "m.room.join_rules",
	    "m.room.canonical_alias", "m.room.avatar", "m.room.encryption", "m.room.name",
	    "m.room.topic" };
	json_t	*out, *ev;
	size_t	 i;
	int	 err = 0;

	if ((out = json_array()) == NULL)
		return NULL;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if ((ev = mstore_cstate_event(req->db, room_id, types[i], "", &err)) == NULL) {
			if (err) {
				json_decref(out);
				return NULL;
			}
			continue;
		}
		json_array_append_new(out, json_pack("{s:O*,s:O*,s:O*,s:O*}", "type",
		    json_object_get(ev, "type"), "state_key", json_object_get(ev, "state_key"),
		    "content", json_object_get(ev, "content"), "sender",
		    json_object_get(ev, "sender")));
		json_decref(ev);
	}
	return out;
}

/*
 * send_join and send_leave (v2): the signed member event of the path,
 * by a user of the origin, taken in through the write path.  A join a
 * user of ours vouches for (a restricted room) gets our signature first.
 * join: answers the state before it and that state's auth chain.
 */
static int
send_member(struct mreq *req, const char *membership, int v1)
{
	struct mroom		 room;
	const struct mroomver	*ver = NULL;
	struct mevrow		 row;
	enum mroom_fate		 fate;
	const char		*room_id = req->params[0], *sender, *via, *at;
	const json_t		*sigs;
	json_t			*ev = NULL, *map, *ids, *chain;
	char			*id = NULL, why[256];
	enum mroom_err		 err;
	int			 rc = -1, signed_here = 0;

	if (room_open(req, room_id, &room, &ver) == -1)
		return -1;
	/* A room of a version we do not know: no version rules to build or check by. */
	if (ver == NULL) {
		rc = mfcgi_fail(req, MERR_NOT_FOUND, "Unknown room");
		goto out;
	}
	if ((ev = json_deep_copy(req->body)) == NULL) {
		rc = mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	sender = mjson_str(ev, "sender");
	if (mjson_str(ev, "type") == NULL || strcmp(mjson_str(ev, "type"), "m.room.member") != 0 ||
	    sender == NULL || mjson_str(ev, "state_key") == NULL ||
	    strcmp(sender, mjson_str(ev, "state_key")) != 0 ||
	    mjson_str(json_object_get(ev, "content"), "membership") == NULL ||
	    strcmp(mjson_str(json_object_get(ev, "content"), "membership"), membership) != 0) {
		rc = mfcgi_fail(req, MERR_BAD_JSON, "Not a %s event of its sender", membership);
		goto out;
	}
	if (mjson_str(ev, "room_id") == NULL || strcmp(mjson_str(ev, "room_id"), room_id) != 0) {
		rc = mfcgi_fail(req, MERR_BAD_JSON, "The event is of another room");
		goto out;
	}
	if ((at = strchr(sender, ':')) == NULL || strcmp(at + 1, req->auth.origin) != 0) {
		rc = mfcgi_fail(req, MERR_FORBIDDEN, "The sender is not of the origin server");
		goto out;
	}
	/*
	 * As Synapse: an event its server did not sign (no signature of it,
	 * no content hash under one) is 403, before its shape is looked at.
	 */
	sigs = json_object_get(json_object_get(ev, "signatures"), req->auth.origin);
	if (!json_is_object(sigs) || json_object_size(sigs) == 0 ||
	    !json_is_string(json_object_get(json_object_get(ev, "hashes"), "sha256"))) {
		rc = mfcgi_fail(req, MERR_FORBIDDEN, "The event is not signed by its server");
		goto out;
	}
	if ((id = mevent_id(ev, ver)) == NULL || strcmp(id, req->params[1]) != 0) {
		rc = mfcgi_fail(req, MERR_BAD_JSON, "The event ID does not match the event");
		goto out;
	}
	via = mjson_str(json_object_get(ev, "content"), "join_authorised_via_users_server");
	if (strcmp(membership, "join") == 0 && via != NULL && ver->restricted &&
	    (at = strchr(via, ':')) != NULL && strcmp(at + 1, req->conf->server_name) == 0) {
		if (mevent_sign(ev, ver, req->conf->server_name, req->srv->key) == -1) {
			rc = mfcgi_fail(req, MERR_INTERNAL, "%s: sign", __func__);
			goto out;
		}
		signed_here = 1;
	}
	err = mfed_receive_event(req->db, req->conf, req->auth.origin, ev, &fate, why,
	    sizeof(why));
	switch (err) {
	case MROOM_OK:
		break;
	case MROOM_ERROR:
		rc = mfcgi_fail(req, MERR_INTERNAL, "%s: %s", __func__, why);
		goto out;
	case MROOM_FORBIDDEN:
	case MROOM_BAD_SIGNATURE:
		rc = mfcgi_fail(req, MERR_FORBIDDEN, "%s", why);
		goto out;
	default:
		rc = mfcgi_fail(req, MERR_BAD_JSON, "%s", why);
		goto out;
	}
	if (fate == MROOM_FATE_REJECTED || fate == MROOM_FATE_SOFT_FAILED) {
		rc = mfcgi_fail(req, MERR_FORBIDDEN, "%s", why[0] != '\0' ? why :
		    "The event is not allowed");
		goto out;
	}
	if (strcmp(membership, "leave") == 0) {
		rc = mfcgi_reply(req, 200, v1 ? json_pack("[i,{}]", 200) : json_object());
		goto out;
	}
	/* Spec: send_knock answers the room's stripped state. */
	if (strcmp(membership, "knock") == 0) {
		json_t *st = stripped_state(req, room_id);

		/* Synapse 1.67 reads it as knock_state_events, its name before the spec's. */
		rc = st != NULL ? mfcgi_reply(req, 200, json_pack("{s:O,s:o}", "knock_room_state",
		    st, "knock_state_events", st)) : mfcgi_fail(req, MERR_INTERNAL,
		    "%s: stripped state", __func__);
		goto out;
	}
	if (mstore_event_get(req->db, id, &row) != 1) {
		rc = mfcgi_fail(req, MERR_INTERNAL, "%s: stored join", __func__);
		goto out;
	}
	map = mstore_sgroup_state(req->db, row.state_before);
	mevrow_fini(&row);
	if (map == NULL) {
		rc = mfcgi_fail(req, MERR_INTERNAL, "%s: state", __func__);
		goto out;
	}
	ids = map_ids(map);
	json_decref(map);
	if ((chain = auth_chain(req, ids)) == NULL) {
		json_decref(ids);
		rc = mfcgi_fail(req, MERR_INTERNAL, "%s: auth chain", __func__);
		goto out;
	}
	rc = mfcgi_reply(req, 200, json_pack("{s:s,s:o,s:o,s:b}", "origin",
	    req->conf->server_name, "state", pdus_of(req, ids), "auth_chain", chain,
	    "members_omitted", 0));
	if (rc == 0 && signed_here)
		json_object_set(req->reply, "event", ev);
	/* Spec: the v1 endpoints answer [200, body]. */
	if (rc == 0 && v1)
		req->reply = json_pack("[i,o]", 200, req->reply);
	json_decref(ids);
out:
	free(id);
	json_decref(ev);
	mroom_fini(&room);
	return rc;
}

/* Spec: S-S API, PUT /_matrix/federation/v2/send_join/{roomId}/{eventId}. */
int
h_send_join(struct mreq *req)
{
	return send_member(req, "join", 0);
}

/* Spec: S-S API, PUT /_matrix/federation/v1/send_join (deprecated): the same as [200, body]. */
int
h_send_join_v1(struct mreq *req)
{
	return send_member(req, "join", 1);
}

/* Spec: S-S API, PUT /_matrix/federation/v2/send_leave/{roomId}/{eventId}. */
int
h_send_leave(struct mreq *req)
{
	return send_member(req, "leave", 0);
}

/* Spec: S-S API, PUT /_matrix/federation/v1/send_leave (deprecated): [200, {}]. */
int
h_send_leave_v1(struct mreq *req)
{
	return send_member(req, "leave", 1);
}

/* Spec: S-S API, GET /_matrix/federation/v1/make_knock/{roomId}/{userId}?ver=... */
int
h_make_knock(struct mreq *req)
{
	return make_member(req, "knock");
}

/* Spec: S-S API, PUT /_matrix/federation/v1/send_knock/{roomId}/{eventId}: {knock_room_state}. */
int
h_send_knock(struct mreq *req)
{
	return send_member(req, "knock", 0);
}

/* /timestamp_to_event: candidates read this many at a time, this many at most. */
#define TS_PAGE		50
#define TS_SCAN_MAX	1000

/*
 * Spec: S-S API, GET /_matrix/federation/v1/timestamp_to_event/{roomId}?ts=&dir=:
 * {event_id, origin_server_ts}, the closest event of the room at or after
 * (f) or at or before (b) ts that is stored here.  As Synapse: ts and dir
 * are required (400), the origin is checked against the room's ACL but
 * need not be in the room, 404 M_NOT_FOUND when there is none.  Only
 * events the origin may see (server_sees) are candidates.  Also served
 * under Synapse 1.67's unstable prefix (org.matrix.msc3030).
 */
int
h_fed_timestamp(struct mreq *req)
{
	struct mroom		 room;
	const struct mroomver	*ver;
	struct mevrow		*rows = NULL;
	char			*ts = mreq_query(req, "ts"), *dir = mreq_query(req, "dir");
	size_t			 n = 0, i;
	int64_t			 when, kts, kstream, scanned = 0;
	int			 rc = -1, back, ok;

	if (ts == NULL || dir == NULL) {
		mfcgi_fail(req, MERR_MISSING_PARAM, "ts and dir are required");
		goto out;
	}
	if (strcmp(dir, "f") != 0 && strcmp(dir, "b") != 0) {
		mfcgi_fail(req, MERR_INVALID_PARAM, "dir must be f or b");
		goto out;
	}
	if (mreq_query_int(req, "ts", 0, INT64_MIN, INT64_MAX, &when) == -1)
		goto out;
	if (room_open(req, req->params[0], &room, &ver) == -1)
		goto out;
	mroom_fini(&room);
	back = dir[0] == 'b';
	kts = back ? INT64_MAX : INT64_MIN;
	kstream = back ? INT64_MAX : INT64_MIN;
	for (;;) {
		if (mstore_vis_near_ts(req->db, req->params[0], when, back, kts, kstream,
		    TS_PAGE, &rows, &n) == -1) {
			mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
			goto out;
		}
		for (i = 0; i < n; i++) {
			if ((ok = server_sees(req, &rows[i], req->auth.origin)) == -1) {
				mfcgi_fail(req, MERR_INTERNAL, "%s: visibility", __func__);
				goto out;
			}
			if (ok == 1 && rows[i].rejected == NULL) {
				rc = mfcgi_reply(req, 200, json_pack("{s:s,s:I}", "event_id",
				    rows[i].event_id, "origin_server_ts",
				    (json_int_t)rows[i].origin_server_ts));
				goto out;
			}
		}
		scanned += (int64_t)n;
		if ((int64_t)n < TS_PAGE || scanned >= TS_SCAN_MAX)
			break;
		kts = rows[n - 1].origin_server_ts;
		kstream = rows[n - 1].stream;
		mevrow_list_free(rows, n);
		rows = NULL;
		n = 0;
	}
	mfcgi_fail(req, MERR_NOT_FOUND, "Unable to find event from %lld in direction %s",
	    (long long)when, dir);
out:
	mevrow_list_free(rows, n);
	free(ts);
	free(dir);
	return rc;
}
