/* myelin-admin config, db, key, registration-token and stats commands. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clock/clock.h"
#include "config/config.h"
#include "crypto/crypto.h"
#include "extern.h"
#include "store/store.h"

/* config check: the configuration was read before the command ran. */
int
cmd_config_check(struct ctx *c, int argc, char **argv)
{
	(void)argv;
	if (argc != 0)
		return EX_USAGE;
	if (c->json)
		return print_json(json_pack("{s:b}", "ok", 1));
	puts("configuration OK");
	return EX_DONE;
}

int
cmd_db_migrate(struct ctx *c, int argc, char **argv)
{
	(void)argv;
	if (argc != 0)
		return EX_USAGE;
	if (need_db(c) == -1)
		return EX_FAILED;
	if (c->json)
		return print_json(json_pack("{s:i}", "schema_version", mdb_schema_version(c->db)));
	printf("schema version %d\n", mdb_schema_version(c->db));
	return EX_DONE;
}

/* db status: without migrating, so that an old schema shows as old. */
int
cmd_db_status(struct ctx *c, int argc, char **argv)
{
	const char	*backend = c->conf->db_backend == MDB_POSTGRES ? "postgres" : "sqlite";
	int		 v;

	(void)argv;
	if (argc != 0)
		return EX_USAGE;
	if ((c->db = mdb_open(c->conf, c->notify)) == NULL)
		return EX_FAILED;
	if ((v = mdb_schema_version(c->db)) == -1)
		v = 0;
	if (c->json)
		return print_json(json_pack("{s:i,s:i,s:s}", "schema_version", v, "latest",
		    mdb_schema_latest(), "backend", backend));
	printf("backend %s\nschema version %d of %d\n", backend, v, mdb_schema_latest());
	return EX_DONE;
}

int
cmd_db_vacuum(struct ctx *c, int argc, char **argv)
{
	(void)argv;
	if (argc != 0)
		return EX_USAGE;
	if (need_db(c) == -1)
		return EX_FAILED;
	if (mdb_vacuum(c->db) == -1) {
		fprintf(stderr, "myelin-admin: vacuum failed\n");
		return EX_FAILED;
	}
	if (c->json)
		return print_json(json_pack("{s:b}", "vacuumed", 1));
	puts("vacuumed");
	return EX_DONE;
}

/* Prints a key's ID and public key, as key generate and rotate do. */
static int
print_key(struct ctx *c, const struct mkey *k, const char *old_id)
{
	char	*pub;
	int	 rc;

	if ((pub = mcrypto_key_public_b64(k)) == NULL)
		return EX_FAILED;
	if (c->json) {
		json_t *o = json_pack("{s:s,s:s}", "key_id", k->id, "public_key", pub);

		if (o != NULL && old_id != NULL)
			json_object_set_new(o, "old_key_id", json_string(old_id));
		rc = print_json(o);
	} else {
		printf("%s %s\n", k->id, pub);
		rc = EX_DONE;
	}
	free(pub);
	return rc;
}

/* A new key with a random version, saved to path.  NULL after a message. */
static struct mkey *
new_key(const char *path)
{
	struct mkey	*k = NULL;
	char		*ver;

	if ((ver = mcrypto_random_string(6)) == NULL)
		return NULL;
	if ((k = mcrypto_key_generate(ver)) == NULL)
		fprintf(stderr, "myelin-admin: cannot generate a key\n");
	else if (mcrypto_key_save(k, path) == -1) {
		fprintf(stderr, "myelin-admin: %s: %s\n", path, strerror(errno));
		mcrypto_key_free(k);
		k = NULL;
	}
	free(ver);
	return k;
}

/* key generate [path]: a new ed25519 key in Synapse's signing.key format. */
int
cmd_key_generate(struct ctx *c, int argc, char **argv)
{
	struct mkey	*k;
	const char	*path;
	struct stat	 st;
	int		 rc;

	if (argc > 1)
		return EX_USAGE;
	path = argc == 1 ? argv[0] : c->conf->signing_key_path;
	if (stat(path, &st) == 0) {
		fprintf(stderr, "myelin-admin: %s exists; not overwriting it\n", path);
		return EX_FAILED;
	}
	if ((k = new_key(path)) == NULL)
		return EX_FAILED;
	rc = print_key(c, k, NULL);
	mcrypto_key_free(k);
	return rc;
}

/* Where retired keys are listed: signing_key_path with ".old" appended. */
static char *
old_keys_path(const struct ctx *c)
{
	char *p;

	return asprintf(&p, "%s.old", c->conf->signing_key_path) == -1 ? NULL : p;
}

/*
 * key rotate: the current key is retired, its public half appended to
 * the old keys file as "KEY_ID PUBLIC_KEY EXPIRED_TS" (what a key server
 * publishes as old_verify_keys), and a new key takes its place.  The
 * handlers sign with the key they loaded at start until restarted.
 */
int
cmd_key_rotate(struct ctx *c, int argc, char **argv)
{
	struct mkey	*old, *k;
	FILE		*f;
	char		*path, *pub, oldid[sizeof(old->id)];
	int		 rc = EX_FAILED;

	(void)argv;
	if (argc != 0)
		return EX_USAGE;
	if ((old = mcrypto_key_load(c->conf->signing_key_path)) == NULL) {
		fprintf(stderr, "myelin-admin: %s: cannot read the signing key\n",
		    c->conf->signing_key_path);
		return EX_FAILED;
	}
	snprintf(oldid, sizeof(oldid), "%s", old->id);
	pub = mcrypto_key_public_b64(old);
	mcrypto_key_free(old);
	if (pub == NULL || (path = old_keys_path(c)) == NULL) {
		free(pub);
		return EX_FAILED;
	}
	if ((f = fopen(path, "a")) == NULL ||
	    fprintf(f, "%s %s %lld\n", oldid, pub, (long long)mclock_now_ms()) < 0 ||
	    fclose(f) == EOF)
		fprintf(stderr, "myelin-admin: %s: %s\n", path, strerror(errno));
	else if ((k = new_key(c->conf->signing_key_path)) != NULL) {
		rc = print_key(c, k, oldid);
		mcrypto_key_free(k);
	}
	free(path);
	free(pub);
	return rc;
}

/*
 * key show: the keys as a key server publishes them (spec: S-S API, GET
 * /_matrix/key/v2/server): verify_keys and old_verify_keys.
 */
int
cmd_key_show(struct ctx *c, int argc, char **argv)
{
	struct mkey	*k;
	json_t		*out, *old;
	FILE		*f;
	char		*path, *pub, line[512];

	(void)argv;
	if (argc != 0)
		return EX_USAGE;
	if ((k = mcrypto_key_load(c->conf->signing_key_path)) == NULL) {
		fprintf(stderr, "myelin-admin: %s: cannot read the signing key\n",
		    c->conf->signing_key_path);
		return EX_FAILED;
	}
	pub = mcrypto_key_public_b64(k);
	out = json_pack("{s:{s:{s:s?}},s:{}}", "verify_keys", k->id, "key", pub,
	    "old_verify_keys");
	if (!c->json)
		printf("%s %s\n", k->id, pub != NULL ? pub : "?");
	free(pub);
	mcrypto_key_free(k);
	old = json_object_get(out, "old_verify_keys");
	if ((path = old_keys_path(c)) != NULL && (f = fopen(path, "r")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			char		 id[128], key[128];
			long long	 ts;

			if (sscanf(line, "%127s %127s %lld", id, key, &ts) != 3)
				continue;
			json_object_set_new(old, id, json_pack("{s:s,s:I}", "key", key,
			    "expired_ts", (json_int_t)ts));
			if (!c->json)
				printf("%s %s expired %lld\n", id, key, ts);
		}
		fclose(f);
	}
	free(path);
	if (c->json)
		return print_json(out);
	json_decref(out);
	return EX_DONE;
}

/* Spec: C-S API, m.login.registration_token: [A-Za-z0-9._~-], at most 64. */
static int
token_ok(const char *tok)
{
	return *tok != '\0' && strlen(tok) <= 64 &&
	    strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._~-") == strlen(tok);
}

int
cmd_regtoken_add(struct ctx *c, int argc, char **argv)
{
	int64_t	 uses = -1, expiry = -1;
	char	*tok = NULL;
	int	 rc;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--uses") == 0 && i + 1 < argc &&
		    (uses = number(argv[++i])) >= 0)
			continue;
		if (strcmp(argv[i], "--expiry") == 0 && i + 1 < argc &&
		    (expiry = number(argv[++i])) >= 0)
			continue;
		if (argv[i][0] != '-' && tok == NULL && (tok = strdup(argv[i])) != NULL)
			continue;
		free(tok);
		return EX_USAGE;
	}
	if (tok == NULL && (tok = mcrypto_random_string(16)) == NULL)
		return EX_FAILED;
	if (!token_ok(tok)) {
		fprintf(stderr, "myelin-admin: a token is 1 to 64 of A-Z a-z 0-9 . _ ~ -\n");
		free(tok);
		return EX_USAGE;
	}
	if (need_db(c) == -1) {
		free(tok);
		return EX_FAILED;
	}
	rc = mstore_regtoken_add(c->db, tok, uses, expiry);
	if (rc == MSTORE_CONFLICT)
		fprintf(stderr, "myelin-admin: token %s already exists\n", tok);
	else if (rc == 0 && c->json)
		rc = print_json(json_pack("{s:s}", "token", tok));
	else if (rc == 0)
		printf("%s\n", tok);
	free(tok);
	return rc == 0 ? EX_DONE : EX_FAILED;
}

int
cmd_regtoken_list(struct ctx *c, int argc, char **argv)
{
	struct mregtoken	*v;
	size_t			 n;
	json_t			*arr;

	(void)argv;
	if (argc != 0)
		return EX_USAGE;
	if (need_db(c) == -1 || mstore_regtoken_list(c->db, &v, &n) == -1)
		return EX_FAILED;
	arr = json_array();
	if (!c->json)
		printf("%-24s %8s %9s %s\n", "TOKEN", "USES", "COMPLETED", "EXPIRY");
	for (size_t i = 0; i < n; i++) {
		char uses[24] = "-", exp[24] = "-";

		/* Synapse's admin API shape: null for "no limit". */
		json_array_append_new(arr, json_pack("{s:s,s:o,s:I,s:o}", "token", v[i].token,
		    "uses_allowed", v[i].uses_allowed < 0 ? json_null() :
		    json_integer(v[i].uses_allowed), "completed", (json_int_t)v[i].completed,
		    "expiry_time", v[i].expiry_time < 0 ? json_null() :
		    json_integer(v[i].expiry_time)));
		if (c->json)
			continue;
		if (v[i].uses_allowed >= 0)
			snprintf(uses, sizeof(uses), "%lld", (long long)v[i].uses_allowed);
		if (v[i].expiry_time >= 0)
			snprintf(exp, sizeof(exp), "%lld", (long long)v[i].expiry_time);
		printf("%-24s %8s %9lld %s\n", v[i].token, uses, (long long)v[i].completed, exp);
	}
	mregtoken_list_free(v, n);
	if (c->json)
		return print_json(arr);
	json_decref(arr);
	return EX_DONE;
}

int
cmd_regtoken_delete(struct ctx *c, int argc, char **argv)
{
	int rc;

	if (argc != 1)
		return EX_USAGE;
	if (need_db(c) == -1 || (rc = mstore_regtoken_del(c->db, argv[0])) == -1)
		return EX_FAILED;
	if (rc == 0) {
		fprintf(stderr, "myelin-admin: no token %s\n", argv[0]);
		return EX_FAILED;
	}
	if (c->json)
		return print_json(json_pack("{s:s,s:b}", "token", argv[0], "deleted", 1));
	printf("%s deleted\n", argv[0]);
	return EX_DONE;
}

/* stats: counts of users, sessions, rooms, events and reports, with the schema. */
int
cmd_stats(struct ctx *c, int argc, char **argv)
{
	json_t *s;

	(void)argv;
	if (argc != 0)
		return EX_USAGE;
	if (need_db(c) == -1 || (s = mstore_admin_stats(c->db)) == NULL)
		return EX_FAILED;
	json_object_set_new(s, "backend", json_string(c->conf->db_backend == MDB_POSTGRES ?
	    "postgres" : "sqlite"));
	json_object_set_new(s, "schema_version", json_integer(mdb_schema_version(c->db)));
	if (c->json)
		return print_json(s);
	print_fields(s);
	json_decref(s);
	return EX_DONE;
}
