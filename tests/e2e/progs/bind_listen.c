/* bind_listen.c: a listener the way an active-FTP client makes one.
 *
 * Usage: bind_listen CTRL_HOST CTRL_PORT ADDR_FILE
 * Connects to CTRL_HOST:CTRL_PORT (the "control connection": its
 * destination is the peer a BIND expects) and prints getsockname of it;
 * then socket, bind(0.0.0.0:0), listen, getsockname, and writes the
 * listening address "IP PORT" to ADDR_FILE for the peer.  Waits (20 s at
 * most) with epoll until the listener is readable, then accept4 with
 * SOCK_NONBLOCK, checks the accepted fd is non-blocking, prints its peer,
 * sends "from-acceptor\n" and reads "from-peer\n".  Prints "control local
 * IP:PORT", "listening IP:PORT", "accepted from IP:PORT" and "bind ok";
 * exits 1 with a reason otherwise. */
#include <sys/epoll.h>
#include <fcntl.h>
#include <poll.h>

#include "prog_util.h"

static void
name_of(const struct sockaddr_storage *ss, char *buf, size_t cap, unsigned *port)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &in->sin_addr, buf, (socklen_t)cap);
		*port = ntohs(in->sin_port);
	} else {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &in6->sin6_addr, buf, (socklen_t)cap);
		*port = ntohs(in6->sin6_port);
	}
}

static int
fail(const char *what)
{
	printf("%s: %s\n", what, errno ? prog_errname(errno) : "failed");
	return 1;
}

int
main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	struct sockaddr_in any = { .sin_family = AF_INET };
	struct epoll_event ev = { .events = EPOLLIN }, got;
	socklen_t sl;
	char ip[INET6_ADDRSTRLEN], buf[64];
	unsigned port;
	int c, l, a, ep, n;
	FILE *f;

	if (argc != 4) {
		fprintf(stderr, "usage: bind_listen CTRL_HOST CTRL_PORT ADDR_FILE\n");
		return 64;
	}
	sl = prog_addr(argv[1], argv[2], &ss);
	c = socket(ss.ss_family, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&ss, sl) != 0)
		return fail("control connect");
	sl = sizeof(ss);
	if (getsockname(c, (struct sockaddr *)&ss, &sl) != 0)
		return fail("control getsockname");
	name_of(&ss, ip, sizeof(ip), &port);
	printf("control local %s:%u\n", ip, port);

	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&any, sizeof(any)) != 0)
		return fail("bind");
	if (listen(l, 1) != 0)
		return fail("listen");
	sl = sizeof(ss);
	if (getsockname(l, (struct sockaddr *)&ss, &sl) != 0)
		return fail("listener getsockname");
	name_of(&ss, ip, sizeof(ip), &port);
	printf("listening %s:%u\n", ip, port);
	fflush(stdout);
	if ((f = fopen(argv[3], "w")) == NULL || fprintf(f, "%s %u\n", ip, port) < 0 ||
	    fclose(f) != 0)
		return fail("address file");

	if ((ep = epoll_create1(0)) < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev) != 0)
		return fail("epoll");
	n = epoll_wait(ep, &got, 1, 20000);
	if (n != 1)
		return fail(n == 0 ? "epoll: no peer within 20 s" : "epoll_wait");
	sl = sizeof(ss);
	a = accept4(l, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK);
	if (a < 0)
		return fail("accept4");
	if (!(fcntl(a, F_GETFL) & O_NONBLOCK)) {
		printf("accept4: the accepted fd is blocking\n");
		return 1;
	}
	name_of(&ss, ip, sizeof(ip), &port);
	printf("accepted from %s:%u\n", ip, port);
	/* Blocking from here: the bytes, both ways. */
	fcntl(a, F_SETFL, fcntl(a, F_GETFL) & ~O_NONBLOCK);
	if (prog_write_all(a, "from-acceptor\n", 14) != 0)
		return fail("write");
	memset(buf, 0, sizeof(buf));
	if (prog_read_all(a, buf, 10) != 0 || memcmp(buf, "from-peer\n", 10) != 0)
		return fail("read");
	printf("bind ok\n");
	close(a);
	close(l);
	close(c);
	return 0;
}
