/* Push rules, notifications and pushers: /pushrules, /notifications, /pushers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"
#include "json/json.h"
#include "push.h"
#include "push/push.h"
#include "room/room.h"
#include "rooms.h"
#include "store/store.h"

#define NOTIFS_DEFAULT_LIMIT	20
#define NOTIFS_MAX_LIMIT	100
/* Spec: POST /pushers/set: pushkey at most 512 bytes, app_id 64 characters. */
#define PUSHKEY_MAX_BYTES	512
#define APP_ID_MAX		64
/*
 * The spec gives rule IDs no length; Synapse none either.  Each is kept
 * in the m.push_rules account data every sync may carry and read with
 * the user's rules for every event in their rooms, so a rule ID has at
 * most 255 bytes, the bound of the spec's other identifiers (room IDs,
 * user IDs, event types).
 */
#define RULE_ID_MAX_BYTES	255

/* The user's ruleset as clients read it (new reference), or NULL with the request failed. */
static json_t *
ruleset(struct mreq *req)
{
	json_t *set, *defaults = NULL, *rs = NULL;

	if ((set = mstore_push_rules_user(req->db, req->auth.user_id)) == NULL ||
	    (defaults = mpush_defaults(req->auth.user_id)) == NULL ||
	    (rs = mpush_ruleset(defaults, set)) == NULL)
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	json_decref(set);
	json_decref(defaults);
	return rs;
}

/*
 * Spec: C-S API, "Push Rules: Events": after a change the user's clients
 * get the whole ruleset as m.push_rules global account data.  A failure
 * here leaves the rules changed and is only logged as the loss of that
 * copy; the rules themselves answer GET /pushrules/.  Replies {}.
 */
static int
changed(struct mreq *req)
{
	json_t	*rs, *content;

	if ((rs = ruleset(req)) == NULL)
		return -1;
	content = json_pack("{s:o}", "global", rs);
	if (content == NULL ||
	    mstore_account_data_put(req->db, req->auth.user_id, "", "m.push_rules", content) == -1) {
		json_decref(content);
		return mfcgi_fail(req, MERR_INTERNAL, "%s: m.push_rules not stored", __func__);
	}
	json_decref(content);
	return mfcgi_reply(req, 200, json_object());
}

/* 0 when {kind} names a rule kind; else -1 with 400 M_INVALID_PARAM. */
static int
kind_check(struct mreq *req)
{
	if (mpush_kind_parse(req->params[0]) == -1)
		return mfcgi_fail(req, MERR_INVALID_PARAM, "Unknown push rule kind %s",
		    req->params[0]);
	return 0;
}

/*
 * The rule the path names, from rs (borrowed), or NULL with the request
 * failed: 400 for an unknown kind, 404 M_NOT_FOUND for an unknown rule.
 */
static const json_t *
rule_of(struct mreq *req, const json_t *rs)
{
	const json_t *r;

	if (kind_check(req) == -1)
		return NULL;
	if ((r = mpush_ruleset_find(rs, req->params[0], req->params[1])) == NULL)
		mfcgi_fail(req, MERR_NOT_FOUND, "The push rule was not found");
	return r;
}

/* Spec: C-S API, GET /pushrules/: {"global": ruleset}. */
int
h_pushrules(struct mreq *req)
{
	json_t *rs;

	if ((rs = ruleset(req)) == NULL)
		return -1;
	return mfcgi_reply(req, 200, json_pack("{s:o}", "global", rs));
}

/* Spec: C-S API, GET /pushrules/global/. */
int
h_pushrules_global(struct mreq *req)
{
	json_t *rs;

	if ((rs = ruleset(req)) == NULL)
		return -1;
	return mfcgi_reply(req, 200, rs);
}

/*
 * GET /pushrules/global/{kind}/: the rules of one kind, as Synapse
 * serves them (the spec lists only the whole ruleset); an unknown kind
 * is 400 M_UNRECOGNIZED.
 */
int
h_pushrules_kind(struct mreq *req)
{
	json_t	*rs;
	int	 rc;

	if (mpush_kind_parse(req->params[0]) == -1)
		return mfcgi_fail(req, MERR_BAD_PATH, "Unknown push rule kind");
	if ((rs = ruleset(req)) == NULL)
		return -1;
	rc = mfcgi_reply(req, 200, json_deep_copy(json_object_get(rs, req->params[0])));
	json_decref(rs);
	return rc;
}

/*
 * Every other path under /pushrules/: no scope or one that is not
 * "global", no kind or an unknown one, an empty rule ID, an attribute
 * other than enabled and actions, a missing trailing slash.  Synapse
 * 1.67 answers 400 M_UNRECOGNIZED ("Unrecognized request") to each, and
 * clients (SyTest's 61push/80torture) expect the 400.
 */
int
h_pushrules_malformed(struct mreq *req)
{
	return mfcgi_fail(req, MERR_BAD_PATH, "Unrecognized request");
}

/* Spec: C-S API, GET /pushrules/global/{kind}/{ruleId}: 404 M_NOT_FOUND. */
int
h_pushrule_get(struct mreq *req)
{
	const json_t	*r;
	json_t		*rs;
	int		 rc = -1;

	if ((rs = ruleset(req)) == NULL)
		return -1;
	if ((r = rule_of(req, rs)) != NULL)
		rc = mfcgi_reply(req, 200, json_deep_copy(r));
	json_decref(rs);
	return rc;
}

/*
 * 0 when conditions is an array of at most MPUSH_CONDITIONS_MAX objects
 * with a string kind, and patterns within MPUSH_PATTERN_MAX; else 400
 * (M_INVALID_PARAM for the shape, M_UNKNOWN past a limit, see
 * h_pushrule_put).
 */
static int
conditions_check(struct mreq *req, const json_t *conds)
{
	const json_t	*c, *pat;
	size_t		 i;

	if (!json_is_array(conds))
		return mfcgi_fail(req, MERR_INVALID_PARAM, "conditions must be an array");
	if (json_array_size(conds) > MPUSH_CONDITIONS_MAX)
		return mfcgi_fail(req, MERR_UNKNOWN, "A push rule has at most %d conditions",
		    MPUSH_CONDITIONS_MAX);
	json_array_foreach(conds, i, c) {
		if (!json_is_string(json_object_get(c, "kind")))
			return mfcgi_fail(req, MERR_INVALID_PARAM,
			    "Each condition needs a kind");
		if (json_is_string(pat = json_object_get(c, "pattern")) &&
		    !mpush_pattern_check(json_string_value(pat)))
			return mfcgi_fail(req, MERR_UNKNOWN,
			    "A pattern has at most %d characters", MPUSH_PATTERN_MAX);
	}
	return 0;
}

/*
 * Spec: C-S API, PUT /pushrules/global/{kind}/{ruleId}: a user-defined
 * rule, created enabled, or updated.  IDs starting with "." belong to
 * the server, IDs with slashes and IDs over 255 bytes are refused (400
 * M_INVALID_PARAM);
 * actions are required, pattern for content rules (400
 * M_MISSING_PARAM); a before or after rule that does not exist is 400
 * M_UNKNOWN.  Past the limits of lib/push (a pattern's length, a rule's
 * conditions, a user's rules) the rule is refused with 400 M_UNKNOWN,
 * the spec's example for this endpoint and what Synapse answers for
 * every rule it refuses; nothing is stored.
 */
int
h_pushrule_put(struct mreq *req)
{
	const char	*id = req->params[1];
	const json_t	*conds = json_object_get(req->body, "conditions");
	const char	*pattern = mjson_str(req->body, "pattern");
	char		*before = mreq_query(req, "before"), *after = mreq_query(req, "after");
	json_t		*actions = NULL, *empty = NULL;
	int		 kind, rc = -1;

	if (kind_check(req) == -1)
		goto out;
	kind = mpush_kind_parse(req->params[0]);
	if (id[0] == '.') {
		mfcgi_fail(req, MERR_INVALID_PARAM, "Rule IDs starting with . are the server's");
		goto out;
	}
	if (strchr(id, '/') != NULL || strchr(id, '\\') != NULL) {
		mfcgi_fail(req, MERR_INVALID_PARAM, "Rule IDs may not contain slashes");
		goto out;
	}
	if (strlen(id) > RULE_ID_MAX_BYTES) {
		mfcgi_fail(req, MERR_INVALID_PARAM, "Rule IDs have at most %d bytes",
		    RULE_ID_MAX_BYTES);
		goto out;
	}
	if (json_object_get(req->body, "actions") == NULL) {
		mfcgi_fail(req, MERR_MISSING_PARAM, "actions is required");
		goto out;
	}
	if ((actions = mpush_actions_clean(json_object_get(req->body, "actions"))) == NULL) {
		mfcgi_fail(req, MERR_INVALID_PARAM, "Unrecognised action");
		goto out;
	}
	if (kind == MPUSH_CONTENT && pattern == NULL) {
		mfcgi_fail(req, MERR_MISSING_PARAM, "Content rules need a pattern");
		goto out;
	}
	if (kind == MPUSH_CONTENT && !mpush_pattern_check(pattern)) {
		mfcgi_fail(req, MERR_UNKNOWN, "A pattern has at most %d characters",
		    MPUSH_PATTERN_MAX);
		goto out;
	}
	if (kind == MPUSH_OVERRIDE || kind == MPUSH_UNDERRIDE) {
		if (conds == NULL)
			conds = empty = json_array();
		else if (conditions_check(req, conds) == -1)
			goto out;
	} else
		conds = NULL;
	switch (mstore_push_rule_put(req->db, req->auth.user_id, req->params[0], id, conds,
	    kind == MPUSH_CONTENT ? pattern : NULL, actions, before, after, MPUSH_RULES_MAX)) {
	case 0:
		rc = changed(req);
		break;
	case MSTORE_TOO_MANY:
		mfcgi_fail(req, MERR_UNKNOWN, "A user has at most %d push rules",
		    MPUSH_RULES_MAX);
		break;
	case MSTORE_NO_ANCHOR:
		mfcgi_fail(req, MERR_UNKNOWN, "before/after rule not found: %s",
		    before != NULL ? before : after);
		break;
	default:
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		break;
	}
out:
	json_decref(actions);
	json_decref(empty);
	free(before);
	free(after);
	return rc;
}

/*
 * Spec: C-S API, DELETE /pushrules/global/{kind}/{ruleId}: 404
 * M_NOT_FOUND for an unknown rule; a server-default rule cannot go (400
 * M_INVALID_PARAM): disable it instead.
 */
int
h_pushrule_delete(struct mreq *req)
{
	int rc;

	if (kind_check(req) == -1)
		return -1;
	if (req->params[1][0] == '.') {
		json_t	*d = mpush_defaults(NULL);
		int	 dflt = mpush_ruleset_find(d, req->params[0], req->params[1]) != NULL;

		json_decref(d);
		if (dflt)
			return mfcgi_fail(req, MERR_INVALID_PARAM,
			    "Server-default rules cannot be deleted");
		return mfcgi_fail(req, MERR_NOT_FOUND, "The push rule was not found");
	}
	if ((rc = mstore_push_rule_del(req->db, req->auth.user_id, req->params[0],
	    req->params[1])) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (rc == 0)
		return mfcgi_fail(req, MERR_NOT_FOUND, "The push rule was not found");
	return changed(req);
}

/* Replies {key: rule[key]} for the rule the path names. */
static int
rule_field_get(struct mreq *req, const char *key)
{
	const json_t	*r;
	json_t		*rs;
	int		 rc = -1;

	if ((rs = ruleset(req)) == NULL)
		return -1;
	if ((r = rule_of(req, rs)) != NULL)
		rc = mfcgi_reply(req, 200, json_pack("{s:O}", key, json_object_get(r, key)));
	json_decref(rs);
	return rc;
}

/* Spec: C-S API, GET /pushrules/global/{kind}/{ruleId}/enabled. */
int
h_pushrule_enabled_get(struct mreq *req)
{
	return rule_field_get(req, "enabled");
}

/* Spec: C-S API, GET /pushrules/global/{kind}/{ruleId}/actions. */
int
h_pushrule_actions_get(struct mreq *req)
{
	return rule_field_get(req, "actions");
}

/* 1 when the rule the path names exists; 0 after failing the request (400/404); -1. */
static int
rule_exists(struct mreq *req)
{
	json_t	*rs;
	int	 rc;

	if ((rs = ruleset(req)) == NULL)
		return -1;
	rc = rule_of(req, rs) != NULL;
	json_decref(rs);
	return rc;
}

/*
 * Spec: C-S API, PUT /pushrules/global/{kind}/{ruleId}/enabled:
 * {"enabled": boolean} (400 M_MISSING_PARAM otherwise), server-default
 * rules too; 404 M_NOT_FOUND for an unknown rule.
 */
int
h_pushrule_enabled_put(struct mreq *req)
{
	const json_t *en = json_object_get(req->body, "enabled");

	if (!json_is_boolean(en))
		return mfcgi_fail(req, MERR_MISSING_PARAM, "enabled must be true or false");
	if (rule_exists(req) != 1)
		return -1;
	if (mstore_push_rule_enable(req->db, req->auth.user_id, req->params[0], req->params[1],
	    json_is_true(en)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return changed(req);
}

/*
 * Spec: C-S API, PUT /pushrules/global/{kind}/{ruleId}/actions: "This can
 * be used to change the actions of builtin rules."  400 M_MISSING_PARAM
 * or M_INVALID_PARAM for bad actions, 404 M_NOT_FOUND for an unknown rule.
 */
int
h_pushrule_actions_put(struct mreq *req)
{
	json_t	*actions;
	int	 rc;

	if (json_object_get(req->body, "actions") == NULL)
		return mfcgi_fail(req, MERR_MISSING_PARAM, "actions is required");
	if ((actions = mpush_actions_clean(json_object_get(req->body, "actions"))) == NULL)
		return mfcgi_fail(req, MERR_INVALID_PARAM, "Unrecognised action");
	if ((rc = rule_exists(req)) == 1) {
		rc = mstore_push_rule_actions(req->db, req->auth.user_id, req->params[0],
		    req->params[1], actions) == -1 ? -1 : 1;
		if (rc == -1)
			mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	}
	json_decref(actions);
	return rc == 1 ? changed(req) : -1;
}

/*
 * Spec: C-S API, GET /notifications: the events the user was notified
 * of, newest first: from (a next_token: 400 M_INVALID_PARAM when bad),
 * limit (20 by default, at most 100), only=highlight.  Only events history
 * visibility lets the user see (Synapse filters them too); as push rules
 * run for joined members and invitees, that is nearly all of them.
 */
int
h_notifications(struct mreq *req)
{
	struct mnotif	*v = NULL;
	struct mevrow	*evs = NULL;
	unsigned char	*keep = NULL;
	size_t		 n = 0;
	char		*from = mreq_query(req, "from"), *only = mreq_query(req, "only");
	int64_t		 limit, before = INT64_MAX;
	json_t		*list = NULL;
	int		 rc = -1;

	if (mreq_query_int(req, "limit", NOTIFS_DEFAULT_LIMIT, 0, INT64_MAX, &limit) == -1)
		goto out;
	if (limit > NOTIFS_MAX_LIMIT)
		limit = NOTIFS_MAX_LIMIT;
	if (from != NULL && *from != '\0' &&
	    mfcgi_num_parse(from, 0, INT64_MAX, NULL, &before) == -1) {
		mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid from token");
		goto out;
	}
	if (mstore_push_notifs(req->db, req->auth.user_id, before,
	    only != NULL && strcmp(only, "highlight") == 0, limit, &v, &n) == -1 ||
	    (list = json_array()) == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	/* Borrowed copies for the filter: v keeps ownership. */
	if ((evs = calloc(n > 0 ? n : 1, sizeof(*evs))) == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		evs[i] = v[i].ev;
	if ((keep = room_vis_keep(req, evs, n)) == NULL)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (keep[i])
			json_array_append_new(list, json_pack("{s:O,s:o,s:b,s:s,s:I}",
			    "actions", v[i].actions, "event", mroom_client_event(&v[i].ev,
			    mclock_now_ms(), req->auth.user_id, req->auth.device_id),
			    "read", v[i].read, "room_id", v[i].ev.room_id, "ts", (json_int_t)v[i].ts));
	{
		json_t *out = json_pack("{s:O}", "notifications", list);

		if (out != NULL && n > 0 && (int64_t)n == limit) {
			char tok[32];

			snprintf(tok, sizeof(tok), "%lld", (long long)v[n - 1].stream);
			json_object_set_new(out, "next_token", json_string(tok));
		}
		rc = mfcgi_reply(req, 200, out);
	}
out:
	json_decref(list);
	free(evs);
	free(keep);
	mnotif_list_free(v, n);
	free(from);
	free(only);
	return rc;
}

/* Spec: C-S API, GET /pushers. */
int
h_pushers(struct mreq *req)
{
	json_t *list;

	if ((list = mstore_pushers(req->db, req->auth.user_id)) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return mfcgi_reply(req, 200, json_pack("{s:o}", "pushers", list));
}

/*
 * Spec: C-S API, POST /pushers/set: kind null deletes; "http" or "email"
 * adds or replaces, with app_display_name, device_display_name, lang and
 * data (400 M_MISSING_PARAM naming what is missing); an http pusher's
 * data.url is an http(s) URL with the path /_matrix/push/v1/notify
 * (400 M_INVALID_PARAM otherwise).  Nothing is pushed yet: see BUGS.
 */
int
h_pushers_set(struct mreq *req)
{
	static const char *const required[] = {
		"app_display_name", "device_display_name", "lang",
	};
	const json_t	*b = req->body, *kind = json_object_get(b, "kind");
	const char	*app_id = mjson_str(b, "app_id"), *pushkey = mjson_str(b, "pushkey");
	const char	*k, *url;
	char		 missing[128] = "";
	int		 rc;

	if (kind == NULL || app_id == NULL || pushkey == NULL)
		return mfcgi_fail(req, MERR_MISSING_PARAM, "kind, app_id and pushkey are required");
	if (strlen(pushkey) > PUSHKEY_MAX_BYTES || strlen(app_id) > APP_ID_MAX)
		return mfcgi_fail(req, MERR_INVALID_PARAM, "pushkey or app_id is too long");
	if (json_is_null(kind)) {
		if (mstore_pusher_del(req->db, req->auth.user_id, app_id, pushkey) == -1)
			return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		return mfcgi_reply(req, 200, json_object());
	}
	if ((k = json_string_value(kind)) == NULL || (strcmp(k, "http") != 0 &&
	    strcmp(k, "email") != 0))
		return mfcgi_fail(req, MERR_INVALID_PARAM, "kind must be http, email or null");
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (mjson_str(b, required[i]) == NULL)
			snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing), "%s%s",
			    missing[0] != '\0' ? ", " : "", required[i]);
	if (!json_is_object(json_object_get(b, "data")))
		snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing), "%sdata",
		    missing[0] != '\0' ? ", " : "");
	if (missing[0] != '\0')
		return mfcgi_fail(req, MERR_MISSING_PARAM, "Missing parameters: %s", missing);
	if (json_object_get(b, "profile_tag") != NULL && mjson_str(b, "profile_tag") == NULL)
		return mfcgi_fail(req, MERR_INVALID_PARAM, "profile_tag must be a string");
	if (strcmp(k, "http") == 0) {
		const char *path;

		if ((url = mjson_str(json_object_get(b, "data"), "url")) == NULL)
			return mfcgi_fail(req, MERR_MISSING_PARAM,
			    "'url' required in data for HTTP pusher");
		if (strncmp(url, "https://", 8) == 0)
			path = strchr(url + 8, '/');
		else if (strncmp(url, "http://", 7) == 0)
			path = strchr(url + 7, '/');
		else
			return mfcgi_fail(req, MERR_INVALID_PARAM, "'url' must be an http(s) URL");
		if (path == NULL || strcmp(path, "/_matrix/push/v1/notify") != 0)
			return mfcgi_fail(req, MERR_INVALID_PARAM,
			    "'url' must have a path of '/_matrix/push/v1/notify'");
	}
	rc = mstore_pusher_put(req->db, req->auth.user_id, req->auth.device_id, b,
	    json_is_true(json_object_get(b, "append")), mclock_now_ms());
	if (rc == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return mfcgi_reply(req, 200, json_object());
}
