/* Push gateways: the notify requests of queued notifications and badge updates. */
#include <stdlib.h>
#include <string.h>

#include "http/http.h"
#include "json/json.h"
#include "log/log.h"
#include "push/extern.h"
#include "store/store.h"

/*
 * Spec: Push Gateway API, "tweaks": the actions' set_tweak values; one
 * without a value is true, as the spec reads highlight (and Synapse).
 */
static json_t *
tweaks_of(const json_t *actions)
{
	json_t		*t = json_object();
	const json_t	*a;
	size_t		 i;

	json_array_foreach(actions, i, a) {
		const char *name = json_string_value(json_object_get(a, "set_tweak"));
		json_t *v = json_object_get(a, "value");

		if (name != NULL)
			json_object_set_new(t, name, v != NULL ? json_incref(v) : json_true());
	}
	return t;
}

json_t *
mpush_notify_body(const json_t *ev, const char *event_id, const char *user_id,
    const json_t *actions, int64_t unread, const char *app_id, const char *pushkey,
    int64_t pushkey_ts, const json_t *data, const char *sender_name, const char *room_name)
{
	json_t		*n = NULL, *dev = NULL, *d = NULL, *tweaks = NULL;
	const char	*format = json_string_value(json_object_get(data, "format"));
	const char	*type = push_str(ev, "type"), *prio;
	const json_t	*content = json_object_get(ev, "content");

	/* Synapse 1.67 hands the pusher's data on without its url. */
	if ((d = json_deep_copy(data)) == NULL)
		d = json_object();
	json_object_del(d, "url");
	if ((dev = json_pack("{s:s,s:s,s:I,s:o}", "app_id", app_id, "pushkey", pushkey,
	    "pushkey_ts", (json_int_t)(pushkey_ts / 1000), "data", d)) == NULL)
		return NULL;
	if (ev == NULL) {
		/* A badge update: Synapse's shape, without an event. */
		return json_pack("{s:{s:s,s:n,s:s,s:{s:I},s:[o]}}", "notification", "id", "",
		    "type", "sender", "", "counts", "unread", (json_int_t)unread, "devices", dev);
	}
	tweaks = tweaks_of(actions);
	/* As Synapse: encrypted events, highlights and sounds are urgent. */
	prio = strcmp(type, "m.room.encrypted") == 0 ||
	    json_is_true(json_object_get(tweaks, "highlight")) ||
	    json_object_get(tweaks, "sound") != NULL ? "high" : "low";
	if (format != NULL && strcmp(format, "event_id_only") == 0) {
		json_decref(tweaks);
		return json_pack("{s:{s:s,s:s,s:s,s:{s:I},s:[o]}}", "notification",
		    "event_id", event_id, "room_id", push_str(ev, "room_id"), "prio", prio,
		    "counts", "unread", (json_int_t)unread, "devices", dev);
	}
	if (json_object_set_new(dev, "tweaks", tweaks) == -1 ||
	    (n = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:{s:I},s:[o]}", "id", event_id,
	    "event_id", event_id, "room_id", push_str(ev, "room_id"), "type", type,
	    "sender", push_str(ev, "sender"), "prio", prio, "counts", "unread",
	    (json_int_t)unread, "devices", dev)) == NULL) {
		json_decref(dev);
		return NULL;
	}
	if (strcmp(type, "m.room.member") == 0 &&
	    json_is_string(json_object_get(ev, "state_key"))) {
		json_object_set_new(n, "membership",
		    json_string(push_str(content, "membership")));
		json_object_set_new(n, "user_is_target", json_boolean(
		    strcmp(push_str(ev, "state_key"), user_id) == 0));
	}
	if (json_is_object(content) && json_object_size(content) > 0)
		json_object_set(n, "content", (json_t *)content);
	if (sender_name != NULL && *sender_name != '\0')
		json_object_set_new(n, "sender_display_name", json_string(sender_name));
	if (room_name != NULL && *room_name != '\0')
		json_object_set_new(n, "room_name", json_string(room_name));
	return json_pack("{s:o}", "notification", n);
}

/* The badge (push/push.h). */
int64_t
mpush_badge(struct mdb *db, const char *user_id)
{
	struct mpushcount	*c = NULL;
	size_t			 n = 0;
	int64_t			 rooms = 0;

	if (mstore_push_counts(db, user_id, &c, &n) == -1)
		return -1;
	/* Rows come grouped by room, then thread. */
	for (size_t i = 0; i < n; i++) {
		int counted = 0;

		for (size_t j = 0; j < i; j++)
			if (c[j].notify > 0 && strcmp(c[j].room_id, c[i].room_id) == 0)
				counted = 1;
		if (c[i].notify > 0 && !counted)
			rooms++;
	}
	mpushcount_list_free(c, n);
	return rooms;
}

/* The string value of a current state event's content field, malloc'd, or NULL. */
static char *
state_str(struct mdb *db, const char *room_id, const char *type, const char *key,
    const char *field)
{
	int		 err = 0;
	json_t		*ev = mstore_cstate_event(db, room_id, type, key, &err);
	const char	*s = json_string_value(json_object_get(json_object_get(ev, "content"),
			    field));
	char		*r = s != NULL ? strdup(s) : NULL;

	json_decref(ev);
	return r;
}

/* 1 when the gateway's answer lists pushkey in "rejected". */
static int
rejected(const struct mhttp_req *r, const char *pushkey)
{
	json_t		*a = mhttp_json(r);
	const json_t	*k;
	size_t		 i;
	int		 found = 0;

	json_array_foreach(json_object_get(a, "rejected"), i, k)
		if (json_is_string(k) && strcmp(json_string_value(k), pushkey) == 0)
			found = 1;
	json_decref(a);
	return found;
}

/* One row: its body, then the request.  An enum moutbox_res. */
static enum moutbox_res
deliver_one(const struct mpush_gateway *gw, struct mdb *db, const char *user_id,
    const char *app_id, const char *pushkey, const char *url, const json_t *data,
    int64_t pushkey_ts, int64_t *last_badge, const struct moutbox_row *row)
{
	struct mhttp_req	 r;
	struct mevrow		 ev;
	json_t			*body = NULL, *actions = NULL;
	char			*js = NULL, *sender = NULL, *room = NULL;
	int64_t			 unread;
	int			 have_ev = 0;
	enum moutbox_res	 res = MOUTBOX_RETRY;

	memset(&r, 0, sizeof(r));
	memset(&ev, 0, sizeof(ev));
	/*
	 * A badge update tells the number its receipt left (counted in the
	 * receipt's transaction), so that an event stored since cannot make
	 * it look changed; a notification tells the number now.
	 */
	if (row->ref == NULL && row->payload != NULL &&
	    (actions = json_loads(row->payload, 0, NULL)) != NULL &&
	    json_is_integer(json_object_get(actions, "badge")))
		unread = json_integer_value(json_object_get(actions, "badge"));
	else if ((unread = mpush_badge(db, user_id)) == -1) {
		json_decref(actions);
		return MOUTBOX_RETRY;
	}
	json_decref(actions);
	actions = NULL;
	/* As Synapse: a badge update goes only when the number changed. */
	if (row->ref == NULL && unread == *last_badge)
		return MOUTBOX_DONE;
	if (row->ref != NULL) {
		int rc = mstore_event_get(db, row->ref, &ev);

		if (rc == -1)
			return MOUTBOX_RETRY;
		if (rc == 0 || ev.rejected != NULL) {
			/* Purged or rejected since: nothing to tell. */
			if (rc == 1)
				mevrow_fini(&ev);
			return MOUTBOX_DROP;
		}
		have_ev = 1;
		actions = row->payload != NULL ? json_loads(row->payload, 0, NULL) : NULL;
		sender = state_str(db, ev.room_id, "m.room.member", ev.sender, "displayname");
		if ((room = state_str(db, ev.room_id, "m.room.name", "", "name")) == NULL)
			room = state_str(db, ev.room_id, "m.room.canonical_alias", "", "alias");
	}
	if ((body = mpush_notify_body(have_ev ? ev.json : NULL, row->ref, user_id, actions,
	    unread, app_id, pushkey, pushkey_ts, data, sender, room)) == NULL ||
	    (js = json_dumps(body, JSON_COMPACT)) == NULL) {
		mlog_err(NULL, "%s: cannot build a notification", __func__);
		res = MOUTBOX_DROP;
		goto out;
	}
	r.method = "POST";
	r.url = url;
	/* lib/http says Content-Type: application/json for a body. */
	r.body = js;
	r.bodysz = strlen(js);
	r.allow = gw->allow;
	r.ca_file = gw->ca_file;
	r.timeout_ms = gw->timeout_ms;
	r.max_bytes = 64 * 1024;
	if (mhttp_perform(&r) == -1) {
		mlog_info(NULL, "push gateway of %s unreachable: %s", user_id, r.err);
		goto out;
	}
	if (r.status < 200 || r.status > 299) {
		mlog_info(NULL, "push gateway of %s answered %ld", user_id, r.status);
		goto out;
	}
	res = MOUTBOX_DONE;
	*last_badge = unread;
	/* Spec: the pushkeys the gateway rejects are to be removed. */
	if (rejected(&r, pushkey)) {
		mlog_info(NULL, "push gateway rejected a pushkey of %s: pusher removed", user_id);
		if (mstore_pusher_del(db, user_id, app_id, pushkey) == -1)
			res = MOUTBOX_RETRY;
		else
			res = MOUTBOX_GONE;
	}
out:
	mhttp_req_fini(&r);
	free(js);
	free(sender);
	free(room);
	json_decref(body);
	json_decref(actions);
	if (have_ev)
		mevrow_fini(&ev);
	return res;
}

enum moutbox_res
mpush_gateway_deliver(void *arg, struct mdb *db, const char *destination,
    const struct moutbox_row *rows, size_t n)
{
	const struct mpush_gateway *gw = arg;
	json_t		*dest = json_loads(destination, 0, NULL), *data = NULL;
	const char	*user_id = json_string_value(json_array_get(dest, 0));
	const char	*app_id = json_string_value(json_array_get(dest, 1));
	const char	*pushkey = json_string_value(json_array_get(dest, 2));
	const char	*url;
	char		*kind = NULL;
	int64_t		 created = 0, badge = -1, sent;
	enum moutbox_res res = MOUTBOX_DONE;
	int		 rc;

	if (user_id == NULL || app_id == NULL || pushkey == NULL) {
		res = MOUTBOX_GONE;
		goto out;
	}
	if ((rc = mstore_pusher_get(db, user_id, app_id, pushkey, &kind, &data,
	    &created, &badge)) != 1) {
		/* A pusher deleted since its rows were queued takes them along. */
		res = rc == 0 ? MOUTBOX_GONE : MOUTBOX_RETRY;
		goto out;
	}
	url = json_string_value(json_object_get(data, "url"));
	if (strcmp(kind, "http") != 0 || url == NULL ||
	    (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)) {
		mlog_info(NULL, "a pusher of %s has no http(s) URL: nothing sent", user_id);
		res = MOUTBOX_GONE;
		goto out;
	}
	sent = badge;
	for (size_t i = 0; i < n && res == MOUTBOX_DONE; i++)
		res = deliver_one(gw, db, user_id, app_id, pushkey, url, data, created, &badge,
		    &rows[i]);
	/*
	 * Recorded before the rows go: after a crash in between, the rows
	 * are sent again, but a badge update finds its number told already.
	 */
	if (res == MOUTBOX_DONE && badge != sent &&
	    mstore_pusher_badge(db, user_id, app_id, pushkey, badge) == -1)
		res = MOUTBOX_RETRY;
out:
	free(kind);
	json_decref(data);
	json_decref(dest);
	return res;
}
