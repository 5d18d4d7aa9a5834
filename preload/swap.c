/* sock.c: socket plumbing for the engine (swapping a socket, resolving a
 * proxy's address).
 *
 * The chain is built on the application's own socket whenever possible.
 * Two cases need a fresh socket under the same fd number: the first hop's
 * address family cannot be reached from the app's socket (an AF_INET
 * socket and an IPv6 proxy, or an IPV6_V6ONLY socket and an IPv4 proxy),
 * and a dynamic chain that must start over after a hop died (a TCP socket
 * cannot be connected twice).  The fresh socket is dup3()ed over the fd,
 * keeping FD_CLOEXEC, and inherits the options a program is likely to
 * have set.  What cannot follow: a bind() to a local address, and options
 * of the other family's IP level.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* Integer options copied when the old socket's value differs from a fresh
 * socket's default (so defaults the kernel tunes are left alone). */
static const struct {
	int level, name;
} int_opts[] = {
	{ SOL_SOCKET, SO_KEEPALIVE },
	{ SOL_SOCKET, SO_RCVBUF },
	{ SOL_SOCKET, SO_SNDBUF },
	{ SOL_SOCKET, SO_PRIORITY },
	{ SOL_SOCKET, SO_MARK },
	{ SOL_SOCKET, SO_OOBINLINE },
	{ SOL_SOCKET, SO_REUSEADDR },
	{ SOL_SOCKET, SO_RCVLOWAT },
	{ IPPROTO_TCP, TCP_NODELAY },
	{ IPPROTO_TCP, TCP_KEEPIDLE },
	{ IPPROTO_TCP, TCP_KEEPINTVL },
	{ IPPROTO_TCP, TCP_KEEPCNT },
	{ IPPROTO_TCP, TCP_USER_TIMEOUT },
	{ IPPROTO_TCP, TCP_MAXSEG },
};

static void
copy_opts(int from, int to)
{
	struct linger lo;
	char dev[64], cc[32];
	socklen_t l;

	for (size_t i = 0; i < sizeof(int_opts) / sizeof(int_opts[0]); i++) {
		int a = 0, b = 0;
		socklen_t la = sizeof(a), lb = sizeof(b);

		if (getsockopt(from, int_opts[i].level, int_opts[i].name, &a, &la) != 0 ||
		    getsockopt(to, int_opts[i].level, int_opts[i].name, &b, &lb) != 0 ||
		    a == b)
			continue;
		/* The kernel doubles buffer sizes on the way in. */
		if (int_opts[i].level == SOL_SOCKET &&
		    (int_opts[i].name == SO_RCVBUF || int_opts[i].name == SO_SNDBUF))
			a /= 2;
		(void)setsockopt(to, int_opts[i].level, int_opts[i].name, &a, sizeof(a));
	}
	l = sizeof(lo);
	if (getsockopt(from, SOL_SOCKET, SO_LINGER, &lo, &l) == 0 && lo.l_onoff)
		(void)setsockopt(to, SOL_SOCKET, SO_LINGER, &lo, sizeof(lo));
	l = sizeof(dev);
	if (getsockopt(from, SOL_SOCKET, SO_BINDTODEVICE, dev, &l) == 0 && l > 1)
		(void)setsockopt(to, SOL_SOCKET, SO_BINDTODEVICE, dev, l);
	l = sizeof(cc);
	if (getsockopt(from, IPPROTO_TCP, TCP_CONGESTION, cc, &l) == 0 && l > 0) {
		char dc[32];
		socklen_t dl = sizeof(dc);
		if (getsockopt(to, IPPROTO_TCP, TCP_CONGESTION, dc, &dl) != 0 ||
		    dl != l || memcmp(dc, cc, l) != 0)
			(void)setsockopt(to, IPPROTO_TCP, TCP_CONGESTION, cc, l);
	}
}

int
sock_replace(int fd, int family)
{
	int proto = IPPROTO_TCP, fdflags, nfd, e;
	socklen_t l = sizeof(proto);

	fdflags = real_fcntl(fd, F_GETFD, 0);
	if (fdflags < 0)
		return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &l) != 0)
		proto = IPPROTO_TCP;
	nfd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	if (nfd < 0)
		return -1;
	copy_opts(fd, nfd);
	if (real_dup3(nfd, fd, (fdflags & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
		e = errno;
		real_close(nfd);
		errno = e;
		return -1;
	}
	real_close(nfd);
	return 0;
}

int
sock_resolve(const struct wire_addr *w, struct sockaddr_storage *ss,
    socklen_t *len, int prefer_family)
{
	struct addrinfo hints, *res = NULL, *ai, *pick = NULL;
	int rc;

	if (w->type != WIRE_ATYP_NAME)
		return addr_sockaddr_from_wire(ss, len, w);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	/* libc's resolver, never our own hooks: the proxy's own name is
	 * always resolved locally. */
	rc = real_getaddrinfo(w->u.name, NULL, &hints, &res);
	if (rc != 0 || res == NULL) {
		errno = EHOSTUNREACH;
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		if (pick == NULL || (ai->ai_family == prefer_family &&
		    pick->ai_family != prefer_family))
			pick = ai;
	}
	if (pick == NULL) {
		real_freeaddrinfo(res);
		errno = EHOSTUNREACH;
		return -1;
	}
	memcpy(ss, pick->ai_addr, pick->ai_addrlen);
	*len = pick->ai_addrlen;
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(w->port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons(w->port);
	real_freeaddrinfo(res);
	return 0;
}
