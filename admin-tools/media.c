/* myelin-admin media: list, show, quarantine, delete and purge local media. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "extern.h"
#include "config/config.h"
#include "media/media.h"
#include "store/store.h"

/* The media ID of ARG: "mxc://SERVER/ID" of this server, or a bare ID.  NULL after a message. */
static const char *
media_arg(struct ctx *c, const char *arg)
{
	const char	*id = arg;
	size_t		 n;

	if (strncmp(arg, "mxc://", 6) == 0) {
		n = strlen(c->conf->server_name);
		if (strncmp(arg + 6, c->conf->server_name, n) != 0 || arg[6 + n] != '/') {
			fprintf(stderr, "myelin-admin: %s: not media of %s\n", arg,
			    c->conf->server_name);
			return NULL;
		}
		id = arg + 7 + n;
	}
	if (!mmedia_id_check(id)) {
		fprintf(stderr, "myelin-admin: %s: not a media ID\n", arg);
		return NULL;
	}
	return id;
}

static json_t *
media_json(const struct mmedia *m)
{
	return json_pack("{s:s,s:s,s:s?,s:s?,s:I,s:s?,s:I,s:I,s:b,s:b}",
	    "media_id", m->media_id, "user_id", m->user_id, "content_type", m->content_type,
	    "upload_name", m->upload_name, "size", (json_int_t)m->size, "sha256", m->sha256,
	    "created_ts", (json_int_t)m->created_ts,
	    "last_access_ts", (json_int_t)m->last_access_ts,
	    "quarantined", m->quarantined, "authenticated", m->authenticated);
}

int
cmd_media_list(struct ctx *c, int argc, char **argv)
{
	struct mmedia	*v = NULL;
	const char	*from = "";
	char		*user = NULL, *cursor = NULL;
	int64_t		 limit = 100;
	size_t		 n = 0;
	json_t		*arr;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc &&
		    (limit = number(argv[++i])) > 0)
			continue;
		if (strcmp(argv[i], "--from") == 0 && i + 1 < argc) {
			from = argv[++i];
			continue;
		}
		if (strcmp(argv[i], "--user") == 0 && i + 1 < argc && user == NULL) {
			if (need_db(c) == -1 || (user = user_arg(c, argv[++i])) == NULL)
				return EX_FAILED;
			continue;
		}
		free(user);
		return EX_USAGE;
	}
	if (need_db(c) == -1) {
		free(user);
		return EX_FAILED;
	}
	arr = json_array();
	if (!c->json)
		printf("%-24s %-32s %10s %-24s %s\n", "MEDIA", "USER", "SIZE", "TYPE", "FLAGS");
	/* With --user, the whole table is walked in pages and filtered. */
	for (int64_t shown = 0; shown < limit;) {
		if (mstore_media_list(c->db, from, 0, 0, limit, &v, &n) == -1) {
			free(user);
			free(cursor);
			json_decref(arr);
			return EX_FAILED;
		}
		if (n == 0)
			break;
		for (size_t i = 0; i < n && shown < limit; i++) {
			if (user != NULL && strcmp(v[i].user_id, user) != 0)
				continue;
			shown++;
			if (c->json)
				json_array_append_new(arr, media_json(&v[i]));
			else
				printf("%-24s %-32s %10lld %-24s %s%s\n", v[i].media_id,
				    v[i].user_id, (long long)v[i].size,
				    v[i].content_type != NULL ? v[i].content_type : "-",
				    v[i].quarantined ? "quarantined " : "",
				    v[i].size < 0 ? "pending" : "");
		}
		/* The last ID of the page: v is freed below, from outlives it. */
		free(cursor);
		from = cursor = v[n - 1].media_id;
		v[n - 1].media_id = NULL;
		for (size_t i = 0; i < n; i++)
			mmedia_fini(&v[i]);
		free(v);
		v = NULL;
		if (user == NULL)
			break;
	}
	free(user);
	free(cursor);
	if (c->json)
		return print_json(arr);
	json_decref(arr);
	return EX_DONE;
}

int
cmd_media_show(struct ctx *c, int argc, char **argv)
{
	struct mmedia	 m;
	const char	*id;
	json_t		*obj;
	int		 rc;

	if (argc != 1)
		return EX_USAGE;
	if (need_db(c) == -1 || (id = media_arg(c, argv[0])) == NULL)
		return EX_FAILED;
	if ((rc = mstore_media_get(c->db, id, &m)) != 1) {
		if (rc == 0)
			fprintf(stderr, "myelin-admin: no media %s\n", id);
		return EX_FAILED;
	}
	obj = media_json(&m);
	mmedia_fini(&m);
	if (c->json)
		return print_json(obj);
	print_fields(obj);
	json_decref(obj);
	return EX_DONE;
}

static int
quarantine(struct ctx *c, int argc, char **argv, int on)
{
	struct madmin	 a;
	const char	*id;
	enum madmin_rc	 rc;

	if (argc != 1)
		return EX_USAGE;
	/* mxc://OTHER/ID: the copy of another server's media cached here. */
	if (strncmp(argv[0], "mxc://", 6) == 0 && c->conf != NULL &&
	    (strncmp(argv[0] + 6, c->conf->server_name, strlen(c->conf->server_name)) != 0 ||
	    argv[0][6 + strlen(c->conf->server_name)] != '/')) {
		char	*origin = strdup(argv[0] + 6), *slash;

		if (origin == NULL || (slash = strchr(origin, '/')) == NULL) {
			free(origin);
			fprintf(stderr, "myelin-admin: %s: not an mxc URI\n", argv[0]);
			return EX_FAILED;
		}
		*slash = '\0';
		if (need_db(c) == -1) {
			free(origin);
			return EX_FAILED;
		}
		admin_init(c, &a);
		rc = madmin_media_quarantine_remote(&a, origin, slash + 1, on);
		free(origin);
		if (rc != MADMIN_OK)
			return admin_failed(&a, rc);
		if (c->json)
			return print_json(json_pack("{s:s,s:b}", "media_id", argv[0] + 6,
			    "quarantined", on));
		printf("%s %s\n", argv[0] + 6, on ? "quarantined" : "not quarantined");
		return EX_DONE;
	}
	if (need_db(c) == -1 || (id = media_arg(c, argv[0])) == NULL)
		return EX_FAILED;
	admin_init(c, &a);
	if ((rc = madmin_media_quarantine(&a, id, on)) != MADMIN_OK)
		return admin_failed(&a, rc);
	if (c->json)
		return print_json(json_pack("{s:s,s:b}", "media_id", id, "quarantined", on));
	printf("%s %s\n", id, on ? "quarantined" : "not quarantined");
	return EX_DONE;
}

int
cmd_media_quarantine(struct ctx *c, int argc, char **argv)
{
	return quarantine(c, argc, argv, 1);
}

int
cmd_media_unquarantine(struct ctx *c, int argc, char **argv)
{
	return quarantine(c, argc, argv, 0);
}

int
cmd_media_delete(struct ctx *c, int argc, char **argv)
{
	struct madmin	 a;
	const char	*id;
	enum madmin_rc	 rc;

	if (argc != 1)
		return EX_USAGE;
	if (need_db(c) == -1 || (id = media_arg(c, argv[0])) == NULL)
		return EX_FAILED;
	admin_init(c, &a);
	if ((rc = madmin_media_delete(&a, id)) != MADMIN_OK)
		return admin_failed(&a, rc);
	if (c->json)
		return print_json(json_pack("{s:[s],s:i}", "deleted_media", id, "total", 1));
	printf("%s deleted\n", id);
	return EX_DONE;
}

/*
 * DATE: YYYY-MM-DD (midnight UTC) or milliseconds since the epoch.
 * Returns the milliseconds, or -1.
 */
static int64_t
date_ms(const char *s)
{
	struct tm	 tm;
	const char	*end;
	int64_t		 n;

	if ((n = number(s)) >= 0)
		return n;
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%d", &tm)) == NULL || *end != '\0')
		return -1;
	return (int64_t)timegm(&tm) * 1000;
}

/* Progress on stderr, so that --json output stays one line. */
static void
purge_progress(void *arg, size_t done)
{
	(void)arg;
	fprintf(stderr, "myelin-admin: %zu media deleted so far\n", done);
}

int
cmd_media_purge(struct ctx *c, int argc, char **argv)
{
	struct madmin	 a;
	json_t		*deleted;
	int64_t		 before = -1, min_size = 0;
	enum madmin_rc	 rc;
	int		 quiet = 0, local_only = 0, remote_only = 0;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--before") == 0 && i + 1 < argc &&
		    (before = date_ms(argv[++i])) >= 0)
			continue;
		if (strcmp(argv[i], "--min-size") == 0 && i + 1 < argc &&
		    (min_size = number(argv[++i])) >= 0)
			continue;
		if (strcmp(argv[i], "--quiet") == 0) {
			quiet = 1;
			continue;
		}
		if (strcmp(argv[i], "--local") == 0) {
			local_only = 1;
			continue;
		}
		if (strcmp(argv[i], "--remote") == 0) {
			remote_only = 1;
			continue;
		}
		return EX_USAGE;
	}
	if (before < 0)
		return EX_USAGE;
	if (need_db(c) == -1 || (deleted = json_array()) == NULL)
		return EX_FAILED;
	admin_init(c, &a);
	if ((!remote_only && (rc = madmin_media_purge(&a, before > 0 ? before : 1, min_size,
	    NULL, deleted, quiet ? NULL : purge_progress, NULL)) != MADMIN_OK) ||
	    (!local_only && (rc = madmin_media_purge_remote(&a, before > 0 ? before : 1, deleted,
	    quiet ? NULL : purge_progress, NULL)) != MADMIN_OK)) {
		json_decref(deleted);
		return admin_failed(&a, rc);
	}
	if (c->json)
		return print_json(json_pack("{s:I,s:o}", "total",
		    (json_int_t)json_array_size(deleted), "deleted_media", deleted));
	printf("%zu media deleted\n", json_array_size(deleted));
	json_decref(deleted);
	return EX_DONE;
}
