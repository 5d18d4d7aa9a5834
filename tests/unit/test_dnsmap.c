/* test_dnsmap.c: the remote-DNS name map: one address per name in both
 * families, the way back from address to name, and the bound. */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "dnsmap.h"

static struct sockaddr_in
sa4_of(uint32_t idx)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(80) };

	dns_map_addr4(idx, (uint8_t *)&sin.sin_addr);
	return sin;
}

static void
setup(const char *v4, const char *v6, size_t cap)
{
	struct addr_cidr c4, c6;
	const char *why = NULL;

	CHECK(addr_parse_cidr(v4, &c4, &why) == 0);
	CHECK(addr_parse_cidr(v6, &c6, &why) == 0);
	CHECK_EQ_INT(dns_map_setup(&c4, &c6, cap, &why), 0);
}

static const char *
name_of(uint32_t idx, char *buf, size_t cap)
{
	struct sockaddr_in sin = sa4_of(idx);

	if (dns_map_lookup_addr((struct sockaddr *)&sin, buf, cap) == 0)
		return "";
	return buf;
}

static void
test_same_name_same_address(void)
{
	char buf[256];
	uint32_t a, b, c;

	setup("240.0.0.0/8", "100::/64", 1000);
	a = dns_map_get("Example.ORG.");
	b = dns_map_get("example.org");
	c = dns_map_get("example.net");
	CHECK(a != 0);
	CHECK_EQ_INT(a, b);
	CHECK(c != a);
	CHECK_STR(name_of(a, buf, sizeof(buf)), "example.org");
	CHECK_STR(name_of(c, buf, sizeof(buf)), "example.net");
	CHECK_EQ_INT(dns_map_count(), 2);
	CHECK_EQ_INT(dns_map_get(""), 0);
	CHECK_EQ_INT(dns_map_get("."), 0);
}

static void
test_both_families(void)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in s4;
	char buf[256], text[64];
	uint32_t idx;

	setup("240.0.0.0/8", "100::/64", 1000);
	idx = dns_map_get("dual.test");
	s4 = sa4_of(idx);
	CHECK(((uint8_t *)&s4.sin_addr)[0] == 240);
	dns_map_addr6(idx, s6.sin6_addr.s6_addr);
	inet_ntop(AF_INET6, &s6.sin6_addr, text, sizeof(text));
	CHECK(strncmp(text, "100::", 5) == 0);
	CHECK_EQ_INT(dns_map_lookup_addr((struct sockaddr *)&s6, buf, sizeof(buf)), idx);
	CHECK_STR(buf, "dual.test");
	/* An IPv4-mapped IPv6 stand-in is the IPv4 one. */
	memset(&s6.sin6_addr, 0, 16);
	s6.sin6_addr.s6_addr[10] = s6.sin6_addr.s6_addr[11] = 0xff;
	memcpy(&s6.sin6_addr.s6_addr[12], &s4.sin_addr, 4);
	CHECK_EQ_INT(dns_map_lookup_addr((struct sockaddr *)&s6, buf, sizeof(buf)), idx);
	CHECK(dns_map_in_range((struct sockaddr *)&s4));
	inet_pton(AF_INET, "10.0.0.1", &s4.sin_addr);
	CHECK(!dns_map_in_range((struct sockaddr *)&s4));
	/* A name longer than the caller's buffer is not half-copied. */
	CHECK_EQ_INT(dns_map_lookup_addr((struct sockaddr *)&s6, buf, 4), 0);
}

static void
test_custom_ranges(void)
{
	struct sockaddr_in s4;
	uint32_t idx;

	setup("10.77.0.0/16", "fd00:1::/96", 100);
	idx = dns_map_get("x.test");
	s4 = sa4_of(idx);
	CHECK(((uint8_t *)&s4.sin_addr)[0] == 10 && ((uint8_t *)&s4.sin_addr)[1] == 77);
	/* cap is clipped to half the range. */
	setup("10.77.0.0/23", "fd00:1::/96", 100000);
	CHECK_EQ_INT(dns_map_capacity(), 255);
}

/* The bound: least recently used unpinned names go first, pinned names
 * stay with their addresses, and no live address is handed out again. */
static void
test_bound_policy(void)
{
	char buf[256], nm[32];
	uint32_t pinned[10], old0, idx, seen_max = 0;
	struct sockaddr_in s4;

	setup("240.0.0.0/8", "100::/64", 50);
	for (int i = 0; i < 10; i++) {
		snprintf(nm, sizeof(nm), "pinned%d.test", i);
		pinned[i] = dns_map_get(nm);
		s4 = sa4_of(pinned[i]);
		dns_map_ref_addr((struct sockaddr *)&s4, 1);
	}
	old0 = dns_map_get("old0.test");
	for (int i = 0; i < 39; i++) {
		snprintf(nm, sizeof(nm), "fill%d.test", i);
		dns_map_get(nm);
	}
	CHECK_EQ_INT(dns_map_count(), 50);
	/* Touch old0 so it is recent; fill0 is now the oldest unpinned. */
	CHECK_EQ_INT(dns_map_get("old0.test"), old0);
	idx = dns_map_get("new0.test");
	CHECK(idx != 0);
	CHECK_EQ_INT(dns_map_count(), 50);
	CHECK_STR(name_of(old0, buf, sizeof(buf)), "old0.test");
	/* fill0 was forgotten: its address maps to nothing now. */
	for (int i = 0; i < 1000; i++) {
		snprintf(nm, sizeof(nm), "churn%d.test", i);
		idx = dns_map_get(nm);
		CHECK(idx != 0);
		for (int k = 0; k < 10; k++)
			CHECK(idx != pinned[k]);
		if (idx > seen_max)
			seen_max = idx;
	}
	for (int k = 0; k < 10; k++) {
		snprintf(nm, sizeof(nm), "pinned%d.test", k);
		CHECK_STR(name_of(pinned[k], buf, sizeof(buf)), nm);
		CHECK_EQ_INT(dns_map_get(nm), pinned[k]);
	}
	/* The cursor walks on: freed addresses are not reused at once. */
	CHECK(seen_max > 1000);
	CHECK_EQ_INT(dns_map_count(), 50);
}

static void
test_all_pinned(void)
{
	char nm[32];
	struct sockaddr_in s4;
	uint32_t idx;

	setup("240.0.0.0/8", "100::/64", 20);
	for (int i = 0; i < 20; i++) {
		snprintf(nm, sizeof(nm), "busy%d.test", i);
		idx = dns_map_get(nm);
		s4 = sa4_of(idx);
		dns_map_ref_addr((struct sockaddr *)&s4, 1);
	}
	CHECK_EQ_INT(dns_map_get("one-too-many.test"), 0);
	/* One socket closes: its name may now make room. */
	s4 = sa4_of(dns_map_get("busy3.test"));
	dns_map_ref_addr((struct sockaddr *)&s4, -1);
	CHECK(dns_map_get("one-too-many.test") != 0);
	CHECK_EQ_INT(dns_map_lookup_addr((struct sockaddr *)&s4, nm, sizeof(nm)), 0);
}

static void *
hammer(void *arg)
{
	char nm[32];
	uintptr_t t = (uintptr_t)arg;

	for (int r = 0; r < 20; r++)
		for (int i = 0; i < 500; i++) {
			snprintf(nm, sizeof(nm), "n%d.test", (int)((i * 7 + t) % 500));
			if (dns_map_get(nm) == 0)
				return (void *)1;
		}
	return NULL;
}

static void
test_threads(void)
{
	pthread_t th[8];
	char buf[256], nm[32];
	void *rv;

	setup("240.0.0.0/8", "100::/64", 1000);
	for (uintptr_t i = 0; i < 8; i++)
		CHECK_EQ_INT(pthread_create(&th[i], NULL, hammer, (void *)i), 0);
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], &rv);
		CHECK(rv == NULL);
	}
	CHECK_EQ_INT(dns_map_count(), 500);
	for (int i = 0; i < 500; i++) {
		snprintf(nm, sizeof(nm), "n%d.test", i);
		CHECK_STR(name_of(dns_map_get(nm), buf, sizeof(buf)), nm);
	}
}

CHECK_MAIN(
	CHECK_TEST(test_same_name_same_address),
	CHECK_TEST(test_both_families),
	CHECK_TEST(test_custom_ranges),
	CHECK_TEST(test_bound_policy),
	CHECK_TEST(test_all_pinned),
	CHECK_TEST(test_threads),
)
