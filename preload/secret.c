/* secret.c: the chain memfd the launcher hands down (see secret.h).
 *
 * Only the number travels in the environment.  The fd behind it is checked
 * before anything is read from it: a program may have moved the memfd
 * (dup2 or F_DUPFD, then close) and put something else at that number, or
 * the variable may come from somewhere other than the launcher.  Nothing
 * here allocates: this runs in the constructor of every program.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "secret.h"

#define SECRET_LINK "/memfd:" SECRET_MEMFD_NAME " (deleted)"

/* A process rarely has more than a few hundred fds at start-up; the bound
 * only keeps one that inherited a huge table from scanning for long. */
#define SECRET_SCAN_MAX 65536

/* The fd number in s (decimal digits only), or -1. */
static int
parse_fd(const char *s)
{
	long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v > INT_MAX)
			return -1;
	}
	return (int)v;
}

/* True when fd is a memfd named like the launcher's with all its seals;
 * st gets its identity.  errno may change. */
static bool
is_chain_memfd(int fd, struct stat *st)
{
	char path[40], link[sizeof(SECRET_LINK) + 1];
	ssize_t n;
	int seals;

	/* real_fcntl: the library does not go through its own hooks.  Only
	 * shmem files (memfds) have seals; anything else says EINVAL. */
	seals = real_fcntl(fd, F_GET_SEALS, 0);
	if (seals < 0 || (seals & SECRET_SEALS) != SECRET_SEALS)
		return false;
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode))
		return false;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link));
	/* The fd is open (it answered F_GET_SEALS), so ENOENT means there is
	 * no /proc (a chroot without it): the seals are all there is to go
	 * on, and a sealed memfd at exactly the named number is ours. */
	if (n < 0)
		return errno == ENOENT;
	return (size_t)n == sizeof(SECRET_LINK) - 1 && memcmp(link, SECRET_LINK, (size_t)n) == 0;
}

/* Searches the open fds for the chain memfd.  Two numbers for the same
 * memfd (a dup) are one answer; two different memfds (launchers nested,
 * the inner one's memfd moved) are none: the wrong chain would send
 * traffic through proxies the user did not ask for this time. */
static int
scan_fds(void)
{
	struct stat st;
	struct dirent *e;
	DIR *d;
	dev_t dev = 0;
	ino_t ino = 0;
	int dfd, found = -1, err = EBADF, seen = 0;

	dfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		errno = EBADF;
		return -1;
	}
	d = fdopendir(dfd);
	if (d == NULL) {
		real_close(dfd);
		errno = EBADF;
		return -1;
	}
	while ((e = readdir(d)) != NULL && seen++ < SECRET_SCAN_MAX) {
		int fd = parse_fd(e->d_name);

		if (fd < 0 || fd == dfd || !is_chain_memfd(fd, &st))
			continue;
		if (found < 0) {
			found = fd;
			dev = st.st_dev;
			ino = st.st_ino;
		} else if (st.st_ino != ino || st.st_dev != dev) {
			found = -1;
			err = ENOTUNIQ;
			break;
		}
	}
	closedir(d);
	if (found < 0)
		errno = err;
	return found;
}

int
secret_find(void)
{
	const char *v = getenv(SECRET_ENV);
	struct stat st;
	int saved = errno, fd;

	if (v == NULL || v[0] == '\0') {
		errno = ENOENT;
		return -1;
	}
	fd = parse_fd(v);
	if (fd < 0) {
		errno = EINVAL;
		return -1;
	}
	if (!is_chain_memfd(fd, &st))
		fd = scan_fds();
	if (fd >= 0)
		errno = saved;
	return fd;
}

int
secret_read(int fd, char *buf, size_t cap)
{
	struct stat st;
	size_t len, off = 0;
	int saved = errno, err;

	if (cap > 0)
		buf[0] = '\0';
	if (fstat(fd, &st) != 0)
		return -1;
	if (st.st_size < 0 || (unsigned long long)st.st_size >= cap) {
		errno = E2BIG;
		return -1;
	}
	len = (size_t)st.st_size;
	/* pread: every descendant shares the memfd's file offset, so a read
	 * that moved it would leave the next process reading from the end. */
	while (off < len) {
		ssize_t n = pread(fd, buf + off, len - off, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* Sealed, the memfd cannot shrink: an early end is an
			 * I/O error, not a shorter chain. */
			err = n < 0 ? errno : EIO;
			goto fail;
		}
		off += (size_t)n;
	}
	buf[off] = '\0';
	/* The launcher writes URLs, never a NUL: with one, the text would be
	 * cut short without a word. */
	if (memchr(buf, '\0', off) != NULL) {
		err = EINVAL;
		goto fail;
	}
	errno = saved;
	return 0;
fail:
	/* Part of a secret is still a secret. */
	explicit_bzero(buf, off);
	buf[0] = '\0';
	errno = err;
	return -1;
}
