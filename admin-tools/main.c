/* myelin-admin: scripted administration over the stack's config and database. */
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
	fprintf(stderr, "usage: myelin-admin [-c config] [--json] command [args]\n"
	    "commands:\n"
	    "  config check\n"
	    "  db migrate | db status\n"
	    "  key generate [path]\n"
	    "  user add NAME --password PW [--admin] | user list\n"
	    "  registration-token add [TOKEN] [--uses N] [--expiry MS] | list | delete TOKEN\n");
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
		printf(c->json ? "{\"schema_version\":%d}\n" : "schema version %d\n",
		    mdb_schema_version(c->db));
		return EX_DONE;
	}
	if (strcmp(argv[0], "status") == 0) {
		if ((c->db = mdb_open(c->conf)) == NULL)
			return EX_FAILED;
		if ((v = mdb_schema_version(c->db)) == -1)
			v = 0;
		if (c->json)
			printf("{\"schema_version\":%d,\"latest\":%d,\"backend\":\"%s\"}\n", v,
			    mdb_schema_latest(), c->conf->db_backend == MDB_POSTGRES ?
			    "postgres" : "sqlite");
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
	if ((k = mcrypto_key_generate(ver)) != NULL && mcrypto_key_save(k, path) == 0 &&
	    (pub = mcrypto_key_public_b64(k)) != NULL) {
		if (c->json)
			printf("{\"key_id\":\"%s\",\"public_key\":\"%s\"}\n", k->id, pub);
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
		else if (rc == 0)
			printf(c->json ? "{\"user_id\":\"%s\"}\n" : "%s\n", id);
		free(id);
		return rc == 0 ? EX_DONE : EX_FAILED;
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
			if (strcmp(argv[i], "--uses") == 0 && i + 1 < argc)
				uses = strtoll(argv[++i], NULL, 10);
			else if (strcmp(argv[i], "--expiry") == 0 && i + 1 < argc)
				expiry = strtoll(argv[++i], NULL, 10);
			else if (argv[i][0] != '-' && tok == NULL)
				tok = strdup(argv[i]);
			else {
				free(tok);
				return EX_USAGE;
			}
		}
		if (tok == NULL && (tok = mcrypto_random_string(16)) == NULL)
			return EX_FAILED;
		rc = mstore_regtoken_add(c->db, tok, uses, expiry);
		if (rc == MSTORE_CONFLICT)
			fprintf(stderr, "myelin-admin: token %s already exists\n", tok);
		else if (rc == 0)
			printf(c->json ? "{\"token\":\"%s\"}\n" : "%s\n", tok);
		free(tok);
		return rc == 0 ? EX_DONE : EX_FAILED;
	}
	if (strcmp(argv[0], "list") == 0 && argc == 1) {
		struct mregtoken	*v;
		size_t			 n;

		if (mstore_regtoken_list(c->db, &v, &n) == -1)
			return EX_FAILED;
		if (c->json)
			fputs("[", stdout);
		else
			printf("%-24s %8s %9s %s\n", "TOKEN", "USES", "COMPLETED", "EXPIRY");
		for (size_t i = 0; i < n; i++) {
			if (c->json)
				printf("%s{\"token\":\"%s\",\"uses_allowed\":%s%lld,"
				    "\"completed\":%lld,\"expiry_time\":%s%lld}", i ? "," : "",
				    v[i].token, "", (long long)v[i].uses_allowed,
				    (long long)v[i].completed, "", (long long)v[i].expiry_time);
			else
				printf("%-24s %8lld %9lld %lld\n", v[i].token,
				    (long long)v[i].uses_allowed, (long long)v[i].completed,
				    (long long)v[i].expiry_time);
		}
		if (c->json)
			puts("]");
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
