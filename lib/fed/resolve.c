/* Server discovery (S-S API, "Resolving server names"): well-known, SRV, 8448. */
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <pthread.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"
#include "config/config.h"
#include "fed/fed.h"
#include "http/http.h"
#include "json/json.h"

#define DEFAULT_PORT	8448

static void
dest_set(struct mfed_dest *d, const char *authority, const char *tls_host,
    const char *connect_host, int port)
{
	snprintf(d->authority, sizeof(d->authority), "%s", authority);
	snprintf(d->tls_host, sizeof(d->tls_host), "%s", tls_host);
	snprintf(d->connect_host, sizeof(d->connect_host), "%s", connect_host);
	d->connect_port = port;
}

/* Steps 3.3 to 3.5 and 4 to 6: SRV records of host, then host:8448. */
static void
by_srv(const struct mfed_lookup *lk, const char *host, struct mfed_dest *out)
{
	static const char *const prefixes[] = { "_matrix-fed._tcp.", "_matrix._tcp." };
	char	 name[300], target[256];
	int	 port;

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		snprintf(name, sizeof(name), "%s%s", prefixes[i], host);
		if (lk->srv != NULL && lk->srv(lk->ctx, name, target, sizeof(target), &port) == 1) {
			/* Spec: Host is the hostname, the certificate is for it, not the target. */
			dest_set(out, host, host, target, port);
			return;
		}
	}
	dest_set(out, host, host, host, DEFAULT_PORT);
}

int
mfed_resolve(const struct mfed_lookup *lk, const char *server_name, struct mfed_dest *out)
{
	struct mfed_name	 n, d;
	char			*wk = NULL;

	memset(out, 0, sizeof(*out));
	if (mfed_name_parse(server_name, &n) == -1)
		return -1;
	/* 1. An IP literal: that address, the given port or 8448. */
	if (n.ip != 0) {
		dest_set(out, server_name, n.host, n.host, n.port != 0 ? n.port : DEFAULT_PORT);
		return 0;
	}
	/* 2. A hostname with an explicit port: that host and port. */
	if (n.port != 0) {
		dest_set(out, server_name, n.host, n.host, n.port);
		return 0;
	}
	/* 3. Delegation by /.well-known/matrix/server; an invalid answer is none. */
	if (lk->well_known != NULL && lk->well_known(lk->ctx, n.host, &wk) == 1 &&
	    mfed_name_parse(wk, &d) == 0) {
		if (d.ip != 0)
			dest_set(out, wk, d.host, d.host, d.port != 0 ? d.port : DEFAULT_PORT);
		else if (d.port != 0)
			dest_set(out, wk, d.host, d.host, d.port);
		else
			by_srv(lk, d.host, out);
		free(wk);
		return 0;
	}
	free(wk);
	/* 4 to 6: SRV of the hostname itself, then port 8448. */
	by_srv(lk, n.host, out);
	return 0;
}

/*
 * The per-process cache of .well-known answers.  Synapse keeps a found
 * answer a day (or what Cache-Control says, which myelin does not read)
 * and a missing or invalid one an hour.
 */
#define WK_SLOTS	64
#define WK_FOUND_MS	(24LL * 3600 * 1000)
#define WK_NONE_MS	(3600LL * 1000)
#define WK_MAX_BYTES	(50 * 1024)

static struct {
	char	 host[256];
	char	*server;	/* NULL: none */
	int64_t	 until;
	int64_t	 used;
} wk_cache[WK_SLOTS];
static pthread_mutex_t wk_lock = PTHREAD_MUTEX_INITIALIZER;

void
mfed_well_known_flush(void)
{
	pthread_mutex_lock(&wk_lock);
	for (size_t i = 0; i < WK_SLOTS; i++) {
		free(wk_cache[i].server);
		memset(&wk_cache[i], 0, sizeof(wk_cache[i]));
	}
	pthread_mutex_unlock(&wk_lock);
}

/* 1 with *server (malloc'd or NULL) when host is cached and fresh, else 0. */
static int
wk_cached(const char *host, int64_t now, char **server)
{
	int	 rc = 0;

	pthread_mutex_lock(&wk_lock);
	for (size_t i = 0; i < WK_SLOTS; i++)
		if (wk_cache[i].until > now && strcmp(wk_cache[i].host, host) == 0) {
			*server = wk_cache[i].server != NULL ? strdup(wk_cache[i].server) : NULL;
			wk_cache[i].used = now;
			rc = 1;
			break;
		}
	pthread_mutex_unlock(&wk_lock);
	return rc;
}

static void
wk_store(const char *host, const char *server, int64_t now)
{
	size_t	 slot = 0;

	if (strlen(host) >= sizeof(wk_cache[0].host))
		return;
	pthread_mutex_lock(&wk_lock);
	/* The same host's slot, else an expired one, else the least used. */
	for (size_t i = 0; i < WK_SLOTS; i++) {
		if (strcmp(wk_cache[i].host, host) == 0) {
			slot = i;
			break;
		}
		if (wk_cache[i].until <= now || wk_cache[i].used < wk_cache[slot].used)
			slot = i;
	}
	free(wk_cache[slot].server);
	snprintf(wk_cache[slot].host, sizeof(wk_cache[slot].host), "%s", host);
	wk_cache[slot].server = server != NULL ? strdup(server) : NULL;
	wk_cache[slot].until = now + (server != NULL ? WK_FOUND_MS : WK_NONE_MS);
	wk_cache[slot].used = now;
	pthread_mutex_unlock(&wk_lock);
}

static int
real_well_known(void *ctx, const char *host, char **server)
{
	const struct mconfig	*conf = ctx;
	struct mhttp_allow	 allow;
	struct mhttp_req	 r;
	json_t			*j = NULL;
	const char		*s;
	char			 url[300];
	int64_t			 now = mclock_now_ms();

	*server = NULL;
	if (wk_cached(host, now, server))
		return *server != NULL;
	if (mhttp_allow_parse(conf->federation_allow_ips, &allow) == -1)
		memset(&allow, 0, sizeof(allow));
	snprintf(url, sizeof(url), "https://%s/.well-known/matrix/server", host);
	memset(&r, 0, sizeof(r));
	r.url = url;
	r.ca_file = conf->federation_ca_file;
	r.allow = &allow;
	r.timeout_ms = 10000;
	r.max_bytes = WK_MAX_BYTES;
	/* Spec: 30x redirects are followed, with loops refused. */
	r.max_redirects = 5;
	if (mhttp_perform(&r) == 0 && r.status == 200 && (j = mhttp_json(&r)) != NULL &&
	    (s = mjson_str(j, "m.server")) != NULL)
		*server = strdup(s);
	json_decref(j);
	mhttp_req_fini(&r);
	wk_store(host, *server, now);
	return *server != NULL;
}

/*
 * SRV by res_nquery: the record of the lowest priority, of the highest
 * weight among those (RFC 2782 picks at random by weight; a fixed
 * choice keeps one destination's connections on one target).  A target
 * of "." says there is no service.
 */
static int
real_srv(void *ctx, const char *name, char *target, size_t targetsz, int *port)
{
	struct __res_state	 st;
	unsigned char		 ans[4096];
	ns_msg			 msg;
	ns_rr			 rr;
	int			 len, best_pri = 65536, best_w = -1, found = 0;

	(void)ctx;
	memset(&st, 0, sizeof(st));
	if (res_ninit(&st) != 0)
		return 0;
	len = res_nquery(&st, name, ns_c_in, ns_t_srv, ans, sizeof(ans));
	if (len <= 0 || ns_initparse(ans, len, &msg) != 0)
		goto out;
	for (int i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
		const unsigned char	*rd;
		char			 tname[NS_MAXDNAME];
		int			 pri, w, p;

		if (ns_parserr(&msg, ns_s_an, i, &rr) != 0 || ns_rr_type(rr) != ns_t_srv ||
		    ns_rr_rdlen(rr) < 7)
			continue;
		rd = ns_rr_rdata(rr);
		pri = rd[0] << 8 | rd[1];
		w = rd[2] << 8 | rd[3];
		p = rd[4] << 8 | rd[5];
		if (dn_expand(ns_msg_base(msg), ns_msg_end(msg), rd + 6, tname, sizeof(tname)) < 0)
			continue;
		if (pri < best_pri || (pri == best_pri && w > best_w)) {
			best_pri = pri;
			best_w = w;
			if (tname[0] == '\0' || strcmp(tname, ".") == 0) {
				found = 0;
				continue;
			}
			snprintf(target, targetsz, "%s", tname);
			*port = p;
			found = p != 0;
		}
	}
out:
	res_nclose(&st);
	return found;
}

void
mfed_lookup_init(struct mfed_lookup *lk, const struct mconfig *conf)
{
	lk->well_known = real_well_known;
	lk->srv = real_srv;
	/* Read only: the config outlives every lookup. */
	lk->ctx = (void *)(uintptr_t)conf;
}
