/* Typing, account data, tags and presence in myelin-client. */
#ifndef MYELIN_CLIENT_EPHEMERAL_H
#define MYELIN_CLIENT_EPHEMERAL_H

#include "fcgi/fcgi.h"

/* h_typing.c */
int	h_typing(struct mreq *);

/* h_account_data.c */
int	h_account_data_get(struct mreq *);
int	h_account_data_put(struct mreq *);
int	h_room_account_data_get(struct mreq *);
int	h_room_account_data_put(struct mreq *);
int	h_tags_get(struct mreq *);
int	h_tag_put(struct mreq *);
int	h_tag_delete(struct mreq *);

/* h_presence.c */
int	h_presence_get(struct mreq *);
int	h_presence_put(struct mreq *);

#endif
