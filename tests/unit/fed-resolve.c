/* Discovery (S-S API, "Resolving server names") from scripted well-known and SRV answers. */
#include "testlib.h"
#include "fed/fed.h"

/* The scripted world: well-known answers and SRV records by name. */
struct world {
	const char	*wk_host, *wk_answer;	/* NULL: no well-known anywhere */
	const char	*srv_name, *srv_target;
	int		 srv_port;
	int		 wk_asked, srv_asked;
};

static int
wk(void *ctx, const char *host, char **server)
{
	struct world *w = ctx;

	w->wk_asked++;
	*server = NULL;
	if (w->wk_host == NULL || strcmp(host, w->wk_host) != 0)
		return 0;
	*server = strdup(w->wk_answer);
	return 1;
}

static int
srv(void *ctx, const char *name, char *target, size_t targetsz, int *port)
{
	struct world *w = ctx;

	w->srv_asked++;
	if (w->srv_name == NULL || strcmp(name, w->srv_name) != 0)
		return 0;
	snprintf(target, targetsz, "%s", w->srv_target);
	*port = w->srv_port;
	return 1;
}

static void
expect(struct world *w, const char *name, const char *authority, const char *tls,
    const char *host, int port)
{
	struct mfed_lookup	 lk = { wk, srv, w };
	struct mfed_dest	 d;

	if (mfed_resolve(&lk, name, &d) == -1) {
		FAIL("%s: refused", name);
		return;
	}
	if (strcmp(d.authority, authority) != 0 || strcmp(d.tls_host, tls) != 0 ||
	    strcmp(d.connect_host, host) != 0 || d.connect_port != port)
		FAIL("%s: got Host %s, TLS %s, connect %s:%d; want %s, %s, %s:%d", name,
		    d.authority, d.tls_host, d.connect_host, d.connect_port, authority, tls,
		    host, port);
}

int
main(void)
{
	struct world		 none = { 0 };
	struct mfed_lookup	 lk = { wk, srv, &none };
	struct mfed_dest	 d;

	/* 1. IP literals: no lookup at all, 8448 unless given. */
	expect(&none, "1.2.3.4", "1.2.3.4", "1.2.3.4", "1.2.3.4", 8448);
	expect(&none, "[::1]:9000", "[::1]:9000", "[::1]", "[::1]", 9000);
	CHECK(none.wk_asked == 0 && none.srv_asked == 0);
	/* 2. An explicit port: that host and port, Host with the port. */
	expect(&none, "example.org:8000", "example.org:8000", "example.org", "example.org", 8000);
	CHECK(none.wk_asked == 0 && none.srv_asked == 0);
	/* 6. Nothing found: the name on 8448. */
	expect(&none, "example.org", "example.org", "example.org", "example.org", 8448);
	CHECK(none.wk_asked == 1 && none.srv_asked == 2);

	/* 3.1-3.2: delegation to an IP literal or a name with a port. */
	{
		struct world w = { "example.org", "10.0.0.1", NULL, NULL, 0, 0, 0 };
		expect(&w, "example.org", "10.0.0.1", "10.0.0.1", "10.0.0.1", 8448);
	}
	{
		struct world w = { "example.org", "delegated.example.com:443", NULL, NULL, 0, 0, 0 };
		expect(&w, "example.org", "delegated.example.com:443", "delegated.example.com",
		    "delegated.example.com", 443);
		CHECK(w.srv_asked == 0);
	}
	/* 3.3: delegated name without a port, SRV of the delegated name; Host stays it. */
	{
		struct world w = { "example.org", "delegated.example.com",
		    "_matrix-fed._tcp.delegated.example.com", "srv.example.net", 7777, 0, 0 };
		expect(&w, "example.org", "delegated.example.com", "delegated.example.com",
		    "srv.example.net", 7777);
	}
	/* 3.4: the deprecated _matrix._tcp record after _matrix-fed. */
	{
		struct world w = { "example.org", "delegated.example.com",
		    "_matrix._tcp.delegated.example.com", "old.example.net", 7000, 0, 0 };
		expect(&w, "example.org", "delegated.example.com", "delegated.example.com",
		    "old.example.net", 7000);
		CHECK(w.srv_asked == 2);
	}
	/* 3.5: delegated, no SRV: the delegated name on 8448. */
	{
		struct world w = { "example.org", "delegated.example.com", NULL, NULL, 0, 0, 0 };
		expect(&w, "example.org", "delegated.example.com", "delegated.example.com",
		    "delegated.example.com", 8448);
	}
	/* An m.server that is no server name counts as no well-known: step 4. */
	{
		struct world w = { "example.org", "bad name/x", "_matrix-fed._tcp.example.org",
		    "srv.example.org", 8449, 0, 0 };
		expect(&w, "example.org", "example.org", "example.org", "srv.example.org", 8449);
	}
	/* 4-5. SRV of the name itself; the certificate is still for the name. */
	{
		struct world w = { NULL, NULL, "_matrix-fed._tcp.example.org", "host.example.net",
		    443, 0, 0 };
		expect(&w, "example.org", "example.org", "example.org", "host.example.net", 443);
	}
	{
		struct world w = { NULL, NULL, "_matrix._tcp.example.org", "legacy.example.net",
		    8008, 0, 0 };
		expect(&w, "example.org", "example.org", "example.org", "legacy.example.net", 8008);
	}
	/* Not a server name: refused before any lookup. */
	none.wk_asked = none.srv_asked = 0;
	CHECK(mfed_resolve(&lk, "exa mple.org", &d) == -1);
	CHECK(mfed_resolve(&lk, "example.org:0", &d) == -1);
	CHECK(none.wk_asked == 0 && none.srv_asked == 0);
	return failed;
}
