/* lg_server.c: the target servers of the benchmarks: echo, source (sends after a go byte), sink, and a UDP echo. */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lg.h"

#define SRV_BUF (256 * 1024)

/* ECHO1 answers the first bytes and closes: the server closes first, so
 * TIME_WAIT stays on the server side and neither the load generator nor
 * a proxy runs out of ephemeral ports during a long cycles run. */
enum srv_kind { SRV_ECHO, SRV_ECHO1, SRV_SOURCE, SRV_SINK };

struct srv_conn {
	int fd;
	bool sending;       /* source: the go byte came */
	uint8_t *pend;      /* echo: bytes the peer has not taken yet */
	size_t plen, poff;
};

static uint8_t srv_buf[SRV_BUF];

static void
srv_close(struct srv_conn *s)
{
	close(s->fd);
	free(s->pend);
	free(s);
}

static int
srv_want(int ep, struct srv_conn *s, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = s };

	return epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
}

/* Echo what came; if the peer is slow, hold the rest and stop reading. */
static int
srv_echo(int ep, struct srv_conn *s, bool once)
{
	ssize_t r, w;

	if (s->pend) {
		w = send(s->fd, s->pend + s->poff, s->plen - s->poff, MSG_NOSIGNAL);
		if (w < 0)
			return errno == EAGAIN ? 0 : -1;
		s->poff += (size_t)w;
		if (s->poff < s->plen)
			return 0;
		free(s->pend);
		s->pend = NULL;
		return once ? -1 : srv_want(ep, s, EPOLLIN);
	}
	r = recv(s->fd, srv_buf, sizeof(srv_buf), 0);
	if (r < 0)
		return errno == EAGAIN ? 0 : -1;
	if (r == 0)
		return -1;
	w = send(s->fd, srv_buf, (size_t)r, MSG_NOSIGNAL);
	if (w < 0 && errno != EAGAIN)
		return -1;
	if (w < 0)
		w = 0;
	if (w == r)
		return once ? -1 : 0;
	s->plen = (size_t)(r - w);
	s->poff = 0;
	if (!(s->pend = malloc(s->plen)))
		return -1;
	memcpy(s->pend, srv_buf + w, s->plen);
	return srv_want(ep, s, EPOLLOUT);
}

static int
srv_source(int ep, struct srv_conn *s, uint32_t events)
{
	ssize_t r;

	if ((events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLIN))
		return -1;
	if (events & EPOLLIN) {
		r = recv(s->fd, srv_buf, sizeof(srv_buf), 0);
		if (r == 0 || (r < 0 && errno != EAGAIN))
			return -1;
		if (r > 0 && !s->sending) {
			s->sending = true;
			return srv_want(ep, s, EPOLLIN | EPOLLOUT);
		}
	}
	if (s->sending && (events & EPOLLOUT)) {
		r = send(s->fd, srv_buf, sizeof(srv_buf), MSG_NOSIGNAL);
		if (r < 0 && errno != EAGAIN)
			return -1;
	}
	return 0;
}

static int
srv_sink(struct srv_conn *s)
{
	ssize_t r = recv(s->fd, srv_buf, sizeof(srv_buf), 0);

	if (r == 0 || (r < 0 && errno != EAGAIN))
		return -1;
	return 0;
}

static void
srv_accept(int ep, int lfd)
{
	int i, fd, one = 1;

	/* A bounded batch per wakeup keeps established connections served. */
	for (i = 0; i < 256; i++) {
		struct srv_conn *s;
		struct epoll_event ev = { .events = EPOLLIN };

		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (!(s = calloc(1, sizeof(*s)))) {
			close(fd);
			continue;
		}
		s->fd = fd;
		ev.data.ptr = s;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
			srv_close(s);
	}
}

int
lg_run_server(const struct lg_opts *o)
{
	enum srv_kind kind = !strcmp(o->mode, "echo") ? SRV_ECHO :
	    !strcmp(o->mode, "echo1") ? SRV_ECHO1 :
	    !strcmp(o->mode, "source") ? SRV_SOURCE : SRV_SINK;
	struct sockaddr_storage ss;
	socklen_t len;
	struct wire_addr w;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL }, evs[256];
	int lfd, ep, one = 1, i, n;

	signal(SIGPIPE, SIG_IGN);
	memset(srv_buf, 's', sizeof(srv_buf));
	if (lg_parse_addr(o->listen, &ss, &len, &w) < 0)
		return -1;
	lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return -1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&ss, len) < 0 || listen(lfd, 4096) < 0) {
		perror("loadgen: listen");
		return -1;
	}
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
		return -1;
	if (lg_report_port(lfd, o->port_file) < 0) {
		perror("loadgen: port file");
		return -1;
	}
	/* Runs until a signal ends the process. */
	for (;;) {
		n = epoll_wait(ep, evs, 256, -1);
		for (i = 0; i < n; i++) {
			struct srv_conn *s = evs[i].data.ptr;
			int rc;

			if (!s) {
				srv_accept(ep, lfd);
				continue;
			}
			if (kind == SRV_ECHO || kind == SRV_ECHO1)
				rc = srv_echo(ep, s, kind == SRV_ECHO1);
			else if (kind == SRV_SOURCE)
				rc = srv_source(ep, s, evs[i].events);
			else
				rc = srv_sink(s);
			if (rc < 0)
				srv_close(s);
		}
	}
}

/* UDP echo: every datagram goes back to whoever sent it, unchanged.  One
 * blocking socket and batches of recvmmsg()/sendmmsg(): a proxy's relay is
 * what the benchmark measures, so the target must not be the bottleneck. */
#define UDP_ECHO_BATCH 32
#define UDP_ECHO_MAX 65536

int
lg_run_udp_echo(const struct lg_opts *o)
{
	static uint8_t bufs[UDP_ECHO_BATCH][UDP_ECHO_MAX];
	struct sockaddr_storage ss, peers[UDP_ECHO_BATCH];
	struct iovec iov[UDP_ECHO_BATCH];
	struct mmsghdr msgs[UDP_ECHO_BATCH];
	struct wire_addr w;
	socklen_t len;
	int fd, i, n, rcvbuf = 4 << 20;

	if (lg_parse_addr(o->listen, &ss, &len, &w) < 0)
		return -1;
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
		perror("loadgen: udp bind");
		return -1;
	}
	if (lg_report_port(fd, o->port_file) < 0) {
		perror("loadgen: port file");
		return -1;
	}
	/* Runs until a signal ends the process. */
	for (;;) {
		for (i = 0; i < UDP_ECHO_BATCH; i++) {
			iov[i] = (struct iovec){ .iov_base = bufs[i], .iov_len = UDP_ECHO_MAX };
			msgs[i].msg_hdr = (struct msghdr){
				.msg_name = &peers[i], .msg_namelen = sizeof(peers[i]),
				.msg_iov = &iov[i], .msg_iovlen = 1,
			};
			msgs[i].msg_len = 0;
		}
		/* Block for the first datagram, then take what is already queued. */
		n = recvmmsg(fd, msgs, UDP_ECHO_BATCH, MSG_WAITFORONE, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("loadgen: recvmmsg");
			return -1;
		}
		for (i = 0; i < n; i++)
			iov[i].iov_len = msgs[i].msg_len;
		/* A datagram that cannot go back now is dropped, as UDP may. */
		sendmmsg(fd, msgs, (unsigned)n, MSG_DONTWAIT);
	}
}
