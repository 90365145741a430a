/*
 * The storage API: one interface over SQLite and PostgreSQL.  Callers
 * see store functions only; statements and cursors are lib/store's own
 * (store/extern.h), so no SQL runs outside it.
 */
#ifndef MYELIN_STORE_H
#define MYELIN_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config/config.h"

struct mdb;
struct mnotify;

enum mdb_err { MDB_OK, MDB_ERR_CONSTRAINT, MDB_ERR_OTHER };

/*
 * Returns a new connection, or NULL (logged).  The streams its commits
 * move are announced on notify (see mdb_commit); NULL: a program without
 * a notify segment, whose writes wake nobody.  notify must outlive it.
 */
struct mdb	*mdb_open(const struct mconfig *, struct mnotify *notify);
/* The config the connection was opened with (it must outlive the connection). */
const struct mconfig *mdb_conf(const struct mdb *);
void		 mdb_close(struct mdb *);
/*
 * Between requests (no transaction open): gives back what a large read
 * grew the connection's caches to past what it keeps at rest.  A
 * connection rested so may grow them further within a request (SQLite's
 * page cache to 64 MB; see sq_rest).
 */
void		 mdb_rest(struct mdb *);
/*
 * Forgets every answer sent ahead (mdb_prefetch, lib/store's) and not
 * taken: the request loop calls it after each run of a handler, so that
 * no answer outlives the run that asked for it.
 */
void		 mdb_prefetch_drop(struct mdb *);
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
/* Microseconds spent in statements, BEGIN and COMMIT by this process, and how many. */
void		 mdb_stats(uint64_t *us, uint64_t *n);
/*
 * Writes the Prometheus text metrics of daemon name to path (through a
 * temporary file and rename): its database time, then what more writes
 * (NULL: nothing; -1 from it fails the write).  0 or -1.
 */
int		 mstore_metrics_write(struct mdb *, const char *path, const char *name,
		    int (*more)(FILE *, struct mdb *, void *), void *arg);
/*
 * The outbound federation queue per destination (events queued, the
 * backoff), of the destinations mine accepts (NULL: all).  0 or -1.
 */
int		 mstore_metrics_fedq(struct mdb *, FILE *, int (*mine)(const char *, void *),
		    void *arg);
/* The rows waiting and the destinations failing of each of kinds[0..n).  0 or -1. */
int		 mstore_metrics_outbox(struct mdb *, FILE *, const char *const *kinds,
		    size_t n);
int		 mdb_begin(struct mdb *);
int		 mdb_commit(struct mdb *);
void		 mdb_rollback(struct mdb *);
/* 1 inside a transaction mdb_begin opened, else 0. */
int		 mdb_in_txn(const struct mdb *);

/* The kind of the last failure on this connection. */
enum mdb_err	 mdb_error(const struct mdb *);

/* Result of store writes that may collide with an existing row. */
#define MSTORE_CONFLICT	(-2)

#include "store/account.h"
#include "store/room.h"
#include "store/directory.h"
#include "store/relations.h"
#include "store/sync.h"
#include "store/sliding.h"
#include "store/ephemeral.h"
#include "store/admin.h"
#include "store/filter.h"
#include "store/push.h"
#include "store/search.h"
#include "store/vis.h"
#include "store/misc.h"
#include "store/keys.h"
#include "store/threepid.h"
#include "store/e2ee.h"
#include "store/outbox.h"
#include "store/media.h"
#include "store/fedq.h"
#include "store/ratelimit.h"
#include "store/delayed.h"
#include "store/synapse.h"
#include "store/synimport.h"
#include "store/retention.h"
#include "store/cleanup.h"

#endif
