/* swap.c: a socket of another family under the program's fd number.
 *
 * The chain is built on the program's own socket whenever it can be: a
 * dynamic chain that starts over after a dead hop disconnects the socket
 * (connect with AF_UNSPEC) and connects it again.  Only a first hop of
 * another family (an AF_INET socket and an IPv6-only proxy, or an
 * IPV6_V6ONLY socket and an IPv4 proxy) needs a fresh socket.  It is built
 * on the side and put at the program's fd once the chain is up, with the
 * options a program is likely to have set, the fd's FD_CLOEXEC, and the
 * epoll registrations the old socket had, so that an epoll set made before
 * connect() still reports the fd.  What cannot follow: a bind() to a local
 * address, and options of the other family's IP level.
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
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

		if (real_getsockopt(from, int_opts[i].level, int_opts[i].name, &a, &la) != 0 ||
		    real_getsockopt(to, int_opts[i].level, int_opts[i].name, &b, &lb) != 0 ||
		    a == b)
			continue;
		/* The kernel doubles buffer sizes on the way in. */
		if (int_opts[i].level == SOL_SOCKET &&
		    (int_opts[i].name == SO_RCVBUF || int_opts[i].name == SO_SNDBUF))
			a /= 2;
		(void)setsockopt(to, int_opts[i].level, int_opts[i].name, &a, sizeof(a));
	}
	l = sizeof(lo);
	if (real_getsockopt(from, SOL_SOCKET, SO_LINGER, &lo, &l) == 0 && lo.l_onoff)
		(void)setsockopt(to, SOL_SOCKET, SO_LINGER, &lo, sizeof(lo));
	l = sizeof(dev);
	if (real_getsockopt(from, SOL_SOCKET, SO_BINDTODEVICE, dev, &l) == 0 && l > 1)
		(void)setsockopt(to, SOL_SOCKET, SO_BINDTODEVICE, dev, l);
	l = sizeof(cc);
	if (real_getsockopt(from, IPPROTO_TCP, TCP_CONGESTION, cc, &l) == 0 && l > 0) {
		char dc[32];
		socklen_t dl = sizeof(dc);
		if (real_getsockopt(to, IPPROTO_TCP, TCP_CONGESTION, dc, &dl) != 0 ||
		    dl != l || memcmp(dc, cc, l) != 0)
			(void)setsockopt(to, IPPROTO_TCP, TCP_CONGESTION, cc, l);
	}
}


int
swap_new_socket(int family, int proto)
{
	return socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
}

/* Reads, from /proc/self/fdinfo of every epoll fd, the registrations of fd
 * whose file is the socket with inode ino.  Runs only on a swap, which is
 * rare enough to afford a walk over the fd table. */
unsigned
swap_find_registrations(int fd, ino_t ino, struct epreg *out)
{
	char path[64], link[64], line[160];
	struct dirent *d;
	unsigned n = 0;
	DIR *dir = opendir("/proc/self/fd");

	if (dir == NULL)
		return 0;
	while ((d = readdir(dir)) != NULL && n < EPREG_MAX) {
		int epfd = atoi(d->d_name);
		ssize_t l;
		FILE *f;

		if (d->d_name[0] < '0' || d->d_name[0] > '9' || epfd == dirfd(dir))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", epfd);
		l = readlink(path, link, sizeof(link) - 1);
		if (l <= 0)
			continue;
		link[l] = '\0';
		if (strcmp(link, "anon_inode:[eventpoll]") != 0)
			continue;
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", epfd);
		f = fopen(path, "re");
		if (f == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL && n < EPREG_MAX) {
			int tfd;
			unsigned events;
			unsigned long long data;
			unsigned long tino;
			const char *ip;

			if (sscanf(line, "tfd: %d events: %x data: %llx", &tfd, &events,
			    &data) != 3 || tfd != fd)
				continue;
			ip = strstr(line, "ino:");
			if (ip == NULL || sscanf(ip, "ino:%lx", &tino) != 1 || tino != ino)
				continue;
			out[n].epfd = epfd;
			out[n].events = events;
			out[n].data = data;
			n++;
		}
		fclose(f);
	}
	closedir(dir);
	return n;
}

int
swap_install(int fd, int old, int sock)
{
	struct epreg regs[EPREG_MAX];
	struct stat st;
	unsigned n = 0;
	int fdflags, e;

	fdflags = real_fcntl(fd, F_GETFD, 0);
	if (fdflags < 0)
		return -1;
	if (fstat(old, &st) == 0)
		n = swap_find_registrations(fd, st.st_ino, regs);
	copy_opts(old, sock);
	if (real_dup3(sock, fd, (fdflags & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0)
		return -1;
	/* The old socket's entries go away with it; the new one takes them
	 * over, with the same events and the same data. */
	e = errno;
	for (unsigned i = 0; i < n; i++) {
		struct epoll_event ev = { .events = regs[i].events, .data.u64 = regs[i].data };

		/* The raw call: the library's epoll_ctl hook must not see it. */
		if (real_syscall(SYS_epoll_ctl, regs[i].epfd, EPOLL_CTL_ADD, fd, (long)&ev,
		    0, 0) != 0 && errno == EEXIST)
			(void)real_syscall(SYS_epoll_ctl, regs[i].epfd, EPOLL_CTL_MOD, fd,
			    (long)&ev, 0, 0);
	}
	errno = e;
	return 0;
}
