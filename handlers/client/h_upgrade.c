/* Room upgrades: a replacement room with the old one's state, and a tombstone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "directory.h"
#include "events/events.h"
#include "json/json.h"
#include "log/log.h"
#include "rooms.h"
#include "store/store.h"

#define TOMBSTONE_BODY	"This room has been replaced"

/*
 * Spec: "Room Upgrades", server behaviour step 3: the state events
 * recommended for transfer, in the order Synapse sends them; power
 * levels go separately.  Membership stays behind, bans excepted.
 */
static const char *const carried[] = {
	"m.room.join_rules", "m.room.name", "m.room.topic", "m.room.history_visibility",
	"m.room.guest_access", "m.room.avatar", "m.room.encryption", "m.room.server_acl",
};

/* What the upgrade reads of the old room's current state. */
struct oldroom {
	const struct mroomver	*ver;
	json_t			*all;		/* every current state event */
	const json_t		*create, *pl, *alias;
	char			*last_event;	/* its latest event, for predecessor */
	int			 is_public;
};

static void
oldroom_fini(struct oldroom *o)
{
	json_decref(o->all);
	free(o->last_event);
	memset(o, 0, sizeof(*o));
}

/* The current state event (type, state_key) of o, borrowed, or NULL. */
static const json_t *
old_state(const struct oldroom *o, const char *type, const char *state_key)
{
	const json_t	*ev;
	size_t		 i;

	json_array_foreach(o->all, i, ev)
		if (strcmp(mjson_str(ev, "type"), type) == 0 &&
		    mjson_str(ev, "state_key") != NULL &&
		    strcmp(mjson_str(ev, "state_key"), state_key) == 0)
			return ev;
	return NULL;
}

/* Reads the old room, inside the transaction and under its lock.  0 or -1. */
static int
oldroom_read(struct mdb *db, const char *room_id, struct oldroom *o)
{
	struct mroom	 room;
	json_t		*fwd;
	int64_t		 maxdepth;
	int		 rc = -1;

	memset(o, 0, sizeof(*o));
	if (mstore_room_get(db, room_id, &room) != 1)
		return -1;
	o->is_public = room.is_public;
	if ((o->ver = mroomver_get(room.version)) == NULL ||
	    (o->all = mstore_cstate_all(db, room_id)) == NULL ||
	    (fwd = mstore_fwd_list(db, room_id, &maxdepth)) == NULL)
		goto out;
	if (json_array_size(fwd) > 0)
		o->last_event = strdup(json_string_value(json_array_get(fwd, 0)));
	json_decref(fwd);
	o->create = old_state(o, "m.room.create", "");
	o->pl = old_state(o, "m.room.power_levels", "");
	o->alias = old_state(o, "m.room.canonical_alias", "");
	rc = o->create != NULL ? 0 : -1;
out:
	mroom_fini(&room);
	return rc;
}

/* The server name of a user ID or room alias is ours. */
static int
is_local(struct mreq *req, const char *id)
{
	const char *colon = id != NULL ? strchr(id, ':') : NULL;

	return colon != NULL && strcmp(colon + 1, req->conf->server_name) == 0;
}

/* A power level as the strictest room versions read it, or def. */
static int64_t
pl_int(const json_t *v, int64_t def)
{
	char		*end;
	long long	 n;

	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v) && json_real_value(v) > -9.2e18 && json_real_value(v) < 9.2e18)
		return (int64_t)json_real_value(v);
	if (json_is_string(v)) {
		n = strtoll(json_string_value(v), &end, 10);
		while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
			end++;
		if (end != json_string_value(v) && *end == '\0')
			return n;
	}
	return def;
}

/*
 * Room versions before 10 accept power levels written as strings or
 * floats; from 10 on only integers pass the auth rules.  Carried into
 * such a room, each value becomes the integer the old room read it as,
 * and values it could not read are dropped.
 */
static void
pl_integers(json_t *c)
{
	static const char *const top[] = {
		"users_default", "events_default", "state_default", "ban", "kick", "redact",
		"invite",
	};
	static const char *const maps[] = { "users", "events", "notifications" };
	const char	*key;
	json_t		*m, *v;
	void		*tmp;

	for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++)
		if ((v = json_object_get(c, top[i])) != NULL && !json_is_integer(v)) {
			if (pl_int(v, INT64_MIN) == INT64_MIN)
				json_object_del(c, top[i]);
			else
				json_object_set_new(c, top[i], json_integer(pl_int(v, 0)));
		}
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		if ((m = json_object_get(c, maps[i])) == NULL)
			continue;
		if (!json_is_object(m)) {
			json_object_del(c, maps[i]);
			continue;
		}
		json_object_foreach_safe(m, tmp, key, v)
			if (!json_is_integer(v)) {
				if (pl_int(v, INT64_MIN) == INT64_MIN)
					json_object_del(m, key);
				else
					json_object_set_new(m, key, json_integer(pl_int(v, 0)));
			}
	}
}

/*
 * The new room's power levels from the old one's.  As Synapse
 * (RoomCreationHandler.clone_existing_room), the upgrader needs the
 * level of every state event copied: when below it, they get it for the
 * copying, and *restore receives the content to send afterwards (NULL
 * when nothing was raised).  In v12 room creators stand above power
 * levels and must not be listed; leaving v12, the old room's creators
 * keep being above every level set.  Returns new content or NULL.
 */
static json_t *
new_power_levels(const struct oldroom *o, const struct mroomver *ver, const char *upgrader,
    const json_t *extra_creators, json_t **restore)
{
	const json_t	*oc = json_object_get(o->pl, "content"), *v;
	json_t		*c, *users, *events, *ev;
	const char	*key;
	int64_t		 need, cur;
	size_t		 i;

	*restore = NULL;
	c = json_is_object(oc) ? json_deep_copy(oc) : json_object();
	if (c == NULL)
		return NULL;
	if (ver->int_power_levels)
		pl_integers(c);
	if (!json_is_object(users = json_object_get(c, "users"))) {
		users = json_object();
		json_object_set_new(c, "users", users);
	}
	need = pl_int(json_object_get(c, "state_default"), 50);
	if (pl_int(json_object_get(c, "ban"), 50) > need)
		need = pl_int(json_object_get(c, "ban"), 50);
	events = json_object_get(c, "events");
	json_object_foreach(events, key, ev) {
		if (pl_int(ev, 0) > need)
			need = pl_int(ev, 0);
	}
	if (ver->create_room_id) {
		json_object_del(users, upgrader);
		json_array_foreach(extra_creators, i, v) {
			json_object_del(users, json_string_value(v));
		}
		return c;
	}
	if (o->ver->create_room_id) {
		const json_t	*create = o->create;
		json_t		*ac;

		if (json_object_get(users, mjson_str(create, "sender")) == NULL)
			json_object_set_new(users, mjson_str(create, "sender"),
			    json_integer(need > 100 ? need : 100));
		ac = json_object_get(json_object_get(create, "content"), "additional_creators");
		json_array_foreach(ac, i, v)
			if (json_is_string(v) &&
			    json_object_get(users, json_string_value(v)) == NULL)
				json_object_set_new(users, json_string_value(v),
				    json_integer(need > 100 ? need : 100));
	}
	/* Without power levels the creator had 100 (spec: m.room.power_levels). */
	if (o->pl == NULL) {
		json_object_set_new(users, upgrader, json_integer(need > 100 ? need : 100));
		return c;
	}
	cur = pl_int(json_object_get(users, upgrader),
	    pl_int(json_object_get(c, "users_default"), 0));
	if (cur < need) {
		if ((*restore = json_deep_copy(c)) == NULL) {
			json_decref(c);
			return NULL;
		}
		json_object_set_new(users, upgrader, json_integer(need));
	}
	return c;
}

static void
add_state(json_t *list, const char *type, const char *state_key, json_t *content)
{
	json_array_append_new(list, json_pack("{s:s,s:s,s:o}", "type", type, "state_key",
	    state_key, "content", content));
}

/*
 * Spec: "Room Upgrades", step 4, as Synapse moves them: the canonical
 * alias and the alternative aliases of this server go to the new room
 * (*new_content), and leave the old one (*old_content, NULL when the old
 * room had no canonical alias event).
 */
static void
split_aliases(struct mreq *req, const json_t *alias_ev, json_t **old_content,
    json_t **new_content)
{
	const json_t	*c = json_object_get(alias_ev, "content"), *alt, *v;
	const char	*a = mjson_str(c, "alias");
	json_t		*oldalt, *newalt;
	size_t		 i;

	*old_content = *new_content = NULL;
	if (alias_ev == NULL || !json_is_object(c))
		return;
	*old_content = json_deep_copy(c);
	*new_content = json_object();
	if (a != NULL && is_local(req, a)) {
		json_object_set_new(*new_content, "alias", json_string(a));
		json_object_del(*old_content, "alias");
	}
	if (!json_is_array(alt = json_object_get(c, "alt_aliases")))
		return;
	oldalt = json_array();
	newalt = json_array();
	json_array_foreach(alt, i, v) {
		json_array_append(json_is_string(v) && is_local(req, json_string_value(v)) ?
		    newalt : oldalt, (json_t *)v);
	}
	if (json_array_size(newalt) > 0)
		json_object_set(*new_content, "alt_aliases", newalt);
	if (json_array_size(oldalt) > 0)
		json_object_set(*old_content, "alt_aliases", oldalt);
	else
		json_object_del(*old_content, "alt_aliases");
	json_decref(oldalt);
	json_decref(newalt);
}

/*
 * Sends one event as part of the upgrade.  When skippable, an event the
 * auth rules refuse (or a canonical alias naming an alias that is not
 * the room's) is left out, as Synapse logs and carries on for bans,
 * aliases and the old room's power levels; nothing was written for it.
 */
static enum mroom_err
send_part(struct mroom_ctx *ctx, const char *room_id, const char *sender, const char *type,
    const char *state_key, const json_t *content, int skippable)
{
	enum mroom_err	 e;
	char		*eid = NULL;

	e = mroom_send(ctx, room_id, sender, type, state_key, content, NULL, NULL, &eid);
	free(eid);
	if (skippable && (e == MROOM_FORBIDDEN || e == MROOM_INVALID_ALIAS ||
	    e == MROOM_BAD_ALIAS))
		return MROOM_OK;
	return e;
}

/*
 * Spec: "Room Upgrades", step 6: the old room's power levels are raised
 * so that it goes quiet: events_default and invite to the greater of 50
 * and users_default + 1.  NULL when nothing changes.
 */
static json_t *
quiet_power_levels(const struct oldroom *o)
{
	const json_t	*oc = json_object_get(o->pl, "content");
	json_t		*c;
	int64_t		 need;
	int		 changed = 0;

	if (!json_is_object(oc) || (c = json_deep_copy(oc)) == NULL)
		return NULL;
	need = pl_int(json_object_get(c, "users_default"), 0) + 1;
	if (need < 50)
		need = 50;
	if (pl_int(json_object_get(c, "events_default"), 0) < need) {
		json_object_set_new(c, "events_default", json_integer(need));
		changed = 1;
	}
	if (pl_int(json_object_get(c, "invite"), 0) < need) {
		json_object_set_new(c, "invite", json_integer(need));
		changed = 1;
	}
	if (!changed) {
		json_decref(c);
		return NULL;
	}
	return c;
}

/*
 * The events of the upgrade, in the caller's transaction: the new room
 * (spec steps 2 and 3), its bans, the tombstone (5), the aliases (4) and
 * the old room's quieting (6).  *new_id (malloc'd) receives the new room.
 */
static enum mroom_err
upgrade(struct mreq *req, struct mroom_ctx *ctx, const char *old_id,
    const struct mroomver *ver, const json_t *extra_creators, char **new_id)
{
	struct oldroom	 o;
	const char	*me = req->auth.user_id, *rtype, *m;
	json_t		*cc = NULL, *initial = NULL, *pl = NULL, *restore = NULL;
	json_t		*old_alias = NULL, *new_alias = NULL, *quiet = NULL, *tomb = NULL;
	json_t		*member, *ev, *occ;
	char		*new_room = NULL, *tomb_id = NULL;
	enum mroom_err	 e = MROOM_ERROR;
	size_t		 i;

	*new_id = NULL;
	memset(&o, 0, sizeof(o));
	if (mstore_room_lock(req->db, old_id) == -1 || oldroom_read(req->db, old_id, &o) == -1)
		goto out;
	occ = json_object_get(o.create, "content");
	rtype = mjson_str(occ, "type");
	/* Step 2: predecessor, and the room type copied (spec v1.4). */
	cc = json_pack("{s:{s:s}}", "predecessor", "room_id", old_id);
	if (cc == NULL || (initial = json_array()) == NULL)
		goto out;
	/*
	 * Spec v1.16: event_id is deprecated, yet "SHOULD still be populated
	 * where possible".  As Synapse, it is the tombstone's (SyTest checks),
	 * so the tombstone (step 5) goes first, naming the room ID chosen
	 * here.  A version that derives the room ID from its create event
	 * (12) cannot be named before it exists: there predecessor names the
	 * old room's latest event, and the tombstone follows.
	 */
	if (!ver->create_room_id) {
		char *r = mcrypto_random_string(18);

		if (r == NULL || asprintf(&new_room, "!%s:%s", r, req->conf->server_name) == -1)
			new_room = NULL;
		free(r);
		if (new_room == NULL ||
		    (tomb = json_pack("{s:s,s:s}", "body", TOMBSTONE_BODY,
		    "replacement_room", new_room)) == NULL)
			goto out;
		if ((e = mroom_send(ctx, old_id, me, "m.room.tombstone", "", tomb, NULL, NULL,
		    &tomb_id)) != MROOM_OK)
			goto out;
		e = MROOM_ERROR;
		json_object_set_new(json_object_get(cc, "predecessor"), "event_id",
		    json_string(tomb_id));
		ctx->new_room_id = new_room;
	} else if (o.last_event != NULL)
		json_object_set_new(json_object_get(cc, "predecessor"), "event_id",
		    json_string(o.last_event));
	if (rtype != NULL)
		json_object_set_new(cc, "type", json_string(rtype));
	if (json_is_false(json_object_get(occ, "m.federate")))
		json_object_set_new(cc, "m.federate", json_false());
	if (ver->create_room_id && json_array_size(extra_creators) > 0)
		json_object_set(cc, "additional_creators", (json_t *)extra_creators);

	member = json_pack("{s:s}", "membership", "join");
	room_member_profile(req, me, member);
	add_state(initial, "m.room.member", me, member);
	if ((pl = new_power_levels(&o, ver, me, extra_creators, &restore)) == NULL)
		goto out;
	add_state(initial, "m.room.power_levels", "", json_incref(pl));
	/*
	 * Synapse builds the new room with its private_chat preset under the
	 * carried state, so an old room without m.room.guest_access (a
	 * public_chat one) gets can_join in the new one (SyTest 60version_upgrade
	 * waits for it).
	 */
	if (old_state(&o, "m.room.guest_access", "") == NULL)
		add_state(initial, "m.room.guest_access", "", json_pack("{s:s}", "guest_access",
		    "can_join"));
	for (i = 0; i < sizeof(carried) / sizeof(carried[0]); i++)
		if ((ev = (json_t *)old_state(&o, carried[i], "")) != NULL)
			add_state(initial, carried[i], "",
			    json_deep_copy(json_object_get(ev, "content")));
	/* As Synapse: a space keeps its children. */
	if (rtype != NULL && strcmp(rtype, "m.space") == 0)
		json_array_foreach(o.all, i, ev)
			if (strcmp(mjson_str(ev, "type"), "m.space.child") == 0)
				add_state(initial, "m.space.child", mjson_str(ev, "state_key"),
				    json_deep_copy(json_object_get(ev, "content")));
	split_aliases(req, o.alias, &old_alias, &new_alias);

	e = mroom_create(ctx, ver, me, cc, initial, new_id);
	ctx->new_room_id = NULL;
	if (e != MROOM_OK)
		goto out;
	/* Bans carry over (Synapse does the same); other memberships cannot. */
	json_array_foreach(o.all, i, ev) {
		const json_t	*c = json_object_get(ev, "content");
		json_t		*ban;

		m = mjson_str(c, "membership");
		if (strcmp(mjson_str(ev, "type"), "m.room.member") != 0 || m == NULL ||
		    strcmp(m, "ban") != 0)
			continue;
		ban = json_pack("{s:s}", "membership", "ban");
		if (mjson_str(c, "reason") != NULL)
			json_object_set(ban, "reason", json_object_get(c, "reason"));
		e = send_part(ctx, *new_id, me, "m.room.member", mjson_str(ev, "state_key"), ban, 1);
		json_decref(ban);
		if (e != MROOM_OK)
			goto out;
	}
	if (restore != NULL &&
	    (e = send_part(ctx, *new_id, me, "m.room.power_levels", "", restore, 0)) != MROOM_OK)
		goto out;

	/*
	 * Step 5: the tombstone, unless it went first (above); the permission
	 * was checked before, and is again here.
	 */
	if (tomb == NULL && (tomb = json_pack("{s:s,s:s}", "body", TOMBSTONE_BODY,
	    "replacement_room", *new_id)) == NULL) {
		e = MROOM_ERROR;
		goto out;
	}
	if (tomb_id == NULL &&
	    (e = send_part(ctx, old_id, me, "m.room.tombstone", "", tomb, 0)) != MROOM_OK)
		goto out;
	/* Step 4: local aliases follow the room. */
	e = MROOM_ERROR;
	if (mstore_alias_move(req->db, old_id, *new_id) == -1)
		goto out;
	/*
	 * The new room's canonical alias waits for its aliases: mroom_send
	 * checks that local ones point at the room.  As Synapse, one that
	 * does not (a stale alias) leaves the event out.
	 */
	if (new_alias != NULL && json_object_size(new_alias) > 0 &&
	    (e = send_part(ctx, *new_id, me, "m.room.canonical_alias", "", new_alias, 1)) !=
	    MROOM_OK)
		goto out;
	if (old_alias != NULL && !json_equal(old_alias, json_object_get(o.alias, "content")) &&
	    (e = send_part(ctx, old_id, me, "m.room.canonical_alias", "", old_alias, 1)) !=
	    MROOM_OK)
		goto out;
	/* Step 6. */
	if ((quiet = quiet_power_levels(&o)) != NULL &&
	    (e = send_part(ctx, old_id, me, "m.room.power_levels", "", quiet, 1)) != MROOM_OK)
		goto out;
	/* As Synapse: the directory lists the new room in place of the old. */
	e = MROOM_ERROR;
	if (o.is_public && (mstore_room_set_public(req->db, old_id, 0) == -1 ||
	    mstore_room_set_public(req->db, *new_id, 1) == -1))
		goto out;
	e = MROOM_OK;
out:
	if (e != MROOM_OK) {
		free(*new_id);
		*new_id = NULL;
	}
	json_decref(cc);
	json_decref(initial);
	json_decref(pl);
	json_decref(restore);
	json_decref(old_alias);
	json_decref(new_alias);
	json_decref(quiet);
	json_decref(tomb);
	free(tomb_id);
	free(new_room);
	oldroom_fini(&o);
	return e;
}

void
room_upgrade_carry(struct mreq *req, const char *old_id, const char *new_id,
    const char *user_id)
{
	json_t		*tags = NULL, *direct = NULL, *list, *v, *tomb;
	struct mroom	 room;
	const char	*k;
	size_t		 i;
	int		 changed = 0, err = 0, replaced;

	/*
	 * Only for a room the old one names as its replacement: a create
	 * event may name any room as its predecessor, but only those with
	 * the power to send m.room.tombstone in the old room can make this
	 * server move its aliases and directory entry (or a user's tags).
	 */
	tomb = mstore_cstate_event(req->db, old_id, "m.room.tombstone", "", &err);
	replaced = !err && tomb != NULL && mjson_str(json_object_get(tomb, "content"),
	    "replacement_room") != NULL && strcmp(mjson_str(json_object_get(tomb, "content"),
	    "replacement_room"), new_id) == 0;
	json_decref(tomb);
	if (!replaced) {
		mlog_info(req->id, "%s does not replace %s (no tombstone naming it): nothing carried",
		    new_id, old_id);
		return;
	}

	/*
	 * As Synapse when one of its users joins a replacement room: this
	 * server's aliases of the old room point at the new one, and its
	 * directory lists the new room in place of the old (the upgrade did
	 * so already when it was ours; for a room upgraded on another server
	 * this is where it happens).
	 */
	if (mstore_alias_move(req->db, old_id, new_id) == -1)
		mlog_warn(req->id, "%s: aliases of %s not moved to %s", __func__, old_id, new_id);
	if (mstore_room_get(req->db, old_id, &room) == 1) {
		if (room.is_public && (mstore_room_set_public(req->db, old_id, 0) == -1 ||
		    mstore_room_set_public(req->db, new_id, 1) == -1))
			mlog_warn(req->id, "%s: directory not moved to %s", __func__, new_id);
		mroom_fini(&room);
	}

	if (mstore_account_data_get(req->db, user_id, old_id, "m.tag", &tags) == 1 &&
	    json_object_size(json_object_get(tags, "tags")) > 0 &&
	    mstore_account_data_put(req->db, user_id, new_id, "m.tag", tags) == -1)
		mlog_warn(req->id, "%s: tags of %s not carried", __func__, old_id);
	if (mstore_account_data_get(req->db, user_id, "", "m.direct", &direct) == 1 &&
	    json_is_object(direct)) {
		json_object_foreach(direct, k, list) {
			int has_old = 0, has_new = 0;

			json_array_foreach(list, i, v)
				if (json_is_string(v)) {
					has_old |= strcmp(json_string_value(v), old_id) == 0;
					has_new |= strcmp(json_string_value(v), new_id) == 0;
				}
			if (has_old && !has_new &&
			    json_array_append_new(list, json_string(new_id)) == 0)
				changed = 1;
		}
		if (changed &&
		    mstore_account_data_put(req->db, user_id, "", "m.direct", direct) == -1)
			mlog_warn(req->id, "%s: m.direct not carried to %s", __func__, new_id);
	}
	json_decref(tags);
	json_decref(direct);
}

void
room_upgrade_joined(struct mreq *req, const char *room_id, const char *user_id)
{
	json_t		*create;
	const char	*old;
	int		 err;

	create = mstore_cstate_event(req->db, room_id, "m.room.create", "", &err);
	old = mjson_str(json_object_get(json_object_get(create, "content"), "predecessor"),
	    "room_id");
	if (!err && old != NULL)
		room_upgrade_carry(req, old, room_id, user_id);
	json_decref(create);
}

/*
 * Spec: C-S API, POST /rooms/{roomId}/upgrade {new_version,
 * additional_creators}: 400 M_UNSUPPORTED_ROOM_VERSION for an unknown
 * version, 404 M_NOT_FOUND for an unknown room, 403 M_FORBIDDEN unless
 * the user may send m.room.tombstone there.  Every event of the upgrade
 * is written in one transaction: all of it, or nothing.
 */
int
h_upgrade(struct mreq *req)
{
	struct mroom_ctx	 ctx;
	struct mroom		 room;
	const struct mroomver	*ver;
	json_t			*nv = json_object_get(req->body, "new_version");
	json_t			*extra = json_object_get(req->body, "additional_creators"), *v;
	char			*new_id = NULL;
	enum mroom_err		 e;
	size_t			 i;
	int			 rc;

	if (nv == NULL)
		return mfcgi_fail(req, MERR_MISSING_PARAM, "Missing new_version");
	if (!json_is_string(nv))
		return mfcgi_fail(req, MERR_BAD_JSON, "new_version must be a string");
	if ((ver = mroomver_get(json_string_value(nv))) == NULL)
		return mfcgi_fail(req, MERR_UNSUPPORTED_ROOM_VERSION,
		    "Your homeserver does not support this room version");
	if (extra != NULL && !json_is_null(extra)) {
		if (!json_is_array(extra))
			return mfcgi_fail(req, MERR_BAD_JSON, "additional_creators must be a list");
		json_array_foreach(extra, i, v)
			if (!json_is_string(v) || json_string_value(v)[0] != '@' ||
			    strchr(json_string_value(v), ':') == NULL)
				return mfcgi_fail(req, MERR_INVALID_PARAM,
				    "Invalid user ID in additional_creators");
	} else
		extra = NULL;
	if ((rc = mstore_room_get(req->db, req->params[0], &room)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	mroom_fini(&room);
	if (rc == 0)
		return mfcgi_fail(req, MERR_NOT_FOUND, "Unknown room");
	room_ctx(req, &ctx);
	/* Spec: step 1, before any work. */
	if ((rc = dir_may_send_state(&ctx, req->params[0], req->auth.user_id,
	    "m.room.tombstone")) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: auth check failed", __func__);
	if (rc == 0)
		return mfcgi_fail(req, MERR_FORBIDDEN, "You cannot upgrade this room");
	if (mdb_begin(req->db) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: cannot begin", __func__);
	if ((e = upgrade(req, &ctx, req->params[0], ver, extra, &new_id)) != MROOM_OK) {
		mdb_rollback(req->db);
		return room_fail(req, &ctx, e);
	}
	if (mdb_commit(req->db) == -1) {
		free(new_id);
		return mfcgi_fail(req, MERR_INTERNAL, "%s: commit failed", __func__);
	}
	room_upgrade_carry(req, req->params[0], new_id, req->auth.user_id);
	rc = mfcgi_reply(req, 200, json_pack("{s:s}", "replacement_room", new_id));
	free(new_id);
	return rc;
}
