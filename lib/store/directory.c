/* The room directory in the store: summaries, published rooms, space children, forgetting, reports. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock/clock.h"
#include "json/json.h"
#include "store/extern.h"

/* Spec: m.space.child: order is at most 50 characters from \x20 to \x7E. */
#define CHILD_ORDER_MAX	50

/* A JSON value in an array being sorted. */
struct jent {
	json_t	*j;
};

static int
streq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* Sets key to the string s when it is a non-empty string. */
static void
set_nonempty(json_t *obj, const char *key, const char *s)
{
	if (s != NULL && *s != '\0')
		json_object_set_new(obj, key, json_string(s));
}

/*
 * Adds what one summary state event says to summary s (spec: C-S API,
 * PublishedRoomsChunk).  Malformed content leaves the field unset, as a
 * client would read it.
 */
static void
summary_add(json_t *s, const char *type, const json_t *ev, int extended)
{
	const json_t	*c = json_object_get(ev, "content");

	if (strcmp(type, "m.room.name") == 0)
		set_nonempty(s, "name", mjson_str(c, "name"));
	/* Spec: m.room.topic: "absent, null, or empty" topic: no topic. */
	else if (strcmp(type, "m.room.topic") == 0)
		set_nonempty(s, "topic", mjson_str(c, "topic"));
	else if (strcmp(type, "m.room.canonical_alias") == 0)
		set_nonempty(s, "canonical_alias", mjson_str(c, "alias"));
	else if (strcmp(type, "m.room.avatar") == 0)
		set_nonempty(s, "avatar_url", mjson_str(c, "url"));
	else if (strcmp(type, "m.room.join_rules") == 0)
		set_nonempty(s, "join_rule", mjson_str(c, "join_rule"));
	else if (strcmp(type, "m.room.history_visibility") == 0)
		json_object_set_new(s, "world_readable", json_boolean(
		    streq(mjson_str(c, "history_visibility"), "world_readable")));
	else if (strcmp(type, "m.room.guest_access") == 0)
		json_object_set_new(s, "guest_can_join", json_boolean(
		    streq(mjson_str(c, "guest_access"), "can_join")));
	else if (strcmp(type, "m.room.create") == 0)
		set_nonempty(s, "room_type", mjson_str(c, "type"));
	else if (extended && strcmp(type, "m.room.encryption") == 0)
		set_nonempty(s, "encryption", mjson_str(c, "algorithm"));
}

/* A summary with the fields every room has. */
static json_t *
summary_new(const char *room_id, int64_t joined)
{
	return json_pack("{s:s,s:I,s:b,s:b}", "room_id", room_id,
	    "num_joined_members", (json_int_t)joined, "world_readable", 0,
	    "guest_can_join", 0);
}

int
mstore_room_summary(struct mdb *db, const char *room_id, json_t **out)
{
	struct mroom	 room;
	struct mcur	*c = NULL;
	json_t		*s = NULL, *ev;
	int64_t		 joined = 0;
	int		 rc;

	*out = NULL;
	if ((rc = mstore_room_get(db, room_id, &room)) != 1)
		return rc;
	rc = -1;
	if (mcur_first_int(mdb_query(db, MSTMT_DIR_JOINED_COUNT, "s", room_id), &joined) != 1 ||
	    (s = summary_new(room_id, joined)) == NULL)
		goto out;
	json_object_set_new(s, "room_version", json_string(room.version));
	if ((c = mdb_query(db, MSTMT_DIR_SUMMARY_STATE, "s", room_id)) == NULL)
		goto out;
	while ((rc = mcur_next(c)) == 1) {
		if ((ev = json_loads(mcur_text(c, 1), 0, NULL)) == NULL) {
			rc = -1;
			break;
		}
		summary_add(s, mcur_text(c, 0), ev, 1);
		json_decref(ev);
	}
	if (rc == 0) {
		*out = s;
		s = NULL;
		rc = 1;
	}
out:
	mcur_free(c);
	json_decref(s);
	mroom_fini(&room);
	return rc;
}

/* Spec: "Published Room Directory": what a listing may show, as Synapse filters it. */
static int
listable(const json_t *s)
{
	const char *jr = mjson_str(s, "join_rule");

	if (json_integer_value(json_object_get(s, "num_joined_members")) <= 0)
		return 0;
	return streq(jr, "public") || streq(jr, "knock") || streq(jr, "knock_restricted") ||
	    json_is_true(json_object_get(s, "world_readable"));
}

static int
search_match(const json_t *s, const char *search)
{
	static const char *const fields[] = { "name", "topic", "canonical_alias" };
	const char	*v;

	if (search == NULL || *search == '\0')
		return 1;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if ((v = mjson_str(s, fields[i])) != NULL && strcasestr(v, search) != NULL)
			return 1;
	return 0;
}

/* Spec: POST /publicRooms filter.room_types: null stands for "no type". */
static int
type_match(const json_t *s, const json_t *types)
{
	const char	*t = mjson_str(s, "room_type");
	const json_t	*v;
	size_t		 i;

	if (!json_is_array(types) || json_array_size(types) == 0)
		return 1;
	json_array_foreach(types, i, v) {
		if (json_is_null(v) && t == NULL)
			return 1;
		if (json_is_string(v) && t != NULL && strcmp(json_string_value(v), t) == 0)
			return 1;
	}
	return 0;
}

/* Most joined members first, then room IDs descending (Synapse's order). */
static int
public_cmp(const void *a, const void *b)
{
	const json_t	*x = ((const struct jent *)a)->j, *y = ((const struct jent *)b)->j;
	json_int_t	 nx = json_integer_value(json_object_get(x, "num_joined_members"));
	json_int_t	 ny = json_integer_value(json_object_get(y, "num_joined_members"));

	if (nx != ny)
		return nx > ny ? -1 : 1;
	return -strcmp(mjson_str(x, "room_id"), mjson_str(y, "room_id"));
}

json_t *
mstore_public_rooms(struct mdb *db, const char *search, const json_t *room_types)
{
	struct mcur	*c = NULL;
	json_t		*map = json_object(), *out = NULL, *s, *ev;
	struct jent	*v = NULL;
	const char	*key;
	size_t		 n = 0, i;
	int		 rc;

	if (map == NULL || (c = mdb_query(db, MSTMT_DIR_PUBLIC_ROOMS, "")) == NULL)
		goto out;
	while ((rc = mcur_next(c)) == 1)
		if ((s = summary_new(mcur_text(c, 0), mcur_int(c, 2))) == NULL ||
		    json_object_set_new(map, mcur_text(c, 0), s) == -1) {
			rc = -1;
			break;
		}
	mcur_free(c);
	c = NULL;
	if (rc == -1 || (c = mdb_query(db, MSTMT_DIR_PUBLIC_STATE, "")) == NULL)
		goto out;
	while ((rc = mcur_next(c)) == 1) {
		if ((s = json_object_get(map, mcur_text(c, 0))) == NULL)
			continue;	/* published between the two queries */
		if ((ev = json_loads(mcur_text(c, 2), 0, NULL)) == NULL) {
			rc = -1;
			break;
		}
		summary_add(s, mcur_text(c, 1), ev, 0);
		json_decref(ev);
	}
	if (rc == -1)
		goto out;
	if ((v = calloc(json_object_size(map) + 1, sizeof(*v))) == NULL)
		goto out;
	json_object_foreach(map, key, s)
		if (listable(s) && search_match(s, search) && type_match(s, room_types))
			v[n++].j = s;
	if (n > 1)
		qsort(v, n, sizeof(*v), public_cmp);
	if ((out = json_array()) == NULL)
		goto out;
	for (i = 0; i < n; i++)
		if (json_array_append(out, v[i].j) == -1) {
			json_decref(out);
			out = NULL;
			break;
		}
out:
	mcur_free(c);
	free(v);
	json_decref(map);
	return out;
}

/* Spec: m.space.child: "When not present or invalid, the child room is not considered". */
static int
via_valid(const json_t *content)
{
	const json_t	*via = json_object_get(content, "via"), *v;
	size_t		 i;

	if (!json_is_array(via) || json_array_size(via) == 0)
		return 0;
	json_array_foreach(via, i, v)
		if (!json_is_string(v))
			return 0;
	return 1;
}

/* The child's order when valid (spec: m.space.child "order"), else NULL. */
static const char *
child_order(const json_t *ev)
{
	const char *o = mjson_str(json_object_get(ev, "content"), "order");

	if (o == NULL || strlen(o) > CHILD_ORDER_MAX)
		return NULL;
	for (const char *p = o; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			return NULL;
	return o;
}

/* Spec: "Ordering of children within a space". */
static int
child_cmp(const void *a, const void *b)
{
	const json_t	*x = ((const struct jent *)a)->j, *y = ((const struct jent *)b)->j;
	const char	*ox = child_order(x), *oy = child_order(y);
	json_int_t	 tx, ty;
	int		 d;

	if ((ox == NULL) != (oy == NULL))
		return ox == NULL ? 1 : -1;
	if (ox != NULL && (d = strcmp(ox, oy)) != 0)
		return d;
	tx = json_integer_value(json_object_get(x, "origin_server_ts"));
	ty = json_integer_value(json_object_get(y, "origin_server_ts"));
	if (tx != ty)
		return tx < ty ? -1 : 1;
	return strcmp(mjson_str(x, "state_key"), mjson_str(y, "state_key"));
}

json_t *
mstore_space_children(struct mdb *db, const char *room_id)
{
	struct mcur	*c;
	struct jent	*v = NULL, *nv;
	json_t		*ev, *out = NULL;
	size_t		 n = 0, i;
	int		 rc;

	if ((c = mdb_query(db, MSTMT_DIR_SPACE_CHILDREN, "s", room_id)) == NULL)
		return NULL;
	while ((rc = mcur_next(c)) == 1) {
		if ((ev = json_loads(mcur_text(c, 1), 0, NULL)) == NULL ||
		    json_object_set_new(ev, "event_id", json_string(mcur_text(c, 2))) == -1) {
			json_decref(ev);
			rc = -1;
			break;
		}
		if (!via_valid(json_object_get(ev, "content")) ||
		    !streq(mjson_str(ev, "state_key"), mcur_text(c, 0))) {
			json_decref(ev);
			continue;
		}
		if ((nv = reallocarray(v, n + 1, sizeof(*v))) == NULL) {
			json_decref(ev);
			rc = -1;
			break;
		}
		v = nv;
		v[n++].j = ev;
	}
	mcur_free(c);
	if (rc == 0) {
		if (n > 1)
			qsort(v, n, sizeof(*v), child_cmp);
		if ((out = json_array()) != NULL)
			for (i = 0; i < n; i++)
				if (json_array_append(out, v[i].j) == -1) {
					json_decref(out);
					out = NULL;
					break;
				}
	}
	for (i = 0; i < n; i++)
		json_decref(v[i].j);
	free(v);
	return out;
}

int
mstore_alias_move(struct mdb *db, const char *from, const char *to)
{
	return mdb_exec(db, MSTMT_DIR_ALIAS_MOVE, "ss", from, to) < 0 ? -1 : 0;
}

int
mstore_appservice_room_put(struct mdb *db, const char *as_id, const char *network_id,
    const char *room_id, int listed)
{
	if (listed)
		return mdb_exec(db, MSTMT_DIR_AS_ROOM_PUT, "sss", as_id, network_id, room_id) < 0 ?
		    -1 : 0;
	return mdb_exec(db, MSTMT_DIR_AS_ROOM_DEL, "sss", as_id, network_id, room_id) < 0 ?
	    -1 : 0;
}

json_t *
mstore_appservice_rooms(struct mdb *db, const char *as_id, const char *network_id)
{
	if (as_id == NULL)
		return mcur_json_strings(mdb_query(db, MSTMT_DIR_AS_ROOMS_ALL, ""));
	return mcur_json_strings(mdb_query(db, MSTMT_DIR_AS_ROOMS, "ss", as_id, network_id));
}

int
mstore_room_forget(struct mdb *db, const char *user_id, const char *room_id,
    const char *event_id)
{
	return mdb_exec(db, MSTMT_DIR_FORGET, "sssi", user_id, room_id, event_id,
	    mclock_now_ms()) < 0 ? -1 : 0;
}

int
mstore_room_forgotten(struct mdb *db, const char *user_id, const char *room_id)
{
	struct mcur	*c;
	int		 rc;

	if ((c = mdb_query(db, MSTMT_DIR_FORGOTTEN, "ss", user_id, room_id)) == NULL)
		return -1;
	rc = mcur_next(c);
	mcur_free(c);
	return rc;
}

json_t *
mstore_forgotten_rooms(struct mdb *db, const char *user_id)
{
	return mcur_json_strings(mdb_query(db, MSTMT_DIR_FORGOTTEN_ALL, "s", user_id));
}

int
mstore_event_report_add(struct mdb *db, const char *room_id, const char *event_id,
    const char *user_id, const char *reason, const int64_t *score)
{
	int64_t n;

	if (score != NULL)
		n = mdb_exec(db, MSTMT_DIR_REPORT_ADD, "ssssii", room_id, event_id, user_id,
		    reason, *score, mclock_now_ms());
	else
		n = mdb_exec(db, MSTMT_DIR_REPORT_ADD, "sssssi", room_id, event_id, user_id,
		    reason, (const char *)NULL, mclock_now_ms());
	return n < 0 ? -1 : 0;
}

/*
 * Pagination tokens of /publicRooms name the room a page ended on by
 * its sort key: "n<members>_<room_id>" continues after it, and
 * "p<members>_<room_id>" pages back before it.  Keys rather than offsets
 * keep pages steady while rooms come and go.
 */
struct pubkey {
	int		 forward;
	int64_t		 members;
	const char	*room_id;	/* borrowed from the token */
};

/* 0, or -1 for anything but [np]<decimal without overflow>_<non-empty>. */
static int
pubkey_parse(const char *tok, struct pubkey *k)
{
	const char	*p = tok + 1;
	int64_t		 n = 0;

	if (tok[0] != 'n' && tok[0] != 'p')
		return -1;
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > (INT64_MAX - (*p - '0')) / 10)
			return -1;
		n = n * 10 + (*p - '0');
	}
	if (*p != '_' || p[1] == '\0')
		return -1;
	k->forward = tok[0] == 'n';
	k->members = n;
	k->room_id = p + 1;
	return 0;
}

/* The token naming room's place, to page forward after it or back before it. */
static json_t *
pubkey_token(const json_t *room, int forward)
{
	char	*s;
	json_t	*t;

	if (asprintf(&s, "%c%lld_%s", forward ? 'n' : 'p', (long long)json_integer_value(
	    json_object_get(room, "num_joined_members")), mjson_str(room, "room_id")) == -1)
		return NULL;
	t = json_string(s);
	free(s);
	return t;
}

/*
 * Where room sorts against key: -1 before it (more members, or as many
 * and a greater room ID), 0 at it, 1 after it.
 */
static int
key_cmp(const json_t *room, const struct pubkey *k)
{
	int64_t	n = json_integer_value(json_object_get(room, "num_joined_members"));
	int	d;

	if (n != k->members)
		return n > k->members ? -1 : 1;
	d = strcmp(mjson_str(room, "room_id"), k->room_id);
	return d > 0 ? -1 : d < 0;
}

int
mstore_public_room_cmp(const json_t *a, const json_t *b)
{
	struct pubkey k = { 1, json_integer_value(json_object_get(b, "num_joined_members")),
	    mjson_str(b, "room_id") };

	return key_cmp(a, &k);
}

json_t *
mstore_public_rooms_page(json_t *all, int64_t limit, const char *since, int *bad_since)
{
	struct pubkey	 key = { 1, 0, "" };
	json_t		*chunk, *out;
	size_t		 n, lo, hi;
	int		 more;

	*bad_since = 0;
	if (all == NULL)
		return NULL;
	if (since != NULL && pubkey_parse(since, &key) == -1) {
		*bad_since = 1;
		json_decref(all);
		return NULL;
	}
	if (limit <= 0 || limit > MSTORE_PUBLIC_ROOMS_MAX)
		limit = MSTORE_PUBLIC_ROOMS_MAX;
	n = json_array_size(all);
	if (since == NULL || key.forward) {
		for (lo = 0; since != NULL && lo < n && key_cmp(json_array_get(all, lo), &key) <= 0;
		    lo++)
			;
		hi = n - lo > (size_t)limit ? lo + (size_t)limit : n;
		more = hi < n;
	} else {
		for (hi = 0; hi < n && key_cmp(json_array_get(all, hi), &key) < 0; hi++)
			;
		lo = hi > (size_t)limit ? hi - (size_t)limit : 0;
		more = lo > 0;
	}
	if ((chunk = json_array()) == NULL || (out = json_object()) == NULL) {
		json_decref(chunk);
		json_decref(all);
		return NULL;
	}
	for (size_t i = lo; i < hi; i++)
		json_array_append(chunk, json_array_get(all, i));
	/*
	 * As Synapse's RoomListHandler: a page reached with a token has a
	 * token back, and a page with more beyond it a token onwards.
	 */
	if (hi > lo) {
		const json_t *first = json_array_get(all, lo), *last = json_array_get(all, hi - 1);

		if (since != NULL && (key.forward || more))
			json_object_set_new(out, "prev_batch", pubkey_token(first, 0));
		if (more || (since != NULL && !key.forward))
			json_object_set_new(out, "next_batch", pubkey_token(last, 1));
	}
	json_object_set_new(out, "chunk", chunk);
	json_object_set_new(out, "total_room_count_estimate", json_integer((json_int_t)n));
	json_decref(all);
	return out;
}
