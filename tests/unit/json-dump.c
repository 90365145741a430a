/*
 * mjson_dump writes what json_dumps(JSON_COMPACT) writes, and raw nodes
 * as their text; no parsed JSON passes for a raw node; the member
 * scanner reads stored objects; and an event written from its stored
 * text (mroom_client_event_text) is the event mroom_client_event makes.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"
#include "room/room.h"
#include "store/store.h"
#include "testlib.h"

/* mjson_dump of the parsed text equals json_dumps of it. */
static void
same_as_jansson(const char *text)
{
	json_t	*v = json_loads(text, JSON_DECODE_ANY, NULL);
	char	*a, *b;

	if (v == NULL) {
		FAIL("does not parse: %s", text);
		return;
	}
	a = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	b = mjson_dump(v, NULL);
	if (a == NULL || b == NULL || strcmp(a, b) != 0)
		FAIL("dump of %s: jansson %s, mjson_dump %s", text, a ? a : "NULL",
		    b ? b : "NULL");
	free(a);
	free(b);
	json_decref(v);
}

/* The members the scanner finds in text, "key=value;" each, or "ERR". */
static char *
scanned(const char *text)
{
	struct mjson_scan	 sc;
	struct mjson_buf	 b = { NULL, 0, 0, 0 };
	const char		*k, *v;
	size_t			 kl, vl;
	int			 r;

	if (mjson_scan_init(&sc, text, strlen(text)) == -1)
		return strdup("ERR");
	while ((r = mjson_scan_next(&sc, &k, &kl, &v, &vl)) == 1) {
		mjson_buf_add(&b, k, kl);
		mjson_buf_add(&b, "=", 1);
		mjson_buf_add(&b, v, vl);
		mjson_buf_add(&b, ";", 1);
	}
	if (r == -1) {
		free(b.b);
		return strdup("ERR");
	}
	return b.b != NULL ? b.b : strdup("");
}

static void
scan_is(const char *text, const char *want)
{
	char *got = scanned(text);

	if (got == NULL || strcmp(got, want) != 0)
		FAIL("scan of %s: got %s, want %s", text, got ? got : "NULL", want);
	free(got);
}

/* The event of row both ways, compared as JSON values. */
static void
event_both_ways(const char *what, struct mevrow *row, const char *viewer_dev)
{
	json_t			*text, *viaparse, *back, *arr;
	char			*dumped;
	int64_t			 now = 5000;
	struct mjson_buf	 b = { NULL, 0, 0, 0 };

	text = mroom_client_event_text(row, now, "@a:x", viewer_dev);
	/* Appended to an array being written, it is the same event. */
	mjson_buf_add(&b, "[1,", 3);
	if (mroom_client_event_add(&b, row, now, "@a:x", viewer_dev) == -1)
		FAIL("%s: mroom_client_event_add failed", what);
	mjson_buf_add(&b, "]", 1);
	arr = b.b != NULL && !b.err ? json_loadb(b.b, b.len, 0, NULL) : NULL;
	free(b.b);
	if (mevrow_parse(row) == -1) {
		FAIL("%s: row does not parse", what);
		json_decref(text);
		json_decref(arr);
		return;
	}
	viaparse = mroom_client_event(row, now, "@a:x", viewer_dev);
	dumped = mjson_dump(text, NULL);
	back = dumped != NULL ? json_loads(dumped, 0, NULL) : NULL;
	if (back == NULL || viaparse == NULL || !json_equal(back, viaparse)) {
		char *w = viaparse != NULL ? json_dumps(viaparse, JSON_COMPACT) : NULL;

		FAIL("%s: text %s, parsed %s", what, dumped ? dumped : "NULL", w ? w : "NULL");
		free(w);
	}
	if (json_array_size(arr) != 2 || json_integer_value(json_array_get(arr, 0)) != 1 ||
	    viaparse == NULL || !json_equal(json_array_get(arr, 1), viaparse))
		FAIL("%s: the appended event differs", what);
	free(dumped);
	json_decref(arr);
	json_decref(back);
	json_decref(text);
	json_decref(viaparse);
}

/* A lazy-read row: the texts and columns only, json NULL. */
static void
row_init(struct mevrow *r, const char *js, const char *type, const char *sk)
{
	memset(r, 0, sizeof(*r));
	r->event_id = strdup("$ev:x");
	r->room_id = strdup("!r:x");
	r->type = strdup(type);
	r->state_key = sk != NULL ? strdup(sk) : NULL;
	r->sender = strdup("@a:x");
	r->origin_server_ts = 1000;
	r->js = strdup(js);
}

int
main(void)
{
	json_t		*raw, *doc;
	struct mevrow	 row;
	char		*s;

	same_as_jansson("{}");
	same_as_jansson("[]");
	same_as_jansson("{\"b\":1,\"a\":[true,false,null,\"x\"],\"c\":{}}");
	same_as_jansson("{\"s\":\"q\\\" b\\\\ n\\n t\\t c\\u0001 u\\u00e9 \\ud83d\\ude00 /\"}");
	same_as_jansson("{\"big\":9223372036854775807,\"neg\":-9223372036854775808}");
	same_as_jansson("[1.5,0.1,1e20,-2.5e-7,100.0,3.0]");
	same_as_jansson("\"top\"");

	/* A raw node is written as its text, wherever it sits. */
	raw = mjson_raw("{\"x\":[1,2]}", 11);
	doc = json_pack("{s:[o,i],s:s}", "a", raw, 2, "b", "c");
	s = mjson_dump(doc, NULL);
	if (s == NULL || strcmp(s, "{\"a\":[{\"x\":[1,2]},2],\"b\":\"c\"}") != 0)
		FAIL("raw node written as %s", s ? s : "NULL");
	free(s);
	CHECK(mjson_raw_text(json_array_get(json_object_get(doc, "a"), 0), NULL) != NULL);
	json_decref(doc);

	/* No parsed JSON is a raw node: the key jansson would need is refused. */
	CHECK(json_loads("{\"\\u0000raw\":\"]\"}", 0, NULL) == NULL);
	CHECK(mjson_parse("{\"\\u0000raw\":\"]\"}", 17, 10) == NULL);
	doc = json_loads("{\"raw\":\"]\"}", 0, NULL);
	CHECK(doc != NULL && mjson_raw_text(doc, NULL) == NULL);
	s = mjson_dump(doc, NULL);
	CHECK(s != NULL && strcmp(s, "{\"raw\":\"]\"}") == 0);
	free(s);
	json_decref(doc);

	/* Integers in decimal as printf writes them, the extremes too. */
	{
		static const long long ints[] = { 0, 7, -7, 10, -10, 1796652655166LL,
			(1LL << 53) - 1, -(1LL << 53) + 1, LLONG_MAX, LLONG_MIN };

		for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
			char	got[MJSON_INT_MAX], want[32];
			size_t	n = mjson_fmt_int(got, ints[i]);

			snprintf(want, sizeof(want), "%lld", ints[i]);
			if (strcmp(got, want) != 0 || n != strlen(want))
				FAIL("mjson_fmt_int(%s): got %s (%zu)", want, got, n);
		}
	}
	/* The scanner: values as written, nesting and strings skipped. */
	scan_is("{}", "");
	scan_is(" { } ", "");
	scan_is("{\"a\":\"x\\\"}\",\"b\":{\"c\":[1,{\"d\":\"]\"}]},\"e\":-1.5e3,\"f\":true}",
	    "a=\"x\\\"}\";b={\"c\":[1,{\"d\":\"]\"}]};e=-1.5e3;f=true;");
	scan_is("{ \"a\" : 1 , \"b\" : [ ] }", "a=1;b=[ ];");
	/* Backslash runs before a quote: odd escapes it, even does not. */
	scan_is("{\"a\":\"\\\\\",\"b\":\"x\\\\\\\"y\\\\\\\\\"}",
	    "a=\"\\\\\";b=\"x\\\\\\\"y\\\\\\\\\";");
	scan_is("{\"a\\\"b\":1,\"c\":\"\\\"\\\"\"}", "a\\\"b=1;c=\"\\\"\\\"\";");
	scan_is("{\"a\":\"\\\"}", "ERR");
	scan_is("{\"a\":}", "ERR");
	scan_is("{\"a\"", "ERR");
	scan_is("{\"a\":1 \"b\":2}", "ERR");
	scan_is("{\"a\":\"unterminated}", "ERR");
	scan_is("[1]", "ERR");
	scan_is("{\"a\":[1}", "ERR");

	/* A message, federation fields and all, both ways. */
	row_init(&row, "{\"auth_events\":[\"$a\"],\"content\":{\"body\":\"hi \\\"x\\\"\","
	    "\"msgtype\":\"m.text\"},\"depth\":4,\"hashes\":{\"sha256\":\"h\"},"
	    "\"origin\":\"x\",\"origin_server_ts\":1000,\"prev_events\":[\"$p\"],"
	    "\"room_id\":\"!r:x\",\"sender\":\"@a:x\",\"signatures\":{\"x\":{}},"
	    "\"type\":\"m.room.message\",\"unsigned\":{\"age_ts\":1}}", "m.room.message", NULL);
	row.txn_user = strdup("@a:x");
	row.txn_device = strdup("DEV");
	row.txn_id = strdup("t1");
	event_both_ways("message, sender's device", &row, "DEV");
	mevrow_fini(&row);
	row_init(&row, "{\"content\":{},\"origin_server_ts\":1000,\"room_id\":\"!r:x\","
	    "\"sender\":\"@a:x\",\"type\":\"m.room.message\"}", "m.room.message", NULL);
	row.txn_user = strdup("@a:x");
	row.txn_device = strdup("DEV");
	row.txn_id = strdup("t1");
	event_both_ways("message, another device", &row, "OTHER");
	mevrow_fini(&row);

	/* Replaced state: prev_content and prev_sender from the replaced PDU. */
	row_init(&row, "{\"type\":\"m.room.topic\",\"state_key\":\"\",\"content\":{\"topic\":"
	    "\"new\"},\"sender\":\"@a:x\",\"origin_server_ts\":1000,\"room_id\":\"!r:x\"}",
	    "m.room.topic", "");
	row.replaces_state = strdup("$old:x");
	row.prev_js = strdup("{\"content\":{\"topic\":\"old\"},\"sender\":\"@b:x\","
	    "\"type\":\"m.room.topic\"}");
	event_both_ways("replaced state", &row, NULL);
	mevrow_fini(&row);

	/* A v12 create event has no room_id in its PDU: the row's is given. */
	row_init(&row, "{\"type\":\"m.room.create\",\"state_key\":\"\",\"content\":"
	    "{\"room_version\":\"12\"},\"sender\":\"@a:x\",\"origin_server_ts\":1000}",
	    "m.room.create", "");
	event_both_ways("no room_id", &row, NULL);
	mevrow_fini(&row);

	/* What the text path leaves to parsing comes out the same. */
	row_init(&row, "{\"type\":\"m.room.message\",\"con\\u0074ent\":{},\"content\":{\"a\":1},"
	    "\"sender\":\"@a:x\",\"origin_server_ts\":1000,\"room_id\":\"!r:x\"}",
	    "m.room.message", NULL);
	event_both_ways("escaped key", &row, NULL);
	mevrow_fini(&row);
	row_init(&row, "{\"type\":\"m.room.message\",\"content\":{},\"sender\":\"@a:x\","
	    "\"origin_server_ts\":1000,\"room_id\":\"!r:x\"}", "m.room.message", NULL);
	row.redacted_by = strdup("$red:x");
	row.redaction_js = strdup("{\"type\":\"m.room.redaction\",\"redacts\":\"$ev:x\","
	    "\"content\":{},\"sender\":\"@a:x\",\"origin_server_ts\":1001}");
	event_both_ways("redacted", &row, NULL);
	mevrow_fini(&row);

	/* A parsed state view goes through mroom_state_client_event. */
	{
		json_t	*full, *a, *b, *back;
		char	*d;

		full = json_loads("{\"type\":\"m.room.join_rules\",\"state_key\":\"\","
		    "\"content\":{\"join_rule\":\"invite\"},\"sender\":\"@a:x\","
		    "\"origin_server_ts\":1000,\"room_id\":\"!r:x\",\"event_id\":\"$j:x\"}", 0, NULL);
		a = mroom_state_client_event(full, NULL, 5000, "@a:x", NULL);
		b = mroom_state_client_event_text(full, NULL, 5000, "@a:x", NULL);
		d = mjson_dump(b, NULL);
		back = d != NULL ? json_loads(d, 0, NULL) : NULL;
		CHECK(a != NULL && back != NULL && json_equal(a, back));
		free(d);
		json_decref(a);
		json_decref(b);
		json_decref(back);
		json_decref(full);
	}
	return failed;
}
