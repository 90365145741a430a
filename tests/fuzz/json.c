/*
 * libFuzzer harness: mjson_parse on any bytes, then canonical JSON of
 * what it accepts, which must parse again to the same canonical text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t	*v, *again;
	char	*c, *c2;
	size_t	 len, len2;

	if ((v = mjson_parse((const char *)data, size, 32)) == NULL)
		return 0;
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
