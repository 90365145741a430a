/* Outbound HTTP over libcurl: timeouts, size caps, TLS checked, address policy. */
#ifndef MYELIN_HTTP_H
#define MYELIN_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <jansson.h>

/* At most this many CIDR networks in an allowlist. */
#define MHTTP_ALLOW_MAX	16

struct mhttp_net {
	int		 family;	/* AF_INET or AF_INET6 */
	unsigned char	 addr[16];
	int		 bits;
};

/*
 * The networks outbound requests may reach that are otherwise refused:
 * loopback, private, link-local, multicast, unspecified and reserved
 * addresses are refused unless listed (issue 11: checked on the address
 * connected to, never on the name).
 */
struct mhttp_allow {
	struct mhttp_net nets[MHTTP_ALLOW_MAX];
	size_t		 netsz;
};

/*
 * Parses a space- or comma-separated list of CIDR networks ("127.0.0.0/8
 * ::1/128"; a bare address is one host) into a.  0, or -1 when an item
 * does not parse or there are too many.
 */
int	mhttp_allow_parse(const char *list, struct mhttp_allow *a);
/* 1 when an outbound connection to sa may be made under a, else 0. */
int	mhttp_addr_allowed(const struct sockaddr *sa, const struct mhttp_allow *a);

/* Limits every request takes unless it sets its own. */
#define MHTTP_TIMEOUT_MS	30000
#define MHTTP_MAX_BYTES		(4 * 1024 * 1024)
#define MHTTP_MAX_REDIRECTS	0

/*
 * One request and, once performed, its answer.  The caller fills the
 * first part (zeroes mean the defaults above; headers are "Name: value"
 * lines) and frees the answer with mhttp_req_fini.
 */
struct mhttp_req {
	const char		*method;	/* NULL: GET, or POST with a body */
	const char		*url;
	const char *const	*headers;
	size_t			 headersz;
	const char		*body;		/* NULL: none */
	size_t			 bodysz;
	/*
	 * "HOST:PORT:CONNHOST:CONNPORT" (curl's CONNECT_TO): connect
	 * elsewhere while the URL's host stays the TLS name and Host header.
	 */
	const char		*connect_to;
	const char		*ca_file;	/* PEM CAs to trust; NULL: the system's */
	const struct mhttp_allow *allow;	/* NULL: no extra networks */
	long			 timeout_ms;
	size_t			 max_bytes;
	long			 max_redirects;
	int			 redirect_http;	/* redirects may go to http: too (else https only) */
	/* The answer. */
	long			 status;	/* HTTP status, 0 when none came */
	char			*resp;		/* the body, NUL-terminated */
	size_t			 respsz;
	char			*content_type;	/* its Content-Type (malloc'd), or NULL */
	char			 err[256];	/* why there is no answer */
	/* libcurl's own, while running. */
	void			*impl;
	void			*hdrs;
	void			*conn;
	int			 too_large;
};

/*
 * Performs r and waits for it.  Returns 0 when an HTTP answer arrived
 * (whatever its status), -1 with r->err set otherwise: no connection,
 * a refused address, a certificate that does not verify, a timeout, an
 * answer over max_bytes.
 */
int	mhttp_perform(struct mhttp_req *r);
/*
 * Performs the n requests rs points at, at once (libcurl multi), and
 * waits for all.  Each gets its answer or err as mhttp_perform gives
 * it.  Returns 0, or -1 when the requests could not be started at all.
 */
int	mhttp_perform_many(struct mhttp_req *const *rs, size_t n);
/* The answer's body as a JSON object (new reference), or NULL. */
json_t	*mhttp_json(const struct mhttp_req *r);
/* Frees the answer; the request part is the caller's. */
void	mhttp_req_fini(struct mhttp_req *r);

#endif
