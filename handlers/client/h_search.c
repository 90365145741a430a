/* Server-side search (POST /search) and the user directory (POST /user_directory/search). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"
#include "crypto/crypto.h"
#include "json/json.h"
#include "relations.h"
#include "room/filter.h"
#include "rooms.h"
#include "search.h"
#include "store/store.h"

#define SEARCH_DEFAULT_LIMIT	10
#define SEARCH_MAX_LIMIT	50	/* results a page, each with its context */
#define CONTEXT_DEFAULT_LIMIT	5
#define CONTEXT_MAX_LIMIT	50
#define TERM_MAX_BYTES		1024
#define BATCH_MAX_BYTES		1024
#define USERDIR_DEFAULT_LIMIT	10
#define USERDIR_MAX_LIMIT	100
/* Pages of hits read at most when history visibility hides some. */
#define SEARCH_ROUNDS_MAX	10

/* Spec: the keys searched, and the event type each belongs to. */
static const struct {
	const char	*key;
	const char	*type;
} search_keys[] = {
	{ "content.body", "m.room.message" },
	{ "content.name", "m.room.name" },
	{ "content.topic", "m.room.topic" },
};

/* What to group results by (spec: "Groups"). */
enum group { GROUP_ROOM, GROUP_SENDER, GROUP__MAX };
static const char *const group_names[GROUP__MAX] = { "room_id", "sender" };

/*
 * Where a page starts, as a next_batch token says: the order it was
 * made for, the (rank, stream) of the last result given, and the group
 * it is scoped to, if any (spec: a token from inside a group pages that
 * group only).
 */
struct batch {
	enum msearch_order	 order;
	int64_t			 rank;
	int64_t			 stream;
	int			 group;		/* GROUP__MAX: all results */
	char			*value;		/* the group's room or sender */
};

/* A room_events request, checked. */
struct criteria {
	const char	*term;
	enum msearch_order order;
	json_t		*types;		/* searched event types */
	const json_t	*filter;	/* RoomEventFilter, or NULL */
	int64_t		 limit;
	int		 context;	/* event_context given */
	int64_t		 before, after;
	int		 profile;
	int		 state;
	int		 groups[GROUP__MAX];
	struct batch	 batch;		/* from next_batch; stream INT64_MAX: none */
};

/*
 * The token of a page starting after (rank, stream), scoped to group
 * (GROUP__MAX: none) value: URL-safe base64 of its fields, so clients
 * see one opaque word.  A new JSON string, or NULL.
 */
static json_t *
batch_token(enum msearch_order order, int64_t rank, int64_t stream, int group,
    const char *value)
{
	char	*text = NULL, *b64;
	json_t	*out = NULL;

	if (asprintf(&text, "%c\n%lld\n%lld\n%s\n%s", order == MSEARCH_RANK ? 'r' : 't',
	    (long long)rank, (long long)stream, group < GROUP__MAX ? group_names[group] : "",
	    group < GROUP__MAX ? value : "") == -1)
		return NULL;
	if ((b64 = mcrypto_b64url_encode((const unsigned char *)text, strlen(text))) != NULL)
		out = json_string(b64);
	free(b64);
	free(text);
	return out;
}

/*
 * Reads a decimal int64 field of a token ending at '\n' (mfcgi_num_parse:
 * one that overflows is no field).  0 or -1.
 */
static int
batch_int(char **p, int64_t *out)
{
	const char	*end;

	if (mfcgi_num_parse(*p, 0, INT64_MAX, &end, out) == -1 || *end != '\n')
		return -1;
	*p = (char *)end + 1;
	return 0;
}

/*
 * Parses next_batch tok into b for a request in order.  Returns 0, or -1
 * with 400 M_INVALID_PARAM for a token not made by batch_token or made
 * for the other order.
 */
static int
batch_parse(struct mreq *req, const char *tok, enum msearch_order order, struct batch *b)
{
	unsigned char	 buf[BATCH_MAX_BYTES];
	char		*b64 = NULL, *p, *nl;
	int		 n, rc = -1;

	if (strlen(tok) >= sizeof(buf) || (b64 = strdup(tok)) == NULL)
		goto bad;
	for (p = b64; *p != '\0'; p++)
		*p = *p == '-' ? '+' : *p == '_' ? '/' : *p;
	if ((n = mcrypto_b64_decode(b64, buf, sizeof(buf) - 1)) < 4)
		goto bad;
	buf[n] = '\0';
	p = (char *)buf;
	if (strlen(p) != (size_t)n || p[1] != '\n' ||
	    p[0] != (order == MSEARCH_RANK ? 'r' : 't'))
		goto bad;
	p += 2;
	if (batch_int(&p, &b->rank) == -1 || batch_int(&p, &b->stream) == -1 ||
	    (nl = strchr(p, '\n')) == NULL)
		goto bad;
	*nl = '\0';
	b->group = GROUP__MAX;
	for (int g = 0; g < GROUP__MAX; g++)
		if (strcmp(p, group_names[g]) == 0)
			b->group = g;
	if (b->group == GROUP__MAX && *p != '\0')
		goto bad;
	if (b->group < GROUP__MAX && (b->value = strdup(nl + 1)) == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	rc = 0;
	goto out;
bad:
	mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid next_batch");
out:
	free(b64);
	return rc;
}

/* 1 when obj[key] is absent or an array of strings; else fails the request (400), 0. */
static int
string_list(struct mreq *req, const json_t *obj, const char *key)
{
	const json_t	*l = json_object_get(obj, key), *v;
	size_t		 i;

	if (l == NULL || json_is_null(l))
		return 1;
	if (!json_is_array(l))
		goto bad;
	json_array_foreach(l, i, v)
		if (!json_is_string(v))
			goto bad;
	return 1;
bad:
	mfcgi_fail(req, MERR_BAD_JSON, "%s must be a list of strings", key);
	return 0;
}

/* A non-negative integer member, def when absent, at most max.  0, or -1 (400). */
static int
small_int(struct mreq *req, const json_t *obj, const char *key, int64_t def, int64_t max,
    int64_t *out)
{
	const json_t *v = json_object_get(obj, key);

	*out = def;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return mfcgi_fail(req, MERR_BAD_JSON, "%s must be a non-negative integer", key);
	*out = json_integer_value(v) > max ? max : json_integer_value(v);
	return 0;
}

/*
 * Spec: POST /search, "Room Events Criteria".  Checks crit into c.
 * Returns 0, or -1 with the request failed: 400 M_MISSING_PARAM without
 * search_term, M_BAD_JSON for members of the wrong type, M_INVALID_PARAM
 * for unknown keys, order_by or group keys, or a bad next_batch.
 */
static int
criteria_parse(struct mreq *req, const json_t *crit, struct criteria *c)
{
	const json_t	*keys = json_object_get(crit, "keys"), *v, *ctx, *gb;
	const char	*order = mjson_str(crit, "order_by");
	char		*next = NULL;
	size_t		 i;
	int		 rc = -1;

	c->batch.group = GROUP__MAX;
	c->batch.rank = c->batch.stream = INT64_MAX;
	if ((v = json_object_get(crit, "search_term")) == NULL)
		return mfcgi_fail(req, MERR_MISSING_PARAM, "Missing search_term");
	if (!json_is_string(v))
		return mfcgi_fail(req, MERR_BAD_JSON, "search_term must be a string");
	if (strlen(json_string_value(v)) > TERM_MAX_BYTES)
		return mfcgi_fail(req, MERR_INVALID_PARAM, "search_term is too long");
	c->term = json_string_value(v);
	if (json_object_get(crit, "order_by") != NULL && (order == NULL ||
	    (strcmp(order, "rank") != 0 && strcmp(order, "recent") != 0)))
		return mfcgi_fail(req, MERR_INVALID_PARAM, "order_by must be rank or recent");
	c->order = order != NULL && strcmp(order, "recent") == 0 ? MSEARCH_RECENT : MSEARCH_RANK;
	if (!string_list(req, crit, "keys"))
		return -1;
	json_array_foreach(keys, i, v) {
		size_t k;

		for (k = 0; k < sizeof(search_keys) / sizeof(search_keys[0]); k++)
			if (strcmp(json_string_value(v), search_keys[k].key) == 0)
				break;
		if (k == sizeof(search_keys) / sizeof(search_keys[0]))
			return mfcgi_fail(req, MERR_INVALID_PARAM, "Unknown search key %s",
			    json_string_value(v));
	}
	/* Spec: RoomEventFilter. */
	c->filter = json_object_get(crit, "filter");
	if (json_is_null(c->filter))
		c->filter = NULL;
	if (c->filter != NULL && !json_is_object(c->filter))
		return mfcgi_fail(req, MERR_BAD_JSON, "filter must be an object");
	if (!string_list(req, c->filter, "rooms") || !string_list(req, c->filter, "not_rooms") ||
	    !string_list(req, c->filter, "senders") ||
	    !string_list(req, c->filter, "not_senders") ||
	    !string_list(req, c->filter, "types") || !string_list(req, c->filter, "not_types"))
		return -1;
	if ((v = json_object_get(c->filter, "contains_url")) != NULL && !json_is_null(v) &&
	    !json_is_boolean(v))
		return mfcgi_fail(req, MERR_BAD_JSON, "contains_url must be a boolean");
	if (small_int(req, c->filter, "limit", SEARCH_DEFAULT_LIMIT, SEARCH_MAX_LIMIT,
	    &c->limit) == -1)
		return -1;
	if (c->limit == 0)
		c->limit = 1;
	if (json_is_null(keys))
		keys = NULL;
	/* The keys searched, as event types, less those the filter's types leave out. */
	if ((c->types = json_array()) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	for (size_t k = 0; k < sizeof(search_keys) / sizeof(search_keys[0]); k++) {
		const json_t	*t = json_object_get(c->filter, "types");
		const json_t	*nt = json_object_get(c->filter, "not_types");

		if ((keys != NULL && !mfilter_listed(keys, search_keys[k].key, 0)) ||
		    (json_is_array(t) && !mfilter_listed(t, search_keys[k].type, 1)) ||
		    (json_is_array(nt) && mfilter_listed(nt, search_keys[k].type, 1)))
			continue;
		json_array_append_new(c->types, json_string(search_keys[k].type));
	}
	if ((ctx = json_object_get(crit, "event_context")) != NULL && !json_is_null(ctx)) {
		if (!json_is_object(ctx))
			return mfcgi_fail(req, MERR_BAD_JSON, "event_context must be an object");
		c->context = 1;
		if (small_int(req, ctx, "before_limit", CONTEXT_DEFAULT_LIMIT, CONTEXT_MAX_LIMIT,
		    &c->before) == -1 || small_int(req, ctx, "after_limit",
		    CONTEXT_DEFAULT_LIMIT, CONTEXT_MAX_LIMIT, &c->after) == -1)
			return -1;
		c->profile = json_is_true(json_object_get(ctx, "include_profile"));
	}
	c->state = json_is_true(json_object_get(crit, "include_state"));
	gb = json_object_get(json_object_get(crit, "groupings"), "group_by");
	json_array_foreach(gb, i, v) {
		const char	*key = mjson_str(v, "key");
		int		 g;

		for (g = 0; g < GROUP__MAX; g++)
			if (key != NULL && strcmp(key, group_names[g]) == 0)
				break;
		if (g == GROUP__MAX)
			return mfcgi_fail(req, MERR_INVALID_PARAM, "Unknown group key");
		c->groups[g] = 1;
	}
	next = mreq_query(req, "next_batch");
	if (next != NULL && *next != '\0' && batch_parse(req, next, c->order, &c->batch) == -1)
		goto out;
	rc = 0;
out:
	free(next);
	return rc;
}

/*
 * The rooms searched: the user's joined rooms that the filter's rooms
 * and not_rooms let through, and only the group's room when paging one.
 * A new array, or NULL with the request failed.
 */
static json_t *
search_rooms(struct mreq *req, const struct criteria *c)
{
	json_t		*joined, *out, *v;
	const json_t	*r = json_object_get(c->filter, "rooms");
	const json_t	*nr = json_object_get(c->filter, "not_rooms");
	size_t		 i;

	if ((joined = mstore_user_rooms(req->db, req->auth.user_id, "join")) == NULL ||
	    (out = json_array()) == NULL) {
		json_decref(joined);
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		return NULL;
	}
	json_array_foreach(joined, i, v) {
		const char *id = json_string_value(v);

		if ((json_is_array(r) && !mfilter_listed(r, id, 0)) ||
		    (json_is_array(nr) && mfilter_listed(nr, id, 0)))
			continue;
		if (c->batch.group == GROUP_ROOM && strcmp(id, c->batch.value) != 0)
			continue;
		json_array_append(out, v);
	}
	json_decref(joined);
	return out;
}

/*
 * Appends the client format of those of rows[0..n) keep allows (NULL: all)
 * to out and to the room's list in byroom.  0 or -1.
 */
static int
add_events(struct mreq *req, json_t *out, json_t *byroom, const struct mevrow *rows,
    const unsigned char *keep, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		json_t *ev, *l;

		if (keep != NULL && !keep[i])
			continue;
		ev = mroom_client_event(&rows[i], mclock_now_ms(), req->auth.user_id,
		    req->auth.device_id);
		if (ev == NULL || json_array_append(out, ev) == -1) {
			json_decref(ev);
			return -1;
		}
		if ((l = json_object_get(byroom, rows[i].room_id)) == NULL &&
		    json_object_set_new(byroom, rows[i].room_id, l = json_array()) == -1) {
			json_decref(ev);
			return -1;
		}
		if (json_array_append_new(l, ev) == -1)
			return -1;
	}
	return 0;
}

/*
 * Spec: "Include Event Context": before_limit events before hit (newest
 * first) and after_limit after it, less those the user may not see
 * (history visibility), /messages tokens just outside them, and with
 * include_profile the senders' profiles in the state after the last
 * event looked at.  A new object, or NULL with the request failed.
 */
static json_t *
hit_context(struct mreq *req, const struct criteria *c, const struct mevrow *hit,
    json_t *byroom)
{
	struct mevrow	*before = NULL, *after = NULL;
	unsigned char	*bkeep = NULL, *akeep = NULL;
	json_t		*out = NULL, *bev = NULL, *aev = NULL, *senders = NULL, *prof;
	size_t		 nb = 0, na = 0;

	if (mstore_events_page(req->db, hit->room_id, 1, hit->stream - 1, 0, c->before,
	    &before, &nb) == -1 || mstore_events_page(req->db, hit->room_id, 0, hit->stream,
	    INT64_MAX, c->after, &after, &na) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	if ((bkeep = room_vis_keep(req, before, nb)) == NULL ||
	    (akeep = room_vis_keep(req, after, na)) == NULL)
		goto out;
	if ((bev = json_array()) == NULL || (aev = json_array()) == NULL ||
	    add_events(req, bev, byroom, before, bkeep, nb) == -1 ||
	    add_events(req, aev, byroom, after, akeep, na) == -1 ||
	    (out = json_pack("{s:O,s:O,s:o,s:o}", "events_before", bev, "events_after", aev,
	    "start", room_token(nb > 0 ? before[nb - 1].stream - 1 : hit->stream - 1),
	    "end", room_token(na > 0 ? after[na - 1].stream : hit->stream))) == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	if (c->profile) {
		if ((senders = json_array()) == NULL) {
			mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
			goto fail;
		}
		json_array_append_new(senders, json_string(hit->sender));
		for (size_t i = 0; i < nb; i++)
			if (bkeep[i])
				json_array_append_new(senders, json_string(before[i].sender));
		for (size_t i = 0; i < na; i++)
			if (akeep[i])
				json_array_append_new(senders, json_string(after[i].sender));
		if ((prof = mstore_search_profiles(req->db, na > 0 ? after[na - 1].state_after :
		    hit->state_after, senders)) == NULL) {
			mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
			goto fail;
		}
		json_object_set_new(out, "profile_info", prof);
	}
	goto out;
fail:
	json_decref(out);
	out = NULL;
out:
	json_decref(senders);
	json_decref(bev);
	json_decref(aev);
	mevrow_list_free(before, nb);
	mevrow_list_free(after, na);
	free(bkeep);
	free(akeep);
	return out;
}

/*
 * Spec: "History visibility" applies to search results too (Synapse
 * filters them after the query): keeps in r the hits the user may see,
 * at most want, reading further pages of q while hits are hidden (up to
 * SEARCH_ROUNDS_MAX pages).  r's counts stay those of every match, which
 * the spec calls approximate.  *more is set when the last page read was
 * full, with (*last_rank, *last_stream) the last hit looked at, from
 * which a next page starts.  0, or -1 with the request failed.
 */
static int
visible_hits(struct mreq *req, struct msearch_query *q, struct msearch_result *r,
    size_t want, int *more, int64_t *last_rank, int64_t *last_stream)
{
	struct msearch_result	 next, *cur = r;
	struct msearch_hit	*vis;
	struct mevrow		*evs = NULL;
	unsigned char		*keep = NULL;
	size_t			 nvis = 0, i;
	int			 rounds = 0, rc = -1;

	memset(&next, 0, sizeof(next));
	*more = 0;
	if ((vis = calloc(want > 0 ? want : 1, sizeof(*vis))) == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		return -1;
	}
	for (;;) {
		/* Borrowed copies for the filter: cur keeps ownership. */
		if ((evs = calloc(cur->hitsz > 0 ? cur->hitsz : 1, sizeof(*evs))) == NULL) {
			mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
			goto out;
		}
		for (i = 0; i < cur->hitsz; i++)
			evs[i] = cur->hits[i].ev;
		if ((keep = room_vis_keep(req, evs, cur->hitsz)) == NULL)
			goto out;
		*more = (int64_t)cur->hitsz == q->limit;
		if (cur->hitsz > 0) {
			*last_rank = cur->hits[cur->hitsz - 1].rank;
			*last_stream = cur->hits[cur->hitsz - 1].ev.stream;
		}
		/* Visible hits move to vis; their places in cur are left empty. */
		for (i = 0; i < cur->hitsz && nvis < want; i++)
			if (keep[i]) {
				vis[nvis++] = cur->hits[i];
				memset(&cur->hits[i], 0, sizeof(cur->hits[i]));
			}
		free(evs);
		evs = NULL;
		free(keep);
		keep = NULL;
		if (cur != r)
			msearch_result_fini(cur);
		if (nvis >= want || !*more || ++rounds >= SEARCH_ROUNDS_MAX)
			break;
		q->after_rank = *last_rank;
		q->after_stream = *last_stream;
		if (mstore_search(req->db, q, &next) == -1) {
			mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
			goto out;
		}
		cur = &next;
	}
	rc = 0;
out:
	free(evs);
	free(keep);
	if (cur != r)
		msearch_result_fini(cur);
	for (i = 0; i < r->hitsz; i++)
		mevrow_fini(&r->hits[i].ev);
	free(r->hits);
	r->hits = vis;
	r->hitsz = nvis;
	return rc;
}

/*
 * Adds the groups asked for to out (spec: "Groups"): per room or sender
 * in this page, its results, its order of first appearance, how many
 * results it has in all (count, which the spec leaves open), and a
 * next_batch into the group when the page did not show the rest.  0, or
 * -1 with the request failed.
 */
static int
add_groups(struct mreq *req, const struct criteria *c, const struct msearch_result *r,
    size_t n, json_t *out)
{
	json_t *groups = json_object();

	if (groups == NULL || json_object_set_new(out, "groups", groups) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	for (int g = 0; g < GROUP__MAX; g++) {
		const json_t	*counts = g == GROUP_ROOM ? r->rooms : r->senders;
		json_t		*byval, *one, *seen;
		const char	*val;
		size_t		 order = 0;

		if (!c->groups[g])
			continue;
		if ((byval = json_object()) == NULL ||
		    json_object_set_new(groups, group_names[g], byval) == -1)
			return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		for (size_t i = 0; i < n; i++) {
			const struct msearch_hit *h = &r->hits[i];

			val = g == GROUP_ROOM ? h->ev.room_id : h->ev.sender;
			if ((one = json_object_get(byval, val)) == NULL) {
				const json_t *cnt = json_object_get(counts, val);

				one = json_pack("{s:[],s:I,s:I}", "results", "order",
				    (json_int_t)++order, "count",
				    json_integer_value(json_object_get(cnt, "count")));
				if (one == NULL || json_object_set_new(byval, val, one) == -1)
					return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory",
					    __func__);
			}
			json_array_append_new(json_object_get(one, "results"),
			    json_string(h->ev.event_id));
		}
		/*
		 * A group's "left" counts its results from this page's start
		 * on: more than the page shows, and its next batch starts
		 * after its last result here.
		 */
		if ((seen = json_object()) == NULL)
			return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		for (size_t i = n; i-- > 0;) {
			const struct msearch_hit *h = &r->hits[i];

			val = g == GROUP_ROOM ? h->ev.room_id : h->ev.sender;
			if (json_object_get(seen, val) != NULL)
				continue;
			json_object_set_new(seen, val, json_true());
			one = json_object_get(byval, val);
			if (json_integer_value(json_object_get(json_object_get(counts, val), "left")) >
			    (json_int_t)json_array_size(json_object_get(one, "results")))
				json_object_set_new(one, "next_batch", batch_token(c->order, h->rank,
				    h->ev.stream, g, val));
		}
		json_decref(seen);
	}
	return 0;
}

/*
 * The room_events category: one page of results with their context,
 * the count, highlights, groups and the next batch.  A new object, or
 * NULL with the request failed.
 */
static json_t *
room_events(struct mreq *req, struct criteria *c)
{
	struct msearch_query	 q;
	struct msearch_result	 r;
	json_t			*rooms = NULL, *senders = NULL, *out = NULL, *results;
	json_t			*byroom = NULL, *state, *l;
	const json_t		*fs = json_object_get(c->filter, "senders");
	const char		*room_id;
	size_t			 n;
	int64_t			 last_rank = 0, last_stream = 0;
	int			 ok = 0, more = 0;

	memset(&q, 0, sizeof(q));
	memset(&r, 0, sizeof(r));
	if ((rooms = search_rooms(req, c)) == NULL)
		goto out;
	/* Paging a sender's group: that sender, if the filter lets it through. */
	if (c->batch.group == GROUP_SENDER) {
		if ((senders = json_array()) == NULL) {
			mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
			goto out;
		}
		if (!json_is_array(fs) || mfilter_listed(fs, c->batch.value, 0))
			json_array_append_new(senders, json_string(c->batch.value));
	}
	q.term = c->term;
	q.order = c->order;
	q.rooms = rooms;
	q.types = c->types;
	q.senders = senders != NULL ? senders : json_is_array(fs) ? fs : NULL;
	q.not_senders = json_is_array(json_object_get(c->filter, "not_senders")) ?
	    json_object_get(c->filter, "not_senders") : NULL;
	q.contains_url = json_is_boolean(json_object_get(c->filter, "contains_url")) ?
	    json_is_true(json_object_get(c->filter, "contains_url")) : -1;
	q.after_rank = c->batch.rank;
	q.after_stream = c->batch.stream;
	/* One more than the page tells whether there is a next one. */
	q.limit = c->limit + 1;
	if (mstore_search(req->db, &q, &r) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	if (visible_hits(req, &q, &r, (size_t)q.limit, &more, &last_rank, &last_stream) == -1)
		goto out;
	n = r.hitsz > (size_t)c->limit ? (size_t)c->limit : r.hitsz;
	if ((out = json_pack("{s:I,s:O,s:[]}", "count", (json_int_t)r.count, "highlights",
	    r.highlights, "results")) == NULL || (byroom = json_object()) == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	results = json_object_get(out, "results");
	for (size_t i = 0; i < n; i++) {
		json_t *one, *evs;

		if ((evs = json_array()) == NULL ||
		    add_events(req, evs, byroom, &r.hits[i].ev, NULL, 1) == -1 ||
		    (one = json_pack("{s:f,s:O}", "rank", (double)r.hits[i].rank /
		    MSEARCH_RANK_SCALE, "result", json_array_get(evs, 0))) == NULL ||
		    json_array_append_new(results, one) == -1) {
			json_decref(evs);
			mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
			goto out;
		}
		json_decref(evs);
		if (c->context) {
			json_t *ctx = hit_context(req, c, &r.hits[i].ev, byroom);

			if (ctx == NULL)
				goto out;
			json_object_set_new(one, "context", ctx);
		}
	}
	/* Spec: "Aggregations of child events": bundled, one pass per room. */
	json_object_foreach(byroom, room_id, l)
		if (room_bundle(req, room_id, l) == -1)
			goto out;
	if (c->state) {
		if ((state = json_object()) == NULL ||
		    json_object_set_new(out, "state", state) == -1) {
			mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			json_t	*all, *evs, *ev;
			size_t	 j;

			room_id = r.hits[i].ev.room_id;
			if (json_object_get(state, room_id) != NULL)
				continue;
			if ((all = mstore_cstate_all(req->db, room_id)) == NULL) {
				mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
				goto out;
			}
			evs = json_array();
			json_array_foreach(all, j, ev)
				json_array_append_new(evs, mroom_state_client_event(ev, room_id,
				    mclock_now_ms(), req->auth.user_id, req->auth.device_id));
			json_decref(all);
			json_object_set_new(state, room_id, evs);
		}
	}
	if (add_groups(req, c, &r, n, out) == -1)
		goto out;
	/*
	 * Spec: no next_batch once there are no more results.  When hidden
	 * hits ended the reading, the next page starts after the last one.
	 */
	if (r.hitsz > n)
		json_object_set_new(out, "next_batch", batch_token(c->order, r.hits[n - 1].rank,
		    r.hits[n - 1].ev.stream, c->batch.group, c->batch.value));
	else if (more)
		json_object_set_new(out, "next_batch", batch_token(c->order, last_rank,
		    last_stream, c->batch.group, c->batch.value));
	ok = 1;
out:
	if (!ok) {
		json_decref(out);
		out = NULL;
	}
	json_decref(byroom);
	json_decref(rooms);
	json_decref(senders);
	msearch_result_fini(&r);
	return out;
}

/*
 * Spec: C-S API, POST /search.  Only room_events is a category; rooms
 * are those the user is joined to now, results those history
 * visibility lets the user see.  400 M_MISSING_PARAM without
 * search_categories, see criteria_parse for the rest.
 */
int
h_search(struct mreq *req)
{
	struct criteria	 c;
	const json_t	*cats = json_object_get(req->body, "search_categories"), *crit;
	json_t		*res;
	int		 rc = -1;

	memset(&c, 0, sizeof(c));
	if (cats == NULL)
		return mfcgi_fail(req, MERR_MISSING_PARAM, "Missing search_categories");
	if (!json_is_object(cats))
		return mfcgi_fail(req, MERR_BAD_JSON, "search_categories must be an object");
	if ((crit = json_object_get(cats, "room_events")) == NULL || json_is_null(crit))
		return mfcgi_reply(req, 200, json_pack("{s:{}}", "search_categories"));
	if (!json_is_object(crit))
		return mfcgi_fail(req, MERR_BAD_JSON, "room_events must be an object");
	if (criteria_parse(req, crit, &c) == -1 || (res = room_events(req, &c)) == NULL)
		goto out;
	rc = mfcgi_reply(req, 200, json_pack("{s:{s:o}}", "search_categories", "room_events",
	    res));
out:
	json_decref(c.types);
	free(c.batch.value);
	return rc;
}

/*
 * Spec: C-S API, POST /user_directory/search: search_term (required),
 * limit (default 10).  As Synapse does by default, the directory holds
 * the users who share a room with the requester and those in public
 * rooms.  limited says whether more users matched than were returned.
 */
int
h_user_directory_search(struct mreq *req)
{
	const json_t	*t = json_object_get(req->body, "search_term");
	json_t		*found;
	int64_t		 limit;
	int		 limited;

	if (t == NULL)
		return mfcgi_fail(req, MERR_MISSING_PARAM, "Missing search_term");
	if (!json_is_string(t))
		return mfcgi_fail(req, MERR_BAD_JSON, "search_term must be a string");
	if (strlen(json_string_value(t)) > TERM_MAX_BYTES)
		return mfcgi_fail(req, MERR_INVALID_PARAM, "search_term is too long");
	if (small_int(req, req->body, "limit", USERDIR_DEFAULT_LIMIT, USERDIR_MAX_LIMIT,
	    &limit) == -1)
		return -1;
	if ((found = mstore_userdir_search(req->db, req->auth.user_id, json_string_value(t),
	    limit + 1)) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	limited = json_array_size(found) > (size_t)limit;
	if (limited)
		json_array_remove(found, (size_t)limit);
	return mfcgi_reply(req, 200, json_pack("{s:o,s:b}", "results", found, "limited",
	    limited));
}
