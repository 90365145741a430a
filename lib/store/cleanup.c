/* The cleanup timer's deletes: see store/cleanup.h. */
#include <stdlib.h>

#include "store/extern.h"

int64_t
mstore_clean_login_tokens(struct mdb *db, int64_t now, int64_t limit)
{
	return mdb_exec(db, MSTMT_CLEAN_LOGINTOKENS, "ii", now, limit);
}

int64_t
mstore_clean_todevice_txns(struct mdb *db, int64_t now, int64_t limit)
{
	return mdb_exec(db, MSTMT_CLEAN_TODEVICE_TXNS, "ii", now - MSTORE_TXN_LIFETIME_MS, limit);
}

/*
 * Deletes up to limit rows with st (RETURNING id), then for each id the
 * rows of dep naming it, in one transaction (the caller's, if any).
 * The number of rows of st deleted, or -1.
 */
int64_t
mstore_clean_with(struct mdb *db, enum mstmt st, enum mstmt dep, int64_t before,
    int64_t limit)
{
	struct mcur	*c;
	int64_t		*ids, n = 0;
	int		 own = !db->intx, r = 0;

	if (limit <= 0 || (ids = calloc(limit, sizeof(*ids))) == NULL)
		return -1;
	if (own && mdb_begin(db) == -1) {
		free(ids);
		return -1;
	}
	if ((c = mdb_query(db, st, "ii", before, limit)) == NULL)
		r = -1;
	while (r != -1 && (r = mcur_next(c)) == 1)
		if (n < limit)
			ids[n++] = mcur_int(c, 0);
	mcur_free(c);
	for (int64_t i = 0; r != -1 && i < n; i++)
		if (mdb_exec(db, dep, "i", ids[i]) < 0)
			r = -1;
	free(ids);
	if (r == -1) {
		if (own)
			mdb_rollback(db);
		return -1;
	}
	if (own && mdb_commit(db) == -1)
		return -1;
	return n;
}

int64_t
mstore_clean_refresh_tokens(struct mdb *db, int64_t now, int64_t limit)
{
	return mstore_clean_with(db, MSTMT_CLEAN_REFRESH, MSTMT_TOKEN_DEL_REFRESH, now, limit);
}
