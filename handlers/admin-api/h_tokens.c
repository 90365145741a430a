/* Synapse's registration token and event report admin APIs. */
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"
#include "crypto/crypto.h"
#include "extern.h"
#include "json/json.h"
#include "store/store.h"

/* Spec: C-S API, m.login.registration_token: at most 64 of [A-Za-z0-9._~-]. */
#define TOKEN_MAX	64
#define TOKEN_CHARS	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~-"

/* Synapse's registration token object: null for unlimited uses and no expiry. */
static json_t *
token_obj(const struct mregtoken *t)
{
	return json_pack("{s:s,s:o,s:I,s:I,s:o}", "token", t->token,
	    "uses_allowed", t->uses_allowed < 0 ? json_null() : json_integer(t->uses_allowed),
	    "pending", (json_int_t)t->pending, "completed", (json_int_t)t->completed,
	    "expiry_time", t->expiry_time < 0 ? json_null() : json_integer(t->expiry_time));
}

/* Synapse: valid when uses remain and it has not expired. */
static int
token_valid(const struct mregtoken *t, int64_t now)
{
	return (t->uses_allowed < 0 || t->pending + t->completed < t->uses_allowed) &&
	    (t->expiry_time < 0 || t->expiry_time > now);
}

/* Synapse: GET /_synapse/admin/v1/registration_tokens, valid=true|false filtering. */
int
h_regtokens_list(struct mreq *req)
{
	struct mregtoken	*v;
	json_t			*arr;
	int64_t			 now = mclock_now_ms();
	size_t			 n;
	int			 valid = -1;

	if (api_query_bool(req, "valid", &valid) == -1)
		return -1;
	if (mstore_regtoken_list(req->db, &v, &n) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		if (valid == -1 || token_valid(&v[i], now) == valid)
			json_array_append_new(arr, token_obj(&v[i]));
	mregtoken_list_free(v, n);
	return mfcgi_reply(req, 200, json_pack("{s:o}", "registration_tokens", arr));
}

/* Replies with token (found, status 200) or 404 M_NOT_FOUND. */
static int
reply_token(struct mreq *req, const char *token)
{
	struct mregtoken	 t;
	int			 rc;

	if ((rc = mstore_regtoken_get(req->db, token, &t)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (rc == 0)
		return mfcgi_fail(req, MERR_NOT_FOUND, "No such registration token: %s", token);
	rc = mfcgi_reply(req, 200, token_obj(&t));
	mregtoken_fini(&t);
	return rc;
}

/*
 * Reads body member name: a non-negative integer (*set 1), null (*set 1,
 * *out -1) or absent (*set 0).  0, or -1 after 400 M_INVALID_PARAM.
 */
static int
int_or_null(struct mreq *req, const char *name, int64_t min, int *set, int64_t *out)
{
	json_t *v = json_object_get(req->body, name);

	*set = v != NULL;
	*out = -1;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min)
		return mfcgi_fail(req, MERR_INVALID_PARAM, "%s must be %s", name,
		    min > 0 ? "an integer not in the past" : "a non-negative integer");
	*out = json_integer_value(v);
	return 0;
}

/*
 * Synapse: POST /_synapse/admin/v1/registration_tokens/new: token (or a
 * random one of length, 16 by default), uses_allowed, expiry_time (not
 * in the past); 400 M_INVALID_PARAM for a token already in use.
 */
int
h_regtoken_new(struct mreq *req)
{
	json_t		*tv = json_object_get(req->body, "token"), *lv = json_object_get(req->body, "length");
	char		*tok = NULL;
	int64_t		 uses, expiry, len = 16;
	int		 set, rc;

	if (int_or_null(req, "uses_allowed", 0, &set, &uses) == -1 ||
	    int_or_null(req, "expiry_time", mclock_now_ms(), &set, &expiry) == -1)
		return -1;
	if (lv != NULL) {
		if (!json_is_integer(lv) || json_integer_value(lv) < 1 ||
		    json_integer_value(lv) > TOKEN_MAX)
			return mfcgi_fail(req, MERR_INVALID_PARAM,
			    "length must be an integer between 1 and 64");
		len = json_integer_value(lv);
	}
	if (tv != NULL) {
		const char *s = json_string_value(tv);

		if (s == NULL || *s == '\0' || strlen(s) > TOKEN_MAX || strspn(s, TOKEN_CHARS) != strlen(s))
			return mfcgi_fail(req, MERR_INVALID_PARAM,
			    "token must be 1 to 64 of the characters [A-Za-z0-9._~-]");
		tok = strdup(s);
	} else
		tok = mcrypto_random_string((size_t)len);
	if (tok == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	if ((rc = mstore_regtoken_add(req->db, tok, uses, expiry)) == MSTORE_CONFLICT)
		rc = mfcgi_fail(req, MERR_INVALID_PARAM, "Token already in use");
	else if (rc != 0)
		rc = mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	else
		rc = reply_token(req, tok);
	free(tok);
	return rc;
}

/* Synapse: GET /_synapse/admin/v1/registration_tokens/{token}. */
int
h_regtoken_get(struct mreq *req)
{
	return reply_token(req, req->params[0]);
}

/*
 * Synapse: PUT /_synapse/admin/v1/registration_tokens/{token}: members
 * present change (null: unlimited, never), absent ones stay.
 */
int
h_regtoken_put(struct mreq *req)
{
	int64_t	 uses, expiry;
	int	 set_uses, set_expiry;

	if (int_or_null(req, "uses_allowed", 0, &set_uses, &uses) == -1 ||
	    int_or_null(req, "expiry_time", mclock_now_ms(), &set_expiry, &expiry) == -1)
		return -1;
	/* An unknown token changes nothing; reply_token says 404. */
	if (mstore_regtoken_set(req->db, req->params[0], set_uses, uses, set_expiry, expiry) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return reply_token(req, req->params[0]);
}

/* Synapse: DELETE /_synapse/admin/v1/registration_tokens/{token}. */
int
h_regtoken_delete(struct mreq *req)
{
	int rc;

	if ((rc = mstore_regtoken_del(req->db, req->params[0])) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (rc == 0)
		return mfcgi_fail(req, MERR_NOT_FOUND, "No such registration token: %s",
		    req->params[0]);
	return mfcgi_reply(req, 200, json_object());
}

/*
 * Synapse: GET /_synapse/admin/v1/event_reports: from, limit, dir (b,
 * newest first, by default), user_id and room_id (contained in),
 * sender_user_id (the reported event's sender; event_sender_user_id too).  next_token is an
 * integer offset while more reports match.
 */
int
h_reports_list(struct mreq *req)
{
	struct madmin_reportq	 q;
	json_t			*reports, *out;
	char			*user = mreq_query(req, "user_id"), *room = mreq_query(req, "room_id");
	char			*sender = mreq_query(req, "sender_user_id");
	int64_t			 total;
	int			 backwards = 1, rc = -1;

	memset(&q, 0, sizeof(q));
	if (sender == NULL)
		sender = mreq_query(req, "event_sender_user_id");
	if (api_query_page(req, &q.from, &q.limit) == -1 || api_query_dir(req, &backwards) == -1)
		goto out;
	q.forwards = !backwards;
	q.user_id = user;
	q.room_id = room;
	q.sender = sender;
	if (mstore_event_reports(req->db, &q, &reports, &total) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	out = json_pack("{s:o,s:I}", "event_reports", reports, "total", (json_int_t)total);
	if (out != NULL && q.from + (int64_t)json_array_size(reports) < total)
		json_object_set_new(out, "next_token",
		    json_integer(q.from + (int64_t)json_array_size(reports)));
	rc = mfcgi_reply(req, 200, out);
out:
	free(user);
	free(room);
	free(sender);
	return rc;
}

/* The report ID of path parameter 0, or -1 after 400 M_INVALID_PARAM. */
static int64_t
report_id(struct mreq *req)
{
	int64_t	 n;

	if (mfcgi_num_parse(req->params[0], 0, INT64_MAX, NULL, &n) == -1)
		return mfcgi_fail(req, MERR_INVALID_PARAM,
		    "The report_id parameter must be a string representing a positive integer.");
	return n;
}

/* Synapse: GET /_synapse/admin/v1/event_reports/{reportId}, with event_json. */
int
h_report_get(struct mreq *req)
{
	json_t	*r;
	int64_t	 id;
	int	 rc;

	if ((id = report_id(req)) < 0)
		return -1;
	if ((rc = mstore_event_report_get(req->db, id, &r)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (rc == 0)
		return mfcgi_fail(req, MERR_NOT_FOUND, "Event report not found");
	return mfcgi_reply(req, 200, r);
}

/* Synapse: DELETE /_synapse/admin/v1/event_reports/{reportId}. */
int
h_report_delete(struct mreq *req)
{
	int64_t	 id;
	int	 rc;

	if ((id = report_id(req)) < 0)
		return -1;
	if ((rc = mstore_event_report_del(req->db, id)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (rc == 0)
		return mfcgi_fail(req, MERR_NOT_FOUND, "Event report not found");
	return mfcgi_reply(req, 200, json_object());
}
