/* Application services in myelin-client: queries, ping, third-party lookups. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "appsvc.h"
#include "appsvc/appsvc.h"
#include "clock/clock.h"
#include "json/json.h"
#include "log/log.h"
#include "store/store.h"

int
as_user_get(struct mreq *req, const char *user_id, struct muser *u)
{
	int	 rc;

	if ((rc = mstore_user_get(req->db, user_id, u)) != 0 || req->conf->appservicesz == 0)
		return rc;
	/* Spec: GET /_matrix/app/v1/users/{userId}: a 200 means it was created. */
	if (!mappsvc_query(req->conf, MAPPSVC_USERS, user_id))
		return 0;
	return mstore_user_get(req->db, user_id, u);
}

int
as_alias_get(struct mreq *req, const char *alias, char **room_id, char **creator)
{
	int	 rc;

	if ((rc = mstore_alias_get(req->db, alias, room_id, creator)) != 0 ||
	    req->conf->appservicesz == 0)
		return rc;
	if (!mappsvc_query(req->conf, MAPPSVC_ALIASES, alias))
		return 0;
	return mstore_alias_get(req->db, alias, room_id, creator);
}

int
as_alias_may_create(struct mreq *req, const char *alias)
{
	const struct mappsvc *as = req->auth.appservice;

	if (as != NULL && !mappsvc_match(as, MAPPSVC_ALIASES, alias, 0) &&
	    mappsvc_exclusive(req->conf, MAPPSVC_ALIASES, alias, NULL) != NULL)
		return mfcgi_fail(req, MERR_EXCLUSIVE,
		    "This application service has not reserved this kind of alias.");
	if (mappsvc_exclusive(req->conf, MAPPSVC_ALIASES, alias, as) != NULL &&
	    (as == NULL || !mappsvc_match(as, MAPPSVC_ALIASES, alias, 0)))
		return mfcgi_fail(req, MERR_EXCLUSIVE,
		    "This alias is reserved by an application service.");
	return 0;
}

/* The service of the request's as_token, else 403 M_FORBIDDEN. */
static const struct mappsvc *
as_of(struct mreq *req)
{
	if (req->auth.appservice == NULL)
		mfcgi_fail(req, MERR_FORBIDDEN, "Only application services may do this");
	return req->auth.appservice;
}

/*
 * Spec: C-S API, POST /_matrix/client/v1/appservice/{appserviceId}/ping
 * (v1.7): the service's own as_token (403 M_FORBIDDEN otherwise), POST
 * /_matrix/app/v1/ping with the transaction_id given; 400 M_URL_NOT_SET
 * without a URL, 502 M_CONNECTION_FAILED or 504 M_CONNECTION_TIMEOUT
 * without an answer, 502 M_BAD_STATUS with its status and body for an
 * answer other than 200.
 */
int
h_as_ping(struct mreq *req)
{
	const struct mappsvc	*as;
	const json_t		*txn = json_object_get(req->body, "transaction_id");
	json_t			*body, *ans = NULL;
	char			 err[256];
	int64_t			 t0;
	long			 status;

	if ((as = as_of(req)) == NULL)
		return -1;
	if (strcmp(as->id, req->params[0]) != 0)
		return mfcgi_fail(req, MERR_FORBIDDEN, "Provided as_token is not for this"
		    " application service");
	if (txn != NULL && !json_is_string(txn))
		return mfcgi_fail(req, MERR_BAD_JSON, "transaction_id must be a string");
	if (as->url == NULL)
		return mfcgi_fail(req, MERR_URL_NOT_SET, "Application service URL is not set");
	if ((body = txn != NULL ? json_pack("{s:O}", "transaction_id", txn) : json_object()) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	t0 = mclock_now_ms();
	status = mappsvc_call(req->conf, as, "POST", "/_matrix/app/v1/ping", body, &ans, err,
	    sizeof(err));
	json_decref(body);
	if (status == 200) {
		json_decref(ans);
		return mfcgi_reply(req, 200, json_pack("{s:I}", "duration_ms",
		    (json_int_t)(mclock_now_ms() - t0)));
	}
	if (status == 0) {
		json_decref(ans);
		if (strstr(err, "imeout") != NULL || strstr(err, "timed out") != NULL)
			return mfcgi_fail(req, MERR_CONNECTION_TIMEOUT, "Connection to application"
			    " service timed out");
		return mfcgi_fail(req, MERR_CONNECTION_FAILED, "Connection to application"
		    " service failed");
	}
	mfcgi_fail(req, MERR_BAD_STATUS, "Application service responded with an error");
	mfcgi_fail_add(req, "status", json_integer(status));
	{
		char *js = ans != NULL ? json_dumps(ans, JSON_COMPACT) : NULL;

		mfcgi_fail_add(req, "body", json_string(js != NULL ? js : ""));
		free(js);
	}
	json_decref(ans);
	return -1;
}

/*
 * Spec: C-S API, PUT /directory/list/appservice/{networkId}/{roomId}:
 * a service lists a room in its network's directory (visibility public)
 * or takes it out (private; DELETE, as Synapse has it, too).  The
 * service's as_token only (403 M_FORBIDDEN); 404 M_NOT_FOUND for an
 * unknown room.
 */
static int
as_room_list(struct mreq *req, int listed)
{
	const struct mappsvc	*as;
	struct mroom		 room;
	int			 rc;

	if ((as = as_of(req)) == NULL)
		return -1;
	if ((rc = mstore_room_get(req->db, req->params[1], &room)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (rc == 0)
		return mfcgi_fail(req, MERR_NOT_FOUND, "Room not found");
	mroom_fini(&room);
	if (mstore_appservice_room_put(req->db, as->id, req->params[0], req->params[1],
	    listed) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return mfcgi_reply(req, 200, json_object());
}

int
h_as_room_list_put(struct mreq *req)
{
	const json_t	*v = json_object_get(req->body, "visibility");
	const char	*vis = json_string_value(v);

	if (v == NULL || vis == NULL || (strcmp(vis, "public") != 0 && strcmp(vis, "private") != 0))
		return mfcgi_fail(req, MERR_INVALID_PARAM, "visibility must be public or private");
	return as_room_list(req, strcmp(vis, "public") == 0);
}

int
h_as_room_list_delete(struct mreq *req)
{
	return as_room_list(req, 0);
}

json_t *
as_public_rooms(struct mreq *req, const char *instance_id)
{
	json_t		*ids, *out, *s;
	const json_t	*v;
	const char	*bar;
	char		*as_id = NULL;
	size_t		 i;

	if (instance_id != NULL) {
		/* Synapse's instance IDs: "APPSERVICE_ID|NETWORK_ID". */
		if ((bar = strchr(instance_id, '|')) == NULL)
			return json_array();
		if ((as_id = strndup(instance_id, (size_t)(bar - instance_id))) == NULL)
			return NULL;
		ids = mstore_appservice_rooms(req->db, as_id, bar + 1);
		free(as_id);
	} else
		ids = mstore_appservice_rooms(req->db, NULL, NULL);
	if (ids == NULL || (out = json_array()) == NULL) {
		json_decref(ids);
		return NULL;
	}
	json_array_foreach(ids, i, v) {
		if (mstore_room_summary(req->db, json_string_value(v), &s) == 1)
			json_array_append_new(out, s);
	}
	json_decref(ids);
	return out;
}

/* A path segment escaped for a URL (curl_free it), or NULL. */
static char *
esc(const char *s)
{
	return curl_easy_escape(NULL, s, 0);
}

/*
 * Protocol descriptions change when a bridge is reconfigured: as
 * Synapse, each is kept a while (per process) and served from memory.
 */
#define PROTOCOL_CACHE_MS	(5 * 60 * 1000)
static pthread_mutex_t	 protocol_lock = PTHREAD_MUTEX_INITIALIZER;
static json_t		*protocol_cache;	/* p -> {"ts": ms, "v": description} */

static json_t *protocol_ask(struct mreq *, const char *);

/* The protocol description of p, merged from every service naming it: NULL when none answered. */
static json_t *
protocol_of(struct mreq *req, const char *p)
{
	json_t	*e, *v = NULL;
	int64_t	 now = mclock_now_ms();

	pthread_mutex_lock(&protocol_lock);
	if ((e = json_object_get(protocol_cache, p)) != NULL &&
	    now - json_integer_value(json_object_get(e, "ts")) < PROTOCOL_CACHE_MS)
		v = json_deep_copy(json_object_get(e, "v"));
	pthread_mutex_unlock(&protocol_lock);
	if (v != NULL || (v = protocol_ask(req, p)) == NULL)
		return v;
	pthread_mutex_lock(&protocol_lock);
	if (protocol_cache == NULL)
		protocol_cache = json_object();
	json_object_set_new(protocol_cache, p, json_pack("{s:I,s:o}", "ts", (json_int_t)now,
	    "v", json_deep_copy(v)));
	pthread_mutex_unlock(&protocol_lock);
	return v;
}

static json_t *
protocol_ask(struct mreq *req, const char *p)
{
	json_t	*merged = NULL, *ans, *inst;
	char	*e, *path = NULL, err[256];

	if ((e = esc(p)) == NULL || asprintf(&path, "/_matrix/app/v1/thirdparty/protocol/%s", e) == -1)
		path = NULL;
	curl_free(e);
	for (size_t i = 0; path != NULL && i < req->conf->appservicesz; i++) {
		const struct mappsvc *as = &req->conf->appservices[i];

		if (!mappsvc_has_protocol(as, p))
			continue;
		if (mappsvc_call(req->conf, as, "GET", path, NULL, &ans, err, sizeof(err)) != 200 ||
		    !json_is_object(ans)) {
			json_decref(ans);
			continue;
		}
		/* Synapse: the first answer's fields, every answer's instances. */
		inst = json_object_get(ans, "instances");
		if (merged == NULL) {
			merged = ans;
			if (!json_is_array(inst))
				json_object_set_new(merged, "instances", json_array());
			continue;
		}
		if (json_is_array(inst))
			json_array_extend(json_object_get(merged, "instances"), inst);
		json_decref(ans);
	}
	free(path);
	return merged;
}

/* Spec: C-S API, GET /thirdparty/protocols. */
int
h_tp_protocols(struct mreq *req)
{
	json_t	*out = json_object(), *p;

	for (size_t i = 0; i < req->conf->appservicesz; i++) {
		const struct mappsvc *as = &req->conf->appservices[i];

		for (size_t j = 0; j < as->protocolsz; j++) {
			if (json_object_get(out, as->protocols[j]) != NULL)
				continue;
			if ((p = protocol_of(req, as->protocols[j])) != NULL)
				json_object_set_new(out, as->protocols[j], p);
		}
	}
	return mfcgi_reply(req, 200, out);
}

/* Spec: C-S API, GET /thirdparty/protocol/{protocol}: 404 M_NOT_FOUND when unknown. */
int
h_tp_protocol(struct mreq *req)
{
	json_t *p = protocol_of(req, req->params[0]);

	if (p == NULL)
		return mfcgi_fail(req, MERR_NOT_FOUND, "The protocol is unknown");
	return mfcgi_reply(req, 200, p);
}

/*
 * The query string without access_token (the client's, never passed
 * on): malloc'd, or NULL.
 */
static char *
query_fwd(const struct mreq *req)
{
	char	*q = strdup(req->query), *out, *tok, *save = NULL;
	size_t	 n = 0;

	if (q == NULL || (out = calloc(1, strlen(req->query) + 1)) == NULL) {
		free(q);
		return NULL;
	}
	for (tok = strtok_r(q, "&", &save); tok != NULL; tok = strtok_r(NULL, "&", &save)) {
		if (strncmp(tok, "access_token=", 13) == 0 || strcmp(tok, "access_token") == 0 ||
		    strncmp(tok, "user_id=", 8) == 0)
			continue;
		n += (size_t)sprintf(out + n, "%s%s", n > 0 ? "&" : "", tok);
	}
	free(q);
	return out;
}

/*
 * Asks kind ("location", "user") of the services naming protocol (NULL:
 * every service with protocols), with the client's query, and answers
 * the concatenation of their lists.
 */
static int
tp_lookup(struct mreq *req, const char *kind, const char *protocol)
{
	json_t	*out = NULL, *ans;
	char	*q = NULL, *e = NULL, *path = NULL, err[256];
	int	 named = 0;

	if ((q = query_fwd(req)) == NULL || (protocol != NULL && (e = esc(protocol)) == NULL) ||
	    asprintf(&path, "/_matrix/app/v1/thirdparty/%s%s%s%s%s", kind, e != NULL ? "/" : "",
	    e != NULL ? e : "", q[0] != '\0' ? "?" : "", q) == -1 || (out = json_array()) == NULL) {
		free(q);
		curl_free(e);
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	}
	for (size_t i = 0; i < req->conf->appservicesz; i++) {
		const struct mappsvc *as = &req->conf->appservices[i];

		if (protocol != NULL ? !mappsvc_has_protocol(as, protocol) : as->protocolsz == 0)
			continue;
		named = 1;
		if (mappsvc_call(req->conf, as, "GET", path, NULL, &ans, err, sizeof(err)) == 200 &&
		    json_is_array(ans))
			json_array_extend(out, ans);
		json_decref(ans);
	}
	free(q);
	curl_free(e);
	free(path);
	if (protocol != NULL && !named) {
		json_decref(out);
		return mfcgi_fail(req, MERR_NOT_FOUND, "The protocol is unknown");
	}
	return mfcgi_reply(req, 200, out);
}

int
h_tp_location_p(struct mreq *req)
{
	return tp_lookup(req, "location", req->params[0]);
}

int
h_tp_user_p(struct mreq *req)
{
	return tp_lookup(req, "user", req->params[0]);
}

int
h_tp_location(struct mreq *req)
{
	return tp_lookup(req, "location", NULL);
}

int
h_tp_user(struct mreq *req)
{
	return tp_lookup(req, "user", NULL);
}
