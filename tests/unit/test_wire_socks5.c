/* test_wire_socks5.c: SOCKS5 greeting, method choice, request and reply
 * codecs (RFC 1928 sections 3, 4, 5 and 6).
 */
#include "wire_util.h"

static const uint8_t v6_doc[16] = {
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
};

static void greeting_both_ways(void)
{
	static const uint8_t one[] = { 0x05, 0x01, 0x00 };
	static const uint8_t two[] = { 0x05, 0x02, 0x00, 0x02 };
	struct socks5_greeting g, back;

	memset(&g, 0, sizeof(g));
	g.nmethods = 1;
	g.methods[0] = SOCKS5_METHOD_NONE;
	EXPECT_ENC(e_s5greet, &g, one, sizeof(one));
	EXPECT_OK(d_s5greet, one, sizeof(one), &back);
	CHECK_EQ_INT(back.nmethods, 1);
	CHECK_EQ_INT(back.methods[0], SOCKS5_METHOD_NONE);
	EXPECT_PREFIXES_NEED_MORE(d_s5greet, one, sizeof(one), struct socks5_greeting);

	g.nmethods = 2;
	g.methods[1] = SOCKS5_METHOD_USERPASS;
	EXPECT_ENC(e_s5greet, &g, two, sizeof(two));
	EXPECT_OK(d_s5greet, two, sizeof(two), &back);
	CHECK_EQ_INT(back.nmethods, 2);
	CHECK_MEM(back.methods, g.methods, 2);
	EXPECT_PREFIXES_NEED_MORE(d_s5greet, two, sizeof(two), struct socks5_greeting);
}

static void greeting_255_methods(void)
{
	uint8_t msg[2 + 255];
	struct socks5_greeting g, back;
	int i;

	memset(&g, 0, sizeof(g));
	msg[0] = 0x05;
	msg[1] = 255;
	g.nmethods = 255;
	for (i = 0; i < 255; i++)
		msg[2 + i] = g.methods[i] = (uint8_t)i;
	EXPECT_ENC(e_s5greet, &g, msg, sizeof(msg));
	EXPECT_OK(d_s5greet, msg, sizeof(msg), &back);
	CHECK_EQ_INT(back.nmethods, 255);
	CHECK_MEM(back.methods, g.methods, 255);
	EXPECT_PREFIXES_NEED_MORE(d_s5greet, msg, sizeof(msg), struct socks5_greeting);
}

static void greeting_garbage(void)
{
	static const uint8_t zero[] = { 0x05, 0x00 };
	static const uint8_t v4[] = { 0x04, 0x01, 0x00 };
	static const uint8_t v4req[] = { 0x04, 0x01, 0x00, 0x50, 1, 2, 3, 4, 0 };
	struct socks5_greeting g;

	EXPECT_MALFORMED(d_s5greet, zero, sizeof(zero), struct socks5_greeting);
	EXPECT_MALFORMED(d_s5greet, v4, sizeof(v4), struct socks5_greeting);
	EXPECT_MALFORMED(d_s5greet, v4req, sizeof(v4req), struct socks5_greeting);
	/* The version byte alone is enough to know. */
	EXPECT_MALFORMED(d_s5greet, v4, 1, struct socks5_greeting);

	memset(&g, 0, sizeof(g));
	g.nmethods = 0;
	EXPECT_ENC_FAILS(e_s5greet, &g);
}

static void choice_both_ways(void)
{
	static const uint8_t methods[] = {
		SOCKS5_METHOD_NONE, SOCKS5_METHOD_GSSAPI, SOCKS5_METHOD_USERPASS,
		SOCKS5_METHOD_UNACCEPTABLE,
	};
	size_t i;

	for (i = 0; i < sizeof(methods); i++) {
		uint8_t want[2] = { 0x05, methods[i] };
		uint8_t back = 0x77;

		EXPECT_ENC(e_s5choice, &methods[i], want, sizeof(want));
		EXPECT_OK(d_s5choice, want, sizeof(want), &back);
		CHECK_EQ_INT(back, methods[i]);
		EXPECT_PREFIXES_NEED_MORE(d_s5choice, want, sizeof(want), uint8_t);
	}
}

static void choice_garbage(void)
{
	static const uint8_t v4[] = { 0x04, 0x00 };
	static const uint8_t v0[] = { 0x00, 0x5a };  /* a SOCKS4 reply */

	EXPECT_MALFORMED(d_s5choice, v4, sizeof(v4), uint8_t);
	EXPECT_MALFORMED(d_s5choice, v0, sizeof(v0), uint8_t);
}

/* Request and reply bytes for each address type. */
static const uint8_t req_ip4[] = {
	0x05, 0x01, 0x00, 0x01, 127, 0, 0, 1, 0x00, 0x50,
};
static const uint8_t req_ip6[] = {
	0x05, 0x02, 0x00, 0x04, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0x01, 0x01, 0xbb,
};
static const uint8_t req_name[] = {
	0x05, 0x03, 0x00, 0x03, 11, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm',
	0xff, 0xff,
};

static void request_both_ways(void)
{
	struct socks5_msg m, back;
	struct {
		const uint8_t *bytes;
		size_t len;
		uint8_t cmd;
		struct wire_addr addr;
	} cases[] = {
		{ req_ip4, sizeof(req_ip4), SOCKS5_CMD_CONNECT, wa_ip4(127, 0, 0, 1, 80) },
		{ req_ip6, sizeof(req_ip6), SOCKS5_CMD_BIND, wa_ip6(v6_doc, 443) },
		{ req_name, sizeof(req_name), SOCKS5_CMD_UDP_ASSOCIATE,
		    wa_name("example.com", 65535) },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&m, 0, sizeof(m));
		m.code = cases[i].cmd;
		m.addr = cases[i].addr;
		EXPECT_ENC(e_s5req, &m, cases[i].bytes, cases[i].len);
		EXPECT_OK(d_s5req, cases[i].bytes, cases[i].len, &back);
		CHECK_EQ_INT(back.code, cases[i].cmd);
		CHECK_WA(&back.addr, &cases[i].addr);
		EXPECT_PREFIXES_NEED_MORE(d_s5req, cases[i].bytes, cases[i].len,
		    struct socks5_msg);
	}
}

static void reply_both_ways_every_code(void)
{
	int code;

	for (code = SOCKS5_REP_SUCCEEDED; code <= SOCKS5_REP_ATYP_UNSUPPORTED; code++) {
		uint8_t want[10] = { 0x05, (uint8_t)code, 0x00, 0x01, 10, 1, 2, 3, 0x04, 0x38 };
		struct socks5_msg m, back;

		memset(&m, 0, sizeof(m));
		m.code = (uint8_t)code;
		m.addr = wa_ip4(10, 1, 2, 3, 1080);
		EXPECT_ENC(e_s5rep, &m, want, sizeof(want));
		EXPECT_OK(d_s5rep, want, sizeof(want), &back);
		CHECK_EQ_INT(back.code, code);
		CHECK_WA(&back.addr, &m.addr);
		EXPECT_PREFIXES_NEED_MORE(d_s5rep, want, sizeof(want), struct socks5_msg);
	}
}

/* BND.ADDR may be IPv6 or a name (RFC 1928 section 6). */
static void reply_ip6_and_name(void)
{
	uint8_t v6rep[sizeof(req_ip6)], namerep[sizeof(req_name)];
	struct socks5_msg back;
	struct wire_addr w6 = wa_ip6(v6_doc, 443), wn = wa_name("example.com", 65535);

	memcpy(v6rep, req_ip6, sizeof(v6rep));
	v6rep[1] = SOCKS5_REP_SUCCEEDED;
	memcpy(namerep, req_name, sizeof(namerep));
	namerep[1] = SOCKS5_REP_HOST_UNREACH;

	EXPECT_OK(d_s5rep, v6rep, sizeof(v6rep), &back);
	CHECK_EQ_INT(back.code, SOCKS5_REP_SUCCEEDED);
	CHECK_WA(&back.addr, &w6);
	EXPECT_PREFIXES_NEED_MORE(d_s5rep, v6rep, sizeof(v6rep), struct socks5_msg);

	EXPECT_OK(d_s5rep, namerep, sizeof(namerep), &back);
	CHECK_EQ_INT(back.code, SOCKS5_REP_HOST_UNREACH);
	CHECK_WA(&back.addr, &wn);
	EXPECT_PREFIXES_NEED_MORE(d_s5rep, namerep, sizeof(namerep), struct socks5_msg);
}

static void max_name(void)
{
	uint8_t msg[5 + 255 + 2];
	struct socks5_msg m, back;

	memset(&m, 0, sizeof(m));
	m.code = SOCKS5_CMD_CONNECT;
	m.addr.type = WIRE_ATYP_NAME;
	m.addr.name_len = 255;
	m.addr.port = 443;
	memset(m.addr.u.name, 'x', 255);
	memcpy(msg, (const uint8_t[]){ 0x05, 0x01, 0x00, 0x03, 0xff }, 5);
	memset(msg + 5, 'x', 255);
	msg[260] = 0x01;
	msg[261] = 0xbb;
	EXPECT_ENC(e_s5req, &m, msg, sizeof(msg));
	EXPECT_OK(d_s5req, msg, sizeof(msg), &back);
	CHECK_WA(&back.addr, &m.addr);
	CHECK_EQ_INT(strlen(back.addr.u.name), 255);
	EXPECT_PREFIXES_NEED_MORE(d_s5req, msg, sizeof(msg), struct socks5_msg);
}

static void bad_atyp(void)
{
	static const uint8_t atyps[] = { 0x00, 0x02, 0x05, 0x7f, 0xff };
	size_t i;

	for (i = 0; i < sizeof(atyps); i++) {
		uint8_t msg[sizeof(req_ip4)];

		memcpy(msg, req_ip4, sizeof(msg));
		msg[3] = atyps[i];
		EXPECT_MALFORMED(d_s5req, msg, sizeof(msg), struct socks5_msg);
		msg[1] = SOCKS5_REP_SUCCEEDED;
		EXPECT_MALFORMED(d_s5rep, msg, sizeof(msg), struct socks5_msg);
		/* Known from the fixed header alone: no waiting for more. */
		EXPECT_MALFORMED(d_s5rep, msg, 4, struct socks5_msg);
		msg[1] = SOCKS5_CMD_CONNECT;
		EXPECT_MALFORMED(d_s5req, msg, 4, struct socks5_msg);
	}
}

static void zero_length_and_nul_names(void)
{
	static const uint8_t empty[] = { 0x05, 0x01, 0x00, 0x03, 0x00, 0x00, 0x50 };
	static const uint8_t nul[] = { 0x05, 0x01, 0x00, 0x03, 0x03, 'a', 0x00, 'b', 0x00, 0x50 };
	static const uint8_t nul_end[] = { 0x05, 0x01, 0x00, 0x03, 0x02, 'a', 0x00, 0x00, 0x50 };
	uint8_t rep[sizeof(nul)];

	EXPECT_MALFORMED(d_s5req, empty, sizeof(empty), struct socks5_msg);
	EXPECT_MALFORMED(d_s5req, nul, sizeof(nul), struct socks5_msg);
	EXPECT_MALFORMED(d_s5req, nul_end, sizeof(nul_end), struct socks5_msg);
	memcpy(rep, nul, sizeof(rep));
	rep[1] = SOCKS5_REP_SUCCEEDED;
	EXPECT_MALFORMED(d_s5rep, rep, sizeof(rep), struct socks5_msg);
	memcpy(rep, empty, sizeof(empty));
	rep[1] = SOCKS5_REP_SUCCEEDED;
	EXPECT_MALFORMED(d_s5rep, rep, sizeof(empty), struct socks5_msg);
}

static void wrong_version_and_rsv(void)
{
	uint8_t msg[sizeof(req_ip4)];

	memcpy(msg, req_ip4, sizeof(msg));
	msg[0] = 0x04;
	EXPECT_MALFORMED(d_s5req, msg, sizeof(msg), struct socks5_msg);
	EXPECT_MALFORMED(d_s5rep, msg, sizeof(msg), struct socks5_msg);
	EXPECT_MALFORMED(d_s5req, msg, 1, struct socks5_msg);
	msg[0] = 0x00;
	EXPECT_MALFORMED(d_s5rep, msg, sizeof(msg), struct socks5_msg);

	/* RSV is X'00' in a request (RFC 1928 section 4). */
	memcpy(msg, req_ip4, sizeof(msg));
	msg[2] = 0x01;
	EXPECT_MALFORMED(d_s5req, msg, sizeof(msg), struct socks5_msg);
}

static void encoder_refusals(void)
{
	struct socks5_msg m;

	memset(&m, 0, sizeof(m));
	m.code = SOCKS5_CMD_CONNECT;
	m.addr = wa_name("", 80);
	EXPECT_ENC_FAILS(e_s5req, &m);
	EXPECT_ENC_FAILS(e_s5rep, &m);

	m.addr = wa_ip4(1, 2, 3, 4, 80);
	m.addr.type = 0x02;
	EXPECT_ENC_FAILS(e_s5req, &m);
	EXPECT_ENC_FAILS(e_s5rep, &m);

	/* name_len says 3 but the name holds a NUL: it would not decode. */
	m.addr = wa_name("a", 80);
	m.addr.name_len = 3;
	m.addr.u.name[2] = 'b';
	EXPECT_ENC_FAILS(e_s5req, &m);
}

static void round_trips(void)
{
	static const uint16_t ports[] = { 0, 1, 53, 8080, 65535 };
	size_t i;

	for (i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		struct wire_addr addrs[3] = {
			wa_ip4(203, 0, 113, (uint8_t)i, ports[i]),
			wa_ip6(v6_doc, ports[i]),
			wa_name(i & 1 ? "a" : "xn--bcher-kva.example", ports[i]),
		};
		size_t j;

		for (j = 0; j < 3; j++) {
			struct socks5_msg m, back;
			uint8_t buf[300];
			ssize_t n;

			memset(&m, 0, sizeof(m));
			m.code = (uint8_t)(1 + (i + j) % 3);
			m.addr = addrs[j];
			n = EXPECT_ENC_OUT(e_s5req, &m, buf);
			if (n > 0) {
				EXPECT_OK(d_s5req, buf, (size_t)n, &back);
				CHECK_EQ_INT(back.code, m.code);
				CHECK_WA(&back.addr, &m.addr);
			}
			m.code = (uint8_t)((i + j) % 9);
			n = EXPECT_ENC_OUT(e_s5rep, &m, buf);
			if (n > 0) {
				EXPECT_OK(d_s5rep, buf, (size_t)n, &back);
				CHECK_EQ_INT(back.code, m.code);
				CHECK_WA(&back.addr, &m.addr);
			}
		}
	}
}

/* Several messages in one buffer decode one after another (pipelining). */
static void pipelined_handshake(void)
{
	uint8_t buf[64];
	size_t n = 0, used;
	struct socks5_greeting g;
	struct socks5_msg m;
	struct wire_addr want = wa_ip4(127, 0, 0, 1, 80);
	const char *why = NULL;

	memcpy(buf, (const uint8_t[]){ 0x05, 0x01, 0x00 }, 3);
	n = 3;
	memcpy(buf + n, req_ip4, sizeof(req_ip4));
	n += sizeof(req_ip4);
	memcpy(buf + n, "GET /", 5);
	n += 5;

	CHECK_EQ_INT(wire_dec_socks5_greeting(buf, n, &g, &used, &why), WIRE_OK);
	CHECK_EQ_INT(used, 3);
	CHECK_EQ_INT(wire_dec_socks5_req(buf + 3, n - 3, &m, &used, &why), WIRE_OK);
	CHECK_EQ_INT(used, sizeof(req_ip4));
	CHECK_WA(&m.addr, &want);
}

CHECK_MAIN(
	CHECK_TEST(greeting_both_ways),
	CHECK_TEST(greeting_255_methods),
	CHECK_TEST(greeting_garbage),
	CHECK_TEST(choice_both_ways),
	CHECK_TEST(choice_garbage),
	CHECK_TEST(request_both_ways),
	CHECK_TEST(reply_both_ways_every_code),
	CHECK_TEST(reply_ip6_and_name),
	CHECK_TEST(max_name),
	CHECK_TEST(bad_atyp),
	CHECK_TEST(zero_length_and_nul_names),
	CHECK_TEST(wrong_version_and_rsv),
	CHECK_TEST(encoder_refusals),
	CHECK_TEST(round_trips),
	CHECK_TEST(pipelined_handshake),
)
