/* sock.c: one record per socket the library knows (sock_).
 *
 * A flat table indexed by fd, in chunks of SOCK_CHUNK entries allocated on
 * first use and never freed or moved, so a reader needs no lock: it loads
 * a chunk pointer and the entry's flag byte.  The flags say whether there
 * is a record, whether the fd is one of the library's own (internal), and
 * whether a handshake is under way on it.  A record is kept as words under
 * a sequence lock: a writer makes seq odd, stores, makes it even again; a
 * reader copies and retries if seq moved.  Every access is atomic, so a
 * reader never blocks or sees a torn record, close() stays async-signal-
 * safe (it takes no lock), and nothing can be left locked across fork().
 *
 * The recorded socket's inode guards against a record that outlived its fd
 * (closed where we cannot see it, such as libc closing a FILE's fd).  A
 * record whose peer is a stand-in holds a pin on its name, so the name map
 * never forgets a name an open socket uses; letting go of a pin takes no
 * lock either.
 *
 * Only the process that owns the state changes records (proc.c): a vfork
 * child closing the parent's fd numbers in its own fd table leaves the
 * parent's records alone.  Internal fds are guarded in every process.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dnsmap.h"
#include "lib.h"

#define SOCK_CHUNK 1024
#define SOCK_CHUNKS 4096 /* 4M fds: beyond that, fds are simply not tracked */
#define SOCK_SPINS 1000
/* The configuration's memfd, the engine's fds, and the control
 * connections of UDP associations (one per hop per associated socket):
 * some hundreds of UDP sockets of the chain at once.  close_range keeps
 * an array of this many on its stack (2 KiB). */
#define INTERNAL_MAX 512

enum {
	SF_REC = 1,          /* a record is there */
	SF_INTERNAL = 2,     /* the library's own fd */
	SF_BUSY = 4,         /* a handshake is under way */
	SF_ABANDONED = 8,    /* ... and the program closed the fd meanwhile */
	SF_INSTALLING = 16,  /* ... which is being put in place */
	SF_UDP = 32,         /* the record is a UDP socket's (SOCK_KIND_UDP) */
	SF_ASYNC = 64,       /* ... driven by the engine thread (async.c) */
	SF_FAILED = 128,     /* that handshake failed; SO_ERROR not read yet */
};

#define REC_WORDS ((sizeof(struct sock_rec) + 7) / 8)

union rec_words {
	struct sock_rec r;
	uint64_t w[REC_WORDS];
};

struct sock_entry {
	unsigned char flags;
	unsigned seq;
	uint64_t w[REC_WORDS];
};

static struct sock_entry *chunks[SOCK_CHUNKS];
/* Empty slots hold -1; filled on first use (a zeroed array would name fd 0). */
static int internal_fds[INTERNAL_MAX];
static int internal_ready;

static void
internal_init(void)
{
	int zero = 0;

	if (__atomic_load_n(&internal_ready, __ATOMIC_ACQUIRE) == 2)
		return;
	if (__atomic_compare_exchange_n(&internal_ready, &zero, 1, false, __ATOMIC_ACQ_REL,
	    __ATOMIC_ACQUIRE)) {
		for (unsigned i = 0; i < INTERNAL_MAX; i++)
			__atomic_store_n(&internal_fds[i], -1, __ATOMIC_RELAXED);
		__atomic_store_n(&internal_ready, 2, __ATOMIC_RELEASE);
		return;
	}
	while (__atomic_load_n(&internal_ready, __ATOMIC_ACQUIRE) != 2)
		sched_yield();
}

static void
rec_store(struct sock_entry *e, const union rec_words *u)
{
	unsigned s = __atomic_load_n(&e->seq, __ATOMIC_RELAXED);

	for (int i = 0; i < SOCK_SPINS; i++) {
		if (!(s & 1) && __atomic_compare_exchange_n(&e->seq, &s, s + 1, false,
		    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			goto locked;
		if (s & 1) {
			sched_yield();
			s = __atomic_load_n(&e->seq, __ATOMIC_RELAXED);
		}
	}
	/* A writer that never finished (it was in a parent at fork time, or
	 * a signal handler interrupted it): take the record over. */
	s = (s | 1) + 1;
	__atomic_store_n(&e->seq, s + 1, __ATOMIC_RELAXED);
locked:
	/* Release stores: a reader that sees any new word also sees the odd
	 * seq stored before it. */
	for (size_t i = 0; i < REC_WORDS; i++)
		__atomic_store_n(&e->w[i], u->w[i], __ATOMIC_RELEASE);
	__atomic_store_n(&e->seq, s + 2, __ATOMIC_RELEASE);
}

static bool
rec_load(struct sock_entry *e, union rec_words *u)
{
	for (int i = 0; i < SOCK_SPINS; i++) {
		unsigned s1 = __atomic_load_n(&e->seq, __ATOMIC_ACQUIRE), s2;

		/* Acquire loads keep the second seq load after them. */
		for (size_t k = 0; k < REC_WORDS; k++)
			u->w[k] = __atomic_load_n(&e->w[k], __ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(&e->seq, __ATOMIC_RELAXED);
		if (s1 == s2 && !(s1 & 1))
			return true;
		sched_yield();
	}
	return false;
}

static struct sock_entry *
entry(int fd, bool create)
{
	struct sock_entry *c, *fresh;
	unsigned i;

	if (fd < 0 || (unsigned)fd >= (unsigned)SOCK_CHUNK * SOCK_CHUNKS)
		return NULL;
	i = (unsigned)fd / SOCK_CHUNK;
	c = __atomic_load_n(&chunks[i], __ATOMIC_ACQUIRE);
	if (c == NULL && create) {
		fresh = calloc(SOCK_CHUNK, sizeof(*fresh));
		if (fresh == NULL)
			return NULL;
		c = NULL;
		if (__atomic_compare_exchange_n(&chunks[i], &c, fresh, false,
		    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			c = fresh;
		else
			free(fresh); /* another thread won; c is its chunk */
	}
	return c ? &c[(unsigned)fd % SOCK_CHUNK] : NULL;
}

static unsigned char
flags_of(const struct sock_entry *e)
{
	return e != NULL ? __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE) : 0;
}

bool
sock_flagged(int fd)
{
	return flags_of(entry(fd, false)) != 0;
}

bool
sock_udp_flagged(int fd)
{
	return (flags_of(entry(fd, false)) & SF_UDP) != 0;
}

/* Drops e's record, if it has one; only the thread that clears the flag
 * lets go of the record's pin and ends its UDP association, unless the
 * association is keep_assoc's (a new record for the same socket takes it
 * over). */
static void
drop_rec_keep(struct sock_entry *e, int keep_assoc)
{
	union rec_words u;
	unsigned char f;

	f = __atomic_fetch_and(&e->flags, (unsigned char)~(SF_REC | SF_UDP), __ATOMIC_ACQ_REL);
	if (!(f & SF_REC) || !rec_load(e, &u))
		return;
	if (u.r.pin != NULL)
		dns_map_unpin(u.r.pin);
	/* A UDP record's association (its control connections) ends with
	 * it: the fd number is the association's key. */
	if (u.r.kind == SOCK_KIND_UDP && u.r.assoc_fd != keep_assoc)
		udp_end(u.r.assoc_fd);
}

static void
drop_rec(struct sock_entry *e)
{
	drop_rec_keep(e, -1);
}

static void
set_rec(struct sock_entry *e, const union rec_words *u)
{
	drop_rec_keep(e, u->r.kind == SOCK_KIND_UDP ? u->r.assoc_fd : -1);
	rec_store(e, u);
	__atomic_fetch_or(&e->flags, (unsigned char)(SF_REC |
	    (u->r.kind == SOCK_KIND_UDP ? SF_UDP : 0)), __ATOMIC_RELEASE);
}

bool
sock_get(int fd, struct sock_rec *r)
{
	struct sock_entry *e = entry(fd, false);
	union rec_words u;
	struct stat st;
	int saved = errno;
	bool ok;

	if (!(flags_of(e) & SF_REC) || !rec_load(e, &u))
		return false;
	ok = fstat(fd, &st) == 0 && st.st_ino == u.r.ino && st.st_dev == u.r.dev;
	errno = saved;
	if (!ok) {
		/* Stale: the fd now names another file. */
		if (proc_owns_state())
			drop_rec(e);
		errno = saved;
		return false;
	}
	*r = u.r;
	return true;
}

bool
sock_async(int fd)
{
	unsigned char f = flags_of(entry(fd, false));

	return (f & (SF_ASYNC | SF_ABANDONED)) == SF_ASYNC;
}

bool
sock_abandoned(int fd)
{
	return (flags_of(entry(fd, false)) & SF_ABANDONED) != 0;
}

static void
set_flag(int fd, unsigned char flag, bool on)
{
	struct sock_entry *e = entry(fd, false);

	if (e == NULL)
		return;
	if (on)
		__atomic_fetch_or(&e->flags, flag, __ATOMIC_RELEASE);
	else
		__atomic_fetch_and(&e->flags, (unsigned char)~flag, __ATOMIC_RELEASE);
}

void
sock_set_async(int fd, bool on)
{
	set_flag(fd, SF_ASYNC, on);
}

bool
sock_failed(int fd)
{
	return (flags_of(entry(fd, false)) & SF_FAILED) != 0;
}

void
sock_set_failed(int fd, bool on)
{
	set_flag(fd, SF_FAILED, on);
}

void
sock_forget(int fd)
{
	struct sock_entry *e = entry(fd, false);

	if ((flags_of(e) & SF_REC) && proc_owns_state())
		drop_rec(e);
}

int
sock_begin(int fd)
{
	struct sock_entry *e;
	unsigned char f;

	if (!proc_owns_state())
		return 0;
	e = entry(fd, true);
	if (e == NULL)
		return 0; /* past the table: works, unrecorded */
	f = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);
	do {
		if (f & SF_BUSY) {
			errno = EALREADY;
			return -1;
		}
	} while (!__atomic_compare_exchange_n(&e->flags, &f, (unsigned char)(f | SF_BUSY),
	    true, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
	return 1;
}

int
sock_end(int fd, int tracked, const struct sock_rec *r, int (*install)(void *, int),
    void *arg)
{
	struct sock_entry *e = tracked ? entry(fd, false) : NULL;
	union rec_words u;
	unsigned char f;
	struct stat st;
	int rc = 0, saved;

	if (e == NULL)
		return install != NULL ? install(arg, fd) : 0;
	f = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);
	do {
		if (f & SF_ABANDONED) {
			/* The program closed fd: what is there now is not
			 * ours to touch. */
			__atomic_fetch_and(&e->flags,
			    (unsigned char)~(SF_BUSY | SF_ABANDONED | SF_ASYNC),
			    __ATOMIC_ACQ_REL);
			errno = EBADF;
			return -1;
		}
	} while (!__atomic_compare_exchange_n(&e->flags, &f,
	    (unsigned char)(f | SF_INSTALLING), true, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
	if (install != NULL)
		rc = install(arg, fd);
	saved = errno;
	if (rc == 0 && r != NULL) {
		memset(&u, 0, sizeof(u));
		u.r = *r;
		if (fstat(fd, &st) == 0) {
			u.r.ino = st.st_ino;
			u.r.dev = st.st_dev;
		}
		set_rec(e, &u);
	}
	__atomic_fetch_and(&e->flags, (unsigned char)~(SF_BUSY | SF_INSTALLING | SF_ASYNC),
	    __ATOMIC_ACQ_REL);
	errno = saved;
	return rc;
}

/* The engine thread (async.c) lets go of an abandoned handshake at once
 * when kicked; waiting for it (bounded) frees the number for a connect
 * the program makes next, which would otherwise get EALREADY. */
static void
let_go_async(struct sock_entry *e)
{
	async_kick();
	for (int i = 0; i < SOCK_SPINS &&
	    (__atomic_load_n(&e->flags, __ATOMIC_ACQUIRE) & SF_BUSY); i++)
		sched_yield();
}

/* close() while a handshake runs on fd: the handshake must not touch
 * whatever the number names next.  Waits out an install in progress (a
 * dup3 and a record store, short), so the program's close closes what it
 * expects. */
static void
abandon(struct sock_entry *e)
{
	unsigned char f = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);

	for (int i = 0; i < SOCK_SPINS && (f & SF_BUSY); i++) {
		if (f & SF_INSTALLING) {
			sched_yield();
			f = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);
			continue;
		}
		if (__atomic_compare_exchange_n(&e->flags, &f,
		    (unsigned char)(f | SF_ABANDONED), false, __ATOMIC_ACQ_REL,
		    __ATOMIC_ACQUIRE)) {
			if (f & SF_ASYNC)
				let_go_async(e);
			return;
		}
	}
}

int
sock_close(int fd)
{
	struct sock_entry *e = entry(fd, false);
	unsigned char f = flags_of(e);

	if (f == 0)
		return real_close(fd);
	if (f & SF_INTERNAL) {
		errno = EBADF;
		return -1;
	}
	/* The record goes before the fd does: once closed, the number may
	 * be reused by another thread's socket at once. */
	if (proc_owns_state()) {
		if (f & SF_FAILED)
			set_flag(fd, SF_FAILED, false);
		if (f & SF_BUSY)
			abandon(e);
		drop_rec(e);
	}
	return real_close(fd);
}

static void
forget_range(unsigned first, unsigned last)
{
	unsigned max = (unsigned)SOCK_CHUNK * SOCK_CHUNKS;
	bool owner = false, asked = false;

	if (last >= max)
		last = max - 1;
	for (unsigned c = first / SOCK_CHUNK; first <= last && c <= last / SOCK_CHUNK; c++) {
		struct sock_entry *ch = __atomic_load_n(&chunks[c], __ATOMIC_ACQUIRE);
		unsigned lo = c * SOCK_CHUNK, hi = lo + SOCK_CHUNK - 1;

		if (ch == NULL)
			continue;
		if (lo < first)
			lo = first;
		if (hi > last)
			hi = last;
		for (unsigned fd = lo; fd <= hi; fd++) {
			struct sock_entry *e = &ch[fd % SOCK_CHUNK];
			unsigned char f = __atomic_load_n(&e->flags, __ATOMIC_RELAXED);

			if (!(f & (SF_REC | SF_BUSY)))
				continue;
			if (!asked) {
				owner = proc_owns_state();
				asked = true;
			}
			if (!owner)
				return;
			if (f & SF_BUSY)
				abandon(e);
			drop_rec(e);
		}
	}
}

/* The internal fds within [first, last], sorted; returns how many. */
static unsigned
internal_in(unsigned first, unsigned last, unsigned *out)
{
	unsigned n = 0;

	internal_init();
	for (unsigned i = 0; i < INTERNAL_MAX; i++) {
		int fd = __atomic_load_n(&internal_fds[i], __ATOMIC_ACQUIRE);
		unsigned k;

		if (fd < 0 || (unsigned)fd < first || (unsigned)fd > last)
			continue;
		for (k = n; k > 0 && out[k - 1] > (unsigned)fd; k--)
			out[k] = out[k - 1];
		out[k] = (unsigned)fd;
		n++;
	}
	return n;
}

int
sock_close_range(unsigned first, unsigned last, int flags)
{
	unsigned in[INTERNAL_MAX], n, lo = first;
	int rc = 0, e = 0;

	if (first <= last && !(flags & CLOSE_RANGE_CLOEXEC))
		forget_range(first, last);
	n = first <= last ? internal_in(first, last, in) : 0;
	if (n == 0)
		return real_close_range(first, last, flags);
	/* Close around the library's own fds (and leave them without
	 * FD_CLOEXEC: they must survive exec). */
	for (unsigned i = 0; i < n; i++) {
		if (in[i] > lo && real_close_range(lo, in[i] - 1, flags) != 0 && rc == 0) {
			e = errno;
			rc = -1;
		}
		if (in[i] == ~0U)
			goto out;
		lo = in[i] + 1;
	}
	if (lo <= last && real_close_range(lo, last, flags) != 0 && rc == 0) {
		e = errno;
		rc = -1;
	}
out:
	if (rc != 0)
		errno = e;
	return rc;
}

/* Whether any internal fd is lowfd or above (no array: closefrom calls
 * close_range, which has its own). */
static bool
internal_from(unsigned lowfd)
{
	internal_init();
	for (unsigned i = 0; i < INTERNAL_MAX; i++) {
		int fd = __atomic_load_n(&internal_fds[i], __ATOMIC_ACQUIRE);

		if (fd >= 0 && (unsigned)fd >= lowfd)
			return true;
	}
	return false;
}

void
sock_closefrom(int lowfd)
{
	if (lowfd < 0 || !internal_from((unsigned)lowfd)) {
		if (lowfd >= 0)
			forget_range((unsigned)lowfd, ~0U);
		real_closefrom(lowfd);
		return;
	}
	(void)sock_close_range((unsigned)lowfd, ~0U, 0);
}

int
sock_internal_add(int fd)
{
	struct sock_entry *e = entry(fd, true);

	if (e == NULL) {
		errno = EMFILE;
		return -1;
	}
	internal_init();
	for (unsigned i = 0; i < INTERNAL_MAX; i++) {
		int empty = -1;

		if (__atomic_compare_exchange_n(&internal_fds[i], &empty, fd, false,
		    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			__atomic_fetch_or(&e->flags, SF_INTERNAL, __ATOMIC_RELEASE);
			return 0;
		}
	}
	errno = EMFILE;
	return -1;
}

void
sock_internal_close(int fd)
{
	struct sock_entry *e = entry(fd, false);

	internal_init();
	for (unsigned i = 0; i < INTERNAL_MAX; i++) {
		int old = fd;

		if (__atomic_compare_exchange_n(&internal_fds[i], &old, -1, false,
		    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			break;
	}
	if (e != NULL)
		__atomic_fetch_and(&e->flags, (unsigned char)~SF_INTERNAL, __ATOMIC_RELEASE);
	(void)real_close(fd);
}

int
sock_dup_target(int newfd)
{
	struct sock_entry *e = entry(newfd, false), *ne;
	unsigned char f = flags_of(e);
	int nfd, fdflags;

	/* dup2 closes what was at newfd: a handshake on it must let go. */
	if ((f & SF_BUSY) && proc_owns_state())
		abandon(e);
	if (!(f & SF_INTERNAL))
		return 0;
	/* The program wants this number: our fd moves above it, keeping its
	 * FD_CLOEXEC (an inherited one has none, and must keep it so). */
	fdflags = real_fcntl(newfd, F_GETFD, 0);
	nfd = real_fcntl(newfd, (fdflags & FD_CLOEXEC) ? F_DUPFD_CLOEXEC : F_DUPFD, newfd + 1);
	if (nfd < 0 || (ne = entry(nfd, true)) == NULL) {
		if (nfd >= 0)
			real_close(nfd);
		errno = EBUSY;
		return -1;
	}
	for (unsigned i = 0; i < INTERNAL_MAX; i++) {
		int old = newfd;
		if (__atomic_compare_exchange_n(&internal_fds[i], &old, nfd, false,
		    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			break;
	}
	__atomic_fetch_or(&ne->flags, SF_INTERNAL, __ATOMIC_RELEASE);
	__atomic_fetch_and(&e->flags, (unsigned char)~SF_INTERNAL, __ATOMIC_RELEASE);
	udp_ctl_moved(newfd, nfd);
	return 0;
}

void
sock_copy(int oldfd, int newfd)
{
	struct sock_entry *o = entry(oldfd, false), *n;
	union rec_words u;

	if (oldfd == newfd || !proc_owns_state())
		return;
	if ((flags_of(o) & SF_REC) && rec_load(o, &u) && u.r.kind != SOCK_KIND_UDP &&
	    (n = entry(newfd, true)) != NULL) {
		/* Same socket, same inode: the record holds as it is, with a
		 * pin of its own.  Taken by address, under the map's lock:
		 * the old record's pin may be released by a close() on another
		 * thread at any moment, so it cannot be trusted to still hold. */
		if (u.r.pin != NULL)
			u.r.pin = dns_map_pin((const struct sockaddr *)&u.r.peer);
		set_rec(n, &u);
		return;
	}
	sock_forget(newfd);
}
