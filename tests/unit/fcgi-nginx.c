/* lib/fcgi/nginx.c: the locations made from a route table (modes beside Synapse). */
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

static int
h_up(struct mreq *req)
{
	(void)req;
	return 0;
}

static const struct mroute routes[] = {
	{ MM_POST, "/_matrix/media/v3/upload",				MAUTH_NONE, h_up },
	{ MM_GET,  "/_matrix/media/v3/download/{serverName}/{mediaId}",	MAUTH_NONE, h_none },
	{ MM_GET,  "/_matrix/client/v1/media/config",			MAUTH_NONE, h_none },
	{ MM_GET,  "/_matrix/key/v2/server",				MAUTH_NONE, h_none },
	{ MM_GET,  "/_matrix/key/v2/server/{keyId}",			MAUTH_NONE, h_none },
	{ MM_PUT,  "/_matrix/client/v3/profile/{userId}/displayname",	MAUTH_USER, h_none },
	{ MM_GET,  "/_matrix/client/v3/profile/{userId}/displayname",	MAUTH_NONE, h_none },
	{ MM_GET,  "/.well-known/matrix/x+y",				MAUTH_NONE, h_none },
	{ MM_GET,  "/_matrix/a.b/{x}",					MAUTH_NONE, h_none },
};

static const char *const uploads[] = { "~ ^/_matrix/media/(?:v3|r0)/upload$" };

static const struct mapp app = {
	.name = "test", .routes = routes, .routesz = sizeof(routes) / sizeof(routes[0]),
	.upload_locations = uploads, .upload_locationsz = 1,
};

/* Every "location ..." line nginx would read, in order. */
static const char *const want[] = {
	"location = /_myelin/metrics/test {",
	"location ~ ^/_matrix/media/(?:v3|r0)/upload$ {",
	"location ~ ^/_matrix/media/(?:v3|r0)/download/[^/]+/[^/]+$ {",
	"location = /_matrix/client/v1/media/config {",
	"location = /_matrix/key/v2/server {",
	"location ~ ^/_matrix/key/v2/server/[^/]+$ {",
	"location ~ ^/_matrix/client/(?:v3|r0)/profile/[^/]+/displayname$ {",
	"location = /.well-known/matrix/x+y {",
	"location ~ ^/_matrix/a\\.b/[^/]+$ {",
};

int
main(void)
{
	struct mconfig	 conf;
	char		*buf = NULL, *line, *save = NULL;
	size_t		 len = 0, n = 0;
	FILE		*f;

	memset(&conf, 0, sizeof(conf));
	conf.max_body_bytes = 1024;
	conf.max_upload_size = 2048;
	if ((f = open_memstream(&buf, &len)) == NULL)
		return 1;
	mfcgi_nginx(&app, &conf, "/s.sock", f);
	fclose(f);
	if (strstr(buf, "client_max_body_size 2048;") == NULL)
		FAIL("the upload location lost max_upload_size");
	for (line = strtok_r(buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "location ", 9) != 0)
			continue;
		if (n >= sizeof(want) / sizeof(want[0]))
			FAIL("extra location: %s", line);
		else if (strcmp(line, want[n]) != 0)
			FAIL("location %zu: want \"%s\", got \"%s\"", n, want[n], line);
		n++;
	}
	if (n != sizeof(want) / sizeof(want[0]))
		FAIL("%zu locations, want %zu", n, sizeof(want) / sizeof(want[0]));
	free(buf);
	return failed;
}
