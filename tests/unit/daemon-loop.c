/*
 * The daemons' loop (lib/daemon): every timer runs at start; one that
 * said it wants no other run (MDAEMON_NOMORE) runs again at once when
 * its stream moves in the notify segment; SIGTERM ends the loop; the
 * metrics file run_dir/NAME.prom is written with the daemon's label and
 * its own lines.  A loop that missed the move would hang: alarm(20)
 * turns that into a failure.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "notify/notify.h"
#include "testlib.h"

static int	 bumped, watched;

/* Moves the typing stream once, as a commit elsewhere would. */
static int64_t
t_bump(struct mdb *db, struct mnotify *notify, int64_t now)
{
	(void)db;
	(void)now;
	if (notify != NULL)
		mnotify_bump(notify, MSTREAM_TYPING);
	bumped++;
	return MDAEMON_NOMORE;
}

/* Follows the typing stream; its second run ends the daemon. */
static int64_t
t_watch(struct mdb *db, struct mnotify *notify, int64_t now)
{
	(void)db;
	(void)notify;
	(void)now;
	if (++watched == 2)
		raise(SIGTERM);
	return MDAEMON_NOMORE;
}

static void
more(FILE *f, struct mdb *db, void *arg)
{
	(void)db;
	fprintf(f, "test_own_metric %d\n", *(int *)arg);
}

static void
onalarm(int sig)
{
	(void)sig;
	_exit(1);
}

int
main(void)
{
	struct mdaemon_timer	 timers[] = {
		{ "watch", t_watch, MSTREAM_TYPING, 0, 0 },
		{ "bump", t_bump, MSTREAM__MAX, 0, 0 },
	};
	struct mdaemon		 d;
	char			 dir[] = "/tmp/myelin-daemon.XXXXXX", conf[256], prom[256];
	char			 buf[4096], cmd[300];
	FILE			*f;
	size_t			 n;
	int			 own = 42;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(conf, sizeof(conf), "%s/myelin.conf", dir);
	if ((f = fopen(conf, "w")) == NULL)
		return 1;
	fprintf(f, "server_name = test.example\ndatabase_backend = sqlite\n"
	    "database = %s/myelin.db\nrun_dir = %s\nlog_level = error\n", dir, dir);
	fclose(f);
	signal(SIGALRM, onalarm);
	alarm(20);
	CHECK(mdaemon_open(&d, "myelin-test", "test", conf, 0, 0) == 0);
	CHECK(d.dm_notify != NULL && d.dm_db != NULL && d.dm_key == NULL);
	d.dm_metrics = more;
	d.dm_metrics_arg = &own;
	if (d.dm_db != NULL) {
		mdaemon_run(&d, timers, sizeof(timers) / sizeof(timers[0]));
		CHECK(mdaemon_quitting());
		CHECK(bumped == 1);
		CHECK(watched == 2);
		CHECK(mdaemon_metrics_write(&d) == 0);
	}
	mdaemon_close(&d);
	snprintf(prom, sizeof(prom), "%s/test.prom", dir);
	if ((f = fopen(prom, "r")) == NULL) {
		FAIL("no %s", prom);
	} else {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		fclose(f);
		CHECK(strstr(buf, "myelin_db_statements_total{daemon=\"test\"}") != NULL);
		CHECK(strstr(buf, "test_own_metric 42\n") != NULL);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	return failed;
}
