/*
 * Simplified sliding sync (MSC4186), the sync of Element X:
 * POST /_matrix/client/unstable/org.matrix.simplified_msc3575/sync.
 */
#include <errno.h>
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
#include "sync.h"

#define MAX_TIMEOUT_MS		(5 * 60 * 1000)
#define MAX_CONN_ID		255
#define MAX_ROOM_ID		255
/* Heroes of an unnamed room, as Synapse (and /sync v2's m.heroes). */
#define MAX_HEROES		5

/* What one request keeps between wakes. */
struct slstate {
	json_t		*body;		/* the request, checked */
	const char	*conn_id;	/* in body, or "" */
	int		 has_pos;
	int64_t		 conn;		/* the connection's row */
	struct syncpos	 since;		/* the stream positions of pos */
	int64_t		 deadline;
};

/* A room the user may be shown. */
struct slroom {
	struct msyncmember	*m;
	int64_t			 bump;
};

/* One computation: what every part reads. */
struct slctx {
	struct mreq		*req;
	struct slstate		*st;
	struct syncpos		 from, to;
	json_t			*sent;		/* {room: [stream, config]}: what the client holds */
	json_t			*bumps;		/* {room: stream} */
	json_t			*members;	/* mstore_sync_members */
	json_t			*dms;		/* {room: true} from m.direct */
	json_t			*counts;	/* {room: [notify, highlight]} */
	json_t			*ignored;	/* m.ignored_user_list's ignored_users, or NULL */
	int64_t			 now;
};

static void
slstate_free(void *p)
{
	struct slstate *st = p;

	if (st == NULL)
		return;
	json_decref(st->body);
	free(st);
}

/* pos: "<connection>.<answer>.<sync token>".  0, or -1 with 400 M_INVALID_PARAM. */
static int
pos_parse(struct mreq *req, const char *s, int64_t *conn, int64_t *seq, struct syncpos *sp)
{
	const char	*p = s;
	char		*end;
	int64_t		*v[2] = { conn, seq };

	for (int i = 0; i < 2; i++) {
		long long n;

		if (*p < '0' || *p > '9')
			return mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid pos");
		errno = 0;
		n = strtoll(p, &end, 10);
		if (errno == ERANGE || *end != '.')
			return mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid pos");
		*v[i] = n;
		p = end + 1;
	}
	return sync_token_parse(req, p, sp);
}

static int
bad(struct mreq *req, const char *what)
{
	return mfcgi_fail(req, MERR_BAD_JSON, "%s", what);
}

/* A non-negative integer or absent.  1 good, 0 not. */
static int
opt_count(const json_t *v)
{
	return v == NULL || (json_is_integer(v) && json_integer_value(v) >= 0);
}

/* "!" and at most 255 bytes: room version 12's IDs have no server name. */
static int
room_id_ok(const char *s)
{
	return s[0] == '!' && s[1] != '\0' && strlen(s) <= MAX_ROOM_ID;
}

/* required_state: [[type, state_key], ...].  0, or -1 with the request failed. */
static int
check_rstate(struct mreq *req, const json_t *rs)
{
	size_t	 i;
	json_t	*p;

	if (rs == NULL)
		return 0;
	if (!json_is_array(rs))
		return bad(req, "required_state must be an array");
	json_array_foreach(rs, i, p)
		if (!json_is_array(p) || json_array_size(p) != 2 ||
		    !json_is_string(json_array_get(p, 0)) || !json_is_string(json_array_get(p, 1)))
			return bad(req, "required_state holds [type, state_key] pairs");
	return 0;
}

/* A list's or a subscription's room config.  0, or -1 with the request failed. */
static int
check_config(struct mreq *req, const json_t *c)
{
	if (!json_is_object(c))
		return bad(req, "A list or room subscription must be an object");
	if (!opt_count(json_object_get(c, "timeline_limit")))
		return bad(req, "timeline_limit must be a non-negative integer");
	return check_rstate(req, json_object_get(c, "required_state"));
}

/*
 * The request body: lists, room_subscriptions, unsubscribe_rooms,
 * extensions, conn_id.  Unknown fields pass, as Synapse lets them.
 * 0, or -1 with 400 M_BAD_JSON (M_INVALID_PARAM for a bad room ID).
 */
static int
check_body(struct mreq *req, const json_t *b)
{
	const json_t	*lists = json_object_get(b, "lists");
	const json_t	*subs = json_object_get(b, "room_subscriptions");
	const json_t	*unsub = json_object_get(b, "unsubscribe_rooms");
	const json_t	*ext = json_object_get(b, "extensions");
	const json_t	*cid = json_object_get(b, "conn_id"), *v, *r;
	const char	*k;
	size_t		 i;

	if (cid != NULL && (!json_is_string(cid) || strlen(json_string_value(cid)) > MAX_CONN_ID))
		return bad(req, "conn_id must be a string of at most 255 bytes");
	if (lists != NULL && !json_is_object(lists))
		return bad(req, "lists must be an object");
	json_object_foreach((json_t *)lists, k, v) {
		const json_t *ranges = json_object_get(v, "ranges"), *filters;

		if (check_config(req, v) == -1)
			return -1;
		if (ranges != NULL && !json_is_array(ranges))
			return bad(req, "ranges must be an array");
		json_array_foreach(ranges, i, r)
			if (!json_is_array(r) || json_array_size(r) != 2 ||
			    !json_is_integer(json_array_get(r, 0)) ||
			    !json_is_integer(json_array_get(r, 1)) ||
			    json_integer_value(json_array_get(r, 0)) < 0 ||
			    json_integer_value(json_array_get(r, 1)) <
			    json_integer_value(json_array_get(r, 0)))
				return bad(req, "A range is [start, end], 0 <= start <= end");
		filters = json_object_get(v, "filters");
		if (filters != NULL && !json_is_object(filters))
			return bad(req, "filters must be an object");
		for (const char *const *f = (const char *const[]){ "is_dm", "is_encrypted",
		    "is_invite", NULL }; *f != NULL; f++)
			if (json_object_get(filters, *f) != NULL &&
			    !json_is_boolean(json_object_get(filters, *f)))
				return bad(req, "A filter flag must be a boolean");
		for (const char *const *f = (const char *const[]){ "room_types", "not_room_types",
		    "spaces", NULL }; *f != NULL; f++) {
			const json_t *a = json_object_get(filters, *f), *e;

			if (a != NULL && !json_is_array(a))
				return bad(req, "A filter list must be an array");
			json_array_foreach(a, i, e)
				if (!json_is_string(e) && !(json_is_null(e) && strcmp(*f, "spaces") != 0))
					return bad(req, "A filter list holds strings");
		}
	}
	if (subs != NULL && !json_is_object(subs))
		return bad(req, "room_subscriptions must be an object");
	json_object_foreach((json_t *)subs, k, v) {
		if (!room_id_ok(k))
			return mfcgi_fail(req, MERR_INVALID_PARAM, "%s is not a room ID", k);
		if (check_config(req, v) == -1)
			return -1;
	}
	if (unsub != NULL && !json_is_array(unsub))
		return bad(req, "unsubscribe_rooms must be an array");
	json_array_foreach(unsub, i, v)
		if (!json_is_string(v) || !room_id_ok(json_string_value(v)))
			return mfcgi_fail(req, MERR_INVALID_PARAM, "unsubscribe_rooms holds room IDs");
	if (ext != NULL && !json_is_object(ext))
		return bad(req, "extensions must be an object");
	json_object_foreach((json_t *)ext, k, v) {
		const json_t	*since = json_object_get(v, "since");
		int64_t		 n;

		if (!json_is_object(v))
			return bad(req, "An extension's config must be an object");
		if (json_object_get(v, "enabled") != NULL &&
		    !json_is_boolean(json_object_get(v, "enabled")))
			return bad(req, "enabled must be a boolean");
		if (strcmp(k, "to_device") == 0 && since != NULL && (!json_is_string(since) ||
		    mfcgi_num_parse(json_string_value(since), 0, INT64_MAX, NULL, &n) == -1))
			return mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid to_device since");
		if (!opt_count(json_object_get(v, "limit")))
			return bad(req, "limit must be a non-negative integer");
	}
	return 0;
}

/* Reads and checks the request once, and opens or continues its connection. */
static int
setup(struct mreq *req, struct slstate **out)
{
	struct slstate	*st;
	char		*pos = mreq_query(req, "pos");
	const char	*dev = req->auth.device_id != NULL ? req->auth.device_id : "";
	int64_t		 timeout, now = mclock_now_ms(), seq = 0, last, acked;
	int		 rc = -1, found;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	st->body = req->body != NULL ? json_incref(req->body) : json_object();
	if (!json_is_object(st->body)) {
		bad(req, "The body must be an object");
		goto out;
	}
	if (check_body(req, st->body) == -1)
		goto out;
	st->conn_id = mjson_str(st->body, "conn_id") != NULL ?
	    mjson_str(st->body, "conn_id") : "";
	if (mreq_query_int(req, "timeout", 0, 0, INT64_MAX, &timeout) == -1)
		goto out;
	if (timeout > MAX_TIMEOUT_MS)
		timeout = MAX_TIMEOUT_MS;
	st->deadline = now + timeout;
	st->has_pos = pos != NULL;
	if (pos != NULL && pos_parse(req, pos, &st->conn, &seq, &st->since) == -1)
		goto out;
	if (pos == NULL) {
		if (mstore_sliding_conn_new(req->db, req->auth.user_id, dev, st->conn_id, now,
		    mstore_sliding_expire_before(now), &st->conn) == -1) {
			mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
			goto out;
		}
	} else {
		found = mstore_sliding_conn_get(req->db, st->conn, req->auth.user_id, dev,
		    st->conn_id, mstore_sliding_expire_before(now), &last, &acked);
		if (found == -1) {
			mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
			goto out;
		}
		/*
		 * MSC4186: a position the server no longer knows (an expired or
		 * replaced connection, an answer older than one the client came
		 * back with since) answers 400 M_UNKNOWN_POS: the client starts
		 * over without pos.
		 */
		if (found == 0 || seq > last || seq < acked) {
			mfcgi_fail_as(req, 400, "M_UNKNOWN_POS", "Unknown position");
			goto out;
		}
		if (mstore_sliding_ack(req->db, st->conn, seq, now,
		    mstore_sliding_expire_before(now)) == -1) {
			mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
			goto out;
		}
	}
	*out = st;
	st = NULL;
	rc = 0;
out:
	slstate_free(st);
	free(pos);
	return rc;
}

/* The event of type and state_key in a state map, or NULL (borrowed). */
static json_t *
state_get(const json_t *map, const char *type, const char *sk)
{
	char	*k = mstate_key_join(type, sk);
	json_t	*ev = k != NULL ? json_object_get(map, k) : NULL;

	free(k);
	return ev;
}

/* The state map of room_id after its last event at or before pos: new reference or NULL. */
static json_t *
state_at(struct mreq *req, const char *room_id, int64_t pos)
{
	int64_t group = mstore_room_state_at(req->db, room_id, pos);

	return group < 0 ? NULL : mstore_sgroup_state_events(req->db, group);
}

static const char *
content_str(const json_t *ev, const char *key)
{
	return mjson_str(json_object_get(ev, "content"), key);
}

static int
is_true(const json_t *v)
{
	return json_is_true(v);
}

/* Whether a room passes a list's filters (MSC4186 "filters").  1, 0, or -1. */
static int
filter_match(struct slctx *x, const json_t *filters, const struct slroom *r, json_t *spacerooms)
{
	struct mreq	*req = x->req;
	const json_t	*v;
	int		 err;

	if ((v = json_object_get(filters, "is_dm")) != NULL &&
	    is_true(v) != (json_object_get(x->dms, r->m->room_id) != NULL))
		return 0;
	if ((v = json_object_get(filters, "is_invite")) != NULL &&
	    is_true(v) != (strcmp(r->m->membership, "invite") == 0))
		return 0;
	if ((v = json_object_get(filters, "is_encrypted")) != NULL) {
		json_t *enc = mstore_cstate_event(req->db, r->m->room_id, "m.room.encryption", "",
		    &err);

		json_decref(enc);
		if (err)
			return -1;
		if (is_true(v) != (enc != NULL))
			return 0;
	}
	if (json_object_get(filters, "room_types") != NULL ||
	    json_object_get(filters, "not_room_types") != NULL) {
		json_t		*cr = mstore_cstate_event(req->db, r->m->room_id, "m.room.create", "",
				    &err), *e;
		const char	*type = content_str(cr, "type");
		int		 in = 0, out = 0;
		size_t		 i;

		if (err) {
			json_decref(cr);
			return -1;
		}
		json_array_foreach(json_object_get(filters, "room_types"), i, e)
			if (json_is_null(e) ? type == NULL :
			    type != NULL && strcmp(type, json_string_value(e)) == 0)
				in = 1;
		json_array_foreach(json_object_get(filters, "not_room_types"), i, e)
			if (json_is_null(e) ? type == NULL :
			    type != NULL && strcmp(type, json_string_value(e)) == 0)
				out = 1;
		json_decref(cr);
		if ((json_object_get(filters, "room_types") != NULL && !in) || out)
			return 0;
	}
	if (spacerooms != NULL && json_object_get(spacerooms, r->m->room_id) == NULL)
		return 0;
	return 1;
}

/*
 * The children (m.space.child with a via) of the spaces a filter names
 * that the user is joined to: {room: true}, new reference, or NULL when
 * the filter names none (NULL with *err on failure).
 */
static json_t *
space_children(struct slctx *x, const json_t *filters, const struct slroom *rooms, size_t n,
    int *err)
{
	const json_t	*spaces = json_object_get(filters, "spaces"), *s;
	json_t		*out;
	size_t		 i;

	*err = 0;
	if (spaces == NULL)
		return NULL;
	if ((out = json_object()) == NULL) {
		*err = 1;
		return NULL;
	}
	json_array_foreach(spaces, i, s) {
		json_t	*all, *ev;
		size_t	 j;
		int	 joined = 0;

		for (size_t k = 0; k < n; k++)
			if (strcmp(rooms[k].m->room_id, json_string_value(s)) == 0 &&
			    strcmp(rooms[k].m->membership, "join") == 0)
				joined = 1;
		if (!joined)
			continue;
		if ((all = mstore_cstate_all(x->req->db, json_string_value(s))) == NULL) {
			json_decref(out);
			*err = 1;
			return NULL;
		}
		json_array_foreach(all, j, ev) {
			const json_t *via = json_object_get(json_object_get(ev, "content"), "via");

			if (mjson_str(ev, "type") != NULL &&
			    strcmp(mjson_str(ev, "type"), "m.space.child") == 0 &&
			    json_is_array(via) && json_array_size(via) > 0 &&
			    mjson_str(ev, "state_key") != NULL)
				json_object_set_new(out, mjson_str(ev, "state_key"), json_true());
		}
		json_decref(all);
	}
	return out;
}

/* Recency: the newest bump first, then by room ID for a stable order. */
static int
bump_cmp(const void *a, const void *b)
{
	const struct slroom *ra = a, *rb = b;

	if (ra->bump != rb->bump)
		return ra->bump > rb->bump ? -1 : 1;
	return strcmp(ra->m->room_id, rb->m->room_id);
}

/*
 * Merges a list's or subscription's config into want[room]: the larger
 * timeline_limit, the union of required_state; the room's sources (list
 * names, "" for a subscription) in "from".
 */
static void
want_add(json_t *want, const char *room_id, const json_t *cfg, const char *source)
{
	json_t		*w = json_object_get(want, room_id), *rs;
	json_int_t	 tl = json_integer_value(json_object_get(cfg, "timeline_limit"));
	size_t		 i;
	json_t		*p;

	if (tl > SYNC_MAX_TIMELINE_LIMIT)
		tl = SYNC_MAX_TIMELINE_LIMIT;
	if (w == NULL) {
		w = json_pack("{s:I,s:[],s:[]}", "timeline_limit", (json_int_t)0,
		    "required_state", "from");
		json_object_set_new(want, room_id, w);
	}
	if (tl > json_integer_value(json_object_get(w, "timeline_limit")))
		json_object_set_new(w, "timeline_limit", json_integer(tl));
	rs = json_object_get(w, "required_state");
	json_array_foreach(json_object_get(cfg, "required_state"), i, p) {
		json_t	*q;
		size_t	 j;
		int	 dup = 0;

		json_array_foreach(rs, j, q)
			if (json_equal(p, q))
				dup = 1;
		if (!dup)
			json_array_append(rs, p);
	}
	json_array_append_new(json_object_get(w, "from"), json_string(source));
}

/* The config a room is sent with, as a string to compare with the next one.  malloc'd. */
static char *
config_str(const json_t *w)
{
	json_t	*c = json_pack("{s:O,s:O}", "timeline_limit", json_object_get(w, "timeline_limit"),
	    "required_state", json_object_get(w, "required_state"));
	char	*s = c != NULL ? json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	json_decref(c);
	return s;
}

/*
 * Whether required_state asks for ev (MSC4186: "*" any type or key,
 * "$ME" the user; "$LAZY" members are added by the caller).
 */
static int
rstate_wants(const json_t *rs, const char *user_id, const json_t *ev)
{
	const char	*type = mjson_str(ev, "type"), *sk = mjson_str(ev, "state_key");
	size_t		 i;
	json_t		*p;

	if (type == NULL || sk == NULL)
		return 0;
	json_array_foreach(rs, i, p) {
		const char *t = json_string_value(json_array_get(p, 0));
		const char *k = json_string_value(json_array_get(p, 1));

		if (strcmp(t, "*") != 0 && strcmp(t, type) != 0)
			continue;
		if (strcmp(k, "*") == 0 || strcmp(k, sk) == 0 ||
		    (strcmp(k, "$ME") == 0 && strcmp(sk, user_id) == 0))
			return 1;
	}
	return 0;
}

/* Whether required_state asks for the members of the timeline's senders. */
static int
rstate_lazy(const json_t *rs)
{
	size_t	 i;
	json_t	*p;

	json_array_foreach(rs, i, p)
		if (strcmp(json_string_value(json_array_get(p, 0)), "m.room.member") == 0 &&
		    strcmp(json_string_value(json_array_get(p, 1)), "$LAZY") == 0)
			return 1;
	return 0;
}

/* The hero of an unnamed room: user_id with the name and avatar of its member event. */
static json_t *
hero(const json_t *state, const char *user_id)
{
	json_t		*ev = state_get(state, "m.room.member", user_id);
	json_t		*h = json_pack("{s:s}", "user_id", user_id);
	const char	*name = content_str(ev, "displayname"), *av = content_str(ev, "avatar_url");

	if (name != NULL)
		json_object_set_new(h, "displayname", json_string(name));
	if (av != NULL)
		json_object_set_new(h, "avatar_url", json_string(av));
	return h;
}

/* Name, avatar, heroes and counts of a joined room into sec. */
static void
room_meta(struct slctx *x, const char *room_id, const json_t *state, json_t *sec)
{
	const char	*name = content_str(state_get(state, "m.room.name", ""), "name");
	const char	*alias = content_str(state_get(state, "m.room.canonical_alias", ""), "alias");
	const char	*av = content_str(state_get(state, "m.room.avatar", ""), "url");
	json_t		*r = json_object_get(x->members, room_id), *c, *v, *heroes;
	size_t		 i;

	if (name != NULL && *name != '\0')
		json_object_set_new(sec, "name", json_string(name));
	if (av != NULL && *av != '\0')
		json_object_set_new(sec, "avatar", json_string(av));
	/* As /sync v2's m.heroes: a room without a name or an alias. */
	if ((name == NULL || *name == '\0') && (alias == NULL || *alias == '\0')) {
		heroes = json_array();
		for (int pass = 0; pass < 2; pass++)
			json_array_foreach(json_object_get(r, pass == 0 ? "join" : "invite"), i, v)
				if (json_array_size(heroes) < MAX_HEROES &&
				    strcmp(json_string_value(v), x->req->auth.user_id) != 0)
					json_array_append_new(heroes, hero(state,
					    json_string_value(v)));
		json_object_set_new(sec, "heroes", heroes);
	}
	json_object_set_new(sec, "joined_count",
	    json_integer((json_int_t)json_array_size(json_object_get(r, "join"))));
	json_object_set_new(sec, "invited_count",
	    json_integer((json_int_t)json_array_size(json_object_get(r, "invite"))));
	c = json_object_get(x->counts, room_id);
	json_object_set_new(sec, "notification_count",
	    json_integer(json_integer_value(json_array_get(c, 0))));
	json_object_set_new(sec, "highlight_count",
	    json_integer(json_integer_value(json_array_get(c, 1))));
}

/*
 * One room's section, or NULL with *unchanged when the client holds all
 * of it.  w: the config it is wanted with; *stream: the position the
 * client will hold it up to.  NULL without *unchanged: failure.
 */
static json_t *
room_section(struct slctx *x, const struct slroom *r, const json_t *w, const char *cfg,
    int *unchanged, int64_t *stream)
{
	struct mreq	*req = x->req;
	const char	*room_id = r->m->room_id, *me = req->auth.user_id;
	const char	*dev = req->auth.device_id;
	json_t		*held = json_object_get(x->sent, room_id);
	json_t		*sec = NULL, *state = NULL, *prev = NULL, *tl = NULL, *rs = NULL;
	json_t		*senders = NULL, *oldcfg = NULL, *ev;
	const json_t	*want_rs = json_object_get(w, "required_state");
	struct mevrow	*rows = NULL, inv;
	unsigned char	*vis = NULL;
	size_t		 n = 0;
	int64_t		 limit = json_integer_value(json_object_get(w, "timeline_limit"));
	int64_t		 p = held != NULL ? json_integer_value(json_array_get(held, 0)) : -1;
	int64_t		 upto, oldest = -1, live = 0;
	int		 joined = strcmp(r->m->membership, "join") == 0, fresh = held == NULL;
	int		 recfg, expanded = 0, limited;
	/* A room held as an invite (config "invite") is new to the client once joined. */
	int		 was_invite = held != NULL &&
			    strcmp(json_string_value(json_array_get(held, 1)), "invite") == 0;
	const char	*k;
	char		 tok[32];

	*unchanged = 0;
	memset(&inv, 0, sizeof(inv));
	upto = joined || r->m->stream > x->to.p[SPOS_EVENTS] ? x->to.p[SPOS_EVENTS] :
	    r->m->stream;
	*stream = upto;
	recfg = held != NULL && strcmp(json_string_value(json_array_get(held, 1)), cfg) != 0;
	if (recfg && (oldcfg = json_loads(json_string_value(json_array_get(held, 1)), 0,
	    NULL)) != NULL && limit > json_integer_value(json_object_get(oldcfg,
	    "timeline_limit")))
		expanded = 1;
	json_decref(oldcfg);
	if (strcmp(r->m->membership, "invite") == 0) {
		/* An invite: its stripped state, never the room's events. */
		if (was_invite && r->m->stream <= p) {
			*unchanged = 1;
			return NULL;
		}
		*stream = r->m->stream;
		if (mstore_event_get(req->db, r->m->event_id, &inv) != 1) {
			mevrow_fini(&inv);
			return NULL;
		}
		sec = json_pack("{s:b,s:o,s:I}", "initial", 1, "invite_state",
		    sync_stripped_state(req, room_id, inv.json), "bump_stamp",
		    (json_int_t)r->bump);
		mevrow_fini(&inv);
		if (sec != NULL && json_object_get(x->dms, room_id) != NULL)
			json_object_set_new(sec, "is_dm", json_true());
		return sec;
	}
	if (was_invite) {
		fresh = 1;
		recfg = expanded = 0;
		p = -1;
	}
	if (upto <= p && !recfg) {
		*unchanged = 1;
		return NULL;
	}
	/* The newest events the client lacks, one more than asked to learn of a gap. */
	if (mstore_events_page(req->db, room_id, 1, upto, fresh || expanded ? 0 : p,
	    limit + 1, &rows, &n) == -1 ||
	    (vis = calloc(n > 0 ? n : 1, 1)) == NULL ||
	    mroom_vis_filter(req->db, me, rows, n, vis) == -1)
		goto fail;
	if (n == 0 && !recfg && !fresh) {
		*unchanged = 1;
		goto out;
	}
	limited = (int64_t)n > limit;
	if ((tl = json_array()) == NULL || (senders = json_object()) == NULL ||
	    (rs = json_array()) == NULL)
		goto fail;
	/* rows: newest first; the timeline: the newest limit the user may see, oldest first. */
	for (size_t i = n; i > 0; i--) {
		const struct mevrow *row = &rows[i - 1];

		if (!vis[i - 1] || (int64_t)(i - 1) >= limit)
			continue;
		/* Spec: "Ignoring Users": their events (not state) are not sent. */
		if (row->state_key == NULL && json_object_get(x->ignored, row->sender) != NULL)
			continue;
		if (json_array_append_new(tl, mroom_client_event(row, x->now, me, dev)) == -1)
			goto fail;
		if (oldest < 0)
			oldest = row->stream;
		live += !fresh && row->stream > p;
		json_object_set_new(senders, row->sender, json_true());
	}
	if ((state = state_at(req, room_id, upto)) == NULL)
		goto fail;
	/*
	 * required_state: all it asks for on a room new to the connection or
	 * asked for with another config; else what changed since the client
	 * was sent the room (the state at that point against now).  $LAZY:
	 * the members of the timeline's senders, sent again each time.
	 */
	if (!fresh && !recfg && (prev = state_at(req, room_id, p)) == NULL)
		goto fail;
	json_object_foreach(state, k, ev) {
		const char	*type = mjson_str(ev, "type"), *sk = mjson_str(ev, "state_key");
		int		 lazy = type != NULL && sk != NULL &&
				    strcmp(type, "m.room.member") == 0 && rstate_lazy(want_rs) &&
				    json_object_get(senders, sk) != NULL;
		json_t		*old = prev != NULL ? json_object_get(prev, k) : NULL;

		if (!lazy && !rstate_wants(want_rs, me, ev))
			continue;
		if (!lazy && prev != NULL && old != NULL && mjson_str(old, "event_id") != NULL &&
		    mjson_str(ev, "event_id") != NULL &&
		    strcmp(mjson_str(old, "event_id"), mjson_str(ev, "event_id")) == 0)
			continue;
		if (json_array_append_new(rs, mroom_state_client_event(ev, room_id, x->now, me,
		    dev)) == -1)
			goto fail;
	}
	snprintf(tok, sizeof(tok), "t%lld", (long long)(oldest >= 0 ? oldest - 1 : upto));
	if ((sec = json_pack("{s:o,s:o,s:s,s:b,s:I,s:I}", "required_state", rs, "timeline", tl,
	    "prev_batch", tok, "limited", limited, "num_live", (json_int_t)live,
	    "bump_stamp", (json_int_t)r->bump)) == NULL) {
		rs = tl = NULL;
		goto fail;
	}
	rs = tl = NULL;
	if (fresh)
		json_object_set_new(sec, "initial", json_true());
	if (expanded)
		json_object_set_new(sec, "expanded_timeline", json_true());
	if (json_object_get(x->dms, room_id) != NULL)
		json_object_set_new(sec, "is_dm", json_true());
	if (joined)
		room_meta(x, room_id, state, sec);
	else
		json_object_set_new(sec, "membership", json_string(r->m->membership));
	goto out;
fail:
	json_decref(sec);
	sec = NULL;
	*unchanged = 0;
out:
	json_decref(state);
	json_decref(prev);
	json_decref(tl);
	json_decref(rs);
	json_decref(senders);
	mevrow_list_free(rows, n);
	free(vis);
	return sec;
}

/* Whether an extension's lists and rooms take in a room wanted from srcs. */
static int
ext_covers(const json_t *ecfg, const char *room_id, const json_t *srcs)
{
	const json_t	*lists = json_object_get(ecfg, "lists");
	const json_t	*rooms = json_object_get(ecfg, "rooms");
	json_t		*v, *s;
	size_t		 i, j;

	/* MSC3959/3960/4186: absent lists and rooms: all of them; "*": all. */
	if (lists == NULL && rooms == NULL)
		return 1;
	json_array_foreach(lists, i, v)
		json_array_foreach(srcs, j, s)
			if (*json_string_value(s) != '\0' && json_is_string(v) &&
			    (strcmp(json_string_value(v), "*") == 0 ||
			    strcmp(json_string_value(v), json_string_value(s)) == 0))
				return 1;
	json_array_foreach(rooms, i, v)
		if (json_is_string(v) && (strcmp(json_string_value(v), "*") == 0 ||
		    strcmp(json_string_value(v), room_id) == 0))
			for (j = 0; j < json_array_size(srcs); j++)
				if (*json_string_value(json_array_get(srcs, j)) == '\0')
					return 1;
	return 0;
}

static int
ext_enabled(const json_t *ext, const char *name)
{
	return is_true(json_object_get(json_object_get(ext, name), "enabled"));
}

/*
 * The joined rooms of want an extension takes in: a JSON array (the
 * collectors' ctx->joined).
 */
static json_t *
ext_scope(const json_t *ecfg, const json_t *want, const json_t *joinedset)
{
	json_t		*out = json_array(), *w;
	const char	*room_id;

	json_object_foreach((json_t *)want, room_id, w)
		if (json_object_get(joinedset, room_id) != NULL &&
		    ext_covers(ecfg, room_id, json_object_get(w, "from")))
			json_array_append_new(out, json_string(room_id));
	return out;
}

/* The rooms of scope that rooms (the answer's) carries as initial. */
static json_t *
fresh_rooms(const json_t *scope, const json_t *rooms)
{
	json_t	*out = json_array(), *v;
	size_t	 i;

	json_array_foreach(scope, i, v)
		if (json_is_true(json_object_get(json_object_get(rooms, json_string_value(v)),
		    "initial")))
			json_array_append(out, v);
	return out;
}

/*
 * Computes one of the /sync v2 streams (its compute, shared with v2's
 * collect) over the joined rooms scope, from the positions of pos (all
 * of it with st->initial), into o: per room, account data events or the
 * ephemeral event; the global account data too with global.  0, or -1
 * with the request failed.
 */
static int
ext_run(struct slctx *x, const struct syncstream *coll, const struct syncstate *st,
    json_t *scope, int global, json_t *o, int *news)
{
	struct syncctx	 c;
	struct syncnews	 n;
	json_t		*evs, *orooms = json_object_get(o, "rooms");
	const char	*room_id;

	memset(&c, 0, sizeof(c));
	c.req = x->req;
	c.st = st;
	c.from = x->from;
	c.to = x->to;
	c.joined = scope;
	if (coll->compute(&c, &n) == -1)
		return -1;
	if (global)
		json_object_set(o, "global", n.global);
	/* Account data: a room's events; receipts and typing: a room's one event. */
	json_object_foreach(n.rooms, room_id, evs)
		json_object_set(orooms, room_id, coll == &sync_account_data ? evs :
		    json_array_get(evs, json_array_size(evs) - 1));
	*news |= n.any;
	syncnews_fini(&n);
	return 0;
}

/*
 * Extensions (MSC3885 to_device, MSC3884 e2ee, MSC3959 account_data,
 * MSC3960 receipts, MSC3961 typing), from the computations of the /sync
 * v2 streams (struct syncnews), which v2's collectors write their way.
 * *news: something for the client.  0, or -1 with the request failed.
 */
static int
extensions(struct slctx *x, const json_t *want, const json_t *joinedset, const json_t *rooms,
    json_t *out, int *news)
{
	struct mreq	*req = x->req;
	const json_t	*ext = json_object_get(x->st->body, "extensions");
	struct syncstate ss;
	struct syncctx	 c;
	struct syncnews	 n;

	memset(&ss, 0, sizeof(ss));
	ss.initial = !x->st->has_pos;
	if (ext_enabled(ext, "to_device") && req->auth.device_id != NULL) {
		const char	*since = mjson_str(json_object_get(ext, "to_device"), "since");
		struct syncstate tds;
		char		 nb[32];

		/* The extension's own since, not pos, acknowledges. */
		memset(&tds, 0, sizeof(tds));
		memset(&c, 0, sizeof(c));
		c.req = req;
		c.st = &tds;
		c.to = x->to;
		c.from.p[SPOS_TODEVICE] = since != NULL ? strtoll(since, NULL, 10) : 0;
		if (c.from.p[SPOS_TODEVICE] > c.to.p[SPOS_TODEVICE])
			c.from.p[SPOS_TODEVICE] = c.to.p[SPOS_TODEVICE];
		if (sync_todevice.compute(&c, &n) == -1)
			return -1;
		snprintf(nb, sizeof(nb), "%lld", (long long)c.to.p[SPOS_TODEVICE]);
		json_object_set_new(out, "to_device", json_pack("{s:s,s:O}", "next_batch", nb,
		    "events", json_object_get(n.extra, "events")));
		*news |= n.any;
		syncnews_fini(&n);
	}
	if (ext_enabled(ext, "e2ee")) {
		json_t	*dl;
		int	 rc;

		memset(&c, 0, sizeof(c));
		c.req = req;
		c.st = &ss;
		c.from = x->from;
		c.to = x->to;
		rc = sync_devicelists.compute(&c, &n);
		json_decref(c.moves);
		if (rc == -1)
			return -1;
		dl = json_object_get(n.extra, "device_lists");
		json_object_set_new(out, "e2ee", json_pack("{s:O*,s:O*,s:o}",
		    "device_one_time_keys_count",
		    json_object_get(n.extra, "device_one_time_keys_count"),
		    "device_unused_fallback_key_types",
		    json_object_get(n.extra, "device_unused_fallback_key_types"),
		    "device_lists", dl != NULL ? json_incref(dl) :
		    json_pack("{s:[],s:[]}", "changed", "left")));
		*news |= n.any;
		syncnews_fini(&n);
	}
	for (int e = 0; e < 3; e++) {
		static const char *const names[] = { "account_data", "receipts", "typing" };
		const struct syncstream *const coll[] = {
			&sync_account_data, &sync_receipts, &sync_typing,
		};
		json_t *o, *scope, *fresh = NULL;

		if (!ext_enabled(ext, names[e]))
			continue;
		if ((scope = ext_scope(json_object_get(ext, names[e]), want, joinedset)) == NULL ||
		    (o = json_pack("{s:{}}", "rooms")) == NULL) {
			json_decref(scope);
			return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		}
		json_object_set_new(out, names[e], o);
		if (ext_run(x, coll[e], &ss, scope, e == 0, o, news) == -1) {
			json_decref(scope);
			return -1;
		}
		/*
		 * A room new to the connection gets all of its account data and
		 * receipts, not only what moved since pos (typing is only ever
		 * the present).
		 */
		if (x->st->has_pos && e < 2 && (fresh = fresh_rooms(scope, rooms)) != NULL &&
		    json_array_size(fresh) > 0) {
			struct syncstate iss;

			memset(&iss, 0, sizeof(iss));
			iss.initial = 1;
			if (ext_run(x, coll[e], &iss, fresh, 0, o, news) == -1) {
				json_decref(fresh);
				json_decref(scope);
				return -1;
			}
		}
		json_decref(fresh);
		json_decref(scope);
	}
	return 0;
}

/* {room: true} of rooms m.direct names (the user's DMs). */
static json_t *
dm_rooms(struct mreq *req)
{
	json_t		*dir = NULL, *out = json_object(), *v, *r;
	const char	*k;
	size_t		 i;

	if (out == NULL || mstore_account_data_get(req->db, req->auth.user_id, "", "m.direct",
	    &dir) == -1) {
		json_decref(out);
		return NULL;
	}
	json_object_foreach(dir, k, v)
		json_array_foreach(v, i, r)
			if (json_is_string(r))
				json_object_set_new(out, json_string_value(r), json_true());
	json_decref(dir);
	return out;
}

/* {room: [notify, highlight]} over every thread. */
static json_t *
push_counts(struct mreq *req)
{
	struct mpushcount	*v = NULL;
	size_t			 n = 0;
	json_t			*out, *c;

	if (mstore_push_counts(req->db, req->auth.user_id, &v, &n) == -1 ||
	    (out = json_object()) == NULL) {
		mpushcount_list_free(v, n);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		c = json_object_get(out, v[i].room_id);
		json_object_set_new(out, v[i].room_id, json_pack("[I,I]",
		    json_integer_value(json_array_get(c, 0)) + v[i].notify,
		    json_integer_value(json_array_get(c, 1)) + v[i].highlight));
	}
	mpushcount_list_free(v, n);
	return out;
}

/*
 * One computation over (pos, now]: the answer, in *to the positions
 * it reached, and in *sent what it gives the client of each room.  *news: it says something new.
 * NULL with the request failed.
 */
static json_t *
compute(struct mreq *req, struct slstate *st, struct syncpos *to, json_t **sentp, int *news,
    json_t **roomsp)
{
	struct slctx		 x;
	struct msyncmember	*mem = NULL;
	struct slroom		*rooms = NULL, *sorted = NULL;
	size_t			 memsz = 0, nrooms = 0;
	json_t			*resp = NULL, *want = NULL, *sent = NULL, *joinedset = NULL;
	json_t			*ignore = NULL;
	json_t			*lists_out, *rooms_out, *ext_out, *l, *w;
	const json_t		*lists = json_object_get(st->body, "lists");
	const json_t		*subs = json_object_get(st->body, "room_subscriptions");
	const char		*name, *room_id;

	memset(&x, 0, sizeof(x));
	x.req = req;
	x.st = st;
	x.now = mclock_now_ms();
	*news = 0;
	if ((*roomsp = json_array()) == NULL)
		return NULL;
	if (sync_now(req, &x.to) == -1) {
		json_decref(*roomsp);
		*roomsp = NULL;
		return NULL;
	}
	*to = x.to;
	x.from = st->since;
	for (int i = 0; i < SPOS__MAX; i++)
		if (x.from.p[i] > x.to.p[i])
			x.from.p[i] = x.to.p[i];
	if ((x.sent = mstore_sliding_rooms(req->db, st->conn)) == NULL ||
	    (x.bumps = mstore_sliding_bumps(req->db, req->auth.user_id,
	    x.to.p[SPOS_EVENTS])) == NULL ||
	    (x.members = mstore_sync_members(req->db, req->auth.user_id)) == NULL ||
	    (x.dms = dm_rooms(req)) == NULL || (x.counts = push_counts(req)) == NULL ||
	    mstore_account_data_get(req->db, req->auth.user_id, "", "m.ignored_user_list",
	    &ignore) == -1 ||
	    mstore_sliding_memberships(req->db, req->auth.user_id, &mem, &memsz) == -1 ||
	    (rooms = calloc(memsz > 0 ? memsz : 1, sizeof(*rooms))) == NULL ||
	    (sorted = calloc(memsz > 0 ? memsz : 1, sizeof(*sorted))) == NULL ||
	    (want = json_object()) == NULL || (sent = json_object()) == NULL ||
	    (joinedset = json_object()) == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	if (json_is_object(json_object_get(ignore, "ignored_users")))
		x.ignored = json_object_get(ignore, "ignored_users");
	/*
	 * The rooms lists choose from: joined and invited ones, and, once,
	 * a room left since the client was last sent it, so that it sees
	 * the leave; after that the room is gone from the lists.
	 */
	for (size_t i = 0; i < memsz; i++) {
		struct msyncmember	*m = &mem[i];
		json_t			*held = json_object_get(x.sent, m->room_id);
		json_t			*b = json_object_get(x.bumps, m->room_id);
		int			 join = strcmp(m->membership, "join") == 0;

		if (m->stream > x.to.p[SPOS_EVENTS])
			continue;
		/* Spec: "Ignoring Users": nor their invites. */
		if (strcmp(m->membership, "invite") == 0 && m->sender != NULL &&
		    json_object_get(x.ignored, m->sender) != NULL)
			continue;
		if (!join && strcmp(m->membership, "invite") != 0 &&
		    !(held != NULL && (strcmp(m->membership, "leave") == 0 ||
		    strcmp(m->membership, "ban") == 0) &&
		    m->stream > json_integer_value(json_array_get(held, 0))))
			continue;
		rooms[nrooms].m = m;
		/* As Synapse: a room the user is not joined to bumps at the membership. */
		rooms[nrooms].bump = join && b != NULL ? json_integer_value(b) : m->stream;
		if (join)
			json_object_set_new(joinedset, m->room_id, json_true());
		json_array_append_new(*roomsp, json_string(m->room_id));
		nrooms++;
	}
	if ((resp = json_pack("{s:{},s:{},s:{}}", "lists", "rooms", "extensions")) == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	lists_out = json_object_get(resp, "lists");
	rooms_out = json_object_get(resp, "rooms");
	ext_out = json_object_get(resp, "extensions");
	json_object_foreach((json_t *)lists, name, l) {
		const json_t	*filters = json_object_get(l, "filters"), *r;
		json_t		*spacerooms;
		size_t		 n = 0, i;
		int		 err, ok;

		spacerooms = space_children(&x, filters, rooms, nrooms, &err);
		if (err) {
			mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
			goto out;
		}
		for (size_t j = 0; j < nrooms; j++) {
			if ((ok = filter_match(&x, filters, &rooms[j], spacerooms)) == -1) {
				json_decref(spacerooms);
				mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
				goto out;
			}
			if (ok)
				sorted[n++] = rooms[j];
		}
		json_decref(spacerooms);
		qsort(sorted, n, sizeof(*sorted), bump_cmp);
		json_array_foreach(json_object_get(l, "ranges"), i, r) {
			json_int_t a = json_integer_value(json_array_get(r, 0));
			json_int_t b = json_integer_value(json_array_get(r, 1));

			for (json_int_t k = a; k <= b && k < (json_int_t)n; k++)
				want_add(want, sorted[k].m->room_id, l, name);
		}
		json_object_set_new(lists_out, name, json_pack("{s:I}", "count", (json_int_t)n));
	}
	/* A subscription to a room the user has no membership of is ignored, as Synapse. */
	json_object_foreach((json_t *)subs, room_id, w)
		for (size_t j = 0; j < nrooms; j++)
			if (strcmp(rooms[j].m->room_id, room_id) == 0)
				want_add(want, room_id, w, "");
	json_object_foreach(want, room_id, w) {
		struct slroom	*r = NULL;
		json_t		*sec;
		char		*cfg;
		int64_t		 stream;
		int		 unchanged;

		for (size_t j = 0; j < nrooms && r == NULL; j++)
			if (strcmp(rooms[j].m->room_id, room_id) == 0)
				r = &rooms[j];
		if ((cfg = config_str(w)) == NULL) {
			mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
			goto out;
		}
		sec = room_section(&x, r, w, cfg, &unchanged, &stream);
		if (sec == NULL && !unchanged) {
			free(cfg);
			mfcgi_fail(req, MERR_INTERNAL, "%s: room section failed", __func__);
			goto out;
		}
		if (sec != NULL) {
			json_object_set_new(rooms_out, room_id, sec);
			json_object_set_new(sent, room_id, json_pack("[I,s]", (json_int_t)stream,
			    strcmp(r->m->membership, "invite") == 0 ? "invite" : cfg));
			*news = 1;
		}
		free(cfg);
	}
	if (extensions(&x, want, joinedset, rooms_out, ext_out, news) == -1)
		goto out;
	*sentp = sent;
	sent = NULL;
	goto done;
out:
	json_decref(resp);
	resp = NULL;
	json_decref(*roomsp);
	*roomsp = NULL;
done:
	json_decref(want);
	json_decref(sent);
	json_decref(joinedset);
	json_decref(x.sent);
	json_decref(x.bumps);
	json_decref(x.members);
	json_decref(x.dms);
	json_decref(x.counts);
	json_decref(ignore);
	msyncmember_list_free(mem, memsz);
	free(rooms);
	free(sorted);
	return resp;
}

/*
 * MSC4186: POST /_matrix/client/unstable/org.matrix.simplified_msc3575/sync.
 * Without pos, a new connection and everything in range; with pos,
 * what changed since that answer, waiting (parked, as GET /sync) until
 * something does or timeout passes.  The answer's pos names the
 * connection, the answer and the stream positions it reached.
 */
int
h_sliding_sync(struct mreq *req)
{
	struct slstate	*st = req->state;
	json_t		*out, *sent = NULL;
	uint32_t	 seq;
	int64_t		 aseq;
	int		 news;
	char		 tok[256], pos[320];
	struct syncpos	 to;

	if (st == NULL) {
		if (setup(req, &st) == -1)
			return -1;
		req->state = st;
		req->state_free = slstate_free;
	}
	for (;;) {
		json_t *rooms = NULL;

		seq = req->srv->notify != NULL ? mnotify_seq(req->srv->notify) : 0;
		if ((out = compute(req, st, &to, &sent, &news, &rooms)) == NULL)
			return -1;
		if (news || !st->has_pos || req->woken == MWAKE_TIMEOUT ||
		    mclock_now_ms() >= st->deadline) {
			json_decref(rooms);
			break;
		}
		json_decref(out);
		json_decref(sent);
		sent = NULL;
		/* As GET /sync: woken by commits in the user's rooms or naming the user. */
		if (req->srv->notify != NULL && sync_park_interest(req, rooms) == 0) {
			json_decref(rooms);
			return mfcgi_park(req, st->deadline);
		}
		json_decref(rooms);
		if (req->srv->notify == NULL || mnotify_seq(req->srv->notify) == seq)
			return mfcgi_park(req, st->deadline);
	}
	if (mstore_sliding_commit(req->db, st->conn, sent, mclock_now_ms(), &aseq) == -1) {
		json_decref(out);
		json_decref(sent);
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	}
	json_decref(sent);
	sync_token_format(&to, tok, sizeof(tok));
	snprintf(pos, sizeof(pos), "%lld.%lld.%s", (long long)st->conn, (long long)aseq, tok);
	json_object_set_new(out, "pos", json_string(pos));
	return sync_reply(req, out);
}
