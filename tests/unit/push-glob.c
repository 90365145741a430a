/*
 * The push rule glob matcher stays linear in the value: a bounded
 * pattern costs a bounded number of machine words per character, counted
 * by mpush_glob_steps, whatever its stars; a pattern past the bound
 * never matches; and the results agree with a plain dynamic-programming
 * matcher on random patterns longer than one machine word.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "push/push.h"
#include "testlib.h"

/* The most words one step may cost: a bit per pattern position and the end. */
#define WORDS	((MPUSH_PATTERN_MAX + 1 + 63) / 64)
#define VALUESZ	30000

/* Spec: word characters are [A-Za-z0-9_]. */
static int
isword(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '_';
}

/*
 * Glob match of the ASCII p[0..m) against every prefix of v[0..n), by the
 * textbook table: ends[j] is 1 when p matches v[0..j).
 */
static void
ref_prefixes(const char *p, size_t m, const char *v, size_t n, unsigned char *ends)
{
	unsigned char	*t = calloc((m + 1) * (n + 1), 1);

	if (t == NULL)
		abort();
#define T(i, j) t[(i) * (n + 1) + (j)]
	T(0, 0) = 1;
	for (size_t i = 1; i <= m; i++)
		for (size_t j = 0; j <= n; j++) {
			if (p[i - 1] == '*')
				T(i, j) = T(i - 1, j) || (j > 0 && T(i, j - 1));
			else if (j > 0 && (p[i - 1] == '?' || p[i - 1] == v[j - 1]))
				T(i, j) = T(i - 1, j - 1);
		}
	for (size_t j = 0; j <= n; j++)
		ends[j] = T(m, j);
#undef T
	free(t);
}

/* Whole-value match. */
static int
ref_whole(const char *p, const char *v)
{
	unsigned char	 ends[512];
	size_t		 n = strlen(v);

	ref_prefixes(p, strlen(p), v, n, ends);
	return ends[n];
}

/* Word mode: some v[i..j) between boundaries matches (as push.h says). */
static int
ref_word(const char *p, const char *v)
{
	unsigned char	 ends[512];
	size_t		 n = strlen(v);

	for (size_t i = 0; i <= n; i++) {
		if (!(i == 0 || !isword(v[i - 1]) || (i < n && !isword(v[i]))))
			continue;
		ref_prefixes(p, strlen(p), v + i, n - i, ends);
		for (size_t j = i; j <= n; j++)
			if (ends[j - i] && (j == n || !isword(v[j]) || (j > 0 && !isword(v[j - 1]))))
				return 1;
	}
	return 0;
}

/* A pattern of n characters over "ab*?", stars rarer than the rest. */
static void
rand_pattern(char *p, size_t n)
{
	static const char alpha[] = "aab?*";

	for (size_t i = 0; i < n; i++)
		p[i] = alpha[rand() % 5];
	p[n] = '\0';
}

/* A value that p matches as a whole, then perhaps one character changed. */
static void
rand_value(const char *p, char *v, size_t vsz)
{
	size_t o = 0;

	for (; *p != '\0' && o + 4 < vsz; p++) {
		if (*p == '*')
			for (int k = rand() % 3; k > 0; k--)
				v[o++] = "ab "[rand() % 3];
		else
			v[o++] = *p == '?' ? "ab "[rand() % 3] : *p;
	}
	v[o] = '\0';
	if (o > 0 && rand() % 2)
		v[rand() % o] = "ab "[rand() % 3];
}

int
main(void)
{
	static char	 value[VALUESZ + 1], pat[MPUSH_PATTERN_MAX + 2];
	char		 rp[200], rv[400];
	uint64_t	 steps;
	size_t		 n;

	/* A message of 30,000 a's, the worst for patterns of a's and stars. */
	memset(value, 'a', VALUESZ);
	value[VALUESZ] = '\0';

	/* "*a*a...*b" at the bound: no match, one step per character at most. */
	for (n = 0; n + 2 <= MPUSH_PATTERN_MAX - 1; n += 2)
		memcpy(pat + n, "*a", 2);
	pat[n++] = 'b';
	pat[n] = '\0';
	steps = 0;
	CHECK(!mpush_glob_steps(pat, value, 1, 0, &steps));
	CHECK(steps <= (uint64_t)(VALUESZ + 1) * WORDS);
	steps = 0;
	CHECK(!mpush_glob_steps(pat, value, 0, 0, &steps));
	CHECK(steps <= (uint64_t)(VALUESZ + 1) * WORDS);

	/* "a?a?...b" and a literal run of a's ending in b, in word mode. */
	for (n = 0; n + 2 <= MPUSH_PATTERN_MAX - 1; n += 2)
		memcpy(pat + n, "a?", 2);
	pat[n++] = 'b';
	pat[n] = '\0';
	steps = 0;
	CHECK(!mpush_glob_steps(pat, value, 1, 0, &steps));
	CHECK(steps <= (uint64_t)(VALUESZ + 1) * WORDS);
	memset(pat, 'a', MPUSH_PATTERN_MAX - 1);
	pat[MPUSH_PATTERN_MAX - 1] = 'b';
	pat[MPUSH_PATTERN_MAX] = '\0';
	steps = 0;
	CHECK(!mpush_glob_steps(pat, value, 1, 1, &steps));
	CHECK(steps <= (uint64_t)(VALUESZ + 1) * WORDS);

	/* At the bound a pattern still matches; one character more never does. */
	memset(pat, 'a', MPUSH_PATTERN_MAX);
	pat[MPUSH_PATTERN_MAX] = '\0';
	CHECK(mpush_glob(pat, value + VALUESZ - MPUSH_PATTERN_MAX, 0, 0));
	CHECK(mpush_glob(pat, value + VALUESZ - MPUSH_PATTERN_MAX, 1, 1));
	pat[MPUSH_PATTERN_MAX] = 'a';
	pat[MPUSH_PATTERN_MAX + 1] = '\0';
	steps = 0;
	CHECK(!mpush_glob_steps(pat, value + VALUESZ - MPUSH_PATTERN_MAX - 1, 0, 0, &steps));
	CHECK(!mpush_glob(pat, value, 1, 0));
	CHECK(steps == 0);
	/* Code points count, not bytes: the bound in e-acutes still matches. */
	{
		static char eacute[2 * MPUSH_PATTERN_MAX + 1];

		for (n = 0; n < MPUSH_PATTERN_MAX; n++)
			memcpy(eacute + 2 * n, "\xc3\xa9", 2);
		eacute[2 * n] = '\0';
		CHECK(mpush_glob(eacute, eacute, 1, 1));
	}

	/* Random patterns of 60 to 150 characters against the reference. */
	srand(1);
	for (int i = 0; i < 1000; i++) {
		size_t len = 60 + (size_t)(rand() % 91);
		int word = i % 5 == 0, got, want;

		rand_pattern(rp, len);
		rand_value(rp, rv, sizeof(rv));
		if (word) {
			/* Some words around it, so that boundaries matter. */
			char wrapped[sizeof(rv) + 8];

			snprintf(wrapped, sizeof(wrapped), "%s%s%s", rand() % 2 ? "x " : "",
			    rv, rand() % 2 ? " y" : "b");
			got = mpush_glob(rp, wrapped, 1, 0);
			want = ref_word(rp, wrapped);
		} else {
			got = mpush_glob(rp, rv, 0, 0);
			want = ref_whole(rp, rv);
		}
		if (got != want) {
			FAIL("%s %s: %d, want %d", rp, rv, got, want);
			break;
		}
	}
	return failed;
}
