/* acl.c: who may connect (--allow), where no one may go (--deny-dest), and
 * the addresses a destination must not be (the server's own listeners). */
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "srv.h"

int
srv_acl_add(struct addr_cidr **list, size_t *n, const char *text, const char **why)
{
	struct addr_cidr c, *l;

	if (addr_parse_cidr(text, &c, why) != 0)
		return -1;
	l = realloc(*list, (*n + 1) * sizeof(*l));
	if (l == NULL) {
		*why = "out of memory";
		return -1;
	}
	l[*n] = c;
	*list = l;
	(*n)++;
	return 0;
}

static bool
acl_any(const struct addr_cidr *l, size_t n, const struct sockaddr *sa)
{
	for (size_t i = 0; i < n; i++)
		if (addr_cidr_match(&l[i], sa))
			return true;
	return false;
}

bool
srv_acl_client_ok(const struct srv_cfg *cfg, const struct sockaddr *sa)
{
	return cfg->nallow == 0 || acl_any(cfg->allow, cfg->nallow, sa);
}

void
srv_acl_canon(union srv_sa *out, const struct sockaddr *sa)
{
	uint8_t ip4[4];
	in_port_t port;

	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		memcpy(ip4, &in->sin_addr, 4);
		port = in->sin_port;
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) ||
		    IN6_IS_ADDR_V4COMPAT(&in6->sin6_addr)) {
			/* An IPv4-mapped address reaches the IPv4 host; an
			 * IPv4-compatible one is taken the same way, so a rule
			 * never has to spell either form. */
			memcpy(ip4, in6->sin6_addr.s6_addr + 12, 4);
			port = in6->sin6_port;
		} else {
			out->in6 = *in6;
			/* Linux connects :: to ::1. */
			if (IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr))
				out->in6.sin6_addr = in6addr_loopback;
			return;
		}
	} else {
		out->sa.sa_family = AF_UNSPEC;
		return;
	}
	/* Linux connects 0.0.0.0 to 127.0.0.1; the rest of 0.0.0.0/8 ("this
	 * network") is taken for loopback too, the safe reading. */
	if (ip4[0] == 0) {
		ip4[0] = 127;
		ip4[1] = ip4[2] = 0;
		ip4[3] = 1;
	}
	out->in.sin_family = AF_INET;
	out->in.sin_port = port;
	memcpy(&out->in.sin_addr, ip4, 4);
}

bool
srv_acl_dest_ok(const struct srv_cfg *cfg, const struct sockaddr *sa)
{
	union srv_sa c;

	srv_acl_canon(&c, sa);
	return !acl_any(cfg->deny, cfg->ndeny, &c.sa);
}

bool
srv_acl_is_loopback(const struct sockaddr *sa)
{
	const uint8_t *a;

	/* Not through srv_acl_canon: a listener on 0.0.0.0 is every
	 * address, not loopback. */
	if (sa->sa_family == AF_INET) {
		a = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
		return a[0] == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_LOOPBACK(a6))
			return true;
		return IN6_IS_ADDR_V4MAPPED(a6) && a6->s6_addr[12] == 127;
	}
	return false;
}

static in_port_t
sa_port_net(const union srv_sa *a)
{
	return a->sa.sa_family == AF_INET ? a->in.sin_port : a->in6.sin6_port;
}

static bool
canon_same_ip(const union srv_sa *a, const union srv_sa *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
	return memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16) == 0;
}

/* Whether c (canonical) is an address of this host.  Loopback always is;
 * for others the kernel is asked at the moment of the request, by binding
 * a throwaway socket to it, so addresses added after start-up count too
 * (a host that allows binding non-local addresses errs on the side of
 * refusing). */
static bool
host_has_addr(const union srv_sa *c)
{
	union srv_sa b = *c;
	socklen_t len = c->sa.sa_family == AF_INET ? sizeof(b.in) : sizeof(b.in6);
	int fd, rc;

	if (srv_acl_is_loopback(&c->sa))
		return true;
	if (c->sa.sa_family == AF_INET)
		b.in.sin_port = 0;
	else
		b.in6.sin6_port = 0;
	fd = socket(c->sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	rc = bind(fd, &b.sa, len);
	close(fd);
	return rc == 0;
}

bool
srv_acl_is_listener(const struct srv_listener *ls, size_t nls, const struct sockaddr *sa)
{
	union srv_sa d;

	srv_acl_canon(&d, sa);
	if (d.sa.sa_family != AF_INET && d.sa.sa_family != AF_INET6)
		return false;
	for (size_t i = 0; i < nls; i++) {
		const union srv_sa *l = &ls[i].addr;
		union srv_sa lc;
		bool wild;

		if (sa_port_net(l) != sa_port_net(&d))
			continue;
		/* Listeners on IPv6 take IPv6 only, so a wildcard covers its
		 * own family: 0.0.0.0 every IPv4 address of the host (and, once
		 * canonical, the IPv4-mapped ones), :: every IPv6 one. */
		wild = l->sa.sa_family == AF_INET ?
		    l->in.sin_addr.s_addr == htonl(INADDR_ANY) :
		    IN6_IS_ADDR_UNSPECIFIED(&l->in6.sin6_addr);
		if (wild) {
			if (l->sa.sa_family == d.sa.sa_family && host_has_addr(&d))
				return true;
			continue;
		}
		srv_acl_canon(&lc, &l->sa);
		if (canon_same_ip(&lc, &d))
			return true;
	}
	return false;
}

bool
srv_sa_same_ip(const struct sockaddr *a, const struct sockaddr *b)
{
	struct wire_addr wa, wb;

	/* Through wire addresses, so an IPv4-mapped IPv6 address equals its
	 * IPv4 form. */
	if (addr_wire_from_sockaddr(&wa, a) != 0 || addr_wire_from_sockaddr(&wb, b) != 0)
		return false;
	if (wa.type != wb.type)
		return false;
	if (wa.type == WIRE_ATYP_IPV4)
		return memcmp(wa.u.ip4, wb.u.ip4, 4) == 0;
	return memcmp(wa.u.ip6, wb.u.ip6, 16) == 0;
}

bool
srv_wire_is_zero(const struct wire_addr *w)
{
	static const uint8_t zero[16];

	if (w->type == WIRE_ATYP_IPV4)
		return memcmp(w->u.ip4, zero, 4) == 0;
	if (w->type == WIRE_ATYP_IPV6)
		return memcmp(w->u.ip6, zero, 16) == 0;
	return false;
}
