/* Push rule evaluation: globs, property paths, conditions, rules in the spec's order. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "push/extern.h"

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

/* Whole-value match of a pattern without wildcards: most default rules' patterns. */
static int
equal_fold(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++)
		if (fold((unsigned char)*a) != fold((unsigned char)*b))
			return 0;
	return *a == *b;
}

/*
 * The pattern as an automaton whose states are its positions 0..m (m:
 * all of it matched), one bit each in words machine words (a Shift-And
 * automaton).  A character moves every state at once: the states
 * before a token it matches shift one bit up, those before a star stay,
 * and a star also lets its state through unmatched.  So a character
 * costs a few words whatever the stars (at most GLOB_WORDS, as patterns
 * are bounded), and a match is linear in the value: no backtracking.
 */
#define GLOB_WORDS	((MPUSH_PATTERN_MAX + 1 + 63) / 64)

struct globchar {
	uint32_t	 cp;		/* first: other_cmp compares it */
	size_t		 k;
};

struct glob {
	size_t		 m, words;
	uint64_t	*star;		/* states before a '*' */
	uint64_t	*any;		/* states before a '?' */
	uint64_t	*ascii;		/* [128][words]: before a character, folded */
	struct globchar	*other;		/* ... and past ASCII, sorted by cp */
	size_t		 othersz;
};

/* Set by mpush_glob_steps for the unit tests only. */
static _Thread_local uint64_t *glob_steps;

static int
other_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void
bit_set(uint64_t *v, size_t k)
{
	v[k / 64] |= UINT64_C(1) << (k % 64);
}

static int
bit_get(const uint64_t *v, size_t k)
{
	return (v[k / 64] >> (k % 64)) & 1;
}

/* The characters of s, counted up to one past MPUSH_PATTERN_MAX. */
static size_t
glob_chars(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	uint32_t		 c;
	size_t			 n = 0;

	for (; *p != '\0' && n <= MPUSH_PATTERN_MAX; n++)
		p += utf8_next(p, &c);
	return n;
}

int
mpush_pattern_check(const char *pattern)
{
	return glob_chars(pattern) <= MPUSH_PATTERN_MAX;
}

/*
 * Compiles pattern into g (free g->star).  0, or -1 when it is longer
 * than MPUSH_PATTERN_MAX characters (such a pattern matches nothing) or
 * memory ran out.
 */
static int
glob_compile(struct glob *g, const char *pattern, int literal)
{
	const unsigned char	*p;
	uint32_t		 c;
	size_t			 n = 0;
	int			 star = 0;

	memset(g, 0, sizeof(*g));
	if ((n = glob_chars(pattern)) > MPUSH_PATTERN_MAX)
		return -1;
	g->words = n / 64 + 1;
	if ((g->star = calloc(g->words * 130 + (n + 1) * 2, sizeof(uint64_t))) == NULL)
		return -1;
	g->any = g->star + g->words;
	g->ascii = g->any + g->words;
	g->other = (struct globchar *)(g->ascii + 128 * g->words);
	for (p = (const unsigned char *)pattern; *p != '\0';) {
		p += utf8_next(p, &c);
		/* Runs of stars are one star: no two star states side by side. */
		if (!literal && c == '*') {
			if (!star)
				bit_set(g->star, g->m++);
			star = 1;
			continue;
		}
		star = 0;
		if (!literal && c == '?')
			bit_set(g->any, g->m);
		else if ((c = fold(c)) < 128)
			bit_set(g->ascii + c * g->words, g->m);
		else {
			g->other[g->othersz].cp = c;
			g->other[g->othersz++].k = g->m;
		}
		g->m++;
	}
	qsort(g->other, g->othersz, sizeof(g->other[0]), other_cmp);
	return 0;
}

/* cur |= the states a star lets through unmatched (stars never adjoin). */
static void
glob_closure(const struct glob *g, uint64_t *cur)
{
	uint64_t carry = 0;

	for (size_t w = 0; w < g->words; w++) {
		uint64_t s = cur[w] & g->star[w];

		cur[w] |= (s << 1) | carry;
		carry = s >> 63;
	}
}

/* Moves the states of cur over character c.  0 when none is left. */
static int
glob_step(const struct glob *g, uint64_t *cur, uint32_t c)
{
	uint64_t	 match[GLOB_WORDS], carry = 0, left = 0;
	size_t		 lo = 0, hi = g->othersz;

	c = fold(c);
	if (c < 128)
		memcpy(match, g->ascii + c * g->words, g->words * sizeof(match[0]));
	else {
		memset(match, 0, sizeof(match));
		/* The first entry of c, then every entry of c. */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (g->other[mid].cp < c)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (; lo < g->othersz && g->other[lo].cp == c; lo++)
			bit_set(match, g->other[lo].k);
	}
	for (size_t w = 0; w < g->words; w++) {
		uint64_t adv = cur[w] & (match[w] | g->any[w]);

		cur[w] = (adv << 1) | carry | (cur[w] & g->star[w]);
		carry = adv >> 63;
		left |= cur[w];
	}
	if (glob_steps != NULL)
		*glob_steps += g->words;
	glob_closure(g, cur);
	return left != 0;
}

int
mpush_glob_steps(const char *pattern, const char *value, int word, int literal,
    uint64_t *steps)
{
	int rc;

	glob_steps = steps;
	rc = mpush_glob(pattern, value, word, literal);
	glob_steps = NULL;
	return rc;
}

int
mpush_glob(const char *pattern, const char *value, int word, int literal)
{
	struct glob		 g;
	uint64_t		 cur[GLOB_WORDS];
	const unsigned char	*v = (const unsigned char *)value;
	uint32_t		 c = 0, prev = 0;
	size_t			 len;
	int			 rc = 0, first = 1, end;

	if (!word && (literal || strpbrk(pattern, "*?") == NULL)) {
		if (glob_chars(pattern) > MPUSH_PATTERN_MAX)
			return 0;
		return equal_fold(pattern, value);
	}
	if (glob_compile(&g, pattern, literal) == -1)
		return 0;
	memset(cur, 0, sizeof(cur));
	if (!word) {
		bit_set(cur, 0);
		glob_closure(&g, cur);
		for (; *v != '\0'; v += len) {
			len = utf8_next(v, &c);
			if (!glob_step(&g, cur, c))
				goto out;
		}
		rc = bit_get(cur, g.m);
		goto out;
	}
	/* Every start is tried in the same pass: state 0 joins at each boundary. */
	for (;; first = 0, prev = c, v += len) {
		end = *v == '\0';
		len = end ? 0 : utf8_next(v, &c);
		/* A match starts after a boundary character or on one ... */
		if (first || !isword(prev) || (!end && !isword(c))) {
			bit_set(cur, 0);
			glob_closure(&g, cur);
		}
		/* ... and ends before one, or on one. */
		if (bit_get(cur, g.m) && (end || !isword(c) || (!first && !isword(prev)))) {
			rc = 1;
			goto out;
		}
		if (end)
			break;
		glob_step(&g, cur, c);
	}
out:
	free(g.star);
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
	case MPUSH_CONTENT: {
		const char	*pat = json_string_value(json_object_get(r, "pattern"));
		const char	*colon;
		char		 local[256];

		/* A server-default rule names its owner's localpart by a placeholder. */
		if (dflt && pat != NULL && strcmp(pat, MPUSH_LOCALPART) == 0) {
			if (u->user_id[0] != '@' || (colon = strchr(u->user_id, ':')) == NULL ||
			    (size_t)(colon - u->user_id) > sizeof(local))
				return 0;
			memcpy(local, u->user_id + 1, (size_t)(colon - u->user_id - 1));
			local[colon - u->user_id - 1] = '\0';
			pat = local;
		}
		v = mpush_property(e->event, "content.body");
		return json_is_string(v) && pat != NULL &&
		    mpush_glob(pat, json_string_value(v), 1, 0);
	}
	case MPUSH_ROOM:
		return strcmp(id, push_str(e->event, "room_id")) == 0;
	case MPUSH_SENDER:
		return strcmp(id, push_str(e->event, "sender")) == 0;
	default:
		return 0;
	}
}

/*
 * Spec v1.7-v1.16 (MSC3952): the legacy mention rules, which look in the
 * body, do not apply to an event whose content has m.mentions.
 */
int
mpush_legacy_mention_rule(const char *rule_id)
{
	return strcmp(rule_id, ".m.rule.contains_display_name") == 0 ||
	    strcmp(rule_id, ".m.rule.contains_user_name") == 0 ||
	    strcmp(rule_id, ".m.rule.roomnotif") == 0;
}

const json_t *
mpush_eval(const json_t *defaults, const json_t *userset, const struct mpush_user *u,
    const struct mpush_event *e, const char **rule_id)
{
	const json_t	*tweaks = json_object_get(userset, "defaults");
	int		 mentions = json_object_get(json_object_get(e->event, "content"),
	    "m.mentions") != NULL;

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
				if (pass == 2 && mentions && mpush_legacy_mention_rule(id))
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

		/*
		 * Spec: "Historical Actions": dont_notify and coalesce are
		 * ignored when evaluating, but they are kept as sent, as
		 * Synapse does: older clients set them and read them back.
		 */
		if ((s != NULL && (strcmp(s, "notify") == 0 ||
		    strcmp(s, "dont_notify") == 0 || strcmp(s, "coalesce") == 0)) ||
		    (json_is_object(a) && json_is_string(json_object_get(a, "set_tweak"))))
			json_array_append(out, (json_t *)a);
		else {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}
