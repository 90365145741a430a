/* mappsvc_load and the namespaces: registration files as bridges write them, and their errors. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testlib.h"
#include "appsvc/appsvc.h"


/* Writes text to a temporary file: its malloc'd path. */
static char *
file_of(const char *text)
{
	char	*p = strdup("/tmp/appsvc-reg-XXXXXX");
	int	 fd = mkstemp(p);

	if (fd == -1 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
	return p;
}

/* 1 when loading text fails with an error naming key. */
static int
refused(const char *text, const char *key)
{
	struct mappsvc	 as;
	char		*p = file_of(text), err[512];
	int		 rc = mappsvc_load(p, "example.org", &as, err, sizeof(err));

	unlink(p);
	if (rc == 0) {
		mappsvc_fini(&as);
		free(p);
		return 0;
	}
	rc = strstr(err, key) != NULL && strncmp(err, p, strlen(p)) == 0;
	if (!rc)
		fprintf(stderr, "error without %s: %s\n", key, err);
	free(p);
	return rc;
}

int
main(void)
{
	struct mappsvc	 as;
	char		 err[512], *p;

	/* SyTest's file (Perl YAML::XS), with quoted tokens and booleans. */
	p = file_of("---\nas_token: \"\\\\BK`Q|ie{x}\"\nhs_token: 'hs'\nid: AS-1\n"
	    "namespaces:\n  aliases:\n  - exclusive: true\n    regex: '#astest-.*'\n"
	    "  rooms: []\n  users:\n  - exclusive: false\n    regex: '@_.*:example.org'\n"
	    "  - exclusive: true\n    regex: '@astest-\\d+'\n"
	    "protocols:\n- ymca\nsender_localpart: as-user-1\nurl: https://localhost:1/appservs/1\n");
	CHECK(mappsvc_load(p, "example.org", &as, err, sizeof(err)) == 0);
	unlink(p);
	free(p);
	CHECK(strcmp(as.as_token, "\\BK`Q|ie{x}") == 0);
	CHECK(strcmp(as.sender, "@as-user-1:example.org") == 0);
	CHECK(as.rate_limited == 1 && as.protocolsz == 1 && mappsvc_has_protocol(&as, "ymca"));
	CHECK(mappsvc_match(&as, MAPPSVC_USERS, "@_x:example.org", 0));
	CHECK(!mappsvc_match(&as, MAPPSVC_USERS, "@_x:example.org", 1));
	/* Anchored at the start only, as Python's re.match; \d is a digit. */
	CHECK(mappsvc_match(&as, MAPPSVC_USERS, "@astest-12:example.org", 1));
	CHECK(!mappsvc_match(&as, MAPPSVC_USERS, "@astest-x:example.org", 1));
	CHECK(!mappsvc_match(&as, MAPPSVC_USERS, "x@_x:example.org", 0));
	CHECK(mappsvc_match(&as, MAPPSVC_ALIASES, "#astest-a:example.org", 1));
	CHECK(mappsvc_user_ok(&as, "@as-user-1:example.org"));
	CHECK(!mappsvc_user_ok(&as, "@bob:example.org"));
	mappsvc_fini(&as);

	CHECK(refused("id: a\nas_token: x\nsender_localpart: b\n", "hs_token: required"));
	CHECK(refused("id: a\nas_token: x\nhs_token: y\nsender_localpart: B C\n",
	    "sender_localpart"));
	CHECK(refused("id: a\nas_token: x\nhs_token: x\nsender_localpart: b\n", "must differ"));
	CHECK(refused("id: a\nas_token: x\nhs_token: y\nsender_localpart: b\nurl: ftp://x\n",
	    "url"));
	CHECK(refused("id: a\nas_token: x\nhs_token: y\nsender_localpart: b\n"
	    "namespaces:\n  users:\n  - regex: '@('\n", "namespaces.users[0].regex"));
	CHECK(refused("id: a\nas_token: x\nhs_token: y\nsender_localpart: b\n"
	    "namespaces:\n  users:\n  - regex: x\n    exclusive: maybe\n",
	    "namespaces.users[0].exclusive"));
	CHECK(refused("id: a\nas_token: [x\n", "not YAML"));
	CHECK(refused("- just\n- a list\n", "mapping"));
	return failed;
}
