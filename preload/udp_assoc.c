/* udp_assoc.c: the UDP associations (udpa_): one SOCKS5 UDP association
 * per socket, set up hop by hop, and the headers every datagram carries.
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
#include <sys/syscall.h>
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
#include "udp.h"

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
bool
udpa_get(int fd, struct udp_assoc *v)
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
	if (a->local && a->inj >= 0)
		sock_internal_close(a->inj);
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
	for (struct udp_assoc *a = assocs; a != NULL; a = a->next) {
		if (a->local && a->inj == oldfd)
			a->inj = newfd;
		for (unsigned k = 0; k < a->nhops; k++)
			if (a->ctl[k] == oldfd)
				a->ctl[k] = newfd;
	}
	pthread_mutex_unlock(&udp_lock);
}

/* A datagram went to stand-in sa on fd's association. */
void
udpa_note_standin(int fd, const struct sockaddr *sa, socklen_t len)
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
int
udpa_relay_sockaddr(int family, const struct wire_addr *w, struct sockaddr_storage *ss,
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
	if (udpa_relay_sockaddr(family, &relays[0], &a->relay, &a->relaylen) != 0) {
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

int
udpa_socket_family(int fd)
{
	int v = AF_INET;
	socklen_t l = sizeof(v);

	if (real_getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &l) != 0)
		v = AF_INET;
	return v;
}

/* Records fd as a UDP socket of the chain, with the peer it is connected
 * to (peer NULL: none); the record takes over pin. */
int
udpa_record(int fd, int family, const struct sockaddr *peer, socklen_t len, void **pin)
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
int
udpa_ensure(const struct cfg *cfg, int fd, const struct sockaddr *sa, bool recorded,
    struct udp_assoc *v)
{
	struct sfy_fail f;
	struct udp_assoc *a;
	int family;

	if (udpa_get(fd, v))
		return 0;
	family = udpa_socket_family(fd);
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
	if (!recorded && udpa_record(fd, family, NULL, 0, NULL) != 0) {
		int e = errno;
		udp_end(fd);
		errno = e;
		return -1;
	}
	return 1;
}

/* Where a local association's answers come from: an address of the
 * loopback network no program uses (IPv4, or IPv4-mapped for an IPv6
 * socket that takes IPv4), so that a packet capture tells them apart. */
#define ANSWER_ADDR 0x7ffffffeu /* 127.255.255.254 */

static socklen_t
answer_addr(int fd, int family, struct sockaddr_storage *ss)
{
	int v6only = 0;
	socklen_t l = sizeof(v6only);

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(ANSWER_ADDR);
		return sizeof(*in);
	}
	((struct sockaddr_in6 *)ss)->sin6_family = AF_INET6;
	if (real_getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &l) == 0 && !v6only) {
		uint8_t *b = ((struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
		uint32_t a = htonl(ANSWER_ADDR);

		b[10] = b[11] = 0xff;
		memcpy(b + 12, &a, 4);
	} else {
		((struct sockaddr_in6 *)ss)->sin6_addr = in6addr_loopback;
	}
	return sizeof(struct sockaddr_in6);
}

/* The loopback address of family, port 0. */
static socklen_t
loopback(int family, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof(*in);
	}
	((struct sockaddr_in6 *)ss)->sin6_family = AF_INET6;
	((struct sockaddr_in6 *)ss)->sin6_addr = in6addr_loopback;
	return sizeof(struct sockaddr_in6);
}

static bool
unspecified(const struct sockaddr_storage *ss)
{
	static const struct in6_addr any6 = IN6ADDR_ANY_INIT;

	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	return memcmp(&((const struct sockaddr_in6 *)ss)->sin6_addr, &any6, sizeof(any6)) == 0;
}

/* The internal socket a local association's answers come from: on
 * loopback, connected to where the program's socket receives (bound here
 * to port 0 first when it is not bound yet, as a first send would). */
static int
answer_socket(int fd, int family, struct sockaddr_storage *from, socklen_t *fromlen)
{
	struct sockaddr_storage me;
	socklen_t ml = sizeof(me);
	uint16_t port;
	int s = -1, e;

	if (real_getsockname(fd, (struct sockaddr *)&me, &ml) != 0)
		return -1;
	port = family == AF_INET ? ((struct sockaddr_in *)&me)->sin_port :
	    ((struct sockaddr_in6 *)&me)->sin6_port;
	if (port == 0) {
		struct sockaddr_storage any;
		socklen_t al = loopback(family, &any);

		if (family == AF_INET)
			((struct sockaddr_in *)&any)->sin_addr.s_addr = htonl(INADDR_ANY);
		else
			((struct sockaddr_in6 *)&any)->sin6_addr = in6addr_any;
		ml = sizeof(me);
		if (syscall(SYS_bind, fd, &any, al) != 0 ||
		    real_getsockname(fd, (struct sockaddr *)&me, &ml) != 0)
			return -1;
	}
	if (unspecified(&me)) {
		struct sockaddr_storage lo;

		port = family == AF_INET ? ((struct sockaddr_in *)&me)->sin_port :
		    ((struct sockaddr_in6 *)&me)->sin6_port;
		ml = loopback(family, &lo);
		if (family == AF_INET)
			((struct sockaddr_in *)&lo)->sin_port = port;
		else
			((struct sockaddr_in6 *)&lo)->sin6_port = port;
		me = lo;
	}
	s = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return -1;
	*fromlen = answer_addr(fd, family, from);
	if (syscall(SYS_bind, s, (struct sockaddr *)from, *fromlen) != 0 ||
	    real_connect(s, (struct sockaddr *)&me, ml) != 0 ||
	    real_getsockname(s, (struct sockaddr *)from, fromlen) != 0 ||
	    sock_internal_add(s) != 0) {
		e = errno;
		real_close(s);
		errno = e;
		return -1;
	}
	return s;
}

int
udpa_ensure_local(int fd, const struct sockaddr *ns, socklen_t nslen, bool recorded,
    struct udp_assoc *v)
{
	struct udp_assoc *a;
	int family;

	if (udpa_get(fd, v)) {
		if (v->local)
			return 0;
		errno = EACCES; /* its datagrams go through the chain already */
		return -1;
	}
	family = udpa_socket_family(fd);
	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		errno = ENOMEM;
		return -1;
	}
	a->fd = fd;
	a->local = true;
	a->inj = answer_socket(fd, family, &a->relay, &a->relaylen);
	if (a->inj < 0) {
		int e = errno;

		free(a);
		errno = e;
		return -1;
	}
	if (nslen > sizeof(a->ns))
		nslen = sizeof(a->ns);
	memcpy(&a->ns, ns, nslen);
	a->nslen = nslen;
	assoc_install(a, v);
	if (!recorded && udpa_record(fd, family, NULL, 0, NULL) != 0) {
		int e = errno;
		udp_end(fd);
		errno = e;
		return -1;
	}
	return 1;
}

/* True when one of v's control connections is gone: the proxy closed it,
 * or it failed.  One poll for all the hops, not one call per hop: this
 * runs before every datagram. */
bool
udpa_ctl_dead(const struct udp_assoc *v)
{
	struct pollfd p[CFG_MAX_PROXIES];
	int e = errno, r;
	bool dead = false;

	for (unsigned k = 0; k < v->nhops; k++) {
		p[k].fd = v->ctl[k];
		p[k].events = POLLRDHUP;
		p[k].revents = 0;
	}
	do
		r = poll(p, v->nhops, 0);
	while (r < 0 && errno == EINTR);
	for (unsigned k = 0; r > 0 && k < v->nhops && !dead; k++)
		dead = (p[k].revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
	errno = e;
	return dead;
}

/* The association of v died: it goes, with a log line; ECONNRESET. */
int __attribute__((noinline))
udpa_lost(const struct cfg *cfg, const struct udp_assoc *v)
{
	char name[ADDR_STRLEN + 16];

	log_msg(CFG_LOG_ERROR, "udp association via hop %u (%s) lost: a control "
	    "connection closed; the next send sets up a new one", (unsigned)v->hops[0] + 1,
	    addr_format_proxy(name, sizeof(name), &cfg->proxies[v->hops[0]]));
	udp_end(v->fd);
	errno = ECONNRESET;
	return -1;
}
