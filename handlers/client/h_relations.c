/* Relations and threads: /relations, /threads, and bundled aggregations. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"
#include "json/json.h"
#include "relations.h"
#include "rooms.h"
#include "store/store.h"

#define RELATIONS_DEFAULT_LIMIT	5
#define THREADS_DEFAULT_LIMIT	5
#define RELATIONS_MAX_LIMIT	100
/* Spec: recurse: "Homeservers SHOULD traverse at least 3 levels". */
#define RELATIONS_RECURSE_DEPTH	3

/*
 * INT64_MAX is refused as no position the server gave: callers use it
 * for "no end".
 */
int
room_token_parse(struct mreq *req, const char *tok, int64_t *pos)
{
	const char	*p;
	int64_t		 n, other;

	if ((tok[0] != 't' && tok[0] != 's') ||
	    mfcgi_num_parse(tok + 1, 0, INT64_MAX - 1, &p, &n) == -1)
		goto bad;
	/*
	 * A place of /messages, "t<depth>-<stream>": its stream position;
	 * history from elsewhere (below 0) reads as the room's start.
	 */
	if (tok[0] == 't' && *p == '-') {
		if (mfcgi_num_parse(p + 1, INT64_MIN + 1, INT64_MAX - 1, &p, &n) == -1)
			goto bad;
		if (n < 0)
			n = 0;
	}
	/* A sync token's other streams are checked, not used. */
	while (tok[0] == 's' && *p == '_')
		if (mfcgi_num_parse(p + 1, 0, INT64_MAX, &p, &other) == -1)
			goto bad;
	if (*p != '\0')
		goto bad;
	*pos = n;
	return 0;
bad:
	return mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid pagination token");
}

json_t *
room_token(int64_t pos)
{
	char tok[32];

	snprintf(tok, sizeof(tok), "t%lld", (long long)(pos < 0 ? 0 : pos));
	return json_string(tok);
}

/* unsigned["m.relations"] of a client event, made when absent (borrowed), or NULL. */
static json_t *
relations_of(json_t *ev)
{
	json_t *u = json_object_get(ev, "unsigned"), *r;

	if (u == NULL) {
		if ((u = json_object()) == NULL || json_object_set_new(ev, "unsigned", u) == -1)
			return NULL;
	}
	if ((r = json_object_get(u, "m.relations")) == NULL) {
		if ((r = json_object()) == NULL || json_object_set_new(u, "m.relations", r) == -1)
			return NULL;
	}
	return r;
}

/* The rel_type an event's content declares, or NULL. */
static const char *
rel_type_of(const json_t *content)
{
	return mjson_str(json_object_get(content, "m.relates_to"), "rel_type");
}

/*
 * Which of n rows, the struct mevrow at offset off of each element of
 * size sz from base, the user may see (history visibility): n flags,
 * malloc'd, or NULL (room_bundle fails the request).
 */
static unsigned char *
keep_of(struct mreq *req, const void *base, size_t n, size_t sz, size_t off)
{
	struct mevrow	*evs;
	unsigned char	*keep;

	if ((evs = calloc(n > 0 ? n : 1, sizeof(*evs))) == NULL ||
	    (keep = calloc(n > 0 ? n : 1, 1)) == NULL) {
		free(evs);
		return NULL;
	}
	/* Borrowed copies: the caller's rows keep ownership. */
	for (size_t i = 0; i < n; i++)
		memcpy(&evs[i], (const char *)base + i * sz + off, sizeof(*evs));
	if (mroom_vis_filter(req->db, req->auth.user_id, evs, n, keep) == -1) {
		free(keep);
		keep = NULL;
	}
	free(evs);
	return keep;
}

/*
 * Spec: "Server-side aggregation of m.thread relationships": the latest
 * event (itself with its aggregations), the count, and whether the viewer
 * sent the root or a thread event.  A thread whose latest event the user
 * may not see (history visibility: a former member, a reply after the
 * leave) gets no summary.
 */
static int
bundle_threads(struct mreq *req, const char *room_id, json_t *byid, const char **ids,
    size_t n)
{
	struct mthread	*t = NULL;
	json_t		*latest = NULL;
	unsigned char	*keep = NULL;
	size_t		 nt = 0, i;
	int		 rc = -1;

	if (mstore_rel_threads(req->db, room_id, req->auth.user_id, ids, n, &t, &nt) == -1)
		goto out;
	if (nt == 0) {
		rc = 0;
		goto out;
	}
	if ((keep = keep_of(req, t, nt, sizeof(*t), offsetof(struct mthread, latest))) == NULL ||
	    (latest = json_array()) == NULL)
		goto out;
	for (i = 0; i < nt; i++)
		if (json_array_append_new(latest, mroom_client_event(&t[i].latest,
		    mclock_now_ms(), req->auth.user_id, req->auth.device_id)) == -1)
			goto out;
	/*
	 * One level down: thread events cannot root threads (the spec forbids
	 * threads off events with relations), so the latest events only get
	 * their edits and references and the recursion ends.
	 */
	if (room_bundle(req, room_id, latest) == -1)
		goto out;
	for (i = 0; i < nt; i++) {
		json_t		*root = json_object_get(byid, t[i].root), *rels;
		const char	*sender = mjson_str(root, "sender");
		int		 mine = t[i].participated || (sender != NULL &&
				    strcmp(sender, req->auth.user_id) == 0);

		if (root == NULL || !keep[i])
			continue;
		if ((rels = relations_of(root)) == NULL ||
		    json_object_set_new(rels, "m.thread", json_pack("{s:O,s:I,s:b}",
		    "latest_event", json_array_get(latest, i), "count", (json_int_t)t[i].count,
		    "current_user_participated", mine)) == -1)
			goto out;
	}
	rc = 0;
out:
	json_decref(latest);
	free(keep);
	mthread_list_free(t, nt);
	return rc;
}

/* 1 when edit a is more recent than b (spec: origin_server_ts, then the larger event ID). */
static int
newer(const struct mevrow *a, const struct mevrow *b)
{
	if (a->origin_server_ts != b->origin_server_ts)
		return a->origin_server_ts > b->origin_server_ts;
	return strcmp(a->event_id, b->event_id) > 0;
}

/*
 * Spec: "Server-side aggregation of m.replace relationships": the most
 * recent valid replacement the user may see (history visibility),
 * formatted as normal; none for a redacted original or one that is
 * itself a replacement.
 */
static int
bundle_edits(struct mreq *req, const char *room_id, json_t *byid, const char **ids,
    size_t n)
{
	struct mrelchild	*e = NULL;
	unsigned char		*keep = NULL;
	size_t			 ne = 0, i, j;
	int			 rc = -1;

	if (mstore_rel_edits(req->db, room_id, ids, n, &e, &ne) == -1 ||
	    (keep = keep_of(req, e, ne, sizeof(*e), offsetof(struct mrelchild, ev))) == NULL)
		goto out;
	for (i = 0; i < ne; i = j) {
		json_t			*orig = json_object_get(byid, e[i].parent), *rels, *ce;
		const struct mevrow	*best = NULL;
		const char		*rt;

		/* The store groups candidates by parent. */
		for (j = i; j < ne && strcmp(e[j].parent, e[i].parent) == 0; j++) {
			const json_t *nc = json_object_get(json_object_get(e[j].ev.json,
			    "content"), "m.new_content");

			if (keep[j] && json_is_object(nc) && (best == NULL || newer(&e[j].ev, best)))
				best = &e[j].ev;
		}
		if (best == NULL || orig == NULL ||
		    json_object_get(json_object_get(orig, "unsigned"), "redacted_because") != NULL)
			continue;
		rt = rel_type_of(json_object_get(orig, "content"));
		if (rt != NULL && strcmp(rt, "m.replace") == 0)
			continue;
		if ((ce = mroom_client_event(best, mclock_now_ms(), req->auth.user_id,
		    req->auth.device_id)) == NULL)
			goto out;
		if ((rels = relations_of(orig)) == NULL ||
		    json_object_set_new(rels, "m.replace", ce) == -1)
			goto out;
	}
	rc = 0;
out:
	free(keep);
	mrelchild_list_free(e, ne);
	return rc;
}

/* Spec: "Server-side aggregation of m.reference": a chunk of {event_id}. */
static int
bundle_refs(struct mreq *req, const char *room_id, json_t *byid, const char **ids, size_t n)
{
	json_t		*map, *list, *v;
	const char	*parent;
	size_t		 i;
	int		 rc = -1;

	if ((map = mstore_rel_refs(req->db, room_id, ids, n)) == NULL)
		return -1;
	json_object_foreach(map, parent, list) {
		json_t *ev = json_object_get(byid, parent), *rels, *chunk;

		if (ev == NULL)
			continue;
		if ((chunk = json_array()) == NULL)
			goto out;
		json_array_foreach(list, i, v) {
			json_array_append_new(chunk, json_pack("{s:O}", "event_id", v));
		}
		if ((rels = relations_of(ev)) == NULL ||
		    json_object_set_new(rels, "m.reference", json_pack("{s:o}", "chunk",
		    chunk)) == -1)
			goto out;
	}
	rc = 0;
out:
	json_decref(map);
	return rc;
}

/*
 * The aggregations are found for the whole page at once: each kind is one
 * query per MREL_BATCH events (see stmts-rel.h), not one per event.
 */
int
room_bundle(struct mreq *req, const char *room_id, json_t *events)
{
	json_t		*byid = NULL, *ev;
	const char	**ids = NULL;
	size_t		 n = 0, i;
	int		 threads = 0, rc = -1;

	if (json_array_size(events) == 0)
		return 0;
	if ((byid = json_object()) == NULL ||
	    (ids = calloc(json_array_size(events), sizeof(*ids))) == NULL)
		goto out;
	json_array_foreach(events, i, ev) {
		const char	*id = mjson_str(ev, "event_id");
		const char	*rt = rel_type_of(json_object_get(ev, "content"));

		/* Spec: "State events do not currently receive bundled aggregations." */
		if (id == NULL || json_object_get(ev, "state_key") != NULL)
			continue;
		if (json_object_set(byid, id, ev) == -1)
			goto out;
		ids[n++] = id;
		if (rt == NULL)
			threads = 1;
	}
	/*
	 * Only events without a relation can root a thread; a page of thread
	 * events (the latest events of bundled threads, /relations of a
	 * thread) skips that query, which is also what ends room_bundle's
	 * recursion through bundle_threads.
	 */
	if (n > 0 && ((threads && bundle_threads(req, room_id, byid, ids, n) == -1) ||
	    bundle_edits(req, room_id, byid, ids, n) == -1 ||
	    bundle_refs(req, room_id, byid, ids, n) == -1))
		goto out;
	rc = 0;
out:
	free(ids);
	json_decref(byid);
	if (rc == -1)
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return rc;
}

/*
 * Client events of those of rows[0..n) the user may see (history
 * visibility), with their aggregations: a new array, or NULL (failed).
 */
static json_t *
client_events(struct mreq *req, const char *room_id, const struct mevrow *rows, size_t n)
{
	json_t		*chunk = json_array();
	unsigned char	*keep;

	if (chunk == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		return NULL;
	}
	if ((keep = room_vis_keep(req, rows, n)) == NULL) {
		json_decref(chunk);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (keep[i] && json_array_append_new(chunk, mroom_client_event(&rows[i], mclock_now_ms(),
		    req->auth.user_id, req->auth.device_id)) == -1) {
			free(keep);
			json_decref(chunk);
			mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
			return NULL;
		}
	free(keep);
	if (room_bundle(req, room_id, chunk) == -1) {
		json_decref(chunk);
		return NULL;
	}
	return chunk;
}

/*
 * Spec: C-S API, GET /rooms/{roomId}/relations/{eventId}[/{relType}
 * [/{eventType}]]: children newest first (dir b, the default) or oldest
 * first (dir f) from the from token to the to token; next_batch while
 * more remain, prev_batch when from was given, recursion_depth when
 * recurse was; only the children the user may see (history
 * visibility).  404 M_NOT_FOUND for an unknown parent, and, as the spec
 * says, for one the user may not read: in a room the user may not read,
 * or hidden by history visibility.
 */
int
h_relations(struct mreq *req)
{
	const char		*room_id = req->params[0];
	struct mroom_reader	 r;
	struct mrel_query	 q;
	struct mevrow		 parent, *rows = NULL;
	char			*dir = mreq_query(req, "dir"), *from = mreq_query(req, "from");
	char			*to = mreq_query(req, "to"), *rec = mreq_query(req, "recurse");
	unsigned char		*keep = NULL;
	json_t			*out = NULL, *chunk;
	size_t			 n = 0;
	int64_t			 limit, start = 0;
	int			 rc = -1, found;

	memset(&parent, 0, sizeof(parent));
	memset(&q, 0, sizeof(q));
	switch (mroom_vis_reader(req->db, room_id, req->auth.user_id, &r)) {
	case MROOM_OK:
		break;
	case MROOM_NO_ROOM:
	case MROOM_FORBIDDEN:
		mfcgi_fail(req, MERR_NOT_FOUND, "Event not found");
		goto out;
	default:
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	if ((found = mstore_event_get(req->db, req->params[1], &parent)) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	if (found == 1 && strcmp(parent.room_id, room_id) == 0 && parent.rejected == NULL &&
	    (keep = room_vis_keep(req, &parent, 1)) == NULL)
		goto out;
	if (keep == NULL || !keep[0]) {
		mfcgi_fail(req, MERR_NOT_FOUND, "Event not found");
		goto out;
	}
	if (dir != NULL && strcmp(dir, "b") != 0 && strcmp(dir, "f") != 0) {
		mfcgi_fail(req, MERR_INVALID_PARAM, "dir must be b or f");
		goto out;
	}
	if (rec != NULL && strcmp(rec, "true") != 0 && strcmp(rec, "false") != 0) {
		mfcgi_fail(req, MERR_INVALID_PARAM, "recurse must be true or false");
		goto out;
	}
	if (mreq_query_int(req, "limit", RELATIONS_DEFAULT_LIMIT, 0, INT64_MAX, &limit) == -1)
		goto out;
	/* Spec: "The server can and should apply a maximum value". */
	if (limit > RELATIONS_MAX_LIMIT)
		limit = RELATIONS_MAX_LIMIT;
	q.room_id = room_id;
	q.parent = req->params[1];
	q.rel_type = req->paramsz > 2 ? req->params[2] : NULL;
	q.event_type = req->paramsz > 3 ? req->params[3] : NULL;
	q.backwards = dir == NULL || strcmp(dir, "b") == 0;
	q.depth = rec != NULL && strcmp(rec, "true") == 0 ? RELATIONS_RECURSE_DEPTH : 1;
	if (from != NULL) {
		if (room_token_parse(req, from, &start) == -1)
			goto out;
	} else if (q.backwards) {
		if ((start = mstore_events_max_stream(req->db)) < 0) {
			mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
			goto out;
		}
	} else
		start = 0;
	q.from = start;
	q.to = q.backwards ? 0 : INT64_MAX;
	if (to != NULL && room_token_parse(req, to, &q.to) == -1)
		goto out;
	/* One more than asked tells whether a next page exists. */
	q.limit = limit + 1;
	if (mstore_rel_page(req->db, &q, &rows, &n) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	if ((chunk = client_events(req, room_id, rows, (int64_t)n > limit ? (size_t)limit : n))
	    == NULL)
		goto out;
	if ((out = json_pack("{s:o}", "chunk", chunk)) == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	if ((int64_t)n > limit) {
		int64_t last = limit > 0 ? rows[limit - 1].stream : (q.backwards ? start + 1 : start);

		json_object_set_new(out, "next_batch", room_token(q.backwards ? last - 1 : last));
	}
	if (from != NULL)
		json_object_set_new(out, "prev_batch", room_token(start));
	if (rec != NULL)
		json_object_set_new(out, "recursion_depth", json_integer(q.depth));
	rc = mfcgi_reply(req, 200, out);
	out = NULL;
out:
	json_decref(out);
	mevrow_list_free(rows, n);
	mevrow_fini(&parent);
	free(keep);
	free(dir);
	free(from);
	free(to);
	free(rec);
	return rc;
}

/*
 * Spec: C-S API, GET /rooms/{roomId}/threads: thread roots, most recently
 * active first, with their aggregations; include all or participated;
 * next_batch while more remain; only the roots the user may see
 * (history visibility).  403 M_FORBIDDEN when the user cannot view the
 * room, which includes a room that does not exist.
 */
int
h_threads(struct mreq *req)
{
	const char		*room_id = req->params[0];
	struct mroom_reader	 r;
	struct mthreadroot	*roots = NULL;
	struct mevrow		*rows = NULL;
	char			*inc = mreq_query(req, "include"), *from = mreq_query(req, "from");
	json_t			*out = NULL, *chunk;
	size_t			 n = 0, shown, i;
	int64_t			 limit, start = 0;
	int			 rc = -1;

	switch (mroom_vis_reader(req->db, room_id, req->auth.user_id, &r)) {
	case MROOM_OK:
		break;
	case MROOM_NO_ROOM:
	case MROOM_FORBIDDEN:
		mfcgi_fail(req, MERR_FORBIDDEN, "You are not allowed to view this room");
		goto out;
	default:
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	if (inc != NULL && strcmp(inc, "all") != 0 && strcmp(inc, "participated") != 0) {
		mfcgi_fail(req, MERR_INVALID_PARAM, "include must be all or participated");
		goto out;
	}
	/* Spec: limit "Must be an integer greater than zero." */
	if (mreq_query_int(req, "limit", THREADS_DEFAULT_LIMIT, 1, INT64_MAX, &limit) == -1)
		goto out;
	if (limit > RELATIONS_MAX_LIMIT)
		limit = RELATIONS_MAX_LIMIT;
	/* A position in the events stream: roots last active at or before it. */
	if (from != NULL) {
		if (room_token_parse(req, from, &start) == -1)
			goto out;
	} else
		start = INT64_MAX - 1;
	if (mstore_rel_thread_roots(req->db, room_id, req->auth.user_id,
	    inc != NULL && strcmp(inc, "participated") == 0, start, limit + 1, &roots, &n) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	shown = (int64_t)n > limit ? (size_t)limit : n;
	if ((rows = calloc(shown + 1, sizeof(*rows))) == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	/* Borrowed copies: roots keeps ownership. */
	for (i = 0; i < shown; i++)
		rows[i] = roots[i].ev;
	if ((chunk = client_events(req, room_id, rows, shown)) == NULL)
		goto out;
	if ((out = json_pack("{s:o}", "chunk", chunk)) == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	if (n > shown)
		json_object_set_new(out, "next_batch", room_token(roots[shown - 1].latest - 1));
	rc = mfcgi_reply(req, 200, out);
	out = NULL;
out:
	json_decref(out);
	free(rows);
	mthreadroot_list_free(roots, n);
	free(inc);
	free(from);
	return rc;
}
