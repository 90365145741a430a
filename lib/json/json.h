/* JSON helpers over jansson: canonical JSON, limits, small accessors. */
#ifndef MYELIN_JSON_H
#define MYELIN_JSON_H

#include <stddef.h>
#include <jansson.h>

/*
 * Matrix canonical JSON (C-S API appendix "Canonical JSON"): keys sorted
 * by codepoint, no insignificant whitespace, UTF-8 not escaped, only the
 * required escapes, integers only (floats or integers outside
 * [-(2**53)+1, (2**53)-1] make it fail).  Returns a NUL-terminated
 * malloc'd string, or NULL.  *lenp (if not NULL) receives its length.
 */
char	*mjson_canonical(const json_t *, size_t *lenp);
/*
 * As mjson_canonical, but a float is written as the shortest decimal that
 * reads back as it (Python's repr, Perl's JSON), as other servers encode
 * a body they sign: for checking an X-Matrix signature only, so that a
 * request whose body has floats is authenticated and then refused by
 * what reads it (400 M_BAD_JSON, as Synapse), not 401.
 */
char	*mjson_canonical_lax(const json_t *, size_t *lenp);

/*
 * Parses a request body: at most maxdepth nesting levels, valid UTF-8,
 * no NUL bytes.  Returns a new reference or NULL (body is not JSON).
 */
json_t	*mjson_parse(const char *buf, size_t len, size_t maxdepth);

/* The string value of key in obj, or NULL if absent or not a string. */
const char *mjson_str(const json_t *obj, const char *key);

/*
 * Characters (code points) in s, valid UTF-8 as every parsed body is:
 * the length Synapse's limits count (Python's len()).
 */
size_t	mjson_utf8_len(const char *s);

/*
 * Raw JSON text in a jansson tree: an answer built as a tree can carry
 * a value already written as text (an event made from its stored JSON
 * without parsing it, see mroom_client_event_text) and mjson_dump
 * writes that text in its place.  The node is an object whose one key
 * holds a NUL byte, which no parsed JSON can hold (jansson refuses
 * "\u0000" in keys and mjson_parse refuses NUL bytes), so no input can
 * pass for one.  text[0..len) must be one well-formed JSON value: the
 * caller vouches for it.  New reference, or NULL.
 */
json_t	*mjson_raw(const char *text, size_t len);
/* The text of a raw node (and its length into *lenp), or NULL when v is not one. */
const char *mjson_raw_text(const json_t *v, size_t *lenp);

/*
 * v written compactly, keys in their order, as json_dumps(v,
 * JSON_COMPACT) writes it, raw nodes as their text.  A NUL-terminated
 * malloc'd string (its length into *lenp when not NULL), or NULL (out
 * of memory, a string that is not UTF-8, NaN or an infinity).
 */
char	*mjson_dump(const json_t *v, size_t *lenp);

/*
 * The members of a JSON object written as text, one at a time, without
 * parsing their values: for turning stored JSON (written by jansson)
 * into an answer.  mjson_scan_init takes the object's text; each
 * mjson_scan_next gives the next member's key (the text between its
 * quotes, as written: escapes are left as they are) and its value's
 * text, and returns 1, 0 at the end, -1 for text that is not an object
 * as expected (then use a parser instead).
 */
struct mjson_scan {
	const char	*p, *end;
	int		 first;
};

int	mjson_scan_init(struct mjson_scan *, const char *text, size_t len);
int	mjson_scan_next(struct mjson_scan *, const char **key, size_t *keylen,
	    const char **val, size_t *vallen);
/*
 * The value text of key (one without escapes) in the object text[0..len),
 * into *val and *vallen: 1 found, 0 absent, -1 not an object as expected.
 */
int	mjson_scan_get(const char *text, size_t len, const char *key, const char **val,
	    size_t *vallen);

/*
 * Appends to a growing buffer (mjson_dump's): raw bytes, a string JSON
 * quoted, an integer.  On allocation failure b->err is set and the
 * rest is a no-op.
 */
struct mjson_buf {
	char	*b;
	size_t	 len, cap;
	int	 err;
};

void	mjson_buf_add(struct mjson_buf *, const char *p, size_t n);
void	mjson_buf_str(struct mjson_buf *, const char *s);
void	mjson_buf_int(struct mjson_buf *, long long v);
/* v as mjson_dump writes it, appended: 0, or -1 with b->err set. */
int	mjson_buf_dump(struct mjson_buf *, const json_t *v);
/*
 * v in decimal into buf (at least MJSON_INT_MAX bytes), NUL-terminated,
 * as "%lld" writes it without printf's cost: its length.
 */
#define MJSON_INT_MAX	24
size_t	mjson_fmt_int(char *buf, long long v);

#endif
