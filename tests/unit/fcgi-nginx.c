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

/* Route groups (beside Synapse, myelin-client): -L -g. */
static int
h_prof(struct mreq *req)
{
	(void)req;
	return 0;
}

static int
h_list(struct mreq *req)
{
	(void)req;
	return 0;
}

static const struct mroute groute[] = {
	{ MM_GET,  "/_matrix/client/v3/profile/{userId}",		MAUTH_NONE, h_prof },
	{ MM_PUT,  "/_matrix/client/v3/profile/{userId}",		MAUTH_NONE, h_none },
	{ MM_GET,  "/_matrix/client/v3/publicRooms",			MAUTH_NONE, h_list },
	{ MM_POST, "/_matrix/client/v3/publicRooms",			MAUTH_NONE, h_list },
};
static const mhandler g_prof[] = { h_prof }, g_list[] = { h_list };
static const struct mroute_group groups[] = {
	{ "prof", g_prof, 1 }, { "list", g_list, 1 },
};
static const struct mapp gapp = {
	.name = "g", .routes = groute, .routesz = sizeof(groute) / sizeof(groute[0]),
	.groups = groups, .groupsz = 2, .elsewhere = "@else",
};

/* mfcgi_nginx_groups's text for groups, or NULL when it refused them. */
static char *
grouped(const struct mconfig *conf, const char *g)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*f;
	int	 rc;

	if ((f = open_memstream(&buf, &len)) == NULL)
		return NULL;
	rc = mfcgi_nginx_groups(&gapp, conf, "/g.sock", g, f);
	fclose(f);
	if (rc == -1) {
		if (len != 0)
			FAIL("-g %s: refused, yet printed", g);
		free(buf);
		return NULL;
	}
	return buf;
}

static void
test_groups(const struct mconfig *conf)
{
	static const char *const bad[] = { "", ",", "prof,", ",prof", "prof,,list", "nope",
	    "pro", "prof,nope" };
	char *t;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if ((t = grouped(conf, bad[i])) != NULL) {
			FAIL("-g \"%s\" taken", bad[i]);
			free(t);
		}
	/* One group: its route's location alone, the other methods elsewhere. */
	if ((t = grouped(conf, "prof")) == NULL)
		FAIL("-g prof refused");
	else {
		if (strstr(t, "location ~ ^/_matrix/client/(?:v3|r0)/profile/[^/]+$ {") == NULL ||
		    strstr(t, "publicRooms") != NULL)
			FAIL("-g prof: not its location alone:\n%s", t);
		if (strstr(t, "error_page 418 = @else;") == NULL ||
		    strstr(t, "if ($request_method !~ ^(?:GET|HEAD)$) {") == NULL)
			FAIL("-g prof: PUT is not sent elsewhere:\n%s", t);
		if (strstr(t, "location @else") != NULL)
			FAIL("-g prof: the layout's named location printed");
		free(t);
	}
	/* Both methods of a path in the group: both ours. */
	if ((t = grouped(conf, "list,prof")) == NULL)
		FAIL("-g list,prof refused");
	else {
		if (strstr(t, "location = /_matrix/client/v3/publicRooms {") != NULL ||
		    strstr(t, "^(?:GET|POST|HEAD)$") == NULL || strstr(t, "profile") == NULL)
			FAIL("-g list,prof:\n%s", t);
		free(t);
	}
	/* All routes (a stack of its own): a stand-in for the named location. */
	if ((t = grouped(conf, NULL)) == NULL)
		FAIL("no -g refused");
	else {
		if (strstr(t, "location @else {") == NULL || strstr(t, "M_UNRECOGNIZED") == NULL ||
		    strstr(t, "return 418") != NULL)
			FAIL("no -g:\n%s", t);
		free(t);
	}
}

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
	test_groups(&conf);
	return failed;
}
