/*
 * fwd.c: a bare TCP forwarder, the ceiling for any relay on this machine.
 *
 *     socksify_fwd -l IP:PORT --to IP:PORT [--port-file F] [--threads N]
 *
 * No protocol, no rules, no log: accept, connect to the one target, move
 * bytes with splice() both ways, pass half-close on.  One epoll loop per
 * thread (SO_REUSEPORT listeners, like socksifyd), non-blocking sockets,
 * edge-triggered.  What a SOCKS server does beyond this is what the
 * benchmark's ratio to it measures.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define PIPE_SZ (256 * 1024)

struct side {
	int fd;          /* where bytes come from */
	int pipe[2];     /* held in the kernel on their way */
	size_t held;     /* bytes in the pipe */
	int eof;         /* the source ended */
	struct side *peer;
	struct conn *c;
};

struct conn {
	struct side a, b;   /* a: client -> target, b: target -> client */
	int open;           /* directions still running */
	int connected;
	int dead;           /* freed once the batch of events is done */
};

/* An epoll tag: the listener is NULL, a connection side otherwise. */
static struct sockaddr_storage to_ss;
static socklen_t to_len;
static struct sockaddr_storage l_ss;
static socklen_t l_len;

static int parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	size_t hl;

	if (colon == NULL || (hl = (size_t)(colon - s)) >= sizeof(host))
		return -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	}
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((unsigned short)atoi(colon + 1));
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((unsigned short)atoi(colon + 1));
		*len = sizeof(*s6);
		return 0;
	}
	return -1;
}

static void conn_free(struct conn *c)
{
	close(c->a.fd);
	close(c->b.fd);
	close(c->a.pipe[0]);
	close(c->a.pipe[1]);
	close(c->b.pipe[0]);
	close(c->b.pipe[1]);
	free(c);
}

/* Moves what it can from s->fd to s->peer->fd.  -1: the connection is
 * done (error or both directions ended). */
static int pump(struct side *s)
{
	int dst = s->peer->fd;

	if (!s->c->connected)
		return 0;
	for (;;) {
		ssize_t n;

		while (s->held > 0) {
			n = splice(s->pipe[0], NULL, dst, NULL, s->held,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n < 0)
				return errno == EAGAIN ? 0 : -1;
			s->held -= (size_t)n;
		}
		if (s->eof)
			return 0;
		n = splice(s->fd, NULL, s->pipe[1], NULL, PIPE_SZ, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		if (n == 0) {
			s->eof = 1;
			shutdown(dst, SHUT_WR);
			return --s->c->open == 0 ? -1 : 0;
		}
		s->held = (size_t)n;
	}
}

static int mkpipe(int p[2])
{
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
		return -1;
	fcntl(p[1], F_SETPIPE_SZ, PIPE_SZ);
	return 0;
}

static void accept_all(int ep, int lfd)
{
	for (;;) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP };
		int one = 1;
		struct conn *c;
		int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		int tfd;

		if (cfd < 0)
			return;
		tfd = socket(to_ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		c = calloc(1, sizeof(*c));
		if (tfd < 0 || c == NULL) {
			close(cfd);
			if (tfd >= 0)
				close(tfd);
			free(c);
			continue;
		}
		setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(tfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->a.fd = cfd;
		c->b.fd = tfd;
		c->a.peer = &c->b;
		c->b.peer = &c->a;
		c->a.c = c->b.c = c;
		c->open = 2;
		c->a.pipe[0] = c->a.pipe[1] = c->b.pipe[0] = c->b.pipe[1] = -1;
		if (mkpipe(c->a.pipe) < 0 || mkpipe(c->b.pipe) < 0 ||
		    (connect(tfd, (struct sockaddr *)&to_ss, to_len) < 0 && errno != EINPROGRESS)) {
			conn_free(c);
			continue;
		}
		ev.data.ptr = &c->a;
		epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev);
		ev.data.ptr = &c->b;
		epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
	}
}

static void *loop(void *arg)
{
	int one = 1, ep = epoll_create1(EPOLL_CLOEXEC);
	int lfd = socket(l_ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = NULL }, evs[256];

	(void)arg;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(lfd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (ep < 0 || bind(lfd, (struct sockaddr *)&l_ss, l_len) < 0 || listen(lfd, 4096) < 0) {
		perror("socksify_fwd: listen");
		exit(1);
	}
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		/* Both sides of one connection may be in one batch: a
		 * connection that ends is freed after the batch. */
		struct conn *gone[512];
		int n = epoll_wait(ep, evs, 256, -1), ngone = 0;

		for (int i = 0; i < n; i++) {
			struct side *s = evs[i].data.ptr;
			struct conn *c;

			if (s == NULL) {
				accept_all(ep, lfd);
				continue;
			}
			c = s->c;
			if (c->dead)
				continue;
			if (!c->connected && s == &c->b) {
				int err = 0;
				socklen_t el = sizeof(err);

				if (getsockopt(c->b.fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err != 0) {
					c->dead = 1;
					gone[ngone++] = c;
					continue;
				}
				if (!(evs[i].events & EPOLLOUT))
					continue;
				c->connected = 1;
			}
			/* Either side's readiness may unblock both directions. */
			if (pump(&c->a) < 0 || pump(&c->b) < 0) {
				c->dead = 1;
				gone[ngone++] = c;
			}
		}
		while (ngone > 0)
			conn_free(gone[--ngone]);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const char *listen_at = NULL, *to = NULL, *port_file = NULL;
	int threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
	pthread_t th;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "-l") == 0)
			listen_at = argv[i + 1];
		else if (strcmp(argv[i], "--to") == 0)
			to = argv[i + 1];
		else if (strcmp(argv[i], "--port-file") == 0)
			port_file = argv[i + 1];
		else if (strcmp(argv[i], "--threads") == 0)
			threads = atoi(argv[i + 1]);
	}
	if (listen_at == NULL || to == NULL || threads < 1 ||
	    parse_addr(listen_at, &l_ss, &l_len) < 0 || parse_addr(to, &to_ss, &to_len) < 0) {
		fprintf(stderr, "usage: socksify_fwd -l IP:PORT --to IP:PORT [--port-file F] [--threads N]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	/* Port 0: take one now, so that every thread's listener shares it. */
	if (((struct sockaddr_in *)&l_ss)->sin_port == 0) {
		int one = 1, fd = socket(l_ss.ss_family, SOCK_STREAM, 0);

		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
		if (fd < 0 || bind(fd, (struct sockaddr *)&l_ss, l_len) < 0 ||
		    getsockname(fd, (struct sockaddr *)&l_ss, &l_len) < 0) {
			perror("socksify_fwd: port");
			return 1;
		}
		/* Kept open, never listening: it only holds the port. */
	}
	for (int i = 1; i < threads; i++)
		pthread_create(&th, NULL, loop, NULL);
	if (port_file != NULL) {
		/* The port is known now; callers wait until it accepts. */
		FILE *f;
		char tmp[4096];

		snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
		f = fopen(tmp, "w");
		if (f == NULL)
			return 1;
		fprintf(f, "%u\n", ntohs(((struct sockaddr_in *)&l_ss)->sin_port));
		fclose(f);
		rename(tmp, port_file);
	}
	loop(NULL);
	return 0;
}
