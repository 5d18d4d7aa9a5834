/* engine_smallstack.c: how much stack connect() takes from a thread with a
 * small stack of its own.
 *
 * Usage: engine_smallstack HOST PORT
 * Connects once from the main thread (an echo round trip), so one-time work
 * (symbol lookups, reading the config, lazy binding) is done and not
 * counted.  Then runs a thread on a 64 KiB stack this program maps itself,
 * with an inaccessible page below it (an overflow is a clean SIGSEGV, not
 * silent damage), painted with a byte pattern before the thread starts.
 * The thread notes the address of a local just before connect(); when
 * connect() returns it finds the lowest byte of the stack that no longer
 * holds the pattern.  The distance between the two is the stack that
 * connect() (the library's hook and everything under it) used.
 *
 * Prints "stack_used=N", then "connect ok" and "echo ok", or "ERRNO NAME"
 * (exit 3) when the connection failed.
 */
#include <sys/mman.h>
#include <pthread.h>
#include <stdint.h>

#include "prog_util.h"

#define SMALL_STACK (64 * 1024)
#define GUARD 4096
#define PAINT 0xA5

static unsigned char *stack_lo;
static struct sockaddr_storage dst;
static socklen_t dst_len;

struct result {
	size_t used;
	int rc;
	int err;
	int echo_err;
};

static void *
small_thread(void *arg)
{
	struct result *r = arg;
	volatile unsigned char *p = stack_lo;
	volatile char here = 0;
	uintptr_t top;
	size_t i;
	int fd;

	fd = socket(dst.ss_family, SOCK_STREAM, 0);
	if (fd < 0) {
		r->rc = -1;
		r->err = errno;
		return NULL;
	}
	top = (uintptr_t)&here;
	r->rc = connect(fd, (const struct sockaddr *)&dst, dst_len);
	r->err = r->rc == 0 ? 0 : errno;
	/* Scan before calling anything else, so only connect() has been
	 * below this frame. */
	for (i = 0; i < SMALL_STACK && p[i] == PAINT; i++)
		;
	r->used = top > (uintptr_t)(stack_lo + i) ? top - (uintptr_t)(stack_lo + i) : 0;
	if (r->rc == 0 && prog_echo(fd, "small stack\n") != 0)
		r->echo_err = errno ? errno : EPROTO;
	close(fd);
	return NULL;
}

int
main(int argc, char **argv)
{
	struct result r = { 0, -1, 0, 0 };
	pthread_attr_t attr;
	pthread_t t;
	unsigned char *map;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: engine_smallstack HOST PORT\n");
		return 64;
	}
	dst_len = prog_addr(argv[1], argv[2], &dst);

	fd = prog_connect_echo(&dst, dst_len, "warm-up\n");
	if (fd < 0) {
		printf("warm-up ERRNO %s\n", prog_errname(errno));
		return 3;
	}
	close(fd);

	map = mmap(NULL, GUARD + SMALL_STACK, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED || mprotect(map, GUARD, PROT_NONE) != 0) {
		perror("mmap");
		return 2;
	}
	stack_lo = map + GUARD;
	memset(stack_lo, PAINT, SMALL_STACK);
	if (pthread_attr_init(&attr) != 0 ||
	    pthread_attr_setstack(&attr, stack_lo, SMALL_STACK) != 0 ||
	    pthread_create(&t, &attr, small_thread, &r) != 0) {
		fprintf(stderr, "cannot start a thread on a %d byte stack\n", SMALL_STACK);
		return 2;
	}
	pthread_join(t, NULL);
	pthread_attr_destroy(&attr);

	printf("stack_used=%zu\n", r.used);
	if (r.rc != 0) {
		printf("ERRNO %s\n", prog_errname(r.err));
		return 3;
	}
	printf("connect ok\n");
	if (r.echo_err != 0) {
		printf("echo ERRNO %s\n", prog_errname(r.echo_err));
		return 3;
	}
	printf("echo ok\n");
	return 0;
}
