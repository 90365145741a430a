/*
 * Storage for the endpoints issue 10 added: account locks and
 * suspensions, OpenID and login tokens, extended profile fields, mutual
 * rooms, room and user reports.
 */
#ifndef MYELIN_STORE_MISC_H
#define MYELIN_STORE_MISC_H

#include <stdint.h>
#include <jansson.h>

struct mdb;

/* Spec: C-S API, "Account locking" and "Account suspension".  1 set, 0 no such user, -1. */
int	mstore_user_set_locked(struct mdb *, const char *user_id, int locked);
int	mstore_user_set_suspended(struct mdb *, const char *user_id, int suspended);
/* The flags of user_id: 1 with *locked and *suspended, 0 no such user, -1. */
int	mstore_user_flags(struct mdb *, const char *user_id, int *locked, int *suspended);

/*
 * OpenID tokens by their hash (spec: POST /user/{userId}/openid/request_token),
 * valid until valid_until_ms; adding one drops those expired at now_ms.
 * _get: 1 with *user_id (malloc'd) while valid at now_ms, 0, -1.
 */
int	mstore_openid_add(struct mdb *, const char *token_hash, const char *user_id,
	    int64_t valid_until_ms, int64_t now_ms);
int	mstore_openid_get(struct mdb *, const char *token_hash, int64_t now_ms,
	    char **user_id);

/*
 * Login tokens (spec: POST /_matrix/client/v1/login/get_token), one use
 * each: _take deletes the token and gives its user (malloc'd) when it
 * was still valid at now_ms.  1, 0 unknown or expired, -1.
 */
int	mstore_login_token_add(struct mdb *, const char *token_hash, const char *user_id,
	    int64_t valid_until_ms, int64_t now_ms);
int	mstore_login_token_take(struct mdb *, const char *token_hash, int64_t now_ms,
	    char **user_id);

/*
 * Extended profile fields (spec: C-S API, "Profiles", v1.16), values
 * kept as JSON text.  _get: 1 with *value (new reference), 0, -1.
 * _all adds every field of user_id to obj.  0 or -1.  _del: 1, 0, -1.
 */
int	mstore_profile_field_get(struct mdb *, const char *user_id, const char *name,
	    json_t **value);
int	mstore_profile_fields_all(struct mdb *, const char *user_id, json_t *obj);
int	mstore_profile_field_put(struct mdb *, const char *user_id, const char *name,
	    const json_t *value);
int	mstore_profile_field_del(struct mdb *, const char *user_id, const char *name);

/*
 * Rooms both a and b are joined to, in room ID order, after after (""
 * for the first page), at most limit: a new array of room IDs, or NULL.
 */
json_t	*mstore_mutual_rooms(struct mdb *, const char *a, const char *b, const char *after,
	    int64_t limit);
/* How many rooms a and b are both joined to, into *n.  0 or -1. */
int	mstore_mutual_rooms_count(struct mdb *, const char *a, const char *b, int64_t *n);

/* Spec: POST /rooms/{roomId}/report, POST /users/{userId}/report.  0 or -1. */
int	mstore_room_report_add(struct mdb *, const char *room_id, const char *user_id,
	    const char *reason);
int	mstore_user_report_add(struct mdb *, const char *target, const char *user_id,
	    const char *reason);

#endif
