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

int
mstore_vis_groups(struct mdb *db, const char *user_id, const json_t *groups,
    struct mvisgroup **out, size_t *outsz)
{
	struct mvisgroup	*v = NULL, *g, *nv;
	struct mcur		*c;
	char			*js;
	size_t			 n = 0, cap = 0;
	int			 r, rc = -1;
	int64_t			 prev_start = -1, prev_kind = -1;

	*out = NULL;
	*outsz = 0;
	if ((js = json_dumps(groups, JSON_COMPACT)) == NULL)
		return -1;
	c = mdb_query(db, MSTMT_VIS_GROUPS, "ss", user_id, js);
	free(js);
	if (c == NULL)
		return -1;
	/* Rows come by group, then kind, nearest link first: the first of each counts. */
	while ((r = mcur_next(c)) == 1) {
		int64_t start = mcur_int(c, 0), kind = mcur_int(c, 1);
		char	**slot;

		if (start == prev_start && kind == prev_kind)
			continue;
		prev_kind = kind;
		if (n == 0 || v[n - 1].group != start) {
			if (n == cap) {
				cap = cap > 0 ? cap * 2 : 8;
				if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL)
					goto out;
				v = nv;
			}
			g = &v[n++];
			memset(g, 0, sizeof(*g));
			g->group = start;
		}
		prev_start = start;
		g = &v[n - 1];
		slot = kind == 0 ? &g->membership : &g->visibility;
		/* A NULL value (no such content member) stays NULL: unknown. */
		if (!mcur_null(c, 3) && (*slot = mcur_dup(c, 3)) == NULL)
			goto out;
	}
	if (r == 0)
		rc = 0;
out:
	mcur_free(c);
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
