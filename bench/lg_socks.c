/* lg_socks.c: the load generator's non-blocking SOCKS5 client handshake (no-auth CONNECT). */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "lg.h"

static int
ep_set(int ep, int op, struct lg_conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	return epoll_ctl(ep, op, c->fd, &ev);
}

/* Writes a whole small message.  A fresh socket's buffer is empty, so a
 * short write of a handshake message means something is wrong. */
static int
send_all(int fd, const uint8_t *b, size_t n)
{
	ssize_t w = send(fd, b, n, MSG_NOSIGNAL);

	if (w == (ssize_t)n)
		return 0;
	if (w >= 0)
		errno = EIO;
	return -1;
}

static int
send_greeting(struct lg_conn *c, const struct lg_opts *o)
{
	struct socks5_greeting g = { .nmethods = 1, .methods = { SOCKS5_METHOD_NONE } };
	struct socks5_msg req = { .code = SOCKS5_CMD_CONNECT, .addr = o->target_wire };
	uint8_t b[600];
	ssize_t n, m = 0;

	if ((n = wire_enc_socks5_greeting(b, sizeof(b), &g)) < 0)
		return -1;
	if (o->pipeline &&
	    (m = wire_enc_socks5_req(b + n, sizeof(b) - (size_t)n, &req)) < 0)
		return -1;
	return send_all(c->fd, b, (size_t)(n + m));
}

static int
send_request(struct lg_conn *c, const struct lg_opts *o)
{
	struct socks5_msg req = { .code = SOCKS5_CMD_CONNECT, .addr = o->target_wire };
	uint8_t b[600];
	ssize_t n;

	if ((n = wire_enc_socks5_req(b, sizeof(b), &req)) < 0)
		return -1;
	return send_all(c->fd, b, (size_t)n);
}

int
lg_conn_start(struct lg_conn *c, const struct lg_opts *o, int ep)
{
	const struct sockaddr_storage *sa = o->direct ? &o->target : &o->proxy;
	socklen_t len = o->direct ? o->target_len : o->proxy_len;
	int one = 1, e;

	c->have = 0;
	c->fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	/* Every message here is tiny and answered: Nagle would only add delay. */
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* A source address of our own keeps our TIME_WAIT ports out of the
	 * way of a proxy that binds its outgoing sockets to 127.0.0.1:0;
	 * the port is still picked at connect time, per destination. */
	if (o->have_source &&
	    (setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one)) < 0 ||
	    bind(c->fd, (const struct sockaddr *)&o->source, o->source_len) < 0))
		goto fail;
	if (connect(c->fd, (const struct sockaddr *)sa, len) < 0 && errno != EINPROGRESS)
		goto fail;
	c->st = LG_CONNECTING;
	return ep_set(ep, EPOLL_CTL_ADD, c, EPOLLOUT);
fail:
	e = errno;
	close(c->fd);
	c->fd = -1;
	errno = e;
	return -1;
}

/* Reads what is there into c->buf; -1 on error or EOF, 0 otherwise. */
static int
fill(struct lg_conn *c)
{
	ssize_t r = recv(c->fd, c->buf + c->have, sizeof(c->buf) - c->have, 0);

	if (r > 0) {
		c->have += (size_t)r;
		return 0;
	}
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (r == 0)
		errno = ECONNRESET;
	return -1;
}

int
lg_conn_step(struct lg_conn *c, const struct lg_opts *o, int ep)
{
	const char *why;
	size_t used;
	int err = 0, rc;
	socklen_t el = sizeof(err);
	uint8_t method;
	struct socks5_msg rep;

	switch (c->st) {
	case LG_CONNECTING:
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
			return -1;
		if (err) {
			errno = err;
			return -1;
		}
		if (ep_set(ep, EPOLL_CTL_MOD, c, EPOLLIN) < 0)
			return -1;
		if (o->direct) {
			c->st = LG_READY;
			return 1;
		}
		if (send_greeting(c, o) < 0)
			return -1;
		c->st = LG_CHOICE;
		return 0;
	case LG_CHOICE:
		if (fill(c) < 0)
			return -1;
		rc = wire_dec_socks5_choice(c->buf, c->have, &method, &used, &why);
		if (rc == WIRE_NEED_MORE)
			return 0;
		if (rc != WIRE_OK || method != SOCKS5_METHOD_NONE) {
			errno = EPROTO;
			return -1;
		}
		/* Anything after the choice is the start of the reply. */
		memmove(c->buf, c->buf + used, c->have - used);
		c->have -= used;
		if (!o->pipeline && send_request(c, o) < 0)
			return -1;
		c->st = LG_REPLY;
		if (c->have == 0)
			return 0;
		/* fall through: a pipelined reply may already be here */
		goto reply;
	case LG_REPLY:
		if (fill(c) < 0)
			return -1;
	reply:
		rc = wire_dec_socks5_rep(c->buf, c->have, &rep, &used, &why);
		if (rc == WIRE_NEED_MORE)
			return 0;
		if (rc != WIRE_OK || rep.code != SOCKS5_REP_SUCCEEDED || used != c->have) {
			errno = EPROTO;
			return -1;
		}
		c->have = 0;
		c->st = LG_READY;
		return 1;
	case LG_READY:
		return 1;
	}
	errno = EINVAL;
	return -1;
}
