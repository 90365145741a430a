/* History visibility in the store: standings of a user, memberships and visibility at groups. */
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

int
mstore_vis_groups(struct mdb *db, const char *user_id, const json_t *groups,
    struct mvisgroup **out, size_t *outsz)
{
	struct vislink		*lv = NULL;
	struct mvisgroup	*v = NULL, *g;
	int64_t			*asked = NULL;
	size_t			 nl = 0, na = 0, n = 0, i;
	json_t			*e;
	char			*js;
	int			 rc = -1;

	*out = NULL;
	*outsz = 0;
	if ((js = json_dumps(groups, JSON_COMPACT)) == NULL)
		return -1;
	rc = links_read(mdb_query(db, MSTMT_VIS_GROUPS, "ss", user_id, js), &lv, &nl);
	free(js);
	if (rc == -1)
		return -1;
	rc = -1;
	/* The distinct groups asked for, in order. */
	if ((asked = calloc(json_array_size(groups) + 1, sizeof(*asked))) == NULL ||
	    (v = calloc(json_array_size(groups) + 1, sizeof(*v))) == NULL)
		goto out;
	json_array_foreach(groups, i, e)
		asked[na++] = (int64_t)json_integer_value(e);
	qsort(asked, na, sizeof(*asked), int64_cmp);
	/*
	 * Each group's values are those of the nearest link of its chain
	 * that sets them.  A chain has at most nl links: the bound keeps a
	 * (corrupt) cycle from looping.
	 */
	for (i = 0; i < na; i++) {
		const struct vislink	*l = link_find(lv, nl, asked[i]);
		const char		*m = NULL, *vis = NULL;
		int			 fm = 0, fv = 0;

		if (i > 0 && asked[i] == asked[i - 1])
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
		if (!fm && !fv)
			continue;
		g = &v[n++];
		g->group = asked[i];
		if ((m != NULL && (g->membership = strdup(m)) == NULL) ||
		    (vis != NULL && (g->visibility = strdup(vis)) == NULL))
			goto out;
	}
	rc = 0;
out:
	free(asked);
	links_free(lv, nl);
	if (rc == -1) {
		mvisgroup_list_free(v, n);
		return -1;
	}
	*out = v;
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
