/* myelin-client: the client-server API handlers. */
#ifndef MYELIN_CLIENT_EXTERN_H
#define MYELIN_CLIENT_EXTERN_H

#include <stdio.h>

#include "fcgi/fcgi.h"

/* Beside Synapse (synapse.c): the app to serve under conf, or NULL (see mapp.mode). */
const struct mapp *client_synapse_mode(const struct mconfig *);

int	h_versions(struct mreq *);
int	h_capabilities(struct mreq *);
int	h_support(struct mreq *);
int	h_delayed_list(struct mreq *);
int	h_delayed_update(struct mreq *);
int	h_policy_server(struct mreq *);

int	h_register(struct mreq *);
int	h_register_available(struct mreq *);
int	h_regtoken_validity(struct mreq *);

int	h_login_flows(struct mreq *);
int	h_login(struct mreq *);
int	h_refresh(struct mreq *);
int	h_logout(struct mreq *);
int	h_logout_all(struct mreq *);
int	h_login_get_token(struct mreq *);

int	h_whoami(struct mreq *);
int	h_password(struct mreq *);
int	h_deactivate(struct mreq *);

int	h_3pid_list(struct mreq *);
int	h_3pid_bind(struct mreq *);
int	h_3pid_unbind(struct mreq *);
int	h_3pid_delete(struct mreq *);
int	h_3pid_add(struct mreq *);
int	h_3pid_email_token(struct mreq *);
int	h_3pid_msisdn_token(struct mreq *);
int	h_password_email_token(struct mreq *);
int	h_password_msisdn_token(struct mreq *);
int	h_register_email_token(struct mreq *);
int	h_register_msisdn_token(struct mreq *);
int	threepid_unbind_all(struct mreq *, const char *id_server, int *all);

int	h_profile_get(struct mreq *);
int	h_displayname_get(struct mreq *);
int	h_displayname_put(struct mreq *);
int	h_avatar_get(struct mreq *);
int	h_avatar_put(struct mreq *);
int	h_profile_field_get(struct mreq *);
int	h_profile_field_put(struct mreq *);
int	h_profile_field_delete(struct mreq *);

int	h_turn_server(struct mreq *);
int	h_openid_request_token(struct mreq *);
int	h_openid_userinfo(struct mreq *);

int	h_whois(struct mreq *);
int	h_lock_get(struct mreq *);
int	h_lock_put(struct mreq *);
int	h_suspend_get(struct mreq *);
int	h_suspend_put(struct mreq *);

int	h_room_summary(struct mreq *);
int	h_mutual_rooms(struct mreq *);
int	h_report_room(struct mreq *);
int	h_report_user(struct mreq *);

int	h_devices(struct mreq *);
int	h_device_get(struct mreq *);
int	h_device_put(struct mreq *);
int	h_device_delete(struct mreq *);
int	h_delete_devices(struct mreq *);

#endif
