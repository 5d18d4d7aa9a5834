/* test_wire_udp.c: the SOCKS5 UDP request header (RFC 1928 section 7).
 * A datagram is whole, so a short one is MALFORMED, never NEED_MORE.
 */
#include "wire_util.h"

static const uint8_t v6_doc[16] = {
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x35,
};

static const uint8_t hdr_ip4[] = { 0, 0, 0, 0x01, 127, 0, 0, 1, 0x00, 0x35 };
static const uint8_t hdr_ip6[] = {
	0, 0, 0, 0x04, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x35,
	0x00, 0x35,
};
static const uint8_t hdr_name[] = {
	0, 0, 0, 0x03, 9, 'l', 'o', 'c', 'a', 'l', 'h', 'o', 's', 't', 0x1f, 0x90,
};

/* The header, then a payload: *used points at the payload. */
static void check_header(const char *f, int l, const uint8_t *hdr, size_t hlen,
    const struct wire_addr *want)
{
	static const char payload[] = "\x12\x34 dns query bytes";
	uint8_t dgram[64], enc[64];
	struct socks5_udp h, back;
	size_t used = 0;
	const char *why = NULL;
	int rc;

	memset(&h, 0, sizeof(h));
	h.frag = 0;
	h.addr = *want;
	check_at(expect_enc_at(f, l, e_udp, &h, hdr, hlen, enc, sizeof(enc)) == (ssize_t)hlen,
	    f, l, "encoded header length");

	/* The header alone is a valid, empty datagram. */
	expect_ok_at(f, l, d_udp, hdr, hlen, &back, sizeof(back));
	check_at(wa_eq(&back.addr, want), f, l, "header-only address");

	memcpy(dgram, hdr, hlen);
	memcpy(dgram + hlen, payload, sizeof(payload));
	memset(&back, 0, sizeof(back));
	rc = dec_call(d_udp, dgram, hlen + sizeof(payload), &back, &used, &why);
	if (CHECK_EQ_INT_AT(f, l, rc, WIRE_OK)) {
		CHECK_EQ_INT_AT(f, l, used, hlen);
		CHECK_EQ_INT_AT(f, l, back.frag, 0);
		check_at(wa_eq(&back.addr, want), f, l, "address with payload");
		CHECK_MEM_AT(f, l, dgram + used, payload, sizeof(payload));
	}
	expect_prefixes_at(f, l, d_udp, hdr, hlen, sizeof(struct socks5_udp), WIRE_MALFORMED);
}

static void ip4_header(void)
{
	struct wire_addr w = wa_ip4(127, 0, 0, 1, 53);

	check_header(__FILE__, __LINE__, hdr_ip4, sizeof(hdr_ip4), &w);
}

static void ip6_header(void)
{
	struct wire_addr w = wa_ip6(v6_doc, 53);

	check_header(__FILE__, __LINE__, hdr_ip6, sizeof(hdr_ip6), &w);
}

static void name_header(void)
{
	struct wire_addr w = wa_name("localhost", 8080);

	check_header(__FILE__, __LINE__, hdr_name, sizeof(hdr_name), &w);
}

/* FRAG is reported as it came (a relay drops fragments; the decoder
 * must not hide them). */
static void frag_is_reported(void)
{
	uint8_t d[sizeof(hdr_ip4)];
	struct socks5_udp h, back;

	memcpy(d, hdr_ip4, sizeof(d));
	d[2] = 0x81;
	EXPECT_OK(d_udp, d, sizeof(d), &back);
	CHECK_EQ_INT(back.frag, 0x81);

	memset(&h, 0, sizeof(h));
	h.frag = 0x81;
	h.addr = wa_ip4(127, 0, 0, 1, 53);
	EXPECT_ENC(e_udp, &h, d, sizeof(d));
}

static void garbage(void)
{
	static const uint8_t empty_name[] = { 0, 0, 0, 0x03, 0x00, 0x00, 0x35, 'x' };
	static const uint8_t nul_name[] = { 0, 0, 0, 0x03, 0x02, 'a', 0x00, 0x00, 0x35 };
	uint8_t d[sizeof(hdr_ip4) + 4];
	static const uint8_t atyps[] = { 0x00, 0x02, 0x05, 0xff };
	size_t i;

	memcpy(d, hdr_ip4, sizeof(hdr_ip4));
	memcpy(d + sizeof(hdr_ip4), "data", 4);
	d[0] = 0x01;                    /* RSV must be 0x0000 */
	EXPECT_MALFORMED(d_udp, d, sizeof(d), struct socks5_udp);
	d[0] = 0x00;
	d[1] = 0x05;
	EXPECT_MALFORMED(d_udp, d, sizeof(d), struct socks5_udp);
	d[1] = 0x00;
	for (i = 0; i < sizeof(atyps); i++) {
		d[3] = atyps[i];
		EXPECT_MALFORMED(d_udp, d, sizeof(d), struct socks5_udp);
	}
	EXPECT_MALFORMED(d_udp, empty_name, sizeof(empty_name), struct socks5_udp);
	EXPECT_MALFORMED(d_udp, nul_name, sizeof(nul_name), struct socks5_udp);
	/* A name whose length runs past the datagram. */
	EXPECT_MALFORMED(d_udp, hdr_name, sizeof(hdr_name) - 3, struct socks5_udp);
}

static void encoder_refusals(void)
{
	struct socks5_udp h;

	memset(&h, 0, sizeof(h));
	h.addr = wa_name("", 53);
	EXPECT_ENC_FAILS(e_udp, &h);
	h.addr = wa_ip4(1, 2, 3, 4, 53);
	h.addr.type = 0x02;
	EXPECT_ENC_FAILS(e_udp, &h);
}

static void longest_name(void)
{
	uint8_t d[4 + 1 + 255 + 2];
	struct socks5_udp h, back;

	memset(&h, 0, sizeof(h));
	h.addr.type = WIRE_ATYP_NAME;
	h.addr.name_len = 255;
	h.addr.port = 1;
	memset(h.addr.u.name, 'z', 255);
	memcpy(d, (const uint8_t[]){ 0, 0, 0, 0x03, 0xff }, 5);
	memset(d + 5, 'z', 255);
	d[260] = 0;
	d[261] = 1;
	EXPECT_ENC(e_udp, &h, d, sizeof(d));
	EXPECT_OK(d_udp, d, sizeof(d), &back);
	CHECK_WA(&back.addr, &h.addr);
	EXPECT_PREFIXES_MALFORMED(d_udp, d, sizeof(d), struct socks5_udp);
}

CHECK_MAIN(
	CHECK_TEST(ip4_header),
	CHECK_TEST(ip6_header),
	CHECK_TEST(name_header),
	CHECK_TEST(frag_is_reported),
	CHECK_TEST(garbage),
	CHECK_TEST(encoder_refusals),
	CHECK_TEST(longest_name),
)
