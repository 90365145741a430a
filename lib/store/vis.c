/* History visibility in the store: standings of a user, memberships and visibility at groups. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/extern.h"

static void
stand_fini(void *elem)
{
	struct mvisstand *s = elem;

	free(s->room_id);
	free(s->membership);
}

static int
stand_row(struct mcur *c, void *elem)
{
	struct mvisstand *s = elem;

	s->room_id = mcur_dup(c, 0);
	s->membership = mcur_dup(c, 1);
	s->stream = mcur_int(c, 2);
	s->state_before = mcur_int(c, 3);
	s->state_after = mcur_int(c, 4);
	s->forgotten = mcur_int(c, 5) != 0;
	return s->room_id == NULL || s->membership == NULL ? -1 : 0;
}

int
mstore_vis_standings(struct mdb *db, const char *user_id, const json_t *rooms,
    struct mvisstand **out, size_t *outsz)
{
	char	*js;
	void	*v = NULL;
	int	 rc;

	*out = NULL;
	*outsz = 0;
	if ((js = json_dumps(rooms, JSON_COMPACT)) == NULL)
		return -1;
	rc = mcur_collect(mdb_query(db, MSTMT_VIS_STANDINGS, "ss", user_id, js),
	    sizeof(**out), stand_row, stand_fini, &v, outsz);
	free(js);
	*out = v;
	return rc;
}

json_t *
mstore_vis_erased(struct mdb *db, const json_t *users)
{
	struct mcur	*c;
	json_t		*out;
	char		*js;
	int		 r;

	if ((js = json_dumps(users, JSON_COMPACT)) == NULL)
		return NULL;
	c = mdb_query(db, MSTMT_VIS_ERASED, "s", js);
	free(js);
	if (c == NULL)
		return NULL;
	if ((out = json_object()) == NULL) {
		mcur_free(c);
		return NULL;
	}
	while ((r = mcur_next(c)) == 1) {
		const char *u = mcur_text(c, 0);

		if (u == NULL || json_object_set_new(out, u, json_true()) == -1) {
			r = -1;
			break;
		}
	}
	mcur_free(c);
	if (r != 0) {
		json_decref(out);
		return NULL;
	}
	return out;
}

void
mvisstand_list_free(struct mvisstand *v, size_t n)
{
	mstore_list_free(v, n, sizeof(*v), stand_fini);
}

static void
group_fini(void *elem)
{
	struct mvisgroup *g = elem;

	free(g->membership);
	free(g->visibility);
}

void
mvisgroup_list_free(struct mvisgroup *v, size_t n)
{
	mstore_list_free(v, n, sizeof(*v), group_fini);
}

/* A link of a state group chain, as MSTMT_VIS_GROUPS reads it. */
struct vislink {
	int64_t	 id;
	int64_t	 prev;		/* 0: the chain ends here */
	int	 has_m;		/* sets the user's membership */
	int	 has_v;		/* sets the history_visibility */
	char	*m;		/* the values, NULL when unknown */
	char	*v;
};

static int
int64_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* The link id of the sorted v[0..n), or NULL. */
static const struct vislink *
link_find(const struct vislink *v, size_t n, int64_t id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].id == id)
			return &v[mid];
		if (v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void
link_fini(void *elem)
{
	struct vislink *l = elem;

	free(l->m);
	free(l->v);
}

static void
links_free(struct vislink *v, size_t n)
{
	mstore_list_free(v, n, sizeof(*v), link_fini);
}

static int
link_row(struct mcur *c, void *elem)
{
	struct vislink *l = elem;

	l->id = mcur_int(c, 0);
	l->prev = mcur_int(c, 1);
	l->has_m = mcur_int(c, 2) != 0;
	l->has_v = mcur_int(c, 4) != 0;
	/* A NULL value (no such content member) stays NULL: unknown. */
	if ((l->has_m && !mcur_null(c, 3) && (l->m = mcur_dup(c, 3)) == NULL) ||
	    (l->has_v && !mcur_null(c, 5) && (l->v = mcur_dup(c, 5)) == NULL))
		return -1;
	return 0;
}

/*
 * Reads the rows of MSTMT_VIS_GROUPS (frees c): every link of the
 * chains, ordered by id.  0 with *out (free with links_free), or -1.
 */
static int
links_read(struct mcur *c, struct vislink **out, size_t *outsz)
{
	void	*v = NULL;
	int	 rc;

	*outsz = 0;
	rc = mcur_collect(c, sizeof(**out), link_row, link_fini, &v, outsz);
	*out = v;
	return rc;
}

/*
 * What groups say of users' views, kept by the process: an incremental
 * /sync asks for the groups of what it sends, mostly the ones the last
 * poll asked for (a room's messages share its state group), and the
 * statement that walks their chains was a fifth of such a sync's time
 * on PostgreSQL.  A group's answer for a user never changes: a state
 * group is never changed once written, its IDs are never given again
 * (BIGSERIAL; SQLite's AUTOINCREMENT), redaction keeps an event's
 * membership and history_visibility, and only a room's purge deletes
 * its state events, with its groups.  What a transaction reads may be
 * rolled back, and SQLite gives a rolled back ID again: a read inside
 * one neither uses nor fills the table.  VIS_SLOTS bounds the memory,
 * direct-mapped as pducache.c's.
 */
#define VIS_SLOTS	2048

struct visslot {
	char	*user_id;	/* NULL: empty */
	int64_t	 group;
	int	 known;		/* the group says something of the view */
	char	*membership;
	char	*visibility;
};

static struct visslot	vis_slots[VIS_SLOTS];
static pthread_mutex_t	vis_mtx = PTHREAD_MUTEX_INITIALIZER;

static size_t
vis_slot_of(const char *user_id, int64_t group)
{
	uint64_t h = 1469598103934665603u;

	for (; *user_id != '\0'; user_id++)
		h = (h ^ (unsigned char)*user_id) * 1099511628211u;
	h = (h ^ (uint64_t)group) * 1099511628211u;
	return (size_t)(h % VIS_SLOTS);
}

/* A copy of s into *out (NULL stays NULL).  0 or -1. */
static int
dup_or_null(const char *s, char **out)
{
	*out = NULL;
	return s != NULL && (*out = strdup(s)) == NULL ? -1 : 0;
}

/* The answer kept for (user_id, group) into *g and *known: 1, 0 (none kept) or -1. */
static int
vis_cached(const char *user_id, int64_t group, struct mvisgroup *g, int *known)
{
	struct visslot	*sl = &vis_slots[vis_slot_of(user_id, group)];
	int		 rc = 0;

	memset(g, 0, sizeof(*g));
	pthread_mutex_lock(&vis_mtx);
	if (sl->user_id != NULL && sl->group == group && strcmp(sl->user_id, user_id) == 0) {
		rc = 1;
		g->group = group;
		*known = sl->known;
		if (dup_or_null(sl->membership, &g->membership) == -1 ||
		    dup_or_null(sl->visibility, &g->visibility) == -1)
			rc = -1;
	}
	pthread_mutex_unlock(&vis_mtx);
	if (rc == -1) {
		group_fini(g);
		memset(g, 0, sizeof(*g));
	}
	return rc;
}

/* Keeps the answer for (user_id, group); out of memory keeps nothing. */
static void
vis_keep(const char *user_id, int64_t group, int known, const char *m, const char *v)
{
	struct visslot	 n = { NULL, group, known, NULL, NULL }, old;
	struct visslot	*sl = &vis_slots[vis_slot_of(user_id, group)];

	if (dup_or_null(user_id, &n.user_id) == -1 || dup_or_null(m, &n.membership) == -1 ||
	    dup_or_null(v, &n.visibility) == -1) {
		free(n.user_id);
		free(n.membership);
		return;
	}
	pthread_mutex_lock(&vis_mtx);
	old = *sl;
	*sl = n;
	pthread_mutex_unlock(&vis_mtx);
	free(old.user_id);
	free(old.membership);
	free(old.visibility);
}

/*
 * The facts of each of the sorted, distinct groups asked[0..na) not
 * known[] yet from the chains' links: one statement over them all.
 * Fills g[] and known[]; 0 or -1.
 */
static int
vis_read(struct mdb *db, const char *user_id, const int64_t *asked, size_t na,
    struct mvisgroup *g, int *known, const int *hit)
{
	struct vislink	*lv = NULL;
	json_t		*miss;
	char		*js = NULL;
	size_t		 nl = 0, i;
	int		 rc = -1;

	if ((miss = json_array()) == NULL)
		return -1;
	for (i = 0; i < na; i++)
		if (!hit[i] && json_array_append_new(miss, json_integer(asked[i])) == -1)
			goto out;
	if (json_array_size(miss) == 0) {
		rc = 0;
		goto out;
	}
	if ((js = json_dumps(miss, JSON_COMPACT)) == NULL ||
	    links_read(mdb_query(db, MSTMT_VIS_GROUPS, "ss", user_id, js), &lv, &nl) == -1)
		goto out;
	/*
	 * Each group's values are those of the nearest link of its chain
	 * that sets them.  A chain has at most nl links: the bound keeps a
	 * (corrupt) cycle from looping.
	 */
	for (i = 0; i < na; i++) {
		const struct vislink	*l = link_find(lv, nl, asked[i]);
		const char		*m = NULL, *vis = NULL;
		int			 fm = 0, fv = 0;

		if (hit[i])
			continue;
		for (size_t steps = 0; l != NULL && !(fm && fv) && steps < nl; steps++) {
			if (!fm && l->has_m) {
				fm = 1;
				m = l->m;
			}
			if (!fv && l->has_v) {
				fv = 1;
				vis = l->v;
			}
			l = l->prev != 0 ? link_find(lv, nl, l->prev) : NULL;
		}
		g[i].group = asked[i];
		known[i] = fm || fv;
		if (dup_or_null(m, &g[i].membership) == -1 ||
		    dup_or_null(vis, &g[i].visibility) == -1)
			goto out;
		if (!mdb_in_txn(db))
			vis_keep(user_id, asked[i], known[i], m, vis);
	}
	rc = 0;
out:
	free(js);
	json_decref(miss);
	links_free(lv, nl);
	return rc;
}

int
mstore_vis_groups(struct mdb *db, const char *user_id, const json_t *groups,
    struct mvisgroup **out, size_t *outsz)
{
	struct mvisgroup	*g = NULL;
	int64_t			*asked = NULL;
	int			*known = NULL, *hit = NULL;
	size_t			 na = 0, n = 0, i;
	json_t			*e;
	int			 rc = -1;

	*out = NULL;
	*outsz = 0;
	/* The distinct groups asked for, in order. */
	if ((asked = calloc(json_array_size(groups) + 1, sizeof(*asked))) == NULL ||
	    (g = calloc(json_array_size(groups) + 1, sizeof(*g))) == NULL ||
	    (known = calloc(json_array_size(groups) + 1, sizeof(*known))) == NULL ||
	    (hit = calloc(json_array_size(groups) + 1, sizeof(*hit))) == NULL)
		goto out;
	json_array_foreach(groups, i, e)
		asked[na++] = (int64_t)json_integer_value(e);
	qsort(asked, na, sizeof(*asked), int64_cmp);
	for (i = 0; i < na; i++)
		if (n == 0 || asked[i] != asked[n - 1])
			asked[n++] = asked[i];
	na = n;
	for (i = 0; i < na && !mdb_in_txn(db); i++)
		if ((hit[i] = vis_cached(user_id, asked[i], &g[i], &known[i])) == -1)
			goto out;
	if (vis_read(db, user_id, asked, na, g, known, hit) == -1)
		goto out;
	/* The answer: the groups that say something, in order. */
	for (i = n = 0; i < na; i++) {
		if (!known[i]) {
			group_fini(&g[i]);
			continue;
		}
		g[n++] = g[i];
	}
	rc = 0;
out:
	free(asked);
	free(known);
	free(hit);
	if (rc == -1) {
		mvisgroup_list_free(g, na);
		return -1;
	}
	*out = g;
	*outsz = n;
	return 0;
}

int
mstore_vis_near_ts(struct mdb *db, const char *room_id, int64_t ts, int backwards,
    int64_t after_ts, int64_t after_stream, int64_t limit, struct mevrow **out,
    size_t *outsz)
{
	return mstore_evrows(mdb_query(db, backwards ? MSTMT_VIS_TS_BACK : MSTMT_VIS_TS_FWD,
	    "siiii", room_id, ts, after_ts, after_stream, limit), out, outsz);
}
