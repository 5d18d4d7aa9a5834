/* acl.c: who may connect (--allow) and where no one may go (--deny-dest). */
#include <stdlib.h>
#include <string.h>

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

bool
srv_acl_dest_ok(const struct srv_cfg *cfg, const struct sockaddr *sa)
{
	return !acl_any(cfg->deny, cfg->ndeny, sa);
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
