/* negotiate.c: the SOCKS4/4a/5 handshake, decoded incrementally.
 *
 * Handshake bytes collect in s->in and are decoded with the core decoders,
 * so messages split into single bytes and messages pipelined in one write
 * both work: a decoder's *used bytes are consumed and the rest stays for
 * the next message (or, after the request, for the target).  Replies
 * collect in s->out and go out in one write.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "srv.h"

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
	s->tlist = &srv_w->t_nego;
	srv_timer_arm(&srv_w->t_nego, &s->timer, srv_w->loop.now);
	switch (s->cmd) {
	case SRV_CMD_CONNECT:
		srv_connect_start(s);
		break;
	case SRV_CMD_BIND:
		if (srv_g.cfg.no_bind)
			srv_fail(s, SOCKS5_REP_CMD_UNSUPPORTED, SRV_R_BAD_COMMAND);
		else if (srv_limits_take(s, SRV_LIM_BIND) != 0)
			srv_fail(s, SOCKS5_REP_NOT_ALLOWED, SRV_R_CLIENT_LIMIT);
		else
			srv_bind_start(s);
		break;
	case SRV_CMD_UDP:
		if (srv_g.cfg.no_udp)
			srv_fail(s, SOCKS5_REP_CMD_UNSUPPORTED, SRV_R_BAD_COMMAND);
		else if (srv_limits_take(s, SRV_LIM_UDP) != 0)
			srv_fail(s, SOCKS5_REP_NOT_ALLOWED, SRV_R_CLIENT_LIMIT);
		else
			srv_udp_start(s);
		break;
	default:
		srv_fail(s, SOCKS5_REP_CMD_UNSUPPORTED, SRV_R_BAD_COMMAND);
		break;
	}
	/* Replies to pipelined messages go out before a wait starts (a held
	 * method choice stays until the request's reply). */
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
	if (s->rules->nusers > 0) {
		if (offers(&g, SOCKS5_METHOD_USERPASS))
			method = SOCKS5_METHOD_USERPASS;
	} else if (offers(&g, SOCKS5_METHOD_NONE)) {
		method = SOCKS5_METHOD_NONE;
	} else if (offers(&g, SOCKS5_METHOD_USERPASS)) {
		method = SOCKS5_METHOD_USERPASS;
	}
	wire_enc_socks5_choice(rep, sizeof(rep), method);
	srv_out_queue(s, rep, 2);
	switch (method) {
	case SOCKS5_METHOD_NONE:
		/* The request came with the greeting: the client did not wait
		 * for the choice, so it goes out with the reply, in one write
		 * that wakes the client once. */
		s->hold_choice = s->in_len > 0;
		s->state = SRV_ST_S5_REQ;
		return 1;
	case SOCKS5_METHOD_USERPASS:
		s->state = SRV_ST_S5_AUTH;
		return 1;
	default:
		SRV_DEBUG("no acceptable method offered");
		srv_close_after_flush(s, SRV_R_AUTH_FAILED);
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
		srv_out_queue(s, rep, 2);
		srv_close_after_flush(s, s->in[0] != SOCKS5_AUTH_VERSION ?
		    SRV_R_BAD_VERSION : SRV_R_MALFORMED);
		return -1;
	}
	/* Credentials do not stay in the buffer or on the stack. */
	explicit_bzero(s->in, used);
	in_consume(s, used);
	if (s->rules->nusers > 0) {
		if (srv_limits_auth_try(s) != 0) {
			/* Banned: the credentials are not even looked at. */
			explicit_bzero(&a, sizeof(a));
			wire_enc_socks5_auth_rep(rep, sizeof(rep), SOCKS5_AUTH_FAILED);
			srv_out_queue(s, rep, 2);
			srv_close_after_flush(s, SRV_R_AUTH_BANNED);
			return -1;
		}
		s->user = srv_users_check(s->rules, a.user, a.pass);
		explicit_bzero(&a, sizeof(a));
		if (s->user == NULL) {
			SRV_DEBUG("auth: bad user name or password");
			srv_limits_auth_failed(s);
			return -1;
		}
		srv_limits_auth_ok(s);
	}
	explicit_bzero(&a, sizeof(a));
	wire_enc_socks5_auth_rep(rep, sizeof(rep), SOCKS5_AUTH_OK);
	srv_out_queue(s, rep, 2);
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
	/* SOCKS4 has no password: with users configured it is refused, unless
	 * --socks4-userid takes a user id that is one of their names. */
	if (s->rules->nusers > 0) {
		if (!srv_g.cfg.socks4_userid) {
			SRV_DEBUG("socks4: users are configured and SOCKS4 has no password");
			srv_fail(s, SOCKS5_REP_NOT_ALLOWED, SRV_R_AUTH_REQUIRED);
			return -1;
		}
		/* A user id is then a password guess: braked like one. */
		if (srv_limits_auth_try(s) != 0) {
			srv_fail(s, SOCKS5_REP_NOT_ALLOWED, SRV_R_AUTH_BANNED);
			return -1;
		}
		s->user = srv_users_find(s->rules, r.user);
		if (s->user == NULL) {
			SRV_DEBUG("socks4: unknown user id");
			srv_limits_auth_failed(s);
			return -1;
		}
		srv_limits_auth_ok(s);
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

void
srv_nego_run(struct srv_session *s)
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
		/* A clean EOF between messages (a probe that reads the method
		 * choice and leaves, a port check) is a close, not an error;
		 * one in the middle of a message is a broken message. */
		if (n == 0)
			srv_session_end(s, s->in_len == 0 ? SRV_R_CLOSED : SRV_R_MALFORMED);
		else
			srv_session_end(s, SRV_R_ERROR);
		return;
	}
}

/* While the target is being reached, early bytes from the client wait in
 * s->in (as many as fit); EOF is remembered for the relay. */
void
srv_nego_hold(struct srv_session *s)
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

