/* mident_server_check and mident_secret_check: the id_server and client_secret grammars. */
#include "testlib.h"
#include "ident/ident.h"

static const struct {
	const char	*s;
	int		 valid;
} servers[] = {
	{ "id.example.org", 1 },
	{ "localhost:8090", 1 },
	{ "127.0.0.1:443", 1 },
	{ "[::1]:8090", 1 },
	{ "", 0 },
	{ "https://id.example.org", 0 },
	{ "id.example.org/path", 0 },
	{ "id.example.org:", 0 },
	{ "id.example.org:123456", 0 },
	{ "id example.org", 0 },
	{ "user@id.example.org", 0 },
	{ "id.example.org?x=1", 0 },
}, secrets[] = {
	{ "abc", 1 },
	{ "0123456789Az.=_-", 1 },
	{ "", 0 },
	{ "a b", 0 },
	{ "a/b", 0 },
	{ "a+b", 0 },
	{ "\xc3\xa9", 0 },
};

int
main(void)
{
	char	 big[300];

	for (size_t i = 0; i < sizeof(servers) / sizeof(servers[0]); i++)
		if (mident_server_check(servers[i].s) != servers[i].valid)
			FAIL("server %s: expected %d", servers[i].s, servers[i].valid);
	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
		if (mident_secret_check(secrets[i].s) != secrets[i].valid)
			FAIL("secret %s: expected %d", secrets[i].s, secrets[i].valid);
	CHECK(mident_server_check(NULL) == 0);
	CHECK(mident_secret_check(NULL) == 0);
	/* Spec: client_secret is at most 255 characters. */
	memset(big, 'a', sizeof(big));
	big[255] = '\0';
	CHECK(mident_secret_check(big) == 1);
	big[255] = 'a';
	big[256] = '\0';
	CHECK(mident_secret_check(big) == 0);
	return failed;
}
