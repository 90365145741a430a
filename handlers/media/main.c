/* myelin-media: the media repository (uploads, downloads sent by nginx, thumbnails). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compat.h"
#include "extern.h"
#include "sandbox/sandbox.h"

#define M3	"/_matrix/media/v3"
#define C1	"/_matrix/client/v1/media"

/*
 * Spec: C-S API, "Content repository".  The legacy /_matrix/media paths
 * (v3, and r0 through lib/fcgi) take no token for downloads; the
 * authenticated ones of Matrix 1.11 (/_matrix/client/v1/media) do.
 */
static const struct mroute routes[] = {
	{ MM_POST,	M3 "/upload",					MAUTH_USER,	h_upload },
	{ MM_PUT,	M3 "/upload/{serverName}/{mediaId}",		MAUTH_USER,	h_upload_put },
	{ MM_POST,	"/_matrix/media/v1/create",			MAUTH_USER,	h_create },
	{ MM_GET,	M3 "/config",					MAUTH_USER,	h_config },
	{ MM_GET,	M3 "/download/{serverName}/{mediaId}",		MAUTH_NONE,	h_download_legacy },
	{ MM_GET,	M3 "/download/{serverName}/{mediaId}/{fileName}", MAUTH_NONE,	h_download_legacy },
	{ MM_GET,	M3 "/thumbnail/{serverName}/{mediaId}",		MAUTH_NONE,	h_thumbnail_legacy },
	{ MM_GET,	M3 "/preview_url",				MAUTH_USER,	h_preview_url },
	{ MM_GET,	C1 "/config",					MAUTH_USER,	h_config },
	{ MM_GET,	C1 "/download/{serverName}/{mediaId}",		MAUTH_USER,	h_download },
	{ MM_GET,	C1 "/download/{serverName}/{mediaId}/{fileName}", MAUTH_USER,	h_download },
	{ MM_GET,	C1 "/thumbnail/{serverName}/{mediaId}",		MAUTH_USER,	h_thumbnail },
	{ MM_GET,	C1 "/preview_url",				MAUTH_USER,	h_preview_url },
};

static const char *const locations[] = {
	"/_matrix/media/",
	"/_matrix/client/v1/media/",
};

/* Regular expressions: nginx tries them before the prefixes above. */
static const char *const upload_locations[] = {
	"~ ^/_matrix/media/[^/]+/upload(/|$)",
};

/* /create has no body: whatever comes is not read. */
static const mhandler raw_body[] = { h_upload, h_upload_put, h_create };

/*
 * Downloads: the handler answers X-Accel-Redirect to MEDIA_ACCEL, an
 * internal location nginx serves from media_path; nginx keeps the
 * handler's Content-Type and Content-Disposition and adds what every
 * media answer carries (spec: C-S API, "Content repository", v1.12:
 * a restrictive CSP, Cross-Origin-Resource-Policy cross-origin).  The
 * server's add_header lines (CORS) are not inherited by a location
 * with its own, so they are repeated here.  A file gone from under a
 * row (removed by hand) is a Matrix 404, not nginx's page.
 */
void
media_nginx_accel(FILE *f, const char *path)
{
	fprintf(f, "location " MEDIA_ACCEL " {\n"
	    "\tinternal;\n"
	    "\talias \"%s/\";\n"
	    "\tset $myelin_handler %s;\n"
	    "\tadd_header Content-Security-Policy \"sandbox; default-src 'none'; "
	    "script-src 'none'; plugin-types application/pdf; style-src 'unsafe-inline'; "
	    "media-src 'self'; object-src 'self';\" always;\n"
	    "\tadd_header Cross-Origin-Resource-Policy cross-origin always;\n"
	    "\tadd_header X-Content-Type-Options nosniff always;\n"
	    "\tadd_header Access-Control-Allow-Origin * always;\n"
	    "\tadd_header Access-Control-Allow-Methods \"GET, POST, PUT, DELETE, OPTIONS\" always;\n"
	    "\tadd_header Access-Control-Allow-Headers \"X-Requested-With, Content-Type, "
	    "Authorization\" always;\n"
	    "\terror_page 404 @media_gone;\n"
	    "}\n"
	    "location @media_gone {\n"
	    "\tset $myelin_handler %s;\n"
	    "\treturn 404 '{\"errcode\":\"M_NOT_FOUND\",\"error\":\"Not found\"}';\n"
	    "}\n", path, getprogname(), getprogname());
}

static void
nginx_extra(const struct mconfig *conf, FILE *f)
{
	media_nginx_accel(f, conf->media_path);
}

static const struct mapp app = {
	.name = "media",
	/* Remote media is asked for with X-Matrix (remote.c). */
	.needs_key = 1,
	.routes = routes,
	.routesz = sizeof(routes) / sizeof(routes[0]),
	.locations = locations,
	.locationsz = sizeof(locations) / sizeof(locations[0]),
	.nginx_extra = nginx_extra,
	.raw_body = raw_body,
	.raw_bodysz = sizeof(raw_body) / sizeof(raw_body[0]),
	.upload_locations = upload_locations,
	.upload_locationsz = sizeof(upload_locations) / sizeof(upload_locations[0]),
	.mode = media_synapse_mode,
	.sandbox = MSANDBOX_NET | MSANDBOX_MEDIA | MSANDBOX_EXEC | MSANDBOX_UPLOAD,
};

int
main(int argc, char *argv[])
{
	int rc;

	media_thumbnailer = thumb_program();
	rc = mfcgi_main(&app, argc, argv);
	free(media_thumbnailer);
	return rc;
}
