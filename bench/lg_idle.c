/* lg_idle.c: the "idle" mode: N sessions set up, proven with a 1-byte echo, then held open. */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lg.h"

#define IDLE_BATCH 64                       /* handshakes in flight at once */
#define IDLE_SETUP_NS (30ull * 1000000000u)

static volatile sig_atomic_t idle_stop;

static void
on_term(int sig)
{
	(void)sig;
	idle_stop = 1;
}

int
lg_run_idle(const struct lg_opts *o)
{
	struct lg_conn *conns = calloc((size_t)o->conc, sizeof(*conns));
	struct epoll_event evs[64];
	int ep = epoll_create1(EPOLL_CLOEXEC);
	int i, n, started = 0, inflight = 0, done = 0, rc = -1;
	uint64_t t0 = lg_now(), deadline = t0 + IDLE_SETUP_NS, t_hold;
	struct sigaction sa = { .sa_handler = on_term };

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (!conns || ep < 0)
		goto out;
	for (i = 0; i < o->conc; i++)
		conns[i].fd = -1;
	while (done < o->conc && !idle_stop) {
		if (lg_now() > deadline) {
			fprintf(stderr, "loadgen: only %d of %d sessions set up\n", done, o->conc);
			goto out;
		}
		/* Keep a bounded number of handshakes in flight, so the
		 * listen backlog never overflows and every server sees the same pace. */
		while (inflight < IDLE_BATCH && started < o->conc) {
			if (lg_conn_start(&conns[started], o, ep) < 0) {
				perror("loadgen: connect");
				goto out;
			}
			started++;
			inflight++;
		}
		n = epoll_wait(ep, evs, 64, 50);
		for (i = 0; i < n; i++) {
			struct lg_conn *c = evs[i].data.ptr;
			uint8_t b = 'i';
			int s;

			if (c->st != LG_READY) {
				if ((s = lg_conn_step(c, o, ep)) < 0) {
					perror("loadgen: handshake");
					goto out;
				}
				if (s == 1 && send(c->fd, &b, 1, MSG_NOSIGNAL) != 1) {
					perror("loadgen: send");
					goto out;
				}
				continue;
			}
			if (recv(c->fd, &b, 1, 0) != 1) {
				if (errno == EAGAIN)
					continue;
				perror("loadgen: echo");
				goto out;
			}
			/* Proven; stop listening so an idle session costs us nothing. */
			epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
			inflight--;
			done++;
		}
	}
	printf("mode=idle label=%s direct=%d ready=%d setup_secs=%.2f\n",
	    o->label, o->direct, done, (double)(lg_now() - t0) / 1e9);
	fflush(stdout);
	t_hold = lg_now() + (uint64_t)(o->hold * 1e9);
	while (!idle_stop && lg_now() < t_hold)
		usleep(20000);
	rc = 0;
out:
	if (conns)
		for (i = 0; i < o->conc; i++)
			if (conns[i].fd >= 0)
				close(conns[i].fd);
	free(conns);
	if (ep >= 0)
		close(ep);
	return rc;
}
