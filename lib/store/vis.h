/* Storage reads of history visibility: a user's standing in rooms, the state at events. */
#ifndef MYELIN_STORE_VIS_H
#define MYELIN_STORE_VIS_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

struct mdb;
struct mevrow;

/* A user's current membership of one room, as history visibility needs it. */
struct mvisstand {
	char		*room_id;
	char		*membership;	/* join, invite, leave, ban, knock */
	int64_t		 stream;	/* position of the membership event */
	int64_t		 state_before;	/* state groups around it */
	int64_t		 state_after;
	int		 forgotten;	/* the user forgot the room since */
};

/*
 * The user's current membership in each of rooms (a JSON array of room
 * IDs) that has one, in no order.  0 with *out (free with
 * mvisstand_list_free), or -1.
 */
int	mstore_vis_standings(struct mdb *, const char *user_id, const json_t *rooms,
	    struct mvisstand **out, size_t *outsz);
void	mvisstand_list_free(struct mvisstand *, size_t);

/*
 * Which of users (a JSON array of user IDs) had their accounts erased
 * (deactivated with erase): a new object with each of those as a key,
 * possibly empty, or NULL.  One query whatever the count.
 */
json_t	*mstore_vis_erased(struct mdb *, const json_t *users);

/* What the state of one group says of a user's view. */
struct mvisgroup {
	int64_t		 group;
	char		*membership;	/* the user's, NULL when none */
	char		*visibility;	/* the room's history_visibility, NULL when none */
};

/*
 * The user's membership and the history_visibility in each of groups (a
 * JSON array of state group IDs, 0 standing for the empty state): one
 * element per distinct group asked for that has either, ordered by
 * group.  One query whatever the count.  0 with *out (free with
 * mvisgroup_list_free), or -1.
 */
int	mstore_vis_groups(struct mdb *, const char *user_id, const json_t *groups,
	    struct mvisgroup **out, size_t *outsz);
void	mvisgroup_list_free(struct mvisgroup *, size_t);

/*
 * Up to limit accepted events of room_id nearest to timestamp ts: at or
 * after it by origin_server_ts (forwards) or at or before it
 * (backwards), nearest first, after the keyset (after_ts, after_stream)
 * of the last one looked at (INT64_MIN, 0 forwards and INT64_MAX,
 * INT64_MAX backwards for the first page).  0 with *out (free with
 * mevrow_list_free), or -1.
 */
int	mstore_vis_near_ts(struct mdb *, const char *room_id, int64_t ts, int backwards,
	    int64_t after_ts, int64_t after_stream, int64_t limit, struct mevrow **out,
	    size_t *outsz);

#endif
