/* The admin toolkit in the store: user and room listings, blocks, room deletions, reports. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"
#include "json/json.h"
#include "store/extern.h"

/* "%:server_name" as a LIKE pattern: user IDs of local users. */
static char *
local_pattern(const char *server_name)
{
	char	*colon, *p;

	if (asprintf(&colon, ":%s", server_name) == -1)
		return NULL;
	p = mstore_like_pattern("%", colon, "", 0);
	free(colon);
	return p;
}

/* Column col as a JSON string, or null for SQL NULL. */
static json_t *
text_or_null(struct mcur *c, int col)
{
	const char *s = mcur_text(c, col);

	return s != NULL ? json_string(s) : json_null();
}

static json_t *
int_or_null(struct mcur *c, int col)
{
	return mcur_null(c, col) ? json_null() : json_integer(mcur_int(c, col));
}

/* A string member of a stored PDU's content (column col), or null. */
static json_t *
content_str(struct mcur *c, int col, const char *key)
{
	const char	*s = mcur_text(c, col);
	json_t		*ev, *out;
	const char	*v;

	if (s == NULL || (ev = json_loads(s, 0, NULL)) == NULL)
		return json_null();
	v = mjson_str(json_object_get(ev, "content"), key);
	out = v != NULL ? json_string(v) : json_null();
	json_decref(ev);
	return out;
}

/* A single count (column 0 of the first row), or -1. */
static int64_t
count(struct mcur *c)
{
	int64_t n;

	return mcur_first_int(c, &n) == 1 ? n : -1;
}

/* -- users ----------------------------------------------------------------- */

static const char *const user_orders[] = {
	"name", "is_guest", "admin", "user_type", "deactivated", "shadow_banned",
	"displayname", "avatar_url", "creation_ts", "last_seen_ts",
};

int
mstore_admin_user_order_check(const char *order_by)
{
	for (size_t i = 0; i < sizeof(user_orders) / sizeof(user_orders[0]); i++)
		if (strcmp(order_by, user_orders[i]) == 0)
			return 1;
	return 0;
}

/* A row of MADMIN_USER_COLS as Synapse's user list object, or NULL. */
static json_t *
user_obj(struct mcur *c)
{
	json_t *u = json_pack("{s:s,s:b,s:b,s:o,s:b,s:b,s:b,s:o,s:o,s:I,s:o,s:b}",
	    "name", mcur_text(c, 0),
	    "is_guest", mcur_int(c, 4) != 0,
	    "admin", mcur_int(c, 3) != 0,
	    "user_type", text_or_null(c, 7),
	    "deactivated", mcur_int(c, 5) != 0,
	    "erased", mcur_int(c, 9) != 0,
	    "shadow_banned", mcur_int(c, 6) != 0,
	    "displayname", text_or_null(c, 1),
	    "avatar_url", text_or_null(c, 2),
	    "creation_ts", (json_int_t)mcur_int(c, 8),
	    "last_seen_ts", int_or_null(c, 10),
	    "locked", 0);

	return u;
}

int
mstore_admin_users(struct mdb *db, const struct madmin_userq *q, json_t **out,
    int64_t *total)
{
	char	*lp = NULL, *dn = NULL, *uid = NULL;
	int	 rc = -1;

	*out = NULL;
	if (q->name != NULL) {
		char *server = mstore_like_pattern("%:", q->server_name, "", 1);

		if (server != NULL)
			lp = mstore_like_pattern("@%", q->name, server, 1);
		free(server);
		dn = mstore_like_pattern("%", q->name, "%", 1);
		if (lp == NULL || dn == NULL)
			goto out;
	} else if (q->user_id != NULL &&
	    (uid = mstore_like_pattern("%", q->user_id, "%", 1)) == NULL)
		goto out;
	if ((*total = count(mdb_query(db, MSTMT_ADMIN_USERS_COUNT, "sssiii", lp, dn, uid,
	    (int64_t)q->guests, (int64_t)q->deactivated, (int64_t)q->admins))) < 0)
		goto out;
	*out = mcur_json_array(mdb_query(db, q->backwards ? MSTMT_ADMIN_USERS_B :
	    MSTMT_ADMIN_USERS_F, "sssiiisii", lp, dn, uid, (int64_t)q->guests,
	    (int64_t)q->deactivated, (int64_t)q->admins,
	    q->order_by != NULL ? q->order_by : "name", q->limit, q->from), user_obj);
	rc = *out == NULL ? -1 : 0;
out:
	free(lp);
	free(dn);
	free(uid);
	return rc;
}

int
mstore_admin_user(struct mdb *db, const char *user_id, json_t **out)
{
	struct mcur	*c;
	int		 rc;

	*out = NULL;
	if ((c = mdb_query(db, MSTMT_ADMIN_USER_GET, "s", user_id)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1) {
		/* Fields of Synapse's features myelin does not have: empty or null. */
		if ((*out = user_obj(c)) == NULL ||
		    json_object_update_new(*out, json_pack("{s:[],s:[],s:n,s:n,s:n,s:n,s:b}",
		    "threepids", "external_ids", "appservice_id", "consent_server_notice_sent",
		    "consent_version", "consent_ts", "suspended", 0)) == -1) {
			json_decref(*out);
			*out = NULL;
			rc = -1;
		}
	}
	mcur_free(c);
	return rc;
}

int
mstore_user_set_shadow_banned(struct mdb *db, const char *user_id, int on)
{
	return mstore_changed(mdb_exec(db, MSTMT_ADMIN_USER_SET_SHADOW_BANNED, "si", user_id,
	    (int64_t)(on != 0)));
}

int
mstore_user_set_erased(struct mdb *db, const char *user_id, int on)
{
	return mstore_changed(mdb_exec(db, MSTMT_ADMIN_USER_SET_ERASED, "si", user_id,
	    (int64_t)(on != 0)));
}

int
mstore_user_pushers_del(struct mdb *db, const char *user_id)
{
	return mdb_exec(db, MSTMT_ADMIN_USER_PUSHERS_DEL, "s", user_id) < 0 ? -1 : 0;
}

int
mstore_user_set_type(struct mdb *db, const char *user_id, const char *user_type)
{
	return mstore_changed(mdb_exec(db, MSTMT_ADMIN_USER_SET_TYPE, "ss", user_id, user_type));
}

json_t *
mstore_user_memberships(struct mdb *db, const char *user_id)
{
	return mcur_json_strings(mdb_query(db, MSTMT_ADMIN_USER_MEMBERSHIPS, "s", user_id));
}

/* -- rooms ----------------------------------------------------------------- */

/* Sets the summary fields a current state event (type, PDU text) gives a room. */
static void
room_state_fields(json_t *room, const char *type, const char *pdu)
{
	static const struct {
		const char	*type, *key, *field;
	} fields[] = {
		{ "m.room.name", "name", "name" },
		{ "m.room.topic", "topic", "topic" },
		{ "m.room.canonical_alias", "alias", "canonical_alias" },
		{ "m.room.avatar", "url", "avatar" },
		{ "m.room.join_rules", "join_rule", "join_rules" },
		{ "m.room.history_visibility", "history_visibility", "history_visibility" },
		{ "m.room.guest_access", "guest_access", "guest_access" },
		{ "m.room.encryption", "algorithm", "encryption" },
		{ "m.room.create", "type", "room_type" },
	};
	json_t		*ev, *content;
	const char	*v;

	if (pdu == NULL || (ev = json_loads(pdu, 0, NULL)) == NULL)
		return;
	content = json_object_get(ev, "content");
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strcmp(type, fields[i].type) == 0 &&
		    (v = mjson_str(content, fields[i].key)) != NULL)
			json_object_set_new(room, fields[i].field, json_string(v));
	if (strcmp(type, "m.room.create") == 0) {
		/* Spec: m.room.create: m.federate defaults to true. */
		json_object_set_new(room, "federatable",
		    json_boolean(!json_is_false(json_object_get(content, "m.federate"))));
		if (json_is_null(json_object_get(room, "creator")) &&
		    (v = mjson_str(ev, "sender")) != NULL)
			json_object_set_new(room, "creator", json_string(v));
	}
	json_decref(ev);
}

json_t *
mstore_admin_rooms(struct mdb *db, const char *server_name, const char *room_id)
{
	struct mcur	*c = NULL;
	json_t		*arr = NULL, *byid = NULL, *room;
	char		*local;
	int		 rc = -1, next;

	if ((local = local_pattern(server_name)) == NULL)
		return NULL;
	if ((c = mdb_query(db, MSTMT_ADMIN_ROOMS, "ss", local, room_id)) == NULL ||
	    (arr = json_array()) == NULL || (byid = json_object()) == NULL)
		goto out;
	while ((next = mcur_next(c)) == 1) {
		room = json_pack("{s:s,s:n,s:n,s:n,s:n,s:I,s:I,s:s,s:o,s:n,s:b,s:b,s:n,s:n,s:n,"
		    "s:I,s:n}",
		    "room_id", mcur_text(c, 0), "name", "topic", "avatar", "canonical_alias",
		    "joined_members", (json_int_t)mcur_int(c, 4),
		    "joined_local_members", (json_int_t)mcur_int(c, 5),
		    "version", mcur_text(c, 1), "creator", text_or_null(c, 2),
		    "encryption", "federatable", 1, "public", mcur_int(c, 3) != 0,
		    "join_rules", "guest_access", "history_visibility",
		    "state_events", (json_int_t)mcur_int(c, 6), "room_type");
		if (room == NULL || json_object_set(byid, mcur_text(c, 0), room) == -1 ||
		    json_array_append_new(arr, room) == -1)
			goto out;
	}
	mcur_free(c);
	if (next == -1 || (c = mdb_query(db, MSTMT_ADMIN_ROOMS_STATE, "s", room_id)) == NULL)
		goto out;
	while ((next = mcur_next(c)) == 1)
		if ((room = json_object_get(byid, mcur_text(c, 0))) != NULL)
			room_state_fields(room, mcur_text(c, 1), mcur_text(c, 2));
	rc = next == 0 ? 0 : -1;
out:
	mcur_free(c);
	free(local);
	json_decref(byid);
	if (rc == -1) {
		json_decref(arr);
		arr = NULL;
	}
	return arr;
}

int
mstore_admin_room_extra(struct mdb *db, const char *server_name, const char *room_id,
    int64_t *local_devices, int *forgotten)
{
	char	*local;
	int64_t	 remembered;

	if ((local = local_pattern(server_name)) == NULL)
		return -1;
	*local_devices = count(mdb_query(db, MSTMT_ADMIN_ROOM_LOCAL_DEVICES, "ss", room_id,
	    local));
	remembered = count(mdb_query(db, MSTMT_ADMIN_ROOM_REMEMBERED, "ss", room_id, local));
	free(local);
	if (*local_devices < 0 || remembered < 0)
		return -1;
	*forgotten = remembered == 0;
	return 0;
}

json_t *
mstore_room_joined(struct mdb *db, const char *room_id)
{
	return mcur_json_strings(mdb_query(db, MSTMT_ADMIN_ROOM_MEMBERS, "s", room_id));
}

json_t *
mstore_room_local_members(struct mdb *db, const char *server_name, const char *room_id)
{
	char	*local;
	json_t	*arr;

	if ((local = local_pattern(server_name)) == NULL)
		return NULL;
	arr = mcur_json_strings(mdb_query(db, MSTMT_ADMIN_ROOM_LOCAL_MEMBERS, "ss", room_id,
	    local));
	free(local);
	return arr;
}

json_t *
mstore_admin_room_state(struct mdb *db, const char *room_id, const char *type)
{
	return mcur_json_array(mdb_query(db, MSTMT_ADMIN_ROOM_STATE, "ss", room_id, type),
	    mstore_json_with_id);
}

int
mstore_room_block(struct mdb *db, const char *room_id, const char *user_id)
{
	return mdb_exec(db, MSTMT_ADMIN_BLOCK_PUT, "ssi", room_id, user_id,
	    mclock_now_ms()) < 0 ? -1 : 0;
}

int
mstore_room_unblock(struct mdb *db, const char *room_id)
{
	return mstore_changed(mdb_exec(db, MSTMT_ADMIN_BLOCK_DEL, "s", room_id));
}

int
mstore_room_blocked(struct mdb *db, const char *room_id, char **by)
{
	struct mcur	*c;
	int		 rc;

	if (by != NULL)
		*by = NULL;
	if ((c = mdb_query(db, MSTMT_ADMIN_BLOCK_GET, "s", room_id)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1 && by != NULL && mcur_text(c, 0) != NULL &&
	    (*by = mcur_dup(c, 0)) == NULL)
		rc = -1;
	mcur_free(c);
	return rc;
}

int
mstore_room_aliases_del(struct mdb *db, const char *room_id)
{
	return mdb_exec(db, MSTMT_ADMIN_ALIASES_DEL, "s", room_id) < 0 ? -1 : 0;
}

/*
 * XXX Every table keyed by room must be here: a table added for a new
 * feature joins this list, or a purged room leaves rows behind.
 */
int
mstore_room_purge(struct mdb *db, const char *room_id)
{
	/* The search index finds its rows through the events: it goes first. */
	static const enum mstmt steps[] = {
		MSTMT_SEARCH_PURGE_ROOM, MSTMT_ADMIN_PURGE_SGROUP_ENTRIES,
		MSTMT_ADMIN_PURGE_SGROUPS, MSTMT_ADMIN_PURGE_RELATIONS,
		MSTMT_ADMIN_PURGE_FORGOTTEN, MSTMT_ADMIN_PURGE_REPORTS, MSTMT_ADMIN_PURGE_LAZY,
		MSTMT_ADMIN_PURGE_TYPING, MSTMT_ADMIN_PURGE_ACCOUNT_DATA,
		MSTMT_ADMIN_PURGE_RECEIPTS, MSTMT_ADMIN_PURGE_PUSH_ACTIONS,
		MSTMT_ADMIN_PURGE_CSTATE, MSTMT_ADMIN_PURGE_FWD, MSTMT_ADMIN_ALIASES_DEL,
		MSTMT_ADMIN_PURGE_EVENTS, MSTMT_ADMIN_PURGE_ROOM,
		MSTMT_DIR_AS_ROOMS_PURGE,
	};

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (mdb_exec(db, steps[i], "s", room_id) < 0)
			return -1;
	/*
	 * The room's row goes with its state version (rooms.state_seq): were
	 * the room joined again over federation, a new row would count from
	 * 0 again and could meet a version some process keeps what push
	 * evaluation read of the old room under (lib/push/event.c).  The
	 * global version those are also kept under moves instead, in every
	 * process at once.
	 */
	db->seq_moved = 1;
	return mdb_exec(db, MSTMT_PUSH_RULES_BUMP, "") < 0 ? -1 : 0;
}

int
mstore_room_delete_add(struct mdb *db, const char *delete_id, const char *room_id,
    const char *status, const char *error, const json_t *result)
{
	char	*s;
	int64_t	 n;

	if ((s = json_dumps(result, JSON_COMPACT)) == NULL)
		return -1;
	n = mdb_exec(db, MSTMT_ADMIN_DELETE_ADD, "sssssi", delete_id, room_id, status, error, s,
	    mclock_now_ms());
	free(s);
	return n < 0 ? -1 : 0;
}

/* A row of room_deletes as Synapse's delete status object, or NULL. */
static json_t *
delete_obj(struct mcur *c)
{
	json_t *o, *result = json_loads(mcur_text(c, 4), 0, NULL);

	if (result == NULL)
		return NULL;
	o = json_pack("{s:s,s:s,s:s,s:o}", "delete_id", mcur_text(c, 0),
	    "room_id", mcur_text(c, 1), "status", mcur_text(c, 2), "shutdown_room", result);
	if (o != NULL && mcur_text(c, 3) != NULL)
		json_object_set_new(o, "error", json_string(mcur_text(c, 3)));
	return o;
}

int
mstore_room_delete_get(struct mdb *db, const char *delete_id, json_t **out)
{
	struct mcur	*c;
	int		 rc;

	*out = NULL;
	if ((c = mdb_query(db, MSTMT_ADMIN_DELETE_GET, "s", delete_id)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1 && (*out = delete_obj(c)) == NULL)
		rc = -1;
	mcur_free(c);
	return rc;
}

json_t *
mstore_room_deletes(struct mdb *db, const char *room_id)
{
	return mcur_json_array(mdb_query(db, MSTMT_ADMIN_DELETE_BY_ROOM, "s", room_id),
	    delete_obj);
}

/* -- event reports ------------------------------------------------------- */

/* A row of MADMIN_REPORT_COLS as Synapse's report object, or NULL. */
static json_t *
report_obj(struct mcur *c)
{
	return json_pack("{s:I,s:I,s:s,s:o,s:s,s:s,s:o,s:o,s:o,s:o}",
	    "id", (json_int_t)mcur_int(c, 0), "received_ts", (json_int_t)mcur_int(c, 1),
	    "room_id", mcur_text(c, 2), "name", content_str(c, 8, "name"),
	    "event_id", mcur_text(c, 3), "user_id", mcur_text(c, 4),
	    "reason", text_or_null(c, 5), "score", int_or_null(c, 6),
	    "sender", text_or_null(c, 7), "canonical_alias", content_str(c, 9, "alias"));
}

int
mstore_event_reports(struct mdb *db, const struct madmin_reportq *q, json_t **out,
    int64_t *total)
{
	char	*user = NULL, *room = NULL;
	int	 rc = -1;

	*out = NULL;
	if ((q->user_id != NULL &&
	    (user = mstore_like_pattern("%", q->user_id, "%", 0)) == NULL) ||
	    (q->room_id != NULL &&
	    (room = mstore_like_pattern("%", q->room_id, "%", 0)) == NULL))
		goto out;
	if ((*total = count(mdb_query(db, MSTMT_ADMIN_REPORTS_COUNT, "sss", user, room,
	    q->sender))) < 0)
		goto out;
	*out = mcur_json_array(mdb_query(db, q->forwards ? MSTMT_ADMIN_REPORTS_F :
	    MSTMT_ADMIN_REPORTS_B, "sssii", user, room, q->sender, q->limit, q->from), report_obj);
	rc = *out == NULL ? -1 : 0;
out:
	free(user);
	free(room);
	return rc;
}

int
mstore_event_report_get(struct mdb *db, int64_t id, json_t **out)
{
	struct mcur	*c;
	const char	*pdu;
	int		 rc;

	*out = NULL;
	if ((c = mdb_query(db, MSTMT_ADMIN_REPORT_GET, "i", id)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1) {
		pdu = mcur_text(c, 10);
		if ((*out = report_obj(c)) == NULL ||
		    json_object_set_new(*out, "event_json", pdu != NULL ?
		    json_loads(pdu, 0, NULL) : json_null()) == -1) {
			json_decref(*out);
			*out = NULL;
			rc = -1;
		}
	}
	mcur_free(c);
	return rc;
}

int
mstore_event_report_del(struct mdb *db, int64_t id)
{
	return mstore_changed(mdb_exec(db, MSTMT_ADMIN_REPORT_DEL, "i", id));
}

/* -- registration tokens, statistics, maintenance ------------------------- */

int
mstore_regtoken_set(struct mdb *db, const char *token, int set_uses, int64_t uses,
    int set_expiry, int64_t expiry)
{
	return mstore_changed(mdb_exec(db, MSTMT_ADMIN_REGTOKEN_SET, "siiii", token,
	    (int64_t)(set_uses != 0), uses, (int64_t)(set_expiry != 0), expiry));
}

json_t *
mstore_admin_stats(struct mdb *db)
{
	static const char *const names[] = {
		"users", "admins", "deactivated", "guests", "shadow_banned", "devices",
		"sessions", "rooms", "published_rooms", "blocked_rooms", "events",
		"event_reports", "registration_tokens",
	};
	struct mcur	*c;
	json_t		*o = NULL;

	if ((c = mdb_query(db, MSTMT_ADMIN_STATS, "")) == NULL)
		return NULL;
	if (mcur_next(c) == 1 && (o = json_object()) != NULL)
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			json_object_set_new(o, names[i], json_integer(mcur_int(c, (int)i)));
	mcur_free(c);
	return o;
}

/*
 * Neither engine vacuums inside a transaction, and PostgreSQL refuses it
 * as a prepared statement: plain SQL on a connection with none open.
 */
int
mdb_vacuum(struct mdb *db)
{
	if (db->intx)
		return -1;
	return db->be->exec_sql(db, db->kind == MDB_POSTGRES ? "VACUUM ANALYZE" : "VACUUM");
}
