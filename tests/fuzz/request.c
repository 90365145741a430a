/*
 * libFuzzer harness: a request as myelin-client takes it before any
 * handler runs (lib/fcgi/request.c and route.c): method, the path
 * matched against the client handler's whole route table and its
 * parameters decoded, the query decoder, the access token, the
 * Content-Length and the JSON body; then the answer written, as a
 * failed request is.  The input is lines: method, URI, Authorization,
 * Content-Length, then the body.  A request either routes with every
 * parameter UTF-8 text, or fails with a 4xx; the answer is one HTTP
 * head without stray line ends.
 */
#define main	myelin_client_main
int	myelin_client_main(int, char *[]);
#include "../../handlers/client/main.c"
#undef main

#include "fcgi/extern.h"
#include "json/json.h"
#include "fuzz.h"

struct fake {
	const char	*method, *uri, *authz, *clen, *body;
	size_t		 bodylen, off;
	char		 out[8192];
	size_t		 outlen;
};

static struct mconfig	fconf = { .server_name = "example.org", .max_body_bytes = 4096,
			    .max_upload_size = 4096 };
static const struct mserver fsrv = { .conf = &fconf };

static const char *
f_param(void *ctx, const char *name)
{
	struct fake *f = ctx;

	if (strcmp(name, "REQUEST_METHOD") == 0)
		return f->method;
	if (strcmp(name, "REQUEST_URI") == 0)
		return f->uri;
	if (strcmp(name, "HTTP_AUTHORIZATION") == 0)
		return f->authz[0] != '\0' ? f->authz : NULL;
	if (strcmp(name, "CONTENT_LENGTH") == 0)
		return f->clen;
	if (strcmp(name, "REMOTE_ADDR") == 0)
		return "127.0.0.1";
	return NULL;
}

static size_t
f_read(void *ctx, char *buf, size_t len)
{
	struct fake	*f = ctx;
	size_t		 n = f->bodylen - f->off;

	if (n > len)
		n = len;
	memcpy(buf, f->body + f->off, n);
	f->off += n;
	return n;
}

static int
f_write(void *ctx, const char *buf, size_t len)
{
	struct fake	*f = ctx;

	if (len > sizeof(f->out) - f->outlen)
		len = sizeof(f->out) - f->outlen;
	memcpy(f->out + f->outlen, buf, len);
	f->outlen += len;
	return 0;
}

/* 1 when s is UTF-8 text (lib/fcgi's grammar: no overlong forms, no surrogates). */
static int
utf8_ok(const char *s)
{
	size_t	 n = strlen(s), k;

	for (size_t i = 0; i < n; i += k)
		if ((k = mfcgi_utf8_len(s + i, n - i)) == 0)
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fake		 f;
	struct mfcgi_io		 io = { &f, f_param, f_read, f_write };
	struct mreq		 req;
	const struct mroute	*r;
	char			*s, *p, *v, *end;
	json_t			*all;
	int64_t			 n;

	if ((p = s = fuzz_str(data, size)) == NULL)
		return 0;
	memset(&f, 0, sizeof(f));
	f.method = fuzz_field(&p);
	f.uri = fuzz_field(&p);
	f.authz = fuzz_field(&p);
	f.clen = fuzz_field(&p);
	f.body = p != NULL ? p : "";
	f.bodylen = strlen(f.body);
	if (f.uri == NULL || f.authz == NULL) {
		free(s);
		return 0;
	}
	mfcgi_req_init(&req, &fsrv, NULL);
	if ((r = mfcgi_req_prepare(&req, &app, &io)) != NULL) {
		FUZZ_ASSERT(!req.failed);
		for (size_t i = 0; i < req.paramsz; i++)
			FUZZ_ASSERT(req.params[i] != NULL && utf8_ok(req.params[i]));
		/* What handlers ask of the query. */
		if ((v = mreq_query(&req, "from")) != NULL) {
			FUZZ_ASSERT(utf8_ok(v));
			free(v);
		}
		if ((all = mreq_query_all(&req, "server_name")) != NULL)
			json_decref(all);
		(void)mreq_query_int(&req, "limit", 10, 0, 1000, &n);
		(void)mfcgi_num_parse(req.query, 0, INT64_MAX, (const char **)&end, &n);
		/* The handler does not run (no database): the answer of a refusal. */
		mfcgi_fail(&req, MERR_FORBIDDEN, "fuzz: %s", req.uri);
	} else {
		FUZZ_ASSERT(req.failed);
		FUZZ_ASSERT(merr_status(req.err) >= 400 && merr_status(req.err) < 500);
	}
	mfcgi_req_respond(&req, &io);
	/*
	 * One head: "Status: N ...", headers, each a line ended by CRLF
	 * with no CR or LF of its own, a blank line, then the body.
	 */
	FUZZ_ASSERT(f.outlen > 8 && memcmp(f.out, "Status: ", 8) == 0);
	for (const char *h = f.out, *e = f.out + f.outlen, *crlf; ; h = crlf + 2) {
		FUZZ_ASSERT((crlf = memmem(h, (size_t)(e - h), "\r\n", 2)) != NULL);
		FUZZ_ASSERT(memchr(h, '\n', (size_t)(crlf - h)) == NULL &&
		    memchr(h, '\r', (size_t)(crlf - h)) == NULL);
		if (crlf == h) {
			json_t	*b;

			/* The body of a refusal (none for HEAD): a Matrix error, valid JSON. */
			if (f.outlen < sizeof(f.out) && req.method != MM_HEAD) {
				b = mjson_parse(crlf + 2, (size_t)(e - crlf - 2), 8);
				FUZZ_ASSERT(b != NULL && mjson_str(b, "errcode") != NULL &&
				    mjson_str(b, "error") != NULL);
				json_decref(b);
			}
			break;
		}
	}
	mfcgi_req_fini(&req);
	free(s);
	return 0;
}
