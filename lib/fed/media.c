/* Other servers' media: the federation v1 media endpoints, multipart, the legacy fallback. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config.h"
#include "fed/extern.h"
#include "log/log.h"

/* Room for the multipart framing and the JSON part around the bytes. */
#define MULTIPART_SLACK	(64 * 1024)

void
mfed_media_fini(struct mfed_media *m)
{
	if (m == NULL)
		return;
	free(m->content_type);
	free(m->body);
	memset(m, 0, sizeof(*m));
}

/* The boundary parameter of a multipart Content-Type into buf.  0 or -1. */
static int
boundary_of(const char *ct, char *buf, size_t bufsz)
{
	const char	*p;
	size_t		 n;

	if (ct == NULL || strncasecmp(ct, "multipart/", 10) != 0)
		return -1;
	for (p = ct; (p = strchr(p, ';')) != NULL; ) {
		p++;
		p += strspn(p, " \t");
		if (strncasecmp(p, "boundary=", 9) != 0)
			continue;
		p += 9;
		if (*p == '"') {
			p++;
			n = strcspn(p, "\"");
		} else
			n = strcspn(p, "; \t");
		/* RFC 2046: 1 to 70 characters. */
		if (n == 0 || n > 70 || n + 1 > bufsz)
			return -1;
		memcpy(buf, p, n);
		buf[n] = '\0';
		return 0;
	}
	return -1;
}

/* The value of header name in the len bytes of headers at h (malloc'd), or NULL. */
static char *
part_header(const char *h, size_t len, const char *name)
{
	const char	*end = h + len, *eol;
	size_t		 n = strlen(name);

	for (const char *p = h; p < end; p = eol + 1) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		if ((size_t)(eol - p) > n && strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char	*v = p + n + 1;
			const char	*e = eol;

			while (v < e && (*v == ' ' || *v == '\t'))
				v++;
			while (e > v && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
				e--;
			return strndup(v, (size_t)(e - v));
		}
		if (eol == end)
			break;
	}
	return NULL;
}

/*
 * The parts of a multipart body (RFC 2046): the second part's headers
 * and content, after a first (JSON) part.  0, or -1 when it is not such
 * a body.
 */
static int
multipart_second(const char *body, size_t len, const char *boundary, const char **hdrs,
    size_t *hdrsz, const char **content, size_t *contentsz)
{
	char		 delim[80];
	const char	*end = body + len, *p, *part = NULL, *next;
	size_t		 dl;
	int		 n = 0;

	dl = (size_t)snprintf(delim, sizeof(delim), "--%s", boundary);
	/* The first delimiter may open the body; later ones follow a CRLF. */
	if (len >= dl && memcmp(body, delim, dl) == 0)
		p = body;
	else if ((p = memmem(body, len, delim, dl)) == NULL)
		return -1;
	for (;;) {
		p += dl;
		if ((size_t)(end - p) >= 2 && p[0] == '-' && p[1] == '-')
			return -1;
		/* The rest of the delimiter line. */
		if ((p = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return -1;
		part = ++p;
		dl = (size_t)snprintf(delim, sizeof(delim), "\r\n--%s", boundary);
		if ((next = memmem(part, (size_t)(end - part), delim, dl)) == NULL)
			return -1;
		if (++n == 2)
			break;
		p = next;
	}
	{
		const char *blank = memmem(part, (size_t)(next - part), "\r\n\r\n", 4);
		size_t skip = 4;

		if (part + 2 <= next && part[0] == '\r' && part[1] == '\n') {
			blank = part;
			skip = 2;
		}
		if (blank == NULL)
			return -1;
		*hdrs = part;
		*hdrsz = (size_t)(blank - part);
		*content = blank + skip;
		*contentsz = (size_t)(next - *content);
	}
	return 0;
}

/* Takes r's answer body and type into out (r keeps nothing). */
static void
take_answer(struct mhttp_req *r, struct mfed_media *out)
{
	out->status = r->status;
	out->body = r->resp;
	out->bodysz = r->respsz;
	out->content_type = r->content_type;
	r->resp = NULL;
	r->respsz = 0;
	r->content_type = NULL;
}

/* Whether an answer says the server has no such endpoint (Synapse: 404/400 M_UNRECOGNIZED). */
static int
unrecognized(const struct mhttp_req *r)
{
	json_t	*j;
	int	 yes = 0;

	if (r->status == 405 || r->status == 501)
		return 1;
	if (r->status != 404 && r->status != 400)
		return 0;
	if ((j = mhttp_json(r)) == NULL)
		/* An answer that is no JSON is a proxy's page: no such endpoint. */
		return r->status == 404;
	yes = json_is_string(json_object_get(j, "errcode")) &&
	    strcmp(json_string_value(json_object_get(j, "errcode")), "M_UNRECOGNIZED") == 0;
	json_decref(j);
	return yes;
}

/*
 * The second part of a v1 answer into out: its bytes, or those of the
 * URL its Location header names (fetched under the same address policy).
 */
static int
from_multipart(const struct mconfig *conf, struct mfed_call *c, size_t max_bytes,
    struct mfed_media *out)
{
	char		 b[80], *loc = NULL, *ct = NULL;
	const char	*h, *content;
	size_t		 hsz, csz;

	if (boundary_of(c->r.content_type, b, sizeof(b)) == -1 ||
	    multipart_second(c->r.resp, c->r.respsz, b, &h, &hsz, &content, &csz) == -1) {
		mlog_warn(NULL, "federation: media from %s: not a multipart answer", c->destination);
		return -1;
	}
	if ((loc = part_header(h, hsz, "Location")) != NULL) {
		struct mhttp_req r;

		memset(&r, 0, sizeof(r));
		r.url = loc;
		r.ca_file = conf->federation_ca_file;
		r.allow = &c->allow;
		r.max_bytes = max_bytes;
		r.max_redirects = 5;
		if (strncmp(loc, "https://", 8) != 0 && strncmp(loc, "http://", 7) != 0) {
			free(loc);
			return -1;
		}
		if (mhttp_perform(&r) == -1 || r.status != 200) {
			mlog_warn(NULL, "federation: media from %s at %s: %s", c->destination, loc,
			    r.err[0] != '\0' ? r.err : "not 200");
			mhttp_req_fini(&r);
			free(loc);
			return -1;
		}
		take_answer(&r, out);
		out->status = 200;
		mhttp_req_fini(&r);
		free(loc);
		return 0;
	}
	if (csz > max_bytes || (out->body = malloc(csz + 1)) == NULL)
		return -1;
	memcpy(out->body, content, csz);
	out->body[csz] = '\0';
	out->bodysz = csz;
	ct = part_header(h, hsz, "Content-Type");
	out->content_type = ct;
	out->status = 200;
	return 0;
}

int
mfed_media_get(const struct mconfig *conf, const struct mkey *key, const char *origin,
    const char *media_id, const char *thumb_query, size_t max_bytes, struct mfed_media *out)
{
	struct mfed_call	 c;
	char			*eid = NULL, *eorigin = NULL, *path = NULL;
	int			 rc = -1, legacy = 0;

	memset(out, 0, sizeof(*out));
	if ((eid = mfed_escape(media_id)) == NULL || (eorigin = mfed_escape(origin)) == NULL)
		goto out;
	if (asprintf(&path, "/_matrix/federation/v1/media/%s/%s%s%s",
	    thumb_query != NULL ? "thumbnail" : "download", eid,
	    thumb_query != NULL ? "?" : "", thumb_query != NULL ? thumb_query : "") == -1) {
		path = NULL;
		goto out;
	}
	if (mfed_call_init(&c, conf, key, origin, "GET", path, NULL, 0) == -1)
		goto out;
	c.r.max_bytes = max_bytes + MULTIPART_SLACK;
	mhttp_perform(&c.r);
	if (c.r.status == 0) {
		mlog_warn(NULL, "federation: GET %s from %s: %s", path, origin, c.r.err);
		mfed_call_fini(&c);
		goto out;
	}
	if (c.r.status == 200)
		rc = from_multipart(conf, &c, max_bytes, out);
	else if (unrecognized(&c.r))
		legacy = 1;
	else {
		/* Its error (404 M_NOT_FOUND most often), for the caller to judge. */
		out->status = c.r.status;
		rc = 0;
	}
	mfed_call_fini(&c);
	if (!legacy)
		goto out;
	/* A server before Matrix 1.11: the legacy unauthenticated path. */
	free(path);
	if (asprintf(&path, "/_matrix/media/v3/%s/%s/%s?allow_remote=false%s%s",
	    thumb_query != NULL ? "thumbnail" : "download", eorigin, eid,
	    thumb_query != NULL ? "&" : "", thumb_query != NULL ? thumb_query : "") == -1) {
		path = NULL;
		goto out;
	}
	if (mfed_call_init(&c, conf, NULL, origin, "GET", path, NULL, 0) == -1)
		goto out;
	c.r.max_bytes = max_bytes;
	c.r.max_redirects = 5;
	mhttp_perform(&c.r);
	if (c.r.status == 0)
		mlog_warn(NULL, "federation: GET %s from %s: %s", path, origin, c.r.err);
	else {
		take_answer(&c.r, out);
		rc = 0;
	}
	mfed_call_fini(&c);
out:
	if (rc == -1)
		mfed_media_fini(out);
	free(path);
	free(eid);
	free(eorigin);
	return rc;
}
