/*
 * libFuzzer harness: the FastCGI record parser (lib/fcgi/proto.c) on
 * any bytes, fed in the chunks a socket might give, driven as async.c
 * drives it until it asks for more or gives up.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/extern.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mfcgi_in	 in;
	size_t		 off = 0, chunk;
	enum mfcgi_ev	 ev;
	int		 done = 0;

	mfcgi_in_init(&in, 4096, 4096);
	while (off < size && !done) {
		/* The first byte of each chunk says how long it is. */
		chunk = 1 + data[off] % 64;
		off++;
		if (chunk > size - off)
			chunk = size - off;
		if (mfcgi_buf_add(&in.in, data + off, chunk) == -1)
			break;
		off += chunk;
		for (;;) {
			ev = mfcgi_in_parse(&in);
			if (ev == MFCGI_MORE)
				break;
			if (ev == MFCGI_BAD) {
				done = 1;
				break;
			}
			if (ev == MFCGI_READY) {
				(void)mfcgi_in_param(&in, "REQUEST_URI");
				mfcgi_in_release(&in);
			}
			mfcgi_in_end(&in);
			in.out.len = 0;
		}
	}
	mfcgi_in_fini(&in);
	return 0;
}
