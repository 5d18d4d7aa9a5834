/* rules.c: which destinations go direct, which are denied, which are
 * proxied.  A deny rule wins over a direct rule. */
#include "internal.h"

enum rule_verdict
rules_check(const struct cfg *cfg, const struct sockaddr *sa)
{
	const struct addr_cidr *direct;
	unsigned n;

	for (unsigned i = 0; i < cfg->ndeny; i++)
		if (addr_cidr_match(&cfg->deny[i], sa))
			return RULE_DENY;
	n = cfg_direct_rules(cfg, &direct);
	for (unsigned i = 0; i < n; i++)
		if (addr_cidr_match(&direct[i], sa))
			return RULE_DIRECT;
	return RULE_PROXY;
}
