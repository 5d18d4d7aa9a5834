/* sup_uring.c: calls io_uring_setup and prints what it got, for the
 * seccomp backend's tests: "OK" (and exits 0) when an io_uring was made,
 * otherwise "ERRNO NAME" and exits 3.  Under socksify, ENOSYS.
 */
#include <sys/syscall.h>

#include "prog_util.h"

#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#endif

int
main(void)
{
	/* struct io_uring_params: 120 bytes, all zero asks for defaults. */
	unsigned char params[120];
	long fd;

	memset(params, 0, sizeof(params));
	fd = syscall(__NR_io_uring_setup, 4, params);
	if (fd < 0) {
		printf("ERRNO %s\n", errno == ENOSYS ? "ENOSYS" : prog_errname(errno));
		return 3;
	}
	printf("OK\n");
	close((int)fd);
	return 0;
}
