/* libFuzzer harness: the X-Matrix Authorization header parser on any text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fed/fed.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mfed_authz	 a;
	char			*s;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (mfed_xmatrix_parse(s, &a) == 0 &&
	    (memchr(a.origin, '\0', sizeof(a.origin)) == NULL ||
	    memchr(a.sig, '\0', sizeof(a.sig)) == NULL))
		abort();
	free(s);
	return 0;
}
