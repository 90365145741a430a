/*
 * The shard of a destination (lib/fed/sender.c, myelin-sender --shard
 * I/N): FNV-1a of the name modulo N, the same on every host and build,
 * each shard within range and a fair share of names.
 */
#include <stdio.h>

#include "testlib.h"
#include "fed/fed.h"

int
main(void)
{
	unsigned	 per[4] = { 0, 0, 0, 0 };
	char		 name[64];

	/* FNV-1a 32: "a" is 0xe40c292c, "matrix.org" 0x2a25b834 (pinned: senders must agree). */
	CHECK(mfed_shard_of("a", 16) == 0xe40c292cu % 16);
	CHECK(mfed_shard_of("a", 3) == 1);
	CHECK(mfed_shard_of("matrix.org", 16) == 0x2a25b834u % 16);
	CHECK(mfed_shard_of("localhost:8448", 3) == 0x4946b988u % 3);
	/* The empty name is the offset basis 2166136261. */
	CHECK(mfed_shard_of("", 1000) == 2166136261u % 1000);
	/* One sender (or none said) takes everything. */
	CHECK(mfed_shard_of("matrix.org", 1) == 0);
	CHECK(mfed_shard_of("matrix.org", 0) == 0);
	/* Byte for byte: a port or the case makes another name. */
	CHECK(mfed_shard_of("Example.org", 1u << 30) != mfed_shard_of("example.org", 1u << 30));
	for (int i = 0; i < 2000; i++) {
		unsigned s;

		snprintf(name, sizeof(name), "server%d.example.org", i);
		s = mfed_shard_of(name, 4);
		CHECK(s < 4);
		CHECK(s == mfed_shard_of(name, 4));
		if (s < 4)
			per[s]++;
	}
	/* 500 each on average: none starved, none taking half. */
	for (int s = 0; s < 4; s++) {
		CHECK(per[s] > 350 && per[s] < 650);
		if (per[s] <= 350 || per[s] >= 650)
			fprintf(stderr, "  shard %d: %u of 2000\n", s, per[s]);
	}
	return failed;
}
