/* clock.c: the loops' clock, on its own so that a test build can supply
 * a clock it moves itself (tests/fuzz/fuzz_session.c). */
#include <time.h>

#include "srv.h"

uint64_t
srv_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
