/* What the unit tests share: failure reports, test JSON, the spec's vectors. */
#ifndef MYELIN_TESTLIB_H
#define MYELIN_TESTLIB_H

/*
 * Each unit test stays one program, tests/unit/<module>-<case>.c, built
 * on its own by the Makefile; this header is not one.  A test includes it
 * once and returns failed from main.  The functions are static inline so
 * that a test need not use them all.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crypto/crypto.h"
#include "events/events.h"
#include "json/json.h"

/* Spec: Appendices, "Cryptographic Test Vectors", "Signing Key". */
#define SEED_B64	"YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1"
#define SERVER		"domain"
#define KEY_ID		"ed25519:1"

/* Spec: Appendices, "Event Signing": the two events and their output. */
#define MINIMAL_EVENT							\
	"{\"room_id\": \"!x:domain\", \"sender\": \"@a:domain\", "	\
	"\"origin\": \"domain\", \"origin_server_ts\": 1000000, "	\
	"\"signatures\": {}, \"hashes\": {}, \"type\": \"X\", "		\
	"\"content\": {}, \"prev_events\": [], \"auth_events\": [], "	\
	"\"depth\": 3, \"unsigned\": {\"age_ts\": 1000000}}"
#define MINIMAL_HASH	"5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos"
#define MINIMAL_SIG	"KxwGjPSDEtvnFgU00fwFz+l6d2pJM6XBIaMEn81SXPTRl16A" \
			"qLAYqfIReFGZlHi5KLjAWbOoMszkwsQma+lYAg"

#define MESSAGE_EVENT							\
	"{\"content\": {\"body\": \"Here is the message content\"}, "	\
	"\"event_id\": \"$0:domain\", \"origin\": \"domain\", "		\
	"\"origin_server_ts\": 1000000, \"type\": \"m.room.message\", "	\
	"\"room_id\": \"!r:domain\", \"sender\": \"@u:domain\", "	\
	"\"signatures\": {}, \"unsigned\": {\"age_ts\": 1000000}}"
#define MESSAGE_HASH	"onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g"
#define MESSAGE_SIG	"Wm+VzmOUOz08Ds+0NTWb1d4CZrVsJSikkeRxh6aCcUwu6pNC" \
			"78FunoD7KNWzqFn241eYHYMGCA5McEiVPdhzBA"

/* 1 once a check has failed: main's exit status. */
static int	 failed;

/* Reports a failed check (printf arguments) with its line, and goes on. */
#define FAIL(...) do {						\
	fprintf(stderr, "FAIL line %d: ", __LINE__);		\
	fprintf(stderr, __VA_ARGS__);				\
	fputc('\n', stderr);					\
	failed = 1;						\
} while (0)

/* Reports the expression c as a failed check unless it holds. */
#define CHECK(c) do {						\
	if (!(c))						\
		FAIL("%s", #c);					\
} while (0)

/*
 * JSON text of a test, parsed as a request body is (mjson_parse, depth
 * 64).  Returns a new reference; exits if s does not parse, which is a
 * broken test rather than a failed check.
 */
static inline json_t *
load(const char *s)
{
	json_t	*v;

	if ((v = mjson_parse(s, strlen(s), 64)) == NULL) {
		fprintf(stderr, "FAIL: test JSON does not parse: %s\n", s);
		exit(1);
	}
	return v;
}

/*
 * Whether got equals want.  If not (or got is NULL), reports the check
 * named by fmt with both values, compact with sorted keys.
 */
static inline int __attribute__((format(printf, 3, 4)))
same_json(const json_t *got, const json_t *want, const char *fmt, ...)
{
	va_list	 ap;
	char	*g, *w;

	if (got != NULL && json_equal(got, want))
		return 1;
	g = got == NULL ? NULL : json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
	w = json_dumps(want, JSON_SORT_KEYS | JSON_COMPACT);
	fputs("FAIL ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ":\n want %s\n got  %s\n", w == NULL ? "NULL" : w,
	    g == NULL ? "NULL" : g);
	free(g);
	free(w);
	failed = 1;
	return 0;
}

/* Room version id; exits if there is none (a broken test). */
static inline const struct mroomver *
version(const char *id)
{
	const struct mroomver	*rv;

	if ((rv = mroomver_get(id)) == NULL) {
		fprintf(stderr, "FAIL: no room version %s\n", id);
		exit(1);
	}
	return rv;
}

/* The content of an m.room.member event: {"membership": membership}. */
static inline json_t *
member(const char *membership)
{
	return json_pack("{s:s}", "membership", membership);
}

/* The signature obj carries under signatures[server][key_id], or "". */
static inline const char *
sig_of(const json_t *obj, const char *server, const char *key_id)
{
	const char	*s;

	s = mjson_str(json_object_get(json_object_get(obj, "signatures"),
	    server), key_id);
	return s == NULL ? "" : s;
}

/*
 * The spec's signing key, KEY_ID from SEED_B64, after mcrypto_init; seed
 * (if not NULL) gets the 32 bytes of the seed.  The caller frees the key
 * (mcrypto_key_free).  Exits if it cannot be made.
 */
static inline struct mkey *
spec_key(unsigned char *seed)
{
	unsigned char	 buf[32];
	struct mkey	*k;

	if (mcrypto_init() == -1 ||
	    mcrypto_b64_decode(SEED_B64, buf, sizeof(buf)) != 32 ||
	    (k = mcrypto_key_from_seed(buf, "1")) == NULL) {
		fprintf(stderr, "FAIL key setup\n");
		exit(1);
	}
	if (seed != NULL)
		memcpy(seed, buf, sizeof(buf));
	return k;
}

#endif
