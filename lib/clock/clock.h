/* The only way myelin reads the time; tests may substitute a fake clock. */
#ifndef MYELIN_CLOCK_H
#define MYELIN_CLOCK_H

#include <stdint.h>

/*
 * Milliseconds since the epoch.  When the environment variable
 * MYELIN_FAKE_CLOCK names a file, its first 8 bytes (a little-endian
 * int64 of milliseconds) are the time instead, so that tests move time
 * forward for every process of a stack at once.
 */
int64_t	mclock_now_ms(void);
/* Sets the fake clock file to ms (creating it).  Returns 0 or -1. */
int	mclock_fake_set(const char *path, int64_t ms);

#endif
