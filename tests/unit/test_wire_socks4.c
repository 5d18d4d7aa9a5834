/* test_wire_socks4.c: SOCKS4 and SOCKS4a request and reply codecs, checked
 * against the examples and rules of the SOCKS4 and SOCKS4a protocol texts.
 */
#include "wire_util.h"

/* The protocol text's example: CONNECT 66.102.7.99:80 for user "Fred". */
static const uint8_t rfc_req[] = {
	0x04, 0x01, 0x00, 0x50, 0x42, 0x66, 0x07, 0x63, 'F', 'r', 'e', 'd', 0x00,
};
/* Its reply: request granted (0x5a). */
static const uint8_t rfc_rep[] = {
	0x00, 0x5a, 0x00, 0x50, 0x42, 0x66, 0x07, 0x63,
};
/* SOCKS4a: 0.0.0.1 marks that the name follows the user id. */
static const uint8_t s4a_req[] = {
	0x04, 0x01, 0x01, 0xbb, 0x00, 0x00, 0x00, 0x01, 'F', 'r', 'e', 'd', 0x00,
	'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm', 0x00,
};

static void rfc_request_decodes(void)
{
	struct socks4_req r;
	struct wire_addr want = wa_ip4(66, 102, 7, 99, 80);

	EXPECT_OK(d_s4req, rfc_req, sizeof(rfc_req), &r);
	CHECK_EQ_INT(r.cmd, SOCKS4_CMD_CONNECT);
	CHECK_WA(&r.dst, &want);
	CHECK_STR(r.user, "Fred");
	EXPECT_PREFIXES_NEED_MORE(d_s4req, rfc_req, sizeof(rfc_req), struct socks4_req);
}

static void rfc_request_encodes(void)
{
	struct socks4_req r;

	memset(&r, 0, sizeof(r));
	r.cmd = SOCKS4_CMD_CONNECT;
	r.dst = wa_ip4(66, 102, 7, 99, 80);
	strcpy(r.user, "Fred");
	EXPECT_ENC(e_s4req, &r, rfc_req, sizeof(rfc_req));
}

static void rfc_reply_both_ways(void)
{
	struct socks4_rep rep;
	struct wire_addr want = wa_ip4(66, 102, 7, 99, 80);

	EXPECT_OK(d_s4rep, rfc_rep, sizeof(rfc_rep), &rep);
	CHECK_EQ_INT(rep.code, SOCKS4_REP_GRANTED);
	CHECK_WA(&rep.addr, &want);
	EXPECT_PREFIXES_NEED_MORE(d_s4rep, rfc_rep, sizeof(rfc_rep), struct socks4_rep);

	memset(&rep, 0, sizeof(rep));
	rep.code = SOCKS4_REP_GRANTED;
	rep.addr = want;
	EXPECT_ENC(e_s4rep, &rep, rfc_rep, sizeof(rfc_rep));
}

static void every_reply_code_round_trips(void)
{
	static const uint8_t codes[] = {
		SOCKS4_REP_GRANTED, SOCKS4_REP_REJECTED, SOCKS4_REP_NO_IDENTD,
		SOCKS4_REP_IDENT_MISMATCH,
	};
	size_t i;

	CHECK_EQ_INT(SOCKS4_REP_GRANTED, 0x5a);
	CHECK_EQ_INT(SOCKS4_REP_REJECTED, 0x5b);
	CHECK_EQ_INT(SOCKS4_REP_NO_IDENTD, 0x5c);
	CHECK_EQ_INT(SOCKS4_REP_IDENT_MISMATCH, 0x5d);
	for (i = 0; i < sizeof(codes); i++) {
		struct socks4_rep rep, back;
		uint8_t want[8] = { 0x00, codes[i], 0x1f, 0x90, 10, 0, 0, 7 };

		memset(&rep, 0, sizeof(rep));
		rep.code = codes[i];
		rep.addr = wa_ip4(10, 0, 0, 7, 8080);
		EXPECT_ENC(e_s4rep, &rep, want, sizeof(want));
		EXPECT_OK(d_s4rep, want, sizeof(want), &back);
		CHECK_EQ_INT(back.code, codes[i]);
		CHECK_WA(&back.addr, &rep.addr);
	}
}

static void bind_request_empty_user(void)
{
	static const uint8_t msg[] = { 0x04, 0x02, 0x1f, 0x90, 127, 0, 0, 1, 0x00 };
	struct socks4_req r, back;

	memset(&r, 0, sizeof(r));
	r.cmd = SOCKS4_CMD_BIND;
	r.dst = wa_ip4(127, 0, 0, 1, 8080);
	EXPECT_ENC(e_s4req, &r, msg, sizeof(msg));
	EXPECT_OK(d_s4req, msg, sizeof(msg), &back);
	CHECK_EQ_INT(back.cmd, SOCKS4_CMD_BIND);
	CHECK_WA(&back.dst, &r.dst);
	CHECK_STR(back.user, "");
	EXPECT_PREFIXES_NEED_MORE(d_s4req, msg, sizeof(msg), struct socks4_req);
}

static void socks4a_both_ways(void)
{
	struct socks4_req r, back;
	struct wire_addr want = wa_name("example.com", 443);

	EXPECT_OK(d_s4req, s4a_req, sizeof(s4a_req), &back);
	CHECK_EQ_INT(back.cmd, SOCKS4_CMD_CONNECT);
	CHECK_WA(&back.dst, &want);
	CHECK_STR(back.user, "Fred");
	EXPECT_PREFIXES_NEED_MORE(d_s4req, s4a_req, sizeof(s4a_req), struct socks4_req);

	memset(&r, 0, sizeof(r));
	r.cmd = SOCKS4_CMD_CONNECT;
	r.dst = want;
	strcpy(r.user, "Fred");
	EXPECT_ENC(e_s4req, &r, s4a_req, sizeof(s4a_req));
}

/* Any 0.0.0.x with x != 0 announces a name, not only 0.0.0.1. */
static void socks4a_any_marker(void)
{
	static const uint8_t msg[] = {
		0x04, 0x01, 0x00, 0x16, 0x00, 0x00, 0x00, 0xff, 0x00, 'h', '-', '1', 0x00,
	};
	struct socks4_req back;
	struct wire_addr want = wa_name("h-1", 22);

	EXPECT_OK(d_s4req, msg, sizeof(msg), &back);
	CHECK_WA(&back.dst, &want);
	CHECK_STR(back.user, "");
	EXPECT_PREFIXES_NEED_MORE(d_s4req, msg, sizeof(msg), struct socks4_req);
}

/* A plain SOCKS4 request to an ordinary address stops at the user's NUL:
 * what follows is the next message (or data), not a name. */
static void socks4_plain_ignores_following_bytes(void)
{
	static const uint8_t msg[] = {
		0x04, 0x01, 0x00, 0x50, 0x01, 0x00, 0x00, 0x01, 'u', 0x00,
	};
	struct socks4_req back;
	struct wire_addr want = wa_ip4(1, 0, 0, 1, 80);

	EXPECT_OK(d_s4req, msg, sizeof(msg), &back);
	CHECK_WA(&back.dst, &want);
	CHECK_STR(back.user, "u");
}

static void max_user_and_name(void)
{
	uint8_t msg[8 + 256 + 256], enc[sizeof(msg)];
	struct socks4_req r, back;
	size_t n = 0;

	memset(&r, 0, sizeof(r));
	r.cmd = SOCKS4_CMD_CONNECT;
	memset(r.user, 'u', WIRE_USER_MAX);
	r.dst.type = WIRE_ATYP_NAME;
	r.dst.port = 65535;
	r.dst.name_len = WIRE_NAME_MAX;
	memset(r.dst.u.name, 'n', WIRE_NAME_MAX);

	msg[n++] = 4; msg[n++] = 1; msg[n++] = 0xff; msg[n++] = 0xff;
	msg[n++] = 0; msg[n++] = 0; msg[n++] = 0; msg[n++] = 1;
	memset(msg + n, 'u', 255); n += 255; msg[n++] = 0;
	memset(msg + n, 'n', 255); n += 255; msg[n++] = 0;
	CHECK_EQ_INT(n, sizeof(msg));

	CHECK_EQ_INT(EXPECT_ENC_OUT(e_s4req, &r, enc), sizeof(msg));
	CHECK_MEM(enc, msg, sizeof(msg));
	EXPECT_OK(d_s4req, msg, sizeof(msg), &back);
	CHECK_STR(back.user, r.user);
	CHECK_WA(&back.dst, &r.dst);
	EXPECT_PREFIXES_NEED_MORE(d_s4req, msg, sizeof(msg), struct socks4_req);
}

/* A user id of 256 bytes cannot fit: MALFORMED as soon as that is clear,
 * not NEED_MORE forever. */
static void oversized_user(void)
{
	uint8_t msg[8 + 300];

	memset(msg, 'u', sizeof(msg));
	msg[0] = 4; msg[1] = 1; msg[2] = 0; msg[3] = 80;
	msg[4] = 1; msg[5] = 2; msg[6] = 3; msg[7] = 4;
	msg[8 + 256] = 0;
	EXPECT_MALFORMED(d_s4req, msg, 8 + 257, struct socks4_req);
	/* No NUL at all, 300 bytes of user: can never become valid. */
	EXPECT_MALFORMED(d_s4req, msg, 8 + 256, struct socks4_req);
	msg[8 + 256] = 'u';
	EXPECT_MALFORMED(d_s4req, msg, sizeof(msg), struct socks4_req);
}

static void oversized_and_empty_name(void)
{
	uint8_t msg[8 + 2 + 300];
	static const uint8_t empty[] = { 4, 1, 0, 80, 0, 0, 0, 1, 'u', 0, 0 };

	memset(msg, 'n', sizeof(msg));
	msg[0] = 4; msg[1] = 1; msg[2] = 0; msg[3] = 80;
	msg[4] = 0; msg[5] = 0; msg[6] = 0; msg[7] = 1;
	msg[8] = 0;                 /* empty user */
	msg[9 + 256] = 0;           /* a 256-byte name */
	EXPECT_MALFORMED(d_s4req, msg, 9 + 257, struct socks4_req);
	msg[9 + 256] = 'n';         /* and one with no end in sight */
	EXPECT_MALFORMED(d_s4req, msg, sizeof(msg), struct socks4_req);

	EXPECT_MALFORMED(d_s4req, empty, sizeof(empty), struct socks4_req);
}

static void wrong_version(void)
{
	uint8_t msg[sizeof(rfc_req)], rep[sizeof(rfc_rep)];
	static const uint8_t ver5[] = { 0x05 };
	size_t i;

	memcpy(msg, rfc_req, sizeof(msg));
	for (i = 0; i < 256; i++) {
		if (i == 4)
			continue;
		msg[0] = (uint8_t)i;
		EXPECT_MALFORMED(d_s4req, msg, sizeof(msg), struct socks4_req);
	}
	/* The first byte alone already says it is not SOCKS4. */
	EXPECT_MALFORMED(d_s4req, ver5, 1, struct socks4_req);

	/* A reply carries version 0; a SOCKS5 server's answer is not one. */
	memcpy(rep, rfc_rep, sizeof(rep));
	rep[0] = 0x05;
	EXPECT_MALFORMED(d_s4rep, rep, sizeof(rep), struct socks4_rep);
}

static void encoder_refuses_what_socks4_cannot_carry(void)
{
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	struct socks4_req r;
	struct socks4_rep rep;

	memset(&r, 0, sizeof(r));
	r.cmd = SOCKS4_CMD_CONNECT;
	r.dst = wa_ip6(v6, 80);
	EXPECT_ENC_FAILS(e_s4req, &r);

	r.dst = wa_name("", 80);    /* name_len 0 */
	EXPECT_ENC_FAILS(e_s4req, &r);

	r.dst = wa_ip4(1, 2, 3, 4, 80);
	r.dst.type = 0x02;          /* no such address type */
	EXPECT_ENC_FAILS(e_s4req, &r);

	memset(&rep, 0, sizeof(rep));
	rep.code = SOCKS4_REP_GRANTED;
	rep.addr = wa_ip6(v6, 80);
	/* A reply may refuse, or send 0.0.0.0 (the protocol text lets a
	 * reply's address be ignored); it must never pass IPv6 bytes off as
	 * an IPv4 address. */
	{
		uint8_t out[64];
		ssize_t n = wire_enc_socks4_rep(out, sizeof(out), &rep);

		if (n != -1 && CHECK_EQ_INT(n, 8))
			CHECK_MEM(out + 4, "\0\0\0\0", 4);
	}
}

static void round_trips(void)
{
	static const char *users[] = { "", "a", "user name with spaces", "\x7f\x80\xff" };
	static const uint16_t ports[] = { 0, 1, 80, 1080, 65535 };
	size_t i, j;

	for (i = 0; i < sizeof(users) / sizeof(users[0]); i++)
		for (j = 0; j < sizeof(ports) / sizeof(ports[0]); j++) {
			struct socks4_req r, back;
			uint8_t buf[600];
			ssize_t n;

			memset(&r, 0, sizeof(r));
			r.cmd = (j & 1) ? SOCKS4_CMD_BIND : SOCKS4_CMD_CONNECT;
			strcpy(r.user, users[i]);
			r.dst = (i & 1) ? wa_name("a.example", ports[j])
			    : wa_ip4(192, 0, 2, (uint8_t)j, ports[j]);
			n = EXPECT_ENC_OUT(e_s4req, &r, buf);
			if (n <= 0)
				continue;
			EXPECT_OK(d_s4req, buf, (size_t)n, &back);
			CHECK_EQ_INT(back.cmd, r.cmd);
			CHECK_WA(&back.dst, &r.dst);
			CHECK_STR(back.user, r.user);
		}
}

CHECK_MAIN(
	CHECK_TEST(rfc_request_decodes),
	CHECK_TEST(rfc_request_encodes),
	CHECK_TEST(rfc_reply_both_ways),
	CHECK_TEST(every_reply_code_round_trips),
	CHECK_TEST(bind_request_empty_user),
	CHECK_TEST(socks4a_both_ways),
	CHECK_TEST(socks4a_any_marker),
	CHECK_TEST(socks4_plain_ignores_following_bytes),
	CHECK_TEST(max_user_and_name),
	CHECK_TEST(oversized_user),
	CHECK_TEST(oversized_and_empty_name),
	CHECK_TEST(wrong_version),
	CHECK_TEST(encoder_refuses_what_socks4_cannot_carry),
	CHECK_TEST(round_trips),
)
