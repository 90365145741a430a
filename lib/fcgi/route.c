/* Matching request paths against a program's route table; decoding what they carry. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/extern.h"

size_t
mfcgi_utf8_len(const char *str, size_t n)
{
	const unsigned char	*s = (const unsigned char *)str;
	size_t			 need, k;
	uint32_t		 cp, min;

	if (n == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		need = 1;
		cp = s[0] & 0x1f;
		min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		need = 2;
		cp = s[0] & 0x0f;
		min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		need = 3;
		cp = s[0] & 0x07;
		min = 0x10000;
	} else
		return 0;
	if (n - 1 < need)
		return 0;
	for (k = 1; k <= need; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[k] & 0x3f);
	}
	/* Overlong forms (C0 AF for "/"), surrogates and past Unicode. */
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need + 1;
}

/* The value of hex digit c, or -1. */
static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decodes len bytes of s: %XX escapes and, when plus is set, '+' as a
 * space.  A '+' is looked at before escapes are, so "%2B" stays a plus.
 * Returns the text (malloc'd), or NULL with errno EINVAL on a bad escape,
 * a NUL byte or text that is not UTF-8, ENOMEM without memory.
 */
static char *
decode(const char *s, size_t len, int plus)
{
	char	*out, *o;
	size_t	 i, k, n;

	if ((out = malloc(len + 1)) == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	for (o = out, i = 0; i < len; i++) {
		if (s[i] == '%') {
			int hi, lo;

			if (len - i < 3 || (hi = hexval(s[i + 1])) == -1 ||
			    (lo = hexval(s[i + 2])) == -1)
				goto bad;
			*o++ = (char)(hi << 4 | lo);
			i += 2;
		} else if (plus && s[i] == '+')
			*o++ = ' ';
		else
			*o++ = s[i];
	}
	n = (size_t)(o - out);
	*o = '\0';
	/* A NUL would cut the text short wherever it is used as a C string. */
	if (memchr(out, '\0', n) != NULL)
		goto bad;
	for (i = 0; i < n; i += k)
		if ((k = mfcgi_utf8_len(out + i, n - i)) == 0)
			goto bad;
	return out;
bad:
	free(out);
	errno = EINVAL;
	return NULL;
}

/*
 * Path parameters are identifiers and names, text as everything else in
 * the API is (Spec: C-S API, "All JSON data ... must be encoded using
 * UTF-8"): bytes that are not text are refused here, for every route,
 * rather than stored for later readers (json_string()) to choke on.
 */
char *
mfcgi_urldecode(const char *s, size_t len)
{
	return decode(s, len, 0);
}

/*
 * application/x-www-form-urlencoded (HTML, URL spec): '+' is a space,
 * and is decoded before %XX so that "%2B" is a plus.
 */
char *
mfcgi_formdecode(const char *s, size_t len)
{
	return decode(s, len, 1);
}

/*
 * Compares one pattern segment with one path segment.  "{name}" takes any
 * non-empty segment.  Under /_matrix/client/ and /_matrix/media/ the version "v3" also
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

/*
 * Returns 1 when path fits pattern (params filled, decoded), 0 when not,
 * -1 when it fits but a parameter does not decode (errno EINVAL: a bad
 * escape, a NUL, not UTF-8; ENOMEM).  Parameters are decoded only once the whole path fits, so
 * an unknown path is unknown whatever its escapes.
 */
static int
match(struct mreq *req, const char *pat, const char *path)
{
	int		 clientver = strncmp(pat, "/_matrix/client/", 16) == 0 ||
			    strncmp(pat, "/_matrix/media/", 15) == 0;
	int		 segno = 0;
	const char	*seg[MREQ_PARAMS];
	size_t		 segsz[MREQ_PARAMS], n = 0;

	params_free(req);
	while (*pat == '/' && *path == '/') {
		const char *pe, *se;
		size_t patsz, sz;

		pat++;
		path++;
		pe = pat + strcspn(pat, "/");
		se = path + strcspn(path, "/");
		patsz = (size_t)(pe - pat);
		sz = (size_t)(se - path);
		if (!segmatch(pat, patsz, path, sz, clientver && segno == 2))
			return 0;
		if (pat[0] == '{') {
			if (n == MREQ_PARAMS)
				return 0;
			seg[n] = path;
			segsz[n++] = sz;
		}
		pat = pe;
		path = se;
		segno++;
	}
	if (*pat != '\0' || *path != '\0')
		return 0;
	for (size_t i = 0; i < n; i++) {
		if ((req->params[i] = mfcgi_urldecode(seg[i], segsz[i])) == NULL) {
			int saved = errno;

			params_free(req);
			errno = saved;
			return -1;
		}
		req->paramsz = i + 1;
	}
	return 1;
}

const struct mroute *
mfcgi_route(struct mreq *req, const struct mapp *app, const char *path)
{
	const struct mroute	*found = NULL;
	int			 pathmatch = 0, rc;

	for (size_t i = 0; i < app->routesz; i++) {
		const struct mroute *r = &app->routes[i];

		if ((rc = match(req, r->path, path)) == -1) {
			if (errno == ENOMEM)
				mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
			else
				/* Spec: C-S API, M_INVALID_PARAM: "the wrong value". */
				mfcgi_fail(req, MERR_INVALID_PARAM,
				    "Path parameter is not percent-encoded UTF-8 text");
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
