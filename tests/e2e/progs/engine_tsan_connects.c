/* engine_tsan_connects.c: many threads connecting through the preload at
 * once, built with -fsanitize=thread to catch races in its state.
 *
 * Usage: engine_tsan_connects PORT NAME THREADS TOTAL
 *
 * TOTAL jobs shared by THREADS threads that all start together.  Even
 * jobs connect to 127.0.0.1:PORT, odd ones to NAME (a name only the
 * proxy resolves: a stand-in address, pinned by the socket), so both the
 * per-socket records and the name map are used from every thread.  A job:
 * resolve, connect, getpeername (must be the address connected to), dup
 * the socket and close the original (the record must follow the dup),
 * getpeername on the dup, one echo round trip on it, close.  Prints
 * "done jobs=N ok=N fail=N" and the first failures; exits 0 only when
 * every job succeeded.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "prog_util.h"

static const char *port, *name;
static int total;
static atomic_int next_job, n_ok, n_fail;
static pthread_barrier_t start;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void job_fail(int job, const char *what, int err)
{
	if (atomic_fetch_add(&n_fail, 1) < 20) {
		pthread_mutex_lock(&out_lock);
		printf("fail job %d: %s (%s)\n", job, what, err ? strerror(err) : "-");
		pthread_mutex_unlock(&out_lock);
	}
}

static int same_peer(int fd, const struct sockaddr *want)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
	const struct sockaddr_in *b = (const struct sockaddr_in *)want;

	if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
		return 0;
	return a->sin_family == AF_INET && a->sin_addr.s_addr == b->sin_addr.s_addr &&
	       a->sin_port == b->sin_port;
}

static void one_job(int job)
{
	struct addrinfo hints, *res = NULL;
	struct timeval tv = { 30, 0 };
	char msg[64];
	int fd = -1, fd2 = -1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	if (job % 2 == 0)
		hints.ai_flags = AI_NUMERICHOST;
	rc = getaddrinfo(job % 2 == 0 ? "127.0.0.1" : name, port, &hints, &res);
	if (rc != 0) {
		job_fail(job, gai_strerror(rc), 0);
		return;
	}
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0) {
		job_fail(job, "socket", errno);
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
		job_fail(job, "connect", errno);
		goto out;
	}
	if (!same_peer(fd, res->ai_addr)) {
		job_fail(job, "getpeername is not the destination", 0);
		goto out;
	}
	fd2 = dup(fd);
	close(fd);
	fd = -1;
	if (fd2 < 0 || !same_peer(fd2, res->ai_addr)) {
		job_fail(job, "getpeername on the dup is not the destination", errno);
		goto out;
	}
	snprintf(msg, sizeof(msg), "job %d\n", job);
	if (prog_echo(fd2, msg) != 0) {
		job_fail(job, "echo", errno);
		goto out;
	}
	atomic_fetch_add(&n_ok, 1);
out:
	if (fd >= 0)
		close(fd);
	if (fd2 >= 0)
		close(fd2);
	freeaddrinfo(res);
}

static void *worker(void *arg)
{
	int job;

	(void)arg;
	pthread_barrier_wait(&start);
	while ((job = atomic_fetch_add(&next_job, 1)) < total)
		one_job(job);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t *t;
	int threads, i;

	if (argc != 5) {
		fprintf(stderr, "usage: engine_tsan_connects PORT NAME THREADS TOTAL\n");
		return 64;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	port = argv[1];
	name = argv[2];
	threads = atoi(argv[3]);
	total = atoi(argv[4]);
	if (threads < 1 || total < 1)
		return 64;
	t = calloc((size_t)threads, sizeof(*t));
	if (t == NULL)
		return 1;
	pthread_barrier_init(&start, NULL, (unsigned)threads);
	for (i = 0; i < threads; i++)
		if (pthread_create(&t[i], NULL, worker, NULL) != 0) {
			perror("pthread_create");
			return 1;
		}
	for (i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	printf("done jobs=%d ok=%d fail=%d\n", total, atomic_load(&n_ok), atomic_load(&n_fail));
	free(t);
	return atomic_load(&n_ok) == total ? 0 : 1;
}
