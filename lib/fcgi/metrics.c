/*
 * Prometheus text metrics of a handler (issue 17): requests by route,
 * method and status class, a latency histogram per route, the parked
 * long-polls, the database's time.  Counters are atomics, written as
 * requests end (mfcgi_req_respond) and read by GET /_myelin/metrics,
 * which nginx passes from loopback only (lib/fcgi/nginx.c).  The text
 * format needs no library: "name{labels} value" lines.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fcgi/extern.h"
#include "store/store.h"

/* Upper bounds of the latency buckets, in milliseconds; +Inf after. */
static const int64_t bounds_ms[] = { 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000,
    30000 };
#define NBOUNDS	(sizeof(bounds_ms) / sizeof(bounds_ms[0]))

struct rmet {
	_Atomic uint64_t	 status[6];		/* by status / 100; 0: other */
	_Atomic uint64_t	 le[NBOUNDS + 1];	/* not cumulative here */
	_Atomic uint64_t	 sum_us;
};

static const struct mapp	*metapp;
static struct rmet		*mets;		/* routesz + 1: the last is "unrouted" */
static _Atomic int64_t		 parked;
static _Atomic uint64_t		 trims;

int64_t
mfcgi_metrics_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
mfcgi_metrics_init(const struct mapp *app)
{
	if (mets != NULL)
		return;
	if ((mets = calloc(app->routesz + 1, sizeof(*mets))) != NULL)
		metapp = app;
}

void
mfcgi_metrics_parked(int delta)
{
	atomic_fetch_add(&parked, delta);
}

void
mfcgi_metrics_trimmed(void)
{
	atomic_fetch_add(&trims, 1);
}

void
mfcgi_metrics_done(const struct mreq *req, int status)
{
	struct rmet	*m;
	int64_t		 us;
	size_t		 i, b;

	if (mets == NULL || req->t0_us == 0 || req->route == &mfcgi_metrics_route)
		return;
	i = metapp->routesz;
	if (req->route != NULL && req->route >= metapp->routes &&
	    req->route < metapp->routes + metapp->routesz)
		i = (size_t)(req->route - metapp->routes);
	m = &mets[i];
	atomic_fetch_add(&m->status[status >= 100 && status < 600 ? status / 100 : 0], 1);
	us = mfcgi_metrics_now_us() - req->t0_us;
	if (us < 0)
		us = 0;
	for (b = 0; b < NBOUNDS && us > bounds_ms[b] * 1000; b++)
		;
	atomic_fetch_add(&m->le[b], 1);
	atomic_fetch_add(&m->sum_us, (uint64_t)us);
}

static void
route_labels(FILE *f, size_t i)
{
	if (i == metapp->routesz) {
		fprintf(f, "handler=\"%s\",method=\"\",route=\"unrouted\"", metapp->name);
		return;
	}
	/* Route paths are the program's own constants: no quote in them. */
	fprintf(f, "handler=\"%s\",method=\"%s\",route=\"%s\"", metapp->name,
	    mfcgi_method_name(metapp->routes[i].method), metapp->routes[i].path);
}

static int
h_metrics(struct mreq *req)
{
	static const char *const cls[6] = { "other", "1xx", "2xx", "3xx", "4xx", "5xx" };
	char		*text = NULL;
	size_t		 len = 0;
	uint64_t	 dbus, dbn;
	FILE		*f;

	if (mets == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: no metrics", __func__);
	if ((f = open_memstream(&text, &len)) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	fputs("# HELP myelin_requests_total Requests answered, by route and status class.\n"
	    "# TYPE myelin_requests_total counter\n", f);
	for (size_t i = 0; i <= metapp->routesz; i++)
		for (int c = 0; c < 6; c++) {
			uint64_t n = atomic_load(&mets[i].status[c]);

			if (n == 0)
				continue;
			fputs("myelin_requests_total{", f);
			route_labels(f, i);
			fprintf(f, ",status=\"%s\"} %llu\n", cls[c], (unsigned long long)n);
		}
	fputs("# HELP myelin_request_duration_seconds Time from the request's start to its"
	    " answer (a long-poll's wait included).\n"
	    "# TYPE myelin_request_duration_seconds histogram\n", f);
	for (size_t i = 0; i <= metapp->routesz; i++) {
		uint64_t cum = 0;

		for (size_t b = 0; b <= NBOUNDS; b++)
			cum += atomic_load(&mets[i].le[b]);
		if (cum == 0)
			continue;
		cum = 0;
		for (size_t b = 0; b <= NBOUNDS; b++) {
			cum += atomic_load(&mets[i].le[b]);
			fputs("myelin_request_duration_seconds_bucket{", f);
			route_labels(f, i);
			if (b < NBOUNDS)
				fprintf(f, ",le=\"%g\"} %llu\n", (double)bounds_ms[b] / 1000,
				    (unsigned long long)cum);
			else
				fprintf(f, ",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
		}
		fputs("myelin_request_duration_seconds_sum{", f);
		route_labels(f, i);
		fprintf(f, "} %.6f\n", (double)atomic_load(&mets[i].sum_us) / 1e6);
		fputs("myelin_request_duration_seconds_count{", f);
		route_labels(f, i);
		fprintf(f, "} %llu\n", (unsigned long long)cum);
	}
	mdb_stats(&dbus, &dbn);
	fprintf(f, "# HELP myelin_parked_requests Long-polls waiting for news now.\n"
	    "# TYPE myelin_parked_requests gauge\n"
	    "myelin_parked_requests{handler=\"%s\"} %lld\n"
	    "# HELP myelin_db_seconds_total Time spent in database statements, BEGIN and"
	    " COMMIT.\n"
	    "# TYPE myelin_db_seconds_total counter\n"
	    "myelin_db_seconds_total{handler=\"%s\"} %.6f\n"
	    "# HELP myelin_db_statements_total Database statements run.\n"
	    "# TYPE myelin_db_statements_total counter\n"
	    "myelin_db_statements_total{handler=\"%s\"} %llu\n"
	    "# HELP myelin_heap_trims_total Times the handler gave freed heap back to the"
	    " system (after a worker rests or a crowd of long-polls goes).\n"
	    "# TYPE myelin_heap_trims_total counter\n"
	    "myelin_heap_trims_total{handler=\"%s\"} %llu\n",
	    metapp->name, (long long)atomic_load(&parked), metapp->name, (double)dbus / 1e6,
	    metapp->name, (unsigned long long)dbn, metapp->name,
	    (unsigned long long)atomic_load(&trims));
	if (fclose(f) != 0 || text == NULL) {
		free(text);
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	}
	req->text = text;
	req->text_len = len;
	return 0;
}

const struct mroute mfcgi_metrics_route = { MM_GET, MFCGI_METRICS_PATH, MAUTH_NONE, h_metrics };
