/* nonblock.c: a non-blocking and a blocking connect keep the caller's state.
 *
 * Usage: nonblock HOST PORT
 * For each of a non-blocking socket (O_NONBLOCK|O_APPEND, FD_CLOEXEC) and a
 * blocking one (O_APPEND only), with TCP_NODELAY and SO_KEEPALIVE set:
 * connect (non-blocking: 0, or EINPROGRESS then poll + SO_ERROR), then check
 * the file status flags, the fd flags and both options are exactly as set,
 * getpeername() is the requested destination, and one echo comes back.
 * Prints "nonblocking ok" and "blocking ok"; exits 1 with a reason otherwise. */
#include <netinet/tcp.h>
#include <fcntl.h>
#include <poll.h>

#include "prog_util.h"

static int fail(const char *what, const char *why)
{
	printf("%s: %s\n", what, why);
	return 1;
}

static int wait_io(int fd, short ev)
{
	struct pollfd pfd = { .fd = fd, .events = ev };

	return poll(&pfd, 1, 10000) == 1 ? 0 : -1;
}

static int echo_nb(int fd, const char *msg)
{
	size_t n = strlen(msg), off = 0;
	char buf[128];
	ssize_t r;

	while (off < n) {
		r = send(fd, msg + off, n - off, MSG_NOSIGNAL);
		if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_io(fd, POLLOUT) < 0)
				return -1;
			continue;
		}
		if (r <= 0)
			return -1;
		off += (size_t)r;
	}
	for (off = 0; off < n;) {
		r = recv(fd, buf + off, n - off, 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_io(fd, POLLIN) < 0)
				return -1;
			continue;
		}
		if (r <= 0)
			return -1;
		off += (size_t)r;
	}
	return memcmp(buf, msg, n) == 0 ? 0 : -1;
}

static int same_addr(const struct sockaddr_storage *a,
		     const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port &&
		       x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
	}
	return 0;
}

static int one(const char *what, int nonblock,
	       const struct sockaddr_storage *ss, socklen_t len)
{
	struct sockaddr_storage peer;
	socklen_t pl = sizeof(peer), sl = sizeof(int);
	int fd, fl0, fl, fdfl, on = 1, v, err = 0;
	char why[160];

	fd = socket(ss->ss_family,
		    SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0)
		return fail(what, "socket");
	fl0 = fcntl(fd, F_GETFL);
	if (fcntl(fd, F_SETFL, fl0 | O_APPEND) < 0)
		return fail(what, "F_SETFL");
	fl0 = fcntl(fd, F_GETFL);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));

	if (connect(fd, (const struct sockaddr *)ss, len) < 0) {
		if (!nonblock || errno != EINPROGRESS) {
			snprintf(why, sizeof(why), "connect: %s (%s)",
				 prog_errname(errno), strerror(errno));
			return fail(what, why);
		}
		if (wait_io(fd, POLLOUT) < 0)
			return fail(what, "no POLLOUT within 10 s");
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0 || err) {
			snprintf(why, sizeof(why), "SO_ERROR: %s (%s)",
				 prog_errname(err), strerror(err));
			return fail(what, why);
		}
	}
	fl = fcntl(fd, F_GETFL);
	if (fl != fl0) {
		snprintf(why, sizeof(why), "file status flags %#x, were %#x", fl, fl0);
		return fail(what, why);
	}
	fdfl = fcntl(fd, F_GETFD);
	if (!(fdfl & FD_CLOEXEC))
		return fail(what, "FD_CLOEXEC lost");
	v = 0;
	sl = sizeof(v);
	if (getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &sl) < 0 || !v)
		return fail(what, "TCP_NODELAY lost");
	v = 0;
	sl = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, &sl) < 0 || !v)
		return fail(what, "SO_KEEPALIVE lost");
	memset(&peer, 0, sizeof(peer));
	if (getpeername(fd, (struct sockaddr *)&peer, &pl) < 0)
		return fail(what, "getpeername failed");
	if (!same_addr(&peer, ss))
		return fail(what, "getpeername is not the requested destination");
	if (echo_nb(fd, nonblock ? "nonblocking echo\n" : "blocking echo\n") < 0)
		return fail(what, "echo failed");
	if (fcntl(fd, F_GETFL) != fl0)
		return fail(what, "flags changed after I/O");
	close(fd);
	printf("%s ok\n", what);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (argc != 3)
		return 64;
	setvbuf(stdout, NULL, _IONBF, 0);
	len = prog_addr(argv[1], argv[2], &ss);
	if (one("nonblocking", 1, &ss, len) != 0)
		return 1;
	if (one("blocking", 0, &ss, len) != 0)
		return 1;
	return 0;
}
