/* mstate_resolve on forked rooms whose winners follow from the spec's algorithm. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"

#define ALICE	"@alice:example.org"
#define BOB	"@bob:example.org"
#define CHARLIE	"@charlie:example.org"
#define EVE	"@eve:example.org"

/*
 * Every event of one test, by ID, with explicit "event_id" keys so that
 * nothing depends on reference hashes.  In v12 the create event is
 * "$create" and the room "!create", as the room ID grammar says.
 */
struct graph {
	const struct mroomver	*ver;
	int			 v12;
	const char		*room_id;
	json_t			*events;	/* event ID -> event */
};

/* One fork: its state map and its last event (for prev_events). */
struct fork {
	json_t	*state;		/* "type\x1fstate_key" -> event ID */
	char	 last[64];
};

struct view {
	struct graph	*g;
	struct fork	*f;
};

static const json_t *
graph_get(void *arg, const char *id)
{
	struct graph	*g = arg;

	return json_object_get(g->events, id);
}

static const json_t *
view_get(void *arg, const char *type, const char *state_key)
{
	struct view	*v = arg;
	char		*key;
	const char	*id;

	key = mstate_key_join(type, state_key);
	id = json_string_value(json_object_get(v->f->state, key));
	free(key);
	return id == NULL ? NULL : json_object_get(v->g->events, id);
}

static void
set(json_t *map, const char *type, const char *state_key, const char *id)
{
	char	*key = mstate_key_join(type, state_key);

	if (id == NULL)
		json_object_del(map, key);
	else
		json_object_set_new(map, key, json_string(id));
	free(key);
}

/*
 * Adds an event to g on fork f: auth_events as the auth events
 * selection picks them from f's state, prev_events the fork's last
 * event.  The event must pass the auth rules against f's state (the
 * forks are valid histories); then it updates f.  content is stolen.
 */
static void
add(struct graph *g, struct fork *f, const char *id, int64_t ts,
    const char *type, const char *state_key, const char *sender,
    json_t *content)
{
	struct mstate_key	 keys[8];
	struct view		 v = { g, f };
	json_t			*ev, *auths;
	const json_t		*ae;
	char			 why[256];
	size_t			 n, i;

	ev = json_pack("{s:s, s:s, s:s, s:o, s:I, s:I, s:[], s:[]}",
	    "event_id", id, "type", type, "sender", sender, "content", content,
	    "origin_server_ts", (json_int_t)ts, "depth", (json_int_t)ts,
	    "prev_events", "auth_events");
	if (ev == NULL) {
		fprintf(stderr, "FAIL: json_pack %s\n", id);
		exit(1);
	}
	if (!(g->v12 && strcmp(type, "m.room.create") == 0))
		json_object_set_new(ev, "room_id", json_string(g->room_id));
	if (state_key != NULL)
		json_object_set_new(ev, "state_key", json_string(state_key));
	if (f->last[0] != '\0')
		json_array_append_new(json_object_get(ev, "prev_events"),
		    json_string(f->last));
	auths = json_object_get(ev, "auth_events");
	n = mevent_auth_types(ev, g->ver, keys, 8);
	for (i = 0; i < n; i++)
		if ((ae = view_get(&v, keys[i].type, keys[i].state_key)) != NULL)
			json_array_append(auths, json_object_get(ae, "event_id"));
	if (!mevent_auth_check(ev, g->ver, view_get, &v, why, sizeof(why))) {
		fprintf(stderr, "FAIL v%s setup: %s refused: %s\n", g->ver->id,
		    id, why);
		exit(1);
	}
	json_object_set_new(g->events, id, ev);
	if (state_key != NULL)
		set(f->state, type, state_key, id);
	snprintf(f->last, sizeof(f->last), "%s", id);
}

/* Power levels: Alice 100 (before v12; a creator is not listed in v12). */
static json_t *
pl(struct graph *g, int bob, int charlie)
{
	json_t	*c, *users;

	users = json_pack("{s:i}", BOB, bob);
	if (!g->v12)
		json_object_set_new(users, ALICE, json_integer(100));
	if (charlie >= 0)
		json_object_set_new(users, CHARLIE, json_integer(charlie));
	c = json_object();
	json_object_set_new(c, "users", users);
	return c;
}

/*
 * The common start, on fork f: Alice creates the room (ts 1), joins
 * (2), sets power levels with Bob at 50 (3) and a public join rule (4);
 * Bob (5) and Charlie (6) join.  Levels not set default: state 50,
 * kick 50, ban 50, users 0.
 */
static void
base(struct graph *g, struct fork *f, const char *ver)
{
	memset(g, 0, sizeof(*g));
	memset(f, 0, sizeof(*f));
	g->ver = version(ver);
	g->v12 = g->ver->create_room_id;
	g->room_id = g->v12 ? "!create" : "!room:example.org";
	g->events = json_object();
	f->state = json_object();
	add(g, f, "$create", 1, "m.room.create", "", ALICE, g->v12 ?
	    json_pack("{s:s}", "room_version", ver) :
	    json_pack("{s:s, s:s}", "creator", ALICE, "room_version", ver));
	add(g, f, "$ima", 2, "m.room.member", ALICE, ALICE, member("join"));
	add(g, f, "$pl1", 3, "m.room.power_levels", "", ALICE, pl(g, 50, -1));
	add(g, f, "$jr", 4, "m.room.join_rules", "", ALICE,
	    json_pack("{s:s}", "join_rule", "public"));
	add(g, f, "$imb", 5, "m.room.member", BOB, BOB, member("join"));
	add(g, f, "$imc", 6, "m.room.member", CHARLIE, CHARLIE, member("join"));
}

/* Forks a and b off f0: copies of its state and last event. */
static void
split(const struct fork *f0, struct fork *a, struct fork *b)
{
	a->state = json_copy(f0->state);
	memcpy(a->last, f0->last, sizeof(a->last));
	b->state = json_copy(f0->state);
	memcpy(b->last, f0->last, sizeof(b->last));
}

/* Resolves {a, b} (and {b, a}: the order of the states must not matter). */
static void
expect(struct graph *g, const char *what, struct fork *a, struct fork *b,
    json_t *want)
{
	json_t	*states, *got;
	int	 i;

	for (i = 0; i < 2; i++) {
		states = i == 0 ? json_pack("[O, O]", a->state, b->state) :
		    json_pack("[O, O]", b->state, a->state);
		got = mstate_resolve(g->ver, states, graph_get, g);
		same_json(got, want, "v%s %s%s", g->ver->id, what,
		    i ? " (states swapped)" : "");
		json_decref(got);
		json_decref(states);
	}
}

/* expect(), then frees want and the test's graph and forks. */
static void
resolve(struct graph *g, const char *what, struct fork *f0, struct fork *a,
    struct fork *b, json_t *want)
{
	expect(g, what, a, b, want);
	json_decref(want);
	json_decref(f0->state);
	json_decref(a->state);
	json_decref(b->state);
	json_decref(g->events);
}

/*
 * (a1) Two competing power levels.  Fork A: Alice (100) demotes Bob to
 * 0 (ts 30).  Fork B: Bob (50) raises Charlie to 50 (ts 20, earlier).
 *
 * Conflicted: the power levels key, {$pa, $pb}.  $pb cites Bob's join
 * $imb, which nothing in fork A's state cites, so $imb is in the auth
 * difference; the full conflicted set is {$pa, $pb, $imb}.  All three
 * are in X ($imb through $pb's auth chain).  Reverse topological power
 * ordering: $pa and $imb are ready first; $pa's sender has 100, $imb's
 * 50, so $pa; then $imb; then $pb (which needed $imb).  Iterative auth
 * checks: $pa passes (Alice has 100 under $pl1), $imb passes (public
 * room), $pb fails: under $pa Bob has 0, below state_default 50.  Alice's
 * demotion wins; Charlie stays at 0.
 */
static void
test_power_levels(const char *ver)
{
	struct graph	 g;
	struct fork	 f0, a, b;
	json_t		*want;

	base(&g, &f0, ver);
	split(&f0, &a, &b);
	add(&g, &a, "$pa", 30, "m.room.power_levels", "", ALICE, pl(&g, 0, -1));
	add(&g, &b, "$pb", 20, "m.room.power_levels", "", BOB, pl(&g, 50, 50));
	want = json_copy(f0.state);
	set(want, "m.room.power_levels", "", "$pa");
	resolve(&g, "power levels conflict", &f0, &a, &b, want);
}

/*
 * (a2) A demotion against a kick by the demoted user, where the order
 * decides.  Fork A: Alice demotes Bob to 0 (ts 30).  Fork B: Bob (50,
 * kick level 50) kicks Charlie (ts 20).
 *
 * Conflicted: power levels {$pl1, $pa} and Charlie's membership {$imc,
 * $kick}.  $kick cites $imb and $imc, which only fork B's auth chain
 * holds, so the auth difference is {$imb, $imc}.  Every one of them is a
 * power event or in one's auth chain: X = {$pl1, $pa, $kick, $imb,
 * $imc}.  Order: $pl1 (everything's ancestor), then $pa (sender 100),
 * $imb (50), $imc (0), and $kick last.  $kick is checked after $pa, when
 * Bob has 0 < kick 50, and fails: Charlie stays joined.  Ordering by
 * timestamp alone would have put $kick (ts 20) before $pa (ts 30) and
 * let it through.
 */
static void
test_demote_vs_kick(const char *ver)
{
	struct graph	 g;
	struct fork	 f0, a, b;
	json_t		*want;

	base(&g, &f0, ver);
	split(&f0, &a, &b);
	add(&g, &a, "$pa", 30, "m.room.power_levels", "", ALICE, pl(&g, 0, -1));
	add(&g, &b, "$kick", 20, "m.room.member", CHARLIE, BOB, member("leave"));
	want = json_copy(f0.state);
	set(want, "m.room.power_levels", "", "$pa");
	resolve(&g, "demotion against kick", &f0, &a, &b, want);
}

/*
 * (b) Alice bans Bob on fork A (ts 20) while Bob changes the topic on
 * fork B (ts 21).  The base has Alice's topic $t0 (ts 7).
 *
 * Conflicted: Bob's membership {$imb, $ban}, the topic {$t0, $tb}; both
 * forks' auth chains hold the same events, so no auth difference.  X =
 * {$ban} plus $imb from its auth chain, ordered $imb, $ban: both pass,
 * Bob is banned.  The rest, {$t0, $tb}, both cite $pl1, so their
 * mainline positions tie (0 in v10; infinite in v12, whose partial
 * state has no power levels) and the timestamps order them $t0, $tb.  $t0 passes;
 * $tb fails because its sender is no longer joined.  The topic stays
 * $t0 although $tb is the later event.
 */
static void
test_ban_vs_topic(const char *ver)
{
	struct graph	 g;
	struct fork	 f0, a, b;
	json_t		*want;

	base(&g, &f0, ver);
	add(&g, &f0, "$t0", 7, "m.room.topic", "", ALICE,
	    json_pack("{s:s}", "topic", "alice's"));
	split(&f0, &a, &b);
	add(&g, &a, "$ban", 20, "m.room.member", BOB, ALICE, member("ban"));
	add(&g, &b, "$tb", 21, "m.room.topic", "", BOB,
	    json_pack("{s:s}", "topic", "bob's"));
	want = json_copy(f0.state);
	set(want, "m.room.member", BOB, "$ban");
	resolve(&g, "ban against topic", &f0, &a, &b, want);
}

/*
 * (c) Unconflicted state passes through.  The base has Bob's topic $tb0
 * (ts 7).  Fork A: Alice bans Bob (ts 20).  Fork B: Alice names the room
 * (ts 21).  $tb0 is in both states, so it is unconflicted and step 5
 * puts it in the result, although Bob is banned there: unconflicted
 * events are never re-checked.  The name exists in fork B only, which
 * makes it conflicted; it passes its checks and is kept.  Identical
 * states resolve to themselves.
 */
static void
test_unconflicted(const char *ver)
{
	struct graph	 g;
	struct fork	 f0, a, b;
	json_t		*want;

	base(&g, &f0, ver);
	add(&g, &f0, "$tb0", 7, "m.room.topic", "", BOB,
	    json_pack("{s:s}", "topic", "bob's"));
	split(&f0, &a, &b);
	expect(&g, "identical states", &a, &b, f0.state);
	add(&g, &a, "$ban", 20, "m.room.member", BOB, ALICE, member("ban"));
	add(&g, &b, "$name", 21, "m.room.name", "", ALICE,
	    json_pack("{s:s}", "name", "room"));
	want = json_copy(f0.state);
	set(want, "m.room.member", BOB, "$ban");
	set(want, "m.room.name", "", "$name");
	resolve(&g, "unconflicted state", &f0, &a, &b, want);
}

/*
 * (d) A join rules conflict.  Fork A: Alice makes the room invite-only
 * (ts 20).  Fork B: Eve joins the public room (ts 21).
 *
 * Join rules events are power events, so they are ordered by the
 * reverse topological power ordering, not by the mainline: $jr and
 * $jri do not cite each other, their senders are equal, and the
 * timestamps put $jr (4) before $jri (20): the join rule ends invite.
 * Eve's join is no power event; it is left for the mainline ordering
 * (position 0, from $pl1) and checked against the partial state, where
 * the join rule is now invite and Eve was never invited: refused.
 */
static void
test_join_rules(const char *ver)
{
	struct graph	 g;
	struct fork	 f0, a, b;
	json_t		*want;

	base(&g, &f0, ver);
	split(&f0, &a, &b);
	add(&g, &a, "$jri", 20, "m.room.join_rules", "", ALICE,
	    json_pack("{s:s}", "join_rule", "invite"));
	add(&g, &b, "$eve", 21, "m.room.member", EVE, EVE, member("join"));
	want = json_copy(f0.state);
	set(want, "m.room.join_rules", "", "$jri");
	resolve(&g, "join rules conflict", &f0, &a, &b, want);
}

/*
 * (e) Mainline ordering.  Fork A: Alice sends new power levels $pl2
 * (ts 10), then Bob sets the topic $ta (ts 11), citing $pl2.  Fork B:
 * Bob sets the topic $tb (ts 50), citing $pl1.
 *
 * The power levels resolve to $pl2 (Alice's, after $pl1).  Its mainline
 * is [$pl2, $pl1]: $ta's position is 0, $tb's 1.  The greater position
 * comes first, so $tb is applied before $ta, and $ta, based on the
 * later power levels, wins although $tb has the later timestamp.
 */
static void
test_mainline(const char *ver)
{
	struct graph	 g;
	struct fork	 f0, a, b;
	json_t		*want;

	base(&g, &f0, ver);
	split(&f0, &a, &b);
	add(&g, &a, "$pl2", 10, "m.room.power_levels", "", ALICE,
	    pl(&g, 50, 10));
	add(&g, &a, "$ta", 11, "m.room.topic", "", BOB,
	    json_pack("{s:s}", "topic", "a"));
	add(&g, &b, "$tb", 50, "m.room.topic", "", BOB,
	    json_pack("{s:s}", "topic", "b"));
	want = json_copy(f0.state);
	set(want, "m.room.power_levels", "", "$pl2");
	set(want, "m.room.topic", "", "$ta");
	resolve(&g, "mainline ordering", &f0, &a, &b, want);
}

/*
 * (f) The auth difference.  Fork A: Alice raises Bob to 100 ($pl2),
 * then Bob raises Charlie to 100 ($pl3).  Fork B is the base.  $pl3
 * carries an earlier timestamp than $pl2 (11 against 12: clocks skew).
 *
 * Conflicted: power levels {$pl1, $pl3}.  $pl2 and Bob's join $imb are
 * only in fork A's auth chain, so they are the auth difference and join
 * the full conflicted set; X = {$pl1, $pl2, $pl3, $imb}.  $pl3 needs
 * $pl2 and $imb before it (its auth events), whatever the timestamps
 * and power say: $pl1, $pl2 (100), $imb (50), $pl3.  Under $pl2 Bob
 * has 100 and may raise Charlie: $pl3 wins.  Without the auth
 * difference $pl3 would be checked against $pl1 (Bob 50) and refused;
 * without the topological constraint, $pl3 (100, ts 11) would go
 * before $pl2 (100, ts 12) and be refused too.
 */
static void
test_auth_difference(const char *ver)
{
	struct graph	 g;
	struct fork	 f0, a, b;
	json_t		*want;

	base(&g, &f0, ver);
	split(&f0, &a, &b);
	add(&g, &a, "$pl2", 12, "m.room.power_levels", "", ALICE,
	    pl(&g, 100, -1));
	add(&g, &a, "$pl3", 11, "m.room.power_levels", "", BOB,
	    pl(&g, 100, 100));
	want = json_copy(f0.state);
	set(want, "m.room.power_levels", "", "$pl3");
	resolve(&g, "auth difference", &f0, &a, &b, want);
}

/*
 * (g) Auth chains enlarge X.  The base ends with Bob leaving ($bl, ts
 * 7).  Fork A: Bob rejoins ($jb, 20) and kicks Charlie ($kick, 21).
 * Fork B is the base.
 *
 * Conflicted: Bob {$bl, $jb}, Charlie {$imc, $kick}; the auth
 * difference adds nothing new.  Only $kick is a power event ($bl is
 * Bob's own leave), but its auth chain brings $jb, $imc and $bl into X:
 * ordered $bl, $jb (50), $imc (0), $kick, all pass, and Charlie ends
 * kicked.  Left to the mainline ordering instead, $imc (ts 6) would be
 * applied after $kick and rejoin Charlie.
 */
static void
test_chain_in_x(const char *ver)
{
	struct graph	 g;
	struct fork	 f0, a, b;
	json_t		*want;

	base(&g, &f0, ver);
	add(&g, &f0, "$bl", 7, "m.room.member", BOB, BOB, member("leave"));
	split(&f0, &a, &b);
	add(&g, &a, "$jb", 20, "m.room.member", BOB, BOB, member("join"));
	add(&g, &a, "$kick", 21, "m.room.member", CHARLIE, BOB,
	    member("leave"));
	want = json_copy(a.state);
	resolve(&g, "auth chain in X", &f0, &a, &b, want);
}

/*
 * (h) Where v12's revision differs: the starting state.  Bob (50)
 * makes the room invite-only ($jrx, ts 10) while Alice demotes him to 0
 * ($pl2, ts 11, citing only $pl1).  State A has both; state B has $pl2
 * and the old join rule.  So $pl2 is unconflicted, the join rule
 * conflicted {$jr, $jrx}, and $imb (cited by $jrx only) the auth
 * difference.  X = {$jr, $imb, $jrx} in that order ($jrx cites $imb,
 * which cites $jr).
 *
 * v2 (v10) starts the iterative auth checks from the unconflicted
 * state, where $pl2 already gives Bob 0: $jrx is refused and the join
 * rule stays $jr.  v12 starts from an empty state; the power levels
 * come from $jrx's own auth events ($pl1, Bob 50), $jrx passes, and the
 * join rule is $jrx.  Step 5 then adds $pl2 either way.
 */
static void
test_starting_state(const char *ver)
{
	struct graph	 g;
	struct fork	 f0, a, b;
	json_t		*want;

	base(&g, &f0, ver);
	split(&f0, &a, &b);
	add(&g, &a, "$jrx", 10, "m.room.join_rules", "", BOB,
	    json_pack("{s:s}", "join_rule", "invite"));
	add(&g, &a, "$pl2", 11, "m.room.power_levels", "", ALICE,
	    pl(&g, 0, -1));
	set(b.state, "m.room.power_levels", "", "$pl2");
	want = json_copy(f0.state);
	set(want, "m.room.power_levels", "", "$pl2");
	if (g.v12)
		set(want, "m.room.join_rules", "", "$jrx");
	resolve(&g, "starting state", &f0, &a, &b, want);
}

/*
 * (i) v12's conflicted state subgraph.  Fork A: Bob leaves ($bla) and
 * Alice then changes the power levels ($pla, ts 20).  Fork B: Bob sets
 * a display name ($bjb, a join).  Both Bob events carry timestamps
 * older than his first join $imb (2 and 3 against 5: clocks skew, and
 * origin_server_ts is the sender's word).
 *
 * Conflicted: Bob {$bla, $bjb}, power levels {$pla, $pl1}; both states
 * cite $imb, so the auth difference is empty.  v2 (v10): the rest is
 * {$bla, $bjb}, both at mainline position 1 (they cite $pl1), applied
 * by timestamp: $bjb, then $bla, and Bob has left.
 *
 * v12: $bla -> $imb -> $pl1 and $imb -> $jr -> $pl1 are paths between
 * conflicted events, so $imb and $jr join the full conflicted set.
 * $jr is a power event and goes to X; $imb, not a power event nor in
 * the auth chain of one there, joins the rest: {$bjb (ts 2), $bla (3),
 * $imb (5)}, all at position 1.  Each passes in turn and $imb, applied
 * last, leaves Bob joined.  That is the spec's letter, skewed clocks
 * and all.
 */
static void
test_subgraph(const char *ver)
{
	struct graph	 g;
	struct fork	 f0, a, b;
	json_t		*want;

	base(&g, &f0, ver);
	split(&f0, &a, &b);
	add(&g, &a, "$bla", 3, "m.room.member", BOB, BOB, member("leave"));
	add(&g, &a, "$pla", 20, "m.room.power_levels", "", ALICE,
	    pl(&g, 50, 10));
	add(&g, &b, "$bjb", 2, "m.room.member", BOB, BOB, json_pack(
	    "{s:s, s:s}", "membership", "join", "displayname", "Bob"));
	want = json_copy(f0.state);
	set(want, "m.room.power_levels", "", "$pla");
	set(want, "m.room.member", BOB, g.v12 ? "$imb" : "$bla");
	resolve(&g, "conflicted state subgraph", &f0, &a, &b, want);
}

/* Room version 1 needs state resolution v1: mstate_resolve refuses it. */
static void
test_v1(void)
{
	json_t	*states, *got;

	states = json_pack("[{}, {}]");
	got = mstate_resolve(mroomver_get("1"), states, graph_get, NULL);
	if (got != NULL)
		FAIL("v1: resolved");
	json_decref(got);
	got = mstate_resolve_v1(mroomver_get("1"), states, graph_get, NULL);
	if (got == NULL || json_object_size(got) != 0)
		FAIL("v1: two empty states do not resolve to an empty one");
	json_decref(got);
	json_decref(states);
}

int
main(void)
{
	/* v10: state resolution v2; v12: its revision, creators above all. */
	const char	*vers[] = { "10", "12" };
	size_t		 i;

	for (i = 0; i < sizeof(vers) / sizeof(vers[0]); i++) {
		test_power_levels(vers[i]);
		test_demote_vs_kick(vers[i]);
		test_ban_vs_topic(vers[i]);
		test_unconflicted(vers[i]);
		test_join_rules(vers[i]);
		test_mainline(vers[i]);
		test_auth_difference(vers[i]);
		test_chain_in_x(vers[i]);
		test_starting_state(vers[i]);
		test_subgraph(vers[i]);
	}
	test_v1();
	return failed;
}
