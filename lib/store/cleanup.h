/*
 * The cleanup timer's deletes (lib/store/cleanup.c, timer-daemon/cleanup.c):
 * rows past their time, in batches of at most limit rows, each batch a
 * transaction of its own.  Each returns the number of rows of its kind
 * deleted (0: none left), or -1; deleting again what another timer
 * deleted meanwhile is harmless, so two timerd processes may run them.
 */
#ifndef MYELIN_STORE_CLEANUP_H
#define MYELIN_STORE_CLEANUP_H

#include <stdint.h>

struct mdb;

/*
 * How long a to-device transaction ID deduplicates a PUT /sendToDevice
 * (Synapse keeps event transaction IDs a day).
 */
#define MSTORE_TXN_LIFETIME_MS	(24LL * 3600 * 1000)

/* Login tokens (m.login.token) valid until now or before. */
int64_t	mstore_clean_login_tokens(struct mdb *, int64_t now, int64_t limit);
/* Refresh tokens expired at now and the access tokens issued with them. */
int64_t	mstore_clean_refresh_tokens(struct mdb *, int64_t now, int64_t limit);
/* To-device transaction IDs first seen more than MSTORE_TXN_LIFETIME_MS before now. */
int64_t	mstore_clean_todevice_txns(struct mdb *, int64_t now, int64_t limit);

#endif
