/* connect.c: reaching a CONNECT target: name lookup off the loop, then a
 * non-blocking connect to each address in turn. */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "srv.h"

#define TARGET_EVENTS (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)

static void
connect_ok(struct srv_session *s, uint32_t events)
{
	union srv_sa bnd;
	socklen_t len = sizeof(bnd);

	srv_connect_cancel(s);
	if (getsockname(s->fd[1], &bnd.sa, &len) != 0)
		memset(&bnd, 0, sizeof(bnd));
	s->rd[1] = (events & (EPOLLIN | EPOLLRDHUP)) != 0;
	s->hup[1] = (events & EPOLLRDHUP) != 0;
	s->wr[1] = true;
	SRV_DEBUG("connected to target");
	if (srv_reply(s, SOCKS5_REP_SUCCEEDED, bnd.sa.sa_family != 0 ? &bnd.sa : NULL) != 0)
		return;
	srv_relay_start(s);
}

/* Starts one connect.  0: under way (or done), -1: failed at once (errno). */
static int
connect_try(struct srv_session *s, const struct sockaddr *sa, socklen_t len)
{
	int one = 1, err;
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (srv_external_bind(fd, sa->sa_family, true) != 0)
		goto fail;
	if (connect(fd, sa, len) != 0 && errno != EINPROGRESS)
		goto fail;
	if (srv_loop_add(&srv_w->loop, fd, TARGET_EVENTS, &s->ev[1]) != 0)
		goto fail;
	s->fd[1] = fd;
	s->state = SRV_ST_CONNECT;
	return 0;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
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

/* Tries the next address the name gave; err is why the last one failed. */
static void
connect_next(struct srv_session *s, int err)
{
	enum srv_result refused = SRV_R_OK;

	while (s->ai_next != NULL) {
		struct addrinfo *ai = s->ai_next;
		enum srv_result r;

		s->ai_next = ai->ai_next;
		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		r = dest_check(ai->ai_addr);
		if (r != SRV_R_OK) {
			refused = r;
			continue;
		}
		if (connect_try(s, ai->ai_addr, ai->ai_addrlen) == 0)
			return;
		err = errno;
		SRV_DEBUG("connect: %s", strerror(err));
	}
	if (err == 0 && refused != SRV_R_OK) {
		srv_fail(s, SOCKS5_REP_NOT_ALLOWED, refused);
		return;
	}
	if (err == 0)
		err = EHOSTUNREACH;
	srv_fail(s, socks5_rep_from_errno(err), srv_result_from_errno(err));
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
	s->ai = s->ai_next = j->res;
	j->res = NULL;
	srv_rjob_free(j);
	connect_next(s, 0);
}

void
srv_connect_start(struct srv_session *s)
{
	struct sockaddr_storage ss;
	socklen_t len;
	enum srv_result r;

	if (s->target.type == WIRE_ATYP_NAME) {
		struct srv_rjob *j = srv_rjob_new(0);
		if (j == NULL) {
			srv_fail(s, SOCKS5_REP_GENERAL_FAILURE, SRV_R_ERROR);
			return;
		}
		j->done = connect_resolved;
		j->owner = s;
		j->socktype = SOCK_STREAM;
		j->port = s->target.port;
		memcpy(j->name, s->target.u.name, (size_t)s->target.name_len + 1);
		if (srv_resolve_submit(j) != 0) {
			srv_rjob_free(j);
			srv_warn("resolver queue full");
			srv_fail(s, SOCKS5_REP_GENERAL_FAILURE, SRV_R_ERROR);
			return;
		}
		s->job = j;
		s->state = SRV_ST_RESOLVE;
		return;
	}
	if (addr_sockaddr_from_wire(&ss, &len, &s->target) != 0) {
		srv_fail(s, SOCKS5_REP_ATYP_UNSUPPORTED, SRV_R_BAD_ATYP);
		return;
	}
	r = dest_check((struct sockaddr *)&ss);
	if (r != SRV_R_OK) {
		srv_fail(s, SOCKS5_REP_NOT_ALLOWED, r);
		return;
	}
	if (connect_try(s, (struct sockaddr *)&ss, len) != 0) {
		int err = errno;
		SRV_DEBUG("connect: %s", strerror(err));
		srv_fail(s, socks5_rep_from_errno(err), srv_result_from_errno(err));
	}
}

void
srv_connect_event(struct srv_session *s, uint32_t events)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (events & (EPOLLERR | EPOLLHUP)) {
		if (getsockopt(s->fd[1], SOL_SOCKET, SO_ERROR, &err, &len) != 0)
			err = errno;
		if (err == 0)
			err = ECONNREFUSED;
	}
	if (err == 0) {
		if (events & EPOLLOUT)
			connect_ok(s, events);
		return;
	}
	SRV_DEBUG("connect: %s", strerror(err));
	close(s->fd[1]);
	s->fd[1] = -1;
	connect_next(s, err);
}

void
srv_connect_cancel(struct srv_session *s)
{
	if (s->ai != NULL)
		freeaddrinfo(s->ai);
	s->ai = s->ai_next = NULL;
}
