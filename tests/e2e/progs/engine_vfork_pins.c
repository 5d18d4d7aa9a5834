/* engine_vfork_pins.c: what a vfork or posix_spawn child closes must not
 * reach the parent's proxied sockets.
 *
 * Usage: engine_vfork_pins MODE NAME PORT FLOOD
 *
 * MODE is one of
 *   vfork-closerange-exit   vfork; child: close_range(3, ~0U, 0), _exit(0)
 *   vfork-closerange-exec   vfork; child: close_range(3, ~0U, 0), exec /bin/true
 *   vfork-close-exit        vfork; child: close(the parent's socket), _exit(0)
 *   vfork-close-exec        vfork; child: close(the parent's socket), exec /bin/true
 *   spawn-close             posix_spawn /bin/true with an addclose of the socket
 *   spawn-closefrom         posix_spawn /bin/true with addclosefrom_np(3)
 *
 * NAME must be a name only the proxy resolves (remote DNS: getaddrinfo
 * gives a stand-in address), PORT an echo server behind it.  The program
 * connects to NAME, runs the child, then resolves FLOOD new names (more
 * than dns_cache_size, so every name no open socket uses is forgotten).
 * A vfork child shares the parent's memory: if the preload drops the
 * socket's record there, the parent's socket loses its peer and its name.
 * So afterwards the parent checks: getpeername is still the stand-in,
 * getnameinfo on it still gives NAME, NAME still resolves to the same
 * stand-in, and the socket still echoes.  One line per check; the last is
 * "done ok" and the exit status 0 only when every check held.
 */
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <netdb.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prog_util.h"

extern char **environ;

enum { CHILD_CLOSE_RANGE = 1, CHILD_EXEC = 2 };

static int failures;

static void check(int ok, const char *what)
{
	if (!ok) {
		printf("FAIL %s\n", what);
		failures++;
	}
}

/* Resolves NAME to its first IPv4 address; 0 or a getaddrinfo code. */
static int resolve4(const char *name, const char *port, struct sockaddr_in *out)
{
	struct addrinfo hints, *res = NULL;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(name, port, &hints, &res);
	if (rc != 0)
		return rc;
	memcpy(out, res->ai_addr, sizeof(*out));
	freeaddrinfo(res);
	return 0;
}

/* The vfork child runs only these few calls, as CPython's subprocess
 * child does before exec.  Kept in a function of its own so that nothing
 * of the caller's frame is live across vfork(). */
static __attribute__((noinline)) pid_t vfork_child(int how, int fd)
{
	pid_t pid = vfork();

	if (pid == 0) {
		if (how & CHILD_CLOSE_RANGE)
			close_range(3, ~0U, 0);
		else
			close(fd);
		if (how & CHILD_EXEC)
			execl("/bin/true", "true", (char *)NULL);
		_exit(how & CHILD_EXEC ? 127 : 0);
	}
	return pid;
}

static pid_t spawn_child(int fd, int closefrom)
{
	posix_spawn_file_actions_t fa;
	char *argv[] = { "true", NULL };
	pid_t pid;
	int rc;

	posix_spawn_file_actions_init(&fa);
	if (closefrom) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
		posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#else
		(void)fd;
		fprintf(stderr, "posix_spawn_file_actions_addclosefrom_np: not in this libc\n");
		exit(77);
#endif
	} else {
		posix_spawn_file_actions_addclose(&fa, fd);
	}
	rc = posix_spawn(&pid, "/bin/true", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		errno = rc;
		return -1;
	}
	return pid;
}

int main(int argc, char **argv)
{
	struct sockaddr_in pin, again, peer;
	socklen_t plen = sizeof(peer);
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN], host[NI_MAXHOST], flood[64];
	const char *mode, *name, *port;
	int nflood, fd, rc, st, i, bad = 0;
	pid_t pid;

	if (argc != 5) {
		fprintf(stderr, "usage: engine_vfork_pins MODE NAME PORT FLOOD\n");
		return 64;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	mode = argv[1];
	name = argv[2];
	port = argv[3];
	nflood = atoi(argv[4]);

	rc = resolve4(name, port, &pin);
	if (rc != 0) {
		printf("FAIL resolve %s: %s\n", name, gai_strerror(rc));
		return 1;
	}
	inet_ntop(AF_INET, &pin.sin_addr, a, sizeof(a));
	printf("pin %s %s\n", name, a);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&pin, sizeof(pin)) != 0 ||
	    prog_echo(fd, "before the child\n") != 0) {
		printf("FAIL connect %s: %s\n", name, strerror(errno));
		return 1;
	}
	printf("connected fd=%d\n", fd);

	if (strcmp(mode, "vfork-closerange-exit") == 0)
		pid = vfork_child(CHILD_CLOSE_RANGE, fd);
	else if (strcmp(mode, "vfork-closerange-exec") == 0)
		pid = vfork_child(CHILD_CLOSE_RANGE | CHILD_EXEC, fd);
	else if (strcmp(mode, "vfork-close-exit") == 0)
		pid = vfork_child(0, fd);
	else if (strcmp(mode, "vfork-close-exec") == 0)
		pid = vfork_child(CHILD_EXEC, fd);
	else if (strcmp(mode, "spawn-close") == 0)
		pid = spawn_child(fd, 0);
	else if (strcmp(mode, "spawn-closefrom") == 0)
		pid = spawn_child(fd, 1);
	else {
		fprintf(stderr, "unknown mode %s\n", mode);
		return 64;
	}
	if (pid < 0) {
		printf("FAIL child: %s\n", strerror(errno));
		return 1;
	}
	if (waitpid(pid, &st, 0) != pid) {
		printf("FAIL waitpid: %s\n", strerror(errno));
		return 1;
	}
	printf("child status=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child exit status");

	/* New names push every unpinned one out of the map. */
	for (i = 0; i < nflood; i++) {
		snprintf(flood, sizeof(flood), "flood%05d-%d.test", i, (int)getpid());
		if (resolve4(flood, port, &again) != 0)
			bad++;
	}
	printf("flood %d fail=%d\n", nflood, bad);
	check(bad == 0, "flood lookups");

	if (getpeername(fd, (struct sockaddr *)&peer, &plen) != 0) {
		printf("getpeername: %s\n", strerror(errno));
		check(0, "getpeername");
	} else {
		inet_ntop(AF_INET, &peer.sin_addr, b, sizeof(b));
		printf("getpeername %s:%d\n", b, ntohs(peer.sin_port));
		check(peer.sin_family == AF_INET && peer.sin_addr.s_addr == pin.sin_addr.s_addr &&
		      peer.sin_port == pin.sin_port, "getpeername is the stand-in");
	}

	rc = getnameinfo((struct sockaddr *)&pin, sizeof(pin), host, sizeof(host), NULL, 0,
			 NI_NAMEREQD);
	printf("getnameinfo %s\n", rc == 0 ? host : gai_strerror(rc));
	check(rc == 0 && strcmp(host, name) == 0, "getnameinfo gives the name");

	rc = resolve4(name, port, &again);
	inet_ntop(AF_INET, &again.sin_addr, b, sizeof(b));
	printf("again %s\n", rc == 0 ? b : gai_strerror(rc));
	check(rc == 0 && again.sin_addr.s_addr == pin.sin_addr.s_addr,
	      "the name keeps its stand-in");

	rc = prog_echo(fd, "after the child\n");
	printf("echo after %s\n", rc == 0 ? "ok" : strerror(errno));
	check(rc == 0, "echo on the socket after the child");
	close(fd);

	if (failures != 0)
		return 1;
	printf("done ok\n");
	return 0;
}
