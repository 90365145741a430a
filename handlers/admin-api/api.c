/* What every admin endpoint checks the same way: IDs, query parameters, errors. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "extern.h"
#include "json/json.h"

void
api_ctx(struct mreq *req, struct madmin *a)
{
	memset(a, 0, sizeof(*a));
	a->db = req->db;
	a->conf = req->conf;
	a->key = req->srv->key;
	a->admin = req->auth.user_id;
}

int
api_fail(struct mreq *req, const struct madmin *a, enum madmin_rc rc)
{
	switch (rc) {
	case MADMIN_NOT_FOUND:
		return mfcgi_fail(req, MERR_NOT_FOUND, "%s", a->why);
	case MADMIN_INVALID:
		return mfcgi_fail(req, MERR_INVALID_PARAM, "%s", a->why);
	case MADMIN_OK:
	case MADMIN_ERROR:
	default:
		return mfcgi_fail(req, MERR_INTERNAL, "admin operation failed (%d)", (int)rc);
	}
}

/* Synapse: UserID.from_string refuses IDs without "@" and ":" with M_INVALID_PARAM. */
const char *
api_local_user(struct mreq *req, size_t i)
{
	const char *id = req->params[i], *colon = strchr(id, ':');

	if (id[0] != '@' || colon == NULL || colon == id + 1) {
		mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid user id: %s", id);
		return NULL;
	}
	if (strcmp(colon + 1, req->conf->server_name) != 0) {
		mfcgi_fail(req, MERR_UNKNOWN, "Can only look up local users");
		return NULL;
	}
	return id;
}

const char *
api_room_id(struct mreq *req, size_t i)
{
	const char *id = req->params[i];

	if (id[0] != '!') {
		mfcgi_fail(req, MERR_INVALID_PARAM, "%s is not a legal room ID", id);
		return NULL;
	}
	return id;
}

int
api_query_bool(struct mreq *req, const char *name, int *out)
{
	char	*v = mreq_query(req, name);
	int	 rc = 0;

	if (v == NULL)
		return 0;
	if (strcmp(v, "true") == 0)
		*out = 1;
	else if (strcmp(v, "false") == 0)
		*out = 0;
	else
		rc = mfcgi_fail(req, MERR_INVALID_PARAM,
		    "Boolean query parameter %s must be one of ['true', 'false']", name);
	free(v);
	return rc;
}

int
api_query_dir(struct mreq *req, int *backwards)
{
	char	*v = mreq_query(req, "dir");
	int	 rc = 0;

	if (v == NULL)
		return 0;
	if (strcmp(v, "b") == 0)
		*backwards = 1;
	else if (strcmp(v, "f") == 0)
		*backwards = 0;
	else
		rc = mfcgi_fail(req, MERR_INVALID_PARAM, "Query parameter dir must be one of ['b', 'f']");
	free(v);
	return rc;
}

int
api_query_page(struct mreq *req, int64_t *from, int64_t *limit)
{
	if (mreq_query_int(req, "from", 0, 0, INT32_MAX, from) == -1 ||
	    mreq_query_int(req, "limit", 100, 0, INT32_MAX, limit) == -1)
		return -1;
	return 0;
}

int
api_body_bool(struct mreq *req, const char *name, int *out)
{
	json_t *v = json_object_get(req->body, name);

	if (v == NULL)
		return 0;
	if (!json_is_boolean(v))
		return mfcgi_fail(req, MERR_INVALID_PARAM, "'%s' must be a boolean", name);
	*out = json_is_true(v);
	return 0;
}
