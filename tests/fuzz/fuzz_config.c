/* fuzz_config.c: the config parser (socksify.conf and proxychains.conf).
 * Any input either parses into a config that keeps the parser's promises
 * or fails with "NAME:LINE: why"; parsing is deterministic.
 */
#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>

#include "socksify/config.h"
#include "fuzz_util.h"

static struct cfg a, b;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512], err2[512];
	char *buf = malloc(size ? size : 1);
	int rc, rc2;

	/* An exact-size copy: a read past the end is a report. */
	memcpy(buf, data, size);
	rc = cfg_parse_buffer(buf, size, "fuzz.conf", &a, err, sizeof(err));
	rc2 = cfg_parse_buffer(buf, size, "fuzz.conf", &b, err2, sizeof(err2));
	FUZZ_ASSERT(rc == rc2 && strcmp(err, err2) == 0);
	if (rc != 0) {
		FUZZ_ASSERT(rc == -1);
		FUZZ_ASSERT(strncmp(err, "fuzz.conf:", 10) == 0);
		FUZZ_ASSERT(strlen(err) > 12);
		goto out;
	}
	FUZZ_ASSERT(memcmp(&a, &b, sizeof(a)) == 0);
	FUZZ_ASSERT(a.nproxies <= CFG_MAX_PROXIES);
	FUZZ_ASSERT(a.ndirect <= CFG_MAX_RULES && a.ndeny <= CFG_MAX_RULES);
	FUZZ_ASSERT(a.chain_len <= CFG_MAX_PROXIES);
	FUZZ_ASSERT(a.chain_len == 0 || a.nproxies == 0 || a.chain_len <= a.nproxies);
	FUZZ_ASSERT(a.connect_timeout_ms > 0 && a.handshake_timeout_ms > 0);
	FUZZ_ASSERT(a.fake_ipv4.family == AF_INET && a.fake_ipv6.family == AF_INET6);
	FUZZ_ASSERT(a.dns_cache_size >= 1);
	FUZZ_ASSERT(memchr(a.log_file, '\0', sizeof(a.log_file)) != NULL);
	for (unsigned i = 0; i < a.nproxies; i++) {
		FUZZ_ASSERT(a.proxies[i].addr.port != 0);
		FUZZ_ASSERT(memchr(a.proxies[i].user, '\0', sizeof(a.proxies[i].user)) != NULL);
	}
out:
	free(buf);
	return 0;
}
