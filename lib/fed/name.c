/* Server names by the spec's grammar (Appendices, "Server Name"). */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "fed/fed.h"

static int
port_parse(const char *p, int *port)
{
	int	 n = 0, i;

	for (i = 0; p[i] >= '0' && p[i] <= '9'; i++) {
		if (i == 5)
			return -1;
		n = n * 10 + (p[i] - '0');
	}
	/* Spec: port = 1*5DIGIT; 0 and numbers past 65535 name no port. */
	if (i == 0 || p[i] != '\0' || n == 0 || n > 65535)
		return -1;
	*port = n;
	return 0;
}

int
mfed_name_parse(const char *s, struct mfed_name *out)
{
	const char	*colon;
	size_t		 hlen;
	char		 buf[64];
	unsigned char	 a[16];

	memset(out, 0, sizeof(*out));
	if (s == NULL || *s == '\0')
		return -1;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL)
			return -1;
		hlen = (size_t)(close - s) + 1;
		/* Spec: IPv6address is 2 to 45 characters of hex digits, ':' and '.'. */
		if (hlen - 2 < 2 || hlen - 2 > 45 || strspn(s + 1, "0123456789abcdefABCDEF:.") !=
		    hlen - 2)
			return -1;
		memcpy(buf, s + 1, hlen - 2);
		buf[hlen - 2] = '\0';
		if (inet_pton(AF_INET6, buf, a) != 1)
			return -1;
		out->ip = 6;
		if (close[1] == ':') {
			if (port_parse(close + 2, &out->port) == -1)
				return -1;
		} else if (close[1] != '\0')
			return -1;
	} else {
		colon = strchr(s, ':');
		hlen = colon != NULL ? (size_t)(colon - s) : strlen(s);
		if (hlen == 0 || hlen > 255 || strspn(s, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") != hlen)
			return -1;
		if (colon != NULL && port_parse(colon + 1, &out->port) == -1)
			return -1;
		/* Four dotted decimals are an IPv4 literal, and must be one. */
		if (hlen < sizeof(buf) && strspn(s, "0123456789.") == hlen) {
			int dots = 0;

			for (size_t i = 0; i < hlen; i++)
				dots += s[i] == '.';
			if (dots == 3) {
				memcpy(buf, s, hlen);
				buf[hlen] = '\0';
				if (inet_pton(AF_INET, buf, a) != 1)
					return -1;
				out->ip = 4;
			}
		}
	}
	memcpy(out->host, s, hlen);
	out->host[hlen] = '\0';
	return 0;
}
