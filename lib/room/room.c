/* Local events: build the PDU, sign it, check it against the state, persist it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appsvc/appsvc.h"
#include "clock/clock.h"
#include "crypto/crypto.h"
#include "events/events.h"
#include "json/json.h"
#include "log/log.h"
#include "push/push.h"
#include "room/room.h"
#include "room/write.h"
#include "store/store.h"

/* Spec: S-S API, "Size limits": a PDU is at most 65536 bytes. */
#define PDU_MAX_BYTES	65536
/* Spec: C-S API, "Size limits": type, state_key, sender and user IDs at most 255 bytes. */
#define ID_MAX_BYTES	255
#define MAX_AUTH_TYPES	8
/* Spec: C-S API, "Restricted rooms": the key only a resident server may set. */
#define VIA_KEY		"join_authorised_via_users_server"

/* A stored PDU with its "event_id" (new reference), NULL when unknown; *err on failure. */
static json_t *
stored_pdu(struct mroom_ctx *ctx, const char *event_id, int *err)
{
	struct mevrow	 row;
	json_t		*ev;
	int		 found;

	*err = 0;
	if ((found = mstore_event_get(ctx->db, event_id, &row)) != 1) {
		*err = found == -1;
		return NULL;
	}
	ev = json_incref(row.json);
	mevrow_fini(&row);
	if (json_object_set_new(ev, "event_id", json_string(event_id)) == -1) {
		json_decref(ev);
		*err = 1;
		return NULL;
	}
	return ev;
}

const json_t *
mroom_sv_get(void *arg, const char *type, const char *state_key)
{
	struct stateview	*v = arg;
	char			*k;
	const char		*id;
	json_t			*ev;
	int			 err;

	if (v->extra != NULL && strcmp(type, "m.room.create") == 0 && *state_key == '\0')
		return v->extra;
	if ((k = mstate_key_join(type, state_key)) == NULL) {
		v->err = 1;
		return NULL;
	}
	if ((ev = json_object_get(v->cache, k)) == NULL) {
		/* Shared and read-only: nothing here changes what the view returns. */
		if (v->map == NULL)
			ev = mstore_cstate_pdu(v->ctx->db, v->room_id, type, state_key, &err);
		else {
			id = json_string_value(json_object_get(v->map, k));
			ev = id != NULL ? stored_pdu(v->ctx, id, &err) : NULL;
			if (id == NULL)
				err = 0;
		}
		if (err)
			v->err = 1;
		json_object_set_new(v->cache, k, ev != NULL ? ev : json_null());
	}
	free(k);
	return json_is_null(ev) ? NULL : ev;
}

void
mroom_sv_prefetch(struct stateview *v, const struct mstate_key *keys, size_t n)
{
	const char	*k[2 * MSTORE_CSTATE_PDUS];
	json_t		*got, *row;
	char		*key;
	size_t		 i, j, m;

	/* A map's entries are read by event ID, one at a time as asked. */
	if (v->map != NULL || v->err)
		return;
	for (i = 0; i < n; i += m) {
		m = n - i < MSTORE_CSTATE_PDUS ? n - i : MSTORE_CSTATE_PDUS;
		for (j = 0; j < m; j++) {
			k[2 * j] = keys[i + j].type;
			k[2 * j + 1] = keys[i + j].state_key;
		}
		if ((got = mstore_cstate_pdus(v->ctx->db, v->room_id, k, m)) == NULL) {
			v->err = 1;
			return;
		}
		/* Absent entries are known absent: null, as mroom_sv_get keeps them. */
		for (j = 0; j < m; j++)
			if ((key = mstate_key_join(k[2 * j], k[2 * j + 1])) != NULL) {
				if (json_object_get(v->cache, key) == NULL)
					json_object_set_new(v->cache, key, json_null());
				free(key);
			}
		json_array_foreach(got, j, row)
			if ((key = mstate_key_join(json_string_value(json_array_get(row, 0)),
			    json_string_value(json_array_get(row, 1)))) != NULL) {
				json_object_set(v->cache, key, json_array_get(row, 2));
				free(key);
			}
		json_decref(got);
	}
}

const json_t *
mroom_evcache_get(void *arg, const char *event_id)
{
	struct evcache	*c = arg;
	json_t		*ev;
	int		 err;

	if ((ev = json_object_get(c->cache, event_id)) == NULL) {
		ev = stored_pdu(c->ctx, event_id, &err);
		if (err)
			c->err = 1;
		json_object_set_new(c->cache, event_id, ev != NULL ? ev : json_null());
	}
	return json_is_null(ev) ? NULL : ev;
}

json_t *
mroom_state_get(struct mroom_ctx *ctx, const char *room_id, const char *type,
    const char *state_key, int *err)
{
	return mstore_cstate_event(ctx->db, room_id, type, state_key, err);
}

char *
mroom_membership(struct mroom_ctx *ctx, const char *room_id, const char *user_id)
{
	json_t		*ev;
	const char	*m;
	char		*out = NULL;
	int		 err;

	if ((ev = mstore_cstate_event(ctx->db, room_id, "m.room.member", user_id, &err)) == NULL)
		return NULL;
	if ((m = mjson_str(json_object_get(ev, "content"), "membership")) != NULL)
		out = strdup(m);
	json_decref(ev);
	return out;
}

/*
 * Spec: appendix, "Server Name": hostname [ ":" port ], the hostname a
 * DNS name (IPv4 addresses are a subset of its characters) or an IPv6
 * address in brackets, the port 1 to 5 digits.  1 when s is one.
 */
static int
server_name_check(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n = 0;

	if (*p == '[') {
		for (p++; *p != ']'; p++, n++)
			if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
			    (*p >= 'A' && *p <= 'F') || *p == ':' || *p == '.'))
				return 0;	/* the NUL of an unclosed bracket too */
		if (n < 2 || n > 45)
			return 0;
		p++;
	} else {
		for (; (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= 'A' && *p <= 'Z') || *p == '-' || *p == '.'; p++)
			n++;
		if (n == 0)
			return 0;
	}
	if (*p == '\0')
		return 1;
	if (*p++ != ':')
		return 0;
	for (n = 0; *p >= '0' && *p <= '9'; p++)
		n++;
	return *p == '\0' && n >= 1 && n <= 5;
}

int
mroom_user_id_check(const char *s)
{
	const unsigned char	*p;

	if (s == NULL || s[0] != '@' || strlen(s) > ID_MAX_BYTES)
		return 0;
	/* Historical localparts: %x21-39 / %x3B-7E, so ':' ends it. */
	for (p = (const unsigned char *)s + 1; *p != ':'; p++)
		if (*p < 0x21 || *p > 0x7e)
			return 0;	/* also the NUL of an ID without ':' */
	if (p == (const unsigned char *)s + 1)
		return 0;
	return server_name_check((const char *)p + 1);
}

char *
mroom_join_authoriser(struct mroom_ctx *ctx, const char *room_id, const char *user_id)
{
	struct mroom		 room;
	const struct mroomver	*ver;
	struct stateview	 sv;
	const json_t		*jr, *pl;
	json_t			*allow = NULL, *a, *all = NULL, *ev;
	const char		*rule, *m;
	char			*mine = NULL, *who = NULL;
	int64_t			 need = 0;
	size_t			 i;
	int			 allowed = 0;

	memset(&sv, 0, sizeof(sv));
	if (mstore_room_get(ctx->db, room_id, &room) != 1)
		return NULL;
	if ((ver = mroomver_get(room.version)) == NULL || !ver->restricted)
		goto out;
	sv.ctx = ctx;
	sv.room_id = room_id;
	if ((sv.cache = json_object()) == NULL)
		goto out;
	jr = mroom_sv_get(&sv, "m.room.join_rules", "");
	rule = mjson_str(json_object_get(jr, "content"), "join_rule");
	if (rule == NULL || (strcmp(rule, "restricted") != 0 &&
	    strcmp(rule, "knock_restricted") != 0))
		goto out;
	/* Members and invitees join without a voucher. */
	mine = mroom_membership(ctx, room_id, user_id);
	if (mine != NULL && (strcmp(mine, "join") == 0 || strcmp(mine, "invite") == 0))
		goto out;
	if ((allow = mroom_allow_rooms(json_object_get(jr, "content"))) == NULL)
		goto out;
	json_array_foreach(allow, i, a) {
		char *theirs = mroom_membership(ctx, json_string_value(a), user_id);

		allowed = theirs != NULL && strcmp(theirs, "join") == 0;
		free(theirs);
		if (allowed)
			break;
	}
	if (!allowed)
		goto out;
	pl = mroom_sv_get(&sv, "m.room.power_levels", "");
	if (json_is_integer(json_object_get(json_object_get(pl, "content"), "invite")))
		need = json_integer_value(json_object_get(json_object_get(pl, "content"), "invite"));
	if ((all = mstore_cstate_all(ctx->db, room_id)) == NULL)
		goto out;
	json_array_foreach(all, i, ev) {
		const char *sk = mjson_str(ev, "state_key"), *colon;

		m = mjson_str(json_object_get(ev, "content"), "membership");
		if (strcmp(mjson_str(ev, "type"), "m.room.member") != 0 || m == NULL ||
		    strcmp(m, "join") != 0 || sk == NULL || (colon = strchr(sk, ':')) == NULL ||
		    strcmp(colon + 1, ctx->server_name) != 0)
			continue;
		if (mevent_user_power(ver, mroom_sv_get, &sv, sk) >= need) {
			who = strdup(sk);
			break;
		}
	}
out:
	json_decref(allow);
	json_decref(all);
	json_decref(sv.cache);
	free(mine);
	mroom_fini(&room);
	return who;
}

json_t *
mroom_allow_rooms(const json_t *content)
{
	json_t		*ids;
	const json_t	*a;
	size_t		 i;

	if ((ids = json_array()) == NULL)
		return NULL;
	json_array_foreach(json_object_get(content, "allow"), i, a) {
		const char *t = mjson_str(a, "type"), *r = mjson_str(a, "room_id");

		if (t == NULL || r == NULL || strcmp(t, "m.room_membership") != 0)
			continue;
		if (json_array_append_new(ids, json_string(r)) == -1) {
			json_decref(ids);
			return NULL;
		}
	}
	return ids;
}

/* A random opaque ID "<sigil><18 letters>:<server>", malloc'd. */
static char *
opaque_id(char sigil, const char *server_name)
{
	char *r = mcrypto_random_string(18), *id = NULL;

	if (r != NULL && asprintf(&id, "%c%s:%s", sigil, r, server_name) == -1)
		id = NULL;
	free(r);
	return id;
}

/*
 * Room versions 1 and 2 reference events as [event_id, {"sha256": hash}]
 * pairs; later versions by bare IDs.
 */
static json_t *
event_ref(struct mroom_ctx *ctx, const struct mroomver *ver, const char *id)
{
	struct mevrow	 row;
	json_t		*ref;

	if (ver->evid != MEVID_V1)
		return json_string(id);
	if (mstore_event_get(ctx->db, id, &row) != 1)
		return NULL;
	ref = json_pack("[s,O]", id, json_object_get(row.json, "hashes"));
	mevrow_fini(&row);
	return ref;
}

/*
 * The resolution of the state groups groups (a JSON array of distinct
 * group IDs) of room_id: the one group's state, or state resolution v2
 * over each one's state (spec: S-S API, "Room State Resolution"; room
 * versions, "State resolution"; v1 for room version 1).  *out (new
 * reference) gets the state map.  MROOM_OK or MROOM_ERROR.
 */
static enum mroom_err
resolve_groups(struct mroom_ctx *ctx, const struct mroomver *ver, const json_t *groups,
    json_t **out)
{
	struct evcache	 ec;
	json_t		*states, *g;
	size_t		 i;

	*out = NULL;
	if (json_array_size(groups) == 1)
		return (*out = mstore_sgroup_state(ctx->db,
		    json_integer_value(json_array_get(groups, 0)))) != NULL ? MROOM_OK : MROOM_ERROR;
	if (json_array_size(groups) == 0)
		return (*out = json_object()) != NULL ? MROOM_OK : MROOM_ERROR;
	if ((states = json_array()) == NULL)
		return MROOM_ERROR;
	json_array_foreach(groups, i, g) {
		json_t *m = mstore_sgroup_state(ctx->db, json_integer_value(g));

		if (m == NULL || json_array_append_new(states, m) == -1) {
			json_decref(states);
			return MROOM_ERROR;
		}
	}
	ec.ctx = ctx;
	ec.err = 0;
	if ((ec.cache = json_object()) == NULL) {
		json_decref(states);
		return MROOM_ERROR;
	}
	/* Spec: room version 1 resolves by state resolution v1. */
	*out = ver->state_res_v2 ? mstate_resolve(ver, states, mroom_evcache_get, &ec) :
	    mstate_resolve_v1(ver, states, mroom_evcache_get, &ec);
	json_decref(states);
	json_decref(ec.cache);
	if (*out != NULL && ec.err) {
		json_decref(*out);
		*out = NULL;
	}
	return *out != NULL ? MROOM_OK : MROOM_ERROR;
}

/*
 * Stores state map, the resolution of several groups, as a new group of
 * room_id: a delta on base when it only adds to or replaces base's
 * entries, else a snapshot.  *id gets it.  0 or -1.
 */
static int
sgroup_store(struct mroom_ctx *ctx, const char *room_id, int64_t base, const json_t *map,
    int64_t *id)
{
	json_t		*b, *delta;
	const char	*k;
	json_t		*v;
	int		 rc = -1, snapshot = 0;

	if ((b = mstore_sgroup_state(ctx->db, base)) == NULL || (delta = json_object()) == NULL) {
		json_decref(b);
		return -1;
	}
	json_object_foreach(b, k, v)
		if (json_object_get(map, k) == NULL)
			snapshot = 1;	/* an entry gone: deltas cannot remove */
	json_object_foreach((json_t *)map, k, v)
		if (!json_equal(json_object_get(b, k), v) && json_object_set(delta, k, v) == -1)
			goto out;
	rc = snapshot ? mstore_sgroup_add(ctx->db, room_id, 0, map, id) :
	    mstore_sgroup_add(ctx->db, room_id, base, delta, id);
out:
	json_decref(delta);
	json_decref(b);
	return rc;
}

enum mroom_err
mroom_state_before(struct mroom_ctx *ctx, const struct mroomver *ver, const char *room_id,
    const json_t *prev_ids, int64_t *group)
{
	struct mevflags	 f;
	json_t		*groups, *p;
	const char	*id;
	enum mroom_err	 rc = MROOM_ERROR;
	size_t		 i, j;
	int		 dup;

	*group = 0;
	if (json_array_size(prev_ids) == 0)
		return MROOM_OK;
	if ((groups = json_array()) == NULL)
		return MROOM_ERROR;
	/* The distinct states after the prev events, in the order named. */
	json_array_foreach(prev_ids, i, p) {
		if ((id = json_string_value(p)) == NULL || mstore_event_flags(ctx->db, id, &f) != 1)
			goto out;
		free(f.room_id);
		dup = 0;
		for (j = 0; j < json_array_size(groups); j++)
			if (json_integer_value(json_array_get(groups, j)) == f.state_after)
				dup = 1;
		if (!dup && json_array_append_new(groups, json_integer(f.state_after)) == -1)
			goto out;
	}
	rc = mroom_state_resolve_groups(ctx, ver, room_id, groups, group);
out:
	json_decref(groups);
	return rc;
}

enum mroom_err
mroom_state_resolve_groups(struct mroom_ctx *ctx, const struct mroomver *ver,
    const char *room_id, const json_t *groups, int64_t *group)
{
	json_t		*distinct, *map = NULL, *g;
	enum mroom_err	 rc;
	size_t		 i, j;

	if ((distinct = json_array()) == NULL)
		return MROOM_ERROR;
	json_array_foreach(groups, i, g) {
		for (j = 0; j < json_array_size(distinct); j++)
			if (json_integer_value(json_array_get(distinct, j)) ==
			    json_integer_value(g))
				break;
		if (j == json_array_size(distinct))
			json_array_append(distinct, g);
	}
	*group = json_integer_value(json_array_get(distinct, 0));
	if (json_array_size(distinct) <= 1) {
		json_decref(distinct);
		return MROOM_OK;
	}
	if ((rc = resolve_groups(ctx, ver, distinct, &map)) == MROOM_OK)
		rc = sgroup_store(ctx, room_id, *group, map, group) == 0 ? MROOM_OK :
		    MROOM_ERROR;
	json_decref(map);
	json_decref(distinct);
	return rc;
}

/* The membership of a member event in the store, malloc'd; NULL for none. */
static int
membership_of(struct mroom_ctx *ctx, const char *event_id, char **m)
{
	struct mevrow	 row;
	const char	*s;
	int		 found;

	*m = NULL;
	if ((found = mstore_event_get(ctx->db, event_id, &row)) != 1)
		return found == 0 ? 0 : -1;
	s = mjson_str(json_object_get(row.json, "content"), "membership");
	if (s != NULL && (*m = strdup(s)) == NULL) {
		mevrow_fini(&row);
		return -1;
	}
	mevrow_fini(&row);
	return 0;
}

enum mroom_err
mroom_cstate_resync(struct mroom_ctx *ctx, const struct mroomver *ver, const char *room_id)
{
	json_t		*groups, *want = NULL, *have = NULL, *v;
	const char	*k, *sk;
	char		*type, *m;
	enum mroom_err	 rc = MROOM_ERROR;

	if ((groups = mstore_fwd_groups(ctx->db, room_id)) == NULL)
		return MROOM_ERROR;
	if ((rc = resolve_groups(ctx, ver, groups, &want)) != MROOM_OK)
		goto out;
	rc = MROOM_ERROR;
	if ((have = mstore_cstate_map(ctx->db, room_id)) == NULL)
		goto out;
	json_object_foreach(have, k, v) {
		if (json_object_get(want, k) != NULL)
			continue;
		if ((sk = strchr(k, '\x1f')) == NULL || (type = strndup(k, (size_t)(sk - k))) == NULL)
			goto out;
		if (mstore_cstate_del(ctx->db, room_id, type, sk + 1) == -1) {
			free(type);
			goto out;
		}
		free(type);
	}
	json_object_foreach(want, k, v) {
		if (json_equal(json_object_get(have, k), v))
			continue;
		if ((sk = strchr(k, '\x1f')) == NULL || (type = strndup(k, (size_t)(sk - k))) == NULL)
			goto out;
		m = NULL;
		if ((strcmp(type, "m.room.member") == 0 &&
		    membership_of(ctx, json_string_value(v), &m) == -1) ||
		    mstore_cstate_put(ctx->db, room_id, type, sk + 1, json_string_value(v), m) == -1) {
			free(m);
			free(type);
			goto out;
		}
		free(m);
		free(type);
	}
	rc = MROOM_OK;
out:
	json_decref(have);
	json_decref(want);
	json_decref(groups);
	return rc;
}

/* An event persist() has written with its state, as the hooks after it see it. */
struct persisted {
	const struct mroomver	*ver;
	struct stateview	*sv;		/* the state the event was checked against */
	const json_t		*ev;		/* the PDU, as stored */
	const char		*event_id;
	const char		*room_id;
	const char		*type;
	const char		*sender;
	int64_t			 stream;	/* its position in the events stream */
	const json_t		*prev_ids;	/* its prev events' IDs */
};

/* Records content["m.relates_to"] so relations and threads can be paged.  0 or -1. */
static int
hook_relations(struct mroom_ctx *ctx, const struct persisted *p)
{
	json_t		*rel = json_object_get(json_object_get(p->ev, "content"), "m.relates_to");
	const char	*to = mjson_str(rel, "event_id"), *type = mjson_str(rel, "rel_type");

	if (!json_is_object(rel) || to == NULL || type == NULL)
		return 0;
	return mstore_relation_add(ctx->db, p->event_id, to, type, mjson_str(rel, "key"),
	    p->room_id, p->stream);
}

/* Searchable text goes into the index with the event (lib/store/search.c).  0 or -1. */
static int
hook_search(struct mroom_ctx *ctx, const struct persisted *p)
{
	return mstore_search_put(ctx->db, p->stream, p->type,
	    json_object_get(p->ev, "content")) == -1 ? -1 : 0;
}

/*
 * Spec: C-S API, PUT /rooms/{roomId}/redact: redacting another user's
 * event needs the room's "redact" power level (default 50).  1 when
 * sender may redact an event of target_sender, else 0.
 */
static int
may_redact(const struct mroomver *ver, struct stateview *sv, const char *sender,
    const char *target_sender)
{
	const json_t	*pl;
	int64_t		 need = 50;

	if (strcmp(target_sender, sender) == 0)
		return 1;
	if ((pl = mroom_sv_get(sv, "m.room.power_levels", "")) != NULL &&
	    json_is_integer(json_object_get(json_object_get(pl, "content"), "redact")))
		need = json_integer_value(json_object_get(json_object_get(pl, "content"), "redact"));
	return mevent_user_power(ver, mroom_sv_get, sv, sender) >= need;
}

/*
 * Refuses a local redaction the sender may not make (spec: C-S API,
 * "Redactions"): the auth rules of v3 and later let it into the room,
 * where it would redact nothing.  An unknown target or one of another
 * room is left to the caller.  Returns MROOM_OK, MROOM_FORBIDDEN with
 * ctx->why set, or MROOM_ERROR.
 */
static enum mroom_err
redaction_check(struct mroom_ctx *ctx, const struct mroomver *ver, struct stateview *sv,
    const char *redacts, const char *sender, const char *room_id)
{
	struct mevrow	 target;
	enum mroom_err	 rc = MROOM_OK;
	int		 found;

	if ((found = mstore_event_get(ctx->db, redacts, &target)) != 1)
		return found == 0 ? MROOM_OK : MROOM_ERROR;
	if (strcmp(target.room_id, room_id) == 0 && !may_redact(ver, sv, sender, target.sender)) {
		snprintf(ctx->why, sizeof(ctx->why),
		    "You don't have permission to redact other users' events");
		rc = MROOM_FORBIDDEN;
	}
	if (sv->err)
		rc = MROOM_ERROR;
	mevrow_fini(&target);
	return rc;
}

/*
 * Applies a redaction to its target when allowed: spec, C-S API
 * "Redactions": the sender of the target, or anyone with the redact
 * power level, removes the target's content, and the target leaves the
 * search index.  The stored target becomes its redacted PDU alone; its
 * redacted_by names the redaction, from whose row readers take
 * unsigned.redacted_because.  An unknown target, one of another room or
 * one redacted already is left as it is.  0 or -1.
 */
static int
hook_redaction(struct mroom_ctx *ctx, const struct persisted *p)
{
	struct mevrow	 target;
	json_t		*red;
	const char	*redacts;
	int		 rc;

	if (strcmp(p->type, "m.room.redaction") != 0)
		return 0;
	/* v11 moved redacts into content. */
	if ((redacts = mjson_str(p->ev, "redacts")) == NULL &&
	    (redacts = mjson_str(json_object_get(p->ev, "content"), "redacts")) == NULL)
		return 0;
	if ((rc = mstore_event_get(ctx->db, redacts, &target)) != 1)
		return rc;	/* unknown target: nothing to apply */
	if (strcmp(target.room_id, p->room_id) != 0 || target.redacted_by != NULL) {
		mevrow_fini(&target);
		return 0;
	}
	rc = 0;
	if (may_redact(p->ver, p->sv, p->sender, target.sender)) {
		if ((red = mevent_redact(target.json, p->ver)) == NULL)
			rc = -1;
		else {
			rc = mstore_event_redact(ctx->db, redacts, red, p->event_id) < 0 ||
			    mstore_search_del(ctx->db, redacts) == -1 ? -1 : 0;
			json_decref(red);
		}
	}
	mevrow_fini(&target);
	return rc;
}

/*
 * Spec: C-S API, "Push Notifications", "Server behaviour": the push
 * rules of the local members an event concerns, in its transaction, so
 * that the counts move with the event.  0 or -1.
 */
static int
hook_push(struct mroom_ctx *ctx, const struct persisted *p)
{
	struct mpush_event	 pe;

	memset(&pe, 0, sizeof(pe));
	pe.power_levels = json_object_get(mroom_sv_get(p->sv, "m.room.power_levels", ""),
	    "content");
	pe.sender_power = mevent_user_power(p->ver, mroom_sv_get, p->sv, p->sender);
	if (p->sv->err)
		return -1;
	return mpush_event_process(ctx->db, p->ev, p->event_id, p->room_id, p->stream, &pe);
}

/*
 * The outbound federation queue: an event one of our users sent goes to
 * every other server with members joined in the room's state after it,
 * and a membership event also to its target's server (an invite, a
 * kick), queued in its transaction (lib/store/fedq.c; lib/fed/sender.c
 * sends).  A room of our users alone costs one probe.  0 or -1.
 */
static int
hook_federation(struct mroom_ctx *ctx, const struct persisted *p)
{
	const char	*s = strchr(p->sender, ':'), *sk, *t;
	json_t		*dests;
	const json_t	*v;
	size_t		 i;
	int		 rc = 0;

	/*
	 * Ours to send: our users' events, and a third-party invite this
	 * server made for its invitee on another user's behalf (spec: the
	 * invitee's server signs it; lib/ident's exchange).
	 */
	if ((s == NULL || strcmp(s + 1, ctx->server_name) != 0) &&
	    !(strcmp(p->type, "m.room.member") == 0 &&
	    json_is_object(json_object_get(json_object_get(p->ev, "content"),
	    "third_party_invite")) && (sk = mjson_str(p->ev, "state_key")) != NULL &&
	    (t = strchr(sk, ':')) != NULL && strcmp(t + 1, ctx->server_name) == 0))
		return 0;
	if ((dests = mstore_fedq_room_servers(ctx->db, p->room_id, ctx->server_name)) == NULL)
		return -1;
	/* An invite reached its target's server by PUT /v2/invite already. */
	if (strcmp(p->type, "m.room.member") == 0 && strcmp(mjson_str(json_object_get(p->ev,
	    "content"), "membership") != NULL ? mjson_str(json_object_get(p->ev, "content"),
	    "membership") : "", "invite") != 0 &&
	    (sk = mjson_str(p->ev, "state_key")) != NULL && (t = strchr(sk, ':')) != NULL &&
	    strcmp(t + 1, ctx->server_name) != 0) {
		int seen = 0;

		json_array_foreach(dests, i, v)
			seen |= strcmp(json_string_value(v), t + 1) == 0;
		if (!seen)
			json_array_append_new(dests, json_string(t + 1));
	}
	json_array_foreach(dests, i, v)
		if (mstore_fedq_add(ctx->db, json_string_value(v), p->event_id,
		    mclock_now_ms()) == -1)
			rc = -1;
	json_decref(dests);
	return rc;
}

/*
 * MSC4140: a state event cancels the delayed state events of other
 * users that would set the same state after it (Synapse does so).
 * 0 or -1.
 */
static int
hook_delayed(struct mroom_ctx *ctx, const struct persisted *p)
{
	const char *sk = mjson_str(p->ev, "state_key");

	if (sk == NULL)
		return 0;
	return mstore_delayed_cancel_state(ctx->db, p->room_id, p->type, sk, p->sender);
}

/*
 * Device lists over federation: a membership that is no longer join
 * may end what one of our users shares with another server's user,
 * whose device list then stops being followed (lib/store/devcache.c).
 * 0 or -1.
 */
static int
hook_devlists(struct mroom_ctx *ctx, const struct persisted *p)
{
	const char *sk = mjson_str(p->ev, "state_key"), *m;

	if (strcmp(p->type, "m.room.member") != 0 || sk == NULL ||
	    (m = mjson_str(json_object_get(p->ev, "content"), "membership")) == NULL ||
	    strcmp(m, "join") == 0)
		return 0;
	return mstore_rdl_left(ctx->db, p->room_id, sk, ctx->server_name);
}

/*
 * Application services (lib/appsvc): the event goes to the queue of
 * every registered service whose namespaces it is in, in its
 * transaction; myelin-pusher sends their transactions.  0 or -1.
 */
static int
hook_appservice(struct mroom_ctx *ctx, const struct persisted *p)
{
	const struct mconfig *c = mdb_conf(ctx->db);

	if (c == NULL || c->appservicesz == 0)
		return 0;
	return mappsvc_event_queue(ctx->db, c, p->ev, p->event_id, p->room_id);
}

/*
 * The backward extremities (S-S API, "Backfilling"): the prev events it
 * names that are not stored (or only as outliers) are ones (a local join through another
 * server names the room's last events), and it is one no longer.  An
 * event built here has nothing to do: its prev events are the room's
 * forward extremities, stored in the DAG, and no stored event can name
 * an event not yet made (persist_hooks' "built").  0 or -1.
 */
static int
hook_backward(struct mroom_ctx *ctx, const struct persisted *p)
{
	return mstore_bwd_advance(ctx->db, p->room_id, p->prev_ids,
	    json_integer_value(json_object_get(p->ev, "depth")), p->event_id);
}

/*
 * What follows the write of an event and its state, run in this order
 * in the same transaction, so that a failure rolls the event back with
 * them: an event is never stored without its relations, index entry,
 * redaction or notifications, nor they without it.  A feature that must
 * move with every event adds a row here (the outbound federation queue
 * will), not a line in persist().
 */
static const struct persist_hook {
	const char	*name;
	int		(*fn)(struct mroom_ctx *, const struct persisted *);
	int		 live;		/* not for history fetched from elsewhere */
	int		 received;	/* not for an event built here on the extremities */
} persist_hooks[] = {
	{ "relations",	hook_relations,	0, 0 },
	{ "search",	hook_search,	0, 0 },
	{ "redaction",	hook_redaction,	0, 0 },
	{ "push",	hook_push,	1, 0 },
	{ "federation",	hook_federation, 1, 0 },
	{ "delayed",	hook_delayed,	1, 0 },
	{ "devlists",	hook_devlists,	1, 0 },
	{ "appservice",	hook_appservice, 1, 0 },
	{ "backward",	hook_backward,	0, 1 },
};

/*
 * Stores a checked event: its row (the PDU as signed, the state event it
 * replaces beside it), its state group, the room's extremities and
 * current state, then runs persist_hooks, as flags say (write.h):
 *
 * - rejected: the row alone, its state that before it; in nothing else.
 * - outlier: the row alone, without state; with oob, at a live position
 *   and, a member event, the room's current member state (oob.c).
 * - soft-failed: its state group (a later event may build on it), but
 *   neither an extremity nor current state, and no hooks.
 * - history: its state, a position below every other, no hook
 *   that notifies (push); the extremities and current state unmoved.
 * - otherwise its prev_events leave the extremities and it joins them
 *   (no stored event can name it: an event is stored only once its prev
 *   events are, outliers aside, which have no place in the DAG), and
 *   current state follows:
 *   with linear (its prev_events were every extremity, so the state
 *   before it was the current state) by its own entry, else as the
 *   resolution of the extremities' states.
 */
enum mroom_err
mroom_persist(struct mroom_ctx *ctx, const struct mroomver *ver, struct stateview *sv,
    json_t *ev, const char *event_id, const char *room_id, int64_t state_before,
    const json_t *prev_ids, const struct mroom_txn *txn, const struct mroom_pflags *f)
{
	static const struct mroom_pflags live = { NULL, 0, 0, 0, 1, 0, 0, 0 };
	struct mevrow		 row;
	struct persisted	 p;
	const char		*type = mjson_str(ev, "type"), *sk = mjson_str(ev, "state_key");
	const char		*sender = mjson_str(ev, "sender");
	json_t			*delta = NULL;
	int64_t			 after = state_before;
	enum mroom_err		 rc = MROOM_ERROR;
	int			 in_state, built = f == NULL;
	size_t			 i;

	if (f == NULL)
		f = &live;
	in_state = f->rejected == NULL && !f->outlier;
	memset(&row, 0, sizeof(row));
	if (sk != NULL && in_state) {
		const json_t	*old = mroom_sv_get(sv, type, sk);
		char		*k = mstate_key_join(type, sk);

		if (k == NULL || (delta = json_pack("{s:s}", k, event_id)) == NULL ||
		    mstore_sgroup_add(ctx->db, room_id, state_before, delta, &after) == -1) {
			free(k);
			goto out;
		}
		free(k);
		if (sv->err)
			goto out;
		/* Kept beside the PDU for the client format's prev_content. */
		row.replaces_state = (char *)mjson_str(old, "event_id");
	}
	row.event_id = (char *)event_id;
	row.room_id = (char *)room_id;
	row.type = (char *)type;
	row.state_key = (char *)sk;
	row.sender = (char *)sender;
	row.depth = json_integer_value(json_object_get(ev, "depth"));
	row.origin_server_ts = json_integer_value(json_object_get(ev, "origin_server_ts"));
	row.state_before = f->outlier ? 0 : state_before;
	row.state_after = f->outlier ? 0 : after;
	row.rejected = (char *)f->rejected;
	row.outlier = f->outlier;
	row.soft_failed = f->soft_failed;
	row.history = f->history || (f->outlier && !f->oob);
	row.deoutlier = f->history && f->deoutlier && !f->outlier && f->rejected == NULL;
	if (txn != NULL) {
		row.txn_user = (char *)txn->user_id;
		row.txn_device = (char *)txn->device_id;
		row.txn_id = (char *)txn->txn_id;
		row.txn_scope = (char *)txn->scope;
	}
	row.json = ev;
	switch (mstore_event_add(ctx->db, &row, &ctx->stream)) {
	case 0:
		break;
	case MSTORE_CONFLICT:
		rc = MROOM_CONFLICT;
		goto out;
	default:
		goto out;
	}
	if (!in_state) {
		/* An out-of-band membership is the room's state here (oob.c). */
		if (f->oob && f->rejected == NULL && sk != NULL &&
		    strcmp(type, "m.room.member") == 0 && mstore_cstate_put(ctx->db, room_id,
		    type, sk, event_id, mjson_str(json_object_get(ev, "content"),
		    "membership")) == -1)
			goto out;
		rc = MROOM_OK;
		goto out;
	}
	if (f->soft_failed) {
		rc = MROOM_OK;
		goto out;
	}
	if (!f->history) {
		if (mstore_fwd_advance(ctx->db, room_id, prev_ids, event_id) == -1)
			goto out;
		if (f->linear) {
			if (sk != NULL && mstore_cstate_put(ctx->db, room_id, type, sk, event_id,
			    strcmp(type, "m.room.member") == 0 ?
			    mjson_str(json_object_get(ev, "content"), "membership") : NULL) == -1)
				goto out;
		} else if ((rc = mroom_cstate_resync(ctx, ver, room_id)) != MROOM_OK)
			goto out;
		rc = MROOM_ERROR;
	}
	p.ver = ver;
	p.sv = sv;
	p.ev = ev;
	p.event_id = event_id;
	p.room_id = room_id;
	p.type = type;
	p.sender = sender;
	p.stream = ctx->stream;
	p.prev_ids = prev_ids;
	for (i = 0; i < sizeof(persist_hooks) / sizeof(persist_hooks[0]); i++) {
		if (((f->history || f->imported) && persist_hooks[i].live) ||
		    (built && persist_hooks[i].received))
			continue;
		if (persist_hooks[i].fn(ctx, &p) == -1) {
			mlog_err(NULL, "%s: %s of %s failed", __func__, persist_hooks[i].name,
			    event_id);
			goto out;
		}
	}
	rc = MROOM_OK;
out:
	json_decref(delta);
	return rc;
}

/*
 * Builds the PDU for a local event (spec: S-S API, "PDUs"), signs it and
 * checks it.  Returns the event (new reference) and its ID, or NULL with
 * *err set.
 */
static json_t *
build(struct mroom_ctx *ctx, const struct mroomver *ver, struct stateview *sv,
    const char *room_id, const char *sender, const char *type, const char *state_key,
    const json_t *content, const char *redacts, const json_t *prev_ids, int64_t depth,
    char **event_id, enum mroom_err *err)
{
	struct mstate_key	 keys[MAX_AUTH_TYPES];
	json_t			*ev, *prevs, *auths;
	size_t			 n, i;
	char			*js = NULL;
	const json_t		*p;

	*err = MROOM_ERROR;
	*event_id = NULL;
	/*
	 * Spec: room versions 6 and later, "Canonical JSON": floats and
	 * integers beyond +-(2**53 - 1) are refused (400 M_BAD_JSON).  Checked
	 * before signing, which would fail on them as an internal error.
	 */
	if ((js = mjson_canonical(content, NULL)) == NULL) {
		*err = MROOM_BAD_JSON;
		snprintf(ctx->why, sizeof(ctx->why), "Event content is not canonical JSON: "
		    "no floats, integers within +-(2**53 - 1)");
		return NULL;
	}
	free(js);
	js = NULL;
	ev = json_pack("{s:s,s:s,s:O,s:I,s:I}", "sender", sender, "type", type,
	    "content", content, "origin_server_ts", (json_int_t)mclock_now_ms(),
	    "depth", (json_int_t)depth);
	if (ev == NULL)
		return NULL;
	/* v12: the create event has no room_id; its hash names the room. */
	if (room_id != NULL)
		json_object_set_new(ev, "room_id", json_string(room_id));
	if (state_key != NULL)
		json_object_set_new(ev, "state_key", json_string(state_key));
	if (redacts != NULL) {
		if (ver->redaction == MREDACT_V11)
			json_object_set_new(json_object_get(ev, "content"), "redacts",
			    json_string(redacts));
		else
			json_object_set_new(ev, "redacts", json_string(redacts));
	}
	if (ver->redaction != MREDACT_V11)
		json_object_set_new(ev, "origin", json_string(ctx->server_name));
	prevs = json_array();
	json_array_foreach(prev_ids, i, p) {
		json_t *ref = event_ref(ctx, ver, json_string_value(p));

		if (ref == NULL)
			goto fail;
		json_array_append_new(prevs, ref);
	}
	json_object_set_new(ev, "prev_events", prevs);
	auths = json_array();
	json_object_set_new(ev, "auth_events", auths);
	n = mevent_auth_types(ev, ver, keys, MAX_AUTH_TYPES);
	for (i = 0; i < n; i++) {
		const json_t	*st = mroom_sv_get(sv, keys[i].type, keys[i].state_key);
		const char	*id = mjson_str(st, "event_id");
		json_t		*ref;

		if (st == NULL || st == sv->extra)
			continue;
		if (id == NULL || (ref = event_ref(ctx, ver, id)) == NULL)
			goto fail;
		json_array_append_new(auths, ref);
	}
	if (sv->err)
		goto fail;
	if (ver->evid == MEVID_V1) {
		if ((*event_id = opaque_id('$', ctx->server_name)) == NULL)
			goto fail;
		json_object_set_new(ev, "event_id", json_string(*event_id));
	}
	if (mevent_sign(ev, ver, ctx->server_name, ctx->key) == -1)
		goto fail;
	if ((js = mjson_canonical(ev, &n)) == NULL)
		goto fail;	/* content was canonical: only memory runs out here */
	if (n > PDU_MAX_BYTES) {
		*err = MROOM_BAD_EVENT;
		snprintf(ctx->why, sizeof(ctx->why), "Event is too large");
		goto fail;
	}
	free(js);
	js = NULL;
	if (*event_id == NULL && (*event_id = mevent_id(ev, ver)) == NULL)
		goto fail;
	if (!mevent_auth_check(ev, ver, mroom_sv_get, sv, ctx->why, sizeof(ctx->why))) {
		*err = MROOM_FORBIDDEN;
		goto fail;
	}
	if (sv->err)
		goto fail;
	*err = MROOM_OK;
	return ev;
fail:
	free(js);
	free(*event_id);
	*event_id = NULL;
	json_decref(ev);
	return NULL;
}

enum mroom_err
mroom_policy_check(struct mroom_ctx *ctx, const char *room_id, const char *type,
    const char *state_key, const json_t *content)
{
	const char	*m;
	int		 blocked;

	if (type == NULL || strlen(type) > ID_MAX_BYTES) {
		snprintf(ctx->why, sizeof(ctx->why), "Event type must be at most %d bytes",
		    ID_MAX_BYTES);
		return MROOM_BAD_PARAM;
	}
	if (state_key != NULL && strlen(state_key) > ID_MAX_BYTES) {
		snprintf(ctx->why, sizeof(ctx->why), "State key must be at most %d bytes",
		    ID_MAX_BYTES);
		return MROOM_BAD_PARAM;
	}
	if (state_key != NULL && strcmp(type, "m.room.member") == 0 &&
	    !mroom_user_id_check(state_key)) {
		snprintf(ctx->why, sizeof(ctx->why), "Invalid user ID");
		return MROOM_BAD_PARAM;
	}
	if (!json_is_object(content)) {
		snprintf(ctx->why, sizeof(ctx->why), "Event content must be an object");
		return MROOM_BAD_JSON;
	}
	/* Synapse's room blocking: nobody joins, is invited or knocks, from anywhere. */
	m = mjson_str(content, "membership");
	if (strcmp(type, "m.room.member") == 0 && m != NULL && (strcmp(m, "join") == 0 ||
	    strcmp(m, "invite") == 0 || strcmp(m, "knock") == 0)) {
		if ((blocked = mstore_room_blocked(ctx->db, room_id, NULL)) == -1)
			return MROOM_ERROR;
		if (blocked) {
			snprintf(ctx->why, sizeof(ctx->why),
			    "This room has been blocked on this server");
			return MROOM_FORBIDDEN;
		}
	}
	return MROOM_OK;
}

/*
 * Spec: C-S API, "Restricted rooms"; "Third-party invites": the voucher
 * of a restricted join and the signed block of a third-party invite are
 * a server's word, never a client's.  As this server signs every local
 * event, a key kept from client content would meet the auth rules'
 * signature requirement by the client's choice (Synapse strips the
 * voucher too).  Returns content (new reference) without both, with the
 * voucher mroom_join_authoriser names for a local join, and for an
 * invite the third_party_invite block the server built and checked
 * (ctx->third_party_invite, lib/ident's exchange), or NULL.
 */
static json_t *
member_content(struct mroom_ctx *ctx, const char *room_id, const char *sender,
    const char *target, const json_t *content)
{
	json_t		*c;
	const char	*m;
	char		*via;

	if ((c = json_deep_copy(content)) == NULL)
		return NULL;
	json_object_del(c, VIA_KEY);
	json_object_del(c, "third_party_invite");
	m = mjson_str(c, "membership");
	if (ctx->third_party_invite != NULL && m != NULL && strcmp(m, "invite") == 0 &&
	    json_object_set_new(c, "third_party_invite",
	    json_deep_copy(ctx->third_party_invite)) == -1) {
		json_decref(c);
		return NULL;
	}
	if (m != NULL && strcmp(m, "join") == 0 && strcmp(sender, target) == 0 &&
	    (via = mroom_join_authoriser(ctx, room_id, sender)) != NULL) {
		json_object_set_new(c, VIA_KEY, json_string(via));
		free(via);
	}
	return c;
}

/*
 * ctx->target against the target's current membership.  Spec: C-S API,
 * POST /kick, 403: "The kickee is not currently in the room"; a kick of
 * a banned user would lift the ban, which is /unban's (Synapse refuses
 * both).  MROOM_OK, MROOM_FORBIDDEN with ctx->why set, or MROOM_ERROR.
 */
static enum mroom_err
target_check(struct mroom_ctx *ctx, struct stateview *sv, const char *target)
{
	const json_t	*cur = mroom_sv_get(sv, "m.room.member", target);
	const char	*m = mjson_str(json_object_get(cur, "content"), "membership");

	if (sv->err)
		return MROOM_ERROR;
	switch (ctx->target) {
	case MROOM_TARGET_IN_ROOM:
		if (m != NULL && (strcmp(m, "join") == 0 || strcmp(m, "invite") == 0 ||
		    strcmp(m, "knock") == 0))
			return MROOM_OK;
		snprintf(ctx->why, sizeof(ctx->why), "The target user is not in the room");
		return MROOM_FORBIDDEN;
	case MROOM_TARGET_BANNED:
		if (m != NULL && strcmp(m, "ban") == 0)
			return MROOM_OK;
		snprintf(ctx->why, sizeof(ctx->why), "The user is not banned");
		return MROOM_FORBIDDEN;
	case MROOM_TARGET_ANY:
	default:
		return MROOM_OK;
	}
}

/*
 * As Synapse: a state event with the type, state_key, sender and content
 * of the current one is the current one (joining twice, setting the same
 * state twice).  Member events are compared without the voucher: the
 * first join to a restricted room has one and a repeat needs none.  1
 * when cur is such a duplicate, 0 otherwise (or out of memory).
 */
static int
same_state(const json_t *cur, const char *type, const char *sender, const json_t *content)
{
	const json_t	*had = json_object_get(cur, "content");
	const char	*was = mjson_str(cur, "sender");
	json_t		*a, *b;
	int		 same;

	if (cur == NULL || was == NULL || strcmp(was, sender) != 0)
		return 0;
	if (json_equal(had, content))
		return 1;
	if (strcmp(type, "m.room.member") != 0 || json_object_get(had, VIA_KEY) == NULL)
		return 0;
	a = json_deep_copy(had);
	b = json_deep_copy(content);
	json_object_del(a, VIA_KEY);
	json_object_del(b, VIA_KEY);
	same = a != NULL && b != NULL && json_equal(a, b);
	json_decref(a);
	json_decref(b);
	return same;
}

/*
 * Spec: C-S API, "Account suspension": a suspended user may read, leave
 * rooms and reject invites, and redact their own events, but sends
 * nothing else.  Checked here, on the one write path of local events,
 * so that no endpoint sending for a user can forget it.  A sender not
 * of this server has no account here and is never suspended.
 * MROOM_OK, MROOM_SUSPENDED or MROOM_ERROR.
 */
static enum mroom_err
suspended_check(struct mroom_ctx *ctx, const char *sender, const char *type,
    const char *state_key, const json_t *content, const char *redacts)
{
	struct mevrow	 row;
	const char	*m;
	int		 locked, suspended, rc;

	/* m.room.redaction's redacts may be in content (room v11) instead. */
	if (redacts == NULL)
		redacts = mjson_str(content, "redacts");
	/* The request's authentication read the flags of whom it acts for. */
	if (ctx->auth_user != NULL && strcmp(ctx->auth_user, sender) == 0)
		suspended = ctx->auth_suspended;
	else if (mstore_user_flags(ctx->db, sender, &locked, &suspended) == -1)
		return MROOM_ERROR;
	if (!suspended)
		return MROOM_OK;
	m = mjson_str(content, "membership");
	if (state_key != NULL && strcmp(type, "m.room.member") == 0 &&
	    strcmp(state_key, sender) == 0 && m != NULL && strcmp(m, "leave") == 0)
		return MROOM_OK;
	if (strcmp(type, "m.room.redaction") == 0 && redacts != NULL) {
		if ((rc = mstore_event_get(ctx->db, redacts, &row)) == -1)
			return MROOM_ERROR;
		if (rc == 1) {
			rc = row.sender != NULL && strcmp(row.sender, sender) == 0;
			mevrow_fini(&row);
			if (rc)
				return MROOM_OK;
		}
	}
	snprintf(ctx->why, sizeof(ctx->why), "This account is suspended");
	return MROOM_SUSPENDED;
}

/*
 * What the checks of a local event about to be built read of the current
 * state, read at once: its auth events and, a state event, the entry it
 * would replace.  A failure sets sv->err, which its readers see.
 */
static void
prefetch(struct stateview *sv, const struct mroomver *ver, const char *sender,
    const char *type, const char *state_key, const json_t *content)
{
	struct mstate_key	 keys[MAX_AUTH_TYPES + 1];
	json_t			*proto;
	size_t			 n, i;

	/* The fields mevent_auth_types reads. */
	proto = json_pack("{s:s,s:s,s:O}", "type", type, "sender", sender, "content",
	    content);
	if (proto == NULL || (state_key != NULL &&
	    json_object_set_new(proto, "state_key", json_string(state_key)) == -1)) {
		json_decref(proto);
		sv->err = 1;
		return;
	}
	n = mevent_auth_types(proto, ver, keys, MAX_AUTH_TYPES);
	for (i = 0; state_key != NULL && i < n; i++)
		if (strcmp(keys[i].type, type) == 0 && strcmp(keys[i].state_key, state_key) == 0)
			break;
	if (state_key != NULL && i == n) {
		keys[n].type = type;
		keys[n++].state_key = state_key;
	}
	mroom_sv_prefetch(sv, keys, n);
	json_decref(proto);
}

enum mroom_err
mroom_send(struct mroom_ctx *ctx, const char *room_id, const char *sender,
    const char *type, const char *state_key, const json_t *content, const char *redacts,
    const struct mroom_txn *txn, char **event_id)
{
	struct mroom		 room;
	const struct mroomver	*ver;
	struct stateview	 sv;
	json_t			*prev = NULL, *groups = NULL, *ev = NULL, *member = NULL;
	const json_t		*cur;
	const char		*target;
	int64_t			 maxdepth, before;
	enum mroom_err		 rc;
	int			 found;

	*event_id = NULL;
	ctx->why[0] = '\0';
	memset(&sv, 0, sizeof(sv));
	if ((rc = mroom_policy_check(ctx, room_id, type, state_key, content)) != MROOM_OK)
		return rc;
	/* Local events only, as Synapse's validator: a received one is stored as sent. */
	if (mroom_retention_check(type, state_key, content, ctx->why, sizeof(ctx->why)) == -1)
		return MROOM_BAD_JSON;
	rc = MROOM_ERROR;
	if (txn != NULL && txn->txn_id != NULL && !txn->unsent) {
		/* Spec: C-S API, "Transaction identifiers": a retry is the same event. */
		if ((found = mstore_event_by_txn(ctx->db, room_id, txn->user_id,
		    txn->device_id, txn->txn_id, txn->scope, event_id)) != 0)
			return found == 1 ? MROOM_OK : MROOM_ERROR;
	}
	if ((rc = suspended_check(ctx, sender, type, state_key, content, redacts)) != MROOM_OK)
		return rc;
	rc = MROOM_ERROR;
	/* The lock, then the extremities under it, in one round trip. */
	mstore_room_lock_ahead(ctx->db, room_id);
	if ((found = mstore_room_get_locked(ctx->db, room_id, &room)) != 1)
		return found == 0 ? MROOM_NO_ROOM : MROOM_ERROR;
	if ((ver = mroomver_get(room.version)) == NULL) {
		mlog_err(NULL, "%s: room %s has unknown version %s", __func__, room_id, room.version);
		goto out;
	}
	sv.ctx = ctx;
	sv.room_id = room_id;
	if ((sv.cache = json_object()) == NULL ||
	    (prev = mstore_fwd_tip(ctx->db, room_id, &maxdepth, &groups)) == NULL)
		goto out;
	/* Every extremity: the state before is the current state. */
	if ((rc = mroom_state_resolve_groups(ctx, ver, room_id, groups, &before)) != MROOM_OK)
		goto out;
	rc = MROOM_ERROR;
	if (state_key != NULL && strcmp(type, "m.room.member") == 0) {
		if ((member = member_content(ctx, room_id, sender, state_key, content)) == NULL)
			goto out;
		content = member;
	}
	prefetch(&sv, ver, sender, type, state_key, content);
	if (member != NULL) {
		if ((rc = target_check(ctx, &sv, state_key)) != MROOM_OK)
			goto out;
		rc = MROOM_ERROR;
	}
	if (state_key != NULL) {
		cur = mroom_sv_get(&sv, type, state_key);
		if (sv.err)
			goto out;
		if (same_state(cur, type, sender, content)) {
			if (mjson_str(cur, "event_id") != NULL &&
			    (*event_id = strdup(mjson_str(cur, "event_id"))) != NULL)
				rc = MROOM_OK;
			goto out;
		}
	}
	/* Spec: S-S API: depth is one more than the deepest prev event, capped. */
	if (maxdepth >= INT64_C(9007199254740991))
		maxdepth = INT64_C(9007199254740991) - 1;
	ev = build(ctx, ver, &sv, room_id, sender, type, state_key, content, redacts, prev,
	    maxdepth + 1, event_id, &rc);
	if (ev == NULL)
		goto out;
	/* The target as persist() reads it: v11 clients may name it in content. */
	target = redacts != NULL ? redacts : strcmp(type, "m.room.redaction") == 0 ?
	    mjson_str(content, "redacts") : NULL;
	if (target != NULL &&
	    (rc = redaction_check(ctx, ver, &sv, target, sender, room_id)) != MROOM_OK)
		goto out;
	if ((rc = mroom_canonical_alias_check(ctx, room_id, type, state_key, content)) !=
	    MROOM_OK)
		goto out;
	rc = mroom_persist(ctx, ver, &sv, ev, *event_id, room_id, before, prev, txn, NULL);
out:
	if (rc != MROOM_OK) {
		free(*event_id);
		*event_id = NULL;
	}
	json_decref(ev);
	json_decref(member);
	json_decref(prev);
	json_decref(groups);
	json_decref(sv.cache);
	mroom_fini(&room);
	return rc;
}

enum mroom_err
mroom_create(struct mroom_ctx *ctx, const struct mroomver *ver, const char *creator,
    const json_t *creation_content, const json_t *initial, char **room_id)
{
	struct stateview	 sv;
	json_t			*content = NULL, *ev = NULL, *noprev = json_array();
	char			*id = NULL, *rid = NULL;
	enum mroom_err		 rc = MROOM_ERROR;
	size_t			 i;
	json_t			*item;
	/* Read once: the analyzer cannot tell that build() leaves *ver alone. */
	const int		 derived_id = ver->create_room_id;

	*room_id = NULL;
	ctx->why[0] = '\0';
	memset(&sv, 0, sizeof(sv));
	sv.ctx = ctx;
	if (noprev == NULL || (sv.cache = json_object()) == NULL)
		goto out;
	content = creation_content != NULL ? json_deep_copy(creation_content) : json_object();
	if (content == NULL)
		goto out;
	json_object_set_new(content, "room_version", json_string(ver->id));
	/*
	 * Spec: room versions 1-10 name the creator in the content; later
	 * ones by the sender, and a "creator" a client put there would only
	 * mislead whoever still reads it.
	 */
	if (!ver->implicit_creator)
		json_object_set_new(content, "creator", json_string(creator));
	else
		json_object_del(content, "creator");
	if (!derived_id && (rid = ctx->new_room_id != NULL ? strdup(ctx->new_room_id) :
	    opaque_id('!', ctx->server_name)) == NULL)
		goto out;
	sv.room_id = rid;
	ev = build(ctx, ver, &sv, rid, creator, "m.room.create", "", content, NULL, noprev,
	    1, &id, &rc);
	if (ev == NULL)
		goto out;
	rc = MROOM_ERROR;
	if (derived_id) {
		/* Spec: room version 12: the room ID is the create event's ID, sigil "!". */
		if (asprintf(&rid, "!%s", id + 1) == -1) {
			rid = NULL;
			goto out;
		}
		sv.room_id = rid;
	}
	switch (mstore_room_add(ctx->db, rid, ver->id, creator)) {
	case 0:
		break;
	case MSTORE_CONFLICT:
		rc = MROOM_CONFLICT;
		goto out;
	default:
		goto out;
	}
	if ((rc = mroom_persist(ctx, ver, &sv, ev, id, rid, 0, noprev, NULL, NULL)) !=
	    MROOM_OK)
		goto out;
	json_array_foreach(initial, i, item) {
		char *eid = NULL;

		rc = mroom_send(ctx, rid, creator, mjson_str(item, "type"),
		    mjson_str(item, "state_key"), json_object_get(item, "content"), NULL, NULL, &eid);
		free(eid);
		if (rc != MROOM_OK)
			goto out;
	}
	*room_id = rid;
	rid = NULL;
	rc = MROOM_OK;
out:
	free(id);
	free(rid);
	json_decref(ev);
	json_decref(content);
	json_decref(noprev);
	json_decref(sv.cache);
	return rc;
}

/*
 * Copies the client-visible top-level fields of a PDU into out and names
 * it: event_id, and room_id when the PDU has none (the v12 create event).
 */
static void
client_fields(json_t *out, const json_t *pdu, const char *event_id, const char *room_id,
    const char *type)
{
	static const char *const keep[] = {
		"content", "origin_server_ts", "room_id", "sender", "type", "state_key", "redacts",
	};

	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		json_t *v = json_object_get(pdu, keep[i]);

		if (v != NULL)
			json_object_set(out, keep[i], v);
	}
	json_object_set_new(out, "event_id", json_string(event_id));
	if (json_object_get(out, "room_id") == NULL && room_id != NULL)
		json_object_set_new(out, "room_id", json_string(room_id));
	/* v11 moved redacts into content; clients still read the top level. */
	if (json_object_get(out, "redacts") == NULL &&
	    mjson_str(json_object_get(pdu, "content"), "redacts") != NULL &&
	    type != NULL && strcmp(type, "m.room.redaction") == 0)
		json_object_set(out, "redacts", json_object_get(json_object_get(pdu, "content"),
		    "redacts"));
}

/*
 * Spec: C-S API, "Redactions": unsigned.redacted_because is the
 * redaction event (redaction, its PDU, ID redacted_by), in the client
 * format; only its ID when this server no longer has it.
 */
static json_t *
redacted_because(const json_t *redaction, const char *redacted_by, const char *room_id)
{
	json_t *out;

	if (!json_is_object(redaction))
		return json_pack("{s:s}", "event_id", redacted_by);
	if ((out = json_object()) == NULL)
		return NULL;
	client_fields(out, redaction, redacted_by, room_id, mjson_str(redaction, "type"));
	return out;
}

json_t *
mroom_client_event(const struct mevrow *row, int64_t now_ms, const char *viewer_user,
    const char *viewer_device)
{
	json_t	*out, *u;

	if ((out = json_object()) == NULL || (u = json_object()) == NULL) {
		json_decref(out);
		return NULL;
	}
	client_fields(out, row->json, row->event_id, row->room_id, row->type);
	json_object_set_new(u, "age", json_integer(now_ms - row->origin_server_ts));
	if (row->txn_id != NULL && viewer_user != NULL && viewer_device != NULL &&
	    strcmp(row->txn_user, viewer_user) == 0 && strcmp(row->txn_device, viewer_device) == 0)
		json_object_set_new(u, "transaction_id", json_string(row->txn_id));
	/* Spec: C-S API, "Room event format": the replaced state event's content. */
	if (row->replaces_state != NULL)
		json_object_set_new(u, "replaces_state", json_string(row->replaces_state));
	if (row->prev_content != NULL)
		json_object_set(u, "prev_content", row->prev_content);
	if (row->prev_sender != NULL)
		json_object_set_new(u, "prev_sender", json_string(row->prev_sender));
	/* As Synapse: unsigned.redacted_by names the redaction too (SyTest reads it). */
	if (row->redacted_by != NULL) {
		json_object_set_new(u, "redacted_because", redacted_because(row->redaction,
		    row->redacted_by, row->room_id));
		json_object_set_new(u, "redacted_by", json_string(row->redacted_by));
	}
	json_object_set_new(out, "unsigned", u);
	return out;
}

json_t *
mroom_state_client_event(const json_t *ev, const char *room_id, int64_t now_ms,
    const char *viewer_user, const char *viewer_device)
{
	struct mevrow	 row;
	const json_t	*u = json_object_get(ev, "unsigned");
	json_t		*because = json_object_get(u, "redacted_because");

	memset(&row, 0, sizeof(row));
	row.event_id = (char *)mjson_str(ev, "event_id");
	row.room_id = (char *)(room_id != NULL ? room_id : mjson_str(ev, "room_id"));
	row.type = (char *)mjson_str(ev, "type");
	row.origin_server_ts = json_integer_value(json_object_get(ev, "origin_server_ts"));
	row.json = (json_t *)ev;
	/* The notes the store's view put in unsigned (see mstore_cstate_event). */
	row.replaces_state = (char *)mjson_str(u, "replaces_state");
	row.prev_content = json_object_get(u, "prev_content");
	row.prev_sender = (char *)mjson_str(u, "prev_sender");
	row.redacted_by = (char *)mjson_str(because, "event_id");
	row.redaction = because;
	return mroom_client_event(&row, now_ms, viewer_user, viewer_device);
}

/* Appends a string literal. */
#define BUF_LIT(b, lit)	mjson_buf_add((b), (lit), sizeof(lit) - 1)

/* What client_text writes an event from: its stored texts and columns. */
struct evsrc {
	const char	*js;		/* the PDU */
	const char	*event_id;
	const char	*room_id;	/* when the PDU has none */
	int64_t		 ts;		/* origin_server_ts, when ts_known */
	int		 ts_known;
	const char	*txn_id;	/* for the viewer's own device only */
	const char	*replaces, *prev_js;
};

/* 1 when the key k[0..kl) is name. */
static int
key_is(const char *k, size_t kl, const char *name)
{
	return strlen(name) == kl && memcmp(k, name, kl) == 0;
}

/*
 * The client format of an event from its texts, as client_fields and
 * mroom_client_event write it, appended to b: 1, or 0 with b as it was
 * when the text holds something unexpected (a key with an escape, text
 * that is not an object, an origin_server_ts that is not an integer),
 * or -1 when memory ran out.  Redactions and redacted events are not
 * made here (see the callers).
 */
static int
client_text_add(struct mjson_buf *bp, const struct evsrc *e, int64_t now_ms)
{
#define KEEP(name)	{ name, sizeof(name) - 1 }
	static const struct {
		const char	*name;
		size_t		 len;
	} keep[] = {
		KEEP("content"), KEEP("origin_server_ts"), KEEP("room_id"), KEEP("sender"),
		KEEP("type"), KEEP("state_key"), KEEP("redacts"),
	};
#undef KEEP
	struct mjson_buf	 b = *bp;
	struct mjson_scan	 sc;
	const char		*k, *v;
	size_t			 kl, vl, n = 0, jslen = strlen(e->js);
	int64_t			 ts = e->ts;
	int			 r, room = 0, ts_known = e->ts_known, rc = 0;

	if (b.err)
		return -1;
	if (mjson_scan_init(&sc, e->js, jslen) == -1)
		return 0;
	/* Grown once: the client format is the PDU less its hashes and signatures, plus little. */
	if (b.cap - b.len < jslen + 256) {
		size_t	 cap = b.cap + (b.cap > jslen + 256 ? b.cap : jslen + 256);
		char	*nb = realloc(b.b, cap);

		if (nb == NULL) {
			rc = -1;
			goto out;
		}
		b.b = nb;
		b.cap = cap;
	}
	BUF_LIT(&b, "{");
	while ((r = mjson_scan_next(&sc, &k, &kl, &v, &vl)) == 1) {
		size_t i;

		if (memchr(k, '\\', kl) != NULL)
			goto out;
		for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
			if (keep[i].len == kl && memcmp(k, keep[i].name, kl) == 0)
				break;
		if (i == sizeof(keep) / sizeof(keep[0]))
			continue;
		if (key_is(k, kl, "room_id"))
			room = 1;
		if (key_is(k, kl, "origin_server_ts") && !ts_known) {
			char	 num[24], *endp;

			if (vl == 0 || vl >= sizeof(num))
				goto out;
			memcpy(num, v, vl);
			num[vl] = '\0';
			ts = strtoll(num, &endp, 10);
			if (*endp != '\0')
				goto out;
			ts_known = 1;
		}
		if (n++ > 0)
			BUF_LIT(&b, ",");
		mjson_buf_add(&b, k - 1, kl + 2);
		BUF_LIT(&b, ":");
		mjson_buf_add(&b, v, vl);
	}
	if (r == -1 || !ts_known)
		goto out;
	if (n > 0)
		BUF_LIT(&b, ",");
	BUF_LIT(&b, "\"event_id\":");
	mjson_buf_str(&b, e->event_id);
	if (!room && e->room_id != NULL) {
		BUF_LIT(&b, ",\"room_id\":");
		mjson_buf_str(&b, e->room_id);
	}
	BUF_LIT(&b, ",\"unsigned\":{\"age\":");
	mjson_buf_int(&b, (long long)(now_ms - ts));
	if (e->txn_id != NULL) {
		BUF_LIT(&b, ",\"transaction_id\":");
		mjson_buf_str(&b, e->txn_id);
	}
	/* Spec: C-S API, "Room event format": the replaced state event's content. */
	if (e->replaces != NULL) {
		BUF_LIT(&b, ",\"replaces_state\":");
		mjson_buf_str(&b, e->replaces);
	}
	if (e->prev_js != NULL) {
		size_t plen = strlen(e->prev_js);

		if ((r = mjson_scan_get(e->prev_js, plen, "content", &v, &vl)) == -1)
			goto out;
		if (r == 1) {
			BUF_LIT(&b, ",\"prev_content\":");
			mjson_buf_add(&b, v, vl);
		}
		if ((r = mjson_scan_get(e->prev_js, plen, "sender", &v, &vl)) == -1)
			goto out;
		/* As mroom_client_event: a sender only when it is a string. */
		if (r == 1 && vl > 0 && *v == '"') {
			BUF_LIT(&b, ",\"prev_sender\":");
			mjson_buf_add(&b, v, vl);
		}
	}
	BUF_LIT(&b, "}}");
	rc = b.err ? -1 : 1;
out:
	/* The buffer may have moved; its text grows by a whole event only. */
	bp->b = b.b;
	bp->cap = b.cap;
	if (rc == 1)
		bp->len = b.len;
	else if (rc == -1)
		bp->err = 1;
	return rc;
}

/* client_text_add's text as a raw node, or NULL (*err set only when memory ran out). */
static json_t *
client_text(const struct evsrc *e, int64_t now_ms, int *err)
{
	struct mjson_buf	 b = { NULL, 0, 0, 0 };
	json_t			*raw = NULL;
	int			 r;

	if ((r = client_text_add(&b, e, now_ms)) == 1 && (raw = mjson_raw(b.b, b.len)) == NULL)
		r = -1;
	*err = r == -1;
	free(b.b);
	return raw;
}

/* Whether row can be written from its text (client_text_add): e filled then. */
static int
row_src(struct evsrc *e, const struct mevrow *row, const char *viewer_user,
    const char *viewer_device)
{
	if (row->js == NULL || row->redacted_by != NULL ||
	    strcmp(row->type, "m.room.redaction") == 0)
		return 0;
	memset(e, 0, sizeof(*e));
	e->js = row->js;
	e->event_id = row->event_id;
	e->room_id = row->room_id;
	e->ts = row->origin_server_ts;
	e->ts_known = 1;
	if (row->txn_id != NULL && viewer_user != NULL && viewer_device != NULL &&
	    strcmp(row->txn_user, viewer_user) == 0 && strcmp(row->txn_device, viewer_device) == 0)
		e->txn_id = row->txn_id;
	e->replaces = row->replaces_state;
	e->prev_js = row->prev_js;
	return 1;
}

json_t *
mroom_client_event_text(struct mevrow *row, int64_t now_ms, const char *viewer_user,
    const char *viewer_device)
{
	struct evsrc	 e;
	json_t		*raw;
	int		 err;

	if (row_src(&e, row, viewer_user, viewer_device) &&
	    ((raw = client_text(&e, now_ms, &err)) != NULL || err))
		return raw;
	if (mevrow_parse(row) == -1)
		return NULL;
	return mroom_client_event(row, now_ms, viewer_user, viewer_device);
}

int
mroom_client_event_add(struct mjson_buf *b, struct mevrow *row, int64_t now_ms,
    const char *viewer_user, const char *viewer_device)
{
	struct evsrc	 e;
	json_t		*ev;
	int		 r;

	if (row_src(&e, row, viewer_user, viewer_device) &&
	    (r = client_text_add(b, &e, now_ms)) != 0)
		return r == 1 ? 0 : -1;
	if (mevrow_parse(row) == -1 ||
	    (ev = mroom_client_event(row, now_ms, viewer_user, viewer_device)) == NULL)
		return -1;
	r = mjson_buf_dump(b, ev);
	json_decref(ev);
	return r;
}

json_t *
mroom_state_client_event_text(const json_t *ev, const char *room_id, int64_t now_ms,
    const char *viewer_user, const char *viewer_device)
{
	struct mviewtext	 t;
	struct evsrc		 e;
	json_t			*raw, *full;
	int			 err;

	if (!mstore_view_texts(ev, &t))
		return mroom_state_client_event(ev, room_id, now_ms, viewer_user, viewer_device);
	if (strcmp(t.type, "m.room.redaction") != 0) {
		memset(&e, 0, sizeof(e));
		e.js = t.js;
		e.event_id = t.event_id;
		e.room_id = room_id;
		e.replaces = t.replaces;
		e.prev_js = t.prev_js;
		if ((raw = client_text(&e, now_ms, &err)) != NULL || err)
			return raw;
	}
	if ((full = mstore_view_parse((json_t *)ev)) == NULL)
		return NULL;
	raw = mroom_state_client_event(full, room_id, now_ms, viewer_user, viewer_device);
	json_decref(full);
	return raw;
}
