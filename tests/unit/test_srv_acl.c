/* test_srv_acl.c: socksifyd's destination rules: the canonical form a
 * destination is compared in, --deny-dest on the forms that reach a denied
 * address, the loopback test for listeners, and the own-listener check.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "srv.h"
#include "check.h"

/* A socket address from text ("1.2.3.4" or an IPv6 literal) and a port. */
static union srv_sa
sa_of(const char *ip, uint16_t port)
{
	union srv_sa a;

	memset(&a, 0, sizeof(a));
	if (strchr(ip, ':') != NULL) {
		a.in6.sin6_family = AF_INET6;
		a.in6.sin6_port = htons(port);
		if (inet_pton(AF_INET6, ip, &a.in6.sin6_addr) != 1)
			abort();
	} else {
		a.in.sin_family = AF_INET;
		a.in.sin_port = htons(port);
		if (inet_pton(AF_INET, ip, &a.in.sin_addr) != 1)
			abort();
	}
	return a;
}

static void
canon_is_at(const char *f, int l, const char *in, const char *want)
{
	union srv_sa a = sa_of(in, 1080), c, w = sa_of(want, 1080);
	char got[ADDR_STRLEN], exp[ADDR_STRLEN];

	memset(&c, 0x5a, sizeof(c));
	srv_acl_canon(&c, &a.sa);
	addr_format_sa(got, sizeof(got), &c.sa);
	addr_format_sa(exp, sizeof(exp), &w.sa);
	if (!check_at(c.sa.sa_family == w.sa.sa_family, f, l,
	    "canon(%s): family %d, want %d (%s)", in, c.sa.sa_family,
	    w.sa.sa_family, got))
		return;
	if (w.sa.sa_family == AF_INET)
		check_at(memcmp(&c.in, &w.in, sizeof(w.in)) == 0, f, l,
		    "canon(%s) = %s, want %s", in, got, exp);
	else
		check_at(memcmp(&c.in6, &w.in6, sizeof(w.in6)) == 0, f, l,
		    "canon(%s) = %s, want %s", in, got, exp);
}
#define CANON_IS(in, want) canon_is_at(__FILE__, __LINE__, in, want)

static void
canon_forms(void)
{
	/* What Linux connects to, in the family it really uses. */
	CANON_IS("0.0.0.0", "127.0.0.1");
	CANON_IS("0.1.2.3", "127.0.0.1");
	CANON_IS("::", "::1");
	CANON_IS("::ffff:127.0.0.1", "127.0.0.1");
	CANON_IS("::ffff:10.1.2.3", "10.1.2.3");
	CANON_IS("::ffff:0.0.0.0", "127.0.0.1");
	CANON_IS("::127.0.0.1", "127.0.0.1");
	CANON_IS("::10.1.2.3", "10.1.2.3");
	/* Already canonical: unchanged. */
	CANON_IS("127.0.0.1", "127.0.0.1");
	CANON_IS("127.9.8.7", "127.9.8.7");
	CANON_IS("10.1.2.3", "10.1.2.3");
	CANON_IS("255.255.255.255", "255.255.255.255");
	CANON_IS("::1", "::1");
	CANON_IS("2001:db8::1", "2001:db8::1");
	CANON_IS("fe80::1", "fe80::1");
	/* Close to the special forms, but not them. */
	CANON_IS("::1:0:0:1", "::1:0:0:1");
	CANON_IS("::fffe:127.0.0.1", "::fffe:127.0.0.1");
	CANON_IS("1.0.0.0", "1.0.0.0");
}

static void
canon_keeps_port_and_scope(void)
{
	union srv_sa a = sa_of("::ffff:0.0.0.0", 8080), c;

	srv_acl_canon(&c, &a.sa);
	CHECK_EQ_INT(c.sa.sa_family, AF_INET);
	CHECK_EQ_INT(ntohs(c.in.sin_port), 8080);
	a = sa_of("::", 53);
	srv_acl_canon(&c, &a.sa);
	CHECK_EQ_INT(ntohs(c.in6.sin6_port), 53);
	a = sa_of("fe80::1", 22);
	a.in6.sin6_scope_id = 3;
	srv_acl_canon(&c, &a.sa);
	CHECK_EQ_INT(c.in6.sin6_scope_id, 3);
	CHECK_EQ_INT(ntohs(c.in6.sin6_port), 22);
}

static void
canon_other_families(void)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	union srv_sa c;

	memset(&c, 0x5a, sizeof(c));
	srv_acl_canon(&c, (struct sockaddr *)&un);
	CHECK_EQ_INT(c.sa.sa_family, AF_UNSPEC);
}

static struct srv_cfg
cfg_deny(const char *const *rules, size_t n)
{
	struct srv_cfg cfg;
	const char *why = NULL;

	memset(&cfg, 0, sizeof(cfg));
	for (size_t i = 0; i < n; i++)
		if (srv_acl_add(&cfg.deny, &cfg.ndeny, rules[i], &why) != 0)
			abort();
	return cfg;
}

static void
dest_ok_at(const char *f, int l, const struct srv_cfg *cfg, const char *ip,
    uint16_t port, bool want)
{
	union srv_sa a = sa_of(ip, port);

	check_at(srv_acl_dest_ok(cfg, &a.sa) == want, f, l, "dest_ok(%s port %u) = %d",
	    ip, port, !want);
}
#define DEST_OK(cfg, ip, port, want) dest_ok_at(__FILE__, __LINE__, cfg, ip, port, want)

static void
deny_cannot_be_dodged(void)
{
	static const char *const rules[] = { "127.0.0.0/8", "::1/128" };
	struct srv_cfg cfg = cfg_deny(rules, 2);

	DEST_OK(&cfg, "127.0.0.1", 80, false);
	DEST_OK(&cfg, "0.0.0.0", 80, false);
	DEST_OK(&cfg, "0.255.0.1", 80, false);
	DEST_OK(&cfg, "::", 80, false);
	DEST_OK(&cfg, "::1", 80, false);
	DEST_OK(&cfg, "::ffff:127.0.0.1", 80, false);
	DEST_OK(&cfg, "::ffff:0.0.0.0", 80, false);
	DEST_OK(&cfg, "::127.0.0.1", 80, false);
	DEST_OK(&cfg, "::127.1.2.3", 80, false);
	DEST_OK(&cfg, "10.0.0.1", 80, true);
	DEST_OK(&cfg, "::ffff:10.0.0.1", 80, true);
	DEST_OK(&cfg, "2001:db8::1", 80, true);
	free(cfg.deny);
}

static void
deny_port_rule_on_canonical_form(void)
{
	static const char *const rules[] = { "127.0.0.0/8:25", "10.0.0.0/8" };
	struct srv_cfg cfg = cfg_deny(rules, 2);

	DEST_OK(&cfg, "0.0.0.0", 25, false);
	DEST_OK(&cfg, "::ffff:127.0.0.1", 25, false);
	DEST_OK(&cfg, "0.0.0.0", 26, true);
	/* An IPv4 rule covers the IPv4-compatible spelling too. */
	DEST_OK(&cfg, "::10.9.9.9", 443, false);
	free(cfg.deny);
}

static void
loopback_listeners(void)
{
	static const struct { const char *ip; bool lo; } t[] = {
		{ "127.0.0.1", true }, { "127.200.0.9", true }, { "::1", true },
		{ "::ffff:127.0.0.1", true },
		/* Wildcards are every address, not loopback. */
		{ "0.0.0.0", false }, { "::", false }, { "::ffff:0.0.0.0", false },
		{ "10.0.0.1", false }, { "192.0.2.1", false }, { "2001:db8::1", false },
		{ "::127.0.0.1", false },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		union srv_sa a = sa_of(t[i].ip, 1080);
		check_at(srv_acl_is_loopback(&a.sa) == t[i].lo, __FILE__, __LINE__,
		    "is_loopback(%s) = %d", t[i].ip, !t[i].lo);
	}
}

static void
own_listener_at(const char *f, int l, const struct srv_listener *ls, size_t n,
    const char *ip, uint16_t port, bool want)
{
	union srv_sa a = sa_of(ip, port);

	check_at(srv_acl_is_listener(ls, n, &a.sa) == want, f, l,
	    "is_listener(%s port %u) = %d", ip, port, !want);
}
#define OWN(ls, n, ip, port, want) own_listener_at(__FILE__, __LINE__, ls, n, ip, port, want)

static void
own_listener_exact(void)
{
	struct srv_listener ls[2];

	memset(ls, 0, sizeof(ls));
	ls[0].addr = sa_of("127.0.0.1", 1080);
	ls[1].addr = sa_of("::1", 1081);
	OWN(ls, 2, "127.0.0.1", 1080, true);
	OWN(ls, 2, "0.0.0.0", 1080, true);
	OWN(ls, 2, "::ffff:127.0.0.1", 1080, true);
	OWN(ls, 2, "::127.0.0.1", 1080, true);
	OWN(ls, 2, "::1", 1081, true);
	OWN(ls, 2, "::", 1081, true);
	/* Another port, or another address than the one listened on. */
	OWN(ls, 2, "127.0.0.1", 1081, false);
	OWN(ls, 2, "127.0.0.2", 1080, false);
	OWN(ls, 2, "::1", 1080, false);
	OWN(ls, 2, "10.0.0.1", 1080, false);
}

static void
own_listener_wildcard(void)
{
	struct srv_listener ls[2];

	memset(ls, 0, sizeof(ls));
	ls[0].addr = sa_of("0.0.0.0", 2000);
	ls[1].addr = sa_of("::", 2001);
	OWN(ls, 2, "127.0.0.1", 2000, true);
	OWN(ls, 2, "127.9.9.9", 2000, true);
	OWN(ls, 2, "0.0.0.0", 2000, true);
	OWN(ls, 2, "::ffff:127.0.0.5", 2000, true);
	OWN(ls, 2, "::1", 2001, true);
	OWN(ls, 2, "::", 2001, true);
	/* An IPv6 listener takes IPv6 only, and the other way round. */
	OWN(ls, 2, "::1", 2000, false);
	OWN(ls, 2, "127.0.0.1", 2001, false);
	/* A documentation address is no address of this host. */
	OWN(ls, 2, "192.0.2.1", 2000, false);
	OWN(ls, 2, "2001:db8::1", 2001, false);
	OWN(ls, 2, "127.0.0.1", 2002, false);
}

CHECK_MAIN(
	CHECK_TEST(canon_forms),
	CHECK_TEST(canon_keeps_port_and_scope),
	CHECK_TEST(canon_other_families),
	CHECK_TEST(deny_cannot_be_dodged),
	CHECK_TEST(deny_port_rule_on_canonical_form),
	CHECK_TEST(loopback_listeners),
	CHECK_TEST(own_listener_exact),
	CHECK_TEST(own_listener_wildcard),
)
