/* Helpers shared by the room handlers of myelin-client. */
#ifndef MYELIN_CLIENT_ROOMS_H
#define MYELIN_CLIENT_ROOMS_H

#include "fcgi/fcgi.h"
#include "room/room.h"

/* Sets up a room context for this request. */
void	room_ctx(struct mreq *, struct mroom_ctx *);
/* Turns a failed mroom_* call into the Matrix error.  Returns -1. */
int	room_fail(struct mreq *, struct mroom_ctx *, enum mroom_err);
/*
 * MSC4140 (h_delayed.c).  room_delay_param: 1 with *delay when the
 * request asks for a delayed event (and delayed events are on and the
 * delay within max_event_delay_ms), 0 when it does not, -1 after
 * failing the request.  room_delay: keeps the event for later and
 * answers {delay_id}; 0 or -1 (failed).
 */
int	room_delay_param(struct mreq *, int64_t *delay);
int	room_delay(struct mreq *, const char *room_id, const char *type,
	    const char *state_key, const json_t *content, int64_t delay);
/*
 * Sends one event in its own transaction and wakes waiting syncs.
 * Returns 0 with *event_id (malloc'd), or -1 with the request failed.
 * A shadow-banned sender's event (not a join or leave) is not sent and
 * gets a made-up ID; a blocked room refuses joins, invites and knocks
 * with 403 M_FORBIDDEN.
 */
int	room_send1(struct mreq *, const char *room_id, const char *type,
	    const char *state_key, const json_t *content, const char *redacts,
	    const char *txn_id, char **event_id);
/*
 * Spec: C-S API, PUT /profile/{userId}/displayname and /avatar_url: after
 * the user's profile changed, a new m.room.member event with it (the
 * content of a fresh join, as Synapse sends) in every room the user is
 * joined to, each in its own transaction through mroom_send.  A room that
 * refuses it (blocked, the auth rules) or fails is logged and skipped:
 * the profile change stands.  Returns 0, or -1 after failing the request
 * (500) when the rooms cannot be listed.
 */
int	room_profile_rejoin(struct mreq *);
/*
 * Adds user_id's displayname and avatar_url, those set, to membership
 * content, unless content names them already (a per-room profile).
 */
void	room_member_profile(struct mreq *, const char *user_id, json_t *content);
/*
 * Parses fs, the text of a filter query parameter (a RoomEventFilter;
 * NULL when absent), into *filter (NULL when absent).  0, or -1 after
 * failing the request: 400 M_NOT_JSON, or M_BAD_JSON when not an object or
 * not a RoomEventFilter (mfilter_room_event_check).
 */
int	room_filter_parse(struct mreq *, const char *fs, json_t **filter);
/* 1 when user_id is joined to room_id; 0 after failing the request (403/404); -1. */
int	room_require_joined(struct mreq *, const char *room_id);
/*
 * Spec: C-S API, "History visibility": whether the user may read room_id
 * (joined, a former member up to the leave, or anyone in a room
 * world_readable now; see mroom_vis_reader), into *r.  1, or 0 after
 * failing the request: 404 M_NOT_FOUND for an unknown room, 403
 * M_FORBIDDEN, 500.
 */
int	room_require_reader(struct mreq *, const char *room_id, struct mroom_reader *r);
/*
 * Which of rows[0..n) the user may see (mroom_vis_filter): n flags,
 * malloc'd (at least one byte), or NULL after failing the request (500).
 */
unsigned char	*room_vis_keep(struct mreq *, const struct mevrow *rows, size_t n);

/*
 * Synapse (copy_room_tags_and_direct_to_room): a user newly joined to
 * new_id, the replacement of old_id, takes along their tags of old_id
 * and its place in their m.direct lists.  Best effort after the join:
 * a failure is logged, the join stands.
 */
void	room_upgrade_carry(struct mreq *, const char *old_id, const char *new_id,
	    const char *user_id);
/* room_upgrade_carry for a user newly joined to room_id, when it replaced a room. */
void	room_upgrade_joined(struct mreq *, const char *room_id, const char *user_id);

/*
 * Third-party invites (h_3pid.c).  room_3pid_invite_keys: 1 when an
 * invite body names a 3PID (medium and address: Synapse's test).
 * room_3pid_invite_check: the keys one needs (400 M_MISSING_PARAM,
 * M_BAD_JSON, M_INVALID_PARAM), 0 or -1 after failing the request.
 * room_3pid_invite: looks the 3PID up and invites its user, or stores
 * the invite at the identity server and sends m.room.third_party_invite;
 * room_3pid_exchange: POST /join's third_party_signed made an invite.
 * Both 0, or -1 after failing the request.
 */
int	room_3pid_invite_keys(const json_t *body);
int	room_3pid_invite_check(struct mreq *, const json_t *inv);
int	room_3pid_invite(struct mreq *, const char *room_id, const json_t *inv);
int	room_3pid_exchange(struct mreq *, const char *room_id, const json_t *tps);

int	h_create_room(struct mreq *);
int	h_join_room_id(struct mreq *);
int	h_join_alias(struct mreq *);
int	h_knock(struct mreq *);
int	h_invite(struct mreq *);
int	h_leave(struct mreq *);
int	h_kick(struct mreq *);
int	h_ban(struct mreq *);
int	h_unban(struct mreq *);
int	h_send(struct mreq *);
int	h_state_put(struct mreq *);
int	h_redact(struct mreq *);

int	h_state_get(struct mreq *);
int	h_state_all(struct mreq *);
int	h_event_get(struct mreq *);
int	h_event_get_legacy(struct mreq *);
int	h_messages(struct mreq *);
int	h_members(struct mreq *);
int	h_joined_members(struct mreq *);
int	h_joined_rooms(struct mreq *);

int	h_alias_put(struct mreq *);
int	h_alias_get(struct mreq *);
int	h_alias_delete(struct mreq *);
int	h_room_aliases(struct mreq *);

#endif
