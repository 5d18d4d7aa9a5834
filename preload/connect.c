/* connect.c: the engine behind the connect() and send*() hooks.
 *
 * Takes the destination as dest.c classified it, runs the chain on the
 * program's socket, records the outcome against the fd, and logs one line
 * per proxied connection.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib.h"

/* What getsockname answers for a proxied connection: the last hop's bound
 * address (where the destination sees the connection come from), in the
 * program's family when it can be said in it, else the unspecified
 * address. */
static socklen_t
local_name(struct sockaddr_in6 *out, int family, const struct wire_addr *bnd)
{
	memset(out, 0, sizeof(*out));
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)out;

		in->sin_family = AF_INET;
		if (bnd->type == WIRE_ATYP_IPV4) {
			memcpy(&in->sin_addr, bnd->u.ip4, 4);
			in->sin_port = htons(bnd->port);
		}
		return sizeof(*in);
	}
	out->sin6_family = AF_INET6;
	if (bnd->type == WIRE_ATYP_IPV6) {
		memcpy(&out->sin6_addr, bnd->u.ip6, 16);
		out->sin6_port = htons(bnd->port);
	} else if (bnd->type == WIRE_ATYP_IPV4) {
		out->sin6_addr.s6_addr[10] = out->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&out->sin6_addr.s6_addr[12], bnd->u.ip4, 4);
		out->sin6_port = htons(bnd->port);
	}
	return sizeof(*out);
}

/* The log lines, out of line: their buffers stay off the stack of the
 * hook unless a line is written. */
static void __attribute__((noinline))
log_result(const struct cfg *cfg, const struct dest *d, const struct chain *c,
    const struct sfy_fail *f)
{
	char dname[ADDR_STRLEN], what[ADDR_STRLEN + 16], via[CFG_MAX_PROXIES * 24];

	addr_format(dname, sizeof(dname), &d->wire);
	if (f != NULL) {
		snprintf(what, sizeof(what), "connect %s", dname);
		log_failure(cfg, what, f);
		return;
	}
	chain_describe(c, via, sizeof(via));
	log_msg(CFG_LOG_INFO, "connect %s via %s ok", dname, via);
}

static void __attribute__((noinline))
log_refused(enum cfg_log level, const struct sockaddr *sa, const char *why)
{
	char dname[ADDR_STRLEN];

	log_msg(level, "connect %s %s", addr_format_sa(dname, sizeof(dname), sa), why);
}

/* The reply's BND, or the last hop's own address when the reply says
 * "all zeros" (or HTTP, which says nothing): a program puts this in an FTP
 * PORT command, so it must be where the far side can reach the hop. */
static struct wire_addr
reported_bnd(const struct cfg *cfg, const struct chain *c, const struct sock_rec *rec)
{
	static const uint8_t zero[16];
	struct wire_addr w = *chain_bound(c);
	const struct wire_addr *hop;
	bool empty = w.type == 0 ||
	    (w.type == WIRE_ATYP_IPV4 && memcmp(w.u.ip4, zero, 4) == 0) ||
	    (w.type == WIRE_ATYP_IPV6 && memcmp(w.u.ip6, zero, 16) == 0);

	if (!empty || rec->nhops == 0)
		return w;
	hop = &cfg->proxies[rec->hops[rec->nhops - 1]].addr;
	if (hop->type == WIRE_ATYP_IPV4 || hop->type == WIRE_ATYP_IPV6) {
		uint16_t port = w.port;

		w = *hop;
		w.port = port;
	}
	return w;
}

/* Port 53 with remote DNS: a resolver falling back to TCP, which must not
 * reach a name server (see udp.c: over UDP the process answers). */
static bool
dns_over_tcp(const struct cfg *cfg, const struct sockaddr *sa)
{
	uint16_t port = ntohs(sa->sa_family == AF_INET ?
	    ((const struct sockaddr_in *)sa)->sin_port :
	    ((const struct sockaddr_in6 *)sa)->sin6_port);

	return port == 53 && cfg_effective_dns(cfg) == CFG_DNS_REMOTE;
}

static int
install(void *arg, int fd)
{
	return chain_install(arg, fd);
}

int
sfy_connect_end(int fd, int tracked, const struct cfg *cfg, struct dest *d,
    const struct sockaddr *sa, socklen_t len, struct chain *c, bool ok, bool *kept)
{
	struct sock_rec rec;
	struct wire_addr bnd;
	int rc = -1, e;

	if (!ok) {
		e = chain_failure(c)->err;
		if (log_enabled(CFG_LOG_ERROR))
			log_result(cfg, d, NULL, chain_failure(c));
		/* Disconnected first: whoever sees the fd next sees a failed
		 * connect. */
		chain_free(c);
		rc = sock_end(fd, tracked, NULL, NULL, NULL);
		if (kept != NULL)
			*kept = rc == 0;
		errno = e;
		return -1;
	}
	memset(&rec, 0, sizeof(rec));
	rec.kind = SOCK_KIND_TCP;
	rec.family = (uint8_t)sa->sa_family;
	rec.swapped = chain_swapped(c);
	rec.nhops = (uint8_t)chain_path(c, rec.hops);
	rec.peerlen = len < sizeof(rec.peer) ? len : sizeof(rec.peer);
	memcpy(&rec.peer, sa, rec.peerlen);
	bnd = reported_bnd(cfg, c, &rec);
	rec.locallen = local_name(&rec.local, sa->sa_family, &bnd);
	rec.pin = d->pin;
	if (sock_end(fd, tracked, tracked > 0 ? &rec : NULL, install, c) != 0) {
		e = errno;
		goto out;
	}
	if (tracked > 0)
		d->pin = NULL; /* the record holds it now */
	if (tracked > 0) /* not from a process sharing its parent's memory */
		sfy_note_proxied(&d->wire, (const struct sockaddr *)&rec.local);
	rc = 0;
	e = 0;
	if (log_enabled(CFG_LOG_INFO))
		log_result(cfg, d, c, NULL);
out:
	if (kept != NULL)
		*kept = rc == 0;
	chain_free(c);
	errno = e;
	return rc;
}

/* Runs the chain for d on fd and records the result: here, or in the
 * engine thread for a non-blocking socket. */
static int
proxy(int fd, const struct cfg *cfg, struct dest *d, const struct sockaddr *sa,
    socklen_t len)
{
	struct sock_rec rec;
	struct sfy_fail f;
	struct chain *c;
	int tracked, e;

	if (sock_flagged(fd) && sock_get(fd, &rec)) {
		if (rec.kind != SOCK_KIND_LISTEN || rec.lstate != LISTEN_BOUND) {
			/* Still the socket we connected: it is connected. */
			errno = EISCONN;
			return -1;
		}
		/* Bound (only noted, see listen.c) and now connected: the
		 * address was a wildcard, or a hop's, no source to keep. */
		sock_forget(fd);
	}
	if (async_take_error(fd, &e)) {
		/* A failed non-blocking connect not asked about yet. */
		errno = e;
		return -1;
	}
	tracked = sock_begin(fd);
	if (tracked < 0)
		return -1;
	c = chain_new(cfg, fd, sa->sa_family, HS_CMD_CONNECT, &d->wire, &f);
	if (c == NULL) {
		(void)sock_end(fd, tracked, NULL, NULL, NULL);
		if (log_enabled(CFG_LOG_ERROR))
			log_result(cfg, d, NULL, &f);
		errno = f.err;
		return -1;
	}
	/* A non-blocking socket's connect goes to the engine thread. */
	if (tracked > 0 && chain_app_nonblocking(c))
		return async_connect(fd, tracked, cfg, d, sa, len, c);
	return sfy_connect_end(fd, tracked, cfg, d, sa, len, c, chain_run(c) == 0, NULL);
}

int
sfy_connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	const struct cfg *cfg;
	struct dest d;
	bool ok;
	int rc, e;

	cfg = env_cfg(&ok);
	if (!ok) {
		/* Fail closed: without a usable config not even the default
		 * direct ranges are trusted. */
		env_report_error();
		log_refused(CFG_LOG_ERROR, sa, "refused: no usable configuration");
		errno = ECONNREFUSED;
		return -1;
	}
	switch (dest_classify(&d, cfg, sa)) {
	case DEST_DIRECT:
		if (dns_over_tcp(cfg, sa)) {
			log_refused(CFG_LOG_WARN, sa, "refused: a DNS query over TCP to a name "
			    "server the rules send direct would leak names (dns = remote "
			    "answers A and AAAA over UDP in the process)");
			errno = ECONNREFUSED;
			return -1;
		}
		sock_forget(fd);
		return real_connect(fd, sa, len);
	case DEST_DENY:
		log_refused(CFG_LOG_WARN, sa, "denied by a deny rule");
		errno = EACCES;
		return -1;
	case DEST_FORGOTTEN:
		log_refused(CFG_LOG_ERROR, sa, "refused: a stand-in address with no name "
		    "(forgotten by a full name map, or made by another process)");
		errno = EHOSTUNREACH;
		return -1;
	case DEST_PROXY:
		break;
	}
	rc = proxy(fd, cfg, &d, sa, len);
	e = errno;
	dest_release(&d);
	errno = e;
	return rc;
}

int
sfy_fastopen(int fd, const struct sockaddr *sa, socklen_t len)
{
	const struct cfg *cfg;
	struct dest d;
	bool ok;
	int rc;

	cfg = env_cfg(&ok);
	if (ok && dest_classify(&d, cfg, sa) == DEST_DIRECT) {
		dest_release(&d);
		return 1; /* the kernel's own TCP Fast Open, straight out */
	}
	if (ok)
		dest_release(&d);
	/* Everything else is a connect() first: through the chain, or
	 * refused with the reason connect() gives. */
	rc = sfy_connect(fd, sa, len);
	if (rc != 0 && errno == EISCONN)
		return 0; /* connected already: the kernel sends, as for TCP */
	return rc;
}
