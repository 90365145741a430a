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

/*
 * The spec's grammar (appendices, "Server Name", "User Identifiers"),
 * written again from its text: server_name = hostname [ ":" port ],
 * hostname = IPv4address / "[" IPv6address "]" / dns-name, dns-name =
 * 1*255 of [0-9A-Za-z.-] (an IPv4 address is one too), IPv6address =
 * 2*45 of [0-9A-Fa-f:.], port = 1*5DIGIT.  A user ID is "@", a
 * historical localpart (1 or more of %x21-39 / %x3B-7E), ":", a server
 * name, at most 255 bytes in all.
 */
static int
ref_server_name(const char *s)
{
	size_t	 n;

	if (*s == '[') {
		n = strspn(s + 1, "0123456789ABCDEFabcdef:.");
		if (n < 2 || n > 45 || s[1 + n] != ']')
			return 0;
		s += n + 2;
	} else {
		n = strspn(s, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.-");
		if (n < 1 || n > 255)
			return 0;
		s += n;
	}
	if (*s == '\0')
		return 1;
	if (*s++ != ':')
		return 0;
	n = strspn(s, "0123456789");
	return n >= 1 && n <= 5 && s[n] == '\0';
}

static int
ref_user_id(const char *s)
{
	const char	*p;

	if (s[0] != '@' || strlen(s) > 255)
		return 0;
	for (p = s + 1; *p != ':' && *p != '\0'; p++)
		if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
			return 0;
	return *p == ':' && p > s + 1 && ref_server_name(p + 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mfed_name	 n;
	char			*s, *colon, *id;
	int			 ok;

	if ((s = fuzz_str(data, size)) == NULL)
		return 0;
	/* The user ID grammar, checked against the spec's text written again. */
	FUZZ_ASSERT(mroom_user_id_check(s) == ref_user_id(s));
	/* What lib/fed takes as a server name the grammar takes as one. */
	if (mfed_name_parse(s, &n) == 0)
		FUZZ_ASSERT(ref_server_name(s));
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
