/* bind.c: the BIND command: listen for one inbound connection for the
 * client, answer twice (where we listen, then who came), then relay. */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "srv.h"

struct srv_bind {
	int lfd;
	struct srv_ev ev;
	struct srv_session *s;
	bool any;                 /* no expected peer named: anyone may come */
	union srv_sa expect;
};

static uint16_t
sa_port(const union srv_sa *a)
{
	return a->sa.sa_family == AF_INET ? a->in.sin_port : a->in6.sin6_port;
}

/* The local address to listen on: the one that routes to the expected
 * peer when there is one, else the one the client came in on. */
static int
bind_local(struct srv_session *s, struct srv_bind *b, union srv_sa *local)
{
	socklen_t len = sizeof(*local);

	if (!b->any) {
		int fd = socket(b->expect.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		socklen_t elen = b->expect.sa.sa_family == AF_INET ?
		    sizeof(b->expect.in) : sizeof(b->expect.in6);
		int ok = fd >= 0 && connect(fd, &b->expect.sa, elen) == 0 &&
		    getsockname(fd, &local->sa, &len) == 0;
		if (fd >= 0)
			close(fd);
		if (ok)
			goto out;
		len = sizeof(*local);
	}
	if (getsockname(s->fd[0], &local->sa, &len) != 0)
		return -1;
out:
	/* --external: the peer comes to the address connections leave from,
	 * of the family chosen above, or of the other one. */
	if (srv_g.cfg.nexternal > 0) {
		const union srv_sa *e = srv_external_pick(local->sa.sa_family);

		if (e == NULL)
			e = srv_external_pick(local->sa.sa_family == AF_INET ? AF_INET6 : AF_INET);
		if (e != NULL)
			*local = *e;
	}
	if (local->sa.sa_family == AF_INET)
		local->in.sin_port = 0;
	else
		local->in6.sin6_port = 0;
	/* SOCKS4 can only report an IPv4 address. */
	if (s->proto != SRV_P_SOCKS5 && local->sa.sa_family != AF_INET) {
		memset(local, 0, sizeof(*local));
		local->in.sin_family = AF_INET;
		local->in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	}
	return 0;
}

static void
bind_accepted(struct srv_session *s, int fd, const union srv_sa *peer)
{
	struct srv_bind *b = s->bind;
	int one = 1;

	close(b->lfd);
	b->lfd = -1;
	/* No longer waiting: the client may ask for another BIND. */
	srv_limits_give(s, SRV_LIM_BIND);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (srv_loop_add(&srv_w->loop, fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
	    &s->ev[1]) != 0) {
		close(fd);
		srv_fail(s, SOCKS5_REP_GENERAL_FAILURE, SRV_R_ERROR);
		return;
	}
	s->fd[1] = fd;
	s->rd[1] = true;
	s->wr[1] = true;
	if (srv_reply(s, SOCKS5_REP_SUCCEEDED, &peer->sa) != 0)
		return;
	srv_relay_start(s);
}

static void
bind_event(struct srv_ev *ev, uint32_t events)
{
	struct srv_bind *b = SRV_CONTAINER(ev, struct srv_bind, ev);
	struct srv_session *s = b->s;

	(void)events;
	if (s->state == SRV_ST_DEAD)
		return;
	while (s->state == SRV_ST_BIND_WAIT && b->lfd >= 0) {
		union srv_sa peer;
		socklen_t len = sizeof(peer);
		int fd = accept4(b->lfd, &peer.sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN)
				return;
			srv_fail(s, SOCKS5_REP_GENERAL_FAILURE, SRV_R_ERROR);
			return;
		}
		/* Only the peer the client named may come in (from the port it
		 * named, when it named one); others are turned away and the
		 * wait goes on. */
		if ((!b->any && (!srv_sa_same_ip(&peer.sa, &b->expect.sa) ||
		    (sa_port(&b->expect) != 0 && sa_port(&peer) != sa_port(&b->expect)))) ||
		    !srv_acl_dest_ok(srv_w->rules, &peer.sa)) {
			char txt[ADDR_STRLEN];
			SRV_DEBUG("bind: refused connection from %s",
			    addr_format_sa(txt, sizeof(txt), &peer.sa));
			close(fd);
			continue;
		}
		bind_accepted(s, fd, &peer);
		return;
	}
}

void
srv_bind_start(struct srv_session *s)
{
	struct srv_bind *b;
	union srv_sa local, bound;
	socklen_t len;
	struct sockaddr_storage ss;

	b = calloc(1, sizeof(*b));
	if (b == NULL) {
		srv_fail(s, SOCKS5_REP_GENERAL_FAILURE, SRV_R_ERROR);
		return;
	}
	b->lfd = -1;
	b->s = s;
	b->ev.fn = bind_event;
	s->bind = b;
	/* A name or an all-zero address names no peer in particular. */
	b->any = s->target.type == WIRE_ATYP_NAME || srv_wire_is_zero(&s->target);
	if (!b->any) {
		addr_sockaddr_from_wire(&ss, &len, &s->target);
		memcpy(&b->expect, &ss, len);
		if (!srv_acl_dest_ok(srv_w->rules, &b->expect.sa)) {
			srv_fail(s, SOCKS5_REP_NOT_ALLOWED, SRV_R_NOT_ALLOWED);
			return;
		}
	}
	memset(&local, 0, sizeof(local));
	if (bind_local(s, b, &local) != 0)
		goto fail;
	b->lfd = socket(local.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (b->lfd < 0)
		goto fail;
	len = local.sa.sa_family == AF_INET ? sizeof(local.in) : sizeof(local.in6);
	if (bind(b->lfd, &local.sa, len) != 0 || listen(b->lfd, 8) != 0)
		goto fail;
	len = sizeof(bound);
	if (getsockname(b->lfd, &bound.sa, &len) != 0)
		goto fail;
	if (srv_loop_add(&srv_w->loop, b->lfd, EPOLLIN | EPOLLET, &b->ev) != 0)
		goto fail;
	s->state = SRV_ST_BIND_WAIT;
	if (srv_reply(s, SOCKS5_REP_SUCCEEDED, &bound.sa) != 0)
		return;
	/* A peer may already be waiting in the queue, and the request may
	 * have come with the client's EOF. */
	bind_event(&b->ev, EPOLLIN);
	if (s->state == SRV_ST_BIND_WAIT)
		srv_bind_hold(s);
	return;
fail:
	{
		int err = errno;
		SRV_DEBUG("bind: %s", strerror(err));
		srv_fail(s, socks5_rep_from_errno(err), srv_result_from_errno(err));
	}
}

void
srv_bind_hold(struct srv_session *s)
{
	srv_nego_hold(s);
	if (s->state == SRV_ST_BIND_WAIT && (s->dir[0].eof || s->hup[0])) {
		SRV_DEBUG("bind: the client left before the peer came");
		srv_session_end(s, SRV_R_CLOSED);
	}
}

void
srv_bind_close(struct srv_session *s)
{
	struct srv_bind *b = s->bind;

	if (b != NULL && b->lfd >= 0) {
		close(b->lfd);
		b->lfd = -1;
	}
}

void
srv_bind_free(struct srv_session *s)
{
	free(s->bind);
	s->bind = NULL;
}
