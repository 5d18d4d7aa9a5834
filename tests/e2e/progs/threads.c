/* threads.c: many threads, each making many connections with one echo each.
 *
 * Usage: threads HOST PORT NTHREADS NCONN
 * Prints "connections ok=N failed=M" and exits 0 only if every connection
 * connected and echoed its own message back. */
#include <pthread.h>
#include <stdatomic.h>

#include "prog_util.h"

static struct sockaddr_storage target;
static socklen_t target_len;
static int nconn;
static atomic_int n_ok, n_failed, first_errno;

static void *worker(void *arg)
{
	long id = (long)arg;
	char msg[64];
	int i, fd;

	for (i = 0; i < nconn; i++) {
		snprintf(msg, sizeof(msg), "thread %ld conn %d\n", id, i);
		fd = prog_connect_echo(&target, target_len, msg);
		if (fd < 0) {
			int zero = 0;
			atomic_compare_exchange_strong(&first_errno, &zero, errno);
			atomic_fetch_add(&n_failed, 1);
			continue;
		}
		close(fd);
		atomic_fetch_add(&n_ok, 1);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t tids[256];
	int nthreads, i;

	if (argc != 5)
		return 64;
	target_len = prog_addr(argv[1], argv[2], &target);
	nthreads = atoi(argv[3]);
	nconn = atoi(argv[4]);
	if (nthreads < 1 || nthreads > 256 || nconn < 1)
		return 64;
	for (i = 0; i < nthreads; i++) {
		if (pthread_create(&tids[i], NULL, worker, (void *)(long)i) != 0) {
			perror("pthread_create");
			return 1;
		}
	}
	for (i = 0; i < nthreads; i++)
		pthread_join(tids[i], NULL);
	printf("connections ok=%d failed=%d\n", atomic_load(&n_ok),
	       atomic_load(&n_failed));
	if (atomic_load(&n_failed) > 0)
		printf("first error: %s (%s)\n",
		       prog_errname(atomic_load(&first_errno)),
		       strerror(atomic_load(&first_errno)));
	return atomic_load(&n_failed) == 0 ? 0 : 1;
}
