/* State resolution v2 (room versions 2 to 11) and its v12 revision. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "events/events.h"
#include "json/json.h"
#include "log/log.h"

/* Sets are JSON objects: event ID -> true. */
#define SET_ADD(set, id)	json_object_set_new((set), (id), json_true())
#define SET_HAS(set, id)	(json_object_get((set), (id)) != NULL)

/* A mainline position greater than any real one (the spec's infinity). */
#define POS_INF			SIZE_MAX

/* One resolution in progress. */
struct sres {
	const struct mroomver	*ver;
	mevent_get_fn		 get;
	void			*arg;
	/*
	 * Spec: v12 "State resolution" note 1: iterative auth checks start
	 * from an empty state map, and note 2-3: the conflicted state
	 * subgraph joins the full conflicted set.  The version table has no
	 * flag of its own for this revision; v12 is the only version with
	 * create_room_id, and it is what the revision ships with.
	 */
	int			 v21;
};

/* An event being sorted, with what its order depends on. */
struct sev {
	const char	*id;		/* borrowed from a set's key */
	const json_t	*ev;
	int64_t		 power;		/* sender's, under its auth events */
	int64_t		 ts;		/* origin_server_ts */
	size_t		 pos;		/* mainline position */
	size_t		 indeg;		/* Kahn: unsorted ancestors left */
	int		 done;
};

/* State lookups for the auth rules: partial state, then ev's auth events. */
struct lookup {
	struct sres	*s;
	const json_t	*state;		/* state map, or NULL: auth events only */
	const json_t	*ev;
};

/* The event with this ID (borrowed), logging when the caller lacks it. */
static const json_t *
fetch(struct sres *s, const char *id)
{
	const json_t	*ev;

	if (id == NULL)
		return NULL;
	if ((ev = s->get(s->arg, id)) == NULL)
		mlog_warn(NULL, "%s: event %s is unknown", __func__, id);
	return ev;
}

/*
 * The ID in one entry of prev_events or auth_events: a string from v3
 * on, an [event_id, hashes] pair in v1 and v2.  Borrowed, or NULL.
 */
static const char *
ref_id(const json_t *ref)
{
	if (json_is_array(ref))
		ref = json_array_get(ref, 0);
	return json_is_string(ref) ? json_string_value(ref) : NULL;
}

static int
streq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/*
 * Spec: v12 appendices, "Room IDs": the room ID is the create event's
 * ID with "!" for "$"; this fetches that create event, or NULL.
 */
static const json_t *
create_of_room(struct sres *s, const json_t *ev)
{
	const char	*room_id;
	char		*id;
	const json_t	*create;

	if ((room_id = mjson_str(ev, "room_id")) == NULL || room_id[0] != '!')
		return NULL;
	if ((id = strdup(room_id)) == NULL)
		return NULL;
	id[0] = '$';
	create = fetch(s, id);
	free(id);
	return create;
}

/*
 * The event among ev's auth_events with this type and state key
 * (borrowed), or NULL.  From v12 the create event is not among them,
 * and room_id names it instead.
 */
static const json_t *
auth_event_of(struct sres *s, const json_t *ev, const char *type,
    const char *state_key)
{
	const json_t	*ref, *ae;
	size_t		 i;

	json_array_foreach(json_object_get(ev, "auth_events"), i, ref) {
		if ((ae = fetch(s, ref_id(ref))) == NULL)
			continue;
		if (streq(mjson_str(ae, "type"), type) &&
		    streq(mjson_str(ae, "state_key"), state_key))
			return ae;
	}
	if (s->ver->create_room_id && strcmp(type, "m.room.create") == 0)
		return create_of_room(s, ev);
	return NULL;
}

/*
 * mstate_get_fn for the auth rules.  Spec: "Iterative auth checks": "If
 * a (event_type, state_key) key that is required for checking the
 * authorisation rules is not present in the state, then the appropriate
 * state event from the event's auth_events is used".  XXX The spec adds
 * "if the auth event is not rejected"; get() gives no rejection status,
 * and the spec notes that events rejected against their auth chain
 * should not be in the graph at all.
 */
static const json_t *
lookup_get(void *arg, const char *type, const char *state_key)
{
	struct lookup	*l = arg;
	const char	*id;
	char		*key;

	if (l->state != NULL) {
		if ((key = mstate_key_join(type, state_key)) == NULL)
			return NULL;
		id = mjson_str(l->state, key);
		free(key);
		if (id != NULL)
			return fetch(l->s, id);
	}
	return auth_event_of(l->s, l->ev, type, state_key);
}

/*
 * Spec: "Auth chain": the events reachable from the seeds' auth_events,
 * seeds excluded unless reachable.  seeds is an object whose values are
 * event IDs (a state map) or whose keys are (a set): keys_are_ids says
 * which.  Returns a new set, or NULL when an event is unknown.
 */
static json_t *
auth_chain(struct sres *s, const json_t *seeds, int keys_are_ids)
{
	json_t		*chain = NULL, *todo = NULL;
	const json_t	*ev, *v, *ref;
	const char	*key, *id;
	size_t		 i;

	if ((chain = json_object()) == NULL || (todo = json_array()) == NULL)
		goto fail;
	json_object_foreach((json_t *)seeds, key, v) {
		id = keys_are_ids ? key : json_string_value(v);
		if ((ev = fetch(s, id)) == NULL)
			goto fail;
		json_array_foreach(json_object_get(ev, "auth_events"), i, ref)
			if (ref_id(ref) != NULL &&
			    json_array_append_new(todo,
			    json_string(ref_id(ref))) == -1)
				goto fail;
	}
	while (json_array_size(todo) > 0) {
		i = json_array_size(todo) - 1;
		id = json_string_value(json_array_get(todo, i));
		if (SET_HAS(chain, id)) {
			json_array_remove(todo, i);
			continue;
		}
		if (SET_ADD(chain, id) == -1 || (ev = fetch(s, id)) == NULL)
			goto fail;
		json_array_remove(todo, i);
		json_array_foreach(json_object_get(ev, "auth_events"), i, ref)
			if (ref_id(ref) != NULL && !SET_HAS(chain, ref_id(ref)) &&
			    json_array_append_new(todo,
			    json_string(ref_id(ref))) == -1)
				goto fail;
	}
	json_decref(todo);
	return chain;
fail:
	json_decref(todo);
	json_decref(chain);
	return NULL;
}

/* The auth chain of the one event id: a new set, or NULL. */
static json_t *
auth_chain_of(struct sres *s, const char *id)
{
	json_t	*seed, *chain;

	if ((seed = json_object()) == NULL || SET_ADD(seed, id) == -1) {
		json_decref(seed);
		return NULL;
	}
	chain = auth_chain(s, seed, 1);
	json_decref(seed);
	return chain;
}

/*
 * Spec: v12 "Conflicted state subgraph": the events on auth_events
 * paths between two events of the conflicted set, endpoints included.
 * Walks down from every conflicted event and keeps those events that
 * lead on to a conflicted one.  Adds them to fcs; 0 or -1.
 */
static int
conflicted_subgraph(struct sres *s, const json_t *conflicted, json_t *fcs)
{
	enum { SEEN = 1, NO, YES };
	json_t		*memo = NULL, *stack = NULL;
	const json_t	*ev, *ref, *st;
	const char	*start, *id, *cid;
	void		*it;
	size_t		 i, top;
	int		 reach, rc = -1;

	if ((memo = json_object()) == NULL || (stack = json_array()) == NULL)
		goto out;
	for (it = json_object_iter((json_t *)conflicted); it != NULL;
	    it = json_object_iter_next((json_t *)conflicted, it)) {
		start = json_object_iter_key(it);
		if (json_array_append_new(stack, json_string(start)) == -1)
			goto out;
		/* Iterative post-order walk: a node is decided after its children. */
		while ((top = json_array_size(stack)) > 0) {
			id = json_string_value(json_array_get(stack, top - 1));
			st = json_object_get(memo, id);
			if (st != NULL && json_integer_value(st) != SEEN) {
				json_array_remove(stack, top - 1);
				continue;
			}
			if ((ev = fetch(s, id)) == NULL)
				goto out;
			if (st == NULL) {
				if (json_object_set_new(memo, id,
				    json_integer(SEEN)) == -1)
					goto out;
				json_array_foreach(json_object_get(ev,
				    "auth_events"), i, ref) {
					cid = ref_id(ref);
					if (cid != NULL &&
					    json_object_get(memo, cid) == NULL &&
					    json_array_append_new(stack,
					    json_string(cid)) == -1)
						goto out;
				}
				continue;
			}
			/* Children decided; one still SEEN would be a cycle. */
			reach = SET_HAS(conflicted, id);
			json_array_foreach(json_object_get(ev, "auth_events"),
			    i, ref)
				if ((cid = ref_id(ref)) != NULL &&
				    json_integer_value(json_object_get(memo,
				    cid)) == YES)
					reach = 1;
			if (json_object_set_new(memo, id,
			    json_integer(reach ? YES : NO)) == -1)
				goto out;
			if (reach && SET_ADD(fcs, id) == -1)
				goto out;
			json_array_remove(stack, json_array_size(stack) - 1);
		}
	}
	rc = 0;
out:
	json_decref(stack);
	json_decref(memo);
	return rc;
}

/*
 * Spec: "Power events": m.room.power_levels, m.room.join_rules, and
 * m.room.member leave or ban sent by someone other than the target.
 */
static int
is_power_event(const json_t *ev)
{
	const char	*type, *state_key, *membership;

	type = mjson_str(ev, "type");
	if ((state_key = mjson_str(ev, "state_key")) == NULL || type == NULL)
		return 0;
	if (strcmp(type, "m.room.power_levels") == 0 ||
	    strcmp(type, "m.room.join_rules") == 0)
		return 1;
	if (strcmp(type, "m.room.member") != 0)
		return 0;
	membership = mjson_str(json_object_get(ev, "content"), "membership");
	return (streq(membership, "leave") || streq(membership, "ban")) &&
	    !streq(mjson_str(ev, "sender"), state_key);
}

static int64_t
ts_of(const json_t *ev)
{
	return json_integer_value(json_object_get(ev, "origin_server_ts"));
}

/*
 * Spec: "Reverse topological power ordering", x < y: the greater
 * sender power level first, then the smaller origin_server_ts, then the
 * smaller event_id.
 */
static int
power_cmp(const struct sev *x, const struct sev *y)
{
	int	 c;

	if (x->power != y->power)
		return x->power > y->power ? -1 : 1;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	c = strcmp(x->id, y->id);
	return c < 0 ? -1 : c > 0;
}

/*
 * Sorts the set x into out (a JSON array of IDs) by the reverse
 * topological power ordering: Kahn's algorithm over the auth DAG,
 * taking the smallest ready event at each step.  An event's ancestors
 * are its whole auth chain within x, so paths that leave x still order
 * it.  XXX Quadratic in |x|: fine for the power events of a fork, not
 * for a whole room.  0 or -1.
 */
static int
sort_power(struct sres *s, const json_t *x, json_t *out)
{
	struct sev	*v = NULL;
	struct lookup	 l;
	json_t		*chain;
	unsigned char	*anc = NULL;	/* anc[i * n + j]: j in chain of i */
	const char	*id;
	size_t		 n, i, j, k, best;
	void		*it;
	int		 rc = -1;

	if ((n = json_object_size(x)) == 0)
		return 0;
	if ((v = calloc(n, sizeof(*v))) == NULL ||
	    (anc = calloc(n, n)) == NULL)
		goto out;
	for (i = 0, it = json_object_iter((json_t *)x); it != NULL;
	    it = json_object_iter_next((json_t *)x, it), i++) {
		v[i].id = json_object_iter_key(it);
		if ((v[i].ev = fetch(s, v[i].id)) == NULL)
			goto out;
		/* Spec: "when looking at their respective auth_events". */
		l.s = s;
		l.state = NULL;
		l.ev = v[i].ev;
		v[i].power = mevent_user_power(s->ver, lookup_get, &l,
		    mjson_str(v[i].ev, "sender"));
		v[i].ts = ts_of(v[i].ev);
	}
	for (i = 0; i < n; i++) {
		if ((chain = auth_chain_of(s, v[i].id)) == NULL)
			goto out;
		for (j = 0; j < n; j++)
			if (j != i && SET_HAS(chain, v[j].id)) {
				anc[i * n + j] = 1;
				v[i].indeg++;
			}
		json_decref(chain);
	}
	for (k = 0; k < n; k++) {
		best = n;
		for (i = 0; i < n; i++)
			if (!v[i].done && v[i].indeg == 0 &&
			    (best == n || power_cmp(&v[i], &v[best]) < 0))
				best = i;
		if (best == n) {
			mlog_warn(NULL, "%s: auth events form a cycle",
			    __func__);
			goto out;
		}
		v[best].done = 1;
		id = v[best].id;
		if (json_array_append_new(out, json_string(id)) == -1)
			goto out;
		for (i = 0; i < n; i++)
			if (anc[i * n + best])
				v[i].indeg--;
	}
	rc = 0;
out:
	free(anc);
	free(v);
	return rc;
}

/*
 * The ID of the m.room.power_levels event among ev's auth events
 * (borrowed), or NULL.
 */
static const char *
pl_parent(struct sres *s, const json_t *ev)
{
	const json_t	*ref, *ae;
	size_t		 i;

	json_array_foreach(json_object_get(ev, "auth_events"), i, ref) {
		if ((ae = fetch(s, ref_id(ref))) == NULL)
			continue;
		if (streq(mjson_str(ae, "type"), "m.room.power_levels") &&
		    streq(mjson_str(ae, "state_key"), ""))
			return ref_id(ref);
	}
	return NULL;
}

/*
 * Spec: "Mainline ordering", x < y: the greater mainline position
 * first, then the smaller origin_server_ts, then the smaller event_id.
 */
static int
mainline_cmp(const void *a, const void *b)
{
	const struct sev	*x = a, *y = b;
	int			 c;

	if (x->pos != y->pos)
		return x->pos > y->pos ? -1 : 1;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	c = strcmp(x->id, y->id);
	return c < 0 ? -1 : c > 0;
}

/*
 * Sorts the IDs in the set rest into out by the mainline ordering based
 * on the power levels event of state (none: every position is infinite).
 * 0 or -1.
 */
static int
sort_mainline(struct sres *s, const json_t *state, const json_t *rest,
    json_t *out)
{
	struct sev	*v = NULL;
	json_t		*mainline = NULL, *seen = NULL;
	const json_t	*ev, *pos;
	const char	*p;
	size_t		 n, i, idx;
	void		*it;
	int		 rc = -1;

	if ((mainline = json_object()) == NULL)
		goto out;
	/* The mainline of P: P0, then each one's power levels auth event. */
	p = mjson_str(state, "m.room.power_levels\x1f");
	for (idx = 0; p != NULL && !SET_HAS(mainline, p); idx++) {
		if ((ev = fetch(s, p)) == NULL ||
		    json_object_set_new(mainline, p, json_integer(
		    (json_int_t)idx)) == -1)
			goto out;
		p = pl_parent(s, ev);
	}
	if ((n = json_object_size(rest)) == 0) {
		rc = 0;
		goto out;
	}
	if ((v = calloc(n, sizeof(*v))) == NULL)
		goto out;
	for (i = 0, it = json_object_iter((json_t *)rest); it != NULL;
	    it = json_object_iter_next((json_t *)rest, it), i++) {
		v[i].id = json_object_iter_key(it);
		if ((v[i].ev = fetch(s, v[i].id)) == NULL)
			goto out;
		v[i].ts = ts_of(v[i].ev);
		v[i].pos = POS_INF;
		/* e1, e2, ...: e0 itself is not looked up in the mainline. */
		json_decref(seen);
		if ((seen = json_object()) == NULL)
			goto out;
		for (ev = v[i].ev; (p = pl_parent(s, ev)) != NULL &&
		    !SET_HAS(seen, p); ) {
			if ((pos = json_object_get(mainline, p)) != NULL) {
				v[i].pos = (size_t)json_integer_value(pos);
				break;
			}
			if (SET_ADD(seen, p) == -1 || (ev = fetch(s, p)) == NULL)
				goto out;
		}
	}
	qsort(v, n, sizeof(*v), mainline_cmp);
	for (i = 0; i < n; i++)
		if (json_array_append_new(out, json_string(v[i].id)) == -1)
			goto out;
	rc = 0;
out:
	json_decref(seen);
	json_decref(mainline);
	free(v);
	return rc;
}

/*
 * Spec: "Iterative auth checks": applies each state event of the list
 * ids to state when the auth rules allow it against state.  0 or -1.
 */
static int
iterative_auth(struct sres *s, json_t *state, const json_t *ids)
{
	struct lookup	 l;
	const json_t	*ev, *v;
	const char	*id, *type, *state_key;
	char		 why[256], *key;
	size_t		 i;
	int		 rc;

	json_array_foreach(ids, i, v) {
		id = json_string_value(v);
		if ((ev = fetch(s, id)) == NULL)
			return -1;
		type = mjson_str(ev, "type");
		if ((state_key = mjson_str(ev, "state_key")) == NULL ||
		    type == NULL)
			continue;
		l.s = s;
		l.state = state;
		l.ev = ev;
		if (!mevent_auth_check(ev, s->ver, lookup_get, &l, why,
		    sizeof(why))) {
			mlog_debug(NULL, "%s: %s not applied: %s", __func__,
			    id, why);
			continue;
		}
		if ((key = mstate_key_join(type, state_key)) == NULL)
			return -1;
		rc = json_object_set_new(state, key, json_string(id));
		free(key);
		if (rc == -1)
			return -1;
	}
	return 0;
}

/*
 * Spec: room versions 2 to 11, "State resolution", "Algorithm"; room
 * version 12, the same with its three changes (see struct sres).
 * Room version 1 uses state resolution v1, which is left out: myelin
 * creates rooms in recent versions, and joining v1 rooms over
 * federation is out of scope for now.  Returns NULL for it, with a log
 * line, as for unknown events and allocation failures.
 */
json_t *
mstate_resolve(const struct mroomver *ver, const json_t *states,
    mevent_get_fn get, void *arg)
{
	struct sres	 s;
	json_t		*unconflicted = NULL, *conflicted = NULL, *seen = NULL;
	json_t		*counts = NULL, *fcs = NULL, *x = NULL, *rest = NULL;
	json_t		*list = NULL, *state = NULL, *chain, *result = NULL;
	const json_t	*si, *sj, *v, *vj, *ev;
	const char	*key, *id, *cid;
	size_t		 n, i, j, same;
	void		*it;

	if (ver == NULL || get == NULL || !json_is_array(states))
		return NULL;
	if (!ver->state_res_v2) {
		mlog_warn(NULL, "%s: room version %s needs state resolution "
		    "v1, which is not implemented", __func__, ver->id);
		return NULL;
	}
	s.ver = ver;
	s.get = get;
	s.arg = arg;
	s.v21 = ver->create_room_id;
	n = json_array_size(states);
	json_array_foreach(states, i, si)
		if (!json_is_object(si))
			return NULL;

	/* Spec: "Unconflicted state map and conflicted state set". */
	if ((unconflicted = json_object()) == NULL ||
	    (conflicted = json_object()) == NULL || (seen = json_object()) == NULL)
		goto out;
	json_array_foreach(states, i, si) {
		json_object_foreach((json_t *)si, key, v) {
			if (SET_HAS(seen, key))
				continue;
			if (SET_ADD(seen, key) == -1 || !json_is_string(v))
				goto out;
			same = 0;
			json_array_foreach(states, j, sj)
				if (json_equal(json_object_get(sj, key), v))
					same++;
			if (same == n) {
				if (json_object_set(unconflicted, key,
				    (json_t *)v) == -1)
					goto out;
				continue;
			}
			json_array_foreach(states, j, sj)
				if (json_is_string(vj = json_object_get(sj,
				    key)) && SET_ADD(conflicted,
				    json_string_value(vj)) == -1)
					goto out;
		}
	}
	if (json_object_size(conflicted) == 0) {
		result = unconflicted;
		unconflicted = NULL;
		goto out;
	}

	/* Spec: "Auth difference": in some full auth chain, not in all. */
	if ((counts = json_object()) == NULL || (fcs = json_object()) == NULL)
		goto out;
	json_array_foreach(states, i, si) {
		if ((chain = auth_chain(&s, si, 0)) == NULL)
			goto out;
		json_object_foreach(chain, cid, v)
			if (json_object_set_new(counts, cid, json_integer(
			    json_integer_value(json_object_get(counts, cid)) +
			    1)) == -1) {
				json_decref(chain);
				goto out;
			}
		json_decref(chain);
	}
	json_object_foreach(counts, cid, v)
		if ((size_t)json_integer_value(v) < n && SET_ADD(fcs, cid) == -1)
			goto out;

	/* Spec: "Full conflicted set". */
	if (json_object_update(fcs, conflicted) == -1)
		goto out;
	if (s.v21 && conflicted_subgraph(&s, conflicted, fcs) == -1)
		goto out;

	/* Algorithm step 1: power events and their auth chains within fcs. */
	if ((x = json_object()) == NULL)
		goto out;
	json_object_foreach(fcs, id, v) {
		if ((ev = fetch(&s, id)) == NULL)
			goto out;
		if (!is_power_event(ev))
			continue;
		if (SET_ADD(x, id) == -1 ||
		    (chain = auth_chain_of(&s, id)) == NULL)
			goto out;
		for (it = json_object_iter(chain); it != NULL;
		    it = json_object_iter_next(chain, it)) {
			cid = json_object_iter_key(it);
			if (SET_HAS(fcs, cid) && SET_ADD(x, cid) == -1) {
				json_decref(chain);
				goto out;
			}
		}
		json_decref(chain);
	}
	if ((list = json_array()) == NULL || sort_power(&s, x, list) == -1)
		goto out;

	/* Step 2. */
	state = s.v21 ? json_object() : json_copy(unconflicted);
	/* json_copy drops what it cannot allocate, and returns the rest. */
	if (state != NULL && !s.v21 && json_object_size(state) != json_object_size(unconflicted))
		goto out;
	if (state == NULL || iterative_auth(&s, state, list) == -1)
		goto out;

	/*
	 * Steps 3 and 4: the rest of fcs, by mainline ordering.  In v12
	 * the partial state holds only what step 2 applied: when no power
	 * levels event was in X, it has none, and every position is
	 * infinite.  The spec says "the power level in the partially
	 * resolved state obtained in step 2", and that is what this uses.
	 */
	if ((rest = json_object()) == NULL)
		goto out;
	json_object_foreach(fcs, id, v)
		if (!SET_HAS(x, id) && SET_ADD(rest, id) == -1)
			goto out;
	json_array_clear(list);
	if (sort_mainline(&s, state, rest, list) == -1 ||
	    iterative_auth(&s, state, list) == -1)
		goto out;

	/* Step 5. */
	if (json_object_update(state, unconflicted) == -1)
		goto out;
	result = state;
	state = NULL;
out:
	json_decref(state);
	json_decref(list);
	json_decref(rest);
	json_decref(x);
	json_decref(fcs);
	json_decref(counts);
	json_decref(seen);
	json_decref(conflicted);
	json_decref(unconflicted);
	if (result == NULL)
		mlog_warn(NULL, "%s: state resolution failed", __func__);
	return result;
}
