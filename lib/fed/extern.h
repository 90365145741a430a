/* Shared internals of lib/fed. */
#ifndef MYELIN_FED_EXTERN_H
#define MYELIN_FED_EXTERN_H

#include "fed/fed.h"

/*
 * As mfed_request, unsigned when key is NULL (key requests need no
 * X-Matrix), with a timeout (0: lib/http's default).
 */
int	mfed_http(const struct mconfig *, const struct mkey *, const char *destination,
	    const char *method, const char *path, const json_t *body, long timeout_ms,
	    long *status, json_t **reply);

#endif
