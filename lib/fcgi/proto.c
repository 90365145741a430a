/* The FastCGI 1.0 wire protocol: records in, records out, no I/O. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/extern.h"

/* Spec: FastCGI 1.0, 5.1: FCGI_RESPONDER is role 1; FCGI_KEEP_CONN is flag 1. */
#define ROLE_RESPONDER	1
#define FLAG_KEEP_CONN	1

/*
 * Our answers to FCGI_GET_VALUES (spec 4.1).  No multiplexing: nginx
 * never multiplexes, and one request per connection keeps a connection's
 * owner simple.  The connection limit is the file limit, not a number
 * we keep; the figures only tell a web server that many are fine.
 */
static const char *const values[][2] = {
	{ "FCGI_MAX_CONNS", "10000" },
	{ "FCGI_MAX_REQS", "10000" },
	{ "FCGI_MPXS_CONNS", "0" },
};

int
mfcgi_buf_add(struct mfcgi_buf *b, const void *p, size_t len)
{
	if (len == 0)
		return 0;
	if (len > SIZE_MAX / 2 - b->len)
		return -1;
	if (b->len + len > b->cap) {
		size_t		 cap = b->cap != 0 ? b->cap : 256;
		unsigned char	*n;

		while (cap < b->len + len)
			cap *= 2;
		if ((n = realloc(b->data, cap)) == NULL)
			return -1;
		b->data = n;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, len);
	b->len += len;
	return 0;
}

void
mfcgi_buf_free(struct mfcgi_buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* Drops the first n bytes. */
static void
buf_consume(struct mfcgi_buf *b, size_t n)
{
	if (n == 0)
		return;
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	/* An idle connection (a parked request) should hold no buffer. */
	if (b->len == 0)
		mfcgi_buf_free(b);
}

int
mfcgi_out_record(struct mfcgi_buf *b, enum mfcgi_rtype type, uint16_t id,
    const void *content, size_t len)
{
	static const unsigned char zeros[8];
	unsigned char	 h[MFCGI_HEADER_LEN];
	size_t		 pad = (8 - len % 8) % 8;

	if (len > MFCGI_CONTENT_MAX)
		return -1;
	/* Spec 3.3: version, type, requestId, contentLength, paddingLength. */
	h[0] = 1;
	h[1] = (unsigned char)type;
	h[2] = (unsigned char)(id >> 8);
	h[3] = (unsigned char)id;
	h[4] = (unsigned char)(len >> 8);
	h[5] = (unsigned char)len;
	h[6] = (unsigned char)pad;
	h[7] = 0;
	if (mfcgi_buf_add(b, h, sizeof(h)) == -1 ||
	    mfcgi_buf_add(b, content, len) == -1 ||
	    mfcgi_buf_add(b, zeros, pad) == -1)
		return -1;
	return 0;
}

int
mfcgi_out_stdout(struct mfcgi_buf *b, uint16_t id, const void *p, size_t len)
{
	const unsigned char *c = p;

	while (len > 0) {
		size_t n = len > MFCGI_CONTENT_MAX ? MFCGI_CONTENT_MAX : len;

		if (mfcgi_out_record(b, MFCGI_STDOUT, id, c, n) == -1)
			return -1;
		c += n;
		len -= n;
	}
	return 0;
}

int
mfcgi_out_end(struct mfcgi_buf *b, uint16_t id, uint32_t appstatus,
    enum mfcgi_pstatus ps)
{
	unsigned char body[8] = {
		(unsigned char)(appstatus >> 24), (unsigned char)(appstatus >> 16),
		(unsigned char)(appstatus >> 8), (unsigned char)appstatus,
		(unsigned char)ps, 0, 0, 0,
	};

	/* Spec 6.1: a Responder ends its stdout with an empty record, then END_REQUEST. */
	if (mfcgi_out_record(b, MFCGI_STDOUT, id, NULL, 0) == -1)
		return -1;
	return mfcgi_out_record(b, MFCGI_END_REQUEST, id, body, sizeof(body));
}

/*
 * Reads one name-value pair's lengths (spec 3.4: a length is one byte
 * below 128, else four bytes with the top bit set).  Returns the bytes
 * of the lengths, or 0 if p holds no whole pair.
 */
static size_t
nv_lengths(const unsigned char *p, size_t len, size_t *nl, size_t *vl)
{
	size_t	 off = 0, *out[2] = { nl, vl };

	for (int i = 0; i < 2; i++) {
		if (off >= len)
			return 0;
		if (p[off] < 0x80) {
			*out[i] = p[off];
			off += 1;
		} else {
			if (len - off < 4)
				return 0;
			*out[i] = ((size_t)(p[off] & 0x7f) << 24) |
			    ((size_t)p[off + 1] << 16) | ((size_t)p[off + 2] << 8) |
			    p[off + 3];
			off += 4;
		}
	}
	if (*nl > len - off || *vl > len - off - *nl)
		return 0;
	return off;
}

/* Appends one pair in the spec's encoding.  0 or -1. */
static int
nv_put(struct mfcgi_buf *b, const char *name, const char *value)
{
	size_t		 l[2] = { strlen(name), strlen(value) };
	unsigned char	 h[8];
	size_t		 hl = 0;

	for (int i = 0; i < 2; i++) {
		if (l[i] < 0x80)
			h[hl++] = (unsigned char)l[i];
		else {
			h[hl++] = (unsigned char)(0x80 | (l[i] >> 24));
			h[hl++] = (unsigned char)(l[i] >> 16);
			h[hl++] = (unsigned char)(l[i] >> 8);
			h[hl++] = (unsigned char)l[i];
		}
	}
	if (mfcgi_buf_add(b, h, hl) == -1 || mfcgi_buf_add(b, name, l[0]) == -1 ||
	    mfcgi_buf_add(b, value, l[1]) == -1)
		return -1;
	return 0;
}

/*
 * Rewrites the PARAMS stream in place as "name\0value\0" pairs: each
 * pair's lengths take at least two bytes and its two NULs exactly two,
 * so the writer never overtakes the reader.  Returns 0, or -1 when the
 * stream is not whole pairs or a name or value holds a NUL (it could
 * not be read back as a C string).
 */
static int
params_decode(struct mfcgi_buf *b)
{
	unsigned char	*r, *w, *end;

	/* No parameters at all: no buffer either, and NULL + 0 is undefined. */
	if (b->len == 0)
		return 0;
	r = w = b->data;
	end = b->data + b->len;
	while (r < end) {
		size_t nl, vl, hl;

		if ((hl = nv_lengths(r, (size_t)(end - r), &nl, &vl)) == 0)
			return -1;
		r += hl;
		if (memchr(r, '\0', nl + vl) != NULL)
			return -1;
		memmove(w, r, nl);
		w[nl] = '\0';
		memmove(w + nl + 1, r + nl, vl);
		w[nl + 1 + vl] = '\0';
		w += nl + vl + 2;
		r += nl + vl;
	}
	b->len = (size_t)(w - b->data);
	return 0;
}

const char *
mfcgi_in_param(const struct mfcgi_in *in, const char *name)
{
	const char	*p, *end;

	if (!in->params_done || in->too_large || in->params.data == NULL)
		return NULL;
	p = (const char *)in->params.data;
	end = p + in->params.len;
	while (p < end) {
		const char *v = p + strlen(p) + 1;

		if (strcmp(p, name) == 0)
			return v;
		p = v + strlen(v) + 1;
	}
	return NULL;
}

/* Answers FCGI_GET_VALUES with the names we know.  MORE, or BAD. */
static enum mfcgi_ev
get_values(struct mfcgi_in *in, const unsigned char *c, size_t len)
{
	struct mfcgi_buf	 res = { NULL, 0, 0 };
	size_t			 nl, vl, hl;
	enum mfcgi_ev		 ev = MFCGI_MORE;

	while (len > 0) {
		if ((hl = nv_lengths(c, len, &nl, &vl)) == 0) {
			in->why = "bad FCGI_GET_VALUES";
			ev = MFCGI_BAD;
			goto out;
		}
		for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
			if (strlen(values[i][0]) == nl &&
			    memcmp(values[i][0], c + hl, nl) == 0 &&
			    nv_put(&res, values[i][0], values[i][1]) == -1)
				goto nomem;
		c += hl + nl + vl;
		len -= hl + nl + vl;
	}
	if (res.len > MFCGI_CONTENT_MAX ||
	    mfcgi_out_record(&in->out, MFCGI_GET_VALUES_RESULT, 0, res.data,
	    res.len) == -1)
		goto nomem;
	goto out;
nomem:
	in->why = "out of memory";
	ev = MFCGI_BAD;
out:
	mfcgi_buf_free(&res);
	return ev;
}

static enum mfcgi_ev
nomem(struct mfcgi_in *in)
{
	in->why = "out of memory";
	return MFCGI_BAD;
}

static enum mfcgi_ev
check_ready(struct mfcgi_in *in)
{
	if (in->ready || !in->params_done || !in->stdin_done)
		return MFCGI_MORE;
	in->ready = 1;
	return MFCGI_READY;
}

/* Handles one record addressed to request id (not 0). */
static enum mfcgi_ev
app_record(struct mfcgi_in *in, int type, uint16_t id, const unsigned char *c,
    size_t len)
{
	unsigned char	 ps;

	if (type == MFCGI_BEGIN_REQUEST) {
		if (len != 8) {
			in->why = "FCGI_BEGIN_REQUEST of a wrong length";
			return MFCGI_BAD;
		}
		if (in->id == id) {
			in->why = "FCGI_BEGIN_REQUEST for an active request";
			return MFCGI_BAD;
		}
		ps = MFCGI_REQUEST_COMPLETE;
		if (in->id != 0)
			ps = MFCGI_CANT_MPX_CONN;
		else if (((c[0] << 8) | c[1]) != ROLE_RESPONDER)
			ps = MFCGI_UNKNOWN_ROLE;
		if (ps != MFCGI_REQUEST_COMPLETE) {
			/* Spec 5.5: refuse it with END_REQUEST; no stdout comes first. */
			unsigned char body[8] = { 0, 0, 0, 0, ps, 0, 0, 0 };

			if (mfcgi_out_record(&in->out, MFCGI_END_REQUEST, id,
			    body, sizeof(body)) == -1)
				return nomem(in);
			return MFCGI_MORE;
		}
		in->id = id;
		in->keep = (c[2] & FLAG_KEEP_CONN) != 0;
		return MFCGI_MORE;
	}
	/* Spec 3.3: records for a request that is not active are ignored. */
	if (id != in->id)
		return MFCGI_MORE;
	switch (type) {
	case MFCGI_ABORT_REQUEST:
		return MFCGI_ABORT;
	case MFCGI_PARAMS:
		if (in->params_done) {
			in->why = "FCGI_PARAMS after the end of the stream";
			return MFCGI_BAD;
		}
		if (len == 0) {
			in->params_done = 1;
			if (!in->too_large && params_decode(&in->params) == -1) {
				in->why = "malformed FCGI_PARAMS";
				return MFCGI_BAD;
			}
			return check_ready(in);
		}
		if (in->too_large)
			return MFCGI_MORE;
		if (len > in->paramsmax - in->params.len) {
			/* Drop them all; the request is answered M_TOO_LARGE. */
			in->too_large = 1;
			mfcgi_buf_free(&in->params);
			return MFCGI_MORE;
		}
		if (mfcgi_buf_add(&in->params, c, len) == -1)
			return nomem(in);
		return MFCGI_MORE;
	case MFCGI_STDIN:
		if (in->stdin_done) {
			in->why = "FCGI_STDIN after the end of the stream";
			return MFCGI_BAD;
		}
		if (len == 0) {
			in->stdin_done = 1;
			return check_ready(in);
		}
		if (len > in->bodymax - in->body.len) {
			/*
			 * Keep bodymax bytes: CONTENT_LENGTH past the limit
			 * gets M_TOO_LARGE before the body is looked at.
			 */
			len = in->bodymax - in->body.len;
			in->body_cut = 1;
		}
		if (mfcgi_buf_add(&in->body, c, len) == -1)
			return nomem(in);
		return MFCGI_MORE;
	default:
		/* FCGI_DATA (Filter role) and types a web server never sends. */
		return MFCGI_MORE;
	}
}

enum mfcgi_ev
mfcgi_in_parse(struct mfcgi_in *in)
{
	enum mfcgi_ev	 ev = MFCGI_MORE;
	size_t		 off = 0;

	while (ev == MFCGI_MORE && in->in.len - off >= MFCGI_HEADER_LEN) {
		const unsigned char	*h = in->in.data + off;
		size_t			 clen = ((size_t)h[4] << 8) | h[5], plen = h[6];
		uint16_t		 id = (uint16_t)((h[2] << 8) | h[3]);

		if (h[0] != 1) {
			in->why = "not FastCGI version 1";
			ev = MFCGI_BAD;
			break;
		}
		if (in->in.len - off < MFCGI_HEADER_LEN + clen + plen)
			break;
		if (id == 0) {
			/* Spec 4: management records. */
			if (h[1] == MFCGI_GET_VALUES)
				ev = get_values(in, h + MFCGI_HEADER_LEN, clen);
			else {
				unsigned char body[8] = { h[1], 0, 0, 0, 0, 0, 0, 0 };

				if (mfcgi_out_record(&in->out, MFCGI_UNKNOWN_TYPE,
				    0, body, sizeof(body)) == -1)
					ev = nomem(in);
			}
		} else
			ev = app_record(in, h[1], id, h + MFCGI_HEADER_LEN, clen);
		off += MFCGI_HEADER_LEN + clen + plen;
	}
	buf_consume(&in->in, off);
	return ev;
}

void
mfcgi_in_init(struct mfcgi_in *in, size_t paramsmax, size_t bodymax)
{
	memset(in, 0, sizeof(*in));
	in->paramsmax = paramsmax;
	in->bodymax = bodymax;
}

void
mfcgi_in_release(struct mfcgi_in *in)
{
	mfcgi_buf_free(&in->params);
	mfcgi_buf_free(&in->body);
}

void
mfcgi_in_end(struct mfcgi_in *in)
{
	mfcgi_in_release(in);
	in->id = 0;
	in->keep = in->params_done = in->stdin_done = in->ready = 0;
	in->too_large = in->body_cut = 0;
	in->why = NULL;
}

void
mfcgi_in_fini(struct mfcgi_in *in)
{
	mfcgi_in_release(in);
	mfcgi_buf_free(&in->in);
	mfcgi_buf_free(&in->out);
}
