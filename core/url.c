/* url.c: proxy URLs (socks5://, socks5h://, socks4://, socks4a://, http://). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "socksify/addr.h"

#define FAIL(msg) do { if (why) *why = (msg); return -1; } while (0)

static const struct {
	const char *scheme;
	enum proxy_type type;
	bool remote_names;
	uint16_t port;
} schemes[] = {
	{ "socks5", PROXY_SOCKS5, false, 1080 },
	{ "socks5h", PROXY_SOCKS5, true, 1080 },
	{ "socks4", PROXY_SOCKS4, false, 1080 },
	{ "socks4a", PROXY_SOCKS4A, true, 1080 },
	{ "http", PROXY_HTTP, false, 8080 },
};

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Copies n bytes of src into dst (cap bytes with the NUL), undoing
 * percent-escapes.  A %00 is refused: credentials travel as C strings. */
static int
unescape(char *dst, size_t cap, const char *src, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = src[i];
		if (c == '%') {
			int hi, lo;
			if (i + 2 >= n)
				return -1;
			hi = hexval(src[i + 1]);
			lo = hexval(src[i + 2]);
			if (hi < 0 || lo < 0 || (hi | lo) == 0)
				return -1;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (o + 1 >= cap)
			return -1;
		dst[o++] = c;
	}
	dst[o] = '\0';
	return 0;
}

int
addr_parse_proxy_url(const char *s, struct proxy_url *out, const char **why)
{
	char hostport[ADDR_STRLEN + 8];
	const char *sep, *rest, *at, *end;
	size_t sl, hl;
	int k = -1;

	memset(out, 0, sizeof(*out));
	sep = strstr(s, "://");
	if (sep == NULL)
		FAIL("proxy URL needs a scheme, e.g. socks5://host:port");
	sl = (size_t)(sep - s);
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strlen(schemes[i].scheme) == sl &&
		    strncasecmp(s, schemes[i].scheme, sl) == 0)
			k = (int)i;
	if (k < 0)
		FAIL("unknown proxy scheme (socks4, socks4a, socks5, socks5h, http)");
	out->type = schemes[k].type;
	out->remote_names = schemes[k].remote_names;
	rest = sep + 3;
	end = rest + strlen(rest);
	if (end > rest && end[-1] == '/')
		end--;
	if (memchr(rest, '/', (size_t)(end - rest)) != NULL)
		FAIL("proxy URL must not have a path");
	at = memrchr(rest, '@', (size_t)(end - rest));
	if (at != NULL) {
		const char *colon = memchr(rest, ':', (size_t)(at - rest));
		size_t ul = (size_t)((colon ? colon : at) - rest);
		if (ul == 0)
			FAIL("empty user name in proxy URL");
		if (unescape(out->user, sizeof(out->user), rest, ul) != 0)
			FAIL("bad or too long user name in proxy URL");
		if (colon != NULL) {
			if (out->type == PROXY_SOCKS4 || out->type == PROXY_SOCKS4A)
				FAIL("SOCKS4 has no password; use socks4a://user@host:port");
			if (unescape(out->pass, sizeof(out->pass), colon + 1,
			    (size_t)(at - colon - 1)) != 0)
				FAIL("bad or too long password in proxy URL");
		}
		rest = at + 1;
	}
	hl = (size_t)(end - rest);
	if (hl == 0)
		FAIL("proxy URL has no host");
	if (hl >= sizeof(hostport))
		FAIL("proxy host too long");
	memcpy(hostport, rest, hl);
	hostport[hl] = '\0';
	if (addr_parse_hostport(hostport, true, &out->addr, why) != 0)
		return -1;
	/* "host" alone, or a bare IPv6 address, takes the scheme's port. */
	if (strchr(hostport, ']') == NULL && out->addr.type == WIRE_ATYP_IPV6)
		FAIL("IPv6 proxy address needs brackets: [ADDR]:PORT");
	if (out->addr.port == 0) {
		const char *last = strrchr(hostport, ':');
		const char *rb = strrchr(hostport, ']');
		if (last != NULL && (rb == NULL || last > rb))
			FAIL("proxy port must be 1..65535");
		out->addr.port = schemes[k].port;
	}
	return 0;
}

const char *
addr_proxy_type_name(enum proxy_type t)
{
	switch (t) {
	case PROXY_SOCKS4:
		return "socks4";
	case PROXY_SOCKS4A:
		return "socks4a";
	case PROXY_SOCKS5:
		return "socks5";
	case PROXY_HTTP:
		return "http";
	}
	return "?";
}

char *
addr_format_proxy(char *buf, size_t cap, const struct proxy_url *p)
{
	char hp[ADDR_STRLEN];
	const char *scheme = addr_proxy_type_name(p->type);

	if (p->type == PROXY_SOCKS5 && p->remote_names)
		scheme = "socks5h";
	addr_format(hp, sizeof(hp), &p->addr);
	snprintf(buf, cap, "%s://%s", scheme, hp);
	return buf;
}
