/* Room directory, knocking, forgetting, reports, upgrades and spaces in myelin-client. */
#ifndef MYELIN_CLIENT_DIRECTORY_H
#define MYELIN_CLIENT_DIRECTORY_H

#include <jansson.h>

#include "fcgi/fcgi.h"

struct mroom_ctx;

/*
 * Whether user_id may send a state event of type (state key "") into
 * room_id under its current state: the room's own auth rules, asked
 * about a probe event.  1 yes, 0 no, -1 on failure (room unknown
 * included; the caller checks that first).
 */
int	dir_may_send_state(struct mroom_ctx *, const char *room_id, const char *user_id,
	    const char *type);

/*
 * Whether user_id (NULL: a client without a token) may see the summary
 * of room_id (mstore_room_summary's, which gets allowed_room_ids for a
 * restricted room): joined or invited, a public or knockable join rule,
 * a restricted one whose rooms the user is in, world-readable history.
 * 1 yes, 0 no, -1 on failure.
 */
int	dir_room_accessible(struct mroom_ctx *, const char *user_id, const char *room_id,
	    json_t *summary);

int	h_dir_visibility_get(struct mreq *);
int	h_dir_visibility_put(struct mreq *);
int	h_public_rooms_get(struct mreq *);
int	h_public_rooms_post(struct mreq *);
int	h_forget(struct mreq *);
int	h_report_event(struct mreq *);
int	h_upgrade(struct mreq *);
int	h_hierarchy(struct mreq *);

#endif
