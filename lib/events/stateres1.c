/*
 * State resolution v1 (room version 1, "State resolution"): the state
 * the given states agree on, then each conflicted key resolved by the
 * auth rules, power levels first, then join rules, then memberships,
 * then the rest, each phase on the resolution of those before.  Events
 * of a key are ordered by depth, then by the SHA-1 of their IDs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crypto/crypto.h"
#include "events/events.h"
#include "json/json.h"

/* The auth rules' view of a state map, its events read through get(). */
struct v1view {
	const json_t	*map;		/* key -> event ID */
	mevent_get_fn	 get;
	void		*arg;
};

static const json_t *
view_get(void *arg, const char *type, const char *sk)
{
	struct v1view	*v = arg;
	char		*k;
	const char	*id;

	if ((k = mstate_key_join(type, sk)) == NULL)
		return NULL;
	id = json_string_value(json_object_get(v->map, k));
	free(k);
	return id != NULL ? v->get(v->arg, id) : NULL;
}

/* An event of a conflicted key, with what its order depends on. */
struct v1ev {
	const char	*id;
	const json_t	*ev;
	int64_t		 depth;
	char		 sha1[41];
};

/* Depth descending, then SHA-1 of the ID ascending (Synapse's _ordered_events). */
static int
v1_cmp(const void *a, const void *b)
{
	const struct v1ev	*x = a, *y = b;

	if (x->depth != y->depth)
		return x->depth > y->depth ? -1 : 1;
	return strcmp(x->sha1, y->sha1);
}

/* The events of ids (known to get), ordered; *n their count.  NULL when none. */
static struct v1ev *
v1_order(const json_t *ids, mevent_get_fn get, void *arg, size_t *n)
{
	struct v1ev	*out;
	json_t		*v;
	size_t		 i;

	*n = 0;
	if ((out = calloc(json_array_size(ids) + 1, sizeof(*out))) == NULL)
		return NULL;
	json_array_foreach(ids, i, v) {
		const char	*id = json_string_value(v);
		const json_t	*ev = id != NULL ? get(arg, id) : NULL;

		if (ev == NULL)
			continue;
		out[*n].id = id;
		out[*n].ev = ev;
		out[*n].depth = json_integer_value(json_object_get(ev, "depth"));
		mcrypto_sha1_hex(id, strlen(id), out[*n].sha1);
		(*n)++;
	}
	if (*n == 0) {
		free(out);
		return NULL;
	}
	qsort(out, *n, sizeof(*out), v1_cmp);
	return out;
}

/* 1 when ev passes the auth rules against state map, else 0. */
static int
v1_allowed(const struct mroomver *ver, const json_t *ev, const json_t *map, mevent_get_fn get,
    void *arg)
{
	struct v1view	 v;
	char		 why[256];

	v.map = map;
	v.get = get;
	v.arg = arg;
	return mevent_auth_check(ev, ver, view_get, &v, why, sizeof(why)) == 1;
}

/*
 * An auth event's key (power levels, join rules, a membership): from
 * the lowest of its events up, each taking the place of the one before
 * while it passes the auth rules on the auth state with that one in it;
 * the last to pass.  A borrowed ID, or NULL when none is known.
 */
static const char *
resolve_auth(const struct mroomver *ver, const json_t *ids, const json_t *auth,
    mevent_get_fn get, void *arg)
{
	struct mstate_key	 keys[16];
	struct v1ev		*evs;
	json_t			*sub;
	const char		*won = NULL;
	size_t			 n, i, j, nk;
	char			*k;

	if ((evs = v1_order(ids, get, arg, &n)) == NULL)
		return NULL;
	/* The auth state: what auth has of the keys these events' auth rules read. */
	if ((sub = json_object()) == NULL) {
		free(evs);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		nk = mevent_auth_types(evs[i].ev, ver, keys, sizeof(keys) / sizeof(keys[0]));
		for (j = 0; j < nk; j++) {
			if ((k = mstate_key_join(keys[j].type, keys[j].state_key)) == NULL)
				continue;
			if (json_object_get(auth, k) != NULL)
				json_object_set(sub, k, json_object_get(auth, k));
			free(k);
		}
	}
	/* Lowest first: the reverse of the order. */
	won = evs[n - 1].id;
	for (i = n - 1; i > 0; i--) {
		const struct v1ev *prev = &evs[i], *ev = &evs[i - 1];

		if ((k = mstate_key_join(mjson_str(prev->ev, "type"),
		    mjson_str(prev->ev, "state_key"))) == NULL)
			break;
		json_object_set_new(sub, k, json_string(prev->id));
		free(k);
		if (!v1_allowed(ver, ev->ev, sub, get, arg))
			break;
		won = ev->id;
	}
	json_decref(sub);
	free(evs);
	return won;
}

/*
 * Any other key: the first of its events, in order, that passes the
 * auth rules on the resolved auth state, else the last.
 */
static const char *
resolve_normal(const struct mroomver *ver, const json_t *ids, const json_t *auth,
    mevent_get_fn get, void *arg)
{
	struct v1ev	*evs;
	const char	*won = NULL;
	size_t		 n, i;

	if ((evs = v1_order(ids, get, arg, &n)) == NULL)
		return NULL;
	for (i = 0; i < n && won == NULL; i++)
		if (v1_allowed(ver, evs[i].ev, auth, get, arg))
			won = evs[i].id;
	if (won == NULL)
		won = evs[n - 1].id;
	free(evs);
	return won;
}

/* 1 when key k (type\x1fstate_key) is of type t. */
static int
key_of_type(const char *k, const char *t)
{
	size_t n = strlen(t);

	return strncmp(k, t, n) == 0 && k[n] == '\x1f';
}

json_t *
mstate_resolve_v1(const struct mroomver *ver, const json_t *states, mevent_get_fn get,
    void *arg)
{
	struct mstate_key	 keys[16];
	json_t			*unconf, *conf, *auth, *res, *s, *v, *ids;
	const char		*k, *won;
	size_t			 i, j, nk, phase;
	char			*kk;

	unconf = json_object();
	conf = json_object();
	auth = json_object();
	res = json_object();
	if (unconf == NULL || conf == NULL || auth == NULL || res == NULL)
		goto fail;
	/* Separate: a key with one value wherever it is is unconflicted. */
	json_array_foreach(states, i, s) {
		json_object_foreach(s, k, v) {
			json_t *u = json_object_get(unconf, k), *c = json_object_get(conf, k);

			if (c != NULL) {
				for (j = 0; j < json_array_size(c); j++)
					if (json_equal(json_array_get(c, j), v))
						break;
				if (j == json_array_size(c))
					json_array_append(c, v);
			} else if (u == NULL)
				json_object_set(unconf, k, v);
			else if (!json_equal(u, v)) {
				json_object_set_new(conf, k, json_pack("[OO]", u, v));
				json_object_del(unconf, k);
			}
		}
	}
	/* The auth state to start from: the unconflicted events the conflicted need. */
	json_object_foreach(conf, k, ids) {
		json_array_foreach(ids, i, v) {
			const json_t *ev = json_is_string(v) ? get(arg, json_string_value(v)) :
			    NULL;

			if (ev == NULL)
				continue;
			nk = mevent_auth_types(ev, ver, keys, sizeof(keys) / sizeof(keys[0]));
			for (j = 0; j < nk; j++) {
				if ((kk = mstate_key_join(keys[j].type, keys[j].state_key)) == NULL)
					goto fail;
				if (json_object_get(unconf, kk) != NULL)
					json_object_set(auth, kk, json_object_get(unconf, kk));
				free(kk);
			}
		}
	}
	/* Power levels, join rules, memberships: each phase on the ones before. */
	for (phase = 0; phase < 4; phase++) {
		json_object_foreach(conf, k, ids) {
			int mine = phase == 0 ? key_of_type(k, "m.room.power_levels") :
			    phase == 1 ? key_of_type(k, "m.room.join_rules") :
			    phase == 2 ? key_of_type(k, "m.room.member") :
			    json_object_get(res, k) == NULL;

			if (!mine || (phase < 3 && json_object_get(res, k) != NULL))
				continue;
			won = phase < 3 ? resolve_auth(ver, ids, auth, get, arg) :
			    resolve_normal(ver, ids, auth, get, arg);
			if (won != NULL)
				json_object_set_new(res, k, json_string(won));
		}
		json_object_update(auth, res);
	}
	json_object_update(unconf, res);
	json_decref(conf);
	json_decref(auth);
	json_decref(res);
	return unconf;
fail:
	json_decref(unconf);
	json_decref(conf);
	json_decref(auth);
	json_decref(res);
	return NULL;
}
