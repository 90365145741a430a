/* Receipts, read markers, push rules, notifications and pushers in myelin-client. */
#ifndef MYELIN_CLIENT_PUSH_H
#define MYELIN_CLIENT_PUSH_H

#include "fcgi/fcgi.h"

/* h_receipts.c */
int	h_receipt(struct mreq *);
int	h_read_markers(struct mreq *);

/* h_push.c */
int	h_pushrules(struct mreq *);
int	h_pushrules_global(struct mreq *);
int	h_pushrules_kind(struct mreq *);
int	h_pushrules_malformed(struct mreq *);
int	h_pushrule_get(struct mreq *);
int	h_pushrule_put(struct mreq *);
int	h_pushrule_delete(struct mreq *);
int	h_pushrule_enabled_get(struct mreq *);
int	h_pushrule_enabled_put(struct mreq *);
int	h_pushrule_actions_get(struct mreq *);
int	h_pushrule_actions_put(struct mreq *);
int	h_notifications(struct mreq *);
int	h_pushers(struct mreq *);
int	h_pushers_set(struct mreq *);

#endif
