/* io.c: time and waiting, for handshakes that run under one deadline.
 *
 * The handshake itself never blocks (hs.c uses MSG_DONTWAIT); when it must
 * wait, it waits here with poll() for what is left of the deadline.
 */
#include <errno.h>
#include <poll.h>
#include <time.h>

#include "internal.h"

int64_t
io_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
io_deadline_min(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

int
io_wait(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	for (;;) {
		int64_t left = deadline - io_now_ms();
		int r;

		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		r = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (r > 0)
			return 0; /* ready, or an error the next call reports */
		if (r < 0 && errno != EINTR)
			return -1;
	}
}
