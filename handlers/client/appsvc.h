/* Application services in myelin-client (h_appservice.c). */
#ifndef MYELIN_CLIENT_APPSVC_H
#define MYELIN_CLIENT_APPSVC_H

#include <jansson.h>

#include "fcgi/fcgi.h"

struct muser;

/*
 * mstore_user_get, but a local user unknown here who is in a service's
 * namespace is first asked of the service (spec: GET
 * /_matrix/app/v1/users/{userId}), which may create it.  Outside a
 * transaction: the service registers it through the client API.
 */
int	as_user_get(struct mreq *, const char *user_id, struct muser *);
/* mstore_alias_get, with the services asked as above (GET /_matrix/app/v1/rooms/{alias}). */
int	as_alias_get(struct mreq *, const char *alias, char **room_id, char **creator);
/*
 * 0 when the request's user may create alias as far as the services'
 * namespaces go, else -1 with 400 M_EXCLUSIVE.
 */
int	as_alias_may_create(struct mreq *, const char *alias);

int	h_as_ping(struct mreq *);
int	h_as_room_list_put(struct mreq *);
int	h_as_room_list_delete(struct mreq *);
/*
 * The summaries of the rooms services list for instance_id
 * ("SERVICE_ID|NETWORK_ID"; NULL: every network), unsorted: a new
 * array, or NULL.
 */
json_t	*as_public_rooms(struct mreq *, const char *instance_id);
int	h_tp_protocols(struct mreq *);
int	h_tp_protocol(struct mreq *);
int	h_tp_location_p(struct mreq *);
int	h_tp_user_p(struct mreq *);
int	h_tp_location(struct mreq *);
int	h_tp_user(struct mreq *);

#endif
