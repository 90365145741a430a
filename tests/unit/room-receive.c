/*
 * Events received from another server (lib/room/receive.c): a fake
 * remote server, "remote", signs PDUs for a room made here, and
 * mroom_receive takes them through the spec's checks on receipt of a
 * PDU into the same write path local events take.
 *
 * SQLite runs on a file in a fresh temporary directory; PostgreSQL too
 * when MYELIN_TEST_PG holds a libpq conninfo (a throwaway cluster).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "log/log.h"
#include "room/room.h"
#include "store/store.h"
#include "testlib.h"

#define ALICE		"@alice:test"
#define BOB		"@bob:remote"
#define EVE		"@eve:remote"
#define REMOTE		"remote"

/* The keyring of the test: this server's key and the remote's. */
struct ring {
	const struct mkey	*local, *remote;
};

static int
ring_get(void *arg, const char *server, const char *key_id, int64_t ts, unsigned char pk[32])
{
	const struct ring	*r = arg;
	const struct mkey	*k;

	(void)ts;
	k = strcmp(server, REMOTE) == 0 ? r->remote : strcmp(server, "test") == 0 ?
	    r->local : NULL;
	if (k == NULL || strcmp(k->id, key_id) != 0)
		return -1;
	memcpy(pk, k->pk, 32);
	return 0;
}

struct world {
	struct mroom_ctx	 ctx;
	struct ring		 ring;
	struct mkey		*forger;	/* a key that is not the remote's */
	const struct mroomver	*ver;
	char			*room;
};

/* The ID of the current state event (type, sk), malloc'd, or NULL. */
static char *
cur_id(struct world *w, const char *type, const char *sk)
{
	json_t	*ev;
	char	*id = NULL;
	int	 err;

	if ((ev = mstore_cstate_event(w->ctx.db, w->room, type, sk, &err)) == NULL)
		return NULL;
	if (mjson_str(ev, "event_id") != NULL)
		id = strdup(mjson_str(ev, "event_id"));
	json_decref(ev);
	return id;
}

/* A JSON array of the current IDs of these state keys (pairs, NULL ended). */
static json_t *
auth_of(struct world *w, ...)
{
	va_list		 ap;
	const char	*t, *sk;
	json_t		*a = json_array();
	char		*id;

	va_start(ap, w);
	while ((t = va_arg(ap, const char *)) != NULL) {
		sk = va_arg(ap, const char *);
		/* Spec: room version 12: the room ID names the create event. */
		if (strcmp(t, "m.room.create") == 0 && w->ver->create_room_id)
			continue;
		if ((id = cur_id(w, t, sk)) == NULL) {
			FAIL("no current %s/%s", t, sk);
			continue;
		}
		json_array_append_new(a, json_string(id));
		free(id);
	}
	va_end(ap);
	return a;
}

/*
 * A PDU of the remote server, signed by key (the remote's, or the
 * forger's): content, prev and auth are taken (stolen references).
 */
/*
 * Room versions 1 and 2 name events by [event_id, {"sha256": hash}]:
 * ids (a JSON array of IDs, taken) made so, from the stored events.
 */
static json_t *
v1_refs(struct world *w, json_t *ids)
{
	struct mevrow	 row;
	json_t		*out = json_array(), *id;
	size_t		 i;

	json_array_foreach(ids, i, id) {
		if (mstore_event_get(w->ctx.db, json_string_value(id), &row) != 1) {
			json_array_append_new(out, json_pack("[O,{s:s}]", id, "sha256", "x"));
			continue;
		}
		json_array_append_new(out, json_pack("[O,O]", id, json_object_get(row.json,
		    "hashes")));
		mevrow_fini(&row);
	}
	json_decref(ids);
	return out;
}

static json_t *
pdu(struct world *w, const struct mkey *key, const char *sender, const char *type,
    const char *sk, json_t *content, json_t *prev, json_t *auth, int64_t depth, int64_t ts)
{
	static int	 n;
	char		 eid[64];
	json_t		*ev;

	if (w->ver->evid == MEVID_V1) {
		prev = v1_refs(w, prev);
		auth = v1_refs(w, auth);
	}

	ev = json_pack("{s:s,s:s,s:o,s:o,s:o,s:I,s:I,s:s}",
	    "sender", sender, "type", type, "content", content, "prev_events", prev,
	    "auth_events", auth, "depth", (json_int_t)depth, "origin_server_ts",
	    (json_int_t)ts, "origin", REMOTE);
	if (ev == NULL) {
		fprintf(stderr, "FAIL: pdu not built\n");
		exit(1);
	}
	/* A version 12 create event has none: its ID names the room. */
	if (w->room != NULL)
		json_object_set_new(ev, "room_id", json_string(w->room));
	if (sk != NULL)
		json_object_set_new(ev, "state_key", json_string(sk));
	if (w->ver->evid == MEVID_V1) {
		snprintf(eid, sizeof(eid), "$ev%d:%s", ++n, REMOTE);
		json_object_set_new(ev, "event_id", json_string(eid));
	}
	if (mevent_sign(ev, w->ver, REMOTE, key) == -1) {
		fprintf(stderr, "FAIL: pdu not signed\n");
		exit(1);
	}
	return ev;
}

/* mroom_receive in its own transaction (committed unless it failed); r filled. */
static enum mroom_err
receive(struct world *w, const json_t *ev, int flags, struct mroom_recv *r)
{
	enum mroom_err	rc;

	memset(r, 0, sizeof(*r));
	r->key = ring_get;
	r->key_arg = &w->ring;
	r->flags = flags;
	if (mdb_begin(w->ctx.db) == -1)
		return MROOM_ERROR;
	rc = mroom_receive(&w->ctx, REMOTE, ev, r);
	if (rc == MROOM_OK) {
		if (mdb_commit(w->ctx.db) == -1)
			return MROOM_ERROR;
	} else
		mdb_rollback(w->ctx.db);
	return rc;
}

/* Receives ev, which must end with fate; its ID (malloc'd) or NULL. */
static char *
expect(struct world *w, json_t *ev, int flags, enum mroom_fate fate, const char *what)
{
	struct mroom_recv	 r;
	enum mroom_err		 rc;
	char			*id;

	rc = receive(w, ev, flags, &r);
	json_decref(ev);
	if (rc != MROOM_OK || r.fate != fate) {
		FAIL("%s: rc %d fate %d, wanted fate %d (%s)", what, (int)rc, (int)r.fate,
		    (int)fate, w->ctx.why);
		mroom_recv_fini(&r);
		return NULL;
	}
	id = r.event_id;
	r.event_id = NULL;
	mroom_recv_fini(&r);
	return id;
}

/* Sends a local event as ALICE in its own transaction; its ID (malloc'd). */
static char *
send_local(struct world *w, const char *type, const char *sk, json_t *content)
{
	enum mroom_err	 rc;
	char		*id = NULL;

	if (mdb_begin(w->ctx.db) == -1)
		return NULL;
	rc = mroom_send(&w->ctx, w->room, ALICE, type, sk, content, NULL, NULL, &id);
	json_decref(content);
	if (rc != MROOM_OK) {
		mdb_rollback(w->ctx.db);
		FAIL("local %s: %d (%s)", type, (int)rc, w->ctx.why);
		return NULL;
	}
	if (mdb_commit(w->ctx.db) == -1) {
		free(id);
		return NULL;
	}
	return id;
}

/* A message in a second room of ALICE's: its ID (malloc'd), or NULL. */
static char *
send_other_room(struct world *w)
{
	json_t		*msg = json_pack("{s:s,s:s}", "msgtype", "m.text", "body", "elsewhere");
	json_t		*initial = json_pack("[{s:s,s:s,s:{s:s}}]", "type", "m.room.member",
			    "state_key", ALICE, "content", "membership", "join");
	char		*room = NULL, *id = NULL;
	enum mroom_err	 rc = MROOM_ERROR;

	if (msg == NULL || initial == NULL || mdb_begin(w->ctx.db) == -1) {
		json_decref(msg);
		json_decref(initial);
		return NULL;
	}
	if ((rc = mroom_create(&w->ctx, w->ver, ALICE, NULL, initial, &room)) != MROOM_OK ||
	    (rc = mroom_send(&w->ctx, room, ALICE, "m.room.message", NULL, msg, NULL, NULL,
	    &id)) != MROOM_OK) {
		FAIL("other room: %d (%s)", (int)rc, w->ctx.why);
		mdb_rollback(w->ctx.db);
		free(id);
		id = NULL;
	} else if (mdb_commit(w->ctx.db) == -1) {
		free(id);
		id = NULL;
	}
	json_decref(msg);
	json_decref(initial);
	free(room);
	return id;
}

/* The room's forward extremities: a JSON array of IDs. */
static json_t *
extremities(struct world *w)
{
	int64_t depth;

	return mstore_fwd_list(w->ctx.db, w->room, &depth);
}

/* 1 when a client paging the room back from the start sees event id. */
static int
in_timeline(struct world *w, const char *id)
{
	struct mevrow	*rows = NULL;
	size_t		 n = 0, i;
	int		 seen = 0;

	if (mstore_events_page(w->ctx.db, w->room, 1, INT64_MAX, INT64_MIN, 1000, &rows,
	    &n) == -1) {
		FAIL("page not read");
		return 0;
	}
	for (i = 0; i < n; i++)
		if (strcmp(rows[i].event_id, id) == 0)
			seen = 1;
	mevrow_list_free(rows, n);
	return seen;
}

/* 1 when cur_id(type, sk) is id. */
static int
is_current(struct world *w, const char *type, const char *sk, const char *id)
{
	char	*c = cur_id(w, type, sk);
	int	 same = c != NULL && id != NULL && strcmp(c, id) == 0;

	free(c);
	return same;
}

/* A room on this server in which BOB may set state (power 50, the state default). */
static int
make_room(struct world *w)
{
	json_t		*initial;
	enum mroom_err	 rc;

	/* Spec: room version 12: creators are above power levels, and not in them. */
	initial = json_pack("[{s:s,s:s,s:{s:s}},{s:s,s:s,s:{s:{s:i}}},{s:s,s:s,s:{s:s}}]",
	    "type", "m.room.member", "state_key", ALICE, "content", "membership", "join",
	    "type", "m.room.power_levels", "state_key", "", "content", "users", BOB, 50,
	    "type", "m.room.join_rules", "state_key", "", "content", "join_rule", "public");
	if (initial != NULL && !w->ver->create_room_id)
		json_object_set_new(json_object_get(json_object_get(json_array_get(initial, 1),
		    "content"), "users"), ALICE, json_integer(100));
	if (initial == NULL || mdb_begin(w->ctx.db) == -1) {
		json_decref(initial);
		return -1;
	}
	rc = mroom_create(&w->ctx, w->ver, ALICE, NULL, initial, &w->room);
	json_decref(initial);
	if (rc != MROOM_OK) {
		mdb_rollback(w->ctx.db);
		FAIL("create: %d (%s)", (int)rc, w->ctx.why);
		return -1;
	}
	return mdb_commit(w->ctx.db);
}

/* The only extremity's ID as a one-element prev_events array. */
static json_t *
tip(struct world *w)
{
	json_t *x = extremities(w);

	if (json_array_size(x) != 1)
		FAIL("%zu extremities, wanted one", json_array_size(x));
	return x;
}

/* The index of event id in rows (n of them), or n. */
static size_t
index_of(const struct mevrow *rows, size_t n, const char *id)
{
	size_t i;

	for (i = 0; id != NULL && i < n; i++)
		if (strcmp(rows[i].event_id, id) == 0)
			break;
	return i;
}

/*
 * Topological pages: the backfilled event hist (depth 11, a position
 * below 0) comes between the fork's topic (depth 11, live) and the join
 * (depth 10) it was built on, where stream order puts it last; forwards
 * the reverse; and a page bounded at the join's place stops there.
 */
static void
topo_check(struct world *w, const char *hist, const char *join, const char *topic)
{
	struct mtopo	 hi = { INT64_MAX, INT64_MAX }, lo = { INT64_MIN, INT64_MIN }, at;
	struct mevrow	*rows = NULL, *fwd = NULL;
	size_t		 n = 0, nf = 0, h, j, t, i;
	struct mevrow	 row;

	if (mstore_events_topo_page(w->ctx.db, w->room, 1, &hi, &lo, 1000, &rows, &n) == -1 ||
	    mstore_events_topo_page(w->ctx.db, w->room, 0, &lo, &hi, 1000, &fwd, &nf) == -1) {
		FAIL("topological pages not read");
		goto out;
	}
	h = index_of(rows, n, hist);
	j = index_of(rows, n, join);
	t = index_of(rows, n, topic);
	CHECK(h < n && j < n && t < n && t < h && h < j);
	for (i = 1; i < n; i++)
		CHECK(rows[i - 1].depth >= rows[i].depth);
	CHECK(nf == n);
	h = index_of(fwd, nf, hist);
	j = index_of(fwd, nf, join);
	CHECK(h < nf && j < nf && j < h);
	mevrow_list_free(rows, n);
	rows = NULL;
	n = 0;
	/* Back from the top to the join's place, the join left out. */
	if (join != NULL && mstore_event_get(w->ctx.db, join, &row) == 1) {
		at.depth = row.depth;
		at.stream = row.stream;
		mevrow_fini(&row);
		if (mstore_events_topo_page(w->ctx.db, w->room, 1, &hi, &at, 1000, &rows,
		    &n) == 0) {
			CHECK(index_of(rows, n, join) == n && index_of(rows, n, hist) < n);
			for (i = 0; i < n; i++)
				CHECK(rows[i].depth >= at.depth);
		}
	}
	/* A stream position's place: the last event at or before it. */
	CHECK(mstore_topo_at(w->ctx.db, w->room, INT64_MAX - 1, &at) == 1 && at.depth > 11);
out:
	mevrow_list_free(rows, n);
	mevrow_list_free(fwd, nf);
}

static void
checks(struct world *w)
{
	struct mroom_recv	 r;
	struct mevrow		 row;
	json_t			*x, *ev, *big;
	char			*join = NULL, *t1 = NULL, *t2 = NULL, *merge = NULL;
	char			*msg = NULL, *ban = NULL, *soft = NULL, *rej = NULL;
	char			*hist = NULL, *out = NULL, *id, *t3 = NULL, *late = NULL;
	int64_t			 low;

	/* A remote join, on the room's one extremity: accepted, current. */
	join = expect(w, pdu(w, w->ring.remote, BOB, "m.room.member", BOB, member("join"),
	    tip(w), auth_of(w, "m.room.create", "", "m.room.power_levels", "",
	    "m.room.join_rules", "", NULL), 10, 1000), 0, MROOM_FATE_ACCEPTED, "join");
	CHECK(is_current(w, "m.room.member", BOB, join));
	CHECK(in_timeline(w, join));
	/* The same PDU again changes nothing. */
	x = tip(w);
	CHECK(json_array_size(x) == 1 && join != NULL &&
	    strcmp(json_string_value(json_array_get(x, 0)), join) == 0);
	json_decref(x);

	/*
	 * A fork: two topics on the join, the later (by origin_server_ts)
	 * first.  Spec: state resolution v2, both topics on one mainline
	 * position: ordered by origin_server_ts, the later applied last,
	 * so it stands whichever arrived first; a plain overwrite would
	 * leave the second to arrive.
	 */
	t2 = expect(w, pdu(w, w->ring.remote, BOB, "m.room.topic", "",
	    json_pack("{s:s}", "topic", "later"), json_pack("[s]", join),
	    auth_of(w, "m.room.create", "", "m.room.power_levels", "", "m.room.member", BOB,
	    NULL), 11, 3000), 0, MROOM_FATE_ACCEPTED, "topic 2");
	t1 = expect(w, pdu(w, w->ring.remote, BOB, "m.room.topic", "",
	    json_pack("{s:s}", "topic", "earlier"), json_pack("[s]", join),
	    auth_of(w, "m.room.create", "", "m.room.power_levels", "", "m.room.member", BOB,
	    NULL), 11, 2000), 0, MROOM_FATE_ACCEPTED, "topic 1");
	/* A third branch, between the two in time: three extremities, the latest stands. */
	t3 = expect(w, pdu(w, w->ring.remote, BOB, "m.room.topic", "",
	    json_pack("{s:s}", "topic", "between"), json_pack("[s]", join),
	    auth_of(w, "m.room.create", "", "m.room.power_levels", "", "m.room.member", BOB,
	    NULL), 11, 2500), 0, MROOM_FATE_ACCEPTED, "topic 3");
	x = extremities(w);
	CHECK(json_array_size(x) == 3);
	json_decref(x);
	CHECK(is_current(w, "m.room.topic", "", t2));
	if (t1 != NULL && mstore_event_get(w->ctx.db, t1, &row) == 1) {
		/* The fork's own state: its topic after it. */
		x = mstore_sgroup_state(w->ctx.db, row.state_after);
		CHECK(x != NULL && mjson_str(x, "m.room.topic\x1f") != NULL &&
		    strcmp(mjson_str(x, "m.room.topic\x1f"), t1) == 0);
		json_decref(x);
		mevrow_fini(&row);
	} else
		FAIL("topic 1 not stored");

	/* A local event merges the fork: both tips its prev_events, one extremity after. */
	merge = send_local(w, "m.room.message", NULL, json_pack("{s:s,s:s}", "msgtype",
	    "m.text", "body", "merge"));
	if (merge != NULL && mstore_event_get(w->ctx.db, merge, &row) == 1) {
		CHECK(json_array_size(json_object_get(row.json, "prev_events")) == 3);
		x = mstore_sgroup_state(w->ctx.db, row.state_before);
		CHECK(x != NULL && mjson_str(x, "m.room.topic\x1f") != NULL && t2 != NULL &&
		    strcmp(mjson_str(x, "m.room.topic\x1f"), t2) == 0);
		json_decref(x);
		mevrow_fini(&row);
	} else
		FAIL("merge not stored");
	json_decref(tip(w));
	CHECK(is_current(w, "m.room.topic", "", t2));

	/* A content hash that does not match: stored redacted, still accepted. */
	ev = pdu(w, w->ring.remote, BOB, "m.room.message", NULL, json_pack("{s:s,s:s}",
	    "msgtype", "m.text", "body", "sent"), tip(w), auth_of(w, "m.room.create", "",
	    "m.room.power_levels", "", "m.room.member", BOB, NULL), 13, 4000);
	json_object_set_new(json_object_get(ev, "content"), "body", json_string("tampered"));
	if (receive(w, ev, 0, &r) != MROOM_OK || r.fate != MROOM_FATE_ACCEPTED || !r.redacted)
		FAIL("bad hash: not accepted redacted (%s)", w->ctx.why);
	else if (mstore_event_get(w->ctx.db, r.event_id, &row) == 1) {
		CHECK(json_object_size(json_object_get(row.json, "content")) == 0);
		mevrow_fini(&row);
	} else
		FAIL("bad hash: not stored");
	msg = r.event_id;
	r.event_id = NULL;
	mroom_recv_fini(&r);
	json_decref(ev);

	/* A signature by another key: dropped, nothing stored. */
	ev = pdu(w, w->forger, BOB, "m.room.message", NULL, json_pack("{s:s,s:s}", "msgtype",
	    "m.text", "body", "forged"), tip(w), auth_of(w, "m.room.create", "",
	    "m.room.power_levels", "", "m.room.member", BOB, NULL), 14, 4100);
	CHECK(receive(w, ev, 0, &r) == MROOM_BAD_SIGNATURE);
	mroom_recv_fini(&r);
	if ((id = mevent_id(ev, w->ver)) != NULL) {
		CHECK(mstore_event_get(w->ctx.db, id, &row) == 0);
		free(id);
	}
	json_decref(ev);
	/* A sender of this server signed by the remote: dropped too. */
	ev = pdu(w, w->ring.remote, ALICE, "m.room.message", NULL, json_pack("{s:s,s:s}",
	    "msgtype", "m.text", "body", "spoof"), tip(w), auth_of(w, "m.room.create", "",
	    "m.room.power_levels", "", "m.room.member", ALICE, NULL), 14, 4150);
	CHECK(receive(w, ev, 0, &r) == MROOM_BAD_SIGNATURE);
	mroom_recv_fini(&r);
	json_decref(ev);
	/*
	 * But an invite made of a third-party invite may be signed by its
	 * invitee's server instead (as Synapse takes it): past the signature
	 * check, here rejected by the auth rules (no such third-party invite).
	 */
	ev = pdu(w, w->ring.remote, ALICE, "m.room.member", "@carol:remote", json_pack(
	    "{s:s,s:{s:s,s:{s:s,s:s,s:{}}}}", "membership", "invite", "third_party_invite",
	    "display_name", "c", "signed", "mxid", "@carol:remote", "token", "t",
	    "signatures"), tip(w), auth_of(w, "m.room.create", "", "m.room.power_levels", "",
	    "m.room.member", ALICE, NULL), 14, 4160);
	if (receive(w, ev, 0, &r) != MROOM_OK || r.fate != MROOM_FATE_REJECTED)
		FAIL("3pid invite signed by the invitee's server: %s", w->ctx.why);
	mroom_recv_fini(&r);
	json_decref(ev);
	ev = pdu(w, w->ring.remote, ALICE, "m.room.member", "@carol:remote", json_pack(
	    "{s:s}", "membership", "invite"), tip(w), auth_of(w, "m.room.create", "",
	    "m.room.power_levels", "", "m.room.member", ALICE, NULL), 14, 4170);
	CHECK(receive(w, ev, 0, &r) == MROOM_BAD_SIGNATURE);
	mroom_recv_fini(&r);
	json_decref(ev);

	/* Over 65536 bytes, a type over 255 bytes: not valid events. */
	if ((big = json_string("")) != NULL) {
		char *s = malloc(70000);

		memset(s, 'a', 69999);
		s[69999] = '\0';
		json_string_set(big, s);
		free(s);
	}
	ev = pdu(w, w->ring.remote, BOB, "m.room.message", NULL, json_pack("{s:s,s:o}",
	    "msgtype", "m.text", "body", big), tip(w), auth_of(w, "m.room.create", "",
	    "m.room.power_levels", "", "m.room.member", BOB, NULL), 14, 4200);
	CHECK(receive(w, ev, 0, &r) == MROOM_BAD_EVENT);
	mroom_recv_fini(&r);
	json_decref(ev);
	{
		char type[300];

		memset(type, 'x', sizeof(type) - 1);
		type[sizeof(type) - 1] = '\0';
		ev = pdu(w, w->ring.remote, BOB, type, NULL, json_object(), tip(w),
		    auth_of(w, "m.room.create", "", "m.room.power_levels", "",
		    "m.room.member", BOB, NULL), 14, 4300);
		CHECK(receive(w, ev, 0, &r) == MROOM_BAD_EVENT);
		mroom_recv_fini(&r);
		json_decref(ev);
	}

	/* A prev event of another room: not a valid event, nothing stored. */
	if ((id = send_other_room(w)) != NULL) {
		ev = pdu(w, w->ring.remote, BOB, "m.room.message", NULL, json_pack("{s:s,s:s}",
		    "msgtype", "m.text", "body", "astray"), json_pack("[s]", id),
		    auth_of(w, "m.room.create", "", "m.room.power_levels", "", "m.room.member",
		    BOB, NULL), 14, 4350);
		CHECK(receive(w, ev, 0, &r) == MROOM_BAD_EVENT);
		mroom_recv_fini(&r);
		json_decref(ev);
		free(id);
	}

	/* Unknown prev events: reported by ID, nothing stored or invented. */
	ev = pdu(w, w->ring.remote, BOB, "m.room.message", NULL, json_pack("{s:s,s:s}",
	    "msgtype", "m.text", "body", "orphan"), json_pack("[s]", "$nowhere"),
	    auth_of(w, "m.room.create", "", "m.room.power_levels", "", "m.room.member", BOB,
	    NULL), 40, 4400);
	CHECK(receive(w, ev, 0, &r) == MROOM_MISSING);
	CHECK(json_array_size(r.missing) == 1 &&
	    strcmp(json_string_value(json_array_get(r.missing, 0)), "$nowhere") == 0);
	mroom_recv_fini(&r);
	/* The same as an outlier (an auth chain's member): stored without state, below 0. */
	out = expect(w, ev, MROOM_RECV_OUTLIER, MROOM_FATE_OUTLIER, "outlier");
	if (out != NULL && mstore_event_get(w->ctx.db, out, &row) == 1) {
		CHECK(row.stream < 0 && row.state_after == 0);
		mevrow_fini(&row);
	}
	CHECK(out == NULL || !in_timeline(w, out));

	/* A sender who is not in the room: rejected, stored, never in state. */
	rej = expect(w, pdu(w, w->ring.remote, EVE, "m.room.topic", "",
	    json_pack("{s:s}", "topic", "eve's"), tip(w), auth_of(w, "m.room.create", "",
	    "m.room.power_levels", "", NULL), 14, 4500), 0, MROOM_FATE_REJECTED, "eve");
	if (rej != NULL && mstore_event_get(w->ctx.db, rej, &row) == 1) {
		CHECK(row.rejected != NULL);
		mevrow_fini(&row);
	} else
		FAIL("rejected event not stored");
	CHECK(is_current(w, "m.room.topic", "", t2));
	CHECK(rej == NULL || !in_timeline(w, rej));
	x = tip(w);
	CHECK(rej == NULL || strcmp(json_string_value(json_array_get(x, 0)), rej) != 0);
	json_decref(x);

	/*
	 * Soft failure: alice bans bob here; bob's topic built on the state
	 * before the ban passes its auth events and the state before it, not
	 * the current state.  Stored, not shown, not current, no extremity.
	 */
	ban = send_local(w, "m.room.member", BOB, member("ban"));
	x = auth_of(w, "m.room.create", "", "m.room.power_levels", "", NULL);
	json_array_append_new(x, json_string(join));
	soft = expect(w, pdu(w, w->ring.remote, BOB, "m.room.topic", "",
	    json_pack("{s:s}", "topic", "after the ban"), json_pack("[s]", msg), x, 14, 5000),
	    0, MROOM_FATE_SOFT_FAILED, "soft");
	CHECK(is_current(w, "m.room.topic", "", t2));
	CHECK(soft == NULL || !in_timeline(w, soft));
	x = extremities(w);
	CHECK(json_array_size(x) == 1 && ban != NULL &&
	    strcmp(json_string_value(json_array_get(x, 0)), ban) == 0);
	json_decref(x);

	/*
	 * The same on the ban itself: its auth events (bob's join) allow it,
	 * the state before it does not: rejected, not soft-failed.
	 */
	x = auth_of(w, "m.room.create", "", "m.room.power_levels", "", NULL);
	json_array_append_new(x, json_string(join));
	late = expect(w, pdu(w, w->ring.remote, BOB, "m.room.topic", "",
	    json_pack("{s:s}", "topic", "on the ban"), json_pack("[s]", ban), x, 16, 5100),
	    0, MROOM_FATE_REJECTED, "state before");
	CHECK(strncmp(w->ctx.why, "state before", 12) == 0);
	CHECK(is_current(w, "m.room.topic", "", t2));
	CHECK(late == NULL || !in_timeline(w, late));

	/*
	 * Backfilled history (a message on bob's join): a position below
	 * every other event, the extremity and current state unmoved.
	 */
	low = INT64_MAX;
	{
		struct mevrow	*rows = NULL;
		size_t		 n = 0, i;

		if (mstore_events_page(w->ctx.db, w->room, 1, INT64_MAX, INT64_MIN, 1000, &rows,
		    &n) == 0)
			for (i = 0; i < n; i++)
				if (rows[i].stream < low)
					low = rows[i].stream;
		mevrow_list_free(rows, n);
	}
	hist = expect(w, pdu(w, w->ring.remote, BOB, "m.room.message", NULL,
	    json_pack("{s:s,s:s}", "msgtype", "m.text", "body", "old"), json_pack("[s]", join),
	    auth_of(w, "m.room.create", "", "m.room.power_levels", "", NULL), 11, 1500),
	    MROOM_RECV_HISTORY, MROOM_FATE_REJECTED, "history from a non-member");
	free(hist);
	x = auth_of(w, "m.room.create", "", "m.room.power_levels", "", NULL);
	json_array_append_new(x, json_string(join));
	hist = expect(w, pdu(w, w->ring.remote, BOB, "m.room.message", NULL,
	    json_pack("{s:s,s:s}", "msgtype", "m.text", "body", "old"), json_pack("[s]", join),
	    x, 11, 1500), MROOM_RECV_HISTORY, MROOM_FATE_ACCEPTED, "history");
	if (hist != NULL && mstore_event_get(w->ctx.db, hist, &row) == 1) {
		CHECK(row.stream < 0 && row.stream < low);
		mevrow_fini(&row);
	}
	x = extremities(w);
	CHECK(json_array_size(x) == 1 && ban != NULL &&
	    strcmp(json_string_value(json_array_get(x, 0)), ban) == 0);
	json_decref(x);
	CHECK(mstore_events_max_stream(w->ctx.db) > 0);
	topo_check(w, hist, join, t2);

	free(join);
	free(t1);
	free(t2);
	free(t3);
	free(late);
	free(merge);
	free(msg);
	free(ban);
	free(soft);
	free(rej);
	free(hist);
	free(out);
}

/*
 * Spec: room version 1 resolves state with state resolution v1: a line
 * of events is received, then a fork whose topic conflicts with the
 * line's at the same depth: both are extremities, and the current topic
 * is the one of lower SHA-1 of its ID (both pass the auth rules).
 */
static void
v1_checks(struct world *w)
{
	struct mevrow		 row;
	json_t			*ev;
	char			*join, *t2, *t3, h2[41], h3[41];

	join = expect(w, pdu(w, w->ring.remote, BOB, "m.room.member", BOB, member("join"),
	    tip(w), auth_of(w, "m.room.create", "", "m.room.power_levels", "",
	    "m.room.join_rules", "", NULL), 10, 1000), 0, MROOM_FATE_ACCEPTED, "v1 join");
	t2 = expect(w, pdu(w, w->ring.remote, BOB, "m.room.topic", "",
	    json_pack("{s:s}", "topic", "later"), json_pack("[s]", join),
	    auth_of(w, "m.room.create", "", "m.room.power_levels", "", "m.room.member", BOB,
	    NULL), 11, 3000), 0, MROOM_FATE_ACCEPTED, "v1 topic");
	CHECK(is_current(w, "m.room.topic", "", t2));
	ev = pdu(w, w->ring.remote, BOB, "m.room.topic", "", json_pack("{s:s}", "topic",
	    "fork"), json_pack("[s]", join), auth_of(w, "m.room.create", "",
	    "m.room.power_levels", "", "m.room.member", BOB, NULL), 11, 2000);
	t3 = expect(w, ev, 0, MROOM_FATE_ACCEPTED, "v1 fork");
	CHECK(mstore_event_get(w->ctx.db, t3, &row) == 1);
	mevrow_fini(&row);
	mcrypto_sha1_hex(t2, strlen(t2), h2);
	mcrypto_sha1_hex(t3, strlen(t3), h3);
	CHECK(is_current(w, "m.room.topic", "", strcmp(h2, h3) < 0 ? t2 : t3));
	free(join);
	free(t2);
	free(t3);
}

/* receive() with the state before given; the event's ID (malloc'd) when fate. */
static char *
expect_with_state(struct world *w, json_t *ev, const json_t *state, enum mroom_fate fate,
    const char *what)
{
	struct mroom_recv	 r;
	enum mroom_err		 rc;
	char			*id;

	memset(&r, 0, sizeof(r));
	r.key = ring_get;
	r.key_arg = &w->ring;
	r.state = state;
	if (mdb_begin(w->ctx.db) == -1)
		return NULL;
	if ((rc = mroom_receive(&w->ctx, REMOTE, ev, &r)) != MROOM_OK) {
		mdb_rollback(w->ctx.db);
		FAIL("%s: rc %d (%s)", what, (int)rc, w->ctx.why);
		json_decref(ev);
		mroom_recv_fini(&r);
		return NULL;
	}
	json_decref(ev);
	if (mdb_commit(w->ctx.db) == -1 || r.fate != fate) {
		FAIL("%s: fate %d, wanted %d", what, (int)r.fate, (int)fate);
		mroom_recv_fini(&r);
		return NULL;
	}
	id = r.event_id;
	r.event_id = NULL;
	mroom_recv_fini(&r);
	return id;
}

/*
 * Joining a room of another server, as the federation layer will: its
 * create event makes the room here (MROOM_RECV_NEW_ROOM, refused
 * without), its auth chain arrives as outliers, and the join comes with
 * the state before it as the origin gave it, its prev event an outlier.
 * The join is then the room's extremity, its state current, and a
 * message on it a plain live event.
 */
static void
join_checks(struct world *w)
{
	struct mroom_recv	 r;
	json_t			*ev, *state, *content;
	char			*create = NULL, *cjoin = NULL, *pl = NULL, *jr = NULL;
	char			*join = NULL, *msg = NULL, *k;
	char			*mine = w->room;
	const char		*carol = "@carol:remote";

	w->room = w->ver->create_room_id ? NULL : strdup("!theirs:remote");
	content = json_pack("{s:s}", "room_version", w->ver->id);
	if (!w->ver->implicit_creator)
		json_object_set_new(content, "creator", json_string(carol));
	ev = pdu(w, w->ring.remote, carol, "m.room.create", "", content, json_array(),
	    json_array(), 1, 100);
	/* Not without the caller's leave: no room is made by a stray create event. */
	CHECK(receive(w, ev, MROOM_RECV_OUTLIER, &r) ==
	    (w->room != NULL ? MROOM_NO_ROOM : MROOM_BAD_EVENT));
	mroom_recv_fini(&r);
	if (w->room == NULL) {
		char *id = mevent_id(ev, w->ver);

		if (id == NULL || asprintf(&w->room, "!%s", id + 1) == -1)
			w->room = NULL;
		free(id);
	}
	create = expect(w, ev, MROOM_RECV_OUTLIER | MROOM_RECV_NEW_ROOM, MROOM_FATE_OUTLIER,
	    "their create");
	if (create == NULL || w->room == NULL)
		goto out;
#define AUTH0()	(w->ver->create_room_id ? json_array() : json_pack("[s]", create))
	ev = pdu(w, w->ring.remote, carol, "m.room.member", carol, member("join"),
	    json_pack("[s]", create), AUTH0(), 2, 101);
	cjoin = expect(w, ev, MROOM_RECV_OUTLIER, MROOM_FATE_OUTLIER, "carol's join");
	if (cjoin == NULL)
		goto out;
	/* Spec: room version 12: a creator is above power levels, and not in them. */
	content = json_pack("{s:{}}", "users");
	if (!w->ver->create_room_id)
		json_object_set_new(json_object_get(content, "users"), carol, json_integer(100));
	ev = AUTH0();
	json_array_append_new(ev, json_string(cjoin));
	pl = expect(w, pdu(w, w->ring.remote, carol, "m.room.power_levels", "", content,
	    json_pack("[s]", cjoin), ev, 3, 102), MROOM_RECV_OUTLIER, MROOM_FATE_OUTLIER,
	    "their power levels");
	if (pl == NULL)
		goto out;
	ev = AUTH0();
	json_array_append_new(ev, json_string(cjoin));
	json_array_append_new(ev, json_string(pl));
	jr = expect(w, pdu(w, w->ring.remote, carol, "m.room.join_rules", "",
	    json_pack("{s:s}", "join_rule", "public"), json_pack("[s]", pl), ev, 4, 103),
	    MROOM_RECV_OUTLIER, MROOM_FATE_OUTLIER, "their join rules");
	if (cjoin == NULL || pl == NULL || jr == NULL)
		goto out;
	CHECK(!in_timeline(w, jr));

	/* The join, with the state before it given: accepted, current, the extremity. */
	state = json_object();
	/* In version 12 too: only auth_events leave the create event out. */
	json_object_set_new(state, "m.room.create\x1f", json_string(create));
	k = NULL;
	if (asprintf(&k, "m.room.member\x1f%s", carol) != -1)
		json_object_set_new(state, k, json_string(cjoin));
	free(k);
	json_object_set_new(state, "m.room.power_levels\x1f", json_string(pl));
	json_object_set_new(state, "m.room.join_rules\x1f", json_string(jr));
	ev = AUTH0();
	json_array_append_new(ev, json_string(pl));
	json_array_append_new(ev, json_string(jr));
	join = expect_with_state(w, pdu(w, w->ring.remote, BOB, "m.room.member", BOB,
	    member("join"), json_pack("[s]", jr), ev, 5, 104), state, MROOM_FATE_ACCEPTED,
	    "join with state");
	json_decref(state);
	CHECK(is_current(w, "m.room.member", BOB, join));
	CHECK(is_current(w, "m.room.power_levels", "", pl));
	CHECK(is_current(w, "m.room.create", "", create));
	CHECK(join == NULL || in_timeline(w, join));
	json_decref(tip(w));
	ev = AUTH0();
	json_array_append_new(ev, json_string(pl));
	json_array_append_new(ev, json_string(cjoin));
	msg = expect(w, pdu(w, w->ring.remote, carol, "m.room.message", NULL,
	    json_pack("{s:s,s:s}", "msgtype", "m.text", "body", "welcome"), tip(w), ev, 6, 105),
	    0, MROOM_FATE_ACCEPTED, "their message");
	CHECK(msg == NULL || in_timeline(w, msg));
#undef AUTH0
out:
	free(create);
	free(cjoin);
	free(pl);
	free(jr);
	free(join);
	free(msg);
	free(w->room);
	w->room = mine;
}

/* Runs every check on one database, in room version vid.  0 or -1 (reported). */
static int
run(enum mdb_backend kind, const char *database, struct mkey *local, struct mkey *remote,
    struct mkey *forger, const char *vid)
{
	struct mconfig	 conf;
	struct world	 w;
	int		 rc = -1;

	memset(&w, 0, sizeof(w));
	memset(&conf, 0, sizeof(conf));
	conf.db_backend = kind;
	conf.database = (char *)database;
	if ((w.ctx.db = mdb_open(&conf, NULL)) == NULL || mdb_migrate(w.ctx.db) == -1) {
		FAIL("open");
		goto out;
	}
	w.ctx.server_name = "test";
	w.ctx.key = local;
	w.ring.local = local;
	w.ring.remote = remote;
	w.forger = forger;
	w.ver = version(vid);
	if (make_room(&w) == -1) {
		FAIL("room not made");
		goto out;
	}
	if (w.ver->state_res_v2) {
		checks(&w);
		join_checks(&w);
	} else
		v1_checks(&w);
	rc = 0;
out:
	free(w.room);
	mdb_close(w.ctx.db);
	return rc;
}

/* The database file of dir, removed with its WAL files. */
static void
db_remove(const char *dir)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };
	char path[256];

	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(path, sizeof(path), "%s/myelin.db%s", dir, sfx[i]);
		unlink(path);
	}
}

int
main(void)
{
	char		 dir[] = "/tmp/room-receive.XXXXXX", path[sizeof(dir) + 32];
	unsigned char	 seed[32];
	struct mkey	*local = spec_key(NULL), *remote, *forger;
	const char	*pg;

	mlog_init("room-receive", MLOG_WARN);
	memset(seed, 7, sizeof(seed));
	remote = mcrypto_key_from_seed(seed, "r1");
	memset(seed, 9, sizeof(seed));
	forger = mcrypto_key_from_seed(seed, "r1");
	if (local == NULL || remote == NULL || forger == NULL || mkdtemp(dir) == NULL) {
		perror("room-receive: setup");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/myelin.db", dir);
	if (run(MDB_SQLITE, path, local, remote, forger, "10") == -1)
		failed = 1;
	db_remove(dir);
	/* Version 1: IDs chosen by their servers, references with hashes, no forks. */
	if (run(MDB_SQLITE, path, local, remote, forger, "1") == -1)
		failed = 1;
	db_remove(dir);
	/* Version 12: room ID from the create event, which auth_events leave out. */
	if (run(MDB_SQLITE, path, local, remote, forger, "12") == -1)
		failed = 1;
	db_remove(dir);
	rmdir(dir);
	if ((pg = getenv("MYELIN_TEST_PG")) != NULL && *pg != '\0' &&
	    run(MDB_POSTGRES, pg, local, remote, forger, "10") == -1)
		failed = 1;
	mcrypto_key_free(local);
	mcrypto_key_free(remote);
	mcrypto_key_free(forger);
	return failed;
}
