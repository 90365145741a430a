/*
 * Reading a whole Synapse database for myelin-admin import-synapse
 * (docs/beside-synapse.md, "Leaving Synapse"), and the import's
 * progress rows in myelin's database.  Rows come out as JSON objects
 * whose keys are the column names given below, a batch at a time.
 */
#ifndef MYELIN_STORE_SYNIMPORT_H
#define MYELIN_STORE_SYNIMPORT_H

#include <stdint.h>
#include <jansson.h>

struct mdb;

/*
 * Opens Synapse's database from: an existing file is SQLite, anything
 * else a PostgreSQL conninfo.  Nothing is created or set; the schema
 * version must be within MSYN_SCHEMA_MIN..MSYN_SCHEMA_MAX (synapse.h).
 * Returns the connection, or NULL with why (size whysz) saying what
 * is wrong, the version and the tested range for one outside it.
 */
struct mdb	*msyi_open(const char *from, char *why, size_t whysz);

/* What a batch or a lookup reads. */
enum msyi_rows {
	MSYI_USERS,	/* by name: name password_hash admin is_guest deactivated
			   user_type creation_ts shadow_banned */
	MSYI_EVENTS,	/* by stream_ordering: stream json outlier room_id event_id */
	MSYI_ROOMS,	/* by room_id: room_id is_public */
	MSYI_MEDIA,	/* by media_id: media_id media_type media_length created_ts
			   upload_name user_id quarantined */
	/* Lookups by the argument given (a user ID but for PROFILE). */
	MSYI_PROFILE,	/* localpart: displayname avatar_url */
	MSYI_DEVICES,	/* device_id display_name last_seen ip */
	MSYI_TOKENS,	/* token device_id valid_until_ms */
	MSYI_DKEYS,	/* device_id key_json */
	MSYI_OTKS,	/* device_id algorithm key_id key_json */
	MSYI_FALLBACKS,	/* device_id algorithm key_id key_json */
	MSYI_XSKEYS,	/* keytype keydata */
	MSYI_XSSIGS,	/* key_id target_user_id target_device_id signature */
	MSYI_ACCOUNT_DATA, /* room_id ("": global) type content */
	MSYI_TAGS,	/* room_id tag content */
	MSYI_BACKUPS,	/* version algorithm auth_data */
	MSYI_PUSH_RULES, /* rule_id ("global/KIND/ID") conditions actions */
	MSYI_PUSH_ENABLE, /* rule_id enabled */
	MSYI_PUSHERS,	/* kind app_id app_display_name device_display_name profile_tag
			   pushkey lang data ts device_id */
	MSYI_ALIASES,	/* room ID: room_alias creator */
	MSYI_RECEIPTS,	/* room ID: receipt_type user_id event_id data */
	MSYI_ROWS__MAX
};

/*
 * The next batch of up to limit rows of a batched kind after key after
 * (its first column, as text; NULL: from the start), or every row of a
 * lookup for arg, as a new JSON array of objects.  NULL on failure.
 */
json_t	*msyi_batch(struct mdb *, enum msyi_rows, const char *after, int64_t limit);
json_t	*msyi_lookup(struct mdb *, enum msyi_rows, const char *arg);
/* e2e_room_keys of user_id's backup version: room_id session_id
   first_message_index forwarded_count is_verified session_data. */
json_t	*msyi_backup_keys(struct mdb *, const char *user_id, int64_t version);

/*
 * Synapse's state groups: the group of the state after event_id, and
 * the group it was made from (0: none), 1, 0 when the event has none
 * (an outlier's), -1; and a group's whole state as a new array of
 * {type, state_key, event_id}, one per key, or NULL.
 */
int	 msyi_event_group(struct mdb *, const char *event_id, int64_t *group, int64_t *prev);
json_t	*msyi_group_state(struct mdb *, int64_t group);

/* The kinds whose counts are compared at the end, and their names. */
enum msyi_count {
	MSYI_N_USERS, MSYI_N_DEVICES, MSYI_N_TOKENS, MSYI_N_ROOMS, MSYI_N_EVENTS,
	MSYI_N_CSTATE, MSYI_N_FWD, MSYI_N_ALIASES, MSYI_N_ACCOUNT_DATA, MSYI_N_DKEYS,
	MSYI_N_OTKS, MSYI_N_XSKEYS, MSYI_N_MEDIA, MSYI_N__MAX
};
extern const char *const msyi_count_names[MSYI_N__MAX];
/* The count of a kind in Synapse's database (mine 0) or myelin's (mine 1), or -1. */
int64_t	msyi_count(struct mdb *, enum msyi_count, int mine);

/*
 * Progress rows in myelin's database, one per step.  _get: 1 with
 * *last_key (malloc'd, NULL: none yet), *done and *rows; 0 when the
 * step has not begun; -1.  _put: in the caller's transaction or its
 * own statement.  _source: the source of any step recorded, malloc'd
 * in *source (1), 0 when there is none, -1.
 */
int	msyi_progress_get(struct mdb *, const char *step, char **last_key, int *done,
	    int64_t *rows);
int	msyi_progress_put(struct mdb *, const char *step, const char *source,
	    const char *last_key, int done, int64_t rows);
int	msyi_progress_source(struct mdb *, char **source);

#endif
