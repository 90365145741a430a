/*
 * Synapse's database, for the programs that serve beside a running
 * Synapse (docs/beside-synapse.md): its tokens, its media tables.  The
 * connection is msyn_open's, never mdb_open's: myelin's schema and
 * settings never touch it.
 */
#ifndef MYELIN_STORE_SYNAPSE_H
#define MYELIN_STORE_SYNAPSE_H

#include <stdint.h>
#include <jansson.h>

struct mconfig;
struct mdb;

/*
 * The schema versions (Synapse's schema_version.version) whose tables
 * these statements were written and tested against: Synapse 1.67 is 72.
 */
#define MSYN_SCHEMA_MIN	72
#define MSYN_SCHEMA_MAX	72

/*
 * Opens conf->synapse_database (conf->synapse_db_backend) without
 * creating, migrating or setting anything, and checks its schema
 * version against MSYN_SCHEMA_MIN..MSYN_SCHEMA_MAX.  Returns the
 * connection, or NULL with the reason logged (outside the range: which
 * version, which range).
 */
struct mdb	*msyn_open(const struct mconfig *);
/* Synapse's schema version into *v.  0, or -1 (no schema_version: not Synapse's). */
int		 msyn_schema_version(struct mdb *, int64_t *v);

/* One row of Synapse's access_tokens, with its user's flags. */
struct msyn_token {
	char	*user_id;		/* the puppeted user's for an admin's puppet token */
	char	*device_id;		/* NULL: none */
	int64_t	 valid_until_ms;	/* 0: never expires */
	int64_t	 token_id;
	int	 is_admin, deactivated, is_guest, shadow_banned;
};
void	msyn_token_fini(struct msyn_token *);
/* The token given as is (Synapse keeps them in clear).  1 found, 0 unknown, -1. */
int	msyn_token_get(struct mdb *, const char *token, struct msyn_token *);

/* A row of local_media_repository or remote_media_cache. */
struct msyn_media {
	char	*media_type;
	char	*upload_name;		/* NULL: none */
	char	*user_id;		/* local: the uploader */
	char	*filesystem_id;		/* remote: its file's name in remote_content */
	int64_t	 length;
	int64_t	 created_ts;
	int64_t	 last_access_ts;
	int	 quarantined;		/* quarantined_by set */
	int	 url_cache;		/* local: a URL preview's, under url_cache/ */
};
void	msyn_media_fini(struct msyn_media *);
/* origin NULL: local media; else the remote cache.  1 found, 0 unknown, -1. */
int	msyn_media_get(struct mdb *, const char *origin, const char *media_id,
	    struct msyn_media *);
/* Records a local upload as Synapse does.  0, MSTORE_CONFLICT (ID taken), -1. */
int	msyn_media_add(struct mdb *, const char *media_id, const char *media_type,
	    const char *upload_name, int64_t length, const char *user_id, int64_t now_ms);
int	msyn_media_touch(struct mdb *, const char *origin, const char *media_id,
	    int64_t now_ms);
/* A thumbnail row. */
struct msyn_thumb {
	int64_t	 w, h;
	char	*type;
};
/*
 * The thumbnails recorded of a media by method, smallest first, into
 * *out (free with msyn_thumbs_free).  0 or -1.
 */
int	msyn_thumb_list(struct mdb *, const char *origin, const char *media_id,
	    const char *method, struct msyn_thumb **out, size_t *outsz);
void	msyn_thumbs_free(struct msyn_thumb *, size_t);
/* Records a thumbnail (remote: its file's filesystem_id).  0 or -1. */
int	msyn_thumb_add(struct mdb *, const char *origin, const char *media_id,
	    const char *filesystem_id, int w, int h, const char *method, const char *type,
	    int64_t length);

/*
 * The read-only client endpoints beside Synapse.  A local user's
 * profile row (Synapse 1.67 keys profiles by localpart): its display
 * name and avatar URL, NULL when unset.  1, 0 without a row, -1.
 */
int	msyn_profile_get(struct mdb *, const char *localpart, char **displayname,
	    char **avatar_url);
/*
 * A local alias (room_aliases) into *room_id and its servers
 * (room_alias_servers, a JSON array of strings).  1, 0 unknown, -1.
 */
int	msyn_alias_get(struct mdb *, const char *alias, char **room_id, json_t **servers);
/* The user IDs joined to a room (current state), the longest joined first.  NULL: -1. */
json_t	*msyn_room_joined(struct mdb *, const char *room_id);
/*
 * Synapse's public room list (rooms.is_public over room_stats_state and
 * room_stats_current, as its get_largest_public_rooms filters it), as
 * Synapse's entries, in the directory's order (mstore_public_room_cmp).
 */
json_t	*msyn_public_rooms(struct mdb *);
/* The rooms a local user is joined to (local_current_membership).  NULL: -1. */
json_t	*msyn_joined_rooms(struct mdb *, const char *user_id);

#endif
