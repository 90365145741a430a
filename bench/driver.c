/*
 * bench/driver: the workload driver of myelin's benchmark.
 *
 * One process drives a Matrix homeserver over HTTP with many concurrent
 * transfers on kept-alive connections (libcurl's multi interface), runs
 * the workloads named on the command line and prints one JSON object of
 * figures on stdout.  It speaks only the client-server API, so --base
 * can point it at any homeserver.
 *
 * A workload is one function in the table at the bottom.  One that
 * cannot be measured has no function, only the reason, and its figure is
 * printed as null with that reason under "skipped": never a made-up
 * number.
 *
 * Traffic is described by a struct load: prep() sets up the request for
 * one item (a user to register, a message to send) at its current step,
 * check() judges the answer and may ask for another step of the same item
 * (the second POST of user-interactive auth).  run_load() keeps
 * the load's concurrency of items in flight until a count is done or a
 * time is up.  Set-up requests go one at a time through call().
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#define EXTRA_USERS	32	/* registered by workloads for themselves */

struct buf {
	char	*p;
	size_t	 len, cap;
};

struct user {
	char	*name;		/* localpart asked for */
	char	*user_id;	/* set once registered */
	char	*token;		/* newest access token */
	char	*profile_path;	/* GET /profile/{userId}, escaped */
	char	*since;		/* next_batch of its last /sync */
};

struct slot {
	CURL			*h;
	struct curl_slist	*hdrs;
	struct buf		 resp;
	char			*body;
	char			*session;	/* UIA session of this item */
	long			 item;
	int			 step;
	double			 t0, t1;	/* request sent, answer read */
};

struct bench {
	const char	*base;		/* without a trailing slash */
	int		 concurrency;
	long		 nusers;
	double		 duration;	/* of each throughput workload */
	long		 nrooms;	/* create_room */
	long		 nlongpolls;	/* longpoll */
	const char	*password;
	char		*prefix;	/* of the usernames of this run */
	const char	*mem_cmd;
	int		 two_step;	/* register: first POST without auth */
	CURLM		*multi;
	struct slot	*slots;
	int		 nslots;
	struct user	*users;		/* nusers + EXTRA_USERS of them */
	long		 nextra;	/* extra users registered so far */
	long		*live;		/* indices of registered users */
	long		 nlive;
	char		*seq_room;	/* send_seq's room, 500 messages in it */
	struct user	*seq_user;
	json_t		*out, *skipped, *failed, *details;
};

struct load {
	const char	*name;
	long		 items;		/* count-bound: this many items */
	double		 seconds;	/* time-bound (items == 0): this long */
	int		 conc;		/* items in flight; 0: --concurrency */
	void		(*prep)(struct bench *, struct load *, struct slot *);
	/* 0: item done, 1: send its next step, -1: failed (load_err called) */
	int		(*check)(struct bench *, struct load *, struct slot *, long);
	/* What the items work on, as the workload sets it. */
	struct user	**who;
	long		 nwho;
	char		**rooms;
	long		 nrooms;
	char		*from;		/* messages_page: the next page's token */
	long		 pages;		/* messages_page: pages before the top again */
	/* Results. */
	long		 ok, errors;
	double		 start, end;
	double		*lat;		/* ms, one per HTTP request or sample */
	size_t		 nlat, latcap;
	char		 err[256];	/* the first error */
};

struct workload {
	const char	*name;		/* on the command line */
	const char	*figure;	/* its key in the output */
	void		(*run)(struct bench *, const struct workload *);
	const char	*skip;		/* why it is not measured (run NULL) */
};

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list	ap;

	fputs("driver: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void *
xmalloc(size_t n)
{
	void	*p;

	if ((p = calloc(1, n == 0 ? 1 : n)) == NULL)
		die("out of memory");
	return p;
}

static char *
xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		die("out of memory");
	return p;
}

static char * __attribute__((format(printf, 1, 2)))
xasprintf(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n == -1)
		die("out of memory");
	return s;
}

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* x rounded to d decimals, as a JSON number. */
static json_t *
jnum(double x, int d)
{
	double	m = d == 1 ? 10 : d == 2 ? 100 : 1000;

	return json_real((double)(long long)(x * m + (x < 0 ? -0.5 : 0.5)) / m);
}

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	struct buf	*b = arg;
	size_t		 len = size * n;

	if (b->len + len + 1 > b->cap) {
		size_t	 cap = b->cap == 0 ? 4096 : b->cap;
		char	*np;

		while (cap < b->len + len + 1)
			cap *= 2;
		if ((np = realloc(b->p, cap)) == NULL)
			return 0;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, len);
	b->len += len;
	b->p[b->len] = '\0';
	return len;
}

/* The reply of the slot's last request as JSON, or NULL. */
static json_t *
reply_json(struct slot *s)
{
	return s->resp.len == 0 ? NULL : json_loadb(s->resp.p, s->resp.len, 0, NULL);
}

static void __attribute__((format(printf, 2, 3)))
load_err(struct load *l, const char *fmt, ...)
{
	va_list	ap;

	if (l->err[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(l->err, sizeof(l->err), fmt, ap);
	va_end(ap);
}

/* An unexpected answer: its status and the start of its body. */
static int
bad_reply(struct load *l, struct slot *s, long status)
{
	load_err(l, "HTTP %ld: %.160s", status, s->resp.len ? s->resp.p : "");
	return -1;
}

/*
 * Sets the slot up for one request: method (GET, POST, PUT), base + path,
 * a JSON body or none, an access token or none.
 */
static void
request(struct bench *b, struct slot *s, const char *method, const char *path,
    json_t *body, const char *token)
{
	char	*url, *auth;

	curl_easy_reset(s->h);
	curl_slist_free_all(s->hdrs);
	s->hdrs = NULL;
	free(s->body);
	s->body = NULL;
	s->resp.len = 0;
	url = xasprintf("%s%s", b->base, path);
	curl_easy_setopt(s->h, CURLOPT_URL, url);
	free(url);
	curl_easy_setopt(s->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s->h, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(s->h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(s->h, CURLOPT_WRITEDATA, &s->resp);
	curl_easy_setopt(s->h, CURLOPT_PRIVATE, s);
	if (token != NULL) {
		auth = xasprintf("Authorization: Bearer %s", token);
		s->hdrs = curl_slist_append(s->hdrs, auth);
		free(auth);
	}
	if (body != NULL) {
		if ((s->body = json_dumps(body, JSON_COMPACT)) == NULL)
			die("out of memory");
		s->hdrs = curl_slist_append(s->hdrs, "Content-Type: application/json");
		s->hdrs = curl_slist_append(s->hdrs, "Expect:");
		curl_easy_setopt(s->h, CURLOPT_POSTFIELDS, s->body);
		curl_easy_setopt(s->h, CURLOPT_POSTFIELDSIZE, (long)strlen(s->body));
	}
	if (strcmp(method, "PUT") == 0)
		curl_easy_setopt(s->h, CURLOPT_CUSTOMREQUEST, "PUT");
	if (s->hdrs != NULL)
		curl_easy_setopt(s->h, CURLOPT_HTTPHEADER, s->hdrs);
}

static struct slot *
slot(struct bench *b, int i)
{
	struct slot	*s = &b->slots[i];

	if (s->h == NULL && (s->h = curl_easy_init()) == NULL)
		die("curl_easy_init failed");
	return s;
}

static void
add(struct bench *b, struct slot *s)
{
	CURLMcode	rc;

	s->t0 = now();
	if ((rc = curl_multi_add_handle(b->multi, s->h)) != CURLM_OK)
		die("curl_multi_add_handle: %s", curl_multi_strerror(rc));
}

/* A finished transfer, now out of the multi handle, or NULL. */
static struct slot *
finished(struct bench *b, CURLcode *cc)
{
	CURLMsg		*m;
	struct slot	*s;
	char		*priv;
	int		 left;

	while ((m = curl_multi_info_read(b->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		*cc = m->data.result;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
		s = (struct slot *)(void *)priv;
		s->t1 = now();
		curl_multi_remove_handle(b->multi, s->h);
		return s;
	}
	return NULL;
}

#define FOREVER	1e18

/*
 * Moves the transfers in flight until one finishes (returned) or the
 * time until has come (NULL).
 */
static struct slot *
drive(struct bench *b, double until, CURLcode *cc)
{
	struct slot	*s;
	CURLMcode	 mc;
	double		 t, ms;
	int		 running;

	for (;;) {
		if ((s = finished(b, cc)) != NULL)
			return s;
		if ((mc = curl_multi_perform(b->multi, &running)) != CURLM_OK)
			die("curl_multi_perform: %s", curl_multi_strerror(mc));
		if ((s = finished(b, cc)) != NULL)
			return s;
		if ((t = now()) >= until)
			return NULL;
		ms = (until - t) * 1000 + 1;
		if ((mc = curl_multi_poll(b->multi, NULL, 0, ms > 100 ? 100 : (int)ms,
		    NULL)) != CURLM_OK)
			die("curl_multi_poll: %s", curl_multi_strerror(mc));
	}
}

static long
status_of(struct slot *s, CURLcode cc)
{
	long	status = 0;

	if (cc == CURLE_OK)
		curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

static void
lat_add(struct load *l, double ms)
{
	if (l->nlat == l->latcap) {
		l->latcap = l->latcap ? l->latcap * 2 : 4096;
		if ((l->lat = realloc(l->lat, l->latcap * sizeof(*l->lat))) == NULL)
			die("out of memory");
	}
	l->lat[l->nlat++] = ms;
}

static void
start(struct bench *b, struct load *l, struct slot *s)
{
	l->prep(b, l, s);
	add(b, s);
}

static int
more(const struct load *l, long next, double t)
{
	if (l->items > 0)
		return next < l->items;
	return t < l->start + l->seconds;
}

/* Runs the load with its concurrency of items in flight until done. */
static void
run_load(struct bench *b, struct load *l)
{
	struct slot	*s;
	CURLcode	 cc = CURLE_OK;
	long		 next = 0;
	int		 conc = l->conc > 0 ? l->conc : b->concurrency;
	int		 active = 0, i, r;

	if (conc > b->nslots)
		conc = b->nslots;
	l->start = l->end = now();
	for (i = 0; i < conc && more(l, next, l->start); i++) {
		s = slot(b, i);
		s->item = next++;
		s->step = 0;
		start(b, l, s);
		active++;
	}
	while (active > 0) {
		if ((s = drive(b, FOREVER, &cc)) == NULL)
			continue;
		active--;
		lat_add(l, (s->t1 - s->t0) * 1000);
		if (cc != CURLE_OK) {
			load_err(l, "%s", curl_easy_strerror(cc));
			r = -1;
		} else
			r = l->check(b, l, s, status_of(s, cc));
		if (r == 1) {
			s->step++;
			start(b, l, s);
			active++;
			continue;
		}
		if (r == 0)
			l->ok++;
		else
			l->errors++;
		l->end = s->t1;
		if (more(l, next, s->t1)) {
			s->item = next++;
			s->step = 0;
			start(b, l, s);
			active++;
		}
	}
}

/*
 * One request on its own, for set-up (nothing else may be in flight):
 * its HTTP status, 0 if none came; *reply gets the answer as JSON or NULL,
 * and *ms (unless NULL) the time to the answer's end, before it is parsed.
 */
static long
call_ms(struct bench *b, const char *method, const char *path, json_t *body,
    const char *token, json_t **reply, double *ms)
{
	struct slot	*s = slot(b, 0);
	CURLcode	 cc = CURLE_OK;
	double		 t;

	/*
	 * A timed call starts on a settled heap: glibc consolidates the
	 * small blocks freed with the last large answer's JSON at the next
	 * large allocation, which libcurl makes during the transfer; after
	 * a 3.7 MB /sync that cost the next one's timing some 25 ms.
	 */
	if (ms != NULL)
		malloc_trim(0);
	t = now();
	request(b, s, method, path, body, token);
	add(b, s);
	while (drive(b, FOREVER, &cc) == NULL)
		;
	/* The answer's last byte, not the driver's own parse of it. */
	if (ms != NULL)
		*ms = (now() - t) * 1000;
	if (reply != NULL)
		*reply = reply_json(s);
	return status_of(s, cc);
}

static long
call(struct bench *b, const char *method, const char *path, json_t *body,
    const char *token, json_t **reply)
{
	return call_ms(b, method, path, body, token, reply, NULL);
}

/* s escaped for a URL path or query (malloc'd). */
static char *
esc(struct bench *b, const char *s)
{
	char	*e, *r;

	if ((e = curl_easy_escape(slot(b, 0)->h, s, 0)) == NULL)
		die("out of memory");
	r = xstrdup(e);
	curl_free(e);
	return r;
}

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* {"p50": …, "p95": …, "p99": …} in ms over the load's samples. */
static json_t *
percentiles(struct load *l)
{
	json_t	*o;

	if (l->nlat == 0)
		return json_null();
	qsort(l->lat, l->nlat, sizeof(*l->lat), cmp_double);
	o = json_object();
	json_object_set_new(o, "p50", jnum(l->lat[(l->nlat - 1) * 50 / 100], 2));
	json_object_set_new(o, "p95", jnum(l->lat[(l->nlat - 1) * 95 / 100], 2));
	json_object_set_new(o, "p99", jnum(l->lat[(l->nlat - 1) * 99 / 100], 2));
	return o;
}

/*
 * Runs --mem-cmd (a command printing the memory of the server under test
 * in kB) and returns its answer, or NULL when there is none.
 */
static json_t *
mem_sample(struct bench *b)
{
	FILE	*f;
	char	 line[64];
	long	 kb;
	char	*end;

	if (b->mem_cmd == NULL || (f = popen(b->mem_cmd, "r")) == NULL)
		return NULL;
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	pclose(f);
	errno = 0;
	kb = strtol(line, &end, 10);
	if (errno != 0 || end == line || kb <= 0)
		return NULL;
	return json_integer(kb);
}

/* The load's details under "details", by workload name. */
static json_t *
details(struct bench *b, const struct workload *w, struct load *l)
{
	json_t	*d = json_object(), *mem;

	json_object_set_new(d, "ok", json_integer(l->ok));
	json_object_set_new(d, "errors", json_integer(l->errors));
	json_object_set_new(d, "seconds", jnum(l->end - l->start, 3));
	json_object_set_new(d, "samples", json_integer((json_int_t)l->nlat));
	json_object_set_new(d, "latency_ms", percentiles(l));
	if (l->err[0] != '\0')
		json_object_set_new(d, "first_error", json_string(l->err));
	if ((mem = mem_sample(b)) != NULL)
		json_object_set_new(d, "memory_after_kb", mem);
	json_object_set_new(b->details, w->name, d);
	return d;
}

static void
fail(struct bench *b, const struct workload *w, const char *why)
{
	json_object_set_new(b->out, w->figure, json_null());
	json_object_set_new(b->failed, w->figure, json_string(why));
}

/* fail() with the reason made by printf. */
static void __attribute__((format(printf, 3, 4)))
failf(struct bench *b, const struct workload *w, const char *fmt, ...)
{
	va_list	ap;
	char	why[320];

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	fail(b, w, why);
}

/* Fails the workload over a set-up request that did not answer 200. */
static void
setup_fail(struct bench *b, const struct workload *w, const char *what, long status)
{
	struct slot	*s = slot(b, 0);

	if (status == 0)
		failf(b, w, "set-up, %s: no answer", what);
	else
		failf(b, w, "set-up, %s: HTTP %ld: %.160s", what, status,
		    s->resp.len ? s->resp.p : "");
}

/* Whether users are registered; if not, fails w, which needs them. */
static int
have_users(struct bench *b, const struct workload *w)
{
	if (b->nlive == 0)
		failf(b, w, "no users: list register before %s", w->name);
	return b->nlive > 0;
}

/* The figure is items done per second; null with the error if none was. */
static void
report_rate(struct bench *b, const struct workload *w, struct load *l)
{
	double	secs = l->end - l->start;

	details(b, w, l);
	if (l->ok == 0 || secs <= 0)
		fail(b, w, l->err[0] ? l->err : "nothing done");
	else
		json_object_set_new(b->out, w->figure, jnum((double)l->ok / secs, 1));
}

/* The figure is {p50, p95} of the samples in ms. */
static void
report_latency(struct bench *b, const struct workload *w, struct load *l)
{
	json_t	*d = details(b, w, l), *p = json_object_get(d, "latency_ms");

	if (l->ok == 0 || !json_is_object(p)) {
		fail(b, w, l->err[0] ? l->err : "nothing done");
		return;
	}
	json_object_set_new(b->out, w->figure, json_pack("{s:O,s:O}",
	    "p50", json_object_get(p, "p50"), "p95", json_object_get(p, "p95")));
}

static void
load_free(struct load *l)
{
	free(l->lat);
	l->lat = NULL;
	free(l->from);
	l->from = NULL;
}

/* Runs the load, reports its rate as w's figure and frees it. */
static void
measure_rate(struct bench *b, const struct workload *w, struct load *l)
{
	run_load(b, l);
	report_rate(b, w, l);
	load_free(l);
}

/* What the load's items work on: users who[nwho] in rooms[nrooms]. */
static void
load_on(struct load *l, struct user **who, long nwho, char **rooms, long nrooms)
{
	l->who = who;
	l->nwho = nwho;
	l->rooms = rooms;
	l->nrooms = nrooms;
}

/* Users. */

static struct user *
live_user(struct bench *b, long item)
{
	return &b->users[b->live[item % b->nlive]];
}

static void
set_token(struct user *u, json_t *reply)
{
	const char	*tok = json_string_value(json_object_get(reply, "access_token"));

	if (tok != NULL) {
		free(u->token);
		u->token = xstrdup(tok);
	}
}

/*
 * The body of POST /register with open registration: m.login.dummy,
 * sent at once unless --register-flow session (myelin and Synapse accept
 * it without a session), or in the session a 401 named.
 */
static json_t *
register_body(struct bench *b, struct user *u, const char *session)
{
	json_t	*body;

	body = json_pack("{s:s,s:s,s:s}", "username", u->name, "password",
	    b->password, "initial_device_display_name", "bench");
	if (session != NULL)
		json_object_set_new(body, "auth", json_pack("{s:s,s:s}",
		    "type", "m.login.dummy", "session", session));
	else if (!b->two_step)
		json_object_set_new(body, "auth", json_pack("{s:s}",
		    "type", "m.login.dummy"));
	return body;
}

/* Takes user_id and access_token from a 200 answer to /register. */
static int
registered(struct user *u, json_t *r)
{
	const char	*id = json_string_value(json_object_get(r, "user_id"));

	if (id == NULL || !json_is_string(json_object_get(r, "access_token")))
		return 0;
	u->user_id = xstrdup(id);
	set_token(u, r);
	return 1;
}

/*
 * Registers a user of a workload's own, apart from the --users ones:
 * the user, or NULL with its status in *status.
 */
static struct user *
new_user(struct bench *b, long *status)
{
	struct user	*u;
	json_t		*body, *r = NULL;
	const char	*sess;

	if (b->nextra == EXTRA_USERS)
		die("more than %d users of the workloads' own", EXTRA_USERS);
	u = &b->users[b->nusers + b->nextra];
	u->name = xasprintf("%s_x%ld", b->prefix, b->nextra++);
	body = register_body(b, u, NULL);
	*status = call(b, "POST", "/_matrix/client/v3/register", body, NULL, &r);
	json_decref(body);
	if (*status == 401 &&
	    (sess = json_string_value(json_object_get(r, "session"))) != NULL) {
		body = register_body(b, u, sess);
		json_decref(r);
		*status = call(b, "POST", "/_matrix/client/v3/register", body, NULL, &r);
		json_decref(body);
	}
	if (*status == 200 && !registered(u, r))
		*status = -1;
	json_decref(r);
	return *status == 200 ? u : NULL;
}

static void
register_prep(struct bench *b, struct load *l, struct slot *s)
{
	json_t	*body = register_body(b, &b->users[s->item],
		    s->step > 0 ? s->session : NULL);

	(void)l;
	request(b, s, "POST", "/_matrix/client/v3/register", body, NULL);
	json_decref(body);
}

static int
register_check(struct bench *b, struct load *l, struct slot *s, long status)
{
	json_t		*r = reply_json(s);
	const char	*sess;
	int		 rc = -1;

	if (status == 200 && registered(&b->users[s->item], r)) {
		b->live[b->nlive++] = s->item;
		rc = 0;
	} else if (status == 401 && s->step == 0 &&
	    (sess = json_string_value(json_object_get(r, "session"))) != NULL) {
		free(s->session);
		s->session = xstrdup(sess);
		rc = 1;
	} else
		bad_reply(l, s, status);
	json_decref(r);
	return rc;
}

static void
w_register(struct bench *b, const struct workload *w)
{
	struct load	l = { .name = w->name, .items = b->nusers,
			      .prep = register_prep, .check = register_check };

	measure_rate(b, w, &l);
}

/* POST /login, m.login.password, for every user registered. */
static void
login_prep(struct bench *b, struct load *l, struct slot *s)
{
	struct user	*u = live_user(b, s->item);
	json_t		*body;

	(void)l;
	body = json_pack("{s:s,s:{s:s,s:s},s:s,s:s}", "type", "m.login.password",
	    "identifier", "type", "m.id.user", "user", u->name,
	    "password", b->password, "initial_device_display_name", "bench");
	request(b, s, "POST", "/_matrix/client/v3/login", body, NULL);
	json_decref(body);
}

static int
login_check(struct bench *b, struct load *l, struct slot *s, long status)
{
	json_t	*r;
	int	 rc = -1;

	if (status != 200)
		return bad_reply(l, s, status);
	r = reply_json(s);
	if (json_is_string(json_object_get(r, "access_token"))) {
		set_token(live_user(b, s->item), r);
		rc = 0;
	} else
		load_err(l, "login: no access_token in the reply");
	json_decref(r);
	return rc;
}

static void
w_login(struct bench *b, const struct workload *w)
{
	struct load	l = { .name = w->name, .items = b->nlive,
			      .prep = login_prep, .check = login_check };

	if (have_users(b, w))
		measure_rate(b, w, &l);
}

/* Rooms. */

/* A new room of u's (its ID escaped for paths, malloc'd), or NULL. */
static char *
new_room(struct bench *b, struct user *u, const char *preset, long *status)
{
	json_t	*body = json_pack("{s:s}", "preset", preset), *r = NULL;
	char	*room = NULL;
	const char *id;

	*status = call(b, "POST", "/_matrix/client/v3/createRoom", body, u->token, &r);
	json_decref(body);
	if (*status == 200 &&
	    (id = json_string_value(json_object_get(r, "room_id"))) != NULL)
		room = esc(b, id);
	else if (*status == 200)
		*status = -1;
	json_decref(r);
	return room;
}

static long
join(struct bench *b, struct user *u, const char *room)
{
	char	*path = xasprintf("/_matrix/client/v3/join/%s", room);
	json_t	*body = json_object();
	long	 st;

	st = call(b, "POST", path, body, u->token, NULL);
	json_decref(body);
	free(path);
	return st;
}

/*
 * Set-up for workload w: a user of its own, a room of u's, u joining
 * room.  On failure each fails w (setup_fail) and returns NULL or -1.
 */
static struct user *
setup_user(struct bench *b, const struct workload *w)
{
	struct user	*u;
	long		 st;

	if ((u = new_user(b, &st)) == NULL)
		setup_fail(b, w, "register", st);
	return u;
}

static char *
setup_room(struct bench *b, const struct workload *w, struct user *u,
    const char *preset)
{
	char	*room;
	long	 st;

	if ((room = new_room(b, u, preset, &st)) == NULL)
		setup_fail(b, w, "createRoom", st);
	return room;
}

static int
setup_join(struct bench *b, const struct workload *w, struct user *u,
    const char *room)
{
	long	st;

	if ((st = join(b, u, room)) != 200) {
		setup_fail(b, w, "join", st);
		return -1;
	}
	return 0;
}

static void
create_room_prep(struct bench *b, struct load *l, struct slot *s)
{
	json_t	*body = json_pack("{s:s}", "preset", "private_chat");

	request(b, s, "POST", "/_matrix/client/v3/createRoom", body,
	    l->who[s->item % l->nwho]->token);
	json_decref(body);
}

/* 0 for a 200 answer holding a string under key, else -1 (load_err). */
static int
check_string(struct load *l, struct slot *s, long status, const char *key)
{
	json_t	*r;
	int	 ok;

	if (status != 200)
		return bad_reply(l, s, status);
	r = reply_json(s);
	ok = json_is_string(json_object_get(r, key));
	json_decref(r);
	return ok ? 0 : bad_reply(l, s, status);
}

static int
create_room_check(struct bench *b, struct load *l, struct slot *s, long status)
{
	(void)b;
	return check_string(l, s, status, "room_id");
}

/* POST /createRoom (private_chat), one after another by one user. */
static void
w_create_room(struct bench *b, const struct workload *w)
{
	struct load	 l = { .name = w->name, .items = b->nrooms, .conc = 1,
			       .prep = create_room_prep, .check = create_room_check };
	struct user	*u;

	if ((u = setup_user(b, w)) == NULL)
		return;
	load_on(&l, &u, 1, NULL, 0);
	run_load(b, &l);
	report_latency(b, w, &l);
	load_free(&l);
}

/*
 * PUT a text message: item i goes to room i % nrooms, sent by the user
 * of the slot (so each of n users in flight sends one after another).
 */
static void
send_prep(struct bench *b, struct load *l, struct slot *s)
{
	struct user	*u = l->who[(s - b->slots) % l->nwho];
	json_t		*body;
	char		*path;

	body = json_pack("{s:s,s:s}", "msgtype", "m.text", "body", "bench message");
	path = xasprintf("/_matrix/client/v3/rooms/%s/send/m.room.message/%s-%s-%ld",
	    l->rooms[s->item % l->nrooms], b->prefix, l->name, s->item);
	request(b, s, "PUT", path, body, u->token);
	free(path);
	json_decref(body);
}

static int
send_check(struct bench *b, struct load *l, struct slot *s, long status)
{
	(void)b;
	return check_string(l, s, status, "event_id");
}

/* One user sends 500 messages into one room, one after another. */
static void
w_send_seq(struct bench *b, const struct workload *w)
{
	struct load	 l = { .name = w->name, .items = 500, .conc = 1,
			       .prep = send_prep, .check = send_check };
	struct user	*u;
	char		*room;

	if ((u = setup_user(b, w)) == NULL ||
	    (room = setup_room(b, w, u, "private_chat")) == NULL)
		return;
	load_on(&l, &u, 1, &room, 1);
	run_load(b, &l);
	report_rate(b, w, &l);
	if (l.errors == 0) {	/* messages_page pages through it */
		b->seq_room = room;
		b->seq_user = u;
	} else
		free(room);
	load_free(&l);
}

/* 8 users in one room send 2,000 messages, each user one at a time. */
static void
w_send_conc(struct bench *b, const struct workload *w)
{
	struct load	 l = { .name = w->name, .items = 2000, .conc = 8,
			       .prep = send_prep, .check = send_check };
	struct user	*who[8];
	char		*room;
	int		 i;

	for (i = 0; i < 8; i++)
		if ((who[i] = setup_user(b, w)) == NULL)
			return;
	if ((room = setup_room(b, w, who[0], "public_chat")) == NULL)
		return;
	for (i = 1; i < 8; i++)
		if (setup_join(b, w, who[i], room) == -1) {
			free(room);
			return;
		}
	load_on(&l, who, 8, &room, 1);
	measure_rate(b, w, &l);
	free(room);
}

/* Sync. */

static void
sync_initial_prep(struct bench *b, struct load *l, struct slot *s)
{
	request(b, s, "GET", "/_matrix/client/v3/sync?timeout=0", NULL,
	    l->who[0]->token);
}

static int
sync_initial_check(struct bench *b, struct load *l, struct slot *s, long status)
{
	json_t	*r;
	size_t	 n;

	(void)b;
	if (status != 200)
		return bad_reply(l, s, status);
	r = reply_json(s);
	n = json_object_size(json_object_get(json_object_get(r, "rooms"), "join"));
	json_decref(r);
	if (n != (size_t)l->nrooms) {
		load_err(l, "initial sync: %zu joined rooms, not %ld", n, l->nrooms);
		return -1;
	}
	return 0;
}

/*
 * The initial /sync (no since, default filter) of a user in 20 rooms with
 * 50 messages each, 10 times one after another.
 */
static void
w_sync_initial(struct bench *b, const struct workload *w)
{
	struct load	 setup = { .name = "sync_initial_setup", .items = 20 * 50,
			       .conc = 20, .prep = send_prep, .check = send_check };
	struct load	 l = { .name = w->name, .items = 10, .conc = 1,
			       .prep = sync_initial_prep, .check = sync_initial_check };
	struct user	*u;
	char		*rooms[20] = { NULL };
	int		 i;
	json_t		*d;

	if ((u = setup_user(b, w)) == NULL)
		return;
	for (i = 0; i < 20; i++)
		if ((rooms[i] = setup_room(b, w, u, "private_chat")) == NULL)
			goto out;
	load_on(&setup, &u, 1, rooms, 20);
	load_on(&l, &u, 1, NULL, 20);
	run_load(b, &setup);
	if (setup.errors > 0) {
		failf(b, w, "set-up, %ld of 1000 sends failed: %s",
		    setup.errors, setup.err);
		goto out;
	}
	run_load(b, &l);
	report_latency(b, w, &l);
	d = json_object_get(b->details, w->name);
	json_object_set_new(d, "setup_messages_per_s",
	    jnum((double)setup.ok / (setup.end - setup.start), 1));
out:
	for (i = 0; i < 20; i++)
		free(rooms[i]);
	load_free(&setup);
	load_free(&l);
}

/* The next_batch of a 200 answer to /sync (malloc'd), or NULL. */
static char *
next_batch(json_t *r)
{
	const char	*t = json_string_value(json_object_get(r, "next_batch"));

	return t == NULL ? NULL : xstrdup(t);
}

static char *
sync_path(struct bench *b, const char *since, long timeout_ms)
{
	char	*e = esc(b, since), *p;

	p = xasprintf("/_matrix/client/v3/sync?since=%s&timeout=%ld", e, timeout_ms);
	free(e);
	return p;
}

/*
 * From a send to a waiting /sync returning: one user long-polls /sync,
 * another sends into their room 20 ms later; a sample is the time from
 * the send going out to the /sync answer holding its event.  50 samples.
 */
static void
w_sync_wakeup(struct bench *b, const struct workload *w)
{
	struct load	 l = { .name = w->name };
	struct user	*tx, *rx;
	struct slot	*ss, *sx, *d;
	char		*room = NULL, *since = NULL, *path, *evid = NULL;
	json_t		*r = NULL, *body;
	CURLcode	 cc = CURLE_OK;
	long		 st, sst = 0, xst = 0, i, tries = 0;
	double		 tsend, tsync;
	int		 left;

	if ((tx = setup_user(b, w)) == NULL ||
	    (rx = setup_user(b, w)) == NULL ||
	    (room = setup_room(b, w, tx, "public_chat")) == NULL)
		return;
	if (setup_join(b, w, rx, room) == -1)
		goto out;
	st = call(b, "GET", "/_matrix/client/v3/sync?timeout=0", NULL, rx->token, &r);
	if (st != 200 || (since = next_batch(r)) == NULL) {
		setup_fail(b, w, "initial sync", st);
		goto out;
	}
	json_decref(r);
	r = NULL;
	ss = slot(b, 0);
	sx = slot(b, 1);
	l.start = now();
	for (i = 0; i < 50 && l.errors < 3 && tries < 200; tries++) {
		path = sync_path(b, since, 10000);
		request(b, ss, "GET", path, NULL, rx->token);
		free(path);
		add(b, ss);
		/* Time for the /sync to reach the server and park. */
		if ((d = drive(b, now() + 0.02, &cc)) != NULL) {
			/* Something else woke it: move on, no sample. */
			r = reply_json(d);
			if (status_of(d, cc) == 200 && (path = next_batch(r)) != NULL) {
				free(since);
				since = path;
			} else {
				bad_reply(&l, d, status_of(d, cc));
				l.errors++;
			}
			json_decref(r);
			r = NULL;
			continue;
		}
		body = json_pack("{s:s,s:s}", "msgtype", "m.text", "body", "wake up");
		path = xasprintf("/_matrix/client/v3/rooms/%s/send/m.room.message/%s-wake-%ld",
		    room, b->prefix, tries);
		request(b, sx, "PUT", path, body, tx->token);
		free(path);
		json_decref(body);
		tsend = now();
		add(b, sx);
		tsync = 0;
		for (left = 2; left > 0; left--) {
			if ((d = drive(b, tsend + 30, &cc)) == NULL)
				break;
			if (d == ss) {
				sst = status_of(d, cc);
				tsync = d->t1;
			} else
				xst = status_of(d, cc);
		}
		if (left > 0) {
			curl_multi_remove_handle(b->multi, ss->h);
			curl_multi_remove_handle(b->multi, sx->h);
			load_err(&l, "no answer within 30 s of a send");
			l.errors++;
			break;
		}
		if (xst != 200 || sst != 200) {
			bad_reply(&l, xst != 200 ? sx : ss, xst != 200 ? xst : sst);
			l.errors++;
			continue;
		}
		r = reply_json(sx);
		free(evid);
		evid = xstrdup(json_string_value(json_object_get(r, "event_id")) ?
		    json_string_value(json_object_get(r, "event_id")) : "?");
		json_decref(r);
		r = reply_json(ss);
		if ((path = next_batch(r)) != NULL) {
			free(since);
			since = path;
		}
		json_decref(r);
		r = NULL;
		/* Woken by the send: its event is in the answer. */
		if (ss->resp.p == NULL || strstr(ss->resp.p, evid) == NULL) {
			load_err(&l, "a /sync returned without the event sent");
			l.errors++;
			continue;
		}
		lat_add(&l, (tsync - tsend) * 1000);
		l.ok++;
		i++;
	}
	l.end = now();
	report_latency(b, w, &l);
out:
	json_decref(r);
	free(room);
	free(since);
	free(evid);
	load_free(&l);
}

/* keys_claim: one device's one-time keys, uploaded in pages of this many. */
#define CLAIM_PAGE	1000
#define CLAIM_PAGES	5

/* The device ID of u's token (malloc'd), or NULL. */
static char *
device_of(struct bench *b, struct user *u)
{
	json_t	*r = NULL;
	char	*d = NULL;

	if (call(b, "GET", "/_matrix/client/v3/account/whoami", NULL, u->token, &r) == 200 &&
	    json_is_string(json_object_get(r, "device_id")))
		d = xstrdup(json_string_value(json_object_get(r, "device_id")));
	json_decref(r);
	return d;
}

/* who[0] claims a key of who[1]'s device rooms[0] (the load's "room"). */
static void
claim_prep(struct bench *b, struct load *l, struct slot *s)
{
	json_t *body = json_pack("{s:{s:{s:s}}}", "one_time_keys", l->who[1]->user_id,
	    l->rooms[0], "signed_curve25519");

	request(b, s, "POST", "/_matrix/client/v3/keys/claim", body, l->who[0]->token);
	json_decref(body);
}

static int
claim_check(struct bench *b, struct load *l, struct slot *s, long status)
{
	json_t	*r, *keys;
	int	 rc = 0;

	(void)b;
	if (status != 200)
		return bad_reply(l, s, status);
	r = reply_json(s);
	keys = json_object_get(json_object_get(json_object_get(r, "one_time_keys"),
	    l->who[1]->user_id), l->rooms[0]);
	if (json_object_size(keys) != 1) {
		load_err(l, "a claim gave %zu keys, not 1", json_object_size(keys));
		rc = -1;
	}
	json_decref(r);
	return rc;
}

/*
 * keys_claim_per_s: one user claims, 64 at once, the 5,000 one-time keys
 * another user's device uploaded; each claim must get a key.
 */
static void
w_keys_claim(struct bench *b, const struct workload *w)
{
	struct load	 l = { .name = w->name, .items = CLAIM_PAGE * CLAIM_PAGES,
			       .prep = claim_prep, .check = claim_check };
	struct user	*who[2];
	char		*dev = NULL, *id;
	json_t		*body, *otks;
	long		 st;

	if ((who[0] = setup_user(b, w)) == NULL || (who[1] = setup_user(b, w)) == NULL)
		return;
	if ((dev = device_of(b, who[1])) == NULL) {
		setup_fail(b, w, "whoami", 0);
		return;
	}
	for (long p = 0; p < CLAIM_PAGES; p++) {
		otks = json_object();
		for (long i = 0; i < CLAIM_PAGE; i++) {
			id = xasprintf("signed_curve25519:k%ld", p * CLAIM_PAGE + i);
			json_object_set_new(otks, id, json_pack("{s:s,s:{}}", "key",
			    "bench-one-time-key", "signatures"));
			free(id);
		}
		body = json_pack("{s:o}", "one_time_keys", otks);
		st = call(b, "POST", "/_matrix/client/v3/keys/upload", body, who[1]->token, NULL);
		json_decref(body);
		if (st != 200) {
			setup_fail(b, w, "keys/upload", st);
			free(dev);
			return;
		}
	}
	load_on(&l, who, 2, &dev, 1);
	measure_rate(b, w, &l);
	free(dev);
}

/*
 * todevice_wakeup_ms: p50/p95 over 50 samples of the time from a PUT
 * /sendToDevice leaving the driver to the recipient's waiting /sync
 * answering with it (sent 20 ms after the /sync).
 */
static void
w_todevice_wakeup(struct bench *b, const struct workload *w)
{
	struct load	 l = { .name = w->name };
	struct user	*tx, *rx;
	struct slot	*ss, *sx, *d;
	char		*since = NULL, *path, *mark = NULL;
	json_t		*r = NULL, *body;
	CURLcode	 cc = CURLE_OK;
	long		 st, sst = 0, xst = 0, i, tries = 0;
	double		 tsend, tsync;
	int		 left;

	if ((tx = setup_user(b, w)) == NULL || (rx = setup_user(b, w)) == NULL)
		return;
	st = call(b, "GET", "/_matrix/client/v3/sync?timeout=0", NULL, rx->token, &r);
	if (st != 200 || (since = next_batch(r)) == NULL) {
		setup_fail(b, w, "initial sync", st);
		goto out;
	}
	json_decref(r);
	r = NULL;
	ss = slot(b, 0);
	sx = slot(b, 1);
	l.start = now();
	for (i = 0; i < 50 && l.errors < 3 && tries < 200; tries++) {
		path = sync_path(b, since, 10000);
		request(b, ss, "GET", path, NULL, rx->token);
		free(path);
		add(b, ss);
		if ((d = drive(b, now() + 0.02, &cc)) != NULL) {
			r = reply_json(d);
			if (status_of(d, cc) == 200 && (path = next_batch(r)) != NULL) {
				free(since);
				since = path;
			} else {
				bad_reply(&l, d, status_of(d, cc));
				l.errors++;
			}
			json_decref(r);
			r = NULL;
			continue;
		}
		free(mark);
		mark = xasprintf("%s-td-%ld", b->prefix, tries);
		body = json_pack("{s:{s:{s:{s:s}}}}", "messages", rx->user_id, "*", "mark", mark);
		path = xasprintf("/_matrix/client/v3/sendToDevice/m.bench/%s", mark);
		request(b, sx, "PUT", path, body, tx->token);
		free(path);
		json_decref(body);
		tsend = now();
		add(b, sx);
		tsync = 0;
		for (left = 2; left > 0; left--) {
			if ((d = drive(b, tsend + 30, &cc)) == NULL)
				break;
			if (d == ss) {
				sst = status_of(d, cc);
				tsync = d->t1;
			} else
				xst = status_of(d, cc);
		}
		if (left > 0) {
			curl_multi_remove_handle(b->multi, ss->h);
			curl_multi_remove_handle(b->multi, sx->h);
			load_err(&l, "no answer within 30 s of a send");
			l.errors++;
			break;
		}
		if (xst != 200 || sst != 200) {
			bad_reply(&l, xst != 200 ? sx : ss, xst != 200 ? xst : sst);
			l.errors++;
			continue;
		}
		r = reply_json(ss);
		if ((path = next_batch(r)) != NULL) {
			free(since);
			since = path;
		}
		json_decref(r);
		r = NULL;
		if (ss->resp.p == NULL || strstr(ss->resp.p, mark) == NULL) {
			load_err(&l, "a /sync returned without the message sent");
			l.errors++;
			continue;
		}
		lat_add(&l, (tsync - tsend) * 1000);
		l.ok++;
		i++;
	}
	l.end = now();
	report_latency(b, w, &l);
out:
	json_decref(r);
	free(since);
	free(mark);
	load_free(&l);
}

/* /messages, 50 events back a page, paging back from the newest. */
static void
messages_prep(struct bench *b, struct load *l, struct slot *s)
{
	char	*path, *from = l->from != NULL ? esc(b, l->from) : NULL;

	path = xasprintf("/_matrix/client/v3/rooms/%s/messages?dir=b&limit=50%s%s",
	    l->rooms[0], from != NULL ? "&from=" : "", from != NULL ? from : "");
	request(b, s, "GET", path, NULL, l->who[0]->token);
	free(path);
	free(from);
}

static int
messages_check(struct bench *b, struct load *l, struct slot *s, long status)
{
	json_t		*r;
	const char	*end;
	size_t		 n;
	int		 rc = 0;

	(void)b;
	if (status != 200)
		return bad_reply(l, s, status);
	r = reply_json(s);
	n = json_array_size(json_object_get(r, "chunk"));
	end = json_string_value(json_object_get(r, "end"));
	free(l->from);
	l->from = NULL;
	if (n != 50) {
		load_err(l, "a page of %zu events, not 50", n);
		rc = -1;
	} else if (end != NULL && (s->item + 1) % l->pages != 0)
		l->from = xstrdup(end);		/* else back to the newest */
	json_decref(r);
	return rc;
}

static void
w_messages_page(struct bench *b, const struct workload *w)
{
	struct load	 setup = { .name = "messages_setup", .items = 100, .conc = 1,
			       .prep = send_prep, .check = send_check };
	struct load	 l = { .name = w->name, .items = 50, .conc = 1,
			       .prep = messages_prep, .check = messages_check };
	struct user	*u = b->seq_user;
	char		*room = b->seq_room, *own = NULL;

	/* send_seq left 500 messages: 8 full pages, then back to the top. */
	l.pages = 8;
	if (room == NULL) {
		if ((u = setup_user(b, w)) == NULL ||
		    (room = own = setup_room(b, w, u, "private_chat")) == NULL)
			return;
		load_on(&setup, &u, 1, &room, 1);
		run_load(b, &setup);
		if (setup.errors > 0) {
			fail(b, w, "set-up: sending 100 messages failed");
			goto out;
		}
		l.pages = 2;
	}
	load_on(&l, &u, 1, &room, 1);
	run_load(b, &l);
	report_latency(b, w, &l);
out:
	free(own);
	load_free(&setup);
	load_free(&l);
}

/* Throughput: the same GET over and over for --duration seconds. */
static int
check_200(struct bench *b, struct load *l, struct slot *s, long status)
{
	(void)b;
	return status == 200 ? 0 : bad_reply(l, s, status);
}

static void
profile_prep(struct bench *b, struct load *l, struct slot *s)
{
	struct user	*u = live_user(b, s->item);

	(void)l;
	if (u->profile_path == NULL) {
		char	*e = esc(b, u->user_id);

		u->profile_path = xasprintf("/_matrix/client/v3/profile/%s", e);
		free(e);
	}
	request(b, s, "GET", u->profile_path, NULL, u->token);
}

static void
w_profile(struct bench *b, const struct workload *w)
{
	struct load	l = { .name = w->name, .seconds = b->duration,
			      .prep = profile_prep, .check = check_200 };

	if (have_users(b, w))
		measure_rate(b, w, &l);
}

static void
versions_prep(struct bench *b, struct load *l, struct slot *s)
{
	(void)l;
	request(b, s, "GET", "/_matrix/client/versions", NULL, NULL);
}

static void
w_versions(struct bench *b, const struct workload *w)
{
	struct load	l = { .name = w->name, .seconds = b->duration,
			      .prep = versions_prep, .check = check_200 };

	measure_rate(b, w, &l);
}

/*
 * /sync of a user in N joined rooms (N = 20, 200, 1,000, 5 messages
 * each; the rooms of a step are kept for the next): 5 initial syncs
 * (timeout 0, each checked to hold the N rooms), then 20 incremental
 * ones (timeout 0, each from the last next_batch) after one new message
 * in one of the rooms, each checked to hold that room alone.  Memory of
 * the stack after each step.
 */
#define SCALE_MAX	1000

static int
scale_step(struct bench *b, const struct workload *w, struct user *u, char **rooms,
    long n, json_t *steps)
{
	struct load	 first = { .name = "sync_scale_initial" }, incr = { .name = "sync_scale_incr" };
	json_t		*r = NULL, *step, *mem;
	char		*since = NULL, *path, *e;
	long		 st;
	double		 t;
	int		 i, rc = -1;

	first.start = now();
	for (i = 0; i < 5; i++) {
		r = NULL;
		st = call_ms(b, "GET", "/_matrix/client/v3/sync?timeout=0", NULL, u->token, &r, &t);
		if (st != 200 || (long)json_object_size(json_object_get(json_object_get(r,
		    "rooms"), "join")) != n) {
			failf(b, w, "initial sync at %ld rooms: status %ld, %zu rooms", n, st,
			    json_object_size(json_object_get(json_object_get(r, "rooms"), "join")));
			goto out;
		}
		lat_add(&first, t);
		first.ok++;
		free(since);
		since = next_batch(r);
		json_decref(r);
		r = NULL;
	}
	first.end = incr.start = now();
	for (i = 0; i < 20; i++) {
		json_t		*msg = json_pack("{s:s,s:s}", "msgtype", "m.text", "body", "one");
		const char	*room = rooms[(i * 37) % n];	/* escaped */
		json_t		*join;
		char		*id;
		int		 ok;

		path = xasprintf("/_matrix/client/v3/rooms/%s/send/m.room.message/%s-sc%ld-%d",
		    room, b->prefix, n, i);
		st = call(b, "PUT", path, msg, u->token, NULL);
		free(path);
		json_decref(msg);
		if (st != 200) {
			failf(b, w, "send at %ld rooms: status %ld", n, st);
			goto out;
		}
		e = esc(b, since);
		path = xasprintf("/_matrix/client/v3/sync?timeout=0&since=%s", e);
		free(e);
		st = call_ms(b, "GET", path, NULL, u->token, &r, &t);
		free(path);
		join = json_object_get(json_object_get(r, "rooms"), "join");
		id = curl_easy_unescape(slot(b, 0)->h, room, 0, NULL);
		ok = json_object_size(join) == 1 && id != NULL && json_object_get(join, id) != NULL;
		curl_free(id);
		if (st != 200 || !ok) {
			failf(b, w, "incremental sync at %ld rooms: status %ld, %zu rooms", n, st,
			    json_object_size(join));
			goto out;
		}
		lat_add(&incr, t);
		incr.ok++;
		free(since);
		since = next_batch(r);
		json_decref(r);
		r = NULL;
	}
	incr.end = now();
	mem = mem_sample(b);
	step = json_pack("{s:I,s:o,s:o,s:o}", "rooms", (json_int_t)n,
	    "initial_ms", percentiles(&first), "incremental_ms", percentiles(&incr),
	    "memory_after_kb", mem != NULL ? mem : json_null());
	json_array_append_new(steps, step);
	if (n == SCALE_MAX) {
		json_object_set_new(b->out, "sync_initial_1000_ms", json_pack("{s:O,s:O}",
		    "p50", json_object_get(json_object_get(step, "initial_ms"), "p50"),
		    "p95", json_object_get(json_object_get(step, "initial_ms"), "p95")));
		json_object_set_new(b->out, "sync_incr_ms", json_pack("{s:O,s:O}",
		    "p50", json_object_get(json_object_get(step, "incremental_ms"), "p50"),
		    "p95", json_object_get(json_object_get(step, "incremental_ms"), "p95")));
	}
	rc = 0;
out:
	json_decref(r);
	free(since);
	load_free(&first);
	load_free(&incr);
	return rc;
}

/*
 * send_check, but a 429 sends the same message again (same txnId) after
 * a pause: the set-up sends thousands and a rare one is refused.
 */
static int
scale_send_check(struct bench *b, struct load *l, struct slot *s, long status)
{
	if (status == 429 && s->step < 20) {
		usleep(100000);
		return 1;
	}
	return send_check(b, l, s, status);
}

static void
w_sync_scale(struct bench *b, const struct workload *w)
{
	static const long	 steps_n[] = { 20, 200, SCALE_MAX };
	static const char *const names[] = { "sync_scale_setup20", "sync_scale_setup200",
				     "sync_scale_setup1000" };
	struct user	*u;
	char		**rooms = calloc(SCALE_MAX, sizeof(*rooms));
	json_t		*steps = json_array();
	long		 have = 0, lo;
	size_t		 k;

	if (rooms == NULL)
		die("out of memory");
	if ((u = setup_user(b, w)) == NULL)
		goto out;
	for (k = 0; k < sizeof(steps_n) / sizeof(steps_n[0]); k++) {
		struct load	 setup = { .name = names[k], .conc = 8, .prep = send_prep,
				       .check = scale_send_check };
		long		 n = steps_n[k];

		lo = have;
		for (; have < n; have++)
			if ((rooms[have] = setup_room(b, w, u, "private_chat")) == NULL)
				goto out;
		/* 5 messages in each new room. */
		setup.items = (n - lo) * 5;
		load_on(&setup, &u, 1, rooms + lo, n - lo);
		run_load(b, &setup);
		if (setup.errors > 0) {
			failf(b, w, "set-up, %ld sends failed: %s", setup.errors, setup.err);
			load_free(&setup);
			goto out;
		}
		load_free(&setup);
		if (scale_step(b, w, u, rooms, n, steps) == -1)
			goto out;
	}
	json_object_set_new(b->details, w->name, json_pack("{s:O}", "steps", steps));
out:
	for (k = 0; k < SCALE_MAX; k++)
		free(rooms[k]);
	free(rooms);
	json_decref(steps);
}

/* Long-polls. */

#define LP_TIMEOUT_MS	30000	/* of each waiting /sync */
#define LP_SAMPLE_S	15.0	/* memory is read, and wake-ups timed, this long after they start */

static void
lp_since_prep(struct bench *b, struct load *l, struct slot *s)
{
	(void)l;
	request(b, s, "GET", "/_matrix/client/v3/sync?timeout=0", NULL,
	    live_user(b, s->item)->token);
}

static int
lp_since_check(struct bench *b, struct load *l, struct slot *s, long status)
{
	struct user	*u = live_user(b, s->item);
	json_t		*r;
	char		*t;

	if (status != 200)
		return bad_reply(l, s, status);
	r = reply_json(s);
	t = next_batch(r);
	json_decref(r);
	if (t == NULL) {
		load_err(l, "/sync: no next_batch");
		return -1;
	}
	free(u->since);
	u->since = t;
	return 0;
}

/* A long-poll ended: counted in l, one fewer active. */
static void
lp_done(struct load *l, struct slot *s, CURLcode cc, long *active)
{
	long st;

	(*active)--;
	lat_add(l, (s->t1 - s->t0) * 1000);
	l->end = s->t1;
	if ((st = status_of(s, cc)) == 200) {
		l->ok++;
		return;
	}
	l->errors++;
	if (cc != CURLE_OK)
		load_err(l, "%s", curl_easy_strerror(cc));
	else
		bad_reply(l, s, st);
}

#define LP_WAKES	20	/* sends whose wake-up is timed while the crowd waits */

/* The pair whose wake-ups are timed: tx sends into room, rx long-polls from since. */
struct lpwake {
	struct user	*tx, *rx;
	char		*room, *since;
	struct slot	*rs, *xs;	/* rx's /sync, tx's send */
};

/*
 * While the long-polls wait: LP_WAKES times, rx's /sync parks (20 ms
 * given), tx sends into their room, and the time from the send leaving
 * to rx's answer is a sample of wk.  Long-polls that end meanwhile go
 * to l.  0, or -1 with the error in wk.
 */
static int	lp_wakes_run(struct bench *, struct lpwake *, struct load *, struct load *,
		    long *);

static int
lp_wakes(struct bench *b, struct lpwake *pw, struct load *l, struct load *wk, long *active)
{
	CURLM	*crowd;
	int	 rc;

	/*
	 * A multi handle of its own: curl's pass over 10,000 idle transfers
	 * would be the figure otherwise.  The crowd's connections sit idle
	 * meanwhile; their answers wait in the kernel.
	 */
	crowd = b->multi;
	if ((b->multi = curl_multi_init()) == NULL)
		die("cannot initialise libcurl");
	rc = lp_wakes_run(b, pw, l, wk, active);
	curl_multi_cleanup(b->multi);
	b->multi = crowd;
	return rc;
}

static int
lp_wakes_run(struct bench *b, struct lpwake *pw, struct load *l, struct load *wk,
    long *active)
{
	struct slot	*s;
	CURLcode	 cc = CURLE_OK;
	json_t		*r, *msg;
	char		*path, *t;
	double		 until, tsend, tsync;
	int		 got_sync, got_send;

	wk->start = now();
	for (int k = 0; k < LP_WAKES; k++) {
		path = sync_path(b, pw->since, 10000);
		request(b, pw->rs, "GET", path, NULL, pw->rx->token);
		free(path);
		add(b, pw->rs);
		until = now() + 0.02;
		got_sync = 0;
		while (!got_sync && now() < until && (s = drive(b, until, &cc)) != NULL) {
			if (s == pw->rs)
				got_sync = 1;
			else
				lp_done(l, s, cc, active);
		}
		if (got_sync) {
			load_err(wk, "the /sync answered before the send");
			return -1;
		}
		msg = json_pack("{s:s,s:s}", "msgtype", "m.text", "body", "wake");
		path = xasprintf("/_matrix/client/v3/rooms/%s/send/m.room.message/%s-lpw-%d",
		    pw->room, b->prefix, k);
		request(b, pw->xs, "PUT", path, msg, pw->tx->token);
		free(path);
		json_decref(msg);
		tsend = now();
		add(b, pw->xs);
		got_send = 0;
		tsync = 0;
		while (!got_sync || !got_send) {
			if ((s = drive(b, FOREVER, &cc)) == NULL)
				continue;
			if (s == pw->xs) {
				got_send = 1;
				if (status_of(s, cc) != 200) {
					bad_reply(wk, s, status_of(s, cc));
					return -1;
				}
			} else if (s == pw->rs) {
				got_sync = 1;
				tsync = s->t1;
				r = reply_json(s);
				t = status_of(s, cc) == 200 && json_object_size(json_object_get(
				    json_object_get(r, "rooms"), "join")) > 0 ? next_batch(r) : NULL;
				json_decref(r);
				if (t == NULL) {
					load_err(wk, "a /sync returned without the event sent"
					    " (HTTP %ld)", status_of(s, cc));
					return -1;
				}
				free(pw->since);
				pw->since = t;
			} else
				lp_done(l, s, cc, active);
		}
		lat_add(wk, (tsync - tsend) * 1000);
		wk->ok++;
	}
	wk->end = now();
	return 0;
}

/*
 * --longpolls (10,000) /sync requests waiting at once, spread over the
 * users registered, each from its user's own since token: how many fail,
 * and the server's memory (--mem-cmd) while they wait.  Nothing wakes
 * them: they end at their timeout, 30 s.  While they wait (15 s in, once
 * the server has run each once and parked it), LP_WAKES
 * sends into a room of two other users each wake its member's /sync:
 * longpoll_wakeup_ms, from the send leaving to that answer.
 */
static void
w_longpoll(struct bench *b, const struct workload *w)
{
	struct load	 setup = { .name = "longpoll_setup", .prep = lp_since_prep,
			       .check = lp_since_check };
	struct load	 l = { .name = w->name }, wk = { .name = "longpoll_wakeup" };
	struct lpwake	 pw = { NULL, NULL, NULL, NULL, NULL, NULL };
	struct slot	*s;
	json_t		*mem = NULL, *d, *dw, *r = NULL;
	CURLcode	 cc = CURLE_OK;
	long		 i, st, active = 0, waiting = 0;
	double		 sample_at;
	int		 sampled = 0, woke = -1;
	char		*path;

	if (!have_users(b, w))
		return;
	/* The pair whose wake-ups are timed, in a room of their own. */
	if ((pw.tx = setup_user(b, w)) == NULL || (pw.rx = setup_user(b, w)) == NULL ||
	    (pw.room = setup_room(b, w, pw.tx, "public_chat")) == NULL ||
	    setup_join(b, w, pw.rx, pw.room) == -1)
		goto out;
	st = call(b, "GET", "/_matrix/client/v3/sync?timeout=0", NULL, pw.rx->token, &r);
	if (st != 200 || (pw.since = next_batch(r)) == NULL) {
		setup_fail(b, w, "initial sync", st);
		goto out;
	}
	pw.rs = slot(b, (int)b->nlongpolls);
	pw.xs = slot(b, (int)b->nlongpolls + 1);
	setup.items = b->nlive < b->nlongpolls ? b->nlive : b->nlongpolls;
	run_load(b, &setup);
	if (setup.errors > 0) {
		failf(b, w, "set-up, initial /sync: %s", setup.err);
		goto out;
	}
	l.start = l.end = now();
	for (i = 0; i < b->nlongpolls; i++) {
		struct user *u = live_user(b, i);

		s = slot(b, (int)i);
		path = sync_path(b, u->since, LP_TIMEOUT_MS);
		request(b, s, "GET", path, NULL, u->token);
		free(path);
		add(b, s);
		active++;
	}
	sample_at = l.start + LP_SAMPLE_S;
	while (active > 0) {
		if (!sampled && now() >= sample_at) {
			waiting = active;
			mem = mem_sample(b);
			sampled = 1;
			woke = lp_wakes(b, &pw, &l, &wk, &active);
			continue;
		}
		if ((s = drive(b, sampled ? FOREVER : sample_at, &cc)) == NULL)
			continue;
		lp_done(&l, s, cc, &active);
	}
	dw = json_incref(details(b, w, &wk));
	d = details(b, w, &l);
	json_object_set_new(d, "timeout_ms", json_integer(LP_TIMEOUT_MS));
	json_object_set_new(d, "wakeup", dw);
	json_object_set_new(b->out, w->figure, json_pack("{s:I,s:I,s:I,s:o}",
	    "requests", (json_int_t)b->nlongpolls, "waiting", (json_int_t)waiting,
	    "errors", (json_int_t)l.errors, "memory_kb", mem != NULL ? mem : json_null()));
	if (woke == 0 && json_is_object(json_object_get(dw, "latency_ms")))
		json_object_set_new(b->out, "longpoll_wakeup_ms", json_pack("{s:O,s:O}",
		    "p50", json_object_get(json_object_get(dw, "latency_ms"), "p50"),
		    "p95", json_object_get(json_object_get(dw, "latency_ms"), "p95")));
	else {
		json_object_set_new(b->out, "longpoll_wakeup_ms", json_null());
		json_object_set_new(b->failed, "longpoll_wakeup_ms",
		    json_string(wk.err[0] ? wk.err : "not measured"));
	}
out:
	json_decref(r);
	free(pw.room);
	free(pw.since);
	load_free(&setup);
	load_free(&l);
	load_free(&wk);
}

/*
 * Simplified sliding sync (MSC4186) for a user in 500 rooms, as Element
 * X's room list asks: range [0, 19], timeline_limit 1, required_state of
 * name, avatar, encryption, create and $LAZY members.  Samples: 10 first
 * requests (no pos, a new connection each), then 20 incremental ones
 * each after one new message in a room (timeout 0).  Memory after.
 */
#define SLIDING_ROOMS	500

static json_t *
sliding_body(void)
{
	return json_pack("{s:s,s:{s:{s:[[i,i]],s:i,s:[[s,s],[s,s],[s,s],[s,s],[s,s]]}}}",
	    "conn_id", "bench", "lists", "all_rooms", "ranges", 0, 19, "timeline_limit", 1,
	    "required_state", "m.room.name", "", "m.room.avatar", "", "m.room.encryption", "",
	    "m.room.create", "", "m.room.member", "$LAZY");
}

#define SLIDING_PATH "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync"

static void
w_sliding(struct bench *b, const struct workload *w)
{
	struct load	 setup = { .name = "sliding_setup", .items = SLIDING_ROOMS,
			       .conc = 8, .prep = send_prep, .check = send_check };
	struct load	 first = { .name = w->name }, incr = { .name = "sliding_incremental" };
	struct user	*u;
	char		*rooms[SLIDING_ROOMS] = { NULL }, *pos = NULL, *path;
	json_t		*body = sliding_body(), *r, *d;
	long		 st;
	double		 t;
	int		 i;

	if ((u = setup_user(b, w)) == NULL)
		goto out;
	for (i = 0; i < SLIDING_ROOMS; i++)
		if ((rooms[i] = setup_room(b, w, u, "private_chat")) == NULL)
			goto out;
	load_on(&setup, &u, 1, rooms, SLIDING_ROOMS);
	run_load(b, &setup);
	if (setup.errors > 0) {
		failf(b, w, "set-up, %ld sends failed: %s", setup.errors, setup.err);
		goto out;
	}
	first.start = now();
	for (i = 0; i < 10; i++) {
		r = NULL;
		if ((st = call_ms(b, "POST", SLIDING_PATH "?timeout=0", body, u->token, &r,
		    &t)) != 200 ||
		    json_string_value(json_object_get(r, "pos")) == NULL) {
			json_decref(r);
			failf(b, w, "first request: status %ld", st);
			goto out;
		}
		lat_add(&first, t);
		first.ok++;
		free(pos);
		pos = xstrdup(json_string_value(json_object_get(r, "pos")));
		json_decref(r);
	}
	first.end = now();
	incr.start = now();
	for (i = 0; i < 20; i++) {
		json_t	*msg = json_pack("{s:s,s:s}", "msgtype", "m.text", "body", "bump");
		char	*e = esc(b, pos), *sp;

		sp = xasprintf("/_matrix/client/v3/rooms/%s/send/m.room.message/%s-sl-%d",
		    rooms[(i * 37) % SLIDING_ROOMS], b->prefix, i);
		st = call(b, "PUT", sp, msg, u->token, NULL);
		free(sp);
		json_decref(msg);
		path = xasprintf(SLIDING_PATH "?timeout=0&pos=%s", e);
		free(e);
		r = NULL;
		if (st != 200 || (st = call_ms(b, "POST", path, body, u->token, &r, &t)) != 200 ||
		    json_string_value(json_object_get(r, "pos")) == NULL) {
			free(path);
			json_decref(r);
			failf(b, w, "incremental request: status %ld", st);
			goto out;
		}
		lat_add(&incr, t);
		incr.ok++;
		free(path);
		free(pos);
		pos = xstrdup(json_string_value(json_object_get(r, "pos")));
		json_decref(r);
	}
	incr.end = now();
	d = json_incref(details(b, w, &incr));
	report_latency(b, w, &first);
	json_object_set_new(json_object_get(b->details, w->name), "incremental", d);
	json_object_set_new(b->out, "sliding_incremental_ms", json_pack("{s:O,s:O}",
	    "p50", json_object_get(json_object_get(d, "latency_ms"), "p50"),
	    "p95", json_object_get(json_object_get(d, "latency_ms"), "p95")));
out:
	for (i = 0; i < SLIDING_ROOMS; i++)
		free(rooms[i]);
	free(pos);
	json_decref(body);
	load_free(&setup);
	load_free(&first);
	load_free(&incr);
}

/*
 * The workloads of issue 5, in the order they run.  A figure that
 * cannot be measured gets a reason here in place of its function.
 */
static const struct workload workloads[] = {
	{ "register", "register_per_s", w_register, NULL },
	{ "login", "login_per_s", w_login, NULL },
	{ "create_room", "create_room_ms", w_create_room, NULL },
	{ "send_seq", "send_seq_per_s", w_send_seq, NULL },
	{ "send_conc", "send_conc_per_s", w_send_conc, NULL },
	{ "sync_initial", "sync_initial_ms", w_sync_initial, NULL },
	{ "sync_wakeup", "sync_wakeup_ms", w_sync_wakeup, NULL },
	{ "messages_page", "messages_page_ms", w_messages_page, NULL },
	{ "keys_claim", "keys_claim_per_s", w_keys_claim, NULL },
	{ "todevice_wakeup", "todevice_wakeup_ms", w_todevice_wakeup, NULL },
	{ "profile", "profile_per_s", w_profile, NULL },
	{ "versions", "versions_per_s", w_versions, NULL },
	{ "longpoll", "longpoll_capacity", w_longpoll, NULL },
	{ "sliding", "sliding_first_ms", w_sliding, NULL },
	{ "sync_scale", "sync_incr_ms", w_sync_scale, NULL },
};
#define NWORKLOADS (sizeof(workloads) / sizeof(workloads[0]))

static void __attribute__((noreturn))
usage(void)
{
	size_t	i;

	fprintf(stderr,
	    "usage: driver [--base URL] [--concurrency N] [--users N] [--duration S]\n"
	    "              [--rooms N] [--longpolls N] [--password P] [--prefix NAME]\n"
	    "              [--register-flow direct|session] [--mem-cmd CMD]\n"
	    "              [all | workload ...]\n"
	    "workloads:");
	for (i = 0; i < NWORKLOADS; i++)
		fprintf(stderr, " %s", workloads[i].name);
	fputc('\n', stderr);
	exit(2);
}

static long
number(const char *opt, const char *s, long lo, long hi)
{
	char	*end;
	long	 n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || n < lo || n > hi)
		die("%s: want a number from %ld to %ld, not %s", opt, lo, hi, s);
	return n;
}

/* Enough file descriptors for every transfer at once, if allowed. */
static void
raise_nofile(long want)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= (rlim_t)want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (rlim_t)want ?
	    (rlim_t)want : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		fprintf(stderr, "driver: cannot raise the open file limit: %s\n",
		    strerror(errno));
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "base", required_argument, NULL, 'b' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "users", required_argument, NULL, 'u' },
		{ "duration", required_argument, NULL, 'd' },
		{ "rooms", required_argument, NULL, 'r' },
		{ "longpolls", required_argument, NULL, 'l' },
		{ "password", required_argument, NULL, 'p' },
		{ "prefix", required_argument, NULL, 'P' },
		{ "register-flow", required_argument, NULL, 'f' },
		{ "mem-cmd", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench	 b = { .base = "http://127.0.0.1:8008", .concurrency = 64,
			       .nusers = 200, .duration = 5, .nrooms = 50,
			       .nlongpolls = 10000, .password = "bench-password-1" };
	char		 want[NWORKLOADS];
	char		*base;
	size_t		 i, j;
	long		 k;
	int		 ch;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'b': b.base = optarg; break;
		case 'c': b.concurrency = (int)number("--concurrency", optarg, 1, 10000); break;
		case 'u': b.nusers = number("--users", optarg, 1, 10000000); break;
		case 'd': b.duration = (double)number("--duration", optarg, 1, 3600); break;
		case 'r': b.nrooms = number("--rooms", optarg, 1, 1000000); break;
		case 'l': b.nlongpolls = number("--longpolls", optarg, 1, 100000); break;
		case 'p': b.password = optarg; break;
		case 'P': free(b.prefix); b.prefix = xstrdup(optarg); break;
		case 'f':
			if (strcmp(optarg, "session") == 0)
				b.two_step = 1;
			else if (strcmp(optarg, "direct") != 0)
				usage();
			break;
		case 'm': b.mem_cmd = optarg; break;
		default: usage();
		}
	}
	memset(want, optind == argc, sizeof(want));
	for (int a = optind; a < argc; a++) {
		if (strcmp(argv[a], "all") == 0) {
			memset(want, 1, sizeof(want));
			continue;
		}
		for (i = 0; i < NWORKLOADS && strcmp(argv[a], workloads[i].name) != 0; i++)
			;
		if (i == NWORKLOADS)
			usage();
		want[i] = 1;
	}
	base = xstrdup(b.base);
	for (j = strlen(base); j > 0 && base[j - 1] == '/'; j--)
		base[j - 1] = '\0';
	b.base = base;
	/* Usernames unique to this run: "b" + time and pid in hex. */
	if (b.prefix == NULL)
		b.prefix = xasprintf("b%lx%x", (long)time(NULL), (unsigned)getpid());

	/* Two more than the long-polls: longpoll's timed send and /sync. */
	b.nslots = b.concurrency > b.nlongpolls + 2 ? b.concurrency : (int)b.nlongpolls + 2;
	raise_nofile(b.nslots + 64L);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 ||
	    (b.multi = curl_multi_init()) == NULL)
		die("cannot initialise libcurl");
	/* Every transfer in flight keeps its own connection open. */
	curl_multi_setopt(b.multi, CURLMOPT_MAXCONNECTS, (long)b.nslots);
	curl_multi_setopt(b.multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)b.nslots);
	b.slots = xmalloc((size_t)b.nslots * sizeof(*b.slots));
	b.users = xmalloc((size_t)(b.nusers + EXTRA_USERS) * sizeof(*b.users));
	b.live = xmalloc((size_t)b.nusers * sizeof(*b.live));
	for (k = 0; k < b.nusers; k++)
		b.users[k].name = xasprintf("%s_%ld", b.prefix, k);

	b.out = json_object();
	b.skipped = json_object();
	b.failed = json_object();
	b.details = json_object();
	json_object_set_new(b.out, "base", json_string(b.base));
	json_object_set_new(b.out, "concurrency", json_integer(b.concurrency));
	json_object_set_new(b.out, "users", json_integer(b.nusers));
	json_object_set_new(b.out, "duration_s", jnum(b.duration, 1));
	for (i = 0; i < NWORKLOADS; i++) {
		const struct workload *w = &workloads[i];

		if (!want[i])
			continue;
		if (w->run == NULL) {
			json_object_set_new(b.out, w->figure, json_null());
			json_object_set_new(b.skipped, w->figure, json_string(w->skip));
			continue;
		}
		fprintf(stderr, "driver: %s\n", w->name);
		w->run(&b, w);
	}
	json_object_set_new(b.out, "skipped", b.skipped);
	json_object_set_new(b.out, "failed", b.failed);
	json_object_set_new(b.out, "details", b.details);
	json_object_set_new(b.out, "driver", json_pack("{s:s,s:s}",
	    "client", "libcurl multi", "curl", curl_version()));
	if (json_dumpf(b.out, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
	    JSON_REAL_PRECISION(12)) == -1)
		die("cannot write the result");
	putchar('\n');

	json_decref(b.out);
	for (ch = 0; ch < b.nslots; ch++) {
		if (b.slots[ch].h != NULL)
			curl_easy_cleanup(b.slots[ch].h);
		curl_slist_free_all(b.slots[ch].hdrs);
		free(b.slots[ch].resp.p);
		free(b.slots[ch].body);
		free(b.slots[ch].session);
	}
	for (k = 0; k < b.nusers + EXTRA_USERS; k++) {
		free(b.users[k].name);
		free(b.users[k].user_id);
		free(b.users[k].token);
		free(b.users[k].profile_path);
		free(b.users[k].since);
	}
	free(b.users);
	free(b.live);
	free(b.slots);
	free(b.prefix);
	free(b.seq_room);
	free(base);
	curl_multi_cleanup(b.multi);
	curl_global_cleanup();
	return fflush(stdout) == 0 ? 0 : 1;
}
