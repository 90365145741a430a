/* URL previews: GET .../preview_url, a page's OpenGraph tags fetched through lib/http. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock/clock.h"
#include "config/config.h"
#include "http/http.h"
#include "extern.h"
#include "json/json.h"
#include "log/log.h"

/* Synapse: a preview is cached an hour; a page may redirect 5 times, in 30 s. */
#define PREVIEW_CACHE_MS	(60 * 60 * 1000)
#define PREVIEW_REDIRECTS	5
#define PREVIEW_TIMEOUT_MS	(30 * 1000)
/* Synapse truncates og:description; so is every other value here. */
#define PREVIEW_VALUE_MAX	500
#define PREVIEW_URL_MAX		2048

/* The text of len bytes at s as UTF-8 (Latin-1 when it is not), trimmed and shortened. */
static json_t *
text_value(const char *s, size_t len)
{
	char	*buf, *o;
	json_t	*v;

	while (len > 0 && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	if ((v = json_stringn(s, len)) != NULL) {
		/* At most PREVIEW_VALUE_MAX bytes, cut before a character. */
		if (len > PREVIEW_VALUE_MAX) {
			size_t n = PREVIEW_VALUE_MAX;

			while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
				n--;
			json_decref(v);
			v = json_stringn(s, n);
		}
		return v;
	}
	if (len > PREVIEW_VALUE_MAX)
		len = PREVIEW_VALUE_MAX;
	if ((buf = o = malloc(len * 2 + 1)) == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x80)
			*o++ = (char)c;
		else {
			*o++ = (char)(0xc0 | (c >> 6));
			*o++ = (char)(0x80 | (c & 0x3f));
		}
	}
	v = json_stringn(buf, (size_t)(o - buf));
	free(buf);
	return v;
}

/* Appends code point cp as UTF-8 at *o (NUL, surrogates and the out of range dropped). */
static void
put_utf8(char **o, unsigned long cp)
{
	char *p = *o;

	if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return;
	if (cp < 0x80)
		*p++ = (char)cp;
	else if (cp < 0x800) {
		*p++ = (char)(0xc0 | (cp >> 6));
		*p++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*p++ = (char)(0xe0 | (cp >> 12));
		*p++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*p++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*p++ = (char)(0xf0 | (cp >> 18));
		*p++ = (char)(0x80 | ((cp >> 12) & 0x3f));
		*p++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*p++ = (char)(0x80 | (cp & 0x3f));
	}
	*o = p;
}

/* The len bytes at s with HTML's character references decoded, as a JSON string. */
static json_t *
html_text(const char *s, size_t len)
{
	static const struct { const char *name; unsigned long cp; } named[] = {
		{ "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' },
		{ "apos", '\'' }, { "nbsp", 0xa0 },
	};
	char	*buf, *o;
	json_t	*v;

	if ((buf = o = malloc(len * 4 + 1)) == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		size_t	 semi, j;

		if (s[i] != '&') {
			*o++ = s[i];
			continue;
		}
		for (semi = i + 1; semi < len && semi < i + 12 && s[semi] != ';'; semi++)
			;
		if (semi >= len || s[semi] != ';') {
			*o++ = s[i];
			continue;
		}
		if (s[i + 1] == '#') {
			unsigned long	 cp = 0;
			int		 hex = i + 2 < semi && (s[i + 2] == 'x' || s[i + 2] == 'X');
			size_t		 d = i + 2 + (size_t)hex;

			if (d == semi) {
				*o++ = s[i];
				continue;
			}
			for (j = d; j < semi && isxdigit((unsigned char)s[j]) &&
			    (hex || isdigit((unsigned char)s[j])) && cp <= 0x10ffff; j++)
				cp = cp * (hex ? 16 : 10) + (unsigned long)(isdigit((unsigned char)s[j]) ?
				    s[j] - '0' : (tolower((unsigned char)s[j]) - 'a' + 10));
			if (j != semi) {
				*o++ = s[i];
				continue;
			}
			put_utf8(&o, cp);
			i = semi;
			continue;
		}
		for (j = 0; j < sizeof(named) / sizeof(named[0]); j++)
			if (strlen(named[j].name) == semi - i - 1 &&
			    strncmp(s + i + 1, named[j].name, semi - i - 1) == 0)
				break;
		if (j == sizeof(named) / sizeof(named[0])) {
			*o++ = s[i];
			continue;
		}
		put_utf8(&o, named[j].cp);
		i = semi;
	}
	v = text_value(buf, (size_t)(o - buf));
	free(buf);
	return v;
}

/*
 * One attribute of the tag whose attributes are p..end: its value's
 * start and length, or NULL.  Names are case-insensitive; values are
 * quoted with " or ', or unquoted up to a space.
 */
static const char *
attr_get(const char *p, const char *end, const char *name, size_t *vlen)
{
	size_t nlen = strlen(name);

	while (p < end) {
		const char	*n, *v;
		size_t		 l;

		while (p < end && (isspace((unsigned char)*p) || *p == '/'))
			p++;
		n = p;
		while (p < end && !isspace((unsigned char)*p) && *p != '=' && *p != '/')
			p++;
		l = (size_t)(p - n);
		while (p < end && isspace((unsigned char)*p))
			p++;
		if (p >= end || *p != '=') {
			if (l == 0)
				p++;
			continue;
		}
		p++;
		while (p < end && isspace((unsigned char)*p))
			p++;
		if (p < end && (*p == '"' || *p == '\'')) {
			char q = *p++;

			v = p;
			while (p < end && *p != q)
				p++;
			*vlen = (size_t)(p - v);
			if (p < end)
				p++;
		} else {
			v = p;
			while (p < end && !isspace((unsigned char)*p))
				p++;
			*vlen = (size_t)(p - v);
		}
		if (l == nlen && strncasecmp(n, name, nlen) == 0)
			return v;
	}
	return NULL;
}

/* Whether the tag at p (after '<') is name, case-insensitive. */
static int
tag_is(const char *p, const char *end, const char *name)
{
	size_t n = strlen(name);

	return (size_t)(end - p) > n && strncasecmp(p, name, n) == 0 &&
	    (isspace((unsigned char)p[n]) || p[n] == '>' || p[n] == '/');
}

/*
 * The OpenGraph object of an HTML page (a hand parser of its head, not
 * of HTML: meta tags and the title, until </head> or <body>).  og:*
 * properties as given; without og:title the <title>, without
 * og:description the meta description.  A new object, or NULL.
 */
static json_t *
preview_parse_html(const char *html, size_t len)
{
	const char	*p = html, *end = html + len, *gt;
	json_t		*og, *title = NULL, *desc = NULL;

	if ((og = json_object()) == NULL)
		return NULL;
	while ((p = memchr(p, '<', (size_t)(end - p))) != NULL) {
		p++;
		if ((size_t)(end - p) >= 3 && strncmp(p, "!--", 3) == 0) {
			const char *c = memmem(p, (size_t)(end - p), "-->", 3);

			if (c == NULL)
				break;
			p = c + 3;
			continue;
		}
		if ((gt = memchr(p, '>', (size_t)(end - p))) == NULL)
			break;
		if (tag_is(p, end, "/head") || tag_is(p, end, "body"))
			break;
		if (tag_is(p, end, "meta")) {
			const char	*prop, *content;
			size_t		 pl = 0, cl = 0;

			if ((content = attr_get(p + 4, gt, "content", &cl)) == NULL) {
				p = gt + 1;
				continue;
			}
			if ((prop = attr_get(p + 4, gt, "property", &pl)) == NULL)
				prop = attr_get(p + 4, gt, "name", &pl);
			if (prop != NULL && pl > 3 && pl < 64 && strncasecmp(prop, "og:", 3) == 0) {
				char	 key[64];
				json_t	*v;
				int	 ok = 1;

				for (size_t i = 0; i < pl; i++) {
					key[i] = (char)tolower((unsigned char)prop[i]);
					if (prop[i] <= 0x20 || prop[i] > 0x7e)
						ok = 0;
				}
				key[pl] = '\0';
				if (ok && json_object_get(og, key) == NULL &&
				    (v = html_text(content, cl)) != NULL)
					json_object_set_new(og, key, v);
			} else if (prop != NULL && pl == 11 && strncasecmp(prop, "description", 11) == 0 &&
			    desc == NULL)
				desc = html_text(content, cl);
		} else if (tag_is(p, end, "title") && title == NULL) {
			const char *close = gt + 1, *t;

			for (t = close; (t = memchr(t, '<', (size_t)(end - t))) != NULL; t++)
				if ((size_t)(end - t) >= 7 && strncasecmp(t, "</title", 7) == 0)
					break;
			if (t == NULL)
				break;
			title = html_text(close, (size_t)(t - close));
			gt = t;
		}
		p = gt + 1;
	}
	if (json_object_get(og, "og:title") == NULL && title != NULL &&
	    json_string_length(title) > 0)
		json_object_set(og, "og:title", title);
	if (json_object_get(og, "og:description") == NULL && desc != NULL &&
	    json_string_length(desc) > 0)
		json_object_set(og, "og:description", desc);
	json_decref(title);
	json_decref(desc);
	return og;
}

/* Whether the media type ct is type (parameters ignored). */
static int
ct_is(const char *ct, const char *prefix)
{
	return ct != NULL && strncasecmp(ct, prefix, strlen(prefix)) == 0;
}

/* The fetch policy of previews: the address allowlist, size, time, redirects. */
static void
preview_req(struct mreq *req, struct mhttp_req *h, const struct mhttp_allow *allow,
    const char *url)
{
	static const char *const hdrs[] = { "User-Agent: myelin URL preview" };

	memset(h, 0, sizeof(*h));
	h->url = url;
	h->headers = hdrs;
	h->headersz = 1;
	h->allow = allow;
	h->timeout_ms = PREVIEW_TIMEOUT_MS;
	h->max_bytes = (size_t)req->conf->max_spider_size;
	h->max_redirects = PREVIEW_REDIRECTS;
	h->redirect_http = 1;
	h->ca_file = req->conf->url_preview_ca_file;
}

/* An absolute http(s) URL of ref on the page at base (malloc'd), or NULL. */
static char *
resolve_url(const char *base, const char *ref)
{
	const char	*scheme_end, *host_end;
	char		*out = NULL;

	if (strncasecmp(ref, "http://", 7) == 0 || strncasecmp(ref, "https://", 8) == 0)
		return strdup(ref);
	if ((scheme_end = strstr(base, "://")) == NULL)
		return NULL;
	if (strncmp(ref, "//", 2) == 0) {
		if (asprintf(&out, "%.*s:%s", (int)(scheme_end - base), base, ref) == -1)
			return NULL;
		return out;
	}
	host_end = scheme_end + 3 + strcspn(scheme_end + 3, "/?#");
	if (ref[0] == '/') {
		if (asprintf(&out, "%.*s%s", (int)(host_end - base), base, ref) == -1)
			return NULL;
		return out;
	}
	{
		const char *path_end = host_end + strcspn(host_end, "?#"), *slash = NULL;

		for (const char *s = host_end; s < path_end; s++)
			if (*s == '/')
				slash = s;
		if (slash == NULL) {
			if (asprintf(&out, "%.*s/%s", (int)(host_end - base), base, ref) == -1)
				return NULL;
		} else if (asprintf(&out, "%.*s%s", (int)(slash + 1 - base), base, ref) == -1)
			return NULL;
	}
	return out;
}

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * The width and height an image's header gives (PNG, GIF, JPEG, WebP),
 * read from its first bytes, nothing decoded.  0, or -1 when none.
 */
static int
image_size(const unsigned char *b, size_t n, long *w, long *h)
{
	if (n >= 24 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0 && memcmp(b + 12, "IHDR", 4) == 0) {
		*w = (long)be32(b + 16);
		*h = (long)be32(b + 20);
		return 0;
	}
	if (n >= 10 && (memcmp(b, "GIF87a", 6) == 0 || memcmp(b, "GIF89a", 6) == 0)) {
		*w = b[6] | b[7] << 8;
		*h = b[8] | b[9] << 8;
		return 0;
	}
	if (n >= 30 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0) {
		if (memcmp(b + 12, "VP8X", 4) == 0) {
			*w = 1 + (b[24] | b[25] << 8 | b[26] << 16);
			*h = 1 + (b[27] | b[28] << 8 | (long)b[29] << 16);
			return 0;
		}
		if (memcmp(b + 12, "VP8L", 4) == 0 && b[20] == 0x2f) {
			*w = 1 + ((b[21] | b[22] << 8) & 0x3fff);
			*h = 1 + ((b[22] >> 6 | b[23] << 2 | (b[24] & 0xf) << 10) & 0x3fff);
			return 0;
		}
		if (memcmp(b + 12, "VP8 ", 4) == 0) {
			*w = (b[26] | b[27] << 8) & 0x3fff;
			*h = (b[28] | b[29] << 8) & 0x3fff;
			return 0;
		}
		return -1;
	}
	if (n >= 4 && b[0] == 0xff && b[1] == 0xd8) {
		/* JPEG: the segments up to a start of frame (SOF0..SOF15 but DHT, JPG, DAC). */
		size_t i = 2;

		while (i + 9 < n) {
			unsigned char m;
			size_t len;

			if (b[i] != 0xff)
				return -1;
			m = b[i + 1];
			if (m == 0xff) {
				i++;
				continue;
			}
			len = (size_t)(b[i + 2] << 8 | b[i + 3]);
			if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc) {
				*h = b[i + 5] << 8 | b[i + 6];
				*w = b[i + 7] << 8 | b[i + 8];
				return 0;
			}
			if (len < 2)
				return -1;
			i += 2 + len;
		}
	}
	return -1;
}

/*
 * Stores an image fetched for a preview as local media of the user who
 * asked (as Synapse keeps them), and adds og:image (its mxc URI),
 * og:image:type, matrix:image:size and the image's og:image:width and
 * og:image:height to og.  A failure leaves og as
 * it was (the preview goes on without its image).
 */
static void
preview_image(struct mreq *req, json_t *og, const struct mhttp_req *h)
{
	char	*id = NULL, *uri = NULL;

	if (media_store_local(req, h->resp, h->respsz, h->content_type, NULL, &id) == -1)
		return;
	if (asprintf(&uri, "mxc://%s/%s", req->conf->server_name, id) != -1) {
		json_object_set_new(og, "og:image", json_string(uri));
		json_object_set_new(og, "og:image:type", json_string(h->content_type));
		json_object_set_new(og, "matrix:image:size", json_integer((json_int_t)h->respsz));
		/* As Synapse: the image's own size, over what the tags said. */
		{
			long iw, ih;

			if (image_size((const unsigned char *)h->resp, h->respsz, &iw, &ih) == 0) {
				json_object_set_new(og, "og:image:width", json_integer(iw));
				json_object_set_new(og, "og:image:height", json_integer(ih));
			}
		}
		free(uri);
	}
	free(id);
}

/*
 * Spec: C-S API, GET /_matrix/client/v1/media/preview_url?url&ts (and
 * the legacy /_matrix/media/v3/preview_url).  Off unless
 * url_preview_enabled, answered then as Synapse, which registers no
 * such route: 404 M_UNRECOGNIZED.  Raises 400 M_MISSING_PARAM,
 * M_INVALID_PARAM (not an http(s) URL), 502 M_UNKNOWN when the page
 * cannot be fetched (a refused address among them) or answers an error.
 */
int
h_preview_url(struct mreq *req)
{
	struct mhttp_allow	 allow;
	struct mhttp_req	 h, img;
	char			*url = NULL, *cached = NULL, *dump = NULL, *imgurl = NULL;
	json_t			*og = NULL, *v;
	int64_t			 now = mclock_now_ms();
	int			 rc = -1, got;

	memset(&h, 0, sizeof(h));
	memset(&img, 0, sizeof(img));
	if (!req->conf->url_preview_enabled)
		return mfcgi_fail(req, MERR_UNRECOGNIZED, "URL previews are disabled on this server");
	if ((url = mreq_query(req, "url")) == NULL)
		return mfcgi_fail(req, MERR_MISSING_PARAM, "Missing url parameter");
	if (strlen(url) > PREVIEW_URL_MAX ||
	    (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0) ||
	    strpbrk(url, " \t\r\n") != NULL) {
		mfcgi_fail(req, MERR_INVALID_PARAM, "Requested URL is not an http(s) URL");
		goto out;
	}
	/* ts: the client's wish for an older preview; the cache answers as it is. */
	if ((got = mstore_preview_get(req->db, url, now, &cached)) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: cannot read the cache", __func__);
		goto out;
	}
	if (got == 1 && (og = mjson_parse(cached, strlen(cached), 8)) != NULL &&
	    json_is_object(og)) {
		rc = mfcgi_reply(req, 200, og);
		og = NULL;
		goto out;
	}
	json_decref(og);
	og = NULL;
	if (mhttp_allow_parse(req->conf->url_preview_allow_ips, &allow) == -1)
		memset(&allow, 0, sizeof(allow));
	preview_req(req, &h, &allow, url);
	if (mhttp_perform(&h) == -1) {
		mlog_info(req->id, "preview of %s: %s", url, h.err);
		mfcgi_fail(req, MERR_BAD_GATEWAY, "Failed to download content: %s", h.err);
		goto out;
	}
	if (h.status < 200 || h.status >= 300) {
		mfcgi_fail(req, MERR_BAD_GATEWAY, "Got error %ld", h.status);
		goto out;
	}
	if (ct_is(h.content_type, "image/")) {
		if ((og = json_object()) == NULL)
			goto oom;
		preview_image(req, og, &h);
	} else if (ct_is(h.content_type, "text/html") ||
	    ct_is(h.content_type, "application/xhtml")) {
		if ((og = preview_parse_html(h.resp, h.respsz)) == NULL)
			goto oom;
		if ((v = json_object_get(og, "og:image")) != NULL && json_is_string(v)) {
			imgurl = resolve_url(url, json_string_value(v));
			json_object_del(og, "og:image");
			if (imgurl != NULL) {
				preview_req(req, &img, &allow, imgurl);
				if (mhttp_perform(&img) == 0 && img.status >= 200 && img.status < 300 &&
				    ct_is(img.content_type, "image/"))
					preview_image(req, og, &img);
				else
					mlog_info(req->id, "preview of %s: image %s not fetched: %s",
					    url, imgurl, img.err[0] != '\0' ? img.err : "not an image");
			}
		}
	} else if ((og = json_object()) == NULL)
		goto oom;
	if ((dump = json_dumps(og, JSON_COMPACT)) == NULL)
		goto oom;
	if (mstore_preview_put(req->db, url, dump, now, now + PREVIEW_CACHE_MS) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: cannot cache the preview", __func__);
		goto out;
	}
	mlog_info(req->id, "preview of %s: %zu bytes of %s", url, h.respsz,
	    h.content_type != NULL ? h.content_type : "no type");
	rc = mfcgi_reply(req, 200, og);
	og = NULL;
	goto out;
oom:
	mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
out:
	json_decref(og);
	mhttp_req_fini(&h);
	mhttp_req_fini(&img);
	free(imgurl);
	free(dump);
	free(cached);
	free(url);
	return rc;
}
