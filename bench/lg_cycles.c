/* lg_cycles.c: the "cycles" mode: connect, handshake, 1-byte echo, close, repeat. */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lg.h"

#define CYC_STUCK_NS (5ull * 1000000000u)

struct cyc_thread {
	pthread_t tid;
	const struct lg_opts *o;
	int nconns;
	uint64_t t_count;     /* cycles started before this are not counted */
	uint64_t t_end;
	uint64_t cycles;
	uint64_t errors;
	uint64_t stuck;       /* cycles still open a second after they began, at the end */
	int last_errno;
	struct lg_lat lat;
};

/* Starts the next cycle on c; on failure counts it and retries later. */
static void
cycle_begin(struct cyc_thread *t, struct lg_conn *c, int ep)
{
	c->t0 = lg_now();
	if (lg_conn_start(c, t->o, ep) < 0) {
		t->errors++;
		t->last_errno = errno;
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
	}
}

static void
cycle_end(struct cyc_thread *t, struct lg_conn *c, bool ok)
{
	uint64_t now = lg_now();
	int err = errno;

	close(c->fd);
	c->fd = -1;
	if (!ok) {
		t->errors++;
		t->last_errno = err;
		return;
	}
	if (c->t0 >= t->t_count && now <= t->t_end) {
		t->cycles++;
		lg_lat_add(&t->lat, (uint32_t)((now - c->t0) / 1000));
	}
}

static void *
cycles_thread(void *arg)
{
	struct cyc_thread *t = arg;
	struct lg_conn *conns = calloc((size_t)t->nconns, sizeof(*conns));
	struct epoll_event evs[256];
	int ep = epoll_create1(EPOLL_CLOEXEC);
	uint64_t now;
	int i, n;

	if (!conns || ep < 0) {
		t->errors++;
		t->last_errno = errno;
		goto out;
	}
	for (i = 0; i < t->nconns; i++)
		cycle_begin(t, &conns[i], ep);
	while (lg_now() < t->t_end) {
		n = epoll_wait(ep, evs, 256, 50);
		for (i = 0; i < n; i++) {
			struct lg_conn *c = evs[i].data.ptr;
			uint8_t b;
			ssize_t r;
			int rc;

			if (c->st != LG_READY) {
				rc = lg_conn_step(c, t->o, ep);
				if (rc < 0) {
					cycle_end(t, c, false);
					cycle_begin(t, c, ep);
					continue;
				}
				if (rc == 0)
					continue;
				/* Ready: one byte out; its echo ends the cycle. */
				b = 'x';
				if (send(c->fd, &b, 1, MSG_NOSIGNAL) != 1) {
					cycle_end(t, c, false);
					cycle_begin(t, c, ep);
				}
				continue;
			}
			/* The echo, then the EOF that the target's close
			 * causes: a proxy must pass both on. */
			r = recv(c->fd, &b, 1, 0);
			if (r < 0 && errno == EAGAIN)
				continue;
			if (r == 1 && c->have == 0 && !t->o->client_close) {
				c->have = 1;
				continue;
			}
			if (r == 1 && t->o->client_close) {
				cycle_end(t, c, true);
				cycle_begin(t, c, ep);
				continue;
			}
			if (r == 0 && c->have == 0)
				errno = ECONNRESET;
			else if (r > 0)
				errno = EPROTO;
			cycle_end(t, c, r == 0 && c->have == 1);
			cycle_begin(t, c, ep);
		}
		/* Connections that could not even start are retried here;
		 * a cycle stuck for CYC_STUCK_NS is an error. */
		now = lg_now();
		for (i = 0; i < t->nconns; i++) {
			if (conns[i].fd >= 0 && now - conns[i].t0 > CYC_STUCK_NS) {
				errno = ETIMEDOUT;
				cycle_end(t, &conns[i], false);
			}
			if (conns[i].fd < 0)
				cycle_begin(t, &conns[i], ep);
		}
	}
out:
	now = lg_now();
	if (conns)
		for (i = 0; i < t->nconns; i++)
			if (conns[i].fd >= 0) {
				if (now - conns[i].t0 > 1000000000u)
					t->stuck++;
				close(conns[i].fd);
			}
	free(conns);
	if (ep >= 0)
		close(ep);
	return NULL;
}

int
lg_run_cycles(const struct lg_opts *o)
{
	struct cyc_thread *ts = calloc((size_t)o->threads, sizeof(*ts));
	struct lg_lat all = { 0 };
	uint64_t start, cycles = 0, errors = 0, stuck = 0;
	int i, last_errno = 0;
	double secs;

	if (!ts)
		return -1;
	start = lg_now();
	for (i = 0; i < o->threads; i++) {
		ts[i].o = o;
		ts[i].nconns = o->conc / o->threads + (i < o->conc % o->threads);
		ts[i].t_count = start + (uint64_t)(o->warmup * 1e9);
		ts[i].t_end = ts[i].t_count + (uint64_t)(o->secs * 1e9);
		if (pthread_create(&ts[i].tid, NULL, cycles_thread, &ts[i]) != 0) {
			perror("loadgen: pthread_create");
			return -1;
		}
	}
	for (i = 0; i < o->threads; i++) {
		pthread_join(ts[i].tid, NULL);
		cycles += ts[i].cycles;
		errors += ts[i].errors;
		stuck += ts[i].stuck;
		if (ts[i].last_errno)
			last_errno = ts[i].last_errno;
		for (size_t k = 0; k < ts[i].lat.n; k++)
			lg_lat_add(&all, ts[i].lat.v[k]);
		free(ts[i].lat.v);
	}
	secs = o->secs;
	printf("mode=cycles label=%s direct=%d pipeline=%d conc=%d threads=%d secs=%.2f "
	    "close=%s cycles=%llu errors=%llu stuck=%llu rate=%.0f p50_us=%u p90_us=%u p99_us=%u max_us=%u "
	    "last_errno=%d cpu_client=%.3f\n",
	    o->label, o->direct, o->pipeline, o->conc, o->threads, secs,
	    o->client_close ? "client" : "server", (unsigned long long)cycles,
	    (unsigned long long)errors, (unsigned long long)stuck, cycles / secs,
	    lg_lat_pct(&all, 50), lg_lat_pct(&all, 90), lg_lat_pct(&all, 99),
	    lg_lat_pct(&all, 100), last_errno,
	    lg_cpu_self());
	fflush(stdout);
	free(all.v);
	free(ts);
	return cycles > 0 ? 0 : -1;
}
