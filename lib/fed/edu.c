/*
 * EDUs (S-S API, "EDUs"), both ways.  Out: what a local user's typing,
 * read receipts, presence, to-device messages and device-list changes
 * tell other servers is queued per destination (lib/store/fedq.c), for
 * the sender to put in its transactions; typing, presence and receipts
 * replace what was queued before of their kind, to-device messages and
 * device-list updates are kept in order until taken.  In: each EDU of a received transaction is taken only
 * for users of the origin, in rooms where the origin has a joined
 * member; anything else is ignored, as Synapse ignores it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"
#include "config/config.h"
#include "fed/fed.h"
#include "json/json.h"
#include "log/log.h"
#include "push/push.h"
#include "store/store.h"

/* A bound on a to-device message ID (ours: a device ID and a txnId, 255 each). */
#define MESSAGE_ID_MAX	1024

/* 1 when user_id is a user of server (its part after the first ':'). */
static int
user_of(const char *user_id, const char *server)
{
	const char *c;

	return user_id != NULL && (c = strchr(user_id, ':')) != NULL &&
	    strcmp(c + 1, server) == 0;
}

/* The server part of user_id (after the first ':'), or NULL. */
static const char *
server_of(const char *user_id)
{
	const char *c = strchr(user_id, ':');

	return c != NULL && c[1] != '\0' ? c + 1 : NULL;
}

/*
 * Outbound.
 */

/* Queues the EDU for each server in servers (a JSON array).  0 or -1. */
static int
queue_each(struct mdb *db, const json_t *servers, const char *type, const char *ekey,
    const json_t *content, enum mstream stream)
{
	const json_t	*v;
	int64_t		 now = mclock_now_ms();
	size_t		 i;

	json_array_foreach(servers, i, v)
		if (mstore_fedq_edu_add(db, json_string_value(v), type, ekey, content, stream,
		    now) == -1)
			return -1;
	return 0;
}

/* Queues the EDU for every other server with a member joined to room_id.  0 or -1. */
static int
queue_room(struct mdb *db, const char *us, const char *room_id, const char *type,
    const char *ekey, json_t *content, enum mstream stream)
{
	json_t	*servers;
	int	 rc = -1;

	if (content == NULL)
		return -1;
	if ((servers = mstore_fedq_room_servers(db, room_id, us)) != NULL)
		rc = queue_each(db, servers, type, ekey, content, stream);
	json_decref(servers);
	json_decref(content);
	return rc;
}

int
mfed_edu_typing(struct mdb *db, const char *us, const char *room_id, const char *user_id,
    int typing)
{
	char	*ekey;
	int	 rc;

	if (asprintf(&ekey, "%s|%s", room_id, user_id) == -1)
		return -1;
	rc = queue_room(db, us, room_id, "m.typing", ekey, json_pack("{s:s,s:s,s:b}",
	    "room_id", room_id, "user_id", user_id, "typing", typing), MSTREAM_TYPING);
	free(ekey);
	return rc;
}

int
mfed_edu_receipt(struct mdb *db, const char *us, const char *room_id, const char *user_id,
    const char *thread_id, const char *event_id, int64_t ts)
{
	json_t	*data;
	char	*ekey;
	int	 rc;

	if ((data = json_pack("{s:I}", "ts", (json_int_t)ts)) == NULL)
		return -1;
	if (thread_id != NULL)
		json_object_set_new(data, "thread_id", json_string(thread_id));
	if (asprintf(&ekey, "%s|%s|%s", room_id, user_id, thread_id != NULL ? thread_id :
	    "") == -1) {
		json_decref(data);
		return -1;
	}
	/* Spec: only m.read goes over federation; m.read.private stays here. */
	rc = queue_room(db, us, room_id, "m.receipt", ekey, json_pack("{s:{s:{s:{s:[s],s:o}}}}",
	    room_id, "m.read", user_id, "event_ids", event_id, "data", data), MSTREAM_RECEIPTS);
	free(ekey);
	return rc;
}

/* Adds to seen the other servers of room_id's joined members.  0 or -1. */
static int
room_servers_into(struct mdb *db, const char *us, const char *room_id, json_t *seen)
{
	json_t		*servers, *v;
	size_t		 i;

	if ((servers = mstore_fedq_room_servers(db, room_id, us)) == NULL)
		return -1;
	json_array_foreach(servers, i, v)
		json_object_set_new(seen, json_string_value(v), json_true());
	json_decref(servers);
	return 0;
}

/* The other servers sharing a room with user_id: a new JSON array, or NULL. */
static json_t *
user_servers(struct mdb *db, const char *us, const char *user_id)
{
	json_t		*rooms, *seen, *out, *v;
	const char	*k;
	size_t		 i;

	if ((rooms = mstore_user_rooms(db, user_id, "join")) == NULL)
		return NULL;
	if ((seen = json_object()) == NULL || (out = json_array()) == NULL) {
		json_decref(seen);
		json_decref(rooms);
		return NULL;
	}
	json_array_foreach(rooms, i, v)
		if (room_servers_into(db, us, json_string_value(v), seen) == -1) {
			json_decref(out);
			out = NULL;
			break;
		}
	if (out != NULL)
		json_object_foreach(seen, k, v)
			json_array_append_new(out, json_string(k));
	json_decref(seen);
	json_decref(rooms);
	return out;
}

int
mfed_edu_presence(struct mdb *db, const char *us, const char *user_id)
{
	struct mpresence	 p;
	json_t			*servers, *c, *content;
	int			 rc;

	if ((rc = mstore_presence_get(db, user_id, &p)) == -1)
		return -1;
	c = mpresence_content(rc == 1 ? &p : NULL, mclock_now_ms());
	if (rc == 1)
		mpresence_fini(&p);
	if (c == NULL)
		return -1;
	json_object_set_new(c, "user_id", json_string(user_id));
	if (json_object_get(c, "currently_active") == NULL)
		json_object_set_new(c, "currently_active", json_false());
	if ((content = json_pack("{s:[o]}", "push", c)) == NULL)
		return -1;
	rc = -1;
	if ((servers = user_servers(db, us, user_id)) != NULL)
		rc = queue_each(db, servers, "m.presence", user_id, content, MSTREAM_PRESENCE);
	json_decref(servers);
	json_decref(content);
	return rc;
}

int
mfed_edu_todevice(struct mdb *db, const char *sender, const char *type,
    const char *message_id, const json_t *messages)
{
	json_t		*per, *m, *devs;
	const char	*user_id, *server;
	int64_t		 now = mclock_now_ms();
	int		 rc = 0;

	/* {server: {user_id: devices}}: one EDU per destination. */
	if ((per = json_object()) == NULL)
		return -1;
	json_object_foreach((json_t *)messages, user_id, devs) {
		if ((server = server_of(user_id)) == NULL)
			continue;
		if ((m = json_object_get(per, server)) == NULL) {
			m = json_object();
			json_object_set_new(per, server, m);
		}
		json_object_set(m, user_id, devs);
	}
	json_object_foreach(per, server, m) {
		json_t *content = json_pack("{s:s,s:s,s:s,s:O}", "sender", sender, "type", type,
		    "message_id", message_id, "messages", m);

		if (content == NULL || mstore_fedq_edu_add(db, server, "m.direct_to_device", NULL,
		    content, MSTREAM_TODEVICE, now) == -1)
			rc = -1;
		json_decref(content);
		if (rc == -1)
			break;
	}
	json_decref(per);
	return rc;
}

int
mfed_edu_devices(struct mdb *db, const char *us, const char *user_id, const char *device_id,
    int deleted)
{
	struct mdevice	 d;
	json_t		*servers = NULL, *content = NULL, *keys = NULL;
	int64_t		 sid, prev;
	int		 rc = -1, own = !mdb_in_txn(db), have = 0;

	if (own && mdb_begin(db) == -1)
		return -1;
	if ((rc = mstore_ldl_next(db, user_id, &sid, &prev)) != 1)
		goto out;
	rc = -1;
	memset(&d, 0, sizeof(d));
	if (!deleted) {
		if ((have = mstore_device_get(db, user_id, device_id, &d)) == -1 ||
		    mstore_dkeys_get(db, user_id, device_id, &keys) == -1)
			goto out;
		/* A device gone by now is told as deleted. */
		deleted = have == 0;
	}
	content = json_pack("{s:s,s:s,s:I,s:[],s:b}", "user_id", user_id, "device_id",
	    device_id, "stream_id", (json_int_t)sid, "prev_id", "deleted", deleted);
	if (content == NULL)
		goto out;
	if (prev > 0)
		json_array_append_new(json_object_get(content, "prev_id"), json_integer(prev));
	if (have && d.display_name != NULL)
		json_object_set_new(content, "device_display_name", json_string(d.display_name));
	if (keys != NULL)
		json_object_set(content, "keys", keys);
	if ((servers = user_servers(db, us, user_id)) == NULL)
		goto out;
	rc = queue_each(db, servers, "m.device_list_update", NULL, content,
	    MSTREAM_DEVICE_LISTS);
out:
	if (have == 1)
		mdevice_fini(&d);
	json_decref(keys);
	json_decref(content);
	json_decref(servers);
	if (own) {
		if (rc == -1 || mdb_commit(db) == -1) {
			mdb_rollback(db);
			return -1;
		}
	}
	return rc == -1 ? -1 : 0;
}

int
mfed_edu_signing(struct mdb *db, const char *us, const char *user_id)
{
	json_t	*content, *servers, *k;
	int	 rc = -1;

	if ((content = json_pack("{s:s}", "user_id", user_id)) == NULL)
		return -1;
	if (mstore_xsign_get(db, user_id, "master", NULL, &k) == 1)
		json_object_set_new(content, "master_key", k);
	if (mstore_xsign_get(db, user_id, "self_signing", NULL, &k) == 1)
		json_object_set_new(content, "self_signing_key", k);
	if ((servers = user_servers(db, us, user_id)) != NULL)
		rc = queue_each(db, servers, "m.signing_key_update", NULL, content,
		    MSTREAM_DEVICE_LISTS);
	json_decref(servers);
	json_decref(content);
	return rc;
}

/*
 * Inbound.
 */

int
mfed_server_in_room(struct mdb *db, const char *room_id, const char *server)
{
	json_t	*joined, *v;
	size_t	 i;
	int	 in = 0;

	if ((joined = mstore_room_joined(db, room_id)) == NULL)
		return -1;
	json_array_foreach(joined, i, v)
		if (user_of(json_string_value(v), server)) {
			in = 1;
			break;
		}
	json_decref(joined);
	return in;
}

/* 1 when user_id is joined to room_id now. */
static int
joined(struct mdb *db, const char *room_id, const char *user_id)
{
	json_t	*ev;
	int	 err = 0, ok;

	ev = mstore_cstate_event(db, room_id, "m.room.member", user_id, &err);
	ok = ev != NULL && mjson_str(json_object_get(ev, "content"), "membership") != NULL &&
	    strcmp(mjson_str(json_object_get(ev, "content"), "membership"), "join") == 0;
	json_decref(ev);
	return ok;
}

/* m.typing: {room_id, user_id, typing}; a remote typing lasts 30 s unless renewed. */
static void
edu_typing(struct mdb *db, const char *origin, const json_t *c)
{
	const char	*room = mjson_str(c, "room_id"), *user = mjson_str(c, "user_id");
	json_t		*t = json_object_get(c, "typing");

	if (room == NULL || !user_of(user, origin) || !json_is_boolean(t) ||
	    !joined(db, room, user))
		return;
	(void)mstore_typing_set(db, room, user, json_is_true(t) ? mclock_now_ms() + 30000 : 0);
}

/* m.receipt: {room_id: {receipt type: {user_id: {event_ids, data}}}}. */
static void
edu_receipt(struct mdb *db, const char *origin, const json_t *c)
{
	const char	*room, *type, *user;
	json_t		*types, *users, *r, *ids, *id;
	size_t		 i;

	json_object_foreach((json_t *)c, room, types) {
		if (!json_is_object(types) || mfed_server_in_room(db, room, origin) != 1)
			continue;
		json_object_foreach(types, type, users) {
			if (strcmp(type, "m.read") != 0 || !json_is_object(users))
				continue;
			json_object_foreach(users, user, r) {
				json_t		*data = json_object_get(r, "data");
				const char	*thread = mjson_str(data, "thread_id");
				json_t		*ts = json_object_get(data, "ts");

				if (!user_of(user, origin) || !joined(db, room, user))
					continue;
				ids = json_object_get(r, "event_ids");
				json_array_foreach(ids, i, id) {
					if (!json_is_string(id))
						continue;
					if (mdb_begin(db) == -1)
						return;
					if (mpush_receipt_put(db, room, user, type, thread,
					    json_string_value(id), json_is_integer(ts) ?
					    json_integer_value(ts) : mclock_now_ms()) == -1 ||
					    mdb_commit(db) == -1)
						mdb_rollback(db);
				}
			}
		}
	}
}

/* m.presence: {push: [{user_id, presence, status_msg, last_active_ago}]}. */
static void
edu_presence(struct mdb *db, const char *origin, const json_t *c)
{
	json_t	*push = json_object_get(c, "push"), *p;
	size_t	 i;

	json_array_foreach(push, i, p) {
		const char	*user = mjson_str(p, "user_id"), *pr = mjson_str(p, "presence");
		json_t		*ago = json_object_get(p, "last_active_ago");
		json_t		*rooms;

		if (!user_of(user, origin) || pr == NULL || !mpresence_valid(pr))
			continue;
		/* Only for a user who shares a room with us. */
		if ((rooms = mstore_user_rooms(db, user, "join")) == NULL)
			continue;
		if (json_array_size(rooms) > 0)
			(void)mstore_presence_put(db, user, pr, mjson_str(p, "status_msg"),
			    json_is_integer(ago) ? mclock_now_ms() - json_integer_value(ago) : -1);
		json_decref(rooms);
	}
}

/*
 * m.direct_to_device: {sender, type, message_id, messages: {user_id:
 * {device_id or "*": content}}}, the sender a user of the origin; the
 * messages for our users are queued as a local sender's are, once per
 * (sender, message_id): a transaction sent again delivers nothing again.
 */
static void
edu_todevice(struct mdb *db, const char *origin, const char *us, const json_t *c)
{
	const char	*sender = mjson_str(c, "sender"), *type = mjson_str(c, "type");
	const char	*mid = mjson_str(c, "message_id"), *user_id, *device_id;
	json_t		*messages = json_object_get(c, "messages"), *local, *devs, *v;

	if (!user_of(sender, origin) || type == NULL || mid == NULL || *mid == '\0' ||
	    strlen(mid) > MESSAGE_ID_MAX || !json_is_object(messages) ||
	    (local = json_object()) == NULL)
		return;
	json_object_foreach(messages, user_id, devs) {
		int ok = user_of(user_id, us) && json_is_object(devs);

		json_object_foreach(devs, device_id, v)
			if (!json_is_object(v) || *device_id == '\0')
				ok = 0;
		if (ok)
			json_object_set(local, user_id, devs);
	}
	/* A remote sender has no device here: its message IDs are scoped to "". */
	if (json_object_size(local) > 0 &&
	    mstore_todevice_send(db, sender, "", mid, type, local) == -1)
		mlog_warn(NULL, "federation: to-device from %s: store failed", sender);
	json_decref(local);
}

/* 1 when user_id shares a room with one of our users, 0 not, -1. */
static int
followed(struct mdb *db, const struct mconfig *conf, const char *user_id)
{
	return mstore_rdl_shared(db, user_id, conf->server_name);
}

/*
 * m.device_list_update: {user_id, device_id, device_display_name,
 * stream_id, prev_id, deleted, keys}.  Taken when the list is followed
 * and prev_id names only the last update taken; else the whole list is
 * fetched from origin.  An update seen already (stream_id not past the
 * last) changes nothing.
 */
static void
edu_device_list(struct mdb *db, const struct mconfig *conf, const struct mkey *key,
    const char *origin, const json_t *c)
{
	const char	*user = mjson_str(c, "user_id"), *dev = mjson_str(c, "device_id");
	json_t		*sid = json_object_get(c, "stream_id"), *prev = json_object_get(c, "prev_id");
	json_t		*v;
	int64_t		 last;
	size_t		 i;
	int		 tracked, known = 1;

	if (!user_of(user, origin) || dev == NULL || *dev == '\0' || !json_is_integer(sid))
		return;
	if (followed(db, conf, user) != 1) {
		/* Nobody here shares a room: what was cached is no longer followed. */
		(void)mstore_rdl_forget(db, user);
		return;
	}
	if ((tracked = mstore_rdl_get(db, user, &last)) == -1)
		return;
	if (tracked == 1 && json_integer_value(sid) <= last)
		return;
	json_array_foreach(prev, i, v)
		if (!json_is_integer(v) || json_integer_value(v) != last)
			known = 0;
	if (tracked == 1 && known && (prev == NULL || json_is_array(prev))) {
		json_t *keys = json_object_get(c, "keys");

		(void)mstore_rdl_update(db, user, dev, mjson_str(c, "device_display_name"),
		    json_is_object(keys) ? keys : NULL, json_is_true(json_object_get(c, "deleted")),
		    json_integer_value(sid));
		return;
	}
	(void)mfed_devices_resync(db, conf, key, user);
}

/* m.signing_key_update: {user_id, master_key, self_signing_key}. */
static void
edu_signing_key(struct mdb *db, const struct mconfig *conf, const char *origin,
    const json_t *c)
{
	const char	*user = mjson_str(c, "user_id");
	json_t		*m = json_object_get(c, "master_key");
	json_t		*ss = json_object_get(c, "self_signing_key");

	if (!user_of(user, origin) || followed(db, conf, user) != 1)
		return;
	(void)mstore_rdl_xsign(db, user, json_is_object(m) ? m : NULL,
	    json_is_object(ss) ? ss : NULL);
}

void
mfed_receive_edu(struct mdb *db, const struct mconfig *conf, const struct mkey *key,
    const char *origin, const json_t *edu)
{
	const char	*type = mjson_str(edu, "edu_type");
	json_t		*c = json_object_get(edu, "content");

	if (type == NULL || !json_is_object(c))
		return;
	if (strcmp(type, "m.typing") == 0)
		edu_typing(db, origin, c);
	else if (strcmp(type, "m.receipt") == 0)
		edu_receipt(db, origin, c);
	else if (strcmp(type, "m.presence") == 0)
		edu_presence(db, origin, c);
	else if (strcmp(type, "m.direct_to_device") == 0)
		edu_todevice(db, origin, conf->server_name, c);
	else if (strcmp(type, "m.device_list_update") == 0)
		edu_device_list(db, conf, key, origin, c);
	else if (strcmp(type, "m.signing_key_update") == 0)
		edu_signing_key(db, conf, origin, c);
}
