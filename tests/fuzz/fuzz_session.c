/* fuzz_session.c: whole socksifyd sessions, run by a script: what clients
 * send and when they leave, how the targets they reach behave, BIND peers,
 * UDP datagrams both ways and the passing of time.  The server's own code
 * (accept, negotiation, authentication, connect, relay, BIND, UDP, limits,
 * timers, resolver, rules) serves the clients on one event loop in this
 * process, turned one step at a time with srv_loop_turn.
 *
 * The process is the world around the server:
 *  - the clock is the script's (srv_clock_ms here; server/clock.c is not
 *    linked), so timeouts fire when the script says and nothing sleeps;
 *  - getaddrinfo answers from a fixed table (hosts[] below), on the
 *    server's one resolver thread: no resolver is ever asked, and after
 *    each turn the harness waits until every lookup asked for has come
 *    back (resolver_barrier), unless the script holds them;
 *  - connect(), bind(), listen(), accept4() and sendto() are wrapped.  On
 *    the server's sockets every TCP destination becomes one of this
 *    process's sockets on 127.0.0.1 (a target that accepts, a port that
 *    refuses, a listener whose queue is full) or an error at once, as the
 *    script says; every UDP destination becomes one of its UDP sockets;
 *    the address of each socket the server listens on or binds for UDP
 *    is noted, so BIND peers and UDP clients know where to go; a client
 *    or target may get a small send buffer at the server's end.  Nothing
 *    leaves the host, and no port the script names is really reached.
 *
 * After the script every client leaves and time runs on: every session
 * must then end by itself (a session that outlives its client and every
 * timeout aborts), and no descriptor may be left over.  Replies must
 * match the protocol the client spoke, and with one client and one
 * target the relay must pass both streams on whole and in order.
 *
 * The script: byte 0 holds flags (FL_*), then one byte per step, the
 * high nibble the step (OP_*), the low nibble its argument a; some take
 * a length byte n and n bytes of data.  One loop turn follows each step.
 * tests/fuzz/session_seeds.py writes the seeds in corpus/fuzz_session/.
 * FUZZ_SESSION_LOG=1 in the environment shows the server's debug log.
 */
#include <sys/socket.h>
#include <sys/syscall.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "srv.h"
#include "fuzz_util.h"

enum {
	FL_OPEN = 1,             /* no users: anyone, no password */
	FL_S4_USERID = 2,        /* --socks4-userid */
	FL_NO_BIND = 4,          /* --no-bind */
	FL_NO_UDP = 8,           /* --no-udp */
	FL_AUTH_NOW = 16,        /* --auth-delay 0 */
	FL_DNS_HOLD = 32,        /* lookups are answered at OP_TURNS steps only */
	FL_STOP = 64,            /* the server stops at the end of the script */
	FL_EMFILE = 128,         /* the server's first accept finds no descriptor */
};

enum {
	OP_OPEN,     /* client a&3 connects (a&4: small buffers both ends,
	              * a&8: over IPv6) */
	OP_SEND,     /* client a&3 sends n bytes */
	OP_SHUT,     /* client a&3 shuts its writing side */
	OP_CLOSE,    /* client a&3 leaves (a&4: with a reset) */
	OP_READ,     /* client a&3 stops or starts reading */
	OP_ACCEPT,   /* the target accepts what waits */
	OP_TSEND,    /* target connection a&3 sends n bytes */
	OP_TBULK,    /* target connection a&3 sends bulk_size[a>>2] bytes */
	OP_TCTL,     /* target connection a&3: a>>2 = shut, close, reset, read toggle */
	OP_MODE,     /* the server's next connect: a&3 = reach (a&4: with a
	              * small send buffer), refused, no answer, or error
	              * errno_of[a>>2] at once */
	OP_PEER,     /* a peer connects to the last BIND port */
	OP_UDPC,     /* the UDP client sends an n-byte datagram to the relay,
	              * a*5+1 times */
	OP_UDPT,     /* the UDP target (a&1: IPv6) answers with n bytes,
	              * (a>>1)*10+1 times */
	OP_TURNS,    /* a+1 more turns (and held lookups are answered) */
	OP_TIME,     /* the clock moves on by tick_ms[a] */
	OP_CBULK,    /* client a&3 sends bulk_size[a>>2] bytes */
};

#define NCLI 4
#define NCONN 4
#define MAX_STEPS 512
#define BULK_MAX (1024 * 1024)
#define LOG_CAP (2 * 1024 * 1024)
#define SMALL_BUF 4096
/* Per session, at most: method choice, auth reply, two request replies. */
#define REPLY_MAX (2 + 2 + 22 + 22)
#define HFD_MAX 65536

/* Timeouts of the server, in ms of the script's clock. */
#define T_NEGO 1000
#define T_IDLE 4000
#define T_HALF 1500
#define T_AUTH 500

static const unsigned tick_ms[16] = {
	1, 5, 20, 50, 100, 200, 300, 499, 501, 700, 1001, 1501, 2000, 4001,
	10000, 61000,
};

static const int errno_of[4] = { ENETUNREACH, EACCES, ETIMEDOUT, EADDRNOTAVAIL };

static const size_t bulk_size[4] = { 16384, 65536, 262144, BULK_MAX };

enum { MODE_REACH, MODE_REFUSE, MODE_STALL, MODE_FAIL };

struct side_log {
	uint8_t *buf;
	size_t len;
	bool full;
};

struct peer {
	int fd;
	bool reading;
	bool eof;
	bool used;           /* opened during this script */
	bool small;          /* the server's end gets a small send buffer */
	union srv_sa local;
	struct side_log sent, rcvd;
};

struct srv srv_g;

static uint64_t fuzz_now = 1000000;
static bool hfd[HFD_MAX];            /* the harness's own descriptors */
static bool have_v6;

static struct peer cli[NCLI];
static int cli_first[NCLI];          /* first byte a client sent, or -1 */
static struct peer conn[NCONN];      /* accepted by the target, or BIND peers */
static unsigned ncli_opened, nconn_opened;
static size_t cli_sent_total, conn_sent_total, conn_rcvd_total;

static int t_listen = -1, t_refuse = -1, t_stall = -1;
static union srv_sa t_addr, refuse_addr, stall_addr;
static int ut[2] = { -1, -1 };       /* UDP targets: IPv4, IPv6 */
static union srv_sa ut_addr[2], ut_last[2];
static bool ut_got[2];
static int uc = -1;                  /* the UDP client of this script */
static union srv_sa uc_addr;

/* Noted from the server's own calls. */
static union srv_sa srv_bind_port, srv_udp_port;
static bool have_bind_port, have_udp_port;
/* The server's IPv4 listener, for self.test (written before the
 * resolver thread starts). */
static union srv_sa self_addr;

static uint8_t mode_q[8];
static unsigned mode_n;
static bool emfile_once;

/* FL_DNS_HOLD: lookups wait (on the resolver thread) while this is set. */
static pthread_mutex_t dns_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t dns_cv = PTHREAD_COND_INITIALIZER;
static bool dns_held;

static bool users_on = true;
static uint8_t bulk[BULK_MAX];
static uint8_t rbuf[65536];

/* ---- the clock ---- */

uint64_t
srv_clock_ms(void)
{
	return fuzz_now;
}

/* ---- descriptors ---- */

static void
mark(int fd)
{
	FUZZ_ASSERT(fd >= 0 && fd < HFD_MAX);
	hfd[fd] = true;
}

static void
hclose(int *fd)
{
	if (*fd < 0)
		return;
	hfd[*fd] = false;
	close(*fd);
	*fd = -1;
}

static bool
is_harness(int fd)
{
	return fd >= 0 && fd < HFD_MAX && hfd[fd];
}

static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	FUZZ_ASSERT(d != NULL);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static socklen_t
sa_len(const union srv_sa *a)
{
	return a->sa.sa_family == AF_INET6 ? sizeof(a->in6) : sizeof(a->in);
}

static bool
sa_eq(const union srv_sa *a, const struct sockaddr *b, socklen_t blen)
{
	return blen >= sa_len(a) && a->sa.sa_family == b->sa_family &&
	    memcmp(a, b, sa_len(a)) == 0;
}

/* a, as an address a socket of family fam can reach (IPv4 targets are
 * IPv4-mapped for IPv6 sockets). */
static void
sa_for_family(union srv_sa *out, const union srv_sa *a, int fam)
{
	memset(out, 0, sizeof(*out));
	if (fam == a->sa.sa_family) {
		*out = *a;
		return;
	}
	out->in6.sin6_family = AF_INET6;
	out->in6.sin6_port = a->in.sin_port;
	out->in6.sin6_addr.s6_addr[10] = 0xff;
	out->in6.sin6_addr.s6_addr[11] = 0xff;
	memcpy(&out->in6.sin6_addr.s6_addr[12], &a->in.sin_addr, 4);
}

static int
sock_int(int fd, int opt)
{
	int v = -1;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, opt, &v, &len) != 0)
		return -1;
	return v;
}

/* ---- the wrapped calls ---- */

/* With _GNU_SOURCE, glibc declares the address arguments of the socket
 * calls as a transparent union. */
#ifdef __USE_GNU
#define SA_IN(a) ((a).__sockaddr__)
#else
#define SA_IN(a) (a)
#endif

int
connect(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len)
{
	const struct sockaddr *sa = SA_IN(addr);
	union srv_sa to;
	int fam, mode;

	if (is_harness(fd))
		return (int)syscall(SYS_connect, fd, sa, len);
	fam = sock_int(fd, SO_DOMAIN);
	if (fam != AF_INET && fam != AF_INET6)
		return (int)syscall(SYS_connect, fd, sa, len);
	if (sock_int(fd, SO_TYPE) == SOCK_DGRAM) {
		/* A route lookup (BIND): the answer is always loopback. */
		memset(&to, 0, sizeof(to));
		if (fam == AF_INET) {
			to.in.sin_family = AF_INET;
			to.in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			to.in.sin_port = sa->sa_family == AF_INET ?
			    ((const struct sockaddr_in *)sa)->sin_port : 0;
		} else {
			if (!have_v6) {
				errno = ENETUNREACH;
				return -1;
			}
			to.in6.sin6_family = AF_INET6;
			to.in6.sin6_addr = in6addr_loopback;
			to.in6.sin6_port = sa->sa_family == AF_INET6 ?
			    ((const struct sockaddr_in6 *)sa)->sin6_port : 0;
		}
		return (int)syscall(SYS_connect, fd, &to.sa, sa_len(&to));
	}
	mode = MODE_REACH;
	if (mode_n > 0) {
		mode = mode_q[0];
		memmove(mode_q, mode_q + 1, --mode_n);
	}
	switch (mode & 3) {
	case MODE_REACH:
		if (mode & 4) {
			int sz = SMALL_BUF;
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		}
		sa_for_family(&to, &t_addr, fam);
		break;
	case MODE_REFUSE:
		sa_for_family(&to, &refuse_addr, fam);
		break;
	case MODE_STALL:
		sa_for_family(&to, &stall_addr, fam);
		break;
	default:
		errno = errno_of[(mode >> 2) & 3];
		return -1;
	}
	return (int)syscall(SYS_connect, fd, &to.sa, sa_len(&to));
}

ssize_t
sendto(int fd, const void *buf, size_t len, int flags, __CONST_SOCKADDR_ARG addr,
    socklen_t salen)
{
	const struct sockaddr *sa = SA_IN(addr);
	int fam;
	const union srv_sa *to;

	if (is_harness(fd) || sa == NULL || (uc >= 0 && sa_eq(&uc_addr, sa, salen)))
		return syscall(SYS_sendto, fd, buf, len, flags, sa, salen);
	fam = sock_int(fd, SO_DOMAIN);
	to = &ut_addr[fam == AF_INET6];
	if (ut[fam == AF_INET6] < 0) {
		errno = ENETUNREACH;
		return -1;
	}
	return syscall(SYS_sendto, fd, buf, len, flags, &to->sa, sa_len(to));
}

static void
note_addr(int fd, union srv_sa *a, bool *have)
{
	socklen_t len = sizeof(*a);

	*have = getsockname(fd, &a->sa, &len) == 0 &&
	    (a->sa.sa_family == AF_INET || a->sa.sa_family == AF_INET6);
}

int
bind(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len)
{
	int rc = (int)syscall(SYS_bind, fd, SA_IN(addr), len);

	if (rc == 0 && !is_harness(fd) && sock_int(fd, SO_TYPE) == SOCK_DGRAM)
		note_addr(fd, &srv_udp_port, &have_udp_port);
	return rc;
}

int
listen(int fd, int backlog)
{
	int rc = (int)syscall(SYS_listen, fd, backlog);

	if (rc == 0 && !is_harness(fd))
		note_addr(fd, &srv_bind_port, &have_bind_port);
	return rc;
}

int
accept4(int fd, __SOCKADDR_ARG addr, socklen_t *len, int flags)
{
	union srv_sa peer;
	socklen_t plen = sizeof(peer);
	int nfd;

	if (is_harness(fd))
		return (int)syscall(SYS_accept4, fd, SA_IN(addr), len, flags);
	if (emfile_once) {
		emfile_once = false;
		errno = EMFILE;
		return -1;
	}
	nfd = (int)syscall(SYS_accept4, fd, &peer.sa, &plen, flags);
	if (nfd < 0)
		return -1;
	if (SA_IN(addr) != NULL && len != NULL) {
		memcpy(SA_IN(addr), &peer, *len < plen ? *len : plen);
		*len = plen;
	}
	/* A client that asked for small buffers gets them at the server's
	 * end too, so that the server's writes to it can fall short. */
	for (int i = 0; i < NCLI; i++) {
		if (cli[i].fd >= 0 && cli[i].small && sa_eq(&cli[i].local, &peer.sa, plen)) {
			int sz = SMALL_BUF;
			setsockopt(nfd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		}
	}
	return nfd;
}

/* The names the script can look up; everything else does not exist;
 * self.test is the server's own listener. */
static const struct {
	const char *name;
	const char *addr[3];
} hosts[] = {
	{ "target.test", { "127.0.0.1" } },
	{ "v6.test", { "::1" } },
	{ "two.test", { "127.0.0.1", "::1" } },
	{ "denied.test", { "10.1.2.3" } },
	{ "mixed.test", { "10.1.2.3", "2001:db8::1", "127.0.0.1" } },
	{ "localhost", { "127.0.0.1", "::1" } },
	{ "self.test", { "self" } },
};

struct fake_ai {
	struct addrinfo ai;
	union srv_sa sa;
};

int
getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
    struct addrinfo **res)
{
	struct fake_ai *a;
	const char *const *addr;
	const char *numeric[2] = { node, NULL };
	size_t h, n = 0, k = 0;
	unsigned long port = service != NULL ? strtoul(service, NULL, 10) : 0;
	unsigned char probe[16];

	*res = NULL;
	if (node == NULL)
		return EAI_NONAME;
	/* AI_NUMERICHOST: the server's own check for an address written as
	 * a name, on the loop's thread; no name server is asked, so nothing
	 * holds it. */
	if (hints != NULL && (hints->ai_flags & AI_NUMERICHOST)) {
		if (inet_pton(AF_INET, node, probe) != 1 && inet_pton(AF_INET6, node, probe) != 1)
			return EAI_NONAME;
		addr = numeric;
	} else {
		pthread_mutex_lock(&dns_mu);
		while (dns_held)
			pthread_cond_wait(&dns_cv, &dns_mu);
		pthread_mutex_unlock(&dns_mu);
		for (h = 0; h < sizeof(hosts) / sizeof(hosts[0]); h++)
			if (strcmp(node, hosts[h].name) == 0)
				break;
		if (h == sizeof(hosts) / sizeof(hosts[0]))
			return EAI_NONAME;
		addr = hosts[h].addr;
	}
	while (n < 3 && addr[n] != NULL)
		n++;
	/* One allocation, freed whole by freeaddrinfo below. */
	a = calloc(n, sizeof(*a));
	if (a == NULL)
		return EAI_MEMORY;
	for (size_t i = 0; i < n; i++) {
		struct fake_ai *x = &a[k];
		if (strcmp(addr[i], "self") == 0) {
			x->sa = self_addr;
		} else if (inet_pton(AF_INET, addr[i], &x->sa.in.sin_addr) == 1) {
			x->sa.in.sin_family = AF_INET;
			x->sa.in.sin_port = htons((uint16_t)port);
		} else {
			FUZZ_ASSERT(inet_pton(AF_INET6, addr[i], &x->sa.in6.sin6_addr) == 1);
			x->sa.in6.sin6_family = AF_INET6;
			x->sa.in6.sin6_port = htons((uint16_t)port);
		}
		if (hints != NULL && hints->ai_family != AF_UNSPEC &&
		    hints->ai_family != x->sa.sa.sa_family)
			continue;
		x->ai.ai_family = x->sa.sa.sa_family;
		x->ai.ai_socktype = hints != NULL ? hints->ai_socktype : SOCK_STREAM;
		x->ai.ai_addr = &x->sa.sa;
		x->ai.ai_addrlen = sa_len(&x->sa);
		if (k > 0)
			a[k - 1].ai.ai_next = &x->ai;
		k++;
	}
	if (k == 0) {
		free(a);
		return EAI_NONAME;
	}
	*res = &a[0].ai;
	return 0;
}

void
freeaddrinfo(struct addrinfo *ai)
{
	free(ai);
}

static void
dns_hold(bool on)
{
	pthread_mutex_lock(&dns_mu);
	dns_held = on;
	pthread_cond_broadcast(&dns_cv);
	pthread_mutex_unlock(&dns_mu);
}

/* ---- the world's sockets ---- */

static int
hsocket(int fam, int type)
{
	int fd = socket(fam, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	FUZZ_ASSERT(fd >= 0);
	mark(fd);
	return fd;
}

static int
loop_sock(int fam, int type, union srv_sa *addr)
{
	int fd = hsocket(fam, type);
	socklen_t len = sizeof(*addr);

	memset(addr, 0, sizeof(*addr));
	if (fam == AF_INET) {
		addr->in.sin_family = AF_INET;
		addr->in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	} else {
		addr->in6.sin6_family = AF_INET6;
		addr->in6.sin6_addr = in6addr_loopback;
	}
	if (bind(fd, &addr->sa, sa_len(addr)) != 0) {
		hclose(&fd);
		return -1;
	}
	FUZZ_ASSERT(getsockname(fd, &addr->sa, &len) == 0);
	return fd;
}

/* A listener nobody accepts from, its queue full: connects to it wait
 * for an answer that never comes. */
static void
stall_init(void)
{
	t_stall = loop_sock(AF_INET, SOCK_STREAM, &stall_addr);
	FUZZ_ASSERT(t_stall >= 0 && listen(t_stall, 0) == 0);
	for (int i = 0; i < 4; i++) {
		int fd = hsocket(AF_INET, SOCK_STREAM);
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };

		connect(fd, &stall_addr.sa, sa_len(&stall_addr));
		if (poll(&pfd, 1, 50) == 0) {
			/* No answer: the queue is full.  The fillers stay. */
			hclose(&fd);
			return;
		}
	}
	FUZZ_ASSERT(!"the stall listener never filled up");
}

static void
world_init(void)
{
	t_listen = loop_sock(AF_INET, SOCK_STREAM, &t_addr);
	FUZZ_ASSERT(t_listen >= 0 && listen(t_listen, 64) == 0);
	/* Bound but not listening: connects are refused. */
	t_refuse = loop_sock(AF_INET, SOCK_STREAM, &refuse_addr);
	FUZZ_ASSERT(t_refuse >= 0);
	stall_init();
	ut[0] = loop_sock(AF_INET, SOCK_DGRAM, &ut_addr[0]);
	FUZZ_ASSERT(ut[0] >= 0);
	ut[1] = loop_sock(AF_INET6, SOCK_DGRAM, &ut_addr[1]);
	have_v6 = ut[1] >= 0;
	for (size_t i = 0; i < sizeof(bulk); i++)
		bulk[i] = (uint8_t)(i * 7 + i / 251);
}

static void
log_put(struct side_log *l, const uint8_t *p, size_t n)
{
	if (l->buf == NULL) {
		l->buf = malloc(LOG_CAP);
		FUZZ_ASSERT(l->buf != NULL);
	}
	if (n > LOG_CAP - l->len) {
		l->full = true;
		n = LOG_CAP - l->len;
	}
	memcpy(l->buf + l->len, p, n);
	l->len += n;
}

static void
peer_reset(struct peer *p, int fd)
{
	p->fd = fd;
	p->used = fd >= 0;
	p->reading = true;
	p->eof = false;
	p->sent.len = p->rcvd.len = 0;
	p->sent.full = p->rcvd.full = false;
}

static size_t
peer_send(struct peer *p, const uint8_t *data, size_t n)
{
	size_t off = 0;

	while (p->fd >= 0 && off < n) {
		ssize_t w = send(p->fd, data + off, n - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w <= 0)
			break;
		log_put(&p->sent, data + off, (size_t)w);
		off += (size_t)w;
	}
	return off;
}

static void
peer_drain(struct peer *p, size_t *total)
{
	while (p->fd >= 0 && p->reading && !p->eof) {
		ssize_t n = recv(p->fd, rbuf, sizeof(rbuf), MSG_DONTWAIT);
		if (n > 0) {
			log_put(&p->rcvd, rbuf, (size_t)n);
			if (total != NULL)
				*total += (size_t)n;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			p->eof = true;
		if (n < 0 && errno == EINTR)
			continue;
		break;
	}
}

static void
peer_close(struct peer *p, bool reset)
{
	if (p->fd < 0)
		return;
	if (reset) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };
		setsockopt(p->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	hclose(&p->fd);
}

static int
conn_slot(void)
{
	for (int i = 0; i < NCONN; i++)
		if (conn[i].fd < 0)
			return i;
	return -1;
}

static void
udp_drain(int fd, union srv_sa *last, bool *got)
{
	for (;;) {
		union srv_sa src;
		socklen_t len = sizeof(src);
		ssize_t n = recvfrom(fd, rbuf, sizeof(rbuf), MSG_DONTWAIT, &src.sa, &len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			continue;   /* an ICMP error for an earlier datagram */
		if (n < 0)
			return;
		if (last != NULL) {
			*last = src;
			*got = true;
		}
	}
}

/* What the world does between turns: every side reads what came. */
static void
world_poll(void)
{
	for (int i = 0; i < NCLI; i++)
		peer_drain(&cli[i], NULL);
	for (int i = 0; i < NCONN; i++)
		peer_drain(&conn[i], &conn_rcvd_total);
	for (int i = 0; i < 2; i++)
		if (ut[i] >= 0)
			udp_drain(ut[i], &ut_last[i], &ut_got[i]);
	if (uc >= 0)
		udp_drain(uc, NULL, NULL);
}

/* ---- turning the loop ---- */

/* Waits until every lookup asked for so far has been answered and
 * handed back: the resolver says when it holds none. */
static void
resolver_barrier(void)
{
	for (int i = 0; !srv_resolve_idle(srv_w); i++) {
		FUZZ_ASSERT(i < 1000);   /* a lookup never came back */
		FUZZ_ASSERT(srv_loop_turn(&srv_w->loop, 10) == 0);
	}
}

static bool
lookups_possible(void)
{
	for (struct srv_session *s = srv_w->all; s != NULL; s = s->next)
		if (s->state == SRV_ST_RESOLVE || s->state == SRV_ST_UDP)
			return true;
	return false;
}

static void
turn(void)
{
	FUZZ_ASSERT(srv_loop_turn(&srv_w->loop, 0) == 0);
	if (!dns_held && lookups_possible())
		resolver_barrier();
	world_poll();
}

/* ---- the users in force ---- */

static void
add_user(struct srv_cfg *c, const char *up)
{
	const char *why = NULL;

	FUZZ_ASSERT(srv_users_add(c, up, &why) == 0);
}

static void
add_deny(struct srv_cfg *c)
{
	const char *why = NULL;

	FUZZ_ASSERT(srv_acl_add(&c->deny, &c->ndeny, "10.0.0.0/8", &why) == 0);
	FUZZ_ASSERT(srv_acl_add(&c->deny, &c->ndeny, "2001:db8::/32", &why) == 0);
}

/* Puts a set of rules with or without users in force, as a reload would. */
static void
set_users(bool on)
{
	struct srv_cfg fresh;

	if (on == users_on)
		return;
	memset(&fresh, 0, sizeof(fresh));
	if (on) {
		add_user(&fresh, "alice:secret");
		add_user(&fresh, "eve:");
	}
	add_deny(&fresh);
	FUZZ_ASSERT(srv_rules_replace(&fresh) == 0);
	users_on = on;
	turn();
	FUZZ_ASSERT(srv_w->rules->nusers == (on ? 2u : 0u));
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct srv_cfg *cfg = &srv_g.cfg;
	const char *why = NULL;

	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	srv_verbosity = getenv("FUZZ_SESSION_LOG") != NULL ? 1 : -1;
	srv_g.sigfd = -1;
	world_init();
	cfg->listen = calloc(2, sizeof(*cfg->listen));
	FUZZ_ASSERT(cfg->listen != NULL);
	cfg->listen[0].type = WIRE_ATYP_IPV4;
	cfg->listen[0].u.ip4[0] = 127;
	cfg->listen[0].u.ip4[3] = 1;
	cfg->nlisten = 1;
	if (have_v6) {
		cfg->listen[1].type = WIRE_ATYP_IPV6;
		cfg->listen[1].u.ip6[15] = 1;
		cfg->nlisten = 2;
	}
	add_user(cfg, "alice:secret");
	add_user(cfg, "eve:");
	FUZZ_ASSERT(srv_acl_add(&cfg->allow, &cfg->nallow, "127.0.0.0/8", &why) == 0);
	FUZZ_ASSERT(srv_acl_add(&cfg->allow, &cfg->nallow, "::1/128", &why) == 0);
	add_deny(cfg);
	cfg->max_conns = 3;
	cfg->max_per_client = 2;
	cfg->max_binds_per_client = 1;
	cfg->max_udp_per_client = 1;
	cfg->auth_fail_limit = 2;
	cfg->auth_delay_ms = T_AUTH;
	cfg->timeout_ms = T_NEGO;
	cfg->idle_ms = T_IDLE;
	cfg->half_ms = T_HALF;
	cfg->threads = 1;
	/* No cache: an input must not be answered from what an earlier one
	 * looked up.  Attempts race as in a real server. */
	cfg->dns_cache = 0;
	cfg->attempt_ms = 2000;
	FUZZ_ASSERT(srv_limits_init() == 0);
	FUZZ_ASSERT(srv_rules_init(cfg) == 0);
	FUZZ_ASSERT(srv_workers_init(1) == 0);
	FUZZ_ASSERT(srv_workers_listen() == 0);
	self_addr = srv_w->ls[0].addr;
	FUZZ_ASSERT(srv_resolve_init(1, 4) == 0);
	for (int i = 0; i < NCLI; i++)
		cli[i].fd = -1;
	for (int i = 0; i < NCONN; i++)
		conn[i].fd = -1;
	return 0;
}

/* ---- one script ---- */

struct script {
	const uint8_t *p;
	size_t n;
};

static bool
next_byte(struct script *sc, uint8_t *b)
{
	if (sc->n == 0)
		return false;
	*b = *sc->p++;
	sc->n--;
	return true;
}

/* A length byte and up to that many bytes of data. */
static size_t
next_data(struct script *sc, const uint8_t **data)
{
	uint8_t len = 0;
	size_t n;

	next_byte(sc, &len);
	n = len < sc->n ? len : sc->n;
	*data = sc->p;
	sc->p += n;
	sc->n -= n;
	return n;
}

static void
client_open(int k, bool small, bool v6)
{
	struct srv_listener *l = &srv_w->ls[v6 && srv_w->nls > 1];
	socklen_t len = sizeof(cli[k].local);
	int fd;

	if (cli[k].fd >= 0)
		return;
	fd = hsocket(l->addr.sa.sa_family, SOCK_STREAM);
	if (small) {
		int sz = 1024;
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	if (connect(fd, &l->addr.sa, sa_len(&l->addr)) != 0 && errno != EINPROGRESS) {
		hclose(&fd);
		return;
	}
	peer_reset(&cli[k], fd);
	cli[k].small = small;
	FUZZ_ASSERT(getsockname(fd, &cli[k].local.sa, &len) == 0);
	cli_first[k] = -1;
	ncli_opened++;
}

static void
client_send(int k, const uint8_t *data, size_t n)
{
	size_t w = peer_send(&cli[k], data, n);

	if (w > 0 && cli_first[k] < 0)
		cli_first[k] = data[0];
	cli_sent_total += w;
}

static void
target_accept(void)
{
	int k;

	while ((k = conn_slot()) >= 0) {
		int fd = accept4(t_listen, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		mark(fd);
		peer_reset(&conn[k], fd);
		nconn_opened++;
	}
}

static void
bind_peer(void)
{
	int k = conn_slot(), fd;

	if (k < 0 || !have_bind_port)
		return;
	if (srv_bind_port.sa.sa_family == AF_INET6 && !have_v6)
		return;
	fd = hsocket(srv_bind_port.sa.sa_family, SOCK_STREAM);
	if (connect(fd, &srv_bind_port.sa, sa_len(&srv_bind_port)) != 0 &&
	    errno != EINPROGRESS) {
		hclose(&fd);
		return;
	}
	peer_reset(&conn[k], fd);
	nconn_opened++;
}

/* The UDP client sits on the loopback address of the relay's family. */
static void
udp_client_send(const uint8_t *data, size_t n, unsigned times)
{
	int fam = srv_udp_port.sa.sa_family;

	if (!have_udp_port)
		return;
	if (uc >= 0 && uc_addr.sa.sa_family != fam)
		hclose(&uc);
	if (uc < 0) {
		uc = loop_sock(fam, SOCK_DGRAM, &uc_addr);
		if (uc < 0)
			return;
	}
	while (times-- > 0)
		sendto(uc, data, n, MSG_DONTWAIT, &srv_udp_port.sa, sa_len(&srv_udp_port));
}

static void
udp_target_send(int v6, const uint8_t *data, size_t n, unsigned times)
{
	if (ut[v6] < 0 || !ut_got[v6])
		return;
	while (times-- > 0)
		sendto(ut[v6], data, n, MSG_DONTWAIT, &ut_last[v6].sa, sa_len(&ut_last[v6]));
}

static void
step(struct script *sc, uint8_t op)
{
	unsigned a = op & 15;
	int k = (int)(a & 3);
	struct peer *c = &conn[a & 3];
	const uint8_t *data;
	size_t n;

	switch (op >> 4) {
	case OP_OPEN:
		client_open(k, (a & 4) != 0, (a & 8) != 0);
		break;
	case OP_SEND:
		n = next_data(sc, &data);
		client_send(k, data, n);
		break;
	case OP_SHUT:
		if (cli[k].fd >= 0)
			shutdown(cli[k].fd, SHUT_WR);
		break;
	case OP_CLOSE:
		peer_close(&cli[k], (a & 4) != 0);
		break;
	case OP_READ:
		cli[k].reading = !cli[k].reading;
		break;
	case OP_ACCEPT:
		target_accept();
		break;
	case OP_TSEND:
		n = next_data(sc, &data);
		conn_sent_total += peer_send(c, data, n);
		break;
	case OP_TBULK:
		conn_sent_total += peer_send(c, bulk, bulk_size[a >> 2]);
		break;
	case OP_TCTL:
		switch (a >> 2) {
		case 0:
			if (c->fd >= 0)
				shutdown(c->fd, SHUT_WR);
			break;
		case 1:
		case 2:
			peer_close(c, (a >> 2) == 2);
			break;
		default:
			c->reading = !c->reading;
			break;
		}
		break;
	case OP_MODE:
		if (mode_n < sizeof(mode_q))
			mode_q[mode_n++] = (uint8_t)a;
		break;
	case OP_PEER:
		bind_peer();
		break;
	case OP_UDPC:
		n = next_data(sc, &data);
		udp_client_send(data, n, a * 5 + 1);
		break;
	case OP_UDPT:
		n = next_data(sc, &data);
		udp_target_send((int)(a & 1), data, n, (a >> 1) * 10 + 1);
		break;
	case OP_TURNS:
		if (dns_held) {
			dns_hold(false);
			resolver_barrier();
			dns_hold(true);
		}
		for (unsigned i = 0; i < a; i++)
			turn();
		break;
	case OP_TIME:
		fuzz_now += tick_ms[a];
		/* This turn sees the new time; the next one fires the timers. */
		turn();
		break;
	case OP_CBULK:
		n = peer_send(&cli[k], bulk, bulk_size[a >> 2]);
		if (n > 0 && cli_first[k] < 0)
			cli_first[k] = bulk[0];
		cli_sent_total += n;
		break;
	}
	turn();
}

static bool
log_has(const struct side_log *hay, const struct side_log *needle)
{
	if (needle->len == 0)
		return true;
	if (hay->len < needle->len)
		return false;
	return memmem(hay->buf, hay->len, needle->buf, needle->len) != NULL;
}

/* Whether rcvd is up to REPLY_MAX bytes of replies, then a prefix of
 * sent. */
static bool
starts_after_replies(const struct side_log *rcvd, const struct side_log *sent)
{
	for (size_t k = 0; k <= REPLY_MAX && k <= rcvd->len; k++) {
		size_t n = rcvd->len - k;
		if (n == 0)
			return true;
		if (n <= sent->len && memcmp(rcvd->buf + k, sent->buf, n) == 0)
			return true;
	}
	return false;
}

/* What the clients saw must fit the protocol they spoke, and the relay
 * must pass bytes on whole, in order, and invent none. */
static void
check_peers(void)
{
	FUZZ_ASSERT(conn_rcvd_total <= cli_sent_total);
	for (int i = 0; i < NCLI; i++) {
		struct peer *p = &cli[i];
		if (p->rcvd.len == 0)
			continue;
		FUZZ_ASSERT(cli_first[i] == 4 || cli_first[i] == 5);
		FUZZ_ASSERT(p->rcvd.buf[0] == (cli_first[i] == 5 ? 5 : 0));
		FUZZ_ASSERT(p->rcvd.len <= REPLY_MAX + conn_sent_total);
	}
	/* With one client and one connection on the far side, the target got
	 * a piece of what the client sent, and the client got at most a few
	 * replies, then the start of what the target sent. */
	if (ncli_opened == 1 && nconn_opened == 1) {
		for (int i = 0; i < NCLI; i++) {
			for (int j = 0; j < NCONN; j++) {
				if (!cli[i].used || !conn[j].used ||
				    cli[i].sent.full || cli[i].rcvd.full ||
				    conn[j].sent.full || conn[j].rcvd.full)
					continue;
				FUZZ_ASSERT(log_has(&cli[i].sent, &conn[j].rcvd));
				FUZZ_ASSERT(starts_after_replies(&cli[i].rcvd, &conn[j].sent));
			}
		}
	}
}

static const char *
state_name(uint8_t st)
{
	static const char *const names[] = {
		"greet", "s5-methods", "s5-auth", "auth-wait", "s5-req", "s4-req",
		"resolve", "connect", "bind-wait", "udp", "relay", "closing", "dead",
	};

	return st < sizeof(names) / sizeof(names[0]) ? names[st] : "?";
}

/* Every client leaves and time runs on: every session must end. */
static void
world_leaves(void)
{
	static const unsigned later[] = { 0, T_AUTH + 1, T_NEGO + 1, T_HALF + 1,
		T_IDLE + 1, T_IDLE + 1 };

	for (int i = 0; i < NCLI; i++)
		peer_close(&cli[i], false);
	hclose(&uc);
	for (size_t i = 0; i < sizeof(later) / sizeof(later[0]); i++) {
		fuzz_now += later[i];
		for (int t = 0; t < 3; t++)
			turn();
	}
	for (struct srv_session *s = srv_w->all; s != NULL; s = s->next)
		fprintf(stderr, "fuzz_session: a session in state %s outlived its client\n",
		    state_name(s->state));
	FUZZ_ASSERT(srv_w->all == NULL);
	for (int i = 0; i < NCONN; i++)
		peer_close(&conn[i], false);
	emfile_once = false;
	/* Lookups that were cancelled come back and are freed. */
	dns_hold(false);
	resolver_barrier();
	/* Connections the target never took. */
	for (;;) {
		int fd = accept4(t_listen, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			break;
		close(fd);
	}
	world_poll();
	FUZZ_ASSERT(srv_w->all == NULL && srv_w->nsess == 0);
	FUZZ_ASSERT(srv_w->dead == NULL && srv_w->again == NULL);
	/* A new minute: failed logins of this script are forgotten. */
	fuzz_now += 61000;
	turn();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct script sc = { data, size };
	uint8_t flags = 0, op;
	int fds_before, fds_after;
	unsigned steps = 0;

	next_byte(&sc, &flags);
	fds_before = count_fds();
	set_users((flags & FL_OPEN) == 0);
	srv_g.cfg.socks4_userid = (flags & FL_S4_USERID) != 0;
	srv_g.cfg.no_bind = (flags & FL_NO_BIND) != 0;
	srv_g.cfg.no_udp = (flags & FL_NO_UDP) != 0;
	srv_g.cfg.auth_delay_ms = (flags & FL_AUTH_NOW) != 0 ? 0 : T_AUTH;
	emfile_once = (flags & FL_EMFILE) != 0;
	dns_hold((flags & FL_DNS_HOLD) != 0);
	for (int i = 0; i < NCLI; i++) {
		peer_reset(&cli[i], cli[i].fd);
		cli_first[i] = -1;
	}
	for (int i = 0; i < NCONN; i++)
		peer_reset(&conn[i], conn[i].fd);
	mode_n = 0;
	have_bind_port = have_udp_port = false;
	ut_got[0] = ut_got[1] = false;
	ncli_opened = nconn_opened = 0;
	cli_sent_total = conn_sent_total = conn_rcvd_total = 0;
	while (steps++ < MAX_STEPS && next_byte(&sc, &op))
		step(&sc, op);
	/* The script is over: a few more turns for what is under way. */
	for (int t = 0; t < 4; t++)
		turn();
	check_peers();
	if (flags & FL_STOP) {
		/* As at exit: every session ends, whatever it was doing. */
		srv_sessions_stop_all();
		FUZZ_ASSERT(srv_w->all == NULL);
	}
	world_leaves();
	fds_after = count_fds();
	if (fds_after != fds_before)
		fprintf(stderr, "fuzz_session: %d descriptors before, %d after\n",
		    fds_before, fds_after);
	FUZZ_ASSERT(fds_after == fds_before);
	return 0;
}
