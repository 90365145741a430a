/*
 * lib/fcgi/request.c: query values, Content-Length, bodies, error texts
 * and Retry-After, through a fake transport; the token number parser.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/extern.h"
#include "testlib.h"

/* What the web server hands over, and what the pipeline answers. */
struct fake {
	const char	*method, *uri, *clen, *body;
	size_t		 bodyoff;
	char		 out[4096];
	size_t		 outlen;
};

static const char *
f_param(void *ctx, const char *name)
{
	struct fake *f = ctx;

	if (strcmp(name, "REQUEST_METHOD") == 0)
		return f->method;
	if (strcmp(name, "REQUEST_URI") == 0)
		return f->uri;
	if (strcmp(name, "CONTENT_LENGTH") == 0)
		return f->clen;
	return NULL;
}

static size_t
f_read(void *ctx, char *buf, size_t len)
{
	struct fake	*f = ctx;
	size_t		 left = f->body != NULL ? strlen(f->body) - f->bodyoff : 0;

	if (len > left)
		len = left;
	memcpy(buf, f->body + f->bodyoff, len);
	f->bodyoff += len;
	return len;
}

static int
f_write(void *ctx, const char *buf, size_t len)
{
	struct fake *f = ctx;

	if (len > sizeof(f->out) - 1 - f->outlen)
		return -1;
	memcpy(f->out + f->outlen, buf, len);
	f->outlen += len;
	f->out[f->outlen] = '\0';
	return 0;
}

static int
h_none(struct mreq *req)
{
	(void)req;
	return 0;
}

static int
h_logout(struct mreq *req)
{
	(void)req;
	return 0;
}

static const struct mroute routes[] = {
	{ MM_POST,   "/_matrix/client/v3/login",		MAUTH_NONE, h_none },
	{ MM_GET,    "/_matrix/client/v3/sync",			MAUTH_NONE, h_none },
	{ MM_POST,   "/_matrix/client/v3/logout",		MAUTH_NONE, h_logout },
	{ MM_DELETE, "/_matrix/client/v3/logout",		MAUTH_NONE, h_logout },
};

static const mhandler body_optional[] = { h_logout };

static const struct mapp app = { .name = "test", .routes = routes,
    .routesz = sizeof(routes) / sizeof(routes[0]),
    .body_optional = body_optional, .body_optionalsz = 1 };

static struct mconfig	conf;
static struct mserver	srv;

/* Prepares a request; returns the route (NULL: failed, req says why). */
static const struct mroute *
prepare(struct mreq *req, struct fake *f, const char *method, const char *uri,
    const char *clen, const char *body)
{
	struct mfcgi_io io = { f, f_param, f_read, f_write };

	memset(f, 0, sizeof(*f));
	f->method = method;
	f->uri = uri;
	f->clen = clen;
	f->body = body;
	mfcgi_req_init(req, &srv, NULL);
	return mfcgi_req_prepare(req, &app, &io);
}

/* Checks that the request failed with err. */
static void
fails(const char *what, struct mreq *req, const struct mroute *r, enum merr err)
{
	if (r != NULL || !req->failed || req->err != err)
		FAIL("%s: want %s %d, got route %p, %s %d (failed %d)", what,
		    merr_code(err), merr_status(err), (const void *)r,
		    merr_code(req->err), merr_status(req->err), req->failed);
}

/* Checks that mreq_query(name) gives want (NULL: absent) on GET /sync?query. */
static void
query_is(const char *query, const char *name, const char *want)
{
	struct mreq		 req;
	struct fake		 f;
	char			 uri[512];
	char			*got;

	snprintf(uri, sizeof(uri), "/_matrix/client/v3/sync?%s", query);
	if (prepare(&req, &f, "GET", uri, "", NULL) == NULL) {
		FAIL("?%s: refused with %s", query, merr_code(req.err));
		mfcgi_req_fini(&req);
		return;
	}
	got = mreq_query(&req, name);
	if ((want == NULL) != (got == NULL) ||
	    (want != NULL && strcmp(got, want) != 0))
		FAIL("?%s %s: want %s%s%s, got %s%s%s", query, name,
		    want ? "\"" : "", want ? want : "absent", want ? "\"" : "",
		    got ? "\"" : "", got ? got : "absent", got ? "\"" : "");
	free(got);
	mfcgi_req_fini(&req);
}

/* Checks that GET /sync?query is refused with 400 M_INVALID_PARAM. */
static void
query_refused(const char *query)
{
	struct mreq		 req;
	struct fake		 f;
	const struct mroute	*r;
	char			 uri[512];

	snprintf(uri, sizeof(uri), "/_matrix/client/v3/sync?%s", query);
	r = prepare(&req, &f, "GET", uri, "", NULL);
	fails(query, &req, r, MERR_INVALID_PARAM);
	mfcgi_req_fini(&req);
}

static void
queries(void)
{
	query_is("since=s1_2", "since", "s1_2");
	query_is("a=1&since=s1&b=2", "since", "s1");
	query_is("a=1", "since", NULL);
	query_is("full_state", "full_state", "");
	query_is("x=&y=2", "x", "");
	/* '+' is a space in a query string; %2B is a plus (decoded after). */
	query_is("filter=a+b", "filter", "a b");
	query_is("filter=a%2Bb", "filter", "a+b");
	query_is("filter=%2B%2b+%2B", "filter", "++ +");
	query_is("user_id=%40a%2Bb%3Ax", "user_id", "@a+b:x");
	query_is("filter=%7B%22a%22%3A1%7D", "filter", "{\"a\":1}");
	query_is("q=%E2%82%AC", "q", "\xe2\x82\xac");
	/* Names are decoded as values are. */
	query_is("fil%74er=1", "filter", "1");
	/* A bad value anywhere in the query refuses the request before any handler. */
	query_refused("since=%ff");
	query_refused("since=%C0%AF");
	query_refused("since=%ED%A0%80");
	query_refused("a=1&filter=%zz");
	query_refused("filter=%4");
	query_refused("filter=a%00b");
	query_refused("%ff=1");
}

static void
content_length(void)
{
	static const char *const bad[] = {
		"12abc", "abc", "-1", "+2", " 2", "2 ", "0x2", "1e2", "2.0",
	};
	struct mreq		 req;
	struct fake		 f;
	const struct mroute	*r;
	const char		*body = "{\"type\":\"x\"}";	/* 12 bytes */

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = prepare(&req, &f, "POST", "/_matrix/client/v3/login", bad[i], body);
		fails(bad[i], &req, r, MERR_INVALID_PARAM);
		mfcgi_req_fini(&req);
	}
	/* Too many digits for any number: too large, not malformed. */
	r = prepare(&req, &f, "POST", "/_matrix/client/v3/login",
	    "99999999999999999999999999", body);
	fails("overflow", &req, r, MERR_TOO_LARGE);
	mfcgi_req_fini(&req);
	r = prepare(&req, &f, "POST", "/_matrix/client/v3/login", "1048577", body);
	fails("over max_body_bytes", &req, r, MERR_TOO_LARGE);
	mfcgi_req_fini(&req);
	/* Good ones. */
	r = prepare(&req, &f, "POST", "/_matrix/client/v3/login", "12", body);
	CHECK(r == &routes[0] && req.body != NULL &&
	    strcmp(mjson_str(req.body, "type"), "x") == 0);
	mfcgi_req_fini(&req);
	r = prepare(&req, &f, "POST", "/_matrix/client/v3/login", "0012", body);
	CHECK(r == &routes[0] && req.body != NULL);
	mfcgi_req_fini(&req);
	/* No Content-Length: no body. */
	r = prepare(&req, &f, "POST", "/_matrix/client/v3/logout", "", NULL);
	CHECK(r == &routes[2] && json_is_object(req.body) && json_object_size(req.body) == 0);
	mfcgi_req_fini(&req);
	r = prepare(&req, &f, "POST", "/_matrix/client/v3/logout", NULL, NULL);
	CHECK(r == &routes[2] && json_is_object(req.body) && json_object_size(req.body) == 0);
	mfcgi_req_fini(&req);
}

/* Checks that body, sent to method path, is taken as {}. */
static void
empty_object(const char *method, const char *path, const char *body)
{
	struct mreq		 req;
	struct fake		 f;
	const struct mroute	*r;
	char			 len[32];

	snprintf(len, sizeof(len), "%zu", strlen(body));
	r = prepare(&req, &f, method, path, len, body);
	if (r == NULL || !json_is_object(req.body) || json_object_size(req.body) != 0)
		FAIL("%s %s \"%s\": want {}, got %s", method, path, body,
		    r == NULL ? merr_code(req.err) : "another body");
	mfcgi_req_fini(&req);
}

static void
bodies(void)
{
	static const char *const notobj[] = { "null", "[]", "0", "\"\"", "true" };
	struct mreq		 req;
	struct fake		 f;
	const struct mroute	*r;
	char			 len[32];

	/* Where the spec gives no body: nothing, {} and null alike. */
	empty_object("POST", "/_matrix/client/v3/logout", "");
	empty_object("POST", "/_matrix/client/v3/logout", "{}");
	empty_object("POST", "/_matrix/client/v3/logout", "null");
	empty_object("POST", "/_matrix/client/v3/logout", " null\n");
	empty_object("DELETE", "/_matrix/client/v3/logout", "null");
	/* Elsewhere a body must be an object: null is not one. */
	for (size_t i = 0; i < sizeof(notobj) / sizeof(notobj[0]); i++) {
		snprintf(len, sizeof(len), "%zu", strlen(notobj[i]));
		r = prepare(&req, &f, "POST", "/_matrix/client/v3/login", len, notobj[i]);
		fails(notobj[i], &req, r, MERR_BAD_JSON);
		mfcgi_req_fini(&req);
		if (strcmp(notobj[i], "null") == 0)
			continue;
		/* ... and where a body is optional, only null means none. */
		r = prepare(&req, &f, "POST", "/_matrix/client/v3/logout", len, notobj[i]);
		fails(notobj[i], &req, r, MERR_BAD_JSON);
		mfcgi_req_fini(&req);
	}
	r = prepare(&req, &f, "POST", "/_matrix/client/v3/logout", "5", "nul");
	fails("truncated", &req, r, MERR_NOT_JSON);
	mfcgi_req_fini(&req);
}

/*
 * Fails a request with the text fmt/arg, lets the pipeline answer and
 * checks that the answer carries errcode want and an "error" string.
 * Returns that string (malloc'd) or NULL.
 */
static char *
answer_error(enum merr err, const char *text)
{
	struct mreq	 req;
	struct fake	 f;
	struct mfcgi_io	 io = { &f, f_param, f_read, f_write };
	json_t		*obj = NULL;
	const char	*body, *e;
	char		*out = NULL;

	memset(&f, 0, sizeof(f));
	mfcgi_req_init(&req, &srv, NULL);
	mfcgi_fail(&req, err, "No such thing: %s", text);
	mfcgi_req_respond(&req, &io);
	mfcgi_req_fini(&req);
	if ((body = strstr(f.out, "\r\n\r\n")) == NULL ||
	    (obj = mjson_parse(body + 4, strlen(body + 4), 64)) == NULL) {
		FAIL("answer is not JSON: %s", f.out);
		return NULL;
	}
	if (mjson_str(obj, "errcode") == NULL || strcmp(mjson_str(obj, "errcode"),
	    merr_code(err)) != 0)
		FAIL("errcode: %s", body + 4);
	if ((e = mjson_str(obj, "error")) == NULL)
		FAIL("no error member: %s", body + 4);
	else
		out = strdup(e);
	json_decref(obj);
	return out;
}

static void
error_texts(void)
{
	char	 text[1024], *e;
	size_t	 n;

	/* "x" and 300 bytes of U+20AC: the 256-byte buffer ends inside one. */
	text[0] = 'x';
	for (n = 1; n + 3 < 300; n += 3)
		memcpy(text + n, "\xe2\x82\xac", 3);
	text[n] = '\0';
	if ((e = answer_error(MERR_NOT_FOUND, text)) != NULL) {
		CHECK(strlen(e) < sizeof(((struct mreq *)NULL)->errmsg));
		CHECK(strlen(e) > 200);
		CHECK(strncmp(e, "No such thing: x\xe2\x82\xac", 19) == 0);
		/* Cut after a whole character. */
		CHECK(strcmp(e + strlen(e) - 3, "\xe2\x82\xac") == 0);
		free(e);
	}
	/* Bytes that are not UTF-8 are replaced, the rest kept. */
	if ((e = answer_error(MERR_INVALID_PARAM, "a\xff" "b\xc0\xaf" "c\xed\xa0\x80")) != NULL) {
		CHECK(strncmp(e, "No such thing: a", 16) == 0);
		CHECK(strstr(e, "b") != NULL && strstr(e, "c") != NULL);
		CHECK(strstr(e, "\xef\xbf\xbd") != NULL);	/* U+FFFD */
		free(e);
	}
	/* 4-byte characters and a lead byte at the very end. */
	for (n = 0; n + 4 < 600; n += 4)
		memcpy(text + n, "\xf0\x9f\x98\x80", 4);
	text[n] = '\0';
	free(answer_error(MERR_FORBIDDEN, text));
	snprintf(text, sizeof(text), "%s", "abc\xe2\x82");
	free(answer_error(MERR_FORBIDDEN, text));
	/* Replacements near the end must not overrun the buffer. */
	memset(text, '\xff', 500);
	text[500] = '\0';
	if ((e = answer_error(MERR_FORBIDDEN, text)) != NULL) {
		CHECK(strlen(e) < sizeof(((struct mreq *)NULL)->errmsg));
		free(e);
	}
}

/* Answers a 429 with retry_after_ms ms (< 0: none) and returns its head (static). */
static const char *
limited_head(enum merr err, long long ms)
{
	static char	 head[sizeof(((struct fake *)NULL)->out)];
	struct mreq	 req;
	struct fake	 f;
	struct mfcgi_io	 io = { &f, f_param, f_read, f_write };
	char		*e;

	memset(&f, 0, sizeof(f));
	mfcgi_req_init(&req, &srv, NULL);
	mfcgi_fail(&req, err, "Too many requests waiting");
	if (ms >= 0)
		mfcgi_fail_add(&req, "retry_after_ms", json_integer(ms));
	mfcgi_req_respond(&req, &io);
	mfcgi_req_fini(&req);
	snprintf(head, sizeof(head), "%s", f.out);
	if ((e = strstr(head, "\r\n\r\n")) != NULL)
		e[2] = '\0';
	return head;
}

/* Spec: C-S API, "Rate limiting": Retry-After in whole seconds, rounded up. */
static void
retry_after(void)
{
	static const struct {
		long long	 ms;
		const char	*want;
	} v[] = {
		{ 5000, "\r\nRetry-After: 5\r\n" },
		{ 4001, "\r\nRetry-After: 5\r\n" },
		{ 1, "\r\nRetry-After: 1\r\n" },
		{ 0, "\r\nRetry-After: 0\r\n" },
		{ 999999999999LL, "\r\nRetry-After: 1000000000\r\n" },
	};
	const char *h;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		h = limited_head(MERR_LIMITED, v[i].ms);
		if (strncmp(h, "Status: 429 ", 12) != 0 || strstr(h, v[i].want) == NULL)
			FAIL("retry_after_ms %lld: want%s got %s", v[i].ms, v[i].want, h);
	}
	/* No retry_after_ms, or not a 429: no header. */
	CHECK(strstr(limited_head(MERR_LIMITED, -1), "Retry-After") == NULL);
	CHECK(strstr(limited_head(MERR_FORBIDDEN, 5000), "Retry-After") == NULL);
}

/* mfcgi_num_parse(s, min, max) over the whole of s: want (ok) or -1. */
static void
num_is(const char *s, int64_t min, int64_t max, int ok, int64_t want)
{
	int64_t	 got = 42;
	int	 rc = mfcgi_num_parse(s, min, max, NULL, &got);

	if (ok ? rc != 0 || got != want : rc != -1 || got != 42)
		FAIL("\"%s\" in [%lld, %lld]: rc %d, got %lld", s, (long long)min,
		    (long long)max, rc, (long long)got);
}

static void
numbers(void)
{
	const char	*end = NULL;
	int64_t		 n = 0;

	num_is("0", 0, INT64_MAX, 1, 0);
	num_is("12", 0, INT64_MAX, 1, 12);
	num_is("0012", 0, INT64_MAX, 1, 12);
	num_is("9223372036854775807", 0, INT64_MAX, 1, INT64_MAX);
	num_is("-1", -1, INT64_MAX, 1, -1);
	num_is("-9223372036854775808", INT64_MIN, INT64_MAX, 1, INT64_MIN);
	/* Overflow is refused, never clamped. */
	num_is("9223372036854775808", 0, INT64_MAX, 0, 0);
	num_is("99999999999999999999999", 0, INT64_MAX, 0, 0);
	num_is("18446744073709551616", 0, INT64_MAX, 0, 0);
	num_is("-9223372036854775809", INT64_MIN, INT64_MAX, 0, 0);
	/* Only digits: no sign unless min < 0, no space, no other base. */
	num_is("", 0, INT64_MAX, 0, 0);
	num_is("-1", 0, INT64_MAX, 0, 0);
	num_is("+1", 0, INT64_MAX, 0, 0);
	num_is("-", -1, INT64_MAX, 0, 0);
	num_is(" 1", 0, INT64_MAX, 0, 0);
	num_is("1 ", 0, INT64_MAX, 0, 0);
	num_is("0x10", 0, INT64_MAX, 0, 0);
	num_is("12abc", 0, INT64_MAX, 0, 0);
	/* The range. */
	num_is("2", 0, 1, 0, 0);
	num_is("-2", -1, 5, 0, 0);
	num_is("9223372036854775807", 0, INT64_MAX - 1, 0, 0);
	/* With end, what follows is the caller's. */
	CHECK(mfcgi_num_parse("12_3", 0, INT64_MAX, &end, &n) == 0 && n == 12 &&
	    strcmp(end, "_3") == 0);
	CHECK(mfcgi_num_parse("7", 0, INT64_MAX, &end, &n) == 0 && n == 7 && *end == '\0');
	end = NULL;
	CHECK(mfcgi_num_parse("99999999999999999999_3", 0, INT64_MAX, &end, &n) == -1 &&
	    end == NULL);
	CHECK(mfcgi_num_parse("_3", 0, INT64_MAX, &end, &n) == -1);
}

int
main(void)
{
	conf.max_body_bytes = 1024 * 1024;
	srv.conf = &conf;
	queries();
	content_length();
	bodies();
	error_texts();
	retry_after();
	numbers();
	return failed;
}
