/* listen.c: listening sockets through the chain (SOCKS BIND).
 *
 * A TCP socket the config sends through the chain (bind = auto: bound to
 * port 0 of a wildcard address or of the address getsockname reported for
 * a proxied connection; bind = chain: every one) is never bound here: the
 * address is only noted.  listen() asks the chain for BIND (hops 1..n-1
 * CONNECT, the last hop BIND) on the program's own socket, with the
 * destination of the program's latest proxied connection as the expected
 * peer, and getsockname() then answers the address of the first reply.
 * A kernel gives port 0 its port at bind(), and programs read it before
 * listen() (curl does, for its PORT command): getsockname() on a socket
 * only bound starts the BIND too.  A socket bound here and then connected
 * is connected as any other (the noted address is forgotten).
 * The socket stays connected to the first hop: it turns readable when
 * the second reply (the peer that came) arrives, which is when a real
 * listener turns readable, so poll, epoll and select need nothing of us.
 * accept() reads that reply and hands the socket over as the accepted
 * connection, tunnel and all; the listener's number gets a fresh socket
 * and the next accept() asks for a new BIND (a non-blocking one says
 * EAGAIN once it is up, and getsockname() then names the new address; an
 * epoll registration of the listener does not survive the swap, see
 * socksify.conf(5)).  Closing the
 * listener closes the connection to the first hop, which ends the BIND.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib.h"

/* The destination of the latest proxied connection: the peer a BIND
 * expects (an FTP server opens its data connection from its own host).
 * And the local names getsockname reported for the latest ones: a program
 * that binds to one (to put it in an FTP PORT command) means the chain. */
#define LOCAL_NAMES 16
static pthread_mutex_t peer_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t peer_once = PTHREAD_ONCE_INIT;
static struct wire_addr last_peer;
static struct wire_addr locals[LOCAL_NAMES];
static unsigned nlocal;

/* A child forked while another thread held the lock gets it free. */
static void peer_prepare(void) { pthread_mutex_lock(&peer_lock); }
static void peer_release(void) { pthread_mutex_unlock(&peer_lock); }
static void peer_init(void) { (void)pthread_atfork(peer_prepare, peer_release, peer_release); }

static void
peer_lock_take(void)
{
	(void)pthread_once(&peer_once, peer_init);
	pthread_mutex_lock(&peer_lock);
}

void
sfy_note_proxied(const struct wire_addr *peer, const struct sockaddr *local)
{
	struct wire_addr l;
	bool have = addr_wire_from_sockaddr(&l, local) == 0;

	peer_lock_take();
	last_peer = *peer;
	if (have) {
		l.port = 0;
		locals[nlocal++ % LOCAL_NAMES] = l;
	}
	pthread_mutex_unlock(&peer_lock);
}

static bool
is_proxied_local(const struct sockaddr *sa)
{
	struct wire_addr w;
	bool found = false;

	if (addr_wire_from_sockaddr(&w, sa) != 0)
		return false;
	w.port = 0;
	peer_lock_take();
	for (unsigned i = 0; i < LOCAL_NAMES && i < nlocal && !found; i++)
		found = memcmp(&locals[i], &w, sizeof(w)) == 0;
	pthread_mutex_unlock(&peer_lock);
	return found;
}

static bool
wire_is_zero(const struct wire_addr *w)
{
	static const uint8_t zero[16];

	if (w->type == WIRE_ATYP_IPV4)
		return memcmp(w->u.ip4, zero, 4) == 0;
	if (w->type == WIRE_ATYP_IPV6)
		return memcmp(w->u.ip6, zero, 16) == 0;
	return w->type == 0;
}

/* Writes sa into *out as the program's socket of family would name it
 * (an IPv4 address is v4-mapped for an AF_INET6 socket). */
static socklen_t
in_family(struct sockaddr_in6 *out, int family, const struct sockaddr *sa)
{
	memset(out, 0, sizeof(*out));
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)out;

		in->sin_family = AF_INET;
		if (sa->sa_family == AF_INET)
			*in = *(const struct sockaddr_in *)sa;
		return sizeof(*in);
	}
	if (sa->sa_family == AF_INET6) {
		*out = *(const struct sockaddr_in6 *)sa;
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		out->sin6_family = AF_INET6;
		out->sin6_port = in->sin_port;
		out->sin6_addr.s6_addr[10] = out->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&out->sin6_addr.s6_addr[12], &in->sin_addr, 4);
	} else {
		out->sin6_family = AF_INET6;
	}
	return sizeof(*out);
}

static struct wire_addr
expected_peer(int family)
{
	struct wire_addr w;

	peer_lock_take();
	w = last_peer;
	pthread_mutex_unlock(&peer_lock);
	if (w.type == 0) {
		/* No proxied connection yet: anyone may come. */
		memset(&w, 0, sizeof(w));
		w.type = family == AF_INET6 ? WIRE_ATYP_IPV6 : WIRE_ATYP_IPV4;
	}
	/* The peer's port is its own choice (an FTP server's data
	 * connection does not come from its control port). */
	w.port = 0;
	return w;
}

static bool
is_wildcard(const struct sockaddr *sa)
{
	static const struct in6_addr any6 = IN6ADDR_ANY_INIT;

	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)sa)->sin_addr.s_addr == htonl(INADDR_ANY);
	return memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr, &any6, sizeof(any6)) == 0;
}

static uint16_t
port_of(const struct sockaddr *sa)
{
	return ntohs(sa->sa_family == AF_INET ? ((const struct sockaddr_in *)sa)->sin_port :
	    ((const struct sockaddr_in6 *)sa)->sin6_port);
}

/* Whether a listener bound to sa goes through the chain. */
static bool
wants_chain(const struct cfg *cfg, const struct sockaddr *sa)
{
	struct dest d;
	enum dest_verdict v;

	if (cfg->bind == CFG_BIND_LOCAL)
		return false;
	if (cfg->bind == CFG_BIND_CHAIN)
		return true;
	if (port_of(sa) != 0)
		return false; /* a server on a port of its own stays local */
	if (!is_wildcard(sa) && !is_proxied_local(sa))
		return false;
	v = dest_classify(&d, cfg, sa);
	dest_release(&d);
	return v == DEST_PROXY;
}

int
sfy_bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	const struct cfg *cfg;
	struct sock_rec rec;
	bool ok;
	int tracked;

	cfg = env_cfg(&ok);
	if (!ok || !wants_chain(cfg, sa))
		return 1;
	if (sock_flagged(fd) && sock_get(fd, &rec)) {
		errno = EINVAL; /* bound already, as the kernel says */
		return -1;
	}
	tracked = sock_begin(fd);
	if (tracked < 0)
		return -1;
	if (tracked == 0) {
		/* A process sharing its parent's memory records nothing: the
		 * kernel binds, as without us. */
		(void)sock_end(fd, tracked, NULL, NULL, NULL);
		return 1;
	}
	memset(&rec, 0, sizeof(rec));
	rec.kind = SOCK_KIND_LISTEN;
	rec.lstate = LISTEN_BOUND;
	rec.family = (uint8_t)sa->sa_family;
	rec.locallen = len < sizeof(rec.local) ? len : sizeof(rec.local);
	memcpy(&rec.local, sa, rec.locallen);
	if (sock_end(fd, tracked, &rec, NULL, NULL) != 0)
		return -1;
	if (log_enabled(CFG_LOG_DEBUG)) {
		char a[ADDR_STRLEN];

		log_msg(CFG_LOG_DEBUG, "bind %s: kept for a BIND through the chain",
		    addr_format_sa(a, sizeof(a), sa));
	}
	return 0;
}

/* The address the last hop listens on: the reply's, or the hop's own
 * when the reply says 0.0.0.0 (it listens on every address). */
static void
bound_name(struct sock_rec *rec, const struct cfg *cfg, const struct wire_addr *bnd)
{
	struct wire_addr w = *bnd;
	const struct wire_addr *hop = &cfg->proxies[rec->hops[rec->nhops - 1]].addr;
	struct sockaddr_storage ss;
	socklen_t sl;

	if (wire_is_zero(&w) && (hop->type == WIRE_ATYP_IPV4 || hop->type == WIRE_ATYP_IPV6)) {
		uint16_t port = w.port;

		w = *hop;
		w.port = port;
	}
	sl = sizeof(ss);
	if (addr_sockaddr_from_wire(&ss, &sl, &w) != 0) {
		memset(&ss, 0, sizeof(ss));
		ss.ss_family = rec->family;
		sl = rec->family == AF_INET ? sizeof(struct sockaddr_in) :
		    sizeof(struct sockaddr_in6);
	}
	(void)sl;
	rec->locallen = in_family(&rec->local, rec->family, (struct sockaddr *)&ss);
}

/* Asks the chain for a BIND on fd and records the listener.  Returns 0,
 * or -1 with errno (the hop's failure, logged). */
static int
start_bind(int fd, const struct cfg *cfg, int family)
{
	struct wire_addr want = expected_peer(family);
	struct sock_rec rec;
	struct sfy_fail f;
	struct chain *c;
	int tracked, e = 0, rc = -1;
	char via[256], a[ADDR_STRLEN];

	tracked = sock_begin(fd);
	if (tracked < 0)
		return -1;
	c = chain_new(cfg, fd, family, HS_CMD_BIND, &want, &f);
	if (c == NULL || chain_run(c) != 0) {
		const struct sfy_fail *ff = c != NULL ? chain_failure(c) : &f;

		e = ff->kind == FAIL_CARRY ? EOPNOTSUPP : ff->err;
		(void)sock_end(fd, tracked, NULL, NULL, NULL);
		if (log_enabled(CFG_LOG_ERROR))
			log_msg(CFG_LOG_ERROR, "listen: BIND through the chain failed: hop %u: %s",
			    ff->hop, ff->detail);
		goto out;
	}
	memset(&rec, 0, sizeof(rec));
	rec.kind = SOCK_KIND_LISTEN;
	rec.lstate = LISTEN_WAITING;
	rec.family = (uint8_t)family;
	rec.nhops = (uint8_t)chain_path(c, rec.hops);
	bound_name(&rec, cfg, chain_bound(c));
	if (sock_end(fd, tracked, tracked > 0 ? &rec : NULL, NULL, NULL) != 0) {
		e = errno;
		goto out;
	}
	rc = 0;
	if (log_enabled(CFG_LOG_INFO)) {
		chain_describe(c, via, sizeof(via));
		log_msg(CFG_LOG_INFO, "listen via %s ok: the peer comes to %s", via,
		    addr_format_sa(a, sizeof(a), (const struct sockaddr *)&rec.local));
	}
out:
	chain_free(c);
	errno = e;
	return rc;
}

int
sfy_listen(int fd)
{
	const struct cfg *cfg;
	struct sock_rec rec;
	bool ok;

	if (!sock_flagged(fd) || !sock_get(fd, &rec) || rec.kind != SOCK_KIND_LISTEN)
		return 1;
	if (rec.lstate != LISTEN_BOUND)
		return 0; /* listening already (or the next accept asks again) */
	cfg = env_cfg(&ok);
	if (!ok) {
		env_report_error();
		errno = ECONNREFUSED;
		return -1;
	}
	return start_bind(fd, cfg, rec.family);
}

/* Reads the second reply on fd (the listener): 0 with the peer in *peer,
 * or -1 with errno (EAGAIN when it is not there and fd is non-blocking). */
static int
second_reply(int fd, const struct cfg *cfg, const struct sock_rec *rec, bool nonblock,
    struct wire_addr *peer)
{
	struct hs *h;
	struct sfy_fail f;
	int r, rc = -1, e;
	int64_t deadline;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	/* Nothing yet: a real listener would say EAGAIN, or block. */
	for (;;) {
		int n = poll(&p, 1, nonblock ? 0 : -1);

		if (n > 0)
			break;
		if (n == 0) {
			errno = EAGAIN;
			return -1;
		}
		if (errno != EINTR)
			return -1;
	}
	h = calloc(1, sizeof(*h));
	if (h == NULL) {
		errno = ENOMEM;
		return -1;
	}
	h->p = &cfg->proxies[rec->hops[rec->nhops - 1]];
	h->hop = rec->nhops;
	h->cmd = HS_CMD_BIND;
	hs_start_reply2(h);
	h->await = 0;
	deadline = io_now_ms() + cfg->handshake_timeout_ms;
	for (;;) {
		r = hs_step(h, fd, &f);
		if (r == HS_DONE || r == HS_FAILED)
			break;
		if (io_wait(fd, (short)r, deadline) != 0) {
			hs_timed_out(h, &f);
			r = HS_FAILED;
			break;
		}
	}
	if (r == HS_DONE) {
		*peer = h->bnd;
		rc = 0;
		e = 0;
	} else {
		e = f.err;
		if (log_enabled(CFG_LOG_ERROR))
			log_msg(CFG_LOG_ERROR, "accept: BIND through the chain failed: hop %u: %s",
			    f.hop, f.detail);
	}
	free(h);
	errno = e;
	return rc;
}

/* Puts a fresh socket of the listener's family at fd, recorded as a
 * listener whose next accept asks for a new BIND. */
static int
renew_listener(int fd, const struct sock_rec *old, int flags)
{
	struct sock_rec rec = *old;
	int s = socket(old->family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP), tracked, e;

	if (s < 0)
		return -1;
	/* The file status flags (O_NONBLOCK) were the listener's file's:
	 * the program set them and expects to find them. */
	if (flags >= 0)
		(void)real_fcntl(s, F_SETFL, flags);
	tracked = sock_begin(fd);
	if (tracked < 0) {
		e = errno;
		real_close(s);
		errno = e;
		return -1;
	}
	rec.lstate = LISTEN_IDLE;
	rec.nhops = 0;
	/* The descriptor flag (close-on-exec) stays the listener's. */
	if (real_dup3(s, fd, (real_fcntl(fd, F_GETFD, 0) & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
		e = errno;
		(void)sock_end(fd, tracked, NULL, NULL, NULL);
		real_close(s);
		errno = e;
		return -1;
	}
	real_close(s);
	return sock_end(fd, tracked, tracked > 0 ? &rec : NULL, NULL, NULL);
}

int
sfy_accept(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
	const struct cfg *cfg;
	struct sock_rec rec, conn;
	struct wire_addr peer;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	bool ok, nonblock;
	int fl, nfd, tracked, e;

	if (!sock_get(fd, &rec) || rec.kind != SOCK_KIND_LISTEN)
		return -2;
	if (rec.lstate == LISTEN_BOUND) {
		errno = EINVAL; /* accept before listen */
		return -1;
	}
	cfg = env_cfg(&ok);
	if (!ok) {
		env_report_error();
		errno = ECONNABORTED;
		return -1;
	}
	fl = real_fcntl(fd, F_GETFL, 0);
	nonblock = fl >= 0 && (fl & O_NONBLOCK);
	if (rec.lstate == LISTEN_IDLE) {
		/* The last peer was taken: a new BIND for the next one. */
		if (start_bind(fd, cfg, rec.family) != 0 || !sock_get(fd, &rec))
			return -1;
	}
	if (second_reply(fd, cfg, &rec, nonblock, &peer) != 0) {
		if (errno != EAGAIN && errno != EINTR) {
			/* The BIND is over (refused, or the hop closed):
			 * the next accept asks for a new one. */
			e = errno;
			(void)renew_listener(fd, &rec, fl);
			errno = e;
		}
		return -1;
	}
	/* The listener's socket is the connection now: it leaves as the
	 * accepted fd, and the listener's number gets a fresh socket. */
	nfd = real_fcntl(fd, (flags & SOCK_CLOEXEC) ? F_DUPFD_CLOEXEC : F_DUPFD, 0);
	if (nfd < 0)
		return -1;
	if (renew_listener(fd, &rec, fl) != 0) {
		e = errno;
		real_close(nfd);
		errno = e;
		return -1;
	}
	/* Alone on its file now: its own O_NONBLOCK, as accept4 was asked. */
	(void)real_fcntl(nfd, F_SETFL, (flags & SOCK_NONBLOCK) ? (fl | O_NONBLOCK) :
	    (fl & ~O_NONBLOCK));
	memset(&conn, 0, sizeof(conn));
	conn.kind = SOCK_KIND_TCP;
	conn.family = rec.family;
	conn.nhops = rec.nhops;
	memcpy(conn.hops, rec.hops, sizeof(conn.hops));
	if (addr_sockaddr_from_wire(&ss, &sl, &peer) != 0) {
		memset(&ss, 0, sizeof(ss));
		ss.ss_family = rec.family;
		sl = rec.family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	}
	conn.peerlen = in_family(&conn.peer, rec.family, (struct sockaddr *)&ss);
	conn.local = rec.local;
	conn.locallen = rec.locallen;
	tracked = sock_begin(nfd);
	if (tracked >= 0)
		(void)sock_end(nfd, tracked, tracked > 0 ? &conn : NULL, NULL, NULL);
	if (sa != NULL && len != NULL) {
		memcpy(sa, &conn.peer, *len < conn.peerlen ? *len : conn.peerlen);
		*len = conn.peerlen;
	}
	if (log_enabled(CFG_LOG_INFO)) {
		char a[ADDR_STRLEN];

		log_msg(CFG_LOG_INFO, "accept: %s came through the chain",
		    addr_format_sa(a, sizeof(a), (const struct sockaddr *)&conn.peer));
	}
	return nfd;
}
