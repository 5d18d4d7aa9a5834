/* udp.c: UDP ASSOCIATE: one relay socket per association, facing the
 * client on the address its TCP connection came in on, and one outgoing
 * socket per address family, made when first needed and bound to the
 * --external address of its family.  Datagrams to names go through
 * udp_names.c.  The association lives as long as the client's TCP
 * connection. */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netdb.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "srv.h"

#define UDP_HDR_ROOM 24          /* RSV FRAG ATYP, 16-byte address, port */
#define UDP_BATCH 64             /* datagrams per socket per wake-up */

enum { UDP_CLIENT, UDP_OUT4, UDP_OUT6, UDP_NSOCK };

struct udp_sock {
	struct srv_ev ev;
	int fd;
	struct srv_udp *u;
};

struct srv_udp {
	struct srv_session *s;
	struct udp_sock sk[UDP_NSOCK];
	union srv_sa client;      /* where datagrams must come from */
	bool pinned;              /* client's port known */
	struct srv_udp_names *names;     /* made for the first name */
	unsigned long lookups;    /* names asked for (from udp_names.c) */
	unsigned long dropped;    /* client datagrams not sent on */
};

static socklen_t
sa_len(const union srv_sa *a)
{
	return a->sa.sa_family == AF_INET ? sizeof(a->in) : sizeof(a->in6);
}

static uint16_t
sa_port(const union srv_sa *a)
{
	return ntohs(a->sa.sa_family == AF_INET ? a->in.sin_port : a->in6.sin6_port);
}

static void
sa_set_port(union srv_sa *a, uint16_t port)
{
	if (a->sa.sa_family == AF_INET)
		a->in.sin_port = htons(port);
	else
		a->in6.sin6_port = htons(port);
}

/* The outgoing socket of a family leaves from an --external address of
 * that family, like CONNECT's connections; without -e, from wherever the
 * kernel routes. */
void
srv_udp_send_out(struct srv_udp *u, const union srv_sa *dst, const uint8_t *p, size_t len)
{
	int idx = dst->sa.sa_family == AF_INET ? UDP_OUT4 : UDP_OUT6;
	struct udp_sock *k = &u->sk[idx];

	if (!srv_acl_dest_ok(srv_w->rules, &dst->sa)) {
		SRV_DEBUG("udp: destination not allowed");
		goto drop;
	}
	if (k->fd < 0) {
		int one = 1;
		if (!srv_external_has(dst->sa.sa_family)) {
			SRV_DEBUG("udp: no --external address of the destination's family");
			goto drop;
		}
		k->fd = socket(dst->sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (k->fd < 0)
			goto drop;
		if (idx == UDP_OUT6)
			setsockopt(k->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (srv_external_bind(k->fd, dst->sa.sa_family, false) != 0) {
			SRV_DEBUG("udp: --external: %s", strerror(errno));
			goto drop_sock;
		}
		if (srv_loop_add(&srv_w->loop, k->fd, EPOLLIN | EPOLLET, &k->ev) != 0)
			goto drop_sock;
	}
	if (sendto(k->fd, p, len, 0, &dst->sa, sa_len(dst)) < 0) {
		SRV_DEBUG("udp: sendto: %s", strerror(errno));
		goto drop;
	}
	u->s->bytes[0] += len;
	u->s->last_ms = srv_w->loop.now;
	return;
drop_sock:
	close(k->fd);
	k->fd = -1;
drop:
	u->dropped++;
}

/* A datagram from the client: check where it came from, unwrap, send. */
static void
udp_from_client(struct srv_udp *u, const union srv_sa *src, size_t n)
{
	struct socks5_udp h;
	const char *why = NULL;
	size_t used;

	if (!srv_sa_same_ip(&src->sa, &u->client.sa))
		return;
	if (u->pinned && sa_port(src) != sa_port(&u->client))
		return;
	if (wire_dec_socks5_udp(srv_w->scratch, n, &h, &used, &why) != WIRE_OK) {
		SRV_DEBUG("udp: %s", why);
		u->dropped++;
		return;
	}
	/* Fragments are not reassembled: RFC 1928 lets a server drop them. */
	if (h.frag != 0) {
		u->dropped++;
		return;
	}
	if (!u->pinned) {
		/* The first datagram tells the client's real port (behind NAT
		 * it is not the one the client could name). */
		u->client = *src;
		u->pinned = true;
	}
	if (h.addr.type == WIRE_ATYP_NAME) {
		if (u->names == NULL)
			u->names = srv_udp_names_new(u, &u->s->peer);
		if (u->names != NULL)
			srv_udp_names_send(u->names, &h.addr, srv_w->scratch + used, n - used);
		else
			u->dropped++;
	} else {
		struct sockaddr_storage ss;
		socklen_t len;
		union srv_sa dst;
		addr_sockaddr_from_wire(&ss, &len, &h.addr);
		memcpy(&dst, &ss, len);
		srv_udp_send_out(u, &dst, srv_w->scratch + used, n - used);
	}
}

/* A datagram from a destination: wrap it with its real source. */
static void
udp_to_client(struct srv_udp *u, const union srv_sa *src, size_t n)
{
	struct socks5_udp h;
	uint8_t hdr[UDP_HDR_ROOM];
	ssize_t hl;

	if (!u->pinned)
		return;
	memset(&h, 0, sizeof(h));
	if (addr_wire_from_sockaddr(&h.addr, &src->sa) != 0)
		return;
	hl = wire_enc_socks5_udp(hdr, sizeof(hdr), &h);
	if (hl < 0)
		return;
	memcpy(srv_w->scratch + UDP_HDR_ROOM - hl, hdr, (size_t)hl);
	if (sendto(u->sk[UDP_CLIENT].fd, srv_w->scratch + UDP_HDR_ROOM - hl,
	    (size_t)hl + n, 0, &u->client.sa, sa_len(&u->client)) < 0) {
		SRV_DEBUG("udp: sendto client: %s", strerror(errno));
		return;
	}
	u->s->bytes[1] += n;
	u->s->last_ms = srv_w->loop.now;
}

static void
udp_event(struct srv_ev *ev, uint32_t events)
{
	struct udp_sock *k = SRV_CONTAINER(ev, struct udp_sock, ev);
	struct srv_udp *u = k->u;
	bool client = k == &u->sk[UDP_CLIENT];

	(void)events;
	for (int i = 0; i < UDP_BATCH; i++) {
		union srv_sa src;
		socklen_t slen = sizeof(src);
		ssize_t n;

		if (u->s->state != SRV_ST_UDP || k->fd < 0)
			return;
		if (client)
			n = recvfrom(k->fd, srv_w->scratch, SRV_SCRATCH, 0, &src.sa, &slen);
		else
			n = recvfrom(k->fd, srv_w->scratch + UDP_HDR_ROOM, SRV_SCRATCH, 0,
			    &src.sa, &slen);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* Errors such as ECONNREFUSED from an ICMP answer are
			 * per datagram; only EAGAIN means the socket is empty. */
			if (errno == EAGAIN)
				return;
			continue;
		}
		if (src.sa.sa_family != AF_INET && src.sa.sa_family != AF_INET6)
			continue;
		if (client)
			udp_from_client(u, &src, (size_t)n);
		else
			udp_to_client(u, &src, (size_t)n);
	}
	/* More may be waiting: an edge will not come again for it. */
	srv_ready_again(u->s);
}

void
srv_udp_start(struct srv_session *s)
{
	struct srv_udp *u = calloc(1, sizeof(*u));
	union srv_sa local, bound;
	socklen_t len = sizeof(local);
	int err;

	if (u == NULL) {
		srv_fail(s, SOCKS5_REP_GENERAL_FAILURE, SRV_R_ERROR);
		return;
	}
	s->udp = u;
	u->s = s;
	for (int i = 0; i < UDP_NSOCK; i++) {
		u->sk[i].fd = -1;
		u->sk[i].u = u;
		u->sk[i].ev.fn = udp_event;
	}
	/* Datagrams come only from the client's address; the port is the one
	 * it asked for, or learned from its first datagram when it said 0. */
	u->client = s->peer;
	sa_set_port(&u->client, s->target.port);
	u->pinned = s->target.port != 0;
	if (getsockname(s->fd[0], &local.sa, &len) != 0)
		goto fail;
	sa_set_port(&local, 0);
	u->sk[UDP_CLIENT].fd = socket(local.sa.sa_family,
	    SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->sk[UDP_CLIENT].fd < 0)
		goto fail;
	if (bind(u->sk[UDP_CLIENT].fd, &local.sa, sa_len(&local)) != 0)
		goto fail;
	len = sizeof(bound);
	if (getsockname(u->sk[UDP_CLIENT].fd, &bound.sa, &len) != 0)
		goto fail;
	if (srv_loop_add(&srv_w->loop, u->sk[UDP_CLIENT].fd, EPOLLIN | EPOLLET,
	    &u->sk[UDP_CLIENT].ev) != 0)
		goto fail;
	s->state = SRV_ST_UDP;
	s->last_ms = srv_w->loop.now;
	srv_arm_idle(s);
	s->in_len = 0;
	if (srv_reply(s, SOCKS5_REP_SUCCEEDED, &bound.sa) != 0)
		return;
	srv_udp_client_event(s);
	return;
fail:
	err = errno;
	SRV_DEBUG("udp: %s", strerror(err));
	srv_fail(s, socks5_rep_from_errno(err), srv_result_from_errno(err));
}

void
srv_udp_client_event(struct srv_session *s)
{
	/* The control connection carries nothing more; its end is the end of
	 * the association. */
	while (s->rd[0]) {
		ssize_t n = read(s->fd[0], srv_w->scratch, SRV_SCRATCH);
		if (n > 0)
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			s->rd[0] = false;
			return;
		}
		srv_session_end(s, SRV_R_OK);
		return;
	}
}

/* Called from the again list: sockets that had more than one batch. */
void
srv_udp_again(struct srv_session *s)
{
	struct srv_udp *u = s->udp;

	for (int i = 0; i < UDP_NSOCK && s->state == SRV_ST_UDP; i++)
		if (u->sk[i].fd >= 0)
			udp_event(&u->sk[i].ev, EPOLLIN);
}

void
srv_udp_close(struct srv_session *s)
{
	struct srv_udp *u = s->udp;

	if (u == NULL)
		return;
	if (u->names != NULL) {
		srv_udp_names_end(u->names, &u->lookups, &u->dropped);
		u->names = NULL;
	}
	for (int i = 0; i < UDP_NSOCK; i++) {
		if (u->sk[i].fd >= 0)
			close(u->sk[i].fd);
		u->sk[i].fd = -1;
	}
}

void
srv_udp_stats(const struct srv_session *s, unsigned long *lookups, unsigned long *dropped)
{
	const struct srv_udp *u = s->udp;

	*lookups = u->lookups;
	*dropped = u->dropped;
}

void
srv_udp_free(struct srv_session *s)
{
	free(s->udp);
	s->udp = NULL;
}
