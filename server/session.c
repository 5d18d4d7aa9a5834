/* session.c: accepting clients and the SOCKS4/4a/5 negotiation.
 *
 * Each client has one session struct.  Handshake bytes collect in s->in
 * and are decoded incrementally with the core decoders, so messages split
 * into single bytes and messages pipelined in one write both work; a
 * decoder's *used bytes are consumed and the rest stays for the next
 * message (or, after the request, for the target).  Replies collect in
 * s->out and go out in one write.
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "srv.h"

#define ACCEPT_BATCH 64
#define SESSION_EVENTS (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)

uint8_t srv_scratch[SRV_SCRATCH + 512];

static void sess_dispatch(struct srv_session *s);

enum srv_result
srv_result_from_errno(int err)
{
	switch (err) {
	case ECONNREFUSED:
		return SRV_R_REFUSED;
	case EHOSTUNREACH:
	case EHOSTDOWN:
	case ENETUNREACH:
	case ENETDOWN:
		return SRV_R_UNREACHABLE;
	case ETIMEDOUT:
		return SRV_R_TIMEOUT;
	case EACCES:
	case EPERM:
		return SRV_R_NOT_ALLOWED;
	default:
		return SRV_R_ERROR;
	}
}

/* ---- output ---- */

static void
out_queue(struct srv_session *s, const uint8_t *buf, size_t len)
{
	if (len > sizeof(s->out) - s->out_len)
		len = sizeof(s->out) - s->out_len;   /* cannot happen: replies are small */
	memcpy(s->out + s->out_len, buf, len);
	s->out_len += (uint8_t)len;
}

int
srv_flush_out(struct srv_session *s)
{
	while (s->out_len > 0 && s->wr[0]) {
		ssize_t n = write(s->fd[0], s->out, s->out_len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				s->wr[0] = false;
				break;
			}
			srv_session_end(s, SRV_R_ERROR);
			return -1;
		}
		s->out_len -= (uint8_t)n;
		memmove(s->out, s->out + n, s->out_len);
	}
	return 0;
}

/* Ends the session once what is queued has gone out. */
static void
close_after_flush(struct srv_session *s, enum srv_result r)
{
	s->result = r;
	if (srv_flush_out(s) != 0)
		return;
	if (s->out_len == 0) {
		srv_session_end(s, r);
		return;
	}
	s->state = SRV_ST_CLOSING;
}

int
srv_reply(struct srv_session *s, uint8_t code, const struct sockaddr *bnd)
{
	uint8_t buf[32];
	ssize_t n;

	if (s->proto == SRV_P_SOCKS5) {
		struct socks5_msg m;
		memset(&m, 0, sizeof(m));
		m.code = code;
		m.addr.type = WIRE_ATYP_IPV4;
		if (bnd != NULL)
			addr_wire_from_sockaddr(&m.addr, bnd);
		n = wire_enc_socks5_rep(buf, sizeof(buf), &m);
	} else {
		struct socks4_rep r;
		memset(&r, 0, sizeof(r));
		r.code = code == SOCKS5_REP_SUCCEEDED ? SOCKS4_REP_GRANTED :
		    SOCKS4_REP_REJECTED;
		r.addr.type = WIRE_ATYP_IPV4;
		/* SOCKS4 can only say IPv4; anything else reads as zeros. */
		if (bnd != NULL)
			addr_wire_from_sockaddr(&r.addr, bnd);
		if (r.addr.type != WIRE_ATYP_IPV4)
			memset(&r.addr, 0, sizeof(r.addr));
		n = wire_enc_socks4_rep(buf, sizeof(buf), &r);
	}
	if (n > 0)
		out_queue(s, buf, (size_t)n);
	return srv_flush_out(s);
}

void
srv_fail(struct srv_session *s, uint8_t code, enum srv_result r)
{
	SRV_DEBUG("session fails: %s", srv_result_word(r));
	if (srv_reply(s, code, NULL) != 0)
		return;
	close_after_flush(s, r);
}

/* ---- life and death ---- */

void
srv_arm_idle(struct srv_session *s)
{
	if (srv_g.cfg.idle_ms > 0) {
		s->tlist = &srv_g.t_idle;
		srv_timer_arm(&srv_g.t_idle, &s->timer, srv_g.loop.now);
	} else {
		srv_timer_disarm(&s->timer);
		s->tlist = NULL;
	}
}

void
srv_ready_again(struct srv_session *s)
{
	if (s->on_again)
		return;
	s->on_again = true;
	s->dnext = srv_g.again;
	srv_g.again = s;
	srv_g.loop.busy = true;
}

void
srv_session_end(struct srv_session *s, enum srv_result r)
{
	if (s->state == SRV_ST_DEAD)
		return;
	s->result = r;
	srv_timer_disarm(&s->timer);
	if (s->on_again) {
		struct srv_session **pp = &srv_g.again;
		while (*pp != NULL && *pp != s)
			pp = &(*pp)->dnext;
		if (*pp == s)
			*pp = s->dnext;
		s->on_again = false;
	}
	if (s->job != NULL) {
		srv_resolve_cancel(s->job);
		s->job = NULL;
	}
	srv_connect_cancel(s);
	srv_relay_free(s);
	srv_bind_close(s);
	srv_udp_close(s);
	if (s->fd[1] >= 0)
		close(s->fd[1]);
	if (r != SRV_R_OK) {
		/* Unread input would turn close() into a reset that can destroy
		 * the reply still on its way to the client. */
		ssize_t n = read(s->fd[0], srv_scratch, SRV_SCRATCH);
		(void)n;
	}
	close(s->fd[0]);
	s->fd[0] = s->fd[1] = -1;
	srv_log_session(s, srv_g.loop.now);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		srv_g.all = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	srv_g.nsess--;
	s->state = SRV_ST_DEAD;
	/* Freed after this batch of events: later events in it may still
	 * point here. */
	s->dnext = srv_g.dead;
	srv_g.dead = s;
}

void
srv_sessions_after(void *arg)
{
	struct srv_session *s, *list;

	(void)arg;
	while ((s = srv_g.dead) != NULL) {
		srv_g.dead = s->dnext;
		srv_bind_free(s);
		srv_udp_free(s);
		free(s);
	}
	list = srv_g.again;
	srv_g.again = NULL;
	srv_g.loop.busy = false;
	while ((s = list) != NULL) {
		list = s->dnext;
		s->on_again = false;
		if (s->state == SRV_ST_RELAY)
			srv_relay_pump(s);
		else if (s->state == SRV_ST_UDP)
			srv_udp_again(s);
	}
	srv_g.loop.busy = srv_g.again != NULL;
}

void
srv_sessions_stop_all(void)
{
	while (srv_g.all != NULL) {
		struct srv_session *s = srv_g.all;
		srv_session_end(s, s->state == SRV_ST_RELAY || s->state == SRV_ST_UDP ?
		    SRV_R_OK : SRV_R_ERROR);
	}
	srv_sessions_after(NULL);
}

void
srv_nego_expired(struct srv_tnode *n)
{
	struct srv_session *s = SRV_CONTAINER(n, struct srv_session, timer);

	switch (s->state) {
	case SRV_ST_RESOLVE:
	case SRV_ST_CONNECT:
	case SRV_ST_BIND_WAIT:
		srv_fail(s, SOCKS5_REP_TTL_EXPIRED, SRV_R_TIMEOUT);
		break;
	default:
		srv_session_end(s, SRV_R_TIMEOUT);
		break;
	}
}

void
srv_idle_expired(struct srv_tnode *n)
{
	struct srv_session *s = SRV_CONTAINER(n, struct srv_session, timer);
	uint64_t due = s->last_ms + srv_g.cfg.idle_ms;

	if (due > srv_g.loop.now) {
		srv_timer_arm_at(&srv_g.t_idle, &s->timer, due);
		return;
	}
	SRV_DEBUG("session idle for %u ms", srv_g.cfg.idle_ms);
	srv_session_end(s, SRV_R_TIMEOUT);
}

/* ---- negotiation ---- */

static void
in_consume(struct srv_session *s, size_t used)
{
	s->in_len -= (uint16_t)used;
	memmove(s->in, s->in + used, s->in_len);
}

static bool
offers(const struct socks5_greeting *g, uint8_t method)
{
	return memchr(g->methods, method, g->nmethods) != NULL;
}

static void
request_go(struct srv_session *s)
{
	/* The request is in: a fresh deadline for connecting or binding. */
	s->tlist = &srv_g.t_nego;
	srv_timer_arm(&srv_g.t_nego, &s->timer, srv_g.loop.now);
	switch (s->cmd) {
	case SRV_CMD_CONNECT:
		srv_connect_start(s);
		break;
	case SRV_CMD_BIND:
		if (srv_g.cfg.no_bind)
			srv_fail(s, SOCKS5_REP_CMD_UNSUPPORTED, SRV_R_BAD_COMMAND);
		else
			srv_bind_start(s);
		break;
	case SRV_CMD_UDP:
		if (srv_g.cfg.no_udp)
			srv_fail(s, SOCKS5_REP_CMD_UNSUPPORTED, SRV_R_BAD_COMMAND);
		else
			srv_udp_start(s);
		break;
	default:
		srv_fail(s, SOCKS5_REP_CMD_UNSUPPORTED, SRV_R_BAD_COMMAND);
		break;
	}
	/* Replies to pipelined messages go out before a wait starts. */
	if (s->state != SRV_ST_DEAD)
		srv_flush_out(s);
}

static int
step_methods(struct srv_session *s)
{
	struct socks5_greeting g;
	const char *why = NULL;
	size_t used;
	uint8_t method = SOCKS5_METHOD_UNACCEPTABLE, rep[2];
	int rc = wire_dec_socks5_greeting(s->in, s->in_len, &g, &used, &why);

	if (rc == WIRE_NEED_MORE)
		return 0;
	if (rc != WIRE_OK) {
		SRV_DEBUG("greeting: %s", why);
		srv_session_end(s, SRV_R_MALFORMED);
		return -1;
	}
	in_consume(s, used);
	/* With users configured, no-auth is never acceptable.  Without, a
	 * client that only offers username/password is let in all the same. */
	if (srv_g.cfg.nusers > 0) {
		if (offers(&g, SOCKS5_METHOD_USERPASS))
			method = SOCKS5_METHOD_USERPASS;
	} else if (offers(&g, SOCKS5_METHOD_NONE)) {
		method = SOCKS5_METHOD_NONE;
	} else if (offers(&g, SOCKS5_METHOD_USERPASS)) {
		method = SOCKS5_METHOD_USERPASS;
	}
	wire_enc_socks5_choice(rep, sizeof(rep), method);
	out_queue(s, rep, 2);
	switch (method) {
	case SOCKS5_METHOD_NONE:
		s->state = SRV_ST_S5_REQ;
		return 1;
	case SOCKS5_METHOD_USERPASS:
		s->state = SRV_ST_S5_AUTH;
		return 1;
	default:
		SRV_DEBUG("no acceptable method offered");
		close_after_flush(s, SRV_R_AUTH_FAILED);
		return -1;
	}
}

static int
step_auth(struct srv_session *s)
{
	struct socks5_auth a;
	const char *why = NULL;
	size_t used;
	uint8_t rep[2];
	int rc = wire_dec_socks5_auth(s->in, s->in_len, &a, &used, &why);

	if (rc == WIRE_NEED_MORE)
		return 0;
	if (rc != WIRE_OK) {
		SRV_DEBUG("auth: %s", why);
		wire_enc_socks5_auth_rep(rep, sizeof(rep), SOCKS5_AUTH_FAILED);
		out_queue(s, rep, 2);
		close_after_flush(s, s->in[0] != SOCKS5_AUTH_VERSION ?
		    SRV_R_BAD_VERSION : SRV_R_MALFORMED);
		return -1;
	}
	/* Credentials do not stay in the buffer or on the stack. */
	explicit_bzero(s->in, used);
	in_consume(s, used);
	if (srv_g.cfg.nusers > 0) {
		s->user = srv_users_check(&srv_g.cfg, a.user, a.pass);
		explicit_bzero(&a, sizeof(a));
		if (s->user == NULL) {
			SRV_DEBUG("auth: bad user name or password");
			wire_enc_socks5_auth_rep(rep, sizeof(rep), SOCKS5_AUTH_FAILED);
			out_queue(s, rep, 2);
			close_after_flush(s, SRV_R_AUTH_FAILED);
			return -1;
		}
	}
	explicit_bzero(&a, sizeof(a));
	wire_enc_socks5_auth_rep(rep, sizeof(rep), SOCKS5_AUTH_OK);
	out_queue(s, rep, 2);
	s->state = SRV_ST_S5_REQ;
	return 1;
}

static int
step_s5_req(struct srv_session *s)
{
	struct socks5_msg m;
	const char *why = NULL;
	size_t used;
	int rc;

	if (s->in_len >= 1 && s->in[0] != SOCKS5_VERSION) {
		srv_session_end(s, SRV_R_BAD_VERSION);
		return -1;
	}
	if (s->in_len >= 4 && s->in[3] != WIRE_ATYP_IPV4 &&
	    s->in[3] != WIRE_ATYP_IPV6 && s->in[3] != WIRE_ATYP_NAME) {
		srv_fail(s, SOCKS5_REP_ATYP_UNSUPPORTED, SRV_R_BAD_ATYP);
		return -1;
	}
	rc = wire_dec_socks5_req(s->in, s->in_len, &m, &used, &why);
	if (rc == WIRE_NEED_MORE)
		return 0;
	if (rc != WIRE_OK) {
		SRV_DEBUG("request: %s", why);
		srv_fail(s, SOCKS5_REP_GENERAL_FAILURE, SRV_R_MALFORMED);
		return -1;
	}
	in_consume(s, used);
	s->target = m.addr;
	switch (m.code) {
	case SOCKS5_CMD_CONNECT:
		s->cmd = SRV_CMD_CONNECT;
		break;
	case SOCKS5_CMD_BIND:
		s->cmd = SRV_CMD_BIND;
		break;
	case SOCKS5_CMD_UDP_ASSOCIATE:
		s->cmd = SRV_CMD_UDP;
		break;
	default:
		SRV_DEBUG("request: unknown command %u", m.code);
		break;
	}
	s->state = SRV_ST_RESOLVE;
	request_go(s);
	return -1;
}

static int
step_s4_req(struct srv_session *s)
{
	struct socks4_req r;
	const char *why = NULL;
	size_t used;
	int rc = wire_dec_socks4_req(s->in, s->in_len, &r, &used, &why);

	if (rc == WIRE_NEED_MORE)
		return 0;
	if (rc != WIRE_OK) {
		SRV_DEBUG("socks4 request: %s", why);
		srv_fail(s, SOCKS5_REP_GENERAL_FAILURE, SRV_R_MALFORMED);
		return -1;
	}
	in_consume(s, used);
	s->target = r.dst;
	if (r.dst.type == WIRE_ATYP_NAME)
		s->proto = SRV_P_SOCKS4A;
	if (r.cmd == SOCKS4_CMD_CONNECT)
		s->cmd = SRV_CMD_CONNECT;
	else if (r.cmd == SOCKS4_CMD_BIND)
		s->cmd = SRV_CMD_BIND;
	s->state = SRV_ST_RESOLVE;
	/* SOCKS4 has no password: with users configured, the user id must be
	 * one of their names. */
	if (srv_g.cfg.nusers > 0) {
		s->user = srv_users_find(&srv_g.cfg, r.user);
		if (s->user == NULL) {
			SRV_DEBUG("socks4: unknown user id");
			srv_fail(s, SOCKS5_REP_NOT_ALLOWED, SRV_R_AUTH_FAILED);
			return -1;
		}
	}
	request_go(s);
	return -1;
}

/* Decodes one message.  1: progress, 0: more bytes needed, -1: the
 * session moved past negotiation (or ended). */
static int
sess_step(struct srv_session *s)
{
	switch (s->state) {
	case SRV_ST_GREET:
		if (s->in_len == 0)
			return 0;
		if (s->in[0] == SOCKS5_VERSION) {
			s->proto = SRV_P_SOCKS5;
			s->state = SRV_ST_S5_METHODS;
			return 1;
		}
		if (s->in[0] == SOCKS4_VERSION) {
			s->proto = SRV_P_SOCKS4;
			s->state = SRV_ST_S4_REQ;
			return 1;
		}
		srv_session_end(s, SRV_R_BAD_VERSION);
		return -1;
	case SRV_ST_S5_METHODS:
		return step_methods(s);
	case SRV_ST_S5_AUTH:
		return step_auth(s);
	case SRV_ST_S5_REQ:
		return step_s5_req(s);
	case SRV_ST_S4_REQ:
		return step_s4_req(s);
	default:
		return -1;
	}
}

static void
sess_negotiate(struct srv_session *s)
{
	for (;;) {
		ssize_t n;
		size_t room;
		int rc = sess_step(s);

		if (rc < 0)
			return;
		if (rc > 0)
			continue;
		if (srv_flush_out(s) != 0 || !s->rd[0])
			return;
		room = SRV_IN_CAP - s->in_len;
		if (room == 0) {
			/* Every message fits: a full buffer is a broken client. */
			srv_session_end(s, SRV_R_MALFORMED);
			return;
		}
		n = read(s->fd[0], s->in + s->in_len, room);
		if (n > 0) {
			s->in_len += (uint16_t)n;
			s->got_bytes = true;
			if ((size_t)n < room && !s->hup[0])
				s->rd[0] = false;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			s->rd[0] = false;
			return;
		}
		/* EOF or error before the request was complete. */
		srv_session_end(s, s->got_bytes ? SRV_R_MALFORMED : SRV_R_ERROR);
		return;
	}
}

/* While the target is being reached, early bytes from the client wait in
 * s->in (as many as fit); EOF is remembered for the relay. */
static void
sess_hold_client(struct srv_session *s)
{
	while (s->rd[0] && !s->dir[0].eof && s->in_len < SRV_IN_CAP) {
		ssize_t n = read(s->fd[0], s->in + s->in_len, SRV_IN_CAP - s->in_len);
		if (n > 0) {
			s->in_len += (uint16_t)n;
			continue;
		}
		if (n == 0) {
			s->dir[0].eof = true;
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			s->rd[0] = false;
			break;
		}
		srv_session_end(s, SRV_R_ERROR);
		return;
	}
}

static void
sess_dispatch(struct srv_session *s)
{
	switch (s->state) {
	case SRV_ST_GREET:
	case SRV_ST_S5_METHODS:
	case SRV_ST_S5_AUTH:
	case SRV_ST_S5_REQ:
	case SRV_ST_S4_REQ:
		if (srv_flush_out(s) == 0)
			sess_negotiate(s);
		break;
	case SRV_ST_RESOLVE:
	case SRV_ST_CONNECT:
	case SRV_ST_BIND_WAIT:
		if (srv_flush_out(s) == 0)
			sess_hold_client(s);
		break;
	case SRV_ST_UDP:
		if (srv_flush_out(s) == 0)
			srv_udp_client_event(s);
		break;
	case SRV_ST_RELAY:
		srv_relay_pump(s);
		break;
	case SRV_ST_CLOSING:
		if (srv_flush_out(s) == 0 && s->out_len == 0)
			srv_session_end(s, s->result);
		break;
	default:
		break;
	}
}

static void
set_ready(struct srv_session *s, int side, uint32_t e)
{
	if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		s->rd[side] = true;
	if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		s->wr[side] = true;
	if (e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		s->hup[side] = true;
}

static void
client_event(struct srv_ev *ev, uint32_t e)
{
	struct srv_session *s = SRV_CONTAINER(ev, struct srv_session, ev[0]);

	if (s->state == SRV_ST_DEAD)
		return;
	set_ready(s, 0, e);
	sess_dispatch(s);
}

static void
target_event(struct srv_ev *ev, uint32_t e)
{
	struct srv_session *s = SRV_CONTAINER(ev, struct srv_session, ev[1]);

	if (s->state == SRV_ST_DEAD)
		return;
	if (s->state == SRV_ST_CONNECT) {
		srv_connect_event(s, e);
		return;
	}
	set_ready(s, 1, e);
	if (s->state == SRV_ST_RELAY)
		srv_relay_pump(s);
}

/* ---- accepting ---- */

/* A connection turned away before it became a session still gets its
 * log line. */
static void
log_turned_away(const union srv_sa *peer, enum srv_result r)
{
	static struct srv_session s;

	s.peer = *peer;
	s.start_ms = srv_g.loop.now;
	s.result = r;
	srv_log_session(&s, srv_g.loop.now);
}

static void
session_new(int fd, const union srv_sa *peer)
{
	struct srv_session *s;

	if (!srv_acl_client_ok(&srv_g.cfg, &peer->sa)) {
		close(fd);
		log_turned_away(peer, SRV_R_NOT_ALLOWED);
		return;
	}
	if (srv_g.cfg.max_conns > 0 && srv_g.nsess >= srv_g.cfg.max_conns) {
		close(fd);
		SRV_DEBUG("connection limit (%zu) reached", srv_g.cfg.max_conns);
		log_turned_away(peer, SRV_R_ERROR);
		return;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		close(fd);
		log_turned_away(peer, SRV_R_ERROR);
		return;
	}
	s->fd[0] = fd;
	s->fd[1] = -1;
	s->dir[0].pipe[0] = s->dir[0].pipe[1] = -1;
	s->dir[1].pipe[0] = s->dir[1].pipe[1] = -1;
	s->ev[0].fn = client_event;
	s->ev[1].fn = target_event;
	s->peer = *peer;
	s->start_ms = srv_g.loop.now;
	s->state = SRV_ST_GREET;
	if (srv_loop_add(&srv_g.loop, fd, SESSION_EVENTS, &s->ev[0]) != 0) {
		close(fd);
		free(s);
		log_turned_away(peer, SRV_R_ERROR);
		return;
	}
	s->next = srv_g.all;
	if (s->next != NULL)
		s->next->prev = s;
	srv_g.all = s;
	srv_g.nsess++;
	s->tlist = &srv_g.t_nego;
	srv_timer_arm(&srv_g.t_nego, &s->timer, srv_g.loop.now);
	/* Most clients send their greeting right after connecting: try it now
	 * rather than waiting a turn of the loop. */
	s->rd[0] = true;
	s->wr[0] = true;
	sess_negotiate(s);
}

static void
listeners_pause(void)
{
	srv_g.paused = true;
	for (size_t i = 0; i < srv_g.nls; i++)
		srv_loop_mod(&srv_g.loop, srv_g.ls[i].fd, 0, &srv_g.ls[i].ev);
	srv_timer_arm(&srv_g.t_pause, &srv_g.pause_node, srv_g.loop.now);
}

void srv_listeners_resume(struct srv_tnode *n);

void
srv_listeners_resume(struct srv_tnode *n)
{
	(void)n;
	srv_g.paused = false;
	for (size_t i = 0; i < srv_g.nls; i++)
		srv_loop_mod(&srv_g.loop, srv_g.ls[i].fd, EPOLLIN, &srv_g.ls[i].ev);
}

void
srv_accept_event(struct srv_ev *ev, uint32_t events)
{
	struct srv_listener *l = SRV_CONTAINER(ev, struct srv_listener, ev);

	(void)events;
	for (int i = 0; i < ACCEPT_BATCH && !srv_g.paused; i++) {
		union srv_sa peer;
		socklen_t len = sizeof(peer);
		int fd = accept4(l->fd, &peer.sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			switch (errno) {
			case EINTR:
			case ECONNABORTED:
			case EPROTO:
				continue;
			case EAGAIN:
				return;
			case EMFILE:
			case ENFILE:
			case ENOBUFS:
			case ENOMEM:
				/* Out of fds: stop accepting for a moment instead of
				 * spinning on a listener that stays readable. */
				srv_warn("accept: %m; pausing");
				listeners_pause();
				return;
			default:
				srv_warn("accept: %m");
				return;
			}
		}
		session_new(fd, &peer);
	}
}
