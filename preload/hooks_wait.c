/* hooks_wait.c: the wait calls, for sockets whose connect runs in the
 * engine thread (async.c).
 *
 * Such a socket is connected to the first hop long before the chain is
 * up, so the kernel would call it writable too early.  poll, ppoll,
 * select and pselect leave it out of what the kernel waits on and wait on
 * the thread's eventfd as well, which the engine signals when a handshake
 * ends; then they look again.  epoll_ctl keeps a registration of such a
 * socket masked until the chain is up (async.c puts it back).  With no
 * handshake in the engine every hook is one atomic load and the real call.
 */
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/syscall.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib.h"

/* glibc declares poll's array write-only; these hooks read it, as the
 * kernel does. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#define POLL_STACK 16
#define SLICE_NS 10000000 /* 10 ms */

typedef int ppoll_fn(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *);
typedef int poll_fn(struct pollfd *, nfds_t, int);
typedef int select_fn(int, fd_set *, fd_set *, fd_set *, struct timeval *);
typedef int pselect_fn(int, fd_set *, fd_set *, fd_set *, const struct timespec *,
    const sigset_t *);
typedef int epoll_ctl_fn(int, int, int, struct epoll_event *);
typedef int epoll_create_fn(int);

static void *slot_ppoll, *slot_poll, *slot_select, *slot_pselect, *slot_epoll_ctl,
    *slot_epoll_create, *slot_epoll_create1;

static int
real_ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask)
{
	ppoll_fn *f = (ppoll_fn *)real_lookup(&slot_ppoll, "ppoll");

	if (f == NULL)
		return (int)real_syscall(SYS_ppoll, (long)fds, (long)n, (long)ts, (long)mask,
		    _NSIG / 8, 0);
	return f(fds, n, ts, mask);
}

static int64_t
now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* What is left until deadline (ns, -1: none) as a timespec for ppoll;
 * NULL for no deadline. */
static const struct timespec *
left(int64_t deadline, struct timespec *ts)
{
	int64_t l;

	if (deadline < 0)
		return NULL;
	l = deadline - now_ns();
	if (l < 0)
		l = 0;
	ts->tv_sec = (time_t)(l / 1000000000);
	ts->tv_nsec = (long)(l % 1000000000);
	return ts;
}

/* ppoll, with the fds in progress left out until their chain is up. */
static int
wait_fds(struct pollfd *fds, nfds_t n, int64_t deadline, const sigset_t *mask)
{
	struct pollfd small[POLL_STACK + 1], *cp = small;
	struct async_waiter w;
	struct timespec ts;
	int r;

	if (n + 1 > POLL_STACK + 1) {
		cp = malloc((n + 1) * sizeof(*cp));
		if (cp == NULL)
			return real_ppoll(fds, n, left(deadline, &ts), mask);
	}
	for (;;) {
		nfds_t busy = 0;
		int64_t slice;
		int e, count = 0;
		bool fired;

		if (async_waiter_add(&w) != 0)
			w.efd = -1;
		for (nfds_t i = 0; i < n; i++) {
			cp[i] = fds[i];
			if (fds[i].fd >= 0 && async_busy(fds[i].fd)) {
				cp[i].fd = -1; /* ignored by the kernel */
				busy++;
			}
		}
		if (busy == 0) {
			async_waiter_del(&w);
			r = real_ppoll(fds, n, left(deadline, &ts), mask);
			break;
		}
		cp[n].fd = w.efd;
		cp[n].events = POLLIN;
		cp[n].revents = 0;
		slice = deadline;
		if (w.efd < 0 && (deadline < 0 || deadline > now_ns() + SLICE_NS))
			slice = now_ns() + SLICE_NS; /* no eventfd: look again soon */
		r = real_ppoll(cp, n + 1, left(slice, &ts), mask);
		e = errno;
		async_waiter_del(&w);
		if (r < 0) {
			errno = e;
			break;
		}
		for (nfds_t i = 0; i < n; i++) {
			fds[i].revents = cp[i].fd == fds[i].fd ? cp[i].revents : 0;
			if (fds[i].revents != 0)
				count++;
		}
		fired = cp[n].revents != 0 || slice != deadline;
		r = count;
		if (count > 0 || !fired || (deadline >= 0 && now_ns() >= deadline))
			break;
	}
	if (cp != small)
		free(cp);
	return r;
}

static bool
any_busy(const struct pollfd *fds, nfds_t n)
{
	for (nfds_t i = 0; i < n; i++)
		if (fds[i].fd >= 0 && async_busy(fds[i].fd))
			return true;
	return false;
}

static int
running(void)
{
	return __atomic_load_n(&async_running, __ATOMIC_ACQUIRE) != 0;
}

SFY_EXPORT int
poll(struct pollfd *fds, nfds_t n, int timeout)
{
	if (!running() || !any_busy(fds, n)) {
		poll_fn *f = (poll_fn *)real_lookup(&slot_poll, "poll");

		if (f != NULL)
			return f(fds, n, timeout);
	}
	return wait_fds(fds, n, timeout < 0 ? -1 : now_ns() + (int64_t)timeout * 1000000,
	    NULL);
}

SFY_EXPORT int
__poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen)
{
	(void)fdslen;
	return poll(fds, n, timeout);
}

SFY_EXPORT int
ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask)
{
	if (!running() || !any_busy(fds, n))
		return real_ppoll(fds, n, ts, mask);
	return wait_fds(fds, n, ts == NULL ? -1 :
	    now_ns() + (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec, mask);
}

SFY_EXPORT int
__ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask,
    size_t fdslen)
{
	(void)fdslen;
	return ppoll(fds, n, ts, mask);
}

/* select and pselect, as a poll over the same fds when one of them is in
 * progress. */
static int
select_fds(int nfds, fd_set *r, fd_set *w, fd_set *x, int64_t deadline,
    const sigset_t *mask)
{
	struct pollfd *p;
	nfds_t n = 0;
	int rc, count = 0;

	if (nfds > FD_SETSIZE)
		nfds = FD_SETSIZE;
	p = calloc(nfds > 0 ? (size_t)nfds : 1, sizeof(*p));
	if (p == NULL) {
		errno = ENOMEM;
		return -1;
	}
	for (int fd = 0; fd < nfds; fd++) {
		short ev = 0;

		if (r != NULL && FD_ISSET(fd, r))
			ev |= POLLIN;
		if (w != NULL && FD_ISSET(fd, w))
			ev |= POLLOUT;
		if (x != NULL && FD_ISSET(fd, x))
			ev |= POLLPRI;
		if (ev != 0) {
			p[n].fd = fd;
			p[n].events = ev;
			n++;
		}
	}
	rc = wait_fds(p, n, deadline, mask);
	if (rc < 0)
		goto out;
	for (nfds_t i = 0; i < n; i++)
		if (p[i].revents & POLLNVAL) {
			errno = EBADF;
			rc = -1;
			goto out;
		}
	if (r != NULL)
		FD_ZERO(r);
	if (w != NULL)
		FD_ZERO(w);
	if (x != NULL)
		FD_ZERO(x);
	for (nfds_t i = 0; i < n; i++) {
		short re = p[i].revents;

		if ((p[i].events & POLLIN) && (re & (POLLIN | POLLHUP | POLLERR))) {
			FD_SET(p[i].fd, r);
			count++;
		}
		if ((p[i].events & POLLOUT) && (re & (POLLOUT | POLLERR))) {
			FD_SET(p[i].fd, w);
			count++;
		}
		if ((p[i].events & POLLPRI) && (re & POLLPRI)) {
			FD_SET(p[i].fd, x);
			count++;
		}
	}
	rc = count;
out:
	free(p);
	return rc;
}

static bool
set_busy(int nfds, const fd_set *r, const fd_set *w, const fd_set *x)
{
	if (nfds > FD_SETSIZE)
		nfds = FD_SETSIZE;
	for (int fd = 0; fd < nfds; fd++)
		if (((r != NULL && FD_ISSET(fd, r)) || (w != NULL && FD_ISSET(fd, w)) ||
		    (x != NULL && FD_ISSET(fd, x))) && async_busy(fd))
			return true;
	return false;
}

SFY_EXPORT int
select(int nfds, fd_set *r, fd_set *w, fd_set *x, struct timeval *tv)
{
	int64_t deadline;
	int rc;

	if (!running() || !set_busy(nfds, r, w, x)) {
		select_fn *f = (select_fn *)real_lookup(&slot_select, "select");

		if (f != NULL)
			return f(nfds, r, w, x, tv);
	}
	deadline = tv == NULL ? -1 :
	    now_ns() + (int64_t)tv->tv_sec * 1000000000 + (int64_t)tv->tv_usec * 1000;
	rc = select_fds(nfds, r, w, x, deadline, NULL);
	if (tv != NULL) {
		/* As Linux does: the time that was left. */
		int64_t l = deadline - now_ns();

		if (l < 0)
			l = 0;
		tv->tv_sec = (time_t)(l / 1000000000);
		tv->tv_usec = (suseconds_t)(l % 1000000000 / 1000);
	}
	return rc;
}

SFY_EXPORT int
pselect(int nfds, fd_set *r, fd_set *w, fd_set *x, const struct timespec *ts,
    const sigset_t *mask)
{
	if (!running() || !set_busy(nfds, r, w, x)) {
		pselect_fn *f = (pselect_fn *)real_lookup(&slot_pselect, "pselect");

		if (f != NULL)
			return f(nfds, r, w, x, ts, mask);
	}
	return select_fds(nfds, r, w, x, ts == NULL ? -1 :
	    now_ns() + (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec, mask);
}

SFY_EXPORT int
epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	epoll_ctl_fn *f;

	if (async_busy(fd))
		return async_epoll_ctl(epfd, op, fd, ev);
	f = (epoll_ctl_fn *)real_lookup(&slot_epoll_ctl, "epoll_ctl");
	if (f == NULL)
		return (int)real_syscall(SYS_epoll_ctl, epfd, op, fd, (long)ev, 0, 0);
	return f(epfd, op, fd, ev);
}

SFY_EXPORT int
epoll_create(int size)
{
	epoll_create_fn *f = (epoll_create_fn *)real_lookup(&slot_epoll_create, "epoll_create");
	int r = f != NULL ? f(size) : (int)real_syscall(SYS_epoll_create1, 0, 0, 0, 0, 0, 0);

	if (r >= 0)
		async_note_epoll();
	return r;
}

SFY_EXPORT int
epoll_create1(int flags)
{
	epoll_create_fn *f = (epoll_create_fn *)real_lookup(&slot_epoll_create1,
	    "epoll_create1");
	int r = f != NULL ? f(flags) : (int)real_syscall(SYS_epoll_create1, flags, 0, 0, 0, 0,
	    0);

	if (r >= 0)
		async_note_epoll();
	return r;
}
