/* Accounts by admin: deactivation, reactivation, passwords, logging in as a user. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/extern.h"
#include "config/config.h"
#include "crypto/crypto.h"
#include "log/log.h"
#include "store/store.h"

enum madmin_rc
madmin_fail(struct madmin *a, enum madmin_rc rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->why, sizeof(a->why), fmt, ap);
	va_end(ap);
	return rc;
}

enum mroom_err
madmin_leave(struct madmin *a, const char *room_id, const char *user_id)
{
	struct mroom_ctx	 ctx;
	json_t			*content;
	char			*eid = NULL;
	enum mroom_err		 e;

	if (a->key == NULL) {
		mlog_err(NULL, "%s: no signing key to send leave events with", __func__);
		return MROOM_ERROR;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.db = a->db;
	ctx.server_name = a->conf->server_name;
	ctx.key = a->key;
	if ((content = json_pack("{s:s}", "membership", "leave")) == NULL)
		return MROOM_ERROR;
	e = mroom_send(&ctx, room_id, user_id, "m.room.member", user_id, content, NULL, NULL,
	    &eid);
	json_decref(content);
	free(eid);
	if (e == MROOM_FORBIDDEN || e == MROOM_BAD_EVENT)
		mlog_warn(NULL, "%s: %s cannot leave %s: %s", __func__, user_id, room_id, ctx.why);
	return e;
}

/* MADMIN_OK when user_id is an account here (*u filled when not NULL), else NOT_FOUND or ERROR. */
static enum madmin_rc
user_find(struct madmin *a, const char *user_id, struct muser *u)
{
	struct muser	 tmp;
	int		 rc;

	if ((rc = mstore_user_get(a->db, user_id, u != NULL ? u : &tmp)) == -1)
		return MADMIN_ERROR;
	if (rc == 0)
		return madmin_fail(a, MADMIN_NOT_FOUND, "User not found");
	if (u == NULL)
		muser_fini(&tmp);
	return MADMIN_OK;
}

/*
 * Leaves rooms[from, from + MADMIN_LEAVE_BATCH) as user_id in one
 * transaction, the batch's rooms locked (in room ID order) before the
 * first leave: an event's position lock must be the transaction's last
 * lock (see mstore_event_add).  0 or -1.
 */
static int
leave_batch(struct madmin *a, const char *user_id, json_t *rooms, size_t from)
{
	size_t	 end = from + MADMIN_LEAVE_BATCH, i;

	if (end > json_array_size(rooms))
		end = json_array_size(rooms);
	if (mdb_begin(a->db) == -1)
		return -1;
	for (i = from; i < end; i++)
		if (mstore_room_lock(a->db, json_string_value(json_array_get(rooms, i))) == -1)
			goto fail;
	for (i = from; i < end; i++)
		if (madmin_leave(a, json_string_value(json_array_get(rooms, i)), user_id) ==
		    MROOM_ERROR)
			goto fail;
	return mdb_commit(a->db);
fail:
	mdb_rollback(a->db);
	return -1;
}

/*
 * The account first, in one transaction: from its commit the user has
 * no password, session or pusher, and cannot come back into a room.
 * Then the rooms, MADMIN_LEAVE_BATCH to a transaction, so that a user
 * in thousands of rooms never holds the database's one writer (SQLite)
 * for long: other requests are answered between the batches.  Stopped
 * halfway (an error, a crash), the account stays deactivated and
 * deactivating it again leaves the rooms still left.
 */
enum madmin_rc
madmin_user_deactivate(struct madmin *a, const char *user_id, int erase)
{
	json_t		*rooms = NULL;
	enum madmin_rc	 rc;

	if ((rc = user_find(a, user_id, NULL)) != MADMIN_OK)
		return rc;
	if (mdb_begin(a->db) == -1)
		return MADMIN_ERROR;
	if (mstore_user_set_deactivated(a->db, user_id, 1) == -1 ||
	    mstore_user_set_password(a->db, user_id, NULL) == -1 ||
	    mstore_device_del_all(a->db, user_id, NULL) == -1 ||
	    mstore_user_pushers_del(a->db, user_id) == -1 ||
	    (erase && (mstore_user_set_displayname(a->db, user_id, NULL) == -1 ||
	    mstore_user_set_avatar(a->db, user_id, NULL) == -1 ||
	    mstore_user_set_erased(a->db, user_id, 1) == -1))) {
		mdb_rollback(a->db);
		return MADMIN_ERROR;
	}
	if (mdb_commit(a->db) == -1)
		return MADMIN_ERROR;
	if ((rooms = mstore_user_memberships(a->db, user_id)) == NULL)
		return MADMIN_ERROR;
	for (size_t i = 0; i < json_array_size(rooms); i += MADMIN_LEAVE_BATCH)
		if (leave_batch(a, user_id, rooms, i) == -1) {
			json_decref(rooms);
			return MADMIN_ERROR;
		}
	json_decref(rooms);
	return MADMIN_OK;
}

enum madmin_rc
madmin_user_reactivate(struct madmin *a, const char *user_id, const char *password)
{
	enum madmin_rc	 rc;
	char		*hash;

	if ((rc = user_find(a, user_id, NULL)) != MADMIN_OK)
		return rc;
	if ((hash = mcrypto_password_hash(password)) == NULL)
		return MADMIN_ERROR;
	rc = MADMIN_ERROR;
	if (mdb_begin(a->db) == -1)
		goto out;
	if (mstore_user_set_deactivated(a->db, user_id, 0) == -1 ||
	    mstore_user_set_erased(a->db, user_id, 0) == -1 ||
	    mstore_user_set_password(a->db, user_id, hash) == -1) {
		mdb_rollback(a->db);
		goto out;
	}
	if (mdb_commit(a->db) == 0)
		rc = MADMIN_OK;
out:
	free(hash);
	return rc;
}

enum madmin_rc
madmin_user_password(struct madmin *a, const char *user_id, const char *password, int logout)
{
	enum madmin_rc	 rc;
	char		*hash;

	if ((rc = user_find(a, user_id, NULL)) != MADMIN_OK)
		return rc;
	if ((hash = mcrypto_password_hash(password)) == NULL)
		return MADMIN_ERROR;
	rc = MADMIN_ERROR;
	if (mdb_begin(a->db) == -1)
		goto out;
	if (mstore_user_set_password(a->db, user_id, hash) == -1 ||
	    (logout && mstore_device_del_all(a->db, user_id, NULL) == -1)) {
		mdb_rollback(a->db);
		goto out;
	}
	if (mdb_commit(a->db) == 0)
		rc = MADMIN_OK;
out:
	free(hash);
	return rc;
}

/*
 * The token has the form of every access token (DESIGN.md: "myt_" and 40
 * random characters, stored hashed) and a device ID of its own that no
 * devices row lists, as Synapse's puppet tokens have none: the user does
 * not see it among their devices, and POST /logout with it removes it.
 */
enum madmin_rc
madmin_login_as(struct madmin *a, const char *user_id, int64_t valid_until_ms, char **token)
{
	struct muser	 u;
	enum madmin_rc	 rc;
	char		*r = NULL, *tok = NULL, *hash = NULL, *dev = NULL;

	*token = NULL;
	if ((rc = user_find(a, user_id, &u)) != MADMIN_OK)
		return rc;
	if (u.deactivated) {
		muser_fini(&u);
		return madmin_fail(a, MADMIN_INVALID, "User is deactivated");
	}
	muser_fini(&u);
	rc = MADMIN_ERROR;
	if ((r = mcrypto_random_string(40)) == NULL)
		goto out;
	if (asprintf(&tok, "myt_%s", r) == -1) {
		tok = NULL;
		goto out;
	}
	if ((hash = mcrypto_token_hash(tok)) == NULL || (dev = mcrypto_random_string(10)) == NULL)
		goto out;
	/* Synapse's device IDs are ten capital letters; these too. */
	for (char *p = dev; *p != '\0'; p++)
		*p = (char)('A' + (unsigned char)*p % 26);
	if (mstore_token_add(a->db, hash, user_id, dev, valid_until_ms, 0) == -1)
		goto out;
	*token = tok;
	tok = NULL;
	rc = MADMIN_OK;
out:
	free(tok);
	free(r);
	free(hash);
	free(dev);
	return rc;
}
