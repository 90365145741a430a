/* Shared internals of lib/push. */
#ifndef MYELIN_PUSH_EXTERN_H
#define MYELIN_PUSH_EXTERN_H

#include <jansson.h>

#include "push/push.h"

/* The string value of key in obj, or "" when absent or not a string. */
static inline const char *
push_str(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s != NULL ? s : "";
}

#endif
