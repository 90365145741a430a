/* Accounts in the store: users, devices, tokens, UIA sessions, registration tokens. */
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"
#include "store/extern.h"

void
muser_fini(struct muser *u)
{
	if (u == NULL)
		return;
	free(u->user_id);
	free(u->password_hash);
	free(u->displayname);
	free(u->avatar_url);
	free(u->user_type);
	memset(u, 0, sizeof(*u));
}

static void
user_fini(void *u)
{
	muser_fini(u);
}

/* Fills u, a struct muser, from a row of MUSER_COLS.  0 or -1. */
static int
user_row(struct mcur *c, void *elem)
{
	struct muser *u = elem;

	u->user_id = mcur_dup(c, 0);
	u->password_hash = mcur_dup(c, 1);
	u->displayname = mcur_dup(c, 2);
	u->avatar_url = mcur_dup(c, 3);
	u->is_admin = mcur_int(c, 4) != 0;
	u->is_guest = mcur_int(c, 5) != 0;
	u->deactivated = mcur_int(c, 6) != 0;
	u->shadow_banned = mcur_int(c, 7) != 0;
	u->user_type = mcur_dup(c, 8);
	u->created_ts = mcur_int(c, 9);
	return u->user_id == NULL ? -1 : 0;
}

int
mstore_user_get(struct mdb *db, const char *user_id, struct muser *u)
{
	struct mcur	*c;
	int		 rc;

	memset(u, 0, sizeof(*u));
	if ((c = mdb_query(db, MSTMT_USER_GET, "s", user_id)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1 && user_row(c, u) == -1) {
		muser_fini(u);
		rc = -1;
	}
	mcur_free(c);
	return rc;
}

int
mstore_user_add(struct mdb *db, const char *user_id, const char *password_hash,
    const char *displayname, int is_admin, int is_guest, const char *user_type)
{
	char	*lp = NULL;
	int64_t	 n;

	/* A new account is named by its localpart until it says otherwise. */
	if (displayname == NULL || *displayname == '\0') {
		if ((lp = strndup(user_id + 1, strcspn(user_id + 1, ":"))) == NULL)
			return -1;
		displayname = lp;
	}
	n = mdb_exec(db, MSTMT_USER_ADD, "sssiisi", user_id, password_hash, displayname,
	    (int64_t)is_admin, (int64_t)is_guest, user_type, mclock_now_ms());
	free(lp);
	return n < 0 ? -1 : n == 0 ? MSTORE_CONFLICT : 0;
}

int
mstore_user_list(struct mdb *db, const char *after, int64_t limit, struct muser **out,
    size_t *outsz)
{
	void	*v = NULL;
	int	 rc;

	*outsz = 0;
	rc = mcur_collect(mdb_query(db, MSTMT_USER_LIST, "si", after, limit), sizeof(**out),
	    user_row, user_fini, &v, outsz);
	*out = v;
	return rc;
}

void
muser_list_free(struct muser *v, size_t n)
{
	mstore_list_free(v, n, sizeof(*v), user_fini);
}

int
mstore_user_set_password(struct mdb *db, const char *user_id, const char *hash)
{
	return mstore_changed(mdb_exec(db, MSTMT_USER_SET_PASSWORD, "ss", user_id, hash));
}

int
mstore_user_upgrade_guest(struct mdb *db, const char *user_id, const char *hash)
{
	return mstore_changed(mdb_exec(db, MSTMT_USER_UPGRADE_GUEST, "ss", user_id, hash));
}

int
mstore_user_set_displayname(struct mdb *db, const char *user_id, const char *name)
{
	return mstore_changed(mdb_exec(db, MSTMT_USER_SET_DISPLAYNAME, "ss", user_id, name));
}

int
mstore_user_set_avatar(struct mdb *db, const char *user_id, const char *url)
{
	return mstore_changed(mdb_exec(db, MSTMT_USER_SET_AVATAR, "ss", user_id, url));
}

int
mstore_user_set_admin(struct mdb *db, const char *user_id, int admin)
{
	return mstore_changed(mdb_exec(db, MSTMT_USER_SET_ADMIN, "si", user_id, (int64_t)admin));
}

int
mstore_user_set_deactivated(struct mdb *db, const char *user_id, int deactivated)
{
	return mstore_changed(mdb_exec(db, MSTMT_USER_SET_DEACTIVATED, "si", user_id,
	    (int64_t)deactivated));
}

int
mstore_device_put(struct mdb *db, const char *user_id, const char *device_id,
    const char *display_name, const char *ip)
{
	struct mdevice	 d;
	int		 known;

	if ((known = mstore_device_get(db, user_id, device_id, &d)) == -1)
		return -1;
	mdevice_fini(&d);
	if (mdb_exec(db, MSTMT_DEVICE_ADD, "sssis", user_id, device_id, display_name,
	    mclock_now_ms(), ip) < 0)
		return -1;
	/* Spec: a new device is a device-list change for everyone sharing a room. */
	if (!known && mstore_e2ee_devlist_changed(db, user_id) == -1)
		return -1;
	return 0;
}

void
mdevice_fini(struct mdevice *d)
{
	if (d == NULL)
		return;
	free(d->device_id);
	free(d->display_name);
	free(d->last_seen_ip);
	memset(d, 0, sizeof(*d));
}

static void
device_fini(void *d)
{
	mdevice_fini(d);
}

/* Fills d, a struct mdevice.  0 or -1. */
static int
device_row(struct mcur *c, void *elem)
{
	struct mdevice *d = elem;

	d->device_id = mcur_dup(c, 0);
	d->display_name = mcur_dup(c, 1);
	d->last_seen_ts = mcur_int(c, 2);
	d->last_seen_ip = mcur_dup(c, 3);
	return d->device_id == NULL ? -1 : 0;
}

int
mstore_device_get(struct mdb *db, const char *user_id, const char *device_id,
    struct mdevice *d)
{
	struct mcur	*c;
	int		 rc;

	memset(d, 0, sizeof(*d));
	if ((c = mdb_query(db, MSTMT_DEVICE_GET, "ss", user_id, device_id)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1 && device_row(c, d) == -1) {
		mdevice_fini(d);
		rc = -1;
	}
	mcur_free(c);
	return rc;
}

void
mdevice_list_free(struct mdevice *d, size_t n)
{
	mstore_list_free(d, n, sizeof(*d), device_fini);
}

int
mstore_device_list(struct mdb *db, const char *user_id, struct mdevice **out,
    size_t *outsz)
{
	void	*v = NULL;
	int	 rc;

	*outsz = 0;
	rc = mcur_collect(mdb_query(db, MSTMT_DEVICE_LIST, "s", user_id), sizeof(**out),
	    device_row, device_fini, &v, outsz);
	*out = v;
	return rc;
}

int
mstore_device_rename(struct mdb *db, const char *user_id, const char *device_id,
    const char *name)
{
	int rc = mstore_changed(mdb_exec(db, MSTMT_DEVICE_SET_NAME, "sss", user_id, device_id,
	    name));

	/* The display name is in others' /keys/query: they refresh it. */
	if (rc == 1 && mstore_e2ee_devlist_changed(db, user_id) == -1)
		return -1;
	return rc;
}

int
mstore_device_seen(struct mdb *db, const char *user_id, const char *device_id,
    const char *ip)
{
	return mstore_changed(mdb_exec(db, MSTMT_DEVICE_SEEN, "ssis", user_id, device_id,
	    mclock_now_ms(), ip));
}

int
mstore_device_del(struct mdb *db, const char *user_id, const char *device_id)
{
	int64_t n;

	/* Synapse: the pushers a session set end with it. */
	if (mdb_exec(db, MSTMT_TOKEN_DEL_DEVICE, "ss", user_id, device_id) < 0 ||
	    mdb_exec(db, MSTMT_REFRESH_DEL_DEVICE, "ss", user_id, device_id) < 0 ||
	    mdb_exec(db, MSTMT_PUSHER_DEL_DEVICE, "ss", user_id, device_id) < 0 ||
	    (n = mdb_exec(db, MSTMT_DEVICE_DEL, "ss", user_id, device_id)) < 0)
		return -1;
	/* Its keys and to-device messages go too; others see the list change. */
	if (n > 0 && mstore_e2ee_device_gone(db, user_id, device_id) == -1)
		return -1;
	return n > 0;
}

int
mstore_device_del_all(struct mdb *db, const char *user_id, const char *keep)
{
	struct mdevice	*v;
	size_t		 n;
	int		 rc = 0;

	if (mstore_device_list(db, user_id, &v, &n) == -1)
		return -1;
	for (size_t i = 0; i < n && rc == 0; i++)
		if (keep == NULL || strcmp(v[i].device_id, keep) != 0)
			rc = mstore_device_del(db, user_id, v[i].device_id) < 0 ? -1 : 0;
	mdevice_list_free(v, n);
	/* Tokens whose device row is missing go too, and their pushers. */
	if (rc == 0 && keep == NULL &&
	    (mdb_exec(db, MSTMT_TOKEN_DEL_USER, "s", user_id) < 0 ||
	    mdb_exec(db, MSTMT_REFRESH_DEL_USER, "s", user_id) < 0 ||
	    mdb_exec(db, MSTMT_ADMIN_USER_PUSHERS_DEL, "s", user_id) < 0))
		rc = -1;
	if (rc == 0 && keep != NULL &&
	    (mdb_exec(db, MSTMT_TOKEN_DEL_USER_EXCEPT, "ss", user_id, keep) < 0 ||
	    mdb_exec(db, MSTMT_REFRESH_DEL_USER_EXCEPT, "ss", user_id, keep) < 0 ||
	    mdb_exec(db, MSTMT_PUSHER_DEL_USER_EXCEPT, "ss", user_id, keep) < 0))
		rc = -1;
	return rc;
}

int
mstore_token_add(struct mdb *db, const char *hash, const char *user_id,
    const char *device_id, int64_t valid_until_ms, int64_t refresh_id)
{
	return mdb_exec(db, MSTMT_TOKEN_ADD, "sssiii", hash, user_id, device_id,
	    valid_until_ms, refresh_id, mclock_now_ms()) < 0 ? -1 : 0;
}

void
mtokeninfo_fini(struct mtokeninfo *t)
{
	if (t == NULL)
		return;
	free(t->user_id);
	free(t->device_id);
	memset(t, 0, sizeof(*t));
}

int
mstore_token_get(struct mdb *db, const char *hash, struct mtokeninfo *t)
{
	struct mcur	*c;
	int		 rc;

	memset(t, 0, sizeof(*t));
	if ((c = mdb_query(db, MSTMT_TOKEN_GET, "s", hash)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1) {
		t->user_id = mcur_dup(c, 0);
		t->device_id = mcur_dup(c, 1);
		t->valid_until_ms = mcur_int(c, 2);
		t->is_admin = mcur_int(c, 3) != 0;
		t->deactivated = mcur_int(c, 4) != 0;
		t->is_guest = mcur_int(c, 5) != 0;
		t->token_id = mcur_int(c, 6);
		t->shadow_banned = mcur_int(c, 7) != 0;
		t->used = mcur_int(c, 8) != 0;
		t->refresh_id = mcur_int(c, 9);
		t->has_device = mcur_int(c, 10) != 0;
		t->last_seen_ts = mcur_int(c, 11);
		t->locked = mcur_int(c, 12) != 0;
		t->suspended = mcur_int(c, 13) != 0;
		t->rl_override = mcur_int(c, 14) != 0;
		t->rl_per_second = mcur_int(c, 15);
		t->rl_burst = mcur_int(c, 16);
		if (t->user_id == NULL || t->device_id == NULL) {
			mtokeninfo_fini(t);
			rc = -1;
		}
	}
	mcur_free(c);
	return rc;
}

int
mstore_refresh_add(struct mdb *db, const char *hash, const char *user_id,
    const char *device_id, int64_t expiry_ts, int64_t *id)
{
	return mcur_first_int(mdb_query(db, MSTMT_REFRESH_ADD, "sssi", hash, user_id, device_id,
	    expiry_ts), id) == 1 ? 0 : -1;
}

int
mstore_token_first_use(struct mdb *db, int64_t token_id, int64_t refresh_id)
{
	/* Delete first: a failure leaves the token unused, to try again. */
	if (refresh_id != 0 && mdb_exec(db, MSTMT_REFRESH_DEL_PREV, "i", refresh_id) < 0)
		return -1;
	return mdb_exec(db, MSTMT_TOKEN_USED, "i", token_id) < 0 ? -1 : 0;
}

int
mstore_refresh_use(struct mdb *db, const char *hash, int64_t *id, char **user_id,
    char **device_id)
{
	struct mcur	*c;
	int64_t		 next = 0;
	int		 rc;

	*id = 0;
	*user_id = *device_id = NULL;
	if ((c = mdb_query(db, MSTMT_REFRESH_USE, "si", hash, mclock_now_ms())) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1) {
		*id = mcur_int(c, 0);
		*user_id = mcur_dup(c, 1);
		*device_id = mcur_dup(c, 2);
		next = mcur_int(c, 3);
	}
	mcur_free(c);
	if (rc == 1 && (*user_id == NULL || *device_id == NULL ||
	    (next != 0 && (mdb_exec(db, MSTMT_TOKEN_DEL_REFRESH, "i", next) < 0 ||
	    mdb_exec(db, MSTMT_REFRESH_DEL_ID, "i", next) < 0)) ||
	    mdb_exec(db, MSTMT_REFRESH_DEL_PREV, "i", *id) < 0 ||
	    mdb_exec(db, MSTMT_TOKEN_DEL_REFRESH, "i", *id) < 0)) {
		free(*user_id);
		free(*device_id);
		*user_id = *device_id = NULL;
		rc = -1;
	}
	return rc;
}

int
mstore_refresh_link(struct mdb *db, int64_t id, const char *next_hash)
{
	return mdb_exec(db, MSTMT_REFRESH_LINK, "is", id, next_hash) == 1 ? 0 : -1;
}

int
mstore_uia_add(struct mdb *db, const char *session, const char *kind, const char *user_id,
    const char *operation)
{
	return mdb_exec(db, MSTMT_UIA_ADD, "sssis", session, kind, user_id,
	    mclock_now_ms(), operation) < 0 ? -1 : 0;
}

void
muia_fini(struct muia *u)
{
	if (u == NULL)
		return;
	free(u->kind);
	free(u->user_id);
	free(u->completed);
	free(u->registration_token);
	free(u->operation);
	free(u->kept);
	free(u->result);
	memset(u, 0, sizeof(*u));
}

int
mstore_uia_get(struct mdb *db, const char *session, struct muia *u)
{
	struct mcur	*c;
	int		 rc;

	memset(u, 0, sizeof(*u));
	if ((c = mdb_query(db, MSTMT_UIA_GET, "s", session)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1) {
		u->kind = mcur_dup(c, 0);
		u->user_id = mcur_dup(c, 1);
		u->completed = mcur_dup(c, 2);
		u->registration_token = mcur_dup(c, 3);
		u->created_ts = mcur_int(c, 4);
		u->operation = mcur_dup(c, 5);
		u->kept = mcur_dup(c, 6);
		u->result = mcur_dup(c, 7);
		if (u->kind == NULL || u->completed == NULL) {
			muia_fini(u);
			rc = -1;
		}
	}
	mcur_free(c);
	return rc;
}

int
mstore_uia_set(struct mdb *db, const char *session, const char *completed,
    const char *registration_token)
{
	return mstore_changed(mdb_exec(db, MSTMT_UIA_SET, "sss", session, completed,
	    registration_token));
}

int
mstore_uia_del(struct mdb *db, const char *session)
{
	return mstore_changed(mdb_exec(db, MSTMT_UIA_DEL, "s", session));
}

int
mstore_uia_keep(struct mdb *db, const char *session, const char *kept)
{
	return mstore_changed(mdb_exec(db, MSTMT_UIA_KEEP, "ss", session, kept));
}

int
mstore_uia_result(struct mdb *db, const char *session, const char *result)
{
	return mstore_changed(mdb_exec(db, MSTMT_UIA_RESULT, "ss", session, result));
}

int64_t
mstore_uia_expire(struct mdb *db, int64_t before_ms)
{
	return mdb_exec(db, MSTMT_UIA_DEL_OLD, "i", before_ms);
}

int
mstore_regtoken_add(struct mdb *db, const char *token, int64_t uses, int64_t expiry)
{
	int64_t n = mdb_exec(db, MSTMT_REGTOKEN_ADD, "sii", token, uses < 0 ? -1 : uses,
	    expiry < 0 ? -1 : expiry);

	return n < 0 ? -1 : n == 0 ? MSTORE_CONFLICT : 0;
}

void
mregtoken_fini(struct mregtoken *t)
{
	if (t == NULL)
		return;
	free(t->token);
	memset(t, 0, sizeof(*t));
}

static void
regtoken_fini(void *t)
{
	mregtoken_fini(t);
}

void
mregtoken_list_free(struct mregtoken *v, size_t n)
{
	mstore_list_free(v, n, sizeof(*v), regtoken_fini);
}

/* Fills t, a struct mregtoken.  0 or -1. */
static int
regtoken_row(struct mcur *c, void *elem)
{
	struct mregtoken *t = elem;

	t->token = mcur_dup(c, 0);
	t->uses_allowed = mcur_null(c, 1) ? -1 : mcur_int(c, 1);
	t->pending = mcur_int(c, 2);
	t->completed = mcur_int(c, 3);
	t->expiry_time = mcur_null(c, 4) ? -1 : mcur_int(c, 4);
	return t->token == NULL ? -1 : 0;
}

int
mstore_regtoken_get(struct mdb *db, const char *token, struct mregtoken *t)
{
	struct mcur	*c;
	int		 rc;

	memset(t, 0, sizeof(*t));
	if ((c = mdb_query(db, MSTMT_REGTOKEN_GET, "s", token)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1 && regtoken_row(c, t) == -1) {
		mregtoken_fini(t);
		rc = -1;
	}
	mcur_free(c);
	return rc;
}

int
mstore_regtoken_list(struct mdb *db, struct mregtoken **out, size_t *outsz)
{
	void	*v = NULL;
	int	 rc;

	*outsz = 0;
	rc = mcur_collect(mdb_query(db, MSTMT_REGTOKEN_LIST, ""), sizeof(**out), regtoken_row,
	    regtoken_fini, &v, outsz);
	*out = v;
	return rc;
}

int
mstore_regtoken_del(struct mdb *db, const char *token)
{
	return mstore_changed(mdb_exec(db, MSTMT_REGTOKEN_DEL, "s", token));
}

int
mstore_regtoken_use(struct mdb *db, const char *token, int64_t now_ms)
{
	return mstore_changed(mdb_exec(db, MSTMT_REGTOKEN_USE, "si", token, now_ms));
}

int
mstore_nonce_add(struct mdb *db, const char *nonce)
{
	return mdb_exec(db, MSTMT_NONCE_ADD, "si", nonce, mclock_now_ms()) < 0 ? -1 : 0;
}

int
mstore_nonce_take(struct mdb *db, const char *nonce, int64_t not_before_ms)
{
	return mstore_changed(mdb_exec(db, MSTMT_NONCE_TAKE, "si", nonce, not_before_ms));
}

int64_t
mstore_nonce_expire(struct mdb *db, int64_t before_ms)
{
	return mdb_exec(db, MSTMT_NONCE_DEL_OLD, "i", before_ms);
}
