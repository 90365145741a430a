/* End-to-end encryption in myelin-client: keys and to-device messages. */
#ifndef MYELIN_CLIENT_E2EE_H
#define MYELIN_CLIENT_E2EE_H

#include "fcgi/fcgi.h"

/* h_keys.c */
int	h_keys_upload(struct mreq *);
int	h_keys_query(struct mreq *);
int	h_keys_claim(struct mreq *);
int	h_keys_changes(struct mreq *);

/* h_todevice.c */
int	h_send_to_device(struct mreq *);

/* h_cross_signing.c */
int	h_device_signing_upload(struct mreq *);
int	h_signatures_upload(struct mreq *);

/* h_room_keys.c */
int	h_backup_create(struct mreq *);
int	h_backup_current(struct mreq *);
int	h_backup_get(struct mreq *);
int	h_backup_update(struct mreq *);
int	h_backup_delete(struct mreq *);
int	h_room_keys_put(struct mreq *);
int	h_room_keys_get(struct mreq *);
int	h_room_keys_delete(struct mreq *);

/* 1 when user_id, a checked user ID, belongs to this server (h_keys.c). */
int	e2ee_user_local(const struct mreq *, const char *user_id);

#endif
