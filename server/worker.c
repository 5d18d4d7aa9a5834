/* worker.c: the event-loop threads: each has its own epoll loop, timers,
 * sessions and one listening socket per -l address (SO_REUSEPORT, so the
 * kernel spreads new clients over the workers). */
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "srv.h"

#define LISTEN_BACKLOG 4096
#define PAUSE_MS 100

__thread struct srv_worker *srv_w;

static void
wake_event(struct srv_ev *ev, uint32_t events)
{
	struct srv_worker *w = SRV_CONTAINER(ev, struct srv_worker, wakeev);
	uint64_t v;
	ssize_t n;

	(void)events;
	n = read(w->wakefd, &v, sizeof(v));
	(void)n;
	/* A reload wakes every loop: the new rules count from here on (no
	 * check holds a rules pointer from one event to the next). */
	srv_rules_refresh(&w->rules, &w->rules_gen);
	if (atomic_load(&srv_g.stop))
		w->loop.stop = true;
	srv_resolve_deliver(w);
}

static struct srv_worker *
worker_new(void)
{
	struct srv_worker *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->wakefd = -1;
	if (srv_loop_init(&w->loop) != 0)
		goto fail;
	w->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->wakefd < 0)
		goto fail;
	w->wakeev.fn = wake_event;
	if (srv_loop_add(&w->loop, w->wakefd, EPOLLIN, &w->wakeev) != 0)
		goto fail;
	srv_tlist_init(&w->loop, &w->t_nego, srv_g.cfg.timeout_ms, srv_nego_expired);
	srv_tlist_init(&w->loop, &w->t_idle, srv_g.cfg.idle_ms, srv_idle_expired);
	srv_tlist_init(&w->loop, &w->t_half, srv_g.cfg.half_ms, srv_idle_expired);
	srv_tlist_init(&w->loop, &w->t_pause, PAUSE_MS, srv_listeners_resume);
	srv_tlist_init(&w->loop, &w->t_auth, srv_g.cfg.auth_delay_ms, srv_limits_auth_expired);
	/* Deadlines of any length: armed with srv_timer_arm_at only. */
	srv_tlist_init(&w->loop, &w->t_race, 0, srv_race_expired);
	w->loop.after = srv_sessions_after;
	w->rules = srv_rules_get();
	w->ls = calloc(srv_g.cfg.nlisten, sizeof(*w->ls));
	if (w->ls == NULL)
		goto fail;
	return w;
fail:
	{
		int err = errno;
		if (w->wakefd >= 0)
			close(w->wakefd);
		srv_loop_fini(&w->loop);
		free(w->ls);
		free(w);
		errno = err;
		return NULL;
	}
}

int
srv_workers_init(unsigned n)
{
	srv_g.w = calloc(n, sizeof(*srv_g.w));
	if (srv_g.w == NULL)
		return -1;
	for (srv_g.nw = 0; srv_g.nw < n; srv_g.nw++) {
		srv_g.w[srv_g.nw] = worker_new();
		if (srv_g.w[srv_g.nw] == NULL)
			return -1;
	}
	srv_w = srv_g.w[0];
	return 0;
}

int
srv_listen_sockaddr(const struct wire_addr *w, struct sockaddr_storage *ss, socklen_t *len)
{
	if (w->type == WIRE_ATYP_NAME) {
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
			.ai_flags = AI_PASSIVE | AI_NUMERICSERV };
		struct addrinfo *res;
		char port[8];
		int rc;
		snprintf(port, sizeof(port), "%u", w->port);
		rc = getaddrinfo(w->u.name, port, &hints, &res);
		if (rc != 0) {
			srv_fatal("listen %s: %s", w->u.name, gai_strerror(rc));
			return -1;
		}
		memcpy(ss, res->ai_addr, res->ai_addrlen);
		*len = res->ai_addrlen;
		freeaddrinfo(res);
		return 0;
	}
	return addr_sockaddr_from_wire(ss, len, w);
}

static int
listen_fd(const struct sockaddr_storage *ss, socklen_t len)
{
	int one = 1, err;
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* Every worker listens on the same address; with one worker the
	 * socket is as exclusive as it always was. */
	if (srv_g.nw > 1 && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0)
		goto fail;
	/* An IPv6 listener takes IPv6 only, so [::] and 0.0.0.0 can coexist. */
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	/* Accepted sockets inherit TCP_NODELAY: one call here, none per client. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, len) != 0 || listen(fd, LISTEN_BACKLOG) != 0)
		goto fail;
	return fd;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

/* Listens on -l address i in every worker: the first socket picks the
 * port (port 0), the others take the same one. */
static int
listen_all(size_t i)
{
	const struct wire_addr *wa = &srv_g.cfg.listen[i];
	struct sockaddr_storage ss;
	socklen_t len = 0;

	if (srv_listen_sockaddr(wa, &ss, &len) != 0)
		return -1;
	for (unsigned k = 0; k < srv_g.nw; k++) {
		struct srv_worker *w = srv_g.w[k];
		struct srv_listener *l = &w->ls[i];
		socklen_t alen = sizeof(l->addr);

		l->fd = listen_fd(&ss, len);
		if (l->fd < 0)
			goto fail;
		w->nls = i + 1;
		l->ev.fn = srv_accept_event;
		if (getsockname(l->fd, &l->addr.sa, &alen) != 0 ||
		    srv_loop_add(&w->loop, l->fd, EPOLLIN, &l->ev) != 0)
			goto fail;
		if (k == 0) {
			memcpy(&ss, &l->addr, alen);
			len = alen;
		}
	}
	return 0;
fail:
	{
		char txt[ADDR_STRLEN];
		srv_fatal("listen %s: %s", addr_format(txt, sizeof(txt), wa), strerror(errno));
		return -1;
	}
}

int
srv_workers_listen(void)
{
	for (size_t i = 0; i < srv_g.cfg.nlisten; i++)
		if (listen_all(i) != 0)
			return -1;
	return 0;
}

/* A worker's last duty, on its own thread: no new clients, and every
 * session ends (and is logged) here. */
static void
worker_finish(struct srv_worker *w)
{
	for (size_t i = 0; i < w->nls; i++) {
		if (w->ls[i].fd >= 0)
			close(w->ls[i].fd);
		w->ls[i].fd = -1;
	}
	srv_sessions_stop_all();
}

static void *
worker_main(void *arg)
{
	srv_w = arg;
	srv_loop_run(&srv_w->loop);
	worker_finish(srv_w);
	return NULL;
}

int
srv_workers_start(void)
{
	for (unsigned k = 1; k < srv_g.nw; k++) {
		struct srv_worker *w = srv_g.w[k];
		int err = pthread_create(&w->th, NULL, worker_main, w);
		if (err != 0) {
			errno = err;
			return -1;
		}
		w->started = true;
	}
	return 0;
}

void
srv_workers_wake(void)
{
	uint64_t one = 1;

	for (unsigned k = 0; k < srv_g.nw; k++) {
		ssize_t n = write(srv_g.w[k]->wakefd, &one, sizeof(one));
		(void)n;
	}
}

void
srv_workers_stop(void)
{
	uint64_t one = 1;

	atomic_store(&srv_g.stop, true);
	for (unsigned k = 0; k < srv_g.nw; k++) {
		ssize_t n = write(srv_g.w[k]->wakefd, &one, sizeof(one));
		(void)n;
	}
}

void
srv_workers_join(void)
{
	if (srv_g.nw == 0)
		return;
	srv_workers_stop();
	for (unsigned k = 1; k < srv_g.nw; k++) {
		struct srv_worker *w = srv_g.w[k];
		if (w->started) {
			pthread_join(w->th, NULL);
			w->started = false;
		} else {
			/* Never ran (start-up failed): only its listeners. */
			srv_w = w;
			worker_finish(w);
		}
	}
	/* The main thread's own worker. */
	srv_w = srv_g.w[0];
	worker_finish(srv_w);
}

void
srv_workers_free(void)
{
	for (unsigned k = 0; k < srv_g.nw; k++) {
		struct srv_worker *w = srv_g.w[k];
		if (w->wakefd >= 0)
			close(w->wakefd);
		srv_loop_fini(&w->loop);
		srv_rules_put(w->rules);
		free(w->ls);
		free(w);
	}
	free(srv_g.w);
	srv_g.w = NULL;
	srv_g.nw = 0;
}
