/* Administration shared by myelin-admin and myelin-admin-api: accounts and rooms. */
#ifndef MYELIN_ADMIN_H
#define MYELIN_ADMIN_H

#include <stdint.h>
#include <jansson.h>

struct mconfig;
struct mdb;
struct mkey;

/* Who acts and with what: every operation's first argument. */
struct madmin {
	struct mdb		*db;
	const struct mconfig	*conf;
	const struct mkey	*key;		/* signs leave events; NULL: none can be sent */
	const char		*admin;		/* the acting admin's user ID, or NULL */
	char			 why[256];	/* what is wrong, for the codes below */
};

enum madmin_rc {
	MADMIN_OK,
	MADMIN_NOT_FOUND,	/* no such user or room; why says which */
	MADMIN_INVALID,		/* the request cannot be done as asked; why says why */
	MADMIN_ERROR,		/* storage or internal failure (logged) */
};

/*
 * Synapse's account deactivation: every device, token and pusher goes,
 * the password goes, and the user leaves (or declines) every room it is
 * joined to, invited to or knocking on; with erase, the display name and
 * avatar go too and the account is marked erased.  One transaction.  The
 * one deactivation of myelin: the client API (after its UIA), the admin
 * API and myelin-admin all call it.
 */
enum madmin_rc	madmin_user_deactivate(struct madmin *, const char *user_id, int erase);
/* Undoes a deactivation (and erasure) with a new password. */
enum madmin_rc	madmin_user_reactivate(struct madmin *, const char *user_id,
		    const char *password);
/* Sets a new password; with logout, every device and token of the user goes. */
enum madmin_rc	madmin_user_password(struct madmin *, const char *user_id,
		    const char *password, int logout);
/*
 * A new access token for user_id, as Synapse's login-as: no device is
 * listed for it, and logging out with it ends it.  valid_until_ms 0:
 * it does not expire.  *token (malloc'd) on MADMIN_OK.  MADMIN_INVALID
 * for a deactivated user.
 */
enum madmin_rc	madmin_login_as(struct madmin *, const char *user_id, int64_t valid_until_ms,
		    char **token);

/* The parameters of Synapse's GET /_synapse/admin/v1/rooms. */
struct madmin_roomq {
	const char	*search_term;	/* in the name, the alias's localpart or the room ID */
	const char	*order_by;	/* NULL: "name" */
	int		 backwards;	/* dir=b */
	int64_t		 from;
	int64_t		 limit;
};

/*
 * One page of rooms: Synapse's {rooms, offset, total_rooms, next_batch,
 * prev_batch} in *out (new).  MADMIN_INVALID for an unknown order_by.
 */
enum madmin_rc	madmin_room_list(struct madmin *, const struct madmin_roomq *, json_t **out);
/* A room as Synapse's room details show it, in *out (new). */
enum madmin_rc	madmin_room_get(struct madmin *, const char *room_id, json_t **out);

/* The options of Synapse's room deletion. */
struct madmin_delete {
	int		 block;		/* refuse later joins */
	int		 purge;		/* remove every row of the room */
	int		 force_purge;	/* purge even if some user could not be made to leave */
	int		 may_be_unknown;	/* block a room this server has not seen */
};

/*
 * Shuts a room down as Synapse's delete room API does, in the request:
 * every local user joined, invited or knocking leaves, local aliases go,
 * the room leaves the directory; then it is blocked and purged as asked.
 * The outcome is recorded for delete_status whatever it is, and returned
 * as Synapse's delete status object (delete_id, room_id, status,
 * shutdown_room) in *status (new).  MADMIN_NOT_FOUND for an unknown room
 * unless it may be unknown and is blocked.
 */
enum madmin_rc	madmin_room_delete(struct madmin *, const char *room_id,
		    const struct madmin_delete *, json_t **status);

/*
 * The media repository (issue 13).  _quarantine: a quarantined media is
 * answered 404 M_NOT_FOUND and kept.  _delete: the row, its thumbnails
 * and its files.  MADMIN_NOT_FOUND for an unknown ID.
 */
enum madmin_rc	madmin_media_quarantine(struct madmin *, const char *media_id, int on);
enum madmin_rc	madmin_media_delete(struct madmin *, const char *media_id);
/* The same for media of origin cached here (MADMIN_NOT_FOUND when not cached). */
enum madmin_rc	madmin_media_quarantine_remote(struct madmin *, const char *origin,
		    const char *media_id, int on);
/*
 * Deletes, as Synapse's POST /media/delete, local media last accessed
 * before before_ms of at least min_size bytes, quarantined ones kept;
 * or, with user_id, every media of that user.  The IDs deleted are
 * appended to deleted; progress (when not NULL) is called after each
 * batch with the count so far.
 */
enum madmin_rc	madmin_media_purge(struct madmin *, int64_t before_ms, int64_t min_size,
		    const char *user_id, json_t *deleted, void (*progress)(void *, size_t),
		    void *arg);
/*
 * Deletes the cached media of other servers last accessed before
 * before_ms (quarantined ones kept), rows and files, as Synapse's
 * purge_media_cache; "origin/media_id" of each appended to deleted.
 */
enum madmin_rc	madmin_media_purge_remote(struct madmin *, int64_t before_ms, json_t *deleted,
		    void (*progress)(void *, size_t), void *arg);

#endif
