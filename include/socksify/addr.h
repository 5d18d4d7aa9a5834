/* addr.h: addresses, CIDR ranges, host:port and proxy URLs.
 *
 * Pure code (no I/O, no name resolution, no allocation).  Functions
 * return 0 on success and -1 on error; parsers fill *why with a short
 * reason a caller can print after "file:line: ".
 */
#ifndef SOCKSIFY_ADDR_H
#define SOCKSIFY_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "socksify/wire.h"

/* Longest text addr_format() writes: "[v6%scope]:65535" or a 255-byte name
 * plus ":65535", with the NUL. */
#define ADDR_STRLEN 272

/* A CIDR range: family AF_INET or AF_INET6, address in network order,
 * prefix length 0..32 or 0..128.  port is 0 for any port, or a port the
 * rule is limited to (host order). */
struct addr_cidr {
	int family;
	uint8_t prefix;
	uint16_t port;
	uint8_t addr[16];
};

/* Parses "HOST:PORT", "[V6]:PORT", or with allow_noport also a bare HOST
 * (port left 0).  HOST may be an IPv4 or IPv6 literal or a name
 * (1..255 bytes of letters, digits, '-', '.', '_').  Fills a wire_addr. */
int addr_parse_hostport(const char *s, bool allow_noport, struct wire_addr *out,
    const char **why);

/* Parses "A.B.C.D/N", "V6/N", a bare address (full-length prefix), with
 * an optional ":PORT" (IPv4) or "[V6/N]:PORT" suffix limiting a port.
 * Host bits past the prefix are cleared. */
int addr_parse_cidr(const char *s, struct addr_cidr *out, const char **why);

/* True when sa (AF_INET or AF_INET6; an IPv4-mapped IPv6 address matches
 * IPv4 ranges) is inside c, and c's port is 0 or equal to sa's port. */
bool addr_cidr_match(const struct addr_cidr *c, const struct sockaddr *sa);

/* Converts between wire and socket addresses.  wire_from_sockaddr maps an
 * IPv4-mapped IPv6 address to IPv4.  sockaddr_from_wire fails for names.
 * Both return 0 or -1. */
int addr_wire_from_sockaddr(struct wire_addr *w, const struct sockaddr *sa);
int addr_sockaddr_from_wire(struct sockaddr_storage *ss, socklen_t *sslen,
    const struct wire_addr *w);

/* Writes "1.2.3.4:80", "[::1]:80" or "name:80" (NUL terminated, truncated
 * to cap).  Returns buf. */
char *addr_format(char *buf, size_t cap, const struct wire_addr *w);
char *addr_format_sa(char *buf, size_t cap, const struct sockaddr *sa);

/* ---- proxy URLs ---- */

enum proxy_type {
	PROXY_SOCKS4 = 1,
	PROXY_SOCKS4A,
	PROXY_SOCKS5,
	PROXY_HTTP,
};

struct proxy_url {
	enum proxy_type type;
	bool remote_names;    /* socks5h: names always go to the proxy */
	struct wire_addr addr; /* host and port of the proxy itself */
	char user[WIRE_USER_MAX + 1];
	char pass[WIRE_USER_MAX + 1];
};

/* Parses socks5://[user:pass@]host:port, socks5h://, socks4://,
 * socks4a://[user@]host:port, http://[user:pass@]host:port.  IPv6 hosts in
 * brackets; percent-escapes in user and password.  A missing port is an
 * error except for http (8080) and socks (1080). */
int addr_parse_proxy_url(const char *s, struct proxy_url *out, const char **why);
/* "socks5://host:port" without the credentials, for logs. */
char *addr_format_proxy(char *buf, size_t cap, const struct proxy_url *p);
const char *addr_proxy_type_name(enum proxy_type t);

#endif
