/* chain.c: picking the hops of a chain and building it, one step at a time.
 *
 * Hop k is reached through hops 1..k-1: a TCP connect to the first hop,
 * then each hop is asked to CONNECT to the next one's address, and the
 * last one gets the program's command for the destination.  Modes: strict
 * (every hop, in order, any failure is final), dynamic (in order, dead
 * hops skipped, at least one must live), random and round_robin (chain_len
 * hops, dead ones skipped).  After a dead hop the socket is disconnected
 * (connect with AF_UNSPEC) and the live path is built again on the same
 * socket: the program's socket stays the program's.  One deadline covers
 * the whole chain; each hop's connect also has its own connect_timeout.  A
 * failure is never followed by a direct connection.
 *
 * The chain is a state machine: chain_step() does what it can without
 * blocking and says what it waits for, so a caller can drive it from poll
 * (chain_run) or, later, from the program's own event loop.  It works on a
 * private dup of the program's fd, so a program that closes the fd and
 * opens something else under the same number meanwhile never gets
 * handshake bytes, a flag change or a socket dup'ed over its new file.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* ThreadSanitizer tracks fds through the calls it intercepts; our real_*
 * functions go straight to libc.  In a TSan build the private dup is made
 * and closed through the intercepted names, so that the sanitizer sees
 * where it came from and reports no race on its number. */
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define DUP_SEEN_BY_TSAN 1
#endif
#endif

static int
private_dup(int fd)
{
#ifdef DUP_SEEN_BY_TSAN
	int d = dup(fd);

	if (d >= 0)
		(void)real_fcntl(d, F_SETFD, FD_CLOEXEC);
	return d;
#else
	return real_fcntl(fd, F_DUPFD_CLOEXEC, 0);
#endif
}

static void
private_close(int fd)
{
#ifdef DUP_SEEN_BY_TSAN
	(void)close(fd);
#else
	(void)real_close(fd);
#endif
}

enum chain_state {
	CS_NEXT,        /* decide the next step */
	CS_TCP,         /* connecting to the first hop */
	CS_LINK,        /* asking the last hop so far to reach the next one */
	CS_GREET,       /* greeting the hop just reached */
	CS_FINAL,       /* the program's request at the last hop */
	CS_DONE,
	CS_FAILED,
};

struct chain {
	const struct cfg *cfg;
	enum chain_state st;
	uint8_t cmd;
	bool probe;               /* no destination: build the path only */
	bool strict;
	bool trying;              /* the step under way extends the path */
	bool app_dirty;           /* a connect was tried on app */
	bool work_dirty;          /* ... on work, when it is not app */
	bool own_app;             /* app is our dup, to be closed */
	bool flags_changed;
	int8_t app_v6only;        /* -1 until asked */
	int app;                  /* the program's socket (a private dup) */
	int work;                 /* the socket the chain is built on */
	int app_family;
	int app_flags;            /* the program's file status flags */
	int64_t deadline;         /* the whole handshake */
	int64_t op_deadline;      /* the step under way */
	unsigned hop;             /* config index of the hop the step is for */
	unsigned order[CFG_MAX_PROXIES], norder, k, want;
	unsigned path[CFG_MAX_PROXIES], npath, built;
	struct wire_addr dst;
	struct sockaddr_storage hopsa;
	socklen_t hopsalen;
	struct sfy_fail fail;
	struct hs hs;
};

static uint64_t rr_next;
static uint64_t rng_state;

/* splitmix64 over an atomic counter: lock-free and thread-safe; the pid
 * is mixed in so a forked child does not repeat its parent's choices. */
static uint64_t
rng_next(void)
{
	uint64_t z;

	if (__atomic_load_n(&rng_state, __ATOMIC_RELAXED) == 0) {
		uint64_t seed = (uint64_t)io_now_ms() * 0x9E3779B97F4A7C15ULL ^
		    (uint64_t)(uintptr_t)&z, zero = 0;
		__atomic_compare_exchange_n(&rng_state, &zero, seed | 1, false,
		    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	}
	z = __atomic_add_fetch(&rng_state, 0x9E3779B97F4A7C15ULL, __ATOMIC_RELAXED);
	z ^= (uint64_t)getpid() << 32;
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* Fills order with the candidate hops in the order to try them; returns
 * how many hops the chain wants (0: as many as live, dynamic). */
static unsigned
pick_order(const struct cfg *c, unsigned *order)
{
	unsigned n = c->nproxies, want = c->chain_len ? c->chain_len : n;

	for (unsigned i = 0; i < n; i++)
		order[i] = i;
	switch (c->chain) {
	case CFG_CHAIN_STRICT:
		return n;
	case CFG_CHAIN_DYNAMIC:
		return 0;
	case CFG_CHAIN_ROUND_ROBIN: {
		unsigned start = (unsigned)(__atomic_fetch_add(&rr_next, 1,
		    __ATOMIC_RELAXED) % n);
		for (unsigned i = 0; i < n; i++)
			order[i] = (start + i) % n;
		return want;
	}
	case CFG_CHAIN_RANDOM:
		for (unsigned i = n - 1; i > 0; i--) {
			unsigned j = (unsigned)(rng_next() % (i + 1)), t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
		return want;
	}
	return n;
}

static void __attribute__((format(printf, 5, 6), noinline))
set_fail(struct chain *c, enum fail_stage stage, enum fail_kind kind, int err,
    const char *fmt, ...)
{
	va_list ap;

	c->fail.hop = (uint8_t)(c->hop + 1);
	c->fail.stage = (uint8_t)stage;
	c->fail.kind = (uint8_t)kind;
	c->fail.err = err;
	c->fail.code = 0;
	va_start(ap, fmt);
	vsnprintf(c->fail.detail, sizeof(c->fail.detail), fmt, ap);
	va_end(ap);
}

/* Resolves a proxy's address (IP or name) for the TCP connect to it.  The
 * proxy's own name is resolved locally, by libc, never by our hooks. */
static int
hop_sockaddr(const struct wire_addr *w, struct sockaddr_storage *ss, socklen_t *len,
    int prefer_family)
{
	struct addrinfo hints, *res = NULL, *ai, *pick = NULL;

	if (w->type != WIRE_ATYP_NAME)
		return addr_sockaddr_from_wire(ss, len, w);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	if (real_getaddrinfo(w->u.name, NULL, &hints, &res) != 0 || res == NULL)
		return -1;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		if (pick == NULL || (ai->ai_family == prefer_family &&
		    pick->ai_family != prefer_family))
			pick = ai;
	}
	if (pick == NULL) {
		real_freeaddrinfo(res);
		return -1;
	}
	memcpy(ss, pick->ai_addr, pick->ai_addrlen);
	*len = pick->ai_addrlen;
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(w->port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons(w->port);
	real_freeaddrinfo(res);
	return 0;
}

/* Makes the socket of another family that the first hop needs. */
static int
fresh_socket(struct chain *c, int family)
{
	int proto = IPPROTO_TCP;
	socklen_t l = sizeof(proto);

	if (c->work >= 0 && c->work != c->app) {
		if (!c->work_dirty) {
			struct sockaddr_storage ss;
			socklen_t sl = sizeof(ss);
			if (real_getsockname(c->work, (struct sockaddr *)&ss, &sl) == 0 &&
			    ss.ss_family == family)
				return 0;
		}
		real_close(c->work);
		c->work = -1;
	}
	if (real_getsockopt(c->app, SOL_SOCKET, SO_PROTOCOL, &proto, &l) != 0)
		proto = IPPROTO_TCP;
	c->work = swap_new_socket(family, proto);
	c->work_dirty = false;
	return c->work < 0 ? -1 : 0;
}

/* Disconnects a socket a connect was tried on, so it can connect again. */
static void
disconnect(int fd)
{
	struct sockaddr sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNSPEC;
	(void)real_connect(fd, &sa, sizeof(sa));
}

/* Logs "hop K (URL): <what>"; out of line, so that its buffers stay off
 * the stack of a hook unless a line is written. */
static void __attribute__((noinline))
log_hop(const struct chain *c, enum cfg_log level, const char *what, const char *more)
{
	char name[ADDR_STRLEN + 16], a[ADDR_STRLEN];

	if (more == NULL)
		more = addr_format_sa(a, sizeof(a), (const struct sockaddr *)&c->hopsa);
	log_msg(level, "hop %u (%s): %s%s", c->hop + 1,
	    addr_format_proxy(name, sizeof(name), &c->cfg->proxies[c->hop]), what, more);
}

/* Greets hop c->hop.  The greeting may go with the request (pipeline =
 * yes) only for the last hop of a strict chain: there, whatever the
 * choice says, the request follows, and a failure in either is the
 * chain's.  A dynamic chain must know a hop is alive before it counts
 * it, and a link request's failure blames the next hop: both stay in
 * step. */
static void
greet(struct chain *c)
{
	c->hs.pipeline = c->cfg->pipeline && c->strict && !c->probe &&
	    c->k == c->norder && c->built == c->npath;
	hs_start_greet(&c->hs, &c->cfg->proxies[c->hop], c->hop + 1);
}

/* The first hop answered: greet it next. */
static int
tcp_connected(struct chain *c)
{
	if (log_enabled(CFG_LOG_DEBUG))
		log_hop(c, CFG_LOG_DEBUG, "tcp connect ok to ", NULL);
	greet(c);
	c->st = CS_GREET;
	c->op_deadline = c->deadline;
	return HS_DONE;
}

static int
tcp_failed(struct chain *c, int e)
{
	char msg[64];

	/* "connection refused", as the rest of the log line reads. */
	snprintf(msg, sizeof(msg), "%s", strerror(e));
	if (msg[0] >= 'A' && msg[0] <= 'Z' && (msg[1] < 'A' || msg[1] > 'Z'))
		msg[0] = (char)(msg[0] - 'A' + 'a');
	set_fail(c, STAGE_TCP, FAIL_IO, e, "%s", msg);
	return HS_FAILED;
}

/* Asks a connect in progress how it went: one connect() call answers 0 or
 * EISCONN (connected), EALREADY (still going) or the connection's error,
 * instead of a poll() and a getsockopt(). */
static int
tcp_poll(struct chain *c)
{
	if (real_connect(c->work, (struct sockaddr *)&c->hopsa, c->hopsalen) == 0 ||
	    errno == EISCONN)
		return tcp_connected(c);
	if (errno == EALREADY || errno == EINPROGRESS || errno == EINTR || errno == EAGAIN)
		return HS_WANT_WRITE;
	return tcp_failed(c, errno);
}

/* Starts the TCP connect to hop c->hop on the program's socket when it can
 * reach it, else on a fresh socket of the hop's family. */
static int
tcp_start(struct chain *c)
{
	const struct proxy_url *p = &c->cfg->proxies[c->hop];
	int fam;

	if (hop_sockaddr(&p->addr, &c->hopsa, &c->hopsalen, c->app_family) != 0) {
		set_fail(c, STAGE_TCP, FAIL_LOCAL, EHOSTUNREACH,
		    "cannot resolve the proxy's name");
		return HS_FAILED;
	}
	fam = c->hopsa.ss_family;
	if (fam == AF_INET && c->app_family == AF_INET6 && c->app_v6only < 0) {
		int v = 0;
		socklen_t l = sizeof(v);
		c->app_v6only = real_getsockopt(c->app, IPPROTO_IPV6, IPV6_V6ONLY, &v, &l) == 0 &&
		    v != 0;
	}
	if (fam == AF_INET && c->app_family == AF_INET6 && !c->app_v6only) {
		/* An AF_INET6 socket reaches an IPv4 proxy through the
		 * v4-mapped address: the program keeps its own socket. */
		struct sockaddr_in v4;
		struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&c->hopsa;

		memcpy(&v4, &c->hopsa, sizeof(v4));
		memset(v6, 0, sizeof(*v6));
		v6->sin6_family = AF_INET6;
		v6->sin6_port = v4.sin_port;
		v6->sin6_addr.s6_addr[10] = 0xff;
		v6->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&v6->sin6_addr.s6_addr[12], &v4.sin_addr, 4);
		c->hopsalen = sizeof(*v6);
		fam = AF_INET6;
	}
	if (fam == c->app_family) {
		if (c->work >= 0 && c->work != c->app)
			real_close(c->work);
		c->work = c->app;
		if (c->app_dirty)
			disconnect(c->app);
		c->app_dirty = true;
	} else {
		if (fresh_socket(c, fam) != 0) {
			set_fail(c, STAGE_TCP, FAIL_LOCAL, errno, "cannot create a socket: %s",
			    strerror(errno));
			return HS_FAILED;
		}
		if (c->work_dirty)
			disconnect(c->work);
		c->work_dirty = true;
	}
	c->st = CS_TCP;
	c->op_deadline = io_deadline_min(io_now_ms() + c->cfg->connect_timeout_ms, c->deadline);
	if (real_connect(c->work, (struct sockaddr *)&c->hopsa, c->hopsalen) == 0)
		return tcp_connected(c);
	if (errno != EINPROGRESS && errno != EINTR && errno != EAGAIN)
		return tcp_failed(c, errno);
	/* A connect over loopback or a fast link is often done by now. */
	return tcp_poll(c);
}

/* Reaches hop c->hop: straight, or through the path built so far. */
static int
establish(struct chain *c, unsigned hop)
{
	unsigned last;

	c->hop = hop;
	if (c->built == 0)
		return tcp_start(c);
	last = c->path[c->built - 1];
	hs_start_request(&c->hs, &c->cfg->proxies[last], last + 1, HS_CMD_CONNECT,
	    &c->cfg->proxies[hop].addr);
	c->st = CS_LINK;
	c->op_deadline = io_deadline_min(io_now_ms() + c->cfg->connect_timeout_ms, c->deadline);
	return HS_DONE;
}

static int
no_live_hops(struct chain *c)
{
	size_t l;

	if (c->npath > 0 || c->fail.kind == 0) {
		c->hop = c->npath > 0 ? c->path[c->npath - 1] : 0;
		set_fail(c, STAGE_NONE, FAIL_NO_LIVE, c->fail.err ? c->fail.err : ECONNREFUSED,
		    "not enough live proxies (%u of %u needed)", c->npath,
		    c->want ? c->want : 1);
		c->fail.hop = 0;
	} else {
		l = strlen(c->fail.detail);
		snprintf(c->fail.detail + l, sizeof(c->fail.detail) - l, "; no live proxy left");
	}
	/* Final: no hop is being tried, so step_failed must not skip one
	 * and start over (that would come back here for ever). */
	c->trying = false;
	c->st = CS_FAILED;
	return HS_FAILED;
}

/* Decides the next step once the last one is done. */
static int
next_step(struct chain *c)
{
	if (c->built < c->npath) {
		c->trying = false;
		return establish(c, c->path[c->built]);
	}
	if ((c->want == 0 || c->npath < c->want) && c->k < c->norder) {
		c->trying = true;
		return establish(c, c->order[c->k++]);
	}
	if (c->npath == 0 || (c->want != 0 && c->npath < c->want))
		return no_live_hops(c);
	if (c->probe) {
		c->st = CS_DONE;
		return HS_DONE;
	}
	c->hop = c->path[c->npath - 1];
	hs_start_request(&c->hs, &c->cfg->proxies[c->hop], c->hop + 1, c->cmd, &c->dst);
	c->st = CS_FINAL;
	c->op_deadline = c->deadline;
	return HS_DONE;
}

/* The step under way failed (c->fail says how).  A hop being tried in a
 * non-strict chain is skipped; anything else ends the chain. */
/* The hop before could not reach this one: it is this one's failure,
 * seen through the one before. */
static void __attribute__((noinline))
blame_next_hop(struct chain *c)
{
	char pre[sizeof(c->fail.detail)];
	int n = snprintf(pre, sizeof(pre), "not reachable through hop %u: ", c->fail.hop);

	if (n > 0 && (size_t)n < sizeof(pre)) {
		memcpy(pre + n, c->fail.detail, sizeof(pre) - (size_t)n - 1);
		pre[sizeof(pre) - 1] = '\0';
	}
	memcpy(c->fail.detail, pre, sizeof(pre));
	c->fail.hop = (uint8_t)(c->hop + 1);
}

static int
step_failed(struct chain *c)
{
	if (c->st == CS_LINK)
		blame_next_hop(c);
	if (!c->trying || c->strict || io_now_ms() >= c->deadline) {
		c->st = CS_FAILED;
		return HS_FAILED;
	}
	if (log_enabled(CFG_LOG_WARN))
		log_hop(c, CFG_LOG_WARN, c->fail.detail, "; skipping it");
	/* The tunnel so far is gone with the dead hop: start over, on the
	 * same socket, through the hops that lived. */
	c->built = 0;
	c->st = CS_NEXT;
	return HS_DONE;
}

/* Advances the chain as far as it can go without blocking: HS_DONE when
 * the whole chain is up, HS_WANT_READ/HS_WANT_WRITE on c->work, or
 * HS_FAILED. */
int
chain_step(struct chain *c)
{
	for (;;) {
		int r = HS_DONE;

		switch (c->st) {
		case CS_NEXT:
			r = next_step(c);
			break;
		case CS_TCP:
			r = tcp_poll(c);
			break;
		case CS_LINK:
		case CS_GREET:
		case CS_FINAL:
			r = hs_step(&c->hs, c->work, &c->fail);
			if (r != HS_DONE)
				break;
			if (c->st == CS_LINK) {
				greet(c);
				c->st = CS_GREET;
				c->op_deadline = c->deadline;
			} else if (c->st == CS_GREET) {
				if (c->trying)
					c->path[c->npath++] = c->hop;
				c->built++;
				c->st = CS_NEXT;
			} else {
				c->st = CS_DONE;
			}
			break;
		case CS_DONE:
			return HS_DONE;
		case CS_FAILED:
			return HS_FAILED;
		}
		if (r == HS_FAILED)
			r = step_failed(c);
		if (r != HS_DONE)
			return r;
	}
}

/* The deadline of the step under way passed. */
static void
chain_timed_out(struct chain *c)
{
	if (c->st == CS_TCP)
		set_fail(c, STAGE_TCP, FAIL_IO, ETIMEDOUT, "connect timed out");
	else
		hs_timed_out(&c->hs, &c->fail);
	if (io_now_ms() >= c->deadline) {
		size_t l = strlen(c->fail.detail);
		snprintf(c->fail.detail + l, sizeof(c->fail.detail) - l,
		    " (handshake timed out)");
	}
}

int
chain_fd(const struct chain *c)
{
	return c->work;
}

int64_t
chain_deadline(const struct chain *c)
{
	return c->op_deadline;
}

int
chain_expire(struct chain *c)
{
	chain_timed_out(c);
	return step_failed(c);
}

int
chain_run(struct chain *c)
{
	for (;;) {
		int r = chain_step(c);

		if (r == HS_DONE)
			return 0;
		if (r == HS_FAILED) {
			errno = c->fail.err;
			return -1;
		}
		if (io_wait(c->work, (short)r, c->op_deadline) != 0) {
			if (errno != ETIMEDOUT)
				set_fail(c, c->st == CS_TCP ? STAGE_TCP : STAGE_REPLY, FAIL_IO,
				    errno, "%s while waiting", strerror(errno));
			else
				chain_timed_out(c);
			if (step_failed(c) == HS_FAILED) {
				errno = c->fail.err;
				return -1;
			}
		}
	}
}

/* Whether hop p can be asked to CONNECT to a: SOCKS4 carries IPv4 only,
 * SOCKS4a adds names; SOCKS5 and HTTP carry everything. */
static bool
can_carry(const struct proxy_url *p, const struct wire_addr *a)
{
	if (p->type == PROXY_SOCKS4)
		return a->type == WIRE_ATYP_IPV4;
	if (p->type == PROXY_SOCKS4A)
		return a->type != WIRE_ATYP_IPV6;
	return true;
}

/* Refuses before any packet leaves when the chain cannot carry the
 * destination: a strict chain is known in full; in the other modes at
 * least one hop must be able to carry it as the last hop. */
static int
precheck(const struct cfg *cfg, const struct wire_addr *dst, struct sfy_fail *f)
{
	const struct wire_addr *what = dst;
	unsigned n = cfg->nproxies, bad = n;

	if (cfg->chain == CFG_CHAIN_STRICT) {
		for (unsigned i = 1; i < n && bad == n; i++)
			if (!can_carry(&cfg->proxies[i - 1], &cfg->proxies[i].addr)) {
				bad = i - 1;
				what = &cfg->proxies[i].addr;
			}
		if (bad == n && !can_carry(&cfg->proxies[n - 1], dst))
			bad = n - 1;
	} else {
		bad = 0;
		for (unsigned i = 0; i < n; i++)
			if (can_carry(&cfg->proxies[i], dst))
				bad = n;
	}
	if (bad == n)
		return 0;
	f->hop = (uint8_t)(bad + 1);
	f->stage = STAGE_REQUEST;
	f->kind = FAIL_CARRY;
	f->err = EAFNOSUPPORT;
	snprintf(f->detail, sizeof(f->detail), "%s cannot carry %s%s",
	    addr_proxy_type_name(cfg->proxies[bad].type),
	    what->type == WIRE_ATYP_IPV6 ? "an IPv6 address" : "a host name (use socks4a)",
	    what == dst ? "" : " (the next hop's)");
	return -1;
}

static struct chain *
chain_alloc(const struct cfg *cfg, struct sfy_fail *f)
{
	struct chain *c;

	memset(f, 0, sizeof(*f));
	if (cfg->nproxies == 0) {
		f->kind = FAIL_LOCAL;
		f->err = ECONNREFUSED;
		snprintf(f->detail, sizeof(f->detail), "no proxy configured");
		return NULL;
	}
	/* Heap, not stack: the handshake buffer is the size of an HTTP head,
	 * and hooks run on threads with small stacks. */
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		f->kind = FAIL_LOCAL;
		f->err = ENOMEM;
		snprintf(f->detail, sizeof(f->detail), "out of memory");
		return NULL;
	}
	c->cfg = cfg;
	c->app = c->work = -1;
	c->app_v6only = -1;
	c->deadline = io_now_ms() + cfg->handshake_timeout_ms;
	c->op_deadline = c->deadline;
	c->st = CS_NEXT;
	return c;
}

/* Takes the program's socket: a private dup, and non-blocking for the
 * handshake (only O_NONBLOCK is touched, and put back at the end). */
static int
take_socket(struct chain *c, int fd, int family, struct sfy_fail *f)
{

	/* Out of fds, the handshake runs on the fd itself: it works, only
	 * without the guard against a concurrent close. */
	c->app = private_dup(fd);
	c->own_app = c->app >= 0;
	if (c->app < 0)
		c->app = fd;
	c->app_family = family;
	c->app_flags = real_fcntl(c->app, F_GETFL, 0);
	if (c->app_flags < 0 ||
	    (!(c->app_flags & O_NONBLOCK) &&
	    real_fcntl(c->app, F_SETFL, c->app_flags | O_NONBLOCK) != 0)) {
		f->kind = FAIL_LOCAL;
		f->err = errno;
		snprintf(f->detail, sizeof(f->detail), "fcntl: %s", strerror(errno));
		return -1;
	}
	c->flags_changed = !(c->app_flags & O_NONBLOCK);
	return 0;
}

struct chain *
chain_new(const struct cfg *cfg, int fd, int family, enum hs_cmd cmd,
    const struct wire_addr *dst, struct sfy_fail *f)
{
	struct chain *c = chain_alloc(cfg, f);

	if (c == NULL)
		return NULL;
	if ((dst != NULL && precheck(cfg, dst, f) != 0) || take_socket(c, fd, family, f) != 0) {
		chain_free(c);
		return NULL;
	}
	c->cmd = (uint8_t)cmd;
	c->probe = dst == NULL;
	if (dst != NULL)
		c->dst = *dst;
	c->want = pick_order(cfg, c->order);
	c->norder = cfg->nproxies;
	c->strict = cfg->chain == CFG_CHAIN_STRICT;
	return c;
}

void
chain_fix_path(struct chain *c, const uint8_t *hops, unsigned n)
{
	for (unsigned k = 0; k < n; k++)
		c->order[k] = hops[k];
	c->norder = n;
	c->want = n;
	c->strict = true;
}

const struct sfy_fail *
chain_failure(const struct chain *c)
{
	return &c->fail;
}

bool
chain_app_nonblocking(const struct chain *c)
{
	return (c->app_flags & O_NONBLOCK) != 0;
}

bool
chain_swapped(const struct chain *c)
{
	return c->work >= 0 && c->work != c->app;
}

int
chain_install(struct chain *c, int fd)
{
	int e;

	if (!chain_swapped(c))
		return 0;
	if (swap_install(fd, c->app, c->work) != 0)
		return -1;
	e = errno;
	/* The program's flags, on the socket that is now its own. */
	if (!(c->app_flags & O_NONBLOCK))
		(void)real_fcntl(fd, F_SETFL, c->app_flags);
	real_close(c->work);
	c->work = c->app;
	c->work_dirty = false;
	errno = e;
	return 0;
}

const struct wire_addr *
chain_bound(const struct chain *c)
{
	return &c->hs.bnd;
}

unsigned
chain_path(const struct chain *c, uint8_t *hops)
{
	for (unsigned k = 0; k < c->npath; k++)
		hops[k] = (uint8_t)c->path[k];
	return c->npath;
}

void
chain_describe(const struct chain *c, char *buf, size_t cap)
{
	size_t o = 0;

	buf[0] = '\0';
	for (unsigned k = 0; k < c->npath && o + 1 < cap; k++) {
		char name[ADDR_STRLEN + 16];

		addr_format_proxy(name, sizeof(name), &c->cfg->proxies[c->path[k]]);
		o += (size_t)snprintf(buf + o, cap - o, "%s%s", k ? " -> " : "", name);
	}
}

void
chain_free(struct chain *c)
{
	int e = errno;

	if (c == NULL)
		return;
	/* A failed chain leaves no half-open tunnel behind: the program's
	 * socket is unconnected again, as after a failed connect(). */
	if (c->st != CS_DONE && c->app_dirty && c->app >= 0)
		disconnect(c->app);
	if (c->flags_changed && c->app >= 0)
		(void)real_fcntl(c->app, F_SETFL, c->app_flags);
	if (c->work >= 0 && c->work != c->app)
		real_close(c->work);
	if (c->own_app)
		private_close(c->app);
	memset(&c->hs, 0, sizeof(c->hs));
	free(c);
	errno = e;
}

int
chain_probe(const struct cfg *cfg, unsigned hop, bool through_previous, char *why,
    size_t cap)
{
	struct sfy_fail f;
	struct chain *c;
	int fd, rc, e;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(why, cap, "socket: %s", strerror(errno));
		return -1;
	}
	c = chain_new(cfg, fd, AF_INET, HS_CMD_CONNECT, NULL, &f);
	if (c == NULL) {
		snprintf(why, cap, "%s", f.detail);
		real_close(fd);
		errno = f.err;
		return -1;
	}
	c->norder = 0;
	if (through_previous)
		for (; c->norder < hop; c->norder++)
			c->order[c->norder] = c->norder;
	c->order[c->norder++] = hop;
	c->want = c->norder;
	c->strict = true;
	rc = chain_run(c);
	if (rc == 0 && chain_install(c, fd) == 0) {
		chain_free(c);
		return fd;
	}
	e = c->fail.err ? c->fail.err : errno;
	snprintf(why, cap, "%s", c->fail.detail);
	chain_free(c);
	real_close(fd);
	errno = e;
	return -1;
}
