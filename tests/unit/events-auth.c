/* mevent_auth_check, mevent_user_power, mevent_auth_types on hand-built rooms. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"

#define ALICE	"@alice:example.org"
#define BOB	"@bob:example.org"
#define CAROL	"@carol:example.org"
#define DAVE	"@dave:other.example"
#define EVE	"@eve:example.org"
#define FRANK	"@frank:example.org"

/*
 * A room under construction: its current state, keyed like a state
 * map, holding the events themselves, and the last event for
 * prev_events.  Every event carries an explicit event_id, so the tests
 * do not depend on the reference hash.
 */
struct room {
	const struct mroomver	*ver;
	const char		*room_id;
	json_t			*state;		/* "type\x1fstate_key" -> event */
	json_t			*events;	/* every event built, to free */
	char			 last[64];	/* event ID of the last event */
	int			 n;
	int64_t			 ts;
};

static const json_t *
room_get(void *arg, const char *type, const char *state_key)
{
	struct room	*r = arg;
	char		*key;
	const json_t	*ev;

	if ((key = mstate_key_join(type, state_key)) == NULL)
		return NULL;
	ev = json_object_get(r->state, key);
	free(key);
	return ev;
}

static void
room_init(struct room *r, const char *ver, const char *room_id)
{
	memset(r, 0, sizeof(*r));
	r->ver = version(ver);
	r->room_id = room_id;
	r->state = json_object();
	r->events = json_array();
	r->ts = 1000;
}

static void
room_fini(struct room *r)
{
	json_decref(r->state);
	json_decref(r->events);
}

/*
 * A new event in r (borrowed: r keeps it) with the given event ID (or
 * "$<n>:example.org"), whose prev_events is the last event.  state_key
 * NULL makes a message event.  content is stolen.
 */
static json_t *
mk(struct room *r, const char *id, const char *type, const char *state_key,
    const char *sender, json_t *content)
{
	json_t	*ev;
	char	 idbuf[64];

	if (id == NULL) {
		snprintf(idbuf, sizeof(idbuf), "$%d:example.org", ++r->n);
		id = idbuf;
	}
	ev = json_pack("{s:s, s:s, s:o, s:s, s:I, s:I, s:[], s:[]}",
	    "event_id", id, "type", type, "content", content,
	    "sender", sender, "origin_server_ts", (json_int_t)r->ts++,
	    "depth", (json_int_t)r->n, "auth_events", "prev_events");
	if (ev == NULL) {
		fprintf(stderr, "FAIL: json_pack\n");
		exit(1);
	}
	if (r->room_id != NULL)
		json_object_set_new(ev, "room_id", json_string(r->room_id));
	if (state_key != NULL)
		json_object_set_new(ev, "state_key", json_string(state_key));
	if (r->last[0] != '\0')
		json_array_append_new(json_object_get(ev, "prev_events"),
		    json_string(r->last));
	json_array_append_new(r->events, ev);
	return ev;
}

/* Checks ev against r's state; on allow, ev becomes state and the last event. */
static int
check(struct room *r, json_t *ev, int want, const char *what)
{
	char		 why[256] = "";
	const char	*type, *sk;
	char		*key;
	int		 got;

	got = mevent_auth_check(ev, r->ver, room_get, r, why, sizeof(why));
	if (got != want)
		FAIL("v%s %s: want %s, got %s (%s)", r->ver->id, what,
		    want ? "allow" : "refuse", got ? "allow" : "refuse", why);
	if (!want && why[0] == '\0')
		FAIL("v%s %s: refused without a reason", r->ver->id, what);
	if (got) {
		type = json_string_value(json_object_get(ev, "type"));
		sk = json_string_value(json_object_get(ev, "state_key"));
		if (sk != NULL) {
			key = mstate_key_join(type, sk);
			json_object_set(r->state, key, ev);
			free(key);
		}
		snprintf(r->last, sizeof(r->last), "%s",
		    json_string_value(json_object_get(ev, "event_id")));
	}
	return got;
}

/* check() of sender's m.room.member event making target's membership m. */
static int
membership(struct room *r, const char *target, const char *sender,
    const char *m, int want, const char *what)
{
	return check(r, mk(r, NULL, "m.room.member", target, sender,
	    member(m)), want, what);
}

static void
want_power(struct room *r, const char *user, int64_t want, const char *what)
{
	int64_t	 got;

	got = mevent_user_power(r->ver, room_get, r, user);
	if (got != want)
		FAIL("v%s %s: power of %s is %lld, want %lld", r->ver->id, what,
		    user, (long long)got, (long long)want);
}

/*
 * A v10 room: Alice creates it, joins, sets power levels (Alice 100,
 * ban/kick/state 50, invite 0) and an invite-only join rule, then
 * invites Bob, who joins.
 */
static void
standard_room(struct room *r, const char *ver)
{
	room_init(r, ver, "!room:example.org");
	check(r, mk(r, NULL, "m.room.create", "", ALICE, json_pack("{s:s, s:s}",
	    "creator", ALICE, "room_version", ver)), 1, "setup create");
	membership(r, ALICE, ALICE, "join", 1, "setup creator join");
	check(r, mk(r, NULL, "m.room.power_levels", "", ALICE, json_pack(
	    "{s:{s:i}, s:i, s:i, s:i, s:i, s:i, s:i}", "users", ALICE, 100,
	    "users_default", 0, "ban", 50, "kick", 50, "invite", 0,
	    "state_default", 50, "events_default", 0)), 1, "setup power levels");
	check(r, mk(r, NULL, "m.room.join_rules", "", ALICE, json_pack("{s:s}",
	    "join_rule", "invite")), 1, "setup join rules");
	membership(r, BOB, ALICE, "invite", 1, "setup invite bob");
	membership(r, BOB, BOB, "join", 1, "setup bob joins");
}

/* Spec rule 1 in v10, v11 and v12. */
static void
test_create(void)
{
	struct room	 r;

	room_init(&r, "10", "!c:example.org");
	check(&r, mk(&r, NULL, "m.room.create", "", ALICE, json_pack("{s:s}",
	    "room_version", "10")), 0, "create without creator");
	check(&r, mk(&r, NULL, "m.room.create", "", ALICE, json_pack("{s:s, s:s}",
	    "creator", ALICE, "room_version", "999")), 0,
	    "create with unknown room_version");
	check(&r, mk(&r, NULL, "m.room.create", "", DAVE, json_pack("{s:s}",
	    "creator", DAVE)), 0, "create with room_id of another domain");
	strcpy(r.last, "$0:example.org");
	check(&r, mk(&r, NULL, "m.room.create", "", ALICE, json_pack("{s:s}",
	    "creator", ALICE)), 0, "create with prev_events");
	r.last[0] = '\0';
	check(&r, mk(&r, NULL, "m.room.create", "", ALICE, json_pack("{s:s}",
	    "creator", ALICE)), 1, "create");
	/* No create event in state yet refuses everything else. */
	json_object_clear(r.state);
	check(&r, mk(&r, NULL, "m.room.message", NULL, ALICE, json_pack("{}")),
	    0, "message without a create event");
	room_fini(&r);

	/* v11 rule 1: "creator" is gone. */
	room_init(&r, "11", "!c:example.org");
	check(&r, mk(&r, NULL, "m.room.create", "", ALICE, json_pack("{}")), 1,
	    "v11 create without creator");
	room_fini(&r);

	/* v12 rule 1: no room_id; additional_creators are user IDs. */
	room_init(&r, "12", "!c12");
	check(&r, mk(&r, "$c12", "m.room.create", "", ALICE, json_pack("{}")),
	    0, "v12 create with a room_id");
	r.room_id = NULL;
	check(&r, mk(&r, "$c12", "m.room.create", "", ALICE, json_pack(
	    "{s:[s]}", "additional_creators", "not-a-user")), 0,
	    "v12 create with a bad additional creator");
	check(&r, mk(&r, "$c12", "m.room.create", "", ALICE, json_pack(
	    "{s:s}", "additional_creators", BOB)), 0,
	    "v12 create with additional_creators not an array");
	check(&r, mk(&r, "$c12", "m.room.create", "", ALICE, json_pack(
	    "{s:[s]}", "additional_creators", BOB)), 1, "v12 create");
	room_fini(&r);
}

/* The cases, in a v10 room. */
static void
test_membership_and_power(void)
{
	struct room	 r;
	json_t		*pl;

	standard_room(&r, "10");

	/* Rule 5: "If the sender's current membership state is not join". */
	check(&r, mk(&r, NULL, "m.room.message", NULL, CAROL, json_pack(
	    "{s:s}", "body", "hi")), 0, "non-member's message");
	check(&r, mk(&r, NULL, "m.room.message", NULL, BOB, json_pack(
	    "{s:s}", "body", "hi")), 1, "member's message");

	/* Rule 7: state_default 50, Bob has 0. */
	check(&r, mk(&r, NULL, "m.room.topic", "", BOB, json_pack("{s:s}",
	    "topic", "bob's")), 0, "state change below the level");
	pl = json_pack("{s:{s:i, s:i, s:i}, s:i, s:i, s:i, s:i, s:i, s:i}",
	    "users", ALICE, 100, BOB, 50, FRANK, 50, "users_default", 0,
	    "ban", 50, "kick", 50, "invite", 0, "state_default", 50,
	    "events_default", 0);
	check(&r, mk(&r, NULL, "m.room.power_levels", "", ALICE, pl), 1,
	    "alice raises bob and frank to 50");
	want_power(&r, BOB, 50, "after raise");
	check(&r, mk(&r, NULL, "m.room.topic", "", BOB, json_pack("{s:s}",
	    "topic", "bob's")), 1, "state change at the level");

	/* Rule 9: power levels changes. */
	check(&r, mk(&r, NULL, "m.room.power_levels", "", BOB, json_pack(
	    "{s:{s:i, s:i}, s:i}", "users", ALICE, 100, BOB, 100, "ban", 50)),
	    0, "bob raises himself above his level");
	check(&r, mk(&r, NULL, "m.room.power_levels", "", BOB, json_pack(
	    "{s:{s:i, s:i}, s:i, s:i, s:i, s:i, s:i, s:i}", "users", ALICE, 0,
	    BOB, 50, "users_default", 0, "ban", 50, "kick", 50, "invite", 0,
	    "state_default", 50, "events_default", 0)), 0,
	    "bob demotes alice, who is above him");
	check(&r, mk(&r, NULL, "m.room.power_levels", "", BOB, json_pack(
	    "{s:{s:i, s:i, s:i}, s:i, s:i, s:i, s:i, s:i, s:i}", "users",
	    ALICE, 100, BOB, 50, FRANK, 0, "users_default", 0, "ban", 50,
	    "kick", 50, "invite", 0, "state_default", 50, "events_default",
	    0)), 0, "bob demotes frank, who is at his level");
	check(&r, mk(&r, NULL, "m.room.power_levels", "", BOB, json_pack(
	    "{s:{s:i, s:i, s:i}, s:i, s:i, s:i, s:i, s:i, s:i, s:{s:i}}",
	    "users", ALICE, 100, BOB, 50, FRANK, 50, "users_default", 0,
	    "ban", 50, "kick", 50, "invite", 0, "state_default", 50,
	    "events_default", 0, "events", "m.room.name", 50)), 1,
	    "bob adds an event level equal to his own");
	check(&r, mk(&r, NULL, "m.room.power_levels", "", ALICE, json_pack(
	    "{s:{s:i, s:i}, s:s}", "users", ALICE, 100, BOB, 50, "ban", "50")),
	    0, "v10 power levels with a string value");

	/* Ban: Bob has 50 now; ban level 50 but he is not above Alice. */
	membership(&r, ALICE, BOB, "ban", 0,
	    "bob bans alice, who is above him");
	membership(&r, FRANK, BOB, "ban", 0,
	    "bob bans frank, who is at his level");
	membership(&r, CAROL, ALICE, "invite", 1, "alice invites carol");
	membership(&r, CAROL, CAROL, "join", 1, "carol joins");
	membership(&r, BOB, CAROL, "ban", 0,
	    "carol (0) bans bob: no ban power");
	membership(&r, CAROL, CAROL, "leave", 1, "carol leaves");
	membership(&r, CAROL, BOB, "ban", 1, "bob (50) bans carol (0)");
	membership(&r, CAROL, CAROL, "join", 0, "banned carol joins");
	membership(&r, CAROL, ALICE, "invite", 0, "invite of a banned user");

	/* Join rule invite. */
	membership(&r, EVE, EVE, "join", 0,
	    "join to invite-only room without invite");
	membership(&r, EVE, CAROL, "invite", 0, "invite by a non-member");
	membership(&r, EVE, ALICE, "invite", 1, "alice invites eve");
	membership(&r, EVE, ALICE, "join", 0, "join sent for someone else");
	membership(&r, EVE, EVE, "join", 1, "join after invite");

	/* Kick: Eve (0) cannot kick Bob, Bob (50) can kick Eve. */
	membership(&r, BOB, EVE, "leave", 0, "kick without kick power");
	membership(&r, EVE, BOB, "leave", 1, "kick with kick power");

	/* Rule 8: a state_key naming another user. */
	check(&r, mk(&r, NULL, "m.room.topic", ALICE, BOB, json_pack("{}")),
	    0, "state_key of another user");
	check(&r, mk(&r, NULL, "m.room.topic", BOB, BOB, json_pack("{}")),
	    1, "state_key of the sender");

	/* Knocking needs a knock join rule. */
	membership(&r, DAVE, DAVE, "knock", 0, "knock on an invite-only room");
	check(&r, mk(&r, NULL, "m.room.join_rules", "", ALICE, json_pack(
	    "{s:s}", "join_rule", "knock")), 1, "join rule knock");
	membership(&r, DAVE, DAVE, "knock", 1, "knock");
	membership(&r, DAVE, DAVE, "join", 0,
	    "join by knocking user without invite");
	membership(&r, DAVE, DAVE, "leave", 1, "knock withdrawn");
	membership(&r, DAVE, DAVE, "dance", 0, "unknown membership");
	room_fini(&r);
}

/* v8 on: restricted joins through join_authorised_via_users_server. */
static void
test_restricted(void)
{
	struct room		 r;
	struct mstate_key	 keys[8];
	json_t			*ev;
	size_t			 n, i;
	int			 found = 0;

	standard_room(&r, "10");
	check(&r, mk(&r, NULL, "m.room.power_levels", "", ALICE, json_pack(
	    "{s:{s:i}, s:i}", "users", ALICE, 100, "invite", 50)), 1,
	    "invite level 50");
	check(&r, mk(&r, NULL, "m.room.join_rules", "", ALICE, json_pack(
	    "{s:s, s:[]}", "join_rule", "knock_restricted", "allow")), 1,
	    "join rule knock_restricted");
	membership(&r, EVE, EVE, "join", 0,
	    "restricted join without an authoriser");
	check(&r, mk(&r, NULL, "m.room.member", EVE, EVE, json_pack(
	    "{s:s, s:s}", "membership", "join",
	    "join_authorised_via_users_server", BOB)), 0,
	    "restricted join authorised by a user below the invite level");
	check(&r, mk(&r, NULL, "m.room.member", EVE, EVE, json_pack(
	    "{s:s, s:s}", "membership", "join",
	    "join_authorised_via_users_server", CAROL)), 0,
	    "restricted join authorised by a non-member");
	ev = mk(&r, NULL, "m.room.member", EVE, EVE, json_pack("{s:s, s:s}",
	    "membership", "join", "join_authorised_via_users_server", ALICE));
	n = mevent_auth_types(ev, r.ver, keys, 8);
	for (i = 0; i < n; i++)
		if (strcmp(keys[i].type, "m.room.member") == 0 &&
		    strcmp(keys[i].state_key, ALICE) == 0)
			found = 1;
	/* create, power levels, eve's member, join rules, alice's member. */
	if (n != 5 || !found)
		FAIL("restricted join auth types: %zu, authoriser %s", n,
		    found ? "found" : "missing");
	check(&r, ev, 1, "restricted join authorised by alice");
	room_fini(&r);

	/* The same join rule means nothing before v10. */
	standard_room(&r, "9");
	check(&r, mk(&r, NULL, "m.room.join_rules", "", ALICE, json_pack(
	    "{s:s}", "join_rule", "knock_restricted")), 1,
	    "v9 join rule knock_restricted");
	check(&r, mk(&r, NULL, "m.room.member", EVE, EVE, json_pack(
	    "{s:s, s:s}", "membership", "join",
	    "join_authorised_via_users_server", ALICE)), 0,
	    "v9 knock_restricted join");
	room_fini(&r);
}

/*
 * v10 versus v11: the creator is content.creator in v10 and the create
 * event's sender in v11.  Alice sends a create event naming Carol.
 */
static void
test_v10_v11(void)
{
	struct room	 r;
	const char	*ver[2] = { "10", "11" };
	int		 i;

	for (i = 0; i < 2; i++) {
		room_init(&r, ver[i], "!diff:example.org");
		check(&r, mk(&r, "$create:example.org", "m.room.create", "",
		    ALICE, json_pack("{s:s}", "creator", CAROL)), 1,
		    "create naming carol");
		/* Rule 4.3.1, the first join after the create event. */
		membership(&r, ALICE, ALICE, "join", i == 1,
		    "first join by the sender");
		strcpy(r.last, "$create:example.org");
		membership(&r, CAROL, CAROL, "join", i == 0,
		    "first join by content.creator");
		/* With no power levels event the creator has 100. */
		want_power(&r, CAROL, i == 0 ? 100 : 0, "no power levels");
		want_power(&r, ALICE, i == 0 ? 0 : 100, "no power levels");
		room_fini(&r);
	}

	/* v9 accepts string power levels, v10 does not. */
	for (i = 0; i < 2; i++) {
		standard_room(&r, i == 0 ? "9" : "10");
		check(&r, mk(&r, NULL, "m.room.power_levels", "", ALICE,
		    json_pack("{s:{s:s, s:s}}", "users", ALICE, " +100 ", BOB,
		    "007")), i == 0, "string power levels");
		want_power(&r, BOB, i == 0 ? 7 : 0, "string power levels");
		room_fini(&r);
	}
}

/* v12: creators (sender and additional_creators) above every level. */
static void
test_v12_creators(void)
{
	struct room		 r;
	struct mstate_key	 keys[8];
	size_t			 n, i;

	room_init(&r, "12", NULL);
	check(&r, mk(&r, "$v12create", "m.room.create", "", ALICE, json_pack(
	    "{s:s, s:[s]}", "room_version", "12", "additional_creators",
	    CAROL)), 1, "v12 create");
	r.room_id = "!v12create";
	membership(&r, ALICE, ALICE, "join", 1, "v12 creator joins");
	want_power(&r, ALICE, INT64_MAX, "v12 creator, no power levels");
	want_power(&r, CAROL, INT64_MAX, "v12 additional creator");
	want_power(&r, BOB, 0, "v12 non-creator, no power levels");
	check(&r, mk(&r, NULL, "m.room.power_levels", "", ALICE, json_pack(
	    "{s:{s:i, s:i}}", "users", ALICE, 100, BOB, 100)), 0,
	    "v12 power levels listing a creator");
	check(&r, mk(&r, NULL, "m.room.power_levels", "", ALICE, json_pack(
	    "{s:{s:I}}", "users", BOB, (json_int_t)9007199254740991LL)), 1,
	    "v12 power levels giving bob 2^53-1");
	check(&r, mk(&r, NULL, "m.room.join_rules", "", ALICE, json_pack(
	    "{s:s}", "join_rule", "public")), 1, "v12 public");
	membership(&r, BOB, BOB, "join", 1, "v12 bob joins");
	membership(&r, CAROL, CAROL, "join", 1, "v12 carol joins");
	want_power(&r, BOB, 9007199254740991LL, "v12 bob");
	/* Bob is at the largest level a power levels event can hold... */
	membership(&r, ALICE, BOB, "ban", 0, "v12 bob bans the creator");
	check(&r, mk(&r, NULL, "m.room.power_levels", "", BOB, json_pack(
	    "{s:{s:I}, s:I}", "users", BOB, (json_int_t)9007199254740991LL,
	    "ban", (json_int_t)9007199254740991LL)), 1,
	    "v12 bob raises the ban level");
	/* ...yet the creators stay above it. */
	membership(&r, BOB, CAROL, "ban", 1, "v12 additional creator bans bob");
	/* Two creators: neither is above the other. */
	membership(&r, ALICE, CAROL, "ban", 0,
	    "v12 additional creator bans the creator");
	check(&r, mk(&r, NULL, "m.room.message", NULL, ALICE, json_pack("{}")),
	    1, "v12 message");
	n = mevent_auth_types(json_array_get(r.events,
	    json_array_size(r.events) - 1), r.ver, keys, 8);
	for (i = 0; i < n; i++)
		if (strcmp(keys[i].type, "m.room.create") == 0)
			FAIL("v12 auth types select create");
	if (n != 2)
		FAIL("v12 message auth types: %zu", n);
	room_fini(&r);

	/* Spec: v12 rule 2: the room ID must be the create event's. */
	room_init(&r, "12", NULL);
	check(&r, mk(&r, "$real", "m.room.create", "", ALICE, json_pack("{}")),
	    1, "v12 create");
	r.room_id = "!other";
	membership(&r, ALICE, ALICE, "join", 0,
	    "v12 room_id not from the create event");
	r.room_id = "!real";
	membership(&r, ALICE, ALICE, "join", 1,
	    "v12 creator join with the create event's room ID");
	room_fini(&r);
}

/* v1 and v2: the redact level or the same server for both event IDs. */
static void
test_v1_redaction(void)
{
	struct room	 r;
	json_t		*ev;

	standard_room(&r, "2");
	ev = mk(&r, "$red1:example.org", "m.room.redaction", NULL, BOB,
	    json_pack("{}"));
	json_object_set_new(ev, "redacts", json_string("$x:other.example"));
	check(&r, ev, 0, "v2 redaction of another server's event by bob (0)");
	ev = mk(&r, "$red2:example.org", "m.room.redaction", NULL, BOB,
	    json_pack("{}"));
	json_object_set_new(ev, "redacts", json_string("$x:example.org"));
	check(&r, ev, 1, "v2 redaction of a same-server event");
	room_fini(&r);

	/* v3 moved it out of the auth rules. */
	standard_room(&r, "3");
	ev = mk(&r, NULL, "m.room.redaction", NULL, BOB, json_pack("{}"));
	json_object_set_new(ev, "redacts", json_string("$x:other.example"));
	check(&r, ev, 1, "v3 redaction by bob (0)");
	room_fini(&r);
}

/* Third party invites, with a real ed25519 signature over "signed". */
static void
test_third_party_invite(void)
{
	unsigned char	 seed[32];
	struct room	 r;
	struct mkey	*key, *other;
	json_t		*signed_;
	char		*pk;

	memset(seed, 7, sizeof(seed));
	if (mcrypto_init() == -1 ||
	    (key = mcrypto_key_from_seed(seed, "0")) == NULL) {
		FAIL("key");
		return;
	}
	memset(seed, 8, sizeof(seed));
	other = mcrypto_key_from_seed(seed, "0");
	pk = mcrypto_key_public_b64(key);
	standard_room(&r, "10");
	check(&r, mk(&r, NULL, "m.room.third_party_invite", "tok", BOB,
	    json_pack("{s:s, s:s}", "display_name", "d", "public_key", pk)),
	    1, "third party invite event by bob: rule 6 (invite level 0) "
	    "comes before rule 7 (state_default 50)");
	check(&r, mk(&r, NULL, "m.room.third_party_invite", "tok", ALICE,
	    json_pack("{s:s, s:[{s:s}]}", "display_name", "d", "public_keys",
	    "public_key", pk)), 1, "third party invite by alice");

	signed_ = json_pack("{s:s, s:s, s:s}", "mxid", DAVE, "token", "tok",
	    "sender", ALICE);
	mcrypto_sign_json(signed_, "id.example", other);
	check(&r, mk(&r, NULL, "m.room.member", DAVE, ALICE, json_pack(
	    "{s:s, s:{s:O}}", "membership", "invite", "third_party_invite",
	    "signed", signed_)), 0, "third party invite signed by another key");
	mcrypto_sign_json(signed_, "id.example", key);
	check(&r, mk(&r, NULL, "m.room.member", DAVE, BOB, json_pack(
	    "{s:s, s:{s:O}}", "membership", "invite", "third_party_invite",
	    "signed", signed_)), 0, "third party invite from another sender");
	check(&r, mk(&r, NULL, "m.room.member", EVE, ALICE, json_pack(
	    "{s:s, s:{s:O}}", "membership", "invite", "third_party_invite",
	    "signed", signed_)), 0, "third party invite for another mxid");
	check(&r, mk(&r, NULL, "m.room.member", DAVE, ALICE, json_pack(
	    "{s:s, s:{s:O}}", "membership", "invite", "third_party_invite",
	    "signed", signed_)), 1, "third party invite signed by the key");
	json_decref(signed_);
	free(pk);
	mcrypto_key_free(key);
	mcrypto_key_free(other);
	room_fini(&r);
}

/* Unbanning needs the ban level; m.federate; v1-v5 m.room.aliases. */
static void
test_misc(void)
{
	struct room	 r;

	standard_room(&r, "10");
	check(&r, mk(&r, NULL, "m.room.power_levels", "", ALICE, json_pack(
	    "{s:{s:i, s:i}, s:i, s:i}", "users", ALICE, 100, BOB, 50, "kick",
	    50, "ban", 75)), 1, "kick 50, ban 75");
	membership(&r, CAROL, ALICE, "ban", 1, "alice bans carol");
	membership(&r, CAROL, BOB, "leave", 0,
	    "unban by bob, below the ban level");
	membership(&r, CAROL, ALICE, "leave", 1, "unban by alice");
	room_fini(&r);

	room_init(&r, "10", "!local:example.org");
	check(&r, mk(&r, NULL, "m.room.create", "", ALICE, json_pack(
	    "{s:s, s:b}", "creator", ALICE, "m.federate", 0)), 1,
	    "unfederated create");
	membership(&r, ALICE, ALICE, "join", 1, "unfederated creator join");
	check(&r, mk(&r, NULL, "m.room.join_rules", "", ALICE, json_pack(
	    "{s:s}", "join_rule", "public")), 1, "unfederated public");
	membership(&r, DAVE, DAVE, "join", 0,
	    "join from another server to an unfederated room");
	membership(&r, BOB, BOB, "join", 1,
	    "join from the same server to an unfederated room");
	room_fini(&r);

	/* v5 rule 4: only the state_key (a server name) matters. */
	standard_room(&r, "5");
	check(&r, mk(&r, NULL, "m.room.aliases", "other.example", ALICE,
	    json_pack("{s:[]}", "aliases")), 0,
	    "v5 aliases for another server");
	check(&r, mk(&r, NULL, "m.room.aliases", "example.org", BOB,
	    json_pack("{s:[]}", "aliases")), 1,
	    "v5 aliases by bob (0) for his server");
	room_fini(&r);
	standard_room(&r, "6");
	check(&r, mk(&r, NULL, "m.room.aliases", "example.org", BOB,
	    json_pack("{s:[]}", "aliases")), 0,
	    "v6 aliases by bob (0): an ordinary state event");
	room_fini(&r);
}

int
main(void)
{
	char	*k;

	k = mstate_key_join("m.room.member", "@a:b");
	if (k == NULL || memcmp(k, "m.room.member\x1f@a:b", 19) != 0)
		FAIL("mstate_key_join");
	free(k);
	test_create();
	test_membership_and_power();
	test_restricted();
	test_v10_v11();
	test_v12_creators();
	test_v1_redaction();
	test_third_party_invite();
	test_misc();
	return failed;
}
