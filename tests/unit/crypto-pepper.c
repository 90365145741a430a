/* Synapse's password_config.pepper: its bcrypt hashes check with the pepper appended. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"

int
main(void)
{
	/* bcrypt of "open sesame" + "pepper-xyz", as Synapse 1.67 hashes with a pepper. */
	static const char *h = "$2b$04$XTFfVs2gJ/ef/s.j/kavIOV/lkRysoq3v9kt1WzIS4P/yTqIr9Kxa";
	char *a;

	if (mcrypto_init() == -1)
		return 1;
	if (mcrypto_password_check("open sesame", h) != 0 ||
	    mcrypto_password_check("open sesamepepper-xyz", h) != 1)
		FAIL("without a pepper: the password alone must be refused");
	if (mcrypto_password_pepper("pepper-xyz") != 0)
		FAIL("pepper");
	if (mcrypto_password_check("open sesame", h) != 1)
		FAIL("with the pepper: the right password refused");
	if (mcrypto_password_check("open sesam", h) != 0 ||
	    mcrypto_password_check("open sesamepepper-xyz", h) != 0)
		FAIL("with the pepper: a wrong password accepted");
	/* Never for argon2id, myelin's own hashes. */
	if ((a = mcrypto_password_hash("open sesame")) == NULL ||
	    mcrypto_password_check("open sesame", a) != 1)
		FAIL("argon2id took the pepper");
	free(a);
	if (mcrypto_password_pepper(NULL) != 0 || mcrypto_password_check("open sesame", h) != 0)
		FAIL("pepper not cleared");
	return failed;
}
