/* Event filters: the shape of a definition, and which events pass one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"
#include "room/filter.h"

/* What a key of a filter definition holds. */
enum fkind {
	FK_NUMBER,	/* an integer (limits) */
	FK_BOOL,
	FK_STRINGS,
	FK_USERS,	/* user IDs */
	FK_ROOMS,	/* room IDs */
	FK_FORMAT,	/* "client" or "federation" */
	FK_EVENT,	/* an EventFilter */
	FK_ROOM_EVENT,	/* a RoomEventFilter */
	FK_ROOM,	/* a RoomFilter */
};

/* Spec: C-S API, "Canonical JSON": integers within +-(2**53 - 1). */
#define CANON_INT_MAX	((json_int_t)9007199254740991LL)

struct fkey {
	const char	*key;
	enum fkind	 kind;
};

/* Spec: EventFilter. */
static const struct fkey event_keys[] = {
	{ "limit", FK_NUMBER }, { "types", FK_STRINGS }, { "not_types", FK_STRINGS },
	{ "senders", FK_USERS }, { "not_senders", FK_USERS },
};

/* Spec: RoomEventFilter (and StateFilter, the same keys). */
static const struct fkey room_event_keys[] = {
	{ "limit", FK_NUMBER }, { "types", FK_STRINGS }, { "not_types", FK_STRINGS },
	{ "senders", FK_USERS }, { "not_senders", FK_USERS },
	{ "rooms", FK_ROOMS }, { "not_rooms", FK_ROOMS }, { "contains_url", FK_BOOL },
	{ "lazy_load_members", FK_BOOL }, { "include_redundant_members", FK_BOOL },
	{ "unread_thread_notifications", FK_BOOL },
};

/* Spec: RoomFilter. */
static const struct fkey room_keys[] = {
	{ "rooms", FK_ROOMS }, { "not_rooms", FK_ROOMS }, { "include_leave", FK_BOOL },
	{ "ephemeral", FK_ROOM_EVENT }, { "state", FK_ROOM_EVENT },
	{ "timeline", FK_ROOM_EVENT }, { "account_data", FK_ROOM_EVENT },
};

/* Spec: POST /user/{userId}/filter, the request body. */
static const struct fkey top_keys[] = {
	{ "presence", FK_EVENT }, { "account_data", FK_EVENT }, { "room", FK_ROOM },
	{ "event_format", FK_FORMAT }, { "event_fields", FK_STRINGS },
};

/*
 * 1 when v is an array of strings; with sigil, each an ID of that kind:
 * user IDs "@localpart:server"; room IDs "!opaque", with or without a
 * server (room version 12 IDs have none).
 */
static int
string_list(const json_t *v, char sigil)
{
	json_t	*s;
	size_t	 i;

	if (!json_is_array(v))
		return 0;
	json_array_foreach(v, i, s) {
		const char *str = json_string_value(s);

		if (str == NULL)
			return 0;
		if (sigil != '\0' && (str[0] != sigil || str[1] == '\0'))
			return 0;
		if (sigil == '@' && (strchr(str, ':') == NULL || str[1] == ':'))
			return 0;
	}
	return 1;
}

static int	check_object(const json_t *, const struct fkey *, size_t, const char *,
		    char *, size_t);

/* Checks one member of a definition.  0, or -1 with why written. */
static int
check_value(const json_t *v, enum fkind kind, const char *path, char *why, size_t whysz)
{
	const char	*what = NULL;
	const char	*s;

	switch (kind) {
	case FK_NUMBER:
		/*
		 * Spec: the limits are integers; Synapse's schema takes any
		 * number, but a float limit means nothing and the definition
		 * is stored as canonical JSON, which has no floats: 400.
		 */
		if (!json_is_integer(v) || json_integer_value(v) > CANON_INT_MAX ||
		    json_integer_value(v) < -CANON_INT_MAX)
			what = "an integer within +-(2**53 - 1)";
		break;
	case FK_BOOL:
		if (!json_is_boolean(v))
			what = "a boolean";
		break;
	case FK_STRINGS:
		if (!string_list(v, '\0'))
			what = "an array of strings";
		break;
	case FK_USERS:
		if (!string_list(v, '@'))
			what = "an array of user IDs";
		break;
	case FK_ROOMS:
		if (!string_list(v, '!'))
			what = "an array of room IDs";
		break;
	case FK_FORMAT:
		if ((s = json_string_value(v)) == NULL ||
		    (strcmp(s, "client") != 0 && strcmp(s, "federation") != 0))
			what = "\"client\" or \"federation\"";
		break;
	case FK_EVENT:
		return check_object(v, event_keys, sizeof(event_keys) / sizeof(event_keys[0]),
		    path, why, whysz);
	case FK_ROOM_EVENT:
		return check_object(v, room_event_keys,
		    sizeof(room_event_keys) / sizeof(room_event_keys[0]), path, why, whysz);
	case FK_ROOM:
		return check_object(v, room_keys, sizeof(room_keys) / sizeof(room_keys[0]),
		    path, why, whysz);
	}
	if (what == NULL)
		return 0;
	snprintf(why, whysz, "%s must be %s", path, what);
	return -1;
}

/* Checks the known keys of an object.  0, or -1 with why written. */
static int
check_object(const json_t *obj, const struct fkey *keys, size_t keysz, const char *path,
    char *why, size_t whysz)
{
	char	 sub[128];

	if (!json_is_object(obj)) {
		snprintf(why, whysz, "%s must be an object", *path != '\0' ? path : "filter");
		return -1;
	}
	for (size_t i = 0; i < keysz; i++) {
		const json_t *v = json_object_get(obj, keys[i].key);

		if (v == NULL)
			continue;
		snprintf(sub, sizeof(sub), "%s%s%s", path, *path != '\0' ? "." : "", keys[i].key);
		if (check_value(v, keys[i].kind, sub, why, whysz) == -1)
			return -1;
	}
	return 0;
}

/*
 * Spec: C-S API, "Canonical JSON": the whole definition, unknown keys
 * too, is stored and compared in that form.  0, or -1 with why written.
 */
static int
check_canonical(const json_t *filter, char *why, size_t whysz)
{
	char *js;

	if ((js = mjson_canonical(filter, NULL)) == NULL) {
		snprintf(why, whysz, "filter must be canonical JSON: no floats, "
		    "integers within +-(2**53 - 1)");
		return -1;
	}
	free(js);
	return 0;
}

int
mfilter_check(const json_t *filter, char *why, size_t whysz)
{
	if (check_object(filter, top_keys, sizeof(top_keys) / sizeof(top_keys[0]), "",
	    why, whysz) == -1)
		return -1;
	return check_canonical(filter, why, whysz);
}

int
mfilter_room_event_check(const json_t *filter, char *why, size_t whysz)
{
	if (check_object(filter, room_event_keys,
	    sizeof(room_event_keys) / sizeof(room_event_keys[0]), "", why, whysz) == -1)
		return -1;
	return check_canonical(filter, why, whysz);
}

int
mfilter_listed(const json_t *l, const char *s, int wildcard)
{
	json_t	*v;
	size_t	 i;

	json_array_foreach(l, i, v) {
		const char	*pat = json_string_value(v);
		size_t		 plen;

		if (pat == NULL)
			continue;
		plen = strlen(pat);
		if (strcmp(s, pat) == 0 || (wildcard && plen > 0 && pat[plen - 1] == '*' &&
		    strncmp(s, pat, plen - 1) == 0))
			return 1;
	}
	return 0;
}

/*
 * Spec: "A matching ... will be excluded even if it is listed in the ...
 * filter": the not_ list first, then the positive list when present.
 * A value that is absent (s NULL) matches no list entry.
 */
static int
pass(const json_t *filter, const char *yes, const char *no, const char *s, int wildcard)
{
	const json_t *l;

	if (s == NULL)
		return !json_is_array(json_object_get(filter, yes));
	if (json_is_array(l = json_object_get(filter, no)) && mfilter_listed(l, s, wildcard))
		return 0;
	if (json_is_array(l = json_object_get(filter, yes)) && !mfilter_listed(l, s, wildcard))
		return 0;
	return 1;
}

int
mfilter_room_match(const json_t *filter, const char *room_id)
{
	if (!json_is_object(filter) || room_id == NULL)
		return 1;
	return pass(filter, "rooms", "not_rooms", room_id, 0);
}

int
mfilter_event_match(const json_t *filter, const char *room_id, const json_t *ev)
{
	const char	*type = mjson_str(ev, "type"), *sender = mjson_str(ev, "sender");
	const json_t	*cu;

	if (!json_is_object(filter))
		return 1;
	if (!mfilter_room_match(filter, room_id) ||
	    !pass(filter, "types", "not_types", type, 1) ||
	    !pass(filter, "senders", "not_senders", sender, 0))
		return 0;
	/* Spec: contains_url: whether content has a "url" (Synapse: a string one). */
	if (json_is_boolean(cu = json_object_get(filter, "contains_url")) &&
	    json_is_true(cu) != json_is_string(json_object_get(json_object_get(ev, "content"),
	    "url")))
		return 0;
	return 1;
}
