/* Beside a running Synapse: its access tokens on requests (docs/beside-synapse.md). */
#include <string.h>

#include "fcgi/extern.h"
#include "store/store.h"

/*
 * Synapse's access tokens, as its auth does: 401 M_MISSING_TOKEN
 * without one, M_UNKNOWN_TOKEN for one unknown, expired (with
 * soft_logout) or of a deactivated user.  Fills req->auth.  Read only:
 * Synapse's own bookkeeping of a token's use (user_ips, used) stays
 * Synapse's.
 */
int
mfcgi_syn_auth(struct mreq *req)
{
	struct msyn_token	 t;
	int			 rc;

	if (req->token == NULL)
		return mfcgi_fail(req, MERR_MISSING_TOKEN, "Missing access token");
	if ((rc = msyn_token_get(req->db, req->token, &t)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: token lookup", __func__);
	if (rc == 0)
		return mfcgi_fail(req, MERR_UNKNOWN_TOKEN, "Unknown access token");
	if (mfcgi_token_usable(req, t.valid_until_ms, t.deactivated) == -1) {
		msyn_token_fini(&t);
		return -1;
	}
	req->auth.user_id = t.user_id;
	req->auth.device_id = t.device_id;
	req->auth.token_id = t.token_id;
	req->auth.is_admin = t.is_admin;
	req->auth.is_guest = t.is_guest;
	req->auth.is_shadow_banned = t.shadow_banned;
	return 0;
}
