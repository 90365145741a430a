/* myelin-admin appservice: the registrations the config names, and a check of one file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appsvc/appsvc.h"
#include "config/config.h"
#include "extern.h"
#include "store/store.h"

static const char *const ns_names[MAPPSVC__NS] = { "users", "aliases", "rooms" };

/* What an admin sees of a registration: never its tokens.  text: namespaces as strings. */
static json_t *
as_json_of(const struct mappsvc *as, int full, int text)
{
	json_t *o = json_pack("{s:s,s:s?,s:s,s:b,s:b}", "id", as->id, "url", as->url,
	    "sender", as->sender, "rate_limited", as->rate_limited, "receive_ephemeral",
	    as->receive_ephemeral);

	if (o == NULL || !full)
		return o;
	json_object_set_new(o, "file", json_string(as->file));
	for (int n = 0; n < MAPPSVC__NS; n++) {
		json_t *l = json_array();

		for (size_t i = 0; i < as->nssz[n]; i++) {
			char *t = NULL;

			if (!text)
				json_array_append_new(l, json_pack("{s:s,s:b}", "regex",
				    as->ns[n][i].source, "exclusive", as->ns[n][i].exclusive));
			else if (asprintf(&t, "%s%s", as->ns[n][i].source,
			    as->ns[n][i].exclusive ? "(exclusive)" : "") != -1) {
				json_array_append_new(l, json_string(t));
				free(t);
			}
		}
		json_object_set_new(o, ns_names[n], l);
	}
	{
		json_t *p = json_array();

		for (size_t i = 0; i < as->protocolsz; i++)
			json_array_append_new(p, json_string(as->protocols[i]));
		json_object_set_new(o, "protocols", p);
	}
	return o;
}

static json_t *
as_json(const struct mappsvc *as, int full)
{
	return as_json_of(as, full, 0);
}

int
cmd_as_list(struct ctx *c, int argc, char **argv)
{
	json_t	*l;
	int64_t	 waiting = -1;

	(void)argv;
	if (argc != 0)
		return EX_USAGE;
	if ((l = json_array()) == NULL)
		return EX_FAILED;
	for (size_t i = 0; i < c->conf->appservicesz; i++)
		json_array_append_new(l, as_json(&c->conf->appservices[i], 0));
	if (c->json)
		return print_json(json_pack("{s:o}", "appservices", l));
	for (size_t i = 0; i < json_array_size(l); i++) {
		const json_t *a = json_array_get(l, i);

		printf("%-24s %-32s %s\n", json_string_value(json_object_get(a, "id")),
		    json_string_value(json_object_get(a, "sender")),
		    json_is_string(json_object_get(a, "url")) ?
		    json_string_value(json_object_get(a, "url")) : "-");
	}
	json_decref(l);
	if (c->conf->appservicesz > 0 && need_db(c) == 0)
		waiting = mstore_outbox_count(c->db, MAPPSVC_OUTBOX);
	if (waiting >= 0)
		printf("%lld events waiting\n", (long long)waiting);
	return EX_DONE;
}

int
cmd_as_show(struct ctx *c, int argc, char **argv)
{
	const struct mappsvc *as;

	if (argc != 1)
		return EX_USAGE;
	if ((as = mappsvc_by_id(c->conf, argv[0])) == NULL) {
		fprintf(stderr, "myelin-admin: no application service %s\n", argv[0]);
		return EX_FAILED;
	}
	if (c->json)
		return print_json(as_json(as, 1));
	{
		json_t *o = as_json_of(as, 1, 1);

		print_fields(o);
		json_decref(o);
	}
	return EX_DONE;
}

/*
 * Whether as, read from path, shares an ID, an as_token or a sender with
 * a service of conf other than the file itself: -1 after saying so on
 * stderr, or 0.
 */
static int
clashes(const struct mconfig *conf, const char *path, const struct mappsvc *as)
{
	char	*real = realpath(path, NULL), *other;
	int	 same, rc = 0;

	for (size_t i = 0; i < conf->appservicesz && rc == 0; i++) {
		const struct mappsvc *o = &conf->appservices[i];

		other = realpath(o->file, NULL);
		same = real != NULL && other != NULL && strcmp(real, other) == 0;
		free(other);
		if (same)
			continue;
		if (strcmp(o->id, as->id) == 0 || strcmp(o->as_token, as->as_token) == 0 ||
		    strcmp(o->sender, as->sender) == 0) {
			fprintf(stderr, "myelin-admin: %s: shares an id, an as_token or a"
			    " sender_localpart with %s\n", path, o->file);
			rc = -1;
		}
	}
	free(real);
	return rc;
}

/* appservice check FILE: a file not (yet) in the config, read as the stack would. */
int
cmd_as_check(struct ctx *c, int argc, char **argv)
{
	struct mappsvc	 as;
	char		 err[512];

	if (argc != 1)
		return EX_USAGE;
	if (mappsvc_load(argv[0], c->conf->server_name, &as, err, sizeof(err)) == -1) {
		fprintf(stderr, "myelin-admin: %s\n", err);
		return EX_FAILED;
	}
	/*
	 * As the start would refuse it beside the services configured: the
	 * same file named already (by its real path) is itself, not a clash.
	 */
	if (clashes(c->conf, argv[0], &as) == -1) {
		mappsvc_fini(&as);
		return EX_FAILED;
	}
	if (c->json) {
		int rc = print_json(as_json(&as, 1));

		mappsvc_fini(&as);
		return rc;
	}
	printf("%s: application service %s OK\n", argv[0], as.id);
	mappsvc_fini(&as);
	return EX_DONE;
}
