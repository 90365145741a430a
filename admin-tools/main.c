/* myelin-admin: scripted administration over the stack's config and database. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/auth.h"
#include "clock/clock.h"
#include "config/config.h"
#include "crypto/crypto.h"
#include "log/log.h"
#include "store/store.h"

#include <jansson.h>

#define EX_DONE		0
#define EX_FAILED	1
#define EX_USAGE	2

struct ctx {
	const char	*cfpath;
	struct mconfig	*conf;
	struct mdb	*db;
	int		 json;
};

static void
usage(void)
{
	fprintf(stderr, "usage: myelin-admin [-j | --json] [-c config] command [args]\n"
	    "commands:\n"
	    "  config check\n"
	    "  db migrate | db status\n"
	    "  key generate [path]\n"
	    "  user add NAME --password PW [--admin] | user list [--limit N] [--from USER]\n"
	    "  registration-token add [TOKEN] [--uses N] [--expiry MS] | list | delete TOKEN\n");
}

/* Prints obj as one line of JSON (steals it).  0 or -1. */
static int
print_json(json_t *obj)
{
	char *s = obj != NULL ? json_dumps(obj, JSON_COMPACT) : NULL;

	json_decref(obj);
	if (s == NULL)
		return -1;
	puts(s);
	free(s);
	return 0;
}

/* A non-negative integer argument, or -1 when it is not one. */
static int64_t
number(const char *s)
{
	char		*end;
	long long	 n;

	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || n < 0)
		return -1;
	return n;
}

static int
need_db(struct ctx *c)
{
	if (c->db != NULL)
		return 0;
	if ((c->db = mdb_open(c->conf)) == NULL || mdb_migrate(c->db) == -1) {
		fprintf(stderr, "myelin-admin: database is not usable\n");
		return -1;
	}
	return 0;
}

static int
cmd_db(struct ctx *c, int argc, char **argv)
{
	int v;

	if (argc != 1)
		return EX_USAGE;
	if (strcmp(argv[0], "migrate") == 0) {
		if (need_db(c) == -1)
			return EX_FAILED;
		if (c->json)
			print_json(json_pack("{s:i}", "schema_version", mdb_schema_version(c->db)));
		else
			printf("schema version %d\n", mdb_schema_version(c->db));
		return EX_DONE;
	}
	if (strcmp(argv[0], "status") == 0) {
		if ((c->db = mdb_open(c->conf)) == NULL)
			return EX_FAILED;
		if ((v = mdb_schema_version(c->db)) == -1)
			v = 0;
		if (c->json)
			print_json(json_pack("{s:i,s:i,s:s}", "schema_version", v, "latest",
			    mdb_schema_latest(), "backend", c->conf->db_backend == MDB_POSTGRES ?
			    "postgres" : "sqlite"));
		else
			printf("backend %s\nschema version %d of %d\n",
			    c->conf->db_backend == MDB_POSTGRES ? "postgres" : "sqlite",
			    v, mdb_schema_latest());
		return EX_DONE;
	}
	return EX_USAGE;
}

/* key generate [path]: a new ed25519 key in Synapse's signing.key format. */
static int
cmd_key(struct ctx *c, int argc, char **argv)
{
	struct mkey	*k;
	const char	*path;
	char		*ver, *pub;
	struct stat	 st;
	int		 rc = EX_FAILED;

	if (argc < 1 || argc > 2 || strcmp(argv[0], "generate") != 0)
		return EX_USAGE;
	path = argc == 2 ? argv[1] : c->conf->signing_key_path;
	if (stat(path, &st) == 0) {
		fprintf(stderr, "myelin-admin: %s exists; not overwriting it\n", path);
		return EX_FAILED;
	}
	if ((ver = mcrypto_random_string(6)) == NULL)
		return EX_FAILED;
	if ((k = mcrypto_key_generate(ver)) == NULL)
		fprintf(stderr, "myelin-admin: cannot generate a key\n");
	else if (mcrypto_key_save(k, path) == -1)
		fprintf(stderr, "myelin-admin: %s: %s\n", path, strerror(errno));
	else if ((pub = mcrypto_key_public_b64(k)) != NULL) {
		if (c->json)
			print_json(json_pack("{s:s,s:s}", "key_id", k->id, "public_key", pub));
		else
			printf("%s %s\n", k->id, pub);
		free(pub);
		rc = EX_DONE;
	}
	mcrypto_key_free(k);
	free(ver);
	return rc;
}

static int
cmd_user(struct ctx *c, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[0], "add") == 0) {
		const char	*pw = NULL;
		char		*id, *hash, *lp;
		int		 admin = 0, rc;

		for (int i = 2; i < argc; i++) {
			if (strcmp(argv[i], "--admin") == 0)
				admin = 1;
			else if (strcmp(argv[i], "--password") == 0 && i + 1 < argc)
				pw = argv[++i];
			else
				return EX_USAGE;
		}
		if (pw == NULL)
			return EX_USAGE;
		if ((id = mauth_user_id(argv[1], c->conf->server_name)) == NULL) {
			fprintf(stderr, "myelin-admin: invalid user name %s\n", argv[1]);
			return EX_FAILED;
		}
		if (need_db(c) == -1 || (hash = mcrypto_password_hash(pw)) == NULL) {
			free(id);
			return EX_FAILED;
		}
		lp = strndup(id + 1, strcspn(id + 1, ":"));
		rc = mstore_user_add(c->db, id, hash, lp, admin, 0, NULL);
		free(lp);
		free(hash);
		if (rc == MSTORE_CONFLICT)
			fprintf(stderr, "myelin-admin: %s already exists\n", id);
		else if (rc == 0 && c->json)
			print_json(json_pack("{s:s}", "user_id", id));
		else if (rc == 0)
			printf("%s\n", id);
		free(id);
		return rc == 0 ? EX_DONE : EX_FAILED;
	}
	if (argc >= 1 && strcmp(argv[0], "list") == 0) {
		struct muser	*v;
		const char	*from = "";
		int64_t		 limit = 100;
		size_t		 n;
		json_t		*arr;

		for (int i = 1; i < argc; i++) {
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
			print_json(arr);
		else
			json_decref(arr);
		return EX_DONE;
	}
	return EX_USAGE;
}

static int
cmd_regtoken(struct ctx *c, int argc, char **argv)
{
	if (argc < 1)
		return EX_USAGE;
	if (need_db(c) == -1)
		return EX_FAILED;
	if (strcmp(argv[0], "add") == 0) {
		int64_t	 uses = -1, expiry = -1;
		char	*tok = NULL;
		int	 rc;

		for (int i = 1; i < argc; i++) {
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
		/* Spec: C-S API, m.login.registration_token: [A-Za-z0-9._~-], at most 64. */
		if (strlen(tok) == 0 || strlen(tok) > 64 ||
		    strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789._~-") != strlen(tok)) {
			fprintf(stderr, "myelin-admin: a token is 1 to 64 of A-Z a-z 0-9 . _ ~ -\n");
			free(tok);
			return EX_USAGE;
		}
		rc = mstore_regtoken_add(c->db, tok, uses, expiry);
		if (rc == MSTORE_CONFLICT)
			fprintf(stderr, "myelin-admin: token %s already exists\n", tok);
		else if (rc == 0 && c->json)
			print_json(json_pack("{s:s}", "token", tok));
		else if (rc == 0)
			printf("%s\n", tok);
		free(tok);
		return rc == 0 ? EX_DONE : EX_FAILED;
	}
	if (strcmp(argv[0], "list") == 0 && argc == 1) {
		struct mregtoken	*v;
		size_t			 n;
		json_t			*arr;

		if (mstore_regtoken_list(c->db, &v, &n) == -1)
			return EX_FAILED;
		arr = json_array();
		if (!c->json)
			printf("%-24s %8s %9s %s\n", "TOKEN", "USES", "COMPLETED", "EXPIRY");
		for (size_t i = 0; i < n; i++) {
			json_t *t = json_pack("{s:s,s:I,s:I,s:I}", "token", v[i].token,
			    "uses_allowed", (json_int_t)v[i].uses_allowed, "completed",
			    (json_int_t)v[i].completed, "expiry_time", (json_int_t)v[i].expiry_time);

			/* Synapse's admin API shape: null for "no limit". */
			if (v[i].uses_allowed < 0)
				json_object_set_new(t, "uses_allowed", json_null());
			if (v[i].expiry_time < 0)
				json_object_set_new(t, "expiry_time", json_null());
			if (c->json)
				json_array_append_new(arr, t);
			else {
				char uses[24] = "-", exp[24] = "-";

				json_decref(t);
				if (v[i].uses_allowed >= 0)
					snprintf(uses, sizeof(uses), "%lld", (long long)v[i].uses_allowed);
				if (v[i].expiry_time >= 0)
					snprintf(exp, sizeof(exp), "%lld", (long long)v[i].expiry_time);
				printf("%-24s %8s %9lld %s\n", v[i].token, uses,
				    (long long)v[i].completed, exp);
			}
		}
		if (c->json)
			print_json(arr);
		else
			json_decref(arr);
		mregtoken_list_free(v, n);
		return EX_DONE;
	}
	if (strcmp(argv[0], "delete") == 0 && argc == 2) {
		int rc = mstore_regtoken_del(c->db, argv[1]);

		if (rc == 0)
			fprintf(stderr, "myelin-admin: no token %s\n", argv[1]);
		return rc == 1 ? EX_DONE : EX_FAILED;
	}
	return EX_USAGE;
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "config", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctx	 c;
	char		 errbuf[4096];
	int		 ch, rc;

	memset(&c, 0, sizeof(c));
	c.cfpath = getenv("MYELIN_CONFIG");
	while ((ch = getopt_long(argc, argv, "+c:j", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': c.cfpath = optarg; break;
		case 'j': c.json = 1; break;
		default: usage(); return EX_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || c.cfpath == NULL) {
		usage();
		return EX_USAGE;
	}
	mlog_init("myelin-admin", MLOG_WARN);
	if (mcrypto_init() == -1)
		return EX_FAILED;
	c.conf = mconfig_load(c.cfpath, errbuf, sizeof(errbuf));
	if (strcmp(argv[0], "config") == 0) {
		if (argc != 2 || strcmp(argv[1], "check") != 0) {
			usage();
			mconfig_free(c.conf);
			return EX_USAGE;
		}
		if (c.conf == NULL) {
			fputs(errbuf, stderr);
			return EX_FAILED;
		}
		puts("configuration OK");
		mconfig_free(c.conf);
		return EX_DONE;
	}
	if (c.conf == NULL) {
		fputs(errbuf, stderr);
		return EX_FAILED;
	}
	if (strcmp(argv[0], "db") == 0)
		rc = cmd_db(&c, argc - 1, argv + 1);
	else if (strcmp(argv[0], "key") == 0)
		rc = cmd_key(&c, argc - 1, argv + 1);
	else if (strcmp(argv[0], "user") == 0)
		rc = cmd_user(&c, argc - 1, argv + 1);
	else if (strcmp(argv[0], "registration-token") == 0)
		rc = cmd_regtoken(&c, argc - 1, argv + 1);
	else
		rc = EX_USAGE;
	if (rc == EX_USAGE)
		usage();
	mdb_close(c.db);
	mconfig_free(c.conf);
	return rc;
}
