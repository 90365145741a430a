/* Server names by the grammar (Appendices, "Server Name"): edges both sides. */
#include "testlib.h"
#include "fed/fed.h"

static void
ok(const char *s, const char *host, int port, int ip)
{
	struct mfed_name n;

	if (mfed_name_parse(s, &n) == -1)
		FAIL("refused %s", s);
	else if (strcmp(n.host, host) != 0 || n.port != port || n.ip != ip)
		FAIL("%s: got host %s port %d ip %d", s, n.host, n.port, n.ip);
}

static void
bad(const char *s)
{
	struct mfed_name n;

	if (mfed_name_parse(s, &n) == 0)
		FAIL("accepted %s", s);
}

int
main(void)
{
	char long_name[300];

	/* The spec's examples. */
	ok("matrix.org", "matrix.org", 0, 0);
	ok("matrix.org:8888", "matrix.org", 8888, 0);
	ok("1.2.3.4", "1.2.3.4", 0, 4);
	ok("1.2.3.4:1234", "1.2.3.4", 1234, 4);
	ok("[1234:5678::abcd]", "[1234:5678::abcd]", 0, 6);
	ok("[1234:5678::abcd]:5678", "[1234:5678::abcd]", 5678, 6);
	ok("localhost", "localhost", 0, 0);
	ok("localhost:65535", "localhost", 65535, 0);
	ok("[::1]:1", "[::1]", 1, 6);
	/* Digits and dots that are no IPv4 literal are a DNS name. */
	ok("1.2.3", "1.2.3", 0, 0);
	memset(long_name, 'a', 255);
	long_name[255] = '\0';
	ok(long_name, long_name, 0, 0);
	long_name[255] = 'a';
	long_name[256] = '\0';
	bad(long_name);
	bad("");
	bad(":8448");
	bad("matrix.org:");
	bad("matrix.org:0");
	bad("matrix.org:65536");
	bad("matrix.org:123456");
	bad("matrix.org:+80");
	bad("matrix.org:80:80");
	bad("matrix_org");
	bad("matrix.org/x");
	bad("user@matrix.org");
	bad("1.2.3.256");
	bad("[::1");
	bad("[::1]x");
	bad("[::1]:");
	bad("[]");
	bad("[not:hex:g]");
	bad("[1.2.3.4]");
	bad("::1");
	return failed;
}
