/* Shared internals of lib/sandbox. */
#ifndef MYELIN_SANDBOX_EXTERN_H
#define MYELIN_SANDBOX_EXTERN_H

/* Installs the syscall filter (seccomp.c).  0, or -1 with errno set. */
int	msandbox_seccomp(int allow_exec);

#endif
