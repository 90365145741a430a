/* mroom_retention_lifetime and mroom_retention_check: Synapse's retention policy rules. */
#include "testlib.h"
#include "config/config.h"
#include "room/room.h"

#define H	(60 * 60 * 1000LL)
#define D	(24 * H)

static int64_t
lifetime(const struct mconfig *c, const char *content)
{
	json_t	*j = content != NULL ? json_loads(content, 0, NULL) : NULL;
	int64_t	 ms = mroom_retention_lifetime(c, j);

	json_decref(j);
	return ms;
}

static int
check(const char *type, const char *sk, const char *content)
{
	json_t	*j = json_loads(content, 0, NULL);
	char	 why[128];
	int	 r = mroom_retention_check(type, sk, j, why, sizeof(why));

	json_decref(j);
	return r;
}

int
main(void)
{
	struct mconfig c;

	memset(&c, 0, sizeof(c));
	/* Off: nothing goes, whatever the room says. */
	CHECK(lifetime(&c, "{\"max_lifetime\": 86400000}") == 0);
	c.retention_enabled = 1;
	/* No default: a room without max_lifetime keeps everything. */
	CHECK(lifetime(&c, NULL) == 0);
	CHECK(lifetime(&c, "{\"min_lifetime\": 1000}") == 0);
	CHECK(lifetime(&c, "{\"max_lifetime\": 86400000}") == D);
	/* Not an integer, or not positive: as if unset. */
	CHECK(lifetime(&c, "{\"max_lifetime\": \"1d\"}") == 0);
	CHECK(lifetime(&c, "{\"max_lifetime\": 0}") == 0);
	CHECK(lifetime(&c, "{\"max_lifetime\": -5}") == 0);
	c.retention_default_max_ms = 10 * D;
	CHECK(lifetime(&c, NULL) == 10 * D);
	CHECK(lifetime(&c, "{}") == 10 * D);
	CHECK(lifetime(&c, "{\"max_lifetime\": 86400000}") == D);
	/* Clamped into the allowed range, the default too. */
	c.retention_allowed_min_ms = H;
	c.retention_allowed_max_ms = 5 * D;
	CHECK(lifetime(&c, "{\"max_lifetime\": 1000}") == H);
	CHECK(lifetime(&c, "{\"max_lifetime\": 8640000000}") == 5 * D);
	CHECK(lifetime(&c, NULL) == 5 * D);

	/* Synapse's event validator. */
	CHECK(check("m.room.retention", "", "{}") == 0);
	CHECK(check("m.room.retention", "", "{\"min_lifetime\": 1, \"max_lifetime\": 2}") == 0);
	CHECK(check("m.room.retention", "", "{\"max_lifetime\": 1.5}") == -1);
	CHECK(check("m.room.retention", "", "{\"min_lifetime\": \"x\"}") == -1);
	CHECK(check("m.room.retention", "", "{\"min_lifetime\": 3, \"max_lifetime\": 2}") == -1);
	CHECK(check("m.room.retention", "", "{\"max_lifetime\": null}") == 0);
	/* Other events, and a message event of that type, are not its concern. */
	CHECK(check("m.room.topic", "", "{\"max_lifetime\": \"x\"}") == 0);
	CHECK(check("m.room.retention", NULL, "{\"max_lifetime\": \"x\"}") == 0);
	return failed;
}
