/* Room directory, knocking, forgetting, reports, upgrades and spaces in myelin-client. */
#ifndef MYELIN_CLIENT_DIRECTORY_H
#define MYELIN_CLIENT_DIRECTORY_H

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

int	h_dir_visibility_get(struct mreq *);
int	h_dir_visibility_put(struct mreq *);
int	h_public_rooms_get(struct mreq *);
int	h_public_rooms_post(struct mreq *);
int	h_knock(struct mreq *);
int	h_forget(struct mreq *);
int	h_report_event(struct mreq *);
int	h_upgrade(struct mreq *);
int	h_hierarchy(struct mreq *);

#endif
