/* libFuzzer harness: the server-name grammar (mfed_name_parse) on any text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fed/fed.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mfed_name	 n;
	char			*s;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (mfed_name_parse(s, &n) == 0 && (strlen(n.host) == 0 || n.port < 0 || n.port > 65535))
		abort();
	free(s);
	return 0;
}
