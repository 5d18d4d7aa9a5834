/* lg.h: shared pieces of the load generator (options, helpers, SOCKS5 client steps). */
#ifndef SOCKSIFY_BENCH_LG_H
#define SOCKSIFY_BENCH_LG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "socksify/wire.h"

/* What a run was asked to do.  Sockaddrs are filled by lg_parse_addr(). */
struct lg_opts {
	const char *mode;
	struct sockaddr_storage proxy;   /* the SOCKS5 server */
	socklen_t proxy_len;
	struct sockaddr_storage target;  /* the echo/source/sink server */
	socklen_t target_len;
	struct wire_addr target_wire;    /* the same target, as sent in CONNECT */
	bool direct;                     /* skip the proxy: the ceiling */
	bool pipeline;                   /* greeting and request in one write */
	bool up;                         /* bulk: client writes, sink discards */
	bool client_close;               /* cycles: close after the echo, no EOF wait */
	bool have_source;                /* bind client sockets to source (port 0) */
	struct sockaddr_storage source;
	socklen_t source_len;
	int conc;                        /* clients, streams or sessions */
	int threads;
	double secs;                     /* how long to measure */
	double warmup;                   /* cycles: seconds not counted */
	double hold;                     /* idle: seconds to hold the sessions */
	uint64_t bytes;                  /* bulk: stop after this many (0: no limit) */
	const char *listen;              /* servers: ADDR:PORT */
	const char *port_file;
	const char *label;               /* copied to the output line */
};

/* One client connection walking through the SOCKS5 handshake. */
enum lg_state {
	LG_CONNECTING,
	LG_CHOICE,      /* greeting sent, waiting for 05 00 */
	LG_REPLY,       /* request sent, waiting for the CONNECT reply */
	LG_READY,       /* handshake done: the mode takes over */
};

struct lg_conn {
	int fd;
	enum lg_state st;
	uint64_t t0;        /* ns, when this cycle started */
	size_t have;        /* bytes of the current reply in buf */
	uint8_t buf[300];   /* a SOCKS5 reply is at most 262 bytes */
};

/* Monotonic clock in nanoseconds. */
uint64_t lg_now(void);
/* CPU seconds (user + system) this process has used so far. */
double lg_cpu_self(void);
/* Parses "IP:PORT" (numeric only) into a sockaddr and a wire address. */
int lg_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len,
    struct wire_addr *w);
/* Raises RLIMIT_NOFILE to the hard limit; returns the new soft limit. */
long lg_raise_nofile(void);
/* Writes the port of a listening socket to path (and "listening ..." to stdout). */
int lg_report_port(int fd, const char *path);

/* Starts a non-blocking connect to the proxy (or the target when direct).
 * Returns 0 with c->st set, or -1.  The fd is added to ep (EPOLLOUT while
 * connecting, EPOLLIN after) with data.ptr = c. */
int lg_conn_start(struct lg_conn *c, const struct lg_opts *o, int ep);
/* Advances the handshake on an event.  Returns 1 when c reached LG_READY
 * (the fd is then registered for EPOLLIN), 0 to wait for more, -1 on error
 * (the caller closes c->fd). */
int lg_conn_step(struct lg_conn *c, const struct lg_opts *o, int ep);

/* Latency samples (microseconds), grown as needed. */
struct lg_lat {
	uint32_t *v;
	size_t n, cap;
};
int lg_lat_add(struct lg_lat *l, uint32_t us);
/* Percentile p in 0..100 of the samples (sorts them). */
uint32_t lg_lat_pct(struct lg_lat *l, double p);

/* The modes. */
int lg_run_cycles(const struct lg_opts *o);
int lg_run_bulk(const struct lg_opts *o);
int lg_run_idle(const struct lg_opts *o);
int lg_run_server(const struct lg_opts *o);
int lg_run_udp_echo(const struct lg_opts *o);

#endif
