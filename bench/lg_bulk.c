/* lg_bulk.c: the "bulk" mode: S streams through the proxy, bytes counted where they arrive or leave the client. */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lg.h"

#define BULK_BUF (256 * 1024)
#define BULK_SETUP_NS (10ull * 1000000000u)

int
lg_run_bulk(const struct lg_opts *o)
{
	struct lg_conn *conns = calloc((size_t)o->conc, sizeof(*conns));
	uint8_t *buf = malloc(BULK_BUF);
	struct epoll_event evs[64];
	int ep = epoll_create1(EPOLL_CLOEXEC);
	int i, n, ready = 0, rc = -1;
	uint64_t deadline, t_start = 0, t_stop = 0, counted = 0, total = 0;
	double secs;

	if (!conns || !buf || ep < 0)
		goto out;
	memset(buf, 'b', BULK_BUF);
	for (i = 0; i < o->conc; i++)
		conns[i].fd = -1;
	for (i = 0; i < o->conc; i++)
		if (lg_conn_start(&conns[i], o, ep) < 0) {
			perror("loadgen: connect");
			goto out;
		}
	deadline = lg_now() + BULK_SETUP_NS;
	for (;;) {
		uint64_t now = lg_now();

		if (!t_start && now > deadline) {
			fprintf(stderr, "loadgen: only %d of %d streams set up\n", ready, o->conc);
			goto out;
		}
		if (t_start && (now >= t_stop || (o->bytes && counted >= o->bytes)))
			break;
		n = epoll_wait(ep, evs, 64, 50);
		for (i = 0; i < n; i++) {
			struct lg_conn *c = evs[i].data.ptr;
			ssize_t r;

			if (c->st != LG_READY) {
				int s = lg_conn_step(c, o, ep);
				uint8_t go = 'g';
				if (s < 0) {
					perror("loadgen: handshake");
					goto out;
				}
				if (s == 0)
					continue;
				if (o->up) {
					struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
					if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
						goto out;
				} else if (send(c->fd, &go, 1, MSG_NOSIGNAL) != 1) {
					/* The source starts sending on this byte. */
					perror("loadgen: send");
					goto out;
				}
				if (++ready == o->conc) {
					t_start = lg_now();
					t_stop = t_start + (uint64_t)(o->secs * 1e9);
				}
				continue;
			}
			if (o->up)
				r = send(c->fd, buf, BULK_BUF, MSG_NOSIGNAL);
			else
				r = recv(c->fd, buf, BULK_BUF, 0);
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (r <= 0) {
				fprintf(stderr, "loadgen: stream ended: %s\n",
				    r == 0 ? "EOF" : strerror(errno));
				goto out;
			}
			total += (uint64_t)r;
			if (t_start)
				counted += (uint64_t)r;
		}
	}
	secs = (double)(lg_now() - t_start) / 1e9;
	printf("mode=bulk label=%s direct=%d dir=%s streams=%d secs=%.2f bytes=%llu "
	    "mib_s=%.1f bytes_total=%llu cpu_client=%.3f\n",
	    o->label, o->direct, o->up ? "up" : "down", o->conc, secs,
	    (unsigned long long)counted, counted / secs / 1048576.0,
	    (unsigned long long)total, lg_cpu_self());
	fflush(stdout);
	rc = 0;
out:
	if (conns)
		for (i = 0; i < o->conc; i++)
			if (conns[i].fd >= 0)
				close(conns[i].fd);
	free(conns);
	free(buf);
	if (ep >= 0)
		close(ep);
	return rc;
}
