/* The third-party invite exchange: a signed token becomes a member invite. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "crypto/crypto.h"
#include "fed/fed.h"
#include "ident/ident.h"
#include "json/json.h"
#include "log/log.h"
#include "room/room.h"
#include "store/store.h"

/* A public key in unpadded base64, standard or URL-safe, into pk.  1 or 0. */
static int
key_decode(const char *b64, unsigned char pk[32])
{
	unsigned char	 buf[64];
	char		*std, *p;
	int		 n;

	if (b64 == NULL || (std = strdup(b64)) == NULL)
		return 0;
	for (p = std; *p != '\0'; p++)
		if (*p == '-')
			*p = '+';
		else if (*p == '_')
			*p = '/';
	n = mcrypto_b64_decode(std, buf, sizeof(buf));
	free(std);
	if (n != 32)
		return 0;
	memcpy(pk, buf, 32);
	return 1;
}

/* 1 when one ed25519 signature of signed_ verifies with the public key b64. */
static int
signed_by(const json_t *signed_, const char *b64)
{
	unsigned char	 pk[32];
	const char	*server, *key_id;
	json_t		*keys, *v;

	if (!key_decode(b64, pk))
		return 0;
	json_object_foreach((json_t *)json_object_get(signed_, "signatures"), server, keys)
		json_object_foreach(keys, key_id, v)
			if (strncmp(key_id, "ed25519:", 8) == 0 &&
			    mcrypto_verify_json(signed_, server, key_id, pk) == 0)
				return 1;
	return 0;
}

/*
 * Spec: C-S API, m.room.third_party_invite, key_validity_url: "A URL
 * which can be fetched, with querystring public_key=public_key, to
 * check whether the key has been revoked", answering {"valid": bool}.
 * 1 valid, 0 revoked, -1 when it could not be checked.
 */
static int
key_valid(const struct mconfig *conf, const char *url, const char *pk)
{
	struct mident_err	 e;
	json_t			*reply = NULL;
	char			*q = NULL, *full = NULL;
	int			 rc = -1;

	if ((q = mfed_escape(pk)) == NULL || asprintf(&full, "%s%spublic_key=%s", url,
	    strchr(url, '?') != NULL ? "&" : "?", q) == -1) {
		free(q);
		return -1;
	}
	if (mident_call_url(conf, full, &reply, &e) == MIDENT_OK)
		rc = json_is_true(json_object_get(reply, "valid")) ? 1 : 0;
	json_decref(reply);
	free(full);
	free(q);
	return rc;
}

enum mroom_err
mident_exchange(struct mroom_ctx *ctx, const struct mconfig *conf, const char *room_id,
    const char *sender, const char *mxid, const json_t *signed_, char **event_id)
{
	json_t		*create = NULL, *tpe = NULL, *tpi = NULL, *content = NULL, *k;
	const json_t	*tc;
	const char	*token = mjson_str(signed_, "token"), *pk = NULL, *url = NULL;
	char		*m;
	size_t		 i;
	int		 err = 0, v;
	enum mroom_err	 rc;

	*event_id = NULL;
	ctx->why[0] = '\0';
	if (!json_is_object(signed_) || token == NULL || mjson_str(signed_, "mxid") == NULL ||
	    !json_is_object(json_object_get(signed_, "signatures"))) {
		snprintf(ctx->why, sizeof(ctx->why), "signed needs mxid, token and signatures");
		return MROOM_BAD_JSON;
	}
	if (sender == NULL || !mroom_user_id_check(sender) || !mroom_user_id_check(mxid)) {
		snprintf(ctx->why, sizeof(ctx->why), "Invalid sender or mxid");
		return MROOM_BAD_PARAM;
	}
	if (strcmp(mjson_str(signed_, "mxid"), mxid) != 0) {
		snprintf(ctx->why, sizeof(ctx->why), "signed.mxid is not the invitee");
		return MROOM_FORBIDDEN;
	}
	if ((create = mroom_state_get(ctx, room_id, "m.room.create", "", &err)) == NULL)
		return err ? MROOM_ERROR : MROOM_NO_ROOM;
	json_decref(create);
	/*
	 * The auth rules let a third-party invite replace any membership
	 * but a ban, and a signed block is in the room's state for every
	 * member to see: a joined member is left joined, so that replaying
	 * one cannot turn them back into an invitee.
	 */
	if ((m = mroom_membership(ctx, room_id, mxid)) != NULL && strcmp(m, "join") == 0) {
		free(m);
		return MROOM_OK;
	}
	free(m);
	if ((tpe = mroom_state_get(ctx, room_id, "m.room.third_party_invite", token,
	    &err)) == NULL) {
		if (err)
			return MROOM_ERROR;
		snprintf(ctx->why, sizeof(ctx->why), "Could not find invite");
		return MROOM_FORBIDDEN;
	}
	rc = MROOM_FORBIDDEN;
	if (mjson_str(tpe, "sender") == NULL || strcmp(mjson_str(tpe, "sender"), sender) != 0) {
		snprintf(ctx->why, sizeof(ctx->why),
		    "The invite's sender is not the m.room.third_party_invite sender");
		goto out;
	}
	/* Synapse: public_keys first, then the older single public_key. */
	tc = json_object_get(tpe, "content");
	json_array_foreach(json_object_get(tc, "public_keys"), i, k)
		if (signed_by(signed_, mjson_str(k, "public_key"))) {
			pk = mjson_str(k, "public_key");
			url = mjson_str(k, "key_validity_url");
			break;
		}
	if (pk == NULL && signed_by(signed_, mjson_str(tc, "public_key"))) {
		pk = mjson_str(tc, "public_key");
		url = mjson_str(tc, "key_validity_url");
	}
	if (pk == NULL) {
		snprintf(ctx->why, sizeof(ctx->why),
		    "No valid signature by the invite's public keys");
		goto out;
	}
	if (url != NULL && (v = key_valid(conf, url, pk)) != 1) {
		snprintf(ctx->why, sizeof(ctx->why), v == 0 ? "Third party certificate was invalid" :
		    "Third party certificate could not be checked");
		goto out;
	}
	if ((tpi = json_pack("{s:s,s:O}", "display_name", mjson_str(tc, "display_name") != NULL ?
	    mjson_str(tc, "display_name") : "", "signed", signed_)) == NULL ||
	    (content = json_pack("{s:s}", "membership", "invite")) == NULL) {
		rc = MROOM_ERROR;
		goto out;
	}
	if (mdb_begin(ctx->db) == -1) {
		rc = MROOM_ERROR;
		goto out;
	}
	ctx->third_party_invite = tpi;
	rc = mroom_send(ctx, room_id, sender, "m.room.member", mxid, content, NULL, NULL,
	    event_id);
	ctx->third_party_invite = NULL;
	if (rc != MROOM_OK || mdb_commit(ctx->db) == -1) {
		mdb_rollback(ctx->db);
		free(*event_id);
		*event_id = NULL;
		if (rc == MROOM_OK)
			rc = MROOM_ERROR;
	}
out:
	json_decref(tpe);
	json_decref(tpi);
	json_decref(content);
	return rc;
}
