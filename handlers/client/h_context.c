/* Around one event: /context and /timestamp_to_event. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"
#include "config/config.h"
#include "fed/fed.h"
#include "json/json.h"
#include "relations.h"
#include "room/filter.h"
#include "rooms.h"
#include "store/store.h"

#define CONTEXT_DEFAULT_LIMIT	10
#define CONTEXT_MAX_LIMIT	100
#define TS_PAGE			50
#define TS_SCAN_MAX		1000

/*
 * Client events of the rows history visibility (keep) and the filter let
 * through, appended to out.  0 or -1.
 */
static int
append_rows(struct mreq *req, json_t *out, const json_t *filter, const char *room_id,
    const struct mevrow *rows, const unsigned char *keep, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (keep[i] && mfilter_event_match(filter, room_id, rows[i].json) &&
		    json_array_append_new(out, mroom_client_event(&rows[i], mclock_now_ms(),
		    req->auth.user_id, req->auth.device_id)) == -1)
			return -1;
	return 0;
}

/*
 * The state after event last, filtered; with lazy_load_members only the
 * membership of the senders in senders (spec: "Lazy-loading room
 * members").  A new array, or NULL.
 */
static json_t *
context_state(struct mreq *req, const json_t *filter, const char *room_id,
    const struct mevrow *last, const json_t *senders)
{
	json_t		*all, *out, *ev;
	const char	*k;
	int		 lazy = json_is_true(json_object_get(filter, "lazy_load_members"));

	if ((all = mstore_sgroup_state_events(req->db, last->state_after)) == NULL)
		return NULL;
	if ((out = json_array()) == NULL) {
		json_decref(all);
		return NULL;
	}
	json_object_foreach(all, k, ev) {
		const char *type = mjson_str(ev, "type"), *sk = mjson_str(ev, "state_key");

		if (!mfilter_event_match(filter, room_id, ev))
			continue;
		if (lazy && type != NULL && strcmp(type, "m.room.member") == 0 &&
		    (sk == NULL || json_object_get(senders, sk) == NULL))
			continue;
		if (json_array_append_new(out, mroom_state_client_event(ev, NULL, mclock_now_ms(),
		    req->auth.user_id, req->auth.device_id)) == -1) {
			json_decref(out);
			out = NULL;
			break;
		}
	}
	json_decref(all);
	return out;
}

/*
 * Spec: C-S API, GET /rooms/{roomId}/context/{eventId}: limit (default
 * 10) split between events_before (newest first) and events_after
 * (oldest first); the filter applies after the limit, as the spec allows,
 * to those and to state, the state after the last event returned.  start
 * and end are /messages tokens just outside the events looked at.  404
 * M_NOT_FOUND for an event not in the room or one the user may not see
 * (history visibility), whose neighbours are filtered the same way.
 */
int
h_context(struct mreq *req)
{
	const char	*room_id = req->params[0];
	struct mroom_reader	 r;
	struct mevrow		 target, *before = NULL, *after = NULL;
	const struct mevrow	*lastev;
	unsigned char		*tkeep = NULL, *bkeep = NULL, *akeep = NULL;
	char			*fs = mreq_query(req, "filter");
	json_t			*filter = NULL, *out = NULL, *bev = NULL, *aev = NULL;
	json_t			*all = NULL, *senders = NULL, *state, *e, *ev = NULL;
	size_t			 nb = 0, na = 0, i;
	int64_t			 limit;
	int			 rc = -1, found;

	memset(&target, 0, sizeof(target));
	if (room_require_reader(req, room_id, &r) != 1)
		goto out;
	if ((found = mstore_event_get(req->db, req->params[1], &target)) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	if (found == 1 && strcmp(target.room_id, room_id) == 0 && target.rejected == NULL &&
	    (tkeep = room_vis_keep(req, &target, 1)) == NULL)
		goto out;
	if (tkeep == NULL || !tkeep[0]) {
		mfcgi_fail(req, MERR_NOT_FOUND, "Event not found");
		goto out;
	}
	if (mreq_query_int(req, "limit", CONTEXT_DEFAULT_LIMIT, 0, INT64_MAX, &limit) == -1)
		goto out;
	if (room_filter_parse(req, fs, &filter) == -1)
		goto out;
	if (json_is_integer(json_object_get(filter, "limit")) &&
	    json_integer_value(json_object_get(filter, "limit")) >= 0 &&
	    json_integer_value(json_object_get(filter, "limit")) < limit)
		limit = json_integer_value(json_object_get(filter, "limit"));
	if (limit > CONTEXT_MAX_LIMIT)
		limit = CONTEXT_MAX_LIMIT;
	if (mstore_events_page(req->db, room_id, 1, target.stream - 1, 0, limit / 2, &before,
	    &nb) == -1 || mstore_events_page(req->db, room_id, 0, target.stream, INT64_MAX,
	    limit - limit / 2, &after, &na) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	if ((bkeep = room_vis_keep(req, before, nb)) == NULL ||
	    (akeep = room_vis_keep(req, after, na)) == NULL)
		goto out;
	if ((bev = json_array()) == NULL || (aev = json_array()) == NULL ||
	    (all = json_array()) == NULL || (senders = json_object()) == NULL ||
	    (ev = mroom_client_event(&target, mclock_now_ms(), req->auth.user_id,
	    req->auth.device_id)) == NULL ||
	    append_rows(req, bev, filter, room_id, before, bkeep, nb) == -1 ||
	    append_rows(req, aev, filter, room_id, after, akeep, na) == -1 ||
	    json_array_append(all, ev) == -1 || json_array_extend(all, bev) == -1 ||
	    json_array_extend(all, aev) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	/* One bundling pass over every event returned: the arrays share them. */
	if (room_bundle(req, room_id, all) == -1)
		goto out;
	json_array_foreach(all, i, e) {
		if (mjson_str(e, "sender") != NULL)
			json_object_set_new(senders, mjson_str(e, "sender"), json_true());
	}
	/* The state after the last event the user may see. */
	lastev = &target;
	for (i = na; i > 0; i--)
		if (akeep[i - 1]) {
			lastev = &after[i - 1];
			break;
		}
	if ((state = context_state(req, filter, room_id, lastev, senders)) == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	if ((out = json_pack("{s:O,s:O,s:O,s:o,s:o,s:o}", "event", ev, "events_before", bev,
	    "events_after", aev, "state", state,
	    "start", room_token(nb > 0 ? before[nb - 1].stream - 1 : target.stream - 1),
	    "end", room_token(na > 0 ? after[na - 1].stream : target.stream))) == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	rc = mfcgi_reply(req, 200, out);
	out = NULL;
out:
	json_decref(out);
	json_decref(all);
	json_decref(senders);
	json_decref(ev);
	json_decref(bev);
	json_decref(aev);
	json_decref(filter);
	mevrow_list_free(before, nb);
	mevrow_list_free(after, na);
	mevrow_fini(&target);
	free(tkeep);
	free(bkeep);
	free(akeep);
	free(fs);
	return rc;
}

/*
 * Whether row names a prev event that is a backward extremity of the
 * room (a gap before it, which another server may fill): as Synapse's
 * is_event_next_to_backward_gap.  1 or 0.
 */
static int
ts_backward_gap(struct mreq *req, const struct mevrow *row)
{
	json_t	*bwd, *prev, *v, *b;
	size_t	 i, j;
	int	 gap = 0;

	/* Extremities are kept with the depth of the event naming them. */
	if ((bwd = mstore_bwd_list(req->db, row->room_id, row->depth, row->depth, 100)) == NULL)
		return 0;
	prev = json_object_get(row->json, "prev_events");
	json_array_foreach(prev, i, v) {
		const char *id = json_string_value(json_is_array(v) ? json_array_get(v, 0) : v);

		json_array_foreach(bwd, j, b)
			if (id != NULL && json_is_string(json_array_get(b, 0)) &&
			    strcmp(json_string_value(json_array_get(b, 0)), id) == 0)
				gap = 1;
	}
	json_decref(bwd);
	return gap;
}

/*
 * Asks server for /timestamp_to_event (v1, then Synapse 1.67's MSC3030
 * prefix when v1 is unrecognised: 400, 404 or 405 with M_UNRECOGNIZED or
 * no Matrix error).  1 with *eid (malloc'd), 0 when it
 * has no answer.
 */
static int
ts_ask(struct mreq *req, const char *server, const char *room_id, int64_t when,
    const char *dir, char **eid)
{
	static const char *const prefixes[] = {
		"/_matrix/federation/v1",
		"/_matrix/federation/unstable/org.matrix.msc3030",
	};
	json_t		*reply;
	char		*r, *path;
	const char	*id, *ec;
	long		 status;
	size_t		 i;
	int		 rc = 0, unknown;

	*eid = NULL;
	if ((r = mfed_escape(room_id)) == NULL)
		return 0;
	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]) && rc == 0; i++) {
		if (asprintf(&path, "%s/timestamp_to_event/%s?ts=%lld&dir=%s", prefixes[i], r,
		    (long long)when, dir) == -1)
			break;
		reply = NULL;
		status = 0;
		if (mfed_request(req->conf, req->srv->key, server, "GET", path, NULL, &status,
		    &reply) == -1) {
			free(path);
			break;
		}
		free(path);
		id = mjson_str(reply, "event_id");
		if (status == 200 && id != NULL && id[0] == '$' && strlen(id) < 256 &&
		    json_is_integer(json_object_get(reply, "origin_server_ts")))
			rc = (*eid = strdup(id)) != NULL;
		/* Synapse 1.67 answers the v1 path 400 M_UNRECOGNIZED. */
		ec = mjson_str(reply, "errcode");
		unknown = (status == 404 || status == 400 || status == 405) &&
		    (ec == NULL || strcmp(ec, "M_UNRECOGNIZED") == 0);
		json_decref(reply);
		if (rc == 0 && !unknown)
			break;
	}
	free(r);
	return rc;
}

/*
 * The event a server of the room names for (when, dir), taken in here as
 * history when it is not stored yet (so /context and /messages work from
 * it, as Synapse backfills it), and visible to the user: 1 with *hit
 * filled (mevrow_fini), 0 when no server gives one.  The servers are
 * asked in turn until one answers.
 */
static int
ts_remote(struct mreq *req, const char *room_id, int64_t when, const char *dir,
    struct mevrow *hit)
{
	json_t		*servers, *s, *reply, *pdus;
	char		*eid, *e, *path;
	unsigned char	*keep;
	long		 status;
	size_t		 i;
	int		 rc = 0, got;

	if (req->srv->key == NULL ||
	    (servers = mstore_fedq_room_servers(req->db, room_id, req->conf->server_name)) == NULL)
		return 0;
	json_array_foreach(servers, i, s) {
		const char *server = json_string_value(s);

		if (server == NULL || !ts_ask(req, server, room_id, when, dir, &eid))
			continue;
		if ((got = mstore_event_get(req->db, eid, hit)) == 0 &&
		    (e = mfed_escape(eid)) != NULL) {
			if (asprintf(&path, "/_matrix/federation/v1/event/%s", e) != -1) {
				reply = NULL;
				if (mfed_request(req->conf, req->srv->key, server, "GET", path,
				    NULL, &status, &reply) == 0 && status == 200 &&
				    json_is_array(pdus = json_object_get(reply, "pdus")))
					(void)mfed_receive_history(req->db, req->conf,
					    req->srv->key, server, room_id, pdus);
				json_decref(reply);
				free(path);
			}
			free(e);
			got = mstore_event_get(req->db, eid, hit);
		}
		free(eid);
		if (got != 1)
			break;
		if (strcmp(hit->room_id, room_id) == 0 && hit->rejected == NULL &&
		    (keep = room_vis_keep(req, hit, 1)) != NULL) {
			rc = keep[0];
			free(keep);
		}
		if (!rc)
			mevrow_fini(hit);
		break;
	}
	json_decref(servers);
	return rc;
}

/* |a - b|, saturating. */
static uint64_t
ts_dist(int64_t a, int64_t b)
{
	return a > b ? (uint64_t)a - (uint64_t)b : (uint64_t)b - (uint64_t)a;
}

/*
 * Spec: C-S API, GET /rooms/{roomId}/timestamp_to_event: ts and dir (f or
 * b) are required; the closest event at or after (f) or at or before (b)
 * ts, by origin_server_ts, among those the user may see (history
 * visibility): candidates are read TS_PAGE at a time, TS_SCAN_MAX at
 * most.  As Synapse: when there is none here, or (dir f) the one found
 * follows a gap in the history here (a backward extremity), the room's
 * other servers are asked (ts_remote), and their event is the answer
 * when it is closer to ts.  404 M_NOT_FOUND when there is none.
 */
int
h_timestamp_to_event(struct mreq *req)
{
	char			*ts = mreq_query(req, "ts"), *dir = mreq_query(req, "dir");
	struct mroom_reader	 r;
	struct mevrow		*rows = NULL, remote;
	unsigned char		*keep = NULL;
	size_t			 n = 0, i;
	int64_t			 when, kts, kstream, scanned = 0, lts = 0;
	char			*lid = NULL;
	int			 rc = -1, back, gap = 0, haveremote = 0;

	memset(&remote, 0, sizeof(remote));
	if (room_require_reader(req, req->params[0], &r) != 1)
		goto out;
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
	back = dir[0] == 'b';
	kts = back ? INT64_MAX : INT64_MIN;
	kstream = back ? INT64_MAX : INT64_MIN;
	while (lid == NULL) {
		if (mstore_vis_near_ts(req->db, req->params[0], when, back, kts, kstream,
		    TS_PAGE, &rows, &n) == -1) {
			mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
			goto out;
		}
		if ((keep = room_vis_keep(req, rows, n)) == NULL)
			goto out;
		for (i = 0; i < n && !keep[i]; i++)
			;
		if (i < n) {
			if ((lid = strdup(rows[i].event_id)) == NULL) {
				mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
				goto out;
			}
			lts = rows[i].origin_server_ts;
			gap = !back && ts_backward_gap(req, &rows[i]);
		}
		scanned += (int64_t)n;
		if (lid == NULL && ((int64_t)n < TS_PAGE || scanned >= TS_SCAN_MAX))
			break;
		if (n > 0) {
			kts = rows[n - 1].origin_server_ts;
			kstream = rows[n - 1].stream;
		}
		mevrow_list_free(rows, n);
		rows = NULL;
		n = 0;
		free(keep);
		keep = NULL;
	}
	if ((lid == NULL || gap) &&
	    (haveremote = ts_remote(req, req->params[0], when, dir, &remote)) &&
	    (lid == NULL || ts_dist(remote.origin_server_ts, when) < ts_dist(lts, when))) {
		rc = mfcgi_reply(req, 200, json_pack("{s:s,s:I}", "event_id",
		    remote.event_id, "origin_server_ts", (json_int_t)remote.origin_server_ts));
		goto out;
	}
	if (lid != NULL) {
		rc = mfcgi_reply(req, 200, json_pack("{s:s,s:I}", "event_id", lid,
		    "origin_server_ts", (json_int_t)lts));
		goto out;
	}
	mfcgi_fail(req, MERR_NOT_FOUND, "No event found %s %lld", back ? "before" : "after",
	    (long long)when);
out:
	if (haveremote)
		mevrow_fini(&remote);
	mevrow_list_free(rows, n);
	free(keep);
	free(lid);
	free(ts);
	free(dir);
	return rc;
}
