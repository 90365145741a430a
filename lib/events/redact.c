/* The redaction algorithm of each room version. */
#include <stddef.h>
#include <string.h>

#include "events/events.h"

/* When a protected key applies, in terms of the room version's flags. */
enum keepif {
	KEEP_ALWAYS,		/* every room version */
	KEEP_ALIASES,		/* v1-v5 only */
	KEEP_RESTRICTED,	/* v8 on */
	KEEP_RESTRICTED_FIX,	/* v9 on */
	KEEP_V11,		/* v11 on */
	KEEP_PRE_V11,		/* v1-v10 only */
};

struct keep {
	const char	*name;
	enum keepif	 when;
};

/*
 * Spec: rooms v1 "Redactions" (v1-redactions): "the server must strip
 * off any keys not in the following list".  v11-redactions drops
 * origin, membership and prev_state from it ("The top-level origin,
 * membership, and prev_state properties are no longer protected from
 * redaction").  "unsigned" is in neither list: it goes too.
 */
static const struct keep top_keep[] = {
	{ "event_id",		KEEP_ALWAYS },
	{ "type",		KEEP_ALWAYS },
	{ "room_id",		KEEP_ALWAYS },
	{ "sender",		KEEP_ALWAYS },
	{ "state_key",		KEEP_ALWAYS },
	{ "content",		KEEP_ALWAYS },
	{ "hashes",		KEEP_ALWAYS },
	{ "signatures",		KEEP_ALWAYS },
	{ "depth",		KEEP_ALWAYS },
	{ "prev_events",	KEEP_ALWAYS },
	{ "prev_state",		KEEP_PRE_V11 },
	{ "auth_events",	KEEP_ALWAYS },
	{ "origin",		KEEP_PRE_V11 },
	{ "origin_server_ts",	KEEP_ALWAYS },
	{ "membership",		KEEP_PRE_V11 },
};

struct content_keep {
	const char	*type;
	const char	*key;
	enum keepif	 when;
};

/*
 * Spec: "The content object must also be stripped of all keys, unless
 * it is one of the following event types", per version:
 *  v1:  member membership; create creator; join_rules join_rule;
 *       power_levels ban, events, events_default, kick, redact,
 *       state_default, users, users_default; aliases aliases;
 *       history_visibility history_visibility.
 *  v6:  "All significant meaning for m.room.aliases has been removed
 *       from the redaction algorithm" (v6-redactions).
 *  v8:  join_rules "now keep allow".
 *  v9:  member "now keep join_authorised_via_users_server".
 *  v11: create keeps all keys (see redact_content), power_levels
 *       invite, redaction redacts, member third_party_invite.signed.
 * KEEP_ALIASES follows special_aliases_auth: v6 dropped the aliases
 * auth rule and the protected key together.
 */
static const struct content_keep content_keep[] = {
	{ "m.room.member", "membership", KEEP_ALWAYS },
	{ "m.room.member", "join_authorised_via_users_server",
	    KEEP_RESTRICTED_FIX },
	{ "m.room.create", "creator", KEEP_ALWAYS },
	{ "m.room.join_rules", "join_rule", KEEP_ALWAYS },
	{ "m.room.join_rules", "allow", KEEP_RESTRICTED },
	{ "m.room.power_levels", "ban", KEEP_ALWAYS },
	{ "m.room.power_levels", "events", KEEP_ALWAYS },
	{ "m.room.power_levels", "events_default", KEEP_ALWAYS },
	{ "m.room.power_levels", "invite", KEEP_V11 },
	{ "m.room.power_levels", "kick", KEEP_ALWAYS },
	{ "m.room.power_levels", "redact", KEEP_ALWAYS },
	{ "m.room.power_levels", "state_default", KEEP_ALWAYS },
	{ "m.room.power_levels", "users", KEEP_ALWAYS },
	{ "m.room.power_levels", "users_default", KEEP_ALWAYS },
	{ "m.room.aliases", "aliases", KEEP_ALIASES },
	{ "m.room.history_visibility", "history_visibility", KEEP_ALWAYS },
	{ "m.room.redaction", "redacts", KEEP_V11 },
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * Whether a rule applies under rv.  The v11 algorithm is a full list of
 * its own, so it takes the keys v8 and v9 added whatever the flags say.
 */
static int
applies(enum keepif when, const struct mroomver *rv)
{
	int	 v11 = rv->redaction == MREDACT_V11;

	switch (when) {
	case KEEP_ALWAYS:
		return 1;
	case KEEP_ALIASES:
		return rv->special_aliases_auth && !v11;
	case KEEP_RESTRICTED:
		return rv->restricted || v11;
	case KEEP_RESTRICTED_FIX:
		return rv->restricted_fix || v11;
	case KEEP_V11:
		return v11;
	case KEEP_PRE_V11:
		return !v11;
	}
	return 0;
}

/* Sets out[key] to a deep copy of in[key] if present.  0 or -1. */
static int
keep_key(json_t *out, const json_t *in, const char *key)
{
	json_t	*v;

	if ((v = json_object_get(in, key)) == NULL)
		return 0;
	return json_object_set_new(out, key, json_deep_copy(v));
}

/*
 * The redacted content of an event of the given type (NULL if "type"
 * is not a string: nothing is then kept).  content may be NULL or not
 * an object; the result is always a new object, or NULL on failure.
 */
static json_t *
redact_content(const char *type, const json_t *content,
    const struct mroomver *rv)
{
	json_t		*out, *tpi, *signed_;
	size_t		 i;

	if ((out = json_object()) == NULL)
		return NULL;
	if (type == NULL || !json_is_object(content))
		return out;

	/* Spec: v11-redactions: "m.room.create allows all keys." */
	if (rv->redaction == MREDACT_V11 && strcmp(type, "m.room.create") == 0) {
		json_decref(out);
		return json_deep_copy(content);
	}

	for (i = 0; i < NELEM(content_keep); i++) {
		if (strcmp(content_keep[i].type, type) != 0 ||
		    !applies(content_keep[i].when, rv))
			continue;
		if (keep_key(out, content, content_keep[i].key) == -1)
			goto fail;
	}

	/*
	 * Spec: v11-redactions: m.room.member "allows the signed key of the
	 * third_party_invite key"; v11 "Event format": third_party_invite "is
	 * no longer redacted, *but* will only contain the signed key after
	 * redaction".  So an object third_party_invite stays, emptied but
	 * for "signed"; anything else under that name is not an invite and
	 * goes.
	 */
	if (rv->redaction == MREDACT_V11 && strcmp(type, "m.room.member") == 0 &&
	    json_is_object(tpi = json_object_get(content, "third_party_invite"))) {
		if ((signed_ = json_object()) == NULL ||
		    json_object_set_new(out, "third_party_invite", signed_) == -1 ||
		    keep_key(signed_, tpi, "signed") == -1)
			goto fail;
	}
	return out;
fail:
	json_decref(out);
	return NULL;
}

/*
 * Applies the redaction algorithm of rv to ev.  Returns a new event
 * sharing nothing with ev, or NULL if ev is not an object, rv is NULL
 * or memory runs out.  Keys that are kept are copied whatever their
 * type: judging them is the auth rules' job.  "content" is always
 * present in the result, as an object: every PDU format requires it,
 * and a content that is absent or not an object keeps no key.
 */
json_t *
mevent_redact(const json_t *ev, const struct mroomver *rv)
{
	json_t	*out, *content;
	size_t	 i;

	if (!json_is_object(ev) || rv == NULL)
		return NULL;
	if ((out = json_object()) == NULL)
		return NULL;
	for (i = 0; i < NELEM(top_keep); i++) {
		if (!applies(top_keep[i].when, rv) ||
		    strcmp(top_keep[i].name, "content") == 0)
			continue;
		if (keep_key(out, ev, top_keep[i].name) == -1)
			goto fail;
	}
	content = redact_content(json_string_value(json_object_get(ev, "type")),
	    json_object_get(ev, "content"), rv);
	if (content == NULL || json_object_set_new(out, "content", content) == -1)
		goto fail;
	return out;
fail:
	json_decref(out);
	return NULL;
}
