/* fuzz_addr.c: host:port, CIDR and proxy URL parsers.  Whatever parses
 * must be well formed, and what the formatters write must parse back to
 * the same thing.
 */
#include <netinet/in.h>

#include "socksify/addr.h"
#include "fuzz_util.h"

static void fuzz_hostport(const char *s, bool noport)
{
	struct wire_addr w, w2;
	const char *why = NULL;
	char txt[ADDR_STRLEN], small[8];

	if (addr_parse_hostport(s, noport, &w, &why) != 0) {
		FUZZ_ASSERT(why != NULL && why[0] != '\0');
		return;
	}
	fuzz_wa_valid(&w);
	addr_format(small, sizeof(small), &w);
	FUZZ_ASSERT(memchr(small, '\0', sizeof(small)) != NULL);
	FUZZ_ASSERT(addr_format(txt, sizeof(txt), &w) == txt);
	FUZZ_ASSERT(strlen(txt) < sizeof(txt));
	if (w.port == 0)
		return;
	why = NULL;
	FUZZ_ASSERT(addr_parse_hostport(txt, false, &w2, &why) == 0);
	FUZZ_ASSERT(fuzz_wa_eq(&w, &w2));
}

static void fuzz_cidr(const char *s)
{
	struct addr_cidr c;
	struct sockaddr_storage ss;
	const char *why = NULL;
	unsigned bits, i;

	if (addr_parse_cidr(s, &c, &why) != 0) {
		FUZZ_ASSERT(why != NULL && why[0] != '\0');
		return;
	}
	FUZZ_ASSERT(c.family == AF_INET || c.family == AF_INET6);
	bits = c.family == AF_INET ? 32 : 128;
	FUZZ_ASSERT(c.prefix <= bits);
	/* Host bits past the prefix are cleared. */
	for (i = c.prefix; i < bits; i++)
		FUZZ_ASSERT(!(c.addr[i / 8] & (0x80 >> (i % 8))));

	/* The network address itself, on the rule's port, is inside. */
	memset(&ss, 0, sizeof(ss));
	if (c.family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		struct sockaddr_in6 m6;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(c.port ? c.port : 4242);
		memcpy(&s4->sin_addr, c.addr, 4);
		FUZZ_ASSERT(addr_cidr_match(&c, (struct sockaddr *)&ss));
		/* And so is its IPv4-mapped IPv6 form. */
		memset(&m6, 0, sizeof(m6));
		m6.sin6_family = AF_INET6;
		m6.sin6_port = s4->sin_port;
		m6.sin6_addr.s6_addr[10] = 0xff;
		m6.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&m6.sin6_addr.s6_addr[12], c.addr, 4);
		FUZZ_ASSERT(addr_cidr_match(&c, (struct sockaddr *)&m6));
		if (c.port) {
			s4->sin_port = htons((uint16_t)(c.port + 1));
			FUZZ_ASSERT(!addr_cidr_match(&c, (struct sockaddr *)&ss));
		}
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(c.port ? c.port : 4242);
		memcpy(&s6->sin6_addr, c.addr, 16);
		FUZZ_ASSERT(addr_cidr_match(&c, (struct sockaddr *)&ss));
		if (c.port) {
			s6->sin6_port = htons((uint16_t)(c.port + 1));
			FUZZ_ASSERT(!addr_cidr_match(&c, (struct sockaddr *)&ss));
		}
	}
}

static void fuzz_url(const char *s)
{
	struct proxy_url p, p2;
	const char *why = NULL;
	char txt[ADDR_STRLEN + 32];

	if (addr_parse_proxy_url(s, &p, &why) != 0) {
		FUZZ_ASSERT(why != NULL && why[0] != '\0');
		return;
	}
	FUZZ_ASSERT(p.type >= PROXY_SOCKS4 && p.type <= PROXY_HTTP);
	FUZZ_ASSERT(addr_proxy_type_name(p.type) != NULL);
	fuzz_wa_valid(&p.addr);
	FUZZ_ASSERT(p.addr.port != 0);
	FUZZ_ASSERT(memchr(p.user, '\0', sizeof(p.user)) != NULL);
	FUZZ_ASSERT(memchr(p.pass, '\0', sizeof(p.pass)) != NULL);
	FUZZ_ASSERT(addr_format_proxy(txt, sizeof(txt), &p) == txt);
	why = NULL;
	FUZZ_ASSERT(addr_parse_proxy_url(txt, &p2, &why) == 0);
	FUZZ_ASSERT(p2.type == p.type);
	FUZZ_ASSERT(p2.remote_names == p.remote_names);
	FUZZ_ASSERT(fuzz_wa_eq(&p2.addr, &p.addr));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	FUZZ_ASSERT(s != NULL);
	memcpy(s, data, size);
	s[size] = '\0';
	fuzz_hostport(s, false);
	fuzz_hostport(s, true);
	fuzz_cidr(s);
	fuzz_url(s);
	free(s);
	return 0;
}
