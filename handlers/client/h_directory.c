/* The room directory, room aliases, knocking, forgetting rooms, reporting events. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appsvc.h"
#include "directory.h"
#include "events/events.h"
#include "fed/fed.h"
#include "json/json.h"
#include "log/log.h"
#include "rooms.h"
#include "store/store.h"

/* Current state lookups for a probe event, each state event fetched once. */
struct probeview {
	struct mroom_ctx	*ctx;
	const char		*room_id;
	json_t			*cache;		/* key -> event, or null when absent */
	int			 err;
};

static const json_t *
probe_get(void *arg, const char *type, const char *state_key)
{
	struct probeview	*v = arg;
	json_t			*ev;
	char			*k;
	int			 err;

	if ((k = mstate_key_join(type, state_key)) == NULL) {
		v->err = 1;
		return NULL;
	}
	if ((ev = json_object_get(v->cache, k)) == NULL) {
		ev = mroom_state_get(v->ctx, v->room_id, type, state_key, &err);
		if (err)
			v->err = 1;
		json_object_set_new(v->cache, k, ev != NULL ? ev : json_null());
	}
	free(k);
	return json_is_null(ev) ? NULL : ev;
}

/*
 * The question "may this user send that state event?" is the one the
 * auth rules answer for a real event (membership, power levels, v12
 * creators), so it is asked of them about an event never sent.
 */
int
dir_may_send_state(struct mroom_ctx *ctx, const char *room_id, const char *user_id,
    const char *type)
{
	struct mroom		 room;
	const struct mroomver	*ver;
	struct probeview	 pv;
	json_t			*ev = NULL;
	char			 why[256];
	int			 rc = -1, ok;

	memset(&pv, 0, sizeof(pv));
	if (mstore_room_get(ctx->db, room_id, &room) != 1)
		return -1;
	if ((ver = mroomver_get(room.version)) == NULL)
		goto out;
	pv.ctx = ctx;
	pv.room_id = room_id;
	if ((pv.cache = json_object()) == NULL ||
	    (ev = json_pack("{s:s,s:s,s:s,s:s,s:{}}", "room_id", room_id, "sender", user_id,
	    "type", type, "state_key", "", "content")) == NULL)
		goto out;
	ok = mevent_auth_check(ev, ver, probe_get, &pv, why, sizeof(why));
	rc = pv.err ? -1 : ok;
out:
	json_decref(ev);
	json_decref(pv.cache);
	mroom_fini(&room);
	return rc;
}

/* 1 when room_id is a room here, 0 after failing the request with 404, -1 after 500. */
static int
room_known(struct mreq *req, const char *room_id)
{
	struct mroom	 room;
	int		 rc;

	if ((rc = mstore_room_get(req->db, room_id, &room)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	mroom_fini(&room);
	if (rc == 0)
		mfcgi_fail(req, MERR_NOT_FOUND, "Room not found");
	return rc;
}

/* Spec: C-S API, GET /directory/list/room/{roomId}: 404 M_NOT_FOUND when unknown. */
int
h_dir_visibility_get(struct mreq *req)
{
	struct mroom	 room;
	int		 rc;

	if ((rc = mstore_room_get(req->db, req->params[0], &room)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (rc == 0)
		return mfcgi_fail(req, MERR_NOT_FOUND, "Room not found");
	rc = mfcgi_reply(req, 200, json_pack("{s:s}", "visibility",
	    room.is_public ? "public" : "private"));
	mroom_fini(&room);
	return rc;
}

/*
 * Spec: C-S API, PUT /directory/list/room/{roomId}: visibility defaults
 * to public; 404 M_NOT_FOUND for unknown rooms.  The spec lets servers
 * add access checks; as Synapse (Auth.check_can_change_room_list), a
 * server admin may, and so may a joined member with the power to send
 * m.room.canonical_alias; anyone else gets 403 M_FORBIDDEN, guests too.
 */
int
h_dir_visibility_put(struct mreq *req)
{
	struct mroom_ctx	 ctx;
	json_t			*v = json_object_get(req->body, "visibility");
	const char		*vis = v != NULL ? json_string_value(v) : "public";
	int			 rc;

	if (vis == NULL || (strcmp(vis, "public") != 0 && strcmp(vis, "private") != 0))
		return mfcgi_fail(req, MERR_INVALID_PARAM, "visibility must be public or private");
	if (req->auth.is_guest)
		return mfcgi_fail(req, MERR_FORBIDDEN, "Guests cannot edit the room directory");
	if (room_known(req, req->params[0]) != 1)
		return -1;
	if (!req->auth.is_admin) {
		room_ctx(req, &ctx);
		if ((rc = dir_may_send_state(&ctx, req->params[0], req->auth.user_id,
		    "m.room.canonical_alias")) == -1)
			return mfcgi_fail(req, MERR_INTERNAL, "%s: auth check failed", __func__);
		if (rc == 0)
			return mfcgi_fail(req, MERR_FORBIDDEN,
			    "You need to be a moderator of the room to publish it");
	}
	if (mstore_room_set_public(req->db, req->params[0], strcmp(vis, "public") == 0) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return mfcgi_reply(req, 200, json_object());
}

/* The directory's order: most joined members first, then room ID descending. */
static int
summary_cmp(const void *a, const void *b)
{
	return mstore_public_room_cmp(*(const json_t *const *)a, *(const json_t *const *)b);
}

/*
 * The rooms of the services' lists (instance NULL: every list) added to
 * all, each room once, in the directory's order.  0 or -1.
 */
static int
network_rooms(struct mreq *req, json_t *all, const char *instance)
{
	json_t		*more = as_public_rooms(req, instance), **v;
	const json_t	*r, *o;
	size_t		 i, j, n;
	int		 dup;

	if (more == NULL)
		return -1;
	json_array_foreach(more, i, r) {
		dup = 0;
		json_array_foreach(all, j, o)
			dup |= strcmp(mjson_str(o, "room_id"), mjson_str(r, "room_id")) == 0;
		if (!dup)
			json_array_append(all, (json_t *)r);
	}
	json_decref(more);
	if ((n = json_array_size(all)) < 2)
		return 0;
	if ((v = calloc(n, sizeof(json_t *))) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(all, i));
	qsort(v, n, sizeof(json_t *), summary_cmp);
	json_array_clear(all);
	for (i = 0; i < n; i++)
		json_array_append_new(all, v[i]);
	free(v);
	return 0;
}

/*
 * The shared part of GET and POST /publicRooms, one page
 * (mstore_public_rooms_page, also the federation API's).
 */
static int
public_rooms(struct mreq *req, int64_t limit, const char *since, const char *search,
    const json_t *types, const char *server, const char *instance, int all_networks)
{
	json_t	*all, *out;
	int	 bad;

	/* Spec: server, "Defaults to the local server. Case sensitive." (others: public_rooms_remote). */
	(void)server;
	/*
	 * Application services' networks (third_party_instance_id) list their
	 * rooms alone; include_all_networks adds them to the server's.
	 * XXX the search filter and room types apply to the server's rooms.
	 */
	all = instance != NULL ? json_array() : mstore_public_rooms(req->db, search, types);
	if (all != NULL && (instance != NULL || all_networks) &&
	    network_rooms(req, all, instance) == -1) {
		json_decref(all);
		all = NULL;
	}
	if ((out = mstore_public_rooms_page(all, limit, since, &bad)) == NULL)
		return bad ? mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid since token") :
		    mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return mfcgi_reply(req, 200, out);
}

/*
 * Another server's directory (the spec's server parameter), asked of it
 * over federation as Synapse asks: GET with limit and since, or POST
 * with the client's body when it has more.  The page is passed on;
 * no answer, or an error, is 502 "Failed to fetch room list", as
 * Synapse answers.  A server parameter that is no server name is 400
 * M_INVALID_PARAM.
 */
static int
public_rooms_remote(struct mreq *req, const char *server, int64_t limit, const char *since,
    const json_t *body)
{
	struct mfed_name	 n;
	json_t			*reply = NULL, *out, *v;
	char			*path = NULL, *tok = NULL;
	long			 status;
	int			 rc;

	if (mfed_name_parse(server, &n) == -1)
		return mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid server name");
	if (since != NULL && (tok = mfed_escape(since)) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	if (body != NULL)
		rc = asprintf(&path, "/_matrix/federation/v1/publicRooms");
	else if (limit > 0)
		rc = asprintf(&path, "/_matrix/federation/v1/publicRooms?limit=%lld%s%s",
		    (long long)limit, tok != NULL ? "&since=" : "", tok != NULL ? tok : "");
	else
		rc = asprintf(&path, "/_matrix/federation/v1/publicRooms%s%s",
		    tok != NULL ? "?since=" : "", tok != NULL ? tok : "");
	free(tok);
	if (rc == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	rc = mfed_request(req->conf, req->srv->key, server, body != NULL ? "POST" : "GET", path,
	    body, &status, &reply);
	free(path);
	if (rc == -1 || status != 200 || !json_is_array(json_object_get(reply, "chunk"))) {
		json_decref(reply);
		return mfcgi_fail(req, MERR_BAD_GATEWAY, "Failed to fetch room list");
	}
	out = json_pack("{s:O}", "chunk", json_object_get(reply, "chunk"));
	if (out != NULL && json_is_string(v = json_object_get(reply, "next_batch")))
		json_object_set(out, "next_batch", v);
	if (out != NULL && json_is_string(v = json_object_get(reply, "prev_batch")))
		json_object_set(out, "prev_batch", v);
	if (out != NULL && json_is_integer(v = json_object_get(reply, "total_room_count_estimate")))
		json_object_set(out, "total_room_count_estimate", v);
	json_decref(reply);
	return mfcgi_reply(req, 200, out);
}

/* Spec: C-S API, GET /publicRooms (limit, since, server); no token needed. */
int
h_public_rooms_get(struct mreq *req)
{
	char	*since = mreq_query(req, "since"), *server = mreq_query(req, "server");
	int64_t	 limit;
	int	 rc = -1;

	if (mreq_query_int(req, "limit", 0, 0, INT64_MAX, &limit) == 0 && server != NULL &&
	    strcmp(server, req->conf->server_name) != 0)
		rc = public_rooms_remote(req, server, limit, since, NULL);
	else if (!req->failed)
		rc = public_rooms(req, limit, since, NULL, NULL, server, NULL, 0);
	free(since);
	free(server);
	return rc;
}

/*
 * Spec: C-S API, POST /publicRooms: limit, since, filter
 * (generic_search_term, room_types), include_all_networks,
 * third_party_instance_id.  No application service publishes networks
 * here, so a third_party_instance_id lists nothing, and
 * include_all_networks lists what the server itself publishes.
 */
int
h_public_rooms_post(struct mreq *req)
{
	json_t		*b = req->body, *filter = json_object_get(b, "filter");
	json_t		*v, *types = NULL;
	const char	*since = mjson_str(b, "since"), *search = NULL;
	char		*server = mreq_query(req, "server");
	int64_t		 limit = 0;
	int		 all, network, rc;
	size_t		 i;

	if ((v = json_object_get(b, "limit")) != NULL && !json_is_integer(v) && !json_is_null(v))
		goto bad;
	if (json_is_integer(v) && (limit = json_integer_value(v)) < 0) {
		free(server);
		return mfcgi_fail(req, MERR_INVALID_PARAM, "limit must not be negative");
	}
	if ((json_object_get(b, "since") != NULL && since == NULL &&
	    !json_is_null(json_object_get(b, "since"))) ||
	    (filter != NULL && !json_is_object(filter) && !json_is_null(filter)))
		goto bad;
	if (json_is_object(filter)) {
		v = json_object_get(filter, "generic_search_term");
		if (v != NULL && !json_is_string(v) && !json_is_null(v))
			goto bad;
		search = json_string_value(v);
		types = json_object_get(filter, "room_types");
		if (types != NULL && !json_is_array(types) && !json_is_null(types))
			goto bad;
		json_array_foreach(types, i, v)
			if (!json_is_string(v) && !json_is_null(v))
				goto bad;
	}
	v = json_object_get(b, "include_all_networks");
	if (v != NULL && !json_is_boolean(v))
		goto bad;
	all = json_is_true(v);
	v = json_object_get(b, "third_party_instance_id");
	if (v != NULL && !json_is_string(v) && !json_is_null(v))
		goto bad;
	network = !all && json_is_string(v);
	if (server != NULL && strcmp(server, req->conf->server_name) != 0) {
		json_t	*fwd = json_object();
		void	*it;

		/* What the spec's federation POST takes, as the client sent it. */
		for (it = json_object_iter(b); it != NULL; it = json_object_iter_next(b, it)) {
			const char *k = json_object_iter_key(it);

			if (strcmp(k, "limit") == 0 || strcmp(k, "since") == 0 ||
			    strcmp(k, "filter") == 0 || strcmp(k, "include_all_networks") == 0 ||
			    strcmp(k, "third_party_instance_id") == 0)
				json_object_set(fwd, k, json_object_iter_value(it));
		}
		rc = public_rooms_remote(req, server, limit, since, fwd);
		json_decref(fwd);
	} else
		rc = public_rooms(req, limit, since, search, types, server,
		    network ? json_string_value(json_object_get(b, "third_party_instance_id")) : NULL,
		    all);
	free(server);
	return rc;
bad:
	free(server);
	return mfcgi_fail(req, MERR_BAD_JSON, "Invalid type of a parameter");
}

/*
 * Spec: C-S API, POST /rooms/{roomId}/forget.  As Synapse
 * (RoomMemberHandler.forget): 400 M_UNKNOWN while the user is joined,
 * invited or knocking; after a leave or a ban the forgetting is stored;
 * with no membership at all there is nothing to forget and the answer
 * is still 200.  Forgetting again is harmless.  What it changes: the
 * room leaves the user's room lists (mstore_forgotten_rooms, for /sync),
 * and the history stays closed to them, as /messages and the other
 * reads already ask for a joined user.  Joining again ends it.
 */
int
h_forget(struct mreq *req)
{
	struct mroom_ctx	 ctx;
	json_t			*ev;
	const char		*m;
	int			 err, rc;

	room_ctx(req, &ctx);
	ev = mroom_state_get(&ctx, req->params[0], "m.room.member", req->auth.user_id, &err);
	if (err)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (ev == NULL)
		return mfcgi_reply(req, 200, json_object());
	m = mjson_str(json_object_get(ev, "content"), "membership");
	if (m == NULL || (strcmp(m, "leave") != 0 && strcmp(m, "ban") != 0)) {
		json_decref(ev);
		return mfcgi_fail(req, MERR_UNKNOWN, "User %s is in room %s", req->auth.user_id,
		    req->params[0]);
	}
	rc = mstore_room_forget(req->db, req->auth.user_id, req->params[0],
	    mjson_str(ev, "event_id"));
	json_decref(ev);
	if (rc == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return mfcgi_reply(req, 200, json_object());
}

/*
 * Spec: C-S API, POST /rooms/{roomId}/report/{eventId}: reason; score,
 * which v1.18 dropped, is still taken and kept when an integer, as
 * Synapse does for older clients.  404 M_NOT_FOUND when the event is
 * unknown, in another room, redacted (the spec allows it, and there is
 * nothing left to judge), or when the reporter is not joined to the room.
 */
int
h_report_event(struct mreq *req)
{
	struct mroom_ctx	 ctx;
	struct mevrow		 row;
	json_t			*reason = json_object_get(req->body, "reason");
	json_t			*score = json_object_get(req->body, "score");
	int64_t			 sc;
	char			*m;
	int			 joined, rc;

	if ((reason != NULL && !json_is_string(reason) && !json_is_null(reason)) ||
	    (score != NULL && !json_is_integer(score) && !json_is_null(score)))
		return mfcgi_fail(req, MERR_BAD_JSON, "reason must be a string, score an integer");
	room_ctx(req, &ctx);
	m = mroom_membership(&ctx, req->params[0], req->auth.user_id);
	joined = m != NULL && strcmp(m, "join") == 0;
	free(m);
	if (!joined)
		return mfcgi_fail(req, MERR_NOT_FOUND,
		    "The event was not found or you are not joined to the room");
	if ((rc = mstore_event_get(req->db, req->params[1], &row)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (rc == 0 || strcmp(row.room_id, req->params[0]) != 0 || row.rejected != NULL ||
	    row.redacted_by != NULL) {
		mevrow_fini(&row);
		return mfcgi_fail(req, MERR_NOT_FOUND,
		    "The event was not found or you are not joined to the room");
	}
	mevrow_fini(&row);
	sc = json_integer_value(score);
	if (mstore_event_report_add(req->db, req->params[0], req->params[1], req->auth.user_id,
	    json_string_value(reason), json_is_integer(score) ? &sc : NULL) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return mfcgi_reply(req, 200, json_object());
}

/*
 * Room aliases.  Spec: C-S API, "Room aliases"; who may create and
 * delete them is left to servers, and myelin does as Synapse 1.67.
 */

/* 1 when alias is one by the spec's grammar, else 0 after failing with 400 M_INVALID_PARAM. */
static int
alias_param(struct mreq *req, const char *alias)
{
	if (mroom_alias_check(alias))
		return 1;
	mfcgi_fail(req, MERR_INVALID_PARAM, "Room alias invalid");
	return 0;
}

/*
 * Spec: C-S API, PUT /directory/room/{roomAlias}: 400 M_INVALID_PARAM
 * for an alias that is not one, 409 M_UNKNOWN when taken.  As Synapse
 * (require_membership_for_aliases, its default): the alias is on this
 * server, without whitespace in its localpart (M_INVALID_PARAM), and its
 * creator is joined to the room unless a server admin (403
 * M_FORBIDDEN); no power level is needed.  An unknown room is 404
 * M_NOT_FOUND (Synapse: 400 M_UNKNOWN).
 */
int
h_alias_put(struct mreq *req)
{
	const char		*alias = req->params[0];
	const json_t		*rid = json_object_get(req->body, "room_id");
	const char		*room_id = json_string_value(rid);
	struct mroom_ctx	 ctx;
	char			*m;
	int			 rc;

	if (!alias_param(req, alias))
		return -1;
	if (!mroom_alias_new_check(alias, req->conf->server_name))
		return mfcgi_fail(req, MERR_INVALID_PARAM,
		    "Room alias must be on this server, without whitespace");
	if (rid == NULL)
		return mfcgi_fail(req, MERR_MISSING_PARAM, "Missing room_id");
	if (room_id == NULL)
		return mfcgi_fail(req, MERR_BAD_JSON, "room_id must be a string");
	if (room_known(req, room_id) != 1)
		return -1;
	if (as_alias_may_create(req, alias) == -1)
		return -1;
	/* Synapse: a service creates the aliases of its namespace anywhere. */
	if (!req->auth.is_admin && req->auth.appservice == NULL) {
		room_ctx(req, &ctx);
		m = mroom_membership(&ctx, room_id, req->auth.user_id);
		rc = m != NULL && strcmp(m, "join") == 0;
		free(m);
		if (!rc)
			return mfcgi_fail(req, MERR_FORBIDDEN,
			    "You must be in the room to create an alias for it");
	}
	switch (mstore_alias_add(req->db, alias, room_id, req->auth.user_id)) {
	case 0:
		return mfcgi_reply(req, 200, json_object());
	case MSTORE_CONFLICT:
		/* Spec: 409 with M_UNKNOWN; Synapse says the same. */
		return mfcgi_fail(req, MERR_CONFLICT, "Room alias %s already exists", alias);
	default:
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	}
}

/*
 * Another server's alias, asked of it over federation (S-S API, GET
 * /query/directory), as Synapse asks: its 404 is ours, no answer or
 * another error 502.  The answer must name a room ID and a list of
 * server names, which are passed on.
 */
static int
alias_remote(struct mreq *req, const char *server)
{
	json_t		*reply = NULL, *servers, *v;
	const char	*room_id;
	char		*alias, *path = NULL;
	long		 status;
	size_t		 i;
	int		 rc;

	if ((alias = mfed_escape(req->params[0])) == NULL ||
	    asprintf(&path, "/_matrix/federation/v1/query/directory?room_alias=%s", alias) == -1) {
		free(alias);
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	}
	free(alias);
	rc = mfed_request(req->conf, req->srv->key, server, "GET", path, NULL, &status, &reply);
	free(path);
	if (rc == 0 && status == 404) {
		json_decref(reply);
		return mfcgi_fail(req, MERR_NOT_FOUND, "Room alias not found");
	}
	room_id = mjson_str(reply, "room_id");
	servers = json_object_get(reply, "servers");
	if (rc == -1 || status != 200 || room_id == NULL || room_id[0] != '!' ||
	    !json_is_array(servers)) {
		json_decref(reply);
		return mfcgi_fail(req, MERR_BAD_GATEWAY, "Failed to fetch alias");
	}
	json_array_foreach(servers, i, v)
		if (!json_is_string(v)) {
			json_decref(reply);
			return mfcgi_fail(req, MERR_BAD_GATEWAY, "Failed to fetch alias");
		}
	rc = mfcgi_reply(req, 200, json_pack("{s:s,s:O}", "room_id", room_id, "servers", servers));
	json_decref(reply);
	return rc;
}

/*
 * Spec: C-S API, GET /directory/room/{roomAlias}: 400 M_INVALID_PARAM,
 * 404 M_NOT_FOUND.  Another server's alias is asked of it (alias_remote).
 */
int
h_alias_get(struct mreq *req)
{
	char	*room_id = NULL;
	int	 rc;

	if (!alias_param(req, req->params[0]))
		return -1;
	if (strcmp(strchr(req->params[0], ':') + 1, req->conf->server_name) != 0)
		return alias_remote(req, strchr(req->params[0], ':') + 1);
	if ((rc = as_alias_get(req, req->params[0], &room_id, NULL)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (rc == 0)
		return mfcgi_fail(req, MERR_NOT_FOUND, "Room alias not found");
	rc = mfcgi_reply(req, 200, json_pack("{s:s,s:[s]}", "room_id", room_id, "servers",
	    req->conf->server_name));
	free(room_id);
	return rc;
}

/*
 * As Synapse (DirectoryHandler._user_can_delete_alias): the alias's
 * creator, a server admin, or a joined member with the power to send
 * m.room.canonical_alias (check_can_change_room_list).  1, 0, or -1.
 */
static int
may_delete_alias(struct mreq *req, const char *room_id, const char *creator)
{
	struct mroom_ctx ctx;

	if ((creator != NULL && strcmp(creator, req->auth.user_id) == 0) || req->auth.is_admin)
		return 1;
	room_ctx(req, &ctx);
	return dir_may_send_state(&ctx, room_id, req->auth.user_id, "m.room.canonical_alias");
}

/*
 * Spec: C-S API, DELETE /directory/room/{roomAlias}: 404 M_NOT_FOUND
 * when there is none (remote aliases included); 403 M_FORBIDDEN for
 * anyone may_delete_alias refuses.  As the spec suggests and Synapse
 * does, the room's m.room.canonical_alias loses the alias (alias or
 * alt_aliases) by a new event from the deleting user, in the same
 * transaction; when they may not send it (or are shadow-banned) the
 * alias is deleted all the same and the state stays.
 */
int
h_alias_delete(struct mreq *req)
{
	const char		*alias = req->params[0];
	struct mroom_ctx	 ctx;
	char			*room_id = NULL, *creator = NULL, *eid = NULL;
	enum mroom_err		 e = MROOM_OK;
	int			 rc = -1, ok;

	if (!alias_param(req, alias))
		return -1;
	if ((ok = mstore_alias_get(req->db, alias, &room_id, &creator)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (ok == 0)
		return mfcgi_fail(req, MERR_NOT_FOUND, "Room alias not found");
	if ((ok = may_delete_alias(req, room_id, creator)) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: auth check failed", __func__);
		goto out;
	}
	if (ok == 0) {
		mfcgi_fail(req, MERR_FORBIDDEN, "You don't have permission to delete the alias");
		goto out;
	}
	if (mdb_begin(req->db) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: cannot begin", __func__);
		goto out;
	}
	if ((ok = mstore_alias_del(req->db, alias)) != 1) {
		mdb_rollback(req->db);
		if (ok == 0)
			mfcgi_fail(req, MERR_NOT_FOUND, "Room alias not found");
		else
			mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	room_ctx(req, &ctx);
	if (!req->auth.is_shadow_banned)
		e = mroom_canonical_alias_drop(&ctx, room_id, req->auth.user_id, alias, &eid);
	if (e == MROOM_FORBIDDEN)
		mlog_info(req->id, "alias deleted, canonical alias kept: %s", ctx.why);
	else if (e != MROOM_OK) {
		mdb_rollback(req->db);
		room_fail(req, &ctx, e);
		goto out;
	}
	if (mdb_commit(req->db) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: commit failed", __func__);
		goto out;
	}
	rc = mfcgi_reply(req, 200, json_object());
out:
	free(room_id);
	free(creator);
	free(eid);
	return rc;
}

/*
 * Spec: C-S API, GET /rooms/{roomId}/aliases: joined members, anyone
 * when the room's history is world_readable, else 403 M_FORBIDDEN; as
 * the spec allows and Synapse does, server admins too (synadm reads the
 * aliases of a user's rooms before deactivating them).  404 M_NOT_FOUND
 * for an unknown room.
 */
int
h_room_aliases(struct mreq *req)
{
	const char		*room_id = req->params[0];
	struct mroom_ctx	 ctx;
	json_t			*list, *hv;
	const char		*v;
	char			*m;
	int			 ok, err;

	if (room_known(req, room_id) != 1)
		return -1;
	if (!req->auth.is_admin) {
		room_ctx(req, &ctx);
		m = mroom_membership(&ctx, room_id, req->auth.user_id);
		ok = m != NULL && strcmp(m, "join") == 0;
		free(m);
		if (!ok) {
			hv = mroom_state_get(&ctx, room_id, "m.room.history_visibility", "", &err);
			if (err)
				return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
			ok = (v = mjson_str(json_object_get(hv, "content"),
			    "history_visibility")) != NULL && strcmp(v, "world_readable") == 0;
			json_decref(hv);
		}
		if (!ok)
			return mfcgi_fail(req, MERR_FORBIDDEN, "You are not a member of the room");
	}
	if ((list = mstore_alias_list(req->db, room_id)) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return mfcgi_reply(req, 200, json_pack("{s:o}", "aliases", list));
}
