/* io.c: exact-length socket I/O under one deadline.
 *
 * Every handshake byte goes through here.  The socket is non-blocking for
 * the whole handshake (chain.c sets it); each call waits with poll() for
 * what is left of the deadline, retries EINTR and EAGAIN, and never raises
 * SIGPIPE (MSG_NOSIGNAL), whatever the program did with that signal.
 */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <string.h>
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

/* Waits until fd is ready for events or the deadline passes. */
static int
wait_for(int fd, short events, int64_t deadline)
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

int
io_connect(int fd, const struct sockaddr *sa, socklen_t len, int64_t deadline)
{
	int err = 0;
	socklen_t el = sizeof(err);

	if (real_connect(fd, sa, len) == 0)
		return 0;
	/* EINTR: the connect goes on in the background, as EINPROGRESS. */
	if (errno != EINPROGRESS && errno != EINTR && errno != EAGAIN)
		return -1;
	/* A connect over loopback or a fast link is often done by now: asking
	 * again answers 0 or EISCONN (connected), EALREADY (still going) or
	 * the connection's error, in one system call instead of a poll() and
	 * a getsockopt(). */
	if (real_connect(fd, sa, len) == 0 || errno == EISCONN)
		return 0;
	if (errno != EALREADY && errno != EINPROGRESS && errno != EINTR && errno != EAGAIN)
		return -1;
	if (wait_for(fd, POLLOUT, deadline) != 0)
		return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0)
		return -1;
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

int
io_write_all(int fd, const void *buf, size_t n, int64_t deadline)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_for(fd, POLLOUT, deadline) != 0)
				return -1;
			continue;
		}
		if (w < 0 && errno == EPIPE)
			errno = ECONNRESET;
		return -1;
	}
	return 0;
}

/* One recv that waits for data first; flags may hold MSG_PEEK. */
static ssize_t
recv_some(int fd, void *buf, size_t n, int flags, int64_t deadline)
{
	for (;;) {
		ssize_t r = recv(fd, buf, n, flags | MSG_DONTWAIT);

		if (r > 0)
			return r;
		if (r == 0) {
			errno = ECONNRESET; /* the proxy closed the connection */
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (wait_for(fd, POLLIN, deadline) != 0)
			return -1;
	}
}

int
io_read_exact(int fd, void *buf, size_t n, int64_t deadline)
{
	char *p = buf;

	while (n > 0) {
		ssize_t r = recv_some(fd, p, n, 0, deadline);

		if (r < 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* The end of a head: an empty line, "\r\n\r\n" or a bare "\n\n". */
static size_t
head_end(const char *buf, size_t from, size_t len)
{
	for (size_t i = from; i < len; i++) {
		if (buf[i] != '\n' || i == 0)
			continue;
		if (buf[i - 1] == '\n')
			return i + 1;
		if (buf[i - 1] == '\r' && i >= 2 && buf[i - 2] == '\n')
			return i + 1;
	}
	return 0;
}

/* Peeks at what has arrived, then consumes exactly the bytes that belong
 * to the head.  Peeked bytes without the end of the head in them are all
 * head bytes, so they are consumed at once and the next wait is for new
 * data (no busy loop on bytes already seen). */
int
io_read_http_head(int fd, char *buf, size_t cap, size_t *len, int64_t deadline)
{
	size_t have = 0;

	while (have < cap) {
		ssize_t r = recv_some(fd, buf + have, cap - have, MSG_PEEK, deadline);
		size_t from = have > 2 ? have - 2 : 0, end, take;

		if (r < 0)
			return -1;
		end = head_end(buf, from, have + (size_t)r);
		take = end ? end - have : (size_t)r;
		if (io_read_exact(fd, buf + have, take, deadline) != 0)
			return -1;
		have += take;
		if (end) {
			*len = have;
			return 0;
		}
	}
	errno = EPROTO; /* a head longer than any proxy sends */
	return -1;
}
