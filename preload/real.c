/* real.c: the libc functions behind our hooks, found once with dlsym.
 *
 * Each pointer is resolved on first use and stored atomically, so a hook
 * that runs before our constructor (or from another library's constructor,
 * or from several threads at once) still finds the real function.  Two
 * threads racing store the same value, which is harmless.  dlsym may
 * allocate; we never hook malloc, so that cannot recurse.
 */
#include <sys/socket.h>
#include <sys/syscall.h>
#include <netdb.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "internal.h"

void *
real_lookup(void **slot, const char *name)
{
	void *f = __atomic_load_n(slot, __ATOMIC_ACQUIRE);

	if (f == NULL) {
		f = dlsym(RTLD_NEXT, name);
		if (f != NULL)
			__atomic_store_n(slot, f, __ATOMIC_RELEASE);
	}
	return f;
}

#define REAL(name) \
	static void *slot_##name; \
	typedef __typeof__(name) name##_fn; \
	name##_fn *f_##name = (name##_fn *)real_lookup(&slot_##name, #name)

int
real_connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	REAL(connect);
	if (f_connect == NULL)
		return (int)syscall(SYS_connect, fd, sa, len);
	return f_connect(fd, sa, len);
}

int
real_getpeername(int fd, struct sockaddr *sa, socklen_t *len)
{
	REAL(getpeername);
	if (f_getpeername == NULL)
		return (int)syscall(SYS_getpeername, fd, sa, len);
	return f_getpeername(fd, sa, len);
}

int
real_getsockname(int fd, struct sockaddr *sa, socklen_t *len)
{
	REAL(getsockname);
	if (f_getsockname == NULL)
		return (int)syscall(SYS_getsockname, fd, sa, len);
	return f_getsockname(fd, sa, len);
}

int
real_getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	REAL(getsockopt);
	if (f_getsockopt == NULL)
		return (int)syscall(SYS_getsockopt, fd, level, name, val, len);
	return f_getsockopt(fd, level, name, val, len);
}

int
real_close(int fd)
{
	REAL(close);
	if (f_close == NULL)
		return (int)syscall(SYS_close, fd);
	return f_close(fd);
}

int
real_dup(int fd)
{
	REAL(dup);
	if (f_dup == NULL)
		return (int)syscall(SYS_dup, fd);
	return f_dup(fd);
}

int
real_dup2(int oldfd, int newfd)
{
	REAL(dup2);
	if (f_dup2 == NULL)
		return (int)syscall(SYS_dup2, oldfd, newfd);
	return f_dup2(oldfd, newfd);
}

int
real_dup3(int oldfd, int newfd, int flags)
{
	REAL(dup3);
	if (f_dup3 == NULL)
		return (int)syscall(SYS_dup3, oldfd, newfd, flags);
	return f_dup3(oldfd, newfd, flags);
}

/* fcntl is variadic; its third argument is an int or a pointer, and both
 * travel in one register, so passing a long through is exact. */
int
real_fcntl(int fd, int cmd, long arg)
{
	REAL(fcntl);
	if (f_fcntl == NULL)
		return (int)syscall(SYS_fcntl, fd, cmd, arg);
	return f_fcntl(fd, cmd, arg);
}

int
real_fcntl64(int fd, int cmd, long arg)
{
	static void *slot;
	int (*f)(int, int, ...) = (int (*)(int, int, ...))real_lookup(&slot, "fcntl64");

	if (f == NULL)
		return real_fcntl(fd, cmd, arg);
	return f(fd, cmd, arg);
}

int
real_close_range(unsigned first, unsigned last, int flags)
{
	REAL(close_range);
	if (f_close_range == NULL)
		return (int)syscall(SYS_close_range, first, last, flags);
	return f_close_range(first, last, flags);
}

void
real_closefrom(int lowfd)
{
	REAL(closefrom);
	if (f_closefrom == NULL) {
		syscall(SYS_close_range, (unsigned)lowfd, ~0U, 0);
		return;
	}
	f_closefrom(lowfd);
}

ssize_t
real_sendto(int fd, const void *buf, size_t n, int flags,
    const struct sockaddr *sa, socklen_t len)
{
	REAL(sendto);
	if (f_sendto == NULL)
		return syscall(SYS_sendto, fd, buf, n, flags, sa, len);
	return f_sendto(fd, buf, n, flags, sa, len);
}

ssize_t
real_sendmsg(int fd, const struct msghdr *msg, int flags)
{
	REAL(sendmsg);
	if (f_sendmsg == NULL)
		return syscall(SYS_sendmsg, fd, msg, flags);
	return f_sendmsg(fd, msg, flags);
}

ssize_t
real_recvmsg(int fd, struct msghdr *msg, int flags)
{
	REAL(recvmsg);
	if (f_recvmsg == NULL)
		return syscall(SYS_recvmsg, fd, msg, flags);
	return f_recvmsg(fd, msg, flags);
}

int
real_sendmmsg(int fd, struct mmsghdr *vec, unsigned n, int flags)
{
	REAL(sendmmsg);
	if (f_sendmmsg == NULL)
		return (int)syscall(SYS_sendmmsg, fd, vec, n, flags);
	return f_sendmmsg(fd, vec, n, flags);
}

long
real_syscall(long nr, long a, long b, long c, long d, long e, long f)
{
	static void *slot;
	long (*fn)(long, ...) = (long (*)(long, ...))real_lookup(&slot, "syscall");

	if (fn == NULL) {
		errno = ENOSYS;
		return -1;
	}
	return fn(nr, a, b, c, d, e, f);
}

int
real_getaddrinfo(const char *node, const char *service,
    const struct addrinfo *hints, struct addrinfo **res)
{
	REAL(getaddrinfo);
	/* No next object: a static program (the launcher), where libc's own
	 * function is the real one. */
	if (f_getaddrinfo == NULL)
		return getaddrinfo(node, service, hints, res);
	return f_getaddrinfo(node, service, hints, res);
}

void
real_freeaddrinfo(struct addrinfo *res)
{
	REAL(freeaddrinfo);
	if (f_freeaddrinfo == NULL)
		freeaddrinfo(res);
	else
		f_freeaddrinfo(res);
}

int
real_getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host,
    socklen_t hostlen, char *serv, socklen_t servlen, int flags)
{
	REAL(getnameinfo);
	if (f_getnameinfo == NULL)
		return getnameinfo(sa, salen, host, hostlen, serv, servlen, flags);
	return f_getnameinfo(sa, salen, host, hostlen, serv, servlen, flags);
}

int
real_gethostbyname2_r(const char *name, int af, struct hostent *ret, char *buf,
    size_t buflen, struct hostent **result, int *h_errnop)
{
	REAL(gethostbyname2_r);
	if (f_gethostbyname2_r == NULL)
		return gethostbyname2_r(name, af, ret, buf, buflen, result, h_errnop);
	return f_gethostbyname2_r(name, af, ret, buf, buflen, result, h_errnop);
}

int
real_gethostbyaddr_r(const void *addr, socklen_t len, int type, struct hostent *ret,
    char *buf, size_t buflen, struct hostent **result, int *h_errnop)
{
	REAL(gethostbyaddr_r);
	if (f_gethostbyaddr_r == NULL)
		return gethostbyaddr_r(addr, len, type, ret, buf, buflen, result, h_errnop);
	return f_gethostbyaddr_r(addr, len, type, ret, buf, buflen, result, h_errnop);
}
