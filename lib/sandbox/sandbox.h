/* Least privilege after start-up: landlock (files) and seccomp (syscalls), raw syscalls only. */
#ifndef MYELIN_SANDBOX_H
#define MYELIN_SANDBOX_H

#include <stddef.h>

struct mconfig;

/* What a path grants (and everything under it, for a directory). */
#define MSANDBOX_R	0x01	/* read files, list directories */
#define MSANDBOX_W	0x02	/* write, create, remove, rename, link (with R) */
#define MSANDBOX_X	0x04	/* execute (with R) */

/* What a program declares it needs beyond the common paths (msandbox_config). */
#define MSANDBOX_NET	0x01	/* outbound HTTP: CA files, resolv.conf, hosts, nsswitch... */
#define MSANDBOX_MEDIA	0x02	/* media_path (and synapse_media_store), read and write */
#define MSANDBOX_EXEC	0x04	/* runs other programs (myelin-thumbnail): execve allowed */
#define MSANDBOX_UPLOAD	0x08	/* takes nginx's body files: the runtime tmp/ beside the socket */
#define MSANDBOX_KEY	0x10	/* reads the retired keys (signing_key_path.old) when asked */

struct msandbox_path {
	char	*path;
	int	 access;
};

struct msandbox {
	int			 off;		/* sandbox = off, or MYELIN_SANDBOX=0 */
	int			 exec;		/* execve/execveat allowed */
	const char		*no_landlock;	/* why the policy leaves landlock out, or NULL */
	struct msandbox_path	*paths;
	size_t			 pathsz;
	size_t			 pathmax;
};

/* What msandbox_apply did, for the log line and the tests. */
struct msandbox_status {
	int		 landlock_abi;	/* the kernel's landlock ABI, 0: none */
	int		 landlock;	/* 1: the file rules hold */
	int		 seccomp;	/* 1: the syscall filter holds */
	const char	*why;		/* when one of them does not: "unavailable", "off"... */
};

void	msandbox_init(struct msandbox *);
void	msandbox_fini(struct msandbox *);
/* Grants access (MSANDBOX_R|W|X) to path; NULL is ignored.  0 or -1 (memory). */
int	msandbox_allow(struct msandbox *, const char *path, int access);
/*
 * The policy of a myelin program under conf: the config file, the
 * database's directory (SQLite writes -wal, -shm, -journal and temp
 * files beside it) and the temp directories, run_dir, the socket's
 * directory (sockpath, may be NULL), the libraries, zoneinfo,
 * /dev/null, /dev/urandom, /proc/self, and what flags (MSANDBOX_NET...)
 * add.  The signing key is not in it (it is read at start) but with
 * MSANDBOX_KEY, for the key server: then the key and its retired keys
 * file, or the key's directory while that file does not exist (a
 * rotation makes it later).  Off when
 * conf says "sandbox = off" or the environment MYELIN_SANDBOX=0.
 * 0 or -1 (memory).
 */
int	msandbox_config(struct msandbox *, const struct mconfig *conf, const char *sockpath,
	    int flags);
/*
 * Restricts the calling process for good: no_new_privs, then landlock
 * with the paths granted (when the kernel has it; every access right
 * of its ABI is handled, so what is not granted is refused with
 * EACCES), then a seccomp filter (every thread, TSYNC) that fails with
 * EPERM what no myelin program does: ptrace, mount, module loading,
 * kexec, bpf, keyrings, namespaces, personality, process_vm_*, the x32
 * ABI and foreign architectures, and execve unless exec was granted.
 * Landlock binds the calling thread and the threads it starts later:
 * call it before starting workers.  A part the kernel lacks or refuses
 * is left out, said once in the log; st (may be NULL) says what holds.
 * Returns 0 when everything asked holds, -1 when a part is missing.
 */
int	msandbox_apply(const struct msandbox *, struct msandbox_status *st);
/* The running kernel's landlock ABI version, 0 when it has none. */
int	msandbox_landlock_abi(void);

#endif
