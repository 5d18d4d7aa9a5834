/* hooks.c: the interposed symbols, and nothing else.
 *
 * Each hook decides "ours or not" and hands over to the engine or to the
 * real function.  They are the only symbols the library exports.  errno is
 * what libc would have left; no hook prints to stdout or exits.  The
 * signatures use glibc's transparent sockaddr unions so that they match
 * the declarations in <sys/socket.h> exactly.
 */
#include <sys/socket.h>
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

SFY_EXPORT int
connect(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len)
{
	const struct sockaddr *sa = addr.__sockaddr__;
	int type = 0, proto = 0, saved = errno;
	socklen_t tl = sizeof(type), pl = sizeof(proto);

	if (sa == NULL || len < sizeof(sa_family_t) ||
	    (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
		return real_connect(fd, sa, len);
	if ((sa->sa_family == AF_INET && len < sizeof(struct sockaddr_in)) ||
	    (sa->sa_family == AF_INET6 && len < sizeof(struct sockaddr_in6)))
		return real_connect(fd, sa, len); /* the kernel says EINVAL */
	/* One question answers the common cases: TCP (and MPTCP) sockets are
	 * always SOCK_STREAM, UDP ones SOCK_DGRAM.  Anything else asks for the
	 * type as well. */
	if (real_getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &pl) != 0)
		proto = 0;
	else if (proto == IPPROTO_TCP || proto == IPPROTO_MPTCP)
		return sfy_connect(fd, sa, len);
	errno = saved;
	if (proto == IPPROTO_UDP || proto == IPPROTO_UDPLITE)
		type = SOCK_DGRAM;
	else if (real_getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0)
		return real_connect(fd, sa, len); /* EBADF, ENOTSOCK: from the kernel */
	/* proto 0: a kernel without SO_PROTOCOL, where a stream socket of
	 * these families is TCP.  Another protocol (SCTP) is not the chain's. */
	if (type == SOCK_STREAM)
		return proto == 0 ? sfy_connect(fd, sa, len) : real_connect(fd, sa, len);
	if (type == SOCK_DGRAM && sfy_udp_check(fd, sa, len) != 0)
		return -1;
	return real_connect(fd, sa, len);
}

SFY_EXPORT int
getpeername(int fd, __SOCKADDR_ARG addr, socklen_t *len)
{
	struct sockaddr *sa = addr.__sockaddr__;
	struct sock_rec r;

	if (sa != NULL && len != NULL && sock_flagged(fd) && sock_get(fd, &r)) {
		memcpy(sa, &r.peer, *len < r.peerlen ? *len : r.peerlen);
		*len = r.peerlen;
		return 0;
	}
	return real_getpeername(fd, sa, len);
}

/* A socket swapped for one of another family answers as the one the
 * program made. */
SFY_EXPORT int
getsockname(int fd, __SOCKADDR_ARG addr, socklen_t *len)
{
	struct sockaddr *sa = addr.__sockaddr__;
	struct sock_rec r;

	if (sa != NULL && len != NULL && sock_flagged(fd) && sock_get(fd, &r) && r.swapped) {
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

SFY_EXPORT ssize_t
sendto(int fd, const void *buf, size_t n, int flags, __CONST_SOCKADDR_ARG addr,
    socklen_t len)
{
	const struct sockaddr *sa = addr.__sockaddr__;

	if (sa != NULL && sfy_udp_check(fd, sa, len) != 0)
		return -1;
	return real_sendto(fd, buf, n, flags, sa, len);
}

SFY_EXPORT ssize_t
sendmsg(int fd, const struct msghdr *msg, int flags)
{
	if (msg != NULL && msg->msg_name != NULL &&
	    sfy_udp_check(fd, msg->msg_name, msg->msg_namelen) != 0)
		return -1;
	return real_sendmsg(fd, msg, flags);
}

SFY_EXPORT int
sendmmsg(int fd, struct mmsghdr *vec, unsigned n, int flags)
{
	/* Refused at the first forbidden message, like a send that fails
	 * part way: the messages before it still go. */
	for (unsigned i = 0; vec != NULL && i < n; i++) {
		if (vec[i].msg_hdr.msg_name != NULL &&
		    sfy_udp_check(fd, vec[i].msg_hdr.msg_name, vec[i].msg_hdr.msg_namelen) != 0) {
			if (i == 0)
				return -1;
			return real_sendmmsg(fd, vec, i, flags);
		}
	}
	return real_sendmmsg(fd, vec, n, flags);
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
