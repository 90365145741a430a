/*
 * Rate limits as Synapse has them (rc_message, rc_login.address...; the
 * table is ratelimit/limits.h, the values myelin.conf(5)'s): buckets in
 * the database, shared by every process and host using it.  A refusal
 * is 429 M_LIMIT_EXCEEDED with retry_after_ms (and Retry-After).
 */
#ifndef MYELIN_RATELIMIT_H
#define MYELIN_RATELIMIT_H

#include <jansson.h>

#include "ratelimit/limits.h"

struct mreq;

/*
 * One action of limit rc on the bucket of key (an address, a user ID, a
 * room ID): 0 allowed and counted, or -1 with req failed (429, or 500
 * when the store failed).  _check only looks: the action is not counted
 * (Synapse's update=False), for a limit counted later on success or
 * failure.
 */
int	mratelimit_take(struct mreq *, enum mrc rc, const char *key);
int	mratelimit_check(struct mreq *, enum mrc rc, const char *key);
/*
 * Counts one action when the bucket has room, leaving the request
 * alone (Synapse's can_do_action on a failure): 1 counted, 0 full, -1.
 */
int	mratelimit_count(struct mreq *, enum mrc rc, const char *key);
/*
 * The limit of an event a client sends in room_id (one call in the
 * client's write path): a member event with membership join is
 * rc_joins.local for the sender, an invite rc_invites.per_room for the
 * room and rc_invites.per_user for the invitee, other member events
 * none, and every other event rc_message (mratelimit_user).  0 or -1
 * with the request failed.
 */
int	mratelimit_event(struct mreq *, const char *room_id, const char *type,
	    const char *state_key, const json_t *content);
/*
 * The same for the request's own user (req->auth.user_id) as the key:
 * server admins are exempt, and the user's override (admin API
 * override_ratelimit) replaces rc's values, messages_per_second 0 being
 * no limit at all.
 */
int	mratelimit_user(struct mreq *, enum mrc rc);

#endif
