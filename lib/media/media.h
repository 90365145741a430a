/* The media store on disk: files under media_path named from media IDs, sharded. */
#ifndef MYELIN_MEDIA_H
#define MYELIN_MEDIA_H

struct mconfig;

/* The kinds of files under media_path. */
enum mfile { MFILE_LOCAL, MFILE_THUMB };

/*
 * Whether id may name a local media file: the IDs myelin makes and
 * Synapse's ([A-Za-z0-9_-], 1 to 255 bytes).  No '/', no '.', so no
 * path made from one leaves its folder.
 */
int	mmedia_id_check(const char *id);
/*
 * The path of id's file relative to media_path ("local/AB/CD/rest"),
 * or, for MFILE_THUMB, of its thumbnails' folder; with suffix (a
 * thumbnail's "WxH-method") appended as a file in it.  malloc'd, NULL
 * without memory.
 */
char	*mmedia_relpath(enum mfile, const char *id, const char *suffix);
/* The same under conf->media_path.  malloc'd or NULL. */
char	*mmedia_abspath(const struct mconfig *, enum mfile, const char *id, const char *suffix);
/* Makes the folders above the file abspath (mode 0755).  0 or -1 (errno). */
int	mmedia_mkdirs(const char *abspath);
/*
 * Removes id's file and its thumbnails' folder (what is absent is no
 * error).  0, or -1 with errno.
 */
int	mmedia_unlink(const struct mconfig *, const char *id);

/*
 * Media of other servers, cached under media_path/remote/ORIGIN and
 * their thumbnails under media_path/rthumb/ORIGIN, sharded as local
 * media.  mmedia_origin_check: whether origin may name a folder (a
 * server name's characters, no leading '.', no "..", no '/').
 */
int	mmedia_origin_check(const char *origin);
char	*mmedia_remote_relpath(int thumb, const char *origin, const char *id,
	    const char *suffix);
char	*mmedia_remote_abspath(const struct mconfig *, int thumb, const char *origin,
	    const char *id, const char *suffix);
/* Removes a remote media's file and thumbnails.  0, or -1 with errno. */
int	mmedia_remote_unlink(const struct mconfig *, const char *origin, const char *id);

/*
 * The file a federation download (name "download") or thumbnail (name
 * the thumbnail's "WxH-method") of local media id is answered with
 * (S-S API, GET /_matrix/federation/v1/media/...: multipart/mixed, a
 * JSON part, then the bytes), made once: "federation/AB/CD/rest/name".
 * With name NULL, the folder.
 */
char	*mmedia_multipart_relpath(const char *id, const char *name);

#endif
