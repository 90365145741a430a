/* libsodium start-up, shared by every crypto function. */
#include <sodium.h>

#include "crypto/crypto.h"

/*
 * sodium_init() is itself thread-safe and returns 1 when already done,
 * so this may be called any number of times, from any thread.
 */
int
mcrypto_init(void)
{
	return sodium_init() == -1 ? -1 : 0;
}
