/*
 * Events received from other servers: the spec's "Checks performed on
 * receipt of a PDU" (S-S API), then the write path local events take.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "events/events.h"
#include "json/json.h"
#include "log/log.h"
#include "room/room.h"
#include "room/write.h"
#include "store/store.h"

/* Spec: S-S API, "Size limits": a PDU is at most 65536 bytes of canonical JSON. */
#define PDU_MAX_BYTES	65536
/* Spec: C-S API, "Size limits": type, state_key, sender, room and event IDs. */
#define ID_MAX_BYTES	255
/* Spec: appendix, "Canonical JSON": integers within +-(2**53 - 1). */
#define DEPTH_MAX	INT64_C(9007199254740991)
/* As Synapse: more prev or auth events than this is not a valid event. */
#define MAX_PREV	20
#define MAX_AUTH	10
#define MAX_AUTH_TYPES	8
/* Spec: C-S API, "Restricted rooms": the resident server that vouches for a join. */
#define VIA_KEY		"join_authorised_via_users_server"

void
mroom_recv_fini(struct mroom_recv *r)
{
	if (r == NULL)
		return;
	free(r->event_id);
	r->event_id = NULL;
	json_decref(r->missing);
	r->missing = NULL;
}

/* The server name of a user or event ID (after its first ':'), or NULL. */
static const char *
server_of(const char *id)
{
	const char *p;

	if (id == NULL || (p = strchr(id, ':')) == NULL || p[1] == '\0')
		return NULL;
	return p + 1;
}

/* Sets ctx->why and returns MROOM_BAD_EVENT: a PDU that is not a valid event. */
static enum mroom_err
invalid(struct mroom_ctx *ctx, const char *why)
{
	snprintf(ctx->why, sizeof(ctx->why), "Invalid PDU: %s", why);
	return MROOM_BAD_EVENT;
}

/* A string field of at most ID_MAX_BYTES (1), or not (0). */
static int
short_str(const json_t *v)
{
	return json_is_string(v) && json_string_length(v) <= ID_MAX_BYTES &&
	    strlen(json_string_value(v)) == json_string_length(v);
}

/*
 * The event IDs of a list of references, prev_events or auth_events:
 * strings from room version 3, [event_id, {"sha256": hash}] pairs
 * before.  A new JSON array of strings, or NULL when refs is not one.
 */
static json_t *
ref_ids(const struct mroomver *ver, const json_t *refs, size_t max)
{
	json_t		*out, *r;
	const json_t	*id;
	size_t		 i;

	if (!json_is_array(refs) || json_array_size(refs) > max || (out = json_array()) == NULL)
		return NULL;
	json_array_foreach(refs, i, r) {
		id = ver->evid == MEVID_V1 ? json_array_get(r, 0) : r;
		if ((ver->evid == MEVID_V1 && (!json_is_array(r) || json_array_size(r) != 2 ||
		    !json_is_object(json_array_get(r, 1)))) || !short_str(id) ||
		    json_string_value(id)[0] != '$' ||
		    json_array_append(out, (json_t *)id) == -1) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

/*
 * Spec: S-S API, "Checks performed on receipt of a PDU", 1: the event
 * format of the room version (rooms, "Event format"), with the size
 * limits; room_id NULL for a create event of room version 12.  MROOM_OK,
 * or MROOM_BAD_EVENT with ctx->why set.
 */
static enum mroom_err
shape_check(struct mroom_ctx *ctx, const struct mroomver *ver, const json_t *pdu,
    const char *room_id)
{
	const json_t	*depth, *ts, *h, *sigs, *sk;
	char		*js;
	size_t		 n;

	if (!json_is_object(pdu))
		return invalid(ctx, "not an object");
	if ((js = mjson_canonical(pdu, &n)) == NULL)
		return invalid(ctx, "not canonical JSON (floats, integers beyond 2**53)");
	free(js);
	if (n > PDU_MAX_BYTES)
		return invalid(ctx, "more than 65536 bytes");
	/* Spec: room version 12: the create event has no room_id, its ID names the room. */
	if (room_id == NULL) {
		if (json_object_get(pdu, "room_id") != NULL)
			return invalid(ctx, "a create event of this version has no room_id");
	} else if (!short_str(json_object_get(pdu, "room_id")) ||
	    strcmp(mjson_str(pdu, "room_id"), room_id) != 0 || room_id[0] != '!' ||
	    (!ver->create_room_id && server_of(room_id) == NULL))
		return invalid(ctx, "room_id");
	if (!short_str(json_object_get(pdu, "sender")) ||
	    !mroom_user_id_check(mjson_str(pdu, "sender")))
		return invalid(ctx, "sender is not a user ID");
	if (!short_str(json_object_get(pdu, "type")))
		return invalid(ctx, "type is not a string of at most 255 bytes");
	if ((sk = json_object_get(pdu, "state_key")) != NULL && !short_str(sk))
		return invalid(ctx, "state_key is not a string of at most 255 bytes");
	if (!json_is_object(json_object_get(pdu, "content")))
		return invalid(ctx, "content is not an object");
	depth = json_object_get(pdu, "depth");
	if (!json_is_integer(depth) || json_integer_value(depth) < 0 ||
	    json_integer_value(depth) > DEPTH_MAX)
		return invalid(ctx, "depth is not an integer in [0, 2**53)");
	ts = json_object_get(pdu, "origin_server_ts");
	if (!json_is_integer(ts))
		return invalid(ctx, "origin_server_ts is not an integer");
	/*
	 * As Synapse: the signatures are checked before the content hash,
	 * and an event without one is as one whose hash does not match
	 * (redacted, step 3), so that an unsigned event is refused as such.
	 */
	h = json_object_get(pdu, "hashes");
	if (h != NULL && !json_is_object(h))
		return invalid(ctx, "hashes is not an object");
	/* Absent: unsigned, which the signature check refuses (403 on send_join). */
	sigs = json_object_get(pdu, "signatures");
	if (sigs != NULL && !json_is_object(sigs))
		return invalid(ctx, "signatures is not an object");
	if (ver->evid == MEVID_V1 && (!short_str(json_object_get(pdu, "event_id")) ||
	    mjson_str(pdu, "event_id")[0] != '$' || server_of(mjson_str(pdu, "event_id")) == NULL))
		return invalid(ctx, "event_id");
	if (json_object_get(pdu, "redacts") != NULL && !short_str(json_object_get(pdu, "redacts")))
		return invalid(ctx, "redacts");
	return MROOM_OK;
}

/*
 * 1 when one of server's ed25519 signatures on the redacted event red
 * verifies with a key keyfn gives for it, else 0.
 */
static int
signed_by(const struct mroom_recv *r, const json_t *red, const char *server, int64_t ts)
{
	const json_t	*mine = json_object_get(json_object_get(red, "signatures"), server);
	const char	*kid;
	json_t		*v;
	unsigned char	 pk[32];

	if (!json_is_object(mine) || r->key == NULL)
		return 0;
	json_object_foreach((json_t *)mine, kid, v) {
		if (strncmp(kid, "ed25519:", 8) != 0 || !json_is_string(v))
			continue;
		if (r->key(r->key_arg, server, kid, ts, pk) == 0 &&
		    mcrypto_verify_json(red, server, kid, pk) == 0)
			return 1;
	}
	return 0;
}

/*
 * Spec: S-S API, "Validating hashes and signatures on received events":
 * the sender's server signs the redacted event; in room versions 1 and 2
 * the server that named the event ID; from version 8, the server of the
 * user a restricted join names as its voucher.  MROOM_OK, or
 * MROOM_BAD_SIGNATURE with ctx->why set, or MROOM_ERROR.
 */
static enum mroom_err
signature_check(struct mroom_ctx *ctx, const struct mroomver *ver, const json_t *pdu,
    const struct mroom_recv *r)
{
	const char	*need[3], *via, *alt = NULL;
	json_t		*red;
	int64_t		 ts = json_integer_value(json_object_get(pdu, "origin_server_ts"));
	size_t		 n = 0, i;
	enum mroom_err	 rc = MROOM_OK;

	/*
	 * An invite made of a third-party invite may be made by the server
	 * of its invitee, which did the exchange (Synapse exempts it from
	 * the sender's server's signature): that server's signature does
	 * instead of the sender's.
	 */
	if (mjson_str(pdu, "type") != NULL && strcmp(mjson_str(pdu, "type"), "m.room.member") == 0 &&
	    mjson_str(json_object_get(pdu, "content"), "membership") != NULL &&
	    strcmp(mjson_str(json_object_get(pdu, "content"), "membership"), "invite") == 0 &&
	    json_is_object(json_object_get(json_object_get(pdu, "content"), "third_party_invite")))
		alt = server_of(mjson_str(pdu, "state_key"));
	need[n++] = server_of(mjson_str(pdu, "sender"));
	if (ver->evid == MEVID_V1)
		need[n++] = server_of(mjson_str(pdu, "event_id"));
	via = mjson_str(json_object_get(pdu, "content"), VIA_KEY);
	if (ver->restricted && via != NULL && strcmp(mjson_str(pdu, "type"), "m.room.member") == 0 &&
	    mjson_str(json_object_get(pdu, "content"), "membership") != NULL &&
	    strcmp(mjson_str(json_object_get(pdu, "content"), "membership"), "join") == 0) {
		if (!mroom_user_id_check(via)) {
			snprintf(ctx->why, sizeof(ctx->why), "Invalid PDU: %s", VIA_KEY);
			return MROOM_BAD_SIGNATURE;
		}
		need[n++] = server_of(via);
	}
	if ((red = mevent_redact(pdu, ver)) == NULL)
		return MROOM_ERROR;
	for (i = 0; i < n; i++)
		if ((need[i] == NULL || !signed_by(r, red, need[i], ts)) &&
		    !(i == 0 && alt != NULL && signed_by(r, red, alt, ts))) {
			snprintf(ctx->why, sizeof(ctx->why), "No valid signature of %s",
			    need[i] != NULL ? need[i] : "the sender's server");
			rc = MROOM_BAD_SIGNATURE;
			break;
		}
	json_decref(red);
	return rc;
}

/* Adds id to *list (made when NULL).  0 or -1. */
static int
missing_add(json_t **list, const char *id)
{
	if (*list == NULL && (*list = json_array()) == NULL)
		return -1;
	return json_array_append_new(*list, json_string(id));
}

/*
 * The state map an event's auth_events make (key -> event ID), checked
 * as the auth rules require before they run (room versions, "Authorization
 * rules", the rule on auth events): no two for one (type, state_key), none
 * the selection algorithm would not pick, each in the room and accepted.
 * From room version 12 the create event, named by the room ID, is added.
 * MROOM_OK with *map; MROOM_FORBIDDEN with ctx->why (the event is to be
 * rejected); MROOM_MISSING with the unknown ones added to *missing;
 * MROOM_ERROR.
 */
static enum mroom_err
auth_map(struct mroom_ctx *ctx, const struct mroomver *ver, const json_t *ev,
    const json_t *auth_ids, const char *room_id, json_t **map, json_t **missing)
{
	struct mstate_key	 keys[MAX_AUTH_TYPES];
	struct mevflags		 f;
	struct mevrow		 row;
	json_t			*m, *a;
	const char		*id, *t, *sk;
	char			*k;
	size_t			 i, j, n;
	int			 found, wanted;
	enum mroom_err		 rc = MROOM_ERROR;

	*map = NULL;
	if ((m = json_object()) == NULL)
		return MROOM_ERROR;
	n = mevent_auth_types(ev, ver, keys, MAX_AUTH_TYPES);
	json_array_foreach(auth_ids, i, a) {
		id = json_string_value(a);
		if ((found = mstore_event_flags(ctx->db, id, &f)) == -1)
			goto out;
		if (found == 0) {
			if (missing_add(missing, id) == -1)
				goto out;
			continue;
		}
		found = strcmp(f.room_id, room_id) == 0;
		free(f.room_id);
		if (!found || f.rejected) {
			snprintf(ctx->why, sizeof(ctx->why), "auth event %s is %s", id,
			    !found ? "of another room" : "rejected");
			rc = MROOM_FORBIDDEN;
			goto out;
		}
		if (mstore_event_get(ctx->db, id, &row) != 1)
			goto out;
		t = row.type;
		sk = row.state_key;
		wanted = 0;
		for (j = 0; sk != NULL && j < n; j++)
			if (strcmp(keys[j].type, t) == 0 && strcmp(keys[j].state_key, sk) == 0)
				wanted = 1;
		k = sk != NULL ? mstate_key_join(t, sk) : NULL;
		if (!wanted || k == NULL || json_object_get(m, k) != NULL) {
			snprintf(ctx->why, sizeof(ctx->why), "auth event %s (%s) is %s", id, t,
			    !wanted ? "not one the auth rules select" : "a duplicate");
			free(k);
			mevrow_fini(&row);
			rc = MROOM_FORBIDDEN;
			goto out;
		}
		mevrow_fini(&row);
		if (json_object_set_new(m, k, json_string(id)) == -1) {
			free(k);
			goto out;
		}
		free(k);
	}
	if (*missing != NULL) {
		rc = MROOM_MISSING;
		goto out;
	}
	/* Spec: room version 12: the create event's ID is the room ID's. */
	if (ver->create_room_id && room_id[0] == '!') {
		char *cid = strdup(room_id);

		if (cid == NULL)
			goto out;
		cid[0] = '$';
		k = mstate_key_join("m.room.create", "");
		if (k == NULL || json_object_set_new(m, k, json_string(cid)) == -1) {
			free(k);
			free(cid);
			goto out;
		}
		free(k);
		free(cid);
	}
	*map = m;
	m = NULL;
	rc = MROOM_OK;
out:
	json_decref(m);
	return rc;
}

/* 1 when the sets of IDs a and b (JSON arrays) are equal, else 0. */
static int
same_set(const json_t *a, const json_t *b)
{
	size_t	 i, j;
	json_t	*x, *y;
	int	 in;

	if (json_array_size(a) != json_array_size(b))
		return 0;
	json_array_foreach(a, i, x) {
		in = 0;
		json_array_foreach(b, j, y)
			if (json_equal(x, y))
				in = 1;
		if (!in)
			return 0;
	}
	return 1;
}

/* The auth rules against the state map (new view per check).  1 allowed, 0, -1. */
static int
auth_against(struct mroom_ctx *ctx, const struct mroomver *ver, const json_t *ev,
    const char *room_id, const json_t *map)
{
	struct stateview	 sv;
	int			 ok;

	memset(&sv, 0, sizeof(sv));
	sv.ctx = ctx;
	sv.room_id = room_id;
	sv.map = map;
	if ((sv.cache = json_object()) == NULL)
		return -1;
	ok = mevent_auth_check(ev, ver, mroom_sv_get, &sv, ctx->why, sizeof(ctx->why));
	json_decref(sv.cache);
	return sv.err ? -1 : ok;
}

/*
 * The room version a create event names (spec: m.room.create,
 * room_version, "1" when absent), when supported: MROOM_OK with *ver,
 * else MROOM_BAD_EVENT with ctx->why set.
 */
static enum mroom_err
create_version(struct mroom_ctx *ctx, const json_t *pdu, const struct mroomver **ver)
{
	const json_t *v = json_object_get(json_object_get(pdu, "content"), "room_version");

	if (v != NULL && !json_is_string(v))
		return invalid(ctx, "room_version is not a string");
	if ((*ver = mroomver_get(v != NULL ? json_string_value(v) : "1")) == NULL) {
		snprintf(ctx->why, sizeof(ctx->why), "Unsupported room version %.64s",
		    v != NULL ? json_string_value(v) : "1");
		return MROOM_BAD_EVENT;
	}
	return MROOM_OK;
}

/*
 * The state before an event that its origin gave (r->state, from
 * /state_ids or a send_join answer), stored as a new group: every event
 * named must be stored here (outliers will do), of the room and not
 * rejected.  MROOM_OK with *group; MROOM_MISSING with the unknown ones
 * in r->missing; MROOM_BAD_EVENT (another room's, a rejected one, not a
 * state map); MROOM_ERROR.
 */
static enum mroom_err
given_state(struct mroom_ctx *ctx, const char *room_id, struct mroom_recv *r,
    int64_t *group)
{
	struct mevflags	 f;
	const char	*k;
	json_t		*v;
	int		 found, same;

	if (!json_is_object(r->state))
		return invalid(ctx, "the given state is not a state map");
	json_object_foreach((json_t *)r->state, k, v) {
		if (!json_is_string(v) || strchr(k, '\x1f') == NULL)
			return invalid(ctx, "the given state is not a state map");
		if ((found = mstore_event_flags(ctx->db, json_string_value(v), &f)) == -1)
			return MROOM_ERROR;
		if (found == 0) {
			if (missing_add(&r->missing, json_string_value(v)) == -1)
				return MROOM_ERROR;
			continue;
		}
		same = strcmp(f.room_id, room_id) == 0;
		free(f.room_id);
		if (!same || f.rejected)
			return invalid(ctx, "the given state names an event of another room"
			    " or a rejected one");
	}
	if (r->missing != NULL)
		return MROOM_MISSING;
	return mstore_sgroup_add(ctx->db, room_id, 0, r->state, group) == 0 ? MROOM_OK :
	    MROOM_ERROR;
}

/*
 * *group (the given state) resolved with the states after the prev
 * events of prev that are stored in the room's DAG (not outliers).
 */
static enum mroom_err
with_known_prevs(struct mroom_ctx *ctx, const struct mroomver *ver, const char *room_id,
    const json_t *prev, int64_t *group)
{
	struct mevflags	 f;
	json_t		*groups, *p;
	enum mroom_err	 rc;
	size_t		 i;
	int		 found;

	if ((groups = json_pack("[I]", (json_int_t)*group)) == NULL)
		return MROOM_ERROR;
	json_array_foreach(prev, i, p) {
		if ((found = mstore_event_flags(ctx->db, json_string_value(p), &f)) == -1) {
			json_decref(groups);
			return MROOM_ERROR;
		}
		if (found == 0)
			continue;
		if (!f.outlier && f.state_after != 0 && strcmp(f.room_id, room_id) == 0)
			json_array_append_new(groups, json_integer(f.state_after));
		free(f.room_id);
	}
	rc = mroom_state_resolve_groups(ctx, ver, room_id, groups, group);
	json_decref(groups);
	return rc;
}

enum mroom_err
mroom_receive(struct mroom_ctx *ctx, const char *origin, const json_t *pdu,
    struct mroom_recv *r)
{
	struct mroom		 room;
	struct mroom_pflags	 fl;
	struct mevflags		 f;
	const struct mroomver	*ver;
	struct stateview	 sv;
	json_t			*ev = NULL, *prev = NULL, *auths = NULL, *amap = NULL;
	json_t			*bmap = NULL, *fwd = NULL, *p;
	const char		*room_id = mjson_str(pdu, "room_id");
	const char		*type = mjson_str(pdu, "type"), *sk = mjson_str(pdu, "state_key");
	char			 reason[sizeof(ctx->why)], *rid = NULL;
	int64_t			 before = 0, maxdepth;
	enum mroom_err		 rc = MROOM_ERROR;
	size_t			 i;
	int			 found = 0, ok, create, newroom = 0;

	r->event_id = NULL;
	r->missing = NULL;
	r->fate = MROOM_FATE_KNOWN;
	r->redacted = 0;
	ctx->why[0] = '\0';
	memset(&sv, 0, sizeof(sv));
	memset(&fl, 0, sizeof(fl));
	memset(&room, 0, sizeof(room));
	if (!json_is_object(pdu))
		return invalid(ctx, "not an object");
	create = type != NULL && sk != NULL && strcmp(type, "m.room.create") == 0 && *sk == '\0';
	if (room_id != NULL && (found = mstore_room_get(ctx->db, room_id, &room)) == -1)
		return MROOM_ERROR;
	if (found == 0) {
		/* A room new here: only its create event, and only when asked (a join). */
		if (!create || !(r->flags & MROOM_RECV_NEW_ROOM))
			return room_id == NULL ? invalid(ctx, "no room_id") : MROOM_NO_ROOM;
		if ((rc = create_version(ctx, pdu, &ver)) != MROOM_OK)
			return rc;
		if ((ver->create_room_id && room_id != NULL) ||
		    (!ver->create_room_id && room_id == NULL))
			return invalid(ctx, "room_id");
		newroom = 1;
	} else if ((ver = mroomver_get(room.version)) == NULL)
		goto out;
	/* 1. A valid event of the room version, else dropped. */
	if ((rc = shape_check(ctx, ver, pdu, room_id)) != MROOM_OK)
		goto out;
	rc = MROOM_ERROR;
	if (newroom && ver->create_room_id) {
		char *id = mevent_id(pdu, ver);

		if (id == NULL || asprintf(&rid, "!%s", id + 1) == -1) {
			free(id);
			rid = NULL;
			goto out;
		}
		free(id);
		room_id = rid;
	}
	if ((rc = mroom_policy_check(ctx, room_id, mjson_str(pdu, "type"),
	    mjson_str(pdu, "state_key"), json_object_get(pdu, "content"))) != MROOM_OK)
		goto out;
	rc = MROOM_ERROR;
	if ((prev = ref_ids(ver, json_object_get(pdu, "prev_events"), MAX_PREV)) == NULL ||
	    (auths = ref_ids(ver, json_object_get(pdu, "auth_events"), MAX_AUTH)) == NULL) {
		rc = invalid(ctx, "prev_events or auth_events");
		goto out;
	}
	/* The ID names it from here on: the reference hash of the event as sent. */
	if ((r->event_id = mevent_id(pdu, ver)) == NULL)
		goto out;
	if (!newroom) {
		if (mstore_room_lock(ctx->db, room_id) == -1 ||
		    (found = mstore_event_flags(ctx->db, r->event_id, &f)) == -1)
			goto out;
		/*
		 * Known: nothing to do, but for an outlier that backfill
		 * brings as history, which takes its place in the DAG now
		 * (as Synapse "de-outliers" it).
		 */
		if (found == 1) {
			ok = strcmp(f.room_id, room_id) == 0;
			free(f.room_id);
			if (!ok || !f.outlier || f.rejected || !(r->flags & MROOM_RECV_HISTORY)) {
				rc = MROOM_OK;
				goto out;
			}
			fl.deoutlier = 1;
		}
	}
	/* 2. Signatures, else dropped (an import's were checked where it comes from). */
	if (!(r->flags & MROOM_RECV_IMPORT) &&
	    (rc = signature_check(ctx, ver, pdu, r)) != MROOM_OK)
		goto out;
	fl.imported = (r->flags & MROOM_RECV_IMPORT) != 0;
	rc = MROOM_ERROR;
	if (newroom) {
		switch (mstore_room_add(ctx->db, room_id, ver->id, mjson_str(pdu, "sender"))) {
		case 0:
			break;
		case MSTORE_CONFLICT:
			rc = MROOM_CONFLICT;
			goto out;
		default:
			goto out;
		}
		if (mstore_room_lock(ctx->db, room_id) == -1)
			goto out;
	}
	/*
	 * 3. The content hash, else redacted before anything reads it.  The
	 * stored PDU is the event as signed, without the sender's "unsigned".
	 */
	if (!mevent_hash_check(pdu)) {
		ev = mevent_redact(pdu, ver);
		r->redacted = 1;
	} else if ((ev = json_deep_copy(pdu)) != NULL)
		json_object_del(ev, "unsigned");
	if (ev == NULL)
		goto out;
	/* What the checks below need stored: the auth events, then the prev events. */
	rc = auth_map(ctx, ver, ev, auths, room_id, &amap, &r->missing);
	if (rc == MROOM_FORBIDDEN) {
		fl.rejected = reason;
		snprintf(reason, sizeof(reason), "%s", ctx->why);
	} else if (rc != MROOM_OK && rc != MROOM_MISSING)
		goto out;
	if (!(r->flags & MROOM_RECV_OUTLIER))
		json_array_foreach(prev, i, p) {
			if ((found = mstore_event_flags(ctx->db, json_string_value(p), &f)) == -1)
				goto out;
			if (found == 1) {
				ok = strcmp(f.room_id, room_id) == 0;
				free(f.room_id);
				/* Another room's state is not this one's: not a valid event. */
				if (!ok) {
					rc = invalid(ctx, "a prev event is of another room");
					goto out;
				}
			}
			/*
			 * An outlier has no state to start from: as good as
			 * missing, unless the origin gave the state before.
			 */
			if (r->state == NULL && (found == 0 || f.outlier) &&
			    missing_add(&r->missing, json_string_value(p)) == -1)
				goto out;
		}
	if (r->missing != NULL) {
		snprintf(ctx->why, sizeof(ctx->why), "%zu prev or auth events are unknown here",
		    json_array_size(r->missing));
		rc = MROOM_MISSING;
		goto out;
	}
	rc = MROOM_ERROR;
	/* 4. The auth rules against its auth events, else rejected. */
	if (fl.rejected == NULL) {
		if ((ok = auth_against(ctx, ver, ev, room_id, amap)) == -1)
			goto out;
		if (!ok) {
			snprintf(reason, sizeof(reason), "auth events: %.200s", ctx->why);
			fl.rejected = reason;
		}
	}
	/*
	 * As Synapse: a redaction of an event of another room is no
	 * redaction of this one (SyTest 39redactions.pl): rejected.
	 */
	if (fl.rejected == NULL && strcmp(type, "m.room.redaction") == 0) {
		const char *t = mjson_str(ev, "redacts");

		if (t == NULL)
			t = mjson_str(json_object_get(ev, "content"), "redacts");
		if (t != NULL && (found = mstore_event_flags(ctx->db, t, &f)) == -1)
			goto out;
		if (t != NULL && found == 1) {
			ok = strcmp(f.room_id, room_id) == 0;
			free(f.room_id);
			if (!ok) {
				snprintf(reason, sizeof(reason), "redacts an event of another room");
				fl.rejected = reason;
			}
		}
	}
	if (r->flags & MROOM_RECV_OUTLIER) {
		fl.outlier = 1;
		goto store;
	}
	/*
	 * 5. The auth rules against the state before it, else rejected.
	 * Given state stands for the prev events unknown here: resolved
	 * with the states after those known (as Synapse resolves the state
	 * fetched at a gap with the rest).
	 */
	if (r->state != NULL) {
		if ((rc = given_state(ctx, room_id, r, &before)) == MROOM_OK)
			rc = with_known_prevs(ctx, ver, room_id, prev, &before);
	} else
		rc = mroom_state_before(ctx, ver, room_id, prev, &before);
	if (rc != MROOM_OK)
		goto out;
	rc = MROOM_ERROR;
	if ((bmap = mstore_sgroup_state(ctx->db, before)) == NULL)
		goto out;
	if (fl.rejected == NULL) {
		if ((ok = auth_against(ctx, ver, ev, room_id, bmap)) == -1)
			goto out;
		if (!ok) {
			snprintf(reason, sizeof(reason), "state before: %.200s", ctx->why);
			fl.rejected = reason;
		}
	}
	/*
	 * 6. The auth rules against the current state, else soft-failed:
	 * kept at its place in the DAG, shown to no one, built on by no new
	 * event of ours.  History fetched from elsewhere is not live, and
	 * is not checked against the present (as Synapse); nor is the first
	 * event of a room joined, which has no present yet.
	 */
	if ((fwd = mstore_fwd_list(ctx->db, room_id, &maxdepth)) == NULL)
		goto out;
	/* Given state need not be the current one, even on every extremity. */
	fl.linear = r->state == NULL && same_set(prev, fwd);
	if (r->flags & MROOM_RECV_HISTORY)
		fl.history = 1;
	else if (fl.rejected == NULL && !fl.linear && json_array_size(fwd) > 0) {
		if ((ok = auth_against(ctx, ver, ev, room_id, NULL)) == -1)
			goto out;
		fl.soft_failed = !ok;
	}
store:
	sv.ctx = ctx;
	sv.room_id = room_id;
	sv.map = bmap;
	if ((sv.cache = json_object()) == NULL)
		goto out;
	/* The outlier's state is not known: its hooks' checks read none. */
	if (fl.outlier && (bmap = json_object()) == NULL)
		goto out;
	sv.map = bmap;
	if ((rc = mroom_persist(ctx, ver, &sv, ev, r->event_id, room_id, before, prev, NULL,
	    &fl)) != MROOM_OK)
		goto out;
	r->stream = ctx->stream;
	r->fate = fl.rejected != NULL ? MROOM_FATE_REJECTED : fl.outlier ? MROOM_FATE_OUTLIER :
	    fl.soft_failed ? MROOM_FATE_SOFT_FAILED : MROOM_FATE_ACCEPTED;
	if (fl.rejected != NULL)
		snprintf(ctx->why, sizeof(ctx->why), "%s", reason);
	mlog_debug(NULL, "%s: %s from %s: fate %d", __func__, r->event_id,
	    origin != NULL ? origin : "?", (int)r->fate);
out:
	if (rc != MROOM_OK && rc != MROOM_MISSING) {
		free(r->event_id);
		r->event_id = NULL;
	}
	json_decref(sv.cache);
	json_decref(fwd);
	json_decref(bmap);
	json_decref(amap);
	json_decref(auths);
	json_decref(prev);
	json_decref(ev);
	mroom_fini(&room);
	free(rid);
	return rc;
}

enum mroom_err
mroom_recv_shape(struct mroom_ctx *ctx, const struct mroomver *ver, const json_t *pdu,
    const char *room_id)
{
	return shape_check(ctx, ver, pdu, room_id);
}

enum mroom_err
mroom_recv_signed(struct mroom_ctx *ctx, const struct mroomver *ver, const json_t *pdu,
    const struct mroom_recv *r)
{
	return signature_check(ctx, ver, pdu, r);
}
