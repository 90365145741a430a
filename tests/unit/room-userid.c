/* mroom_user_id_check against the spec's grammar of user IDs and server names. */
#include "testlib.h"
#include "room/room.h"

/* Spec: appendix, "User Identifiers" and "Server Name". */
static const struct {
	const char	*id;
	int		 valid;
} cases[] = {
	{ "@alice:example.org", 1 },
	{ "@alice:localhost", 1 },
	{ "@alice:example.org:8448", 1 },
	{ "@alice:1.2.3.4", 1 },
	{ "@alice:[1234:5678::abcd]", 1 },
	{ "@alice:[1234:5678::abcd]:5678", 1 },
	/* Historical localparts: printable ASCII but ':' (upper case, '!', '~'). */
	{ "@Alice!~x:example.org", 1 },
	{ "@a:b", 1 },
	{ "", 0 },
	{ "@", 0 },
	{ "@:", 0 },
	{ "@alice", 0 },
	{ "alice:example.org", 0 },
	{ "#alice:example.org", 0 },
	{ "@:example.org", 0 },
	{ "@alice:", 0 },
	{ "@al ice:example.org", 0 },
	{ "@al\tice:example.org", 0 },
	{ "@al\xc3\xa9:example.org", 0 },
	{ "@alice:exa mple.org", 0 },
	{ "@alice:example.org:", 0 },
	{ "@alice:example.org:123456", 0 },
	{ "@alice:example.org:80a", 0 },
	{ "@alice:[1234:5678::abcd", 0 },
	{ "@alice:[]", 0 },
	{ "@alice:[xyz::1]", 0 },
	{ "@alice:ex_ample.org", 0 },
	{ "@alice:example.org/x", 0 },
};

int
main(void)
{
	char	 id[400];
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (mroom_user_id_check(cases[i].id) != cases[i].valid)
			FAIL("%s: want %s", cases[i].id, cases[i].valid ? "valid" : "invalid");
	CHECK(mroom_user_id_check(NULL) == 0);
	/* Spec: a user ID, "including the @ sigil and the domain", is at most 255 bytes. */
	memset(id, 'a', sizeof(id));
	id[0] = '@';
	memcpy(id + 255 - strlen(":localhost"), ":localhost", sizeof(":localhost"));
	CHECK(strlen(id) == 255 && mroom_user_id_check(id) == 1);
	memset(id, 'a', sizeof(id));
	id[0] = '@';
	memcpy(id + 256 - strlen(":localhost"), ":localhost", sizeof(":localhost"));
	CHECK(strlen(id) == 256 && mroom_user_id_check(id) == 0);
	memset(id, 'a', sizeof(id));
	id[0] = '@';
	memcpy(id + 301, ":localhost", sizeof(":localhost"));
	CHECK(strlen(id) == 311 && mroom_user_id_check(id) == 0);
	return failed;
}
