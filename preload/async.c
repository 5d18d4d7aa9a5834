/* async.c: non-blocking connects through the chain (async_).
 *
 * A connect() on a non-blocking socket routed through the chain returns
 * EINPROGRESS at once; the chain is built by one engine thread per
 * process, started on the first such connect (and again in a forked child
 * that makes one).  The engine owns an epoll set of the private dups the
 * chains run on, steps each chain when its socket is ready, and enforces
 * every deadline itself: its epoll_wait sleeps until the nearest one, so a
 * program that waits with no timeout still sees the failure.
 *
 * Until the chain is up the program must see a TCP connect in progress,
 * while its own socket is already connected to the first hop.  So:
 *   - sock.c flags the fd (SF_ASYNC); read, write, send and recv return
 *     EAGAIN on it, getpeername ENOTCONN, connect EALREADY;
 *   - poll, ppoll, select and pselect (hooks_wait.c) leave such fds out
 *     of what the kernel waits on and wait on the calling thread's eventfd
 *     instead, which the engine signals on every completion;
 *   - the fd's epoll registrations (those made before connect, read from
 *     /proc/self/fdinfo, and those made while in progress, through the
 *     epoll_ctl hook) are kept with their events masked; on completion
 *     each is put back with EPOLL_CTL_MOD, which re-evaluates readiness
 *     and wakes a waiter, edge-triggered and oneshot ones too.
 * A failure leaves the socket disconnected (POLLOUT|POLLHUP, as a failed
 * connect does) and SO_ERROR answers the hop's errno once.
 *
 * One mutex covers the jobs, their registrations and the waiters; hooks
 * take it only for an fd with a handshake in the engine, and programs with
 * none pay one atomic load per wait call.
 */
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib.h"

#define JOB_BUCKETS 256
#define JOB_REGS 8
#define FAILED_KEEP 64   /* unread failures kept before stale ones are pruned */

enum job_state { JOB_RUNNING, JOB_FAILED };

struct job {
	struct job *next, *prev;    /* all jobs */
	struct job *hnext;          /* the fd's bucket */
	int fd, tracked, state, err;
	bool live;                  /* handed to the engine */
	int regfd;                  /* what the engine's epoll watches */
	uint32_t regev;
	ino_t ino;
	dev_t dev;
	const struct cfg *cfg;
	struct dest d;
	struct sockaddr_in6 sa;
	socklen_t salen;
	struct chain *c;
	unsigned nregs;
	struct epreg regs[JOB_REGS]; /* the program's registrations, masked */
};

unsigned async_running;          /* jobs in the engine: the hooks' first check */
unsigned async_failed;           /* failures SO_ERROR has not answered yet */
static bool epoll_seen;          /* the program made an epoll set */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct job *jobs;
static struct job *buckets[JOB_BUCKETS];
static struct async_waiter *waiters;
static int ep = -1, wake = -1;
static bool started;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static __thread int tls_efd = -1;
static __thread ino_t tls_ino;
static pthread_key_t efd_key;
static bool efd_key_ok;

/* ---- the raw calls: the library's own hooks must not see these ---- */

static int
raw_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };

	return (int)real_syscall(SYS_epoll_ctl, epfd, op, fd, (long)&ev, 0, 0);
}

static void
kick_fd(int fd)
{
	uint64_t one = 1;
	int e = errno;

	if (fd >= 0)
		(void)real_syscall(SYS_write, fd, (long)&one, sizeof(one), 0, 0, 0);
	errno = e;
}

static void
drain_fd(int fd)
{
	uint64_t v;
	int e = errno;

	(void)real_syscall(SYS_read, fd, (long)&v, sizeof(v), 0, 0, 0);
	errno = e;
}

/* ---- the job table (under mu) ---- */

static struct job **
bucket(int fd)
{
	return &buckets[(unsigned)fd % JOB_BUCKETS];
}

static struct job *
job_find(int fd)
{
	for (struct job *j = *bucket(fd); j != NULL; j = j->hnext)
		if (j->fd == fd)
			return j;
	return NULL;
}

static void
job_link(struct job *j)
{
	j->hnext = *bucket(j->fd);
	*bucket(j->fd) = j;
	j->next = jobs;
	j->prev = NULL;
	if (jobs != NULL)
		jobs->prev = j;
	jobs = j;
}

static void
job_free(struct job *j)
{
	struct job **pp = bucket(j->fd);

	while (*pp != NULL && *pp != j)
		pp = &(*pp)->hnext;
	if (*pp == j)
		*pp = j->hnext;
	if (j->prev != NULL)
		j->prev->next = j->next;
	else
		jobs = j->next;
	if (j->next != NULL)
		j->next->prev = j->prev;
	if (j->state == JOB_FAILED)
		__atomic_fetch_sub(&async_failed, 1, __ATOMIC_RELEASE);
	dest_release(&j->d);
	free(j);
}

/* A failure nobody asked about, on an fd that names another file now. */
static bool
job_stale(const struct job *j)
{
	struct stat st;
	int e = errno;
	bool stale = fstat(j->fd, &st) != 0 || st.st_ino != j->ino || st.st_dev != j->dev;

	errno = e;
	return stale;
}

static void
prune_failed(void)
{
	struct job *j, *next;

	if (__atomic_load_n(&async_failed, __ATOMIC_ACQUIRE) < FAILED_KEEP)
		return;
	for (j = jobs; j != NULL; j = next) {
		next = j->next;
		if (j->state == JOB_FAILED && job_stale(j))
			job_free(j);
	}
}

/* ---- waiters: threads in poll/select with an fd in progress ---- */

static void
wake_waiters(void)
{
	for (struct async_waiter *w = waiters; w != NULL; w = w->next)
		kick_fd(w->efd);
}

static void
efd_close(void *v)
{
	int fd = (int)(intptr_t)v - 1;

	if (fd >= 0)
		(void)real_close(fd);
}

/* The calling thread's eventfd, made on first use and closed when the
 * thread ends.  A program that closed it behind our back (it is not
 * guarded: there is one per thread) gets a new one. */
static int
thread_efd(void)
{
	struct stat st;

	if (tls_efd >= 0 && fstat(tls_efd, &st) == 0 && st.st_ino == tls_ino)
		return tls_efd;
	tls_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (tls_efd < 0)
		return -1;
	if (fstat(tls_efd, &st) == 0)
		tls_ino = st.st_ino;
	if (efd_key_ok)
		(void)pthread_setspecific(efd_key, (void *)(intptr_t)(tls_efd + 1));
	return tls_efd;
}

int
async_waiter_add(struct async_waiter *w)
{
	int e = errno;

	w->efd = thread_efd();
	errno = e;
	if (w->efd < 0)
		return -1;
	pthread_mutex_lock(&mu);
	w->prev = NULL;
	w->next = waiters;
	if (waiters != NULL)
		waiters->prev = w;
	waiters = w;
	pthread_mutex_unlock(&mu);
	return 0;
}

void
async_waiter_del(struct async_waiter *w)
{
	if (w->efd < 0)
		return;
	pthread_mutex_lock(&mu);
	if (w->prev != NULL)
		w->prev->next = w->next;
	else if (waiters == w)
		waiters = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	pthread_mutex_unlock(&mu);
	drain_fd(w->efd);
}

/* ---- the program's epoll registrations of a socket in progress ---- */

/* What a registration waits for while the chain is built: nothing but the
 * error and hang-up the kernel always reports. */
static uint32_t
masked(uint32_t events)
{
	return events & (EPOLLET | EPOLLWAKEUP);
}

static void
reg_note(struct job *j, int epfd, uint32_t events, uint64_t data)
{
	unsigned i;

	for (i = 0; i < j->nregs && j->regs[i].epfd != epfd; i++)
		;
	if (i == j->nregs) {
		if (j->nregs == JOB_REGS)
			return;
		j->nregs++;
	}
	j->regs[i].epfd = epfd;
	j->regs[i].events = events;
	j->regs[i].data = data;
}

static void
reg_drop(struct job *j, int epfd)
{
	for (unsigned i = 0; i < j->nregs; i++)
		if (j->regs[i].epfd == epfd) {
			j->regs[i] = j->regs[--j->nregs];
			return;
		}
}

/* Registrations made before connect(), as nginx makes them. */
static void
mask_existing(struct job *j)
{
	struct epreg found[EPREG_MAX];
	unsigned n;

	if (!__atomic_load_n(&epoll_seen, __ATOMIC_ACQUIRE))
		return;
	n = swap_find_registrations(j->fd, j->ino, found);
	for (unsigned i = 0; i < n; i++) {
		if (found[i].events & EPOLLEXCLUSIVE)
			continue; /* cannot be modified: left as it is */
		if (raw_epoll_ctl(found[i].epfd, EPOLL_CTL_MOD, j->fd, masked(found[i].events),
		    found[i].data) == 0)
			reg_note(j, found[i].epfd, found[i].events, found[i].data);
	}
}

/* Puts every registration back as the program made it. */
static void
restore_regs(struct job *j)
{
	for (unsigned i = 0; i < j->nregs; i++)
		(void)raw_epoll_ctl(j->regs[i].epfd, EPOLL_CTL_MOD, j->fd, j->regs[i].events,
		    j->regs[i].data);
	j->nregs = 0;
}

int
async_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	struct job *j;
	int rc;

	pthread_mutex_lock(&mu);
	j = job_find(fd);
	if (j == NULL || j->state != JOB_RUNNING || !sock_async(fd) ||
	    (ev != NULL && (ev->events & EPOLLEXCLUSIVE))) {
		pthread_mutex_unlock(&mu);
		return (int)real_syscall(SYS_epoll_ctl, epfd, op, fd, (long)ev, 0, 0);
	}
	if (op == EPOLL_CTL_DEL || ev == NULL) {
		rc = (int)real_syscall(SYS_epoll_ctl, epfd, op, fd, (long)ev, 0, 0);
		if (rc == 0)
			reg_drop(j, epfd);
	} else {
		rc = raw_epoll_ctl(epfd, op, fd, masked(ev->events), ev->data.u64);
		if (rc == 0)
			reg_note(j, epfd, ev->events, ev->data.u64);
	}
	pthread_mutex_unlock(&mu);
	return rc;
}

void
async_note_epoll(void)
{
	__atomic_store_n(&epoll_seen, true, __ATOMIC_RELEASE);
}

/* ---- completion (under mu) ---- */

static void
unwatch(struct job *j)
{
	if (j->regfd >= 0)
		(void)raw_epoll_ctl(ep, EPOLL_CTL_DEL, j->regfd, 0, 0);
	j->regfd = -1;
}

/* The chain ended: the record goes in (or the failure is kept for
 * SO_ERROR), then the program's registrations and waiters wake. */
static void
finish(struct job *j, bool ok)
{
	bool kept = false;

	unwatch(j);
	if (!ok) {
		/* Before the socket is disconnected: an epoll registration
		 * reports the hang-up even while masked, and SO_ERROR must
		 * answer from the first moment the program can look. */
		j->err = chain_failure(j->c)->err;
		j->state = JOB_FAILED;
		__atomic_fetch_add(&async_failed, 1, __ATOMIC_RELEASE);
		sock_set_failed(j->fd, true);
	}
	(void)sfy_connect_end(j->fd, j->tracked, j->cfg, &j->d, (struct sockaddr *)&j->sa,
	    j->salen, j->c, ok, &kept);
	j->c = NULL;
	if (kept)
		restore_regs(j);
	if (j->live)
		__atomic_fetch_sub(&async_running, 1, __ATOMIC_RELEASE);
	j->live = false;
	wake_waiters();
	if (ok || !kept)
		job_free(j);
}

/* The program closed the fd: the handshake stops, nothing is reported. */
static void
cancel(struct job *j)
{
	unwatch(j);
	chain_free(j->c);
	j->c = NULL;
	(void)sock_end(j->fd, j->tracked, NULL, NULL, NULL);
	if (j->live)
		__atomic_fetch_sub(&async_running, 1, __ATOMIC_RELEASE);
	j->live = false;
	wake_waiters();
	job_free(j);
}

static void
settle(struct job *j, int r)
{
	uint32_t want;
	int fd;

	if (r == HS_DONE || r == HS_FAILED) {
		finish(j, r == HS_DONE);
		return;
	}
	want = r == HS_WANT_READ ? EPOLLIN : EPOLLOUT;
	fd = chain_fd(j->c);
	if (fd == j->regfd && want == j->regev)
		return;
	if (fd != j->regfd) {
		unwatch(j);
		if (raw_epoll_ctl(ep, EPOLL_CTL_ADD, fd, want, (uint64_t)(uintptr_t)j) != 0) {
			/* Nothing to wait with: the deadline ends it. */
			j->regfd = -1;
			return;
		}
	} else if (raw_epoll_ctl(ep, EPOLL_CTL_MOD, fd, want, (uint64_t)(uintptr_t)j) != 0) {
		return;
	}
	j->regfd = fd;
	j->regev = want;
}

static void
expire(struct job *j)
{
	int r = chain_expire(j->c);

	if (r == HS_DONE)
		r = chain_step(j->c);
	settle(j, r);
}

/* Closed fds and passed deadlines; returns the nearest deadline left. */
static int64_t
sweep(void)
{
	int64_t now = io_now_ms(), next = INT64_MAX;
	struct job *j, *nx;

	for (j = jobs; j != NULL; j = nx) {
		nx = j->next;
		if (j->state != JOB_RUNNING || !j->live)
			continue;
		if (sock_abandoned(j->fd)) {
			cancel(j);
			continue;
		}
		if (chain_deadline(j->c) <= now)
			expire(j); /* may end and free j; nx stays */
	}
	for (j = jobs; j != NULL; j = j->next)
		if (j->state == JOB_RUNNING && j->live && chain_deadline(j->c) < next)
			next = chain_deadline(j->c);
	return next;
}

static void *
engine_main(void *arg)
{
	struct epoll_event evs[64];
	int64_t next;

	(void)arg;
	pthread_mutex_lock(&mu);
	next = sweep();
	pthread_mutex_unlock(&mu);
	for (;;) {
		int64_t left = next == INT64_MAX ? -1 : next - io_now_ms();
		int timeout = left < 0 ? (next == INT64_MAX ? -1 : 0) :
		    left > 60000 ? 60000 : (int)left + 1;
		int n = epoll_wait(ep, evs, 64, timeout);

		pthread_mutex_lock(&mu);
		for (int i = 0; i < n; i++) {
			struct job *j = (struct job *)(uintptr_t)evs[i].data.u64;

			if (j == NULL) {
				drain_fd(wake);
				continue;
			}
			/* At most one event per job in a batch, and only the
			 * engine ends a running job: j is still there. */
			if (j->state == JOB_RUNNING && j->live)
				settle(j, chain_step(j->c));
		}
		next = sweep();
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

/* ---- start-up, and fork ---- */

static void
atfork_prepare(void)
{
	pthread_mutex_lock(&mu);
}

static void
atfork_parent(void)
{
	pthread_mutex_unlock(&mu);
}

/* A new fd at the number old had (keeps the internal fd guard's slot). */
static void
renew_at(int old, int fresh)
{
	if (fresh < 0)
		return;
	if (old >= 0 && real_dup3(fresh, old, O_CLOEXEC) >= 0)
		(void)real_close(fresh);
	else
		(void)real_close(fresh);
}

/* The child has no engine thread: its jobs are its parent's (the parent's
 * engine goes on driving those sockets), so it forgets them, and gets
 * engine fds of its own when it needs them. */
static void
atfork_child(void)
{
	struct job *j, *nx;

	for (j = jobs; j != NULL; j = nx) {
		nx = j->next;
		sock_set_async(j->fd, false);
		free(j); /* the chain's memory is the parent's business: leaked */
	}
	jobs = NULL;
	memset(buckets, 0, sizeof(buckets));
	waiters = NULL;
	__atomic_store_n(&async_running, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&async_failed, 0, __ATOMIC_RELEASE);
	started = false;
	if (tls_efd >= 0)
		renew_at(tls_efd, eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
	pthread_mutex_init(&mu, NULL);
}

static void
atfork_setup(void)
{
	efd_key_ok = pthread_key_create(&efd_key, efd_close) == 0;
	(void)pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

/* Under mu.  The engine thread runs with every signal blocked: the
 * program's handlers run on its own threads. */
static bool
engine_start(void)
{
	sigset_t all, old;
	pthread_attr_t at;
	pthread_t t;
	int fresh, rc;

	if (started)
		return true;
	fresh = (int)real_syscall(SYS_epoll_create1, EPOLL_CLOEXEC, 0, 0, 0, 0, 0);
	if (fresh < 0)
		return false;
	if (ep >= 0)
		renew_at(ep, fresh); /* a forked child: a set of its own */
	else {
		ep = fresh;
		sock_internal_add(ep);
	}
	fresh = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fresh < 0)
		return false;
	if (wake >= 0)
		renew_at(wake, fresh);
	else {
		__atomic_store_n(&wake, fresh, __ATOMIC_RELEASE);
		sock_internal_add(wake);
	}
	if (raw_epoll_ctl(ep, EPOLL_CTL_ADD, wake, EPOLLIN, 0) != 0)
		return false;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&at, 256 * 1024);
	rc = pthread_create(&t, &at, engine_main, NULL);
	pthread_attr_destroy(&at);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return false;
	started = true;
	return true;
}

/* ---- the hooks' entry points ---- */

int
async_connect(int fd, int tracked, const struct cfg *cfg, struct dest *d,
    const struct sockaddr *sa, socklen_t len, struct chain *c)
{
	struct stat st;
	struct job *j;
	bool ok;
	int r;

	pthread_once(&atfork_once, atfork_setup);
	j = calloc(1, sizeof(*j));
	pthread_mutex_lock(&mu);
	ok = j != NULL && engine_start();
	pthread_mutex_unlock(&mu);
	if (!ok || fstat(fd, &st) != 0) {
		/* No engine: the handshake runs here, as for a blocking
		 * socket. */
		free(j);
		return sfy_connect_end(fd, tracked, cfg, d, sa, len, c, chain_run(c) == 0, NULL);
	}
	j->fd = fd;
	j->tracked = tracked;
	j->state = JOB_RUNNING;
	j->regfd = -1;
	j->ino = st.st_ino;
	j->dev = st.st_dev;
	j->cfg = cfg;
	j->d = *d;
	d->pin = NULL; /* the job holds it now */
	j->salen = len < sizeof(j->sa) ? len : sizeof(j->sa);
	memcpy(&j->sa, sa, j->salen);
	j->c = c;

	pthread_mutex_lock(&mu);
	prune_failed();
	job_link(j);
	mask_existing(j);
	sock_set_async(fd, true);
	pthread_mutex_unlock(&mu);

	/* The first step (the TCP connect to the first hop) runs here, out of
	 * the lock: resolving a hop's name may take a while. */
	r = chain_step(c);

	pthread_mutex_lock(&mu);
	if (r == HS_DONE) {
		finish(j, true);
		pthread_mutex_unlock(&mu);
		return 0;
	}
	/* A failure already is reported like a later one: EINPROGRESS now,
	 * then the event and SO_ERROR. */
	j->live = true;
	__atomic_fetch_add(&async_running, 1, __ATOMIC_RELEASE);
	settle(j, r);
	pthread_mutex_unlock(&mu);
	kick_fd(wake); /* the engine's next deadline may be this one's */
	errno = EINPROGRESS;
	return -1;
}

bool
async_take_error(int fd, int *err)
{
	struct job *j;
	bool found = false;

	if (!async_failed_fd(fd))
		return false;
	pthread_mutex_lock(&mu);
	j = job_find(fd);
	if (j != NULL && j->state == JOB_FAILED) {
		if (!job_stale(j)) {
			*err = j->err;
			found = true;
		}
		job_free(j);
	}
	sock_set_failed(fd, false);
	pthread_mutex_unlock(&mu);
	return found;
}

void
async_kick(void)
{
	if (__atomic_load_n(&async_running, __ATOMIC_ACQUIRE) != 0)
		kick_fd(__atomic_load_n(&wake, __ATOMIC_ACQUIRE));
}
