/* Relations in the store: relations pages, thread summaries, edits, references. */
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

/* The first column after MEVENT_COLS in a row. */
#define EXTRA_COL	16

/*
 * Fills e from the MEVENT_COLS of a row.  0 or -1.
 * XXX The same as evrow() in room.c, which is static there; one of them
 * goes once room.c shares it through extern.h.
 */
static int
relrow(struct mcur *c, struct mevrow *e)
{
	const char *js;

	memset(e, 0, sizeof(*e));
	e->stream = mcur_int(c, 0);
	e->event_id = mcur_dup(c, 1);
	e->room_id = mcur_dup(c, 2);
	e->type = mcur_dup(c, 3);
	e->state_key = mcur_dup(c, 4);
	e->sender = mcur_dup(c, 5);
	e->depth = mcur_int(c, 6);
	e->origin_server_ts = mcur_int(c, 7);
	e->state_before = mcur_int(c, 8);
	e->state_after = mcur_int(c, 9);
	e->rejected = mcur_dup(c, 10);
	e->redacted_by = mcur_dup(c, 11);
	e->txn_user = mcur_dup(c, 12);
	e->txn_device = mcur_dup(c, 13);
	e->txn_id = mcur_dup(c, 14);
	js = mcur_text(c, 15);
	e->json = js != NULL ? json_loads(js, 0, NULL) : NULL;
	return e->event_id == NULL || e->room_id == NULL || e->type == NULL ||
	    e->sender == NULL || e->json == NULL ? -1 : 0;
}

/*
 * Grows an array of elements of size sz by one zeroed element.  Returns
 * the new array (the old one is no longer valid) or NULL, leaving *v.
 */
static void *
grow(void *v, size_t n, size_t sz)
{
	char *nv = reallocarray(v, n + 1, sz);

	if (nv != NULL)
		memset(nv + n * sz, 0, sz);
	return nv;
}

int
mstore_rel_page(struct mdb *db, const struct mrel_query *q, struct mevrow **out,
    size_t *outsz)
{
	struct mcur	*c;
	struct mevrow	*v = NULL, *nv;
	size_t		 n = 0;
	int		 rc;

	*out = NULL;
	*outsz = 0;
	if (q->depth > 1)
		c = mdb_query(db, q->backwards ? MSTMT_REL_RECURSE_BACK : MSTMT_REL_RECURSE_FWD,
		    "ssssiiii", q->room_id, q->parent, q->rel_type, q->event_type, q->from, q->to,
		    q->limit, (int64_t)q->depth);
	else
		c = mdb_query(db, q->backwards ? MSTMT_REL_PAGE_BACK : MSTMT_REL_PAGE_FWD,
		    "ssssiii", q->room_id, q->parent, q->rel_type, q->event_type, q->from, q->to,
		    q->limit);
	if (c == NULL)
		return -1;
	while ((rc = mcur_next(c)) == 1) {
		if ((nv = grow(v, n, sizeof(*v))) == NULL) {
			rc = -1;
			break;
		}
		v = nv;
		if (relrow(c, &v[n++]) == -1) {
			rc = -1;
			break;
		}
	}
	mcur_free(c);
	if (rc == -1) {
		mevrow_list_free(v, n);
		return -1;
	}
	*out = v;
	*outsz = n;
	return 0;
}

/*
 * Runs batch statement st over ids[0..n) in slices of MREL_BATCH, calling
 * row(arg, cursor) for each row.  user: the second parameter of
 * statements that take one (MREL_IN_3), or NULL for MREL_IN_2 ones.
 * 0 or -1.
 */
static int
batches(struct mdb *db, enum mstmt st, const char *room_id, const char *user,
    const char *const *ids, size_t n, int (*row)(void *, struct mcur *), void *arg)
{
	const char	*b[MREL_BATCH];
	struct mcur	*c;
	size_t		 i, k;
	int		 rc;

	for (i = 0; i < n; i += MREL_BATCH) {
		for (k = 0; k < MREL_BATCH; k++)
			b[k] = i + k < n ? ids[i + k] : NULL;
		/* One argument per placeholder: see MREL_BATCH in stmts-rel.h. */
		if (user != NULL)
			c = mdb_query(db, st, "ssssssssssssssss", room_id, user, b[0], b[1], b[2],
			    b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13]);
		else
			c = mdb_query(db, st, "sssssssssssssss", room_id, b[0], b[1], b[2], b[3],
			    b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13]);
		if (c == NULL)
			return -1;
		while ((rc = mcur_next(c)) == 1)
			if (row(arg, c) == -1) {
				rc = -1;
				break;
			}
		mcur_free(c);
		if (rc == -1)
			return -1;
	}
	return 0;
}

struct threadacc {
	struct mthread	*v;
	size_t		 n;
};

static int
thread_row(void *arg, struct mcur *c)
{
	struct threadacc	*a = arg;
	struct mthread		*nv, *t;

	if ((nv = grow(a->v, a->n, sizeof(*nv))) == NULL)
		return -1;
	a->v = nv;
	t = &a->v[a->n++];
	if (relrow(c, &t->latest) == -1 || (t->root = mcur_dup(c, EXTRA_COL)) == NULL)
		return -1;
	t->count = mcur_int(c, EXTRA_COL + 1);
	t->participated = mcur_int(c, EXTRA_COL + 2) != 0;
	return 0;
}

int
mstore_rel_threads(struct mdb *db, const char *room_id, const char *user_id,
    const char *const *roots, size_t n, struct mthread **out, size_t *outsz)
{
	struct threadacc a = { NULL, 0 };

	*out = NULL;
	*outsz = 0;
	/* An empty viewer matches no sender, yet keeps the statement's shape. */
	if (batches(db, MSTMT_REL_THREADS, room_id, user_id != NULL ? user_id : "", roots, n,
	    thread_row, &a) == -1) {
		mthread_list_free(a.v, a.n);
		return -1;
	}
	*out = a.v;
	*outsz = a.n;
	return 0;
}

void
mthread_list_free(struct mthread *v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(v[i].root);
		mevrow_fini(&v[i].latest);
	}
	free(v);
}

struct childacc {
	struct mrelchild	*v;
	size_t			 n;
};

static int
child_row(void *arg, struct mcur *c)
{
	struct childacc		*a = arg;
	struct mrelchild	*nv, *ch;

	if ((nv = grow(a->v, a->n, sizeof(*nv))) == NULL)
		return -1;
	a->v = nv;
	ch = &a->v[a->n++];
	if (relrow(c, &ch->ev) == -1 || (ch->parent = mcur_dup(c, EXTRA_COL)) == NULL)
		return -1;
	return 0;
}

int
mstore_rel_edits(struct mdb *db, const char *room_id, const char *const *parents, size_t n,
    struct mrelchild **out, size_t *outsz)
{
	struct childacc a = { NULL, 0 };

	*out = NULL;
	*outsz = 0;
	if (batches(db, MSTMT_REL_EDITS, room_id, NULL, parents, n, child_row, &a) == -1) {
		mrelchild_list_free(a.v, a.n);
		return -1;
	}
	*out = a.v;
	*outsz = a.n;
	return 0;
}

void
mrelchild_list_free(struct mrelchild *v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(v[i].parent);
		mevrow_fini(&v[i].ev);
	}
	free(v);
}

static int
ref_row(void *arg, struct mcur *c)
{
	json_t		*map = arg, *list;
	const char	*parent = mcur_text(c, 0), *child = mcur_text(c, 1);

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

	if (map == NULL || batches(db, MSTMT_REL_REFS, room_id, NULL, parents, n, ref_row,
	    map) == -1) {
		json_decref(map);
		return NULL;
	}
	return map;
}

int
mstore_rel_thread_roots(struct mdb *db, const char *room_id, const char *user_id,
    int participated, int64_t from, int64_t limit, struct mthreadroot **out, size_t *outsz)
{
	struct mcur		*c;
	struct mthreadroot	*v = NULL, *nv;
	size_t			 n = 0;
	int			 rc;

	*out = NULL;
	*outsz = 0;
	if ((c = mdb_query(db, MSTMT_REL_THREAD_ROOTS, "ssiii", room_id,
	    user_id != NULL ? user_id : "", from, (int64_t)(participated != 0), limit)) == NULL)
		return -1;
	while ((rc = mcur_next(c)) == 1) {
		if ((nv = grow(v, n, sizeof(*v))) == NULL) {
			rc = -1;
			break;
		}
		v = nv;
		v[n].latest = mcur_int(c, EXTRA_COL);
		if (relrow(c, &v[n++].ev) == -1) {
			rc = -1;
			break;
		}
	}
	mcur_free(c);
	if (rc == -1) {
		mthreadroot_list_free(v, n);
		return -1;
	}
	*out = v;
	*outsz = n;
	return 0;
}

void
mthreadroot_list_free(struct mthreadroot *v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		mevrow_fini(&v[i].ev);
	free(v);
}

int
mstore_event_near_ts(struct mdb *db, const char *room_id, int64_t ts, int backwards,
    char **event_id, int64_t *origin_ts)
{
	struct mcur	*c;
	int		 rc;

	*event_id = NULL;
	*origin_ts = 0;
	if ((c = mdb_query(db, backwards ? MSTMT_REL_TS_BACK : MSTMT_REL_TS_FWD, "si", room_id,
	    ts)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1) {
		*origin_ts = mcur_int(c, 1);
		if ((*event_id = mcur_dup(c, 0)) == NULL)
			rc = -1;
	}
	mcur_free(c);
	return rc;
}
