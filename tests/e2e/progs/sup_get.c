/* sup_get.c: an HTTP GET by name, through getaddrinfo and connect, for
 * the seccomp backend's tests (seccomp.bats builds it with -static).
 *
 *     sup_get HOST PORT [fork]
 *
 * Resolves HOST with getaddrinfo (any family), connects to the first
 * address that takes the connection and prints the response.  With
 * "fork", the process forks first and both processes make the request,
 * each printing "parent:" or "child:" before its response.  Exits 0 when
 * every request succeeded; prints "GAI <message>" or "ERRNO NAME" and
 * exits 3 otherwise.
 */
#include <sys/wait.h>

#include "prog_util.h"

static int
get(const char *who, const char *host, const char *port)
{
	static const char req[] = "GET / HTTP/1.0\r\nHost: sup-test\r\n\r\n";
	struct addrinfo hints, *res, *ai;
	char buf[4096];
	ssize_t n;
	int fd = -1, rc, e = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		printf("%sGAI %s\n", who, gai_strerror(rc));
		return 3;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		e = errno;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		printf("%sERRNO %s\n", who, prog_errname(e));
		return 3;
	}
	if (write(fd, req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1)) {
		printf("%sERRNO %s\n", who, prog_errname(errno));
		return 3;
	}
	printf("%s", who);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	fflush(stdout);
	close(fd);
	return 0;
}

int
main(int argc, char **argv)
{
	int status, rc;
	pid_t pid;

	if (argc < 3) {
		fprintf(stderr, "usage: sup_get HOST PORT [fork]\n");
		return 64;
	}
	if (argc < 4 || strcmp(argv[3], "fork") != 0)
		return get("", argv[1], argv[2]);
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		printf("ERRNO %s\n", prog_errname(errno));
		return 3;
	}
	if (pid == 0)
		_exit(get("child: ", argv[1], argv[2]));
	rc = get("parent: ", argv[1], argv[2]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		rc = 3;
	return rc;
}
