/* accept.c: taking new clients off the listeners: ACL, connection limit,
 * and a pause when the process runs out of descriptors. */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <errno.h>
#include <unistd.h>

#include "srv.h"

#define ACCEPT_BATCH 64

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
accept_one(int fd, const union srv_sa *peer)
{
	enum srv_result r = SRV_R_ERROR;

	if (!srv_acl_client_ok(&srv_g.cfg, &peer->sa)) {
		r = SRV_R_NOT_ALLOWED;
		goto turn_away;
	}
	if (srv_g.cfg.max_conns > 0 && srv_g.nsess >= srv_g.cfg.max_conns) {
		SRV_DEBUG("connection limit (%zu) reached", srv_g.cfg.max_conns);
		goto turn_away;
	}
	if (srv_session_new(fd, peer) == 0)
		return;
turn_away:
	close(fd);
	log_turned_away(peer, r);
}

static void
listeners_pause(void)
{
	srv_g.paused = true;
	for (size_t i = 0; i < srv_g.nls; i++)
		srv_loop_mod(&srv_g.loop, srv_g.ls[i].fd, 0, &srv_g.ls[i].ev);
	srv_timer_arm(&srv_g.t_pause, &srv_g.pause_node, srv_g.loop.now);
}

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
		accept_one(fd, &peer);
	}
}
