/* dns.c: remote DNS as connect() and sendto() see it.
 *
 * The resolver hooks (resolve.c) hand out stand-in addresses for names;
 * here a destination is recognised as one, so that the name, not the
 * address, goes to the proxy, and so that a stand-in never leaves the
 * process as a packet.  The ranges are copied at configuration time and
 * never change after, so the first test needs no lock.
 */
#include <stdio.h>
#include <string.h>

#include "dnsmap.h"
#include "internal.h"

static struct addr_cidr fake4, fake6;
static bool remote;

int
dns_configure(const struct cfg *cfg, char *err, size_t errlen)
{
	const char *why = "bad stand-in ranges";

	if (dns_map_setup(&cfg->fake_ipv4, &cfg->fake_ipv6, cfg->dns_cache_size,
	    &why) != 0) {
		snprintf(err, errlen, "dns: %s", why);
		return -1;
	}
	remote = cfg->dns == CFG_DNS_REMOTE;
	fake4 = cfg->fake_ipv4;
	fake6 = cfg->fake_ipv6;
	return 0;
}

bool
dns_remote_enabled(void)
{
	bool ok;
	const struct cfg *cfg = state_cfg(&ok);

	/* Without a usable config, never ask a name server: names get
	 * stand-ins, and connecting to them fails closed. */
	return !ok || cfg->dns == CFG_DNS_REMOTE;
}

static bool
in_fake_ranges(const struct sockaddr *sa)
{
	(void)state_cfg(NULL); /* the ranges are set once the config is read */
	return addr_cidr_match(&fake4, sa) || addr_cidr_match(&fake6, sa);
}

enum dns_fake
dns_fake_lookup(const struct sockaddr *sa, struct wire_addr *name)
{
	struct wire_addr w;
	char buf[WIRE_NAME_MAX + 1];

	if (!in_fake_ranges(sa) || !dns_remote_enabled())
		return DNS_NOT_FAKE;
	if (dns_map_lookup_addr(sa, buf, sizeof(buf)) == 0)
		return DNS_FAKE_UNKNOWN;
	if (name != NULL) {
		if (addr_wire_from_sockaddr(&w, sa) != 0)
			return DNS_FAKE_UNKNOWN;
		memset(name, 0, sizeof(*name));
		name->type = WIRE_ATYP_NAME;
		name->port = w.port;
		name->name_len = (uint8_t)strlen(buf);
		memcpy(name->u.name, buf, (size_t)name->name_len + 1);
	}
	return DNS_FAKE_NAME;
}

void
dns_fake_ref(const struct sockaddr *sa, int delta)
{
	if (remote && in_fake_ranges(sa))
		dns_map_ref_addr(sa, delta);
}
