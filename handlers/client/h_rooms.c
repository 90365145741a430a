/* Rooms: creation, membership, sending events and state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appsvc.h"
#include "appsvc/appsvc.h"
#include "auth/auth.h"
#include "crypto/crypto.h"
#include "events/events.h"
#include "fed/fed.h"
#include "json/json.h"
#include "log/log.h"
#include "ratelimit/ratelimit.h"
#include "rooms.h"
#include "store/store.h"

void
room_ctx(struct mreq *req, struct mroom_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->db = req->db;
	ctx->server_name = req->conf->server_name;
	ctx->key = req->srv->key;
	ctx->auth_user = req->auth.user_id;
	ctx->auth_suspended = req->auth.is_suspended;
}

void
room_member_profile(struct mreq *req, const char *user_id, json_t *content)
{
	struct muser u;

	if (mstore_user_get(req->db, user_id, &u) != 1)
		return;
	/* Synapse: what the content names already is a per-room profile, kept. */
	if (u.displayname != NULL && json_object_get(content, "displayname") == NULL)
		json_object_set_new(content, "displayname", json_string(u.displayname));
	if (u.avatar_url != NULL && json_object_get(content, "avatar_url") == NULL)
		json_object_set_new(content, "avatar_url", json_string(u.avatar_url));
	muser_fini(&u);
}

int
room_fail(struct mreq *req, struct mroom_ctx *ctx, enum mroom_err e)
{
	switch (e) {
	case MROOM_NO_ROOM:
		return mfcgi_fail(req, MERR_NOT_FOUND, "Unknown room");
	case MROOM_FORBIDDEN:
		return mfcgi_fail(req, MERR_FORBIDDEN, "%s", ctx->why[0] != '\0' ?
		    ctx->why : "Forbidden by the room's rules");
	case MROOM_BAD_EVENT:
		return mfcgi_fail(req, MERR_TOO_LARGE, "%s", ctx->why);
	case MROOM_INVALID_ALIAS:
		return mfcgi_fail(req, MERR_INVALID_PARAM, "%s", ctx->why);
	case MROOM_BAD_ALIAS:
		return mfcgi_fail(req, MERR_BAD_ALIAS, "%s", ctx->why);
	case MROOM_BAD_PARAM:
		return mfcgi_fail(req, MERR_INVALID_PARAM, "%s", ctx->why);
	case MROOM_BAD_JSON:
		return mfcgi_fail(req, MERR_BAD_JSON, "%s", ctx->why);
	case MROOM_SUSPENDED:
		return mfcgi_fail(req, MERR_USER_SUSPENDED, "%s", ctx->why);
	case MROOM_CONFLICT:
	case MROOM_ERROR:
	default:
		return mfcgi_fail(req, MERR_INTERNAL, "room operation failed (%d)", (int)e);
	}
}

/*
 * Synapse's shadow-ban: a banned user's messages, state changes,
 * redactions and invites answer as if sent, with an event ID no event
 * has, and reach nobody; joining and leaving work as ever.  1 when
 * *event_id is such a fake (malloc'd), 0 when the event is to be sent,
 * -1 after failing the request.
 */
static int	invite_remote(struct mreq *, const char *, const char *, int);

static int
shadow_banned(struct mreq *req, const char *type, const json_t *content, char **event_id)
{
	const char	*m = mjson_str(content, "membership");
	char		*r;

	if (!req->auth.is_shadow_banned ||
	    (strcmp(type, "m.room.member") == 0 && (m == NULL || strcmp(m, "invite") != 0)))
		return 0;
	if ((r = mcrypto_random_string(43)) == NULL || asprintf(event_id, "$%s", r) == -1) {
		free(r);
		*event_id = NULL;
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	}
	free(r);
	return 1;
}

/*
 * Synapse: a room an admin blocked refuses every local membership but
 * leaving and banning (403 M_FORBIDDEN).  0 when the event may go on,
 * -1 after failing the request.
 */
static int
blocked_check(struct mreq *req, const char *room_id, const char *type, const json_t *content)
{
	const char	*m = mjson_str(content, "membership");
	int		 rc;

	if (strcmp(type, "m.room.member") != 0 || m == NULL || strcmp(m, "leave") == 0 ||
	    strcmp(m, "ban") == 0)
		return 0;
	if ((rc = mstore_room_blocked(req->db, room_id, NULL)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (rc == 1)
		return mfcgi_fail(req, MERR_FORBIDDEN, "This room has been blocked on this server");
	return 0;
}

/*
 * Spec: C-S API, "Guest access": guests may join a room whose
 * m.room.guest_access is can_join, and once it is no longer, "guest
 * users that are currently joined" leave.  As Synapse, each local guest
 * joined or invited leaves by their own membership event (no power
 * level is needed, and the room admin kicked nobody), in the
 * transaction of the guest_access event.  MROOM_OK or an error of
 * mroom_send.
 */
static enum mroom_err
guests_leave(struct mreq *req, struct mroom_ctx *ctx, const char *room_id)
{
	json_t		*guests, *leave = NULL, *g;
	enum mroom_err	 e = MROOM_ERROR;
	size_t		 i;

	if ((guests = mstore_room_guests(req->db, room_id)) == NULL ||
	    (leave = json_pack("{s:s}", "membership", "leave")) == NULL)
		goto out;
	e = MROOM_OK;
	json_array_foreach(guests, i, g) {
		char *eid = NULL;

		ctx->target = MROOM_TARGET_ANY;
		e = mroom_send(ctx, room_id, json_string_value(g), "m.room.member",
		    json_string_value(g), leave, NULL, NULL, &eid);
		free(eid);
		if (e != MROOM_OK)
			break;
	}
out:
	json_decref(guests);
	json_decref(leave);
	return e;
}

/*
 * Spec: C-S API, "Guest access": a guest may join only when the room's
 * m.room.guest_access is can_join; else 403 M_FORBIDDEN, as Synapse
 * ("Guest access not allowed").  1 when allowed, 0 with the request
 * failed.
 */
static int
guest_join_check(struct mreq *req, const char *room_id)
{
	json_t		*ga;
	const char	*v;
	int		 err, ok;

	if (!req->auth.is_guest)
		return 1;
	ga = mstore_cstate_event(req->db, room_id, "m.room.guest_access", "", &err);
	if (err) {
		json_decref(ga);
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		return 0;
	}
	if (ga == NULL) {
		struct mroom	room;
		int		r;

		/* An unknown room is the write path's to answer (404). */
		if ((r = mstore_room_get(req->db, room_id, &room)) == 1)
			mroom_fini(&room);
		if (r != 1)
			return 1;
	}
	v = mjson_str(json_object_get(ga, "content"), "guest_access");
	ok = v != NULL && strcmp(v, "can_join") == 0;
	json_decref(ga);
	if (!ok)
		mfcgi_fail(req, MERR_FORBIDDEN, "Guest access not allowed");
	return ok;
}

/* room_send1, with what the endpoint requires of a membership event's target. */
static int
send_event(struct mreq *req, enum mroom_target need, const char *room_id, const char *type,
    const char *state_key, const json_t *content, const char *redacts, const char *txn_id,
    char **event_id)
{
	struct mroom_ctx	 ctx;
	/* An application service has no device: its transaction IDs are its own. */
	struct mroom_txn	 txn = { req->auth.user_id, req->auth.device_id != NULL ?
	    req->auth.device_id : req->auth.appservice != NULL ? req->auth.appservice->id : NULL,
	    txn_id, NULL, 0 };
	enum mroom_err		 e;
	char			*scope = NULL;
	int			 fake, found;

	if ((fake = shadow_banned(req, type, content, event_id)) != 0)
		return fake == 1 ? 0 : -1;
	if (blocked_check(req, room_id, type, content) == -1)
		return -1;
	room_ctx(req, &ctx);
	ctx.target = need;
	/*
	 * Spec: C-S API, "Transaction identifiers": a retry repeats the
	 * txnId and the path, so the endpoint is part of the key.
	 */
	if (txn_id != NULL) {
		if ((redacts != NULL ? asprintf(&scope, "redact/%s", redacts) :
		    asprintf(&scope, "send/%s", type)) == -1)
			return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		txn.scope = scope;
	}
	if (mdb_begin(req->db) == -1) {
		free(scope);
		return mfcgi_fail(req, MERR_INTERNAL, "%s: cannot begin", __func__);
	}
	/*
	 * Spec: C-S API, "Transaction identifiers": a retry is answered
	 * with the event it sent, before any limit (Synapse answers it from
	 * its cache of transactions without running the request again).
	 */
	if (txn_id != NULL) {
		found = mstore_event_by_txn(req->db, room_id, txn.user_id, txn.device_id, txn_id,
		    scope, event_id);
		if (found != 0) {
			free(scope);
			mdb_rollback(req->db);
			return found == 1 ? 0 :
			    mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		}
		txn.unsent = 1;
	}
	/*
	 * The rate limit is taken in the event's transaction: its bucket
	 * row is written by the event's commit, not one of its own (a
	 * second commit per send), and a send that fails (403, 404...)
	 * spends nothing, as Synapse takes it only for an event it goes
	 * on to persist.  A limited send rolls back and answers 429.
	 */
	if (mratelimit_event(req, room_id, type, state_key, content) == -1) {
		free(scope);
		mdb_rollback(req->db);
		return -1;
	}
	e = mroom_send(&ctx, room_id, req->auth.user_id, type, state_key, content, redacts,
	    txn_id != NULL ? &txn : NULL, event_id);
	free(scope);
	/* MSC2228, as Synapse: only when the option is on, else the key is plain content. */
	if (e == MROOM_OK && req->conf->enable_ephemeral_messages &&
	    mroom_expiry_note(req->db, *event_id, state_key, content) == -1)
		e = MROOM_ERROR;
	if (e == MROOM_OK && strcmp(type, "m.room.guest_access") == 0 && state_key != NULL &&
	    *state_key == '\0') {
		const char *ga = mjson_str(content, "guest_access");

		if (ga == NULL || strcmp(ga, "can_join") != 0)
			e = guests_leave(req, &ctx, room_id);
	}
	if (e != MROOM_OK) {
		free(*event_id);
		*event_id = NULL;
		mdb_rollback(req->db);
		return room_fail(req, &ctx, e);
	}
	if (mdb_commit(req->db) == -1) {
		free(*event_id);
		*event_id = NULL;
		return mfcgi_fail(req, MERR_INTERNAL, "%s: commit failed", __func__);
	}
	return 0;
}

int
room_send1(struct mreq *req, const char *room_id, const char *type, const char *state_key,
    const json_t *content, const char *redacts, const char *txn_id, char **event_id)
{
	return send_event(req, MROOM_TARGET_ANY, room_id, type, state_key, content, redacts,
	    txn_id, event_id);
}

/*
 * One room of room_profile_rejoin: under the room lock, and only while
 * user_id is joined (a leave between listing the rooms and this must not
 * turn into a join), sends the join with the profile.  MROOM_OK, also
 * when the user is no longer joined or the event repeats the current
 * one; MROOM_FORBIDDEN for a blocked room (ctx->why says so); else what
 * mroom_send returns.
 */
static enum mroom_err
profile_rejoin1(struct mreq *req, struct mroom_ctx *ctx, const char *room_id,
    const char *user_id, const json_t *content)
{
	json_t		*cur;
	const char	*m;
	char		*eid = NULL;
	int		 err = 0, joined, blocked = 0;
	enum mroom_err	 e;

	if (mdb_begin(req->db) == -1)
		return MROOM_ERROR;
	if (mstore_room_lock(req->db, room_id) == -1 ||
	    (blocked = mstore_room_blocked(req->db, room_id, NULL)) == -1) {
		mdb_rollback(req->db);
		return MROOM_ERROR;
	}
	cur = mstore_cstate_event(req->db, room_id, "m.room.member", user_id, &err);
	m = mjson_str(json_object_get(cur, "content"), "membership");
	joined = m != NULL && strcmp(m, "join") == 0;
	json_decref(cur);
	if (err) {
		mdb_rollback(req->db);
		return MROOM_ERROR;
	}
	if (!joined) {
		mdb_rollback(req->db);
		return MROOM_OK;
	}
	/* Synapse: a blocked room refuses every membership but leave and ban. */
	if (blocked) {
		mdb_rollback(req->db);
		snprintf(ctx->why, sizeof(ctx->why), "the room is blocked on this server");
		return MROOM_FORBIDDEN;
	}
	e = mroom_send(ctx, room_id, user_id, "m.room.member", user_id, content, NULL, NULL,
	    &eid);
	free(eid);
	if (e != MROOM_OK) {
		mdb_rollback(req->db);
		return e;
	}
	return mdb_commit(req->db) == -1 ? MROOM_ERROR : MROOM_OK;
}

int
room_profile_rejoin(struct mreq *req)
{
	struct mroom_ctx	 ctx;
	json_t			*rooms, *v, *content;
	const char		*room_id;
	size_t			 i;
	enum mroom_err		 e;

	if ((rooms = mstore_user_rooms(req->db, req->auth.user_id, "join")) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	json_array_foreach(rooms, i, v) {
		room_id = json_string_value(v);
		room_ctx(req, &ctx);
		/* As Synapse: the content of a new join, with the profile now. */
		if ((content = json_pack("{s:s}", "membership", "join")) == NULL)
			e = MROOM_ERROR;
		else {
			room_member_profile(req, req->auth.user_id, content);
			e = profile_rejoin1(req, &ctx, room_id, req->auth.user_id, content);
		}
		json_decref(content);
		if (e == MROOM_ERROR)
			mlog_err(req->id, "%s: %s: member event failed", __func__, room_id);
		else if (e != MROOM_OK)
			mlog_warn(req->id, "%s: %s: member event refused (%d): %s", __func__,
			    room_id, (int)e, ctx.why);
	}
	/* Each join's commit woke the syncs. */
	json_decref(rooms);
	return 0;
}

int
room_require_joined(struct mreq *req, const char *room_id)
{
	struct mroom_ctx	 ctx;
	struct mroom		 room;
	char			*m;
	int			 rc;

	room_ctx(req, &ctx);
	if ((rc = mstore_room_get(req->db, room_id, &room)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	mroom_fini(&room);
	if (rc == 0) {
		mfcgi_fail(req, MERR_NOT_FOUND, "Unknown room");
		return 0;
	}
	m = mroom_membership(&ctx, room_id, req->auth.user_id);
	rc = m != NULL && strcmp(m, "join") == 0;
	free(m);
	if (!rc)
		mfcgi_fail(req, MERR_FORBIDDEN, "You are not joined to this room");
	return rc;
}

/* The default power levels of a new room (spec: createRoom step 3). */
static json_t *
default_power_levels(const struct mroomver *ver, const char *creator, const json_t *invite,
    int trusted)
{
	json_t	*users = json_object(), *pl;
	size_t	 i;
	json_t	*u;

	/* Spec: in v12 creators have infinite power and are not listed. */
	if (!ver->create_room_id)
		json_object_set_new(users, creator, json_integer(100));
	if (trusted && !ver->create_room_id)
		json_array_foreach(invite, i, u)
			json_object_set_new(users, json_string_value(u), json_integer(100));
	pl = json_pack("{s:o,s:i,s:{s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i},s:i,s:i,s:i,s:i,"
	    "s:i,s:i,s:{s:i}}",
	    "users", users, "users_default", 0,
	    "events", "m.room.name", 50, "m.room.power_levels", 100,
	    "m.room.history_visibility", 100, "m.room.canonical_alias", 50,
	    "m.room.avatar", 50, "m.room.tombstone", ver->create_room_id ? 150 : 100,
	    "m.room.server_acl", 100, "m.room.encryption", 100,
	    "events_default", 0, "state_default", 50, "ban", 50, "kick", 50,
	    "redact", 50, "invite", 0, "notifications", "room", 50);
	return pl;
}

static int
add_state(json_t *list, const char *type, const char *state_key, json_t *content)
{
	return json_array_append_new(list, json_pack("{s:s,s:s,s:o}", "type", type,
	    "state_key", state_key, "content", content));
}

/*
 * mroom_create in the caller's transaction, with alias (room_alias_name's,
 * or NULL) in the directory before the m.room.canonical_alias event that
 * names it: mroom_send checks that event against the directory, and the
 * room has its ID only once its create event exists (v12 derives it).
 * So the room is made with the first two events of initial (the
 * creator's membership and the power levels), the alias added, and the
 * rest sent in order.  MROOM_CONFLICT when the alias was taken meanwhile;
 * on failure *room_id is NULL.
 */
static enum mroom_err
create_with_alias(struct mroom_ctx *ctx, const struct mroomver *ver, const char *creator,
    const json_t *content, const json_t *initial, const char *alias, char **room_id)
{
	json_t		*head, *item;
	char		*eid;
	size_t		 i;
	enum mroom_err	 e;

	if ((head = json_array()) == NULL)
		return MROOM_ERROR;
	for (i = 0; i < 2 && i < json_array_size(initial); i++)
		json_array_append(head, json_array_get(initial, i));
	e = mroom_create(ctx, ver, creator, content, head, room_id);
	json_decref(head);
	if (e != MROOM_OK)
		return e;
	if (alias != NULL)
		switch (mstore_alias_add(ctx->db, alias, *room_id, creator)) {
		case 0:
			break;
		case MSTORE_CONFLICT:
			e = MROOM_CONFLICT;
			goto fail;
		default:
			e = MROOM_ERROR;
			goto fail;
		}
	for (; i < json_array_size(initial); i++) {
		item = json_array_get(initial, i);
		e = mroom_send(ctx, *room_id, creator, mjson_str(item, "type"),
		    mjson_str(item, "state_key"), json_object_get(item, "content"), NULL, NULL, &eid);
		free(eid);
		if (e != MROOM_OK)
			goto fail;
	}
	return MROOM_OK;
fail:
	free(*room_id);
	*room_id = NULL;
	return e;
}

/*
 * Spec: C-S API, POST /createRoom, with the events in the order the spec
 * gives.  400 M_UNSUPPORTED_ROOM_VERSION, M_ROOM_IN_USE for a taken alias,
 * M_INVALID_PARAM for bad input, M_INVALID_ROOM_STATE for initial state
 * the auth rules refuse, M_BAD_ALIAS for a canonical alias naming an
 * alias of ours that does not point at the new room.
 */
int
h_create_room(struct mreq *req)
{
	json_t			*b = req->body, *initial = NULL, *plo, *content = NULL;
	json_t			*invite = json_object_get(b, "invite"), *v, *cc;
	const char		*preset = mjson_str(b, "preset"), *vis = mjson_str(b, "visibility");
	const char		*rv = mjson_str(b, "room_version"), *alias_name;
	const char		*jr, *name = mjson_str(b, "name"), *topic = mjson_str(b, "topic");
	const struct mroomver	*ver;
	struct mroom_ctx	 ctx;
	char			*room_id = NULL, *alias = NULL, *owner = NULL;
	size_t			 i;
	int			 trusted, rc = -1, is_direct;
	enum mroom_err		 e;

	room_ctx(req, &ctx);
	if (json_object_get(b, "room_version") != NULL && rv == NULL)
		return mfcgi_fail(req, MERR_BAD_JSON, "room_version must be a string");
	/* Without room_version: default_room_version of myelin.conf(5). */
	if ((ver = mroomver_get(rv != NULL ? rv : req->conf->default_room_version)) == NULL)
		return mfcgi_fail(req, MERR_UNSUPPORTED_ROOM_VERSION,
		    "Your homeserver does not support this room version");
	if (vis != NULL && strcmp(vis, "public") != 0 && strcmp(vis, "private") != 0)
		return mfcgi_fail(req, MERR_BAD_JSON, "visibility must be public or private");
	if (preset == NULL)
		preset = vis != NULL && strcmp(vis, "public") == 0 ? "public_chat" : "private_chat";
	if (strcmp(preset, "public_chat") != 0 && strcmp(preset, "private_chat") != 0 &&
	    strcmp(preset, "trusted_private_chat") != 0)
		return mfcgi_fail(req, MERR_BAD_JSON, "Unknown preset");
	trusted = strcmp(preset, "trusted_private_chat") == 0;
	if (invite != NULL) {
		if (!json_is_array(invite))
			return mfcgi_fail(req, MERR_BAD_JSON, "invite must be a list");
		json_array_foreach(invite, i, v)
			if (!mroom_user_id_check(json_string_value(v)))
				return mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid user ID in invite");
	}
	if ((v = json_object_get(b, "invite_3pid")) != NULL) {
		if (!json_is_array(v))
			return mfcgi_fail(req, MERR_BAD_JSON, "invite_3pid must be a list");
		json_array_foreach(json_object_get(b, "invite_3pid"), i, v)
			if (room_3pid_invite_check(req, v) == -1)
				return -1;
	}
	if ((cc = json_object_get(b, "creation_content")) != NULL && !json_is_object(cc))
		return mfcgi_fail(req, MERR_BAD_JSON, "creation_content must be an object");
	if ((plo = json_object_get(b, "power_level_content_override")) != NULL &&
	    !json_is_object(plo))
		return mfcgi_fail(req, MERR_BAD_JSON,
		    "power_level_content_override must be an object");
	if ((v = json_object_get(b, "initial_state")) != NULL && !json_is_array(v))
		return mfcgi_fail(req, MERR_BAD_JSON, "initial_state must be a list");
	if ((name != NULL && strlen(name) > 255) ||
	    (json_object_get(b, "name") != NULL && name == NULL) ||
	    (json_object_get(b, "topic") != NULL && topic == NULL))
		return mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid name or topic");
	if ((alias_name = mjson_str(b, "room_alias_name")) != NULL) {
		if (*alias_name == '\0' || strchr(alias_name, ':') != NULL ||
		    strchr(alias_name, ' ') != NULL || strchr(alias_name, '#') != NULL)
			return mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid characters in room alias");
		if (asprintf(&alias, "#%s:%s", alias_name, req->conf->server_name) == -1)
			return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		if (!mroom_alias_new_check(alias, req->conf->server_name)) {
			free(alias);
			return mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid room alias");
		}
		if ((rc = mstore_alias_get(req->db, alias, &room_id, &owner)) != 0) {
			free(room_id);
			free(owner);
			free(alias);
			if (rc == 1)
				return mfcgi_fail(req, MERR_ROOM_IN_USE, "Room alias already taken");
			return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		}
		rc = -1;
	}
	is_direct = json_is_true(json_object_get(b, "is_direct"));

	initial = json_array();
	{
		json_t *pl = default_power_levels(ver, req->auth.user_id, invite, trusted);
		json_t *member = json_pack("{s:s}", "membership", "join");

		room_member_profile(req, req->auth.user_id, member);
		add_state(initial, "m.room.member", req->auth.user_id, member);
		if (plo != NULL)
			json_object_update(pl, plo);
		add_state(initial, "m.room.power_levels", "", pl);
	}
	if (alias != NULL)
		add_state(initial, "m.room.canonical_alias", "", json_pack("{s:s}", "alias", alias));
	jr = strcmp(preset, "public_chat") == 0 ? "public" : "invite";
	add_state(initial, "m.room.join_rules", "", json_pack("{s:s}", "join_rule", jr));
	add_state(initial, "m.room.history_visibility", "", json_pack("{s:s}",
	    "history_visibility", "shared"));
	/*
	 * The spec's public_chat preset has guest_access forbidden, which is
	 * also what no m.room.guest_access event means; Synapse sends none
	 * for it, and clients (and SyTest's lazy-loading tests) count on
	 * the room's first state being exactly the others.
	 */
	if (strcmp(preset, "public_chat") != 0)
		add_state(initial, "m.room.guest_access", "", json_pack("{s:s}",
		    "guest_access", "can_join"));
	json_array_foreach(json_object_get(b, "initial_state"), i, v) {
		const char *t = mjson_str(v, "type");

		if (!json_is_object(v) || t == NULL || !json_is_object(json_object_get(v, "content")) ||
		    (json_object_get(v, "state_key") != NULL && mjson_str(v, "state_key") == NULL)) {
			mfcgi_fail(req, MERR_BAD_JSON, "Invalid initial_state event");
			goto out;
		}
		add_state(initial, t, mjson_str(v, "state_key") != NULL ?
		    mjson_str(v, "state_key") : "", json_deep_copy(json_object_get(v, "content")));
	}
	if (name != NULL)
		add_state(initial, "m.room.name", "", json_pack("{s:s}", "name", name));
	if (topic != NULL)
		add_state(initial, "m.room.topic", "", json_pack("{s:s}", "topic", topic));
	json_array_foreach(invite, i, v) {
		json_t *m;

		/* Another server's user: invited once the room exists (below). */
		if (strcmp(strchr(json_string_value(v), ':') + 1, req->conf->server_name) != 0)
			continue;
		m = json_pack("{s:s}", "membership", "invite");
		if (is_direct)
			json_object_set_new(m, "is_direct", json_true());
		add_state(initial, "m.room.member", json_string_value(v), m);
	}
	content = cc != NULL ? json_deep_copy(cc) : json_object();
	/* Spec: trusted_private_chat invitees join the creators in v12. */
	if (trusted && ver->create_room_id && json_array_size(invite) > 0) {
		json_t *ac = json_object_get(content, "additional_creators");

		if (!json_is_array(ac)) {
			ac = json_array();
			json_object_set_new(content, "additional_creators", ac);
		}
		json_array_foreach(invite, i, v)
			json_array_append(ac, v);
	}
	if (mdb_begin(req->db) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: cannot begin", __func__);
		goto out;
	}
	e = create_with_alias(&ctx, ver, req->auth.user_id, content, initial, alias, &room_id);
	if (e == MROOM_OK && vis != NULL && strcmp(vis, "public") == 0 &&
	    mstore_room_set_public(req->db, room_id, 1) == -1)
		e = MROOM_ERROR;
	if (e != MROOM_OK) {
		mdb_rollback(req->db);
		/*
		 * Spec: POST /createRoom: "The initial state implied by the
		 * parameters to the /createRoom request is invalid" (the auth
		 * rules refuse an event): 400 M_INVALID_ROOM_STATE.
		 */
		if (e == MROOM_FORBIDDEN)
			mfcgi_fail(req, MERR_INVALID_ROOM_STATE, "Invalid initial state: %s", ctx.why);
		else if (e == MROOM_CONFLICT && alias != NULL)
			mfcgi_fail(req, MERR_ROOM_IN_USE, "Room alias already taken");
		else
			room_fail(req, &ctx, e);
		goto out;
	}
	if (mdb_commit(req->db) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: commit failed", __func__);
		goto out;
	}
	/*
	 * Synapse: another server's invitee once the room exists, through
	 * its server as POST /invite (a failure is the answer, as Synapse's).
	 */
	json_array_foreach(invite, i, v)
		if (strcmp(strchr(json_string_value(v), ':') + 1, req->conf->server_name) != 0 &&
		    invite_remote(req, room_id, json_string_value(v), is_direct) == -1)
			goto out;
	/* Synapse: invite_3pid once the room exists, each as POST /invite would. */
	json_array_foreach(json_object_get(b, "invite_3pid"), i, v)
		if (room_3pid_invite(req, room_id, v) == -1)
			goto out;
	rc = mfcgi_reply(req, 200, json_pack("{s:s}", "room_id", room_id));
out:
	json_decref(initial);
	json_decref(content);
	free(room_id);
	free(alias);
	return rc;
}

/* The server name of an ID ("@u:s", "!r:s"), or NULL when it has none. */
static const char *
server_of(const char *id)
{
	const char *c = id != NULL ? strchr(id, ':') : NULL;

	return c != NULL && c[1] != '\0' ? c + 1 : NULL;
}

/* Appends s to the array list once (not ours, not NULL).  0 or -1. */
static int
server_add(struct mreq *req, json_t *list, const char *s)
{
	const json_t	*v;
	size_t		 i;

	if (s == NULL || strcmp(s, req->conf->server_name) == 0)
		return 0;
	json_array_foreach(list, i, v)
		if (strcmp(json_string_value(v), s) == 0)
			return 0;
	return json_array_append_new(list, json_string(s));
}

/*
 * Whether user_id's join or leave in room_id must go through another
 * server (S-S API, "Joining Rooms", "Leaving Rooms"): a join when no
 * user of ours is joined there (the room unknown here, or left by all
 * of ours), a leave only when the invite being rejected came from
 * another server to a room no user of ours is in: a member's leave of a
 * room this server is in is stored here and the sender hands it on, as
 * any local event.
 * 1 with *servers (a new array: via, then the inviter's server, the
 * room ID's, the servers of its joined members), 0 for the local path,
 * -1 after failing the request.
 */
static int
remote_servers(struct mreq *req, const char *room_id, const char *user_id, int join,
    const json_t *via, json_t **servers)
{
	struct mroom	 room;
	json_t		*all = NULL, *me = NULL, *list, *ev;
	const json_t	*v;
	const char	*m, *sk, *mine = NULL;
	size_t		 i;
	int		 found, err = 0, local = 0, rc = 0;

	*servers = NULL;
	memset(&room, 0, sizeof(room));
	if ((found = mstore_room_get(req->db, room_id, &room)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	mroom_fini(&room);
	if ((list = json_array()) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	json_array_foreach(via, i, v)
		if (json_is_string(v) && server_add(req, list, json_string_value(v)) == -1)
			goto oom;
	if (found) {
		if ((me = mstore_cstate_event(req->db, room_id, "m.room.member", user_id,
		    &err)) == NULL && err)
			goto store;
		mine = mjson_str(json_object_get(me, "content"), "membership");
		if (mine != NULL && strcmp(mine, "invite") == 0 &&
		    server_add(req, list, server_of(mjson_str(me, "sender"))) == -1)
			goto oom;
		if ((all = mstore_cstate_all(req->db, room_id)) == NULL)
			goto store;
		json_array_foreach(all, i, ev) {
			if (strcmp(mjson_str(ev, "type") != NULL ? mjson_str(ev, "type") : "",
			    "m.room.member") != 0 || (sk = mjson_str(ev, "state_key")) == NULL ||
			    (m = mjson_str(json_object_get(ev, "content"), "membership")) == NULL ||
			    strcmp(m, "join") != 0 || server_of(sk) == NULL)
				continue;
			if (strcmp(server_of(sk), req->conf->server_name) == 0)
				local++;
			else if (server_add(req, list, server_of(sk)) == -1)
				goto oom;
		}
	}
	if (server_add(req, list, server_of(room_id)) == -1)
		goto oom;
	if (join)
		rc = (!found || local == 0) && json_array_size(list) > 0;
	else
		rc = found && mine != NULL && local == 0 && ((strcmp(mine, "invite") == 0 &&
		    server_of(mjson_str(me, "sender")) != NULL &&
		    strcmp(server_of(mjson_str(me, "sender")), req->conf->server_name) != 0) ||
		    /* A knock on a room no user of ours is in is withdrawn there. */
		    strcmp(mine, "knock") == 0);
	if (rc == 1) {
		*servers = list;
		list = NULL;
	}
	goto out;
oom:
	rc = mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	goto out;
store:
	rc = mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
out:
	json_decref(list);
	json_decref(all);
	json_decref(me);
	return rc;
}

/*
 * A remote invite rejected here alone (S-S API, "Leaving Rooms
 * (Rejecting Invites)"; lib/room/oob.c): a leave signed here after the
 * invite, not in the room's DAG.  0, or -1 failed.
 */
static int
reject_here(struct mreq *req, const char *room_id)
{
	struct mroom_ctx	 ctx;
	enum mroom_err		 e;
	char			*eid = NULL;

	room_ctx(req, &ctx);
	if (mdb_begin(req->db) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: cannot begin", __func__);
	if ((e = mroom_oob_member(&ctx, room_id, req->auth.user_id, NULL, NULL, &eid)) != MROOM_OK) {
		mdb_rollback(req->db);
		return room_fail(req, &ctx, e);
	}
	free(eid);
	if (mdb_commit(req->db) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: commit failed", __func__);
	return 0;
}

/* The membership through servers (lib/fed/join.c): 0 with the event stored, or -1 failed. */
static int
remote_membership(struct mreq *req, const char *room_id, const char *m, const json_t *content,
    const json_t *servers)
{
	struct mfed_member	 fm;

	memset(&fm, 0, sizeof(fm));
	fm.room_id = room_id;
	fm.user_id = req->auth.user_id;
	fm.membership = m;
	fm.content = content;
	fm.servers = servers;
	if (mfed_member(req->db, req->conf, req->srv->key, &fm) == -1) {
		/*
		 * As Synapse: an invite whose server cannot be reached, or
		 * refuses the rejection, is still rejected here.
		 */
		if (strcmp(m, "leave") == 0) {
			mlog_info(NULL, "rejection of %s through its servers failed (%d %s):"
			    " rejected here", room_id, fm.status, fm.error);
			return reject_here(req, room_id);
		}
		mfcgi_fail_as(req, fm.status, fm.errcode, fm.error);
		if (fm.room_version[0] != '\0')
			mfcgi_fail_add(req, "room_version", json_string(fm.room_version));
		return -1;
	}
	mfed_member_fini(&fm);
	return 0;
}

/*
 * Sends a membership event for target and replies {} or {room_id}.  A
 * local join's voucher in a restricted room is lib/room's to name.  A
 * join's content starts as the request's body: Synapse copies the body
 * of POST /join into the member event (SyTest: "can join a room with
 * custom content"), and myelin does so for POST /rooms/{roomId}/join
 * too, where Synapse keeps only reason.  The membership is the
 * endpoint's, third_party_signed is a parameter of the request (spec:
 * POST /join), not content, and lib/room drops what only a server may
 * set (join_authorised_via_users_server, third_party_invite).  Every
 * membership keeps a string reason; a reason of another type is dropped.
 */
static int
membership_via(struct mreq *req, enum mroom_target need, const char *room_id,
    const char *target, const char *m, int reply_room, const json_t *via)
{
	json_t		*content, *servers = NULL;
	const char	*reason = mjson_str(req->body, "reason");
	char		*eid = NULL, *before = NULL;
	int		 rc, join = strcmp(m, "join") == 0, knock = strcmp(m, "knock") == 0;

	if ((content = join && json_is_object(req->body) ? json_deep_copy(req->body) :
	    json_object()) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	json_object_del(content, "third_party_signed");
	json_object_del(content, "reason");
	if (json_object_set_new(content, "membership", json_string(m)) == -1 ||
	    (reason != NULL && json_object_set_new(content, "reason", json_string(reason)) == -1)) {
		json_decref(content);
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	}
	/* As for a join: whoever answers a knock sees who is asking. */
	if (knock)
		room_member_profile(req, req->auth.user_id, content);
	if (join) {
		if (guest_join_check(req, room_id) == 0) {
			json_decref(content);
			return -1;
		}
		room_member_profile(req, req->auth.user_id, content);
		/* As Synapse: a guest's join says so. */
		if (req->auth.is_guest)
			json_object_set_new(content, "kind", json_string("guest"));
	}
	/* Spec: POST /join's third_party_signed first turns into an invite (h_3pid.c). */
	if (join && json_object_get(req->body, "third_party_signed") != NULL &&
	    room_3pid_exchange(req, room_id, json_object_get(req->body,
	    "third_party_signed")) == -1) {
		json_decref(content);
		return -1;
	}
	if (join) {
		struct mroom_ctx ctx;

		room_ctx(req, &ctx);
		before = mroom_membership(&ctx, room_id, req->auth.user_id);
	}
	/* A room whose residents are elsewhere: through them. */
	if ((join || knock || strcmp(m, "leave") == 0) && strcmp(target, req->auth.user_id) == 0 &&
	    (rc = remote_servers(req, room_id, target, join || knock, via, &servers)) != 0) {
		if (rc == 1)
			rc = remote_membership(req, room_id, m, content, servers);
		/* A new join of a replacement room held elsewhere, as below. */
		if (rc == 0 && join && (before == NULL || strcmp(before, "join") != 0))
			room_upgrade_joined(req, room_id, req->auth.user_id);
		json_decref(servers);
		json_decref(content);
		free(before);
		if (rc == -1)
			return -1;
		return mfcgi_reply(req, 200, reply_room ? json_pack("{s:s}", "room_id",
		    room_id) : json_object());
	}
	rc = send_event(req, need, room_id, "m.room.member", target, content, NULL, NULL, &eid);
	json_decref(content);
	/* A new join (not a profile change) of a replacement room. */
	if (rc == 0 && eid != NULL && join && (before == NULL || strcmp(before, "join") != 0))
		room_upgrade_joined(req, room_id, req->auth.user_id);
	free(before);
	free(eid);
	if (rc == -1)
		return -1;
	return mfcgi_reply(req, 200, reply_room ? json_pack("{s:s}", "room_id", room_id) :
	    json_object());
}

static int
membership(struct mreq *req, enum mroom_target need, const char *room_id, const char *target,
    const char *m, int reply_room)
{
	return membership_via(req, need, room_id, target, m, reply_room, NULL);
}

/*
 * The target user of invite/kick/ban/unban: body.user_id, a valid ID
 * (mroom_user_id_check, which the write path applies to every member
 * event too): 400 M_MISSING_PARAM, M_INVALID_PARAM.
 */
static const char *
target_of(struct mreq *req)
{
	const char *t = mjson_str(req->body, "user_id");

	if (t == NULL) {
		mfcgi_fail(req, MERR_MISSING_PARAM, "Missing user_id");
		return NULL;
	}
	if (!mroom_user_id_check(t)) {
		mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid user_id");
		return NULL;
	}
	return t;
}

/* Spec: C-S API, POST /rooms/{roomId}/join. */
int
h_join_room_id(struct mreq *req)
{
	return membership(req, MROOM_TARGET_ANY, req->params[0], req->auth.user_id, "join", 1);
}

/*
 * The servers a POST /join names: server_name (the spec's older name)
 * and via, each a server name (else 400 M_INVALID_PARAM).  A new array
 * (maybe empty), or NULL after failing the request.
 */
static json_t *
join_via(struct mreq *req)
{
	struct mfed_name	 n;
	json_t			*list, *more;
	const json_t		*v;
	size_t			 i;

	if ((list = mreq_query_all(req, "server_name")) == NULL ||
	    (more = mreq_query_all(req, "via")) == NULL) {
		json_decref(list);
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		return NULL;
	}
	json_array_extend(list, more);
	json_decref(more);
	json_array_foreach(list, i, v)
		if (mfed_name_parse(json_string_value(v), &n) == -1) {
			/* v is list's: the message first. */
			mfcgi_fail(req, MERR_INVALID_PARAM, "Not a server name: %s",
			    json_string_value(v));
			json_decref(list);
			return NULL;
		}
	return list;
}

/*
 * Another server's alias, asked of it (S-S API, GET /query/directory):
 * 1 with *room_id and its servers appended to via, or -1 after failing
 * the request (404 M_NOT_FOUND as it answered, else 502... as Synapse).
 */
static int
join_alias_remote(struct mreq *req, const char *alias, char **room_id, json_t *via)
{
	json_t		*reply = NULL;
	const json_t	*v;
	const char	*rid;
	char		*a, *path = NULL;
	long		 status;
	size_t		 i;
	int		 rc;

	if ((a = mfed_escape(alias)) == NULL ||
	    asprintf(&path, "/_matrix/federation/v1/query/directory?room_alias=%s", a) == -1) {
		free(a);
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	}
	free(a);
	rc = mfed_request(req->conf, req->srv->key, strchr(alias, ':') + 1, "GET", path, NULL,
	    &status, &reply);
	free(path);
	if (rc == -1 || status == 404) {
		json_decref(reply);
		return mfcgi_fail(req, MERR_NOT_FOUND, "Room alias %s not found", alias);
	}
	rid = mjson_str(reply, "room_id");
	if (status != 200 || rid == NULL || rid[0] != '!') {
		json_decref(reply);
		return mfcgi_fail(req, MERR_BAD_GATEWAY, "Failed to fetch alias");
	}
	json_array_foreach(json_object_get(reply, "servers"), i, v)
		if (json_is_string(v))
			json_array_append(via, (json_t *)v);
	json_array_append_new(via, json_string(strchr(alias, ':') + 1));
	*room_id = strdup(rid);
	json_decref(reply);
	return *room_id != NULL ? 1 : mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
}

/*
 * membership ("join" or "knock") of the caller in target, a room ID or
 * an alias: this server's (its directory, or the application service
 * whose namespace holds it) or another server's (asked over
 * federation), with join_via's servers.  400 M_INVALID_PARAM for
 * neither, 404 M_NOT_FOUND for an unknown alias.
 */
static int
membership_of_target(struct mreq *req, const char *target, const char *membership)
{
	char	*room_id = NULL;
	json_t	*via;
	int	 rc;

	if (target[0] != '!' && (target[0] != '#' || strchr(target, ':') == NULL))
		return mfcgi_fail(req, MERR_INVALID_PARAM, "Not a room ID or alias");
	if ((via = join_via(req)) == NULL)
		return -1;
	if (target[0] == '!') {
		rc = membership_via(req, MROOM_TARGET_ANY, target, req->auth.user_id, membership,
		    1, via);
		json_decref(via);
		return rc;
	}
	if (strcmp(strchr(target, ':') + 1, req->conf->server_name) != 0) {
		if (join_alias_remote(req, target, &room_id, via) == -1) {
			json_decref(via);
			return -1;
		}
	} else if ((rc = as_alias_get(req, target, &room_id, NULL)) == -1) {
		json_decref(via);
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	} else if (rc == 0) {
		json_decref(via);
		return mfcgi_fail(req, MERR_NOT_FOUND, "Room alias not found");
	}
	rc = membership_via(req, MROOM_TARGET_ANY, room_id, req->auth.user_id, membership, 1,
	    via);
	json_decref(via);
	free(room_id);
	return rc;
}

/*
 * Spec: C-S API, POST /join/{roomIdOrAlias}: aliases on this server
 * resolve here, others' are asked of their server; server_name and via
 * name the servers to join through when no user of ours is in the room.
 */
int
h_join_alias(struct mreq *req)
{
	return membership_of_target(req, req->params[0], "join");
}

/*
 * Spec: C-S API, POST /knock/{roomIdOrAlias}: reason, and server_name and
 * via for a room whose residents are elsewhere (make_knock, send_knock
 * through them; lib/fed/join.c), an alias resolved as POST /join
 * resolves it.  The room's auth rules decide: a join rule of knock or
 * knock_restricted in a version that has them (v7 on, v10 on), no ban,
 * not joined or invited already; else 403 M_FORBIDDEN.  404 M_NOT_FOUND
 * for unknown rooms and aliases.
 */
int
h_knock(struct mreq *req)
{
	const json_t *reason = json_object_get(req->body, "reason");

	if (reason != NULL && !json_is_string(reason))
		return mfcgi_fail(req, MERR_BAD_JSON, "reason must be a string");
	return membership_of_target(req, req->params[0], "knock");
}

/*
 * The stripped state an invitee's server is given with the invite
 * (S-S API, PUT /v2/invite, invite_room_state; Synapse's default
 * room_prejoin_state types), and the inviter's member event.  A new
 * array, or NULL.
 */
static json_t *
invite_room_state(struct mreq *req, const char *room_id)
{
	static const char *const types[] = { "m.room.create", "m.room.join_rules",
	    "m.room.canonical_alias", "m.room.avatar", "m.room.encryption", "m.room.name",
	    "m.room.topic" };
	json_t	*out, *ev;
	size_t	 i;
	int	 err = 0;

	if ((out = json_array()) == NULL)
		return NULL;
	for (i = 0; i <= sizeof(types) / sizeof(types[0]); i++) {
		const char *t = i < sizeof(types) / sizeof(types[0]) ? types[i] : "m.room.member";

		ev = mstore_cstate_event(req->db, room_id, t, i < sizeof(types) /
		    sizeof(types[0]) ? "" : req->auth.user_id, &err);
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

/*
 * The invitee server's answer to an invite (S-S API, PUT /v2/invite: the
 * event, signed by it): valid JSON of the room version (else 400
 * M_BAD_JSON, as Synapse), the event sent (its ID), and its signature
 * kept on the stored event.  0, or -1 failed.
 */
static int
invite_answer(struct mreq *req, const struct mevrow *row, const char *version,
    const char *eid, const char *server, const json_t *got)
{
	const struct mroomver	*ver = mroomver_get(version);
	const json_t		*sig = json_object_get(json_object_get(got, "signatures"), server);
	json_t			*ev;
	char			*js, *id;
	int			 same, rc;

	if ((js = mjson_canonical(got, NULL)) == NULL)
		return mfcgi_fail(req, MERR_BAD_JSON, "The invitee's server answered an invalid"
		    " event");
	free(js);
	if (ver == NULL || (id = mevent_id(got, ver)) == NULL)
		return mfcgi_fail(req, MERR_BAD_GATEWAY, "The invitee's server answered an"
		    " invalid event");
	same = strcmp(id, eid) == 0;
	free(id);
	if (!same || !json_is_object(sig))
		return mfcgi_fail(req, MERR_BAD_GATEWAY, "The invitee's server did not sign the"
		    " invite");
	if ((ev = json_deep_copy(row->json)) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	if (!json_is_object(json_object_get(ev, "signatures")))
		json_object_set_new(ev, "signatures", json_object());
	json_object_set(json_object_get(ev, "signatures"), server, (json_t *)sig);
	rc = mstore_event_json_set(req->db, eid, ev);
	json_decref(ev);
	return rc == -1 ? mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__) : 0;
}

/*
 * Spec: S-S API, "Inviting to a room": an invite of another server's
 * user is sent to that server (PUT /v2/invite) before it is committed
 * here; the invitee's server refusing it (its 4xx passed on) or not
 * answering (502) leaves nothing stored.  The room's other servers get
 * it through the outbound queue.
 */
static int
invite_remote(struct mreq *req, const char *room_id, const char *target, int is_direct)
{
	struct mroom_ctx	 ctx;
	struct mevrow		 row;
	struct mroom		 room;
	json_t			*content, *body = NULL, *reply = NULL, *irs = NULL;
	const char		*reason = mjson_str(req->body, "reason");
	char			*eid = NULL, *path = NULL, *re = NULL, *ee = NULL;
	enum mroom_err		 e;
	long			 status;
	int			 rc = -1;

	memset(&row, 0, sizeof(row));
	memset(&room, 0, sizeof(room));
	if ((content = json_pack("{s:s}", "membership", "invite")) == NULL ||
	    (reason != NULL && json_object_set_new(content, "reason", json_string(reason)) == -1) ||
	    (is_direct && json_object_set_new(content, "is_direct", json_true()) == -1))
		goto oom;
	if (blocked_check(req, room_id, "m.room.member", content) == -1)
		goto out;
	room_ctx(req, &ctx);
	if (mdb_begin(req->db) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: cannot begin", __func__);
		goto out;
	}
	e = mroom_send(&ctx, room_id, req->auth.user_id, "m.room.member", target, content,
	    NULL, NULL, &eid);
	if (e != MROOM_OK) {
		mdb_rollback(req->db);
		room_fail(req, &ctx, e);
		goto out;
	}
	if (mstore_event_get(req->db, eid, &row) != 1 ||
	    mstore_room_get(req->db, room_id, &room) != 1 ||
	    (irs = invite_room_state(req, room_id)) == NULL) {
		mdb_rollback(req->db);
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	if ((body = json_pack("{s:O,s:s,s:O}", "event", row.json, "room_version", room.version,
	    "invite_room_state", irs)) == NULL || (re = mfed_escape(room_id)) == NULL ||
	    (ee = mfed_escape(eid)) == NULL ||
	    asprintf(&path, "/_matrix/federation/v2/invite/%s/%s", re, ee) == -1) {
		path = NULL;
		mdb_rollback(req->db);
		goto oom;
	}
	rc = mfed_request(req->conf, req->srv->key, strchr(target, ':') + 1, "PUT", path, body,
	    &status, &reply);
	/* Spec: a server without v2 takes the event alone on v1 and answers [200, {event}]. */
	if (rc == 0 && (status == 404 || status == 400 || status == 405) &&
	    (mjson_str(reply, "errcode") == NULL ||
	    strcmp(mjson_str(reply, "errcode"), "M_UNRECOGNIZED") == 0)) {
		json_decref(reply);
		reply = NULL;
		strstr(path, "/v2/")[2] = '1';	/* "/v2/" -> "/v1/" */
		rc = mfed_request(req->conf, req->srv->key, strchr(target, ':') + 1, "PUT", path,
		    row.json, &status, &reply);
	}
	if (rc == 0 && status == 200 && !json_is_object(json_object_get(reply, "event")))
		status = 502;
	if (rc == -1 || status != 200) {
		rc = -1;
		mdb_rollback(req->db);
		if (reply != NULL && status >= 400 && status < 500 && mjson_str(reply, "errcode"))
			mfcgi_fail_as(req, (int)status, mjson_str(reply, "errcode"),
			    mjson_str(reply, "error") != NULL ? mjson_str(reply, "error") : "");
		else
			mfcgi_fail(req, MERR_BAD_GATEWAY, "The invitee's server did not take the"
			    " invite");
		goto out;
	}
	rc = -1;
	if (invite_answer(req, &row, room.version, eid, strchr(target, ':') + 1,
	    json_object_get(reply, "event")) == -1) {
		mdb_rollback(req->db);
		goto out;
	}
	if (mdb_commit(req->db) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: commit failed", __func__);
		goto out;
	}
	rc = mfcgi_reply(req, 200, json_object());
	goto out;
oom:
	mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
out:
	mevrow_fini(&row);
	mroom_fini(&room);
	json_decref(content);
	json_decref(body);
	json_decref(reply);
	json_decref(irs);
	free(eid);
	free(path);
	free(re);
	free(ee);
	return rc;
}

/* Spec: C-S API, POST /rooms/{roomId}/invite: local users here, others' through their server. */
int
h_invite(struct mreq *req)
{
	const char	*t;
	struct muser	 u;
	int		 rc;

	/* Spec: a body naming a 3PID is a third-party invite (h_3pid.c). */
	if (room_3pid_invite_keys(req->body))
		return room_3pid_invite(req, req->params[0], req->body) == -1 ? -1 :
		    mfcgi_reply(req, 200, json_object());
	if ((t = target_of(req)) == NULL)
		return -1;
	if (strcmp(strchr(t, ':') + 1, req->conf->server_name) != 0) {
		char	*fake = NULL;
		int	 sb;

		/* As local invites: a shadow-banned inviter's invite reaches nobody. */
		json_t *inv = json_pack("{s:s}", "membership", "invite");

		sb = inv != NULL ? shadow_banned(req, "m.room.member", inv, &fake) :
		    mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		json_decref(inv);
		if (sb != 0) {
			free(fake);
			return sb == 1 ? mfcgi_reply(req, 200, json_object()) : -1;
		}
		return invite_remote(req, req->params[0], t, 0);
	}
	if ((rc = as_user_get(req, t, &u)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	muser_fini(&u);
	if (rc == 0)
		return mfcgi_fail(req, MERR_NOT_FOUND, "Unknown user");
	return membership(req, MROOM_TARGET_ANY, req->params[0], t, "invite", 0);
}

/* Spec: C-S API, POST /rooms/{roomId}/leave. */
int
h_leave(struct mreq *req)
{
	return membership(req, MROOM_TARGET_ANY, req->params[0], req->auth.user_id, "leave", 0);
}

/*
 * Spec: C-S API, POST /rooms/{roomId}/kick: 403 M_FORBIDDEN when "the
 * kickee is not currently in the room" (joined, invited or knocking);
 * a banned user is not, and only /unban lifts a ban.
 */
int
h_kick(struct mreq *req)
{
	const char *t = target_of(req);

	return t == NULL ? -1 : membership(req, MROOM_TARGET_IN_ROOM, req->params[0], t,
	    "leave", 0);
}

/* Spec: C-S API, POST /rooms/{roomId}/ban. */
int
h_ban(struct mreq *req)
{
	const char *t = target_of(req);

	return t == NULL ? -1 : membership(req, MROOM_TARGET_ANY, req->params[0], t, "ban", 0);
}

/* Spec: C-S API, POST /rooms/{roomId}/unban: only a banned user can be unbanned. */
int
h_unban(struct mreq *req)
{
	const char *t = target_of(req);

	return t == NULL ? -1 : membership(req, MROOM_TARGET_BANNED, req->params[0], t,
	    "leave", 0);
}

/*
 * Spec: C-S API, PUT /rooms/{roomId}/send/{eventType}/{txnId}, and the
 * deprecated POST /rooms/{roomId}/send/{eventType} (no txnId, so each
 * call sends anew, as Synapse does).
 */
int
h_send(struct mreq *req)
{
	char	*eid = NULL;
	int64_t	 delay;
	int	 rc;

	if ((rc = room_delay_param(req, &delay)) != 0)
		return rc == -1 ? -1 : room_delay(req, req->params[0], req->params[1], NULL,
		    req->body, delay);
	if (room_send1(req, req->params[0], req->params[1], NULL, req->body, NULL,
	    req->paramsz > 2 ? req->params[2] : NULL, &eid) == -1)
		return -1;
	rc = mfcgi_reply(req, 200, json_pack("{s:s}", "event_id", eid));
	free(eid);
	return rc;
}

/* Spec: C-S API, PUT /rooms/{roomId}/state/{eventType}/{stateKey}. */
int
h_state_put(struct mreq *req)
{
	const char	*sk = req->paramsz > 2 ? req->params[2] : "";
	char		*eid = NULL;
	int64_t		 delay;
	int		 rc;

	if ((rc = room_delay_param(req, &delay)) != 0)
		return rc == -1 ? -1 : room_delay(req, req->params[0], req->params[1], sk,
		    req->body, delay);
	if (room_send1(req, req->params[0], req->params[1], sk, req->body, NULL, NULL, &eid) == -1)
		return -1;
	rc = mfcgi_reply(req, 200, json_pack("{s:s}", "event_id", eid));
	free(eid);
	return rc;
}

/*
 * Spec: C-S API, PUT /rooms/{roomId}/redact/{eventId}/{txnId}.  404
 * M_NOT_FOUND for an event unknown here; an event of another room is 400
 * M_UNKNOWN, as Synapse answers ("Cannot redact event from a different
 * room"), once the user is known to be joined to roomId (else 403 or
 * 404 as for any room the user is not in), and nothing is sent.  POST
 * /rooms/{roomId}/redact/{eventId}, without a transaction ID, is the same
 * (Synapse 1.67 serves it; each is a new redaction).
 */
int
h_redact(struct mreq *req)
{
	struct mevrow	 target;
	json_t		*content;
	const char	*reason = mjson_str(req->body, "reason");
	char		*eid = NULL;
	int		 rc, other;

	if ((rc = mstore_event_get(req->db, req->params[1], &target)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (rc == 0)
		return mfcgi_fail(req, MERR_NOT_FOUND, "Event not found");
	other = strcmp(target.room_id, req->params[0]) != 0;
	mevrow_fini(&target);
	if (other) {
		/* Either way the request has failed (room_require_joined). */
		if (room_require_joined(req, req->params[0]) != 1)
			return -1;
		return mfcgi_fail(req, MERR_UNKNOWN, "Cannot redact event from a different room");
	}
	if ((content = json_object()) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	if (reason != NULL)
		json_object_set_new(content, "reason", json_string(reason));
	rc = room_send1(req, req->params[0], "m.room.redaction", NULL, content, req->params[1],
	    req->paramsz > 2 ? req->params[2] : NULL, &eid);
	json_decref(content);
	if (rc == -1)
		return -1;
	rc = mfcgi_reply(req, 200, json_pack("{s:s}", "event_id", eid));
	free(eid);
	return rc;
}
