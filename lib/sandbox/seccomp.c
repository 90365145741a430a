/* A plain BPF syscall filter: EPERM for what no myelin program calls (no libseccomp). */
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include <errno.h>
#include <stddef.h>
#include <unistd.h>

#include "sandbox/extern.h"

#if defined(__x86_64__)
#define NATIVE_ARCH	AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH	AUDIT_ARCH_AARCH64
#endif

/*
 * The numbers are the build's architecture's (sys/syscall.h), which is
 * the one the filter accepts: a call under another ABI (i386 through
 * int 0x80, x32) is refused whole.  A name an architecture lacks
 * (aarch64 has no kexec_file_load on old headers) is left out.
 */
static const int denied[] = {
#if !defined(__SANITIZE_ADDRESS__)
	/*
	 * LeakSanitizer stops the world at exit with ptrace(2) from a
	 * thread of its own: a sanitizer build (make test) keeps it.
	 */
	SYS_ptrace,
#endif
	SYS_process_vm_readv, SYS_process_vm_writev,
	SYS_mount, SYS_umount2, SYS_pivot_root, SYS_chroot,
	SYS_kexec_load,
#ifdef SYS_kexec_file_load
	SYS_kexec_file_load,
#endif
	SYS_init_module, SYS_finit_module, SYS_delete_module,
	SYS_reboot, SYS_swapon, SYS_swapoff, SYS_acct,
	SYS_bpf, SYS_perf_event_open, SYS_userfaultfd, SYS_open_by_handle_at,
	SYS_keyctl, SYS_add_key, SYS_request_key,
	SYS_unshare, SYS_setns, SYS_personality,
};

#define DENY	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA))
#define NDENIED	(sizeof(denied) / sizeof(denied[0]))

int
msandbox_seccomp(int allow_exec)
{
#ifdef NATIVE_ARCH
	struct sock_filter	 f[8 + 2 * (NDENIED + 2)];
	struct sock_fprog	 prog;
	size_t			 n = 0;

	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	    offsetof(struct seccomp_data, arch));
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 1, 0);
	f[n++] = (struct sock_filter)DENY;
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	    offsetof(struct seccomp_data, nr));
#ifdef __x86_64__
	/* x32 calls are the x86_64 numbers with this bit set. */
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000U, 0, 1);
	f[n++] = (struct sock_filter)DENY;
#endif
	for (size_t i = 0; i < NDENIED; i++) {
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
		    (unsigned)denied[i], 0, 1);
		f[n++] = (struct sock_filter)DENY;
	}
	if (!allow_exec) {
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
		    SYS_execve, 0, 1);
		f[n++] = (struct sock_filter)DENY;
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
		    SYS_execveat, 0, 1);
		f[n++] = (struct sock_filter)DENY;
	}
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	prog.len = (unsigned short)n;
	prog.filter = f;
	/*
	 * Every thread at once (TSYNC): libpq's notify listener may run
	 * already.  A kernel without seccomp(2) gets prctl, this thread's.
	 */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog) == 0)
		return 0;
	if (errno != ENOSYS)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) == -1 ? -1 : 0;
#else
	(void)allow_exec;
	errno = ENOTSUP;
	return -1;
#endif
}
