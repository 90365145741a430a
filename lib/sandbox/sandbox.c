/* Landlock through its raw syscalls: no library, the kernel's ABI read at run time. */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log/log.h"
#include "sandbox/extern.h"
#include "sandbox/sandbox.h"

/*
 * The kernel's ABI (linux/landlock.h), written out here: a build on
 * older headers still runs the rules a newer kernel knows, and the
 * numbers are fixed by the kernel's promise of a stable interface.
 */
#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset	444
#define __NR_landlock_add_rule		445
#define __NR_landlock_restrict_self	446
#endif

#define LL_CREATE_RULESET_VERSION	(1U << 0)
#define LL_RULE_PATH_BENEATH		1

#define LL_FS_EXECUTE		(1ULL << 0)
#define LL_FS_WRITE_FILE	(1ULL << 1)
#define LL_FS_READ_FILE		(1ULL << 2)
#define LL_FS_READ_DIR		(1ULL << 3)
#define LL_FS_REMOVE_DIR	(1ULL << 4)
#define LL_FS_REMOVE_FILE	(1ULL << 5)
#define LL_FS_MAKE_CHAR		(1ULL << 6)
#define LL_FS_MAKE_DIR		(1ULL << 7)
#define LL_FS_MAKE_REG		(1ULL << 8)
#define LL_FS_MAKE_SOCK		(1ULL << 9)
#define LL_FS_MAKE_FIFO		(1ULL << 10)
#define LL_FS_MAKE_BLOCK	(1ULL << 11)
#define LL_FS_MAKE_SYM		(1ULL << 12)
#define LL_FS_REFER		(1ULL << 13)	/* ABI 2 */
#define LL_FS_TRUNCATE		(1ULL << 14)	/* ABI 3 */
#define LL_FS_IOCTL_DEV		(1ULL << 15)	/* ABI 5 */

/* Rights that only mean something on a directory (EINVAL on a file). */
#define LL_FS_DIRONLY	(LL_FS_READ_DIR | LL_FS_REMOVE_DIR | LL_FS_REMOVE_FILE | \
	LL_FS_MAKE_CHAR | LL_FS_MAKE_DIR | LL_FS_MAKE_REG | LL_FS_MAKE_SOCK | \
	LL_FS_MAKE_FIFO | LL_FS_MAKE_BLOCK | LL_FS_MAKE_SYM | LL_FS_REFER)

struct ll_ruleset_attr {
	uint64_t	handled_access_fs;
};

struct ll_path_beneath_attr {
	uint64_t	allowed_access;
	int32_t		parent_fd;
} __attribute__((packed));

void
msandbox_init(struct msandbox *sb)
{
	memset(sb, 0, sizeof(*sb));
}

void
msandbox_fini(struct msandbox *sb)
{
	if (sb == NULL)
		return;
	for (size_t i = 0; i < sb->pathsz; i++)
		free(sb->paths[i].path);
	free(sb->paths);
	memset(sb, 0, sizeof(*sb));
}

int
msandbox_allow(struct msandbox *sb, const char *path, int access)
{
	struct msandbox_path *p;

	if (path == NULL || path[0] == '\0')
		return 0;
	if (sb->pathsz == sb->pathmax) {
		size_t n = sb->pathmax == 0 ? 32 : sb->pathmax * 2;

		if ((p = reallocarray(sb->paths, n, sizeof(*p))) == NULL)
			return -1;
		sb->paths = p;
		sb->pathmax = n;
	}
	p = &sb->paths[sb->pathsz];
	if ((p->path = strdup(path)) == NULL)
		return -1;
	p->access = access;
	sb->pathsz++;
	return 0;
}

int
msandbox_landlock_abi(void)
{
	long v = syscall(__NR_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);

	return v < 0 ? 0 : (int)v;
}

/* Every right the ABI knows: what is handled and not granted is refused. */
static uint64_t
handled(int abi)
{
	uint64_t h = LL_FS_EXECUTE | LL_FS_WRITE_FILE | LL_FS_READ_FILE | LL_FS_READ_DIR |
	    LL_FS_REMOVE_DIR | LL_FS_REMOVE_FILE | LL_FS_MAKE_CHAR | LL_FS_MAKE_DIR |
	    LL_FS_MAKE_REG | LL_FS_MAKE_SOCK | LL_FS_MAKE_FIFO | LL_FS_MAKE_BLOCK |
	    LL_FS_MAKE_SYM;

	/*
	 * REFER handled: linking or renaming across directories then needs
	 * it on both sides (an upload linked from nginx's body file into
	 * media_path).  Unhandled, the kernel would refuse every such move.
	 */
	if (abi >= 2)
		h |= LL_FS_REFER;
	if (abi >= 3)
		h |= LL_FS_TRUNCATE;
	if (abi >= 5)
		h |= LL_FS_IOCTL_DEV;
	return h;
}

static uint64_t
rights(int access, int isdir, uint64_t h)
{
	uint64_t r = 0;

	if (access & (MSANDBOX_R | MSANDBOX_W | MSANDBOX_X))
		r |= LL_FS_READ_FILE | LL_FS_READ_DIR;
	if (access & MSANDBOX_X)
		r |= LL_FS_EXECUTE;
	if (access & MSANDBOX_W)
		r |= LL_FS_WRITE_FILE | LL_FS_REMOVE_DIR | LL_FS_REMOVE_FILE |
		    LL_FS_MAKE_DIR | LL_FS_MAKE_REG | LL_FS_MAKE_SOCK | LL_FS_REFER |
		    LL_FS_TRUNCATE | LL_FS_IOCTL_DEV;
	if (!isdir)
		r &= ~LL_FS_DIRONLY;
	return r & h;
}

/*
 * Builds the ruleset and restricts the process to it.  0, or -1 with
 * *why set (the log says it).
 */
static int
landlock(const struct msandbox *sb, int abi, const char **why)
{
	struct ll_ruleset_attr	 attr;
	int			 rfd, rc = -1;

	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = handled(abi);
	if ((rfd = (int)syscall(__NR_landlock_create_ruleset, &attr, sizeof(attr), 0)) == -1) {
		*why = "the kernel refused the ruleset";
		return -1;
	}
	for (size_t i = 0; i < sb->pathsz; i++) {
		struct ll_path_beneath_attr	 pb;
		struct stat			 st;
		int				 fd;

		/* A path that is not there (yet) is nothing to grant. */
		if ((fd = open(sb->paths[i].path, O_PATH | O_CLOEXEC)) == -1) {
			mlog_debug(NULL, "sandbox: %s: %s", sb->paths[i].path, strerror(errno));
			continue;
		}
		memset(&pb, 0, sizeof(pb));
		pb.parent_fd = fd;
		pb.allowed_access = rights(sb->paths[i].access,
		    fstat(fd, &st) == 0 && S_ISDIR(st.st_mode), attr.handled_access_fs);
		if (pb.allowed_access != 0 &&
		    syscall(__NR_landlock_add_rule, rfd, LL_RULE_PATH_BENEATH, &pb, 0) == -1) {
			/* A filesystem that refuses rules (some do not support them). */
			mlog_debug(NULL, "sandbox: %s: no rule: %s", sb->paths[i].path,
			    strerror(errno));
			close(fd);
			*why = "a filesystem refused a rule";
			goto out;
		}
		close(fd);
	}
	if (syscall(__NR_landlock_restrict_self, rfd, 0) == -1) {
		*why = "the kernel refused to restrict";
		goto out;
	}
	rc = 0;
out:
	close(rfd);
	return rc;
}

int
msandbox_apply(const struct msandbox *sb, struct msandbox_status *out)
{
	struct msandbox_status	 st;
	const char		*why = NULL;
	int			 serr = 0;

	memset(&st, 0, sizeof(st));
	if (sb->off) {
		st.why = "off";
		mlog_info(NULL, "sandbox: off (sandbox = off, or MYELIN_SANDBOX=0)");
		if (out != NULL)
			*out = st;
		return 0;
	}
	/* Both need it (landlock without CAP_SYS_ADMIN; seccomp always). */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		st.why = "no_new_privs refused";
		mlog_warn(NULL, "sandbox: PR_SET_NO_NEW_PRIVS: %s: running without it",
		    strerror(errno));
		if (out != NULL)
			*out = st;
		return -1;
	}
	if ((st.landlock_abi = msandbox_landlock_abi()) == 0)
		why = st.why = "unavailable";
	else if (sb->no_landlock != NULL) {
		why = st.why = sb->no_landlock;
		mlog_info(NULL, "sandbox: landlock left out: %s", why);
	}
	else if (landlock(sb, st.landlock_abi, &why) == 0)
		st.landlock = 1;
	else
		st.why = why;
	if (msandbox_seccomp(sb->exec) == 0)
		st.seccomp = 1;
	else {
		serr = errno;
		if (st.why == NULL)
			st.why = "seccomp refused";
	}
	if (sb->no_landlock != NULL && st.seccomp) {
		mlog_info(NULL, "sandbox: seccomp on%s", sb->exec ? "" : ", no exec");
		if (out != NULL)
			*out = st;
		return 0;
	}
	if (st.landlock && st.seccomp)
		mlog_info(NULL, "sandbox: landlock ABI %d (%zu paths), seccomp on%s",
		    st.landlock_abi, sb->pathsz, sb->exec ? "" : ", no exec");
	else
		mlog_warn(NULL, "sandbox: landlock %s, seccomp %s: carrying on with what holds",
		    st.landlock ? "on" : why, st.seccomp ? "on" : strerror(serr));
	if (out != NULL)
		*out = st;
	return st.landlock && st.seccomp ? 0 : -1;
}
