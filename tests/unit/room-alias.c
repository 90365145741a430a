/* mroom_alias_check and mroom_alias_new_check: the spec's alias and server name grammar. */
#include <string.h>

#include "testlib.h"
#include "room/room.h"

struct acase {
	const char	*alias;
	int		 valid;		/* mroom_alias_check */
	int		 creatable;	/* mroom_alias_new_check on "example.org" */
};

static const struct acase cases[] = {
	{ "#room:example.org",			1, 1 },
	{ "#\xe2\x98\x95:example.org",		1, 1 },	/* U+2615, as SyTest */
	{ "#a#b:example.org",			1, 1 },
	{ "#a:example.org:8448",		1, 0 },
	{ "#a:1.2.3.4",				1, 0 },
	{ "#a:[::1]",				1, 0 },
	{ "#a:[1234:5678::abcd]:99999",		1, 0 },
	{ "#a:-weird-.host.",			1, 0 },	/* dns-char allows it */
	{ "#a b:example.org",			1, 0 },	/* valid, not creatable */
	{ "#a\tb:example.org",			1, 0 },
	{ "#a\x7f:example.org",			1, 0 },
	{ "#a:other.org",			1, 0 },
	{ "#a:b:c",				0, 0 },	/* port must be digits */
	{ "",					0, 0 },
	{ "#",					0, 0 },
	{ "room:example.org",			0, 0 },
	{ "!room:example.org",			0, 0 },
	{ "#nocolon",				0, 0 },
	{ "#:example.org",			0, 0 },
	{ "#a:",				0, 0 },
	{ "#a:exa_mple.org",			0, 0 },
	{ "#a:example.org:",			0, 0 },
	{ "#a:example.org:123456",		0, 0 },
	{ "#a:example.org:8x",			0, 0 },
	{ "#a:[::1",				0, 0 },
	{ "#a:[:]",				0, 0 },	/* 2 to 45 IPv6 characters */
	{ "#a:[zz::]",				0, 0 },
	{ "#a:[::1]x",				0, 0 },
	{ "#x\xff:example.org",			0, 0 },	/* not UTF-8 */
	{ "#x\xc0\xaf:example.org",		0, 0 },	/* overlong */
	{ "#x\xed\xa0\x80:example.org",		0, 0 },	/* a surrogate */
};

/* An alias of exactly n bytes on server. */
static char *
sized(size_t n, const char *server)
{
	size_t	 tail = strlen(server) + 1, i;
	char	*s = malloc(n + 1);

	if (s == NULL || n < tail + 2)
		exit(1);
	s[0] = '#';
	for (i = 1; i < n - tail; i++)
		s[i] = 'x';
	s[i] = ':';
	memcpy(s + i + 1, server, tail);
	return s;
}

int
main(void)
{
	char	*s;
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (mroom_alias_check(cases[i].alias) != cases[i].valid)
			FAIL("mroom_alias_check(\"%s\") != %d", cases[i].alias, cases[i].valid);
		if (mroom_alias_new_check(cases[i].alias, "example.org") != cases[i].creatable)
			FAIL("mroom_alias_new_check(\"%s\") != %d", cases[i].alias,
			    cases[i].creatable);
	}
	CHECK(!mroom_alias_check(NULL));
	/* Spec: at most 255 bytes, the sigil and the domain included. */
	s = sized(255, "example.org");
	CHECK(mroom_alias_check(s) && mroom_alias_new_check(s, "example.org"));
	free(s);
	s = sized(256, "example.org");
	CHECK(!mroom_alias_check(s) && !mroom_alias_new_check(s, "example.org"));
	free(s);
	return failed;
}
