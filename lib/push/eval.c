/* Push rule evaluation: globs, property paths, conditions, rules in the spec's order. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "push/extern.h"

enum tokkind { T_CHAR, T_ANY, T_STAR };

struct tok {
	enum tokkind	 kind;
	uint32_t	 cp;
};

/*
 * Decodes one UTF-8 sequence at s (not at its NUL) into *cp.  Returns
 * the bytes used, at least 1: a malformed byte stands for itself.
 */
static size_t
utf8_next(const unsigned char *s, uint32_t *cp)
{
	size_t	 n, i;
	uint32_t c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		c = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		c = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		c = s[0] & 0x07;
	} else {
		*cp = s[0];
		return 1;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*cp = s[0];
			return 1;
		}
		c = (c << 6) | (s[i] & 0x3f);
	}
	*cp = c;
	return n;
}

/* The code points of s: a malloc'd array, *n long, or NULL. */
static uint32_t *
codepoints(const char *s, size_t *n)
{
	size_t		 len = strlen(s), i = 0;
	uint32_t	*v;

	*n = 0;
	if ((v = calloc(len + 1, sizeof(*v))) == NULL)
		return NULL;
	while (s[i] != '\0')
		i += utf8_next((const unsigned char *)s + i, &v[(*n)++]);
	return v;
}

/* "Case-insensitive" is the homeserver's to define (spec); here, ASCII. */
static uint32_t
fold(uint32_t c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Spec: a word boundary is any character not in [A-Z], [a-z], [0-9] or _. */
static int
isword(uint32_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '_';
}

/* Follows '*' matching nothing: a state before a star also stands after it. */
static void
closure(unsigned char *set, const struct tok *t, size_t m)
{
	for (size_t k = 0; k < m; k++)
		if (set[k] && t[k].kind == T_STAR)
			set[k + 1] = 1;
}

/* One character c read from every state of cur into nxt. */
static int
step(const unsigned char *cur, unsigned char *nxt, const struct tok *t, size_t m, uint32_t c)
{
	int any = 0;

	memset(nxt, 0, m + 1);
	for (size_t k = 0; k < m; k++) {
		if (!cur[k])
			continue;
		if (t[k].kind == T_STAR)
			nxt[k] = 1;
		else if (t[k].kind == T_ANY || fold(t[k].cp) == fold(c))
			nxt[k + 1] = 1;
	}
	closure(nxt, t, m);
	for (size_t k = 0; k <= m; k++)
		any |= nxt[k];
	return any;
}

/*
 * The pattern runs as a set of states (positions in it) over the value's
 * characters, so a match costs at most len(value) x len(pattern) steps
 * whatever the stars, and in word mode every start is tried in the same
 * pass.
 */
/* Whole-value match of a pattern without wildcards: most default rules' patterns. */
static int
equal_fold(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++)
		if (fold((unsigned char)*a) != fold((unsigned char)*b))
			return 0;
	return *a == *b;
}

int
mpush_glob(const char *pattern, const char *value, int word, int literal)
{
	struct tok	*t = NULL;
	uint32_t	*v = NULL, *pc = NULL;
	unsigned char	*cur = NULL, *nxt = NULL, *sw;
	size_t		 n, pn, m = 0;
	int		 rc = 0;

	if (!word && (literal || strpbrk(pattern, "*?") == NULL))
		return equal_fold(pattern, value);
	if ((v = codepoints(value, &n)) == NULL || (pc = codepoints(pattern, &pn)) == NULL ||
	    (t = calloc(pn + 1, sizeof(*t))) == NULL || (cur = calloc(pn + 1, 1)) == NULL ||
	    (nxt = calloc(pn + 1, 1)) == NULL)
		goto out;
	for (size_t i = 0; i < pn; i++) {
		if (!literal && pc[i] == '*') {
			if (m > 0 && t[m - 1].kind == T_STAR)
				continue;
			t[m++].kind = T_STAR;
		} else if (!literal && pc[i] == '?')
			t[m++].kind = T_ANY;
		else {
			t[m].kind = T_CHAR;
			t[m++].cp = pc[i];
		}
	}
	if (!word) {
		cur[0] = 1;
		closure(cur, t, m);
		for (size_t p = 0; p < n; p++) {
			if (!step(cur, nxt, t, m, v[p]))
				goto out;
			sw = cur;
			cur = nxt;
			nxt = sw;
		}
		rc = cur[m];
		goto out;
	}
	for (size_t p = 0; p <= n; p++) {
		/* A match starts after a boundary character or on one. */
		if (p == 0 || !isword(v[p - 1]) || (p < n && !isword(v[p]))) {
			cur[0] = 1;
			closure(cur, t, m);
		}
		/* ... and ends before one, or on one. */
		if (cur[m] && (p == n || !isword(v[p]) || (p > 0 && !isword(v[p - 1])))) {
			rc = 1;
			goto out;
		}
		if (p == n)
			break;
		step(cur, nxt, t, m, v[p]);
		sw = cur;
		cur = nxt;
		nxt = sw;
	}
out:
	free(v);
	free(pc);
	free(t);
	free(cur);
	free(nxt);
	return rc;
}

const json_t *
mpush_property(const json_t *event, const char *path)
{
	const json_t	*cur = event;
	char		*name, *o;
	const char	*p = path;

	if ((name = malloc(strlen(path) + 1)) == NULL)
		return NULL;
	for (;;) {
		o = name;
		while (*p != '\0' && *p != '.') {
			/* Spec: only "\." and "\\" are escapes; "\x" stays as it is. */
			if (p[0] == '\\' && (p[1] == '.' || p[1] == '\\')) {
				*o++ = p[1];
				p += 2;
			} else
				*o++ = *p++;
		}
		*o = '\0';
		cur = json_is_object(cur) ? json_object_get(cur, name) : NULL;
		if (cur == NULL)
			break;
		if (*p == '\0')
			break;
		p++;
	}
	free(name);
	return cur;
}

/* Spec: event_property_is/contains compare strings, integers, booleans and null. */
static int
scalar(const json_t *v)
{
	return json_is_string(v) || json_is_integer(v) || json_is_boolean(v) || json_is_null(v);
}

static int
scalar_equal(const json_t *a, const json_t *b)
{
	if (!scalar(a) || !scalar(b))
		return 0;
	return json_equal(a, b);
}

/* A power level: an integer, or a string of one (room versions before 10). */
static int
level_of(const json_t *v, int64_t *out)
{
	const char	*s;
	char		*end;
	long long	 n;

	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 1;
	}
	if ((s = json_string_value(v)) == NULL || *s == '\0')
		return 0;
	n = strtoll(s, &end, 10);
	if (*end != '\0')
		return 0;
	*out = n;
	return 1;
}

/* Spec: room_member_count "is": a decimal integer after ==, <, >, <= or >= (== when none). */
static int
member_count_is(const char *is, int64_t count)
{
	const char	*op = "==", *num = is;
	char		*end;
	long long	 n;

	if (strncmp(is, "==", 2) == 0 || strncmp(is, "<=", 2) == 0 ||
	    strncmp(is, ">=", 2) == 0) {
		op = is;
		num = is + 2;
	} else if (is[0] == '<' || is[0] == '>') {
		op = is;
		num = is + 1;
	}
	if (*num < '0' || *num > '9')
		return 0;
	n = strtoll(num, &end, 10);
	if (*end != '\0')
		return 0;
	if (strncmp(op, "==", 2) == 0)
		return count == n;
	if (strncmp(op, "<=", 2) == 0)
		return count <= n;
	if (strncmp(op, ">=", 2) == 0)
		return count >= n;
	return op[0] == '<' ? count < n : count > n;
}

int
mpush_cond(const json_t *cond, const struct mpush_user *u, const struct mpush_event *e,
    int dflt)
{
	const char	*kind = push_str(cond, "kind");
	const char	*key = json_string_value(json_object_get(cond, "key"));
	const json_t	*want = json_object_get(cond, "value"), *v, *x;
	json_t		*me = NULL;
	int		 rc = 0;
	size_t		 i;

	/* A server-default rule names its owner by a placeholder. */
	if (dflt && json_is_string(want) && strcmp(json_string_value(want), MPUSH_ME) == 0)
		want = me = json_string(u->user_id);
	if (strcmp(kind, "event_match") == 0) {
		const char *pat = json_string_value(json_object_get(cond, "pattern"));

		if (dflt && pat != NULL && strcmp(pat, MPUSH_ME) == 0)
			pat = u->user_id;
		/* Spec: an absent or non-string property never matches, even "*". */
		v = key != NULL ? mpush_property(e->event, key) : NULL;
		if (pat != NULL && json_is_string(v))
			rc = mpush_glob(pat, json_string_value(v), strcmp(key, "content.body") == 0,
			    0);
	} else if (strcmp(kind, "event_property_is") == 0) {
		if (key != NULL && want != NULL && (v = mpush_property(e->event, key)) != NULL)
			rc = scalar_equal(v, want);
	} else if (strcmp(kind, "event_property_contains") == 0) {
		v = key != NULL ? mpush_property(e->event, key) : NULL;
		if (want != NULL && json_is_array(v))
			json_array_foreach(v, i, x)
				if (scalar_equal(x, want)) {
					rc = 1;
					break;
				}
	} else if (strcmp(kind, "contains_display_name") == 0) {
		/* Deprecated (v1.17), still a condition user rules may hold. */
		v = mpush_property(e->event, "content.body");
		if (u->display_name != NULL && *u->display_name != '\0' && json_is_string(v))
			rc = mpush_glob(u->display_name, json_string_value(v), 1, 1);
	} else if (strcmp(kind, "room_member_count") == 0) {
		const char *is = json_string_value(json_object_get(cond, "is"));

		rc = is != NULL && member_count_is(is, e->member_count);
	} else if (strcmp(kind, "sender_notification_permission") == 0) {
		int64_t need = 50;

		/* Spec: m.room.power_levels: notifications.room defaults to 50. */
		if (key != NULL) {
			x = json_object_get(json_object_get(e->power_levels, "notifications"), key);
			if (x != NULL && !level_of(x, &need))
				need = 50;
			rc = e->sender_power >= need;
		}
	}
	json_decref(me);
	return rc;
}

static int
rule_matches(int kind, const json_t *r, const struct mpush_user *u,
    const struct mpush_event *e, int dflt)
{
	const json_t	*conds, *c, *v;
	const char	*id = push_str(r, "rule_id");
	size_t		 i;

	switch (kind) {
	case MPUSH_OVERRIDE:
	case MPUSH_UNDERRIDE:
		/* Spec: a rule with no conditions always matches. */
		if ((conds = json_object_get(r, "conditions")) == NULL)
			return 1;
		if (!json_is_array(conds))
			return 0;
		json_array_foreach(conds, i, c)
			if (!mpush_cond(c, u, e, dflt))
				return 0;
		return 1;
	case MPUSH_CONTENT:
		v = mpush_property(e->event, "content.body");
		return json_is_string(v) && json_is_string(json_object_get(r, "pattern")) &&
		    mpush_glob(push_str(r, "pattern"), json_string_value(v), 1, 0);
	case MPUSH_ROOM:
		return strcmp(id, push_str(e->event, "room_id")) == 0;
	case MPUSH_SENDER:
		return strcmp(id, push_str(e->event, "sender")) == 0;
	default:
		return 0;
	}
}

const json_t *
mpush_eval(const json_t *defaults, const json_t *userset, const struct mpush_user *u,
    const struct mpush_event *e, const char **rule_id)
{
	const json_t *tweaks = json_object_get(userset, "defaults");

	for (int k = 0; k < MPUSH__MAX; k++) {
		const json_t	*dl = json_object_get(defaults, mpush_kinds[k]);
		const json_t	*ul = json_object_get(userset, mpush_kinds[k]), *r;
		size_t		 i;

		/*
		 * Spec: .m.rule.master comes first, then the user's rules of a
		 * kind before the server's.  pass 0: master, 1: the user's, 2:
		 * the server's others.
		 */
		for (int pass = 0; pass < 3; pass++) {
			json_array_foreach(pass == 1 ? ul : dl, i, r) {
				const char	*id = push_str(r, "rule_id");
				const json_t	*t = NULL, *en, *acts;
				int		 master = strcmp(id, ".m.rule.master") == 0;

				if ((pass == 0 && !master) || (pass == 2 && master))
					continue;
				if (pass != 1)
					t = json_object_get(tweaks, id);
				en = t != NULL && json_is_boolean(json_object_get(t, "enabled")) ?
				    json_object_get(t, "enabled") : json_object_get(r, "enabled");
				if (!json_is_true(en) || !rule_matches(k, r, u, e, pass != 1))
					continue;
				acts = t != NULL && json_is_array(json_object_get(t, "actions")) ?
				    json_object_get(t, "actions") : json_object_get(r, "actions");
				if (rule_id != NULL)
					*rule_id = id;
				return acts;
			}
		}
	}
	return NULL;
}

int
mpush_actions_notify(const json_t *actions)
{
	const json_t	*a;
	size_t		 i;

	json_array_foreach(actions, i, a)
		if (json_is_string(a) && strcmp(json_string_value(a), "notify") == 0)
			return 1;
	return 0;
}

int
mpush_actions_highlight(const json_t *actions)
{
	const json_t	*a, *v;
	size_t		 i;

	json_array_foreach(actions, i, a)
		if (strcmp(push_str(a, "set_tweak"), "highlight") == 0) {
			/* Spec: a highlight tweak without a value is true. */
			v = json_object_get(a, "value");
			return v == NULL || json_is_true(v);
		}
	return 0;
}

json_t *
mpush_actions_clean(const json_t *actions)
{
	const json_t	*a;
	json_t		*out;
	size_t		 i;

	if (!json_is_array(actions) || (out = json_array()) == NULL)
		return NULL;
	json_array_foreach(actions, i, a) {
		const char *s = json_string_value(a);

		/* Spec: "Historical Actions": dont_notify and coalesce are ignored. */
		if (s != NULL && (strcmp(s, "dont_notify") == 0 || strcmp(s, "coalesce") == 0))
			continue;
		if ((s != NULL && strcmp(s, "notify") == 0) ||
		    (json_is_object(a) && json_is_string(json_object_get(a, "set_tweak"))))
			json_array_append(out, (json_t *)a);
		else {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}
