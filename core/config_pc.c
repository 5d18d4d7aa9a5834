/* config_pc.c: reads proxychains.conf files into a struct cfg.
 *
 * Written from the format's documentation: bare chain keywords,
 * "key value" lines, localnet ADDR[:PORT]/MASK, and a [ProxyList] section
 * of "TYPE HOST PORT [USER [PASS]]" lines.  Pure code, like config.c.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>

#include "socksify/config.h"
#include "config_int.h"

/* Words that only a proxychains.conf starts a line with. */
static const char *const pc_words[] = {
	"strict_chain", "dynamic_chain", "random_chain", "round_robin_chain",
	"quiet_mode", "proxy_dns", "proxy_dns_old", "proxy_dns_daemon",
	"localnet", "tcp_read_time_out", "tcp_connect_time_out",
	"remote_dns_subnet", "dnat",
};

static size_t
word_len(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && s[i] != ' ' && s[i] != '\t' && s[i] != '=' && s[i] != '\r' &&
	    s[i] != '\n')
		i++;
	return i;
}

bool
cfg_is_proxychains(const char *buf, size_t len)
{
	size_t pos = 0;

	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		const char *s = buf + pos;
		size_t w;

		pos += n + 1;
		while (n > 0 && (*s == ' ' || *s == '\t')) {
			s++;
			n--;
		}
		if (n == 0 || *s == '#')
			continue;
		if (*s == '[')
			return true;
		w = word_len(s, n);
		for (size_t i = 0; i < sizeof(pc_words) / sizeof(pc_words[0]); i++)
			if (strlen(pc_words[i]) == w && memcmp(s, pc_words[i], w) == 0)
				return true;
	}
	return false;
}

/* Splits s in place into at most max blank-separated words. */
static int
split(char *s, char **w, int max)
{
	int n = 0;

	while (*s != '\0') {
		while (*s == ' ' || *s == '\t')
			*s++ = '\0';
		if (*s == '\0')
			break;
		if (n == max)
			return max + 1;
		w[n++] = s;
		while (*s != '\0' && *s != ' ' && *s != '\t')
			s++;
	}
	return n;
}

static int
mask_prefix(int family, const char *mask, unsigned *prefix)
{
	uint8_t m[16];
	unsigned bits = family == AF_INET ? 32 : 128, p = 0;

	/* A prefix length works too: "::1/128" is what people write for v6. */
	if (cfg_parse_uint(mask, 0, bits, prefix) == 0)
		return 0;
	if (inet_pton(family, mask, m) != 1)
		return -1;
	while (p < bits && (m[p / 8] & (0x80 >> (p % 8))))
		p++;
	for (unsigned i = p; i < bits; i++)
		if (m[i / 8] & (0x80 >> (i % 8)))
			return -1; /* not contiguous */
	*prefix = p;
	return 0;
}

/* localnet ADDR/MASK, ADDR:PORT/MASK, or an IPv6 ADDR/PREFIX. */
static int
pc_localnet(struct cfg_parser *p, const char *v)
{
	char addr[128], spec[160];
	const char *slash = strrchr(v, '/'), *why = "bad address", *port = NULL;
	struct addr_cidr r;
	unsigned prefix;
	uint16_t portnum = 0;
	uint8_t tmp[16];
	int family;
	size_t n;

	if (slash == NULL)
		return cfg_perr(p, "localnet: '%s' needs ADDRESS/NETMASK", v);
	n = (size_t)(slash - v);
	if (n >= sizeof(addr))
		return cfg_perr(p, "localnet: address too long");
	memcpy(addr, v, n);
	addr[n] = '\0';
	/* "10.0.0.0:80" carries a port; an IPv6 address has several colons. */
	{
		char *c = strchr(addr, ':');
		if (c != NULL && strchr(c + 1, ':') == NULL) {
			unsigned pn;
			*c = '\0';
			port = c + 1;
			if (cfg_parse_uint(port, 1, 65535, &pn) != 0)
				return cfg_perr(p, "localnet: bad port '%s'", port);
			portnum = (uint16_t)pn;
		}
	}
	if (inet_pton(AF_INET, addr, tmp) == 1)
		family = AF_INET;
	else if (inet_pton(AF_INET6, addr, tmp) == 1)
		family = AF_INET6;
	else
		return cfg_perr(p, "localnet: '%s' is not an IP address", addr);
	if (mask_prefix(family, slash + 1, &prefix) != 0)
		return cfg_perr(p, "localnet: bad netmask '%s'", slash + 1);
	snprintf(spec, sizeof(spec), "%s/%u", addr, prefix);
	if (addr_parse_cidr(spec, &r, &why) != 0)
		return cfg_perr(p, "localnet: %s", why);
	r.port = portnum;
	return cfg_add_direct(p, &r);
}

static int
pc_proxy(struct cfg_parser *p, char **w, int n)
{
	struct proxy_url *u;
	char hostport[ADDR_STRLEN + 8];
	const char *why = "bad address";
	unsigned port;

	if (n < 3 || n > 5)
		return cfg_perr(p, "proxy line needs 'TYPE HOST PORT [USER [PASS]]'");
	if (p->c->nproxies >= CFG_MAX_PROXIES)
		return cfg_perr(p, "too many proxies (at most %d)", CFG_MAX_PROXIES);
	u = &p->c->proxies[p->c->nproxies];
	memset(u, 0, sizeof(*u));
	if (strcmp(w[0], "socks5") == 0)
		u->type = PROXY_SOCKS5;
	else if (strcmp(w[0], "socks4") == 0)
		u->type = PROXY_SOCKS4;
	else if (strcmp(w[0], "http") == 0)
		u->type = PROXY_HTTP;
	else
		return cfg_perr(p, "proxy type '%s' is not supported (socks4, socks5, http)",
		    w[0]);
	if (cfg_parse_uint(w[2], 1, 65535, &port) != 0)
		return cfg_perr(p, "bad proxy port '%s'", w[2]);
	snprintf(hostport, sizeof(hostport), strchr(w[1], ':') ? "[%s]:%u" : "%s:%u",
	    w[1], port);
	if (addr_parse_hostport(hostport, false, &u->addr, &why) != 0)
		return cfg_perr(p, "bad proxy host '%s': %s", w[1], why);
	if (n >= 4) {
		if (strlen(w[3]) > WIRE_USER_MAX)
			return cfg_perr(p, "proxy user name too long");
		strcpy(u->user, w[3]);
	}
	if (n == 5) {
		if (u->type == PROXY_SOCKS4)
			return cfg_perr(p, "socks4 has no password");
		if (strlen(w[4]) > WIRE_USER_MAX)
			return cfg_perr(p, "proxy password too long");
		strcpy(u->pass, w[4]);
	}
	p->c->nproxies++;
	return 0;
}

int
cfg_pc_line(struct cfg_parser *p, char *line)
{
	struct cfg *c = p->c;
	char *w[6] = { NULL }, *eq;
	int n;

	if (line[0] == '[') {
		if (strcmp(line, "[ProxyList]") != 0)
			return cfg_perr(p, "unknown section '%s' (only [ProxyList])", line);
		p->in_proxylist = true;
		return 0;
	}
	/* "chain_len = 2" and "chain_len 2" are both seen in the wild. */
	eq = strchr(line, '=');
	if (eq != NULL && !p->in_proxylist)
		*eq = ' ';
	n = split(line, w, 5);
	if (n == 0)
		return 0;
	if (p->in_proxylist)
		return pc_proxy(p, w, n);
	if (n > 2)
		return cfg_perr(p, "too many words after '%s'", w[0]);
	if (strcmp(w[0], "strict_chain") == 0 || strcmp(w[0], "dynamic_chain") == 0 ||
	    strcmp(w[0], "random_chain") == 0 || strcmp(w[0], "round_robin_chain") == 0 ||
	    strcmp(w[0], "quiet_mode") == 0 || strcmp(w[0], "proxy_dns") == 0 ||
	    strcmp(w[0], "proxy_dns_old") == 0) {
		if (n != 1)
			return cfg_perr(p, "'%s' takes no value", w[0]);
		if (w[0][1] == 't')
			c->chain = CFG_CHAIN_STRICT;
		else if (w[0][0] == 'd')
			c->chain = CFG_CHAIN_DYNAMIC;
		else if (w[0][1] == 'a')
			c->chain = CFG_CHAIN_RANDOM;
		else if (w[0][0] == 'r')
			c->chain = CFG_CHAIN_ROUND_ROBIN;
		else if (w[0][0] == 'q')
			c->log_level = CFG_LOG_ERROR;
		else
			c->dns = CFG_DNS_REMOTE;
		return 0;
	}
	if (strcmp(w[0], "chain_len") != 0 && strcmp(w[0], "tcp_read_time_out") != 0 &&
	    strcmp(w[0], "tcp_connect_time_out") != 0 && strcmp(w[0], "remote_dns_subnet") != 0 &&
	    strcmp(w[0], "proxy_dns_daemon") != 0 && strcmp(w[0], "localnet") != 0 &&
	    strcmp(w[0], "dnat") != 0)
		return cfg_perr(p, "unknown proxychains keyword '%s'", w[0]);
	if (n != 2)
		return cfg_perr(p, "'%s' needs a value", w[0]);
	if (strcmp(w[0], "chain_len") == 0) {
		if (cfg_parse_uint(w[1], 1, CFG_MAX_PROXIES, &c->chain_len) != 0)
			return cfg_perr(p, "chain_len: '%s' is not a number from 1 to %d",
			    w[1], CFG_MAX_PROXIES);
		p->chain_len_line = p->line;
		return 0;
	}
	if (strcmp(w[0], "tcp_read_time_out") == 0 || strcmp(w[0], "tcp_connect_time_out") == 0) {
		unsigned *ms = w[0][4] == 'r' ? &c->handshake_timeout_ms : &c->connect_timeout_ms;
		if (cfg_parse_uint(w[1], 1, 86400000, ms) != 0)
			return cfg_perr(p, "%s: '%s' is not a number of milliseconds", w[0], w[1]);
		return 0;
	}
	if (strcmp(w[0], "remote_dns_subnet") == 0) {
		if (cfg_parse_uint(w[1], 0, 255, &c->remote_dns_subnet) != 0)
			return cfg_perr(p, "remote_dns_subnet: '%s' is not 0..255", w[1]);
		return 0;
	}
	if (strcmp(w[0], "proxy_dns_daemon") == 0) {
		c->dns = CFG_DNS_REMOTE;
		return 0;
	}
	if (strcmp(w[0], "localnet") == 0)
		return pc_localnet(p, w[1]);
	if (strcmp(w[0], "dnat") == 0)
		return cfg_perr(p, "dnat is not supported");
	return cfg_perr(p, "unknown proxychains keyword '%s'", w[0]);
}
