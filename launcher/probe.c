/* probe.c: socksify --check, one line per hop with its latency.
 *
 * Each hop is reached the way connections reach it (through the hops
 * before it in a strict chain, directly otherwise) and greeted: SOCKS5
 * hops negotiate a method and log in; SOCKS4 and HTTP hops have no
 * greeting, so reaching them is the probe.
 */
#include <arpa/inet.h>

#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "launcher.h"

static const char *
cidr_text(char *buf, size_t cap, const struct addr_cidr *c)
{
	char ip[INET6_ADDRSTRLEN];

	inet_ntop(c->family, c->addr, ip, sizeof(ip));
	snprintf(buf, cap, "%s/%u", ip, c->prefix);
	return buf;
}

/* One line on how names are resolved, and a warning when a hop that may
 * end the chain cannot carry a name. */
static void
print_dns(const struct cfg *cfg)
{
	char v4[64], v6[64];
	bool any = cfg->chain == CFG_CHAIN_RANDOM || cfg->chain == CFG_CHAIN_ROUND_ROBIN ||
	    cfg->chain == CFG_CHAIN_DYNAMIC;

	if (cfg_effective_dns(cfg) == CFG_DNS_LOCAL) {
		printf("dns local: names are resolved on this machine\n");
		return;
	}
	printf("dns remote: names go to the last hop; stand-ins %s and %s, up to %u names\n",
	    cidr_text(v4, sizeof(v4), &cfg->fake_ipv4),
	    cidr_text(v6, sizeof(v6), &cfg->fake_ipv6), cfg->dns_cache_size);
	for (unsigned i = 0; i < cfg->nproxies; i++) {
		if (cfg->proxies[i].type != PROXY_SOCKS4 || (!any && i + 1 != cfg->nproxies))
			continue;
		printf("dns warning: hop %u is socks4, which cannot carry names: "
		    "connections to names through it fail (use socks4a or socks5, "
		    "or dns = local)\n", i + 1);
	}
}

int
probe_hops(const struct cfg *cfg)
{
	int rc = 0;

	for (unsigned i = 0; i < cfg->nproxies; i++) {
		char name[ADDR_STRLEN + 16], why[256];
		struct timespec a, b;
		int fd;

		clock_gettime(CLOCK_MONOTONIC, &a);
		fd = chain_probe(cfg, i, cfg->chain == CFG_CHAIN_STRICT, why, sizeof(why));
		clock_gettime(CLOCK_MONOTONIC, &b);
		addr_format_proxy(name, sizeof(name), &cfg->proxies[i]);
		if (fd >= 0) {
			double ms = (double)(b.tv_sec - a.tv_sec) * 1e3 +
			    (double)(b.tv_nsec - a.tv_nsec) / 1e6;
			printf("hop %u %s ok %.1f ms\n", i + 1, name, ms);
			close(fd);
		} else {
			printf("hop %u %s FAILED: %s\n", i + 1, name, why);
			rc = 1;
		}
		fflush(stdout);
	}
	print_dns(cfg);
	fflush(stdout);
	return rc;
}
