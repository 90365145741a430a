/*
 * Allocation-failure injection (issue 17), as SQLite and curl test
 * themselves: each case runs once to count its allocations, then once
 * more for every one of them with that allocation failing.  Each run
 * must give the right answer or an error, never a wrong answer or a
 * crash, and must leave no allocation behind.
 *
 * The hook: this program is linked with --wrap for the allocators
 * (Makefile), so every call of libmyelin's code to malloc, calloc,
 * realloc, reallocarray, strdup, strndup, asprintf and vasprintf comes
 * here first; jansson's allocations come through json_set_alloc_funcs.
 * Live allocations are tracked by address, so a leak is any address
 * still live after a run.  Under ASan (build-san) the real allocators
 * are ASan's, which also catches use after free on the error paths.
 *
 * Prints "alloc-fail: N cases, M allocation failures injected, all
 * survived" (docs/reliability.md).
 */
#include <execinfo.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "events/events.h"
#include "fcgi/extern.h"
#include "fed/fed.h"
#include "json/json.h"
#include "testlib.h"

void	*__real_malloc(size_t);
void	*__real_calloc(size_t, size_t);
void	*__real_realloc(void *, size_t);
void	*__real_reallocarray(void *, size_t, size_t);
void	 __real_free(void *);
char	*__real_strdup(const char *);
char	*__real_strndup(const char *, size_t);
int	 __real_vasprintf(char **, const char *, va_list);

void	*__wrap_malloc(size_t);
void	*__wrap_calloc(size_t, size_t);
void	*__wrap_realloc(void *, size_t);
void	*__wrap_reallocarray(void *, size_t, size_t);
void	 __wrap_free(void *);
char	*__wrap_strdup(const char *);
char	*__wrap_strndup(const char *, size_t);
int	 __wrap_asprintf(char **, const char *, ...);
int	 __wrap_vasprintf(char **, const char *, va_list);

static int	 armed;		/* count and fail only inside a case */
static long	 calls;		/* allocations since the case began */
static long	 fail_at;	/* the allocation that fails (1-based), 0: none */
static int	 failed_one;	/* fail_at was reached */

/* Live allocations by address: open addressing, never full in practice. */
#define LIVE_SLOTS	(1 << 16)
static void	*live[LIVE_SLOTS];
static long	 nlive;

static size_t
slot_of(const void *p)
{
	return ((uintptr_t)p >> 4) * 2654435761u % LIVE_SLOTS;
}

static void
live_put(void *p)
{
	size_t i;

	for (i = slot_of(p); live[i] != NULL; i = (i + 1) % LIVE_SLOTS)
		;
	live[i] = p;
	nlive++;
}

static void
live_add(void *p)
{
	if (p != NULL && armed)
		live_put(p);
}

static void
live_del(void *p)
{
	size_t i, j;

	if (p == NULL)
		return;
	for (i = slot_of(p); live[i] != NULL; i = (i + 1) % LIVE_SLOTS)
		if (live[i] == p)
			break;
	if (live[i] == NULL)
		return;		/* allocated before the case, or by libc itself */
	live[i] = NULL;
	nlive--;
	/* The rest of the probe chain goes in again, so that none is cut. */
	for (j = (i + 1) % LIVE_SLOTS; live[j] != NULL; j = (j + 1) % LIVE_SLOTS) {
		void *q = live[j];

		live[j] = NULL;
		nlive--;
		live_put(q);
	}
}

/* 1 when this allocation is to fail. */
static int
inject(void)
{
	if (!armed)
		return 0;
	calls++;
	if (fail_at != 0 && calls == fail_at) {
		failed_one = 1;
		if (getenv("ALLOC_FAIL_TRACE") != NULL) {
			void *bt[16];

			backtrace_symbols_fd(bt, backtrace(bt, 16), 2);
		}
		return 1;
	}
	return 0;
}

void *
__wrap_malloc(size_t n)
{
	void *p;

	if (inject())
		return NULL;
	p = __real_malloc(n);
	live_add(p);
	return p;
}

void *
__wrap_calloc(size_t n, size_t sz)
{
	void *p;

	if (inject())
		return NULL;
	p = __real_calloc(n, sz);
	live_add(p);
	return p;
}

void *
__wrap_realloc(void *old, size_t n)
{
	void *p;

	if (inject())
		return NULL;
	if ((p = __real_realloc(old, n)) != NULL || n == 0) {
		live_del(old);
		live_add(p);
	}
	return p;
}

void *
__wrap_reallocarray(void *old, size_t n, size_t sz)
{
	void *p;

	if (inject())
		return NULL;
	if ((p = __real_reallocarray(old, n, sz)) != NULL) {
		live_del(old);
		live_add(p);
	}
	return p;
}

void
__wrap_free(void *p)
{
	live_del(p);
	__real_free(p);
}

char *
__wrap_strdup(const char *s)
{
	char *p;

	if (inject())
		return NULL;
	p = __real_strdup(s);
	live_add(p);
	return p;
}

char *
__wrap_strndup(const char *s, size_t n)
{
	char *p;

	if (inject())
		return NULL;
	p = __real_strndup(s, n);
	live_add(p);
	return p;
}

int
__wrap_vasprintf(char **out, const char *fmt, va_list ap)
{
	int n;

	if (inject()) {
		*out = NULL;
		return -1;
	}
	if ((n = __real_vasprintf(out, fmt, ap)) != -1)
		live_add(*out);
	return n;
}

int
__wrap_asprintf(char **out, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = __wrap_vasprintf(out, fmt, ap);
	va_end(ap);
	return n;
}

static void *
json_malloc(size_t n)
{
	return __wrap_malloc(n);
}

static void
json_free(void *p)
{
	__wrap_free(p);
}

/*
 * A case: 0 for the right answer, -1 for an error reported, 1 for a
 * wrong answer (a failure not reported).  It frees what it made.
 */
struct acase {
	const char	*name;
	int		(*run)(void);
};

static const char *const DOC =
    "{\"b\": [1, 25, true, null, \"\\u00e9\\ud83d\\ude00\"], \"a\": {\"z\": \"x\","
    " \"y\": {\"deep\": [[], {}]}}, \"n\": -12345678901}";
static const char *const DOC_CANON =
    "{\"a\":{\"y\":{\"deep\":[[],{}]},\"z\":\"x\"},\"b\":[1,25,true,null,"
    "\"\xc3\xa9\xf0\x9f\x98\x80\"],\"n\":-12345678901}";

static int
case_json_parse(void)
{
	json_t *v;

	if ((v = mjson_parse(DOC, strlen(DOC), 32)) == NULL)
		return -1;
	int ok = json_is_object(v) && json_object_size(v) == 3 &&
	    json_integer_value(json_object_get(v, "n")) == -12345678901LL;
	json_decref(v);
	return ok ? 0 : 1;
}

static json_t *doc;	/* parsed outside the cases that need it */

static int
case_json_canonical(void)
{
	char	*c;
	size_t	 len;
	int	 rc;

	if ((c = mjson_canonical(doc, &len)) == NULL)
		return -1;
	rc = len == strlen(DOC_CANON) && memcmp(c, DOC_CANON, len) == 0 ? 0 : 1;
	free(c);
	return rc;
}

static json_t			*event;		/* MESSAGE_EVENT */
static const struct mroomver	*v10;
static struct mkey		*key;

static int
case_event_redact(void)
{
	json_t	*r;
	int	 rc;

	if ((r = mevent_redact(event, v10)) == NULL)
		return -1;
	rc = json_object_get(r, "content") != NULL &&
	    json_object_size(json_object_get(r, "content")) == 0 ? 0 : 1;
	json_decref(r);
	return rc;
}

static int
case_event_hash_sign_id(void)
{
	json_t	*ev;
	char	*id = NULL;
	int	 rc = -1;

	if ((ev = json_deep_copy(event)) == NULL)
		return -1;
	json_object_del(ev, "event_id");
	if (mevent_hash(ev) == -1 || mevent_sign(ev, v10, SERVER, key) == -1)
		goto out;
	if (mevent_hash_check(ev) != 1) {
		/* -1: an allocation failed while checking; 0 would be wrong. */
		rc = mevent_hash_check(ev) == 1 ? -1 : 1;
		goto out;
	}
	if ((id = mevent_id(ev, v10)) == NULL)
		goto out;
	rc = id[0] == '$' ? 0 : 1;
out:
	free(id);
	json_decref(ev);
	return rc;
}

/* A whole FastCGI request, as in fcgi-proto.c. */
static struct mfcgi_buf request;

static void
rec(struct mfcgi_buf *b, int type, uint16_t id, const void *c, size_t len)
{
	unsigned char h[8] = { 1, (unsigned char)type, (unsigned char)(id >> 8),
	    (unsigned char)id, (unsigned char)(len >> 8), (unsigned char)len, 0, 0 };

	mfcgi_buf_add(b, h, 8);
	if (len > 0)
		mfcgi_buf_add(b, c, len);
}

static void
nv(struct mfcgi_buf *b, const char *name, const char *value)
{
	unsigned char l[2] = { (unsigned char)strlen(name), (unsigned char)strlen(value) };

	mfcgi_buf_add(b, l, 2);
	mfcgi_buf_add(b, name, strlen(name));
	mfcgi_buf_add(b, value, strlen(value));
}

static void
make_request(void)
{
	struct mfcgi_buf	 p = { NULL, 0, 0 };
	unsigned char		 body[8] = { 0, 1, 0, 0, 0, 0, 0, 0 };

	rec(&request, MFCGI_BEGIN_REQUEST, 1, body, 8);
	nv(&p, "REQUEST_METHOD", "PUT");
	nv(&p, "REQUEST_URI", "/_matrix/client/v3/rooms/x/send/m.room.message/1");
	nv(&p, "CONTENT_LENGTH", "17");
	rec(&request, MFCGI_PARAMS, 1, p.data, p.len);
	rec(&request, MFCGI_PARAMS, 1, NULL, 0);
	rec(&request, MFCGI_STDIN, 1, "{\"body\":\"hello\"}\n", 17);
	rec(&request, MFCGI_STDIN, 1, NULL, 0);
	mfcgi_buf_free(&p);
}

static int
case_fcgi_parse(void)
{
	struct mfcgi_in	 in;
	enum mfcgi_ev	 ev;
	const char	*m;
	int		 rc = 1;

	mfcgi_in_init(&in, 4096, 4096);
	/* In small pieces, as a socket gives them: the buffer grows. */
	for (size_t off = 0; off < request.len; off += 7) {
		size_t n = request.len - off < 7 ? request.len - off : 7;

		if (mfcgi_buf_add(&in.in, request.data + off, n) == -1) {
			rc = -1;
			goto out;
		}
		while ((ev = mfcgi_in_parse(&in)) != MFCGI_MORE) {
			if (ev == MFCGI_BAD) {
				rc = -1;
				goto out;
			}
			if (ev == MFCGI_READY) {
				m = mfcgi_in_param(&in, "REQUEST_METHOD");
				rc = m != NULL && strcmp(m, "PUT") == 0 && in.body.len == 17 ? 0 : 1;
				goto out;
			}
		}
	}
out:
	mfcgi_in_fini(&in);
	return rc;
}

static int
case_urldecode(void)
{
	char	*d;
	int	 rc;

	if ((d = mfcgi_urldecode("%40alice%3Aexample.org", 22)) == NULL)
		return -1;
	rc = strcmp(d, "@alice:example.org") == 0 ? 0 : 1;
	free(d);
	return rc;
}

/* X-Matrix: sign a request's header, parse it back, verify it. */
static int
case_xmatrix(void)
{
	struct mfed_authz	 a;
	json_t			*content;
	char			*h;
	int			 rc = -1;

	if ((content = json_pack("{s:s}", "k", "v")) == NULL)
		return -1;
	if ((h = mfed_xmatrix_sign(key, "origin.example", "dest.example", "PUT",
	    "/_matrix/federation/v1/send/1", content)) == NULL)
		goto out;
	if (mfed_xmatrix_parse(h, &a) == -1) {
		rc = 1;		/* parsing allocates nothing: a failure is wrong */
		goto out;
	}
	if (mfed_xmatrix_verify(&a, "dest.example", "PUT", "/_matrix/federation/v1/send/1",
	    content, key->pk) == -1) {
		/* -1 only if an allocation failed inside: then it must verify now. */
		armed = 0;
		rc = mfed_xmatrix_verify(&a, "dest.example", "PUT",
		    "/_matrix/federation/v1/send/1", content, key->pk) == 0 ? -1 : 1;
		armed = 1;
		goto out;
	}
	rc = strcmp(a.origin, "origin.example") == 0 ? 0 : 1;
out:
	free(h);
	json_decref(content);
	return rc;
}

static const struct acase cases[] = {
	{ "mjson_parse", case_json_parse },
	{ "mjson_canonical", case_json_canonical },
	{ "mevent_redact", case_event_redact },
	{ "mevent_hash+sign+hash_check+id", case_event_hash_sign_id },
	{ "mfcgi_in_parse", case_fcgi_parse },
	{ "mfcgi_urldecode", case_urldecode },
	{ "mfed_xmatrix_sign+parse+verify", case_xmatrix },
};

int
main(void)
{
	long	 injected = 0;

	json_set_alloc_funcs(json_malloc, json_free);
	if (mcrypto_init() == -1 || (key = spec_key(NULL)) == NULL ||
	    (v10 = mroomver_get("10")) == NULL ||
	    (event = json_loads(MESSAGE_EVENT, 0, NULL)) == NULL ||
	    (doc = mjson_parse(DOC, strlen(DOC), 32)) == NULL) {
		fprintf(stderr, "alloc-fail: setup failed\n");
		return 1;
	}
	make_request();
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		long	 n;
		int	 rc;

		armed = 1, calls = 0, fail_at = 0, failed_one = 0, nlive = 0;
		rc = cases[c].run();
		n = calls;
		armed = 0;
		if (rc != 0 || nlive != 0) {
			fprintf(stderr, "FAIL %s: without failures: rc %d, %ld live\n",
			    cases[c].name, rc, nlive);
			failed++;
			continue;
		}
		for (long k = 1; k <= n; k++) {
			armed = 1, calls = 0, fail_at = k, failed_one = 0, nlive = 0;
			rc = cases[c].run();
			armed = 0;
			injected += failed_one;
			if (rc == 1 || nlive != 0) {
				fprintf(stderr, "FAIL %s: allocation %ld of %ld failing: %s, %ld"
				    " allocations left\n", cases[c].name, k, n,
				    rc == 1 ? "wrong answer, no error" : "answered", nlive);
				failed++;
			}
		}
		printf("alloc-fail: %s: %ld allocations, each failed once\n", cases[c].name, n);
	}
	printf("alloc-fail: %zu cases, %ld allocation failures injected, %s\n",
	    sizeof(cases) / sizeof(cases[0]), injected,
	    failed == 0 ? "all survived" : "some not survived");
	mfcgi_buf_free(&request);
	json_decref(doc);
	json_decref(event);
	mcrypto_key_free(key);
	return failed != 0;
}
