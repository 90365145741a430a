/* Shared internals of lib/admin. */
#ifndef MYELIN_ADMIN_EXTERN_H
#define MYELIN_ADMIN_EXTERN_H

#include "admin/admin.h"
#include "room/room.h"

/*
 * Sends user_id's own leave from room_id (a declined invite or a
 * withdrawn knock when that is its membership), inside the caller's
 * transaction.  The auth rules let anyone leave, so MROOM_FORBIDDEN only
 * means there was nothing to leave.  MROOM_ERROR without a signing key.
 */
enum mroom_err	madmin_leave(struct madmin *, const char *room_id, const char *user_id);
/* Leaves one transaction makes in a deactivation or room shutdown. */
#define MADMIN_LEAVE_BATCH	20
/* Sets a->why and returns rc. */
enum madmin_rc	madmin_fail(struct madmin *, enum madmin_rc rc, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));

#endif
