/* hooks_io.c: reads and writes on sockets of the chain.
 *
 * A TCP socket whose connect runs in the engine thread (async.c) answers
 * EAGAIN, as a socket whose connect is in progress: the program's bytes
 * never reach a proxy before the chain is up, nor handshake bytes the
 * program; after a failure the first call gets the errno, as SO_ERROR
 * would.  A UDP socket with an association (udp.c) sends and receives
 * through it: headers added and stripped, the real source reported.
 * Every other fd pays two flag checks and goes to libc.
 */
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include <errno.h>
#include <stddef.h>
#include <unistd.h>

#include "lib.h"

#define EARLY(fd) \
	do { \
		int e_; \
		if (async_busy(fd)) { \
			errno = EAGAIN; \
			return -1; \
		} \
		if (async_failed_fd(fd) && async_take_error(fd, &e_)) { \
			errno = e_; \
			return -1; \
		} \
	} while (0)

/* The next definition of name, found once (real_lookup); the raw system
 * call when there is none. */
#define NEXT(name) \
	static void *slot_##name; \
	typedef __typeof__(name) name##_fn; \
	name##_fn *next_##name = (name##_fn *)real_lookup(&slot_##name, #name)

/* A plain buffer as the one-entry message recvmsg takes. */
static ssize_t
recv_one(int fd, void *buf, size_t n, int flags, struct sockaddr *sa, socklen_t *len)
{
	struct iovec iov = { buf, n };
	struct msghdr m = { .msg_name = sa, .msg_namelen = len != NULL ? *len : 0,
	    .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t r;

	if (sa == NULL)
		m.msg_namelen = 0;
	r = udp_recvmsg(fd, &m, flags);
	if (r >= 0 && sa != NULL && len != NULL)
		*len = m.msg_namelen;
	return r;
}

/* send/write on a connected socket of the chain: to its peer. */
static ssize_t
send_vec(int fd, const struct iovec *iov, int cnt, int flags, bool *handled)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)cnt };

	return udp_sendmsg(fd, &m, flags, handled);
}

SFY_EXPORT ssize_t
recvfrom(int fd, void *restrict buf, size_t n, int flags, __SOCKADDR_ARG addr,
    socklen_t *restrict len)
{
	EARLY(fd);
	NEXT(recvfrom);
	if (!sock_udp_flagged(fd)) {
		if (next_recvfrom == NULL)
			return syscall(SYS_recvfrom, fd, buf, n, flags, addr.__sockaddr__, len);
		return next_recvfrom(fd, buf, n, flags, addr, len);
	}
	return recv_one(fd, buf, n, flags, addr.__sockaddr__, len);
}

SFY_EXPORT ssize_t
recv(int fd, void *buf, size_t n, int flags)
{
	EARLY(fd);
	NEXT(recv);
	if (!sock_udp_flagged(fd)) {
		if (next_recv == NULL)
			return syscall(SYS_recvfrom, fd, buf, n, flags, NULL, NULL);
		return next_recv(fd, buf, n, flags);
	}
	return recv_one(fd, buf, n, flags, NULL, NULL);
}

SFY_EXPORT ssize_t
recvmsg(int fd, struct msghdr *msg, int flags)
{
	EARLY(fd);
	if (!sock_udp_flagged(fd) || msg == NULL)
		return real_recvmsg(fd, msg, flags);
	return udp_recvmsg(fd, msg, flags);
}

SFY_EXPORT int
recvmmsg(int fd, struct mmsghdr *vec, unsigned n, int flags, struct timespec *tmo)
{
	EARLY(fd);
	NEXT(recvmmsg);
	if (!sock_udp_flagged(fd) || vec == NULL || n == 0) {
		if (next_recvmmsg == NULL)
			return (int)syscall(SYS_recvmmsg, fd, vec, n, flags, tmo);
		return next_recvmmsg(fd, vec, n, flags, tmo);
	}
	/* The timeout is not honoured through the chain: each message
	 * waits as recvmsg would. */
	return udp_recvmmsg(fd, vec, n, flags);
}

SFY_EXPORT ssize_t
read(int fd, void *buf, size_t n)
{
	EARLY(fd);
	NEXT(read);
	if (!sock_udp_flagged(fd)) {
		if (next_read == NULL)
			return syscall(SYS_read, fd, buf, n);
		return next_read(fd, buf, n);
	}
	return recv_one(fd, buf, n, 0, NULL, NULL);
}

SFY_EXPORT ssize_t
readv(int fd, const struct iovec *iov, int cnt)
{
	EARLY(fd);
	NEXT(readv);
	if (!sock_udp_flagged(fd) || cnt < 0) {
		if (next_readv == NULL)
			return syscall(SYS_readv, fd, iov, cnt);
		return next_readv(fd, iov, cnt);
	}
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)cnt };
	return udp_recvmsg(fd, &m, 0);
}

SFY_EXPORT ssize_t
send(int fd, const void *buf, size_t n, int flags)
{
	struct iovec iov = { (void *)buf, n };
	bool handled = false;
	ssize_t r = 0;

	EARLY(fd);
	NEXT(send);
	if (sock_udp_flagged(fd)) {
		r = send_vec(fd, &iov, 1, flags, &handled);
		if (handled)
			return r;
	}
	if (next_send == NULL)
		return syscall(SYS_sendto, fd, buf, n, flags, NULL, 0);
	return next_send(fd, buf, n, flags);
}

SFY_EXPORT ssize_t
write(int fd, const void *buf, size_t n)
{
	struct iovec iov = { (void *)buf, n };
	bool handled = false;
	ssize_t r = 0;

	EARLY(fd);
	NEXT(write);
	if (sock_udp_flagged(fd)) {
		r = send_vec(fd, &iov, 1, 0, &handled);
		if (handled)
			return r;
	}
	if (next_write == NULL)
		return syscall(SYS_write, fd, buf, n);
	return next_write(fd, buf, n);
}

SFY_EXPORT ssize_t
writev(int fd, const struct iovec *iov, int cnt)
{
	bool handled = false;
	ssize_t r = 0;

	EARLY(fd);
	NEXT(writev);
	if (sock_udp_flagged(fd) && cnt >= 0) {
		r = send_vec(fd, iov, cnt, 0, &handled);
		if (handled)
			return r;
	}
	if (next_writev == NULL)
		return syscall(SYS_writev, fd, iov, cnt);
	return next_writev(fd, iov, cnt);
}

/* _FORTIFY_SOURCE builds call these instead; the buffer check is libc's
 * (buflen is what the compiler knows of the buffer). */
SFY_EXPORT ssize_t
__recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	EARLY(fd);
	NEXT(__recv_chk);
	if (!sock_udp_flagged(fd) || n > buflen)
		return next___recv_chk(fd, buf, n, buflen, flags);
	return recv_one(fd, buf, n, flags, NULL, NULL);
}

SFY_EXPORT ssize_t
__recvfrom_chk(int fd, void *restrict buf, size_t n, size_t buflen, int flags,
    __SOCKADDR_ARG addr, socklen_t *restrict len)
{
	EARLY(fd);
	NEXT(__recvfrom_chk);
	if (!sock_udp_flagged(fd) || n > buflen)
		return next___recvfrom_chk(fd, buf, n, buflen, flags, addr, len);
	return recv_one(fd, buf, n, flags, addr.__sockaddr__, len);
}

SFY_EXPORT ssize_t
__read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	EARLY(fd);
	NEXT(__read_chk);
	if (!sock_udp_flagged(fd) || n > buflen)
		return next___read_chk(fd, buf, n, buflen);
	return recv_one(fd, buf, n, 0, NULL, NULL);
}
