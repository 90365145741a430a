/* Outbound addresses: what is refused unless allowlisted, checked on the address. */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "testlib.h"
#include "http/http.h"

static int
allowed(const char *addr, const struct mhttp_allow *a)
{
	struct sockaddr_in	 s4;
	struct sockaddr_in6	 s6;

	memset(&s4, 0, sizeof(s4));
	memset(&s6, 0, sizeof(s6));
	if (inet_pton(AF_INET, addr, &s4.sin_addr) == 1) {
		s4.sin_family = AF_INET;
		return mhttp_addr_allowed((struct sockaddr *)&s4, a);
	}
	if (inet_pton(AF_INET6, addr, &s6.sin6_addr) == 1) {
		s6.sin6_family = AF_INET6;
		return mhttp_addr_allowed((struct sockaddr *)&s6, a);
	}
	fprintf(stderr, "FAIL: bad test address %s\n", addr);
	exit(1);
}

int
main(void)
{
	static const char *const refused[] = {
		"127.0.0.1", "127.255.255.254", "10.1.2.3", "172.16.0.1", "172.31.255.255",
		"192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1",
		"255.255.255.255", "::1", "::", "fe80::1", "fc00::1", "fd12::1", "ff02::1",
		"::ffff:127.0.0.1", "::ffff:10.0.0.1", "2001:db8::1",
	};
	static const char *const public[] = {
		"1.1.1.1", "8.8.8.8", "172.32.0.1", "192.169.0.1", "2606:4700::1111",
		"::ffff:8.8.8.8",
	};
	struct mhttp_allow	 none, lo;

	CHECK(mhttp_allow_parse(NULL, &none) == 0 && none.netsz == 0);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (allowed(refused[i], &none))
			FAIL("%s allowed with an empty allowlist", refused[i]);
	for (size_t i = 0; i < sizeof(public) / sizeof(public[0]); i++)
		if (!allowed(public[i], &none))
			FAIL("%s refused", public[i]);
	CHECK(!allowed("127.0.0.1", NULL));

	/* The allowlist opens exactly its networks (an IPv4-mapped address counts too). */
	CHECK(mhttp_allow_parse("127.0.0.0/8, ::1 10.0.0.5/32", &lo) == 0 && lo.netsz == 3);
	CHECK(allowed("127.0.0.1", &lo));
	CHECK(allowed("127.9.9.9", &lo));
	CHECK(allowed("::1", &lo));
	CHECK(allowed("::ffff:127.0.0.1", &lo));
	CHECK(allowed("10.0.0.5", &lo));
	CHECK(!allowed("10.0.0.6", &lo));
	CHECK(!allowed("192.168.0.1", &lo));
	CHECK(!allowed("fe80::1", &lo));

	/* Lists that do not parse. */
	CHECK(mhttp_allow_parse("127.0.0.0/33", &lo) == -1);
	CHECK(mhttp_allow_parse("::1/129", &lo) == -1);
	CHECK(mhttp_allow_parse("localhost", &lo) == -1);
	CHECK(mhttp_allow_parse("10.0.0.0/", &lo) == -1);
	CHECK(mhttp_allow_parse("10.0.0.0/-1", &lo) == -1);
	CHECK(mhttp_allow_parse("1.1.1.1 2.2.2.2 3.3.3.3 4.4.4.4 5.5.5.5 6.6.6.6 7.7.7.7 8.8.8.8 "
	    "9.9.9.9 1.0.0.1 1.0.0.2 1.0.0.3 1.0.0.4 1.0.0.5 1.0.0.6 1.0.0.7 1.0.0.8", &lo) == -1);
	return failed;
}
