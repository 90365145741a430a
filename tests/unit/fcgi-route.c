/* lib/fcgi/route.c: the path decoder and the router over a small route table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/extern.h"
#include "testlib.h"

static int
h_none(struct mreq *req)
{
	(void)req;
	return 0;
}

static const struct mroute routes[] = {
	{ MM_GET,  "/_matrix/client/v3/profile/{userId}",	MAUTH_NONE, h_none },
	{ MM_PUT,  "/_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey}",
	    MAUTH_USER, h_none },
	{ MM_POST, "/_matrix/client/v3/logout",			MAUTH_USER, h_none },
	{ MM_GET,  "/_synapse/admin/v3/things",			MAUTH_ADMIN, h_none },
};

static const struct mapp app = { .name = "test", .routes = routes,
    .routesz = sizeof(routes) / sizeof(routes[0]) };

/* Checks that decoding the first len bytes of s gives want (NULL: refused). */
static void
decodes(const char *s, size_t len, const char *want)
{
	char	*got = mfcgi_urldecode(s, len);

	if (want == NULL && got != NULL)
		FAIL("decode \"%s\": want refused, got \"%s\"", s, got);
	else if (want != NULL && got == NULL)
		FAIL("decode \"%s\": want \"%s\", got refused", s, want);
	else if (want != NULL && strcmp(got, want) != 0)
		FAIL("decode \"%s\": want \"%s\", got \"%s\"", s, want, got);
	free(got);
}

static void
decoder(void)
{
	static const struct {
		const char	*in, *want;
	} v[] = {
		{ "", "" },
		{ "plain", "plain" },
		{ "%40alice%3Aexample.org", "@alice:example.org" },
		{ "%2b%2B", "++" },
		/* In a path '+' is itself (RFC 3986); only query strings make it a space. */
		{ "a+b", "a+b" },
		{ "%e2%82%ac", "\xe2\x82\xac" },		/* U+20AC */
		{ "%F0%9F%98%80", "\xf0\x9f\x98\x80" },	/* U+1F600 */
		{ "\xc3\xa9", "\xc3\xa9" },			/* raw UTF-8 is fine too */
		/* Bad escapes. */
		{ "%", NULL }, { "%4", NULL }, { "a%4", NULL }, { "%zz", NULL },
		{ "%4g", NULL }, { "%g4", NULL }, { "%%41", NULL }, { "%-1", NULL },
		/* NUL, escaped: a C string would end there. */
		{ "%00", NULL }, { "a%00b", NULL },
		/* Not UTF-8: stray continuation, lone lead, bad continuation. */
		{ "%ff", NULL }, { "%FF%FE", NULL }, { "%80", NULL }, { "%C3", NULL },
		{ "%C3%28", NULL }, { "%E2%82", NULL }, { "x%E2%82%ACx%F0%9F", NULL },
		/* Overlong forms: "/" as C0 AF, as E0 80 AF; NUL as C0 80. */
		{ "%C0%AF", NULL }, { "%E0%80%AF", NULL }, { "%C0%80", NULL },
		{ "%C1%BF", NULL }, { "%F0%80%80%AF", NULL },
		/* Surrogates U+D800 and U+DFFF; past U+10FFFF; 5-byte forms. */
		{ "%ED%A0%80", NULL }, { "%ED%BF%BF", NULL }, { "%F4%90%80%80", NULL },
		{ "%F8%88%80%80%80", NULL },
		/* Raw bytes that are not UTF-8. */
		{ "\xff", NULL }, { "\xc0\xaf", NULL },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		decodes(v[i].in, strlen(v[i].in), v[i].want);
	/* Only len bytes count. */
	decodes("ab%41cd", 5, "abA");
	decodes("ab%4", 3, NULL);
	decodes("ab\0cd", 5, NULL);
}

/* Routes method path on a fresh request; returns the route or NULL. */
static const struct mroute *
route(struct mreq *req, enum mmethod m, const char *path)
{
	memset(req, 0, sizeof(*req));
	req->method = m;
	return mfcgi_route(req, &app, path);
}

static void
fini(struct mreq *req)
{
	for (size_t i = 0; i < req->paramsz; i++)
		free(req->params[i]);
	memset(req, 0, sizeof(*req));
}

/* Checks that routing fails with err. */
static void
refused(enum mmethod m, const char *path, enum merr err)
{
	struct mreq		 req;
	const struct mroute	*r = route(&req, m, path);

	if (r != NULL)
		FAIL("%s: routed to %s", path, r->path);
	else if (!req.failed || req.err != err)
		FAIL("%s: want %s %d, got %s %d (failed %d)", path, merr_code(err),
		    merr_status(err), merr_code(req.err), merr_status(req.err), req.failed);
	CHECK(req.paramsz == 0);
	fini(&req);
}

static void
router(void)
{
	struct mreq		 req;
	const struct mroute	*r;

	/* Parameters come out decoded. */
	r = route(&req, MM_GET, "/_matrix/client/v3/profile/%40alice%3Aexample.org");
	CHECK(r == &routes[0]);
	CHECK(req.paramsz == 1 && strcmp(req.params[0], "@alice:example.org") == 0);
	fini(&req);
	r = route(&req, MM_PUT, "/_matrix/client/v3/rooms/%21r%3Ax/state/m.room.topic/%E2%82%AC");
	CHECK(r == &routes[1]);
	CHECK(req.paramsz == 3 && strcmp(req.params[0], "!r:x") == 0 &&
	    strcmp(req.params[1], "m.room.topic") == 0 &&
	    strcmp(req.params[2], "\xe2\x82\xac") == 0);
	fini(&req);
	/* r0 is v3 under /_matrix/client/ only. */
	r = route(&req, MM_POST, "/_matrix/client/r0/logout");
	CHECK(r == &routes[2]);
	fini(&req);
	refused(MM_GET, "/_synapse/admin/r0/things", MERR_UNRECOGNIZED);
	refused(MM_POST, "/_matrix/client/r1/logout", MERR_UNRECOGNIZED);
	/* HEAD is served by the GET route. */
	r = route(&req, MM_HEAD, "/_matrix/client/v3/profile/%40a%3Ab");
	CHECK(r == &routes[0]);
	fini(&req);

	/* Spec: C-S API, "API standards": 405 M_UNRECOGNIZED for a known path. */
	refused(MM_DELETE, "/_matrix/client/v3/logout", MERR_BAD_METHOD);
	CHECK(merr_status(MERR_BAD_METHOD) == 405);
	CHECK(strcmp(merr_code(MERR_BAD_METHOD), "M_UNRECOGNIZED") == 0);
	/* Unknown paths: 404 M_UNRECOGNIZED, whatever their escapes. */
	refused(MM_GET, "/_matrix/client/v3/no/such/thing", MERR_UNRECOGNIZED);
	refused(MM_GET, "/_matrix/client/v3/profile", MERR_UNRECOGNIZED);
	refused(MM_GET, "/_matrix/client/v3/profile/", MERR_UNRECOGNIZED);
	refused(MM_GET, "/_matrix/client/v3/profile/%40a%3Ab/extra", MERR_UNRECOGNIZED);
	refused(MM_GET, "/_matrix/client/v3/profile/%zz/extra", MERR_UNRECOGNIZED);
	CHECK(merr_status(MERR_UNRECOGNIZED) == 404);

	/* A parameter that does not decode to UTF-8 text: 400 M_INVALID_PARAM. */
	refused(MM_GET, "/_matrix/client/v3/profile/%zz", MERR_INVALID_PARAM);
	refused(MM_GET, "/_matrix/client/v3/profile/a%00", MERR_INVALID_PARAM);
	refused(MM_GET, "/_matrix/client/v3/profile/%C0%AF", MERR_INVALID_PARAM);
	refused(MM_PUT, "/_matrix/client/v3/rooms/%21r%3Ax/state/m.room.topic/%ff",
	    MERR_INVALID_PARAM);
	refused(MM_PUT, "/_matrix/client/v3/rooms/%21r%3Ax/state/%ff%fe/k", MERR_INVALID_PARAM);
	/* ... also when the method would not have matched. */
	refused(MM_POST, "/_matrix/client/v3/profile/%ED%A0%80", MERR_INVALID_PARAM);
	CHECK(merr_status(MERR_INVALID_PARAM) == 400);
}

int
main(void)
{
	decoder();
	router();
	return failed;
}
