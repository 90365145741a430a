/* One request's life, whichever loop serves it: route, body, auth, handler, answer. */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fcgi/extern.h"
#include "json/json.h"
#include "log/log.h"
#include "notify/notify.h"
#include "store/store.h"

#define MAX_JSON_DEPTH	64

static const struct {
	int		 status;
	const char	*code;
} errs[MERR__MAX] = {
#define X(id, status, code) { status, code },
	MERR_TABLE
#undef X
};

static const char *const methods[MMETHOD__MAX] = {
	"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD",
};

static atomic_uint	reqcount;

const char *
mfcgi_method_name(enum mmethod m)
{
	return m < MMETHOD__MAX ? methods[m] : "GET";
}

const char *
merr_code(enum merr e)
{
	return errs[e].code;
}

int
merr_status(enum merr e)
{
	return errs[e].status;
}

/*
 * The text goes into req->errmsg cut at a character boundary, with every
 * byte that is not UTF-8 (a handler may echo what it was sent) replaced
 * by U+FFFD: json_string() refuses anything else, and the answer would
 * lose its "error" member.
 */
int
mfcgi_fail(struct mreq *req, enum merr e, const char *fmt, ...)
{
	static const char	 repl[] = "\xef\xbf\xbd";	/* U+FFFD */
	va_list			 ap;
	char			 buf[4 * sizeof(req->errmsg)];
	size_t			 i, k, n, o = 0;

	req->failed = 1;
	req->err = e;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/*
	 * Each input byte gives at most 3 output bytes, and the output stops
	 * before sizeof(errmsg): a character cut at the end of buf is never
	 * reached.
	 */
	n = strlen(buf);
	for (i = 0; i < n; i += k) {
		const char	*c = buf + i;
		size_t		 clen;

		if ((k = clen = mfcgi_utf8_len(buf + i, n - i)) == 0) {
			c = repl;
			clen = sizeof(repl) - 1;
			k = 1;
		}
		if (o + clen >= sizeof(req->errmsg))
			break;
		memcpy(req->errmsg + o, c, clen);
		o += clen;
	}
	req->errmsg[o] = '\0';
	return -1;
}

int
mfcgi_fail_as(struct mreq *req, int status, const char *errcode, const char *msg)
{
	int ok = status >= 400 && status <= 599 && errcode != NULL &&
	    strncmp(errcode, "M_", 2) == 0 && strlen(errcode) < sizeof(req->errcode) &&
	    strspn(errcode, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == strlen(errcode);

	mfcgi_fail(req, MERR_BAD_GATEWAY, "%s", msg != NULL ? msg : "");
	req->errstatus = ok ? status : 502;
	snprintf(req->errcode, sizeof(req->errcode), "%s", ok ? errcode : "M_UNKNOWN");
	return -1;
}

int
mfcgi_fail_add(struct mreq *req, const char *key, json_t *value)
{
	if (req->errextra == NULL)
		req->errextra = json_object();
	if (req->errextra != NULL)
		json_object_set_new(req->errextra, key, value);
	else
		json_decref(value);
	return -1;
}

int
mfcgi_reply(struct mreq *req, int status, json_t *obj)
{
	if (obj == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	json_decref(req->reply);
	req->reply = obj;
	req->status = status;
	return 0;
}

/* RFC 9110, 5.6.2: token = 1*tchar. */
static int
header_name_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr("!#$%&'*+-.^_`|~", *s) != NULL))
			return 0;
	return 1;
}

/*
 * The value may hold what RFC 9110's field-value allows but controls
 * (a client's file name may carry any byte): bytes past 0x7f go as they
 * are, which RFC 9110 calls obs-text and nginx passes on.
 */
int
mfcgi_header(struct mreq *req, const char *name, const char *fmt, ...)
{
	va_list	 ap;
	char	*v = NULL, *n;
	size_t	 have = req->headers != NULL ? strlen(req->headers) : 0;
	int	 len;

	va_start(ap, fmt);
	len = vasprintf(&v, fmt, ap);
	va_end(ap);
	if (len == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	for (const unsigned char *p = (const unsigned char *)v; *p != '\0'; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f) {
			free(v);
			return mfcgi_fail(req, MERR_INTERNAL, "%s: control byte in %s", __func__, name);
		}
	if (!header_name_ok(name)) {
		free(v);
		return mfcgi_fail(req, MERR_INTERNAL, "%s: bad header name", __func__);
	}
	if ((n = realloc(req->headers, have + strlen(name) + (size_t)len + 5)) == NULL) {
		free(v);
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	}
	req->headers = n;
	sprintf(n + have, "%s: %s\r\n", name, v);
	free(v);
	return 0;
}

int
mfcgi_reply_empty(struct mreq *req, int status)
{
	json_decref(req->reply);
	req->reply = NULL;
	req->status = status;
	req->empty = 1;
	return 0;
}

size_t
mreq_body_read(struct mreq *req, char *buf, size_t len)
{
	if (req->io == NULL || req->body_file != NULL)
		return 0;
	return req->io->read(req->io->ctx, buf, len);
}

/*
 * A deadline of 0 or less would read as "not parked": it becomes 1, a
 * moment long past, so the request wakes at once with MWAKE_TIMEOUT.
 */
int
mfcgi_park(struct mreq *req, int64_t deadline_ms)
{
	req->park_until = deadline_ms > 0 ? deadline_ms : 1;
	return 0;
}

int
mfcgi_park_interest(struct mreq *req, const uint64_t *topics, size_t n)
{
	uint64_t *v;

	free(req->interest);
	req->interest = NULL;
	req->ninterest = 0;
	if ((v = reallocarray(NULL, n > 0 ? n : 1, sizeof(*v))) == NULL)
		return -1;
	memcpy(v, topics, n * sizeof(*v));
	mnotify_topics_sort(v, n);
	req->interest = v;
	req->ninterest = n;
	return 0;
}

/*
 * Decodes the name=value pair *p starts (up to '&' or the end) into
 * *name and *value, malloc'd (*value is "" without '='), and moves *p
 * past it.  Returns 1, 0 at the end of the query, or -1 with errno
 * EINVAL when the pair does not decode (names and values both:
 * mfcgi_formdecode) or ENOMEM; *name and *value are then NULL.
 */
static int
query_next(const char **p, char **name, char **value)
{
	const char	*s = *p, *eq;
	size_t		 len, klen;

	*name = *value = NULL;
	while (*s == '&')
		s++;
	if (*s == '\0') {
		*p = s;
		return 0;
	}
	len = strcspn(s, "&");
	eq = memchr(s, '=', len);
	klen = eq != NULL ? (size_t)(eq - s) : len;
	*p = s + len;
	if ((*name = mfcgi_formdecode(s, klen)) == NULL ||
	    (*value = eq != NULL ? mfcgi_formdecode(eq + 1, len - klen - 1) :
	    strdup("")) == NULL) {
		int saved = errno;

		free(*name);
		*name = NULL;
		errno = saved;
		return -1;
	}
	return 1;
}

/*
 * A pair that does not decode is skipped: the request it belongs to is
 * refused by query_check before its handler runs (token_of looks
 * earlier, and then finds no token).
 */
char *
mreq_query(const struct mreq *req, const char *name)
{
	const char	*p = req->query;
	char		*k, *v;
	int		 rc;

	while ((rc = query_next(&p, &k, &v)) != 0) {
		if (rc == 1 && strcmp(k, name) == 0) {
			free(k);
			return v;
		}
		free(k);
		free(v);
	}
	return NULL;
}

json_t *
mreq_query_all(const struct mreq *req, const char *name)
{
	const char	*p = req->query;
	char		*k, *v;
	json_t		*out;
	int		 rc;

	if ((out = json_array()) == NULL)
		return NULL;
	while ((rc = query_next(&p, &k, &v)) != 0) {
		if (rc == 1 && strcmp(k, name) == 0 &&
		    json_array_append_new(out, json_string(v)) == -1) {
			free(k);
			free(v);
			json_decref(out);
			return NULL;
		}
		free(k);
		free(v);
	}
	return out;
}

/*
 * Spec: C-S API, M_INVALID_PARAM ("a parameter ... has the wrong
 * value"): every name and value of the query must decode to UTF-8 text,
 * so that no handler can store bytes that are not, and no handler takes
 * a value with a bad escape for an absent one.  0, or -1 with the
 * request failed.
 */
static int
query_check(struct mreq *req)
{
	const char	*p = req->query;
	char		*k, *v;
	int		 rc;

	while ((rc = query_next(&p, &k, &v)) == 1) {
		free(k);
		free(v);
	}
	if (rc == -1 && errno == ENOMEM)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	if (rc == -1)
		return mfcgi_fail(req, MERR_INVALID_PARAM,
		    "Query parameter is not percent-encoded UTF-8 text");
	return 0;
}

int
mreq_query_int(struct mreq *req, const char *name, int64_t def, int64_t min,
    int64_t max, int64_t *out)
{
	char		*v, *end;
	long long	 n;

	if ((v = mreq_query(req, name)) == NULL) {
		*out = def;
		return 0;
	}
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || *v == '\0' || *end != '\0' || n < min || n > max) {
		free(v);
		return mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid %s", name);
	}
	free(v);
	*out = n;
	return 0;
}

/*
 * Digit by digit rather than strtoll: strtoll takes leading space and a
 * '+', and its ERANGE clamp is a value the caller must remember to doubt.
 */
int
mfcgi_num_parse(const char *s, int64_t min, int64_t max, const char **end,
    int64_t *out)
{
	const char	*p = s;
	uint64_t	 n = 0, lim;
	int64_t		 v;
	int		 neg = 0;

	if (*p == '-' && min < 0) {
		neg = 1;
		p++;
	}
	if (*p < '0' || *p > '9')
		return -1;
	/* |INT64_MIN| is INT64_MAX + 1: the magnitude a negative may reach. */
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (n > (lim - d) / 10)
			return -1;
		n = n * 10 + d;
	}
	if (end == NULL && *p != '\0')
		return -1;
	if (neg)
		v = n == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)n;
	else
		v = (int64_t)n;
	if (v < min || v > max)
		return -1;
	if (end != NULL)
		*end = p;
	*out = v;
	return 0;
}

static const char *
reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 504: return "Gateway Timeout";
	default: return "";
	}
}

/*
 * The Retry-After header of a 429 (status, as answered) whose error
 * carries retry_after_ms, into buf, or "" for any other answer.  Spec: C-S API, "Rate
 * limiting": the server SHOULD send Retry-After, in seconds (RFC 9110,
 * 10.2.3: a whole number), and retry_after_ms is kept for older clients;
 * Synapse sends both, the seconds rounded up so that a client waiting
 * what the header says never comes back early.
 */
static void
retry_after(const struct mreq *req, int status, char *buf, size_t bufsz)
{
	const json_t	*ms = json_object_get(req->errextra, "retry_after_ms");
	json_int_t	 v;

	buf[0] = '\0';
	if (status != 429 || !req->failed || req->err != MERR_LIMITED || !json_is_integer(ms) ||
	    (v = json_integer_value(ms)) < 0)
		return;
	snprintf(buf, bufsz, "Retry-After: %lld\r\n", (long long)(v / 1000 + (v % 1000 != 0)));
}

void
mfcgi_req_respond(struct mreq *req, const struct mfcgi_io *io)
{
	json_t	*obj = NULL;
	char	*body, head[320], retry[64];
	int	 status, hlen;

	if (!req->failed && req->text != NULL) {
		hlen = snprintf(head, sizeof(head), "Status: 200 OK\r\n"
		    "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
		    "Content-Length: %zu\r\n\r\n", req->text_len);
		io->write(io->ctx, head, (size_t)hlen);
		io->write(io->ctx, req->text, req->text_len);
		return;
	}
	if (!req->failed && req->empty) {
		status = req->status != 0 ? req->status : 200;
		mfcgi_metrics_done(req, status);
		hlen = snprintf(head, sizeof(head), "Status: %d %s\r\n", status, reason(status));
		io->write(io->ctx, head, (size_t)hlen);
		if (req->headers != NULL)
			io->write(io->ctx, req->headers, strlen(req->headers));
		io->write(io->ctx, "Content-Length: 0\r\n\r\n", 21);
		mlog_debug(req->id, "%s %.*s %d", methods[req->method],
		    (int)strcspn(req->uri, "?"), req->uri, status);
		return;
	}
	if (req->failed) {
		status = req->errstatus != 0 ? req->errstatus : errs[req->err].status;
		if (req->err == MERR_INTERNAL) {
			/* The client learns only that it failed; the log has why. */
			mlog_err(req->id, "%s", req->errmsg);
			snprintf(req->errmsg, sizeof(req->errmsg), "Internal server error");
		}
		obj = req->errextra != NULL ? json_incref(req->errextra) : json_object();
		json_object_set_new(obj, "errcode", json_string(req->errstatus != 0 ?
		    req->errcode : errs[req->err].code));
		json_object_set_new(obj, "error", json_string(req->errmsg));
	} else {
		status = req->status != 0 ? req->status : 200;
		obj = req->reply != NULL ? json_incref(req->reply) : json_object();
	}
	/* As json_dumps(obj, JSON_COMPACT), with raw nodes (mjson_raw) as their text. */
	body = mjson_dump(obj, NULL);
	json_decref(obj);
	if (body == NULL) {
		status = 500;
		body = strdup("{\"errcode\":\"M_UNKNOWN\",\"error\":\"Internal server error\"}");
	}
	mfcgi_metrics_done(req, status);
	retry_after(req, status, retry, sizeof(retry));
	hlen = snprintf(head, sizeof(head), "Status: %d %s\r\n"
	    "Content-Type: application/json\r\n"
	    "Cache-Control: no-cache, no-store, must-revalidate\r\n"
	    "%s"
	    "Content-Length: %zu\r\n\r\n", status, reason(status), retry,
	    body != NULL ? strlen(body) : 0);
	/* The handler's headers, before the blank line that ends head. */
	if (!req->failed && req->headers != NULL) {
		io->write(io->ctx, head, (size_t)hlen - 2);
		io->write(io->ctx, req->headers, strlen(req->headers));
		io->write(io->ctx, "\r\n", 2);
	} else
		io->write(io->ctx, head, (size_t)hlen);
	if (body != NULL && req->method != MM_HEAD)
		io->write(io->ctx, body, strlen(body));
	free(body);
	/* The path only: a query string may carry ?access_token=. */
	mlog_debug(req->id, "%s %.*s %d", methods[req->method],
	    (int)strcspn(req->uri, "?"), req->uri, status);
}

/* Takes the access token from the Authorization header or the query. */
static char *
token_of(struct mreq *req, const char *authz)
{
	if (authz != NULL && strncasecmp(authz, "Bearer ", 7) == 0) {
		authz += 7;
		while (*authz == ' ')
			authz++;
		return *authz != '\0' ? strdup(authz) : NULL;
	}
	return mreq_query(req, "access_token");
}

/*
 * The value of CONTENT_LENGTH: 0 when empty or absent, -1 when not a
 * number, INT64_MAX when too large for one.  RFC 9110, 8.6:
 * Content-Length = 1*DIGIT.  nginx refuses other forms itself, but the
 * handler does not count on what stands in front of it.
 */
static int64_t
content_length(const char *cl)
{
	int64_t	 n = 0;

	if (cl == NULL)
		return 0;
	for (const char *p = cl; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		if (n <= (INT64_MAX - 9) / 10)
			n = n * 10 + (*p - '0');
		else
			n = INT64_MAX;
	}
	return n;
}

/* Whether the body of route r may be left out (app->body_optional). */
static int
body_optional(const struct mapp *app, const struct mroute *r)
{
	for (size_t i = 0; i < app->body_optionalsz; i++)
		if (app->body_optional[i] == r->fn)
			return 1;
	return 0;
}

/* Whether route r of app takes a raw body (app->raw_body). */
static int
body_raw(const struct mapp *app, const struct mroute *r)
{
	for (size_t i = 0; i < app->raw_bodysz; i++)
		if (app->raw_body[i] == r->fn)
			return 1;
	return 0;
}

/*
 * Reads and parses the body for route r of app.  0 or -1 with the request
 * failed: 400 M_INVALID_PARAM (Content-Length not a number), 413
 * M_TOO_LARGE, 400 M_NOT_JSON, 400 M_BAD_JSON (not an object).
 */
static int
read_body(struct mreq *req, const struct mapp *app, const struct mroute *r,
    const struct mfcgi_io *io)
{
	int64_t	 len = content_length(io->param(io->ctx, "CONTENT_LENGTH"));
	char	*buf;
	size_t	 got;

	if (len < 0)
		return mfcgi_fail(req, MERR_INVALID_PARAM, "Bad Content-Length");
	if (body_raw(app, r)) {
		const char *f = io->param(io->ctx, "MYELIN_BODY_FILE");

		/* Spec: C-S API, POST /upload: 413 M_TOO_LARGE past the limit. */
		if (len > req->conf->max_upload_size)
			return mfcgi_fail(req, MERR_TOO_LARGE, "Upload too large");
		req->content_length = len;
		req->content_type = io->param(io->ctx, "CONTENT_TYPE");
		if (req->content_type != NULL && *req->content_type == '\0')
			req->content_type = NULL;
		req->body_file = f != NULL && *f != '\0' ? f : NULL;
		req->io = io;
		return 0;
	}
	if (len > req->conf->max_body_bytes)
		return mfcgi_fail(req, MERR_TOO_LARGE, "Request body too large");
	/* DELETE bodies carry UIA (DELETE /devices/{deviceId}). */
	if (req->method != MM_PUT && req->method != MM_POST &&
	    !(req->method == MM_DELETE && len > 0))
		return 0;
	req->body_given = len > 0;
	if (len == 0) {
		/* Spec: several POSTs (logout, join) have no body; treat as {}. */
		req->body = json_object();
		return 0;
	}
	if ((buf = malloc((size_t)len)) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	got = io->read(io->ctx, buf, (size_t)len);
	if (got != (size_t)len) {
		free(buf);
		return mfcgi_fail(req, MERR_NOT_JSON, "Truncated body");
	}
	req->body = mjson_parse(buf, (size_t)len, MAX_JSON_DEPTH);
	free(buf);
	if (req->body == NULL)
		return mfcgi_fail(req, MERR_NOT_JSON, "Content not JSON.");
	/*
	 * Where the spec gives no body (POST /logout), clients send what they
	 * like: nheko sends null, which Synapse accepts.
	 */
	if (json_is_null(req->body) && body_optional(app, r)) {
		json_decref(req->body);
		req->body = json_object();
		return 0;
	}
	if (!json_is_object(req->body))
		return mfcgi_fail(req, MERR_BAD_JSON, "Content must be a JSON object.");
	return 0;
}

void
mfcgi_req_init(struct mreq *req, const struct mserver *srv, struct mdb *db)
{
	memset(req, 0, sizeof(*req));
	req->srv = srv;
	req->conf = srv->conf;
	req->db = db;
	req->uri = "/";
	req->query = "";
	req->woken = MWAKE_FIRST;
	req->t0_us = mfcgi_metrics_now_us();
	snprintf(req->id, sizeof(req->id), "%x-%x", (unsigned)getpid(),
	    atomic_fetch_add(&reqcount, 1));
}

const struct mroute *
mfcgi_req_prepare(struct mreq *req, const struct mapp *app, const struct mfcgi_io *io)
{
	const struct mroute	*r = NULL;
	const char		*m, *uri, *q;
	char			*path = NULL;
	int			 i;

	m = io->param(io->ctx, "REQUEST_METHOD");
	uri = io->param(io->ctx, "REQUEST_URI");
	req->remote_addr = io->param(io->ctx, "REMOTE_ADDR");
	req->uri = uri != NULL ? uri : "/";
	req->method = MM_GET;
	for (i = 0; m != NULL && i < MMETHOD__MAX; i++)
		if (strcmp(m, methods[i]) == 0)
			break;
	if (m == NULL || i == MMETHOD__MAX) {
		mfcgi_fail(req, MERR_BAD_METHOD, "Unrecognized request");
		return NULL;
	}
	req->method = (enum mmethod)i;
	/* Route on the raw path: signatures and escapes concern the path as sent. */
	q = strchr(req->uri, '?');
	req->query = q != NULL ? q + 1 : "";
	if ((path = strndup(req->uri, q != NULL ? (size_t)(q - req->uri) : strlen(req->uri))) == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		return NULL;
	}
	req->token = token_of(req, io->param(io->ctx, "HTTP_AUTHORIZATION"));
	if (io->param(io->ctx, "HTTP_AUTHORIZATION") != NULL &&
	    (req->authz = strdup(io->param(io->ctx, "HTTP_AUTHORIZATION"))) == NULL) {
		free(path);
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		return NULL;
	}
	if (req->method == MM_GET && strcmp(path, MFCGI_METRICS_PATH) == 0) {
		free(path);
		return req->route = &mfcgi_metrics_route;
	}
	if ((r = mfcgi_route(req, app, path)) != NULL &&
	    (query_check(req) == -1 || read_body(req, app, r, io) == -1))
		r = NULL;
	req->route = r;
	free(path);
	return r;
}

int
mfcgi_req_run(struct mreq *req, const struct mroute *r)
{
	req->park_until = 0;
	if (req->db == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "database unavailable");
		return 0;
	}
	/* A woken request was authenticated when it first ran. */
	if (req->woken == MWAKE_FIRST && mfcgi_authenticate(req, r->auth) == -1)
		return 0;
	if (r->fn(req) == -1 && !req->failed)
		mfcgi_fail(req, MERR_INTERNAL, "handler failed without a reason");
	/* No answer sent ahead outlives the run that asked for it. */
	mdb_prefetch_drop(req->db);
	if (req->park_until == 0 || req->failed) {
		/* A failure wins over a park in the same run. */
		req->park_until = 0;
		return 0;
	}
	/* Parked: a reply set before parking is not the answer. */
	json_decref(req->reply);
	req->reply = NULL;
	req->status = 0;
	return 1;
}

void
mfcgi_req_fini(struct mreq *req)
{
	free(req->token);
	free(req->authz);
	for (size_t k = 0; k < req->paramsz; k++)
		free(req->params[k]);
	mfcgi_auth_fini(&req->auth);
	json_decref(req->body);
	json_decref(req->reply);
	json_decref(req->errextra);
	free(req->headers);
	free(req->interest);
	free(req->text);
	if (req->state != NULL && req->state_free != NULL)
		req->state_free(req->state);
	for (size_t k = 0; k < req->nafter; k++)
		req->after[k].fn(req->after[k].p, req->after[k].n);
	free(req->after);
	memset(req, 0, sizeof(*req));
}

void
mfcgi_req_after(struct mreq *req, void (*fn)(void *, size_t), void *p, size_t n)
{
	struct mreq_after	*v;

	if (p == NULL)
		return;
	if ((v = reallocarray(req->after, req->nafter + 1, sizeof(*v))) == NULL) {
		fn(p, n);
		return;
	}
	req->after = v;
	v[req->nafter++] = (struct mreq_after){ fn, p, n };
}

static void
after_decref(void *p, size_t n)
{
	(void)n;
	json_decref(p);
}

void
mfcgi_req_after_json(struct mreq *req, json_t *v)
{
	mfcgi_req_after(req, after_decref, v, 0);
}
