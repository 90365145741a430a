/* myelin-admin room commands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"
#include "config/config.h"
#include "extern.h"
#include "json/json.h"
#include "room/room.h"
#include "store/store.h"

/* A string member or "-" for tables. */
static const char *
str(const json_t *o, const char *key)
{
	const char *s = mjson_str(o, key);

	return s != NULL ? s : "-";
}

/* room list [--limit N] [--from N] [--search TEXT] [--order-by KEY] [--reverse] */
int
cmd_room_list(struct ctx *c, int argc, char **argv)
{
	struct madmin		 a;
	struct madmin_roomq	 q;
	enum madmin_rc		 e;
	json_t			*out, *room;
	size_t			 i;

	memset(&q, 0, sizeof(q));
	q.limit = 100;
	for (int k = 0; k < argc; k++) {
		if (strcmp(argv[k], "--limit") == 0 && k + 1 < argc &&
		    (q.limit = number(argv[++k])) > 0)
			continue;
		if (strcmp(argv[k], "--from") == 0 && k + 1 < argc &&
		    (q.from = number(argv[++k])) >= 0)
			continue;
		if (strcmp(argv[k], "--search") == 0 && k + 1 < argc && *argv[k + 1] != '\0') {
			q.search_term = argv[++k];
			continue;
		}
		if (strcmp(argv[k], "--order-by") == 0 && k + 1 < argc) {
			q.order_by = argv[++k];
			continue;
		}
		if (strcmp(argv[k], "--reverse") == 0) {
			q.backwards = 1;
			continue;
		}
		return EX_USAGE;
	}
	if (need_db(c) == -1)
		return EX_FAILED;
	admin_init(c, &a);
	if ((e = madmin_room_list(&a, &q, &out)) == MADMIN_INVALID) {
		admin_failed(&a, e);
		return EX_USAGE;
	}
	if (e != MADMIN_OK)
		return admin_failed(&a, e);
	if (c->json)
		return print_json(out);
	printf("%-44s %7s %5s %-4s %-24s %s\n", "ROOM", "MEMBERS", "LOCAL", "VER", "ALIAS",
	    "NAME");
	json_array_foreach(json_object_get(out, "rooms"), i, room)
		printf("%-44s %7lld %5lld %-4s %-24s %s\n", str(room, "room_id"),
		    (long long)json_integer_value(json_object_get(room, "joined_members")),
		    (long long)json_integer_value(json_object_get(room, "joined_local_members")),
		    str(room, "version"), str(room, "canonical_alias"), str(room, "name"));
	json_decref(out);
	return EX_DONE;
}

/* The room argc/argv name (exactly one), existing here: its ID, or NULL with *rc set. */
static char *
one_room(struct ctx *c, int argc, char **argv, int *rc)
{
	struct mroom	 r;
	char		*id;
	int		 found;

	*rc = EX_USAGE;
	if (argc != 1)
		return NULL;
	*rc = EX_FAILED;
	if (need_db(c) == -1 || (id = room_arg(c, argv[0])) == NULL)
		return NULL;
	if ((found = mstore_room_get(c->db, id, &r)) == 1) {
		mroom_fini(&r);
		return id;
	}
	if (found == 0)
		fprintf(stderr, "myelin-admin: no room %s\n", id);
	free(id);
	return NULL;
}

/* room show ROOM: the room as the admin API's room details show it. */
int
cmd_room_show(struct ctx *c, int argc, char **argv)
{
	struct madmin	 a;
	enum madmin_rc	 e;
	json_t		*out;
	char		*id;
	int		 rc, blocked;

	if ((id = one_room(c, argc, argv, &rc)) == NULL)
		return rc;
	admin_init(c, &a);
	e = madmin_room_get(&a, id, &out);
	blocked = e == MADMIN_OK ? mstore_room_blocked(c->db, id, NULL) : 0;
	free(id);
	if (e != MADMIN_OK)
		return admin_failed(&a, e);
	if (blocked == -1) {
		json_decref(out);
		return EX_FAILED;
	}
	json_object_set_new(out, "blocked", json_boolean(blocked));
	if (c->json)
		return print_json(out);
	print_fields(out);
	json_decref(out);
	return EX_DONE;
}

/* room members ROOM: the joined members, one a line. */
int
cmd_room_members(struct ctx *c, int argc, char **argv)
{
	json_t	*m, *v;
	char	*id;
	size_t	 i;
	int	 rc;

	if ((id = one_room(c, argc, argv, &rc)) == NULL)
		return rc;
	m = mstore_room_joined(c->db, id);
	free(id);
	if (m == NULL)
		return EX_FAILED;
	if (c->json)
		return print_json(json_pack("{s:o,s:I}", "members", m,
		    "total", (json_int_t)json_array_size(m)));
	json_array_foreach(m, i, v)
		puts(json_string_value(v));
	json_decref(m);
	return EX_DONE;
}

/* room state ROOM: the current state, as the client API shows events. */
int
cmd_room_state(struct ctx *c, int argc, char **argv)
{
	json_t		*all, *out, *ev, *ce;
	int64_t		 now = mclock_now_ms();
	char		*id;
	size_t		 i;
	int		 rc;

	if ((id = one_room(c, argc, argv, &rc)) == NULL)
		return rc;
	if ((all = mstore_admin_room_state(c->db, id, NULL)) == NULL || (out = json_array()) == NULL) {
		json_decref(all);
		free(id);
		return EX_FAILED;
	}
	if (!c->json)
		printf("%-28s %-40s %-32s %s\n", "TYPE", "STATE_KEY", "SENDER", "EVENT_ID");
	json_array_foreach(all, i, ev) {
		if ((ce = mroom_state_client_event(ev, id, now, NULL, NULL)) == NULL)
			continue;
		if (!c->json)
			printf("%-28s %-40s %-32s %s\n", str(ce, "type"), str(ce, "state_key"),
			    str(ce, "sender"), str(ce, "event_id"));
		json_array_append_new(out, ce);
	}
	json_decref(all);
	free(id);
	if (c->json)
		return print_json(json_pack("{s:o}", "state", out));
	json_decref(out);
	return EX_DONE;
}

/*
 * room delete ROOM [--purge] [--block] [--force]: every local member
 * leaves and the aliases go; --purge then removes the room's rows,
 * --block refuses joins from now on, --force purges even when some
 * member could not be made to leave.  A room this server does not know
 * can still be blocked.
 */
int
cmd_room_delete(struct ctx *c, int argc, char **argv)
{
	struct madmin		 a;
	struct madmin_delete	 o;
	enum madmin_rc		 e;
	json_t			*st, *sr;
	char			*id;
	int			 rc;

	memset(&o, 0, sizeof(o));
	o.may_be_unknown = 1;
	if (argc < 1 || argv[0][0] == '-')
		return EX_USAGE;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--purge") == 0)
			o.purge = 1;
		else if (strcmp(argv[i], "--block") == 0)
			o.block = 1;
		else if (strcmp(argv[i], "--force") == 0)
			o.force_purge = 1;
		else
			return EX_USAGE;
	}
	if (need_db(c) == -1 || (id = room_arg(c, argv[0])) == NULL)
		return EX_FAILED;
	if (need_key(c) == -1) {
		free(id);
		return EX_FAILED;
	}
	admin_init(c, &a);
	e = madmin_room_delete(&a, id, &o, &st);
	free(id);
	if (e != MADMIN_OK)
		return admin_failed(&a, e);
	rc = strcmp(mjson_str(st, "status"), "complete") == 0 ? EX_DONE : EX_FAILED;
	if (rc != EX_DONE)
		fprintf(stderr, "myelin-admin: %s\n", str(st, "error"));
	if (c->json) {
		if (print_json(st) != EX_DONE)
			rc = EX_FAILED;
		return rc;
	}
	sr = json_incref(json_object_get(st, "shutdown_room"));
	json_object_del(st, "shutdown_room");
	print_fields(st);
	print_fields(sr);
	json_decref(sr);
	json_decref(st);
	return rc;
}

/* room block ROOM on|off: any room ID, known here or not. */
int
cmd_room_block(struct ctx *c, int argc, char **argv)
{
	char	*id;
	int	 on, rc;

	if (argc != 2 || (on = on_off(argv[1])) == -1)
		return EX_USAGE;
	if (need_db(c) == -1 || (id = room_arg(c, argv[0])) == NULL)
		return EX_FAILED;
	rc = on ? mstore_room_block(c->db, id, NULL) : mstore_room_unblock(c->db, id);
	if (rc == -1)
		rc = EX_FAILED;
	else if (c->json)
		rc = print_json(json_pack("{s:s,s:b}", "room_id", id, "block", on));
	else {
		printf("%s %s\n", id, on ? "blocked" : "not blocked");
		rc = EX_DONE;
	}
	free(id);
	return rc;
}
