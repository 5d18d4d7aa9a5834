/* dest.c: what the program passed to connect() or sendto(), classified
 * once at the boundary.
 *
 * One look decides everything the engine needs: whether the address is a
 * remote-DNS stand-in (and then which name it stands for, pinned so the
 * name map keeps it while the connection lives), or else what the rules
 * say of it, and what the last hop is to be asked for.  Nothing further
 * down converts or range-checks the sockaddr again.
 */
#include <string.h>

#include "dnsmap.h"
#include "lib.h"
#include "resolve.h"

enum dest_verdict
dest_classify(struct dest *d, const struct cfg *cfg, const struct sockaddr *sa)
{
	const char *name;
	size_t n;

	d->pin = NULL;
	d->standin = false;
	if ((addr_cidr_match(&cfg->fake_ipv4, sa) || addr_cidr_match(&cfg->fake_ipv6, sa)) &&
	    dns_remote_enabled()) {
		/* The name goes to the last hop; rules are for addresses. */
		d->pin = dns_map_pin(sa);
		if (d->pin == NULL)
			return d->verdict = DEST_FORGOTTEN;
		name = dns_map_pin_name(d->pin);
		n = strlen(name);
		memset(&d->wire, 0, sizeof(d->wire));
		d->wire.type = WIRE_ATYP_NAME;
		d->wire.port = ntohs(sa->sa_family == AF_INET ?
		    ((const struct sockaddr_in *)sa)->sin_port :
		    ((const struct sockaddr_in6 *)sa)->sin6_port);
		d->wire.name_len = (uint8_t)n;
		memcpy(d->wire.u.name, name, n + 1);
		d->standin = true;
		return d->verdict = DEST_PROXY;
	}
	switch (rules_check(cfg, sa)) {
	case RULE_DIRECT:
		return d->verdict = DEST_DIRECT;
	case RULE_DENY:
		return d->verdict = DEST_DENY;
	case RULE_PROXY:
		break;
	}
	if (addr_wire_from_sockaddr(&d->wire, sa) != 0)
		return d->verdict = DEST_DIRECT; /* not IPv4/IPv6: not ours */
	return d->verdict = DEST_PROXY;
}

void
dest_release(struct dest *d)
{
	if (d->pin != NULL)
		dns_map_unpin(d->pin);
	d->pin = NULL;
}
