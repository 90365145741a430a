/* The storage API: one interface over SQLite and PostgreSQL. */
#ifndef MYELIN_STORE_H
#define MYELIN_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "store/stmts.h"

struct mdb;
struct mcur;
struct mnotify;

enum mdb_err { MDB_OK, MDB_ERR_CONSTRAINT, MDB_ERR_OTHER };

/*
 * Returns a new connection, or NULL (logged).  The streams its commits
 * move are announced on notify (see mdb_commit); NULL: a program without
 * a notify segment, whose writes wake nobody.  notify must outlive it.
 */
struct mdb	*mdb_open(const struct mconfig *, struct mnotify *notify);
void		 mdb_close(struct mdb *);
/* Applies pending numbered migrations in one locked transaction. 0 or -1. */
int		 mdb_migrate(struct mdb *);
/* The schema version applied, and the newest this build knows. */
int		 mdb_schema_version(struct mdb *);
int		 mdb_schema_latest(void);
enum mdb_backend mdb_backend(const struct mdb *);

/*
 * Write transactions.  SQLite takes its write lock at begin.  A commit
 * that succeeds announces on the connection's notify segment every
 * stream the transaction wrote (see mdb_open); a rollback, or a commit
 * that fails, announces nothing.
 */
int		 mdb_begin(struct mdb *);
int		 mdb_commit(struct mdb *);
void		 mdb_rollback(struct mdb *);

/*
 * Runs prepared statement st with parameters described by fmt:
 * 's' const char * (NULL binds SQL NULL), 'i' int64_t.
 * mdb_query returns a cursor (free with mcur_free) or NULL on error;
 * mdb_exec returns the number of rows changed, or -1.
 */
struct mcur	*mdb_query(struct mdb *, enum mstmt st, const char *fmt, ...);
int64_t		 mdb_exec(struct mdb *, enum mstmt st, const char *fmt, ...);
/* 1 with a row, 0 at the end, -1 on error. */
int		 mcur_next(struct mcur *);
const char	*mcur_text(struct mcur *, int col);	/* NULL for SQL NULL */
/* A malloc'd copy of mcur_text; NULL for SQL NULL or on failure. */
char		*mcur_dup(struct mcur *, int col);
int64_t		 mcur_int(struct mcur *, int col);
int		 mcur_null(struct mcur *, int col);
void		 mcur_free(struct mcur *);
/*
 * Appends an element of elemsz bytes for every row of c to the array
 * *out of *outsz elements (NULL and 0 for a new one): zeroed, then
 * filled by row (0 or -1).  Frees c; c NULL (a failed query) is a
 * failure.  0, or -1 with fini run on every element, the array freed,
 * *out NULL and *outsz 0.
 */
int		 mcur_collect(struct mcur *c, size_t elemsz,
		    int (*row)(struct mcur *, void *elem), void (*fini)(void *elem),
		    void **out, size_t *outsz);
/* The kind of the last failure on this connection. */
enum mdb_err	 mdb_error(const struct mdb *);

/* Result of store writes that may collide with an existing row. */
#define MSTORE_CONFLICT	(-2)

#include "store/account.h"
#include "store/room.h"
#include "store/directory.h"
#include "store/relations.h"
#include "store/sync.h"
#include "store/ephemeral.h"
#include "store/admin.h"
#include "store/filter.h"
#include "store/push.h"
#include "store/search.h"
#include "store/vis.h"

#endif
