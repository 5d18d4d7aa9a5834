/* hooks_io.c: reads and writes on a socket whose connect runs in the
 * engine thread (async.c) return EAGAIN, as on a TCP socket whose connect
 * is in progress: the program's bytes never reach a proxy before the
 * chain is up, nor handshake bytes the program.  After a failure the
 * first of them gets the errno, as SO_ERROR would.  With no handshake in the
 * engine each hook is one atomic load and the real call.
 */
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include <errno.h>
#include <unistd.h>

#include "lib.h"

/* The next definition of NAME, or the raw system call when there is none. */
#define NEXT(name, type, sys, ...) \
	do { \
		static void *slot; \
		type *f = (type *)real_lookup(&slot, #name); \
		if (f != NULL) \
			return f(__VA_ARGS__); \
		return (ssize_t)real_syscall sys; \
	} while (0)

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

typedef ssize_t read_fn(int, void *, size_t);
typedef ssize_t write_fn(int, const void *, size_t);
typedef ssize_t readv_fn(int, const struct iovec *, int);
typedef ssize_t recv_fn(int, void *, size_t, int);
typedef ssize_t send_fn(int, const void *, size_t, int);
typedef ssize_t recvfrom_fn(int, void *, size_t, int, struct sockaddr *, socklen_t *);
typedef ssize_t recvmsg_fn(int, struct msghdr *, int);
typedef ssize_t read_chk_fn(int, void *, size_t, size_t);
typedef ssize_t recv_chk_fn(int, void *, size_t, size_t, int);
typedef ssize_t recvfrom_chk_fn(int, void *, size_t, size_t, int, struct sockaddr *,
    socklen_t *);

SFY_EXPORT ssize_t
read(int fd, void *buf, size_t n)
{
	EARLY(fd);
	NEXT(read, read_fn, (SYS_read, fd, (long)buf, (long)n, 0, 0, 0), fd, buf, n);
}

SFY_EXPORT ssize_t
write(int fd, const void *buf, size_t n)
{
	EARLY(fd);
	NEXT(write, write_fn, (SYS_write, fd, (long)buf, (long)n, 0, 0, 0), fd, buf, n);
}

SFY_EXPORT ssize_t
readv(int fd, const struct iovec *iov, int n)
{
	EARLY(fd);
	NEXT(readv, readv_fn, (SYS_readv, fd, (long)iov, n, 0, 0, 0), fd, iov, n);
}

SFY_EXPORT ssize_t
writev(int fd, const struct iovec *iov, int n)
{
	EARLY(fd);
	NEXT(writev, readv_fn, (SYS_writev, fd, (long)iov, n, 0, 0, 0), fd, iov, n);
}

SFY_EXPORT ssize_t
recv(int fd, void *buf, size_t n, int flags)
{
	EARLY(fd);
	NEXT(recv, recv_fn, (SYS_recvfrom, fd, (long)buf, (long)n, flags, 0, 0), fd, buf, n,
	    flags);
}

SFY_EXPORT ssize_t
send(int fd, const void *buf, size_t n, int flags)
{
	EARLY(fd);
	NEXT(send, send_fn, (SYS_sendto, fd, (long)buf, (long)n, flags, 0, 0), fd, buf, n,
	    flags);
}

SFY_EXPORT ssize_t
recvfrom(int fd, void *buf, size_t n, int flags, __SOCKADDR_ARG addr, socklen_t *len)
{
	struct sockaddr *sa = addr.__sockaddr__;

	EARLY(fd);
	NEXT(recvfrom, recvfrom_fn, (SYS_recvfrom, fd, (long)buf, (long)n, flags, (long)sa,
	    (long)len), fd, buf, n, flags, sa, len);
}

SFY_EXPORT ssize_t
recvmsg(int fd, struct msghdr *msg, int flags)
{
	EARLY(fd);
	NEXT(recvmsg, recvmsg_fn, (SYS_recvmsg, fd, (long)msg, flags, 0, 0, 0), fd, msg,
	    flags);
}

/* The fortified entry points (-D_FORTIFY_SOURCE) call libc's internals
 * directly, not the names above. */
SFY_EXPORT ssize_t
__read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	EARLY(fd);
	NEXT(__read_chk, read_chk_fn, (SYS_read, fd, (long)buf, (long)n, 0, 0, 0), fd, buf, n,
	    buflen);
}

SFY_EXPORT ssize_t
__recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	EARLY(fd);
	NEXT(__recv_chk, recv_chk_fn, (SYS_recvfrom, fd, (long)buf, (long)n, flags, 0, 0), fd,
	    buf, n, buflen, flags);
}

SFY_EXPORT ssize_t
__recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
    struct sockaddr *sa, socklen_t *len)
{
	EARLY(fd);
	NEXT(__recvfrom_chk, recvfrom_chk_fn, (SYS_recvfrom, fd, (long)buf, (long)n, flags,
	    (long)sa, (long)len), fd, buf, n, buflen, flags, sa, len);
}
