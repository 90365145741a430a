/* Rooms by admin: listing, details, shutting down (delete), blocking. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin/extern.h"
#include "config/config.h"
#include "crypto/crypto.h"
#include "json/json.h"
#include "store/store.h"

/*
 * Synapse's room list orders: the field each sorts on, and whether it
 * runs largest first ("joined_members - largest to smallest").  The two
 * deprecated names stand for the fields they became.
 */
static const struct {
	const char	*order, *field;
	int		 desc;
} room_orders[] = {
	{ "name", "name", 0 },
	{ "alphabetical", "name", 0 },
	{ "size", "joined_members", 1 },
	{ "canonical_alias", "canonical_alias", 0 },
	{ "joined_members", "joined_members", 1 },
	{ "joined_local_members", "joined_local_members", 1 },
	{ "version", "version", 1 },
	{ "creator", "creator", 0 },
	{ "encryption", "encryption", 0 },
	{ "federatable", "federatable", 0 },
	{ "public", "public", 0 },
	{ "join_rules", "join_rules", 0 },
	{ "guest_access", "guest_access", 0 },
	{ "history_visibility", "history_visibility", 0 },
	{ "state_events", "state_events", 1 },
};

/* A room being sorted: its sort field, and the direction (the same for all). */
struct rent {
	json_t		*room;
	const json_t	*key;
	int		 desc;
};

/* Compares two sort fields: null last, numbers and booleans as numbers, strings ignoring case. */
static int
field_cmp(const json_t *a, const json_t *b)
{
	const char	*sa, *sb;
	char		*ea, *eb;
	long long	 na, nb;
	int		 c;

	if (a == NULL || json_is_null(a) || b == NULL || json_is_null(b))
		return (a == NULL || json_is_null(a)) - (b == NULL || json_is_null(b));
	if (json_is_boolean(a) || json_is_integer(a)) {
		na = json_is_boolean(a) ? json_is_true(a) : json_integer_value(a);
		nb = json_is_boolean(b) ? json_is_true(b) : json_integer_value(b);
		return (na > nb) - (na < nb);
	}
	sa = json_string_value(a);
	sb = json_string_value(b);
	if (sa == NULL || sb == NULL)
		return 0;
	/* Room versions are numbers, mostly: "12" comes after "9". */
	na = strtoll(sa, &ea, 10);
	nb = strtoll(sb, &eb, 10);
	if (*sa != '\0' && *sb != '\0' && *ea == '\0' && *eb == '\0')
		return (na > nb) - (na < nb);
	if ((c = strcasecmp(sa, sb)) != 0)
		return c;
	return strcmp(sa, sb);
}

/* The sort field in the order's direction, nulls always last, then room ID ascending. */
static int
rent_cmp(const void *pa, const void *pb)
{
	const struct rent	*a = pa, *b = pb;
	int			 anull = a->key == NULL || json_is_null(a->key);
	int			 bnull = b->key == NULL || json_is_null(b->key);
	int			 c;

	if (anull != bnull)
		return anull - bnull;
	if ((c = field_cmp(a->key, b->key)) != 0)
		return a->desc ? -c : c;
	return strcmp(mjson_str(a->room, "room_id"), mjson_str(b->room, "room_id"));
}

/* 1 when needle is in hay, ignoring ASCII case. */
static int
contains_nocase(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; hay != NULL && *hay != '\0'; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return 1;
	return hay != NULL && n == 0;
}

/*
 * Synapse: search_term is in the room's name, in the localpart of its
 * canonical alias, or (case sensitive) in its room ID.
 */
static int
room_matches(const json_t *room, const char *term)
{
	const char	*alias = mjson_str(room, "canonical_alias");
	char		*lp = NULL;
	int		 m;

	if (term == NULL || strstr(mjson_str(room, "room_id"), term) != NULL ||
	    contains_nocase(mjson_str(room, "name"), term))
		return 1;
	if (alias == NULL || (lp = strndup(alias + 1, strcspn(alias + 1, ":"))) == NULL)
		return 0;
	m = contains_nocase(lp, term);
	free(lp);
	return m;
}

enum madmin_rc
madmin_room_list(struct madmin *a, const struct madmin_roomq *q, json_t **out)
{
	const char	*order = q->order_by != NULL ? q->order_by : "name";
	json_t		*all, *page = NULL, *room;
	struct rent	*v = NULL;
	size_t		 o, n = 0, i;

	*out = NULL;
	for (o = 0; o < sizeof(room_orders) / sizeof(room_orders[0]); o++)
		if (strcmp(room_orders[o].order, order) == 0)
			break;
	if (o == sizeof(room_orders) / sizeof(room_orders[0]))
		return madmin_fail(a, MADMIN_INVALID, "Unknown value for order_by: %s", order);
	if ((all = mstore_admin_rooms(a->db, a->conf->server_name, NULL)) == NULL)
		return MADMIN_ERROR;
	if ((v = calloc(json_array_size(all) + 1, sizeof(*v))) == NULL) {
		json_decref(all);
		return MADMIN_ERROR;
	}
	json_array_foreach(all, i, room) {
		if (!room_matches(room, q->search_term))
			continue;
		v[n].room = room;
		v[n].key = json_object_get(room, room_orders[o].field);
		v[n].desc = room_orders[o].desc != q->backwards;
		n++;
	}
	if (n > 0)
		qsort(v, n, sizeof(*v), rent_cmp);
	if ((page = json_array()) == NULL)
		goto fail;
	for (i = (size_t)q->from; i < n && i < (size_t)(q->from + q->limit); i++)
		if (json_array_append(page, v[i].room) == -1)
			goto fail;
	if ((*out = json_pack("{s:o,s:I,s:I}", "rooms", page, "offset", (json_int_t)q->from,
	    "total_rooms", (json_int_t)n)) == NULL) {
		page = NULL;
		goto fail;
	}
	page = NULL;
	if ((size_t)(q->from + q->limit) < n)
		json_object_set_new(*out, "next_batch", json_integer(q->from + q->limit));
	if (q->from > 0)
		json_object_set_new(*out, "prev_batch",
		    json_integer(q->from > q->limit ? q->from - q->limit : 0));
	free(v);
	json_decref(all);
	return MADMIN_OK;
fail:
	json_decref(page);
	free(v);
	json_decref(all);
	return MADMIN_ERROR;
}

enum madmin_rc
madmin_room_get(struct madmin *a, const char *room_id, json_t **out)
{
	json_t	*one;
	int64_t	 devices;
	int	 forgotten;

	*out = NULL;
	if ((one = mstore_admin_rooms(a->db, a->conf->server_name, room_id)) == NULL)
		return MADMIN_ERROR;
	if (json_array_size(one) == 0) {
		json_decref(one);
		return madmin_fail(a, MADMIN_NOT_FOUND, "Room not found");
	}
	*out = json_incref(json_array_get(one, 0));
	json_decref(one);
	if (mstore_admin_room_extra(a->db, a->conf->server_name, room_id, &devices,
	    &forgotten) == -1) {
		json_decref(*out);
		*out = NULL;
		return MADMIN_ERROR;
	}
	json_object_set_new(*out, "joined_local_devices", json_integer(devices));
	json_object_set_new(*out, "forgotten", json_boolean(forgotten));
	return MADMIN_OK;
}

/*
 * The shutdown itself.  First, in one transaction, the room is blocked
 * when asked, its aliases go and it leaves the directory; then the
 * local members leave, MADMIN_LEAVE_BATCH to a transaction, so that a
 * room of thousands of members never holds the database's one writer
 * (SQLite) for long: other requests are answered between the batches.
 * Fills result's kicked_users, failed_to_kick_users and local_aliases.
 * Stopped halfway, what was committed stays (the room blocked, some
 * members gone) and the result lists who left; a second shutdown goes
 * on from there.
 */
static enum madmin_rc
shutdown_room(struct madmin *a, const char *room_id, int exists, int block, json_t *result)
{
	json_t		*members = NULL, *aliases = NULL, *m;
	json_t		*kicked = NULL, *failed = NULL;
	enum mroom_err	 e;
	size_t		 i;

	if (mdb_begin(a->db) == -1)
		return MADMIN_ERROR;
	if (block && mstore_room_block(a->db, room_id, a->admin) == -1)
		goto fail;
	if (exists) {
		if ((members = mstore_room_local_members(a->db, a->conf->server_name,
		    room_id)) == NULL ||
		    (aliases = mstore_alias_list(a->db, room_id)) == NULL)
			goto fail;
		if (mstore_room_aliases_del(a->db, room_id) == -1 ||
		    mstore_room_set_public(a->db, room_id, 0) == -1)
			goto fail;
	}
	if (mdb_commit(a->db) == -1)
		goto out;
	if (exists)
		json_object_set(result, "local_aliases", aliases);
	/* A batch's leaves reach the result once committed. */
	if ((kicked = json_array()) == NULL || (failed = json_array()) == NULL)
		goto out;
	for (i = 0; i < json_array_size(members); i++) {
		if (i % MADMIN_LEAVE_BATCH == 0 && mdb_begin(a->db) == -1)
			goto out;
		m = json_array_get(members, i);
		if ((e = madmin_leave(a, room_id, json_string_value(m))) == MROOM_ERROR)
			goto fail;
		json_array_append(e == MROOM_OK ? kicked : failed, m);
		if ((i + 1) % MADMIN_LEAVE_BATCH == 0 || i + 1 == json_array_size(members)) {
			if (mdb_commit(a->db) == -1)
				goto out;
			json_array_extend(json_object_get(result, "kicked_users"), kicked);
			json_array_extend(json_object_get(result, "failed_to_kick_users"), failed);
			json_array_clear(kicked);
			json_array_clear(failed);
		}
	}
	json_decref(kicked);
	json_decref(failed);
	json_decref(members);
	json_decref(aliases);
	return MADMIN_OK;
fail:
	mdb_rollback(a->db);
out:
	json_decref(kicked);
	json_decref(failed);
	json_decref(members);
	json_decref(aliases);
	return MADMIN_ERROR;
}

static enum madmin_rc
purge(struct madmin *a, const char *room_id)
{
	if (mdb_begin(a->db) == -1)
		return MADMIN_ERROR;
	if (mstore_room_purge(a->db, room_id) == -1) {
		mdb_rollback(a->db);
		return MADMIN_ERROR;
	}
	return mdb_commit(a->db) == -1 ? MADMIN_ERROR : MADMIN_OK;
}

/*
 * The leave events are committed before the purge, so that waiting
 * /sync requests of the members see them before the room disappears.
 * XXX Synapse runs deletions in the background and answers at once; here
 * the request waits for the work, which is quick while rooms are small.
 */
enum madmin_rc
madmin_room_delete(struct madmin *a, const char *room_id, const struct madmin_delete *opt,
    json_t **status)
{
	struct mroom	 room;
	json_t		*result = NULL;
	const char	*state = "complete", *error = NULL;
	char		*delete_id = NULL;
	enum madmin_rc	 rc = MADMIN_ERROR;
	int		 exists;

	*status = NULL;
	if ((exists = mstore_room_get(a->db, room_id, &room)) == -1)
		return MADMIN_ERROR;
	mroom_fini(&room);
	if (!exists && !(opt->block && opt->may_be_unknown))
		return madmin_fail(a, MADMIN_NOT_FOUND, "Unknown room id %s", room_id);
	if ((delete_id = mcrypto_random_string(16)) == NULL ||
	    (result = json_pack("{s:[],s:[],s:[],s:n}", "kicked_users", "failed_to_kick_users",
	    "local_aliases", "new_room_id")) == NULL)
		goto out;
	if (shutdown_room(a, room_id, exists, opt->block, result) != MADMIN_OK) {
		state = "failed";
		error = "The room could not be shut down";
	} else if (exists && opt->purge) {
		if (json_array_size(json_object_get(result, "failed_to_kick_users")) > 0 &&
		    !opt->force_purge) {
			state = "failed";
			error = "Users are still joined to this room";
		} else if (purge(a, room_id) != MADMIN_OK) {
			state = "failed";
			error = "The room could not be purged";
		}
	}
	if (mstore_room_delete_add(a->db, delete_id, room_id, state, error, result) == -1 ||
	    mstore_room_delete_get(a->db, delete_id, status) != 1)
		goto out;
	rc = MADMIN_OK;
out:
	free(delete_id);
	json_decref(result);
	return rc;
}
