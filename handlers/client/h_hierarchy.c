/* Spaces: walking a space's tree of rooms for GET /hierarchy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "directory.h"
#include "events/events.h"
#include "fed/fed.h"
#include "json/json.h"
#include "rooms.h"
#include "store/store.h"

/* Rooms per page: Synapse's default and its cap (MAX_ROOMS). */
#define HIERARCHY_LIMIT	50

/* A room still to visit, and how far below the requested room it sits. */
struct qent {
	char	*room_id;
	int64_t	 depth;
	json_t	*via;		/* the servers of its m.space.child, or NULL */
};

struct walk {
	struct mreq		*req;
	struct mroom_ctx	 ctx;
	struct qent		*q;		/* a stack: the next room is last */
	size_t			 qn, qmax;
	json_t			*seen;		/* rooms visited, as keys */
	json_t			*remote;	/* summaries other servers gave, by room ID */
	int64_t			 max_depth;	/* -1: no limit */
	int			 suggested_only;
};

static int
push(struct walk *w, const char *room_id, int64_t depth, const json_t *via)
{
	struct qent *nq;

	if (w->qn == w->qmax) {
		if ((nq = reallocarray(w->q, w->qmax * 2 + 8, sizeof(*nq))) == NULL)
			return -1;
		w->q = nq;
		w->qmax = w->qmax * 2 + 8;
	}
	if ((w->q[w->qn].room_id = strdup(room_id)) == NULL)
		return -1;
	w->q[w->qn].via = json_is_array(via) ? json_incref((json_t *)via) : NULL;
	w->q[w->qn++].depth = depth;
	return 0;
}

static int
is_joined(struct mroom_ctx *ctx, const char *room_id, const char *user_id)
{
	char	*m = mroom_membership(ctx, room_id, user_id);
	int	 rc = m != NULL && strcmp(m, "join") == 0;

	free(m);
	return rc;
}

/*
 * Spec: GET /hierarchy, "rooms": the rooms a user may see there: joined
 * or invited; a public join rule; a restricted one whose conditions the
 * user meets; knockable (knock, knock_restricted where the version has
 * them); or world-readable history.  Synapse's _is_local_room_accessible
 * answers the same.  Fills allowed_room_ids for restricted rooms.  GET
 * /room_summary asks the same, also for no user (NULL).
 */
int
dir_room_accessible(struct mroom_ctx *ctx, const char *user_id, const char *room_id,
    json_t *summary)
{
	const struct mroomver	*ver = mroomver_get(mjson_str(summary, "room_version"));
	const char		*jr = mjson_str(summary, "join_rule");
	json_t			*ev, *ids, *a;
	char			*m;
	size_t			 i;
	int			 err, restricted, ok = 0;

	if (ver == NULL)
		return 0;	/* a version this server cannot read */
	if (json_is_true(json_object_get(summary, "world_readable")) ||
	    (jr != NULL && (strcmp(jr, "public") == 0 ||
	    (ver->knock && strcmp(jr, "knock") == 0) ||
	    (ver->knock_restricted && strcmp(jr, "knock_restricted") == 0))))
		ok = 1;
	m = user_id != NULL ? mroom_membership(ctx, room_id, user_id) : NULL;
	if (m != NULL && (strcmp(m, "join") == 0 || strcmp(m, "invite") == 0))
		ok = 1;
	free(m);
	restricted = jr != NULL && ((ver->restricted && strcmp(jr, "restricted") == 0) ||
	    (ver->knock_restricted && strcmp(jr, "knock_restricted") == 0));
	if (!restricted)
		return ok;
	ev = mroom_state_get(ctx, room_id, "m.room.join_rules", "", &err);
	if (err)
		return -1;
	if ((ids = mroom_allow_rooms(json_object_get(ev, "content"))) == NULL) {
		json_decref(ev);
		return -1;
	}
	json_array_foreach(ids, i, a)
		if (!ok && user_id != NULL && is_joined(ctx, json_string_value(a), user_id))
			ok = 1;
	if (json_array_size(ids) > 0)
		json_object_set(summary, "allowed_room_ids", ids);
	json_decref(ids);
	json_decref(ev);
	return ok;
}

/* Spec: children_state: stripped m.space.child events with origin_server_ts. */
static json_t *
stripped(const json_t *ev)
{
	return json_pack("{s:O,s:O,s:O,s:O,s:O}", "type", json_object_get(ev, "type"),
	    "state_key", json_object_get(ev, "state_key"), "content",
	    json_object_get(ev, "content"), "sender", json_object_get(ev, "sender"),
	    "origin_server_ts", json_object_get(ev, "origin_server_ts"));
}

/*
 * A summary another server gave, with only the fields of the spec's
 * chunk and of the right types (room_id must be want): a new object, or
 * NULL when it is not one.
 */
static json_t *
summary_clean(const json_t *in, const char *want)
{
	static const char *const strs[] = { "name", "topic", "canonical_alias",
	    "avatar_url", "join_rule", "room_type", "room_version", "encryption" };
	json_t		*out, *v, *ids;
	const char	*id = mjson_str(in, "room_id");
	size_t		 i;

	if (id == NULL || (want != NULL && strcmp(id, want) != 0) ||
	    (out = json_pack("{s:s,s:I,s:b,s:b}", "room_id", id, "num_joined_members",
	    json_is_integer(v = json_object_get(in, "num_joined_members")) &&
	    json_integer_value(v) >= 0 ? json_integer_value(v) : 0, "world_readable",
	    json_is_true(json_object_get(in, "world_readable")), "guest_can_join",
	    json_is_true(json_object_get(in, "guest_can_join")))) == NULL)
		return NULL;
	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		if (json_is_string(v = json_object_get(in, strs[i])))
			json_object_set(out, strs[i], v);
	if (json_is_array(v = json_object_get(in, "allowed_room_ids")) &&
	    (ids = json_array()) != NULL) {
		json_t *a;

		json_array_foreach(v, i, a)
			if (json_is_string(a))
				json_array_append(ids, a);
		json_object_set_new(out, "allowed_room_ids", ids);
	}
	return out;
}

/* The valid m.space.child events of another server's children_state: a new array. */
static json_t *
children_clean(const json_t *in)
{
	json_t	*out = json_array(), *ev, *via, *v;
	size_t	 i, j;
	int	 ok;

	json_array_foreach(in, i, ev) {
		via = json_object_get(json_object_get(ev, "content"), "via");
		ok = json_array_size(via) > 0 && mjson_str(ev, "state_key") != NULL &&
		    mjson_str(ev, "sender") != NULL &&
		    json_is_integer(json_object_get(ev, "origin_server_ts")) &&
		    mjson_str(ev, "type") != NULL &&
		    strcmp(mjson_str(ev, "type"), "m.space.child") == 0;
		json_array_foreach(via, j, v)
			if (!json_is_string(v))
				ok = 0;
		if (ok)
			json_array_append_new(out, json_pack("{s:O,s:O,s:O,s:O,s:O}", "type",
			    json_object_get(ev, "type"), "state_key",
			    json_object_get(ev, "state_key"), "content",
			    json_object_get(ev, "content"), "sender", json_object_get(ev, "sender"),
			    "origin_server_ts", json_object_get(ev, "origin_server_ts")));
	}
	return out;
}

/*
 * Asks the servers of via (not this one) for GET /hierarchy of room_id,
 * in turn until one answers: 1 with *s the room's summary and its
 * children_state (new), the children it gave kept in w->remote and its
 * inaccessible children marked seen (not visited); 0 when none answers.
 */
static int
remote_ask(struct walk *w, const char *room_id, const json_t *via, json_t **s)
{
	struct mreq	*req = w->req;
	json_t		*reply, *v, *c, *room;
	char		*r, *path;
	long		 status;
	size_t		 i, j;
	int		 rc = 0;

	*s = NULL;
	if (req->srv->key == NULL || (r = mfed_escape(room_id)) == NULL)
		return 0;
	if (asprintf(&path, "/_matrix/federation/v1/hierarchy/%s?suggested_only=%s", r,
	    w->suggested_only ? "true" : "false") == -1) {
		free(r);
		return 0;
	}
	free(r);
	json_array_foreach(via, i, v) {
		const char *server = json_string_value(v);

		if (server == NULL || strcmp(server, req->conf->server_name) == 0)
			continue;
		reply = NULL;
		status = 0;
		if (mfed_request(req->conf, req->srv->key, server, "GET", path, NULL, &status,
		    &reply) == -1)
			continue;
		room = json_object_get(reply, "room");
		if (status != 200 || (*s = summary_clean(room, room_id)) == NULL) {
			json_decref(reply);
			continue;
		}
		json_object_set_new(*s, "children_state",
		    children_clean(json_object_get(room, "children_state")));
		json_array_foreach(json_object_get(reply, "children"), j, c) {
			json_t *cc = summary_clean(c, NULL);

			if (cc != NULL)
				json_object_set_new(w->remote, mjson_str(cc, "room_id"), cc);
		}
		json_array_foreach(json_object_get(reply, "inaccessible_children"), j, c)
			if (json_is_string(c))
				json_object_set_new(w->seen, json_string_value(c), json_true());
		json_decref(reply);
		rc = 1;
		break;
	}
	free(path);
	return rc;
}

/*
 * Whether the user may see another server's room of summary s, as
 * Synapse's _is_remote_room_accessible: world-readable, a public or
 * knockable join rule, a membership here (joined, invited), or a
 * restricted rule whose allowed rooms the user is joined to here.
 */
static int
remote_accessible(struct walk *w, const char *room_id, const json_t *s)
{
	const char	*jr = mjson_str(s, "join_rule"), *uid = w->req->auth.user_id;
	json_t		*v;
	char		*m;
	size_t		 i;
	int		 ok = 0;

	if (json_is_true(json_object_get(s, "world_readable")) || (jr != NULL &&
	    (strcmp(jr, "public") == 0 || strcmp(jr, "knock") == 0 ||
	    strcmp(jr, "knock_restricted") == 0)))
		return 1;
	if ((m = mroom_membership(&w->ctx, room_id, uid)) != NULL &&
	    (strcmp(m, "join") == 0 || strcmp(m, "invite") == 0))
		ok = 1;
	free(m);
	if (!ok && jr != NULL && (strcmp(jr, "restricted") == 0 ||
	    strcmp(jr, "knock_restricted") == 0))
		json_array_foreach(json_object_get(s, "allowed_room_ids"), i, v)
			if (json_is_string(v) && is_joined(&w->ctx, json_string_value(v), uid)) {
				ok = 1;
				break;
			}
	return ok;
}

/*
 * A room this server is not in (spec: C-S API, /hierarchy, "Server
 * behaviour"): a child summary another server gave already when it is
 * no space, else asked of the servers of its m.space.child's via.  1
 * with *s (new, with children_state), 0 when there is none.
 */
static int
remote_room(struct walk *w, const char *room_id, const json_t *via, json_t **s)
{
	json_t		*c = json_object_get(w->remote, room_id);
	const char	*rt = mjson_str(c, "room_type");

	*s = NULL;
	if (c != NULL && (rt == NULL || strcmp(rt, "m.space") != 0)) {
		if ((*s = json_deep_copy(c)) == NULL)
			return 0;
		json_object_set_new(*s, "children_state", json_array());
		return 1;
	}
	return via != NULL && remote_ask(w, room_id, via, s);
}

/*
 * Visits one room: its entry in *entry (NULL when it is not shown:
 * unknown here, or not accessible to the user), its children pushed.
 * 0 or -1.
 */
static int
visit(struct walk *w, const char *room_id, int64_t depth, const json_t *via, json_t **entry)
{
	json_t		*s = NULL, *children = NULL, *cs = NULL, *ev;
	const char	*rt;
	size_t		 i;
	int		 rc = -1, r, in;

	*entry = NULL;
	/*
	 * Spec: "Server behaviour": a room no user of this server is joined
	 * to is asked of the servers in via, as Synapse does; what they do
	 * not answer is read from what is stored here, if anything.
	 */
	if ((in = mfed_server_in_room(w->req->db, room_id, w->req->conf->server_name)) == -1)
		return -1;
	if (!in && remote_room(w, room_id, via, &s)) {
		if (!remote_accessible(w, room_id, s)) {
			json_decref(s);
			return 0;
		}
		cs = json_incref(json_object_get(s, "children_state"));
		goto children;
	}
	if ((r = mstore_room_summary(w->req->db, room_id, &s)) != 1)
		return r;
	if ((r = dir_room_accessible(&w->ctx, w->req->auth.user_id, room_id, s)) != 1) {
		json_decref(s);
		return r;
	}
	if ((cs = json_array()) == NULL)
		goto out;
	/* As Synapse: only a space's m.space.child events count. */
	rt = mjson_str(s, "room_type");
	if (rt != NULL && strcmp(rt, "m.space") == 0) {
		if ((children = mstore_space_children(w->req->db, room_id)) == NULL)
			goto out;
		json_array_foreach(children, i, ev) {
			if (w->suggested_only && !json_is_true(json_object_get(
			    json_object_get(ev, "content"), "suggested")))
				continue;
			if (json_array_append_new(cs, stripped(ev)) == -1)
				goto out;
		}
	}
children:
	/* Pushed last child first, so that the first child is visited next. */
	if (w->max_depth < 0 || depth < w->max_depth)
		for (i = json_array_size(cs); i > 0; i--)
			if (push(w, mjson_str(json_array_get(cs, i - 1), "state_key"),
			    depth + 1, json_object_get(json_object_get(json_array_get(cs, i - 1),
			    "content"), "via")) == -1)
				goto out;
	json_object_set(s, "children_state", cs);
	*entry = s;
	s = NULL;
	rc = 0;
out:
	json_decref(s);
	json_decref(cs);
	json_decref(children);
	return rc;
}

/*
 * The from token "<skip>_<max_depth>_<suggested_only>": rooms already
 * returned, and the two parameters that may not change while paging.
 * The walk is replayed from the top each page: no session is kept, and
 * a page costs the rooms before it.  max_depth is -1 when not given.
 * 0, or -1 with 400 M_INVALID_PARAM, also for a number that overflows
 * (mfcgi_num_parse).
 */
static int
from_parse(struct mreq *req, const char *tok, const struct walk *w, int64_t *skip)
{
	const char	*end;
	int64_t		 n, d, s;

	if (mfcgi_num_parse(tok, 0, INT64_MAX, &end, &n) == -1 || *end != '_' ||
	    mfcgi_num_parse(end + 1, -1, INT64_MAX, &end, &d) == -1 || *end != '_' ||
	    mfcgi_num_parse(end + 1, 0, 1, NULL, &s) == -1)
		goto bad;
	if (d != w->max_depth || s != w->suggested_only)
		return mfcgi_fail(req, MERR_INVALID_PARAM,
		    "suggested_only and max_depth cannot change on paginated requests");
	*skip = n;
	return 0;
bad:
	return mfcgi_fail(req, MERR_INVALID_PARAM, "Unknown pagination token");
}

/*
 * Spec: C-S API, GET /_matrix/client/v1/rooms/{roomId}/hierarchy:
 * suggested_only, limit (default and cap 50, as Synapse), max_depth (no
 * limit by default, as Synapse: loops are broken by visiting each room
 * once), from.  Depth-first as the spec says, in the spec's child order:
 * a child space's rooms come before its later siblings.  403 M_FORBIDDEN
 * when the requested room is unknown or not accessible to the user; 400
 * M_INVALID_PARAM for bad parameters or a token of other parameters.
 */
int
h_hierarchy(struct mreq *req)
{
	struct walk	 w;
	struct qent	 cur;
	json_t		*rooms = NULL, *entry = NULL, *out;
	char		*so = mreq_query(req, "suggested_only"), *from = mreq_query(req, "from");
	char		 tok[80];
	int64_t		 limit, skip = 0, found = 0;
	int		 rc = -1, r;

	memset(&w, 0, sizeof(w));
	w.req = req;
	room_ctx(req, &w.ctx);
	if (so != NULL && strcmp(so, "true") != 0 && strcmp(so, "false") != 0) {
		mfcgi_fail(req, MERR_INVALID_PARAM, "suggested_only must be true or false");
		goto out;
	}
	w.suggested_only = so != NULL && strcmp(so, "true") == 0;
	if (mreq_query_int(req, "limit", HIERARCHY_LIMIT, 1, INT64_MAX, &limit) == -1 ||
	    mreq_query_int(req, "max_depth", -1, 0, INT64_MAX, &w.max_depth) == -1)
		goto out;
	if (limit > HIERARCHY_LIMIT)
		limit = HIERARCHY_LIMIT;
	if (from != NULL && from_parse(req, from, &w, &skip) == -1)
		goto out;
	if ((w.seen = json_object()) == NULL || (w.remote = json_object()) == NULL ||
	    (rooms = json_array()) == NULL || push(&w, req->params[0], 0, NULL) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	/* Spec: the requested room itself must be one the user may see. */
	cur = w.q[--w.qn];
	json_object_set_new(w.seen, cur.room_id, json_true());
	r = visit(&w, cur.room_id, cur.depth, cur.via, &entry);
	free(cur.room_id);
	json_decref(cur.via);
	if (r == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	if (entry == NULL) {
		mfcgi_fail(req, MERR_FORBIDDEN, "You may not view this room");
		goto out;
	}
	/* One room beyond the page tells whether there is a next one. */
	for (;;) {
		if (entry != NULL) {
			if (found++ < skip)
				json_decref(entry);
			else if (json_array_append_new(rooms, entry) == -1) {
				mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
				goto out;
			}
			entry = NULL;
		}
		if ((int64_t)json_array_size(rooms) > limit || w.qn == 0)
			break;
		cur = w.q[--w.qn];
		if (json_object_get(w.seen, cur.room_id) != NULL) {
			free(cur.room_id);
			json_decref(cur.via);
			continue;
		}
		json_object_set_new(w.seen, cur.room_id, json_true());
		r = visit(&w, cur.room_id, cur.depth, cur.via, &entry);
		free(cur.room_id);
		json_decref(cur.via);
		if (r == -1) {
			mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
			goto out;
		}
	}
	out = json_object();
	if ((int64_t)json_array_size(rooms) > limit) {
		json_array_remove(rooms, json_array_size(rooms) - 1);
		snprintf(tok, sizeof(tok), "%lld_%lld_%d", (long long)skip + (long long)limit,
		    (long long)w.max_depth, w.suggested_only);
		json_object_set_new(out, "next_batch", json_string(tok));
	}
	json_object_set_new(out, "rooms", rooms);
	rooms = NULL;
	rc = mfcgi_reply(req, 200, out);
out:
	while (w.qn > 0) {
		free(w.q[--w.qn].room_id);
		json_decref(w.q[w.qn].via);
	}
	free(w.q);
	json_decref(w.seen);
	json_decref(w.remote);
	json_decref(rooms);
	free(so);
	free(from);
	return rc;
}
