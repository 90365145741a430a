/* mfilter_check, mfilter_room_event_check, mfilter_event_match: the spec's "Filtering". */
#include <stdio.h>
#include <string.h>

#include "room/filter.h"

static int	 failed;

/* A filter definition, 1 when it must pass mfilter_check. */
static void
shape(const char *def, int valid)
{
	json_t	*f = json_loads(def, 0, NULL);
	char	 why[256] = "";

	if (f == NULL || (mfilter_check(f, why, sizeof(why)) == 0) != valid) {
		fprintf(stderr, "FAIL shape %s: want %s (%s)\n", def, valid ? "valid" : "invalid",
		    why);
		failed = 1;
	}
	json_decref(f);
}

/* A RoomEventFilter, 1 when it must pass mfilter_room_event_check. */
static void
room_event(const char *def, int valid)
{
	json_t	*f = json_loads(def, 0, NULL);
	char	 why[256] = "";

	if (f == NULL || (mfilter_room_event_check(f, why, sizeof(why)) == 0) != valid) {
		fprintf(stderr, "FAIL room_event %s: want %s (%s)\n", def,
		    valid ? "valid" : "invalid", why);
		failed = 1;
	}
	json_decref(f);
}

/* Whether event ev of room_id passes filter (NULL: no filter). */
static void
match(const char *filter, const char *room_id, const char *ev, int want)
{
	json_t	*f = filter != NULL ? json_loads(filter, 0, NULL) : NULL;
	json_t	*e = json_loads(ev, 0, NULL);

	if (e == NULL || (filter != NULL && f == NULL) ||
	    mfilter_event_match(f, room_id, e) != want) {
		fprintf(stderr, "FAIL match %s on %s: want %d\n", filter, ev, want);
		failed = 1;
	}
	json_decref(f);
	json_decref(e);
}

int
main(void)
{
	const char *msg = "{\"type\":\"m.room.message\",\"sender\":\"@a:x\","
	    "\"content\":{\"body\":\"hi\"}}";
	const char *img = "{\"type\":\"m.room.message\",\"sender\":\"@b:x\","
	    "\"content\":{\"url\":\"mxc://x/y\"}}";
	const char *acct = "{\"type\":\"m.tag\",\"content\":{}}";

	/* The spec's example and its pieces. */
	shape("{\"event_fields\":[\"type\",\"content\",\"sender\"],\"event_format\":\"client\","
	    "\"presence\":{\"not_senders\":[\"@alice:example.com\"],\"types\":[\"m.presence\"]},"
	    "\"room\":{\"ephemeral\":{\"not_rooms\":[\"!726s6s6q:example.com\"],"
	    "\"not_senders\":[\"@spam:example.com\"],\"types\":[\"m.receipt\",\"m.typing\"]},"
	    "\"state\":{\"not_rooms\":[\"!726s6s6q:example.com\"],\"types\":[\"m.room.*\"]},"
	    "\"timeline\":{\"limit\":10,\"not_rooms\":[\"!726s6s6q:example.com\"],"
	    "\"not_senders\":[\"@spam:example.com\"],\"types\":[\"m.room.message\"]}}}", 1);
	shape("{}", 1);
	shape("{\"unknown\":{\"anything\":1}}", 1);
	shape("{\"room\":{\"rooms\":[\"!v12roomidwithoutserver\"],\"include_leave\":true}}", 1);
	shape("{\"room\":{\"state\":{\"lazy_load_members\":true,"
	    "\"include_redundant_members\":false}}}", 1);
	shape("[]", 0);
	shape("{\"room\":[]}", 0);
	shape("{\"room\":{\"timeline\":{\"limit\":\"10\"}}}", 0);
	shape("{\"room\":{\"rooms\":[\"#alias:x\"]}}", 0);
	shape("{\"room\":{\"not_rooms\":\"!a:x\"}}", 0);
	shape("{\"room\":{\"include_leave\":\"yes\"}}", 0);
	shape("{\"presence\":{\"senders\":[\"alice\"]}}", 0);
	shape("{\"presence\":{\"senders\":[\"@:x\"]}}", 0);
	shape("{\"account_data\":{\"types\":[1]}}", 0);
	shape("{\"event_format\":\"xml\"}", 0);
	shape("{\"event_fields\":\"type\"}", 0);
	/* Limits are integers, and nothing canonical JSON cannot hold is stored. */
	shape("{\"room\":{\"timeline\":{\"limit\":10.5}}}", 0);
	shape("{\"room\":{\"timeline\":{\"limit\":1152921504606846976}}}", 0);
	shape("{\"room\":{\"timeline\":{\"limit\":-9007199254740992}}}", 0);
	shape("{\"room\":{\"timeline\":{\"limit\":9007199254740991}}}", 1);
	shape("{\"presence\":{\"limit\":1e3}}", 0);
	shape("{\"unknown\":{\"x\":0.5}}", 0);
	shape("{\"unknown\":{\"x\":9007199254740992}}", 0);
	room_event("{\"limit\":10,\"types\":[\"m.room.message\"]}", 1);
	room_event("{\"limit\":10.5}", 0);
	room_event("{\"limit\":1152921504606846976}", 0);
	room_event("{\"senders\":\"@a:x\"}", 0);
	room_event("{\"other\":1.5}", 0);
	room_event("[]", 0);

	match(NULL, "!r:x", msg, 1);
	match("{}", "!r:x", msg, 1);
	match("{\"types\":[\"m.room.message\"]}", "!r:x", msg, 1);
	match("{\"types\":[\"m.room.*\"]}", "!r:x", msg, 1);
	match("{\"types\":[\"m.room.mes\"]}", "!r:x", msg, 0);
	match("{\"types\":[]}", "!r:x", msg, 0);
	/* Spec: a not_ list wins over its positive one. */
	match("{\"types\":[\"m.room.message\"],\"not_types\":[\"m.*\"]}", "!r:x", msg, 0);
	match("{\"not_types\":[\"*\"]}", "!r:x", msg, 0);
	match("{\"senders\":[\"@a:x\"]}", "!r:x", msg, 1);
	match("{\"senders\":[\"@a:*\"]}", "!r:x", msg, 0);
	match("{\"not_senders\":[\"@a:x\"]}", "!r:x", msg, 0);
	match("{\"rooms\":[\"!r:x\"]}", "!r:x", msg, 1);
	match("{\"rooms\":[\"!r:x\"],\"not_rooms\":[\"!r:x\"]}", "!r:x", msg, 0);
	match("{\"rooms\":[\"!other:x\"]}", "!r:x", msg, 0);
	match("{\"rooms\":[\"!other:x\"]}", NULL, msg, 1);
	match("{\"contains_url\":true}", "!r:x", img, 1);
	match("{\"contains_url\":true}", "!r:x", msg, 0);
	match("{\"contains_url\":false}", "!r:x", img, 0);
	match("{\"contains_url\":false}", "!r:x", msg, 1);
	/* Without a sender: only a positive senders list drops it. */
	match("{\"not_senders\":[\"@a:x\"]}", NULL, acct, 1);
	match("{\"senders\":[\"@a:x\"]}", NULL, acct, 0);
	match("{\"types\":[\"m.tag\"]}", NULL, acct, 1);

	{
		json_t *nr = json_pack("{s:[s]}", "not_rooms", "!r:x");

		if (mfilter_room_match(NULL, "!r:x") != 1 || mfilter_room_match(nr, "!r:x") != 0 ||
		    mfilter_room_match(nr, "!s:x") != 1) {
			fprintf(stderr, "FAIL mfilter_room_match\n");
			failed = 1;
		}
		json_decref(nr);
	}
	return failed;
}
