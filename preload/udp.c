/* udp.c: which datagrams go through the chain, and sending them (udp_):
 * sendto/sendmsg and connect on datagram sockets, by the rules' verdict:
 * as they are (direct), refused (deny, udp = refuse, a stand-in with udp =
 * direct), or wrapped in the association's headers to hop 1's relay
 * (udp_assoc.c).  A connected socket of the chain is connected, in the
 * kernel, to the relay; its record keeps the peer the program named.
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
#include "resquery.h"
#include "udp.h"

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

/* ---- DNS answered in the process ---- */

/* A query to port 53 of a name server the rules send direct, with remote
 * DNS on: it must not reach the server (the name would leak, and the
 * answer would not be the stand-in the chain needs). */
static bool
dns_local(const struct cfg *cfg, const struct sockaddr *sa)
{
	struct dest d;
	enum dest_verdict v;
	uint16_t port = ntohs(sa->sa_family == AF_INET ?
	    ((const struct sockaddr_in *)sa)->sin_port :
	    ((const struct sockaddr_in6 *)sa)->sin6_port);

	if (port != 53 || cfg_effective_dns(cfg) != CFG_DNS_REMOTE)
		return false;
	v = dest_classify(&d, cfg, sa);
	dest_release(&d);
	return v == DEST_DIRECT;
}

/* Answers the query in msg as the name map would (A and AAAA; any other
 * question REFUSED), from the association's answer socket.  Returns the
 * query's length, as a send would. */
static ssize_t
answer_local(const struct udp_assoc *v, const struct msghdr *msg)
{
	enum { QMAX = 4096 };
	unsigned char *q = malloc(2 * QMAX), *ans = q + QMAX;
	size_t n = 0;
	ssize_t rc = -1;
	int al, e;

	if (q == NULL) {
		errno = ENOBUFS;
		return -1;
	}
	for (size_t i = 0; i < msg->msg_iovlen; i++) {
		size_t l = msg->msg_iov[i].iov_len;

		if (l > QMAX - n) {
			errno = EMSGSIZE;
			goto out;
		}
		memcpy(q + n, msg->msg_iov[i].iov_base, l);
		n += l;
	}
	al = dns_res_send(NULL, q, (int)n, ans, QMAX);
	/* A datagram too short to be a query gets no answer, as from a
	 * server that drops it. */
	if (al > 0 && send(v->inj, ans, (size_t)al, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		goto out;
	if (log_enabled(CFG_LOG_DEBUG)) {
		char a[ADDR_STRLEN];

		log_msg(CFG_LOG_DEBUG, "udp dns query to %s answered here (%d bytes)",
		    addr_format_sa(a, sizeof(a), (const struct sockaddr *)&v->ns), al);
	}
	rc = (ssize_t)n;
out:
	e = errno;
	free(q);
	errno = e;
	return rc;
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
	/* Port 53 first: the socket type costs a system call. */
	if (ok && dns_local(cfg, sa) && (known || is_dgram(fd))) {
		if (udpa_ensure_local(fd, sa, len, known, &v) < 0)
			return -1;
		return answer_local(&v, msg);
	}
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
	made = udpa_ensure(cfg, fd, sa, known, &v);
	if (made < 0)
		goto out;
	/* A connected socket's new association: the kernel's peer is the
	 * new relay. */
	if (made > 0 && known && rec.peerlen != 0 &&
	    real_connect(fd, (const struct sockaddr *)&v.relay, v.relaylen) != 0)
		goto out;
	if (udpa_ctl_dead(&v)) {
		rc = udpa_lost(cfg, &v);
		goto out;
	}
	rc = send_wrapped(fd, &v, &d.wire, msg, flags);
	if (rc >= 0 && d.standin) {
		bool known_name = false;

		for (unsigned i = 0; i < UDP_NAMES && !known_name; i++)
			known_name = v.nameslen[i] == len && memcmp(&v.names[i], sa, len) == 0;
		if (!known_name)
			udpa_note_standin(fd, sa, len);
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
		return udpa_record(fd, rec.family, NULL, 0, NULL);
	}
	if (!inet_ok(sa, len))
		return 0;
	*handled = true;
	if ((cfg = usable_cfg(sa)) == NULL)
		return -1;
	if (dns_local(cfg, sa)) {
		/* A resolver's connected socket: the kernel's peer is the
		 * answer socket, the program's is the name server. */
		void *nopin = NULL;

		if (udpa_ensure_local(fd, sa, len, known, &v) < 0 ||
		    real_connect(fd, (const struct sockaddr *)&v.relay, v.relaylen) != 0 ||
		    udpa_record(fd, udpa_socket_family(fd), sa, len, &nopin) != 0)
			return -1;
		return 0;
	}
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
	if (udpa_ensure(cfg, fd, sa, known, &v) < 0)
		goto out;
	/* The kernel's peer is the relay: only its datagrams come in, and
	 * send() without an address works. */
	if (real_connect(fd, (const struct sockaddr *)&v.relay, v.relaylen) != 0)
		goto out;
	if (udpa_record(fd, udpa_socket_family(fd), sa, len, &d.pin) != 0)
		goto out;
	rc = 0;
out:
	e = errno;
	dest_release(&d);
	errno = e;
	return rc;
}
