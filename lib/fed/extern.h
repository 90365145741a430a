/* Shared internals of lib/fed. */
#ifndef MYELIN_FED_EXTERN_H
#define MYELIN_FED_EXTERN_H

#include "fed/fed.h"
#include "http/http.h"

/*
 * As mfed_request, unsigned when key is NULL (key requests need no
 * X-Matrix), with a timeout (0: lib/http's default).
 */
int	mfed_http(const struct mconfig *, const struct mkey *, const char *destination,
	    const char *method, const char *path, const json_t *body, long timeout_ms,
	    long *status, json_t **reply);

/*
 * One request to another server, prepared (discovery, URL, X-Matrix,
 * body) for mhttp_perform or mhttp_perform_many on its r, then read with
 * mfed_call_done.  The strings given must outlive it; it must not move
 * once prepared (r points into it).
 */
struct mfed_call {
	struct mhttp_req	 r;
	struct mhttp_allow	 allow;
	const char		*hdrs[1];
	const char		*destination, *method, *path;
	char			*authz, *js, *url, *conn;
};

/* 0, or -1 (logged) with nothing to free. */
int	mfed_call_init(struct mfed_call *, const struct mconfig *, const struct mkey *,
	    const char *destination, const char *method, const char *path,
	    const json_t *body, long timeout_ms);
/* As mfed_http's answer: 0 with *status and *reply, or -1 (logged) without one. */
int	mfed_call_done(struct mfed_call *, long *status, json_t **reply);
void	mfed_call_fini(struct mfed_call *);

#endif
