/* Application service registration files (YAML, libyaml) and their namespaces. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <yaml.h>

#include "appsvc/appsvc.h"
#include "auth/auth.h"
#include "config/config.h"
#include "log/log.h"
#include "store/store.h"

static const char *const ns_names[MAPPSVC__NS] = { "users", "aliases", "rooms" };

/* A plain (unquoted) YAML scalar as YAML 1.1 core types read it. */
static json_t *
plain_scalar(const char *s, size_t len)
{
	char		*end;
	long long	 n;

	if (len == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
	    strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0)
		return json_null();
	if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0 ||
	    strcmp(s, "yes") == 0 || strcmp(s, "Yes") == 0 || strcmp(s, "on") == 0)
		return json_true();
	if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0 ||
	    strcmp(s, "no") == 0 || strcmp(s, "No") == 0 || strcmp(s, "off") == 0)
		return json_false();
	n = strtoll(s, &end, 10);
	if (*end == '\0' && end != s)
		return json_integer(n);
	return json_stringn(s, len);
}

/* The node of doc as JSON (new reference), or NULL; depth bounds aliases' loops. */
static json_t *
node_json(yaml_document_t *doc, yaml_node_t *node, int depth)
{
	json_t		*j = NULL, *v;
	yaml_node_item_t *it;
	yaml_node_pair_t *p;

	if (node == NULL || depth > 32)
		return NULL;
	switch (node->type) {
	case YAML_SCALAR_NODE:
		if (node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
			return plain_scalar((const char *)node->data.scalar.value,
			    node->data.scalar.length);
		return json_stringn((const char *)node->data.scalar.value,
		    node->data.scalar.length);
	case YAML_SEQUENCE_NODE:
		if ((j = json_array()) == NULL)
			return NULL;
		for (it = node->data.sequence.items.start; it < node->data.sequence.items.top; it++) {
			if ((v = node_json(doc, yaml_document_get_node(doc, *it), depth + 1)) == NULL) {
				json_decref(j);
				return NULL;
			}
			json_array_append_new(j, v);
		}
		return j;
	case YAML_MAPPING_NODE:
		if ((j = json_object()) == NULL)
			return NULL;
		for (p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(doc, p->key);

			if (k == NULL || k->type != YAML_SCALAR_NODE ||
			    (v = node_json(doc, yaml_document_get_node(doc, p->value), depth + 1)) == NULL) {
				json_decref(j);
				return NULL;
			}
			json_object_set_new(j, (const char *)k->data.scalar.value, v);
		}
		return j;
	default:
		return NULL;
	}
}

/* The first document of the YAML file path as JSON, or NULL with err set. */
static json_t *
yaml_file(const char *path, char *err, size_t errsz)
{
	yaml_parser_t	 parser;
	yaml_document_t	 doc;
	FILE		*f;
	json_t		*j = NULL;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (!yaml_parser_initialize(&parser)) {
		fclose(f);
		snprintf(err, errsz, "%s: out of memory", path);
		return NULL;
	}
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, errsz, "%s:%zu: not YAML: %s", path,
		    parser.problem_mark.line + 1, parser.problem != NULL ? parser.problem : "?");
		yaml_parser_delete(&parser);
		fclose(f);
		return NULL;
	}
	if ((j = node_json(&doc, yaml_document_get_root_node(&doc), 0)) == NULL)
		snprintf(err, errsz, "%s: empty or not a registration", path);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	fclose(f);
	return j;
}

/*
 * Compiles a namespace regex: Synapse matches with Python's re.match,
 * anchored at the start only; \d, common in bridges' files, is not in
 * POSIX ERE and becomes [0-9].  0 or -1.
 */
static int
regex_compile(struct mappsvc_regex *r, const char *src)
{
	char	*ere, *o;
	size_t	 len = strlen(src);

	if ((ere = malloc(len * 5 + 8)) == NULL)
		return -1;
	o = ere;
	*o++ = '^';
	*o++ = '(';
	for (const char *s = src; *s != '\0'; s++) {
		if (s[0] == '\\' && s[1] == 'd') {
			memcpy(o, "[0-9]", 5);
			o += 5;
			s++;
		} else if (s[0] == '\\' && s[1] != '\0') {
			*o++ = *s++;
			*o++ = *s;
		} else
			*o++ = *s;
	}
	*o++ = ')';
	*o = '\0';
	if (regcomp(&r->re, ere, REG_EXTENDED | REG_NOSUB) != 0) {
		free(ere);
		return -1;
	}
	free(ere);
	return (r->source = strdup(src)) == NULL ? -1 : 0;
}

/* A string member of j, required or not: 0, or -1 with err set. */
static int
str_member(const json_t *j, const char *key, int required, char **out, const char *path,
    char *err, size_t errsz)
{
	const json_t *v = json_object_get(j, key);

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (!required)
			return 0;
		snprintf(err, errsz, "%s: %s: required", path, key);
		return -1;
	}
	if (!json_is_string(v) || json_string_length(v) == 0) {
		snprintf(err, errsz, "%s: %s: expected a non-empty string", path, key);
		return -1;
	}
	if ((*out = strdup(json_string_value(v))) == NULL) {
		snprintf(err, errsz, "%s: out of memory", path);
		return -1;
	}
	return 0;
}

/* A boolean member: absent is 0; 0, or -1 with err set. */
static int
bool_member(const json_t *j, const char *key, int *out, const char *path, char *err,
    size_t errsz)
{
	const json_t *v = json_object_get(j, key);

	*out = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_boolean(v)) {
		snprintf(err, errsz, "%s: %s: expected true or false", path, key);
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

int
mappsvc_load(const char *path, const char *server_name, struct mappsvc *as, char *err,
    size_t errsz)
{
	json_t		*j, *nss, *list, *item;
	size_t		 i;
	int		 flag;

	memset(as, 0, sizeof(*as));
	if ((j = yaml_file(path, err, errsz)) == NULL)
		return -1;
	if (!json_is_object(j)) {
		snprintf(err, errsz, "%s: expected a mapping of keys", path);
		goto bad;
	}
	if ((as->file = strdup(path)) == NULL ||
	    str_member(j, "id", 1, &as->id, path, err, errsz) == -1 ||
	    str_member(j, "url", 0, &as->url, path, err, errsz) == -1 ||
	    str_member(j, "as_token", 1, &as->as_token, path, err, errsz) == -1 ||
	    str_member(j, "hs_token", 1, &as->hs_token, path, err, errsz) == -1 ||
	    str_member(j, "sender_localpart", 1, &as->sender_localpart, path, err, errsz) == -1)
		goto bad;
	if (as->url != NULL && strncmp(as->url, "http://", 7) != 0 &&
	    strncmp(as->url, "https://", 8) != 0) {
		snprintf(err, errsz, "%s: url: expected an http:// or https:// URL, or null", path);
		goto bad;
	}
	if (strcmp(as->as_token, as->hs_token) == 0) {
		snprintf(err, errsz, "%s: as_token and hs_token must differ", path);
		goto bad;
	}
	if (!mauth_localpart_check(as->sender_localpart, server_name) ||
	    asprintf(&as->sender, "@%s:%s", as->sender_localpart, server_name) == -1) {
		as->sender = NULL;
		snprintf(err, errsz, "%s: sender_localpart: not a valid localpart", path);
		goto bad;
	}
	if (json_object_get(j, "rate_limited") == NULL)
		as->rate_limited = 1;
	else if (bool_member(j, "rate_limited", &as->rate_limited, path, err, errsz) == -1)
		goto bad;
	if (bool_member(j, "receive_ephemeral", &as->receive_ephemeral, path, err, errsz) == -1 ||
	    bool_member(j, "de.sorunome.msc2409.push_ephemeral", &flag, path, err, errsz) == -1)
		goto bad;
	as->receive_ephemeral |= flag;
	if ((list = json_object_get(j, "protocols")) != NULL && !json_is_null(list)) {
		if (!json_is_array(list)) {
			snprintf(err, errsz, "%s: protocols: expected a list of strings", path);
			goto bad;
		}
		if ((as->protocols = calloc(json_array_size(list) + 1, sizeof(char *))) == NULL)
			goto oom;
		json_array_foreach(list, i, item) {
			if (!json_is_string(item)) {
				snprintf(err, errsz, "%s: protocols: expected a list of strings", path);
				goto bad;
			}
			if ((as->protocols[as->protocolsz++] = strdup(json_string_value(item))) == NULL)
				goto oom;
		}
	}
	nss = json_object_get(j, "namespaces");
	if (nss != NULL && !json_is_null(nss) && !json_is_object(nss)) {
		snprintf(err, errsz, "%s: namespaces: expected a mapping", path);
		goto bad;
	}
	for (int n = 0; n < MAPPSVC__NS; n++) {
		if ((list = json_object_get(nss, ns_names[n])) == NULL || json_is_null(list))
			continue;
		if (!json_is_array(list)) {
			snprintf(err, errsz, "%s: namespaces.%s: expected a list", path, ns_names[n]);
			goto bad;
		}
		if (json_array_size(list) == 0)
			continue;
		if ((as->ns[n] = calloc(json_array_size(list), sizeof(*as->ns[n]))) == NULL)
			goto oom;
		json_array_foreach(list, i, item) {
			const char	*re = json_string_value(json_object_get(item, "regex"));
			json_t		*ex = json_object_get(item, "exclusive");

			if (!json_is_object(item) || re == NULL) {
				snprintf(err, errsz, "%s: namespaces.%s[%zu].regex: expected a string",
				    path, ns_names[n], i);
				goto bad;
			}
			if (ex != NULL && !json_is_boolean(ex)) {
				snprintf(err, errsz, "%s: namespaces.%s[%zu].exclusive: expected"
				    " true or false", path, ns_names[n], i);
				goto bad;
			}
			if (regex_compile(&as->ns[n][i], re) == -1) {
				snprintf(err, errsz, "%s: namespaces.%s[%zu].regex: not a regular"
				    " expression myelin reads (POSIX ERE): %s", path, ns_names[n], i, re);
				goto bad;
			}
			as->ns[n][i].exclusive = json_is_true(ex);
			as->nssz[n]++;
		}
	}
	json_decref(j);
	return 0;
oom:
	snprintf(err, errsz, "%s: out of memory", path);
bad:
	json_decref(j);
	mappsvc_fini(as);
	return -1;
}

void
mappsvc_fini(struct mappsvc *as)
{
	if (as == NULL)
		return;
	free(as->file);
	free(as->id);
	free(as->url);
	if (as->as_token != NULL)
		sodium_memzero(as->as_token, strlen(as->as_token));
	if (as->hs_token != NULL)
		sodium_memzero(as->hs_token, strlen(as->hs_token));
	free(as->as_token);
	free(as->hs_token);
	free(as->sender_localpart);
	free(as->sender);
	for (int n = 0; n < MAPPSVC__NS; n++) {
		for (size_t i = 0; i < as->nssz[n]; i++) {
			regfree(&as->ns[n][i].re);
			free(as->ns[n][i].source);
		}
		free(as->ns[n]);
	}
	for (size_t i = 0; i < as->protocolsz; i++)
		free(as->protocols[i]);
	free(as->protocols);
	memset(as, 0, sizeof(*as));
}

const struct mappsvc *
mappsvc_by_token(const struct mconfig *c, const char *token)
{
	size_t	 tl = strlen(token);

	for (size_t i = 0; i < c->appservicesz; i++) {
		const struct mappsvc *as = &c->appservices[i];

		if (strlen(as->as_token) == tl && sodium_memcmp(as->as_token, token, tl) == 0)
			return as;
	}
	return NULL;
}

const struct mappsvc *
mappsvc_by_id(const struct mconfig *c, const char *id)
{
	for (size_t i = 0; i < c->appservicesz; i++)
		if (strcmp(c->appservices[i].id, id) == 0)
			return &c->appservices[i];
	return NULL;
}

int
mappsvc_match(const struct mappsvc *as, enum mappsvc_ns ns, const char *s, int exclusive)
{
	if (s == NULL)
		return 0;
	for (size_t i = 0; i < as->nssz[ns]; i++)
		if ((!exclusive || as->ns[ns][i].exclusive) &&
		    regexec(&as->ns[ns][i].re, s, 0, NULL, 0) == 0)
			return 1;
	return 0;
}

int
mappsvc_user_ok(const struct mappsvc *as, const char *user_id)
{
	return user_id != NULL && (strcmp(as->sender, user_id) == 0 ||
	    mappsvc_match(as, MAPPSVC_USERS, user_id, 0));
}

const struct mappsvc *
mappsvc_exclusive(const struct mconfig *c, enum mappsvc_ns ns, const char *s,
    const struct mappsvc *except)
{
	for (size_t i = 0; i < c->appservicesz; i++)
		if (&c->appservices[i] != except && mappsvc_match(&c->appservices[i], ns, s, 1))
			return &c->appservices[i];
	return NULL;
}

int
mappsvc_has_protocol(const struct mappsvc *as, const char *protocol)
{
	for (size_t i = 0; i < as->protocolsz; i++)
		if (strcmp(as->protocols[i], protocol) == 0)
			return 1;
	return 0;
}

int
mappsvc_senders_ensure(struct mdb *db, const struct mconfig *c)
{
	for (size_t i = 0; i < c->appservicesz; i++) {
		/* Another process may have made it meanwhile: then it exists. */
		int rc = mstore_user_add(db, c->appservices[i].sender, NULL, NULL, 0, 0, NULL);

		if (rc != 0 && rc != MSTORE_CONFLICT) {
			mlog_err(NULL, "%s: cannot create %s", __func__, c->appservices[i].sender);
			return -1;
		}
	}
	return 0;
}
