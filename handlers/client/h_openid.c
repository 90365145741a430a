/* OpenID: tokens a user hands to a third party, which asks us who they are. */
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"
#include "crypto/crypto.h"
#include "extern.h"
#include "store/store.h"

/* Spec: expires_in, "the number of seconds before this token expires"; Synapse's hour. */
#define OPENID_LIFETIME_S	3600

/*
 * Spec: C-S API, POST /user/{userId}/openid/request_token: only for
 * oneself (403 M_FORBIDDEN), {access_token, token_type "Bearer",
 * matrix_server_name, expires_in}.  The token is kept as its hash, as
 * access tokens are, and is good for nothing but GET .../openid/userinfo.
 */
int
h_openid_request_token(struct mreq *req)
{
	char	*tok = NULL, *hash = NULL;
	int64_t	 now = mclock_now_ms();
	int	 rc = -1;

	if (strcmp(req->params[0], req->auth.user_id) != 0)
		return mfcgi_fail(req, MERR_FORBIDDEN, "Cannot request tokens for other users");
	if ((tok = mcrypto_random_string(32)) == NULL ||
	    (hash = mcrypto_token_hash(tok)) == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	if (mstore_openid_add(req->db, hash, req->auth.user_id,
	    now + OPENID_LIFETIME_S * 1000, now) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	rc = mfcgi_reply(req, 200, json_pack("{s:s,s:s,s:s,s:i}", "access_token", tok,
	    "token_type", "Bearer", "matrix_server_name", req->conf->server_name,
	    "expires_in", OPENID_LIFETIME_S));
out:
	free(tok);
	free(hash);
	return rc;
}

/*
 * Spec: S-S API, GET /_matrix/federation/v1/openid/userinfo
 * ?access_token=: {sub: user ID}; 401 M_UNKNOWN_TOKEN when the token is
 * unknown or expired, and, as Synapse, 401 M_MISSING_TOKEN without one.
 * The request is not signed: the token is the credential.
 */
int
h_openid_userinfo(struct mreq *req)
{
	char	*tok, *hash = NULL, *user_id = NULL;
	int	 rc;

	if ((tok = mreq_query(req, "access_token")) == NULL)
		return mfcgi_fail(req, MERR_MISSING_TOKEN, "Access token required");
	if ((hash = mcrypto_token_hash(tok)) == NULL) {
		free(tok);
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	}
	free(tok);
	rc = mstore_openid_get(req->db, hash, mclock_now_ms(), &user_id);
	free(hash);
	if (rc == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (rc == 0)
		return mfcgi_fail(req, MERR_UNKNOWN_TOKEN, "Access token unknown or expired");
	rc = mfcgi_reply(req, 200, json_pack("{s:s}", "sub", user_id));
	free(user_id);
	return rc;
}
