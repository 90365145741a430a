/* Requests to other servers: discovery, the URL, X-Matrix, the answer as JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "crypto/crypto.h"
#include "fed/extern.h"
#include "http/http.h"
#include "json/json.h"
#include "log/log.h"

/* A federation answer larger than this is refused (Synapse: 300 MiB for media; JSON far less). */
#define FED_MAX_BYTES	(8 * 1024 * 1024)

int
mfed_http(const struct mconfig *conf, const struct mkey *key, const char *destination,
    const char *method, const char *path, const json_t *body, long timeout_ms,
    long *status, json_t **reply)
{
	struct mfed_lookup	 lk;
	struct mfed_dest	 d;
	struct mhttp_allow	 allow;
	struct mhttp_req	 r;
	const char		*hdrs[1];
	char			*authz = NULL, *js = NULL, *url = NULL, *conn = NULL;
	const char		*colon;
	int			 urlport = 443, rc = -1;
	size_t			 jsz = 0;

	*status = 0;
	*reply = NULL;
	memset(&r, 0, sizeof(r));
	mfed_lookup_init(&lk, conf);
	if (mfed_resolve(&lk, destination, &d) == -1) {
		mlog_warn(NULL, "federation: %s: not a server name", destination);
		return -1;
	}
	if (mhttp_allow_parse(conf->federation_allow_ips, &allow) == -1)
		memset(&allow, 0, sizeof(allow));
	/* The authority's port, after an IPv6 literal's closing bracket. */
	colon = strrchr(d.authority, ':');
	if (colon != NULL && strchr(colon, ']') == NULL)
		urlport = atoi(colon + 1);
	if (asprintf(&url, "https://%s%s", d.authority, path) == -1) {
		url = NULL;
		goto out;
	}
	if ((strcmp(d.connect_host, d.tls_host) != 0 || d.connect_port != urlport) &&
	    asprintf(&conn, "%s:%d:%s:%d", d.tls_host, urlport, d.connect_host,
	    d.connect_port) == -1) {
		conn = NULL;
		goto out;
	}
	if (body != NULL && (js = mjson_canonical(body, &jsz)) == NULL)
		goto out;
	if (key != NULL) {
		char *h = mfed_xmatrix_sign(key, conf->server_name, destination, method, path, body);

		if (h == NULL || asprintf(&authz, "Authorization: %s", h) == -1)
			authz = NULL;
		free(h);
		if (authz == NULL)
			goto out;
		hdrs[0] = authz;
		r.headers = hdrs;
		r.headersz = 1;
	}
	r.method = method;
	r.url = url;
	r.body = js;
	r.bodysz = jsz;
	r.connect_to = conn;
	r.ca_file = conf->federation_ca_file;
	r.allow = &allow;
	r.timeout_ms = timeout_ms;
	r.max_bytes = FED_MAX_BYTES;
	if (mhttp_perform(&r) == -1) {
		mlog_warn(NULL, "federation: %s %s to %s: %s", method, path, destination, r.err);
		goto out;
	}
	*status = r.status;
	*reply = mhttp_json(&r);
	rc = 0;
out:
	mhttp_req_fini(&r);
	free(authz);
	free(js);
	free(url);
	free(conn);
	return rc;
}

char *
mfed_escape(const char *s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	char			*out, *o;

	if ((out = o = malloc(strlen(s) * 3 + 1)) == NULL)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~')
			*o++ = (char)*p;
		else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	*o = '\0';
	return out;
}

int
mfed_request(const struct mconfig *conf, const struct mkey *key, const char *destination,
    const char *method, const char *path, const json_t *body, long *status, json_t **reply)
{
	return mfed_http(conf, key, destination, method, path, body, 0, status, reply);
}
