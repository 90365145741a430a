/* VoIP: the TURN server a client may relay calls through. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "clock/clock.h"
#include "crypto/crypto.h"
#include "extern.h"

/*
 * Spec: C-S API, GET /voip/turnServer: {username, password, uris, ttl}.
 * With turn_shared_secret, the credentials are those of coturn's TURN
 * REST scheme (--use-auth-secret), as Synapse makes them: the username
 * is "<expiry in seconds>:<user ID>" and the password the padded base64
 * of HMAC-SHA1(secret, username), so coturn checks them without asking
 * us.  Otherwise turn_username and turn_password are given as they are.
 * No URIs or no credentials configured: {} (Synapse answers alike).  A
 * guest when turn_allow_guests is off: 403 M_FORBIDDEN.
 */
int
h_turn_server(struct mreq *req)
{
	const struct mconfig	*c = req->conf;
	unsigned char		 md[20];
	char			*user = NULL, *pass = NULL;
	json_t			*uris = NULL, *out = NULL;
	int			 rc = -1;

	if (c->turn_urisz == 0 || (c->turn_shared_secret == NULL && c->turn_username == NULL))
		return mfcgi_reply(req, 200, json_object());
	if (req->auth.is_guest && !c->turn_allow_guests)
		return mfcgi_fail(req, MERR_FORBIDDEN, "Guest access is not allowed to the TURN server");
	if (c->turn_shared_secret != NULL) {
		long long expiry = (mclock_now_ms() / 1000) + c->turn_user_lifetime;

		if (asprintf(&user, "%lld:%s", expiry, req->auth.user_id) == -1) {
			user = NULL;
			goto fail;
		}
		if (mcrypto_hmac_sha1(c->turn_shared_secret, strlen(c->turn_shared_secret),
		    user, strlen(user), md) == -1 ||
		    (pass = mcrypto_b64_encode_padded(md, sizeof(md))) == NULL)
			goto fail;
		sodium_memzero(md, sizeof(md));
	} else if ((user = strdup(c->turn_username)) == NULL ||
	    (pass = strdup(c->turn_password)) == NULL)
		goto fail;
	if ((uris = json_array()) == NULL)
		goto fail;
	for (size_t i = 0; i < c->turn_urisz; i++)
		if (json_array_append_new(uris, json_string(c->turn_uris[i])) == -1)
			goto fail;
	if ((out = json_pack("{s:s,s:s,s:O,s:i}", "username", user, "password", pass,
	    "uris", uris, "ttl", c->turn_user_lifetime)) == NULL)
		goto fail;
	rc = mfcgi_reply(req, 200, out);
	goto out;
fail:
	mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
out:
	json_decref(uris);
	free(user);
	free(pass);
	return rc;
}
