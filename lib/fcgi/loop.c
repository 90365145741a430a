/* The FastCGI serving loop of every handler program. */
#include <errno.h>
#include <fcgiapp.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock/clock.h"
#include "compat.h"
#include "crypto/crypto.h"
#include "fcgi/extern.h"
#include "json/json.h"
#include "log/log.h"
#include "notify/notify.h"
#include "store/store.h"

#define MAX_JSON_DEPTH	64

static const struct {
	int		 status;
	const char	*code;
} errs[MERR__MAX] = {
#define X(id, status, code) { status, code },
	MERR_TABLE
#undef X
};

static const char *const methods[MMETHOD__MAX] = {
	"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD",
};

struct worker {
	pthread_t		 thread;
	const struct mapp	*app;
	const struct mserver	*srv;
	int			 sock;
	int			 id;
};

static atomic_uint	reqcount;

const char *
merr_code(enum merr e)
{
	return errs[e].code;
}

int
merr_status(enum merr e)
{
	return errs[e].status;
}

int
mfcgi_fail(struct mreq *req, enum merr e, const char *fmt, ...)
{
	va_list ap;

	req->failed = 1;
	req->err = e;
	va_start(ap, fmt);
	vsnprintf(req->errmsg, sizeof(req->errmsg), fmt, ap);
	va_end(ap);
	return -1;
}

int
mfcgi_fail_add(struct mreq *req, const char *key, json_t *value)
{
	if (req->errextra == NULL)
		req->errextra = json_object();
	if (req->errextra != NULL)
		json_object_set_new(req->errextra, key, value);
	else
		json_decref(value);
	return -1;
}

int
mfcgi_reply(struct mreq *req, int status, json_t *obj)
{
	if (obj == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	json_decref(req->reply);
	req->reply = obj;
	req->status = status;
	return 0;
}

char *
mreq_query(const struct mreq *req, const char *name)
{
	size_t		 namesz = strlen(name);
	const char	*p = req->query;

	while (*p != '\0') {
		size_t len = strcspn(p, "&");
		const char *eq = memchr(p, '=', len);
		size_t klen = eq != NULL ? (size_t)(eq - p) : len;

		if (klen == namesz && memcmp(p, name, namesz) == 0) {
			if (eq == NULL)
				return strdup("");
			/* '+' is a space in query strings. */
			char *v = mfcgi_urldecode(eq + 1, len - klen - 1);
			for (char *q = v; q != NULL && *q != '\0'; q++)
				if (*q == '+')
					*q = ' ';
			return v;
		}
		p += len;
		if (*p == '&')
			p++;
	}
	return NULL;
}

int
mreq_query_int(struct mreq *req, const char *name, int64_t def, int64_t min,
    int64_t max, int64_t *out)
{
	char		*v, *end;
	long long	 n;

	if ((v = mreq_query(req, name)) == NULL) {
		*out = def;
		return 0;
	}
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || *v == '\0' || *end != '\0' || n < min || n > max) {
		free(v);
		return mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid %s", name);
	}
	free(v);
	*out = n;
	return 0;
}

static const char *
reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	default: return "";
	}
}

static void
respond(struct mreq *req, FCGX_Request *fr)
{
	json_t	*obj = NULL;
	char	*body, head[256];
	int	 status, hlen;

	if (req->failed) {
		status = errs[req->err].status;
		if (req->err == MERR_INTERNAL) {
			/* The client learns only that it failed; the log has why. */
			mlog_err(req->id, "%s", req->errmsg);
			snprintf(req->errmsg, sizeof(req->errmsg), "Internal server error");
		}
		obj = req->errextra != NULL ? json_incref(req->errextra) : json_object();
		json_object_set_new(obj, "errcode", json_string(errs[req->err].code));
		json_object_set_new(obj, "error", json_string(req->errmsg));
	} else {
		status = req->status != 0 ? req->status : 200;
		obj = req->reply != NULL ? json_incref(req->reply) : json_object();
	}
	body = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (body == NULL) {
		status = 500;
		body = strdup("{\"errcode\":\"M_UNKNOWN\",\"error\":\"Internal server error\"}");
	}
	/* libfcgi's own printf knows no %zu: format here. */
	hlen = snprintf(head, sizeof(head), "Status: %d %s\r\n"
	    "Content-Type: application/json\r\n"
	    "Cache-Control: no-cache, no-store, must-revalidate\r\n"
	    "Content-Length: %zu\r\n\r\n", status, reason(status),
	    body != NULL ? strlen(body) : 0);
	FCGX_PutStr(head, hlen, fr->out);
	if (body != NULL && req->method != MM_HEAD)
		FCGX_PutStr(body, (int)strlen(body), fr->out);
	free(body);
	/* The path only: a query string may carry ?access_token=. */
	mlog_debug(req->id, "%s %.*s %d", methods[req->method],
	    (int)strcspn(req->uri, "?"), req->uri, status);
}

/* Takes the access token from the Authorization header or the query. */
static char *
token_of(struct mreq *req, const char *authz)
{
	if (authz != NULL && strncasecmp(authz, "Bearer ", 7) == 0) {
		authz += 7;
		while (*authz == ' ')
			authz++;
		return *authz != '\0' ? strdup(authz) : NULL;
	}
	return mreq_query(req, "access_token");
}

/* Reads and parses the body.  0 or -1 with the request failed. */
static int
read_body(struct mreq *req, FCGX_Request *fr)
{
	const char	*cl = FCGX_GetParam("CONTENT_LENGTH", fr->envp);
	long long	 len = cl != NULL && *cl != '\0' ? strtoll(cl, NULL, 10) : 0;
	char		*buf;
	int		 got;

	if (len < 0)
		return mfcgi_fail(req, MERR_BAD_JSON, "Bad Content-Length");
	if (len > req->conf->max_body_bytes)
		return mfcgi_fail(req, MERR_TOO_LARGE, "Request body too large");
	/* DELETE bodies carry UIA (DELETE /devices/{deviceId}). */
	if (req->method != MM_PUT && req->method != MM_POST &&
	    !(req->method == MM_DELETE && len > 0))
		return 0;
	if (len == 0) {
		/* Spec: several POSTs (logout, join) have no body; treat as {}. */
		req->body = json_object();
		return 0;
	}
	if ((buf = malloc((size_t)len)) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	got = FCGX_GetStr(buf, (int)len, fr->in);
	if (got != len) {
		free(buf);
		return mfcgi_fail(req, MERR_NOT_JSON, "Truncated body");
	}
	req->body = mjson_parse(buf, (size_t)len, MAX_JSON_DEPTH);
	free(buf);
	if (req->body == NULL)
		return mfcgi_fail(req, MERR_NOT_JSON, "Content not JSON.");
	if (!json_is_object(req->body))
		return mfcgi_fail(req, MERR_BAD_JSON, "Content must be a JSON object.");
	return 0;
}

static void
serve(struct worker *w, struct mdb *db, FCGX_Request *fr)
{
	struct mreq		 req;
	const struct mroute	*r;
	const char		*m, *uri, *q;
	char			*path = NULL;
	int			 i;

	memset(&req, 0, sizeof(req));
	req.srv = w->srv;
	req.conf = w->srv->conf;
	req.db = db;
	snprintf(req.id, sizeof(req.id), "%x-%x", (unsigned)getpid(),
	    atomic_fetch_add(&reqcount, 1));
	m = FCGX_GetParam("REQUEST_METHOD", fr->envp);
	uri = FCGX_GetParam("REQUEST_URI", fr->envp);
	req.remote_addr = FCGX_GetParam("REMOTE_ADDR", fr->envp);
	req.uri = uri != NULL ? uri : "/";
	req.method = MM_GET;
	for (i = 0; m != NULL && i < MMETHOD__MAX; i++)
		if (strcmp(m, methods[i]) == 0)
			break;
	if (m == NULL || i == MMETHOD__MAX) {
		mfcgi_fail(&req, MERR_BAD_METHOD, "Unrecognized request");
		goto out;
	}
	req.method = (enum mmethod)i;
	/* Route on the raw path: signatures and escapes concern the path as sent. */
	q = strchr(req.uri, '?');
	req.query = q != NULL ? q + 1 : "";
	if ((path = strndup(req.uri, q != NULL ? (size_t)(q - req.uri) : strlen(req.uri))) == NULL) {
		mfcgi_fail(&req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	req.token = token_of(&req, FCGX_GetParam("HTTP_AUTHORIZATION", fr->envp));
	if ((r = mfcgi_route(&req, w->app, path)) == NULL)
		goto out;
	if (read_body(&req, fr) == -1)
		goto out;
	if (db == NULL) {
		mfcgi_fail(&req, MERR_INTERNAL, "database unavailable");
		goto out;
	}
	if (mfcgi_authenticate(&req, r->auth) == -1)
		goto out;
	if (r->fn(&req) == -1 && !req.failed)
		mfcgi_fail(&req, MERR_INTERNAL, "handler failed without a reason");
out:
	respond(&req, fr);
	free(path);
	free(req.token);
	for (size_t k = 0; k < req.paramsz; k++)
		free(req.params[k]);
	mfcgi_auth_fini(&req.auth);
	json_decref(req.body);
	json_decref(req.reply);
	json_decref(req.errextra);
}

static void *
worker_main(void *arg)
{
	struct worker	*w = arg;
	FCGX_Request	 fr;
	struct mdb	*db;

	/* Each thread has its own connection: neither engine shares one well. */
	db = mdb_open(w->srv->conf);
	if (db == NULL)
		mlog_err(NULL, "worker %d: no database connection", w->id);
	FCGX_InitRequest(&fr, w->sock, 0);
	while (FCGX_Accept_r(&fr) >= 0) {
		serve(w, db, &fr);
		FCGX_Finish_r(&fr);
	}
	FCGX_Free(&fr, 1);
	mdb_close(db);
	return NULL;
}

static void
usage(const char *prog)
{
	fprintf(stderr, "usage: %s [-dn] [-L] -c config [-s socket] [-t threads]\n", prog);
}

int
mfcgi_main(const struct mapp *app, int argc, char *argv[])
{
	struct mserver	 srv;
	struct mconfig	*conf;
	struct mdb	*db;
	struct worker	*workers;
	const char	*cfpath = NULL, *sockpath = NULL;
	char		 errbuf[4096], *notpath = NULL;
	int		 ch, debug = 0, check = 0, locations = 0, threads = 0, sock;
	sigset_t	 set;

	while ((ch = getopt(argc, argv, "c:dLns:t:")) != -1) {
		switch (ch) {
		case 'c': cfpath = optarg; break;
		case 'd': debug = 1; break;
		case 'L': locations = 1; break;
		case 'n': check = 1; break;
		case 's': sockpath = optarg; break;
		case 't': {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (*end != '\0' || n < 1 || n > 256) {
				fprintf(stderr, "%s: -t: expected 1 to 256\n", getprogname());
				return 2;
			}
			threads = (int)n;
			break;
		}
		default:
			usage(getprogname());
			return 2;
		}
	}
	if (cfpath == NULL || optind != argc || (!check && !locations && sockpath == NULL)) {
		usage(getprogname());
		return 2;
	}
	if ((conf = mconfig_load(cfpath, errbuf, sizeof(errbuf))) == NULL) {
		fputs(errbuf, stderr);
		return 1;
	}
	if (check) {
		puts("configuration OK");
		mconfig_free(conf);
		return 0;
	}
	if (locations) {
		mfcgi_nginx(app, conf, sockpath != NULL ? sockpath : "SOCKET", stdout);
		mconfig_free(conf);
		return 0;
	}
	mlog_init(getprogname(), debug ? MLOG_DEBUG : (enum mlog_level)conf->log_level);
	memset(&srv, 0, sizeof(srv));
	srv.conf = conf;
	if (mcrypto_init() == -1) {
		mlog_err(NULL, "libsodium failed to start");
		return 1;
	}
	if (app->needs_key &&
	    (srv.key = mcrypto_key_load(conf->signing_key_path)) == NULL) {
		mlog_err(NULL, "%s: cannot load the signing key", conf->signing_key_path);
		return 1;
	}
	if (asprintf(&notpath, "%s/notify.shm", conf->run_dir) != -1)
		srv.notify = mnotify_open(notpath);
	free(notpath);
	if ((db = mdb_open(conf)) == NULL || mdb_migrate(db) == -1) {
		mlog_err(NULL, "database %s is not usable", conf->db_backend == MDB_SQLITE ?
		    conf->database : "(postgres)");
		mdb_close(db);
		return 1;
	}
	mdb_close(db);
	if (threads == 0)
		threads = mconfig_threads(conf, app->name);
	if (threads <= 0)
		threads = 2;
	/* Signals go to the main thread only, which waits for them below. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	FCGX_Init();
	unlink(sockpath);
	if ((sock = FCGX_OpenSocket(sockpath, 1024)) < 0) {
		mlog_err(NULL, "%s: cannot listen: %s", sockpath, strerror(errno));
		return 1;
	}
	/* nginx workers run as another user: let them connect. */
	chmod(sockpath, 0666);
	if ((workers = calloc((size_t)threads, sizeof(*workers))) == NULL)
		return 1;
	for (int i = 0; i < threads; i++) {
		workers[i].app = app;
		workers[i].srv = &srv;
		workers[i].sock = sock;
		workers[i].id = i;
		if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0) {
			mlog_err(NULL, "cannot start thread %d", i);
			return 1;
		}
	}
	mlog_info(NULL, "serving on %s with %d threads", sockpath, threads);
	for (;;) {
		int sig;

		if (sigwait(&set, &sig) != 0 || sig != SIGHUP)
			break;
	}
	/* Finish requests in flight; wake threads blocked in accept(). */
	FCGX_ShutdownPending();
	shutdown(sock, SHUT_RDWR);
	close(sock);
	unlink(sockpath);
	for (int i = 0; i < threads; i++)
		pthread_join(workers[i].thread, NULL);
	free(workers);
	mnotify_close(srv.notify);
	mcrypto_key_free(srv.key);
	mconfig_free(conf);
	mlog_info(NULL, "stopped");
	return 0;
}
