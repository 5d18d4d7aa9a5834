/* test_wire_auth.c: RFC 1929 username/password request and reply codecs. */
#include "wire_util.h"

static struct socks5_auth mk_auth(const char *user, const char *pass)
{
	struct socks5_auth a;

	memset(&a, 0, sizeof(a));
	strcpy(a.user, user);
	strcpy(a.pass, pass);
	return a;
}

static void request_both_ways(void)
{
	static const uint8_t msg[] = {
		0x01, 0x04, 'u', 's', 'e', 'r', 0x06, 's', 'e', 'c', 'r', 'e', 't',
	};
	struct socks5_auth a = mk_auth("user", "secret"), back;

	EXPECT_ENC(e_s5auth, &a, msg, sizeof(msg));
	EXPECT_OK(d_s5auth, msg, sizeof(msg), &back);
	CHECK_STR(back.user, "user");
	CHECK_STR(back.pass, "secret");
	EXPECT_PREFIXES_NEED_MORE(d_s5auth, msg, sizeof(msg), struct socks5_auth);
}

/* The header allows an empty password (PLEN 0), which peers send. */
static void empty_password(void)
{
	static const uint8_t msg[] = { 0x01, 0x01, 'u', 0x00 };
	struct socks5_auth a = mk_auth("u", ""), back;

	EXPECT_ENC(e_s5auth, &a, msg, sizeof(msg));
	EXPECT_OK(d_s5auth, msg, sizeof(msg), &back);
	CHECK_STR(back.user, "u");
	CHECK_STR(back.pass, "");
	EXPECT_PREFIXES_NEED_MORE(d_s5auth, msg, sizeof(msg), struct socks5_auth);
}

static void longest_fields(void)
{
	uint8_t msg[1 + 1 + 255 + 1 + 255];
	struct socks5_auth a, back;

	memset(&a, 0, sizeof(a));
	memset(a.user, 'U', 255);
	memset(a.pass, 'P', 255);
	msg[0] = 0x01;
	msg[1] = 0xff;
	memset(msg + 2, 'U', 255);
	msg[257] = 0xff;
	memset(msg + 258, 'P', 255);
	EXPECT_ENC(e_s5auth, &a, msg, sizeof(msg));
	EXPECT_OK(d_s5auth, msg, sizeof(msg), &back);
	CHECK_STR(back.user, a.user);
	CHECK_STR(back.pass, a.pass);
	EXPECT_PREFIXES_NEED_MORE(d_s5auth, msg, sizeof(msg), struct socks5_auth);
}

static void binary_and_utf8_credentials(void)
{
	struct socks5_auth a = mk_auth("\xc3\xa9l\xc3\xa8ve", ":@ \t%\x7f\xff"), back;
	uint8_t buf[600];
	ssize_t n = EXPECT_ENC_OUT(e_s5auth, &a, buf);

	if (n > 0) {
		EXPECT_OK(d_s5auth, buf, (size_t)n, &back);
		CHECK_STR(back.user, a.user);
		CHECK_STR(back.pass, a.pass);
	}
}

static void garbage(void)
{
	static const uint8_t ver5[] = { 0x05, 0x01, 'u', 0x01, 'p' };
	static const uint8_t ulen0[] = { 0x01, 0x00, 0x01, 'p' };
	static const uint8_t nul_user[] = { 0x01, 0x03, 'a', 0x00, 'b', 0x01, 'p' };
	static const uint8_t nul_pass[] = { 0x01, 0x01, 'u', 0x03, 'p', 0x00, 'q' };

	EXPECT_MALFORMED(d_s5auth, ver5, sizeof(ver5), struct socks5_auth);
	EXPECT_MALFORMED(d_s5auth, ver5, 1, struct socks5_auth);
	EXPECT_MALFORMED(d_s5auth, ulen0, sizeof(ulen0), struct socks5_auth);
	/* A NUL would cut the C string short and compare as another user. */
	EXPECT_MALFORMED(d_s5auth, nul_user, sizeof(nul_user), struct socks5_auth);
	EXPECT_MALFORMED(d_s5auth, nul_pass, sizeof(nul_pass), struct socks5_auth);
}

static void encoder_refuses_empty_user(void)
{
	struct socks5_auth a = mk_auth("", "p");

	EXPECT_ENC_FAILS(e_s5auth, &a);
}

static void reply_both_ways(void)
{
	static const uint8_t st[] = { SOCKS5_AUTH_OK, SOCKS5_AUTH_FAILED, 0x02, 0xff };
	size_t i;

	CHECK_EQ_INT(SOCKS5_AUTH_VERSION, 0x01);
	for (i = 0; i < sizeof(st); i++) {
		uint8_t want[2] = { 0x01, st[i] };
		uint8_t back = 0x77;

		EXPECT_ENC(e_s5authrep, &st[i], want, sizeof(want));
		EXPECT_OK(d_s5authrep, want, sizeof(want), &back);
		CHECK_EQ_INT(back, st[i]);
		EXPECT_PREFIXES_NEED_MORE(d_s5authrep, want, sizeof(want), uint8_t);
	}
}

static void reply_garbage(void)
{
	static const uint8_t v0[] = { 0x00, 0x00 };
	static const uint8_t v2[] = { 0x02, 0x00 };

	EXPECT_MALFORMED(d_s5authrep, v0, sizeof(v0), uint8_t);
	EXPECT_MALFORMED(d_s5authrep, v2, sizeof(v2), uint8_t);
}

CHECK_MAIN(
	CHECK_TEST(request_both_ways),
	CHECK_TEST(empty_password),
	CHECK_TEST(longest_fields),
	CHECK_TEST(binary_and_utf8_credentials),
	CHECK_TEST(garbage),
	CHECK_TEST(encoder_refuses_empty_user),
	CHECK_TEST(reply_both_ways),
	CHECK_TEST(reply_garbage),
)
