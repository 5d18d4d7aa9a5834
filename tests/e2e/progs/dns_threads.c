/* dns_threads.c: many threads resolve and connect to many names at once.
 *
 * Usage: dns_threads PORT NAMES THREADS ROUNDS
 *
 * Names are n0001.test .. nNNNN.test; each is connected to ROUNDS times,
 * the jobs shared by THREADS threads that all start together.  A job:
 * getaddrinfo(name, PORT, AF_UNSPEC, SOCK_STREAM) (must be a stand-in),
 * getnameinfo on that address (must give the name back), connect, read the
 * server's "at ADDR" line (tools/dns_multi_echo.py: ADDR must be the one
 * the proxy's hosts file gives the name, 127.1.(i >> 8).(i & 255)), then
 * one echo round trip.  Prints "done jobs=N ok=N fail=N" and one line per
 * failed job (the first 20); exits 0 only when every job succeeded.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static const char *port;
static int names, rounds;
static atomic_int next_job, n_ok, n_fail;
static pthread_barrier_t start;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void job_fail(const char *name, const char *what, int err)
{
	int n = atomic_fetch_add(&n_fail, 1);

	if (n < 20) {
		pthread_mutex_lock(&out_lock);
		printf("fail %s: %s (%s)\n", name, what, err ? strerror(err) : "-");
		pthread_mutex_unlock(&out_lock);
	}
}

/* Reads up to a newline (bounded) into buf; returns its length or -1. */
static int read_line(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	ssize_t r;

	while (n + 1 < cap) {
		r = recv(fd, buf + n, 1, 0);
		if (r <= 0)
			return -1;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	return (int)n;
}

static void one_job(int idx)
{
	struct addrinfo hints, *res = NULL;
	struct timeval tv = { 30, 0 };
	char name[32], host[NI_MAXHOST], line[128], want[64], a[INET6_ADDRSTRLEN];
	int fd = -1, rc;

	snprintf(name, sizeof(name), "n%04d.test", idx);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(name, port, &hints, &res);
	if (rc != 0) {
		job_fail(name, gai_strerror(rc), 0);
		return;
	}
	inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, a, sizeof(a));
	if (res->ai_family != AF_INET || strncmp(a, "240.", 4) != 0) {
		job_fail(name, "first address is not an IPv4 stand-in", 0);
		goto out;
	}
	rc = getnameinfo(res->ai_addr, res->ai_addrlen, host, sizeof(host), NULL, 0,
	    NI_NAMEREQD);
	if (rc != 0 || strcmp(host, name) != 0) {
		job_fail(name, rc ? gai_strerror(rc) : "getnameinfo gave another name", 0);
		goto out;
	}
	fd = socket(res->ai_family, SOCK_STREAM, 0);
	if (fd < 0) {
		job_fail(name, "socket", errno);
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
		job_fail(name, "connect", errno);
		goto out;
	}
	snprintf(want, sizeof(want), "at 127.1.%d.%d", idx >> 8, idx & 255);
	if (read_line(fd, line, sizeof(line)) < 0 || strcmp(line, want) != 0) {
		job_fail(name, "reached the wrong target", 0);
		pthread_mutex_lock(&out_lock);
		printf("  %s %s: want '%s' got '%s'\n", name, a, want, line);
		pthread_mutex_unlock(&out_lock);
		goto out;
	}
	snprintf(line, sizeof(line), "%s\n", name);
	if (send(fd, line, strlen(line), MSG_NOSIGNAL) != (ssize_t)strlen(line) ||
	    read_line(fd, host, sizeof(host)) < 0 || strcmp(host, name) != 0) {
		job_fail(name, "echo round trip", errno);
		goto out;
	}
	atomic_fetch_add(&n_ok, 1);
out:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
}

static void *worker(void *arg)
{
	int job;

	(void)arg;
	pthread_barrier_wait(&start);
	while ((job = atomic_fetch_add(&next_job, 1)) < names * rounds)
		one_job(job % names + 1);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t *t;
	int threads, i;

	if (argc != 5) {
		fprintf(stderr, "usage: dns_threads PORT NAMES THREADS ROUNDS\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	port = argv[1];
	names = atoi(argv[2]);
	threads = atoi(argv[3]);
	rounds = atoi(argv[4]);
	t = calloc((size_t)threads, sizeof(*t));
	pthread_barrier_init(&start, NULL, (unsigned)threads);
	for (i = 0; i < threads; i++)
		if (pthread_create(&t[i], NULL, worker, NULL) != 0) {
			perror("pthread_create");
			return 1;
		}
	for (i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	printf("done jobs=%d ok=%d fail=%d\n", names * rounds, atomic_load(&n_ok),
	    atomic_load(&n_fail));
	free(t);
	return atomic_load(&n_fail) == 0 && atomic_load(&n_ok) == names * rounds ? 0 : 1;
}
