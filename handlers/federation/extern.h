/* myelin-federation's handlers. */
#ifndef MYELIN_FEDERATION_EXTERN_H
#define MYELIN_FEDERATION_EXTERN_H

#include "fcgi/fcgi.h"
#include "store/store.h"

/* Beside Synapse (synapse.c): the app served when synapse_database is set. */
const struct mapp *federation_synapse_mode(const struct mconfig *);

int	h_version(struct mreq *);
int	h_key_server(struct mreq *);
int	h_key_query_post(struct mreq *);
int	h_key_query_get(struct mreq *);
int	h_send(struct mreq *);
int	h_query_profile(struct mreq *);
int	h_query_directory(struct mreq *);
int	h_query_other(struct mreq *);
int	h_public_rooms_get(struct mreq *);
int	h_public_rooms_post(struct mreq *);
int	h_3pid_onbind(struct mreq *);
int	h_fed_event(struct mreq *);
int	h_fed_state(struct mreq *);
int	h_fed_state_ids(struct mreq *);
int	h_fed_event_auth(struct mreq *);
int	h_fed_backfill(struct mreq *);
int	h_fed_missing(struct mreq *);
int	h_fed_timestamp(struct mreq *);
int	h_fed_hierarchy(struct mreq *);
int	h_make_join(struct mreq *);
int	h_make_leave(struct mreq *);
int	h_send_join(struct mreq *);
int	h_send_leave(struct mreq *);
int	h_send_join_v1(struct mreq *);
int	h_send_leave_v1(struct mreq *);
int	h_user_devices(struct mreq *);
int	h_user_keys_query(struct mreq *);
int	h_user_keys_claim(struct mreq *);
int	h_fed_media_download(struct mreq *);
int	h_fed_media_thumbnail(struct mreq *);
int	h_fed_invite(struct mreq *);
int	h_make_knock(struct mreq *);
int	h_fed_exchange_3pid(struct mreq *);
int	h_send_knock(struct mreq *);
int	h_fed_invite_v1(struct mreq *);

#endif
