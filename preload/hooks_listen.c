/* hooks_listen.c: bind, listen, accept and accept4, for listeners the
 * config sends through the chain (listen.c).  Every other socket pays one
 * flag check in accept (the hot one for servers) and goes to libc. */
#include <sys/socket.h>
#include <sys/syscall.h>
#include <netinet/in.h>

#include <errno.h>
#include <unistd.h>

#include "lib.h"

#define REAL(name, ...) \
	static void *slot; \
	typedef __typeof__(name) fn_t; \
	fn_t *f = (fn_t *)real_lookup(&slot, #name)

static int
real_bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	REAL(bind);
	return f != NULL ? f(fd, sa, len) : (int)syscall(SYS_bind, fd, sa, len);
}

static int
real_listen(int fd, int backlog)
{
	REAL(listen);
	return f != NULL ? f(fd, backlog) : (int)syscall(SYS_listen, fd, backlog);
}

static int
real_accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
	REAL(accept4);
	return f != NULL ? f(fd, sa, len, flags) : (int)syscall(SYS_accept4, fd, sa, len, flags);
}

static int
real_accept(int fd, struct sockaddr *sa, socklen_t *len)
{
	REAL(accept);
	return f != NULL ? f(fd, sa, len) : (int)syscall(SYS_accept4, fd, sa, len, 0);
}

/* A TCP socket (SO_PROTOCOL, or a stream socket on a kernel without it);
 * errno is left as it was. */
static bool
is_tcp(int fd)
{
	int proto = 0, type = 0, e = errno;
	socklen_t l = sizeof(proto), tl = sizeof(type);
	bool tcp;

	if (real_getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &l) != 0)
		proto = 0;
	tcp = proto == IPPROTO_TCP ||
	    (proto == 0 && real_getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 &&
	    type == SOCK_STREAM);
	errno = e;
	return tcp;
}

static bool
inet_full(const struct sockaddr *sa, socklen_t len)
{
	return sa != NULL && ((sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) ||
	    (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)));
}

SFY_EXPORT int
bind(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len)
{
	const struct sockaddr *sa = addr.__sockaddr__;
	int r;

	if (!inet_full(sa, len) || !is_tcp(fd))
		return real_bind(fd, sa, len);
	r = sfy_bind(fd, sa, len);
	return r == 1 ? real_bind(fd, sa, len) : r;
}

SFY_EXPORT int
listen(int fd, int backlog)
{
	int r;

	if (!sock_flagged(fd))
		return real_listen(fd, backlog);
	r = sfy_listen(fd);
	return r == 1 ? real_listen(fd, backlog) : r;
}

SFY_EXPORT int
accept4(int fd, __SOCKADDR_ARG addr, socklen_t *len, int flags)
{
	int r;

	if (!sock_flagged(fd))
		return real_accept4(fd, addr.__sockaddr__, len, flags);
	r = sfy_accept(fd, addr.__sockaddr__, len, flags);
	return r == -2 ? real_accept4(fd, addr.__sockaddr__, len, flags) : r;
}

SFY_EXPORT int
accept(int fd, __SOCKADDR_ARG addr, socklen_t *len)
{
	int r;

	if (!sock_flagged(fd))
		return real_accept(fd, addr.__sockaddr__, len);
	r = sfy_accept(fd, addr.__sockaddr__, len, 0);
	return r == -2 ? real_accept(fd, addr.__sockaddr__, len) : r;
}
