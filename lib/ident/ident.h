/* Identity servers: 3PID binding, lookups, third-party invites and their exchange. */
#ifndef MYELIN_IDENT_H
#define MYELIN_IDENT_H

#include <jansson.h>

#include "room/room.h"

struct mconfig;
struct mkey;

/*
 * What an identity server call gave.  MIDENT_OK: a 2xx answer (a JSON
 * object in the call's out parameter); MIDENT_REFUSED: the identity
 * server answered an error, status and errcode/error (its own, or
 * M_UNKNOWN) kept for the client as Synapse passes them on;
 * MIDENT_UNREACHABLE: no answer (no connection, a refused address, a
 * certificate that does not verify, a timeout); MIDENT_BAD: an answer
 * that is not what the API gives.
 */
enum mident_rc {
	MIDENT_OK,
	MIDENT_REFUSED,
	MIDENT_UNREACHABLE,
	MIDENT_BAD,
};

struct mident_err {
	long	 status;
	char	 errcode[64];
	char	 error[256];
};

/*
 * 1 when s names an identity server as clients give it (spec: C-S
 * API, id_server: "The hostname plus optional port ... no scheme"):
 * the server-name grammar, else 0.
 */
int		mident_server_check(const char *s);
/*
 * Spec: C-S API, client_secret: 1 to 255 of [0-9a-zA-Z.=_-].  1 or 0.
 */
int		mident_secret_check(const char *s);

/*
 * One call to https://id_server/path (path with its query): bearer the
 * id_access_token for the Authorization header (NULL: none), authz a
 * whole Authorization value instead (NULL: none), body a JSON object
 * (NULL: GET).  TLS is checked against identity_ca_file, the address
 * against identity_allow_ips (myelin.conf(5)); no redirects.  On
 * MIDENT_OK *reply is the answer (new reference); e is filled for
 * every other result.
 */
enum mident_rc	mident_call(const struct mconfig *, const char *id_server, const char *path,
		    const char *bearer, const char *authz, const json_t *body, json_t **reply,
		    struct mident_err *e);
/* The same with an absolute https:// URL (a key_validity_url). */
enum mident_rc	mident_call_url(const struct mconfig *, const char *url, json_t **reply,
		    struct mident_err *e);

/*
 * Identity Service API, POST /_matrix/identity/v2/3pid/bind of the
 * session sid for mxid.  MIDENT_OK with *medium and *address (malloc'd)
 * of the answer.
 */
enum mident_rc	mident_bind(const struct mconfig *, const char *id_server, const char *token,
		    const char *sid, const char *client_secret, const char *mxid,
		    char **medium, char **address, struct mident_err *e);
/*
 * Identity Service API, POST /_matrix/identity/v2/3pid/unbind, signed
 * by this server (X-Matrix, destination the identity server).  1 when
 * it unbound, 0 when it answered 400, 404 or 501 (Synapse: it does not
 * support unbinding, or does not know the binding), -1 otherwise.
 */
int		mident_unbind(const struct mconfig *, const struct mkey *, const char *id_server,
		    const char *mxid, const char *medium, const char *address);
/*
 * Identity Service API v2 lookup: /hash_details, then /lookup of
 * sha256(address medium pepper) (or "none" when the server offers only
 * that).  1 with *mxid (malloc'd, a user ID by mroom_user_id_check), 0
 * when not bound, -1 when the lookup failed (logged).
 */
int		mident_lookup(const struct mconfig *, const char *id_server, const char *token,
		    const char *medium, const char *address, char **mxid);
/*
 * Identity Service API, POST /_matrix/identity/v2/store-invite with
 * body.  MIDENT_OK with *content the m.room.third_party_invite content
 * made of the answer (display_name, key_validity_url, public_key,
 * public_keys) and *token its state key (malloc'd).
 */
enum mident_rc	mident_store_invite(const struct mconfig *, const char *id_server,
		    const char *token, const json_t *body, json_t **content, char **state_key,
		    struct mident_err *e);

/*
 * Spec: C-S API, "Third-party invites", and S-S API, PUT /3pid/onbind
 * and /exchange_third_party_invite: turns the m.room.third_party_invite
 * of signed.token in room_id into an m.room.member invite of mxid by
 * sender whose content.third_party_invite is {display_name, signed}.
 * signed must carry mxid (= mxid), token and a signature that one of the
 * invite's public keys verifies; that key's key_validity_url must then
 * answer valid (a revoked key, or an identity server that does not
 * answer, refuses the exchange, as Synapse).  The event goes through
 * mroom_send in a transaction of its own (the identity server is asked
 * before it begins).  MROOM_OK with *event_id (malloc'd), or NULL when
 * mxid is joined already (nothing is sent: a replayed block cannot turn
 * a member back into an invitee);
 * MROOM_NO_ROOM for a room not on this server (the exchange with the
 * room's server is not done: M_UNRECOGNIZED there); MROOM_FORBIDDEN
 * (ctx->why says why) for no such invite, a bad signature, a key not
 * valid; MROOM_BAD_JSON for a malformed signed; errors of mroom_send.
 */
enum mroom_err	mident_exchange(struct mroom_ctx *, const struct mconfig *, const char *room_id,
		    const char *sender, const char *mxid, const json_t *signed_,
		    char **event_id);

#endif
