/* The sender's retry schedule (lib/fed/sender.c): doubling from the minimum, capped. */
#include "testlib.h"
#include "fed/fed.h"

int
main(void)
{
	int64_t	b = 0, prev;
	int	n;

	CHECK(mfed_backoff_next(0) == MFED_BACKOFF_MIN_MS);
	CHECK(mfed_backoff_next(-5) == MFED_BACKOFF_MIN_MS);
	CHECK(mfed_backoff_next(MFED_BACKOFF_MIN_MS) == 2 * MFED_BACKOFF_MIN_MS);
	/* Each failure doubles it until the cap, which then holds. */
	for (n = 0; n < 40; n++) {
		prev = b;
		b = mfed_backoff_next(b);
		CHECK(b <= MFED_BACKOFF_MAX_MS);
		CHECK(b == MFED_BACKOFF_MAX_MS || b == (prev == 0 ? MFED_BACKOFF_MIN_MS : 2 * prev));
	}
	CHECK(b == MFED_BACKOFF_MAX_MS);
	CHECK(mfed_backoff_next(MFED_BACKOFF_MAX_MS) == MFED_BACKOFF_MAX_MS);
	CHECK(mfed_backoff_next(MFED_BACKOFF_MAX_MS - 1) == MFED_BACKOFF_MAX_MS);
	return failed;
}
