/* Stored filters: one row per (user, filter ID), the definition as canonical JSON. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"
#include "store/extern.h"

/* Tries the insert this many times when concurrent adds take the same ID. */
#define FILTER_ADD_TRIES	5

int
mstore_filter_put(struct mdb *db, const char *user_id, const json_t *filter, char **filter_id)
{
	struct mcur	*c;
	char		*js, buf[32];
	int64_t		 id = -1;
	int		 rc = -1;

	*filter_id = NULL;
	if ((js = mjson_canonical(filter, NULL)) == NULL)
		return -1;
	for (int i = 0; i < FILTER_ADD_TRIES && id < 0; i++) {
		if ((c = mdb_query(db, MSTMT_FILTER_FIND, "ss", user_id, js)) == NULL)
			goto out;
		if ((rc = mcur_next(c)) == 1)
			id = mcur_int(c, 0);
		mcur_free(c);
		if (rc == -1 || id >= 0)
			break;
		if ((c = mdb_query(db, MSTMT_FILTER_ADD, "ss", user_id, js)) == NULL) {
			rc = -1;
			goto out;
		}
		if ((rc = mcur_next(c)) == 1)
			id = mcur_int(c, 0);
		mcur_free(c);
		if (rc == -1)
			break;
	}
	if (id < 0) {
		rc = -1;
		goto out;
	}
	snprintf(buf, sizeof(buf), "%lld", (long long)id);
	rc = (*filter_id = strdup(buf)) == NULL ? -1 : 0;
out:
	free(js);
	return rc;
}

json_t *
mstore_filter_get(struct mdb *db, const char *user_id, const char *filter_id, int *err)
{
	struct mcur	*c;
	json_t		*out = NULL;
	char		*end;
	long long	 id;
	int		 rc;

	*err = 0;
	/* Only IDs this server hands out: decimal, no sign, no leading zeros. */
	if (filter_id[0] < '0' || filter_id[0] > '9' || (filter_id[0] == '0' &&
	    filter_id[1] != '\0'))
		return NULL;
	errno = 0;
	id = strtoll(filter_id, &end, 10);
	if (*end != '\0' || errno == ERANGE)
		return NULL;
	if ((c = mdb_query(db, MSTMT_FILTER_GET, "si", user_id, (int64_t)id)) == NULL) {
		*err = 1;
		return NULL;
	}
	if ((rc = mcur_next(c)) == 1 && (out = json_loads(mcur_text(c, 0), 0, NULL)) == NULL)
		rc = -1;
	mcur_free(c);
	if (rc == -1)
		*err = 1;
	return out;
}
