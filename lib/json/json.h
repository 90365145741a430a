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

#endif
