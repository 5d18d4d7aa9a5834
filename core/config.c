/* config.c: the socksify.conf parser (key = value lines) and helpers.
 *
 * Pure code: parses a buffer into a struct cfg, no I/O and no allocation.
 * proxychains.conf files are handed line by line to config_pc.c.
 */
#include <sys/socket.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "socksify/config.h"
#include "config_int.h"

/* The ranges that go direct when the config says nothing: loopback. */
static const struct addr_cidr default_direct[] = {
	{ .family = AF_INET, .prefix = 8, .addr = { 127 } },
	{ .family = AF_INET6, .prefix = 128,
	  .addr = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 } },
};

enum cfg_key {
	KEY_CHAIN, KEY_CHAIN_LEN, KEY_PROXY, KEY_DIRECT, KEY_DENY,
	KEY_CONNECT_TIMEOUT, KEY_HANDSHAKE_TIMEOUT, KEY_LOG, KEY_LOG_FILE,
	KEY_UDP, KEY_DNS, KEY_FAKE_IPV4, KEY_FAKE_IPV6, KEY_DNS_CACHE_SIZE, KEY_PIPELINE, KEY_BIND,
	KEY_COUNT
};

static const struct {
	const char *name;
	bool repeatable;
} keys[KEY_COUNT] = {
	[KEY_CHAIN] = { "chain", false },
	[KEY_CHAIN_LEN] = { "chain_len", false },
	[KEY_PROXY] = { "proxy", true },
	[KEY_DIRECT] = { "direct", true },
	[KEY_DENY] = { "deny", true },
	[KEY_CONNECT_TIMEOUT] = { "connect_timeout", false },
	[KEY_HANDSHAKE_TIMEOUT] = { "handshake_timeout", false },
	[KEY_LOG] = { "log", false },
	[KEY_LOG_FILE] = { "log_file", false },
	[KEY_UDP] = { "udp", false },
	[KEY_DNS] = { "dns", false },
	[KEY_FAKE_IPV4] = { "fake_ipv4", false },
	[KEY_FAKE_IPV6] = { "fake_ipv6", false },
	[KEY_DNS_CACHE_SIZE] = { "dns_cache_size", false },
	[KEY_PIPELINE] = { "pipeline", false },
	[KEY_BIND] = { "bind", false },
};

/* Stand-in ranges nothing routes: 240.0.0.0/8 is reserved ("future use")
 * and 100::/64 is the discard-only prefix of RFC 6666, so a stand-in that
 * escaped would reach nobody. */
static const struct addr_cidr default_fake_ipv4 = {
	.family = AF_INET, .prefix = 8, .addr = { 240 } };
static const struct addr_cidr default_fake_ipv6 = {
	.family = AF_INET6, .prefix = 64, .addr = { 0x01, 0x00 } };

static const char *const chain_names[] = {
	[CFG_CHAIN_STRICT] = "strict",
	[CFG_CHAIN_DYNAMIC] = "dynamic",
	[CFG_CHAIN_RANDOM] = "random",
	[CFG_CHAIN_ROUND_ROBIN] = "round_robin",
};

static const char *const log_names[] = {
	[CFG_LOG_NONE] = "none",
	[CFG_LOG_ERROR] = "error",
	[CFG_LOG_WARN] = "warn",
	[CFG_LOG_INFO] = "info",
	[CFG_LOG_DEBUG] = "debug",
};

void
cfg_defaults(struct cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->chain = CFG_CHAIN_STRICT;
	c->connect_timeout_ms = 5000;
	c->handshake_timeout_ms = 15000;
	c->log_level = CFG_LOG_WARN;
	/* UDP goes through the chain (SOCKS5 UDP ASSOCIATE), like TCP. */
	c->udp = CFG_UDP_CHAIN;
	c->dns = CFG_DNS_REMOTE;
	c->fake_ipv4 = default_fake_ipv4;
	c->fake_ipv6 = default_fake_ipv6;
	c->dns_cache_size = CFG_DNS_CACHE_DEFAULT;
}

enum cfg_dns
cfg_effective_dns(const struct cfg *c)
{
	for (unsigned i = 0; i < c->nproxies; i++)
		if (c->proxies[i].remote_names)
			return CFG_DNS_REMOTE;
	return c->dns;
}

const char *
cfg_chain_name(enum cfg_chain m)
{
	if ((unsigned)m < sizeof(chain_names) / sizeof(chain_names[0]))
		return chain_names[m];
	return "?";
}

const char *
cfg_log_level_name(enum cfg_log l)
{
	if ((unsigned)l < sizeof(log_names) / sizeof(log_names[0]))
		return log_names[l];
	return "?";
}

int
cfg_log_level_parse(const char *s)
{
	for (unsigned i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++)
		if (strcmp(s, log_names[i]) == 0)
			return (int)i;
	if (strcmp(s, "quiet") == 0)
		return CFG_LOG_NONE;
	if (strcmp(s, "warning") == 0)
		return CFG_LOG_WARN;
	return -1;
}

unsigned
cfg_direct_rules(const struct cfg *c, const struct addr_cidr **rules)
{
	if (c->direct_set) {
		*rules = c->direct;
		return c->ndirect;
	}
	*rules = default_direct;
	return sizeof(default_direct) / sizeof(default_direct[0]);
}

int
cfg_perr(struct cfg_parser *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->err == NULL || p->errlen == 0)
		return -1;
	if (p->line > 0)
		n = snprintf(p->err, p->errlen, "%s:%u: ", p->name, p->line);
	else
		n = snprintf(p->err, p->errlen, "%s: ", p->name);
	if (n < 0 || (size_t)n >= p->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

int
cfg_parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
	unsigned long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > max)
			return -1;
	}
	if (v < min)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* Hand-rolled rather than strtod: the library runs inside programs that
 * may have set a locale whose decimal point is not '.'. */
int
cfg_parse_seconds(const char *s, unsigned *ms)
{
	unsigned long whole = 0, frac = 0, scale = 100;
	int digits = 0;

	for (; *s >= '0' && *s <= '9'; s++, digits++) {
		whole = whole * 10 + (unsigned long)(*s - '0');
		if (whole > 86400)
			return -1;
	}
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++, digits++) {
			frac += (unsigned long)(*s - '0') * scale;
			scale /= 10;
		}
	}
	if (*s != '\0' || digits == 0)
		return -1;
	if (whole * 1000 + frac == 0 || whole * 1000 + frac > 86400000UL)
		return -1;
	*ms = (unsigned)(whole * 1000 + frac);
	return 0;
}

int
cfg_add_direct(struct cfg_parser *p, const struct addr_cidr *r)
{
	if (p->c->ndirect >= CFG_MAX_RULES)
		return cfg_perr(p, "too many direct rules (at most %d)", CFG_MAX_RULES);
	p->c->direct[p->c->ndirect++] = *r;
	p->c->direct_set = true;
	return 0;
}

static int
parse_rule(struct cfg_parser *p, const char *key, const char *v, struct addr_cidr *r)
{
	const char *why = "bad address range";

	if (addr_parse_cidr(v, r, &why) != 0)
		return cfg_perr(p, "%s: '%s': %s", key, v, why);
	return 0;
}

static int
set_key(struct cfg_parser *p, enum cfg_key k, const char *v, bool *direct_none)
{
	struct cfg *c = p->c;
	struct addr_cidr r;
	const char *why = "bad proxy URL";
	int lvl;

	switch (k) {
	case KEY_CHAIN:
		for (unsigned i = 0; i < sizeof(chain_names) / sizeof(chain_names[0]); i++) {
			if (strcmp(v, chain_names[i]) == 0) {
				c->chain = (enum cfg_chain)i;
				return 0;
			}
		}
		return cfg_perr(p, "chain: '%s' is not strict, dynamic, random or round_robin", v);
	case KEY_CHAIN_LEN:
		if (cfg_parse_uint(v, 1, CFG_MAX_PROXIES, &c->chain_len) != 0)
			return cfg_perr(p, "chain_len: '%s' is not a number from 1 to %d", v,
			    CFG_MAX_PROXIES);
		p->chain_len_line = p->line;
		return 0;
	case KEY_PROXY:
		if (c->nproxies >= CFG_MAX_PROXIES)
			return cfg_perr(p, "too many proxies (at most %d)", CFG_MAX_PROXIES);
		if (addr_parse_proxy_url(v, &c->proxies[c->nproxies], &why) != 0)
			return cfg_perr(p, "proxy: %s", why);
		c->nproxies++;
		return 0;
	case KEY_DIRECT:
		if (strcmp(v, "none") == 0) {
			if (c->ndirect > 0)
				return cfg_perr(p, "direct = none cannot be combined with direct ranges");
			*direct_none = true;
			c->direct_set = true;
			return 0;
		}
		if (*direct_none)
			return cfg_perr(p, "direct = none cannot be combined with direct ranges");
		if (parse_rule(p, "direct", v, &r) != 0)
			return -1;
		return cfg_add_direct(p, &r);
	case KEY_DENY:
		if (c->ndeny >= CFG_MAX_RULES)
			return cfg_perr(p, "too many deny rules (at most %d)", CFG_MAX_RULES);
		if (parse_rule(p, "deny", v, &r) != 0)
			return -1;
		c->deny[c->ndeny++] = r;
		return 0;
	case KEY_CONNECT_TIMEOUT:
	case KEY_HANDSHAKE_TIMEOUT:
		if (cfg_parse_seconds(v, k == KEY_CONNECT_TIMEOUT ? &c->connect_timeout_ms :
		    &c->handshake_timeout_ms) != 0)
			return cfg_perr(p, "%s: '%s' is not a number of seconds "
			    "(0.001 to 86400)", keys[k].name, v);
		return 0;
	case KEY_LOG:
		lvl = cfg_log_level_parse(v);
		if (lvl < 0)
			return cfg_perr(p, "log: '%s' is not error, warn, info or debug", v);
		c->log_level = (enum cfg_log)lvl;
		return 0;
	case KEY_LOG_FILE:
		if (strlen(v) >= sizeof(c->log_file))
			return cfg_perr(p, "log_file: path too long");
		strcpy(c->log_file, v);
		return 0;
	case KEY_UDP:
		if (strcmp(v, "chain") == 0)
			c->udp = CFG_UDP_CHAIN;
		else if (strcmp(v, "refuse") == 0)
			c->udp = CFG_UDP_REFUSE;
		else if (strcmp(v, "direct") == 0)
			c->udp = CFG_UDP_DIRECT;
		else
			return cfg_perr(p, "udp: '%s' is not chain, refuse or direct", v);
		return 0;
	case KEY_DNS:
		if (strcmp(v, "remote") == 0)
			c->dns = CFG_DNS_REMOTE;
		else if (strcmp(v, "local") == 0)
			c->dns = CFG_DNS_LOCAL;
		else
			return cfg_perr(p, "dns: '%s' is not remote or local", v);
		return 0;
	case KEY_FAKE_IPV4:
	case KEY_FAKE_IPV6:
		if (parse_rule(p, keys[k].name, v, &r) != 0)
			return -1;
		if (r.port != 0 || r.family != (k == KEY_FAKE_IPV4 ? AF_INET : AF_INET6))
			return cfg_perr(p, "%s: '%s' is not an %s range", keys[k].name, v,
			    k == KEY_FAKE_IPV4 ? "IPv4" : "IPv6");
		/* Room for 256 names at least, and the index fits the last
		 * 32 bits of an IPv6 stand-in. */
		if ((k == KEY_FAKE_IPV4 && r.prefix > 23) ||
		    (k == KEY_FAKE_IPV6 && r.prefix > 119))
			return cfg_perr(p, "%s: '%s' is too small (at least 512 addresses)",
			    keys[k].name, v);
		if (k == KEY_FAKE_IPV4)
			c->fake_ipv4 = r;
		else
			c->fake_ipv6 = r;
		return 0;
	case KEY_DNS_CACHE_SIZE:
		if (cfg_parse_uint(v, 1, CFG_DNS_CACHE_MAX, &c->dns_cache_size) != 0)
			return cfg_perr(p, "dns_cache_size: '%s' is not a number from 1 to %u",
			    v, CFG_DNS_CACHE_MAX);
		return 0;
	case KEY_PIPELINE:
		if (strcmp(v, "yes") == 0)
			c->pipeline = true;
		else if (strcmp(v, "no") == 0)
			c->pipeline = false;
		else
			return cfg_perr(p, "pipeline: '%s' is not yes or no", v);
		return 0;
	case KEY_BIND:
		if (strcmp(v, "auto") == 0)
			c->bind = CFG_BIND_AUTO;
		else if (strcmp(v, "chain") == 0)
			c->bind = CFG_BIND_CHAIN;
		else if (strcmp(v, "local") == 0)
			c->bind = CFG_BIND_LOCAL;
		else
			return cfg_perr(p, "bind: '%s' is not auto, chain or local", v);
		return 0;
	case KEY_COUNT:
		break;
	}
	return cfg_perr(p, "internal error");
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* Cuts a comment: '#' at the start of the line or after blank space (a '#'
 * inside a value, e.g. a password, must be percent-escaped anyway). */
static void
strip_comment(char *s)
{
	for (char *q = s; *q != '\0'; q++) {
		if (*q == '#' && (q == s || q[-1] == ' ' || q[-1] == '\t')) {
			*q = '\0';
			return;
		}
	}
}

static int
native_line(struct cfg_parser *p, char *line, unsigned *seen, bool *direct_none)
{
	char *eq = strchr(line, '='), *key, *val;

	if (eq == NULL)
		return cfg_perr(p, "expected 'key = value', got '%s'", line);
	*eq = '\0';
	key = trim(line);
	val = trim(eq + 1);
	for (unsigned k = 0; k < KEY_COUNT; k++) {
		if (strcmp(key, keys[k].name) != 0)
			continue;
		if (*val == '\0')
			return cfg_perr(p, "%s: missing value", key);
		if (!keys[k].repeatable && seen[k] != 0)
			return cfg_perr(p, "%s given twice (first on line %u)", key, seen[k]);
		seen[k] = p->line;
		return set_key(p, (enum cfg_key)k, val, direct_none);
	}
	if (*key == '\0')
		return cfg_perr(p, "missing key before '='");
	return cfg_perr(p, "unknown key '%s'", key);
}

int
cfg_parse_buffer(const char *buf, size_t len, const char *name,
    struct cfg *out, char *err, size_t errlen)
{
	struct cfg_parser p = { .name = name ? name : "config", .err = err,
	    .errlen = errlen, .c = out };
	unsigned seen[KEY_COUNT] = { 0 };
	bool direct_none = false, pc;
	char line[CFG_LINE_MAX + 1];
	size_t pos = 0;

	cfg_defaults(out);
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	pc = cfg_is_proxychains(buf, len);
	if (pc) {
		out->format = CFG_FORMAT_PROXYCHAINS;
		/* proxychains proxies everything but its localnet lines, and
		 * resolves names locally unless told proxy_dns. */
		out->direct_set = true;
		out->dns = CFG_DNS_LOCAL;
	}
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		char *s;

		p.line++;
		if (memchr(buf + pos, '\0', n) != NULL)
			return cfg_perr(&p, "NUL byte in line");
		if (n > CFG_LINE_MAX)
			return cfg_perr(&p, "line longer than %d bytes", CFG_LINE_MAX);
		memcpy(line, buf + pos, n);
		line[n] = '\0';
		pos += n + (nl ? 1 : 0);
		strip_comment(line);
		s = trim(line);
		if (*s == '\0')
			continue;
		if ((pc ? cfg_pc_line(&p, s) : native_line(&p, s, seen, &direct_none)) != 0)
			return -1;
	}
	if (out->chain_len > 0 && out->nproxies > 0 && out->chain_len > out->nproxies) {
		p.line = p.chain_len_line;
		return cfg_perr(&p, "chain_len %u is more than the %u prox%s configured",
		    out->chain_len, out->nproxies, out->nproxies == 1 ? "y" : "ies");
	}
	return 0;
}

int
cfg_set_chain(struct cfg *c, const char *urls, char *err, size_t errlen)
{
	char url[ADDR_STRLEN + 2 * WIRE_USER_MAX * 3 + 32];
	const char *s = urls, *why = "bad proxy URL";
	unsigned n = 0;

	while (*s != '\0') {
		size_t l;

		while (*s == ' ' || *s == '\t' || *s == '\n')
			s++;
		l = strcspn(s, " \t\n");
		if (l == 0)
			break;
		if (n >= CFG_MAX_PROXIES) {
			snprintf(err, errlen, "too many proxies (at most %d)", CFG_MAX_PROXIES);
			return -1;
		}
		if (l >= sizeof(url)) {
			snprintf(err, errlen, "proxy URL too long");
			return -1;
		}
		memcpy(url, s, l);
		url[l] = '\0';
		if (addr_parse_proxy_url(url, &c->proxies[n], &why) != 0) {
			/* Echo the URL only when it holds no credentials. */
			if (strchr(url, '@') == NULL)
				snprintf(err, errlen, "bad proxy URL '%s': %s", url, why);
			else
				snprintf(err, errlen, "bad proxy URL #%u: %s", n + 1, why);
			return -1;
		}
		n++;
		s += l;
	}
	if (n == 0) {
		snprintf(err, errlen, "no proxy URL given");
		return -1;
	}
	c->nproxies = n;
	if (c->chain_len > n)
		c->chain_len = n;
	return 0;
}
