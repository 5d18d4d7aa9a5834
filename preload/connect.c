/* connect.c: the engine behind the connect() and send*() hooks.
 *
 * Decides direct, deny or proxy for a TCP destination, runs the chain on
 * the application's own fd, records the destination for getpeername(),
 * and logs one line per proxied connection.  Also the UDP gate for
 * udp = refuse.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <string.h>

#include "internal.h"

int
sfy_connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct chain_result res;
	struct wire_addr dst;
	char dname[ADDR_STRLEN], via[CFG_MAX_PROXIES * (ADDR_STRLEN + 20)];
	const struct cfg *cfg;
	bool ok;
	int e;

	cfg = state_cfg(&ok);
	if (!ok) {
		/* Fail closed: without a usable config not even the default
		 * direct ranges are trusted. */
		state_report_error();
		log_msg(CFG_LOG_ERROR, "connect %s refused: no usable configuration",
		    addr_format_sa(dname, sizeof(dname), sa));
		errno = ECONNREFUSED;
		return -1;
	}
	switch (dns_fake_lookup(sa, &dst)) {
	case DNS_FAKE_NAME:
		break;  /* the name goes to the last hop; rules are for addresses */
	case DNS_FAKE_UNKNOWN:
		log_msg(CFG_LOG_ERROR, "connect %s refused: a stand-in address with no "
		    "name (forgotten by a full name map, or made by another process)",
		    addr_format_sa(dname, sizeof(dname), sa));
		errno = EHOSTUNREACH;
		return -1;
	case DNS_NOT_FAKE:
		switch (rules_check(cfg, sa)) {
		case RULE_DIRECT:
			fdt_clear(fd);
			return real_connect(fd, sa, len);
		case RULE_DENY:
			log_msg(CFG_LOG_WARN, "connect %s denied by a deny rule",
			    addr_format_sa(dname, sizeof(dname), sa));
			errno = EACCES;
			return -1;
		case RULE_PROXY:
			break;
		}
		if (addr_wire_from_sockaddr(&dst, sa) != 0)
			return real_connect(fd, sa, len); /* not IPv4/IPv6: not ours */
		break;
	}
	if (fdt_is_proxied(fd)) {
		socklen_t pl = sizeof(struct sockaddr_storage);
		struct sockaddr_storage peer;
		/* Still the socket we connected?  Then it is connected. */
		if (fdt_get_peer(fd, (struct sockaddr *)&peer, &pl)) {
			errno = EISCONN;
			return -1;
		}
	}
	if (chain_connect(fd, cfg, &dst, &res) != 0) {
		e = errno;
		/* Names for the log only when a line will be written: this is
		 * the path every connection takes. */
		if (!log_enabled(CFG_LOG_ERROR)) {
			errno = e;
			return -1;
		}
		addr_format(dname, sizeof(dname), &dst);
		if (res.fail_hop > 0) {
			char hop[ADDR_STRLEN + 16];
			addr_format_proxy(hop, sizeof(hop), &cfg->proxies[res.fail_hop - 1]);
			log_msg(CFG_LOG_ERROR, "connect %s failed: hop %u (%s): %s", dname,
			    res.fail_hop, hop, res.why);
		} else {
			log_msg(CFG_LOG_ERROR, "connect %s failed: %s", dname, res.why);
		}
		errno = e;
		return -1;
	}
	fdt_set(fd, sa, len);
	if (log_enabled(CFG_LOG_INFO)) {
		addr_format(dname, sizeof(dname), &dst);
		chain_describe(cfg, &res, via, sizeof(via));
		log_msg(CFG_LOG_INFO, "connect %s via %s ok", dname, via);
	}
	return 0;
}

int
sfy_udp_check(int fd, const struct sockaddr *sa, socklen_t len)
{
	const struct cfg *cfg;
	char dname[ADDR_STRLEN];
	int type = 0;
	socklen_t l = sizeof(type);
	enum rule_verdict v;

	if (sa == NULL || len < sizeof(sa_family_t) ||
	    (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
		return 0;
	if ((sa->sa_family == AF_INET && len < sizeof(struct sockaddr_in)) ||
	    (sa->sa_family == AF_INET6 && len < sizeof(struct sockaddr_in6)))
		return 0; /* the kernel answers EINVAL */
	cfg = state_cfg(NULL);
	if (dns_fake_lookup(sa, NULL) != DNS_NOT_FAKE) {
		/* A name's stand-in: it must not leave as a packet, and UDP
		 * does not go through the chain yet. */
		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) != 0 || type != SOCK_DGRAM)
			return 0;
		log_msg(CFG_LOG_WARN, "udp to %s refused: names are resolved by the proxy, "
		    "and UDP does not go through the chain",
		    addr_format_sa(dname, sizeof(dname), sa));
		errno = EAFNOSUPPORT;
		return -1;
	}
	if (cfg->udp != CFG_UDP_REFUSE && cfg->ndeny == 0)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) != 0 || type != SOCK_DGRAM)
		return 0;
	v = rules_check(cfg, sa);
	if (v == RULE_DIRECT || (v == RULE_PROXY && cfg->udp != CFG_UDP_REFUSE))
		return 0;
	log_msg(CFG_LOG_WARN, "udp to %s refused (%s)", addr_format_sa(dname, sizeof(dname), sa),
	    v == RULE_DENY ? "deny rule" : "udp = refuse");
	errno = EACCES;
	return -1;
}
