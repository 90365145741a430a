/* lib/sandbox: landlock refuses what is not granted, seccomp refuses execve, "off" is off. */
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "sandbox/sandbox.h"
#include "testlib.h"

static char	 base[64], in[128], out[128];

static void
touch(const char *dir, const char *name)
{
	char	 p[256];
	int	 fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if ((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1) {
		perror(p);
		exit(1);
	}
	close(fd);
}

/* open(2) of dir/name: 0, or the errno it failed with. */
static int
try_open(const char *dir, const char *name, int flags)
{
	char	 p[256];
	int	 fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if ((fd = open(p, flags | O_CLOEXEC, 0600)) == -1)
		return errno;
	close(fd);
	return 0;
}

/* The Seccomp: line of /proc/self/status, -1 if unread. */
static int
seccomp_mode(void)
{
	char	 line[256];
	FILE	*f;
	int	 mode = -1;

	if ((f = fopen("/proc/self/status", "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "Seccomp: %d", &mode) == 1)
			break;
	fclose(f);
	return mode;
}

/* In a child: applies in/ read-write, nothing of out/, no exec. */
static int
child_restricted(int abi)
{
	struct msandbox		 sb;
	struct msandbox_status	 st;
	char			*argv[] = { "true", NULL }, *envp[] = { NULL };

	msandbox_init(&sb);
	CHECK(msandbox_allow(&sb, in, MSANDBOX_R | MSANDBOX_W) == 0);
	CHECK(msandbox_allow(&sb, "/proc/self", MSANDBOX_R) == 0);
	CHECK(msandbox_allow(&sb, "/nonexistent/path", MSANDBOX_R) == 0);
	(void)msandbox_apply(&sb, &st);
	msandbox_fini(&sb);
	CHECK(st.landlock_abi == abi);
	if (abi == 0) {
		/* No landlock here: the module says so, it does not pretend. */
		CHECK(st.landlock == 0);
		CHECK(st.why != NULL && strcmp(st.why, "unavailable") == 0);
	} else {
		CHECK(st.landlock == 1);
		CHECK(try_open(in, "a", O_RDONLY) == 0);
		CHECK(try_open(in, "new", O_WRONLY | O_CREAT) == 0);
		CHECK(try_open(out, "b", O_RDONLY) == EACCES);
		CHECK(try_open(out, "new", O_WRONLY | O_CREAT) == EACCES);
		CHECK(try_open("/etc", "passwd", O_RDONLY) == EACCES);
	}
	CHECK(st.seccomp == 1);
	CHECK(seccomp_mode() == 2);
	errno = 0;
	CHECK(execve("/bin/true", argv, envp) == -1 && errno == EPERM);
	errno = 0;
	CHECK(syscall(SYS_unshare, CLONE_NEWNS) == -1 && errno == EPERM);
#ifndef __SANITIZE_ADDRESS__
	/* Kept for LeakSanitizer in a sanitizer build (seccomp.c). */
	errno = 0;
	CHECK(syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0) == -1 && errno == EPERM);
#endif
	/* What a program does all day still works. */
	CHECK(getpid() > 0);
	return failed;
}

/* In a child: a policy that is off restricts nothing. */
static int
child_off(void)
{
	struct msandbox		 sb;
	struct msandbox_status	 st;

	msandbox_init(&sb);
	sb.off = 1;
	CHECK(msandbox_apply(&sb, &st) == 0);
	msandbox_fini(&sb);
	CHECK(st.landlock == 0 && st.seccomp == 0);
	CHECK(st.why != NULL && strcmp(st.why, "off") == 0);
	CHECK(try_open(out, "b", O_RDONLY) == 0);
	CHECK(seccomp_mode() == 0);
	return failed;
}

/* In a child: a policy that allows exec lets the program run another. */
static int
child_exec(void)
{
	struct msandbox		 sb;
	struct msandbox_status	 st;
	char			*argv[] = { "true", NULL }, *envp[] = { NULL };
	pid_t			 pid;
	int			 status;

	msandbox_init(&sb);
	sb.exec = 1;
	CHECK(msandbox_allow(&sb, "/usr", MSANDBOX_X) == 0);
	CHECK(msandbox_allow(&sb, "/bin", MSANDBOX_X) == 0);
	CHECK(msandbox_allow(&sb, "/lib", MSANDBOX_X) == 0);
	CHECK(msandbox_allow(&sb, "/lib64", MSANDBOX_X) == 0);
	CHECK(msandbox_allow(&sb, "/etc/ld.so.cache", MSANDBOX_R) == 0);
	(void)msandbox_apply(&sb, &st);
	msandbox_fini(&sb);
	CHECK(st.seccomp == 1);
	if ((pid = fork()) == 0) {
		execve("/bin/true", argv, envp);
		_exit(127);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return failed;
}

static void
run(const char *name, int (*fn)(int), int arg)
{
	pid_t	 pid;
	int	 status;

	fflush(NULL);
	if ((pid = fork()) == -1) {
		FAIL("%s: fork: %s", name, strerror(errno));
		return;
	}
	if (pid == 0)
		_exit(fn(arg));
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		FAIL("%s: the child failed", name);
}

static int
off_fn(int arg)
{
	(void)arg;
	return child_off();
}

static int
exec_fn(int arg)
{
	(void)arg;
	return child_exec();
}

/* msandbox_config: "sandbox = off" and MYELIN_SANDBOX=0 turn it off; the paths are there. */
static void
config_checks(void)
{
	struct mconfig	*conf;
	struct msandbox	 sb;
	char		 path[256], errs[1024];
	FILE		*f;
	int		 found_db = 0, found_key = 0, found_media = 0;

	snprintf(path, sizeof(path), "%s/myelin.conf", base);
	if ((f = fopen(path, "w")) == NULL) {
		FAIL("%s: %s", path, strerror(errno));
		return;
	}
	fprintf(f, "server_name = test\ndatabase = myelin.db\nsandbox = off\n");
	fclose(f);
	if ((conf = mconfig_load(path, errs, sizeof(errs))) == NULL) {
		FAIL("config: %s", errs);
		return;
	}
	CHECK(msandbox_config(&sb, conf, NULL, 0) == 0);
	CHECK(sb.off == 1);
	msandbox_fini(&sb);
	conf->sandbox = 1;
	setenv("MYELIN_SANDBOX", "0", 1);
	CHECK(msandbox_config(&sb, conf, NULL, 0) == 0);
	CHECK(sb.off == 1);
	msandbox_fini(&sb);
	unsetenv("MYELIN_SANDBOX");
	CHECK(msandbox_config(&sb, conf, NULL, MSANDBOX_NET) == 0);
	CHECK(sb.off == 0 && sb.exec == 0);
	for (size_t i = 0; i < sb.pathsz; i++) {
		if (strcmp(sb.paths[i].path, base) == 0 && (sb.paths[i].access & MSANDBOX_W))
			found_db = 1;	/* myelin.db's directory */
		if (conf->signing_key_path != NULL &&
		    strcmp(sb.paths[i].path, conf->signing_key_path) == 0)
			found_key = 1;
		if (conf->media_path != NULL && strcmp(sb.paths[i].path, conf->media_path) == 0)
			found_media = 1;
	}
	CHECK(found_db);
	CHECK(!found_key);
	CHECK(!found_media);
	msandbox_fini(&sb);
	mconfig_free(conf);
}

int
main(void)
{
	int abi = msandbox_landlock_abi();

	snprintf(base, sizeof(base), "/tmp/msandbox.XXXXXX");
	if (mkdtemp(base) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(in, sizeof(in), "%s/in", base);
	snprintf(out, sizeof(out), "%s/out", base);
	if (mkdir(in, 0700) == -1 || mkdir(out, 0700) == -1) {
		perror("mkdir");
		return 1;
	}
	touch(in, "a");
	touch(out, "b");
	printf("landlock ABI %d\n", abi);
	run("restricted", child_restricted, abi);
	run("off", off_fn, 0);
	run("exec", exec_fn, 0);
	config_checks();
	{
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
		if (system(cmd) != 0)
			FAIL("cannot remove %s", base);
	}
	return failed;
}
