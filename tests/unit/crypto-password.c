/* Password hashing: argon2id round trip, bcrypt (Synapse's) checking. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"

int
main(void)
{
	/* crypt_blowfish's test vectors (Openwall, wrapper.c tests[]). */
	static const char	*bcrypt[] = {
		"$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
		"$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
		"$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
	};
	char			*h, *h2, *trunc;
	size_t			 len, i;

	if (mcrypto_init() == -1)
		return 1;

	/* argon2id: right and wrong password, fresh salt each time. */
	if ((h = mcrypto_password_hash("correct horse")) == NULL) {
		FAIL("password_hash");
		return 1;
	}
	if (strncmp(h, "$argon2id$", 10) != 0)
		FAIL("not an argon2id hash: %s", h);
	if (mcrypto_password_check("correct horse", h) != 1)
		FAIL("right password refused");
	if (mcrypto_password_check("correct horse ", h) != 0 ||
	    mcrypto_password_check("", h) != 0 ||
	    mcrypto_password_check("Correct horse", h) != 0)
		FAIL("wrong password accepted");
	if ((h2 = mcrypto_password_hash("correct horse")) == NULL ||
	    strcmp(h, h2) == 0)
		FAIL("two hashes of one password are equal (no salt?)");
	free(h2);
	/* A damaged argon2id hash matches nothing. */
	len = strlen(h);
	if ((trunc = strdup(h)) == NULL)
		return 1;
	trunc[len - 1] = trunc[len - 1] == 'A' ? 'B' : 'A';
	if (mcrypto_password_check("correct horse", trunc) != 0)
		FAIL("altered argon2id hash accepted");
	trunc[len / 2] = '\0';
	if (mcrypto_password_check("correct horse", trunc) != 0)
		FAIL("truncated argon2id hash accepted");
	free(trunc);
	free(h);

	/* The empty password is a password like any other. */
	if ((h = mcrypto_password_hash("")) == NULL ||
	    mcrypto_password_check("", h) != 1 ||
	    mcrypto_password_check("x", h) != 0)
		FAIL("empty password");
	free(h);

	/* bcrypt: "U*U" under all three prefixes libxcrypt knows. */
	for (i = 0; i < sizeof(bcrypt) / sizeof(bcrypt[0]); i++)
		if (mcrypto_password_check("U*U", bcrypt[i]) != 1)
			FAIL("bcrypt %.4s vector refused", bcrypt[i]);
	if (mcrypto_password_check("U*V", bcrypt[0]) != 0 ||
	    mcrypto_password_check("", bcrypt[0]) != 0 ||
	    mcrypto_password_check("U*U ", bcrypt[1]) != 0)
		FAIL("bcrypt wrong password accepted");
	/* Same salt, last character of the hash changed. */
	if (mcrypto_password_check("U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC."
	    "E5YPO9kmyuRGyh0XouQYb4YMJKvyOeX") != 0)
		FAIL("altered bcrypt hash accepted");
	/* Truncated after the salt: crypt_r hashes, the lengths differ. */
	if (mcrypto_password_check("U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.") != 0)
		FAIL("truncated bcrypt hash accepted");

	/* Garbage and unknown schemes. */
	if (mcrypto_password_check("U*U", "") != 0 ||
	    mcrypto_password_check("U*U", "garbage") != 0 ||
	    mcrypto_password_check("U*U", "$2a$") != 0 ||
	    mcrypto_password_check("U*U", "$2a$99$xxxx") != 0 ||
	    mcrypto_password_check("U*U", "$argon2id$") != 0 ||
	    mcrypto_password_check("U*U", "$argon2id$v=19$m=1,t=1,p=1$$") != 0 ||
	    mcrypto_password_check("", "") != 0 ||
	    mcrypto_password_check("", "*0") != 0 ||
	    mcrypto_password_check("abc", "$1$saltsalt$") != 0 ||
	    mcrypto_password_check("abc", "$6$salt$") != 0 ||
	    mcrypto_password_check("U*U", NULL) != 0 ||
	    mcrypto_password_check(NULL, bcrypt[0]) != 0)
		FAIL("garbage hash accepted");
	if (mcrypto_password_hash(NULL) != NULL)
		FAIL("hashed NULL");
	return failed;
}
