/* dns.c: the hook point for remote DNS.
 *
 * With remote DNS, the resolver hooks hand out stand-in addresses for host
 * names; connect() asks here whether an address is one of them, so that
 * the name, not the address, is sent to the proxy.  Until that lands no
 * address is a stand-in.
 */
#include "internal.h"

bool
dns_fake_lookup(const struct sockaddr *sa, struct wire_addr *name)
{
	(void)sa;
	(void)name;
	return false;
}
