/* Small portability shims. */
#ifndef MYELIN_COMPAT_H
#define MYELIN_COMPAT_H

#include <errno.h>

/* BSD's getprogname(3): the program's name without its directory. */
#define getprogname()	(program_invocation_short_name)

#endif
