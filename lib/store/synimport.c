/* Synapse's whole database read for myelin-admin import-synapse, and the import's progress. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "json/json.h"
#include "store/extern.h"
#include "store/synapse.h"
#include "store/synimport.h"

/*
 * Each kind: its statements (first batch, next batch; a lookup has
 * first only), its column names and types ('s' text, 'i' integer,
 * 'j' JSON text parsed).
 */
static const struct rowspec {
	enum mstmt	 first, next;
	const char	*cols;		/* space-separated */
	const char	*types;
} specs[MSYI_ROWS__MAX] = {
	[MSYI_USERS] = { MSTMT_SYI_USERS_FIRST, MSTMT_SYI_USERS_NEXT,
	    "name password_hash admin is_guest deactivated user_type creation_ts shadow_banned",
	    "ssiiisii" },
	[MSYI_EVENTS] = { MSTMT_SYI_EVENTS_FIRST, MSTMT_SYI_EVENTS_NEXT,
	    "stream json outlier room_id event_id", "ijiss" },
	[MSYI_ROOMS] = { MSTMT_SYI_ROOMS_FIRST, MSTMT_SYI_ROOMS_NEXT,
	    "room_id is_public", "si" },
	[MSYI_MEDIA] = { MSTMT_SYI_MEDIA_FIRST, MSTMT_SYI_MEDIA_NEXT,
	    "media_id media_type media_length created_ts upload_name user_id quarantined",
	    "ssiissi" },
	[MSYI_PROFILE] = { MSTMT_SYI_PROFILE, 0, "displayname avatar_url", "ss" },
	[MSYI_DEVICES] = { MSTMT_SYI_DEVICES, 0, "device_id display_name last_seen ip", "ssis" },
	[MSYI_TOKENS] = { MSTMT_SYI_TOKENS, 0, "token device_id valid_until_ms", "ssi" },
	[MSYI_DKEYS] = { MSTMT_SYI_DKEYS, 0, "device_id key_json", "sj" },
	[MSYI_OTKS] = { MSTMT_SYI_OTKS, 0, "device_id algorithm key_id key_json", "sssj" },
	[MSYI_FALLBACKS] = { MSTMT_SYI_FALLBACKS, 0, "device_id algorithm key_id key_json",
	    "sssj" },
	[MSYI_XSKEYS] = { MSTMT_SYI_XSKEYS, 0, "keytype keydata", "sj" },
	[MSYI_XSSIGS] = { MSTMT_SYI_XSSIGS, 0,
	    "key_id target_user_id target_device_id signature", "ssss" },
	[MSYI_ACCOUNT_DATA] = { MSTMT_SYI_ACCOUNT_DATA, 0, "room_id type content", "ssj" },
	[MSYI_TAGS] = { MSTMT_SYI_TAGS, 0, "room_id tag content", "ssj" },
	[MSYI_BACKUPS] = { MSTMT_SYI_BACKUPS, 0, "version algorithm auth_data", "isj" },
	[MSYI_PUSH_RULES] = { MSTMT_SYI_PUSH_RULES, 0, "rule_id conditions actions", "sjj" },
	[MSYI_PUSH_ENABLE] = { MSTMT_SYI_PUSH_ENABLE, 0, "rule_id enabled", "si" },
	[MSYI_PUSHERS] = { MSTMT_SYI_PUSHERS, 0, "kind app_id app_display_name"
	    " device_display_name profile_tag pushkey lang data ts device_id", "sssssssjis" },
	[MSYI_ALIASES] = { MSTMT_SYI_ALIASES, 0, "room_alias creator", "ss" },
	[MSYI_RECEIPTS] = { MSTMT_SYI_RECEIPTS, 0, "receipt_type user_id event_id data",
	    "sssj" },
};

const char *const msyi_count_names[MSYI_N__MAX] = {
	"users", "devices", "access tokens", "rooms", "events", "current state",
	"forward extremities", "aliases", "account data", "device keys", "one-time keys",
	"cross-signing keys", "media",
};

static const enum mstmt counts[MSYI_N__MAX][2] = {
	{ MSTMT_SYI_N_USERS, MSTMT_SYI_MY_N_USERS },
	{ MSTMT_SYI_N_DEVICES, MSTMT_SYI_MY_N_DEVICES },
	{ MSTMT_SYI_N_TOKENS, MSTMT_SYI_MY_N_TOKENS },
	{ MSTMT_SYI_N_ROOMS, MSTMT_SYI_MY_N_ROOMS },
	{ MSTMT_SYI_N_EVENTS, MSTMT_SYI_MY_N_EVENTS },
	{ MSTMT_SYI_N_CSTATE, MSTMT_SYI_MY_N_CSTATE },
	{ MSTMT_SYI_N_FWD, MSTMT_SYI_MY_N_FWD },
	{ MSTMT_SYI_N_ALIASES, MSTMT_SYI_MY_N_ALIASES },
	{ MSTMT_SYI_N_ACCOUNT_DATA, MSTMT_SYI_MY_N_ACCOUNT_DATA },
	{ MSTMT_SYI_N_DKEYS, MSTMT_SYI_MY_N_DKEYS },
	{ MSTMT_SYI_N_OTKS, MSTMT_SYI_MY_N_OTKS },
	{ MSTMT_SYI_N_XSKEYS, MSTMT_SYI_MY_N_XSKEYS },
	{ MSTMT_SYI_N_MEDIA, MSTMT_SYI_MY_N_MEDIA },
};

struct mdb *
msyi_open(const char *from, char *why, size_t whysz)
{
	struct stat	 st;
	struct mdb	*db;
	int64_t		 v;

	if ((db = calloc(1, sizeof(*db))) == NULL) {
		snprintf(why, whysz, "out of memory");
		return NULL;
	}
	db->kind = stat(from, &st) == 0 && S_ISREG(st.st_mode) ? MDB_SQLITE : MDB_POSTGRES;
	db->foreign = 1;
	db->be = db->kind == MDB_POSTGRES ? &mbackend_pg : &mbackend_sqlite;
	if (db->be->open(db, from) == -1) {
		snprintf(why, whysz, "cannot open Synapse's database (%s)", db->kind == MDB_SQLITE ?
		    "SQLite" : "not a file: tried it as a PostgreSQL conninfo");
		free(db);
		return NULL;
	}
	if (msyn_schema_version(db, &v) == -1) {
		snprintf(why, whysz, "no schema_version table: not a Synapse database");
		mdb_close(db);
		return NULL;
	}
	if (v < MSYN_SCHEMA_MIN || v > MSYN_SCHEMA_MAX) {
		snprintf(why, whysz, "Synapse schema version %lld: this build imports %d to %d"
		    " only (Synapse 1.67); upgrade or downgrade Synapse to a tested version first",
		    (long long)v, MSYN_SCHEMA_MIN, MSYN_SCHEMA_MAX);
		mdb_close(db);
		return NULL;
	}
	return db;
}

/* The rows of c as objects by spec (frees c): a new array, or NULL. */
static json_t *
rows_of(struct mcur *c, const struct rowspec *sp)
{
	char		 names[256], *save, *tok;
	const char	*cols[16];
	json_t		*out, *row, *v;
	size_t		 n = 0, i;
	int		 rc;

	if (c == NULL)
		return NULL;
	snprintf(names, sizeof(names), "%s", sp->cols);
	for (tok = strtok_r(names, " ", &save); tok != NULL && n < 16;
	    tok = strtok_r(NULL, " ", &save))
		cols[n++] = tok;
	if ((out = json_array()) == NULL) {
		mcur_free(c);
		return NULL;
	}
	while ((rc = mcur_next(c)) == 1) {
		if ((row = json_object()) == NULL)
			goto fail;
		for (i = 0; i < n; i++) {
			const char *t = mcur_text(c, (int)i);

			if (t == NULL)
				v = json_null();
			else if (sp->types[i] == 'i')
				v = json_integer(mcur_int(c, (int)i));
			else if (sp->types[i] == 'j') {
				/* Unparsable JSON: kept as a string, for the caller to refuse. */
				if ((v = json_loads(t, JSON_DECODE_ANY, NULL)) == NULL)
					v = json_string(t);
			} else
				v = json_string(t);
			if (v == NULL || json_object_set_new(row, cols[i], v) == -1) {
				json_decref(row);
				goto fail;
			}
		}
		if (json_array_append_new(out, row) == -1)
			goto fail;
	}
	mcur_free(c);
	if (rc == -1) {
		json_decref(out);
		return NULL;
	}
	return out;
fail:
	mcur_free(c);
	json_decref(out);
	return NULL;
}

json_t *
msyi_batch(struct mdb *db, enum msyi_rows k, const char *after, int64_t limit)
{
	const struct rowspec *sp = &specs[k];

	if (k > MSYI_MEDIA)
		return NULL;
	if (after == NULL)
		return rows_of(mdb_query(db, sp->first, "i", limit), sp);
	return rows_of(mdb_query(db, sp->next, "si", after, limit), sp);
}

json_t *
msyi_lookup(struct mdb *db, enum msyi_rows k, const char *arg)
{
	const struct rowspec *sp = &specs[k];

	if (k <= MSYI_MEDIA || k >= MSYI_ROWS__MAX)
		return NULL;
	return rows_of(mdb_query(db, sp->first, "s", arg), sp);
}

json_t *
msyi_backup_keys(struct mdb *db, const char *user_id, int64_t version)
{
	static const struct rowspec sp = { MSTMT_SYI_BACKUP_KEYS, 0,
	    "room_id session_id first_message_index forwarded_count is_verified session_data",
	    "ssiiij" };
	char v[24];

	snprintf(v, sizeof(v), "%lld", (long long)version);
	return rows_of(mdb_query(db, sp.first, "ss", user_id, v), &sp);
}

int
msyi_event_group(struct mdb *db, const char *event_id, int64_t *group, int64_t *prev)
{
	struct mcur	*c;
	int		 rc;

	*group = *prev = 0;
	if ((c = mdb_query(db, MSTMT_SYI_EVENT_SG, "s", event_id)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1) {
		*group = mcur_int(c, 0);
		*prev = mcur_int(c, 1);
	}
	mcur_free(c);
	return rc;
}

json_t *
msyi_group_state(struct mdb *db, int64_t group)
{
	static const struct rowspec sp = { MSTMT_SYI_SG_STATE, 0, "type state_key event_id",
	    "sss" };
	json_t	*rows, *seen, *out, *r;
	char	 g[24], *k;
	size_t	 i;

	snprintf(g, sizeof(g), "%lld", (long long)group);
	if ((rows = rows_of(mdb_query(db, sp.first, "s", g), &sp)) == NULL)
		return NULL;
	seen = json_object();
	out = json_array();
	json_array_foreach(rows, i, r) {
		const char *t = mjson_str(r, "type"), *sk = mjson_str(r, "state_key");

		if (seen == NULL || out == NULL || t == NULL || sk == NULL ||
		    asprintf(&k, "%s\x1f%s", t, sk) == -1)
			goto fail;
		/* The newest group's entry for a key came first. */
		if (json_object_get(seen, k) == NULL &&
		    (json_object_set_new(seen, k, json_true()) == -1 ||
		    json_array_append(out, r) == -1)) {
			free(k);
			goto fail;
		}
		free(k);
	}
	json_decref(rows);
	json_decref(seen);
	return out;
fail:
	json_decref(rows);
	json_decref(seen);
	json_decref(out);
	return NULL;
}

int64_t
msyi_count(struct mdb *db, enum msyi_count k, int mine)
{
	int64_t n;

	if (k >= MSYI_N__MAX)
		return -1;
	return mcur_first_int(mdb_query(db, counts[k][mine != 0], ""), &n) == 1 ? n : -1;
}

int
msyi_progress_get(struct mdb *db, const char *step, char **last_key, int *done,
    int64_t *rows)
{
	struct mcur	*c;
	int		 rc;

	*last_key = NULL;
	*done = 0;
	*rows = 0;
	if ((c = mdb_query(db, MSTMT_SYI_MY_PROGRESS_GET, "s", step)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1) {
		if (!mcur_null(c, 1) && (*last_key = mcur_dup(c, 1)) == NULL)
			rc = -1;
		*done = mcur_int(c, 2) != 0;
		*rows = mcur_int(c, 3);
	}
	mcur_free(c);
	return rc;
}

int
msyi_progress_put(struct mdb *db, const char *step, const char *source,
    const char *last_key, int done, int64_t rows)
{
	return mdb_exec(db, MSTMT_SYI_MY_PROGRESS_PUT, "sssii", step, source, last_key,
	    (int64_t)(done != 0), rows) < 0 ? -1 : 0;
}

int
msyi_progress_source(struct mdb *db, char **source)
{
	struct mcur	*c;
	int		 rc;

	*source = NULL;
	if ((c = mdb_query(db, MSTMT_SYI_MY_SOURCE, "")) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1 && (*source = mcur_dup(c, 0)) == NULL)
		rc = -1;
	mcur_free(c);
	return rc;
}
