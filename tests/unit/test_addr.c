/* test_addr.c: host:port parsing, CIDR parsing and matching, conversions
 * between wire and socket addresses, and address formatting.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "socksify/addr.h"
#include "wire_util.h"

static const uint8_t v6_doc[16] = {
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
};
static const uint8_t v6_lo[16] = { [15] = 1 };

/* ---- host:port ---- */

static void hp_ok_at(const char *f, int l, const char *s, bool noport,
    struct wire_addr want)
{
	struct wire_addr w;
	const char *why = NULL;
	int rc;

	memset(&w, 0x5a, sizeof(w));
	rc = addr_parse_hostport(s, noport, &w, &why);
	if (!check_at(rc == 0, f, l, "addr_parse_hostport(\"%s\") = %d (%s)", s, rc,
	    why ? why : "no reason"))
		return;
	check_at(wa_eq(&w, &want), f, l, "addr_parse_hostport(\"%s\"): wrong address", s);
}
#define HP_OK(s, noport, want) hp_ok_at(__FILE__, __LINE__, s, noport, want)

static void hp_bad_at(const char *f, int l, const char *s, bool noport)
{
	struct wire_addr w;
	const char *why = NULL;
	int rc = addr_parse_hostport(s, noport, &w, &why);

	if (check_at(rc == -1, f, l, "addr_parse_hostport(\"%s\", %d) = %d, want -1", s,
	    noport, rc))
		check_at(why != NULL && why[0], f, l, "no reason for \"%s\"", s);
}
#define HP_BAD(s, noport) hp_bad_at(__FILE__, __LINE__, s, noport)

static void hostport_valid(void)
{
	HP_OK("1.2.3.4:80", false, wa_ip4(1, 2, 3, 4, 80));
	HP_OK("0.0.0.0:65535", false, wa_ip4(0, 0, 0, 0, 65535));
	HP_OK("[::1]:1080", false, wa_ip6(v6_lo, 1080));
	HP_OK("[2001:db8::1]:443", false, wa_ip6(v6_doc, 443));
	HP_OK("example.com:443", false, wa_name("example.com", 443));
	HP_OK("my_host-1.internal:8080", false, wa_name("my_host-1.internal", 8080));
	HP_OK("localhost:1", false, wa_name("localhost", 1));
	HP_OK("1.2.3.4", true, wa_ip4(1, 2, 3, 4, 0));
	HP_OK("[::1]", true, wa_ip6(v6_lo, 0));
	HP_OK("example.com", true, wa_name("example.com", 0));
	HP_OK("example.com:22", true, wa_name("example.com", 22));
}

static void hostport_longest_name(void)
{
	char s[300], name[256];

	memset(name, 'a', 255);
	name[255] = '\0';
	snprintf(s, sizeof(s), "%s:65535", name);
	HP_OK(s, false, wa_name(name, 65535));
	snprintf(s, sizeof(s), "a%s:1", name);
	HP_BAD(s, false);
}

static void hostport_invalid(void)
{
	HP_BAD("", false);
	HP_BAD("", true);
	HP_BAD(":80", false);
	HP_BAD("host", false);
	HP_BAD("host:", false);
	HP_BAD("host:", true);
	HP_BAD("host:65536", false);
	HP_BAD("host:-1", false);
	HP_BAD("host:http", false);
	HP_BAD("host:80x", false);
	HP_BAD("host: 80", false);
	HP_BAD("host:99999999999999999999", false);
	HP_BAD("ho st:80", false);
	HP_BAD("host/x:80", false);
	HP_BAD("ho\tst:80", false);
	HP_BAD("h@st:80", false);
	HP_BAD("[::1]", false);
	HP_BAD("[::1:80", false);
	HP_BAD("[::1]80", false);
	HP_BAD("[::1]:", false);
	HP_BAD("[::g]:80", false);
	HP_BAD("[]:80", false);
	HP_BAD("[example.com]:80", false);
	HP_BAD("1.2.3.4:80:90", false);
}

/* "1.2.3.256" is not an IPv4 address; it may be refused or taken as a name,
 * never turned into some other address. */
static void hostport_not_quite_ipv4(void)
{
	struct wire_addr w;
	const char *why = NULL;

	if (addr_parse_hostport("1.2.3.256:80", false, &w, &why) == 0)
		CHECK_EQ_INT(w.type, WIRE_ATYP_NAME);
}

/* ---- CIDR ---- */

static void cidr_ok_at(const char *f, int l, const char *s, int family, const char *addr,
    int prefix, int port)
{
	struct addr_cidr c;
	uint8_t want[16] = { 0 };
	const char *why = NULL;
	int rc;

	memset(&c, 0x5a, sizeof(c));
	rc = addr_parse_cidr(s, &c, &why);
	if (!check_at(rc == 0, f, l, "addr_parse_cidr(\"%s\") = %d (%s)", s, rc,
	    why ? why : "no reason"))
		return;
	inet_pton(family, addr, want);
	CHECK_EQ_INT_AT(f, l, c.family, family);
	CHECK_EQ_INT_AT(f, l, c.prefix, prefix);
	CHECK_EQ_INT_AT(f, l, c.port, port);
	check_at(memcmp(c.addr, want, family == AF_INET ? 4 : 16) == 0, f, l,
	    "addr_parse_cidr(\"%s\"): address is not %s", s, addr);
}
#define CIDR_OK(s, fam, a, p, port) cidr_ok_at(__FILE__, __LINE__, s, fam, a, p, port)

static void cidr_bad_at(const char *f, int l, const char *s)
{
	struct addr_cidr c;
	const char *why = NULL;
	int rc = addr_parse_cidr(s, &c, &why);

	if (check_at(rc == -1, f, l, "addr_parse_cidr(\"%s\") = %d, want -1", s, rc))
		check_at(why != NULL && why[0], f, l, "no reason for \"%s\"", s);
}
#define CIDR_BAD(s) cidr_bad_at(__FILE__, __LINE__, s)

static void cidr_parse_valid(void)
{
	CIDR_OK("10.0.0.0/8", AF_INET, "10.0.0.0", 8, 0);
	CIDR_OK("10.1.2.3/8", AF_INET, "10.0.0.0", 8, 0);        /* host bits cleared */
	CIDR_OK("192.168.1.77/23", AF_INET, "192.168.0.0", 23, 0);
	CIDR_OK("1.2.3.4", AF_INET, "1.2.3.4", 32, 0);
	CIDR_OK("0.0.0.0/0", AF_INET, "0.0.0.0", 0, 0);
	CIDR_OK("255.255.255.255/1", AF_INET, "128.0.0.0", 1, 0);
	CIDR_OK("127.0.0.1/32", AF_INET, "127.0.0.1", 32, 0);
	CIDR_OK("::1", AF_INET6, "::1", 128, 0);
	CIDR_OK("::/0", AF_INET6, "::", 0, 0);
	CIDR_OK("fe80::1/10", AF_INET6, "fe80::", 10, 0);
	CIDR_OK("2001:db8:ffff::1/33", AF_INET6, "2001:db8:8000::", 33, 0);
	CIDR_OK("2001:db8::1/127", AF_INET6, "2001:db8::", 127, 0);
	CIDR_OK("10.0.0.0/8:443", AF_INET, "10.0.0.0", 8, 443);
	CIDR_OK("1.2.3.4:22", AF_INET, "1.2.3.4", 32, 22);
	CIDR_OK("[2001:db8::/32]:443", AF_INET6, "2001:db8::", 32, 443);
	CIDR_OK("[::1]:53", AF_INET6, "::1", 128, 53);
}

static void cidr_parse_invalid(void)
{
	CIDR_BAD("");
	CIDR_BAD("10.0.0.0/33");
	CIDR_BAD("10.0.0.0/-1");
	CIDR_BAD("10.0.0.0/");
	CIDR_BAD("10.0.0.0/8x");
	CIDR_BAD("/8");
	CIDR_BAD("10.0.0/8");
	CIDR_BAD("10.0.0.256/8");
	CIDR_BAD("::/129");
	CIDR_BAD("::g/64");
	CIDR_BAD("example.com/8");
	CIDR_BAD("10.0.0.0/8:");
	CIDR_BAD("10.0.0.0/8:65536");
	CIDR_BAD("10.0.0.0/8:http");
	CIDR_BAD("[2001:db8::/32]:");
	CIDR_BAD("[2001:db8::/32");
	CIDR_BAD("10.0.0.0/99999999999999999999");
}

static struct sockaddr_storage sa4(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof(ss));
	s->sin_family = AF_INET;
	s->sin_port = htons(port);
	inet_pton(AF_INET, ip, &s->sin_addr);
	return ss;
}

static struct sockaddr_storage sa6(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	s->sin6_family = AF_INET6;
	s->sin6_port = htons(port);
	inet_pton(AF_INET6, ip, &s->sin6_addr);
	return ss;
}

static void match_at(const char *f, int l, const char *cidr, struct sockaddr_storage ss,
    bool want)
{
	struct addr_cidr c;
	const char *why = NULL;
	char txt[ADDR_STRLEN];

	if (!check_at(addr_parse_cidr(cidr, &c, &why) == 0, f, l, "parse \"%s\"", cidr))
		return;
	check_at(addr_cidr_match(&c, (struct sockaddr *)&ss) == want, f, l,
	    "\"%s\" %s %s", cidr, want ? "should match" : "should not match",
	    addr_format_sa(txt, sizeof(txt), (struct sockaddr *)&ss));
}
#define MATCH(c, ss) match_at(__FILE__, __LINE__, c, ss, true)
#define NO_MATCH(c, ss) match_at(__FILE__, __LINE__, c, ss, false)

static void cidr_match_ipv4(void)
{
	MATCH("10.0.0.0/8", sa4("10.2.3.4", 80));
	MATCH("10.0.0.0/8", sa4("10.255.255.255", 1));
	NO_MATCH("10.0.0.0/8", sa4("11.0.0.0", 80));
	NO_MATCH("10.0.0.0/8", sa4("9.255.255.255", 80));
	MATCH("192.168.0.0/23", sa4("192.168.1.255", 80));
	NO_MATCH("192.168.0.0/23", sa4("192.168.2.0", 80));
	MATCH("0.0.0.0/0", sa4("203.0.113.9", 443));
	MATCH("1.2.3.4", sa4("1.2.3.4", 1));
	NO_MATCH("1.2.3.4", sa4("1.2.3.5", 1));
	NO_MATCH("10.0.0.0/8", sa6("2001:db8::1", 80));
}

static void cidr_match_ipv6(void)
{
	MATCH("2001:db8::/32", sa6("2001:db8:1234::5", 80));
	NO_MATCH("2001:db8::/32", sa6("2001:db9::", 80));
	MATCH("fe80::/10", sa6("febf::1", 80));
	NO_MATCH("fe80::/10", sa6("fec0::1", 80));
	MATCH("::/0", sa6("2001:db8::1", 80));
	MATCH("::1", sa6("::1", 80));
	NO_MATCH("::1", sa6("::2", 80));
	MATCH("2001:db8::/127", sa6("2001:db8::1", 80));
	NO_MATCH("2001:db8::/127", sa6("2001:db8::2", 80));
	NO_MATCH("2001:db8::/32", sa4("32.1.13.184", 80));
}

/* A dual-stack socket shows IPv4 peers as ::ffff:a.b.c.d; IPv4 rules
 * must still catch them. */
static void cidr_match_v4_mapped(void)
{
	MATCH("10.0.0.0/8", sa6("::ffff:10.1.2.3", 80));
	NO_MATCH("10.0.0.0/8", sa6("::ffff:11.1.2.3", 80));
	MATCH("127.0.0.1", sa6("::ffff:127.0.0.1", 80));
	MATCH("0.0.0.0/0", sa6("::ffff:8.8.8.8", 53));
	MATCH("10.0.0.0/8:443", sa6("::ffff:10.0.0.1", 443));
	NO_MATCH("10.0.0.0/8:443", sa6("::ffff:10.0.0.1", 80));
	/* Not mapped: ::a.b.c.d (compat) and 64:ff9b:: (NAT64) are IPv6. */
	NO_MATCH("10.0.0.0/8", sa6("64:ff9b::10.1.2.3", 80));
}

static void cidr_match_port(void)
{
	MATCH("10.0.0.0/8:443", sa4("10.0.0.1", 443));
	NO_MATCH("10.0.0.0/8:443", sa4("10.0.0.1", 80));
	NO_MATCH("10.0.0.0/8:443", sa4("11.0.0.1", 443));
	MATCH("[2001:db8::/32]:53", sa6("2001:db8::1", 53));
	NO_MATCH("[2001:db8::/32]:53", sa6("2001:db8::1", 54));
	MATCH("1.2.3.4:22", sa4("1.2.3.4", 22));
	NO_MATCH("1.2.3.4:22", sa4("1.2.3.4", 23));
}

static void cidr_match_other_families(void)
{
	struct addr_cidr c;
	struct sockaddr_storage ss;
	const char *why = NULL;

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	if (CHECK(addr_parse_cidr("0.0.0.0/0", &c, &why) == 0))
		CHECK(!addr_cidr_match(&c, (struct sockaddr *)&ss));
	if (CHECK(addr_parse_cidr("::/0", &c, &why) == 0))
		CHECK(!addr_cidr_match(&c, (struct sockaddr *)&ss));
}

/* ---- sockaddr <-> wire ---- */

static void wire_sockaddr_ipv4(void)
{
	struct sockaddr_storage ss = sa4("192.0.2.7", 8080), back;
	struct wire_addr w, want = wa_ip4(192, 0, 2, 7, 8080);
	socklen_t len = 0;

	if (CHECK_EQ_INT(addr_wire_from_sockaddr(&w, (struct sockaddr *)&ss), 0))
		CHECK_WA(&w, &want);
	memset(&back, 0x5a, sizeof(back));
	if (CHECK_EQ_INT(addr_sockaddr_from_wire(&back, &len, &want), 0)) {
		struct sockaddr_in *s = (struct sockaddr_in *)&back;

		CHECK_EQ_INT(len, sizeof(struct sockaddr_in));
		CHECK_EQ_INT(s->sin_family, AF_INET);
		CHECK_EQ_INT(s->sin_port, htons(8080));
		CHECK_MEM(&s->sin_addr, want.u.ip4, 4);
	}
}

static void wire_sockaddr_ipv6(void)
{
	struct sockaddr_storage ss = sa6("2001:db8::1", 443), back;
	struct wire_addr w, want = wa_ip6(v6_doc, 443);
	socklen_t len = 0;

	if (CHECK_EQ_INT(addr_wire_from_sockaddr(&w, (struct sockaddr *)&ss), 0))
		CHECK_WA(&w, &want);
	memset(&back, 0x5a, sizeof(back));
	if (CHECK_EQ_INT(addr_sockaddr_from_wire(&back, &len, &want), 0)) {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&back;

		CHECK_EQ_INT(len, sizeof(struct sockaddr_in6));
		CHECK_EQ_INT(s->sin6_family, AF_INET6);
		CHECK_EQ_INT(s->sin6_port, htons(443));
		CHECK_MEM(&s->sin6_addr, v6_doc, 16);
		CHECK_EQ_INT(s->sin6_flowinfo, 0);
		CHECK_EQ_INT(s->sin6_scope_id, 0);
	}
}

static void wire_sockaddr_mapped_and_refusals(void)
{
	struct sockaddr_storage ss = sa6("::ffff:10.9.8.7", 22), back;
	struct wire_addr w, want = wa_ip4(10, 9, 8, 7, 22), name = wa_name("example.com", 80);
	socklen_t len = 0;

	if (CHECK_EQ_INT(addr_wire_from_sockaddr(&w, (struct sockaddr *)&ss), 0))
		CHECK_WA(&w, &want);
	CHECK_EQ_INT(addr_sockaddr_from_wire(&back, &len, &name), -1);

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	CHECK_EQ_INT(addr_wire_from_sockaddr(&w, (struct sockaddr *)&ss), -1);
	w = want;
	w.type = 0x02;
	CHECK_EQ_INT(addr_sockaddr_from_wire(&back, &len, &w), -1);
}

/* ---- formatting ---- */

static void format_wire(void)
{
	char buf[ADDR_STRLEN];
	struct wire_addr w4 = wa_ip4(1, 2, 3, 4, 80), w6 = wa_ip6(v6_lo, 80),
	    wd = wa_ip6(v6_doc, 65535), wn = wa_name("example.com", 443);

	CHECK(addr_format(buf, sizeof(buf), &w4) == buf);
	CHECK_STR(buf, "1.2.3.4:80");
	CHECK_STR(addr_format(buf, sizeof(buf), &w6), "[::1]:80");
	CHECK_STR(addr_format(buf, sizeof(buf), &wd), "[2001:db8::1]:65535");
	CHECK_STR(addr_format(buf, sizeof(buf), &wn), "example.com:443");
}

static void format_longest_and_truncated(void)
{
	char buf[ADDR_STRLEN], name[256], want[300];
	struct wire_addr w;
	size_t cap;

	memset(name, 'n', 255);
	name[255] = '\0';
	w = wa_name(name, 65535);
	snprintf(want, sizeof(want), "%s:65535", name);
	CHECK_STR(addr_format(buf, sizeof(buf), &w), want);

	/* Truncated to cap, always NUL terminated, never past cap. */
	w = wa_name("example.com", 443);
	for (cap = 1; cap < 20; cap++) {
		char small[32];

		memset(small, 'Z', sizeof(small));
		CHECK(addr_format(small, cap, &w) == small);
		check_at(memchr(small, '\0', cap) != NULL, __FILE__, __LINE__,
		    "cap %zu: not NUL terminated", cap);
		check_at(small[cap] == 'Z', __FILE__, __LINE__, "cap %zu: wrote past cap", cap);
		check_at(strncmp(small, "example.com:443", strlen(small)) == 0, __FILE__,
		    __LINE__, "cap %zu: \"%s\" is not a prefix", cap, small);
	}
}

static void format_sockaddr(void)
{
	char buf[ADDR_STRLEN];
	struct sockaddr_storage s4 = sa4("127.0.0.1", 1080), s6 = sa6("2001:db8::1", 53),
	    ll = sa6("fe80::1", 80);
	const char *p;

	CHECK_STR(addr_format_sa(buf, sizeof(buf), (struct sockaddr *)&s4), "127.0.0.1:1080");
	CHECK_STR(addr_format_sa(buf, sizeof(buf), (struct sockaddr *)&s6), "[2001:db8::1]:53");
	((struct sockaddr_in6 *)&ll)->sin6_scope_id = 1;
	p = addr_format_sa(buf, sizeof(buf), (struct sockaddr *)&ll);
	CHECK(p == buf);
	CHECK(strncmp(buf, "[fe80::1%", 9) == 0);
	CHECK(strlen(buf) > 4 && strcmp(buf + strlen(buf) - 4, "]:80") == 0);
}

CHECK_MAIN(
	CHECK_TEST(hostport_valid),
	CHECK_TEST(hostport_longest_name),
	CHECK_TEST(hostport_invalid),
	CHECK_TEST(hostport_not_quite_ipv4),
	CHECK_TEST(cidr_parse_valid),
	CHECK_TEST(cidr_parse_invalid),
	CHECK_TEST(cidr_match_ipv4),
	CHECK_TEST(cidr_match_ipv6),
	CHECK_TEST(cidr_match_v4_mapped),
	CHECK_TEST(cidr_match_port),
	CHECK_TEST(cidr_match_other_families),
	CHECK_TEST(wire_sockaddr_ipv4),
	CHECK_TEST(wire_sockaddr_ipv6),
	CHECK_TEST(wire_sockaddr_mapped_and_refusals),
	CHECK_TEST(format_wire),
	CHECK_TEST(format_longest_and_truncated),
	CHECK_TEST(format_sockaddr),
)
