/* exec_get.c: one HTTP GET over a plain connect(), for the exec tests.
 *
 *     exec_get HOST PORT
 *
 * Prints the response and exits 0, or prints "ERRNO NAME" and exits 3.
 * Built as every test program is (dynamic) and, by exec.bats, with
 * -static.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prog_util.h"

int main(int argc, char **argv)
{
	static const char req[] = "GET / HTTP/1.0\r\nHost: exec-test\r\n\r\n";
	struct sockaddr_in sin;
	char buf[4096];
	ssize_t n;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: exec_get HOST PORT\n");
		return 64;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &sin.sin_addr) != 1) {
		fprintf(stderr, "exec_get: %s is not an IPv4 address\n", argv[1]);
		return 64;
	}
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		printf("ERRNO %s\n", prog_errname(errno));
		return 3;
	}
	if (write(fd, req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1)) {
		printf("ERRNO %s\n", prog_errname(errno));
		return 3;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	close(fd);
	return 0;
}
