/* session.c: a session's life: creation, events, replies, timers, end.
 *
 * Each client has one session struct, allocated once; relay pipes and
 * buffers, BIND and UDP state are added only when they are needed.
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "srv.h"

#define SESSION_EVENTS (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)
/* Sessions a loop must have lost since its high mark before the free heap
 * is handed back: about 140 KiB of session structs, as much as glibc lets
 * sit at the top of a heap before it trims on its own.  A loop left with
 * no session at all trims once it had SESSION_TRIM_IDLE. */
#define SESSION_TRIM_DROP 128
#define SESSION_TRIM_IDLE 16

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

void
srv_out_queue(struct srv_session *s, const uint8_t *buf, size_t len)
{
	if (len > sizeof(s->out) - s->out_len)
		len = sizeof(s->out) - s->out_len;   /* cannot happen: replies are small */
	memcpy(s->out + s->out_len, buf, len);
	s->out_len += (uint8_t)len;
}

int
srv_flush_out(struct srv_session *s)
{
	/* A held method choice waits for the reply, whatever event comes
	 * first (the client's socket turning writable, say). */
	if (s->hold_choice)
		return 0;
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
void
srv_close_after_flush(struct srv_session *s, enum srv_result r)
{
	s->result = r;
	s->hold_choice = false;
	if (srv_flush_out(s) != 0)
		return;
	if (s->out_len == 0) {
		srv_session_end(s, r);
		return;
	}
	s->state = SRV_ST_CLOSING;
	/* The timer that led here has fired; a client that never reads its
	 * reply must not keep the session for that. */
	if (!srv_timer_armed(&s->timer)) {
		s->tlist = &srv_w->t_nego;
		srv_timer_arm(&srv_w->t_nego, &s->timer, srv_w->loop.now);
	}
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
		srv_out_queue(s, buf, (size_t)n);
	s->hold_choice = false;
	return srv_flush_out(s);
}

void
srv_fail(struct srv_session *s, uint8_t code, enum srv_result r)
{
	SRV_DEBUG("session fails: %s", srv_result_word(r));
	if (srv_reply(s, code, NULL) != 0)
		return;
	srv_close_after_flush(s, r);
}

/* ---- life and death ---- */

void
srv_arm_idle(struct srv_session *s)
{
	unsigned idle = srv_g.cfg.idle_ms, half = srv_g.cfg.half_ms;
	struct srv_tlist *tl = idle > 0 ? &srv_w->t_idle : NULL;

	/* Once one end has said all it will, the other may stay quiet for the
	 * half-close time only: a peer that neither talks nor closes would
	 * otherwise hold the session until the idle limit, or for ever. */
	if (s->state == SRV_ST_RELAY && (s->dir[0].eof || s->dir[1].eof) &&
	    half > 0 && (idle == 0 || half < idle))
		tl = &srv_w->t_half;
	s->tlist = tl;
	if (tl != NULL)
		srv_timer_arm(tl, &s->timer, srv_w->loop.now);
	else
		srv_timer_disarm(&s->timer);
}

void
srv_ready_again(struct srv_session *s)
{
	if (s->on_again)
		return;
	s->on_again = true;
	s->dnext = srv_w->again;
	srv_w->again = s;
	srv_w->loop.busy = true;
}

void
srv_session_end(struct srv_session *s, enum srv_result r)
{
	if (s->state == SRV_ST_DEAD)
		return;
	s->result = r;
	srv_timer_disarm(&s->timer);
	if (s->on_again) {
		struct srv_session **pp = &srv_w->again;
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
		ssize_t n = read(s->fd[0], srv_w->scratch, SRV_SCRATCH);
		(void)n;
	}
	close(s->fd[0]);
	s->fd[0] = s->fd[1] = -1;
	srv_log_session(s, srv_w->loop.now);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		srv_w->all = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	srv_w->nsess--;
	if (srv_g.cfg.max_conns > 0)
		atomic_fetch_sub_explicit(&srv_g.nsess, 1, memory_order_relaxed);
	srv_limits_release(s);
	s->state = SRV_ST_DEAD;
	/* Freed after this batch of events: later events in it may still
	 * point here. */
	s->dnext = srv_w->dead;
	srv_w->dead = s;
}

/* glibc keeps what sessions freed in its free lists, and gives back only
 * the top of a heap: after a flood (a thousand clients that each held a
 * session for a few seconds) the process would keep its peak size for
 * good.  Once this loop holds at most half the sessions it held, and at
 * least SESSION_TRIM_DROP fewer, or none after a few, the free pages of
 * every arena go back.  Each trim follows that many session ends, so
 * trims stay rare (one takes well under a millisecond for a few MiB). */
static void
sessions_trim(void)
{
#ifdef __GLIBC__
	size_t high = srv_w->nsess_high, n = srv_w->nsess;

	if (!(n <= high / 2 && high - n >= SESSION_TRIM_DROP) &&
	    !(n == 0 && high >= SESSION_TRIM_IDLE))
		return;
	malloc_trim(0);
	srv_w->nsess_high = n;
#endif
}

void
srv_sessions_after(void *arg)
{
	struct srv_session *s, *list;

	(void)arg;
	/* Between batches nothing holds a pointer into the rules: the loop
	 * may take the newest now. */
	srv_rules_refresh(&srv_w->rules, &srv_w->rules_gen);
	while ((s = srv_w->dead) != NULL) {
		srv_w->dead = s->dnext;
		srv_bind_free(s);
		srv_udp_free(s);
		srv_rules_put(s->rules);
		free(s);
	}
	srv_connect_after();
	sessions_trim();
	list = srv_w->again;
	srv_w->again = NULL;
	srv_w->loop.busy = false;
	while ((s = list) != NULL) {
		list = s->dnext;
		s->on_again = false;
		if (s->state == SRV_ST_RELAY)
			srv_relay_pump(s);
		else if (s->state == SRV_ST_UDP)
			srv_udp_again(s);
	}
	srv_w->loop.busy = srv_w->again != NULL;
}

void
srv_sessions_stop_all(void)
{
	while (srv_w->all != NULL) {
		struct srv_session *s = srv_w->all;
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
	case SRV_ST_CLOSING:
		/* The reply never went out; the reason stays the one it gave. */
		srv_session_end(s, s->result);
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
	struct srv_tlist *tl = s->tlist;
	uint64_t due = s->last_ms + tl->dur_ms;

	/* Bytes moved since the timer was set: the time runs from the last. */
	if (due > srv_w->loop.now) {
		srv_timer_arm_at(tl, &s->timer, due);
		return;
	}
	SRV_DEBUG("session %s for %llu ms", tl == &srv_w->t_half ?
	    "half-closed and quiet" : "idle", (unsigned long long)tl->dur_ms);
	srv_session_end(s, SRV_R_TIMEOUT);
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
			srv_nego_run(s);
		break;
	case SRV_ST_RESOLVE:
	case SRV_ST_CONNECT:
		if (srv_flush_out(s) == 0)
			srv_nego_hold(s);
		break;
	case SRV_ST_BIND_WAIT:
		if (srv_flush_out(s) == 0)
			srv_bind_hold(s);
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
	case SRV_ST_AUTH_WAIT:
		/* Nothing is read until the delay is over; a client that leaves
		 * gives its descriptor back at once. */
		if (s->hup[0])
			srv_session_end(s, SRV_R_AUTH_FAILED);
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

/* A socket error on one side (a reset, a connection that timed out) ends
 * the session at once, whatever its state.  Reads and writes would notice
 * it too, but a side whose EOF has been seen is not read again and a quiet
 * other side gives nothing to write: the session, and the other side's
 * connection, would stay open. */
static void
sess_broken(struct srv_session *s, int side)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(s->fd[side], SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	SRV_DEBUG("%s connection: %s", side == 0 ? "client" : "target", strerror(err));
	/* As in the relay: a reset ends a session that was served. */
	srv_session_end(s, s->state == SRV_ST_RELAY || s->state == SRV_ST_UDP ?
	    SRV_R_OK : SRV_R_ERROR);
}

static void
client_event(struct srv_ev *ev, uint32_t e)
{
	struct srv_session *s = SRV_CONTAINER(ev, struct srv_session, ev[0]);

	if (s->state == SRV_ST_DEAD)
		return;
	set_ready(s, 0, e);
	sess_dispatch(s);
	/* What could still be read has been passed on. */
	if ((e & EPOLLERR) && s->state != SRV_ST_DEAD)
		sess_broken(s, 0);
}

static void
target_event(struct srv_ev *ev, uint32_t e)
{
	struct srv_session *s = SRV_CONTAINER(ev, struct srv_session, ev[1]);

	if (s->state == SRV_ST_DEAD)
		return;
	set_ready(s, 1, e);
	if (s->state == SRV_ST_RELAY)
		srv_relay_pump(s);
	if ((e & EPOLLERR) && s->state != SRV_ST_DEAD && s->fd[1] >= 0)
		sess_broken(s, 1);
}

/* ---- a new client ---- */

int
srv_session_new(int fd, const union srv_sa *peer, struct srv_lim *lim)
{
	struct srv_session *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return -1;
	s->fd[0] = fd;
	s->fd[1] = -1;
	s->dir[0].pipe[0] = s->dir[0].pipe[1] = -1;
	s->dir[1].pipe[0] = s->dir[1].pipe[1] = -1;
	s->ev[0].fn = client_event;
	s->ev[1].fn = target_event;
	s->peer = *peer;
	s->start_ms = srv_w->loop.now;
	s->state = SRV_ST_GREET;
	if (srv_loop_add(&srv_w->loop, fd, SESSION_EVENTS, &s->ev[0]) != 0) {
		free(s);
		return -1;
	}
	s->lim = lim;
	s->rules = srv_rules_ref(srv_w->rules);
	s->next = srv_w->all;
	if (s->next != NULL)
		s->next->prev = s;
	srv_w->all = s;
	if (++srv_w->nsess > srv_w->nsess_high)
		srv_w->nsess_high = srv_w->nsess;
	s->tlist = &srv_w->t_nego;
	srv_timer_arm(&srv_w->t_nego, &s->timer, srv_w->loop.now);
	/* Most clients send their greeting right after connecting: try it now
	 * rather than waiting a turn of the loop. */
	s->rd[0] = true;
	s->wr[0] = true;
	srv_nego_run(s);
	return 0;
}

