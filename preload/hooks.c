/* hooks.c: the interposed symbols, and nothing else.
 *
 * Each hook decides "ours or not" and hands over to the engine or to the
 * real function.  They are the only symbols the library exports.  errno is
 * what libc would have left; no hook prints to stdout or exits.  The
 * signatures use glibc's transparent sockaddr unions so that they match
 * the declarations in <sys/socket.h> exactly.
 */
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "lib.h"
#include "resolve.h"

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

/* What a socket is, for the chain: TCP (and MPTCP), a datagram socket, or
 * something else.  One question answers the common cases: TCP sockets are
 * always SOCK_STREAM, UDP ones SOCK_DGRAM; anything else asks for the type
 * as well.  errno is left as it was. */
enum sock_class { SC_OTHER, SC_TCP, SC_DGRAM };

static enum sock_class
sock_class(int fd)
{
	int type = 0, proto = 0, saved = errno;
	socklen_t tl = sizeof(type), pl = sizeof(proto);
	enum sock_class c = SC_OTHER;

	if (real_getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &pl) != 0)
		proto = 0;
	if (proto == IPPROTO_TCP || proto == IPPROTO_MPTCP)
		c = SC_TCP;
	else if (proto == IPPROTO_UDP || proto == IPPROTO_UDPLITE)
		c = SC_DGRAM;
	else if (real_getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0)
		/* proto 0: a kernel without SO_PROTOCOL, where a stream
		 * socket of these families is TCP.  Another protocol (SCTP)
		 * is not the chain's. */
		c = type == SOCK_DGRAM ? SC_DGRAM :
		    (type == SOCK_STREAM && proto == 0) ? SC_TCP : SC_OTHER;
	errno = saved;
	return c;
}

/* An IPv4 or IPv6 address of full length: the only kind the chain takes.
 * Anything shorter goes to the kernel, which says EINVAL. */
static bool
inet_addr_ok(const struct sockaddr *sa, socklen_t len)
{
	if (sa == NULL || len < sizeof(sa_family_t))
		return false;
	if (sa->sa_family == AF_INET)
		return len >= sizeof(struct sockaddr_in);
	if (sa->sa_family == AF_INET6)
		return len >= sizeof(struct sockaddr_in6);
	return false;
}

static int
do_connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	if (sa != NULL && len >= sizeof(sa_family_t) && sa->sa_family == AF_UNSPEC &&
	    sock_udp_flagged(fd)) {
		bool handled;
		int rc = udp_connect(fd, sa, len, &handled);

		if (handled)
			return rc;
	}
	if (!inet_addr_ok(sa, len))
		return real_connect(fd, sa, len);
	switch (sock_class(fd)) {
	case SC_TCP:
		return sfy_connect(fd, sa, len);
	case SC_DGRAM: {
		bool handled;
		int rc = udp_connect(fd, sa, len, &handled);

		if (handled)
			return rc;
		break;
	}
	case SC_OTHER:
		break;
	}
	return real_connect(fd, sa, len);
}

SFY_EXPORT int
connect(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len)
{
	return do_connect(fd, addr.__sockaddr__, len);
}

/* glibc exports connect under this name too; a program may call it. */
SFY_EXPORT int __connect(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len)
    __attribute__((alias("connect")));

SFY_EXPORT int
getpeername(int fd, __SOCKADDR_ARG addr, socklen_t *len)
{
	struct sockaddr *sa = addr.__sockaddr__;
	struct sock_rec r;

	if (async_busy(fd)) {
		errno = ENOTCONN; /* the chain is not up yet */
		return -1;
	}
	if (sa != NULL && len != NULL && sock_flagged(fd) && sock_get(fd, &r)) {
		if (r.peerlen == 0) {
			/* A UDP socket of the chain, not connected. */
			errno = ENOTCONN;
			return -1;
		}
		memcpy(sa, &r.peer, *len < r.peerlen ? *len : r.peerlen);
		*len = r.peerlen;
		return 0;
	}
	return real_getpeername(fd, sa, len);
}

/* A proxied connection answers with the last hop's address (where the
 * destination sees it come from), a listener through the chain with where
 * its peer is to come, both in the family of the socket the program made.
 * A kernel binds port 0 at once; a listener through the chain learns its
 * port from the BIND, so asking for it starts the BIND. */
SFY_EXPORT int
getsockname(int fd, __SOCKADDR_ARG addr, socklen_t *len)
{
	struct sockaddr *sa = addr.__sockaddr__;
	struct sock_rec r;

	if (sa != NULL && len != NULL && sock_flagged(fd) && sock_get(fd, &r) &&
	    (r.kind == SOCK_KIND_TCP || r.kind == SOCK_KIND_LISTEN)) {
		/* A program asks where it is bound to tell a peer (an FTP
		 * client, before listen): the BIND starts now. */
		if (r.kind == SOCK_KIND_LISTEN && r.lstate == LISTEN_BOUND &&
		    (sfy_listen(fd) != 0 || !sock_get(fd, &r)))
			return -1;
		memcpy(sa, &r.local, *len < r.locallen ? *len : r.locallen);
		*len = r.locallen;
		return 0;
	}
	return real_getsockname(fd, sa, len);
}

SFY_EXPORT int
getsockopt(int fd, int level, int name, void *restrict val, socklen_t *restrict len)
{
	struct sock_rec r;
	int e;

	if (level == SOL_SOCKET && name == SO_ERROR && val != NULL && len != NULL &&
	    *len >= sizeof(int) && async_take_error(fd, &e)) {
		memcpy(val, &e, sizeof(e));
		*len = sizeof(e);
		return 0;
	}
	if (level == SOL_SOCKET && name == SO_DOMAIN && val != NULL && len != NULL &&
	    *len >= sizeof(int) && sock_flagged(fd) && sock_get(fd, &r) && r.swapped) {
		int v = r.family;
		memcpy(val, &v, sizeof(v));
		*len = sizeof(v);
		return 0;
	}
	return real_getsockopt(fd, level, name, val, len);
}

SFY_EXPORT int
close(int fd)
{
	return sock_close(fd);
}

SFY_EXPORT int
dup(int fd)
{
	int r = real_dup(fd);

	if (r >= 0 && sock_flagged(fd))
		sock_copy(fd, r);
	return r;
}

static int
dup_onto(int oldfd, int newfd, int flags, bool three)
{
	int r;

	if (sock_flagged(newfd) && oldfd != newfd && sock_dup_target(newfd) != 0)
		return -1;
	r = three ? real_dup3(oldfd, newfd, flags) : real_dup2(oldfd, newfd);
	if (r >= 0 && (sock_flagged(oldfd) || sock_flagged(r)))
		sock_copy(oldfd, r);
	return r;
}

SFY_EXPORT int
dup2(int oldfd, int newfd)
{
	return dup_onto(oldfd, newfd, 0, false);
}

SFY_EXPORT int
dup3(int oldfd, int newfd, int flags)
{
	return dup_onto(oldfd, newfd, flags, true);
}

static int
fcntl_common(int fd, int cmd, long arg, bool is64)
{
	int r = is64 ? real_fcntl64(fd, cmd, arg) : real_fcntl(fd, cmd, arg);

	if (r >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) && sock_flagged(fd))
		sock_copy(fd, r);
	return r;
}

/* The third argument is an int or a pointer; both fit a long and travel
 * the same way through the variadic call. */
SFY_EXPORT int
fcntl(int fd, int cmd, ...)
{
	va_list ap;
	long arg;

	va_start(ap, cmd);
	arg = va_arg(ap, long);
	va_end(ap);
	return fcntl_common(fd, cmd, arg, false);
}

SFY_EXPORT int
fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	long arg;

	va_start(ap, cmd);
	arg = va_arg(ap, long);
	va_end(ap);
	return fcntl_common(fd, cmd, arg, true);
}

SFY_EXPORT int
close_range(unsigned first, unsigned last, int flags)
{
	return sock_close_range(first, last, flags);
}

SFY_EXPORT void
closefrom(int lowfd)
{
	sock_closefrom(lowfd);
}

static ssize_t udp_sendto(int fd, const void *buf, size_t n, int flags,
    const struct sockaddr *sa, socklen_t len);
static ssize_t udp_or_real_sendmsg(int fd, const struct msghdr *msg, int flags);

/* MSG_FASTOPEN with an address on a TCP socket is a connect and a send in
 * one: 1 to let the kernel do it (not ours, or a direct destination), 0
 * when fd is now connected through the chain (send without the flag and
 * the address), -1 with errno. */
static int
fastopen(int fd, const struct sockaddr *sa, socklen_t len, int flags)
{
	if (!(flags & MSG_FASTOPEN) || !inet_addr_ok(sa, len) || sock_class(fd) != SC_TCP)
		return 1;
	return sfy_fastopen(fd, sa, len);
}

static ssize_t
do_sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *sa,
    socklen_t len)
{
	int e;

	if (async_busy(fd)) {
		errno = EAGAIN; /* the chain is not up yet */
		return -1;
	}
	if (async_failed_fd(fd) && async_take_error(fd, &e)) {
		errno = e; /* the failed connect's error, once */
		return -1;
	}
	if (sa == NULL)
		return udp_sendto(fd, buf, n, flags, sa, len);
	switch (fastopen(fd, sa, len, flags)) {
	case 0:
		return real_sendto(fd, buf, n, flags & ~MSG_FASTOPEN, NULL, 0);
	case -1:
		return -1;
	}
	return udp_sendto(fd, buf, n, flags, sa, len);
}

SFY_EXPORT ssize_t
sendto(int fd, const void *buf, size_t n, int flags, __CONST_SOCKADDR_ARG addr,
    socklen_t len)
{
	return do_sendto(fd, buf, n, flags, addr.__sockaddr__, len);
}

/* sendto through the chain when it is the chain's. */
static ssize_t
udp_sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *sa,
    socklen_t len)
{
	struct iovec iov = { (void *)buf, n };
	struct msghdr m = { .msg_name = (void *)sa, .msg_namelen = len, .msg_iov = &iov,
	    .msg_iovlen = 1 };
	bool handled;
	ssize_t rc;

	if (sa == NULL && !sock_udp_flagged(fd))
		return real_sendto(fd, buf, n, flags, sa, len);
	rc = udp_sendmsg(fd, &m, flags, &handled);
	return handled ? rc : real_sendto(fd, buf, n, flags, sa, len);
}

static ssize_t
udp_or_real_sendmsg(int fd, const struct msghdr *msg, int flags)
{
	bool handled;
	ssize_t rc = udp_sendmsg(fd, msg, flags, &handled);

	return handled ? rc : real_sendmsg(fd, msg, flags);
}

SFY_EXPORT ssize_t
sendmsg(int fd, const struct msghdr *msg, int flags)
{
	int e;

	if (async_busy(fd)) {
		errno = EAGAIN; /* the chain is not up yet */
		return -1;
	}
	if (async_failed_fd(fd) && async_take_error(fd, &e)) {
		errno = e; /* the failed connect's error, once */
		return -1;
	}
	if (msg == NULL || (msg->msg_name == NULL && !sock_udp_flagged(fd)))
		return real_sendmsg(fd, msg, flags);
	if (msg->msg_name == NULL)
		return udp_or_real_sendmsg(fd, msg, flags);
	switch (fastopen(fd, msg->msg_name, msg->msg_namelen, flags)) {
	case 0: {
		/* The caller's header stays as it was. */
		struct msghdr m = *msg;

		m.msg_name = NULL;
		m.msg_namelen = 0;
		return real_sendmsg(fd, &m, flags & ~MSG_FASTOPEN);
	}
	case -1:
		return -1;
	}
	return udp_or_real_sendmsg(fd, msg, flags);
}

SFY_EXPORT int
sendmmsg(int fd, struct mmsghdr *vec, unsigned n, int flags)
{
	unsigned i;

	if (vec == NULL || n == 0)
		return real_sendmmsg(fd, vec, n, flags);
	if (!sock_udp_flagged(fd)) {
		/* Straight to the kernel when no message is the chain's. */
		for (i = 0; i < n; i++) {
			const struct msghdr *h = &vec[i].msg_hdr;

			if (h->msg_name != NULL && inet_addr_ok(h->msg_name, h->msg_namelen))
				break;
		}
		if (i == n)
			return real_sendmmsg(fd, vec, n, flags);
	}
	/* One at a time, as a send that fails part way: the messages before
	 * a failure still count. */
	for (i = 0; i < n; i++) {
		ssize_t r = udp_or_real_sendmsg(fd, &vec[i].msg_hdr, flags);

		if (r < 0)
			return i == 0 ? -1 : (int)i;
		vec[i].msg_len = (unsigned)r;
	}
	return (int)i;
}

/* ---- syscall(): the same treatment as the functions ----
 * A program that calls syscall(SYS_connect, ...) through libc must not get
 * around the chain.  Six arguments are read whatever the number, as libc's
 * own syscall() does. */
SFY_EXPORT long
syscall(long nr, ...)
{
	va_list ap;
	long a[6];

	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	switch (nr) {
	case SYS_connect:
		return do_connect((int)a[0], (const struct sockaddr *)a[1], (socklen_t)a[2]);
	case SYS_sendto:
		return do_sendto((int)a[0], (const void *)a[1], (size_t)a[2], (int)a[3],
		    (const struct sockaddr *)a[4], (socklen_t)a[5]);
	case SYS_sendmsg:
		return sendmsg((int)a[0], (const struct msghdr *)a[1], (int)a[2]);
	case SYS_sendmmsg:
		return sendmmsg((int)a[0], (struct mmsghdr *)a[1], (unsigned)a[2], (int)a[3]);
	case SYS_recvfrom:
	case SYS_recvmsg:
	case SYS_recvmmsg:
		/* A UDP socket of the chain: its datagrams carry headers. */
		if (!sock_udp_flagged((int)a[0]))
			break;
		if (nr == SYS_recvfrom)
			return recvfrom((int)a[0], (void *)a[1], (size_t)a[2], (int)a[3],
			    (struct sockaddr *)a[4], (socklen_t *)a[5]);
		if (nr == SYS_recvmsg)
			return recvmsg((int)a[0], (struct msghdr *)a[1], (int)a[2]);
		return recvmmsg((int)a[0], (struct mmsghdr *)a[1], (unsigned)a[2], (int)a[3],
		    (struct timespec *)a[4]);
#ifdef SYS_io_uring_setup
	case SYS_io_uring_setup:
		/* io_uring makes its own connects, out of our sight. */
		errno = ENOSYS;
		return -1;
#endif
	}
	return real_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/* ---- the resolver: names stay names, for the proxy (resolve.c) ---- */

SFY_EXPORT int
getaddrinfo(const char *restrict node, const char *restrict service,
    const struct addrinfo *restrict hints, struct addrinfo **restrict res)
{
	return dns_getaddrinfo(node, service, hints, res);
}

SFY_EXPORT void
freeaddrinfo(struct addrinfo *res)
{
	dns_freeaddrinfo(res);
}

SFY_EXPORT int
getnameinfo(const struct sockaddr *restrict sa, socklen_t salen, char *restrict host,
    socklen_t hostlen, char *restrict serv, socklen_t servlen, int flags)
{
	return dns_getnameinfo(sa, salen, host, hostlen, serv, servlen, flags);
}

SFY_EXPORT struct hostent *
gethostbyname(const char *name)
{
	return dns_gethostbyname2(name, AF_INET);
}

SFY_EXPORT struct hostent *
gethostbyname2(const char *name, int af)
{
	return dns_gethostbyname2(name, af);
}

SFY_EXPORT struct hostent *
gethostbyaddr(const void *addr, socklen_t len, int type)
{
	return dns_gethostbyaddr(addr, len, type);
}

SFY_EXPORT int
gethostbyname_r(const char *restrict name, struct hostent *restrict ret,
    char *restrict buf, size_t buflen, struct hostent **restrict result,
    int *restrict h_errnop)
{
	return dns_gethostbyname2_r(name, AF_INET, ret, buf, buflen, result, h_errnop);
}

SFY_EXPORT int
gethostbyname2_r(const char *restrict name, int af, struct hostent *restrict ret,
    char *restrict buf, size_t buflen, struct hostent **restrict result,
    int *restrict h_errnop)
{
	return dns_gethostbyname2_r(name, af, ret, buf, buflen, result, h_errnop);
}

SFY_EXPORT int
gethostbyaddr_r(const void *restrict addr, socklen_t len, int type,
    struct hostent *restrict ret, char *restrict buf, size_t buflen,
    struct hostent **restrict result, int *restrict h_errnop)
{
	return dns_gethostbyaddr_r(addr, len, type, ret, buf, buflen, result, h_errnop);
}
