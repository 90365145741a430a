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
mfed_call_init(struct mfed_call *c, const struct mconfig *conf, const struct mkey *key,
    const char *destination, const char *method, const char *path, const json_t *body,
    long timeout_ms)
{
	struct mfed_lookup	 lk;
	struct mfed_dest	 d;
	const char		*colon;
	int			 urlport = 443;
	size_t			 jsz = 0;

	memset(c, 0, sizeof(*c));
	c->destination = destination;
	c->method = method;
	c->path = path;
	mfed_lookup_init(&lk, conf);
	if (mfed_resolve(&lk, destination, &d) == -1) {
		mlog_warn(NULL, "federation: %s: not a server name", destination);
		return -1;
	}
	if (mhttp_allow_parse(conf->federation_allow_ips, &c->allow) == -1)
		memset(&c->allow, 0, sizeof(c->allow));
	/* The authority's port, after an IPv6 literal's closing bracket. */
	colon = strrchr(d.authority, ':');
	if (colon != NULL && strchr(colon, ']') == NULL)
		urlport = atoi(colon + 1);
	if (asprintf(&c->url, "https://%s%s", d.authority, path) == -1) {
		c->url = NULL;
		goto fail;
	}
	if ((strcmp(d.connect_host, d.tls_host) != 0 || d.connect_port != urlport) &&
	    asprintf(&c->conn, "%s:%d:%s:%d", d.tls_host, urlport, d.connect_host,
	    d.connect_port) == -1) {
		c->conn = NULL;
		goto fail;
	}
	if (body != NULL && (c->js = mjson_canonical(body, &jsz)) == NULL)
		goto fail;
	if (key != NULL) {
		char *h = mfed_xmatrix_sign(key, conf->server_name, destination, method, path, body);

		if (h == NULL || asprintf(&c->authz, "Authorization: %s", h) == -1)
			c->authz = NULL;
		free(h);
		if (c->authz == NULL)
			goto fail;
		c->hdrs[0] = c->authz;
		c->r.headers = c->hdrs;
		c->r.headersz = 1;
	}
	c->r.method = method;
	c->r.url = c->url;
	c->r.body = c->js;
	c->r.bodysz = jsz;
	c->r.connect_to = c->conn;
	c->r.ca_file = conf->federation_ca_file;
	c->r.allow = &c->allow;
	c->r.timeout_ms = timeout_ms;
	c->r.max_bytes = FED_MAX_BYTES;
	return 0;
fail:
	mfed_call_fini(c);
	return -1;
}

int
mfed_call_done(struct mfed_call *c, long *status, json_t **reply)
{
	*status = 0;
	*reply = NULL;
	if (c->r.status == 0) {
		mlog_warn(NULL, "federation: %s %s to %s: %s", c->method, c->path, c->destination,
		    c->r.err[0] != '\0' ? c->r.err : "no answer");
		return -1;
	}
	*status = c->r.status;
	*reply = mhttp_json(&c->r);
	/*
	 * Spec: the deprecated v1 send_join, send_leave and invite answer
	 * [200, body]: the body is the answer.
	 */
	if (*reply == NULL && c->r.resp != NULL) {
		json_t *j = json_loadb(c->r.resp, c->r.respsz, JSON_REJECT_DUPLICATES, NULL);

		if (json_is_array(j) && json_array_size(j) == 2 &&
		    json_is_integer(json_array_get(j, 0)) && json_is_object(json_array_get(j, 1)))
			*reply = json_incref(json_array_get(j, 1));
		json_decref(j);
	}
	return 0;
}

void
mfed_call_fini(struct mfed_call *c)
{
	mhttp_req_fini(&c->r);
	free(c->authz);
	free(c->js);
	free(c->url);
	free(c->conn);
	c->authz = c->js = c->url = c->conn = NULL;
}

int
mfed_http(const struct mconfig *conf, const struct mkey *key, const char *destination,
    const char *method, const char *path, const json_t *body, long timeout_ms,
    long *status, json_t **reply)
{
	struct mfed_call	 c;
	int			 rc;

	*status = 0;
	*reply = NULL;
	if (mfed_call_init(&c, conf, key, destination, method, path, body, timeout_ms) == -1)
		return -1;
	mhttp_perform(&c.r);
	rc = mfed_call_done(&c, status, reply);
	mfed_call_fini(&c);
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
