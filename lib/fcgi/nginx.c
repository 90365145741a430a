/* nginx configuration generated from a program's route table. */
#include <stdio.h>
#include <string.h>
#include <jansson.h>
#include <unistd.h>

#include "compat.h"
#include "fcgi/extern.h"

/*
 * Each location a program declares is passed whole to its socket; the
 * program's own route table then answers 404/405 M_UNRECOGNIZED for what
 * it does not serve.  REQUEST_URI is the raw URI as sent: federation
 * signatures cover the path byte for byte.
 *
 * nginx refuses a body over the program's own limit, max_body_bytes,
 * from the Content-Length alone (413, which the server's error_page
 * makes M_TOO_LARGE): it neither waits for nor spools to disk a body the
 * handler would refuse.  What nginx refuses before any location is
 * chosen (400 for a malformed request, 494, 414) is made Matrix JSON by
 * the server's error_page lines in myelin-stack, which these locations
 * inherit as they set none.  $myelin_handler names the program in the
 * access log.
 */
/* Appends str to buf (of bufsz, *n used).  0, or -1 when it does not fit. */
static int
append(char *buf, size_t bufsz, size_t *n, const char *str)
{
	size_t len = strlen(str);

	if (*n + len + 1 > bufsz)
		return -1;
	memcpy(buf + *n, str, len + 1);
	*n += len;
	return 0;
}

/*
 * The nginx location of one route: "= PATH" when the path has no
 * parameter and no other version, else a regular expression where each
 * {param} is one segment and, under /_matrix/client/ and
 * /_matrix/media/, "v3" also "r0" (as mfcgi_route matches).  Into buf;
 * 0, or -1 when it does not fit.
 */
static int
route_location(const char *path, char *buf, size_t bufsz)
{
	int	 clientver = strncmp(path, "/_matrix/client/", 16) == 0 ||
		    strncmp(path, "/_matrix/media/", 15) == 0;
	size_t	 n = 0;

	buf[0] = '\0';
	if (strchr(path, '{') == NULL && !(clientver && strstr(path, "/v3/") != NULL))
		return append(buf, bufsz, &n, "= ") == -1 ? -1 : append(buf, bufsz, &n, path);
	if (append(buf, bufsz, &n, "~ ^") == -1)
		return -1;
	for (const char *p = path; *p != '\0'; p++) {
		char	 one[3] = { *p, '\0', '\0' };
		int	 rc;

		if (*p == '{') {
			if ((p = strchr(p, '}')) == NULL)
				return -1;
			rc = append(buf, bufsz, &n, "[^/]+");
		} else if (clientver && strncmp(p, "/v3/", 4) == 0) {
			rc = append(buf, bufsz, &n, "/(?:v3|r0)/");
			p += 3;
		} else if (strchr(".+*?()[]^$|\\", *p) != NULL) {
			one[0] = '\\';
			one[1] = *p;
			rc = append(buf, bufsz, &n, one);
		} else
			rc = append(buf, bufsz, &n, one);
		if (rc == -1)
			return -1;
	}
	return append(buf, bufsz, &n, "$");
}

static void
location(FILE *f, const struct mapp *app, const struct mconfig *conf, const char *sock,
    const char *loc, const char *methods)
{
	fprintf(f, "location %s {\n", loc);
	/*
	 * Beside Synapse: the methods this table lacks on the path are
	 * Synapse's (a PUT beside our GET), sent to the named location
	 * before any byte of the body is read.  error_page here hides the
	 * server's, so the layout's 413 answer is named again.
	 */
	if (methods != NULL)
		fprintf(f, "\terror_page 413 @too_large;\n"
		    "\terror_page 418 = %s;\n"
		    "\tif ($request_method !~ ^(?:%s)$) {\n"
		    "\t\treturn 418;\n"
		    "\t}\n", app->elsewhere, methods);
	fprintf(f, "\tfastcgi_pass unix:%s;\n"
	    "\tfastcgi_param REQUEST_METHOD $request_method;\n"
	    "\tfastcgi_param REQUEST_URI $request_uri;\n"
	    "\tfastcgi_param QUERY_STRING $query_string;\n"
	    "\tfastcgi_param CONTENT_TYPE $content_type;\n"
	    "\tfastcgi_param CONTENT_LENGTH $content_length;\n"
	    "\tfastcgi_param REMOTE_ADDR $remote_addr;\n"
	    "\tfastcgi_param SERVER_NAME $server_name;\n"
	    "\tclient_max_body_size %lld;\n"
	    "\tset $myelin_handler %s;\n",
	    sock, (long long)conf->max_body_bytes, getprogname());
	/* Long-polls outlast nginx's 60 s default read timeout. */
	if (app->wait_seconds > 0)
		fprintf(f, "\tfastcgi_read_timeout %ds;\n", app->wait_seconds + 30);
	fputs("}\n", f);
}

/* Whether name is one of the comma-separated list's. */
static int
listed(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; p != NULL; p = strchr(p, ',') != NULL ? strchr(p, ',') + 1 :
	    NULL)
		if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return 1;
	return 0;
}

/* Whether route r belongs to one of the groups listed (all routes: groups NULL). */
static int
chosen(const struct mapp *app, const struct mroute *r, const char *groups)
{
	if (groups == NULL)
		return 1;
	for (size_t g = 0; g < app->groupsz; g++)
		for (size_t i = 0; listed(groups, app->groups[g].name) && i < app->groups[g].fnsz;
		    i++)
			if (app->groups[g].fns[i] == r->fn)
				return 1;
	return 0;
}

/* Every name of the list is one of app's groups. */
static int
groups_known(const struct mapp *app, const char *groups)
{
	const char *p = groups;

	while (*p != '\0') {
		size_t	n = strcspn(p, ","), g;

		for (g = 0; g < app->groupsz; g++)
			if (strlen(app->groups[g].name) == n &&
			    strncmp(app->groups[g].name, p, n) == 0)
				break;
		if (n == 0 || g == app->groupsz)
			return 0;
		p += n;
		if (*p == ',' && *++p == '\0')
			return 0;
	}
	return p != groups;
}

void
mfcgi_nginx(const struct mapp *app, const struct mconfig *conf, const char *sock, FILE *f)
{
	(void)mfcgi_nginx_groups(app, conf, sock, NULL, f);
}

int
mfcgi_nginx_groups(const struct mapp *app, const struct mconfig *conf, const char *sock,
    const char *groups, FILE *f)
{
	char	 loc[1024], other[1024], methods[64];
	int	 drops = geteuid() == 0 && (conf->user == NULL || strcmp(conf->user, "root") != 0);

	if (groups != NULL && !groups_known(app, groups))
		return -1;

	fprintf(f, "# generated by %s -L\n", getprogname());
	/*
	 * Metrics (myelin(7)): /_myelin/metrics/NAME from loopback only,
	 * passed on as the program's own /_myelin/metrics.
	 */
	fprintf(f, "location = %s/%s {\n"
	    "\tallow 127.0.0.1;\n"
	    "\tallow ::1;\n"
	    "\tdeny all;\n"
	    "\tfastcgi_pass unix:%s;\n"
	    "\tfastcgi_param REQUEST_METHOD $request_method;\n"
	    "\tfastcgi_param REQUEST_URI %s;\n"
	    "\tfastcgi_param QUERY_STRING \"\";\n"
	    "\tfastcgi_param REMOTE_ADDR $remote_addr;\n"
	    "\tset $myelin_handler %s;\n"
	    "}\n", MFCGI_METRICS_PATH, app->name, sock, MFCGI_METRICS_PATH, getprogname());
	/*
	 * Uploads, first: nginx takes the first regular expression that
	 * matches, and a route's own below may match an upload too.  nginx
	 * writes the body to a file under its client_body_temp_path and
	 * passes only the file's name (a FastCGI parameter, which no client
	 * header can set: those arrive as HTTP_*).  The handler hashes the
	 * file and moves it into the media store; "clean" has nginx remove it
	 * when the handler did not, so a refused upload leaves no file.  A
	 * body over max_upload_size is refused from the Content-Length before
	 * any byte is written, or, chunked, once it passes the limit.
	 *
	 * nginx's temporary files are 0600 its workers': a handler takes
	 * one over only as root (fchown).  Written as root for handlers
	 * that drop to a user (myelin-stack, the `user' key; systemd), the
	 * body streams over FastCGI instead, copied into the store.
	 */
	for (size_t i = 0; i < app->upload_locationsz; i++)
		fprintf(f, "location %s {\n"
		    "\tfastcgi_pass unix:%s;\n"
		    "\tfastcgi_param REQUEST_METHOD $request_method;\n"
		    "\tfastcgi_param REQUEST_URI $request_uri;\n"
		    "\tfastcgi_param QUERY_STRING $query_string;\n"
		    "\tfastcgi_param CONTENT_TYPE $content_type;\n"
		    "\tfastcgi_param CONTENT_LENGTH $content_length;\n"
		    "\tfastcgi_param REMOTE_ADDR $remote_addr;\n"
		    "\tfastcgi_param SERVER_NAME $server_name;\n"
		    "%s"
		    "\tclient_max_body_size %lld;\n"
		    "\tset $myelin_handler %s;\n"
		    "}\n",
		    app->upload_locations[i], sock, drops ? "" :
		    "\tfastcgi_param MYELIN_BODY_FILE $request_body_file;\n"
		    "\tfastcgi_pass_request_body off;\n"
		    "\tclient_body_in_file_only clean;\n",
		    (long long)conf->max_upload_size, getprogname());
	for (size_t i = 0; i < app->locationsz; i++)
		location(f, app, conf, sock, app->locations[i], NULL);
	/*
	 * A program without locations of its own (one beside Synapse) gets
	 * one per route, so that nginx passes it exactly what its route
	 * table serves and everything else goes elsewhere.
	 */
	for (size_t i = 0; app->locationsz == 0 && i < app->routesz; i++) {
		if (!chosen(app, &app->routes[i], groups) ||
		    route_location(app->routes[i].path, loc, sizeof(loc)) == -1)
			continue;
		/* Routes of one path (GET and PUT) are one location. */
		size_t j;

		for (j = 0; j < i; j++)
			if (chosen(app, &app->routes[j], groups) &&
			    route_location(app->routes[j].path, other, sizeof(other)) == 0 &&
			    strcmp(loc, other) == 0)
				break;
		for (size_t k = 0; k < app->upload_locationsz; k++)
			if (strcmp(loc, app->upload_locations[k]) == 0)
				j = i + 1;
		if (j != i)
			continue;
		/* The methods of the chosen routes of this location; GET serves HEAD. */
		unsigned mask = 0;

		for (size_t k = i; groups != NULL && app->elsewhere != NULL && k < app->routesz;
		    k++)
			if (chosen(app, &app->routes[k], groups) &&
			    route_location(app->routes[k].path, other, sizeof(other)) == 0 &&
			    strcmp(loc, other) == 0)
				mask |= 1u << app->routes[k].method |
				    (app->routes[k].method == MM_GET ? 1u << MM_HEAD : 0);
		methods[0] = '\0';
		for (int m = 0; m < MMETHOD__MAX; m++)
			if (mask & 1u << m)
				snprintf(methods + strlen(methods),
				    sizeof(methods) - strlen(methods), "%s%s",
				    methods[0] != '\0' ? "|" : "", mfcgi_method_name((enum mmethod)m));
		location(f, app, conf, sock, loc, methods[0] != '\0' ? methods : NULL);
	}
	/*
	 * All routes, outside myelin-stack nginx-layout (a stack of its own):
	 * no Synapse to hand anything to, so what the handler passes on is
	 * answered as not served here.
	 */
	if (groups == NULL && app->elsewhere != NULL)
		fprintf(f, "location %s {\n"
		    "\tdefault_type application/json;\n"
		    "\treturn 404 '{\"errcode\":\"M_UNRECOGNIZED\","
		    "\"error\":\"Not served here: this layout reaches no Synapse\"}';\n"
		    "}\n", app->elsewhere);
	if (app->nginx_extra != NULL)
		app->nginx_extra(conf, f);
	return 0;
}

/* Writes s as the body of an nginx "return" string: escapes ' and \. */
static void
nginx_quoted(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s != '\0'; s++) {
		if (*s == '\'' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('\'', f);
}

/*
 * Spec: C-S API, "Server Discovery" and S-S API, "Resolving server
 * names".  nginx answers both documents itself: they are static for a
 * given config, so no handler needs to wake for them.  myelin-client
 * writes them, or beside Synapse myelin-federation's keys group.
 */
void
mfcgi_nginx_well_known(const struct mconfig *conf, FILE *f)
{
	json_t		*cl, *sv;
	char		*cls, *svs, host[512];
	const char	*u = conf->public_baseurl, *p;
	size_t		 n;

	/* m.server: the host and port of the public base URL. */
	if ((p = strstr(u, "://")) != NULL)
		u = p + 3;
	n = strcspn(u, "/");
	if (n >= sizeof(host))
		n = sizeof(host) - 1;
	memcpy(host, u, n);
	host[n] = '\0';
	if (strchr(host, ':') == NULL && n + 4 < sizeof(host))
		memcpy(host + n, ":443", 5);
	cl = json_pack("{s:{s:s}}", "m.homeserver", "base_url", conf->public_baseurl);
	sv = json_pack("{s:s}", "m.server", host);
	cls = json_dumps(cl, JSON_COMPACT);
	svs = json_dumps(sv, JSON_COMPACT);
	if (cls != NULL && svs != NULL) {
		fputs("location = /.well-known/matrix/client {\n"
		    "\tdefault_type application/json;\n"
		    "\tadd_header Access-Control-Allow-Origin * always;\n"
		    "\treturn 200 ", f);
		nginx_quoted(f, cls);
		fputs(";\n}\nlocation = /.well-known/matrix/server {\n"
		    "\tdefault_type application/json;\n"
		    "\treturn 200 ", f);
		nginx_quoted(f, svs);
		fputs(";\n}\n", f);
	}
	free(cls);
	free(svs);
	json_decref(cl);
	json_decref(sv);
}
