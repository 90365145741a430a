/* Third-party identifiers bound through identity servers: one row per binding. */
#include <stdlib.h>
#include <string.h>

#include "store/extern.h"

int
mstore_binding_put(struct mdb *db, const char *user_id, const char *medium,
    const char *address, const char *id_server, int64_t now_ms)
{
	return mdb_exec(db, MSTMT_TPID_BOUND_PUT, "ssssi", user_id, medium, address, id_server,
	    now_ms) < 0 ? -1 : 0;
}

int
mstore_binding_del(struct mdb *db, const char *user_id, const char *medium,
    const char *address, const char *id_server)
{
	return mdb_exec(db, MSTMT_TPID_BOUND_DEL, "ssss", user_id, medium, address,
	    id_server) < 0 ? -1 : 0;
}

static int
server_row(struct mcur *c, void *elem)
{
	struct mstore_binding *b = elem;

	return (b->id_server = mcur_dup(c, 0)) == NULL ? -1 : 0;
}

static int
binding_row(struct mcur *c, void *elem)
{
	struct mstore_binding *b = elem;

	return (b->medium = mcur_dup(c, 0)) == NULL || (b->address = mcur_dup(c, 1)) == NULL ||
	    (b->id_server = mcur_dup(c, 2)) == NULL ? -1 : 0;
}

static void
binding_fini(void *elem)
{
	struct mstore_binding *b = elem;

	free(b->medium);
	free(b->address);
	free(b->id_server);
}

int
mstore_binding_list(struct mdb *db, const char *user_id, const char *medium,
    const char *address, struct mstore_binding **out, size_t *n)
{
	void	*v = NULL;
	int	 rc;

	*n = 0;
	if (medium != NULL)
		rc = mcur_collect(mdb_query(db, MSTMT_TPID_BOUND_SERVERS, "sss", user_id, medium,
		    address), sizeof(**out), server_row, binding_fini, &v, n);
	else
		rc = mcur_collect(mdb_query(db, MSTMT_TPID_BOUND_ALL, "s", user_id),
		    sizeof(**out), binding_row, binding_fini, &v, n);
	*out = v;
	return rc;
}

void
mstore_binding_free(struct mstore_binding *v, size_t n)
{
	mstore_list_free(v, n, sizeof(*v), binding_fini);
}
