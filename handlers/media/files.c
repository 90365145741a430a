/* The media store on disk: names of files under media_path, sharded by ID. */
#include <sys/stat.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"

static atomic_uint_fast64_t	bytes_read;

uint64_t
media_bytes_read(void)
{
	return atomic_load(&bytes_read);
}

void
media_bytes_read_add(uint64_t n)
{
	atomic_fetch_add(&bytes_read, n);
}

int
media_id_check(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > 255)
		return 0;
	return strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_-") == n;
}

/*
 * Two levels of two characters, as Synapse lays out local_content:
 * a million files make 4,000 folders at each level, none huge.  IDs
 * shorter than five characters (never made here) get "_" in place.
 */
char *
media_relpath(enum mfile kind, const char *id, const char *suffix)
{
	char	*p = NULL;
	char	 a[3] = "__", b[3] = "__";
	size_t	 n = strlen(id);

	if (n > 4) {
		memcpy(a, id, 2);
		memcpy(b, id + 2, 2);
		id += 4;
	}
	if (asprintf(&p, "%s/%s/%s/%s%s%s", kind == MFILE_LOCAL ? "local" : "thumb",
	    a, b, id, suffix != NULL ? "/" : "", suffix != NULL ? suffix : "") == -1)
		return NULL;
	return p;
}

char *
media_abspath(const struct mconfig *conf, enum mfile kind, const char *id,
    const char *suffix)
{
	char	*rel, *p = NULL;

	if ((rel = media_relpath(kind, id, suffix)) == NULL)
		return NULL;
	if (asprintf(&p, "%s/%s", conf->media_path, rel) == -1)
		p = NULL;
	free(rel);
	return p;
}

/*
 * 0755 whatever the umask: nginx's workers read the files, and may be
 * another user (myelin-stack as root: nobody).  What keeps others out
 * is media_path's own mode.
 */
int
media_mkdirs(const char *path)
{
	char	*p, *s;

	if ((p = strdup(path)) == NULL)
		return -1;
	for (s = strchr(p + 1, '/'); s != NULL; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(p, 0755) == 0)
			(void)chmod(p, 0755);
		else if (errno != EEXIST) {
			free(p);
			return -1;
		}
		*s = '/';
	}
	free(p);
	return 0;
}
