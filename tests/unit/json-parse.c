/* mjson_parse limits and mjson_str. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"

static int	 failed;

/* Parses len bytes of in with maxdepth; ok says whether it should work. */
static void
check(const char *in, size_t len, size_t maxdepth, int ok)
{
	json_t	*v;

	v = mjson_parse(in, len, maxdepth);
	if ((v != NULL) != ok) {
		fprintf(stderr, "FAIL %.*s (depth %zu): want %s\n", (int)len,
		    in, maxdepth, ok ? "success" : "failure");
		failed = 1;
	}
	json_decref(v);
}

#define CHECK(s, d, ok)	check((s), strlen(s), (d), (ok))

int
main(void)
{
	json_t		*v;
	const char	*dup;
	char		*deep;
	size_t		 i;

	/* Depth: a scalar is 0, each object or array adds one. */
	CHECK("1", 0, 1);
	CHECK("\"x\"", 0, 1);
	CHECK("{}", 0, 0);
	CHECK("{}", 1, 1);
	CHECK("[]", 1, 1);
	CHECK("{\"a\":{\"b\":[1]}}", 3, 1);
	CHECK("{\"a\":{\"b\":[1]}}", 2, 0);
	CHECK("[1,[2,[3]],{\"a\":[[4]]}]", 3, 0);
	CHECK("[1,[2,[3]],{\"a\":[[4]]}]", 4, 1);

	/* Far deeper than any limit: refused, not a crash. */
	if ((deep = malloc(20001)) == NULL)
		return 1;
	for (i = 0; i < 10000; i++) {
		deep[i] = '[';
		deep[19999 - i] = ']';
	}
	deep[20000] = '\0';
	CHECK(deep, 100, 0);
	CHECK(deep, 100000, 0);
	free(deep);

	/* Not JSON. */
	CHECK("", 10, 0);
	CHECK("{", 10, 0);
	CHECK("{\"a\":1} x", 10, 0);
	CHECK("{'a':1}", 10, 0);
	CHECK("{\"a\":\"\xff\"}", 10, 0);		/* invalid UTF-8 */
	CHECK("{\"a\":\"\xc0\xaf\"}", 10, 0);	/* overlong '/' */
	CHECK("{\"a\":\"\\ud800\"}", 10, 0);	/* lone surrogate */
	CHECK("{\"a\":\"\\u0000\"}", 10, 0);	/* escaped NUL */
	CHECK("{\"a\":\"\x01\"}", 10, 0);	/* raw control character */
	check("{\"a\":1}\0", 8, 10, 0);		/* NUL after the value */
	check("{\"a\":\"b\0c\"}", 11, 10, 0);	/* NUL inside a string */
	check("{\"a\":1}", 5, 10, 0);		/* len is honoured */
	check(NULL, 0, 10, 0);

	/* Allowed: any top-level value, white space, duplicate keys. */
	CHECK(" [1] ", 10, 1);
	CHECK("null", 10, 1);
	CHECK("{\"a\":1,\"a\":2}", 10, 1);
	check("{\"a\":1}xyz", 7, 10, 1);

	/* Duplicates: the last one wins. */
	dup = "{\"a\":\"x\",\"a\":\"y\",\"n\":1}";
	v = mjson_parse(dup, strlen(dup), 10);
	if (v == NULL || mjson_str(v, "a") == NULL ||
	    strcmp(mjson_str(v, "a"), "y") != 0) {
		fprintf(stderr, "FAIL duplicate keys\n");
		failed = 1;
	}
	/* mjson_str: absent, not a string, not an object. */
	if (mjson_str(v, "b") != NULL || mjson_str(v, "n") != NULL ||
	    mjson_str(NULL, "a") != NULL ||
	    mjson_str(json_object_get(v, "a"), "a") != NULL) {
		fprintf(stderr, "FAIL mjson_str\n");
		failed = 1;
	}
	json_decref(v);
	return failed;
}
