/* fdtable.c: per-fd state of the application's sockets (fdt_).
 *
 * A flat table indexed by fd, in chunks of FDT_CHUNK entries that are
 * allocated on first use and never freed or moved.  Readers take no lock:
 * they load the chunk pointer and the entry's flag with acquire ordering.
 * A chunk is published with compare-and-swap, so there is no lock to be
 * left held across fork().  The recorded socket's inode guards against a
 * record that outlived its fd (closed by a path we cannot see, such as
 * libc closing a FILE's fd internally).  A record whose peer is a
 * remote-DNS stand-in holds a reference on that name (dns_fake_ref), so
 * the name map never forgets a name an open socket uses.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define FDT_CHUNK 1024
#define FDT_CHUNKS 4096 /* 4M fds: beyond that, fds are simply not tracked */

enum { FDT_PROXIED = 1 };

/* What is recorded for a proxied fd. */
struct fdt_rec {
	socklen_t peerlen;
	ino_t ino;
	dev_t dev;
	struct sockaddr_storage peer;
};

#define FDT_WORDS ((sizeof(struct fdt_rec) + 7) / 8)

union fdt_words {
	struct fdt_rec r;
	uint64_t w[FDT_WORDS];
};

/* The record is kept as words under a sequence lock: a writer makes seq
 * odd, stores, and makes it even again; a reader copies and retries if seq
 * moved.  Every access is atomic, so a reader never blocks and never sees
 * a torn record, and nothing can stay locked across fork() for long: both
 * sides give up waiting after a bounded number of rounds. */
struct fdt_entry {
	unsigned char flags;
	unsigned seq;
	uint64_t w[FDT_WORDS];
};

#define FDT_SPINS 1000

static struct fdt_entry *chunks[FDT_CHUNKS];

static void
rec_store(struct fdt_entry *e, const union fdt_words *u)
{
	unsigned s = __atomic_load_n(&e->seq, __ATOMIC_RELAXED);

	for (int i = 0; i < FDT_SPINS; i++) {
		if (!(s & 1) && __atomic_compare_exchange_n(&e->seq, &s, s + 1, false,
		    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			goto locked;
		if (s & 1) {
			sched_yield();
			s = __atomic_load_n(&e->seq, __ATOMIC_RELAXED);
		}
	}
	/* A writer that never finished (it was in a parent at fork time):
	 * take the record over. */
	s = (s | 1) + 1;
	__atomic_store_n(&e->seq, s + 1, __ATOMIC_RELAXED);
locked:
	/* Release stores: a reader that sees any new word also sees the odd
	 * seq stored before it. */
	for (size_t i = 0; i < FDT_WORDS; i++)
		__atomic_store_n(&e->w[i], u->w[i], __ATOMIC_RELEASE);
	__atomic_store_n(&e->seq, s + 2, __ATOMIC_RELEASE);
}

static bool
rec_load(struct fdt_entry *e, union fdt_words *u)
{
	for (int i = 0; i < FDT_SPINS; i++) {
		unsigned s1 = __atomic_load_n(&e->seq, __ATOMIC_ACQUIRE), s2;

		/* Acquire loads keep the second seq load after them. */
		for (size_t k = 0; k < FDT_WORDS; k++)
			u->w[k] = __atomic_load_n(&e->w[k], __ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(&e->seq, __ATOMIC_RELAXED);
		if (s1 == s2 && !(s1 & 1))
			return true;
		sched_yield();
	}
	return false;
}

static struct fdt_entry *
entry(int fd, bool create)
{
	struct fdt_entry *c, *fresh;
	unsigned i;

	if (fd < 0 || (unsigned)fd >= (unsigned)FDT_CHUNK * FDT_CHUNKS)
		return NULL;
	i = (unsigned)fd / FDT_CHUNK;
	c = __atomic_load_n(&chunks[i], __ATOMIC_ACQUIRE);
	if (c == NULL && create) {
		fresh = calloc(FDT_CHUNK, sizeof(*fresh));
		if (fresh == NULL)
			return NULL;
		c = NULL;
		if (__atomic_compare_exchange_n(&chunks[i], &c, fresh, false,
		    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			c = fresh;
		else
			free(fresh); /* another thread won; c is its chunk */
	}
	return c ? &c[(unsigned)fd % FDT_CHUNK] : NULL;
}

static bool
flag_set(const struct fdt_entry *e)
{
	return e != NULL && (__atomic_load_n(&e->flags, __ATOMIC_ACQUIRE) & FDT_PROXIED);
}

bool
fdt_is_proxied(int fd)
{
	return flag_set(entry(fd, false));
}

/* Drops e's record, if it has one; only the thread that clears the flag
 * lets go of the record's reference. */
static void
drop_rec(struct fdt_entry *e)
{
	union fdt_words u;

	if ((__atomic_exchange_n(&e->flags, 0, __ATOMIC_ACQ_REL) & FDT_PROXIED) &&
	    rec_load(e, &u))
		dns_fake_ref((const struct sockaddr *)&u.r.peer, -1);
}

static void
set_rec(int fd, const union fdt_words *u)
{
	struct fdt_entry *e = entry(fd, true);

	if (e == NULL)
		return;
	drop_rec(e);
	dns_fake_ref((const struct sockaddr *)&u->r.peer, 1);
	rec_store(e, u);
	__atomic_store_n(&e->flags, FDT_PROXIED, __ATOMIC_RELEASE);
}

void
fdt_set(int fd, const struct sockaddr *sa, socklen_t len)
{
	int saved = errno;
	union fdt_words u;
	struct stat st;

	memset(&u, 0, sizeof(u));
	if (len > sizeof(u.r.peer))
		len = sizeof(u.r.peer);
	memcpy(&u.r.peer, sa, len);
	u.r.peerlen = len;
	if (fstat(fd, &st) == 0) {
		u.r.ino = st.st_ino;
		u.r.dev = st.st_dev;
	}
	set_rec(fd, &u);
	errno = saved;
}

bool
fdt_get_peer(int fd, struct sockaddr *sa, socklen_t *len)
{
	struct fdt_entry *e = entry(fd, false);
	union fdt_words u;
	struct stat st;
	int saved = errno;
	bool ok;

	if (!flag_set(e) || !rec_load(e, &u))
		return false;
	ok = fstat(fd, &st) == 0 && st.st_ino == u.r.ino && st.st_dev == u.r.dev;
	errno = saved;
	if (!ok) {
		/* Stale: the fd now names another file. */
		drop_rec(e);
		return false;
	}
	memcpy(sa, &u.r.peer, *len < u.r.peerlen ? *len : u.r.peerlen);
	*len = u.r.peerlen;
	return true;
}

void
fdt_clear(int fd)
{
	struct fdt_entry *e = entry(fd, false);

	if (flag_set(e))
		drop_rec(e);
}

void
fdt_clear_range(unsigned first, unsigned last)
{
	unsigned max = (unsigned)FDT_CHUNK * FDT_CHUNKS;

	if (last >= max)
		last = max - 1;
	for (unsigned c = first / FDT_CHUNK; first <= last && c <= last / FDT_CHUNK; c++) {
		struct fdt_entry *ch = __atomic_load_n(&chunks[c], __ATOMIC_ACQUIRE);
		unsigned lo = c * FDT_CHUNK, hi = lo + FDT_CHUNK - 1;

		if (ch == NULL)
			continue;
		if (lo < first)
			lo = first;
		if (hi > last)
			hi = last;
		for (unsigned fd = lo; fd <= hi; fd++)
			if (__atomic_load_n(&ch[fd % FDT_CHUNK].flags, __ATOMIC_RELAXED))
				drop_rec(&ch[fd % FDT_CHUNK]);
	}
}

void
fdt_copy(int oldfd, int newfd)
{
	struct fdt_entry *o = entry(oldfd, false);
	union fdt_words u;

	if (oldfd == newfd)
		return;
	if (flag_set(o) && rec_load(o, &u)) {
		/* Same socket, same inode: the record holds as it is. */
		set_rec(newfd, &u);
	} else {
		fdt_clear(newfd);
	}
}
