/* Storage of the filters clients upload (spec: C-S API, "Filtering"). */
#ifndef MYELIN_STORE_FILTER_H
#define MYELIN_STORE_FILTER_H

#include <jansson.h>

struct mdb;

/*
 * Stores filter for user_id, or finds the same definition stored before
 * (compared as canonical JSON), and sets *filter_id (malloc'd) to its
 * ID: a decimal number, so never starting with '{'.  0 or -1.
 */
int	mstore_filter_put(struct mdb *, const char *user_id, const json_t *filter,
	    char **filter_id);
/*
 * The filter user_id stored as filter_id (a new reference), or NULL:
 * unknown (*err 0, including IDs that are not numbers) or failure (*err 1).
 */
json_t	*mstore_filter_get(struct mdb *, const char *user_id, const char *filter_id, int *err);

#endif
