/* Third-party identifiers (3PIDs) a user bound through identity servers. */
#ifndef MYELIN_STORE_THREEPID_H
#define MYELIN_STORE_THREEPID_H

#include <stddef.h>
#include <stdint.h>

struct mdb;

/* One binding: a 3PID of a user and the identity server it was bound through. */
struct mstore_binding {
	char	*medium;
	char	*address;
	char	*id_server;
};

/* Remembers that user_id bound (medium, address) through id_server.  0 or -1. */
int	mstore_binding_put(struct mdb *, const char *user_id, const char *medium,
	    const char *address, const char *id_server, int64_t now_ms);
/* Forgets one binding (none: nothing happens).  0 or -1. */
int	mstore_binding_del(struct mdb *, const char *user_id, const char *medium,
	    const char *address, const char *id_server);
/*
 * The bindings of user_id: of (medium, address) only when medium is not
 * NULL (then only id_server of each row is set), else every binding.
 * 0 with *out (n rows), or -1.
 */
int	mstore_binding_list(struct mdb *, const char *user_id, const char *medium,
	    const char *address, struct mstore_binding **out, size_t *n);
void	mstore_binding_free(struct mstore_binding *, size_t n);

#endif
