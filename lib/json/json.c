/* JSON helpers over jansson: the canonical emitter, bounded parsing, accessors. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "json/json.h"

/*
 * Spec: Appendices, "Canonical JSON": numbers must be integers in
 * [-(2**53)+1, (2**53)-1].
 */
#define CANON_INT_MAX	((json_int_t)9007199254740991LL)	/* 2**53 - 1 */

/*
 * Nesting bound for the emitter.  Parsed values never get near it (jansson
 * stops at 2048 levels), but a hand-built value could contain a cycle
 * (json_object_set lets one happen), and this turns it into a failure
 * instead of a stack overflow.
 */
#define CANON_MAXDEPTH	4096

/* A growing output buffer (mjson_buf: on allocation failure it sets err and stops), and how to write. */
struct buf {
	struct mjson_buf o;
	int	 lax;	/* floats written as their shortest round trip (X-Matrix) */
	int	 dump;	/* mjson_dump: keys in order, raw nodes, floats as jansson */
};

/* The key of a raw node (see mjson_raw): a NUL byte no parsed key holds. */
#define RAW_KEY		"\0raw"
#define RAW_KEYLEN	4

static int	emit(struct buf *, const json_t *, size_t);
static int	emit_string(struct buf *, const char *, size_t);

static void
buf_add(struct buf *bb, const char *p, size_t n)
{
	mjson_buf_add(&bb->o, p, n);
}

void
mjson_buf_add(struct mjson_buf *b, const char *p, size_t n)
{
	char	*nb;
	size_t	 ncap;

	if (b->err)
		return;
	if (n >= SIZE_MAX / 2 - b->len) {
		b->err = 1;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		ncap = b->cap == 0 ? 256 : b->cap;
		while (ncap < b->len + n + 1)
			ncap *= 2;
		if ((nb = realloc(b->b, ncap)) == NULL) {
			b->err = 1;
			return;
		}
		b->b = nb;
		b->cap = ncap;
	}
	memcpy(b->b + b->len, p, n);
	b->len += n;
	b->b[b->len] = '\0';
}

static void
buf_addc(struct buf *b, char c)
{
	buf_add(b, &c, 1);
}

void
mjson_buf_str(struct mjson_buf *b, const char *s)
{
	struct buf bb = { *b, 0, 1 };

	if (emit_string(&bb, s, strlen(s)) == -1)
		bb.o.err = 1;
	*b = bb.o;
}

size_t
mjson_fmt_int(char *buf, long long v)
{
	char			 tmp[MJSON_INT_MAX];
	unsigned long long	 u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	size_t			 n = 0, len = 0;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0);
	if (v < 0)
		buf[len++] = '-';
	while (n > 0)
		buf[len++] = tmp[--n];
	buf[len] = '\0';
	return len;
}

void
mjson_buf_int(struct mjson_buf *b, long long v)
{
	char	num[MJSON_INT_MAX];

	mjson_buf_add(b, num, mjson_fmt_int(num, v));
}

/*
 * Returns 1 if s[0..n) is well-formed UTF-8 (no overlong forms, no
 * surrogates, nothing above U+10FFFF), else 0.  jansson checks strings it
 * parses or builds with json_string(), but not json_stringn_nocheck(), and
 * a signature over bytes that are not text would not verify elsewhere.
 */
static int
utf8_check(const unsigned char *s, size_t n)
{
	size_t		 i = 0, k, need;
	uint32_t	 cp, min;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			need = 1;
			cp = s[i] & 0x1f;
			min = 0x80;
		} else if ((s[i] & 0xf0) == 0xe0) {
			need = 2;
			cp = s[i] & 0x0f;
			min = 0x800;
		} else if ((s[i] & 0xf8) == 0xf0) {
			need = 3;
			cp = s[i] & 0x07;
			min = 0x10000;
		} else
			return 0;
		if (n - i - 1 < need)
			return 0;
		for (k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += need + 1;
	}
	return 1;
}

/*
 * Emits a quoted string.  Spec grammar ("Canonical JSON", Grammar):
 * everything is written as is except '"', '\\' and U+0000..U+001F;
 * those with a short escape (\b \t \n \f \r) use it, the others are
 * \u00XX with lowercase hex.  DEL (U+007F) stays unescaped.
 */
static int
emit_string(struct buf *b, const char *s, size_t n)
{
	static const char	 hex[] = "0123456789abcdef";
	char			 esc[6];
	size_t			 i, run;

	if (!utf8_check((const unsigned char *)s, n))
		return -1;
	buf_addc(b, '"');
	for (i = run = 0; i < n; i++) {
		unsigned char	 c = (unsigned char)s[i];
		const char	*e = NULL;
		size_t		 elen = 2;

		switch (c) {
		case '"':
			e = "\\\"";
			break;
		case '\\':
			e = "\\\\";
			break;
		case '\b':
			e = "\\b";
			break;
		case '\f':
			e = "\\f";
			break;
		case '\n':
			e = "\\n";
			break;
		case '\r':
			e = "\\r";
			break;
		case '\t':
			e = "\\t";
			break;
		default:
			if (c >= 0x20)
				continue;
			esc[0] = '\\';
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			e = esc;
			elen = 6;
			break;
		}
		buf_add(b, s + run, i - run);
		buf_add(b, e, elen);
		run = i + 1;
	}
	buf_add(b, s + run, n - run);
	buf_addc(b, '"');
	return 0;
}

struct member {
	const char	*key;
	size_t		 keylen;
	const json_t	*val;
};

/*
 * Orders keys by Unicode codepoint.  For valid UTF-8 that is the order of
 * the bytes compared as unsigned, which is what memcmp does; a key that
 * is a prefix of another sorts first.
 */
static int
member_cmp(const void *pa, const void *pb)
{
	const struct member	*a = pa, *b = pb;
	int			 c;

	c = memcmp(a->key, b->key, a->keylen < b->keylen ? a->keylen : b->keylen);
	if (c != 0)
		return c;
	return (a->keylen > b->keylen) - (a->keylen < b->keylen);
}

/*
 * The n members of obj in jansson's order (mjson_dump), or the text of a
 * raw node (mjson_raw) as it is.  0 or -1.
 */
static int
emit_members(struct buf *b, const json_t *obj, size_t n, size_t depth)
{
	/* jansson's iterator takes a non-const object but does not modify it. */
	void		*it = json_object_iter((json_t *)obj);
	const json_t	*v;
	size_t		 i;

	if (n == 1 && it != NULL && json_object_iter_key_len(it) == RAW_KEYLEN &&
	    memcmp(json_object_iter_key(it), RAW_KEY, RAW_KEYLEN) == 0 &&
	    json_is_string(v = json_object_iter_value(it))) {
		buf_add(b, json_string_value(v), json_string_length(v));
		return 0;
	}
	buf_addc(b, '{');
	for (i = 0; i < n && it != NULL; i++) {
		if (i > 0)
			buf_addc(b, ',');
		if (emit_string(b, json_object_iter_key(it), json_object_iter_key_len(it)) == -1)
			return -1;
		buf_addc(b, ':');
		if (emit(b, json_object_iter_value(it), depth + 1) == -1)
			return -1;
		it = json_object_iter_next((json_t *)obj, it);
	}
	if (i != n || it != NULL)
		return -1;
	buf_addc(b, '}');
	return 0;
}

static int
emit_object(struct buf *b, const json_t *obj, size_t depth)
{
	struct member	*m = NULL;
	void		*it;
	size_t		 i, n;
	int		 rc = -1;

	if ((n = json_object_size(obj)) == 0) {
		buf_add(b, "{}", 2);
		return 0;
	}
	/* A dump keeps jansson's order: the members are written as they come. */
	if (b->dump)
		return emit_members(b, obj, n, depth);
	if ((m = calloc(n, sizeof(*m))) == NULL)
		goto out;
	/* jansson's iterator takes a non-const object but does not modify it. */
	it = json_object_iter((json_t *)obj);
	for (i = 0; i < n && it != NULL; i++) {
		m[i].key = json_object_iter_key(it);
		m[i].keylen = json_object_iter_key_len(it);
		m[i].val = json_object_iter_value(it);
		it = json_object_iter_next((json_t *)obj, it);
	}
	if (i != n || it != NULL)
		goto out;
	qsort(m, n, sizeof(*m), member_cmp);
	buf_addc(b, '{');
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_addc(b, ',');
		if (emit_string(b, m[i].key, m[i].keylen) == -1)
			goto out;
		buf_addc(b, ':');
		if (emit(b, m[i].val, depth + 1) == -1)
			goto out;
	}
	buf_addc(b, '}');
	rc = 0;
out:
	free(m);
	return rc;
}

/*
 * A float as the shortest text that reads back as it (what Python's
 * repr and Perl's JSON write for a value such as 1.1), for
 * mjson_canonical_lax.  0, or -1 for infinities and NaN.
 */
static int
emit_real(struct buf *b, double d)
{
	char	num[40];
	int	p, len = 0;

	if (!isfinite(d))
		return -1;
	for (p = 1; p <= 17; p++) {
		len = snprintf(num, sizeof(num), "%.*g", p, d);
		if (len > 0 && (size_t)len < sizeof(num) && strtod(num, NULL) == d)
			break;
	}
	if (len <= 0 || (size_t)len >= sizeof(num))
		return -1;
	buf_add(b, num, (size_t)len);
	return 0;
}

/*
 * A float as jansson writes it by default: 17 significant digits, and
 * ".0" when that reads as an integer.  0, or -1 for infinities and NaN.
 */
static int
emit_real17(struct buf *b, double d)
{
	char	num[40], *e;
	int	len;

	if (!isfinite(d))
		return -1;
	len = snprintf(num, sizeof(num), "%.17g", d);
	if (len <= 0 || (size_t)len >= sizeof(num) - 2)
		return -1;
	if ((e = strchr(num, 'e')) != NULL) {
		/* 1e+20 as 1e20, 1e-05 as 1e-5. */
		char *x = e + 1, *z;

		if (*x == '+')
			memmove(x, x + 1, strlen(x));
		else if (*x == '-')
			x++;
		for (z = x; *z == '0' && z[1] != '\0'; z++)
			;
		memmove(x, z, strlen(z) + 1);
		len = (int)strlen(num);
	} else if (strchr(num, '.') == NULL) {
		memcpy(num + len, ".0", 3);
		len += 2;
	}
	buf_add(b, num, (size_t)len);
	return 0;
}

/* Appends the canonical form of v; -1 if v cannot be written canonically. */
static int
emit(struct buf *b, const json_t *v, size_t depth)
{
	char		 num[MJSON_INT_MAX];
	json_int_t	 iv;
	size_t		 i, n;

	if (depth > CANON_MAXDEPTH)
		return -1;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return emit_object(b, v, depth);
	case JSON_ARRAY:
		buf_addc(b, '[');
		n = json_array_size(v);
		for (i = 0; i < n; i++) {
			if (i > 0)
				buf_addc(b, ',');
			if (emit(b, json_array_get(v, i), depth + 1) == -1)
				return -1;
		}
		buf_addc(b, ']');
		return 0;
	case JSON_STRING:
		return emit_string(b, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		/* Spec: integers outside [-(2**53)+1, (2**53)-1] are not allowed. */
		iv = json_integer_value(v);
		if (!b->dump && (iv > CANON_INT_MAX || iv < -CANON_INT_MAX))
			return -1;
		buf_add(b, num, mjson_fmt_int(num, iv));
		return 0;
	case JSON_REAL:
		/*
		 * Spec: "Float values are not permitted by this encoding."
		 * XXX The spec's last example turns 1e10 into 10000000000;
		 * jansson parses 1e10 as a real, so we reject it like any
		 * other real, as Synapse rejects floats in room v6+ events.
		 */
		if (b->dump)
			return emit_real17(b, json_real_value(v));
		if (!b->lax)
			return -1;
		return emit_real(b, json_real_value(v));
	case JSON_TRUE:
		buf_add(b, "true", 4);
		return 0;
	case JSON_FALSE:
		buf_add(b, "false", 5);
		return 0;
	case JSON_NULL:
		buf_add(b, "null", 4);
		return 0;
	}
	return -1;
}

/* v written with the flags of b; NULL when it cannot be. */
static char *
written(const json_t *v, struct buf *b, size_t *lenp)
{
	if (v == NULL || emit(b, v, 0) == -1 || b->o.err) {
		free(b->o.b);
		return NULL;
	}
	/* An empty buffer only for a failed write: every value writes something. */
	if (lenp != NULL)
		*lenp = b->o.len;
	return b->o.b;
}

char *
mjson_canonical(const json_t *v, size_t *lenp)
{
	struct buf b = { { NULL, 0, 0, 0 }, 0, 0 };

	return written(v, &b, lenp);
}

char *
mjson_canonical_lax(const json_t *v, size_t *lenp)
{
	struct buf b = { { NULL, 0, 0, 0 }, 1, 0 };

	return written(v, &b, lenp);
}

char *
mjson_dump(const json_t *v, size_t *lenp)
{
	struct buf b = { { NULL, 0, 0, 0 }, 0, 1 };

	return written(v, &b, lenp);
}

int
mjson_buf_dump(struct mjson_buf *mb, const json_t *v)
{
	struct buf	b = { *mb, 0, 1 };
	int		rc = v == NULL || emit(&b, v, 0) == -1 || b.o.err ? -1 : 0;

	*mb = b.o;
	if (rc == -1)
		mb->err = 1;
	return rc;
}

json_t *
mjson_raw(const char *text, size_t len)
{
	json_t *o = json_object(), *t = json_stringn_nocheck(text, len);

	if (o == NULL || t == NULL || json_object_setn_new_nocheck(o, RAW_KEY, RAW_KEYLEN,
	    t) == -1) {
		json_decref(o);
		return NULL;
	}
	return o;
}

const char *
mjson_raw_text(const json_t *v, size_t *lenp)
{
	void		*it;
	const json_t	*t;

	if (!json_is_object(v) || json_object_size(v) != 1 ||
	    (it = json_object_iter((json_t *)v)) == NULL ||
	    json_object_iter_key_len(it) != RAW_KEYLEN ||
	    memcmp(json_object_iter_key(it), RAW_KEY, RAW_KEYLEN) != 0 ||
	    !json_is_string(t = json_object_iter_value(it)))
		return NULL;
	if (lenp != NULL)
		*lenp = json_string_length(t);
	return json_string_value(t);
}

static const char *
skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/*
 * Past the string that starts at p (its opening quote), or NULL.  A
 * quote ends it unless an odd run of backslashes comes before it; memchr
 * finds the quotes, since most of an event's bytes are long strings
 * (IDs, hashes, signatures) with no escape in them.
 */
static const char *
skip_string(const char *p, const char *end)
{
	const char *q, *b;

	for (p++; p < end; p = q + 1) {
		if ((q = memchr(p, '"', (size_t)(end - p))) == NULL)
			return NULL;
		for (b = q; b > p && b[-1] == '\\'; b--)
			;
		if (((q - b) & 1) == 0)
			return q + 1;
	}
	return NULL;
}

/* Past the value that starts at p, or NULL (nesting counted, strings skipped). */
static const char *
skip_value(const char *p, const char *end)
{
	size_t depth = 0;

	if (p >= end)
		return NULL;
	do {
		switch (*p) {
		case '"':
			if ((p = skip_string(p, end)) == NULL)
				return NULL;
			continue;
		case '{':
		case '[':
			if (++depth > CANON_MAXDEPTH)
				return NULL;
			break;
		case '}':
		case ']':
			if (depth == 0)
				return p;	/* a scalar ended by its object's end */
			depth--;
			break;
		case ',':
			if (depth == 0)
				return p;
			break;
		default:
			break;
		}
		p++;
	} while (p < end && (depth > 0 || (*p != ',' && *p != '}' && *p != ']' &&
	    *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')));
	return depth == 0 ? p : NULL;
}

int
mjson_scan_init(struct mjson_scan *sc, const char *text, size_t len)
{
	const char *end = text + len;

	sc->p = skip_ws(text, end);
	sc->end = end;
	sc->first = 1;
	if (sc->p == end || *sc->p != '{')
		return -1;
	sc->p++;
	return 0;
}

int
mjson_scan_next(struct mjson_scan *sc, const char **key, size_t *keylen, const char **val,
    size_t *vallen)
{
	const char *p = skip_ws(sc->p, sc->end), *k, *v;

	if (p == sc->end)
		return -1;
	if (*p == '}')
		return 0;
	if (!sc->first) {
		if (*p != ',')
			return -1;
		p = skip_ws(p + 1, sc->end);
	}
	if (p == sc->end || *p != '"' || (k = skip_string(p, sc->end)) == NULL)
		return -1;
	*key = p + 1;
	*keylen = (size_t)(k - p - 2);
	p = skip_ws(k, sc->end);
	if (p == sc->end || *p != ':')
		return -1;
	p = skip_ws(p + 1, sc->end);
	if ((v = skip_value(p, sc->end)) == NULL || v == p)
		return -1;
	*val = p;
	*vallen = (size_t)(v - p);
	sc->p = v;
	sc->first = 0;
	return 1;
}

int
mjson_scan_get(const char *text, size_t len, const char *key, const char **val,
    size_t *vallen)
{
	struct mjson_scan	 sc;
	const char		*k;
	size_t			 kl, n = strlen(key);
	int			 r;

	if (mjson_scan_init(&sc, text, len) == -1)
		return -1;
	while ((r = mjson_scan_next(&sc, &k, &kl, val, vallen)) == 1)
		if (kl == n && memcmp(k, key, n) == 0)
			return 1;
	return r;
}

/*
 * Returns the nesting depth of v: 0 for a scalar, 1 for an object or
 * array holding only scalars, and so on, or stops counting once it
 * exceeds max (returning max + 1).
 */
static size_t
depth_of(const json_t *v, size_t max)
{
	const char	*key;
	json_t		*sub;
	size_t		 i, d, deepest = 0;

	if (!json_is_object(v) && !json_is_array(v))
		return 0;
	if (max == 0)
		return 1;
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, key, sub) {
			if ((d = depth_of(sub, max - 1)) > deepest)
				deepest = d;
			if (deepest > max - 1)
				break;
		}
	} else {
		json_array_foreach(v, i, sub) {
			if ((d = depth_of(sub, max - 1)) > deepest)
				deepest = d;
			if (deepest > max - 1)
				break;
		}
	}
	return deepest + 1;
}

/*
 * Any JSON value is accepted at the top, not only objects, so the caller
 * can tell M_NOT_JSON (NULL here) from M_BAD_JSON (wrong type).  Duplicate
 * keys are allowed, the last one winning, as in Synapse's Python parser.
 * jansson refuses invalid UTF-8, lone surrogates, "\u0000" (without
 * JSON_ALLOW_NUL), raw NUL bytes, trailing garbage and integers beyond 64
 * bits; the depth is checked afterwards on the tree.
 */
json_t *
mjson_parse(const char *buf, size_t len, size_t maxdepth)
{
	json_error_t	 e;
	json_t		*v;

	if (buf == NULL)
		return NULL;
	/* Checked here as well so no jansson version can let one through. */
	if (memchr(buf, '\0', len) != NULL)
		return NULL;
	if ((v = json_loadb(buf, len, JSON_DECODE_ANY, &e)) == NULL)
		return NULL;
	if (depth_of(v, maxdepth) > maxdepth) {
		json_decref(v);
		return NULL;
	}
	return v;
}

const char *
mjson_str(const json_t *obj, const char *key)
{
	const json_t	*v;

	if (!json_is_object(obj))
		return NULL;
	v = json_object_get(obj, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

size_t
mjson_utf8_len(const char *s)
{
	size_t n = 0;

	/* Every byte but a continuation byte (10xxxxxx) starts a character. */
	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}
