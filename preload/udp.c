/* udp.c: UDP through the chain (udp_): one SOCKS5 UDP association per
 * socket, and the headers every datagram carries.
 *
 * The association is made on the first datagram (or connect) to a
 * destination the rules send through the chain.  Each hop k of the path
 * gets an association of its own, requested over a control connection
 * that reaches it through hops 1..k-1 (the cascade method); the control
 * connections are internal fds, out of the program's reach.  A datagram
 * leaves the program's own socket for hop 1's relay with one header per
 * hop: the outer ones address the relays of hops 2..n, the innermost the
 * destination.  Replies are unwrapped the same way; datagrams from anyone
 * but hop 1's relay are dropped (unless the rules send their source
 * direct), so the program sees only what the chain carried.
 *
 * Associations are kept in a list keyed by the program's fd, under one
 * mutex with fork handlers.  Nothing here holds the lock while it waits
 * for the network, and nothing called with it held takes another lock.
 * When a control connection closes, the next send or receive on the
 * socket fails with ECONNRESET and a log line, the association goes, and
 * a later send makes a new one.
 */
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dnsmap.h"
#include "lib.h"
#include "resolve.h"

/* The outer headers of a chain: a relay address each (22 bytes for
 * IPv6); a relay that answers with a long name could need more. */
#define UDP_PREFIX_MAX 1024
#define UDP_HDR_MAX (UDP_PREFIX_MAX + 3 + 1 + 1 + 255 + 2)
/* Every datagram fits, with its headers: so the real length is known. */
#define UDP_RBUF (65536 + UDP_HDR_MAX)
/* Scatter lists longer than this are gathered into one buffer. */
#define UDP_IOV_STACK 32
/* Stand-ins an association remembers sending to, for naming replies. */
#define UDP_NAMES 8

struct udp_assoc {
	struct udp_assoc *next;
	int fd;                           /* the program's socket: the key */
	unsigned nhops;
	uint8_t hops[CFG_MAX_PROXIES];    /* config indexes, first hop first */
	int ctl[CFG_MAX_PROXIES];         /* hop k's control connection */
	struct sockaddr_storage relay;    /* hop 1's relay, in the socket's family */
	socklen_t relaylen;
	uint16_t prefixlen;
	uint8_t prefix[UDP_PREFIX_MAX];   /* the headers for hops 2..n's relays */
	/* The last stand-ins datagrams went to: a relay that answers from
	 * the name's address (not the name) is reported as the stand-in
	 * when exactly one of them has the reply's port. */
	struct sockaddr_in6 names[UDP_NAMES];
	socklen_t nameslen[UDP_NAMES];
	unsigned namesnext;
};

static pthread_mutex_t udp_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t udp_once = PTHREAD_ONCE_INIT;
static struct udp_assoc *assocs;

static void udp_prepare(void) { pthread_mutex_lock(&udp_lock); }
static void udp_release(void) { pthread_mutex_unlock(&udp_lock); }

static void
udp_init(void)
{
	(void)pthread_atfork(udp_prepare, udp_release, udp_release);
}

static void
lock(void)
{
	(void)pthread_once(&udp_once, udp_init);
	pthread_mutex_lock(&udp_lock);
}

/* Copies fd's association into *v: true when there is one. */
static bool
assoc_get(int fd, struct udp_assoc *v)
{
	bool found = false;

	lock();
	for (struct udp_assoc *a = assocs; a != NULL; a = a->next)
		if (a->fd == fd) {
			*v = *a;
			found = true;
			break;
		}
	pthread_mutex_unlock(&udp_lock);
	return found;
}

static void
assoc_close(struct udp_assoc *a)
{
	for (unsigned k = 0; k < a->nhops; k++)
		if (a->ctl[k] >= 0)
			sock_internal_close(a->ctl[k]);
	free(a);
}

void
udp_end(int fd)
{
	struct udp_assoc **pp, *a = NULL;
	int e = errno;

	lock();
	for (pp = &assocs; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->fd == fd) {
			a = *pp;
			*pp = a->next;
			break;
		}
	pthread_mutex_unlock(&udp_lock);
	if (a != NULL)
		assoc_close(a);
	errno = e;
}

void
udp_ctl_moved(int oldfd, int newfd)
{
	lock();
	for (struct udp_assoc *a = assocs; a != NULL; a = a->next)
		for (unsigned k = 0; k < a->nhops; k++)
			if (a->ctl[k] == oldfd)
				a->ctl[k] = newfd;
	pthread_mutex_unlock(&udp_lock);
}

/* A datagram went to stand-in sa on fd's association. */
static void
note_standin(int fd, const struct sockaddr *sa, socklen_t len)
{
	if (len > sizeof(struct sockaddr_in6))
		len = sizeof(struct sockaddr_in6);
	lock();
	for (struct udp_assoc *a = assocs; a != NULL; a = a->next) {
		if (a->fd != fd)
			continue;
		for (unsigned i = 0; i < UDP_NAMES; i++)
			if (a->nameslen[i] == len && memcmp(&a->names[i], sa, len) == 0)
				goto out;
		memcpy(&a->names[a->namesnext], sa, len);
		a->nameslen[a->namesnext] = len;
		a->namesnext = (a->namesnext + 1) % UDP_NAMES;
		break;
	}
out:
	pthread_mutex_unlock(&udp_lock);
}

/* Installs a as fd's association, unless another thread was first: then
 * a goes and *v is the one in place. */
static void
assoc_install(struct udp_assoc *a, struct udp_assoc *v)
{
	struct udp_assoc *old = NULL;

	lock();
	for (struct udp_assoc *p = assocs; p != NULL; p = p->next)
		if (p->fd == a->fd) {
			old = p;
			break;
		}
	if (old == NULL) {
		a->next = assocs;
		assocs = a;
	}
	*v = old != NULL ? *old : *a;
	pthread_mutex_unlock(&udp_lock);
	if (old != NULL)
		assoc_close(a);
}

/* ---- setting an association up ---- */

static void __attribute__((format(printf, 4, 5), noinline))
fail_local(struct sfy_fail *f, unsigned hop, int err, const char *fmt, ...)
{
	va_list ap;

	memset(f, 0, sizeof(*f));
	f->hop = (uint8_t)hop;
	f->stage = STAGE_NONE;
	f->kind = FAIL_LOCAL;
	f->err = err;
	va_start(ap, fmt);
	vsnprintf(f->detail, sizeof(f->detail), fmt, ap);
	va_end(ap);
}

/* Only SOCKS5 carries UDP.  A strict chain uses every hop; the other
 * modes may pick any, so every hop must be able to: refused before
 * anything is sent. */
static int
chain_carries_udp(const struct cfg *cfg, struct sfy_fail *f)
{
	if (cfg->nproxies == 0) {
		fail_local(f, 0, ECONNREFUSED, "no proxy configured");
		return -1;
	}
	for (unsigned i = 0; i < cfg->nproxies; i++)
		if (cfg->proxies[i].type != PROXY_SOCKS5) {
			fail_local(f, i + 1, EPROTONOSUPPORT,
			    "%s cannot carry UDP (only SOCKS5 hops can)",
			    addr_proxy_type_name(cfg->proxies[i].type));
			f->stage = STAGE_REQUEST;
			f->kind = FAIL_CARRY;
			return -1;
		}
	return 0;
}

/* One association: a control connection through path[0..n-1] (or the
 * path the chain mode picks, when path is NULL, given back in picked),
 * asking its last hop for UDP ASSOCIATE.  The relay goes to *bnd. */
static int
assoc_one(const struct cfg *cfg, const uint8_t *path, unsigned n, int *ctlp,
    struct wire_addr *bnd, uint8_t *picked, unsigned *npicked, struct sfy_fail *f)
{
	struct wire_addr from;
	struct chain *c = NULL;
	int ctl, rc = -1;

	/* The address the datagrams will come from is not known to the
	 * hops past the first, and the program's socket may not be bound
	 * yet: 0.0.0.0:0 asks each relay to take the first datagram's. */
	memset(&from, 0, sizeof(from));
	from.type = WIRE_ATYP_IPV4;
	ctl = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ctl < 0) {
		fail_local(f, 0, errno, "cannot create a socket: %s", strerror(errno));
		return -1;
	}
	if (sock_internal_add(ctl) != 0) {
		fail_local(f, 0, EMFILE, "too many UDP associations at once");
		real_close(ctl);
		return -1;
	}
	c = chain_new(cfg, ctl, AF_INET, HS_CMD_UDP, &from, f);
	if (c == NULL)
		goto out;
	if (path != NULL)
		chain_fix_path(c, path, n);
	if (chain_run(c) != 0 || chain_install(c, ctl) != 0) {
		*f = *chain_failure(c);
		if (f->err == 0)
			f->err = errno;
		goto out;
	}
	*bnd = *chain_bound(c);
	if (picked != NULL)
		*npicked = chain_path(c, picked);
	*ctlp = ctl;
	ctl = -1;
	rc = 0;
out:
	chain_free(c);
	if (ctl >= 0)
		sock_internal_close(ctl);
	return rc;
}

static bool
wire_unspecified(const struct wire_addr *w)
{
	static const uint8_t zero[16];

	return (w->type == WIRE_ATYP_IPV4 && memcmp(w->u.ip4, zero, 4) == 0) ||
	    (w->type == WIRE_ATYP_IPV6 && memcmp(w->u.ip6, zero, 16) == 0);
}

/* w as a sockaddr of the program's socket family (an IPv4 relay is
 * v4-mapped for an AF_INET6 socket). */
static int
relay_sockaddr(int family, const struct wire_addr *w, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in v4;

	if (w->type == WIRE_ATYP_NAME || addr_sockaddr_from_wire(ss, len, w) != 0)
		return -1;
	if (ss->ss_family == family)
		return 0;
	if (family != AF_INET6 || ss->ss_family != AF_INET)
		return -1;
	memcpy(&v4, ss, sizeof(v4));
	memset(v6, 0, sizeof(*v6));
	v6->sin6_family = AF_INET6;
	v6->sin6_port = v4.sin_port;
	v6->sin6_addr.s6_addr[10] = v6->sin6_addr.s6_addr[11] = 0xff;
	memcpy(&v6->sin6_addr.s6_addr[12], &v4.sin_addr, 4);
	*len = sizeof(*v6);
	return 0;
}

/* Sets up every hop's association for fd, a socket of family. */
static struct udp_assoc *
assoc_open(const struct cfg *cfg, int fd, int family, struct sfy_fail *f)
{
	struct wire_addr relays[CFG_MAX_PROXIES];
	struct udp_assoc *a;
	unsigned n = 0;
	int last = -1;

	if (chain_carries_udp(cfg, f) != 0)
		return NULL;
	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		fail_local(f, 0, ENOMEM, "out of memory");
		return NULL;
	}
	a->fd = fd;
	for (unsigned k = 0; k < CFG_MAX_PROXIES; k++)
		a->ctl[k] = -1;
	/* The last hop's first: the chain mode picks the path, and the
	 * hops before it get theirs over the same path. */
	if (assoc_one(cfg, NULL, 0, &last, &relays[0], a->hops, &n, f) != 0)
		goto fail;
	a->ctl[n - 1] = last;
	relays[n - 1] = relays[0];
	a->nhops = n;
	for (unsigned k = 1; k < n; k++)
		if (assoc_one(cfg, a->hops, k, &a->ctl[k - 1], &relays[k - 1], NULL, NULL, f) != 0)
			goto fail;
	/* A relay that says 0.0.0.0 or :: is at its hop's own address. */
	for (unsigned k = 0; k < n; k++) {
		if (!wire_unspecified(&relays[k]))
			continue;
		if (k == 0) {
			struct sockaddr_storage ss;
			socklen_t sl = sizeof(ss);
			uint16_t port = relays[0].port;

			if (real_getpeername(a->ctl[0], (struct sockaddr *)&ss, &sl) != 0 ||
			    addr_wire_from_sockaddr(&relays[0], (struct sockaddr *)&ss) != 0) {
				fail_local(f, (unsigned)a->hops[0] + 1, errno,
				    "cannot tell the relay's address");
				goto fail;
			}
			relays[0].port = port;
		} else {
			uint16_t port = relays[k].port;

			relays[k] = cfg->proxies[a->hops[k]].addr;
			relays[k].port = port;
		}
	}
	if (relay_sockaddr(family, &relays[0], &a->relay, &a->relaylen) != 0) {
		fail_local(f, (unsigned)a->hops[0] + 1, EAFNOSUPPORT,
		    "the relay's address cannot be reached from a socket of this family");
		goto fail;
	}
	for (unsigned k = 1; k < n; k++) {
		struct socks5_udp h = { .frag = 0, .addr = relays[k] };
		ssize_t w = wire_enc_socks5_udp(a->prefix + a->prefixlen,
		    sizeof(a->prefix) - a->prefixlen, &h);

		if (w < 0) {
			fail_local(f, (unsigned)a->hops[k] + 1, EMSGSIZE,
			    "the relays' addresses do not fit the headers");
			goto fail;
		}
		a->prefixlen = (uint16_t)(a->prefixlen + w);
	}
	return a;
fail:
	a->nhops = CFG_MAX_PROXIES; /* close whatever was opened */
	assoc_close(a);
	return NULL;
}

static void __attribute__((noinline))
log_assoc(const struct cfg *cfg, const struct sockaddr *sa, const struct udp_assoc *a,
    const struct sfy_fail *f)
{
	char dname[ADDR_STRLEN], what[ADDR_STRLEN + 32], via[CFG_MAX_PROXIES * 24];
	char relay[ADDR_STRLEN];
	size_t o = 0;

	addr_format_sa(dname, sizeof(dname), sa);
	if (f != NULL) {
		snprintf(what, sizeof(what), "udp association for %s", dname);
		log_failure(cfg, what, f);
		return;
	}
	via[0] = '\0';
	for (unsigned k = 0; k < a->nhops && o + 1 < sizeof(via); k++) {
		char name[ADDR_STRLEN + 16];

		addr_format_proxy(name, sizeof(name), &cfg->proxies[a->hops[k]]);
		o += (size_t)snprintf(via + o, sizeof(via) - o, "%s%s", k ? " -> " : "", name);
	}
	log_msg(CFG_LOG_INFO, "udp %s via %s ok (relay %s)", dname, via,
	    addr_format_sa(relay, sizeof(relay), (const struct sockaddr *)&a->relay));
}

static int
socket_family(int fd)
{
	int v = AF_INET;
	socklen_t l = sizeof(v);

	if (real_getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &l) != 0)
		v = AF_INET;
	return v;
}

/* Records fd as a UDP socket of the chain, with the peer it is connected
 * to (peer NULL: none); the record takes over pin. */
static int
record(int fd, int family, const struct sockaddr *peer, socklen_t len, void **pin)
{
	struct sock_rec rec;
	int tracked = sock_begin(fd);

	if (tracked < 0)
		return -1;
	memset(&rec, 0, sizeof(rec));
	rec.kind = SOCK_KIND_UDP;
	rec.family = (uint8_t)family;
	rec.assoc_fd = fd;
	if (peer != NULL) {
		rec.peerlen = len < sizeof(rec.peer) ? len : sizeof(rec.peer);
		memcpy(&rec.peer, peer, rec.peerlen);
		rec.pin = *pin;
	}
	if (sock_end(fd, tracked, tracked > 0 ? &rec : NULL, NULL, NULL) != 0)
		return -1;
	if (tracked > 0 && peer != NULL)
		*pin = NULL;
	return 0;
}

/* fd's association, made when there is none.  0 with *v filled (1 when
 * it is new), or -1 with errno (logged). */
static int
assoc_ensure(const struct cfg *cfg, int fd, const struct sockaddr *sa, bool recorded,
    struct udp_assoc *v)
{
	struct sfy_fail f;
	struct udp_assoc *a;
	int family;

	if (assoc_get(fd, v))
		return 0;
	family = socket_family(fd);
	a = assoc_open(cfg, fd, family, &f);
	if (a == NULL) {
		if (log_enabled(CFG_LOG_ERROR))
			log_assoc(cfg, sa, NULL, &f);
		errno = f.err ? f.err : ECONNREFUSED;
		return -1;
	}
	if (log_enabled(CFG_LOG_INFO))
		log_assoc(cfg, sa, a, NULL);
	assoc_install(a, v);
	if (!recorded && record(fd, family, NULL, 0, NULL) != 0) {
		int e = errno;
		udp_end(fd);
		errno = e;
		return -1;
	}
	return 1;
}

/* True when one of v's control connections is gone: the proxy closed it,
 * or it failed. */
static bool
ctl_dead(const struct udp_assoc *v)
{
	int e = errno;
	bool dead = false;

	for (unsigned k = 0; k < v->nhops && !dead; k++) {
		char b;
		struct iovec iov = { &b, 1 };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t r = real_recvmsg(v->ctl[k], &m, MSG_PEEK | MSG_DONTWAIT);

		dead = r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR);
	}
	errno = e;
	return dead;
}

/* The association of v died: it goes, with a log line; ECONNRESET. */
static int __attribute__((noinline))
assoc_lost(const struct cfg *cfg, const struct udp_assoc *v)
{
	char name[ADDR_STRLEN + 16];

	log_msg(CFG_LOG_ERROR, "udp association via hop %u (%s) lost: a control "
	    "connection closed; the next send sets up a new one", (unsigned)v->hops[0] + 1,
	    addr_format_proxy(name, sizeof(name), &cfg->proxies[v->hops[0]]));
	udp_end(v->fd);
	errno = ECONNRESET;
	return -1;
}

/* ---- which datagrams go through the chain ---- */

static bool
inet_ok(const struct sockaddr *sa, socklen_t len)
{
	if (sa == NULL || len < sizeof(sa_family_t))
		return false;
	return (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) ||
	    (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6));
}

static bool
is_dgram(int fd)
{
	int type = 0, e = errno;
	socklen_t l = sizeof(type);
	bool ok = real_getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) == 0 &&
	    type == SOCK_DGRAM;

	errno = e;
	return ok;
}

static void __attribute__((noinline))
log_refused(enum cfg_log level, const struct sockaddr *sa, const char *why)
{
	char dname[ADDR_STRLEN];

	log_msg(level, "udp to %s %s", addr_format_sa(dname, sizeof(dname), sa), why);
}

enum route { ROUTE_PASS, ROUTE_CHAIN, ROUTE_FAIL };

/* What becomes of a datagram (or a connect) to sa on datagram socket fd:
 * as it is, through the chain (d filled, to be released), or refused
 * (errno set, logged). */
static enum route
route(const struct cfg *cfg, const struct sockaddr *sa, struct dest *d)
{
	switch (dest_classify(d, cfg, sa)) {
	case DEST_DIRECT:
		return ROUTE_PASS;
	case DEST_DENY:
		log_refused(CFG_LOG_WARN, sa, "refused (deny rule)");
		errno = EACCES;
		return ROUTE_FAIL;
	case DEST_FORGOTTEN:
		log_refused(CFG_LOG_ERROR, sa, "refused: a stand-in address with no name");
		errno = EHOSTUNREACH;
		return ROUTE_FAIL;
	case DEST_PROXY:
		break;
	}
	switch (cfg->udp) {
	case CFG_UDP_CHAIN:
		return ROUTE_CHAIN;
	case CFG_UDP_REFUSE:
		log_refused(CFG_LOG_WARN, sa, "refused (udp = refuse)");
		errno = EACCES;
		return ROUTE_FAIL;
	case CFG_UDP_DIRECT:
		break;
	}
	if (d->standin) {
		/* A name's stand-in must not leave as a packet. */
		log_refused(CFG_LOG_WARN, sa, "refused: names are resolved by the proxy, "
		    "and udp = direct sends around the chain");
		errno = EAFNOSUPPORT;
		return ROUTE_FAIL;
	}
	return ROUTE_PASS;
}

/* The configuration, or NULL with errno EACCES (and a log line): without
 * one, nothing is trusted to go direct. */
static const struct cfg *
usable_cfg(const struct sockaddr *sa)
{
	bool ok;
	const struct cfg *cfg = env_cfg(&ok);

	if (ok)
		return cfg;
	env_report_error();
	log_refused(CFG_LOG_ERROR, sa, "refused: no usable configuration");
	errno = EACCES;
	return NULL;
}

/* A cheap first look for sockets the library does not know: true when
 * the datagram surely goes as it is, before any system call. */
static bool
surely_direct(const struct cfg *cfg, const struct sockaddr *sa)
{
	return cfg->udp == CFG_UDP_DIRECT && cfg->ndeny == 0 &&
	    !addr_cidr_match(&cfg->fake_ipv4, sa) && !addr_cidr_match(&cfg->fake_ipv6, sa);
}

/* ---- sending ---- */

static ssize_t
send_wrapped(int fd, const struct udp_assoc *v, const struct wire_addr *dst,
    const struct msghdr *msg, int flags)
{
	uint8_t hdr[UDP_HDR_MAX];
	struct iovec stack[UDP_IOV_STACK + 1], *iov = stack;
	struct socks5_udp h = { .frag = 0, .addr = *dst };
	struct msghdr m;
	size_t hl = v->prefixlen;
	ssize_t w, n;
	int e;

	memcpy(hdr, v->prefix, hl);
	w = wire_enc_socks5_udp(hdr + hl, sizeof(hdr) - hl, &h);
	if (w < 0) {
		errno = EMSGSIZE;
		return -1;
	}
	hl += (size_t)w;
	if (msg->msg_iovlen > UDP_IOV_STACK) {
		if (msg->msg_iovlen >= 1024) {
			errno = EMSGSIZE;
			return -1;
		}
		iov = malloc((msg->msg_iovlen + 1) * sizeof(*iov));
		if (iov == NULL) {
			errno = ENOBUFS;
			return -1;
		}
	}
	iov[0].iov_base = hdr;
	iov[0].iov_len = hl;
	for (size_t i = 0; i < msg->msg_iovlen; i++)
		iov[i + 1] = msg->msg_iov[i];
	memset(&m, 0, sizeof(m));
	m.msg_name = (void *)&v->relay;
	m.msg_namelen = v->relaylen;
	m.msg_iov = iov;
	m.msg_iovlen = msg->msg_iovlen + 1;
	m.msg_control = msg->msg_control;
	m.msg_controllen = msg->msg_controllen;
	/* The kernel says EMSGSIZE when the payload and the headers do not
	 * fit one datagram. */
	n = real_sendmsg(fd, &m, flags);
	e = errno;
	if (iov != stack)
		free(iov);
	errno = e;
	if (n < 0)
		return -1;
	return n >= (ssize_t)hl ? n - (ssize_t)hl : 0;
}

ssize_t
udp_sendmsg(int fd, const struct msghdr *msg, int flags, bool *handled)
{
	const struct sockaddr *sa = msg->msg_name;
	socklen_t len = msg->msg_namelen;
	const struct cfg *cfg;
	struct udp_assoc v;
	struct sock_rec rec;
	struct dest d;
	bool known, ok;
	ssize_t rc = -1;
	int e, made;

	*handled = false;
	known = sock_udp_flagged(fd) && sock_get(fd, &rec) && rec.kind == SOCK_KIND_UDP;
	if (sa == NULL) {
		if (!known || rec.peerlen == 0)
			return 0; /* the kernel says what it says */
		sa = (const struct sockaddr *)&rec.peer;
		len = rec.peerlen;
	}
	if (!inet_ok(sa, len))
		return 0;
	*handled = true;
	cfg = env_cfg(&ok);
	if (!known && ((ok && surely_direct(cfg, sa)) || !is_dgram(fd))) {
		*handled = false;
		return 0;
	}
	if ((cfg = usable_cfg(sa)) == NULL)
		return -1;
	switch (route(cfg, sa, &d)) {
	case ROUTE_FAIL:
		dest_release(&d);
		return -1;
	case ROUTE_PASS:
		dest_release(&d);
		*handled = false;
		return 0;
	case ROUTE_CHAIN:
		break;
	}
	made = assoc_ensure(cfg, fd, sa, known, &v);
	if (made < 0)
		goto out;
	/* A connected socket's new association: the kernel's peer is the
	 * new relay. */
	if (made > 0 && known && rec.peerlen != 0 &&
	    real_connect(fd, (const struct sockaddr *)&v.relay, v.relaylen) != 0)
		goto out;
	if (ctl_dead(&v)) {
		rc = assoc_lost(cfg, &v);
		goto out;
	}
	rc = send_wrapped(fd, &v, &d.wire, msg, flags);
	if (rc >= 0 && d.standin) {
		bool known_name = false;

		for (unsigned i = 0; i < UDP_NAMES && !known_name; i++)
			known_name = v.nameslen[i] == len && memcmp(&v.names[i], sa, len) == 0;
		if (!known_name)
			note_standin(fd, sa, len);
	}
out:
	e = errno;
	dest_release(&d);
	errno = e;
	return rc;
}

/* ---- connecting ---- */

int
udp_connect(int fd, const struct sockaddr *sa, socklen_t len, bool *handled)
{
	const struct cfg *cfg;
	struct udp_assoc v;
	struct sock_rec rec;
	struct dest d;
	bool known = sock_udp_flagged(fd) && sock_get(fd, &rec) &&
	    rec.kind == SOCK_KIND_UDP;
	int rc = -1, e;

	*handled = false;
	if (sa != NULL && len >= sizeof(sa_family_t) && sa->sa_family == AF_UNSPEC) {
		/* Disconnecting: the association stays, the peer goes. */
		if (!known)
			return 0;
		*handled = true;
		if (real_connect(fd, sa, len) != 0 && errno != EAFNOSUPPORT)
			return -1;
		return record(fd, rec.family, NULL, 0, NULL);
	}
	if (!inet_ok(sa, len))
		return 0;
	*handled = true;
	if ((cfg = usable_cfg(sa)) == NULL)
		return -1;
	switch (route(cfg, sa, &d)) {
	case ROUTE_FAIL:
		dest_release(&d);
		return -1;
	case ROUTE_PASS:
		dest_release(&d);
		/* Connected straight to a direct destination: the chain has
		 * nothing more to do with this socket. */
		if (known)
			sock_forget(fd);
		*handled = false;
		return 0;
	case ROUTE_CHAIN:
		break;
	}
	if (assoc_ensure(cfg, fd, sa, known, &v) < 0)
		goto out;
	/* The kernel's peer is the relay: only its datagrams come in, and
	 * send() without an address works. */
	if (real_connect(fd, (const struct sockaddr *)&v.relay, v.relaylen) != 0)
		goto out;
	if (record(fd, socket_family(fd), sa, len, &d.pin) != 0)
		goto out;
	rc = 0;
out:
	e = errno;
	dest_release(&d);
	errno = e;
	return rc;
}

/* ---- receiving ---- */

/* Waits, as a blocking receive would, for a datagram or for a control
 * connection to close, so a receive never hangs on a dead association.
 * SO_RCVTIMEO is honoured (EAGAIN).  1 after a wait, 0 when the call does
 * not block, -1 with errno. */
static int
wait_readable(int fd, const struct udp_assoc *v, int flags)
{
	struct pollfd p[CFG_MAX_PROXIES + 1];
	struct timeval tv = { 0, 0 };
	socklen_t tl = sizeof(tv);
	int fl, timeout = -1, r;

	if (flags & MSG_DONTWAIT)
		return 0;
	fl = real_fcntl(fd, F_GETFL, 0);
	if (fl < 0 || (fl & O_NONBLOCK))
		return 0;
	if (real_getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &tl) == 0 &&
	    (tv.tv_sec != 0 || tv.tv_usec != 0))
		timeout = (int)(tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000);
	p[0].fd = fd;
	p[0].events = POLLIN;
	for (unsigned k = 0; k < v->nhops; k++) {
		p[k + 1].fd = v->ctl[k];
		p[k + 1].events = POLLIN;
	}
	r = poll(p, v->nhops + 1, timeout);
	if (r < 0)
		return -1;
	if (r == 0) {
		errno = EAGAIN;
		return -1;
	}
	return 1;
}

static bool
same_sockaddr(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
		return x->sin6_port == y->sin6_port &&
		    memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
	}
	return false;
}

/* The source a reply's innermost header names, as the program's socket
 * family says it; a name becomes its stand-in. */
static socklen_t
source_sockaddr(int family, const struct wire_addr *w, struct sockaddr_storage *ss)
{
	struct wire_addr a = *w;
	socklen_t len = 0;

	if (w->type == WIRE_ATYP_NAME) {
		uint32_t idx = dns_remote_enabled() ? dns_map_get(w->u.name) : 0;

		memset(&a, 0, sizeof(a));
		a.port = w->port;
		if (family == AF_INET6) {
			a.type = WIRE_ATYP_IPV6;
			if (idx != 0)
				dns_map_addr6(idx, a.u.ip6);
		} else {
			a.type = WIRE_ATYP_IPV4;
			if (idx != 0)
				dns_map_addr4(idx, a.u.ip4);
		}
	}
	if (relay_sockaddr(family, &a, ss, &len) != 0 &&
	    addr_sockaddr_from_wire(ss, &len, &a) != 0)
		return 0;
	return len;
}

static uint16_t
port_of(const struct sockaddr *sa)
{
	return sa->sa_family == AF_INET ? ((const struct sockaddr_in *)sa)->sin_port :
	    ((const struct sockaddr_in6 *)sa)->sin6_port;
}

/* A reply from an address (not a name) on the port of exactly one
 * stand-in this association sent to: reported as that stand-in. */
static socklen_t
standin_for(const struct udp_assoc *v, const struct sockaddr *src,
    struct sockaddr_storage *out)
{
	int match = -1;

	for (unsigned i = 0; i < UDP_NAMES; i++) {
		if (v->nameslen[i] == 0 ||
		    port_of((const struct sockaddr *)&v->names[i]) != port_of(src))
			continue;
		if (match >= 0)
			return 0;
		match = (int)i;
	}
	if (match < 0)
		return 0;
	memcpy(out, &v->names[match], v->nameslen[match]);
	return v->nameslen[match];
}

/* Strips v's headers from a datagram of n bytes at buf: the payload's
 * offset, or -1 when it is not a well-formed reply. */
static ssize_t
unwrap(const struct udp_assoc *v, const uint8_t *buf, size_t n, struct wire_addr *src)
{
	size_t off = 0;

	for (unsigned k = 0; k < v->nhops; k++) {
		struct socks5_udp h;
		size_t used;
		const char *why;

		if (wire_dec_socks5_udp(buf + off, n - off, &h, &used, &why) != WIRE_OK ||
		    h.frag != 0)
			return -1;
		off += used;
		*src = h.addr;
	}
	return (ssize_t)off;
}

/* A datagram that did not come through the chain: direct when the rules
 * send its source direct. */
static bool
direct_source(const struct cfg *cfg, const struct sockaddr *sa)
{
	struct dest d;
	bool direct = dest_classify(&d, cfg, sa) == DEST_DIRECT;

	dest_release(&d);
	return direct;
}

static size_t
scatter(const struct msghdr *msg, const uint8_t *p, size_t n)
{
	size_t done = 0;

	for (size_t i = 0; i < msg->msg_iovlen && done < n; i++) {
		size_t c = msg->msg_iov[i].iov_len;

		if (c > n - done)
			c = n - done;
		if (c > 0)
			memcpy(msg->msg_iov[i].iov_base, p + done, c);
		done += c;
	}
	return done;
}

ssize_t
udp_recvmsg(int fd, struct msghdr *msg, int flags)
{
	const struct cfg *cfg;
	struct udp_assoc v;
	struct sock_rec rec;
	struct sockaddr_storage from, src;
	socklen_t srclen;
	uint8_t *buf = NULL;
	ssize_t rc = -1;
	bool ok;
	int e;

	if (!sock_get(fd, &rec) || rec.kind != SOCK_KIND_UDP || (flags & MSG_ERRQUEUE))
		return real_recvmsg(fd, msg, flags);
	cfg = env_cfg(&ok);
	if (!assoc_get(fd, &v)) {
		/* Lost earlier; a send makes a new one. */
		errno = ECONNRESET;
		return -1;
	}
	buf = malloc(UDP_RBUF);
	if (buf == NULL) {
		errno = ENOBUFS;
		return -1;
	}
	for (;;) {
		struct iovec iov = { buf, UDP_RBUF };
		struct msghdr m;
		struct wire_addr w;
		ssize_t n, off = 0;
		size_t plen, cap = 0;
		int waited = wait_readable(fd, &v, flags);

		if (waited < 0)
			goto out;
		if (ctl_dead(&v)) {
			rc = assoc_lost(cfg, &v);
			goto out;
		}
		memset(&m, 0, sizeof(m));
		m.msg_name = &from;
		m.msg_namelen = sizeof(from);
		m.msg_iov = &iov;
		m.msg_iovlen = 1;
		m.msg_control = msg->msg_control;
		m.msg_controllen = msg->msg_controllen;
		n = real_recvmsg(fd, &m, (flags & ~MSG_TRUNC) | (waited ? MSG_DONTWAIT : 0));
		if (n < 0) {
			if (waited && (errno == EAGAIN || errno == EWOULDBLOCK))
				continue; /* another thread took it: wait again */
			goto out;
		}
		if (same_sockaddr((struct sockaddr *)&from, (struct sockaddr *)&v.relay)) {
			off = unwrap(&v, buf, (size_t)n, &w);
			srclen = off < 0 ? 0 : source_sockaddr(rec.family, &w, &src);
			if (srclen != 0 && w.type != WIRE_ATYP_NAME && rec.peerlen == 0) {
				struct sockaddr_storage st;
				socklen_t sl = standin_for(&v, (struct sockaddr *)&src, &st);

				if (sl != 0) {
					src = st;
					srclen = sl;
				}
			}
			if (srclen == 0)
				off = -1;
			else if (rec.peerlen != 0 && !dns_map_in_range((struct sockaddr *)&rec.peer) &&
			    !same_sockaddr((struct sockaddr *)&src, (struct sockaddr *)&rec.peer))
				off = -1; /* connected: only the peer's datagrams */
		} else if (rec.peerlen == 0 && ok && direct_source(cfg, (struct sockaddr *)&from)) {
			src = from;
			srclen = m.msg_namelen;
		} else {
			off = -1;
		}
		if (off < 0) {
			/* Not for the program: gone, and the next one. */
			if (flags & MSG_PEEK) {
				struct msghdr z;
				memset(&z, 0, sizeof(z));
				(void)real_recvmsg(fd, &z, MSG_DONTWAIT);
			}
			continue;
		}
		if (rec.peerlen != 0) {
			memcpy(&src, &rec.peer, rec.peerlen);
			srclen = rec.peerlen;
		}
		plen = (size_t)n - (size_t)off;
		for (size_t i = 0; i < msg->msg_iovlen; i++)
			cap += msg->msg_iov[i].iov_len;
		(void)scatter(msg, buf + off, plen);
		if (msg->msg_name != NULL) {
			memcpy(msg->msg_name, &src, msg->msg_namelen < srclen ?
			    msg->msg_namelen : srclen);
			msg->msg_namelen = srclen;
		}
		msg->msg_controllen = m.msg_controllen;
		msg->msg_flags = (m.msg_flags & ~MSG_TRUNC) | (plen > cap ? MSG_TRUNC : 0);
		rc = (flags & MSG_TRUNC) || plen <= cap ? (ssize_t)plen : (ssize_t)cap;
		break;
	}
out:
	e = errno;
	free(buf);
	errno = e;
	return rc;
}

int
udp_recvmmsg(int fd, struct mmsghdr *vec, unsigned n, int flags)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		ssize_t r = udp_recvmsg(fd, &vec[i].msg_hdr, flags & ~MSG_WAITFORONE);

		if (r < 0) {
			if (i == 0)
				return -1;
			break;
		}
		vec[i].msg_len = (unsigned)r;
		if (flags & MSG_WAITFORONE)
			flags |= MSG_DONTWAIT;
	}
	return (int)i;
}
