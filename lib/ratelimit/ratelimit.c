/* Rate limits: the config's values and overrides over lib/store's buckets. */
#include <stdint.h>
#include <string.h>

#include "appsvc/appsvc.h"
#include "clock/clock.h"
#include "fcgi/fcgi.h"
#include "json/json.h"
#include "ratelimit/ratelimit.h"
#include "store/store.h"

/* Microseconds between two actions at per_second, at most a day's worth of years. */
static int64_t
interval_us(double per_second)
{
	double us = 1000000.0 / per_second;

	return us < 1 ? 1 : us > 1e15 ? (int64_t)1e15 : (int64_t)us;
}

static int
take(struct mreq *req, enum mrc rc, const char *key, double per_second, int64_t burst,
    int update)
{
	int64_t	 retry;
	int	 ok;

	if (rc >= MRC__MAX || key == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: bad limit", __func__);
	ok = mstore_ratelimit_take(req->db, mconfig_rc_name(rc), key, mclock_now_ms(),
	    interval_us(per_second), burst, update, &retry);
	if (ok == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (ok == 1)
		return 0;
	/* Synapse's words; Retry-After is written from retry_after_ms. */
	mfcgi_fail(req, MERR_LIMITED, "Too Many Requests");
	return mfcgi_fail_add(req, "retry_after_ms", json_integer(retry));
}

int
mratelimit_take(struct mreq *req, enum mrc rc, const char *key)
{
	if (rc >= MRC__MAX)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: bad limit", __func__);
	return take(req, rc, key, req->conf->rc[rc].per_second, req->conf->rc[rc].burst_count, 1);
}

int
mratelimit_check(struct mreq *req, enum mrc rc, const char *key)
{
	if (rc >= MRC__MAX)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: bad limit", __func__);
	return take(req, rc, key, req->conf->rc[rc].per_second, req->conf->rc[rc].burst_count, 0);
}

/*
 * Synapse: the users of an application service whose registration says
 * rate_limited: false are not limited.
 */
static int
appservice_exempt(const struct mreq *req)
{
	return req->auth.appservice != NULL && !req->auth.appservice->rate_limited;
}

int
mratelimit_user(struct mreq *req, enum mrc rc)
{
	int64_t	 ps, burst;
	int	 found;

	if (rc >= MRC__MAX || req->auth.user_id == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: no user", __func__);
	if (req->auth.is_admin || appservice_exempt(req))
		return 0;
	if (req->auth.rl_known) {
		found = req->auth.rl_override;
		ps = req->auth.rl_per_second;
		burst = req->auth.rl_burst;
	} else
		found = mstore_ratelimit_override_get(req->db, req->auth.user_id, &ps, &burst);
	if (found == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (found == 0)
		return mratelimit_take(req, rc, req->auth.user_id);
	/* Synapse: an override without a rate lifts the limit. */
	if (ps <= 0)
		return 0;
	return take(req, rc, req->auth.user_id, (double)ps, burst < 1 ? 1 : burst, 1);
}

int
mratelimit_count(struct mreq *req, enum mrc rc, const char *key)
{
	int64_t retry;

	if (rc >= MRC__MAX || key == NULL)
		return -1;
	return mstore_ratelimit_take(req->db, mconfig_rc_name(rc), key, mclock_now_ms(),
	    interval_us(req->conf->rc[rc].per_second), req->conf->rc[rc].burst_count, 1, &retry);
}

int
mratelimit_event(struct mreq *req, const char *room_id, const char *type,
    const char *state_key, const json_t *content)
{
	const char *m;

	if (type == NULL || strcmp(type, "m.room.member") != 0 || state_key == NULL)
		return mratelimit_user(req, MRC_MESSAGE);
	if ((m = mjson_str(content, "membership")) == NULL)
		return 0;
	if (strcmp(m, "join") == 0)
		return mratelimit_user(req, MRC_JOINS_LOCAL);
	if (strcmp(m, "invite") == 0) {
		if (req->auth.is_admin || appservice_exempt(req))
			return 0;
		if (mratelimit_take(req, MRC_INVITES_ROOM, room_id) == -1)
			return -1;
		return mratelimit_take(req, MRC_INVITES_USER, state_key);
	}
	return 0;
}
