/*
 * A statement with a PostgreSQL text of its own (P() in stmts-*.h) takes
 * the same parameters as its shared text: callers pass one format for
 * both engines, and mdb_query refuses a format that disagrees.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/extern.h"	/* statements and cursors: a test of lib/store itself */

static const char *const names[MSTMT__MAX] = {
#define X(id, sql) #id,
	MSTMT_ALL
#undef X
};

static const char *const shared[MSTMT__MAX] = {
#define X(id, sql) sql,
	MSTMT_ALL
#undef X
};

static const char *const pg[MSTMT__MAX] = {
#define P(id, sql) [id] = (sql),
	MSTMT_PG_ALL
#undef P
};

/* The highest $N in sql. */
static int
params(const char *sql)
{
	int max = 0;

	for (const char *p = sql; (p = strchr(p, '$')) != NULL; p++)
		if (p[1] >= '1' && p[1] <= '9' && atoi(p + 1) > max)
			max = atoi(p + 1);
	return max;
}

int
main(void)
{
	int rc = 0, n = 0;

	for (int i = 0; i < MSTMT__MAX; i++) {
		if (pg[i] == NULL)
			continue;
		n++;
		if (params(pg[i]) != params(shared[i])) {
			fprintf(stderr, "store-pgtext: %s: %d parameters on PostgreSQL, %d"
			    " on SQLite\n", names[i], params(pg[i]), params(shared[i]));
			rc = 1;
		}
	}
	if (n == 0) {
		fprintf(stderr, "store-pgtext: no PostgreSQL texts\n");
		rc = 1;
	}
	return rc;
}
