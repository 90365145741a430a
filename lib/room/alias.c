/* Room aliases: their grammar, and m.room.canonical_alias checked against the directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"
#include "log/log.h"
#include "room/room.h"
#include "store/store.h"

/* Spec: appendices, "Room aliases": at most 255 bytes with the sigil and the domain. */
#define ALIAS_MAX_BYTES	255
#define CANONICAL	"m.room.canonical_alias"

/*
 * Well-formed UTF-8 without overlong forms or surrogates.  jansson
 * applies exactly that rule to every string it makes, so it is asked;
 * a failed allocation counts as invalid, and the request fails as bad.
 */
static int
utf8_ok(const char *s)
{
	json_t	*j = json_string(s);
	int	 ok = j != NULL;

	json_decref(j);
	return ok;
}

static int
ascii_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Spec: appendices, "Server Name":
 *   server_name = hostname [ ":" port ]; port = 1*5DIGIT
 *   hostname    = IPv4address / "[" IPv6address "]" / dns-name
 *   IPv6address = 2*45IPv6char (DIGIT, A-F, a-f, ":", ".")
 *   dns-name    = 1*255dns-char (DIGIT, ALPHA, "-", ".")
 * An IPv4 address is a dns-name as far as characters go.
 */
static int
server_name_ok(const char *s)
{
	size_t	n = 0;

	if (*s == '[') {
		for (s++; ascii_digit(*s) || (*s >= 'a' && *s <= 'f') ||
		    (*s >= 'A' && *s <= 'F') || *s == ':' || *s == '.'; s++)
			n++;
		if (*s++ != ']' || n < 2 || n > 45)
			return 0;
	} else {
		for (; ascii_digit(*s) || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    *s == '-' || *s == '.'; s++)
			n++;
		if (n < 1 || n > 255)
			return 0;
	}
	if (*s == '\0')
		return 1;
	if (*s++ != ':')
		return 0;
	for (n = 0; ascii_digit(*s); s++)
		n++;
	return *s == '\0' && n >= 1 && n <= 5;
}

int
mroom_alias_check(const char *alias)
{
	const char *colon;

	if (alias == NULL || alias[0] != '#' || strlen(alias) > ALIAS_MAX_BYTES ||
	    (colon = strchr(alias, ':')) == NULL || colon == alias + 1)
		return 0;
	return utf8_ok(alias) && server_name_ok(colon + 1);
}

int
mroom_alias_new_check(const char *alias, const char *server_name)
{
	const char *p;

	if (!mroom_alias_check(alias) || strcmp(strchr(alias, ':') + 1, server_name) != 0)
		return 0;
	/* Synapse refuses whitespace here; control characters are no better in a name. */
	for (p = alias + 1; *p != ':'; p++)
		if ((unsigned char)*p < 0x20 || *p == ' ' || *p == 0x7f)
			return 0;
	return 1;
}

/* 1 when s is among the strings of the JSON array list (not an array: never). */
static int
listed(const json_t *list, const char *s)
{
	const json_t	*v;
	size_t		 i;

	json_array_foreach(list, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return 1;
	return 0;
}

/*
 * One alias newly named by the event: valid (else MROOM_INVALID_ALIAS)
 * and, when ours, mapped to room_id (else MROOM_BAD_ALIAS).  A remote
 * alias is taken on its syntax: Synapse asks the alias's server over
 * federation, which myelin cannot do yet, and refusing every remote
 * alias would be wrong once it can.  XXX: resolve remote aliases when
 * federation queries exist.
 */
static enum mroom_err
alias_points_here(struct mroom_ctx *ctx, const char *room_id, const json_t *v)
{
	const char	*alias = json_string_value(v);
	char		*target = NULL;
	int		 rc;

	if (alias == NULL || !mroom_alias_check(alias)) {
		snprintf(ctx->why, sizeof(ctx->why), "Invalid room alias in %s", CANONICAL);
		return MROOM_INVALID_ALIAS;
	}
	if (strcmp(strchr(alias, ':') + 1, ctx->server_name) != 0)
		return MROOM_OK;
	if ((rc = mstore_alias_get(ctx->db, alias, &target, NULL)) == -1)
		return MROOM_ERROR;
	rc = rc == 1 && strcmp(target, room_id) == 0;
	free(target);
	if (!rc) {
		/* The alias is the client's own text, and why goes back only to them. */
		snprintf(ctx->why, sizeof(ctx->why), "Room alias %s does not point to the room",
		    alias);
		return MROOM_BAD_ALIAS;
	}
	return MROOM_OK;
}

enum mroom_err
mroom_canonical_alias_check(struct mroom_ctx *ctx, const char *room_id, const char *type,
    const char *state_key, const json_t *content)
{
	const json_t	*alias, *alt, *v, *oldc;
	json_t		*old;
	enum mroom_err	 rc = MROOM_OK;
	size_t		 i;
	int		 err;

	if (strcmp(type, CANONICAL) != 0 || state_key == NULL || *state_key != '\0')
		return MROOM_OK;
	if ((old = mroom_state_get(ctx, room_id, CANONICAL, "", &err)) == NULL && err)
		return MROOM_ERROR;
	oldc = json_object_get(old, "content");
	/* As Synapse: no alias, null or "" sets none; one kept from before is not checked again. */
	alias = json_object_get(content, "alias");
	if (alias != NULL && !json_is_null(alias) &&
	    !(json_is_string(alias) && *json_string_value(alias) == '\0') &&
	    !json_equal(alias, json_object_get(oldc, "alias")) &&
	    (rc = alias_points_here(ctx, room_id, alias)) != MROOM_OK)
		goto out;
	if ((alt = json_object_get(content, "alt_aliases")) == NULL)
		goto out;
	if (!json_is_array(alt)) {
		snprintf(ctx->why, sizeof(ctx->why), "alt_aliases must be a list");
		rc = MROOM_INVALID_ALIAS;
		goto out;
	}
	json_array_foreach(alt, i, v) {
		if (json_is_string(v) &&
		    listed(json_object_get(oldc, "alt_aliases"), json_string_value(v)))
			continue;
		if ((rc = alias_points_here(ctx, room_id, v)) != MROOM_OK)
			goto out;
	}
out:
	json_decref(old);
	return rc;
}

enum mroom_err
mroom_canonical_alias_drop(struct mroom_ctx *ctx, const char *room_id, const char *sender,
    const char *alias, char **event_id)
{
	json_t		*ev, *c = NULL, *alt;
	const json_t	*v;
	enum mroom_err	 rc = MROOM_ERROR;
	size_t		 i;
	int		 err, changed = 0;

	*event_id = NULL;
	if ((ev = mroom_state_get(ctx, room_id, CANONICAL, "", &err)) == NULL)
		return err ? MROOM_ERROR : MROOM_OK;
	if ((c = json_deep_copy(json_object_get(ev, "content"))) == NULL)
		goto out;
	if (mjson_str(c, "alias") != NULL && strcmp(mjson_str(c, "alias"), alias) == 0) {
		json_object_del(c, "alias");
		changed = 1;
	}
	/* A list of another shape is left alone, as Synapse leaves it. */
	if (listed(json_object_get(c, "alt_aliases"), alias)) {
		if ((alt = json_array()) == NULL)
			goto out;
		json_array_foreach(json_object_get(c, "alt_aliases"), i, v)
			if (!json_is_string(v) || strcmp(json_string_value(v), alias) != 0)
				json_array_append(alt, (json_t *)v);
		if (json_array_size(alt) > 0)
			json_object_set_new(c, "alt_aliases", alt);
		else {
			json_decref(alt);
			json_object_del(c, "alt_aliases");
		}
		changed = 1;
	}
	rc = changed ? mroom_send(ctx, room_id, sender, CANONICAL, "", c, NULL, NULL, event_id) :
	    MROOM_OK;
out:
	json_decref(c);
	json_decref(ev);
	return rc;
}
