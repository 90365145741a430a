/*
 * libFuzzer harness: what myelin-media reads from requests and fetched
 * pages (handlers/media): the Content-Type of an upload, a file name
 * made a Content-Disposition, a thumbnail query, media IDs made paths,
 * and from a URL preview the HTML head parser, the image size reader
 * and the URL resolver.  The input is lines (Content-Type, file name,
 * thumbnail query, base URL, reference), then any bytes (the page or
 * image).  No header may carry a line end of its own, and no path
 * leave its folder.
 */
#define main	myelin_media_main
int	myelin_media_main(int, char *[]);
#include "../../handlers/media/main.c"
#undef main
#include "../../handlers/media/h_download.c"
#include "../../handlers/media/h_preview.c"

#include "fcgi/extern.h"
#include "fuzz.h"

static const struct mconfig	fconf = { .server_name = "example.org",
				    .media_path = "/nonexistent" };
static const struct mserver	fsrv = { .conf = &fconf };

/* The next line of [*p, end), NUL-terminated in a copy, or NULL at the end or on a NUL. */
static char *
line(const uint8_t **p, const uint8_t *end)
{
	const uint8_t	*nl;
	char		*s;

	if (*p >= end)
		return NULL;
	if ((nl = memchr(*p, '\n', (size_t)(end - *p))) == NULL)
		nl = end;
	if (memchr(*p, '\0', (size_t)(nl - *p)) != NULL ||
	    (s = strndup((const char *)*p, (size_t)(nl - *p))) == NULL)
		return NULL;
	*p = nl < end ? nl + 1 : end;
	return s;
}

/* 1 when the headers are "Name: value\r\n" lines, no CR or LF inside. */
static int
headers_ok(const char *h)
{
	while (h != NULL && *h != '\0') {
		const char *e = strstr(h, "\r\n");

		if (e == NULL || memchr(h, '\n', (size_t)(e - h)) != NULL ||
		    memchr(h, '\r', (size_t)(e - h)) != NULL)
			return 0;
		h = e + 2;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t		*p = data, *end = data + size;
	char			*ct, *name, *query, *base, *ref, *u, *rel;
	struct mreq		 req;
	struct thumb_ask	 ask;
	json_t			*og;
	long			 w, h;

	ct = line(&p, end);
	name = line(&p, end);
	query = line(&p, end);
	base = line(&p, end);
	ref = line(&p, end);
	if (ref == NULL)
		goto out;
	mfcgi_req_init(&req, &fsrv, NULL);
	req.query = query;
	if (media_content_type_check(&req, ct) == 0) {
		for (const char *c = ct; *c != '\0'; c++)
			FUZZ_ASSERT(*c >= 0x20 && *c <= 0x7e);
		if (disposition(&req, ct, name) == 0)
			FUZZ_ASSERT(headers_ok(req.headers));
		(void)inline_ok(ct);
		(void)media_thumb_type(ct);
	}
	if (thumb_query(&req, &ask) == 0) {
		FUZZ_ASSERT(ask.w >= 1 && ask.h >= 1 && ask.method != NULL);
		(void)media_tsize_pick(ask.w, ask.h, ask.method);
	}
	if (mmedia_id_check(name) && (rel = mmedia_relpath(MFILE_LOCAL, name, "32-32-crop")) != NULL) {
		FUZZ_ASSERT(strstr(rel, "..") == NULL);
		free(rel);
	}
	if ((rel = mmedia_remote_relpath(1, base, name, NULL)) != NULL) {
		FUZZ_ASSERT(strstr(rel, "..") == NULL && strstr(rel, "//") == NULL);
		free(rel);
	}
	mfcgi_req_fini(&req);
	if ((u = resolve_url(base, ref)) != NULL) {
		FUZZ_ASSERT(strncasecmp(u, "http://", 7) == 0 || strncasecmp(u, "https://", 8) == 0 ||
		    strstr(base, "://") != NULL);
		free(u);
	}
	if ((og = preview_parse_html((const char *)p, (size_t)(end - p))) != NULL) {
		FUZZ_ASSERT(json_is_object(og));
		json_decref(og);
	}
	if (image_size(p, (size_t)(end - p), &w, &h) == 0)
		FUZZ_ASSERT(w >= 0 && h >= 0);
out:
	free(ct);
	free(name);
	free(query);
	free(base);
	free(ref);
	return 0;
}
