/* Shared by the handler files of myelin-admin-api. */
#ifndef MYELIN_ADMIN_API_EXTERN_H
#define MYELIN_ADMIN_API_EXTERN_H

#include "admin/admin.h"
#include "fcgi/fcgi.h"

/* Sets up an admin context for this request, acting as the requester. */
void	api_ctx(struct mreq *, struct madmin *);
/* Turns a failed madmin_* call into its Matrix error.  Returns -1. */
int	api_fail(struct mreq *, const struct madmin *, enum madmin_rc);
/*
 * The user ID of path parameter i when it names a user of this server
 * (Synapse: 400 M_INVALID_PARAM for a malformed ID, 400 M_UNKNOWN for
 * another server's).  Borrowed; NULL after failing the request.
 */
const char *api_local_user(struct mreq *, size_t i);
/* The room ID of path parameter i, or NULL after 400 M_INVALID_PARAM. */
const char *api_room_id(struct mreq *, size_t i);
/*
 * Boolean query parameter ("true" or "false") into *out, left alone when
 * absent.  0, or -1 after 400 M_INVALID_PARAM.
 */
int	api_query_bool(struct mreq *, const char *name, int *out);
/* dir=b sets *backwards, dir=f clears it; absent leaves it.  0 or -1 after 400. */
int	api_query_dir(struct mreq *, int *backwards);
/* from and limit (Synapse: non-negative integers; limit 100 by default).  0 or -1. */
int	api_query_page(struct mreq *, int64_t *from, int64_t *limit);
/* Body member name, a boolean, into *out (left alone when absent).  0 or -1 after 400. */
int	api_body_bool(struct mreq *, const char *name, int *out);

int	h_register_nonce(struct mreq *);
int	h_register_shared(struct mreq *);

int	h_users_list(struct mreq *);
int	h_user_get(struct mreq *);
int	h_user_put(struct mreq *);
int	h_user_deactivate(struct mreq *);
int	h_user_reset_password(struct mreq *);
int	h_user_whois(struct mreq *);
int	h_user_joined_rooms(struct mreq *);
int	h_user_pushers(struct mreq *);
int	h_user_admin_get(struct mreq *);
int	h_user_admin_put(struct mreq *);
int	h_user_media(struct mreq *);
int	h_user_media_delete(struct mreq *);
int	h_media_delete(struct mreq *);
int	h_media_delete_before(struct mreq *);
int	h_media_quarantine(struct mreq *);
int	h_media_unquarantine(struct mreq *);
int	h_purge_media_cache(struct mreq *);
int	h_user_login(struct mreq *);
int	h_user_shadow_ban(struct mreq *);
int	h_user_ratelimit_get(struct mreq *);
int	h_user_ratelimit_set(struct mreq *);
int	h_user_ratelimit_delete(struct mreq *);
int	h_user_shadow_unban(struct mreq *);

int	h_rooms_list(struct mreq *);
int	h_room_get(struct mreq *);
int	h_room_members(struct mreq *);
int	h_room_state(struct mreq *);
int	h_room_block_get(struct mreq *);
int	h_room_block_put(struct mreq *);
int	h_room_delete_v1(struct mreq *);
int	h_room_delete_v2(struct mreq *);
int	h_room_delete_status(struct mreq *);
int	h_delete_status(struct mreq *);

int	h_regtokens_list(struct mreq *);
int	h_regtoken_new(struct mreq *);
int	h_regtoken_get(struct mreq *);
int	h_regtoken_put(struct mreq *);
int	h_regtoken_delete(struct mreq *);

int	h_reports_list(struct mreq *);
int	h_report_get(struct mreq *);
int	h_report_delete(struct mreq *);

#endif
