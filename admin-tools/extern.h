/* Shared by the files of myelin-admin: the context, output and argument helpers. */
#ifndef MYELIN_ADMIN_TOOLS_EXTERN_H
#define MYELIN_ADMIN_TOOLS_EXTERN_H

#include <stdint.h>
#include <jansson.h>

#include "admin/admin.h"

#define EX_DONE		0
#define EX_FAILED	1
#define EX_USAGE	2

struct mconfig;
struct mdb;
struct mkey;
struct mnotify;

struct ctx {
	const char	*cfpath;
	struct mconfig	*conf;
	struct mdb	*db;
	struct mkey	*key;		/* loaded by need_key */
	struct mnotify	*notify;	/* the stack's, when it has one */
	int		 json;
};

/* A command: "noun verb", the rest of its usage line, and what runs it. */
struct cmd {
	const char	*noun;
	const char	*verb;
	const char	*args;
	/* argv holds the arguments after the verb.  Returns an EX_ code. */
	int		(*fn)(struct ctx *, int argc, char **argv);
};

/*
 * Opens (and migrates) the database once, with the stack's notify
 * segment when there is one, so that waiting /sync requests see what
 * this process commits.  0, or -1 with a message.
 */
int	need_db(struct ctx *);
/* Loads the signing key, for commands that send events (leaves).  0, or -1 with a message. */
int	need_key(struct ctx *);
/* An admin context over the database (and key, when loaded). */
void	admin_init(struct ctx *, struct madmin *);
/* Prints why a madmin_* call failed; returns EX_FAILED. */
int	admin_failed(struct madmin *, enum madmin_rc);

/* Prints obj (stolen) as one line of JSON.  EX_DONE or EX_FAILED. */
int	print_json(json_t *obj);
/* Prints an object as "key  value" lines, in key order of the object. */
void	print_fields(const json_t *obj);
/* A non-negative integer argument, or -1 when it is not one. */
int64_t	number(const char *);
/* "on" 1, "off" 0, anything else -1. */
int	on_off(const char *);
/* The user ID NAME (a localpart or an ID here) stands for, malloc'd; NULL after a message. */
char	*user_arg(struct ctx *, const char *name);
/* The room ID ROOM (an ID or a local alias) stands for, malloc'd; NULL after a message. */
char	*room_arg(struct ctx *, const char *room);

int	cmd_config_check(struct ctx *, int, char **);
int	cmd_db_migrate(struct ctx *, int, char **);
int	cmd_db_status(struct ctx *, int, char **);
int	cmd_db_vacuum(struct ctx *, int, char **);
int	cmd_key_generate(struct ctx *, int, char **);
int	cmd_key_rotate(struct ctx *, int, char **);
int	cmd_key_show(struct ctx *, int, char **);
int	cmd_regtoken_add(struct ctx *, int, char **);
int	cmd_regtoken_list(struct ctx *, int, char **);
int	cmd_regtoken_delete(struct ctx *, int, char **);
int	cmd_stats(struct ctx *, int, char **);
int	cmd_media_list(struct ctx *, int, char **);
int	cmd_media_show(struct ctx *, int, char **);
int	cmd_media_quarantine(struct ctx *, int, char **);
int	cmd_media_unquarantine(struct ctx *, int, char **);
int	cmd_media_delete(struct ctx *, int, char **);
int	cmd_media_purge(struct ctx *, int, char **);

int	cmd_user_add(struct ctx *, int, char **);
int	cmd_user_list(struct ctx *, int, char **);
int	cmd_user_show(struct ctx *, int, char **);
int	cmd_user_devices(struct ctx *, int, char **);
int	cmd_user_deactivate(struct ctx *, int, char **);
int	cmd_user_reactivate(struct ctx *, int, char **);
int	cmd_user_reset_password(struct ctx *, int, char **);
int	cmd_user_set_admin(struct ctx *, int, char **);
int	cmd_user_shadow_ban(struct ctx *, int, char **);
int	cmd_user_lock(struct ctx *, int, char **);
int	cmd_user_suspend(struct ctx *, int, char **);
int	cmd_user_login_as(struct ctx *, int, char **);

int	cmd_room_list(struct ctx *, int, char **);
int	cmd_room_show(struct ctx *, int, char **);
int	cmd_room_members(struct ctx *, int, char **);
int	cmd_room_state(struct ctx *, int, char **);
int	cmd_room_delete(struct ctx *, int, char **);
int	cmd_room_block(struct ctx *, int, char **);

/* fed.c */
int	cmd_fed_request(struct ctx *, int, char **);
int	cmd_fed_keys(struct ctx *, int, char **);

int	cmd_as_list(struct ctx *, int, char **);
int	cmd_as_show(struct ctx *, int, char **);
int	cmd_as_check(struct ctx *, int, char **);
int	cmd_import_synapse(struct ctx *, int, char **);

#endif
