/* The daemons' skeleton: start-up, signals, notify, the loop of timers, the metrics file. */
#ifndef MYELIN_DAEMON_H
#define MYELIN_DAEMON_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "store/store.h"

struct mconfig;
struct mdb;
struct mkey;
struct mnotify;

/* A timer's answer when it wants no other run (a stream move still runs it). */
#define MDAEMON_NOMORE	(-1)

/*
 * A timer returns the milliseconds until it wants to run again, or
 * MDAEMON_NOMORE.  A move of its stream (MSTREAM__MAX: none) in the
 * notify segment runs it at once: new work may fall due sooner than it
 * said.  A timer with due MDAEMON_NOMORE and no stream never runs.
 */
struct mdaemon_timer {
	const char	*name;
	int64_t		(*fn)(struct mdb *, struct mnotify *, int64_t now);
	enum mstream	 stream;
	int64_t		 due;
	uint64_t	 seen;		/* the stream's position at the last run */
};

/* What a daemon asks of mdaemon_open. */
#define MDAEMON_KEY	0x01	/* load the signing key (a missing one is logged, dm_key NULL) */

struct mdaemon {
	const char	*dm_prog;	/* "myelin-timerd": the log's ident */
	const char	*dm_name;	/* "timerd": the metrics file and label */
	struct mconfig	*dm_conf;
	struct mdb	*dm_db;
	struct mnotify	*dm_notify;	/* NULL: the loop polls */
	struct mkey	*dm_key;
	/* Writes the daemon's own metrics after the common ones, or NULL. */
	void		(*dm_metrics)(FILE *, struct mdb *, void *);
	void		*dm_metrics_arg;
	char		*dm_metrics_path;
};

/*
 * Starts daemon prog (metrics name name) with the configuration at
 * cfpath: the log (debug: to stderr at debug level), libsodium, the
 * notify segment of run_dir (attached to PostgreSQL's LISTEN/NOTIFY
 * with that backend, so handlers on other hosts wake it), the database
 * (migrated), the signing key with MDAEMON_KEY, and SIGTERM/SIGINT to
 * end mdaemon_run (SIGHUP and SIGPIPE ignored).  Privileges are not
 * dropped here, as in the handlers: the service manager runs it as the
 * service user (myelin(7), "Privileges").  Returns 0, or the exit
 * status for main (the cause written to stderr or the log).
 */
int	mdaemon_open(struct mdaemon *, const char *prog, const char *name, const char *cfpath,
	    int debug, int flags);
void	mdaemon_close(struct mdaemon *);
/*
 * Restricts the daemon, once its start-up is done and before its loop,
 * to the common paths of lib/sandbox and what flags (MSANDBOX_NET,
 * _MEDIA) add: landlock and seccomp, as the handlers.  What the kernel
 * lacks is logged and left out.  0 or -1 (memory: do not run).
 */
int	mdaemon_sandbox(struct mdaemon *, int flags);
/*
 * Runs timers[0..n) until a signal ends the daemon: each when due or
 * when its stream moves, sleeping on the notify segment in between
 * (lib/clock's time: the tests' fake clock may jump), and every 2 s of
 * the real clock rewrites run_dir/NAME.prom.
 */
void	mdaemon_run(struct mdaemon *, struct mdaemon_timer *timers, size_t n);
/* 1 once SIGTERM or SIGINT came. */
int	mdaemon_quitting(void);
/* Writes the metrics file now (mdaemon_run does it every 2 s).  0 or -1. */
int	mdaemon_metrics_write(struct mdaemon *);

#endif
