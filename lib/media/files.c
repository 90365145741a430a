/* The media store on disk: files under media_path named from media IDs, sharded. */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "media/media.h"

int
mmedia_id_check(const char *id)
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
 * of four characters or fewer (never made here) sit under "__/__".
 */
char *
mmedia_relpath(enum mfile kind, const char *id, const char *suffix)
{
	char	*p = NULL;
	char	 a[3] = "__", b[3] = "__";

	if (strlen(id) > 4) {
		memcpy(a, id, 2);
		memcpy(b, id + 2, 2);
		id += 4;
	}
	if (asprintf(&p, "%s/%s/%s/%s%s%s", kind == MFILE_LOCAL ? "local" : "thumb",
	    a, b, id, suffix != NULL ? "/" : "", suffix != NULL ? suffix : "") == -1)
		return NULL;
	return p;
}

int
mmedia_origin_check(const char *origin)
{
	size_t n = strlen(origin);

	if (n == 0 || n > 255 || origin[0] == '.' || strstr(origin, "..") != NULL)
		return 0;
	return strspn(origin, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789.-:[]") == n;
}

char *
mmedia_remote_relpath(int thumb, const char *origin, const char *id, const char *suffix)
{
	char	*rest, *p = NULL;

	if (!mmedia_origin_check(origin) || !mmedia_id_check(id))
		return NULL;
	/* "local/AB/CD/rest" made again, its first folder replaced. */
	if ((rest = mmedia_relpath(MFILE_LOCAL, id, suffix)) == NULL)
		return NULL;
	if (asprintf(&p, "%s/%s/%s", thumb ? "rthumb" : "remote", origin,
	    rest + strlen("local/")) == -1)
		p = NULL;
	free(rest);
	return p;
}

char *
mmedia_remote_abspath(const struct mconfig *conf, int thumb, const char *origin, const char *id,
    const char *suffix)
{
	char	*rel, *p = NULL;

	if ((rel = mmedia_remote_relpath(thumb, origin, id, suffix)) == NULL)
		return NULL;
	if (asprintf(&p, "%s/%s", conf->media_path, rel) == -1)
		p = NULL;
	free(rel);
	return p;
}

char *
mmedia_multipart_relpath(const char *id, const char *name)
{
	char	*rest, *p = NULL;

	if (!mmedia_id_check(id) || (rest = mmedia_relpath(MFILE_LOCAL, id, name)) == NULL)
		return NULL;
	if (asprintf(&p, "federation/%s", rest + strlen("local/")) == -1)
		p = NULL;
	free(rest);
	return p;
}

char *
mmedia_abspath(const struct mconfig *conf, enum mfile kind, const char *id,
    const char *suffix)
{
	char	*rel, *p = NULL;

	if ((rel = mmedia_relpath(kind, id, suffix)) == NULL)
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
mmedia_mkdirs(const char *path)
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

/* Removes file, and dir with the files in it: 0, or -1 (errno). */
static int
unlink_file_dir(const char *file, const char *dir)
{
	char		*t = NULL;
	DIR		*d;
	struct dirent	*e;

	if (unlink(file) == -1 && errno != ENOENT && errno != EISDIR)
		return -1;
	if ((d = opendir(dir)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			if (asprintf(&t, "%s/%s", dir, e->d_name) != -1) {
				(void)unlink(t);
				free(t);
			}
		}
		closedir(d);
		if (rmdir(dir) == -1 && errno != ENOENT)
			return -1;
	} else if (errno != ENOENT)
		return -1;
	return 0;
}

int
mmedia_remote_unlink(const struct mconfig *conf, const char *origin, const char *id)
{
	char	*file = NULL, *dir = NULL;
	int	 rc = -1;

	if ((file = mmedia_remote_abspath(conf, 0, origin, id, NULL)) == NULL ||
	    (dir = mmedia_remote_abspath(conf, 1, origin, id, NULL)) == NULL) {
		errno = errno != 0 ? errno : EINVAL;
		goto out;
	}
	rc = unlink_file_dir(file, dir);
out:
	free(file);
	free(dir);
	return rc;
}

int
mmedia_unlink(const struct mconfig *conf, const char *id)
{
	char	*file = NULL, *dir = NULL, *mp = NULL, *abs = NULL;
	int	 rc = -1;

	if (!mmedia_id_check(id)) {
		errno = EINVAL;
		return -1;
	}
	if ((file = mmedia_abspath(conf, MFILE_LOCAL, id, NULL)) == NULL ||
	    (dir = mmedia_abspath(conf, MFILE_THUMB, id, NULL)) == NULL)
		goto out;
	/* The federation answers' copies, when made. */
	if ((mp = mmedia_multipart_relpath(id, NULL)) != NULL &&
	    asprintf(&abs, "%s/%s", conf->media_path, mp) != -1)
		(void)unlink_file_dir(abs, abs);
	else
		abs = NULL;
	rc = unlink_file_dir(file, dir);
out:
	free(abs);
	free(mp);
	free(file);
	free(dir);
	return rc;
}
