/* udp_recv.c: receiving on a UDP socket of the chain (udp_): datagrams
 * from hop 1's relay are unwrapped, one header per hop, and reported as
 * coming from the source the innermost header names; any other datagram is
 * dropped, unless the rules send its source direct.  The whole datagram is
 * read into a buffer of its own, so MSG_TRUNC and MSG_PEEK keep their
 * meaning, and ancillary data goes to the program's buffer untouched.
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
#include "udp.h"

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
	/* Only a hang-up wakes us for a control connection: bytes on it
	 * (none are expected) must not make this a busy loop. */
	for (unsigned k = 0; k < v->nhops; k++) {
		p[k + 1].fd = v->ctl[k];
		p[k + 1].events = POLLRDHUP;
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
	if (udpa_relay_sockaddr(family, &a, ss, &len) != 0 &&
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
	if (!udpa_get(fd, &v)) {
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
		if (udpa_ctl_dead(&v)) {
			rc = udpa_lost(cfg, &v);
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
		if (v.local && same_sockaddr((struct sockaddr *)&from,
		    (struct sockaddr *)&v.relay)) {
			/* An answer made here: from the name server asked. */
			off = 0;
			memcpy(&src, &v.ns, v.nslen);
			srclen = v.nslen;
		} else if (v.local) {
			off = -1;
		} else if (same_sockaddr((struct sockaddr *)&from, (struct sockaddr *)&v.relay)) {
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
