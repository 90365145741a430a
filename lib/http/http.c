/* Outbound HTTP over libcurl: one request, or several at once with curl multi. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "http/http.h"

static pthread_once_t	 once = PTHREAD_ONCE_INIT;
static int		 init_ok;

/* curl_global_init is not thread-safe: once per process, before any handle. */
static void
global_init(void)
{
	init_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

/* Networks no outbound request reaches unless allowlisted. */
static const struct {
	const char	*cidr;
} denied[] = {
	{ "0.0.0.0/8" }, { "10.0.0.0/8" }, { "100.64.0.0/10" }, { "127.0.0.0/8" },
	{ "169.254.0.0/16" }, { "172.16.0.0/12" }, { "192.0.0.0/24" },
	{ "192.0.2.0/24" }, { "192.168.0.0/16" }, { "198.18.0.0/15" },
	{ "198.51.100.0/24" }, { "203.0.113.0/24" }, { "224.0.0.0/4" },
	{ "240.0.0.0/4" },
	{ "::/128" }, { "::1/128" }, { "::ffff:0:0/96" }, { "64:ff9b::/96" },
	{ "100::/64" }, { "2001:db8::/32" }, { "fc00::/7" }, { "fe80::/10" },
	{ "fec0::/10" }, { "ff00::/8" },
};

static int
net_parse(const char *s, size_t len, struct mhttp_net *n)
{
	char		 buf[64], *slash;
	long		 bits;
	char		*end;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(n, 0, sizeof(*n));
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, n->addr) == 1) {
		n->family = AF_INET;
		n->bits = 32;
	} else if (inet_pton(AF_INET6, buf, n->addr) == 1) {
		n->family = AF_INET6;
		n->bits = 128;
	} else
		return -1;
	if (slash != NULL) {
		if (*slash < '0' || *slash > '9')
			return -1;
		bits = strtol(slash, &end, 10);
		if (*end != '\0' || bits < 0 || bits > n->bits)
			return -1;
		n->bits = (int)bits;
	}
	return 0;
}

int
mhttp_allow_parse(const char *list, struct mhttp_allow *a)
{
	const char	*p = list;
	size_t		 len;

	memset(a, 0, sizeof(*a));
	if (list == NULL)
		return 0;
	for (;;) {
		p += strspn(p, " \t,");
		if (*p == '\0')
			return 0;
		len = strcspn(p, " \t,");
		if (a->netsz == MHTTP_ALLOW_MAX || net_parse(p, len, &a->nets[a->netsz]) == -1)
			return -1;
		a->netsz++;
		p += len;
	}
}

/* Whether the family's address bytes addr lie in n. */
static int
net_has(const struct mhttp_net *n, int family, const unsigned char *addr)
{
	int	 full = n->bits / 8, rest = n->bits % 8;

	if (n->family != family)
		return 0;
	if (memcmp(n->addr, addr, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((n->addr[full] ^ addr[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

static int
denied_addr(int family, const unsigned char *addr)
{
	struct mhttp_net	 n;

	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++)
		if (net_parse(denied[i].cidr, strlen(denied[i].cidr), &n) == 0 &&
		    net_has(&n, family, addr))
			return 1;
	return 0;
}

int
mhttp_addr_allowed(const struct sockaddr *sa, const struct mhttp_allow *a)
{
	const unsigned char	*addr, *v4 = NULL;
	int			 family = sa->sa_family;

	if (family == AF_INET)
		addr = (const unsigned char *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (family == AF_INET6) {
		addr = (const unsigned char *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		/* An IPv4-mapped address is judged as the IPv4 address it maps. */
		if (memcmp(addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0)
			v4 = addr + 12;
	} else
		return 0;
	for (size_t i = 0; a != NULL && i < a->netsz; i++)
		if (net_has(&a->nets[i], family, addr) ||
		    (v4 != NULL && net_has(&a->nets[i], AF_INET, v4)))
			return 1;
	if (v4 != NULL)
		return !denied_addr(AF_INET, v4);
	return !denied_addr(family, addr);
}

static size_t
on_data(char *p, size_t size, size_t nmemb, void *arg)
{
	struct mhttp_req	*r = arg;
	size_t			 n = size * nmemb, max;
	char			*np;

	max = r->max_bytes != 0 ? r->max_bytes : MHTTP_MAX_BYTES;
	if (r->respsz + n > max) {
		r->too_large = 1;
		return 0;
	}
	if ((np = realloc(r->resp, r->respsz + n + 1)) == NULL)
		return 0;
	r->resp = np;
	memcpy(r->resp + r->respsz, p, n);
	r->respsz += n;
	r->resp[r->respsz] = '\0';
	return n;
}

/* The address check, made on the address about to be connected to. */
static curl_socket_t
on_open(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct mhttp_req	*r = arg;

	if (purpose != CURLSOCKTYPE_IPCXN)
		return CURL_SOCKET_BAD;
	if (!mhttp_addr_allowed(&a->addr, r->allow)) {
		char	 host[INET6_ADDRSTRLEN] = "?";
		const void *p = a->family == AF_INET6 ?
		    (const void *)&((struct sockaddr_in6 *)(void *)&a->addr)->sin6_addr :
		    (const void *)&((struct sockaddr_in *)(void *)&a->addr)->sin_addr;

		inet_ntop(a->family, p, host, sizeof(host));
		snprintf(r->err, sizeof(r->err), "address %s is not allowed", host);
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype, a->protocol);
}

/* Makes r's easy handle.  0, or -1 with r->err set. */
static int
setup(struct mhttp_req *r)
{
	CURL			*h;
	struct curl_slist	*hdrs = NULL, *tmp;
	const char		*method;

	free(r->resp);
	r->resp = NULL;
	r->respsz = 0;
	free(r->content_type);
	r->content_type = NULL;
	r->status = 0;
	r->err[0] = '\0';
	r->too_large = 0;
	pthread_once(&once, global_init);
	if (!init_ok || (h = curl_easy_init()) == NULL) {
		snprintf(r->err, sizeof(r->err), "libcurl unavailable");
		return -1;
	}
	for (size_t i = 0; i < r->headersz; i++) {
		if ((tmp = curl_slist_append(hdrs, r->headers[i])) == NULL)
			goto fail;
		hdrs = tmp;
	}
	if (r->body != NULL && (tmp = curl_slist_append(hdrs,
	    "Content-Type: application/json")) != NULL)
		hdrs = tmp;
	/* No "Expect: 100-continue" round trip before a body. */
	if ((tmp = curl_slist_append(hdrs, "Expect:")) != NULL)
		hdrs = tmp;
	method = r->method != NULL ? r->method : r->body != NULL ? "POST" : "GET";
	curl_easy_setopt(h, CURLOPT_URL, r->url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (r->body != NULL) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->bodysz);
	} else if (strcmp(method, "GET") == 0)
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, r->redirect_http ? "http,https" : "https");
	/* Never through a proxy from the environment: the address check is ours. */
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, r->timeout_ms > 0 ? r->timeout_ms : MHTTP_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, r->max_redirects > 0 ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, r->max_redirects);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)(r->max_bytes != 0 ? r->max_bytes : MHTTP_MAX_BYTES));
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, on_open);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, r);
	/* Verification stays on: a test network brings its own CA instead. */
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (r->ca_file != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, r->ca_file);
	if (r->connect_to != NULL) {
		if ((tmp = curl_slist_append(NULL, r->connect_to)) == NULL)
			goto fail;
		curl_easy_setopt(h, CURLOPT_CONNECT_TO, tmp);
		r->conn = tmp;
	}
	curl_easy_setopt(h, CURLOPT_PRIVATE, r);
	r->impl = h;
	r->hdrs = hdrs;
	return 0;
fail:
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	snprintf(r->err, sizeof(r->err), "out of memory");
	return -1;
}

/* Records the outcome of r's transfer and frees its handle. */
static int
finish(struct mhttp_req *r, CURLcode cc)
{
	CURL	*h = r->impl;
	int	 rc = 0;

	if (r->too_large || cc == CURLE_FILESIZE_EXCEEDED) {
		snprintf(r->err, sizeof(r->err), "answer larger than allowed");
		rc = -1;
	} else if (cc != CURLE_OK) {
		if (r->err[0] == '\0')
			snprintf(r->err, sizeof(r->err), "%s", curl_easy_strerror(cc));
		rc = -1;
	} else {
		char *ct = NULL;

		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
		if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct != NULL)
			r->content_type = strdup(ct);
		if (r->resp == NULL && (r->resp = strdup("")) == NULL)
			rc = -1;
	}
	if (rc == -1) {
		r->status = 0;
		free(r->resp);
		r->resp = NULL;
		r->respsz = 0;
	}
	curl_easy_cleanup(h);
	curl_slist_free_all(r->hdrs);
	curl_slist_free_all(r->conn);
	r->impl = r->hdrs = r->conn = NULL;
	return rc;
}

int
mhttp_perform(struct mhttp_req *r)
{
	if (setup(r) == -1)
		return -1;
	return finish(r, curl_easy_perform(r->impl));
}

int
mhttp_perform_many(struct mhttp_req *const *rs, size_t n)
{
	CURLM		*m;
	CURLMsg		*msg;
	int		 running, left;

	pthread_once(&once, global_init);
	if (!init_ok || (m = curl_multi_init()) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (setup(rs[i]) == 0 && curl_multi_add_handle(m, rs[i]->impl) != CURLM_OK)
			finish(rs[i], CURLE_FAILED_INIT);
	do {
		if (curl_multi_perform(m, &running) != CURLM_OK)
			break;
		while ((msg = curl_multi_info_read(m, &left)) != NULL) {
			struct mhttp_req	*r = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
			curl_multi_remove_handle(m, msg->easy_handle);
			finish(r, msg->data.result);
		}
		if (running > 0 && curl_multi_poll(m, NULL, 0, 1000, NULL) != CURLM_OK)
			break;
	} while (running > 0);
	/* Whatever did not end (a failed multi call) ends as failed. */
	for (size_t i = 0; i < n; i++)
		if (rs[i]->impl != NULL) {
			curl_multi_remove_handle(m, rs[i]->impl);
			finish(rs[i], CURLE_FAILED_INIT);
		}
	curl_multi_cleanup(m);
	return 0;
}

json_t *
mhttp_json(const struct mhttp_req *r)
{
	json_t	*j;

	if (r->resp == NULL)
		return NULL;
	if ((j = json_loadb(r->resp, r->respsz, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return NULL;
	if (!json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

void
mhttp_req_fini(struct mhttp_req *r)
{
	if (r == NULL)
		return;
	free(r->resp);
	r->resp = NULL;
	r->respsz = 0;
	free(r->content_type);
	r->content_type = NULL;
}
