/* myelin-admin user commands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "crypto/crypto.h"
#include "extern.h"
#include "store/store.h"

/* user add NAME --password PW [--admin] */
int
cmd_user_add(struct ctx *c, int argc, char **argv)
{
	const char	*pw = NULL;
	char		*id, *hash;
	int		 admin = 0, rc;

	if (argc < 1 || argv[0][0] == '-')
		return EX_USAGE;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--admin") == 0)
			admin = 1;
		else if (strcmp(argv[i], "--password") == 0 && i + 1 < argc)
			pw = argv[++i];
		else
			return EX_USAGE;
	}
	if (pw == NULL)
		return EX_USAGE;
	if ((id = user_arg(c, argv[0])) == NULL)
		return EX_FAILED;
	if (need_db(c) == -1 || (hash = mcrypto_password_hash(pw)) == NULL) {
		free(id);
		return EX_FAILED;
	}
	rc = mstore_user_add(c->db, id, hash, NULL, admin, 0, NULL);
	free(hash);
	if (rc == MSTORE_CONFLICT)
		fprintf(stderr, "myelin-admin: %s already exists\n", id);
	else if (rc == 0 && c->json)
		rc = print_json(json_pack("{s:s}", "user_id", id));
	else if (rc == 0)
		printf("%s\n", id);
	free(id);
	return rc == 0 ? EX_DONE : EX_FAILED;
}

/* user list [--limit N] [--from USER] */
int
cmd_user_list(struct ctx *c, int argc, char **argv)
{
	struct muser	*v;
	const char	*from = "";
	int64_t		 limit = 100;
	size_t		 n;
	json_t		*arr;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc &&
		    (limit = number(argv[++i])) > 0)
			continue;
		if (strcmp(argv[i], "--from") == 0 && i + 1 < argc) {
			from = argv[++i];
			continue;
		}
		return EX_USAGE;
	}
	if (need_db(c) == -1 || mstore_user_list(c->db, from, limit, &v, &n) == -1)
		return EX_FAILED;
	arr = json_array();
	if (!c->json)
		printf("%-40s %-5s %-11s %s\n", "USER", "ADMIN", "DEACTIVATED", "DISPLAYNAME");
	for (size_t i = 0; i < n; i++) {
		if (c->json)
			json_array_append_new(arr, json_pack("{s:s,s:b,s:b,s:b,s:s?,s:I}",
			    "user_id", v[i].user_id, "admin", v[i].is_admin,
			    "deactivated", v[i].deactivated, "guest", v[i].is_guest,
			    "displayname", v[i].displayname, "creation_ts",
			    (json_int_t)v[i].created_ts));
		else
			printf("%-40s %-5s %-11s %s\n", v[i].user_id, v[i].is_admin ? "yes" : "no",
			    v[i].deactivated ? "yes" : "no",
			    v[i].displayname != NULL ? v[i].displayname : "");
	}
	muser_list_free(v, n);
	if (c->json)
		return print_json(arr);
	json_decref(arr);
	return EX_DONE;
}

/*
 * The user named by argv[0], existing, as an ID (malloc'd): NULL after a
 * message.  *rc gets the exit code to return then.
 */
static char *
existing_user(struct ctx *c, const char *name, int *rc)
{
	struct muser	 u;
	char		*id;
	int		 found;

	*rc = EX_FAILED;
	if ((id = user_arg(c, name)) == NULL)
		return NULL;
	if (need_db(c) == -1 || (found = mstore_user_get(c->db, id, &u)) == -1) {
		free(id);
		return NULL;
	}
	muser_fini(&u);
	if (found == 0) {
		fprintf(stderr, "myelin-admin: no user %s\n", id);
		free(id);
		return NULL;
	}
	return id;
}

/* Prints the outcome of a change to a user: "ID what", or {"user_id", key: value}. */
static int
done(struct ctx *c, const char *id, const char *what, const char *key, json_t *value)
{
	if (c->json)
		return print_json(json_pack("{s:s,s:o}", "user_id", id, key, value));
	json_decref(value);
	printf("%s %s\n", id, what);
	return EX_DONE;
}

/*
 * user show NAME: the user as the admin API's GET /_synapse/admin/v2/users
 * shows it, with the rooms it is joined to.
 */
int
cmd_user_show(struct ctx *c, int argc, char **argv)
{
	json_t	*u = NULL, *rooms;
	char	*id;
	int	 rc;

	if (argc != 1)
		return EX_USAGE;
	if ((id = existing_user(c, argv[0], &rc)) == NULL)
		return rc;
	if (mstore_admin_user(c->db, id, &u) != 1 ||
	    (rooms = mstore_user_rooms(c->db, id, "join")) == NULL) {
		json_decref(u);
		free(id);
		return EX_FAILED;
	}
	free(id);
	/* Fields of Synapse features myelin has not got say nothing here. */
	json_object_del(u, "threepids");
	json_object_del(u, "external_ids");
	json_object_del(u, "appservice_id");
	json_object_del(u, "consent_server_notice_sent");
	json_object_del(u, "consent_version");
	json_object_del(u, "consent_ts");
	json_object_set_new(u, "joined_rooms", rooms);
	if (c->json)
		return print_json(u);
	print_fields(u);
	json_decref(u);
	return EX_DONE;
}

/*
 * user devices NAME: each device with its last use and what end-to-end
 * encryption keeps of it: its device keys (as /keys/query shows them),
 * its unclaimed one-time keys by algorithm and its unused fallback keys.
 */
int
cmd_user_devices(struct ctx *c, int argc, char **argv)
{
	struct mdevice	*v = NULL;
	size_t		 n = 0;
	json_t		*out = NULL, *keys = NULL, *d, *k, *otk, *fb;
	char		*id;
	int		 rc;

	if (argc != 1)
		return EX_USAGE;
	if ((id = existing_user(c, argv[0], &rc)) == NULL)
		return rc;
	rc = EX_FAILED;
	if (mstore_device_list(c->db, id, &v, &n) == -1 ||
	    (keys = mstore_keys_query(c->db, id, NULL, id)) == NULL ||
	    (out = json_array()) == NULL)
		goto out;
	if (!c->json)
		printf("%-16s %-24s %-9s %-9s %s\n", "DEVICE_ID", "DISPLAY_NAME", "KEYS",
		    "ONE_TIME", "FALLBACK");
	for (size_t i = 0; i < n; i++) {
		k = json_object_get(keys, v[i].device_id);
		if (mstore_key_counts(c->db, id, v[i].device_id, &otk, &fb) == -1)
			goto out;
		d = json_pack("{s:s,s:s?,s:I,s:s?,s:O?,s:o,s:o}", "device_id", v[i].device_id,
		    "display_name", v[i].display_name, "last_seen_ts",
		    (json_int_t)v[i].last_seen_ts, "last_seen_ip", v[i].last_seen_ip,
		    "keys", k, "one_time_key_counts", otk, "unused_fallback_key_types", fb);
		if (d == NULL)
			goto out;
		if (!c->json) {
			json_int_t	 total = 0;
			const char	*alg;
			json_t		*cnt;

			json_object_foreach(otk, alg, cnt)
				total += json_integer_value(cnt);
			printf("%-16s %-24s %-9s %-9lld %zu\n", v[i].device_id,
			    v[i].display_name != NULL ? v[i].display_name : "-",
			    k != NULL ? "uploaded" : "none", (long long)total, json_array_size(fb));
		}
		json_array_append_new(out, d);
	}
	rc = c->json ? print_json(json_pack("{s:s,s:O}", "user_id", id, "devices", out)) : EX_DONE;
out:
	mdevice_list_free(v, n);
	json_decref(keys);
	json_decref(out);
	free(id);
	return rc;
}

/* user deactivate NAME [--erase] */
int
cmd_user_deactivate(struct ctx *c, int argc, char **argv)
{
	struct madmin	 a;
	enum madmin_rc	 e;
	char		*id;
	int		 erase = 0, rc;

	if (argc < 1 || argc > 2 || (argc == 2 && strcmp(argv[1], "--erase") != 0))
		return EX_USAGE;
	erase = argc == 2;
	if ((id = existing_user(c, argv[0], &rc)) == NULL)
		return rc;
	if (need_key(c) == -1) {
		free(id);
		return EX_FAILED;
	}
	admin_init(c, &a);
	if ((e = madmin_user_deactivate(&a, id, erase)) != MADMIN_OK)
		rc = admin_failed(&a, e);
	else
		rc = done(c, id, erase ? "deactivated and erased" : "deactivated", "deactivated",
		    json_true());
	free(id);
	return rc;
}

/* Reads "--password PW" and the flag (when not NULL) from argv[1..]. */
static int
password_args(int argc, char **argv, const char *flag, const char **pw, int *flagged)
{
	*pw = NULL;
	if (flagged != NULL)
		*flagged = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--password") == 0 && i + 1 < argc)
			*pw = argv[++i];
		else if (flag != NULL && strcmp(argv[i], flag) == 0)
			*flagged = 1;
		else
			return -1;
	}
	return argc >= 1 && *pw != NULL ? 0 : -1;
}

/* user reactivate NAME --password PW */
int
cmd_user_reactivate(struct ctx *c, int argc, char **argv)
{
	struct madmin	 a;
	enum madmin_rc	 e;
	const char	*pw;
	char		*id;
	int		 rc;

	if (password_args(argc, argv, NULL, &pw, NULL) == -1)
		return EX_USAGE;
	if ((id = existing_user(c, argv[0], &rc)) == NULL)
		return rc;
	admin_init(c, &a);
	if ((e = madmin_user_reactivate(&a, id, pw)) != MADMIN_OK)
		rc = admin_failed(&a, e);
	else
		rc = done(c, id, "reactivated", "deactivated", json_false());
	free(id);
	return rc;
}

/* user reset-password NAME --password PW [--keep-devices] */
int
cmd_user_reset_password(struct ctx *c, int argc, char **argv)
{
	struct madmin	 a;
	enum madmin_rc	 e;
	const char	*pw;
	char		*id;
	int		 keep, rc;

	if (password_args(argc, argv, "--keep-devices", &pw, &keep) == -1)
		return EX_USAGE;
	if ((id = existing_user(c, argv[0], &rc)) == NULL)
		return rc;
	admin_init(c, &a);
	if ((e = madmin_user_password(&a, id, pw, !keep)) != MADMIN_OK)
		rc = admin_failed(&a, e);
	else
		rc = done(c, id, keep ? "has a new password" :
		    "has a new password and no sessions", "logged_out", json_boolean(!keep));
	free(id);
	return rc;
}

/* The on|off flags of a user: one shape for set-admin and shadow-ban. */
static int
user_flag(struct ctx *c, int argc, char **argv, int (*set)(struct mdb *, const char *, int),
    const char *on_msg, const char *off_msg, const char *key)
{
	char	*id;
	int	 on, rc;

	if (argc != 2 || (on = on_off(argv[1])) == -1)
		return EX_USAGE;
	if ((id = existing_user(c, argv[0], &rc)) == NULL)
		return rc;
	if (set(c->db, id, on) == -1)
		rc = EX_FAILED;
	else
		rc = done(c, id, on ? on_msg : off_msg, key, json_boolean(on));
	free(id);
	return rc;
}

/* user set-admin NAME on|off */
int
cmd_user_set_admin(struct ctx *c, int argc, char **argv)
{
	return user_flag(c, argc, argv, mstore_user_set_admin, "is a server admin",
	    "is not a server admin", "admin");
}

/* user shadow-ban NAME on|off */
int
cmd_user_shadow_ban(struct ctx *c, int argc, char **argv)
{
	return user_flag(c, argc, argv, mstore_user_set_shadow_banned, "is shadow-banned",
	    "is no longer shadow-banned", "shadow_banned");
}

/* user lock NAME on|off: spec, "Account locking", as PUT /admin/lock/{userId}. */
int
cmd_user_lock(struct ctx *c, int argc, char **argv)
{
	return user_flag(c, argc, argv, mstore_user_set_locked, "is locked",
	    "is no longer locked", "locked");
}

/* user suspend NAME on|off: spec, "Account suspension", as PUT /admin/suspend/{userId}. */
int
cmd_user_suspend(struct ctx *c, int argc, char **argv)
{
	return user_flag(c, argc, argv, mstore_user_set_suspended, "is suspended",
	    "is no longer suspended", "suspended");
}

/* user login-as NAME [--valid-until MS]: prints an access token for the user. */
int
cmd_user_login_as(struct ctx *c, int argc, char **argv)
{
	struct madmin	 a;
	enum madmin_rc	 e;
	int64_t		 until = 0;
	char		*id, *tok = NULL;
	int		 rc;

	if (argc == 3 && strcmp(argv[1], "--valid-until") == 0 &&
	    (until = number(argv[2])) > 0)
		argc = 1;
	if (argc != 1)
		return EX_USAGE;
	if ((id = existing_user(c, argv[0], &rc)) == NULL)
		return rc;
	admin_init(c, &a);
	if ((e = madmin_login_as(&a, id, until, &tok)) != MADMIN_OK)
		rc = admin_failed(&a, e);
	else if (c->json)
		rc = print_json(json_pack("{s:s,s:s}", "user_id", id, "access_token", tok));
	else {
		puts(tok);
		rc = EX_DONE;
	}
	free(tok);
	free(id);
	return rc;
}
