/* accept.c: taking new clients off the listeners: ACL, per-address and
 * connection limits, and a pause when the process runs out of descriptors. */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <errno.h>
#include <unistd.h>

#include "srv.h"

#define ACCEPT_BATCH 64

static void
log_turned_away(const union srv_sa *peer, enum srv_result r)
{
	struct srv_session s = { .result = r };

	s.peer = *peer;
	s.start_ms = srv_w->loop.now;
	srv_log_session(&s, srv_w->loop.now);
}

static void
accept_one(int fd, const union srv_sa *peer)
{
	enum srv_result r = SRV_R_ERROR;
	struct srv_lim *lim = NULL;

	if (!srv_acl_client_ok(srv_w->rules, &peer->sa)) {
		r = SRV_R_NOT_ALLOWED;
		goto turn_away;
	}
	/* Banned or over its share: closed before a byte is read. */
	r = srv_limits_admit(peer, &lim);
	if (r != SRV_R_OK)
		goto turn_away;
	r = SRV_R_ERROR;
	/* The limit is for the whole server: a slot is taken here, across
	 * workers, and given back when the session ends. */
	if (srv_g.cfg.max_conns > 0 &&
	    atomic_fetch_add_explicit(&srv_g.nsess, 1, memory_order_relaxed) >=
	    srv_g.cfg.max_conns) {
		atomic_fetch_sub_explicit(&srv_g.nsess, 1, memory_order_relaxed);
		SRV_DEBUG("connection limit (%zu) reached", srv_g.cfg.max_conns);
		goto give_back;
	}
	if (srv_session_new(fd, peer, lim) == 0)
		return;
	if (srv_g.cfg.max_conns > 0)
		atomic_fetch_sub_explicit(&srv_g.nsess, 1, memory_order_relaxed);
give_back:
	srv_limits_drop(lim);
turn_away:
	close(fd);
	log_turned_away(peer, r);
}

static void
listeners_pause(void)
{
	srv_w->paused = true;
	for (size_t i = 0; i < srv_w->nls; i++)
		srv_loop_mod(&srv_w->loop, srv_w->ls[i].fd, 0, &srv_w->ls[i].ev);
	srv_timer_arm(&srv_w->t_pause, &srv_w->pause_node, srv_w->loop.now);
}

void
srv_listeners_resume(struct srv_tnode *n)
{
	(void)n;
	srv_w->paused = false;
	for (size_t i = 0; i < srv_w->nls; i++)
		srv_loop_mod(&srv_w->loop, srv_w->ls[i].fd, EPOLLIN, &srv_w->ls[i].ev);
}

void
srv_accept_event(struct srv_ev *ev, uint32_t events)
{
	struct srv_listener *l = SRV_CONTAINER(ev, struct srv_listener, ev);

	(void)events;
	for (int i = 0; i < ACCEPT_BATCH && !srv_w->paused; i++) {
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
		accept_one(fd, &peer);
	}
}
