/* test_url.c: proxy URL parsing and formatting (the -p URL and proxy lines
 * of the config: socks4, socks4a, socks5, socks5h, http).
 */
#include "socksify/addr.h"
#include "wire_util.h"

static const uint8_t v6_lo[16] = { [15] = 1 };
static const uint8_t v6_doc[16] = {
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
};

/* Parses s and checks every field; returns the parse result. */
static int url_ok_at(const char *f, int l, const char *s, enum proxy_type type,
    struct wire_addr addr, const char *user, const char *pass, struct proxy_url *out)
{
	const char *why = NULL;
	int rc;

	memset(out, 0x5a, sizeof(*out));
	rc = addr_parse_proxy_url(s, out, &why);
	if (!check_at(rc == 0, f, l, "addr_parse_proxy_url(\"%s\") = %d (%s)", s, rc,
	    why ? why : "no reason"))
		return rc;
	check_at(out->type == type, f, l, "\"%s\": type %d, want %d", s, out->type, type);
	check_at(wa_eq(&out->addr, &addr), f, l, "\"%s\": wrong host or port", s);
	CHECK_STR_AT(f, l, out->user, user);
	CHECK_STR_AT(f, l, out->pass, pass);
	return rc;
}
#define URL_OK(s, type, addr, user, pass, out) \
	url_ok_at(__FILE__, __LINE__, s, type, addr, user, pass, out)

static void url_bad_at(const char *f, int l, const char *s)
{
	struct proxy_url p;
	const char *why = NULL;
	int rc = addr_parse_proxy_url(s, &p, &why);

	if (check_at(rc == -1, f, l, "addr_parse_proxy_url(\"%s\") = %d, want -1", s, rc))
		check_at(why != NULL && why[0], f, l, "no reason for \"%s\"", s);
}
#define URL_BAD(s) url_bad_at(__FILE__, __LINE__, s)

static void every_scheme(void)
{
	struct proxy_url p;

	if (URL_OK("socks5://127.0.0.1:1080", PROXY_SOCKS5, wa_ip4(127, 0, 0, 1, 1080),
	    "", "", &p) == 0)
		CHECK(!p.remote_names);
	if (URL_OK("socks5h://127.0.0.1:9050", PROXY_SOCKS5, wa_ip4(127, 0, 0, 1, 9050),
	    "", "", &p) == 0)
		CHECK(p.remote_names);
	URL_OK("socks4://10.0.0.1:1080", PROXY_SOCKS4, wa_ip4(10, 0, 0, 1, 1080), "", "", &p);
	URL_OK("socks4a://proxy.example:1081", PROXY_SOCKS4A,
	    wa_name("proxy.example", 1081), "", "", &p);
	URL_OK("http://proxy.example:3128", PROXY_HTTP, wa_name("proxy.example", 3128),
	    "", "", &p);
}

static void credentials(void)
{
	struct proxy_url p;

	URL_OK("socks5://alice:s3cret@127.0.0.1:1080", PROXY_SOCKS5,
	    wa_ip4(127, 0, 0, 1, 1080), "alice", "s3cret", &p);
	URL_OK("socks5h://bob:pw@localhost:1", PROXY_SOCKS5, wa_name("localhost", 1),
	    "bob", "pw", &p);
	URL_OK("http://user:pass@[::1]:8080", PROXY_HTTP, wa_ip6(v6_lo, 8080),
	    "user", "pass", &p);
	URL_OK("socks4a://ident@10.0.0.1:1080", PROXY_SOCKS4A, wa_ip4(10, 0, 0, 1, 1080),
	    "ident", "", &p);
	/* A user with an empty password. */
	URL_OK("socks5://carol:@127.0.0.1:1080", PROXY_SOCKS5, wa_ip4(127, 0, 0, 1, 1080),
	    "carol", "", &p);
}

static void percent_escapes(void)
{
	struct proxy_url p;

	URL_OK("socks5://us%40er:p%3Ass%25w%2Fd@127.0.0.1:1080", PROXY_SOCKS5,
	    wa_ip4(127, 0, 0, 1, 1080), "us@er", "p:ss%w/d", &p);
	URL_OK("http://%E2%82%ac:%c3%a9@h:1", PROXY_HTTP, wa_name("h", 1),
	    "\xe2\x82\xac", "\xc3\xa9", &p);
	URL_OK("socks5://a%20b:c%2bd@h:1", PROXY_SOCKS5, wa_name("h", 1), "a b", "c+d", &p);
	URL_BAD("socks5://us%zzer:p@h:1");
	URL_BAD("socks5://user:p%4@h:1");
	URL_BAD("socks5://user:p%@h:1");
	/* A NUL would silently cut the credential short. */
	URL_BAD("socks5://us%00er:p@h:1");
	URL_BAD("socks5://user:p%00@h:1");
}

static void ipv6_hosts(void)
{
	struct proxy_url p;

	URL_OK("socks5://[::1]:1080", PROXY_SOCKS5, wa_ip6(v6_lo, 1080), "", "", &p);
	URL_OK("socks5h://[2001:db8::1]:9050", PROXY_SOCKS5, wa_ip6(v6_doc, 9050), "", "", &p);
	URL_BAD("socks5://::1:1080");
	URL_BAD("socks5://[::1:1080");
	URL_BAD("socks5://[::1]1080");
	URL_BAD("socks5://[::zz]:1080");
	URL_BAD("socks5://[]:1080");
}

/* The header: a missing port is an error except for http (8080) and the
 * socks schemes (1080). */
static void default_ports(void)
{
	struct proxy_url p;

	URL_OK("socks5://127.0.0.1", PROXY_SOCKS5, wa_ip4(127, 0, 0, 1, 1080), "", "", &p);
	URL_OK("socks5h://localhost", PROXY_SOCKS5, wa_name("localhost", 1080), "", "", &p);
	URL_OK("socks4://127.0.0.1", PROXY_SOCKS4, wa_ip4(127, 0, 0, 1, 1080), "", "", &p);
	URL_OK("socks4a://127.0.0.1", PROXY_SOCKS4A, wa_ip4(127, 0, 0, 1, 1080), "", "", &p);
	URL_OK("http://proxy", PROXY_HTTP, wa_name("proxy", 8080), "", "", &p);
	URL_OK("http://u:p@[::1]", PROXY_HTTP, wa_ip6(v6_lo, 8080), "u", "p", &p);
}

static void bad_ports(void)
{
	URL_BAD("socks5://127.0.0.1:");
	URL_BAD("socks5://127.0.0.1:0");
	URL_BAD("socks5://127.0.0.1:65536");
	URL_BAD("socks5://127.0.0.1:-1");
	URL_BAD("socks5://127.0.0.1:socks");
	URL_BAD("socks5://127.0.0.1:10 80");
	URL_BAD("socks5://127.0.0.1:99999999999999999999");
	URL_BAD("http://[::1]:");
	URL_BAD("http://[::1]:70000");
}

static void bad_schemes_and_shapes(void)
{
	URL_BAD("");
	URL_BAD("127.0.0.1:1080");
	URL_BAD("ftp://127.0.0.1:21");
	URL_BAD("socks6://127.0.0.1:1080");
	URL_BAD("socks://127.0.0.1:1080");
	URL_BAD("socks5:/127.0.0.1:1080");
	URL_BAD("socks5//127.0.0.1:1080");
	URL_BAD("://127.0.0.1:1080");
	URL_BAD("socks5://");
	URL_BAD("socks5://:1080");
	URL_BAD("socks5://user:pass@");
	URL_BAD("socks5://user:pass@:1080");
	URL_BAD("socks5://ho st:1080");
}

static void over_long_fields(void)
{
	char s[1200], f255[256], f256[257];
	struct proxy_url p;

	memset(f255, 'a', 255);
	f255[255] = '\0';
	memset(f256, 'a', 256);
	f256[256] = '\0';

	snprintf(s, sizeof(s), "socks5://%s:p@h:1", f255);
	URL_OK(s, PROXY_SOCKS5, wa_name("h", 1), f255, "p", &p);
	snprintf(s, sizeof(s), "socks5://u:%s@h:1", f255);
	URL_OK(s, PROXY_SOCKS5, wa_name("h", 1), "u", f255, &p);
	snprintf(s, sizeof(s), "socks5://%s:1", f255);
	URL_OK(s, PROXY_SOCKS5, wa_name(f255, 1), "", "", &p);

	snprintf(s, sizeof(s), "socks5://%s:p@h:1", f256);
	URL_BAD(s);
	snprintf(s, sizeof(s), "socks5://u:%s@h:1", f256);
	URL_BAD(s);
	snprintf(s, sizeof(s), "socks5://%s:1", f256);
	URL_BAD(s);
	/* 255 bytes once decoded, longer as typed: the decoded length counts. */
	snprintf(s, sizeof(s), "socks5://%%41%s:p@h:1", f255 + 1);
	f255[0] = 'A';
	URL_OK(s, PROXY_SOCKS5, wa_name("h", 1), f255, "p", &p);
	f255[0] = 'a';
	snprintf(s, sizeof(s), "socks5://%%41%s:p@h:1", f255);
	URL_BAD(s);
}

static void format_without_credentials(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "socks5://alice:secret@127.0.0.1:1080", "socks5://127.0.0.1:1080" },
		{ "socks5h://127.0.0.1:9050", "socks5h://127.0.0.1:9050" },
		{ "socks4://10.0.0.1:1080", "socks4://10.0.0.1:1080" },
		{ "socks4a://id@proxy.example:1081", "socks4a://proxy.example:1081" },
		{ "http://u:p@[::1]:3128", "http://[::1]:3128" },
		{ "http://proxy", "http://proxy:8080" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct proxy_url p;
		const char *why = NULL;
		char buf[ADDR_STRLEN + 32];

		if (!check_at(addr_parse_proxy_url(cases[i].in, &p, &why) == 0, __FILE__,
		    __LINE__, "parse \"%s\" (%s)", cases[i].in, why ? why : "no reason"))
			continue;
		CHECK(addr_format_proxy(buf, sizeof(buf), &p) == buf);
		CHECK_STR(buf, cases[i].out);
		CHECK(strstr(buf, "secret") == NULL);
	}
}

static void format_truncates(void)
{
	struct proxy_url p;
	const char *why = NULL;
	size_t cap;

	if (!CHECK(addr_parse_proxy_url("socks5://127.0.0.1:1080", &p, &why) == 0))
		return;
	for (cap = 1; cap < 24; cap++) {
		char buf[40];

		memset(buf, 'Z', sizeof(buf));
		addr_format_proxy(buf, cap, &p);
		check_at(memchr(buf, '\0', cap) != NULL, __FILE__, __LINE__,
		    "cap %zu: not NUL terminated", cap);
		check_at(buf[cap] == 'Z', __FILE__, __LINE__, "cap %zu: wrote past cap", cap);
	}
}

static void type_names(void)
{
	static const enum proxy_type t[] = { PROXY_SOCKS4, PROXY_SOCKS4A, PROXY_SOCKS5, PROXY_HTTP };
	size_t i, j;

	for (i = 0; i < 4; i++) {
		const char *a = addr_proxy_type_name(t[i]);

		if (!CHECK(a != NULL && a[0]))
			continue;
		for (j = i + 1; j < 4; j++) {
			const char *b = addr_proxy_type_name(t[j]);

			CHECK(b != NULL && strcmp(a, b) != 0);
		}
	}
	CHECK(addr_proxy_type_name((enum proxy_type)0) != NULL);
	CHECK(addr_proxy_type_name((enum proxy_type)99) != NULL);
}

CHECK_MAIN(
	CHECK_TEST(every_scheme),
	CHECK_TEST(credentials),
	CHECK_TEST(percent_escapes),
	CHECK_TEST(ipv6_hosts),
	CHECK_TEST(default_ports),
	CHECK_TEST(bad_ports),
	CHECK_TEST(bad_schemes_and_shapes),
	CHECK_TEST(over_long_fields),
	CHECK_TEST(format_without_credentials),
	CHECK_TEST(format_truncates),
	CHECK_TEST(type_names),
)
