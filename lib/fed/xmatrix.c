/* X-Matrix request authentication (S-S API, "Request Authentication"). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "fed/fed.h"

/* The object a request's signature covers. NULL without memory. */
static json_t *
request_json(const char *origin, const char *destination, const char *method,
    const char *uri, const json_t *content)
{
	json_t	*o;

	if ((o = json_pack("{s:s,s:s,s:s,s:s}", "method", method, "uri", uri,
	    "origin", origin, "destination", destination)) == NULL)
		return NULL;
	if (content != NULL && json_object_set(o, "content", (json_t *)(uintptr_t)content) == -1) {
		json_decref(o);
		return NULL;
	}
	return o;
}

char *
mfed_xmatrix_sign(const struct mkey *key, const char *origin, const char *destination,
    const char *method, const char *uri, const json_t *content)
{
	json_t		*o;
	const char	*sig;
	char		*out = NULL;

	if ((o = request_json(origin, destination, method, uri, content)) == NULL)
		return NULL;
	if (mcrypto_sign_json(o, origin, key) == 0 &&
	    (sig = json_string_value(json_object_get(json_object_get(json_object_get(o,
	    "signatures"), origin), key->id))) != NULL &&
	    asprintf(&out, "X-Matrix origin=\"%s\",destination=\"%s\",key=\"%s\",sig=\"%s\"",
	    origin, destination, key->id, sig) == -1)
		out = NULL;
	json_decref(o);
	return out;
}

/*
 * Reads one param of the list at *p (name=value or name="value", the
 * quoted form with backslash escapes) into name and value, and moves
 * *p past it and its comma.  1, 0 at the end, -1 when malformed.
 */
static int
param_next(const char **p, char *name, size_t namesz, char *value, size_t valuesz)
{
	const char	*s = *p;
	size_t		 n = 0, v = 0;

	while (*s == ' ' || *s == '\t' || *s == ',')
		s++;
	if (*s == '\0') {
		*p = s;
		return 0;
	}
	while (*s != '=' && *s != '\0' && *s != ',') {
		if (n + 1 >= namesz)
			return -1;
		name[n++] = (char)tolower((unsigned char)*s++);
	}
	name[n] = '\0';
	if (*s++ != '=' || n == 0)
		return -1;
	if (*s == '"') {
		for (s++; *s != '"'; s++) {
			if (*s == '\0')
				return -1;
			if (*s == '\\' && s[1] != '\0')
				s++;
			if (v + 1 >= valuesz)
				return -1;
			value[v++] = *s;
		}
		s++;
	} else
		while (*s != ',' && *s != '\0' && *s != ' ' && *s != '\t') {
			if (v + 1 >= valuesz)
				return -1;
			value[v++] = *s++;
		}
	value[v] = '\0';
	*p = s;
	return 1;
}

int
mfed_xmatrix_parse(const char *h, struct mfed_authz *out)
{
	char	 name[32], value[512];
	int	 rc;

	memset(out, 0, sizeof(*out));
	if (h == NULL || strncasecmp(h, "X-Matrix", 8) != 0 || (h[8] != ' ' && h[8] != '\t'))
		return -1;
	h += 9;
	while ((rc = param_next(&h, name, sizeof(name), value, sizeof(value))) == 1) {
		char	*dst = NULL;
		size_t	 dstsz = 0;

		if (strcmp(name, "origin") == 0) {
			dst = out->origin;
			dstsz = sizeof(out->origin);
		} else if (strcmp(name, "destination") == 0) {
			dst = out->destination;
			dstsz = sizeof(out->destination);
		} else if (strcmp(name, "key") == 0) {
			dst = out->key_id;
			dstsz = sizeof(out->key_id);
		} else if (strcmp(name, "sig") == 0) {
			dst = out->sig;
			dstsz = sizeof(out->sig);
		}
		if (dst == NULL)
			continue;	/* Spec: unknown params are ignored. */
		if (strlen(value) >= dstsz)
			return -1;
		memcpy(dst, value, strlen(value) + 1);
	}
	if (rc == -1 || out->origin[0] == '\0' || out->key_id[0] == '\0' || out->sig[0] == '\0')
		return -1;
	return 0;
}

int
mfed_xmatrix_verify(const struct mfed_authz *a, const char *us, const char *method,
    const char *uri, const json_t *content, const unsigned char pk[32])
{
	json_t	*o;
	int	 rc = -1;

	if ((o = request_json(a->origin, us, method, uri, content)) == NULL)
		return -1;
	if (json_object_set_new(o, "signatures", json_pack("{s:{s:s}}", a->origin,
	    a->key_id, a->sig)) == 0)
		rc = mcrypto_verify_json_lax(o, a->origin, a->key_id, pk);
	json_decref(o);
	return rc;
}
