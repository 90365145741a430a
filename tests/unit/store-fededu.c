/*
 * The outbound EDU queue (lib/store/fedq.c): an EDU with a key replaces
 * the one queued before with the same type and key (typing, presence,
 * receipts: only the newest counts), one without (to-device, device
 * lists) is kept in order; a batch is a destination's rows oldest first,
 * and done forgets them up to a position; queuing moves the stream
 * given, on commit.  The destinations due include those with EDUs only.
 *
 * SQLite in a fresh temporary directory; PostgreSQL too when
 * MYELIN_TEST_PG holds a libpq conninfo (see store-backends.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "notify/notify.h"
#include "store/store.h"
#include "testlib.h"

/* The "n" of each EDU of batch, as a string like "1,3". */
static void
ns(const json_t *batch, char *buf, size_t bufsz)
{
	const json_t	*v;
	size_t		 i, o = 0;

	buf[0] = '\0';
	json_array_foreach(batch, i, v)
		o += (size_t)snprintf(buf + o, bufsz - o, "%s%lld", i ? "," : "",
		    (long long)json_integer_value(json_object_get(json_object_get(v,
		    "content"), "n")));
}

static int
add(struct mdb *db, const char *dest, const char *type, const char *ekey, int n,
    enum mstream s)
{
	json_t	*c = json_pack("{s:i}", "n", n);
	int	 rc = mstore_fedq_edu_add(db, dest, type, ekey, c, s, 1000);

	json_decref(c);
	return rc;
}

static void
run(enum mdb_backend kind, const char *database, const char *segment)
{
	struct mconfig	 conf;
	struct mnotify	*n = NULL;
	struct mdb	*db = NULL;
	json_t		*b = NULL, *due = NULL;
	char		 dest[64], other[64], got[256];
	int64_t		 last = 0, last2 = 0;
	uint64_t	 pos;
	size_t		 i;
	int		 found = 0;

	snprintf(dest, sizeof(dest), "edu-%ld.example", (long)getpid());
	snprintf(other, sizeof(other), "other-%ld.example", (long)getpid());
	memset(&conf, 0, sizeof(conf));
	conf.db_backend = kind;
	conf.database = (char *)database;
	if ((n = mnotify_open(segment)) == NULL) {
		FAIL("mnotify_open %s", segment);
		return;
	}
	if ((db = mdb_open(&conf, n)) == NULL || mdb_migrate(db) == -1) {
		FAIL("mdb_open");
		goto out;
	}
	/* Typing of one user in one room twice, another's once, two to-device messages. */
	pos = mnotify_pos(n, MSTREAM_TYPING);
	CHECK(mdb_begin(db) == 0);
	CHECK(add(db, dest, "m.typing", "!r|@a", 1, MSTREAM_TYPING) == 0);
	CHECK(add(db, dest, "m.direct_to_device", NULL, 2, MSTREAM_TODEVICE) == 0);
	CHECK(add(db, dest, "m.typing", "!r|@b", 3, MSTREAM_TYPING) == 0);
	CHECK(add(db, dest, "m.typing", "!r|@a", 4, MSTREAM_TYPING) == 0);
	CHECK(add(db, dest, "m.direct_to_device", NULL, 5, MSTREAM_TODEVICE) == 0);
	CHECK(add(db, other, "m.typing", "!r|@a", 6, MSTREAM_TYPING) == 0);
	/* The sender is woken on commit, not before. */
	CHECK(mnotify_pos(n, MSTREAM_TYPING) == pos);
	CHECK(mdb_commit(db) == 0);
	CHECK(mnotify_pos(n, MSTREAM_TYPING) == pos + 1);

	CHECK((b = mstore_fedq_edu_batch(db, dest, 100, &last)) != NULL);
	ns(b, got, sizeof(got));
	/* @a's first typing was replaced by its last; the rest in order. */
	CHECK(strcmp(got, "2,3,4,5") == 0);
	if (strcmp(got, "2,3,4,5") != 0)
		fprintf(stderr, "  got %s\n", got);
	CHECK(json_array_size(b) == 4 &&
	    strcmp(json_string_value(json_object_get(json_array_get(b, 0), "edu_type")),
	    "m.direct_to_device") == 0);
	json_decref(b);
	/* A limit cuts the batch; its last position ends it. */
	CHECK((b = mstore_fedq_edu_batch(db, dest, 2, &last2)) != NULL);
	ns(b, got, sizeof(got));
	CHECK(strcmp(got, "2,3") == 0);
	json_decref(b);
	/* The destination is due with EDUs and no PDUs. */
	CHECK((due = mstore_fedq_due(db, 1000)) != NULL);
	for (i = 0; i < json_array_size(due); i++)
		found |= strcmp(json_string_value(json_array_get(due, i)), dest) == 0;
	CHECK(found);
	json_decref(due);
	/* Done up to the cut: the rest stays. */
	CHECK(mstore_fedq_edu_done(db, dest, last2) == 0);
	CHECK((b = mstore_fedq_edu_batch(db, dest, 100, &last)) != NULL);
	ns(b, got, sizeof(got));
	CHECK(strcmp(got, "4,5") == 0);
	json_decref(b);
	CHECK(mstore_fedq_edu_done(db, dest, last) == 0);
	CHECK((b = mstore_fedq_edu_batch(db, dest, 100, &last)) != NULL);
	CHECK(json_array_size(b) == 0 && last == 0);
	json_decref(b);
	/* The other destination's row is its own. */
	CHECK((b = mstore_fedq_edu_batch(db, other, 100, &last)) != NULL);
	ns(b, got, sizeof(got));
	CHECK(strcmp(got, "6") == 0);
	json_decref(b);
	CHECK(mstore_fedq_edu_done(db, other, last) == 0);
out:
	mdb_close(db);
	mnotify_close(n);
}

int
main(void)
{
	char		 dir[] = "/tmp/store-fededu.XXXXXX";
	char		 path[sizeof(dir) + 32], segment[sizeof(dir) + 32];
	const char	*pg;

	if (mkdtemp(dir) == NULL) {
		perror("store-fededu: mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/myelin.db", dir);
	snprintf(segment, sizeof(segment), "%s/notify.shm", dir);
	run(MDB_SQLITE, path, segment);
	if ((pg = getenv("MYELIN_TEST_PG")) != NULL && *pg != '\0')
		run(MDB_POSTGRES, pg, segment);
	else
		fprintf(stderr, "store-fededu: postgresql skipped (MYELIN_TEST_PG unset)\n");
	unlink(path);
	unlink(segment);
	rmdir(dir);
	return failed;
}
