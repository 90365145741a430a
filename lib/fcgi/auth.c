/* Access tokens on requests: Authorization: Bearer, or ?access_token=. */
#include <stdlib.h>
#include <string.h>

#include "appsvc/appsvc.h"
#include "clock/clock.h"
#include "crypto/crypto.h"
#include "fed/fed.h"
#include "fcgi/extern.h"
#include "log/log.h"
#include "store/store.h"

/*
 * A device's last_seen_ts and last_seen_ip are written at most once per
 * this many milliseconds, so that a busy client costs a write every few
 * minutes, not one per request (Synapse's LAST_SEEN_GRANULARITY).
 */
#define SEEN_INTERVAL_MS	(2 * 60 * 1000)

void
mfcgi_auth_fini(struct mauthinfo *a)
{
	free(a->user_id);
	free(a->device_id);
	free(a->origin);
	memset(a, 0, sizeof(*a));
}

/* 1 when v holds a float anywhere, else 0. */
static int
has_real(const json_t *v)
{
	const char	*k;
	json_t		*e;
	size_t		 i;

	if (json_is_real(v))
		return 1;
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, e)
			if (has_real(e))
				return 1;
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			if (has_real(e))
				return 1;
	}
	return 0;
}

/*
 * Spec: S-S API, "Request Authentication": the X-Matrix header names
 * the origin, the key and the signature over the method, the raw URI,
 * origin, destination and the body.  As Synapse 1.67: 401
 * M_UNAUTHORIZED without the header; 400 M_UNAUTHORIZED when it does
 * not parse or the origin is no server name; 401 M_UNAUTHORIZED for a
 * request to another destination, a key not found or a signature that
 * does not verify (a float is signed over its shortest round trip,
 * lib/fed/xmatrix.c), but 400 M_BAD_JSON when that body has a float,
 * which the sender may have written otherwise (as Synapse refuses the
 * PDU of a room version 6 that holds one).  Only the first X-Matrix header is
 * read (nginx passes one Authorization header).
 */
static int
server_authenticate(struct mreq *req)
{
	struct mfed_authz	 a;
	struct mfed_name	 n;
	unsigned char		 pk[32];
	int			 rc;

	if (req->authz == NULL || strncasecmp(req->authz, "X-Matrix", 8) != 0)
		return mfcgi_fail(req, MERR_UNAUTHORIZED, "Missing Authorization headers");
	if (mfed_xmatrix_parse(req->authz, &a) == -1 || mfed_name_parse(a.origin, &n) == -1)
		return mfcgi_fail(req, MERR_BAD_UNAUTHORIZED, "Malformed Authorization header");
	if (a.destination[0] != '\0' && strcmp(a.destination, req->conf->server_name) != 0)
		return mfcgi_fail(req, MERR_UNAUTHORIZED, "Request is not for this server");
	if ((rc = mfed_key_get(req->db, req->conf, req->srv->key, a.origin, a.key_id,
	    mclock_now_ms(), pk)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: key lookup", __func__);
	if (rc == 0)
		return mfcgi_fail(req, MERR_UNAUTHORIZED, "Failed to find any key to satisfy %s",
		    a.key_id);
	if (mfed_xmatrix_verify(&a, req->conf->server_name, mfcgi_method_name(req->method),
	    req->uri, req->body_given ? req->body : NULL, pk) == -1) {
		if (req->body_given && has_real(req->body))
			return mfcgi_fail(req, MERR_BAD_JSON, "Bad JSON value: a float is not"
			    " canonical JSON");
		return mfcgi_fail(req, MERR_UNAUTHORIZED, "Invalid signature for server %s with key %s",
		    a.origin, a.key_id);
	}
	if ((req->auth.origin = strdup(a.origin)) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	return 0;
}

/*
 * Spec: Application Service API, "Identity assertion": the as_token of
 * a registration authenticates as its sender, or, with ?user_id=, as a
 * user of its namespace that exists (Synapse 1.67: 403 M_FORBIDDEN for
 * one outside it, or one not registered yet).  No device; admin rights
 * are the user's own.
 */
static int
appservice_authenticate(struct mreq *req, enum mauth need, const struct mappsvc *as)
{
	struct muser	 u;
	char		*uid = mreq_query(req, "user_id");
	int		 rc, locked, suspended;

	if (uid == NULL && (uid = strdup(as->sender)) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	if (!mappsvc_user_ok(as, uid)) {
		mfcgi_fail(req, MERR_FORBIDDEN,
		    "Application service cannot masquerade as this user (%s).", uid);
		free(uid);
		return -1;
	}
	if ((rc = mstore_user_get(req->db, uid, &u)) == -1) {
		free(uid);
		return mfcgi_fail(req, MERR_INTERNAL, "%s: user lookup", __func__);
	}
	if (rc == 0 && strcmp(uid, as->sender) == 0) {
		/* Its sender exists from the handler's start; made again if deleted. */
		if (mappsvc_senders_ensure(req->db, req->conf) == -1 ||
		    (rc = mstore_user_get(req->db, uid, &u)) != 1) {
			free(uid);
			return mfcgi_fail(req, MERR_INTERNAL, "%s: sender user", __func__);
		}
	}
	if (rc == 0 || u.deactivated) {
		mfcgi_fail(req, MERR_FORBIDDEN,
		    "Application service has not registered this user (%s)", uid);
		if (rc == 1)
			muser_fini(&u);
		free(uid);
		return -1;
	}
	if (need == MAUTH_ADMIN && !u.is_admin) {
		muser_fini(&u);
		free(uid);
		return mfcgi_fail(req, MERR_FORBIDDEN, "You are not a server admin");
	}
	/* Its users' locks and suspensions hold as their own tokens' do. */
	if (mstore_user_flags(req->db, uid, &locked, &suspended) == -1) {
		muser_fini(&u);
		free(uid);
		return mfcgi_fail(req, MERR_INTERNAL, "%s: user flags", __func__);
	}
	if (locked && need != MAUTH_LOCKED_OK) {
		muser_fini(&u);
		free(uid);
		mfcgi_fail(req, MERR_USER_LOCKED, "This account has been locked");
		return mfcgi_fail_add(req, "soft_logout", json_true());
	}
	req->auth.is_suspended = suspended;
	req->auth.user_id = uid;
	req->auth.device_id = NULL;
	req->auth.token_id = 0;
	req->auth.is_admin = u.is_admin;
	req->auth.is_guest = 0;
	req->auth.is_shadow_banned = u.shadow_banned;
	req->auth.appservice = as;
	muser_fini(&u);
	return 0;
}

/*
 * What a token found may still be refused for, as Synapse answers:
 * past valid_until_ms (0: never) 401 M_UNKNOWN_TOKEN with soft_logout,
 * telling the client to refresh; of a deactivated user 401
 * M_UNKNOWN_TOKEN.  0, or -1 after failing the request.
 */
int
mfcgi_token_usable(struct mreq *req, int64_t valid_until_ms, int deactivated)
{
	if (valid_until_ms != 0 && valid_until_ms <= mclock_now_ms()) {
		mfcgi_fail(req, MERR_UNKNOWN_TOKEN, "Access token has expired");
		return mfcgi_fail_add(req, "soft_logout", json_true());
	}
	if (deactivated)
		return mfcgi_fail(req, MERR_UNKNOWN_TOKEN, "User account has been deactivated");
	return 0;
}

/*
 * Spec: C-S API, "Client authentication": a missing token is 401
 * M_MISSING_TOKEN, an unknown one 401 M_UNKNOWN_TOKEN; an expired
 * refreshable token also gets soft_logout, telling the client to refresh.
 */
int
mfcgi_authenticate(struct mreq *req, enum mauth need)
{
	struct mtokeninfo	 t;
	char			*hash;
	int			 rc;

	if (need == MAUTH_NONE)
		return 0;
	if (need == MAUTH_SERVER)
		return server_authenticate(req);
	if (req->token == NULL) {
		if (need == MAUTH_OPTIONAL)
			return 0;
		return mfcgi_fail(req, MERR_MISSING_TOKEN, "Missing access token");
	}
	if (req->conf->appservicesz > 0) {
		const struct mappsvc *as = mappsvc_by_token(req->conf, req->token);

		if (as != NULL)
			return appservice_authenticate(req, need, as);
	}
	if ((hash = mcrypto_token_hash(req->token)) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: token hash", __func__);
	rc = mstore_token_get(req->db, hash, &t);
	free(hash);
	if (rc == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: token lookup", __func__);
	if (rc == 0)
		return mfcgi_fail(req, MERR_UNKNOWN_TOKEN, "Unknown access token");
	if (mfcgi_token_usable(req, t.valid_until_ms, t.deactivated) == -1) {
		mtokeninfo_fini(&t);
		return -1;
	}
	/* Spec: the first use of a refreshed token revokes the old refresh token. */
	if (!t.used && mstore_token_first_use(req->db, t.token_id, t.refresh_id) == -1) {
		mtokeninfo_fini(&t);
		return mfcgi_fail(req, MERR_INTERNAL, "%s: token first use", __func__);
	}
	/*
	 * Spec: C-S API, "Account locking": every request of a locked
	 * account but logging out answers 401 M_USER_LOCKED with
	 * soft_logout, so that the client keeps its session for an unlock.
	 */
	if (t.locked && need != MAUTH_LOCKED_OK) {
		mtokeninfo_fini(&t);
		mfcgi_fail(req, MERR_USER_LOCKED, "This account has been locked");
		return mfcgi_fail_add(req, "soft_logout", json_true());
	}
	if (need == MAUTH_ADMIN && !t.is_admin) {
		mtokeninfo_fini(&t);
		return mfcgi_fail(req, MERR_FORBIDDEN, "You are not a server admin");
	}
	/*
	 * Spec: GET /devices shows when and from where each device was last
	 * seen.  Only a missed record is lost if this fails, not the request.
	 */
	if (t.has_device && mclock_now_ms() - t.last_seen_ts >= SEEN_INTERVAL_MS &&
	    mstore_device_seen(req->db, t.user_id, t.device_id, req->remote_addr) == -1)
		mlog_warn(req->id, "%s: cannot record the device's use", __func__);
	req->auth.user_id = t.user_id;
	req->auth.device_id = t.device_id;
	req->auth.token_id = t.token_id;
	req->auth.is_admin = t.is_admin;
	req->auth.is_guest = t.is_guest;
	req->auth.is_shadow_banned = t.shadow_banned;
	req->auth.is_suspended = t.suspended;
	req->auth.rl_known = 1;
	req->auth.rl_override = t.rl_override;
	req->auth.rl_per_second = t.rl_per_second;
	req->auth.rl_burst = t.rl_burst;
	return 0;
}
