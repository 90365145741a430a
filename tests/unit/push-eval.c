/* Push rule evaluation against the spec's examples: globs, word boundaries, conditions, defaults. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "push/push.h"

static int	 failed;

#define CHECK(what, cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, what);	\
		failed = 1;						\
	}								\
} while (0)

static json_t *
parse(const char *s)
{
	json_t *v = json_loads(s, 0, NULL);

	if (v == NULL) {
		fprintf(stderr, "FAIL bad test JSON: %s\n", s);
		exit(1);
	}
	return v;
}

/* One condition (JSON text) against an event (JSON text). */
static int
cond(const char *c, const char *ev, int64_t members, int64_t power, const char *pl)
{
	json_t			*cj = parse(c), *ej = parse(ev), *plj = pl ? parse(pl) : NULL;
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
	CHECK("lunc?* LUNCH", mpush_glob("lunc?*", "LUNCH", 0, 0));
	CHECK("lunc?* Lunch plans", mpush_glob("lunc?*", "Lunch plans", 0, 0));
	CHECK("lunc?* ' lunch'", !mpush_glob("lunc?*", " lunch", 0, 0));
	CHECK("lunc?* lunc", !mpush_glob("lunc?*", "lunc", 0, 0));
	CHECK("* empty", mpush_glob("*", "", 0, 0));
	CHECK("? empty", !mpush_glob("?", "", 0, 0));
	CHECK("? one code point", mpush_glob("?", "\xc3\xa9", 0, 0));
	CHECK("?? one code point", !mpush_glob("??", "\xc3\xa9", 0, 0));
	CHECK("a*b*c", mpush_glob("a*b*c", "aXXbYYc", 0, 0));
	CHECK("a*b*c tail", !mpush_glob("a*b*c", "aXXbYYcd", 0, 0));
	CHECK("whole only", !mpush_glob("cake", "cakes", 0, 0));
	CHECK("literal whole", mpush_glob("m.room.message", "M.Room.Message", 0, 0));
	CHECK("literal prefix", !mpush_glob("m.room.message", "m.room.messages", 0, 0));
	CHECK("literal shorter", !mpush_glob("m.room.messages", "m.room.message", 0, 0));
	CHECK("empty pattern", mpush_glob("", "", 0, 0) && !mpush_glob("", "x", 0, 0));
	CHECK("pathological stars",
	    !mpush_glob("a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0, 0));

	/* content.body: any substring between word boundaries. */
	CHECK("ex*ple example", mpush_glob("ex*ple", "An example event.", 1, 0));
	CHECK("ex*ple exple", mpush_glob("ex*ple", "exple", 1, 0));
	CHECK("ex*ple triple-whammy", mpush_glob("ex*ple", "An exciting triple-whammy", 1, 0));
	CHECK("cake in cakes", !mpush_glob("cake", "I like cakes", 1, 0));
	CHECK("cake in pancake", !mpush_glob("cake", "pancake", 1, 0));
	CHECK("cake in cake!", mpush_glob("cake", "cake!", 1, 0));
	CHECK("cake case", mpush_glob("cake", "CAKE time", 1, 0));
	CHECK("cake in x_cake", !mpush_glob("cake", "x_cake", 1, 0));
	CHECK("cake in 1cake", !mpush_glob("cake", "1cake", 1, 0));
	CHECK("cake after e-acute", mpush_glob("cake", "\xc3\xa9" "cake", 1, 0));
	CHECK("user id in body", mpush_glob("@alice:example.org", "hi @alice:example.org!", 1, 0));
	CHECK("user id prefix", !mpush_glob("@alice:example.org", "hi @alice:example.orgs", 1, 0));
	CHECK("literal star", !mpush_glob("a*", "abc", 1, 1));
	CHECK("literal star matches", mpush_glob("a*", "say a* now", 1, 1));
	CHECK("display name", mpush_glob("Alice Liddell", "hello alice liddell.", 1, 1));
	CHECK("display name partial", !mpush_glob("Alice Liddell", "hello alice liddells", 1, 1));
}

static void
properties(void)
{
	json_t *ev = parse("{\"content\":{\"m.relates_to\":{\"rel_type\":\"m.replace\"},"
	    "\"a\\\\b\":1,\"x\":{\"y\":\"z\"}}}");

	CHECK("escaped dot", json_is_string(mpush_property(ev, "content.m\\.relates_to.rel_type")));
	CHECK("unescaped dot", mpush_property(ev, "content.m.relates_to.rel_type") == NULL);
	CHECK("escaped backslash", json_is_integer(mpush_property(ev, "content.a\\\\b")));
	CHECK("nested", strcmp(json_string_value(mpush_property(ev, "content.x.y")), "z") == 0);
	CHECK("through a string", mpush_property(ev, "content.x.y.z") == NULL);
	CHECK("absent", mpush_property(ev, "content.nope") == NULL);
	json_decref(ev);
}

static void
conditions(void)
{
	const char *msg = "{\"type\":\"m.room.message\",\"sender\":\"@bob:example.org\","
	    "\"room_id\":\"!r:example.org\",\"content\":{\"body\":\"Hello there\","
	    "\"n\":42,\"t\":true,\"f\":false,\"z\":null,\"s\":\"42\",\"fl\":1.5,"
	    "\"m.mentions\":{\"user_ids\":[\"@alice:example.org\",5],\"room\":true},"
	    "\"m.federate\":true}}";

	/* event_match */
	CHECK("type match", cond("{\"kind\":\"event_match\",\"key\":\"type\","
	    "\"pattern\":\"m.room.*\"}", msg, 2, 0, NULL));
	CHECK("body word", cond("{\"kind\":\"event_match\",\"key\":\"content.body\","
	    "\"pattern\":\"there\"}", msg, 2, 0, NULL));
	CHECK("body not whole", !cond("{\"kind\":\"event_match\",\"key\":\"content.body\","
	    "\"pattern\":\"ther\"}", msg, 2, 0, NULL));
	CHECK("non-string never", !cond("{\"kind\":\"event_match\",\"key\":\"content.n\","
	    "\"pattern\":\"*\"}", msg, 2, 0, NULL));
	CHECK("absent never", !cond("{\"kind\":\"event_match\",\"key\":\"content.topic\","
	    "\"pattern\":\"*\"}", msg, 2, 0, NULL));

	/* event_property_is: strings, integers, booleans, null; no casts. */
	CHECK("is int", cond("{\"kind\":\"event_property_is\",\"key\":\"content.n\","
	    "\"value\":42}", msg, 2, 0, NULL));
	CHECK("is int vs string", !cond("{\"kind\":\"event_property_is\",\"key\":\"content.s\","
	    "\"value\":42}", msg, 2, 0, NULL));
	CHECK("is string vs int", !cond("{\"kind\":\"event_property_is\",\"key\":\"content.n\","
	    "\"value\":\"42\"}", msg, 2, 0, NULL));
	CHECK("is true", cond("{\"kind\":\"event_property_is\",\"key\":\"content.m\\\\.federate\","
	    "\"value\":true}", msg, 2, 0, NULL));
	CHECK("is true vs 1", !cond("{\"kind\":\"event_property_is\","
	    "\"key\":\"content.m\\\\.federate\",\"value\":1}", msg, 2, 0, NULL));
	CHECK("is false", cond("{\"kind\":\"event_property_is\",\"key\":\"content.f\","
	    "\"value\":false}", msg, 2, 0, NULL));
	CHECK("is false vs true", !cond("{\"kind\":\"event_property_is\",\"key\":\"content.t\","
	    "\"value\":false}", msg, 2, 0, NULL));
	CHECK("is null", cond("{\"kind\":\"event_property_is\",\"key\":\"content.z\","
	    "\"value\":null}", msg, 2, 0, NULL));
	CHECK("absent is not null", !cond("{\"kind\":\"event_property_is\","
	    "\"key\":\"content.nope\",\"value\":null}", msg, 2, 0, NULL));
	CHECK("float never", !cond("{\"kind\":\"event_property_is\",\"key\":\"content.fl\","
	    "\"value\":1.5}", msg, 2, 0, NULL));
	CHECK("object never", !cond("{\"kind\":\"event_property_is\",\"key\":\"content.m\\\\.mentions\","
	    "\"value\":null}", msg, 2, 0, NULL));

	/* event_property_contains: mentions. */
	CHECK("mention", cond("{\"kind\":\"event_property_contains\","
	    "\"key\":\"content.m\\\\.mentions.user_ids\",\"value\":\"@alice:example.org\"}",
	    msg, 2, 0, NULL));
	CHECK("mention int", cond("{\"kind\":\"event_property_contains\","
	    "\"key\":\"content.m\\\\.mentions.user_ids\",\"value\":5}", msg, 2, 0, NULL));
	CHECK("no mention", !cond("{\"kind\":\"event_property_contains\","
	    "\"key\":\"content.m\\\\.mentions.user_ids\",\"value\":\"@carol:example.org\"}",
	    msg, 2, 0, NULL));
	CHECK("partial mention", !cond("{\"kind\":\"event_property_contains\","
	    "\"key\":\"content.m\\\\.mentions.user_ids\",\"value\":\":example.org\"}",
	    msg, 2, 0, NULL));
	CHECK("contains on non-array", !cond("{\"kind\":\"event_property_contains\","
	    "\"key\":\"content.body\",\"value\":\"Hello there\"}", msg, 2, 0, NULL));

	/* room_member_count */
	CHECK("== default", cond("{\"kind\":\"room_member_count\",\"is\":\"2\"}", msg, 2, 0, NULL));
	CHECK("== 2 vs 3", !cond("{\"kind\":\"room_member_count\",\"is\":\"2\"}", msg, 3, 0, NULL));
	CHECK("==", cond("{\"kind\":\"room_member_count\",\"is\":\"==3\"}", msg, 3, 0, NULL));
	CHECK("<", cond("{\"kind\":\"room_member_count\",\"is\":\"<3\"}", msg, 2, 0, NULL));
	CHECK("< equal", !cond("{\"kind\":\"room_member_count\",\"is\":\"<3\"}", msg, 3, 0, NULL));
	CHECK("<=", cond("{\"kind\":\"room_member_count\",\"is\":\"<=10\"}", msg, 10, 0, NULL));
	CHECK(">", cond("{\"kind\":\"room_member_count\",\"is\":\">2\"}", msg, 3, 0, NULL));
	CHECK("> equal", !cond("{\"kind\":\"room_member_count\",\"is\":\">2\"}", msg, 2, 0, NULL));
	CHECK(">=", cond("{\"kind\":\"room_member_count\",\"is\":\">=2\"}", msg, 2, 0, NULL));
	CHECK("bad is", !cond("{\"kind\":\"room_member_count\",\"is\":\"two\"}", msg, 2, 0, NULL));
	CHECK("trailing junk", !cond("{\"kind\":\"room_member_count\",\"is\":\"2x\"}", msg, 2, 0,
	    NULL));

	/* sender_notification_permission, contains_display_name, unknown. */
	CHECK("room power default 50", cond("{\"kind\":\"sender_notification_permission\","
	    "\"key\":\"room\"}", msg, 2, 50, "{}"));
	CHECK("room power too low", !cond("{\"kind\":\"sender_notification_permission\","
	    "\"key\":\"room\"}", msg, 2, 49, "{}"));
	CHECK("room power set", cond("{\"kind\":\"sender_notification_permission\","
	    "\"key\":\"room\"}", msg, 2, 10, "{\"notifications\":{\"room\":10}}"));
	CHECK("room power string", !cond("{\"kind\":\"sender_notification_permission\","
	    "\"key\":\"room\"}", msg, 2, 10, "{\"notifications\":{\"room\":\"20\"}}"));
	CHECK("display name", cond("{\"kind\":\"contains_display_name\"}",
	    "{\"content\":{\"body\":\"ALICE LIDDELL: hi\"}}", 2, 0, NULL));
	CHECK("display name absent", !cond("{\"kind\":\"contains_display_name\"}",
	    "{\"content\":{\"body\":\"Alice: hi\"}}", 2, 0, NULL));
	CHECK("unknown kind", !cond("{\"kind\":\"org.example.nope\"}", msg, 2, 0, NULL));
}

/* The first matching rule of the defaults plus a userset, for alice. */
static const char *
rule_for(const char *ev, int64_t members, int64_t power, const char *userset, int *notify,
    int *highlight)
{
	static char	 id[128];
	json_t		*d = mpush_defaults(NULL), *e = parse(ev);
	json_t		*us = userset != NULL ? parse(userset) : NULL;
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

static void
defaults(void)
{
	json_t		*d = mpush_defaults("@alice:example.org"), *rs, *us;
	const json_t	*r;
	int		 n, h;

	CHECK("defaults parse", d != NULL);
	r = mpush_ruleset_find(d, "override", ".m.rule.invite_for_me");
	CHECK("invite_for_me names alice", r != NULL && strcmp(json_string_value(json_object_get(
	    json_array_get(json_object_get(r, "conditions"), 2), "pattern")),
	    "@alice:example.org") == 0);
	CHECK("master first", strcmp(json_string_value(json_object_get(json_array_get(
	    json_object_get(d, "override"), 0), "rule_id")), ".m.rule.master") == 0);
	CHECK("master disabled", json_is_false(json_object_get(json_array_get(
	    json_object_get(d, "override"), 0), "enabled")));
	CHECK("no legacy body rules", mpush_ruleset_find(d, "override", ".m.rule.roomnotif") ==
	    NULL && mpush_ruleset_find(d, "content", ".m.rule.contains_user_name") == NULL);
	us = parse("{\"override\":[{\"rule_id\":\"mine\",\"enabled\":true,"
	    "\"actions\":[],\"conditions\":[]}],\"defaults\":{\".m.rule.message\":"
	    "{\"enabled\":false}}}");
	rs = mpush_ruleset(d, us);
	json_decref(us);
	CHECK("user override after master", strcmp(json_string_value(json_object_get(
	    json_array_get(json_object_get(rs, "override"), 1), "rule_id")), "mine") == 0);
	CHECK("tweak applied", json_is_false(json_object_get(mpush_ruleset_find(rs, "underride",
	    ".m.rule.message"), "enabled")));
	json_decref(rs);
	json_decref(d);

	CHECK("message in a group", strcmp(rule_for("{\"type\":\"m.room.message\","
	    "\"sender\":\"@bob:x\",\"content\":{\"body\":\"hi\",\"msgtype\":\"m.text\"}}",
	    3, 0, NULL, &n, &h), ".m.rule.message") == 0 && n && !h);
	CHECK("one to one", strcmp(rule_for("{\"type\":\"m.room.message\","
	    "\"sender\":\"@bob:x\",\"content\":{\"body\":\"hi\"}}",
	    2, 0, NULL, &n, &h), ".m.rule.room_one_to_one") == 0 && n && !h);
	CHECK("notice", strcmp(rule_for("{\"type\":\"m.room.message\","
	    "\"sender\":\"@bob:x\",\"content\":{\"body\":\"hi\",\"msgtype\":\"m.notice\"}}",
	    3, 0, NULL, &n, &h), ".m.rule.suppress_notices") == 0 && !n && !h);
	CHECK("user mention", strcmp(rule_for("{\"type\":\"m.room.message\","
	    "\"sender\":\"@bob:x\",\"content\":{\"body\":\"hi\",\"m.mentions\":"
	    "{\"user_ids\":[\"@alice:example.org\"]}}}", 3, 0, NULL, &n, &h),
	    ".m.rule.is_user_mention") == 0 && n && h);
	CHECK("other's mention", strcmp(rule_for("{\"type\":\"m.room.message\","
	    "\"sender\":\"@bob:x\",\"content\":{\"body\":\"hi\",\"m.mentions\":"
	    "{\"user_ids\":[\"@carol:example.org\"]}}}", 3, 0, NULL, &n, &h),
	    ".m.rule.message") == 0 && n && !h);
	CHECK("room mention with power", strcmp(rule_for("{\"type\":\"m.room.message\","
	    "\"sender\":\"@bob:x\",\"content\":{\"body\":\"hi\",\"m.mentions\":{\"room\":true}}}",
	    3, 50, NULL, &n, &h), ".m.rule.is_room_mention") == 0 && n && h);
	CHECK("room mention without power", strcmp(rule_for("{\"type\":\"m.room.message\","
	    "\"sender\":\"@bob:x\",\"content\":{\"body\":\"hi\",\"m.mentions\":{\"room\":true}}}",
	    3, 0, NULL, &n, &h), ".m.rule.message") == 0 && n && !h);
	CHECK("invite for me", strcmp(rule_for("{\"type\":\"m.room.member\","
	    "\"sender\":\"@bob:x\",\"state_key\":\"@alice:example.org\",\"content\":"
	    "{\"membership\":\"invite\"}}", 3, 0, NULL, &n, &h), ".m.rule.invite_for_me") == 0 &&
	    n && !h);
	CHECK("member event", strcmp(rule_for("{\"type\":\"m.room.member\","
	    "\"sender\":\"@bob:x\",\"state_key\":\"@bob:x\",\"content\":"
	    "{\"membership\":\"join\"}}", 3, 0, NULL, &n, &h), ".m.rule.member_event") == 0 && !n);
	CHECK("edit", strcmp(rule_for("{\"type\":\"m.room.message\",\"sender\":\"@bob:x\","
	    "\"content\":{\"body\":\"* hi\",\"m.relates_to\":{\"rel_type\":\"m.replace\","
	    "\"event_id\":\"$e\"}}}", 2, 0, NULL, &n, &h), ".m.rule.suppress_edits") == 0 && !n);
	CHECK("reaction", strcmp(rule_for("{\"type\":\"m.reaction\",\"sender\":\"@bob:x\","
	    "\"content\":{}}", 2, 0, NULL, &n, &h), ".m.rule.reaction") == 0 && !n);
	CHECK("tombstone", strcmp(rule_for("{\"type\":\"m.room.tombstone\",\"sender\":\"@bob:x\","
	    "\"state_key\":\"\",\"content\":{}}", 5, 0, NULL, &n, &h), ".m.rule.tombstone") == 0 &&
	    n && h);
	CHECK("call", strcmp(rule_for("{\"type\":\"m.call.invite\",\"sender\":\"@bob:x\","
	    "\"content\":{}}", 5, 0, NULL, &n, &h), ".m.rule.call") == 0 && n);
	CHECK("encrypted 1:1", strcmp(rule_for("{\"type\":\"m.room.encrypted\","
	    "\"sender\":\"@bob:x\",\"content\":{}}", 2, 0, NULL, &n, &h),
	    ".m.rule.encrypted_room_one_to_one") == 0 && n);
	CHECK("encrypted group", strcmp(rule_for("{\"type\":\"m.room.encrypted\","
	    "\"sender\":\"@bob:x\",\"content\":{}}", 4, 0, NULL, &n, &h), ".m.rule.encrypted") == 0);
	CHECK("state event none", strcmp(rule_for("{\"type\":\"m.room.topic\","
	    "\"sender\":\"@bob:x\",\"state_key\":\"\",\"content\":{\"topic\":\"t\"}}", 4, 0, NULL,
	    &n, &h), "(none)") == 0 && !n);

	/* The user's rules come before the server's, master before all. */
	CHECK("room rule", strcmp(rule_for("{\"type\":\"m.room.message\",\"sender\":\"@bob:x\","
	    "\"room_id\":\"!r:x\",\"content\":{\"body\":\"hi\"}}", 3, 0,
	    "{\"room\":[{\"rule_id\":\"!r:x\",\"enabled\":true,\"actions\":[]}],\"defaults\":{}}",
	    &n, &h), "!r:x") == 0 && !n);
	CHECK("disabled room rule", strcmp(rule_for("{\"type\":\"m.room.message\","
	    "\"sender\":\"@bob:x\",\"room_id\":\"!r:x\",\"content\":{\"body\":\"hi\"}}", 3, 0,
	    "{\"room\":[{\"rule_id\":\"!r:x\",\"enabled\":false,\"actions\":[]}],\"defaults\":{}}",
	    &n, &h), ".m.rule.message") == 0 && n);
	CHECK("sender rule", strcmp(rule_for("{\"type\":\"m.room.message\",\"sender\":\"@bob:x\","
	    "\"content\":{\"body\":\"hi\"}}", 3, 0,
	    "{\"sender\":[{\"rule_id\":\"@bob:x\",\"enabled\":true,\"actions\":[\"notify\","
	    "{\"set_tweak\":\"highlight\"}]}],\"defaults\":{}}", &n, &h), "@bob:x") == 0 && h);
	CHECK("content rule", strcmp(rule_for("{\"type\":\"m.room.message\",\"sender\":\"@bob:x\","
	    "\"content\":{\"body\":\"I like cake\"}}", 3, 0,
	    "{\"content\":[{\"rule_id\":\"c\",\"enabled\":true,\"pattern\":\"cake\",\"actions\":"
	    "[\"notify\",{\"set_tweak\":\"highlight\",\"value\":true}]}],\"defaults\":{}}",
	    &n, &h), "c") == 0 && h);
	CHECK("master on", strcmp(rule_for("{\"type\":\"m.room.message\",\"sender\":\"@bob:x\","
	    "\"content\":{\"body\":\"hi\"}}", 3, 0, "{\"override\":[{\"rule_id\":\"o\","
	    "\"enabled\":true,\"actions\":[\"notify\"],\"conditions\":[]}],\"defaults\":"
	    "{\".m.rule.master\":{\"enabled\":true}}}", &n, &h), ".m.rule.master") == 0 && !n);
	CHECK("default actions changed", strcmp(rule_for("{\"type\":\"m.room.message\","
	    "\"sender\":\"@bob:x\",\"content\":{\"body\":\"hi\"}}", 3, 0, "{\"defaults\":"
	    "{\".m.rule.message\":{\"actions\":[\"notify\",{\"set_tweak\":\"highlight\"}]}}}",
	    &n, &h), ".m.rule.message") == 0 && n && h);
	CHECK("highlight false", strcmp(rule_for("{\"type\":\"m.room.message\","
	    "\"sender\":\"@bob:x\",\"content\":{\"body\":\"hi\"}}", 3, 0, "{\"defaults\":"
	    "{\".m.rule.message\":{\"actions\":[\"notify\",{\"set_tweak\":\"highlight\","
	    "\"value\":false}]}}}", &n, &h), ".m.rule.message") == 0 && n && !h);
	CHECK("user rule with display name", strcmp(rule_for("{\"type\":\"m.room.message\","
	    "\"sender\":\"@bob:x\",\"content\":{\"body\":\"hey alice!\"}}", 3, 0,
	    "{\"override\":[{\"rule_id\":\"dn\",\"enabled\":true,\"conditions\":[{\"kind\":"
	    "\"contains_display_name\"}],\"actions\":[\"notify\",{\"set_tweak\":\"highlight\"}]}],"
	    "\"defaults\":{}}", &n, &h), "dn") == 0 && h);
}

static void
actions(void)
{
	json_t *a = parse("[\"notify\",\"dont_notify\",\"coalesce\",{\"set_tweak\":\"sound\","
	    "\"value\":\"default\"}]"), *c = mpush_actions_clean(a), *bad;

	CHECK("clean", c != NULL && json_array_size(c) == 2);
	json_decref(c);
	json_decref(a);
	bad = parse("[\"ring\"]");
	CHECK("unknown action", mpush_actions_clean(bad) == NULL);
	json_decref(bad);
	bad = parse("{}");
	CHECK("not an array", mpush_actions_clean(bad) == NULL);
	json_decref(bad);
	CHECK("kinds", mpush_kind_parse("underride") == MPUSH_UNDERRIDE &&
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
