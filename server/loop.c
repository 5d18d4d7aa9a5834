/* loop.c: the epoll event loop and its fixed-duration timer lists. */
#include <sys/epoll.h>

#include <errno.h>
#include <unistd.h>

#include "srv.h"

#define LOOP_BATCH 256

int
srv_loop_init(struct srv_loop *l)
{
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		return -1;
	l->now = srv_clock_ms();
	l->ntl = 0;
	l->stop = false;
	l->busy = false;
	l->after = NULL;
	l->after_arg = NULL;
	return 0;
}

void
srv_loop_fini(struct srv_loop *l)
{
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = -1;
}

int
srv_loop_add(struct srv_loop *l, int fd, uint32_t events, struct srv_ev *ev)
{
	struct epoll_event e = { .events = events, .data.ptr = ev };

	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &e);
}

int
srv_loop_mod(struct srv_loop *l, int fd, uint32_t events, struct srv_ev *ev)
{
	struct epoll_event e = { .events = events, .data.ptr = ev };

	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &e);
}

void
srv_tlist_init(struct srv_loop *l, struct srv_tlist *tl, uint64_t dur_ms,
    void (*expire)(struct srv_tnode *n))
{
	tl->head.prev = tl->head.next = &tl->head;
	tl->head.deadline = 0;
	tl->dur_ms = dur_ms;
	tl->expire = expire;
	if (l->ntl < (int)(sizeof(l->tl) / sizeof(l->tl[0])))
		l->tl[l->ntl++] = tl;
}

void
srv_timer_disarm(struct srv_tnode *n)
{
	if (n->next == NULL)
		return;
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = NULL;
}

void
srv_timer_arm(struct srv_tlist *tl, struct srv_tnode *n, uint64_t now)
{
	srv_timer_arm_at(tl, n, now + tl->dur_ms);
}

void
srv_timer_arm_at(struct srv_tlist *tl, struct srv_tnode *n, uint64_t deadline)
{
	struct srv_tnode *after;

	srv_timer_disarm(n);
	after = tl->head.prev;
	n->deadline = deadline;
	/* Usually the new deadline is the latest; walk back when it is not. */
	while (after != &tl->head && after->deadline > deadline)
		after = after->prev;
	n->prev = after;
	n->next = after->next;
	after->next->prev = n;
	after->next = n;
}

/* Fires what is due and returns the wait until the next deadline (ms), or
 * -1 when no timer is armed. */
static int
loop_timers(struct srv_loop *l)
{
	long long wait = -1;

	for (int i = 0; i < l->ntl; i++) {
		struct srv_tlist *tl = l->tl[i];
		struct srv_tnode *n;

		while ((n = tl->head.next) != &tl->head && n->deadline <= l->now) {
			srv_timer_disarm(n);
			tl->expire(n);
		}
		if (n != &tl->head) {
			long long d = (long long)(n->deadline - l->now);
			if (wait < 0 || d < wait)
				wait = d;
		}
	}
	return wait > 60000 ? 60000 : (int)wait;
}

int
srv_loop_turn(struct srv_loop *l, int max_wait)
{
	struct epoll_event evs[LOOP_BATCH];
	int wait = loop_timers(l);
	int n;

	if (l->after != NULL)
		l->after(l->after_arg);
	if (l->stop)
		return 0;
	if (l->busy)
		wait = 0;
	if (max_wait >= 0 && (wait < 0 || wait > max_wait))
		wait = max_wait;
	n = epoll_wait(l->epfd, evs, LOOP_BATCH, wait);
	l->now = srv_clock_ms();
	if (n < 0) {
		if (errno == EINTR)
			return 0;
		srv_warn("epoll_wait: %m");
		return -1;
	}
	for (int i = 0; i < n; i++) {
		struct srv_ev *ev = evs[i].data.ptr;
		ev->fn(ev, evs[i].events);
	}
	if (l->after != NULL)
		l->after(l->after_arg);
	return 0;
}

void
srv_loop_run(struct srv_loop *l)
{
	while (!l->stop && srv_loop_turn(l, -1) == 0)
		;
}
