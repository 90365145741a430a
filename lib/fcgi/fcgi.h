/* The FastCGI request loop: routing, bodies, auth, Matrix errors. */
#ifndef MYELIN_FCGI_H
#define MYELIN_FCGI_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <jansson.h>

#include "config/config.h"

enum mmethod { MM_GET, MM_PUT, MM_POST, MM_DELETE, MM_OPTIONS, MM_HEAD, MMETHOD__MAX };

enum mauth {
	MAUTH_NONE,		/* no token looked at */
	MAUTH_OPTIONAL,		/* token used when given */
	MAUTH_USER,		/* a valid access token is required */
	MAUTH_LOCKED_OK,	/* ... which may be a locked account's (logout) */
	MAUTH_ADMIN,		/* ... of a server admin */
	MAUTH_SERVER,		/* X-Matrix: a request signed by another server */
};

/* Every Matrix error myelin sends: one table of status and errcode. */
#define MERR_TABLE \
	X(MERR_NOT_JSON, 400, "M_NOT_JSON") \
	X(MERR_BAD_JSON, 400, "M_BAD_JSON") \
	X(MERR_MISSING_PARAM, 400, "M_MISSING_PARAM") \
	X(MERR_INVALID_PARAM, 400, "M_INVALID_PARAM") \
	X(MERR_UNKNOWN, 400, "M_UNKNOWN") \
	X(MERR_USER_IN_USE, 400, "M_USER_IN_USE") \
	X(MERR_EXCLUSIVE, 400, "M_EXCLUSIVE") \
	X(MERR_URL_NOT_SET, 400, "M_URL_NOT_SET") \
	X(MERR_INVALID_USERNAME, 400, "M_INVALID_USERNAME") \
	X(MERR_WEAK_PASSWORD, 400, "M_WEAK_PASSWORD") \
	X(MERR_UNSUPPORTED_ROOM_VERSION, 400, "M_UNSUPPORTED_ROOM_VERSION") \
	X(MERR_ROOM_IN_USE, 400, "M_ROOM_IN_USE") \
	X(MERR_BAD_ALIAS, 400, "M_BAD_ALIAS") \
	X(MERR_INVALID_ROOM_STATE, 400, "M_INVALID_ROOM_STATE") \
	X(MERR_TOO_LONG, 400, "M_TOO_LARGE") \
	X(MERR_PROFILE_TOO_LARGE, 400, "M_PROFILE_TOO_LARGE") \
	X(MERR_KEY_TOO_LARGE, 400, "M_KEY_TOO_LARGE") \
	X(MERR_BAD_UNAUTHORIZED, 400, "M_UNAUTHORIZED") \
	X(MERR_BAD_PATH, 400, "M_UNRECOGNIZED") \
	X(MERR_INVALID_SIGNATURE, 400, "M_INVALID_SIGNATURE") \
	X(MERR_MISSING_TOKEN, 401, "M_MISSING_TOKEN") \
	X(MERR_UNKNOWN_TOKEN, 401, "M_UNKNOWN_TOKEN") \
	X(MERR_UNAUTHORIZED, 401, "M_UNAUTHORIZED") \
	X(MERR_USER_LOCKED, 401, "M_USER_LOCKED") \
	X(MERR_FORBIDDEN, 403, "M_FORBIDDEN") \
	X(MERR_USER_DEACTIVATED, 403, "M_USER_DEACTIVATED") \
	X(MERR_GUEST_ACCESS_FORBIDDEN, 403, "M_GUEST_ACCESS_FORBIDDEN") \
	X(MERR_USER_SUSPENDED, 403, "M_USER_SUSPENDED") \
	X(MERR_WRONG_ROOM_KEYS_VERSION, 403, "M_WRONG_ROOM_KEYS_VERSION") \
	X(MERR_NOT_FOUND, 404, "M_NOT_FOUND") \
	X(MERR_UNRECOGNIZED, 404, "M_UNRECOGNIZED") \
	X(MERR_BAD_METHOD, 405, "M_UNRECOGNIZED") \
	X(MERR_SERVER_CONTROLLED, 405, "M_BAD_JSON") \
	X(MERR_CONFLICT, 409, "M_UNKNOWN") \
	X(MERR_CANNOT_OVERWRITE_MEDIA, 409, "M_CANNOT_OVERWRITE_MEDIA") \
	X(MERR_TOO_LARGE, 413, "M_TOO_LARGE") \
	X(MERR_LIMITED, 429, "M_LIMIT_EXCEEDED") \
	X(MERR_INTERNAL, 500, "M_UNKNOWN") \
	X(MERR_BAD_GATEWAY, 502, "M_UNKNOWN") \
	X(MERR_CONNECTION_FAILED, 502, "M_CONNECTION_FAILED") \
	X(MERR_BAD_STATUS, 502, "M_BAD_STATUS") \
	X(MERR_CONNECTION_TIMEOUT, 504, "M_CONNECTION_TIMEOUT") \
	X(MERR_NOT_YET_UPLOADED, 504, "M_NOT_YET_UPLOADED")

enum merr {
#define X(id, status, code) id,
	MERR_TABLE
#undef X
	MERR__MAX
};

struct mdb;
struct mfcgi_io;
struct mkey;
struct mnotify;
struct mreq;

/* What a whole process shares: read-only once serving starts. */
struct mserver {
	const struct mconfig	*conf;
	struct mkey		*key;		/* NULL if the program does not sign */
	struct mnotify		*notify;
};

struct mappsvc;

/* Parsed Authorization of a request. */
struct mauthinfo {
	char		*user_id;
	char		*device_id;
	int64_t		 token_id;
	int		 is_admin;
	int		 is_guest;
	int		 is_shadow_banned;	/* Synapse: requests succeed, do nothing */
	int		 is_suspended;		/* spec: "Account suspension": reads only */
	/*
	 * The user's rate limit override as the token's lookup read it:
	 * rl_known 1 when read (rl_override 1 when there is one, with its
	 * values); 0: mratelimit_user reads it.
	 */
	int		 rl_known;
	int		 rl_override;
	int64_t		 rl_per_second;
	int64_t		 rl_burst;
	char		*origin;	/* MAUTH_SERVER: the server that signed it */
	const struct mappsvc *appservice;	/* its as_token authenticated: the service */
};

#define MREQ_PARAMS	8

struct mreq {
	const struct mserver	*srv;
	const struct mconfig	*conf;
	struct mdb		*db;		/* this thread's connection */
	enum mmethod		 method;
	const char		*uri;		/* raw, as sent */
	const char		*query;		/* raw query string, never NULL */
	const char		*remote_addr;
	char			*params[MREQ_PARAMS];	/* decoded {path} values */
	size_t			 paramsz;
	json_t			*body;		/* JSON object for PUT/POST */
	/* Raw bodies (mapp.raw_body): what nginx says of the body. */
	const char		*content_type;	/* CONTENT_TYPE, or NULL */
	int64_t			 content_length;
	const char		*body_file;	/* the file nginx wrote it to, or NULL */
	const struct mfcgi_io	*io;		/* for mreq_body_read, first run only */
	struct mauthinfo	 auth;
	char			*token;		/* the raw access token given, if any */
	char			*authz;		/* the Authorization header, if any */
	int			 body_given;	/* the request had a body (Content-Length > 0) */
	char			 id[20];	/* request id for logs */
	/* The response. */
	int			 status;
	json_t			*reply;
	enum merr		 err;
	int			 failed;
	char			 errmsg[256];
	json_t			*errextra;	/* more members of the error object */
	int			 errstatus;	/* mfcgi_fail_as: its status, else 0 */
	char			 errcode[64];	/* mfcgi_fail_as: its errcode */
	char			*headers;	/* "Name: value\r\n"..., from mfcgi_header */
	int			 empty;		/* mfcgi_reply_empty: no body at all */
	char			*text;		/* a text/plain answer (metrics), or NULL */
	size_t			 text_len;
	/* Metrics (lib/fcgi/metrics.c). */
	const struct mroute	*route;		/* what it was routed to, or NULL */
	int64_t			 t0_us;		/* monotonic start */
	/* Long polls (mfcgi_main_async only): see mfcgi_park. */
	int64_t			 park_until;	/* deadline in ms of mclock, 0: not parked */
	int			 woken;		/* MWAKE_* why the handler runs again */
	int			 wakes;		/* times the notify sequence ran it again */
	uint64_t		*interest;	/* mfcgi_park_interest, sorted; NULL: all */
	size_t			 ninterest;
	void			*state;		/* the handler's own, kept across wakes */
	void			(*state_free)(void *);
	struct mreq_after	*after;		/* mfcgi_req_after */
	size_t			 nafter;
	void			*impl;
};

/* What mfcgi_req_after frees: fn(p, n). */
struct mreq_after {
	void	(*fn)(void *, size_t);
	void	*p;
	size_t	 n;
};

enum mwake { MWAKE_FIRST, MWAKE_NOTIFY, MWAKE_TIMEOUT };

typedef int (*mhandler)(struct mreq *);

struct mroute {
	enum mmethod	 method;
	const char	*path;	/* "/_matrix/client/v3/profile/{userId}"; "v3" also matches "r0" */
	enum mauth	 auth;
	mhandler	 fn;
};

/*
 * A named set of routes (by handler) that nginx may give to this program
 * alone: beside Synapse, one group per endpoint (docs/beside-synapse.md),
 * chosen with -L -g NAME[,NAME...].
 */
struct mroute_group {
	const char	*name;
	const mhandler	*fns;
	size_t		 fnsz;
};

struct mapp {
	const char		*name;		/* "client": threads.NAME in the config */
	const struct mroute	*routes;
	size_t			 routesz;
	const char *const	*locations;	/* nginx location matches this program serves */
	size_t			 locationsz;
	int			 needs_key;	/* load the signing key at start */
	/* Writes extra nginx config (e.g. static well-known answers), or NULL. */
	void			(*nginx_extra)(const struct mconfig *, FILE *);
	/* Requests may wait this many seconds for an answer (long-polls), or 0. */
	int			 wait_seconds;
	/*
	 * Handlers of routes whose body is optional (the spec gives them none,
	 * as POST /logout): there an empty body, {} and null all mean {}.
	 * A list beside the route table rather than a member of struct mroute,
	 * whose rows are positional: a fifth member would touch every row.
	 */
	const mhandler		*body_optional;
	size_t			 body_optionalsz;
	/*
	 * Handlers of routes whose body is not JSON (media uploads): the
	 * loop reads none of it and parses nothing.  It stops one longer
	 * than conf->max_upload_size (413 M_TOO_LARGE) and gives the handler
	 * req->content_type, req->content_length and req->body_file, the
	 * file nginx wrote the body to when the route's location is one of
	 * upload_locations; without one the handler reads it with
	 * mreq_body_read.
	 */
	const mhandler		*raw_body;
	size_t			 raw_bodysz;
	/*
	 * nginx locations (regular expressions or prefixes, as locations)
	 * whose bodies nginx writes to a file of its own and does not pass
	 * over FastCGI: the handler gets the file's name and makes it its
	 * own (client_body_in_file_only clean: nginx removes what is left).
	 */
	const char *const	*upload_locations;
	size_t			 upload_locationsz;
	/*
	 * Modes (beside a running Synapse, docs/beside-synapse.md): the app
	 * to serve instead under this config, or NULL for this one.  Called
	 * once the config is read, before -L, -R and serving.
	 */
	const struct mapp	*(*mode)(const struct mconfig *);
	/*
	 * A database that is not myelin's (Synapse's): opens one connection
	 * and checks its schema, never migrates it.  NULL: myelin's own,
	 * migrated at start.  Returns NULL (logged) when unusable.
	 */
	struct mdb		*(*db_open)(const struct mconfig *);
	/* The signing key file to load (needs_key), NULL: signing_key_path. */
	const char		*(*key_path)(const struct mconfig *);
	/*
	 * Route groups (-L -g): the routes nginx may hand this program one
	 * group at a time.  With groups chosen, a route's location passes
	 * the methods its table lacks on that path to the named location
	 * elsewhere (Synapse's, "@synapse", which myelin-stack nginx-layout
	 * writes), and so may a handler by answering X-Accel-Redirect to it.
	 */
	const struct mroute_group *groups;
	size_t			 groupsz;
	const char		*elsewhere;
	/*
	 * What the program touches once serving beyond the common paths
	 * (MSANDBOX_NET, _MEDIA, _EXEC, _UPLOAD of sandbox/sandbox.h):
	 * the loop restricts it to that before its threads start.
	 */
	int			 sandbox;
};

/*
 * The whole life of a handler program: flags (-c config, -s socket,
 * -t threads, -d debug, -n check, -L print nginx locations, -R print
 * the route table: "METHOD PATH AUTH" a line), config,
 * database migration, then threads serving until SIGTERM/SIGINT.
 * Returns the exit status.
 */
int	mfcgi_main(const struct mapp *, int argc, char *argv[]);

/*
 * The same life as mfcgi_main, for programs whose requests wait long
 * (/sync): one thread runs an event loop speaking FastCGI itself, a
 * pool of worker threads (-t, each with its own database connection)
 * runs handlers, and a waiting request costs memory, not a thread.
 */
int	mfcgi_main_async(const struct mapp *, int argc, char *argv[]);

/*
 * Called by a handler under mfcgi_main_async instead of replying: the
 * request waits until the notify segment's sequence moves (any stream)
 * or until deadline_ms (mclock), then the same handler runs again with
 * req->woken set to MWAKE_NOTIFY or MWAKE_TIMEOUT.  req->state survives
 * (freed with req->state_free when the request ends).  Returns 0.
 */
int	mfcgi_park(struct mreq *, int64_t deadline_ms);
/*
 * Before mfcgi_park: the request wakes only for commits whose topics
 * (mnotify_topic of room and user IDs, lib/notify) are among these, or
 * that concern everyone; without it, for every commit.  Set again on
 * each run that parks (a run forgets it).  0, or -1 (out of memory: it
 * then wakes for every commit).
 */
int	mfcgi_park_interest(struct mreq *, const uint64_t *topics, size_t n);

/*
 * For a handler that answers now (it will not park): frees what it
 * built with fn(p, n) once the answer is sent, rather than before.  The
 * answer of an initial /sync at 1,000 rooms waited some 15 ms on its
 * state maps and rows being freed.  On failure (out of memory) it frees
 * them at once.  mfcgi_req_after_json is the same for a JSON value.
 */
void	mfcgi_req_after(struct mreq *, void (*fn)(void *, size_t), void *p, size_t n);
void	mfcgi_req_after_json(struct mreq *, json_t *);

/*
 * Adds a header to a successful answer (not to a Matrix error):
 * name, then the value printed from fmt.  A value holding CR, LF or a
 * control character is refused, as is a name that is no RFC 9110 token.
 * Returns 0, or -1 with an internal error.
 */
int	mfcgi_header(struct mreq *, const char *name, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/*
 * The answer is status and the headers set, with no body and no
 * Content-Type of its own (an X-Accel-Redirect, whose body nginx
 * sends).  Returns 0.
 */
int	mfcgi_reply_empty(struct mreq *, int status);
/*
 * Reads up to len bytes of a raw body that came over FastCGI (no
 * req->body_file), in the handler's first run only.  Returns the count,
 * 0 at the end.
 */
size_t	mreq_body_read(struct mreq *, char *buf, size_t len);

/*
 * Writes the nginx locations that answer /.well-known/matrix/client and
 * /.well-known/matrix/server from conf (public_baseurl): static.
 */
void	mfcgi_nginx_well_known(const struct mconfig *, FILE *);

/* Fails the request with err; the loop writes {"errcode","error"}.  Returns -1. */
int	mfcgi_fail(struct mreq *, enum merr, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/*
 * Fails the request with a status and errcode another server gave (an
 * identity server's error passed on, as Synapse does): status 400 to
 * 599, errcode "M_..." (else 502 M_UNKNOWN).  Returns -1.
 */
int	mfcgi_fail_as(struct mreq *, int status, const char *errcode, const char *msg);
/* Adds a member to the error object (steals value).  Returns -1. */
int	mfcgi_fail_add(struct mreq *, const char *key, json_t *value);

/*
 * Beside Synapse (lib/fcgi/synapse.c): req->token checked against
 * Synapse's access_tokens (req->db is Synapse's), as Synapse's auth:
 * 401 M_MISSING_TOKEN without one, M_UNKNOWN_TOKEN for one unknown,
 * expired (with soft_logout) or of a deactivated user.  Fills req->auth;
 * writes nothing.  0, or -1 with the request failed.
 */
int	mfcgi_syn_auth(struct mreq *);
/* Sets the reply (steals obj).  Returns 0, or -1 with an internal error if obj is NULL. */
int	mfcgi_reply(struct mreq *, int status, json_t *obj);
/*
 * Decoded value of query parameter name, malloc'd, or NULL if absent.
 * The value is always UTF-8 text without NUL: a request whose query has
 * a bad escape or a value that is not text was refused (400
 * M_INVALID_PARAM) before its handler ran.
 */
char	*mreq_query(const struct mreq *, const char *name);
/* Every decoded value of query parameter name, in order: a new JSON array, or NULL. */
json_t	*mreq_query_all(const struct mreq *, const char *name);
/* Integer query parameter, or def when absent; -1 with M_INVALID_PARAM when bad. */
int	mreq_query_int(struct mreq *, const char *name, int64_t def, int64_t min,
	    int64_t max, int64_t *out);
/*
 * Reads the decimal number that starts s, as the server writes the
 * numbers of its tokens: ASCII digits only, a '-' before them only when
 * min is negative, no '+', no space, no other base.  With end NULL the
 * number must be the whole of s; otherwise *end is set to the first
 * byte after the digits, and what may follow is the caller's grammar.
 * Returns 0 with *out set, or -1 when there is no digit, when the number
 * is outside [min, max] or too large for any int64 (strtoll would clamp
 * it to INT64_MAX, a real-looking position), or when end is NULL and
 * bytes follow.  The callers answer -1 with 400 M_INVALID_PARAM.
 */
int	mfcgi_num_parse(const char *s, int64_t min, int64_t max, const char **end,
	    int64_t *out);
const char *merr_code(enum merr);
int	merr_status(enum merr);

/*
 * Percent-decodes len bytes of s ('+' stays a plus, as in a path).
 * Returns the text (malloc'd), or NULL with errno EINVAL on a bad
 * escape, a NUL byte or bytes that are not UTF-8 (overlong forms and
 * surrogates included), ENOMEM without memory.
 */
char	*mfcgi_urldecode(const char *s, size_t len);

#endif
