/* The start-up every handler program shares: flags, config, key, database, socket. */
#include <sys/socket.h>
#include <netdb.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "appsvc/appsvc.h"
#include "compat.h"
#include "crypto/crypto.h"
#include "fcgi/extern.h"
#include "log/log.h"
#include "notify/notify.h"
#include "sandbox/sandbox.h"
#include "store/store.h"

/*
 * The benchmark's 10,000 long-polls may arrive at once, each an upstream
 * connection from nginx; a full queue refuses nginx's connect(2), which
 * the client sees as 502.  The kernel caps it at net.core.somaxconn.
 */
#define LISTEN_BACKLOG	16384

static void
usage(const char *prog)
{
	fprintf(stderr, "usage: %s [-dn] [-L | -R] [-g group[,group ...]] -c config"
	    " [-s socket] [-t threads]\n", prog);
}

int
mfcgi_start(const struct mapp *app, int argc, char *argv[], struct mfcgi_start *st)
{
	struct mconfig	*conf;
	struct mdb	*db;
	const char	*cfpath = NULL, *groups = NULL;
	char		 errbuf[4096], *notpath = NULL;
	int		 ch, debug = 0, check = 0, locations = 0, routes = 0;

	memset(st, 0, sizeof(*st));
	while ((ch = getopt(argc, argv, "c:dg:LnRs:t:")) != -1) {
		switch (ch) {
		case 'c': cfpath = optarg; break;
		case 'd': debug = 1; break;
		case 'g': groups = optarg; break;
		case 'L': locations = 1; break;
		case 'n': check = 1; break;
		case 'R': routes = 1; break;
		case 's': st->sockpath = optarg; break;
		case 't': {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (*end != '\0' || n < 1 || n > 256) {
				fprintf(stderr, "%s: -t: expected 1 to 256\n", getprogname());
				return 2;
			}
			st->threads = (int)n;
			break;
		}
		default:
			usage(getprogname());
			return 2;
		}
	}
	if (cfpath == NULL || optind != argc || (groups != NULL && !locations) ||
	    (!check && !locations && !routes && st->sockpath == NULL)) {
		usage(getprogname());
		return 2;
	}
	if ((conf = mconfig_load(cfpath, errbuf, sizeof(errbuf))) == NULL) {
		fputs(errbuf, stderr);
		return 1;
	}
	if (app->mode != NULL && app->mode(conf) != NULL)
		app = app->mode(conf);
	st->app = app;
	if (check) {
		puts("configuration OK");
		mconfig_free(conf);
		return 0;
	}
	if (locations) {
		int rc = mfcgi_nginx_groups(app, conf, st->sockpath != NULL ? st->sockpath :
		    "SOCKET", groups, stdout);

		if (rc == -1) {
			fprintf(stderr, "%s: -g %s: groups of this program are:", getprogname(),
			    groups);
			for (size_t i = 0; i < app->groupsz; i++)
				fprintf(stderr, "%s %s", i > 0 ? "," : "", app->groups[i].name);
			fputs(app->groupsz == 0 ? " none in this mode\n" : "\n", stderr);
		}
		mconfig_free(conf);
		return rc == -1 ? 2 : 0;
	}
	if (routes) {
		mfcgi_routes(app, stdout);
		mconfig_free(conf);
		return 0;
	}
	st->conf = conf;
	st->srv.conf = conf;
	mlog_init(getprogname(), debug ? MLOG_DEBUG : (enum mlog_level)conf->log_level);
	if (mcrypto_init() == -1) {
		mlog_err(NULL, "libsodium failed to start");
		goto bad;
	}
	mcrypto_password_concurrency(conf->password_hash_concurrency);
	if (mcrypto_password_pepper(conf->password_pepper) == -1) {
		mlog_err(NULL, "password_pepper: out of memory");
		goto bad;
	}
	mfcgi_metrics_init(app);
	if (app->needs_key) {
		const char *kp = app->key_path != NULL ? app->key_path(conf) : conf->signing_key_path;

		if (kp == NULL || (st->srv.key = mcrypto_key_load(kp)) == NULL) {
			mlog_err(NULL, "%s: cannot load the signing key", kp != NULL ? kp :
			    "(no signing key file configured)");
			goto bad;
		}
	}
	if (asprintf(&notpath, "%s/notify.shm", conf->run_dir) != -1)
		st->srv.notify = mnotify_open(notpath);
	free(notpath);
	/* With PostgreSQL, handlers on other hosts wake ours and ours theirs. */
	if (st->srv.notify != NULL && conf->db_backend == MDB_POSTGRES &&
	    mnotify_attach_pg(st->srv.notify, conf->database) == -1)
		mlog_warn(NULL, "no wake-ups across hosts: notify bridge failed");
	if (app->db_open != NULL) {
		/* Another's database (Synapse's): checked, never migrated. */
		if ((db = app->db_open(conf)) == NULL)
			goto bad;
	/* Application services' own users exist without registering. */
	} else if ((db = mdb_open(conf, NULL)) == NULL || mdb_migrate(db) == -1 ||
	    mappsvc_senders_ensure(db, conf) == -1) {
		mlog_err(NULL, "database %s is not usable", conf->db_backend == MDB_SQLITE ?
		    conf->database : "(postgres)");
		mdb_close(db);
		goto bad;
	}
	mdb_close(db);
	if (st->threads == 0)
		st->threads = mconfig_threads(conf, app->name);
	if (st->threads <= 0)
		st->threads = 2;
	/* Signals go to one thread only, which waits for them. */
	sigemptyset(&st->sigs);
	sigaddset(&st->sigs, SIGTERM);
	sigaddset(&st->sigs, SIGINT);
	sigaddset(&st->sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &st->sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	return -1;
bad:
	mfcgi_start_fini(st);
	return 1;
}

struct mdb *
mfcgi_db_open(const struct mapp *app, const struct mconfig *conf, struct mnotify *notify)
{
	if (app->db_open != NULL)
		return app->db_open(conf);
	return mdb_open(conf, notify);
}

void
mfcgi_routes(const struct mapp *app, FILE *f)
{
	static const char *const auths[] = {
		"none", "optional", "user", "user", "admin", "server",
	};

	for (size_t i = 0; i < app->routesz; i++) {
		const struct mroute *r = &app->routes[i];

		fprintf(f, "%s %s %s\n", mfcgi_method_name(r->method), r->path,
		    (size_t)r->auth < sizeof(auths) / sizeof(auths[0]) ? auths[r->auth] : "?");
	}
}

int
mfcgi_sandbox(const struct mfcgi_start *st)
{
	struct msandbox	 sb;
	int		 rc = 0;

	if (msandbox_config(&sb, st->conf, st->sockpath, st->app->sandbox) == -1) {
		mlog_err(NULL, "%s: out of memory", __func__);
		rc = -1;
	} else
		(void)msandbox_apply(&sb, NULL);
	msandbox_fini(&sb);
	return rc;
}

void
mfcgi_start_fini(struct mfcgi_start *st)
{
	mnotify_close(st->srv.notify);
	mcrypto_key_free(st->srv.key);
	mconfig_free(st->conf);
	memset(st, 0, sizeof(*st));
}

/*
 * Binds under a temporary name and renames once listening: whoever
 * waits for the socket file (myelin-stack, tests) never finds one that
 * refuses connections or that nginx's user cannot open.
 */
/*
 * "HOST:PORT" (no leading '/') listens on TCP instead, for handlers that
 * nginx reaches across hosts (docs/scaling.md).
 */
static int
listen_tcp(const char *spec)
{
	struct addrinfo	 hints, *res = NULL;
	const char	*colon = strrchr(spec, ':');
	char		 host[256];
	int		 fd = -1, one = 1, rc;

	if (colon == NULL || (size_t)(colon - spec) >= sizeof(host))
		return -1;
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if ((rc = getaddrinfo(host[0] != '\0' ? host : NULL, colon + 1, &hints, &res)) != 0) {
		mlog_err(NULL, "%s: %s", spec, gai_strerror(rc));
		return -1;
	}
	if ((fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, LISTEN_BACKLOG) == -1) {
		mlog_err(NULL, "%s: cannot listen: %s", spec, strerror(errno));
		if (fd != -1)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/*
 * Says once, at info, that net.core.somaxconn holds the listen queue
 * below LISTEN_BACKLOG: the sysadmin may raise it (sysctl).
 */
static void
backlog_note(void)
{
	FILE	*f;
	long	 max = 0;

	if ((f = fopen("/proc/sys/net/core/somaxconn", "r")) == NULL)
		return;
	if (fscanf(f, "%ld", &max) == 1 && max < LISTEN_BACKLOG)
		mlog_info(NULL, "listen queue %ld, not %d: net.core.somaxconn caps it",
		    max, LISTEN_BACKLOG);
	fclose(f);
}

/* 1 when spec names a TCP address rather than a unix socket file. */
static int
is_tcp(const char *spec)
{
	return spec[0] != '/' && spec[0] != '.' && strchr(spec, ':') != NULL;
}

/* Removes a unix socket's file at stop; TCP addresses have none. */
void
mfcgi_unlisten(const char *path)
{
	if (!is_tcp(path))
		unlink(path);
}

int
mfcgi_listen(const char *path)
{
	struct sockaddr_un	 sun;
	char			 tmp[sizeof(sun.sun_path)];
	int			 fd = -1;

	backlog_note();
	if (is_tcp(path))
		return listen_tcp(path);

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.new", path) >= sizeof(tmp)) {
		mlog_err(NULL, "%s: socket path too long", path);
		return -1;
	}
	memcpy(sun.sun_path, tmp, strlen(tmp) + 1);
	unlink(tmp);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(tmp, 0666) == -1 ||
	    listen(fd, LISTEN_BACKLOG) == -1 ||
	    rename(tmp, path) == -1) {
		mlog_err(NULL, "%s: cannot listen: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		unlink(tmp);
		return -1;
	}
	return fd;
}
