/*
 * myelin-media beside a running Synapse (docs/beside-synapse.md): the
 * same endpoints over Synapse's media tables and its media store, with
 * Synapse's access tokens.  Chosen by synapse_database in the config.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock/clock.h"
#include "crypto/crypto.h"
#include "extern.h"
#include "fed/fed.h"
#include "log/log.h"
#include "sandbox/sandbox.h"

#define M3	"/_matrix/media/v3"
#define C1	"/_matrix/client/v1/media"

/* As Synapse: 24 letters, and last_access_ts moved at most this often. */
#define SYN_MEDIA_ID_LEN	24
#define SYN_TOUCH_MS		(10 * 60 * 1000)

/*
 * A component of a path in Synapse's media store, as Synapse checks
 * them (filepath.py): letters, digits, "_-.[]:", never "", "." or "..".
 */
static int
path_component_ok(const char *s, size_t n)
{
	if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && strchr("_-.[]:", s[i]) == NULL)
			return 0;
	return 1;
}

/* Synapse's shard of an ID, "AB/CD/rest", or NULL (too short, bad byte). */
static char *
shard(const char *id)
{
	char *p = NULL;

	if (strlen(id) <= 4 || !path_component_ok(id, 2) || !path_component_ok(id + 2, 2) ||
	    !path_component_ok(id + 4, strlen(id + 4)))
		return NULL;
	if (asprintf(&p, "%.2s/%.2s/%s", id, id + 2, id + 4) == -1)
		return NULL;
	return p;
}

/* Synapse's URL-preview IDs of the form YYYY-MM-DD_rest (filepath.py). */
static int
dated_id(const char *id)
{
	static const char shape[] = "dddd-dd-dd";

	if (strlen(id) <= 11)
		return 0;
	for (size_t i = 0; i < sizeof(shape) - 1; i++)
		if (shape[i] == 'd' ? !isdigit((unsigned char)id[i]) : id[i] != shape[i])
			return 0;
	return 1;
}

/*
 * The file of a media relative to the media store, as Synapse lays it
 * out: local_content/AB/CD/rest, url_cache/... for a URL preview's
 * (url_cache/YYYY-MM-DD/rest for its dated IDs), remote_content/
 * server/AB/CD/rest of its filesystem_id.  With thumb (w, h, type,
 * method), the thumbnail's file in local_thumbnails/ or
 * remote_thumbnail/.  malloc'd, NULL when no safe path names it.
 */
static char *
syn_relpath(const char *origin, const char *id, const struct msyn_media *m,
    const struct msyn_thumb *thumb, const char *method)
{
	char	*sh = NULL, *p = NULL, name[128];
	int	 rc = -1;

	if (thumb != NULL) {
		const char *slash = strchr(thumb->type, '/');

		if (slash == NULL || snprintf(name, sizeof(name), "%lld-%lld-%.*s-%s-%s",
		    (long long)thumb->w, (long long)thumb->h, (int)(slash - thumb->type),
		    thumb->type, slash + 1, method) >= (int)sizeof(name) ||
		    !path_component_ok(name, strlen(name)))
			return NULL;
	}
	if (origin != NULL) {
		if (m->filesystem_id == NULL || !path_component_ok(origin, strlen(origin)) ||
		    (sh = shard(m->filesystem_id)) == NULL)
			return NULL;
		if (thumb != NULL)
			rc = asprintf(&p, "remote_thumbnail/%s/%s/%s", origin, sh, name);
		else
			rc = asprintf(&p, "remote_content/%s/%s", origin, sh);
	} else if (m->url_cache && dated_id(id)) {
		if (!path_component_ok(id + 11, strlen(id + 11)))
			return NULL;
		if (thumb != NULL)
			rc = asprintf(&p, "url_cache_thumbnails/%.10s/%s/%s", id, id + 11, name);
		else
			rc = asprintf(&p, "url_cache/%.10s/%s", id, id + 11);
	} else {
		if ((sh = shard(id)) == NULL)
			return NULL;
		if (thumb != NULL)
			rc = asprintf(&p, "%s/%s/%s", m->url_cache ? "url_cache_thumbnails" :
			    "local_thumbnails", sh, name);
		else
			rc = asprintf(&p, "%s/%s", m->url_cache ? "url_cache" : "local_content", sh);
	}
	free(sh);
	return rc == -1 ? NULL : p;
}

/* relpath under synapse_media_store.  malloc'd or NULL. */
static char *
syn_abspath(const struct mreq *req, const char *rel)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s", req->conf->synapse_media_store, rel) == -1)
		return NULL;
	return p;
}

/*
 * The media the path names ({serverName}, {mediaId}): ours in
 * local_media_repository, another server's in remote_media_cache
 * (*origin set).  Raises 404 M_NOT_FOUND for one unknown, quarantined
 * (quarantined_by), or another server's not in Synapse's cache: this
 * mode fetches nothing over federation.
 */
static int
syn_find(struct mreq *req, const char **origin, struct msyn_media *m)
{
	const char	*server = req->params[0], *id = req->params[1];
	struct mfed_name n;
	int		 got;

	memset(m, 0, sizeof(*m));
	*origin = NULL;
	if (strcmp(server, req->conf->server_name) != 0) {
		if (mfed_name_parse(server, &n) == -1)
			return mfcgi_fail(req, MERR_NOT_FOUND, "Not found");
		*origin = server;
	} else if (!mmedia_id_check(id))
		return mfcgi_fail(req, MERR_NOT_FOUND, "Not found");
	if (strlen(id) == 0 || strlen(id) > 255 ||
	    (got = msyn_media_get(req->db, *origin, id, m)) == 0)
		return mfcgi_fail(req, MERR_NOT_FOUND, "Not found");
	if (got == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: cannot read %s", __func__, id);
	if (m->quarantined) {
		msyn_media_fini(m);
		return mfcgi_fail(req, MERR_NOT_FOUND, "Not found");
	}
	return 0;
}

static int
syn_download(struct mreq *req, int authed)
{
	struct msyn_media	 m;
	const char		*origin, *name;
	char			*rel = NULL;
	int64_t			 now = mclock_now_ms();
	int			 rc = -1;

	if (authed && mfcgi_syn_auth(req) == -1)
		return -1;
	if (syn_find(req, &origin, &m) == -1)
		return -1;
	name = req->paramsz > 2 ? req->params[2] : m.upload_name;
	if ((rel = syn_relpath(origin, req->params[1], &m, NULL, NULL)) == NULL)
		mfcgi_fail(req, MERR_NOT_FOUND, "Not found");
	else if ((rc = media_send_file(req, rel, m.media_type, name)) == 0) {
		if (now - m.last_access_ts >= SYN_TOUCH_MS)
			(void)msyn_media_touch(req->db, origin, req->params[1], now);
		mlog_info(req->id, "download %s%s%s: sent by nginx from Synapse's store",
		    origin != NULL ? origin : "", origin != NULL ? "/" : "", req->params[1]);
	}
	free(rel);
	msyn_media_fini(&m);
	return rc;
}

static int
h_syn_download(struct mreq *req)
{
	return syn_download(req, 1);
}

/* Synapse 1.67 serves these with no token at all. */
static int
h_syn_download_legacy(struct mreq *req)
{
	return syn_download(req, 0);
}

/*
 * Among Synapse's thumbnails of the method (smallest first), the
 * smallest at least w x h (crop: both; scale: either, as a scaled one
 * keeps the aspect), preferring type; else the largest.  NULL: none.
 */
static const struct msyn_thumb *
syn_thumb_pick(const struct msyn_thumb *v, size_t n, int64_t w, int64_t h,
    const char *method, const char *type)
{
	const struct msyn_thumb *best = NULL;
	int crop = strcmp(method, "crop") == 0;

	for (int pass = 0; pass < 2 && best == NULL; pass++)
		for (size_t i = 0; i < n; i++) {
			int big = crop ? v[i].w >= w && v[i].h >= h : v[i].w >= w || v[i].h >= h;

			if (pass == 0 && type != NULL && strcmp(v[i].type, type) != 0)
				continue;
			if (big) {
				best = &v[i];
				break;
			}
		}
	if (best == NULL && n > 0)
		best = &v[n - 1];
	return best;
}

/*
 * Spec: GET .../thumbnail/{serverName}/{mediaId}: a thumbnail Synapse
 * made if one fits, else one made here at Synapse's sizes
 * (myelin-thumbnail) into Synapse's layout and recorded in its table,
 * so that Synapse serves it too.
 */
static int
syn_thumbnail(struct mreq *req, int authed)
{
	struct msyn_media	 m;
	struct msyn_thumb	*v = NULL, made;
	const struct msyn_thumb	*pick;
	const struct tsize	*t;
	const char		*origin, *outtype;
	char			*method = NULL, *rel = NULL, *abs = NULL, *srcrel = NULL,
				*src = NULL;
	size_t			 n = 0;
	int64_t			 w, h;
	int			 rc = -1;

	memset(&m, 0, sizeof(m));
	memset(&made, 0, sizeof(made));
	if (authed && mfcgi_syn_auth(req) == -1)
		return -1;
	{
		char *ws = mreq_query(req, "width"), *hs = mreq_query(req, "height");
		int missing = ws == NULL || hs == NULL;

		free(ws);
		free(hs);
		if (missing)
			return mfcgi_fail(req, MERR_MISSING_PARAM, "width and height are required");
	}
	if (mreq_query_int(req, "width", 0, 1, 100000, &w) == -1 ||
	    mreq_query_int(req, "height", 0, 1, 100000, &h) == -1)
		return -1;
	if ((method = mreq_query(req, "method")) == NULL && (method = strdup("scale")) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	if (strcmp(method, "crop") != 0 && strcmp(method, "scale") != 0) {
		free(method);
		return mfcgi_fail(req, MERR_INVALID_PARAM, "method must be crop or scale");
	}
	if (syn_find(req, &origin, &m) == -1)
		goto out;
	outtype = media_thumb_type(m.media_type);
	if (msyn_thumb_list(req->db, origin, req->params[1], method, &v, &n) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: cannot read thumbnails", __func__);
		goto out;
	}
	if ((pick = syn_thumb_pick(v, n, w, h, method, outtype)) == NULL) {
		int64_t size;

		if (outtype == NULL) {
			mfcgi_fail(req, MERR_NOT_FOUND, "No thumbnail for this media");
			goto out;
		}
		t = media_tsize_pick(w, h, method);
		made.w = t->w;
		made.h = t->h;
		made.type = (char *)outtype;
		if ((rel = syn_relpath(origin, req->params[1], &m, &made, method)) == NULL ||
		    (srcrel = syn_relpath(origin, req->params[1], &m, NULL, NULL)) == NULL) {
			mfcgi_fail(req, MERR_NOT_FOUND, "Not found");
			goto out;
		}
		if ((abs = syn_abspath(req, rel)) == NULL || (src = syn_abspath(req, srcrel)) == NULL) {
			mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
			goto out;
		}
		if (thumb_make(req, src, abs, t->w, t->h, method, outtype, &size) == -1)
			goto out;
		if (msyn_thumb_add(req->db, origin, req->params[1], m.filesystem_id, t->w, t->h,
		    method, outtype, size) == -1) {
			mfcgi_fail(req, MERR_INTERNAL, "%s: cannot record a thumbnail", __func__);
			goto out;
		}
		pick = &made;
	} else if ((rel = syn_relpath(origin, req->params[1], &m, pick, method)) == NULL) {
		mfcgi_fail(req, MERR_NOT_FOUND, "Not found");
		goto out;
	}
	if ((rc = media_send_file(req, rel, pick->type, NULL)) == 0)
		mlog_info(req->id, "thumbnail %s: sent by nginx from Synapse's store", rel);
out:
	msyn_thumbs_free(v, n);
	free(method);
	free(rel);
	free(abs);
	free(srcrel);
	free(src);
	msyn_media_fini(&m);
	return rc;
}

static int
h_syn_thumbnail(struct mreq *req)
{
	return syn_thumbnail(req, 1);
}

static int
h_syn_thumbnail_legacy(struct mreq *req)
{
	return syn_thumbnail(req, 0);
}

/*
 * Spec: POST /_matrix/media/v3/upload, written as Synapse's
 * create_content does: a 24-letter ID, the file at
 * local_content/AB/CD/rest, the row of store_local_media (no type
 * given: application/octet-stream).  Synapse then serves it as its
 * own; it makes no thumbnails of it ahead (a thumbnail asked here is
 * made and recorded for both).  Raises 403 M_GUEST_ACCESS_FORBIDDEN
 * for a guest, as Synapse.
 */
static int
h_syn_upload(struct mreq *req)
{
	struct msyn_media	 m;
	char			*name = NULL, *id = NULL, *sha = NULL, *rel = NULL,
				*abs = NULL, *uri = NULL;
	const char		*ct;
	int64_t			 size = 0;
	int			 rc = -1, stored = 0;

	memset(&m, 0, sizeof(m));
	if (mfcgi_syn_auth(req) == -1)
		return -1;
	if (req->auth.is_guest)
		return mfcgi_fail(req, MERR_GUEST_ACCESS_FORBIDDEN, "Guest access not allowed");
	if (media_content_type_check(req, req->content_type) == -1 ||
	    media_upload_name(req, &name) == -1)
		goto out;
	ct = req->content_type != NULL && *req->content_type != '\0' ? req->content_type :
	    "application/octet-stream";
	if ((id = mcrypto_random_string(SYN_MEDIA_ID_LEN)) == NULL ||
	    (rel = syn_relpath(NULL, id, &m, NULL, NULL)) == NULL ||
	    (abs = syn_abspath(req, rel)) == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	if (media_store_body(req, abs, &size, &sha) == -1)
		goto out;
	stored = 1;
	if (msyn_media_add(req->db, id, ct, name, size, req->auth.user_id,
	    mclock_now_ms()) != 0) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: cannot record %s", __func__, id);
		goto out;
	}
	if (asprintf(&uri, "mxc://%s/%s", req->conf->server_name, id) == -1) {
		uri = NULL;
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	mlog_info(req->id, "upload %s: %lld bytes by %s into Synapse's store", id,
	    (long long)size, req->auth.user_id);
	rc = mfcgi_reply(req, 200, json_pack("{s:s}", "content_uri", uri));
out:
	if (rc == -1 && stored)
		(void)unlink(abs);
	free(name);
	free(id);
	free(sha);
	free(rel);
	free(abs);
	free(uri);
	return rc;
}

static int
h_syn_config(struct mreq *req)
{
	if (mfcgi_syn_auth(req) == -1)
		return -1;
	return mfcgi_reply(req, 200, json_pack("{s:I}", "m.upload.size",
	    (json_int_t)req->conf->max_upload_size));
}

/*
 * Every route authenticates in its handler, against Synapse's tokens.
 * Only these go to myelin (nginx locations are made from this table):
 * what it lacks (Synapse 1.67 has no /create nor PUT /upload; URL
 * previews) stays Synapse's.
 */
static const struct mroute syn_routes[] = {
	{ MM_POST,	M3 "/upload",					MAUTH_NONE,	h_syn_upload },
	{ MM_GET,	M3 "/config",					MAUTH_NONE,	h_syn_config },
	{ MM_GET,	M3 "/download/{serverName}/{mediaId}",		MAUTH_NONE,	h_syn_download_legacy },
	{ MM_GET,	M3 "/download/{serverName}/{mediaId}/{fileName}", MAUTH_NONE,	h_syn_download_legacy },
	{ MM_GET,	M3 "/thumbnail/{serverName}/{mediaId}",		MAUTH_NONE,	h_syn_thumbnail_legacy },
	{ MM_GET,	C1 "/config",					MAUTH_NONE,	h_syn_config },
	{ MM_GET,	C1 "/download/{serverName}/{mediaId}",		MAUTH_NONE,	h_syn_download },
	{ MM_GET,	C1 "/download/{serverName}/{mediaId}/{fileName}", MAUTH_NONE,	h_syn_download },
	{ MM_GET,	C1 "/thumbnail/{serverName}/{mediaId}",		MAUTH_NONE,	h_syn_thumbnail },
};

/* The route's own location (see mfcgi_nginx), with the body in a file. */
static const char *const syn_upload_locations[] = {
	"~ ^/_matrix/media/(?:v3|r0)/upload$",
};

static const mhandler syn_raw_body[] = { h_syn_upload };

/* Downloads go out of Synapse's media store. */
static void
syn_nginx_extra(const struct mconfig *conf, FILE *f)
{
	media_nginx_accel(f, conf->synapse_media_store);
}

static const struct mapp syn_app = {
	.name = "media",
	.routes = syn_routes,
	.routesz = sizeof(syn_routes) / sizeof(syn_routes[0]),
	.nginx_extra = syn_nginx_extra,
	.raw_body = syn_raw_body,
	.raw_bodysz = sizeof(syn_raw_body) / sizeof(syn_raw_body[0]),
	.upload_locations = syn_upload_locations,
	.upload_locationsz = sizeof(syn_upload_locations) / sizeof(syn_upload_locations[0]),
	.db_open = msyn_open,
	.sandbox = MSANDBOX_NET | MSANDBOX_MEDIA | MSANDBOX_EXEC | MSANDBOX_UPLOAD,
};

const struct mapp *
media_synapse_mode(const struct mconfig *conf)
{
	return conf->synapse_database != NULL ? &syn_app : NULL;
}
