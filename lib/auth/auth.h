/* Accounts logic shared by handlers: user IDs, login sessions, UIA. */
#ifndef MYELIN_AUTH_H
#define MYELIN_AUTH_H

#include <jansson.h>

struct mdb;
struct mreq;

/*
 * Spec: Appendices, "User Identifiers": a localpart is 1+ of a-z 0-9 . _ = - / +
 * and the whole ID at most 255 bytes.  Returns 1 when valid.
 */
int	mauth_localpart_check(const char *localpart, const char *server_name);
/*
 * Turns "alice" or "@alice:server" into a malloc'd user ID on our server
 * (localpart lowercased, as Synapse does for logins).  NULL when it names
 * another server or is malformed.
 */
char	*mauth_user_id(const char *name, const char *server_name);

/*
 * Creates the account user_id (see mstore_user_add), inside the caller's
 * transaction.  0, or -1 with the request failed: 400 M_USER_IN_USE when
 * the ID is taken (spec: POST /register), else an internal error.
 */
int	mauth_user_add(struct mreq *, const char *user_id, const char *password_hash,
	    const char *displayname, int is_admin, int is_guest, const char *user_type);

/*
 * Creates (or reuses) device_id for user_id with a new access token, and
 * a refresh token when refresh is set, inside the caller's transaction.
 * Fills out with user_id, access_token, device_id, home_server and
 * refresh_token/expires_in_ms.  device_id NULL: a new one is generated.
 * Returns 0 or -1 with the request failed.
 */
int	mauth_session_new(struct mreq *, const char *user_id, const char *device_id,
	    const char *display_name, int refresh, json_t *out);

/* One UIA flow: the stages a client completes in order (NULL-terminated). */
struct muia_flow {
	const char *const	*stages;
};

/*
 * Spec: C-S API, "User-interactive authentication API".  Runs the UIA
 * step carried by req->body["auth"] for an operation of the given kind
 * ("register", "password", ...).  user_id is whose password
 * m.login.password checks (NULL for registration).
 *
 * A session serves the request that opened it and no other: the same
 * kind, method and path (the query aside), the same user, and the same
 * params, the body's members that say what the operation does (NULL:
 * none; never secrets, which the session would keep).  Anything else
 * is 403 M_FORBIDDEN, as is a password stage naming another user; an
 * unknown session is 400 M_UNKNOWN.
 *
 * Returns 1 when a flow is complete (or was before: the same request
 * again), 0 when the request was answered with the 401 UIA object, -1
 * when it failed.  On 1 and 0, *session gets the malloc'd session ID (to
 * finish with mauth_uia_done, or to keep parameters in).
 */
int	mauth_uia(struct mreq *, const char *kind, const char *user_id, const json_t *params,
	    const struct muia_flow *flows, size_t flowsz, char **session);
/* Forgets a finished session.  Registration token it used is returned (malloc'd). */
char	*mauth_uia_done(struct mreq *, const char *session);
/*
 * Instead of forgetting a finished session, records what it made (the
 * registered user ID), so that the same request again can be answered
 * alike; what it kept goes.  Returns the registration token it used
 * (malloc'd) as mauth_uia_done does.  In the caller's transaction.
 */
char	*mauth_uia_finish(struct mreq *, const char *session, const char *result);
/* What session, one of kind, made (malloc'd), or NULL: unknown, unfinished. */
char	*mauth_uia_result(struct mreq *, const char *session, const char *kind);
/*
 * Parameters session (one of kind) keeps between steps, as a new JSON
 * object, or NULL when it keeps none.  Spec: a client may send the
 * request's parameters only once, registration's among them.
 */
json_t	*mauth_uia_kept(struct mreq *, const char *session, const char *kind);
/* Keeps kept (an object) in session.  0, or -1 with the request failed. */
int	mauth_uia_keep(struct mreq *, const char *session, const json_t *kept);

enum mauth_login {
	MAUTH_LOGIN_OK,
	MAUTH_LOGIN_WRONG,		/* no such user, no password, or another one */
	MAUTH_LOGIN_DEACTIVATED,
	MAUTH_LOGIN_ERROR,		/* storage failure */
	MAUTH_LOGIN_LIMITED,		/* mauth_login_limited: the request failed (429) */
};

/*
 * Checks password for user_id as a login does.  Exactly one password
 * hash is verified whether or not the account exists or has a password
 * (against a dummy hash when it has none), so that an unknown user
 * answers no faster than a wrong password and response times do not
 * tell which accounts exist.  A deactivated account whose password was
 * dropped (deactivation drops it) answers DEACTIVATED without a check:
 * there is nothing to verify, and Synapse says why too.
 */
enum mauth_login mauth_login_check(struct mdb *, const char *user_id, const char *password);

/*
 * mauth_login_check under the login rate limits, as Synapse applies
 * them: while rc_login.failed_attempts of user_id is full no password is
 * checked (the right one neither), a wrong one counts there, and a right
 * one counts in rc_login.account.  MAUTH_LOGIN_LIMITED and ERROR leave
 * the request failed (429 M_LIMIT_EXCEEDED with retry_after_ms, 500).
 */
enum mauth_login mauth_login_limited(struct mreq *, const char *user_id, const char *password);

/* Checks a login password for user_id: 1 right, 0 wrong or no such user, -1 error. */
int	mauth_password_check(struct mreq *, const char *user_id, const char *password);

/* Synapse's limits: a device ID of 512 characters, a device name of 100. */
#define MAUTH_DEVICE_ID_MAX	512
#define MAUTH_DEVICE_NAME_MAX	100

/*
 * Checks the device_id and display name (either NULL: absent) a client
 * asks for.  0, or -1 with the request failed: 400 M_INVALID_PARAM for
 * a device ID past MAUTH_DEVICE_ID_MAX characters (Synapse's login), 400
 * M_TOO_LARGE for a name past MAUTH_DEVICE_NAME_MAX (Synapse's
 * MAX_DEVICE_DISPLAY_NAME_LEN).  Characters are code points, as
 * Python's len() counts them in Synapse.
 */
int	mauth_device_check(struct mreq *, const char *device_id, const char *display_name);

#endif
