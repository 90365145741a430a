/*
 * libFuzzer harness: the myelin.conf(5) parser (lib/config) and the
 * application service registrations it loads (lib/appsvc, YAML).  The
 * input is the config file, then after a line "--- as.yaml" the file
 * as.yaml beside it.  A config that loads has no errors and a valid
 * server name; one that does not says why.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "fed/fed.h"
#include "fuzz.h"

#define SPLIT	"\n--- as.yaml\n"

static char	dir[64];

static int
put(const char *name, const char *text, size_t len)
{
	char	 path[128];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fwrite(text, 1, len, f);
	return fclose(f);
}

static void
cleanup(void)
{
	char	 path[128];

	snprintf(path, sizeof(path), "%s/myelin.conf", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/as.yaml", dir);
	unlink(path);
	rmdir(dir);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mconfig	*c;
	struct mfed_name n;
	char		*s, *as, path[128], errs[4096];

	if (dir[0] == '\0') {
		snprintf(dir, sizeof(dir), "/tmp/myelin-fuzz-config.XXXXXX");
		if (mkdtemp(dir) == NULL)
			abort();
		atexit(cleanup);
	}
	if ((s = fuzz_str(data, size)) == NULL)
		return 0;
	/* Files it names are its own two: never a device that reads forever. */
	if (strstr(s, "/dev") != NULL || strstr(s, "/proc") != NULL || strstr(s, "/sys") != NULL) {
		free(s);
		return 0;
	}
	if ((as = strstr(s, SPLIT)) != NULL) {
		*as = '\0';
		as += strlen(SPLIT);
	}
	if (put("myelin.conf", s, strlen(s)) == -1 ||
	    put("as.yaml", as != NULL ? as : "", as != NULL ? strlen(as) : 0) == -1)
		abort();
	snprintf(path, sizeof(path), "%s/myelin.conf", dir);
	if ((c = mconfig_load(path, errs, sizeof(errs))) != NULL) {
		FUZZ_ASSERT(errs[0] == '\0');
		FUZZ_ASSERT(c->server_name != NULL && mfed_name_parse(c->server_name, &n) == 0);
		(void)mconfig_threads(c, "client");
		(void)mconfig_threads(c, "fuzz");
		mconfig_free(c);
	} else
		FUZZ_ASSERT(errs[0] != '\0');
	free(s);
	return 0;
}
