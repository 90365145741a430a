/* mroom_vis_rule and its parsers against the spec's "History visibility" rules, as a table. */
#include <stdio.h>

#include "room/room.h"

static int	 failed;

#define WR	MROOM_HV_WORLD_READABLE
#define SH	MROOM_HV_SHARED
#define INV	MROOM_HV_INVITED
#define JND	MROOM_HV_JOINED
#define J	MROOM_MS_JOIN
#define I	MROOM_MS_INVITE
#define K	MROOM_MS_KNOCK
#define L	MROOM_MS_LEAVE
#define B	MROOM_MS_BAN

/*
 * One event: visibility and membership before and after it (after
 * differs only for the visibility event itself and the user's own
 * membership event), whether the user is peeking, and the verdict.
 */
static const struct {
	const char	*what;
	enum mroom_hv	 hv, hv_after;
	enum mroom_ms	 ms, ms_after;
	int		 peeking;
	int		 want;
} cases[] = {
	/* world_readable: anyone, whatever the membership. */
	{ "world_readable, never a member", WR, WR, L, L, 1, 1 },
	{ "world_readable, banned", WR, WR, B, B, 1, 1 },
	/* Joined at the event: always. */
	{ "joined room, joined at the event", JND, JND, J, J, 0, 1 },
	{ "joined room, joined at the event, left since", JND, JND, J, J, 1, 1 },
	{ "invited room, joined at the event", INV, INV, J, J, 1, 1 },
	/* joined: only if joined at the event. */
	{ "joined room, before the join", JND, JND, L, L, 0, 0 },
	{ "joined room, invited at the event", JND, JND, I, I, 0, 0 },
	{ "joined room, knocking at the event", JND, JND, K, K, 0, 0 },
	/* invited: invited or joined at the event. */
	{ "invited room, invited at the event", INV, INV, I, I, 0, 1 },
	{ "invited room, before the invite", INV, INV, L, L, 0, 0 },
	{ "invited room, knocking at the event", INV, INV, K, K, 0, 0 },
	/* shared: if the user joined since (not peeking). */
	{ "shared, joined now, before the join", SH, SH, L, L, 0, 1 },
	{ "shared, never joined since", SH, SH, L, L, 1, 0 },
	{ "shared, invited now, peeking", SH, SH, I, I, 1, 0 },
	/* The visibility event itself: before or after lets the user see it. */
	{ "shared -> joined, not joined", SH, JND, L, L, 0, 1 },
	{ "joined -> shared, not joined", JND, SH, L, L, 0, 1 },
	{ "joined -> world_readable, peeking", JND, WR, L, L, 1, 1 },
	{ "world_readable -> joined, peeking", WR, JND, L, L, 1, 1 },
	{ "joined -> invited, not invited", JND, INV, L, L, 0, 0 },
	{ "joined -> invited, invited", JND, INV, I, I, 0, 1 },
	/* The user's own membership event: the more joined membership counts. */
	{ "own join in a joined room", JND, JND, L, J, 0, 1 },
	{ "own join after an invite", JND, JND, I, J, 0, 1 },
	{ "own invite in an invited room", INV, INV, L, I, 0, 1 },
	/* Every change of one's own membership is one's own to see. */
	{ "own invite in a joined room", JND, JND, L, I, 1, 1 },
	{ "own invite in a shared room, peeking", SH, SH, L, I, 1, 1 },
	{ "own knock in a joined room", JND, JND, L, K, 1, 1 },
	{ "own leave after join, peeking", JND, JND, J, L, 1, 1 },
	{ "own rejection of an invite", JND, JND, I, L, 1, 1 },
	{ "own ban after a join", JND, JND, J, B, 1, 1 },
	{ "own ban while invited, joined room", JND, JND, I, B, 1, 1 },
	{ "own leave of a knock, joined room", JND, JND, K, L, 1, 1 },
	/* Someone else's membership event: the user's own stays as it was. */
	{ "another's join, joined room, not a member", JND, JND, L, L, 0, 0 },
	{ "another's join, joined room, a member", JND, JND, J, J, 1, 1 },
};

int
main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (mroom_vis_rule(cases[i].hv, cases[i].hv_after, cases[i].ms, cases[i].ms_after,
		    cases[i].peeking) != cases[i].want) {
			fprintf(stderr, "FAIL %s: want %d\n", cases[i].what, cases[i].want);
			failed = 1;
		}
	/* Spec: shared is the default; unknown values read as shared (Synapse). */
	if (mroom_hv_parse(NULL) != SH || mroom_hv_parse("bogus") != SH ||
	    mroom_hv_parse("world_readable") != WR || mroom_hv_parse("joined") != JND ||
	    mroom_hv_parse("invited") != INV || mroom_hv_parse("shared") != SH ||
	    mroom_hv_parse("Joined") != SH) {
		fprintf(stderr, "FAIL mroom_hv_parse\n");
		failed = 1;
	}
	/* No membership, or one not in the spec, is no membership: leave. */
	if (mroom_ms_parse(NULL) != L || mroom_ms_parse("bogus") != L ||
	    mroom_ms_parse("join") != J || mroom_ms_parse("invite") != I ||
	    mroom_ms_parse("knock") != K || mroom_ms_parse("ban") != B ||
	    mroom_ms_parse("leave") != L) {
		fprintf(stderr, "FAIL mroom_ms_parse\n");
		failed = 1;
	}
	return failed;
}
