/* Storage for the admin toolkit: user and room listings, blocks, room deletions, reports. */
#ifndef MYELIN_STORE_ADMIN_H
#define MYELIN_STORE_ADMIN_H

#include <stdint.h>
#include <jansson.h>

struct mdb;

/* The filters and order of Synapse's GET /_synapse/admin/v2/users. */
struct madmin_userq {
	const char	*server_name;
	const char	*name;		/* in the localpart or display name; NULL: any */
	const char	*user_id;	/* in the user ID (ignored with name); NULL: any */
	int		 guests;	/* include guests */
	int		 deactivated;	/* include deactivated users */
	int		 admins;	/* 1 only admins, 0 no admins, -1 both */
	const char	*order_by;	/* a column Synapse names; see mstore_admin_user_order_check */
	int		 backwards;	/* dir=b */
	int64_t		 from;		/* offset */
	int64_t		 limit;
};

/* 1 when order_by is one of Synapse's user list orders, else 0. */
int	mstore_admin_user_order_check(const char *order_by);
/*
 * The users q selects, as objects of Synapse's user list (name, is_guest,
 * admin, user_type, deactivated, erased, shadow_banned, displayname,
 * avatar_url, creation_ts, last_seen_ts, locked): *out a new array, *total
 * how many match in all.  0 or -1.
 */
int	mstore_admin_users(struct mdb *, const struct madmin_userq *q, json_t **out,
	    int64_t *total);
/*
 * One user as Synapse's GET /_synapse/admin/v2/users/{userId} shows it:
 * the list's fields plus the ones myelin has no use for (threepids,
 * external_ids, appservice_id, consent_*, suspended), empty or null.
 * 1 with *out (new), 0 when there is no such user, -1.
 */
int	mstore_admin_user(struct mdb *, const char *user_id, json_t **out);
int	mstore_user_set_shadow_banned(struct mdb *, const char *user_id, int on);
int	mstore_user_set_erased(struct mdb *, const char *user_id, int on);
/* Deletes every pusher of user_id, of any device or none (deactivation).  0 or -1. */
int	mstore_user_pushers_del(struct mdb *, const char *user_id);
/* user_type NULL clears it. */
int	mstore_user_set_type(struct mdb *, const char *user_id, const char *user_type);
/* Rooms where user_id is joined, invited or knocking: a new array of IDs, or NULL. */
json_t	*mstore_user_memberships(struct mdb *, const char *user_id);

/*
 * Every room (room_id NULL) or one, as objects of Synapse's room list:
 * room_id, name, canonical_alias, joined_members, joined_local_members
 * (members on server_name), version, creator, encryption, federatable,
 * public, join_rules, guest_access, history_visibility, state_events,
 * room_type, plus topic and avatar; null where the room has no such
 * state.  In room ID order.  A new array, or NULL on failure.
 */
json_t	*mstore_admin_rooms(struct mdb *, const char *server_name, const char *room_id);
/*
 * What Synapse's room details add to the list: joined devices of local
 * users, and whether every local user has forgotten the room.  0 or -1.
 */
int	mstore_admin_room_extra(struct mdb *, const char *server_name, const char *room_id,
	    int64_t *local_devices, int *forgotten);
/* Joined members' user IDs, sorted: a new array, or NULL. */
json_t	*mstore_room_joined(struct mdb *, const char *room_id);
/* Users of server_name joined, invited or knocking: a new array, or NULL. */
json_t	*mstore_room_local_members(struct mdb *, const char *server_name, const char *room_id);
/*
 * The current state events of a room with their "event_id", oldest first;
 * type NULL: every type.  A new array, or NULL.
 */
json_t	*mstore_admin_room_state(struct mdb *, const char *room_id, const char *type);

/*
 * Blocks room_id (known or not) in the name of user_id (NULL: no user,
 * as from myelin-admin); a second block keeps the first.  0 or -1.
 */
int	mstore_room_block(struct mdb *, const char *room_id, const char *user_id);
/* 1 unblocked, 0 was not blocked, -1. */
int	mstore_room_unblock(struct mdb *, const char *room_id);
/* 1 blocked (*by, if not NULL, gets who blocked it, malloc'd, or NULL), 0 not, -1. */
int	mstore_room_blocked(struct mdb *, const char *room_id, char **by);
/* Deletes every alias of room_id.  0 or -1. */
int	mstore_room_aliases_del(struct mdb *, const char *room_id);
/*
 * Removes every row of a room: events and their search index, state,
 * relations, forgotten records, reports, typing, room account data,
 * receipts, notifications, lazy-loading records, aliases and the room.
 * Blocks and deletion records stay.  In the caller's transaction.  0 or -1.
 */
int	mstore_room_purge(struct mdb *, const char *room_id);

/*
 * Records the outcome of a room deletion: status "complete" or "failed"
 * (error says why), result the shutdown_room object.  0 or -1.
 */
int	mstore_room_delete_add(struct mdb *, const char *delete_id, const char *room_id,
	    const char *status, const char *error, const json_t *result);
/*
 * One deletion as Synapse's delete_status shows it: delete_id, room_id,
 * status, error when failed, shutdown_room.  1 with *out (new), 0, -1.
 */
int	mstore_room_delete_get(struct mdb *, const char *delete_id, json_t **out);
/* Every deletion of a room, oldest first: a new array, or NULL. */
json_t	*mstore_room_deletes(struct mdb *, const char *room_id);

/* The filters of Synapse's GET /_synapse/admin/v1/event_reports. */
struct madmin_reportq {
	const char	*user_id;	/* in the reporter's ID; NULL: any */
	const char	*room_id;	/* in the room ID; NULL: any */
	const char	*sender;	/* the reported event's sender; NULL: any */
	int		 forwards;	/* oldest first (dir=f); newest first by default */
	int64_t		 from;
	int64_t		 limit;
};

/*
 * Event reports as Synapse lists them (id, received_ts, room_id, name,
 * event_id, user_id, reason, score, sender, canonical_alias): *out a new
 * array, *total how many match.  0 or -1.
 */
int	mstore_event_reports(struct mdb *, const struct madmin_reportq *, json_t **out,
	    int64_t *total);
/* One report with event_json, the reported PDU.  1 with *out (new), 0, -1. */
int	mstore_event_report_get(struct mdb *, int64_t id, json_t **out);
/* 1 deleted, 0 absent, -1. */
int	mstore_event_report_del(struct mdb *, int64_t id);

/*
 * Changes a registration token: uses_allowed when set_uses (-1: unlimited),
 * expiry_time when set_expiry (-1: never).  1 changed, 0 no such token, -1.
 */
int	mstore_regtoken_set(struct mdb *, const char *token, int set_uses, int64_t uses,
	    int set_expiry, int64_t expiry);

/*
 * Counts for myelin-admin stats: users, admins, deactivated, guests,
 * shadow_banned, devices, sessions, rooms, published_rooms,
 * blocked_rooms, events, event_reports, registration_tokens.  A new
 * object, or NULL.
 */
json_t	*mstore_admin_stats(struct mdb *);

/* Reclaims free space and refreshes the planner's statistics (VACUUM).  0 or -1. */
int	mdb_vacuum(struct mdb *);

#endif
