/* wire_util.h: shared helpers for the codec tests: decoder and encoder
 * adapters with one signature, and checks every decoder must pass
 * (exact *used, every truncation, trailing bytes, MALFORMED with a reason,
 * encoder capacity limits).
 */
#ifndef SOCKSIFY_TEST_WIRE_UTIL_H
#define SOCKSIFY_TEST_WIRE_UTIL_H

#include <stdlib.h>
#include <string.h>

#include "socksify/wire.h"
#include "check.h"

#define UTIL static __attribute__((unused))

typedef int (*dec_fn)(const uint8_t *buf, size_t len, void *out, size_t *used,
    const char **why);
typedef ssize_t (*enc_fn)(uint8_t *buf, size_t cap, const void *msg);

/* ---- adapters: one signature for every codec ---- */

UTIL int d_s4req(const uint8_t *b, size_t l, void *o, size_t *u, const char **w)
{ return wire_dec_socks4_req(b, l, o, u, w); }
UTIL int d_s4rep(const uint8_t *b, size_t l, void *o, size_t *u, const char **w)
{ return wire_dec_socks4_rep(b, l, o, u, w); }
UTIL int d_s5greet(const uint8_t *b, size_t l, void *o, size_t *u, const char **w)
{ return wire_dec_socks5_greeting(b, l, o, u, w); }
UTIL int d_s5choice(const uint8_t *b, size_t l, void *o, size_t *u, const char **w)
{ return wire_dec_socks5_choice(b, l, o, u, w); }
UTIL int d_s5auth(const uint8_t *b, size_t l, void *o, size_t *u, const char **w)
{ return wire_dec_socks5_auth(b, l, o, u, w); }
UTIL int d_s5authrep(const uint8_t *b, size_t l, void *o, size_t *u, const char **w)
{ return wire_dec_socks5_auth_rep(b, l, o, u, w); }
UTIL int d_s5req(const uint8_t *b, size_t l, void *o, size_t *u, const char **w)
{ return wire_dec_socks5_req(b, l, o, u, w); }
UTIL int d_s5rep(const uint8_t *b, size_t l, void *o, size_t *u, const char **w)
{ return wire_dec_socks5_rep(b, l, o, u, w); }
UTIL int d_udp(const uint8_t *b, size_t l, void *o, size_t *u, const char **w)
{ return wire_dec_socks5_udp(b, l, o, u, w); }
UTIL int d_httpreq(const uint8_t *b, size_t l, void *o, size_t *u, const char **w)
{ return wire_dec_http_connect(b, l, o, u, w); }
UTIL int d_httprep(const uint8_t *b, size_t l, void *o, size_t *u, const char **w)
{ return wire_dec_http_response(b, l, o, u, w); }

UTIL ssize_t e_s4req(uint8_t *b, size_t c, const void *m) { return wire_enc_socks4_req(b, c, m); }
UTIL ssize_t e_s4rep(uint8_t *b, size_t c, const void *m) { return wire_enc_socks4_rep(b, c, m); }
UTIL ssize_t e_s5greet(uint8_t *b, size_t c, const void *m) { return wire_enc_socks5_greeting(b, c, m); }
UTIL ssize_t e_s5choice(uint8_t *b, size_t c, const void *m)
{ return wire_enc_socks5_choice(b, c, *(const uint8_t *)m); }
UTIL ssize_t e_s5auth(uint8_t *b, size_t c, const void *m) { return wire_enc_socks5_auth(b, c, m); }
UTIL ssize_t e_s5authrep(uint8_t *b, size_t c, const void *m)
{ return wire_enc_socks5_auth_rep(b, c, *(const uint8_t *)m); }
UTIL ssize_t e_s5req(uint8_t *b, size_t c, const void *m) { return wire_enc_socks5_req(b, c, m); }
UTIL ssize_t e_s5rep(uint8_t *b, size_t c, const void *m) { return wire_enc_socks5_rep(b, c, m); }
UTIL ssize_t e_udp(uint8_t *b, size_t c, const void *m) { return wire_enc_socks5_udp(b, c, m); }
UTIL ssize_t e_httpreq(uint8_t *b, size_t c, const void *m) { return wire_enc_http_connect(b, c, m); }

struct http_status_msg {
	int status;
	const char *reason;
};
UTIL ssize_t e_httprep(uint8_t *b, size_t c, const void *m)
{
	const struct http_status_msg *s = m;

	return wire_enc_http_response(b, c, s->status, s->reason);
}

/* ---- building addresses ---- */

UTIL struct wire_addr wa_ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
	struct wire_addr w;

	memset(&w, 0, sizeof(w));
	w.type = WIRE_ATYP_IPV4;
	w.port = port;
	w.u.ip4[0] = a;
	w.u.ip4[1] = b;
	w.u.ip4[2] = c;
	w.u.ip4[3] = d;
	return w;
}

UTIL struct wire_addr wa_ip6(const uint8_t ip6[16], uint16_t port)
{
	struct wire_addr w;

	memset(&w, 0, sizeof(w));
	w.type = WIRE_ATYP_IPV6;
	w.port = port;
	memcpy(w.u.ip6, ip6, 16);
	return w;
}

UTIL struct wire_addr wa_name(const char *name, uint16_t port)
{
	struct wire_addr w;

	memset(&w, 0, sizeof(w));
	w.type = WIRE_ATYP_NAME;
	w.port = port;
	w.name_len = (uint8_t)strlen(name);
	memcpy(w.u.name, name, strlen(name) + 1);
	return w;
}

/* Semantic equality: the bytes that mean something for the type. */
UTIL bool wa_eq(const struct wire_addr *a, const struct wire_addr *b)
{
	if (a->type != b->type || a->port != b->port)
		return false;
	switch (a->type) {
	case WIRE_ATYP_IPV4:
		return memcmp(a->u.ip4, b->u.ip4, 4) == 0;
	case WIRE_ATYP_IPV6:
		return memcmp(a->u.ip6, b->u.ip6, 16) == 0;
	case WIRE_ATYP_NAME:
		return a->name_len == b->name_len &&
		    memcmp(a->u.name, b->u.name, a->name_len) == 0 &&
		    a->u.name[a->name_len] == '\0';
	}
	return false;
}
#define CHECK_WA(a, b) CHECK_AT(__FILE__, __LINE__, wa_eq(a, b))

/* ---- decoder checks ---- */

/* Calls dec on an exact-size heap copy, so a read past len is caught
 * when the tests run under AddressSanitizer. */
UTIL int dec_call(dec_fn dec, const uint8_t *buf, size_t len, void *out,
    size_t *used, const char **why)
{
	uint8_t *copy = malloc(len ? len : 1);
	int rc;

	if (copy == NULL)
		abort();
	if (len)
		memcpy(copy, buf, len);
	rc = dec(copy, len, out, used, why);
	free(copy);
	return rc;
}

/* A valid message decodes OK with *used == len, and still does (same
 * result, same *used) when bytes of the next message follow it. */
UTIL void expect_ok_at(const char *f, int l, dec_fn dec, const uint8_t *buf, size_t len,
    void *out, size_t outsz)
{
	static const uint8_t tail[] = { 0x05, 0x01, 0x00, 0xff, '\r', '\n', 0x00 };
	uint8_t *ext = malloc(len + sizeof(tail));
	void *out2 = malloc(outsz);
	size_t used = 99999, used2 = 99999;
	const char *why = NULL;
	int rc;

	if (ext == NULL || out2 == NULL)
		abort();
	memset(out, 0, outsz);
	rc = dec_call(dec, buf, len, out, &used, &why);
	if (CHECK_EQ_INT_AT(f, l, rc, WIRE_OK))
		CHECK_EQ_INT_AT(f, l, used, len);
	else if (why)
		check_at(false, f, l, "decoder said: %s", why);

	memcpy(ext, buf, len);
	memcpy(ext + len, tail, sizeof(tail));
	memset(out2, 0, outsz);
	why = NULL;
	rc = dec_call(dec, ext, len + sizeof(tail), out2, &used2, &why);
	if (check_at(rc == WIRE_OK, f, l, "with trailing bytes: rc %d, want OK", rc)) {
		check_at(used2 == len, f, l, "with trailing bytes: used %zu, want %zu",
		    used2, len);
		check_at(memcmp(out, out2, outsz) == 0, f, l,
		    "with trailing bytes: decoded a different struct");
	}
	free(ext);
	free(out2);
}
#define EXPECT_OK(dec, buf, len, out) \
	expect_ok_at(__FILE__, __LINE__, dec, buf, len, out, sizeof(*(out)))

/* Every proper prefix of a valid message is NEED_MORE. */
UTIL void expect_prefixes_at(const char *f, int l, dec_fn dec, const uint8_t *buf,
    size_t len, size_t outsz, int want)
{
	void *out = malloc(outsz);
	size_t k;

	if (out == NULL)
		abort();
	for (k = 0; k < len; k++) {
		size_t used = 0;
		const char *why = NULL;
		int rc;

		memset(out, 0, outsz);
		rc = dec_call(dec, buf, k, out, &used, &why);
		check_at(rc == want, f, l, "prefix of %zu/%zu bytes: rc %d, want %d",
		    k, len, rc, want);
		if (want == WIRE_MALFORMED)
			check_at(rc != WIRE_MALFORMED || why != NULL, f, l,
			    "prefix of %zu bytes: MALFORMED without a reason", k);
	}
	free(out);
}
#define EXPECT_PREFIXES_NEED_MORE(dec, buf, len, type) \
	expect_prefixes_at(__FILE__, __LINE__, dec, buf, len, sizeof(type), WIRE_NEED_MORE)
#define EXPECT_PREFIXES_MALFORMED(dec, buf, len, type) \
	expect_prefixes_at(__FILE__, __LINE__, dec, buf, len, sizeof(type), WIRE_MALFORMED)

UTIL void expect_malformed_at(const char *f, int l, dec_fn dec, const uint8_t *buf,
    size_t len, size_t outsz)
{
	void *out = malloc(outsz);
	size_t used = 0;
	const char *why = NULL;
	int rc;

	if (out == NULL)
		abort();
	memset(out, 0, outsz);
	rc = dec_call(dec, buf, len, out, &used, &why);
	if (check_at(rc == WIRE_MALFORMED, f, l, "rc %d, want MALFORMED (%zu bytes)", rc, len))
		check_at(why != NULL && why[0] != '\0', f, l, "MALFORMED without a reason");
	free(out);
}
#define EXPECT_MALFORMED(dec, buf, len, type) \
	expect_malformed_at(__FILE__, __LINE__, dec, buf, len, sizeof(type))

/* ---- encoder checks ---- */

/* Encodes into a buffer of every capacity from 0 to the needed length:
 * too small is -1 with nothing written past cap; exact and larger give the
 * message.  want may be NULL when only the length is known (want_len) or
 * nothing is (want_len 0: the length is taken from a large buffer).
 * Returns the encoded length, the message in out (cap out_cap). */
UTIL ssize_t expect_enc_at(const char *f, int l, enc_fn enc, const void *msg,
    const uint8_t *want, size_t want_len, uint8_t *out, size_t out_cap)
{
	size_t big = 16384, cap, i;
	uint8_t *buf = malloc(big + 64);
	ssize_t n;

	if (buf == NULL)
		abort();
	memset(buf, 0xa5, big + 64);
	n = enc(buf, big, msg);
	if (!check_at(n > 0, f, l, "encoder failed with a large buffer (%zd)", n))
		goto out;
	if (want_len)
		CHECK_EQ_INT_AT(f, l, n, want_len);
	if (want && (size_t)n == want_len)
		CHECK_MEM_AT(f, l, buf, want, want_len);
	if (out) {
		if ((size_t)n <= out_cap)
			memcpy(out, buf, (size_t)n);
		else
			check_at(false, f, l, "message too long for the test's buffer");
	}
	for (cap = 0; cap <= (size_t)n + 1; cap++) {
		ssize_t r;

		memset(buf, 0xa5, big + 64);
		r = enc(buf, cap, msg);
		if (cap < (size_t)n)
			check_at(r == -1, f, l, "cap %zu < %zd: got %zd, want -1", cap, n, r);
		else
			check_at(r == n, f, l, "cap %zu >= %zd: got %zd", cap, n, r);
		for (i = cap; i < cap + 64; i++)
			if (buf[i] != 0xa5) {
				check_at(false, f, l, "cap %zu: byte %zu written past cap", cap, i);
				break;
			}
	}
out:
	free(buf);
	return n;
}
#define EXPECT_ENC(enc, msg, want, want_len) \
	expect_enc_at(__FILE__, __LINE__, enc, msg, want, want_len, NULL, 0)
#define EXPECT_ENC_OUT(enc, msg, out) \
	expect_enc_at(__FILE__, __LINE__, enc, msg, NULL, 0, out, sizeof(out))

/* An encoder that must refuse the message whatever the capacity. */
#define EXPECT_ENC_FAILS(enc, msg) __extension__ ({ \
	uint8_t big_[16384]; \
	CHECK_EQ_INT(enc(big_, sizeof(big_), msg), -1); })

#endif
