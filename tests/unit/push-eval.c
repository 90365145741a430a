/* Push rule evaluation against the spec's examples: globs, word boundaries, conditions, defaults. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "push/push.h"
#include "testlib.h"

/* Reports what as a failed check unless cond holds. */
#define EXPECT(what, cond) do {					\
	if (!(cond))						\
		FAIL("%s", what);				\
} while (0)

/* One condition (JSON text) against an event (JSON text). */
static int
cond(const char *c, const char *ev, int64_t members, int64_t power, const char *pl)
{
	json_t			*cj = load(c), *ej = load(ev), *plj = pl ? load(pl) : NULL;
	struct mpush_user	 u = { "@alice:example.org", "Alice Liddell" };
	struct mpush_event	 e = { ej, members, power, plj };
	int			 rc = mpush_cond(cj, &u, &e, 0);

	json_decref(cj);
	json_decref(ej);
	json_decref(plj);
	return rc;
}

static void
globs(void)
{
	/* Appendices, "Glob-style matching"; push.md, event_match examples. */
	EXPECT("lunc?* LUNCH", mpush_glob("lunc?*", "LUNCH", 0, 0));
	EXPECT("lunc?* Lunch plans", mpush_glob("lunc?*", "Lunch plans", 0, 0));
	EXPECT("lunc?* ' lunch'", !mpush_glob("lunc?*", " lunch", 0, 0));
	EXPECT("lunc?* lunc", !mpush_glob("lunc?*", "lunc", 0, 0));
	EXPECT("* empty", mpush_glob("*", "", 0, 0));
	EXPECT("? empty", !mpush_glob("?", "", 0, 0));
	EXPECT("? one code point", mpush_glob("?", "\xc3\xa9", 0, 0));
	EXPECT("?? one code point", !mpush_glob("??", "\xc3\xa9", 0, 0));
	EXPECT("a*b*c", mpush_glob("a*b*c", "aXXbYYc", 0, 0));
	EXPECT("a*b*c tail", !mpush_glob("a*b*c", "aXXbYYcd", 0, 0));
	EXPECT("whole only", !mpush_glob("cake", "cakes", 0, 0));
	EXPECT("literal whole", mpush_glob("m.room.message", "M.Room.Message", 0, 0));
	EXPECT("literal prefix", !mpush_glob("m.room.message", "m.room.messages", 0, 0));
	EXPECT("literal shorter", !mpush_glob("m.room.messages", "m.room.message", 0, 0));
	EXPECT("empty pattern", mpush_glob("", "", 0, 0) && !mpush_glob("", "x", 0, 0));
	EXPECT("pathological stars",
	    !mpush_glob("a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0, 0));

	/* content.body: any substring between word boundaries. */
	EXPECT("ex*ple example", mpush_glob("ex*ple", "An example event.", 1, 0));
	EXPECT("ex*ple exple", mpush_glob("ex*ple", "exple", 1, 0));
	EXPECT("ex*ple triple-whammy", mpush_glob("ex*ple", "An exciting triple-whammy", 1, 0));
	EXPECT("cake in cakes", !mpush_glob("cake", "I like cakes", 1, 0));
	EXPECT("cake in pancake", !mpush_glob("cake", "pancake", 1, 0));
	EXPECT("cake in cake!", mpush_glob("cake", "cake!", 1, 0));
	EXPECT("cake case", mpush_glob("cake", "CAKE time", 1, 0));
	EXPECT("cake in x_cake", !mpush_glob("cake", "x_cake", 1, 0));
	EXPECT("cake in 1cake", !mpush_glob("cake", "1cake", 1, 0));
	EXPECT("cake after e-acute", mpush_glob("cake", "\xc3\xa9" "cake", 1, 0));
	EXPECT("user id in body", mpush_glob("@alice:example.org", "hi @alice:example.org!", 1, 0));
	EXPECT("user id prefix", !mpush_glob("@alice:example.org", "hi @alice:example.orgs", 1, 0));
	EXPECT("literal star", !mpush_glob("a*", "abc", 1, 1));
	EXPECT("literal star matches", mpush_glob("a*", "say a* now", 1, 1));
	EXPECT("display name", mpush_glob("Alice Liddell", "hello alice liddell.", 1, 1));
	EXPECT("display name partial", !mpush_glob("Alice Liddell", "hello alice liddells", 1, 1));
}

static void
properties(void)
{
	json_t *ev = load("{\"content\":{\"m.relates_to\":{\"rel_type\":\"m.replace\"},"
	    "\"a\\\\b\":1,\"x\":{\"y\":\"z\"}}}");

	EXPECT("escaped dot", json_is_string(mpush_property(ev, "content.m\\.relates_to.rel_type")));
	EXPECT("unescaped dot", mpush_property(ev, "content.m.relates_to.rel_type") == NULL);
	EXPECT("escaped backslash", json_is_integer(mpush_property(ev, "content.a\\\\b")));
	EXPECT("nested", strcmp(json_string_value(mpush_property(ev, "content.x.y")), "z") == 0);
	EXPECT("through a string", mpush_property(ev, "content.x.y.z") == NULL);
	EXPECT("absent", mpush_property(ev, "content.nope") == NULL);
	json_decref(ev);
}

/* The event most conditions are tried on. */
#define MSG	"{\"type\":\"m.room.message\",\"sender\":\"@bob:example.org\"," \
	"\"room_id\":\"!r:example.org\",\"content\":{\"body\":\"Hello there\"," \
	"\"n\":42,\"t\":true,\"f\":false,\"z\":null,\"s\":\"42\",\"fl\":1.5," \
	"\"m.mentions\":{\"user_ids\":[\"@alice:example.org\",5],\"room\":true}," \
	"\"m.federate\":true}}"

/* Conditions (JSON text), whether each holds, on an event (JSON text). */
static const struct {
	const char	*what;
	int		 holds;
	const char	*cond;
	const char	*ev;
	int64_t		 members, power;
	const char	*pl;	/* power levels content, or NULL */
} conds[] = {
	/* event_match */
	{ "type match", 1, "{\"kind\":\"event_match\",\"key\":\"type\","
	  "\"pattern\":\"m.room.*\"}", MSG, 2, 0, NULL },
	{ "body word", 1, "{\"kind\":\"event_match\",\"key\":\"content.body\","
	  "\"pattern\":\"there\"}", MSG, 2, 0, NULL },
	{ "body not whole", 0, "{\"kind\":\"event_match\",\"key\":\"content.body\","
	  "\"pattern\":\"ther\"}", MSG, 2, 0, NULL },
	{ "non-string never", 0, "{\"kind\":\"event_match\",\"key\":\"content.n\","
	  "\"pattern\":\"*\"}", MSG, 2, 0, NULL },
	{ "absent never", 0, "{\"kind\":\"event_match\",\"key\":\"content.topic\","
	  "\"pattern\":\"*\"}", MSG, 2, 0, NULL },
	/* event_property_is: strings, integers, booleans, null; no casts. */
	{ "is int", 1, "{\"kind\":\"event_property_is\",\"key\":\"content.n\","
	  "\"value\":42}", MSG, 2, 0, NULL },
	{ "is int vs string", 0, "{\"kind\":\"event_property_is\",\"key\":\"content.s\","
	  "\"value\":42}", MSG, 2, 0, NULL },
	{ "is string vs int", 0, "{\"kind\":\"event_property_is\",\"key\":\"content.n\","
	  "\"value\":\"42\"}", MSG, 2, 0, NULL },
	{ "is true", 1, "{\"kind\":\"event_property_is\",\"key\":\"content.m\\\\.federate\","
	  "\"value\":true}", MSG, 2, 0, NULL },
	{ "is true vs 1", 0, "{\"kind\":\"event_property_is\","
	  "\"key\":\"content.m\\\\.federate\",\"value\":1}", MSG, 2, 0, NULL },
	{ "is false", 1, "{\"kind\":\"event_property_is\",\"key\":\"content.f\","
	  "\"value\":false}", MSG, 2, 0, NULL },
	{ "is false vs true", 0, "{\"kind\":\"event_property_is\",\"key\":\"content.t\","
	  "\"value\":false}", MSG, 2, 0, NULL },
	{ "is null", 1, "{\"kind\":\"event_property_is\",\"key\":\"content.z\","
	  "\"value\":null}", MSG, 2, 0, NULL },
	{ "absent is not null", 0, "{\"kind\":\"event_property_is\","
	  "\"key\":\"content.nope\",\"value\":null}", MSG, 2, 0, NULL },
	{ "float never", 0, "{\"kind\":\"event_property_is\",\"key\":\"content.fl\","
	  "\"value\":1.5}", MSG, 2, 0, NULL },
	{ "object never", 0, "{\"kind\":\"event_property_is\",\"key\":\"content.m\\\\.mentions\","
	  "\"value\":null}", MSG, 2, 0, NULL },
	/* event_property_contains: mentions. */
	{ "mention", 1, "{\"kind\":\"event_property_contains\","
	  "\"key\":\"content.m\\\\.mentions.user_ids\",\"value\":\"@alice:example.org\"}",
	  MSG, 2, 0, NULL },
	{ "mention int", 1, "{\"kind\":\"event_property_contains\","
	  "\"key\":\"content.m\\\\.mentions.user_ids\",\"value\":5}", MSG, 2, 0, NULL },
	{ "no mention", 0, "{\"kind\":\"event_property_contains\","
	  "\"key\":\"content.m\\\\.mentions.user_ids\",\"value\":\"@carol:example.org\"}",
	  MSG, 2, 0, NULL },
	{ "partial mention", 0, "{\"kind\":\"event_property_contains\","
	  "\"key\":\"content.m\\\\.mentions.user_ids\",\"value\":\":example.org\"}",
	  MSG, 2, 0, NULL },
	{ "contains on non-array", 0, "{\"kind\":\"event_property_contains\","
	  "\"key\":\"content.body\",\"value\":\"Hello there\"}", MSG, 2, 0, NULL },
	/* room_member_count */
	{ "== default", 1, "{\"kind\":\"room_member_count\",\"is\":\"2\"}", MSG, 2, 0, NULL },
	{ "== 2 vs 3", 0, "{\"kind\":\"room_member_count\",\"is\":\"2\"}", MSG, 3, 0, NULL },
	{ "==", 1, "{\"kind\":\"room_member_count\",\"is\":\"==3\"}", MSG, 3, 0, NULL },
	{ "<", 1, "{\"kind\":\"room_member_count\",\"is\":\"<3\"}", MSG, 2, 0, NULL },
	{ "< equal", 0, "{\"kind\":\"room_member_count\",\"is\":\"<3\"}", MSG, 3, 0, NULL },
	{ "<=", 1, "{\"kind\":\"room_member_count\",\"is\":\"<=10\"}", MSG, 10, 0, NULL },
	{ ">", 1, "{\"kind\":\"room_member_count\",\"is\":\">2\"}", MSG, 3, 0, NULL },
	{ "> equal", 0, "{\"kind\":\"room_member_count\",\"is\":\">2\"}", MSG, 2, 0, NULL },
	{ ">=", 1, "{\"kind\":\"room_member_count\",\"is\":\">=2\"}", MSG, 2, 0, NULL },
	{ "bad is", 0, "{\"kind\":\"room_member_count\",\"is\":\"two\"}", MSG, 2, 0, NULL },
	{ "trailing junk", 0, "{\"kind\":\"room_member_count\",\"is\":\"2x\"}", MSG, 2, 0,
	  NULL },
	/* sender_notification_permission, contains_display_name, unknown. */
	{ "room power default 50", 1, "{\"kind\":\"sender_notification_permission\","
	  "\"key\":\"room\"}", MSG, 2, 50, "{}" },
	{ "room power too low", 0, "{\"kind\":\"sender_notification_permission\","
	  "\"key\":\"room\"}", MSG, 2, 49, "{}" },
	{ "room power set", 1, "{\"kind\":\"sender_notification_permission\","
	  "\"key\":\"room\"}", MSG, 2, 10, "{\"notifications\":{\"room\":10}}" },
	{ "room power string", 0, "{\"kind\":\"sender_notification_permission\","
	  "\"key\":\"room\"}", MSG, 2, 10, "{\"notifications\":{\"room\":\"20\"}}" },
	{ "display name", 1, "{\"kind\":\"contains_display_name\"}",
	  "{\"content\":{\"body\":\"ALICE LIDDELL: hi\"}}", 2, 0, NULL },
	{ "display name absent", 0, "{\"kind\":\"contains_display_name\"}",
	  "{\"content\":{\"body\":\"Alice: hi\"}}", 2, 0, NULL },
	{ "unknown kind", 0, "{\"kind\":\"org.example.nope\"}", MSG, 2, 0, NULL },
};

static void
conditions(void)
{
	size_t	 i;

	for (i = 0; i < sizeof(conds) / sizeof(conds[0]); i++)
		EXPECT(conds[i].what, (cond(conds[i].cond, conds[i].ev,
		    conds[i].members, conds[i].power, conds[i].pl) != 0) ==
		    conds[i].holds);
}

/* The first matching rule of the defaults plus a userset, for alice. */
static const char *
rule_for(const char *ev, int64_t members, int64_t power, const char *userset, int *notify,
    int *highlight)
{
	static char	 id[128];
	json_t		*d = mpush_defaults(NULL), *e = load(ev);
	json_t		*us = userset != NULL ? load(userset) : NULL;
	struct mpush_user u = { "@alice:example.org", "Alice" };
	struct mpush_event pe = { e, members, power, NULL };
	const char	*rid = NULL;
	const json_t	*acts = mpush_eval(d, us, &u, &pe, &rid);

	snprintf(id, sizeof(id), "%s", rid != NULL ? rid : "(none)");
	*notify = mpush_actions_notify(acts);
	*highlight = mpush_actions_highlight(acts);
	json_decref(d);
	json_decref(e);
	json_decref(us);
	return id;
}

#define ANY	(-1)	/* notify or highlight: either */

/*
 * Events (JSON text) with the room's member count, the sender's power and
 * the user's rules (JSON text, or NULL): the first rule that matches for
 * alice, and whether its actions notify and highlight.
 */
static const struct {
	const char	*what;
	const char	*rule;
	int		 notify, highlight;
	const char	*ev;
	int64_t		 members, power;
	const char	*userset;
} rules[] = {
	{ "message in a group", ".m.rule.message", 1, 0,
	  "{\"type\":\"m.room.message\","
	  "\"sender\":\"@bob:x\",\"content\":{\"body\":\"hi\",\"msgtype\":\"m.text\"}}",
	  3, 0, NULL },
	{ "one to one", ".m.rule.room_one_to_one", 1, 0,
	  "{\"type\":\"m.room.message\",\"sender\":\"@bob:x\",\"content\":{\"body\":\"hi\"}}",
	  2, 0, NULL },
	{ "notice", ".m.rule.suppress_notices", 0, 0,
	  "{\"type\":\"m.room.message\","
	  "\"sender\":\"@bob:x\",\"content\":{\"body\":\"hi\",\"msgtype\":\"m.notice\"}}",
	  3, 0, NULL },
	{ "user mention", ".m.rule.is_user_mention", 1, 1,
	  "{\"type\":\"m.room.message\","
	  "\"sender\":\"@bob:x\",\"content\":{\"body\":\"hi\",\"m.mentions\":"
	  "{\"user_ids\":[\"@alice:example.org\"]}}}", 3, 0, NULL },
	{ "other's mention", ".m.rule.message", 1, 0,
	  "{\"type\":\"m.room.message\","
	  "\"sender\":\"@bob:x\",\"content\":{\"body\":\"hi\",\"m.mentions\":"
	  "{\"user_ids\":[\"@carol:example.org\"]}}}", 3, 0, NULL },
	{ "room mention with power", ".m.rule.is_room_mention", 1, 1,
	  "{\"type\":\"m.room.message\","
	  "\"sender\":\"@bob:x\",\"content\":{\"body\":\"hi\",\"m.mentions\":{\"room\":true}}}",
	  3, 50, NULL },
	{ "room mention without power", ".m.rule.message", 1, 0,
	  "{\"type\":\"m.room.message\","
	  "\"sender\":\"@bob:x\",\"content\":{\"body\":\"hi\",\"m.mentions\":{\"room\":true}}}",
	  3, 0, NULL },
	/* The legacy body rules, off for an event with m.mentions (MSC3952). */
	{ "display name in the body", ".m.rule.contains_display_name", 1, 1,
	  "{\"type\":\"m.room.message\","
	  "\"sender\":\"@bob:x\",\"content\":{\"body\":\"hi Alice!\"}}", 3, 0, NULL },
	{ "display name with m.mentions", ".m.rule.message", 1, 0,
	  "{\"type\":\"m.room.message\","
	  "\"sender\":\"@bob:x\",\"content\":{\"body\":\"hi Alice!\",\"m.mentions\":{}}}",
	  3, 0, NULL },
	{ "localpart in the body", ".m.rule.contains_user_name", 1, 1,
	  "{\"type\":\"m.room.message\","
	  "\"sender\":\"@bob:x\",\"content\":{\"body\":\"ping @alice:example.org\"}}", 3, 0,
	  "{\"defaults\":{\".m.rule.contains_display_name\":{\"enabled\":false}}}" },
	{ "localpart with m.mentions", ".m.rule.message", 1, 0,
	  "{\"type\":\"m.room.message\",\"sender\":\"@bob:x\","
	  "\"content\":{\"body\":\"ping @alice:example.org\",\"m.mentions\":{}}}", 3, 0,
	  "{\"defaults\":{\".m.rule.contains_display_name\":{\"enabled\":false}}}" },
	{ "@room with power", ".m.rule.roomnotif", 1, 1,
	  "{\"type\":\"m.room.message\","
	  "\"sender\":\"@bob:x\",\"content\":{\"body\":\"@room: lunch\"}}", 3, 50, NULL },
	{ "@room without power", ".m.rule.message", 1, 0,
	  "{\"type\":\"m.room.message\","
	  "\"sender\":\"@bob:x\",\"content\":{\"body\":\"@room: lunch\"}}", 3, 0, NULL },
	{ "invite for me", ".m.rule.invite_for_me", 1, 0,
	  "{\"type\":\"m.room.member\","
	  "\"sender\":\"@bob:x\",\"state_key\":\"@alice:example.org\",\"content\":"
	  "{\"membership\":\"invite\"}}", 3, 0, NULL },
	{ "member event", ".m.rule.member_event", 0, ANY,
	  "{\"type\":\"m.room.member\","
	  "\"sender\":\"@bob:x\",\"state_key\":\"@bob:x\",\"content\":"
	  "{\"membership\":\"join\"}}", 3, 0, NULL },
	{ "edit", ".m.rule.suppress_edits", 0, ANY,
	  "{\"type\":\"m.room.message\",\"sender\":\"@bob:x\","
	  "\"content\":{\"body\":\"* hi\",\"m.relates_to\":{\"rel_type\":\"m.replace\","
	  "\"event_id\":\"$e\"}}}", 2, 0, NULL },
	{ "reaction", ".m.rule.reaction", 0, ANY,
	  "{\"type\":\"m.reaction\",\"sender\":\"@bob:x\",\"content\":{}}", 2, 0, NULL },
	{ "tombstone", ".m.rule.tombstone", 1, 1,
	  "{\"type\":\"m.room.tombstone\",\"sender\":\"@bob:x\","
	  "\"state_key\":\"\",\"content\":{}}", 5, 0, NULL },
	{ "call", ".m.rule.call", 1, ANY,
	  "{\"type\":\"m.call.invite\",\"sender\":\"@bob:x\",\"content\":{}}", 5, 0, NULL },
	{ "encrypted 1:1", ".m.rule.encrypted_room_one_to_one", 1, ANY,
	  "{\"type\":\"m.room.encrypted\",\"sender\":\"@bob:x\",\"content\":{}}", 2, 0, NULL },
	{ "encrypted group", ".m.rule.encrypted", ANY, ANY,
	  "{\"type\":\"m.room.encrypted\",\"sender\":\"@bob:x\",\"content\":{}}", 4, 0, NULL },
	{ "state event none", "(none)", 0, ANY,
	  "{\"type\":\"m.room.topic\","
	  "\"sender\":\"@bob:x\",\"state_key\":\"\",\"content\":{\"topic\":\"t\"}}", 4, 0, NULL },
	/* The user's rules come before the server's, master before all. */
	{ "room rule", "!r:x", 0, ANY,
	  "{\"type\":\"m.room.message\",\"sender\":\"@bob:x\","
	  "\"room_id\":\"!r:x\",\"content\":{\"body\":\"hi\"}}", 3, 0,
	  "{\"room\":[{\"rule_id\":\"!r:x\",\"enabled\":true,\"actions\":[]}],\"defaults\":{}}" },
	{ "disabled room rule", ".m.rule.message", 1, ANY,
	  "{\"type\":\"m.room.message\","
	  "\"sender\":\"@bob:x\",\"room_id\":\"!r:x\",\"content\":{\"body\":\"hi\"}}", 3, 0,
	  "{\"room\":[{\"rule_id\":\"!r:x\",\"enabled\":false,\"actions\":[]}],\"defaults\":{}}" },
	{ "sender rule", "@bob:x", ANY, 1,
	  "{\"type\":\"m.room.message\",\"sender\":\"@bob:x\","
	  "\"content\":{\"body\":\"hi\"}}", 3, 0,
	  "{\"sender\":[{\"rule_id\":\"@bob:x\",\"enabled\":true,\"actions\":[\"notify\","
	  "{\"set_tweak\":\"highlight\"}]}],\"defaults\":{}}" },
	{ "content rule", "c", ANY, 1,
	  "{\"type\":\"m.room.message\",\"sender\":\"@bob:x\","
	  "\"content\":{\"body\":\"I like cake\"}}", 3, 0,
	  "{\"content\":[{\"rule_id\":\"c\",\"enabled\":true,\"pattern\":\"cake\",\"actions\":"
	  "[\"notify\",{\"set_tweak\":\"highlight\",\"value\":true}]}],\"defaults\":{}}" },
	{ "master on", ".m.rule.master", 0, ANY,
	  "{\"type\":\"m.room.message\",\"sender\":\"@bob:x\","
	  "\"content\":{\"body\":\"hi\"}}", 3, 0, "{\"override\":[{\"rule_id\":\"o\","
	  "\"enabled\":true,\"actions\":[\"notify\"],\"conditions\":[]}],\"defaults\":"
	  "{\".m.rule.master\":{\"enabled\":true}}}" },
	{ "default actions changed", ".m.rule.message", 1, 1,
	  "{\"type\":\"m.room.message\","
	  "\"sender\":\"@bob:x\",\"content\":{\"body\":\"hi\"}}", 3, 0, "{\"defaults\":"
	  "{\".m.rule.message\":{\"actions\":[\"notify\",{\"set_tweak\":\"highlight\"}]}}}" },
	{ "highlight false", ".m.rule.message", 1, 0,
	  "{\"type\":\"m.room.message\","
	  "\"sender\":\"@bob:x\",\"content\":{\"body\":\"hi\"}}", 3, 0, "{\"defaults\":"
	  "{\".m.rule.message\":{\"actions\":[\"notify\",{\"set_tweak\":\"highlight\","
	  "\"value\":false}]}}}" },
	{ "user rule with display name", "dn", ANY, 1,
	  "{\"type\":\"m.room.message\","
	  "\"sender\":\"@bob:x\",\"content\":{\"body\":\"hey alice!\"}}", 3, 0,
	  "{\"override\":[{\"rule_id\":\"dn\",\"enabled\":true,\"conditions\":[{\"kind\":"
	  "\"contains_display_name\"}],\"actions\":[\"notify\",{\"set_tweak\":\"highlight\"}]}],"
	  "\"defaults\":{}}" },
};

static void
defaults(void)
{
	json_t		*d = mpush_defaults("@alice:example.org"), *rs, *us;
	const json_t	*r;
	const char	*rid;
	size_t		 i;
	int		 n, h;

	EXPECT("defaults parse", d != NULL);
	r = mpush_ruleset_find(d, "override", ".m.rule.invite_for_me");
	EXPECT("invite_for_me names alice", r != NULL && strcmp(json_string_value(json_object_get(
	    json_array_get(json_object_get(r, "conditions"), 2), "pattern")),
	    "@alice:example.org") == 0);
	EXPECT("master first", strcmp(json_string_value(json_object_get(json_array_get(
	    json_object_get(d, "override"), 0), "rule_id")), ".m.rule.master") == 0);
	EXPECT("master disabled", json_is_false(json_object_get(json_array_get(
	    json_object_get(d, "override"), 0), "enabled")));
	EXPECT("legacy body rules", mpush_ruleset_find(d, "override", ".m.rule.roomnotif") !=
	    NULL && mpush_ruleset_find(d, "override", ".m.rule.contains_display_name") != NULL);
	r = mpush_ruleset_find(d, "content", ".m.rule.contains_user_name");
	EXPECT("contains_user_name is alice's localpart", r != NULL &&
	    strcmp(json_string_value(json_object_get(r, "pattern")), "alice") == 0);
	us = load("{\"override\":[{\"rule_id\":\"mine\",\"enabled\":true,"
	    "\"actions\":[],\"conditions\":[]}],\"defaults\":{\".m.rule.message\":"
	    "{\"enabled\":false}}}");
	rs = mpush_ruleset(d, us);
	json_decref(us);
	EXPECT("user override after master", strcmp(json_string_value(json_object_get(
	    json_array_get(json_object_get(rs, "override"), 1), "rule_id")), "mine") == 0);
	EXPECT("tweak applied", json_is_false(json_object_get(mpush_ruleset_find(rs, "underride",
	    ".m.rule.message"), "enabled")));
	json_decref(rs);
	json_decref(d);

	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		rid = rule_for(rules[i].ev, rules[i].members, rules[i].power,
		    rules[i].userset, &n, &h);
		EXPECT(rules[i].what, strcmp(rid, rules[i].rule) == 0 &&
		    (rules[i].notify == ANY || (n != 0) == rules[i].notify) &&
		    (rules[i].highlight == ANY || (h != 0) == rules[i].highlight));
	}
}

static void
actions(void)
{
	json_t *a = load("[\"notify\",\"dont_notify\",\"coalesce\",{\"set_tweak\":\"sound\","
	    "\"value\":\"default\"}]"), *c = mpush_actions_clean(a), *bad;

	EXPECT("historical kept", c != NULL && json_array_size(c) == 4);
	json_decref(c);
	json_decref(a);
	bad = load("[\"ring\"]");
	EXPECT("unknown action", mpush_actions_clean(bad) == NULL);
	json_decref(bad);
	bad = load("{}");
	EXPECT("not an array", mpush_actions_clean(bad) == NULL);
	json_decref(bad);
	EXPECT("kinds", mpush_kind_parse("underride") == MPUSH_UNDERRIDE &&
	    mpush_kind_parse("global") == -1);
}

int
main(void)
{
	globs();
	properties();
	conditions();
	defaults();
	actions();
	return failed;
}
