/* Filters in myelin-client: upload and download (spec: C-S API, "Filtering"). */
#ifndef MYELIN_CLIENT_FILTER_H
#define MYELIN_CLIENT_FILTER_H

#include "fcgi/fcgi.h"

int	h_filter_post(struct mreq *);
int	h_filter_get(struct mreq *);

#endif
