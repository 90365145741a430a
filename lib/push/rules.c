/* The spec's server-default push rules, and a user's ruleset as clients read it. */
#include <string.h>

#include "push/extern.h"

const char *const mpush_kinds[MPUSH__MAX] = {
	"override", "content", "room", "sender", "underride",
};

/*
 * Spec: C-S API v1.19, "Predefined Rules", in the spec's order, and the
 * three legacy rules that look for mentions in the body
 * (.m.rule.contains_display_name, .m.rule.roomnotif,
 * .m.rule.contains_user_name) where v1.16 and Synapse place them.  v1.17
 * (MSC4210) dropped them from the spec, but Synapse still has them, and
 * bridges, bots and older clients that send no m.mentions still mention
 * users only in the body.  As v1.7 (MSC3952) says, they never apply to
 * an event whose content has m.mentions (mpush_eval), so a client that
 * sends m.mentions gets exactly the v1.17 behaviour.
 */
#define TWEAK(n, v)	"{\"set_tweak\":\"" n "\",\"value\":\"" v "\"}"
#define HIGHLIGHT	"{\"set_tweak\":\"highlight\"}"
#define MATCH(k, p)	"{\"kind\":\"event_match\",\"key\":\"" k "\",\"pattern\":\"" p "\"}"
#define RULE(id, enabled, conds, actions) \
	"{\"rule_id\":\"" id "\",\"default\":true,\"enabled\":" enabled \
	",\"conditions\":[" conds "],\"actions\":[" actions "]}"

static const char defaults_json[] = "{"
    "\"override\":["
	RULE(".m.rule.master", "false", "", "") ","
	RULE(".m.rule.suppress_notices", "true", MATCH("content.msgtype", "m.notice"), "") ","
	RULE(".m.rule.invite_for_me", "true",
	    MATCH("type", "m.room.member") "," MATCH("content.membership", "invite") ","
	    MATCH("state_key", MPUSH_ME),
	    "\"notify\"," TWEAK("sound", "default")) ","
	RULE(".m.rule.member_event", "true", MATCH("type", "m.room.member"), "") ","
	RULE(".m.rule.is_user_mention", "true",
	    "{\"kind\":\"event_property_contains\",\"key\":\"content.m\\\\.mentions.user_ids\","
	    "\"value\":\"" MPUSH_ME "\"}",
	    "\"notify\"," TWEAK("sound", "default") "," HIGHLIGHT) ","
	RULE(".m.rule.contains_display_name", "true", "{\"kind\":\"contains_display_name\"}",
	    "\"notify\"," TWEAK("sound", "default") "," HIGHLIGHT) ","
	RULE(".m.rule.is_room_mention", "true",
	    "{\"kind\":\"event_property_is\",\"key\":\"content.m\\\\.mentions.room\",\"value\":true},"
	    "{\"kind\":\"sender_notification_permission\",\"key\":\"room\"}",
	    "\"notify\"," HIGHLIGHT) ","
	RULE(".m.rule.roomnotif", "true",
	    MATCH("content.body", "@room") ","
	    "{\"kind\":\"sender_notification_permission\",\"key\":\"room\"}",
	    "\"notify\"," HIGHLIGHT) ","
	RULE(".m.rule.tombstone", "true",
	    MATCH("type", "m.room.tombstone") "," MATCH("state_key", ""),
	    "\"notify\"," HIGHLIGHT) ","
	RULE(".m.rule.reaction", "true", MATCH("type", "m.reaction"), "") ","
	RULE(".m.rule.room.server_acl", "true",
	    MATCH("type", "m.room.server_acl") "," MATCH("state_key", ""), "") ","
	RULE(".m.rule.suppress_edits", "true",
	    "{\"kind\":\"event_property_is\",\"key\":\"content.m\\\\.relates_to.rel_type\","
	    "\"value\":\"m.replace\"}", "")
    "],"
    "\"content\":["
	"{\"rule_id\":\".m.rule.contains_user_name\",\"default\":true,\"enabled\":true,"
	"\"pattern\":\"" MPUSH_LOCALPART "\","
	"\"actions\":[\"notify\"," TWEAK("sound", "default") "," HIGHLIGHT "]}"
    "],\"room\":[],\"sender\":[],"
    "\"underride\":["
	RULE(".m.rule.call", "true", MATCH("type", "m.call.invite"),
	    "\"notify\"," TWEAK("sound", "ring")) ","
	RULE(".m.rule.encrypted_room_one_to_one", "true",
	    "{\"kind\":\"room_member_count\",\"is\":\"2\"}," MATCH("type", "m.room.encrypted"),
	    "\"notify\"," TWEAK("sound", "default")) ","
	RULE(".m.rule.room_one_to_one", "true",
	    "{\"kind\":\"room_member_count\",\"is\":\"2\"}," MATCH("type", "m.room.message"),
	    "\"notify\"," TWEAK("sound", "default")) ","
	RULE(".m.rule.message", "true", MATCH("type", "m.room.message"), "\"notify\"") ","
	RULE(".m.rule.encrypted", "true", MATCH("type", "m.room.encrypted"), "\"notify\"")
    "]}";

int
mpush_kind_parse(const char *s)
{
	for (int i = 0; i < MPUSH__MAX; i++)
		if (strcmp(s, mpush_kinds[i]) == 0)
			return i;
	return -1;
}

/*
 * Replaces MPUSH_ME in the pattern or value of each condition of rules,
 * and MPUSH_LOCALPART in the pattern of a content rule.
 */
static void
put_user(json_t *rules, const char *user_id)
{
	json_t		*r, *c;
	const char	*colon;
	size_t		 i, j;

	json_array_foreach(rules, i, r) {
		if (strcmp(push_str(r, "pattern"), MPUSH_LOCALPART) == 0 &&
		    user_id[0] == '@' && (colon = strchr(user_id, ':')) != NULL)
			json_object_set_new(r, "pattern",
			    json_stringn(user_id + 1, (size_t)(colon - user_id - 1)));
		json_array_foreach(json_object_get(r, "conditions"), j, c) {
			if (strcmp(push_str(c, "pattern"), MPUSH_ME) == 0)
				json_object_set_new(c, "pattern", json_string(user_id));
			if (strcmp(push_str(c, "value"), MPUSH_ME) == 0)
				json_object_set_new(c, "value", json_string(user_id));
		}
	}
}

json_t *
mpush_defaults(const char *user_id)
{
	json_t *d = json_loads(defaults_json, 0, NULL);

	if (d == NULL || user_id == NULL)
		return d;
	for (int k = 0; k < MPUSH__MAX; k++)
		put_user(json_object_get(d, mpush_kinds[k]), user_id);
	return d;
}

/* A user-defined rule as clients read it: the fields its kind has. */
static json_t *
user_rule(int kind, const json_t *r)
{
	json_t *out = json_pack("{s:O,s:b,s:b,s:O}", "rule_id", json_object_get(r, "rule_id"),
	    "default", 0, "enabled", json_is_true(json_object_get(r, "enabled")),
	    "actions", json_object_get(r, "actions"));

	if (out == NULL)
		return NULL;
	if (kind == MPUSH_CONTENT && json_object_get(r, "pattern") != NULL)
		json_object_set(out, "pattern", json_object_get(r, "pattern"));
	if (kind == MPUSH_OVERRIDE || kind == MPUSH_UNDERRIDE)
		json_object_set(out, "conditions", json_object_get(r, "conditions") != NULL ?
		    json_object_get(r, "conditions") : json_array());
	return out;
}

/* A server-default rule with the user's changes (enabled, actions) applied. */
static json_t *
default_rule(const json_t *r, const json_t *userset)
{
	const json_t	*t = json_object_get(json_object_get(userset, "defaults"),
	    json_string_value(json_object_get(r, "rule_id")));
	json_t		*out = json_deep_copy(r);

	if (out == NULL || t == NULL)
		return out;
	if (json_is_boolean(json_object_get(t, "enabled")))
		json_object_set(out, "enabled", json_object_get(t, "enabled"));
	if (json_is_array(json_object_get(t, "actions")))
		json_object_set(out, "actions", json_object_get(t, "actions"));
	return out;
}

json_t *
mpush_ruleset(const json_t *defaults, const json_t *userset)
{
	json_t *out = json_object();

	if (out == NULL)
		return NULL;
	for (int k = 0; k < MPUSH__MAX; k++) {
		const json_t	*dl = json_object_get(defaults, mpush_kinds[k]), *r;
		json_t		*l = json_array();
		size_t		 i;

		if (l == NULL || json_object_set_new(out, mpush_kinds[k], l) == -1) {
			json_decref(out);
			return NULL;
		}
		/* Spec: .m.rule.master comes before every rule, even the user's. */
		json_array_foreach(dl, i, r)
			if (strcmp(push_str(r, "rule_id"), ".m.rule.master") == 0)
				json_array_append_new(l, default_rule(r, userset));
		json_array_foreach(json_object_get(userset, mpush_kinds[k]), i, r)
			json_array_append_new(l, user_rule(k, r));
		json_array_foreach(dl, i, r)
			if (strcmp(push_str(r, "rule_id"), ".m.rule.master") != 0)
				json_array_append_new(l, default_rule(r, userset));
	}
	return out;
}

const json_t *
mpush_ruleset_find(const json_t *ruleset, const char *kind, const char *rule_id)
{
	const json_t	*r;
	size_t		 i;

	json_array_foreach(json_object_get(ruleset, kind), i, r) {
		const char *id = json_string_value(json_object_get(r, "rule_id"));

		if (id != NULL && strcmp(id, rule_id) == 0)
			return r;
	}
	return NULL;
}
