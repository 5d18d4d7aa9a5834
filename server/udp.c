/* udp.c: UDP ASSOCIATE: one relay socket per association, facing the
 * client on the address its TCP connection came in on, and one outgoing
 * socket per address family, made when first needed.  The association
 * lives as long as the client's TCP connection. */
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
#define UDP_MAX_JOBS 16          /* name lookups waiting per association */
#define UDP_CACHE_MS 60000

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
	struct srv_rjob *jobs;
	unsigned njobs;
	char cname[WIRE_NAME_MAX + 1];   /* the last name looked up */
	union srv_sa caddr;
	uint64_t cexpire;
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

/* Sends a payload to a destination through the socket of its family. */
static void
udp_send_out(struct srv_udp *u, const union srv_sa *dst, const uint8_t *p, size_t len)
{
	int idx = dst->sa.sa_family == AF_INET ? UDP_OUT4 : UDP_OUT6;
	struct udp_sock *k = &u->sk[idx];

	if (!srv_acl_dest_ok(srv_w->rules, &dst->sa)) {
		SRV_DEBUG("udp: destination not allowed");
		return;
	}
	if (k->fd < 0) {
		int one = 1;
		k->fd = socket(dst->sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (k->fd < 0)
			return;
		if (idx == UDP_OUT6)
			setsockopt(k->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (srv_external_bind(k->fd, dst->sa.sa_family, false) != 0) {
			SRV_DEBUG("udp: --external: %s", strerror(errno));
			close(k->fd);
			k->fd = -1;
			return;
		}
		if (srv_loop_add(&srv_w->loop, k->fd, EPOLLIN | EPOLLET, &k->ev) != 0) {
			close(k->fd);
			k->fd = -1;
			return;
		}
	}
	if (sendto(k->fd, p, len, 0, &dst->sa, sa_len(dst)) < 0) {
		SRV_DEBUG("udp: sendto: %s", strerror(errno));
		return;
	}
	u->s->bytes[0] += len;
	u->s->last_ms = srv_w->loop.now;
}

static void
udp_job_unlink(struct srv_udp *u, struct srv_rjob *j)
{
	for (struct srv_rjob **pp = &u->jobs; *pp != NULL; pp = &(*pp)->onext) {
		if (*pp == j) {
			*pp = j->onext;
			u->njobs--;
			return;
		}
	}
}

static void
udp_resolved(struct srv_rjob *j)
{
	struct srv_udp *u = j->owner;
	unsigned i = 0;

	udp_job_unlink(u, j);
	for (; j->err == 0 && i < j->addrs->n; i++) {
		if (!srv_acl_dest_ok(srv_w->rules, &j->addrs->a[i].sa))
			continue;
		u->caddr = j->addrs->a[i];
		strcpy(u->cname, j->name);
		u->cexpire = srv_w->loop.now + UDP_CACHE_MS;
		udp_send_out(u, &u->caddr, j->data, j->len);
		break;
	}
	if (j->err != 0 || i == j->addrs->n)
		SRV_DEBUG("udp: cannot resolve %s", j->name);
	srv_rjob_free(j);
}

static void
udp_to_name(struct srv_udp *u, const struct wire_addr *a, const uint8_t *p, size_t len)
{
	struct srv_rjob *j;
	int rc;

	if (u->cexpire > srv_w->loop.now && strcmp(u->cname, a->u.name) == 0) {
		union srv_sa dst = u->caddr;
		sa_set_port(&dst, a->port);
		udp_send_out(u, &dst, p, len);
		return;
	}
	if (u->njobs >= UDP_MAX_JOBS)
		return;
	j = srv_rjob_new(len);
	if (j == NULL)
		return;
	memcpy(j->data, p, len);
	j->done = udp_resolved;
	j->owner = u;
	j->client = u->s->peer;
	j->port = a->port;
	memcpy(j->name, a->u.name, (size_t)a->name_len + 1);
	rc = srv_resolve_submit(j);
	if (rc < 0) {
		srv_rjob_free(j);
		return;
	}
	if (rc > 0) {
		udp_resolved(j);
		return;
	}
	j->onext = u->jobs;
	u->jobs = j;
	u->njobs++;
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
		return;
	}
	/* Fragments are not reassembled: RFC 1928 lets a server drop them. */
	if (h.frag != 0)
		return;
	if (!u->pinned) {
		/* The first datagram tells the client's real port (behind NAT
		 * it is not the one the client could name). */
		u->client = *src;
		u->pinned = true;
	}
	if (h.addr.type == WIRE_ATYP_NAME) {
		udp_to_name(u, &h.addr, srv_w->scratch + used, n - used);
	} else {
		struct sockaddr_storage ss;
		socklen_t len;
		union srv_sa dst;
		addr_sockaddr_from_wire(&ss, &len, &h.addr);
		memcpy(&dst, &ss, len);
		udp_send_out(u, &dst, srv_w->scratch + used, n - used);
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
	while (u->jobs != NULL) {
		struct srv_rjob *j = u->jobs;
		u->jobs = j->onext;
		srv_resolve_cancel(j);
	}
	u->njobs = 0;
	for (int i = 0; i < UDP_NSOCK; i++) {
		if (u->sk[i].fd >= 0)
			close(u->sk[i].fd);
		u->sk[i].fd = -1;
	}
}

void
srv_udp_free(struct srv_session *s)
{
	free(s->udp);
	s->udp = NULL;
}
