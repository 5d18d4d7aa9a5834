/* test_config.c: the config parser (socksify.conf and proxychains.conf):
 * every key, every error with its line number, the -p chain override.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <string.h>

#include "check.h"
#include "socksify/config.h"

static struct cfg c;
static char err[512];

static int
parse(const char *text)
{
	memset(&c, 0x5a, sizeof(c));
	return cfg_parse_buffer(text, strlen(text), "t.conf", &c, err, sizeof(err));
}

/* The text must fail with an error that starts "t.conf:LINE: " and holds
 * `what`. */
static void
bad_at(const char *f, int l, const char *text, unsigned line, const char *what)
{
	char want[32];
	int rc = parse(text);

	snprintf(want, sizeof(want), "t.conf:%u: ", line);
	if (!check_at(rc == -1, f, l, "accepted: %s", text))
		return;
	check_at(strncmp(err, want, strlen(want)) == 0, f, l, "error '%s', want prefix '%s'",
	    err, want);
	check_at(strstr(err, what) != NULL, f, l, "error '%s' does not say '%s'", err, what);
}
#define BAD(text, line, what) bad_at(__FILE__, __LINE__, text, line, what)

static void
good_at(const char *f, int l, const char *text)
{
	int rc = parse(text);

	check_at(rc == 0, f, l, "rejected (%s): %s", err, text);
}
#define GOOD(text) good_at(__FILE__, __LINE__, text)

static bool
match4(const struct addr_cidr *r, const char *ip, uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };

	inet_pton(AF_INET, ip, &sin.sin_addr);
	return addr_cidr_match(r, (struct sockaddr *)&sin);
}

static void
test_defaults(void)
{
	const struct addr_cidr *d;
	unsigned n;

	GOOD("");
	CHECK_EQ_INT(c.chain, CFG_CHAIN_STRICT);
	CHECK_EQ_INT(c.chain_len, 0);
	CHECK_EQ_INT(c.nproxies, 0);
	CHECK_EQ_INT(c.connect_timeout_ms, 5000);
	CHECK_EQ_INT(c.handshake_timeout_ms, 15000);
	CHECK_EQ_INT(c.log_level, CFG_LOG_WARN);
	CHECK_EQ_INT(c.udp, CFG_UDP_CHAIN);
	CHECK_EQ_INT(c.dns, CFG_DNS_REMOTE);
	CHECK_EQ_INT(c.fake_ipv4.family, AF_INET);
	CHECK_EQ_INT(c.fake_ipv4.prefix, 8);
	CHECK_EQ_INT(c.fake_ipv4.addr[0], 240);
	CHECK_EQ_INT(c.fake_ipv6.family, AF_INET6);
	CHECK_EQ_INT(c.fake_ipv6.prefix, 64);
	CHECK_EQ_INT(c.fake_ipv6.addr[0], 0x01);
	CHECK_EQ_INT(c.fake_ipv6.addr[1], 0x00);
	CHECK_EQ_INT(c.dns_cache_size, CFG_DNS_CACHE_DEFAULT);
	CHECK(!c.pipeline);
	CHECK_EQ_INT(c.bind, CFG_BIND_AUTO);
	CHECK_STR(c.log_file, "");
	CHECK(!c.direct_set);
	n = cfg_direct_rules(&c, &d);
	CHECK_EQ_INT(n, 2);
	CHECK(match4(&d[0], "127.1.2.3", 80));
	CHECK(!match4(&d[0], "10.0.0.1", 80));
	CHECK_EQ_INT(d[1].family, AF_INET6);
	CHECK_EQ_INT(d[1].prefix, 128);
	/* Blank lines, comments, CRLF and tabs are fine. */
	GOOD("# comment\n\n   \t\r\n  # indented comment\r\n");
}

static void
test_every_key(void)
{
	GOOD("chain = dynamic\n"
	     "chain_len = 2\n"
	     "proxy = socks5://u:p%40ss@127.0.0.1:1080\n"
	     "proxy = http://[::1]:3128   # trailing comment\n"
	     "proxy=socks4a://id@proxy.example:1081\n"
	     "direct = 10.0.0.0/8\n"
	     "direct = 192.168.1.0/24:8080\n"
	     "direct = [fd00::/8]:443\n"
	     "deny = 203.0.113.0/24\n"
	     "deny = 198.51.100.7:25\n"
	     "connect_timeout = 2.5\n"
	     "handshake_timeout = 30\n"
	     "log = debug\n"
	     "log_file = /tmp/socksify.log\n"
	     "udp = refuse\n"
	     "dns = local\n"
	     "fake_ipv4 = 10.128.0.0/9\n"
	     "fake_ipv6 = fd00:5::/96\n"
	     "dns_cache_size = 1000\n"
	     "pipeline = yes\n"
	     "bind = chain\n");
	CHECK(c.pipeline);
	CHECK_EQ_INT(c.bind, CFG_BIND_CHAIN);
	CHECK_EQ_INT(c.format, CFG_FORMAT_SOCKSIFY);
	CHECK_EQ_INT(c.chain, CFG_CHAIN_DYNAMIC);
	CHECK_EQ_INT(c.chain_len, 2);
	CHECK_EQ_INT(c.nproxies, 3);
	CHECK_EQ_INT(c.proxies[0].type, PROXY_SOCKS5);
	CHECK_STR(c.proxies[0].user, "u");
	CHECK_STR(c.proxies[0].pass, "p@ss");
	CHECK_EQ_INT(c.proxies[0].addr.port, 1080);
	CHECK_EQ_INT(c.proxies[1].type, PROXY_HTTP);
	CHECK_EQ_INT(c.proxies[1].addr.type, WIRE_ATYP_IPV6);
	CHECK_EQ_INT(c.proxies[2].type, PROXY_SOCKS4A);
	CHECK_EQ_INT(c.proxies[2].addr.type, WIRE_ATYP_NAME);
	CHECK_STR(c.proxies[2].addr.u.name, "proxy.example");
	CHECK(c.direct_set);
	CHECK_EQ_INT(c.ndirect, 3);
	CHECK(match4(&c.direct[0], "10.9.8.7", 1));
	CHECK(match4(&c.direct[1], "192.168.1.9", 8080));
	CHECK(!match4(&c.direct[1], "192.168.1.9", 80));
	CHECK_EQ_INT(c.direct[2].family, AF_INET6);
	CHECK_EQ_INT(c.direct[2].port, 443);
	CHECK_EQ_INT(c.ndeny, 2);
	CHECK(match4(&c.deny[0], "203.0.113.200", 443));
	CHECK(match4(&c.deny[1], "198.51.100.7", 25));
	CHECK(!match4(&c.deny[1], "198.51.100.7", 26));
	CHECK_EQ_INT(c.connect_timeout_ms, 2500);
	CHECK_EQ_INT(c.handshake_timeout_ms, 30000);
	CHECK_EQ_INT(c.log_level, CFG_LOG_DEBUG);
	CHECK_STR(c.log_file, "/tmp/socksify.log");
	CHECK_EQ_INT(c.udp, CFG_UDP_REFUSE);
	CHECK_EQ_INT(c.dns, CFG_DNS_LOCAL);
}

static void
test_values(void)
{
	static const struct { const char *v; enum cfg_chain m; } chains[] = {
		{ "strict", CFG_CHAIN_STRICT }, { "dynamic", CFG_CHAIN_DYNAMIC },
		{ "random", CFG_CHAIN_RANDOM }, { "round_robin", CFG_CHAIN_ROUND_ROBIN },
	};
	static const struct { const char *v; enum cfg_log l; } logs[] = {
		{ "error", CFG_LOG_ERROR }, { "warn", CFG_LOG_WARN },
		{ "info", CFG_LOG_INFO }, { "debug", CFG_LOG_DEBUG }, { "none", CFG_LOG_NONE },
	};
	char text[128];

	for (size_t i = 0; i < sizeof(chains) / sizeof(chains[0]); i++) {
		snprintf(text, sizeof(text), "chain = %s\n", chains[i].v);
		GOOD(text);
		CHECK_EQ_INT(c.chain, chains[i].m);
		CHECK_STR(cfg_chain_name(chains[i].m), chains[i].v);
	}
	for (size_t i = 0; i < sizeof(logs) / sizeof(logs[0]); i++) {
		snprintf(text, sizeof(text), "log = %s\n", logs[i].v);
		GOOD(text);
		CHECK_EQ_INT(c.log_level, logs[i].l);
	}
	GOOD("udp = direct\ndns = local\n");
	CHECK_EQ_INT(c.udp, CFG_UDP_DIRECT);
	CHECK_EQ_INT(c.dns, CFG_DNS_LOCAL);
	GOOD("udp = chain\n");
	CHECK_EQ_INT(c.udp, CFG_UDP_CHAIN);
	GOOD("connect_timeout = 0.001\nhandshake_timeout = 86400\n");
	CHECK_EQ_INT(c.connect_timeout_ms, 1);
	CHECK_EQ_INT(c.handshake_timeout_ms, 86400000);
	GOOD("connect_timeout = .5\n");
	CHECK_EQ_INT(c.connect_timeout_ms, 500);
	GOOD("direct = none\n");
	CHECK(c.direct_set);
	CHECK_EQ_INT(c.ndirect, 0);
	GOOD("chain_len = 2\nproxy = socks5://127.0.0.1:1\nproxy = socks5://127.0.0.1:2\n");
	CHECK_EQ_INT(c.chain_len, 2);
}

static void
test_errors(void)
{
	BAD("chain = strict\nfrobnicate = yes\n", 2, "unknown key 'frobnicate'");
	BAD("\n\n\nchain = sideways\n", 4, "chain");
	BAD("chain_len = many\n", 1, "chain_len");
	BAD("chain_len = 0\n", 1, "chain_len");
	BAD("chain_len = -1\n", 1, "chain_len");
	BAD("chain_len = 99\n", 1, "chain_len");
	BAD("connect_timeout = soon\n", 1, "connect_timeout");
	BAD("connect_timeout = -3\n", 1, "connect_timeout");
	BAD("connect_timeout = 0\n", 1, "connect_timeout");
	BAD("connect_timeout = 1.2.3\n", 1, "connect_timeout");
	BAD("handshake_timeout = 1x\n", 1, "handshake_timeout");
	BAD("handshake_timeout = 86401\n", 1, "handshake_timeout");
	BAD("log = loud\n", 1, "log");
	BAD("udp = sometimes\n", 1, "udp");
	BAD("dns = maybe\n", 1, "dns");
	BAD("fake_ipv4 = 100::/64\n", 1, "fake_ipv4");
	BAD("fake_ipv4 = 10.0.0.0/24\n", 1, "too small");
	BAD("fake_ipv4 = 10.0.0.0/8:80\n", 1, "fake_ipv4");
	BAD("fake_ipv6 = 10.0.0.0/8\n", 1, "fake_ipv6");
	BAD("fake_ipv6 = fd00::/120\n", 1, "too small");
	BAD("dns_cache_size = 0\n", 1, "dns_cache_size");
	BAD("pipeline = maybe\n", 1, "pipeline: 'maybe' is not yes or no");
	BAD("bind = remote\n", 1, "bind: 'remote' is not auto, chain or local");
	BAD("dns_cache_size = lots\n", 1, "dns_cache_size");
	BAD("dns_cache_size = 99999999999\n", 1, "dns_cache_size");
	BAD("# a\nproxy = ftp://127.0.0.1:21\n", 2, "proxy");
	BAD("proxy = socks5://127.0.0.1:99999\n", 1, "port");
	BAD("proxy = socks5://[::1:1080\n", 1, "proxy");
	BAD("proxy = 127.0.0.1:1080\n", 1, "scheme");
	BAD("direct = 10.0.0.0/33\n", 1, "direct");
	BAD("direct = 300.1.2.3/8\n", 1, "direct");
	BAD("direct = banana\n", 1, "direct");
	BAD("deny = 10.0.0.0/8:70000\n", 1, "deny");
	BAD("deny = ::1/200\n", 1, "deny");
	BAD("direct = none\ndirect = 10.0.0.0/8\n", 2, "none");
	BAD("direct = 10.0.0.0/8\ndirect = none\n", 2, "none");
	BAD("chain = strict\n\nno equals sign here\n", 3, "key = value");
	BAD("= value\n", 1, "missing key");
	BAD("proxy =\n", 1, "missing value");
	BAD("log = info\nlog = debug\n", 2, "given twice (first on line 1)");
	BAD("chain_len = 3\nproxy = socks5://127.0.0.1:1\nproxy = socks5://127.0.0.1:2\n",
	    1, "more than the 2 proxies");
	{
		char big[4096 + 32]; /* past the 4096-byte line limit */
		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		memcpy(big, "log_file = ", 11);
		BAD(big, 1, "longer than");
	}
	/* A NUL byte inside the buffer is an error, not the end of it. */
	{
		static const char nul[] = "log = info\nlog_\0file = x\n";
		int rc = cfg_parse_buffer(nul, sizeof(nul) - 1, "t.conf", &c, err, sizeof(err));
		CHECK_EQ_INT(rc, -1);
		CHECK(strncmp(err, "t.conf:2: ", 10) == 0);
	}
}

static void
test_limits(void)
{
	char text[CFG_MAX_PROXIES * 40 + 64];
	size_t o = 0;

	for (int i = 0; i <= CFG_MAX_PROXIES; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o,
		    "proxy = socks5://127.0.0.1:%d\n", 1000 + i);
	BAD(text, CFG_MAX_PROXIES + 1, "too many proxies");
	o = 0;
	for (int i = 0; i <= CFG_MAX_RULES; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "deny = 10.0.%d.0/24\n", i);
	BAD(text, CFG_MAX_RULES + 1, "too many deny rules");
}

static void
test_proxychains(void)
{
	GOOD("# proxychains.conf\n"
	     "random_chain\n"
	     "chain_len = 2\n"
	     "quiet_mode\n"
	     "proxy_dns\n"
	     "remote_dns_subnet 224\n"
	     "tcp_read_time_out 15000\n"
	     "tcp_connect_time_out 8000\n"
	     "localnet 127.0.0.0/255.0.0.0\n"
	     "localnet 10.1.0.0:8080/255.255.0.0\n"
	     "localnet ::1/128\n"
	     "\n"
	     "[ProxyList]\n"
	     "socks5\t127.0.0.1 1080\n"
	     "socks4  127.0.0.1 1081 ident\n"
	     "http 127.0.0.1 3128 user secret  # comment\n"
	     "socks5 ::1 1082 u p\n");
	CHECK_EQ_INT(c.format, CFG_FORMAT_PROXYCHAINS);
	CHECK_EQ_INT(c.chain, CFG_CHAIN_RANDOM);
	CHECK_EQ_INT(c.chain_len, 2);
	CHECK_EQ_INT(c.log_level, CFG_LOG_ERROR);
	CHECK_EQ_INT(c.dns, CFG_DNS_REMOTE);
	CHECK_EQ_INT(c.remote_dns_subnet, 224);
	CHECK_EQ_INT(c.handshake_timeout_ms, 15000);
	CHECK_EQ_INT(c.connect_timeout_ms, 8000);
	CHECK(c.direct_set);
	CHECK_EQ_INT(c.ndirect, 3);
	CHECK(match4(&c.direct[0], "127.0.0.1", 80));
	CHECK(match4(&c.direct[1], "10.1.200.3", 8080));
	CHECK(!match4(&c.direct[1], "10.1.200.3", 80));
	CHECK(!match4(&c.direct[1], "10.2.0.1", 8080));
	CHECK_EQ_INT(c.direct[2].family, AF_INET6);
	CHECK_EQ_INT(c.nproxies, 4);
	CHECK_EQ_INT(c.proxies[0].type, PROXY_SOCKS5);
	CHECK_EQ_INT(c.proxies[0].addr.port, 1080);
	CHECK_EQ_INT(c.proxies[1].type, PROXY_SOCKS4);
	CHECK_STR(c.proxies[1].user, "ident");
	CHECK_EQ_INT(c.proxies[2].type, PROXY_HTTP);
	CHECK_STR(c.proxies[2].user, "user");
	CHECK_STR(c.proxies[2].pass, "secret");
	CHECK_EQ_INT(c.proxies[3].addr.type, WIRE_ATYP_IPV6);

	/* Each chain keyword; no localnet means nothing goes direct. */
	GOOD("strict_chain\n[ProxyList]\nsocks5 127.0.0.1 1080\n");
	CHECK_EQ_INT(c.chain, CFG_CHAIN_STRICT);
	CHECK(c.direct_set);
	CHECK_EQ_INT(c.ndirect, 0);
	GOOD("dynamic_chain\n");
	CHECK_EQ_INT(c.chain, CFG_CHAIN_DYNAMIC);
	GOOD("round_robin_chain\nchain_len 1\n[ProxyList]\nhttp 127.0.0.1 8080\n");
	CHECK_EQ_INT(c.chain, CFG_CHAIN_ROUND_ROBIN);
	CHECK_EQ_INT(c.chain_len, 1);
	/* Only a [ProxyList] section makes it proxychains too. */
	GOOD("[ProxyList]\nsocks4 127.0.0.1 9050\n");
	CHECK_EQ_INT(c.format, CFG_FORMAT_PROXYCHAINS);
	CHECK_EQ_INT(c.nproxies, 1);

	BAD("strict_chain\n[ProxyList]\nsocks5 127.0.0.1\n", 3, "TYPE HOST PORT");
	BAD("strict_chain\n[ProxyList]\nraw 127.0.0.1 80\n", 3, "not supported");
	BAD("strict_chain\n[ProxyList]\nsocks5 127.0.0.1 99999\n", 3, "port");
	BAD("strict_chain\n[ProxyList]\nsocks4 127.0.0.1 1080 u p\n", 3, "password");
	BAD("strict_chain\nbogus_option\n", 2, "unknown proxychains keyword");
	BAD("strict_chain\nlocalnet 10.0.0.0\n", 2, "localnet");
	BAD("strict_chain\nlocalnet 10.0.0.0/255.0.255.0\n", 2, "netmask");
	BAD("strict_chain\nlocalnet banana/255.0.0.0\n", 2, "localnet");
	BAD("strict_chain\ntcp_read_time_out soon\n", 2, "tcp_read_time_out");
	BAD("strict_chain\n[Other]\n", 2, "unknown section");
	BAD("strict_chain keeps\n", 1, "takes no value");
	BAD("strict_chain\nchain_len\n", 2, "needs a value");
	BAD("strict_chain\nremote_dns_subnet 300\n", 2, "remote_dns_subnet");
}

static void
test_set_chain(void)
{
	GOOD("chain_len = 3\nlog = info\n"
	     "proxy = socks5://127.0.0.1:1\nproxy = socks5://127.0.0.1:2\n"
	     "proxy = socks5://127.0.0.1:3\n");
	CHECK_EQ_INT(cfg_set_chain(&c, "  http://127.0.0.1:8080 \tsocks4://127.0.0.1:1081 ",
	    err, sizeof(err)), 0);
	CHECK_EQ_INT(c.nproxies, 2);
	CHECK_EQ_INT(c.chain_len, 2); /* capped to the new chain */
	CHECK_EQ_INT(c.proxies[0].type, PROXY_HTTP);
	CHECK_EQ_INT(c.proxies[1].type, PROXY_SOCKS4);
	CHECK_EQ_INT(c.log_level, CFG_LOG_INFO); /* the rest of the config stays */
	CHECK_EQ_INT(cfg_set_chain(&c, "socks5://127.0.0.1", err, sizeof(err)) == 0 ||
	    strlen(err) > 0, 1);
	CHECK_EQ_INT(cfg_set_chain(&c, "gopher://x:1", err, sizeof(err)), -1);
	CHECK(strstr(err, "gopher://x:1") != NULL);
	/* Credentials are never echoed back in an error. */
	CHECK_EQ_INT(cfg_set_chain(&c, "socks5://user:secret@:1", err, sizeof(err)), -1);
	CHECK(strstr(err, "secret") == NULL);
	CHECK_EQ_INT(cfg_set_chain(&c, "   ", err, sizeof(err)), -1);
}

static void
test_log_levels(void)
{
	CHECK_EQ_INT(cfg_log_level_parse("error"), CFG_LOG_ERROR);
	CHECK_EQ_INT(cfg_log_level_parse("warn"), CFG_LOG_WARN);
	CHECK_EQ_INT(cfg_log_level_parse("info"), CFG_LOG_INFO);
	CHECK_EQ_INT(cfg_log_level_parse("debug"), CFG_LOG_DEBUG);
	CHECK_EQ_INT(cfg_log_level_parse("none"), CFG_LOG_NONE);
	CHECK_EQ_INT(cfg_log_level_parse("loud"), -1);
	CHECK_STR(cfg_log_level_name(CFG_LOG_INFO), "info");
}

static void
test_load_file(void)
{
	char path[] = "/tmp/test_config_XXXXXX";
	int fd = mkstemp(path);
	static const char text[] = "proxy = socks5://127.0.0.1:1080\nlog = loud\n";

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(write(fd, text, sizeof(text) - 1) == (ssize_t)(sizeof(text) - 1));
	close(fd);
	CHECK_EQ_INT(cfg_load_file(path, &c, err, sizeof(err)), -1);
	{
		char want[64];
		snprintf(want, sizeof(want), "%s:2: ", path);
		CHECK(strncmp(err, want, strlen(want)) == 0);
	}
	unlink(path);
	CHECK_EQ_INT(cfg_load_file(path, &c, err, sizeof(err)), -1);
	CHECK(strstr(err, path) != NULL);
	CHECK_EQ_INT(cfg_load_file("/", &c, err, sizeof(err)), -1);
}

CHECK_MAIN(
	CHECK_TEST(test_defaults),
	CHECK_TEST(test_every_key),
	CHECK_TEST(test_values),
	CHECK_TEST(test_errors),
	CHECK_TEST(test_limits),
	CHECK_TEST(test_proxychains),
	CHECK_TEST(test_set_chain),
	CHECK_TEST(test_log_levels),
	CHECK_TEST(test_load_file),
)
