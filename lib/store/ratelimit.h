/*
 * Storage of the rate limits (lib/ratelimit): buckets shared by every
 * process and host using the database, and per-user overrides.
 */
#ifndef MYELIN_STORE_RATELIMIT_H
#define MYELIN_STORE_RATELIMIT_H

#include <stdint.h>

struct mdb;

/*
 * One action on bucket (name, bucket) at now_ms, the bucket regaining
 * one action every interval_us microseconds and holding burst of them (a generic
 * cell rate: the row keeps the time at which it is empty again).  When
 * update is 0 the action is only checked, never counted.  1 allowed
 * (and counted), 0 refused with *retry_ms the wait until it would be
 * allowed, -1 failure.  Buckets empty at now_ms are dropped when a new
 * one is made.
 */
int	mstore_ratelimit_take(struct mdb *, const char *name, const char *bucket,
	    int64_t now_ms, int64_t interval_us, int64_t burst, int update,
	    int64_t *retry_ms);

/*
 * Synapse's per-user override (admin API override_ratelimit): 1 with
 * *per_second and *burst, 0 when user_id has none, -1.  _put sets it
 * (0 or -1), _del removes it (1, 0 none, -1).
 */
int	mstore_ratelimit_override_get(struct mdb *, const char *user_id,
	    int64_t *per_second, int64_t *burst);
int	mstore_ratelimit_override_put(struct mdb *, const char *user_id,
	    int64_t per_second, int64_t burst);
int	mstore_ratelimit_override_del(struct mdb *, const char *user_id);

#endif
