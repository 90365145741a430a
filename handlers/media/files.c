/* The handler's account of the media bytes it read itself. */
#include <stdatomic.h>

#include "extern.h"

static atomic_uint_fast64_t	bytes_read;

uint64_t
media_bytes_read(void)
{
	return atomic_load(&bytes_read);
}

void
media_bytes_read_add(uint64_t n)
{
	atomic_fetch_add(&bytes_read, n);
}
