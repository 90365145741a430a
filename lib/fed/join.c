/*
 * Membership through another server (S-S API, "Joining Rooms" and
 * "Leaving Rooms (Rejecting Invites)"): make_join / make_leave from a
 * resident server, the template filled and signed here, send_join /
 * send_leave (v2), then the room's state and auth chain taken through
 * the write path's checks on receipt (mroom_receive).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"
#include "config/config.h"
#include "crypto/crypto.h"
#include "events/events.h"
#include "fed/extern.h"
#include "json/json.h"
#include "log/log.h"
#include "room/room.h"
#include "store/store.h"

/* An auth chain deeper than this is not walked (each level is a C frame). */
#define CHAIN_MAX_DEPTH	4096

struct keyarg {
	struct mdb		*db;
	const struct mconfig	*conf;
	const struct mkey	*key;
};

/* mroom_key_fn over the keyring. */
static int
keyring(void *arg, const char *server, const char *key_id, int64_t ts, unsigned char pk[32])
{
	struct keyarg *k = arg;

	return mfed_key_get(k->db, k->conf, k->key, server, key_id, ts, pk) == 1 ? 0 : -1;
}

static void __attribute__((format(printf, 4, 5)))
fail(struct mfed_member *m, int status, const char *errcode, const char *fmt, ...)
{
	va_list	 ap;

	m->status = status;
	snprintf(m->errcode, sizeof(m->errcode), "%s", errcode);
	va_start(ap, fmt);
	vsnprintf(m->error, sizeof(m->error), fmt, ap);
	va_end(ap);
}

/* The remote's error, passed on as it gave it (a 4xx with a Matrix error). */
static void
fail_remote(struct mfed_member *m, long status, const json_t *reply, const char *server)
{
	const char *code = mjson_str(reply, "errcode"), *err = mjson_str(reply, "error");

	m->status = (int)status;
	snprintf(m->errcode, sizeof(m->errcode), "%s", code != NULL ? code : "M_UNKNOWN");
	snprintf(m->error, sizeof(m->error), "%s", err != NULL ? err : server);
	/* Spec: M_INCOMPATIBLE_ROOM_VERSION names the room's version. */
	if (mjson_str(reply, "room_version") != NULL)
		snprintf(m->room_version, sizeof(m->room_version), "%s",
		    mjson_str(reply, "room_version"));
}

/* The ?ver= of every room version we support. */
static char *
versions_query(void)
{
	const struct mroomver	*all;
	size_t			 n, len = 0, i, o = 0;
	char			*s;

	all = mroomver_all(&n);
	for (i = 0; i < n; i++)
		len += strlen(all[i].id) + 5;
	if ((s = malloc(len + 1)) == NULL)
		return NULL;
	*s = '\0';
	for (i = 0; i < n; i++)
		o += (size_t)snprintf(s + o, len + 1 - o, "%cver=%s", i == 0 ? '?' : '&',
		    all[i].id);
	return s;
}

/*
 * Fetches the keys of every signature in the events of list (a JSON
 * array of PDUs) before the transaction, so that no HTTP request waits
 * inside it; what cannot be fetched fails the check later.
 */
static void
prefetch_keys(struct keyarg *k, const json_t *list)
{
	const json_t	*ev, *sigs, *ids, *x;
	const char	*server, *key_id;
	json_t		*seen;
	size_t		 i;

	if ((seen = json_object()) == NULL)
		return;
	json_array_foreach(list, i, ev) {
		sigs = json_object_get(ev, "signatures");
		json_object_foreach((json_t *)sigs, server, ids)
			json_object_foreach((json_t *)ids, key_id, x) {
				unsigned char	 pk[32];
				char		*n;

				if (asprintf(&n, "%s %s", server, key_id) == -1)
					continue;
				if (json_object_get(seen, n) == NULL) {
					json_object_set_new(seen, n, json_true());
					(void)mfed_key_get(k->db, k->conf, k->key, server, key_id,
					    mclock_now_ms(), pk);
				}
				free(n);
			}
	}
	json_decref(seen);
}

struct chain {
	struct mroom_ctx	*ctx;
	struct mroom_recv	 r;
	const char		*origin;
	const struct mroomver	*ver;
	json_t			*byid;		/* event ID -> PDU */
	json_t			*done;		/* event ID -> true */
	json_t			*bad;		/* event ID -> true: dropped, badly signed */
	char			 why[512];
};

/* The IDs an event's auth_events names (v1/v2: [id, hashes] pairs). */
static const char *
ref_id(const json_t *ref)
{
	return json_is_array(ref) ? json_string_value(json_array_get(ref, 0)) :
	    json_string_value(ref);
}

/*
 * Receives event_id of c->byid as an outlier after its auth events, the
 * create event with MROOM_RECV_NEW_ROOM.  0, or -1 with c->why.
 */
static int
chain_store(struct chain *c, const char *event_id, int depth)
{
	const json_t	*pdu, *ref;
	const char	*type, *sk;
	enum mroom_err	 e;
	size_t		 i;

	if (json_object_get(c->done, event_id) != NULL)
		return 0;
	if ((pdu = json_object_get(c->byid, event_id)) == NULL)
		return 0;	/* not given: mroom_receive says what is missing */
	if (depth > CHAIN_MAX_DEPTH) {
		snprintf(c->why, sizeof(c->why), "the auth chain is too deep");
		return -1;
	}
	json_object_set_new(c->done, event_id, json_true());
	json_array_foreach(json_object_get(pdu, "auth_events"), i, ref)
		if (ref_id(ref) != NULL && chain_store(c, ref_id(ref), depth + 1) == -1)
			return -1;
	type = mjson_str(pdu, "type");
	sk = mjson_str(pdu, "state_key");
	c->r.flags = MROOM_RECV_OUTLIER;
	if (type != NULL && sk != NULL && strcmp(type, "m.room.create") == 0 && *sk == '\0')
		c->r.flags |= MROOM_RECV_NEW_ROOM;
	c->r.state = NULL;
	e = mroom_receive(c->ctx, c->origin, pdu, &c->r);
	mroom_recv_fini(&c->r);
	/*
	 * As Synapse: an event of the answer its servers did not sign is
	 * left out (nothing of it was stored), not the whole join.
	 */
	if (e == MROOM_BAD_SIGNATURE && !(c->r.flags & MROOM_RECV_NEW_ROOM)) {
		mlog_warn(NULL, "federation: %s of the send_join answer dropped: %s", event_id,
		    c->ctx->why);
		json_object_set_new(c->bad, event_id, json_true());
		return 0;
	}
	if (e != MROOM_OK) {
		snprintf(c->why, sizeof(c->why), "event %.80s of the room's state: %.150s (%d)",
		    event_id, c->ctx->why, (int)e);
		return -1;
	}
	return 0;
}

/* Adds each PDU of list to c->byid under its ID by c->ver.  0 or -1. */
static int
chain_index(struct chain *c, const json_t *list)
{
	const json_t	*ev;
	char		*id;
	size_t		 i;

	json_array_foreach(list, i, ev) {
		if (!json_is_object(ev) || (id = mevent_id(ev, c->ver)) == NULL)
			return -1;
		json_object_set(c->byid, id, (json_t *)ev);
		free(id);
	}
	return 0;
}

/*
 * Stores a send_join answer's auth chain and state (as outliers) and
 * then the join, with the state before it as the answer gave it.  Inside
 * the caller's transaction.  0, or -1 with m's error.
 */
static int
join_store(struct mroom_ctx *ctx, struct keyarg *k, struct mfed_member *m, const char *origin,
    const struct mroomver *ver, const json_t *ev, const char *event_id, const json_t *answer)
{
	struct chain	 c;
	const json_t	*state = json_object_get(answer, "state");
	const json_t	*achain = json_object_get(answer, "auth_chain"), *s;
	const char	*key;
	json_t		*v, *smap = NULL;
	enum mroom_err	 e;
	size_t		 i;
	int		 rc = -1;

	memset(&c, 0, sizeof(c));
	c.ctx = ctx;
	c.origin = origin;
	c.ver = ver;
	c.r.key = keyring;
	c.r.key_arg = k;
	if (!json_is_array(state) || !json_is_array(achain)) {
		fail(m, 502, "M_UNKNOWN", "send_join answer of %s lacks state or auth_chain", origin);
		return -1;
	}
	if ((c.byid = json_object()) == NULL || (c.done = json_object()) == NULL ||
	    (c.bad = json_object()) == NULL ||
	    (smap = json_object()) == NULL)
		goto oom;
	if (chain_index(&c, achain) == -1 || chain_index(&c, state) == -1) {
		fail(m, 502, "M_UNKNOWN", "send_join answer of %s has an invalid event", origin);
		goto out;
	}
	/* The create event first, then everything else after its auth events. */
	json_object_foreach(c.byid, key, v) {
		if (strcmp(mjson_str(v, "type") != NULL ? mjson_str(v, "type") : "",
		    "m.room.create") == 0 && chain_store(&c, key, 0) == -1)
			goto bad;
	}
	json_object_foreach(c.byid, key, v)
		if (chain_store(&c, key, 0) == -1)
			goto bad;
	json_array_foreach(state, i, s) {
		char	*sk, *id;

		if (mjson_str(s, "type") == NULL || mjson_str(s, "state_key") == NULL)
			continue;
		if ((sk = mstate_key_join(mjson_str(s, "type"), mjson_str(s, "state_key"))) ==
		    NULL || (id = mevent_id(s, ver)) == NULL) {
			free(sk);
			goto oom;
		}
		if (json_object_get(c.bad, id) == NULL)
			json_object_set_new(smap, sk, json_string(id));
		free(sk);
		free(id);
	}
	c.r.flags = 0;
	c.r.state = smap;
	e = mroom_receive(ctx, origin, ev, &c.r);
	if (e != MROOM_OK) {
		snprintf(c.why, sizeof(c.why), "the join: %.200s (%d)", ctx->why, (int)e);
		goto bad;
	}
	if (c.r.fate != MROOM_FATE_ACCEPTED && c.r.fate != MROOM_FATE_KNOWN) {
		snprintf(c.why, sizeof(c.why), "the join was not accepted: %.200s", ctx->why);
		goto bad;
	}
	(void)event_id;
	rc = 0;
	goto out;
bad:
	mlog_warn(NULL, "federation: join of %s through %s: %s", m->room_id, origin, c.why);
	fail(m, 502, "M_UNKNOWN", "The room's state from the resident server did not check: %s",
	    c.why);
	goto out;
oom:
	fail(m, 500, "M_UNKNOWN", "out of memory");
out:
	mroom_recv_fini(&c.r);
	json_decref(smap);
	json_decref(c.byid);
	json_decref(c.done);
	json_decref(c.bad);
	return rc;
}

/*
 * Fills the template of make_join / make_leave (answer) as ours: origin,
 * timestamp, the content given, signed.  New reference with *ver, or
 * NULL with m's error.
 */
static json_t *
fill_template(const struct mconfig *conf, const struct mkey *key, struct mfed_member *m,
    const json_t *answer, const char *server, const struct mroomver **ver)
{
	const char	*rv = mjson_str(answer, "room_version");
	const json_t	*tmpl = json_object_get(answer, "event");
	json_t		*ev, *content;

	if (rv == NULL)
		rv = "1";	/* spec: absent means version 1 */
	if ((*ver = mroomver_get(rv)) == NULL) {
		fail(m, 400, "M_INCOMPATIBLE_ROOM_VERSION", "Room version %s is not supported here",
		    rv);
		return NULL;
	}
	if (!json_is_object(tmpl) || !json_is_object(json_object_get(tmpl, "content"))) {
		fail(m, 502, "M_UNKNOWN", "Invalid make_%s answer", m->membership);
		return NULL;
	}
	if ((ev = json_deep_copy(tmpl)) == NULL ||
	    (content = json_deep_copy(m->content)) == NULL) {
		json_decref(ev);
		fail(m, 500, "M_UNKNOWN", "out of memory");
		return NULL;
	}
	/* The resident's voucher of a restricted join is the template's to give. */
	if (json_object_get(json_object_get(tmpl, "content"),
	    "join_authorised_via_users_server") != NULL)
		json_object_set(content, "join_authorised_via_users_server",
		    json_object_get(json_object_get(tmpl, "content"),
		    "join_authorised_via_users_server"));
	json_object_set_new(content, "membership", json_string(m->membership));
	json_object_set_new(ev, "content", content);
	json_object_set_new(ev, "origin", json_string(conf->server_name));
	json_object_set_new(ev, "origin_server_ts", json_integer(mclock_now_ms()));
	json_object_set_new(ev, "sender", json_string(m->user_id));
	json_object_set_new(ev, "state_key", json_string(m->user_id));
	json_object_set_new(ev, "type", json_string("m.room.member"));
	json_object_del(ev, "signatures");
	json_object_del(ev, "hashes");
	json_object_del(ev, "unsigned");
	if ((*ver)->evid == MEVID_V1) {
		char *r = mcrypto_random_string(18), *id = NULL;

		if (r == NULL || asprintf(&id, "$%s:%s", r, conf->server_name) == -1)
			id = NULL;
		free(r);
		json_object_set_new(ev, "event_id", id != NULL ? json_string(id) : json_null());
		free(id);
	} else
		json_object_del(ev, "event_id");
	if (mjson_str(ev, "room_id") == NULL || strcmp(mjson_str(ev, "room_id"),
	    m->room_id) != 0) {
		json_decref(ev);
		fail(m, 502, "M_UNKNOWN", "make_%s answer of another room", m->membership);
		return NULL;
	}
	if (mevent_sign(ev, *ver, conf->server_name, key) == -1) {
		json_decref(ev);
		fail(m, 500, "M_UNKNOWN", "cannot sign the event");
		return NULL;
	}
	(void)server;
	return ev;
}

/*
 * A send_knock answer's stripped state: the spec's knock_room_state, or
 * knock_state_events, the name Synapse 1.67 answers with.
 */
static const json_t *
knock_state(const json_t *reply)
{
	const json_t *st = json_object_get(reply, "knock_room_state");

	return json_is_array(st) ? st : json_object_get(reply, "knock_state_events");
}

/* 1 when an answer says the endpoint is not served (an older server). */
static int
unrecognized(long status, const json_t *reply)
{
	const char *code = mjson_str(reply, "errcode");

	return (status == 404 || status == 400 || status == 405) &&
	    (code == NULL || strcmp(code, "M_UNRECOGNIZED") == 0);
}

/*
 * One attempt through server: 1 done, 0 try the next server (no answer,
 * a 404 or a server error), -1 finished with m's error.
 */
static int
member_via(struct mdb *db, const struct mconfig *conf, const struct mkey *key,
    struct mfed_member *m, const char *server)
{
	struct keyarg		 k = { db, conf, key };
	struct mroom_ctx	 ctx;
	const struct mroomver	*ver;
	json_t			*reply = NULL, *ev = NULL, *sent, *all = NULL;
	char			*room = NULL, *user = NULL, *vq = NULL, *path = NULL, *eid = NULL;
	char			*eide = NULL;
	long			 status;
	int			 join = strcmp(m->membership, "join") == 0, rc = 0;
	int			 knock = strcmp(m->membership, "knock") == 0;

	if ((room = mfed_escape(m->room_id)) == NULL || (user = mfed_escape(m->user_id)) ==
	    NULL || (vq = join || knock ? versions_query() : strdup("")) == NULL ||
	    asprintf(&path, "/_matrix/federation/v1/make_%s/%s/%s%s", m->membership, room, user,
	    vq) == -1) {
		path = NULL;
		fail(m, 500, "M_UNKNOWN", "out of memory");
		rc = -1;
		goto out;
	}
	if (mfed_request(conf, key, server, "GET", path, NULL, &status, &reply) == -1 ||
	    status == 404 || status >= 500 || status == 401)
		goto out;
	if (status != 200) {
		fail_remote(m, status, reply, server);
		rc = -1;
		goto out;
	}
	if ((ev = fill_template(conf, key, m, reply, server, &ver)) == NULL) {
		rc = -1;
		goto out;
	}
	json_decref(reply);
	reply = NULL;
	if ((eid = mevent_id(ev, ver)) == NULL || (eide = mfed_escape(eid)) == NULL) {
		fail(m, 500, "M_UNKNOWN", "out of memory");
		rc = -1;
		goto out;
	}
	free(path);
	/* Spec: send_knock has only v1 (answered without the [200, ...] of the others). */
	if (asprintf(&path, "/_matrix/federation/%s/send_%s/%s/%s", knock ? "v1" : "v2",
	    m->membership, room, eide) == -1) {
		path = NULL;
		fail(m, 500, "M_UNKNOWN", "out of memory");
		rc = -1;
		goto out;
	}
	if (mfed_request(conf, key, server, "PUT", path, ev, &status, &reply) == 0 &&
	    !knock && unrecognized(status, reply)) {
		/* Spec: a server without v2 answers v1, [200, answer] (mfed_request unwraps). */
		json_decref(reply);
		reply = NULL;
		memcpy(strstr(path, "/v2/"), "/v1/", 4);
		(void)mfed_request(conf, key, server, "PUT", path, ev, &status, &reply);
	}
	if (reply == NULL && status == 200)
		status = 502;
	if (status == 0 || status == 404 || status >= 500 || status == 401)
		goto out;
	if (status != 200) {
		fail_remote(m, status, reply, server);
		rc = -1;
		goto out;
	}
	/* A restricted join comes back with the resident's signature added. */
	sent = ev;
	if (join && json_is_object(json_object_get(reply, "event"))) {
		char *id2 = mevent_id(json_object_get(reply, "event"), ver);

		if (id2 != NULL && strcmp(id2, eid) == 0)
			sent = json_object_get(reply, "event");
		free(id2);
	}
	if ((all = json_array()) == NULL) {
		fail(m, 500, "M_UNKNOWN", "out of memory");
		rc = -1;
		goto out;
	}
	json_array_append(all, sent);
	if (join) {
		json_array_extend(all, json_object_get(reply, "auth_chain"));
		json_array_extend(all, json_object_get(reply, "state"));
	}
	prefetch_keys(&k, all);
	memset(&ctx, 0, sizeof(ctx));
	ctx.db = db;
	ctx.server_name = conf->server_name;
	ctx.key = key;
	if (mdb_begin(db) == -1) {
		fail(m, 500, "M_UNKNOWN", "cannot begin");
		rc = -1;
		goto out;
	}
	if (join)
		rc = join_store(&ctx, &k, m, server, ver, sent, eid, reply);
	else {
		struct mroom_recv	 r;
		json_t			*smap = mstore_cstate_map(db, m->room_id);
		char			*ck = mstate_key_join("m.room.create", ""), *oid = NULL;
		enum mroom_err		 e;

		/*
		 * The leave is the resident's now; here it lands on the
		 * state we know (a room we never had keeps no record).
		 */
		memset(&r, 0, sizeof(r));
		r.key = keyring;
		r.key_arg = &k;
		r.state = smap;
		rc = 0;
		/*
		 * A room whose DAG is not here (an invite over /invite, a
		 * knock on a room unknown here): out of band, a knock with
		 * the stripped state the resident gave for /sync.
		 */
		if (smap != NULL && ck != NULL && ((knock && json_object_get(smap, ck) == NULL) ||
		    (json_object_size(smap) > 0 && json_object_get(smap, ck) == NULL))) {
			if ((e = mroom_oob_member(&ctx, m->room_id, m->user_id, sent, ver->id,
			    &oid)) != MROOM_OK) {
				mlog_warn(NULL, "federation: %s of %s through %s stored nowhere:"
				    " %s (%d)", m->membership, m->room_id, server, ctx.why, (int)e);
				rc = -1;
			} else if (knock && json_is_array(knock_state(reply)) &&
			    mstore_invite_state_put(db, oid, m->room_id, knock_state(reply)) == -1)
				rc = -1;
			free(oid);
		} else if (smap != NULL && json_object_size(smap) > 0 &&
		    (e = mroom_receive(&ctx, server, sent, &r)) != MROOM_OK) {
			mlog_warn(NULL, "federation: leave of %s through %s stored nowhere: %s (%d)",
			    m->room_id, server, ctx.why, (int)e);
			mdb_rollback(db);
			if (mdb_begin(db) == -1)
				rc = -1;
		}
		mroom_recv_fini(&r);
		json_decref(smap);
		free(ck);
		if (rc == -1)
			fail(m, 500, "M_UNKNOWN", "cannot store the leave");
	}
	if (rc == 0 && mdb_commit(db) == -1) {
		fail(m, 500, "M_UNKNOWN", "commit failed");
		rc = -1;
	} else if (rc == -1)
		mdb_rollback(db);
	if (rc == 0) {
		rc = 1;
		m->event_id = eid;
		eid = NULL;
	}
out:
	json_decref(all);
	json_decref(reply);
	json_decref(ev);
	free(room);
	free(user);
	free(vq);
	free(path);
	free(eid);
	free(eide);
	return rc;
}

int
mfed_member(struct mdb *db, const struct mconfig *conf, const struct mkey *key,
    struct mfed_member *m)
{
	const json_t	*v;
	size_t		 i;
	int		 rc;

	m->event_id = NULL;
	m->status = 0;
	m->errcode[0] = m->error[0] = m->room_version[0] = '\0';
	json_array_foreach(m->servers, i, v) {
		const char *s = json_string_value(v);

		if (s == NULL || strcmp(s, conf->server_name) == 0)
			continue;
		if ((rc = member_via(db, conf, key, m, s)) == 1)
			return 0;
		if (rc == -1)
			return -1;
	}
	if (m->status == 0)
		fail(m, 404, "M_NOT_FOUND", "No known servers");
	return -1;
}

void
mfed_member_fini(struct mfed_member *m)
{
	free(m->event_id);
	m->event_id = NULL;
}

enum mroom_err
mfed_receive_invite(struct mdb *db, const struct mconfig *conf, const struct mkey *key,
    const char *origin, const json_t *pdu, const char *room_version, const json_t *irs,
    enum mroom_fate *fate, char *why, size_t whysz)
{
	struct keyarg		 k = { db, conf, key };
	struct mroom_ctx	 ctx;
	struct mroom_recv	 r;
	const char		*room_id = mjson_str(pdu, "room_id");
	json_t			*create, *list;
	enum mroom_err		 e;
	int			 err = 0;

	*fate = MROOM_FATE_KNOWN;
	why[0] = '\0';
	if (room_id == NULL) {
		snprintf(why, whysz, "Invalid PDU: room_id");
		return MROOM_BAD_EVENT;
	}
	/* A room whose DAG is here takes the invite as any PDU. */
	if ((create = mstore_cstate_event(db, room_id, "m.room.create", "", &err)) != NULL) {
		json_decref(create);
		return mfed_receive_event(db, conf, origin, pdu, fate, why, whysz);
	}
	if (err) {
		snprintf(why, whysz, "store failed");
		return MROOM_ERROR;
	}
	if ((list = json_pack("[O]", pdu)) != NULL)
		prefetch_keys(&k, list);
	json_decref(list);
	memset(&ctx, 0, sizeof(ctx));
	memset(&r, 0, sizeof(r));
	ctx.db = db;
	ctx.server_name = conf->server_name;
	ctx.key = key;
	r.key = keyring;
	r.key_arg = &k;
	if (mdb_begin(db) == -1) {
		snprintf(why, whysz, "cannot begin");
		return MROOM_ERROR;
	}
	e = mroom_receive_invite(&ctx, origin, pdu, room_version, &r);
	snprintf(why, whysz, "%s", ctx.why);
	if (e == MROOM_OK && r.fate != MROOM_FATE_KNOWN && json_is_array(irs) &&
	    mstore_invite_state_put(db, r.event_id, room_id, irs) == -1) {
		snprintf(why, whysz, "store failed");
		e = MROOM_ERROR;
	}
	if (e == MROOM_OK && mdb_commit(db) == -1) {
		snprintf(why, whysz, "commit failed");
		e = MROOM_ERROR;
	} else if (e != MROOM_OK)
		mdb_rollback(db);
	*fate = r.fate;
	mroom_recv_fini(&r);
	return e;
}

/*
 * The stripped state an invitee's server is given (invite_room_state:
 * Synapse's default room_prejoin_state types) and the inviter's member
 * event.  A new array, or NULL.
 */
static json_t *
prejoin_state(struct mdb *db, const char *room_id, const char *inviter)
{
	static const char *const types[] = { "m.room.create", "m.room.join_rules",
	    "m.room.canonical_alias", "m.room.avatar", "m.room.encryption", "m.room.name",
	    "m.room.topic", "m.room.member" };
	json_t	*out, *ev;
	size_t	 i, n = sizeof(types) / sizeof(types[0]);
	int	 err = 0;

	if ((out = json_array()) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		ev = mstore_cstate_event(db, room_id, types[i], i == n - 1 ? inviter : "", &err);
		if (err) {
			json_decref(out);
			return NULL;
		}
		if (ev == NULL)
			continue;
		json_array_append_new(out, json_pack("{s:O*,s:O*,s:O*,s:O*}", "type",
		    json_object_get(ev, "type"), "state_key", json_object_get(ev, "state_key"),
		    "content", json_object_get(ev, "content"), "sender",
		    json_object_get(ev, "sender")));
		json_decref(ev);
	}
	return out;
}

int
mfed_invite_send(struct mdb *db, const struct mconfig *conf, const struct mkey *key,
    const char *event_id)
{
	struct mevrow		 row;
	struct mroom		 room;
	const struct mroomver	*ver;
	const json_t		*got, *sig;
	json_t			*body = NULL, *reply = NULL, *irs = NULL, *ev = NULL;
	const char		*server;
	char			*re = NULL, *ee = NULL, *path = NULL, *js, *id;
	long			 status;
	int			 rc = -1;

	memset(&row, 0, sizeof(row));
	memset(&room, 0, sizeof(room));
	if (mstore_event_get(db, event_id, &row) != 1 ||
	    mstore_room_get(db, row.room_id, &room) != 1 ||
	    (ver = mroomver_get(room.version)) == NULL || row.state_key == NULL ||
	    (server = strchr(row.state_key, ':')) == NULL)
		goto out;
	server++;
	if ((irs = prejoin_state(db, row.room_id, row.sender)) == NULL ||
	    (body = json_pack("{s:O,s:s,s:O}", "event", row.json, "room_version", room.version,
	    "invite_room_state", irs)) == NULL || (re = mfed_escape(row.room_id)) == NULL ||
	    (ee = mfed_escape(event_id)) == NULL ||
	    asprintf(&path, "/_matrix/federation/v2/invite/%s/%s", re, ee) == -1) {
		path = NULL;
		goto out;
	}
	if (mfed_request(conf, key, server, "PUT", path, body, &status, &reply) == 0 &&
	    unrecognized(status, reply)) {
		json_decref(reply);
		reply = NULL;
		memcpy(strstr(path, "/v2/"), "/v1/", 4);
		(void)mfed_request(conf, key, server, "PUT", path, row.json, &status, &reply);
	}
	got = json_object_get(reply, "event");
	if (status != 200 || !json_is_object(got) || (js = mjson_canonical(got, NULL)) == NULL) {
		mlog_warn(NULL, "federation: invite %s not taken by %s (%ld)", event_id, server,
		    status);
		goto out;
	}
	free(js);
	/* As invite_remote (handlers/client): the invitee server's signature kept. */
	if ((id = mevent_id(got, ver)) != NULL && strcmp(id, event_id) == 0 &&
	    json_is_object(sig = json_object_get(json_object_get(got, "signatures"), server)) &&
	    (ev = json_deep_copy(row.json)) != NULL) {
		if (!json_is_object(json_object_get(ev, "signatures")))
			json_object_set_new(ev, "signatures", json_object());
		json_object_set(json_object_get(ev, "signatures"), server, (json_t *)sig);
		if (mdb_begin(db) == 0) {
			if (mstore_event_json_set(db, event_id, ev) == -1 || mdb_commit(db) == -1)
				mdb_rollback(db);
		}
	}
	free(id);
	rc = 0;
out:
	mevrow_fini(&row);
	mroom_fini(&room);
	json_decref(body);
	json_decref(reply);
	json_decref(irs);
	json_decref(ev);
	free(re);
	free(ee);
	free(path);
	return rc;
}
