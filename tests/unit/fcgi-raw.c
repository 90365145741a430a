/*
 * lib/fcgi for the media repository: raw-body routes (no body read, the
 * file nginx names, the upload limit), response headers (controls
 * refused, left off errors) and empty answers for X-Accel-Redirect.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/extern.h"
#include "testlib.h"

struct fake {
	const char	*method, *uri, *clen, *file, *ctype;
	size_t		 bodyread;
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
	if (strcmp(name, "MYELIN_BODY_FILE") == 0)
		return f->file;
	if (strcmp(name, "CONTENT_TYPE") == 0)
		return f->ctype;
	return NULL;
}

static size_t
f_read(void *ctx, char *buf, size_t len)
{
	struct fake *f = ctx;

	(void)buf;
	f->bodyread += len;
	return 0;
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
h_upload(struct mreq *req)
{
	(void)req;
	return 0;
}

static int
h_json(struct mreq *req)
{
	(void)req;
	return 0;
}

static const struct mroute routes[] = {
	{ MM_POST, "/_matrix/media/v3/upload",	MAUTH_NONE, h_upload },
	{ MM_POST, "/_matrix/client/v3/json",	MAUTH_NONE, h_json },
};

static const mhandler raw_body[] = { h_upload };

static const struct mapp app = { .name = "test", .routes = routes,
    .routesz = sizeof(routes) / sizeof(routes[0]),
    .raw_body = raw_body, .raw_bodysz = 1 };

static struct mconfig	conf;
static struct mserver	srv;

static const struct mroute *
prepare(struct mreq *req, struct fake *f, const struct mfcgi_io *io, const char *uri,
    const char *clen, const char *file)
{
	memset(f, 0, sizeof(*f));
	f->method = "POST";
	f->uri = uri;
	f->clen = clen;
	f->file = file;
	f->ctype = "image/png";
	mfcgi_req_init(req, &srv, NULL);
	return mfcgi_req_prepare(req, &app, io);
}

static void
raw_bodies(void)
{
	struct fake		 f;
	struct mfcgi_io		 io = { &f, f_param, f_read, f_write };
	struct mreq		 req;
	const struct mroute	*r;

	/* Larger than max_body_bytes, within max_upload_size: not JSON, not read. */
	r = prepare(&req, &f, &io, "/_matrix/media/v3/upload", "5000", "/tmp/nginx/0001");
	CHECK(r != NULL && !req.failed && req.body == NULL && f.bodyread == 0);
	CHECK(req.content_length == 5000 && strcmp(req.body_file, "/tmp/nginx/0001") == 0);
	CHECK(req.content_type != NULL && strcmp(req.content_type, "image/png") == 0);
	mfcgi_req_fini(&req);
	/* nginx's $request_body_file is empty when there was no body file. */
	r = prepare(&req, &f, &io, "/_matrix/media/v3/upload", "0", "");
	CHECK(r != NULL && req.body_file == NULL);
	mfcgi_req_fini(&req);
	/* Past max_upload_size: 413. */
	r = prepare(&req, &f, &io, "/_matrix/media/r0/upload", "20001", "/tmp/nginx/0002");
	CHECK(r == NULL && req.failed && req.err == MERR_TOO_LARGE);
	mfcgi_req_fini(&req);
	/* A JSON route keeps max_body_bytes. */
	r = prepare(&req, &f, &io, "/_matrix/client/v3/json", "5000", NULL);
	CHECK(r == NULL && req.failed && req.err == MERR_TOO_LARGE);
	mfcgi_req_fini(&req);
}

static void
headers(void)
{
	struct fake	 f;
	struct mfcgi_io	 io = { &f, f_param, f_read, f_write };
	struct mreq	 req;

	memset(&f, 0, sizeof(f));
	mfcgi_req_init(&req, &srv, NULL);
	CHECK(mfcgi_header(&req, "X-Accel-Redirect", "/_myelin/media/%s", "local/ab/cd/ef") == 0);
	CHECK(mfcgi_header(&req, "Content-Type", "%s", "image/png") == 0);
	CHECK(mfcgi_reply_empty(&req, 200) == 0);
	mfcgi_req_respond(&req, &io);
	CHECK(strcmp(f.out, "Status: 200 OK\r\nX-Accel-Redirect: /_myelin/media/local/ab/cd/ef\r\n"
	    "Content-Type: image/png\r\nContent-Length: 0\r\n\r\n") == 0);
	mfcgi_req_fini(&req);

	/* A value that would end the header, or a name that is no token. */
	mfcgi_req_init(&req, &srv, NULL);
	CHECK(mfcgi_header(&req, "Content-Disposition", "inline; filename=%s",
	    "a\r\nSet-Cookie: x=y") == -1 && req.failed && req.err == MERR_INTERNAL);
	mfcgi_req_fini(&req);
	mfcgi_req_init(&req, &srv, NULL);
	CHECK(mfcgi_header(&req, "Bad Name", "%s", "v") == -1 && req.failed);
	mfcgi_req_fini(&req);

	/* Headers set before a failure are not sent with the error. */
	memset(&f, 0, sizeof(f));
	mfcgi_req_init(&req, &srv, NULL);
	CHECK(mfcgi_header(&req, "X-Accel-Redirect", "%s", "/x") == 0);
	mfcgi_fail(&req, MERR_NOT_FOUND, "Not found");
	mfcgi_req_respond(&req, &io);
	CHECK(strstr(f.out, "X-Accel-Redirect") == NULL && strstr(f.out, "Status: 404") != NULL &&
	    strstr(f.out, "M_NOT_FOUND") != NULL);
	mfcgi_req_fini(&req);

	/* On a JSON answer they come before the blank line. */
	memset(&f, 0, sizeof(f));
	mfcgi_req_init(&req, &srv, NULL);
	CHECK(mfcgi_header(&req, "X-Test", "%d", 1) == 0);
	mfcgi_reply(&req, 200, json_object());
	mfcgi_req_respond(&req, &io);
	CHECK(strstr(f.out, "\r\nX-Test: 1\r\n\r\n{}") != NULL);
	mfcgi_req_fini(&req);
}

int
main(void)
{
	conf.max_body_bytes = 1024;
	conf.max_upload_size = 20000;
	srv.conf = &conf;
	raw_bodies();
	headers();
	return failed;
}
