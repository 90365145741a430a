/*
 * Events other servers send us (S-S API, "Transactions", "PDUs"): each
 * PDU of PUT /send goes through the write path (mroom_receive) in its
 * own transaction; what it names and we lack is fetched from the
 * origin first (get_missing_events, then /state_ids and /event for the
 * state before a gap, /event_auth for auth chains), outside any
 * transaction, so no room lock is held across the network.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"
#include "config/config.h"
#include "events/events.h"
#include "fed/fed.h"
#include "json/json.h"
#include "log/log.h"
#include "room/room.h"
#include "store/store.h"

/* Spec: S-S API, get_missing_events: Synapse asks for 10. */
#define MISSING_LIMIT	10
/* At most this many events fetched one by one for a state (else refused). */
#define FETCH_MAX	500

static const struct mkey	*our_key;

struct inb {
	struct mdb		*db;
	const struct mconfig	*conf;
	const char		*origin;
	const char		*room_id;
	int			 flags;		/* MROOM_RECV_* of the events taken */
	int			 fetched;	/* events fetched so far for one PDU */
	enum mroom_fate		 fate;		/* of the last event taken */
};

/* mroom_key_fn over the keyring: keys were fetched before the transaction. */
static int
ring_get(void *arg, const char *server, const char *key_id, int64_t ts, unsigned char pk[32])
{
	struct inb *in = arg;

	return mfed_key_get(in->db, in->conf, our_key, server, key_id, ts, pk) == 1 ? 0 : -1;
}

/*
 * Fetches (and stores) the keys pdu's signatures name, outside the
 * transaction that checks it: a fetch is network time, and holds no lock.
 */
static void
keys_prefetch(struct inb *in, const json_t *pdu)
{
	const char	*server, *kid;
	json_t		*sigs, *v;
	unsigned char	 pk[32];
	int64_t		 ts = json_integer_value(json_object_get(pdu, "origin_server_ts"));

	sigs = json_object_get(pdu, "signatures");
	if (!json_is_object(sigs))
		return;
	json_object_foreach(sigs, server, v) {
		void *it;

		if (!json_is_object(v))
			continue;
		for (it = json_object_iter(v); it != NULL; it = json_object_iter_next(v, it)) {
			kid = json_object_iter_key(it);
			(void)mfed_key_get(in->db, in->conf, our_key, server, kid, ts, pk);
		}
	}
}

/*
 * One mroom_receive in its own transaction: committed when it gives
 * MROOM_OK, else rolled back.  r is the caller's to finish.
 */
static enum mroom_err
receive_one(struct inb *in, const json_t *pdu, int flags, const json_t *state,
    struct mroom_recv *r, char *why, size_t whysz)
{
	struct mroom_ctx	 ctx;
	enum mroom_err		 rc;

	memset(r, 0, sizeof(*r));
	r->key = ring_get;
	r->key_arg = in;
	r->flags = flags;
	r->state = state;
	keys_prefetch(in, pdu);
	memset(&ctx, 0, sizeof(ctx));
	ctx.db = in->db;
	ctx.server_name = in->conf->server_name;
	ctx.key = our_key;
	if (mdb_begin(in->db) == -1) {
		snprintf(why, whysz, "storage failure");
		return MROOM_ERROR;
	}
	rc = mroom_receive(&ctx, in->origin, pdu, r);
	in->fate = r->fate;
	if (rc == MROOM_OK && mdb_commit(in->db) == -1) {
		mdb_rollback(in->db);
		rc = MROOM_ERROR;
	} else if (rc != MROOM_OK)
		mdb_rollback(in->db);
	snprintf(why, whysz, "%s", ctx.why[0] != '\0' ? ctx.why : rc == MROOM_ERROR ?
	    "storage failure" : rc == MROOM_NO_ROOM ? "unknown room" : "");
	return rc;
}

static int
depth_cmp(const void *a, const void *b)
{
	int64_t	 x = json_integer_value(json_object_get(*(json_t *const *)a, "depth"));
	int64_t	 y = json_integer_value(json_object_get(*(json_t *const *)b, "depth"));

	return x < y ? -1 : x > y;
}

/* The PDUs of a JSON array sorted by depth, lowest first: a new array. */
static json_t *
by_depth(const json_t *pdus)
{
	json_t	**v, *out;
	size_t	 n = json_array_size(pdus), i;

	if ((out = json_array()) == NULL)
		return NULL;
	if (n == 0)
		return out;
	if ((v = calloc(n, sizeof(json_t *))) == NULL) {
		json_decref(out);
		return NULL;
	}
	for (i = 0; i < n; i++)
		v[i] = json_array_get(pdus, i);
	qsort(v, n, sizeof(json_t *), depth_cmp);
	for (i = 0; i < n; i++)
		if (json_is_object(v[i]))
			json_array_append(out, v[i]);
	free(v);
	return out;
}

/*
 * Stores pdus (any order) as outliers: passes over what is left until
 * one stores nothing more, so each event follows its auth events.
 * Returns how many are stored now (known before included).
 */
static size_t
outliers_store(struct inb *in, const json_t *pdus)
{
	struct mroom_recv	 r;
	json_t			*left;
	char			 why[256];
	size_t			 i, done = 0, before;

	if ((left = by_depth(pdus)) == NULL)
		return 0;
	do {
		before = json_array_size(left);
		for (i = 0; i < json_array_size(left); ) {
			enum mroom_err rc = receive_one(in, json_array_get(left, i),
			    MROOM_RECV_OUTLIER, NULL, &r, why, sizeof(why));

			mroom_recv_fini(&r);
			if (rc == MROOM_MISSING) {
				i++;
				continue;
			}
			if (rc == MROOM_OK)
				done++;
			else
				mlog_info(NULL, "federation: an event from %s not stored: %s",
				    in->origin, why);
			json_array_remove(left, i);
		}
	} while (json_array_size(left) > 0 && json_array_size(left) < before);
	json_decref(left);
	return done;
}

/* A GET or POST to the origin: its 200 answer (new reference), or NULL. */
static json_t *
ask(struct inb *in, const char *method, const char *path, const json_t *body)
{
	json_t	*reply = NULL;
	long	 status = 0;

	if (mfed_request(in->conf, our_key, in->origin, method, path, body, &status,
	    &reply) == -1)
		return NULL;
	if (status != 200 || !json_is_object(reply)) {
		mlog_info(NULL, "federation: %s %s at %s: status %ld", method, path, in->origin,
		    status);
		json_decref(reply);
		return NULL;
	}
	return reply;
}

/* GET /event/{eventId} from the origin: the PDU (new reference), or NULL. */
static json_t *
fetch_event(struct inb *in, const char *event_id)
{
	char	*e, *path = NULL;
	json_t	*reply, *pdu = NULL;

	if (++in->fetched > FETCH_MAX || (e = mfed_escape(event_id)) == NULL)
		return NULL;
	if (asprintf(&path, "/_matrix/federation/v1/event/%s", e) == -1)
		path = NULL;
	free(e);
	if (path == NULL)
		return NULL;
	if ((reply = ask(in, "GET", path, NULL)) != NULL) {
		pdu = json_array_get(json_object_get(reply, "pdus"), 0);
		if (json_is_object(pdu))
			json_incref(pdu);
		else
			pdu = NULL;
		json_decref(reply);
	}
	free(path);
	return pdu;
}

/* GET /event_auth/{roomId}/{eventId}: its auth chain stored as outliers. */
static void
fetch_auth(struct inb *in, const char *event_id)
{
	char	*r, *e, *path = NULL;
	json_t	*reply;

	r = mfed_escape(in->room_id);
	e = mfed_escape(event_id);
	if (r != NULL && e != NULL &&
	    asprintf(&path, "/_matrix/federation/v1/event_auth/%s/%s", r, e) == -1)
		path = NULL;
	free(r);
	free(e);
	if (path == NULL)
		return;
	if ((reply = ask(in, "GET", path, NULL)) != NULL) {
		(void)outliers_store(in, json_object_get(reply, "auth_chain"));
		json_decref(reply);
	}
	free(path);
}

/* 1 when event_id is stored here (any flags), 0 not, -1. */
static int
known(struct inb *in, const char *event_id)
{
	struct mevflags	 f;
	int		 rc;

	if ((rc = mstore_event_flags(in->db, event_id, &f)) == 1)
		free(f.room_id);
	return rc;
}

static enum mroom_err	handle(struct inb *, const json_t *pdu, int level, char *why,
			    size_t whysz);

/*
 * Spec: S-S API, POST /get_missing_events/{roomId}: the events between
 * our forward extremities and event_id, from the origin, each taken in
 * (lowest depth first) as if sent, though without asking again.
 */
static void
fetch_missing(struct inb *in, const char *event_id)
{
	json_t	*fwd, *body, *reply, *evs, *v;
	char	*r, *path = NULL, why[256];
	int64_t	 maxdepth = 0;
	size_t	 i;

	if ((r = mfed_escape(in->room_id)) == NULL)
		return;
	if (asprintf(&path, "/_matrix/federation/v1/get_missing_events/%s", r) == -1)
		path = NULL;
	free(r);
	if (path == NULL || (fwd = mstore_fwd_list(in->db, in->room_id, &maxdepth)) == NULL) {
		free(path);
		return;
	}
	body = json_pack("{s:o,s:[s],s:i,s:i}", "earliest_events", fwd, "latest_events",
	    event_id, "limit", MISSING_LIMIT, "min_depth", 0);
	if (body != NULL && (reply = ask(in, "POST", path, body)) != NULL) {
		if ((evs = by_depth(json_object_get(reply, "events"))) != NULL) {
			json_array_foreach(evs, i, v)
				(void)handle(in, v, 1, why, sizeof(why));
			json_decref(evs);
		}
		json_decref(reply);
	}
	json_decref(body);
	free(path);
}

/*
 * The state after prev (an event of the room we lack) as the origin has
 * it (spec: S-S API, GET /state_ids/{roomId}?event_id=): the state
 * before it, with prev itself when it is a state event; every event
 * named fetched (/event) and stored as an outlier.  A state map (new
 * reference), or NULL.
 */
static json_t *
fetch_state(struct inb *in, const char *prev)
{
	json_t	*reply, *ids, *pdus = NULL, *state = NULL, *v, *all;
	char	*r, *e, *path = NULL;
	size_t	 i, j;

	r = mfed_escape(in->room_id);
	e = mfed_escape(prev);
	if (r != NULL && e != NULL && asprintf(&path,
	    "/_matrix/federation/v1/state_ids/%s?event_id=%s", r, e) == -1)
		path = NULL;
	free(r);
	free(e);
	if (path == NULL)
		return NULL;
	reply = ask(in, "GET", path, NULL);
	free(path);
	if (reply == NULL)
		return NULL;
	if ((pdus = json_array()) == NULL || (all = json_object()) == NULL)
		goto out;
	/* What is not stored yet, each once: the auth chain, the state, prev. */
	for (j = 0; j < 3; j++) {
		ids = j == 0 ? json_object_get(reply, "auth_chain_ids") : j == 1 ?
		    json_object_get(reply, "pdu_ids") : NULL;
		if (j == 2 && (ids = json_pack("[s]", prev)) == NULL)
			break;
		json_array_foreach(ids, i, v) {
			json_t *pdu;

			if (!json_is_string(v) || json_object_get(all, json_string_value(v)))
				continue;
			json_object_set_new(all, json_string_value(v), json_true());
			if (known(in, json_string_value(v)) != 0)
				continue;
			if ((pdu = fetch_event(in, json_string_value(v))) != NULL)
				json_array_append_new(pdus, pdu);
		}
		if (j == 2)
			json_decref(ids);
	}
	json_decref(all);
	(void)outliers_store(in, pdus);
	/* The map, from the stored events (which say their type and key). */
	if ((state = json_object()) == NULL)
		goto out;
	ids = json_object_get(reply, "pdu_ids");
	for (j = 0; j <= json_array_size(ids); j++) {
		struct mevrow	 row;
		const char	*id = j < json_array_size(ids) ?
				    json_string_value(json_array_get(ids, j)) : prev;
		char		*key;

		if (id == NULL)
			continue;
		if (mstore_event_get(in->db, id, &row) != 1) {
			json_decref(state);
			state = NULL;
			goto out;
		}
		/* A rejected event is in no state (SyTest: auth events of another room). */
		if (row.state_key != NULL && row.rejected == NULL &&
		    strcmp(row.room_id, in->room_id) == 0 &&
		    (key = mstate_key_join(row.type, row.state_key)) != NULL) {
			json_object_set_new(state, key, json_string(id));
			free(key);
		}
		mevrow_fini(&row);
	}
out:
	json_decref(pdus);
	json_decref(reply);
	return state;
}

/* 1 when id is among pdu's field (either reference format), else 0. */
static int
is_ref(const json_t *pdu, const char *field, const char *id)
{
	json_t	*a = json_object_get(pdu, field), *v;
	size_t	 i;

	json_array_foreach(a, i, v) {
		const char *s = json_is_array(v) ? json_string_value(json_array_get(v, 0)) :
		    json_string_value(v);

		if (s != NULL && strcmp(s, id) == 0)
			return 1;
	}
	return 0;
}

static int
is_auth_ref(const json_t *pdu, const char *id)
{
	return is_ref(pdu, "auth_events", id);
}

/*
 * Takes one PDU in, fetching what it lacks: its auth events (the
 * origin's /event_auth), then, for a live event (level 0), the gap
 * before it (get_missing_events); a live event whose gap stays is
 * refused, as Synapse refuses it ("isn't divulging details about
 * prev_events").  An event get_missing_events gave (level 1) whose prev
 * events stay unknown gets the state after its first unknown prev event
 * (/state_ids), which then stands for the state before it (as Synapse
 * does for a single gap; several unknown prev events are not resolved
 * together).
 */
static enum mroom_err
handle(struct inb *in, const json_t *pdu, int level, char *why, size_t whysz)
{
	struct mroom_recv	 r;
	json_t			*state = NULL, *miss, *v;
	enum mroom_err		 rc = MROOM_ERROR;
	const char		*id;
	char			*eid = NULL;
	size_t			 i;
	int			 authmiss = 0, step;

	for (step = 0; step < 4; step++) {
		rc = receive_one(in, pdu, in->flags, state, &r, why, whysz);
		if (rc != MROOM_MISSING) {
			mroom_recv_fini(&r);
			break;
		}
		miss = r.missing;
		r.missing = NULL;
		free(eid);
		eid = r.event_id != NULL ? strdup(r.event_id) : NULL;
		mroom_recv_fini(&r);
		authmiss = 0;
		json_array_foreach(miss, i, v)
			if ((id = json_string_value(v)) != NULL && is_auth_ref(pdu, id))
				authmiss = 1;
		if (eid == NULL) {
			json_decref(miss);
			break;
		}
		if (authmiss && step == 0) {
			fetch_auth(in, eid);
		} else if (state == NULL && level == 0 && step <= 1) {
			fetch_missing(in, eid);
			step = 1;
		} else if (state == NULL && level > 0) {
			id = NULL;
			/*
			 * A prev event, even one its auth events name too: its
			 * state brings it (as an outlier) with what it needs.
			 */
			json_array_foreach(miss, i, v)
				if (json_is_string(v) && is_ref(pdu, "prev_events",
				    json_string_value(v))) {
					id = json_string_value(v);
					break;
				}
			if (id == NULL || (state = fetch_state(in, id)) == NULL) {
				json_decref(miss);
				break;
			}
			step = 2;
		} else {
			json_decref(miss);
			break;
		}
		json_decref(miss);
	}
	free(eid);
	json_decref(state);
	return rc;
}

/*
 * Spec: C-S API, "Guest access": once a room's m.room.guest_access is no
 * longer can_join, guests joined there leave.  For an event of another
 * server that made it so, this server's guests in the room leave by
 * their own membership events (as Synapse does on receipt), each in its
 * own transaction after the event's.  Failures are logged.
 */
static void
guests_leave(struct inb *in, const json_t *pdu)
{
	struct mroom_ctx	 ctx;
	json_t			*ga, *guests, *leave, *g;
	const char		*v, *sk = mjson_str(pdu, "state_key");
	char			*eid;
	size_t			 i;
	int			 err, revoked;

	if (in->room_id == NULL || sk == NULL || *sk != '\0' ||
	    mjson_str(pdu, "type") == NULL ||
	    strcmp(mjson_str(pdu, "type"), "m.room.guest_access") != 0)
		return;
	/* The current state, which the event may not have won. */
	ga = mstore_cstate_event(in->db, in->room_id, "m.room.guest_access", "", &err);
	v = mjson_str(json_object_get(ga, "content"), "guest_access");
	revoked = !err && (v == NULL || strcmp(v, "can_join") != 0);
	json_decref(ga);
	if (!revoked || (guests = mstore_room_guests(in->db, in->room_id)) == NULL)
		return;
	leave = json_pack("{s:s}", "membership", "leave");
	json_array_foreach(guests, i, g) {
		memset(&ctx, 0, sizeof(ctx));
		ctx.db = in->db;
		ctx.server_name = in->conf->server_name;
		ctx.key = our_key;
		ctx.target = MROOM_TARGET_ANY;
		eid = NULL;
		if (leave == NULL || mdb_begin(in->db) == -1)
			break;
		if (mroom_send(&ctx, in->room_id, json_string_value(g), "m.room.member",
		    json_string_value(g), leave, NULL, NULL, &eid) != MROOM_OK) {
			mdb_rollback(in->db);
			mlog_warn(NULL, "federation: guest %s cannot leave %s: %s",
			    json_string_value(g), in->room_id, ctx.why);
		} else if (mdb_commit(in->db) == -1) {
			mdb_rollback(in->db);
			mlog_warn(NULL, "federation: guest %s cannot leave %s: commit",
			    json_string_value(g), in->room_id);
		}
		free(eid);
	}
	json_decref(leave);
	json_decref(guests);
}

/* The mfed_pdu_fn: NULL when accepted (or known), else why not. */
static char *
inbound_pdu(struct mdb *db, const struct mconfig *conf, const char *origin,
    const json_t *pdu, const char *room_version, const char *event_id)
{
	struct inb	 in;
	char		 why[256], *out = NULL;
	enum mroom_err	 rc;

	(void)room_version;
	(void)event_id;
	memset(&in, 0, sizeof(in));
	in.db = db;
	in.conf = conf;
	in.origin = origin;
	in.room_id = mjson_str(pdu, "room_id");
	why[0] = '\0';
	rc = handle(&in, pdu, 0, why, sizeof(why));
	switch (rc) {
	case MROOM_OK:
		/*
		 * Rejected by the auth rules: stored for the record, and {} as
		 * Synapse answers it (the PDU was processed; SyTest expects so).
		 */
		if (in.fate == MROOM_FATE_REJECTED)
			mlog_info(NULL, "federation: %s's event rejected: %s", origin, why);
		if (in.fate == MROOM_FATE_ACCEPTED)
			guests_leave(&in, pdu);
		break;
	case MROOM_MISSING:
		if (asprintf(&out, "Could not fetch the missing events: %s", why) == -1)
			out = NULL;
		break;
	default:
		out = strdup(why[0] != '\0' ? why : "Event refused");
		break;
	}
	if (rc != MROOM_OK && out == NULL)
		out = strdup("Event refused");
	return out;
}

enum mroom_err
mfed_receive_event(struct mdb *db, const struct mconfig *conf, const char *origin,
    const json_t *pdu, enum mroom_fate *fate, char *why, size_t whysz)
{
	struct inb	 in;
	enum mroom_err	 rc;

	memset(&in, 0, sizeof(in));
	in.db = db;
	in.conf = conf;
	in.origin = origin;
	in.room_id = mjson_str(pdu, "room_id");
	why[0] = '\0';
	rc = handle(&in, pdu, 0, why, whysz);
	*fate = in.fate;
	return rc;
}

size_t
mfed_receive_history(struct mdb *db, const struct mconfig *conf, const struct mkey *key,
    const char *origin, const char *room_id, const json_t *pdus)
{
	struct inb	 in;
	json_t		*evs, *v;
	char		 why[256];
	size_t		 i, done = 0;

	our_key = key;
	if ((evs = by_depth(pdus)) == NULL)
		return 0;
	/* One budget of fetched events (FETCH_MAX) for the whole answer. */
	memset(&in, 0, sizeof(in));
	in.db = db;
	in.conf = conf;
	in.origin = origin;
	in.room_id = room_id;
	in.flags = MROOM_RECV_HISTORY;
	json_array_foreach(evs, i, v) {
		const char *rid = mjson_str(v, "room_id");

		/* Another room's event is no part of this one's history. */
		if (rid == NULL || strcmp(rid, room_id) != 0)
			continue;
		in.fate = MROOM_FATE_KNOWN;
		why[0] = '\0';
		if (handle(&in, v, 1, why, sizeof(why)) == MROOM_OK &&
		    in.fate != MROOM_FATE_KNOWN)
			done++;
		else if (why[0] != '\0')
			mlog_info(NULL, "federation: a backfilled event from %s not taken: %s",
			    origin, why);
	}
	json_decref(evs);
	return done;
}

/*
 * Spec: m.room.server_acl: glob (* any run, ? one character) over the
 * server name without its port, case-insensitive.
 */
static int
glob(const char *p, const char *s)
{
	for (; *p != '\0'; p++, s++) {
		if (*p == '*') {
			for (; ; s++) {
				if (glob(p + 1, s))
					return 1;
				if (*s == '\0')
					return 0;
			}
		}
		if (*s == '\0' || (*p != '?' && tolower((unsigned char)*p) !=
		    tolower((unsigned char)*s)))
			return 0;
	}
	return *s == '\0';
}

static int
acl_match(const json_t *list, const char *host)
{
	json_t	*v;
	size_t	 i;

	json_array_foreach(list, i, v)
		if (json_is_string(v) && glob(json_string_value(v), host))
			return 1;
	return 0;
}

int
mfed_acl_allows(struct mdb *db, const char *room_id, const char *server)
{
	struct mfed_name	 n;
	json_t			*ev, *c, *ipl;
	int			 err = 0, ok;

	ev = mstore_cstate_event(db, room_id, "m.room.server_acl", "", &err);
	if (ev == NULL)
		return err ? -1 : 1;
	if (mfed_name_parse(server, &n) == -1) {
		json_decref(ev);
		return 0;
	}
	c = json_object_get(ev, "content");
	ipl = json_object_get(c, "allow_ip_literals");
	if (n.ip && json_is_false(ipl))
		ok = 0;
	else
		ok = !acl_match(json_object_get(c, "deny"), n.host) &&
		    acl_match(json_object_get(c, "allow"), n.host);
	json_decref(ev);
	return ok;
}

void
mfed_inbound_init(const struct mkey *key)
{
	our_key = key;
	mfed_receive_set(inbound_pdu);
}
