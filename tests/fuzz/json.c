/*
 * libFuzzer harness: mjson_parse on any bytes, then canonical JSON of
 * what it accepts, which must parse again to the same canonical text;
 * mjson_dump of it, which must read back as the same value; and the member
 * scanner over the raw bytes (it must stay inside them) and over the
 * dump of an object (it must find each member's value as written).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Scans text[0..len) to its end; with want (an object), each value must parse to want's. */
static void
scan(const char *text, size_t len, const json_t *want)
{
	struct mjson_scan	 sc;
	const char		*k, *v;
	size_t			 kl, vl, n = 0;
	int			 r;

	if (mjson_scan_init(&sc, text, len) == -1) {
		if (want != NULL)
			abort();
		return;
	}
	while ((r = mjson_scan_next(&sc, &k, &kl, &v, &vl)) == 1) {
		if (k < text || k + kl > text + len || v < text || v + vl > text + len)
			abort();
		if (want != NULL) {
			json_t	*got = json_loadb(v, vl, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
			char	*key = strndup(k, kl);

			/* A key written with an escape is looked up as written: skipped. */
			if (key != NULL && memchr(key, '\\', kl) == NULL &&
			    (got == NULL || !json_equal(got, json_object_get(want, key))))
				abort();
			free(key);
			json_decref(got);
		}
		n++;
	}
	if (want != NULL && (r != 0 || n != json_object_size(want)))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t	*v, *again;
	char	*c, *c2;
	size_t	 len, len2;

	scan((const char *)data, size, NULL);
	if ((v = mjson_parse((const char *)data, size, 32)) == NULL)
		return 0;
	/* The same value back (jansson writes \u00XX escapes in capitals, mjson_dump not). */
	if ((c = mjson_dump(v, &len)) != NULL) {
		if ((again = json_loadb(c, len, JSON_DECODE_ANY, NULL)) == NULL ||
		    !json_equal(again, v))
			abort();
		json_decref(again);
		if (json_is_object(v))
			scan(c, len, v);
		free(c);
	}
	if ((c = mjson_canonical(v, &len)) != NULL) {
		if ((again = mjson_parse(c, len, 64)) == NULL)
			abort();
		if ((c2 = mjson_canonical(again, &len2)) == NULL || len2 != len ||
		    memcmp(c, c2, len) != 0)
			abort();
		free(c2);
		json_decref(again);
		free(c);
	}
	json_decref(v);
	return 0;
}
