/* The redaction algorithm of each room version, key by key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"

/*
 * Every top-level key the spec protects in some version, and some it
 * never does ("unsigned", "age_ts", a top-level "redacts", made-up and
 * historical keys).
 */
#define FULL_TOP							\
	"\"event_id\": \"$e:x\", \"room_id\": \"!r:x\", "		\
	"\"sender\": \"@s:x\", \"state_key\": \"\", "			\
	"\"hashes\": {\"sha256\": \"abc\"}, "				\
	"\"signatures\": {\"x\": {\"ed25519:1\": \"sig\"}}, "		\
	"\"depth\": 5, \"prev_events\": [\"$p\"], \"prev_state\": [], "	\
	"\"auth_events\": [\"$a\"], \"origin\": \"x\", "		\
	"\"origin_server_ts\": 1, \"membership\": \"join\", "		\
	"\"unsigned\": {\"age\": 1}, \"age_ts\": 1, \"redacts\": \"$t\", " \
	"\"extra\": {\"k\": 1}, \"user_id\": \"@s:x\", "		\
	"\"replaces_state\": \"$q\""

/* Spec: v1-redactions, the top-level list. */
#define KEPT_TOP_V1							\
	"\"event_id\": \"$e:x\", \"room_id\": \"!r:x\", "		\
	"\"sender\": \"@s:x\", \"state_key\": \"\", "			\
	"\"hashes\": {\"sha256\": \"abc\"}, "				\
	"\"signatures\": {\"x\": {\"ed25519:1\": \"sig\"}}, "		\
	"\"depth\": 5, \"prev_events\": [\"$p\"], \"prev_state\": [], "	\
	"\"auth_events\": [\"$a\"], \"origin\": \"x\", "		\
	"\"origin_server_ts\": 1, \"membership\": \"join\""

/* Spec: v11-redactions: no origin, membership or prev_state. */
#define KEPT_TOP_V11							\
	"\"event_id\": \"$e:x\", \"room_id\": \"!r:x\", "		\
	"\"sender\": \"@s:x\", \"state_key\": \"\", "			\
	"\"hashes\": {\"sha256\": \"abc\"}, "				\
	"\"signatures\": {\"x\": {\"ed25519:1\": \"sig\"}}, "		\
	"\"depth\": 5, \"prev_events\": [\"$p\"], "			\
	"\"auth_events\": [\"$a\"], \"origin_server_ts\": 1"

/* Which versions give which content. */
struct want {
	const char	*versions;	/* space-separated IDs */
	const char	*content;
};

struct redcase {
	const char	*type;
	const char	*content;
	struct want	 want[5];
};

#define PL_CONTENT							\
	"{\"ban\": 50, \"events\": {\"m.room.name\": 100}, "		\
	"\"events_default\": 0, \"invite\": 0, \"kick\": 50, "		\
	"\"redact\": 50, \"state_default\": 50, "			\
	"\"users\": {\"@s:x\": 100}, \"users_default\": 0, "		\
	"\"notifications\": {\"room\": 50}, \"historical\": 100}"
#define PL_KEPT_V1							\
	"{\"ban\": 50, \"events\": {\"m.room.name\": 100}, "		\
	"\"events_default\": 0, \"kick\": 50, "				\
	"\"redact\": 50, \"state_default\": 50, "			\
	"\"users\": {\"@s:x\": 100}, \"users_default\": 0}"
#define PL_KEPT_V11							\
	"{\"ban\": 50, \"events\": {\"m.room.name\": 100}, "		\
	"\"events_default\": 0, \"invite\": 0, \"kick\": 50, "		\
	"\"redact\": 50, \"state_default\": 50, "			\
	"\"users\": {\"@s:x\": 100}, \"users_default\": 0}"

#define TPI_SIGNED							\
	"{\"mxid\": \"@s:x\", \"token\": \"t\", "			\
	"\"signatures\": {\"id.example\": {\"ed25519:0\": \"s\"}}}"

#define ALL	"1 2 3 4 5 6 7 8 9 10 11 12"
#define V1_10	"1 2 3 4 5 6 7 8 9 10"

static const struct redcase cases[] = {
	/* Spec: "m.room.member allows key membership"; v9 and v11 add. */
	{ "m.room.member",
	  "{\"membership\": \"join\", \"displayname\": \"S\", "
	  "\"avatar_url\": \"mxc://x/a\", \"reason\": \"r\", "
	  "\"join_authorised_via_users_server\": \"@admin:x\", "
	  "\"third_party_invite\": {\"display_name\": \"s@x\", "
	  "\"signed\": " TPI_SIGNED "}, \"is_direct\": true}",
	  { { "1 2 3 4 5 6 7 8", "{\"membership\": \"join\"}" },
	    { "9 10", "{\"membership\": \"join\", "
	      "\"join_authorised_via_users_server\": \"@admin:x\"}" },
	    { "11 12", "{\"membership\": \"join\", "
	      "\"join_authorised_via_users_server\": \"@admin:x\", "
	      "\"third_party_invite\": {\"signed\": " TPI_SIGNED "}}" } } },
	/* Spec: create "allows key creator"; v11 "allows all keys". */
	{ "m.room.create",
	  "{\"creator\": \"@s:x\", \"room_version\": \"9\", "
	  "\"m.federate\": false, \"type\": \"m.space\", "
	  "\"predecessor\": {\"room_id\": \"!old:x\"}, "
	  "\"additional_creators\": [\"@t:x\"]}",
	  { { V1_10, "{\"creator\": \"@s:x\"}" },
	    { "11 12", "{\"creator\": \"@s:x\", \"room_version\": \"9\", "
	      "\"m.federate\": false, \"type\": \"m.space\", "
	      "\"predecessor\": {\"room_id\": \"!old:x\"}, "
	      "\"additional_creators\": [\"@t:x\"]}" } } },
	/* Spec: join_rules "join_rule"; v8 adds "allow". */
	{ "m.room.join_rules",
	  "{\"join_rule\": \"restricted\", \"allow\": [{\"type\": "
	  "\"m.room_membership\", \"room_id\": \"!s:x\"}], \"x\": 1}",
	  { { "1 2 3 4 5 6 7", "{\"join_rule\": \"restricted\"}" },
	    { "8 9 10 11 12", "{\"join_rule\": \"restricted\", "
	      "\"allow\": [{\"type\": \"m.room_membership\", "
	      "\"room_id\": \"!s:x\"}]}" } } },
	/* Spec: power_levels: eight keys; v11 adds "invite". */
	{ "m.room.power_levels", PL_CONTENT,
	  { { V1_10, PL_KEPT_V1 },
	    { "11 12", PL_KEPT_V11 } } },
	/* Spec: v6 removed the aliases special case. */
	{ "m.room.aliases",
	  "{\"aliases\": [\"#a:x\"], \"x\": 1}",
	  { { "1 2 3 4 5", "{\"aliases\": [\"#a:x\"]}" },
	    { "6 7 8 9 10 11 12", "{}" } } },
	{ "m.room.history_visibility",
	  "{\"history_visibility\": \"shared\", \"x\": 1}",
	  { { ALL, "{\"history_visibility\": \"shared\"}" } } },
	/* Spec: v11: "m.room.redaction allows key redacts". */
	{ "m.room.redaction",
	  "{\"redacts\": \"$t\", \"reason\": \"spam\"}",
	  { { V1_10, "{}" },
	    { "11 12", "{\"redacts\": \"$t\"}" } } },
	/* Everything else loses its content. */
	{ "m.room.message",
	  "{\"body\": \"hello\", \"msgtype\": \"m.text\"}",
	  { { ALL, "{}" } } },
	{ "m.room.encryption",
	  "{\"algorithm\": \"m.megolm.v1.aes-sha2\"}",
	  { { ALL, "{}" } } },
	{ "m.room.third_party_invite",
	  "{\"display_name\": \"s\", \"public_key\": \"k\"}",
	  { { ALL, "{}" } } },
	/* Type matching is exact. */
	{ "m.room.member.x",
	  "{\"membership\": \"join\"}",
	  { { ALL, "{}" } } },
	{ "M.ROOM.CREATE",
	  "{\"creator\": \"@s:x\"}",
	  { { ALL, "{}" } } },
};

/* Whether id is one of the space-separated IDs in list. */
static int
listed(const char *list, const char *id)
{
	size_t	 n = strlen(id);
	const char *p = list;

	while (*p != '\0') {
		if (strncmp(p, id, n) == 0 && (p[n] == ' ' || p[n] == '\0'))
			return 1;
		p += strcspn(p, " ");
		p += strspn(p, " ");
	}
	return 0;
}

/* Compares what rv makes of ev with want, printing both on a mismatch. */
static void
expect(const json_t *ev, const struct mroomver *rv, const json_t *want,
    const char *what)
{
	json_t	*got, *again;

	if ((got = mevent_redact(ev, rv)) == NULL) {
		FAIL("v%s %s: NULL", rv->id, what);
		return;
	}
	same_json(got, want, "v%s %s", rv->id, what);
	/* Redacting a redacted event changes nothing. */
	if ((again = mevent_redact(got, rv)) == NULL ||
	    !json_equal(again, got))
		FAIL("v%s %s: redaction not idempotent", rv->id, what);
	json_decref(again);
	json_decref(got);
}

/* Every case in every version. */
static void
per_version(void)
{
	const struct mroomver	*all;
	const struct redcase	*c;
	json_t			*ev, *before, *want;
	char			 buf[2048];
	size_t			 n, i, j, k, hits;

	all = mroomver_all(&n);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = &cases[i];
		snprintf(buf, sizeof(buf), "{" FULL_TOP ", \"type\": \"%s\", "
		    "\"content\": %s}", c->type, c->content);
		ev = load(buf);
		before = json_deep_copy(ev);
		for (j = 0; j < n; j++) {
			hits = 0;
			for (k = 0; k < 5 && c->want[k].versions != NULL; k++) {
				if (!listed(c->want[k].versions, all[j].id))
					continue;
				hits++;
				snprintf(buf, sizeof(buf), "{%s, \"type\": "
				    "\"%s\", \"content\": %s}",
				    all[j].redaction == MREDACT_V11 ?
				    KEPT_TOP_V11 : KEPT_TOP_V1,
				    c->type, c->want[k].content);
				want = load(buf);
				expect(ev, &all[j], want, c->type);
				json_decref(want);
			}
			if (hits != 1)
				FAIL("test table: v%s listed %zu times for %s",
				    all[j].id, hits, c->type);
		}
		if (!json_equal(ev, before))
			FAIL("%s: redaction changed the original", c->type);
		json_decref(before);
		json_decref(ev);
	}
}

/*
 * Events written out by hand: what each listed version makes of them.
 * Keys absent before stay absent; content is always there.
 */
static const struct {
	const char	*ev;
	const char	*versions;	/* space-separated IDs */
	const char	*want;
	const char	*what;
} hand[] = {
	/* A message event: no state_key, prev_state, membership. */
	{ "{\"type\": \"m.room.message\", \"room_id\": \"!r:x\", "
	  "\"sender\": \"@s:x\", \"content\": {\"body\": \"b\"}, "
	  "\"origin_server_ts\": 5, \"unsigned\": {\"age\": 1}}", "1 11",
	  "{\"type\": \"m.room.message\", \"room_id\": \"!r:x\", "
	  "\"sender\": \"@s:x\", \"content\": {}, \"origin_server_ts\": 5}",
	  "sparse message" },
	/* No content, content not an object, type not a string. */
	{ "{\"type\": \"m.room.create\", \"sender\": \"@s:x\"}", "1 11",
	  "{\"type\": \"m.room.create\", \"sender\": \"@s:x\", "
	  "\"content\": {}}", "no content" },
	{ "{\"type\": \"m.room.create\", \"content\": [1]}", "11",
	  "{\"type\": \"m.room.create\", \"content\": {}}", "array content" },
	{ "{\"type\": 7, \"content\": {\"membership\": \"join\"}}", "9",
	  "{\"type\": 7, \"content\": {}}", "integer type" },
	/* Kept keys are kept whatever their JSON type. */
	{ "{\"type\": \"m.room.member\", \"depth\": \"deep\", "
	  "\"content\": {\"membership\": 5}}", "1",
	  "{\"type\": \"m.room.member\", \"depth\": \"deep\", "
	  "\"content\": {\"membership\": 5}}", "odd types" },
	/* v11 keeps third_party_invite.signed only; tpi without signed. */
	{ "{\"type\": \"m.room.member\", \"content\": "
	  "{\"membership\": \"invite\", \"third_party_invite\": "
	  "{\"display_name\": \"d\"}}}", "11",
	  "{\"type\": \"m.room.member\", \"content\": "
	  "{\"membership\": \"invite\", \"third_party_invite\": {}}}",
	  "tpi without signed" },
	{ "{\"type\": \"m.room.member\", \"content\": "
	  "{\"membership\": \"invite\", \"third_party_invite\": "
	  "{\"display_name\": \"d\"}}}", "10",
	  "{\"type\": \"m.room.member\", \"content\": "
	  "{\"membership\": \"invite\"}}", "tpi before v11" },
	{ "{\"type\": \"m.room.member\", \"content\": "
	  "{\"membership\": \"invite\", \"third_party_invite\": \"x\"}}",
	  "12", "{\"type\": \"m.room.member\", \"content\": "
	  "{\"membership\": \"invite\"}}", "tpi not an object" },
	/* Only create keeps everything: not member's other keys. */
	{ "{\"type\": \"m.room.member\", \"content\": "
	  "{\"membership\": \"join\", \"displayname\": \"d\"}}", "11",
	  "{\"type\": \"m.room.member\", \"content\": "
	  "{\"membership\": \"join\"}}", "member displayname" },
};

/* Every case of hand[] in each version it lists. */
static void
by_hand(void)
{
	const struct mroomver	*all;
	json_t			*ev, *want;
	size_t			 n, i, j;

	all = mroomver_all(&n);
	for (i = 0; i < sizeof(hand) / sizeof(hand[0]); i++) {
		ev = load(hand[i].ev);
		want = load(hand[i].want);
		for (j = 0; j < n; j++)
			if (listed(hand[i].versions, all[j].id))
				expect(ev, &all[j], want, hand[i].what);
		json_decref(want);
		json_decref(ev);
	}
}

/* The result shares nothing with the original. */
static void
independent(void)
{
	json_t	*ev, *red;

	ev = load("{\"type\": \"m.room.power_levels\", \"content\": "
	    PL_CONTENT ", \"signatures\": {\"x\": {\"k\": \"s\"}}}");
	if ((red = mevent_redact(ev, version("10"))) == NULL) {
		FAIL("redact power levels");
		json_decref(ev);
		return;
	}
	json_object_set_new(json_object_get(json_object_get(red, "content"),
	    "users"), "@evil:x", json_integer(100));
	json_object_set_new(json_object_get(red, "signatures"), "y",
	    json_object());
	if (json_object_get(json_object_get(json_object_get(ev, "content"),
	    "users"), "@evil:x") != NULL ||
	    json_object_get(json_object_get(ev, "signatures"), "y") != NULL)
		FAIL("redacted event shares values with the original");
	json_decref(red);
	json_decref(ev);

	ev = load("{\"type\": \"m.room.create\", \"content\": "
	    "{\"predecessor\": {\"room_id\": \"!o:x\"}}}");
	red = mevent_redact(ev, version("11"));
	json_object_set_new(json_object_get(json_object_get(red, "content"),
	    "predecessor"), "room_id", json_string("!evil:x"));
	if (strcmp(mjson_str(json_object_get(json_object_get(ev, "content"),
	    "predecessor"), "room_id"), "!o:x") != 0)
		FAIL("v11 create content shared with the original");
	json_decref(red);
	json_decref(ev);
}

static void
bad_input(void)
{
	json_t	*ev;

	ev = load("[1, 2]");
	if (mevent_redact(ev, version("1")) != NULL)
		FAIL("redacted an array");
	json_decref(ev);
	ev = load("{}");
	if (mevent_redact(ev, NULL) != NULL)
		FAIL("redacted without a version");
	json_decref(ev);
	if (mevent_redact(NULL, version("1")) != NULL)
		FAIL("redacted NULL");
}

int
main(void)
{
	per_version();
	by_hand();
	independent();
	bad_input();
	return failed;
}
