/* The outbound queue's rows, destinations, backoff and leases (see lib/outbox). */
#include <stdlib.h>
#include <string.h>

#include "store/extern.h"
#include "store/store.h"

int
mstore_outbox_put(struct mdb *db, const char *kind, const char *destination,
    const char *ref, const char *payload, int64_t now)
{
	if (mdb_exec(db, MSTMT_OUTBOX_ADD, "ssssi", kind, destination, ref, payload,
	    now) == -1 ||
	    mdb_exec(db, MSTMT_OUTBOX_DEST_ADD, "ss", kind, destination) == -1)
		return -1;
	return 0;
}

static int
dest_row(struct mcur *c, void *elem)
{
	char **s = elem;

	return (*s = mcur_dup(c, 0)) == NULL ? -1 : 0;
}

static void
dest_fini(void *elem)
{
	free(*(char **)elem);
}

int
mstore_outbox_due(struct mdb *db, const char *kind, int64_t now, int64_t limit,
    char ***out, size_t *outsz)
{
	void *v = NULL;
	int rc;

	*outsz = 0;
	rc = mcur_collect(mdb_query(db, MSTMT_OUTBOX_DUE, "sii", kind, now, limit),
	    sizeof(char *), dest_row, dest_fini, &v, outsz);
	*out = v;
	return rc;
}

void
mstore_outbox_dests_free(char **v, size_t n)
{
	mstore_list_free(v, n, sizeof(*v), dest_fini);
}

int
mstore_outbox_claim(struct mdb *db, const char *kind, const char *destination,
    const char *owner, int64_t lease_until, int64_t now)
{
	return mstore_changed(mdb_exec(db, MSTMT_OUTBOX_CLAIM, "sssii", kind, destination,
	    owner, lease_until, now));
}

static int
row_row(struct mcur *c, void *elem)
{
	struct moutbox_row *r = elem;

	r->id = mcur_int(c, 0);
	r->created_ts = mcur_int(c, 3);
	if ((!mcur_null(c, 1) && (r->ref = mcur_dup(c, 1)) == NULL) ||
	    (!mcur_null(c, 2) && (r->payload = mcur_dup(c, 2)) == NULL))
		return -1;
	return 0;
}

static void
row_fini(void *elem)
{
	struct moutbox_row *r = elem;

	free(r->ref);
	free(r->payload);
}

int
mstore_outbox_head(struct mdb *db, const char *kind, const char *destination,
    int64_t limit, struct moutbox_row **out, size_t *outsz)
{
	void *v = NULL;
	int rc;

	*outsz = 0;
	rc = mcur_collect(mdb_query(db, MSTMT_OUTBOX_HEAD, "ssi", kind, destination, limit),
	    sizeof(**out), row_row, row_fini, &v, outsz);
	*out = v;
	return rc;
}

void
moutbox_row_list_free(struct moutbox_row *v, size_t n)
{
	mstore_list_free(v, n, sizeof(*v), row_fini);
}

int
mstore_outbox_done(struct mdb *db, const char *kind, const char *destination,
    const char *owner, const int64_t *ids, size_t n, int64_t lease_until)
{
	int64_t kept;

	if (mdb_begin(db) == -1)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (mdb_exec(db, MSTMT_OUTBOX_DEL, "i", ids[i]) == -1)
			goto fail;
	if ((kept = mdb_exec(db, MSTMT_OUTBOX_RENEW, "sssi", kind, destination, owner,
	    lease_until)) == -1)
		goto fail;
	if (mdb_commit(db) == -1)
		return -1;
	return kept > 0;
fail:
	mdb_rollback(db);
	return -1;
}

int
mstore_outbox_release(struct mdb *db, const char *kind, const char *destination,
    const char *owner)
{
	return mdb_exec(db, MSTMT_OUTBOX_RELEASE, "sss", kind, destination, owner) == -1 ?
	    -1 : 0;
}

int
mstore_outbox_dest_get(struct mdb *db, const char *kind, const char *destination,
    int64_t *failures, int64_t *failing_since)
{
	struct mcur	*c;
	int		 rc;

	if ((c = mdb_query(db, MSTMT_OUTBOX_DEST_GET, "ss", kind, destination)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1) {
		*failures = mcur_int(c, 0);
		*failing_since = mcur_int(c, 1);
	}
	mcur_free(c);
	return rc;
}

int
mstore_outbox_fail(struct mdb *db, const char *kind, const char *destination,
    const char *owner, int64_t retry_ts, int64_t now, int restart)
{
	return mdb_exec(db, MSTMT_OUTBOX_FAIL, "sssiii", kind, destination, owner, retry_ts,
	    now, (int64_t)(restart != 0)) == -1 ? -1 : 0;
}

int
mstore_outbox_mark(struct mdb *db, const char *kind, const char *destination, int64_t first,
    int64_t last, const char *mark)
{
	return mdb_exec(db, MSTMT_OUTBOX_MARK, "ssiis", kind, destination, first, last,
	    mark) < 0 ? -1 : 0;
}

int64_t
mstore_outbox_drop(struct mdb *db, const char *kind, const char *destination)
{
	return mdb_exec(db, MSTMT_OUTBOX_DEL_DEST, "ss", kind, destination);
}

int64_t
mstore_outbox_next(struct mdb *db, const char *kind, int64_t now)
{
	int64_t	 v = 0;

	if (mcur_first_int(mdb_query(db, MSTMT_OUTBOX_NEXT, "si", kind, now), &v) == -1)
		return -1;
	return v;
}

int64_t
mstore_outbox_count(struct mdb *db, const char *kind)
{
	int64_t	 v = 0;

	if (mcur_first_int(mdb_query(db, MSTMT_OUTBOX_COUNT, "s", kind), &v) == -1)
		return -1;
	return v;
}
