/* Server-side search and the user directory in myelin-client. */
#ifndef MYELIN_CLIENT_SEARCH_H
#define MYELIN_CLIENT_SEARCH_H

#include "fcgi/fcgi.h"

int	h_search(struct mreq *);
int	h_user_directory_search(struct mreq *);

#endif
