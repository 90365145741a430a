/* What a myelin program may touch once started: built from its config and its needs. */
#include <sys/stat.h>

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "sandbox/sandbox.h"

/* Read by every program: libraries (dlopen'd NSS, gconv), time zones, entropy. */
static const char *const common_r[] = {
	"/usr/lib", "/usr/lib64", "/lib", "/lib64", "/etc/ld.so.cache",
	"/etc/localtime", "/usr/share/zoneinfo", "/dev/urandom", "/dev/random",
	"/proc/self", "/proc/thread-self", "/sys/devices/system/cpu",
};

/* Read by programs making outbound HTTP: libcurl reads CAs at each connection. */
static const char *const net_r[] = {
	"/etc/ssl", "/usr/share/ca-certificates", "/etc/ca-certificates",
	"/etc/pki", "/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf",
	"/etc/gai.conf", "/etc/host.conf", "/etc/services", "/etc/protocols",
};

/* dirname(3) of a copy.  0 or -1 (memory). */
static int
allow_dir_of(struct msandbox *sb, const char *path, int access)
{
	char	*p;
	int	 rc;

	if (path == NULL)
		return 0;
	if ((p = strdup(path)) == NULL)
		return -1;
	rc = msandbox_allow(sb, dirname(p), access);
	free(p);
	return rc;
}

/*
 * The directory SQLite puts its temp files in (large sorts, statement
 * journals): the first of these that is a directory it may write, as
 * its unix VFS chooses; only that one, not every candidate.
 */
static const char *
sqlite_tmpdir(void)
{
	const char	*dirs[] = { getenv("SQLITE_TMPDIR"), getenv("TMPDIR"),
			    "/var/tmp", "/usr/tmp", "/tmp" };
	struct stat	 st;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (dirs[i] != NULL && stat(dirs[i], &st) == 0 && S_ISDIR(st.st_mode) &&
		    access(dirs[i], W_OK | X_OK) == 0)
			return dirs[i];
	return NULL;
}

/* Off by config, or by MYELIN_SANDBOX=0 (or "off", "no") in the environment. */
static int
is_off(const struct mconfig *conf)
{
	const char *e = getenv("MYELIN_SANDBOX");

	if (e != NULL && (strcmp(e, "0") == 0 || strcmp(e, "off") == 0 ||
	    strcmp(e, "no") == 0))
		return 1;
	return !conf->sandbox;
}

int
msandbox_config(struct msandbox *sb, const struct mconfig *conf, const char *sockpath,
    int flags)
{
	size_t		 i;
	int		 rc = 0;

	msandbox_init(sb);
	sb->off = is_off(conf);
	sb->exec = (flags & MSANDBOX_EXEC) != 0;
	for (i = 0; i < sizeof(common_r) / sizeof(common_r[0]); i++)
		rc |= msandbox_allow(sb, common_r[i], MSANDBOX_R);
	rc |= msandbox_allow(sb, "/dev/null", MSANDBOX_R | MSANDBOX_W);
	rc |= msandbox_allow(sb, conf->path, MSANDBOX_R);
	/* The tests' fake clock (lib/clock), mapped at its first reading. */
	rc |= msandbox_allow(sb, getenv("MYELIN_FAKE_CLOCK"), MSANDBOX_R);
	rc |= msandbox_allow(sb, conf->run_dir, MSANDBOX_R | MSANDBOX_W);
	/* The socket is removed at stop; beside it, nginx's body files (MSANDBOX_UPLOAD). */
	if (sockpath != NULL && strchr(sockpath, '/') != NULL) {
		rc |= allow_dir_of(sb, sockpath, MSANDBOX_R | MSANDBOX_W);
		/*
		 * A handler that stays root (user = root) is one whose nginx
		 * layout hands over body files (lib/fcgi/nginx.c) from a
		 * client_body_temp_path of nginx's configuration, which it
		 * cannot know: landlock would refuse every upload.
		 */
		if ((flags & MSANDBOX_UPLOAD) && geteuid() == 0)
			sb->no_landlock = "running as root, nginx's body files may be anywhere";
		if (flags & MSANDBOX_UPLOAD) {
			char *p, *q = NULL;

			if ((p = strdup(sockpath)) == NULL)
				return -1;
			/* myelin-stack's runtime directory: RT/sock/NAME.sock, RT/tmp/body. */
			if (asprintf(&q, "%s/../tmp", dirname(p)) == -1)
				q = NULL;
			rc |= q == NULL ? -1 : msandbox_allow(sb, q, MSANDBOX_R | MSANDBOX_W);
			free(q);
			free(p);
		}
	}
	/*
	 * SQLite writes -wal, -shm and -journal files beside the database,
	 * and spills temp files to the directory sqlite_tmpdir names.  PostgreSQL
	 * is a socket (connect(2) is no file access landlock sees).
	 */
	if (conf->db_backend == MDB_SQLITE)
		rc |= allow_dir_of(sb, conf->database, MSANDBOX_R | MSANDBOX_W);
	if (conf->synapse_database != NULL && conf->synapse_db_backend == MDB_SQLITE)
		rc |= allow_dir_of(sb, conf->synapse_database, MSANDBOX_R | MSANDBOX_W);
	if (conf->db_backend == MDB_SQLITE ||
	    (conf->synapse_database != NULL && conf->synapse_db_backend == MDB_SQLITE))
		rc |= msandbox_allow(sb, sqlite_tmpdir(), MSANDBOX_R | MSANDBOX_W);
	if (flags & MSANDBOX_MEDIA) {
		rc |= msandbox_allow(sb, conf->media_path, MSANDBOX_R | MSANDBOX_W);
		rc |= msandbox_allow(sb, conf->synapse_media_store, MSANDBOX_R | MSANDBOX_W);
	}
	if (flags & MSANDBOX_NET) {
		for (i = 0; i < sizeof(net_r) / sizeof(net_r[0]); i++)
			rc |= msandbox_allow(sb, net_r[i], MSANDBOX_R);
		rc |= msandbox_allow(sb, conf->federation_ca_file, MSANDBOX_R);
		rc |= msandbox_allow(sb, conf->push_ca_file, MSANDBOX_R);
		rc |= msandbox_allow(sb, conf->identity_ca_file, MSANDBOX_R);
		rc |= msandbox_allow(sb, conf->url_preview_ca_file, MSANDBOX_R);
		rc |= msandbox_allow(sb, conf->appservice_ca_file, MSANDBOX_R);
	}
	if (flags & MSANDBOX_KEY) {
		const char *keys[] = { conf->signing_key_path, conf->synapse_signing_key };

		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			char *old = NULL;

			if (keys[i] == NULL)
				continue;
			if (asprintf(&old, "%s.old", keys[i]) == -1)
				return -1;
			rc |= msandbox_allow(sb, keys[i], MSANDBOX_R);
			if (access(old, F_OK) == 0)
				rc |= msandbox_allow(sb, old, MSANDBOX_R);
			else
				rc |= allow_dir_of(sb, keys[i], MSANDBOX_R);
			free(old);
		}
	}
	/* A program that execs: its own directory (myelin-thumbnail) and the loader. */
	if (flags & MSANDBOX_EXEC) {
		char self[4096];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

		if (n > 0) {
			self[n] = '\0';
			rc |= allow_dir_of(sb, self, MSANDBOX_X);
		}
		for (i = 0; i < 4; i++)
			rc |= msandbox_allow(sb, common_r[i], MSANDBOX_X);
#if defined(__SANITIZE_ADDRESS__)
		/*
		 * LeakSanitizer in the child it runs lists the child's
		 * threads at exit from /proc/PID/task, a PID of its own:
		 * the /proc/self rule above is this process's directory.
		 */
		rc |= msandbox_allow(sb, "/proc", MSANDBOX_R);
#endif
	}
	return rc == 0 ? 0 : -1;
}
