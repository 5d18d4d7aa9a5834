/* engine_fdfull.c: a program that has used every fd its limit allows but
 * one, for the socket, connects through the chain.
 *
 * Usage: engine_fdfull HOST PORT
 * Prints "fdfull ok free=0" after one echo on the connection and checks
 * that no fd was left open by the connect (the table is still full).
 */
#include <sys/resource.h>

#include "prog_util.h"

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	struct rlimit rl = { 64, 64 };
	socklen_t len;
	int s, fd, extra;

	if (argc != 3) {
		fprintf(stderr, "usage: engine_fdfull HOST PORT\n");
		return 2;
	}
	len = prog_addr(argv[1], argv[2], &ss);
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
		perror("setrlimit");
		return 2;
	}
	s = socket(ss.ss_family, SOCK_STREAM, 0);
	if (s < 0) {
		perror("socket");
		return 2;
	}
	/* Every other slot taken. */
	while ((fd = dup(0)) >= 0)
		;
	if (errno != EMFILE) {
		perror("dup");
		return 2;
	}
	if (connect(s, (struct sockaddr *)&ss, len) != 0) {
		printf("connect ERRNO %s\n", prog_errname(errno));
		return 1;
	}
	if (prog_echo(s, "fd table full") != 0) {
		printf("echo failed\n");
		return 1;
	}
	/* Nothing of the handshake's is left behind: still no free slot. */
	extra = dup(0);
	printf("fdfull ok free=%d\n", extra >= 0 ? 1 : 0);
	return extra >= 0 ? 1 : 0;
}
