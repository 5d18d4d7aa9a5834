/* fdtable.c: per-fd state of the application's sockets (fdt_).
 *
 * A flat table indexed by fd, in chunks of FDT_CHUNK entries that are
 * allocated on first use and never freed or moved.  Readers take no lock:
 * they load the chunk pointer and the entry's flag with acquire ordering.
 * A chunk is published with compare-and-swap, so there is no lock to be
 * left held across fork().  The recorded socket's inode guards against a
 * record that outlived its fd (closed by a path we cannot see, such as
 * libc closing a FILE's fd internally).
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define FDT_CHUNK 1024
#define FDT_CHUNKS 4096 /* 4M fds: beyond that, fds are simply not tracked */

enum { FDT_PROXIED = 1 };

struct fdt_entry {
	unsigned char flags; /* accessed atomically */
	socklen_t peerlen;
	ino_t ino;
	dev_t dev;
	struct sockaddr_storage peer;
};

static struct fdt_entry *chunks[FDT_CHUNKS];

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

void
fdt_set(int fd, const struct sockaddr *sa, socklen_t len)
{
	int saved = errno;
	struct fdt_entry *e = entry(fd, true);
	struct stat st;

	if (e == NULL)
		goto out;
	__atomic_store_n(&e->flags, 0, __ATOMIC_RELEASE);
	if (len > sizeof(e->peer))
		len = sizeof(e->peer);
	memcpy(&e->peer, sa, len);
	e->peerlen = len;
	if (fstat(fd, &st) == 0) {
		e->ino = st.st_ino;
		e->dev = st.st_dev;
	}
	__atomic_store_n(&e->flags, FDT_PROXIED, __ATOMIC_RELEASE);
out:
	errno = saved;
}

bool
fdt_get_peer(int fd, struct sockaddr *sa, socklen_t *len)
{
	struct fdt_entry *e = entry(fd, false);
	struct stat st;
	int saved = errno;

	if (!flag_set(e))
		return false;
	if (fstat(fd, &st) != 0 || st.st_ino != e->ino || st.st_dev != e->dev) {
		/* Stale: the fd now names another file. */
		__atomic_store_n(&e->flags, 0, __ATOMIC_RELEASE);
		errno = saved;
		return false;
	}
	memcpy(sa, &e->peer, *len < e->peerlen ? *len : e->peerlen);
	*len = e->peerlen;
	return true;
}

void
fdt_clear(int fd)
{
	struct fdt_entry *e = entry(fd, false);

	if (flag_set(e))
		__atomic_store_n(&e->flags, 0, __ATOMIC_RELEASE);
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
				__atomic_store_n(&ch[fd % FDT_CHUNK].flags, 0, __ATOMIC_RELEASE);
	}
}

void
fdt_copy(int oldfd, int newfd)
{
	struct fdt_entry *o = entry(oldfd, false);

	if (oldfd == newfd)
		return;
	if (flag_set(o))
		fdt_set(newfd, (const struct sockaddr *)&o->peer, o->peerlen);
	else
		fdt_clear(newfd);
}
