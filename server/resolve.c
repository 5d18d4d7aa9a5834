/* resolve.c: getaddrinfo on a few threads shared by all event loops, so
 * no loop ever waits for a name.  A finished job goes back to the worker
 * that asked, through that worker's list and wake eventfd. */
#include <sys/socket.h>
#include <netdb.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "srv.h"

#define RESOLVE_MAX_THREADS 8

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t th[RESOLVE_MAX_THREADS];
	unsigned nth;
	struct srv_rjob *qhead, *qtail;   /* waiting for a worker */
	unsigned qlen, qmax;
	bool stop;
} R = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

struct srv_rjob *
srv_rjob_new(size_t extra)
{
	struct srv_rjob *j = calloc(1, sizeof(*j) + extra);

	if (j != NULL)
		j->len = extra;
	return j;
}

void
srv_rjob_free(struct srv_rjob *j)
{
	if (j == NULL)
		return;
	if (j->res != NULL)
		freeaddrinfo(j->res);
	free(j);
}

static void *
resolve_worker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&R.lock);
	for (;;) {
		struct srv_rjob *j;
		struct srv_worker *w;
		bool wake;

		while (!R.stop && R.qhead == NULL)
			pthread_cond_wait(&R.cond, &R.lock);
		if (R.stop)
			break;
		j = R.qhead;
		R.qhead = j->next;
		if (R.qhead == NULL)
			R.qtail = NULL;
		R.qlen--;
		if (j->owner != NULL) {
			struct addrinfo hints = { .ai_family = AF_UNSPEC,
				.ai_socktype = j->socktype };
			char port[8];

			snprintf(port, sizeof(port), "%u", j->port);
			pthread_mutex_unlock(&R.lock);
			j->err = getaddrinfo(j->name, port, &hints, &j->res);
			pthread_mutex_lock(&R.lock);
			/* Left behind at exit: the workers may be gone. */
			if (R.stop) {
				srv_rjob_free(j);
				break;
			}
		}
		w = j->w;
		wake = w->rdone == NULL;
		j->next = w->rdone;
		w->rdone = j;
		if (wake) {
			uint64_t one = 1;
			ssize_t n = write(w->wakefd, &one, sizeof(one));
			(void)n;
		}
	}
	pthread_mutex_unlock(&R.lock);
	return NULL;
}

void
srv_resolve_deliver(struct srv_worker *w)
{
	struct srv_rjob *list, *rev = NULL;

	pthread_mutex_lock(&R.lock);
	list = w->rdone;
	w->rdone = NULL;
	pthread_mutex_unlock(&R.lock);
	/* The list is newest first; answer in the order jobs finished. */
	while (list != NULL) {
		struct srv_rjob *j = list;
		list = j->next;
		j->next = rev;
		rev = j;
	}
	while (rev != NULL) {
		struct srv_rjob *j = rev;
		rev = j->next;
		j->next = NULL;
		/* owner is only ever cleared by this thread: no lock needed. */
		if (j->owner != NULL)
			j->done(j);
		else
			srv_rjob_free(j);
	}
}

int
srv_resolve_init(unsigned threads, unsigned max_queue)
{
	if (threads > RESOLVE_MAX_THREADS)
		threads = RESOLVE_MAX_THREADS;
	R.qmax = max_queue;
	for (R.nth = 0; R.nth < threads; R.nth++) {
		int err = pthread_create(&R.th[R.nth], NULL, resolve_worker, NULL);
		if (err != 0) {
			errno = err;
			return -1;
		}
	}
	return 0;
}

int
srv_resolve_submit(struct srv_rjob *j)
{
	pthread_mutex_lock(&R.lock);
	if (R.qlen >= R.qmax || R.nth == 0) {
		pthread_mutex_unlock(&R.lock);
		errno = EAGAIN;
		return -1;
	}
	j->next = NULL;
	j->w = srv_w;
	if (R.qtail != NULL)
		R.qtail->next = j;
	else
		R.qhead = j;
	R.qtail = j;
	R.qlen++;
	pthread_cond_signal(&R.cond);
	pthread_mutex_unlock(&R.lock);
	return 0;
}

void
srv_resolve_cancel(struct srv_rjob *j)
{
	/* Workers read owner under the lock before deciding to resolve. */
	pthread_mutex_lock(&R.lock);
	j->owner = NULL;
	pthread_mutex_unlock(&R.lock);
}

static void
free_list(struct srv_rjob *j)
{
	while (j != NULL) {
		struct srv_rjob *next = j->next;
		srv_rjob_free(j);
		j = next;
	}
}

void
srv_resolve_fini(void)
{
	struct timespec dl;

	pthread_mutex_lock(&R.lock);
	R.stop = true;
	pthread_cond_broadcast(&R.cond);
	pthread_mutex_unlock(&R.lock);
	/* A worker stuck in a slow lookup is left behind rather than holding
	 * up the exit; everything else is joined and freed. */
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 2;
	for (unsigned i = 0; i < R.nth; i++) {
		if (pthread_timedjoin_np(R.th[i], NULL, &dl) != 0)
			pthread_detach(R.th[i]);
	}
	R.nth = 0;
	pthread_mutex_lock(&R.lock);
	free_list(R.qhead);
	R.qhead = R.qtail = NULL;
	R.qlen = 0;
	/* Under the lock: a thread left behind sees R.stop and never touches
	 * a worker again. */
	for (unsigned i = 0; i < srv_g.nw; i++) {
		if (srv_g.w[i] != NULL) {
			free_list(srv_g.w[i]->rdone);
			srv_g.w[i]->rdone = NULL;
		}
	}
	pthread_mutex_unlock(&R.lock);
}
