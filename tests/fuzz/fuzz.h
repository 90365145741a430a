/* What the libFuzzer harnesses of tests/fuzz share (not a harness itself). */
#ifndef MYELIN_FUZZ_H
#define MYELIN_FUZZ_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The input as a C string (malloc'd), or NULL when it holds a NUL byte. */
static inline char *
fuzz_str(const uint8_t *data, size_t size)
{
	char	*s;

	if (memchr(data, '\0', size) != NULL || (s = malloc(size + 1)) == NULL)
		return NULL;
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/*
 * The next field of *p (up to '\n' or the end), NUL-terminated in
 * place; NULL at the end.
 */
static inline char *
fuzz_field(char **p)
{
	char	*s = *p, *nl;

	if (s == NULL)
		return NULL;
	if ((nl = strchr(s, '\n')) != NULL) {
		*nl = '\0';
		*p = nl + 1;
	} else
		*p = NULL;
	return s;
}

/* A failed invariant: libFuzzer keeps the input that led here. */
#define FUZZ_ASSERT(c)	do { if (!(c)) abort(); } while (0)

#endif
