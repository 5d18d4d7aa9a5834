/* addr.c: host:port and CIDR parsing, matching, and address conversion. */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "socksify/addr.h"

#define FAIL(msg) do { if (why) *why = (msg); return -1; } while (0)

static int
parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -1;
	v = strtoul(s, &end, 10);
	if (*end != '\0' || v > 65535 || end - s > 5)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static int
name_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

/* Fills w from a host with no port: an IP literal or a name. */
static int
set_host(struct wire_addr *w, const char *h, size_t hl, bool v6only, const char **why)
{
	char tmp[WIRE_NAME_MAX + 1];

	if (hl == 0)
		FAIL("empty host");
	if (hl > WIRE_NAME_MAX)
		FAIL("host name longer than 255 bytes");
	memcpy(tmp, h, hl);
	tmp[hl] = '\0';
	if (inet_pton(AF_INET6, tmp, w->u.ip6) == 1) {
		w->type = WIRE_ATYP_IPV6;
		return 0;
	}
	if (v6only)
		FAIL("bad IPv6 address in brackets");
	if (inet_pton(AF_INET, tmp, w->u.ip4) == 1) {
		w->type = WIRE_ATYP_IPV4;
		return 0;
	}
	for (size_t i = 0; i < hl; i++)
		if (!name_char_ok((unsigned char)tmp[i]))
			FAIL("bad character in host name");
	w->type = WIRE_ATYP_NAME;
	w->name_len = (uint8_t)hl;
	memcpy(w->u.name, tmp, hl + 1);
	return 0;
}

int
addr_parse_hostport(const char *s, bool allow_noport, struct wire_addr *out,
    const char **why)
{
	const char *colon, *host = s, *port = NULL;
	size_t hl;
	bool v6 = false;

	memset(out, 0, sizeof(*out));
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (rb == NULL)
			FAIL("missing ']' after IPv6 address");
		host = s + 1;
		hl = (size_t)(rb - host);
		v6 = true;
		if (rb[1] == ':')
			port = rb + 2;
		else if (rb[1] != '\0')
			FAIL("junk after ']'");
	} else {
		colon = strrchr(s, ':');
		if (colon != NULL && memchr(s, ':', (size_t)(colon - s)) != NULL) {
			/* Several colons: a bare IPv6 address, never with a port. */
			if (!allow_noport)
				FAIL("IPv6 address needs brackets and a port: [ADDR]:PORT");
			hl = strlen(s);
		} else if (colon != NULL) {
			hl = (size_t)(colon - s);
			port = colon + 1;
		} else {
			hl = strlen(s);
		}
	}
	if (port == NULL && !allow_noport)
		FAIL("missing port");
	if (port != NULL && parse_port(port, &out->port) != 0)
		FAIL("bad port (0..65535)");
	return set_host(out, host, hl, v6, why);
}

static void
mask_bits(uint8_t *a, size_t bytes, unsigned prefix)
{
	for (size_t i = 0; i < bytes; i++) {
		unsigned bit = (unsigned)i * 8;
		if (bit >= prefix)
			a[i] = 0;
		else if (prefix - bit < 8)
			a[i] &= (uint8_t)(0xff << (8 - (prefix - bit)));
	}
}

int
addr_parse_cidr(const char *s, struct addr_cidr *out, const char **why)
{
	char buf[128];
	const char *port = NULL;
	char *slash;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (rb == NULL)
			FAIL("missing ']' after IPv6 range");
		n = (size_t)(rb - s - 1);
		if (n >= sizeof(buf))
			FAIL("address range too long");
		memcpy(buf, s + 1, n);
		if (rb[1] == ':')
			port = rb + 2;
		else if (rb[1] != '\0')
			FAIL("junk after ']'");
	} else {
		const char *colon = strrchr(s, ':');
		if (colon != NULL && memchr(s, ':', (size_t)(colon - s)) == NULL) {
			n = (size_t)(colon - s);
			port = colon + 1;
		} else {
			n = strlen(s);
		}
		if (n >= sizeof(buf))
			FAIL("address range too long");
		memcpy(buf, s, n);
	}
	buf[n] = '\0';
	if (port != NULL && (parse_port(port, &out->port) != 0 || out->port == 0))
		FAIL("bad port in address range (1..65535)");
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = AF_INET;
		out->prefix = 32;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = AF_INET6;
		out->prefix = 128;
	} else {
		FAIL("not an IPv4 or IPv6 address range");
	}
	if (slash != NULL) {
		char *end;
		unsigned long p;
		if (slash[1] < '0' || slash[1] > '9')
			FAIL("bad prefix length");
		p = strtoul(slash + 1, &end, 10);
		if (*end != '\0' || p > out->prefix)
			FAIL("bad prefix length");
		out->prefix = (uint8_t)p;
	}
	mask_bits(out->addr, out->family == AF_INET ? 4 : 16, out->prefix);
	return 0;
}

static bool
prefix_equal(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
	unsigned whole = prefix / 8, rest = prefix % 8;

	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[whole] ^ b[whole]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

bool
addr_cidr_match(const struct addr_cidr *c, const struct sockaddr *sa)
{
	const uint8_t *a;
	uint16_t port;
	int fam;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		a = (const uint8_t *)&in->sin_addr;
		port = ntohs(in->sin_port);
		fam = AF_INET;
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		a = in6->sin6_addr.s6_addr;
		port = ntohs(in6->sin6_port);
		fam = AF_INET6;
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			a += 12;
			fam = AF_INET;
		}
	} else {
		return false;
	}
	if (fam != c->family)
		return false;
	if (c->port != 0 && c->port != port)
		return false;
	return prefix_equal(a, c->addr, c->prefix);
}

int
addr_wire_from_sockaddr(struct wire_addr *w, const struct sockaddr *sa)
{
	memset(w, 0, sizeof(*w));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		w->type = WIRE_ATYP_IPV4;
		memcpy(w->u.ip4, &in->sin_addr, 4);
		w->port = ntohs(in->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			w->type = WIRE_ATYP_IPV4;
			memcpy(w->u.ip4, in6->sin6_addr.s6_addr + 12, 4);
		} else {
			w->type = WIRE_ATYP_IPV6;
			memcpy(w->u.ip6, in6->sin6_addr.s6_addr, 16);
		}
		w->port = ntohs(in6->sin6_port);
		return 0;
	}
	return -1;
}

int
addr_sockaddr_from_wire(struct sockaddr_storage *ss, socklen_t *sslen,
    const struct wire_addr *w)
{
	memset(ss, 0, sizeof(*ss));
	if (w->type == WIRE_ATYP_IPV4) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;
		in->sin_family = AF_INET;
		in->sin_port = htons(w->port);
		memcpy(&in->sin_addr, w->u.ip4, 4);
		*sslen = sizeof(*in);
		return 0;
	}
	if (w->type == WIRE_ATYP_IPV6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(w->port);
		memcpy(&in6->sin6_addr, w->u.ip6, 16);
		*sslen = sizeof(*in6);
		return 0;
	}
	return -1;
}

/* Appends s (n bytes) at *o, keeping room for the NUL. */
static void
put(char *buf, size_t cap, size_t *o, const char *s, size_t n)
{
	if (*o + 1 >= cap)
		return;
	if (n > cap - 1 - *o)
		n = cap - 1 - *o;
	memcpy(buf + *o, s, n);
	*o += n;
	buf[*o] = '\0';
}

/* Formatted by hand, not with snprintf: it runs under hooks on threads
 * with small stacks, and printf's machinery takes kilobytes. */
char *
addr_format(char *buf, size_t cap, const struct wire_addr *w)
{
	char ip[INET6_ADDRSTRLEN], port[8];
	size_t o = 0, pl = 0;
	unsigned p = w->port;

	if (cap == 0)
		return buf;
	buf[0] = '\0';
	do {
		port[sizeof(port) - 1 - pl++] = (char)('0' + p % 10);
		p /= 10;
	} while (p != 0);
	switch (w->type) {
	case WIRE_ATYP_IPV4:
		inet_ntop(AF_INET, w->u.ip4, ip, sizeof(ip));
		put(buf, cap, &o, ip, strlen(ip));
		break;
	case WIRE_ATYP_IPV6:
		inet_ntop(AF_INET6, w->u.ip6, ip, sizeof(ip));
		put(buf, cap, &o, "[", 1);
		put(buf, cap, &o, ip, strlen(ip));
		put(buf, cap, &o, "]", 1);
		break;
	case WIRE_ATYP_NAME:
		put(buf, cap, &o, w->u.name, strnlen(w->u.name, w->name_len));
		break;
	default:
		put(buf, cap, &o, "?", 1);
		return buf;
	}
	put(buf, cap, &o, ":", 1);
	put(buf, cap, &o, port + sizeof(port) - pl, pl);
	return buf;
}

char *
addr_format_sa(char *buf, size_t cap, const struct sockaddr *sa)
{
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
	struct wire_addr w;
	char ip[INET6_ADDRSTRLEN];

	if (addr_wire_from_sockaddr(&w, sa) != 0) {
		if (cap > 0)
			snprintf(buf, cap, "?");
		return buf;
	}
	/* A link-local address means nothing without its interface. */
	if (sa->sa_family == AF_INET6 && w.type == WIRE_ATYP_IPV6 &&
	    in6->sin6_scope_id != 0 && cap > 0) {
		inet_ntop(AF_INET6, w.u.ip6, ip, sizeof(ip));
		snprintf(buf, cap, "[%s%%%u]:%u", ip, in6->sin6_scope_id, w.port);
		return buf;
	}
	return addr_format(buf, cap, &w);
}
