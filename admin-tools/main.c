/* myelin-admin: scripted administration over the stack's config and database. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/auth.h"
#include "config/config.h"
#include "crypto/crypto.h"
#include "extern.h"
#include "log/log.h"
#include "notify/notify.h"
#include "store/store.h"

/* Every command, in the order the usage message and the manual list them. */
static const struct cmd cmds[] = {
	{ "config", "check", "", cmd_config_check },
	{ "db", "migrate", "", cmd_db_migrate },
	{ "db", "status", "", cmd_db_status },
	{ "db", "vacuum", "", cmd_db_vacuum },
	{ "key", "generate", "[path]", cmd_key_generate },
	{ "key", "rotate", "", cmd_key_rotate },
	{ "key", "show", "", cmd_key_show },
	{ "federation", "request", "SERVER METHOD PATH [BODY]", cmd_fed_request },
	{ "federation", "keys", "SERVER", cmd_fed_keys },
	{ "user", "add", "NAME --password PW [--admin]", cmd_user_add },
	{ "user", "list", "[--limit N] [--from USER]", cmd_user_list },
	{ "user", "show", "NAME", cmd_user_show },
	{ "user", "devices", "NAME", cmd_user_devices },
	{ "user", "deactivate", "NAME [--erase]", cmd_user_deactivate },
	{ "user", "reactivate", "NAME --password PW", cmd_user_reactivate },
	{ "user", "reset-password", "NAME --password PW [--keep-devices]",
	    cmd_user_reset_password },
	{ "user", "set-admin", "NAME on|off", cmd_user_set_admin },
	{ "user", "shadow-ban", "NAME on|off", cmd_user_shadow_ban },
	{ "user", "lock", "NAME on|off", cmd_user_lock },
	{ "user", "suspend", "NAME on|off", cmd_user_suspend },
	{ "user", "login-as", "NAME [--valid-until MS]", cmd_user_login_as },
	{ "room", "list", "[--limit N] [--from OFFSET] [--search TEXT] [--order-by KEY] [--reverse]",
	    cmd_room_list },
	{ "room", "show", "ROOM", cmd_room_show },
	{ "room", "members", "ROOM", cmd_room_members },
	{ "room", "state", "ROOM", cmd_room_state },
	{ "room", "delete", "ROOM [--purge] [--block] [--force]", cmd_room_delete },
	{ "room", "block", "ROOM on|off", cmd_room_block },
	{ "registration-token", "add", "[TOKEN] [--uses N] [--expiry MS]", cmd_regtoken_add },
	{ "registration-token", "list", "", cmd_regtoken_list },
	{ "registration-token", "delete", "TOKEN", cmd_regtoken_delete },
	{ "media", "list", "[--user NAME] [--limit N] [--from ID]", cmd_media_list },
	{ "media", "show", "ID", cmd_media_show },
	{ "media", "quarantine", "ID", cmd_media_quarantine },
	{ "media", "unquarantine", "ID", cmd_media_unquarantine },
	{ "media", "delete", "ID", cmd_media_delete },
	{ "media", "purge", "--before DATE [--min-size N] [--local | --remote] [--quiet]", cmd_media_purge },
	{ "stats", NULL, "", cmd_stats },
	{ "appservice", "list", "", cmd_as_list },
	{ "appservice", "show", "ID", cmd_as_show },
	{ "appservice", "check", "FILE", cmd_as_check },
	{ "import-synapse", NULL, "--from CONNINFO|PATH [--media-store DIR] [--dry-run]"
	    " [--copy-media | --link-media]", cmd_import_synapse },
};

/* The synopsis (the manual's SYNOPSIS), then every command's arguments. */
static void
usage(void)
{
	fprintf(stderr, "usage: myelin-admin [-j | --json] [-c config] command [argument ...]\n"
	    "commands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(stderr, "  %s%s%s%s%s\n", cmds[i].noun, cmds[i].verb != NULL ? " " : "",
		    cmds[i].verb != NULL ? cmds[i].verb : "", *cmds[i].args != '\0' ? " " : "",
		    cmds[i].args);
}

/* The usage line of one command, after a mistake in its arguments. */
static void
cmd_usage(const struct cmd *c)
{
	fprintf(stderr, "usage: myelin-admin [-j] [-c config] %s%s%s%s%s\n", c->noun,
	    c->verb != NULL ? " " : "", c->verb != NULL ? c->verb : "",
	    *c->args != '\0' ? " " : "", c->args);
}

int
print_json(json_t *obj)
{
	char *s = obj != NULL ? json_dumps(obj, JSON_COMPACT) : NULL;

	json_decref(obj);
	if (s == NULL)
		return EX_FAILED;
	puts(s);
	free(s);
	return EX_DONE;
}

void
print_fields(const json_t *obj)
{
	const char	*k;
	json_t		*v;

	json_object_foreach((json_t *)obj, k, v) {
		printf("%-22s ", k);
		if (json_is_string(v))
			fputs(json_string_value(v), stdout);
		else if (json_is_boolean(v))
			fputs(json_is_true(v) ? "yes" : "no", stdout);
		else if (json_is_integer(v))
			printf("%lld", (long long)json_integer_value(v));
		else if (json_is_array(v)) {
			size_t	 i;
			json_t	*e;

			json_array_foreach(v, i, e)
				printf("%s%s", i > 0 ? " " : "",
				    json_is_string(e) ? json_string_value(e) : "?");
		} else if (json_is_null(v))
			fputs("-", stdout);
		else {
			char *s = json_dumps(v, JSON_COMPACT);

			fputs(s != NULL ? s : "?", stdout);
			free(s);
		}
		putchar('\n');
	}
}

int64_t
number(const char *s)
{
	char		*end;
	long long	 n;

	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || *s < '0' || *s > '9' || *end != '\0' || n < 0)
		return -1;
	return n;
}

int
on_off(const char *s)
{
	return strcmp(s, "on") == 0 ? 1 : strcmp(s, "off") == 0 ? 0 : -1;
}

char *
user_arg(struct ctx *c, const char *name)
{
	char *id;

	if ((id = mauth_user_id(name, c->conf->server_name)) == NULL)
		fprintf(stderr, "myelin-admin: %s is not a user name on %s\n", name,
		    c->conf->server_name);
	return id;
}

char *
room_arg(struct ctx *c, const char *room)
{
	char	*id = NULL;
	int	 rc;

	if (room[0] == '!')
		return strdup(room);
	if (room[0] != '#' || strchr(room, ':') == NULL) {
		fprintf(stderr, "myelin-admin: %s is not a room ID or alias\n", room);
		return NULL;
	}
	if (need_db(c) == -1 || (rc = mstore_alias_get(c->db, room, &id, NULL)) == -1)
		return NULL;
	if (rc == 0)
		fprintf(stderr, "myelin-admin: no room has the alias %s\n", room);
	return id;
}

/*
 * The notify segment exists once a handler has run: mapping it before
 * the connection opens lets this process's commits wake the stack's
 * /sync requests.  Without one there is no stack to wake, and none is
 * created here.
 */
int
need_db(struct ctx *c)
{
	struct stat	 st;
	char		*path;

	if (c->db != NULL)
		return 0;
	if (asprintf(&path, "%s/notify.shm", c->conf->run_dir) != -1) {
		if (stat(path, &st) == 0)
			c->notify = mnotify_open(path);
		free(path);
	}
	if ((c->db = mdb_open(c->conf, c->notify)) == NULL || mdb_migrate(c->db) == -1) {
		fprintf(stderr, "myelin-admin: database is not usable\n");
		return -1;
	}
	return 0;
}

int
need_key(struct ctx *c)
{
	if (c->key != NULL)
		return 0;
	if ((c->key = mcrypto_key_load(c->conf->signing_key_path)) == NULL) {
		fprintf(stderr, "myelin-admin: %s: cannot read the signing key\n",
		    c->conf->signing_key_path);
		return -1;
	}
	return 0;
}

void
admin_init(struct ctx *c, struct madmin *a)
{
	memset(a, 0, sizeof(*a));
	a->db = c->db;
	a->conf = c->conf;
	a->key = c->key;
}

int
admin_failed(struct madmin *a, enum madmin_rc rc)
{
	if (rc == MADMIN_ERROR)
		fprintf(stderr, "myelin-admin: the operation failed (see the log above)\n");
	else
		fprintf(stderr, "myelin-admin: %s\n", a->why);
	return EX_FAILED;
}

/* The command named by argv[0] (and argv[1]), or NULL; *skip its words. */
static const struct cmd *
find(int argc, char **argv, int *skip)
{
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[0], cmds[i].noun) != 0)
			continue;
		if (cmds[i].verb == NULL) {
			*skip = 1;
			return &cmds[i];
		}
		if (argc >= 2 && strcmp(argv[1], cmds[i].verb) == 0) {
			*skip = 2;
			return &cmds[i];
		}
	}
	return NULL;
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "config", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cmd	*cmd;
	struct ctx		 c;
	char			 errbuf[4096];
	int			 ch, rc, skip = 0;

	memset(&c, 0, sizeof(c));
	c.cfpath = getenv("MYELIN_CONFIG");
	while ((ch = getopt_long(argc, argv, "+c:j", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			c.cfpath = optarg;
			break;
		case 'j':
			c.json = 1;
			break;
		default:
			usage();
			return EX_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || c.cfpath == NULL || (cmd = find(argc, argv, &skip)) == NULL) {
		usage();
		return EX_USAGE;
	}
	mlog_init("myelin-admin", MLOG_WARN);
	if (mcrypto_init() == -1)
		return EX_FAILED;
	if ((c.conf = mconfig_load(c.cfpath, errbuf, sizeof(errbuf))) == NULL) {
		fputs(errbuf, stderr);
		return EX_FAILED;
	}
	if ((rc = cmd->fn(&c, argc - skip, argv + skip)) == EX_USAGE)
		cmd_usage(cmd);
	mnotify_close(c.notify);
	mcrypto_key_free(c.key);
	mdb_close(c.db);
	mconfig_free(c.conf);
	return rc;
}
