/* connect.c: reaching a CONNECT target: the name looked up off the loop,
 * then its addresses raced as RFC 8305 says: IPv6 and IPv4 alternate, a
 * new attempt starts every RACE_DELAY_MS (or as soon as one fails) while
 * earlier ones are still pending, and the first to connect wins.  The
 * racing state is allocated only while connecting. */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "srv.h"

#define TARGET_EVENTS (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)
#define RACE_DELAY_MS 250   /* RFC 8305's Connection Attempt Delay */
#define RACE_PENDING 4      /* attempts under way at once */

struct srv_race;

struct race_att {
	struct srv_ev ev;
	int fd;                     /* -1: free slot */
	uint64_t deadline;          /* given up then, if other addresses remain */
	struct srv_race *r;
};

struct srv_race {
	struct srv_race *dnext;     /* the worker's race_dead list */
	struct srv_session *s;      /* NULL once over */
	struct srv_tnode timer;
	uint64_t next_ms;           /* the next attempt may start then */
	int err;                    /* why the last attempt failed */
	uint8_t refused;            /* a srv_result: an address was not allowed */
	unsigned next, n, npend;
	struct race_att att[RACE_PENDING];
	union srv_sa addr[];
};

static void race_step(struct srv_race *r);

static socklen_t
sa_len(const union srv_sa *a)
{
	return a->sa.sa_family == AF_INET ? sizeof(a->in) : sizeof(a->in6);
}

/* SRV_R_OK when sa may be connected to, else why not: a --deny-dest
 * range, or one of our own listeners (each nested session would hold two
 * more descriptors, until they ran out). */
static enum srv_result
dest_check(const struct sockaddr *sa)
{
	if (!srv_acl_dest_ok(srv_w->rules, sa))
		return SRV_R_NOT_ALLOWED;
	if (srv_acl_is_listener(srv_w->ls, srv_w->nls, sa)) {
		SRV_DEBUG("connect: destination is this server's own listener");
		return SRV_R_LOOP;
	}
	return SRV_R_OK;
}

static void
att_close(struct race_att *t)
{
	if (t->fd < 0)
		return;
	close(t->fd);
	t->fd = -1;
	t->r->npend--;
}

/* The race is over: attempts still pending are closed and the memory
 * goes after this batch of events, which may still point into it. */
static void
race_end(struct srv_session *s)
{
	struct srv_race *r = s->race;

	if (r == NULL)
		return;
	for (unsigned i = 0; i < RACE_PENDING; i++)
		att_close(&r->att[i]);
	srv_timer_disarm(&r->timer);
	r->s = NULL;
	s->race = NULL;
	r->dnext = srv_w->race_dead;
	srv_w->race_dead = r;
}

static void
race_won(struct srv_race *r, struct race_att *t, uint32_t events)
{
	struct srv_session *s = r->s;
	union srv_sa bnd;
	socklen_t len = sizeof(bnd);
	int fd = t->fd;

	/* The socket is the session's now: its events go to the session. */
	t->fd = -1;
	r->npend--;
	race_end(s);
	s->fd[1] = fd;
	if (srv_loop_mod(&srv_w->loop, fd, TARGET_EVENTS, &s->ev[1]) != 0) {
		srv_fail(s, SOCKS5_REP_GENERAL_FAILURE, SRV_R_ERROR);
		return;
	}
	if (getsockname(fd, &bnd.sa, &len) != 0)
		memset(&bnd, 0, sizeof(bnd));
	s->rd[1] = (events & (EPOLLIN | EPOLLRDHUP)) != 0;
	s->hup[1] = (events & EPOLLRDHUP) != 0;
	s->wr[1] = true;
	SRV_DEBUG("connected to target");
	if (srv_reply(s, SOCKS5_REP_SUCCEEDED, bnd.sa.sa_family != 0 ? &bnd.sa : NULL) != 0)
		return;
	srv_relay_start(s);
}

static void
race_event(struct srv_ev *ev, uint32_t events)
{
	struct race_att *t = SRV_CONTAINER(ev, struct race_att, ev);
	struct srv_race *r = t->r;
	int err = 0;
	socklen_t len = sizeof(err);

	/* An event of this batch for an attempt already closed. */
	if (t->fd < 0 || r->s == NULL)
		return;
	if (events & (EPOLLERR | EPOLLHUP)) {
		if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
			err = errno;
		if (err == 0)
			err = ECONNREFUSED;
	}
	if (err == 0) {
		if (events & EPOLLOUT)
			race_won(r, t, events);
		return;
	}
	SRV_DEBUG("connect: %s", strerror(err));
	att_close(t);
	r->err = err;
	/* A failure starts the next attempt at once. */
	r->next_ms = 0;
	race_step(r);
}

/* Starts one connect in slot t.  0: under way, -1: failed at once. */
static int
att_open(struct srv_race *r, struct race_att *t, const union srv_sa *a)
{
	int one = 1, err;
	int fd = socket(a->sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (srv_external_bind(fd, a->sa.sa_family, true) != 0)
		goto fail;
	if (connect(fd, &a->sa, sa_len(a)) != 0 && errno != EINPROGRESS)
		goto fail;
	t->ev.fn = race_event;
	t->r = r;
	if (srv_loop_add(&srv_w->loop, fd, TARGET_EVENTS, &t->ev) != 0)
		goto fail;
	t->fd = fd;
	r->npend++;
	return 0;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

static void
race_fail(struct srv_race *r)
{
	struct srv_session *s = r->s;
	int err = r->err;
	enum srv_result refused = r->refused;

	race_end(s);
	if (err == 0 && refused != SRV_R_OK) {
		srv_fail(s, SOCKS5_REP_NOT_ALLOWED, refused);
		return;
	}
	if (err == 0)
		err = EHOSTUNREACH;
	srv_fail(s, socks5_rep_from_errno(err), srv_result_from_errno(err));
}

/* Starts what is due, then sets the timer for the next thing due: the
 * next attempt, or an attempt to give up.  The last attempt is never
 * given up: it runs until it fails or the session's --timeout. */
static void
race_step(struct srv_race *r)
{
	uint64_t now = srv_w->loop.now, due = 0;

	while (r->next < r->n && r->npend < RACE_PENDING &&
	    (r->npend == 0 || now >= r->next_ms)) {
		const union srv_sa *a = &r->addr[r->next++];
		struct race_att *t = NULL;
		enum srv_result res;

		/* The rules are checked on every address tried. */
		res = dest_check(&a->sa);
		if (res != SRV_R_OK) {
			r->refused = (uint8_t)res;
			continue;
		}
		for (unsigned i = 0; i < RACE_PENDING && t == NULL; i++)
			if (r->att[i].fd < 0)
				t = &r->att[i];
		if (srv_verbosity > 0) {
			char txt[ADDR_STRLEN];
			srv_debug("connect: attempt %u of %u: %s (%u pending)", r->next, r->n,
			    addr_format_sa(txt, sizeof(txt), &a->sa), r->npend);
		}
		if (att_open(r, t, a) != 0) {
			r->err = errno;
			SRV_DEBUG("connect: %s", strerror(r->err));
			continue;
		}
		t->deadline = now + srv_g.cfg.attempt_ms;
		r->next_ms = now + RACE_DELAY_MS;
	}
	if (r->npend == 0) {
		race_fail(r);
		return;
	}
	if (r->next >= r->n) {
		srv_timer_disarm(&r->timer);
		return;
	}
	if (r->npend < RACE_PENDING)
		due = r->next_ms;
	for (unsigned i = 0; i < RACE_PENDING; i++)
		if (r->att[i].fd >= 0 && (due == 0 || r->att[i].deadline < due))
			due = r->att[i].deadline;
	srv_timer_arm_at(&srv_w->t_race, &r->timer, due);
}

void
srv_race_expired(struct srv_tnode *n)
{
	struct srv_race *r = SRV_CONTAINER(n, struct srv_race, timer);
	uint64_t now = srv_w->loop.now;

	/* Only while other addresses remain (race_step keeps no timer
	 * otherwise): a slot is freed for the next one. */
	for (unsigned i = 0; i < RACE_PENDING; i++) {
		if (r->att[i].fd >= 0 && r->att[i].deadline <= now) {
			SRV_DEBUG("connect: attempt timed out");
			att_close(&r->att[i]);
			r->err = ETIMEDOUT;
		}
	}
	race_step(r);
}

/* Races the addresses a (n of them): IPv6 and IPv4 alternate, starting
 * with the family of the first (the resolver's preference). */
static void
race_start(struct srv_session *s, const union srv_sa *a, unsigned n)
{
	struct srv_race *r = calloc(1, sizeof(*r) + n * sizeof(r->addr[0]));
	unsigned i6 = 0, i4 = 0, k = 0;
	int fam;

	if (r == NULL) {
		srv_fail(s, SOCKS5_REP_GENERAL_FAILURE, SRV_R_ERROR);
		return;
	}
	fam = n > 0 ? a[0].sa.sa_family : AF_INET6;
	while (k < n) {
		unsigned *ip = fam == AF_INET6 ? &i6 : &i4;
		while (*ip < n && a[*ip].sa.sa_family != fam)
			(*ip)++;
		if (*ip < n)
			r->addr[k++] = a[(*ip)++];
		fam = fam == AF_INET6 ? AF_INET : AF_INET6;
	}
	r->n = n;
	r->s = s;
	for (unsigned i = 0; i < RACE_PENDING; i++)
		r->att[i].fd = -1;
	s->race = r;
	s->state = SRV_ST_CONNECT;
	race_step(r);
}

static void
connect_resolved(struct srv_rjob *j)
{
	struct srv_session *s = j->owner;

	s->job = NULL;
	if (j->err != 0) {
		SRV_DEBUG("resolve %s: %s", j->name, gai_strerror(j->err));
		srv_rjob_free(j);
		srv_fail(s, SOCKS5_REP_HOST_UNREACH, SRV_R_UNREACHABLE);
		return;
	}
	race_start(s, j->addrs->a, j->addrs->n);
	srv_rjob_free(j);
}

void
srv_connect_start(struct srv_session *s)
{
	struct sockaddr_storage ss;
	union srv_sa a;
	socklen_t len;

	if (s->target.type == WIRE_ATYP_NAME) {
		struct srv_rjob *j = srv_rjob_new();
		int rc;

		if (j == NULL) {
			srv_fail(s, SOCKS5_REP_GENERAL_FAILURE, SRV_R_ERROR);
			return;
		}
		j->done = connect_resolved;
		j->owner = s;
		j->client = s->peer;
		j->port = s->target.port;
		memcpy(j->name, s->target.u.name, (size_t)s->target.name_len + 1);
		rc = srv_resolve_submit(j);
		if (rc < 0) {
			srv_rjob_free(j);
			SRV_DEBUG("resolve %s: the client has its share of the resolver",
			    s->target.u.name);
			srv_fail(s, SOCKS5_REP_GENERAL_FAILURE, SRV_R_RESOLVER_BUSY);
			return;
		}
		if (rc > 0) {
			connect_resolved(j);
			return;
		}
		s->job = j;
		s->state = SRV_ST_RESOLVE;
		return;
	}
	if (addr_sockaddr_from_wire(&ss, &len, &s->target) != 0 || len > sizeof(a)) {
		srv_fail(s, SOCKS5_REP_ATYP_UNSUPPORTED, SRV_R_BAD_ATYP);
		return;
	}
	memset(&a, 0, sizeof(a));
	memcpy(&a, &ss, len);
	race_start(s, &a, 1);
}

void
srv_connect_cancel(struct srv_session *s)
{
	race_end(s);
}

void
srv_connect_after(void)
{
	while (srv_w->race_dead != NULL) {
		struct srv_race *r = srv_w->race_dead;
		srv_w->race_dead = r->dnext;
		free(r);
	}
}
