/* myelin-admin federation commands: a signed request to a server, a server's keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"
#include "config/config.h"
#include "crypto/crypto.h"
#include "extern.h"
#include "fed/fed.h"

/*
 * federation request SERVER METHOD PATH [BODY]: sends the request to
 * SERVER, found as discovery finds it and signed with our key (X-Matrix),
 * and prints the HTTP status, then the answer's JSON.  Exits 0 for a 2xx
 * answer, 1 otherwise.
 */
int
cmd_fed_request(struct ctx *c, int argc, char **argv)
{
	json_t	*body = NULL, *reply = NULL;
	long	 status;
	int	 rc;

	if (argc != 3 && argc != 4)
		return EX_USAGE;
	if (argv[2][0] != '/') {
		fprintf(stderr, "myelin-admin: PATH must start with /\n");
		return EX_USAGE;
	}
	if (argc == 4 && (body = json_loads(argv[3], JSON_REJECT_DUPLICATES, NULL)) == NULL) {
		fprintf(stderr, "myelin-admin: BODY is not JSON\n");
		return EX_USAGE;
	}
	if (need_key(c) == -1) {
		json_decref(body);
		return EX_FAILED;
	}
	rc = mfed_request(c->conf, c->key, argv[0], argv[1], argv[2], body, &status, &reply);
	json_decref(body);
	if (rc == -1) {
		fprintf(stderr, "myelin-admin: %s: no answer\n", argv[0]);
		return EX_FAILED;
	}
	printf("%ld\n", status);
	if (reply != NULL)
		print_json(reply);
	return status >= 200 && status < 300 ? EX_DONE : EX_FAILED;
}

/*
 * federation keys SERVER: the keys of SERVER as the keyring has them
 * (stored, else fetched from it or from trusted_key_servers, checked
 * and stored): the server's own signed answers, one JSON line each.
 */
int
cmd_fed_keys(struct ctx *c, int argc, char **argv)
{
	json_t	*all, *v;
	size_t	 i;

	if (argc != 1)
		return EX_USAGE;
	if (need_db(c) == -1 || need_key(c) == -1)
		return EX_FAILED;
	if ((all = mfed_keys_query(c->db, c->conf, c->key, argv[0], NULL, mclock_now_ms(), 1)) == NULL)
		return EX_FAILED;
	if (json_array_size(all) == 0) {
		fprintf(stderr, "myelin-admin: %s: no keys found\n", argv[0]);
		json_decref(all);
		return EX_FAILED;
	}
	json_array_foreach(all, i, v)
		print_json(json_incref(v));
	json_decref(all);
	return EX_DONE;
}
