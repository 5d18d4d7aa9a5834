/* closefds.c: close every fd above 2 first, then connect and echo.
 *
 * Usage: closefds loop|closefrom|close_range HOST PORT FILE
 * Closes fds 3.. the way a daemon does (a loop up to the limit, closefrom()
 * or close_range()), opens FILE (which gets one of the freed numbers) and
 * writes one line to it, connects and echoes twice, writes a second line.
 * Exits 0 if both echoes worked; the test then checks FILE holds exactly
 * the two lines (nothing the preloaded library wrote on a stale fd). */
#include <sys/resource.h>
#include <fcntl.h>

#include "prog_util.h"

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	struct rlimit rl;
	socklen_t len;
	int fd, lf, i;

	if (argc != 5)
		return 64;
	len = prog_addr(argv[2], argv[3], &ss);
	if (strcmp(argv[1], "loop") == 0) {
		if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
			return 1;
		for (i = 3; i < (int)rl.rlim_cur && i < 65536; i++)
			close(i);
	} else if (strcmp(argv[1], "closefrom") == 0) {
		closefrom(3);
	} else if (strcmp(argv[1], "close_range") == 0) {
		if (close_range(3, ~0U, 0) < 0) {
			perror("close_range");
			return 1;
		}
	} else {
		return 64;
	}
	lf = open(argv[4], O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	if (lf < 0 || prog_write_all(lf, "first line\n", 11) < 0)
		return 1;
	for (i = 0; i < 2; i++) {
		fd = prog_connect_echo(&ss, len, "after closing fds\n");
		if (fd < 0) {
			printf("connect %d: %s (%s)\n", i, prog_errname(errno),
			       strerror(errno));
			return 1;
		}
		close(fd);
	}
	if (prog_write_all(lf, "second line\n", 12) < 0)
		return 1;
	close(lf);
	printf("closefds %s ok\n", argv[1]);
	return 0;
}
