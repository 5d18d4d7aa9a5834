/* forkconnect.c: connect before fork, then in both parent and child.
 *
 * Usage: forkconnect HOST PORT
 * The parent connects once (and keeps that socket), forks; the child echoes
 * on the inherited socket and makes ROUNDS new connections, the parent makes
 * ROUNDS new connections at the same time.  Prints one line per process and
 * exits 0 only if both succeeded. */
#include <sys/wait.h>

#include "prog_util.h"

#define ROUNDS 5

static int rounds(const char *who, const struct sockaddr_storage *ss,
		  socklen_t len)
{
	char msg[64];
	int i, fd;

	for (i = 0; i < ROUNDS; i++) {
		snprintf(msg, sizeof(msg), "%s %d pid %d\n", who, i, (int)getpid());
		fd = prog_connect_echo(ss, len, msg);
		if (fd < 0) {
			printf("%s: connect %d failed: %s (%s)\n", who, i,
			       prog_errname(errno), strerror(errno));
			return -1;
		}
		close(fd);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, st;
	pid_t pid;

	if (argc != 3)
		return 64;
	len = prog_addr(argv[1], argv[2], &ss);
	setvbuf(stdout, NULL, _IONBF, 0);
	fd = prog_connect_echo(&ss, len, "before fork\n");
	if (fd < 0) {
		printf("before fork: %s (%s)\n", prog_errname(errno), strerror(errno));
		return 1;
	}
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		if (prog_echo(fd, "child on inherited socket\n") < 0) {
			printf("child: inherited socket: %s\n", strerror(errno));
			_exit(1);
		}
		close(fd);
		if (rounds("child", &ss, len) < 0)
			_exit(1);
		printf("child ok\n");
		_exit(0);
	}
	close(fd);
	if (rounds("parent", &ss, len) < 0) {
		waitpid(pid, &st, 0);
		return 1;
	}
	printf("parent ok\n");
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		printf("child failed (status %#x)\n", st);
		return 1;
	}
	return 0;
}
