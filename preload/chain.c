/* chain.c: picking the hops of a chain and building it on the app's fd.
 *
 * Hop k is reached through hops 1..k-1: a direct TCP connect to the first
 * hop, then each hop is asked to CONNECT to the next one's address, and the
 * last one to the destination.  Modes: strict (every hop, in order, any
 * failure is final), dynamic (in order, dead hops skipped, at least one
 * must live), random and round_robin (chain_len hops, dead ones skipped).
 * One deadline covers the whole chain; each hop's connect also has its own
 * connect_timeout.  A failure is never followed by a direct connection.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

struct ctx {
	int fd;
	const struct cfg *cfg;
	int64_t deadline;
	int family;         /* family of the socket now at fd */
	bool v6only;
	bool dirty;         /* a connect was tried on the socket at fd */
	bool restore;       /* the file status flags at fd may differ from the app's */
	unsigned npath;
	unsigned path[CFG_MAX_PROXIES];
	struct chain_result *res;
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

static const char *
hop_name(const struct cfg *c, unsigned i, char *buf, size_t cap)
{
	return addr_format_proxy(buf, cap, &c->proxies[i]);
}

/* Records why hop i failed, for the caller's log line. */
static int
hop_failed(struct ctx *x, unsigned i, const char *prefix, const char *why)
{
	int e = errno;

	x->res->fail_hop = i + 1;
	snprintf(x->res->why, sizeof(x->res->why), "%s%s", prefix, why);
	errno = e;
	return -1;
}

/* Connects the socket at fd straight to hop i and greets it. */
static int
first_hop(struct ctx *x, unsigned i)
{
	const struct proxy_url *p = &x->cfg->proxies[i];
	struct sockaddr_storage ss;
	socklen_t len;
	char why[HS_WHY_MAX];
	int64_t dl = io_deadline_min(io_now_ms() + x->cfg->connect_timeout_ms, x->deadline);

	if (sock_resolve(&p->addr, &ss, &len, x->family) != 0)
		return hop_failed(x, i, "", "cannot resolve the proxy's name");
	if (ss.ss_family == AF_INET && x->family == AF_INET6 && !x->v6only && !x->dirty) {
		/* An AF_INET6 socket reaches an IPv4 proxy through the
		 * v4-mapped address: the app keeps its own socket. */
		struct sockaddr_in v4;
		struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;

		memcpy(&v4, &ss, sizeof(v4));
		memset(v6, 0, sizeof(*v6));
		v6->sin6_family = AF_INET6;
		v6->sin6_port = v4.sin_port;
		v6->sin6_addr.s6_addr[10] = 0xff;
		v6->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&v6->sin6_addr.s6_addr[12], &v4.sin_addr, 4);
		len = sizeof(*v6);
	} else if (ss.ss_family != x->family || x->dirty) {
		x->restore = true;
		if (sock_replace(x->fd, ss.ss_family) != 0)
			return hop_failed(x, i, "cannot create a socket: ", strerror(errno));
		x->family = ss.ss_family;
		x->v6only = false;
	}
	x->dirty = true;
	if (io_connect(x->fd, (struct sockaddr *)&ss, len, dl) != 0) {
		char msg[64];
		if (errno == ETIMEDOUT)
			return hop_failed(x, i, "", "connect timed out");
		/* "connection refused", as the rest of the log line reads. */
		snprintf(msg, sizeof(msg), "%s", strerror(errno));
		if (msg[0] >= 'A' && msg[0] <= 'Z' && (msg[1] < 'A' || msg[1] > 'Z'))
			msg[0] = (char)(msg[0] - 'A' + 'a');
		return hop_failed(x, i, "", msg);
	}
	if (hs_greet(x->fd, p, x->deadline, why) != 0)
		return hop_failed(x, i, "", why);
	return 0;
}

/* Adds hop i at the end of the path built so far. */
static int
extend(struct ctx *x, unsigned i)
{
	char why[HS_WHY_MAX], pre[64];
	unsigned last;
	int64_t dl;

	if (x->npath == 0)
		return first_hop(x, i);
	last = x->path[x->npath - 1];
	dl = io_deadline_min(io_now_ms() + x->cfg->connect_timeout_ms, x->deadline);
	if (hs_connect(x->fd, &x->cfg->proxies[last], &x->cfg->proxies[i].addr, dl, why) != 0) {
		snprintf(pre, sizeof(pre), "not reachable through hop %u: ", last + 1);
		return hop_failed(x, i, pre, why);
	}
	if (hs_greet(x->fd, &x->cfg->proxies[i], x->deadline, why) != 0)
		return hop_failed(x, i, "", why);
	return 0;
}

/* Starts over on a fresh socket through the hops that worked. */
static int
rebuild(struct ctx *x)
{
	unsigned path[CFG_MAX_PROXIES], n = x->npath;

	memcpy(path, x->path, sizeof(path));
	x->npath = 0;
	for (unsigned k = 0; k < n; k++) {
		if (extend(x, path[k]) != 0)
			return -1;
		x->path[x->npath++] = path[k];
	}
	return 0;
}

static void
ctx_init(struct ctx *x, int fd, const struct cfg *cfg, struct chain_result *res)
{
	int v = 0;
	socklen_t l = sizeof(v);

	memset(x, 0, sizeof(*x));
	memset(res, 0, sizeof(*res));
	x->fd = fd;
	x->cfg = cfg;
	x->res = res;
	x->deadline = io_now_ms() + cfg->handshake_timeout_ms;
	x->family = AF_INET;
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &l) == 0)
		x->family = v;
	l = sizeof(v);
	if (x->family == AF_INET6 &&
	    getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v, &l) == 0)
		x->v6only = v != 0;
}

/* Builds the path through the hops in order[], wanting `want` of them
 * (0: every live one). */
static int
build(struct ctx *x, const unsigned *order, unsigned n, unsigned want, bool strict)
{
	bool broken = false;
	char name[ADDR_STRLEN + 16];
	int err = ECONNREFUSED;

	for (unsigned k = 0; k < n && (want == 0 || x->npath < want); k++) {
		if (broken) {
			if (rebuild(x) != 0)
				return -1;
			broken = false;
		}
		if (extend(x, order[k]) == 0) {
			x->path[x->npath++] = order[k];
			continue;
		}
		err = errno;
		if (strict || io_now_ms() >= x->deadline)
			return -1;
		log_msg(CFG_LOG_WARN, "hop %u (%s): %s; skipping it", order[k] + 1,
		    hop_name(x->cfg, order[k], name, sizeof(name)), x->res->why);
		broken = true;
	}
	if (x->npath == 0 || (want != 0 && x->npath < want)) {
		if (x->npath > 0 || x->res->fail_hop == 0)
			snprintf(x->res->why, sizeof(x->res->why),
			    "not enough live proxies (%u of %u needed)", x->npath,
			    want ? want : 1);
		else
			snprintf(x->res->why + strlen(x->res->why),
			    sizeof(x->res->why) - strlen(x->res->why), "; no live proxy left");
		errno = err;
		return -1;
	}
	if (broken && rebuild(x) != 0)
		return -1;
	return 0;
}

static int
finish(struct ctx *x, int rc, int flags)
{
	int e = errno;

	/* A failed chain leaves no half-open tunnel behind: the fd gets a
	 * fresh, unconnected socket of the app's own family, as after a
	 * failed connect(). */
	if (rc != 0 && x->dirty && x->fd >= 0) {
		x->restore = true;
		(void)sock_replace(x->fd, x->res->orig_family);
	}
	/* Only when we changed them (O_NONBLOCK, or a fresh socket, which is
	 * created non-blocking): the common path costs no system call. */
	if (x->restore && x->fd >= 0)
		(void)real_fcntl(x->fd, F_SETFL, flags);
	x->res->nhops = x->npath;
	memcpy(x->res->hops, x->path, sizeof(x->path));
	errno = e;
	return rc;
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
precheck(const struct cfg *cfg, const struct wire_addr *dst, struct chain_result *res)
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
	res->fail_hop = bad + 1;
	snprintf(res->why, sizeof(res->why), "%s cannot carry %s%s",
	    addr_proxy_type_name(cfg->proxies[bad].type),
	    what->type == WIRE_ATYP_IPV6 ? "an IPv6 address" : "a host name (use socks4a)",
	    what == dst ? "" : " (the next hop's)");
	errno = EAFNOSUPPORT;
	return -1;
}

int
chain_connect(int fd, const struct cfg *cfg, const struct wire_addr *dst,
    struct chain_result *res)
{
	unsigned order[CFG_MAX_PROXIES], want;
	struct ctx x;
	char why[HS_WHY_MAX];
	int flags, rc = -1;

	ctx_init(&x, fd, cfg, res);
	res->orig_family = x.family;
	if (cfg->nproxies == 0) {
		snprintf(res->why, sizeof(res->why), "no proxy configured");
		errno = ECONNREFUSED;
		return -1;
	}
	if (precheck(cfg, dst, res) != 0)
		return -1;
	/* Only O_NONBLOCK is touched, and every flag is put back as it was. */
	flags = real_fcntl(fd, F_GETFL, 0);
	if (flags < 0)
		return -1;
	if (!(flags & O_NONBLOCK)) {
		if (real_fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
			return -1;
		x.restore = true;
	}
	want = pick_order(cfg, order);
	if (build(&x, order, cfg->nproxies, want, cfg->chain == CFG_CHAIN_STRICT) != 0)
		goto out;
	if (hs_connect(fd, &cfg->proxies[x.path[x.npath - 1]], dst, x.deadline, why) != 0) {
		hop_failed(&x, x.path[x.npath - 1], "", why);
		goto out;
	}
	res->fail_hop = 0;
	rc = 0;
out:
	if (rc != 0 && errno == ETIMEDOUT && io_now_ms() >= x.deadline &&
	    strstr(res->why, "timed out") == NULL)
		snprintf(res->why + strlen(res->why), sizeof(res->why) - strlen(res->why),
		    " (handshake timed out)");
	return finish(&x, rc, flags);
}

int
chain_probe(const struct cfg *cfg, unsigned hop, bool through_previous, char *why,
    size_t cap)
{
	unsigned order[CFG_MAX_PROXIES], n = 0;
	struct chain_result res;
	struct ctx x;
	int fd, rc, e;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(why, cap, "socket: %s", strerror(errno));
		return -1;
	}
	ctx_init(&x, fd, cfg, &res);
	if (through_previous)
		for (; n < hop; n++)
			order[n] = n;
	order[n++] = hop;
	rc = build(&x, order, n, n, true);
	if (rc == 0)
		return fd;
	e = errno;
	snprintf(why, cap, "%s", res.why);
	real_close(fd);
	errno = e;
	return -1;
}

void
chain_describe(const struct cfg *cfg, const struct chain_result *res, char *buf,
    size_t cap)
{
	size_t o = 0;

	buf[0] = '\0';
	for (unsigned k = 0; k < res->nhops && o + 1 < cap; k++) {
		char name[ADDR_STRLEN + 16];

		hop_name(cfg, res->hops[k], name, sizeof(name));
		o += (size_t)snprintf(buf + o, cap - o, "%s%s", k ? " -> " : "", name);
	}
}
