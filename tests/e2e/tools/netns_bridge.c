/*
 * netns_bridge: make proxies that listen on this namespace's loopback
 * reachable, at the same address and port, from inside another network
 * namespace, and nothing else.
 *
 *     netns_bridge NETNS_FILE READY_FILE ADDR PORT [ADDR PORT ...]
 *
 * The listening sockets are made inside NETNS_FILE (e.g. /run/netns/NAME);
 * every accepted connection is carried to ADDR:PORT here, byte for byte,
 * with half-close passed on.  A socket keeps the namespace it was made
 * in, so one process serves both sides: the main thread enters the other
 * namespace only while it makes the listeners.
 *
 * When ADDR:PORT here refuses (the proxy is gone), the accepted
 * connection is reset and the listener is closed, so that the next
 * connect in the other namespace is refused as it would be without the
 * bridge.  READY_FILE is written once every listener is up.  Runs until
 * killed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXL 32

struct listener {
	int fd;
	struct sockaddr_storage ss;
	socklen_t len;
};

struct conn {
	int cfd;
	struct listener *l;
};

static int parse(const char *addr, const char *port, struct listener *l)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&l->ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&l->ss;
	char *end;
	long p = strtol(port, &end, 10);

	if (*end != '\0' || p <= 0 || p > 65535)
		return -1;
	memset(&l->ss, 0, sizeof(l->ss));
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((unsigned short)p);
		l->len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((unsigned short)p);
		l->len = sizeof(*s6);
		return 0;
	}
	return -1;
}

static int listen_on(struct listener *l)
{
	int one = 1;
	int fd = socket(l->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l->ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&l->ss, l->len) < 0 || listen(fd, 512) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Close FD so that its peer sees a reset, not an orderly end. */
static void reset(int fd)
{
	struct linger lg = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Carry bytes both ways until both directions ended; a reset or error on
 * either side resets the other. */
static void relay(int a, int b)
{
	struct pollfd pf[2] = { { a, POLLIN, 0 }, { b, POLLIN, 0 } };
	int fds[2] = { a, b };
	int open_dirs = 2;
	static __thread char buf[65536];

	while (open_dirs > 0) {
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		for (int i = 0; i < 2; i++) {
			ssize_t r;

			if (pf[i].fd < 0 || pf[i].revents == 0)
				continue;
			r = recv(fds[i], buf, sizeof(buf), 0);
			if (r < 0) {
				if (errno == EINTR || errno == EAGAIN)
					continue;
				goto fail;
			}
			if (r == 0) {
				shutdown(fds[1 - i], SHUT_WR);
				pf[i].fd = -1;
				open_dirs--;
				continue;
			}
			if (write_all(fds[1 - i], buf, (size_t)r) < 0)
				goto fail;
		}
	}
	close(a);
	close(b);
	return;
fail:
	reset(a);
	reset(b);
}

static void *serve(void *arg)
{
	struct conn *c = arg;
	struct listener *l = c->l;
	int cfd = c->cfd;
	int up;

	free(c);
	up = socket(l->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (up < 0 || connect(up, (struct sockaddr *)&l->ss, l->len) < 0) {
		if (up >= 0)
			close(up);
		/* The proxy is gone: refuse from now on, as it would. */
		shutdown(l->fd, SHUT_RDWR);
		reset(cfd);
		return NULL;
	}
	relay(cfd, up);
	return NULL;
}

int main(int argc, char **argv)
{
	struct listener ls[MAXL];
	struct pollfd pf[MAXL];
	int n = 0, here, there, live;
	pthread_attr_t attr;
	FILE *rf;

	if (argc < 5 || (argc - 3) % 2 != 0 || (argc - 3) / 2 > MAXL) {
		fprintf(stderr, "usage: netns_bridge NETNS_FILE READY_FILE ADDR PORT [ADDR PORT ...]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	here = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	there = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (here < 0 || there < 0 || setns(there, CLONE_NEWNET) < 0) {
		perror("netns_bridge: namespace");
		return 1;
	}
	for (int i = 3; i + 1 < argc; i += 2, n++) {
		if (parse(argv[i], argv[i + 1], &ls[n]) < 0) {
			fprintf(stderr, "netns_bridge: bad address %s %s\n", argv[i], argv[i + 1]);
			return 2;
		}
		ls[n].fd = listen_on(&ls[n]);
		if (ls[n].fd < 0) {
			fprintf(stderr, "netns_bridge: listen %s %s: %s\n", argv[i], argv[i + 1],
				strerror(errno));
			return 1;
		}
		pf[n].fd = ls[n].fd;
		pf[n].events = POLLIN;
	}
	/* Back home before any thread exists: threads start in the
	 * namespace of the thread that made them. */
	if (setns(here, CLONE_NEWNET) < 0) {
		perror("netns_bridge: setns back");
		return 1;
	}
	rf = fopen(argv[2], "w");
	if (rf == NULL || fclose(rf) != 0) {
		perror("netns_bridge: ready file");
		return 1;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (live = n; live > 0;) {
		if (poll(pf, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("netns_bridge: poll");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			struct conn *c;
			pthread_t t;
			int cfd;

			if (pf[i].fd < 0 || pf[i].revents == 0)
				continue;
			cfd = accept4(pf[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (cfd < 0) {
				if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED)
					continue;
				/* Shut down by serve(): it no longer listens. */
				close(pf[i].fd);
				pf[i].fd = -1;
				live--;
				continue;
			}
			c = malloc(sizeof(*c));
			if (c == NULL) {
				reset(cfd);
				continue;
			}
			c->cfd = cfd;
			c->l = &ls[i];
			if (pthread_create(&t, &attr, serve, c) != 0) {
				free(c);
				reset(cfd);
			}
		}
	}
	/* Every proxy is gone; stay, so that teardown finds the PID it kills. */
	for (;;)
		pause();
}
