/*
 * libFuzzer harness: the identifier grammars (spec: appendices,
 * "Identifier Grammar") on any text: user IDs, localparts, room
 * aliases, identity server names and client secrets, media IDs and
 * origins, presence states.  What one check accepts, the checks it
 * implies must accept too.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "fed/fed.h"
#include "ident/ident.h"
#include "media/media.h"
#include "room/room.h"
#include "store/ephemeral.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mfed_name	 n;
	char			*s, *colon, *id;
	int			 ok;

	if ((s = fuzz_str(data, size)) == NULL)
		return 0;
	if (mroom_user_id_check(s)) {
		FUZZ_ASSERT(s[0] == '@' && strlen(s) <= 255);
		FUZZ_ASSERT((colon = strchr(s, ':')) != NULL && colon > s + 1);
		/* The server part is a server name by lib/fed's grammar too. */
		FUZZ_ASSERT(mfed_name_parse(colon + 1, &n) == 0);
	}
	/* A localpart fit for registration makes a user ID. */
	if (mauth_localpart_check(s, "example.org")) {
		FUZZ_ASSERT(asprintf(&id, "@%s:example.org", s) != -1);
		FUZZ_ASSERT(mroom_user_id_check(id));
		free(id);
	}
	if (mroom_alias_new_check(s, "example.org"))
		FUZZ_ASSERT(mroom_alias_check(s));
	if (mroom_alias_check(s)) {
		FUZZ_ASSERT(s[0] == '#' && strlen(s) <= 255);
		FUZZ_ASSERT((colon = strchr(s, ':')) != NULL && colon > s + 1);
	}
	if (mident_server_check(s))
		FUZZ_ASSERT(mfed_name_parse(s, &n) == 0);
	if (mident_secret_check(s))
		FUZZ_ASSERT(strlen(s) >= 1 && strlen(s) <= 255);
	/* Media IDs and origins name files: never a path of their own. */
	if (mmedia_id_check(s))
		FUZZ_ASSERT(strchr(s, '/') == NULL && strcmp(s, "..") != 0 && *s != '\0');
	if ((ok = mmedia_origin_check(s)))
		FUZZ_ASSERT(strchr(s, '/') == NULL && strcmp(s, "..") != 0 && strcmp(s, ".") != 0);
	(void)mpresence_valid(s);
	free(s);
	return 0;
}
