/* The daemons' metrics file (myelin(7), "Metrics"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/extern.h"

/* Destination names are server names (lib/fed parsed them): no quote or backslash. */
static int
label_ok(const char *s)
{
	return s != NULL && strpbrk(s, "\"\\\n") == NULL;
}

int
mstore_metrics_fedq(struct mdb *db, FILE *f, int (*mine)(const char *, void *), void *arg)
{
	struct mcur	*c;
	int		 rc;

	if ((c = mdb_query(db, MSTMT_METRICS_FEDQ, "")) == NULL)
		return -1;
	fputs("# HELP myelin_fed_queue_events Events queued for a destination.\n"
	    "# TYPE myelin_fed_queue_events gauge\n", f);
	fputs("# HELP myelin_fed_backoff_seconds The destination's backoff after"
	    " failed sends (0: none), which doubles with each retry.\n"
	    "# TYPE myelin_fed_backoff_seconds gauge\n", f);
	while ((rc = mcur_next(c)) == 1) {
		const char *d = mcur_text(c, 0);

		if (!label_ok(d) || (mine != NULL && !mine(d, arg)))
			continue;
		fprintf(f, "myelin_fed_queue_events{destination=\"%s\"} %lld\n"
		    "myelin_fed_backoff_seconds{destination=\"%s\"} %.3f\n", d,
		    (long long)mcur_int(c, 1), d, (double)mcur_int(c, 2) / 1000);
	}
	mcur_free(c);
	return rc == -1 ? -1 : 0;
}

int
mstore_metrics_outbox(struct mdb *db, FILE *f, const char *const *kinds, size_t n)
{
	struct mcur	*c;
	int		 rc = 0;

	fputs("# HELP myelin_outbox_queue_rows Rows of a kind waiting for delivery.\n"
	    "# TYPE myelin_outbox_queue_rows gauge\n"
	    "# HELP myelin_outbox_destinations_failing Destinations of a kind backing off"
	    " after failed deliveries.\n"
	    "# TYPE myelin_outbox_destinations_failing gauge\n", f);
	for (size_t i = 0; i < n && rc != -1; i++) {
		int64_t rows = 0, failing = 0;

		if (!label_ok(kinds[i]))
			continue;
		if ((c = mdb_query(db, MSTMT_METRICS_OUTBOX, "s", kinds[i])) == NULL)
			return -1;
		if ((rc = mcur_next(c)) == 1) {
			rows = mcur_int(c, 0);
			failing = mcur_int(c, 1);
		}
		mcur_free(c);
		fprintf(f, "myelin_outbox_queue_rows{kind=\"%s\"} %lld\n"
		    "myelin_outbox_destinations_failing{kind=\"%s\"} %lld\n", kinds[i],
		    (long long)rows, kinds[i], (long long)failing);
	}
	return rc == -1 ? -1 : 0;
}

int
mstore_metrics_write(struct mdb *db, const char *path, const char *name,
    int (*more)(FILE *, struct mdb *, void *), void *arg)
{
	uint64_t	 us, n;
	char		*tmp = NULL;
	FILE		*f = NULL;
	int		 rc = -1;

	if (!label_ok(name))
		return -1;
	if (asprintf(&tmp, "%s.tmp", path) == -1) {
		tmp = NULL;
		goto out;
	}
	if ((f = fopen(tmp, "w")) == NULL)
		goto out;
	mdb_stats(&us, &n);
	fprintf(f, "# HELP myelin_db_seconds_total Time spent in database statements, BEGIN"
	    " and COMMIT.\n"
	    "# TYPE myelin_db_seconds_total counter\n"
	    "myelin_db_seconds_total{daemon=\"%s\"} %.6f\n"
	    "# HELP myelin_db_statements_total Database statements run.\n"
	    "# TYPE myelin_db_statements_total counter\n"
	    "myelin_db_statements_total{daemon=\"%s\"} %llu\n",
	    name, (double)us / 1e6, name, (unsigned long long)n);
	if (more != NULL && more(f, db, arg) == -1)
		goto out;
	if (ferror(f))
		goto out;
	if (fclose(f) != 0) {
		f = NULL;
		goto out;
	}
	f = NULL;
	if (rename(tmp, path) == -1)
		goto out;
	rc = 0;
out:
	if (f != NULL)
		fclose(f);
	if (rc == -1 && tmp != NULL)
		unlink(tmp);
	free(tmp);
	return rc;
}
