/* The list of numbered schema migrations. */
#ifndef MYELIN_STORE_MIGRATIONS_H
#define MYELIN_STORE_MIGRATIONS_H

struct mmigration {
	int		 version;
	const char	*name;
	const char	*sql;	/* both backends */
	const char	*pg;	/* PostgreSQL text when it differs, or NULL */
};

extern const struct mmigration mmigrations[];
extern const size_t mmigrationsz;

#endif
