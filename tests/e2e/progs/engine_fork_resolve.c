/* engine_fork_resolve.c: fork while other threads are inside the resolver.
 *
 * Usage: engine_fork_resolve PORT NAME HOSTS_NAME CHILDREN THREADS
 *
 * THREADS threads loop over getaddrinfo on fresh stand-in names, on
 * HOSTS_NAME (a name the client's own hosts file knows), and getnameinfo
 * on the stand-ins, while the main thread forks CHILDREN times, one child
 * at a time.  Only the forking thread exists in a child: a lock that
 * another thread held at the fork stays held there for good unless the
 * library takes care of it.  Each child resolves NAME (a name only the
 * proxy knows), connects to it on PORT (an echo server behind the proxy),
 * echoes one byte and exits 0.
 *
 * The parent gives each child CHILD_WAIT_S seconds, then kills it by its
 * PID and counts it as hung; after MAX_HUNG hung children it stops forking
 * (the run has failed; waiting for more would only take time).  Prints
 * "children=N ok=N hung=N failed=N", then "lookups=N errors=N" for the
 * threads; exits 0 only when every child exited 0 in time.
 */
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define CHILD_WAIT_S 10
#define MAX_HUNG 3
#define NAMES_PER_THREAD 400

static const char *port, *hosts_name;
static atomic_int stop;
static atomic_long lookups, errors;

static void *resolver(void *arg)
{
	struct addrinfo hints, *res;
	char name[64], host[NI_MAXHOST];
	long t = (long)arg;
	unsigned i = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	while (!atomic_load(&stop)) {
		snprintf(name, sizeof(name), "r%ld-%u.test", t, i++ % NAMES_PER_THREAD);
		if (getaddrinfo(name, port, &hints, &res) != 0) {
			atomic_fetch_add(&errors, 1);
		} else {
			if (getnameinfo(res->ai_addr, res->ai_addrlen, host, sizeof(host), NULL,
					0, NI_NAMEREQD) != 0 || strcmp(host, name) != 0)
				atomic_fetch_add(&errors, 1);
			freeaddrinfo(res);
		}
		if (getaddrinfo(hosts_name, port, &hints, &res) != 0)
			atomic_fetch_add(&errors, 1);
		else
			freeaddrinfo(res);
		atomic_fetch_add(&lookups, 2);
	}
	return NULL;
}

/* The child: resolve, connect, one byte there and back.  The exit code
 * says which step failed. */
static void child(const char *name)
{
	struct addrinfo hints, *res;
	struct timeval tv = { 5, 0 };
	char c = 'x', back = 0;
	int fd;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(name, port, &hints, &res) != 0)
		_exit(2);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		_exit(3);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, res->ai_addr, res->ai_addrlen) != 0)
		_exit(4);
	if (send(fd, &c, 1, MSG_NOSIGNAL) != 1 || recv(fd, &back, 1, 0) != 1 || back != c)
		_exit(5);
	close(fd);
	freeaddrinfo(res);
	_exit(0);
}

/* Waits for PID at most CHILD_WAIT_S seconds.  Returns its exit status,
 * or -1 when it had to be killed. */
static int wait_bounded(pid_t pid)
{
	struct timespec start, now, nap = { 0, 1000000 };
	int st;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (r < 0 && errno != EINTR)
			return 255;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= CHILD_WAIT_S)
			break;
		nanosleep(&nap, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

int main(int argc, char **argv)
{
	int children, threads, i, forked = 0, ok = 0, hung = 0, failed = 0, st;
	pthread_t *t;
	pid_t pid;

	if (argc != 6) {
		fprintf(stderr, "usage: engine_fork_resolve PORT NAME HOSTS_NAME CHILDREN THREADS\n");
		return 64;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	port = argv[1];
	hosts_name = argv[3];
	children = atoi(argv[4]);
	threads = atoi(argv[5]);
	t = calloc((size_t)threads, sizeof(*t));
	if (t == NULL)
		return 1;
	for (i = 0; i < threads; i++)
		if (pthread_create(&t[i], NULL, resolver, (void *)(long)i) != 0) {
			perror("pthread_create");
			return 1;
		}
	/* Let every thread get into its loop before the first fork. */
	while (atomic_load(&lookups) < 2L * threads)
		sched_yield();

	for (i = 0; i < children && hung < MAX_HUNG; i++) {
		pid = fork();
		if (pid < 0) {
			printf("fork: %s\n", strerror(errno));
			break;
		}
		if (pid == 0)
			child(argv[2]);
		forked++;
		st = wait_bounded(pid);
		if (st == 0) {
			ok++;
		} else if (st < 0) {
			hung++;
			printf("hung child %d (pid %d) killed after %d s\n", i, (int)pid,
			       CHILD_WAIT_S);
		} else {
			failed++;
			printf("child %d exited %d\n", i, st);
		}
	}
	if (hung >= MAX_HUNG && forked < children)
		printf("gave up after %d hung children\n", hung);

	atomic_store(&stop, 1);
	for (i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	printf("children=%d ok=%d hung=%d failed=%d\n", forked, ok, hung, failed);
	printf("lookups=%ld errors=%ld\n", atomic_load(&lookups), atomic_load(&errors));
	free(t);
	return forked == children && ok == children && atomic_load(&errors) == 0 ? 0 : 1;
}
