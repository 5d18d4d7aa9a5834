/* lg_util.c: clock, CPU, address parsing, fd limit and latency samples for the load generator. */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "socksify/addr.h"
#include "lg.h"

uint64_t
lg_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double
lg_cpu_self(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

int
lg_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len,
    struct wire_addr *w)
{
	const char *why = NULL;

	if (addr_parse_hostport(s, false, w, &why) < 0) {
		fprintf(stderr, "loadgen: %s: %s\n", s, why ? why : "bad address");
		return -1;
	}
	/* Names would measure the resolver, not the proxy: numeric only. */
	if (addr_sockaddr_from_wire(ss, len, w) < 0) {
		fprintf(stderr, "loadgen: %s: need a numeric IP:PORT\n", s);
		return -1;
	}
	return 0;
}

long
lg_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -1;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -1;
	return (long)rl.rlim_cur;
}

int
lg_report_port(int fd, const char *path)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN];
	unsigned port;
	FILE *f;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		port = ntohs(s6->sin6_port);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
	}
	if (path) {
		/* Write then rename, so a reader never sees a half-written port. */
		char tmp[4096];
		snprintf(tmp, sizeof(tmp), "%s.tmp", path);
		if (!(f = fopen(tmp, "w")))
			return -1;
		fprintf(f, "%u\n", port);
		if (fclose(f) != 0 || rename(tmp, path) < 0)
			return -1;
	}
	printf("listening %s:%u\n", host, port);
	fflush(stdout);
	return 0;
}

int
lg_lat_add(struct lg_lat *l, uint32_t us)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 65536;
		uint32_t *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = us;
	return 0;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

uint32_t
lg_lat_pct(struct lg_lat *l, double p)
{
	size_t i;

	if (l->n == 0)
		return 0;
	qsort(l->v, l->n, sizeof(*l->v), cmp_u32);
	i = (size_t)(p / 100.0 * (double)(l->n - 1) + 0.5);
	return l->v[i < l->n ? i : l->n - 1];
}
