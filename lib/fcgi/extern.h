/* Shared internals of lib/fcgi. */
#ifndef MYELIN_FCGI_EXTERN_H
#define MYELIN_FCGI_EXTERN_H

#include <signal.h>

#include "fcgi/fcgi.h"

/*
 * Finds the route for method and path; fills req->params, decoded.
 * Raises 404/405 M_UNRECOGNIZED, or 400 M_INVALID_PARAM when a parameter
 * of the path that fits is not percent-encoded UTF-8 text.
 */
const struct mroute *mfcgi_route(struct mreq *, const struct mapp *, const char *path);

/* Metrics (metrics.c): GET MFCGI_METRICS_PATH, loopback only through nginx. */
#define MFCGI_METRICS_PATH	"/_myelin/metrics"
extern const struct mroute mfcgi_metrics_route;
void	 mfcgi_metrics_init(const struct mapp *);
void	 mfcgi_metrics_done(const struct mreq *, int status);
void	 mfcgi_metrics_parked(int delta);
/* One more malloc_trim of the handler's freed heap (async.c). */
void	 mfcgi_metrics_trimmed(void);
int64_t	 mfcgi_metrics_now_us(void);
/* As mfcgi_urldecode, for a query string: '+' is a space, "%2B" a plus. */
char	*mfcgi_formdecode(const char *s, size_t len);
/*
 * The length (1 to 4) of the well-formed UTF-8 character that s[0..n)
 * starts with, or 0 if it starts with none (RFC 3629: no overlong forms,
 * no surrogates, nothing past U+10FFFF).
 */
size_t	mfcgi_utf8_len(const char *s, size_t n);
/* "GET", "PUT"...: the name of method m as HTTP writes it. */
const char *mfcgi_method_name(enum mmethod m);
/* Checks the access token as route->auth asks.  0 or -1 (request failed). */
int	mfcgi_authenticate(struct mreq *, enum mauth);
void	mfcgi_auth_fini(struct mauthinfo *);
/* Refuses a token found but expired or of a deactivated user.  0 or -1 (request failed). */
int	mfcgi_token_usable(struct mreq *, int64_t valid_until_ms, int deactivated);
/* Prints app's route table, "METHOD PATH AUTH" a line. */
void	mfcgi_routes(const struct mapp *, FILE *);
/* Opens the per-thread database connection of app under conf.  NULL: none (logged). */
struct mdb *mfcgi_db_open(const struct mapp *, const struct mconfig *, struct mnotify *);
/* Prints nginx location blocks for app, passing to socket. */
void	mfcgi_nginx(const struct mapp *, const struct mconfig *, const char *socket, FILE *);
/*
 * The same for the routes of the groups named in groups ("a,b": see
 * struct mroute_group) alone, or all routes when NULL.  0, or -1 when a
 * name is none of app's groups (nothing printed).
 */
int	mfcgi_nginx_groups(const struct mapp *, const struct mconfig *, const char *socket,
	    const char *groups, FILE *);

/*
 * start.c: the start-up both loops share.
 */
struct mfcgi_start {
	const struct mapp *app;		/* the app served (the mode's, see mapp.mode) */
	struct mserver	 srv;
	struct mconfig	*conf;
	const char	*sockpath;
	int		 threads;	/* -t, else threads.NAME, else 2 */
	sigset_t	 sigs;		/* SIGTERM, SIGINT, SIGHUP: blocked in every thread */
};

/*
 * Flags, config, signing key, notify segment, database migration, then
 * blocks the stop signals in the calling thread (threads started later
 * inherit the mask).  Returns -1 when the caller should serve, or the
 * exit status when it should not (-n, -L, usage, failure: all said).
 */
int	mfcgi_start(const struct mapp *, int argc, char *argv[], struct mfcgi_start *);
/*
 * Restricts the process to what st->app declares (lib/sandbox), after
 * the socket is bound and before the threads start; carries on,
 * logged, with what the kernel gives.  0 or -1 (memory: do not serve).
 */
int	mfcgi_sandbox(const struct mfcgi_start *);
/* Releases what mfcgi_start took. */
void	mfcgi_start_fini(struct mfcgi_start *);
/*
 * Listens on a new unix socket at path, mode 0666 so that nginx workers
 * running as another user can connect.  The file appears only once the
 * socket listens.  Returns the blocking socket, or -1 (logged).
 */
int	mfcgi_listen(const char *path);
void	mfcgi_unlisten(const char *path);

/*
 * request.c: the per-request pipeline both loops share.  A loop hands
 * it the request's bytes through an mfcgi_io.
 */
struct mfcgi_io {
	void		*ctx;
	/* The FastCGI parameter name, or NULL; borrowed until the request ends. */
	const char	*(*param)(void *ctx, const char *name);
	/* Copies up to len bytes of the request body to buf; returns how many. */
	size_t		 (*read)(void *ctx, char *buf, size_t len);
	/* Sends response bytes (the headers, then the body).  0 or -1. */
	int		 (*write)(void *ctx, const char *buf, size_t len);
};

/* Zeroes req and gives it srv, a database (may be NULL) and a log id. */
void	mfcgi_req_init(struct mreq *, const struct mserver *, struct mdb *);
/*
 * Method, URI, access token, route, body: everything that needs no
 * database.  Returns the route, or NULL with the request failed.
 */
const struct mroute *mfcgi_req_prepare(struct mreq *, const struct mapp *,
	    const struct mfcgi_io *);
/*
 * Runs the route's handler once (authenticating first when req->woken is
 * MWAKE_FIRST).  Returns 1 when the handler parked the request
 * (req->park_until is its deadline), 0 when the answer is ready.
 */
int	mfcgi_req_run(struct mreq *, const struct mroute *);
/* Writes the status, headers and JSON answer (or the Matrix error). */
void	mfcgi_req_respond(struct mreq *, const struct mfcgi_io *);
/* Frees what the request holds, including req->state; req stays zeroed. */
void	mfcgi_req_fini(struct mreq *);

/*
 * proto.c: the FastCGI 1.0 wire protocol, without I/O, for async.c.
 */
#define MFCGI_HEADER_LEN	8
#define MFCGI_CONTENT_MAX	65535

enum mfcgi_rtype {
	MFCGI_BEGIN_REQUEST = 1,
	MFCGI_ABORT_REQUEST,
	MFCGI_END_REQUEST,
	MFCGI_PARAMS,
	MFCGI_STDIN,
	MFCGI_STDOUT,
	MFCGI_STDERR,
	MFCGI_DATA,
	MFCGI_GET_VALUES,
	MFCGI_GET_VALUES_RESULT,
	MFCGI_UNKNOWN_TYPE,
};

/* protocolStatus of END_REQUEST. */
enum mfcgi_pstatus {
	MFCGI_REQUEST_COMPLETE,
	MFCGI_CANT_MPX_CONN,
	MFCGI_OVERLOADED,
	MFCGI_UNKNOWN_ROLE,
};

/* A growing byte buffer. */
struct mfcgi_buf {
	unsigned char	*data;
	size_t		 len;
	size_t		 cap;
};

/* Appends len bytes.  0, or -1 when out of memory. */
int	mfcgi_buf_add(struct mfcgi_buf *, const void *, size_t len);
/* Frees the bytes; the buffer is empty after.  NULL is fine. */
void	mfcgi_buf_free(struct mfcgi_buf *);

/*
 * One connection's incoming side: bytes read but not parsed, replies to
 * management records, and the request being received.  myelin does not
 * multiplex (FCGI_MPXS_CONNS is 0): one request at a time.
 */
struct mfcgi_in {
	struct mfcgi_buf in;		/* read, not yet parsed */
	struct mfcgi_buf out;		/* management replies to send */
	struct mfcgi_buf params;	/* name\0value\0... once params_done */
	struct mfcgi_buf body;		/* STDIN, at most bodymax bytes */
	size_t		 paramsmax;	/* encoded PARAMS bytes allowed */
	size_t		 bodymax;
	const char	*why;		/* what was wrong, after MFCGI_BAD */
	uint16_t	 id;		/* the request's id; 0: none yet */
	unsigned char	 keep;		/* FCGI_KEEP_CONN was set */
	unsigned char	 params_done;
	unsigned char	 stdin_done;
	unsigned char	 ready;		/* MFCGI_READY was returned */
	unsigned char	 too_large;	/* PARAMS passed paramsmax: none kept */
	unsigned char	 body_cut;	/* STDIN passed bodymax: the rest dropped */
};

enum mfcgi_ev {
	MFCGI_MORE,	/* nothing for the caller; read more */
	MFCGI_READY,	/* the request is whole: parameters and body */
	MFCGI_ABORT,	/* the web server gave up the request */
	MFCGI_BAD,	/* not FastCGI (in->why says why): close */
};

void	mfcgi_in_init(struct mfcgi_in *, size_t paramsmax, size_t bodymax);
/*
 * Parses the complete records in in->in, appending any replies owed to
 * in->out, and stops at the first event for the caller.  Bytes after it
 * stay for the next call.
 */
enum mfcgi_ev mfcgi_in_parse(struct mfcgi_in *);
/* The value of parameter name once ready, or NULL; borrowed. */
const char *mfcgi_in_param(const struct mfcgi_in *, const char *name);
/* Frees the parameters and body, keeping the request's id and flags. */
void	mfcgi_in_release(struct mfcgi_in *);
/* Ends the request: ready for the next one on a kept connection. */
void	mfcgi_in_end(struct mfcgi_in *);
void	mfcgi_in_fini(struct mfcgi_in *);
/* Appends STDOUT records carrying len bytes (none if len is 0).  0 or -1. */
int	mfcgi_out_stdout(struct mfcgi_buf *, uint16_t id, const void *, size_t len);
/* Appends the empty STDOUT that ends the stream, then END_REQUEST.  0 or -1. */
int	mfcgi_out_end(struct mfcgi_buf *, uint16_t id, uint32_t appstatus,
	    enum mfcgi_pstatus);
/* Appends one record of type with content (padded to 8 bytes).  0 or -1. */
int	mfcgi_out_record(struct mfcgi_buf *, enum mfcgi_rtype, uint16_t id,
	    const void *, size_t len);

#endif
