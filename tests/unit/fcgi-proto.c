/* lib/fcgi/proto.c: FastCGI 1.0 records in and out, built by hand from the spec. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/extern.h"
#include "testlib.h"

/* Appends a record as a web server would send it (with padding). */
static void
rec(struct mfcgi_buf *b, int type, uint16_t id, const void *c, size_t len, size_t pad)
{
	static const unsigned char zeros[255];
	unsigned char h[8] = { 1, (unsigned char)type, (unsigned char)(id >> 8),
	    (unsigned char)id, (unsigned char)(len >> 8), (unsigned char)len,
	    (unsigned char)pad, 0 };

	mfcgi_buf_add(b, h, 8);
	mfcgi_buf_add(b, c, len);
	mfcgi_buf_add(b, zeros, pad);
}

static void
begin(struct mfcgi_buf *b, uint16_t id, int role, int flags)
{
	unsigned char body[8] = { (unsigned char)(role >> 8), (unsigned char)role,
	    (unsigned char)flags, 0, 0, 0, 0, 0 };

	rec(b, MFCGI_BEGIN_REQUEST, id, body, 8, 0);
}

/* One name-value pair; long lengths use the 4-byte form (spec 3.4). */
static void
nv(struct mfcgi_buf *b, const char *name, const char *value)
{
	size_t		 l[2] = { strlen(name), strlen(value) };
	unsigned char	 h[8];
	size_t		 hl = 0;

	for (int i = 0; i < 2; i++) {
		if (l[i] < 128)
			h[hl++] = (unsigned char)l[i];
		else {
			h[hl++] = (unsigned char)(0x80 | (l[i] >> 24));
			h[hl++] = (unsigned char)(l[i] >> 16);
			h[hl++] = (unsigned char)(l[i] >> 8);
			h[hl++] = (unsigned char)l[i];
		}
	}
	mfcgi_buf_add(b, h, hl);
	mfcgi_buf_add(b, name, l[0]);
	mfcgi_buf_add(b, value, l[1]);
}

/* A whole GET request: BEGIN, PARAMS in two records, empty PARAMS, empty STDIN. */
static void
get_request(struct mfcgi_buf *b, uint16_t id, int flags, const char *longval)
{
	struct mfcgi_buf p = { NULL, 0, 0 };

	begin(b, id, 1, flags);
	nv(&p, "REQUEST_METHOD", "GET");
	nv(&p, "REQUEST_URI", "/park?ms=5");
	rec(b, MFCGI_PARAMS, id, p.data, p.len, 3);
	mfcgi_buf_free(&p);
	nv(&p, "HTTP_X_LONG", longval);
	nv(&p, "EMPTY", "");
	rec(b, MFCGI_PARAMS, id, p.data, p.len, 0);
	mfcgi_buf_free(&p);
	rec(b, MFCGI_PARAMS, id, NULL, 0, 0);
	rec(b, MFCGI_STDIN, id, NULL, 0, 0);
}

/* Feeds b to in all at once (step 0) or step bytes at a time. */
static enum mfcgi_ev
feed(struct mfcgi_in *in, const struct mfcgi_buf *b, size_t step)
{
	enum mfcgi_ev	 ev = MFCGI_MORE;
	size_t		 off = 0;

	if (step == 0)
		step = b->len;
	while (off < b->len && ev == MFCGI_MORE) {
		size_t n = b->len - off < step ? b->len - off : step;

		mfcgi_buf_add(&in->in, b->data + off, n);
		off += n;
		ev = mfcgi_in_parse(in);
	}
	return ev;
}

/* Splits in->out into records; returns how many, types and ids in the arrays. */
static int
records(const struct mfcgi_buf *b, int *types, const unsigned char **content,
    size_t *lens, int max)
{
	size_t	off = 0;
	int	n = 0;

	while (off + 8 <= b->len && n < max) {
		const unsigned char *h = b->data + off;
		size_t clen = ((size_t)h[4] << 8) | h[5];

		CHECK(h[0] == 1);
		CHECK((clen + h[6]) % 8 == 0);
		types[n] = h[1];
		content[n] = h + 8;
		lens[n] = clen;
		n++;
		off += 8 + clen + h[6];
	}
	CHECK(off == b->len);
	return n;
}

/* (a) A request arrives whole, fed in one go and byte by byte. */
static void
test_request(void)
{
	char	 longval[300];

	memset(longval, 'v', sizeof(longval) - 1);
	longval[sizeof(longval) - 1] = '\0';
	for (size_t step = 0; step < 2; step++) {
		struct mfcgi_buf	 b = { NULL, 0, 0 };
		struct mfcgi_in		 in;

		mfcgi_in_init(&in, 4096, 1024);
		get_request(&b, 7, 1, longval);
		CHECK(feed(&in, &b, step) == MFCGI_READY);
		CHECK(in.id == 7);
		CHECK(in.keep == 1);
		CHECK(in.in.len == 0);
		CHECK(in.out.len == 0);
		CHECK(mfcgi_in_param(&in, "REQUEST_METHOD") != NULL &&
		    strcmp(mfcgi_in_param(&in, "REQUEST_METHOD"), "GET") == 0);
		CHECK(mfcgi_in_param(&in, "REQUEST_URI") != NULL &&
		    strcmp(mfcgi_in_param(&in, "REQUEST_URI"), "/park?ms=5") == 0);
		CHECK(mfcgi_in_param(&in, "HTTP_X_LONG") != NULL &&
		    strcmp(mfcgi_in_param(&in, "HTTP_X_LONG"), longval) == 0);
		CHECK(mfcgi_in_param(&in, "EMPTY") != NULL &&
		    *mfcgi_in_param(&in, "EMPTY") == '\0');
		CHECK(mfcgi_in_param(&in, "REQUEST") == NULL);
		CHECK(in.body.len == 0);
		/* Nothing more comes of it. */
		CHECK(mfcgi_in_parse(&in) == MFCGI_MORE);
		mfcgi_buf_free(&b);
		mfcgi_in_fini(&in);
	}
}

/* (b) A body over several STDIN records; past bodymax it is cut. */
static void
test_body(void)
{
	struct mfcgi_buf	 b = { NULL, 0, 0 }, p = { NULL, 0, 0 };
	struct mfcgi_in		 in;
	char			 chunk[1000];

	memset(chunk, 'a', sizeof(chunk));
	mfcgi_in_init(&in, 4096, 2500);
	begin(&b, 1, 1, 0);
	nv(&p, "CONTENT_LENGTH", "3000");
	rec(&b, MFCGI_PARAMS, 1, p.data, p.len, 0);
	rec(&b, MFCGI_STDIN, 1, chunk, sizeof(chunk), 0);
	rec(&b, MFCGI_STDIN, 1, chunk, sizeof(chunk), 0);
	rec(&b, MFCGI_PARAMS, 1, NULL, 0, 0);
	rec(&b, MFCGI_STDIN, 1, chunk, sizeof(chunk), 0);
	rec(&b, MFCGI_STDIN, 1, NULL, 0, 0);
	CHECK(feed(&in, &b, 0) == MFCGI_READY);
	CHECK(in.body.len == 2500);
	CHECK(in.body_cut == 1);
	CHECK(in.keep == 0);
	CHECK(strcmp(mfcgi_in_param(&in, "CONTENT_LENGTH"), "3000") == 0);
	/* A STDIN record after the stream's end is a broken peer. */
	mfcgi_buf_free(&b);
	rec(&b, MFCGI_STDIN, 1, "x", 1, 0);
	CHECK(feed(&in, &b, 0) == MFCGI_BAD);
	mfcgi_buf_free(&b);
	mfcgi_buf_free(&p);
	mfcgi_in_fini(&in);
}

/* (c) PARAMS past paramsmax: the request still completes, marked too large. */
static void
test_params_limit(void)
{
	struct mfcgi_buf	 b = { NULL, 0, 0 }, p = { NULL, 0, 0 };
	struct mfcgi_in		 in;
	char			 big[2000];

	memset(big, 'h', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	mfcgi_in_init(&in, 1024, 1024);
	begin(&b, 3, 1, 0);
	nv(&p, "HTTP_COOKIE", big);
	rec(&b, MFCGI_PARAMS, 3, p.data, p.len, 0);
	rec(&b, MFCGI_PARAMS, 3, p.data, p.len, 0);
	rec(&b, MFCGI_PARAMS, 3, NULL, 0, 0);
	rec(&b, MFCGI_STDIN, 3, NULL, 0, 0);
	CHECK(feed(&in, &b, 0) == MFCGI_READY);
	CHECK(in.too_large == 1);
	CHECK(in.params.data == NULL);
	CHECK(mfcgi_in_param(&in, "HTTP_COOKIE") == NULL);
	mfcgi_buf_free(&b);
	mfcgi_buf_free(&p);
	mfcgi_in_fini(&in);
}

/* (d) Management records: GET_VALUES answered, unknown types named. */
static void
test_management(void)
{
	struct mfcgi_buf	 b = { NULL, 0, 0 }, p = { NULL, 0, 0 };
	struct mfcgi_in		 in;
	int			 types[8] = { 0 };
	const unsigned char	*c[8] = { NULL };
	size_t			 lens[8] = { 0 };

	mfcgi_in_init(&in, 1024, 1024);
	nv(&p, "FCGI_MPXS_CONNS", "");
	nv(&p, "FCGI_UNHEARD_OF", "");
	nv(&p, "FCGI_MAX_REQS", "");
	rec(&b, MFCGI_GET_VALUES, 0, p.data, p.len, 0);
	rec(&b, 42, 0, NULL, 0, 0);
	CHECK(feed(&in, &b, 0) == MFCGI_MORE);
	CHECK(records(&in.out, types, c, lens, 8) == 2);
	CHECK(types[0] == MFCGI_GET_VALUES_RESULT);
	/* "FCGI_MPXS_CONNS" = "0", then FCGI_MAX_REQS; the unknown one left out. */
	CHECK(lens[0] > 17 && c[0][0] == 15 && c[0][1] == 1 &&
	    memcmp(c[0] + 2, "FCGI_MPXS_CONNS0", 16) == 0);
	CHECK(memmem(c[0], lens[0], "FCGI_MAX_REQS", 13) != NULL);
	CHECK(memmem(c[0], lens[0], "UNHEARD", 7) == NULL);
	CHECK(types[1] == MFCGI_UNKNOWN_TYPE && lens[1] == 8 && c[1][0] == 42);
	mfcgi_buf_free(&b);
	mfcgi_buf_free(&p);
	mfcgi_in_fini(&in);
}

/* (e) Roles other than Responder, and a second request at once, are refused. */
static void
test_refused(void)
{
	struct mfcgi_buf	 b = { NULL, 0, 0 };
	struct mfcgi_in		 in;
	int			 types[8] = { 0 };
	const unsigned char	*c[8] = { NULL };
	size_t			 lens[8] = { 0 };

	mfcgi_in_init(&in, 1024, 1024);
	begin(&b, 5, 2, 0);		/* FCGI_AUTHORIZER */
	begin(&b, 6, 1, 0);
	begin(&b, 9, 1, 0);		/* no multiplexing */
	CHECK(feed(&in, &b, 0) == MFCGI_MORE);
	CHECK(in.id == 6);
	CHECK(records(&in.out, types, c, lens, 8) == 2);
	CHECK(types[0] == MFCGI_END_REQUEST && lens[0] == 8 &&
	    c[0][4] == MFCGI_UNKNOWN_ROLE);
	CHECK(c[0] - 8 == in.out.data && in.out.data[3] == 5);
	CHECK(types[1] == MFCGI_END_REQUEST && c[1][4] == MFCGI_CANT_MPX_CONN);
	CHECK(in.out.data[16 + 3] == 9);	/* the second record's id */
	/* Records of other requests are ignored; a repeated BEGIN is not. */
	mfcgi_buf_free(&b);
	rec(&b, MFCGI_PARAMS, 9, "junk", 4, 0);
	rec(&b, MFCGI_ABORT_REQUEST, 9, NULL, 0, 0);
	CHECK(feed(&in, &b, 0) == MFCGI_MORE);
	mfcgi_buf_free(&b);
	begin(&b, 6, 1, 0);
	CHECK(feed(&in, &b, 0) == MFCGI_BAD);
	mfcgi_buf_free(&b);
	mfcgi_in_fini(&in);
}

/* (f) ABORT_REQUEST, before and after the request is whole. */
static void
test_abort(void)
{
	struct mfcgi_buf	 b = { NULL, 0, 0 };
	struct mfcgi_in		 in;

	mfcgi_in_init(&in, 1024, 1024);
	begin(&b, 2, 1, 0);
	rec(&b, MFCGI_ABORT_REQUEST, 2, NULL, 0, 0);
	CHECK(feed(&in, &b, 0) == MFCGI_ABORT);
	mfcgi_in_end(&in);
	CHECK(in.id == 0);
	mfcgi_buf_free(&b);
	get_request(&b, 4, 0, "x");
	rec(&b, MFCGI_ABORT_REQUEST, 4, NULL, 0, 0);
	CHECK(feed(&in, &b, 0) == MFCGI_READY);
	CHECK(in.in.len == 8);		/* the abort waits its turn */
	CHECK(mfcgi_in_parse(&in) == MFCGI_ABORT);
	mfcgi_buf_free(&b);
	mfcgi_in_fini(&in);
}

/* (g) Broken input: wrong version, bad pairs, NUL in a value, short BEGIN. */
static void
test_bad(void)
{
	static const unsigned char badpairs[][6] = {
		{ 5, 1, 'a', 'b' },			/* name runs past the end */
		{ 0x80, 0, 0, 9, 1, 'x' },		/* 4-byte length past the end */
		{ 1, 1, 'a', '\0' },			/* NUL in a value */
	};
	struct mfcgi_buf	 b = { NULL, 0, 0 };
	struct mfcgi_in		 in;

	mfcgi_in_init(&in, 1024, 1024);
	mfcgi_buf_add(&b, "GET / HTTP/1.1\r\n\r\n", 18);
	CHECK(feed(&in, &b, 0) == MFCGI_BAD);
	CHECK(in.why != NULL);
	mfcgi_buf_free(&b);
	mfcgi_in_fini(&in);

	for (size_t i = 0; i < sizeof(badpairs) / sizeof(badpairs[0]); i++) {
		mfcgi_in_init(&in, 1024, 1024);
		begin(&b, 1, 1, 0);
		rec(&b, MFCGI_PARAMS, 1, badpairs[i], i == 1 ? 6 : 4, 0);
		rec(&b, MFCGI_PARAMS, 1, NULL, 0, 0);
		CHECK(feed(&in, &b, 0) == MFCGI_BAD);
		mfcgi_buf_free(&b);
		mfcgi_in_fini(&in);
	}

	mfcgi_in_init(&in, 1024, 1024);
	rec(&b, MFCGI_BEGIN_REQUEST, 1, "\0\1\0", 3, 0);
	CHECK(feed(&in, &b, 0) == MFCGI_BAD);
	mfcgi_buf_free(&b);
	mfcgi_in_fini(&in);

	/* A record not yet whole is no error: it waits. */
	mfcgi_in_init(&in, 1024, 1024);
	begin(&b, 1, 1, 0);
	CHECK(feed(&in, &b, 0) == MFCGI_MORE);
	mfcgi_buf_free(&b);
	{
		/* The header of a 60000-byte PARAMS record, then 92 of its bytes. */
		unsigned char part[100] = { 1, MFCGI_PARAMS, 0, 1, 60000 >> 8,
		    60000 & 0xff, 0, 0 };

		mfcgi_buf_add(&b, part, sizeof(part));
	}
	CHECK(feed(&in, &b, 0) == MFCGI_MORE);
	CHECK(in.in.len == 100);
	mfcgi_buf_free(&b);
	mfcgi_in_fini(&in);
}

/* (h) Output: STDOUT split at 65535 bytes, the stream ended, END_REQUEST. */
static void
test_output(void)
{
	struct mfcgi_buf	 b = { NULL, 0, 0 };
	int			 types[8] = { 0 };
	const unsigned char	*c[8] = { NULL };
	size_t			 lens[8] = { 0 };
	char			*big;

	if ((big = malloc(70000)) == NULL) {
		failed = 1;
		return;
	}
	memset(big, 'z', 70000);
	CHECK(mfcgi_out_stdout(&b, 300, big, 70000) == 0);
	CHECK(mfcgi_out_stdout(&b, 300, NULL, 0) == 0);
	CHECK(mfcgi_out_end(&b, 300, 7, MFCGI_REQUEST_COMPLETE) == 0);
	if (records(&b, types, c, lens, 8) != 4) {
		CHECK(!"four records");
		free(big);
		mfcgi_buf_free(&b);
		return;
	}
	CHECK(types[0] == MFCGI_STDOUT && lens[0] == 65535);
	CHECK(types[1] == MFCGI_STDOUT && lens[1] == 70000 - 65535);
	CHECK(types[2] == MFCGI_STDOUT && lens[2] == 0);
	CHECK(types[3] == MFCGI_END_REQUEST && lens[3] == 8);
	CHECK(c[3][3] == 7 && c[3][4] == MFCGI_REQUEST_COMPLETE);
	CHECK(b.data[2] == 1 && b.data[3] == 44);	/* id 300 */
	CHECK(mfcgi_out_record(&b, MFCGI_STDOUT, 1, big, 65536) == -1);
	free(big);
	mfcgi_buf_free(&b);
}

/* (i) Random bytes after a valid start never crash (the sanitizers watch). */
static void
test_noise(void)
{
	unsigned int	 seed = 12345;

	for (int round = 0; round < 2000; round++) {
		struct mfcgi_buf	 b = { NULL, 0, 0 };
		struct mfcgi_in		 in;
		unsigned char		 noise[512];
		size_t			 n;

		seed = seed * 1103515245 + 12345;
		n = (seed >> 16) % sizeof(noise);
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245 + 12345;
			noise[i] = (unsigned char)(seed >> 16);
			/* Mostly version 1 headers, so parsing goes deep. */
			if (i % 8 == 0 && (seed & 3) != 0)
				noise[i] = 1;
		}
		mfcgi_in_init(&in, 256, 256);
		if (round % 2 == 0)
			begin(&b, 1, 1, 0);
		mfcgi_buf_add(&b, noise, n);
		for (int k = 0; k < 4 && feed(&in, &b, 1 + round % 7) != MFCGI_BAD; k++)
			if (in.ready)
				mfcgi_in_end(&in);
		mfcgi_buf_free(&b);
		mfcgi_in_fini(&in);
	}
}

/*
 * A request without a single parameter (found by tests/fuzz/fcgi): the
 * empty PARAMS stream is decoded without arithmetic on its NULL buffer
 * (undefined behaviour, fatal in the sanitizer build) and the request
 * is whole, with no parameter to find.
 */
static void
test_no_params(void)
{
	struct mfcgi_buf	 b = { NULL, 0, 0 };
	struct mfcgi_in		 in;

	mfcgi_in_init(&in, 256, 256);
	begin(&b, 1, 1, 0);
	rec(&b, MFCGI_PARAMS, 1, NULL, 0, 0);
	rec(&b, MFCGI_STDIN, 1, NULL, 0, 0);
	CHECK(feed(&in, &b, 0) == MFCGI_READY);
	CHECK(mfcgi_in_param(&in, "REQUEST_URI") == NULL);
	mfcgi_buf_free(&b);
	mfcgi_in_fini(&in);
}

int
main(void)
{
	test_request();
	test_body();
	test_params_limit();
	test_management();
	test_refused();
	test_abort();
	test_bad();
	test_output();
	test_noise();
	test_no_params();
	return failed;
}
