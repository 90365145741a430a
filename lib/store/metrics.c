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
mstore_metrics_write(struct mdb *db, const char *path, const char *name, int fedq)
{
	struct mcur	*c = NULL;
	uint64_t	 us, n;
	char		*tmp = NULL;
	FILE		*f = NULL;
	int		 rc = -1;

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
	if (fedq) {
		if ((c = mdb_query(db, MSTMT_METRICS_FEDQ, "")) == NULL)
			goto out;
		fputs("# HELP myelin_fed_queue_events Events queued for a destination.\n"
		    "# TYPE myelin_fed_queue_events gauge\n", f);
		fputs("# HELP myelin_fed_backoff_seconds The destination's backoff after"
		    " failed sends (0: none), which doubles with each retry.\n"
		    "# TYPE myelin_fed_backoff_seconds gauge\n", f);
		while (mcur_next(c) == 1) {
			const char *d = mcur_text(c, 0);

			if (!label_ok(d))
				continue;
			fprintf(f, "myelin_fed_queue_events{destination=\"%s\"} %lld\n"
			    "myelin_fed_backoff_seconds{destination=\"%s\"} %.3f\n", d,
			    (long long)mcur_int(c, 1), d, (double)mcur_int(c, 2) / 1000);
		}
	}
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
	mcur_free(c);
	free(tmp);
	return rc;
}
