/* Event IDs: v1/v2 carried, v3 base64 and v4+ URL-safe reference hashes. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"

/*
 * A join in a v3+ room (no "event_id") and its IDs.  The spec gives no
 * event ID vector, so these were computed independently in Python 3:
 * the content hash as base64 of hashlib.sha256 over json.dumps(ev,
 * sort_keys=True, separators=(',', ':'), ensure_ascii=False) without
 * unsigned/signatures/hashes; then the reference hash over the same
 * encoding of the event redacted by hand (content {"membership":
 * "join"}, no "unsigned"; for v11 also no "origin"), in
 * base64.b64encode (v3) and base64.urlsafe_b64encode (v4 on) with the
 * "=" stripped.  origin_server_ts was picked so that the v3 ID has
 * both "+" and "/".
 */
#define JOIN_EVENT							\
	"{\"auth_events\": [\"$create\", \"$pl\", \"$jr\"], "		\
	"\"content\": {\"membership\": \"join\", "			\
	"\"displayname\": \"\xc3\x85lice\", "				\
	"\"avatar_url\": \"mxc://example.org/a\"}, "			\
	"\"depth\": 12, \"origin\": \"example.org\", "			\
	"\"origin_server_ts\": 1700000000009, "				\
	"\"prev_events\": [\"$prev\"], "				\
	"\"room_id\": \"!room:example.org\", "				\
	"\"sender\": \"@alice:example.org\", "				\
	"\"state_key\": \"@alice:example.org\", "			\
	"\"type\": \"m.room.member\", \"unsigned\": {\"age\": 5}}"
#define JOIN_HASH	"72T596drudfU7vIuiKk87zeIHOcSPVErfo6TLgWCfY0"
#define JOIN_ID_V3	"$NAzoWJhyNxc42c5uMjBd5lzdxBoAvp+/vNiCwP+6PpM"
#define JOIN_ID_V4	"$NAzoWJhyNxc42c5uMjBd5lzdxBoAvp-_vNiCwP-6PpM"
#define JOIN_ID_V11	"$SU4E5TSkfyiVY-AXKhVpLTq7DGYz3T9kKoPvWTEX5Sg"

/* mevent_id(ev, v<id>) compared with want (NULL: expect no ID). */
static void
expect_id(const json_t *ev, const char *id, const char *want,
    const char *what)
{
	char	*got;

	got = mevent_id(ev, version(id));
	if (want == NULL ? got != NULL :
	    got == NULL || strcmp(got, want) != 0)
		FAIL("v%s %s:\n want %s\n got  %s", id, what,
		    want == NULL ? "NULL" : want, got == NULL ? "NULL" : got);
	free(got);
}

/* The current ID of ev under v<id>, malloc'd; exits if there is none. */
static char *
id_of(const json_t *ev, const char *id)
{
	char	*s;

	if ((s = mevent_id(ev, version(id))) == NULL) {
		fprintf(stderr, "FAIL: no v%s ID\n", id);
		exit(1);
	}
	return s;
}

/* Fails (what) unless the ID of ev under v<id> differs from base. */
static void
expect_new_id(const json_t *ev, const char *id, const char *base,
    const char *what)
{
	char	*s = id_of(ev, id);

	if (strcmp(s, base) == 0)
		FAIL("v%s: %s", id, what);
	free(s);
}

static json_t *
join_event(void)
{
	json_t	*ev;
	char	 hash[44];

	ev = load(JOIN_EVENT);
	if (mevent_hash(ev) == -1 ||
	    mevent_content_hash(ev, hash, sizeof(hash)) == -1 ||
	    strcmp(mjson_str(json_object_get(ev, "hashes"), "sha256"),
	    JOIN_HASH) != 0)
		FAIL("join content hash");
	return ev;
}

/* The known answers, in every version's format. */
static void
known(void)
{
	static const char	*v4on[] = { "4", "5", "6", "7", "8", "9", "10" };
	json_t			*ev = join_event();
	size_t			 i;

	expect_id(ev, "3", JOIN_ID_V3, "known join");
	for (i = 0; i < sizeof(v4on) / sizeof(v4on[0]); i++)
		expect_id(ev, v4on[i], JOIN_ID_V4, "known join");
	/* v11 no longer protects "origin": another reference hash. */
	expect_id(ev, "11", JOIN_ID_V11, "known join");
	expect_id(ev, "12", JOIN_ID_V11, "known join");
	/* v1/v2: the event carries its ID; this one has none. */
	expect_id(ev, "1", NULL, "join without event_id");
	expect_id(ev, "2", NULL, "join without event_id");

	/* Key order of the input is irrelevant. */
	json_decref(ev);
	ev = load("{\"unsigned\": {\"age\": 5}, \"type\": \"m.room.member\", "
	    "\"state_key\": \"@alice:example.org\", "
	    "\"sender\": \"@alice:example.org\", "
	    "\"room_id\": \"!room:example.org\", "
	    "\"prev_events\": [\"$prev\"], "
	    "\"origin_server_ts\": 1700000000009, "
	    "\"origin\": \"example.org\", \"depth\": 12, "
	    "\"content\": {\"avatar_url\": \"mxc://example.org/a\", "
	    "\"displayname\": \"\xc3\x85lice\", \"membership\": \"join\"}, "
	    "\"auth_events\": [\"$create\", \"$pl\", \"$jr\"], "
	    "\"hashes\": {\"sha256\": \"" JOIN_HASH "\"}}");
	expect_id(ev, "4", JOIN_ID_V4, "reordered join");
	json_decref(ev);
}

/* v1 and v2 keep the sender's event_id whatever the content. */
static void
v1_ids(void)
{
	json_t	*ev;
	char	*s;

	ev = load("{\"event_id\": \"$abc:example.org\", \"type\": \"X\", "
	    "\"content\": {}, \"room_id\": \"!r:example.org\"}");
	expect_id(ev, "1", "$abc:example.org", "v1 event_id");
	expect_id(ev, "2", "$abc:example.org", "v2 event_id");
	json_object_set_new(ev, "content", json_pack("{s:s}", "a", "b"));
	expect_id(ev, "1", "$abc:example.org", "v1 after content change");
	/* From v3 the same event gets a hash; "event_id" is not the ID. */
	s = id_of(ev, "3");
	if (strcmp(s, "$abc:example.org") == 0 || strlen(s) != 44)
		FAIL("v3 used event_id: %s", s);
	free(s);
	json_object_set_new(ev, "event_id", json_integer(1));
	expect_id(ev, "1", NULL, "v1 integer event_id");
	json_object_del(ev, "event_id");
	expect_id(ev, "2", NULL, "v2 no event_id");
	json_decref(ev);
}

/* The formats: "$" and 43 characters of one alphabet. */
static void
formats(void)
{
	json_t	*ev = join_event();
	char	*v3 = id_of(ev, "3"), *v4 = id_of(ev, "4");

	if (v3[0] != '$' || strlen(v3) != 44 || strpbrk(v3, "-_=") != NULL)
		FAIL("v3 format: %s", v3);
	if (v4[0] != '$' || strlen(v4) != 44 || strpbrk(v4, "+/=") != NULL)
		FAIL("v4 format: %s", v4);
	free(v3);
	free(v4);
	json_decref(ev);
}

/* What the ID covers and what it does not. */
static void
stability(void)
{
	static const char	*ids[] = { "3", "4", "10", "11", "12" };
	json_t			*ev, *red;
	char			*base;
	size_t			 i;

	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		ev = join_event();
		base = id_of(ev, ids[i]);

		/* unsigned and signatures are not covered. */
		json_object_set_new(ev, "unsigned", json_pack("{s:i, s:s}",
		    "age", 99999, "transaction_id", "t"));
		json_object_set_new(ev, "signatures", json_pack("{s:{s:s}}",
		    "example.org", "ed25519:a", "c2ln"));
		json_object_set_new(ev, "age_ts", json_integer(42));
		expect_id(ev, ids[i], base, "after unsigned/signatures");

		/* The redacted event has the same ID. */
		red = mevent_redact(ev, version(ids[i]));
		expect_id(red, ids[i], base, "redacted");
		json_decref(red);

		/* Content that redaction drops is covered through the hash. */
		json_object_set_new(json_object_get(ev, "content"),
		    "displayname", json_string("Mallory"));
		expect_id(ev, ids[i], base, "displayname, old hash");
		if (mevent_hash(ev) == -1)
			FAIL("rehash");
		expect_new_id(ev, ids[i], base,
		    "ID did not change with the content");

		/* Content that redaction keeps is covered directly. */
		json_decref(ev);
		ev = join_event();
		json_object_set_new(json_object_get(ev, "content"),
		    "membership", json_string("leave"));
		expect_new_id(ev, ids[i], base, "ID ignores membership");

		/* So are protected top-level keys. */
		json_decref(ev);
		ev = join_event();
		json_object_set_new(ev, "depth", json_integer(13));
		expect_new_id(ev, ids[i], base, "ID ignores depth");
		json_decref(ev);
		free(base);
	}
}

/* A message's body is covered only by the content hash. */
static void
message(void)
{
	json_t	*ev;
	char	*a, *b, *c;

	ev = load("{\"type\": \"m.room.message\", \"room_id\": \"!r:x\", "
	    "\"sender\": \"@s:x\", \"origin_server_ts\": 1, \"depth\": 2, "
	    "\"prev_events\": [], \"auth_events\": [], "
	    "\"content\": {\"body\": \"one\", \"msgtype\": \"m.text\"}}");
	if (mevent_hash(ev) == -1)
		FAIL("hash message");
	a = id_of(ev, "10");
	json_object_set_new(json_object_get(ev, "content"), "body",
	    json_string("two"));
	b = id_of(ev, "10");
	if (mevent_hash(ev) == -1)
		FAIL("rehash message");
	c = id_of(ev, "10");
	if (strcmp(a, b) != 0)
		FAIL("body changed the ID without a new hash");
	if (strcmp(a, c) == 0)
		FAIL("new hash did not change the ID");
	free(a);
	free(b);
	free(c);
	json_decref(ev);
}

static void
bad_input(void)
{
	json_t	*ev;
	char	*s;

	/* A float where redaction keeps it has no canonical form. */
	ev = load("{\"type\": \"X\", \"content\": {}, \"depth\": 0.5}");
	if ((s = mevent_id(ev, version("4"))) != NULL)
		FAIL("ID of an event with a float depth: %s", s);
	free(s);
	json_decref(ev);
	/* Where redaction drops it, the event still has an ID. */
	ev = load("{\"type\": \"X\", \"content\": {\"f\": 0.5}, "
	    "\"extra\": 0.5}");
	if ((s = mevent_id(ev, version("4"))) == NULL)
		FAIL("float outside the redacted event prevented an ID");
	free(s);
	json_decref(ev);
	ev = load("[]");
	if (mevent_id(ev, version("4")) != NULL ||
	    mevent_id(ev, version("1")) != NULL)
		FAIL("ID of an array");
	json_decref(ev);
	ev = load("{}");
	if (mevent_id(ev, NULL) != NULL)
		FAIL("ID without a version");
	json_decref(ev);
	if (mevent_id(NULL, version("4")) != NULL)
		FAIL("ID of NULL");
}

/*
 * The room versions table (checked here as the ID format is its first
 * use).  One string per flag, a digit per version 1..12.  Spec: "Room
 * Versions" and each rooms/v<N> page; the feature matrix there gives
 * knock (7 on), restricted (8 on) and knock_restricted (10 on).
 */
static void
versions(void)
{
	static const struct {
		const char	*name;
		size_t		 off;
		const char	*want;
	} flags[] = {
	{ "stable", offsetof(struct mroomver, stable),		"111111111111" },
	{ "state_res_v2", offsetof(struct mroomver, state_res_v2),
								"011111111111" },
	{ "special_aliases_auth",
	  offsetof(struct mroomver, special_aliases_auth),	"111110000000" },
	{ "strict_canonicaljson",
	  offsetof(struct mroomver, strict_canonicaljson),	"000001111111" },
	{ "limit_notifications_pl",
	  offsetof(struct mroomver, limit_notifications_pl),	"000001111111" },
	{ "knock", offsetof(struct mroomver, knock),		"000000111111" },
	{ "restricted", offsetof(struct mroomver, restricted),	"000000011111" },
	{ "restricted_fix", offsetof(struct mroomver, restricted_fix),
								"000000001111" },
	{ "knock_restricted", offsetof(struct mroomver, knock_restricted),
								"000000000111" },
	{ "int_power_levels", offsetof(struct mroomver, int_power_levels),
								"000000000111" },
	{ "implicit_creator", offsetof(struct mroomver, implicit_creator),
								"000000000011" },
	{ "create_room_id", offsetof(struct mroomver, create_room_id),
								"000000000001" },
	};
	static const char	 evid[] = "113444444444";	/* MEVID_V<n> */
	static const char	 redaction[] = "000000000011"; /* 1: MREDACT_V11 */
	const struct mroomver	*all, *rv;
	char			 id[24];
	size_t			 n, i, j;
	int			 v;

	all = mroomver_all(&n);
	if (n != 12) {
		FAIL("%zu room versions", n);
		return;
	}
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "%zu", i + 1);
		if (strcmp(all[i].id, id) != 0 || mroomver_get(id) != &all[i])
			FAIL("version %zu is \"%s\"", i + 1, all[i].id);
		for (j = 0; j < sizeof(flags) / sizeof(flags[0]); j++) {
			memcpy(&v, (const char *)&all[i] + flags[j].off,
			    sizeof(v));
			if (v != flags[j].want[i] - '0')
				FAIL("v%s: %s is %d", id, flags[j].name, v);
		}
		if ((all[i].evid == MEVID_V1 ? '1' : all[i].evid == MEVID_V3 ?
		    '3' : '4') != evid[i])
			FAIL("v%s: event ID format", id);
		if ((all[i].redaction == MREDACT_V11) != redaction[i] - '0')
			FAIL("v%s: redaction rules", id);
	}
	/* Spec: "Servers SHOULD use room version 12 as the default". */
	if ((rv = mroomver_default()) == NULL || strcmp(rv->id, "12") != 0)
		FAIL("default version %s", rv == NULL ? "NULL" : rv->id);
	if (mroomver_get("13") != NULL || mroomver_get("") != NULL ||
	    mroomver_get("1 ") != NULL || mroomver_get("01") != NULL ||
	    mroomver_get("org.example.v1") != NULL || mroomver_get(NULL) != NULL)
		FAIL("unknown version found");
}

int
main(void)
{
	versions();
	known();
	v1_ids();
	formats();
	stability();
	message();
	bad_input();
	return failed;
}
