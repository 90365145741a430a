/* Matching request paths against a program's route table. */
#include <stdlib.h>
#include <string.h>

#include "fcgi/extern.h"

char *
mfcgi_urldecode(const char *s, size_t len)
{
	char	*out, *o;

	if ((out = malloc(len + 1)) == NULL)
		return NULL;
	for (o = out; len > 0; s++, len--) {
		if (*s == '%') {
			unsigned int v;
			char hex[3];

			if (len < 3 || !strchr("0123456789abcdefABCDEF", s[1]) ||
			    !strchr("0123456789abcdefABCDEF", s[2]) || s[1] == '\0' || s[2] == '\0')
				goto bad;
			hex[0] = s[1];
			hex[1] = s[2];
			hex[2] = '\0';
			v = (unsigned int)strtoul(hex, NULL, 16);
			if (v == 0)
				goto bad;
			*o++ = (char)v;
			s += 2;
			len -= 2;
		} else if (*s == '\0')
			goto bad;
		else
			*o++ = *s;
	}
	*o = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

/*
 * Compares one pattern segment with one path segment.  "{name}" takes any
 * non-empty segment.  Under /_matrix/client/ the version "v3" also
 * accepts "r0": clients packaged in Debian (matrix-nio 0.20) still call
 * the r0 paths, which the spec defines as the same endpoints.
 */
static int
segmatch(const char *pat, size_t patsz, const char *seg, size_t segsz, int clientver)
{
	if (patsz >= 2 && pat[0] == '{')
		return segsz > 0;
	if (patsz == segsz && memcmp(pat, seg, segsz) == 0)
		return 1;
	return clientver && patsz == 2 && memcmp(pat, "v3", 2) == 0 &&
	    segsz == 2 && memcmp(seg, "r0", 2) == 0;
}

static void
params_free(struct mreq *req)
{
	for (size_t i = 0; i < req->paramsz; i++) {
		free(req->params[i]);
		req->params[i] = NULL;
	}
	req->paramsz = 0;
}

/* Returns 1 when path fits pattern (params filled), 0 when not, -1 on a bad escape. */
static int
match(struct mreq *req, const char *pat, const char *path)
{
	int clientver = strncmp(pat, "/_matrix/client/", 16) == 0;
	int segno = 0;

	params_free(req);
	while (*pat == '/' && *path == '/') {
		const char *pe, *se;
		size_t patsz, segsz;

		pat++;
		path++;
		pe = pat + strcspn(pat, "/");
		se = path + strcspn(path, "/");
		patsz = (size_t)(pe - pat);
		segsz = (size_t)(se - path);
		if (!segmatch(pat, patsz, path, segsz, clientver && segno == 2))
			return 0;
		if (pat[0] == '{') {
			if (req->paramsz == MREQ_PARAMS)
				return 0;
			if ((req->params[req->paramsz] = mfcgi_urldecode(path, segsz)) == NULL)
				return -1;
			req->paramsz++;
		}
		pat = pe;
		path = se;
		segno++;
	}
	return *pat == '\0' && *path == '\0';
}

const struct mroute *
mfcgi_route(struct mreq *req, const struct mapp *app, const char *path)
{
	const struct mroute	*found = NULL;
	int			 pathmatch = 0, rc;

	for (size_t i = 0; i < app->routesz; i++) {
		const struct mroute *r = &app->routes[i];

		if ((rc = match(req, r->path, path)) == -1) {
			mfcgi_fail(req, MERR_INVALID_PARAM, "Bad escape in path");
			return NULL;
		}
		if (rc == 0)
			continue;
		pathmatch = 1;
		if (r->method == req->method ||
		    (r->method == MM_GET && req->method == MM_HEAD)) {
			found = r;
			break;
		}
	}
	if (found == NULL) {
		params_free(req);
		if (pathmatch)
			mfcgi_fail(req, MERR_BAD_METHOD, "Unrecognized request");
		else
			mfcgi_fail(req, MERR_UNRECOGNIZED, "Unrecognized request");
	}
	return found;
}
