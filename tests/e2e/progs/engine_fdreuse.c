/* engine_fdreuse.c: an fd closed and reopened by another thread during a
 * slow connect keeps what that thread put there.
 *
 * Usage: engine_fdreuse HOST PORT FILE
 * Thread A makes a blocking connect() of a fresh TCP socket to HOST:PORT
 * (through a slow hop, so the handshake takes a while).  The main thread,
 * 100 ms after A called connect(), closes A's fd and opens FILE
 * (O_RDWR|O_APPEND) at once; the kernel hands out the lowest free number,
 * which must be the same fd.  It writes a marker into the file.  Once A's
 * connect() returns, whatever it returned, the fd must still be that file:
 * same inode, a regular file, exactly the marker in it, the same file status
 * flags and fd flags.  A library that kept working on "its" fd number after
 * the program took it back would write handshake bytes into the file, reset
 * its flags, or put a socket over it.
 *
 * Prints "reused fd N", "connect returned rc=R errno=NAME", one "FAIL ..."
 * line per broken expectation, and "fdreuse ok" when there is none (exit
 * 0).  Exit 1: a broken expectation; exit 2: the test could not set itself
 * up (connect returned before the fd was taken back, or open() gave another
 * number), which says nothing about the library.
 */
#include <sys/stat.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "prog_util.h"

struct conn {
	int fd;
	struct sockaddr_storage ss;
	socklen_t len;
	atomic_int started;
	atomic_int done;
	int rc;
	int err;
};

static void *
connect_thread(void *arg)
{
	struct conn *c = arg;

	atomic_store(&c->started, 1);
	c->rc = connect(c->fd, (struct sockaddr *)&c->ss, c->len);
	c->err = c->rc == 0 ? 0 : errno;
	atomic_store(&c->done, 1);
	return NULL;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int
main(int argc, char **argv)
{
	static const char marker[] = "marker written by the thread that owns this fd\n";
	struct conn c;
	struct stat st0, st;
	struct timespec until;
	pthread_t t;
	char buf[512];
	int fd, fl0, fdfl0, fl, fdfl, bad = 0;
	ssize_t n;

	if (argc != 4) {
		fprintf(stderr, "usage: engine_fdreuse HOST PORT FILE\n");
		return 64;
	}
	memset(&c, 0, sizeof(c));
	c.len = prog_addr(argv[1], argv[2], &c.ss);
	c.fd = socket(c.ss.ss_family, SOCK_STREAM, 0);
	if (c.fd < 0) {
		perror("socket");
		return 2;
	}
	if (pthread_create(&t, NULL, connect_thread, &c) != 0) {
		fprintf(stderr, "pthread_create failed\n");
		return 2;
	}
	while (!atomic_load(&c.started))
		sleep_ms(1);
	sleep_ms(100);
	if (atomic_load(&c.done)) {
		printf("SETUP connect returned before the fd was taken back (rc=%d errno=%s): "
		       "the hop is not slow enough\n", c.rc, prog_errname(c.err));
		return 2;
	}

	/* Take the number back while connect() is still running. */
	close(c.fd);
	fd = open(argv[3], O_RDWR | O_CREAT | O_TRUNC | O_APPEND, 0600);
	if (fd != c.fd) {
		printf("SETUP open() gave fd %d, not the closed fd %d\n", fd, c.fd);
		return 2;
	}
	if (prog_write_all(fd, marker, sizeof(marker) - 1) != 0 || fstat(fd, &st0) != 0) {
		perror("write/fstat");
		return 2;
	}
	fl0 = fcntl(fd, F_GETFL);
	fdfl0 = fcntl(fd, F_GETFD);
	printf("reused fd %d\n", fd);
	fflush(stdout);

	/* Bounded: a connect that never returns is a failure, not a hang. */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 20;
	if (pthread_timedjoin_np(t, NULL, &until) != 0) {
		printf("FAIL connect() did not return within 20 s\n");
		return 1;
	}
	printf("connect returned rc=%d errno=%s (%s)\n", c.rc,
	       c.rc == 0 ? "0" : prog_errname(c.err), c.rc == 0 ? "-" : strerror(c.err));

	if (fstat(fd, &st) != 0) {
		printf("FAIL fstat(%d): %s: the fd was closed under its owner\n", fd,
		       strerror(errno));
		return 1;
	}
	if (S_ISSOCK(st.st_mode)) {
		printf("FAIL fd %d is a socket again: something was put over the file\n", fd);
		bad = 1;
	} else if (!S_ISREG(st.st_mode) || st.st_ino != st0.st_ino || st.st_dev != st0.st_dev) {
		printf("FAIL fd %d is no longer the file (inode %lu, was %lu)\n", fd,
		       (unsigned long)st.st_ino, (unsigned long)st0.st_ino);
		bad = 1;
	}
	fl = fcntl(fd, F_GETFL);
	fdfl = fcntl(fd, F_GETFD);
	if (fl != fl0) {
		printf("FAIL file status flags changed: %#x, were %#x\n", (unsigned)fl, (unsigned)fl0);
		bad = 1;
	}
	if (fdfl != fdfl0) {
		printf("FAIL fd flags changed: %#x, were %#x\n", (unsigned)fdfl, (unsigned)fdfl0);
		bad = 1;
	}
	/* Read the file by its path as well: the fd may no longer lead to it. */
	{
		int rfd = open(argv[3], O_RDONLY);

		n = rfd < 0 ? -1 : pread(rfd, buf, sizeof(buf), 0);
		if (rfd >= 0)
			close(rfd);
	}
	if (n != (ssize_t)(sizeof(marker) - 1) || memcmp(buf, marker, (size_t)n) != 0) {
		printf("FAIL the file holds %zd bytes, not just the marker (%zu bytes)\n", n,
		       sizeof(marker) - 1);
		bad = 1;
	}
	if (!bad) {
		n = pread(fd, buf, sizeof(buf), 0);
		if (n != (ssize_t)(sizeof(marker) - 1) || memcmp(buf, marker, (size_t)n) != 0) {
			printf("FAIL the marker cannot be read back through fd %d\n", fd);
			bad = 1;
		}
	}
	if (bad)
		return 1;
	printf("fdreuse ok\n");
	return 0;
}
