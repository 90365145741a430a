/* Storage of accounts: users, devices, tokens, UIA sessions, registration tokens. */
#ifndef MYELIN_STORE_ACCOUNT_H
#define MYELIN_STORE_ACCOUNT_H

#include <stdint.h>

struct mdb;

struct muser {
	char		*user_id;
	char		*password_hash;		/* NULL: no password login */
	char		*displayname;
	char		*avatar_url;
	int		 is_admin;
	int		 is_guest;
	int		 deactivated;
	int		 shadow_banned;
	char		*user_type;
	int64_t		 created_ts;
};

struct mdevice {
	char		*device_id;
	char		*display_name;
	int64_t		 last_seen_ts;		/* 0: never */
	char		*last_seen_ip;
};

struct mtokeninfo {
	char		*user_id;
	char		*device_id;
	int64_t		 valid_until_ms;	/* 0: does not expire */
	int64_t		 token_id;
	int		 is_admin;
	int		 deactivated;
	int		 is_guest;
	int		 shadow_banned;		/* sends appear to succeed, go nowhere */
	int		 used;			/* 0: not yet used on a request */
	int64_t		 refresh_id;		/* refresh token issued with it, or 0 */
	int		 has_device;		/* 0: no devices row (login-as tokens) */
	int64_t		 last_seen_ts;		/* the device's, 0: never */
	int		 locked;		/* spec: "Account locking" */
	int		 suspended;		/* spec: "Account suspension" */
	/* The user's rate limit override (mstore_ratelimit_override_get), if any. */
	int		 rl_override;
	int64_t		 rl_per_second;
	int64_t		 rl_burst;
};

struct mregtoken {
	char		*token;
	int64_t		 uses_allowed;		/* -1: unlimited */
	int64_t		 pending;
	int64_t		 completed;
	int64_t		 expiry_time;		/* -1: never */
};

struct muia {
	char		*kind;
	char		*user_id;
	char		*completed;		/* JSON array of stage types done */
	char		*registration_token;
	int64_t		 created_ts;
	char		*operation;		/* what it was opened for; NULL: nothing */
	char		*kept;			/* JSON object kept between steps, or NULL */
	char		*result;		/* what it made once complete, or NULL */
};

/* Getters return 1 (found, *out filled: free with the _fini), 0 (absent), -1 (error). */
int	mstore_user_get(struct mdb *, const char *user_id, struct muser *out);
void	muser_fini(struct muser *);
/* Up to limit users with IDs after after (""), in ID order. 0 or -1. */
int	mstore_user_list(struct mdb *, const char *after, int64_t limit, struct muser **out,
	    size_t *outsz);
void	muser_list_free(struct muser *, size_t);
/*
 * Creates an account; displayname NULL or "" names it by its localpart,
 * as Synapse does.  0, MSTORE_CONFLICT when the user exists, or -1.
 */
int	mstore_user_add(struct mdb *, const char *user_id, const char *password_hash,
	    const char *displayname, int is_admin, int is_guest, const char *user_type);
int	mstore_user_set_password(struct mdb *, const char *user_id, const char *hash);
/* A guest account becomes a full one with password hash: 1, 0 when not a guest, -1. */
int	mstore_user_upgrade_guest(struct mdb *, const char *user_id, const char *hash);
int	mstore_user_set_displayname(struct mdb *, const char *user_id, const char *name);
int	mstore_user_set_avatar(struct mdb *, const char *user_id, const char *url);
int	mstore_user_set_admin(struct mdb *, const char *user_id, int admin);
int	mstore_user_set_deactivated(struct mdb *, const char *user_id, int deactivated);

/* Creates or refreshes a device (display_name kept when NULL). 0 or -1. */
int	mstore_device_put(struct mdb *, const char *user_id, const char *device_id,
	    const char *display_name, const char *ip);
int	mstore_device_get(struct mdb *, const char *user_id, const char *device_id,
	    struct mdevice *out);
void	mdevice_fini(struct mdevice *);
/* Fills *out with a malloc'd array of *outsz devices. 0 or -1. */
int	mstore_device_list(struct mdb *, const char *user_id, struct mdevice **out,
	    size_t *outsz);
void	mdevice_list_free(struct mdevice *, size_t);
/* Returns 1 when renamed, 0 when there is no such device, -1 on error. */
int	mstore_device_rename(struct mdb *, const char *user_id, const char *device_id,
	    const char *name);
/* Records a use of the device now from ip.  1 recorded, 0 no such device, -1. */
int	mstore_device_seen(struct mdb *, const char *user_id, const char *device_id,
	    const char *ip);
/*
 * Removes a device with its access and refresh tokens and the pushers set
 * through it (as Synapse ends a session's pushers).  1 removed, 0 absent, -1.
 */
int	mstore_device_del(struct mdb *, const char *user_id, const char *device_id);
/*
 * Removes every device, token and pusher of a user, except keep_device's
 * if not NULL (a pusher of no device goes too).
 */
int	mstore_device_del_all(struct mdb *, const char *user_id, const char *keep_device);

/* Stores an access token by its hash.  valid_until_ms 0: no expiry. 0 or -1. */
int	mstore_token_add(struct mdb *, const char *token_hash, const char *user_id,
	    const char *device_id, int64_t valid_until_ms, int64_t refresh_id);
int	mstore_token_get(struct mdb *, const char *token_hash, struct mtokeninfo *out);
void	mtokeninfo_fini(struct mtokeninfo *);
/*
 * Stores a refresh token that stops working at expiry_ts (0: never); *id
 * receives its row id. 0 or -1.
 */
int	mstore_refresh_add(struct mdb *, const char *token_hash, const char *user_id,
	    const char *device_id, int64_t expiry_ts, int64_t *id);
/*
 * First request with an access token: marks it used and deletes the
 * refresh token its own refresh token replaced.  0 or -1.
 */
int	mstore_token_first_use(struct mdb *, int64_t token_id, int64_t refresh_id);
/*
 * Uses a refresh token, in a transaction: the access token issued with
 * it and the refresh token it replaced are deleted, and so is a pair it
 * was refreshed into before that was never used; the token itself stays
 * until mstore_refresh_link'ed to a new one and that one is used.  1 with
 * *id and user_id/device_id (malloc'd) when it existed, 0, or -1.
 */
int	mstore_refresh_use(struct mdb *, const char *token_hash, int64_t *id,
	    char **user_id, char **device_id);
/* Marks refresh token id as replaced by the one of next_hash.  0 or -1. */
int	mstore_refresh_link(struct mdb *, int64_t id, const char *next_hash);

/* A new UIA session of user_id (NULL: nobody yet) for operation.  0 or -1. */
int	mstore_uia_add(struct mdb *, const char *session, const char *kind,
	    const char *user_id, const char *operation);
int	mstore_uia_get(struct mdb *, const char *session, struct muia *out);
void	muia_fini(struct muia *);
int	mstore_uia_set(struct mdb *, const char *session, const char *completed,
	    const char *registration_token);
int	mstore_uia_del(struct mdb *, const char *session);
/* Sets what the session keeps between steps (JSON text).  1, 0 no such session, -1. */
int	mstore_uia_keep(struct mdb *, const char *session, const char *kept);
/*
 * Records what the completed session made, forgetting what it kept and
 * its registration token.  1, 0 no such session, -1.
 */
int	mstore_uia_result(struct mdb *, const char *session, const char *result);
int64_t	mstore_uia_expire(struct mdb *, int64_t before_ms);

/* 0, MSTORE_CONFLICT when it exists, or -1.  uses_allowed/expiry -1: none. */
int	mstore_regtoken_add(struct mdb *, const char *token, int64_t uses_allowed,
	    int64_t expiry_time);
int	mstore_regtoken_get(struct mdb *, const char *token, struct mregtoken *out);
int	mstore_regtoken_list(struct mdb *, struct mregtoken **out, size_t *outsz);
void	mregtoken_fini(struct mregtoken *);
void	mregtoken_list_free(struct mregtoken *, size_t);
/* 1 deleted, 0 absent, -1. */
int	mstore_regtoken_del(struct mdb *, const char *token);
/* Counts one completed use if the token is still valid at now: 1, 0 (not valid), -1. */
int	mstore_regtoken_use(struct mdb *, const char *token, int64_t now_ms);

int	mstore_nonce_add(struct mdb *, const char *nonce);
/* Consumes a nonce created after not_before_ms: 1 taken, 0 unknown, -1. */
int	mstore_nonce_take(struct mdb *, const char *nonce, int64_t not_before_ms);
int64_t	mstore_nonce_expire(struct mdb *, int64_t before_ms);

#endif
