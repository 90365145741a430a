/*
 * A login check verifies one password hash whoever is named: an unknown
 * user, a user without a password and a wrong password cost the same
 * argon2id verification, so response times do not tell which accounts
 * exist.  Counted with mcrypto_password_checks(), never timed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/auth.h"
#include "log/log.h"
#include "store/store.h"
#include "testlib.h"

/* Runs the login check and returns how many hashes it verified. */
static uint64_t
verified(struct mdb *db, const char *user_id, const char *password, enum mauth_login want)
{
	uint64_t		before = mcrypto_password_checks();
	enum mauth_login	got = mauth_login_check(db, user_id, password);

	if (got != want)
		FAIL("%s: login check gave %d, not %d", user_id, (int)got, (int)want);
	return mcrypto_password_checks() - before;
}

int
main(void)
{
	char		 dir[] = "/tmp/auth-login.XXXXXX", path[sizeof(dir) + 32];
	struct mconfig	 conf;
	struct mdb	*db = NULL;
	char		*hash = NULL;

	mlog_init("auth-login", MLOG_WARN);
	if (mkdtemp(dir) == NULL) {
		perror("auth-login: mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/myelin.db", dir);
	memset(&conf, 0, sizeof(conf));
	conf.db_backend = MDB_SQLITE;
	conf.database = path;
	CHECK((db = mdb_open(&conf, NULL)) != NULL);
	if (db == NULL)
		goto out;
	CHECK(mdb_migrate(db) == 0);
	CHECK((hash = mcrypto_password_hash("right-pw")) != NULL);
	CHECK(mstore_user_add(db, "@alice:test", hash, NULL, 0, 0, NULL) == 0);
	CHECK(mstore_user_add(db, "@nopw:test", NULL, NULL, 0, 0, NULL) == 0);
	CHECK(mstore_user_add(db, "@gone:test", hash, NULL, 0, 0, NULL) == 0);
	CHECK(mstore_user_set_deactivated(db, "@gone:test", 1) == 1);

	CHECK(verified(db, "@alice:test", "right-pw", MAUTH_LOGIN_OK) == 1);
	CHECK(verified(db, "@alice:test", "wrong-pw", MAUTH_LOGIN_WRONG) == 1);
	/* The defect: these answered at once, without a hash to verify. */
	CHECK(verified(db, "@nobody:test", "wrong-pw", MAUTH_LOGIN_WRONG) == 1);
	CHECK(verified(db, "@nopw:test", "wrong-pw", MAUTH_LOGIN_WRONG) == 1);
	/* A deactivated account that kept its hash checks it like any other. */
	CHECK(verified(db, "@gone:test", "wrong-pw", MAUTH_LOGIN_WRONG) == 1);
	CHECK(verified(db, "@gone:test", "right-pw", MAUTH_LOGIN_DEACTIVATED) == 1);
	/* The dummy hash is nobody's password, not even the empty one. */
	CHECK(verified(db, "@nobody:test", "", MAUTH_LOGIN_WRONG) == 1);
out:
	free(hash);
	mdb_close(db);
	unlink(path);
	snprintf(path, sizeof(path), "%s/myelin.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/myelin.db-shm", dir);
	unlink(path);
	rmdir(dir);
	return failed;
}
