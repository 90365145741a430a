/* The event loop of mfcgi_main_async: a waiting request costs memory, not a thread. */
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock/clock.h"
#include "fcgi/extern.h"
#include "log/log.h"
#include "notify/notify.h"
#include "store/store.h"

/*
 * Encoded PARAMS allowed per request.  nginx sends the request line and
 * every header as parameters; its default header buffers stop at 32 KiB.
 */
#define PARAMS_MAX	(128 * 1024)
#define READ_CHUNK	(64 * 1024)
#define READS_PER_EVENT	16		/* then other connections get a turn */
#define MAX_EVENTS	256
#define TRIM_AFTER	256	/* parked requests that make giving memory back worth it */
#define TRIM_REST_MS	1000	/* a worker idle this long gives its heap back */
/* glibc gives the top of an arena back on its own past this (see heap_setup). */
#define TRIM_ON_FREE	(256 * 1024 * 1024)
#define TRIM_AT_REST	(128 * 1024)	/* the same while a worker rests */
#define MMAP_FROM	(32 * 1024 * 1024)	/* allocations this large are mappings */
/* The longest epoll wait: a fake clock moved forward is noticed within it. */
#define WAIT_CAP_MS	1000
/* How long accept(2) rests after running out of descriptors. */
#define ACCEPT_REST_MS	100
/* How often the notify watcher looks whether the loop is stopping. */
#define WATCH_SLICE_MS	250
/* A worker gives up a response nginx does not read for this long. */
#define WRITE_TIMEOUT_MS 30000
/* Buckets of the parked-request counts; a power of two. */
#define PCOUNT_BUCKETS	4096
/* What a request refused a place to wait is told to wait before it asks again. */
#define PARK_RETRY_MS	5000

/*
 * Who owns a connection: the loop thread while it reads a request or
 * while the request is parked, one worker while it is queued or served.
 * Only the owner touches it; it changes hands through the work queue and
 * the return list, both under locks.
 */
enum cstate {
	CONN_READING,	/* loop: receiving a request; in the reading list */
	CONN_BUSY,	/* queued for, or served by, a worker */
	CONN_PARKED,	/* loop: waiting; in the deadline heap */
};

struct conn {
	int			 fd;
	enum cstate		 state;
	struct mfcgi_in		 in;
	struct mreq		 req;		/* req.impl is this conn */
	const struct mroute	*route;		/* NULL: answer the failure */
	int			 prepared;	/* route, body and URI done */
	char			*kept;		/* URI and address, kept past prepare */
	size_t			 bodyoff;	/* read so far by the pipeline */
	struct mfcgi_buf	 out;		/* the answer, while a worker writes it */
	uint32_t		 seq;		/* notify sequence before the handler ran */
	uint64_t		 topic_seen;	/* the topic ring's head then (lib/notify) */
	size_t			 slot;		/* index in the heap while parked */
	int			 counted;	/* holds a place in the parked counts */
	struct conn		*prev, *next;	/* reading list, queue or returns */
};

/*
 * How many requests wait for one user or one address: from a request's
 * first park until it is answered or dropped, whether it sits in the
 * heap or runs again after a wake-up.
 */
struct pcount {
	struct pcount	*next;		/* in its bucket */
	int		 n;
	char		 key[];		/* 'u' or 'a', then the user ID or address */
};

struct aloop;

struct aworker {
	pthread_t		 thread;
	struct aloop		*loop;
	struct mdb		*db;
	int			 id;
	int			 used;		/* served since it last gave its heap back */
	int64_t			 used_at;	/* monotonic ms it last served */
};

struct aloop {
	const struct mapp	*app;
	const struct mserver	*srv;
	int			 epfd;
	int			 lfd;		/* the listening socket */
	int			 wakefd;	/* eventfd: returns or a notify */
	int			 sigfd;
	int			 listening;	/* lfd is in the epoll set */
	int64_t			 rest_until;	/* monotonic ms: accept again then */
	unsigned char		*rbuf;		/* READ_CHUNK bytes for read(2) */
	struct conn		*reading;	/* CONN_READING, doubly linked */
	struct conn		**heap;		/* CONN_PARKED, by req.park_until */
	size_t			 heaplen;
	size_t			 heapcap;
	int			 trim;		/* many waited: give memory back once none do */
	size_t			 nconn;		/* connections alive */
	/* The work queue: the loop appends, workers take from the head. */
	pthread_mutex_t		 qlock;
	pthread_cond_t		 qcond;
	struct conn		*qhead, *qtail;
	int			 qquit;		/* workers leave once it is empty */
	/* Connections workers hand back: parked, or kept for the next request. */
	pthread_mutex_t		 rlock;
	struct conn		*returns;
	/* Parked counts: workers admit, whoever ends a request releases. */
	pthread_mutex_t		 plock;
	struct pcount		*pcounts[PCOUNT_BUCKETS];
	atomic_int		 notified;	/* the watcher saw the sequence move */
	atomic_int		 stopping;
	atomic_size_t		 live;		/* connections not yet freed */
};

/*
 * Real time for the accept back-off: a pause of the kernel's, which a
 * fake clock standing still must not make endless.  Deadlines of
 * requests are on lib/clock.
 */
static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Markers in epoll data for the loop's own descriptors. */
static char	 mark_listen, mark_wake, mark_sig;

static void
wake_loop(struct aloop *L)
{
	uint64_t one = 1;

	/* Only fails when the counter is full, and then the loop wakes anyway. */
	(void)!write(L->wakefd, &one, sizeof(one));
}

/*
 * The pipeline's view of a request received by the loop.
 */
static const char *
conn_param(void *ctx, const char *name)
{
	return mfcgi_in_param(&((struct conn *)ctx)->in, name);
}

static size_t
conn_read(void *ctx, char *buf, size_t len)
{
	struct conn	*c = ctx;
	size_t		 left = c->in.body.len - c->bodyoff;

	if (len > left)
		len = left;
	if (len > 0)
		memcpy(buf, c->in.body.data + c->bodyoff, len);
	c->bodyoff += len;
	return len;
}

static int
conn_write(void *ctx, const char *buf, size_t len)
{
	struct conn *c = ctx;

	return mfcgi_out_stdout(&c->out, c->in.id, buf, len);
}

/* FNV-1a of the kind byte and s: a bucket of the parked counts. */
static size_t
pcount_bucket(char kind, const char *s)
{
	uint32_t h = 2166136261u;

	h = (h ^ (unsigned char)kind) * 16777619u;
	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h & (PCOUNT_BUCKETS - 1);
}

/*
 * The count for kind and s, created at 0 when create is set.  Returns it
 * (borrowed), or NULL when absent or out of memory.  L->plock held.
 */
static struct pcount *
pcount_get(struct aloop *L, char kind, const char *s, int create)
{
	size_t		 b = pcount_bucket(kind, s), len = strlen(s);
	struct pcount	*p;

	for (p = L->pcounts[b]; p != NULL; p = p->next)
		if (p->key[0] == kind && strcmp(p->key + 1, s) == 0)
			return p;
	if (!create || (p = malloc(sizeof(*p) + len + 2)) == NULL)
		return NULL;
	p->n = 0;
	p->key[0] = kind;
	memcpy(p->key + 1, s, len + 1);
	p->next = L->pcounts[b];
	L->pcounts[b] = p;
	return p;
}

/* Frees p once nothing waits for its user or address.  L->plock held. */
static void
pcount_gc(struct aloop *L, struct pcount *p)
{
	struct pcount **pp;

	if (p == NULL || p->n > 0)
		return;
	for (pp = &L->pcounts[pcount_bucket(p->key[0], p->key + 1)]; *pp != NULL;
	    pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			free(p);
			return;
		}
}

/*
 * Gives c, which parks for the first time, a place among the requests
 * waiting for its user (max_parked_per_user) and its address
 * (max_parked_per_address).  A request without a user counts only for
 * its address.  Returns 0 when it may wait, 1 when a limit is reached,
 * -1 when out of memory.
 */
static int
park_admit(struct aloop *L, struct conn *c)
{
	const struct mconfig	*conf = L->srv->conf;
	const char		*user = c->req.auth.user_id, *addr = c->req.remote_addr;
	struct pcount		*u = NULL, *a = NULL;
	int			 rc = -1;

	pthread_mutex_lock(&L->plock);
	if ((user != NULL && (u = pcount_get(L, 'u', user, 1)) == NULL) ||
	    (addr != NULL && (a = pcount_get(L, 'a', addr, 1)) == NULL))
		goto out;
	if ((u != NULL && u->n >= conf->max_parked_per_user) ||
	    (a != NULL && a->n >= conf->max_parked_per_address)) {
		rc = 1;
		goto out;
	}
	if (u != NULL)
		u->n++;
	if (a != NULL)
		a->n++;
	c->counted = 1;
	mfcgi_metrics_parked(1);
	rc = 0;
out:
	pcount_gc(L, u);
	pcount_gc(L, a);
	pthread_mutex_unlock(&L->plock);
	return rc;
}

/* Gives back c's place, if it holds one; before its answer is sent. */
static void
park_release(struct aloop *L, struct conn *c)
{
	const char	*user = c->req.auth.user_id, *addr = c->req.remote_addr;
	struct pcount	*p;

	if (!c->counted)
		return;
	c->counted = 0;
	mfcgi_metrics_parked(-1);
	pthread_mutex_lock(&L->plock);
	if (user != NULL && (p = pcount_get(L, 'u', user, 0)) != NULL) {
		p->n--;
		pcount_gc(L, p);
	}
	if (addr != NULL && (p = pcount_get(L, 'a', addr, 0)) != NULL) {
		p->n--;
		pcount_gc(L, p);
	}
	pthread_mutex_unlock(&L->plock);
}

static void
conn_free(struct aloop *L, struct conn *c)
{
	if (c == NULL)
		return;
	park_release(L, c);
	if (c->fd != -1)
		close(c->fd);
	mfcgi_in_fini(&c->in);
	mfcgi_req_fini(&c->req);
	mfcgi_buf_free(&c->out);
	free(c->kept);
	free(c);
	atomic_fetch_sub(&L->live, 1);
}

/* Forgets the request; the connection may carry the next one. */
static void
conn_reset(struct aloop *L, struct conn *c)
{
	park_release(L, c);
	mfcgi_in_end(&c->in);
	mfcgi_req_fini(&c->req);
	mfcgi_buf_free(&c->out);
	free(c->kept);
	c->kept = NULL;
	c->route = NULL;
	c->prepared = 0;
	c->bodyoff = 0;
}

/*
 * Sends all of b on the non-blocking socket, waiting for room when the
 * peer is slow.  0, or -1 when the peer went or stalled.
 */
static int
send_all(int fd, struct mfcgi_buf *b, int timeout_ms)
{
	size_t off = 0;

	while (off < b->len) {
		ssize_t n = send(fd, b->data + off, b->len - off, MSG_NOSIGNAL);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK) && timeout_ms > 0) {
			struct pollfd pfd = { fd, POLLOUT, 0 };

			if (poll(&pfd, 1, timeout_ms) > 0)
				continue;
		}
		return -1;
	}
	mfcgi_buf_free(b);
	return 0;
}

/*
 * The deadline heap: a binary min-heap of parked connections by
 * req.park_until, each knowing its slot so that a hang-up removes it.
 */
static void
heap_set(struct aloop *L, size_t i, struct conn *c)
{
	L->heap[i] = c;
	c->slot = i;
}

static void
heap_up(struct aloop *L, size_t i)
{
	struct conn *c = L->heap[i];

	while (i > 0) {
		size_t p = (i - 1) / 2;

		if (L->heap[p]->req.park_until <= c->req.park_until)
			break;
		heap_set(L, i, L->heap[p]);
		i = p;
	}
	heap_set(L, i, c);
}

static void
heap_down(struct aloop *L, size_t i)
{
	struct conn *c = L->heap[i];

	for (;;) {
		size_t k = 2 * i + 1;

		if (k >= L->heaplen)
			break;
		if (k + 1 < L->heaplen &&
		    L->heap[k + 1]->req.park_until < L->heap[k]->req.park_until)
			k++;
		if (c->req.park_until <= L->heap[k]->req.park_until)
			break;
		heap_set(L, i, L->heap[k]);
		i = k;
	}
	heap_set(L, i, c);
}

static int
heap_push(struct aloop *L, struct conn *c)
{
	if (L->heaplen == L->heapcap) {
		size_t		 cap = L->heapcap != 0 ? L->heapcap * 2 : 64;
		struct conn	**n = reallocarray(L->heap, cap, sizeof(struct conn *));

		if (n == NULL)
			return -1;
		L->heap = n;
		L->heapcap = cap;
	}
	heap_set(L, L->heaplen++, c);
	heap_up(L, c->slot);
	return 0;
}

static void
heap_remove(struct aloop *L, struct conn *c)
{
	size_t		 i = c->slot;
	struct conn	*last = L->heap[--L->heaplen];

	if (i == L->heaplen)
		return;
	heap_set(L, i, last);
	heap_up(L, i);
	heap_down(L, last->slot);
}

static void
reading_add(struct aloop *L, struct conn *c)
{
	c->state = CONN_READING;
	c->prev = NULL;
	c->next = L->reading;
	if (L->reading != NULL)
		L->reading->prev = c;
	L->reading = c;
}

static void
reading_remove(struct aloop *L, struct conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		L->reading = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

/* Takes a loop-owned connection out of the loop's structures and epoll. */
static void
loop_detach(struct aloop *L, struct conn *c)
{
	if (c->state == CONN_READING)
		reading_remove(L, c);
	else if (c->state == CONN_PARKED)
		heap_remove(L, c);
	else
		return;		/* just handed back: not watched */
	epoll_ctl(L->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	c->state = CONN_BUSY;
}

/* Drops a loop-owned connection: the request, if any, goes unanswered. */
static void
drop(struct aloop *L, struct conn *c, const char *why)
{
	mlog_debug(c->prepared ? c->req.id : NULL, "connection dropped: %s", why);
	loop_detach(L, c);
	conn_free(L, c);
}

/* Whether what the topic ring got since c looked concerns it (see mfcgi_park_interest). */
static int
concerned(struct mnotify *n, struct conn *c)
{
	if (c->req.interest == NULL)
		return 1;
	return mnotify_concerns(n, &c->topic_seen, c->req.interest, c->req.ninterest);
}

/* Hands a connection to the workers. */
static void
dispatch(struct aloop *L, struct conn *c, enum mwake why)
{
	loop_detach(L, c);
	c->req.woken = why;
	if (why == MWAKE_NOTIFY)
		c->req.wakes++;
	c->next = NULL;
	pthread_mutex_lock(&L->qlock);
	if (L->qtail != NULL)
		L->qtail->next = c;
	else
		L->qhead = c;
	L->qtail = c;
	pthread_cond_signal(&L->qcond);
	pthread_mutex_unlock(&L->qlock);
}

/* Watches c's socket for input and hang-ups.  0 or -1. */
static int
watch(struct aloop *L, struct conn *c)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLRDHUP;
	ev.data.ptr = c;
	return epoll_ctl(L->epfd, EPOLL_CTL_ADD, c->fd, &ev);
}

/*
 * Parses what c has buffered and acts on it.  Returns 1 if c is still
 * the loop's to read, 0 if it was dispatched or freed.
 */
static int
conn_parse(struct aloop *L, struct conn *c)
{
	for (;;) {
		enum mfcgi_ev ev = mfcgi_in_parse(&c->in);

		/* Management replies go out now; they are small, so no waiting. */
		if (c->in.out.len > 0 && send_all(c->fd, &c->in.out, 0) == -1) {
			drop(L, c, "cannot send a management record");
			return 0;
		}
		switch (ev) {
		case MFCGI_MORE:
			return 1;
		case MFCGI_READY:
			dispatch(L, c, MWAKE_FIRST);
			return 0;
		case MFCGI_ABORT:
			/* Spec 5.4: the application answers ABORT_REQUEST with END_REQUEST. */
			if (mfcgi_out_end(&c->out, c->in.id, 0, MFCGI_REQUEST_COMPLETE) == -1 ||
			    send_all(c->fd, &c->out, 0) == -1 || !c->in.keep) {
				drop(L, c, "request aborted");
				return 0;
			}
			/* A kept connection: the next request may follow. */
			if (c->state == CONN_PARKED) {
				heap_remove(L, c);
				reading_add(L, c);
			}
			conn_reset(L, c);
			continue;
		case MFCGI_BAD:
			mlog_warn(NULL, "bad FastCGI input: %s", c->in.why);
			drop(L, c, "bad FastCGI input");
			return 0;
		}
		return 0;
	}
}

/* Reads from a loop-owned connection (receiving, or parked). */
static void
conn_input(struct aloop *L, struct conn *c)
{
	for (int i = 0; i < READS_PER_EVENT; i++) {
		ssize_t n = read(c->fd, L->rbuf, READ_CHUNK);

		if (n > 0) {
			if (mfcgi_buf_add(&c->in.in, L->rbuf, (size_t)n) == -1) {
				mlog_err(NULL, "%s: out of memory", __func__);
				drop(L, c, "out of memory");
				return;
			}
			if (!conn_parse(L, c))
				return;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		/*
		 * The peer closed: nginx does so when the client went away
		 * (fastcgi_ignore_client_abort off), or it gave up early.
		 */
		drop(L, c, n == 0 ? "peer closed" : strerror(errno));
		return;
	}
}

static void
accept_all(struct aloop *L)
{
	for (;;) {
		struct conn	*c;
		int		 fd = accept4(L->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/*
			 * Out of descriptors or memory: the backlog waits
			 * while connections close, rather than the loop
			 * spinning on a socket that stays readable.
			 */
			mlog_warn(NULL, "accept: %s", strerror(errno));
			epoll_ctl(L->epfd, EPOLL_CTL_DEL, L->lfd, NULL);
			L->listening = 0;
			L->rest_until = mono_ms() + ACCEPT_REST_MS;
			return;
		}
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		atomic_fetch_add(&L->live, 1);
		c->fd = fd;
		mfcgi_in_init(&c->in, PARAMS_MAX, (size_t)L->srv->conf->max_body_bytes);
		reading_add(L, c);
		if (watch(L, c) == -1) {
			drop(L, c, "epoll");
			continue;
		}
	}
}

static void
listen_resume(struct aloop *L)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = &mark_listen;
	if (epoll_ctl(L->epfd, EPOLL_CTL_ADD, L->lfd, &ev) == 0)
		L->listening = 1;
	else
		L->rest_until = mono_ms() + ACCEPT_REST_MS;
}

/* Takes a connection a worker handed back. */
static void
take_back(struct aloop *L, struct conn *c)
{
	struct mnotify	*n = L->srv->notify;

	if (c->req.park_until == 0) {
		/* Answered on a kept connection: read the next request. */
		reading_add(L, c);
		if (watch(L, c) == -1)
			drop(L, c, "epoll");
		else
			conn_parse(L, c);
		return;
	}
	/*
	 * The sequence moved while the handler looked: whatever it found
	 * may be stale already, and the watcher's wake-up has passed.
	 */
	if (n != NULL && mnotify_seq(n) != c->seq) {
		uint32_t seq = mnotify_seq(n);

		/* Read before the topics: a later bump wakes the watcher. */
		if (!concerned(n, c)) {
			c->seq = seq;
		} else {
			dispatch(L, c, MWAKE_NOTIFY);
			return;
		}
	}
	if (c->req.park_until <= mclock_now_ms()) {
		dispatch(L, c, MWAKE_TIMEOUT);
		return;
	}
	if (heap_push(L, c) == -1) {
		mlog_err(c->req.id, "%s: out of memory", __func__);
		conn_free(L, c);
		return;
	}
	c->state = CONN_PARKED;
	if (watch(L, c) == -1) {
		drop(L, c, "epoll");
		return;
	}
	/* Bytes that came with the request (an early abort) count now. */
	if (c->in.in.len > 0)
		conn_parse(L, c);
}

static void
take_returns(struct aloop *L)
{
	struct conn	*c, *next;

	pthread_mutex_lock(&L->rlock);
	c = L->returns;
	L->returns = NULL;
	pthread_mutex_unlock(&L->rlock);
	for (; c != NULL; c = next) {
		next = c->next;
		c->next = NULL;
		take_back(L, c);
	}
}

/* Every parked request runs again: the notify sequence moved. */
static void
wake_all(struct aloop *L, enum mwake why)
{
	while (L->heaplen > 0)
		dispatch(L, L->heap[L->heaplen - 1], why);
}

/*
 * The notify sequence moved: the parked requests that what was published
 * since they looked concerns run again (all of those without an
 * interest); the others keep waiting, their place in the ring moved on.
 * Picked first, then dispatched: dispatching reorders the heap.
 */
static void
wake_concerned(struct aloop *L)
{
	struct mnotify	*n = L->srv->notify;
	struct conn	*list = NULL, *c, *next;
	uint32_t	 seq = mnotify_seq(n);

	for (size_t i = 0; i < L->heaplen; i++) {
		c = L->heap[i];
		if (concerned(n, c)) {
			c->next = list;
			list = c;
		} else
			c->seq = seq;
	}
	for (c = list; c != NULL; c = next) {
		next = c->next;
		dispatch(L, c, MWAKE_NOTIFY);
	}
}

static void
expire(struct aloop *L)
{
	int64_t now = mclock_now_ms();

	while (L->heaplen > 0 && L->heap[0]->req.park_until <= now)
		dispatch(L, L->heap[0], MWAKE_TIMEOUT);
}

static int
next_timeout(struct aloop *L)
{
	int64_t	 now = mclock_now_ms(), t = WAIT_CAP_MS;

	if (L->heaplen > 0 && L->heap[0]->req.park_until - now < t)
		t = L->heap[0]->req.park_until - now;
	if (!L->listening && L->rest_until - mono_ms() < t)
		t = L->rest_until - mono_ms();
	return t > 0 ? (int)t : 0;
}

/*
 * Keeps only what a parked request needs: the URI and the address the
 * handler may read.  The parameters and the body (parsed into req->body)
 * go, which is most of what nginx sent.
 */
static void
conn_compact(struct conn *c)
{
	struct mreq	*req = &c->req;
	size_t		 ul = strlen(req->uri) + 1;
	size_t		 al = req->remote_addr != NULL ? strlen(req->remote_addr) + 1 : 0;
	const char	*q;

	if ((c->kept = malloc(ul + al)) == NULL)
		return;		/* keep the parameters instead */
	memcpy(c->kept, req->uri, ul);
	req->uri = c->kept;
	q = strchr(req->uri, '?');
	req->query = q != NULL ? q + 1 : "";
	if (req->remote_addr != NULL) {
		memcpy(c->kept + ul, req->remote_addr, al);
		req->remote_addr = c->kept + ul;
	}
	mfcgi_in_release(&c->in);
}

/* Hands c back to the loop. */
static void
give_back(struct aloop *L, struct conn *c)
{
	pthread_mutex_lock(&L->rlock);
	c->next = L->returns;
	L->returns = c;
	pthread_mutex_unlock(&L->rlock);
	wake_loop(L);
}

/*
 * A request parks for the first time: 0 when it may wait, or -1 with it
 * failed.  Waiting requests each hold a connection in nginx and one
 * here; without a limit one user's crowd of them takes every connection
 * nginx has, and every other client is refused.
 * Raises 429 M_LIMIT_EXCEEDED with retry_after_ms (spec: C-S API, "Rate
 * limiting") past max_parked_per_user or max_parked_per_address.
 */
static int
park_wait(struct aloop *L, struct conn *c)
{
	struct mreq *req = &c->req;

	switch (park_admit(L, c)) {
	case 0:
		return 0;
	case 1:
		req->park_until = 0;
		mlog_debug(req->id, "too many requests waiting: refused");
		mfcgi_fail(req, MERR_LIMITED, "Too many requests waiting");
		return mfcgi_fail_add(req, "retry_after_ms", json_integer(PARK_RETRY_MS));
	default:
		req->park_until = 0;
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	}
}

/* A worker serves c: first run, or a wake-up of a parked request. */
static void
serve(struct aworker *w, struct conn *c)
{
	struct aloop	*L = w->loop;
	struct mreq	*req = &c->req;
	struct mfcgi_io	 io = { c, conn_param, conn_read, conn_write };
	struct mnotify	*n = L->srv->notify;

	if (!c->prepared) {
		mfcgi_req_init(req, L->srv, NULL);
		req->impl = c;
		if (c->in.too_large)
			mfcgi_fail(req, MERR_TOO_LARGE, "Request headers too large");
		else
			c->route = mfcgi_req_prepare(req, L->app, &io);
		conn_compact(c);
		c->prepared = 1;
	}
	if (c->route != NULL && !req->failed) {
		req->db = w->db;
		/*
		 * Read before the handler looks, so no bump is missed: the
		 * ring's head first, as commits publish before they bump.
		 */
		c->topic_seen = n != NULL ? mnotify_topic_head(n) : 0;
		c->seq = n != NULL ? mnotify_seq(n) : 0;
		free(req->interest);
		req->interest = NULL;
		req->ninterest = 0;
		if (mfcgi_req_run(req, c->route) == 1) {
			req->db = NULL;
			if (atomic_load(&L->stopping)) {
				mlog_debug(req->id, "parked while stopping: dropped");
				conn_free(L, c);
				return;
			}
			if (c->counted || park_wait(L, c) == 0) {
				give_back(L, c);
				return;
			}
		}
		req->db = NULL;
	}
	/* The place goes back before the client can ask again. */
	park_release(L, c);
	mfcgi_req_respond(req, &io);
	if (mfcgi_out_end(&c->out, c->in.id, 0, MFCGI_REQUEST_COMPLETE) == -1) {
		mlog_err(req->id, "%s: out of memory", __func__);
		conn_free(L, c);
		return;
	}
	/*
	 * The worker writes, not the loop: nginx reads its upstreams at
	 * once, so this rarely waits, and the answer is never copied again.
	 */
	if (send_all(c->fd, &c->out, WRITE_TIMEOUT_MS) == -1) {
		mlog_debug(req->id, "answer not sent: %s", strerror(errno));
		conn_free(L, c);
		return;
	}
	if (!c->in.keep || atomic_load(&L->stopping)) {
		conn_free(L, c);
		return;
	}
	conn_reset(L, c);
	give_back(L, c);
}

/*
 * Gives freed heap back to the system (malloc_trim), and with own_top
 * the top of the calling thread's arena too (see heap_rest).  One at a
 * time: the lowered threshold is the whole process's, so one thread
 * putting it back must not come between another's lowering and its
 * free; and glibc sets malloc_trim's state up on its first call without
 * a lock, so that under a sanitizer, whose malloc is not glibc's, two
 * workers' first trims at once crashed myelin-sync (test_stack, ASan).
 */
static pthread_mutex_t	trim_lock = PTHREAD_MUTEX_INITIALIZER;

static void
heap_trim(int own_top)
{
	void	*p;

	pthread_mutex_lock(&trim_lock);
	if (own_top && mallopt(M_TRIM_THRESHOLD, TRIM_AT_REST) == 1) {
		if ((p = malloc(2 * TRIM_AT_REST)) != NULL)
			*(volatile char *)p = 0;
		free(p);
		mallopt(M_TRIM_THRESHOLD, TRIM_ON_FREE);
	}
	malloc_trim(0);
	mfcgi_metrics_trimmed();
	pthread_mutex_unlock(&trim_lock);
}

/* Monotonic ms to the absolute time qcond waits with (CLOCK_MONOTONIC). */
static void
ms_timespec(int64_t ms, struct timespec *ts)
{
	ts->tv_sec = (time_t)(ms / 1000);
	ts->tv_nsec = (long)(ms % 1000) * 1000000;
}

/*
 * A worker has rested TRIM_REST_MS since it last served: what its
 * requests freed goes back to the system.  Not after each request: the
 * next would fault every page in again, some 12,000 faults (a third of
 * its time) for an initial /sync at 1,000 rooms.  malloc_trim gives
 * back the free pages inside every arena and the top of the main one;
 * the top of this thread's own arena goes back only when the thread
 * frees a large block while the top is past M_TRIM_THRESHOLD, so the
 * worker lowers it for one such free.  Another worker freeing in that
 * moment gives its top back too, which costs it faults, nothing else.
 */
static void
heap_rest(struct aworker *w)
{
	w->used = 0;
	heap_trim(1);
}

static void *
worker_main(void *arg)
{
	struct aworker	*w = arg;
	struct aloop	*L = w->loop;

	/* Each thread has its own connection: neither engine shares one well. */
	if ((w->db = mfcgi_db_open(L->app, L->srv->conf, L->srv->notify)) == NULL)
		mlog_err(NULL, "worker %d: no database connection", w->id);
	for (;;) {
		struct conn *c;

		pthread_mutex_lock(&L->qlock);
		while (L->qhead == NULL && !L->qquit) {
			struct timespec	 until;

			if (!w->used) {
				pthread_cond_wait(&L->qcond, &L->qlock);
				continue;
			}
			ms_timespec(w->used_at + TRIM_REST_MS, &until);
			if (pthread_cond_timedwait(&L->qcond, &L->qlock, &until) == ETIMEDOUT &&
			    L->qhead == NULL && !L->qquit) {
				pthread_mutex_unlock(&L->qlock);
				heap_rest(w);
				pthread_mutex_lock(&L->qlock);
			}
		}
		if ((c = L->qhead) == NULL) {
			pthread_mutex_unlock(&L->qlock);
			break;
		}
		if ((L->qhead = c->next) == NULL)
			L->qtail = NULL;
		c->next = NULL;
		pthread_mutex_unlock(&L->qlock);
		serve(w, c);
		/*
		 * Served (answered, parked or dropped): the connection's caches
		 * go back to their size at rest, and the heap once the worker
		 * rests (heap_rest).
		 */
		mdb_rest(w->db);
		w->used = 1;
		w->used_at = mono_ms();
	}
	mdb_close(w->db);
	return NULL;
}

/* Blocks in the notify segment and tells the loop when the sequence moves. */
static void *
watcher_main(void *arg)
{
	struct aloop	*L = arg;
	struct mnotify	*n = L->srv->notify;
	uint32_t	 seen = mnotify_seq(n);

	while (!atomic_load(&L->stopping)) {
		uint32_t cur = mnotify_wait(n, seen, WATCH_SLICE_MS);

		if (cur != seen) {
			seen = cur;
			atomic_store(&L->notified, 1);
			wake_loop(L);
		}
	}
	return NULL;
}

/* Returns 1 to go on, 0 on a stop signal. */
static int
on_signal(struct aloop *L)
{
	struct signalfd_siginfo	 si;

	while (read(L->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		if (si.ssi_signo != SIGHUP)
			return 0;
	return 1;
}

static int
loop_add(struct aloop *L, int fd, void *mark)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = mark;
	return epoll_ctl(L->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void
run(struct aloop *L)
{
	struct epoll_event	 evs[MAX_EVENTS];

	for (;;) {
		int n = epoll_wait(L->epfd, evs, MAX_EVENTS, next_timeout(L));

		if (n == -1 && errno != EINTR) {
			mlog_err(NULL, "epoll_wait: %s", strerror(errno));
			return;
		}
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;

			if (p == &mark_listen)
				accept_all(L);
			else if (p == &mark_sig) {
				if (!on_signal(L))
					return;
			} else if (p == &mark_wake) {
				uint64_t v;

				(void)!read(L->wakefd, &v, sizeof(v));
				take_returns(L);
				if (atomic_exchange(&L->notified, 0))
					wake_concerned(L);
			} else
				conn_input(L, p);
		}
		expire(L);
		if (!L->listening && mono_ms() >= L->rest_until)
			listen_resume(L);
		/*
		 * After a crowd of long-polls has gone, hand the memory it took
		 * back to the system rather than keep it for the next crowd.
		 */
		if (L->heaplen > TRIM_AFTER)
			L->trim = 1;
		else if (L->heaplen == 0 && L->trim) {
			L->trim = 0;
			heap_trim(0);
		}
	}
}

/*
 * Stopping: no new connections, requests being received are dropped,
 * parked ones run once more with MWAKE_TIMEOUT so that their clients
 * get an answer, and the workers finish the queue.
 */
static void
stop(struct aloop *L, struct aworker *workers, int nworkers, pthread_t *watcher)
{
	struct conn *c;

	atomic_store(&L->stopping, 1);
	if (L->lfd != -1) {
		if (L->listening)
			epoll_ctl(L->epfd, EPOLL_CTL_DEL, L->lfd, NULL);
		close(L->lfd);
		L->lfd = -1;
	}
	take_returns(L);
	while (L->reading != NULL)
		drop(L, L->reading, "stopping");
	wake_all(L, MWAKE_TIMEOUT);
	pthread_mutex_lock(&L->qlock);
	L->qquit = 1;
	pthread_cond_broadcast(&L->qcond);
	pthread_mutex_unlock(&L->qlock);
	for (int i = 0; i < nworkers; i++)
		pthread_join(workers[i].thread, NULL);
	if (watcher != NULL)
		pthread_join(*watcher, NULL);
	/* Kept connections handed back during the drain. */
	while ((c = L->returns) != NULL) {
		L->returns = c->next;
		conn_free(L, c);
	}
	while (L->heaplen > 0) {
		c = L->heap[--L->heaplen];
		conn_free(L, c);
	}
}

/*
 * The heap is given back when a worker rests (heap_rest), not by glibc
 * as each request frees it: by default an arena's top goes back once it
 * passes a threshold that glibc moves with the largest mapping freed,
 * so that every large answer faulted its pages in again.  Fixing the
 * threshold also fixes when an allocation is a mapping of its own, which
 * the default moved as well: at MMAP_FROM, an answer's buffers come from
 * the heap, kept for the next one.
 */
static void
heap_setup(void)
{
	if (mallopt(M_TRIM_THRESHOLD, TRIM_ON_FREE) != 1 ||
	    mallopt(M_MMAP_THRESHOLD, MMAP_FROM) != 1)
		mlog_info(NULL, "mallopt: the heap keeps glibc's thresholds");
}

/* Workers wait on it with a deadline in mono_ms (see worker_main). */
static void
qcond_init(pthread_cond_t *cv)
{
	pthread_condattr_t	 ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(cv, &ca);
	pthread_condattr_destroy(&ca);
}

/* More descriptors: each waiting request holds one. */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			mlog_warn(NULL, "setrlimit: %s", strerror(errno));
	}
}

int
mfcgi_main_async(const struct mapp *app, int argc, char *argv[])
{
	struct mfcgi_start	 st;
	struct aloop		 L;
	struct aworker		*workers = NULL;
	pthread_t		 watcher;
	int			 rc, nworkers = 0, watching = 0;

	if ((rc = mfcgi_start(app, argc, argv, &st)) != -1)
		return rc;
	rc = 1;
	memset(&L, 0, sizeof(L));
	L.app = st.app;
	L.srv = &st.srv;
	L.epfd = L.wakefd = L.sigfd = L.lfd = -1;
	pthread_mutex_init(&L.qlock, NULL);
	qcond_init(&L.qcond);
	pthread_mutex_init(&L.rlock, NULL);
	pthread_mutex_init(&L.plock, NULL);
	raise_nofile();
	heap_setup();
	if ((L.rbuf = malloc(READ_CHUNK)) == NULL ||
	    (L.epfd = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    (L.wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    (L.sigfd = signalfd(-1, &st.sigs, SFD_NONBLOCK | SFD_CLOEXEC)) == -1 ||
	    loop_add(&L, L.wakefd, &mark_wake) == -1 ||
	    loop_add(&L, L.sigfd, &mark_sig) == -1) {
		mlog_err(NULL, "%s: cannot set up the event loop: %s", __func__,
		    strerror(errno));
		goto out;
	}
	if ((L.lfd = mfcgi_listen(st.sockpath)) == -1)
		goto out;
	if (fcntl(L.lfd, F_SETFL, O_NONBLOCK) == -1 ||
	    loop_add(&L, L.lfd, &mark_listen) == -1) {
		mlog_err(NULL, "%s: %s", st.sockpath, strerror(errno));
		goto out;
	}
	L.listening = 1;
	if (mfcgi_sandbox(&st) == -1 ||
	    (workers = calloc((size_t)st.threads, sizeof(*workers))) == NULL)
		goto out;
	for (; nworkers < st.threads; nworkers++) {
		workers[nworkers].loop = &L;
		workers[nworkers].id = nworkers;
		if (pthread_create(&workers[nworkers].thread, NULL, worker_main,
		    &workers[nworkers]) != 0) {
			mlog_err(NULL, "cannot start thread %d", nworkers);
			goto out;
		}
	}
	if (st.srv.notify != NULL) {
		if (pthread_create(&watcher, NULL, watcher_main, &L) != 0) {
			mlog_err(NULL, "cannot start the notify watcher");
			goto out;
		}
		watching = 1;
	} else
		mlog_warn(NULL, "no notify segment: parked requests wake only at their deadline");
	mlog_info(NULL, "serving on %s with %d threads (event loop)", st.sockpath,
	    st.threads);
	run(&L);
	rc = 0;
out:
	stop(&L, workers, nworkers, watching ? &watcher : NULL);
	mfcgi_unlisten(st.sockpath);
	if (atomic_load(&L.live) != 0)
		mlog_err(NULL, "%zu connections left at exit", atomic_load(&L.live));
	for (size_t b = 0; b < PCOUNT_BUCKETS; b++)
		while (L.pcounts[b] != NULL) {
			struct pcount *p = L.pcounts[b];

			/* NEVER: every request gave its place back when it ended. */
			mlog_err(NULL, "%s: %d parked requests not counted out", p->key, p->n);
			L.pcounts[b] = p->next;
			free(p);
		}
	free(workers);
	free(L.heap);
	free(L.rbuf);
	if (L.sigfd != -1)
		close(L.sigfd);
	if (L.wakefd != -1)
		close(L.wakefd);
	if (L.epfd != -1)
		close(L.epfd);
	pthread_mutex_destroy(&L.qlock);
	pthread_cond_destroy(&L.qcond);
	pthread_mutex_destroy(&L.rlock);
	pthread_mutex_destroy(&L.plock);
	mfcgi_start_fini(&st);
	if (rc == 0)
		mlog_info(NULL, "stopped");
	return rc;
}
