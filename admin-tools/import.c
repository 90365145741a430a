/*
 * myelin-admin import-synapse: a whole Synapse database into myelin's
 * (docs/beside-synapse.md, "Leaving Synapse").  Every row goes through
 * lib/store and every event through lib/room's receive path, so what
 * myelin serves afterwards is what it would have stored itself.  Each
 * step records how far it got (synapse_import), so a run after an
 * interruption goes on from there; every write is one a re-run may
 * repeat without harm.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "crypto/crypto.h"
#include "events/events.h"
#include "extern.h"
#include "json/json.h"
#include "log/log.h"
#include "media/media.h"
#include "room/room.h"
#include "store/store.h"

#define BATCH	200

struct imp {
	struct ctx	*c;
	struct mdb	*syn;		/* Synapse's database */
	struct mdb	*db;		/* myelin's; NULL with --dry-run */
	char		*source;	/* digest of --from, recorded with the progress */
	const char	*media_store;
	int		 dry, link_media;
	int64_t		 skipped;	/* events myelin would not store */
};

/* The progress line of a step on stderr: one line per batch. */
static void
progress(const char *step, int64_t done, int64_t total)
{
	fprintf(stderr, "import-synapse: %-14s %lld/%lld\n", step, (long long)done,
	    (long long)total);
}

static const char *
str(const json_t *row, const char *key)
{
	return mjson_str(row, key);
}

static int64_t
num(const json_t *row, const char *key)
{
	return json_integer_value(json_object_get(row, key));
}

/* Where a step got to: 1 done, 0 with *last (malloc'd or NULL) and *rows, -1. */
static int
step_start(struct imp *im, const char *step, char **last, int64_t *rows)
{
	int done;

	*last = NULL;
	*rows = 0;
	if (im->dry)
		return 0;
	if (msyi_progress_get(im->db, step, last, &done, rows) == -1)
		return -1;
	if (done) {
		free(*last);
		*last = NULL;
		fprintf(stderr, "import-synapse: %-14s done before\n", step);
	} else if (*last != NULL)
		fprintf(stderr, "import-synapse: %-14s resuming after %lld\n", step,
		    (long long)*rows);
	return done;
}

/* The keys gathered of dev in per (borrowed), made empty when new; NULL without memory. */
static json_t *
per_device(json_t *per, const char *dev)
{
	json_t *d;

	if (dev == NULL)
		return NULL;
	if ((d = json_object_get(per, dev)) != NULL)
		return d;
	if (json_object_set_new(per, dev, json_pack("{s:n,s:{},s:{}}", "d", "o", "f")) == -1)
		return NULL;
	return json_object_get(per, dev);
}

/* The devices, tokens and E2EE keys of one user, from Synapse's rows. */
static int
user_devices(struct imp *im, const char *uid, int64_t *n)
{
	json_t		*devs = NULL, *toks = NULL, *dk = NULL, *otk = NULL, *fb = NULL, *r;
	json_t		*per = NULL, *d;
	const char	*k;
	char		*hash, *conflict;
	struct mtokeninfo ti;
	size_t		 i;
	int		 rc = -1, found;

	if ((devs = msyi_lookup(im->syn, MSYI_DEVICES, uid)) == NULL ||
	    (toks = msyi_lookup(im->syn, MSYI_TOKENS, uid)) == NULL ||
	    (dk = msyi_lookup(im->syn, MSYI_DKEYS, uid)) == NULL ||
	    (otk = msyi_lookup(im->syn, MSYI_OTKS, uid)) == NULL ||
	    (fb = msyi_lookup(im->syn, MSYI_FALLBACKS, uid)) == NULL ||
	    (per = json_object()) == NULL)
		goto out;
	*n += json_array_size(devs) + json_array_size(toks);
	if (im->dry) {
		rc = 0;
		goto out;
	}
	json_array_foreach(devs, i, r)
		if (mstore_device_put(im->db, uid, str(r, "device_id"), str(r, "display_name"),
		    str(r, "ip")) == -1)
			goto out;
	json_array_foreach(toks, i, r) {
		if ((hash = mcrypto_token_hash(str(r, "token"))) == NULL)
			goto out;
		if ((found = mstore_token_get(im->db, hash, &ti)) == 1)
			mtokeninfo_fini(&ti);
		else if (found == -1 || mstore_token_add(im->db, hash, uid, str(r, "device_id"),
		    num(r, "valid_until_ms"), 0) == -1) {
			free(hash);
			goto out;
		}
		free(hash);
	}
	/* Keys per device: {device: {"d": device keys, "o": one-time, "f": fallback}}. */
	json_array_foreach(dk, i, r)
		if ((d = per_device(per, str(r, "device_id"))) != NULL && json_is_object(json_object_get(r,
		    "key_json")))
			json_object_set(d, "d", json_object_get(r, "key_json"));
	json_array_foreach(otk, i, r) {
		char *id;

		if ((d = per_device(per, str(r, "device_id"))) == NULL ||
		    asprintf(&id, "%s:%s", str(r, "algorithm"), str(r, "key_id")) == -1)
			goto out;
		json_object_set(json_object_get(d, "o"), id, json_object_get(r, "key_json"));
		free(id);
	}
	json_array_foreach(fb, i, r) {
		char *id;

		if ((d = per_device(per, str(r, "device_id"))) == NULL ||
		    asprintf(&id, "%s:%s", str(r, "algorithm"), str(r, "key_id")) == -1)
			goto out;
		json_object_set(json_object_get(d, "f"), id, json_object_get(r, "key_json"));
		free(id);
	}
	json_object_foreach(per, k, d) {
		const json_t *dkeys = json_object_get(d, "d");

		conflict = NULL;
		/* A one-time key stored before with other content stays as it is. */
		if (mstore_keys_upload(im->db, uid, k, json_is_null(dkeys) ? NULL : dkeys,
		    json_object_get(d, "o"), json_object_get(d, "f"), &conflict) == -1)
			goto out;
		free(conflict);
	}
	rc = 0;
out:
	json_decref(per);
	json_decref(devs);
	json_decref(toks);
	json_decref(dk);
	json_decref(otk);
	json_decref(fb);
	return rc;
}

/*
 * Synapse's rule_id "global/KIND/ID" split: the kind into kind (size
 * 16), the ID returned (borrowed from rule_id), or NULL.
 */
static const char *
rule_split(const char *rule_id, char *kind, size_t kindsz)
{
	const char *k, *id;

	if (rule_id == NULL || strncmp(rule_id, "global/", 7) != 0)
		return NULL;
	k = rule_id + 7;
	if ((id = strchr(k, '/')) == NULL || id[1] == '\0' || (size_t)(id - k) >= kindsz)
		return NULL;
	memcpy(kind, k, (size_t)(id - k));
	kind[id - k] = '\0';
	if (strcmp(kind, "override") != 0 && strcmp(kind, "content") != 0 &&
	    strcmp(kind, "room") != 0 && strcmp(kind, "sender") != 0 &&
	    strcmp(kind, "underride") != 0)
		return NULL;
	return id + 1;
}

/*
 * A user's push rules: their own rules in Synapse's order, the actions
 * they gave server-default ones, and what they turned on or off; and
 * their pushers.
 */
static int
user_push(struct imp *im, const char *uid)
{
	json_t		*rules = NULL, *en = NULL, *pu = NULL, *r, *c, *have = NULL;
	const char	*id, *pattern;
	char		 kind[16];
	size_t		 i, j;
	int		 rc = -1;

	if ((rules = msyi_lookup(im->syn, MSYI_PUSH_RULES, uid)) == NULL ||
	    (en = msyi_lookup(im->syn, MSYI_PUSH_ENABLE, uid)) == NULL ||
	    (pu = msyi_lookup(im->syn, MSYI_PUSHERS, uid)) == NULL ||
	    (have = json_object()) == NULL)
		goto out;
	if (im->dry) {
		rc = 0;
		goto out;
	}
	json_array_foreach(rules, i, r) {
		const json_t *conds = json_object_get(r, "conditions");

		if ((id = rule_split(str(r, "rule_id"), kind, sizeof(kind))) == NULL ||
		    !json_is_array(json_object_get(r, "actions"))) {
			fprintf(stderr, "myelin-admin: import-synapse: %s: push rule %s skipped\n",
			    uid, str(r, "rule_id") != NULL ? str(r, "rule_id") : "(null)");
			continue;
		}
		if (id[0] == '.') {
			/* Only the spec's defaults: others' would be rules of no one's. */
			if (strncmp(id, ".m.rule.", 8) == 0 && mstore_push_rule_actions(im->db, uid, kind, id,
			    json_object_get(r, "actions")) == -1)
				goto out;
			continue;
		}
		if (json_object_set_new(have, str(r, "rule_id"), json_true()) == -1)
			goto out;
		/* Synapse keeps a content rule's pattern as its one condition. */
		pattern = NULL;
		if (strcmp(kind, "content") == 0)
			json_array_foreach(conds, j, c)
				if ((pattern = mjson_str(c, "pattern")) != NULL)
					break;
		if (mstore_push_rule_put(im->db, uid, kind, id, strcmp(kind, "override") == 0 ||
		    strcmp(kind, "underride") == 0 ? (json_is_array(conds) ? conds : NULL) : NULL,
		    pattern, json_object_get(r, "actions"), NULL, NULL, INT64_MAX) == -1)
			goto out;
	}
	/* Pushers: the body of the POST /pushers/set that made each. */
	json_array_foreach(pu, i, r) {
		json_t *b = json_deep_copy(r);

		if (b == NULL)
			goto out;
		json_object_del(b, "ts");
		json_object_del(b, "device_id");
		if (json_is_null(json_object_get(b, "lang")))
			json_object_del(b, "lang");
		if (!json_is_object(json_object_get(b, "data")))
			json_object_set_new(b, "data", json_object());
		if (mstore_pusher_put(im->db, uid, str(r, "device_id"), b, 1, num(r, "ts")) == -1) {
			json_decref(b);
			goto out;
		}
		json_decref(b);
	}
	json_array_foreach(en, i, r) {
		/* A rule deleted may leave its enabled row behind in Synapse. */
		if ((id = rule_split(str(r, "rule_id"), kind, sizeof(kind))) == NULL ||
		    (id[0] == '.' ? strncmp(id, ".m.rule.", 8) != 0 :
		    json_object_get(have, str(r, "rule_id")) == NULL))
			continue;
		if (mstore_push_rule_enable(im->db, uid, kind, id, num(r, "enabled") != 0) == -1)
			goto out;
	}
	rc = 0;
out:
	json_decref(have);
	json_decref(pu);
	json_decref(rules);
	json_decref(en);
	return rc;
}

/* Cross-signing keys and signatures, account data, tags and key backups of one user. */
static int
user_data(struct imp *im, const char *uid)
{
	json_t	*xk = NULL, *xs = NULL, *ad = NULL, *tags = NULL, *bk = NULL, *keys = NULL;
	json_t	*r, *xo = NULL, *rooms = NULL;
	size_t	 i, j;
	int	 rc = -1;

	if ((xk = msyi_lookup(im->syn, MSYI_XSKEYS, uid)) == NULL ||
	    (xs = msyi_lookup(im->syn, MSYI_XSSIGS, uid)) == NULL ||
	    (ad = msyi_lookup(im->syn, MSYI_ACCOUNT_DATA, uid)) == NULL ||
	    (tags = msyi_lookup(im->syn, MSYI_TAGS, uid)) == NULL ||
	    (bk = msyi_lookup(im->syn, MSYI_BACKUPS, uid)) == NULL ||
	    (xo = json_object()) == NULL)
		goto out;
	if (im->dry) {
		rc = 0;
		goto out;
	}
	/* The newest of each type last: it wins. */
	json_array_foreach(xk, i, r)
		if (json_is_object(json_object_get(r, "keydata")))
			json_object_set(xo, str(r, "keytype"), json_object_get(r, "keydata"));
	if (json_object_size(xo) > 0 && mstore_xsign_put(im->db, uid, xo) == -1)
		goto out;
	json_array_foreach(xs, i, r)
		if (mstore_sig_add(im->db, str(r, "target_user_id"), str(r, "target_device_id"),
		    uid, str(r, "key_id"), str(r, "signature")) == -1)
			goto out;
	json_array_foreach(ad, i, r)
		if (json_is_object(json_object_get(r, "content")) &&
		    mstore_account_data_put(im->db, uid, str(r, "room_id"), str(r, "type"),
		    json_object_get(r, "content")) == -1)
			goto out;
	json_array_foreach(tags, i, r)
		if (json_is_object(json_object_get(r, "content")) &&
		    mstore_tag_put(im->db, uid, str(r, "room_id"), str(r, "tag"),
		    json_object_get(r, "content")) == -1)
			goto out;
	/*
	 * Key backups: only into an account with none yet (a version made
	 * by a run interrupted after it stays as that run left it).
	 * myelin numbers versions anew; clients ask for the current one.
	 */
	if (json_array_size(bk) > 0 && mstore_backup_current(im->db, uid) == 0)
		json_array_foreach(bk, i, r) {
			int64_t v = mstore_backup_create(im->db, uid, str(r, "algorithm"),
			    json_object_get(r, "auth_data"));

			if (v == -1 || (keys = msyi_backup_keys(im->syn, uid, num(r, "version"))) ==
			    NULL || (rooms = json_object()) == NULL)
				goto out;
			json_array_foreach(keys, j, r) {
				json_t *room = json_object_get(rooms, str(r, "room_id"));

				if (room == NULL) {
					json_object_set_new(rooms, str(r, "room_id"),
					    json_pack("{s:{}}", "sessions"));
					room = json_object_get(rooms, str(r, "room_id"));
				}
				json_object_set_new(json_object_get(room, "sessions"),
				    str(r, "session_id"), json_pack("{s:I,s:I,s:b,s:O}",
				    "first_message_index", (json_int_t)num(r, "first_message_index"),
				    "forwarded_count", (json_int_t)num(r, "forwarded_count"),
				    "is_verified", num(r, "is_verified") != 0, "session_data",
				    json_object_get(r, "session_data")));
			}
			if (mstore_backup_keys_put(im->db, uid, v, rooms) == -1)
				goto out;
			json_decref(keys);
			json_decref(rooms);
			keys = rooms = NULL;
		}
	rc = 0;
out:
	json_decref(keys);
	json_decref(rooms);
	json_decref(xo);
	json_decref(xk);
	json_decref(xs);
	json_decref(ad);
	json_decref(tags);
	json_decref(bk);
	return rc;
}

/* Step 1: users with their passwords, flags, profiles, sessions and keys. */
static int
step_users(struct imp *im)
{
	const char	*server = im->c->conf->server_name;
	json_t		*batch = NULL, *r, *prof;
	char		*last = NULL, *lp;
	const char	*uid, *colon;
	int64_t		 rows, total, extra = 0;
	size_t		 i;
	int		 rc = -1, st;

	if ((st = step_start(im, "users", &last, &rows)) != 0)
		return st == 1 ? 0 : -1;
	total = msyi_count(im->syn, MSYI_N_USERS, 0);
	for (;;) {
		if ((batch = msyi_batch(im->syn, MSYI_USERS, last, BATCH)) == NULL)
			goto out;
		if (json_array_size(batch) == 0)
			break;
		json_array_foreach(batch, i, r) {
			uid = str(r, "name");
			if (uid == NULL || uid[0] != '@' || (colon = strchr(uid, ':')) == NULL) {
				fprintf(stderr, "myelin-admin: import-synapse: %s: not a user ID\n",
				    uid != NULL ? uid : "(null)");
				goto out;
			}
			/* The server name is the users' identity: it cannot change here. */
			if (strcmp(colon + 1, server) != 0) {
				fprintf(stderr, "myelin-admin: import-synapse: %s is not of %s, the"
				    " server_name of myelin.conf: set server_name to Synapse's\n", uid,
				    server);
				goto out;
			}
			if ((lp = strndup(uid + 1, (size_t)(colon - uid - 1))) == NULL)
				goto out;
			prof = msyi_lookup(im->syn, MSYI_PROFILE, lp);
			free(lp);
			if (prof == NULL)
				goto out;
			r = json_incref(r);
			if (!im->dry) {
				const json_t *p = json_array_get(prof, 0);
				const char *dn = p != NULL ? str(p, "displayname") : NULL;

				switch (mstore_user_add(im->db, uid, str(r, "password_hash"), dn,
				    num(r, "admin") != 0, num(r, "is_guest") != 0, str(r, "user_type"))) {
				case 0:
				case MSTORE_CONFLICT:
					break;
				default:
					json_decref(prof);
					json_decref(r);
					goto out;
				}
				/* Synapse's profile as it is, an unset name included. */
				if (mstore_user_set_displayname(im->db, uid, dn) == -1 ||
				    mstore_user_set_avatar(im->db, uid, p != NULL ?
				    str(p, "avatar_url") : NULL) == -1 ||
				    mstore_user_set_deactivated(im->db, uid,
				    num(r, "deactivated") != 0) == -1 ||
				    (num(r, "shadow_banned") != 0 &&
				    mstore_user_set_shadow_banned(im->db, uid, 1) == -1)) {
					json_decref(prof);
					json_decref(r);
					goto out;
				}
			}
			json_decref(prof);
			if (user_devices(im, uid, &extra) == -1 || user_data(im, uid) == -1 ||
			    user_push(im, uid) == -1) {
				fprintf(stderr, "myelin-admin: import-synapse: %s: cannot import its"
				    " devices, keys or account data\n", uid);
				json_decref(r);
				goto out;
			}
			free(last);
			last = strdup(uid);
			json_decref(r);
			rows++;
			if (last == NULL || (!im->dry && msyi_progress_put(im->db, "users",
			    im->source, last, 0, rows) == -1))
				goto out;
		}
		progress("users", rows, total);
		json_decref(batch);
		batch = NULL;
	}
	if (!im->dry && msyi_progress_put(im->db, "users", im->source, last, 1, rows) == -1)
		goto out;
	rc = 0;
out:
	json_decref(batch);
	free(last);
	return rc;
}

/* The key function of a receive that checks no signature (MROOM_RECV_IMPORT). */
static int
no_key(void *arg, const char *server, const char *key_id, int64_t ts, unsigned char pk[32])
{
	(void)arg;
	(void)server;
	(void)key_id;
	(void)ts;
	(void)pk;
	return -1;
}

/*
 * The state before an event as Synapse recorded it, a state map of
 * event IDs (mstate_key_join), for an event whose prev events are not
 * here (the first event of a room joined over federation, history
 * Synapse never fetched): the state of its group, and for a state
 * event that group's parent when the event made it.  A new object,
 * json null when Synapse has none, or NULL.
 */
static json_t *
state_before(struct imp *im, const char *event_id, const char *type, const char *sk)
{
	json_t		*rows = NULL, *map, *r;
	int64_t		 group, prev;
	size_t		 i;
	char		*k = NULL;
	int		 found;

	if ((found = msyi_event_group(im->syn, event_id, &group, &prev)) != 1)
		return found == 0 ? json_null() : NULL;
	if ((rows = msyi_group_state(im->syn, group)) == NULL || (map = json_object()) == NULL) {
		json_decref(rows);
		return NULL;
	}
	json_array_foreach(rows, i, r)
		if ((k = mstate_key_join(str(r, "type"), str(r, "state_key"))) == NULL ||
		    json_object_set_new(map, k, json_string(str(r, "event_id"))) == -1)
			goto fail;
		else {
			free(k);
			k = NULL;
		}
	json_decref(rows);
	rows = NULL;
	if (sk != NULL) {
		if ((k = mstate_key_join(type, sk)) == NULL)
			goto fail;
		if ((r = json_object_get(map, k)) != NULL &&
		    strcmp(json_string_value(r), event_id) == 0) {
			/* The event made the group: the state before is its parent's. */
			json_decref(map);
			free(k);
			if (prev == 0)
				return json_object();
			if ((rows = msyi_group_state(im->syn, prev)) == NULL ||
			    (map = json_object()) == NULL)
				goto fail0;
			json_array_foreach(rows, i, r) {
				if ((k = mstate_key_join(str(r, "type"), str(r, "state_key"))) == NULL ||
				    json_object_set_new(map, k, json_string(str(r, "event_id"))) == -1)
					goto fail;
				free(k);
			}
			json_decref(rows);
			return map;
		}
		free(k);
	}
	return map;
fail:
	free(k);
	json_decref(map);
fail0:
	json_decref(rows);
	return NULL;
}

/*
 * One event into its room, in a transaction of its own with its
 * progress row (after import_batch found one that is not simply
 * stored).  1 stored (or known), 0 skipped (myelin would not
 * store it: said on stderr), -1.
 */
/* The receive of Synapse's event row r: a context and flags as the row says. */
static void
recv_init(struct imp *im, const json_t *r, struct mroom_ctx *rc, struct mroom_recv *rv)
{
	const json_t	*pdu = json_object_get(r, "json");
	const char	*type = mjson_str(pdu, "type"), *sk = mjson_str(pdu, "state_key");

	memset(rc, 0, sizeof(*rc));
	memset(rv, 0, sizeof(*rv));
	rc->db = im->db;
	rc->server_name = im->c->conf->server_name;
	rc->key = im->c->key;
	rv->key = no_key;
	rv->flags = MROOM_RECV_IMPORT;
	if (num(r, "outlier") != 0)
		rv->flags |= MROOM_RECV_OUTLIER;
	if (type != NULL && sk != NULL && strcmp(type, "m.room.create") == 0 && *sk == '\0')
		rv->flags |= MROOM_RECV_NEW_ROOM;
}

/*
 * A whole batch of events in one transaction, with the progress row of
 * its last: 1 done; 0 when any is not simply stored (rolled back: the
 * caller takes them one by one); -1.
 */
static int
import_batch(struct imp *im, const json_t *batch, const char *key, int64_t rows)
{
	struct mroom_ctx	 rc;
	struct mroom_recv	 rv;
	const json_t		*r, *pdu;
	size_t			 i;
	enum mroom_err		 e;

	if (mdb_begin(im->db) == -1)
		return -1;
	json_array_foreach(batch, i, r) {
		recv_init(im, r, &rc, &rv);
		if (!json_is_object(pdu = json_object_get(r, "json"))) {
			mdb_rollback(im->db);
			return 0;
		}
		e = mroom_receive(&rc, NULL, pdu, &rv);
		mroom_recv_fini(&rv);
		if (e != MROOM_OK) {
			mdb_rollback(im->db);
			return e == MROOM_ERROR ? -1 : 0;
		}
	}
	if (msyi_progress_put(im->db, "events", im->source, key, 0, rows) == -1) {
		mdb_rollback(im->db);
		return -1;
	}
	return mdb_commit(im->db) == -1 ? -1 : 1;
}

static int
import_event(struct imp *im, const json_t *r, const char *key, int64_t rows)
{
	struct mroom_ctx	 rc;
	struct mroom_recv	 rv;
	const json_t		*pdu = json_object_get(r, "json");
	const char		*type = mjson_str(pdu, "type"), *sk = mjson_str(pdu, "state_key");
	json_t			*given = NULL;
	enum mroom_err		 e;

	recv_init(im, r, &rc, &rv);
	if (!json_is_object(pdu)) {
		e = MROOM_BAD_EVENT;
		snprintf(rc.why, sizeof(rc.why), "its JSON does not parse");
		goto skip;
	}
	if (mdb_begin(im->db) == -1)
		return -1;
	e = mroom_receive(&rc, NULL, pdu, &rv);
	if (e == MROOM_MISSING && !(rv.flags & MROOM_RECV_OUTLIER) && given == NULL) {
		/* Its prev events are not here: the state before it, as Synapse had it. */
		mroom_recv_fini(&rv);
		mdb_rollback(im->db);
		if ((given = state_before(im, str(r, "event_id"), type, sk)) == NULL)
			return -1;
		if (json_is_object(given)) {
			rv.state = given;
			if (mdb_begin(im->db) == -1) {
				json_decref(given);
				return -1;
			}
			e = mroom_receive(&rc, NULL, pdu, &rv);
		} else {
			/* No state recorded: nothing to build on. */
			if (mdb_begin(im->db) == -1) {
				json_decref(given);
				return -1;
			}
		}
	}
	json_decref(given);
	if (e == MROOM_OK) {
		mroom_recv_fini(&rv);
		if (msyi_progress_put(im->db, "events", im->source, key, 0, rows) == -1) {
			mdb_rollback(im->db);
			return -1;
		}
		return mdb_commit(im->db) == -1 ? -1 : 1;
	}
	mroom_recv_fini(&rv);
	mdb_rollback(im->db);
	if (e == MROOM_ERROR)
		return -1;
skip:
	fprintf(stderr, "myelin-admin: import-synapse: event %s of %s skipped (%d): %s\n",
	    str(r, "event_id"), str(r, "room_id"), (int)e, rc.why);
	im->skipped++;
	return msyi_progress_put(im->db, "events", im->source, key, 0, rows) == -1 ? -1 : 0;
}

/* Step 2: every event, in Synapse's stream order, through lib/room's receive path. */
static int
step_events(struct imp *im)
{
	json_t	*batch = NULL, *r;
	char	*last = NULL, key[24];
	int64_t	 rows, total;
	size_t	 i;
	int	 rc = -1, st, fast = 0;

	if ((st = step_start(im, "events", &last, &rows)) != 0)
		return st == 1 ? 0 : -1;
	if (!im->dry && need_key(im->c) == -1)
		goto out;
	total = msyi_count(im->syn, MSYI_N_EVENTS, 0);
	for (;;) {
		if ((batch = msyi_batch(im->syn, MSYI_EVENTS, last, BATCH)) == NULL)
			goto out;
		if (json_array_size(batch) == 0)
			break;
		/* Most batches go in whole, one transaction each; the others one by one. */
		r = json_array_get(batch, json_array_size(batch) - 1);
		snprintf(key, sizeof(key), "%lld", (long long)num(r, "stream"));
		if (!im->dry && (fast = import_batch(im, batch, key,
		    rows + (int64_t)json_array_size(batch))) == -1) {
			fprintf(stderr, "myelin-admin: import-synapse: cannot store events\n");
			goto out;
		}
		json_array_foreach(batch, i, r) {
			snprintf(key, sizeof(key), "%lld", (long long)num(r, "stream"));
			rows++;
			if (!im->dry && fast == 1)
				continue;
			if (im->dry) {
				if (!json_is_object(json_object_get(r, "json"))) {
					fprintf(stderr, "myelin-admin: import-synapse: event %s: its"
					    " JSON does not parse\n", str(r, "event_id"));
					im->skipped++;
				}
			} else if (import_event(im, r, key, rows) == -1) {
				fprintf(stderr, "myelin-admin: import-synapse: event %s: cannot"
				    " store it\n", str(r, "event_id"));
				goto out;
			}
		}
		free(last);
		if ((last = strdup(key)) == NULL)
			goto out;
		progress("events", rows, total);
		json_decref(batch);
		batch = NULL;
	}
	if (!im->dry && msyi_progress_put(im->db, "events", im->source, last, 1, rows) == -1)
		goto out;
	rc = 0;
out:
	json_decref(batch);
	free(last);
	return rc;
}

/* One room's directory entry, aliases and receipts. */
static int
room_extras(struct imp *im, const json_t *room)
{
	const char	*room_id = str(room, "room_id");
	json_t		*al = NULL, *rc_ = NULL, *r;
	struct mroom	 mr;
	struct mevrow	 ev;
	size_t		 i;
	int		 rc = -1, found;

	if ((al = msyi_lookup(im->syn, MSYI_ALIASES, room_id)) == NULL ||
	    (rc_ = msyi_lookup(im->syn, MSYI_RECEIPTS, room_id)) == NULL)
		goto out;
	if (im->dry) {
		rc = 0;
		goto out;
	}
	/* A room none of whose events myelin took has nothing to hang these on. */
	if ((found = mstore_room_get(im->db, room_id, &mr)) != 1) {
		rc = found == 0 ? 0 : -1;
		goto out;
	}
	mroom_fini(&mr);
	if (mstore_room_set_public(im->db, room_id, num(room, "is_public") != 0) == -1)
		goto out;
	json_array_foreach(al, i, r) {
		const char *cr = str(r, "creator");

		if (mstore_alias_add(im->db, str(r, "room_alias"), room_id,
		    cr != NULL && *cr != '\0' ? cr : "") == -1)
			goto out;
	}
	json_array_foreach(rc_, i, r) {
		if ((found = mstore_event_get(im->db, str(r, "event_id"), &ev)) == -1)
			goto out;
		if (found == 0)
			continue;
		if (mdb_begin(im->db) == -1) {
			mevrow_fini(&ev);
			goto out;
		}
		if (mstore_receipt_put(im->db, room_id, str(r, "user_id"), str(r, "receipt_type"),
		    "", str(r, "event_id"), ev.stream, num(json_object_get(r, "data"), "ts")) == -1) {
			mdb_rollback(im->db);
			mevrow_fini(&ev);
			goto out;
		}
		mevrow_fini(&ev);
		if (mdb_commit(im->db) == -1)
			goto out;
	}
	rc = 0;
out:
	json_decref(al);
	json_decref(rc_);
	return rc;
}

/* Step 3: the rooms' directory entries, aliases and receipts, once their events are in. */
static int
step_rooms(struct imp *im)
{
	json_t	*batch = NULL, *r;
	char	*last = NULL;
	int64_t	 rows, total;
	size_t	 i;
	int	 rc = -1, st;

	if ((st = step_start(im, "rooms", &last, &rows)) != 0)
		return st == 1 ? 0 : -1;
	total = msyi_count(im->syn, MSYI_N_ROOMS, 0);
	for (;;) {
		if ((batch = msyi_batch(im->syn, MSYI_ROOMS, last, BATCH)) == NULL)
			goto out;
		if (json_array_size(batch) == 0)
			break;
		json_array_foreach(batch, i, r) {
			if (room_extras(im, r) == -1) {
				fprintf(stderr, "myelin-admin: import-synapse: room %s: cannot"
				    " import its aliases or receipts\n", str(r, "room_id"));
				goto out;
			}
			free(last);
			rows++;
			if ((last = strdup(str(r, "room_id"))) == NULL || (!im->dry &&
			    msyi_progress_put(im->db, "rooms", im->source, last, 0, rows) == -1))
				goto out;
		}
		progress("rooms", rows, total);
		json_decref(batch);
		batch = NULL;
	}
	if (!im->dry && msyi_progress_put(im->db, "rooms", im->source, last, 1, rows) == -1)
		goto out;
	rc = 0;
out:
	json_decref(batch);
	free(last);
	return rc;
}

/*
 * One media file from Synapse's store (local_content/AB/CD/rest) to
 * myelin's (mmedia_abspath), hard-linked or copied through a temporary
 * name, with its SHA-256 in sha (unpadded base64, malloc'd).  1 done,
 * 0 no such file in Synapse's store (said), -1.
 */
static int
media_file(struct imp *im, const char *id, char **sha)
{
	unsigned char	 h[32];
	char		*src = NULL, *dst = NULL, *tmp = NULL;
	int64_t		 size;
	int		 in = -1, out = -1, rc = -1;

	*sha = NULL;
	if (strlen(id) < 5) {
		fprintf(stderr, "myelin-admin: import-synapse: media %s: not an ID of Synapse's\n",
		    id);
		return 0;
	}
	if (asprintf(&src, "%s/local_content/%.2s/%.2s/%s", im->media_store, id, id + 2,
	    id + 4) == -1) {
		src = NULL;
		goto out;
	}
	if ((in = open(src, O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "myelin-admin: import-synapse: media %s: %s: %s\n", id, src,
		    strerror(errno));
		rc = errno == ENOENT ? 0 : -1;
		goto out;
	}
	if ((dst = mmedia_abspath(im->c->conf, MFILE_LOCAL, id, NULL)) == NULL ||
	    asprintf(&tmp, "%s.import", dst) == -1 || mmedia_mkdirs(dst) == -1) {
		tmp = NULL;
		goto out;
	}
	unlink(tmp);
	if (im->link_media) {
		if (link(src, tmp) == -1 || mcrypto_sha256_copy(in, -1, h, &size) == -1)
			goto fail;
	} else if ((out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) == -1 ||
	    mcrypto_sha256_copy(in, out, h, &size) == -1 || fsync(out) == -1)
		goto fail;
	if (rename(tmp, dst) == -1 || (*sha = mcrypto_b64_encode(h, sizeof(h))) == NULL)
		goto fail;
	rc = 1;
	goto out;
fail:
	fprintf(stderr, "myelin-admin: import-synapse: media %s: %s: %s\n", id, dst,
	    strerror(errno));
	unlink(tmp);
out:
	if (in != -1)
		close(in);
	if (out != -1)
		close(out);
	free(src);
	free(dst);
	free(tmp);
	return rc;
}

/* Step 4: local media, rows and files, from Synapse's media store. */
static int
step_media(struct imp *im)
{
	struct mmedia	 m, old;
	json_t		*batch = NULL, *r;
	char		*last = NULL, *sha;
	int64_t		 rows, total;
	size_t		 i;
	int		 rc = -1, st, found;

	if (im->media_store == NULL) {
		fprintf(stderr, "import-synapse: %-14s not imported (no --media-store)\n",
		    "media");
		return 0;
	}
	if ((st = step_start(im, "media", &last, &rows)) != 0)
		return st == 1 ? 0 : -1;
	total = msyi_count(im->syn, MSYI_N_MEDIA, 0);
	for (;;) {
		if ((batch = msyi_batch(im->syn, MSYI_MEDIA, last, BATCH)) == NULL)
			goto out;
		if (json_array_size(batch) == 0)
			break;
		json_array_foreach(batch, i, r) {
			const char *id = str(r, "media_id");

			if (id == NULL || !mmedia_id_check(id)) {
				fprintf(stderr, "myelin-admin: import-synapse: media %s skipped: not"
				    " a media ID\n", id != NULL ? id : "(null)");
				goto next;
			}
			if (im->dry) {
				struct stat	 sb;
				char		*src;

				if (strlen(id) >= 5 && asprintf(&src, "%s/local_content/%.2s/%.2s/%s",
				    im->media_store, id, id + 2, id + 4) != -1) {
					if (stat(src, &sb) == -1)
						fprintf(stderr, "myelin-admin: import-synapse: media %s:"
						    " %s: %s\n", id, src, strerror(errno));
					free(src);
				}
				goto next;
			}
			if ((found = mstore_media_get(im->db, id, &old)) == -1)
				goto out;
			if (found == 1) {
				mmedia_fini(&old);
				goto next;
			}
			if ((found = media_file(im, id, &sha)) == -1)
				goto out;
			if (found == 0)
				goto next;
			memset(&m, 0, sizeof(m));
			m.media_id = (char *)id;
			m.user_id = (char *)str(r, "user_id");
			m.content_type = (char *)str(r, "media_type");
			m.upload_name = (char *)str(r, "upload_name");
			m.size = num(r, "media_length");
			m.sha256 = sha;
			m.created_ts = num(r, "created_ts");
			if (m.user_id == NULL || mstore_media_add(im->db, &m) == -1 ||
			    (num(r, "quarantined") != 0 &&
			    mstore_media_quarantine(im->db, id, 1) == -1)) {
				free(sha);
				goto out;
			}
			free(sha);
next:
			free(last);
			rows++;
			if ((last = strdup(id != NULL ? id : "")) == NULL || (!im->dry &&
			    msyi_progress_put(im->db, "media", im->source, last, 0, rows) == -1))
				goto out;
		}
		progress("media", rows, total);
		json_decref(batch);
		batch = NULL;
	}
	if (!im->dry && msyi_progress_put(im->db, "media", im->source, last, 1, rows) == -1)
		goto out;
	rc = 0;
out:
	json_decref(batch);
	free(last);
	return rc;
}

/* The counts of each kind, source beside imported.  0 all equal, 1 some differ, -1. */
static int
verify(struct imp *im)
{
	int64_t	 a, b;
	int	 differ = 0;

	printf("%-22s %10s %10s\n", "KIND", "SYNAPSE", im->dry ? "" : "MYELIN");
	for (int k = 0; k < MSYI_N__MAX; k++) {
		if (k == MSYI_N_MEDIA && im->media_store == NULL)
			continue;
		if ((a = msyi_count(im->syn, k, 0)) == -1 ||
		    (!im->dry && (b = msyi_count(im->db, k, 1)) == -1))
			return -1;
		if (im->dry) {
			printf("%-22s %10lld\n", msyi_count_names[k], (long long)a);
			continue;
		}
		printf("%-22s %10lld %10lld%s\n", msyi_count_names[k], (long long)a,
		    (long long)b, a == b ? "" : "  differs");
		differ |= a != b;
	}
	if (im->skipped > 0)
		printf("%lld events skipped (see above)\n", (long long)im->skipped);
	return differ;
}

/* import-synapse --from CONNINFO|PATH [--media-store DIR] [--dry-run] [--copy-media|--link-media] */
int
cmd_import_synapse(struct ctx *c, int argc, char **argv)
{
	struct imp	 im;
	const char	*from = NULL;
	char		 why[512], *prev = NULL;
	int		 rc = EX_FAILED, found, v;

	memset(&im, 0, sizeof(im));
	im.c = c;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
			from = argv[++i];
		else if (strcmp(argv[i], "--media-store") == 0 && i + 1 < argc)
			im.media_store = argv[++i];
		else if (strcmp(argv[i], "--dry-run") == 0)
			im.dry = 1;
		else if (strcmp(argv[i], "--copy-media") == 0)
			im.link_media = 0;
		else if (strcmp(argv[i], "--link-media") == 0)
			im.link_media = 1;
		else
			return EX_USAGE;
	}
	if (from == NULL)
		return EX_USAGE;
	if ((im.syn = msyi_open(from, why, sizeof(why))) == NULL) {
		fprintf(stderr, "myelin-admin: import-synapse: %s\n", why);
		return EX_FAILED;
	}
	if ((im.source = mcrypto_token_hash(from)) == NULL)
		goto out;
	if (!im.dry) {
		if (need_db(c) == -1)
			goto out;
		im.db = c->db;
		/* Into an empty database, or one a run from this same source began. */
		if ((found = msyi_progress_source(im.db, &prev)) == -1)
			goto out;
		if (found == 1 && strcmp(prev, im.source) != 0) {
			fprintf(stderr, "myelin-admin: import-synapse: this database holds an"
			    " import from another source: refusing to mix them\n");
			goto out;
		}
		if (found == 0 && (msyi_count(im.db, MSYI_N_EVENTS, 1) != 0 ||
		    msyi_count(im.db, MSYI_N_USERS, 1) != 0)) {
			fprintf(stderr, "myelin-admin: import-synapse: this database is not empty:"
			    " import into a fresh one\n");
			goto out;
		}
	}
	if (step_users(&im) == -1 || step_events(&im) == -1 || step_rooms(&im) == -1 ||
	    step_media(&im) == -1)
		goto out;
	if ((v = verify(&im)) == -1)
		goto out;
	rc = v == 0 ? EX_DONE : EX_FAILED;
	if (v != 0)
		fprintf(stderr, "myelin-admin: import-synapse: counts differ\n");
out:
	free(prev);
	free(im.source);
	mdb_close(im.syn);
	return rc;
}
