/* fuzz_util.h: invariant checks shared by the libFuzzer targets.  A broken
 * invariant aborts, so libFuzzer saves the input as a crash reproducer.
 */
#ifndef SOCKSIFY_FUZZ_UTIL_H
#define SOCKSIFY_FUZZ_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "socksify/wire.h"

#define FUZZ_ASSERT(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond); \
		abort(); \
	} \
} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Semantic equality of two wire addresses, and the shape every decoded
 * address must have. */
static inline bool fuzz_wa_eq(const struct wire_addr *a, const struct wire_addr *b)
{
	if (a->type != b->type || a->port != b->port)
		return false;
	switch (a->type) {
	case WIRE_ATYP_IPV4:
		return memcmp(a->u.ip4, b->u.ip4, 4) == 0;
	case WIRE_ATYP_IPV6:
		return memcmp(a->u.ip6, b->u.ip6, 16) == 0;
	case WIRE_ATYP_NAME:
		return a->name_len == b->name_len &&
		    memcmp(a->u.name, b->u.name, a->name_len) == 0;
	}
	return false;
}

static inline void fuzz_wa_valid(const struct wire_addr *a)
{
	FUZZ_ASSERT(a->type == WIRE_ATYP_IPV4 || a->type == WIRE_ATYP_IPV6 ||
	    a->type == WIRE_ATYP_NAME);
	if (a->type == WIRE_ATYP_NAME) {
		FUZZ_ASSERT(a->name_len >= 1);
		FUZZ_ASSERT(a->u.name[a->name_len] == '\0');
		FUZZ_ASSERT(strlen(a->u.name) == a->name_len);
	}
}

/* What every decoder answer must satisfy, whatever the input. */
static inline void fuzz_rc_valid(int rc, size_t used, size_t size, const char *why)
{
	FUZZ_ASSERT(rc == WIRE_OK || rc == WIRE_NEED_MORE || rc == WIRE_MALFORMED);
	if (rc == WIRE_OK) {
		FUZZ_ASSERT(used > 0);
		FUZZ_ASSERT(used <= size);
	}
	if (rc == WIRE_MALFORMED)
		FUZZ_ASSERT(why != NULL && why[0] != '\0');
}

/* A heap copy of exactly n bytes, so a read past the end is caught. */
static inline uint8_t *fuzz_dup(const uint8_t *p, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);

	FUZZ_ASSERT(c != NULL);
	if (n)
		memcpy(c, p, n);
	return c;
}

/* A stream decoder that accepted used bytes must, on the same bytes cut
 * short, ask for more: otherwise a message split across two recv() calls
 * would be judged differently from the same message in one piece. */
#define FUZZ_STREAM_PREFIXES(dec, data, used, type) do { \
	size_t cuts_[2] = { (used) - 1, (used) / 2 }; \
	int i_; \
	for (i_ = 0; i_ < 2; i_++) { \
		type tmp_; \
		size_t u_ = 0; \
		const char *w_ = NULL; \
		uint8_t *c_ = fuzz_dup(data, cuts_[i_]); \
		int r_ = dec(c_, cuts_[i_], &tmp_, &u_, &w_); \
		free(c_); \
		FUZZ_ASSERT(r_ == WIRE_NEED_MORE); \
	} \
} while (0)

#endif
