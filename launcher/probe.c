/* probe.c: socksify --check, one line per hop with its latency.
 *
 * Each hop is reached the way connections reach it (through the hops
 * before it in a strict chain, directly otherwise) and greeted: SOCKS5
 * hops negotiate a method and log in; SOCKS4 and HTTP hops have no
 * greeting, so reaching them is the probe.
 */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "launcher.h"

int
probe_hops(const struct cfg *cfg)
{
	int rc = 0;

	for (unsigned i = 0; i < cfg->nproxies; i++) {
		char name[ADDR_STRLEN + 16], why[2 * HS_WHY_MAX];
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
	return rc;
}
