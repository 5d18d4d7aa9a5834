/* sup_udp.c: one datagram sent two ways, for the seccomp backend's tests
 * (seccomp.bats builds it with -static).
 *
 *     sup_udp ADDR PORT
 *
 * Sends "ping" to the IPv4 ADDR:PORT with sendto() on an unconnected
 * socket, then with connect() and send(), and prints one line for each:
 * "sendto OK" or "sendto ERRNO NAME", "connect OK" or "connect ERRNO
 * NAME".  Exits 0 when both were refused with EACCES.
 */
#include "prog_util.h"

int
main(int argc, char **argv)
{
	struct sockaddr_in sin;
	int fd, refused = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: sup_udp ADDR PORT\n");
		return 64;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &sin.sin_addr) != 1)
		return 64;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return 3;
	if (sendto(fd, "ping", 4, 0, (struct sockaddr *)&sin, sizeof(sin)) == 4) {
		printf("sendto OK\n");
	} else {
		printf("sendto ERRNO %s\n", prog_errname(errno));
		refused += errno == EACCES;
	}
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 && send(fd, "ping", 4, 0) == 4) {
		printf("connect OK\n");
	} else {
		printf("connect ERRNO %s\n", prog_errname(errno));
		refused += errno == EACCES;
	}
	close(fd);
	return refused == 2 ? 0 : 3;
}
