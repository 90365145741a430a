/* Shared internals of lib/fcgi. */
#ifndef MYELIN_FCGI_EXTERN_H
#define MYELIN_FCGI_EXTERN_H

#include "fcgi/fcgi.h"

/* Finds the route for method and path; fills req->params.  Raises 404/405. */
const struct mroute *mfcgi_route(struct mreq *, const struct mapp *, const char *path);
/* Checks the access token as route->auth asks.  0 or -1 (request failed). */
int	mfcgi_authenticate(struct mreq *, enum mauth);
void	mfcgi_auth_fini(struct mauthinfo *);
/* Prints nginx location blocks for app, passing to socket. */
void	mfcgi_nginx(const struct mapp *, const struct mconfig *, const char *socket, FILE *);

#endif
