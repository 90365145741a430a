/* Synapse's shared-secret registration: a nonce, then an account for an HMAC. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/auth.h"
#include "clock/clock.h"
#include "crypto/crypto.h"
#include "extern.h"
#include "json/json.h"
#include "store/store.h"

#define NONCE_LIFETIME_MS	(60 * 1000)

/* Synapse: GET /_synapse/admin/v1/register hands out a nonce for 60 s. */
int
h_register_nonce(struct mreq *req)
{
	char	*nonce;
	int	 rc;

	if (req->conf->registration_shared_secret == NULL)
		return mfcgi_fail(req, MERR_UNKNOWN, "Shared secret registration is not enabled");
	if ((nonce = mcrypto_random_string(32)) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	if (mstore_nonce_add(req->db, nonce) == -1)
		rc = mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	else
		rc = mfcgi_reply(req, 200, json_pack("{s:s}", "nonce", nonce));
	free(nonce);
	return rc;
}

/*
 * Synapse: POST /_synapse/admin/v1/register.  mac is the hex HMAC-SHA1,
 * keyed with the shared secret, of nonce, username, password and
 * "admin"/"notadmin" (and user_type when given) joined by NUL bytes:
 * byte-compatible with Synapse so register_new_matrix_user and existing
 * provisioning scripts work unchanged.
 */
int
h_register_shared(struct mreq *req)
{
	json_t		*b = req->body, *out = NULL;
	const char	*nonce = mjson_str(b, "nonce"), *username = mjson_str(b, "username");
	const char	*password = mjson_str(b, "password"), *mac = mjson_str(b, "mac");
	const char	*user_type = mjson_str(b, "user_type");
	const char	*displayname = mjson_str(b, "displayname");
	const char	*secret = req->conf->registration_shared_secret;
	int		 admin = json_is_true(json_object_get(b, "admin"));
	char		*msg = NULL, *user_id = NULL, *hash = NULL, want[41];
	size_t		 msgsz;
	int		 rc = -1, taken;

	if (secret == NULL)
		return mfcgi_fail(req, MERR_UNKNOWN, "Shared secret registration is not enabled");
	if (nonce == NULL)
		return mfcgi_fail(req, MERR_BAD_JSON, "nonce must be specified");
	if (username == NULL || *username == '\0' || strlen(username) > 512)
		return mfcgi_fail(req, MERR_BAD_JSON, "Invalid username");
	if (password == NULL || strlen(password) > 512)
		return mfcgi_fail(req, MERR_BAD_JSON, "Invalid password");
	if (json_object_get(b, "admin") != NULL && !json_is_boolean(json_object_get(b, "admin")))
		return mfcgi_fail(req, MERR_BAD_JSON, "Invalid admin");
	if (mac == NULL)
		return mfcgi_fail(req, MERR_BAD_JSON, "mac must be specified");
	/* The nonce is spent by this attempt whatever its outcome. */
	if ((taken = mstore_nonce_take(req->db, nonce, mclock_now_ms() - NONCE_LIFETIME_MS)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (taken == 0)
		return mfcgi_fail(req, MERR_UNKNOWN, "unrecognised nonce");
	msgsz = strlen(nonce) + strlen(username) + strlen(password) + 16 +
	    (user_type != NULL ? strlen(user_type) + 1 : 0);
	if ((msg = malloc(msgsz)) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	{
		int n = snprintf(msg, msgsz, "%s%c%s%c%s%c%s", nonce, 0, username, 0,
		    password, 0, admin ? "admin" : "notadmin");

		if (user_type != NULL)
			n += snprintf(msg + n, msgsz - (size_t)n, "%c%s", 0, user_type);
		mcrypto_hmac_sha1_hex(secret, strlen(secret), msg, (size_t)n, want);
	}
	if (strlen(mac) != 40 || strcasecmp(mac, want) != 0) {
		mfcgi_fail(req, MERR_FORBIDDEN, "HMAC incorrect");
		goto out;
	}
	if ((user_id = mauth_user_id(username, req->conf->server_name)) == NULL ||
	    username[0] == '_') {
		mfcgi_fail(req, MERR_INVALID_USERNAME,
		    "User ID can only contain characters a-z, 0-9, or '=_-./+'");
		goto out;
	}
	if ((hash = mcrypto_password_hash(password)) == NULL ||
	    (out = json_object()) == NULL || mdb_begin(req->db) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: cannot begin", __func__);
		goto out;
	}
	if (mauth_user_add(req, user_id, hash, displayname, admin, 0, user_type) == -1) {
		mdb_rollback(req->db);
		goto out;
	}
	if (mauth_session_new(req, user_id, NULL, NULL, 0, out) == -1) {
		mdb_rollback(req->db);
		goto out;
	}
	if (mdb_commit(req->db) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: commit failed", __func__);
		goto out;
	}
	rc = mfcgi_reply(req, 200, out);
	out = NULL;
out:
	json_decref(out);
	free(msg);
	free(user_id);
	free(hash);
	return rc;
}
