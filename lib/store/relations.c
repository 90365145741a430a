/* Relations in the store: relations pages, thread summaries, edits, references. */
#include <stdlib.h>

#include "store/extern.h"

/* The first column after MEVENT_COLS in a row. */
#define EXTRA_COL	MEVENT_NCOLS

int
mstore_rel_page(struct mdb *db, const struct mrel_query *q, struct mevrow **out,
    size_t *outsz)
{
	struct mcur *c;

	if (q->depth > 1)
		c = mdb_query(db, q->backwards ? MSTMT_REL_RECURSE_BACK : MSTMT_REL_RECURSE_FWD,
		    "ssssiiii", q->room_id, q->parent, q->rel_type, q->event_type, q->from, q->to,
		    q->limit, (int64_t)q->depth);
	else
		c = mdb_query(db, q->backwards ? MSTMT_REL_PAGE_BACK : MSTMT_REL_PAGE_FWD,
		    "ssssiii", q->room_id, q->parent, q->rel_type, q->event_type, q->from, q->to,
		    q->limit);
	return mstore_evrows(c, out, outsz);
}

/*
 * Runs batch statement st over the slice of ids[0..n) that starts at i,
 * MREL_BATCH long at most.  user: the second parameter of statements
 * that take one (MREL_IN_3), or NULL for MREL_IN_2 ones.  A cursor, or
 * NULL.
 */
static struct mcur *
batch(struct mdb *db, enum mstmt st, const char *room_id, const char *user,
    const char *const *ids, size_t n, size_t i)
{
	const char *b[MREL_BATCH];

	for (size_t k = 0; k < MREL_BATCH; k++)
		b[k] = i + k < n ? ids[i + k] : NULL;
	/* One argument per placeholder: see MREL_BATCH in stmts-rel.h. */
	if (user != NULL)
		return mdb_query(db, st, "ssssssssssssssss", room_id, user, b[0], b[1], b[2],
		    b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13]);
	return mdb_query(db, st, "sssssssssssssss", room_id, b[0], b[1], b[2], b[3],
	    b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13]);
}

static void
thread_fini(void *elem)
{
	struct mthread *t = elem;

	free(t->root);
	mevrow_fini(&t->latest);
}

static int
thread_row(struct mcur *c, void *elem)
{
	struct mthread *t = elem;

	if (mstore_evrow_read(c, &t->latest) == -1 ||
	    (t->root = mcur_dup(c, EXTRA_COL)) == NULL)
		return -1;
	t->count = mcur_int(c, EXTRA_COL + 1);
	t->participated = mcur_int(c, EXTRA_COL + 2) != 0;
	return 0;
}

int
mstore_rel_threads(struct mdb *db, const char *room_id, const char *user_id,
    const char *const *roots, size_t n, struct mthread **out, size_t *outsz)
{
	void	*v = NULL;
	int	 rc = 0;

	*outsz = 0;
	/* An empty viewer matches no sender, yet keeps the statement's shape. */
	for (size_t i = 0; i < n && rc == 0; i += MREL_BATCH)
		rc = mcur_collect(batch(db, MSTMT_REL_THREADS, room_id,
		    user_id != NULL ? user_id : "", roots, n, i), sizeof(**out), thread_row,
		    thread_fini, &v, outsz);
	*out = v;
	return rc;
}

void
mthread_list_free(struct mthread *v, size_t n)
{
	mstore_list_free(v, n, sizeof(*v), thread_fini);
}

static void
child_fini(void *elem)
{
	struct mrelchild *ch = elem;

	free(ch->parent);
	mevrow_fini(&ch->ev);
}

static int
child_row(struct mcur *c, void *elem)
{
	struct mrelchild *ch = elem;

	if (mstore_evrow_read(c, &ch->ev) == -1 ||
	    (ch->parent = mcur_dup(c, EXTRA_COL)) == NULL)
		return -1;
	return 0;
}

int
mstore_rel_edits(struct mdb *db, const char *room_id, const char *const *parents, size_t n,
    struct mrelchild **out, size_t *outsz)
{
	void	*v = NULL;
	int	 rc = 0;

	*outsz = 0;
	for (size_t i = 0; i < n && rc == 0; i += MREL_BATCH)
		rc = mcur_collect(batch(db, MSTMT_REL_EDITS, room_id, NULL, parents, n, i),
		    sizeof(**out), child_row, child_fini, &v, outsz);
	*out = v;
	return rc;
}

void
mrelchild_list_free(struct mrelchild *v, size_t n)
{
	mstore_list_free(v, n, sizeof(*v), child_fini);
}

/* Adds a row (parent, child) to map: parent ID -> array of child IDs.  0 or -1. */
static int
ref_row(struct mcur *c, json_t *map, void *arg)
{
	json_t		*list;
	const char	*parent = mcur_text(c, 0), *child = mcur_text(c, 1);

	(void)arg;
	if (parent == NULL || child == NULL)
		return -1;
	if ((list = json_object_get(map, parent)) == NULL) {
		if ((list = json_array()) == NULL || json_object_set_new(map, parent, list) == -1)
			return -1;
	}
	return json_array_append_new(list, json_string(child));
}

json_t *
mstore_rel_refs(struct mdb *db, const char *room_id, const char *const *parents, size_t n)
{
	json_t *map = json_object();

	for (size_t i = 0; i < n && map != NULL; i += MREL_BATCH)
		map = mcur_json_fold(batch(db, MSTMT_REL_REFS, room_id, NULL, parents, n, i), map,
		    ref_row, NULL);
	return map;
}

static void
threadroot_fini(void *elem)
{
	struct mthreadroot *t = elem;

	mevrow_fini(&t->ev);
}

static int
threadroot_row(struct mcur *c, void *elem)
{
	struct mthreadroot *t = elem;

	t->latest = mcur_int(c, EXTRA_COL);
	return mstore_evrow_read(c, &t->ev);
}

int
mstore_rel_thread_roots(struct mdb *db, const char *room_id, const char *user_id,
    int participated, int64_t from, int64_t limit, struct mthreadroot **out, size_t *outsz)
{
	void	*v = NULL;
	int	 rc;

	*outsz = 0;
	rc = mcur_collect(mdb_query(db, MSTMT_REL_THREAD_ROOTS, "ssiii", room_id,
	    user_id != NULL ? user_id : "", from, (int64_t)(participated != 0), limit),
	    sizeof(**out), threadroot_row, threadroot_fini, &v, outsz);
	*out = v;
	return rc;
}

void
mthreadroot_list_free(struct mthreadroot *v, size_t n)
{
	mstore_list_free(v, n, sizeof(*v), threadroot_fini);
}
